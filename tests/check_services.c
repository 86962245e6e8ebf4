/*
 * check_services.c — the services modules get from the core (DESIGN §5,
 * §6, §8), driven from inside a real module (testmod): HTTPS against the
 * local stand-in, secrets, redaction, and the state store under kill -9
 * and under contention between processes.
 */
#include <fcntl.h>
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
#include "suites.h"

/* A stack whose one line fetches PATH from the stand-in. */
static jauth *fetcher(const char *path, const char *extra)
{
	fx_stack("svc", "required testmod.so http=%s%s ca_file=%s %s\n", SI.url,
		 path, SI.ca, extra ? extra : "");
	return fx_open("svc");
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_http_answer_reaches_the_module)
{
	ck_assert_int_eq(standin_fault(&SI, "{\"path\":\"/x\",\"status\":200,"
					    "\"body\":\"hello-token\"}"),
			 0);
	jauth *h = fetcher("/x", NULL);
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test hello-token");
	jauth_close(h);
}
END_TEST

/* A module instance keeps its connection: three calls, one TLS
 * handshake. */
START_TEST(test_http_connection_reused_within_a_handle)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":200,\"body\":\"t\","
			   "\"count\":-1}");
	jauth *h = fetcher("/x", NULL);
	long before = standin_counter(&SI, "connections");
	const jauth_cred *c;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	/* the counter call itself is one more connection */
	ck_assert_int_eq(standin_counter(&SI, "connections") - before, 2);
	jauth_close(h);
}
END_TEST

START_TEST(test_http_429_waits_for_retry_after_then_succeeds)
{
	standin_fault(&SI,
		      "{\"path\":\"/x\",\"status\":429,\"retry_after\":\"1\"}");
	standin_fault(&SI,
		      "{\"path\":\"/x\",\"status\":200,\"body\":\"late\"}");
	jauth *h = fetcher("/x", NULL);
	double t0 = mono();
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test late");
	/* A lower bound only: it waited as told, however slow the machine. */
	ck_assert(mono() - t0 >= 0.95);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 2);
	jauth_close(h);
}
END_TEST

START_TEST(test_http_5xx_retried_then_transient)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":503,\"count\":-1}");
	jauth *h = fetcher("/x", "tries=3");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_TRANSIENT);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 3);
	ck_assert_msg(strstr(jauth_error(h), "HTTP 503 from"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_http_4xx_is_not_retried)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":403,\"count\":-1,"
			   "\"body\":\"{\\\"error\\\":\\\"nope\\\","
			   "\\\"error_description\\\":\\\"go away\\\"}\"}");
	jauth *h = fetcher("/x", "tries=3");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_DENIED);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 1);
	ck_assert_msg(strstr(jauth_error(h), "HTTP 403 from"), "%s",
		      jauth_error(h));
	ck_assert_msg(strstr(jauth_error(h), "nope: go away"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_http_oversized_body_refused)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"oversize\":2000000}");
	jauth *h = fetcher("/x", NULL);
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "larger than 1 MiB"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_http_dropped_connection_is_transient)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"drop\":true,\"count\":-1}");
	jauth *h = fetcher("/x", "tries=2");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_TRANSIENT);
	ck_assert_msg(strstr(jauth_error(h), "connection dropped"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_http_plain_http_refused)
{
	fx_stack("svc", "required testmod.so http_any=http://127.0.0.1:%d/x\n",
		 SI.port);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "only https:// URLs"), "%s",
		      jauth_error(h));
	jauth_close(h);
	/* And at open, for URL arguments. */
	fx_stack("svc", "required testmod.so http=http://127.0.0.1:%d/x\n",
		 SI.port);
	jauth_close(fx_open_want("svc", JAUTH_CONFIG));
}
END_TEST

START_TEST(test_http_certificate_of_another_ca_refused)
{
	fx_stack("svc", "required testmod.so http=%s/x ca_file=%s\n", SI.url,
		 SI.other_ca);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	/* Retrying never fixes a CA: a configuration error, with the line,
	 * the URL and both fixes. */
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e, "TLS certificate is not trusted"), "%s", e);
	ck_assert_msg(strstr(e, "/svc:1: "), "%s", e);
	ck_assert_msg(strstr(e, SI.url), "%s", e);
	ck_assert_msg(strstr(e, "ca_file="), "%s", e);
	ck_assert_msg(strstr(e, "update-ca-certificates"), "%s", e);
	jauth_close(h);
}
END_TEST

START_TEST(test_http_without_ca_file_uses_system_trust)
{
	fx_stack("svc", "required testmod.so http=%s/x tries=1\n", SI.url);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "not trusted"));
	jauth_close(h);
}
END_TEST

START_TEST(test_http_nothing_listening_is_transient)
{
	fx_stack("svc",
		 "required testmod.so http=https://127.0.0.1:1/x tries=2\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "cannot connect"));
	jauth_close(h);
}
END_TEST

/* ---- secrets ---- */

START_TEST(test_secret_from_environment)
{
	setenv("TM_SECRET", "env-value-1", 1);
	fx_stack("svc", "required testmod.so secret=@env:TM_SECRET\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test env-value-1");
	jauth_close(h);
}
END_TEST

START_TEST(test_secret_unset_variable_is_unavailable)
{
	unsetenv("TM_SECRET");
	fx_stack("svc", "required testmod.so secret=@env:TM_SECRET\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h),
		       "environment variable TM_SECRET (secret=) is not set"));
	jauth_close(h);
	/* jauth.conf(5): "Unset or empty, it makes the line unavailable";
	 * an empty one is called empty, not unset */
	setenv("TM_SECRET", "", 1);
	h = fx_open("svc");
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_msg(strstr(jauth_error(h), "environment variable TM_SECRET "
					     "(secret=) is empty: set it"),
		      "%s", jauth_error(h));
	jauth_close(h);
	unsetenv("TM_SECRET");
}
END_TEST

START_TEST(test_secret_from_file_strips_newline)
{
	fx_write(fx_path("s"), 0600, "file-value-2\n");
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test file-value-2");
	jauth_close(h);
}
END_TEST

START_TEST(test_secret_missing_file_is_unavailable)
{
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "does not exist"));
	ck_assert_ptr_nonnull(strstr(jauth_error(h), fx_path("s")));
	jauth_close(h);
}
END_TEST

START_TEST(test_secret_file_readable_by_others_refused)
{
	fx_write(fx_path("s"), 0644, "file-value-3\n");
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "can be read by group or others"));
	jauth_close(h);
	/* Made unsafe after open: refused at acquire. */
	chmod(fx_path("s"), 0600);
	h = fx_open("svc");
	chmod(fx_path("s"), 0640);
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	jauth_close(h);
}
END_TEST

/* A FIFO named as a secret would block an open for reading: it is seen
 * for what it is before anything opens it. */
START_TEST(test_secret_that_is_a_fifo_refused_without_blocking)
{
	ck_assert_int_eq(mkfifo(fx_path("s"), 0600), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "is not a regular file"));
	jauth_close(h);
}
END_TEST

START_TEST(test_secret_file_symlink_not_followed_into_unsafe_dir)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", fx_path("open"));
	mkdir(dir, 0777);
	chmod(dir, 0777);
	char target[PATH_MAX + 8];
	snprintf(target, sizeof target, "%s/s", dir);
	fx_write(target, 0600, "x-value\n");
	ck_assert_int_eq(symlink(target, fx_path("s")), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "writable by group or others"));
	jauth_close(h);
}
END_TEST

START_TEST(test_inline_secret_in_readable_stack_refused)
{
	fx_stack("svc", "required testmod.so secret=inline-value\n");
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "secret= is written inline"));
	ck_assert_ptr_null(strstr(jauth_error(h), "inline-value"));
	jauth_close(h);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	chmod(path, 0600);
	h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test inline-value");
	jauth_close(h);
}
END_TEST

/* A canary secret, logged and failed with in every way a module might,
 * never leaves the library in clear: log callback, errors, status. */
START_TEST(test_canary_never_leaves_in_clear)
{
	const char *canary = "CANARY-7f3a9c1e2b";
	setenv("TM_SECRET", canary, 1);
	fx_stack(
		"svc",
		"required testmod.so secret=@env:TM_SECRET "
		"log=\"Authorization: Bearer abcdef0123456789 "
		"{\\\"access_token\\\": \\\"at-9z8y7x6w\\\", \\\"refresh_token\\\":"
		"\\\"rt-5v4u3t2s\\\"} client_secret=cs-1q2w3e4r code=cd-0o9i8u7y\"\n"
		"required testmod.so acquire=denied message=\"bad %s\"\n",
		canary);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	chmod(path, 0600);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_DENIED);
	char *status = NULL;
	jauth_status(h, &status);
	static const char *const secrets[] = {
		"CANARY-7f3a9c1e2b", "abcdef0123456789", "at-9z8y7x6w",
		"rt-5v4u3t2s",	     "cs-1q2w3e4r",	 "cd-0o9i8u7y",
	};
	ck_assert_ptr_nonnull(FX.log);
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
		ck_assert_msg(!strstr(FX.log, secrets[i]), "log shows %s:\n%s",
			      secrets[i], FX.log);
		ck_assert_msg(!strstr(jauth_error(h), secrets[i]),
			      "error shows %s", secrets[i]);
		ck_assert_msg(!strstr(status, secrets[i]), "status shows %s",
			      secrets[i]);
	}
	ck_assert(fx_log_has("[redacted]"));
	jauth_free(status);
	jauth_close(h);
}
END_TEST

/* ---- log ---- */

/* Runs one acquire of STACK with no log callback; what reached stderr. */
static char *stderr_of(const char *stack)
{
	fx_stack("svc", "%s", stack);
	FX.opt.log = NULL;
	FX.opt.log_level = 0;
	fflush(stderr);
	int saved = dup(2);
	int fd = open(fx_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	jauth_close(h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return fx_read(fx_path("stderr"));
}

START_TEST(test_default_log_is_stderr_at_warn)
{
	unsetenv("JAUTH_DEBUG");
	setenv("TM_TOKEN", "unscoped-token", 1);
	fx_clock(1798761600); /* 19 days before expires= */
	char *text = stderr_of(
		"required apitoken.so email=a@b.c token=@env:TM_TOKEN "
		"site=https://x.example expires=2027-01-20\n"
		"optional testmod.so log=debug-line-1\n");
	ck_assert_msg(strstr(text, "jauth: svc: warning: "), "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "API token expires on 2027-01-20"));
	ck_assert_ptr_null(strstr(text, "debug-line-1"));
	free(text);
}
END_TEST

START_TEST(test_jauth_debug_turns_on_debug)
{
	setenv("JAUTH_DEBUG", "1", 1);
	char *text = stderr_of("required testmod.so log=debug-line-2\n");
	ck_assert_msg(strstr(text, "jauth: svc: debug: "), "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "debug-line-2"));
	free(text);
	unsetenv("JAUTH_DEBUG");
}
END_TEST

/* ---- state store ---- */

static const char *record_file(void)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/svc.testmod.rec.json", FX.state);
	return path;
}

/* The counter in the record, -1 when the file is missing, -2 when it does
 * not parse (a torn write). */
static long record_n(void)
{
	char *text = fx_read(record_file());
	if (!text)
		return -1;
	cJSON *j = cJSON_Parse(text);
	free(text);
	cJSON *n = cJSON_GetObjectItem(j, "n");
	long v = cJSON_IsNumber(n) ? (long)n->valuedouble : -2;
	cJSON_Delete(j);
	return v;
}

START_TEST(test_store_files_are_private)
{
	fx_stack("svc", "required testmod.so store=rec\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test n=1");
	struct stat st;
	ck_assert_int_eq(stat(FX.state, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(record_file(), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(record_n(), 1);
	jauth_close(h);
}
END_TEST

START_TEST(test_store_dir_open_to_others_refused)
{
	mkdir(FX.state, 0755);
	chmod(FX.state, 0755);
	fx_stack("svc", "required testmod.so store=rec\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "chmod 700"));
	jauth_close(h);
}
END_TEST

START_TEST(test_store_record_symlink_not_followed)
{
	mkdir(FX.state, 0700);
	fx_write(fx_path("elsewhere"), 0600, "{\"n\": 41}");
	ck_assert_int_eq(symlink(fx_path("elsewhere"), record_file()), 0);
	fx_stack("svc", "required testmod.so store=rec\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	jauth_close(h);
}
END_TEST

/* A child that commits the record over and over until killed. */
static pid_t committer(void)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	jauth *h = NULL;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		_exit(3);
	for (;;)
		jauth_refresh(h, NULL);
}

START_TEST(test_store_survives_kill_9_during_commits)
{
	fx_stack("svc", "required testmod.so store=rec\n");
	FX.opt.log = NULL;
	FX.opt.log_level = JAUTH_LOG_ERROR;
	long last = 0, torn = 0;
	srand((unsigned)getpid());
	for (int i = 0; i < 200; i++) {
		pid_t pid = committer();
		ck_assert_int_gt(pid, 0);
		/* Once this child has committed, kill it at a random point of
		 * its next commits, however slow the machine is today. */
		for (int spin = 0; spin < 5000 && record_n() <= last; spin++)
			usleep(1000);
		usleep((unsigned)(rand() % 3000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		long n = record_n();
		if (n == -2)
			torn++;
		ck_assert_msg(n != -2, "round %d: the record is torn", i);
		ck_assert_msg(n >= last || (n == -1 && last == 0),
			      "round %d: n went back from %ld to %ld", i, last,
			      n);
		last = n < 0 ? last : n;
	}
	ck_assert_int_eq(torn, 0);
	ck_assert_int_ge(last, 200); /* every child committed at least once */
}
END_TEST

START_TEST(test_store_lock_one_worker_per_round)
{
	enum { PROCS = 4, ROUNDS = 15 };
	fx_stack("svc", "required testmod.so once=rec delay_ms=20 counter=%s\n",
		 fx_path("w"));
	FX.opt.log = NULL;
	FX.opt.log_level = JAUTH_LOG_ERROR;
	for (int round = 1; round <= ROUNDS; round++) {
		pid_t kids[PROCS];
		fx_clock(round);
		for (int i = 0; i < PROCS; i++) {
			if ((kids[i] = fork()) == 0) {
				jauth *h = NULL;
				jauth_open("svc", &FX.opt, &h);
				_exit(jauth_refresh(h, NULL) == JAUTH_SUCCESS
					      ? 0
					      : 1);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int st;
			waitpid(kids[i], &st, 0);
			ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		ck_assert_int_eq(fx_count(fx_path("w"), 'w'), round);
	}
}
END_TEST

/* ---- the module kit: JSON, arguments, base64url, messages, files ---- */

/* What show= makes of input= (testmod), or "" with the result in *rc. */
static const char *shown(const char *show, const char *input, jauth_result *rc)
{
	static char got[256];
	fx_write(fx_path("input"), 0600, input);
	fx_stack("svc", "required testmod.so show=%s input=%s\n", show,
		 fx_path("input"));
	jauth *h = fx_open("svc");
	snprintf(got, sizeof got, "%s", fx_auth(h, rc));
	jauth_close(h);
	return got;
}

static const struct {
	const char *text;
	jauth_result want;
} json_rows[] = {
	{ "{\"exp\":1}", JAUTH_SUCCESS },
	{ "[1,2]\n", JAUTH_SUCCESS },
	{ "{\"exp\":1} junk", JAUTH_ERROR },
	{ "{\"a\":1}{\"b\":2}", JAUTH_ERROR },
	{ "\"just a string\"", JAUTH_ERROR },
	{ "{\"exp\":", JAUTH_ERROR },
};

/* jauth_m_json_parse takes one object or array and nothing after it. */
START_TEST(test_json_parse_takes_one_document_only)
{
	jauth_result rc;
	const char *got = shown("json", json_rows[_i].text, &rc);
	ck_assert_msg(rc == json_rows[_i].want, "%s: %s", json_rows[_i].text,
		      jauth_result_name(rc));
	if (rc == JAUTH_SUCCESS)
		ck_assert_str_eq(got, "Test ok");
}
END_TEST

static const struct {
	const char *line; /* after "required testmod.so " */
	const char *want;
} int_rows[] = {
	{ "show=int:dflt", "Test 7" },	      /* absent: the default */
	{ "show=int:dflt dflt=3", "Test 3" }, /* given */
	{ "show=int:num", "Test 0" },	      /* absent, no default */
	{ "show=int:num num=4", "Test 4" },   /* given */
	{ "show=int:nokey", "Test 0" },	      /* not an argument at all */
};

/* jauth_m_arg_int: the value given, else the declared default, else 0. */
START_TEST(test_arg_int_is_given_else_default_else_zero)
{
	fx_stack("svc", "required testmod.so %s\n", int_rows[_i].line);
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), int_rows[_i].want);
	jauth_close(h);
}
END_TEST

static const struct {
	const char *text, *want; /* want NULL: refused */
} b64_rows[] = {
	{ "aGVsbG8", "hello" }, { "aGVsbG8=", "hello" },
	{ "aGVsbA==", "hell" }, { "PDw_Pz4-", "<<?\?>>" },
	{ "PDw/Pz4+", NULL },  /* the standard alphabet */
	{ "a", NULL },	       /* one digit alone */
	{ "aGVsbG8==", NULL }, /* padding past a group */
	{ "aG=VsbG8", NULL },  /* padding inside */
};

START_TEST(test_base64url_decoder)
{
	jauth_result rc;
	const char *got = shown("b64url", b64_rows[_i].text, &rc);
	if (!b64_rows[_i].want) {
		ck_assert_msg(rc == JAUTH_ERROR, "%s: %s", b64_rows[_i].text,
			      got);
		return;
	}
	ck_assert_int_eq(rc, JAUTH_SUCCESS);
	ck_assert_str_eq(got + strlen("Test "), b64_rows[_i].want);
}
END_TEST

/* jauth_m_fail_append adds the what-to-do to the message set before. */
START_TEST(test_fail_append_adds_to_the_message)
{
	fx_stack("svc", "required testmod.so acquire=denied "
			"message=\"token refused\" hint=\"make a new one\"\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_DENIED);
	ck_assert_msg(strstr(jauth_error(h),
			     "svc:1: token refused: make a new one"),
		      "%s", jauth_error(h));
	jauth_close(h);
}
END_TEST

/* jauth_m_status_warn fills the "warnings" array status shows. */
START_TEST(test_status_warn_fills_warnings)
{
	fx_stack("svc", "required testmod.so warn=careful\n");
	jauth *h = fx_open("svc");
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	cJSON *doc = cJSON_Parse(json);
	cJSON *st = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "lines"), 0),
		"status");
	cJSON *w = cJSON_GetObjectItem(st, "warnings");
	ck_assert_int_eq(cJSON_GetArraySize(w), 1);
	ck_assert_ptr_nonnull(
		strstr(cJSON_GetArrayItem(w, 0)->valuestring, "careful ("));
	cJSON_Delete(doc);
	jauth_free(json);
	jauth_close(h);
}
END_TEST

static const struct {
	const char *key;
	int mode;	   /* of the file; 0: no file */
	int relative;	   /* give a relative path */
	jauth_result open; /* of jauth_open */
	jauth_result acq;  /* of the acquire, when open succeeded */
} file_rows[] = {
	{ "keyfile", 0600, 0, JAUTH_SUCCESS, JAUTH_SUCCESS },
	{ "keyfile", 0640, 0, JAUTH_CONFIG, 0 }, /* a secret others read */
	{ "pubfile", 0644, 0, JAUTH_SUCCESS, JAUTH_SUCCESS },
	{ "pubfile", 0666, 0, JAUTH_CONFIG, 0 }, /* others may write it */
	{ "keyfile", 0, 0, JAUTH_SUCCESS, JAUTH_UNAVAILABLE },
	{ "pubfile", 0644, 1, JAUTH_CONFIG, 0 },
};

/* A JAUTH_ARG_FILE argument: a path the admin gives, a file the core
 * reads under its trust rules. */
START_TEST(test_file_argument_read_under_trust_rules)
{
	const char *key = file_rows[_i].key;
	if (file_rows[_i].mode) {
		fx_write(fx_path("f"), 0600, "contents-1\n");
		chmod(fx_path("f"), (mode_t)file_rows[_i].mode);
	}
	fx_stack("svc", "required testmod.so show=file:%s %s=%s\n", key, key,
		 file_rows[_i].relative ? "f" : fx_path("f"));
	jauth *h = fx_open_want("svc", file_rows[_i].open);
	if (file_rows[_i].open != JAUTH_SUCCESS) {
		ck_assert_msg(strstr(jauth_error(h), key), "%s",
			      jauth_error(h));
		jauth_close(h);
		return;
	}
	jauth_result rc;
	const char *got = fx_auth(h, &rc);
	ck_assert_msg(rc == file_rows[_i].acq, "%s", jauth_error(h));
	if (rc == JAUTH_SUCCESS)
		ck_assert_str_eq(got, "Test contents-1");
	else
		ck_assert_ptr_nonnull(strstr(jauth_error(h), "does not exist"));
	jauth_close(h);
}
END_TEST

Suite *suite_services(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("https");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, fx_setup_standin, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_http_answer_reaches_the_module);
	tcase_add_test(tc, test_http_connection_reused_within_a_handle);
	tcase_add_test(tc, test_http_429_waits_for_retry_after_then_succeeds);
	tcase_add_test(tc, test_http_5xx_retried_then_transient);
	tcase_add_test(tc, test_http_4xx_is_not_retried);
	tcase_add_test(tc, test_http_oversized_body_refused);
	tcase_add_test(tc, test_http_dropped_connection_is_transient);
	tcase_add_test(tc, test_http_plain_http_refused);
	tcase_add_test(tc, test_http_certificate_of_another_ca_refused);
	tcase_add_test(tc, test_http_without_ca_file_uses_system_trust);
	tcase_add_test(tc, test_http_nothing_listening_is_transient);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_secret_from_environment);
	tcase_add_test(tc, test_secret_unset_variable_is_unavailable);
	tcase_add_test(tc, test_secret_from_file_strips_newline);
	tcase_add_test(tc, test_secret_missing_file_is_unavailable);
	tcase_add_test(tc, test_secret_file_readable_by_others_refused);
	tcase_add_test(tc,
		       test_secret_file_symlink_not_followed_into_unsafe_dir);
	tcase_add_test(tc, test_secret_that_is_a_fifo_refused_without_blocking);
	tcase_add_test(tc, test_inline_secret_in_readable_stack_refused);
	tcase_add_test(tc, test_canary_never_leaves_in_clear);
	tcase_add_test(tc, test_default_log_is_stderr_at_warn);
	tcase_add_test(tc, test_jauth_debug_turns_on_debug);
	suite_add_tcase(s, tc);

	tc = tcase_create("module kit");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_json_parse_takes_one_document_only, 0,
			    sizeof json_rows / sizeof *json_rows);
	tcase_add_loop_test(tc, test_arg_int_is_given_else_default_else_zero, 0,
			    sizeof int_rows / sizeof *int_rows);
	tcase_add_loop_test(tc, test_base64url_decoder, 0,
			    sizeof b64_rows / sizeof *b64_rows);
	tcase_add_test(tc, test_fail_append_adds_to_the_message);
	tcase_add_test(tc, test_status_warn_fills_warnings);
	tcase_add_loop_test(tc, test_file_argument_read_under_trust_rules, 0,
			    sizeof file_rows / sizeof *file_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_files_are_private);
	tcase_add_test(tc, test_store_dir_open_to_others_refused);
	tcase_add_test(tc, test_store_record_symlink_not_followed);
	suite_add_tcase(s, tc);
	return s;
}

Suite *suite_store_procs(void)
{
	Suite *s = suite_create("store processes");
	TCase *tc = tcase_create("kill -9 and contention");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_survives_kill_9_during_commits);
	tcase_add_test(tc, test_store_lock_one_worker_per_round);
	suite_add_tcase(s, tc);
	return s;
}
