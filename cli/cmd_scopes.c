/* cmd_scopes.c — jauth scopes [full|readonly]: the scopes to paste into
 * the developer console. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scopes.h"

static int run(struct cli *cli, int argc, char **argv)
{
	int first, status = simple_args(&cmd_scopes, argc, argv, &first);
	(void)cli;
	if (status >= 0)
		return status;
	const char *set = first < argc ? argv[first] : "full";
	int full = strcmp(set, "full") == 0;
	if ((status = args_count(&cmd_scopes, argc, argv, first, 0, 1)) >= 0)
		return status;
	if (!full && strcmp(set, "readonly") != 0)
		return usage_why(&cmd_scopes,
				 "unknown set \"%s\": full or readonly", set);
	for (size_t i = 0; jauth_scopes_full[i]; i++)
		if (full || strncmp(jauth_scopes_full[i], "read:", 5) == 0)
			printf("%s\n", jauth_scopes_full[i]);
	return EXIT_OK;
}

const struct command cmd_scopes = {
	.name = "scopes",
	.args = "[full|readonly]",
	.summary = "the scope list to paste into the developer console",
	.help = "Prints one scope per line: full (default) is the 22 scopes of "
		"the setup guide\nfor a two-way sync; readonly is the read:* "
		"ones, for a pull-only sync. Add\nthem under Permissions in "
		"https://developer.atlassian.com/console/myapps.\njauth always "
		"asks for offline_access too (it is not a console permission):\n"
		"22 scopes + offline_access = 23 requested.\n",
	.run = run,
};
