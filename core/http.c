/*
 * http.c — the project's one HTTP client, for modules (jauth_m_http) and
 * for the CLI (jauth_http_get): https only, verification always on, caps
 * on header (64 KiB) and body (1 MiB), no redirects, retries with backoff
 * that honour Retry-After, every try inside one deadline below the
 * grant's lock wait (internal.h), errors in words that say what to do, and
 * at debug level a trace with the secrets masked.
 *
 * The transfer itself is http.so's (core/http/curl.c, on libcurl), loaded
 * on the first request: processes that never go to the network never map
 * libcurl and OpenSSL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "http/iface.h"
#include "internal.h"

_Static_assert(JAUTH_HTTP_BUDGET_MS < JAUTH_LOCK_WAIT_S * 1000L,
	       "an HTTP exchange must end before others stop waiting for "
	       "the lock its caller holds");
_Static_assert(JAUTH_HTTP_TRIES *JAUTH_HTTP_TRY_MS +
			       (JAUTH_HTTP_TRIES - 1) *
				       JAUTH_HTTP_BACKOFF_MAX_MS <
		       JAUTH_LOCK_WAIT_S * 1000L,
	       "tries x timeout + backoff must stay below the lock wait");

/* ---- loading http.so ---- */

/* Set once http.so is loaded; a failed load is tried again on the next
 * request (the file may have been installed meanwhile). */
static const struct http_iface *_Atomic iface;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static const struct http_iface *load(char **why)
{
	void *dl = private_open("http.so", why), *sym = NULL;
	if (dl)
		sym = private_sym(dl, "http.so", JAUTH_HTTP_IFACE_SYMBOL, why);
	const struct http_iface *i =
		sym ? ((const struct http_iface *(*)(void))sym)() : NULL;
	if (i && (i->version != JAUTH_HTTP_IFACE_VERSION ||
		  i->size != sizeof(struct http_try))) {
		*why = xstrdup("http.so belongs to another jauth version: "
			       "reinstall jauth");
		i = NULL;
	}
	return i;
}

/* The transfer, or NULL with *why (malloc'd). */
static const struct http_iface *transfer(char **why)
{
	const struct http_iface *i =
		atomic_load_explicit(&iface, memory_order_acquire);
	*why = NULL;
	if (i)
		return i;
	pthread_mutex_lock(&load_mu);
	if (!(i = atomic_load_explicit(&iface, memory_order_relaxed)) &&
	    (i = load(why)))
		atomic_store_explicit(&iface, i, memory_order_release);
	pthread_mutex_unlock(&load_mu);
	return i;
}

void http_close(void *conn)
{
	/* A connection exists only once http.so is loaded. */
	if (conn)
		atomic_load_explicit(&iface, memory_order_acquire)->close(conn);
}

/* ---- one exchange ---- */

/* A request as both entry points make it. */
struct call {
	struct jauth *h;
	void **conn;
	struct ca_cache **ca; /* where its ca_file= is remembered, or NULL */
	const char *method, *url, *auth, *json, *ca_file;
	int tries;
};

/* What came of it. */
struct outcome {
	long status;
	char *body;
	size_t len;
	long retry_after;
	time_t date;
	int uncertain;
	double seconds;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The pause before try number TRY+1: Retry-After when given, else
 * exponential with jitter. */
static long backoff_ms(int try, long retry_after)
{
	if (retry_after >= 0)
		return retry_after * 1000L;
	long ms = JAUTH_HTTP_BACKOFF_MS << (try - 1);
	if (ms > JAUTH_HTTP_BACKOFF_MAX_MS)
		ms = JAUTH_HTTP_BACKOFF_MAX_MS;
	unsigned short jitter = 0;
	(void)!getrandom(&jitter, sizeof jitter, GRND_NONBLOCK);
	return ms / 2 + (long)(jitter % (unsigned)(ms / 2 + 1));
}

static int fault_retryable(enum http_fault f)
{
	return f == HF_DNS || f == HF_CONNECT || f == HF_TIMEOUT ||
	       f == HF_SLOW || f == HF_DROPPED || f == HF_TLS;
}

static int status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

static jauth_result fault_result(enum http_fault f)
{
	if (f == HF_TLS_TRUST || f == HF_CA_FILE)
		return JAUTH_CONFIG;
	return fault_retryable(f) ? JAUTH_TRANSIENT : JAUTH_ERROR;
}

#define STR_(x) #x
#define STR(x) STR_(x)

#define NET_HINT                                                               \
	"check the host name, DNS, a proxy (https_proxy, no_proxy) or a "      \
	"firewall, then try again"

/* What went wrong and what to do, for fault F. */
static const char *fault_words(enum http_fault f)
{
	switch (f) {
	case HF_DNS:
		return "cannot resolve the host name: " NET_HINT;
	case HF_CONNECT:
		return "cannot connect (refused or unreachable): " NET_HINT;
	case HF_TIMEOUT:
		return "no answer in time: " NET_HINT;
	case HF_SLOW:
		return "no answer, or one slower than " STR(JAUTH_HTTP_LOW_SPEED_BPS) " bytes/s for " STR(
			JAUTH_HTTP_LOW_SPEED_S) " s: check a proxy (https_proxy, no_proxy) or a firewall; if the server is overloaded, try again later";
	case HF_DROPPED:
		return "the connection dropped: try again later";
	case HF_TLS_TRUST:
		return "the server's TLS certificate is not trusted: if it "
		       "uses a private CA, set ca_file=PATH on the line; else "
		       "add its CA to the system store "
		       "(update-ca-certificates)";
	case HF_CA_FILE:
		return "the ca_file= cannot be read as PEM certificates: fix "
		       "the path or the file";
	case HF_TLS:
		return "the TLS handshake failed: check a proxy "
		       "(https_proxy) or the server's TLS setup";
	case HF_BODY_BIG:
		return "the answer is larger than 1 MiB: is the URL right?";
	case HF_HEADER_BIG:
		return "the server's header was too large (over 64 KiB): is "
		       "the URL right?";
	case HF_SCHEME:
		return "only https:// URLs are allowed";
	default:
		return "the request failed";
	}
}

/* The URL without its query nor a user:password@, for messages and
 * traces: jauth_error never shows a secret. */
static char *shown_url(const char *url)
{
	size_t n = strcspn(url, "?#");
	const char *host = strstr(url, "://");
	host = host && (size_t)(host - url) < n ? host + 3 : url;
	const char *at = memchr(host, '@', strcspn(host, "/?#"));
	if (!at)
		return xstrndup(url, n);
	return xasprintf("%.*s%.*s", (int)(host - url), url,
			 (int)(url + n - (at + 1)), at + 1);
}

/* At debug level: the answer's header lines, Set-Cookie values hidden
 * (everything else is masked by the handle's redactor, and its control
 * characters escaped by text_clean, as on every log line). */
static void trace_headers(struct jauth *h, const char *headers)
{
	for (const char *p = headers; p && *p;) {
		size_t n = strcspn(p, "\r\n");
		if (n && strncasecmp(p, "set-cookie:", 11) == 0)
			hlog(h, JAUTH_LOG_DEBUG, "< Set-Cookie: (hidden)");
		else if (n) {
			char *s = xstrndup(p, n);
			hlog(h, JAUTH_LOG_DEBUG, "< %s", s);
			free(s);
		}
		p += n;
		p += strspn(p, "\r\n");
	}
}

static void trace_request(const struct call *c, const char *url, int try,
			  int tries)
{
	hlog(c->h, JAUTH_LOG_DEBUG, "> %s %s%s (try %d of %d)", c->method, url,
	     strcspn(c->url, "?#") < strlen(c->url) ? "?…" : "", try, tries);
	if (c->auth)
		hlog(c->h, JAUTH_LOG_DEBUG, "> Authorization: %.*s (hidden)",
		     (int)strcspn(c->auth, " "), c->auth);
	if (c->json)
		hlog(c->h, JAUTH_LOG_DEBUG,
		     "> Content-Type: application/json (%zu bytes, hidden)",
		     strlen(c->json));
}

static void trace_answer(struct jauth *h, const struct http_try *t, long ms)
{
	if (t->fault == HF_NONE)
		hlog(h, JAUTH_LOG_DEBUG, "< HTTP %ld in %ld.%03ld s, %zu bytes",
		     t->status, ms / 1000, ms % 1000, t->len);
	else
		hlog(h, JAUTH_LOG_DEBUG, "< no answer after %ld.%03ld s: %s",
		     ms / 1000, ms % 1000, t->detail);
	trace_headers(h, t->headers);
}

static void outcome_take(struct outcome *o, struct http_try *t)
{
	secmem_free(o->body);
	o->status = t->status;
	o->body = t->body;
	o->len = t->len;
	o->retry_after = t->retry_after;
	o->date = t->date;
	o->uncertain |= t->uncertain;
	t->body = NULL;
	free(t->headers);
	t->headers = NULL;
}

/*
 * Makes the request C with retries inside the deadline. Returns
 * JAUTH_SUCCESS with *O filled when an answer arrived whose status is not
 * worth another try; otherwise the result, *O as far as it got and *MSG
 * ("METHOD URL: what: fix", malloc'd) — NULL for a 5xx/429 that outlasted
 * the tries, whose words the caller makes from the answer.
 */
/* A ca_file= as it was read, and the file it was read from: while the
 * path leads to that very file, unchanged (the same inode, size, owner,
 * mode, and times to the nanosecond: a write, a chmod or a rename sets
 * the change time), those bytes are still the bytes checked. A file
 * replaced or changed in any way is walked and checked again. */
struct ca_cache {
	char *path;
	struct buf pem;
	struct stat st;
};

void ca_cache_free(struct ca_cache *ca)
{
	if (!ca)
		return;
	free(ca->path);
	buf_wipe(&ca->pem);
	free(ca);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_uid == b->st_uid &&
	       a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads the ca_file= of C under the trust rules (jauth.conf(5), FILE
 * TRUST): a CA file another user can change could vouch for any server,
 * and the bytes checked are the bytes TLS uses. *PEM points into C's
 * cache, or into SPARE when C has none. -1 with *MSG. */
static int ca_load(const struct call *c, struct buf *spare,
		   const struct buf **pem, char **msg)
{
	char *why = NULL;
	struct stat now, st;
	struct ca_cache *k = c->ca ? *c->ca : NULL;
	*pem = spare;
	if (!c->ca_file)
		return 0;
	if (k && strcmp(k->path, c->ca_file) == 0 &&
	    stat(c->ca_file, &now) == 0 && same_file(&now, &k->st)) {
		*pem = &k->pem;
		return 0;
	}
	int fd = trust_open(c->ca_file, TRUST_CA, &st, &why);
	int rc = fd < 0 ? -1 : read_capped(fd, JAUTH_HTTP_MAX_BODY, spare);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		if (!why)
			why = xasprintf("CA file %s: %s", c->ca_file,
					errno == EFBIG ? "is too large"
						       : strerror(errno));
		*msg = xasprintf("ca_file= %s", why);
		free(why);
		buf_wipe(spare);
		return -1;
	}
	if (c->ca) {
		ca_cache_free(k);
		k = *c->ca = xcalloc(1, sizeof *k);
		k->path = xstrdup(c->ca_file);
		k->st = st;
		k->pem = *spare;
		memset(spare, 0, sizeof *spare);
		*pem = &k->pem;
	}
	return 0;
}

static jauth_result exchange(const struct call *c, struct outcome *o,
			     char **msg)
{
	memset(o, 0, sizeof *o);
	o->retry_after = -1;
	*msg = NULL;
	if (!c->url || strncmp(c->url, "https://", 8) != 0) {
		char *shown = c->url ? shown_url(c->url) : NULL;
		*msg = xasprintf("%s %s: only https:// URLs are allowed",
				 c->method, shown ? shown : "(no URL)");
		free(shown);
		return JAUTH_ERROR;
	}
	char *why;
	struct buf spare = { 0 };
	const struct buf *ca;
	if (ca_load(c, &spare, &ca, msg) < 0)
		return JAUTH_CONFIG;
	const struct http_iface *x = transfer(&why);
	if (!x) {
		*msg = xasprintf("%s %s: %s", c->method, c->url, why);
		free(why);
		buf_wipe(&spare);
		return JAUTH_ERROR;
	}
	char *url = shown_url(c->url);
	int tries = c->tries > 0 ? c->tries : JAUTH_HTTP_TRIES;
	int trace = c->h->log_level >= JAUTH_LOG_DEBUG;
	long start = now_ms(), deadline = start + JAUTH_HTTP_BUDGET_MS;
	struct http_try t = { .fault = HF_OTHER };
	for (int i = 1; i <= tries; i++) {
		if (i > 1) {
			long pause = backoff_ms(i - 1, o->retry_after);
			if (now_ms() + pause + 1000 > deadline)
				break; /* no time left for another try */
			sleep_ms(pause);
		}
		long left = deadline - now_ms(), begin = now_ms();
		t = (struct http_try){
			.url = c->url,
			.authorization = c->auth,
			.json = c->json,
			.ca_file = c->ca_file,
			.ca_pem = ca->s,
			.ca_len = ca->len,
			.user_agent = "jauth/" JAUTH_VERSION,
			.total_ms = left < JAUTH_HTTP_TRY_MS
					    ? left
					    : JAUTH_HTTP_TRY_MS,
			.low_speed_bps = JAUTH_HTTP_LOW_SPEED_BPS,
			.low_speed_s = JAUTH_HTTP_LOW_SPEED_S,
			.max_body = JAUTH_HTTP_MAX_BODY,
			.max_header = JAUTH_HTTP_MAX_HEADER,
			.trace = trace,
			.secure_alloc = secmem_alloc,
			.secure_free = secmem_free,
		};
		t.connect_ms = t.total_ms < JAUTH_HTTP_CONNECT_MS
				       ? t.total_ms
				       : JAUTH_HTTP_CONNECT_MS;
		if (trace)
			trace_request(c, url, i, tries);
		x->perform(c->conn, &t);
		if (trace)
			trace_answer(c->h, &t, now_ms() - begin);
		outcome_take(o, &t);
		if (t.fault == HF_NONE ? !status_retryable(t.status)
				       : !fault_retryable(t.fault))
			break;
		hlog(c->h, JAUTH_LOG_INFO, "%s %s: try %d of %d failed (%s)",
		     c->method, url, i, tries,
		     t.fault == HF_NONE ? "HTTP error" : t.detail);
	}
	o->seconds = (double)(now_ms() - start) / 1000.0;
	jauth_result rc = JAUTH_SUCCESS;
	if (t.fault != HF_NONE) {
		rc = fault_result(t.fault);
		*msg = t.fault == HF_OTHER
			       ? xasprintf("%s %s: %s: check the URL; run "
					   "with -vv to see the exchange",
					   c->method, url, t.detail)
			       : xasprintf("%s %s: %s", c->method, url,
					   fault_words(t.fault));
	} else if (status_retryable(o->status)) {
		rc = JAUTH_TRANSIENT;
	}
	free(url);
	buf_wipe(&spare);
	return rc;
}

/* ---- for modules ---- */

jauth_result jauth_m_http(jauth_m *m, const struct jauth_m_http_req *rq,
			  struct jauth_m_http_resp *rs)
{
	struct call c = {
		.h = m->h,
		.conn = &m->curl,
		.ca = &m->ca,
		.method = rq->method ? rq->method
			  : rq->json ? "POST"
				     : "GET",
		.url = rq->url,
		.auth = rq->authorization,
		.json = rq->json,
		.ca_file = rq->ca_file,
		.tries = rq->tries,
	};
	struct outcome o;
	char *msg;
	jauth_result rc = exchange(&c, &o, &msg);
	*rs = (struct jauth_m_http_resp){
		.status = o.status,
		.body = o.body,
		.len = o.len,
		.retry_after = o.retry_after,
		.uncertain = o.uncertain,
	};
	if (msg)
		jauth_m_fail(m, rc, "%s", msg);
	else if (rc != JAUTH_SUCCESS)
		jauth_m_http_fail(m, c.method, rq, rs);
	free(msg);
	return rc;
}

void jauth_m_http_free(struct jauth_m_http_resp *rs)
{
	secmem_free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}

/* The server's error and error_description (or message), if its body is
 * JSON that has them. */
static char *server_words(const char *body)
{
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *d =
		cJSON_GetObjectItemCaseSensitive(j, "error_description");
	if (!cJSON_IsString(d))
		d = cJSON_GetObjectItemCaseSensitive(j, "message");
	char *s = NULL;
	if (cJSON_IsString(e) && cJSON_IsString(d))
		s = xasprintf(": %s: %s", e->valuestring, d->valuestring);
	else if (cJSON_IsString(e) || cJSON_IsString(d))
		s = xasprintf(": %s", (cJSON_IsString(e) ? e : d)->valuestring);
	jauth_m_json_free(j);
	return s ? s : xstrdup("");
}

/* "HTTP 503 from URL: server words (try again later)", malloc'd. */
static char *status_words(long st, const char *raw_url, const char *body,
			  long retry_after)
{
	char *url = shown_url(raw_url), *words = server_words(body), *when;
	if (!status_retryable(st))
		when = xstrdup("");
	else if (retry_after > JAUTH_HTTP_BUDGET_MS / 1000)
		when = xasprintf(" (the server asks to wait %ld s, longer "
				 "than jauth waits: try again later)",
				 retry_after);
	else
		when = xstrdup(" (try again later)");
	char *s = xasprintf("HTTP %ld from %s%s%s", st, url, words, when);
	free(url);
	free(words);
	free(when);
	return s;
}

jauth_result jauth_m_http_fail(jauth_m *m, const char *what,
			       const struct jauth_m_http_req *rq,
			       const struct jauth_m_http_resp *rs)
{
	long st = rs->status;
	jauth_result rc = st == 401 || st == 403 ? JAUTH_DENIED
			  : status_retryable(st) ? JAUTH_TRANSIENT
						 : JAUTH_ERROR;
	char *words = status_words(st, rq->url, rs->body, rs->retry_after);
	jauth_m_fail(m, rc, "%s: %s", what, words);
	free(words);
	return rc;
}

/* ---- for the CLI ---- */

/* The ca_file= of line SOURCE in stack ST or its substacks, or NULL; 1 in
 * *found when the line exists. */
static const char *ca_file_of(const struct stack *st, const char *source,
			      int *found)
{
	for (size_t i = 0; i < st->n && !*found; i++) {
		const struct line *ln = st->lines[i];
		if (ln->sub) {
			const char *v = ca_file_of(ln->sub, source, found);
			if (*found)
				return v;
			continue;
		}
		if (strcmp(ln->source, source) != 0)
			continue;
		*found = 1;
		for (size_t k = 0; k < ln->nargs; k++)
			if (strcmp(ln->args[k].key, "ca_file") == 0)
				return ln->args[k].value;
	}
	return NULL;
}

/* Copies the ca_file= of SOURCE into *CA (NULL when none). -1 when the
 * handle has no such line. */
static int line_ca_file(struct jauth *h, const char *source, char **ca)
{
	*ca = NULL;
	if (!source)
		return 0;
	pthread_mutex_lock(&h->mu);
	struct stack *st = h->stack;
	int found = 0;
	if (st) {
		const char *v = ca_file_of(st, source, &found);
		*ca = v ? xstrdup(v) : NULL;
	}
	pthread_mutex_unlock(&h->mu);
	return found ? 0 : -1;
}

jauth_result jauth_http_get(jauth *h, const char *source, const char *url,
			    const char *auth, struct jauth_http_answer *a)
{
	if (!handle_and_out(h, a, "jauth_http_get", "the answer", "&answer"))
		return JAUTH_ERROR;
	memset(a, 0, sizeof *a);
	char *ca, *msg = NULL;
	if (line_ca_file(h, source, &ca) < 0) {
		handle_set_errorf(h,
				  "%s: no such line in the stack of %s: pass "
				  "a source jauth_cred_source gave",
				  source, h->service);
		return JAUTH_ERROR;
	}
	if (auth) { /* "Bearer X": X alone may be echoed too */
		redactor_add(&h->red, auth);
		if (strchr(auth, ' '))
			redactor_add(&h->red, strchr(auth, ' ') + 1);
	}
	void *conn = NULL;
	struct call c = { .h = h,
			  .conn = &conn,
			  .method = "GET",
			  .url = url,
			  .auth = auth,
			  .ca_file = ca };
	struct outcome o;
	jauth_result rc = exchange(&c, &o, &msg);
	http_close(conn);
	*a = (struct jauth_http_answer){ .status = o.status,
					 .body = o.body,
					 .len = o.len,
					 .date = o.date,
					 .seconds = o.seconds };
	if (rc != JAUTH_SUCCESS && !msg) {
		char *words =
			status_words(o.status, url, o.body, o.retry_after);
		msg = xasprintf("GET %s", words);
		free(words);
	}
	if (msg)
		handle_set_errorf(h, "%s: %s", source ? source : h->service,
				  msg);
	free(msg);
	free(ca);
	return rc;
}

void jauth_http_answer_free(struct jauth_http_answer *a)
{
	if (!a)
		return;
	secmem_free(a->body);
	memset(a, 0, sizeof *a);
}
