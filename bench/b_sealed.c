/*
 * b_sealed.c — records sealed at rest (jauth.conf(5), ENCRYPTION AT
 * REST): one refresh and the cached acquire on a file store with a key,
 * beside the same on a file store in clear, in the same run. Sealing
 * happens where a record is read or written, never on the cached path.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define REFRESHES 21
#define CACHED_CALLS 2000000
#define SERVICE_SEALED "sealed"
#define SERVICE_CLEAR "clear"

static jauth *consented(struct env *e, const char *service, struct standin *si,
			char *err, size_t n)
{
	jauth *h = NULL;
	if (jauth_open(service, &e->opt, &h) != JAUTH_SUCCESS) {
		snprintf(err, n, "jauth_open %s: %s", service, jauth_error(h));
		jauth_close(h);
		return NULL;
	}
	if (oauth_consent(h, si, err, n) < 0) {
		jauth_close(h);
		return NULL;
	}
	return h;
}

static int stacks(struct env *e, struct standin *si)
{
	char key[PATH_MAX + 32];
	snprintf(key, sizeof key, "%s/store-key", e->root);
	return write_file(key, 0600, "q3Jt0cY5m1P8wzR6aLk2XvB9nE4sHdUf\n") <
				       0 ||
			       env_stack(e, SERVICE_SEALED,
					 "store files key=@file:%s\n%s\n", key,
					 oauth_line(si)) < 0 ||
			       env_stack(e, SERVICE_CLEAR, "%s\n",
					 oauth_line(si)) < 0
		       ? -1
		       : 0;
}

static void report(struct row *r, double rs, double rc, double cs, double cc)
{
	char a[32], b[32];
	struct line *l = row_line(r, "one refresh, sealed store");
	snprintf(l->jauth, sizeof l->jauth, "%s", fmt_time(rs, a, sizeof a));
	snprintf(l->baseline, sizeof l->baseline, "store in clear %s",
		 fmt_time(rc, b, sizeof b));
	snprintf(l->result, sizeof l->result, "%.2fx in clear", rs / rc);
	l->v = V_INFO; /* HTTPS and fsync dominate: a ratio, not a target */
	l = row_line(r, "cached acquire, sealed store");
	snprintf(l->jauth, sizeof l->jauth, "%s", fmt_time(cs, a, sizeof a));
	snprintf(l->baseline, sizeof l->baseline, "store in clear %s",
		 fmt_time(cc, b, sizeof b));
	snprintf(l->target, sizeof l->target, "same (<= 1.2x)");
	verdict_le(l, cs / cc, 1.2, "x");
	text_printf(
		&r->para,
		" Two services on the file store of one temp tree, one "
		"with `store files key=@file:…` (AES-256-GCM in seal.so), "
		"the other in clear, consented once each through the "
		"stand-in. One refresh is the median of %d forced "
		"jauth_refresh calls on a warm handle (a sealed refresh "
		"opens the record, seals the intent mark and the new "
		"record); the cached acquire is the best of 5 runs of %d calls on one "
		"thread, the two stores taking turns.",
		REFRESHES, CACHED_CALLS);
}

void bench_sealed(struct row *r)
{
	struct standin *si = standin();
	struct env e;
	char err[1024] = "the stacks";
	jauth *hs = NULL, *hc = NULL;
	r->title = "Records sealed at rest";
	if (!si || env_new(&e, "sealed") < 0) {
		row_fail(r, "the stand-in or the temp tree did not start");
		return;
	}
	setenv(ENV_CLIENT_SECRET, CLIENT_SECRET, 1);
	if (stacks(&e, si) < 0 ||
	    !(hs = consented(&e, SERVICE_SEALED, si, err, sizeof err)) ||
	    !(hc = consented(&e, SERVICE_CLEAR, si, err, sizeof err))) {
		row_fail(r, "set-up: %s", err);
		goto out;
	}
	double ts[REFRESHES], tc[REFRESHES]; /* interleaved: same noise */
	for (int i = 0; i < REFRESHES; i++) {
		ts[i] = refresh_median(hs, 1);
		tc[i] = refresh_median(hc, 1);
	}
	double rs = median(ts, REFRESHES), rc = median(tc, REFRESHES);
	double cs = -1, cc = -1; /* the best of 5 runs each, interleaved */
	for (int i = 0; i < 5; i++) {
		double s = cached_ns(hs, CACHED_CALLS),
		       c = cached_ns(hc, CACHED_CALLS);
		cs = cs < 0 || s < cs ? s : cs;
		cc = cc < 0 || c < cc ? c : cc;
	}
	if (rs < 0 || rc < 0 || cs < 0 || cc < 0) {
		row_fail(r, "a refresh or acquire failed");
		goto out;
	}
	report(r, rs, rc, cs, cc);
out:
	jauth_close(hs);
	jauth_close(hc);
}
