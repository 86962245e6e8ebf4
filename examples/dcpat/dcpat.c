/*
 * dcpat.so — an out-of-tree jauth module: Jira Data Center personal access
 * tokens. It is built against an installed jauth only (pkg-config jauth),
 * the way a third party would write one; docs/MODULES.md walks through it.
 *
 *   required dcpat.so url=https://jira.example.com
 * token=@file:/etc/jauth/secret/pat
 */
#include <stdlib.h>
#include <string.h>

#include <jauth/module.h>

static const struct jauth_arg_spec spec[] = {
	{ "url", JAUTH_ARG_URL, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "token", JAUTH_ARG_SECRET, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ "ca_file", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

/* No state: the token is read from its source on every call, so a
 * replaced token is picked up without a restart. */
static jauth_result pat_open(jauth_m *m, void **state)
{
	*state = NULL;
	return jauth_m_args(m, spec);
}

static void pat_close(jauth_m *m, void *state)
{
	(void)m;
	(void)state;
}

static jauth_result pat_acquire(jauth_m *m, void *state)
{
	jauth_m_secret *tok;
	(void)state;
	jauth_result rc = jauth_m_secret_get(m, "token", &tok);
	if (rc != JAUTH_SUCCESS)
		return rc; /* unavailable, with a message naming the source */
	struct jauth_m_cred c = {
		.scheme = "Bearer",
		.token = jauth_m_secret_str(tok),
		.base_url = jauth_m_arg(m, "url"),
	};
	rc = jauth_m_credential(m, &c);
	jauth_m_secret_free(tok);
	return rc;
}

static jauth_result pat_revoke(jauth_m *m, void *state)
{
	(void)state;
	jauth_m_say(m,
		    "%s: revoke the token in Jira: your profile → Personal "
		    "Access Tokens → Revoke; then remove it from %s",
		    jauth_m_source(m), jauth_m_secret_origin(m, "token"));
	return JAUTH_SUCCESS;
}

static jauth_result pat_status(jauth_m *m, void *state, cJSON *out)
{
	(void)state;
	cJSON_AddStringToObject(out, "method",
				"Data Center personal access token");
	cJSON_AddStringToObject(out, "base_url", jauth_m_arg(m, "url"));
	cJSON_AddStringToObject(out, "token_from",
				jauth_m_secret_origin(m, "token"));
	return JAUTH_SUCCESS;
}

JAUTH_MODULE_EXPORT const struct jauth_module jauth_module_entry = {
	.abi = JAUTH_ABI_VERSION,
	.name = "dcpat",
	.version = "1.0",
	.open = pat_open,
	.close = pat_close,
	.acquire = pat_acquire,
	.refresh =
		pat_acquire, /* re-reading the token is all a refresh can do */
	.revoke = pat_revoke,
	.status = pat_status,
};
