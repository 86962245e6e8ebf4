/* grant.c — the grant record: to and from JSON, the token endpoint's
 * answer, and handing out its access token. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oauth3lo.h"

#define EXPIRES_IN_MIN 60
#define EXPIRES_IN_MAX (2 * DAY)
#define SITES_LISTED 5 /* sites named in a message */
/* Atlassian's tokens are a few KiB; anything near the store's record cap
 * would make a record nobody can read back. */
#define TOKEN_MAX (16 * 1024)

void grant_clear(struct grant *g)
{
	jauth_m_secure_free(g->access_token);
	jauth_m_secure_free(g->refresh_token);
	jauth_m_secure_free(g->prev_refresh_token);
	free(g->boot);
	free(g->cloud_id);
	free(g->site_url);
	free(g->site_name);
	cJSON_Delete(g->sites);
	free(g->scopes);
	free(g->dead_reason);
	memset(g, 0, sizeof *g);
}

static char *str_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring)
						   : NULL;
}

/* A token of the record, in secure memory. */
static char *token_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	return cJSON_IsString(v) ? jauth_m_secure_strdup(v->valuestring) : NULL;
}

/* A time of the record: seconds since the epoch, 0 when missing or out of
 * any sane range (a damaged record must not become undefined behaviour). */
static time_t time_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) ||
	    v->valuedouble > 1e12)
		return 0;
	return (time_t)v->valuedouble;
}

void grant_from_json(struct grant *g, const cJSON *rec)
{
	grant_clear(g);
	g->access_token = token_of(rec, "access_token");
	g->expires_at = time_of(rec, "expires_at");
	g->expires_boot = (long long)time_of(rec, "expires_boot");
	g->boot = str_of(rec, "boot");
	g->refresh_token = token_of(rec, "refresh_token");
	g->refresh_sent_at = time_of(rec, "refresh_sent_at");
	g->refresh_sent_boot = (long long)time_of(rec, "refresh_sent_boot");
	g->prev_refresh_token = token_of(rec, "prev_refresh_token");
	g->prev_rotated_at = time_of(rec, "prev_rotated_at");
	g->cloud_id = str_of(rec, "cloud_id");
	g->site_url = str_of(rec, "site_url");
	g->site_name = str_of(rec, "site_name");
	const cJSON *sites = cJSON_GetObjectItemCaseSensitive(rec, "sites");
	g->sites = cJSON_IsArray(sites) ? cJSON_Duplicate(sites, 1) : NULL;
	g->scopes = str_of(rec, "scopes");
	g->created_at = time_of(rec, "created_at");
	g->last_refresh = time_of(rec, "last_refresh");
	g->last_used = time_of(rec, "last_used");
	g->refreshes = (long)time_of(rec, "refreshes");
	g->dead_at = time_of(rec, "dead_at");
	g->dead_reason = str_of(rec, "dead_reason");
}

static void put_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
}

/* A token: a reference to G's string, not a copy on the heap. */
static void put_token(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddItemToObject(o, key, cJSON_CreateStringReference(v));
}

/* A whole number, written as JSON by hand: cJSON would print it with
 * "%1.15g" and read it back with sscanf to check, every field of every
 * record written. */
static void put_time(cJSON *o, const char *key, time_t v)
{
	char digits[24], *p = digits + sizeof digits;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	if (!v)
		return;
	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	cJSON_AddItemToObject(o, key, cJSON_CreateRaw(p));
}

cJSON *grant_to_json(const struct grant *g)
{
	cJSON *o = cJSON_CreateObject();
	put_time(o, "version", 1);
	put_token(o, "access_token", g->access_token);
	put_time(o, "expires_at", g->expires_at);
	put_time(o, "expires_boot", (time_t)g->expires_boot);
	put_str(o, "boot", g->boot);
	put_token(o, "refresh_token", g->refresh_token);
	put_time(o, "refresh_sent_at", g->refresh_sent_at);
	put_time(o, "refresh_sent_boot", (time_t)g->refresh_sent_boot);
	put_token(o, "prev_refresh_token", g->prev_refresh_token);
	put_time(o, "prev_rotated_at", g->prev_rotated_at);
	put_str(o, "cloud_id", g->cloud_id);
	put_str(o, "site_url", g->site_url);
	put_str(o, "site_name", g->site_name);
	if (g->sites) /* a reference: the tree is printed, then freed */
		cJSON_AddItemReferenceToObject(o, "sites", g->sites);
	put_str(o, "scopes", g->scopes);
	put_time(o, "created_at", g->created_at);
	put_time(o, "last_refresh", g->last_refresh);
	put_time(o, "last_used", g->last_used);
	put_time(o, "refreshes", (time_t)g->refreshes);
	put_time(o, "dead_at", g->dead_at);
	put_str(o, "dead_reason", g->dead_reason);
	return o;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *secure_dup_or_null(const char *s)
{
	return s ? jauth_m_secure_strdup(s) : NULL;
}

void grant_copy(struct grant *dst, const struct grant *src)
{
	struct grant g = *src;
	g.access_token = secure_dup_or_null(src->access_token);
	g.refresh_token = secure_dup_or_null(src->refresh_token);
	g.prev_refresh_token = secure_dup_or_null(src->prev_refresh_token);
	g.boot = dup_or_null(src->boot);
	g.cloud_id = dup_or_null(src->cloud_id);
	g.site_url = dup_or_null(src->site_url);
	g.site_name = dup_or_null(src->site_name);
	g.sites = src->sites ? cJSON_Duplicate(src->sites, 1) : NULL;
	g.scopes = dup_or_null(src->scopes);
	g.dead_reason = dup_or_null(src->dead_reason);
	grant_clear(dst);
	*dst = g;
}

void grant_move(struct grant *dst, struct grant *src)
{
	if (dst == src)
		return;
	grant_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

/* Registers the client secret for masking without sending it (best
 * effort: one that cannot be read now is not this caller's problem). */
static void client_secret_redact(jauth_m *m)
{
	jauth_m_secret *secret;
	if (jauth_m_secret_get(m, "client_secret", &secret) == JAUTH_SUCCESS)
		jauth_m_secret_free(secret);
}

void grant_redact(jauth_m *m, const struct grant *g)
{
	jauth_m_redact(m, g->access_token);
	jauth_m_redact(m, g->refresh_token);
	jauth_m_redact(m, g->prev_refresh_token);
	if (g->dead_reason)
		client_secret_redact(m);
}

static const char *site_str(const cJSON *site, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(site, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

/* 1 when URL A and B are the same site (a trailing slash aside). */
static int same_url(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	while (na > 0 && a[na - 1] == '/')
		na--;
	while (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

/* 1 when the site ID at URL is the one the line names (or it names
 * none). */
static int site_wanted(jauth_m *m, const char *id, const char *url)
{
	const char *want_id = jauth_m_arg(m, "cloud_id");
	const char *want_url = jauth_m_arg(m, "site");
	if (want_id)
		return strcmp(want_id, id) == 0;
	if (want_url)
		return same_url(want_url, url);
	return 1;
}

int grant_site_matches(jauth_m *m, const struct grant *g)
{
	return g->cloud_id &&
	       site_wanted(m, g->cloud_id, g->site_url ? g->site_url : "");
}

/* "acme (https://acme.atlassian.net, cloud_id=…); …": the first
 * SITES_LISTED, then how many more (a consent may grant thousands). */
static char *site_list(const cJSON *sites)
{
	char *out = strdup(""), *next;
	const cJSON *s;
	int i = 0, n = cJSON_GetArraySize(sites);
	cJSON_ArrayForEach (s, sites) {
		if (i++ == SITES_LISTED)
			break;
		if (!out || asprintf(&next, "%s%s%s (%s, cloud_id=%s)", out,
				     *out ? "; " : "", site_str(s, "name"),
				     site_str(s, "url"), site_str(s, "id")) < 0)
			next = NULL;
		free(out);
		out = next;
	}
	if (out && n > SITES_LISTED &&
	    asprintf(&next,
		     "%s; and %d more (admin.atlassian.com shows each site's "
		     "cloud id)",
		     out, n - SITES_LISTED) >= 0) {
		free(out);
		out = next;
	}
	return out;
}

static void take_site(struct grant *g, const cJSON *site)
{
	free(g->cloud_id);
	free(g->site_url);
	free(g->site_name);
	g->cloud_id = strdup(site_str(site, "id"));
	g->site_url = strdup(site_str(site, "url"));
	g->site_name = strdup(site_str(site, "name"));
}

jauth_result grant_choose_site(jauth_m *m, struct grant *g)
{
	const cJSON *s, *found = NULL;
	int matches = 0, n = cJSON_GetArraySize(g->sites);
	int named = jauth_m_arg(m, "cloud_id") || jauth_m_arg(m, "site");
	cJSON_ArrayForEach (s, g->sites) {
		if (site_wanted(m, site_str(s, "id"), site_str(s, "url"))) {
			matches++;
			found = found ? found : s;
		}
	}
	if (matches == 1 || (named && matches > 0)) {
		take_site(g, found);
		return JAUTH_SUCCESS;
	}
	char *list = site_list(g->sites);
	jauth_result rc =
		n == 0	? jauth_m_fail(m, JAUTH_DENIED,
				       "the consent granted no Jira site: the "
					"admin who consents must pick a site on "
					"Atlassian's consent screen")
		: named ? jauth_m_fail(m, JAUTH_CONFIG,
				       "the site the stack line names is not "
				       "among those the consent granted: %s. "
				       "Fix cloud_id=/site= (no new consent "
				       "needed) or consent again choosing it",
				       list ? list : "")
			: jauth_m_fail(m, JAUTH_CONFIG,
				       "the consent granted %d sites: add "
				       "cloud_id= for one of them to the stack "
				       "line (no new consent needed): %s",
				       n, list ? list : "");
	free(list);
	return rc;
}

jauth_result grant_commit(jauth_m_lock *lk, const struct grant *g)
{
	cJSON *j = grant_to_json(g);
	jauth_result rc = jauth_m_store_commit(lk, j);
	jauth_m_json_free(j);
	return rc;
}

jauth_result grant_note(jauth_m_lock *lk, const struct grant *g)
{
	cJSON *j = grant_to_json(g);
	jauth_result rc = jauth_m_store_note(lk, j);
	jauth_m_json_free(j);
	return rc;
}

/* This boot's id (the kernel's random boot_id), "" when unknown. */
static char boot_id[40];
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void read_boot_id(void)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, boot_id, sizeof boot_id - 1);
	if (fd >= 0)
		close(fd);
	boot_id[n > 0 ? strcspn(boot_id, "\n") : 0] = '\0';
}

static const char *this_boot(void)
{
	pthread_once(&boot_once, read_boot_id);
	return boot_id;
}

/* Seconds on this boot's CLOCK_BOOTTIME: nobody sets it, it never goes
 * back. */
static long long boot_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec;
}

/* 1 when G's *_boot fields count on this boot. */
static int same_boot(const struct grant *g)
{
	return g->boot && *this_boot() && strcmp(g->boot, this_boot()) == 0;
}

long long grant_boot_stamp(struct grant *g)
{
	if (!same_boot(g)) {
		g->expires_boot = g->refresh_sent_boot = 0;
		free(g->boot);
		g->boot = *this_boot() ? strdup(this_boot()) : NULL;
	}
	return boot_now();
}

long long grant_boot_since(const struct grant *g, long long at)
{
	return at && same_boot(g) ? boot_now() - at : -1;
}

time_t grant_expires(const struct grant *g, time_t now)
{
	if (!g->expires_boot || !same_boot(g))
		return g->expires_at;
	time_t mono = now + (time_t)(g->expires_boot - boot_now());
	return mono < g->expires_at ? mono : g->expires_at;
}

int grant_fresh(jauth_m *m, const struct grant *g, time_t now)
{
	long long leeway = jauth_m_arg_int(m, "refresh_leeway");
	long long keepalive = jauth_m_arg_int(m, "keepalive_days") * DAY;
	if (!g->access_token || g->dead_at || !grant_site_matches(m, g))
		return 0;
	if (now >= grant_expires(g, now) - leeway)
		return 0;
	return !g->refresh_token || !g->last_refresh ||
	       now - g->last_refresh < keepalive;
}

char *grant_base_url(const struct oauth *o, const struct grant *g)
{
	char *u;
	return asprintf(&u, "%s/ex/jira/%s", o->api_url, g->cloud_id) < 0 ? NULL
									  : u;
}

jauth_result grant_publish(jauth_m *m, struct oauth *o, const struct grant *g,
			   time_t refresh_at)
{
	if (!jauth_m_cloud_id_ok(g->cloud_id))
		return jauth_m_fail(m, JAUTH_ERROR,
				    "the stored grant's cloud id is not one "
				    "(letters, digits, '-'): run `jauth "
				    "authorize %s`",
				    jauth_m_service(m));
	char *base = grant_base_url(o, g);
	if (!base)
		return jauth_m_fail(m, JAUTH_ERROR, "out of memory");
	struct jauth_m_cred c = {
		.scheme = "Bearer",
		.token = g->access_token,
		.base_url = base,
		.expires_at = grant_expires(g, jauth_m_now(m)),
		.refresh_at = refresh_at,
	};
	jauth_result rc = jauth_m_credential(m, &c);
	free(base);
	return rc;
}

/* Replaces *DST with a copy of SRC (wiping the old value). */
static void set_str(char **dst, const char *src)
{
	jauth_m_wipe_free(*dst);
	*dst = src ? strdup(src) : NULL;
}

void secure_set(char **dst, const char *src)
{
	jauth_m_secure_free(*dst);
	*dst = jauth_m_secure_strdup(src);
}

/* 1 when T can be a token: it goes into an HTTP header and `jauth token`
 * prints it, so visible ASCII only, and something of it. */
static int token_ok(const char *t)
{
	for (const char *p = t; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return *t != '\0';
}

/* Why the answer's refresh_token cannot be used (NULL when it can, or
 * when there is none: an answer without one keeps the token in force). */
static const char *refresh_problem(const cJSON *j)
{
	const cJSON *v;
	int n = 0;
	cJSON_ArrayForEach (v, j)
		n += v->string && strcmp(v->string, "refresh_token") == 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
	if (n == 0)
		return NULL;
	if (n > 1)
		return "is given more than once";
	if (!cJSON_IsString(v) || !v->valuestring)
		return "is not a string";
	if (!*v->valuestring)
		return "is empty";
	return token_ok(v->valuestring) ? NULL
					: "holds characters no token has";
}

/* Takes the answer's refresh token into G, the one in force becoming the
 * previous one. An unusable one is an error that keeps the token in force
 * (Atlassian still accepts it for its reuse interval). */
static jauth_result take_refresh(jauth_m *m, struct grant *g, const cJSON *j,
				 time_t now)
{
	const char *why = refresh_problem(j);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
	if (why)
		return jauth_m_fail(
			m, JAUTH_ERROR,
			"the token endpoint's answer is unusable: its "
			"refresh_token %s. The refresh token in force is "
			"kept; run `jauth refresh %s` within 10 minutes, or "
			"`jauth authorize %s` if this keeps happening",
			why, jauth_m_service(m), jauth_m_service(m));
	if (!rt)
		return JAUTH_SUCCESS;
	secure_set(&g->prev_refresh_token, g->refresh_token);
	g->prev_rotated_at = g->refresh_token ? now : 0;
	secure_set(&g->refresh_token, rt->valuestring);
	jauth_m_redact(m, rt->valuestring);
	return JAUTH_SUCCESS;
}

/* Refuses field NAME of the answer J when it is larger than any real
 * token: storing it could make a record the store cannot read back. */
static jauth_result token_fits(jauth_m *m, const char *what, const cJSON *j,
			       const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	size_t n = cJSON_IsString(v) && v->valuestring ? strlen(v->valuestring)
						       : 0;
	if (n <= TOKEN_MAX)
		return JAUTH_SUCCESS;
	return jauth_m_fail(m, JAUTH_ERROR,
			    "%s has a %s of %zu bytes, more than any real one "
			    "(%d KiB at most): refused, the stored one is "
			    "kept; if this repeats, the token endpoint "
			    "(auth_url=) is not Atlassian's",
			    what, name, n, TOKEN_MAX / 1024);
}

/*
 * The refresh token is taken whatever else the answer lacks: once
 * Atlassian has rotated it, the new one must reach the store even if the
 * rest of the answer is unusable. It is taken last, so that its failure
 * is the one reported.
 */
jauth_result grant_take_tokens(jauth_m *m, struct grant *g, const char *body,
			       time_t now)
{
	static const char what[] = "the token endpoint's answer";
	cJSON *j = NULL;
	const char *at, *scope;
	double expires_in;
	jauth_result rc = jauth_m_json_parse(m, what, body, &j);
	if (rc == JAUTH_SUCCESS &&
	    (rc = token_fits(m, what, j, "refresh_token")) != JAUTH_SUCCESS)
		jauth_m_json_free(j); /* the mark stays: as if unanswered */
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (jauth_m_json_str(m, what, j, "scope", &scope) == JAUTH_SUCCESS &&
	    strlen(scope) <= TOKEN_MAX)
		set_str(&g->scopes, scope);
	if ((rc = token_fits(m, what, j, "access_token")) == JAUTH_SUCCESS &&
	    (rc = jauth_m_json_str(m, what, j, "access_token", &at)) ==
		    JAUTH_SUCCESS &&
	    !token_ok(at))
		rc = jauth_m_fail(m, JAUTH_ERROR,
				  "%s: its access_token is empty or holds "
				  "characters no token has",
				  what);
	if (rc == JAUTH_SUCCESS &&
	    (rc = jauth_m_json_num(m, what, j, "expires_in", &expires_in)) ==
		    JAUTH_SUCCESS) {
		if (expires_in < EXPIRES_IN_MIN || expires_in > EXPIRES_IN_MAX)
			jauth_m_log(m, JAUTH_LOG_WARN,
				    "%s: expires_in %.0f is out of range; "
				    "using %d s",
				    what, expires_in,
				    expires_in < EXPIRES_IN_MIN
					    ? EXPIRES_IN_MIN
					    : EXPIRES_IN_MAX);
		expires_in = expires_in < EXPIRES_IN_MIN   ? EXPIRES_IN_MIN
			     : expires_in > EXPIRES_IN_MAX ? EXPIRES_IN_MAX
							   : expires_in;
		secure_set(&g->access_token, at);
		jauth_m_redact(m, at);
		g->expires_at = now + (time_t)expires_in;
		g->expires_boot = grant_boot_stamp(g) + (long long)expires_in;
	}
	jauth_result rt_rc = take_refresh(m, g, j, now);
	g->refresh_sent_at = 0;
	g->refresh_sent_boot = 0;
	jauth_m_json_free(j);
	return rt_rc != JAUTH_SUCCESS ? rt_rc : rc;
}
