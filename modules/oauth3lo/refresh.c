/*
 * refresh.c — handing out the access token, and the refresh grant.
 *
 * A refresh is one locked read-modify-write of the grant's record: re-read
 * under the lock (another process may have refreshed: use its tokens),
 * note that the refresh token is being sent, send it, and commit the
 * rotated one before anyone sees the new access token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"

/* What made this refresh necessary. */
enum why { WHY_DUE, WHY_FORCED, WHY_REJECTED };

void body_add_secret(struct token_body *b, const char *key, const char *value)
{
	char *v = jauth_m_secure_strdup(value ? value : "");
	if (b->n == (int)(sizeof b->own / sizeof *b->own))
		abort(); /* a body has four secrets at most: a bug */
	b->own[b->n++] = v;
	cJSON_AddItemToObject(b->j, key, cJSON_CreateStringReference(v));
}

void body_free(struct token_body *b)
{
	jauth_m_json_free(b->j);
	for (int i = 0; i < b->n; i++)
		jauth_m_secure_free(b->own[i]);
	memset(b, 0, sizeof *b);
}

jauth_result token_post(jauth_m *m, struct oauth *o, struct token_body *b,
			struct jauth_m_http_resp *rs)
{
	char *json = jauth_m_json_print_secure(b->j);
	body_free(b);
	memset(rs, 0, sizeof *rs);
	if (!json)
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	struct jauth_m_http_req rq = {
		.method = "POST",
		.url = o->token_url,
		.json = json,
		.ca_file = jauth_m_arg(m, "ca_file"),
	};
	jauth_result rc = jauth_m_http(m, &rq, rs);
	jauth_m_secure_free(json);
	return rc;
}

jauth_result client_body(jauth_m *m, const char *grant_type,
			 struct token_body *b)
{
	jauth_m_secret *secret;
	memset(b, 0, sizeof *b);
	jauth_result rc = jauth_m_secret_get(m, "client_secret", &secret);
	if (rc != JAUTH_SUCCESS)
		return rc;
	b->j = cJSON_CreateObject();
	cJSON_AddStringToObject(b->j, "grant_type", grant_type);
	cJSON_AddStringToObject(b->j, "client_id", jauth_m_arg(m, "client_id"));
	body_add_secret(b, "client_secret", jauth_m_secret_str(secret));
	jauth_m_secret_free(secret);
	return JAUTH_SUCCESS;
}

jauth_result resources_get(jauth_m *m, struct oauth *o, const char *token,
			   struct jauth_m_http_req *rq,
			   struct jauth_m_http_resp *rs)
{
	char *auth =
		jauth_m_secure_alloc(strlen("Bearer ") + strlen(token) + 1);
	strcpy(auth, "Bearer ");
	strcat(auth, token);
	*rq = (struct jauth_m_http_req){
		.method = "GET",
		.url = o->resources_url,
		.authorization = auth,
		.ca_file = jauth_m_arg(m, "ca_file"),
	};
	jauth_result rc = jauth_m_http(m, rq, rs);
	jauth_m_secure_free(auth);
	rq->authorization = NULL;
	return rc;
}

static jauth_result no_grant(jauth_m *m)
{
	return jauth_m_fail(m, JAUTH_UNAVAILABLE,
			    "no OAuth grant is stored for %s: run `jauth "
			    "authorize %s`",
			    jauth_m_service(m), jauth_m_service(m));
}

/* The hint for a grant Atlassian no longer knows. */
static jauth_result grant_gone(jauth_m *m, const char *detail)
{
	return jauth_m_fail(
		m, JAUTH_DENIED,
		"the OAuth grant is gone (%s): run `jauth authorize "
		"%s` to consent again. Likely causes: the refresh "
		"token was unused for over 90 days, the app was "
		"uninstalled or its consent revoked, or a refresh "
		"token was replayed",
		detail, jauth_m_service(m));
}

/* Reads the token endpoint's refusal: a dead grant is recorded as such,
 * so that nobody sends its tokens again. */
static jauth_result refresh_refused(jauth_m *m, struct oauth *o,
				    struct jauth_m_http_resp *rs,
				    struct grant *g, jauth_m_lock *lk,
				    time_t now)
{
	cJSON *j = rs->body ? cJSON_Parse(rs->body) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *d =
		cJSON_GetObjectItemCaseSensitive(j, "error_description");
	int invalid_grant = cJSON_IsString(e) &&
			    strcmp(e->valuestring, "invalid_grant") == 0;
	char *detail = NULL;
	if (asprintf(&detail, "Atlassian: %s%s%s",
		     cJSON_IsString(e) ? e->valuestring : "refused",
		     cJSON_IsString(d) ? ": " : "",
		     cJSON_IsString(d) ? d->valuestring : "") < 0)
		detail = NULL;
	jauth_m_json_free(j);
	jauth_result rc;
	if (invalid_grant) {
		/* Kept for every later status and token: masked and
		 * cleaned before it is stored, not each time it is shown. */
		g->dead_at = now;
		free(g->dead_reason);
		g->dead_reason = detail ? jauth_m_clean(m, detail) : NULL;
		g->refresh_sent_at = 0;
		g->refresh_sent_boot = 0;
		grant_commit(lk, g);
		rc = grant_gone(m, g->dead_reason);
	} else if (rs->status == 401) {
		rc = jauth_m_fail(m, JAUTH_DENIED,
				  "Atlassian refused the app's client_id or "
				  "client_secret (%s): check them against the "
				  "developer console (Settings) and %s",
				  detail ? detail : "HTTP 401",
				  jauth_m_secret_origin(m, "client_secret"));
	} else {
		struct jauth_m_http_req rq = { .url = o->token_url };
		rc = jauth_m_http_fail(m, "refresh", &rq, rs);
	}
	free(detail);
	return rc;
}

/* Decides whether the refresh token may be sent now: not when a refresh
 * that used it got no answer longer ago than the reuse interval (with a
 * margin), because Atlassian may revoke the whole grant for that replay. */
static jauth_result may_send(jauth_m *m, struct grant *g, time_t now)
{
	long long interval = jauth_m_arg_int(m, "reuse_interval");
	long long margin = interval / 10 < 60 ? interval / 10 : 60;
	if (!g->refresh_sent_at)
		return JAUTH_SUCCESS;
	if (now < g->refresh_sent_at)
		return jauth_m_fail(
			m, JAUTH_TRANSIENT,
			"a refresh sent at %lld got no answer, and the clock "
			"now says %lld: it went back since, so how long ago "
			"is unknown, and sending that refresh token again "
			"after Atlassian's reuse interval could make it revoke "
			"the whole grant; it is not sent: fix the clock, or "
			"run `jauth authorize %s`",
			(long long)g->refresh_sent_at, (long long)now,
			jauth_m_service(m));
	/* Whichever clock saw more time pass: the wall clock may have been
	 * set back by less than the time that went by. */
	long long ago = now - g->refresh_sent_at;
	long long mono = grant_boot_since(g, g->refresh_sent_boot);
	ago = mono > ago ? mono : ago;
	if (ago < interval - margin) {
		jauth_m_log(m, JAUTH_LOG_NOTICE,
			    "a refresh sent %lld s ago got no answer; sending "
			    "the same refresh token again (inside Atlassian's "
			    "reuse interval)",
			    ago);
		return JAUTH_SUCCESS;
	}
	return jauth_m_fail(m, JAUTH_DENIED,
			    "a refresh sent %lld s ago got no answer and "
			    "Atlassian's reuse interval for that refresh token "
			    "(%lld s) has passed; sending it again could make "
			    "Atlassian revoke the whole grant: run `jauth "
			    "authorize %s`",
			    ago, interval, jauth_m_service(m));
}

/* Takes the token endpoint's answer BODY into G and commits it. When the
 * commit fails nothing of the answer is kept (G is as before, with its
 * mark): a token is never handed out before the rotated refresh token is
 * on disk, and the one in force is resent inside the reuse interval. */
static jauth_result take_answer(jauth_m *m, struct grant *g, jauth_m_lock *lk,
				const char *body, time_t now)
{
	struct grant before = { 0 };
	grant_copy(&before, g);
	jauth_result rc = grant_take_tokens(m, g, body, now);
	g->last_refresh = g->last_used = now;
	g->refreshes++;
	jauth_result saved = grant_commit(lk, g);
	if (saved != JAUTH_SUCCESS) {
		grant_move(g, &before);
		rc = saved;
	}
	grant_clear(&before);
	return rc;
}

/* Sends the refresh grant for G (under LK) and commits the answer. */
static jauth_result exchange(jauth_m *m, struct oauth *o, struct grant *g,
			     jauth_m_lock *lk, time_t now)
{
	struct token_body body;
	struct jauth_m_http_resp rs;
	/* The mark is a note, not a durable commit: a process crash keeps
	 * it; a power failure may lose it, and then the token is simply sent
	 * again — within the reuse interval that is allowed, after it the
	 * grant needed a new consent either way. Losing it is never worse
	 * than keeping it, so it does not wait for the disk. */
	jauth_result rc = may_send(m, g, now);
	if (rc == JAUTH_SUCCESS && !g->refresh_sent_at) {
		g->refresh_sent_at = now;
		g->refresh_sent_boot = grant_boot_stamp(g);
		rc = grant_note(lk, g);
	}
	if (rc != JAUTH_SUCCESS ||
	    (rc = client_body(m, "refresh_token", &body)) != JAUTH_SUCCESS)
		return rc;
	body_add_secret(&body, "refresh_token", g->refresh_token);
	rc = token_post(m, o, &body, &rs);
	if ((rc == JAUTH_TRANSIENT || rc == JAUTH_CONFIG) && !rs.uncertain) {
		/* Refused before it was processed (or, for a certificate
		 * that is not trusted, never sent): the token was not used. */
		g->refresh_sent_at = 0;
		g->refresh_sent_boot = 0;
		grant_note(lk, g);
	}
	if (rc == JAUTH_SUCCESS && rs.status != 200)
		rc = refresh_refused(m, o, &rs, g, lk, now);
	else if (rc == JAUTH_SUCCESS)
		rc = take_answer(m, g, lk, rs.body, now);
	jauth_m_http_free(&rs);
	return rc;
}

/* 1 when the record's token is one the connector reported rejected. */
static int is_rejected(const struct oauth *o, const struct grant *g)
{
	return o->rejected && g->access_token &&
	       strcmp(o->rejected, g->access_token) == 0;
}

/* Keeps the last record seen in memory: *G moves there. */
static void remember(struct oauth *o, struct grant *g)
{
	grant_move(&o->g, g);
	o->have = 1;
}

static jauth_result publish(jauth_m *m, struct oauth *o, time_t now)
{
	long long leeway = jauth_m_arg_int(m, "refresh_leeway");
	time_t at = grant_expires(&o->g, now) - leeway;
	if (o->retry_at > now && o->retry_at < at)
		at = o->retry_at;
	return grant_publish(m, o, &o->g, at > now ? at : now + 1);
}

/* A failed refresh (transient, or an error such as a full state disk)
 * while the old token still works: serve it, try again in a little while.
 * A denial is never papered over. */
static jauth_result serve_stale(jauth_m *m, struct oauth *o, jauth_result rc,
				time_t now)
{
	if ((rc != JAUTH_TRANSIENT && rc != JAUTH_ERROR) || !o->have ||
	    !o->g.access_token || now >= grant_expires(&o->g, now) ||
	    is_rejected(o, &o->g))
		return rc;
	jauth_m_log(m, JAUTH_LOG_WARN,
		    "refresh failed for now; the access token is still valid "
		    "for %lld s, so it stays in use",
		    (long long)(grant_expires(&o->g, now) - now));
	o->retry_at = now + SERVE_STALE_RETRY;
	return publish(m, o, now);
}

static jauth_result load(jauth_m *m, struct oauth *o);

/* For a due token: the record's lock, unless another process holds it —
 * then, once it lets go, its fresh token if it made one (*lk NULL, o->g
 * holds it). So the losers of a race read the winner's token side by side
 * instead of taking the lock in turn. */
static jauth_result lock_unless_refreshed(jauth_m *m, struct oauth *o,
					  time_t now, jauth_m_lock **lk,
					  cJSON **rec)
{
	for (int tries = 0; tries < 3; tries++) {
		jauth_result rc =
			jauth_m_store_lock_or_wait(m, o->key, lk, rec);
		if (rc != JAUTH_SUCCESS || *lk)
			return rc;
		if ((rc = load(m, o)) != JAUTH_SUCCESS)
			return rc;
		if (o->have && grant_fresh(m, &o->g, now) &&
		    !is_rejected(o, &o->g))
			return JAUTH_SUCCESS;
	}
	return jauth_m_store_lock(m, o->key, lk, rec);
}

/* The grant from the record, under the lock, refreshed if WHY says so.
 * The losers of a race find the winner's fresh token and use it. */
static jauth_result refresh_locked(jauth_m *m, struct oauth *o, enum why why,
				   time_t now)
{
	jauth_m_lock *lk;
	cJSON *rec;
	struct grant g = { 0 };
	jauth_result rc = why == WHY_DUE
				  ? lock_unless_refreshed(m, o, now, &lk, &rec)
				  : jauth_m_store_lock(m, o->key, &lk, &rec);
	if (rc == JAUTH_SUCCESS && !lk) {
		jauth_m_log(m, JAUTH_LOG_DEBUG,
			    "another process refreshed the grant; using its "
			    "tokens");
		o->retry_at = 0;
		return publish(m, o, now);
	}
	if (rc != JAUTH_SUCCESS)
		return why == WHY_FORCED ? rc : serve_stale(m, o, rc, now);
	int exists = rec != NULL;
	grant_from_json(&g, rec);
	grant_redact(m, &g);
	jauth_m_json_free(rec);
	if (!exists || !g.refresh_token) {
		rc = no_grant(m);
	} else if (g.dead_at) {
		rc = grant_gone(m, g.dead_reason ? g.dead_reason : "refused");
	} else if (why != WHY_FORCED && grant_fresh(m, &g, now) &&
		   !is_rejected(o, &g)) {
		jauth_m_log(m, JAUTH_LOG_DEBUG,
			    "another process refreshed the grant; using its "
			    "tokens");
		rc = JAUTH_SUCCESS;
	} else {
		jauth_m_log(m, JAUTH_LOG_INFO,
			    "refreshing the OAuth grant (%s; access token "
			    "expires in %lld s)",
			    why == WHY_FORCED	  ? "asked to"
			    : why == WHY_REJECTED ? "Jira rejected the token"
						  : "due",
			    (long long)(grant_expires(&g, now) - now));
		rc = exchange(m, o, &g, lk, now);
	}
	jauth_m_store_unlock(lk);
	if (rc == JAUTH_SUCCESS || g.access_token)
		remember(o, &g);
	grant_clear(&g);
	if (rc == JAUTH_SUCCESS)
		o->retry_at = 0;
	if (rc == JAUTH_SUCCESS)
		return publish(m, o, now);
	/* Asked to refresh (jauth refresh, a cron keep-alive): say it failed,
	 * even if the old token would still serve. */
	return why == WHY_FORCED ? rc : serve_stale(m, o, rc, now);
}

/* The record as it is now, without the lock; o->have says if there is
 * one. */
static jauth_result load(jauth_m *m, struct oauth *o)
{
	cJSON *rec;
	jauth_result rc = jauth_m_store_load(m, o->key, &rec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	grant_from_json(&o->g, rec);
	grant_redact(m, &o->g);
	o->have = rec != NULL;
	jauth_m_json_free(rec);
	return JAUTH_SUCCESS;
}

static jauth_result token_refused(jauth_m *m)
{
	return jauth_m_fail(m, JAUTH_DENIED,
			    "Atlassian rejects even a freshly refreshed access "
			    "token: run `jauth authorize %s` to consent again",
			    jauth_m_service(m));
}

/* After a rejection and the refresh it caused, a second rejection of the
 * new token: ask Atlassian whether the token itself is good. */
static jauth_result verify_token(jauth_m *m, struct oauth *o, time_t now)
{
	struct jauth_m_http_req rq;
	struct jauth_m_http_resp rs;
	jauth_result rc = resources_get(m, o, o->g.access_token, &rq, &rs);
	if (rc == JAUTH_SUCCESS && rs.status == 200) {
		jauth_m_log(m, JAUTH_LOG_WARN,
			    "Jira rejected a freshly refreshed token that "
			    "Atlassian still accepts: the refusal is about "
			    "permissions or scopes, not the credential");
		jauth_m_secure_free(o->rejected);
		o->rejected = NULL;
		rc = publish(m, o, now);
	} else if (rc == JAUTH_SUCCESS) {
		o->token_refused = 1;
		rc = token_refused(m);
	}
	jauth_m_http_free(&rs);
	return rc;
}

/* The connector reported the current token: refresh once; if the token
 * that refresh produced is reported too, check it with Atlassian, once. */
static jauth_result after_rejection(jauth_m *m, struct oauth *o, time_t now)
{
	if (o->refreshed_after_reject &&
	    strcmp(o->refreshed_after_reject, o->rejected) == 0)
		return o->token_refused ? token_refused(m)
					: verify_token(m, o, now);
	jauth_result rc = refresh_locked(m, o, WHY_REJECTED, now);
	if (rc == JAUTH_SUCCESS && o->g.access_token) {
		secure_set(&o->refreshed_after_reject, o->g.access_token);
	}
	return rc;
}

/* The line names another site of the grant than the record uses (or the
 * consent left the choice open): pick it again and store the choice. */
static jauth_result fix_site(jauth_m *m, struct oauth *o)
{
	jauth_m_lock *lk;
	cJSON *rec;
	struct grant g = { 0 };
	jauth_result rc = jauth_m_store_lock(m, o->key, &lk, &rec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	grant_from_json(&g, rec);
	grant_redact(m, &g);
	jauth_m_json_free(rec);
	if (!grant_site_matches(m, &g) &&
	    (rc = grant_choose_site(m, &g)) == JAUTH_SUCCESS)
		rc = grant_commit(lk, &g);
	jauth_m_store_unlock(lk);
	if (rc == JAUTH_SUCCESS)
		remember(o, &g);
	grant_clear(&g);
	return rc;
}

/* Reads the record each time (the core asks at most about once a minute,
 * and near expiry), so that other processes' refreshes, a new consent or a
 * revoke are seen. */
jauth_result oa_acquire(jauth_m *m, void *state)
{
	struct oauth *o = state;
	time_t now = jauth_m_now(m);
	jauth_result rc = load(m, o);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (!o->have)
		return no_grant(m);
	if (!grant_site_matches(m, &o->g) &&
	    (rc = fix_site(m, o)) != JAUTH_SUCCESS)
		return rc;
	if (is_rejected(o, &o->g))
		return after_rejection(m, o, now);
	if (grant_fresh(m, &o->g, now) ||
	    (o->retry_at > now && now < grant_expires(&o->g, now) &&
	     !o->g.dead_at))
		return publish(m, o, now);
	return refresh_locked(m, o, WHY_DUE, now);
}

jauth_result oa_refresh(jauth_m *m, void *state)
{
	struct oauth *o = state;
	return refresh_locked(m, o, WHY_FORCED, jauth_m_now(m));
}

void oa_rejected(jauth_m *m, void *state, int status)
{
	struct oauth *o = state;
	(void)m;
	if ((status != 401 && status != 403 && status != 404) || !o->have ||
	    !o->g.access_token)
		return;
	secure_set(&o->rejected, o->g.access_token);
	o->token_refused = 0;
}
