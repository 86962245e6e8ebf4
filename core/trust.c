/*
 * trust.c — decides whether a file may be loaded: a config stack, a module
 * or a secret. The path is resolved by hand from /: every directory walked
 * through — including those holding a symbolic link, and those the link
 * leads to — is opened with O_NOFOLLOW and checked on its descriptor, and
 * the file is checked on the descriptor then used to read or load it. A
 * link swapped in between a look and an open makes the open fail.
 *
 * Who may own what (jauth.conf(5), FILE TRUST): directories, links,
 * stacks, modules and CA files belong to root or the caller; a secret
 * file may also belong to another user (the connector's service user, as
 * root runs jauth status for it) when no one but root or the caller can
 * write the directory holding it: that user then controls the bytes of
 * one file, which are theirs anyway, and can swap in no link. A link in a
 * sticky directory others can write is followed only when root or the
 * caller made it (the kernel's protected_symlinks rule). Advice in the
 * messages never changes who owns what the connector reads, and names the
 * file a link leads to rather than the link.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
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

/* UID's user name (malloc'd), or NULL when it has none. */
static char *user_name(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
		return xstrdup(pw.pw_name);
	return NULL;
}

/* "uid 999 (jira-sync)", or "uid 999" when the name is unknown. */
static char *who(uid_t uid)
{
	char *name = user_name(uid);
	char *s = name ? xasprintf("uid %u (%s)", (unsigned)uid, name)
		       : xasprintf("uid %u", (unsigned)uid);
	free(name);
	return s;
}

/* The name to give sudo -u for UID: the user name, else "\#UID". */
static char *sudo_name(uid_t uid)
{
	char *name = user_name(uid);
	return name ? name : xasprintf("\\#%u", (unsigned)uid);
}

/* Why directory DIR (described by ST) cannot be trusted, or NULL. A
 * directory of another user is never trusted (that user could put a link
 * or another file in it); the advice is to run jauth as that user, never
 * to take their directory from them. */
static char *dir_problem(const char *dir, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return xasprintf("%s is not a directory", dir);
	if (!owner_ok(st->st_uid)) {
		char *u = who(st->st_uid), *n = sudo_name(st->st_uid);
		char *why = xasprintf(
			"directory %s is owned by %s, not root or you: jauth "
			"reads nothing through a directory another user "
			"controls; run jauth as that user (sudo -u %s jauth "
			"...), or keep the file in a directory root owns "
			"(e.g. /etc/jauth, mode 0755)",
			dir, u, n);
		free(u);
		free(n);
		return why;
	}
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
	case TRUST_CA:
		return "CA file";
	case TRUST_FILE:
		return "file";
	case TRUST_CREDENTIAL:
		return "credential";
	default:
		return "secret file";
	}
}

/* Why a file owned by another user (ST) is refused for KIND. A stack
 * could point jauth at any file and a module or CA file is trusted code
 * or trust itself, so those belong to root or the caller; a secret of
 * another user gets here only from a directory others can write. */
static char *owner_problem(const char *path, const struct stat *st,
			   enum trust_kind kind)
{
	char *u = who(st->st_uid), *n = sudo_name(st->st_uid), *why;
	if (kind == TRUST_SECRET)
		why = xasprintf(
			"secret file %s is owned by %s and lies in a directory "
			"others can write, so anyone could have made it: move "
			"it to a directory only root can write (e.g. "
			"/etc/jauth/secret, mode 0755), keeping its owner and "
			"mode 0600",
			path, u);
	else if (kind == TRUST_CREDENTIAL)
		why = xasprintf("credential %s is owned by %s, not root or "
				"you: systemd gives a unit's credentials to "
				"root or to its User=; run the connector as "
				"that user, from its unit",
				path, u);
	else if (kind == TRUST_CONFIG)
		why = xasprintf(
			"stack file %s is owned by %s, not root or you: a stack "
			"decides which files jauth reads and which code it "
			"loads; run jauth as that user (sudo -u %s jauth ...), "
			"or give it to root, readable by all (move any inline "
			"secret to @file: or @env: first): chown root %s; chmod "
			"644 %s",
			path, u, n, path, path);
	else
		why = xasprintf("%s %s is owned by %s, not root or you: jauth "
				"never trusts %s another user can change: "
				"chown root %s (mode 0644 keeps it readable)",
				kind_name(kind), path, u,
				kind == TRUST_MODULE ? "code"
				: kind == TRUST_CA   ? "a CA file"
						     : "a file",
				path);
	free(u);
	free(n);
	return why;
}

/* Why secret file PATH (ST) that others can read is refused, with the fix
 * in the tools that make such files: chmod for a file we may change, the
 * Kubernetes volume's defaultMode and Vault Agent's sink mode otherwise. */
static char *secret_mode_problem(const char *path, const struct stat *st)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	const char *owner_first =
		(mode & 040) && st->st_uid == 0
			? " (if the connector reads it through its group, "
			  "first chown the connector's user)"
			: "";
	return xasprintf("secret file %s can be read by group or others "
			 "(mode %04o): chmod 600 %s%s; a Kubernetes secret "
			 "volume needs defaultMode: 0400, a Vault Agent sink "
			 "mode = 0400 (or 0600)",
			 path, mode, path, owner_first);
}

/* Why file PATH (described by ST) cannot be trusted for KIND, or NULL.
 * OPEN_DIR is 1 when others can write the directory holding it. */
static char *file_problem(const char *path, const struct stat *st,
			  enum trust_kind kind, int open_dir)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (!S_ISREG(st->st_mode))
		return xasprintf("%s %s is not a regular file: name a regular "
				 "file (not a directory, device or FIFO)",
				 kind_name(kind), path);
	if (!owner_ok(st->st_uid) && (kind != TRUST_SECRET || open_dir))
		return owner_problem(path, st, kind);
	if (kind == TRUST_SECRET && (mode & 077))
		return secret_mode_problem(path, st);
	if (kind == TRUST_CREDENTIAL && (mode & 007))
		return xasprintf("credential %s can be read by others (mode "
				 "%04o): systemd makes credentials 0400; fix "
				 "the unit or whatever wrote it",
				 path, mode);
	if (mode & 022)
		return xasprintf("%s %s is writable by group or others "
				 "(mode %04o): chmod go-w %s",
				 kind_name(kind), path, mode, path);
	return NULL;
}

/* The walk: a stack of checked directory descriptors and their names. */
struct walk {
	int fd[MAX_DEPTH];
	int shared[MAX_DEPTH]; /* 1: others can write it (a root sticky dir) */
	int seen[MAX_DEPTH]; /* its entry in the thread's cache, or NOT_SEEN */
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

/*
 * The directories this thread's walks checked since trust_cache_begin: an
 * entry is the O_PATH descriptor of a directory that passed dir_problem,
 * found under the name NAME in the directory of entry PARENT (ROOT_SEEN:
 * "/"). A later walk that stands in that very directory — its descriptor,
 * not a path that names it — and steps into NAME takes the descriptor
 * instead of opening and checking it again. Keyed by descriptor, not by
 * path, so a rename in between changes nothing: the walk goes on from the
 * directory that was checked, as one walk does from step to step.
 */
#define CACHE_MAX 32
#define ROOT_SEEN (-1)
#define NOT_SEEN (-2)

static __thread struct trust_cache *cache;

struct seen_dir {
	int parent;
	char *name;
	int fd;
	int shared;
};

struct trust_cache {
	struct trust_cache *outer;
	struct seen_dir dir[CACHE_MAX];
	int n;
};

void *trust_cache_begin(void)
{
	struct trust_cache *c = xcalloc(1, sizeof *c);
	c->outer = cache;
	cache = c;
	return c;
}

void trust_cache_end(void *token)
{
	struct trust_cache *c = token;
	if (!c)
		return;
	for (int i = 0; i < c->n; i++) {
		close(c->dir[i].fd);
		free(c->dir[i].name);
	}
	cache = c->outer;
	free(c);
}

/* The entry of directory NAME below the walk's directory, or NOT_SEEN. */
static int cache_find(const struct walk *w, const char *name)
{
	int parent = w->seen[w->depth];
	if (!cache || parent == NOT_SEEN)
		return NOT_SEEN;
	for (int i = 0; i < cache->n; i++)
		if (cache->dir[i].parent == parent &&
		    strcmp(cache->dir[i].name, name) == 0)
			return i;
	return NOT_SEEN;
}

/* Hands the checked directory FD (NAME below the walk's directory) to the
 * cache; returns its entry, or NOT_SEEN when the walk keeps it. */
static int cache_add(const struct walk *w, const char *name, int fd, int shared)
{
	int parent = w->seen[w->depth];
	if (!cache || parent == NOT_SEEN || cache->n == CACHE_MAX)
		return NOT_SEEN;
	cache->dir[cache->n] =
		(struct seen_dir){ parent, xstrdup(name), fd, shared };
	return cache->n++;
}

static void walk_pop(struct walk *w)
{
	if (w->depth > 0 && w->seen[w->depth] == NOT_SEEN)
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
	w->seen[0] = ROOT_SEEN;
	if (w->fd[0] < 0 || fstat(w->fd[0], &st) < 0)
		return *w->why = xasprintf("/: %s", strerror(errno)), -1;
	w->shared[0] = (st.st_mode & 022) != 0;
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

/* Pushes directory NAME (FD, SHARED; entry SEEN of the cache) on the
 * walk. */
static void walk_push(struct walk *w, const char *shown, int fd, int shared,
		      int seen)
{
	w->fd[++w->depth] = fd;
	w->shared[w->depth] = shared;
	w->seen[w->depth] = seen;
	w->name[w->depth] = (struct buf){ 0 };
	buf_puts(&w->name[w->depth], shown);
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
	int shared = (st->st_mode & 022) != 0;
	walk_push(w, shown, fd, shared, cache_add(w, name, fd, shared));
	free(shown);
	return 0;
}

/* Enters directory NAME that an earlier walk checked (cache entry I). */
static int walk_reenter(struct walk *w, const char *name, int i)
{
	char *shown = walk_path(w, name);
	if (w->depth + 1 >= MAX_DEPTH) {
		*w->why = xasprintf("%s: too deep", shown);
		free(shown);
		errno = EPERM;
		return -1;
	}
	walk_push(w, shown, cache->dir[i].fd, cache->dir[i].shared, i);
	free(shown);
	return 0;
}

/* Why the link LINK (described by LST) of the current directory is not
 * followed, or NULL: in a directory others can write, a link root or the
 * caller did not make may point anywhere (protected_symlinks, which the
 * kernel applies only when the sysctl is on). */
static char *link_problem(const struct walk *w, const char *link,
			  const struct stat *lst)
{
	if (!w->shared[w->depth] || owner_ok(lst->st_uid))
		return NULL;
	char *shown = walk_path(w, link), *u = who(lst->st_uid);
	char *why = xasprintf(
		"%s is a symbolic link made by %s in %s, a sticky directory "
		"others can write: jauth follows such a link only when root or "
		"you made it; name its target instead, or keep the file out of "
		"shared directories",
		shown, u, w->name[w->depth].s);
	free(shown);
	free(u);
	return why;
}

/* Puts the target of the symbolic link LINK (read by readlinkat(DIRFD,
 * NAME), described by LST) in front of the components still to walk. */
static int walk_follow(struct walk *w, int dirfd, const char *name,
		       const char *link, const struct stat *lst)
{
	char target[PATH_MAX];
	if ((*w->why = link_problem(w, link, lst))) {
		errno = EPERM;
		return -1;
	}
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
	int seen = cache_find(w, name);
	if (seen != NOT_SEEN)
		return walk_reenter(w, name, seen);
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
		int rc = walk_follow(w, fd, "", name, &st);
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

/* Opens for reading the regular file NAME of the walk's directory, which
 * fstat of its O_PATH descriptor P described in ST (refilled). In a
 * directory only root or the caller can write, the name is opened again
 * (O_NOFOLLOW|O_NONBLOCK|O_NOCTTY) and must still be that file: -3 when it
 * was replaced meanwhile. In a directory others can write (a root sticky
 * directory), where another user may plant a FIFO or device under a name
 * of theirs, the descriptor is reopened through /proc instead: what is
 * opened is the very file checked. (The first /proc/self access of a
 * process costs some 30 µs, which is why the name is preferred.) */
static int reopen(const struct walk *w, int p, const char *name,
		  struct stat *st)
{
	if (w->shared[w->depth]) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", p);
		return open(proc, O_RDONLY | O_CLOEXEC);
	}
	struct stat now;
	int fd = openat(w->fd[w->depth], name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino) {
		close(fd);
		return -3;
	}
	*st = now;
	return fd;
}

/* -2 with *why: NAME was replaced each time it was opened. */
static int swapped(const struct walk *w, const char *name)
{
	char *shown = walk_path(w, name);
	*w->why = xasprintf("%s changed while it was checked (another file "
			    "was swapped in)",
			    shown);
	free(shown);
	return -2;
}

/* Opens the file NAME of the walk's directory, following a symbolic link
 * there (the walk goes on). It is first opened with O_PATH, which touches
 * nothing, and — when READ — opened for reading (reopen) only once fstat
 * says it is a regular file: a device or FIFO named as a secret is never
 * opened. A module is not read here (dlopen reopens the O_PATH descriptor
 * itself). Returns the descriptor (ST filled), -1 with errno, or -2 with
 * *why. */
static int open_file(struct walk *w, char **name, struct stat *st, int read)
{
	for (int tries = 0;;) {
		memset(st, 0, sizeof *st);
		/* A file to read where only root or the caller can write:
		 * fstatat says what the name is without opening anything (two
		 * system calls fewer than an O_PATH descriptor), and reopen
		 * checks that the file opened is the one described. Anything
		 * but a regular file or a link takes the way below. */
		int fast = read && !w->shared[w->depth];
		if (fast && fstatat(w->fd[w->depth], *name, st,
				    AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		if (fast && S_ISREG(st->st_mode)) {
			int fd = reopen(w, -1, *name, st);
			if (fd != -3)
				return fd;
			if (++tries < 3)
				continue; /* replaced (a rename): look again */
			return swapped(w, *name);
		}
		if (fast && S_ISLNK(st->st_mode)) {
			if (walk_follow(w, w->fd[w->depth], *name, *name, st) <
			    0)
				return -2;
			free(*name);
			if (!(*name = walk_to_file(w)))
				return -2;
			continue;
		}
		int p = openat(w->fd[w->depth], *name,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (p < 0)
			return -1;
		if (fstat(p, st) < 0) {
			close(p);
			return -1;
		}
		if (!S_ISLNK(st->st_mode)) {
			if (!read || !S_ISREG(st->st_mode))
				return p;
			int fd = reopen(w, p, *name, st);
			close(p);
			if (fd != -3)
				return fd;
			if (++tries < 3)
				continue; /* replaced (a rename): look again */
			return swapped(w, *name);
		}
		int rc = walk_follow(w, p, "", *name, st);
		close(p);
		if (rc < 0)
			return -2;
		free(*name);
		if (!(*name = walk_to_file(w)))
			return -2;
	}
}

/* Why the file PATH, at SHOWN after the walk, could not be opened (errno
 * E; ST filled when fstat got that far). */
static char *unopened(const char *path, const char *shown, enum trust_kind kind,
		      const struct stat *st, int e)
{
	int generic = e != EACCES || !st->st_mode || owner_ok(st->st_uid);
	if (generic && e == EACCES &&
	    (kind == TRUST_SECRET || kind == TRUST_CREDENTIAL))
		return xasprintf("%s %s: %s: a secret file belongs to the user "
				 "the connector runs as: chown it to that user "
				 "and run jauth as that user",
				 kind_name(kind), path, strerror(e));
	if (e == EACCES && !st->st_mode) {
		/* not even looked at: its directory is closed to this user */
		const char *slash = strrchr(path, '/');
		int n = slash && slash > path ? (int)(slash - path) : 1;
		return xasprintf("%s %s: %s: this user cannot search its "
				 "directory %.*s: open it (chmod 755), or "
				 "run jauth as a user who can",
				 kind_name(kind), path, strerror(e), n, path);
	}
	if (generic && e == EACCES)
		return xasprintf(
			"%s %s: %s: make it readable by the user jauth "
			"runs as (chmod 644), or run jauth as a user "
			"who can read it",
			kind_name(kind), path, strerror(e));
	if (generic)
		return xasprintf("%s %s: %s", kind_name(kind), path,
				 e == ENOENT ? "does not exist" : strerror(e));
	char *u = who(st->st_uid), *n = sudo_name(st->st_uid);
	char *why = xasprintf("%s %s is owned by %s (mode %04o) and you cannot "
			      "read it: run jauth as the user the connector "
			      "runs as (sudo -u %s jauth ...)",
			      kind_name(kind), shown, u,
			      (unsigned)(st->st_mode & 07777), n);
	free(u);
	free(n);
	return why;
}

/* Why the opened file is refused, naming it where the walk found it (the
 * target of a link, so that a fix is never applied through the link). */
static char *checked(const struct walk *w, const char *name, const char *path,
		     const struct stat *st, enum trust_kind kind)
{
	char *shown = walk_path(w, name);
	char *why = file_problem(shown, st, kind, w->shared[w->depth]);
	if (why && strcmp(shown, path) != 0) {
		char *both = xasprintf("%s (%s leads there)", why, path);
		free(why);
		why = both;
	}
	free(shown);
	return why;
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
		if (fd < 0) {
			char *shown = walk_path(&w, name);
			*why = unopened(path, shown, kind, st, e);
			free(shown);
		} else if ((*why = checked(&w, name, path, st, kind))) {
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

int trust_read(const char *path, enum trust_kind kind, size_t max,
	       struct buf *out, char **why)
{
	struct stat st;
	int fd = trust_open(path, kind, &st, why);
	if (fd < 0)
		return -1;
	int rc = read_capped(fd, max, out);
	close(fd);
	if (rc < 0) {
		*why = xasprintf("%s %s: %s", kind_name(kind), path,
				 errno == EFBIG ? "is too large"
						: strerror(errno));
		buf_wipe(out);
	}
	return rc < 0 ? -1 : 0;
}
