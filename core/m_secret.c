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

/* Reads PATH (argument KEY) under the trust rules KIND into B: at most
 * SECRET_MAX bytes. A missing or empty file is unavailable, an untrusted
 * one an error, each with its message; B is the caller's to wipe. */
static jauth_result read_trusted(jauth_m *m, const char *key, const char *path,
				 enum trust_kind kind, struct buf *b)
{
	char *why = NULL;
	struct stat st;
	const char *what = kind == TRUST_SECRET ? "secret file" : "file";
	int fd = trust_open(path, kind, &st, &why);
	if (fd < 0 && errno == ENOENT) {
		free(why);
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "%s %s (%s=) does not exist: create it%s",
				    what, path, key,
				    kind == TRUST_SECRET ? ", mode 0600" : "");
	}
	if (fd < 0) {
		jauth_m_fail(m, JAUTH_ERROR, "%s= %s", key, why);
		free(why);
		return JAUTH_ERROR;
	}
	int rc = read_capped(fd, SECRET_MAX, b);
	close(fd);
	if (rc < 0)
		return jauth_m_fail(m, JAUTH_ERROR, "%s %s (%s=): %s", what,
				    path, key,
				    errno == EFBIG ? "larger than 64 KiB: it "
						     "holds something else"
						   : strerror(errno));
	if (b->len == 0)
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "%s %s (%s=) is empty: put %s in it", what,
				    path, key,
				    kind == TRUST_SECRET ? "the secret"
							 : "its contents");
	return JAUTH_SUCCESS;
}

/* Reads secret file PATH for argument KEY. */
static jauth_result secret_file(jauth_m *m, const char *key, const char *path,
				jauth_m_secret **out)
{
	struct buf b = { 0 };
	jauth_result rc = read_trusted(m, key, path, TRUST_SECRET, &b);
	size_t len = b.len;
	if (len > 0 && b.s[len - 1] == '\n')
		len--;
	if (len > 0 && b.s[len - 1] == '\r')
		len--;
	if (rc == JAUTH_SUCCESS && (len == 0 || memchr(b.s, '\0', len)))
		rc = jauth_m_fail(m, JAUTH_UNAVAILABLE,
				  "secret file %s (%s=) is %s: put the "
				  "secret in it",
				  path, key, len ? "binary" : "empty");
	if (rc == JAUTH_SUCCESS)
		*out = secret_new(m, b.s, len);
	buf_wipe(&b);
	return rc;
}

jauth_result jauth_m_file_read(jauth_m *m, const char *key,
			       jauth_m_secret **out)
{
	const struct jauth_arg_spec *s = arg_spec(m, key);
	const char *path = jauth_m_arg(m, key);
	*out = NULL;
	if (!s || s->type != JAUTH_ARG_FILE || !path)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s= is not a file argument given on the "
				    "line (the module asked for it)",
				    key);
	struct buf b = { 0 };
	jauth_result rc = read_trusted(m, key, path, arg_file_kind(s), &b);
	if (rc == JAUTH_SUCCESS) {
		jauth_m_secret *sec = xmalloc(sizeof *sec);
		sec->s = xmalloc(b.len + 1);
		memcpy(sec->s, b.s, b.len);
		sec->s[b.len] = '\0';
		sec->len = b.len;
		if (s->flags & JAUTH_ARG_PRIVATE)
			redactor_add(&m->h->red, sec->s);
		*out = sec;
	}
	buf_wipe(&b);
	return rc;
}

jauth_result jauth_m_secret_get(jauth_m *m, const char *key,
				jauth_m_secret **out)
{
	return secret_of(m, key, jauth_m_arg(m, key), out);
}

jauth_result secret_of(jauth_m *m, const char *key, const char *v,
		       jauth_m_secret **out)
{
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
