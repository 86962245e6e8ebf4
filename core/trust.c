/*
 * trust.c — decides whether a file may be loaded: a config stack, a module
 * or a secret. The path is resolved by hand from /: every directory walked
 * through — including those holding a symbolic link, and those the link
 * leads to — is opened with O_NOFOLLOW and checked on its descriptor, and
 * the file is checked on the descriptor then used to read or load it. A
 * link swapped in between a look and an open makes the open fail.
 */
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

#define MAX_LINKS 40
#define MAX_DEPTH 256

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
		return xasprintf(
			"secret file %s can be read by group or others "
			"(mode %04o): chmod 600 %s",
			path, mode, path);
	if (mode & 022)
		return xasprintf("%s %s is writable by group or others "
				 "(mode %04o): chmod go-w %s",
				 kind_name(kind), path, mode, path);
	return NULL;
}

/* The walk: a stack of checked directory descriptors and their names. */
struct walk {
	int fd[MAX_DEPTH];
	struct buf name[MAX_DEPTH];
	int depth;
	char *todo; /* the components still to walk, '/'-separated */
	int links;
	int create; /* make missing directories (0700) on the way */
	char **why;
};

/* "/" opened once per process (O_PATH); checked anew by every walk. */
static int root_fd = -1;
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static void open_root(void)
{
	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void walk_pop(struct walk *w)
{
	if (w->depth > 0)
		close(w->fd[w->depth]);
	buf_wipe(&w->name[w->depth]);
	w->depth--;
}

static void walk_free(struct walk *w)
{
	while (w->depth >= 0)
		walk_pop(w);
	free(w->todo);
}

/* Starts at / (checked). */
static int walk_root(struct walk *w)
{
	struct stat st;
	while (w->depth >= 0)
		walk_pop(w);
	w->depth = 0;
	w->name[0] = (struct buf){ 0 };
	buf_puts(&w->name[0], "/");
	pthread_once(&root_once, open_root);
	w->fd[0] = root_fd;
	if (w->fd[0] < 0 || fstat(w->fd[0], &st) < 0)
		return *w->why = xasprintf("/: %s", strerror(errno)), -1;
	return (*w->why = dir_problem("/", &st)) ? -1 : 0;
}

/* The shown path of component NAME below the current directory. */
static char *walk_path(const struct walk *w, const char *name)
{
	const char *dir = w->name[w->depth].s;
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
}

/* Why component NAME could not be opened (errno E), malloc'd. */
static char *open_problem(const struct walk *w, const char *name, int e)
{
	char *shown = walk_path(w, name), *why;
	why = e == ENOENT ? xasprintf("%s does not exist", shown)
	      : e == ENOTDIR || e == ELOOP
		      ? xasprintf("%s changed while it was checked (a symbolic "
				  "link was swapped in)",
				  shown)
		      : xasprintf("%s: %s", shown, strerror(e));
	free(shown);
	return why;
}

/* Enters directory NAME, opened as FD (O_PATH) and described by ST. */
static int walk_enter(struct walk *w, const char *name, int fd,
		      const struct stat *st)
{
	char *shown = walk_path(w, name);
	if (w->depth + 1 >= MAX_DEPTH || (*w->why = dir_problem(shown, st))) {
		if (!*w->why)
			*w->why = xasprintf("%s: too deep", shown);
		close(fd);
		free(shown);
		errno = EPERM;
		return -1;
	}
	w->fd[++w->depth] = fd;
	w->name[w->depth] = (struct buf){ 0 };
	buf_puts(&w->name[w->depth], shown);
	free(shown);
	return 0;
}

/* Puts the target of the symbolic link LINK (read by readlinkat(DIRFD,
 * NAME)) in front of the components still to walk. */
static int walk_follow(struct walk *w, int dirfd, const char *name,
		       const char *link)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
	if (n <= 0 || ++w->links > MAX_LINKS) {
		char *shown = walk_path(w, link);
		*w->why = xasprintf("%s: %s", shown,
				    n <= 0 ? strerror(errno)
					   : "too many symbolic links");
		free(shown);
		errno = ELOOP;
		return -1;
	}
	target[n] = '\0';
	char *rest = xasprintf("%s/%s", target, w->todo ? w->todo : "");
	free(w->todo);
	w->todo = rest;
	return target[0] == '/' ? walk_root(w) : 0;
}

/* One directory component: a directory to enter or a link to follow.
 * Opened with O_PATH|O_NOFOLLOW, which opens a link itself, so that one
 * fstat on the descriptor tells which. */
static int walk_step(struct walk *w, const char *name)
{
	struct stat st;
	int fd = openat(w->fd[w->depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && w->create &&
	    (mkdirat(w->fd[w->depth], name, 0700) == 0 || errno == EEXIST))
		fd = openat(w->fd[w->depth], name,
			    O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		*w->why = open_problem(w, name, e);
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		int rc = walk_follow(w, fd, "", name);
		close(fd);
		return rc;
	}
	return walk_enter(w, name, fd, &st);
}

/* Takes the next component off the path to walk (NULL when done). */
static char *next_component(struct walk *w)
{
	char *s = w->todo, *slash;
	while (s && *s == '/')
		s++;
	if (!s || !*s)
		return NULL;
	slash = strchr(s, '/');
	char *name = slash ? xstrndup(s, (size_t)(slash - s)) : xstrdup(s);
	char *rest = slash ? xstrdup(slash + 1) : NULL;
	free(w->todo);
	w->todo = rest;
	return name;
}

/* 1 when only blanks of '/' remain to walk. */
static int walk_last(const struct walk *w)
{
	return !w->todo || !w->todo[strspn(w->todo, "/")];
}

/* Walks to the directory holding the file; returns the file's name there
 * (malloc'd), or NULL with *why. */
static char *walk_to_file(struct walk *w)
{
	char *name;
	while ((name = next_component(w))) {
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			if (name[1] == '.' && w->depth > 0)
				walk_pop(w);
		} else if (walk_last(w)) {
			return name;
		} else if (walk_step(w, name) < 0) {
			free(name);
			return NULL;
		}
		free(name);
	}
	*w->why = xstrdup("the path names a directory, not a file");
	errno = EISDIR;
	return NULL;
}

/* Opens the file NAME of the walk's directory, following a symbolic link
 * there (the walk goes on). It is first opened with O_PATH, which touches
 * nothing, and — when READ — reopened through /proc only once fstat says
 * it is a regular file: a device or FIFO named as a secret is never
 * opened. A module is not read here (dlopen reopens the O_PATH descriptor
 * itself). Returns the descriptor (ST filled), -1 with errno, or -2 with
 * *why. */
static int open_file(struct walk *w, char **name, struct stat *st, int read)
{
	for (;;) {
		int p = openat(w->fd[w->depth], *name,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (p < 0)
			return -1;
		if (fstat(p, st) < 0) {
			close(p);
			return -1;
		}
		if (!S_ISLNK(st->st_mode)) {
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", p);
			int fd = read && S_ISREG(st->st_mode)
					 ? open(proc, O_RDONLY | O_CLOEXEC)
					 : p;
			if (fd != p)
				close(p);
			return fd;
		}
		int rc = walk_follow(w, p, "", *name);
		close(p);
		if (rc < 0)
			return -2;
		free(*name);
		if (!(*name = walk_to_file(w)))
			return -2;
	}
}

int trust_open(const char *path, enum trust_kind kind, struct stat *st,
	       char **why)
{
	struct walk w = { .depth = -1, .why = why };
	*why = NULL;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return *why = xasprintf("%s: %s", path,
						strerror(errno)),
			       -1;
		w.todo = xasprintf("%s/%s", cwd, path);
	} else {
		w.todo = xstrdup(path);
	}
	int fd = -1;
	char *name = walk_root(&w) == 0 ? walk_to_file(&w) : NULL;
	if (name &&
	    (fd = open_file(&w, &name, st, kind != TRUST_MODULE)) == -2) {
		fd = -1;
	} else if (name) {
		int e = errno;
		if (fd < 0)
			*why = xasprintf("%s %s: %s", kind_name(kind), path,
					 e == ENOENT ? "does not exist"
						     : strerror(e));
		else if ((*why = file_problem(path, st, kind))) {
			close(fd);
			fd = -1;
			e = EPERM;
		}
		errno = e;
	} else if (errno == ENOENT) {
		char *inner = *why;
		*why = xasprintf("%s %s: does not exist", kind_name(kind),
				 path);
		free(inner);
		errno = ENOENT;
	}
	int e = errno;
	free(name);
	walk_free(&w);
	errno = e;
	return fd;
}

/* Walks every component of the path as a directory. */
static int walk_dirs(struct walk *w)
{
	char *name;
	while ((name = next_component(w))) {
		int rc = 0;
		if (strcmp(name, "..") == 0 && w->depth > 0)
			walk_pop(w);
		else if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
			rc = walk_step(w, name);
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int trust_open_dir(const char *path, int create, struct stat *st, char **why)
{
	struct walk w = { .depth = -1, .why = why, .create = create };
	int fd = -1;
	*why = NULL;
	if (path[0] != '/') {
		*why = xasprintf("%s is not an absolute path", path);
		errno = EINVAL;
		return -1;
	}
	w.todo = xstrdup(path);
	if (walk_root(&w) == 0 && walk_dirs(&w) == 0 &&
	    ((fd = openat(w.fd[w.depth], ".",
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	     fstat(fd, st) < 0))
		*why = xasprintf("%s: %s", path, strerror(errno));
	int e = errno;
	if (*why && fd >= 0)
		close(fd);
	walk_free(&w);
	errno = e;
	return *why ? -1 : fd;
}
