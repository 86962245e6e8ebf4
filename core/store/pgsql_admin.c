/*
 * pgsql_admin.c — what an admin does with the shared store: create its
 * schema (jauth store init), move a host's file-store records into it
 * (jauth store copy), and see it (jauth status).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pgsql_schema.h" /* PGSQL_SCHEMA: core/store/pgsql.sql */
#include "store.h"

/* The first module instance of ST, depth first: the context in which the
 * store's password is resolved and its messages are made. */
static jauth_m *first_m(struct stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i];
		jauth_m *m = ln->sub ? first_m(ln->sub) : ln->m;
		if (m)
			return m;
	}
	return NULL;
}

/* Runs an admin call F on the store of H's stack with a module's context,
 * so that jauth_m_fail and jauth_m_say collect into one report. */
static jauth_result with_store(jauth *h, char **report,
			       jauth_result (*f)(jauth_m *m, void *pg,
						 struct stack *st))
{
	if (report)
		*report = NULL;
	if (!h)
		return JAUTH_ERROR;
	if (h->dead)
		return JAUTH_CONFIG;
	struct stack *st = admin_begin(h);
	jauth_m *m = first_m(st);
	struct run r = { .h = h, .op = OP_OTHER };
	jauth_result rc = JAUTH_CONFIG;
	void *pg = store_ctx(st->store, &store_pgsql);
	if (!pg || !m) {
		r.msg = xasprintf("%s keeps its records in files (the state "
				  "directory %s): add a \"store pgsql …\" line "
				  "to %s first (see jauth.conf(5))",
				  h->service, h->state_dir, st->file);
	} else {
		m->run = &r;
		rc = f(m, pg, st);
		m->run = NULL;
	}
	admin_end(h, st, rc == JAUTH_SUCCESS);
	if (rc != JAUTH_SUCCESS)
		handle_set_error(h, r.msg ? r.msg : "the store failed");
	if (report)
		*report = buf_take(&r.say);
	run_clear(&r);
	return rc;
}

static jauth_result init_schema(jauth_m *m, void *c, struct stack *st)
{
	(void)st;
	jauth_result rc = pgsql_init(m, c, PGSQL_SCHEMA);
	if (rc == JAUTH_SUCCESS)
		jauth_m_say(m, "the table jauth_record is ready in %s",
			    pgsql_where(c));
	return rc;
}

jauth_result jauth_store_init(jauth *h, char **report)
{
	return with_store(h, report, init_schema);
}

/*
 * Turns the file record NAME's TEXT into what the shared store is to hold:
 * opened with the store line's key= or key_old= (or taken in clear), then
 * sealed under key= when the line has one. So a grant moves between stores
 * with different keys, the file store's key given as key_old=, and a clear
 * file record comes out sealed. SL NULL: the shared store keeps records in
 * clear (a sealed file record is then a configuration error).
 */
static jauth_result reseal(jauth_m *m, struct seal *sl, const char *name,
			   char **text, size_t *len)
{
	char *sealed;
	size_t slen;
	jauth_result rc = unseal_record(m, sl, name, 1, text, len);
	if (rc != JAUTH_SUCCESS || !sl)
		return rc;
	rc = seal_record(m, sl, name, *text, *len, &sealed, &slen);
	if (rc != JAUTH_SUCCESS)
		return rc;
	explicit_bzero(*text, *len);
	free(*text);
	*text = sealed;
	*len = slen;
	return JAUTH_SUCCESS;
}

/* Moves record NAME of M from the handle's file store into the shared
 * store PG (sealing SL, or NULL) under both stores' locks; the file goes
 * only once the copy is committed. */
static jauth_result copy_one(jauth_m *m, void *pg, struct seal *sl,
			     const char *name)
{
	void *files = store_ctx(m->h->store, &store_files);
	struct store_lock *flk = NULL, *plk = NULL;
	char *text = NULL, *have = NULL;
	size_t len = 0, hlen = 0;
	jauth_result rc = store_files.lock(m, files, name, &flk, &text, &len);
	if (rc != JAUTH_SUCCESS || !text)
		goto done; /* gone meanwhile: moved by another copy */
	if ((rc = reseal(m, sl, name, &text, &len)) != JAUTH_SUCCESS)
		goto done; /* a key problem: the file stays as it is */
	rc = store_pgsql.lock(m, pg, name, &plk, &have, &hlen);
	if (rc == JAUTH_SUCCESS && have) {
		rc = jauth_m_fail(m, JAUTH_ERROR,
				  "%s already holds %s: it is not "
				  "overwritten by the file store's copy "
				  "(remove that file if the shared record is "
				  "the one in use)",
				  pgsql_where(pg), name);
	} else if (rc == JAUTH_SUCCESS &&
		   (rc = store_pgsql.commit(m, plk, text, len)) ==
			   JAUTH_SUCCESS &&
		   (rc = store_files.remove(m, flk)) == JAUTH_SUCCESS) {
		char *where = store_files.where(files, name);
		jauth_m_say(m, "moved %s to %s; removed %s", name,
			    pgsql_where(pg), where);
		free(where);
	}
done:
	store_pgsql.unlock(plk);
	store_files.unlock(flk);
	if (text)
		jauth_m_wipe_free(text);
	if (have)
		jauth_m_wipe_free(have);
	return rc;
}

/* The key of file NAME if it is a record of prefix PRE ("PRE.KEY.json",
 * not a cache), else NULL (malloc'd). */
static char *record_key(const char *name, const char *pre)
{
	size_t n = strlen(name), p = strlen(pre);
	if (n <= p + 6 || strncmp(name, pre, p) != 0 || name[p] != '.' ||
	    strcmp(name + n - 5, ".json") != 0 ||
	    (n > 11 && strcmp(name + n - 11, ".cache.json") == 0))
		return NULL;
	return xstrndup(name + p + 1, n - p - 6);
}

/* Copies every file record of M (the file store's names: the state
 * directory's "SERVICE.MODULE.KEY.json"). */
static jauth_result copy_module(jauth_m *m, void *pg, struct seal *sl,
				int *moved)
{
	DIR *d = opendir(m->h->state_dir);
	jauth_result rc = JAUTH_SUCCESS;
	struct dirent *e;
	if (!d)
		return errno == ENOENT
			       ? JAUTH_SUCCESS
			       : jauth_m_fail(m, JAUTH_ERROR,
					      "state directory %s: %s",
					      m->h->state_dir, strerror(errno));
	while (rc == JAUTH_SUCCESS && (e = readdir(d))) {
		char *key = record_key(e->d_name, m->store_prefix);
		char *name =
			key ? xasprintf("%s.%s", m->store_prefix, key) : NULL;
		if (name && (rc = copy_one(m, pg, sl, name)) == JAUTH_SUCCESS)
			++*moved;
		free(name);
		free(key);
	}
	closedir(d);
	return rc;
}

/* Copies the records of every module line of ST, substacks included. */
static jauth_result copy_lines(jauth_m *first, void *c, struct seal *sl,
			       struct stack *st, int *moved)
{
	jauth_result rc = JAUTH_SUCCESS;
	for (size_t i = 0; i < st->n && rc == JAUTH_SUCCESS; i++) {
		struct line *ln = st->lines[i];
		if (ln->sub) {
			rc = copy_lines(first, c, sl, ln->sub, moved);
			continue;
		}
		ln->m->run = first->run;
		rc = copy_module(ln->m, c, sl, moved);
		if (ln->m != first)
			ln->m->run = NULL;
	}
	return rc;
}

static jauth_result copy_stack(jauth_m *first, void *c, struct stack *st)
{
	int moved = 0;
	jauth_result rc =
		copy_lines(first, c, store_seal_of(st->store), st, &moved);
	if (rc == JAUTH_SUCCESS && moved == 0)
		jauth_m_say(first, "no record of %s in %s: nothing to copy",
			    first->h->service, first->h->state_dir);
	return rc;
}

jauth_result jauth_store_copy(jauth *h, char **report)
{
	return with_store(h, report, copy_stack);
}

cJSON *store_status(struct jauth *h, struct stack *st, int busy)
{
	cJSON *o = cJSON_CreateObject();
	jauth_m *m = first_m(st);
	void *pg = store_ctx(st->store, &store_pgsql);
	if (!pg) {
		cJSON_AddStringToObject(o, "backend", "files");
		cJSON_AddStringToObject(o, "dir", h->state_dir);
		return o;
	}
	cJSON_AddStringToObject(o, "backend", "pgsql");
	cJSON_AddStringToObject(o, "where", pgsql_where(pg));
	struct run r = { .h = h, .op = OP_OTHER };
	cJSON *records = NULL;
	if (busy) {
		run_clear(&r);
		return o; /* a refresh holds the session: no records now */
	}
	if (m) {
		m->run = &r;
		pgsql_records(m, pg, &records);
		m->run = NULL;
	}
	if (records)
		cJSON_AddItemToObject(o, "records", records);
	else
		cJSON_AddStringToObject(o, "error",
					r.msg ? r.msg : "no module line");
	run_clear(&r);
	return o;
}
