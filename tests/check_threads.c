/*
 * check_threads.c — the handle under threads: many acquires of a cached
 * credential agree, and a credential that reaches its refresh time while
 * every thread hammers it is refreshed exactly once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fixture.h"
#include "suites.h"

#define THREADS 4
#define ROUNDS 100000

struct worker {
	jauth *h;
	int bad;	   /* acquires that failed or differed */
	atomic_int *go;	   /* 1: start, 2: stop */
	atomic_long *done; /* acquires so far, all threads */
};

/* Acquires until told to stop, and at least ROUNDS times. */
static void *hammer(void *p)
{
	struct worker *w = p;
	while (!atomic_load(w->go))
		;
	for (int i = 0; i < ROUNDS || atomic_load(w->go) != 2; i++) {
		const jauth_cred *c;
		if (jauth_acquire(w->h, &c) != JAUTH_SUCCESS ||
		    strcmp(jauth_cred_authorization(c), "Test same") != 0)
			w->bad++;
		atomic_fetch_add_explicit(w->done, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Runs THREADS workers; when they are a third of the way through, moves
 * the fake clock to EXPIRE_TO, and lets them go on for a while after. */
static void run_workers(jauth *h, time_t expire_to)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	atomic_int go = 0;
	atomic_long done = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .h = h, .go = &go, .done = &done };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	atomic_store(&go, 1);
	if (expire_to) {
		while (atomic_load(&done) < (long)THREADS * ROUNDS / 3)
			;
		atomic_store(&FX.now, expire_to);
		long at = atomic_load(&done);
		while (atomic_load(&done) < at + THREADS * 1000L)
			;
	}
	atomic_store(&go, 2);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].bad, 0);
	}
}

START_TEST(test_cached_acquires_agree_across_threads)
{
	fx_stack("svc", "required testmod.so token=same counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	run_workers(h, 0);
	/* Stack ran once at first use, perhaps once more to revalidate if
	 * the run took over a minute; never per call. */
	ck_assert_int_le(fx_count(fx_path("c"), 'a'), 2);
	jauth_close(h);
}
END_TEST

START_TEST(test_expiry_under_load_refreshes_once)
{
	time_t t0 = 1800000000;
	fx_clock(t0);
	/* Fresh for 40 s (lifetime 50, leeway 10); the clock jumps to 45 s:
	 * due for refresh, still valid, so nobody waits and one refreshes. */
	fx_stack("svc",
		 "required testmod.so token=same lifetime=50 leeway=10 "
		 "delay_ms=50 counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	run_workers(h, t0 + 45);
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 2);
	jauth_close(h);
}
END_TEST

START_TEST(test_expired_credential_makes_threads_wait_for_one_run)
{
	time_t t0 = 1800000000;
	fx_clock(t0);
	fx_stack("svc",
		 "required testmod.so token=same lifetime=50 leeway=10 "
		 "delay_ms=50 counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	run_workers(h, t0 + 500);
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 2);
	jauth_close(h);
}
END_TEST

static void *acquire_once(void *p)
{
	struct worker *w = p;
	const jauth_cred *c;
	while (!atomic_load(w->go))
		;
	w->bad = jauth_acquire(w->h, &c) == JAUTH_TRANSIENT ? 0 : 1;
	return NULL;
}

START_TEST(test_failure_is_shared_with_waiting_threads)
{
	fx_stack("svc",
		 "required testmod.so acquire=transient delay_ms=200 "
		 "counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	pthread_t t[THREADS];
	struct worker w[THREADS];
	atomic_int go = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .h = h, .go = &go };
		pthread_create(&t[i], NULL, acquire_once, &w[i]);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].bad, 0);
	}
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 1);
	jauth_close(h);
}
END_TEST

Suite *suite_threads(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("hot path");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cached_acquires_agree_across_threads);
	tcase_add_test(tc, test_expiry_under_load_refreshes_once);
	tcase_add_test(tc,
		       test_expired_credential_makes_threads_wait_for_one_run);
	tcase_add_test(tc, test_failure_is_shared_with_waiting_threads);
	suite_add_tcase(s, tc);
	return s;
}
