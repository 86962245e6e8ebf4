/*
 * common.h — what every benchmark of jauth-bench shares: clocks, medians
 * and percentiles, private temp trees that are removed whatever happens,
 * the stand-in, OAuth consent, and the rows of the report.
 */
#ifndef JAUTH_BENCH_COMMON_H
#define JAUTH_BENCH_COMMON_H

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jauth/jauth.h>

#include "standin.h"

#ifndef BENCH_BUILDDIR
#define BENCH_BUILDDIR "build"
#endif

/* ---- clocks and statistics ---- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mono_ns(void);
/* The median of V[0..N) (V is sorted in place). */
double median(double *v, size_t n);
/* The nearest-rank percentile P (0..100) of V[0..N) (sorted in place). */
double percentile(double *v, size_t n, double p);
/* Keeps the compiler from dropping what leads to P. */
#define ESCAPE(p) __asm__ volatile("" : : "g"(p) : "memory")

/* ---- growable text ---- */

struct text {
	char *s;
	size_t len, cap;
};
void text_printf(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void text_free(struct text *t);

/* ---- files and temp trees ---- */

/* Gives up (cleaning up) when the run is not over in SECONDS. */
void watchdog(unsigned seconds);
/* Makes $TMPDIR/jauth-bench-TAG-XXXXXX (0700) into OUT and registers it
 * for removal at exit (also on SIGINT/SIGTERM). 0, or -1. */
int tmp_tree(const char *tag, char *out, size_t n);
/* The same under BASE instead of $TMPDIR. */
int tmp_tree_in(const char *base, const char *tag, char *out, size_t n);
/* $TMPDIR, or /tmp. */
const char *tmp_base(void);
/* The file system type of PATH ("ext4", "tmpfs", …). */
const char *fs_name(const char *path);
/* Removes every registered tree and stops the stand-in if it runs. Safe to
 * call more than once; only the process that made them does anything. */
void cleanup_all(void);
/* Writes PATH (via PATH.new and rename) with MODE. 0, or -1. */
int write_file(const char *path, int mode, const char *text);
/* Copies SRC to DST with mode 0644. 0, or -1. */
int copy_file(const char *src, const char *dst);
/* mkdir with exactly MODE. 0, or -1. */
int make_dir(const char *path, int mode);

/* A benchmark's private tree: conf (0755), modules (private, copies of the
 * built modules at 0644), state (0700) and the options that point at them
 * (the log goes to bench_log; no fake clock). */
struct env {
	char root[PATH_MAX];
	char conf[PATH_MAX + 16];
	char mods[PATH_MAX + 16];
	char state[PATH_MAX + 16];
	struct jauth_options opt;
};
int env_new(struct env *e, const char *tag);
/* Writes conf/SERVICE (0644) from a printf format. 0, or -1. */
int env_stack(const struct env *e, const char *service, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The log callback of every benchmark handle: errors to stderr, the rest
 * counted. */
void bench_log(void *ctx, int level, const char *line);

/* A clock for struct jauth_options: CTX points at an _Atomic time_t;
 * 0 there means the real time. */
time_t fake_clock(void *ctx);

/* ---- the stand-in ---- */

/* Started once, on first use, and stopped by cleanup_all. NULL when it
 * cannot start. */
struct standin *standin(void);

/* The 3LO stack line of the stand-in (no trailing newline, static). */
const char *oauth_line(struct standin *si);
/* A whole consent through handle H (authorize_begin, the stand-in's
 * consent screen, authorize_finish). 0, or -1 with a message in ERR. */
int oauth_consent(jauth *h, struct standin *si, char *err, size_t n);
/* The same through a handle of SERVICE opened on E (and closed). */
int env_consent(const struct env *e, const char *service, struct standin *si,
		char *err, size_t n);

/* The median of N forced jauth_refresh calls of H in ns, -1 on failure;
 * ns per cached jauth_acquire of H over CALLS calls, -1 on failure. */
double refresh_median(jauth *h, int n);
double cached_ns(jauth *h, long calls);

/* The secrets the stacks name with @env: */
#define ENV_CLIENT_SECRET "JAUTH_BENCH_CLIENT_SECRET"
#define ENV_JIRA_TOKEN "JAUTH_BENCH_JIRA_TOKEN"
#define CLIENT_ID "cid"
#define CLIENT_SECRET "csecret"
#define REDIRECT_URI "https://app.example/cb"

/* ---- rows of the report ---- */

enum verdict { V_MET, V_MISSED, V_INFO, V_FAILED };

struct line {
	char what[96];
	char jauth[128];
	char baseline[160];
	char target[128];
	char result[128];
	enum verdict v;
};

#define MAX_LINES 6

struct row {
	const char *title; /* "Cached acquire" */
	struct line lines[MAX_LINES];
	int nlines;
	struct text para; /* method and result, Markdown */
	int failed;	  /* the benchmark could not run */
};

/* Adds a line to R; returns it for filling. */
struct line *row_line(struct row *r, const char *what);
/* Marks R as not run, with a reason (printf). */
void row_fail(struct row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "met (…)" / "missed by …" for a figure that must be at most LIMIT
 * (lower is better). */
void verdict_le(struct line *l, double value, double limit, const char *unit);
/* … at least LIMIT (higher is better). */
void verdict_ge(struct line *l, double value, double limit, const char *unit);

/* ---- the benchmarks ---- */

void bench_cached(struct row *r);
void bench_open(struct row *r);
void bench_storm(struct row *r);
void bench_refresh(struct row *r);
void bench_memory(struct row *r, const char *self);
void bench_scale(struct row *r);
void bench_fleet(struct row *r);
void bench_sealed(struct row *r);
void bench_cli(struct row *r);

/* The memory benchmark's child (a fresh process): argv after the
 * "--memory-child" switch. */
int memory_child(int argc, char **argv);

/* Formats ns as "12.3 ns" / "4.56 µs" / "7.89 ms" in BUF. */
const char *fmt_time(double ns, char *buf, size_t n);

#endif
