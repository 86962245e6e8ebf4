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

static const struct command cmd_help;

/* The commands, in the order jauth help lists them. A new command is one
 * line here and its struct command in its own file. */
static const struct command *const commands[] = {
	&cmd_token, &cmd_authorize, &cmd_refresh, &cmd_revoke,	&cmd_status,
	&cmd_check, &cmd_lint,	    &cmd_scopes,  &cmd_modules, &cmd_report,
	&cmd_exec,  &cmd_store,	    &cmd_doctor,  &cmd_help,
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

static const char synopsis[] = "usage: jauth [-c CONF_PATH] [-m MODULE_PATH] "
			       "[-s STATE_DIR] [-v] COMMAND [ARGS]\n";

static void help(FILE *out)
{
	fprintf(out,
		"%s\n"
		"Credentials for Jira Cloud connectors, from the stack of a "
		"service\n(/etc/jauth.d/SERVICE; see jauth.conf(5)).\n\n"
		"commands:\n",
		synopsis);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %-38s %s\n", commands[i]->name,
			commands[i]->args, commands[i]->summary);
	fprintf(out,
		"\noptions:\n"
		"  -c PATH    stack directories, colon-separated "
		"(JAUTH_CONF_PATH;\n"
		"             default /etc/jauth.d:/usr/lib/jauth.d)\n"
		"  -m PATH    module directories (JAUTH_MODULE_PATH)\n"
		"  -s DIR     state directory, an absolute path "
		"(JAUTH_STATE_DIR)\n"
		"  -v         log what happens on stderr; twice for debug "
		"(JAUTH_DEBUG=1)\n"
		"  -h, --help this text; jauth help COMMAND for a command\n"
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

/* The edit distance of A and B, adjacent swaps counting one (Damerau). */
static size_t distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 32 || m > 32)
		return 99;
	size_t d[33][33];
	for (size_t i = 0; i <= n; i++)
		for (size_t j = 0; j <= m; j++) {
			if (!i || !j) {
				d[i][j] = i + j;
				continue;
			}
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

/* The command NAME was probably meant to be, or NULL: the only one NAME
 * is a prefix of, else the nearest within two edits. */
static const struct command *meant(const char *name)
{
	const struct command *best = NULL;
	size_t best_d = 3, n = strlen(name), prefixed = 0;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (n && strncmp(commands[i]->name, name, n) == 0)
			best = commands[i], prefixed++;
	if (prefixed == 1)
		return best;
	best = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		size_t d = distance(name, commands[i]->name);
		if (d < best_d) {
			best_d = d;
			best = commands[i];
		}
	}
	return best;
}

static int unknown_command(const char *name)
{
	const struct command *c = meant(name);
	char several[200] = "";
	size_t n = strlen(name), used = 0;
	for (size_t i = 0; !c && n && i < NCOMMANDS; i++)
		if (strncmp(commands[i]->name, name, n) == 0 &&
		    used < sizeof several)
			used += (size_t)snprintf(several + used,
						 sizeof several - used, "%s%s",
						 used ? ", " : "",
						 commands[i]->name);
	if (c || *several)
		return fail(EXIT_USAGE,
			    "unknown command \"%s\": did you mean %s%s%s? "
			    "(jauth help lists the commands)",
			    name, c ? "\"" : "one of ", c ? c->name : several,
			    c ? "\"" : "");
	return fail(EXIT_USAGE,
		    "unknown command \"%s\": jauth help lists the commands",
		    name);
}

/* jauth help [COMMAND | --commands] */
static int run_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 2)
		return usage_why(&cmd_help, "one COMMAND at most, not \"%s\"",
				 argv[2]);
	if (argc == 1) {
		help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--commands") == 0) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			printf("%s\n", commands[i]->name);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return command_help(&cmd_help), EXIT_OK;
	const struct command *c = find(argv[1]);
	if (!c)
		return unknown_command(argv[1]);
	command_help(c);
	return EXIT_OK;
}

static const struct command cmd_help = {
	.name = "help",
	.args = "[COMMAND]",
	.summary = "this list, or what COMMAND does and takes",
	.help = "Without COMMAND, the commands and global options; with one, "
		"its usage, options\nand what it does (the same as jauth COMMAND "
		"--help; exit statuses: jauth\nhelp). --commands prints the "
		"command names alone, one per line, for\ncompletion scripts.\n",
	.run = run_help,
};

/* The global option getopt just refused (O is '?' or ':'), in one line. */
static int global_option_error(int o, char **argv)
{
	const char *arg = argv[optind - 1];
	if (o == ':')
		return fail(EXIT_USAGE,
			    "option %s needs an argument: jauth help lists "
			    "the options",
			    arg);
	if (optopt && arg[0] == '-' && arg[1] != '-')
		return fail(EXIT_USAGE,
			    "unknown option -%c: global options are -c, -m, "
			    "-s, -v (jauth help)",
			    optopt);
	return fail(EXIT_USAGE,
		    "unknown option %s: global options are -c, -m, -s, -v "
		    "(jauth help)",
		    arg);
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
	opterr = 0; /* our own one-line errors, without argv[0]'s path */
	while ((o = getopt_long(argc, argv, "+:c:m:s:vh", longs, NULL)) != -1) {
		switch (o) {
		case 'c':
			cli.opt.conf_path = optarg;
			break;
		case 'm':
			cli.opt.module_path = optarg;
			break;
		case 's':
			if (optarg[0] != '/')
				return fail(
					EXIT_USAGE,
					"-s %s: the state directory must be "
					"an absolute path",
					optarg);
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
			return global_option_error(o, argv);
		}
	}
	if (cli.verbose)
		cli.opt.log_level =
			cli.verbose > 1 ? JAUTH_LOG_DEBUG : JAUTH_LOG_INFO;
	if (optind >= argc) {
		fputs(synopsis, stderr);
		return fail(EXIT_USAGE,
			    "no command given: jauth help lists the commands");
	}
	const struct command *c = find(argv[optind]);
	if (!c)
		return unknown_command(argv[optind]);
	/* getopt's messages in the commands start with argv[0]: make it
	 * "jauth COMMAND" rather than the bare command name. */
	char name[64];
	snprintf(name, sizeof name, "jauth %s", c->name);
	argv[optind] = name;
	opterr = 1;
	cli_guard_secrets(c->name);
	return c->run(&cli, argc - optind, argv + optind);
}
