/*
 * check_verbs.c — the verbs for connectors in any language (jauth(1)):
 * token --format env, exec, report. Real processes: the jauth CLI of the
 * build, /bin/sh, and the stand-in over TLS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_capture.h"
#include "fixture.h"
#include "suites.h"

/* A field of jauth token's JSON (static copy). */
static const char *json_field(const char *json, const char *name)
{
	static char buf[4096];
	cJSON *j = cJSON_Parse(json);
	const cJSON *f = cJSON_GetObjectItem(j, name);
	ck_assert_msg(cJSON_IsString(f), "no \"%s\" in %s", name, json);
	snprintf(buf, sizeof buf, "%s", f->valuestring);
	cJSON_Delete(j);
	return buf;
}

/* ---- token --format env -------------------------------------------- */

/* A token and a base URL with single quotes, a $ and a backquote: the
 * lines must give them back to sh byte for byte. */
START_TEST(test_token_env_lines_read_back_exactly_by_sh)
{
	fx_stack("svc", "required testmod.so \"token=it's $HOME `id`\" "
			"\"base_url=https://x.example/a'b\" lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "token", "svc", "--format", "env"), 0);
	ck_assert_ptr_nonnull(strstr(out, "export JIRA_AUTHORIZATION='Test "
					  "it'\\''s $HOME `id`'\n"));
	ck_assert_ptr_nonnull(strstr(out, "export JIRA_AUTH_SCHEME='Test'\n"));
	ck_assert_ptr_nonnull(strstr(out, "export JIRA_EXPIRES_AT='1"));
	char envsh[PATH_MAX + 300], got_path[PATH_MAX + 300];
	snprintf(envsh, sizeof envsh, "%s", fx_path("env.sh"));
	snprintf(got_path, sizeof got_path, "%s", fx_path("got"));
	fx_write(envsh, 0600, out);
	clear();
	char script[3 * PATH_MAX + 1024];
	snprintf(script, sizeof script,
		 ". %s && printf '%%s|%%s|%%s|%%s' \"$JIRA_AUTHORIZATION\" "
		 "\"$JIRA_BASE_URL\" \"$JIRA_AUTH_SCHEME\" "
		 "\"${JIRA_EXPIRES_AT#1}\" >%s",
		 envsh, got_path);
	ck_assert_int_eq(system(script), 0);
	char *got = fx_read(got_path);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(
		strstr(got, "Test it's $HOME `id`|https://x.example/a'b|Test|"),
		"%s", got);
	free(got);
}
END_TEST

START_TEST(test_token_env_unknown_expiry_is_empty)
{
	fx_stack("svc", "required testmod.so token=t lifetime=0\n");
	ck_assert_int_eq(CLI(NULL, "token", "svc", "--format", "env"), 0);
	ck_assert_ptr_nonnull(strstr(out, "export JIRA_EXPIRES_AT=''\n"));
}
END_TEST

/* ---- exec ---------------------------------------------------------- */

/* The command sees the four variables, its own argv without the secret,
 * and its exit status is jauth exec's. */
START_TEST(test_exec_runs_the_command_with_the_credential_in_its_env)
{
	fx_stack("svc", "required testmod.so token=sekrit-42 "
			"base_url=https://x.example lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--", "/bin/sh", "-c",
			     "printf '%s\\n' \"$JIRA_AUTHORIZATION\" "
			     "\"$JIRA_BASE_URL\" \"$JIRA_AUTH_SCHEME\" "
			     "\"$JIRA_EXPIRES_AT\"; "
			     "tr '\\0' ' ' </proc/$$/cmdline >&2; exit 7",
			     "argv1"),
			 7);
	ck_assert_ptr_nonnull(strstr(out, "Test sekrit-42\nhttps://x.example\n"
					  "Test\n1"));
	ck_assert_ptr_nonnull(strstr(err, "/bin/sh -c "));
	ck_assert_ptr_nonnull(strstr(err, " argv1 "));
	ck_assert_ptr_null(strstr(err, "Test sekrit")); /* not in argv */
}
END_TEST

START_TEST(test_exec_without_dashdash_and_with_options_for_the_command)
{
	fx_stack("svc", "required testmod.so token=t lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "/bin/sh", "-c",
			     "test \"$JIRA_AUTHORIZATION\" = 'Test t'"),
			 0);
}
END_TEST

START_TEST(test_exec_exit_statuses)
{
	fx_stack("svc", "required testmod.so token=t lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--", "no-such-command-x"),
			 127);
	ck_assert_ptr_nonnull(strstr(err, "no-such-command-x: No such file"));
	ck_assert_msg(strstr(err, ": check its name, or give its full path"),
		      "%s", err); /* what to do */
	clear();
	fx_write(fx_path("plain"), 0644, "echo hi\n");
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--", fx_path("plain")), 126);
	ck_assert_msg(strstr(err, ": make it executable"), "%s", err);
	clear();
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "exec"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "exec", "--help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "JIRA_EXPIRES_AT"));
	clear();
	/* no credential: jauth's status, and the command never runs */
	fx_stack("svc", "required testmod.so acquire=unavailable "
			"message=\"do X\"\n");
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--", "/bin/sh", "-c",
			     "echo ran"),
			 3);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(strstr(err, "do X"));
}
END_TEST

/* ---- report -------------------------------------------------------- */

static void oauth_consent(void)
{
	fx_stack(
		"svc",
		"required oauth3lo.so client_id=cid client_secret=@env:CLIENT_SECRET "
		"auth_url=%s api_url=%s ca_file=%s redirect_uri=https://app.example/cb\n",
		SI.url, SI.url, SI.ca);
	ck_assert_int_eq(CLI(NULL, "authorize", "svc", "--url-only"), 0);
	out[strcspn(out, "\n")] = '\0';
	char *cb = standin_consent(&SI, out, NULL);
	ck_assert_ptr_nonnull(cb);
	clear();
	ck_assert_msg(CLI(cb, "authorize", "svc", "--callback", "-") == 0, "%s",
		      err);
	free(cb);
	clear();
}

/* GET {base}/rest/api/3/myself with jauth token's JSON credential. */
static long myself(const char *json)
{
	char url[1024], auth[4096];
	snprintf(url, sizeof url, "%s/rest/api/3/myself",
		 json_field(json, "base_url"));
	snprintf(auth, sizeof auth, "%s", json_field(json, "authorization"));
	return standin_get(&SI, url, auth, NULL);
}

/* One process got the token, Jira refused it, another reports it: the
 * next jauth token, a third process, gets the refreshed one. */
START_TEST(test_report_oauth_reaches_the_next_process)
{
	oauth_consent();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	char *first = out;
	out = NULL;
	clear();
	standin_request(&SI, "POST", "/_standin/expire_access_tokens", "{}",
			NULL);
	ck_assert_int_eq(myself(first), 401);
	ck_assert_msg(CLI(NULL, "report", "svc", "401") == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "reported HTTP 401 for "));
	ck_assert_ptr_nonnull(strstr(out, "jauth token now gives a new "));
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	char *old = strdup(json_field(first, "authorization"));
	ck_assert_str_ne(json_field(out, "authorization"), old);
	free(old);
	ck_assert_int_eq(myself(out), 200);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	clear();
	/* the first credential again, on stdin: it was replaced already */
	ck_assert_int_eq(CLI(first, "report", "svc", "401", "--stdin"), 0);
	ck_assert_ptr_nonnull(strstr(out, "not reported: that credential was "
					  "already replaced"));
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	free(first);
}
END_TEST

/* --stdin takes jauth token's output in each format. */
START_TEST(test_report_stdin_takes_every_format_of_jauth_token)
{
	static const char *const formats[] = { "json", "header", "env" };
	oauth_consent();
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(CLI(NULL, "token", "svc", "--format",
				     formats[i]),
				 0);
		char *cred = out;
		out = NULL;
		clear();
		ck_assert_msg(CLI(cred, "report", "svc", "401", "--stdin") == 0,
			      "%s: %s", formats[i], err);
		ck_assert_msg(strstr(out, "now gives a new credential"),
			      "%s: %s", formats[i], out);
		clear();
		free(cred);
	}
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 3);
	ck_assert_int_eq(CLI("", "report", "svc", "401", "--stdin"), 2);
}
END_TEST

/* jauth report SERVICE 401 --stdin < IN, in a child process. */
static pid_t spawn_report(const char *in)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(in, O_RDONLY), null = open("/dev/null", O_WRONLY);
		dup2(fd, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(JAUTH_TEST_BUILDDIR "/bin/jauth", "jauth", "-c", FX.conf,
		      "-m", FX.mods, "-s", FX.state, "report", "svc", "401",
		      "--stdin", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Every process of a connector got 401 with the same token and reports
 * it, with the token on stdin: one refresh, whatever the order. */
START_TEST(test_report_storm_refreshes_once)
{
	enum { N = 6 };
	oauth_consent();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	char in[PATH_MAX + 300];
	snprintf(in, sizeof in, "%s", fx_path("rejected.json"));
	fx_write(in, 0600, out);
	clear();
	pid_t kids[N];
	for (int i = 0; i < N; i++)
		kids[i] = spawn_report(in);
	for (int i = 0; i < N; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "report %d: status %d", i, WEXITSTATUS(st));
	}
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	ck_assert_int_eq(myself(out), 200);
}
END_TEST

static void apitoken_stack(void)
{
	fx_stack("svc",
		 "required apitoken.so site=%s email=svc@acme.com "
		 "token=@env:JIRA_TOKEN\n",
		 SI.url);
}

/* An API token Jira refused is refused by every later process, until the
 * admin puts a new token in place. */
START_TEST(test_report_apitoken_denies_in_every_later_process)
{
	setenv("JIRA_TOKEN", "scoped-token", 1); /* the site answers 401 */
	apitoken_stack();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	ck_assert_int_eq(myself(out), 401);
	clear();
	ck_assert_int_eq(CLI(NULL, "report", "svc", "401"), 4);
	ck_assert_ptr_nonnull(strstr(err, "rejected the API token in "
					  "environment variable JIRA_TOKEN "
					  "(HTTP 401)"));
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 4);
	ck_assert_ptr_nonnull(strstr(err, "rejected the API token"));
	ck_assert_str_eq(out, "");
	clear();
	ck_assert_int_eq(CLI(NULL, "exec", "svc", "--", "true"), 4);
	clear();
	setenv("JIRA_TOKEN", "unscoped-token", 1); /* the admin replaced it */
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	ck_assert_int_eq(myself(out), 200);
	clear();
	/* the record of the refusal went with the old token */
	setenv("JIRA_TOKEN", "scoped-token", 1);
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	clear();
	/* the state directory keeps a fingerprint, never the token */
	ck_assert_int_eq(CLI(NULL, "report", "svc", "403"), 4);
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "grep -rq scoped-token %s", FX.state);
	ck_assert_int_ne(system(cmd), 0);
	unsetenv("JIRA_TOKEN");
}
END_TEST

START_TEST(test_report_404_of_an_api_token_changes_nothing)
{
	setenv("JIRA_TOKEN", "unscoped-token", 1);
	apitoken_stack();
	ck_assert_int_eq(CLI(NULL, "report", "svc", "404"), 0);
	ck_assert_ptr_nonnull(strstr(out, "now gives the same credential"));
	clear();
	ck_assert_int_eq(CLI(NULL, "token", "svc"), 0);
	unsetenv("JIRA_TOKEN");
}
END_TEST

START_TEST(test_report_usage)
{
	fx_stack("svc", "required testmod.so token=t lifetime=3600\n");
	ck_assert_int_eq(CLI(NULL, "report", "svc", "500"), 2);
	ck_assert_ptr_nonnull(strstr(err, "give 401, 403 or 404"));
	clear();
	ck_assert_int_eq(CLI(NULL, "report", "svc", "40x"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "report", "svc"), 2);
	clear();
	ck_assert_int_eq(CLI(NULL, "report", "--help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: jauth"));
}
END_TEST

Suite *suite_verbs(void)
{
	Suite *s = suite_create("connector verbs");
	TCase *tc = tcase_create("local");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_token_env_lines_read_back_exactly_by_sh);
	tcase_add_test(tc, test_token_env_unknown_expiry_is_empty);
	tcase_add_test(
		tc, test_exec_runs_the_command_with_the_credential_in_its_env);
	tcase_add_test(
		tc,
		test_exec_without_dashdash_and_with_options_for_the_command);
	tcase_add_test(tc, test_exec_exit_statuses);
	tcase_add_test(tc, test_report_usage);
	suite_add_tcase(s, tc);
	tc = tcase_create("against the stand-in");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup_standin, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_report_oauth_reaches_the_next_process);
	tcase_add_test(tc, test_report_stdin_takes_every_format_of_jauth_token);
	tcase_add_test(tc, test_report_storm_refreshes_once);
	tcase_add_test(tc, test_report_apitoken_denies_in_every_later_process);
	tcase_add_test(tc, test_report_404_of_an_api_token_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}
