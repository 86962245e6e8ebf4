/*
 * pgsql.c — the PostgreSQL backend of the state store, libjauth's side:
 * the stack's `store pgsql …` directive, the driver (store-pgsql.so, the
 * only code that links libpq) loaded when a stack names it, the records
 * as cJSON, and the local cache of access tokens for an outage.
 *
 * The record's JSON is the file store's; the database adds a generation
 * (every write compares and sets it), the holder of the intent mark and
 * the times. docs/ARCHITECTURE.md ("The shared store") has the design.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pgsql.h"
#include "store.h"

#define LOCK_TIMEOUT_S 60 /* a waiter's bound: one refresh and its commit */
#define HOLD_TIMEOUT_S 90 /* a silent holder's session ends after this */

struct pgsql {
	char *source;	/* "FILE:LINE" of the directive */
	char *conninfo; /* libpq connection string or URI */
	char *password; /* the secret reference as written, or NULL */
	int lock_timeout_s, hold_timeout_s, allow_nondurable;
	pthread_mutex_t mu; /* pg, where */
	const struct pgsql_driver *drv;
	struct pg *pg;	  /* connected on first use */
	char *where;	  /* "pgsql host=… dbname=…" for messages */
	long long cached; /* generation of the record last cached, -1: none */
};

/* The lock of one record; the session's mutex is held with it. */
struct store_lock {
	jauth_m *m;
	struct pgsql *c;
	char *key;
	long long gen; /* as read under the lock, then as written */
};

static void pgsql_close(void *ctx)
{
	struct pgsql *c = ctx;
	if (!c)
		return;
	if (c->pg)
		c->drv->close(c->pg);
	free(c->source);
	wipe_free(c->conninfo);
	free(c->password);
	free(c->where);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

const char *pgsql_where(const void *ctx)
{
	const struct pgsql *c = ctx;
	return c->where;
}

/* The driver (store-pgsql.so, loaded once per process). NULL with *why. */
static const struct pgsql_driver *driver(char **why)
{
	void *dl = private_open(PGSQL_DRIVER_FILE, why);
	const struct pgsql_driver *d =
		dl ? private_sym(dl, PGSQL_DRIVER_FILE, PGSQL_DRIVER_SYMBOL,
				 why)
		   : NULL;
	if (d && d->abi != PGSQL_DRIVER_ABI) {
		*why = xasprintf("%s belongs to another jauth version: "
				 "reinstall jauth",
				 PGSQL_DRIVER_FILE);
		return NULL;
	}
	return d;
}

/* One OPTION=VALUE of the directive. Returns 0 or -1 with *why. */
static int store_option(struct pgsql *c, const char *t, char **why)
{
	const char *eq = strchr(t, '=');
	size_t kn = eq ? (size_t)(eq - t) : 0;
	char *end = NULL;
	long v = eq ? strtol(eq + 1, &end, 10) : 0;
	int num_ok = eq && end != eq + 1 && *end == '\0';
	if (kn == 8 && strncmp(t, "password", 8) == 0) {
		free(c->password);
		c->password = xstrdup(eq + 1);
		return 0;
	}
	if (kn == 12 && strncmp(t, "lock_timeout", kn) == 0 && num_ok &&
	    v >= 1 && v <= 300) {
		c->lock_timeout_s = (int)v;
		return 0;
	}
	if (kn == 12 && strncmp(t, "hold_timeout", kn) == 0 && num_ok &&
	    v >= 1 && v <= 300) {
		c->hold_timeout_s = (int)v;
		return 0;
	}
	if (kn == 16 && strncmp(t, "allow_nondurable", kn) == 0 && num_ok &&
	    (v == 0 || v == 1)) {
		c->allow_nondurable = (int)v;
		return 0;
	}
	*why = xasprintf("store option \"%.*s\" is not one of "
			 "password=SECRET, lock_timeout=SECONDS (1-300), "
			 "hold_timeout=SECONDS (1-300), allow_nondurable=0|1",
			 eq ? (int)kn : (int)strlen(t), t);
	return -1;
}

/* "store pgsql CONNINFO [OPTION=VALUE…]" (ARGV: CONNINFO …), checked
 * without connecting. */
static int pgsql_open_args(struct jauth *h, const char *src, char **argv,
			   size_t argc, void **ctx, char **why)
{
	(void)h;
	*ctx = NULL;
	if (argc < 1) {
		*why = xstrdup("write \"store pgsql 'host=… dbname=…' "
			       "[password=@file:PATH]\"");
		return -1;
	}
	struct pgsql *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	c->lock_timeout_s = LOCK_TIMEOUT_S;
	c->hold_timeout_s = HOLD_TIMEOUT_S;
	c->cached = -1;
	c->source = xstrdup(src);
	c->conninfo = xstrdup(argv[0]);
	int rc = 0;
	for (size_t i = 1; i < argc && rc == 0; i++)
		rc = store_option(c, argv[i], why);
	if (rc == 0 && c->hold_timeout_s < c->lock_timeout_s) {
		*why = xasprintf("hold_timeout (%d s) is shorter than "
				 "lock_timeout (%d s): a slow but live refresh "
				 "would lose its lock",
				 c->hold_timeout_s, c->lock_timeout_s);
		rc = -1;
	}
	if (rc == 0 &&
	    (!(c->drv = driver(why)) || c->drv->check(c->conninfo, why) < 0))
		rc = -1;
	if (rc < 0) {
		pgsql_close(c);
		return -1;
	}
	struct pg *pg = c->drv->open(&(struct pg_settings){
		.conninfo = c->conninfo,
	});
	c->where = c->drv->describe(pg);
	c->drv->close(pg);
	*ctx = c;
	return 0;
}

/* A spec string cannot carry a quoted connection string: the stack's
 * directive opens this backend (open_args). */
static int pgsql_open(struct jauth *h, const char *conf, void **ctx, char **why)
{
	(void)h;
	(void)conf;
	*ctx = NULL;
	*why = xstrdup("the pgsql store is configured by a \"store pgsql …\" "
		       "line of the stack");
	return -1;
}

static char *where_of(void *ctx, const char *name)
{
	struct pgsql *c = ctx;
	return xasprintf("%s (record %s)", c->where, name);
}

/* ---- the records ---- */

static jauth_result result_of(enum pg_rc rc)
{
	switch (rc) {
	case PG_OK:
		return JAUTH_SUCCESS;
	case PG_DOWN:
	case PG_BUSY:
	case PG_LOST:
		return JAUTH_TRANSIENT;
	default:
		return JAUTH_ERROR;
	}
}

static jauth_result store_fail(jauth_m *m, struct pgsql *c, enum pg_rc rc,
			       char *why)
{
	jauth_m_fail(m, result_of(rc), "the store (%s, %s): %s%s", c->source,
		     c->where, why ? why : "failed",
		     rc == PG_DOWN ? "; no refresh is sent without its lock: "
				     "try again when PostgreSQL is back"
				   : "");
	free(why);
	return result_of(rc);
}

/* The connection object, made on first use with the password resolved
 * in M's context. Under c->mu. */
static jauth_result session(jauth_m *m, struct pgsql *c)
{
	jauth_m_secret *pw = NULL;
	if (c->pg)
		return JAUTH_SUCCESS;
	if (c->password) {
		jauth_result rc = secret_of(m, "password", c->password, &pw);
		if (rc != JAUTH_SUCCESS)
			return rc;
	}
	c->pg = c->drv->open(&(struct pg_settings){
		.conninfo = c->conninfo,
		.password = pw ? jauth_m_secret_str(pw) : NULL,
		.service = m->h->service,
		.lock_timeout_ms = c->lock_timeout_s * 1000,
		.hold_timeout_ms = c->hold_timeout_s * 1000,
		.allow_nondurable = c->allow_nondurable,
	});
	jauth_m_secret_free(pw);
	return JAUTH_SUCCESS;
}

/* The KEY of record NAME ("SERVICE.MODULE.KEY") of M. */
static const char *key_of(jauth_m *m, const char *name)
{
	return name + strlen(m->store_prefix) + 1;
}

/* ---- the local cache: the access token for an outage ---- */

/* "SERVICE.MODULE.KEY.cache.json" */
static char *cache_name(const char *name)
{
	return xasprintf("%s.cache.json", name);
}

/* The record without the refresh token lineage or any other secret than
 * the access token: what may sit on a host's disk. */
static cJSON *cacheable(const cJSON *rec)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *it;
	cJSON_ArrayForEach (it, rec) {
		if (strstr(it->string, "refresh_token") ||
		    strstr(it->string, "secret") || strstr(it->string, "code"))
			continue;
		cJSON_AddItemToObject(c, it->string, cJSON_Duplicate(it, 1));
	}
	cJSON_AddBoolToObject(c, "from_local_cache", 1);
	return c;
}

/* Keeps what may be kept of record NAME's TEXT (NULL: none any more). */
static void cache_put(jauth_m *m, const char *name, const char *text)
{
	char *file = cache_name(name), *out = NULL;
	cJSON *rec = text ? cJSON_Parse(text) : NULL, *c = NULL;
	if (!cJSON_IsObject(rec)) {
		state_file_remove(m->h->state_dir, file);
	} else {
		c = cacheable(rec);
		out = jauth_m_json_print_secure(c); /* holds the token */
		if (out && state_file_write(m->h->state_dir, file, out) < 0)
			jauth_m_log(m, JAUTH_LOG_WARN,
				    "cannot write the local token cache %s in "
				    "%s",
				    file, m->h->state_dir);
	}
	secmem_free(out);
	jauth_m_json_free(c);
	jauth_m_json_free(rec);
	free(file);
}

/* The cached record of NAME, or NULL. */
static char *cache_get(jauth_m *m, const char *name)
{
	char *file = cache_name(name);
	char *text = state_file_read(m->h->state_dir, file);
	free(file);
	return text;
}

/* A record left in the file store after the stack moved to PostgreSQL is
 * named, rather than reported as no record at all. */
static jauth_result left_in_files(jauth_m *m, const char *name)
{
	char *path = xasprintf("%s/%s.json", m->h->state_dir, name);
	int there = access(path, F_OK) == 0;
	jauth_result rc =
		there ? jauth_m_fail(m, JAUTH_UNAVAILABLE,
				     "the record is still in the file store "
				     "(%s), not in PostgreSQL: run `jauth "
				     "store copy %s`",
				     path, m->h->service)
		      : JAUTH_SUCCESS;
	free(path);
	return rc;
}

/* Hands the row's record over as *TEXT. */
static void take_record(struct pg_row *row, char **text, size_t *len)
{
	*text = row->record;
	*len = row->record ? strlen(row->record) : 0;
	row->record = NULL;
}

static jauth_result pgsql_load(jauth_m *m, void *ctx, const char *name,
			       char **text, size_t *len)
{
	struct pgsql *c = ctx;
	struct pg_row row;
	char *why = NULL;
	*text = NULL;
	*len = 0;
	pthread_mutex_lock(&c->mu);
	jauth_result rc = session(m, c);
	enum pg_rc prc = PG_FAIL;
	if (rc == JAUTH_SUCCESS)
		prc = c->drv->load(c->pg, m->h->service, m->ops->name,
				   key_of(m, name), &row, &why);
	/* The cache is rewritten only when the record changed (one record
	 * per store in practice; another one just costs a rewrite). */
	int recache = prc == PG_OK && row.generation != c->cached;
	if (recache)
		c->cached = row.generation;
	pthread_mutex_unlock(&c->mu);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (prc == PG_DOWN && (*text = cache_get(m, name))) {
		jauth_m_log(m, JAUTH_LOG_WARN,
			    "the store (%s) is unreachable (%s): using the "
			    "access token of the local cache",
			    c->where, why);
		*len = strlen(*text);
		free(why);
		return JAUTH_SUCCESS;
	}
	if (prc != PG_OK)
		return store_fail(m, c, prc, why);
	if (recache)
		cache_put(m, name, row.record);
	rc = row.record ? JAUTH_SUCCESS : left_in_files(m, name);
	take_record(&row, text, len);
	pg_row_clear(&row);
	return rc;
}

static void pgsql_unlock(struct store_lock *lk)
{
	if (!lk)
		return;
	lk->c->drv->unlock(lk->c->pg, lk->m->h->service, lk->m->ops->name,
			   lk->key);
	pthread_mutex_unlock(&lk->c->mu);
	free(lk->key);
	free(lk);
}

static jauth_result pgsql_lock(jauth_m *m, void *ctx, const char *name,
			       struct store_lock **out, char **text,
			       size_t *len)
{
	struct pgsql *c = ctx;
	struct pg_row row;
	char *why = NULL;
	*out = NULL;
	if (text)
		*text = NULL;
	pthread_mutex_lock(&c->mu);
	jauth_result rc = session(m, c);
	enum pg_rc prc = PG_FAIL;
	if (rc == JAUTH_SUCCESS)
		prc = c->drv->lock(c->pg, m->h->service, m->ops->name,
				   key_of(m, name), &row, &why);
	if (rc != JAUTH_SUCCESS || prc != PG_OK) {
		pthread_mutex_unlock(&c->mu);
		return rc != JAUTH_SUCCESS ? rc : store_fail(m, c, prc, why);
	}
	/* c->mu stays held with the lock: one holder per session. */
	struct store_lock *lk = xcalloc(1, sizeof *lk);
	*lk = (struct store_lock){ m, c, xstrdup(key_of(m, name)),
				   row.generation };
	if (text)
		take_record(&row, text, len);
	pg_row_clear(&row);
	jauth_m_log(m, JAUTH_LOG_DEBUG, "locked %s in %s (generation %lld)",
		    name, c->where, lk->gen);
	*out = lk;
	return JAUTH_SUCCESS;
}

/* Writes TEXT (NULL: removes) under LK; INTENT for the mark before a
 * request. */
static jauth_result put(jauth_m *m, struct store_lock *lk, const char *text,
			int intent)
{
	char *why = NULL;
	enum pg_rc prc =
		lk->c->drv->write(lk->c->pg, m->h->service, m->ops->name,
				  lk->key, &lk->gen, text, intent, &why);
	if (prc != PG_OK)
		return store_fail(m, lk->c, prc, why);
	jauth_m_log(m, JAUTH_LOG_DEBUG, "%s %s.%s (generation %lld)",
		    intent ? "noted"
		    : text ? "committed"
			   : "removed",
		    m->store_prefix, lk->key, lk->gen);
	char *name = xasprintf("%s.%s", m->store_prefix, lk->key);
	lk->c->cached = lk->gen; /* under c->mu, held with the lock */
	cache_put(m, name, text);
	free(name);
	return JAUTH_SUCCESS;
}

static jauth_result pgsql_commit(jauth_m *m, struct store_lock *lk,
				 const char *text, size_t len)
{
	(void)len;
	return put(m, lk, text, 0);
}

static jauth_result pgsql_note(jauth_m *m, struct store_lock *lk,
			       const char *text, size_t len)
{
	(void)len;
	/* Committed like any write: another host that finds the mark after
	 * this one died must see it. */
	return put(m, lk, text, 1);
}

static jauth_result pgsql_remove(jauth_m *m, struct store_lock *lk)
{
	return lk->gen == 0 ? JAUTH_SUCCESS : put(m, lk, NULL, 0);
}

jauth_result pgsql_init(jauth_m *m, void *ctx, const char *sql)
{
	struct pgsql *c = ctx;
	char *why = NULL;
	pthread_mutex_lock(&c->mu);
	jauth_result rc = session(m, c);
	enum pg_rc prc =
		rc == JAUTH_SUCCESS ? c->drv->init(c->pg, sql, &why) : PG_OK;
	pthread_mutex_unlock(&c->mu);
	if (rc != JAUTH_SUCCESS)
		return rc;
	return prc == PG_OK ? JAUTH_SUCCESS : store_fail(m, c, prc, why);
}

jauth_result pgsql_records(jauth_m *m, void *ctx, cJSON **out)
{
	struct pgsql *c = ctx;
	char *why = NULL, *json = NULL;
	*out = NULL;
	pthread_mutex_lock(&c->mu);
	jauth_result rc = session(m, c);
	enum pg_rc prc =
		rc == JAUTH_SUCCESS
			? c->drv->status(c->pg, m->h->service, &json, &why)
			: PG_OK;
	pthread_mutex_unlock(&c->mu);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (prc != PG_OK)
		return store_fail(m, c, prc, why);
	*out = cJSON_Parse(json);
	free(json);
	return *out ? JAUTH_SUCCESS
		    : jauth_m_fail(m, JAUTH_ERROR,
				   "the store's status is not JSON");
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static jauth_result pgsql_info(jauth_m *m, void *ctx, const char *name,
			       struct store_info *out)
{
	cJSON *all = NULL;
	const cJSON *r;
	memset(out, 0, sizeof *out);
	out->generation = -1;
	out->where = where_of(ctx, name);
	jauth_result rc = pgsql_records(m, ctx, &all);
	cJSON_ArrayForEach (r, all) {
		if (!str_of(r, "module") || !str_of(r, "key") ||
		    strcmp(str_of(r, "module"), m->ops->name) != 0 ||
		    strcmp(str_of(r, "key"), key_of(m, name)) != 0)
			continue;
		out->generation =
			(long long)cJSON_GetObjectItem(r, "generation")
				->valuedouble;
		const char *who = str_of(r, "locked_by")
					  ? str_of(r, "locked_by")
					  : str_of(r, "updated_by");
		out->holder = who ? xstrdup(who) : NULL;
		out->marked = cJSON_GetObjectItem(r, "intent_at") != NULL;
	}
	cJSON_Delete(all);
	return rc;
}

const struct store_backend store_pgsql = {
	.name = "pgsql",
	.max_record = 1024 * 1024,
	.open = pgsql_open,
	.close = pgsql_close,
	.where = where_of,
	.load = pgsql_load,
	.lock = pgsql_lock,
	.note = pgsql_note,
	.commit = pgsql_commit,
	.remove = pgsql_remove,
	.unlock = pgsql_unlock,
	.info = pgsql_info,
	.open_args = pgsql_open_args,
};
