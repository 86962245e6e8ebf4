/*
 * check_oauth.c — oauth3lo.so against the stand-in: consent, rotation,
 * single-flight refresh across real processes, kill -9 in the middle of
 * refreshes, outages, revoked grants, and the stack fallback to an API
 * token before consent.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "suites.h"

#define CLOUD "11111111-2222-3333-4444-555555555555"
#define CLOUD_B "99999999-8888-7777-6666-555555555555"
#define REDIRECT "https://app.example/oauth/callback"

static time_t T0;

static void setup(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	fx_clock(T0);
}

/* The 3LO stack; EXTRA ends the line, MORE adds lines. */
static void oauth_stack(const char *extra, const char *more)
{
	fx_stack(
		"svc",
		"required oauth3lo.so client_id=cid client_secret=@env:CLIENT_SECRET "
		"auth_url=%s api_url=%s ca_file=%s %s %s\n%s",
		SI.url, SI.url, SI.ca,
		strstr(extra, "region=") || strstr(extra, "redirect_uri=")
			? ""
			: "redirect_uri=" REDIRECT,
		extra, more ? more : "");
}

/* The callback URL of a consent begun on H (the stand-in consents). */
static char *consent_callback(jauth *h)
{
	char *url = NULL;
	ck_assert_msg(jauth_authorize_begin(h, &url) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	long status = 0;
	char *cb = standin_consent(&SI, url, &status);
	ck_assert_msg(cb, "authorize answered %ld for %s", status, url);
	jauth_free(url);
	return cb;
}

/* A whole consent on H; returns the report (free with jauth_free). */
static char *consent(jauth *h)
{
	char *cb = consent_callback(h), *report = NULL;
	jauth_result rc = jauth_authorize_finish(h, cb, &report);
	ck_assert_msg(rc == JAUTH_SUCCESS, "finish: %s", jauth_error(h));
	free(cb);
	return report;
}

static jauth *consented(const char *extra)
{
	oauth_stack(extra, NULL);
	jauth *h = fx_open("svc");
	jauth_free(consent(h));
	return h;
}

static const char *rec_str(cJSON *rec, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(rec, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* ---- consent ---- */

START_TEST(test_consent_then_token_works_at_the_gateway)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "run `jauth authorize svc`"));
	char *report = consent(h);
	ck_assert_msg(
		strstr(report,
		       "authorized site acme (https://acme.atlassian.net, "
		       "cloud_id=" CLOUD ")"),
		"%s", report);
	ck_assert_ptr_nonnull(
		strstr(report,
		       "granted 22 scopes + offline_access, all that were "
		       "asked for"));
	jauth_free(report);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_scheme(c), "Bearer");
	char base[256];
	snprintf(base, sizeof base, "%s/ex/jira/" CLOUD, SI.url);
	ck_assert_str_eq(jauth_cred_base_url(c), base);
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 1);
	jauth_close(h);
}
END_TEST

START_TEST(test_consent_url_has_every_parameter)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *url = NULL, *v = NULL;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	char prefix[256];
	snprintf(prefix, sizeof prefix, "%s/authorize?", SI.url);
	ck_assert_msg(strncmp(url, prefix, strlen(prefix)) == 0, "%s", url);
	static const char *const want[][2] = {
		{ "audience", "api.atlassian.com" },
		{ "client_id", "cid" },
		{ "redirect_uri", REDIRECT },
		{ "response_type", "code" },
		{ "prompt", "consent" },
	};
	for (int i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof key, "%s=", want[i][0]);
		ck_assert_msg(strstr(url, key), "%s lacks %s", url, key);
	}
	ck_assert_ptr_nonnull(strstr(
		url,
		"redirect_uri=https%3A%2F%2Fapp.example%2Foauth%2Fcallback"));
	ck_assert_ptr_nonnull(strstr(url, "offline_access"));
	ck_assert_ptr_nonnull(
		strstr(url, "read%3Aboard-scope%3Ajira-software"));
	ck_assert_ptr_nonnull(strstr(url, "read%3Aissue%3Ajira"));
	/* scope: the 22 of the guide and offline_access, blank-separated */
	const char *scope = strstr(url, "scope=");
	int blanks = 0;
	for (const char *p = scope; *p && *p != '&'; p++)
		blanks += strncmp(p, "%20", 3) == 0;
	ck_assert_int_eq(blanks, 22);
	/* state: at least 128 random bits, hex */
	const char *st = strstr(url, "state=") + 6;
	size_t n = strcspn(st, "&");
	ck_assert_int_ge(n, 32);
	(void)v;
	jauth_free(url);
	jauth_close(h);
}
END_TEST

START_TEST(test_readonly_scopes_are_the_read_ones)
{
	oauth_stack("scopes=readonly", NULL);
	jauth *h = fx_open("svc");
	char *url = NULL;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	ck_assert_ptr_null(strstr(url, "write%3A"));
	ck_assert_ptr_null(strstr(url, "manage%3A"));
	ck_assert_ptr_nonnull(strstr(url, "read%3Ajira-work"));
	ck_assert_ptr_nonnull(strstr(url, "offline_access"));
	jauth_free(url);
	jauth_close(h);
}
END_TEST

START_TEST(test_region_eu_and_us_callbacks)
{
	oauth_stack("region=eu", NULL);
	jauth *h = fx_open("svc");
	char *url = NULL;
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(
		url,
		"redirect_uri=https%3A%2F%2Feu.oneconnect.ai%2Foauth%2Fjira%2Fcallback"));
	jauth_free(url);
	jauth_close(h);
	oauth_stack("region=us", NULL);
	h = fx_open("svc");
	ck_assert_int_eq(jauth_authorize_begin(h, &url), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(
		url,
		"redirect_uri=https%3A%2F%2Fmy.oneconnect.ai%2Foauth%2Fjira%2Fcallback"));
	/* the EU flow completes against the stand-in too */
	char *cb = standin_consent(&SI, url, NULL), *report = NULL;
	ck_assert_ptr_nonnull(
		strstr(cb,
		       "https://my.oneconnect.ai/oauth/jira/callback?code="));
	ck_assert_int_eq(jauth_authorize_finish(h, cb, &report), JAUTH_SUCCESS);
	free(cb);
	jauth_free(report);
	jauth_free(url);
	jauth_close(h);
}
END_TEST

/* Replaces the value of KEY in callback CB (malloc'd). */
static char *with_param(const char *cb, const char *key, const char *value)
{
	char *out = malloc(strlen(cb) + strlen(value) + 64);
	char pat[32];
	snprintf(pat, sizeof pat, "%s=", key);
	const char *p = strstr(cb, pat);
	ck_assert_ptr_nonnull(p);
	size_t head = (size_t)(p - cb) + strlen(pat);
	const char *tail = p + strlen(pat) + strcspn(p + strlen(pat), "&");
	sprintf(out, "%.*s%s%s", (int)head, cb, value, tail);
	return out;
}

START_TEST(test_forged_state_refused)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	char *forged =
		with_param(cb, "state", "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(jauth_authorize_finish(h, forged, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "does not match"));
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 0);
	/* The real callback still works: a forgery cannot cancel it. */
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_SUCCESS);
	free(forged);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_expired_state_refused)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	fx_clock(T0 + 601);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "more than 10 minutes"));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), 0);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_reused_state_refused)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "no consent is pending"));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), 1);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_code_reuse_refused)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb1 = consent_callback(h);
	ck_assert_int_eq(jauth_authorize_finish(h, cb1, NULL), JAUTH_SUCCESS);
	char *cb2 = consent_callback(h);
	/* the new consent's state with the first, used code */
	const char *code1 = strstr(cb1, "code=") + 5;
	char code[256];
	snprintf(code, sizeof code, "%.*s", (int)strcspn(code1, "&"), code1);
	char *replay = with_param(cb2, "code", code);
	ck_assert_int_eq(jauth_authorize_finish(h, replay, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "refused the authorization code"));
	ck_assert_int_eq(standin_counter(&SI, "code_reuses"), 1);
	free(cb1);
	free(cb2);
	free(replay);
	jauth_close(h);
}
END_TEST

START_TEST(test_repeated_state_parameter_refused)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h), twice[4096];
	snprintf(twice, sizeof twice, "%s&state=other", cb);
	ck_assert_int_eq(jauth_authorize_finish(h, twice, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "state more than once"));
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_declined_consent_said_in_words)
{
	standin_config(&SI, "{\"consent\":\"deny\"}");
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_DENIED);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "consent was declined at Atlassian"));
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "click Accept"));
	free(cb);
	jauth_close(h);
}
END_TEST

/* A callback saying "declined" with a state jauth did not make is forged:
 * said so, and the consent stays pending for the real callback. */
START_TEST(test_declined_with_a_forged_state_is_forged)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_int_eq(
		jauth_authorize_finish(h,
				       "https://app.example/cb?error=access_denied"
				       "&state=guess",
				       NULL),
		JAUTH_DENIED);
	ck_assert_msg(strstr(jauth_error(h), "state does not match"), "%s",
		      jauth_error(h));
	ck_assert_msg(!strstr(jauth_error(h), "declined"), "%s",
		      jauth_error(h));
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_SUCCESS);
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_query_string_alone_is_accepted)
{
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_int_eq(jauth_authorize_finish(h, strchr(cb, '?') + 1, NULL),
			 JAUTH_SUCCESS);
	free(cb);
	jauth_close(h);
}
END_TEST

static void two_sites(void)
{
	ck_assert_int_eq(
		standin_config(
			&SI,
			"{\"sites\":[{\"id\":\"" CLOUD
			"\",\"url\":\"https://acme.atlassian.net\","
			"\"name\":\"acme\"},{\"id\":\"" CLOUD_B "\",\"url\":"
			"\"https://beta.atlassian.net\",\"name\":\"beta\"}],"
			"\"grant_sites\":null}"),
		0);
}

START_TEST(
	test_two_sites_without_cloud_id_listed_then_fixed_without_new_consent)
{
	two_sites();
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	/* the line is to be fixed: a configuration error (exit 2) */
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_CONFIG);
	const char *e = jauth_error(h);
	ck_assert_msg(strstr(e, "granted 2 sites"), "%s", e);
	ck_assert_ptr_nonnull(
		strstr(e, "acme (https://acme.atlassian.net, cloud_id=" CLOUD
			  ")"));
	ck_assert_ptr_nonnull(
		strstr(e, "beta (https://beta.atlassian.net, cloud_id=" CLOUD_B
			  ")"));
	ck_assert_ptr_nonnull(strstr(e, "no new consent needed"));
	free(cb);
	jauth_close(h);
	oauth_stack("cloud_id=" CLOUD_B, NULL);
	h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_msg(jauth_acquire(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_ptr_nonnull(
		strstr(jauth_cred_base_url(c), "/ex/jira/" CLOUD_B));
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 1);
	jauth_close(h);
}
END_TEST

START_TEST(test_two_sites_with_cloud_id_or_site)
{
	two_sites();
	jauth *h = consented("cloud_id=" CLOUD_B);
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(jauth_cred_base_url(c), CLOUD_B));
	jauth_close(h);
	oauth_stack("site=https://acme.atlassian.net/", NULL);
	h = fx_open("svc");
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(jauth_cred_base_url(c), CLOUD));
	jauth_close(h);
}
END_TEST

START_TEST(test_cloud_id_not_granted_is_named)
{
	oauth_stack("cloud_id=" CLOUD_B, NULL);
	jauth *h = fx_open("svc");
	char *cb = consent_callback(h);
	ck_assert_int_eq(jauth_authorize_finish(h, cb, NULL), JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h),
		       "not among those the consent granted: acme"));
	free(cb);
	jauth_close(h);
}
END_TEST

START_TEST(test_missing_scopes_named)
{
	standin_config(&SI, "{\"deny_scopes\":[\"manage:jira-webhook\","
			    "\"read:sprint:jira-software\"]}");
	oauth_stack("", NULL);
	jauth *h = fx_open("svc");
	char *report = consent(h);
	ck_assert_msg(strstr(report, "missing scopes: manage:jira-webhook "
				     "read:sprint:jira-software"),
		      "%s", report);
	jauth_free(report);
	char *json = NULL;
	jauth_status(h, &json);
	ck_assert_ptr_nonnull(strstr(
		json,
		"\"scopes_missing\":\t\"manage:jira-webhook read:sprint:jira-software\""));
	jauth_free(json);
	jauth_close(h);
}
END_TEST

/* ---- refresh ---- */

START_TEST(test_refresh_rotates_and_keeps_the_previous_token)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	char *first = strdup(jauth_cred_authorization(c));
	cJSON *rec = fx_grant_record();
	char *rt1 = strdup(rec_str(rec, "refresh_token"));
	cJSON_Delete(rec);
	fx_clock(T0 + 3400); /* inside the 300 s leeway of the hour */
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_ne(jauth_cred_authorization(c), first);
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	rec = fx_grant_record();
	ck_assert_str_ne(rec_str(rec, "refresh_token"), rt1);
	ck_assert_str_eq(rec_str(rec, "prev_refresh_token"), rt1);
	ck_assert_ptr_null(cJSON_GetObjectItem(rec, "refresh_sent_at"));
	cJSON_Delete(rec);
	free(first);
	free(rt1);
	jauth_close(h);
}
END_TEST

START_TEST(test_cached_token_needs_no_io)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	long before = standin_counter(&SI, "token_requests");
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), before);
	jauth_close(h);
}
END_TEST

START_TEST(test_forced_refresh)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert_int_eq(fx_myself(c), 200);
	jauth_close(h);
}
END_TEST

START_TEST(test_outage_serves_valid_token_then_transient)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	char *old = strdup(jauth_cred_authorization(c));
	standin_fault(
		&SI, "{\"path\":\"/oauth/token\",\"status\":503,\"count\":-1}");
	fx_clock(T0 + 3400);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c), old);
	ck_assert(fx_log_has("refresh failed for now"));
	/* Asked to refresh (cron's keep-alive): the failure is told. */
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_TRANSIENT);
	standin_fault(&SI, "{\"path\":\"/oauth/token\",\"status\":429,"
			   "\"retry_after\":\"1\",\"count\":-1}");
	fx_clock(T0 + 3700); /* expired */
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_TRANSIENT);
	/* The endpoint is back: the same refresh token still works. */
	standin_request(&SI, "POST", "/_standin/clear_faults", "{}", NULL);
	fx_clock(T0 + 3800);
	ck_assert_msg(jauth_acquire(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	free(old);
	jauth_close(h);
}
END_TEST

START_TEST(test_revoked_grant_denied_with_hint_and_no_loop)
{
	jauth *h = consented("");
	standin_request(&SI, "POST", "/_standin/revoke_all", "{}", NULL);
	fx_clock(T0 + 3400);
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "the OAuth grant is gone"));
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "run `jauth authorize svc`"));
	long asked = standin_counter(&SI, "token_requests");
	fx_clock(T0 + 3500);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_DENIED);
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked);
	/* A new consent brings it back. */
	jauth_free(consent(h));
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(fx_myself(c), 200);
	jauth_close(h);
}
END_TEST

START_TEST(test_rejected_token_refreshes_once_then_checks)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	char *t1 = strdup(jauth_cred_authorization(c));
	jauth_report(h, c, 403);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_ne(jauth_cred_authorization(c), t1);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	/* Rejected again: Atlassian says the token is fine, so it is a
	 * permission problem; no second refresh. */
	jauth_report(h, c, 403);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert(fx_log_has("permissions or scopes"));
	free(t1);
	jauth_close(h);
}
END_TEST

START_TEST(test_rejected_token_of_revoked_grant_is_denied)
{
	jauth *h = consented("");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	standin_request(&SI, "POST", "/_standin/revoke_all", "{}", NULL);
	ck_assert_int_eq(fx_myself(c), 401);
	jauth_report(h, c, 401);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth authorize svc"));
	jauth_close(h);
}
END_TEST

START_TEST(test_keepalive_refreshes_an_idle_refresh_token)
{
	standin_config(&SI, "{\"expires_in\": 172800}");
	jauth *h = consented("keepalive_days=1");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	fx_clock(T0 + 86400 + 3600); /* token valid for another day */
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	jauth_close(h);
}
END_TEST

/* Writes refresh_sent_at = WHEN into the record, as a process killed
 * after sending its refresh would have left it. */
static void mark_sent(time_t when)
{
	cJSON *rec = fx_grant_record();
	cJSON_DeleteItemFromObject(rec, "refresh_sent_at");
	cJSON_AddNumberToObject(rec, "refresh_sent_at", (double)when);
	char *text = cJSON_PrintUnformatted(rec);
	fx_write(fx_grant_file(), 0600, text);
	free(text);
	cJSON_Delete(rec);
}

START_TEST(test_lost_answer_retried_inside_reuse_interval)
{
	jauth *h = consented("");
	/* A refresh "sent" 2 minutes ago whose answer never arrived: the
	 * stand-in did rotate (we send the token it already rotated). */
	const jauth_cred *c;
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	cJSON *rec = fx_grant_record();
	char *rt_old = strdup(rec_str(rec, "prev_refresh_token"));
	cJSON_Delete(rec);
	rec = fx_grant_record();
	cJSON_ReplaceItemInObject(rec, "refresh_token",
				  cJSON_CreateString(rt_old));
	cJSON_AddNumberToObject(rec, "refresh_sent_at", (double)(T0 - 120));
	char *text = cJSON_PrintUnformatted(rec);
	fx_write(fx_grant_file(), 0600, text);
	free(text);
	cJSON_Delete(rec);
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_int_eq(fx_myself(c), 200);
	ck_assert_int_eq(standin_counter(&SI, "reuses"), 1);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	free(rt_old);
	jauth_close(h);
}
END_TEST

START_TEST(test_lost_answer_never_replayed_after_reuse_interval)
{
	jauth *h = consented("");
	mark_sent(T0 - 700);
	long asked = standin_counter(&SI, "token_requests");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "reuse interval"));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	jauth_close(h);
}
END_TEST

START_TEST(test_refused_before_processing_clears_the_mark)
{
	jauth *h = consented("");
	standin_fault(
		&SI, "{\"path\":\"/oauth/token\",\"status\":503,\"count\":-1}");
	const jauth_cred *c;
	jauth_refresh(h, &c);
	/* The store's view (record and intent mark), as status shows it. */
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_ptr_null(strstr(json, "got no answer"));
	jauth_free(json);
	jauth_close(h);
}
END_TEST

START_TEST(test_garbage_token_answer_is_an_error_not_a_crash)
{
	static const char *const bodies[] = {
		"not json at all",
		"{\"access_token\": 42, \"expires_in\": 3600}",
		"{\"access_token\": \"a\", \"access_token\": \"b\", \"expires_in\": 3600}",
		"[1, 2, 3]",
	};
	jauth *h = consented("");
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "path", "/oauth/token");
		cJSON_AddNumberToObject(f, "status", 200);
		cJSON_AddStringToObject(f, "body", bodies[i]);
		char *json = cJSON_PrintUnformatted(f);
		standin_fault(&SI, json);
		free(json);
		cJSON_Delete(f);
		const jauth_cred *c;
		ck_assert_msg(jauth_refresh(h, &c) == JAUTH_ERROR, "%s: %s",
			      bodies[i], jauth_error(h));
	}
	/* The grant survived all of it. */
	const jauth_cred *c;
	ck_assert_msg(jauth_refresh(h, &c) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_int_eq(fx_myself(c), 200);
	jauth_close(h);
}
END_TEST

START_TEST(test_out_of_range_expires_in_is_clamped)
{
	jauth *h = consented("");
	standin_config(&SI, "{\"expires_in\": -5}");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_cred_expires_at(c), T0 + 60);
	standin_config(&SI, "{\"expires_in\": 1000000000000}");
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_cred_expires_at(c), T0 + 2 * 86400);
	ck_assert(fx_log_has("out of range"));
	jauth_close(h);
}
END_TEST

/* ---- revoke and status ---- */

START_TEST(test_revoke_forgets_and_gives_the_uninstall_order)
{
	jauth *h = consented("");
	char *steps = NULL;
	ck_assert_int_eq(jauth_revoke(h, &steps), JAUTH_SUCCESS);
	ck_assert_msg(strstr(steps, "https://admin.atlassian.com/s/" CLOUD
				    "/user-connected-apps/tab/installed"),
		      "%s", steps);
	ck_assert_ptr_nonnull(strstr(steps,
				     "We couldn't delete this app, as it is "
				     "currently installed somewhere."));
	const char *uninstall = strstr(steps, "Uninstall the app");
	const char *del = strstr(steps, "delete it");
	ck_assert(uninstall && del && uninstall < del);
	jauth_free(steps);
	ck_assert_ptr_null(fx_read(fx_grant_file()));
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_UNAVAILABLE);
	jauth_close(h);
}
END_TEST

START_TEST(test_status_reports_the_grant)
{
	jauth *h = consented("");
	const jauth_cred *c;
	jauth_acquire(h, &c);
	fx_clock(T0 + 65 * 86400);
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	cJSON *j = cJSON_Parse(json);
	cJSON *st = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "lines"), 0),
		"status");
	ck_assert_str_eq(rec_str(st, "cloud_id"), CLOUD);
	ck_assert_str_eq(rec_str(st, "site"), "acme");
	ck_assert_int_eq(cJSON_GetObjectItem(st, "refresh_idle_days")->valueint,
			 65);
	ck_assert_int_eq(cJSON_GetObjectItem(st, "grant_age_days")->valueint,
			 65);
	ck_assert_msg(strstr(json, "idle 65 days; Atlassian drops it after 90"),
		      "%s", json);
	ck_assert_ptr_null(strstr(json, "at-"));
	cJSON_Delete(j);
	jauth_free(json);
	jauth_close(h);
}
END_TEST

START_TEST(test_arguments_checked_at_open)
{
	static const struct {
		const char *extra, *error;
	} bad[] = {
		{ "region=mars", "region= must be us or eu" },
		{ "region=eu redirect_uri=https://x", "not both" },
		{ "redirect_uri=http://example.com/cb",
		  "redirect_uri= must be https" },
		{ "redirect_uri=https://app.example/cb#frag",
		  "must not have a #fragment" },
		{ "region=us scopes=\"read:jira-work DROP;TABLE\"",
		  "is not a scope name" },
		{ "region=us refresh_leeway=9999",
		  "refresh_leeway= must be between" },
		{ "region=us keepalive_days=90",
		  "keepalive_days= must be between 1 and 89" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fx_stack(
			"svc",
			"required oauth3lo.so client_id=cid client_secret=@env:X %s\n",
			bad[i].extra);
		jauth *h = fx_open_want("svc", JAUTH_CONFIG);
		ck_assert_msg(strstr(jauth_error(h), bad[i].error), "%s: %s",
			      bad[i].extra, jauth_error(h));
		jauth_close(h);
	}
	fx_stack("svc",
		 "required oauth3lo.so client_secret=@env:X region=us\n");
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "client_id= is required"));
	jauth_close(h);
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid client_secret=@env:X "
		 "redirect_uri=http://127.0.0.1:8765/cb\n");
	jauth_close(fx_open("svc"));
}
END_TEST

/* ---- the stack fallback of the setup guide ---- */

START_TEST(test_api_token_before_consent_never_after)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	char more[8192];
	snprintf(
		more, sizeof more,
		"required apitoken.so email=svc@acme.com token=@env:JIRA_TOKEN "
		"site=%s ca_file=%s\n",
		SI.url, SI.ca);
	fx_stack("svc",
		 "[success=done unavailable=ignore default=die] oauth3lo.so "
		 "client_id=cid client_secret=@env:CLIENT_SECRET auth_url=%s "
		 "api_url=%s ca_file=%s redirect_uri=" REDIRECT "\n%s",
		 SI.url, SI.url, SI.ca, more);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_scheme(c), "Basic");
	ck_assert_int_eq(fx_myself(c), 200);
	jauth_free(consent(h));
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_scheme(c), "Bearer");
	ck_assert_int_eq(fx_myself(c), 200);
	/* OAuth denied later: the stack dies; no quiet fallback. */
	standin_request(&SI, "POST", "/_standin/revoke_all", "{}", NULL);
	fx_clock(T0 + 3400);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_DENIED);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth authorize svc"));
	jauth_close(h);
}
END_TEST

START_TEST(test_no_secret_in_debug_log)
{
	jauth *h = consented("");
	const jauth_cred *c;
	jauth_refresh(h, &c);
	jauth_report(h, c, 401);
	jauth_acquire(h, &c);
	char *json = NULL;
	jauth_status(h, &json);
	cJSON *rec = fx_grant_record();
	const char *secrets[] = {
		"csecret",
		rec_str(rec, "access_token"),
		rec_str(rec, "refresh_token"),
		rec_str(rec, "prev_refresh_token"),
	};
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
		ck_assert(strlen(secrets[i]) > 6);
		ck_assert_msg(!FX.log || !strstr(FX.log, secrets[i]), "log: %s",
			      FX.log);
		ck_assert_ptr_null(strstr(json, secrets[i]));
	}
	cJSON_Delete(rec);
	jauth_free(json);
	jauth_close(h);
}
END_TEST

Suite *suite_oauth(void)
{
	Suite *s = suite_create("oauth3lo.so");
	TCase *tc = tcase_create("consent");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_add_test(tc, test_consent_then_token_works_at_the_gateway);
	tcase_add_test(tc, test_consent_url_has_every_parameter);
	tcase_add_test(tc, test_readonly_scopes_are_the_read_ones);
	tcase_add_test(tc, test_region_eu_and_us_callbacks);
	tcase_add_test(tc, test_forged_state_refused);
	tcase_add_test(tc, test_expired_state_refused);
	tcase_add_test(tc, test_reused_state_refused);
	tcase_add_test(tc, test_code_reuse_refused);
	tcase_add_test(tc, test_repeated_state_parameter_refused);
	tcase_add_test(tc, test_declined_consent_said_in_words);
	tcase_add_test(tc, test_declined_with_a_forged_state_is_forged);
	tcase_add_test(tc, test_query_string_alone_is_accepted);
	tcase_add_test(
		tc,
		test_two_sites_without_cloud_id_listed_then_fixed_without_new_consent);
	tcase_add_test(tc, test_two_sites_with_cloud_id_or_site);
	tcase_add_test(tc, test_cloud_id_not_granted_is_named);
	tcase_add_test(tc, test_missing_scopes_named);
	tcase_add_test(tc, test_arguments_checked_at_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("refresh");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_refresh_rotates_and_keeps_the_previous_token);
	tcase_add_test(tc, test_cached_token_needs_no_io);
	tcase_add_test(tc, test_forced_refresh);
	tcase_add_test(tc, test_outage_serves_valid_token_then_transient);
	tcase_add_test(tc, test_revoked_grant_denied_with_hint_and_no_loop);
	tcase_add_test(tc, test_rejected_token_refreshes_once_then_checks);
	tcase_add_test(tc, test_rejected_token_of_revoked_grant_is_denied);
	tcase_add_test(tc, test_keepalive_refreshes_an_idle_refresh_token);
	tcase_add_test(tc, test_lost_answer_retried_inside_reuse_interval);
	tcase_add_test(tc,
		       test_lost_answer_never_replayed_after_reuse_interval);
	tcase_add_test(tc, test_refused_before_processing_clears_the_mark);
	tcase_add_test(tc, test_garbage_token_answer_is_an_error_not_a_crash);
	tcase_add_test(tc, test_out_of_range_expires_in_is_clamped);
	tcase_add_test(tc, test_revoke_forgets_and_gives_the_uninstall_order);
	tcase_add_test(tc, test_status_reports_the_grant);
	tcase_add_test(tc, test_api_token_before_consent_never_after);
	tcase_add_test(tc, test_no_secret_in_debug_log);
	suite_add_tcase(s, tc);
	return s;
}
