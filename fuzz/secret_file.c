/*
 * secret_file.c — fuzzes the @file: secret reader (core/m_secret.c): the
 * input is the secret file's contents; jauth_m_secret_get reads it for a
 * line with token=@file:PATH.
 *
 * Properties checked besides the sanitizers: the result follows the rules
 * of module.h — one trailing newline (and then one carriage return)
 * stripped, an empty or binary (NUL) secret is unavailable, over 64 KiB an
 * error — and a secret handed out holds exactly the expected bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define SECRET_MAX (64 * 1024)

static const struct jauth_arg_spec spec[] = {
	{ "token", JAUTH_ARG_SECRET, JAUTH_ARG_REQUIRED, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static struct fuzz_inst inst;
static char *path;

static void setup(void)
{
	const char *dir = fuzz_tmpdir("secret");
	path = fuzz_path(dir, "token");
	fuzz_write_file(path, "x\n", 2, 0600);
	char *arg = xasprintf("token=@file:%s", path);
	const char *const args[] = { arg, NULL };
	fuzz_inst_init(&inst, "testmod.so", args, spec);
	free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path)
		setup();
	fuzz_write_file(path, data, size, 0600);

	/* What the reader should make of it. */
	size_t n = size;
	if (n > 0 && data[n - 1] == '\n')
		n--;
	if (n > 0 && data[n - 1] == '\r')
		n--;
	jauth_result want = size > SECRET_MAX		   ? JAUTH_ERROR
			    : n == 0 || memchr(data, 0, n) ? JAUTH_UNAVAILABLE
							   : JAUTH_SUCCESS;

	jauth_m_secret *s = (jauth_m_secret *)0x1; /* must be overwritten */
	jauth_result rc = jauth_m_secret_get(&inst.m, "token", &s);
	if (rc != want)
		fuzz_fail("%zu bytes: %s, expected %s (%s)", size,
			  jauth_result_name(rc), jauth_result_name(want),
			  inst.run.msg ? inst.run.msg : "no message");
	if (rc == JAUTH_SUCCESS) {
		if (!s || jauth_m_secret_len(s) != n ||
		    memcmp(jauth_m_secret_str(s), data, n) != 0 ||
		    jauth_m_secret_str(s)[n] != '\0')
			fuzz_fail("the secret read differs from the file");
	} else if (s) {
		fuzz_fail("a secret came back with %s", jauth_result_name(rc));
	} else if (!inst.run.msg || !*inst.run.msg) {
		fuzz_fail("%s without a message", jauth_result_name(rc));
	}
	jauth_m_secret_free(s);
	fuzz_inst_reset(&inst);
	return 0;
}
