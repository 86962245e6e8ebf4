/*
 * rekey.c — jauth store rekey SERVICE: every record of the service
 * rewritten under the store's key= (opened with key= or key_old=, or read
 * in clear), so that a key is rotated, or a store sealed, without a new
 * consent. Each record is rewritten under its own lock by the backend's
 * durable commit: a kill -9 at any instant leaves every record readable,
 * under the old key or the new one, and running rekey again finishes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "store.h"

/* The store being rekeyed. */
struct store_rekey {
	const struct store_backend *be;
	void *ctx;
	struct seal *seal;
};

/* Rewrites record NAME under the store's key= (counted in *DONE). */
static jauth_result rekey_one(jauth_m *m, struct store_rekey *s,
			      const char *name, int *done)
{
	struct store_lock *lk = NULL;
	char *text = NULL, *sealed = NULL;
	size_t len = 0, slen = 0;
	jauth_result rc = s->be->lock(m, s->ctx, name, &lk, &text, &len);
	if (rc == JAUTH_SUCCESS && text)
		rc = unseal_record(m, s->seal, name, 1, &text, &len);
	if (rc == JAUTH_SUCCESS && text)
		rc = seal_record(m, s->seal, name, text, len, &sealed, &slen);
	if (rc == JAUTH_SUCCESS && sealed &&
	    (rc = s->be->commit(m, lk, sealed, slen)) == JAUTH_SUCCESS) {
		jauth_m_say(m, "sealed %s under the store's key=", name);
		++*done;
	}
	s->be->unlock(lk);
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	free(sealed);
	return rc;
}

/* The names of M's records in the file store (its directory's
 * "SERVICE.MODULE.KEY.json", not caches), or in the shared store. */
static char **record_names(jauth_m *m, struct store_rekey *s, size_t *n)
{
	char **v = NULL;
	*n = 0;
	if (s->be == &store_pgsql) {
		cJSON *rows = NULL, *row;
		pgsql_records(m, s->ctx, &rows);
		cJSON_ArrayForEach (row, rows) {
			const char *mod = cJSON_GetStringValue(
					   cJSON_GetObjectItem(row, "module")),
				   *key = cJSON_GetStringValue(
					   cJSON_GetObjectItem(row, "key"));
			if (!mod || !key || strcmp(mod, m->ops->name) != 0)
				continue;
			v = realloc(v, (*n + 1) * sizeof *v);
			v[(*n)++] = xasprintf("%s.%s", m->store_prefix, key);
		}
		cJSON_Delete(rows);
		return v;
	}
	DIR *d = opendir(m->h->state_dir);
	struct dirent *e;
	size_t p = strlen(m->store_prefix);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= p + 6 || strncmp(e->d_name, m->store_prefix, p) ||
		    e->d_name[p] != '.' ||
		    strcmp(e->d_name + len - 5, ".json") ||
		    (len > 11 && !strcmp(e->d_name + len - 11, ".cache.json")))
			continue;
		v = realloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = xstrndup(e->d_name, len - 5);
	}
	if (d)
		closedir(d);
	return v;
}

/* Rekeys the records of every module line of ST, substacks included. */
static jauth_result rekey_lines(struct run *r, struct store_rekey *s,
				struct stack *st, int *done)
{
	jauth_result rc = JAUTH_SUCCESS;
	for (size_t i = 0; i < st->n && rc == JAUTH_SUCCESS; i++) {
		struct line *ln = st->lines[i];
		if (ln->sub) {
			rc = rekey_lines(r, s, ln->sub, done);
			continue;
		}
		size_t n;
		ln->m->run = r;
		char **names = record_names(ln->m, s, &n);
		for (size_t k = 0; k < n; k++) {
			if (rc == JAUTH_SUCCESS)
				rc = rekey_one(ln->m, s, names[k], done);
			free(names[k]);
		}
		free(names);
		ln->m->run = NULL;
	}
	return rc;
}

jauth_result jauth_store_rekey(jauth *h, char **report)
{
	if (report)
		*report = NULL;
	if (!h)
		return JAUTH_ERROR;
	if (h->dead)
		return JAUTH_CONFIG;
	struct stack *st = admin_begin(h);
	struct run r = { .h = h, .op = OP_OTHER };
	struct store *s = st->store ? st->store : h->store;
	struct store_rekey k = { store_backend_of(s), NULL, store_seal_of(s) };
	k.ctx = store_ctx(s, k.be);
	jauth_result rc = JAUTH_CONFIG;
	int done = 0;
	if (!k.seal)
		r.msg = xasprintf("the store of %s has no key=: add one to its "
				  "store line in %s first (jauth.conf(5), "
				  "\"Encryption at rest\")",
				  h->service, st->file);
	else if ((rc = rekey_lines(&r, &k, st, &done)) == JAUTH_SUCCESS &&
		 done == 0)
		buf_printf(&r.say, "no record of %s to seal\n", h->service);
	admin_end(h, st, 0);
	if (rc != JAUTH_SUCCESS)
		handle_set_error(h, r.msg ? r.msg : "the store failed");
	if (report)
		*report = buf_take(&r.say);
	run_clear(&r);
	return rc;
}

/* Adds {"name", "sealed"} for each record of M to ARR (read through the
 * backend, not opened). */
static void sealed_rows(jauth_m *m, struct store_rekey *s, cJSON *arr)
{
	size_t n;
	char **names = record_names(m, s, &n);
	for (size_t i = 0; i < n; i++) {
		char *text = NULL;
		size_t len = 0;
		if (s->be->load(m, s->ctx, names[i], &text, &len) ==
			    JAUTH_SUCCESS &&
		    text) {
			cJSON *row = cJSON_CreateObject();
			cJSON_AddStringToObject(row, "name", names[i]);
			cJSON_AddBoolToObject(row, "sealed",
					      record_sealed(text));
			cJSON_AddItemToArray(arr, row);
			explicit_bzero(text, len);
			free(text);
		}
		free(names[i]);
	}
	free(names);
}

static void sealed_lines(struct run *r, struct store_rekey *s, struct stack *st,
			 cJSON *arr)
{
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i];
		if (ln->sub) {
			sealed_lines(r, s, ln->sub, arr);
			continue;
		}
		ln->m->run = r;
		sealed_rows(ln->m, s, arr);
		ln->m->run = NULL;
	}
}

cJSON *seal_status(struct jauth *h, struct stack *st, int busy)
{
	struct store *s = st->store ? st->store : h->store;
	struct store_rekey k = { store_backend_of(s), NULL, store_seal_of(s) };
	k.ctx = store_ctx(s, k.be);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "key", k.seal != NULL);
	if (busy)
		return o; /* a refresh holds the store: no records now */
	struct run r = { .h = h, .op = OP_OTHER };
	cJSON *arr = cJSON_AddArrayToObject(o, "records");
	sealed_lines(&r, &k, st, arr);
	run_clear(&r);
	return o;
}
