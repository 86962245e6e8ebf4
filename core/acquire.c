/*
 * acquire.c — handing out credentials.
 *
 * The hot path reads only thread-private data and two words of the handle
 * that change when the credential does: a thread keeps a reference to the
 * credential it was last given (struct tc) and reuses it while the handle's
 * generation is unchanged and the credential is fresh. Everything else — a
 * new credential, a refresh, a failure — goes through the slow path, where
 * one thread at a time runs the stack (run_mu) while the others keep the
 * old credential as long as it has not expired.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct jauth_cred *cred_new(const struct jauth_m_cred *c, const char *source,
			    const char *module)
{
	struct jauth_cred *cr = xcalloc(1, sizeof *cr);
	/* Secret memory, taken here at publish time: the hot path only
	 * hands out the pointer. */
	cr->authorization = secmem_join(c->scheme, " ", c->token);
	cr->scheme = xstrdup(c->scheme);
	cr->base_url = xstrdup(c->base_url);
	size_t n = strlen(cr->base_url);
	while (n > 0 && cr->base_url[n - 1] == '/')
		cr->base_url[--n] = '\0';
	cr->source = xstrdup(source);
	cr->module = xstrdup(module);
	cr->expires_at = c->expires_at;
	cr->refresh_at = c->refresh_at ? c->refresh_at : c->expires_at;
	return cr;
}

void cred_free(struct jauth_cred *c)
{
	if (!c)
		return;
	secmem_free(c->authorization);
	free(c->scheme);
	free(c->base_url);
	free(c->source);
	free(c->module);
	free(c);
}

void cred_unref(struct jauth_cred *c)
{
	if (c && --c->refs == 0)
		cred_free(c);
}

void stack_adopt(struct jauth *h, struct stack *st)
{
	st->refs = 1;
	st->id = ++h->next_stack_id;
	pthread_mutex_init(&st->run_mu, NULL);
}

struct stack *stack_get(struct jauth *h)
{
	pthread_mutex_lock(&h->mu);
	struct stack *st = h->stack;
	st->refs++;
	pthread_mutex_unlock(&h->mu);
	return st;
}

struct stack *stack_for_call(struct jauth *h)
{
	reload_check(h);
	return stack_get(h);
}

void stack_put(struct jauth *h, struct stack *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&h->mu);
	int last = --st->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&st->run_mu);
	stack_free(st);
}

/* 1 when C may still be sent to Jira at NOW (it has not expired). */
static int cred_usable(const struct jauth_cred *c, time_t now)
{
	return c && (c->expires_at == 0 || now < c->expires_at);
}

/* Until when the hot path hands out C, published at NOW: its refresh time
 * (but not sooner than JAUTH_RERUN_MIN from now: a refresh_at in the past
 * must not make every call run the stack), at most JAUTH_REVALIDATE, never
 * past its expiry. */
static time_t fresh_until_of(const struct jauth_cred *c, time_t now)
{
	time_t until = now + JAUTH_REVALIDATE;
	if (c->refresh_at && c->refresh_at < until)
		until = c->refresh_at > now + JAUTH_RERUN_MIN
				? c->refresh_at
				: now + JAUTH_RERUN_MIN;
	if (c->expires_at && c->expires_at < until)
		until = c->expires_at;
	return until;
}

void backoff_reset(struct jauth *h)
{
	h->failures = 0;
	h->retry_at = 0;
	h->round_rc = JAUTH_SUCCESS;
}

/* Notes a failed round at NOW: the next one waits 1 s, 2 s, 4 s … up to
 * JAUTH_BACKOFF_MAX, so a failing line is not run on every acquire. */
static void backoff_note(struct jauth *h, time_t now)
{
	time_t wait = (time_t)1 << (h->failures < 8 ? h->failures : 8);
	h->failures++;
	h->retry_at =
		now + (wait < JAUTH_BACKOFF_MAX ? wait : JAUTH_BACKOFF_MAX);
}

/*
 * Whether the credential in force keeps serving after a round that failed
 * with RC (docs/MODULES.md, "When a round fails"): only while it has not
 * expired; never after denied (the server or the clock says it is bad);
 * always after transient and error; after unavailable once — a source
 * that was there a moment ago (a file being rewritten) gets one retry
 * before it counts. Under h->mu, before round_rc takes RC.
 */
static int keeps_serving(const struct jauth *h, jauth_result rc, time_t now)
{
	if (!cred_usable(h->cur, now))
		return 0;
	return rc == JAUTH_TRANSIENT || rc == JAUTH_ERROR ||
	       (rc == JAUTH_UNAVAILABLE && h->round_rc != JAUTH_UNAVAILABLE);
}

static void cur_set(struct jauth *h, struct jauth_cred *c)
{
	if (c)
		c->refs++;
	cred_unref(h->cur);
	h->cur = c;
	atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
}

/* A failed round RC of the live stack: the credential in force keeps
 * serving until the retry time (*kept says so, for the log), or is
 * dropped. Returns what an acquire gets. Under h->mu. */
static jauth_result publish_failure(struct jauth *h, struct run *r,
				    jauth_result rc, struct tc *tc, time_t now,
				    char **kept)
{
	int keep = keeps_serving(h, rc, now);
	h->round_rc = rc;
	free(h->round_msg);
	h->round_msg = r->msg ? xstrdup(r->msg) : NULL;
	backoff_note(h, now);
	if (!keep) {
		if (h->cur)
			cur_set(h, NULL);
		tc_take(tc, NULL, atomic_load(&h->gen));
		return rc;
	}
	struct jauth_cred *c = h->cur;
	c->fresh_until = c->expires_at && c->expires_at < h->retry_at
				 ? c->expires_at
				 : h->retry_at;
	tc_take(tc, c, atomic_load(&h->gen));
	*kept = xasprintf("%s; the credential in force (%s) has not expired "
			  "and keeps serving; next try in %lld s",
			  r->msg ? r->msg : jauth_result_name(rc), c->source,
			  (long long)(h->retry_at - now));
	return JAUTH_SUCCESS;
}

/* Takes the result of one run of stack ST under h->mu: the new current
 * credential, or the failure with its backoff, for this thread and the
 * ones that waited on the round. A round of a stack replaced meanwhile
 * decides nothing: its caller gets its credential, or the one in force.
 * Returns what an acquire gets. */
static jauth_result publish(struct jauth *h, struct stack *st, struct run *r,
			    jauth_result rc, struct tc *tc, char **kept)
{
	time_t now = handle_now(h);
	struct jauth_cred *c = r->cred;
	r->cred = NULL;
	if (c) {
		c->fresh_until = fresh_until_of(c, now);
		c->stack_id = st->id;
		c->refs = 1;
	}
	if (st != h->stack) {
		if (!c && cred_usable(h->cur, now))
			c = (h->cur->refs++, h->cur);
		tc_take(tc, c, UINT64_MAX); /* next call: the live stack */
		cred_unref(c);
		return c ? JAUTH_SUCCESS : rc;
	}
	h->round++;
	if (rc != JAUTH_SUCCESS)
		return publish_failure(h, r, rc, tc, now, kept);
	backoff_reset(h);
	free(h->round_msg);
	h->round_msg = NULL;
	cur_set(h, c);
	tc_take(tc, c, atomic_load(&h->gen));
	cred_unref(c);
	return JAUTH_SUCCESS;
}

/* Runs ST for OP with its run_mu held and publishes the outcome. Returns
 * the stack's result for a refresh, what an acquire gets otherwise. */
static jauth_result run_stack(struct jauth *h, struct stack *st, enum op op,
			      struct tc *tc)
{
	static const char *const ops[] = { "acquire", "refresh" };
	hlog(h, JAUTH_LOG_DEBUG, "running the stack of %s for %s", st->file,
	     ops[op == OP_REFRESH]);
	struct run r = { .h = h, .op = op };
	char *kept = NULL;
	jauth_result rc = dispatch(st, &r);
	if (rc == JAUTH_ERROR && r.config)
		rc = JAUTH_CONFIG;
	pthread_mutex_lock(&h->mu);
	jauth_result got = publish(h, st, &r, rc, tc, &kept);
	pthread_mutex_unlock(&h->mu);
	if (kept)
		hlog(h, JAUTH_LOG_WARN, "%s", kept);
	wipe_free(kept);
	if (op == OP_REFRESH)
		got = rc;
	if (got != JAUTH_SUCCESS)
		handle_set_error(h, r.msg);
	run_clear(&r);
	secmem_scrub_registers(); /* the credential was copied */
	return got;
}

/* What this thread gets without running the stack, under h->mu: the
 * credential in force while it is fresh and from the live stack; while a
 * failed round's backoff lasts, the credential in force if it has not
 * expired, else that round's failure. -1: the stack must run. */
static int served_now(struct jauth *h, struct tc *tc, time_t now)
{
	struct jauth_cred *c = h->cur;
	if (c && c->stack_id == h->stack->id && now < c->fresh_until) {
		tc_take(tc, c, atomic_load(&h->gen));
		return JAUTH_SUCCESS;
	}
	if (now >= h->retry_at)
		return -1;
	if (cred_usable(c, now)) {
		tc_take(tc, c, atomic_load(&h->gen));
		return JAUTH_SUCCESS;
	}
	handle_set_error(h, h->round_msg);
	return (int)h->round_rc;
}

/* After waiting for run_mu: if another thread finished a round meanwhile,
 * take its outcome instead of running the stack again. Returns -1 when
 * this thread must run the stack itself. Under h->mu. */
static int outcome_of_round(struct jauth *h, struct tc *tc, uint64_t round,
			    time_t now)
{
	if (h->round == round)
		return -1;
	return served_now(h, tc, now);
}

static jauth_result dead_handle(struct jauth *h)
{
	struct tc *tc = tc_find(h->slot);
	if (!tc || !tc->err || !*tc->err)
		handle_set_error(h, "this handle failed to open: open it again "
				    "once the stack is fixed");
	return JAUTH_CONFIG;
}

/* Runs ST (taken at ROUND) unless another thread is at it: then the
 * credential in force serves while it has not expired, else this thread
 * waits for that round's outcome. */
static jauth_result run_or_wait(struct jauth *h, struct stack *st,
				struct tc *tc, uint64_t round, time_t now)
{
	if (pthread_mutex_trylock(&st->run_mu) != 0) {
		pthread_mutex_lock(&h->mu);
		int usable = cred_usable(h->cur, now);
		if (usable)
			tc_take(tc, h->cur, atomic_load(&h->gen));
		pthread_mutex_unlock(&h->mu);
		if (usable)
			return JAUTH_SUCCESS;
		pthread_mutex_lock(&st->run_mu);
	}
	/* A run may have finished between the look above and run_mu. */
	pthread_mutex_lock(&h->mu);
	int done = outcome_of_round(h, tc, round, handle_now(h));
	pthread_mutex_unlock(&h->mu);
	if (done < 0)
		done = run_stack(h, st, OP_ACQUIRE, tc);
	pthread_mutex_unlock(&st->run_mu);
	return (jauth_result)done;
}

static jauth_result acquire_slow(struct jauth *h, struct tc *tc,
				 const jauth_cred **out)
{
	if (h->dead)
		return dead_handle(h);
	if (!tc && !(tc = tc_get(h)))
		return JAUTH_ERROR;
	reload_check(h);
	time_t now = handle_now(h);
	pthread_mutex_lock(&h->mu);
	int rc = served_now(h, tc, now);
	uint64_t round = h->round;
	struct stack *st = h->stack;
	st->refs++;
	pthread_mutex_unlock(&h->mu);
	if (rc < 0)
		rc = run_or_wait(h, st, tc, round, now);
	stack_put(h, st);
	*out = rc == JAUTH_SUCCESS ? tc->cred : NULL;
	return (jauth_result)rc;
}

jauth_result jauth_acquire(jauth *h, const jauth_cred **out)
{
	if (!handle_and_out(h, out, "jauth_acquire", "the credential",
			    "&cred"))
		return JAUTH_ERROR;
	struct tc *tc = tc_find(h->slot);
	if (tc &&
	    tc->gen == atomic_load_explicit(&h->gen, memory_order_acquire)) {
		time_t real = coarse_now();
		time_t now = h->clock ? h->clock(h->clock_ctx) : real;
		if (now < tc->fresh_until &&
		    real < atomic_load_explicit(&h->next_check,
						memory_order_relaxed)) {
			*out = tc->cred;
			return JAUTH_SUCCESS;
		}
	}
	*out = NULL;
	return acquire_slow(h, tc, out);
}

jauth_result jauth_refresh(jauth *h, const jauth_cred **out)
{
	const jauth_cred *dummy;
	struct tc *tc;
	if (!out)
		out = &dummy;
	*out = NULL;
	if (!h)
		return JAUTH_ERROR;
	if (h->dead)
		return dead_handle(h);
	if (!(tc = tc_get(h)))
		return JAUTH_ERROR;
	struct stack *st = stack_for_call(h);
	pthread_mutex_lock(&st->run_mu);
	jauth_result rc = run_stack(h, st, OP_REFRESH, tc);
	pthread_mutex_unlock(&st->run_mu);
	stack_put(h, st);
	*out = rc == JAUTH_SUCCESS ? tc->cred : NULL;
	return rc;
}

/* Only a report about the credential in force counts: later ones (other
 * threads, or about a token already replaced) would make the module count
 * one rejection twice. */
jauth_result jauth_report(jauth *h, const jauth_cred *cred, int http_status)
{
	if (!h)
		return JAUTH_ERROR;
	if (h->dead)
		return dead_handle(h);
	if (!cred) {
		handle_set_error(h, "jauth_report needs the credential Jira "
				    "rejected");
		return JAUTH_ERROR;
	}
	if (http_status != 401 && http_status != 403 && http_status != 404) {
		handle_set_errorf(
			h,
			"jauth_report: HTTP %d is no rejection; report "
			"only 401, 403 or 404 (the credential is kept)",
			http_status);
		return JAUTH_ERROR;
	}
	struct stack *st = stack_get(h);
	struct jauth_m *m = NULL;
	int reported = 0;
	pthread_mutex_lock(&st->run_mu);
	pthread_mutex_lock(&h->mu);
	if (h->cur && (h->cur == cred || strcmp(h->cur->authorization,
						cred->authorization) == 0)) {
		/* The module of a replaced stack is gone with it. */
		m = h->cur->stack_id == st->id ? h->cur->m : NULL;
		cur_set(h, NULL);
		backoff_reset(h);
		reported = 1;
	}
	pthread_mutex_unlock(&h->mu);
	if (reported)
		hlog(h, JAUTH_LOG_NOTICE, "%s (%s): Jira answered HTTP %d",
		     cred->source, cred->module, http_status);
	if (m)
		m_rejected(m, http_status);
	pthread_mutex_unlock(&st->run_mu);
	stack_put(h, st);
	return JAUTH_SUCCESS;
}

/* The accessors give "" (0) for no credential: a failed acquire sets
 * *cred to NULL, and a caller that reads it anyway gets no crash. */
const char *jauth_cred_authorization(const jauth_cred *c)
{
	return c ? c->authorization : "";
}

const char *jauth_cred_scheme(const jauth_cred *c)
{
	return c ? c->scheme : "";
}

const char *jauth_cred_base_url(const jauth_cred *c)
{
	return c ? c->base_url : "";
}

time_t jauth_cred_expires_at(const jauth_cred *c)
{
	return c ? c->expires_at : 0;
}

const char *jauth_cred_source(const jauth_cred *c)
{
	return c ? c->source : "";
}

const char *jauth_cred_module(const jauth_cred *c)
{
	return c ? c->module : "";
}
