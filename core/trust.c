/*
 * trust.c — decides whether a file may be loaded: a config stack, a module
 * or a secret. Every directory from / down is opened with O_NOFOLLOW and
 * checked on its descriptor, and the file is checked on the descriptor that
 * is then used to read or load it, so nothing can be swapped in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* 1 when UID may own what we load: root or ourselves. */
static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* Why directory DIR (described by ST) cannot be trusted, or NULL. */
static char *dir_problem(const char *dir, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return xasprintf("%s is not a directory", dir);
	if (!owner_ok(st->st_uid))
		return xasprintf("directory %s is owned by uid %u, not root or "
				 "you: chown root %s",
				 dir, (unsigned)st->st_uid, dir);
	if (!(st->st_mode & 022))
		return NULL;
	if ((st->st_mode & S_ISVTX) && st->st_uid == 0)
		return NULL; /* like /tmp: others cannot replace our entries */
	return xasprintf("directory %s is writable by group or others "
			 "(mode %04o): chmod go-w %s",
			 dir, (unsigned)(st->st_mode & 07777), dir);
}

static const char *kind_name(enum trust_kind kind)
{
	switch (kind) {
	case TRUST_CONFIG:
		return "stack file";
	case TRUST_MODULE:
		return "module";
	default:
		return "secret file";
	}
}

/* Why file PATH (described by ST) cannot be trusted for KIND, or NULL. */
static char *file_problem(const char *path, const struct stat *st,
			  enum trust_kind kind)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (!S_ISREG(st->st_mode))
		return xasprintf("%s %s is not a regular file", kind_name(kind),
				 path);
	if (!owner_ok(st->st_uid))
		return xasprintf("%s %s is owned by uid %u, not root or you: "
				 "chown root %s",
				 kind_name(kind), path, (unsigned)st->st_uid,
				 path);
	if (kind == TRUST_SECRET && (mode & 077))
		return xasprintf("secret file %s can be read by group or others "
				 "(mode %04o): chmod 600 %s",
				 path, mode, path);
	if (mode & 022)
		return xasprintf("%s %s is writable by group or others "
				 "(mode %04o): chmod go-w %s",
				 kind_name(kind), path, mode, path);
	return NULL;
}

/* Opens the directory component NAME below DIRFD without following links
 * and checks it. Returns the new descriptor or -1 with *why. */
static int open_dir_checked(int dirfd, const char *name, const char *shown,
			    char **why)
{
	int fd = openat(dirfd, name,
			O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		*why = e == ENOENT ? xasprintf("%s does not exist", shown)
		       : e == ENOTDIR || e == ELOOP
			       ? xasprintf("%s changed while it was checked "
					   "(a symbolic link was swapped in)",
					   shown)
			       : xasprintf("%s: %s", shown, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (*why = dir_problem(shown, &st))) {
		if (!*why)
			*why = xasprintf("%s: %s", shown, strerror(errno));
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Walks the directories of absolute path RP (all but its last component),
 * returning a descriptor of the last directory, or -1 with *why. */
static int walk_dirs(char *rp, char **why)
{
	int fd = open_dir_checked(AT_FDCWD, "/", "/", why);
	for (char *s = rp + 1, *slash; fd >= 0 && (slash = strchr(s, '/'));
	     s = slash + 1) {
		*slash = '\0';
		int next = open_dir_checked(fd, s, rp, why);
		*slash = '/';
		close(fd);
		fd = next;
	}
	return fd;
}

int trust_open(const char *path, enum trust_kind kind, struct stat *st,
	       char **why)
{
	*why = NULL;
	char *rp = realpath(path, NULL);
	if (!rp) {
		int e = errno;
		*why = xasprintf("%s %s: %s", kind_name(kind), path,
				 e == ENOENT ? "does not exist" : strerror(e));
		errno = e;
		return -1;
	}
	int fd = -1, dirfd = walk_dirs(rp, why);
	if (dirfd < 0)
		goto out;
	fd = openat(dirfd, strrchr(rp, '/') + 1,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	close(dirfd);
	if (fd < 0) {
		*why = e == ELOOP ? xasprintf("%s %s changed while it was "
					      "checked (a symbolic link was "
					      "swapped in)",
					      kind_name(kind), path)
				  : xasprintf("%s %s: %s", kind_name(kind),
					      path, strerror(e));
		errno = e;
		goto out;
	}
	if (fstat(fd, st) < 0 || (*why = file_problem(path, st, kind))) {
		if (!*why)
			*why = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		fd = -1;
		errno = EPERM;
	}
out:
	free(rp);
	return fd;
}
