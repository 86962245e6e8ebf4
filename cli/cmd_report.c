/*
 * cmd_report.c — jauth report SERVICE HTTP_STATUS [--stdin]: jauth_report
 * for connectors that use the CLI.
 *
 * The connector's credential came from an earlier process (jauth token), so
 * this one reports the credential the stack hands out now — the same one,
 * unless it was replaced meanwhile; with --stdin, only if it is the one read
 * there. Then it acquires again, so that the module acts at once and writes
 * what the next process reads: oauth3lo.so refreshes and saves the new
 * tokens in its store; apitoken.so records the refusal in its store, and
 * refuses that token in every process until the admin replaces it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define MAX_INPUT 65536

/* All of stdin (at most MAX_INPUT bytes), or NULL. */
static char *read_stdin(size_t *len)
{
	char *buf = malloc(MAX_INPUT + 1);
	if (!buf)
		return NULL;
	*len = fread(buf, 1, MAX_INPUT, stdin);
	buf[*len] = '\0';
	return buf;
}

/* The value of export JIRA_AUTHORIZATION='…' (with '\'' for a quote), in
 * place: OUT may be S, and is never longer. */
static void unquote_env(const char *s, char *out)
{
	int quoted = 0;
	for (; *s && (quoted || (*s != '\n' && *s != ' ')); s++) {
		if (*s == '\'')
			quoted = !quoted;
		else if (!quoted && *s == '\\' && s[1])
			*out++ = *++s;
		else
			*out++ = *s;
	}
	*out = '\0';
}

/* "authorization" of jauth token's JSON, malloc'd; NULL if none. */
static char *from_json(const char *text)
{
	cJSON *o = cJSON_Parse(text);
	cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "authorization");
	char *v = NULL;
	if (cJSON_IsString(a)) {
		v = strdup(a->valuestring);
		explicit_bzero(a->valuestring, strlen(a->valuestring));
	}
	cJSON_Delete(o);
	return v;
}

/* The value after "export JIRA_AUTHORIZATION=" at LINE, unquoted and
 * malloc'd. */
static char *from_env(const char *line)
{
	size_t n = strcspn(line, "\n");
	char *v = strndup(line, n);
	if (v) {
		unquote_env(v, v);
		size_t m = strlen(v); /* the unquoting shortened it */
		explicit_bzero(v + m, n - m);
	}
	return v;
}

/* The first line of TEXT, without "Authorization:", malloc'd; NULL if
 * empty. */
static char *from_header(const char *text)
{
	static const char name[] = "Authorization:";
	if (strncasecmp(text, name, sizeof name - 1) == 0) {
		text += sizeof name - 1;
		text += strspn(text, " \t");
	}
	char *v = strndup(text, strcspn(text, "\r\n"));
	return v && *v ? v : (free(v), NULL);
}

/* The Authorization value in TEXT — jauth token's json, header or env
 * output, or the bare value — as a malloc'd string; NULL if none. */
static char *authorization_of(const char *text)
{
	static const char env[] = "export JIRA_AUTHORIZATION=";
	text += strspn(text, " \t\r\n");
	if (*text == '{')
		return from_json(text);
	const char *line = strstr(text, env);
	return line ? from_env(line + sizeof env - 1) : from_header(text);
}

/* The rejected credential given on stdin, or NULL with *status set. */
static char *stdin_credential(int *status)
{
	size_t len;
	char *in = read_stdin(&len);
	char *v = in ? authorization_of(in) : NULL;
	if (in) {
		explicit_bzero(in, len);
		free(in);
	}
	if (!v)
		*status = fail(EXIT_USAGE,
			       "--stdin: no credential on standard input: "
			       "pipe in what jauth token printed");
	return v;
}

/* 1 when the two secrets are equal (no early exit on the first
 * difference). */
static int same_secret(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned char d = n != m;
	for (size_t i = 0; i < n && i < m; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Reports C, acquires again and says what the next jauth token gets. */
static int report(jauth *h, const jauth_cred *c, int http)
{
	char *before = strdup(jauth_cred_authorization(c));
	char source[512];
	snprintf(source, sizeof source, "%s (%s)", jauth_cred_source(c),
		 jauth_cred_module(c));
	jauth_result r = jauth_report(h, c, http);
	if (r == JAUTH_SUCCESS)
		r = jauth_acquire(h, &c);
	int status;
	if (r != JAUTH_SUCCESS)
		status = fail_handle(h, r);
	else {
		int same = before &&
			   same_secret(before, jauth_cred_authorization(c));
		printf("reported HTTP %d for %s; jauth token now gives %s "
		       "credential from %s (%s)\n",
		       http, source, same ? "the same" : "a new",
		       jauth_cred_source(c), jauth_cred_module(c));
		status = EXIT_OK;
	}
	wipe_free(before);
	return status;
}

/* SERVICE, HTTP_STATUS and --stdin; -1 to go on, else the exit status. */
static int parse(int argc, char **argv, const char **service, int *http,
		 int *from_stdin)
{
	static const struct option longs[] = {
		{ "stdin", no_argument, 0, 'i' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (o == 'h')
			return command_help(&cmd_report), EXIT_OK;
		if (o != 'i')
			return usage(&cmd_report);
		*from_stdin = 1;
	}
	if (optind == argc)
		return usage_why(&cmd_report, "missing SERVICE");
	if (optind == argc - 1)
		return usage_why(&cmd_report, "missing HTTP_STATUS");
	if (optind != argc - 2)
		return usage_why(&cmd_report, "unexpected argument \"%s\"",
				 argv[optind + 2]);
	char *end;
	long n = strtol(argv[optind + 1], &end, 10);
	if (*end || (n != 401 && n != 403 && n != 404))
		return usage_why(&cmd_report,
				 "HTTP_STATUS \"%s\": give 401, 403 or 404, "
				 "the answers that say Jira refused the "
				 "credential",
				 argv[optind + 1]);
	*service = argv[optind];
	*http = (int)n;
	return -1;
}

/* Reports the credential in force on H, if it is REJECTED (when given). */
static int report_current(jauth *h, int http, const char *rejected)
{
	const jauth_cred *c;
	jauth_result r = jauth_acquire(h, &c);
	if (r != JAUTH_SUCCESS)
		return fail_handle(h, r);
	if (rejected && !same_secret(rejected, jauth_cred_authorization(c)))
		return printf("not reported: that credential was already "
			      "replaced; jauth token gives the new one\n") < 0;
	return report(h, c, http);
}

static int run(struct cli *cli, int argc, char **argv)
{
	const char *service = NULL;
	int http = 0, from_stdin = 0;
	int status = parse(argc, argv, &service, &http, &from_stdin);
	if (status >= 0)
		return status;
	char *rejected = from_stdin ? stdin_credential(&status) : NULL;
	if (from_stdin && !rejected)
		return status;
	jauth *h = open_service(cli, service, &status);
	if (h) {
		status = report_current(h, http, rejected);
		jauth_close(h);
	}
	wipe_free(rejected);
	return status;
}

const struct command cmd_report = {
	.name = "report",
	.args = "SERVICE HTTP_STATUS [--stdin]",
	.summary = "tell jauth that Jira refused the credential",
	.help = "For a connector that got 401, 403 or 404 from Jira with the "
		"credential jauth\ntoken gave it: what jauth_report does, made "
		"to last across processes. It\nreports the credential SERVICE's "
		"stack gives now (with --stdin: only if it\nis the one on "
		"standard input, as jauth token printed it in any format),\nthen "
		"asks the stack again, so that the module acts at once: an "
		"OAuth grant\nis refreshed and its new tokens saved; an API "
		"token is refused by every\nprocess until the admin replaces it. "
		"The exit status is that second answer:\n0 when jauth token "
		"gives a credential again (a new one, or the same when\nthe "
		"module deems it good), 4 denied (consent again, replace the "
		"token), 5\ntry later. Each report of the credential in force "
		"costs one OAuth refresh;\nwithout --stdin, a report that "
		"starts after another process replaced the\ncredential "
		"reports the new one too.\n",
	.run = run,
};
