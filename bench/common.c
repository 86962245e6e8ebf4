/* common.c — see common.h. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- clocks and statistics ---- */

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

const char *fmt_time(double ns, char *buf, size_t n)
{
	if (ns < 1e3)
		snprintf(buf, n, "%.1f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, n, "%.1f µs", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
	return buf;
}

/* ---- text ---- */

void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *s = realloc(t->s, cap);
		if (!s)
			abort();
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void text_free(struct text *t)
{
	free(t->s);
	memset(t, 0, sizeof *t);
}

/* ---- temp trees and cleanup ---- */

#define MAX_TREES 32
static char trees[MAX_TREES][PATH_MAX];
static int ntrees;
static pid_t owner;
static struct standin si;
static int si_state; /* 0 not tried, 1 running, -1 failed */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	remove(path);
	return 0;
}

void cleanup_all(void)
{
	if (getpid() != owner)
		return;
	if (si_state == 1) {
		standin_stop(&si);
		si_state = 0;
	}
	for (int i = 0; i < ntrees; i++)
		if (trees[i][0])
			nftw(trees[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ntrees = 0;
}

static void on_signal(int sig)
{
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "jauth-bench: the run took too long; "
				  "giving up\n";
	(void)!write(2, msg, sizeof msg - 1);
	cleanup_all();
	_exit(1);
}

static void register_cleanup(void)
{
	if (owner == getpid())
		return;
	owner = getpid();
	atexit(cleanup_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGALRM, on_alarm);
}

void watchdog(unsigned seconds)
{
	register_cleanup();
	alarm(seconds);
}

const char *tmp_base(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

int tmp_tree(const char *tag, char *out, size_t n)
{
	return tmp_tree_in(tmp_base(), tag, out, n);
}

int tmp_tree_in(const char *base, const char *tag, char *out, size_t n)
{
	register_cleanup();
	if (ntrees == MAX_TREES)
		return -1;
	if (snprintf(out, n, "%s/jauth-bench-%s-XXXXXX", base, tag) >= (int)n)
		return -1;
	if (!mkdtemp(out)) {
		fprintf(stderr, "jauth-bench: mkdtemp %s: %s\n", out,
			strerror(errno));
		return -1;
	}
	snprintf(trees[ntrees++], PATH_MAX, "%s", out);
	return 0;
}

int make_dir(const char *path, int mode)
{
	if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	return chmod(path, (mode_t)mode);
}

int write_file(const char *path, int mode, const char *text)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len &&
		 fchmod(fd, (mode_t)mode) == 0;
	ok &= close(fd) == 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	char buf[65536];
	ssize_t n;
	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto done;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	if (n == 0 && fchmod(out, 0644) == 0)
		rc = 0;
done:
	close(in);
	if (out >= 0 && close(out) != 0)
		rc = -1;
	return rc;
}

/* Copies every .so of SRC into DST. */
static int copy_modules(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		char from[PATH_MAX + 300], to[PATH_MAX + 300];
		snprintf(from, sizeof from, "%s/%s", src, e->d_name);
		snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
		if (copy_file(from, to) < 0) {
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}

void bench_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	if (level <= JAUTH_LOG_ERROR)
		fprintf(stderr, "jauth-bench: library said: %s\n", line);
}

time_t fake_clock(void *ctx)
{
	_Atomic time_t *t = ctx;
	time_t v = t ? atomic_load(t) : 0;
	return v ? v : time(NULL);
}

int env_new(struct env *e, const char *tag)
{
	memset(e, 0, sizeof *e);
	if (tmp_tree(tag, e->root, sizeof e->root) < 0)
		return -1;
	snprintf(e->conf, sizeof e->conf, "%s/conf", e->root);
	snprintf(e->mods, sizeof e->mods, "%s/modules", e->root);
	snprintf(e->state, sizeof e->state, "%s/state", e->root);
	if (make_dir(e->conf, 0755) < 0 || make_dir(e->mods, 0700) < 0 ||
	    make_dir(e->state, 0700) < 0)
		return -1;
	if (copy_modules(BENCH_BUILDDIR "/modules", e->mods) < 2 ||
	    copy_modules(BENCH_BUILDDIR "/tests/modules", e->mods) < 1) {
		fprintf(stderr,
			"jauth-bench: cannot copy the modules of %s "
			"(is it built?)\n",
			BENCH_BUILDDIR);
		return -1;
	}
	e->opt.size = sizeof e->opt;
	e->opt.conf_path = e->conf;
	e->opt.module_path = e->mods;
	e->opt.state_dir = e->state;
	e->opt.log = bench_log;
	e->opt.log_level = JAUTH_LOG_ERROR;
	return 0;
}

int env_stack(const struct env *e, const char *service, const char *fmt, ...)
{
	char path[PATH_MAX + 100];
	struct text t = { 0 };
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	t.s = malloc((size_t)n + 1);
	if (!t.s)
		return -1;
	va_start(ap, fmt);
	vsnprintf(t.s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof path, "%s/%s", e->conf, service);
	int rc = write_file(path, 0644, t.s);
	free(t.s);
	return rc;
}

const char *fs_name(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return "unknown";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:
		return "ext4";
	case 0x01021994:
		return "tmpfs";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

/* ---- the stand-in ---- */

struct standin *standin(void)
{
	if (si_state == 0) {
		register_cleanup();
		fprintf(stderr,
			"jauth-bench: starting the Atlassian stand-in\n");
		si_state = standin_start(&si, NULL) == 0 ? 1 : -1;
		setenv(ENV_CLIENT_SECRET, CLIENT_SECRET, 1);
		setenv(ENV_JIRA_TOKEN, "unscoped-token", 1);
	}
	return si_state == 1 ? &si : NULL;
}

const char *oauth_line(struct standin *s)
{
	static char line[16384];
	snprintf(
		line, sizeof line,
		"required oauth3lo.so client_id=" CLIENT_ID
		" client_secret=@env:" ENV_CLIENT_SECRET
		" auth_url=%s api_url=%s ca_file=%s redirect_uri=" REDIRECT_URI,
		s->url, s->url, s->ca);
	return line;
}

int env_consent(const struct env *e, const char *service, struct standin *s,
		char *err, size_t n)
{
	jauth *h = NULL;
	if (jauth_open(service, &e->opt, &h) != JAUTH_SUCCESS) {
		snprintf(err, n, "jauth_open: %s", jauth_error(h));
		jauth_close(h);
		return -1;
	}
	int rc = oauth_consent(h, s, err, n);
	jauth_close(h);
	return rc;
}

int oauth_consent(jauth *h, struct standin *s, char *err, size_t n)
{
	char *url = NULL, *report = NULL, *cb;
	long status = 0;
	if (jauth_authorize_begin(h, &url) != JAUTH_SUCCESS) {
		snprintf(err, n, "authorize_begin: %s", jauth_error(h));
		return -1;
	}
	cb = standin_consent(s, url, &status);
	jauth_free(url);
	if (!cb) {
		snprintf(err, n, "the stand-in's /authorize answered %ld",
			 status);
		return -1;
	}
	jauth_result rc = jauth_authorize_finish(h, cb, &report);
	free(cb);
	jauth_free(report);
	if (rc != JAUTH_SUCCESS) {
		snprintf(err, n, "authorize_finish: %s", jauth_error(h));
		return -1;
	}
	return 0;
}

/* ---- rows ---- */

struct line *row_line(struct row *r, const char *what)
{
	if (r->nlines == MAX_LINES)
		abort();
	struct line *l = &r->lines[r->nlines++];
	memset(l, 0, sizeof *l);
	snprintf(l->what, sizeof l->what, "%s", what);
	l->v = V_INFO;
	snprintf(l->jauth, sizeof l->jauth, "–");
	snprintf(l->baseline, sizeof l->baseline, "–");
	snprintf(l->target, sizeof l->target, "–");
	snprintf(l->result, sizeof l->result, "(information)");
	return l;
}

void row_fail(struct row *r, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	r->failed = 1;
	struct line *l = r->nlines < MAX_LINES ? row_line(r, r->title)
					       : &r->lines[MAX_LINES - 1];
	l->v = V_FAILED;
	snprintf(l->result, sizeof l->result, "NOT RUN: %.100s", why);
	text_printf(&r->para, " **The benchmark could not run: %s.**", why);
	fprintf(stderr, "jauth-bench: %s: could not run: %s\n", r->title, why);
}

void verdict_le(struct line *l, double value, double limit, const char *unit)
{
	if (value <= limit) {
		l->v = V_MET;
		snprintf(l->result, sizeof l->result, "met (%.0f%% under)",
			 limit > 0 ? (limit - value) / limit * 100 : 0.0);
	} else {
		l->v = V_MISSED;
		snprintf(l->result, sizeof l->result,
			 "MISSED by %.3g %s (%.0f%% over)", value - limit, unit,
			 limit > 0 ? (value - limit) / limit * 100 : 0.0);
	}
}

void verdict_ge(struct line *l, double value, double limit, const char *unit)
{
	if (value >= limit) {
		l->v = V_MET;
		snprintf(l->result, sizeof l->result, "met (%.0f%% over)",
			 limit > 0 ? (value - limit) / limit * 100 : 0.0);
	} else {
		l->v = V_MISSED;
		snprintf(l->result, sizeof l->result,
			 "MISSED by %.3g %s (%.0f%% short)", limit - value,
			 unit, limit > 0 ? (limit - value) / limit * 100 : 0.0);
	}
}

double refresh_median(jauth *h, int n)
{
	double t[64];
	n = n < 64 ? n : 64;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = mono_ns();
		if (jauth_refresh(h, NULL) != JAUTH_SUCCESS)
			return -1;
		t[i] = (double)(mono_ns() - t0);
	}
	return median(t, (size_t)n);
}

double cached_ns(jauth *h, long calls)
{
	const jauth_cred *c;
	if (jauth_acquire(h, &c) != JAUTH_SUCCESS)
		return -1;
	uint64_t t0 = mono_ns();
	for (long i = 0; i < calls; i++) {
		jauth_acquire(h, &c);
		ESCAPE(c);
	}
	return (double)(mono_ns() - t0) / (double)calls;
}
