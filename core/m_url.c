/* m_url.c — building a URL with a query, and finding one parameter of a
 * callback URL (RFC 3986 percent-encoding both ways; by hand, so that no
 * caller loads the HTTP stack for it). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Appends S percent-encoded: everything but the unreserved characters. */
static void escape_to(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p && strchr(ALNUM "-._~", *p)) {
			buf_add(b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 3);
		}
	}
}

static int hex_value(char c)
{
	const char *digits = "0123456789abcdef";
	const char *p = c ? strchr(digits, c | 0x20) : NULL;
	return p ? (int)(p - digits) : -1;
}

/* Decodes %XX in place; returns the new length (a %00 makes a NUL). */
static size_t unescape(char *s)
{
	char *out = s;
	for (const char *p = s; *p; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hex_value(p[1])) >= 0 &&
		    (lo = hex_value(p[2])) >= 0) {
			*out++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*out++ = *p;
		}
	}
	size_t n = (size_t)(out - s);
	explicit_bzero(out, strlen(out));
	return n;
}

char *jauth_m_url_query(const char *base, const char *const *pairs)
{
	struct buf b = { 0 };
	buf_puts(&b, base);
	char sep = strchr(base, '?') ? '&' : '?';
	for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
		buf_add(&b, &sep, 1);
		escape_to(&b, pairs[i]);
		buf_add(&b, "=", 1);
		escape_to(&b, pairs[i + 1]);
		sep = '&';
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
	size_t len = unescape(copy);
	if (strlen(copy) != len) { /* %00 inside */
		explicit_bzero(copy, len);
		free(copy);
		return NULL;
	}
	return copy;
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
