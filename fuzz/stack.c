/*
 * stack.c — fuzzes the whole stack parser through the public API: the
 * input is the file of service "svc", and jauth_lint reads it as `jauth
 * lint` would — tokenizer, controls, includes, substacks, arguments, and
 * the module line's open (testmod.so's argument table, secrets, URLs,
 * dates, numbers).
 *
 * Set up once, in a private directory under /tmp: conf/ (svc, plus
 * "common" and "public" to include and "sub" to use as a substack) and
 * modules/ with a copy of build/tests/modules/testmod.so
 * (JAUTH_FUZZ_TESTMOD overrides the path compiled in). testmod.so needs
 * libjauth.so.1 (run with LD_LIBRARY_PATH=build/lib), but its calls must land
 * in this executable's instrumented core, which it exports (-rdynamic): the
 * set-up checks that, and that a valid stack lints clean.
 *
 * The fuzzer never makes the core dlopen or open anything outside its own
 * directory but plain files and directories: an input naming an existing
 * file as a module by absolute path, or a non-regular file as an @file:
 * secret, is skipped (see unsafe()).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

#ifndef FUZZ_TESTMOD
#define FUZZ_TESTMOD "build/tests/modules/testmod.so"
#endif

static const char common_stack[] =
	"# included by the fuzzed stack with \"include common\"\n"
	"optional testmod.so token=common-token acquire=unavailable\n";
/* Mode 0644, so its inline secret is refused. */
static const char public_stack[] =
	"# a stack others can read: \"include public\"\n"
	"required testmod.so secret=inline-secret-value\n";
static const char sub_stack[] =
	"# used by the fuzzed stack with \"substack sub\"\n"
	"[success=done default=ignore] testmod.so token=sub-one\n"
	"required testmod.so token=sub-two flag=yes num=3\n";

static char *svc;
static struct jauth_options opt;

static void drop_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static jauth_result lint(const void *text, size_t n, char **report)
{
	fuzz_write_file(svc, text, n, 0600);
	*report = NULL;
	return jauth_lint("svc", &opt, report);
}

static void setup(void)
{
	const char *testmod = getenv("JAUTH_FUZZ_TESTMOD");
	if (!testmod || !*testmod)
		testmod = FUZZ_TESTMOD;
	const char *dir = fuzz_tmpdir("stack");
	char *conf = fuzz_path(dir, "conf"), *mods = fuzz_path(dir, "modules");
	char *state = fuzz_path(dir, "state");
	fuzz_mkdir(conf, 0755);
	fuzz_mkdir(mods, 0755);
	fuzz_mkdir(state, 0700);
	char *mod = fuzz_path(mods, "testmod.so");
	if (fuzz_copy_file(testmod, mod, 0644) < 0)
		fuzz_fail("cannot read %s (%s): build it with `make "
			  "build/tests/modules/testmod.so`, or point "
			  "JAUTH_FUZZ_TESTMOD at it",
			  testmod, strerror(errno));
	char *f = fuzz_path(conf, "common");
	fuzz_write_file(f, common_stack, strlen(common_stack), 0644);
	free(f);
	f = fuzz_path(conf, "public");
	fuzz_write_file(f, public_stack, strlen(public_stack), 0644);
	free(f);
	f = fuzz_path(conf, "sub");
	fuzz_write_file(f, sub_stack, strlen(sub_stack), 0644);
	free(f);
	svc = fuzz_path(conf, "svc");

	/* Kept loaded for the whole run: the loader's dlopen then finds it
	 * already there (same file) instead of mapping it for every input. */
	if (!dlopen(mod, RTLD_NOW | RTLD_LOCAL))
		fuzz_fail("dlopen %s: %s (is LD_LIBRARY_PATH=build/lib set?)",
			  mod, dlerror());
	/* The module's calls go to the first definition in the global scope:
	 * it must be this executable's, not build/lib/libjauth.so.1's. */
	if (dlsym(RTLD_DEFAULT, "jauth_m_args") != (void *)jauth_m_args)
		fuzz_fail("jauth_m_args is not exported by the fuzzer: link "
			  "it with -rdynamic");

	opt = (struct jauth_options){
		.size = sizeof opt,
		.conf_path = conf,
		.module_path = mods,
		.state_dir = state,
		.log = drop_log,
		.log_level = JAUTH_LOG_ERROR,
		.flags = JAUTH_OPEN_NO_RELOAD,
	};
	/* conf, mods and state stay allocated: opt points at them. */
	free(mod);

	/* A valid stack must lint clean, or the fuzzer explores nothing. */
	static const char good[] = "include common\n"
				   "required testmod.so \"token=a b\" \\\n"
				   "  date=2024-02-29 num=10\n"
				   "sufficient substack sub\n";
	char *report;
	jauth_result rc = lint(good, strlen(good), &report);
	if (rc != JAUTH_SUCCESS)
		fuzz_fail("a valid stack does not lint clean (%s):\n%s",
			  jauth_result_name(rc), report ? report : "");
	jauth_free(report);
	static const char bad[] = "required testmod.so num=11\n";
	rc = lint(bad, strlen(bad), &report);
	if (rc != JAUTH_CONFIG || !strstr(report, "num= must be between"))
		fuzz_fail("testmod.so's argument check did not run:\n%s",
			  report ? report : "");
	jauth_free(report);
}

/* 1 when the stack would make the core touch a file outside the fuzzer's
 * directory that is not harmless to open: a module named by absolute path
 * that exists (it would be dlopened, constructors and all), or an @file:
 * secret that exists and is neither a regular file nor a directory (open()
 * of a device can have effects). Tokenized with the core's own lexer, so
 * the check sees exactly what the stack parser will. */
static int unsafe(const uint8_t *data, size_t size)
{
	struct lexer lx;
	struct tokens t = { 0 };
	struct problems p = { .all = 1 };
	struct stat st;
	int r, bad = 0;
	lexer_init(&lx, "svc", (const char *)data, size);
	while (!bad && (r = lexer_next(&lx, &t, &p)) != 0) {
		for (size_t i = 0; r > 0 && !bad && i < t.n; i++) {
			const char *v = t.v[i], *ref = strstr(v, "@file:");
			if (v[0] == '/' && stat(v, &st) == 0 &&
			    !S_ISDIR(st.st_mode))
				bad = 1;
			if (ref && stat(ref + 6, &st) == 0 &&
			    !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
				bad = 1;
		}
	}
	tokens_free(&t);
	problems_free(&p);
	return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!svc)
		setup();
	if (unsafe(data, size))
		return 0;
	char *report;
	jauth_result rc = lint(data, size, &report);
	if (!report)
		fuzz_fail("jauth_lint gave no report");
	if ((rc == JAUTH_SUCCESS) != (*report == '\0') ||
	    (rc != JAUTH_SUCCESS && rc != JAUTH_CONFIG))
		fuzz_fail("jauth_lint: %s with report [%s]",
			  jauth_result_name(rc), report);
	jauth_free(report);
	return 0;
}
