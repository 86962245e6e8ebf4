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
	cr->authorization = xasprintf("%s %s", c->scheme, c->token);
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
	wipe_free(c->authorization);
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

struct stack *stack_unref(struct stack *st)
{
	return st && --st->refs == 0 ? st : NULL;
}

/* 1 when C may still be sent to Jira at NOW (it has not expired). */
static int cred_usable(const struct jauth_cred *c, time_t now)
{
	return c && (c->expires_at == 0 || now < c->expires_at);
}

/* Takes the result of one run of the stack under h->mu: the new current
 * credential (unless the stack was replaced meanwhile) and the round's
 * outcome for the threads that waited on it. */
static void publish(struct jauth *h, struct stack *st, struct run *r,
		    jauth_result rc, struct tc *tc)
{
	struct jauth_cred *c = r->cred;
	if (c) {
		time_t now = handle_now(h), until = now + JAUTH_REVALIDATE;
		c->fresh_until = c->refresh_at && c->refresh_at < until
					 ? c->refresh_at
					 : until;
		c->stack_id = st->id;
		c->refs = 1;
	}
	if (st == h->stack) {
		cred_unref(h->cur);
		h->cur = c ? (c->refs++, c) : NULL;
		atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
	}
	h->round++;
	h->round_rc = rc;
	free(h->round_msg);
	h->round_msg = r->msg ? xstrdup(r->msg) : NULL;
	tc_take(tc, c, atomic_load(&h->gen));
	cred_unref(c);
}

/* Runs the stack for OP with run_mu held and publishes the outcome. */
static jauth_result run_stack(struct jauth *h, enum op op, struct tc *tc)
{
	pthread_mutex_lock(&h->mu);
	struct stack *st = h->stack;
	st->refs++;
	pthread_mutex_unlock(&h->mu);

	static const char *const ops[] = { "acquire", "refresh" };
	hlog(h, JAUTH_LOG_DEBUG, "running the stack of %s for %s", st->file,
	     ops[op == OP_REFRESH]);
	struct run r = { .h = h, .op = op };
	jauth_result rc = dispatch(st, &r);
	if (rc != JAUTH_SUCCESS)
		handle_set_error(h, r.msg);

	pthread_mutex_lock(&h->mu);
	publish(h, st, &r, rc, tc);
	struct stack *dead = stack_unref(st);
	pthread_mutex_unlock(&h->mu);
	stack_free(dead);
	run_clear(&r);
	return rc;
}

/* After waiting for run_mu: if another thread finished a round meanwhile,
 * take its outcome instead of running the stack again. Returns -1 when
 * this thread must run the stack itself. Under h->mu. */
static int outcome_of_round(struct jauth *h, struct tc *tc, uint64_t round,
			    time_t now)
{
	if (h->round == round)
		return -1;
	if (h->round_rc != JAUTH_SUCCESS) {
		handle_set_error(h, h->round_msg);
		return (int)h->round_rc;
	}
	if (!h->cur || now >= h->cur->fresh_until)
		return -1;
	tc_take(tc, h->cur, atomic_load(&h->gen));
	return JAUTH_SUCCESS;
}

static jauth_result dead_handle(struct jauth *h)
{
	struct tc *tc = pthread_getspecific(h->key);
	if (!tc || !tc->err || !*tc->err)
		handle_set_error(h, "this handle failed to open: open it again "
				    "once the stack is fixed");
	return JAUTH_CONFIG;
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
	uint64_t round = h->round;
	struct jauth_cred *c = h->cur;
	if (c && now < c->fresh_until) {
		tc_take(tc, c, atomic_load(&h->gen));
		pthread_mutex_unlock(&h->mu);
		*out = tc->cred;
		return JAUTH_SUCCESS;
	}
	pthread_mutex_unlock(&h->mu);

	if (pthread_mutex_trylock(&h->run_mu) != 0) {
		/* Someone is running the stack: keep the old credential
		 * while it works, else wait for their outcome. */
		pthread_mutex_lock(&h->mu);
		if (cred_usable(h->cur, now)) {
			tc_take(tc, h->cur, atomic_load(&h->gen));
			pthread_mutex_unlock(&h->mu);
			*out = tc->cred;
			return JAUTH_SUCCESS;
		}
		pthread_mutex_unlock(&h->mu);
		pthread_mutex_lock(&h->run_mu);
	}
	/* A run may have finished between the look above and run_mu. */
	pthread_mutex_lock(&h->mu);
	int done = outcome_of_round(h, tc, round, handle_now(h));
	pthread_mutex_unlock(&h->mu);
	if (done >= 0) {
		pthread_mutex_unlock(&h->run_mu);
		*out = done == JAUTH_SUCCESS ? tc->cred : NULL;
		return (jauth_result)done;
	}
	jauth_result rc = run_stack(h, OP_ACQUIRE, tc);
	pthread_mutex_unlock(&h->run_mu);
	*out = rc == JAUTH_SUCCESS ? tc->cred : NULL;
	return rc;
}

jauth_result jauth_acquire(jauth *h, const jauth_cred **out)
{
	struct tc *tc = pthread_getspecific(h->key);
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
	if (h->dead)
		return dead_handle(h);
	if (!(tc = tc_get(h)))
		return JAUTH_ERROR;
	pthread_mutex_lock(&h->run_mu);
	jauth_result rc = run_stack(h, OP_REFRESH, tc);
	pthread_mutex_unlock(&h->run_mu);
	*out = rc == JAUTH_SUCCESS ? tc->cred : NULL;
	return rc;
}

/* Only a report about the credential in force counts: later ones (other
 * threads, or about a token already replaced) would make the module count
 * one rejection twice. */
jauth_result jauth_report(jauth *h, const jauth_cred *cred, int http_status)
{
	if (h->dead)
		return dead_handle(h);
	if (!cred) {
		handle_set_error(h, "jauth_report needs the credential Jira "
				    "rejected");
		return JAUTH_ERROR;
	}
	struct stack *st = NULL;
	struct jauth_m *m = NULL;
	pthread_mutex_lock(&h->run_mu);
	pthread_mutex_lock(&h->mu);
	if (h->cur && (h->cur == cred || strcmp(h->cur->authorization,
						cred->authorization) == 0)) {
		m = h->cur->m;
		cred_unref(h->cur);
		h->cur = NULL;
		atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
		st = h->stack;
		st->refs++;
	}
	pthread_mutex_unlock(&h->mu);
	if (st) {
		hlog(h, JAUTH_LOG_NOTICE, "%s (%s): Jira answered HTTP %d",
		     cred->source, cred->module, http_status);
		m_rejected(m, http_status);
	}
	pthread_mutex_lock(&h->mu);
	struct stack *dead = stack_unref(st);
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_unlock(&h->run_mu);
	stack_free(dead);
	return JAUTH_SUCCESS;
}

const char *jauth_cred_authorization(const jauth_cred *c)
{
	return c->authorization;
}

const char *jauth_cred_scheme(const jauth_cred *c)
{
	return c->scheme;
}

const char *jauth_cred_base_url(const jauth_cred *c)
{
	return c->base_url;
}

time_t jauth_cred_expires_at(const jauth_cred *c)
{
	return c->expires_at;
}

const char *jauth_cred_source(const jauth_cred *c)
{
	return c->source;
}

const char *jauth_cred_module(const jauth_cred *c)
{
	return c->module;
}
