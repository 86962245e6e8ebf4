/*
 * admin.c — the calls an admin makes through a handle: revoke, OAuth
 * consent, status. Each holds run_mu (modules are called one at a time) and
 * a reference on the stack in force.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Takes a reference on the live stack and its run_mu. */
struct stack *admin_begin(struct jauth *h)
{
	struct stack *st = stack_for_call(h);
	pthread_mutex_lock(&st->run_mu);
	return st;
}

/* Drops run_mu and the reference; DROP_CRED makes the next acquire run the
 * stack again at once (the grant changed). */
void admin_end(struct jauth *h, struct stack *st, int drop_cred)
{
	pthread_mutex_lock(&h->mu);
	if (drop_cred && h->cur) {
		cred_unref(h->cur);
		h->cur = NULL;
		atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
	}
	if (drop_cred)
		backoff_reset(h);
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_unlock(&st->run_mu);
	stack_put(h, st);
}

/* Revokes every line of ST, substacks included; the first failure is the
 * result, but every line gets its turn. */
static jauth_result revoke_all(struct stack *st, struct run *r, char **msg)
{
	jauth_result worst = JAUTH_SUCCESS, rc;
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i];
		if (ln->sub) {
			rc = revoke_all(ln->sub, r, msg);
		} else {
			rc = m_call(ln->m, r);
			if (rc != JAUTH_SUCCESS && !*msg)
				*msg = xasprintf("%s: %s", ln->source, r->msg);
			wipe_free(r->msg);
			r->msg = NULL;
		}
		if (worst == JAUTH_SUCCESS)
			worst = rc;
	}
	return worst;
}

jauth_result jauth_revoke(jauth *h, char **steps)
{
	if (steps)
		*steps = NULL;
	if (!h)
		return JAUTH_ERROR;
	if (h->dead)
		return JAUTH_CONFIG;
	struct stack *st = admin_begin(h);
	struct run r = { .h = h, .op = OP_REVOKE };
	char *msg = NULL;
	jauth_result rc = revoke_all(st, &r, &msg);
	if (rc == JAUTH_ERROR && r.config)
		rc = JAUTH_CONFIG;
	admin_end(h, st, 1);
	if (rc != JAUTH_SUCCESS)
		handle_set_error(h, msg);
	wipe_free(msg);
	if (steps)
		*steps = buf_take(&r.say);
	run_clear(&r);
	return rc;
}

/* The first line, depth first, whose module has a consent step. */
static struct line *consent_line(struct stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i], *in;
		if (ln->sub && (in = consent_line(ln->sub)))
			return in;
		if (!ln->sub && ln->m->ops->authorize_begin &&
		    ln->m->ops->authorize_finish)
			return ln;
	}
	return NULL;
}

/* Runs the consent step BEGIN (or finish with CALLBACK) of the stack. */
static jauth_result consent(struct jauth *h, const char *callback, char **out)
{
	if (!handle_and_out(h, out, "jauth_authorize_begin", "the URL",
			    "&url"))
		return JAUTH_ERROR;
	*out = NULL;
	if (h->dead)
		return JAUTH_CONFIG;
	struct stack *st = admin_begin(h);
	struct line *ln = consent_line(st);
	struct run r = { .h = h, .op = OP_OTHER };
	jauth_result rc = JAUTH_CONFIG;
	if (!ln) {
		r.msg = xasprintf(
			"no line of %s has a consent step (oauth3lo.so "
			"has one)",
			st->file);
	} else {
		ln->m->run = &r;
		rc = callback
			     ? ln->m->ops->authorize_finish(ln->m, ln->m->state,
							    callback)
			     : ln->m->ops->authorize_begin(ln->m, ln->m->state,
							   out);
		ln->m->run = NULL;
	}
	if (rc == JAUTH_ERROR && r.config)
		rc = JAUTH_CONFIG;
	admin_end(h, st, callback && rc == JAUTH_SUCCESS);
	if (rc != JAUTH_SUCCESS) {
		char *msg = ln ? xasprintf("%s: %s", ln->source,
					   r.msg ? r.msg : "consent failed")
			       : xstrdup(r.msg);
		handle_set_error(h, msg);
		wipe_free(msg);
		free(*out);
		*out = NULL;
	} else if (callback) {
		*out = buf_take(&r.say);
	}
	run_clear(&r);
	return rc;
}

jauth_result jauth_authorize_begin(jauth *h, char **url)
{
	return consent(h, NULL, url);
}

jauth_result jauth_authorize_finish(jauth *h, const char *callback,
				    char **report)
{
	char *text = NULL;
	jauth_result rc = consent(h, callback ? callback : "", &text);
	if (report)
		*report = text;
	else
		free(text);
	return rc;
}

/* The arguments of LN with secret values shown only by their reference. */
static cJSON *args_json(struct line *ln)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < ln->nargs; i++) {
		const struct arg *a = &ln->args[i];
		int secret = 0;
		for (const struct jauth_arg_spec *s = ln->m ? ln->m->spec
							    : NULL;
		     s && s->key; s++)
			if (strcmp(s->key, a->key) == 0)
				secret = s->type == JAUTH_ARG_SECRET;
		cJSON_AddStringToObject(o, a->key,
					secret && a->value[0] != '@'
						? "(inline secret)"
						: a->value);
	}
	return o;
}

static cJSON *lines_json(struct stack *st, int busy);

/* LN with its module's status, unless BUSY: a call into the stack is
 * running (a slow refresh) and status does not wait for it. */
static cJSON *line_json(struct line *ln, int busy)
{
	char abi[16];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "source", ln->source);
	cJSON_AddStringToObject(o, "control", ln->ctl.text);
	if (ln->sub) {
		cJSON_AddStringToObject(o, "substack", ln->modname);
		cJSON_AddItemToObject(o, "lines", lines_json(ln->sub, busy));
		return o;
	}
	cJSON_AddStringToObject(o, "module", ln->modname);
	cJSON_AddStringToObject(o, "path", ln->mod.path);
	cJSON_AddStringToObject(o, "version", ln->mod.ops->version);
	cJSON_AddStringToObject(o, "abi",
				abi_text(ln->mod.ops->abi, abi, sizeof abi));
	cJSON_AddItemToObject(o, "args", args_json(ln));
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	if (busy)
		cJSON_AddStringToObject(status, "note",
					"a refresh is running; run status "
					"again for the module's own fields");
	else
		m_status(ln->m, status);
	return o;
}

static cJSON *lines_json(struct stack *st, int busy)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < st->n; i++)
		cJSON_AddItemToArray(a, line_json(st->lines[i], busy));
	return a;
}

/* The backoff after failed rounds (acquire.c): how many in a row, and
 * when the next may run. Under h->mu. */
static void backoff_json(struct jauth *h, cJSON *o)
{
	cJSON_AddNumberToObject(o, "failures", h->failures);
	if (h->failures)
		cJSON_AddNumberToObject(o, "retry_at", (double)h->retry_at);
	else
		cJSON_AddNullToObject(o, "retry_at");
	if (h->failures && h->round_msg)
		cJSON_AddStringToObject(o, "last_failure", h->round_msg);
}

/* The credential in force, or null. Under h->mu. */
static cJSON *active_json(struct jauth *h)
{
	struct jauth_cred *c = h->cur;
	if (!c)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "source", c->source);
	cJSON_AddStringToObject(o, "module", c->module);
	cJSON_AddStringToObject(o, "scheme", c->scheme);
	cJSON_AddStringToObject(o, "base_url", c->base_url);
	cJSON_AddNumberToObject(o, "expires_at", (double)c->expires_at);
	return o;
}

/* What status says of a handle whose stack could not be loaded: the
 * reason, and what a running connector keeps in force if it refused the
 * same file (reload.c). */
static cJSON *dead_json(struct jauth *h)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "service", h->service);
	cJSON_AddStringToObject(o, "state_dir", h->state_dir);
	cJSON_AddNumberToObject(o, "now", (double)handle_now(h));
	cJSON_AddStringToObject(o, "error", jauth_error(h));
	cJSON *other = reload_note_read(h);
	if (other)
		cJSON_AddItemToObject(o, "reload_error_reported", other);
	else
		cJSON_AddNullToObject(o, "reload_error_reported");
	return o;
}

static jauth_result status_text(struct jauth *h, cJSON *o, char **json)
{
	json_clean(o);
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	*json = text ? redact_doc(&h->red, text) : NULL;
	free(text);
	return *json ? JAUTH_SUCCESS : JAUTH_ERROR;
}

jauth_result jauth_status(jauth *h, char **json)
{
	if (!handle_and_out(h, json, "jauth_status", "the document",
			    "&json"))
		return JAUTH_ERROR;
	*json = NULL;
	if (h->dead) {
		status_text(h, dead_json(h), json);
		return JAUTH_CONFIG;
	}
	struct stack *st = stack_for_call(h); /* or its reload_error */
	int busy = pthread_mutex_trylock(&st->run_mu) != 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "service", h->service);
	cJSON_AddStringToObject(o, "file", st->file);
	cJSON_AddStringToObject(o, "state_dir", h->state_dir);
	cJSON_AddNumberToObject(o, "now", (double)handle_now(h));
	cJSON_AddItemToObject(o, "lines", lines_json(st, busy));
	cJSON *store = store_status(h, st, busy);
	cJSON_AddItemToObject(store, "encryption", seal_status(h, st, busy));
	cJSON_AddItemToObject(o, "store", store);
	if (!busy)
		pthread_mutex_unlock(&st->run_mu);
	stack_put(h, st);
	pthread_mutex_lock(&h->mu);
	cJSON_AddItemToObject(o, "active", active_json(h));
	backoff_json(h, o);
	if (h->reload_error)
		cJSON_AddStringToObject(o, "reload_error", h->reload_error);
	else
		cJSON_AddNullToObject(o, "reload_error");
	pthread_mutex_unlock(&h->mu);
	cJSON *other = reload_note_read(h);
	if (other)
		cJSON_AddItemToObject(o, "reload_error_reported", other);
	return status_text(h, o, json);
}
