/*
 * token_response.c — fuzzes what oauth3lo.so does with Atlassian's answers
 * (modules/oauth3lo/grant.c, scopes.c): the token endpoint's JSON and the
 * accessible-resources site list.
 *
 * The input is the token response body, then optionally a 0xff byte and
 * the accessible-resources body. Per input: grant_take_tokens; the site
 * list (when it is a JSON array) goes into the grant and grant_choose_site
 * / grant_site_matches run for three stack lines (cloud_id= and site=,
 * site= alone, neither); scopes_missing / scopes_requested on the granted
 * scopes; then the grant goes through grant_to_json, printed and parsed
 * back as the store does, grant_from_json, and grant_copy, which must give
 * it back unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"
#include "support.h"

#define NOW ((time_t)1700000000)
#define CLOUD_ID "11111111-2222-3333-4444-555555555555"
#define SITE "https://acme.atlassian.net"

/* The keys of oauth3lo's table that grant.c reads. */
static const struct jauth_arg_spec spec[] = {
	{ "cloud_id", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "site", JAUTH_ARG_URL, 0, NULL, 0, 0 },
	{ "refresh_leeway", JAUTH_ARG_INT, 0, "300", 0, 3000 },
	{ "keepalive_days", JAUTH_ARG_INT, 0, "30", 1, 89 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static const char *const args_full[] = {
	"cloud_id=" CLOUD_ID, "site=" SITE, "refresh_leeway=300",
	"keepalive_days=30",  NULL,
};
static const char *const args_site[] = { "site=" SITE "/", NULL };
static const char *const args_none[] = { NULL };

static struct fuzz_inst inst[3];
static char *want_full, *want_ro;

static void setup(void)
{
	fuzz_inst_init(&inst[0], "oauth3lo.so", args_full, spec);
	fuzz_inst_init(&inst[1], "oauth3lo.so", args_site, spec);
	fuzz_inst_init(&inst[2], "oauth3lo.so", args_none, spec);
	want_full = scopes_requested(&inst[0].m, "full");
	want_ro = scopes_requested(&inst[0].m, "readonly");
	if (!want_full || !want_ro)
		fuzz_fail("scopes_requested refused full/readonly");
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Two cJSON trees print the same (a NULL tree prints as NULL). */
static int same_json(const cJSON *a, const cJSON *b)
{
	char *pa = a ? cJSON_PrintUnformatted(a) : NULL;
	char *pb = b ? cJSON_PrintUnformatted(b) : NULL;
	int same = same_str(pa, pb) && (!a || pa);
	free(pa);
	free(pb);
	return same;
}

static void check_same(const struct grant *a, const struct grant *b,
		       const char *how)
{
#define S(f)                                                                   \
	if (!same_str(a->f, b->f))                                             \
		fuzz_fail("%s lost %s", how, #f);
#define T(f)                                                                   \
	if (a->f != b->f)                                                      \
		fuzz_fail("%s changed %s: %lld -> %lld", how, #f,              \
			  (long long)a->f, (long long)b->f);
	S(access_token)
	S(refresh_token)
	S(prev_refresh_token) S(cloud_id) S(site_url) S(site_name) S(scopes) S(
		dead_reason) T(expires_at) T(refresh_sent_at) T(prev_rotated_at)
		T(created_at) T(last_refresh) T(last_used) T(refreshes) T(
			dead_at)
#undef S
#undef T
			if (!same_json(a->sites, b->sites))
				fuzz_fail("%s changed the site list", how);
}

static void scopes(jauth_m *m, const struct grant *g)
{
	char *miss = scopes_missing(want_full, g->scopes);
	char *extra = scopes_missing(g->scopes ? g->scopes : "", want_ro);
	if (!miss || !extra)
		fuzz_fail("scopes_missing failed");
	/* Nothing in MISS may be granted: scopes_missing(miss, have) is
	 * miss itself. */
	char *again = scopes_missing(miss, g->scopes);
	if (!again || strcmp(again, miss) != 0)
		fuzz_fail("scopes_missing is not stable: [%s] vs [%s]", miss,
			  again ? again : "(null)");
	free(again);
	free(miss);
	free(extra);
	if (g->scopes) {
		/* The granted set read as a scopes= argument. */
		char *req = scopes_requested(m, g->scopes);
		free(req);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!want_full)
		setup();
	const uint8_t *cut = memchr(data, 0xff, size);
	size_t n1 = cut ? (size_t)(cut - data) : size;
	char *body = xstrndup((const char *)data, n1);
	char *sites_body =
		cut ? xstrndup((const char *)cut + 1, size - n1 - 1) : NULL;
	jauth_m *m = &inst[0].m;
	struct grant g = { 0 }, back = { 0 }, copy = { 0 };

	/* A grant that existed before, as on a refresh. */
	g.refresh_token = jauth_m_secure_strdup("old-refresh-token");
	g.created_at = NOW - 86400;
	grant_take_tokens(m, &g, body, NOW);
	if (!g.refresh_token || !*g.refresh_token)
		fuzz_fail("the answer lost the refresh token in force");
	g.last_refresh = g.last_used = NOW;
	g.refreshes = 1;

	/* The same body as a refusal, the way jauth_m_http_fail words it. */
	struct jauth_m_http_req rq = {
		.url = "https://auth.atlassian.com/oauth/token?x=1"
	};
	struct jauth_m_http_resp rs = { .status = 400,
					.body = body,
					.len = strlen(body),
					.retry_after = -1 };
	if (jauth_m_http_fail(m, "refresh", &rq, &rs) != JAUTH_ERROR ||
	    !inst[0].run.msg)
		fuzz_fail("jauth_m_http_fail: no error for HTTP 400");
	for (const char *p = inst[0].run.msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_fail("the server's words reach the message raw");

	if (sites_body) {
		cJSON *arr = NULL;
		if (jauth_m_json_parse(m, "the list of sites", sites_body,
				       &arr) == JAUTH_SUCCESS) {
			if (cJSON_IsArray(arr)) {
				g.sites = arr;
				arr = NULL;
			}
			jauth_m_json_free(arr);
		}
	}
	if (g.sites) {
		for (int i = 0; i < 3; i++) {
			jauth_result rc = grant_choose_site(&inst[i].m, &g);
			int match = grant_site_matches(&inst[i].m, &g);
			if (rc == JAUTH_SUCCESS && !match)
				fuzz_fail("line %d: the chosen site does not "
					  "match",
					  i);
			grant_fresh(&inst[i].m, &g, NOW);
		}
	} else {
		grant_site_matches(m, &g);
		grant_fresh(m, &g, NOW);
	}
	scopes(m, &g);

	/* as the store does: the record printed, then read back */
	cJSON *rec = grant_to_json(&g);
	char *text = cJSON_PrintUnformatted(rec);
	jauth_m_json_free(rec);
	rec = text ? cJSON_Parse(text) : NULL;
	if (text)
		jauth_m_wipe_free(text);
	grant_from_json(&back, rec);
	jauth_m_json_free(rec);
	check_same(&g, &back, "grant_to_json/grant_from_json");
	grant_copy(&copy, &g);
	check_same(&g, &copy, "grant_copy");

	grant_clear(&copy);
	grant_clear(&back);
	grant_clear(&g);
	free(sites_body);
	jauth_m_wipe_free(body);
	for (int i = 0; i < 3; i++)
		fuzz_inst_reset(&inst[i]);
	return 0;
}
