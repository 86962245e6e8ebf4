/* m_url.c — building a URL with a query, and finding one parameter of a
 * callback URL (libcurl does the encoding both ways). */
#include <string.h>

#include <curl/curl.h>

#include "internal.h"

char *jauth_m_url_query(const char *base, const char *const *pairs)
{
	struct buf b = { 0 };
	buf_puts(&b, base);
	char sep = strchr(base, '?') ? '&' : '?';
	for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
		char *k = curl_easy_escape(NULL, pairs[i], 0);
		char *v = curl_easy_escape(NULL, pairs[i + 1], 0);
		if (!k || !v) {
			curl_free(k);
			curl_free(v);
			buf_wipe(&b);
			return NULL;
		}
		buf_printf(&b, "%c%s=%s", sep, k, v);
		sep = '&';
		curl_free(k);
		curl_free(v);
	}
	return buf_take(&b);
}

/* The query part of URL: after '?' for a URL, the whole of a bare query;
 * a fragment is cut off. */
static char *query_of(const char *url)
{
	const char *q = strchr(url, '?');
	q = q ? q + 1 : strstr(url, "://") ? url + strlen(url) : url;
	return xstrndup(q, strcspn(q, "#"));
}

/* Decodes one query component: '+' is a blank, %XX a byte. */
static char *decode(const char *s, size_t n)
{
	char *copy = xstrndup(s, n);
	for (char *p = copy; *p; p++)
		if (*p == '+')
			*p = ' ';
	int len = 0;
	char *d = curl_easy_unescape(NULL, copy, 0, &len);
	wipe_free(copy);
	if (!d)
		return NULL;
	char *out = xstrndup(d, (size_t)len);
	explicit_bzero(d, (size_t)len);
	curl_free(d);
	if (strlen(out) != (size_t)len) { /* %00 inside */
		wipe_free(out);
		return NULL;
	}
	return out;
}

jauth_result jauth_m_url_param(const char *url, const char *key, char **value)
{
	char *q = query_of(url), *found = NULL;
	size_t kn = strlen(key);
	int count = 0;
	for (char *p = q; *p;) {
		size_t n = strcspn(p, "&;");
		if (n > kn && strncmp(p, key, kn) == 0 && p[kn] == '=') {
			if (++count == 1)
				found = decode(p + kn + 1, n - kn - 1);
		} else if (n == kn && strncmp(p, key, kn) == 0) {
			count++;
		}
		p += n;
		if (*p)
			p++;
	}
	wipe_free(q);
	*value = NULL;
	if (count > 1 || (count == 1 && !found)) {
		wipe_free(found);
		return JAUTH_ERROR;
	}
	if (count == 0)
		return JAUTH_UNAVAILABLE;
	*value = found;
	return JAUTH_SUCCESS;
}
