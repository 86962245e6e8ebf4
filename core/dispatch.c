/*
 * dispatch.c — runs a stack with PAM's semantics (DESIGN §3): each line's
 * result picks an action; the first remembered failure wins; done and die
 * stop early; a stack that remembers nothing fails unavailable.
 */
#include <stdlib.h>

#include "internal.h"

/* What a run of one stack remembers. */
struct verdict {
	struct jauth_cred *cred; /* the first credential kept (ok/done) */
	int failed;
	jauth_result fail; /* the first failure kept (bad/die) */
	char *fail_msg;
};

static void remember_failure(struct verdict *v, jauth_result rc, char **msg)
{
	if (v->failed)
		return;
	v->failed = 1;
	v->fail = rc == JAUTH_SUCCESS ? JAUTH_DENIED : rc;
	v->fail_msg = *msg;
	*msg = NULL;
}

static void remember_cred(struct verdict *v, struct jauth_cred **c)
{
	if (v->cred || !*c)
		return;
	v->cred = *c;
	*c = NULL;
}

/* Runs line LN: its module, or its substack. */
static jauth_result run_line(struct line *ln, struct run *r)
{
	if (ln->sub)
		return dispatch(ln->sub, r);
	return m_call(ln->m, r);
}

/* Applies LN's action for RC; returns 1 when the stack stops here. */
static int apply(struct line *ln, jauth_result rc, struct run *r,
		 struct verdict *v)
{
	enum action a = (enum action)ln->ctl.act[rc];
	switch (a) {
	case ACT_OK:
	case ACT_DONE:
		if (rc == JAUTH_SUCCESS)
			remember_cred(v, &r->cred);
		else
			remember_failure(v, rc, &r->msg);
		return a == ACT_DONE;
	case ACT_BAD:
	case ACT_DIE:
		if (rc == JAUTH_SUCCESS)
			r->msg = xasprintf("%s: success treated as a failure "
					   "by the control %s",
					   ln->source, ln->ctl.text);
		remember_failure(v, rc, &r->msg);
		return a == ACT_DIE;
	default:
		return 0;
	}
}

/* Prefixes a module's failure message with its line, once. */
static void locate(struct line *ln, struct run *r)
{
	if (!r->msg || ln->sub)
		return;
	char *m = xasprintf("%s: %s", ln->source, r->msg);
	wipe_free(r->msg);
	r->msg = m;
}

jauth_result dispatch(struct stack *st, struct run *r)
{
	struct verdict v = { 0 };
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i];
		jauth_result rc = run_line(ln, r);
		locate(ln, r);
		if (rc != JAUTH_SUCCESS)
			hlog(r->h, JAUTH_LOG_INFO, "%s", r->msg);
		else if (!ln->sub)
			hlog(r->h, JAUTH_LOG_DEBUG, "%s (%s): success",
			     ln->source, ln->modname);
		int stop = apply(ln, rc, r, &v);
		cred_free(r->cred);
		r->cred = NULL;
		wipe_free(r->msg);
		r->msg = NULL;
		if (stop)
			break;
	}
	if (v.failed) {
		cred_free(v.cred);
		r->msg = v.fail_msg;
		return v.fail;
	}
	if (v.cred) {
		r->cred = v.cred;
		return JAUTH_SUCCESS;
	}
	r->msg = xasprintf("%s: no line of the stack produced a credential",
			   st->file ? st->file : st->service);
	return JAUTH_UNAVAILABLE;
}
