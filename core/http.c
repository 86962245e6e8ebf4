/*
 * http.c — HTTPS for modules, on libcurl: https only, verification always
 * on, timeouts, a 1 MiB answer cap, no redirects, retries with backoff that
 * honour Retry-After, and errors in words. One connection per module
 * instance is kept and reused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "internal.h"

#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_TRIES 4
#define HTTP_CONNECT_MS 10000L
#define HTTP_TOTAL_MS 30000L
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 8000
#define RETRY_AFTER_MAX 30

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
	pthread_once(&global_once, global_init);
}

void http_close(void *curl)
{
	if (curl)
		curl_easy_cleanup(curl);
}

/* One attempt's answer as it arrives. */
struct answer {
	struct buf body;
	int too_big;
	long retry_after;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;
	if (a->body.len + len > HTTP_MAX_BODY) {
		a->too_big = 1;
		return 0;
	}
	buf_add(&a->body, data, len);
	return len;
}

/* Retry-After is seconds or an HTTP date. */
static long parse_retry_after(const char *v)
{
	char *end;
	long s = strtol(v, &end, 10);
	if (end != v && (*end == '\0' || *end == '\r' || *end == '\n'))
		return s < 0 ? 0 : s;
	time_t t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	time_t now = time(NULL);
	return t > now ? (long)(t - now) : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;
	static const char key[] = "retry-after:";
	if (len > sizeof key && strncasecmp(data, key, sizeof key - 1) == 0) {
		char *v = xstrndup(data + sizeof key - 1, len - sizeof key + 1);
		a->retry_after = parse_retry_after(v + strspn(v, " \t"));
		free(v);
	}
	return len;
}

/* Frees a header list, wiping it: it may hold an Authorization value. */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

static struct curl_slist *headers_for(const struct jauth_m_http_req *rq)
{
	struct curl_slist *h =
		curl_slist_append(NULL, "Accept: application/json");
	if (rq->json)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (rq->authorization) {
		char *v = xasprintf("Authorization: %s", rq->authorization);
		h = curl_slist_append(h, v);
		wipe_free(v);
	}
	return h;
}

static void set_options(CURL *c, const struct jauth_m_http_req *rq,
			struct curl_slist *hdr, struct answer *a, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (rq->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTP_TOTAL_MS);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)HTTP_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jauth/" JAUTH_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (rq->json) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(rq->json));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
}

/* 1 when the failure CC is worth another try. */
static int cc_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* 1 when the failure CC may have come after the server got the request. */
static int cc_uncertain(CURLcode cc)
{
	return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
	       cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE;
}

static int status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/* What failed, in words, for the transfer error CC. */
static char *cc_words(CURLcode cc, const char *host_url, const char *errbuf,
		      const struct answer *a)
{
	const char *what;
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "cannot resolve the host name (DNS)";
		break;
	case CURLE_COULDNT_CONNECT:
		what = "cannot connect";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		what = "the server's TLS certificate is not trusted (set "
		       "ca_file= if it uses a private CA)";
		break;
	case CURLE_SSL_CACERT_BADFILE:
		what = "the ca_file cannot be read as certificates";
		break;
	case CURLE_SSL_CONNECT_ERROR:
		what = "the TLS handshake failed";
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		what = "the connection dropped";
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		what = "only https:// URLs are allowed";
		break;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		what = a->too_big || cc == CURLE_FILESIZE_EXCEEDED
			       ? "the answer is larger than 1 MiB"
			       : "the answer could not be stored";
		break;
	default:
		what = curl_easy_strerror(cc);
	}
	return *errbuf ? xasprintf("%s: %s (%s)", host_url, what, errbuf)
		       : xasprintf("%s: %s", host_url, what);
}

/* Sleeps before try number TRY (1-based), honouring RETRY_AFTER. */
static void backoff(int try, long retry_after)
{
	long ms = BACKOFF_FIRST_MS << (try - 1);
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	unsigned short jitter = 0;
	(void)!getrandom(&jitter, sizeof jitter, GRND_NONBLOCK);
	ms = ms / 2 + (long)(jitter % (unsigned)(ms / 2 + 1));
	if (retry_after >= 0)
		ms = (retry_after > RETRY_AFTER_MAX ? RETRY_AFTER_MAX
						    : retry_after) *
		     1000L;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One attempt. Fills RS from the answer; returns libcurl's code. */
static CURLcode attempt(CURL *c, const struct jauth_m_http_req *rq,
			struct jauth_m_http_resp *rs, char *errbuf,
			struct answer *a)
{
	struct curl_slist *hdr = headers_for(rq);
	curl_easy_reset(c);
	errbuf[0] = '\0';
	buf_wipe(&a->body);
	a->too_big = 0;
	a->retry_after = -1;
	set_options(c, rq, hdr, a, errbuf);
	CURLcode cc = curl_easy_perform(c);
	headers_free(hdr);
	jauth_m_http_free(rs);
	rs->status = 0;
	rs->retry_after = a->retry_after;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	rs->len = a->body.len;
	rs->body = buf_take(&a->body);
	return cc;
}

/* The URL without its query, for messages. */
static char *shown_url(const char *url)
{
	return xstrndup(url, strcspn(url, "?#"));
}

jauth_result jauth_m_http(jauth_m *m, const struct jauth_m_http_req *rq,
			  struct jauth_m_http_resp *rs)
{
	memset(rs, 0, sizeof *rs);
	rs->retry_after = -1;
	if (!rq->url || strncmp(rq->url, "https://", 8) != 0)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s: only https:// URLs are allowed",
				    rq->url ? rq->url : "(no URL)");
	/* libcurl (and OpenSSL under it) is set up on the first request, not
	 * at open: most opens never need the network. */
	http_global_init();
	if (!m->curl && !(m->curl = curl_easy_init()))
		return jauth_m_fail(m, JAUTH_ERROR, "cannot start libcurl");
	char errbuf[CURL_ERROR_SIZE], *url = shown_url(rq->url);
	struct answer a = { .retry_after = -1 };
	int tries = rq->tries > 0 ? rq->tries : HTTP_TRIES, uncertain = 0;
	CURLcode cc = CURLE_OK;
	for (int i = 1; i <= tries; i++) {
		if (i > 1)
			backoff(i - 1, rs->retry_after);
		cc = attempt(m->curl, rq, rs, errbuf, &a);
		uncertain |= cc_uncertain(cc);
		if (cc == CURLE_OK ? !status_retryable(rs->status)
				   : !cc_retryable(cc))
			break;
		jauth_m_log(m, JAUTH_LOG_INFO,
			    "%s %s: try %d of %d failed (%s)", rq->method, url,
			    i, tries,
			    cc ? curl_easy_strerror(cc) : "HTTP error");
	}
	buf_wipe(&a.body);
	rs->uncertain = uncertain;
	if (cc)
		jauth_m_log(m, JAUTH_LOG_DEBUG, "%s %s: %s", rq->method, url,
			    curl_easy_strerror(cc));
	else
		jauth_m_log(m, JAUTH_LOG_DEBUG, "%s %s: HTTP %ld, %zu bytes",
			    rq->method, url, rs->status, rs->len);
	jauth_result rc = JAUTH_SUCCESS;
	if (cc != CURLE_OK) {
		char *words = cc_words(cc, url, errbuf, &a);
		rc = jauth_m_fail(m,
				  cc_retryable(cc) ? JAUTH_TRANSIENT
						   : JAUTH_ERROR,
				  "%s %s", rq->method, words);
		free(words);
	} else if (status_retryable(rs->status)) {
		rc = jauth_m_http_fail(m, rq->method, rq, rs);
	}
	free(url);
	return rc;
}

void jauth_m_http_free(struct jauth_m_http_resp *rs)
{
	if (rs->body) {
		explicit_bzero(rs->body, rs->len);
		free(rs->body);
	}
	rs->body = NULL;
	rs->len = 0;
}

/* The server's error and error_description (or message), if its body is
 * JSON that has them. */
static char *server_words(const struct jauth_m_http_resp *rs)
{
	cJSON *j = rs->body ? cJSON_Parse(rs->body) : NULL;
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

jauth_result jauth_m_http_fail(jauth_m *m, const char *what,
			       const struct jauth_m_http_req *rq,
			       const struct jauth_m_http_resp *rs)
{
	long st = rs->status;
	jauth_result rc = st == 401 || st == 403 ? JAUTH_DENIED
			  : status_retryable(st) ? JAUTH_TRANSIENT
						 : JAUTH_ERROR;
	char *url = shown_url(rq->url), *words = server_words(rs);
	jauth_m_fail(m, rc, "%s: HTTP %ld from %s%s%s", what, st, url, words,
		     rc == JAUTH_TRANSIENT ? " (try again later)" : "");
	free(url);
	free(words);
	return rc;
}
