/*
 * cli_capture.h — for suites that run the jauth CLI of the build: what its
 * last run printed (out, err) and the Check fixtures that free it. Each
 * suite that includes this header gets its own copy (file-local statics),
 * so `CLI(stdin, "token", "svc")` reads the same in every suite.
 */
#ifndef JAUTH_TESTS_CLI_CAPTURE_H
#define JAUTH_TESTS_CLI_CAPTURE_H

#include <stdlib.h>

#include "fixture.h"

/* Runs the CLI with ARGS; out and err then hold what it printed. */
#define CLI(in, ...) fx_cli(in, &out, &err, __VA_ARGS__, (char *)NULL)

static char *out, *err;

/* Frees what the last CLI() printed. */
static inline void clear(void)
{
	free(out);
	free(err);
	out = err = NULL;
}

static inline void setup(void)
{
	fx_setup();
	out = err = NULL;
}

/* setup with the stand-in and the client secret the stacks name. */
static inline void setup_standin(void)
{
	fx_setup_standin();
	out = err = NULL;
	setenv("CLIENT_SECRET", "csecret", 1);
}

static inline void teardown(void)
{
	clear();
	fx_teardown();
}

#endif
