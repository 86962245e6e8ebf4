/*
 * store.c — the state store (DESIGN §6): one JSON record per grant under
 * the state directory, read without a lock, replaced crash-safely under an
 * flock shared by every thread and process.
 *
 * Files of record R: R.json (the record), R.lock (never removed: removing a
 * lock file lets two processes hold "the" lock on two different files),
 * R.tmp (the next record while it is written).
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

#include "internal.h"

#define RECORD_MAX (1024 * 1024)
#define LOCK_WAIT_S JAUTH_LOCK_WAIT_S /* internal.h: HTTP stays below it */

struct jauth_m_lock {
	jauth_m *m;
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

static int key_ok(const char *key)
{
	return chars_ok(key, strlen(key), 128, ALNUM "._-");
}

/* Checks KEY and makes sure the state directory is there and private. */
static jauth_result store_ready(jauth_m *m, const char *key)
{
	char *why = NULL;
	if (!key_ok(key))
		return jauth_m_fail(
			m, JAUTH_ERROR,
			"store key \"%s\" has characters other than "
			"letters, digits, '.', '_', '-'",
			key);
	if (store_dir_ready(m->h->state_dir, &why) < 0) {
		jauth_m_fail(m, JAUTH_ERROR, "%s", why);
		free(why);
		return JAUTH_ERROR;
	}
	return JAUTH_SUCCESS;
}

/* "DIR/SERVICE.MODULE.KEY.EXT" (after store_ready). */
static char *record_path(jauth_m *m, const char *key, const char *ext)
{
	return xasprintf("%s/%s.%s.%s", m->h->state_dir, m->store_prefix, key,
			 ext);
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

/* Reads and parses record PATH; *rec NULL when there is none. */
static jauth_result read_record(jauth_m *m, const char *path, cJSON **rec)
{
	*rec = NULL;
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
	*rec = rc < 0 ? NULL : cJSON_Parse(b.s ? b.s : "");
	buf_wipe(&b);
	if (!cJSON_IsObject(*rec)) {
		jauth_m_json_free(*rec);
		*rec = NULL;
		return jauth_m_fail(m, JAUTH_ERROR,
				    "state file %s cannot be read as a record "
				    "(%s)",
				    path, rc < 0 ? strerror(e) : "not JSON");
	}
	return JAUTH_SUCCESS;
}

jauth_result jauth_m_store_load(jauth_m *m, const char *key, cJSON **rec)
{
	*rec = NULL;
	if (store_ready(m, key) != JAUTH_SUCCESS)
		return JAUTH_ERROR;
	char *path = record_path(m, key, "json");
	jauth_result rc = read_record(m, path, rec);
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

static void lock_free(jauth_m_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	free(lk->path);
	free(lk->tmp);
	free(lk);
}

jauth_result jauth_m_store_lock(jauth_m *m, const char *key, jauth_m_lock **out,
				cJSON **rec)
{
	*out = NULL;
	*rec = NULL;
	if (store_ready(m, key) != JAUTH_SUCCESS)
		return JAUTH_ERROR;
	char *lockpath = record_path(m, key, "lock");
	jauth_m_lock *lk = xcalloc(1, sizeof *lk);
	lk->m = m;
	lk->path = record_path(m, key, "json");
	lk->tmp = record_path(m, key, "tmp");
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
	jauth_result rc = read_record(m, lk->path, rec);
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
static int write_tmp(const char *tmp, const char *text, int durable)
{
	unlink(tmp); /* left by a crash; we hold the lock */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, text, strlen(text)) < 0 ||
	    (durable && fsync(fd) < 0)) {
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
static jauth_result replace(jauth_m_lock *lk, const cJSON *rec, int durable)
{
	char *text = cJSON_PrintUnformatted(rec);
	if (!text)
		return jauth_m_fail(lk->m, JAUTH_ERROR,
				    "cannot serialize the record");
	int rc = write_tmp(lk->tmp, text, durable);
	explicit_bzero(text, strlen(text));
	cJSON_free(text);
	if (rc < 0 || rename(lk->tmp, lk->path) < 0 ||
	    (durable && sync_dir_of(lk->path) < 0)) {
		int e = errno;
		unlink(lk->tmp);
		return jauth_m_fail(lk->m, JAUTH_ERROR,
				    "cannot save %s: %s (the previous record "
				    "is intact)",
				    lk->path, strerror(e));
	}
	jauth_m_log(lk->m, JAUTH_LOG_DEBUG, "saved %s", lk->path);
	return JAUTH_SUCCESS;
}

jauth_result jauth_m_store_commit(jauth_m_lock *lk, const cJSON *rec)
{
	return replace(lk, rec, 1);
}

jauth_result jauth_m_store_note(jauth_m_lock *lk, const cJSON *rec)
{
	return replace(lk, rec, 0);
}

jauth_result jauth_m_store_remove(jauth_m_lock *lk)
{
	if ((unlink(lk->path) < 0 && errno != ENOENT) ||
	    sync_dir_of(lk->path) < 0)
		return jauth_m_fail(lk->m, JAUTH_ERROR, "cannot remove %s: %s",
				    lk->path, strerror(errno));
	return JAUTH_SUCCESS;
}

void jauth_m_store_unlock(jauth_m_lock *lk)
{
	if (!lk)
		return;
	flock(lk->fd, LOCK_UN);
	lock_free(lk);
}

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
	int rc = write_tmp(tmp, text, 0) < 0 || rename(tmp, path) < 0 ? -1 : 0;
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
