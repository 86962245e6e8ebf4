/*
 * check_secrets.c — secrets at rest and in memory (issue #17): systemd
 * credentials as a secret source (@cred:NAME), held to the trust rules of
 * a secret file as systemd really lays them out; no secret in the core
 * file of a connector that crashes with one in flight.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <jauth/module.h>

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

/* doctor checks a credential when it runs inside the unit, and says it
 * cannot see one from outside. */
START_TEST(test_doctor_checks_a_credential_only_inside_the_unit)
{
	char *out, *err;
	creds_with("jauth-secret", "cred-value-2\n");
	fx_stack("svc", "required testmod.so secret=@cred:jauth-secret\n");
	fx_cli(NULL, &out, &err, "doctor", "--offline", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, cred_file("jauth-secret")), "%s", out);
	ck_assert_ptr_null(strstr(out, "cannot be seen from here"));
	free(out);
	free(err);
	unsetenv("CREDENTIALS_DIRECTORY");
	fx_cli(NULL, &out, &err, "doctor", "--offline", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "systemd credential jauth-secret cannot be "
				  "seen from here"),
		      "%s", out);
	free(out);
	free(err);
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

/* ---- secure memory for modules ---- */

/* 1 when the mapping that holds P is left out of core dumps: its VmFlags
 * in /proc/self/smaps have "dd". */
static int left_out_of_dumps(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, dd = -1;
	uintptr_t a = (uintptr_t)p;
	ck_assert_ptr_nonnull(f);
	while (dd < 0 && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			dd = strstr(line, " dd") != NULL;
	}
	fclose(f);
	return dd == 1;
}

START_TEST(test_secure_memory_is_left_out_of_dumps_and_zeroed)
{
	char *small = jauth_m_secure_alloc(100),
	     *big = jauth_m_secure_alloc(100000);
	char *s = jauth_m_secure_strdup("a-token"),
	     *n = jauth_m_secure_strndup("a-token", 3);
	char *b = jauth_m_secure_base64("svc@acme.com:tok", 16);
	for (size_t i = 0; i < 100; i++)
		ck_assert_int_eq(small[i], 0);
	ck_assert_int_eq(big[99999], 0);
	ck_assert_str_eq(s, "a-token");
	ck_assert_str_eq(n, "a-t");
	ck_assert_str_eq(b, "c3ZjQGFjbWUuY29tOnRvaw==");
	ck_assert_ptr_null(jauth_m_secure_strdup(NULL));
	const void *blocks[] = { small, big, s, n, b };
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(left_out_of_dumps(blocks[i]), "block %zu", i);
	ck_assert(!left_out_of_dumps(&blocks)); /* the stack is dumped */
	jauth_m_secure_free(small);
	jauth_m_secure_free(big);
	jauth_m_secure_free(s);
	jauth_m_secure_free(n);
	jauth_m_secure_free(b);
	jauth_m_secure_free(NULL);
}
END_TEST

/* A body built from references to secure strings prints, into secure
 * memory, what cJSON's own printer prints (a large one too: the buffer
 * grows), and freeing the tree wipes its own strings but leaves the
 * referenced secret alone. */
START_TEST(test_json_prints_securely_and_references_stay_the_callers)
{
	char *secret = jauth_m_secure_strdup("rt-\"quoted\"\\secret");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "grant_type", "refresh_token");
	cJSON_AddItemToObject(j, "refresh_token",
			      cJSON_CreateStringReference(secret));
	cJSON *list = cJSON_AddArrayToObject(j, "pad");
	for (int i = 0; i < 500; i++)
		cJSON_AddItemToArray(list, cJSON_CreateNumber(i));
	char *heap = cJSON_PrintUnformatted(j),
	     *sec = jauth_m_json_print_secure(j);
	ck_assert_uint_gt(strlen(heap), 1024); /* past the first buffers */
	ck_assert_str_eq(sec, heap);
	ck_assert(left_out_of_dumps(sec));
	ck_assert_ptr_null(jauth_m_json_print_secure(NULL));
	jauth_m_json_free(j);
	ck_assert_str_eq(secret, "rt-\"quoted\"\\secret");
	free(heap);
	jauth_m_secure_free(sec);
	jauth_m_secure_free(secret);
}
END_TEST

/* ---- core files ---- */

#define CANARY "CANARY-9d41f7c2-api-token"
/* Basic base64("svc@acme.com:" CANARY) */
#define CANARY_AUTH "c3ZjQGFjbWUuY29tOkNBTkFSWS05ZDQxZjdjMi1hcGktdG9rZW4="

/* 1 when the N bytes of NEEDLE occur in file PATH. */
static int file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = strlen(needle), have = 0, got;
	static char buf[1 << 20];
	int found = 0;
	while (!found && (got = fread(buf + have, 1, sizeof buf - have, f))) {
		have += got;
		found = memmem(buf, have, needle, n) != NULL;
		if (have > n) { /* keep a tail that may start a match */
			memmove(buf, buf + have - n, n);
			have = n;
		}
	}
	fclose(f);
	return found;
}

/* Why the kernel's core file of a process started here cannot be read
 * back (malloc'd), or NULL: core_pattern pipes it to a program or puts it
 * in a directory of its own. gdb's gcore is no way around that: it opens
 * the names of the loaded objects in the link map, and a module dlopened
 * by its /proc/self/fd/N name makes it read its own descriptor N. */
static char *core_unreadable(void)
{
	char *pattern = fx_read("/proc/sys/kernel/core_pattern");
	char *why = NULL;
#ifdef __SANITIZE_ADDRESS__
	free(pattern);
	return strdup(
		"AddressSanitizer turns core files off (disable_coredump)");
#endif
	if (!pattern)
		why = strdup("no /proc/sys/kernel/core_pattern");
	else if (pattern[0] == '|')
		why = strdup("core_pattern pipes core files to a program");
	else if (strchr(pattern, '/'))
		why = strdup("core_pattern puts core files elsewhere");
	free(pattern);
	return why;
}

/* The one file in DIR (the core the kernel wrote there), into CORE. */
static int only_file(const char *dir, char *core, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && found++ == 0)
			snprintf(core, n, "%s/%s", dir, e->d_name);
	if (d)
		closedir(d);
	return found == 1 ? 0 : -1;
}

/* The canary connector (tests/canary/connector.c) on service svc, with
 * its options and arguments ARGS (NULL-terminated), started in an empty
 * directory with no limit on its core file and, when TUNABLES is not
 * NULL, GLIBC_TUNABLES=TUNABLES. Returns its pid once it holds its
 * credential; *INPUT is the pipe that makes it abort when closed. */
static pid_t connector_start(const char *const *args, const char *tunables,
			     const char *dir, int *input)
{
	int out[2], in[2];
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(in), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit all = { RLIM_INFINITY, RLIM_INFINITY };
		const char *argv[16] = { "canary-connector" };
		size_t n = 1;
		while (*args && n < 15)
			argv[n++] = *args++;
		setrlimit(RLIMIT_CORE, &all);
		if (chdir(dir) != 0)
			_exit(126);
		dup2(out[1], 1);
		dup2(in[0], 0);
		close(out[0]);
		close(in[1]);
		setenv("JAUTH_CONF_PATH", FX.conf, 1);
		setenv("JAUTH_MODULE_PATH", FX.mods, 1);
		setenv("JAUTH_STATE_DIR", FX.state, 1);
		if (tunables)
			setenv("GLIBC_TUNABLES", tunables, 1);
		execv(JAUTH_TEST_BUILDDIR "/tests/canary-connector",
		      (char **)argv);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	char line[64] = "";
	ssize_t got = read(out[0], line, sizeof line - 1);
	close(out[0]);
	*input = in[1];
	if (got <= 0 || strncmp(line, "ready", 5) != 0) {
		close(in[1]);
		waitpid(pid, NULL, 0);
		ck_abort_msg("the connector did not get its credential");
	}
	return pid;
}

/* Closes the connector's input, so that it aborts, and puts the name of
 * the core the kernel wrote in DIR into CORE. */
static void connector_abort(pid_t pid, int input, const char *dir, char *core,
			    size_t n)
{
	int st;
	close(input);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	ck_assert_msg(WCOREDUMP(st), "the kernel wrote no core file");
	ck_assert_int_eq(only_file(dir, core, n), 0);
}

/* The core of the canary connector run with ARGS (and TUNABLES) in a
 * fresh directory, into CORE. */
static void connector_core_of(const char *const *args, const char *tunables,
			      char *core, size_t n)
{
	static int runs;
	char dir[PATH_MAX];
	int input;
	snprintf(dir, sizeof dir, "%s/crash%d", FX.dir, runs++);
	pid_t pid = connector_start(args, tunables, dir, &input);
	connector_abort(pid, input, dir, core, n);
}

/* Runs the canary connector on service svc with CONTROL (a file it copies
 * into plain memory) or NULL, and puts its core's name into CORE. */
static void connector_core(const char *control, char *core, size_t n)
{
	const char *args[] = { "svc", control, NULL };
	connector_core_of(args, NULL, core, n);
}

static void canary_stack(void)
{
	fx_write(fx_path("token"), 0600, CANARY "\n");
	fx_stack("svc",
		 "required apitoken.so email=svc@acme.com token=@file:%s "
		 "site=https://acme.atlassian.net\n",
		 fx_path("token"));
}

/* Returns from the test, saying why, when core files cannot be read
 * back here. */
#define CORES_OR_SKIP()                                                        \
	do {                                                                   \
		char *why_ = core_unreadable();                                \
		if (why_) {                                                    \
			fprintf(stderr, "%s: core file test skipped: %s\n",    \
				__func__, why_);                               \
			free(why_);                                            \
			return;                                                \
		}                                                              \
	} while (0)

/* The control run: the same canary, copied into malloc'd memory by the
 * connector, is in its core — so the grep below would see a leak. */
START_TEST(test_core_file_shows_a_canary_in_plain_memory)
{
	char core[PATH_MAX * 2];
	CORES_OR_SKIP();
	char control[PATH_MAX];
	canary_stack();
	snprintf(control, sizeof control, "%s", fx_path("token"));
	connector_core(control, core, sizeof core);
	ck_assert(file_has(core, CANARY));
	ck_assert(file_has(core, CANARY_AUTH));
}
END_TEST

/* The secret read from the file, the credential the connector holds
 * (its Authorization value) and the handle's cached copies all live on
 * pages left out of core dumps. */
START_TEST(test_core_file_of_a_connector_holds_no_secret)
{
	char core[PATH_MAX * 2];
	CORES_OR_SKIP();
	canary_stack();
	connector_core(NULL, core, sizeof core);
	ck_assert(
		file_has(core, "ready")); /* a real core, with stdio's buffer */
	ck_assert_msg(!file_has(core, CANARY), "the token is in the core");
	ck_assert_msg(!file_has(core, CANARY_AUTH),
		      "the Authorization value is in the core");
}
END_TEST

#define CANARY_AT "CANARY-at-5e0b9a71c3d84f26"
#define CANARY_RT "CANARY-rt-b17d44e09a2c6f53"
#define CANARY_PREV "CANARY-prev-3c9e1f7a0d2b5864"
#define CANARY_CS "CANARY-cs-8a4f2e6c1b9d70535d21"
#define CLOUD "11111111-2222-3333-4444-555555555555"

/* An oauth3lo stack whose stored grant holds canary tokens, fresh for an
 * hour: the connector loads it and publishes its access token, no
 * network. */
static void oauth_canary_stack(void)
{
	char rec[2048];
	long long now = (long long)time(NULL);
	fx_write(fx_path("client-secret"), 0600, CANARY_CS "\n");
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid client_secret=@file:%s "
		 "redirect_uri=https://app.example/cb\n",
		 fx_path("client-secret"));
	snprintf(rec, sizeof rec,
		 "{\"version\":1,\"access_token\":\"" CANARY_AT "\","
		 "\"expires_at\":%lld,\"refresh_token\":\"" CANARY_RT "\","
		 "\"prev_refresh_token\":\"" CANARY_PREV "\","
		 "\"prev_rotated_at\":%lld,\"cloud_id\":\"" CLOUD "\","
		 "\"site_url\":\"https://acme.atlassian.net\","
		 "\"site_name\":\"acme\",\"scopes\":\"read:jira-work "
		 "offline_access\",\"created_at\":%lld,\"last_refresh\":%lld,"
		 "\"last_used\":%lld}",
		 now + 3600, now - 60, now - 600, now - 60, now - 60);
	mkdir(FX.state, 0700);
	fx_write(fx_grant_file(), 0600, rec);
}

/* The control for the OAuth stack: its canaries, copied into plain
 * memory, are in the core. */
START_TEST(test_core_file_shows_oauth_canaries_in_plain_memory)
{
	CORES_OR_SKIP();
	char core[PATH_MAX * 2];
	oauth_canary_stack();
	fx_write(fx_path("control"), 0600, CANARY_RT "\n");
	connector_core(fx_path("control"), core, sizeof core);
	ck_assert(file_has(core, CANARY_RT));
	ck_assert(file_has(core, "Bearer " CANARY_AT));
}
END_TEST

/* The grant record's tokens, read from the store into oauth3lo's grant,
 * the record's parse tree (wiped), the published credential and the
 * redactor's copies: none in the core. */
START_TEST(test_core_file_of_an_oauth_connector_holds_no_token)
{
	CORES_OR_SKIP();
	char core[PATH_MAX * 2];
	oauth_canary_stack();
	connector_core(NULL, core, sizeof core);
	ck_assert(file_has(core, "ready"));
	ck_assert_msg(!file_has(core, CANARY_AT), "the access token is in it");
	ck_assert_msg(!file_has(core, CANARY_RT), "the refresh token is in it");
	ck_assert_msg(!file_has(core, CANARY_PREV),
		      "the previous refresh token is in it");
}
END_TEST

/* What glibc leaves of a block freed unwiped (libcurl's request buffer,
 * say) is in the core, unless the connector runs with the tunables that
 * README's "Secrets and core files" gives: perturb fills a freed chunk,
 * but a chunk kept in the thread cache skips that, hence tcache_count=0. */
static const struct {
	const char *tunables;
	int kept; /* the freed canary is in the core */
} freed_cases[] = {
	{ NULL, 1 },
	{ "glibc.malloc.perturb=165", 1 },
	{ "glibc.malloc.tcache_count=0:glibc.malloc.perturb=165", 0 },
};

START_TEST(test_freed_heap_in_a_core_and_the_tunables_that_clear_it)
{
	CORES_OR_SKIP();
	char core[PATH_MAX * 2];
	canary_stack();
	fx_write(fx_path("freed"), 0600, CANARY_RT "\n");
	const char *args[] = { "-F", fx_path("freed"), "svc", NULL };
	connector_core_of(args, freed_cases[_i].tunables, core, sizeof core);
	ck_assert(file_has(core, "ready"));
	ck_assert_msg(file_has(core, CANARY_RT) == freed_cases[_i].kept,
		      "GLIBC_TUNABLES=%s: the freed canary is %s the core",
		      freed_cases[_i].tunables ? freed_cases[_i].tunables : "",
		      freed_cases[_i].kept ? "not in" : "still in");
}
END_TEST

/* gdb's gcore of a running connector: it finishes and, as the kernel
 * does, leaves out the pages of secrets. gdb opens each object by the
 * name in the link map: with /proc/self/fd/N it opened its own
 * descriptor N, and hung when that was a pipe (as under a test runner),
 * so here every low descriptor of gcore's is one; /proc/PID/fd/N names
 * the connector's. */
START_TEST(test_gcore_of_a_connector_finishes_and_holds_no_secret)
{
#ifdef __SANITIZE_ADDRESS__
	fprintf(stderr, "gcore test skipped: AddressSanitizer's shadow memory "
			"makes gdb's walk of the address space outlast the "
			"test (make check runs it)\n");
	return;
#endif
	char *scope = fx_read("/proc/sys/kernel/yama/ptrace_scope");
	int may_attach = geteuid() == 0 || !scope || scope[0] == '0';
	free(scope);
	if (access("/usr/bin/gcore", X_OK) != 0 || !may_attach) {
		fprintf(stderr, "gcore test skipped: %s\n",
			may_attach ? "no /usr/bin/gcore (gdb)"
				   : "ptrace_scope forbids attaching");
		return;
	}
	char dir[PATH_MAX], out[PATH_MAX + 16], core[PATH_MAX + 32],
		pidtext[16];
	int input, st;
	canary_stack();
	snprintf(dir, sizeof dir, "%s/gcore", FX.dir);
	const char *args[] = { "svc", NULL };
	pid_t pid = connector_start(args, NULL, dir, &input);
	snprintf(out, sizeof out, "%s/gcore", dir);
	snprintf(pidtext, sizeof pidtext, "%ld", (long)pid);
	int idle[2];
	ck_assert_int_eq(pipe(idle), 0); /* nobody writes: a read blocks */
	pid_t g = fork();
	ck_assert_int_ge(g, 0);
	if (g == 0) {
		int null = open("/dev/null", O_RDWR);
		setpgid(0, 0); /* gcore and its gdb: killed as one */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		for (int fd = 3; fd < 64; fd++)
			if (fd != idle[1])
				dup2(idle[0], fd);
		execlp("gcore", "gcore", "-o", out, pidtext, (char *)NULL);
		_exit(127);
	}
	setpgid(g, g);
	int done = 0;
	for (int tenths = 0; tenths < 200 && !done; tenths++) {
		done = waitpid(g, &st, WNOHANG) == g;
		if (!done)
			usleep(100000);
	}
	if (!done) { /* a gdb that hangs takes its tracee with it */
		kill(-g, SIGKILL);
		waitpid(g, &st, 0);
	}
	close(idle[0]);
	close(idle[1]);
	kill(pid, SIGKILL); /* no kernel core */
	close(input);
	waitpid(pid, NULL, 0);
	ck_assert_msg(done && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "gcore did not finish in 20 s (status %d)", st);
	snprintf(core, sizeof core, "%s.%ld", out, (long)pid);
	ck_assert(file_has(core, "ready"));
	ck_assert_msg(!file_has(core, CANARY), "the token is in the core");
	ck_assert_msg(!file_has(core, CANARY_AUTH),
		      "the Authorization value is in the core");
}
END_TEST

/* ---- records sealed at rest ---- */

#define REDIRECT "https://app.example/oauth/callback"
#define STORE_KEY "q3Jt0cY5m1P8wzR6aLk2XvB9nE4sHdUf"
#define OTHER_KEY "Zx8Wc7Vb6Nm5Lk4Jh3Gf2Ds1Aq0Pw9Oe"

static time_t T0;

static void sealed_setup(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	fx_clock(T0);
	fx_write(fx_path("store-key"), 0600, STORE_KEY "\n");
}

/* Service SVC's 3LO stack on a file store with STORE_LINE ("" for none). */
static void sealed_stack(const char *svc, const char *store_line)
{
	fx_stack(svc,
		 "%s\nrequired oauth3lo.so client_id=cid "
		 "client_secret=@env:CLIENT_SECRET auth_url=%s api_url=%s "
		 "ca_file=%s redirect_uri=" REDIRECT "\n",
		 store_line, SI.url, SI.url, SI.ca);
}

static const char *keyed(void)
{
	static char line[PATH_MAX + 64];
	snprintf(line, sizeof line, "store files key=@file:%s",
		 fx_path("store-key"));
	return line;
}

/* Opens SVC and consents through the stand-in. */
static jauth *consented_on(const char *svc)
{
	jauth *h = fx_open(svc);
	char *url = NULL, *report = NULL;
	ck_assert_msg(jauth_authorize_begin(h, &url) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	long status = 0;
	char *cb = standin_consent(&SI, url, &status);
	ck_assert_msg(cb, "authorize answered %ld", status);
	ck_assert_msg(jauth_authorize_finish(h, cb, &report) == JAUTH_SUCCESS,
		      "finish: %s", jauth_error(h));
	jauth_free(url);
	jauth_free(report);
	free(cb);
	return h;
}

/* The state file of SVC's grant (oauth3lo keeps it under the client id,
 * "SVC.oauth3lo….cid.json"), in a static buffer. */
static const char *grant_file(const char *svc)
{
	static char path[PATH_MAX * 2];
	char want[128];
	snprintf(want, sizeof want, "%s.oauth3lo", svc);
	DIR *d = opendir(FX.state);
	struct dirent *e;
	path[0] = '\0';
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, want, strlen(want)) == 0 &&
		    strlen(e->d_name) > 9 &&
		    strcmp(e->d_name + strlen(e->d_name) - 9, ".cid.json") == 0)
			snprintf(path, sizeof path, "%s/%s", FX.state,
				 e->d_name);
	if (d)
		closedir(d);
	ck_assert_msg(path[0], "no grant record of %s in %s", svc, FX.state);
	return path;
}

/* 1 when some file of the state directory holds NEEDLE. */
static int state_has(const char *needle)
{
	DIR *d = opendir(FX.state);
	struct dirent *e;
	int found = 0;
	char path[PATH_MAX * 2];
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof path, "%s/%s", FX.state, e->d_name);
		struct stat st;
		if (e->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			found |= file_has(path, needle);
	}
	if (d)
		closedir(d);
	return found;
}

START_TEST(test_sealed_records_hold_no_token_in_clear)
{
	sealed_stack("svc", keyed());
	jauth *h = consented_on("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	fx_clock(T0 + 3400); /* due: a refresh writes the rotated tokens */
	ck_assert_int_eq(jauth_refresh(h, &c), JAUTH_SUCCESS);
	char access[512];
	snprintf(access, sizeof access, "%s",
		 jauth_cred_authorization(c) + strlen("Bearer "));
	ck_assert(file_has(grant_file("svc"), "\"jauth_sealed\""));
	ck_assert(!state_has(access));
	ck_assert(!state_has("at-")); /* the stand-in's access tokens */
	ck_assert(!state_has("rt-")); /* and refresh tokens */
	ck_assert(!state_has("refresh_token"));
	ck_assert(!state_has("csecret"));
	jauth_close(h);
	/* A new handle (a restarted connector) reads the sealed grant. */
	h = fx_open("svc");
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_str_eq(jauth_cred_authorization(c) + strlen("Bearer "),
			 access);
	jauth_close(h);
}
END_TEST

/* The control: without a key the same records do hold the tokens, so the
 * greps above can see a token. */
START_TEST(test_clear_records_show_their_tokens)
{
	sealed_stack("svc", "");
	jauth *h = consented_on("svc");
	ck_assert(state_has("rt-"));
	ck_assert(!file_has(grant_file("svc"), "jauth_sealed"));
	jauth_close(h);
}
END_TEST

/* Flips one character of the sealed data in PATH. */
static void tamper(const char *path)
{
	char *text = fx_read(path);
	char *data = strstr(text, "\"data\":\"");
	ck_assert_ptr_nonnull(data);
	char *p = data + strlen("\"data\":\"") + 20;
	*p = *p == '0' ? '1' : '0';
	fx_write(path, 0600, text);
	free(text);
}

/* An acquire on SVC fails the integrity check and sends nothing. */
static void refused_unsent(const char *svc)
{
	long asked = standin_counter(&SI, "token_requests");
	jauth *h = fx_open(svc);
	const jauth_cred *c;
	ck_assert_int_ne(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_msg(strstr(jauth_error(h), "fails its integrity check"), "%s",
		      jauth_error(h));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked);
	jauth_close(h);
}

START_TEST(test_tampered_record_is_refused_and_nothing_sent)
{
	sealed_stack("svc", keyed());
	jauth_close(consented_on("svc"));
	tamper(grant_file("svc"));
	fx_clock(T0 + 3400); /* a refresh would be due */
	refused_unsent("svc");
}
END_TEST

/* svc's sealed record copied under other's name: the name is bound in
 * the tag, so other does not take svc's grant for its own. */
START_TEST(test_record_moved_to_another_service_is_refused)
{
	sealed_stack("svc", keyed());
	sealed_stack("other", keyed());
	jauth_close(consented_on("svc"));
	char from[PATH_MAX * 2], to[PATH_MAX * 2];
	snprintf(from, sizeof from, "%s", grant_file("svc"));
	const char *base = strrchr(from, '/') + 1 + strlen("svc");
	snprintf(to, sizeof to, "%s/other%s", FX.state, base);
	char *text = fx_read(from);
	fx_write(to, 0600, text);
	free(text);
	refused_unsent("other");
}
END_TEST

/* A wrong key, a missing key and a sealed record without key= are
 * configuration errors that leave the grant as it was: never "no grant",
 * which would send the admin to consent again. */
static const struct {
	const char *what;
	const char *key_text; /* what the key file holds; NULL: removed */
	int drop_key;	      /* the store line loses key= */
	const char *says;
} key_faults[] = {
	{ "wrong key", OTHER_KEY "\n", 0, "sealed with another key" },
	{ "key file gone", NULL, 0, "does not exist" },
	{ "key too short", "short\n", 0, "at least 16" },
	{ "no key= any more", STORE_KEY "\n", 1, "gives no key=" },
};

START_TEST(test_key_fault_is_a_config_error_and_the_grant_stays)
{
	sealed_stack("svc", keyed());
	jauth_close(consented_on("svc"));
	char *before = fx_read(grant_file("svc"));
	if (key_faults[_i].key_text)
		fx_write(fx_path("store-key"), 0600, key_faults[_i].key_text);
	else
		unlink(fx_path("store-key"));
	if (key_faults[_i].drop_key)
		sealed_stack("svc", "");
	long asked = standin_counter(&SI, "token_requests");
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), key_faults[_i].says), "%s: %s",
		      key_faults[_i].what, jauth_error(h));
	ck_assert_ptr_null(strstr(jauth_error(h), "authorize"));
	jauth_close(h);
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked);
	char *after = fx_read(grant_file("svc"));
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
	/* The right key back: the same grant serves, no new consent. */
	fx_write(fx_path("store-key"), 0600, STORE_KEY "\n");
	sealed_stack("svc", keyed());
	h = fx_open("svc");
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	jauth_close(h);
}
END_TEST

/* The stack rotating from the key in store-key to the one in new-key. */
static void rotating_stack(int keep_old)
{
	char line[PATH_MAX * 2 + 64];
	snprintf(line, sizeof line, "store files key=@file:%s",
		 fx_path("new-key"));
	if (keep_old)
		snprintf(line + strlen(line), sizeof line - strlen(line),
			 " key_old=@file:%s", fx_path("store-key"));
	sealed_stack("svc", line);
}

static jauth_result acquire_once(void)
{
	const jauth_cred *c;
	jauth *h = fx_open("svc");
	jauth_result rc = jauth_acquire(h, &c);
	jauth_close(h);
	return rc;
}

START_TEST(test_rekey_rotates_without_a_new_consent)
{
	sealed_stack("svc", keyed());
	jauth_close(consented_on("svc"));
	long grants = standin_counter(&SI, "code_grants");
	fx_write(fx_path("new-key"), 0600, OTHER_KEY "\n");
	rotating_stack(1); /* old records stay readable with key_old= */
	ck_assert_int_eq(acquire_once(), JAUTH_SUCCESS);
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "rekey", "svc",
				(char *)NULL),
			 0);
	ck_assert_msg(strstr(out, "sealed svc.oauth3lo"), "%s", out);
	free(out);
	free(err);
	rotating_stack(0); /* the old key is no longer needed */
	ck_assert_int_eq(acquire_once(), JAUTH_SUCCESS);
	sealed_stack("svc", keyed()); /* nor enough */
	ck_assert_int_eq(acquire_once(), JAUTH_CONFIG);
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), grants);
}
END_TEST

/* Records sealed by nobody yet (a store that gets its first key) are
 * sealed by rekey; until then they are refused, not taken as absent. */
START_TEST(test_rekey_seals_a_clear_store)
{
	sealed_stack("svc", "");
	jauth_close(consented_on("svc"));
	sealed_stack("svc", keyed());
	ck_assert_int_eq(acquire_once(), JAUTH_CONFIG);
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "rekey", "svc",
				(char *)NULL),
			 0);
	free(out);
	free(err);
	ck_assert(!state_has("rt-"));
	ck_assert_int_eq(acquire_once(), JAUTH_SUCCESS);
}
END_TEST

/* kill -9 at any moment of a rekey loses nothing: with key= and key_old=
 * the grant serves, and a second rekey finishes. */
START_TEST(test_rekey_killed_loses_nothing)
{
	sealed_stack("svc", keyed());
	jauth_close(consented_on("svc"));
	fx_write(fx_path("new-key"), 0600, OTHER_KEY "\n");
	rotating_stack(1);
	for (int i = 0; i < 6; i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			execl(JAUTH_TEST_BUILDDIR "/bin/jauth", "jauth", "-c",
			      FX.conf, "-m", FX.mods, "-s", FX.state, "store",
			      "rekey", "svc", (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)(i * 1500));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_assert_int_eq(acquire_once(), JAUTH_SUCCESS);
	}
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "rekey", "svc",
				(char *)NULL),
			 0);
	free(out);
	free(err);
	rotating_stack(0);
	ck_assert_int_eq(acquire_once(), JAUTH_SUCCESS);
	ck_assert_int_eq(standin_counter(&SI, "code_grants"), 1);
}
END_TEST

/* jauth status says which records are sealed and which are in clear. */
START_TEST(test_status_says_which_records_are_in_clear)
{
	sealed_stack("svc", "");
	jauth_close(consented_on("svc"));
	char *out, *err;
	fx_cli(NULL, &out, &err, "status", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "in clear (no key= on the store line)"), "%s",
		      out);
	free(out);
	free(err);
	fx_cli(NULL, &out, &err, "doctor", "--offline", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "is in clear at rest: give the store a key"),
		      "%s", out);
	free(out);
	free(err);
	sealed_stack("svc", keyed());
	fx_cli(NULL, &out, &err, "status", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "in clear: seal it with jauth store rekey"),
		      "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "store", "rekey", "svc",
				(char *)NULL),
			 0);
	free(out);
	free(err);
	fx_cli(NULL, &out, &err, "status", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "sealed (encrypted at rest)"), "%s", out);
	ck_assert_ptr_null(strstr(out, "in clear"));
	free(out);
	free(err);
	fx_cli(NULL, &out, &err, "doctor", "--offline", "svc", (char *)NULL);
	ck_assert_msg(strstr(out, "is sealed at rest"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* libjauth links no libcrypto: the cipher is seal.so's, mapped only once a
 * store with a key seals or opens a record. */
START_TEST(test_seal_so_is_loaded_only_for_a_store_with_a_key)
{
	sealed_stack("clear", "");
	jauth_close(consented_on("clear"));
	char *maps = fx_read("/proc/self/maps");
	ck_assert_ptr_nonnull(strstr(maps, "libjauth"));
	ck_assert_ptr_null(strstr(maps, "seal.so"));
	free(maps);
	sealed_stack("svc", keyed());
	jauth_close(consented_on("svc"));
	maps = fx_read("/proc/self/maps");
	ck_assert_ptr_nonnull(strstr(maps, "seal.so"));
	free(maps);
	char *ldd = NULL, cmd[PATH_MAX];
	snprintf(cmd, sizeof cmd, "ldd %s/lib/libjauth.so.1",
		 JAUTH_TEST_BUILDDIR);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	static char out[8192];
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	pclose(p);
	/* nor libssl, which http.so links for SSL_OP_CLEANSE_PLAINTEXT, nor
	 * libcurl */
	static const char *const not_linked[] = { "libcrypto", "libssl",
						  "libcurl" };
	for (size_t i = 0; i < 3; i++) {
		ldd = strstr(out, not_linked[i]);
		ck_assert_msg(!ldd, "libjauth links %s: %s", not_linked[i],
			      out);
	}
}
END_TEST

/* The key file is held to the rules of a secret file when the stack
 * opens. */
START_TEST(test_store_key_readable_by_others_refused_at_open)
{
	chmod(fx_path("store-key"), 0644);
	sealed_stack("svc", keyed());
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_msg(strstr(jauth_error(h), "can be read by group or others"),
		      "%s", jauth_error(h));
	jauth_close(h);
}
END_TEST

START_TEST(test_inline_store_key_refused)
{
	sealed_stack("svc", "store files key=" STORE_KEY);
	jauth *h = fx_open_want("svc", JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "must name a secret"));
	ck_assert_ptr_null(strstr(jauth_error(h), STORE_KEY));
	jauth_close(h);
}
END_TEST

/* ---- a refresh over TLS, in a core file ---- */

static void tls_setup(void)
{
	fx_setup_standin();
	ck_assert_int_eq(standin_config(&SI,
					"{\"clients\":{\"cid\":{\"secret\":"
					"\"" CANARY_CS "\","
					"\"redirect_uris\":[]}}}"),
			 0);
	fx_write(fx_path("client-secret"), 0600, CANARY_CS "\n");
	fx_stack("svc",
		 "required oauth3lo.so client_id=cid client_secret=@file:%s "
		 "auth_url=%s api_url=%s ca_file=%s redirect_uri=" REDIRECT
		 "\n",
		 fx_path("client-secret"), SI.url, SI.url, SI.ca);
}

/* Field KEY of the grant record, copied into OUT. */
static void record_token(const char *key, char *out, size_t n)
{
	cJSON *j = fx_grant_record();
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
	ck_assert_msg(v, "the grant record has no %s", key);
	snprintf(out, n, "%s", v);
	cJSON_Delete(j);
}

/* The tokens of a connector's forced refresh over TLS: the refresh token
 * it sent (with the client secret), and the access and refresh tokens
 * that came back. */
struct refreshed {
	char sent[256], access[256], refresh[256];
};

/* Consents, then runs the connector with a forced refresh (GLIBC_TUNABLES
 * TUNABLES) into CORE, filling R from the records before and after. */
static void refreshed_core(const char *tunables, struct refreshed *r,
			   char *core, size_t n)
{
	jauth_close(consented_on("svc"));
	record_token("refresh_token", r->sent, sizeof r->sent);
	long before = standin_counter(&SI, "refresh_grants");
	const char *args[] = { "-r", "svc", NULL };
	connector_core_of(args, tunables, core, n);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), before + 1);
	record_token("access_token", r->access, sizeof r->access);
	record_token("refresh_token", r->refresh, sizeof r->refresh);
	ck_assert_str_ne(r->refresh, r->sent);
}

/* What arrived over TLS — the token endpoint's answer through OpenSSL
 * (SSL_OP_CLEANSE_PLAINTEXT), libcurl's receive buffer (wiped by the
 * callback), http.so's body (secure memory), the parse tree (wiped), the
 * grant and the record written (secure memory) — is not in the core. */
START_TEST(test_core_after_a_refresh_over_tls_holds_no_new_token)
{
	CORES_OR_SKIP();
	char core[PATH_MAX * 2];
	struct refreshed r;
	refreshed_core(NULL, &r, core, sizeof core);
	ck_assert(file_has(core, "ready"));
	ck_assert_msg(!file_has(core, r.access), "the new access token");
	ck_assert_msg(!file_has(core, r.refresh), "the new refresh token");
	/* Measured, not promised without the tunables: libcurl appends a
	 * small POST body to the request it builds on the heap and frees it
	 * unwiped. */
	fprintf(stderr,
		"refresh over TLS, no tunables: sent refresh token %s, "
		"client secret %s the core\n",
		file_has(core, r.sent) ? "in" : "not in",
		file_has(core, CANARY_CS) ? "in" : "not in");
}
END_TEST

/* With README's recipe for the connector (GLIBC_TUNABLES), what libcurl
 * freed is overwritten too: neither the refresh token it sent nor the
 * client secret is left. */
START_TEST(test_core_after_a_refresh_with_the_tunables_holds_no_secret)
{
	CORES_OR_SKIP();
	char core[PATH_MAX * 2];
	struct refreshed r;
	refreshed_core("glibc.malloc.tcache_count=0:glibc.malloc.perturb=165",
		       &r, core, sizeof core);
	ck_assert(file_has(core, "ready"));
	ck_assert_msg(!file_has(core, r.access), "the new access token");
	ck_assert_msg(!file_has(core, r.refresh), "the new refresh token");
	ck_assert_msg(!file_has(core, r.sent), "the refresh token sent");
	ck_assert_msg(!file_has(core, CANARY_CS), "the client secret");
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
	tcase_add_test(tc,
		       test_doctor_checks_a_credential_only_inside_the_unit);
	tcase_add_loop_test(tc,
			    test_cred_name_that_leaves_the_directory_refused, 0,
			    (int)(sizeof bad_names / sizeof *bad_names));
	tcase_add_loop_test(tc, test_cred_trust_rules, 0,
			    (int)(sizeof trust_cases / sizeof *trust_cases));
	tcase_add_test(tc, test_acl_mask_is_no_excuse_for_a_secret_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("secure memory for modules");
	tcase_add_test(tc, test_secure_memory_is_left_out_of_dumps_and_zeroed);
	tcase_add_test(
		tc, test_json_prints_securely_and_references_stay_the_callers);
	suite_add_tcase(s, tc);

	tc = tcase_create("core files");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60); /* a core file takes its time to write */
	tcase_add_test(tc, test_core_file_shows_a_canary_in_plain_memory);
	tcase_add_test(tc, test_core_file_of_a_connector_holds_no_secret);
	tcase_add_test(tc, test_core_file_shows_oauth_canaries_in_plain_memory);
	tcase_add_test(tc, test_core_file_of_an_oauth_connector_holds_no_token);
	tcase_add_loop_test(
		tc, test_freed_heap_in_a_core_and_the_tunables_that_clear_it, 0,
		(int)(sizeof freed_cases / sizeof *freed_cases));
	tcase_add_test(tc,
		       test_gcore_of_a_connector_finishes_and_holds_no_secret);
	suite_add_tcase(s, tc);

	tc = tcase_create("core files after a refresh over TLS");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, tls_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
		       test_core_after_a_refresh_over_tls_holds_no_new_token);
	tcase_add_test(
		tc,
		test_core_after_a_refresh_with_the_tunables_holds_no_secret);
	suite_add_tcase(s, tc);

	tc = tcase_create("sealed records");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, sealed_setup, fx_teardown);
	tcase_add_test(tc, test_sealed_records_hold_no_token_in_clear);
	tcase_add_test(tc, test_clear_records_show_their_tokens);
	tcase_add_test(tc, test_tampered_record_is_refused_and_nothing_sent);
	tcase_add_test(tc, test_record_moved_to_another_service_is_refused);
	tcase_add_loop_test(
		tc, test_key_fault_is_a_config_error_and_the_grant_stays, 0,
		(int)(sizeof key_faults / sizeof *key_faults));
	tcase_add_test(tc, test_rekey_rotates_without_a_new_consent);
	tcase_add_test(tc, test_rekey_seals_a_clear_store);
	tcase_add_test(tc, test_rekey_killed_loses_nothing);
	tcase_add_test(tc, test_status_says_which_records_are_in_clear);
	tcase_add_test(tc, test_seal_so_is_loaded_only_for_a_store_with_a_key);
	tcase_add_test(tc, test_store_key_readable_by_others_refused_at_open);
	tcase_add_test(tc, test_inline_store_key_refused);
	suite_add_tcase(s, tc);
	return s;
}
