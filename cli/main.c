/*
 * main.c — the jauth tool: global options, then one command (DESIGN §7).
 * Exit status: 0 ok, 2 usage or config error, 3 unavailable (needs set-up
 * or consent), 4 denied (replace the token / consent again), 5 transient
 * (try again later), 1 anything else.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command *const commands[] = {
	&cmd_token,   &cmd_authorize, &cmd_refresh, &cmd_revoke,
	&cmd_status,  &cmd_check,     &cmd_lint,    &cmd_scopes,
	&cmd_modules, &cmd_report,    &cmd_exec,    &cmd_store,
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

static void help(FILE *out)
{
	fprintf(out,
		"usage: jauth [-c CONF_PATH] [-m MODULE_PATH] [-s STATE_DIR] "
		"[-v] COMMAND [ARGS]\n\n"
		"Credentials for Jira Cloud connectors, from the stack of a "
		"service\n(/etc/jauth.d/SERVICE; see jauth.conf(5)).\n\n"
		"commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %-38s %s\n", commands[i]->name,
			commands[i]->args, commands[i]->summary);
	fprintf(out,
		"\noptions:\n"
		"  -c PATH    stack directories, colon-separated "
		"(JAUTH_CONF_PATH;\n"
		"             default /etc/jauth.d:/usr/lib/jauth.d)\n"
		"  -m PATH    module directories (JAUTH_MODULE_PATH)\n"
		"  -s DIR     state directory (JAUTH_STATE_DIR)\n"
		"  -v         log what happens on stderr; twice for debug "
		"(JAUTH_DEBUG=1)\n"
		"  -h, --help this text; jauth COMMAND --help for a command\n"
		"  --version  the version\n\n"
		"exit status: 0 ok, 2 usage or config error, 3 unavailable "
		"(set-up or\nconsent needed), 4 denied (replace the token or "
		"consent again), 5 transient\n(try again later), 1 anything "
		"else.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },
		{ 0, 0, 0, 0 },
	};
	struct cli cli = { .opt = { .size = sizeof cli.opt } };
	int o;
	while ((o = getopt_long(argc, argv, "+c:m:s:vh", longs, NULL)) != -1) {
		switch (o) {
		case 'c':
			cli.opt.conf_path = optarg;
			break;
		case 'm':
			cli.opt.module_path = optarg;
			break;
		case 's':
			cli.opt.state_dir = optarg;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'h':
			help(stdout);
			return EXIT_OK;
		case 'V':
			printf("jauth %s\n", jauth_version());
			return EXIT_OK;
		default:
			help(stderr);
			return EXIT_USAGE;
		}
	}
	if (cli.verbose)
		cli.opt.log_level =
			cli.verbose > 1 ? JAUTH_LOG_DEBUG : JAUTH_LOG_INFO;
	if (optind >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}
	const struct command *c = find(argv[optind]);
	if (!c)
		return fail(EXIT_USAGE,
			    "unknown command \"%s\": jauth --help lists them",
			    argv[optind]);
	return c->run(&cli, argc - optind, argv + optind);
}
