/*
 * check_trust.c — who may own what jauth reads (jauth.conf(5), FILE TRUST),
 * with a real second user: uid 65534 owns files (chown) and makes links
 * itself (a forked child that setuid()s to it). Needs root; as anyone else
 * the tests say so and pass nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "fixture.h"
#include "suites.h"

#define OTHER ((uid_t)65534)

static void setup(void)
{
	fx_setup();
	/* the second user must be able to reach FX.dir's subdirectories */
	chmod(FX.dir, 0755);
}

static void setup_standin(void)
{
	fx_setup_standin();
	chmod(FX.dir, 0755);
}

/* Skips the test unless we are root (who alone can be the second user). */
#define NEED_ROOT()                                                            \
	do {                                                                   \
		if (geteuid() != 0) {                                          \
			fprintf(stderr, "%s: skipped: needs root\n",           \
				__func__);                                     \
			return;                                                \
		}                                                              \
	} while (0)

/* Makes the symbolic link LINK -> TARGET as the second user. */
static void link_as_other(const char *target, const char *link)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgid(OTHER) < 0 || setuid(OTHER) < 0)
			_exit(2);
		_exit(symlink(target, link) == 0 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "uid %u could not make %s", (unsigned)OTHER, link);
	struct stat lst;
	ck_assert_int_eq(lstat(link, &lst), 0);
	ck_assert_int_eq(lst.st_uid, OTHER);
}

/* DIR/NAME made with MODE (mkdir then chmod, past the umask); the path
 * lives until the test ends. */
static const char *mkdir_mode(const char *name, mode_t mode)
{
	static char made[4][PATH_MAX];
	static int n;
	char *d = made[n++ % 4];
	snprintf(d, PATH_MAX, "%s", fx_path(name));
	ck_assert_int_eq(mkdir(d, mode), 0);
	ck_assert_int_eq(chmod(d, mode), 0);
	return d;
}

/* A copy of the stand-in's CA, root's and 0644, in the sticky
 * world-writable directory DIR/pub (static path). */
static const char *pub_ca(void)
{
	static char ca[PATH_MAX + 8];
	snprintf(ca, sizeof ca, "%s/ca.pem", mkdir_mode("pub", 01777));
	char *pem = fx_read(SI.ca);
	fx_write(ca, 0644, pem);
	free(pem);
	return ca;
}

/* Opens "svc" wanting a refusal whose message has every one of the
 * NULL-terminated strings and none of the strings after a second NULL. */
static void refused_saying(const char *first, ...)
{
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	const char *msg = jauth_error(h);
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		ck_assert_msg(strstr(msg, s), "no \"%s\" in: %s", s, msg);
	for (const char *s = va_arg(ap, const char *); s;
	     s = va_arg(ap, const char *))
		ck_assert_msg(!strstr(msg, s), "\"%s\" in: %s", s, msg);
	va_end(ap);
	ck_assert_ptr_null(strchr(msg, '\n'));
	jauth_close(h);
}

/* Root runs jauth status for a connector whose secret its service user
 * owns: a directory only root can write holds the file, so the user
 * controls only the bytes of their own secret. */
START_TEST(test_root_reads_a_secret_the_service_user_owns)
{
	NEED_ROOT();
	const char *dir = mkdir_mode("secret", 0755);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/token", dir);
	fx_write(path, 0600, "users-token\n");
	ck_assert_int_eq(chown(path, OTHER, OTHER), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", path);
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test users-token");
	jauth_close(h);
	/* and root's jauth status / lint / doctor for that stack work */
	static const char *const cmds[][2] = { { "status", "svc" },
					       { "lint", "svc" },
					       { "doctor", "svc" } };
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char *out, *err;
		int st = fx_cli(NULL, &out, &err, cmds[i][0], cmds[i][1],
				(char *)NULL);
		ck_assert_msg(st == 0, "%s: %d %s%s", cmds[i][0], st, out, err);
		/* doctor says whose grant the connector would use */
		if (strcmp(cmds[i][0], "doctor") == 0)
			ck_assert_msg(strstr(out, "run sudo -u nobody jauth "
						  "doctor svc") ||
					      strstr(out,
						     "run sudo -u \\#65534"),
				      "%s", out);
		free(out);
		free(err);
	}
	/* still private: a mode others can read is refused */
	chmod(path, 0640);
	refused_saying("can be read by group or others", "chmod 600", NULL,
		       "chown root", NULL);
}
END_TEST

/* The same file in a directory others can write (a sticky one, like
 * /tmp): anyone could have made it, so it is refused. */
START_TEST(test_another_users_secret_in_a_shared_dir_refused)
{
	NEED_ROOT();
	const char *dir = mkdir_mode("pub", 01777);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/token", dir);
	fx_write(path, 0600, "planted\n");
	ck_assert_int_eq(chown(path, OTHER, OTHER), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", path);
	refused_saying("owned by uid 65534", "others can write", NULL,
		       "chown root", NULL);
}
END_TEST

/* A directory of the service user on the secret's path: never trusted,
 * and the advice is to run as that user, not to take the directory. */
START_TEST(test_another_users_directory_advice_keeps_the_connector)
{
	NEED_ROOT();
	const char *dir = mkdir_mode("home", 0700);
	ck_assert_int_eq(chown(dir, OTHER, OTHER), 0);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/token", dir);
	fx_write(path, 0600, "t\n");
	ck_assert_int_eq(chown(path, OTHER, OTHER), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", path);
	refused_saying("owned by uid 65534", "sudo -u ", NULL, "chown root",
		       NULL);
	/* as that user, the same stack works */
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(OTHER) < 0 || setuid(OTHER) < 0)
			_exit(2);
		jauth *h = NULL;
		FX.opt.state_dir = dir;
		_exit(jauth_open("svc", &FX.opt, &h) == JAUTH_SUCCESS ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "as uid 65534");
}
END_TEST

/* What jauth_open says, as the second user, about svc; static. */
static const char *open_error_as_other(void)
{
	static char msg[2048];
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(OTHER) < 0 || setuid(OTHER) < 0)
			_exit(2);
		jauth *h = NULL;
		jauth_open("svc", &FX.opt, &h);
		const char *e = jauth_error(h);
		_exit(write(fds[1], e, strlen(e)) < 0);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return msg;
}

/* A directory of the conf path the user cannot search may hold the
 * service's stack: it is reported, never passed over for a later
 * directory's (jauth.conf(5): an earlier entry is never passed over). */
START_TEST(test_unsearchable_conf_dir_is_not_passed_over)
{
	NEED_ROOT();
	const char *closed = mkdir_mode("closed", 0700); /* root's */
	char file[PATH_MAX + 8], path[2 * PATH_MAX + 8];
	snprintf(file, sizeof file, "%s/svc", closed);
	fx_write(file, 0644, "required testmod.so token=admin\n");
	fx_stack("svc", "required testmod.so token=vendor\n");
	snprintf(path, sizeof path, "%s:%s", closed, FX.conf);
	FX.opt.conf_path = path;
	const char *e = open_error_as_other();
	ck_assert_msg(strstr(e, closed) &&
			      strstr(e, "cannot search its directory"),
		      "the vendor's stack was used, or the error does not "
		      "name %s: [%s]",
		      closed, e);
}
END_TEST

/* A root-owned file the user cannot read: the error says what to do
 * (README: "FILE:LINE: what is wrong: what to do"), not only EACCES. */
START_TEST(test_unreadable_root_file_says_what_to_do)
{
	NEED_ROOT();
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/token", FX.dir);
	fx_write(path, 0600, "t\n");
	fx_stack("svc", "required testmod.so secret=@file:%s\n", path);
	const char *e = open_error_as_other();
	ck_assert_msg(strstr(e, "svc:1: secret= secret file") &&
			      strstr(e, "Permission denied: a secret file "
					"belongs to the user the connector "
					"runs as"),
		      "%s", e);
	fx_stack("svc", "required testmod.so\n");
	ck_assert_int_eq(chmod(fx_path("conf/svc"), 0600), 0);
	e = open_error_as_other();
	ck_assert_msg(strstr(e, "Permission denied: make it readable by the "
				"user jauth runs as (chmod 644)"),
		      "%s", e);
}
END_TEST

/* A stack or a module of another user is refused whatever else holds. */
START_TEST(test_stack_and_module_of_another_user_refused)
{
	NEED_ROOT();
	fx_stack("svc", "required testmod.so\n");
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/svc", FX.conf);
	ck_assert_int_eq(chown(path, OTHER, OTHER), 0);
	refused_saying("stack file", "owned by uid 65534", "sudo -u ", NULL,
		       NULL);
	ck_assert_int_eq(chown(path, 0, 0), 0);
	snprintf(path, sizeof path, "%s/testmod.so", FX.mods);
	ck_assert_int_eq(chown(path, OTHER, OTHER), 0);
	refused_saying("module", "owned by uid 65534", "never trusts code",
		       NULL, NULL);
}
END_TEST

/* protected_symlinks in jauth's own walk: a link another user made in a
 * sticky directory others can write is not followed — not to a root-only
 * secret, not to a module; the same link made by root is. */
START_TEST(test_link_by_another_user_in_a_sticky_dir_not_followed)
{
	NEED_ROOT();
	const char *pub = mkdir_mode("pub", 01777);
	const char *priv = mkdir_mode("priv", 0755);
	char target[PATH_MAX + 8], link[PATH_MAX + 8];
	snprintf(target, sizeof target, "%s/roots-secret", priv);
	snprintf(link, sizeof link, "%s/token", pub);
	fx_write(target, 0600, "root-only\n");
	link_as_other(target, link);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", link);
	refused_saying("symbolic link made by uid 65534", "sticky", NULL, NULL);
	/* a module reached through such a link */
	char mlink[PATH_MAX + 32], mtarget[PATH_MAX + 32];
	snprintf(mlink, sizeof mlink, "%s/testmod.so", pub);
	snprintf(mtarget, sizeof mtarget, "%s/testmod.so", FX.mods);
	link_as_other(mtarget, mlink);
	fx_stack("svc", "required %s\n", mlink);
	refused_saying("symbolic link made by uid 65534", NULL, NULL);
	/* root's own link there is followed */
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", link);
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test root-only");
	jauth_close(h);
}
END_TEST

/* The advice to chmod names the file a link leads to, never the link. */
START_TEST(test_mode_advice_names_the_links_target)
{
	const char *real = mkdir_mode("real", 0755);
	char target[PATH_MAX + 8], link[PATH_MAX + 8], fix[PATH_MAX + 32];
	snprintf(target, sizeof target, "%s/token", real);
	snprintf(link, sizeof link, "%s", fx_path("token"));
	fx_write(target, 0644, "t\n");
	ck_assert_int_eq(symlink(target, link), 0);
	fx_stack("svc", "required testmod.so secret=@file:%s\n", link);
	snprintf(fix, sizeof fix, "chmod 600 %s", target);
	refused_saying(fix, NULL, NULL);
	char bad[PATH_MAX + 32];
	snprintf(bad, sizeof bad, "chmod 600 %s;", link);
	refused_saying("leads there", NULL, bad, NULL);
}
END_TEST

/* Kubernetes secret volumes (0644) and Vault Agent sinks (0640) stay
 * refused; the message says where to set the mode in those tools. */
START_TEST(test_agent_modes_refused_with_the_tools_fix)
{
	static const int modes[] = { 0644, 0640 };
	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		fx_write(fx_path("s"), modes[i], "v\n");
		fx_stack("svc", "required testmod.so secret=@file:%s\n",
			 fx_path("s"));
		refused_saying("defaultMode: 0400", "Vault Agent",
			       "mode = 0400", NULL, NULL);
	}
}
END_TEST

/* A stack "svc" fetching its token from the stand-in's /x (TIMES
 * answers, -1: every one) with ca_file=CA. */
static void ca_svc(const char *ca, int times)
{
	char fault[128];
	snprintf(fault, sizeof fault,
		 "{\"path\":\"/x\",\"status\":200,\"body\":\"ca-ok\","
		 "\"count\":%d}",
		 times);
	ck_assert_int_eq(standin_fault(&SI, fault), 0);
	fx_stack("svc", "required testmod.so http=%s/x ca_file=%s tries=1\n",
		 SI.url, ca);
}

/* ca_file= decides which server gets the secrets: checked like a stack
 * file, on the bytes libcurl then uses. */
START_TEST(test_ca_file_of_another_user_refused)
{
	NEED_ROOT();
	const char *ca = pub_ca();
	ca_svc(ca, 1);
	jauth *h = fx_open("svc");
	jauth_result rc;
	/* root's own copy in the same place works */
	ck_assert_str_eq(fx_auth(h, &rc), "Test ca-ok");
	jauth_close(h);
	ck_assert_int_eq(chown(ca, OTHER, OTHER), 0);
	h = fx_open("svc");
	fx_auth(h, &rc);
	ck_assert_int_ne(rc, JAUTH_SUCCESS);
	ck_assert_msg(strstr(jauth_error(h), "ca_file= CA file") &&
			      strstr(jauth_error(h), "owned by uid 65534"),
		      "%s", jauth_error(h));
	jauth_close(h);
	ck_assert_int_eq(chown(ca, 0, 0), 0);
	chmod(ca, 0666);
	h = fx_open("svc");
	fx_auth(h, &rc);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "writable by group"));
	jauth_close(h);
}
END_TEST

/* A handle reads its ca_file= once: a request made while the file is the
 * very one checked uses those bytes; the file changed in any way, or
 * another file put in its place, is walked and checked again first. */
START_TEST(test_ca_file_changed_under_a_handle_is_checked_again)
{
	NEED_ROOT();
	const char *ca = pub_ca();
	char moved[PATH_MAX + 16];
	ca_svc(ca, -1);
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test ca-ok");
	ck_assert_msg(jauth_refresh(h, NULL) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	/* the same file, its owner changed */
	ck_assert_int_eq(chown(ca, OTHER, OTHER), 0);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "ca_file= CA file") &&
			      strstr(jauth_error(h), "owned by uid 65534"),
		      "%s", jauth_error(h));
	ck_assert_int_eq(chown(ca, 0, 0), 0);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_SUCCESS);
	/* the same file, made writable by others */
	ck_assert_int_eq(chmod(ca, 0666), 0);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "writable by group"));
	ck_assert_int_eq(chmod(ca, 0644), 0);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_SUCCESS);
	/* another user's file renamed into its place, same bytes */
	snprintf(moved, sizeof moved, "%s.new", ca);
	char *pem = fx_read(ca);
	fx_write(moved, 0644, pem);
	free(pem);
	ck_assert_int_eq(chown(moved, OTHER, OTHER), 0);
	ck_assert_int_eq(rename(moved, ca), 0);
	ck_assert_int_eq(jauth_refresh(h, NULL), JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "owned by uid 65534"));
	/* and a CA file that no longer vouches for the server */
	ck_assert_int_eq(chown(ca, 0, 0), 0);
	fx_write(moved, 0644, "not a certificate\n");
	ck_assert_int_eq(rename(moved, ca), 0);
	ck_assert_int_ne(jauth_refresh(h, NULL), JAUTH_SUCCESS);
	jauth_close(h);
}
END_TEST

/* ... and the shipped modules declare it a file argument, so that lint
 * and jauth_open refuse such a CA before any request. */
START_TEST(test_ca_file_of_another_user_refused_by_lint)
{
	NEED_ROOT();
	const char *ca = pub_ca();
	ck_assert_int_eq(chown(ca, OTHER, OTHER), 0);
	fx_stack("svc",
		 "required apitoken.so email=x@example.com token=@env:T "
		 "site=%s ca_file=%s\n",
		 SI.url, ca);
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "lint", "svc", (char *)NULL),
			 2);
	ck_assert_msg(strstr(out, "ca_file= file ") &&
			      strstr(out, "owned by uid 65534"),
		      "%s", out);
	ck_assert_ptr_null(strstr(out, "stack file"));
	free(out);
	free(err);
}
END_TEST

Suite *suite_trust(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("owners");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_add_test(tc, test_root_reads_a_secret_the_service_user_owns);
	tcase_add_test(tc, test_another_users_secret_in_a_shared_dir_refused);
	tcase_add_test(tc,
		       test_another_users_directory_advice_keeps_the_connector);
	tcase_add_test(tc, test_stack_and_module_of_another_user_refused);
	tcase_add_test(tc, test_unreadable_root_file_says_what_to_do);
	tcase_add_test(tc, test_unsearchable_conf_dir_is_not_passed_over);
	tcase_add_test(tc,
		       test_link_by_another_user_in_a_sticky_dir_not_followed);
	tcase_add_test(tc, test_mode_advice_names_the_links_target);
	tcase_add_test(tc, test_agent_modes_refused_with_the_tools_fix);
	suite_add_tcase(s, tc);

	tc = tcase_create("ca_file");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup_standin, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ca_file_of_another_user_refused);
	tcase_add_test(tc, test_ca_file_changed_under_a_handle_is_checked_again);
	tcase_add_test(tc, test_ca_file_of_another_user_refused_by_lint);
	suite_add_tcase(s, tc);
	return s;
}
