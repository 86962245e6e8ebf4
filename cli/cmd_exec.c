/* cmd_exec.c — jauth exec SERVICE -- COMMAND [ARGS]: runs COMMAND with the
 * credential in its environment (JIRA_BASE_URL, JIRA_AUTHORIZATION,
 * JIRA_AUTH_SCHEME, JIRA_EXPIRES_AT), as aws-vault exec and op run do. The
 * secret travels in the environment only, never in argv. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Copies the credential's variables into our environment (the exec hands
 * it on). Returns EXIT_OK or EXIT_OTHER. */
static int export_cred(const jauth_cred *c)
{
	const char *val[CRED_ENV_N];
	char expires[24];
	cred_env_values(c, val, expires);
	for (int i = 0; i < CRED_ENV_N; i++)
		if (setenv(cred_env_names[i], val[i], 1) != 0)
			return fail(EXIT_OTHER, "cannot set %s: %s",
				    cred_env_names[i], strerror(errno));
	return EXIT_OK;
}

/* After a failed exec: wipe the secret's copy in our environment. */
static void wipe_env(void)
{
	char *v = getenv("JIRA_AUTHORIZATION");
	if (v)
		explicit_bzero(v, strlen(v));
	unsetenv("JIRA_AUTHORIZATION");
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o, status;
	optind = 0; /* "+": options end at SERVICE; COMMAND keeps its own */
	while ((o = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
		if (o != 'h')
			return usage(&cmd_exec);
		return command_help(&cmd_exec), EXIT_OK;
	}
	if (optind >= argc)
		return usage_why(&cmd_exec, "missing SERVICE");
	const char *service = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return usage_why(&cmd_exec, "missing COMMAND to run");
	jauth *h = open_service(cli, service, &status);
	if (!h)
		return status;
	const jauth_cred *c;
	jauth_result r = jauth_acquire(h, &c);
	status = r == JAUTH_SUCCESS ? export_cred(c) : fail_handle(h, r);
	jauth_close(h); /* wipes the credential; nothing of jauth survives */
	if (status != EXIT_OK)
		return status;
	fflush(NULL);
	execvp(argv[optind], argv + optind);
	int e = errno;
	wipe_env();
	/* as shells do: 127 not found, 126 found but not executable */
	int missing = e == ENOENT || e == ENOTDIR;
	return fail(missing ? 127 : 126, "%s: %s: %s", argv[optind],
		    strerror(e),
		    missing ? "check its name, or give its full path (it is "
			      "looked up in PATH)"
			    : "make it executable (chmod +x), or run it "
			      "through its interpreter");
}

const struct command cmd_exec = {
	.name = "exec",
	.args = "SERVICE -- COMMAND [ARGS]",
	.summary = "run COMMAND with the credential in its environment",
	.help = "Runs SERVICE's stack, then replaces itself (execvp) with "
		"COMMAND, whose\nenvironment holds:\n"
		"  JIRA_BASE_URL       the REST base URL, without a trailing "
		"slash\n"
		"  JIRA_AUTHORIZATION  the Authorization header's value "
		"(\"Bearer …\", \"Basic …\")\n"
		"  JIRA_AUTH_SCHEME    Bearer or Basic\n"
		"  JIRA_EXPIRES_AT     when it stops working, in seconds since "
		"the epoch;\n"
		"                      empty when unknown\n"
		"The secret is in the environment only, never in argv. The exit "
		"status is\nCOMMAND's; 127 when COMMAND is not found, 126 when it "
		"cannot be run, and\njauth's own (2-5) when there is no "
		"credential. The credential is not renewed\nwhile COMMAND runs: "
		"a command that outlives JIRA_EXPIRES_AT runs jauth again,\nand "
		"one that Jira answers 401 runs jauth report SERVICE 401 first.\n",
	.run = run,
};
