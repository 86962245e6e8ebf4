/*
 * replay_main.c — runs a fuzz target without libFuzzer, for `make
 * fuzz-replay` (gcc, no clang needed): calls LLVMFuzzerTestOneInput once
 * for every file named on the command line and every file in a directory
 * named there (sorted; names starting with '.' skipped, e.g. .keep).
 *
 * After each input it asks LeakSanitizer (when linked in) for leaks, so a
 * leak is pinned on the input that caused it. On success prints
 * "TARGET: N inputs ok" (TARGET: the program's file name) and exits 0; a
 * sanitizer report, an abort or a leak names the input and exits non-zero.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static const char *prog = "replay";
static char current[4096];

static void say_current(void)
{
	if (!current[0])
		return;
	/* Async-signal-safe: called from a signal handler too. */
	static const char a[] = ": failed on input ";
	(void)!write(2, prog, strlen(prog));
	(void)!write(2, a, sizeof a - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
}

static void on_fatal_signal(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads all of PATH into a buffer of exactly its size (so that reads past
 * the end are caught). */
static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *d = realloc(data, cap);
			if (!d)
				goto fail;
			data = d;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(data);
		return NULL;
	}
	memcpy(exact, data, len);
	free(data);
	*size = len;
	return exact;
fail:
	fclose(f);
	free(data);
	return NULL;
}

static int run_one(const char *path)
{
	size_t size = 0;
	snprintf(current, sizeof current, "%s", path);
	uint8_t *data = read_file(path, &size);
	if (!data) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, path,
			strerror(errno));
		exit(2);
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	if (__lsan_do_recoverable_leak_check &&
	    __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "%s: input %s leaks memory (see above)\n", prog,
			path);
		exit(1);
	}
	current[0] = '\0';
	return 1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of directory DIR in name order. */
static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int count = 0;
	if (!d) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char **v = realloc(names, (n + 1) * sizeof *v);
		if (!v)
			abort();
		names = v;
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n])
			abort();
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			count += run_one(names[i]);
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	int count = 0;
	prog = slash ? slash + 1 : argv[0];
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", prog);
		return 2;
	}
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(say_current);
	/* Sanitizer reports come through the death callback; abort() (a
	 * broken property, see support.h) through this. Other signals are
	 * left to the sanitizers, which report them. */
	signal(SIGABRT, on_fatal_signal);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i],
				strerror(errno));
			return 2;
		}
		count += S_ISDIR(st.st_mode) ? run_dir(argv[i])
					     : run_one(argv[i]);
	}
	printf("%s: %d inputs ok\n", prog, count);
	return 0;
}
