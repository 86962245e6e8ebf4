/*
 * store.c — the state store's module-facing services (jauth_m_store_*,
 * module.h) over the backend in force (store.h), and the choice of that
 * backend: files unless the stack names another.
 *
 * This layer owns what is the same for every backend: the record's name
 * (SERVICE.MODULE.KEY), JSON in and out, and the size a backend can read
 * back. The backend owns where the bytes go, the lock and durability.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct store {
	const struct store_backend *be;
	void *ctx;
};

struct jauth_m_lock {
	jauth_m *m;
	struct store *s;
	struct store_lock *lk;
	char *name;
};

static const struct store_backend *const backends[] = {
	&store_files,
	&store_pgsql,
};

void *store_ctx(struct store *s, const struct store_backend *be)
{
	return s && s->be == be ? s->ctx : NULL;
}

struct store *store_of(jauth_m *m)
{
	return m->line->store ? m->line->store : m->h->store;
}

int store_directive(struct jauth *h, const char *src, char **tok, size_t n,
		    struct store **out, struct problems *p)
{
	const struct store_backend *be = NULL;
	char *why = NULL;
	for (size_t i = 0; n >= 2 && i < sizeof backends / sizeof *backends;
	     i++)
		if (strcmp(backends[i]->name, tok[1]) == 0)
			be = backends[i];
	if (!be) {
		problem(p,
			"%s: write \"store files\" or \"store pgsql "
			"CONNINFO [password=SECRET]\" (see jauth.conf(5))",
			src);
		return -1;
	}
	if (be == &store_files) /* the handle's own */
		return 0;
	struct store *s = xcalloc(1, sizeof *s);
	s->be = be;
	if (be->open_args(h, src, tok + 2, n - 2, &s->ctx, &why) < 0) {
		problem(p, "%s: store %s: %s", src, be->name, why);
		free(why);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

struct store *store_open(struct jauth *h, const char *spec, char **why)
{
	const struct store_backend *be = NULL;
	size_t n = spec ? strcspn(spec, " \t") : 0;
	*why = NULL;
	if (!spec)
		be = backends[0];
	for (size_t i = 0; spec && i < sizeof backends / sizeof *backends; i++)
		if (strlen(backends[i]->name) == n &&
		    strncmp(backends[i]->name, spec, n) == 0)
			be = backends[i];
	if (!be) {
		*why = xasprintf("unknown store \"%.*s\": use files", (int)n,
				 spec);
		return NULL;
	}
	const char *conf = spec ? spec + n + strspn(spec + n, " \t") : NULL;
	struct store *s = xcalloc(1, sizeof *s);
	s->be = be;
	if (be->open(h, conf && *conf ? conf : NULL, &s->ctx, why) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->be->close(s->ctx);
	free(s);
}

void store_info_clear(struct store_info *in)
{
	free(in->where);
	free(in->holder);
	memset(in, 0, sizeof *in);
}

static int key_ok(const char *key)
{
	return chars_ok(key, strlen(key), 128, ALNUM "._-");
}

/* The record's name "SERVICE.MODULE.KEY" (malloc'd), or NULL with a
 * message when KEY is not a valid key. */
static char *record_name(jauth_m *m, const char *key)
{
	if (!key_ok(key)) {
		jauth_m_fail(m, JAUTH_ERROR,
			     "store key \"%s\" has characters other than "
			     "letters, digits, '.', '_', '-'",
			     key);
		return NULL;
	}
	return xasprintf("%s.%s", m->store_prefix, key);
}

static void text_free(char *text, size_t len)
{
	if (!text)
		return;
	explicit_bzero(text, len);
	free(text);
}

/* Parses a record's TEXT into *rec (a JSON object). */
static jauth_result parse(jauth_m *m, struct store *s, const char *name,
			  const char *text, cJSON **rec)
{
	*rec = cJSON_Parse(text);
	if (cJSON_IsObject(*rec))
		return JAUTH_SUCCESS;
	jauth_m_json_free(*rec);
	*rec = NULL;
	char *where = s->be->where(s->ctx, name);
	jauth_m_fail(m, JAUTH_ERROR,
		     "state file %s cannot be read as a record (not JSON): "
		     "remove it, or replace it with a new consent (`jauth "
		     "authorize %s`) or `jauth revoke %s`",
		     where, jauth_m_service(m), jauth_m_service(m));
	free(where);
	return JAUTH_ERROR;
}

jauth_result jauth_m_store_load(jauth_m *m, const char *key, cJSON **rec)
{
	struct store *s = store_of(m);
	char *text = NULL, *name = record_name(m, key);
	size_t len = 0;
	*rec = NULL;
	if (!name)
		return JAUTH_ERROR;
	jauth_result rc = s->be->load(m, s->ctx, name, &text, &len);
	if (rc == JAUTH_SUCCESS && text)
		rc = parse(m, s, name, text, rec);
	text_free(text, len);
	free(name);
	return rc;
}

/* jauth_m_store_lock, or with OR_WAIT jauth_m_store_lock_or_wait. */
static jauth_result lock(jauth_m *m, const char *key, int or_wait,
			 jauth_m_lock **out, cJSON **rec)
{
	struct store *s = store_of(m);
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	if (rec)
		*rec = NULL;
	jauth_m_lock *lk = xcalloc(1, sizeof *lk);
	lk->m = m;
	lk->s = s;
	if (!(lk->name = record_name(m, key))) {
		free(lk);
		return JAUTH_ERROR;
	}
	jauth_result rc = (or_wait && s->be->lock_or_wait
				   ? s->be->lock_or_wait
				   : s->be->lock)(m, s->ctx, lk->name, &lk->lk,
						  rec ? &text : NULL, &len);
	if (rc == JAUTH_SUCCESS && !lk->lk) { /* another held it, let go */
		free(lk->name);
		free(lk);
		return JAUTH_SUCCESS;
	}
	if (rc == JAUTH_SUCCESS && text)
		rc = parse(m, s, lk->name, text, rec);
	text_free(text, len);
	if (rc != JAUTH_SUCCESS) {
		jauth_m_store_unlock(lk);
		return rc;
	}
	*out = lk;
	return JAUTH_SUCCESS;
}

jauth_result jauth_m_store_lock(jauth_m *m, const char *key, jauth_m_lock **out,
				cJSON **rec)
{
	return lock(m, key, 0, out, rec);
}

jauth_result jauth_m_store_lock_or_wait(jauth_m *m, const char *key,
					jauth_m_lock **out, cJSON **rec)
{
	return lock(m, key, 1, out, rec);
}

/* Serializes REC for LK's backend: never more than it reads back. */
static char *serialize(jauth_m_lock *lk, const cJSON *rec, size_t *len)
{
	char *text = cJSON_PrintUnformatted(rec);
	if (!text) {
		jauth_m_fail(lk->m, JAUTH_ERROR, "cannot serialize the record");
		return NULL;
	}
	*len = strlen(text);
	if (*len <= lk->s->be->max_record)
		return text;
	jauth_m_fail(lk->m, JAUTH_ERROR,
		     "the record %s would be %zu bytes, more than the store "
		     "reads back (%zu): it is not saved (the previous record "
		     "is in force)",
		     lk->name, *len, lk->s->be->max_record);
	text_free(text, *len);
	return NULL;
}

jauth_result jauth_m_store_commit(jauth_m_lock *lk, const cJSON *rec)
{
	size_t len;
	char *text = serialize(lk, rec, &len);
	if (!text)
		return JAUTH_ERROR;
	jauth_result rc = lk->s->be->commit(lk->m, lk->lk, text, len);
	text_free(text, len);
	return rc;
}

jauth_result jauth_m_store_note(jauth_m_lock *lk, const cJSON *rec)
{
	size_t len;
	char *text = serialize(lk, rec, &len);
	if (!text)
		return JAUTH_ERROR;
	jauth_result rc = lk->s->be->note(lk->m, lk->lk, text, len);
	text_free(text, len);
	return rc;
}

jauth_result jauth_m_store_remove(jauth_m_lock *lk)
{
	return lk->s->be->remove(lk->m, lk->lk);
}

void jauth_m_store_unlock(jauth_m_lock *lk)
{
	if (!lk)
		return;
	lk->s->be->unlock(lk->lk);
	free(lk->name);
	free(lk);
}
