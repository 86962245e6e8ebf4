/* cmd_token.c — jauth token SERVICE [--format json|header]: a credential
 * for scripts and connectors in any language. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static int print_json(const jauth_cred *c)
{
	cJSON *o = cJSON_CreateObject();
	time_t exp = jauth_cred_expires_at(c);
	cJSON_AddStringToObject(o, "authorization",
				jauth_cred_authorization(c));
	cJSON_AddStringToObject(o, "scheme", jauth_cred_scheme(c));
	cJSON_AddStringToObject(o, "base_url", jauth_cred_base_url(c));
	if (exp)
		cJSON_AddNumberToObject(o, "expires_at", (double)exp);
	else
		cJSON_AddNullToObject(o, "expires_at");
	cJSON_AddStringToObject(o, "module", jauth_cred_module(c));
	cJSON_AddStringToObject(o, "source", jauth_cred_source(c));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return fail(EXIT_OTHER, "out of memory");
	printf("%s\n", text);
	jauth_free(text);
	return EXIT_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "format", required_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *format = "json";
	int o, status;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "f:h", longs, NULL)) != -1) {
		if (o == 'h')
			return command_help(&cmd_token), EXIT_OK;
		if (o != 'f')
			return usage(&cmd_token);
		format = optarg;
	}
	if (optind != argc - 1 ||
	    (strcmp(format, "json") != 0 && strcmp(format, "header") != 0))
		return usage(&cmd_token);
	jauth *h = open_service(cli, argv[optind], &status);
	if (!h)
		return status;
	const jauth_cred *c;
	jauth_result r = jauth_acquire(h, &c);
	if (r != JAUTH_SUCCESS)
		status = fail_handle(h, r);
	else if (strcmp(format, "header") == 0)
		status = printf("Authorization: %s\n",
				jauth_cred_authorization(c)) < 0;
	else
		status = print_json(c);
	jauth_close(h);
	return status;
}

const struct command cmd_token = {
	.name = "token",
	.args = "SERVICE [--format json|header]",
	.summary = "print a credential",
	.help = "Runs SERVICE's stack and prints the credential on stdout:\n"
		"  json (default)  {\"authorization\",\"scheme\",\"base_url\","
		"\"expires_at\",\"module\",\"source\"}\n"
		"                  expires_at is seconds since the epoch, or "
		"null\n"
		"  header          Authorization: <value>, for\n"
		"                  jauth token jira --format header | curl -H @- "
		"URL\n"
		"The credential is a secret: keep it out of logs and argv.\n",
	.run = run,
};
