/* m_misc.c — base64, base64url, random hex, text cleaning and the cloud id
 * check for modules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "internal.h"

/* Writes the base64 of DATA and a NUL into OUT (4 * ((LEN + 2) / 3) + 1
 * bytes). */
static void base64_into(char *out, const void *data, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = data;
	char *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 |
			     s[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)s[i] << 16 |
			     (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0);
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
}

char *jauth_m_base64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		base64_into(out, data, len);
	return out;
}

char *jauth_m_secure_base64(const void *data, size_t len)
{
	char *out = secmem_alloc(4 * ((len + 2) / 3) + 1);
	base64_into(out, data, len);
	return out;
}

/* The value of base64url digit C, or -1. */
static int b64url_digit(char c)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = c ? strchr(tab, c) : NULL;
	return p ? (int)(p - tab) : -1;
}

void *jauth_m_base64url_decode(const char *text, size_t *len)
{
	size_t all = strlen(text), n = all;
	while (n > 0 && text[n - 1] == '=' && all - n < 2)
		n--;
	/* Unpadded, or padded to whole groups of four; never one digit
	 * alone. */
	if (n % 4 == 1 || (n != all && all % 4 != 0))
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 3), *o = out;
	if (!out)
		return NULL;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int d = b64url_digit(text[i]);
		if (d < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6 | (unsigned)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (unsigned char)(acc >> bits);
		}
	}
	*o = '\0';
	if (len)
		*len = (size_t)(o - out);
	return out;
}

jauth_result jauth_m_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	if (nbytes > sizeof b)
		return JAUTH_ERROR;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(b + got, nbytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return JAUTH_ERROR;
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(b, sizeof b);
	return JAUTH_SUCCESS;
}

char *jauth_m_clean(jauth_m *m, const char *s)
{
	return redact(m ? &m->h->red : NULL, s ? s : "");
}

int jauth_m_cloud_id_ok(const char *s)
{
	return s && chars_ok(s, strlen(s), 64, ALNUM "-");
}
