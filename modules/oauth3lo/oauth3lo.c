/* oauth3lo.c — arguments, open/close, and the module's entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"

static const struct jauth_arg_spec spec[] = {
	{ "client_id", JAUTH_ARG_STRING, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "client_secret", JAUTH_ARG_SECRET, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "cloud_id", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "site", JAUTH_ARG_URL, 0, NULL, 0, 0 },
	{ "scopes", JAUTH_ARG_STRING, 0, "full", 0, 0 },
	{ "redirect_uri", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "region", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "auth_url", JAUTH_ARG_URL, 0, "https://auth.atlassian.com", 0, 0 },
	{ "api_url", JAUTH_ARG_URL, 0, "https://api.atlassian.com", 0, 0 },
	{ "ca_file", JAUTH_ARG_FILE, 0, NULL, 0, 0 },
	{ "refresh_leeway", JAUTH_ARG_INT, 0, "300", 0, 3000 },
	{ "keepalive_days", JAUTH_ARG_INT, 0, "30", 1, 89 },
	{ "reuse_interval", JAUTH_ARG_INT, 0, "600", 0, 3600 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static int id_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_.") == n;
}

/* https anywhere, or plain http on a loopback address, where `jauth
 * authorize` catches the redirect itself. Not http://localhost: the name
 * may resolve to ::1 while jauth listens on 127.0.0.1 (or the reverse),
 * and another local user listening on the other address would get the
 * code (RFC 8252 §8.3). */
static int redirect_ok(const char *u)
{
	static const char *const loopback[] = { "http://127.0.0.1:",
						"http://[::1]:" };
	if (strncmp(u, "https://", 8) == 0)
		return u[8] != '\0' && !strchr(u, '#');
	for (int i = 0; i < 2; i++)
		if (strncmp(u, loopback[i], strlen(loopback[i])) == 0)
			return !strchr(u, '#');
	return 0;
}

/* redirect_uri=, or the callback of region= (the vendor's). */
static char *redirect_of(jauth_m *m)
{
	const char *uri = jauth_m_arg(m, "redirect_uri");
	const char *region = jauth_m_arg(m, "region");
	if (uri && region) {
		jauth_m_fail(m, JAUTH_CONFIG,
			     "give redirect_uri= or region=, not both");
		return NULL;
	}
	if (uri && strncmp(uri, "http://localhost", 16) == 0) {
		jauth_m_fail(m, JAUTH_CONFIG,
			     "redirect_uri= must not name localhost, which "
			     "may resolve to another address than the one "
			     "jauth listens on: write http://127.0.0.1:PORT/… "
			     "(RFC 8252 §8.3), here and in the developer "
			     "console");
		return NULL;
	}
	if (uri && strchr(uri, '#')) {
		jauth_m_fail(m, JAUTH_CONFIG,
			     "redirect_uri= must not have a #fragment (RFC "
			     "6749 §3.1.2): write it as the developer console "
			     "has it, without the part from '#'");
		return NULL;
	}
	if (uri && !redirect_ok(uri)) {
		jauth_m_fail(m, JAUTH_CONFIG,
			     "redirect_uri= must be https://…, or "
			     "http://127.0.0.1:PORT/… for a loopback redirect");
		return NULL;
	}
	if (uri)
		return strdup(uri);
	if (region && strcmp(region, "us") == 0)
		return strdup("https://my.oneconnect.ai/oauth/jira/callback");
	if (region && strcmp(region, "eu") == 0)
		return strdup("https://eu.oneconnect.ai/oauth/jira/callback");
	jauth_m_fail(
		m, JAUTH_CONFIG,
		region ? "region= must be us or eu"
		       : "give redirect_uri= (the callback URL of the app in "
			 "the developer console) or region=us|eu");
	return NULL;
}

/* BASE + PATH without a doubled slash (malloc'd). */
static char *url_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	char *u;
	while (n > 0 && base[n - 1] == '/')
		n--;
	return asprintf(&u, "%.*s%s", (int)n, base, path) < 0 ? NULL : u;
}

static void oauth_free(struct oauth *o)
{
	if (!o)
		return;
	grant_clear(&o->g);
	jauth_m_secure_free(o->rejected);
	jauth_m_secure_free(o->refreshed_after_reject);
	free(o->key);
	free(o->consent_key);
	free(o->scopes);
	free(o->redirect_uri);
	free(o->token_url);
	free(o->authorize_url);
	free(o->resources_url);
	free(o->api_url);
	free(o);
}

/* Builds the state from the accepted arguments. */
static jauth_result oauth_new(jauth_m *m, struct oauth **out)
{
	const char *cid = jauth_m_arg(m, "client_id");
	const char *cloud = jauth_m_arg(m, "cloud_id");
	struct oauth *o = calloc(1, sizeof *o);
	if (!o)
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	*out = o;
	if (!id_ok(cid))
		return jauth_m_fail(m, JAUTH_CONFIG,
				    "client_id= must be the app's client ID "
				    "from the developer console (Settings)");
	if (cloud && !jauth_m_cloud_id_ok(cloud))
		return jauth_m_fail(m, JAUTH_CONFIG,
				    "cloud_id= must be the id from "
				    "admin.atlassian.com (letters, digits, "
				    "'-')");
	if (!(o->redirect_uri = redirect_of(m)) ||
	    !(o->scopes = scopes_requested(m, jauth_m_arg(m, "scopes"))))
		return JAUTH_CONFIG;
	o->key = strdup(cid);
	if (asprintf(&o->consent_key, "%s.consent", cid) < 0)
		o->consent_key = NULL;
	o->token_url = url_join(jauth_m_arg(m, "auth_url"), "/oauth/token");
	o->authorize_url = url_join(jauth_m_arg(m, "auth_url"), "/authorize");
	o->resources_url = url_join(jauth_m_arg(m, "api_url"),
				    "/oauth/token/accessible-resources");
	o->api_url = url_join(jauth_m_arg(m, "api_url"), "");
	if (!o->key || !o->consent_key || !o->token_url || !o->authorize_url ||
	    !o->resources_url || !o->api_url)
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	return JAUTH_SUCCESS;
}

static jauth_result oa_open(jauth_m *m, void **state)
{
	struct oauth *o = NULL;
	jauth_result rc = jauth_m_args(m, spec);
	if (rc == JAUTH_SUCCESS)
		rc = oauth_new(m, &o);
	if (rc != JAUTH_SUCCESS) {
		oauth_free(o);
		return rc;
	}
	*state = o;
	return JAUTH_SUCCESS;
}

static void oa_close(jauth_m *m, void *state)
{
	(void)m;
	oauth_free(state);
}

JAUTH_MODULE_EXPORT const struct jauth_module jauth_module_entry = {
	.abi = JAUTH_ABI_VERSION,
	.name = "oauth3lo",
	.version = "1.0",
	.open = oa_open,
	.close = oa_close,
	.acquire = oa_acquire,
	.refresh = oa_refresh,
	.revoke = oa_revoke,
	.authorize_begin = oa_authorize_begin,
	.authorize_finish = oa_authorize_finish,
	.status = oa_status,
	.rejected = oa_rejected,
};
