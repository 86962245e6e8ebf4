/*
 * b_scale.c — row 6: `jauth -c DIR -m MODS lint` (every service in DIR)
 * over 100, 1,000 and 10,000 generated stacks. The time per file must stay
 * flat.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define NSIZES 4
static const long sizes[NSIZES] = { 1, 100, 1000, 10000 };
static const int reps[NSIZES] = { 7, 7, 5, 3 };

/* Makes DIR with N stacks of one testmod line each. */
static int make_stacks(const char *dir, long n)
{
	if (make_dir(dir, 0755) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		char path[PATH_MAX + 32];
		if (snprintf(path, sizeof path, "%s/svc%05ld", dir, i) >=
		    (int)sizeof path)
			return -1;
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);
		static const char text[] = "required testmod.so token=x\n";
		if (fd < 0 || write(fd, text, sizeof text - 1) !=
				      (ssize_t)(sizeof text - 1)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		fchmod(fd, 0644);
		close(fd);
	}
	return 0;
}

/* Runs the CLI once; its wall time in ns, or -1 (the reason in LOG). */
static double lint(const char *conf, const char *mods, const char *log)
{
	static const char cli[] = BENCH_BUILDDIR "/bin/jauth";
	fflush(NULL);
	uint64_t t0 = mono_ns();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_WRONLY);
		int err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (null < 0 || err < 0)
			_exit(126);
		dup2(null, 1);
		dup2(err, 2);
		setenv("LD_LIBRARY_PATH", BENCH_BUILDDIR "/lib", 1);
		execl(cli, cli, "-c", conf, "-m", mods, "lint", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	int st;
	waitpid(pid, &st, 0);
	double ns = (double)(mono_ns() - t0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ns : -1;
}

/* In-process, the listing step of `lint` alone: jauth_services over CONF
 * (median of 3, ns). */
static double listing(const char *conf)
{
	struct jauth_options opt = { .size = sizeof opt, .conf_path = conf };
	double t[3];
	for (int i = 0; i < 3; i++) {
		char *json = NULL;
		uint64_t t0 = mono_ns();
		jauth_result rc = jauth_services(&opt, &json);
		t[i] = (double)(mono_ns() - t0);
		jauth_free(json);
		if (rc != JAUTH_SUCCESS)
			return -1;
	}
	return median(t, 3);
}

void bench_scale(struct row *r)
{
	struct env e;
	char dirs[NSIZES][PATH_MAX + 32], log[PATH_MAX + 32];
	double wall[NSIZES], per_file[NSIZES], marginal[NSIZES], list[NSIZES];
	r->title = "Scale";
	if (env_new(&e, "scale") < 0) {
		row_fail(r, "cannot make its temp tree");
		return;
	}
	if (snprintf(log, sizeof log, "%s/lint.err", e.root) >=
	    (int)sizeof log) {
		row_fail(r, "temp path too long");
		return;
	}
	for (int s = 0; s < NSIZES; s++) {
		if (snprintf(dirs[s], sizeof dirs[s], "%s/conf%ld", e.root,
			     sizes[s]) >= (int)sizeof dirs[s] ||
		    make_stacks(dirs[s], sizes[s]) < 0) {
			row_fail(r, "cannot write %ld stacks", sizes[s]);
			return;
		}
	}
	/* Warm-up: the CLI, the library and the module in the page cache. */
	if (lint(dirs[1], e.mods, log) < 0) {
		char *text = NULL;
		FILE *f = fopen(log, "r");
		size_t n = 0;
		if (f && getline(&text, &n, f) > 0)
			text[strcspn(text, "\n")] = '\0';
		if (f)
			fclose(f);
		row_fail(r, "jauth lint failed: %s", text ? text : "?");
		free(text);
		return;
	}
	for (int s = 0; s < NSIZES; s++) {
		double t[8];
		for (int i = 0; i < reps[s]; i++) {
			t[i] = lint(dirs[s], e.mods, log);
			if (t[i] < 0) {
				row_fail(r, "jauth lint of %ld stacks failed",
					 sizes[s]);
				return;
			}
		}
		wall[s] = median(t, (size_t)reps[s]);
		per_file[s] = wall[s] / (double)sizes[s];
		list[s] = listing(dirs[s]);
	}
	/* The cost of one more file: without the fixed cost of starting the
	 * program (the 1-file run). */
	double lo = 1e300, hi = 0;
	for (int s = 1; s < NSIZES; s++) {
		marginal[s] = (wall[s] - wall[0]) / (double)(sizes[s] - 1);
		lo = marginal[s] < lo ? marginal[s] : lo;
		hi = marginal[s] > hi ? marginal[s] : hi;
	}
	for (int s = 1; s < NSIZES; s++) {
		char what[64];
		snprintf(what, sizeof what, "lint, %ld stacks", sizes[s]);
		struct line *l = row_line(r, what);
		snprintf(l->jauth, sizeof l->jauth,
			 "%.1f µs/file (%.1f µs/file beyond startup)",
			 per_file[s] / 1e3, marginal[s] / 1e3);
		char a[32];
		snprintf(l->baseline, sizeof l->baseline,
			 "total %s; listing alone %.2f µs/file",
			 fmt_time(wall[s], a, sizeof a),
			 list[s] / (double)sizes[s] / 1e3);
		if (s == NSIZES - 1) {
			snprintf(l->target, sizeof l->target,
				 "flat: max/min µs/file ≤ 1.2");
			verdict_le(l, hi / lo, 1.2, "×");
			snprintf(l->result + strlen(l->result),
				 sizeof l->result - strlen(l->result),
				 "; max/min %.2f", hi / lo);
		}
	}
	char a[32], b[32], c[32], d[32];
	text_printf(
		&r->para,
		"N stack files (`svc00000` …, mode 0644, each one line "
		"`required testmod.so token=x`) are generated in a conf "
		"dir of their own, for N = 100, 1,000 and 10,000, and "
		"the real CLI is run on them: `build/bin/jauth -c DIR -m "
		"MODS lint` (no service named: it lists every service in "
		"DIR, then parses, trust-checks, loads and opens each "
		"stack, printing `ok: N stacks`), stdout to /dev/null, "
		"timed from `fork` to `waitpid` on `CLOCK_MONOTONIC`. "
		"Medians of %d, %d and %d runs after one warm-up run; "
		"the same with one file (%s, the program's fixed cost) "
		"gives the marginal cost of a file, (T(N) − T(1)) / "
		"(N − 1). Result: %.1f, %.1f and %.1f µs per file "
		"(wall/N), marginal %.1f, %.1f and %.1f µs; the largest "
		"marginal figure is %.2f× the smallest (target ≤ 1.2×). "
		"The listing step alone — `jauth_services`, which the CLI "
		"calls first to find every service, timed in-process on "
		"the same directories — costs %.2f, %.2f and %.2f µs per "
		"file (%s, %s and %s in all): a per-file cost that grows "
		"with N would be quadratic work (it sorts the names once, "
		"so it stays flat).%s",
		reps[1], reps[2], reps[3], fmt_time(wall[0], a, sizeof a),
		per_file[1] / 1e3, per_file[2] / 1e3, per_file[3] / 1e3,
		marginal[1] / 1e3, marginal[2] / 1e3, marginal[3] / 1e3,
		hi / lo, list[1] / (double)sizes[1] / 1e3,
		list[2] / (double)sizes[2] / 1e3,
		list[3] / (double)sizes[3] / 1e3,
		fmt_time(list[1], b, sizeof b), fmt_time(list[2], c, sizeof c),
		fmt_time(list[3], d, sizeof d),
		list[3] / (double)sizes[3] > 4 * list[1] / (double)sizes[1]
			? " It is: the listing grows faster than the number "
			  "of stacks; `jauth_services` (core/inventory.c) "
			  "should sort once, not compare every pair."
			: "");
}
