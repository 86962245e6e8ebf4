/* cmd_lint.c — jauth lint [SERVICE...] [--json]: every problem of the
 * stacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* Lints one service; adds its problems to PROBLEMS ({"service",
 * "message"} each). Returns how many. */
static int lint_one(struct cli *cli, const char *service, cJSON *problems)
{
	char *report = NULL;
	int n = 0;
	jauth_result r = jauth_lint(service, &cli->opt, &report);
	if (!report && asprintf(&report, "%s: cannot be linted: %s", service,
				jauth_result_name(r)) < 0)
		return 1;
	for (char *line = strtok(report, "\n"); line;
	     line = strtok(NULL, "\n")) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "service", service);
		cJSON_AddStringToObject(p, "message", line);
		cJSON_AddItemToArray(problems, p);
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

/* Lints the named services, or all; fills PROBLEMS, returns the count of
 * stacks. */
static int lint_all(struct cli *cli, int argc, char **argv, int first,
		    cJSON *problems)
{
	int stacks = 0;
	for (int i = first; i < argc; i++, stacks++)
		lint_one(cli, argv[i], problems);
	if (first < argc)
		return stacks;
	cJSON *arr = all_services(cli), *it;
	cli->opt.flags |= JAUTH_LINT_FRAGMENTS; /* fragments are included */
	cJSON_ArrayForEach (it, arr) {
		cJSON *s = cJSON_GetObjectItem(it, "service");
		lint_one(cli, s->valuestring, problems);
		stacks++;
	}
	cli->opt.flags &= ~JAUTH_LINT_FRAGMENTS;
	cJSON_Delete(arr);
	return stacks;
}

static int run(struct cli *cli, int argc, char **argv)
{
	struct flags f;
	int first, status = command_args(&cmd_lint, argc, argv, FLAG_JSON, &f,
					 &first);
	if (status >= 0)
		return status;
	cJSON *doc = cJSON_CreateObject();
	cJSON *problems = cJSON_AddArrayToObject(doc, "problems");
	int stacks = lint_all(cli, argc, argv, first, problems);
	int n = cJSON_GetArraySize(problems);
	cJSON_AddNumberToObject(doc, "stacks", stacks);
	cJSON_AddBoolToObject(doc, "ok", stacks && !n);
	if (!stacks) { /* --json still gets its document: ok is false */
		if (f.json)
			json_out(doc);
		cJSON_Delete(doc);
		return no_stacks(cli);
	}
	status = EXIT_OK;
	if (f.json) {
		status = json_out(doc);
	} else {
		cJSON *p;
		cJSON_ArrayForEach (p, problems)
			printf("%s\n",
			       cJSON_GetObjectItem(p, "message")->valuestring);
		if (n)
			fprintf(stderr, "jauth: %d problem%s in %d stack%s\n",
				n, n == 1 ? "" : "s", stacks,
				stacks == 1 ? "" : "s");
		else
			printf("ok: %d stack%s\n", stacks,
			       stacks == 1 ? "" : "s");
	}
	cJSON_Delete(doc);
	return n ? EXIT_USAGE : status;
}

const struct command cmd_lint = {
	.name = "lint",
	.args = "[SERVICE...] [--json]",
	.summary = "every problem in the stacks, without the network",
	.help = "Parses each stack (all in the conf path when no SERVICE is "
		"given), checks the\nfiles' owners and modes, loads the modules "
		"and lets them check their arguments.\nPrints one FILE:LINE: "
		"problem per line; exit status 2 when there is any.\n--json "
		"prints {\"ok\", \"stacks\", \"problems\": [{\"service\", "
		"\"message\"}]} instead.\njauth doctor checks what lint cannot: "
		"secrets, the state directory, the network.\n",
	.run = run,
};
