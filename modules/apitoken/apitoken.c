/*
 * apitoken.so — Atlassian API tokens (DESIGN §2): HTTP Basic with the
 * account's email and token. An unscoped token talks to the site URL; a
 * scoped one (cloud_id= given) only works through the gateway
 * {api_url}/ex/jira/{cloud_id}. Tokens live at most a year and Atlassian
 * has no API to ask when one expires, so the admin writes the date down
 * (expires=) and the module warns ahead of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jauth/module.h>

#define DAY 86400
#define TOKENS_PAGE                                                            \
	"https://id.atlassian.com/manage-profile/security/api-tokens"

static const struct jauth_arg_spec spec[] = {
	{ "site", JAUTH_ARG_URL, 0, NULL, 0, 0 },
	{ "email", JAUTH_ARG_STRING, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "token", JAUTH_ARG_SECRET, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "cloud_id", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "api_url", JAUTH_ARG_URL, 0, "https://api.atlassian.com", 0, 0 },
	/* Accepted like every module's, so that a stack can point all of them
	 * at a staging peer; API tokens never talk to the auth server. */
	{ "auth_url", JAUTH_ARG_URL, 0, "https://auth.atlassian.com", 0, 0 },
	{ "ca_file", JAUTH_ARG_FILE, 0, NULL, 0, 0 },
	{ "expires", JAUTH_ARG_DATE, 0, NULL, 0, 0 },
	{ "warn_days", JAUTH_ARG_INT, 0, "30", 0, 365 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

struct apitoken {
	char *base_url;
	char key[48]; /* the store record of Jira's refusal, for this account */
	time_t expires_end;	  /* end of the expires= day; 0 if none */
	jauth_m_secret *rejected; /* the token Jira rejected, if any */
	int rejected_status;
	int replaced;	   /* the store records a refusal of another token */
	time_t warned_day; /* last day the expiry warning was logged */
};

/* 64-bit FNV-1a of N bytes, continuing from H. */
static unsigned long long fnv(unsigned long long h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

#define FNV_BASIS 0xcbf29ce484222325ull

/* The REST base: the site for an unscoped token, the gateway for a scoped
 * one. (The core drops a trailing slash from every published base.) */
static char *base_url_of(jauth_m *m)
{
	const char *cloud = jauth_m_arg(m, "cloud_id");
	char *url;
	if (cloud) {
		const char *api = jauth_m_arg(m, "api_url");
		size_t n = strlen(api);
		while (n > 0 && api[n - 1] == '/')
			n--;
		if (asprintf(&url, "%.*s/ex/jira/%s", (int)n, api, cloud) < 0)
			return NULL;
		return url;
	}
	return strdup(jauth_m_arg(m, "site"));
}

/* Checks what the table cannot: site or cloud_id, the cloud id's form,
 * and an expiry date that a real token could have. */
static jauth_result check_args(jauth_m *m)
{
	const char *cloud = jauth_m_arg(m, "cloud_id");
	time_t exp = jauth_m_arg_date(m, "expires");
	if (!cloud && !jauth_m_arg(m, "site"))
		return jauth_m_fail(m, JAUTH_CONFIG,
				    "site= is required for an unscoped token "
				    "(e.g. site=https://acme.atlassian.net); "
				    "for a scoped token give cloud_id=");
	if (cloud && !jauth_m_cloud_id_ok(cloud))
		return jauth_m_fail(
			m, JAUTH_CONFIG,
			"cloud_id= must be the id from "
			"admin.atlassian.com (letters, digits, '-')");
	if (exp != (time_t)-1 && exp > jauth_m_now(m) + 366 * DAY)
		return jauth_m_fail(m, JAUTH_CONFIG,
				    "expires= is more than a year away, but "
				    "Atlassian API tokens live at most one "
				    "year: write the date shown at %s",
				    TOKENS_PAGE);
	return JAUTH_SUCCESS;
}

static jauth_result at_open(jauth_m *m, void **state)
{
	jauth_result rc = jauth_m_args(m, spec);
	if (rc != JAUTH_SUCCESS || (rc = check_args(m)) != JAUTH_SUCCESS)
		return rc;
	struct apitoken *st = calloc(1, sizeof *st);
	if (!st || !(st->base_url = base_url_of(m))) {
		free(st);
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	}
	time_t exp = jauth_m_arg_date(m, "expires");
	st->expires_end = exp == (time_t)-1 ? 0 : exp + DAY;
	/* one record per account and base URL, so that two lines with two
	 * tokens do not share a refusal */
	const char *email = jauth_m_arg(m, "email");
	unsigned long long id = fnv(FNV_BASIS, email, strlen(email));
	id = fnv(id, "\n", 1);
	snprintf(st->key, sizeof st->key, "rejected-%016llx",
		 fnv(id, st->base_url, strlen(st->base_url)));
	*state = st;
	return JAUTH_SUCCESS;
}

static void at_close(jauth_m *m, void *state)
{
	struct apitoken *st = state;
	(void)m;
	jauth_m_secret_free(st->rejected);
	free(st->base_url);
	free(st);
}

/* Whole days from NOW to the expires= date: 0 on the day itself. */
static long days_left(const struct apitoken *st, time_t now)
{
	time_t day = st->expires_end - DAY;
	return now >= day ? 0 : (long)((day - now) / DAY);
}

/* Logs the expiry warning, once a day, when within warn_days. */
static void warn_expiry(jauth_m *m, struct apitoken *st, time_t now)
{
	long days = days_left(st, now);
	if (!st->expires_end || days >= jauth_m_arg_int(m, "warn_days") ||
	    now / DAY == st->warned_day)
		return;
	st->warned_day = now / DAY;
	jauth_m_log(m, JAUTH_LOG_WARN,
		    "API token expires on %s (in %ld day%s): create a new one "
		    "at %s, put it in %s and update expires=",
		    jauth_m_arg(m, "expires"), days, days == 1 ? "" : "s",
		    TOKENS_PAGE, jauth_m_secret_origin(m, "token"));
}

/* What the store keeps of a rejected token: a 64-bit fingerprint, enough to
 * recognise the same token again, far too little to learn anything of a
 * token of 24 random bytes or more. */
static void fingerprint(const jauth_m_secret *tok, char out[17])
{
	snprintf(out, 17, "%016llx",
		 fnv(FNV_BASIS, jauth_m_secret_str(tok),
		     jauth_m_secret_len(tok)));
}

/* Records Jira's refusal of TOK in the store, so that every process refuses
 * it (jauth report, run by connectors that use the CLI, is one process and
 * the next jauth token another). */
static void save_rejection(jauth_m *m, struct apitoken *st,
			   const jauth_m_secret *tok, int status)
{
	jauth_m_lock *lk;
	cJSON *rec = NULL;
	char fp[17];
	if (jauth_m_store_lock(m, st->key, &lk, &rec) != JAUTH_SUCCESS) {
		jauth_m_log(m, JAUTH_LOG_WARN,
			    "cannot record Jira's refusal in the state "
			    "directory: other processes keep using the token");
		return;
	}
	jauth_m_json_free(rec);
	fingerprint(tok, fp);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "token_fnv64", fp);
	cJSON_AddNumberToObject(rec, "status", status);
	cJSON_AddNumberToObject(rec, "at", (double)jauth_m_now(m));
	jauth_m_store_commit(lk, rec);
	jauth_m_store_unlock(lk);
	cJSON_Delete(rec);
}

/* Forgets the recorded refusal (the token was replaced, or revoked). */
static void forget_rejection(jauth_m *m, struct apitoken *st)
{
	jauth_m_lock *lk;
	cJSON *rec = NULL;
	if (jauth_m_store_lock(m, st->key, &lk, &rec) != JAUTH_SUCCESS)
		return;
	if (rec)
		jauth_m_store_remove(lk);
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
}

/* Takes a refusal another process recorded for TOK. Without a usable state
 * directory there is none: API tokens need no state to work. */
static void load_rejection(jauth_m *m, struct apitoken *st,
			   const jauth_m_secret *tok)
{
	cJSON *rec = NULL;
	if (jauth_m_store_load(m, st->key, &rec) != JAUTH_SUCCESS || !rec)
		return;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rec, "token_fnv64");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "status");
	char fp[17];
	fingerprint(tok, fp);
	if (cJSON_IsString(f) && strcmp(f->valuestring, fp) == 0 &&
	    jauth_m_secret_get(m, "token", &st->rejected) == JAUTH_SUCCESS)
		st->rejected_status = cJSON_IsNumber(s) ? s->valueint : 401;
	else if (cJSON_IsString(f))
		st->replaced = 1;
	jauth_m_json_free(rec);
}

/* Refuses a token Jira rejected until the admin replaces it. */
static jauth_result check_rejected(jauth_m *m, struct apitoken *st,
				   jauth_m_secret *tok)
{
	if (!st->rejected)
		load_rejection(m, st, tok);
	if (st->replaced ||
	    (st->rejected && !jauth_m_secret_eq(st->rejected, tok))) {
		jauth_m_log(m, JAUTH_LOG_NOTICE,
			    "the API token was replaced; trying the new one");
		jauth_m_secret_free(st->rejected);
		st->rejected = NULL;
		st->replaced = 0;
		forget_rejection(m, st);
		return JAUTH_SUCCESS;
	}
	if (!st->rejected)
		return JAUTH_SUCCESS;
	/* A scoped token ("API token with scopes") is valid only on the
	 * gateway: sent to the site it gets 401, and a new one would too. */
	if (!jauth_m_arg(m, "cloud_id") && st->rejected_status == 401)
		return jauth_m_fail(
			m, JAUTH_DENIED,
			"Jira's site rejected the API token in %s (HTTP 401): if "
			"it is a scoped token (an \"API token with scopes\"), it "
			"works only through the gateway: replace site= with "
			"cloud_id= (your site's cloud id); if it is not, create a "
			"new one at %s and replace it there",
			jauth_m_secret_origin(m, "token"), TOKENS_PAGE);
	return jauth_m_fail(m, JAUTH_DENIED,
			    "Jira rejected the API token in %s (HTTP %d): "
			    "create a new one at %s and replace it there",
			    jauth_m_secret_origin(m, "token"),
			    st->rejected_status, TOKENS_PAGE);
}

/* Publishes Basic base64(email:token). */
static jauth_result publish(jauth_m *m, struct apitoken *st,
			    jauth_m_secret *tok)
{
	const char *email = jauth_m_arg(m, "email");
	size_t n = strlen(email) + 1 + jauth_m_secret_len(tok);
	char *pair = jauth_m_secure_alloc(n + 1);
	snprintf(pair, n + 1, "%s:%s", email, jauth_m_secret_str(tok));
	char *b64 = jauth_m_secure_base64(pair, n);
	jauth_m_secure_free(pair);
	struct jauth_m_cred c = {
		.scheme = "Basic",
		.token = b64,
		.base_url = st->base_url,
		.expires_at = st->expires_end,
	};
	jauth_result rc = jauth_m_credential(m, &c);
	jauth_m_secure_free(b64);
	return rc;
}

/* No network: the token is read from its source and checked against the
 * clock and Jira's last verdict. */
static jauth_result at_acquire(jauth_m *m, void *state)
{
	struct apitoken *st = state;
	time_t now = jauth_m_now(m);
	jauth_m_secret *tok = NULL;
	if (st->expires_end && now >= st->expires_end)
		return jauth_m_fail(m, JAUTH_DENIED,
				    "the API token expired on %s: create a new "
				    "one at %s, put it in %s and update "
				    "expires=",
				    jauth_m_arg(m, "expires"), TOKENS_PAGE,
				    jauth_m_secret_origin(m, "token"));
	jauth_result rc = jauth_m_secret_get(m, "token", &tok);
	if (rc == JAUTH_SUCCESS)
		rc = check_rejected(m, st, tok);
	if (rc == JAUTH_SUCCESS) {
		warn_expiry(m, st, now);
		rc = publish(m, st, tok);
	}
	jauth_m_secret_free(tok);
	return rc;
}

/* The token is re-read on every acquire, so a refresh is an acquire. */
static jauth_result at_refresh(jauth_m *m, void *state)
{
	return at_acquire(m, state);
}

static jauth_result at_revoke(jauth_m *m, void *state)
{
	struct apitoken *st = state;
	jauth_m_secret_free(st->rejected);
	st->rejected = NULL;
	forget_rejection(m, st);
	jauth_m_say(m,
		    "%s: jauth keeps nothing for this API token. The token "
		    "itself stays valid until you revoke it at %s (Revoke, "
		    "next to its name); then remove it from %s.",
		    jauth_m_source(m), TOKENS_PAGE,
		    jauth_m_secret_origin(m, "token"));
	return JAUTH_SUCCESS;
}

static void at_rejected(jauth_m *m, void *state, int status)
{
	struct apitoken *st = state;
	jauth_m_secret *tok = NULL;
	if (status != 401 && status != 403)
		return;
	if (jauth_m_secret_get(m, "token", &tok) != JAUTH_SUCCESS)
		return;
	jauth_m_secret_free(st->rejected);
	st->rejected = tok;
	st->rejected_status = status;
	save_rejection(m, st, tok, status);
}

/* The status warning about the expiry date, or NULL (malloc'd). */
static char *expiry_warning(jauth_m *m, struct apitoken *st, time_t now)
{
	char *w = NULL;
	long days = days_left(st, now);
	int n = 0;
	if (!st->expires_end)
		n = asprintf(&w, "no expires= date: jauth cannot warn before "
				 "the token expires");
	else if (now >= st->expires_end)
		n = asprintf(&w, "expired on %s: create a new token at %s",
			     jauth_m_arg(m, "expires"), TOKENS_PAGE);
	else if (days < jauth_m_arg_int(m, "warn_days"))
		n = asprintf(&w,
			     "expires in %ld days (%s): create a new token "
			     "at %s",
			     days, jauth_m_arg(m, "expires"), TOKENS_PAGE);
	return n < 0 ? NULL : w;
}

static jauth_result at_status(jauth_m *m, void *state, cJSON *out)
{
	struct apitoken *st = state;
	time_t now = jauth_m_now(m);
	cJSON *warnings = cJSON_CreateArray();
	char *w = expiry_warning(m, st, now);
	cJSON_AddStringToObject(out, "method",
				jauth_m_arg(m, "cloud_id")
					? "API token (scoped)"
					: "API token (unscoped)");
	cJSON_AddStringToObject(out, "email", jauth_m_arg(m, "email"));
	cJSON_AddStringToObject(out, "base_url", st->base_url);
	cJSON_AddStringToObject(out, "token_from",
				jauth_m_secret_origin(m, "token"));
	if (st->expires_end) {
		cJSON_AddStringToObject(out, "expires",
					jauth_m_arg(m, "expires"));
		cJSON_AddNumberToObject(out, "expires_at",
					(double)st->expires_end);
		cJSON_AddNumberToObject(out, "days_left",
					(double)days_left(st, now));
	}
	if (w)
		cJSON_AddItemToArray(warnings, cJSON_CreateString(w));
	if (st->rejected)
		cJSON_AddItemToArray(warnings,
				     cJSON_CreateString(
					     "Jira rejected this token: "
					     "replace it"));
	cJSON_AddItemToObject(out, "warnings", warnings);
	free(w);
	return JAUTH_SUCCESS;
}

JAUTH_MODULE_EXPORT const struct jauth_module jauth_module_entry = {
	.abi = JAUTH_ABI_VERSION,
	.name = "apitoken",
	.version = "1.0",
	.open = at_open,
	.close = at_close,
	.acquire = at_acquire,
	.refresh = at_refresh,
	.revoke = at_revoke,
	.status = at_status,
	.rejected = at_rejected,
};
