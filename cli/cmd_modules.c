/* cmd_modules.c — jauth modules [--json]: what the module path holds. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char *str(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : "-";
}

/* The table, one module a row, a refusal under its row. */
static void print_table(cJSON *arr)
{
	cJSON *it;
	int w = 4;
	cJSON_ArrayForEach (it, arr) {
		int len = (int)strlen(str(it, "file"));
		w = len > w ? len : w;
	}
	printf("%-*s  %-12s %-8s %-4s %s\n", w, "FILE", "NAME", "VERSION",
	       "ABI", "PATH");
	cJSON_ArrayForEach (it, arr) {
		printf("%-*s  %-12s %-8s %-4s %s\n", w, str(it, "file"),
		       str(it, "name"), str(it, "version"), str(it, "abi"),
		       str(it, "path"));
		if (cJSON_GetObjectItem(it, "error"))
			printf("%*s  refused: %s\n", w, "", str(it, "error"));
	}
}

static int run(struct cli *cli, int argc, char **argv)
{
	struct flags f;
	int first, status = command_args(&cmd_modules, argc, argv, FLAG_JSON,
					 &f, &first);
	if (status >= 0)
		return status;
	if ((status = args_count(&cmd_modules, argc, argv, first, 0, 0)) >= 0)
		return status;
	char *json = NULL;
	if (jauth_modules(&cli->opt, &json) != JAUTH_SUCCESS)
		return fail(EXIT_OTHER, "cannot list the modules");
	cJSON *arr = cJSON_Parse(json), *it;
	jauth_free(json);
	int bad = 0;
	cJSON_ArrayForEach (it, arr)
		bad += cJSON_GetObjectItem(it, "error") != NULL;
	if (f.json)
		status = json_out(arr);
	else
		print_table(arr), status = EXIT_OK;
	int n = cJSON_GetArraySize(arr);
	cJSON_Delete(arr);
	if (!n)
		return fail(EXIT_USAGE,
			    "no modules in the module path: install them "
			    "(make install, built with the same PREFIX) or "
			    "give their directory with -m DIR or "
			    "JAUTH_MODULE_PATH (build/modules in the source "
			    "tree)");
	return bad ? EXIT_USAGE : status;
}

const struct command cmd_modules = {
	.name = "modules",
	.args = "[--json]",
	.summary = "installed modules with their ABI versions",
	.help = "Lists every .so of the module path with the name, version and "
		"ABI it\nexports, after the same checks jauth_open makes; a "
		"module that would be refused\nis shown with the reason "
		"(exit status 2); so is no module at all. --json prints the "
		"list as a JSON\narray of {\"name\", \"file\", \"path\", "
		"\"version\", \"abi\", \"error\"}.\n",
	.run = run,
};
