/*
 * check_store.c — the file store as DESIGN §6 promises it, through
 * oauth3lo.so and testmod.so against the stand-in: the intent mark never
 * touches the committed record (also across power cuts on XFS), a clock
 * that moved never makes a spent refresh token look resendable nor a token
 * outlive its real end, the state directory is opened once with its whole
 * path checked, chosen like systemd and a home-less service user expect,
 * and nothing planted or oversized in it blocks a consent or a revoke.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "suites.h"

#define NOBODY 65534
#define DAY 86400

static time_t T0;

static void setup(void)
{
	fx_setup_standin();
	setenv("CLIENT_SECRET", "csecret", 1);
	T0 = time(NULL);
	fx_oauth_stack();
}

/* One consent on a fresh handle; returns what jauth_authorize_finish did. */
static jauth_result consent(void)
{
	jauth *h = fx_open("svc");
	jauth_result rc = fx_consent(h);
	jauth_close(h);
	return rc;
}

/* A forced refresh on a fresh handle: the result, *error its message. */
static jauth_result refresh_once(char **error)
{
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	jauth_result rc = jauth_refresh(h, &c);
	if (rc == JAUTH_SUCCESS && fx_myself(c) != 200)
		rc = JAUTH_DENIED;
	if (error)
		*error = strdup(jauth_error(h));
	jauth_close(h);
	return rc;
}

/* A child process refreshing the grant, to be stopped from outside. */
static pid_t refresher(void)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	jauth *h = NULL;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		_exit(2);
	_exit(jauth_refresh(h, NULL) == JAUTH_SUCCESS ? 0 : 1);
}

/* Makes the token endpoint answer after SECONDS. */
static void slow_token_endpoint(double seconds)
{
	char fault[128];
	snprintf(fault, sizeof fault,
		 "{\"path\":\"/oauth/token\",\"delay\":%.1f}", seconds);
	standin_fault(&SI, fault);
}

/* Waits (at most 20 s, however slow the machine) until the stand-in has
 * seen N token requests: the refresher has noted its intent and sent. */
static void wait_for_token_requests(long n)
{
	for (int i = 0; i < 2000 && standin_counter(&SI, "token_requests") < n;
	     i++)
		usleep(10000);
	ck_assert_int_ge(standin_counter(&SI, "token_requests"), n);
}

/* ---- the intent mark ---- */

START_TEST(test_note_before_the_post_leaves_the_committed_record_alone)
{
	FX.fake_clock = 0; /* real time, as the stand-in keeps it */
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	char *before = fx_read(fx_grant_file());
	struct stat st0, st1;
	ck_assert_int_eq(stat(fx_grant_file(), &st0), 0);
	long asked = standin_counter(&SI, "token_requests");
	slow_token_endpoint(5);
	pid_t pid = refresher();
	wait_for_token_requests(asked + 1);
	/* The refresh token is on its way: the record on disk is still
	 * the committed one, byte for byte, and the same file. */
	char *during = fx_read(fx_grant_file());
	ck_assert_int_eq(stat(fx_grant_file(), &st1), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_str_eq(during, before);
	ck_assert_int_eq(st1.st_ino, st0.st_ino);
	/* The mark survived the kill: the next refresh knows the token was
	 * sent and resends it only as a reuse inside the interval. */
	standin_request(&SI, "POST", "/_standin/clear_faults", "{}", NULL);
	ck_assert_int_eq(refresh_once(NULL), JAUTH_SUCCESS);
	ck_assert(fx_log_has("sending the same refresh token again"));
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	free(before);
	free(during);
}
END_TEST

/* The n that testmod.so's store= line finds and bumps, with EXTRA on it. */
static long bump(const char *extra)
{
	fx_stack("svc", "required testmod.so store=rec %s\n", extra);
	jauth *h = fx_open("svc");
	jauth_result rc;
	const char *a = fx_auth(h, &rc);
	ck_assert_msg(rc == JAUTH_SUCCESS, "%s", jauth_error(h));
	long n = -1;
	ck_assert_int_eq(sscanf(a, "Test n=%ld", &n), 1);
	jauth_close(h);
	return n;
}

/* A mark is in force only over the record it was noted on: committing
 * another record leaves it stale (not wiped: one write fewer per
 * refresh), committing the same bytes again wipes it. */
START_TEST(test_mark_ends_with_its_record)
{
	ck_assert_int_eq(bump(""), 1);
	ck_assert_int_eq(bump("note_then=other"), 2);
	ck_assert_int_eq(bump(""), 3); /* not 1000: the mark is stale */
	ck_assert_int_eq(bump("note_then=same"), 3);
	ck_assert_int_eq(bump(""), 4); /* not 1000: the mark was wiped */
}
END_TEST

/* Empties the captured log: what follows is one call's. */
static void forget_the_log(void)
{
	pthread_mutex_lock(&FX.log_mu);
	FX.log_len = 0;
	if (FX.log)
		FX.log[0] = '\0';
	pthread_mutex_unlock(&FX.log_mu);
}

START_TEST(test_waiter_reads_the_winners_token_without_taking_the_lock)
{
	fx_clock(T0);
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	fx_clock(T0 + 3400); /* due, still valid */
	long asked = standin_counter(&SI, "token_requests");
	slow_token_endpoint(2);
	pid_t winner = refresher();
	wait_for_token_requests(asked + 1);
	/* The winner holds the lock for its slow refresh: a caller whose
	 * token is due waits for it to let go, then uses its token — it
	 * never takes the lock itself (the losers of a storm read side by
	 * side instead of queueing for the lock). */
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	forget_the_log();
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	int st;
	waitpid(winner, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cJSON *rec = fx_grant_record();
	char want[8192];
	snprintf(want, sizeof want, "Bearer %s",
		 cJSON_GetObjectItem(rec, "access_token")->valuestring);
	cJSON_Delete(rec);
	ck_assert_str_eq(jauth_cred_authorization(c), want);
	ck_assert_int_eq(standin_counter(&SI, "refresh_grants"), 1);
	ck_assert(fx_log_has("another process refreshed the grant"));
	ck_assert(!fx_log_has("locked "));
	jauth_close(h);
}
END_TEST

/* ---- power cuts on XFS ---- */

static char img[PATH_MAX], mnt[PATH_MAX];
static int mounted;

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Mounts the XFS image at mnt. Returns 0, or -1. */
static int xfs_mount(void)
{
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "mount -o loop %s %s 2>/dev/null", img, mnt);
	mounted = run(cmd) == 0;
	return mounted ? 0 : -1;
}

static void xfs_umount(void)
{
	if (mounted && umount2(mnt, 0) < 0)
		umount2(mnt, MNT_DETACH);
	mounted = 0;
}

static void xfs_teardown(void)
{
	xfs_umount();
	fx_teardown();
}

/* A fresh XFS file system on a loop device with the state dir on it; 0,
 * or -1 when this machine cannot (not root, no loop devices). */
static int xfs_up(void)
{
	char cmd[3 * PATH_MAX];
	snprintf(img, sizeof img, "%s/xfs.img", FX.dir);
	snprintf(mnt, sizeof mnt, "%s/mnt", FX.dir);
	snprintf(cmd, sizeof cmd,
		 "truncate -s 320M %s && mkfs.xfs -q %s >/dev/null 2>&1", img,
		 img);
	if (geteuid() != 0 || mkdir(mnt, 0700) < 0 || run(cmd) != 0 ||
	    xfs_mount() < 0)
		return -1;
	static char state[PATH_MAX + 8];
	snprintf(state, sizeof state, "%s/state", mnt);
	FX.opt.state_dir = state;
	return 0;
}

/* Where the power goes. */
static const struct cut {
	const char *when;
	const char *how; /* xfs_io's shutdown: -f flushes the log first */
	int during_post; /* else after the refresh committed */
} cuts[] = {
	{ "during the POST, the log flushed", "shutdown -f", 1 },
	{ "during the POST, nothing flushed", "shutdown", 1 },
	{ "right after the commit", "shutdown", 0 },
};

START_TEST(test_power_cut_on_xfs_never_loses_the_grant)
{
	const struct cut *cut = &cuts[_i];
	if (xfs_up() < 0) {
		printf("SKIP power cut on XFS (%s): this machine refuses a "
		       "loop-mounted XFS image (needs root and loop "
		       "devices)\n",
		       cut->when);
		return;
	}
	FX.fake_clock = 0;
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	long asked = standin_counter(&SI, "token_requests");
	if (cut->during_post)
		slow_token_endpoint(10);
	pid_t pid = refresher();
	if (cut->during_post)
		wait_for_token_requests(asked + 1);
	else
		waitpid(pid, NULL, 0);
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "xfs_io -x -c '%s' %s", cut->how, mnt);
	int cut_rc = run(cmd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	xfs_umount();
	int back = xfs_mount();
	standin_request(&SI, "POST", "/_standin/clear_faults", "{}", NULL);
	cJSON *rec = back == 0 ? fx_grant_record() : NULL;
	int has_token =
		cJSON_IsString(cJSON_GetObjectItem(rec, "refresh_token"));
	cJSON_Delete(rec);
	char *error = NULL;
	jauth_result rc = back == 0 ? refresh_once(&error) : JAUTH_ERROR;
	xfs_umount();
	ck_assert_int_eq(cut_rc, 0);
	ck_assert_msg(back == 0, "the image no longer mounts");
	ck_assert_msg(has_token, "%s: the grant record is lost or unreadable",
		      cut->when);
	ck_assert_msg(rc == JAUTH_SUCCESS, "%s: the grant no longer works: %s",
		      cut->when, error);
	ck_assert_int_eq(standin_counter(&SI, "replays"), 0);
	free(error);
}
END_TEST

/* ---- the clock ---- */

START_TEST(test_clock_moved_back_never_resends_a_sent_refresh_token)
{
	fx_clock(T0);
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	long asked = standin_counter(&SI, "token_requests");
	/* A refresh sent at T0 + 3400 loses its answer (the process dies). */
	fx_clock(T0 + 3400);
	slow_token_endpoint(5);
	pid_t pid = refresher();
	wait_for_token_requests(asked + 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	standin_request(&SI, "POST", "/_standin/clear_faults", "{}", NULL);
	/* Then the clock steps back an hour (an NTP step, a VM snapshot):
	 * how long ago the token was sent is unknown. */
	fx_clock(T0 + 3400 - 3600);
	char *error = NULL;
	ck_assert_int_eq(refresh_once(&error), JAUTH_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(error, "went back"));
	ck_assert_ptr_nonnull(strstr(error, "jauth authorize svc"));
	ck_assert_int_eq(standin_counter(&SI, "token_requests"), asked + 1);
	free(error);
}
END_TEST

START_TEST(test_clock_far_ahead_never_stretches_a_token_past_its_end)
{
	fx_clock(T0);
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	/* A refresh while the clock is 30 days ahead … */
	fx_clock(T0 + 30 * DAY);
	ck_assert_int_eq(refresh_once(NULL), JAUTH_SUCCESS);
	/* … then the clock is put right: the token lives its hour from the
	 * refresh, not 30 days. */
	fx_clock(T0 + 60);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	ck_assert_int_le(jauth_cred_expires_at(c), T0 + 60 + 3600);
	jauth_close(h);
}
END_TEST

/* ---- what an answer or the directory may hold ---- */

START_TEST(test_oversized_token_answer_refused_and_the_grant_kept)
{
	fx_clock(T0);
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	size_t n = 20 * 1024;
	char *big = malloc(n + 1);
	memset(big, 'r', n);
	big[n] = '\0';
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "access_token", "at-small");
	cJSON_AddStringToObject(body, "refresh_token", big);
	cJSON_AddNumberToObject(body, "expires_in", 3600);
	char *text = cJSON_PrintUnformatted(body);
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", "/oauth/token");
	cJSON_AddNumberToObject(f, "status", 200);
	cJSON_AddStringToObject(f, "content_type", "application/json");
	cJSON_AddStringToObject(f, "body", text);
	char *fault = cJSON_PrintUnformatted(f);
	standin_fault(&SI, fault);
	char *error = NULL;
	ck_assert_int_eq(refresh_once(&error), JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "more than any real one"));
	cJSON *rec = fx_grant_record();
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_null(
		strstr(cJSON_GetObjectItem(rec, "refresh_token")->valuestring,
		       "rrrrrrrr"));
	cJSON_Delete(rec);
	/* The grant still works. */
	ck_assert_int_eq(refresh_once(NULL), JAUTH_SUCCESS);
	free(error);
	free(fault);
	free(text);
	free(big);
	cJSON_Delete(f);
	cJSON_Delete(body);
}
END_TEST

/* Records nothing can read: each must be replaceable by a consent and
 * removable by a revoke. */
static const char *damaged(int i, size_t *n)
{
	static char *big;
	switch (i) {
	case 0:
		*n = 0;
		return ""; /* what a power cut on XFS used to leave */
	case 1:
		*n = 9;
		return "{\"access_";
	default:
		*n = 1100 * 1024;
		free(big);
		big = malloc(*n);
		memset(big, ' ', *n);
		big[0] = '{';
		return big;
	}
}

static void write_bytes(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

START_TEST(test_unreadable_record_never_blocks_a_consent_or_a_revoke)
{
	size_t n;
	const char *data = damaged(_i, &n);
	fx_clock(T0);
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	write_bytes(fx_grant_file(), data, n);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_ERROR);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "jauth authorize svc"));
	jauth_close(h);
	/* A new consent replaces it. */
	ck_assert_int_eq(consent(), JAUTH_SUCCESS);
	h = fx_open("svc");
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_SUCCESS);
	jauth_close(h);
	/* A revoke removes it. */
	write_bytes(fx_grant_file(), data, n);
	h = fx_open("svc");
	char *steps = NULL;
	ck_assert_msg(jauth_revoke(h, &steps) == JAUTH_SUCCESS, "%s",
		      jauth_error(h));
	ck_assert_int_eq(access(fx_grant_file(), F_OK), -1);
	jauth_free(steps);
	jauth_close(h);
}
END_TEST

START_TEST(test_fifo_named_like_the_record_never_blocks)
{
	fx_clock(T0);
	mkdir(FX.state, 0700);
	ck_assert_int_eq(mkfifo(fx_grant_file(), 0600), 0);
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_ERROR);
	ck_assert_ptr_nonnull(
		strstr(jauth_error(h), "not a private regular file"));
	jauth_close(h);
}
END_TEST

START_TEST(test_fifo_named_like_the_reload_note_never_blocks)
{
	char note[PATH_MAX + 32];
	mkdir(FX.state, 0700);
	snprintf(note, sizeof note, "%s/svc.reload-error.json", FX.state);
	ck_assert_int_eq(mkfifo(note, 0600), 0);
	jauth *h = fx_open("svc");
	char *json = NULL;
	ck_assert_int_eq(jauth_status(h, &json), JAUTH_SUCCESS);
	ck_assert_ptr_nonnull(json);
	jauth_free(json);
	jauth_close(h);
}
END_TEST

/* ---- the state directory ---- */

START_TEST(test_state_dir_inside_another_users_directory_refused)
{
	char other[PATH_MAX], state[PATH_MAX + 16];
	snprintf(other, sizeof other, "%s/other", FX.dir);
	snprintf(state, sizeof state, "%s/state", other);
	ck_assert_int_eq(mkdir(other, 0755), 0);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	/* The user who owns OTHER could swap STATE for a link at will. */
	ck_assert_int_eq(chown(other, NOBODY, NOBODY), 0);
	FX.opt.state_dir = state;
	fx_stack("svc", "required testmod.so store=rec\n");
	jauth *h = fx_open("svc");
	jauth_result rc;
	fx_auth(h, &rc);
	ck_assert_int_eq(rc, JAUTH_CONFIG);
	ck_assert_ptr_nonnull(strstr(jauth_error(h), "uid 65534"));
	jauth_close(h);
	char rec[PATH_MAX + 64];
	snprintf(rec, sizeof rec, "%s/svc.testmod.rec.json", state);
	ck_assert_int_eq(access(rec, F_OK), -1);
}
END_TEST

START_TEST(test_state_dir_open_to_others_is_a_config_error_in_the_cli)
{
	mkdir(FX.state, 0700);
	chmod(FX.state, 0755);
	fx_stack("svc", "required testmod.so store=rec\n");
	char *out, *err;
	ck_assert_int_eq(fx_cli(NULL, &out, &err, "token", "svc", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "chmod 700"));
	free(out);
	free(err);
}
END_TEST

/* Runs FN as uid 65534 in a child (the test tree made traversable);
 * returns its exit status. */
static int as_nobody(int (*fn)(void))
{
	chmod(FX.dir, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(100);
		_exit(fn());
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 101;
}

static char sd_first[PATH_MAX], sd_second[PATH_MAX];

/* As a systemd service with StateDirectory=: the records go to the first
 * directory of $STATE_DIRECTORY. */
static int store_under_systemd(void)
{
	char both[2 * PATH_MAX + 2];
	snprintf(both, sizeof both, "%s:%s", sd_first, sd_second);
	unsetenv("JAUTH_STATE_DIR");
	setenv("STATE_DIRECTORY", both, 1);
	setenv("HOME", FX.dir, 1); /* never used: the unit's dir wins */
	FX.opt.state_dir = NULL;
	jauth *h = NULL;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		return 1;
	const jauth_cred *c;
	jauth_result rc = jauth_acquire(h, &c);
	if (rc != JAUTH_SUCCESS)
		fprintf(stderr, "acquire: %s\n", jauth_error(h));
	jauth_close(h);
	char rec[PATH_MAX + 64];
	snprintf(rec, sizeof rec, "%s/svc.testmod.rec.json", sd_first);
	return rc != JAUTH_SUCCESS ? 2 : access(rec, F_OK) != 0 ? 3 : 0;
}

START_TEST(test_systemd_state_directory_is_honoured)
{
	snprintf(sd_first, sizeof sd_first, "%s/unit-state", FX.dir);
	snprintf(sd_second, sizeof sd_second, "%s/unit-state2", FX.dir);
	ck_assert_int_eq(mkdir(sd_first, 0700), 0);
	ck_assert_int_eq(chown(sd_first, NOBODY, NOBODY), 0);
	fx_stack("svc", "required testmod.so store=rec\n");
	ck_assert_int_eq(as_nobody(store_under_systemd), 0);
}
END_TEST

/* A relative state directory is refused with the name of the setting it
 * came from, and only that one. */
static const struct {
	const char *opt, *env, *systemd; /* where "rel/state" is set */
	const char *named, *not_named;
} relative[] = {
	{ "rel/state", NULL, NULL, "state_dir option", "$JAUTH_STATE_DIR" },
	{ NULL, "rel/state", NULL, "$JAUTH_STATE_DIR", "state_dir option" },
	{ NULL, NULL, "rel/state", "$STATE_DIRECTORY", "state_dir option" },
};

START_TEST(test_relative_state_dir_names_its_setting)
{
	unsetenv("JAUTH_STATE_DIR");
	unsetenv("STATE_DIRECTORY");
	if (relative[_i].env)
		setenv("JAUTH_STATE_DIR", relative[_i].env, 1);
	if (relative[_i].systemd)
		setenv("STATE_DIRECTORY", relative[_i].systemd, 1);
	FX.opt.state_dir = relative[_i].opt;
	fx_stack("svc", "required testmod.so store=rec\n");
	jauth *h = fx_open("svc");
	const jauth_cred *c;
	ck_assert_int_eq(jauth_acquire(h, &c), JAUTH_CONFIG);
	const char *msg = jauth_error(h);
	ck_assert_msg(strstr(msg, "\"rel/state\" is not an absolute path") &&
			      strstr(msg, relative[_i].named) &&
			      !strstr(msg, relative[_i].not_named),
		      "%s", msg);
	jauth_close(h);
}
END_TEST

/* A service user whose home is HOMES[_i]: jauth says to set
 * JAUTH_STATE_DIR or -s, as a configuration error (exit 2). */
static const char *const homes[] = { NULL, "/nonexistent" };
static int home_case;

static int store_without_home(void)
{
	unsetenv("JAUTH_STATE_DIR");
	unsetenv("STATE_DIRECTORY");
	unsetenv("XDG_STATE_HOME");
	if (homes[home_case])
		setenv("HOME", homes[home_case], 1);
	else
		unsetenv("HOME");
	FX.opt.state_dir = NULL;
	jauth *h = NULL;
	if (jauth_open("svc", &FX.opt, &h) != JAUTH_SUCCESS)
		return 1;
	const jauth_cred *c;
	jauth_result rc = jauth_acquire(h, &c);
	const char *msg = jauth_error(h);
	int named = strstr(msg, "JAUTH_STATE_DIR") && strstr(msg, "-s");
	jauth_close(h);
	if (rc != JAUTH_CONFIG || !named)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(fx_path("tree/bin/jauth"), "jauth", "-c", FX.conf, "-m",
		      FX.mods, "token", "svc", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 2 ? 0 : 3;
}

START_TEST(test_service_user_without_home_gets_a_config_error)
{
	home_case = _i;
	fx_stack("svc", "required testmod.so store=rec\n");
	/* the tool and its library where nobody reaches them: a checkout in
	 * root's 0700 home is not */
	char cmd[2 * PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "mkdir -p %s && cp -a %s/bin %s/lib %s/",
		 fx_path("tree"), JAUTH_TEST_BUILDDIR, JAUTH_TEST_BUILDDIR,
		 fx_path("tree"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(as_nobody(store_without_home), 0);
}
END_TEST

Suite *suite_store(void)
{
	Suite *s = suite_create("file store");
	TCase *tc = tcase_create("mark and clock");
	tcase_add_test(tc, test_mark_ends_with_its_record);
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
		tc,
		test_note_before_the_post_leaves_the_committed_record_alone);
	tcase_add_test(
		tc,
		test_waiter_reads_the_winners_token_without_taking_the_lock);
	tcase_add_test(
		tc, test_clock_moved_back_never_resends_a_sent_refresh_token);
	tcase_add_test(
		tc, test_clock_far_ahead_never_stretches_a_token_past_its_end);
	tcase_add_test(tc,
		       test_oversized_token_answer_refused_and_the_grant_kept);
	tcase_add_loop_test(
		tc, test_unreadable_record_never_blocks_a_consent_or_a_revoke,
		0, 3);
	tcase_add_test(tc, test_fifo_named_like_the_record_never_blocks);
	tcase_add_test(tc, test_fifo_named_like_the_reload_note_never_blocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("power cut");
	tcase_add_unchecked_fixture(tc, fx_standin_up, fx_standin_down);
	tcase_add_checked_fixture(tc, setup, xfs_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_power_cut_on_xfs_never_loses_the_grant, 0,
			    sizeof cuts / sizeof *cuts);
	suite_add_tcase(s, tc);

	tc = tcase_create("state directory");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc,
		       test_state_dir_inside_another_users_directory_refused);
	tcase_add_test(
		tc, test_state_dir_open_to_others_is_a_config_error_in_the_cli);
	tcase_add_test(tc, test_systemd_state_directory_is_honoured);
	tcase_add_loop_test(tc,
			    test_service_user_without_home_gets_a_config_error,
			    0, 2);
	tcase_add_loop_test(tc, test_relative_state_dir_names_its_setting, 0,
			    sizeof relative / sizeof relative[0]);
	suite_add_tcase(s, tc);
	return s;
}
