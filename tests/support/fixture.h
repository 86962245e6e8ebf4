/*
 * fixture.h — what every suite needs: a private temp tree (conf dir, module
 * dir with copies of the built modules, state dir), stacks written into it,
 * a fake clock, a captured log, and small file helpers.
 */
#ifndef JAUTH_TESTS_FIXTURE_H
#define JAUTH_TESTS_FIXTURE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <jauth/jauth.h>

#include "standin.h"

#ifndef JAUTH_TEST_BUILDDIR
#define JAUTH_TEST_BUILDDIR "build"
#endif

struct fx {
	char dir[1024];	      /* mkdtemp root, 0700 */
	char conf[PATH_MAX];  /* DIR/conf */
	char mods[PATH_MAX];  /* DIR/modules: copies of the built modules */
	char state[PATH_MAX]; /* DIR/state */
	struct jauth_options opt;
	_Atomic time_t now; /* the fake clock, when fake_clock is set */
	int fake_clock;
	pthread_mutex_t log_mu;
	char *log; /* every log line, "LEVEL line\n" */
	size_t log_len;
};

/* The fixture of the running test (Check runs each test in its own child). */
extern struct fx FX;

/* Makes the temp tree and options (log captured at debug, fake clock off). */
void fx_setup(void);
/* Removes the temp tree. */
void fx_teardown(void);

/* Writes conf/SERVICE (mode 0644) from a printf format. */
void fx_stack(const char *service, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes PATH with MODE. */
void fx_write(const char *path, int mode, const char *text);
/* Writes N bytes of DATA (which may hold NUL bytes) as conf/SERVICE. */
void fx_stack_bytes(const char *service, const char *data, size_t n);
/* DIR/NAME in a static buffer of the calling thread. */
const char *fx_path(const char *name);
/* Reads a whole file (malloc'd), NULL if missing. */
char *fx_read(const char *path);
/* How many times C occurs in file PATH (0 if missing). */
int fx_count(const char *path, char c);

/* The stand-in of the running test case, started once per case in the
 * runner (tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down))
 * and reset before each test by fx_setup_standin. */
extern struct standin SI;
void fx_standin_up(void);
void fx_standin_down(void);
/* fx_setup, then a clean stand-in (grants, counters, faults, config). */
void fx_setup_standin(void);

/* Opens SERVICE with FX.opt; fails the test unless the result is WANT. */
jauth *fx_open_want(const char *service, jauth_result want);
#define fx_open(service) fx_open_want(service, JAUTH_SUCCESS)
/* Acquires and returns the Authorization value (static per thread), or
 * "" with the result in *rc. */
const char *fx_auth(jauth *h, jauth_result *rc);
/* 1 when the captured log contains S. */
int fx_log_has(const char *s);
/* Runs the jauth CLI of the build with the fixture's -c/-m/-s and ARGS
 * (NULL-terminated), STDIN_TEXT on its standard input (may be NULL).
 * Returns its exit status; *out and *err (malloc'd) hold what it printed. */
int fx_cli(const char *stdin_text, char **out, char **err, ...);
/* The same with an argv array. */
int fx_cli_argv(const char *stdin_text, char **out, char **err,
		char *const argv[]);
/* The fake clock: turns it on at T. */
void fx_clock(time_t t);

/* ---- the oauth3lo grant of the stand-in ---- */

/* Writes conf/svc: one oauth3lo line against the stand-in (client cid, its
 * secret in $CLIENT_SECRET, redirect https://app.example/cb). */
void fx_oauth_stack(void);
/* A whole consent on H: authorize_begin (the test fails unless it
 * succeeds), the stand-in's consent page, authorize_finish. Returns what
 * finish returned. */
jauth_result fx_consent(jauth *h);
/* The grant record of svc/cid in the state dir: its path (static), and its
 * JSON (NULL when missing or not JSON). */
const char *fx_grant_file(void);
cJSON *fx_grant_record(void);
/* GET {base}/rest/api/3/myself with credential C: the HTTP status. */
long fx_myself(const jauth_cred *c);
/* THREADS threads (at most 64) acquire on H at once, released together by a
 * barrier; returns how many got a credential Jira (the stand-in) accepts. */
int fx_storm(jauth *h, int threads);

#endif
