/* control.c — the control column of a stack line: PAM's four keywords and
 * the bracket form [result=action …]. */
#include <string.h>

#include "internal.h"

static const char *const result_keys[JAUTH_NRESULTS] = {
	"success", "unavailable", "denied", "transient", "error",
};

static const char *const action_names[] = { "ok", "done", "bad", "die",
					    "ignore" };

static int action_of(const char *s, size_t n)
{
	for (int i = 0; i < 5; i++)
		if (strlen(action_names[i]) == n &&
		    strncmp(action_names[i], s, n) == 0)
			return i;
	return -1;
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

/* Parses one "key=action" of a bracket into SET/ACT. Returns 0 or -1 after
 * recording a problem. */
static int bracket_pair(const char *src, const char *s, size_t n,
			int set[JAUTH_NRESULTS + 1], struct problems *p)
{
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		problem(p, "%s: \"%.*s\" in the control is not result=action",
			src, (int)n, s);
		return -1;
	}
	int r = result_of(s, (size_t)(eq - s));
	int a = action_of(eq + 1, n - (size_t)(eq - s) - 1);
	if (r < 0) {
		problem(p,
			"%s: unknown result \"%.*s\" in the control: use "
			"success, unavailable, denied, transient, error or "
			"default",
			src, (int)(eq - s), s);
		return -1;
	}
	if (a < 0) {
		problem(p,
			"%s: unknown action \"%.*s\" in the control: use ok, "
			"done, bad, die or ignore",
			src, (int)(n - (size_t)(eq - s) - 1), eq + 1);
		return -1;
	}
	if (set[r] >= 0) {
		problem(p, "%s: \"%.*s\" is given twice in the control", src,
			(int)(eq - s), s);
		return -1;
	}
	set[r] = a;
	return 0;
}

/*
 * Results not named take "default" when it is given; otherwise success is
 * ok and every failure bad, which is what "required" means.
 */
static int parse_bracket(const char *src, const char *tok, struct control *c,
			 struct problems *p)
{
	int set[JAUTH_NRESULTS + 1], bad = 0, any = 0;
	memset(set, -1, sizeof set);
	size_t len = strlen(tok);
	if (len < 2 || tok[len - 1] != ']') {
		problem(p, "%s: the control \"%s\" lacks its closing ]", src,
			tok);
		return -1;
	}
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
	for (int r = 0; r < JAUTH_NRESULTS; r++) {
		int a = set[r] >= 0		   ? set[r]
			: set[JAUTH_NRESULTS] >= 0 ? set[JAUTH_NRESULTS]
			: r == JAUTH_SUCCESS	   ? ACT_OK
						   : ACT_BAD;
		c->act[r] = (unsigned char)a;
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
		if (parse_bracket(src, tok, c, p) < 0)
			return -1;
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
