/*
 * main.c — jauth-bench: runs every benchmark of jauth in one run, prints
 * the table and writes docs/PERFORMANCE.md (make bench).
 *
 *   jauth-bench [--doc FILE] [--cc COMPILER] [--only NAME,…]
 *
 * Exits 0 when every benchmark ran (whether or not it met its target), 1
 * when one could not run, 2 on bad usage.
 */
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common.h"

struct bench {
	const char *name;
	void (*fn)(struct row *r);
};

static const char *self_path;

static void run_memory(struct row *r)
{
	bench_memory(r, self_path);
}

/* In the order they run: the ones that need no stand-in first. */
static const struct bench benches[] = {
	{ "cached", bench_cached }, { "open", bench_open },
	{ "storm", bench_storm },   { "refresh", bench_refresh },
	{ "memory", run_memory },   { "scale", bench_scale },
	{ "fleet", bench_fleet }, { "cli", bench_cli },
	{ "sealed", bench_sealed },
};
#define NBENCH (sizeof benches / sizeof *benches)
static const int run_order[NBENCH] = { 0, 5, 1, 7, 4, 2, 3, 6, 8 };

/* ---- the machine ---- */

static void first_line_of(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	out[0] = '\0';
	if (p) {
		if (!fgets(out, (int)n, p))
			out[0] = '\0';
		pclose(p);
	}
	out[strcspn(out, "\n")] = '\0';
	if (!out[0])
		snprintf(out, n, "unknown");
}

static void cpu_model(char *out, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	snprintf(out, n, "unknown");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
			char *v = strchr(line, ':') + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, n, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
}

struct machine {
	char cpu[256], kernel[512], cc[256], python[128], pam[128], when[64],
		curl[160], tmp[PATH_MAX];
	long cores;
};

static void machine(struct machine *m, const char *cc)
{
	struct utsname u;
	char cmd[512];
	cpu_model(m->cpu, sizeof m->cpu);
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof m->kernel, "%s %s %s (%s)",
			 u.sysname, u.release, u.machine, u.version);
	snprintf(cmd, sizeof cmd, "%s --version 2>/dev/null", cc);
	first_line_of(cmd, m->cc, sizeof m->cc);
	first_line_of("/usr/bin/python3 --version 2>&1", m->python,
		      sizeof m->python);
	first_line_of("dpkg-query -W -f='${Version}' libpam0g 2>/dev/null",
		      m->pam, sizeof m->pam);
	/* "libcurl/7.88.1 OpenSSL/3.0.19 zlib/… …": the first two */
	snprintf(m->curl, sizeof m->curl, "%s", curl_version());
	char *sp = strchr(m->curl, ' ');
	if (sp && (sp = strchr(sp + 1, ' ')))
		*sp = '\0';
	const char *tmp = getenv("TMPDIR");
	snprintf(m->tmp, sizeof m->tmp, "%s", tmp && *tmp ? tmp : "/tmp");
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(m->when, sizeof m->when, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* ---- the load the rest of the machine put on it meanwhile ---- */

struct cpu_times {
	double busy, steal, total; /* seconds, all CPUs */
	char loadavg[64];
};

static void cpu_times(struct cpu_times *c)
{
	unsigned long long v[10] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	memset(c, 0, sizeof *c);
	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) != 8)
			memset(v, 0, sizeof v);
		fclose(f);
	}
	unsigned long long total = 0;
	for (int i = 0; i < 8; i++)
		total += v[i];
	c->total = (double)total / (double)hz;
	c->busy = (double)(total - v[3] - v[4] - v[7]) / (double)hz;
	c->steal = (double)v[7] / (double)hz;
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(c->loadavg, sizeof c->loadavg, f))
			c->loadavg[0] = '\0';
		fclose(f);
	}
	/* the three averages only */
	char *p = c->loadavg;
	for (int k = 0; k < 3 && p; k++)
		p = strchr(p + 1, ' ');
	if (p)
		*p = '\0';
}

/* CPU seconds this process and its reaped children used. */
static double own_cpu(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec +
			b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec +
			b.ru_utime.tv_usec + b.ru_stime.tv_usec) /
		       1e6;
}

static char load_note[512];

static void note_load(const struct cpu_times *a, const struct cpu_times *b,
		      double own, double wall, long cores)
{
	double others = (b->busy - a->busy) - own;
	if (others < 0)
		others = 0;
	snprintf(load_note, sizeof load_note,
		 "other processes used %.1f CPU-seconds of the %.1f the run "
		 "had (%.0f%%; the benchmark itself %.1f), hypervisor steal "
		 "%.1f s; load average %s at the start, %s at the end",
		 others, wall * (double)cores,
		 wall > 0 ? others / (wall * (double)cores) * 100 : 0.0, own,
		 b->steal - a->steal, a->loadavg, b->loadavg);
}

/* ---- output ---- */

/* Display width of UTF-8 text. */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void pad(FILE *f, const char *s, size_t w)
{
	fputs(s, f);
	for (size_t n = width(s); n < w; n++)
		fputc(' ', f);
}

static const char *const heads[5] = { "Benchmark", "jauth",
				      "Baseline (same run)", "Target",
				      "Result" };

static const char *cell(const struct line *l, int c)
{
	const char *v[5] = { l->what, l->jauth, l->baseline, l->target,
			     l->result };
	return v[c];
}

static void print_table(FILE *f, struct row *rows)
{
	size_t w[5];
	for (int c = 0; c < 5; c++)
		w[c] = width(heads[c]);
	for (size_t i = 0; i < NBENCH; i++)
		for (int k = 0; k < rows[i].nlines; k++)
			for (int c = 0; c < 5; c++)
				if (width(cell(&rows[i].lines[k], c)) > w[c])
					w[c] = width(
						cell(&rows[i].lines[k], c));
	for (int c = 0; c < 5; c++) {
		pad(f, heads[c], w[c]);
		fputs(c < 4 ? " | " : "\n", f);
	}
	for (int c = 0; c < 5; c++) {
		for (size_t n = 0; n < w[c]; n++)
			fputc('-', f);
		fputs(c < 4 ? "-+-" : "\n", f);
	}
	for (size_t i = 0; i < NBENCH; i++)
		for (int k = 0; k < rows[i].nlines; k++)
			for (int c = 0; c < 5; c++) {
				pad(f, cell(&rows[i].lines[k], c),
				    c < 4 ? w[c] : 0);
				fputs(c < 4 ? " | " : "\n", f);
			}
}

static int write_doc(const char *path, struct row *rows,
		     const struct machine *m, const char *cc, double secs)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f,
		"# jauth performance\n\n"
		"Generated by `make bench` (the sources are `bench/` and "
		"`mk/bench.mk`) on %s; every figure and every baseline "
		"below comes from that one run. Do not edit this file: run "
		"`make bench` again.\n\n"
		"## Machine\n\n"
		"- CPU: %s, %ld cores online\n"
		"- Kernel: %s\n"
		"- Compiler: %s (`%s`), benchmarks built with `-std=c11 "
		"-D_GNU_SOURCE -O2`\n"
		"- C library: glibc %s; libcurl: %s; Linux-PAM: %s; "
		"stand-in: %s\n"
		"- Temp trees (stacks, modules, state directories) under "
		"`%s`\n"
		"- Whole run: %.0f s\n"
		"- Meanwhile: %s. The machine is shared: what others ran "
		"during the run shows in the figures, most of all in the "
		"2-thread one (see its share-nothing control).\n\n"
		"## Results\n\n",
		m->when, m->cpu, m->cores, m->kernel, m->cc, cc,
		gnu_get_libc_version(), m->curl, m->pam, m->python, m->tmp,
		secs, load_note);
	fprintf(f, "| # | %s | %s | %s | %s | %s |\n", heads[0], heads[1],
		heads[2], heads[3], heads[4]);
	fprintf(f, "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < NBENCH; i++)
		for (int k = 0; k < rows[i].nlines; k++) {
			const struct line *l = &rows[i].lines[k];
			fprintf(f, "| %zu | %s | %s | %s | %s | %s%s%s |\n",
				i + 1, l->what, l->jauth, l->baseline,
				l->target,
				l->v == V_MISSED || l->v == V_FAILED ? "**"
								     : "",
				l->result,
				l->v == V_MISSED || l->v == V_FAILED ? "**"
								     : "");
		}
	fprintf(f, "\nTimes are medians of repeated runs after a warm-up, on "
		   "`CLOCK_MONOTONIC`. A missed target is reported, not "
		   "hidden: the paragraphs below say where the time goes.\n\n"
		   "## Method and result, row by row\n");
	for (size_t i = 0; i < NBENCH; i++)
		fprintf(f, "\n### %zu. %s\n\n%s\n", i + 1, rows[i].title,
			rows[i].para.s
				? rows[i].para.s + (rows[i].para.s[0] == ' ')
				: "");
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int wanted(const char *only, const char *name)
{
	if (!only)
		return 1;
	size_t n = strlen(name);
	for (const char *p = only; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && strncmp(p, name, n) == 0)
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *doc = NULL, *cc = "cc", *only = NULL;
	if (argc > 1 && strcmp(argv[1], "--memory-child") == 0)
		return memory_child(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--doc") == 0 && i + 1 < argc)
			doc = argv[++i];
		else if (strcmp(argv[i], "--cc") == 0 && i + 1 < argc)
			cc = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--doc FILE] [--cc COMPILER] "
				"[--only cached,open,storm,refresh,"
				"memory,scale,fleet,cli]\n",
				argv[0]);
			return 2;
		}
	}
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	self_path = self;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The stand-in is on loopback: never through a proxy. */
	setenv("no_proxy", "127.0.0.1,localhost,::1", 1);

	struct machine m;
	machine(&m, cc);
	struct row rows[NBENCH];
	memset(rows, 0, sizeof rows);
	watchdog(900);
	struct cpu_times c0, c1;
	cpu_times(&c0);
	uint64_t t0 = mono_ns();
	int failed = 0;
	for (size_t k = 0; k < NBENCH; k++) {
		size_t i = (size_t)run_order[k];
		rows[i].title = benches[i].name;
		if (!wanted(only, benches[i].name)) {
			struct line *l = row_line(&rows[i], benches[i].name);
			snprintf(l->result, sizeof l->result,
				 "skipped (--only)");
			continue;
		}
		fprintf(stderr, "jauth-bench: [%zu/%zu] %s …\n", k + 1,
			(size_t)NBENCH, benches[i].name);
		uint64_t b0 = mono_ns();
		benches[i].fn(&rows[i]);
		fprintf(stderr, "jauth-bench: [%zu/%zu] %s done in %.1f s\n",
			k + 1, (size_t)NBENCH, benches[i].name,
			(double)(mono_ns() - b0) / 1e9);
		failed |= rows[i].failed;
	}
	double secs = (double)(mono_ns() - t0) / 1e9;
	cleanup_all();
	cpu_times(&c1);
	note_load(&c0, &c1, own_cpu(), secs, m.cores);

	printf("\njauth benchmarks — %s — %s, %ld cores, %s\n\n", m.when, m.cpu,
	       m.cores, m.cc);
	print_table(stdout, rows);
	printf("\n(whole run %.0f s; %s)\n", secs, load_note);
	if (doc) {
		if (only) {
			fprintf(stderr, "jauth-bench: --only: %s not written\n",
				doc);
		} else if (write_doc(doc, rows, &m, cc, secs) < 0) {
			fprintf(stderr, "jauth-bench: cannot write %s\n", doc);
			failed = 1;
		} else {
			printf("wrote %s\n", doc);
		}
	}
	for (size_t i = 0; i < NBENCH; i++)
		text_free(&rows[i].para);
	return failed ? 1 : 0;
}
