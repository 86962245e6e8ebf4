/* cli.h — the pieces every command of the jauth tool shares. */
#ifndef JAUTH_CLI_H
#define JAUTH_CLI_H

#include <jauth/jauth.h>

/* Exit statuses of DESIGN §7. */
enum {
	EXIT_OK = 0,
	EXIT_OTHER = 1,
	EXIT_USAGE = 2, /* usage or config error */
	EXIT_UNAVAILABLE = 3,
	EXIT_DENIED = 4,
	EXIT_TRANSIENT = 5,
};

struct cli {
	struct jauth_options opt;
	int verbose;
};

struct command {
	const char *name;
	const char *args;    /* synopsis of the arguments */
	const char *summary; /* one line */
	const char *help;    /* the rest of --help */
	int (*run)(struct cli *cli, int argc, char **argv);
};

extern const struct command cmd_token, cmd_authorize, cmd_refresh, cmd_revoke,
	cmd_status, cmd_check, cmd_lint, cmd_scopes, cmd_modules, cmd_doctor;
extern const struct command cmd_report, cmd_exec, cmd_store;

/* The environment variables of a credential (jauth token --format env,
 * jauth exec): JIRA_BASE_URL, JIRA_AUTHORIZATION, JIRA_AUTH_SCHEME,
 * JIRA_EXPIRES_AT. */
#define CRED_ENV_N 4
extern const char *const cred_env_names[CRED_ENV_N];
/* Their values for C, in the same order; EXPIRES receives the expiry in
 * seconds since the epoch, "" when unknown. */
void cred_env_values(const jauth_cred *c, const char *val[CRED_ENV_N],
		     char expires[24]);

struct cJSON;

/* The exit status for a library result. */
int exit_of(jauth_result r);
/* Prints "jauth: MSG" on stderr and returns STATUS. */
int fail(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints the command's usage line on stderr and returns EXIT_USAGE. */
int usage(const struct command *c);
/* Prints "jauth COMMAND: WHY", then the usage; returns EXIT_USAGE. */
int usage_why(const struct command *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Checks that ARGV[FIRST..ARGC) holds MIN to MAX (-1: any) positional
 * arguments. Returns -1 when it does, else the usage error's status. */
int args_count(const struct command *c, int argc, char **argv, int first,
	       int min, int max);
/* Says that the conf path holds no stack (naming it); EXIT_USAGE. */
int no_stacks(const struct cli *cli);
/* Prints DOC on stdout, indented; the exit status (0, or 1 out of memory). */
int json_out(struct cJSON *doc);
/* Asks the question on stderr, reads a line on stdin: 1 for y or yes
 * (any case), 0 for anything else. */
int confirm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Handles --help/-h and unknown options for a command taking only
 * positional arguments. Returns -1 to go on, else the exit status; sets
 * *first to the index of the first positional argument. */
int simple_args(const struct command *c, int argc, char **argv, int *first);
/* The flags a command may take (ALLOWED: FLAG_… bits), besides --help. */
#define FLAG_JSON 0x1u	  /* --json */
#define FLAG_YES 0x2u	  /* --yes, -y */
#define FLAG_OFFLINE 0x4u /* --offline */
struct flags {
	int json, yes, offline;
};
/* simple_args for a command that takes the ALLOWED flags, set in *F. */
int command_args(const struct command *c, int argc, char **argv,
		 unsigned allowed, struct flags *f, int *first);
/* Prints the command's full help on stdout. */
void command_help(const struct command *c);
/* Opens SERVICE, printing the error on failure. Returns NULL then, with
 * the exit status in *status. */
jauth *open_service(struct cli *cli, const char *service, int *status);
/* open_service; with JSON (the command's other fields, NULL-terminated),
 * a failure is also printed on stdout as {"service", "result", "error"}
 * and those fields, null. */
jauth *open_service_json(struct cli *cli, const char *service, int *status,
			 const char *const *json);
/* Prints the handle's error and returns the status for R. */
int fail_handle(jauth *h, jauth_result r);
/* "2027-06-30 23:59:59 UTC (in 214 days)" style text for T (static). */
const char *when(time_t t, time_t now);
/* Makes the process non-dumpable unless COMMAND handles no secret
 * (secrets.c). */
void cli_guard_secrets(const char *command);

#endif
