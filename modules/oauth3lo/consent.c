/*
 * consent.c — the authorization-code grant: the consent URL with a random,
 * single-use state kept in the store; then, from the callback, the code
 * exchanged for tokens, the site picked and the grant stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"

#define STATE_BYTES 24 /* 192 bits */

jauth_result oa_authorize_begin(jauth_m *m, void *state, char **url)
{
	struct oauth *o = state;
	char st[2 * STATE_BYTES + 1];
	jauth_m_lock *lk;
	cJSON *rec;
	*url = NULL;
	if (jauth_m_random_hex(st, STATE_BYTES) != JAUTH_SUCCESS)
		return jauth_m_fail(m, JAUTH_ERROR, "no random bytes");
	/* Not read: whatever is pending (even unreadable) is replaced. */
	jauth_result rc = jauth_m_store_lock(m, o->consent_key, &lk, NULL);
	if (rc != JAUTH_SUCCESS)
		return rc;
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "state", st);
	cJSON_AddNumberToObject(rec, "created_at", (double)jauth_m_now(m));
	cJSON_AddStringToObject(rec, "redirect_uri", o->redirect_uri);
	rc = jauth_m_store_commit(lk, rec);
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
	if (rc != JAUTH_SUCCESS)
		return rc;
	const char *pairs[] = {
		"audience",
		"api.atlassian.com",
		"client_id",
		jauth_m_arg(m, "client_id"),
		"scope",
		o->scopes,
		"redirect_uri",
		o->redirect_uri,
		"state",
		st,
		"response_type",
		"code",
		"prompt",
		"consent",
		NULL,
	};
	*url = jauth_m_url_query(o->authorize_url, pairs);
	return *url ? JAUTH_SUCCESS
		    : jauth_m_fail(m, JAUTH_ERROR, "out of memory");
}

/* One parameter of the callback, present exactly once. */
static jauth_result param(jauth_m *m, const char *cb, const char *key,
			  char **out)
{
	jauth_result rc = jauth_m_url_param(cb, key, out);
	if (rc == JAUTH_UNAVAILABLE)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "the callback has no %s: paste the whole "
				    "address the browser was sent back to",
				    key);
	if (rc != JAUTH_SUCCESS)
		return jauth_m_fail(m, JAUTH_DENIED,
				    "the callback has %s more than once: "
				    "refused",
				    key);
	return JAUTH_SUCCESS;
}

/* Atlassian's error=… on the callback (the admin declined, …), in words. */
static jauth_result consent_error(jauth_m *m, const char *cb)
{
	char *err = NULL, *desc = NULL;
	if (jauth_m_url_param(cb, "error", &err) == JAUTH_UNAVAILABLE)
		return JAUTH_SUCCESS;
	jauth_m_url_param(cb, "error_description", &desc);
	jauth_result rc;
	if (err && strcmp(err, "access_denied") == 0)
		rc = jauth_m_fail(m, JAUTH_DENIED,
				  "consent was declined at Atlassian (%s): run "
				  "`jauth authorize %s` again and click Accept",
				  desc ? desc : "access_denied",
				  jauth_m_service(m));
	else
		rc = jauth_m_fail(m, JAUTH_DENIED,
				  "Atlassian answered the consent with error "
				  "%s%s%s",
				  err ? err : "(repeated)", desc ? ": " : "",
				  desc ? desc : "");
	free(err);
	free(desc);
	return rc;
}

/* Checks the callback's state against the pending consent and uses it up
 * (single use: removed before the code is exchanged). *redirect receives
 * the redirect_uri the consent was started with. */
static jauth_result take_state(jauth_m *m, struct oauth *o, const char *got,
			       char **redirect)
{
	jauth_m_lock *lk;
	cJSON *rec;
	const char *want = NULL, *uri = NULL;
	double created = 0;
	jauth_result rc = jauth_m_store_lock(m, o->consent_key, &lk, &rec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (rec &&
	    (jauth_m_json_str(m, "consent", rec, "state", &want) ||
	     jauth_m_json_str(m, "consent", rec, "redirect_uri", &uri) ||
	     jauth_m_json_num(m, "consent", rec, "created_at", &created)))
		want = NULL;
	size_t n = strlen(got);
	unsigned char diff = !want || strlen(want) != n;
	for (size_t i = 0; !diff && i < n; i++)
		diff |= (unsigned char)(want[i] ^ got[i]);
	if (!want)
		rc = jauth_m_fail(
			m, JAUTH_DENIED,
			"no consent is pending (it was used already, "
			"or never started here): run `jauth authorize "
			"%s`",
			jauth_m_service(m));
	else if (diff)
		rc = jauth_m_fail(m, JAUTH_DENIED,
				  "the callback's state does not match the "
				  "consent jauth started (forged, or from an "
				  "older attempt): run `jauth authorize %s`",
				  jauth_m_service(m));
	else if (!(created > 0 && created < 1e12) ||
		 jauth_m_now(m) - (time_t)created > CONSENT_TTL)
		rc = jauth_m_fail(
			m, JAUTH_DENIED,
			"the consent was started more than 10 minutes "
			"ago and its code has expired: run `jauth "
			"authorize %s`",
			jauth_m_service(m));
	if (rc == JAUTH_SUCCESS && !(*redirect = strdup(uri)))
		rc = jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	if (rec && rc != JAUTH_SUCCESS && !diff)
		jauth_m_store_remove(lk);
	else if (rc == JAUTH_SUCCESS)
		rc = jauth_m_store_remove(lk);
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
	return rc;
}

/* Exchanges CODE for tokens into G. */
static jauth_result exchange_code(jauth_m *m, struct oauth *o, const char *code,
				  const char *redirect, struct grant *g,
				  time_t now)
{
	struct jauth_m_http_resp rs;
	struct token_body b;
	jauth_result rc = client_body(m, "authorization_code", &b);
	if (rc != JAUTH_SUCCESS)
		return rc;
	body_add_secret(&b, "code", code);
	cJSON_AddStringToObject(b.j, "redirect_uri", redirect);
	rc = token_post(m, o, &b, &rs);
	if (rc == JAUTH_SUCCESS && rs.status == 403)
		rc = jauth_m_fail(
			m, JAUTH_DENIED,
			"Atlassian refused the authorization code (it "
			"was used already or is older than 10 "
			"minutes): run `jauth authorize %s`",
			jauth_m_service(m));
	else if (rc == JAUTH_SUCCESS && rs.status == 401)
		rc = jauth_m_fail(
			m, JAUTH_DENIED,
			"Atlassian refused the app's credentials (HTTP 401 "
			"from %s at the code exchange): compare client_id= "
			"and client_secret with the app's Settings in the "
			"developer console "
			"(https://developer.atlassian.com/console/myapps)",
			o->token_url);
	else if (rc == JAUTH_SUCCESS && rs.status != 200) {
		struct jauth_m_http_req rq = { .url = o->token_url };
		rc = jauth_m_http_fail(m, "code exchange", &rq, &rs);
	} else if (rc == JAUTH_SUCCESS)
		rc = grant_take_tokens(m, g, rs.body, now);
	jauth_m_http_free(&rs);
	if (rc == JAUTH_SUCCESS && !g->refresh_token)
		rc = jauth_m_fail(m, JAUTH_ERROR,
				  "Atlassian returned no refresh token: the "
				  "consent must include offline_access");
	return rc;
}

/* Replaces the string FIELD of SITE with its cleaned text. */
static void clean_field(jauth_m *m, cJSON *site, const char *field)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(site, field);
	char *s = jauth_m_clean(m, v->valuestring);
	if (strcmp(s, v->valuestring) != 0)
		cJSON_SetValuestring(v, s);
	jauth_m_wipe_free(s);
}

/* Every site has a string id, url and name; the id goes into the REST
 * base, so it must have a cloud id's form (a server's "../" or CR/LF
 * would change the path or the request); name and url are cleaned before
 * they are stored or shown. */
static jauth_result sites_ok(jauth_m *m, cJSON *arr)
{
	static const char *const keys[] = { "id", "url", "name" };
	cJSON *site;
	const char *v;
	cJSON_ArrayForEach (site, arr) {
		for (int i = 0; i < 3; i++) {
			jauth_result rc =
				jauth_m_json_str(m, "the list of sites", site,
						 keys[i], &v);
			if (rc != JAUTH_SUCCESS)
				return rc;
		}
		if (!jauth_m_cloud_id_ok(cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(site, "id"))))
			return jauth_m_fail(
				m, JAUTH_ERROR,
				"the list of sites has an id that is not a "
				"cloud id (letters, digits, '-'): refused; "
				"check that api_url= is Atlassian's");
		clean_field(m, site, "url");
		clean_field(m, site, "name");
	}
	return JAUTH_SUCCESS;
}

/* GETs accessible-resources with G's access token into g->sites. */
static jauth_result fetch_sites(jauth_m *m, struct oauth *o, struct grant *g)
{
	struct jauth_m_http_req rq;
	struct jauth_m_http_resp rs;
	cJSON *arr = NULL;
	jauth_result rc = resources_get(m, o, g->access_token, &rq, &rs);
	if (rc == JAUTH_SUCCESS && rs.status != 200)
		rc = jauth_m_http_fail(m, "the list of sites", &rq, &rs);
	else if (rc == JAUTH_SUCCESS)
		rc = jauth_m_json_parse(m, "the list of sites", rs.body, &arr);
	jauth_m_http_free(&rs);
	if (rc == JAUTH_SUCCESS && !cJSON_IsArray(arr)) {
		jauth_m_json_free(arr);
		return jauth_m_fail(m, JAUTH_ERROR,
				    "the list of sites is not a JSON array");
	}
	if (rc == JAUTH_SUCCESS)
		rc = sites_ok(m, arr);
	if (rc != JAUTH_SUCCESS) {
		jauth_m_json_free(arr);
		return rc;
	}
	if (rc == JAUTH_SUCCESS) {
		cJSON_Delete(g->sites);
		g->sites = arr;
	}
	return rc;
}

/* Stores G as the grant, replacing any earlier one. */
static jauth_result store_grant(jauth_m *m, struct oauth *o,
				const struct grant *g)
{
	jauth_m_lock *lk;
	/* The old record is not read: a new consent replaces it whatever
	 * it holds, even when it cannot be read. */
	jauth_result rc = jauth_m_store_lock(m, o->key, &lk, NULL);
	if (rc != JAUTH_SUCCESS)
		return rc;
	rc = grant_commit(lk, g);
	jauth_m_store_unlock(lk);
	return rc;
}

/* Tells the admin what was granted. */
static void report(jauth_m *m, struct oauth *o, const struct grant *g,
		   jauth_result site_rc)
{
	char *missing = scopes_missing(o->scopes, g->scopes);
	const char *all = g->scopes ? g->scopes : "";
	int n = 0, offline = 0;
	for (const char *p = all; *p; p += strcspn(p, " "), p += *p == ' ') {
		n += *p != ' ';
		offline |= strncmp(p, "offline_access", 14) == 0 &&
			   (p[14] == ' ' || !p[14]);
	}
	if (site_rc == JAUTH_SUCCESS)
		jauth_m_say(m, "authorized site %s (%s, cloud_id=%s)",
			    g->site_name, g->site_url, g->cloud_id);
	/* counted as the docs count: console scopes + offline_access */
	jauth_m_say(m, "granted %d scopes%s%s", n - offline,
		    offline ? " + offline_access" : "",
		    missing && *missing ? "" : ", all that were asked for");
	if (missing && *missing)
		jauth_m_say(m,
			    "missing scopes: %s — add them to the app in the "
			    "developer console (Permissions), then run `jauth "
			    "authorize %s` again",
			    missing, jauth_m_service(m));
	jauth_m_say(m, "the refresh token is stored; jauth keeps it fresh");
	free(missing);
}

jauth_result oa_authorize_finish(jauth_m *m, void *state, const char *cb)
{
	struct oauth *o = state;
	struct grant g = { 0 };
	char *st = NULL, *code = NULL, *redirect = NULL;
	time_t now = jauth_m_now(m);
	/* The state first, an error= answer too: a forged callback saying
	 * "declined" is a forged callback, and the pending consent stays. */
	char *err = NULL;
	int answered_error = jauth_m_url_param(cb, "error", &err) !=
			     JAUTH_UNAVAILABLE;
	free(err);
	jauth_result rc = param(m, cb, "state", &st);
	if (rc == JAUTH_SUCCESS && !answered_error)
		rc = param(m, cb, "code", &code);
	if (rc == JAUTH_SUCCESS && code)
		jauth_m_redact(m, code);
	if (rc == JAUTH_SUCCESS)
		rc = take_state(m, o, st, &redirect);
	if (rc == JAUTH_SUCCESS && answered_error)
		rc = consent_error(m, cb);
	if (rc == JAUTH_SUCCESS)
		rc = exchange_code(m, o, code, redirect, &g, now);
	if (rc == JAUTH_SUCCESS)
		rc = fetch_sites(m, o, &g);
	jauth_result site_rc = JAUTH_ERROR;
	if (rc == JAUTH_SUCCESS) {
		g.created_at = g.last_refresh = g.last_used = now;
		site_rc = grant_choose_site(m, &g);
		rc = store_grant(m, o, &g);
	}
	if (rc == JAUTH_SUCCESS) {
		report(m, o, &g, site_rc);
		rc = site_rc;
	}
	jauth_m_wipe_free(code);
	free(st);
	free(redirect);
	grant_clear(&g);
	return rc;
}
