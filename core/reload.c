/*
 * reload.c — notices an edited stack and swaps the new one in. Called from
 * the slow path; the hot path only compares the time with next_check, and
 * one thread per second wins the right to look at the files.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The file in the state directory where a handle that refused an edit
 * says so, for `jauth status` run from another process. */
static char *report_name(const struct jauth *h)
{
	return xasprintf("%s.reload-error.json", h->service);
}

static void report_refusal(struct jauth *h, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	cJSON_AddNumberToObject(o, "at", (double)handle_now(h));
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	char *text = cJSON_PrintUnformatted(o), *name = report_name(h);
	if (text && state_file_write(h->state_dir, name, text) < 0)
		hlog(h, JAUTH_LOG_DEBUG, "cannot note the refused edit in %s",
		     h->state_dir);
	cJSON_free(text);
	cJSON_Delete(o);
	free(name);
}

/* Keeps the old stack and remembers why the new one was refused; logs it
 * once per distinct problem, not once per second. */
static void reload_refused(struct jauth *h, struct problems *p)
{
	char *all = problems_join(p);
	all[strcspn(all, "\n")] = '\0';
	pthread_mutex_lock(&h->mu);
	int same = h->reload_error && strcmp(h->reload_error, all) == 0;
	if (!same) {
		free(h->reload_error);
		h->reload_error = xstrdup(all);
	}
	pthread_mutex_unlock(&h->mu);
	if (!same) {
		hlog(h, JAUTH_LOG_ERROR,
		     "the edited stack is refused; the previous one stays in "
		     "force: %s",
		     all);
		report_refusal(h, all);
	}
	free(all);
}

/* Puts NST in force: new calls run it, calls in flight finish on the old
 * one, which is freed when the last of them lets go. */
static void reload_swap(struct jauth *h, struct stack *nst)
{
	pthread_mutex_lock(&h->mu);
	nst->refs = 1;
	nst->id = ++h->next_stack_id;
	struct stack *old = h->stack;
	h->stack = nst;
	cred_unref(h->cur);
	h->cur = NULL;
	atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
	int refused_before = h->reload_error != NULL;
	free(h->reload_error);
	h->reload_error = NULL;
	struct stack *dead = stack_unref(old);
	pthread_mutex_unlock(&h->mu);
	stack_free(dead);
	if (refused_before) {
		char *name = report_name(h);
		state_file_remove(h->state_dir, name);
		free(name);
	}
	hlog(h, JAUTH_LOG_NOTICE, "stack %s reloaded", nst->file);
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
	pthread_mutex_lock(&h->mu);
	struct stack *st = h->stack;
	st->refs++;
	pthread_mutex_unlock(&h->mu);
	if (stack_changed(h, st)) {
		struct problems p = { 0 };
		struct stack *nst = stack_load(h, h->service, &p);
		if (nst)
			reload_swap(h, nst);
		else
			reload_refused(h, &p);
		problems_free(&p);
	}
	pthread_mutex_lock(&h->mu);
	struct stack *dead = stack_unref(st);
	pthread_mutex_unlock(&h->mu);
	stack_free(dead);
}
