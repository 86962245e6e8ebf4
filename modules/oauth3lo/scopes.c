/* scopes.c — the scope set a consent asks for, and what a grant lacks. */
#include <stdlib.h>
#include <string.h>

#include "oauth3lo.h"
#include "scopes.h"

/* 1 when the space-separated SET holds WORD[0..n). */
static int has_scope(const char *set, const char *word, size_t n)
{
	for (const char *p = set; *p;) {
		size_t k = strcspn(p, " ");
		if (k == n && strncmp(p, word, n) == 0)
			return 1;
		p += k + (p[k] == ' ');
	}
	return 0;
}

/* Appends WORD to the space-separated set S unless it is there. */
static int add_scope(char **s, const char *word, size_t n)
{
	size_t len = strlen(*s);
	if (has_scope(*s, word, n))
		return 0;
	char *t = realloc(*s, len + n + 2);
	if (!t)
		return -1;
	if (len)
		t[len++] = ' ';
	memcpy(t + len, word, n);
	t[len + n] = '\0';
	*s = t;
	return 0;
}

static int scope_word_ok(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789:._-", w[i]))
			return 0;
	return n > 0;
}

char *scopes_requested(jauth_m *m, const char *arg)
{
	int full = strcmp(arg, "full") == 0, ro = strcmp(arg, "readonly") == 0;
	char *s = calloc(1, 1);
	int bad = !s;
	if (full || ro) {
		for (size_t i = 0; !bad && jauth_scopes_full[i]; i++)
			if (full ||
			    strncmp(jauth_scopes_full[i], "read:", 5) == 0)
				bad = add_scope(&s, jauth_scopes_full[i],
						strlen(jauth_scopes_full[i]));
	} else {
		for (const char *p = arg; !bad && *p;) {
			size_t n = strcspn(p, " \t");
			if (n && !scope_word_ok(p, n)) {
				jauth_m_fail(
					m, JAUTH_CONFIG,
					"scopes= has \"%.*s\", which is not "
					"a scope name (full, readonly, or "
					"names like read:jira-work)",
					(int)n, p);
				free(s);
				return NULL;
			}
			bad = n ? add_scope(&s, p, n) : 0;
			p += n + (p[n] != '\0');
		}
	}
	if (!bad)
		bad = add_scope(&s, JAUTH_SCOPE_OFFLINE,
				strlen(JAUTH_SCOPE_OFFLINE));
	if (bad) {
		free(s);
		jauth_m_fail(m, JAUTH_ERROR, "out of memory");
		return NULL;
	}
	return s;
}

char *scopes_missing(const char *want, const char *have)
{
	char *out = calloc(1, 1);
	for (const char *p = want; out && *p;) {
		size_t n = strcspn(p, " ");
		if (n && !has_scope(have ? have : "", p, n) &&
		    add_scope(&out, p, n) < 0) {
			free(out);
			return NULL;
		}
		p += n + (p[n] == ' ');
	}
	return out;
}
