/*
 * b_fleet.c — the shared store on a real PostgreSQL (started here, as the
 * pgsql suite does): a fleet storm (8 host processes x 4 threads at the
 * moment the token is due: refresh grants per storm and the callers'
 * latency), one refresh on PostgreSQL beside the same refresh on the file
 * store, and the cached acquire on both.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "pgserver.h"

#define HOSTS 8
#define THREADS 4
#define STORMS 5
#define REFRESHES 15
#define CACHED_CALLS 2000000
#define SERVICE_PG "fleet"
#define SERVICE_FILES "fleetfiles"

static _Atomic time_t *shared_clock;

struct caller {
	jauth *h;
	pthread_barrier_t *go;
	double ns;
	int ok;
};

static void *call(void *p)
{
	struct caller *c = p;
	const jauth_cred *cr;
	pthread_barrier_wait(c->go);
	uint64_t t0 = mono_ns();
	c->ok = jauth_acquire(c->h, &cr) == JAUTH_SUCCESS;
	c->ns = (double)(mono_ns() - t0);
	return NULL;
}

/* A host of the storm: its own state dir, a warm session (it connected
 * and acquired once, before the gate), then NTHREADS callers at once when
 * the gate opens; their latencies go to OUT. It closes its handle (its
 * database session ends, the process exits) only when the parent closes
 * GATE2, once every caller of the storm has its credential: a host that
 * is done must not take the CPU from callers still being timed. */
static void storm_host(struct env *e, int i, int nthreads, int gate, int gate2,
		       int out)
{
	char dir[PATH_MAX + 32], byte;
	struct jauth_options o = e->opt;
	snprintf(dir, sizeof dir, "%s/host%d", e->root, i);
	mkdir(dir, 0700);
	o.state_dir = dir;
	o.clock = fake_clock;
	o.clock_ctx = shared_clock;
	jauth *h = NULL;
	const jauth_cred *cr;
	if (jauth_open(SERVICE_PG, &o, &h) != JAUTH_SUCCESS ||
	    jauth_acquire(h, &cr) != JAUTH_SUCCESS)
		_exit(2);
	(void)!write(out, "r", 1); /* ready */
	(void)!read(gate, &byte, 1);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)nthreads);
	pthread_t t[THREADS];
	struct caller c[THREADS];
	for (int k = 0; k < nthreads; k++) {
		c[k] = (struct caller){ .h = h, .go = &go };
		pthread_create(&t[k], NULL, call, &c[k]);
	}
	for (int k = 0; k < nthreads; k++) {
		pthread_join(t[k], NULL);
		double v = c[k].ok ? c[k].ns : -1;
		(void)!write(out, &v, sizeof v);
	}
	close(out); /* so that the parent sees the end if a host died */
	(void)!read(gate2, &byte, 1);
	jauth_close(h);
	_exit(0);
}

/* One storm of NHOSTS host processes x NTHREADS callers at fake time NOW,
 * when the token is due: the latencies into LAT (+*n), the refresh grants
 * it caused into *grants. 0, or -1. */
static int storm_of(struct env *e, struct standin *si, int nhosts, int nthreads,
		    time_t now, double *lat, int *n, long *grants)
{
	int gate[2], gate2[2], res[2];
	pid_t kids[HOSTS];
	if (pipe(gate) < 0 || pipe(gate2) < 0 || pipe(res) < 0)
		return -1;
	atomic_store(shared_clock, now - 600); /* fresh: the warm-up */
	for (int i = 0; i < nhosts; i++)
		if ((kids[i] = fork()) == 0) {
			close(gate[1]);
			close(gate2[1]);
			close(res[0]);
			storm_host(e, i, nthreads, gate[0], gate2[0], res[1]);
		}
	close(gate[0]);
	close(gate2[0]);
	close(res[1]);
	char r;
	int ready = 0;
	while (ready < nhosts && read(res[0], &r, 1) == 1)
		ready++;
	long before = standin_counter(si, "refresh_grants");
	atomic_store(shared_clock, now); /* due */
	close(gate[1]);
	double v;
	int got = 0, bad = ready < nhosts;
	while (got < ready * nthreads &&
	       read(res[0], &v, sizeof v) == sizeof v) {
		got++;
		if (v < 0)
			bad = 1;
		else
			lat[(*n)++] = v;
	}
	/* Every caller has its credential: the hosts may close and exit. */
	close(gate2[1]);
	close(res[0]);
	for (int i = 0; i < nhosts; i++)
		waitpid(kids[i], NULL, 0);
	*grants = standin_counter(si, "refresh_grants") - before;
	return bad || got < nhosts * nthreads ? -1 : 0;
}

static jauth *consented(struct env *e, const char *service, struct standin *si,
			char *err, size_t n)
{
	struct jauth_options o = e->opt;
	o.clock = fake_clock;
	o.clock_ctx = shared_clock;
	jauth *h = NULL;
	if (jauth_open(service, &o, &h) != JAUTH_SUCCESS) {
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

static int pg_stacks(struct env *e, struct pgserver *pg, struct standin *si)
{
	char pw[PATH_MAX + 32];
	snprintf(pw, sizeof pw, "%s/db-password", e->root);
	return write_file(pw, 0600, pg->password) < 0 ||
			       env_stack(
				       e, SERVICE_PG,
				       "store pgsql \"%s\" password=@file:%s\n"
				       "%s\n",
				       pg->conninfo, pw, oauth_line(si)) < 0 ||
			       env_stack(e, SERVICE_FILES, "%s\n",
					 oauth_line(si)) < 0
		       ? -1
		       : 0;
}

static void report(struct row *r, double pg1, double files1, double one,
		   double *lat, int n, long max_grants, long total_grants,
		   double cpg, double cfiles)
{
	char a[32], b[32], c[32];
	struct line *l = row_line(r, "refresh grants per storm (8x4)");
	snprintf(l->jauth, sizeof l->jauth, "max %ld (%ld in %d storms)",
		 max_grants, total_grants, STORMS);
	snprintf(l->target, sizeof l->target, "1");
	verdict_le(l, (double)max_grants, 1, "");
	double p50 = percentile(lat, (size_t)n, 50),
	       p99 = percentile(lat, (size_t)n, 99);
	l = row_line(r, "storm caller p50 / p99");
	snprintf(l->jauth, sizeof l->jauth, "%s / %s",
		 fmt_time(p50, a, sizeof a), fmt_time(p99, b, sizeof b));
	snprintf(l->baseline, sizeof l->baseline,
		 "one pgsql refresh alone (1 host x 1 caller) %s",
		 fmt_time(one, c, sizeof c));
	snprintf(l->target, sizeof l->target, "p99 <= 2x one refresh");
	verdict_le(l, p99 / one, 2.0, "x");
	l = row_line(r, "one refresh: pgsql vs files");
	snprintf(l->jauth, sizeof l->jauth, "%s", fmt_time(pg1, a, sizeof a));
	snprintf(l->baseline, sizeof l->baseline,
		 "file store %s (plain libcurl: Refresh cost row)",
		 fmt_time(files1, b, sizeof b));
	snprintf(l->result, sizeof l->result, "%.2fx the file store",
		 pg1 / files1);
	l->v = V_INFO;
	l = row_line(r, "cached acquire on a pgsql stack");
	snprintf(l->jauth, sizeof l->jauth, "%s", fmt_time(cpg, a, sizeof a));
	snprintf(l->baseline, sizeof l->baseline, "file store %s",
		 fmt_time(cfiles, b, sizeof b));
	snprintf(l->target, sizeof l->target, "same (<= 1.2x)");
	verdict_le(l, cpg / cfiles, 1.2, "x");
	text_printf(
		&r->para,
		" A real PostgreSQL 15 (initdb in a temp dir, TLS verify-full, "
		"SCRAM, 127.0.0.1) and the stand-in. %d storms: each forks %d "
		"host processes (own state dirs); each opens the stack and "
		"acquires once while the token is fresh, so its database "
		"session (TCP, TLS, SCRAM, the session checks) is made before "
		"the gate and outside the timed part. Then %d threads per host "
		"call jauth_acquire at once at the moment the token is due, "
		"each timing only its own call; the stand-in counts the "
		"refresh grants. The hosts close their handles and exit only "
		"once every caller of the storm has its credential (a second "
		"gate), so that no host's teardown takes the CPU from callers "
		"still being timed. The winner takes the record's advisory "
		"lock, marks its intent, refreshes over a new TLS connection "
		"and commits (two durable commits); the other hosts wait in "
		"the database for a shared lock, which the server grants to "
		"all of them together when the winner lets go, and each "
		"re-reads the record in the same round trip (a pipeline of "
		"two statements) and uses the winner's token; the other "
		"threads of a host are served the still-valid token meanwhile "
		"(the p50). A waiting host's latency is thus the winner's "
		"refresh plus the hand-over (the server wakes the waiters "
		"together; each gets one statement's result), and the p99 of "
		"the storms' callers lies among the last hosts of the slowest "
		"storm. "
		"The storm's baseline, in the same run after each storm, is one "
		"refresh alone: the same due token and the same host set-up, "
		"one host process with one caller (median %s), so both time "
		"the same code path from a warm session, including the new "
		"TLS connection to the token endpoint. One refresh is the "
		"median of %d forced jauth_refresh calls on a warm handle, on "
		"PostgreSQL and on the file store (state on the temp file "
		"system). The cached acquire is %d calls on one thread.",
		STORMS, HOSTS, THREADS, fmt_time(one, c, sizeof c), REFRESHES,
		CACHED_CALLS);
}

void bench_fleet(struct row *r)
{
	struct standin *si = standin();
	struct pgserver pg = { 0 };
	struct env e;
	char err[1024];
	jauth *hp = NULL, *hf = NULL;
	static double lat[STORMS * HOSTS * THREADS];
	int n = 0;
	r->title = "Fleet on PostgreSQL";
	shared_clock = mmap(NULL, sizeof *shared_clock, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!si || shared_clock == MAP_FAILED) {
		row_fail(r, "the stand-in did not start");
		return;
	}
	setenv(ENV_CLIENT_SECRET, CLIENT_SECRET, 1);
	if (pgserver_start(&pg, si->dir) < 0 || env_new(&e, "fleet") < 0) {
		row_fail(r, "PostgreSQL did not start (see stderr)");
		goto out;
	}
	char *sql = NULL;
	FILE *f = fopen(JAUTH_TEST_SRCDIR "/../core/store/pgsql.sql", "r");
	static char schema[16384];
	size_t len = f ? fread(schema, 1, sizeof schema - 1, f) : 0;
	if (f)
		fclose(f);
	schema[len] = '\0';
	time_t t = time(NULL);
	atomic_store(shared_clock, t);
	if (!len || pgserver_sql(&pg, schema, &sql) < 0 ||
	    pg_stacks(&e, &pg, si) < 0 ||
	    !(hp = consented(&e, SERVICE_PG, si, err, sizeof err)) ||
	    !(hf = consented(&e, SERVICE_FILES, si, err, sizeof err))) {
		row_fail(r, "set-up: %s", hp ? err : "schema or stacks");
		goto out;
	}
	double pg1 = refresh_median(hp, REFRESHES),
	       files1 = refresh_median(hf, REFRESHES);
	double cpg = cached_ns(hp, CACHED_CALLS),
	       cfiles = cached_ns(hf, CACHED_CALLS);
	double alone[STORMS];
	long max_grants = 0, total = 0, g;
	int nalone = 0;
	/* Each storm is followed by one refresh alone: the same due token,
	 * the same host set-up, one host process with one caller. */
	for (int s = 0; s < STORMS; s++) {
		t += 3400; /* the token of the last refresh is due */
		if (storm_of(&e, si, HOSTS, THREADS, t, lat, &n, &g) < 0) {
			row_fail(r, "storm %d: a caller was not served", s);
			goto out;
		}
		max_grants = g > max_grants ? g : max_grants;
		total += g;
		t += 3400;
		if (storm_of(&e, si, 1, 1, t, alone, &nalone, &g) < 0 ||
		    g != 1) {
			row_fail(r,
				 "refresh alone %d: not served by one "
				 "refresh",
				 s);
			goto out;
		}
	}
	double one = median(alone, (size_t)nalone);
	if (pg1 < 0 || files1 < 0 || cpg < 0 || cfiles < 0 || n == 0) {
		row_fail(r, "a refresh or acquire failed");
		goto out;
	}
	report(r, pg1, files1, one, lat, n, max_grants, total, cpg, cfiles);
out:
	jauth_close(hp);
	jauth_close(hf);
	free(sql);
	pgserver_destroy(&pg);
}
