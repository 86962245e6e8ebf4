/*
 * connector.c — a connector caught with a secret in flight, for the core
 * file test of check_secrets.c: it opens SERVICE (conf, module and state
 * paths from the environment), acquires twice (a held credential and a
 * warm cache), prints "ready", waits on its standard input, and aborts
 * when that input closes: the kernel writes its core file.
 *
 *   canary-connector SERVICE [CONTROL_FILE]
 *
 * With CONTROL_FILE, it also keeps that file's contents and a copy of the
 * Authorization value in plain malloc'd memory, which nothing keeps out
 * of a core file: the test's proof that it would see a canary there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jauth/jauth.h>

static char *control_copy(const char *path, const char *authorization)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	size_t len = n + strlen(authorization) + 2;
	char *copy = malloc(len);
	if (copy)
		snprintf(copy, len, "%s|%s", buf, authorization);
	return copy;
}

int main(int argc, char **argv)
{
	jauth *h;
	const jauth_cred *c;
	if (argc < 2 || jauth_open(argv[1], NULL, &h) != JAUTH_SUCCESS) {
		fprintf(stderr, "open: %s\n", argc < 2 ? "usage" : "failed");
		return 2;
	}
	if (jauth_acquire(h, &c) != JAUTH_SUCCESS ||
	    jauth_acquire(h, &c) != JAUTH_SUCCESS) {
		fprintf(stderr, "acquire: %s\n", jauth_error(h));
		return 3;
	}
	char *volatile control =
		argc > 2 ? control_copy(argv[2], jauth_cred_authorization(c))
			 : NULL;
	printf("ready %s\n", control ? "with control" : "guarded");
	fflush(stdout);
	char c1;
	while (read(0, &c1, 1) > 0)
		;
	abort();
}
