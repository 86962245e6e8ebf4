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

/*
 * The registry: one thread key for the whole process (handles are not
 * limited by PTHREAD_KEYS_MAX), whose value is the thread's table of
 * records indexed by handle slot. Slots of closed handles are reused. Every
 * link between a record, its thread's table and its handle changes under
 * reg_mu, so the thread-exit destructor and jauth_close never free the same
 * record; reg_mu is taken before any handle's mu.
 */
pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_ok;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *free_slots, next_slot;
static size_t nfree;

/* Frees record TC of a thread that exited or a handle that closes, after
 * unlinking it from both. Under reg_mu. */
static void tc_drop(struct tc *tc)
{
	struct jauth *h = tc->h;
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		h->tcs = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	tc->tls->v[h->slot] = NULL;
	pthread_mutex_lock(&h->mu);
	cred_unref(tc->cred);
	pthread_mutex_unlock(&h->mu);
	free(tc->err);
	free(tc);
}

/* Runs when a thread that used a handle exits. */
static void tls_thread_exit(void *p)
{
	struct tls *t = p;
	pthread_mutex_lock(&reg_mu);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i])
			tc_drop(t->v[i]);
	pthread_mutex_unlock(&reg_mu);
	free(t->v);
	free(t);
}

static void tls_make_key(void)
{
	tls_ok = pthread_key_create(&tls_key, tls_thread_exit) == 0;
}

/* A free slot for a new handle. Under reg_mu. */
static uint32_t slot_take(void)
{
	return nfree ? free_slots[--nfree] : next_slot++;
}

static void slot_give(uint32_t slot)
{
	free_slots = realloc(free_slots, (nfree + 1) * sizeof *free_slots);
	if (!free_slots)
		abort();
	free_slots[nfree++] = slot;
}

/* This thread's table, with room for SLOT; NULL when out of memory. Under
 * reg_mu (jauth_close writes into other threads' tables). */
static struct tls *tls_room(uint32_t slot)
{
	struct tls *t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof *t);
		if (!t || pthread_setspecific(tls_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	if (slot < t->n)
		return t;
	size_t n = t->n ? t->n : 8;
	while (n <= slot)
		n *= 2;
	struct tc **v = realloc(t->v, n * sizeof *v);
	if (!v)
		return NULL;
	memset(v + t->n, 0, (n - t->n) * sizeof *v);
	t->v = v;
	t->n = n;
	return t;
}

struct tc *tc_get(struct jauth *h)
{
	struct tc *tc = tc_find(h->slot);
	if (tc)
		return tc;
	pthread_mutex_lock(&reg_mu);
	struct tls *t = tls_room(h->slot);
	if (t) {
		tc = xcalloc(1, sizeof *tc);
		tc->h = h;
		tc->gen = UINT64_MAX; /* never h->gen: the first call is slow */
		tc->tls = t;
		tc->next = h->tcs;
		if (h->tcs)
			h->tcs->prev = tc;
		h->tcs = tc;
		t->v[h->slot] = tc;
	}
	pthread_mutex_unlock(&reg_mu);
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

void handle_no_place(struct jauth *h, const char *call, const char *what,
		     const char *pass)
{
	handle_set_errorf(h, "%s needs a place for %s: pass %s, not NULL",
			  call, what, pass);
}

const char *jauth_error(const jauth *h)
{
	if (!h)
		return "no handle: jauth_open ran out of memory, or the process "
		       "has no thread key left for libjauth (it needs one, of "
		       "PTHREAD_KEYS_MAX per process)";
	struct tc *tc = tc_find(h->slot);
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
	pthread_once(&tls_once, tls_make_key);
	struct jauth *h = tls_ok ? calloc(1, sizeof *h) : NULL;
	if (!h)
		return NULL;
	pthread_mutex_lock(&reg_mu);
	h->slot = slot_take();
	pthread_mutex_unlock(&reg_mu);
	pthread_mutex_init(&h->mu, NULL);
	redactor_init(&h->red);
	handle_settings(h, service, opt);
	char *why = NULL;
	h->store = store_open(h, NULL, &why); /* files: cannot fail */
	free(why);
	atomic_store(&h->next_check, coarse_now() + JAUTH_RELOAD_EVERY);
	return h;
}

jauth_result jauth_open(const char *service, const struct jauth_options *opt,
			jauth **hp)
{
	if (!hp)
		return JAUTH_ERROR; /* nowhere to put the handle or its error */
	struct jauth *h = handle_new(service, opt);
	*hp = h;
	if (!h)
		return JAUTH_ERROR;
	if (!service) {
		h->dead = 1;
		handle_set_error(h, "no service name given: pass the name of "
				    "a stack, e.g. \"jira\"");
		return JAUTH_CONFIG;
	}
	if (!service_name_ok(service)) {
		h->dead = 1;
		handle_set_errorf(
			h,
			"\"%s\" is not a service name: use 1 to 64 "
			"letters, digits, '.', '_', '-', starting with a "
			"letter or digit, without '/' or '..'",
			service);
		return JAUTH_CONFIG;
	}
	struct problems p = { 0 };
	void *walks = trust_cache_begin();
	h->stack = stack_load(h, service, &p);
	if (h->stack)
		store_warm(h->stack->store ? h->stack->store : h->store);
	trust_cache_end(walks);
	if (!h->stack) {
		h->dead = 1;
		char *all = problems_join(&p);
		all[strcspn(all, "\n")] = '\0';
		handle_set_error(h, all);
		free(all);
		problems_free(&p);
		return JAUTH_CONFIG;
	}
	stack_adopt(h, h->stack);
	return JAUTH_SUCCESS;
}

void jauth_close(jauth *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&reg_mu);
	while (h->tcs)
		tc_drop(h->tcs);
	slot_give(h->slot);
	pthread_mutex_unlock(&reg_mu);
	cred_unref(h->cur);
	stack_put(h, h->stack);
	free(h->round_msg);
	free(h->reload_error);
	free(h->service);
	free(h->conf_path);
	free(h->module_path);
	store_close(h->store);
	free(h->state_dir);
	redactor_fini(&h->red);
	free(h->refused.path);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
