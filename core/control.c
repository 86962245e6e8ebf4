/* control.c — the control column of a stack line: PAM's four keywords and
 * the bracket form [result=action …], with pam.conf(5)'s meaning. */
#include <string.h>

#include "internal.h"

static const char *const result_keys[JAUTH_NRESULTS] = {
	"success", "unavailable", "denied", "transient", "error",
};

static const char *const action_names[] = { "ok",  "done",   "bad",
					    "die", "ignore", "reset" };
#define NACTIONS (sizeof action_names / sizeof *action_names)

/* ACT_… of S[0..n), ACT_JUMP with *jump set for a decimal number, or -1. A
 * jump too long for any stack is kept as JAUTH_MAX_LINES + 1, so that the
 * range check of the stack refuses it. */
static int action_of(const char *s, size_t n, unsigned *jump)
{
	for (size_t i = 0; i < NACTIONS; i++)
		if (strlen(action_names[i]) == n &&
		    strncmp(action_names[i], s, n) == 0)
			return (int)i;
	if (n == 0 || strspn(s, DIGITS) < n)
		return -1;
	*jump = 0;
	for (size_t i = 0; i < n && *jump <= JAUTH_MAX_LINES; i++)
		*jump = *jump * 10 + (unsigned)(s[i] - '0');
	if (*jump > JAUTH_MAX_LINES)
		*jump = JAUTH_MAX_LINES + 1;
	return ACT_JUMP;
}

/* Index of result key S[0..n), JAUTH_NRESULTS for "default", or -1. */
static int result_of(const char *s, size_t n)
{
	for (int i = 0; i < JAUTH_NRESULTS; i++)
		if (strlen(result_keys[i]) == n &&
		    strncmp(result_keys[i], s, n) == 0)
			return i;
	if (n == 7 && strncmp(s, "default", 7) == 0)
		return JAUTH_NRESULTS;
	return -1;
}

static void set_all(struct control *c, enum action success, enum action rest)
{
	c->act[JAUTH_SUCCESS] = (unsigned char)success;
	for (int i = 1; i < JAUTH_NRESULTS; i++)
		c->act[i] = (unsigned char)rest;
}

/* What one key of a bracket says: an action, and its jump. */
struct pick {
	int act;
	unsigned jump;
};

/* Parses one "key=action" of a bracket into SET. Returns 0 or -1 after
 * recording a problem. */
static int bracket_pair(const char *src, const char *s, size_t n,
			struct pick set[JAUTH_NRESULTS + 1], struct problems *p)
{
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		problem(p,
			"%s: \"%.*s\" in the control is not result=action: "
			"write e.g. success=ok",
			src, (int)n, s);
		return -1;
	}
	size_t kn = (size_t)(eq - s), an = n - kn - 1;
	unsigned jump = 0;
	int r = result_of(s, kn), a = action_of(eq + 1, an, &jump);
	if (r < 0) {
		problem(p,
			"%s: unknown result \"%.*s\" in the control: use "
			"success, unavailable, denied, transient, error or "
			"default",
			src, (int)kn, s);
		return -1;
	}
	if (a < 0 || (a == ACT_JUMP && jump == 0)) {
		problem(p,
			"%s: unknown action \"%.*s\" in the control: use ok, "
			"done, bad, die, ignore, reset or a jump of 1 or "
			"more lines",
			src, (int)an, eq + 1);
		return -1;
	}
	if (set[r].act >= 0) {
		problem(p,
			"%s: \"%.*s\" is given twice in the control: keep "
			"one",
			src, (int)kn, s);
		return -1;
	}
	set[r].act = a;
	set[r].jump = jump;
	return 0;
}

/* Checks that TOK is "[…]" with nothing after the "]". */
static int bracket_closed(const char *src, const char *tok, struct problems *p)
{
	const char *close = strchr(tok, ']');
	if (!close) {
		problem(p,
			"%s: the control \"%s\" lacks its closing ]: close "
			"it",
			src, tok);
		return 0;
	}
	if (close[1]) {
		problem(p,
			"%s: text \"%s\" after the ] of the control: put a "
			"blank between the control and the module",
			src, close + 1);
		return 0;
	}
	return 1;
}

/*
 * Results not named take "default" when it is given; without it they are
 * bad, success included, as in pam.conf(5).
 */
static int parse_bracket(const char *src, const char *tok, struct control *c,
			 struct problems *p)
{
	struct pick set[JAUTH_NRESULTS + 1];
	int bad = 0, any = 0;
	for (int r = 0; r <= JAUTH_NRESULTS; r++)
		set[r] = (struct pick){ -1, 0 };
	if (!bracket_closed(src, tok, p))
		return -1;
	size_t len = strlen(tok);
	for (size_t i = 1; i < len - 1;) {
		size_t n = strcspn(tok + i, " \t]");
		if (n > 0) {
			any = 1;
			bad |= bracket_pair(src, tok + i, n, set, p);
		}
		i += n ? n : 1;
	}
	if (!any) {
		problem(p,
			"%s: the control [] is empty: name at least one "
			"result=action",
			src);
		return -1;
	}
	struct pick dflt = set[JAUTH_NRESULTS].act >= 0
				   ? set[JAUTH_NRESULTS]
				   : (struct pick){ ACT_BAD, 0 };
	for (int r = 0; r < JAUTH_NRESULTS; r++) {
		struct pick k = set[r].act >= 0 ? set[r] : dflt;
		c->act[r] = (unsigned char)k.act;
		c->jump[r] = (unsigned short)k.jump;
	}
	return bad ? -1 : 0;
}

int control_parse(const char *src, const char *tok, struct control *c,
		  struct problems *p)
{
	memset(c, 0, sizeof *c);
	if (strcmp(tok, "required") == 0)
		set_all(c, ACT_OK, ACT_BAD);
	else if (strcmp(tok, "requisite") == 0)
		set_all(c, ACT_OK, ACT_DIE);
	else if (strcmp(tok, "sufficient") == 0)
		set_all(c, ACT_DONE, ACT_IGNORE);
	else if (strcmp(tok, "optional") == 0)
		set_all(c, ACT_OK, ACT_IGNORE);
	else if (tok[0] == '[') {
		if (parse_bracket(src, tok, c, p) < 0) {
			memset(c, 0, sizeof *c);
			return -1;
		}
	} else {
		problem(p,
			"%s: unknown control \"%s\": use required, "
			"requisite, sufficient, optional or "
			"[result=action …]",
			src, tok);
		return -1;
	}
	c->text = xstrdup(tok);
	return 0;
}

unsigned control_max_jump(const struct control *c, const char **key)
{
	unsigned max = 0;
	for (int r = 0; r < JAUTH_NRESULTS; r++) {
		if (c->act[r] == ACT_JUMP && c->jump[r] > max) {
			max = c->jump[r];
			*key = result_keys[r];
		}
	}
	return max;
}
