/*
 * check_http.c — the one HTTP client (core/http.c over http.so) as its
 * callers see it: jauth_http_get for the CLI, jauth_m_http for modules and
 * `jauth check`, against the stand-in's faults. What the errors must say
 * (issue #10.4), the retry rules (#10.5), the slow-loris bound (#12.14),
 * the oversized header (#12.19), the -vv trace without secrets, and that
 * a process that does not go to the network never loads libcurl (#15.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_capture.h"
#include "fixture.h"
#include "suites.h"

#define CANARY "canary-6f1d2e9b7a"
#define LABEL10 "aaaaaaaaaa"
#define LABEL70 LABEL10 LABEL10 LABEL10 LABEL10 LABEL10 LABEL10 LABEL10

/* A one-line stack "svc" of testmod fetching PATH, trusting CA. */
static jauth *fetcher(const char *path, const char *ca, const char *extra)
{
	fx_stack("svc", "required testmod.so http=%s%s ca_file=%s %s\n", SI.url,
		 path, ca, extra ? extra : "");
	return fx_open("svc");
}

/* "FILE:1" of the stack "svc". */
static const char *line1(void)
{
	static char src[PATH_MAX + 8];
	snprintf(src, sizeof src, "%s/svc:1", FX.conf);
	return src;
}

static const char *url_of(const char *path)
{
	static char url[256];
	snprintf(url, sizeof url, "%s%s", SI.url, path);
	return url;
}

/* ---- jauth_http_get ---- */

START_TEST(test_get_answers_with_status_body_and_date)
{
	standin_fault(&SI,
		      "{\"path\":\"/x\",\"status\":404,\"body\":\"nope\"}");
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	/* Any status is an answer; the line's ca_file= is what it trusts. */
	ck_assert_int_eq(jauth_http_get(h, line1(), url_of("/x"), NULL, &a),
			 JAUTH_SUCCESS);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(a.body, "nope");
	ck_assert_uint_eq(a.len, 4);
	ck_assert(a.date > 0);
	ck_assert(a.seconds >= 0);
	jauth_http_answer_free(&a);
	ck_assert_ptr_null(a.body);
	jauth_close(h);
}
END_TEST

START_TEST(test_get_without_source_uses_the_system_cas)
{
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	/* The stand-in's CA is made at test time: the system does not know
	 * it. */
	ck_assert_int_eq(jauth_http_get(h, NULL, url_of("/x"), NULL, &a),
			 JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "update-ca-certificates"), "%s",
		      jauth_error(h));
	jauth_http_answer_free(&a);
	jauth_close(h);
}
END_TEST

START_TEST(test_get_of_an_unknown_line_refused)
{
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, "/nowhere:7", url_of("/x"), NULL,
					&a),
			 JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "/nowhere:7: no such line"), "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

/* jauth.h: a URL that is not https:// is JAUTH_ERROR, nothing sent. */
START_TEST(test_get_of_a_plain_http_url_refused)
{
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, line1(), "http://127.0.0.1:1/x",
					NULL, &a),
			 JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "only https:// URLs are allowed"),
		      "%s", jauth_error(h));
	jauth_http_answer_free(&a);
	jauth_close(h);
}
END_TEST

/* jauth.h: jauth_error never contains a secret, nor the password of a
 * URL the caller passed. */
START_TEST(test_get_message_hides_a_url_password)
{
	static const char *const urls[] = {
		"https://svc:s3cr3t-pw@127.0.0.1:1/x",
		"http://svc:s3cr3t-pw@127.0.0.1:1/x",
	};
	jauth *h = fetcher("/x", SI.ca, NULL);
	for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
		struct jauth_http_answer a;
		ck_assert_int_ne(jauth_http_get(h, line1(), urls[i], NULL, &a),
				 JAUTH_SUCCESS);
		ck_assert_msg(!strstr(jauth_error(h), "s3cr3t-pw"), "%s",
			      jauth_error(h));
		ck_assert_msg(strstr(jauth_error(h), "127.0.0.1:1/x"), "%s",
			      jauth_error(h));
		jauth_http_answer_free(&a);
	}
	jauth_close(h);
}
END_TEST

START_TEST(test_get_429_with_retry_after_then_200)
{
	standin_fault(&SI,
		      "{\"path\":\"/x\",\"status\":429,\"retry_after\":\"1\"}");
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":200,\"body\":\"ok\"}");
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, line1(), url_of("/x"), NULL, &a),
			 JAUTH_SUCCESS);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 2);
	jauth_http_answer_free(&a);
	jauth_close(h);
}
END_TEST

START_TEST(test_get_503_after_every_try_is_transient)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":503,\"count\":-1}");
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, line1(), url_of("/x"), NULL, &a),
			 JAUTH_TRANSIENT);
	ck_assert_int_eq(a.status, 503);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 4);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e, line1()) && strstr(e, "HTTP 503 from") &&
			      strstr(e, "try again later"),
		      "%s", e);
	jauth_http_answer_free(&a);
	jauth_close(h);
}
END_TEST

/* #12.14: every try, pause and Retry-After fits in one deadline below the
 * store's lock wait; a server asking for more ends the tries at once. */
START_TEST(test_retry_after_beyond_the_deadline_ends_the_tries)
{
	standin_fault(&SI, "{\"path\":\"/x\",\"status\":429,"
			   "\"retry_after\":\"600\",\"count\":-1}");
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, line1(), url_of("/x"), NULL, &a),
			 JAUTH_TRANSIENT);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 1);
	ck_assert_msg(strstr(jauth_error(h), "asks to wait 600 s"), "%s",
		      jauth_error(h));
	jauth_http_answer_free(&a);
	jauth_close(h);
}
END_TEST

/* ---- errors that say what to do (#10.4), as a table ---- */

static const struct {
	const char *name;
	const char *path;    /* on the stand-in, or a whole https URL */
	const char *fault;   /* stand-in fault for PATH, or NULL */
	int other_ca;	     /* trust the CA that did not sign the server */
	jauth_result want;   /* of the acquire */
	const char *says[3]; /* what the message must contain besides the
				line and the URL */
} error_cases[] = {
	/* clang-format off */
	{ "certificate of another CA", "/x", NULL, 1, JAUTH_CONFIG,
	  { "certificate is not trusted", "ca_file=", "update-ca-certificates" } },
	{ "connection refused", "https://127.0.0.1:1/x", NULL, 0, JAUTH_TRANSIENT,
	  { "cannot connect", "proxy", "firewall" } },
	/* A label over 63 bytes: the resolver refuses it without sending a
	 * query, so the test does not touch the network. */
	{ "name does not resolve", "https://" LABEL70 ".example/x", NULL, 0,
	  JAUTH_TRANSIENT, { "cannot resolve the host name", "DNS", "proxy" } },
	{ "4 MB header", "/x", "{\"path\":\"/x\",\"header_bytes\":4000000}", 0,
	  JAUTH_ERROR, { "the server's header was too large", NULL, NULL } },
	{ "80 KB of header", "/x", "{\"path\":\"/x\",\"header_bytes\":80000}", 0,
	  JAUTH_ERROR, { "the server's header was too large", NULL, NULL } },
	{ "slow-loris answer", "/x",
	  "{\"path\":\"/x\",\"trickle\":1.5,\"count\":-1}", 0, JAUTH_TRANSIENT,
	  { "slower than 64 bytes/s", "proxy", "try again later" } },
	/* clang-format on */
};

START_TEST(test_network_errors_name_line_url_and_fix)
{
	__typeof__(error_cases[0]) *c = &error_cases[_i];
	if (c->fault)
		ck_assert_int_eq(standin_fault(&SI, c->fault), 0);
	const char *url =
		strncmp(c->path, "https:", 6) == 0 ? c->path : url_of(c->path);
	fx_stack("svc", "required testmod.so http_any=%s ca_file=%s tries=1\n",
		 url, c->other_ca ? SI.other_ca : SI.ca);
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	const char *e = jauth_error(h);
	ck_assert_msg(rc == c->want, "%s: %s (%d)", c->name, e, rc);
	ck_assert_msg(strstr(e, line1()), "%s: no line in: %s", c->name, e);
	ck_assert_msg(strstr(e, url), "%s: no URL in: %s", c->name, e);
	for (int i = 0; i < 3 && c->says[i]; i++)
		ck_assert_msg(strstr(e, c->says[i]), "%s: no \"%s\" in: %s",
			      c->name, c->says[i], e);
	ck_assert_msg(!strstr(e, "Out of memory"), "%s: %s", c->name, e);
	jauth_close(h);
}
END_TEST

/* ---- the trace (#10.4: -vv) ---- */

START_TEST(test_debug_trace_shows_the_exchange_not_the_secret)
{
	char fault[512];
	/* The server echoes the token in a header and in its body. */
	snprintf(fault, sizeof fault,
		 "{\"path\":\"/x\",\"status\":200,\"body\":\"" CANARY "\","
		 "\"headers\":{\"X-Echo\":\"Bearer " CANARY "\","
		 "\"Set-Cookie\":\"s=" CANARY "x\","
		 "\"X-Title\":\"\\u001b]0;pwned\\u0007\"}}");
	standin_fault(&SI, fault);
	jauth *h = fetcher("/x", SI.ca, NULL);
	struct jauth_http_answer a;
	ck_assert_int_eq(jauth_http_get(h, line1(), url_of("/x"),
					"Bearer " CANARY, &a),
			 JAUTH_SUCCESS);
	jauth_http_answer_free(&a);
	ck_assert(fx_log_has("> GET "));
	ck_assert(fx_log_has(url_of("/x")));
	ck_assert(fx_log_has("> Authorization: Bearer (hidden)"));
	ck_assert(fx_log_has("< HTTP 200 in "));
	ck_assert(fx_log_has("< X-Echo: "));
	ck_assert(fx_log_has("< Set-Cookie: (hidden)"));
	/* a header's control characters reach no terminal */
	ck_assert_msg(fx_log_has("< X-Title: \\x1b]0;pwned\\x07"), "%s",
		      FX.log);
	ck_assert(!fx_log_has("\x1b"));
	ck_assert_msg(!fx_log_has(CANARY), "%s", FX.log);
	jauth_close(h);
}
END_TEST

/* ---- jauth check (#10.5) ---- */

static void apitoken_stack(const char *ca)
{
	setenv("GOOD_TOKEN", "unscoped-token", 1);
	fx_stack(
		"svc",
		"required apitoken.so email=svc@acme.com token=@env:GOOD_TOKEN "
		"site=%s ca_file=%s\n",
		SI.url, ca);
}

START_TEST(test_check_waits_for_retry_after_then_succeeds)
{
	apitoken_stack(SI.ca);
	standin_fault(&SI, "{\"path\":\"/rest/api/3/myself\",\"status\":429,"
			   "\"retry_after\":\"1\"}");
	ck_assert_msg(fx_cli(NULL, &out, &err, "check", "svc", (char *)NULL) ==
			      0,
		      "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "account  acc-1"));
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 1);
}
END_TEST

START_TEST(test_check_429_after_every_try_exits_5)
{
	apitoken_stack(SI.ca);
	standin_fault(&SI, "{\"path\":\"/rest/api/3/myself\",\"status\":429,"
			   "\"count\":-1}");
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "check", "svc", (char *)NULL),
			 5);
	ck_assert_msg(strstr(err, "HTTP 429") && strstr(err, "try again later"),
		      "%s", err);
	ck_assert_int_eq(standin_counter(&SI, "faults_served"), 4);
}
END_TEST

START_TEST(test_check_untrusted_certificate_exits_2)
{
	apitoken_stack(SI.other_ca);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "check", "svc", (char *)NULL),
			 2);
	ck_assert_msg(strstr(err, line1()) && strstr(err, "ca_file="), "%s",
		      err);
}
END_TEST

START_TEST(test_check_vv_traces_without_the_token)
{
	setenv("GOOD_TOKEN", CANARY, 1);
	fx_stack(
		"svc",
		"required apitoken.so email=svc@acme.com token=@env:GOOD_TOKEN "
		"site=%s ca_file=%s\n",
		SI.url, SI.ca);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "-vv", "check", "svc",
				(char *)NULL),
			 4);
	ck_assert_msg(strstr(err, "> GET ") &&
			      strstr(err, "/rest/api/3/myself"),
		      "%s", err);
	ck_assert_msg(strstr(err, "> Authorization: Basic (hidden)"), "%s",
		      err);
	ck_assert_msg(strstr(err, "< HTTP 401 in "), "%s", err);
	ck_assert_msg(!strstr(err, CANARY) && !strstr(out, CANARY), "%s", err);
}
END_TEST

/* ---- oauth3lo's code exchange (#10.4) ---- */

/* The 3LO stack "svc" with client secret SECRET, consented through the
 * stand-in; the result of authorize_finish. */
static void oauth_stack(const char *ca)
{
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=https://app.example/cb\n",
		 SI.url, SI.url, ca);
}

static jauth_result consent_with(const char *secret, char *msg, size_t n)
{
	setenv("CLIENT_SECRET", secret, 1);
	oauth_stack(SI.ca);
	jauth *h = fx_open("svc");
	char *url = NULL;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	char *cb = standin_consent(&SI, url, NULL);
	ck_assert_ptr_nonnull(cb);
	jauth_result rc = jauth_authorize_finish(h, cb, NULL);
	snprintf(msg, n, "%s", jauth_error(h));
	free(cb);
	jauth_free(url);
	jauth_close(h);
	return rc;
}

START_TEST(test_wrong_client_secret_at_code_exchange_says_compare)
{
	char e[2048];
	ck_assert_int_eq(consent_with("not-the-secret", e, sizeof e),
			 JAUTH_DENIED);
	ck_assert_msg(strstr(e, "client_id=") && strstr(e, "client_secret") &&
			      strstr(e, "Settings"),
		      "%s", e);
}
END_TEST

/* A refresh that failed on the certificate never reached the server: once
 * the CA is fixed, even after Atlassian's reuse interval, it is sent. */
START_TEST(test_refresh_after_a_certificate_fix_is_not_held_back)
{
	char e[2048];
	time_t t0 = time(NULL);
	fx_clock(t0);
	ck_assert_msg(consent_with("csecret", e, sizeof e) == JAUTH_SUCCESS,
		      "%s", e);
	oauth_stack(SI.other_ca);
	jauth *h = fx_open("svc");
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_CONFIG);
	jauth_close(h);
	fx_clock(t0 + 700); /* past the 600 s reuse interval */
	oauth_stack(SI.ca);
	h = fx_open("svc");
	ck_assert_msg(jauth_refresh(h, NULL) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	jauth_close(h);
}
END_TEST

/* ---- no TLS stack until a request needs it (#15.1) ---- */

/* 1 when the jauth tool run with ARGS (NULL-terminated) under
 * LD_DEBUG=files mapped libcurl or OpenSSL; fails the test unless it
 * exited 0. */
static int cli_maps_tls(const char *a, const char *b)
{
	clear();
	setenv("LD_DEBUG", "files", 1);
	int st = fx_cli(NULL, &out, &err, a, b, (char *)NULL);
	unsetenv("LD_DEBUG");
	ck_assert_msg(st == 0, "jauth %s %s: %d", a, b ? b : "", st);
	ck_assert_msg(strstr(err, "libjauth.so"), "LD_DEBUG said: %.300s", err);
	return strstr(err, "libcurl") || strstr(err, "libssl");
}

/* A fresh process (the jauth tool) that needs no request never maps
 * libcurl or OpenSSL: a cached API token, an OAuth access token still
 * fresh in the store, --version, lint, status. `jauth check` does. */
START_TEST(test_token_does_not_load_the_tls_stack)
{
	apitoken_stack(SI.ca);
	ck_assert_msg(!cli_maps_tls("token", "svc"), "token loaded TLS");
	ck_assert_msg(!cli_maps_tls("--version", NULL), "--version loaded TLS");
	ck_assert_msg(!cli_maps_tls("lint", "svc"), "lint loaded TLS");
	ck_assert_msg(!cli_maps_tls("status", "svc"), "status loaded TLS");
	ck_assert_msg(cli_maps_tls("check", "svc"), "check did not load TLS");
}
END_TEST

START_TEST(test_fresh_oauth_token_does_not_load_the_tls_stack)
{
	char e[2048];
	ck_assert_msg(consent_with("csecret", e, sizeof e) == JAUTH_SUCCESS,
		      "%s", e);
	long before = standin_counter(&SI, "token_requests");
	ck_assert_msg(!cli_maps_tls("token", "svc"), "token loaded TLS");
	ck_assert_msg(!cli_maps_tls("status", "svc"), "status loaded TLS");
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), before);
}
END_TEST

/* http.so is found next to the libjauth.so.1 that runs, and is checked
 * like a module before it is loaded. */
static const struct {
	const char *name;
	int mode; /* of LIB/jauth/http.so; 0: not there */
	int exit;
	const char *says;
} private_cases[] = {
	{ "missing", 0, 1, "http.so: does not exist" },
	{ "writable by others", 0666, 1, "reinstall jauth" },
	{ "in place", 0644, 0, NULL },
};

static void copy(const char *from, const char *to, int mode)
{
	size_t n = 0;
	FILE *src = fopen(from, "rb"), *dst = fopen(to, "wb");
	ck_assert(src && dst);
	char buf[65536];
	while ((n = fread(buf, 1, sizeof buf, src)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, dst), n);
	fclose(src);
	fclose(dst);
	chmod(to, (mode_t)mode);
}

START_TEST(test_http_so_found_next_to_libjauth_and_checked)
{
	__typeof__(private_cases[0]) *c = &private_cases[_i];
	char lib[PATH_MAX], path[PATH_MAX + 32];
	snprintf(lib, sizeof lib, "%s/lib", FX.dir);
	ck_assert_int_eq(mkdir(lib, 0755), 0);
	snprintf(path, sizeof path, "%s/libjauth.so.1", lib);
	copy(JAUTH_TEST_BUILDDIR "/lib/libjauth.so.1", path, 0755);
	if (c->mode) {
		snprintf(path, sizeof path, "%s/jauth", lib);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof path, "%s/jauth/http.so", lib);
		copy(JAUTH_TEST_BUILDDIR "/lib/jauth/http.so", path, c->mode);
	}
	apitoken_stack(SI.ca);
	setenv("LD_LIBRARY_PATH", lib, 1);
	int st = fx_cli(NULL, &out, &err, "check", "svc", (char *)NULL);
	ck_assert_msg(st == c->exit, "%s: exit %d: %s", c->name, st, err);
	if (c->says)
		ck_assert_msg(strstr(err, c->says) && strstr(err, lib),
			      "%s: %s", c->name, err);
}
END_TEST

Suite *suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("client");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, fx_setup_standin, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_get_answers_with_status_body_and_date);
	tcase_add_test(tc, test_get_without_source_uses_the_system_cas);
	tcase_add_test(tc, test_get_of_an_unknown_line_refused);
	tcase_add_test(tc, test_get_of_a_plain_http_url_refused);
	tcase_add_test(tc, test_get_message_hides_a_url_password);
	tcase_add_test(tc, test_get_429_with_retry_after_then_200);
	tcase_add_test(tc, test_get_503_after_every_try_is_transient);
	tcase_add_test(tc, test_retry_after_beyond_the_deadline_ends_the_tries);
	tcase_add_loop_test(tc, test_network_errors_name_line_url_and_fix, 0,
			    sizeof error_cases / sizeof *error_cases);
	tcase_add_test(tc, test_debug_trace_shows_the_exchange_not_the_secret);
	tcase_add_test(tc, test_check_waits_for_retry_after_then_succeeds);
	tcase_add_test(tc, test_check_429_after_every_try_exits_5);
	tcase_add_test(tc, test_check_untrusted_certificate_exits_2);
	tcase_add_test(tc, test_check_vv_traces_without_the_token);
	tcase_add_test(tc,
		       test_wrong_client_secret_at_code_exchange_says_compare);
	tcase_add_test(tc,
		       test_refresh_after_a_certificate_fix_is_not_held_back);
	tcase_add_test(tc, test_token_does_not_load_the_tls_stack);
	tcase_add_test(tc, test_fresh_oauth_token_does_not_load_the_tls_stack);
	tcase_add_loop_test(tc, test_http_so_found_next_to_libjauth_and_checked,
			    0, sizeof private_cases / sizeof *private_cases);
	suite_add_tcase(s, tc);
	return s;
}
