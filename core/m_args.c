/* m_args.c — a module's arguments: checked once against its table at open,
 * then read with typed getters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const struct jauth_arg_spec *arg_spec(jauth_m *m, const char *key)
{
	for (const struct jauth_arg_spec *s = m->spec; s && s->key; s++)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static const struct arg *arg_of(jauth_m *m, const char *key)
{
	for (size_t i = 0; i < m->line->nargs; i++)
		if (strcmp(m->line->args[i].key, key) == 0)
			return &m->line->args[i];
	return NULL;
}

/* "site, email, token, …" for messages. */
static char *valid_keys(const struct jauth_arg_spec *spec)
{
	struct buf b = { 0 };
	for (const struct jauth_arg_spec *s = spec; s->key; s++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", s->key);
	return buf_take(&b);
}

/* 1 when the N bytes of HOST are a host name, an IPv4 address or a
 * bracketed IPv6 address. */
static int host_ok(const char *host, size_t n)
{
	if (n >= 2 && host[0] == '[')
		return host[n - 1] == ']' &&
		       chars_ok(host + 1, n - 2, 64,
				"0123456789abcdefABCDEF:.");
	return chars_ok(host, n, 253, ALNUM "-._~");
}

/* 1 when the N bytes of PORT are a port number, 1 to 65535. */
static int port_ok(const char *port, size_t n)
{
	if (!chars_ok(port, n, 5, DIGITS))
		return 0;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

/* NULL when TEXT is an https URL with a host, no userinfo, no fragment.
 * (Checked by hand, not with libcurl's parser: opening a stack must not
 * load the HTTP stack.) */
static const char *url_problem(const char *text)
{
	if (strncmp(text, "https://", 8) != 0)
		return "is not an https:// URL: write https://HOST/… (jauth "
		       "never sends credentials in clear)";
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "is not a valid URL: write https://HOST[:PORT]/…";
	const char *auth = text + 8;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	const char *host = at ? at + 1 : auth;
	size_t hlen = alen - (size_t)(host - auth);
	const char *close = memrchr(host, ']', hlen);
	const char *colon =
		memrchr(close ? close : host, ':',
			hlen - (size_t)((close ? close : host) - host));
	size_t name = colon ? (size_t)(colon - host) : hlen;
	if (!host_ok(host, name) ||
	    (colon && !port_ok(colon + 1, hlen - name - 1)))
		return "is not a valid URL: write https://HOST[:PORT]/…";
	if (at)
		return "must not carry a user name or password: give them as "
		       "arguments";
	if (strchr(text, '#'))
		return "must not have a #fragment: remove it";
	if (strchr(text, '?'))
		return "must not have a ?query: remove it";
	return NULL;
}

/* Parses YYYY-MM-DD of a real calendar day into its UTC midnight. */
static int parse_date(const char *s, time_t *out)
{
	int y, mo, d;
	char tail;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3)
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1)
		return -1;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] + (mo == 2 && leap))
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d };
	*out = timegm(&tm);
	return 0;
}

static int parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int env_name_ok(const char *s)
{
	return !strchr(DIGITS, *s) && chars_ok(s, strlen(s), 255, ALNUM "_");
}

/* Why the secret argument V is refused (malloc'd), or NULL: a reference
 * jauth does not know, a @file: that exists but is not safely owned, an
 * inline value others can read. */
static char *secret_problem(jauth_m *m, const char *v)
{
	char *why = NULL;
	if (strncmp(v, "@env:", 5) == 0)
		return env_name_ok(v + 5)
			       ? NULL
			       : xstrdup("@env: needs a variable name: write "
					 "@env:NAME (letters, digits, _)");
	if (strncmp(v, "@file:", 6) == 0) {
		if (v[6] != '/')
			return xstrdup("@file: needs an absolute path: write "
				       "@file:/PATH");
		struct stat st;
		int fd = trust_open(v + 6, TRUST_SECRET, &st, &why);
		if (fd >= 0)
			close(fd);
		if (fd < 0 && errno == ENOENT) {
			free(why); /* reported at acquire: unavailable */
			why = NULL;
		}
		return why;
	}
	if (strncmp(v, "@cred:", 6) == 0)
		return cred_problem(v + 6);
	if (*v == '@')
		return xstrdup("is a reference jauth does not know: use "
			       "@env:NAME, @file:PATH or @cred:NAME");
	redactor_add(&m->h->red, v);
	if (m->line->file_mode & 044)
		return xstrdup(
			"is written inline in a stack file that group or "
			"others can read: use @file:PATH (a 0600 file) "
			"or @env:NAME, or chmod 600 the stack file");
	return NULL;
}

char *secret_ref_problem(struct jauth *h, const char *v, int file_mode)
{
	struct line ln = { .file_mode = file_mode };
	struct jauth_m m = { .h = h, .line = &ln };
	return secret_problem(&m, v);
}

/* Why the file argument V is refused (malloc'd), or NULL: not an absolute
 * path, or a file that exists but fails the trust rules of S's flags. A
 * missing file is reported when it is read (unavailable). */
static char *file_problem(const struct jauth_arg_spec *s, const char *v)
{
	char *why = NULL;
	struct stat st;
	if (v[0] != '/')
		return xstrdup("needs an absolute path: write /PATH");
	int fd = trust_open(v, arg_file_kind(s), &st, &why);
	if (fd >= 0)
		close(fd);
	if (fd < 0 && errno == ENOENT) {
		free(why);
		why = NULL;
	}
	return why;
}

/* Why V is refused for S (malloc'd), or NULL. */
static char *value_problem(jauth_m *m, const struct jauth_arg_spec *s,
			   const char *v)
{
	long long n;
	int b;
	time_t t;
	const char *why = NULL;
	if (!*v)
		return xstrdup("is empty: give a value, or leave the key out");
	switch (s->type) {
	case JAUTH_ARG_URL:
		why = url_problem(v);
		break;
	case JAUTH_ARG_INT:
		if (parse_int(v, &n) < 0)
			why = "is not a whole number: write decimal digits";
		else if ((s->min || s->max) && (n < s->min || n > s->max))
			return xasprintf("must be between %lld and %lld",
					 s->min, s->max);
		break;
	case JAUTH_ARG_BOOL:
		why = parse_bool(v, &b) < 0 ? "is not yes or no: write yes or "
					      "no (true/false, on/off, 1/0)"
					    : NULL;
		break;
	case JAUTH_ARG_DATE:
		why = parse_date(v, &t) < 0
			      ? "is not a real date written YYYY-MM-DD: "
				"write a calendar day such as 2027-06-30"
			      : NULL;
		break;
	case JAUTH_ARG_SECRET:
		return secret_problem(m, v);
	case JAUTH_ARG_FILE:
		return file_problem(s, v);
	}
	return why ? xstrdup(why) : NULL;
}

/* Records "SRC: KEY= WHY" and frees WHY. */
static void arg_problem(jauth_m *m, const char *key, char *why)
{
	if (m->run && m->run->problems)
		problem(m->run->problems, "%s: %s= %s", m->line->source, key,
			why);
	else
		jauth_m_fail(m, JAUTH_CONFIG, "%s= %s", key, why);
	free(why);
}

jauth_result jauth_m_args(jauth_m *m, const struct jauth_arg_spec *spec)
{
	int bad = 0;
	m->spec = spec;
	for (size_t i = 0; i < m->line->nargs; i++) {
		const struct arg *a = &m->line->args[i];
		const struct jauth_arg_spec *s = arg_spec(m, a->key);
		char *why, *keys;
		if (!s) {
			keys = valid_keys(spec);
			why = xasprintf("is not an argument of %s; valid: %s",
					m->line->modname, keys);
			free(keys);
		} else {
			why = value_problem(m, s, a->value);
		}
		if (why) {
			arg_problem(m, a->key, why);
			bad = 1;
		}
	}
	for (const struct jauth_arg_spec *s = spec; s->key; s++) {
		if ((s->flags & JAUTH_ARG_REQUIRED) && !arg_of(m, s->key)) {
			arg_problem(m, s->key,
				    xstrdup("is required: add it to the line"));
			bad = 1;
		}
	}
	return bad ? JAUTH_CONFIG : JAUTH_SUCCESS;
}

const char *jauth_m_arg(jauth_m *m, const char *key)
{
	const struct arg *a = arg_of(m, key);
	const struct jauth_arg_spec *s = arg_spec(m, key);
	return a ? a->value : s ? s->def : NULL;
}

int jauth_m_arg_given(jauth_m *m, const char *key)
{
	return arg_of(m, key) != NULL;
}

long long jauth_m_arg_int(jauth_m *m, const char *key)
{
	const char *v = jauth_m_arg(m, key);
	long long n = 0;
	return v && parse_int(v, &n) == 0 ? n : 0;
}

int jauth_m_arg_bool(jauth_m *m, const char *key)
{
	const char *v = jauth_m_arg(m, key);
	int b = 0;
	return v && parse_bool(v, &b) == 0 ? b : 0;
}

time_t jauth_m_arg_date(jauth_m *m, const char *key)
{
	const char *v = jauth_m_arg(m, key);
	time_t t;
	return v && parse_date(v, &t) == 0 ? t : (time_t)-1;
}
