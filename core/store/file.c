/*
 * file.c — the file backend of the state store (store.h, DESIGN §6): one
 * file per record under the state directory, read without a lock, replaced
 * crash-safely under an flock shared by every thread and process.
 *
 * Files of record R: R.json (the record), R.lock (never removed: removing a
 * lock file lets two processes hold "the" lock on two different files),
 * R.tmp (the next record while it is written).
 *
 * Also here: the state directory itself (which one, made private) and the
 * handle's own small files in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define RECORD_MAX (1024 * 1024)
#define LOCK_WAIT_S JAUTH_LOCK_WAIT_S /* internal.h: HTTP stays below it */

struct files {
	char *dir;
};

struct store_lock {
	int fd;
	char *path; /* R.json */
	char *tmp;  /* R.tmp */
};

char *state_dir_of(const char *opt)
{
	const char *env = secure_getenv("JAUTH_STATE_DIR");
	const char *xdg = secure_getenv("XDG_STATE_HOME");
	const char *home = secure_getenv("HOME");
	if (opt && *opt)
		return xstrdup(opt);
	if (env && *env)
		return xstrdup(env);
	if (geteuid() == 0)
		return xstrdup("/var/lib/jauth");
	if (xdg && *xdg == '/')
		return xasprintf("%s/jauth", xdg);
	return xasprintf("%s/.local/state/jauth", home ? home : "");
}

/* mkdir -p, new directories private. */
static int mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

int store_dir_ready(const char *dir, char **why)
{
	struct stat st;
	*why = NULL;
	if (dir[0] != '/') {
		*why = xasprintf("state directory \"%s\" is not an absolute "
				 "path: set JAUTH_STATE_DIR",
				 dir);
		return -1;
	}
	if ((lstat(dir, &st) < 0 && (mkdirs(dir) < 0 || lstat(dir, &st) < 0))) {
		*why = xasprintf("state directory %s: %s", dir,
				 strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		*why = xasprintf("state directory %s is not a directory", dir);
	else if (st.st_uid != geteuid())
		*why = xasprintf("state directory %s belongs to uid %u, not "
				 "you: run as its owner or chown it",
				 dir, (unsigned)st.st_uid);
	else if (st.st_mode & 077)
		*why = xasprintf("state directory %s is open to group or "
				 "others (mode %04o): chmod 700 %s",
				 dir, (unsigned)(st.st_mode & 07777), dir);
	return *why ? -1 : 0;
}

/* Makes sure the state directory is there and private. */
static jauth_result dir_ready(jauth_m *m, struct files *f)
{
	char *why = NULL;
	if (store_dir_ready(f->dir, &why) < 0) {
		jauth_m_fail(m, JAUTH_ERROR, "%s", why);
		free(why);
		return JAUTH_ERROR;
	}
	return JAUTH_SUCCESS;
}

/* "DIR/NAME.EXT" */
static char *record_path(struct files *f, const char *name, const char *ext)
{
	return xasprintf("%s/%s.%s", f->dir, name, ext);
}

/* Opens PATH for reading if it is a regular file of the caller's that
 * nobody else may access. Returns the descriptor, or -1 with errno
 * (ENOENT: none; EPERM: not private). */
static int open_private(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

/* Reads record PATH into *text (NULL when there is none). */
static jauth_result read_record(jauth_m *m, const char *path, char **text,
				size_t *len)
{
	*text = NULL;
	*len = 0;
	int fd = open_private(path);
	if (fd < 0 && errno == ENOENT)
		return JAUTH_SUCCESS;
	if (fd < 0 && errno == EPERM)
		return jauth_m_fail(
			m, JAUTH_ERROR,
			"state file %s is not a private regular "
			"file of yours (mode 0600): fix or remove it",
			path);
	if (fd < 0)
		return jauth_m_fail(m, JAUTH_ERROR, "state file %s: %s", path,
				    strerror(errno));
	struct buf b = { 0 };
	int rc = read_capped(fd, RECORD_MAX, &b), e = errno;
	close(fd);
	if (rc < 0) {
		buf_wipe(&b);
		return jauth_m_fail(m, JAUTH_ERROR,
				    "state file %s cannot be read as a record "
				    "(%s)",
				    path, strerror(e));
	}
	*len = b.len;
	*text = buf_take(&b);
	return JAUTH_SUCCESS;
}

static jauth_result files_load(jauth_m *m, void *ctx, const char *name,
			       char **text, size_t *len)
{
	struct files *f = ctx;
	*text = NULL;
	if (dir_ready(m, f) != JAUTH_SUCCESS)
		return JAUTH_ERROR;
	char *path = record_path(f, name, "json");
	jauth_result rc = read_record(m, path, text, len);
	free(path);
	return rc;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for the flock on FD, polling with growing pauses, for at most
 * LOCK_WAIT_S seconds. */
static int lock_wait(int fd)
{
	double deadline = mono_now() + LOCK_WAIT_S;
	long pause_us = 100;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (mono_now() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct timespec ts = { 0, pause_us * 1000 };
		nanosleep(&ts, NULL);
		/* Short pauses: a refresh holds the lock for milliseconds,
		 * and the waiters' latency is the connector's. */
		if (pause_us < 2000)
			pause_us *= 2;
	}
	return 0;
}

static void lock_free(struct store_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	free(lk->path);
	free(lk->tmp);
	free(lk);
}

static jauth_result files_lock(jauth_m *m, void *ctx, const char *name,
			       struct store_lock **out, char **text,
			       size_t *len)
{
	struct files *f = ctx;
	*out = NULL;
	if (text)
		*text = NULL;
	if (dir_ready(m, f) != JAUTH_SUCCESS)
		return JAUTH_ERROR;
	char *lockpath = record_path(f, name, "lock");
	struct store_lock *lk = xcalloc(1, sizeof *lk);
	lk->path = record_path(f, name, "json");
	lk->tmp = record_path(f, name, "tmp");
	lk->fd =
		open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lk->fd < 0 || lock_wait(lk->fd) < 0) {
		jauth_result rc = jauth_m_fail(
			m, errno == ETIMEDOUT ? JAUTH_TRANSIENT : JAUTH_ERROR,
			"lock %s: %s", lockpath,
			errno == ETIMEDOUT ? "another process has held it for "
					     "60 s"
					   : strerror(errno));
		free(lockpath);
		lock_free(lk);
		return rc;
	}
	jauth_m_log(m, JAUTH_LOG_DEBUG, "locked %s", lockpath);
	free(lockpath);
	jauth_result rc =
		text ? read_record(m, lk->path, text, len) : JAUTH_SUCCESS;
	if (rc != JAUTH_SUCCESS) {
		lock_free(lk);
		return rc;
	}
	*out = lk;
	return JAUTH_SUCCESS;
}

/* fsync of the directory holding PATH, so that a rename or unlink in it
 * survives a crash. */
static int sync_dir_of(const char *path)
{
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *s, size_t n)
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

/* Writes TEXT to the temporary file, durably when DURABLE. */
static int write_tmp(const char *tmp, const char *text, size_t len, int durable)
{
	unlink(tmp); /* left by a crash; we hold the lock */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, text, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Replaces the record by renaming a temporary file over it; DURABLE adds
 * the fsyncs that make the new record survive a power loss. */
static jauth_result replace(jauth_m *m, struct store_lock *lk, const char *text,
			    size_t len, int durable)
{
	if (write_tmp(lk->tmp, text, len, durable) < 0 ||
	    rename(lk->tmp, lk->path) < 0 ||
	    (durable && sync_dir_of(lk->path) < 0)) {
		int e = errno;
		unlink(lk->tmp);
		return jauth_m_fail(m, JAUTH_ERROR,
				    "cannot save %s: %s (the previous record "
				    "is intact)",
				    lk->path, strerror(e));
	}
	jauth_m_log(m, JAUTH_LOG_DEBUG, "saved %s", lk->path);
	return JAUTH_SUCCESS;
}

static jauth_result files_commit(jauth_m *m, struct store_lock *lk,
				 const char *text, size_t len)
{
	return replace(m, lk, text, len, 1);
}

static jauth_result files_note(jauth_m *m, struct store_lock *lk,
			       const char *text, size_t len)
{
	return replace(m, lk, text, len, 0);
}

static jauth_result files_remove(jauth_m *m, struct store_lock *lk)
{
	if ((unlink(lk->path) < 0 && errno != ENOENT) ||
	    sync_dir_of(lk->path) < 0)
		return jauth_m_fail(m, JAUTH_ERROR, "cannot remove %s: %s",
				    lk->path, strerror(errno));
	return JAUTH_SUCCESS;
}

static void files_unlock(struct store_lock *lk)
{
	if (!lk)
		return;
	flock(lk->fd, LOCK_UN);
	lock_free(lk);
}

static int files_open(struct jauth *h, const char *conf, void **ctx, char **why)
{
	struct files *f = xcalloc(1, sizeof *f);
	(void)conf;
	*why = NULL;
	f->dir = xstrdup(h->state_dir);
	*ctx = f;
	return 0;
}

static void files_close(void *ctx)
{
	struct files *f = ctx;
	if (!f)
		return;
	free(f->dir);
	free(f);
}

static char *files_where(void *ctx, const char *name)
{
	return record_path(ctx, name, "json");
}

const struct store_backend store_files = {
	.name = "files",
	.max_record = RECORD_MAX,
	.open = files_open,
	.close = files_close,
	.where = files_where,
	.load = files_load,
	.lock = files_lock,
	.note = files_note,
	.commit = files_commit,
	.remove = files_remove,
	.unlock = files_unlock,
};

/* ---- the handle's own small files in the state directory ---- */

char *state_file_read(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open_private(path);
	free(path);
	if (fd < 0)
		return NULL;
	struct buf b = { 0 };
	int rc = read_capped(fd, 65536, &b);
	close(fd);
	if (rc < 0) {
		buf_wipe(&b);
		return NULL;
	}
	return buf_take(&b);
}

int state_file_write(const char *dir, const char *name, const char *text)
{
	char *why = NULL;
	if (store_dir_ready(dir, &why) < 0) {
		free(why);
		return -1;
	}
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int rc = write_tmp(tmp, text, strlen(text), 0) < 0 ||
				 rename(tmp, path) < 0
			 ? -1
			 : 0;
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

void state_file_remove(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	unlink(path);
	free(path);
}
