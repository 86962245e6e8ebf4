/*
 * redact.c — masks secrets in every line that leaves the library (log lines
 * and error messages). Two nets: the exact values the core has seen (secrets
 * it resolved, tokens modules published), and patterns that catch values it
 * has not seen (Authorization headers, token fields in JSON, key=value).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MASK "[redacted]"

void redactor_init(struct redactor *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
}

void redactor_fini(struct redactor *r)
{
	for (size_t i = 0; i < REDACT_SLOTS; i++)
		secmem_free(r->v[i]);
	pthread_mutex_destroy(&r->mu);
}

/* The ring keeps the newest REDACT_SLOTS values: tokens rotate hourly, and
 * the patterns below still catch an evicted one in its usual places. */
void redactor_add(struct redactor *r, const char *s)
{
	if (!s || strlen(s) < 4)
		return;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < REDACT_SLOTS; i++) {
		if (r->v[i] && strcmp(r->v[i], s) == 0) {
			pthread_mutex_unlock(&r->mu);
			return;
		}
	}
	size_t slot = r->next++ % REDACT_SLOTS;
	secmem_free(r->v[slot]);
	r->v[slot] = secmem_strdup(s); /* the values are secrets */
	pthread_mutex_unlock(&r->mu);
}

/* Replaces every occurrence of NEEDLE in B. */
static void mask_value(struct buf *b, const char *needle)
{
	size_t n = strlen(needle);
	struct buf out = { 0 };
	const char *p = b->s, *hit;
	while ((hit = strstr(p, needle))) {
		buf_add(&out, p, (size_t)(hit - p));
		buf_puts(&out, MASK);
		p = hit + n;
	}
	if (p == b->s) {
		buf_wipe(&out);
		return;
	}
	buf_puts(&out, p);
	buf_wipe(b);
	*b = out;
}

static int token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("-._~+/=%:!$*", c);
}

/* Masks [from, to) of B in place by rebuilding it. */
static void mask_span(struct buf *b, size_t from, size_t to)
{
	struct buf out = { 0 };
	buf_add(&out, b->s, from);
	buf_puts(&out, MASK);
	buf_puts(&out, b->s + to);
	buf_wipe(b);
	*b = out;
}

/* Prose such as "Basic authentication" is not a credential: a token is
 * at least 8 characters with something other than letters in it. */
static int looks_like_token(const char *s, size_t n)
{
	if (n < 8 || strncmp(s, MASK, 4) == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 1;
	return 0;
}

/* After each occurrence of WORD (case-insensitive) followed by a blank,
 * masks the token that comes next: "Bearer abc…", "Basic abc…". */
static void mask_after_scheme(struct buf *b, const char *word)
{
	size_t wn = strlen(word);
	for (size_t i = 0; i + wn < b->len; i++) {
		if (strncasecmp(b->s + i, word, wn) || b->s[i + wn] != ' ')
			continue;
		if (i > 0 && isalnum((unsigned char)b->s[i - 1]))
			continue;
		size_t from = i + wn + 1, to = from;
		while (to < b->len && token_char(b->s[to]))
			to++;
		if (looks_like_token(b->s + from, to - from))
			mask_span(b, from, to);
		i = from;
	}
}

/* Skips quote marks, plain or escaped (JSON inside JSON). Returns how
 * many bytes. */
static size_t quote_marks(const struct buf *b, size_t j)
{
	size_t n = 0;
	while (j + n < b->len && (b->s[j + n] == '"' || b->s[j + n] == '\\'))
		n++;
	return n;
}

/* After each "KEY": (a JSON field, maybe escaped inside another string)
 * or KEY= (a query or stack argument), masks the value: a quoted string,
 * or a run of token characters. Values that are secret references (@env:,
 * @file:) are left alone. */
static void mask_field(struct buf *b, const char *key)
{
	size_t kn = strlen(key);
	for (size_t i = 0; i + kn < b->len; i++) {
		if (strncmp(b->s + i, key, kn))
			continue;
		if (i > 0 &&
		    (isalnum((unsigned char)b->s[i - 1]) || b->s[i - 1] == '_'))
			continue;
		size_t j = i + kn, q = quote_marks(b, j);
		int json = q > 0 && i > 0 && b->s[i - 1] == '"';
		j += q;
		while (json && j < b->len && b->s[j] == ' ')
			j++;
		if (j >= b->len ||
		    (b->s[j] != '=' && !(json && b->s[j] == ':')))
			continue;
		j++;
		while (json && j < b->len && b->s[j] == ' ')
			j++;
		size_t vq = quote_marks(b, j);
		size_t from = j + vq, to = from;
		while (to < b->len && (vq ? b->s[to] != '"' && b->s[to] != '\\'
					  : token_char(b->s[to])))
			to++;
		if (to > from && b->s[from] != '@' &&
		    strncmp(b->s + from, MASK, to - from < 4 ? to - from : 4))
			mask_span(b, from, to);
		i = from;
	}
}

static const char *const fields[] = {
	"access_token", "refresh_token", "client_secret", "id_token",  "code",
	"token",	"password",	 "secret",	  "api_token", NULL,
};

/* S with every secret masked, as a buffer. */
static struct buf masked(struct redactor *r, const char *s)
{
	struct buf b = { 0 };
	buf_puts(&b, s);
	if (r) {
		pthread_mutex_lock(&r->mu);
		for (size_t i = 0; i < REDACT_SLOTS; i++)
			if (r->v[i])
				mask_value(&b, r->v[i]);
		pthread_mutex_unlock(&r->mu);
	}
	mask_after_scheme(&b, "Bearer");
	mask_after_scheme(&b, "Basic");
	for (size_t i = 0; fields[i]; i++)
		mask_field(&b, fields[i]);
	return b;
}

/* Masked first, then cleaned: a secret is caught as it was sent, and
 * what a server wrapped around it cannot break the line. */
char *redact(struct redactor *r, const char *s)
{
	struct buf b = masked(r, s);
	char *line = text_clean(b.s);
	buf_wipe(&b);
	return line;
}

char *redact_doc(struct redactor *r, const char *s)
{
	struct buf b = masked(r, s);
	return buf_take(&b);
}

/* 1 when [S, S+N) is a module name as written: a path, "x.so", or a
 * versioned "x.so.1" (refused later, but by its own name). */
static int module_name(const char *s, size_t n)
{
	if (*s == '/')
		return 1;
	for (size_t i = n; i > 3; i--) {
		char c = s[i - 1];
		if (!(c == '.' || (c >= '0' && c <= '9')))
			return strncmp(s + i - 3, ".so", 3) == 0 &&
			       (i == n || s[i] == '.');
	}
	return 0;
}

/* A token of a stack line that the parser could not place (a forgotten
 * continuation backslash puts "token=ATATT…" where a control belongs) may
 * be a secret: the value of a key=value, or a bare token that looks like
 * one (API tokens have '=' in them too), joins the ring. Words
 * ("sometimes"), module names and bracket controls stay readable. */
void redactor_add_token(struct redactor *r, const char *tok)
{
	size_t kn = strspn(tok, "abcdefghijklmnopqrstuvwxyz0123456789_");
	const char *v = kn > 0 && tok[kn] == '=' ? tok + kn + 1 : tok;
	size_t n = strlen(v);
	if (*tok == '[' || *v == '@' || !looks_like_token(v, n) ||
	    (v == tok && module_name(v, n)))
		return;
	redactor_add(r, v);
}

void problems_redact(struct redactor *r, struct problems *p, size_t from)
{
	for (size_t i = from; i < p->n; i++) {
		char *s = redact(r, p->v[i]);
		free(p->v[i]);
		p->v[i] = s;
	}
}
