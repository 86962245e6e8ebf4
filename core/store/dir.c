/*
 * dir.c — the state directory: which one is in force (DESIGN §6), opening
 * it once with its whole path checked, and the handle's own small files in
 * it (the reload-error note). Every backend keeps its local state here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define SMALL_FILE_MAX 65536

/* The first directory of systemd's $STATE_DIRECTORY (a unit's
 * StateDirectory=; several are separated by ':'), malloc'd, or NULL. */
static char *systemd_dir(void)
{
	const char *sd = secure_getenv("STATE_DIRECTORY");
	size_t n = sd ? strcspn(sd, ":") : 0;
	return n ? xstrndup(sd, n) : NULL;
}

char *state_dir_pick(const char *opt, enum dir_origin *origin)
{
	const char *env = secure_getenv("JAUTH_STATE_DIR");
	const char *xdg = secure_getenv("XDG_STATE_HOME");
	const char *home = secure_getenv("HOME");
	char *sd = systemd_dir();
	enum dir_origin o;
	char *dir;
	if (opt && *opt)
		o = DIR_OPTION, dir = xstrdup(opt);
	else if (env && *env)
		o = DIR_ENV, dir = xstrdup(env);
	else if (sd)
		o = DIR_SYSTEMD, dir = xstrdup(sd);
	else if (geteuid() == 0)
		o = DIR_DEFAULT, dir = xstrdup("/var/lib/jauth");
	else if (xdg && *xdg == '/')
		o = DIR_DEFAULT, dir = xasprintf("%s/jauth", xdg);
	else if (home && *home == '/')
		o = DIR_DEFAULT, dir = xasprintf("%s/.local/state/jauth", home);
	else
		o = DIR_NONE, dir = xstrdup("");
	free(sd);
	if (origin)
		*origin = o;
	return dir;
}

char *state_dir_of(const char *opt)
{
	return state_dir_pick(opt, NULL);
}

/* What to do about a state directory that cannot be used, by where it
 * came from. */
static const char *advice(enum dir_origin o)
{
	switch (o) {
	case DIR_DEFAULT:
		return "; without a usable home directory, set "
		       "JAUTH_STATE_DIR=DIR (or pass -s DIR) to a directory "
		       "of yours";
	case DIR_SYSTEMD:
		return " (systemd's $STATE_DIRECTORY: give the unit "
		       "StateDirectoryMode=0700 and run it as the directory's "
		       "owner)";
	default:
		return "";
	}
}

/* How to make a relative state directory of origin O absolute: name the
 * setting it came from. */
static const char *absolute_fix(enum dir_origin o)
{
	switch (o) {
	case DIR_OPTION:
		return "it came from the state_dir option (the CLI's -s): give "
		       "an absolute path there";
	case DIR_SYSTEMD:
		return "it came from $STATE_DIRECTORY: give the unit a plain "
		       "StateDirectory=NAME, or set JAUTH_STATE_DIR to an "
		       "absolute path";
	default:
		return "it came from $JAUTH_STATE_DIR: set JAUTH_STATE_DIR to "
		       "an absolute path";
	}
}

int state_dir_open(const char *dir, enum dir_origin o, int create, char **why)
{
	struct stat st;
	char *inner = NULL;
	*why = NULL;
	if (o == DIR_NONE || !*dir) {
		*why = xstrdup(
			"no state directory: HOME is not set and neither "
			"is JAUTH_STATE_DIR: set JAUTH_STATE_DIR=DIR "
			"(or pass -s DIR) to a directory of yours");
		return -1;
	}
	if (dir[0] != '/') {
		*why = xasprintf("state directory \"%s\" is not an absolute "
				 "path: %s",
				 dir, absolute_fix(o));
		return -1;
	}
	int fd = trust_open_dir(dir, create, &st, &inner);
	if (fd < 0) {
		*why = xasprintf("state directory %s cannot be used: %s%s", dir,
				 inner, advice(o));
		free(inner);
		return -1;
	}
	if (st.st_uid != geteuid())
		*why = xasprintf("state directory %s belongs to uid %u, not "
				 "you (uid %u): run as its owner, or set "
				 "JAUTH_STATE_DIR (or -s) to a directory of "
				 "yours%s",
				 dir, (unsigned)st.st_uid, (unsigned)geteuid(),
				 advice(o));
	else if (st.st_mode & 077)
		*why = xasprintf("state directory %s is open to group or "
				 "others (mode %04o): chmod 700 %s%s",
				 dir, (unsigned)(st.st_mode & 07777), dir,
				 advice(o));
	if (*why) {
		close(fd);
		return -1;
	}
	return fd;
}

int open_private_at(int dfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dfd, name,
			flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
			0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int write_new_at(int dfd, const char *name, const char *text, size_t len,
		 int durable)
{
	unlinkat(dfd, name, 0); /* left by a crash; the caller holds a lock */
	int fd = openat(dfd, name,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, text, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* ---- the handle's own small files ---- */

/* DIR opened for a small file's use (made when CREATE), or -1. */
static int small_dir(const char *dir, int create)
{
	char *why = NULL;
	int fd = state_dir_open(dir, DIR_OPTION, create, &why);
	free(why);
	return fd;
}

char *state_file_read(const char *dir, const char *name)
{
	int dfd = small_dir(dir, 0);
	int fd = dfd < 0 ? -1 : open_private_at(dfd, name, O_RDONLY);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0)
		return NULL;
	struct buf b = { 0 };
	int rc = read_capped(fd, SMALL_FILE_MAX, &b);
	close(fd);
	if (rc < 0) {
		buf_wipe(&b);
		return NULL;
	}
	return buf_take(&b);
}

int state_file_write(const char *dir, const char *name, const char *text)
{
	int dfd = small_dir(dir, 1);
	if (dfd < 0)
		return -1;
	char *tmp = xasprintf("%s.tmp.%d", name, (int)getpid());
	int rc = write_new_at(dfd, tmp, text, strlen(text), 0) < 0 ||
				 renameat(dfd, tmp, dfd, name) < 0
			 ? -1
			 : 0;
	if (rc < 0)
		unlinkat(dfd, tmp, 0);
	free(tmp);
	close(dfd);
	return rc;
}

void state_file_remove(const char *dir, const char *name)
{
	int dfd = small_dir(dir, 0);
	if (dfd < 0)
		return;
	unlinkat(dfd, name, 0);
	close(dfd);
}
