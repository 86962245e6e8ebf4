/* admin.c — revoking the grant (Atlassian has no endpoint: forget it and
 * tell the admin the uninstall order) and the grant's status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"

/* Removes record KEY if it exists; one that cannot be read is removed
 * too (a revoke must never be blocked by it). */
static jauth_result forget(jauth_m *m, const char *key, struct grant *g)
{
	jauth_m_lock *lk;
	cJSON *rec = NULL;
	jauth_result rc = jauth_m_store_lock(m, key, &lk, &rec);
	if (rc == JAUTH_ERROR) {
		jauth_m_log(m, JAUTH_LOG_WARN,
			    "the stored record cannot be read; removing it");
		rc = jauth_m_store_lock(m, key, &lk, NULL);
		if (rc == JAUTH_SUCCESS)
			rc = jauth_m_store_remove(lk);
		jauth_m_store_unlock(lk);
		return rc;
	}
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (g) {
		grant_from_json(g, rec);
		grant_redact(m, g);
	}
	if (rec)
		rc = jauth_m_store_remove(lk);
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
	return rc;
}

jauth_result oa_revoke(jauth_m *m, void *state)
{
	struct oauth *o = state;
	struct grant g = { 0 };
	jauth_result rc = forget(m, o->key, &g);
	if (rc == JAUTH_SUCCESS)
		rc = forget(m, o->consent_key, NULL);
	const char *cloud =
		g.cloud_id ? g.cloud_id : jauth_m_arg(m, "cloud_id");
	if (rc == JAUTH_SUCCESS) {
		grant_clear(&o->g);
		o->have = 0;
		jauth_m_say(m, "%s: the OAuth grant is forgotten here%s.",
			    jauth_m_source(m),
			    g.refresh_token ? "" : " (none was stored)");
	}
	jauth_m_say(m,
		    "1. Uninstall the app from the site: "
		    "https://admin.atlassian.com/s/%s/user-connected-apps/tab/"
		    "installed → the app → View app details → Uninstall.",
		    cloud ? cloud : "{CloudId}");
	jauth_m_say(m,
		    "2. Then, if the app is no longer needed, delete it: "
		    "https://developer.atlassian.com/console/myapps → the app "
		    "→ Settings → Delete app. Uninstall first: deleting an "
		    "installed app fails with \"We couldn't delete this app, "
		    "as it is currently installed somewhere.\"");
	grant_clear(&g);
	return rc;
}

static void warn(cJSON *warnings, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(cJSON *warnings, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		cJSON_AddItemToArray(warnings, cJSON_CreateString(s));
	va_end(ap);
	free(s);
}

/* The warnings a grant deserves at NOW. */
static void grant_warnings(jauth_m *m, const struct grant *g, time_t now,
			   const char *missing, cJSON *w)
{
	const char *svc = jauth_m_service(m);
	long idle = g->last_refresh ? (long)((now - g->last_refresh) / DAY) : 0;
	long age = g->created_at ? (long)((now - g->created_at) / DAY) : 0;
	if (g->dead_at)
		warn(w,
		     "Atlassian refused the grant (%s): run `jauth authorize "
		     "%s`",
		     g->dead_reason ? g->dead_reason : "invalid_grant", svc);
	if (idle >= IDLE_LIMIT_DAYS - 30)
		warn(w,
		     "the refresh token has been idle %ld days; Atlassian "
		     "drops it after %d: run `jauth refresh %s` now (and from "
		     "cron to keep it alive)",
		     idle, IDLE_LIMIT_DAYS, svc);
	if (age >= AGE_LIMIT_DAYS - 30)
		warn(w,
		     "the grant is %ld days old; grants have been limited to "
		     "%d days: plan `jauth authorize %s`",
		     age, AGE_LIMIT_DAYS, svc);
	if (missing && *missing)
		warn(w, "missing scopes: %s", missing);
	if (g->refresh_sent_at)
		warn(w,
		     "a refresh sent at %lld got no answer yet; the next one "
		     "retries it inside the reuse interval",
		     (long long)g->refresh_sent_at);
	if (!grant_site_matches(m, g))
		warn(w, "the grant's site is not the one the line names: the "
			"next acquire picks it again");
}

static void put_time(cJSON *o, const char *key, time_t t)
{
	if (t)
		cJSON_AddNumberToObject(o, key, (double)t);
}

static void grant_status(jauth_m *m, struct oauth *o, const struct grant *g,
			 time_t now, cJSON *out)
{
	char *missing = scopes_missing(o->scopes, g->scopes);
	cJSON *w = cJSON_CreateArray();
	if (g->site_name)
		cJSON_AddStringToObject(out, "site", g->site_name);
	if (g->site_url)
		cJSON_AddStringToObject(out, "site_url", g->site_url);
	if (g->cloud_id)
		cJSON_AddStringToObject(out, "cloud_id", g->cloud_id);
	if (g->scopes)
		cJSON_AddStringToObject(out, "scopes_granted", g->scopes);
	cJSON_AddStringToObject(out, "scopes_missing", missing ? missing : "");
	put_time(out, "expires_at", g->expires_at);
	put_time(out, "created_at", g->created_at);
	put_time(out, "last_refresh_at", g->last_refresh);
	put_time(out, "prev_rotated_at", g->prev_rotated_at);
	cJSON_AddNumberToObject(out, "refreshes", (double)g->refreshes);
	if (g->created_at)
		cJSON_AddNumberToObject(out, "grant_age_days",
					(double)((now - g->created_at) / DAY));
	if (g->last_refresh)
		cJSON_AddNumberToObject(out, "refresh_idle_days",
					(double)((now - g->last_refresh) /
						 DAY));
	cJSON_AddNumberToObject(out, "refresh_idle_limit_days",
				IDLE_LIMIT_DAYS);
	grant_warnings(m, g, now, missing, w);
	cJSON_AddItemToObject(out, "warnings", w);
	free(missing);
}

jauth_result oa_status(jauth_m *m, void *state, cJSON *out)
{
	struct oauth *o = state;
	struct grant g = { 0 };
	cJSON *rec = NULL;
	jauth_result rc = jauth_m_store_load(m, o->key, &rec);
	cJSON_AddStringToObject(out, "method", "OAuth 2.0 (3LO)");
	cJSON_AddStringToObject(out, "client_id", jauth_m_arg(m, "client_id"));
	cJSON_AddStringToObject(out, "redirect_uri", o->redirect_uri);
	cJSON_AddStringToObject(out, "scopes_requested", o->scopes);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (!rec) {
		cJSON *w = cJSON_AddArrayToObject(out, "warnings");
		warn(w, "no grant stored: run `jauth authorize %s`",
		     jauth_m_service(m));
		return JAUTH_SUCCESS;
	}
	grant_from_json(&g, rec);
	grant_redact(m, &g);
	jauth_m_json_free(rec);
	grant_status(m, o, &g, jauth_m_now(m), out);
	grant_clear(&g);
	return JAUTH_SUCCESS;
}
