/*
 * check_pgsql.c — the shared store on a real PostgreSQL 15 (started by the
 * suite: tests/support/pgserver.c): one grant for a fleet of hosts, one
 * refresh at a time fleet-wide, nothing lost to kill -9, a crashed
 * server or a stopped holder, the refusals of jauth.conf(5), migration
 * from the file store. A "host" is a process with its own state dir.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "pgserver.h"
#include "suites.h"

#define HOSTS 8
#define THREADS 4

static struct pgserver PG;
static time_t T0;
static char PWFILE[PATH_MAX + 16];

static int PG_UP; /* pgserver_start succeeded (in the runner) */

static void pg_up(void)
{
	fx_standin_up();
	PG_UP = pgserver_start(&PG, SI.dir) == 0;
}

static void pg_down(void)
{
	pgserver_destroy(&PG);
	fx_standin_down();
}

/* The schema, from the file `make install` ships. */
static void schema(void)
{
	char *sql = fx_read(JAUTH_TEST_SRCDIR "/../core/store/pgsql.sql");
	ck_assert_ptr_nonnull(sql);
	ck_assert_int_eq(pgserver_sql(&PG, sql, NULL), 0);
	free(sql);
}

/* The stack of service svc: `store pgsql CONNINFO password=@file:…
 * OPTIONS` and an oauth3lo.so line against the stand-in. */
static void pg_stack(const char *conninfo, const char *options)
{
	fx_stack("svc",
		 "store pgsql \"%s\" password=@file:%s %s\n"
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/cb\n",
		 conninfo, PWFILE, options ? options : "", SI.url, SI.url,
		 SI.ca);
}

static void setup(void)
{
	ck_assert_msg(PG_UP,
		      "PostgreSQL 15 did not start (" PG_BIN
		      "/initdb, pg_ctl; see the messages above): mk/deps.sh "
		      "installs postgresql-15");
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	if (pgserver_sql(&PG, "SELECT 1", NULL) < 0)
		ck_assert_int_eq(pgserver_restart(&PG), 0);
	ck_assert_int_eq(pgserver_sql(&PG, "DROP TABLE IF EXISTS jauth_record",
				      NULL),
			 0);
	schema();
	ck_assert_int_eq(
		pgserver_sql(&PG, "GRANT ALL ON jauth_record TO jauth_async",
			     NULL),
		0);
	snprintf(PWFILE, sizeof PWFILE, "%s/db-password", FX.dir);
	fx_write(PWFILE, 0600, PG.password);
	pg_stack(PG.conninfo, NULL);
}

/* Options for host I: its own state directory, errors only. */
static struct jauth_options host(int i)
{
	static __thread char dir[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/host%d", FX.dir, i);
	mkdir(dir, 0700);
	struct jauth_options o = FX.opt;
	o.state_dir = dir;
	o.log = NULL;
	o.log_level = JAUTH_LOG_ERROR;
	return o;
}

/* A handle on svc for host I, or NULL when it does not open. */
static jauth *host_open(int i)
{
	struct jauth_options o = host(i);
	jauth *h = NULL;
	if (jauth_open("svc", &o, &h) == JAUTH_SUCCESS)
		return h;
	jauth_close(h);
	return NULL;
}

/* One consent, on host 0. */
static void consent(void)
{
	jauth *h = host_open(0);
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(fx_consent(h) == JAUTH_SUCCESS, "%s", jauth_error(h));
	jauth_close(h);
}

/* 1 when Jira (the stand-in) accepts credential C. */
static int accepted(const jauth_cred *c)
{
	return fx_myself(c) == 200;
}

/* The value of SQL's first column (static), "" when none. */
static const char *sql1(const char *sql)
{
	static char v[4096];
	char *out = NULL;
	ck_assert_int_eq(pgserver_sql(&PG, sql, &out), 0);
	snprintf(v, sizeof v, "%s", out ? out : "");
	free(out);
	return v;
}

static const char *rec_field(const char *field)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT record::json->>'%s' FROM jauth_record WHERE "
		 "service = 'svc'",
		 field);
	return sql1(sql);
}

/* ---- libpq only when a stack asks for it ---- */

START_TEST(test_libjauth_does_not_link_libpq)
{
	FILE *p = popen("readelf -d " JAUTH_TEST_BUILDDIR "/lib/libjauth.so.1",
			"r");
	char line[512];
	int needed = 0;
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof line, p)) {
		needed += strstr(line, "NEEDED") != NULL;
		ck_assert_msg(!strstr(line, "libpq"), "%s", line);
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_gt(needed, 0);
}
END_TEST

/* _i = 0: a file-store stack maps no libpq; 1: a pgsql stack does. */
START_TEST(test_libpq_is_loaded_only_for_a_pgsql_stack)
{
	char *out, *err;
	if (_i == 0)
		fx_stack("svc", "required oauth3lo.so client_id=cid "
				"client_secret=@env:CLIENT_SECRET "
				"redirect_uri=https://app.example/cb\n");
	setenv("LD_DEBUG", "libs", 1);
	fx_cli(NULL, &out, &err, "token", "svc", NULL);
	unsetenv("LD_DEBUG");
	ck_assert_msg((strstr(err, "libpq.so") != NULL) == _i,
		      "libpq %s: %.300s", _i ? "not loaded" : "loaded", err);
	free(out);
	free(err);
}
END_TEST

/* ---- refused at open, each with FILE:LINE ---- */

static const struct {
	const char *conninfo_tail, *want;
} open_refusals[] = {
	{ "sslmode=disable", "sslmode=disable to a TCP host" },
	{ "sslmode=allow", "sslmode=allow to a TCP host" },
	{ "sslmode=prefer", "sslmode=prefer to a TCP host" },
	{ "sslmode=require", "sslmode=require to a TCP host" },
	{ "sslmode=verify-ca", "sslmode=verify-ca to a TCP host" },
	{ "password=hunter2", "holds the password" },
	{ "nonsense", "does not parse" },
};

START_TEST(test_unsafe_connection_refused_at_open)
{
	char conninfo[8192], want[PATH_MAX + 32];
	snprintf(conninfo, sizeof conninfo,
		 "host=127.0.0.1 port=%d dbname=jauth user=jauth %s", PG.port,
		 open_refusals[_i].conninfo_tail);
	pg_stack(conninfo, NULL);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	snprintf(want, sizeof want, "%s/svc:1: store pgsql: ", FX.conf);
	ck_assert_msg(strstr(jauth_error(h), want), "%s", jauth_error(h));
	ck_assert_msg(strstr(jauth_error(h), open_refusals[_i].want), "%s",
		      jauth_error(h));
	ck_assert(!strstr(jauth_error(h), "hunter2"));
	jauth_close(h);
}
END_TEST

/* password= of the store line is a secret as jauth.conf(5), SECRETS says:
 * a reference jauth knows, or inline only in a stack others cannot read
 * (fx_stack writes 0644). */
static const struct {
	const char *password, *want;
} password_refusals[] = {
	{ "hunter2", "is written inline in a stack file that group or others "
		     "can read" },
	{ "@vault:x", "a reference jauth does not know" },
	{ "@file:relative/pw", "@file: needs an absolute path" },
	{ "@env:1X", "@env: needs a variable name" },
};

START_TEST(test_store_password_is_held_to_the_secret_rules)
{
	char *out, *err, want[PATH_MAX + 32];
	fx_stack("svc",
		 "store pgsql \"host=db.example dbname=jauth\" password=%s\n"
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET "
		 "redirect_uri=https://app.example/cb\n",
		 password_refusals[_i].password);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	snprintf(want, sizeof want, "%s/svc:1: store password= ", FX.conf);
	ck_assert_msg(strstr(jauth_error(h), want), "%s", jauth_error(h));
	ck_assert_msg(strstr(jauth_error(h), password_refusals[_i].want), "%s",
		      jauth_error(h));
	ck_assert(!strstr(jauth_error(h), "hunter2"));
	jauth_close(h);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "lint", "svc", NULL), 2);
	ck_assert_msg(strstr(out, want), "%s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_lint_reports_the_store_line)
{
	char conninfo[8192], *out, *err, want[PATH_MAX + 32];
	snprintf(conninfo, sizeof conninfo,
		 "host=db.example dbname=jauth sslmode=require");
	pg_stack(conninfo, "lock_timeout=0");
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "lint", "svc", NULL), 2);
	snprintf(want, sizeof want, "%s/svc:1: store pgsql: ", FX.conf);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_msg(strstr(out, "lock_timeout=SECONDS"), "%s", out);
	free(out);
	free(err);
	pg_stack(conninfo, NULL);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "lint", "svc", NULL), 2);
	ck_assert_msg(strstr(out, "sslmode=require to a TCP host"), "%s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_store_files_is_the_default_named)
{
	fx_stack("svc", "store files\n"
			"required oauth3lo.so client_id=cid "
			"client_secret=@env:CLIENT_SECRET "
			"redirect_uri=https://app.example/cb\n");
	jauth *h = fx_open("svc");
	jauth_close(h);
	fx_stack("svc", "store files\nstore files\n"
			"required oauth3lo.so client_id=cid "
			"client_secret=@env:CLIENT_SECRET "
			"redirect_uri=https://app.example/cb\n");
	h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "svc:2: a second store"), "%s",
		      jauth_error(h));
	jauth_close(h);
	fx_stack("svc", "store redis \"host=x\"\n"
			"required oauth3lo.so client_id=cid "
			"client_secret=@env:CLIENT_SECRET "
			"redirect_uri=https://app.example/cb\n");
	h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "svc:1: write \"store files\""),
		      "%s", jauth_error(h));
	jauth_close(h);
	fx_stack("sub", "store files\n"
			"required oauth3lo.so client_id=cid "
			"client_secret=@env:CLIENT_SECRET "
			"redirect_uri=https://app.example/cb\n");
	fx_stack("svc", "substack sub\n");
	h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "sub:1: a store directive in a "
					     "substack's file"),
		      "%s", jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_unix_socket_may_go_without_tls)
{
	char conninfo[8192];
	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%d dbname=jauth user=jauth sslmode=disable",
		 PG.dir, PG.port);
	pg_stack(conninfo, NULL);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE); /* no grant yet */
	ck_assert_msg(strstr(jauth_error(h), "jauth authorize"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

/* libpq's own conventions: a service file names the server, ~/.pgpass
 * holds the password; the stack says only "service=jauth". */
START_TEST(test_service_file_and_pgpass_keep_working)
{
	char path[PATH_MAX + 32], text[2048];
	snprintf(path, sizeof path, "%s/pg_service.conf", FX.dir);
	snprintf(text, sizeof text,
		 "[jauth]\nhost=127.0.0.1\nport=%d\ndbname=jauth\n"
		 "user=jauth\nsslrootcert=%s\n",
		 PG.port, PG.ca);
	fx_write(path, 0644, text);
	setenv("PGSERVICEFILE", path, 1);
	snprintf(path, sizeof path, "%s/.pgpass", FX.dir);
	snprintf(text, sizeof text, "127.0.0.1:%d:jauth:jauth:%s\n", PG.port,
		 PG.password);
	fx_write(path, 0600, text);
	setenv("HOME", FX.dir, 1);
	fx_stack("svc",
		 "store pgsql \"service=jauth\"\n"
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/cb\n",
		 SI.url, SI.url, SI.ca);
	consent();
	ck_assert_str_ne(rec_field("refresh_token"), "");
	/* The rule holds for what the service file chose, too. */
	snprintf(path, sizeof path, "%s/pg_service.conf", FX.dir);
	snprintf(text, sizeof text,
		 "[jauth]\nhost=127.0.0.1\nport=%d\ndbname=jauth\n"
		 "user=jauth\nsslmode=require\n",
		 PG.port);
	fx_write(path, 0644, text);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "root certificate") ||
			      strstr(jauth_error(h), "not verified TLS"),
		      "%s", jauth_error(h));
	jauth_close(h);
}
END_TEST

/* ---- refused at the first connection: config errors, not transient ---- */

enum refusal { R_FSYNC, R_SYNC_COMMIT, R_PASSWORD, R_CA, R_NO_TABLE };

static const struct {
	enum refusal what;
	const char *want, *fix; /* what libpq says; what jauth says to do */
} connect_refusals[] = {
	{ R_FSYNC, "fsync=off", NULL },
	{ R_SYNC_COMMIT, "synchronous_commit=off", NULL },
	{ R_PASSWORD, "password authentication failed",
	  ": check the store line's password=" },
	{ R_CA, "certificate verify failed",
	  ": set sslrootcert= in the store line" },
	{ R_NO_TABLE, "run `jauth store init svc`", NULL },
};

/* Sets fsync for new sessions (ALTER SYSTEM + reload), waiting until a
 * new session sees it. */
static void set_fsync(const char *v)
{
	char sql[64];
	snprintf(sql, sizeof sql, "ALTER SYSTEM SET fsync = %s", v);
	ck_assert_int_eq(pgserver_sql(&PG, sql, NULL), 0);
	ck_assert_int_eq(pgserver_sql(&PG, "SELECT pg_reload_conf()", NULL), 0);
	while (strcmp(sql1("SHOW fsync"), v) != 0)
		usleep(10000);
}

START_TEST(test_unsafe_server_refused_as_config_error)
{
	char conninfo[8192];
	enum refusal what = connect_refusals[_i].what;
	snprintf(conninfo, sizeof conninfo, "%s", PG.conninfo);
	if (what == R_FSYNC)
		set_fsync("off");
	if (what == R_SYNC_COMMIT)
		snprintf(conninfo, sizeof conninfo,
			 "host=127.0.0.1 port=%d dbname=jauth "
			 "user=jauth_async sslrootcert=%s",
			 PG.port, PG.ca);
	if (what == R_PASSWORD)
		fx_write(PWFILE, 0600, "not-the-password");
	if (what == R_CA)
		snprintf(conninfo, sizeof conninfo,
			 "host=127.0.0.1 port=%d dbname=jauth user=jauth "
			 "sslrootcert=%s",
			 PG.port, SI.other_ca);
	if (what == R_NO_TABLE)
		pgserver_sql(&PG, "DROP TABLE jauth_record", NULL);
	pg_stack(conninfo, NULL);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	const char *e = jauth_error(h);
	if (what == R_FSYNC)
		set_fsync("on");
	ck_assert_msg(rc == JAUTH_ERROR, "result %d: %s", rc, e);
	ck_assert_msg(strstr(e, connect_refusals[_i].want), "%s", e);
	ck_assert_msg(!connect_refusals[_i].fix ||
			      strstr(e, connect_refusals[_i].fix),
		      "%s", e);
	ck_assert_msg(strstr(e, "the store ("), "%s", e);
	ck_assert(!strstr(e, PG.password));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), 0);
	jauth_close(h);
}
END_TEST

START_TEST(test_allow_nondurable_accepts_a_test_rig)
{
	char conninfo[8192];
	snprintf(conninfo, sizeof conninfo,
		 "host=127.0.0.1 port=%d dbname=jauth user=jauth_async "
		 "sslrootcert=%s",
		 PG.port, PG.ca);
	pg_stack(conninfo, "allow_nondurable=1");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_msg(rc == JAUTH_UNAVAILABLE, "%d: %s", rc, jauth_error(h));
	jauth_close(h);
}
END_TEST

/* ---- schema and consent ---- */

START_TEST(test_store_init_creates_the_table_once)
{
	char *out, *err;
	/* Under ASan, gcc 12's LeakSanitizer crashes in its own tracer
	 * (SIGSEGV, exit 1) at the exit of `jauth store init`, in its scan
	 * of thread-local storage (use_tls=0 avoids it) of the libraries
	 * libpq brings in. So these CLI processes are scanned without it:
	 * what is reachable only from a thread's own storage (Kerberos's
	 * per-thread data, jauth's per-thread view of a handle) then looks
	 * lost and is suppressed (tests/lsan.supp); any other leak is still
	 * found. No effect on other builds. */
	setenv("LSAN_OPTIONS",
	       "use_tls=0:suppressions=" JAUTH_TEST_SRCDIR "/lsan.supp", 1);
	pgserver_sql(&PG, "DROP TABLE jauth_record", NULL);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "init", "svc", NULL),
			 0);
	ck_assert_msg(strstr(out, "jauth_record is ready"), "%s%s", out, err);
	free(out);
	free(err);
	ck_assert_str_eq(sql1("SELECT to_regclass('jauth_record') IS NOT "
			      "NULL"),
			 "t");
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "init", "svc", NULL),
			 0);
	free(out);
	free(err);
	fx_stack("svc", "required oauth3lo.so client_id=cid "
			"client_secret=@env:CLIENT_SECRET "
			"redirect_uri=https://app.example/cb\n");
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "init", "svc", NULL),
			 2);
	ck_assert_msg(strstr(err, "keeps its records in files"), "%s", err);
	free(out);
	free(err);
	unsetenv("LSAN_OPTIONS");
}
END_TEST

START_TEST(test_consent_on_one_host_serves_every_host)
{
	consent();
	jauth *h = host_open(1);
	const jauth_cred *c;
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_acquire(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 1);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 0);
	ck_assert_str_eq(
		sql1("SELECT count(*) FROM jauth_record WHERE record IS NOT NULL"),
		"1");
	/* No host keeps the refresh token on its disk. */
	char path[PATH_MAX + 64];
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/host%d/svc.oauth3lo.cid.json",
			 FX.dir, i);
		ck_assert_int_ne(access(path, F_OK), 0);
	}
	jauth_close(h);
}
END_TEST

START_TEST(test_revoke_on_one_host_forgets_the_grant_for_all)
{
	consent();
	jauth *h1 = host_open(1), *h0 = host_open(0);
	const jauth_cred *c;
	char *steps = NULL, cache[PATH_MAX + 64];
	ck_assert_ptr_nonnull(h1);
	ck_assert_ptr_nonnull(h0);
	ck_assert_int_eq(jauth_acquire(h1, &c), JAUTH_SUCCESS);
	snprintf(cache, sizeof cache, "%s/host1/svc.oauth3lo.cid.cache.json",
		 FX.dir);
	ck_assert_int_eq(access(cache, F_OK), 0);
	ck_assert_msg(jauth_revoke(h0, &steps) == JAUTH_SUCCESS, "%s",
		      jauth_error(h0));
	jauth_free(steps);
	jauth_close(h0);
	jauth_close(h1);
	h1 = host_open(1);
	jauth_result rc;
	fx_auth(h1, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_msg(strstr(jauth_error(h1), "jauth authorize"), "%s",
		      jauth_error(h1));
	/* Nor does host 1 keep the revoked grant's token for an outage. */
	ck_assert_int_ne(access(cache, F_OK), 0);
	jauth_close(h1);
}
END_TEST

START_TEST(test_status_shows_store_generation_and_last_writer)
{
	consent();
	char *out, *err;
	struct jauth_options o = host(0);
	FX.opt.state_dir = o.state_dir;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc", "--json",
				NULL),
			 0);
	cJSON *j = cJSON_Parse(out);
	const cJSON *st = cJSON_GetObjectItem(j, "store");
	ck_assert_msg(st, "%s", out);
	ck_assert_str_eq(cJSON_GetObjectItem(st, "backend")->valuestring,
			 "pgsql");
	ck_assert(strstr(cJSON_GetObjectItem(st, "where")->valuestring,
			 "host=127.0.0.1"));
	const cJSON *r0 =
		cJSON_GetArrayItem(cJSON_GetObjectItem(st, "records"), 0);
	ck_assert_msg(r0, "%s", out);
	ck_assert_int_ge(cJSON_GetObjectItem(r0, "generation")->valueint, 1);
	ck_assert(strstr(cJSON_GetObjectItem(r0, "updated_by")->valuestring,
			 "jauth "));
	ck_assert(!strstr(out, PG.password));
	cJSON_Delete(j);
	free(out);
	free(err);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc", NULL), 0);
	ck_assert_msg(strstr(out, "oauth3lo.cid: generation"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* ---- single flight fleet-wide ---- */

/* Host I of the storm: THREADS callers at once after the gate opens. */
static void storm_host(int i, int gate)
{
	jauth *h = host_open(i);
	char byte;
	if (!h)
		_exit(2);
	(void)!read(gate, &byte, 1);
	int served = fx_storm(h, THREADS);
	jauth_close(h);
	_exit(served == THREADS ? 0 : 1);
}

START_TEST(test_fleet_storm_refreshes_once)
{
	fx_clock(T0);
	consent();
	fx_clock(T0 + 3400); /* due, still valid */
	int gate[2];
	ck_assert_int_eq(pipe(gate), 0);
	pid_t kids[HOSTS];
	for (int i = 0; i < HOSTS; i++)
		if ((kids[i] = fork()) == 0) {
			close(gate[1]);
			storm_host(i, gate[0]);
		}
	close(gate[0]);
	usleep(300 * 1000);
	close(gate[1]);
	for (int i = 0; i < HOSTS; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "host %d: status %d", i, WEXITSTATUS(st));
	}
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
}
END_TEST

/* ---- kill -9 of the lock holder ---- */

/* Host I refreshes, in a process of its own: READY (if >= 0) gets a byte
 * once it has opened its stack, so that a kill lands in the refresh
 * itself; REPORT (if >= 0) gets the access token it was given, if any.
 * Exits 0 when the refresh succeeded. */
static pid_t refresher(int i, int ready, int report)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	jauth *h = host_open(i);
	const jauth_cred *c;
	if (!h)
		_exit(2);
	if (ready >= 0)
		(void)!write(ready, "r", 1);
	if (jauth_refresh(h, &c) != JAUTH_SUCCESS)
		_exit(1);
	const char *a = jauth_cred_authorization(c) + 7; /* "Bearer " */
	if (report >= 0)
		(void)!write(report, a, strlen(a));
	_exit(0);
}

START_TEST(test_kill_9_of_the_holder_never_loses_the_grant)
{
	consent();
	srand((unsigned)getpid());
	int finished = 0, failed = 0;
	/* How long a whole refresh takes on this machine (it may run under
	 * a sanitizer): the kills are spread over that. */
	struct timespec a, b;
	int ready[2], st;
	ck_assert_int_eq(pipe(ready), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	waitpid(refresher(0, ready[1], -1), &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(ready[0]);
	close(ready[1]);
	long window = (b.tv_sec - a.tv_sec) * 1000000L +
		      (b.tv_nsec - a.tv_nsec) / 1000 + 1000;
	for (int round = 0; round < 200; round++) {
		/* The answer takes 0–20 ms: kills land before the POST,
		 * while the stand-in delays, and between answer and commit. */
		char fault[128];
		snprintf(fault, sizeof fault,
			 "{\"path\":\"/oauth/token\",\"delay\":%.3f}",
			 (rand() % 20) / 1000.0);
		standin_fault(&SI, fault);
		char byte;
		ck_assert_int_eq(pipe(ready), 0);
		pid_t pid = refresher(round % HOSTS, ready[1], -1);
		close(ready[1]);
		(void)!read(ready[0], &byte, 1);
		close(ready[0]);
		usleep((useconds_t)(rand() % window));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		finished += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		failed += WIFEXITED(st) && WEXITSTATUS(st) != 0;
		standin_request(&SI, "POST", "/_standin/clear_faults", "{}",
				NULL);
	}
	ck_assert_int_eq(failed, 0);
	jauth *h = host_open(0);
	const jauth_cred *c;
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	ck_assert_int_eq(standin_counter(&SI, "revocations"), 0);
	ck_assert_int_gt(standin_counter(&SI, "refresh_grants"), 10);
	printf("pgsql kill -9: %d of 200 refreshes finished, %ld resends "
	       "inside the reuse interval\n",
	       finished, standin_counter(&SI, "reuses"));
	jauth_close(h);
}
END_TEST

/* ---- a crashed server ---- */

START_TEST(test_server_crash_loses_no_acknowledged_rotation)
{
	consent();
	srand((unsigned)getpid());
	int acked = 0;
	for (int round = 0; round < 12; round++) {
		int p[2];
		ck_assert_int_eq(pipe(p), 0);
		standin_fault(&SI,
			      "{\"path\":\"/oauth/token\",\"delay\":0.02}");
		pid_t pid = refresher(round % HOSTS, -1, p[1]);
		close(p[1]);
		usleep((useconds_t)(rand() % 60000));
		ck_assert_int_eq(pgserver_stop(&PG, "immediate"), 0);
		ck_assert_int_eq(pgserver_restart(&PG), 0);
		int st;
		waitpid(pid, &st, 0);
		char got[4096];
		ssize_t n = read(p[0], got, sizeof got - 1);
		close(p[0]);
		standin_request(&SI, "POST", "/_standin/clear_faults", "{}",
				NULL);
		if (n <= 0)
			continue;
		got[n] = '\0';
		acked++;
		ck_assert_msg(strcmp(rec_field("access_token"), got) == 0,
			      "round %d: an acknowledged rotation is not in "
			      "the database",
			      round);
	}
	jauth *h = host_open(0);
	const jauth_cred *c;
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	ck_assert_int_eq(standin_counter(&SI, "revocations"), 0);
	printf("pgsql crash: %d of 12 refreshes acknowledged across a "
	       "crash\n",
	       acked);
	jauth_close(h);
}
END_TEST

/* ---- the store down ---- */

START_TEST(test_store_down_serves_valid_token_and_refuses_refresh)
{
	consent();
	struct jauth_options o = host(0);
	jauth *h = NULL;
	const jauth_cred *c;
	ck_assert_int_eq(jauth_open("svc", &o, &h), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	char token[4096];
	snprintf(token, sizeof token, "%s", jauth_cred_authorization(c));
	ck_assert_int_eq(pgserver_stop(&PG, "fast"), 0);

	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c), token);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_TRANSIENT);
	ck_assert_msg(strstr(jauth_error(h), "the store is unreachable"), "%s",
		      jauth_error(h));
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 0);

	/* A process starting now gets the cached access token. */
	char *out, *err;
	FX.opt.state_dir = o.state_dir;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "token", "svc", "--format",
				"header", NULL),
			 0);
	ck_assert_msg(strstr(out, token), "%s / %s", out, err);
	free(out);
	free(err);
	char cache[PATH_MAX + 64];
	struct stat st;
	snprintf(cache, sizeof cache, "%s/svc.oauth3lo.cid.cache.json",
		 o.state_dir);
	char *text = fx_read(cache);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(!strstr(text, "refresh_token"), "%s", text);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(text);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 0);

	ck_assert_int_eq(pgserver_restart(&PG), 0);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	jauth_close(h);
}
END_TEST

/* ---- a holder that stops answering ---- */

START_TEST(test_stopped_holder_bounds_the_wait_and_never_doubles)
{
	pg_stack(PG.conninfo, "lock_timeout=2 hold_timeout=30");
	consent();
	standin_fault(&SI, "{\"path\":\"/oauth/token\",\"delay\":1.5}");
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t a = refresher(1, -1, p[1]);
	close(p[1]);
	/* Wait for A's intent mark: A holds the lock and is in the POST. */
	while (strcmp(sql1("SELECT count(*) FROM jauth_record WHERE holder "
			   "IS NOT NULL"),
		      "1") != 0)
		usleep(5000);
	char pattern[64];
	snprintf(pattern, sizeof pattern, "jauth %%:%d", (int)a);
	ck_assert_int_eq(pgserver_signal_backends(&PG, pattern, SIGSTOP), 1);

	/* jauth status names the holder. */
	char *out, *err, holder[64];
	struct jauth_options o0 = host(0);
	FX.opt.state_dir = o0.state_dir;
	snprintf(holder, sizeof holder, ":%d", (int)a);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc", "--json",
				NULL),
			 0);
	ck_assert_msg(strstr(out, "\"locked_by\":\t\"jauth ") &&
			      strstr(out, holder),
		      "%s", out);
	free(out);
	free(err);

	jauth *h = host_open(2);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_TRANSIENT);
	ck_assert_msg(strstr(jauth_error(h), "lock_timeout"), "%s",
		      jauth_error(h));

	ck_assert_int_eq(pgserver_signal_backends(&PG, pattern, SIGCONT), 1);
	int st;
	waitpid(a, &st, 0);
	char got[4096];
	ssize_t n = read(p[0], got, sizeof got - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	/* Another host now gets the holder's token (H backs off after its
	 * failure, as any handle does). */
	jauth_close(h);
	const jauth_cred *c;
	h = host_open(3);
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_acquire(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	jauth_close(h);
}
END_TEST

/* A host that waited for the holder's refresh uses its token and holds
 * no lock afterwards, though its session lives on: the shared lock it
 * waited for is released in the round trip that reads the record. */
START_TEST(test_waiter_uses_the_holders_token_and_keeps_no_lock)
{
	fx_clock(T0);
	consent();
	jauth *b = host_open(2);
	const jauth_cred *c;
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(jauth_acquire(b, &c), JAUTH_SUCCESS); /* a session */
	fx_clock(T0 + 3400); /* due, still valid */
	standin_fault(&SI, "{\"path\":\"/oauth/token\",\"delay\":1.0}");
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t a = refresher(1, -1, p[1]);
	close(p[1]);
	/* A holds the lock and is in the POST. */
	while (strcmp(sql1("SELECT count(*) FROM jauth_record WHERE holder "
			   "IS NOT NULL"),
		      "1") != 0)
		usleep(5000);
	ck_assert_msg(jauth_acquire(b, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(b));
	int st;
	waitpid(a, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char got[4096];
	ssize_t n = read(p[0], got, sizeof got - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(jauth_cred_authorization(c) + 7, got);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert_str_eq(sql1("SELECT count(*) FROM pg_locks WHERE locktype = "
			      "'advisory'"),
			 "0");
	jauth_close(b);
}
END_TEST

/* ---- fencing: a holder whose session died ---- */

/* A's session is ended by the server while A waits for Atlassian. _i = 0:
 * nobody writes meanwhile, so A reconnects and its rotation is committed;
 * 1: host B takes over (resending the marked token inside the reuse
 * interval) and commits first, so A's answer is dropped. */
START_TEST(test_holder_that_lost_its_session_commits_only_if_unchanged)
{
	consent();
	standin_fault(&SI, "{\"path\":\"/oauth/token\",\"delay\":1.0}");
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t a = refresher(1, -1, p[1]);
	close(p[1]);
	while (strcmp(sql1("SELECT count(*) FROM jauth_record WHERE holder "
			   "IS NOT NULL"),
		      "1") != 0)
		usleep(5000);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM "
		 "pg_stat_activity WHERE application_name LIKE 'jauth %%:%d'",
		 (int)a);
	ck_assert_str_eq(sql1(sql), "1");
	char theirs[4096] = "";
	if (_i == 1) {
		jauth *h = host_open(2);
		const jauth_cred *c;
		ck_assert_ptr_nonnull(h);
		ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
			      jauth_error(h));
		snprintf(theirs, sizeof theirs, "%s",
			 jauth_cred_authorization(c) + 7);
		jauth_close(h);
	}
	int st;
	waitpid(a, &st, 0);
	char got[4096];
	ssize_t n = read(p[0], got, sizeof got - 1);
	close(p[0]);
	got[n > 0 ? n : 0] = '\0';
	if (_i == 0) {
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "A's commit after a reconnect failed");
		ck_assert_str_eq(rec_field("access_token"), got);
	} else {
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
			      "A committed over B's rotation");
		ck_assert_str_eq(rec_field("access_token"), theirs);
		ck_assert_int_eq(standin_counter(&SI, "reuses"), 1);
	}
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	ck_assert_int_eq(standin_counter(&SI, "revocations"), 0);
	jauth *h = host_open(3);
	const jauth_cred *c;
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	jauth_close(h);
}
END_TEST


/* `jauth store copy svc` exits WANT; its output has OUT_HAS and its
 * errors ERR_HAS and ERR_TOO (each NULL: not looked at). */
static void store_copy(int want, const char *out_has, const char *err_has,
		       const char *err_too)
{
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "copy", "svc", NULL),
			 want);
	ck_assert_msg(!out_has || strstr(out, out_has), "%s%s", out, err);
	ck_assert_msg(!err_has || strstr(err, err_has), "%s", err);
	ck_assert_msg(!err_too || strstr(err, err_too), "%s", err);
	free(out);
	free(err);
}

/* Another host refreshes from the shared record: the one consent made,
 * no token replayed. */
static void another_host_refreshes(void)
{
	const jauth_cred *c;
	jauth *h = host_open(3);
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert(accepted(c));
	jauth_close(h);
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 1);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
}
/* ---- migration from the file store ---- */

START_TEST(test_store_copy_moves_the_grant_without_consent)
{
	struct jauth_options o = host(0);
	FX.opt.state_dir = o.state_dir;
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/cb\n",
		 SI.url, SI.url, SI.ca);
	consent();
	char file[PATH_MAX + 64];
	snprintf(file, sizeof file, "%s/svc.oauth3lo.cid.json", o.state_dir);
	ck_assert_int_eq(access(file, F_OK), 0);

	pg_stack(PG.conninfo, NULL);
	jauth *h = NULL;
	jauth_result rc;
	ck_assert_int_eq(jauth_open("svc", &o, &h), JAUTH_SUCCESS);
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_msg(strstr(jauth_error(h), "jauth store copy svc"), "%s",
		      jauth_error(h));
	jauth_close(h);

	store_copy(0, "moved svc.oauth3lo.cid", NULL, NULL);
	ck_assert_int_ne(access(file, F_OK), 0);
	ck_assert_str_ne(rec_field("refresh_token"), "");

	/* Another host refreshes from the copy; no new consent. */
	another_host_refreshes();

	/* A record the database already holds is never overwritten by a
	 * stale local copy. */
	char stale[PATH_MAX + 64];
	snprintf(stale, sizeof stale, "%s/svc.oauth3lo.cid.json", o.state_dir);
	fx_write(stale, 0600, "{\"refresh_token\":\"stale\"}");
	store_copy(1, NULL, "already holds svc.oauth3lo.cid", NULL);
	ck_assert_int_eq(access(stale, F_OK), 0);
	ck_assert_str_ne(rec_field("refresh_token"), "stale");
	unlink(stale);

	/* Copying again finds nothing; the file store is never read. */
	store_copy(0, "nothing to copy", NULL, NULL);
}
END_TEST

/* A grant sealed in the file store under one key moves into a shared
 * store with another: copy opens it with the line's key_old= and seals it
 * under key= (jauth(1), store copy). Without key_old= it is refused as a
 * configuration error and the file stays. */
START_TEST(test_store_copy_reseals_under_the_shared_stores_key)
{
	char k1[PATH_MAX + 32], k2[PATH_MAX + 32], opt[3 * PATH_MAX];
	struct jauth_options o = host(0);
	FX.opt.state_dir = o.state_dir;
	snprintf(k1, sizeof k1, "%s/file-key", FX.dir);
	snprintf(k2, sizeof k2, "%s/db-key", FX.dir);
	fx_write(k1, 0600, "q3Jt0cY5m1P8wzR6aLk2XvB9nE4sHdUf\n");
	fx_write(k2, 0600, "Zx8Wc7Vb6Nm5Lk4Jh3Gf2Ds1Aq0Pw9Oe\n");
	fx_stack("svc",
		 "store files key=@file:%s\n"
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/cb\n",
		 k1, SI.url, SI.url, SI.ca);
	consent();
	char file[PATH_MAX + 64];
	snprintf(file, sizeof file, "%s/svc.oauth3lo.cid.json", o.state_dir);
	char *sealed = fx_read(file);
	ck_assert_ptr_nonnull(strstr(sealed, "\"jauth_sealed\""));
	free(sealed);

	snprintf(opt, sizeof opt, "key=@file:%s", k2);
	pg_stack(PG.conninfo, opt);
	store_copy(2, NULL, "sealed with another key", "key_old=");
	ck_assert_int_eq(access(file, F_OK), 0);
	ck_assert_str_eq(sql1("SELECT count(*) FROM jauth_record"), "0");

	snprintf(opt, sizeof opt, "key=@file:%s key_old=@file:%s", k2, k1);
	pg_stack(PG.conninfo, opt);
	store_copy(0, "moved svc.oauth3lo.cid", NULL, NULL);
	ck_assert_int_ne(access(file, F_OK), 0);
	ck_assert_str_eq(rec_field("jauth_sealed"), "aes-256-gcm");
	ck_assert_str_eq(sql1("SELECT count(*) FROM jauth_record WHERE "
			      "record LIKE '%rt-%' OR record LIKE '%at-%' OR "
			      "record LIKE '%refresh_token%'"),
			 "0");

	/* Sealed under key= alone: the old key is no longer needed. */
	snprintf(opt, sizeof opt, "key=@file:%s", k2);
	pg_stack(PG.conninfo, opt);
	another_host_refreshes();
}
END_TEST

/* With key= on the store line the row holds no token (jauth.conf(5),
 * ENCRYPTION AT REST); a row moved to another service's name is refused
 * and nothing is sent. */
START_TEST(test_sealed_rows_hold_no_token_and_stay_put)
{
	char key[PATH_MAX + 32], opt[PATH_MAX + 64];
	snprintf(key, sizeof key, "%s/store-key", FX.dir);
	fx_write(key, 0600, "q3Jt0cY5m1P8wzR6aLk2XvB9nE4sHdUf\n");
	snprintf(opt, sizeof opt, "key=@file:%s", key);
	pg_stack(PG.conninfo, opt);
	consent();
	ck_assert_str_eq(rec_field("jauth_sealed"), "aes-256-gcm");
	ck_assert_str_eq(sql1("SELECT count(*) FROM jauth_record WHERE "
			      "record LIKE '%rt-%' OR record LIKE '%at-%' OR "
			      "record LIKE '%refresh_token%'"),
			 "0");
	jauth *h = host_open(1);
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert(accepted(c));
	jauth_close(h);
	ck_assert_int_eq(pgserver_sql(&PG,
				      "UPDATE jauth_record SET service = "
				      "'svc2' WHERE service = 'svc'",
				      NULL),
			 0);
	char *stack = fx_read(fx_path("conf/svc"));
	fx_stack("svc2", "%s", stack);
	free(stack);
	long asked = standin_counter(&SI, "token_requests");
	struct jauth_options o = host(2);
	ck_assert_int_eq(jauth_open("svc2", &o, &h), JAUTH_SUCCESS);
	ck_assert_int_ne(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_msg(strstr(jauth_error(h), "fails its integrity check"), "%s",
		      jauth_error(h));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked);
	jauth_close(h);
}
END_TEST

Suite *suite_pgsql(void)
{
	Suite *s = suite_create("pgsql store");
	TCase *tc = tcase_create("fleet on PostgreSQL");
	tcase_add_unchecked_fixture(tc, pg_up, pg_down);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_libjauth_does_not_link_libpq);
	tcase_add_loop_test(tc, test_libpq_is_loaded_only_for_a_pgsql_stack, 0,
			    2);
	tcase_add_loop_test(tc, test_unsafe_connection_refused_at_open, 0,
			    sizeof open_refusals / sizeof *open_refusals);
	tcase_add_loop_test(tc, test_store_password_is_held_to_the_secret_rules,
			    0,
			    sizeof password_refusals /
				    sizeof *password_refusals);
	tcase_add_test(tc, test_lint_reports_the_store_line);
	tcase_add_test(tc, test_store_files_is_the_default_named);
	tcase_add_test(tc, test_unix_socket_may_go_without_tls);
	tcase_add_test(tc, test_service_file_and_pgpass_keep_working);
	tcase_add_loop_test(tc, test_unsafe_server_refused_as_config_error, 0,
			    sizeof connect_refusals / sizeof *connect_refusals);
	tcase_add_test(tc, test_allow_nondurable_accepts_a_test_rig);
	tcase_add_test(tc, test_store_init_creates_the_table_once);
	tcase_add_test(tc, test_consent_on_one_host_serves_every_host);
	tcase_add_test(tc, test_revoke_on_one_host_forgets_the_grant_for_all);
	tcase_add_test(tc, test_status_shows_store_generation_and_last_writer);
	tcase_add_test(tc, test_fleet_storm_refreshes_once);
	tcase_add_test(tc, test_kill_9_of_the_holder_never_loses_the_grant);
	tcase_add_test(tc, test_server_crash_loses_no_acknowledged_rotation);
	tcase_add_test(tc,
		       test_store_down_serves_valid_token_and_refuses_refresh);
	tcase_add_test(tc,
		       test_stopped_holder_bounds_the_wait_and_never_doubles);
	tcase_add_test(tc,
		       test_waiter_uses_the_holders_token_and_keeps_no_lock);
	tcase_add_loop_test(
		tc, test_holder_that_lost_its_session_commits_only_if_unchanged,
		0, 2);
	tcase_add_test(tc, test_store_copy_moves_the_grant_without_consent);
	tcase_add_test(tc, test_store_copy_reseals_under_the_shared_stores_key);
	tcase_add_test(tc, test_sealed_rows_hold_no_token_and_stay_put);
	suite_add_tcase(s, tc);
	return s;
}
