/*
 * m.c — the module instance: opening and closing it, calling it, and the
 * services a call uses to report back (credential, failure, admin text,
 * log, clock).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void run_clear(struct run *r)
{
	wipe_free(r->msg);
	r->msg = NULL;
	buf_wipe(&r->say);
}

int m_open(struct jauth *h, struct line *ln, struct problems *p)
{
	struct jauth_m *m = xcalloc(1, sizeof *m);
	m->h = h;
	m->line = ln;
	m->ops = ln->mod.ops;
	m->minor = ln->mod.minor;
	m->store_prefix = xasprintf("%s.%s", h->service, m->ops->name);
	struct run r = { .h = h, .op = OP_OPEN, .problems = p };
	size_t before = p->n;
	m->run = &r;
	jauth_result rc = m->ops->open(m, &m->state);
	m->run = NULL;
	if (rc == JAUTH_SUCCESS && !m->spec && ln->nargs > 0) {
		problem(p, "%s: %s takes no arguments: remove them", ln->source,
			ln->modname);
		rc = JAUTH_CONFIG;
	} else if (rc != JAUTH_SUCCESS && p->n == before) {
		problem(p, "%s: %s", ln->source,
			r.msg ? r.msg : "the module refused to open");
	}
	run_clear(&r);
	if (rc != JAUTH_SUCCESS) {
		if (m->state && m->ops->close)
			m->ops->close(m, m->state);
		m->state = NULL;
		m_close(m);
		return -1;
	}
	m->open = 1;
	ln->m = m;
	return 0;
}

void m_close(struct jauth_m *m)
{
	if (!m)
		return;
	if (m->open) {
		struct run r = { .h = m->h, .op = OP_OTHER };
		m->run = &r;
		m->ops->close(m, m->state);
		m->run = NULL;
		run_clear(&r);
	}
	http_close(m->curl);
	ca_cache_free(m->ca);
	free(m->store_prefix);
	free(m);
}

static jauth_result m_dispatch_op(struct jauth_m *m, enum op op)
{
	switch (op) {
	case OP_ACQUIRE:
		if (m->rejected) {
			m->rejected = 0;
			return m->ops->refresh(m, m->state);
		}
		return m->ops->acquire(m, m->state);
	case OP_REFRESH:
		return m->ops->refresh(m, m->state);
	case OP_REVOKE:
		return m->ops->revoke(m, m->state);
	default:
		return JAUTH_ERROR;
	}
}

jauth_result m_call(struct jauth_m *m, struct run *r)
{
	r->cred = NULL;
	r->msg = NULL;
	m->run = r;
	jauth_result rc = m_dispatch_op(m, r->op);
	m->run = NULL;
	const char *mod = m->line->modname;
	if (rc == JAUTH_CONFIG && r->msg) {
		r->config = 1;
		rc = JAUTH_ERROR;
	} else if ((unsigned)rc >= JAUTH_NRESULTS) {
		wipe_free(r->msg);
		r->msg = xasprintf("%s returned result %d, which is not one of "
				   "success, unavailable, denied, transient, "
				   "error",
				   mod, (int)rc);
		rc = JAUTH_ERROR;
	} else if (rc == JAUTH_SUCCESS && r->op != OP_REVOKE && !r->cred) {
		r->msg = xasprintf("%s returned success without a credential",
				   mod);
		rc = JAUTH_ERROR;
	}
	if (rc != JAUTH_SUCCESS && r->cred) {
		cred_free(r->cred);
		r->cred = NULL;
	}
	if (rc != JAUTH_SUCCESS && !r->msg)
		r->msg = xasprintf("%s: %s", mod, jauth_result_name(rc));
	secmem_scrub_registers();
	return rc;
}

void m_status(struct jauth_m *m, cJSON *out)
{
	if (m->minor < 1 || !m->ops->status)
		return;
	struct run r = { .h = m->h, .op = OP_OTHER };
	m->run = &r;
	if (m->ops->status(m, m->state, out) != JAUTH_SUCCESS && r.msg)
		cJSON_AddStringToObject(out, "error", r.msg);
	m->run = NULL;
	run_clear(&r);
}

void m_rejected(struct jauth_m *m, int http_status)
{
	if (m->minor < 1 || !m->ops->rejected) {
		m->rejected = 1;
		return;
	}
	struct run r = { .h = m->h, .op = OP_OTHER };
	m->run = &r;
	m->ops->rejected(m, m->state, http_status);
	m->run = NULL;
	run_clear(&r);
}

jauth_result jauth_m_credential(jauth_m *m, const struct jauth_m_cred *c)
{
	if (!m->run)
		return JAUTH_ERROR;
	if (!c->scheme || !*c->scheme || !c->token || !*c->token ||
	    !c->base_url || strchr(c->token, '\n') || strchr(c->token, '\r'))
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s published an incomplete credential",
				    m->line->modname);
	redactor_add(&m->h->red, c->token);
	if (m->run->cred)
		cred_free(m->run->cred);
	m->run->cred = cred_new(c, m->line->source, m->line->modname);
	m->run->cred->m = m;
	redactor_add(&m->h->red, m->run->cred->authorization);
	return JAUTH_SUCCESS;
}

/* FMT formatted, with every secret the handle knows masked (malloc'd). */
static char *masked(jauth_m *m, const char *fmt, va_list ap)
{
	char *raw = xvasprintf(fmt, ap);
	char *text = redact(&m->h->red, raw);
	wipe_free(raw);
	return text;
}

jauth_result jauth_m_fail(jauth_m *m, jauth_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = masked(m, fmt, ap);
	va_end(ap);
	if (m->run) {
		wipe_free(m->run->msg);
		m->run->msg = msg;
	} else {
		hlog(m->h, JAUTH_LOG_ERROR, "%s: %s", m->line->source, msg);
		free(msg);
	}
	return r;
}

jauth_result jauth_m_fail_append(jauth_m *m, jauth_result r, const char *fmt,
				 ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = masked(m, fmt, ap);
	va_end(ap);
	const char *msg = m->run ? m->run->msg : NULL;
	if (!msg || !*msg) {
		jauth_m_fail(m, r, "%s", text);
		free(text);
		return r;
	}
	char *both = xasprintf("%s: %s", msg, text);
	free(text);
	wipe_free(m->run->msg);
	m->run->msg = both;
	return r;
}

jauth_result jauth_m_status_warn(cJSON *out, const char *fmt, ...)
{
	cJSON *w = cJSON_GetObjectItemCaseSensitive(out, "warnings");
	if (!cJSON_IsObject(out) || (w && !cJSON_IsArray(w)))
		return JAUTH_ERROR;
	if (!w && !(w = cJSON_AddArrayToObject(out, "warnings")))
		return JAUTH_ERROR;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	cJSON *s = cJSON_CreateString(text);
	free(text);
	if (!s)
		return JAUTH_ERROR;
	cJSON_AddItemToArray(w, s);
	return JAUTH_SUCCESS;
}

void jauth_m_say(jauth_m *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = masked(m, fmt, ap);
	va_end(ap);
	if (m->run) {
		buf_puts(&m->run->say, text);
		buf_puts(&m->run->say, "\n");
	}
	free(text);
}

void jauth_m_log(jauth_m *m, int level, const char *fmt, ...)
{
	va_list ap;
	if (level > (m->h ? m->h->log_level : JAUTH_LOG_WARN))
		return; /* not even formatted: a refresh says several */
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	hlog(m->h, level, "%s: %s", m->line->source, msg);
	wipe_free(msg);
}

void jauth_m_redact(jauth_m *m, const char *s)
{
	redactor_add(&m->h->red, s);
}

time_t jauth_m_now(jauth_m *m)
{
	return handle_now(m->h);
}

const char *jauth_m_service(jauth_m *m)
{
	return m->h->service;
}

const char *jauth_m_source(jauth_m *m)
{
	return m->line->source;
}

void jauth_m_wipe_free(char *s)
{
	wipe_free(s);
}
