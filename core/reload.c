/*
 * reload.c — notices an edited stack and swaps the new one in. Called from
 * the slow path; the hot path only compares the time with next_check, and
 * one thread per second wins the right to look at the files.
 *
 * An edit is loaded once it is complete: a file renamed into place is (its
 * inode is new), a file rewritten in place is once it has been left alone
 * for JAUTH_SETTLE_NS, so that a write in two steps is not loaded half
 * done. A broken edit leaves the old stack in force and a note in the
 * state directory for `jauth status` run from another process; the note
 * names the file as it was refused and the process, and counts only while
 * both are unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define JAUTH_SETTLE_NS 1000000000LL /* an in-place edit's quiet time */

/* The file in the state directory where a handle that refused an edit
 * says so. */
static char *note_name(const struct jauth *h)
{
	return xasprintf("%s.reload-error.json", h->service);
}

/* The stamp of the service's stack file as it is now; 0, or -1 when there
 * is none. OUT->path is malloc'd. */
static int file_stamp(struct jauth *h, struct stamp *out)
{
	struct stat sb;
	memset(out, 0, sizeof *out);
	out->path = conf_find(h->conf_path, h->service);
	if (!out->path || stat(out->path, &sb) < 0) {
		free(out->path);
		out->path = NULL;
		return -1;
	}
	out->dev = sb.st_dev;
	out->ino = sb.st_ino;
	out->size = sb.st_size;
	out->mtime = sb.st_mtim;
	out->ctime = sb.st_ctim;
	return 0;
}

/* 1 when A and B are the same file, unchanged. The paths may be spelt
 * differently (another process's conf path): the identity decides. */
static int stamp_same(const struct stamp *a, const struct stamp *b)
{
	return a->path && b->path && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void stamp_to_json(cJSON *o, const struct stamp *s)
{
	cJSON_AddStringToObject(o, "file", s->path);
	cJSON_AddNumberToObject(o, "dev", (double)s->dev);
	cJSON_AddNumberToObject(o, "ino", (double)s->ino);
	cJSON_AddNumberToObject(o, "size", (double)s->size);
	cJSON_AddNumberToObject(o, "mtime_s", (double)s->mtime.tv_sec);
	cJSON_AddNumberToObject(o, "mtime_ns", (double)s->mtime.tv_nsec);
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int stamp_from_json(const cJSON *o, struct stamp *s)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "file");
	if (!cJSON_IsString(f))
		return -1;
	s->path = f->valuestring;
	s->dev = (dev_t)num(o, "dev");
	s->ino = (ino_t)num(o, "ino");
	s->size = (off_t)num(o, "size");
	s->mtime.tv_sec = (time_t)num(o, "mtime_s");
	s->mtime.tv_nsec = (long)num(o, "mtime_ns");
	return 0;
}

/* The lines of the stack in force, for a `jauth status` that cannot load
 * the edited file. */
static cJSON *in_force_json(const struct stack *st)
{
	cJSON *o = cJSON_CreateObject(), *a;
	cJSON_AddStringToObject(o, "file", st->file);
	a = cJSON_AddArrayToObject(o, "lines");
	for (size_t i = 0; i < st->n; i++) {
		const struct line *ln = st->lines[i];
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "source", ln->source);
		cJSON_AddStringToObject(l, "control", ln->ctl.text);
		cJSON_AddStringToObject(l, ln->sub ? "substack" : "module",
					ln->modname);
		cJSON_AddItemToArray(a, l);
	}
	return o;
}

static void note_write(struct jauth *h, const struct stack *st, const char *msg,
		       const struct stamp *file)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	cJSON_AddNumberToObject(o, "at", (double)handle_now(h));
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	if (file->path)
		stamp_to_json(o, file);
	cJSON_AddItemToObject(o, "in_force", in_force_json(st));
	char *text = cJSON_PrintUnformatted(o), *name = note_name(h);
	if (text && state_file_write(h->state_dir, name, text) < 0)
		hlog(h, JAUTH_LOG_DEBUG, "cannot note the refused edit in %s",
		     h->state_dir);
	cJSON_free(text);
	cJSON_Delete(o);
	free(name);
}

/* 1 while process PID runs. */
static int pid_alive(double pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

cJSON *reload_note_read(struct jauth *h)
{
	char *name = note_name(h);
	char *text = state_file_read(h->state_dir, name);
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	free(text);
	struct stamp was = { 0 }, now = { 0 };
	int valid = o && pid_alive(num(o, "pid")) &&
		    stamp_from_json(o, &was) == 0 && file_stamp(h, &now) == 0 &&
		    stamp_same(&was, &now);
	if (o && !pid_alive(num(o, "pid")))
		state_file_remove(h->state_dir, name);
	free(now.path);
	free(name);
	if (!valid) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddBoolToObject(o, "running", 1);
	return o;
}

/* Keeps the old stack ST and remembers why the new one was refused; logs
 * once per distinct problem, and rewrites the note when the problem or the
 * file changed. */
static void reload_refused(struct jauth *h, const struct stack *st,
			   struct problems *p)
{
	char *all = problems_join(p);
	all[strcspn(all, "\n")] = '\0';
	struct stamp file;
	file_stamp(h, &file);
	pthread_mutex_lock(&h->mu);
	int same = h->reload_error && strcmp(h->reload_error, all) == 0;
	int moved = !stamp_same(&file, &h->refused);
	if (!same) {
		free(h->reload_error);
		h->reload_error = xstrdup(all);
	}
	if (moved) {
		free(h->refused.path);
		h->refused = file;
		h->refused.path = file.path ? xstrdup(file.path) : NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (!same)
		hlog(h, JAUTH_LOG_ERROR,
		     "the edited stack is refused; the previous one stays in "
		     "force: %s",
		     all);
	if (!same || moved)
		note_write(h, st, all, &file);
	free(file.path);
	free(all);
}

/* Puts NST in force: new calls run it, calls in flight finish on the old
 * one, which is freed when the last of them lets go. The credential in
 * force keeps serving, while it has not expired, until the new stack's
 * first round decides (a slow refresh of the old stack stalls nobody). */
static void reload_swap(struct jauth *h, struct stack *nst)
{
	pthread_mutex_lock(&h->mu);
	stack_adopt(h, nst);
	struct stack *old = h->stack;
	h->stack = nst;
	atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
	backoff_reset(h);
	int refused_before = h->reload_error != NULL;
	free(h->reload_error);
	h->reload_error = NULL;
	free(h->refused.path);
	memset(&h->refused, 0, sizeof h->refused);
	pthread_mutex_unlock(&h->mu);
	stack_put(h, old);
	if (refused_before) {
		char *name = note_name(h);
		state_file_remove(h->state_dir, name);
		free(name);
	}
	hlog(h, JAUTH_LOG_NOTICE, "stack %s reloaded", nst->file);
}

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL +
	       (b->tv_nsec - a->tv_nsec);
}

/* 1 when the file of statx SX is not the one of stamp WAS: another inode,
 * or the same number given to a file born after WAS was read (a rename
 * into place freed the old one). */
static int replaced(const struct statx *sx, const struct stamp *was)
{
	if (makedev(sx->stx_dev_major, sx->stx_dev_minor) != was->dev ||
	    sx->stx_ino != was->ino)
		return 1;
	struct timespec born = { sx->stx_btime.tv_sec, sx->stx_btime.tv_nsec };
	return (sx->stx_mask & STATX_BTIME) &&
	       ns_between(&was->mtime, &born) > 0;
}

/* The handle's clock as a timespec: the caller's clock when it gave one
 * (whole seconds), else the real-time clock. */
static struct timespec settle_now(const struct jauth *h)
{
	struct timespec now = { 0, 0 };
	if (h->clock)
		now.tv_sec = h->clock(h->clock_ctx);
	else
		clock_gettime(CLOCK_REALTIME, &now);
	return now;
}

/* 1 when PATH may be in the middle of an in-place edit: it is the file the
 * stack was read from (WAS; NULL for a file new to the stack) and it
 * changed less than JAUTH_SETTLE_NS ago by the handle's clock. */
static int unsettled(const struct jauth *h, const char *path,
		     const struct stamp *was)
{
	struct statx sx;
	if (!path ||
	    statx(AT_FDCWD, path, 0, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0)
		return 0;
	if (was && replaced(&sx, was))
		return 0; /* renamed into place: complete */
	struct timespec now = settle_now(h);
	struct timespec m = { sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
	long long age = ns_between(&m, &now);
	return age > -JAUTH_SETTLE_NS && age < JAUTH_SETTLE_NS;
}

/* 1 when a file of ST, or the file the service would now be read from, is
 * still being written in place. */
static int edit_in_progress(struct jauth *h, const struct stack *st)
{
	char *f = conf_find(h->conf_path, h->service);
	int busy = 0, known = 0;
	for (size_t i = 0; i < st->nstamps && !busy; i++) {
		busy = unsettled(h, st->stamps[i].path, &st->stamps[i]);
		known |= f && strcmp(f, st->stamps[i].path) == 0;
	}
	if (!busy && !known)
		busy = unsettled(h, f, NULL);
	if (busy)
		hlog(h, JAUTH_LOG_DEBUG,
		     "%s changed less than a second ago; waiting for the edit "
		     "to settle before loading it",
		     f ? f : st->file);
	free(f);
	return busy;
}

void reload_check(struct jauth *h)
{
	time_t now = coarse_now();
	time_t due = atomic_load_explicit(&h->next_check, memory_order_relaxed);
	if (now < due)
		return;
	time_t next = h->flags & JAUTH_OPEN_NO_RELOAD
			      ? (time_t)INT64_MAX
			      : now + JAUTH_RELOAD_EVERY;
	if (!atomic_compare_exchange_strong(&h->next_check, &due, next) ||
	    next == (time_t)INT64_MAX)
		return;
	struct stack *st = stack_get(h);
	if (stack_changed(h, st) && !edit_in_progress(h, st)) {
		struct problems p = { 0 };
		struct stack *nst = stack_load(h, h->service, &p);
		if (nst)
			reload_swap(h, nst);
		else
			reload_refused(h, st, &p);
		problems_free(&p);
	}
	stack_put(h, st);
}
