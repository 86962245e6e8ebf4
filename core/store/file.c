/*
 * file.c — the file backend of the state store (store.h, DESIGN §6): one
 * file per record in the state directory, which is opened once per handle
 * (its whole path walked and checked, dir.c) and used only through its
 * descriptor (openat, renameat, unlinkat, fsync of the directory).
 *
 * Files of record R:
 *  - R.json, the record. Only a durable commit replaces it: R.tmp written
 *    and fsynced, renamed over R.json, the directory fsynced. A reader sees
 *    the old or the new file, never half of one; a power failure leaves the
 *    last committed one.
 *  - R.lock, never removed (removing a lock file lets two processes hold
 *    "the" lock on two different files), kept open by the handle. Its flock
 *    is the single-flight lock. Its first page, mapped shared, holds the
 *    word waiters sleep on (a futex): whoever lets go bumps it, so waiters
 *    wake when the lock is free instead of polling. From its second page on
 *    it holds the intent mark: one pwrite of the noted record, with its
 *    length, a checksum, and the checksum of the committed record it
 *    belongs to. A mark torn or lost in a power failure, or left from an
 *    older record, is ignored: the committed record is never touched by a
 *    note.
 *  - R.tmp, the next record while it is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define RECORD_MAX (1024 * 1024)
#define LOCK_WAIT_S JAUTH_LOCK_WAIT_S /* internal.h: HTTP stays below it */
/* A holder killed mid-refresh wakes nobody (the kernel drops its flock);
 * waiters look again this often, whatever the wake-ups say. */
#define DEATH_SLICE_MS 200
#define LOCK_PAGE 4096
#define MARK_AT LOCK_PAGE
#define MARK_MAGIC 0x314b524dU /* "MRK1" */

/* The first page of R.lock, shared by every process that has it open. */
struct lock_page {
	_Atomic uint32_t wake;	   /* bumped at every unlock */
	_Atomic uint32_t waiters;  /* > 0: a taker may sleep on wake */
	_Atomic uint32_t watchers; /* > 0: someone waits for any release */
};

struct mark_head {
	uint32_t magic, len; /* len bytes of record follow */
	uint64_t base;	     /* checksum of the committed record */
	uint64_t sum;	     /* of base, len and the record */
};

/* One record's lock file, kept open for the handle's life. */
struct frec {
	struct frec *next;
	char *name;
	pthread_mutex_t mu; /* one holder in this handle at a time */
	int fd;		    /* R.lock, -1 until opened */
	pid_t pid;	    /* the process that opened it (a fork reopens) */
	struct lock_page *page;
};

struct files {
	char *dir;
	enum dir_origin origin;
	pthread_mutex_t mu; /* dfd, old, recs */
	int dfd;	    /* the state directory, -1 until opened */
	struct buf old;	    /* descriptors of directories since removed */
	struct frec *recs;
};

struct store_lock {
	struct files *f;
	struct frec *r;
	int dfd;
	uint64_t base; /* checksum of the committed record read */
	int marked;    /* a mark may be in force */
};

/* FNV-1a, 64 bits: tells a torn or stale mark from a good one. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_START 0xcbf29ce484222325ULL

static uint64_t text_sum(const char *text, size_t len)
{
	return text ? fnv(FNV_START, text, len) : 0;
}

static uint64_t mark_sum(const struct mark_head *h, const char *text)
{
	uint64_t s = fnv(FNV_START, &h->base, sizeof h->base);
	s = fnv(s, &h->len, sizeof h->len);
	return fnv(s, text, h->len);
}

static char *name_ext(const char *name, const char *ext)
{
	return xasprintf("%s.%s", name, ext);
}

/* Fails M's call for a set-up problem of the state directory: reported as
 * JAUTH_CONFIG by the core. */
static jauth_result config_fail(jauth_m *m, char *why)
{
	if (m->run)
		m->run->config = 1;
	jauth_m_fail(m, JAUTH_ERROR, "%s", why);
	free(why);
	return JAUTH_ERROR;
}

/* The state directory's descriptor, opened (and made) on first use, and
 * again if it was removed. It stays valid for the handle's life. */
static jauth_result dir_fd(jauth_m *m, struct files *f, int *out)
{
	struct stat st;
	char *why = NULL;
	pthread_mutex_lock(&f->mu);
	if (f->dfd >= 0 && fstat(f->dfd, &st) == 0 && st.st_nlink == 0) {
		buf_add(&f->old, (const char *)&f->dfd, sizeof f->dfd);
		f->dfd = -1;
	}
	if (f->dfd < 0)
		f->dfd = state_dir_open(f->dir, f->origin, 1, &why);
	*out = f->dfd;
	pthread_mutex_unlock(&f->mu);
	return *out < 0 ? config_fail(m, why) : JAUTH_SUCCESS;
}

/* Reads NAME of DFD into *text (NULL when there is none). */
static jauth_result read_record(jauth_m *m, struct files *f, int dfd,
				const char *name, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	char *file = name_ext(name, "json");
	int fd = open_private_at(dfd, file, O_RDONLY);
	struct buf b = { 0 };
	int rc = fd < 0 ? -1 : read_capped(fd, RECORD_MAX, &b), e = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		*len = b.len;
		*text = buf_take(&b);
	}
	buf_wipe(&b);
	jauth_result r = JAUTH_SUCCESS;
	if (rc < 0 && e == EPERM)
		r = jauth_m_fail(m, JAUTH_ERROR,
				 "state file %s/%s is not a private regular "
				 "file of yours (mode 0600): fix or remove it",
				 f->dir, file);
	else if (rc < 0 && e != ENOENT)
		r = jauth_m_fail(m, JAUTH_ERROR,
				 "state file %s/%s cannot be read as a record "
				 "(%s): remove it, or replace it with a new "
				 "consent (`jauth authorize %s`) or `jauth "
				 "revoke %s`",
				 f->dir, file, strerror(e), jauth_m_service(m),
				 jauth_m_service(m));
	free(file);
	return r;
}

/* The mark in lock file FD if it belongs to the committed record whose
 * checksum is BASE: *text (malloc'd) or NULL. */
static void mark_read(int fd, uint64_t base, char **text, size_t *len)
{
	struct mark_head h;
	*text = NULL;
	if (pread(fd, &h, sizeof h, MARK_AT) != (ssize_t)sizeof h ||
	    h.magic != MARK_MAGIC || h.base != base || h.len == 0 ||
	    h.len > RECORD_MAX)
		return;
	char *t = xmalloc((size_t)h.len + 1);
	if (pread(fd, t, h.len, MARK_AT + sizeof h) != (ssize_t)h.len ||
	    mark_sum(&h, t) != h.sum) {
		explicit_bzero(t, h.len);
		free(t);
		return;
	}
	t[h.len] = '\0';
	*text = t;
	*len = h.len;
}

/* Puts the mark (if any) over the committed record *TEXT, whose checksum
 * is BASE, read from FD's record; 1 when there was one. */
static int mark_apply(int fd, uint64_t base, char **text, size_t *len)
{
	char *mark;
	size_t mlen;
	mark_read(fd, base, &mark, &mlen);
	if (!mark)
		return 0;
	if (*text) {
		explicit_bzero(*text, *len);
		free(*text);
	}
	*text = mark;
	*len = mlen;
	return 1;
}

static jauth_result files_load(jauth_m *m, void *ctx, const char *name,
			       char **text, size_t *len)
{
	struct files *f = ctx;
	int dfd;
	*text = NULL;
	jauth_result rc = dir_fd(m, f, &dfd);
	if (rc == JAUTH_SUCCESS)
		rc = read_record(m, f, dfd, name, text, len);
	if (rc != JAUTH_SUCCESS || !*text)
		return rc;
	char *file = name_ext(name, "lock");
	int fd = open_private_at(dfd, file, O_RDONLY);
	free(file);
	if (fd >= 0) {
		mark_apply(fd, text_sum(*text, *len), text, len);
		close(fd);
	}
	return JAUTH_SUCCESS;
}

/* ---- the lock ---- */

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static void deadline_in(struct timespec *ts, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += seconds;
}

/* Milliseconds left until DEADLINE (CLOCK_MONOTONIC), at least 0. */
static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
		  (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* Takes R's flock, sleeping on the lock page's wake word between tries,
 * until DEADLINE. WATCH: once another holder has let go, give up instead
 * of taking it. Returns 0 (held), 1 (WATCH: released by another, not
 * held), or -1 with errno (ETIMEDOUT). */
static int flock_wait(struct frec *r, const struct timespec *deadline,
		      int watch)
{
	_Atomic uint32_t *count =
		watch ? &r->page->watchers : &r->page->waiters;
	uint32_t first = atomic_load(&r->page->wake);
	for (;;) {
		uint32_t seen = atomic_load(&r->page->wake);
		if (watch && seen != first)
			return 1;
		if (flock(r->fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		long ms = ms_left(deadline);
		if (ms == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ms = ms < DEATH_SLICE_MS ? ms : DEATH_SLICE_MS;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		atomic_fetch_add(count, 1);
		futex(&r->page->wake, FUTEX_WAIT, seen, &ts);
		atomic_fetch_sub(count, 1);
	}
}

/* Lets go of R's flock and wakes who sleeps on it: every watcher (each
 * goes on by itself), else one taker (they would take turns anyway; waking
 * all of them only makes them fight for the CPU). */
static void flock_release(struct frec *r)
{
	flock(r->fd, LOCK_UN);
	atomic_fetch_add(&r->page->wake, 1);
	if (atomic_load(&r->page->watchers) > 0)
		futex(&r->page->wake, FUTEX_WAKE, INT_MAX, NULL);
	else if (atomic_load(&r->page->waiters) > 0)
		futex(&r->page->wake, FUTEX_WAKE, 1, NULL);
}

/* The lock state of record NAME in F, made on first use. */
static struct frec *frec_of(struct files *f, const char *name)
{
	pthread_mutex_lock(&f->mu);
	struct frec *r = f->recs;
	while (r && strcmp(r->name, name) != 0)
		r = r->next;
	if (!r) {
		pthread_mutexattr_t a;
		r = xcalloc(1, sizeof *r);
		r->name = xstrdup(name);
		r->fd = -1;
		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
		pthread_mutex_init(&r->mu, &a);
		pthread_mutexattr_destroy(&a);
		r->next = f->recs;
		f->recs = r;
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

static void frec_shut(struct frec *r)
{
	if (r->page)
		munmap(r->page, LOCK_PAGE);
	if (r->fd >= 0)
		close(r->fd);
	r->page = NULL;
	r->fd = -1;
}

/* Opens and maps R.lock in DFD unless it is open already (in this
 * process, and still the file of that name). Under r->mu. */
static int frec_open(struct frec *r, int dfd)
{
	struct stat st;
	if (r->fd >= 0 && r->pid == getpid() && fstat(r->fd, &st) == 0 &&
	    st.st_nlink > 0)
		return 0;
	frec_shut(r);
	char *file = name_ext(r->name, "lock");
	r->fd = open_private_at(dfd, file, O_RDWR | O_CREAT);
	free(file);
	if (r->fd < 0 || fstat(r->fd, &st) < 0 ||
	    (st.st_size < LOCK_PAGE && ftruncate(r->fd, LOCK_PAGE) < 0))
		goto fail;
	r->page = mmap(NULL, LOCK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, 0);
	if (r->page == MAP_FAILED) {
		r->page = NULL;
		goto fail;
	}
	r->pid = getpid();
	return 0;
fail:;
	int e = errno;
	frec_shut(r);
	errno = e;
	return -1;
}

/* Takes R: this handle's turn (r->mu), then the lock file's flock, both
 * bounded by LOCK_WAIT_S. WATCH: see flock_wait; *released is set when it
 * gave up because another holder let go (nothing held then). */
static jauth_result take(jauth_m *m, struct files *f, struct frec *r, int dfd,
			 int watch, int *released)
{
	struct timespec deadline, wall;
	deadline_in(&deadline, LOCK_WAIT_S);
	/* The turn's bound is on the wall clock: pthread_mutex_timedlock is
	 * what every tool knows (ThreadSanitizer has no clocklock), and
	 * another thread of this handle holds it for one refresh at most. */
	clock_gettime(CLOCK_REALTIME, &wall);
	wall.tv_sec += LOCK_WAIT_S;
	int e = pthread_mutex_timedlock(&r->mu, &wall), got = -1;
	*released = 0;
	if (e == 0 && frec_open(r, dfd) == 0 &&
	    (got = flock_wait(r, &deadline, watch)) == 0)
		return JAUTH_SUCCESS;
	if (e == 0) {
		e = errno;
		pthread_mutex_unlock(&r->mu);
	}
	if (got == 1) {
		*released = 1;
		return JAUTH_SUCCESS;
	}
	return jauth_m_fail(m, e == ETIMEDOUT ? JAUTH_TRANSIENT : JAUTH_ERROR,
			    "lock %s/%s.lock: %s", f->dir, r->name,
			    e == ETIMEDOUT
				    ? "another process has held it for 60 s"
			    : e == EPERM
				    ? "not a private regular file of yours "
				      "(mode 0600): fix or remove it"
			    : e == EDEADLK ? "already held by this thread"
					   : strerror(e));
}

/* files_lock and files_lock_or_wait. */
static jauth_result lock_as(jauth_m *m, struct files *f, const char *name,
			    int watch, struct store_lock **out, char **text,
			    size_t *len)
{
	struct frec *r = frec_of(f, name);
	int dfd, released = 0;
	*out = NULL;
	if (text)
		*text = NULL;
	jauth_result rc = dir_fd(m, f, &dfd);
	if (rc == JAUTH_SUCCESS)
		rc = take(m, f, r, dfd, watch, &released);
	if (rc != JAUTH_SUCCESS || released)
		return rc;
	struct store_lock *lk = xcalloc(1, sizeof *lk);
	*lk = (struct store_lock){ .f = f, .r = r, .dfd = dfd, .marked = 1 };
	if (text &&
	    (rc = read_record(m, f, dfd, name, text, len)) != JAUTH_SUCCESS) {
		flock_release(r);
		pthread_mutex_unlock(&r->mu);
		free(lk);
		return rc;
	}
	if (text) { /* lk->marked stays 1: the next commit clears any mark */
		lk->base = text_sum(*text, *len);
		mark_apply(r->fd, lk->base, text, len);
	}
	jauth_m_log(m, JAUTH_LOG_DEBUG, "locked %s/%s.lock", f->dir, name);
	*out = lk;
	return JAUTH_SUCCESS;
}

static jauth_result files_lock(jauth_m *m, void *ctx, const char *name,
			       struct store_lock **out, char **text,
			       size_t *len)
{
	return lock_as(m, ctx, name, 0, out, text, len);
}

static jauth_result files_lock_or_wait(jauth_m *m, void *ctx, const char *name,
				       struct store_lock **out, char **text,
				       size_t *len)
{
	return lock_as(m, ctx, name, 1, out, text, len);
}

static void files_unlock(struct store_lock *lk)
{
	if (!lk)
		return;
	flock_release(lk->r);
	pthread_mutex_unlock(&lk->r->mu);
	free(lk);
}

/* ---- note, commit, remove ---- */

static jauth_result files_note(jauth_m *m, struct store_lock *lk,
			       const char *text, size_t len)
{
	struct mark_head h = { .magic = MARK_MAGIC,
			       .len = (uint32_t)len,
			       .base = lk->base };
	h.sum = mark_sum(&h, text);
	size_t n = sizeof h + len;
	char *buf = xmalloc(n);
	memcpy(buf, &h, sizeof h);
	memcpy(buf + sizeof h, text, len);
	ssize_t w = pwrite(lk->r->fd, buf, n, MARK_AT);
	int e = w < 0 ? errno : ENOSPC;
	explicit_bzero(buf, n);
	free(buf);
	lk->marked = 1;
	if (w == (ssize_t)n)
		return JAUTH_SUCCESS;
	return jauth_m_fail(m, JAUTH_ERROR,
			    "cannot note the refresh in %s/%s.lock: %s (the "
			    "record is intact; nothing was sent)",
			    lk->f->dir, lk->r->name, strerror(e));
}

/* Drops the mark: when the record it belonged to is gone, or replaced by
 * an identical one (any other record makes it stale, and ignored). */
static void mark_clear(struct store_lock *lk)
{
	static const uint32_t none = 0;
	if (lk->marked && pwrite(lk->r->fd, &none, sizeof none, MARK_AT) > 0)
		lk->marked = 0;
}

static jauth_result files_commit(jauth_m *m, struct store_lock *lk,
				 const char *text, size_t len)
{
	char *tmp = name_ext(lk->r->name, "tmp");
	char *file = name_ext(lk->r->name, "json");
	int renamed = 0;
	jauth_result rc = JAUTH_SUCCESS;
	if (write_new_at(lk->dfd, tmp, text, len, 1) < 0 ||
	    !(renamed = renameat(lk->dfd, tmp, lk->dfd, file) == 0) ||
	    fsync(lk->dfd) < 0) {
		int e = errno;
		if (!renamed)
			unlinkat(lk->dfd, tmp, 0);
		rc = jauth_m_fail(
			m, JAUTH_ERROR, "cannot save %s/%s: %s (%s)",
			lk->f->dir, file, strerror(e),
			renamed ? "the new record is in place but may not "
				  "survive a power failure"
				: "the previous record is intact");
	}
	if (renamed) {
		/* A mark belongs to the record it was noted over: once another
		 * one is committed it is ignored, and wiping it would be one
		 * more write (and a dirty inode for the next fsync) on every
		 * refresh. Only a record committed again byte for byte would
		 * let it apply. */
		uint64_t sum = text_sum(text, len);
		if (sum == lk->base)
			mark_clear(lk);
		else
			lk->marked = 0;
		lk->base = sum;
	}
	if (rc == JAUTH_SUCCESS)
		jauth_m_log(m, JAUTH_LOG_DEBUG, "saved %s/%s", lk->f->dir,
			    file);
	free(tmp);
	free(file);
	return rc;
}

static jauth_result files_remove(jauth_m *m, struct store_lock *lk)
{
	char *file = name_ext(lk->r->name, "json");
	jauth_result rc = JAUTH_SUCCESS;
	if ((unlinkat(lk->dfd, file, 0) < 0 && errno != ENOENT) ||
	    fsync(lk->dfd) < 0)
		rc = jauth_m_fail(m, JAUTH_ERROR, "cannot remove %s/%s: %s",
				  lk->f->dir, file, strerror(errno));
	else
		mark_clear(lk);
	lk->base = 0;
	free(file);
	return rc;
}

/* ---- the backend ---- */

static int files_open(struct jauth *h, const char *conf, void **ctx, char **why)
{
	struct files *f = xcalloc(1, sizeof *f);
	enum dir_origin o;
	*why = NULL;
	if (conf) {
		free(f);
		*why = xstrdup("the files store takes no settings (its "
			       "directory is the state directory: -s or "
			       "JAUTH_STATE_DIR)");
		return -1;
	}
	char *dflt = state_dir_pick(NULL, &o);
	f->dir = xstrdup(h->state_dir);
	f->origin = strcmp(dflt, f->dir) == 0 ? o : DIR_OPTION;
	free(dflt);
	f->dfd = -1;
	pthread_mutex_init(&f->mu, NULL);
	*ctx = f;
	return 0;
}

/* The state directory, if it is there and usable, opened now: jauth_open
 * has just walked most of its path. Made, or refused with its message, on
 * first use otherwise. */
static void files_warm(void *ctx)
{
	struct files *f = ctx;
	char *why = NULL;
	pthread_mutex_lock(&f->mu);
	if (f->dfd < 0)
		f->dfd = state_dir_open(f->dir, f->origin, 0, &why);
	pthread_mutex_unlock(&f->mu);
	free(why);
}

static void files_close(void *ctx)
{
	struct files *f = ctx;
	if (!f)
		return;
	for (struct frec *r = f->recs, *next; r; r = next) {
		next = r->next;
		frec_shut(r);
		pthread_mutex_destroy(&r->mu);
		free(r->name);
		free(r);
	}
	for (size_t i = 0; i + sizeof(int) <= f->old.len; i += sizeof(int)) {
		int fd;
		memcpy(&fd, f->old.s + i, sizeof fd);
		close(fd);
	}
	buf_wipe(&f->old);
	if (f->dfd >= 0)
		close(f->dfd);
	pthread_mutex_destroy(&f->mu);
	free(f->dir);
	free(f);
}

static char *files_where(void *ctx, const char *name)
{
	struct files *f = ctx;
	return xasprintf("%s/%s.json", f->dir, name);
}

const struct store_backend store_files = {
	.name = "files",
	.max_record = RECORD_MAX,
	.open = files_open,
	.close = files_close,
	.warm = files_warm,
	.where = files_where,
	.load = files_load,
	.lock = files_lock,
	.lock_or_wait = files_lock_or_wait,
	.note = files_note,
	.commit = files_commit,
	.remove = files_remove,
	.unlock = files_unlock,
};
