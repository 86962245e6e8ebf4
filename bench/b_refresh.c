/*
 * b_refresh.c — row 4: one forced jauth_refresh through oauth3lo.so against
 * the stand-in, beside the same refresh-token POST made with plain libcurl
 * (one easy handle reused, the same TLS settings), and the cost of the
 * store's crash-safe commit measured on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common.h"

#define REPS 7
#define PER_REP 5
#define WARMUP 3
#define COMMITS_PER_REP 10
#define SERVICE "refresh"

/* ---- the baseline: plain libcurl ---- */

struct plain {
	CURL *c;
	char url[256];
	const char *ca;
	char *refresh_token;
	char body[65536];
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct plain *p = ctx;
	size_t len = size * n;
	if (p->len + len >= sizeof p->body)
		return 0;
	memcpy(p->body + p->len, data, len);
	p->len += len;
	p->body[p->len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * n;
}

/* POSTs JSON to /oauth/token with the options jauth's HTTP layer uses
 * (reset, https only, verification on, TLS ≥ 1.2, the stand-in's CA, no
 * signals, no proxy, timeouts, size cap, JSON headers). Returns the HTTP
 * status or -1; the answer is in p->body. */
static long plain_post(struct plain *p, const char *json)
{
	struct curl_slist *h =
		curl_slist_append(NULL, "Accept: application/json");
	h = curl_slist_append(h, "Content-Type: application/json");
	CURL *c = p->c;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_CAINFO, p->ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(1 << 20));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jauth-bench-baseline");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	p->len = 0;
	p->body[0] = '\0';
	long status = -1;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return status;
}

/* Takes the rotated refresh token from the answer. 0, or -1. */
static int take_refresh_token(struct plain *p)
{
	cJSON *j = cJSON_Parse(p->body);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	int ok = cJSON_IsString(rt) && cJSON_IsString(at);
	if (ok) {
		free(p->refresh_token);
		p->refresh_token = strdup(rt->valuestring);
	}
	cJSON_Delete(j);
	return ok && p->refresh_token ? 0 : -1;
}

/* One refresh grant with the current refresh token; rotates it. */
static int plain_refresh(struct plain *p)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "grant_type", "refresh_token");
	cJSON_AddStringToObject(b, "client_id", CLIENT_ID);
	cJSON_AddStringToObject(b, "client_secret", CLIENT_SECRET);
	cJSON_AddStringToObject(b, "refresh_token", p->refresh_token);
	char *json = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	long st = json ? plain_post(p, json) : -1;
	free(json);
	return st == 200 ? take_refresh_token(p) : -1;
}

/* The baseline's own consent: /authorize on the stand-in, then the code
 * exchange, on the same easy handle. */
static int plain_consent(struct plain *p, struct standin *si, char *err,
			 size_t n)
{
	char url[1024];
	long status = 0;
	snprintf(url, sizeof url,
		 "%s/authorize?audience=api.atlassian.com&client_id=" CLIENT_ID
		 "&scope=offline_access%%20read%%3Ajira-work"
		 "&redirect_uri=https%%3A%%2F%%2Fapp.example%%2Fcb"
		 "&state=benchstate&response_type=code&prompt=consent",
		 si->url);
	char *cb = standin_consent(si, url, &status);
	const char *code = cb ? strstr(cb, "code=") : NULL;
	if (!code) {
		snprintf(err, n, "baseline consent: /authorize answered %ld",
			 status);
		free(cb);
		return -1;
	}
	code += 5;
	char codebuf[256];
	snprintf(codebuf, sizeof codebuf, "%.*s", (int)strcspn(code, "&"),
		 code);
	free(cb);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "grant_type", "authorization_code");
	cJSON_AddStringToObject(b, "client_id", CLIENT_ID);
	cJSON_AddStringToObject(b, "client_secret", CLIENT_SECRET);
	cJSON_AddStringToObject(b, "code", codebuf);
	cJSON_AddStringToObject(b, "redirect_uri", REDIRECT_URI);
	char *json = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	long st = plain_post(p, json);
	free(json);
	if (st != 200 || take_refresh_token(p) < 0) {
		snprintf(err, n, "baseline code exchange answered %ld: %.200s",
			 st, p->body);
		return -1;
	}
	return 0;
}

/* ---- the store commit on its own ---- */

/* What jauth_m_store_commit does: write R.tmp, fsync, rename over R.json,
 * fsync the directory. */
static int commit_once(const char *dir, const char *text)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s/bench-commit.tmp", dir);
	snprintf(path, sizeof path, "%s/bench-commit.json", dir);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	ok &= close(fd) == 0;
	if (!ok || rename(tmp, path) < 0)
		return -1;
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -1;
	ok = fsync(d) == 0;
	close(d);
	return ok ? 0 : -1;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *s = calloc(1, 1 << 20);
	size_t n = s ? fread(s, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (s)
		s[n] = '\0';
	return s;
}

/* A handle on the refresh stack with its state in STATE_DIR, consented. */
static jauth *consented(struct env *e, const char *state_dir,
			struct standin *si, char *err, size_t n)
{
	struct jauth_options opt = e->opt;
	jauth *h = NULL;
	opt.state_dir = state_dir;
	if (jauth_open(SERVICE, &opt, &h) != JAUTH_SUCCESS) {
		snprintf(err, n, "jauth_open: %s", jauth_error(h));
		jauth_close(h);
		return NULL;
	}
	if (oauth_consent(h, si, err, n) < 0) {
		jauth_close(h);
		return NULL;
	}
	for (int i = 0; i < WARMUP; i++)
		if (jauth_refresh(h, NULL) != JAUTH_SUCCESS) {
			snprintf(err, n, "jauth_refresh: %s", jauth_error(h));
			jauth_close(h);
			return NULL;
		}
	return h;
}

/* Times one jauth_refresh into *T; 0 or -1. */
static int time_refresh(jauth *h, double *t)
{
	uint64_t t0 = mono_ns();
	jauth_result rc = jauth_refresh(h, NULL);
	*t = (double)(mono_ns() - t0);
	return rc == JAUTH_SUCCESS ? 0 : -1;
}

void bench_refresh(struct row *r)
{
	struct standin *si = standin();
	struct env e;
	char err[1024], shm[PATH_MAX], shm_state[PATH_MAX + 16];
	jauth *h = NULL, *hs = NULL;
	struct plain p = { 0 };
	static double tj[REPS * PER_REP], ts[REPS * PER_REP],
		tp[REPS * PER_REP], tc[REPS * COMMITS_PER_REP],
		td[REPS * PER_REP];
	int nj = 0, ns = 0, np = 0, nc = 0, nd = 0;
	char *record = NULL;
	r->title = "Refresh cost";
	if (!si) {
		row_fail(r, "the stand-in did not start");
		return;
	}
	if (env_new(&e, "refresh") < 0 ||
	    env_stack(&e, SERVICE, "%s\n", oauth_line(si)) < 0) {
		row_fail(r, "cannot make its temp tree");
		return;
	}
	/* tmpfs, where there is one: the same refresh without the cost of
	 * fsync */
	int have_shm = fs_name("/dev/shm")[0] == 't' &&
		       tmp_tree_in("/dev/shm", "shm", shm, sizeof shm) == 0 &&
		       snprintf(shm_state, sizeof shm_state, "%s/state", shm) <
			       (int)sizeof shm_state &&
		       make_dir(shm_state, 0700) == 0;
	/* jauth, state on the temp file system, and on tmpfs */
	if (!(h = consented(&e, e.state, si, err, sizeof err)) ||
	    (have_shm &&
	     !(hs = consented(&e, shm_state, si, err, sizeof err)))) {
		row_fail(r, "%s", err);
		goto out;
	}
	/* the baseline */
	p.c = curl_easy_init();
	p.ca = si->ca;
	snprintf(p.url, sizeof p.url, "%s/oauth/token", si->url);
	if (!p.c || plain_consent(&p, si, err, sizeof err) < 0) {
		row_fail(r, "%s", p.c ? err : "curl_easy_init failed");
		goto out;
	}
	for (int i = 0; i < WARMUP; i++)
		if (plain_refresh(&p) < 0) {
			row_fail(r, "the plain libcurl refresh failed: %.200s",
				 p.body);
			goto out;
		}
	/* the record the commit loop writes: the grant as it is now */
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path,
		 "%s/" SERVICE ".oauth3lo." CLIENT_ID ".json", e.state);
	record = read_text(path);
	if (!record || !*record) {
		row_fail(r, "cannot read the grant record %s", path);
		goto out;
	}
	commit_once(e.state, record);

	long grants0 = standin_counter(si, "refresh_grants");
	/* Interleaved, so that the disk's and the machine's moods hit all
	 * four alike. */
	for (int rep = 0; rep < REPS; rep++) {
		for (int i = 0; i < PER_REP; i++)
			if (time_refresh(h, &tj[nj++]) < 0) {
				row_fail(r, "jauth_refresh: %s",
					 jauth_error(h));
				goto out;
			}
		for (int i = 0; hs && i < PER_REP; i++)
			if (time_refresh(hs, &ts[ns++]) < 0) {
				row_fail(r, "jauth_refresh (tmpfs): %s",
					 jauth_error(hs));
				goto out;
			}
		for (int i = 0; i < PER_REP; i++) {
			uint64_t t0 = mono_ns();
			int rc = plain_refresh(&p);
			tp[np++] = (double)(mono_ns() - t0);
			if (rc < 0) {
				row_fail(r, "the plain libcurl refresh failed");
				goto out;
			}
		}
		/* the limit itself: the same POST, then the commit of its
		 * record, as one operation */
		for (int i = 0; i < PER_REP; i++) {
			uint64_t t0 = mono_ns();
			int rc = plain_refresh(&p);
			if (rc == 0)
				rc = commit_once(e.state, record);
			td[nd++] = (double)(mono_ns() - t0);
			if (rc < 0) {
				row_fail(r, "the plain durable refresh failed");
				goto out;
			}
		}
		for (int i = 0; i < COMMITS_PER_REP; i++) {
			uint64_t t0 = mono_ns();
			if (commit_once(e.state, record) < 0) {
				row_fail(r, "commit loop: %s", strerror(errno));
				goto out;
			}
			tc[nc++] = (double)(mono_ns() - t0);
		}
	}
	long grants = standin_counter(si, "refresh_grants") - grants0;

	double mj = median(tj, (size_t)nj), ms = median(ts, (size_t)ns);
	double mp = median(tp, (size_t)np), mc = median(tc, (size_t)nc);
	double md = median(td, (size_t)nd);
	char a[32], b[32], c[32], d[32], f[32], g[32];
	struct line *l = row_line(r, "Forced refresh (oauth3lo)");
	snprintf(l->jauth, sizeof l->jauth, "%s/refresh (state on %s)",
		 fmt_time(mj, a, sizeof a), fs_name(e.state));
	snprintf(l->baseline, sizeof l->baseline,
		 "%s/refresh (plain libcurl POST)", fmt_time(mp, b, sizeof b));
	snprintf(l->target, sizeof l->target, "≤ 1.1× baseline (%s)",
		 fmt_time(1.1 * mp, c, sizeof c));
	verdict_le(l, mj / mp, 1.1, "×");
	snprintf(l->result + strlen(l->result),
		 sizeof l->result - strlen(l->result), "; %.2f×", mj / mp);

	l = row_line(r, "Durable refresh vs its limit");
	snprintf(l->jauth, sizeof l->jauth, "%s/refresh (state on %s)",
		 fmt_time(mj, a, sizeof a), fs_name(e.state));
	snprintf(l->baseline, sizeof l->baseline,
		 "%s (plain POST, then one fsynced commit)",
		 fmt_time(md, b, sizeof b));
	snprintf(l->target, sizeof l->target, "≤ 1.25× baseline (%s)",
		 fmt_time(1.25 * md, c, sizeof c));
	verdict_le(l, mj / md, 1.25, "×");
	snprintf(l->result + strlen(l->result),
		 sizeof l->result - strlen(l->result), "; %.2f×", mj / md);

	l = row_line(r, "… the limit's parts, timed apart");
	snprintf(l->jauth, sizeof l->jauth, "%.2f× their sum",
		 mj / (mp + mc));
	snprintf(l->baseline, sizeof l->baseline,
		 "%s (POST %s + commit %s)", fmt_time(mp + mc, b, sizeof b),
		 fmt_time(mp, c, sizeof c), fmt_time(mc, g, sizeof g));
	snprintf(l->result, sizeof l->result, "(information)");

	l = row_line(r, "… of which the store commit");
	snprintf(l->jauth, sizeof l->jauth, "%s = %.0f%% of a refresh",
		 fmt_time(mc, d, sizeof d), mc / mj * 100);
	snprintf(l->baseline, sizeof l->baseline, "(none: keeps nothing)");

	l = row_line(r, "Forced refresh, state on tmpfs");
	if (hs)
		snprintf(l->jauth, sizeof l->jauth,
			 "%s/refresh (%.2f× baseline)",
			 fmt_time(ms, f, sizeof f), ms / mp);
	else
		snprintf(l->jauth, sizeof l->jauth, "(no tmpfs at /dev/shm)");
	snprintf(l->baseline, sizeof l->baseline,
		 "%s/refresh (plain libcurl POST)", fmt_time(mp, b, sizeof b));

	char tmpfs_note[512] = "(There is no tmpfs at /dev/shm here to "
			       "time the same refresh without fsync.) ";
	if (hs)
		snprintf(tmpfs_note, sizeof tmpfs_note,
			 "With the state on tmpfs the same refresh takes %s "
			 "(%.2f× the plain POST): that is the library's own "
			 "cost beyond the POST (lock, record read and parse, "
			 "the client secret read from its source, the mark "
			 "written into the lock file, one record write and "
			 "rename, the stack and the credential). ",
			 fmt_time(ms, f, sizeof f), ms / mp);
	text_printf(
		&r->para,
		"A one-line stack `required oauth3lo.so …` pointing at the "
		"stand-in (TLS on 127.0.0.1, verified against its CA) is "
		"opened twice: once with its state directory in the temp "
		"tree (%s, %s), once on tmpfs (`/dev/shm`, where `fsync` "
		"costs nothing); each handle is consented and refreshed "
		"%d times for warm-up. A forced `jauth_refresh` runs the "
		"module's refresh: take the record's `flock` (the lock "
		"file stays open in the handle), re-read the record, note "
		"a `refresh_sent_at` mark (one `pwrite` into the lock "
		"file: the record itself is untouched), POST the refresh "
		"grant (JSON) to `/oauth/token` on the instance's one "
		"reused curl handle, parse the answer, commit the rotated "
		"tokens, publish the credential. The baseline, in the same "
		"run, made its own consent (the stand-in's `/authorize`, "
		"then the code exchange) and sends the very same POST with "
		"plain libcurl: one easy handle reused across requests, "
		"`curl_easy_reset` and the options jauth's HTTP layer sets "
		"(https only, peer and host verification, TLS ≥ 1.2, the "
		"CA file, no proxy, timeouts), the body built and the "
		"answer parsed with cJSON, the refresh token rotated each "
		"time — and kept only in memory. The limit of a durable "
		"refresh is that same program made durable: the same POST, "
		"then one commit of the %zu-byte grant record as "
		"`jauth_m_store_commit` makes it (write `R.tmp`, `fsync`, "
		"`rename` over `R.json`, `fsync` the directory), timed as "
		"one operation. The commit is also timed on its own, in "
		"loops of %d. Five kinds — jauth on the temp file system, "
		"jauth on tmpfs, the plain POST, the plain POST then its "
		"commit, and the commit loop — are interleaved in %d "
		"blocks (%d of each refresh kind, %d commits), so that the "
		"disk's and the machine's moods hit them alike; the "
		"figures are medians of single calls (the stand-in counted "
		"%ld refresh grants for the %d timed refreshes). "
		"Result: jauth %s per refresh against %s for the plain "
		"POST then its commit (%.2f×, target ≤ 1.25×), and %s "
		"for the plain POST alone (%.2f×, target ≤ 1.1×, missed "
		"on purpose: a refresh must not hand out a token before "
		"the rotated refresh token is on disk, and one `fsync`ed "
		"commit costs more here than the whole POST). A commit in "
		"a loop of commits takes %s; the sum of the parts timed "
		"apart (%s) is less than the plain POST followed by its "
		"commit (%s), because a commit made just after a request "
		"shares the machine with the server still finishing it "
		"and the network stack's work, as jauth's own commit "
		"does: the line \"the limit's parts, timed apart\" shows "
		"jauth against that sum for comparison (%.2f×). A refresh "
		"makes exactly one durable commit (the rotated tokens, "
		"before the new access token is handed out); the "
		"`refresh_sent_at` mark before the POST (so that a lost "
		"answer is never replayed past Atlassian's reuse interval) "
		"is one `pwrite` into the lock file, which costs no flush. "
		"%s"
		"What jauth adds to the limit is the price of sharing the "
		"grant safely between processes — the `flock`, the re-read "
		"of the record under it and its parse, the mark — and of "
		"keeping the secrets out of core dumps: the client secret "
		"read from its source, the request body, the answer and "
		"the new record each in locked pages of their own "
		"(jauth-module(3), secure memory), OpenSSL wiping each "
		"record it decrypted, the bytes libcurl hands over wiped "
		"once copied. Cut on 2026-12-01 (about 50 µs of CPU per "
		"refresh, measured with the thread's CPU clock): the "
		"grant was copied through a JSON tree four times per "
		"refresh (now once, field by field; the grant kept in "
		"memory is moved, not copied), every whole number of a "
		"record went through `%%1.15g` and `sscanf` (now written "
		"as digits), the sites list was duplicated into each "
		"record printed (now referred to), every request walked "
		"and read `ca_file=` (now once per handle, and again only "
		"when `stat` shows the file changed or replaced), log "
		"lines below the level were formatted and thrown away, "
		"and the record read under the lock was checksummed "
		"twice.",
		fs_name(e.state), tmp_base(), WARMUP, strlen(record),
		COMMITS_PER_REP, REPS, REPS * PER_REP,
		REPS * COMMITS_PER_REP, grants,
		(hs ? 4 : 3) * REPS * PER_REP, fmt_time(mj, a, sizeof a),
		fmt_time(md, g, sizeof g), mj / md, fmt_time(mp, b, sizeof b),
		mj / mp, fmt_time(mc, d, sizeof d),
		fmt_time(mp + mc, c, sizeof c), fmt_time(md, g, sizeof g),
		mj / (mp + mc), tmpfs_note);
out:
	free(record);
	free(p.refresh_token);
	if (p.c)
		curl_easy_cleanup(p.c);
	jauth_close(hs);
	jauth_close(h);
}
