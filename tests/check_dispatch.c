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
	  { { D, "", 1 },
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

/* jauth-module(3), RESULTS: JAUTH_CONFIG with a message from acquire
 * counts as error for the line's control, and the caller of the stack
 * gets JAUTH_CONFIG when that failure decides; without a message it is
 * a result out of range, JAUTH_ERROR. */
START_TEST(test_module_config_with_message_reaches_the_caller)
{
	fx_stack("svc", "[success=ok error=ignore default=bad] testmod.so "
			"acquire=config message=untrusted\n"
			"required testmod.so token=next\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test next");
	jauth_close(h);
	fx_stack("svc",
		 "required testmod.so acquire=config message=untrusted\n");
	h = fx_open("svc");
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "svc:1: untrusted"));
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

START_TEST(test_bare_substack_failure_counts)
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

/* ---- the six points of issue #14, as a table ----
 *
 * Stack texts use "@RESULT N" for "testmod.so acquire=RESULT log=ran#N
 * token=tN", so that a row says which lines ran and whose credential won.
 */

struct pam_case {
	const char *point, *svc, *s0; /* s0: a second file, or NULL */
	jauth_result rc;
	const char *ran;   /* ids of the lines run, in order */
	const char *token; /* the credential on success */
	const char *error; /* in the error text, or NULL */
};

static const struct pam_case pam_cases[] = {
	/* 1. a result not named, without default=, is bad: success too */
	{ "1 unnamed success is bad", "[error=ok] @success 0\n", NULL, D, "0",
	  NULL, "svc:1: success treated as a failure" },
	{ "1 unnamed success is bad, later success does not undo it",
	  "[denied=ignore] @success 0\nrequired @success 1\n", NULL, D, "0 1",
	  NULL, NULL },
	{ "1 unnamed failure is bad", "[success=ok] @transient 0\n", NULL, TR,
	  "0", NULL, NULL },
	{ "1 default= covers success", "[default=ok] @success 0\n", NULL, S,
	  "0", "t0", NULL },
	/* 2. ok on a failure; a later bad or die failure wins */
	{ "2 later die wins over ok",
	  "[default=ok] @error 0\nrequisite @denied 1\n", NULL, D, "0 1", NULL,
	  "svc:2:" },
	{ "2 later bad wins over ok",
	  "[default=ok] @error 0\nrequired @transient 1\nrequired @denied 2\n",
	  NULL, TR, "0 1 2", NULL, "svc:2:" },
	{ "2 ok does not override bad",
	  "required @denied 0\n[default=ok] @error 1\n", NULL, D, "0 1", NULL,
	  "svc:1:" },
	{ "2 a later success does not undo ok's failure",
	  "[default=ok] @error 0\nrequired @success 1\n", NULL, ER, "0 1", NULL,
	  "svc:1:" },
	{ "2 a later ok failure does not replace the first",
	  "[default=ok] @error 0\n[default=ok] @denied 1\n", NULL, ER, "0 1",
	  NULL, "svc:1:" },
	{ "2 ok on a failure is positive: sufficient stops",
	  "[default=ok] @error 0\nsufficient @success 1\nrequired @denied 2\n",
	  NULL, ER, "0 1", NULL, NULL },
	/* 3. nothing decided: unavailable, with the reason */
	{ "3 optional failure alone", "optional @denied 0\n", NULL, U, "0",
	  NULL, "no line of the stack decided" },
	{ "3 ignored success", "[default=ignore] @success 0\n", NULL, U, "0",
	  NULL, "no line of the stack decided" },
	{ "3 reset back to undecided",
	  "optional @success 0\n[default=reset] @denied 1\n", NULL, U, "0 1",
	  NULL, "no line of the stack decided" },
	/* 4. done/sufficient after a failure does not stop the stack */
	{ "4 sufficient after required failure",
	  "required @transient 0\nsufficient @success 1\nrequired @error 2\n",
	  NULL, TR, "0 1 2", NULL, NULL },
	{ "4 done after required failure",
	  "required @denied 0\n[default=done] @success 1\noptional "
	  "@success 2\n",
	  NULL, D, "0 1 2", NULL, NULL },
	{ "4 sufficient after success stops",
	  "required @success 0\nsufficient @success 1\nrequired @denied 2\n",
	  NULL, S, "0 1", "t0", NULL },
	{ "4 sufficient after an ignored failure stops",
	  "optional @denied 0\nsufficient @success 1\nrequired @denied 2\n",
	  NULL, S, "0 1", "t1", NULL },
	/* 5. substacks */
	{ "5 an undecided substack is invisible",
	  "substack s0\nrequired @success 1\n", "optional @denied 0\n", S,
	  "0 1", "t1", NULL },
	{ "5 done stops only the substack",
	  "substack s0\nrequired @success 2\n",
	  "sufficient @success 0\nrequired @denied 1\n", S, "0 2", "t0", NULL },
	{ "5 die stops only the substack, its failure counts",
	  "substack s0\nrequired @success 2\n",
	  "requisite @denied 0\nrequired @success 1\n", D, "0 2", NULL,
	  "s0:1:" },
	{ "5 the substack shares the caller's state",
	  "[default=ok] @error 0\nsubstack s0\nrequired @success 2\n",
	  "sufficient @success 1\n", ER, "0 1 2", NULL, "svc:1:" },
	{ "5 reset in a substack returns to the caller's failure",
	  "required @denied 0\nsubstack s0\nrequired @success 2\n",
	  "[default=reset] @error 1\n", D, "0 1 2", NULL, "svc:1:" },
	{ "5 reset in a substack returns to the caller's credential",
	  "optional @success 0\nsubstack s0\n",
	  "required @denied 1\n[default=reset] @error 2\n", S, "0 1 2", "t0",
	  NULL },
	{ "5 a jump counts a substack as one line",
	  "[success=1 default=ignore] @success 0\nsubstack s0\nrequired "
	  "@success 2\n",
	  "required @denied 1\n", S, "0 2", "t2", NULL },
	{ "5 a jump stays in its substack",
	  "substack s0\nrequired @success 2\n",
	  "[success=1 default=bad] @success 0\nrequired @denied 1\n", S, "0 2",
	  "t2", NULL },
	{ "5 jauth's own: an undecided substack under a control is ignored",
	  "required substack s0\nrequired @success 1\n", "optional @denied 0\n",
	  S, "0 1", "t1", NULL },
	{ "5 jauth's own: a substack under a control is one line",
	  "[success=done default=ignore] substack s0\nrequired @success 2\n",
	  "[default=ok] @error 0\nrequired @success 1\n", S, "0 1 2", "t2",
	  NULL },
	/* 6. jumps and reset */
	{ "6 a jump skips lines and keeps no credential",
	  "[success=1 default=ignore] @success 0\nrequisite @denied "
	  "1\nrequired @success 2\n",
	  NULL, S, "0 2", "t2", NULL },
	{ "6 a jump keeps no failure",
	  "[default=1 success=ok] @denied 0\nrequired @error 1\nrequired "
	  "@success 2\n",
	  NULL, S, "0 2", "t2", NULL },
	{ "6 a jump counts included lines",
	  "[success=2] @success 0\ninclude s0\nrequired @success 3\n",
	  "required @denied 1\nrequired @denied 2\n", S, "0 3", "t3", NULL },
	{ "6 a jump to the very end",
	  "required @success 0\n[success=1 default=bad] @success 1\nrequired "
	  "@denied 2\n",
	  NULL, S, "0 1", "t0", NULL },
	{ "6 reset forgets a failure",
	  "required @denied 0\n[default=reset] @error 1\nrequired @success 2\n",
	  NULL, S, "0 1 2", "t2", NULL },
	{ "6 reset forgets a credential",
	  "optional @success 0\n[success=reset] @success 1\nrequired "
	  "@success 2\n",
	  NULL, S, "0 1 2", "t2", NULL },
	{ "6 Debian's idiom, when the first line fails",
	  "[success=1 default=ignore] @denied 0\nrequisite @denied "
	  "1\nrequired @success 2\n",
	  NULL, D, "0 1", NULL, "svc:2:" },
	/* the credential: the first one kept by ok/done */
	{ "credential of the first ok",
	  "optional @success 0\nrequired @success 1\n", NULL, S, "0 1", "t0",
	  NULL },
};

/* Expands "@RESULT N" of TEXT into testmod's arguments (malloc'd). */
static char *expand(const char *text)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (const char *p = text; *p; p++) {
		char res[16];
		int id, n;
		if (*p == '@' &&
		    sscanf(p + 1, "%15s %d%n", res, &id, &n) == 2) {
			fprintf(f, "testmod.so acquire=%s log=ran#%d token=t%d",
				res, id, id);
			p += n;
		} else {
			fputc(*p, f);
		}
	}
	fclose(f);
	return out;
}

START_TEST(test_pam_points)
{
	const struct pam_case *c = &pam_cases[_i];
	char *svc = expand(c->svc);
	fx_stack("svc", "%s", svc);
	free(svc);
	if (c->s0) {
		char *s0 = expand(c->s0);
		fx_stack("s0", "%s", s0);
		free(s0);
	}
	jauth *h = fx_open("svc");
	jauth_result rc;
	const char *auth = fx_auth(h, &rc);
	char ran[256] = "";
	size_t len = 0;
	for (const char *p = FX.log; p && (p = strstr(p, "ran#")); p += 4)
		len += (size_t)snprintf(ran + len, sizeof ran - len, "%s%d",
					len ? " " : "", atoi(p + 4));
	ck_assert_msg(rc == c->rc, "%s: result %s, want %s (%s)", c->point,
		      jauth_result_name(rc), jauth_result_name(c->rc),
		      jauth_error(h));
	ck_assert_msg(strcmp(ran, c->ran) == 0, "%s: ran [%s], want [%s]",
		      c->point, ran, c->ran);
	if (c->token) {
		char want[32];
		snprintf(want, sizeof want, "Test %s", c->token);
		ck_assert_msg(strcmp(auth, want) == 0, "%s: credential [%s]",
			      c->point, auth);
	}
	ck_assert_msg(!c->error || strstr(jauth_error(h), c->error),
		      "%s: error [%s], want [%s]", c->point, jauth_error(h),
		      c->error);
	jauth_close(h);
}
END_TEST

/* Where PAM would fail only when the jump is taken, jauth refuses the
 * stack at load, taken or not; and the syntax of jumps. */
START_TEST(test_bad_jumps_refused)
{
	static const struct {
		const char *svc, *s0, *error;
	} bad[] = {
		{ "[success=2] testmod.so\nrequired testmod.so\n", NULL,
		  "svc:1: the jump success=2 goes past the end of the stack: "
		  "1 line follows it" },
		{ "[denied=1 default=ok] testmod.so\n", NULL,
		  "svc:1: the jump denied=1 goes past the end of the stack: 0 "
		  "lines follow it" },
		{ "substack s0\nrequired testmod.so\n",
		  "[success=1 default=ignore] testmod.so\n",
		  "s0:1: the jump success=1 goes past the end of the substack" },
		{ "[success=3] testmod.so\ninclude s0\n",
		  "required testmod.so\nrequired testmod.so\n",
		  "svc:1: the jump success=3" },
		{ "[success=99999999999] testmod.so\n", NULL,
		  "the jump success=257" },
		{ "[success=0] testmod.so\n", NULL, "unknown action \"0\"" },
		{ "[success=-1] testmod.so\n", NULL, "unknown action \"-1\"" },
		{ "[success=ok]x testmod.so\n", NULL,
		  "svc:1: text \"x\" after the ] of the control" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fx_stack("svc", "%s", bad[i].svc);
		if (bad[i].s0)
			fx_stack("s0", "%s", bad[i].s0);
		jauth *h = fx_open_want("svc", JAUTH_CONFIG);
		ck_assert_msg(strstr(jauth_error(h), bad[i].error),
			      "%s: %s, want %s", bad[i].svc, jauth_error(h),
			      bad[i].error);
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
	tcase_add_test(tc, test_module_config_with_message_reaches_the_caller);
	tcase_add_test(tc, test_bad_controls);
	suite_add_tcase(s, tc);

	tc = tcase_create("as Linux-PAM");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_loop_test(tc, test_pam_points, 0,
			    (int)(sizeof pam_cases / sizeof *pam_cases));
	tcase_add_test(tc, test_bad_jumps_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("include and substack");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_include_splices_in_place);
	tcase_add_test(tc, test_substack_result_is_one_line);
	tcase_add_test(tc, test_bare_substack_failure_counts);
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
