/*
 * testmod.c — a module for the test suites only (never installed), the way
 * Linux-PAM tests with pam_debug: its arguments choose what each call
 * returns, and a few more let tests drive the core's services (secrets,
 * store, HTTPS, log) from inside a real module.
 *
 * Built several times: TESTMOD_ABI_OLD exports a struct of ABI minor 0,
 * TESTMOD_ABI overrides the version it claims, TESTMOD_NO_ENTRY exports no
 * entry symbol at all.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jauth/module.h>

static const struct jauth_arg_spec spec[] = {
	{ "acquire", JAUTH_ARG_STRING, 0, "success", 0, 0 },
	{ "refresh", JAUTH_ARG_STRING, 0, "success", 0, 0 },
	{ "revoke", JAUTH_ARG_STRING, 0, "success", 0, 0 },
	{ "token", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "secret", JAUTH_ARG_SECRET, 0, NULL, 0, 0 },
	{ "scheme", JAUTH_ARG_STRING, 0, "Test", 0, 0 },
	{ "base_url", JAUTH_ARG_URL, 0, "https://jira.example", 0, 0 },
	{ "lifetime", JAUTH_ARG_INT, 0, "0", 0, 0 },
	{ "leeway", JAUTH_ARG_INT, 0, "0", 0, 0 },
	{ "counter", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "delay_ms", JAUTH_ARG_INT, 0, "0", 0, 10000 },
	{ "store", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	/* with store=: note a mark (n=999) first, then commit the record
	 * read ("same", byte for byte) or the bumped one ("other") */
	{ "note_then", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "http", JAUTH_ARG_URL, 0, NULL, 0, 0 },
	{ "http_any", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "once", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "ca_file", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "tries", JAUTH_ARG_INT, 0, "0", 0, 10 },
	{ "log", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "message", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "date", JAUTH_ARG_DATE, 0, NULL, 0, 0 },
	{ "flag", JAUTH_ARG_BOOL, 0, NULL, 0, 0 },
	{ "num", JAUTH_ARG_INT, 0, NULL, 1, 10 },
	{ "open", JAUTH_ARG_STRING, 0, "success", 0, 0 },
	{ "result_file", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "show", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "input", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "dflt", JAUTH_ARG_INT, 0, "7", 0, 0 },
	{ "hint", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
	{ "warn", JAUTH_ARG_STRING, 0, NULL, 0, 0 },
#ifndef TESTMOD_ABI_OLD
	{ "keyfile", JAUTH_ARG_FILE, JAUTH_ARG_PRIVATE, NULL, 0, 0 },
	{ "pubfile", JAUTH_ARG_FILE, 0, NULL, 0, 0 },
#endif
	{ NULL, 0, 0, NULL, 0, 0 },
};

/* The five line results, and config (what a service may return, e.g.
 * jauth_m_http for an untrusted certificate). */
static const char *const names[] = { "success",	  "unavailable", "denied",
				     "transient", "error",	 "config" };

static jauth_result result_of(const char *s)
{
	for (int i = 0; i < 6; i++)
		if (strcmp(s, names[i]) == 0)
			return (jauth_result)i;
	return (jauth_result)99; /* lets tests send the core a bad result */
}

/* Appends C to the counter file, so that tests count calls across threads
 * and processes. */
static void count(jauth_m *m, char c)
{
	const char *path = jauth_m_arg(m, "counter");
	if (!path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)!write(fd, &c, 1);
		close(fd);
	}
}

static void pause_a_little(jauth_m *m)
{
	long long ms = jauth_m_arg_int(m, "delay_ms");
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	if (ms > 0)
		nanosleep(&ts, NULL);
}

/* Increments counter "n" of the store record under its lock. */
static jauth_result bump_store(jauth_m *m, long *n)
{
	jauth_m_lock *lk;
	cJSON *rec;
	jauth_result rc =
		jauth_m_store_lock(m, jauth_m_arg(m, "store"), &lk, &rec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	cJSON *old = cJSON_GetObjectItem(rec, "n");
	*n = cJSON_IsNumber(old) ? (long)old->valuedouble + 1 : 1;
	const char *then = jauth_m_arg(m, "note_then");
	if (then && rec) {
		cJSON *mark = cJSON_Duplicate(rec, 1);
		cJSON_DeleteItemFromObject(mark, "n");
		cJSON_AddNumberToObject(mark, "n", 999);
		rc = jauth_m_store_note(lk, mark);
		cJSON_Delete(mark);
		if (rc == JAUTH_SUCCESS && strcmp(then, "same") == 0) {
			*n = (long)old->valuedouble;
			rc = jauth_m_store_commit(lk, rec);
		}
		if (rc != JAUTH_SUCCESS || strcmp(then, "same") == 0) {
			jauth_m_json_free(rec);
			jauth_m_store_unlock(lk);
			return rc;
		}
	}
	if (!rec)
		rec = cJSON_CreateObject();
	cJSON_DeleteItemFromObject(rec, "n");
	cJSON_AddNumberToObject(rec, "n", (double)*n);
	pause_a_little(m);
	rc = jauth_m_store_commit(lk, rec);
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
	return rc;
}

/*
 * The single-flight pattern every refreshing module follows: under the
 * record's lock, re-read, and do the work only if nobody did it for this
 * round (the clock's value) yet. Work done is counted as 'w'.
 */
static jauth_result once(jauth_m *m, long *done)
{
	jauth_m_lock *lk;
	cJSON *rec;
	jauth_result rc =
		jauth_m_store_lock(m, jauth_m_arg(m, "once"), &lk, &rec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	cJSON *d = cJSON_GetObjectItem(rec, "done");
	long round = (long)jauth_m_now(m);
	*done = cJSON_IsNumber(d) ? (long)d->valuedouble : 0;
	if (*done < round) {
		count(m, 'w');
		pause_a_little(m);
		if (!rec)
			rec = cJSON_CreateObject();
		cJSON_DeleteItemFromObject(rec, "done");
		cJSON_AddNumberToObject(rec, "done", (double)round);
		rc = jauth_m_store_commit(lk, rec);
		*done = round;
	}
	jauth_m_json_free(rec);
	jauth_m_store_unlock(lk);
	return rc;
}

/* GETs http= (or http_any=, which skips the URL check); a 200 answer's
 * body becomes the token. */
static jauth_result fetch(jauth_m *m, char **token)
{
	const char *any = jauth_m_arg(m, "http_any");
	struct jauth_m_http_req rq = {
		.method = "GET",
		.url = any ? any : jauth_m_arg(m, "http"),
		.ca_file = jauth_m_arg(m, "ca_file"),
		.tries = (int)jauth_m_arg_int(m, "tries"),
	};
	struct jauth_m_http_resp rs;
	jauth_result rc = jauth_m_http(m, &rq, &rs);
	if (rc == JAUTH_SUCCESS && rs.status != 200)
		rc = jauth_m_http_fail(m, "test fetch", &rq, &rs);
	if (rc == JAUTH_SUCCESS)
		*token = strndup(rs.body, strcspn(rs.body, "\r\n"));
	jauth_m_http_free(&rs);
	return rc;
}

/* input= as the module reads it (plain stdio: the file is the test's). */
static char *input_text(jauth_m *m)
{
	FILE *f = fopen(jauth_m_arg(m, "input"), "r");
	char *text = NULL;
	size_t n = 0;
	if (f && getdelim(&text, &n, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	if (f)
		fclose(f);
	return text;
}

/*
 * show= makes the token show what a service gave: "int:KEY" the value of
 * jauth_m_arg_int, "json" whether input= parses ("ok"), "b64url" the
 * decoded input=, "file:KEY" the contents of file argument KEY.
 */
static jauth_result show(jauth_m *m, const char *what, char **token)
{
	jauth_result rc = JAUTH_SUCCESS;
	char *in = strncmp(what, "int:", 4) && strncmp(what, "file:", 5)
			   ? input_text(m)
			   : NULL;
	if (strncmp(what, "int:", 4) == 0) {
		rc = asprintf(token, "%lld", jauth_m_arg_int(m, what + 4)) < 0
			     ? JAUTH_ERROR
			     : JAUTH_SUCCESS;
	} else if (strcmp(what, "json") == 0) {
		cJSON *j;
		rc = jauth_m_json_parse(m, "input", in, &j);
		jauth_m_json_free(j);
		*token = rc == JAUTH_SUCCESS ? strdup("ok") : NULL;
	} else if (strcmp(what, "b64url") == 0) {
		*token = in ? jauth_m_base64url_decode(in, NULL) : NULL;
		if (!*token)
			rc = jauth_m_fail(m, JAUTH_ERROR, "not base64url");
#ifndef TESTMOD_ABI_OLD
	} else if (strncmp(what, "file:", 5) == 0) {
		jauth_m_secret *s;
		rc = jauth_m_file_read(m, what + 5, &s);
		if (rc == JAUTH_SUCCESS) {
			*token = strdup(jauth_m_secret_str(s));
			(*token)[strcspn(*token, "\r\n")] = '\0';
			jauth_m_secret_free(s);
		}
#endif
	}
	free(in);
	return rc;
}

/* The token this call publishes: show=, secret=, the HTTP answer, the
 * once= round, the store's counter, token=, or the line itself. */
static jauth_result make_token(jauth_m *m, char **token)
{
	jauth_m_secret *s;
	long n;
	jauth_result rc;
	if (jauth_m_arg(m, "show"))
		return show(m, jauth_m_arg(m, "show"), token);
	if (jauth_m_arg(m, "secret")) {
		if ((rc = jauth_m_secret_get(m, "secret", &s)) != JAUTH_SUCCESS)
			return rc;
		*token = strdup(jauth_m_secret_str(s));
		jauth_m_secret_free(s);
		return JAUTH_SUCCESS;
	}
	if (jauth_m_arg(m, "http") || jauth_m_arg(m, "http_any"))
		return fetch(m, token);
	if (jauth_m_arg(m, "once")) {
		if ((rc = once(m, &n)) != JAUTH_SUCCESS)
			return rc;
		return asprintf(token, "done=%ld", n) < 0 ? JAUTH_ERROR
							  : JAUTH_SUCCESS;
	}
	if (jauth_m_arg(m, "store")) {
		if ((rc = bump_store(m, &n)) != JAUTH_SUCCESS)
			return rc;
		return asprintf(token, "n=%ld", n) < 0 ? JAUTH_ERROR
						       : JAUTH_SUCCESS;
	}
	const char *t = jauth_m_arg(m, "token");
	*token = strdup(t ? t : jauth_m_source(m));
	return JAUTH_SUCCESS;
}

/* The result KEY= names, or the word in result_file= (read on every
 * call, so that a test changes it under a running handle). */
static jauth_result wanted(jauth_m *m, const char *key)
{
	const char *path = jauth_m_arg(m, "result_file");
	char word[32] = "";
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return result_of(jauth_m_arg(m, key));
	if (!fgets(word, sizeof word, f))
		word[0] = '\0';
	fclose(f);
	word[strcspn(word, "\n")] = '\0';
	return result_of(word);
}

/* acquire and refresh: the result KEY= names, with a credential. */
static jauth_result answer(jauth_m *m, const char *key)
{
	jauth_result want = wanted(m, key);
	const char *msg = jauth_m_arg(m, "message");
	const char *log = jauth_m_arg(m, "log");
	char *token = NULL;
	pause_a_little(m);
	if (log)
		jauth_m_log(m, JAUTH_LOG_DEBUG, "%s", log);
	if (want != JAUTH_SUCCESS) {
		jauth_m_fail(m, want, "%s", msg ? msg : "as told");
		return jauth_m_arg(m, "hint")
			       ? jauth_m_fail_append(m, want, "%s",
						     jauth_m_arg(m, "hint"))
			       : want;
	}
	jauth_result rc = make_token(m, &token);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (log)
		jauth_m_log(m, JAUTH_LOG_DEBUG, "published %s", token);
	time_t now = jauth_m_now(m);
	long long life = jauth_m_arg_int(m, "lifetime");
	struct jauth_m_cred c = {
		.scheme = jauth_m_arg(m, "scheme"),
		.token = token,
		.base_url = jauth_m_arg(m, "base_url"),
		.expires_at = life ? now + life : 0,
		.refresh_at =
			life ? now + life - jauth_m_arg_int(m, "leeway") : 0,
	};
	rc = jauth_m_credential(m, &c);
	jauth_m_wipe_free(token);
	return rc;
}

static jauth_result tm_open(jauth_m *m, void **state)
{
	*state = NULL;
	jauth_result rc = jauth_m_args(m, spec);
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (strcmp(jauth_m_arg(m, "open"), "success") != 0)
		return jauth_m_fail(m, JAUTH_CONFIG,
				    "refusing to open, as told");
	return JAUTH_SUCCESS;
}

static void tm_close(jauth_m *m, void *state)
{
	(void)m;
	(void)state;
}

static jauth_result tm_acquire(jauth_m *m, void *state)
{
	(void)state;
	count(m, 'a');
	return answer(m, "acquire");
}

static jauth_result tm_refresh(jauth_m *m, void *state)
{
	(void)state;
	count(m, 'r');
	return answer(m, "refresh");
}

static jauth_result tm_revoke(jauth_m *m, void *state)
{
	(void)state;
	count(m, 'v');
	jauth_m_say(m, "testmod %s: nothing to do at Atlassian",
		    jauth_m_source(m));
	jauth_result want = result_of(jauth_m_arg(m, "revoke"));
	return want == JAUTH_SUCCESS ? want
				     : jauth_m_fail(m, want, "revoke as told");
}

static jauth_result tm_begin(jauth_m *m, void *state, char **url)
{
	(void)state;
	const char *pairs[] = { "state", "s1", NULL };
	*url = jauth_m_url_query(jauth_m_arg(m, "base_url"), pairs);
	return *url ? JAUTH_SUCCESS : JAUTH_ERROR;
}

static jauth_result tm_finish(jauth_m *m, void *state, const char *cb)
{
	(void)state;
	char *v = NULL;
	jauth_result rc = jauth_m_url_param(cb, "state", &v);
	if (rc != JAUTH_SUCCESS || strcmp(v, "s1") != 0) {
		free(v);
		return jauth_m_fail(m, JAUTH_DENIED, "bad state");
	}
	free(v);
	jauth_m_say(m, "consent recorded");
	return JAUTH_SUCCESS;
}

#ifndef TESTMOD_ABI_OLD
static jauth_result tm_status(jauth_m *m, void *state, cJSON *out)
{
	(void)state;
	cJSON_AddStringToObject(out, "method", "test");
	if (jauth_m_arg(m, "warn"))
		return jauth_m_status_warn(out, "%s (%s)",
					   jauth_m_arg(m, "warn"),
					   jauth_m_source(m));
	return JAUTH_SUCCESS;
}

static void tm_rejected(jauth_m *m, void *state, int status)
{
	(void)state;
	(void)status;
	count(m, 'j');
}
#endif

#ifndef TESTMOD_ABI
#define TESTMOD_ABI JAUTH_ABI_VERSION
#endif

#ifdef TESTMOD_NO_ENTRY
/* A typo in the one name that matters. */
#define jauth_module_entry jauth_module_entyr
#endif

#if defined(TESTMOD_ABI_OLD)
/* What a module built against the minor-0 header exports: the struct ends
 * after authorize_finish. */
struct jauth_module_1_0 {
	uint32_t abi;
	const char *name, *version;
	jauth_result (*open)(jauth_m *, void **);
	void (*close)(jauth_m *, void *);
	jauth_result (*acquire)(jauth_m *, void *);
	jauth_result (*refresh)(jauth_m *, void *);
	jauth_result (*revoke)(jauth_m *, void *);
	jauth_result (*authorize_begin)(jauth_m *, void *, char **);
	jauth_result (*authorize_finish)(jauth_m *, void *, const char *);
};
JAUTH_MODULE_EXPORT const struct jauth_module_1_0 jauth_module_entry = {
	.abi = JAUTH_ABI_MAJOR << 16 | 0,
	.name = "testmod-old",
	.version = "0.0",
	.open = tm_open,
	.close = tm_close,
	.acquire = tm_acquire,
	.refresh = tm_refresh,
	.revoke = tm_revoke,
	.authorize_begin = tm_begin,
	.authorize_finish = tm_finish,
};
#else
JAUTH_MODULE_EXPORT const struct jauth_module jauth_module_entry = {
	.abi = TESTMOD_ABI,
	.name = "testmod",
	.version = "1.0",
	.open = tm_open,
	.close = tm_close,
	.acquire = tm_acquire,
	.refresh = tm_refresh,
	.revoke = tm_revoke,
	.authorize_begin = tm_begin,
	.authorize_finish = tm_finish,
	.status = tm_status,
	.rejected = tm_rejected,
};
#endif
