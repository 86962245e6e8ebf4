/*
 * check_hostile.c — hostile input, as a table: each row a stack file or a
 * server answer that tries to break jauth, and the clear refusal it gets.
 * Nothing may crash, hang, or lose the stored grant.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jauth/module.h>

#include "fixture.h"
#include "suites.h"

/* ---- stack files ---- */

/* Builds the text of a stack row (some are too big for a literal). */
typedef char *(*stack_maker)(void);

/* A line of almost 1 MiB (the file itself stays under the 1 MiB cap). */
static char *big_line(void)
{
	size_t n = 1024 * 1024 - 64;
	char *s = malloc(n + 64);
	strcpy(s, "required testmod.so token=");
	memset(s + 26, 'a', n);
	strcpy(s + 26 + n, "\n");
	return s;
}

static char *many_lines(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	for (int i = 0; i < 10000; i++)
		fputs("optional testmod.so\n", f);
	fclose(f);
	return s;
}

/* svc includes d1 … d20, each the next: deeper than 16. */
static char *deep_includes(void)
{
	for (int i = 1; i <= 20; i++) {
		char name[16];
		snprintf(name, sizeof name, "d%d", i);
		if (i < 20)
			fx_stack(name, "include d%d\n", i + 1);
		else
			fx_stack(name, "required testmod.so\n");
	}
	return strdup("include d1\n");
}

struct stack_case {
	const char *name;
	const char *text; /* or NULL and make */
	stack_maker make;
	size_t len; /* for texts with NUL bytes */
	const char *error;
};

static const struct stack_case stack_cases[] = {
	{ "1 MiB line", NULL, big_line, 0, "line longer than 8192 bytes" },
	{ "10 000 lines", NULL, many_lines, 0, "more than 256 module lines" },
	{ "deep includes", NULL, deep_includes, 0, "nested deeper than 16" },
	{ "NUL byte", "required testmod.so tok\0en=x\n", NULL, 30,
	  "a NUL byte" },
	{ "invalid UTF-8", "required testmod.so token=\xc3\x28\n", NULL, 0,
	  "invalid UTF-8" },
	{ "surrogate in UTF-8", "required testmod.so token=\xed\xa0\x80\n",
	  NULL, 0, "invalid UTF-8" },
	{ "February 30th",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://x.example expires=2026-02-30\n",
	  NULL, 0, "expires= is not a real date" },
	{ "URL with userinfo",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://user:pass@x.example\n",
	  NULL, 0, "must not carry a user name" },
	{ "URL with fragment",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://x.example/#top\n",
	  NULL, 0, "must not have a #fragment" },
	{ "port out of range",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://x.example:99999\n",
	  NULL, 0, "site= is not a valid URL" },
	{ "huge number",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://x.example warn_days=99999999999999999999\n",
	  NULL, 0, "warn_days= is not a whole number" },
	{ "negative number",
	  "required apitoken.so email=a@b.c token=@env:T "
	  "site=https://x.example warn_days=-1\n",
	  NULL, 0, "warn_days= must be between 0 and 365" },
	{ "blank in a module name", "required test\tmod.so\n", NULL, 0,
	  "argument 1 is not key=value" },
	{ "path in a module name", "required ../../etc/passwd\n", NULL, 0,
	  "must be a bare file name" },
	{ "cloud_id= of dots",
	  "required oauth3lo.so client_id=cid client_secret=@env:S "
	  "region=us cloud_id=..\n",
	  NULL, 0, "cloud_id= must be the id from admin.atlassian.com" },
	{ "cloud_id= with a dot",
	  "required oauth3lo.so client_id=cid client_secret=@env:S "
	  "region=us cloud_id=a.b\n",
	  NULL, 0, "cloud_id= must be the id from admin.atlassian.com" },
	{ "redirect_uri= on localhost",
	  "required oauth3lo.so client_id=cid client_secret=@env:S "
	  "redirect_uri=http://localhost:8080/cb\n",
	  NULL, 0, "write http://127.0.0.1:PORT/" },
};

/* Secrets a stack line holds where the parser did not expect them (a
 * forgotten continuation backslash): lint and open name the problem but
 * not the secret. */
static const struct {
	const char *name, *text, *secret, *error;
} misplaced_cases[] = {
	{ "token= where a control belongs",
	  "required apitoken.so email=a@b.c site=https://x.example\n"
	  "    token=ATATT3xFfGF0T5Jp8PlLmqN9v expires=2027-01-01\n",
	  "ATATT3xFfGF0T5Jp8PlLmqN9v", "unknown control \"token=" },
	{ "a module's own secret key",
	  "required apitoken.so email=a@b.c site=https://x.example\n"
	  "    pat=dcpat-Xy7Qw3Er5Ty8Ui9Op0 x.so\n",
	  "dcpat-Xy7Qw3Er5Ty8Ui9Op0", "unknown control \"pat=" },
	{ "a bare token with = in it",
	  "required apitoken.so email=a@b.c site=https://x.example\n"
	  "    ATATT3xFfGF0T5Jp8PlLmqN9v=0A1B2C3D expires=2027-01-01\n",
	  "T5Jp8PlLmqN9v", "unknown control" },
	{ "a secret in the module's place",
	  "required client_secret=Zq8Wx7Ec6Rv5Tb4Yn3\n", "Zq8Wx7Ec6Rv5Tb4Yn3",
	  "module" },
};

START_TEST(test_misplaced_secret_not_shown)
{
	char *report = NULL;
	fx_stack_bytes("svc", misplaced_cases[_i].text,
		       strlen(misplaced_cases[_i].text));
	ck_assert_int_eq(jauth_lint("svc", &FX.opt, &report), JAUTH_CONFIG);
	ck_assert_msg(strstr(report, misplaced_cases[_i].error), "%s: [%s]",
		      misplaced_cases[_i].name, report);
	ck_assert_msg(!strstr(report, misplaced_cases[_i].secret),
		      "%s: lint shows it: [%s]", misplaced_cases[_i].name,
		      report);
	jauth_free(report);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(!strstr(jauth_error(h), misplaced_cases[_i].secret),
		      "%s: open shows it: [%s]", misplaced_cases[_i].name,
		      jauth_error(h));
	jauth_close(h);
	char *out = NULL, *err = NULL;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "lint", "svc", (char *)NULL),
			 2);
	ck_assert_msg(!strstr(out, misplaced_cases[_i].secret) &&
			      !strstr(err, misplaced_cases[_i].secret),
		      "%s: jauth lint shows it: [%s%s]",
		      misplaced_cases[_i].name, out, err);
	free(out);
	free(err);
}
END_TEST

/* What keeps secrets out of messages keeps names in: a versioned module
 * name ("apitoken.so.1", a soname copied from ls) is not taken for a
 * token, so the error says which name was not found. */
START_TEST(test_versioned_module_name_stays_readable)
{
	char *report = NULL;
	fx_stack("svc", "required apitoken.so.1 email=a@b.c token=x\n");
	ck_assert_int_eq(jauth_lint("svc", &FX.opt, &report), JAUTH_CONFIG);
	ck_assert_msg(strstr(report, "module apitoken.so.1 not found"), "%s",
		      report);
	jauth_free(report);
}
END_TEST

START_TEST(test_hostile_stack_table)
{
	const struct stack_case *c = &stack_cases[_i];
	char *made = c->make ? c->make() : NULL;
	const char *text = made ? made : c->text;
	fx_stack_bytes("svc", text, c->len ? c->len : strlen(text));
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), c->error), "%s: [%s]", c->name,
		      jauth_error(h));
	jauth_close(h);
	free(made);
}
END_TEST

/* ---- the terminal escape: jauth_m_clean, the core's one helper ---- */

static const struct {
	const char *name, *in, *out;
} clean_cases[] = {
	{ "plain text stays", "acme (https://acme.atlassian.net)",
	  "acme (https://acme.atlassian.net)" },
	{ "UTF-8 stays", "Z\xc3\xbcrich \xe2\x80\x94 \xf0\x9f\x9a\x80",
	  "Z\xc3\xbcrich \xe2\x80\x94 \xf0\x9f\x9a\x80" },
	{ "newline, return, tab", "a\nb\rc\td", "a\\nb\\rc\\td" },
	{ "ESC sequences", "\x1b[2J\x1b]0;pwned\x07",
	  "\\x1b[2J\\x1b]0;pwned\\x07" },
	{ "DEL", "a\x7f", "a\\x7f" },
	{ "C1 CSI as UTF-8", "a\xc2\x9b[31m", "a\\u009b[31m" },
	{ "C1 CSI as a raw byte", "a\x9b[31m", "a\\x9b[31m" },
	{ "NBSP is not C1", "a\xc2\xa0z", "a\xc2\xa0z" },
	{ "invalid UTF-8", "\xc3(", "\\xc3(" },
	{ "overlong slash", "\xc0\xaf", "\\xc0\\xaf" },
	{ "surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80" },
	{ "cut-off sequence", "ab\xe2\x80", "ab\\xe2\\x80" },
	{ "a forged line stays on this one", "ok\njauth: done",
	  "ok\\njauth: done" },
	{ "secrets masked too", "Authorization: Bearer abc123def456",
	  "Authorization: Bearer [redacted]" },
};

START_TEST(test_clean_table)
{
	char *got = jauth_m_clean(NULL, clean_cases[_i].in);
	ck_assert_msg(strcmp(got, clean_cases[_i].out) == 0, "%s: [%s]",
		      clean_cases[_i].name, got);
	free(got);
}
END_TEST

/* ---- answers of the server ---- */

static time_t T0;

static void setup_oauth(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	fx_clock(T0);
	fx_oauth_stack();
}

/* Adds a one-shot fault answering PATH with STATUS and BODY; with ECHO,
 * {{FIELD}} in BODY is what the request sent as FIELD. */
static void answer_fault(const char *path, int status, const char *body,
			 int echo)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", path);
	cJSON_AddNumberToObject(f, "status", status);
	cJSON_AddStringToObject(f, "body", body);
	if (echo)
		cJSON_AddTrueToObject(f, "echo");
	char *json = cJSON_PrintUnformatted(f);
	ck_assert_int_eq(standin_fault(&SI, json), 0);
	free(json);
	cJSON_Delete(f);
}

static void answer_once(const char *path, int status, const char *body)
{
	answer_fault(path, status, body, 0);
}

static char *consent_callback(jauth *h)
{
	char *url = NULL;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	char *cb = standin_consent(&SI, url, NULL);
	ck_assert_ptr_nonnull(cb);
	jauth_free(url);
	return cb;
}

static jauth *consented(void)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_msg(jauth_authorize_finish(h, cb, NULL) == JAUTH_SUCCESS,
		      "%s", jauth_error(h));
	free(cb);
	return h;
}

struct answer_case {
	const char *name;
	const char *body;
	jauth_result want;
	const char *error; /* in jauth_error, when want is a failure */
};

/* Token endpoint answers (HTTP 200) to a refresh. The stand-in answers
 * these instead of processing the request, so the grant's refresh token is
 * still the one in force: rows carry no refresh_token of their own. */
static const struct answer_case token_cases[] = {
	{ "not JSON", "<html>surprise</html>", JAUTH_ERROR, "is not JSON" },
	{ "a JSON string", "\"token\"", JAUTH_ERROR, "not a JSON object" },
	{ "wrong type", "{\"access_token\": 42, \"expires_in\": 3600}",
	  JAUTH_ERROR, "\"access_token\" is missing or not a string" },
	{ "duplicate keys",
	  "{\"access_token\": \"a1\", \"access_token\": \"a2\", "
	  "\"expires_in\": 3600}",
	  JAUTH_ERROR, "\"access_token\" is given twice" },
	{ "expires_in missing", "{\"access_token\": \"a1\"}", JAUTH_ERROR,
	  "\"expires_in\" is missing or not a number" },
	{ "expires_in negative",
	  "{\"access_token\": \"a1\", \"expires_in\": -3600}", JAUTH_SUCCESS,
	  NULL },
	{ "expires_in 10^12",
	  "{\"access_token\": \"a1\", \"expires_in\": 1e12}", JAUTH_SUCCESS,
	  NULL },
	{ "number out of range",
	  "{\"access_token\": \"a1\", \"expires_in\": 1e999}", JAUTH_ERROR,
	  "\"expires_in\" is missing or not a number" },
	{ "no refresh_token",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600}", JAUTH_SUCCESS,
	  NULL },
	{ "nested arrays",
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	  JAUTH_ERROR, "\"access_token\" is missing or not a string" },
	{ "refresh_token empty",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600, "
	  "\"refresh_token\": \"\"}",
	  JAUTH_ERROR,
	  "refresh_token is empty. The refresh token in force "
	  "is kept" },
	{ "refresh_token a number",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600, "
	  "\"refresh_token\": 42}",
	  JAUTH_ERROR,
	  "refresh_token is not a string. The refresh token in "
	  "force is kept" },
	{ "refresh_token null",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600, "
	  "\"refresh_token\": null}",
	  JAUTH_ERROR, "refresh_token is not a string" },
	{ "refresh_token twice",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600, "
	  "\"refresh_token\": \"r1\", \"refresh_token\": \"r2\"}",
	  JAUTH_ERROR, "refresh_token is given more than once" },
	{ "access_token with ESC",
	  "{\"access_token\": \"a1\\u001b[2J\", \"expires_in\": 3600}",
	  JAUTH_ERROR, "its access_token is empty or holds characters" },
	{ "access_token empty",
	  "{\"access_token\": \"\", \"expires_in\": 3600}", JAUTH_ERROR,
	  "its access_token is empty or holds characters" },
	{ "refresh_token with a newline",
	  "{\"access_token\": \"a1\", \"expires_in\": 3600, "
	  "\"refresh_token\": \"r1\\nX: y\"}",
	  JAUTH_ERROR, "refresh_token holds characters no token has" },
};

static const char *record_path(void)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/svc.oauth3lo.cid.json", FX.state);
	return path;
}

/* The stored refresh token (malloc'd). */
static char *stored_rt(void)
{
	char *text = fx_read(record_path());
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	cJSON *rt = cJSON_GetObjectItem(j, "refresh_token");
	char *v = cJSON_IsString(rt) ? strdup(rt->valuestring) : NULL;
	cJSON_Delete(j);
	free(text);
	return v;
}

START_TEST(test_hostile_token_answer_table)
{
	const struct answer_case *c = &token_cases[_i];
	jauth *h = consented();
	char *before = stored_rt();
	answer_once("/oauth/token", 200, c->body);
	const jauth_cred *cr;
	jauth_result rc = jauth_refresh(h, &cr);
	ck_assert_msg(rc == c->want, "%s: %s (%s)", c->name,
		      jauth_result_name(rc), jauth_error(h));
	if (c->error)
		ck_assert_msg(strstr(jauth_error(h), c->error), "%s: [%s]",
			      c->name, jauth_error(h));
	/* Whatever came back, the grant still works afterwards. */
	char *after = stored_rt();
	ck_assert_ptr_nonnull(after);
	ck_assert_msg(jauth_refresh(h, &cr) == JAUTH_SUCCESS, "%s: after: %s",
		      c->name, jauth_error(h));
	ck_assert_str_eq(after, before); /* kept, not lost */
	free(before);
	free(after);
	jauth_close(h);
}
END_TEST

/* accessible-resources answers at consent. */
static const struct answer_case site_cases[] = {
	{ "id a number",
	  "[{\"id\": 5, \"url\": \"https://a\", \"name\": \"a\"}]", JAUTH_ERROR,
	  "\"id\" is missing or not a string" },
	{ "not a list", "{\"id\": \"x\"}", JAUTH_ERROR, "not a JSON array" },
	{ "empty list", "[]", JAUTH_DENIED, "granted no Jira site" },
	{ "not JSON", "sites!", JAUTH_ERROR, "is not JSON" },
	{ "id climbing out of the REST base",
	  "[{\"id\": \"../../../oauth/token?x=\", \"url\": \"https://a\", "
	  "\"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id with CR/LF and a header",
	  "[{\"id\": \"x\\r\\nX-Injected: yes\", \"url\": \"https://a\", "
	  "\"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id ..",
	  "[{\"id\": \"..\", \"url\": \"https://a\", \"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id with a slash",
	  "[{\"id\": \"a/b\", \"url\": \"https://a\", \"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id with a fragment",
	  "[{\"id\": \"a#b\", \"url\": \"https://a\", \"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id with ESC",
	  "[{\"id\": \"a\\u001b[2J\", \"url\": \"https://a\", "
	  "\"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
	{ "id empty",
	  "[{\"id\": \"\", \"url\": \"https://a\", \"name\": \"a\"}]",
	  JAUTH_ERROR, "an id that is not a cloud id" },
};

START_TEST(test_hostile_sites_answer_table)
{
	const struct answer_case *c = &site_cases[_i];
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	answer_once("/oauth/token/accessible-resources", 200, c->body);
	jauth_result rc = jauth_authorize_finish(h, cb, NULL);
	ck_assert_msg(rc == c->want, "%s: %s (%s)", c->name,
		      jauth_result_name(rc), jauth_error(h));
	ck_assert_msg(strstr(jauth_error(h), c->error), "%s: [%s]", c->name,
		      jauth_error(h));
	free(cb);
	jauth_close(h);
}
END_TEST

/* Callbacks an attacker (or a confused admin) might paste. */
static const struct {
	const char *name, *suffix, *error;
	jauth_result want;
} callback_cases[] = {
	{ "repeated state", "&state=evil", "state more than once",
	  JAUTH_DENIED },
	{ "repeated code", "&code=evil", "code more than once", JAUTH_DENIED },
	{ "fragment injected", "#state=evil", NULL, JAUTH_SUCCESS },
};

START_TEST(test_hostile_callback_table)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h), line[8192];
	snprintf(line, sizeof line, "%s%s", cb, callback_cases[_i].suffix);
	jauth_result rc = jauth_authorize_finish(h, line, NULL);
	ck_assert_msg(rc == callback_cases[_i].want, "%s: %s (%s)",
		      callback_cases[_i].name, jauth_result_name(rc),
		      jauth_error(h));
	if (callback_cases[_i].error)
		ck_assert_ptr_nonnull(
			strstr(jauth_error(h), callback_cases[_i].error));
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_callback_without_code_or_state)
{
	jauth *h = fx_open("svc");
	ck_assert_int_eq(jauth_authorize_finish(
				 h, "https://app.example/cb?state=x", NULL),
			 JAUTH_ERROR);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "the callback has no code"));
	ck_assert_int_eq(jauth_authorize_finish(h, "", NULL), JAUTH_ERROR);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "the callback has no state"));
	jauth_close(h);
}
END_TEST

/* ---- secrets a server echoes, text it injects ---- */

/* 1 when S holds something a terminal acts on: a C0 control other than
 * newline and tab, DEL, or a C1 control (UTF-8 or raw), or a
 * newline followed by a line forged to look like jauth's own. */
static int unsafe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f ||
		    (*p >= 0x80 && *p < 0xa0 &&
		     (p == (const unsigned char *)s || p[-1] == 0xc2 ||
		      p[-1] < 0x80)))
			return 1;
	}
	return strstr(s, "\njauth: ok") != NULL;
}

/* The string field KEY of the grant record (malloc'd), or NULL. */
static char *record_str(const char *key)
{
	char *text = fx_read(record_path());
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	cJSON *v = cJSON_GetObjectItem(j, key);
	char *out = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	free(text);
	return out;
}

/* Runs the CLI with ARGS; fails the test if its output holds any of the
 * NULL-terminated SECRETS or text a terminal would act on. */
static void cli_clean(const char *const *args, const char *const *secrets)
{
	char *out = NULL, *err = NULL;
	char *argv[8] = { 0 };
	for (int i = 0; args[i] && i < 7; i++)
		argv[i] = (char *)args[i];
	fx_cli_argv(NULL, &out, &err, argv);
	for (int i = 0; secrets[i]; i++)
		ck_assert_msg(!strstr(out, secrets[i]) &&
				      !strstr(err, secrets[i]),
			      "jauth %s %s shows a secret: [%s] [%s]", args[0],
			      args[1] ? args[1] : "", out, err);
	ck_assert_msg(!unsafe(out) && !unsafe(err),
		      "jauth %s %s prints raw control text: [%s] [%s]", args[0],
		      args[1] ? args[1] : "", out, err);
	free(out);
	free(err);
}

/* The first refresh of a process (every `jauth refresh` from cron) sends
 * the refresh token loaded from the store: a server quoting it back must
 * not get it printed. */
START_TEST(test_echoed_refresh_token_masked_in_a_new_process)
{
	jauth_close(consented());
	char *rt = stored_rt();
	jauth *h = fx_open("svc");
	answer_fault("/oauth/token", 400,
		     "{\"error\": \"invalid_request\", \"error_description\": "
		     "\"\\u001b]0;pwned\\u0007refresh token {{refresh_token}} "
		     "of client {{client_secret}} is odd\\njauth: ok\"}",
		     1);
	const jauth_cred *cr;
	ck_assert_int_eq(jauth_refresh(h, &cr), JAUTH_ERROR);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e, "is odd"), "%s", e); /* the echo came back */
	ck_assert_msg(!strstr(e, rt) && !strstr(e, "csecret"), "%s", e);
	ck_assert_msg(!unsafe(e), "%s", e);
	ck_assert(!fx_log_has(rt));
	jauth_close(h);
	answer_fault("/oauth/token", 400,
		     "{\"error\": \"invalid_request\", \"error_description\": "
		     "\"refresh token {{refresh_token}} is odd\"}",
		     1);
	const char *refresh[] = { "refresh", "svc", NULL };
	const char *secrets[] = { rt, "csecret", NULL };
	cli_clean(refresh, secrets);
	free(rt);
}
END_TEST

/* invalid_grant's description becomes the grant's dead reason, which every
 * later status and token shows: it is stored masked and cleaned. */
START_TEST(test_echoed_secrets_in_a_dead_reason_not_kept)
{
	jauth_close(consented());
	char *rt = stored_rt();
	answer_fault("/oauth/token", 403,
		     "{\"error\": \"invalid_grant\", \"error_description\": "
		     "\"\\u001b[2J{{refresh_token}} of {{client_secret}} is "
		     "unknown\\njauth: ok\"}",
		     1);
	const char *refresh[] = { "refresh", "svc", NULL };
	const char *secrets[] = { rt, "csecret", NULL };
	cli_clean(refresh, secrets);
	char *reason = record_str("dead_reason");
	ck_assert_ptr_nonnull(reason);
	ck_assert_msg(strstr(reason, "is unknown"), "%s", reason);
	ck_assert_msg(!strstr(reason, rt) && !strstr(reason, "csecret") &&
			      !strchr(reason, '\n') && !strchr(reason, 0x1b),
		      "%s", reason);
	const char *status[] = { "status", "svc", NULL };
	const char *status_json[] = { "status", "svc", "--json", NULL };
	const char *token[] = { "token", "svc", NULL };
	cli_clean(status, secrets);
	cli_clean(status_json, secrets);
	cli_clean(token, secrets);
	free(reason);
	free(rt);
}
END_TEST

/* A dead reason stored raw (by an older jauth) is shown masked and
 * escaped by processes that never send the client secret or the refresh
 * token. */
START_TEST(test_stored_dead_reason_masked_when_shown)
{
	jauth_close(consented());
	char *rt = stored_rt(), reason[512];
	char *text = fx_read(record_path());
	cJSON *j = cJSON_Parse(text);
	snprintf(reason, sizeof reason,
		 "Atlassian: invalid_grant: \x1b[2J%s of client csecret is "
		 "unknown\njauth: ok",
		 rt);
	cJSON_AddNumberToObject(j, "dead_at", (double)T0);
	cJSON_AddStringToObject(j, "dead_reason", reason);
	char *edited = cJSON_PrintUnformatted(j);
	fx_write(record_path(), 0600, edited);
	const char *status[] = { "status", "svc", NULL };
	const char *status_json[] = { "status", "svc", "--json", NULL };
	const char *token[] = { "token", "svc", NULL };
	const char *secrets[] = { rt, "csecret", NULL };
	cli_clean(status, secrets);
	cli_clean(status_json, secrets);
	cli_clean(token, secrets);
	free(edited);
	cJSON_Delete(j);
	free(text);
	free(rt);
}
END_TEST

START_TEST(test_echoed_code_masked)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h), *code = NULL;
	ck_assert_int_eq(jauth_m_url_param(cb, "code", &code), JAUTH_SUCCESS);
	answer_fault("/oauth/token", 400,
		     "{\"error\": \"invalid_request\", \"error_description\": "
		     "\"code {{code}} is odd\"}",
		     1);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "is odd"), "%s", jauth_error(h));
	ck_assert_msg(!strstr(jauth_error(h), code), "%s", jauth_error(h));
	ck_assert(!fx_log_has(code));
	free(code);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_callback_error_text_escaped)
{
	jauth *h = fx_open("svc");
	char *url = NULL, *st = NULL, cb[1024];
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_m_url_param(url, "state", &st), JAUTH_SUCCESS);
	snprintf(cb, sizeof cb,
		 "https://app.example/cb?error=access_denied%%1b%%5b2J&"
		 "error_description=%%1b%%5d0%%3bpwned%%07%%c2%%9b%%0ajauth%%3a"
		 "%%20ok&state=%s",
		 st);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_DENIED);
	ck_assert_msg(strstr(jauth_error(h), "pwned"), "%s", jauth_error(h));
	ck_assert_msg(!unsafe(jauth_error(h)), "%s", jauth_error(h));
	jauth_free(url);
	free(st);
	jauth_close(h);
}
END_TEST

START_TEST(test_site_text_escaped)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h), *report = NULL, *status = NULL;
	answer_once("/oauth/token/accessible-resources", 200,
		    "[{\"id\": \"11111111-2222-3333-4444-555555555555\", "
		    "\"url\": \"https://acme.atlassian.net\\u001b[2J\", "
		    "\"name\": \"acme\\u001b]0;pwned\\u0007\\njauth: ok\"}]");
	ck_assert_msg(jauth_authorize_finish(h, cb, &report) == JAUTH_SUCCESS,
		      "%s", jauth_error(h));
	ck_assert_msg(strstr(report, "pwned") && !unsafe(report), "%s", report);
	char *name = record_str("site_name");
	ck_assert_msg(name && !unsafe(name) && !strchr(name, '\n'), "%s", name);
	ck_assert_int_eq(jauth_status(h, &status), JAUTH_SUCCESS);
	cJSON *doc = cJSON_Parse(status);
	cJSON *st = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "lines"), 0),
		"status");
	const char *site =
		cJSON_GetStringValue(cJSON_GetObjectItem(st, "site"));
	ck_assert_msg(site && !unsafe(site) && !strchr(site, '\n'), "%s",
		      status);
	const char *args[] = { "status", "svc", NULL };
	const char *none[] = { NULL };
	cli_clean(args, none);
	cJSON_Delete(doc);
	jauth_free(status);
	jauth_free(report);
	free(name);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_myself_fields_escaped_by_check)
{
	ck_assert_int_eq(
		standin_config(
			&SI, "{\"user\": {\"account_id\": \"acc-1\", \"name\": "
			     "\"Sync\\u001b[2J\\njauth: ok\", \"email\": "
			     "\"svc@acme.com\\u009b31m\"}}"),
		0);
	jauth_close(consented());
	const char *args[] = { "check", "svc", NULL };
	const char *none[] = { NULL };
	cli_clean(args, none);
}
END_TEST

/* A consent to thousands of sites and no cloud_id=: the error names a few
 * and says how many more, not all of them on one line. */
START_TEST(test_thousands_of_sites_listed_briefly)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	size_t cap = 9000 * 80 + 16, len = 0;
	char *body = malloc(cap);
	len += (size_t)snprintf(body, cap, "[");
	for (int i = 0; i < 9000; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"id\": \"s%04d\", \"url\": "
					"\"https://s%04d.example\", "
					"\"name\": \"s%04d\"}",
					i ? ", " : "", i, i, i);
	snprintf(body + len, cap - len, "]");
	answer_once("/oauth/token/accessible-resources", 200, body);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_CONFIG);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e,
			     "the consent granted 9000 sites: add cloud_id="),
		      "%.300s", e);
	ck_assert_msg(strstr(e,
			     "s0004 (https://s0004.example, cloud_id=s0004)"),
		      "%.600s", e);
	ck_assert_msg(!strstr(e, "s0005") && strstr(e, "and 8995 more"),
		      "%.600s", e);
	ck_assert_msg(strlen(e) < 1024, "%zu bytes", strlen(e));
	free(body);
	free(cb);
	jauth_close(h);
}
END_TEST

/* A record that holds a cloud id no consent could have stored (an older
 * version's, or an edit) is not made into a REST base. */
START_TEST(test_stored_cloud_id_checked)
{
	jauth_close(consented());
	char *text = fx_read(record_path());
	cJSON *j = cJSON_Parse(text);
	cJSON_ReplaceItemInObject(j, "cloud_id",
				  cJSON_CreateString(
					  "../../../oauth/token?x="));
	char *edited = cJSON_PrintUnformatted(j);
	fx_write(record_path(), 0600, edited);
	jauth *h = fx_open("svc");
	const jauth_cred *cr;
	ck_assert_int_eq(jauth_acquire(h, &cr), JAUTH_ERROR);
	ck_assert_msg(strstr(jauth_error(h), "cloud id is not one"), "%s",
		      jauth_error(h));
	jauth_close(h);
	free(edited);
	cJSON_Delete(j);
	free(text);
}
END_TEST

/* ---- hostile local users: the loopback listener, the process list ---- */

/* A free loopback port (bound and released). */
static int loopback_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	getsockname(s, (struct sockaddr *)&a, &n);
	close(s);
	return ntohs(a.sin_port);
}

static int dial(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
	return s;
}

/* GET TARGET on a new connection: the answer's status code, or -1. */
static int get_status(int port, const char *target)
{
	char req[4096], resp[512] = { 0 };
	int s = dial(port), code = -1;
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
			 target);
	(void)!write(s, req, (size_t)n);
	(void)!read(s, resp, sizeof resp - 1);
	close(s);
	sscanf(resp, "HTTP/1.1 %d", &code);
	return code;
}

/* An interactive `jauth authorize svc` on a loopback redirect_uri. */
struct authorizing {
	pid_t pid;
	int port;
	FILE *out, *err;
	char *url, *state;
};

/* The parent's end of a child's output pipe. */
static FILE *child_pipe(int pfd[2])
{
	close(pfd[1]);
	return fdopen(pfd[0], "r");
}

/* Starts it and returns once it listens, with the consent address. */
static void authorize_start(struct authorizing *a)
{
	char line[8192];
	int o[2], e[2];
	a->port = loopback_port();
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=http://127.0.0.1:%d/callback\n",
		 SI.url, SI.url, SI.ca, a->port);
	ck_assert(pipe(o) == 0 && pipe(e) == 0);
	if ((a->pid = fork()) == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execl(JAUTH_TEST_BUILDDIR "/bin/jauth", "jauth", "-c", FX.conf,
		      "-m", FX.mods, "-s", FX.state, "authorize", "svc",
		      (char *)NULL);
		_exit(127);
	}
	a->out = child_pipe(o);
	a->err = child_pipe(e);
	a->url = NULL;
	while (fgets(line, sizeof line, a->out) &&
	       !strstr(line, "Waiting for the browser"))
		if (!a->url && strstr(line, "https://"))
			a->url = strdup(line + strspn(line, " "));
	ck_assert_ptr_nonnull(a->url);
	a->url[strcspn(a->url, "\n")] = '\0';
	ck_assert_int_eq(jauth_m_url_param(a->url, "state", &a->state),
			 JAUTH_SUCCESS);
}

/* The admin's browser: consents at the stand-in and comes back. Returns
 * the status code the listener answered. */
static int browser_returns(struct authorizing *a)
{
	char *cb = standin_consent(&SI, a->url, NULL);
	ck_assert_ptr_nonnull(cb);
	int code = get_status(a->port, strchr(cb + 7, '/'));
	free(cb);
	return code;
}

/* Waits for it; its exit status (-signal when killed), stdout and stderr
 * (malloc'd). */
static int authorize_end(struct authorizing *a, char **out, char **err)
{
	int st;
	size_t n;
	*out = calloc(1, 65536);
	*err = calloc(1, 65536);
	n = fread(*out, 1, 65535, a->out);
	(*out)[n] = '\0';
	n = fread(*err, 1, 65535, a->err);
	(*err)[n] = '\0';
	waitpid(a->pid, &st, 0);
	fclose(a->out);
	fclose(a->err);
	free(a->url);
	free(a->state);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* authorize_end, wanting the consent to have succeeded (exit 0). */
static void authorize_end_ok(struct authorizing *a)
{
	char *out, *err;
	int st = authorize_end(a, &out, &err);
	ck_assert_msg(st == 0, "exit %d: %s", st, err);
	free(out);
	free(err);
}

/* Another local user answers the callback address first, with a forged
 * error (escape sequences and a fake line) and with a code of their own:
 * both are refused without ending the consent, and nothing of theirs
 * reaches the admin's terminal. */
START_TEST(test_listener_ignores_wrong_state)
{
	struct authorizing a;
	char *out, *err;
	authorize_start(&a);
	ck_assert_int_eq(get_status(a.port,
				    "/callback?error=access_denied&"
				    "error_description=%1b%5b2J%1b%5d0%3bpwned"
				    "%07%0ajauth%3a%20ok&state=guess"),
			 400);
	ck_assert_int_eq(get_status(a.port, "/callback?code=evil&state=guess"),
			 400);
	ck_assert_int_eq(get_status(a.port, "/callback?code=evil"), 400);
	ck_assert_int_eq(get_status(a.port, "/favicon.ico"), 404);
	ck_assert_int_eq(browser_returns(&a), 200);
	int st = authorize_end(&a, &out, &err);
	ck_assert_msg(st == 0, "exit %d: %s", st, err);
	ck_assert_msg(strstr(out, "authorized site acme"), "%s", out);
	ck_assert_msg(strstr(err, "ignored a request"), "%s", err);
	ck_assert_msg(!unsafe(out) && !unsafe(err) && !strstr(err, "pwned"),
		      "%s%s", out, err);
	free(out);
	free(err);
}
END_TEST

/* Connections that hang up before the answer (a local user, or a browser
 * tab closed) must not kill the listener with SIGPIPE. */
START_TEST(test_listener_survives_hangups)
{
	struct authorizing a;
	char req[256];
	authorize_start(&a);
	for (int i = 0; i < 20; i++) {
		int s = dial(a.port);
		struct linger reset = { 1, 0 };
		int n = snprintf(req, sizeof req,
				 "GET /callback?code=x&state=%s HTTP/1.1\r\n"
				 "\r\n",
				 i % 2 ? a.state : "guess");
		(void)!write(s, req, (size_t)(i % 2 ? n / 2 : n));
		setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
		close(s); /* RST: the answer's writes hit a dead peer */
	}
	ck_assert_int_eq(browser_returns(&a), 200);
	authorize_end_ok(&a);
}
END_TEST

/* Idle connections (one byte and then nothing, more of them than the
 * listener serves at once) do not hold the browser up: it is answered
 * before any of them is (one at a time, each would wait its turn). */
START_TEST(test_listener_not_held_by_slow_connections)
{
	struct authorizing a;
	char buf[16];
	int idle[24];
	authorize_start(&a);
	char *cb = standin_consent(&SI, a.url, NULL);
	ck_assert_ptr_nonnull(cb);
	for (int i = 0; i < 24; i++) {
		idle[i] = dial(a.port);
		(void)!write(idle[i], "G", 1);
	}
	ck_assert_int_eq(get_status(a.port, strchr(cb + 7, '/')), 200);
	int answered = 0;
	for (int i = 0; i < 24; i++) {
		answered += recv(idle[i], buf, sizeof buf, MSG_DONTWAIT) > 0;
		close(idle[i]);
	}
	ck_assert_msg(answered == 0, "%d idle connections were served first",
		      answered);
	authorize_end_ok(&a);
	free(cb);
}
END_TEST

/* A connection trickling its request a byte at a time is cut off by its
 * own deadline (10 s), however often it sends; the consent goes on. */
START_TEST(test_listener_cuts_off_a_trickling_connection)
{
	struct authorizing a;
	char c;
	authorize_start(&a);
	int s = dial(a.port), sent = 0;
	static const char req[] = "GET /callback?code=x&state=y HTTP/1.1\r\n";
	/* up to a minute of trickling; the listener hangs up long before */
	while (sent < 240 && send(s, req + sent % 20, 1, MSG_NOSIGNAL) == 1) {
		sent++;
		usleep(250 * 1000);
	}
	ck_assert_msg(sent < 240, "still reading after %d bytes", sent);
	ck_assert_int_le(recv(s, &c, 1, 0), 0); /* closed, not answered */
	close(s);
	ck_assert_int_eq(browser_returns(&a), 200);
	authorize_end_ok(&a);
}
END_TEST

/* `authorize --callback URL`: the code and state stop showing in
 * /proc/PID/cmdline once jauth has read them, while it exchanges the
 * code (the stand-in holds the token request for a while). */
START_TEST(test_callback_argument_hidden_from_process_list)
{
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h), *state = NULL, path[64], cmd[8192];
	jauth_close(h);
	ck_assert_int_eq(jauth_m_url_param(cb, "state", &state), JAUTH_SUCCESS);
	ck_assert_int_eq(
		standin_fault(&SI,
			      "{\"path\": \"/oauth/token\", \"delay\": 3}"),
		0);
	int e[2];
	ck_assert_int_eq(pipe(e), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(e[1], 2);
		close(e[0]);
		execl(JAUTH_TEST_BUILDDIR "/bin/jauth", "jauth", "-c", FX.conf,
		      "-m", FX.mods, "-s", FX.state, "authorize", "svc",
		      "--callback", cb, (char *)NULL);
		_exit(127);
	}
	close(e[1]);
	for (int i = 0; i < 3000 && standin_counter(&SI, "token_requests") < 1;
	     i++)
		usleep(10 * 1000);
	ck_assert_int_ge(standin_counter(&SI, "token_requests"), 1);
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(cmd, 1, sizeof cmd - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		cmd[i] = cmd[i] ? cmd[i] : ' ';
	cmd[n] = '\0';
	ck_assert_msg(strstr(cmd, "authorize svc --callback"), "%s", cmd);
	ck_assert_msg(!strstr(cmd, "code=") && !strstr(cmd, state), "%s", cmd);
	int st;
	char err[4096] = { 0 };
	(void)!read(e[0], err, sizeof err - 1);
	close(e[0]);
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	ck_assert_msg(strstr(err, "use --callback -"), "%s", err);
	free(state);
	free(cb);
}
END_TEST

Suite *suite_hostile(void)
{
	Suite *s = suite_create("hostile input");
	TCase *tc = tcase_create("stack files");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_hostile_stack_table, 0,
			    (int)(sizeof stack_cases / sizeof *stack_cases));
	tcase_add_test(tc, test_versioned_module_name_stays_readable);
	tcase_add_loop_test(tc, test_misplaced_secret_not_shown, 0,
			    (int)(sizeof misplaced_cases /
				  sizeof *misplaced_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("terminal escape");
	tcase_add_loop_test(tc, test_clean_table, 0,
			    (int)(sizeof clean_cases / sizeof *clean_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("server answers");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup_oauth, fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_hostile_token_answer_table, 0,
			    (int)(sizeof token_cases / sizeof *token_cases));
	tcase_add_loop_test(tc, test_hostile_sites_answer_table, 0,
			    (int)(sizeof site_cases / sizeof *site_cases));
	tcase_add_loop_test(tc, test_hostile_callback_table, 0,
			    (int)(sizeof callback_cases /
				  sizeof *callback_cases));
	tcase_add_test(tc, test_callback_without_code_or_state);
	tcase_add_test(tc, test_echoed_refresh_token_masked_in_a_new_process);
	tcase_add_test(tc, test_echoed_secrets_in_a_dead_reason_not_kept);
	tcase_add_test(tc, test_stored_dead_reason_masked_when_shown);
	tcase_add_test(tc, test_echoed_code_masked);
	tcase_add_test(tc, test_callback_error_text_escaped);
	tcase_add_test(tc, test_site_text_escaped);
	tcase_add_test(tc, test_myself_fields_escaped_by_check);
	tcase_add_test(tc, test_thousands_of_sites_listed_briefly);
	tcase_add_test(tc, test_stored_cloud_id_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("local users");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup_oauth, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_listener_ignores_wrong_state);
	tcase_add_test(tc, test_listener_survives_hangups);
	tcase_add_test(tc, test_listener_not_held_by_slow_connections);
	tcase_add_test(tc, test_listener_cuts_off_a_trickling_connection);
	tcase_add_test(tc, test_callback_argument_hidden_from_process_list);
	suite_add_tcase(s, tc);
	return s;
}
