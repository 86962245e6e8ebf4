/*
 * oauth3lo.h — the pieces of oauth3lo.so: OAuth 2.0 authorization-code
 * grants ("3LO") for Jira Cloud, with rotating refresh tokens that are
 * never lost (DESIGN §2, §6).
 *
 * The grant lives in one store record; every change to it (consent,
 * refresh, revoke) is a locked read-modify-write, so processes sharing the
 * state directory take turns and the losers of a race use the winner's
 * tokens. Before a refresh token is sent, the record notes when; a refresh
 * whose answer was lost is retried only inside Atlassian's reuse interval.
 */
#ifndef JAUTH_OAUTH3LO_H
#define JAUTH_OAUTH3LO_H

#include <time.h>

#include <jauth/module.h>

#define DAY 86400
#define CONSENT_TTL 600 /* seconds an authorization code lives */
#define IDLE_LIMIT_DAYS                                                        \
	90 /* Atlassian drops a refresh token unused this long */
#define AGE_LIMIT_DAYS 365 /* … and (historically) a grant this old */
#define SERVE_STALE_RETRY                                                      \
	30 /* seconds between refresh attempts while serving a still-valid     \
	      token */

/* The grant as stored (one record). The tokens are in secure memory
 * (jauth_m_secure_*: left out of core dumps, wiped when freed), the other
 * strings malloc'd; times are 0 when unknown. A new field is named in
 * grant_clear, grant_from_json, grant_to_json and, when it is a pointer,
 * grant_copy (fuzz/token_response.c checks the copy). */
struct grant {
	char *access_token;
	time_t expires_at;	/* by the wall clock */
	long long expires_boot; /* the same on this boot's CLOCK_BOOTTIME */
	char *boot;		/* … of the boot with this id */
	char *refresh_token;
	time_t refresh_sent_at; /* a refresh with refresh_token got no committed
				   answer yet */
	long long refresh_sent_boot; /* … on this boot's CLOCK_BOOTTIME */
	char *prev_refresh_token;
	time_t prev_rotated_at;
	char *cloud_id, *site_url, *site_name; /* the site in use */
	cJSON *sites; /* every site the consent granted: [{id, url, name}] */
	char *scopes; /* granted, space-separated */
	time_t created_at, last_refresh, last_used;
	long refreshes;
	time_t dead_at; /* Atlassian refused the grant (invalid_grant) */
	char *dead_reason;
};

struct oauth {
	char *key;	   /* the store record: the client id */
	char *consent_key; /* the pending consent's record */
	char *scopes;	   /* requested, space-separated, with offline_access */
	char *redirect_uri;
	char *token_url, *authorize_url, *resources_url, *api_url;
	struct grant g; /* the last record seen */
	int have;	/* g was loaded */
	/* In secure memory, like the grant's tokens: */
	char *rejected; /* the access token Jira rejected, if any */
	char *refreshed_after_reject; /* the token the forced refresh produced
				       */
	int token_refused;	      /* Atlassian refused that one too */
	time_t retry_at; /* serving a valid token after a failed refresh */
};

/* grant.c */
void grant_clear(struct grant *g);
/* Reads a record into G (cleared first). */
void grant_from_json(struct grant *g, const cJSON *rec);
/* The record for G, to print (the store prints it). Its tokens and its
 * sites list are references to G's own (no copy on the heap), and its
 * times are raw JSON digits, numbers only once printed and parsed: use
 * the tree while G is unchanged, free it with jauth_m_json_free. */
cJSON *grant_to_json(const struct grant *g);
/* Replaces *DST (secure memory) with a secure copy of SRC, wiping the old
 * value. */
void secure_set(char **dst, const char *src);
/* Copies SRC into DST (cleared first). */
void grant_copy(struct grant *dst, const struct grant *src);
/* *DST becomes *SRC, which is left empty. */
void grant_move(struct grant *dst, struct grant *src);
/* Registers G's tokens for masking as soon as they are read (and, when it
 * holds text a server wrote, the client secret too). */
void grant_redact(jauth_m *m, const struct grant *g);
/* When G's access token expires, seen at NOW: the wall-clock expiry, or
 * earlier if this boot's monotonic clock says so (a wall clock that was
 * far ahead when the token came must not stretch its life). */
time_t grant_expires(const struct grant *g, time_t now);
/* Seconds on this boot's CLOCK_BOOTTIME, making G count its *_boot fields
 * on this boot (those of an older boot are dropped). */
long long grant_boot_stamp(struct grant *g);
/* Seconds since AT on G's boot clock, or -1 when G's boot is not this one
 * or AT is unknown. */
long long grant_boot_since(const struct grant *g, long long at);
/* 1 when G's access token can be handed out at NOW without a refresh. */
int grant_fresh(jauth_m *m, const struct grant *g, time_t now);
/* Publishes G's access token. */
jauth_result grant_publish(jauth_m *m, struct oauth *o, const struct grant *g,
			   time_t refresh_at);
/* The REST base of G, malloc'd. */
char *grant_base_url(const struct oauth *o, const struct grant *g);
/* Takes the token endpoint's answer into G: access token, expiry, refresh
 * token (kept even when the rest is malformed), scope. */
jauth_result grant_take_tokens(jauth_m *m, struct grant *g, const char *body,
			       time_t now);
/* Replaces the record under LK with G, durably. */
jauth_result grant_commit(jauth_m_lock *lk, const struct grant *g);
/* The same, surviving a crash of the process but not of the machine. */
jauth_result grant_note(jauth_m_lock *lk, const struct grant *g);

/* Picks the grant's site for the line's cloud_id=/site= (or the only
 * one); JAUTH_ERROR listing the sites when that is not possible. */
jauth_result grant_choose_site(jauth_m *m, struct grant *g);
/* 1 when G's site is the one the line asks for. */
int grant_site_matches(jauth_m *m, const struct grant *g);

/* scopes.c */
/* The requested scope set for scopes= (malloc'd), or NULL with a message. */
char *scopes_requested(jauth_m *m, const char *arg);
/* The scopes of WANT missing from HAVE, space-separated (malloc'd, "" when
 * none). */
char *scopes_missing(const char *want, const char *have);

/* refresh.c */
jauth_result oa_acquire(jauth_m *m, void *state);
jauth_result oa_refresh(jauth_m *m, void *state);
void oa_rejected(jauth_m *m, void *state, int status);
/* A token request body as it is built: a JSON object whose secret
 * fields are references to copies in secure memory that it owns, so that
 * no secret of it reaches the heap. */
struct token_body {
	cJSON *j;
	char *own[4];
	int n;
};
/* A token request body: GRANT_TYPE, client_id and the client's secret
 * (read from its source now). */
jauth_result client_body(jauth_m *m, const char *grant_type,
			 struct token_body *b);
/* Adds the secret field KEY: VALUE to B (copied into secure memory). */
void body_add_secret(struct token_body *b, const char *key, const char *value);
/* Frees B, wiping its secrets. */
void body_free(struct token_body *b);
/* GET accessible-resources with the access token TOKEN; RQ is filled for
 * jauth_m_http_fail (without the Authorization value). */
jauth_result resources_get(jauth_m *m, struct oauth *o, const char *token,
			   struct jauth_m_http_req *rq,
			   struct jauth_m_http_resp *rs);
/* POSTs B to the token endpoint, printed into secure memory; B is freed
 * (wiped) after. */
jauth_result token_post(jauth_m *m, struct oauth *o, struct token_body *b,
			struct jauth_m_http_resp *rs);

/* consent.c */
jauth_result oa_authorize_begin(jauth_m *m, void *state, char **url);
jauth_result oa_authorize_finish(jauth_m *m, void *state, const char *cb);

/* admin.c */
jauth_result oa_revoke(jauth_m *m, void *state);
jauth_result oa_status(jauth_m *m, void *state, cJSON *out);

#endif
