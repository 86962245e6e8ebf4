/*
 * private.c — libjauth's private objects: code the library loads only when
 * a stack asks for it (the PostgreSQL store's libpq), from the directory
 * jauth/ beside the running libjauth.so, checked as modules are.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PRIVATE_MAX 8

static pthread_mutex_t private_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *name;
	void *dl;
} loaded[PRIVATE_MAX];

/* "DIR/jauth/NAME" where DIR holds the running libjauth (malloc'd), or
 * NULL with *why. */
static char *private_path(const char *name, char **why)
{
	Dl_info info;
	char real[PATH_MAX];
	if (!dladdr((void *)private_open, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, real)) {
		*why = xasprintf("cannot tell where libjauth is loaded from, "
				 "so %s cannot be found: reinstall jauth",
				 name);
		return NULL;
	}
	*strrchr(real, '/') = '\0';
	return xasprintf("%s/jauth/%s", real, name);
}

static void *load(const char *name, char **why)
{
	char *path = private_path(name, why), *reason = NULL;
	if (!path)
		return NULL;
	struct stat st;
	int fd = trust_open(path, TRUST_MODULE, &st, &reason);
	void *dl = fd < 0 ? NULL : dlopen_fd(fd, &st, &reason);
	if (fd >= 0)
		close(fd);
	if (!dl)
		*why = xasprintf("%s: %s (it comes with jauth's installation)",
				 path, reason);
	free(reason);
	free(path);
	return dl;
}

void *private_open(const char *name, char **why)
{
	void *dl = NULL;
	*why = NULL;
	pthread_mutex_lock(&private_mu);
	int i = 0;
	for (; i < PRIVATE_MAX && loaded[i].name; i++)
		if (strcmp(loaded[i].name, name) == 0)
			break;
	if (i < PRIVATE_MAX && loaded[i].name) {
		dl = loaded[i].dl;
	} else if ((dl = load(name, why)) && i < PRIVATE_MAX) {
		loaded[i].name = xstrdup(name);
		loaded[i].dl = dl;
	}
	pthread_mutex_unlock(&private_mu);
	return dl;
}
