/*
 * support.h — what the fuzz targets share: oracle failures, private
 * temporary directories, files, and a bare module instance (struct jauth_m)
 * for calling the module services and module code without a stack.
 *
 * Everything here is set up once per process and stays reachable from
 * static storage, so that LeakSanitizer only ever sees what one input
 * leaks.
 */
#ifndef JAUTH_FUZZ_SUPPORT_H
#define JAUTH_FUZZ_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken property ("fuzz: …" on stderr) and aborts, which both
 * libFuzzer and replay_main count as a crash. Inline, so that targets built
 * from a few core files (lex) need not link support.c. */
static inline void fuzz_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	abort();
}

/* Makes a private directory (mode 0700) /tmp/jauth-fuzz-TAG-XXXXXX,
 * removed with everything in it when the process exits normally.
 * Returns its path (static storage). */
const char *fuzz_tmpdir(const char *tag);

/* PARENT/NAME, malloc'd. */
char *fuzz_path(const char *parent, const char *name);

/* Makes directory PATH with exactly MODE. Aborts on failure. */
void fuzz_mkdir(const char *path, mode_t mode);

/* Replaces PATH's contents with DATA (N bytes), leaving it at exactly
 * MODE. Aborts on failure. */
void fuzz_write_file(const char *path, const void *data, size_t n, mode_t mode);

/* Copies FROM to TO (mode MODE). Returns 0, or -1 when FROM cannot be
 * read. */
int fuzz_copy_file(const char *from, const char *to, mode_t mode);

/* A handle for bare module instances: service "fuzz", logging at error
 * level to a callback that drops the line, no stack. Made once. */
struct jauth *fuzz_handle(void);

/* A module instance the way m_open makes one, minus the module: its line
 * (source "fuzz:1", MODNAME, ARGS as "key=value" strings, NULL-terminated),
 * and a run in progress so that jauth_m_fail keeps its message. The
 * arguments are checked against SPEC with jauth_m_args, which must accept
 * them. */
struct fuzz_inst {
	struct line line;
	struct jauth_m m;
	struct run run;
};
void fuzz_inst_init(struct fuzz_inst *fi, const char *modname,
		    const char *const *args, const struct jauth_arg_spec *spec);

/* Forgets what the last input left in the instance: the run's message and
 * admin text, and the secrets the handle's redactor learnt (so that one
 * input's masking does not depend on the inputs before it). */
void fuzz_inst_reset(struct fuzz_inst *fi);

#endif
