/*
 * handle.c — opening and closing a handle, and each thread's view of it
 * (struct tc): the credential reference the hot path returns and the
 * thread's error text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

time_t handle_now(const struct jauth *h)
{
	return h->clock ? h->clock(h->clock_ctx) : coarse_now();
}

/* Runs when a thread that used the handle exits. */
static void tc_thread_exit(void *p)
{
	struct tc *tc = p;
	struct jauth *h = tc->h;
	pthread_mutex_lock(&h->mu);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		h->tcs = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	cred_unref(tc->cred);
	pthread_mutex_unlock(&h->mu);
	free(tc->err);
	free(tc);
}

struct tc *tc_get(struct jauth *h)
{
	struct tc *tc = pthread_getspecific(h->key);
	if (tc)
		return tc;
	tc = xcalloc(1, sizeof *tc);
	tc->h = h;
	tc->gen = UINT64_MAX; /* never equal to h->gen: first call goes slow */
	if (pthread_setspecific(h->key, tc) != 0) {
		free(tc);
		return NULL;
	}
	pthread_mutex_lock(&h->mu);
	tc->next = h->tcs;
	if (h->tcs)
		h->tcs->prev = tc;
	h->tcs = tc;
	pthread_mutex_unlock(&h->mu);
	return tc;
}

void tc_take(struct tc *tc, struct jauth_cred *c, uint64_t gen)
{
	if (c)
		c->refs++;
	cred_unref(tc->cred);
	tc->cred = c;
	tc->gen = gen;
	tc->fresh_until = c ? c->fresh_until : 0;
}

void handle_set_error(struct jauth *h, const char *msg)
{
	struct tc *tc = tc_get(h);
	if (!tc)
		return;
	free(tc->err);
	tc->err = redact(&h->red, msg ? msg : "");
}

void handle_set_errorf(struct jauth *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	handle_set_error(h, s);
	wipe_free(s);
}

const char *jauth_error(const jauth *h)
{
	if (!h)
		return "no handle: jauth_open ran out of memory";
	struct tc *tc = pthread_getspecific(h->key);
	return tc && tc->err ? tc->err : "";
}

/* Copies the options into H, falling back to the environment. */
static void handle_settings(struct jauth *h, const char *service,
			    const struct jauth_options *opt)
{
	struct jauth_options o = { 0 };
	if (opt)
		memcpy(&o, opt, opt->size < sizeof o ? opt->size : sizeof o);
	h->service = xstrdup(service ? service : "");
	h->conf_path = xstrdup(conf_path_of(o.conf_path));
	h->module_path = xstrdup(module_path_of(o.module_path));
	h->state_dir = state_dir_of(o.state_dir);
	h->log = o.log;
	h->log_ctx = o.log_ctx;
	h->log_level = log_level_of(o.log_level);
	h->clock = o.clock;
	h->clock_ctx = o.clock_ctx;
	h->flags = o.flags;
}

struct jauth *handle_new(const char *service, const struct jauth_options *opt)
{
	struct jauth *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	if (pthread_key_create(&h->key, tc_thread_exit) != 0) {
		free(h);
		return NULL;
	}
	h->key_ok = 1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->run_mu, NULL);
	redactor_init(&h->red);
	handle_settings(h, service, opt);
	atomic_store(&h->next_check, coarse_now() + JAUTH_RELOAD_EVERY);
	return h;
}

jauth_result jauth_open(const char *service, const struct jauth_options *opt,
			jauth **hp)
{
	struct jauth *h = handle_new(service, opt);
	*hp = h;
	if (!h)
		return JAUTH_ERROR;
	if (!service || !service_name_ok(service)) {
		h->dead = 1;
		handle_set_errorf(h,
				  "\"%s\" is not a service name: letters, "
				  "digits, '.', '_', '-', at most 64, no '/'",
				  service ? service : "(null)");
		return JAUTH_CONFIG;
	}
	struct problems p = { 0 };
	h->stack = stack_load(h, service, &p);
	if (!h->stack) {
		h->dead = 1;
		char *all = problems_join(&p);
		all[strcspn(all, "\n")] = '\0';
		handle_set_error(h, all);
		free(all);
		problems_free(&p);
		return JAUTH_CONFIG;
	}
	h->stack->refs = 1;
	h->stack->id = ++h->next_stack_id;
	return JAUTH_SUCCESS;
}

void jauth_close(jauth *h)
{
	if (!h)
		return;
	if (h->key_ok)
		pthread_key_delete(h->key);
	for (struct tc *tc = h->tcs, *next; tc; tc = next) {
		next = tc->next;
		cred_unref(tc->cred);
		free(tc->err);
		free(tc);
	}
	cred_unref(h->cur);
	stack_free(h->stack);
	free(h->round_msg);
	free(h->reload_error);
	free(h->service);
	free(h->conf_path);
	free(h->module_path);
	free(h->state_dir);
	redactor_fini(&h->red);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->run_mu);
	free(h);
}
