/*
 * connector.c — a connector caught with a secret in flight, for the core
 * file tests of check_secrets.c: it opens SERVICE (conf, module and state
 * paths from the environment), acquires twice (a held credential and a
 * warm cache), prints "ready", waits on its standard input, and aborts
 * when that input closes: the kernel writes its core file.
 *
 *   canary-connector [-r] [-F FREED_FILE] SERVICE [CONTROL_FILE]
 *
 * -r: a forced refresh (jauth_refresh) between the two acquires, so that
 * an OAuth grant's new tokens arrive over TLS in this process.
 *
 * With CONTROL_FILE, it also keeps that file's contents and a copy of the
 * Authorization value in plain malloc'd memory, which nothing keeps out
 * of a core file: the test's proof that it would see a canary there.
 *
 * With -F, it copies FREED_FILE's contents into a malloc'd block and
 * frees it unwiped, as a library that copies a secret would: what glibc
 * leaves of a freed block in a core file (GLIBC_TUNABLES can change that).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jauth/jauth.h>

/* FILE's contents (at most 4 KiB), into BUF. */
static size_t file_text(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(buf, 1, n - 1, f) : 0;
	if (f)
		fclose(f);
	buf[got] = '\0';
	return got;
}

static char *control_copy(const char *path, const char *authorization)
{
	char buf[4096];
	size_t n = file_text(path, buf, sizeof buf);
	size_t len = n + strlen(authorization) + 2;
	char *copy = malloc(len);
	if (copy)
		snprintf(copy, len, "%s|%s", buf, authorization);
	return copy;
}

/* A block of about the size of libcurl's request buffer, written and
 * freed: free() itself overwrites only its first 16 bytes. The file is
 * read without stdio (whose buffer would be another freed copy) and the
 * stack copy wiped, so that the block is the only copy. */
static void freed_copy(const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, 400);
	if (fd >= 0)
		close(fd);
	char *block = malloc(512);
	if (block && n > 0) {
		memset(block, '.', 512);
		memcpy(block + 64, buf, (size_t)n);
		/* the compiler must not drop the stores as dead before free */
		__asm__ volatile("" : : "r"(block) : "memory");
	}
	free(block);
	explicit_bzero(buf, sizeof buf);
}

int main(int argc, char **argv)
{
	jauth *h;
	const jauth_cred *c;
	int opt, refresh = 0;
	const char *freed = NULL;
	while ((opt = getopt(argc, argv, "rF:")) != -1) {
		if (opt == 'r')
			refresh = 1;
		else if (opt == 'F')
			freed = optarg;
		else
			return 2;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || jauth_open(argv[0], NULL, &h) != JAUTH_SUCCESS) {
		fprintf(stderr, "open: %s\n", argc < 1 ? "usage" : "failed");
		return 2;
	}
	if (jauth_acquire(h, &c) != JAUTH_SUCCESS ||
	    (refresh && jauth_refresh(h, &c) != JAUTH_SUCCESS) ||
	    jauth_acquire(h, &c) != JAUTH_SUCCESS) {
		fprintf(stderr, "acquire: %s\n", jauth_error(h));
		return 3;
	}
	if (freed)
		freed_copy(freed);
	char *volatile control =
		argc > 1 ? control_copy(argv[1], jauth_cred_authorization(c))
			 : NULL;
	printf("ready %s\n", control ? "with control" : "guarded");
	fflush(stdout);
	char c1;
	while (read(0, &c1, 1) > 0)
		;
	abort();
}
