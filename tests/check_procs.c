/*
 * check_procs.c — oauth3lo.so with real processes: a storm of processes
 * and threads at the moment a token needs refreshing (one refresh grant,
 * every caller served), and processes killed with SIGKILL at random
 * points of their refreshes (the grant survives, no replay).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "suites.h"

#define PROCS 8
#define THREADS 4

static time_t T0;

static void setup(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	FX.opt.log = NULL;
	FX.opt.log_level = JAUTH_LOG_ERROR;
	fx_oauth_stack();
}

/* One consent, made in the test process. */
static void consent(void)
{
	jauth *h = fx_open("svc");
	ck_assert_msg(fx_consent(h) == JAUTH_SUCCESS, "%s", jauth_error(h));
	jauth_close(h);
}

/* A process of the storm: opens, waits at the gate, then THREADS callers
 * acquire at once. Exits 0 when all of them were served. */
static void storm_child(int gate)
{
	jauth *h = NULL;
	char byte;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		_exit(2);
	(void)!read(gate, &byte, 1);
	int served = fx_storm(h, THREADS);
	jauth_close(h);
	_exit(served == THREADS ? 0 : 1);
}

/* _i = 0: the token is due for refresh but still valid; 1: expired. */
START_TEST(test_storm_refreshes_once_for_every_process_and_thread)
{
	fx_clock(T0);
	consent();
	fx_clock(_i == 0 ? T0 + 3400 : T0 + 3700);
	int gate[2];
	ck_assert_int_eq(pipe(gate), 0);
	pid_t kids[PROCS];
	for (int i = 0; i < PROCS; i++) {
		if ((kids[i] = fork()) == 0) {
			close(gate[1]);
			storm_child(gate[0]);
		}
	}
	close(gate[0]);
	usleep(300 *
	       1000); /* let them open; the gate makes them start together */
	close(gate[1]);
	for (int i = 0; i < PROCS; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "process %d: %d callers not served", i,
			      WEXITSTATUS(st));
	}
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), 2);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
}
END_TEST

/* A process that refreshes the grant, to be killed at a random moment. */
static pid_t refresher(void)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	jauth *h = NULL;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		_exit(2);
	_exit(jauth_refresh(h, NULL) == JAUTH_SUCCESS ? 0 : 1);
}

START_TEST(test_kill_9_mid_refresh_never_loses_the_grant)
{
	FX.fake_clock = 0; /* real time, as the stand-in keeps it */
	consent();
	srand((unsigned)getpid());
	int finished = 0;
	for (int round = 0; round < 100; round++) {
		/* The answer takes 0–30 ms, so kills land before, during and
		 * after the stand-in rotates the token. */
		char fault[128];
		snprintf(fault, sizeof fault,
			 "{\"path\":\"/oauth/token\",\"delay\":%.3f}",
			 (rand() % 30) / 1000.0);
		standin_fault(&SI, fault);
		pid_t pid = refresher();
		usleep((useconds_t)(rand() % 60000));
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		finished += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		ck_assert_msg(!WIFEXITED(st) || WEXITSTATUS(st) == 0,
			      "round %d: refresh failed (%d)", round,
			      WEXITSTATUS(st));
		standin_request(&SI, "POST", "/_standin/clear_faults", "{}",
				NULL);
	}
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	ck_assert_int_eq(standin_counter(&SI, "revocations"), 0);
	ck_assert_int_gt(standin_counter(&SI, "refresh_grants"), 10);
	printf("kill -9: %d of 100 refreshes finished before the kill, %ld "
	       "reuses of a token whose answer was lost\n",
	       finished, standin_counter(&SI, "reuses"));
	jauth_close(h);
}
END_TEST

Suite *suite_procs(void)
{
	Suite *s = suite_create("oauth3lo.so processes");
	TCase *tc = tcase_create("storm and kill -9");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(
		tc, test_storm_refreshes_once_for_every_process_and_thread, 0,
		2);
	tcase_add_test(tc, test_kill_9_mid_refresh_never_loses_the_grant);
	suite_add_tcase(s, tc);
	return s;
}
