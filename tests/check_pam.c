/*
 * check_pam.c — the differential test of DESIGN §3: seeded random stacks
 * (flat; with include and substack; with jumps and reset) run through the
 * installed Linux-PAM (pam_start_confdir + pam_authenticate, with the test
 * module tests/pam/pam_pick.c) and through jauth (with testmod.so). The
 * final result, under the mapping of §3, and the lines run, in order, must
 * agree, except for the deviations of jauth.conf(5), named below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "fixture.h"
#include "pam_noconv.h"
#include "suites.h"

#define PAM_PICK JAUTH_TEST_BUILDDIR "/tests/pam/pam_pick.so"
#define STACKS_PER_RUN 300
#define RUNS 4 /* loop iterations per flavour: 1 200 stacks each */

static const char *const results[] = { "success", "unavailable", "denied",
				       "transient", "error" };
static const int pam_codes[] = { PAM_SUCCESS, PAM_AUTHINFO_UNAVAIL,
				 PAM_AUTH_ERR, PAM_TRY_AGAIN, PAM_SYSTEM_ERR };

/* ---- the generator: a small PRNG of our own, so a seed means the same
 * stacks everywhere ---- */

static uint64_t rng;

static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

enum flavour { FLAT, NESTED, JUMPS };
enum kind { MODULE, INCLUDE, SUBSTACK };

struct gline {
	enum kind kind;
	int file;   /* include/substack: the file it names */
	int id;	    /* module: which line it is */
	int result; /* module: what it returns */
	int word;   /* module: a keyword control, or -1 for a bracket */
	int npairs; /* the bracket's result=action pairs, in order */
	struct {
		int key; /* a result, or 5 for default */
		char act[16];
	} pair[6];
};

struct gfile {
	struct gline l[5];
	int n;
};

struct gen {
	enum flavour fl;
	struct gfile f[24];
	int nf, ids;
	int overjump; /* a jump past the end of its level was written */
};

static int gen_file(struct gen *g, int depth)
{
	int me = g->nf++;
	struct gfile *f = &g->f[me];
	f->n = 1 + (int)pick(4);
	for (int i = 0; i < f->n; i++) {
		struct gline *l = &f->l[i];
		unsigned k = pick(100);
		if (g->fl != FLAT && depth < 3 && g->nf < 20 && k < 25) {
			l->kind = k < 12 ? INCLUDE : SUBSTACK;
			l->file = gen_file(g, depth + 1);
		} else {
			l->kind = MODULE;
			l->id = g->ids++;
			l->result = pick(10) < 4 ? 0 : 1 + (int)pick(4);
		}
	}
	return me;
}

/* An action for a bracket: jumps (at most MAXJ, or now and then one more)
 * and reset only in the JUMPS flavour. */
static void action(struct gen *g, int maxj, char *out, size_t n)
{
	static const char *const acts[] = { "ok", "done", "bad", "die",
					    "ignore" };
	unsigned k = pick(g->fl == JUMPS ? 8 : 5);
	if (k < 5)
		snprintf(out, n, "%s", acts[k]);
	else if (pick(60) == 0)
		g->overjump = snprintf(out, n, "%d", maxj + 1);
	else if (k == 5 || maxj == 0)
		snprintf(out, n, "reset");
	else
		snprintf(out, n, "%u", 1 + pick((unsigned)maxj));
}

/* A random control for L: a keyword, or a bracket naming results (and
 * default) in a random order. */
static void control(struct gen *g, int maxj, struct gline *l)
{
	l->word = pick(3) == 0 ? (int)pick(4) : -1;
	if (l->word >= 0)
		return;
	int order[6] = { 0, 1, 2, 3, 4, 5 };
	for (int i = 5; i > 0; i--) {
		int j = (int)pick((unsigned)i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < 6; i++) {
		if (pick(100) >= 35 && (l->npairs || i < 5))
			continue;
		l->pair[l->npairs].key = order[i];
		action(g, maxj, l->pair[l->npairs].act,
		       sizeof l->pair[l->npairs].act);
		l->npairs++;
	}
}

/* The control of L in jauth's words or, with PAM set, Linux-PAM's. */
static const char *control_text(const struct gline *l, int pam)
{
	static const char *const words[] = { "required", "requisite",
					     "sufficient", "optional" };
	static const char *const keys[2][6] = {
		{ "success", "unavailable", "denied", "transient", "error",
		  "default" },
		{ "success", "authinfo_unavail", "auth_err", "try_again",
		  "system_err", "default" },
	};
	static char b[256];
	if (l->word >= 0)
		return words[l->word];
	size_t len = (size_t)snprintf(b, sizeof b, "[");
	for (int i = 0; i < l->npairs; i++)
		len += (size_t)snprintf(b + len, sizeof b - len, "%s%s=%s",
					i ? " " : "", keys[pam][l->pair[i].key],
					l->pair[i].act);
	snprintf(b + len, sizeof b - len, "]");
	return b;
}

/* Counts the lines of FILE at its level (includes spliced, a substack as
 * one) into SLOTS, in order. */
static void level_slots(struct gen *g, int file, struct gline **slots, int *n)
{
	struct gfile *f = &g->f[file];
	for (int i = 0; i < f->n; i++) {
		if (f->l[i].kind == INCLUDE)
			level_slots(g, f->l[i].file, slots, n);
		else
			slots[(*n)++] = &f->l[i];
	}
}

/* Gives every module line of the level rooted at FILE a control whose
 * jumps stay inside the level; recurses into substacks. */
static void controls(struct gen *g, int file)
{
	struct gline *slots[128];
	int n = 0;
	level_slots(g, file, slots, &n);
	for (int i = 0; i < n; i++) {
		if (slots[i]->kind == SUBSTACK)
			controls(g, slots[i]->file);
		else
			control(g, n - 1 - i, slots[i]);
	}
}

static void generate(struct gen *g, enum flavour fl, uint64_t seed)
{
	memset(g, 0, sizeof *g);
	g->fl = fl;
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	gen_file(g, 0);
	controls(g, 0);
}

/* ---- writing the stacks ---- */

static const char *fname(int i)
{
	static char b[16];
	snprintf(b, sizeof b, i ? "f%d" : "svc", i);
	return b;
}

/* Writes file I for jauth (PAM false) or PAM into DIR; appends the text to
 * SHOW for a failure report. */
static void write_file(struct gen *g, int i, int pam, const char *dir,
		       FILE *show)
{
	char path[PATH_MAX + 16], *text = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&text, &len);
	const char *log = fx_path("pam.log");
	for (int k = 0; k < g->f[i].n; k++) {
		struct gline *l = &g->f[i].l[k];
		const char *kw = l->kind == INCLUDE ? "include" : "substack";
		if (l->kind != MODULE && pam)
			fprintf(o, "auth %s %s/%s\n", kw, dir, fname(l->file));
		else if (l->kind != MODULE)
			fprintf(o, "%s %s\n", kw, fname(l->file));
		else if (pam)
			fprintf(o, "auth %s %s id=%d rc=%s log=%s\n",
				control_text(l, 1), PAM_PICK, l->id,
				results[l->result], log);
		else
			fprintf(o, "%s testmod.so acquire=%s log=ran#%d\n",
				control_text(l, 0), results[l->result], l->id);
	}
	fclose(o);
	snprintf(path, sizeof path, "%s/%s", dir, fname(i));
	fx_write(path, 0644, text);
	if (!pam)
		fprintf(show, "--- %s\n%s", fname(i), text);
	free(text);
}

/* ---- running them ---- */

/* Runs the PAM stack; the ids of the lines run go to RAN. */
static int run_pam(const char *dir, char *ran, size_t n)
{
	const struct pam_conv conv = { no_conv, NULL };
	pam_handle_t *ph = NULL;
	unlink(fx_path("pam.log"));
	ck_assert_int_eq(pam_start_confdir("svc", "u", &conv, dir, &ph),
			 PAM_SUCCESS);
	int rc = pam_authenticate(ph, PAM_SILENT);
	pam_end(ph, rc);
	char *log = fx_read(fx_path("pam.log"));
	snprintf(ran, n, "%s", log ? log : "");
	free(log);
	return rc;
}

/* Runs the jauth stack; the ids of the lines run (from testmod's log=)
 * go to RAN, the error text to ERR. A stack with an out-of-range jump must
 * be refused at load (the deviation "a jump past the end is refused"):
 * then JAUTH_CONFIG is returned. */
static jauth_result run_jauth(int overjump, char *ran, size_t n, char *err,
			      size_t en)
{
	pthread_mutex_lock(&FX.log_mu);
	FX.log_len = 0;
	if (FX.log)
		FX.log[0] = 0;
	pthread_mutex_unlock(&FX.log_mu);
	jauth_result rc = JAUTH_CONFIG;
	jauth *h = fx_open_want("svc", overjump ? JAUTH_CONFIG : JAUTH_SUCCESS);
	if (!overjump)
		fx_auth(h, &rc);
	snprintf(err, en, "%s", jauth_error(h));
	jauth_close(h);
	size_t len = 0;
	ran[0] = 0;
	for (const char *p = FX.log; p && (p = strstr(p, "ran#")); p += 4)
		len += (size_t)snprintf(ran + len, n - len, "%d ", atoi(p + 4));
	return rc;
}

/*
 * The deviations of jauth.conf(5), by name: where Linux-PAM answers
 * PAM_PERM_DENIED (its own verdict, never a module's here), jauth says
 * why. The third, "a jump past the end is refused at load", is checked in
 * run_jauth. Everything else must be equal.
 */
static const struct deviation {
	const char *name;
	int pam;
	jauth_result jauth;
	const char *reason; /* in jauth's error text */
} deviations[] = {
	{ "nothing decided fails unavailable", PAM_PERM_DENIED,
	  JAUTH_UNAVAILABLE, "no line of the stack decided" },
	{ "a success counted as a failure fails denied", PAM_PERM_DENIED,
	  JAUTH_DENIED, "success treated as a failure" },
};
#define NDEV (sizeof deviations / sizeof *deviations)

/* Returns the deviation that explains a difference, or NULL. */
static const struct deviation *tolerated(int pam, jauth_result j,
					 const char *err)
{
	for (size_t i = 0; i < NDEV; i++)
		if (deviations[i].pam == pam && deviations[i].jauth == j &&
		    strstr(err, deviations[i].reason))
			return &deviations[i];
	return NULL;
}

static void differential(enum flavour fl, int run)
{
	char pamdir[PATH_MAX + 16];
	snprintf(pamdir, sizeof pamdir, "%s", fx_path("pam"));
	ck_assert_int_eq(mkdir(pamdir, 0755), 0);
	char other[PATH_MAX + 32];
	snprintf(other, sizeof other, "%s/other", pamdir);
	fx_write(other, 0644, "");
	int seen[NDEV] = { 0 }, agreed = 0, refused = 0;
	for (int s = 0; s < STACKS_PER_RUN; s++) {
		uint64_t seed =
			(uint64_t)fl << 32 | (uint64_t)run << 16 | (uint64_t)s;
		static struct gen g;
		generate(&g, fl, seed);
		char *shown = NULL;
		size_t shown_len = 0;
		FILE *show = open_memstream(&shown, &shown_len);
		for (int i = 0; i < g.nf; i++) {
			write_file(&g, i, 1, pamdir, show);
			write_file(&g, i, 0, FX.conf, show);
		}
		fclose(show);
		char pran[1024], jran[1024], err[4096];
		int prc = run_pam(pamdir, pran, sizeof pran);
		jauth_result jrc = run_jauth(g.overjump, jran, sizeof jran, err,
					     sizeof err);
		if (g.overjump) {
			ck_assert_msg(strstr(err, "goes past the end"),
				      "seed %#llx: %s\n%s",
				      (unsigned long long)seed, err, shown);
			refused++;
			free(shown);
			continue;
		}
		const struct deviation *d = NULL;
		if (prc != pam_codes[jrc])
			d = tolerated(prc, jrc, err);
		ck_assert_msg(prc == pam_codes[jrc] || d,
			      "seed %#llx: PAM says %s, jauth %s (%s)\n%s",
			      (unsigned long long)seed, pam_strerror(NULL, prc),
			      jauth_result_name(jrc), err, shown);
		ck_assert_msg(strcmp(pran, jran) == 0,
			      "seed %#llx: PAM ran lines [%s], jauth [%s]\n%s",
			      (unsigned long long)seed, pran, jran, shown);
		if (d)
			seen[d - deviations]++;
		else
			agreed++;
		free(shown);
		for (int i = 1; i < g.nf; i++) {
			char p[PATH_MAX + 16];
			snprintf(p, sizeof p, "%s/%s", FX.conf, fname(i));
			unlink(p);
		}
	}
	/* The run must have exercised both agreement and the deviations. */
	ck_assert_int_gt(agreed, STACKS_PER_RUN / 2);
	ck_assert(fl != JUMPS || refused > 0);
	for (size_t i = 0; i < NDEV && fl != FLAT; i++)
		ck_assert_msg(seen[i] > 0, "no stack showed \"%s\"",
			      deviations[i].name);
}

START_TEST(test_pam_agrees_flat)
{
	differential(FLAT, _i);
}
END_TEST

START_TEST(test_pam_agrees_include_substack)
{
	differential(NESTED, _i);
}
END_TEST

START_TEST(test_pam_agrees_jumps_reset)
{
	differential(JUMPS, _i);
}
END_TEST

Suite *suite_pam(void)
{
	Suite *s = suite_create("pam differential");
	TCase *tc = tcase_create("random stacks");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_pam_agrees_flat, 0, RUNS);
	tcase_add_loop_test(tc, test_pam_agrees_include_substack, 0, RUNS);
	tcase_add_loop_test(tc, test_pam_agrees_jumps_reset, 0, RUNS);
	suite_add_tcase(s, tc);
	return s;
}
