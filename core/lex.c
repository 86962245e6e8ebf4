/*
 * lex.c — splits a stack file into logical lines of tokens.
 *
 * Blanks separate tokens; "…" quotes (with \" and \\ inside); a # at the
 * start of a token begins a comment; a \ at the end of a line continues it;
 * [ … ] is one token (the bracket control). NUL bytes, invalid UTF-8 and
 * lines longer than JAUTH_MAX_LINE are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void lexer_init(struct lexer *lx, const char *file, const char *text,
		size_t len)
{
	lx->file = file;
	lx->p = text;
	lx->end = text + len;
	lx->lineno = 1;
}

static void tokens_push(struct tokens *t, struct buf *tok)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = realloc(t->v, t->cap * sizeof *t->v);
		if (!t->v)
			abort();
	}
	t->v[t->n++] = buf_take(tok);
}

void tokens_clear(struct tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		wipe_free(t->v[i]);
	t->n = 0;
}

void tokens_free(struct tokens *t)
{
	tokens_clear(t);
	free(t->v);
	t->v = NULL;
	t->cap = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Checks one physical line [s, e) for NUL bytes and invalid UTF-8. */
static const char *line_defect(const char *s, const char *e)
{
	if (memchr(s, '\0', (size_t)(e - s)))
		return "a NUL byte: a stack file must be text";
	while (s < e) {
		size_t n = utf8_len((const unsigned char *)s, (size_t)(e - s));
		if (!n)
			return "invalid UTF-8: save the file as UTF-8 text";
		s += n;
	}
	return NULL;
}

/* The tokenizer's state over one logical line. */
struct scan {
	struct tokens *t;
	struct buf tok;
	int in_tok, quoted, bracket, comment;
	size_t len;
	const char *err;
};

/* Ends the current token, if any. */
static void scan_flush(struct scan *sc)
{
	if (sc->in_tok)
		tokens_push(sc->t, &sc->tok);
	sc->in_tok = 0;
}

static void scan_char(struct scan *sc, char c)
{
	sc->in_tok = 1;
	buf_add(&sc->tok, &c, 1);
}

/* Feeds physical line [s, e) (without its newline). Returns 1 when the
 * logical line continues on the next physical line. */
static int scan_line(struct scan *sc, const char *s, const char *e)
{
	sc->len += (size_t)(e - s);
	if (sc->len > JAUTH_MAX_LINE) {
		sc->err = "line longer than 8192 bytes: shorten it";
		return 0;
	}
	for (const char *p = s; p < e; p++) {
		char c = *p;
		int last = p + 1 == e;
		if (sc->comment)
			break;
		if (sc->quoted) {
			if (c == '\\' && last)
				return 1;
			if (c == '\\' && (p[1] == '"' || p[1] == '\\'))
				scan_char(sc, *++p);
			else if (c == '"')
				sc->quoted = 0;
			else
				scan_char(sc, c);
			continue;
		}
		if (sc->bracket) {
			if (c == '\\' && last)
				return 1;
			scan_char(sc, c);
			if (c == ']')
				sc->bracket = 0;
			continue;
		}
		if (c == '\\' && last)
			return 1;
		if (is_blank(c)) {
			scan_flush(sc);
		} else if (c == '#' && !sc->in_tok) {
			sc->comment = 1;
		} else if (c == '"') {
			sc->in_tok = 1;
			sc->quoted = 1;
		} else if (c == '[' && !sc->in_tok) {
			sc->bracket = 1;
			scan_char(sc, c);
		} else {
			scan_char(sc, c);
		}
	}
	return 0;
}

/* Finds the end of the physical line starting at P. */
static const char *eol(const struct lexer *lx, const char *p)
{
	const char *nl = memchr(p, '\n', (size_t)(lx->end - p));
	return nl ? nl : lx->end;
}

/* Skips the rest of a logical line after an error (its continuations). */
static void skip_continuations(struct lexer *lx, const char *e)
{
	while (e < lx->end && e > lx->p && e[-1] == '\\') {
		lx->p = e + 1;
		lx->lineno++;
		e = eol(lx, lx->p);
	}
	lx->p = e < lx->end ? e + 1 : lx->end;
	lx->lineno++;
}

int lexer_next(struct lexer *lx, struct tokens *t, struct problems *p)
{
	struct scan sc = { .t = t };
	tokens_clear(t);
	if (lx->p >= lx->end)
		return 0;
	t->lineno = lx->lineno;
	for (;;) {
		const char *e = eol(lx, lx->p);
		const char *end = e > lx->p && e[-1] == '\r' ? e - 1 : e;
		const char *defect = line_defect(lx->p, e);
		int more = defect ? 0 : scan_line(&sc, lx->p, end);
		if (defect || sc.err) {
			problem(p, "%s:%d: %s", lx->file, lx->lineno,
				defect ? defect : sc.err);
			buf_wipe(&sc.tok);
			tokens_clear(t);
			skip_continuations(lx, e);
			return -1;
		}
		lx->p = e < lx->end ? e + 1 : lx->end;
		lx->lineno++;
		if (!more || lx->p >= lx->end)
			break;
		if (sc.quoted || sc.bracket)
			continue;
		/* Outside quotes a continuation ends the token: "a\" then
		 * "b" are two tokens, as if the backslash were a blank. */
		scan_flush(&sc);
	}
	if (sc.quoted || sc.bracket) {
		problem(p, "%s:%d: unterminated %s: close it on the same line",
			lx->file, t->lineno, sc.quoted ? "quote" : "[");
		buf_wipe(&sc.tok);
		tokens_clear(t);
		return -1;
	}
	scan_flush(&sc);
	buf_wipe(&sc.tok);
	return 1;
}
