/*
 * check_secrets.c — secrets at rest and in memory (issue #17): systemd
 * credentials as a secret source (@cred:NAME), held to the trust rules of
 * a secret file as systemd really lays them out.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixture.h"
#include "suites.h"

/* ---- @cred: ---- */

/* FX's credentials directory, made as systemd makes one: the credential
 * NAME holding TEXT, mode 0400, then the directory taken down to 0500. */
static const char *creds_with(const char *name, const char *text)
{
	static char dir[PATH_MAX];
	char path[PATH_MAX + 256];
	snprintf(dir, sizeof dir, "%s", fx_path("credentials"));
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fx_write(path, 0400, text);
	chmod(dir, 0500);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	return dir;
}

static const char *cred_file(const char *name)
{
	static char path[PATH_MAX + 256];
	snprintf(path, sizeof path, "%s/%s", fx_path("credentials"), name);
	return path;
}

/* Gives ID (a uid, or a gid when GROUP) read access to PATH with a POSIX
 * ACL, written as the kernel's xattr as setfacl(1) would write it.
 * Returns 0, or -1 when the file system has no ACLs. */
static int acl_grant_read(const char *path, uint32_t id, int group)
{
	struct {
		uint16_t tag, perm;
		uint32_t id;
	} e[5] = {
		{ 0x01, 4, UINT32_MAX },	/* user:: r */
		{ group ? 0x08 : 0x02, 4, id }, /* user:ID: or group:ID: */
		{ 0x04, 0, UINT32_MAX },	/* group:: - */
		{ 0x10, 4, UINT32_MAX },	/* mask:: r */
		{ 0x20, 0, UINT32_MAX },	/* other:: - */
	};
	char raw[4 + sizeof e];
	uint32_t version = htole32(2);
	for (int i = 0; i < 5; i++) {
		e[i].tag = htole16(e[i].tag);
		e[i].perm = htole16(e[i].perm);
		e[i].id = htole32(e[i].id);
	}
	if (group) { /* entries are sorted by tag: group:ID after group:: */
		__typeof__(e[0]) t = e[1];
		e[1] = e[2];
		e[2] = t;
	}
	memcpy(raw, &version, 4);
	memcpy(raw + 4, e, sizeof e);
	return setxattr(path, "system.posix_acl_access", raw, sizeof raw, 0);
}

START_TEST(test_cred_reads_the_credentials_directory)
{
	creds_with("jauth-secret", "cred-value-1\n");
	fx_stack("svc", "required testmod.so secret=@cred:jauth-secret\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	ck_assert_str_eq(fx_auth(h, &rc), "Test cred-value-1");
	jauth_close(h);
}
END_TEST

START_TEST(test_cred_without_credentials_directory_is_unavailable)
{
	unsetenv("CREDENTIALS_DIRECTORY");
	fx_stack("svc", "required testmod.so secret=@cred:jauth-secret\n");
	jauth *h = fx_open("svc"); /* lint and status run outside the unit */
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(jauth_error(h),
				     "not running under a "
				     "unit with LoadCredential="));
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "@cred:jauth-secret"));
	jauth_close(h);
}
END_TEST

START_TEST(test_cred_missing_from_the_directory_is_unavailable)
{
	creds_with("other", "x-value\n");
	fx_stack("svc", "required testmod.so secret=@cred:jauth-secret\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "LoadCredential="));
	jauth_close(h);
}
END_TEST

/* A name is one file of the directory: nothing that walks out of it. */
static const char *const bad_names[] = { "../etc/shadow", "..", ".", "a/b",
					 "" };

START_TEST(test_cred_name_that_leaves_the_directory_refused)
{
	creds_with("jauth-secret", "x-value\n");
	fx_stack("svc", "required testmod.so secret=@cred:%s\n", bad_names[_i]);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "not a credential name"));
	jauth_close(h);
}
END_TEST

/* The trust rules, as a table: what systemd writes passes, every way for
 * another user to read or replace the credential is refused. */
enum cred_setup { PLAIN, ACL_ME, ACL_OTHER_USER, ACL_GROUP };
static const struct {
	const char *what;
	int mode;     /* of the credential */
	int dir_mode; /* of the directory */
	uid_t owner;  /* of the credential */
	enum cred_setup acl;
	const char *refusal; /* NULL: accepted */
} trust_cases[] = {
	{ "systemd's own: 0400 in 0500", 0400, 0500, 0, PLAIN, NULL },
	{ "root's unit, directory 0700", 0400, 0700, 0, PLAIN, NULL },
	{ "service user by ACL (mode shows 0440)", 0400, 0500, 0, ACL_ME,
	  NULL },
	{ "ACL lets another user read", 0400, 0500, 0, ACL_OTHER_USER,
	  "can be read by user 4242 through its ACL" },
	{ "ACL lets a group read", 0400, 0500, 0, ACL_GROUP,
	  "can be read by group 4242 through its ACL" },
	{ "group bits without an ACL", 0440, 0500, 0, PLAIN,
	  "can be read by group" },
	{ "readable by others", 0404, 0500, 0, PLAIN, "can be read by others" },
	{ "writable by group", 0460, 0500, 0, PLAIN,
	  "writable by group or others" },
	{ "owned by another user", 0400, 0500, 4242, PLAIN,
	  "owned by uid 4242" },
	{ "directory writable by group", 0400, 0770, 0, PLAIN,
	  "writable by group or others" },
};

START_TEST(test_cred_trust_rules)
{
	const __typeof__(trust_cases[0]) *c = &trust_cases[_i];
	const char *dir = creds_with("jauth-secret", "trusted-value\n");
	chmod(dir, 0700);
	const char *path = cred_file("jauth-secret");
	if (c->acl != PLAIN &&
	    acl_grant_read(path, c->acl == ACL_ME ? geteuid() : 4242,
			   c->acl == ACL_GROUP) < 0) {
		fprintf(stderr, "%s: skipped, no ACLs here: %s\n", c->what,
			strerror(errno));
		return;
	}
	if (c->acl == PLAIN)
		ck_assert_int_eq(chmod(path, (mode_t)c->mode), 0);
	if (c->owner)
		ck_assert_int_eq(chown(path, c->owner, (gid_t)-1), 0);
	ck_assert_int_eq(chmod(dir, (mode_t)c->dir_mode), 0);
	fx_stack("svc", "required testmod.so secret=@cred:jauth-secret\n");
	jauth *h =
		fx_open_want("svc", c->refusal ? JAUTH_CONFIG : JAUTH_SUCCESS);
	if (c->refusal) {
		if (!strstr(jauth_error(h), c->refusal))
			ck_abort_msg("%s: %s", c->what, jauth_error(h));
	} else {
		jauth_result rc;
		ck_assert_str_eq(fx_auth(h, &rc), "Test trusted-value");
	}
	jauth_close(h);
}
END_TEST

/* The group bits count as an ACL's mask only for a credential: a @file:
 * secret with the same ACL is still refused. */
START_TEST(test_acl_mask_is_no_excuse_for_a_secret_file)
{
	fx_write(fx_path("s"), 0400, "file-value\n");
	if (acl_grant_read(fx_path("s"), geteuid(), 0) < 0) {
		fprintf(stderr, "skipped, no ACLs here: %s\n", strerror(errno));
		return;
	}
	fx_stack("svc", "required testmod.so secret=@file:%s\n", fx_path("s"));
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "can be read by group or others"));
	jauth_close(h);
}
END_TEST

Suite *suite_secrets(void)
{
	Suite *s = suite_create("secrets");
	TCase *tc = tcase_create("systemd credentials");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_cred_reads_the_credentials_directory);
	tcase_add_test(tc,
		       test_cred_without_credentials_directory_is_unavailable);
	tcase_add_test(tc, test_cred_missing_from_the_directory_is_unavailable);
	tcase_add_loop_test(tc,
			    test_cred_name_that_leaves_the_directory_refused, 0,
			    (int)(sizeof bad_names / sizeof *bad_names));
	tcase_add_loop_test(tc, test_cred_trust_rules, 0,
			    (int)(sizeof trust_cases / sizeof *trust_cases));
	tcase_add_test(tc, test_acl_mask_is_no_excuse_for_a_secret_file);
	suite_add_tcase(s, tc);
	return s;
}
