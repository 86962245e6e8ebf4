/*
 * check_cli.c — the jauth tool as admins and scripts use it (DESIGN §7):
 * every command, its output, its exit status, and no secret on any of its
 * outputs even at -vv.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_capture.h"
#include "fixture.h"
#include "suites.h"

START_TEST(test_help_and_version)
{
	ck_assert_int_eq(CLI(NULL, "--help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "exit status: 0 ok, 2 usage"));
	static const char *const cmds[] = {
		"token", "authorize", "refresh", "revoke", "status", "check",
		"lint",	 "scopes",    "modules", "doctor", "help",
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		ck_assert_ptr_nonnull(strstr(out, cmds[i]));
		char *o2, *e2;
		int rc =
			fx_cli(NULL, &o2, &e2, cmds[i], "--help", (char *)NULL);
		ck_assert_msg(rc == 0 && strstr(o2, "usage: jauth"),
			      "%s --help: %d %s", cmds[i], rc, e2);
		free(o2);
		free(e2);
	}
	clear();
	ck_assert_int_eq(CLI(NULL, "--version"), 0);
	ck_assert_ptr_nonnull(strstr(out, "jauth 0."));
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
	ck_assert_int_eq(CLI(NULL, "frobnicate"), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command \"frobnicate\""));
	clear();
	ck_assert_int_eq(CLI(NULL, "token"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc", "--format", "xml"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only",
			     "--callback", "x"),
			 2);
	clear();
	ck_assert_int_eq(fx_cli(NULL, &out, &err, (char *)NULL), 2);
}
END_TEST

/* jauth(1): a usage error is one line that says what is wrong, then the
 * command's usage line; exit status 2. */
START_TEST(test_usage_errors_say_what_is_wrong)
{
	static const struct {
		const char *argv[5];
		const char *why;
	} cases[] = {
		{ { "report" }, "jauth report: missing SERVICE\n" },
		{ { "report", "svc" }, "jauth report: missing HTTP_STATUS\n" },
		{ { "report", "svc", "500" },
		  "jauth report: HTTP_STATUS \"500\": give 401, 403 or 404" },
		{ { "report", "svc", "401", "x" },
		  "jauth report: unexpected argument \"x\"\n" },
		{ { "exec" }, "jauth exec: missing SERVICE\n" },
		{ { "exec", "svc", "--" }, "jauth exec: missing COMMAND" },
		{ { "store" }, "jauth store: missing init, copy or rekey\n" },
		{ { "store", "bogus", "svc" },
		  "jauth store: unknown store command \"bogus\"" },
		{ { "store", "init" }, "jauth store: missing SERVICE\n" },
		{ { "store", "init", "svc", "x" },
		  "jauth store: unexpected argument \"x\"\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *argv[8] = { 0 };
		for (int j = 0; cases[i].argv[j]; j++)
			argv[j] = (char *)cases[i].argv[j];
		int rc = fx_cli_argv(NULL, &out, &err, argv);
		ck_assert_msg(rc == 2, "%s: exit %d", cases[i].why, rc);
		ck_assert_msg(strncmp(err, cases[i].why,
				      strlen(cases[i].why)) == 0,
			      "want [%s] first, got [%s]", cases[i].why, err);
		char want[64];
		snprintf(want, sizeof want, "\nusage: jauth %s ",
			 cases[i].argv[0]);
		ck_assert_msg(strstr(err, want), "no usage line: [%s]", err);
		clear();
	}
}
END_TEST

/* jauth(1): lint and doctor exit 2 on an empty conf path; --json still
 * prints their document, and the error names the path it looked in. */
START_TEST(test_no_stacks_json_and_the_path_named)
{
	static const char *const cmds[][3] = {
		{ "lint", "--json" }, { "doctor", "--offline", "--json" }
	};
	for (int i = 0; i < 2; i++) {
		char *argv[4] = { (char *)cmds[i][0], (char *)cmds[i][1],
				  (char *)cmds[i][2], NULL };
		ck_assert_int_eq(fx_cli_argv(NULL, &out, &err, argv), 2);
		cJSON *j = cJSON_Parse(out);
		ck_assert_msg(j, "%s --json printed no JSON: [%s]", cmds[i][0],
			      out);
		if (i == 0) {
			ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
			ck_assert_int_eq(
				cJSON_GetObjectItem(j, "stacks")->valueint, 0);
		} else {
			ck_assert_int_eq(
				cJSON_GetObjectItem(j, "status")->valueint, 2);
		}
		cJSON_Delete(j);
		ck_assert_msg(strstr(err, FX.conf), "path not named: %s", err);
		clear();
	}
}
END_TEST

START_TEST(test_token_json_and_header)
{
	fx_stack(
		"svc",
		"required testmod.so token=abc base_url=https://x.example/ lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "authorization")->valuestring,
			 "Test abc");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "scheme")->valuestring, "Test");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "base_url")->valuestring,
			 "https://x.example");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "expires_at")));
	ck_assert_str_eq(cJSON_GetObjectItem(j, "module")->valuestring,
			 "testmod.so");
	ck_assert_ptr_nonnull(
		strstr(cJSON_GetObjectItem(j, "source")->valuestring, "svc:1"));
	cJSON_Delete(j);
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc", "--format", "header"), 0);
	ck_assert_str_eq(out, "Authorization: Test abc\n");
}
END_TEST

START_TEST(test_token_exit_status_follows_the_result)
{
	static const struct {
		const char *result;
		int status;
	} table[] = {
		{ "unavailable", 3 },
		{ "denied", 4 },
		{ "transient", 5 },
		{ "error", 1 },
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		fx_stack("svc",
			 "required testmod.so acquire=%s message=\"do X\"\n",
			 table[i].result);
		ck_assert_int_eq(CLI(NULL, "token", "svc"), table[i].status);
		ck_assert_msg(strstr(err, "svc:1: do X\n"), "%s", err);
		ck_assert_str_eq(out, "");
		clear();
	}
	fx_stack("svc", "bogus testmod.so\n");
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 2);
	ck_assert_ptr_nonnull(strstr(err, "svc:1: unknown control"));
	/* one line on stderr */
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_lint_all_and_named)
{
	fx_stack("good", "required testmod.so\n");
	fx_stack("bad", "required testmod.so nokey\nbogus testmod.so\n");
	/* jauth(1): every *file* of the conf path is linted; a subdirectory
	 * (old stacks kept aside) is no stack */
	char old[PATH_MAX + 8];
	snprintf(old, sizeof old, "%s/old", FX.conf);
	ck_assert_int_eq(mkdir(old, 0755), 0);
	ck_assert_int_eq(CLI(NULL, "lint"), 2);
	ck_assert_ptr_nonnull(strstr(out, "bad:1: argument 1"));
	ck_assert_ptr_nonnull(strstr(out, "bad:2: unknown control"));
	ck_assert_ptr_nonnull(strstr(err, "2 problems in 2 stacks"));
	ck_assert_msg(!strstr(out, "old"), "%s", out);
	clear();
	ck_assert_int_eq(CLI(NULL, "lint", "good"), 0);
	ck_assert_str_eq(out, "ok: 1 stack\n");
}
END_TEST

/* jauth.conf(5): a file only ever included has no module line of its
 * own; linting every service accepts it, naming it alone still refuses
 * it (it could never succeed as a stack). */
START_TEST(test_lint_all_accepts_an_include_fragment)
{
	fx_stack("svc", "include common\nrequired testmod.so\n");
	fx_stack("common", "# included by svc; no module line of its own\n");
	ck_assert_int_eq(CLI(NULL, "lint"), 0);
	ck_assert_str_eq(out, "ok: 2 stacks\n");
	clear();
	ck_assert_int_eq(CLI(NULL, "lint", "common"), 2);
	ck_assert_ptr_nonnull(strstr(out, "no module lines"));
	clear();
	fx_stack("lonely", "# included by nothing\n");
	ck_assert_int_eq(CLI(NULL, "lint"), 2);
	ck_assert_ptr_nonnull(strstr(out, "lonely:1: the stack has no module"));
	ck_assert_ptr_null(strstr(out, "common:"));
	FX.opt.flags = JAUTH_LINT_FRAGMENTS; /* no way to open it either */
	jauth_close(fx_open_want("common", JAUTH_CONFIG));
}
END_TEST

START_TEST(test_modules_lists_and_refuses)
{
	ck_assert_int_eq(CLI(NULL, "modules"), 2); /* the bad test modules */
	ck_assert_ptr_nonnull(strstr(out, "testmod.so"));
	ck_assert_ptr_nonnull(strstr(out, "apitoken.so"));
	ck_assert_ptr_nonnull(strstr(out, "oauth3lo"));
	ck_assert_ptr_nonnull(strstr(out, "refused:"));
	clear();
	/* only good modules: 0 */
	char path[PATH_MAX + 40];
	const char *bad[] = { "testmod_newer.so", "testmod_major.so",
			      "testmod_noentry.so" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", FX.mods, bad[i]);
		unlink(path);
	}
	ck_assert_int_eq(CLI(NULL, "modules"), 0);
	ck_assert_ptr_nonnull(strstr(out, "1.0"));
	clear();
	/* none at all (a build installed for another PREFIX): 2, and how */
	DIR *d = opendir(FX.mods);
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	ck_assert_int_eq(CLI(NULL, "modules"), 2);
	ck_assert_msg(strstr(err, "no modules") &&
			      strstr(err, "JAUTH_MODULE_PATH") &&
			      strstr(err, "make install"),
		      "%s", err);
}
END_TEST

START_TEST(test_scopes)
{
	ck_assert_int_eq(CLI(NULL, "scopes"), 0);
	int n = 0;
	for (char *p = out; *p; p++)
		n += *p == '\n';
	ck_assert_int_eq(n, 22);
	ck_assert_ptr_nonnull(strstr(out, "read:board-scope:jira-software\n"));
	ck_assert_ptr_null(strstr(out, "offline_access"));
	clear();
	ck_assert_int_eq(CLI(NULL, "scopes", "readonly"), 0);
	ck_assert_ptr_null(strstr(out, "write:"));
	ck_assert_ptr_null(strstr(out, "manage:"));
	ck_assert_ptr_nonnull(strstr(out, "read:jira-work\n"));
	clear();
	ck_assert_int_eq(CLI(NULL, "scopes", "some"), 2);
}
END_TEST

START_TEST(test_refresh_revoke_status)
{
	fx_stack("svc", "required testmod.so token=abc counter=%s\n",
		 fx_path("c"));
	ck_assert_int_eq(CLI(NULL, "refresh", "svc"), 0);
	ck_assert_ptr_nonnull(strstr(out, "refreshed: "));
	ck_assert_int_eq(fx_count(fx_path("c"), 'r'), 1);
	clear();
	ck_assert_int_eq(CLI(NULL, "revoke", "svc"), 0);
	ck_assert_ptr_nonnull(strstr(out, "nothing to do at Atlassian"));
	clear();
	ck_assert_int_eq(CLI(NULL, "status", "svc"), 0);
	ck_assert_ptr_nonnull(strstr(out, "in force"));
	ck_assert_ptr_nonnull(strstr(out, "testmod.so 1.0 (ABI 1.1)"));
	clear();
	ck_assert_int_eq(CLI(NULL, "status", "svc", "--json"), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "acquire"),
					     "result")
				 ->valuestring,
			 "success");
	cJSON_Delete(j);
	clear();
	fx_stack(
		"svc",
		"required testmod.so acquire=unavailable message=\"set it up\"\n");
	ck_assert_int_eq(CLI(NULL, "status", "svc"), 3);
	ck_assert_ptr_nonnull(strstr(out, "in force  nothing: unavailable"));
}
END_TEST

/* jauth help [COMMAND] is jauth --help and jauth COMMAND --help. */
START_TEST(test_help_command)
{
	ck_assert_int_eq(CLI(NULL, "help"), 0);
	char *all = strdup(out);
	clear();
	ck_assert_int_eq(CLI(NULL, "--help"), 0);
	ck_assert_str_eq(out, all);
	free(all);
	clear();
	ck_assert_int_eq(CLI(NULL, "help", "revoke"), 0);
	char *one = strdup(out);
	ck_assert_ptr_nonnull(strstr(one, "--yes"));
	clear();
	ck_assert_int_eq(CLI(NULL, "revoke", "--help"), 0);
	ck_assert_str_eq(out, one);
	free(one);
	clear();
	ck_assert_int_eq(CLI(NULL, "help", "--commands"), 0);
	ck_assert_ptr_nonnull(strstr(out, "token\nauthorize\n"));
	ck_assert_ptr_nonnull(strstr(out, "doctor\n"));
	clear();
	ck_assert_int_eq(CLI(NULL, "help", "revokk"), 2);
	ck_assert_ptr_nonnull(strstr(err, "did you mean \"revoke\""));
}
END_TEST

/* A mistyped command, option or argument: one line that says why (without
 * the binary's path), then at most the command's usage line. */
START_TEST(test_usage_errors_say_why)
{
	static const struct {
		const char *args[4];
		const char *why;
	} table[] = {
		{ { "tokne", "svc" }, "did you mean \"token\"?" },
		{ { "stauts" }, "did you mean \"status\"?" },
		{ { "ref", "svc" }, "did you mean \"refresh\"?" },
		{ { "re", "svc" },
		  "did you mean one of refresh, revoke, report?" },
		{ { "frobnicate" }, "jauth help lists the commands" },
		{ { "token", "svc", "--format", "yaml" },
		  "unknown --format \"yaml\": json or header" },
		{ { "token", "svc", "extra" },
		  "unexpected argument \"extra\"" },
		{ { "status" }, "missing SERVICE" },
		{ { "lint", "--frob" }, "unrecognized option '--frob'" },
		{ { "lint", "--yes" }, "lint does not take --yes" },
		{ { "scopes", "some" }, "unknown set \"some\"" },
		{ { "-x", "lint" }, "unknown option -x" },
		{ { "--frob", "lint" }, "unknown option --frob" },
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		ck_assert_int_eq(fx_cli_argv(NULL, &out, &err,
					     (char **)table[i].args),
				 2);
		ck_assert_msg(strstr(err, table[i].why), "%s: %s",
			      table[i].args[0], err);
		ck_assert_msg(!strstr(err, JAUTH_TEST_BUILDDIR), "path: %s",
			      err);
		ck_assert_msg(!strstr(err, "commands:"), "whole help: %s", err);
		int lines = 0;
		for (char *p = err; *p; p++)
			lines += *p == '\n';
		ck_assert_msg(lines <= 3, "%d lines: %s", lines, err);
		clear();
	}
	/* a global option without its argument */
	char *argv[] = { JAUTH_TEST_BUILDDIR "/bin/jauth", "-s", NULL };
	char *o, *e;
	(void)o;
	(void)e;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(fx_path("e"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	char *text = fx_read(fx_path("e"));
	ck_assert_msg(strstr(text, "jauth: option -s needs an argument"), "%s",
		      text);
	free(text);
}
END_TEST

/* -s must be absolute: a usage error (2), said before anything runs. */
START_TEST(test_relative_state_dir_is_a_usage_error)
{
	char *argv[] = { "-s", "rel/state", "token", "svc", NULL };
	fx_stack("svc", "required testmod.so\n");
	ck_assert_int_eq(fx_cli_argv(NULL, &out, &err, argv), 2);
	ck_assert_ptr_nonnull(strstr(err, "must be an absolute path"));
}
END_TEST

/* A state directory others can open: a config error (2) with the fix. */
START_TEST(test_state_dir_problem_exits_2_with_the_fix)
{
	ck_assert_int_eq(mkdir(FX.state, 0755), 0);
	chmod(FX.state, 0755);
	fx_stack("svc", "required testmod.so store=rec\n");
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 2);
	ck_assert_msg(strstr(err, "chmod 700"), "%s", err);
}
END_TEST

/* --json on every command that reports. */
START_TEST(test_json_on_reporting_commands)
{
	fx_stack("good", "required testmod.so token=abc\n");
	fx_stack("bad", "bogus testmod.so\n");
	static const struct {
		const char *args[4];
		int status;
		const char *key;
	} table[] = {
		{ { "lint", "--json" }, 2, "problems" },
		{ { "lint", "good", "--json" }, 0, "ok" },
		{ { "refresh", "good", "--json" }, 0, "credential" },
		{ { "revoke", "good", "--json" }, 0, "steps" },
		{ { "doctor", "good", "--json" }, 0, "findings" },
		{ { "status", "good", "--json" }, 0, "lines" },
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		int rc = fx_cli_argv(NULL, &out, &err, (char **)table[i].args);
		ck_assert_msg(rc == table[i].status, "%s: %d %s",
			      table[i].args[0], rc, err);
		cJSON *j = cJSON_Parse(out);
		ck_assert_msg(j && cJSON_GetObjectItem(j, table[i].key),
			      "%s: %s", table[i].args[0], out);
		cJSON_Delete(j);
		clear();
	}
	CLI(NULL, "modules", "--json");
	cJSON *j = cJSON_Parse(out);
	ck_assert(cJSON_IsArray(j) && cJSON_GetArraySize(j) > 2);
	ck_assert_ptr_nonnull(strstr(out, "\"testmod.so\""));
	/* jauth(1): every entry has name, file, path, version, abi; a
	 * refused one has error too (the modules dir holds bad ones) */
	int nrefused = 0;
	cJSON *m;
	cJSON_ArrayForEach (m, j) {
		static const char *const keys[] = { "name", "file", "path",
						    "version", "abi" };
		for (int k = 0; k < 5; k++)
			ck_assert_msg(cJSON_GetObjectItem(m, keys[k]),
				      "no %s: %s", keys[k], out);
		nrefused += cJSON_GetObjectItem(m, "error") != NULL;
	}
	ck_assert_int_gt(nrefused, 0);
	cJSON_Delete(j);
	/* a stack that does not open still answers in JSON */
	static const char *const refused[] = { "refresh", "revoke", "check" };
	for (size_t i = 0; i < 3; i++) {
		clear();
		ck_assert_int_eq(CLI(NULL, refused[i], "bad", "--json"), 2);
		j = cJSON_Parse(out);
		ck_assert_msg(j && strcmp(cJSON_GetObjectItem(j, "result")
						  ->valuestring,
					  "config") == 0,
			      "%s: %s", refused[i], out);
		/* and with the command's other fields, null */
		const char *other = i == 0   ? "still_serving"
				    : i == 1 ? "steps"
					     : "account";
		ck_assert_msg(cJSON_IsNull(cJSON_GetObjectItem(j, other)),
			      "%s --json lacks %s: %s", refused[i], other, out);
		cJSON_Delete(j);
	}
	/* check --json has every field of jauth(1) even when it never got
	 * to call Jira: null until known */
	static const char *const fields[] = { "service",  "ok",	    "status",
					      "http",	  "source", "module",
					      "base_url", "account" };
	fx_stack("unset", "required testmod.so acquire=unavailable\n");
	static const char *const svcs[] = { "bad", "unset" };
	for (size_t i = 0; i < 2; i++) {
		clear();
		CLI(NULL, "check", svcs[i], "--json");
		j = cJSON_Parse(out);
		for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
			ck_assert_msg(cJSON_GetObjectItem(j, fields[k]),
				      "check %s --json lacks %s: %s", svcs[i],
				      fields[k], out);
		ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
		cJSON_Delete(j);
	}
	/* the refused one carries its problem */
	clear();
	CLI(NULL, "lint", "bad", "--json");
	j = cJSON_Parse(out);
	cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "problems"), 0);
	ck_assert_ptr_nonnull(
		strstr(cJSON_GetObjectItem(p, "message")->valuestring,
		       "bad:1:"));
	cJSON_Delete(j);
}
END_TEST

/* Runs jauth ARGS on a terminal, answers ANSWER to the question it asks;
 * returns the exit status, what it wrote in *text. */
static int on_terminal(const char *answer, char **text, char *const args[])
{
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *argv[16] = { JAUTH_TEST_BUILDDIR "/bin/jauth",
					 "-c",
					 FX.conf,
					 "-m",
					 FX.mods,
					 "-s",
					 FX.state };
		int n = 7;
		while (*args && n < 15)
			argv[n++] = *args++;
		argv[n] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	char buf[4096];
	size_t len = 0;
	int answered = 0;
	for (;;) {
		struct pollfd pfd = { master, POLLIN, 0 };
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		ssize_t n = read(master, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!answered && strstr(buf, "[y/N]")) {
			ck_assert_int_eq(write(master, answer, strlen(answer)),
					 (ssize_t)strlen(answer));
			answered = 1;
		}
	}
	close(master);
	int st;
	waitpid(pid, &st, 0);
	*text = strndup(buf, len);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* revoke asks on a terminal; --yes and a run without one do not. */
START_TEST(test_revoke_asks_on_a_terminal)
{
	fx_stack("svc", "required testmod.so counter=%s\n", fx_path("c"));
	char *text;
	char *args[] = { "revoke", "svc", NULL };
	ck_assert_int_eq(on_terminal("n\n", &text, args), 1);
	ck_assert_msg(strstr(text, "Forget the stored grant") &&
			      strstr(text, "nothing was changed"),
		      "%s", text);
	free(text);
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 0);
	/* jauth(1): anything but y or yes leaves everything as it was */
	ck_assert_int_eq(on_terminal("yup\n", &text, args), 1);
	free(text);
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 0);
	ck_assert_int_eq(on_terminal("Yes\n", &text, args), 0);
	free(text);
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 1);
	ck_assert_int_eq(on_terminal("y\n", &text, args), 0);
	free(text);
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 2);
	char *yes[] = { "revoke", "svc", "--yes", NULL };
	ck_assert_int_eq(on_terminal("", &text, yes), 0);
	ck_assert_ptr_null(strstr(text, "[y/N]"));
	free(text);
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 3);
	/* no terminal (a script, cron): no question, as rm without -i */
	ck_assert_int_eq(CLI(NULL, "revoke", "svc"), 0);
	ck_assert_ptr_null(strstr(err, "[y/N]"));
	ck_assert_int_eq(fx_count(fx_path("c"), 'v'), 4);
}
END_TEST

/* doctor, offline: one finding per line with its fix, the exit status of
 * the worst, the example's placeholders found. */
START_TEST(test_doctor_finds_what_lint_cannot)
{
	fx_write(fx_path("tok"), 0600, "t\n");
	fx_stack("svc",
		 "required testmod.so secret=@file:%s token=YOUR-CLIENT-ID\n",
		 fx_path("missing"));
	ck_assert_int_eq(CLI(NULL, "lint", "svc"), 0); /* lint sees none */
	clear();
	ck_assert_int_eq(CLI(NULL, "doctor", "svc"), 2);
	ck_assert_msg(strstr(out, "problem  svc: ") &&
			      strstr(out, "token=YOUR-CLIENT-ID is the "
					  "example's placeholder"),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "does not exist: create it"));
	ck_assert_ptr_nonnull(strstr(out, "passed the ownership checks"));
	ck_assert_ptr_nonnull(strstr(out, "will be created"));
	clear();
	/* fixed: the missing secret alone is the worst (3) */
	fx_stack("svc", "required testmod.so secret=@file:%s\n",
		 fx_path("missing"));
	ck_assert_int_eq(CLI(NULL, "doctor", "svc"), 3);
	clear();
	fx_stack("svc", "required testmod.so secret=@file:%s\n",
		 fx_path("tok"));
	ck_assert_int_eq(CLI(NULL, "doctor", "svc"), 0);
	ck_assert_ptr_nonnull(strstr(out, "is readable by uid"));
	ck_assert_ptr_nonnull(
		strstr(out, "a connector gets a Test credential"));
	ck_assert_ptr_nonnull(strstr(out, "doctor: 0 problems"));
	clear();
	/* the state directory of another mode */
	ck_assert_int_eq(mkdir(FX.state, 0750), 0);
	chmod(FX.state, 0750);
	ck_assert_int_eq(CLI(NULL, "doctor", "svc"), 2);
	ck_assert_ptr_nonnull(strstr(out, "chmod 700"));
	clear();
	/* an unset variable, in JSON */
	chmod(FX.state, 0700);
	unsetenv("DOCTOR_UNSET");
	fx_stack("svc", "required testmod.so secret=@env:DOCTOR_UNSET\n");
	ck_assert_int_eq(CLI(NULL, "doctor", "--json", "svc"), 3);
	cJSON *j = cJSON_Parse(out);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "status")->valueint, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "worst")->valuestring,
			 "problem");
	ck_assert_ptr_nonnull(strstr(out, "DOCTOR_UNSET is not set here"));
	cJSON_Delete(j);
}
END_TEST

/* 1 when the man page TEXT has a .TP section whose tag starts with the
 * bold name CMD (\fBcmd\fR, .B cmd, .BI cmd ..., .BR cmd ...,
 * .BR "cmd sub"). */
static int man_section(const char *text, const char *cmd)
{
	for (const char *p = strstr(text, ".TP\n"); p;
	     p = strstr(p + 1, ".TP\n")) {
		const char *tag = p + 4;
		char want[5][64];
		snprintf(want[0], sizeof want[0], "\\fB%s\\fR", cmd);
		snprintf(want[1], sizeof want[1], ".B %s\n", cmd);
		snprintf(want[2], sizeof want[2], ".BI %s ", cmd);
		snprintf(want[3], sizeof want[3], ".BR %s ", cmd);
		snprintf(want[4], sizeof want[4], ".BR \"%s ", cmd);
		for (int i = 0; i < 5; i++)
			if (strncmp(tag, want[i], strlen(want[i])) == 0)
				return 1;
	}
	return 0;
}

/* jauth(1) has a section for every command jauth help lists. */
START_TEST(test_every_command_has_its_man_section)
{
	char *man = fx_read(JAUTH_TEST_SRCDIR "/../man/jauth.1");
	ck_assert_ptr_nonnull(man);
	ck_assert_int_eq(CLI(NULL, "help", "--commands"), 0);
	int n = 0;
	for (char *c = strtok(out, "\n"); c; c = strtok(NULL, "\n"), n++)
		ck_assert_msg(man_section(man, c),
			      "no section for %s in jauth.1", c);
	ck_assert_int_ge(n, 11);
	ck_assert(!man_section(man, "frobnicate"));
	free(man);
}
END_TEST

/* What bash completes for the words of LINE (the last one being
 * completed), with cli/jauth.bash-completion loaded; malloc'd. */
static char *completions(const char *line)
{
	char script[PATH_MAX];
	snprintf(script, sizeof script, "%s/complete.sh", FX.dir);
	char *text;
	if (asprintf(&text,
		     ". /usr/share/bash-completion/bash_completion\n"
		     ". %s/../cli/jauth.bash-completion\n"
		     "COMP_LINE='%s'; COMP_POINT=${#COMP_LINE}\n"
		     "read -ra COMP_WORDS <<<\"$COMP_LINE\"\n"
		     "[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')\n"
		     "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
		     "_jauth; echo \"${COMPREPLY[*]}\"\n",
		     JAUTH_TEST_SRCDIR, line) < 0)
		abort();
	fx_write(script, 0600, text);
	free(text);
	char *cmd;
	if (asprintf(&cmd,
		     "PATH=%s/bin:$PATH JAUTH_CONF_PATH=%s bash %s >%s/c.out",
		     JAUTH_TEST_BUILDDIR, FX.conf, script, FX.dir) < 0)
		abort();
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	return fx_read(fx_path("c.out"));
}

/* The bash completion: commands from jauth help --commands, services from
 * the conf path, each command's options. */
START_TEST(test_bash_completion)
{
	if (access("/usr/share/bash-completion/bash_completion", R_OK) < 0) {
		fprintf(stderr, "test_bash_completion: skipped: the "
				"bash-completion package is not installed\n");
		return;
	}
	fx_stack("jira-sync", "required testmod.so\n");
	static const struct {
		const char *line, *want;
	} table[] = {
		{ "jauth sta", "status\n" },
		{ "jauth doc", "doctor\n" },
		{ "jauth help rev", "revoke\n" },
		{ "jauth status jira", "jira-sync\n" },
		{ "jauth -v status jira", "jira-sync\n" },
		{ "jauth revoke jira-sync --y", "--yes\n" },
		{ "jauth token jira-sync --format ", "json header env\n" },
		{ "jauth report jira-sync 401 --st", "--stdin\n" },
		{ "jauth store re", "rekey\n" },
		{ "jauth store init jira", "jira-sync\n" },
		{ "jauth scopes r", "readonly\n" },
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		char *got = completions(table[i].line);
		ck_assert_msg(got && strcmp(got, table[i].want) == 0,
			      "%s: [%s]", table[i].line, got);
		free(got);
	}
}
END_TEST

/* refresh --all: every service on its own, the worst status at the end
 * (config over denied over unavailable over transient). */
START_TEST(test_refresh_all_exits_with_the_worst)
{
	static const struct {
		const char *results; /* what the stacks' refreshes return */
		int status;
	} rows[] = {
		{ "success success", 0 },	{ "success transient", 5 },
		{ "transient unavailable", 3 }, { "unavailable denied", 4 },
		{ "denied transient", 4 },
	};
	ck_assert_int_eq(CLI(NULL, "refresh", "--all"), 2); /* no stacks */
	ck_assert_ptr_nonnull(strstr(err, "no stacks"));
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char a[16], b[16];
		clear();
		sscanf(rows[i].results, "%15s %15s", a, b);
		fx_stack("one", "required testmod.so refresh=%s counter=%s\n",
			 a, fx_path("c1"));
		fx_stack("two", "required testmod.so refresh=%s\n", b);
		ck_assert_msg(CLI(NULL, "refresh", "--all") == rows[i].status,
			      "%s: %s%s", rows[i].results, out, err);
		ck_assert_int_eq(fx_count(fx_path("c1"), 'r'), (int)i + 1);
	}
	clear();
	fx_stack("one", "required testmod.so\n");
	fx_stack("three", "required nosuch.so\n"); /* config: 2 wins */
	ck_assert_int_eq(CLI(NULL, "refresh", "--all"), 2);
	ck_assert_ptr_nonnull(strstr(out, "refreshed: "));
	ck_assert_ptr_nonnull(strstr(err, "nosuch.so"));
	clear();
	/* with --json: one document per service, the same status */
	ck_assert_int_eq(CLI(NULL, "refresh", "--all", "--json"), 2);
	ck_assert_ptr_nonnull(strstr(out, "\"service\":\t\"one\""));
	ck_assert_ptr_nonnull(strstr(out, "\"service\":\t\"three\""));
	clear();
	ck_assert_int_eq(CLI(NULL, "refresh", "--all", "one"), 2); /* usage */
	clear();
	/* refresh SERVICE… (DESIGN §7): the named ones, the worst status */
	fx_stack("one", "required testmod.so counter=%s\n", fx_path("c2"));
	fx_stack("two", "required testmod.so refresh=transient\n");
	ck_assert_int_eq(CLI(NULL, "refresh", "one", "two"), 5);
	ck_assert_ptr_nonnull(strstr(out, "refreshed: "));
	ck_assert_int_eq(fx_count(fx_path("c2"), 'r'), 1);
	clear();
	ck_assert_int_eq(CLI(NULL, "refresh", "one", "three", "two"), 2);
	ck_assert_int_eq(fx_count(fx_path("c2"), 'r'), 2);
}
END_TEST

/* ---- against the stand-in ---- */

static void apitoken_stack(const char *token_env)
{
	fx_stack(
		"svc",
		"required apitoken.so email=svc@acme.com token=@env:%s site=%s "
		"ca_file=%s\n",
		token_env, SI.url, SI.ca);
}

START_TEST(test_check_accepted_and_rejected)
{
	setenv("GOOD_TOKEN", "unscoped-token", 1);
	setenv("SCOPED_TOKEN", "scoped-token", 1);
	apitoken_stack("GOOD_TOKEN");
	ck_assert_msg(CLI(NULL, "check", "svc") == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "account  acc-1"));
	ck_assert_ptr_nonnull(strstr(out, "email    svc@acme.com"));
	clear();
	ck_assert_int_eq(CLI(NULL, "check", "svc", "--json"), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
	ck_assert_int_eq(cJSON_GetObjectItem(j, "http")->valueint, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "account"),
					     "accountId")
				 ->valuestring,
			 "acc-1");
	cJSON_Delete(j);
	clear();
	apitoken_stack("SCOPED_TOKEN");
	ck_assert_int_eq(CLI(NULL, "check", "svc"), 4);
	ck_assert_ptr_nonnull(strstr(err, "Jira answered HTTP 401"));
	ck_assert_ptr_nonnull(strstr(err, "rejected the API token"));
	ck_assert_ptr_nonnull(strstr(err, "replace site= with cloud_id="));
}
END_TEST

static void oauth_stack(const char *redirect)
{
	fx_stack(
		"svc",
		"required oauth3lo.so client_id=cid client_secret=@env:CLIENT_SECRET "
		"auth_url=%s api_url=%s ca_file=%s redirect_uri=%s\n",
		SI.url, SI.url, SI.ca, redirect);
}

START_TEST(test_authorize_url_only_then_callback_from_stdin)
{
	oauth_stack("https://app.example/cb");
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 3);
	clear();
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only"), 0);
	out[strcspn(out, "\n")] = '\0';
	char *cb = standin_consent(&SI, out, NULL);
	ck_assert_ptr_nonnull(cb);
	clear();
	ck_assert_msg(CLI(cb, "authorize", "svc", "--callback", "-") == 0, "%s",
		      err);
	ck_assert_ptr_nonnull(strstr(out, "authorized site acme"));
	free(cb);
	clear();
	ck_assert_int_eq(CLI(NULL, "check", "svc"), 0);
	clear();
	ck_assert_int_eq(CLI(NULL, "refresh", "svc"), 0);
	clear();
	ck_assert_int_eq(CLI(NULL, "revoke", "svc"), 0);
	ck_assert_ptr_nonnull(strstr(out, "user-connected-apps"));
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 3);
}
END_TEST

/* Consents to svc through the CLI (--url-only, then --callback URL);
 * returns the callback URL used (malloc'd). */
static char *consented_callback(void)
{
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only"), 0);
	out[strcspn(out, "\n")] = '\0';
	char *cb = standin_consent(&SI, out, NULL);
	ck_assert_ptr_nonnull(cb);
	clear();
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--callback", cb), 0);
	clear();
	return cb;
}

/* One scope count everywhere: the 22 of the console + offline_access. */
START_TEST(test_one_scope_count_everywhere)
{
	oauth_stack("https://app.example/cb");
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only"), 0);
	out[strcspn(out, "\n")] = '\0';
	char *cb = standin_consent(&SI, out, NULL);
	clear();
	ck_assert_int_eq(CLI(cb, "authorize", "svc", "--callback", "-"), 0);
	free(cb);
	ck_assert_msg(strstr(out, "granted 22 scopes + offline_access"), "%s",
		      out);
	clear();
	ck_assert_int_eq(CLI(NULL, "status", "svc"), 0);
	ck_assert_msg(strstr(out, "22 scopes + offline_access (status --json"),
		      "%s", out);
	ck_assert_ptr_null(strstr(out, "23 scopes"));
	clear();
	ck_assert_int_eq(CLI(NULL, "scopes"), 0);
	int n = 0;
	for (char *p = out; *p; p++)
		n += *p == '\n';
	ck_assert_int_eq(n, 22);
}
END_TEST

/* The token endpoint down, the access token valid: refresh's job failed
 * (5), and it says until when connectors are still served. */
START_TEST(test_refresh_down_says_the_token_still_serves)
{
	oauth_stack("https://app.example/cb");
	free(consented_callback());
	ck_assert_int_eq(standin_fault(&SI, "{\"path\":\"/oauth/token\","
					    "\"status\":503,\"count\":-1}"),
			 0);
	ck_assert_int_eq(CLI(NULL, "refresh", "svc"), 5);
	ck_assert_msg(strstr(err, "still serves until"), "%s", err);
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
	clear();
	ck_assert_int_eq(CLI(NULL, "refresh", "svc", "--json"), 5);
	cJSON *j = cJSON_Parse(out);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "result")->valuestring,
			 "transient");
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "still_serving")));
	cJSON_Delete(j);
}
END_TEST

/* doctor holds an OAuth grant's idle time and age against Atlassian's 90-
 * and 365-day limits (the record's times moved back, as months would). */
START_TEST(test_doctor_grant_against_atlassians_limits)
{
	oauth_stack("https://app.example/cb");
	free(consented_callback());
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/svc.oauth3lo.cid.json", FX.state);
	char *text = fx_read(path);
	ck_assert_ptr_nonnull(text);
	cJSON *rec = cJSON_Parse(text);
	free(text);
	time_t now = time(NULL);
	cJSON_ReplaceItemInObject(rec, "last_refresh",
				  cJSON_CreateNumber(
					  (double)(now - 100 * 86400)));
	cJSON_ReplaceItemInObject(rec, "created_at",
				  cJSON_CreateNumber(
					  (double)(now - 340 * 86400)));
	text = cJSON_PrintUnformatted(rec);
	fx_write(path, 0600, text);
	free(text);
	cJSON_Delete(rec);
	ck_assert_int_eq(CLI(NULL, "doctor", "svc"), 4);
	ck_assert_msg(strstr(out, "problem  svc: ") &&
			      strstr(out,
				     "the refresh token has been idle 100 "
				     "days of 90: Atlassian has dropped it"),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "warning  svc: "));
	ck_assert_ptr_nonnull(strstr(out, "the grant's age is 340 days of 365: "
					  "grants have been limited"));
}
END_TEST

/* doctor's probes go through the library's HTTP client with each line's
 * ca_file=: a trusted server, an untrusted certificate (config, 2), a
 * refused connection (transient, 5), and a clock an hour off (1). */
START_TEST(test_doctor_probes_servers_and_the_clock)
{
	setenv("DOC_TOKEN", "unscoped-token", 1);
	const char *stack = "required apitoken.so email=doc@example.com "
			    "token=@env:DOC_TOKEN site=%s ca_file=%s\n";
	fx_stack("svc", stack, SI.url, SI.ca);
	ck_assert_msg(CLI(NULL, "doctor", "svc") == 0, "%s", out);
	char want[200];
	snprintf(want, sizeof want, "%s answers over verified TLS", SI.url);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "clock agrees with the Date of"));
	clear();
	fx_stack("svc", stack, SI.url, SI.other_ca);
	ck_assert_msg(CLI(NULL, "doctor", "svc") == 2, "%s", out);
	ck_assert_msg(strstr(out, "problem  svc: ") && strstr(out, "svc:1"),
		      "%s", out);
	clear();
	fx_stack("svc", stack, "https://127.0.0.1:1", SI.ca);
	ck_assert_msg(CLI(NULL, "doctor", "svc") == 5, "%s", out);
	clear();
	char date[64];
	time_t hour_ago = time(NULL) - 3600;
	struct tm tm;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT",
		 gmtime_r(&hour_ago, &tm));
	char fault[256];
	snprintf(fault, sizeof fault,
		 "{\"path\":\"/\",\"count\":-1,\"headers\":{\"Date\":\"%s\"}}",
		 date);
	ck_assert_int_eq(standin_fault(&SI, fault), 0);
	fx_stack("svc", stack, SI.url, SI.ca);
	ck_assert_msg(CLI(NULL, "doctor", "svc") == 1, "%s", out);
	ck_assert_msg(strstr(out, "clock is 3600 s ahead of the Date of") ||
			      strstr(out, "clock is 3599 s ahead of") ||
			      strstr(out, "clock is 3601 s ahead of"),
		      "%s", out);
}
END_TEST

START_TEST(test_authorize_callback_in_argv)
{
	oauth_stack("https://app.example/cb");
	char *cb = consented_callback();
	/* the same callback again: the state is used up */
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--callback", cb), 4);
	ck_assert_ptr_nonnull(strstr(err, "no consent is pending"));
	free(cb);
}
END_TEST

/* A free loopback port. */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	bind(s, (struct sockaddr *)&a, sizeof a);
	getsockname(s, (struct sockaddr *)&a, &n);
	close(s);
	return ntohs(a.sin_port);
}

/* GET of a plain-http loopback URL, as the browser does after consent. */
static int browser_get(const char *url)
{
	int port;
	char path[2048];
	if (sscanf(url, "http://127.0.0.1:%d%2047s", &port, path) != 2)
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr =
						 htonl(INADDR_LOOPBACK) };
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
			char req[2300], resp[512] = { 0 };
			int n = snprintf(req, sizeof req,
					 "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
					 path);
			(void)!write(s, req, (size_t)n);
			(void)!read(s, resp, sizeof resp - 1);
			close(s);
			return strstr(resp, "200 OK") ? 0 : -1;
		}
		close(s);
		usleep(50 * 1000);
	}
	return -1;
}

START_TEST(test_authorize_interactive_catches_loopback_redirect)
{
	char redirect[64];
	snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d/callback",
		 free_port());
	oauth_stack(redirect);
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(JAUTH_TEST_BUILDDIR "/bin/jauth", "jauth", "-c", FX.conf,
		      "-m", FX.mods, "-s", FX.state, "authorize", "svc",
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *f = fdopen(pipefd[0], "r");
	char line[8192], *url = NULL;
	while (!url && fgets(line, sizeof line, f))
		if (strstr(line, "https://"))
			url = strdup(line + strspn(line, " "));
	ck_assert_ptr_nonnull(url);
	url[strcspn(url, "\n")] = '\0';
	char *cb = standin_consent(&SI, url, NULL);
	ck_assert_msg(cb && strncmp(cb, redirect, strlen(redirect)) == 0, "%s",
		      cb);
	ck_assert_int_eq(browser_get(cb), 0);
	int st;
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char rest[4096] = { 0 };
	(void)!fread(rest, 1, sizeof rest - 1, f);
	ck_assert_msg(strstr(rest, "authorized site acme"), "%s", rest);
	fclose(f);
	free(url);
	free(cb);
}
END_TEST

/* Every file of DIR (recursively one level) concatenated. */
static char *dir_contents(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len = 0;
	char *all = calloc(1, 1);
	while (d && (e = readdir(d))) {
		char path[PATH_MAX + 300];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *s = e->d_name[0] == '.' ? NULL : fx_read(path);
		if (!s)
			continue;
		all = realloc(all, len + strlen(s) + 1);
		strcpy(all + len, s);
		len += strlen(s);
		free(s);
	}
	if (d)
		closedir(d);
	return all;
}

/* Canary secrets through every command at -vv: never on stdout, stderr or
 * in the state directory, except the credential itself on token's stdout. */
START_TEST(test_canary_secrets_never_leave_at_verbose)
{
	const char *cs = "CANARY-CLIENT-SECRET-91";
	const char *tok = "CANARY-API-TOKEN-42";
	setenv("CANARY_TOKEN", tok, 1);
	fx_write(fx_path("cs"), 0600, "CANARY-CLIENT-SECRET-91\n");
	fx_stack(
		"svc",
		"[success=done unavailable=ignore default=die] oauth3lo.so "
		"client_id=cid client_secret=@file:%s auth_url=%s api_url=%s "
		"ca_file=%s redirect_uri=https://app.example/cb\n"
		"required apitoken.so email=svc@acme.com token=@env:CANARY_TOKEN "
		"site=%s ca_file=%s\n",
		fx_path("cs"), SI.url, SI.url, SI.ca, SI.url, SI.ca);
	/* the canary client secret is refused by the stand-in: consent fails
	 * at the code exchange, after the secret went over TLS */
	static const char *const cmds[][3] = {
		{ "token", "svc", NULL },
		{ "status", "svc", NULL },
		{ "status", "svc", "--json" },
		{ "check", "svc", NULL },
		{ "refresh", "svc", NULL },
		{ "authorize", "svc", "--url-only" },
		{ "lint", "svc", NULL },
		{ "revoke", "svc", NULL },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char *argv[] = { "-vv", (char *)cmds[i][0], (char *)cmds[i][1],
				 (char *)cmds[i][2], NULL };
		fx_cli_argv(NULL, &out, &err, argv);
		ck_assert_msg(!strstr(out, cs) && !strstr(err, cs),
			      "%s: client secret shown", cmds[i][0]);
		ck_assert_msg(!strstr(out, tok) && !strstr(err, tok),
			      "%s: API token shown", cmds[i][0]);
		/* base64(email:token) may only be token's own output */
		ck_assert_msg(!strstr(err, "c3ZjQGFjbWUuY29tOkNBTkFSWS"),
			      "%s: Basic value on stderr:\n%s", cmds[i][0],
			      err);
		if (strcmp(cmds[i][0], "token") != 0)
			ck_assert_msg(!strstr(out,
					      "c3ZjQGFjbWUuY29tOkNBTkFSWS"),
				      "%s: Basic value on stdout", cmds[i][0]);
		clear();
	}
	/* a consent that reaches the code exchange with the canary secret */
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only"), 0);
	out[strcspn(out, "\n")] = '\0';
	char *cb = standin_consent(&SI, out, NULL);
	clear();
	fx_cli(cb, &out, &err, "-vv", "authorize", "svc", "--callback", "-",
	       (char *)NULL);
	ck_assert(!strstr(out, cs) && !strstr(err, cs));
	const char *code = strstr(cb, "code=") + 5;
	char codev[128];
	snprintf(codev, sizeof codev, "%.*s", (int)strcspn(code, "&"), code);
	ck_assert_msg(!strstr(err, codev), "code on stderr: %s", err);
	free(cb);
	char *state = dir_contents(FX.state);
	ck_assert(!strstr(state, cs) && !strstr(state, tok));
	free(state);
}
END_TEST

/* The README's connector example, run with the environment a connector
 * would have (no options: JAUTH_* variables). */
START_TEST(test_connector_example_runs)
{
	fx_stack("jira", "required testmod.so token=abc\n");
	setenv("JAUTH_CONF_PATH", FX.conf, 1);
	setenv("JAUTH_MODULE_PATH", FX.mods, 1);
	setenv("JAUTH_STATE_DIR", FX.state, 1);
	FILE *p = popen(JAUTH_TEST_BUILDDIR "/examples/connector jira", "r");
	char line[512] = { 0 };
	ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(
		strstr(line,
		       "GET https://jira.example/rest/api/3/myself with a "
		       "Test credential from"),
		"%s", line);
}
END_TEST

/* Runs a shell command line; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_example_stacks_lint_clean)
{
	ck_assert_int_eq(sh("install -m 0644 %s/../conf/* %s/",
			    JAUTH_TEST_SRCDIR, FX.conf),
			 0);
	ck_assert_msg(CLI(NULL, "lint") == 0, "%s%s", out, err);
	ck_assert_str_eq(out, "ok: 5 stacks\n");
}
END_TEST

/* doctor on the shipped examples, as pasted: their placeholders are
 * problems, their acme values warnings (offline: they name Atlassian's
 * real hosts). */
START_TEST(test_doctor_finds_the_examples_placeholders)
{
	/* their secret paths moved into the test's tree: nothing of the
	 * machine's /etc is looked at */
	ck_assert_int_eq(sh("for f in %s/../conf/*; do sed "
			    "'s|/etc/jauth/secret|%s/secret|g' \"$f\" "
			    ">%s/\"${f##*/}\"; chmod 644 %s/\"${f##*/}\"; done",
			    JAUTH_TEST_SRCDIR, FX.dir, FX.conf, FX.conf),
			 0);
	ck_assert_int_eq(CLI(NULL, "doctor", "--offline", "jira-oauth"), 2);
	ck_assert_msg(strstr(out, ": client_id=YOUR-CLIENT-ID is the example's "
				  "placeholder: put the client ID"),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "cloud_id=YOUR-CLOUD-ID is the "
					  "example's placeholder"));
	ck_assert_ptr_nonnull(strstr(out, "jira-client-secret does not exist"));
	ck_assert_ptr_null(strstr(out, "answers over"));
	clear();
	ck_assert_int_eq(CLI(NULL, "doctor", "--offline", "jira-apitoken"), 3);
	ck_assert_ptr_nonnull(strstr(out, "warning  jira-apitoken: "));
	ck_assert_ptr_nonnull(strstr(out,
				     "site=https://acme.atlassian.net looks "
				     "like the example's value"));
}
END_TEST

/* The third-party kit: install into a scratch DESTDIR, build the example
 * module with pkg-config against that tree alone, and run a stack with it
 * through the installed CLI against the stand-in. */
START_TEST(test_example_module_builds_from_the_installed_tree)
{
	char dest[PATH_MAX / 2];
	snprintf(dest, sizeof dest, "%s", fx_path("dest"));
	ck_assert_int_eq(
		sh("make -s -C %s/.. install DESTDIR=%s B=%s >%s/install.log 2>&1",
		   JAUTH_TEST_SRCDIR, dest, JAUTH_TEST_BUILDDIR, FX.dir),
		0);
	ck_assert_int_eq(
		sh("env -u CFLAGS make -s -C %s/../examples/dcpat OUT=%s "
		   "PKG_CONFIG_PATH=%s%s/lib/pkgconfig "
		   "PKG_CONFIG_SYSROOT_DIR=%s >%s/build.log 2>&1",
		   JAUTH_TEST_SRCDIR, FX.mods, dest, JAUTH_TEST_PREFIX, dest,
		   FX.dir),
		0);
	fx_write(fx_path("pat"), 0600, "dc-pat-token\n");
	fx_stack("dc", "required dcpat.so url=%s token=@file:%s ca_file=%s\n",
		 SI.url, fx_path("pat"), SI.ca);
	char bin[PATH_MAX], lib[PATH_MAX];
	snprintf(bin, sizeof bin, "%s%s/bin/jauth", dest, JAUTH_TEST_PREFIX);
	snprintf(lib, sizeof lib, "%s%s/lib", dest, JAUTH_TEST_PREFIX);
	ck_assert_int_eq(sh("LD_LIBRARY_PATH=%s %s -c %s -m %s -s %s check dc "
			    ">%s/check.out 2>&1",
			    lib, bin, FX.conf, FX.mods, FX.state, FX.dir),
			 0);
	char *text = fx_read(fx_path("check.out"));
	ck_assert_msg(strstr(text, "account  dc-1"), "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "(dcpat.so)"));
	free(text);
	ck_assert_int_eq(
		sh("make -s -C %s/.. uninstall DESTDIR=%s B=%s >/dev/null 2>&1",
		   JAUTH_TEST_SRCDIR, dest, JAUTH_TEST_BUILDDIR),
		0);
	ck_assert_int_eq(sh("test -z \"$(find %s -type f)\"", dest), 0);
}
END_TEST

/* make install DESTDIR=D (the build's PREFIX, P): what lands where, the
 * stack directory, a jauth.pc that pkg-config --define-prefix relocates,
 * units that run the installed tool, no run path into the build tree;
 * uninstall removes every file again. */
START_TEST(test_staged_install_is_complete)
{
	static const char *files[] = {
		"bin/jauth",
		"lib/libjauth.so.1",
		"lib/libjauth.so",
		"lib/jauth/modules/apitoken.so",
		"lib/jauth/modules/oauth3lo.so",
		"include/jauth/jauth.h",
		"include/jauth/module.h",
		"lib/pkgconfig/jauth.pc",
		"lib/systemd/system/jauth-refresh@.service",
		"lib/systemd/system/jauth-refresh@.timer",
		"share/man/man1/jauth.1",
		"share/man/man3/jauth-module.3",
		"share/man/man5/jauth.conf.5",
		"share/jauth/conf/jira",
		"lib/jauth/store-pgsql.so",
		"share/jauth/pgsql/schema.sql",
	};
	char dest[PATH_MAX / 2], root[PATH_MAX];
	snprintf(dest, sizeof dest, "%s", fx_path("dest"));
	snprintf(root, sizeof root, "%s%s", dest, JAUTH_TEST_PREFIX);
	ck_assert_int_eq(
		sh("make -s -C %s/.. install DESTDIR=%s B=%s >%s/install.log 2>&1",
		   JAUTH_TEST_SRCDIR, dest, JAUTH_TEST_BUILDDIR, FX.dir),
		0);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		ck_assert_msg(sh("test -e %s/%s", root, files[i]) == 0,
			      "not installed: %s/%s", root, files[i]);
	ck_assert_int_eq(
		sh("[ -f %s/../cli/jauth.bash-completion ] || exit 0; "
		   "test -f %s/share/bash-completion/completions/jauth",
		   JAUTH_TEST_SRCDIR, root),
		0);
	ck_assert_int_eq(sh("test \"$(stat -c %%a %s/etc/jauth.d)\" = 755",
			    dest),
			 0);
	/* ${prefix}-relative: the staged tree's own directories */
	ck_assert_int_eq(
		sh("cd %s && test \"$(PKG_CONFIG_PATH=%s/lib/pkgconfig "
		   "pkg-config --define-prefix --variable=moduledir jauth)\" = "
		   "%s/lib/jauth/modules",
		   FX.dir, root, root),
		0);
	ck_assert_int_eq(sh("PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config "
			    "--define-prefix --cflags --libs jauth | grep -q "
			    "\"^-I%s/include .*-L%s/lib -ljauth\"",
			    root, root, root),
			 0);
	ck_assert_int_eq(sh("grep -qx 'ExecStart=%s/bin/jauth refresh %%i' "
			    "%s/lib/systemd/system/jauth-refresh@.service",
			    JAUTH_TEST_PREFIX, root),
			 0);
	ck_assert_int_eq(sh("grep -qx 'Persistent=true' "
			    "%s/lib/systemd/system/jauth-refresh@.timer",
			    root),
			 0);
	/* the units, with README's drop-in, as systemd reads them: no
	 * complaint at all (unknown keys are only warnings) */
	ck_assert_int_eq(
		sh("mkdir -p %s/units/jauth-refresh@jira.service.d && cd "
		   "%s/units && u=%s/lib/systemd/system && sed "
		   "'s|^ExecStart=%s/|ExecStart=%s/|' $u/jauth-refresh@.service "
		   ">jauth-refresh@jira.service && cp $u/jauth-refresh@.timer "
		   "jauth-refresh@jira.timer && sed -n \"/user.conf <<'EOF'/,"
		   "/^EOF/p\" %s/../README.md | sed '1d;$d' "
		   ">jauth-refresh@jira.service.d/user.conf && grep -q "
		   "'^User=' jauth-refresh@jira.service.d/user.conf && "
		   "systemd-analyze verify --man=no ./jauth-refresh@jira.service "
		   "./jauth-refresh@jira.timer >verify.out 2>&1 && test ! -s "
		   "verify.out || { cat verify.out; exit 1; }",
		   FX.dir, FX.dir, root, JAUTH_TEST_PREFIX, root,
		   JAUTH_TEST_SRCDIR),
		0);
	/* the installed tool never looks into the build tree; the built one
	 * runs from it without LD_LIBRARY_PATH */
	ck_assert_int_eq(sh("! readelf -d %s/bin/jauth | grep -e '%s' -e "
			    "ORIGIN",
			    root, JAUTH_TEST_BUILDDIR),
			 0);
	ck_assert_int_eq(sh("env -u LD_LIBRARY_PATH %s/bin/jauth --version "
			    ">/dev/null",
			    JAUTH_TEST_BUILDDIR),
			 0);
	ck_assert_int_eq(
		sh("make -s -C %s/.. uninstall DESTDIR=%s B=%s >/dev/null 2>&1",
		   JAUTH_TEST_SRCDIR, dest, JAUTH_TEST_BUILDDIR),
		0);
	ck_assert_int_eq(sh("test -z \"$(find %s -type f -o -type l)\"", dest),
			 0);
}
END_TEST

Suite *suite_cli(void)
{
	Suite *s = suite_create("jauth CLI");
	TCase *tc = tcase_create("local");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_help_and_version);
	tcase_add_test(tc, test_usage_errors_exit_2);
	tcase_add_test(tc, test_usage_errors_say_what_is_wrong);
	tcase_add_test(tc, test_no_stacks_json_and_the_path_named);
	tcase_add_test(tc, test_token_json_and_header);
	tcase_add_test(tc, test_token_exit_status_follows_the_result);
	tcase_add_test(tc, test_lint_all_and_named);
	tcase_add_test(tc, test_lint_all_accepts_an_include_fragment);
	tcase_add_test(tc, test_modules_lists_and_refuses);
	tcase_add_test(tc, test_scopes);
	tcase_add_test(tc, test_refresh_revoke_status);
	tcase_add_test(tc, test_refresh_all_exits_with_the_worst);
	tcase_add_test(tc, test_example_stacks_lint_clean);
	tcase_add_test(tc, test_connector_example_runs);
	tcase_add_test(tc, test_help_command);
	tcase_add_test(tc, test_usage_errors_say_why);
	tcase_add_test(tc, test_relative_state_dir_is_a_usage_error);
	tcase_add_test(tc, test_state_dir_problem_exits_2_with_the_fix);
	tcase_add_test(tc, test_json_on_reporting_commands);
	tcase_add_test(tc, test_revoke_asks_on_a_terminal);
	tcase_add_test(tc, test_doctor_finds_what_lint_cannot);
	tcase_add_test(tc, test_every_command_has_its_man_section);
	tcase_add_test(tc, test_bash_completion);
	tcase_add_test(tc, test_doctor_finds_the_examples_placeholders);
	tcase_add_test(tc, test_staged_install_is_complete);
	suite_add_tcase(s, tc);

	tc = tcase_create("against the stand-in");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup_standin, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check_accepted_and_rejected);
	tcase_add_test(tc, test_authorize_url_only_then_callback_from_stdin);
	tcase_add_test(tc, test_authorize_callback_in_argv);
	tcase_add_test(tc, test_refresh_down_says_the_token_still_serves);
	tcase_add_test(tc, test_one_scope_count_everywhere);
	tcase_add_test(tc, test_doctor_grant_against_atlassians_limits);
	tcase_add_test(tc, test_doctor_probes_servers_and_the_clock);
	tcase_add_test(tc,
		       test_authorize_interactive_catches_loopback_redirect);
	tcase_add_test(tc, test_canary_secrets_never_leave_at_verbose);
	tcase_add_test(tc, test_example_module_builds_from_the_installed_tree);
	suite_add_tcase(s, tc);
	return s;
}
