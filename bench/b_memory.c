/*
 * b_memory.c — row 5: the resident memory one open handle adds after its
 * first acquire, and the heap in use after 1,000 and after 1,000,000
 * acquires (it must not grow). Measured in a fresh process (this program
 * run again with --memory-child), so that nothing the other benchmarks
 * loaded or freed blurs the figures.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define SERVICE "mem2"
#define CHURN "churn"
#define FEW 1000L
#define MANY 1000000L
#define CHURN_EVERY 100L /* acquires between two fake-clock jumps */

/* ---- the child ---- */

static long rss_kib(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (long)mi.uordblks;
}

static jauth *open_acquire(const char *service, struct jauth_options *opt)
{
	jauth *h = NULL;
	const jauth_cred *c;
	if (jauth_open(service, opt, &h) != JAUTH_SUCCESS ||
	    jauth_acquire(h, &c) != JAUTH_SUCCESS) {
		fprintf(stderr, "jauth-bench: memory: %s: %s\n", service,
			jauth_error(h));
		exit(1);
	}
	return h;
}

/* Acquires on H until *DONE reaches UNTIL; with CLOCK, moves it 61 s on
 * every CHURN_EVERY calls, so that the stack runs again. */
static void acquire_until(jauth *h, long *done, long until,
			  _Atomic time_t *clock)
{
	for (; *done < until; (*done)++) {
		const jauth_cred *c;
		if (clock && *done % CHURN_EVERY == 0)
			atomic_fetch_add(clock, 61);
		if (jauth_acquire(h, &c) != JAUTH_SUCCESS) {
			fprintf(stderr,
				"jauth-bench: memory: acquire %ld: %s\n", *done,
				jauth_error(h));
			exit(1);
		}
		ESCAPE(c);
	}
}

int memory_child(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: --memory-child CONF MODS STATE\n");
		return 2;
	}
	struct jauth_options opt = {
		.size = sizeof opt,
		.conf_path = argv[0],
		.module_path = argv[1],
		.state_dir = argv[2],
		.log = bench_log,
		.log_level = JAUTH_LOG_ERROR,
	};
	long r0 = rss_kib(), m0 = heap_bytes();
	jauth *h1 = open_acquire(SERVICE, &opt);
	long r1 = rss_kib(), m1 = heap_bytes();
	jauth *h2 = open_acquire(SERVICE, &opt);
	long r2 = rss_kib(), m2 = heap_bytes();
	long done = 1;
	acquire_until(h2, &done, FEW, NULL);
	long few = heap_bytes();
	acquire_until(h2, &done, MANY, NULL);
	long many = heap_bytes();

	static _Atomic time_t now;
	atomic_store(&now, time(NULL));
	struct jauth_options copt = opt;
	copt.clock = fake_clock;
	copt.clock_ctx = &now;
	jauth *h3 = open_acquire(CHURN, &copt);
	done = 1;
	acquire_until(h3, &done, FEW, &now);
	long cfew = heap_bytes();
	acquire_until(h3, &done, MANY, &now);
	long cmany = heap_bytes();
	jauth_close(h3);
	jauth_close(h2);
	jauth_close(h1);
	printf("rss0 %ld\nrss1 %ld\nrss2 %ld\nheap0 %ld\nheap1 %ld\nheap2 %ld\n"
	       "few %ld\nmany %ld\ncfew %ld\ncmany %ld\n",
	       r0, r1, r2, m0, m1, m2, few, many, cfew, cmany);
	return 0;
}

/* ---- the parent ---- */

static long value_of(const char *out, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = out; p && *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtol(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Runs SELF --memory-child …; its stdout (malloc'd) or NULL. */
static char *run_child(const char *self, const struct env *e)
{
	int fd[2];
	if (pipe(fd) < 0)
		return NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		close(fd[1]);
		execl(self, self, "--memory-child", e->conf, e->mods, e->state,
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *out = malloc(cap);
	ssize_t n;
	while (out && (n = read(fd[0], out + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap)
			out = realloc(out, cap *= 2);
	}
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

void bench_memory(struct row *r, const char *self)
{
	struct standin *si = standin();
	struct env e;
	char err[1024];
	jauth *h = NULL;
	r->title = "Memory";
	if (!si) {
		row_fail(r, "the stand-in did not start");
		return;
	}
	if (env_new(&e, "memory") < 0 ||
	    env_stack(
		    &e, SERVICE,
		    "%s\n"
		    "required apitoken.so email=svc@acme.com token=@env:" ENV_JIRA_TOKEN
		    " site=https://acme.atlassian.net\n",
		    oauth_line(si)) < 0 ||
	    env_stack(&e, CHURN,
		      "required testmod.so token=churn lifetime=3600 "
		      "leeway=300\n") < 0) {
		row_fail(r, "cannot make its temp tree");
		return;
	}
	if (jauth_open(SERVICE, &e.opt, &h) != JAUTH_SUCCESS) {
		row_fail(r, "jauth_open: %s", jauth_error(h));
		jauth_close(h);
		return;
	}
	int rc = oauth_consent(h, si, err, sizeof err);
	jauth_close(h);
	if (rc < 0) {
		row_fail(r, "consent: %s", err);
		return;
	}
	char *out = run_child(self, &e);
	if (!out) {
		row_fail(r, "the child process failed");
		return;
	}
	long rss0 = value_of(out, "rss0"), rss1 = value_of(out, "rss1"),
	     rss2 = value_of(out, "rss2"), heap0 = value_of(out, "heap0"),
	     heap1 = value_of(out, "heap1"), heap2 = value_of(out, "heap2"),
	     few = value_of(out, "few"), many = value_of(out, "many"),
	     cfew = value_of(out, "cfew"), cmany = value_of(out, "cmany");
	free(out);

	struct line *l = row_line(r, "RSS added by one handle");
	snprintf(l->jauth, sizeof l->jauth,
		 "%ld KiB (first in process), %ld KiB (another)", rss1 - rss0,
		 rss2 - rss1);
	snprintf(l->baseline, sizeof l->baseline, "heap: %.1f KiB, %.1f KiB",
		 (double)(heap1 - heap0) / 1024,
		 (double)(heap2 - heap1) / 1024);

	l = row_line(r, "Heap after 1k vs 1M acquires");
	snprintf(l->jauth, sizeof l->jauth, "%ld B → %ld B (cached)", few,
		 many);
	snprintf(l->baseline, sizeof l->baseline,
		 "%ld B → %ld B (stack re-run every %ld)", cfew, cmany,
		 CHURN_EVERY);
	snprintf(l->target, sizeof l->target, "equal (no growth)");
	if (few == many && cfew == cmany) {
		l->v = V_MET;
		snprintf(l->result, sizeof l->result, "met (0 B growth)");
	} else {
		l->v = V_MISSED;
		snprintf(l->result, sizeof l->result,
			 "MISSED: +%ld B cached, +%ld B re-running", many - few,
			 cmany - cfew);
	}

	text_printf(
		&r->para,
		"Measured in a fresh process (the benchmark program run "
		"again with `--memory-child`), on the two-line stack of "
		"the Open row (oauth3lo with a consented grant in the "
		"store + apitoken). RSS is the second field of "
		"`/proc/self/statm`, heap in use is `mallinfo2().uordblks`. "
		"The first handle of the process, opened and acquired "
		"once, adds %ld KiB of RSS (%.1f KiB of heap): that "
		"includes what happens once per process — the mapping of "
		"the two module objects (no request is made, so libjauth "
		"neither loads `http.so` nor initialises libcurl and "
		"OpenSSL). A second handle on the same stack, "
		"while the first stays open, adds %ld KiB of RSS "
		"(%.1f KiB of heap: the parsed stack, the module instances "
		"and their state, the credential, the thread's view). On "
		"that handle the heap in use is %ld bytes after 1,000 "
		"acquires and %ld bytes after 1,000,000. The same check "
		"with the stack re-run all the time (a `testmod.so` stack "
		"on a fake clock moved 61 s every %ld acquires, so that "
		"10,000 of the 1,000,000 calls take the slow path, publish "
		"a new credential and free the old one) gives %ld bytes "
		"after 1,000 and %ld bytes after 1,000,000 acquires.",
		rss1 - rss0, (double)(heap1 - heap0) / 1024, rss2 - rss1,
		(double)(heap2 - heap1) / 1024, few, many, CHURN_EVERY, cfew,
		cmany);
}
