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
	struct seal *seal; /* NULL: records in clear */
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

const struct store_backend *store_backend_of(struct store *s)
{
	return s->be;
}

struct seal *store_seal_of(struct store *s)
{
	return s->seal;
}

struct store *store_of(jauth_m *m)
{
	return m->line->store ? m->line->store : m->h->store;
}

/* -1 after recording a problem when the key REF names is there but
 * refused (a file others can read); one not there yet (a credential
 * outside its unit) is reported when a record needs it. */
static int key_refused(const char *src, const char *ref, struct problems *p)
{
	char *val = NULL, *why = NULL;
	size_t len;
	int rc = secret_ref_read(ref, &val, &len, &why);
	secmem_free(val);
	if (rc == -1)
		problem(p, "%s: store key: %s", src, why);
	free(why);
	return rc == -1 ? -1 : 0;
}

/* Takes key= and key_old= out of the directive's tokens TOK[2..*N) into
 * KEY and OLD. Returns 0, or -1 after recording a problem. */
static int key_args(const char *src, char **tok, size_t *n, const char **key,
		    const char **old, struct problems *p)
{
	size_t out = *n < 2 ? *n : 2; /* "store" alone keeps its one token */
	*key = *old = NULL;
	for (size_t i = 2; i < *n; i++) {
		const char **slot = strncmp(tok[i], "key=", 4) == 0 ? key
				    : strncmp(tok[i], "key_old=", 8) == 0
					    ? old
					    : NULL;
		if (!slot) {
			tok[out++] = tok[i];
			continue;
		}
		*slot = strchr(tok[i], '=') + 1;
		if (!seal_ref_ok(*slot)) {
			/* the key's name only: the value may be the key */
			problem(p,
				"%s: store %s must name a secret: "
				"@file:/PATH, @env:NAME or @cred:NAME (a key "
				"is never written in the stack)",
				src, slot == key ? "key=" : "key_old=");
			return -1;
		}
		if (key_refused(src, *slot, p) < 0)
			return -1;
	}
	*n = out;
	if (*old && !*key) {
		problem(p,
			"%s: store key_old= without key=: give the new key "
			"as key=",
			src);
		return -1;
	}
	return 0;
}

int store_directive(struct jauth *h, const char *src, char **tok, size_t n,
		    struct store **out, struct problems *p)
{
	const struct store_backend *be = NULL;
	const char *key, *old;
	char *why = NULL;
	if (key_args(src, tok, &n, &key, &old, p) < 0)
		return -1;
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
	if (be == &store_files && n > 2) {
		problem(p,
			"%s: store files takes only key= and key_old=: remove "
			"the other arguments (see jauth.conf(5))",
			src);
		return -1;
	}
	if (be == &store_files && !key) /* the handle's own */
		return 0;
	struct store *s = xcalloc(1, sizeof *s);
	s->be = be;
	int rc = be == &store_files || !be->open_args
			 ? be->open(h, NULL, &s->ctx, &why)
			 : be->open_args(h, src, tok + 2, n - 2, &s->ctx, &why);
	if (rc < 0) {
		problem(p, "%s: store %s: %s", src, be->name, why);
		free(why);
		free(s);
		return -1;
	}
	s->seal = key ? seal_new(key, old) : NULL;
	*out = s;
	return 0;
}

void store_warm(struct store *s)
{
	if (s && s->be->warm)
		s->be->warm(s->ctx);
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
	seal_free(s->seal);
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
		rc = unseal_record(m, s->seal, name, 0, &text, &len);
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
		rc = unseal_record(m, s->seal, lk->name, 0, &text, &len);
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

/* Serializes REC for LK's backend, sealed when the store has a key:
 * never more than it reads back. The clear text is printed into secret
 * memory (jauth_m_json_print_secure), never onto the heap; *secure says
 * which allocator holds the result (a sealed text is no secret). NULL
 * after a message on LK's module. */
static char *serialize(jauth_m_lock *lk, const cJSON *rec, size_t *len,
		       int *secure, jauth_result *rc)
{
	*rc = JAUTH_ERROR;
	*secure = 1;
	char *text = jauth_m_json_print_secure(rec), *sealed;
	if (!text) {
		jauth_m_fail(lk->m, JAUTH_ERROR,
			     "cannot serialize the record (out of memory, or "
			     "larger than 4 MiB): it is not saved (the "
			     "previous record is in force)");
		return NULL;
	}
	*len = strlen(text);
	if (lk->s->seal) {
		*rc = seal_record(lk->m, lk->s->seal, lk->name, text, *len,
				  &sealed, len);
		secmem_free(text);
		if (*rc != JAUTH_SUCCESS)
			return NULL;
		*rc = JAUTH_ERROR;
		text = sealed;
		*secure = 0;
	}
	if (*len <= lk->s->be->max_record)
		return text;
	jauth_m_fail(lk->m, JAUTH_ERROR,
		     "the record %s would be %zu bytes, more than the store "
		     "reads back (%zu): it is not saved (the previous record "
		     "is in force)",
		     lk->name, *len, lk->s->be->max_record);
	if (*secure)
		secmem_free(text);
	else
		free(text);
	return NULL;
}

/* Serializes REC and hands it to PUT, the backend's commit or note. */
static jauth_result
put_record(jauth_m_lock *lk, const cJSON *rec,
	   jauth_result (*put)(jauth_m *m, struct store_lock *slk,
			       const char *text, size_t len))
{
	size_t len;
	int secure;
	jauth_result rc;
	char *text = serialize(lk, rec, &len, &secure, &rc);
	if (!text)
		return rc;
	rc = put(lk->m, lk->lk, text, len);
	if (secure)
		secmem_free(text);
	else
		free(text);
	return rc;
}

jauth_result jauth_m_store_commit(jauth_m_lock *lk, const cJSON *rec)
{
	return put_record(lk, rec, lk->s->be->commit);
}

jauth_result jauth_m_store_note(jauth_m_lock *lk, const cJSON *rec)
{
	return put_record(lk, rec, lk->s->be->note);
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
