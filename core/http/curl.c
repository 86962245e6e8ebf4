/*
 * curl.c — http.so, libjauth's private HTTPS transfer on libcurl (see
 * iface.h). One call makes one transfer with the caller's limits: https
 * only, verification always on, TLS 1.2 or newer, no redirects, no
 * signals, caps on header and body, a low-speed limit. Retries, messages
 * and traces are the caller's (core/http.c): this file only says what
 * happened.
 *
 * It links libcurl (and libssl, for one option of OpenSSL's) and nothing
 * of libjauth, and exports one symbol.
 *
 * What it does for the secrets that pass through it (a token endpoint's
 * answer, a request body with a client secret and a refresh token, an
 * Authorization header):
 *  - the body is collected in libjauth's memory for secrets (left out of
 *    core dumps), never on the heap;
 *  - the bytes libcurl hands the body and header callbacks are wiped once
 *    copied: they are libcurl's own receive buffer (the easy handle's
 *    download buffer, a header line's buffer), which it does not read
 *    again and would otherwise keep until the next transfer;
 *  - with OpenSSL, SSL_OP_CLEANSE_PLAINTEXT makes it wipe each decrypted
 *    record once read, instead of keeping the last one;
 *  - HTTP/1.1 only: HTTP/2 would copy every answer through nghttp2's
 *    and libcurl's stream buffers, and jauth multiplexes nothing;
 *  - the request body is handed to libcurl without a copy of ours and
 *    each header line is wiped before it is freed.
 * What libcurl copies itself (the request it builds, with a small body
 * appended, in a heap buffer it frees without wiping) is beyond reach:
 * README, "Secrets and core files".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "iface.h"

#define EXPORT __attribute__((visibility("default")))

/* A growable byte string whose old storage is wiped (a body may hold a
 * token); in the memory of ALLOC and FREE (NULL: malloc's). */
struct bytes {
	char *s;
	size_t len, cap;
	void *(*alloc)(size_t n);
	void (*free)(void *p);
};

static void bytes_release(struct bytes *b, char *s, size_t cap)
{
	if (b->free) {
		b->free(s); /* wipes */
		return;
	}
	explicit_bzero(s, cap);
	free(s);
}

static int bytes_add(struct bytes *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *t = b->alloc ? b->alloc(cap) : malloc(cap);
		if (!t)
			return -1;
		if (b->s) {
			memcpy(t, b->s, b->len);
			bytes_release(b, b->s, b->cap);
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static void bytes_wipe(struct bytes *b)
{
	if (b->s)
		bytes_release(b, b->s, b->cap);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* A transfer as it goes. */
struct xfer {
	struct http_try *t;
	struct bytes body, headers;
	size_t header_bytes, header_lines;
	int body_big, header_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	if (x->body.len + len > x->t->max_body) {
		x->body_big = 1;
		return 0;
	}
	if (bytes_add(&x->body, data, len) < 0)
		return 0;
	explicit_bzero(data, len); /* libcurl's receive buffer: see above */
	return len;
}

/* The value of header line DATA (LEN bytes) if its name is KEY, trimmed;
 * malloc'd, or NULL. */
static char *header_value(const char *data, size_t len, const char *key)
{
	size_t k = strlen(key);
	if (len <= k || strncasecmp(data, key, k) != 0 || data[k] != ':')
		return NULL;
	const char *v = data + k + 1, *end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return strndup(v, (size_t)(end - v));
}

/* Retry-After is seconds or an HTTP date; -1 when neither. */
static long parse_retry_after(const char *v)
{
	char *end;
	long s = strtol(v, &end, 10);
	if (end != v && *end == '\0')
		return s < 0 ? 0 : s;
	time_t t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	time_t now = time(NULL);
	return t > now ? (long)(t - now) : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	x->header_bytes += len;
	x->header_lines++;
	if (x->header_bytes > x->t->max_header) {
		x->header_big = 1;
		return 0;
	}
	char *v;
	if ((v = header_value(data, len, "retry-after"))) {
		x->t->retry_after = parse_retry_after(v);
		free(v);
	} else if ((v = header_value(data, len, "date"))) {
		time_t d = curl_getdate(v, NULL);
		x->t->date = d > 0 ? d : 0;
		free(v);
	}
	if (x->t->trace && len > 2 && bytes_add(&x->headers, data, len) < 0)
		return 0;
	explicit_bzero(data, len); /* parsed already; see above */
	return len;
}

/* Frees a header list, wiping it: it may hold an Authorization value. */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

static struct curl_slist *headers_for(const struct http_try *t)
{
	struct curl_slist *h =
		curl_slist_append(NULL, "Accept: application/json");
	if (t->json)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (t->authorization) {
		size_t n = strlen(t->authorization) + 16;
		char *v = t->secure_alloc(n);
		if (v) {
			snprintf(v, n, "Authorization: %s", t->authorization);
			h = curl_slist_append(h, v); /* libcurl's own copy */
			t->secure_free(v);
		}
	}
	return h;
}

/* 1 when libcurl runs on OpenSSL, whose SSL_CTX the callback below gets
 * (another backend would hand it something else). */
static int openssl;
static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;

static void find_backend(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	openssl = v && v->ssl_version &&
		  strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static int backend_openssl(void)
{
	pthread_once(&openssl_once, find_backend);
	return openssl;
}

static CURLcode on_ssl_ctx(CURL *c, void *ctx, void *arg)
{
	(void)c;
	(void)arg;
#ifdef SSL_OP_CLEANSE_PLAINTEXT
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
#else
	(void)ctx;
#endif
	return CURLE_OK;
}

static void set_options(CURL *c, struct xfer *x, struct curl_slist *hdr)
{
	const struct http_try *t = x->t;
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (backend_openssl())
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	if (t->ca_pem) {
		struct curl_blob ca = { (void *)t->ca_pem, t->ca_len,
					CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	} else if (t->ca_file) {
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->total_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, t->low_speed_bps);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t->low_speed_s);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, t->user_agent);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->detail);
	if (t->json) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(t->json));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
}

/* What libcurl's code CC (with the transfer's flags) means. */
static enum http_fault fault_of(CURLcode cc, const struct xfer *x)
{
	if (x->header_big)
		return HF_HEADER_BIG;
	if (x->body_big)
		return HF_BODY_BIG;
	switch (cc) {
	case CURLE_OK:
		return HF_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HF_DNS;
	case CURLE_COULDNT_CONNECT:
		return HF_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return strstr(x->t->detail, "too slow") ? HF_SLOW : HF_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return HF_DROPPED;
	case CURLE_PEER_FAILED_VERIFICATION:
		return HF_TLS_TRUST;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return HF_CA_FILE;
	case CURLE_SSL_CONNECT_ERROR:
		return HF_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return HF_BODY_BIG;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return HF_SCHEME;
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE:
		return HF_HEADER_BIG;
#endif
	case CURLE_OUT_OF_MEMORY:
		/* What libcurl 7.x says when one header line exceeds its own
		 * cap (100 KiB): after the status line, before the body. */
		return x->header_lines > 0 && x->body.len == 0 ? HF_HEADER_BIG
							       : HF_OTHER;
	default:
		return HF_OTHER;
	}
}

/* 1 when the failure CC may have come after the server got the request. */
static int cc_uncertain(CURLcode cc)
{
	return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
	       cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void perform(void **conn, struct http_try *t)
{
	struct xfer x = { .t = t };
	x.body.alloc = t->secure_alloc;
	x.body.free = t->secure_free;
	t->fault = HF_OTHER;
	t->uncertain = 0;
	t->status = 0;
	t->body = t->headers = NULL;
	t->len = 0;
	t->retry_after = -1;
	t->date = 0;
	t->detail[0] = '\0';
	pthread_once(&global_once, global_init);
	if (!*conn)
		*conn = curl_easy_init();
	CURL *c = *conn;
	if (c) {
		struct curl_slist *hdr = headers_for(t);
		curl_easy_reset(c);
		set_options(c, &x, hdr);
		CURLcode cc = curl_easy_perform(c);
		headers_free(hdr);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
					  &t->status);
		if (!t->detail[0] && cc != CURLE_OK)
			snprintf(t->detail, sizeof t->detail, "%s",
				 curl_easy_strerror(cc));
		t->fault = fault_of(cc, &x);
		t->uncertain = cc_uncertain(cc);
	} else {
		snprintf(t->detail, sizeof t->detail, "cannot start libcurl");
	}
	if (t->fault != HF_NONE) {
		bytes_wipe(&x.body);
		t->status = 0;
	}
	t->len = x.body.len;
	if (!x.body.s && (x.body.s = t->secure_alloc(1)))
		x.body.s[0] = '\0';
	t->body = x.body.s;
	t->headers = x.headers.s;
}

static void conn_close(void *conn)
{
	if (conn)
		curl_easy_cleanup(conn);
}

static const struct http_iface iface = {
	.version = JAUTH_HTTP_IFACE_VERSION,
	.size = sizeof(struct http_try),
	.perform = perform,
	.close = conn_close,
};

EXPORT const struct http_iface *jauth_http_iface_v1(void)
{
	return &iface;
}
