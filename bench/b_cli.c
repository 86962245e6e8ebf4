/*
 * b_cli.c — row 7: whole-process wall time of the jauth tool's cheap
 * calls (`token` of a cached API token and of an OAuth access token still
 * fresh in the store, `--version`, `lint`, `status`) beside git's own
 * credential helper (`git credential-store get`), in the same run,
 * interleaved. Target: each ≤ 1.3× git.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define ROUNDS 201 /* timed runs of each command */
#define WARMUP 10
#define LIMIT 1.3
#define GIT "/usr/bin/git"
#define CLI BENCH_BUILDDIR "/bin/jauth"

static struct env E;
static char cred_file[PATH_MAX + 16], git_in[PATH_MAX + 16];

enum { C_GIT, C_API, C_OAUTH, C_VERSION, C_LINT, C_STATUS, NCMD };

static const char *const names[NCMD] = {
	"git credential-store get",
	"jauth token (API token)",
	"jauth token (OAuth, fresh)",
	"jauth --version",
	"jauth lint",
	"jauth status",
};

/* The argv of command C (static storage). */
static char **argv_of(int c)
{
	static char *v[NCMD][12];
	static int made;
	if (!made) {
		char *git[] = { GIT,	  "credential-store",
				"--file", cred_file,
				"get",	  NULL };
		memcpy(v[C_GIT], git, sizeof git);
		const char *tail[NCMD][3] = {
			[C_API] = { "token", "api" },
			[C_OAUTH] = { "token", "oauth" },
			[C_VERSION] = { "--version" },
			[C_LINT] = { "lint", "api" },
			[C_STATUS] = { "status", "oauth" },
		};
		for (int i = C_API; i < NCMD; i++) {
			char **a = v[i];
			int k = 0;
			a[k++] = CLI;
			if (i != C_VERSION) {
				a[k++] = "-c";
				a[k++] = E.conf;
				a[k++] = "-m";
				a[k++] = E.mods;
				a[k++] = "-s";
				a[k++] = E.state;
			}
			for (int t = 0; t < 3 && tail[i][t]; t++)
				a[k++] = (char *)tail[i][t];
			a[k] = NULL;
		}
		made = 1;
	}
	return v[c];
}

/* One run of command C, fork to reaped exit; ns, or -1 when it failed. */
static double run_once(int c)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0,
					 c == C_GIT ? git_in : "/dev/null",
					 O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char **argv = argv_of(c);
	pid_t pid;
	int st = 0;
	uint64_t t0 = mono_ns();
	int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	if (!err)
		waitpid(pid, &st, 0);
	double ns = (double)(mono_ns() - t0);
	posix_spawn_file_actions_destroy(&fa);
	return !err && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ns : -1;
}

static int setup(struct row *r)
{
	struct standin *si = standin();
	char err[1024];
	if (!si) {
		row_fail(r, "the stand-in did not start");
		return -1;
	}
	if (access(GIT, X_OK) != 0) {
		row_fail(r, "%s is missing (apt-get install git)", GIT);
		return -1;
	}
	snprintf(cred_file, sizeof cred_file, "%s/git-credentials", E.root);
	snprintf(git_in, sizeof git_in, "%s/git-query", E.root);
	if (env_stack(&E, "api",
		      "required apitoken.so email=svc@acme.com "
		      "token=@env:" ENV_JIRA_TOKEN
		      " site=https://acme.atlassian.net\n") < 0 ||
	    env_stack(&E, "oauth", "%s\n", oauth_line(si)) < 0 ||
	    write_file(cred_file, 0600,
		       "https://svc%40acme.com:unscoped-token@acme.atlassian."
		       "net\n") < 0 ||
	    write_file(git_in, 0600,
		       "protocol=https\nhost=acme.atlassian.net\n\n") < 0) {
		row_fail(r, "cannot make its temp tree");
		return -1;
	}
	int rc = env_consent(&E, "oauth", si, err, sizeof err);
	if (rc < 0)
		row_fail(r, "consent: %s", err);
	/* The CLI of the build tree finds the libjauth of the build tree. */
	setenv("LD_LIBRARY_PATH", BENCH_BUILDDIR "/lib", 1);
	return rc;
}

void bench_cli(struct row *r)
{
	r->title = "CLI call";
	if (env_new(&E, "cli") < 0) {
		row_fail(r, "cannot make its temp tree");
		return;
	}
	if (setup(r) < 0)
		return;
	long grants = standin_counter(standin(), "token_requests");
	static double t[NCMD][ROUNDS];
	for (int i = 0; i < WARMUP + ROUNDS; i++)
		for (int c = 0; c < NCMD; c++) {
			double ns = run_once(c);
			if (ns < 0) {
				row_fail(r, "%s failed", names[c]);
				return;
			}
			if (i >= WARMUP)
				t[c][i - WARMUP] = ns;
		}
	long after = standin_counter(standin(), "token_requests");
	double m[NCMD];
	for (int c = 0; c < NCMD; c++)
		m[c] = median(t[c], ROUNDS);
	char a[32], b[32];
	for (int c = C_API; c < NCMD; c++) {
		struct line *l = row_line(r, names[c]);
		snprintf(l->jauth, sizeof l->jauth, "%s (%.2f×)",
			 fmt_time(m[c], a, sizeof a), m[c] / m[C_GIT]);
		snprintf(l->baseline, sizeof l->baseline,
			 "%s (`git credential-store get`)",
			 fmt_time(m[C_GIT], b, sizeof b));
		snprintf(l->target, sizeof l->target, "≤ %.1f× git (%s)", LIMIT,
			 fmt_time(m[C_GIT] * LIMIT, b, sizeof b));
		verdict_le(l, m[c] / 1e3, m[C_GIT] * LIMIT / 1e3, "µs");
	}
	text_printf(
		&r->para,
		"Each command is run as a whole process, `posix_spawn` to "
		"reaped exit on `CLOCK_MONOTONIC`, stdin, stdout and stderr "
		"on files: `jauth -c CONF -m MODS -s STATE token api` (a "
		"one-line `apitoken.so` stack, the token from `@env:`), "
		"`token oauth` (a one-line `oauth3lo.so` stack whose grant "
		"was consented through the stand-in before, so the store "
		"holds an access token with an hour to live), `--version`, "
		"`lint api` and `status oauth`; the baseline is git's own "
		"credential helper, `git credential-store --file F get` "
		"answering `protocol=https host=…` from a one-line "
		"credentials file — the cheapest program an admin already "
		"calls before each request. The six commands take turns, "
		"%d rounds after %d of warm-up; the figures are medians. "
		"The token endpoint saw %ld requests during the timed runs "
		"(the fresh token is served from the store). Result: git "
		"%.0f µs; jauth `token` %.0f µs (API token) and %.0f µs "
		"(OAuth), `--version` %.0f µs, `lint` %.0f µs, `status` "
		"%.0f µs. None of them maps libcurl or OpenSSL: libjauth "
		"links libc and cJSON only, and `http.so` (libcurl, OpenSSL "
		"and their ~30 dependencies) is loaded on the first HTTPS "
		"request (`LD_DEBUG=files` shows it; the `http` suite of "
		"`make check` tests it). What is left beyond `--version`, "
		"which is the cost of starting a program with libjauth and "
		"cJSON, is the work: finding the stack, its trust walk from "
		"`/`, one module `dlopen`ed and relocated, the state "
		"directory check and the record read.",
		ROUNDS, WARMUP, after - grants, m[C_GIT] / 1e3, m[C_API] / 1e3,
		m[C_OAUTH] / 1e3, m[C_VERSION] / 1e3, m[C_LINT] / 1e3,
		m[C_STATUS] / 1e3);
}
