/*
 * check_dispatch.c — PAM's semantics (DESIGN §3) as a table: every control
 * against every result of the first line, with a second line that always
 * succeeds; the stack's result, the credential that wins, and whether the
 * second line ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "suites.h"

static const char *const results[] = { "success", "unavailable", "denied",
				       "transient", "error" };

struct control_case {
	const char *control;
	/* per result of line 1: the stack's result, the winning token ("" if
	 * none) and whether line 2 ran */
	struct {
		jauth_result rc;
		const char *token;
		int second_ran;
	} want[5];
};

#define S JAUTH_SUCCESS
#define U JAUTH_UNAVAILABLE
#define D JAUTH_DENIED
#define TR JAUTH_TRANSIENT
#define ER JAUTH_ERROR

static const struct control_case controls[] = {
	{ "required",
	  { { S, "one", 1 },
	    { U, "", 1 },
	    { D, "", 1 },
	    { TR, "", 1 },
	    { ER, "", 1 } } },
	{ "requisite",
	  { { S, "one", 1 },
	    { U, "", 0 },
	    { D, "", 0 },
	    { TR, "", 0 },
	    { ER, "", 0 } } },
	{ "sufficient",
	  { { S, "one", 0 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "optional",
	  { { S, "one", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "[success=done unavailable=ignore default=die]",
	  { { S, "one", 0 },
	    { S, "two", 1 },
	    { D, "", 0 },
	    { TR, "", 0 },
	    { ER, "", 0 } } },
	{ "[success=ok default=ignore]",
	  { { S, "one", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "[default=ok]",
	  { { S, "one", 1 },
	    { U, "", 1 },
	    { D, "", 1 },
	    { TR, "", 1 },
	    { ER, "", 1 } } },
	{ "[default=ignore]",
	  { { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "[success=bad default=ignore]",
	  { { D, "", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "[success=die default=ignore]",
	  { { D, "", 0 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 },
	    { S, "two", 1 } } },
	{ "[denied=die transient=done]",
	  { { S, "one", 1 },
	    { U, "", 1 },
	    { D, "", 0 },
	    { TR, "", 0 },
	    { ER, "", 1 } } },
	{ "[success=ok]",
	  { { S, "one", 1 },
	    { U, "", 1 },
	    { D, "", 1 },
	    { TR, "", 1 },
	    { ER, "", 1 } } },
};

/* Row _i: control (_i / 5) with line 1 returning result (_i % 5). */
START_TEST(test_control_result_table)
{
	const struct control_case *c = &controls[_i / 5];
	int r = _i % 5;
	const char *counter = fx_path("second");
	fx_stack("svc",
		 "%s testmod.so acquire=%s token=one\n"
		 "optional testmod.so token=two counter=%s\n",
		 c->control, results[r], counter);
	jauth *h = fx_open("svc");
	jauth_result rc;
	const char *auth = fx_auth(h, &rc);
	char want[64];
	snprintf(want, sizeof want, "%s%s", *c->want[r].token ? "Test " : "",
		 c->want[r].token);
	ck_assert_msg(rc == c->want[r].rc, "%s / %s: result %s, want %s (%s)",
		      c->control, results[r], jauth_result_name(rc),
		      jauth_result_name(c->want[r].rc), jauth_error(h));
	ck_assert_msg(strcmp(auth, want) == 0,
		      "%s / %s: credential [%s], want [%s]", c->control,
		      results[r], auth, want);
	ck_assert_msg(fx_count(counter, 'a') == c->want[r].second_ran,
		      "%s / %s: second line ran %d times, want %d", c->control,
		      results[r], fx_count(counter, 'a'),
		      c->want[r].second_ran);
	jauth_close(h);
}
END_TEST

START_TEST(test_first_failure_wins)
{
	fx_stack("svc",
		 "required testmod.so acquire=denied message=first\n"
		 "required testmod.so acquire=transient message=second\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "svc:1: first"));
	jauth_close(h);
}
END_TEST

START_TEST(test_sufficient_success_does_not_undo_required_failure)
{
	fx_stack("svc", "required testmod.so acquire=denied\n"
			"sufficient testmod.so token=two\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_DENIED);
	jauth_close(h);
}
END_TEST

START_TEST(test_first_remembered_credential_wins)
{
	fx_stack("svc", "optional testmod.so token=one\n"
			"required testmod.so token=two\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test one");
	jauth_close(h);
}
END_TEST

START_TEST(test_nothing_remembered_is_unavailable)
{
	fx_stack("svc", "optional testmod.so acquire=denied\n"
			"[default=ignore] testmod.so acquire=error\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "no line of the stack"));
	jauth_close(h);
}
END_TEST

START_TEST(test_credential_says_which_line_made_it)
{
	fx_stack(
		"svc",
		"optional testmod.so acquire=unavailable\n"
		"required testmod.so token=two base_url=https://x.example/rest/\n");
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	char want[PATH_MAX + 8];
	snprintf(want, sizeof want, "%s/svc:2", FX.conf);
	ck_assert_str_eq(jauth_cred_source(c), want);
	ck_assert_str_eq(jauth_cred_module(c), "testmod.so");
	ck_assert_str_eq(jauth_cred_scheme(c), "Test");
	ck_assert_str_eq(jauth_cred_base_url(c), "https://x.example/rest");
	jauth_close(h);
}
END_TEST

START_TEST(test_module_result_out_of_range_is_error)
{
	fx_stack("svc", "required testmod.so acquire=sometimes\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "not one of"));
	jauth_close(h);
}
END_TEST

/* ---- include and substack ---- */

START_TEST(test_include_splices_in_place)
{
	fx_stack("common", "optional testmod.so token=inc counter=%s\n",
		 fx_path("c"));
	fx_stack("svc", "optional testmod.so acquire=unavailable\n"
			"include common\n"
			"required testmod.so token=last\n");
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c), "Test inc");
	char want[PATH_MAX + 16];
	snprintf(want, sizeof want, "%s/common:1", FX.conf);
	ck_assert_str_eq(jauth_cred_source(c), want);
	jauth_close(h);
}
END_TEST

START_TEST(test_substack_result_is_one_line)
{
	/* requisite inside the substack dies there, not in the parent. */
	fx_stack("sub",
		 "requisite testmod.so acquire=denied\n"
		 "required testmod.so token=never counter=%s\n",
		 fx_path("c"));
	fx_stack("svc", "[success=done default=ignore] substack sub\n"
			"required testmod.so token=after\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test after");
	ck_assert_int_eq(fx_count(fx_path("c"), 'a'), 0);
	jauth_close(h);
}
END_TEST

START_TEST(test_bare_substack_is_required)
{
	fx_stack("sub", "required testmod.so acquire=transient\n");
	fx_stack("svc", "substack sub\noptional testmod.so token=two\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_TRANSIENT);
	jauth_close(h);
}
END_TEST

START_TEST(test_include_loop_refused)
{
	fx_stack("a", "include b\n");
	fx_stack("b", "required testmod.so\ninclude a\n");
	jauth *h = fx_open_want("a", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "include loop: a → b → a"));
	jauth_close(h);
}
END_TEST

START_TEST(test_substack_loop_refused)
{
	fx_stack("a", "required substack a\n");
	jauth *h = fx_open_want("a", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "substack loop"));
	jauth_close(h);
}
END_TEST

START_TEST(test_include_depth_limit)
{
	/* s0 includes s1 … s17: 17 levels, one more than allowed. */
	for (int i = 0; i <= 17; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		if (i < 17)
			fx_stack(name, "include s%d\n", i + 1);
		else
			fx_stack(name, "required testmod.so\n");
	}
	jauth *h = fx_open_want("s0", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "deeper than 16"));
	jauth_close(h);
	/* 16 levels are fine. */
	jauth *ok = fx_open("s1");
	jauth_close(ok);
}
END_TEST

START_TEST(test_include_missing_file)
{
	fx_stack("svc", "required testmod.so\ninclude nothere\n");
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h),
		       "svc:2: no stack for service \"nothere\""));
	jauth_close(h);
}
END_TEST

START_TEST(test_include_bad_name)
{
	fx_stack("svc", "required testmod.so\ninclude ../etc/passwd\n");
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "is not a service name"));
	jauth_close(h);
}
END_TEST

START_TEST(test_empty_substack_refused)
{
	fx_stack("sub", "# nothing\n");
	fx_stack("svc", "required substack sub\n");
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "substack sub has no module lines"));
	jauth_close(h);
}
END_TEST

START_TEST(test_too_many_lines_refused)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < 10000; i++)
		fprintf(f, "optional testmod.so\n");
	fclose(f);
	fx_stack("svc", "%s", text);
	free(text);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "more than 256 module lines"));
	jauth_close(h);
}
END_TEST

START_TEST(test_bad_controls)
{
	static const struct {
		const char *control, *error;
	} bad[] = {
		{ "sometimes", "unknown control \"sometimes\"" },
		{ "[success=maybe]", "unknown action \"maybe\"" },
		{ "[fine=ok]", "unknown result \"fine\"" },
		{ "[success]", "is not result=action" },
		{ "[]", "is empty" },
		{ "[success=ok success=done]", "\"success\" is given twice" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fx_stack("svc", "%s testmod.so\n", bad[i].control);
		jauth *h = fx_open_want("svc", JAUTH_CONFIG);
		ck_assert_msg(strstr(jauth_error(h), bad[i].error), "%s: %s",
			      bad[i].control, jauth_error(h));
		jauth_close(h);
	}
}
END_TEST

Suite *suite_dispatch(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("controls");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_control_result_table, 0,
			    (int)(5 * sizeof controls / sizeof *controls));
	tcase_add_test(tc, test_first_failure_wins);
	tcase_add_test(tc,
		       test_sufficient_success_does_not_undo_required_failure);
	tcase_add_test(tc, test_first_remembered_credential_wins);
	tcase_add_test(tc, test_nothing_remembered_is_unavailable);
	tcase_add_test(tc, test_credential_says_which_line_made_it);
	tcase_add_test(tc, test_module_result_out_of_range_is_error);
	tcase_add_test(tc, test_bad_controls);
	suite_add_tcase(s, tc);

	tc = tcase_create("include and substack");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_include_splices_in_place);
	tcase_add_test(tc, test_substack_result_is_one_line);
	tcase_add_test(tc, test_bare_substack_is_required);
	tcase_add_test(tc, test_include_loop_refused);
	tcase_add_test(tc, test_substack_loop_refused);
	tcase_add_test(tc, test_include_depth_limit);
	tcase_add_test(tc, test_include_missing_file);
	tcase_add_test(tc, test_include_bad_name);
	tcase_add_test(tc, test_empty_substack_refused);
	tcase_add_test(tc, test_too_many_lines_refused);
	suite_add_tcase(s, tc);
	return s;
}
