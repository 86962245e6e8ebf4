/*
 * check_threads.c — the handle under threads: many acquires of a cached
 * credential agree, and a credential that reaches its refresh time while
 * every thread hammers it is refreshed exactly once; threads that exit by
 * themselves (detached, pooled) before jauth_close; thousands of handles
 * in one process; a failed round keeps a good credential and backs off;
 * an edit during a slow refresh stalls nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

/* ---- threads that end by themselves ---- */

struct detached {
	jauth *h;
	atomic_int *left; /* threads still to finish their acquires */
	int bad;
};

static void *acquire_and_leave(void *p)
{
	struct detached *d = p;
	const jauth_cred *c;
	if (jauth_acquire(d->h, &c) != JAUTH_SUCCESS)
		d->bad = 1;
	atomic_fetch_sub(d->left, 1);
	return NULL; /* the thread-exit destructor runs after this */
}

/* Detached threads use the handle and exit on their own, their records
 * freed by the thread-exit destructor while (or before) jauth_close runs:
 * nothing is freed twice (ASan/TSan builds see it). */
START_TEST(test_close_after_detached_threads_exited)
{
	fx_stack("svc", "required testmod.so token=same\n");
	for (int round = 0; round < 50; round++) {
		jauth *h = fx_open("svc");
		atomic_int left = THREADS;
		struct detached d[THREADS];
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		for (int i = 0; i < THREADS; i++) {
			pthread_t t;
			d[i] = (struct detached){ .h = h, .left = &left };
			ck_assert_int_eq(pthread_create(&t, &attr,
							acquire_and_leave,
							&d[i]),
					 0);
		}
		pthread_attr_destroy(&attr);
		while (atomic_load(&left) > 0)
			sched_yield();
		jauth_close(h); /* destructors may still be running */
		for (int i = 0; i < THREADS; i++)
			ck_assert_int_eq(d[i].bad, 0);
	}
}
END_TEST

/* A pool's threads outlive the handles they used: after one handle is
 * closed, the next one opened (maybe in the same slot) gets its own
 * records, never the closed handle's. */
struct pool {
	jauth *_Atomic h;
	atomic_int round, done;
	char want[64];
	int bad;
};

static void *pool_worker(void *p)
{
	struct pool *pl = p;
	for (int r = 1; r <= 3; r++) {
		while (atomic_load(&pl->round) < r)
			sched_yield();
		const jauth_cred *c;
		for (int i = 0; i < 1000; i++)
			if (jauth_acquire(atomic_load(&pl->h), &c) !=
				    JAUTH_SUCCESS ||
			    strcmp(jauth_cred_authorization(c), pl->want) != 0)
				pl->bad++;
		atomic_fetch_add(&pl->done, 1);
	}
	return NULL;
}

START_TEST(test_thread_pool_outlives_its_handles)
{
	static struct pool pl;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, pool_worker, &pl),
				 0);
	for (int r = 1; r <= 3; r++) {
		char svc[16];
		snprintf(svc, sizeof svc, "svc%d", r);
		fx_stack(svc, "required testmod.so token=round%d\n", r);
		snprintf(pl.want, sizeof pl.want, "Test round%d", r);
		atomic_store(&pl.h, fx_open(svc));
		atomic_store(&pl.done, 0);
		atomic_store(&pl.round, r);
		while (atomic_load(&pl.done) < THREADS)
			sched_yield();
		jauth_close(atomic_load(&pl.h));
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(pl.bad, 0);
}
END_TEST

/* ---- many handles ---- */

#define HANDLES 2000

/* A connector with one service per customer site: handles are not
 * limited by the process's thread keys (PTHREAD_KEYS_MAX is 1024). */
START_TEST(test_two_thousand_handles_in_one_process)
{
	fx_stack("svc", "required testmod.so token=same\n");
	jauth **h = calloc(HANDLES, sizeof *h);
	for (int i = 0; i < HANDLES; i++) {
		ck_assert_msg(jauth_open("svc", &FX.opt, &h[i]) ==
				      JAUTH_SUCCESS,
			      "handle %d: %s", i + 1, jauth_error(h[i]));
		jauth_result rc;
		ck_assert_str_eq(fx_auth(h[i], &rc), "Test same");
	}
	/* Each still answers from its own records. */
	for (int i = 0; i < HANDLES; i++) {
		jauth_result rc;
		ck_assert_str_eq(fx_auth(h[i], &rc), "Test same");
		ck_assert_str_eq(jauth_error(h[i]), "");
	}
	for (int i = 0; i < HANDLES; i++)
		jauth_close(h[i]);
	free(h);
}
END_TEST

/* ---- a failed round (docs/MODULES.md, "When a round fails") ---- */

#define T0 ((time_t)1800000000)

/* The stack for the rows below: a credential valid for LIFE seconds,
 * fresh for 10 of them, whose next result is the word in the file
 * "result". */
static jauth *failing_later(int life)
{
	fx_clock(T0);
	fx_write(fx_path("result"), 0600, "success\n");
	fx_stack("svc",
		 "required testmod.so token=good lifetime=%d leeway=%d "
		 "result_file=%s\n",
		 life, life - 10, fx_path("result"));
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test good");
	return h;
}

static const struct {
	const char *result;
	jauth_result first, second; /* the re-run, then the retry */
} keep_rows[] = {
	{ "transient", JAUTH_SUCCESS, JAUTH_SUCCESS },
	{ "error", JAUTH_SUCCESS, JAUTH_SUCCESS },
	{ "unavailable", JAUTH_SUCCESS, JAUTH_UNAVAILABLE },
	{ "denied", JAUTH_DENIED, JAUTH_DENIED },
};

/* A re-run that fails transient or error never takes away a credential
 * that has not expired; unavailable gets one retry before it counts;
 * denied fails at once. */
START_TEST(test_failed_rerun_keeps_a_valid_credential)
{
	jauth *h = failing_later(3600);
	fx_write(fx_path("result"), 0600, keep_rows[_i].result);
	atomic_store(&FX.now, T0 + 10); /* due, valid for an hour */
	jauth_result rc;
	const char *got = fx_auth(h, &rc);
	ck_assert_msg(rc == keep_rows[_i].first, "%s: %s (%s)",
		      keep_rows[_i].result, jauth_result_name(rc),
		      jauth_error(h));
	if (rc == JAUTH_SUCCESS)
		ck_assert_str_eq(got, "Test good");
	atomic_store(&FX.now, T0 + 11); /* after the first backoff */
	got = fx_auth(h, &rc);
	ck_assert_msg(rc == keep_rows[_i].second, "%s, retry: %s",
		      keep_rows[_i].result, jauth_result_name(rc));
	if (rc == JAUTH_SUCCESS)
		ck_assert_str_eq(got, "Test good");
	/* once expired, nothing keeps it */
	atomic_store(&FX.now, T0 + 3600);
	ck_assert_int_ne(jauth_acquire(h, &(const jauth_cred *){ 0 }),
			 JAUTH_SUCCESS);
	jauth_close(h);
}
END_TEST

/* The agent case: a secret file removed for a moment (rewritten by an
 * agent) when the credential is due: it keeps serving, and the retry
 * finds the file back. */
START_TEST(test_secret_file_gone_for_a_moment_keeps_the_credential)
{
	fx_clock(T0);
	fx_write(fx_path("secret"), 0600, "s1\n");
	fx_stack("svc",
		 "required testmod.so secret=@file:%s lifetime=9180 "
		 "leeway=9170\n",
		 fx_path("secret"));
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test s1");
	unlink(fx_path("secret"));
	atomic_store(&FX.now, T0 + 10);
	ck_assert_str_eq(fx_auth(h, &rc), "Test s1");
	fx_write(fx_path("secret"), 0600, "s2\n");
	atomic_store(&FX.now, T0 + 11);
	ck_assert_str_eq(fx_auth(h, &rc), "Test s2");
	jauth_close(h);
}
END_TEST

/* A failing line is not run on every acquire: its outcome is reused for
 * 1 s, then 2 s, then 4 s …, and status shows it. A stack edit starts
 * afresh. */
START_TEST(test_failures_back_off)
{
	fx_clock(T0);
	fx_stack("svc", "required testmod.so acquire=transient counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	static const struct {
		time_t at;
		int calls; /* module calls after 50 acquires at AT */
	} rows[] = {
		{ T0, 1 },     { T0 + 1, 2 }, { T0 + 2, 2 },
		{ T0 + 3, 3 }, { T0 + 6, 3 }, { T0 + 7, 4 },
	};
	for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
		atomic_store(&FX.now, rows[r].at);
		for (int i = 0; i < 50; i++) {
			jauth_result rc;
			fx_auth(h, &rc);
			ck_assert_int_eq(rc, JAUTH_TRANSIENT);
			ck_assert_ptr_nonnull(
				strstr(jauth_error(h), "as told"));
		}
		ck_assert_msg(fx_count(fx_path("c"), 'a') == rows[r].calls,
			      "at T0+%lld: %d calls",
			      (long long)(rows[r].at - T0),
			      fx_count(fx_path("c"), 'a'));
	}
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	cJSON *doc = cJSON_Parse(json);
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "failures")->valuedouble, 4);
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "retry_at")->valuedouble,
			 T0 + 7 + 8);
	cJSON_Delete(doc);
	jauth_free(json);
	/* An edit: the new stack runs at once. */
	fx_stack("svc", "required testmod.so token=new counter=%s\n",
		 fx_path("c"));
	jauth_result rc;
	while (strcmp(fx_auth(h, &rc), "Test new") != 0)
		usleep(50 * 1000);
	jauth_close(h);
}
END_TEST

/* A refresh_at in the past does not make every acquire run the stack: it
 * counts as 10 s from the call. */
START_TEST(test_refresh_at_in_the_past_is_clamped)
{
	fx_clock(T0);
	fx_stack("svc",
		 "required testmod.so token=t lifetime=100 leeway=200 "
		 "counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	jauth_result rc;
	for (int i = 0; i < 100; i++)
		ck_assert_str_eq(fx_auth(h, &rc), "Test t");
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 1);
	atomic_store(&FX.now, T0 + 10);
	for (int i = 0; i < 100; i++)
		ck_assert_str_eq(fx_auth(h, &rc), "Test t");
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 2);
	jauth_close(h);
}
END_TEST

/* ---- OAuth against the stand-in ---- */

/* A consented oauth3lo handle, its clock at the consent. */
static jauth *oauth_consented(void)
{
	setenv("CLIENT_SECRET", "csecret", 1);
	fx_clock(time(NULL));
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/oauth/callback\n",
		 SI.url, SI.url, SI.ca);
	jauth *h = fx_open("svc");
	char *url = NULL, *cb;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(cb = standin_consent(&SI, url, NULL));
	ck_assert_msg(jauth_authorize_finish(h, cb, NULL) == JAUTH_SUCCESS,
		      "%s", jauth_error(h));
	jauth_free(url);
	free(cb);
	return h;
}

struct slow {
	jauth *h;
	atomic_int stop, done; /* done: the slow refresh returned */
	atomic_long bad, served;
};

static void *slow_refresher(void *p)
{
	struct slow *sl = p;
	const jauth_cred *c;
	if (jauth_acquire(sl->h, &c) != JAUTH_SUCCESS)
		atomic_fetch_add(&sl->bad, 1);
	atomic_store(&sl->done, 1);
	return NULL;
}

static void *steady(void *p)
{
	struct slow *sl = p;
	const jauth_cred *c;
	while (!atomic_load(&sl->stop)) {
		if (jauth_acquire(sl->h, &c) != JAUTH_SUCCESS)
			atomic_fetch_add(&sl->bad, 1);
		atomic_fetch_add(&sl->served, 1);
		usleep(1000);
	}
	return NULL;
}

/* The token endpoint answers slowly while the token is due but valid:
 * status does not wait for the refresh, an edit to a stack that needs no
 * network serves at once, and no acquire fails meanwhile. */
START_TEST(test_edit_during_a_slow_refresh_stalls_nobody)
{
	static struct slow sl;
	sl.h = oauth_consented();
	jauth_result rc;
	ck_assert_str_ne(fx_auth(sl.h, &rc), "");
	ck_assert_int_eq(standin_fault(&SI, "{\"path\":\"/oauth/token\","
					    "\"delay\":8}"),
			 0);
	atomic_fetch_add(&FX.now, 3600 - 100); /* due, valid 100 s more */
	pthread_t r, w[2];
	pthread_create(&r, NULL, slow_refresher, &sl);
	while (standin_counter(&SI, "faults_served") < 1)
		usleep(10 * 1000);
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, steady, &sl);

	char *json = NULL;
	ck_assert_int_eq(jauth_status(sl.h, &json), JAUTH_SUCCESS);
	ck_assert_int_eq(atomic_load(&sl.done), 0);
	ck_assert_msg(strstr(json, "a refresh is running"), "%s", json);
	jauth_free(json);

	fx_stack("svc", "required testmod.so token=new\n");
	while (strcmp(fx_auth(sl.h, &rc), "Test new") != 0)
		usleep(10 * 1000);
	ck_assert_int_eq(atomic_load(&sl.done), 0); /* still refreshing */
	pthread_join(r, NULL);
	atomic_store(&sl.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	ck_assert_int_eq(atomic_load(&sl.bad), 0);
	ck_assert_int_gt(atomic_load(&sl.served), 0);
	jauth_close(sl.h);
}
END_TEST

/* Gives this test process a mount namespace of its own with a SIZE tmpfs
 * at fx_path(NAME); 0, or -1 when the kernel refuses (no privilege). */
static int private_tmpfs(const char *name, const char *size)
{
	char opts[64];
	snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	mkdir(fx_path(name), 0700);
	return mount("tmpfs", fx_path(name), "tmpfs", 0, opts);
}

/* Fills the filesystem of PATH's directory. */
static void fill(const char *path)
{
	static char junk[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	while (write(fd, junk, sizeof junk) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
}

/* A full state disk does not make a due-but-valid token unservable. */
START_TEST(test_full_state_disk_keeps_a_valid_token)
{
	if (private_tmpfs("small", "256k") != 0) {
		fprintf(stderr, "%s: skipped: cannot mount a tmpfs here (%s)\n",
			__func__, strerror(errno));
		return;
	}
	static char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", fx_path("small"));
	FX.opt.state_dir = dir;
	/* Tokens live 200 s: always due (the refresh leeway is 300 s), so
	 * the CLI, on the real clock, tries to refresh too. */
	ck_assert_int_eq(standin_config(&SI, "{\"expires_in\":200}"), 0);
	jauth *h = oauth_consented();
	jauth_result rc;
	char *before = strdup(fx_auth(h, &rc));
	ck_assert_int_eq(rc, JAUTH_SUCCESS);
	fill(fx_path("small/fill"));
	atomic_fetch_add(&FX.now, 20); /* due again, valid 180 s more */
	const char *now = fx_auth(h, &rc);
	ck_assert_msg(rc == JAUTH_SUCCESS, "%s", jauth_error(h));
	ck_assert_str_eq(now, before);
	jauth_close(h);
	/* A process of its own (the CLI) serves it too. */
	char *out = NULL, *err = NULL;
	ck_assert_msg(fx_cli(NULL, &out, &err, "token", "svc", "--format",
			     "header", (char *)NULL) == 0,
		      "%s", err);
	ck_assert_msg(strstr(out, before), "%s", out);
	free(out);
	free(err);
	free(before);
	umount2(fx_path("small"), MNT_DETACH);
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
	tcase_add_test(tc, test_close_after_detached_threads_exited);
	tcase_add_test(tc, test_thread_pool_outlives_its_handles);
	tcase_add_test(tc, test_two_thousand_handles_in_one_process);
	suite_add_tcase(s, tc);

	tc = tcase_create("failed rounds");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_failed_rerun_keeps_a_valid_credential, 0,
			    sizeof keep_rows / sizeof *keep_rows);
	tcase_add_test(tc,
		       test_secret_file_gone_for_a_moment_keeps_the_credential);
	tcase_add_test(tc, test_failures_back_off);
	tcase_add_test(tc, test_refresh_at_in_the_past_is_clamped);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauth under faults");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, fx_setup_standin, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_edit_during_a_slow_refresh_stalls_nobody);
	tcase_add_test(tc, test_full_state_disk_keeps_a_valid_token);
	suite_add_tcase(s, tc);
	return s;
}
