/* util.c — output and error helpers of the jauth tool. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"

int exit_of(jauth_result r)
{
	switch (r) {
	case JAUTH_SUCCESS:
		return EXIT_OK;
	case JAUTH_UNAVAILABLE:
		return EXIT_UNAVAILABLE;
	case JAUTH_DENIED:
		return EXIT_DENIED;
	case JAUTH_TRANSIENT:
		return EXIT_TRANSIENT;
	case JAUTH_CONFIG:
		return EXIT_USAGE;
	default:
		return EXIT_OTHER;
	}
}

int fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("jauth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int usage(const struct command *c)
{
	fprintf(stderr, "usage: jauth %s %s\n(jauth help %s tells more)\n",
		c->name, c->args, c->name);
	return EXIT_USAGE;
}

int usage_why(const struct command *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "jauth %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage(c);
}

int args_count(const struct command *c, int argc, char **argv, int first,
	       int min, int max)
{
	int n = argc - first;
	if (n < min)
		return usage_why(c, "%s",
				 n ? "too few arguments" : "missing SERVICE");
	if (max >= 0 && n > max)
		return usage_why(c, "unexpected argument \"%s\"",
				 argv[first + max]);
	return -1;
}

int no_stacks(const struct cli *cli)
{
	const char *path = cli->opt.conf_path;
	if (!path)
		path = secure_getenv("JAUTH_CONF_PATH");
	if (!path || !*path)
		path = "/etc/jauth.d:/usr/lib/jauth.d";
	return fail(EXIT_USAGE,
		    "no stacks in the conf path %s: create a stack file "
		    "named after its service in one of its directories (see "
		    "jauth.conf(5)), or give the right path with -c",
		    path);
}

int json_out(cJSON *doc)
{
	char *text = cJSON_Print(doc);
	if (!text)
		return fail(EXIT_OTHER, "out of memory");
	printf("%s\n", text);
	cJSON_free(text);
	return EXIT_OK;
}

int confirm(const char *fmt, ...)
{
	char answer[16] = { 0 };
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" [y/N] ", stderr);
	fflush(stderr);
	if (!fgets(answer, sizeof answer, stdin))
		return 0;
	answer[strcspn(answer, "\r\n")] = '\0';
	/* y or yes only: "yup" or "y, but wait" is no answer to act on */
	return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

void command_help(const struct command *c)
{
	printf("usage: jauth [-c CONF_PATH] [-m MODULE_PATH] [-s STATE_DIR] "
	       "[-v] %s %s\n\n%s\n\n%s",
	       c->name, c->args, c->summary, c->help);
}

int simple_args(const struct command *c, int argc, char **argv, int *first)
{
	struct flags f;
	return command_args(c, argc, argv, 0, &f, first);
}

int command_args(const struct command *c, int argc, char **argv,
		 unsigned allowed, struct flags *f, int *first)
{
	static const struct option longs[] = {
		{ "help", no_argument, 0, 'h' },
		{ "json", no_argument, 0, 'j' },
		{ "yes", no_argument, 0, 'y' },
		{ "offline", no_argument, 0, 'o' },
		{ 0, 0, 0, 0 },
	};
	int o;
	*f = (struct flags){ 0 };
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "hy", longs, NULL)) != -1) {
		if (o == 'h')
			return command_help(c), EXIT_OK;
		if (o == 'j' && (allowed & FLAG_JSON))
			f->json = 1;
		else if (o == 'y' && (allowed & FLAG_YES))
			f->yes = 1;
		else if (o == 'o' && (allowed & FLAG_OFFLINE))
			f->offline = 1;
		else if (o == '?')
			return usage(c); /* getopt said why */
		else
			return usage_why(c, "%s does not take %s", c->name,
					 argv[optind - 1]);
	}
	*first = optind;
	return -1;
}

jauth *open_service(struct cli *cli, const char *service, int *status)
{
	return open_service_json(cli, service, status, NULL);
}

jauth *open_service_json(struct cli *cli, const char *service, int *status,
			 const char *const *json)
{
	jauth *h = NULL;
	jauth_result r = jauth_open(service, &cli->opt, &h);
	if (r == JAUTH_SUCCESS)
		return h;
	*status = fail(exit_of(r), "%s", jauth_error(h));
	if (json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "service", service);
		cJSON_AddStringToObject(doc, "result", jauth_result_name(r));
		cJSON_AddStringToObject(doc, "error", jauth_error(h));
		for (const char *const *k = json; *k; k++)
			cJSON_AddNullToObject(doc, *k);
		json_out(doc);
		cJSON_Delete(doc);
	}
	jauth_close(h);
	return NULL;
}

int fail_handle(jauth *h, jauth_result r)
{
	const char *msg = jauth_error(h);
	return fail(exit_of(r), "%s", *msg ? msg : jauth_result_name(r));
}

const char *when(time_t t, time_t now)
{
	static char buf[96];
	struct tm tm;
	char day[40];
	if (t <= 0)
		return "never";
	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S UTC", &tm);
	long d = (long)(t - now);
	long a = d < 0 ? -d : d;
	const char *dir = d < 0 ? "ago" : "from now";
	if (a < 60)
		snprintf(buf, sizeof buf, "%s (just now)", day);
	else if (a >= 2 * 86400)
		snprintf(buf, sizeof buf, "%s (%ld days %s)", day, a / 86400,
			 dir);
	else if (a >= 2 * 3600)
		snprintf(buf, sizeof buf, "%s (%ld hours %s)", day, a / 3600,
			 dir);
	else
		snprintf(buf, sizeof buf, "%s (%ld min %s)", day, a / 60, dir);
	return buf;
}
