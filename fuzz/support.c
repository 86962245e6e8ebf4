/* support.c — see support.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

/* ---- temporary directories ---- */

#define MAX_TMPDIRS 4
static char tmpdirs[MAX_TMPDIRS][64];
static int ntmpdirs;
static pid_t tmp_owner;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tmpdirs(void)
{
	if (getpid() != tmp_owner) /* a fork's exit must not pull the rug */
		return;
	for (int i = 0; i < ntmpdirs; i++)
		nftw(tmpdirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(const char *tag)
{
	if (ntmpdirs == MAX_TMPDIRS)
		fuzz_fail("too many temporary directories");
	char *d = tmpdirs[ntmpdirs];
	snprintf(d, sizeof tmpdirs[0], "/tmp/jauth-fuzz-%s-XXXXXX", tag);
	if (!mkdtemp(d))
		fuzz_fail("mkdtemp %s: %s", d, strerror(errno));
	if (chmod(d, 0700) < 0)
		fuzz_fail("chmod %s: %s", d, strerror(errno));
	if (ntmpdirs++ == 0) {
		tmp_owner = getpid();
		atexit(rm_tmpdirs);
	}
	return d;
}

char *fuzz_path(const char *parent, const char *name)
{
	return xasprintf("%s/%s", parent, name);
}

void fuzz_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		fuzz_fail("mkdir %s: %s", path, strerror(errno));
	if (chmod(path, mode) < 0) /* whatever the umask took away */
		fuzz_fail("chmod %s: %s", path, strerror(errno));
}

void fuzz_write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		fuzz_fail("open %s: %s", path, strerror(errno));
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fuzz_fail("write %s: %s", path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0)
		fuzz_fail("chmod %s: %s", path, strerror(errno));
	close(fd);
}

int fuzz_copy_file(const char *from, const char *to, mode_t mode)
{
	FILE *f = fopen(from, "rb");
	if (!f)
		return -1;
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (!bad)
		fuzz_write_file(to, b.s ? b.s : "", b.len, mode);
	buf_wipe(&b);
	return bad ? -1 : 0;
}

/* ---- a handle and bare module instances ---- */

static void drop_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

struct jauth *fuzz_handle(void)
{
	static struct jauth *h;
	if (h)
		return h;
	struct jauth_options opt = {
		.size = sizeof opt,
		/* Nothing here is ever read: no stack, no store. */
		.conf_path = "/nonexistent/jauth-fuzz/conf",
		.module_path = "/nonexistent/jauth-fuzz/modules",
		.state_dir = "/nonexistent/jauth-fuzz/state",
		.log = drop_log,
		.log_level = JAUTH_LOG_ERROR,
	};
	h = handle_new("fuzz", &opt);
	if (!h)
		fuzz_fail("handle_new failed");
	return h;
}

void fuzz_inst_init(struct fuzz_inst *fi, const char *modname,
		    const char *const *args, const struct jauth_arg_spec *spec)
{
	struct jauth *h = fuzz_handle();
	size_t n = 0;
	while (args[n])
		n++;
	memset(fi, 0, sizeof *fi);
	fi->line.source = xstrdup("fuzz:1");
	fi->line.modname = xstrdup(modname);
	fi->line.file_mode = 0600;
	fi->line.args = xcalloc(n, sizeof *fi->line.args);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		if (!eq)
			fuzz_fail("argument %s is not key=value", args[i]);
		fi->line.args[i].key =
			xstrndup(args[i], (size_t)(eq - args[i]));
		fi->line.args[i].value = xstrdup(eq + 1);
	}
	fi->line.nargs = n;
	fi->m.h = h;
	fi->m.line = &fi->line;
	fi->m.minor = JAUTH_ABI_MINOR;
	fi->m.store_prefix = xasprintf("fuzz.%s", modname);
	fi->line.m = &fi->m;
	fi->run.h = h;
	fi->run.op = OP_OTHER;
	fi->m.run = &fi->run;
	if (jauth_m_args(&fi->m, spec) != JAUTH_SUCCESS)
		fuzz_fail("the fuzzer's own line was refused: %s",
			  fi->run.msg ? fi->run.msg : "?");
	fi->m.open = 1;
	fuzz_inst_reset(fi);
}

void fuzz_inst_reset(struct fuzz_inst *fi)
{
	struct jauth *h = fi->m.h;
	wipe_free(fi->run.msg);
	fi->run.msg = NULL;
	buf_wipe(&fi->run.say);
	if (fi->run.cred) {
		cred_free(fi->run.cred);
		fi->run.cred = NULL;
	}
	redactor_fini(&h->red);
	redactor_init(&h->red);
}
