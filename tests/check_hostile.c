/*
 * check_hostile.c — hostile input, as a table: each row a stack file or a
 * server answer that tries to break jauth, and the clear refusal it gets.
 * Nothing may crash, hang, or lose the stored grant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

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
};

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

/* ---- answers of the server ---- */

static time_t T0;

static void setup_oauth(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	fx_clock(T0);
	fx_stack(
		"svc",
		"required oauth3lo.so client_id=cid client_secret=@env:CLIENT_SECRET "
		"auth_url=%s api_url=%s ca_file=%s redirect_uri=https://app.example/cb\n",
		SI.url, SI.url, SI.ca);
}

/* Adds a one-shot fault answering PATH with STATUS and BODY. */
static void answer_once(const char *path, int status, const char *body)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", path);
	cJSON_AddNumberToObject(f, "status", status);
	cJSON_AddStringToObject(f, "body", body);
	char *json = cJSON_PrintUnformatted(f);
	ck_assert_int_eq(standin_fault(&SI, json), 0);
	free(json);
	cJSON_Delete(f);
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
	{ "empty list", "[]", JAUTH_ERROR, "granted no Jira site" },
	{ "not JSON", "sites!", JAUTH_ERROR, "is not JSON" },
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

Suite *suite_hostile(void)
{
	Suite *s = suite_create("hostile input");
	TCase *tc = tcase_create("stack files");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_hostile_stack_table, 0,
			    (int)(sizeof stack_cases / sizeof *stack_cases));
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
	suite_add_tcase(s, tc);
	return s;
}
