/*
 * check_load.c — what jauth_open refuses before it runs any module code
 * (DESIGN §3 "Loading fails closed", §5): files, owners and modes, module
 * lookup, the entry symbol, ABI versions, service names; and hot reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "suites.h"

/* Opens svc and checks that it fails with WANT in the message. */
static void refused(const char *want)
{
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), want), "error [%s] lacks [%s]",
		      jauth_error(h), want);
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_CONFIG);
	jauth_close(h);
}

START_TEST(test_missing_module_refused)
{
	fx_stack("svc", "required nothere.so\n");
	refused("svc:1: module nothere.so not found");
}
END_TEST

START_TEST(test_relative_module_path_refused)
{
	fx_stack("svc", "required ../modules/testmod.so\n");
	refused("must be a bare file name");
}
END_TEST

START_TEST(test_absolute_module_path_loads)
{
	fx_stack("svc", "required %s/testmod.so token=abs\n", FX.mods);
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test abs");
	jauth_close(h);
}
END_TEST

/* A process in a pid namespace of its own under the /proc of its parent's
 * (a sandbox that did not mount its own): /proc shows another process at
 * its pid, so the module must be loaded by a name of "/proc/self", which
 * is this process wherever /proc came from. */
START_TEST(test_module_loads_in_a_pid_namespace_without_its_proc)
{
	fx_stack("svc", "required testmod.so token=ns\n");
	pid_t kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		if (unshare(CLONE_NEWPID) != 0)
			_exit(errno == EPERM ? 77 : 3);
		pid_t inner = fork(); /* pid 1 of the new namespace */
		if (inner == 0) {
			jauth_result rc;
			jauth *h = fx_open_want("svc", JAUTH_SUCCESS);
			const char *a = fx_auth(h, &rc);
			_exit(getpid() == 1 && a && strcmp(a, "Test ns") == 0
				      ? 0
				      : 1);
		}
		int st = 0;
		waitpid(inner, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
	}
	int st = 0;
	waitpid(kid, &st, 0);
	ck_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		fprintf(stderr, "pid namespace test skipped: unshare(CLONE_NEWPID) "
				"needs root\n");
		return;
	}
	ck_assert_msg(WEXITSTATUS(st) == 0,
		      "the module did not load as pid 1 of a new pid namespace "
		      "(exit %d)",
		      WEXITSTATUS(st));
}
END_TEST

START_TEST(test_missing_entry_symbol_refused)
{
	fx_stack("svc", "required testmod_noentry.so\n");
	refused("does not export jauth_module_entry");
}
END_TEST

/* Every message says what to do: a file that is no shared object too. */
START_TEST(test_file_that_is_not_a_module_refused)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/junk.so", FX.mods);
	fx_write(path, 0644, "not an ELF file\n");
	fx_stack("svc", "required junk.so\n");
	refused("cannot load it: ");
	refused(": rebuild it against <jauth/module.h>");
}
END_TEST

START_TEST(test_wrong_abi_major_refused)
{
	fx_stack("svc", "required testmod_major.so\n");
	refused("built for module ABI 2.0, this jauth speaks 1.1");
}
END_TEST

START_TEST(test_newer_abi_minor_refused)
{
	fx_stack("svc", "required testmod_newer.so\n");
	refused("built for module ABI 1.2, newer than this jauth's 1.1");
}
END_TEST

START_TEST(test_older_abi_minor_loads_and_works)
{
	/* A minor-0 module has no rejected(): the core refreshes instead. */
	fx_stack("svc", "required testmod_old.so token=old counter=%s\n",
		 fx_path("c"));
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c), "Test old");
	ck_assert_int_eq(jauth_report(h, c, 401), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(fx_count(fx_path("c"), 'r'), 1);
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(json, "\"abi\":\t\"1.0\""));
	ck_assert_ptr_null(strstr(json, "\"method\""));
	jauth_free(json);
	jauth_close(h);
}
END_TEST

START_TEST(test_group_writable_module_refused)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/testmod.so", FX.mods);
	chmod(path, 0664);
	fx_stack("svc", "required testmod.so\n");
	refused("is writable by group or others (mode 0664)");
}
END_TEST

START_TEST(test_world_writable_module_dir_refused)
{
	chmod(FX.mods, 0777);
	fx_stack("svc", "required testmod.so\n");
	refused("is writable by group or others (mode 0777)");
}
END_TEST

START_TEST(test_module_symlink_to_unsafe_place_refused)
{
	/* A link in the trusted dir pointing into a dir anyone may write: the
	 * file that would be loaded is the target, and its dir fails. */
	char evil[PATH_MAX + 32], target[PATH_MAX + 64], link[PATH_MAX + 32];
	snprintf(evil, sizeof evil, "%s/evil", FX.dir);
	mkdir(evil, 0777);
	chmod(evil, 0777);
	snprintf(target, sizeof target, "%s/testmod.so", evil);
	snprintf(link, sizeof link, "%s/testmod.so", FX.mods);
	ck_assert_int_eq(rename(link, target), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	fx_stack("svc", "required testmod.so\n");
	refused("/evil is writable by group or others");
}
END_TEST

START_TEST(test_world_writable_stack_refused)
{
	fx_stack("svc", "required testmod.so\n");
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	chmod(path, 0666);
	refused("stack file");
}
END_TEST

START_TEST(test_stack_symlink_to_writable_file_refused)
{
	char real[PATH_MAX + 16], link[PATH_MAX + 8];
	snprintf(real, sizeof real, "%s/elsewhere", FX.dir);
	fx_write(real, 0666, "required testmod.so\n");
	snprintf(link, sizeof link, "%s/svc", FX.conf);
	ck_assert_int_eq(symlink(real, link), 0);
	refused("is writable by group or others (mode 0666)");
}
END_TEST

/* The directory holding a link is on the path too: whoever may write it
 * may point the link elsewhere. */
START_TEST(test_link_in_an_unsafe_directory_refused)
{
	char safe[PATH_MAX], open_dir[PATH_MAX], target[PATH_MAX + 8],
		link[PATH_MAX + 8];
	snprintf(safe, sizeof safe, "%s/safe", FX.dir);
	snprintf(open_dir, sizeof open_dir, "%s/open", FX.dir);
	mkdir(safe, 0755);
	mkdir(open_dir, 0777);
	chmod(open_dir, 0777);
	snprintf(target, sizeof target, "%s/svc", safe);
	snprintf(link, sizeof link, "%s/svc", open_dir);
	fx_write(target, 0644, "required testmod.so\n");
	ck_assert_int_eq(symlink(target, link), 0);
	FX.opt.conf_path = open_dir;
	refused("/open is writable by group or others");
	/* A relative link through .. in a safe directory is followed. */
	char rel[PATH_MAX + 8];
	snprintf(rel, sizeof rel, "%s/svc", FX.conf);
	ck_assert_int_eq(symlink("../safe/svc", rel), 0);
	FX.opt.conf_path = FX.conf;
	jauth_close(fx_open("svc"));
}
END_TEST

START_TEST(test_stack_that_is_a_directory_refused)
{
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	mkdir(path, 0755);
	refused("is not a regular file");
}
END_TEST

START_TEST(test_service_names_refused)
{
	static const char *const bad[] = { "../x",  "a/b", "",	   ".hidden",
					   "-dash", "x y", "a..b", "x.." };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		jauth *h = fx_open_want(bad[i], JAUTH_CONFIG);
		ck_assert_ptr_nonnull(
			strstr(jauth_error(h), "is not a service name"));
		/* what to do, including the first character's rule */
		ck_assert_msg(strstr(jauth_error(h), ": use 1 to 64 letters, "
						     "digits, '.', '_', '-', "
						     "starting with a letter "
						     "or digit"),
			      "%s", jauth_error(h));
		jauth_close(h);
	}
	char long_name[80];
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	jauth *h = fx_open_want(long_name, JAUTH_CONFIG);
	jauth_close(h);
}
END_TEST

START_TEST(test_missing_stack_says_where_it_looked)
{
	jauth *h = fx_open_want("nostack", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "no stack for service \"nostack\""));
	ck_assert_ptr_nonnull(strstr(jauth_error(h), FX.conf));
	jauth_close(h);
}
END_TEST

START_TEST(test_first_directory_of_the_path_wins)
{
	char vendor[PATH_MAX + 16], path[2 * PATH_MAX + 40];
	snprintf(vendor, sizeof vendor, "%s/vendor", FX.dir);
	mkdir(vendor, 0755);
	snprintf(path, sizeof path, "%s/svc", vendor);
	fx_write(path, 0644, "required testmod.so token=vendor\n");
	snprintf(path, sizeof path, "%s:%s", FX.conf, vendor);
	FX.opt.conf_path = path;
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test vendor");
	jauth_close(h);
	fx_stack("svc", "required testmod.so token=admin\n");
	h = fx_open("svc");
	ck_assert_str_eq(fx_auth(h, &rc), "Test admin");
	jauth_close(h);
}
END_TEST

START_TEST(test_module_refusing_its_arguments_fails_open)
{
	fx_stack("svc", "required testmod.so colour=blue\n");
	refused("svc:1: colour= is not an argument of testmod.so; valid: acquire");
}
END_TEST

START_TEST(test_module_open_failure_fails_closed)
{
	fx_stack("svc", "optional testmod.so open=no\nrequired testmod.so\n");
	refused("svc:1: refusing to open, as told");
}
END_TEST

START_TEST(test_argument_types_checked)
{
	static const struct {
		const char *arg, *error;
	} bad[] = {
		{ "date=2026-02-30", "date= is not a real date" },
		{ "date=2026-2-3", "date= is not a real date" },
		{ "flag=perhaps", "flag= is not yes or no" },
		{ "num=11", "num= must be between 1 and 10" },
		{ "num=ten", "num= is not a whole number" },
		{ "base_url=http://x.example",
		  "base_url= is not an https:// URL" },
		{ "base_url=https://u:p@x.example",
		  "must not carry a user name" },
		{ "base_url=https://x.example/#frag",
		  "must not have a #fragment" },
		{ "secret=@vault:x", "reference jauth does not know" },
		{ "secret=@file:relative", "@file: needs an absolute path" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fx_stack("svc", "required testmod.so %s\n", bad[i].arg);
		jauth *h = fx_open_want("svc", JAUTH_CONFIG);
		ck_assert_msg(strstr(jauth_error(h), bad[i].error), "%s: %s",
			      bad[i].arg, jauth_error(h));
		jauth_close(h);
	}
	fx_stack("svc", "required testmod.so date=2028-02-29 flag=on num=10\n");
	jauth_close(fx_open("svc"));
}
END_TEST

/* ---- hot reload ---- */

static void wait_reload(void)
{
	usleep(1200 * 1000);
}

/* A handle on "svc" that served "Test before", whose stack has since
 * been edited to token=after and left alone long enough to be looked
 * at again. */
static jauth *opened_then_edited(void)
{
	fx_stack("svc", "required testmod.so token=before\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test before");
	fx_stack("svc", "required testmod.so token=after\n");
	wait_reload();
	return h;
}

START_TEST(test_reload_picks_up_an_edit)
{
	jauth *h = opened_then_edited();
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test after");
	ck_assert(fx_log_has("reloaded"));
	jauth_close(h);
}
END_TEST

START_TEST(test_reload_keeps_old_stack_on_broken_edit)
{
	fx_stack("svc", "required testmod.so token=good\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test good");
	fx_stack("svc", "required testmod.so token=\"broken\n");
	wait_reload();
	ck_assert_str_eq(fx_auth(h, &rc), "Test good");
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_msg(strstr(json, "svc:1: unterminated quote"), "%s", json);
	jauth_free(json);
	ck_assert(fx_log_has("the edited stack is refused"));
	/* For other processes (jauth status), the refusal is noted in the
	 * state directory. */
	char *report = fx_read(fx_path("state/svc.reload-error.json"));
	ck_assert_msg(report && strstr(report, "unterminated quote"), "%s",
		      report);
	free(report);
	/* Fixed again: the error goes away. */
	fx_stack("svc", "required testmod.so token=fixed\n");
	wait_reload();
	ck_assert_str_eq(fx_auth(h, &rc), "Test fixed");
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(strstr(json, "\"reload_error\":\tnull"));
	ck_assert_ptr_null(strstr(json, "reload_error_reported"));
	ck_assert_ptr_null(fx_read(fx_path("state/svc.reload-error.json")));
	jauth_free(json);
	jauth_close(h);
}

/* A handle (a connector) whose stack was good, then edited into a broken
 * one, which it refused. */
static jauth *refusing_connector(void)
{
	fx_stack("svc", "required testmod.so token=good\n");
	jauth *h = NULL;
	ck_assert_int_eq(jauth_open("svc", &FX.opt, &h), JAUTH_SUCCESS);
	jauth_result rc;
	fx_auth(h, &rc);
	fx_stack("svc", "required testmod.so \"broken\n");
	wait_reload();
	fx_auth(h, &rc);
	return h;
}

/* jauth status from another process shows what a running connector
 * refused, and the stack it keeps in force, though the file itself cannot
 * be loaded. */
START_TEST(test_status_shows_a_refusal_reported_by_another_process)
{
	jauth *h = refusing_connector();
	char *out = NULL, *err = NULL;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc",
				(char *)NULL),
			 2);
	ck_assert_msg(strstr(err, "unterminated quote"), "%s", err);
	ck_assert_msg(strstr(out, "a running connector (pid "), "%s", out);
	ck_assert_msg(strstr(out, "unterminated quote"), "%s", out);
	ck_assert_msg(strstr(out, "svc:1  required  testmod.so"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc", "--json",
				(char *)NULL),
			 2);
	ck_assert_msg(strstr(out, "\"reload_error_reported\":\t{"), "%s", out);
	ck_assert_msg(strstr(out, "\"in_force\""), "%s", out);
	free(out);
	free(err);
	jauth_close(h);
}
END_TEST

/* The note holds only while it is true: once the file is edited again, or
 * the connector that refused it exits, status no longer reports it. */
START_TEST(test_refusal_note_ends_with_the_edit_or_the_connector)
{
	jauth *h = refusing_connector();
	/* the admin fixes the file; the connector has not looked yet */
	fx_stack("svc", "required testmod.so token=fixed\n");
	char *out = NULL, *err = NULL;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc",
				(char *)NULL),
			 0);
	ck_assert_msg(!strstr(out, "refused"), "%s", out);
	free(out);
	free(err);
	jauth_close(h);

	/* A connector in another process refuses an edit, then exits. */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		refusing_connector();
		_exit(fx_read(fx_path("state/svc.reload-error.json")) ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "status", "svc",
				(char *)NULL),
			 2);
	ck_assert_msg(!strstr(out, "refused"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* An in-place edit written in two steps is never loaded half-written:
 * the handle waits until the file has been left alone for a second. */
START_TEST(test_in_place_edit_in_two_steps_is_not_loaded_half_done)
{
	fx_stack("svc", "required testmod.so token=before\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test before");
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	int fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	const char *half = "required testmod.so token=wh";
	ck_assert_int_eq(write(fd, half, strlen(half)), (ssize_t)strlen(half));
	/* The writer is descheduled between its two writes: by the real clock
	 * the half-written file is already 2 s old, by the handle's clock it
	 * was written just now (time held still), so it is not settled. */
	struct stat sb;
	ck_assert_int_eq(fstat(fd, &sb), 0);
	struct timespec back[2] = { { 0, UTIME_OMIT }, sb.st_mtim };
	back[1].tv_sec -= 2;
	ck_assert_int_eq(futimens(fd, back), 0);
	fx_clock(back[1].tv_sec);
	/* the handle looks at the file between the two writes */
	while (!fx_log_has("waiting for the edit to settle")) {
		ck_assert_str_ne(fx_auth(h, &rc), "Test wh");
		usleep(20 * 1000);
	}
	ck_assert_int_eq(write(fd, "ole\n", 4), 4);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	close(fd);
	fx_clock(sb.st_mtim.tv_sec + 2); /* the edit is done and a second old */
	const char *got;
	while (strcmp(got = fx_auth(h, &rc), "Test whole") != 0) {
		ck_assert_str_eq(got, "Test before");
		usleep(20 * 1000);
	}
	jauth_close(h);
}
END_TEST

/* jauth.conf(5): "On a call at least a second after its last look" the
 * handle checks for an edit: refresh, status and the admin calls too, not
 * only acquire. */
START_TEST(test_reload_on_every_call_not_only_acquire)
{
	jauth *h = opened_then_edited();
	jauth_result rc;
	const jauth_cred *c = NULL;
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c), "Test after");
	fx_stack("svc", "required testmod.so token=\"broken\n");
	wait_reload();
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_msg(strstr(json, "svc:1: unterminated quote"), "%s", json);
	jauth_free(json);
	fx_stack("svc", "required testmod.so token=revoked\n");
	wait_reload();
	char *steps = NULL;
	ck_assert_int_eq(jauth_revoke(h, &steps), JAUTH_SUCCESS);
	jauth_free(steps);
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_msg(strstr(json, "\"reload_error\":\tnull"), "%s", json);
	jauth_free(json);
	ck_assert_str_eq(fx_auth(h, &rc), "Test revoked");
	jauth_close(h);
}
END_TEST

START_TEST(test_reload_off_when_asked)
{
	FX.opt.flags = JAUTH_OPEN_NO_RELOAD;
	jauth *h = opened_then_edited();
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test before");
	jauth_close(h);
}
END_TEST

START_TEST(test_exports_only_jauth_names)
{
	FILE *p = popen("nm -D --defined-only " JAUTH_TEST_BUILDDIR
			"/lib/libjauth.so.1",
			"r");
	ck_assert_ptr_nonnull(p);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, p)) {
		char addr[64], type[8], name[400];
		if (sscanf(line, "%63s %7s %399s", addr, type, name) != 3)
			continue;
		ck_assert_msg(strncmp(name, "jauth_", 6) == 0, "exported: %s",
			      name);
		n++;
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_gt(n, 30);
}
END_TEST

/* jauth.h: a NULL out pointer is refused with a message, not a crash. */
START_TEST(test_acquire_without_out_pointer_refused)
{
	fx_stack("svc", "required testmod.so token=a\n");
	jauth *h = fx_open("svc");
	ck_assert_int_eq(jauth_acquire(h, NULL), JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth_acquire"));
	jauth_http_answer_free(NULL); /* does nothing */
	jauth_close(h);
}
END_TEST

/* jauth.h: a NULL handle, or a NULL where a call stores what it hands
 * out, is JAUTH_ERROR, never a crash; NULL credentials read as "". */
START_TEST(test_null_handles_and_out_pointers_refused)
{
	const jauth_cred *c = NULL;
	char *s = NULL;
	struct jauth_http_answer a = { 0 };
	ck_assert_int_eq(jauth_acquire(NULL, &c), JAUTH_ERROR);
	ck_assert_int_eq(jauth_refresh(NULL, &c), JAUTH_ERROR);
	ck_assert_int_eq(jauth_report(NULL, NULL, 401), JAUTH_ERROR);
	ck_assert_int_eq(jauth_revoke(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_authorize_begin(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_authorize_finish(NULL, "code=x&state=y", &s),
			 JAUTH_ERROR);
	ck_assert_int_eq(jauth_status(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_store_init(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_store_copy(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_store_rekey(NULL, &s), JAUTH_ERROR);
	ck_assert_int_eq(jauth_http_get(NULL, NULL, "https://x.example/", NULL,
					&a),
			 JAUTH_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(jauth_error(NULL), "no handle"));
	ck_assert_str_eq(jauth_cred_authorization(NULL), "");
	ck_assert_str_eq(jauth_cred_scheme(NULL), "");
	ck_assert_str_eq(jauth_cred_base_url(NULL), "");
	ck_assert_str_eq(jauth_cred_source(NULL), "");
	ck_assert_str_eq(jauth_cred_module(NULL), "");
	ck_assert_int_eq(jauth_cred_expires_at(NULL), 0);
	ck_assert_int_eq(jauth_open("svc", &FX.opt, NULL), JAUTH_ERROR);
	ck_assert_int_eq(jauth_lint("svc", &FX.opt, NULL), JAUTH_ERROR);
	ck_assert_int_eq(jauth_services(&FX.opt, NULL), JAUTH_ERROR);
	ck_assert_int_eq(jauth_modules(&FX.opt, NULL), JAUTH_ERROR);

	fx_stack("svc", "required testmod.so token=a\n");
	jauth *h = fx_open("svc");
	ck_assert_int_eq(jauth_status(h, NULL), JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth_status"));
	ck_assert_int_eq(jauth_authorize_begin(h, NULL), JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth_authorize_begin"));
	ck_assert_int_eq(jauth_http_get(h, NULL, "https://x.example/", NULL,
					NULL),
			 JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth_http_get"));
	jauth_close(h);

	/* no name at all: said in words, not as "(null)" */
	ck_assert_int_eq(jauth_open(NULL, &FX.opt, &h), JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "no service name given"), "%s",
		      jauth_error(h));
	jauth_close(h);
	ck_assert_int_eq(jauth_lint(NULL, &FX.opt, &s), JAUTH_CONFIG);
	ck_assert_msg(strstr(s, "no service name given"), "%s", s);
	jauth_free(s);
}
END_TEST

/* jauth.h: only 401, 403 and 404 are rejections; any other status is
 * refused and the credential stays in force. */
static const struct {
	int status;
	jauth_result want;
} reports[] = {
	{ 401, JAUTH_SUCCESS }, { 403, JAUTH_SUCCESS }, { 404, JAUTH_SUCCESS },
	{ 200, JAUTH_ERROR },	{ 0, JAUTH_ERROR },	{ 302, JAUTH_ERROR },
	{ 400, JAUTH_ERROR },	{ 500, JAUTH_ERROR },	{ -401, JAUTH_ERROR },
};

START_TEST(test_report_counts_only_rejections)
{
	fx_stack("svc", "required testmod.so token=a\n");
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_eq(jauth_report(h, c, reports[_i].status),
			 reports[_i].want);
	if (reports[_i].want == JAUTH_SUCCESS) {
		ck_assert(fx_log_has("Jira answered HTTP"));
	} else {
		ck_assert_ptr_nonnull(
			strstr(jauth_error(h), "401, 403 or 404"));
		ck_assert(!fx_log_has("Jira answered HTTP"));
	}
	jauth_close(h);
}
END_TEST

Suite *suite_load(void)
{
	Suite *s = suite_create("loading");
	TCase *tc = tcase_create("fail closed");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_missing_module_refused);
	tcase_add_test(tc, test_relative_module_path_refused);
	tcase_add_test(tc, test_absolute_module_path_loads);
	tcase_add_test(tc, test_module_loads_in_a_pid_namespace_without_its_proc);
	tcase_add_test(tc, test_missing_entry_symbol_refused);
	tcase_add_test(tc, test_file_that_is_not_a_module_refused);
	tcase_add_test(tc, test_wrong_abi_major_refused);
	tcase_add_test(tc, test_newer_abi_minor_refused);
	tcase_add_test(tc, test_older_abi_minor_loads_and_works);
	tcase_add_test(tc, test_group_writable_module_refused);
	tcase_add_test(tc, test_world_writable_module_dir_refused);
	tcase_add_test(tc, test_module_symlink_to_unsafe_place_refused);
	tcase_add_test(tc, test_world_writable_stack_refused);
	tcase_add_test(tc, test_stack_symlink_to_writable_file_refused);
	tcase_add_test(tc, test_stack_that_is_a_directory_refused);
	tcase_add_test(tc, test_link_in_an_unsafe_directory_refused);
	tcase_add_test(tc, test_service_names_refused);
	tcase_add_test(tc, test_missing_stack_says_where_it_looked);
	tcase_add_test(tc, test_first_directory_of_the_path_wins);
	tcase_add_test(tc, test_module_refusing_its_arguments_fails_open);
	tcase_add_test(tc, test_module_open_failure_fails_closed);
	tcase_add_test(tc, test_argument_types_checked);
	tcase_add_test(tc, test_exports_only_jauth_names);
	tcase_add_test(tc, test_acquire_without_out_pointer_refused);
	tcase_add_test(tc, test_null_handles_and_out_pointers_refused);
	tcase_add_loop_test(tc, test_report_counts_only_rejections, 0,
			    sizeof reports / sizeof reports[0]);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_reload_picks_up_an_edit);
	tcase_add_test(tc, test_reload_keeps_old_stack_on_broken_edit);
	tcase_add_test(tc, test_reload_on_every_call_not_only_acquire);
	tcase_add_test(tc, test_reload_off_when_asked);
	tcase_add_test(tc,
		       test_status_shows_a_refusal_reported_by_another_process);
	tcase_add_test(tc,
		       test_refusal_note_ends_with_the_edit_or_the_connector);
	tcase_add_test(tc,
		       test_in_place_edit_in_two_steps_is_not_loaded_half_done);
	suite_add_tcase(s, tc);
	return s;
}
