/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx FX;
struct standin SI;

void fx_standin_up(void)
{
	if (standin_start(&SI, NULL) != 0)
		abort();
}

void fx_standin_down(void)
{
	standin_stop(&SI);
}

void fx_setup_standin(void)
{
	fx_setup();
	ck_assert_int_eq(standin_reset(&SI), 0);
}

static void capture(void *ctx, int level, const char *line)
{
	struct fx *f = ctx;
	char *add;
	if (asprintf(&add, "%d %s\n", level, line) < 0)
		abort();
	pthread_mutex_lock(&f->log_mu);
	size_t n = strlen(add);
	f->log = realloc(f->log, f->log_len + n + 1);
	memcpy(f->log + f->log_len, add, n + 1);
	f->log_len += n;
	pthread_mutex_unlock(&f->log_mu);
	free(add);
}

static time_t fake_now(void *ctx)
{
	struct fx *f = ctx;
	return f->fake_clock ? atomic_load(&f->now) : time(NULL);
}

void fx_clock(time_t t)
{
	atomic_store(&FX.now, t);
	FX.fake_clock = 1;
}

/* Copies every .so of SRC into DST with mode 0644. */
static void copy_modules(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0)
			continue;
		char from[PATH_MAX + 300], to[PATH_MAX + 300];
		snprintf(from, sizeof from, "%s/%s", src, e->d_name);
		snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
		char *data = NULL;
		FILE *in = fopen(from, "rb");
		ck_assert_ptr_nonnull(in);
		fseek(in, 0, SEEK_END);
		long len = ftell(in);
		rewind(in);
		data = malloc((size_t)len);
		ck_assert_int_eq(fread(data, 1, (size_t)len, in), len);
		fclose(in);
		int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, data, (size_t)len), len);
		fchmod(fd, 0644);
		close(fd);
		free(data);
	}
	closedir(d);
}

void fx_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	memset(&FX, 0, sizeof FX);
	pthread_mutex_init(&FX.log_mu, NULL);
	snprintf(FX.dir, sizeof FX.dir, "%s/jauth-test-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(FX.dir));
	snprintf(FX.conf, sizeof FX.conf, "%s/conf", FX.dir);
	snprintf(FX.mods, sizeof FX.mods, "%s/modules", FX.dir);
	snprintf(FX.state, sizeof FX.state, "%s/state", FX.dir);
	ck_assert_int_eq(mkdir(FX.conf, 0755), 0);
	ck_assert_int_eq(mkdir(FX.mods, 0755), 0);
	chmod(FX.conf, 0755);
	chmod(FX.mods, 0755);
	copy_modules(JAUTH_TEST_BUILDDIR "/modules", FX.mods);
	copy_modules(JAUTH_TEST_BUILDDIR "/tests/modules", FX.mods);
	FX.opt.size = sizeof FX.opt;
	FX.opt.conf_path = FX.conf;
	FX.opt.module_path = FX.mods;
	FX.opt.state_dir = FX.state;
	FX.opt.log = capture;
	FX.opt.log_ctx = &FX;
	FX.opt.log_level = JAUTH_LOG_DEBUG;
	FX.opt.clock = fake_now;
	FX.opt.clock_ctx = &FX;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

void fx_teardown(void)
{
	if (FX.dir[0])
		nftw(FX.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(FX.log);
	FX.log = NULL;
}

static void write_n(const char *path, int mode, const char *data, size_t n)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd >= 0, "cannot write %s: %s", tmp, strerror(errno));
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	fchmod(fd, (mode_t)mode);
	close(fd);
	ck_assert_int_eq(rename(tmp, path), 0);
}

void fx_write(const char *path, int mode, const char *text)
{
	write_n(path, mode, text, strlen(text));
}

void fx_stack_bytes(const char *service, const char *data, size_t n)
{
	char path[PATH_MAX + 80];
	snprintf(path, sizeof path, "%s/%s", FX.conf, service);
	write_n(path, 0644, data, n);
}

void fx_stack(const char *service, const char *fmt, ...)
{
	char path[PATH_MAX + 80], *text;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	snprintf(path, sizeof path, "%s/%s", FX.conf, service);
	fx_write(path, 0644, text);
	free(text);
}

const char *fx_path(const char *name)
{
	static __thread char buf[PATH_MAX + 256];
	snprintf(buf, sizeof buf, "%s/%s", FX.dir, name);
	return buf;
}

char *fx_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			s = realloc(s, cap);
		}
		memcpy(s + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!s)
		s = calloc(1, 1);
	s[len] = '\0';
	return s;
}

int fx_count(const char *path, char c)
{
	char *s = fx_read(path);
	int n = 0;
	for (char *p = s; p && *p; p++)
		n += *p == c;
	free(s);
	return n;
}

jauth *fx_open_want(const char *service, jauth_result want)
{
	jauth *h = NULL;
	jauth_result rc = jauth_open(service, &FX.opt, &h);
	ck_assert_msg(rc == want, "jauth_open(%s) = %s, want %s: %s", service,
		      jauth_result_name(rc), jauth_result_name(want),
		      jauth_error(h));
	return h;
}

const char *fx_auth(jauth *h, jauth_result *rc)
{
	const jauth_cred *c = NULL;
	*rc = jauth_acquire(h, &c);
	return *rc == JAUTH_SUCCESS ? jauth_cred_authorization(c) : "";
}

int fx_log_has(const char *s)
{
	pthread_mutex_lock(&FX.log_mu);
	int has = FX.log && strstr(FX.log, s);
	pthread_mutex_unlock(&FX.log_mu);
	return has;
}

/* Reads all of FD into a malloc'd string. */
static char *slurp_fd(int fd)
{
	char *s = NULL, chunk[4096];
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		s = realloc(s, len + (size_t)n + 1);
		memcpy(s + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	if (!s)
		s = calloc(1, 1);
	s[len] = '\0';
	return s;
}

int fx_cli_argv(const char *stdin_text, char **out, char **err,
		char *const argv[])
{
	char *const *a = argv;
	const char *args[64];
	size_t n = 0;
	args[n++] = JAUTH_TEST_BUILDDIR "/bin/jauth";
	args[n++] = "-c";
	args[n++] = FX.opt.conf_path;
	args[n++] = "-m";
	args[n++] = FX.opt.module_path;
	args[n++] = "-s";
	args[n++] = FX.opt.state_dir;
	while (*a && n < 63)
		args[n++] = *a++;
	args[n] = NULL;
	char opath[PATH_MAX + 16], epath[PATH_MAX + 16], ipath[PATH_MAX + 16];
	snprintf(opath, sizeof opath, "%s/cli.out", FX.dir);
	snprintf(epath, sizeof epath, "%s/cli.err", FX.dir);
	snprintf(ipath, sizeof ipath, "%s/cli.in", FX.dir);
	fx_write(ipath, 0600, stdin_text ? stdin_text : "");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open(ipath, O_RDONLY);
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	int fd = open(opath, O_RDONLY);
	*out = slurp_fd(fd);
	close(fd);
	fd = open(epath, O_RDONLY);
	*err = slurp_fd(fd);
	close(fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int fx_cli(const char *stdin_text, char **out, char **err, ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;
	va_start(ap, err);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return fx_cli_argv(stdin_text, out, err, argv);
}

void fx_oauth_stack(void)
{
	fx_stack(
		"svc",
		"required oauth3lo.so client_id=cid client_secret=@env:CLIENT_SECRET "
		"auth_url=%s api_url=%s ca_file=%s redirect_uri=https://app.example/cb\n",
		SI.url, SI.url, SI.ca);
}

jauth_result fx_consent(jauth *h)
{
	char *url = NULL, *report = NULL;
	ck_assert_msg(jauth_authorize_begin(h, &url) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	char *cb = standin_consent(&SI, url, NULL);
	ck_assert_ptr_nonnull(cb);
	jauth_result rc = jauth_authorize_finish(h, cb, &report);
	free(cb);
	jauth_free(url);
	jauth_free(report);
	return rc;
}

const char *fx_grant_file(void)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/svc.oauth3lo.cid.json",
		 FX.opt.state_dir);
	return path;
}

cJSON *fx_grant_record(void)
{
	char *text = fx_read(fx_grant_file());
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	return j;
}

long fx_myself(const jauth_cred *c)
{
	char url[512];
	snprintf(url, sizeof url, "%s/rest/api/3/myself",
		 jauth_cred_base_url(c));
	return standin_get(&SI, url, jauth_cred_authorization(c), NULL);
}

struct caller {
	jauth *h;
	pthread_barrier_t *go;
	int ok;
};

/* Acquires once at the barrier and checks that Jira accepts what it got. */
static void *call(void *p)
{
	struct caller *c = p;
	const jauth_cred *cr;
	pthread_barrier_wait(c->go);
	c->ok = jauth_acquire(c->h, &cr) == JAUTH_SUCCESS &&
		fx_myself(cr) == 200;
	return NULL;
}

int fx_storm(jauth *h, int threads)
{
	pthread_barrier_t go;
	pthread_t t[64];
	struct caller c[64];
	int served = 0;
	ck_assert_int_le(threads, 64);
	pthread_barrier_init(&go, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		c[i] = (struct caller){ .h = h, .go = &go };
		pthread_create(&t[i], NULL, call, &c[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		served += c[i].ok;
	}
	pthread_barrier_destroy(&go);
	return served;
}
