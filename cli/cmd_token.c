/* cmd_token.c — jauth token SERVICE [--format json|header|env]: a
 * credential for scripts and connectors in any language; and the JIRA_*
 * variables it shares with jauth exec. */
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

const char *const cred_env_names[CRED_ENV_N] = {
	"JIRA_BASE_URL",
	"JIRA_AUTHORIZATION",
	"JIRA_AUTH_SCHEME",
	"JIRA_EXPIRES_AT",
};

void cred_env_values(const jauth_cred *c, const char *val[CRED_ENV_N],
		     char expires[24])
{
	time_t exp = jauth_cred_expires_at(c);
	expires[0] = '\0';
	if (exp)
		snprintf(expires, 24, "%lld", (long long)exp);
	val[0] = jauth_cred_base_url(c);
	val[1] = jauth_cred_authorization(c);
	val[2] = jauth_cred_scheme(c);
	val[3] = expires;
}

/* 1 when S holds a byte that would act on a terminal (C0 controls, DEL). */
static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* export NAME='VALUE' lines; a ' in a value becomes '\'' (close the quote,
 * an escaped quote, open again), so that eval and . read them back
 * exactly, in any POSIX shell. */
static int print_env(const jauth_cred *c)
{
	const char *val[CRED_ENV_N];
	char expires[24];
	cred_env_values(c, val, expires);
	for (int i = 0; i < CRED_ENV_N; i++)
		if (has_control(val[i]))
			return fail(EXIT_OTHER,
				    "%s holds a control character: refused; "
				    "check the stack's URLs with jauth status",
				    cred_env_names[i]);
	for (int i = 0; i < CRED_ENV_N; i++) {
		printf("export %s='", cred_env_names[i]);
		for (const char *p = val[i]; *p; p++)
			if (*p == '\'')
				fputs("'\\''", stdout);
			else
				putchar(*p);
		fputs("'\n", stdout);
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
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
	if ((status = args_count(&cmd_token, argc, argv, optind, 1, 1)) >= 0)
		return status;
	if (strcmp(format, "json") != 0 && strcmp(format, "header") != 0 &&
	    strcmp(format, "env") != 0)
		return usage_why(&cmd_token,
				 "unknown --format \"%s\": json, header or env",
				 format);
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
	else if (strcmp(format, "env") == 0)
		status = print_env(c);
	else
		status = print_json(c);
	jauth_close(h);
	return status;
}

const struct command cmd_token = {
	.name = "token",
	.args = "SERVICE [--format json|header|env]",
	.summary = "print a credential",
	.help = "Runs SERVICE's stack and prints the credential on stdout:\n"
		"  json (default)  {\"authorization\",\"scheme\",\"base_url\","
		"\"expires_at\",\"module\",\"source\"}\n"
		"                  expires_at is seconds since the epoch, or "
		"null\n"
		"  header          Authorization: <value>, for\n"
		"                  jauth token jira --format header | curl -H @- "
		"URL\n"
		"  env             export JIRA_BASE_URL='…' JIRA_AUTHORIZATION, "
		"JIRA_AUTH_SCHEME,\n"
		"                  JIRA_EXPIRES_AT (seconds since the epoch, '' "
		"when unknown)\n"
		"                  lines, single-quoted for "
		"eval \"$(jauth token jira --format env)\"\n"
		"The credential is a secret: keep it out of logs and argv.\n",
	.run = run,
};
