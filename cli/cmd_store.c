/* cmd_store.c — jauth store init|copy|rekey SERVICE: the shared store of
 * a service (jauth.conf(5), "store pgsql"), and the key of any store. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int store(struct cli *cli, int argc, char **argv)
{
	int first, status = simple_args(&cmd_store, argc, argv, &first);
	if (status >= 0)
		return status;
	static const char *const verbs[] = { "init", "copy", "rekey" };
	jauth_result (*const calls[])(jauth *, char **) = { jauth_store_init,
							    jauth_store_copy,
							    jauth_store_rekey };
	size_t v = 0;
	while (first < argc && v < 3 && strcmp(argv[first], verbs[v]))
		v++;
	if (first == argc)
		return usage_why(&cmd_store, "missing init, copy or rekey");
	if (v == 3)
		return usage_why(&cmd_store,
				 "unknown store command \"%s\": init, copy or "
				 "rekey",
				 argv[first]);
	if (first == argc - 1)
		return usage_why(&cmd_store, "missing SERVICE");
	if (first != argc - 2)
		return usage_why(&cmd_store, "unexpected argument \"%s\"",
				 argv[first + 2]);
	jauth *h = open_service(cli, argv[first + 1], &status);
	if (!h)
		return status;
	char *report = NULL;
	jauth_result r = calls[v](h, &report);
	if (report && *report)
		printf("%s", report);
	status = r == JAUTH_SUCCESS ? EXIT_OK : fail_handle(h, r);
	jauth_free(report);
	jauth_close(h);
	return status;
}

const struct command cmd_store = {
	.name = "store",
	.args = "init|copy|rekey SERVICE",
	.summary = "the shared store: create its table, move a grant in; "
		   "rekey",
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
		"        has is left alone. Each record is opened with the "
		"store line's key=\n"
		"        or key_old= (give the file store's key as key_old=) "
		"and sealed\n"
		"        under key= (in clear without one).\n"
		"  rekey rewrites every record of the service under the key= "
		"of its store\n"
		"        line (any backend): records sealed with key_old=, or "
		"in clear, come\n"
		"        out sealed with key=, without a new consent "
		"(jauth.conf(5),\n"
		"        \"Encryption at rest\").\n",
	.run = store,
};
