/*
 * loader.c — loads a module file: finds it, checks it (trust.c), dlopens the
 * very descriptor it checked and checks the ABI version of what it exports.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const char *abi_text(uint32_t abi, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u", JAUTH_ABI_GET_MAJOR(abi),
		 JAUTH_ABI_GET_MINOR(abi));
	return buf;
}

/* A bare module name: one path component, no leading dot. */
static int bare_name_ok(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/') &&
	       strlen(name) < NAME_MAX;
}

static char *not_found(const char *path, const char *name)
{
	return xasprintf("module %s not found in %s: install it or set "
			 "JAUTH_MODULE_PATH",
			 name, path);
}

/* The file NAME stands for (malloc'd; it may not exist when PATH is one
 * directory: see conf_pick), or NULL with *why. */
static char *module_find(const char *path, const char *name, char **why)
{
	if (name[0] == '/')
		return xstrdup(name);
	if (!bare_name_ok(name)) {
		*why = xasprintf("module \"%s\" must be a bare file name "
				 "(apitoken.so) or an absolute path",
				 name);
		return NULL;
	}
	char *f = conf_pick(path, name);
	if (!f)
		*why = not_found(path, name);
	return f;
}

/*
 * dlopen by "/proc/PID/fd/N" (PID our own) loads exactly the file we
 * checked, like "/proc/self/fd/N" would; but the name stays in the link
 * map, and a debugger reads it there to open each object: "/proc/self"
 * would be the debugger's own descriptor N (gdb's gcore then reads a
 * descriptor of its own and hangs), "/proc/PID" is ours (closed by then:
 * the debugger goes without that object's symbols, and carries on) —
 * unless /proc shows another process at our pid (proc_pid below).
 *
 * glibc hands back an already loaded object whose name matches, and
 * descriptor numbers are reused: "/proc/PID/fd/5" may name apitoken.so's
 * object while descriptor 5 now holds oauth3lo.so. So every name we ever
 * used is remembered with the file it loaded, and a name taken by another
 * file is avoided by moving the descriptor up. The list is inherited with
 * the link map across fork, so a child whose pid an exited ancestor had
 * still sees that ancestor's names.
 */
struct fd_name {
	pid_t pid;
	int fd;
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fd_name *names;
static size_t nnames;

/*
 * A module file, once loaded, stays loaded for the life of the process
 * (RTLD_NODELETE), as NSS modules do: unloading code that other threads or
 * atexit handlers may still reach is not worth the memory, and a reload or
 * a second handle then finds it mapped and relocated already. A changed
 * file is another inode and loads afresh.
 */
#define DL_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)

/* 1 when "/proc/PID/fd/FD" may be used for the file (DEV, INO); records
 * it. Under names_mu. */
static int name_free_for(pid_t pid, int fd, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < nnames; i++)
		if (names[i].pid == pid && names[i].fd == fd)
			return names[i].dev == dev && names[i].ino == ino;
	struct fd_name *v = realloc(names, (nnames + 1) * sizeof *v);
	if (!v)
		return 0;
	names = v;
	names[nnames++] = (struct fd_name){ pid, fd, dev, ino };
	return 1;
}

/* The pid under which /proc shows this process, or 0 when that is not
 * its getpid(): a /proc of another pid namespace (a sandbox that did not
 * mount its own) shows another process at our pid, whose descriptor N
 * is no file of ours; "/proc/self" is then the name to use. Looked at
 * once per process. Under names_mu. */
static pid_t proc_pid(void)
{
	static pid_t looked, shown;
	pid_t pid = getpid();
	if (looked != pid) {
		char link[32];
		ssize_t n = readlink("/proc/self", link, sizeof link - 1);
		link[n > 0 ? n : 0] = '\0';
		shown = n > 0 && strtol(link, NULL, 10) == (long)pid ? pid : 0;
		looked = pid;
	}
	return shown;
}

void *dlopen_fd(int fd, const struct stat *st, char **why)
{
	char name[64];
	int cur = fd;
	pthread_mutex_lock(&names_mu);
	pid_t pid = proc_pid(); /* 0: "/proc/self" */
	while (!name_free_for(pid, cur, st->st_dev, st->st_ino)) {
		int next = fcntl(fd, F_DUPFD_CLOEXEC, cur + 1);
		if (cur != fd)
			close(cur);
		if (next < 0) {
			pthread_mutex_unlock(&names_mu);
			*why = xasprintf("no descriptor to load it from: %s",
					 strerror(errno));
			return NULL;
		}
		cur = next;
	}
	if (pid)
		snprintf(name, sizeof name, "/proc/%ld/fd/%d", (long)pid, cur);
	else
		snprintf(name, sizeof name, "/proc/self/fd/%d", cur);
	void *dl = dlopen(name, DL_FLAGS);
	if (!dl) {
		const char *e = dlerror();
		*why = xasprintf(
			"cannot load it: %s: %s", e ? e : "dlopen failed",
			e && strstr(e, "undefined symbol")
				? "it needs a newer libjauth: upgrade jauth"
				: "rebuild it against <jauth/module.h> (see "
				  "jauth-module(3)), or remove it");
	}
	pthread_mutex_unlock(&names_mu);
	if (cur != fd)
		close(cur);
	return dl;
}

/* Why the exported struct cannot be used, or NULL. */
static char *abi_problem(const struct jauth_module *ops)
{
	char mine[16], theirs[16];
	abi_text(JAUTH_ABI_VERSION, mine, sizeof mine);
	abi_text(ops->abi, theirs, sizeof theirs);
	if (JAUTH_ABI_GET_MAJOR(ops->abi) != JAUTH_ABI_MAJOR)
		return xasprintf("it was built for module ABI %s, this jauth "
				 "speaks %s: rebuild it against this jauth",
				 theirs, mine);
	if (JAUTH_ABI_GET_MINOR(ops->abi) > JAUTH_ABI_MINOR)
		return xasprintf("it was built for module ABI %s, newer than "
				 "this jauth's %s: upgrade jauth",
				 theirs, mine);
	if (!ops->name || !ops->version || !ops->open || !ops->close ||
	    !ops->acquire || !ops->refresh || !ops->revoke)
		return xstrdup("it lacks a name, a version or one of open, "
			       "close, acquire, refresh, revoke");
	return NULL;
}

int module_load(const char *module_path, const char *name, struct module *out,
		char **why)
{
	memset(out, 0, sizeof *out);
	*why = NULL;
	char *path = module_find(module_path, name, why), *reason = NULL;
	if (!path)
		return -1;
	struct stat st;
	int fd = trust_open(path, TRUST_MODULE, &st, why);
	if (fd < 0 && name[0] != '/' && !conf_exists(path)) {
		free(*why);
		*why = not_found(module_path, name);
	}
	if (fd < 0) {
		free(path);
		return -1;
	}
	out->dl = dlopen_fd(fd, &st, &reason);
	close(fd);
	if (!out->dl)
		goto fail;
	out->ops = dlsym(out->dl, JAUTH_MODULE_SYMBOL);
	if (!out->ops) {
		reason = xstrdup("it does not export " JAUTH_MODULE_SYMBOL
				 ": not a jauth module");
		goto fail;
	}
	if ((reason = abi_problem(out->ops)))
		goto fail;
	out->minor = JAUTH_ABI_GET_MINOR(out->ops->abi);
	out->path = path;
	return 0;
fail:
	*why = xasprintf("module %s: %s", path, reason);
	free(reason);
	free(path);
	if (out->dl)
		dlclose(out->dl);
	memset(out, 0, sizeof *out);
	return -1;
}

void module_unload(struct module *mod)
{
	if (mod->dl)
		dlclose(mod->dl);
	free(mod->path);
	memset(mod, 0, sizeof *mod);
}
