/*
 * private.c — libjauth's private shared objects (http.so, a store backend):
 * code that only some calls need, loaded on first use so that the others
 * never map its libraries. They live in the directory "jauth" next to the
 * libjauth.so.1 that is running (build/lib/jauth/ in the build tree,
 * $(LIBDIR)/jauth/ once installed) and are loaded as modules are: the path
 * checked by trust_open, then dlopen of the checked descriptor.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The directory of the running libjauth (malloc'd), or NULL with *why. */
static char *own_dir(char **why)
{
	Dl_info di;
	if (!dladdr((void *)own_dir, &di) || !di.dli_fname) {
		*why = xstrdup("cannot find where libjauth was loaded from");
		return NULL;
	}
	char *real = realpath(di.dli_fname, NULL);
	if (!real) {
		*why = xasprintf("cannot resolve %s: reinstall jauth",
				 di.dli_fname);
		return NULL;
	}
	char *slash = strrchr(real, '/');
	*slash = '\0';
	return real;
}

void *private_open(const char *name, char **why)
{
	*why = NULL;
	char *dir = own_dir(why), *reason = NULL;
	if (!dir)
		return NULL;
	char *path = xasprintf("%s/jauth/%s", dir, name);
	free(dir);
	struct stat st;
	void *dl = NULL;
	int fd = trust_open(path, TRUST_MODULE, &st, &reason);
	if (fd < 0) {
		*why = xasprintf("%s (needed by libjauth): reinstall jauth",
				 reason);
	} else if (!(dl = dlopen_fd(fd, &st, &reason))) {
		*why = xasprintf("%s: %s: reinstall jauth", path, reason);
	}
	if (fd >= 0)
		close(fd);
	free(reason);
	free(path);
	return dl;
}

void *private_sym(void *dl, const char *name, const char *sym, char **why)
{
	void *p = dlsym(dl, sym);
	if (!p)
		*why = xasprintf("%s does not export %s: it belongs to another "
				 "jauth version: reinstall jauth",
				 name, sym);
	return p;
}
