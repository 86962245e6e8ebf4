/*
 * lex.c — fuzzes the stack tokenizer (core/lex.c) and the control parser
 * (core/control.c): the input is a stack file's bytes; every logical line's
 * first token goes through control_parse, the way stack.c reads a line.
 * Problems are collected in lint mode (all of them), then freed.
 *
 * Properties checked besides the sanitizers: the lexer always ends, its
 * line numbers only grow and stay within the file, tokens are NUL-free
 * strings no longer than a logical line may be, and a parsed control maps
 * every result to a real action.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Physical lines of [p, p + n): newlines, plus one for a last line
 * without its newline. */
static int count_lines(const uint8_t *p, size_t n)
{
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines + (n > 0 && p[n - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lexer lx;
	struct tokens t = { 0 };
	struct problems p = { .all = 1 };
	int r, last = 0, max_line = count_lines(data, size);
	size_t rounds = 0;

	lexer_init(&lx, "fuzz", (const char *)data, size);
	while ((r = lexer_next(&lx, &t, &p)) != 0) {
		if (++rounds > size + 1)
			fuzz_fail("lexer_next does not advance");
		if (r != 1 && r != -1)
			fuzz_fail("lexer_next returned %d", r);
		if (r < 0) {
			if (t.n != 0)
				fuzz_fail("tokens left after an error");
			continue;
		}
		if (t.lineno <= last || t.lineno > max_line)
			fuzz_fail("line %d after line %d (file has %d)",
				  t.lineno, last, max_line);
		last = t.lineno;
		for (size_t i = 0; i < t.n; i++)
			if (!t.v[i] || strlen(t.v[i]) > JAUTH_MAX_LINE)
				fuzz_fail("token %zu of line %d is bad", i,
					  t.lineno);
		if (t.n == 0)
			continue;
		char *src = xasprintf("fuzz:%d", t.lineno);
		struct control c;
		if (control_parse(src, t.v[0], &c, &p) == 0) {
			for (int i = 0; i < JAUTH_NRESULTS; i++)
				if (c.act[i] > ACT_JUMP ||
				    (c.act[i] == ACT_JUMP &&
				     (c.jump[i] == 0 ||
				      c.jump[i] > JAUTH_MAX_LINES + 1)))
					fuzz_fail("control %s: result %d has "
						  "action %d",
						  t.v[0], i, c.act[i]);
			if (!c.text || strcmp(c.text, t.v[0]) != 0)
				fuzz_fail("control text differs");
		}
		free(c.text);
		free(src);
	}
	if (lx.p != lx.end)
		fuzz_fail("lexer stopped before the end");
	tokens_free(&t);
	char *all = problems_join(&p);
	free(all);
	problems_free(&p);
	return 0;
}
