/*
 * check_apitoken.c — apitoken.so end to end through the C API, with the
 * credential sent to the local stand-in as a connector would send it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "suites.h"

#define CLOUD "11111111-2222-3333-4444-555555555555"
#define DAY 86400

/* Writes an apitoken stack: EXTRA appended to the line. */
static void at_stack(const char *extra)
{
	fx_stack(
		"svc",
		"required apitoken.so email=svc@acme.com token=@env:JIRA_TOKEN "
		"ca_file=%s %s\n",
		SI.ca, extra);
}

/* Acquires, then calls GET {base}/rest/api/3/myself with it. */
static long call_myself(jauth *h, const jauth_cred **out)
{
	const jauth_cred *c;
	jauth_result rc = jauth_acquire(h, &c);
	ck_assert_msg(rc == JAUTH_SUCCESS, "acquire: %s", jauth_error(h));
	if (out)
		*out = c;
	return fx_myself(c);
}

START_TEST(test_unscoped_token_works_on_the_site)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s/", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(call_myself(h, &c), 200);
	ck_assert_str_eq(jauth_cred_scheme(c), "Basic");
	ck_assert_str_eq(jauth_cred_base_url(c), SI.url);
	ck_assert_str_eq(jauth_cred_authorization(c),
			 "Basic c3ZjQGFjbWUuY29tOnVuc2NvcGVkLXRva2Vu");
	jauth_close(h);
}
END_TEST

START_TEST(test_scoped_token_works_through_the_gateway)
{
	setenv("JIRA_TOKEN", "scoped-token", 1);
	char extra[256];
	snprintf(extra, sizeof extra, "cloud_id=" CLOUD " api_url=%s", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(call_myself(h, &c), 200);
	char want[256];
	snprintf(want, sizeof want, "%s/ex/jira/" CLOUD, SI.url);
	ck_assert_str_eq(jauth_cred_base_url(c), want);
	jauth_close(h);
}
END_TEST

START_TEST(test_scoped_token_on_the_site_is_denied_after_report)
{
	setenv("JIRA_TOKEN", "scoped-token", 1);
	fx_clock(1800000000);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	long status = call_myself(h, &c);
	ck_assert_int_eq(status, 401);
	ck_assert_int_eq(jauth_report(h, c, (int)status), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_msg(strstr(jauth_error(h),
			     "Jira's site rejected the API token in "
			     "environment variable JIRA_TOKEN (HTTP 401)"),
		      "%s", jauth_error(h));
	/* a scoped token is fine, on the gateway: say so before "new" */
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "if it is a scoped token"));
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "replace site= with cloud_id="));
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "id.atlassian.com"));
	/* Still denied, without a tight loop: nothing changed. */
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	/* The admin puts the right token in: the next try, after the
	 * failure's backoff, works. */
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	atomic_fetch_add(&FX.now, 1);
	ck_assert_int_eq(call_myself(h, &c), 200);
	jauth_close(h);
}
END_TEST

START_TEST(test_expired_token_denied_with_instructions)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	fx_clock(1798761600); /* 2027-01-01 */
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2027-01-20", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	fx_clock(1798761600 + 20 * DAY); /* 2027-01-21 00:00 UTC */
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_msg(strstr(jauth_error(h), "expired on 2027-01-20"), "%s",
		      jauth_error(h));
	ck_assert_ptr_nonnull(strstr(
		jauth_error(h),
		"https://id.atlassian.com/manage-profile/security/api-tokens"));
	jauth_close(h);
}
END_TEST

START_TEST(test_last_day_still_works_and_expiry_is_its_end)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	fx_clock(1798761600 + 19 * DAY + 3600); /* 2027-01-20 01:00 */
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2027-01-20", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(call_myself(h, &c), 200);
	ck_assert_int_eq(jauth_cred_expires_at(c), 1798761600 + 20 * DAY);
	jauth_close(h);
}
END_TEST

START_TEST(test_expiry_within_warn_window_warns)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	fx_clock(1798761600); /* 2027-01-01, 19 days before */
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2027-01-20 warn_days=30",
		 SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	ck_assert_int_eq(call_myself(h, NULL), 200);
	ck_assert(fx_log_has("API token expires on 2027-01-20 (in 19 days)"));
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_msg(strstr(json, "expires in 19 days"), "%s", json);
	jauth_free(json);
	jauth_close(h);
}
END_TEST

START_TEST(test_expiry_far_away_does_not_warn)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	fx_clock(1798761600);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2027-06-30", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	ck_assert_int_eq(call_myself(h, NULL), 200);
	ck_assert(!fx_log_has("API token expires"));
	char *json = NULL;
	jauth_status(h, &json);
	ck_assert_ptr_null(strstr(json, "expires in"));
	ck_assert_ptr_nonnull(strstr(json, "\"days_left\":\t180"));
	jauth_free(json);
	jauth_close(h);
}
END_TEST

START_TEST(test_expiry_over_a_year_away_refused)
{
	fx_clock(1798761600);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2028-06-30", SI.url);
	at_stack(extra);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "at most one year"));
	jauth_close(h);
}
END_TEST

START_TEST(test_token_from_file_and_rotation_by_refresh)
{
	fx_write(fx_path("tok"), 0600, "scoped-token\n");
	fx_stack("svc",
		 "required apitoken.so email=svc@acme.com token=@file:%s "
		 "ca_file=%s site=%s\n",
		 fx_path("tok"), SI.ca, SI.url);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(call_myself(h, &c), 401);
	/* The admin rotates the token; a refresh picks it up at once. */
	fx_write(fx_path("tok"), 0600, "unscoped-token\n");
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c),
			 "Basic c3ZjQGFjbWUuY29tOnVuc2NvcGVkLXRva2Vu");
	ck_assert_int_eq(call_myself(h, &c), 200);
	jauth_close(h);
}
END_TEST

START_TEST(test_missing_token_is_unavailable)
{
	unsetenv("JIRA_TOKEN");
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "JIRA_TOKEN"));
	jauth_close(h);
}
END_TEST

START_TEST(test_arguments_checked_at_open)
{
	static const struct {
		const char *line, *error;
	} bad[] = {
		{ "required apitoken.so token=@env:T", "email= is required" },
		{ "required apitoken.so email=a@b.c", "token= is required" },
		{ "required apitoken.so email=a@b.c token=@env:T",
		  "site= is required for an unscoped token" },
		{ "required apitoken.so email=a@b.c token=@env:T cloud_id=a/b",
		  "cloud_id= must be" },
		{ "required apitoken.so email=a@b.c token=@env:T site=http://x",
		  "site= is not an https:// URL" },
		{ "required apitoken.so email=a@b.c token=@env:T site=https://x "
		  "colour=red",
		  "colour= is not an argument of apitoken.so; valid: site, email, "
		  "token, cloud_id, api_url, auth_url, ca_file, expires, warn_days" },
		{ "required apitoken.so email=a@b.c token=@env:T site=https://x "
		  "expires=2027-13-01",
		  "expires= is not a real date" },
		{ "required apitoken.so email=a@b.c token=@env:T site=https://x "
		  "warn_days=400",
		  "warn_days= must be between 0 and 365" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fx_stack("svc", "%s\n", bad[i].line);
		jauth *h = fx_open_want("svc", JAUTH_CONFIG);
		ck_assert_msg(strstr(jauth_error(h), bad[i].error), "%s: %s",
			      bad[i].line, jauth_error(h));
		jauth_close(h);
	}
}
END_TEST

START_TEST(test_revoke_tells_where_to_revoke)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s", SI.url);
	at_stack(extra);
	jauth *h = fx_open("svc");
	char *steps = NULL;
	ck_assert_int_eq(jauth_revoke(h, &steps), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(
		strstr(steps,
		       "id.atlassian.com/manage-profile/security/api-tokens"));
	ck_assert_ptr_nonnull(strstr(steps, "environment variable JIRA_TOKEN"));
	jauth_free(steps);
	jauth_close(h);
}
END_TEST

START_TEST(test_token_never_in_debug_log_or_status)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	char extra[256];
	snprintf(extra, sizeof extra, "site=%s expires=2027-01-20", SI.url);
	fx_clock(1798761600);
	at_stack(extra);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(call_myself(h, &c), 200);
	jauth_report(h, c, 401);
	jauth_acquire(h, &c);
	char *json = NULL;
	jauth_status(h, &json);
	const char *secrets[] = { "unscoped-token",
				  "c3ZjQGFjbWUuY29tOnVuc2NvcGVkLXRva2Vu" };
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(!FX.log || !strstr(FX.log, secrets[i]), "log: %s",
			      FX.log);
		ck_assert_ptr_null(strstr(json, secrets[i]));
		ck_assert_ptr_null(strstr(jauth_error(h), secrets[i]));
	}
	jauth_free(json);
	jauth_close(h);
}
END_TEST

Suite *suite_apitoken(void)
{
	Suite *s = suite_create("apitoken.so");
	TCase *tc = tcase_create("api tokens");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, fx_setup_standin, fx_teardown);
	tcase_add_test(tc, test_unscoped_token_works_on_the_site);
	tcase_add_test(tc, test_scoped_token_works_through_the_gateway);
	tcase_add_test(tc,
		       test_scoped_token_on_the_site_is_denied_after_report);
	tcase_add_test(tc, test_expired_token_denied_with_instructions);
	tcase_add_test(tc, test_last_day_still_works_and_expiry_is_its_end);
	tcase_add_test(tc, test_expiry_within_warn_window_warns);
	tcase_add_test(tc, test_expiry_far_away_does_not_warn);
	tcase_add_test(tc, test_expiry_over_a_year_away_refused);
	tcase_add_test(tc, test_token_from_file_and_rotation_by_refresh);
	tcase_add_test(tc, test_missing_token_is_unavailable);
	tcase_add_test(tc, test_arguments_checked_at_open);
	tcase_add_test(tc, test_revoke_tells_where_to_revoke);
	tcase_add_test(tc, test_token_never_in_debug_log_or_status);
	suite_add_tcase(s, tc);
	return s;
}
