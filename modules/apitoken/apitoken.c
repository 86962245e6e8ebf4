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
	{ "ca_file", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "expires", JAUTH_ARG_DATE, 0, NULL, 0, 0 },
	{ "warn_days", JAUTH_ARG_INT, 0, "30", 0, 365 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

struct apitoken {
	char *base_url;
	time_t expires_end;	  /* end of the expires= day; 0 if none */
	jauth_m_secret *rejected; /* the token Jira rejected, if any */
	int rejected_status;
	time_t warned_day; /* last day the expiry warning was logged */
};

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

/* Refuses a token Jira rejected until the admin replaces it. */
static jauth_result check_rejected(jauth_m *m, struct apitoken *st,
				   jauth_m_secret *tok)
{
	if (!st->rejected)
		return JAUTH_SUCCESS;
	if (!jauth_m_secret_eq(st->rejected, tok)) {
		jauth_m_log(m, JAUTH_LOG_NOTICE,
			    "the API token was replaced; trying the new one");
		jauth_m_secret_free(st->rejected);
		st->rejected = NULL;
		return JAUTH_SUCCESS;
	}
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
	char *pair = malloc(n + 1), *b64 = NULL;
	if (pair) {
		snprintf(pair, n + 1, "%s:%s", email, jauth_m_secret_str(tok));
		b64 = jauth_m_base64(pair, n);
		jauth_m_wipe_free(pair);
	}
	if (!b64)
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	struct jauth_m_cred c = {
		.scheme = "Basic",
		.token = b64,
		.base_url = st->base_url,
		.expires_at = st->expires_end,
	};
	jauth_result rc = jauth_m_credential(m, &c);
	jauth_m_wipe_free(b64);
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
