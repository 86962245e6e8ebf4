/* m_secret.c — resolving secret references (@env:, @file:, inline) into
 * buffers that are wiped when freed and masked in every log line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SECRET_MAX (64 * 1024)

struct jauth_m_secret {
	size_t len;
	char *s;
};

static jauth_m_secret *secret_new(jauth_m *m, const char *s, size_t len)
{
	jauth_m_secret *sec = xmalloc(sizeof *sec);
	sec->s = xstrndup(s, len);
	sec->len = strlen(sec->s);
	redactor_add(&m->h->red, sec->s);
	return sec;
}

/* Reads secret file PATH for argument KEY. */
static jauth_result secret_file(jauth_m *m, const char *key, const char *path,
				jauth_m_secret **out)
{
	char *why = NULL;
	struct stat st;
	int fd = trust_open(path, TRUST_SECRET, &st, &why);
	if (fd < 0 && errno == ENOENT) {
		free(why);
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "secret file %s (%s=) does not exist: "
				    "create it, mode 0600",
				    path, key);
	}
	if (fd < 0) {
		jauth_m_fail(m, JAUTH_ERROR, "%s= %s", key, why);
		free(why);
		return JAUTH_ERROR;
	}
	struct buf b = { 0 };
	int rc = read_capped(fd, SECRET_MAX, &b);
	close(fd);
	size_t len = b.len;
	if (rc < 0) {
		buf_wipe(&b);
		return jauth_m_fail(m, JAUTH_ERROR, "secret file %s (%s=): %s",
				    path, key,
				    errno == EFBIG ? "larger than 64 KiB: it "
						     "holds something else"
						   : strerror(errno));
	}
	if (len > 0 && b.s[len - 1] == '\n')
		len--;
	if (len > 0 && b.s[len - 1] == '\r')
		len--;
	if (len == 0 || memchr(b.s, '\0', len)) {
		buf_wipe(&b);
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "secret file %s (%s=) is %s: put the "
				    "secret in it",
				    path, key, len ? "binary" : "empty");
	}
	*out = secret_new(m, b.s, len);
	buf_wipe(&b);
	return JAUTH_SUCCESS;
}

jauth_result jauth_m_secret_get(jauth_m *m, const char *key,
				jauth_m_secret **out)
{
	const char *v = jauth_m_arg(m, key);
	*out = NULL;
	if (!v)
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "no %s= on the line: add it", key);
	if (strncmp(v, "@env:", 5) == 0) {
		const char *e = secure_getenv(v + 5);
		if (!e || !*e)
			return jauth_m_fail(
				m, JAUTH_UNAVAILABLE,
				"environment variable %s (%s=) is "
				"not set: set it in the connector's "
				"environment",
				v + 5, key);
		*out = secret_new(m, e, strlen(e));
		return JAUTH_SUCCESS;
	}
	if (strncmp(v, "@file:", 6) == 0)
		return secret_file(m, key, v + 6, out);
	*out = secret_new(m, v, strlen(v));
	return JAUTH_SUCCESS;
}

const char *jauth_m_secret_origin(jauth_m *m, const char *key)
{
	const char *v = jauth_m_arg(m, key);
	static __thread char buf[512];
	if (v && strncmp(v, "@env:", 5) == 0)
		snprintf(buf, sizeof buf, "environment variable %s", v + 5);
	else if (v && strncmp(v, "@file:", 6) == 0)
		snprintf(buf, sizeof buf, "file %s", v + 6);
	else
		snprintf(buf, sizeof buf, "the stack line %s", m->line->source);
	return buf;
}

const char *jauth_m_secret_str(const jauth_m_secret *s)
{
	return s->s;
}

size_t jauth_m_secret_len(const jauth_m_secret *s)
{
	return s->len;
}

int jauth_m_secret_eq(const jauth_m_secret *a, const jauth_m_secret *b)
{
	if (!a || !b || a->len != b->len)
		return 0;
	unsigned char d = 0;
	for (size_t i = 0; i < a->len; i++)
		d |= (unsigned char)(a->s[i] ^ b->s[i]);
	return d == 0;
}

void jauth_m_secret_free(jauth_m_secret *s)
{
	if (!s)
		return;
	explicit_bzero(s->s, s->len);
	free(s->s);
	free(s);
}
