/* cmd_simple.c — jauth refresh and jauth revoke. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The one positional argument, SERVICE; -1 to go on, else an exit status. */
static int one_service(const struct command *c, int argc, char **argv,
		       const char **service)
{
	int first, status = simple_args(c, argc, argv, &first);
	if (status >= 0)
		return status;
	if (first != argc - 1)
		return usage(c);
	*service = argv[first];
	return -1;
}

static int refresh(struct cli *cli, int argc, char **argv)
{
	const char *service = NULL;
	int status = one_service(&cmd_refresh, argc, argv, &service);
	if (status >= 0)
		return status;
	jauth *h = open_service(cli, service, &status);
	if (!h)
		return status;
	const jauth_cred *c;
	jauth_result r = jauth_refresh(h, &c);
	if (r == JAUTH_SUCCESS)
		printf("refreshed: %s (%s), %s credential, expires %s\n",
		       jauth_cred_source(c), jauth_cred_module(c),
		       jauth_cred_scheme(c),
		       when(jauth_cred_expires_at(c), time(NULL)));
	status = r == JAUTH_SUCCESS ? EXIT_OK : fail_handle(h, r);
	jauth_close(h);
	return status;
}

static int revoke(struct cli *cli, int argc, char **argv)
{
	const char *service = NULL;
	int status = one_service(&cmd_revoke, argc, argv, &service);
	if (status >= 0)
		return status;
	jauth *h = open_service(cli, service, &status);
	if (!h)
		return status;
	char *steps = NULL;
	jauth_result r = jauth_revoke(h, &steps);
	if (steps && *steps)
		printf("%s", steps);
	status = r == JAUTH_SUCCESS ? EXIT_OK : fail_handle(h, r);
	jauth_free(steps);
	jauth_close(h);
	return status;
}

const struct command cmd_refresh = {
	.name = "refresh",
	.args = "SERVICE",
	.summary = "force a refresh now",
	.help = "Runs SERVICE's stack with every module's refresh: an OAuth "
		"grant gets new\ntokens (the rotated refresh token is saved "
		"first), an API token is read again\nfrom its file or "
		"variable. Run it from cron to keep an idle OAuth grant "
		"alive\n(Atlassian drops refresh tokens unused for 90 days).\n",
	.run = refresh,
};

const struct command cmd_revoke = {
	.name = "revoke",
	.args = "SERVICE",
	.summary = "forget the grant/token, print the admin's remaining steps",
	.help = "Forgets what jauth stores for every line of SERVICE (the OAuth "
		"grant, cached\ntokens) and prints what the admin still has to do "
		"at Atlassian: Atlassian has\nno revoke endpoint for these "
		"credentials.\n",
	.run = revoke,
};
