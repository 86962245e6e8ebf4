/*
 * check_lex.c — the stack file's syntax (DESIGN §3), as a table: each row
 * is a stack file and either the Authorization value the test module then
 * publishes (its token= argument, as the tokenizer read it) or the problem
 * jauth_open reports.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "suites.h"

struct lex_case {
	const char *name;
	const char *text;
	size_t len;	   /* 0: strlen(text) */
	const char *auth;  /* expected Authorization, or NULL */
	const char *error; /* expected in jauth_error, or NULL */
};

#define T(name, text, auth)                                                    \
	{                                                                      \
		name, text, 0, auth, NULL                                      \
	}
#define E(name, text, error)                                                   \
	{                                                                      \
		name, text, sizeof(text) - 1, NULL, error                      \
	}

static const struct lex_case cases[] = {
	T("plain", "required testmod.so token=abc\n", "Test abc"),
	T("blanks and tabs", "  \t required\ttestmod.so\t token=abc  \n",
	  "Test abc"),
	T("comment line", "# a comment\nrequired testmod.so token=abc\n",
	  "Test abc"),
	T("trailing comment", "required testmod.so token=abc # why\n",
	  "Test abc"),
	T("hash inside a token", "required testmod.so token=a#b\n", "Test a#b"),
	T("blank lines", "\n\n  \nrequired testmod.so token=x\n\n", "Test x"),
	T("quoted whole token", "required testmod.so \"token=a b\"\n",
	  "Test a b"),
	T("quoted value", "required testmod.so token=\"a b\"\n", "Test a b"),
	T("escaped quote", "required testmod.so token=\"a\\\"b\"\n",
	  "Test a\"b"),
	T("escaped backslash", "required testmod.so token=\"a\\\\b\"\n",
	  "Test a\\b"),
	T("backslash outside quotes", "required testmod.so token=a\\b\n",
	  "Test a\\b"),
	T("other escape kept", "required testmod.so token=\"a\\nb\"\n",
	  "Test a\\nb"),
	T("quoted parts joined", "required testmod.so token=a\"b c\"d\n",
	  "Test ab cd"),
	T("hash inside quotes", "required testmod.so token=\"a # b\"\n",
	  "Test a # b"),
	T("continuation", "required testmod.so \\\ntoken=abc\n", "Test abc"),
	T("continuation splits tokens", "required testmod.so token=ab\\\n",
	  "Test ab"),
	T("continuation inside quotes",
	  "required testmod.so token=\"a\\\nb\"\n", "Test ab"),
	T("comment does not continue",
	  "# note \\\nrequired testmod.so token=x\n", "Test x"),
	T("CRLF line ends", "required testmod.so token=abc\r\n", "Test abc"),
	T("CRLF continuation", "required testmod.so \\\r\ntoken=abc\r\n",
	  "Test abc"),
	/* jauth.conf(5): a backslash followed by a blank does not continue */
	E("backslash then a blank", "required testmod.so \\ \ntoken=abc\n",
	  "svc:1: argument 1 is not key=value"),
	T("no final newline", "required testmod.so token=abc", "Test abc"),
	T("bracket with blanks",
	  "[success=ok   default=bad] testmod.so token=x\n", "Test x"),
	T("bracket with tabs", "[success=ok\tdefault=die] testmod.so token=x\n",
	  "Test x"),
	T("UTF-8 value", "required testmod.so token=h\xc3\xa9llo\n",
	  "Test h\xc3\xa9llo"),
	T("keyword as a value", "required testmod.so token=include\n",
	  "Test include"),
	E("NUL byte", "required testmod.so token=a\0b\n", "svc:1: a NUL byte"),
	E("invalid UTF-8", "required testmod.so token=\xff\n",
	  "svc:1: invalid UTF-8"),
	E("overlong encoding", "required testmod.so token=\xc0\xaf\n",
	  "svc:1: invalid UTF-8"),
	E("unterminated quote", "required testmod.so token=\"abc\n",
	  "svc:1: unterminated quote"),
	E("unterminated bracket", "[success=ok testmod.so\n",
	  "svc:1: unterminated ["),
	E("line number after continuation",
	  "required testmod.so \\\n token=x\nbogus testmod.so\n",
	  "svc:3: unknown control \"bogus\""),
	E("control alone", "required\n",
	  "svc:1: a line needs a control and a module"),
	E("argument without =", "required testmod.so token\n",
	  "svc:1: argument 1 is not key=value"),
	E("upper-case key", "required testmod.so Token=x\n",
	  "svc:1: argument 1 is not key=value"),
	E("key given twice", "required testmod.so token=a token=b\n",
	  "svc:1: argument token is given twice"),
	E("empty value", "required testmod.so token=\"\"\n",
	  "svc:1: token= is empty"),
	E("empty file", "", "svc:1: the stack has no module lines"),
	E("only comments", "# one\n   # two\n",
	  "svc:2: the stack has no module lines"),
	E("include without a name", "include\n",
	  "svc:1: include takes one NAME: write \"include NAME\""),
	/* README: every failure is "FILE:LINE: what is wrong: what to do" */
	E("key given twice says what to do",
	  "required testmod.so token=a token=b\n",
	  "svc:1: argument token is given twice: keep one"),
	E("empty value says what to do", "required testmod.so token=\"\"\n",
	  "svc:1: token= is empty: give a value, or leave the key out"),
	E("result given twice says what to do",
	  "[success=ok success=bad] testmod.so token=x\n",
	  "svc:1: \"success\" is given twice in the control: keep one"),
	E("substack without a name", "required substack\n",
	  "svc:1: substack takes one NAME: write \"[CONTROL] substack NAME\""),
	E("an http:// URL says what to do",
	  "required testmod.so token=x base_url=http://jira.example\n",
	  "svc:1: base_url= is not an https:// URL: write https://"),
	E("a bad date says what to do",
	  "required testmod.so token=x date=2026-02-30\n",
	  "svc:1: date= is not a real date written YYYY-MM-DD: write a "
	  "calendar day"),
	E("a bad boolean says what to do",
	  "required testmod.so token=x flag=perhaps\n",
	  "svc:1: flag= is not yes or no: write yes or no"),
	E("a bad number says what to do",
	  "required testmod.so token=x num=ten\n",
	  "svc:1: num= is not a whole number: write decimal digits"),
	E("a second store says what to do",
	  "store files\nstore files\nrequired testmod.so token=x\n",
	  "svc:2: a second store directive: a service has one store: "
	  "remove one"),
	E("error on the second line", "\nrequired testmod.so \"x\n",
	  "svc:2: unterminated quote"),
	/* jauth.conf(5), SHARED STORE: "store files" or "store pgsql …" */
	E("store alone", "store\nrequired testmod.so token=x\n",
	  "svc:1: write \"store files\" or \"store pgsql"),
	E("store files with another argument",
	  "store files dir=/tmp\nrequired testmod.so token=x\n",
	  "svc:1: store files takes only key= and key_old="),
};

/* Opens the stack of row I and checks the outcome. */
START_TEST(test_tokenizer_table)
{
	const struct lex_case *c = &cases[_i];
	size_t len = c->len ? c->len : strlen(c->text);
	fx_stack_bytes("svc", c->text, len);
	jauth *h = NULL;
	jauth_result rc = jauth_open("svc", &FX.opt, &h);
	if (c->auth) {
		ck_assert_msg(rc == JAUTH_SUCCESS, "%s: open failed: %s",
			      c->name, jauth_error(h));
		const char *auth = fx_auth(h, &rc);
		ck_assert_msg(rc == JAUTH_SUCCESS, "%s: %s", c->name,
			      jauth_error(h));
		ck_assert_msg(strcmp(auth, c->auth) == 0,
			      "%s: got [%s] want [%s]", c->name, auth, c->auth);
	} else {
		ck_assert_msg(rc == JAUTH_CONFIG, "%s: open = %s", c->name,
			      jauth_result_name(rc));
		ck_assert_msg(strstr(jauth_error(h), c->error),
			      "%s: error [%s] lacks [%s]", c->name,
			      jauth_error(h), c->error);
	}
	jauth_close(h);
}
END_TEST

START_TEST(test_overlong_line_refused)
{
	size_t n = 9000;
	char *text = malloc(n + 64);
	strcpy(text, "required testmod.so token=");
	memset(text + strlen(text), 'a', n);
	strcpy(text + 26 + n, "\n");
	fx_stack("svc", "%s", text);
	free(text);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "svc:1: line longer than 8192"));
	jauth_close(h);
}
END_TEST

START_TEST(test_one_mib_line_refused_quickly)
{
	size_t n = 1024 * 1024 - 64;
	char *text = malloc(n + 64);
	memset(text, 'a', n);
	memcpy(text, "required testmod.so token=", 26);
	text[n] = '\0';
	fx_stack("svc", "%s", text);
	free(text);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "line longer than"));
	jauth_close(h);
}
END_TEST

START_TEST(test_file_over_one_mib_refused)
{
	size_t n = 1024 * 1024 + 10;
	char *text = malloc(n + 1);
	memset(text, '\n', n);
	text[n] = '\0';
	fx_stack("svc", "%s", text);
	free(text);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "larger than 1 MiB"));
	jauth_close(h);
}
END_TEST

START_TEST(test_lint_lists_every_problem)
{
	fx_stack("svc", "bogus testmod.so\n"
			"required testmod.so \"x\n"
			"required testmod.so nokey\n"
			"required testmod.so token=ok\n"
			"required missing.so\n");
	char *report = NULL;
	jauth_result rc = jauth_lint("svc", &FX.opt, &report);
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(report, "svc:1: unknown control"));
	ck_assert_ptr_nonnull(strstr(report, "svc:2: unterminated quote"));
	ck_assert_ptr_nonnull(strstr(report, "svc:3: argument 1"));
	ck_assert_ptr_nonnull(
		strstr(report, "svc:5: module missing.so not found"));
	ck_assert_ptr_null(strstr(report, "svc:4"));
	jauth_free(report);
}
END_TEST

/* A stack whose only line is refused has a module line, a bad one:
 * lint reports that line, not also "no module lines: add one". */
START_TEST(test_lint_refused_line_is_not_a_missing_line)
{
	static const char *const texts[] = {
		"required testmod.so \"x\n",  /* unterminated quote */
		"bogus testmod.so token=x\n", /* unknown control */
		"include svc\n",	      /* include loop */
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		fx_stack("svc", "%s", texts[i]);
		char *report = NULL;
		ck_assert_int_eq(jauth_lint("svc", &FX.opt, &report),
				 JAUTH_CONFIG);
		ck_assert_msg(strstr(report, "svc:1: "), "%s", report);
		ck_assert_msg(!strstr(report, "no module lines"), "%s: %s",
			      texts[i], report);
		jauth_free(report);
	}
}
END_TEST

/* A key= written inline is refused without showing any of it: the
 * value is the key (jauth.conf(5), ENCRYPTION AT REST). */
START_TEST(test_store_inline_key_not_shown)
{
	fx_stack("svc", "store files key=Zq7inlinekey\n"
			"required testmod.so token=x\n");
	jauth *h = NULL;
	ck_assert_int_eq(jauth_open("svc", &FX.opt, &h), JAUTH_CONFIG);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e, "svc:1: store key= must name a secret"), "%s",
		      e);
	ck_assert_msg(!strstr(e, "Zq7"), "the key leaked: %s", e);
	jauth_close(h);
}
END_TEST

START_TEST(test_lint_clean_stack_is_empty_report)
{
	fx_stack("svc", "required testmod.so token=ok\n");
	char *report = NULL;
	ck_assert_int_eq(jauth_lint("svc", &FX.opt, &report), JAUTH_SUCCESS);
	ck_assert_str_eq(report, "");
	jauth_free(report);
}
END_TEST

Suite *suite_lex(void)
{
	Suite *s = suite_create("stack syntax");
	TCase *tc = tcase_create("tokenizer");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_tokenizer_table, 0,
			    (int)(sizeof cases / sizeof *cases));
	tcase_add_test(tc, test_overlong_line_refused);
	tcase_add_test(tc, test_one_mib_line_refused_quickly);
	tcase_add_test(tc, test_file_over_one_mib_refused);
	tcase_add_test(tc, test_lint_lists_every_problem);
	tcase_add_test(tc, test_lint_clean_stack_is_empty_report);
	tcase_add_test(tc, test_store_inline_key_not_shown);
	tcase_add_test(tc, test_lint_refused_line_is_not_a_missing_line);
	suite_add_tcase(s, tc);
	return s;
}
