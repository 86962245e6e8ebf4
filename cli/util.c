/* util.c — output and error helpers of the jauth tool. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	fprintf(stderr, "usage: jauth %s %s\n(jauth %s --help tells more)\n",
		c->name, c->args, c->name);
	return EXIT_USAGE;
}

void command_help(const struct command *c)
{
	printf("usage: jauth [-c CONF_PATH] [-m MODULE_PATH] [-s STATE_DIR] "
	       "[-v] %s %s\n\n%s\n\n%s",
	       c->name, c->args, c->summary, c->help);
}

int simple_args(const struct command *c, int argc, char **argv, int *first)
{
	static const struct option longs[] = { { "help", no_argument, 0, 'h' },
					       { 0, 0, 0, 0 } };
	int o;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (o != 'h')
			return usage(c);
		command_help(c);
		return EXIT_OK;
	}
	*first = optind;
	return -1;
}

jauth *open_service(struct cli *cli, const char *service, int *status)
{
	jauth *h = NULL;
	jauth_result r = jauth_open(service, &cli->opt, &h);
	if (r == JAUTH_SUCCESS)
		return h;
	*status = fail(exit_of(r), "%s", jauth_error(h));
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
