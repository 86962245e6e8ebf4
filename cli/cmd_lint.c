/* cmd_lint.c — jauth lint [SERVICE...]: every problem of the stacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* Lints one service; prints its problems. Returns how many. */
static int lint_one(struct cli *cli, const char *service)
{
	char *report = NULL;
	int n = 0;
	jauth_result r = jauth_lint(service, &cli->opt, &report);
	if (!report)
		return fail(EXIT_OTHER, "%s: %s", service,
			    jauth_result_name(r)),
		       1;
	for (char *line = strtok(report, "\n"); line;
	     line = strtok(NULL, "\n")) {
		printf("%s\n", line);
		n++;
	}
	jauth_free(report);
	return n;
}

/* Every service name on the conf path, as a cJSON array. */
static cJSON *all_services(struct cli *cli)
{
	char *json = NULL;
	if (jauth_services(&cli->opt, &json) != JAUTH_SUCCESS)
		return NULL;
	cJSON *arr = cJSON_Parse(json);
	jauth_free(json);
	return arr;
}

static int run(struct cli *cli, int argc, char **argv)
{
	int first, status = simple_args(&cmd_lint, argc, argv, &first);
	int problems = 0, stacks = 0;
	if (status >= 0)
		return status;
	if (first < argc) {
		for (int i = first; i < argc; i++, stacks++)
			problems += lint_one(cli, argv[i]);
	} else {
		cJSON *arr = all_services(cli), *it;
		cJSON_ArrayForEach (it, arr) {
			cJSON *s = cJSON_GetObjectItem(it, "service");
			problems += lint_one(cli, s->valuestring);
			stacks++;
		}
		cJSON_Delete(arr);
		if (!stacks)
			return fail(EXIT_USAGE,
				    "no stacks in the conf path: create "
				    "/etc/jauth.d/SERVICE or use -c");
	}
	if (problems)
		fprintf(stderr, "jauth: %d problem%s in %d stack%s\n", problems,
			problems == 1 ? "" : "s", stacks,
			stacks == 1 ? "" : "s");
	else
		printf("ok: %d stack%s\n", stacks, stacks == 1 ? "" : "s");
	return problems ? EXIT_USAGE : EXIT_OK;
}

const struct command cmd_lint = {
	.name = "lint",
	.args = "[SERVICE...]",
	.summary = "every problem in the stacks, without the network",
	.help = "Parses each stack (all in the conf path when no SERVICE is "
		"given), checks the\nfiles' owners and modes, loads the modules "
		"and lets them check their arguments.\nPrints one FILE:LINE: "
		"problem per line; exit status 2 when there is any.\n",
	.run = run,
};
