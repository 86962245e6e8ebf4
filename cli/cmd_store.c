/* cmd_store.c — jauth store init|copy SERVICE: the shared store of a
 * service (jauth.conf(5), "store pgsql"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int store(struct cli *cli, int argc, char **argv)
{
	int first, status = simple_args(&cmd_store, argc, argv, &first);
	if (status >= 0)
		return status;
	if (first != argc - 2 || (strcmp(argv[first], "init") != 0 &&
				  strcmp(argv[first], "copy") != 0))
		return usage(&cmd_store);
	jauth *h = open_service(cli, argv[first + 1], &status);
	if (!h)
		return status;
	char *report = NULL;
	jauth_result r = strcmp(argv[first], "init") == 0
				 ? jauth_store_init(h, &report)
				 : jauth_store_copy(h, &report);
	if (report && *report)
		printf("%s", report);
	status = r == JAUTH_SUCCESS ? EXIT_OK : fail_handle(h, r);
	jauth_free(report);
	jauth_close(h);
	return status;
}

const struct command cmd_store = {
	.name = "store",
	.args = "init|copy SERVICE",
	.summary = "the shared store: create its table, move a grant in",
	.help = "For a service whose stack has a \"store pgsql …\" line "
		"(jauth.conf(5)):\n"
		"  init  creates the table jauth_record in that database "
		"(again: no change).\n"
		"  copy  moves this host's file-store records of the service "
		"(the OAuth grant)\n"
		"        into it, without a new consent, and removes the local "
		"files, so that\n"
		"        no process refreshes from them again. A record the "
		"database already\n"
		"        has is left alone.\n",
	.run = store,
};
