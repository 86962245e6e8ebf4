/*
 * dispatch.c — runs a stack with Linux-PAM's semantics (DESIGN §3, the
 * walk of Linux-PAM 1.5's _pam_dispatch_aux): a state of "undecided",
 * "positive" or "negative" with a result, which each line's action moves.
 *
 *   ok, done   undecided or positive-success: becomes positive with this
 *              result (a failure too); done then stops if positive
 *   bad, die   unless already negative: becomes negative with this result;
 *              die then stops
 *   ignore     nothing;  reset: back to the state at the start of the level
 *   N          skip the next N lines of this level (a substack is one)
 *
 * A bare substack shares its caller's state, and done, die and jumps in it
 * act within it only. The stack fails unless it ends positive-success.
 */
#include <stdlib.h>

#include "internal.h"

enum impression { UNDECIDED, POSITIVE, NEGATIVE };

/* The state of a run; it owns CRED and MSG. */
struct verdict {
	enum impression imp;
	jauth_result status;	 /* when decided */
	struct jauth_cred *cred; /* the first credential kept by ok/done */
	char *msg;		 /* the failure's message, when status is one */
};

/* Copies V for a later reset: the message is copied, the credential is
 * borrowed (a run only ever adds one to a state that had none). */
static void snapshot(const struct verdict *v, struct verdict *s)
{
	*s = *v;
	s->msg = v->msg ? xstrdup(v->msg) : NULL;
}

static void restore(struct verdict *v, const struct verdict *s)
{
	if (v->cred != s->cred)
		cred_free(v->cred);
	wipe_free(v->msg);
	*v = *s;
	v->msg = s->msg ? xstrdup(s->msg) : NULL;
}

/* Sets V's result to RC, taking the line's credential or message. */
static void take(struct verdict *v, enum impression imp, jauth_result rc,
		 struct run *r)
{
	v->imp = imp;
	v->status = rc;
	if (rc == JAUTH_SUCCESS) {
		if (!v->cred) {
			v->cred = r->cred;
			r->cred = NULL;
		}
		return;
	}
	wipe_free(v->msg);
	v->msg = r->msg;
	r->msg = NULL;
}

static void run_level(struct stack *st, struct run *r, struct verdict *v);

/* Runs LN, a module or a substack with a control. Returns its result, or
 * -1 for a substack that decided nothing (which counts as ignored). */
static int run_line(struct line *ln, struct run *r)
{
	if (!ln->sub)
		return m_call(ln->m, r);
	struct verdict sub = { 0 };
	run_level(ln->sub, r, &sub);
	r->cred = sub.cred;
	r->msg = sub.msg;
	return sub.imp == UNDECIDED ? -1 : (int)sub.status;
}

/* Applies LN's action for RC to V; returns the lines to skip, or -1 when
 * the level stops here. */
static int apply(struct line *ln, jauth_result rc, struct run *r,
		 struct verdict *v, const struct verdict *start)
{
	enum action a = (enum action)ln->ctl.act[rc];
	switch (a) {
	case ACT_OK:
	case ACT_DONE:
		if (v->imp == UNDECIDED ||
		    (v->imp == POSITIVE && v->status == JAUTH_SUCCESS))
			take(v, POSITIVE, rc, r);
		return a == ACT_DONE && v->imp == POSITIVE ? -1 : 0;
	case ACT_BAD:
	case ACT_DIE:
		if (v->imp != NEGATIVE) {
			if (rc == JAUTH_SUCCESS)
				r->msg = xasprintf("%s: success treated as a "
						   "failure by the control %s: "
						   "name success=ok (or done) "
						   "to keep its credential",
						   ln->source, ln->ctl.text);
			take(v, NEGATIVE,
			     rc == JAUTH_SUCCESS ? JAUTH_DENIED : rc, r);
		}
		return a == ACT_DIE ? -1 : 0;
	case ACT_RESET:
		restore(v, start);
		return 0;
	case ACT_JUMP:
		return ln->ctl.jump[rc];
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

static void note(struct line *ln, int rc, struct run *r)
{
	if (rc != JAUTH_SUCCESS && r->msg)
		hlog(r->h, JAUTH_LOG_INFO, "%s", r->msg);
	else if (!ln->sub)
		hlog(r->h, JAUTH_LOG_DEBUG, "%s (%s): success", ln->source,
		     ln->modname);
}

/* Runs the lines of one level on V, until its end or a stop. */
static void run_level(struct stack *st, struct run *r, struct verdict *v)
{
	struct verdict start;
	snapshot(v, &start);
	int stopped = 0;
	for (size_t i = 0; i < st->n && !stopped; i++) {
		struct line *ln = st->lines[i];
		if (ln->ctl.bare) {
			run_level(ln->sub, r, v);
			continue;
		}
		int rc = run_line(ln, r);
		locate(ln, r);
		note(ln, rc, r);
		int skip =
			rc < 0 ? 0 : apply(ln, (jauth_result)rc, r, v, &start);
		cred_free(r->cred);
		r->cred = NULL;
		wipe_free(r->msg);
		r->msg = NULL;
		if (skip < 0)
			stopped = 1;
		else
			i += (size_t)skip;
	}
	wipe_free(start.msg);
}

jauth_result dispatch(struct stack *st, struct run *r)
{
	struct verdict v = { 0 };
	run_level(st, r, &v);
	if (v.imp == UNDECIDED) {
		r->msg = xasprintf("%s: no line of the stack decided (each "
				   "result was ignored, jumped over or reset): "
				   "give a line a control that keeps its "
				   "result, such as required",
				   st->file ? st->file : st->service);
		return JAUTH_UNAVAILABLE;
	}
	if (v.status != JAUTH_SUCCESS) {
		cred_free(v.cred);
		r->msg = v.msg;
		return v.status;
	}
	wipe_free(v.msg);
	r->cred = v.cred;
	return JAUTH_SUCCESS;
}
