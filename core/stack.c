/*
 * stack.c — builds a service's stack: finds and checks its file, reads its
 * lines (control, module, arguments), splices includes, builds substacks,
 * loads and opens every module. Fails closed: any problem and no stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct parser {
	struct jauth *h;
	struct problems *p;
	const char *conf_path;
	const char *chain[JAUTH_MAX_DEPTH + 2]; /* services being expanded */
	int depth;
	struct stack *top;
	size_t lines; /* module lines so far, over every include */
	int stores;   /* store directives so far */
};

static int parse_service(struct parser *ps, struct stack *st,
			 const char *service, const char *from);
static void check_jumps(struct parser *ps, const struct stack *st);

static void stamp_add(struct stack *top, const char *path,
		      const struct stat *st)
{
	top->stamps =
		realloc(top->stamps, (top->nstamps + 1) * sizeof *top->stamps);
	if (!top->stamps)
		abort();
	struct stamp *s = &top->stamps[top->nstamps++];
	s->path = xstrdup(path);
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

/* Finds, checks and reads SERVICE's file. FROM names the include line that
 * asked for it, or is NULL for the top stack. */
static char *load_file(struct parser *ps, const char *service, const char *from,
		       size_t *len, char **file, int *mode)
{
	char *f = conf_pick(ps->conf_path, service), *why = NULL, *text;
	struct stat st;
	int fd = f ? trust_open(f, TRUST_CONFIG, &st, &why) : -1;
	if (fd < 0 && (!f || !conf_exists(f))) {
		problem(ps->p,
			"%s%sno stack for service \"%s\" in %s: create "
			"one (see jauth.conf(5))",
			from ? from : "", from ? ": " : "", service,
			ps->conf_path);
		free(why);
		free(f);
		return NULL;
	}
	if (fd < 0) {
		problem(ps->p, "%s%s%s", from ? from : "", from ? ": " : "",
			why);
		free(why);
		free(f);
		return NULL;
	}
	struct buf b = { 0 };
	int rc = read_capped(fd, JAUTH_MAX_STACK_FILE, &b);
	close(fd);
	if (rc < 0) {
		problem(ps->p, "%s: %s", f,
			errno == EFBIG ? "larger than 1 MiB: not a stack file"
				       : strerror(errno));
		buf_wipe(&b);
		free(f);
		return NULL;
	}
	*len = b.len;
	text = buf_take(&b);
	stamp_add(ps->top, f, &st);
	*mode = (int)(st.st_mode & 07777);
	*file = f;
	return text;
}

static struct line *line_new(struct stack *st)
{
	st->lines = realloc(st->lines, (st->n + 1) * sizeof *st->lines);
	if (!st->lines)
		abort();
	struct line *ln = xcalloc(1, sizeof *ln);
	st->lines[st->n++] = ln;
	return ln;
}

/* Checks that NAME may be included/substacked from SRC: a valid name, not
 * already being expanded, not too deep. */
static int nest_ok(struct parser *ps, const char *src, const char *kw,
		   const char *name)
{
	if (!service_name_ok(name)) {
		problem(ps->p,
			"%s: \"%s\" is not a service name: use 1 to 64 "
			"letters, digits, '.', '_', '-', starting with a "
			"letter or digit, without '/' or '..'",
			src, name);
		return 0;
	}
	for (int i = 0; i <= ps->depth; i++) {
		if (strcmp(ps->chain[i], name) == 0) {
			struct buf b = { 0 };
			for (int j = i; j <= ps->depth; j++)
				buf_printf(&b, "%s → ", ps->chain[j]);
			buf_puts(&b, name);
			problem(ps->p, "%s: %s loop: %s", src, kw, b.s);
			buf_wipe(&b);
			return 0;
		}
	}
	if (ps->depth + 1 > JAUTH_MAX_DEPTH) {
		problem(ps->p,
			"%s: %s nested deeper than %d levels: splice some of "
			"the files together",
			src, kw, JAUTH_MAX_DEPTH);
		return 0;
	}
	return 1;
}

/* Splices SERVICE's lines into ST (include) or builds it as the substack
 * of a new line (substack). */
static void nest(struct parser *ps, struct stack *st, const char *src,
		 const char *kw, const char *name, struct line *ln)
{
	if (!nest_ok(ps, src, kw, name))
		return;
	ps->chain[++ps->depth] = name;
	if (!ln) {
		parse_service(ps, st, name, src);
	} else {
		ln->sub = xcalloc(1, sizeof *ln->sub);
		ln->sub->service = xstrdup(name);
		ln->modname = xstrdup(name);
		size_t before = ps->p->n;
		if (parse_service(ps, ln->sub, name, src) == 0 &&
		    ln->sub->n == 0 && ps->p->n == before)
			problem(ps->p,
				"%s: substack %s has no module lines: add "
				"one to %s, or include it instead",
				src, name, name);
		check_jumps(ps, ln->sub);
	}
	ps->depth--;
}

static int arg_key_ok(const char *k, size_t n)
{
	return chars_ok(k, n, 64, LOWER DIGITS "_");
}

/* Reads the key=value arguments of a module line. Returns 0 or -1. */
static int parse_args(struct parser *ps, struct line *ln, char **tok, size_t n)
{
	int bad = 0;
	ln->args = xcalloc(n, sizeof *ln->args);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(tok[i], '=');
		size_t kn = eq ? (size_t)(eq - tok[i]) : 0;
		if (!eq || !arg_key_ok(tok[i], kn)) {
			problem(ps->p,
				"%s: argument %zu is not key=value with "
				"a lower-case key: write key=value, and "
				"quote values with blanks",
				ln->source, i + 1);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < ln->nargs; j++) {
			if (strlen(ln->args[j].key) == kn &&
			    strncmp(ln->args[j].key, tok[i], kn) == 0) {
				problem(ps->p,
					"%s: argument %.*s is given "
					"twice: keep one",
					ln->source, (int)kn, tok[i]);
				bad = 1;
			}
		}
		ln->args[ln->nargs].key = xstrndup(tok[i], kn);
		ln->args[ln->nargs++].value = xstrdup(eq + 1);
	}
	return bad ? -1 : 0;
}

/* Loads and opens the module of LN. */
static void load_module(struct parser *ps, struct line *ln)
{
	char *why = NULL;
	if (module_load(ps->h->module_path, ln->modname, &ln->mod, &why) < 0) {
		redactor_add_token(&ps->h->red, ln->modname);
		problem(ps->p, "%s: %s", ln->source, why);
		free(why);
		return;
	}
	m_open(ps->h, ln, ps->p);
}

/* Adds the line "CTL TOK[0] TOK[1..n)" of SRC: a module line, or a
 * substack when TOK[0] is "substack" (CTL NULL: PAM's bare substack).
 * Takes SRC. */
static void add_line(struct parser *ps, struct stack *st, char *src, int mode,
		     const char *ctl, char **tok, size_t n)
{
	if (++ps->lines > JAUTH_MAX_LINES) {
		if (ps->lines == JAUTH_MAX_LINES + 1)
			problem(ps->p,
				"%s: more than %d module lines in one "
				"stack: split it into services",
				src, JAUTH_MAX_LINES);
		free(src);
		return;
	}
	struct line *ln = line_new(st);
	ln->source = src;
	ln->file_mode = mode;
	int bad = 0;
	if (ctl)
		bad = control_parse(src, ctl, &ln->ctl, ps->p) < 0;
	else
		ln->ctl = (struct control){ .bare = 1,
					    .text = xstrdup("substack") };
	if (bad)
		redactor_add_token(&ps->h->red, ctl);
	if (strcmp(tok[0], "substack") == 0) {
		if (n != 2)
			problem(ps->p,
				"%s: substack takes one NAME: write "
				"\"[CONTROL] substack NAME\"",
				src);
		else if (!bad)
			nest(ps, st, src, "substack", tok[1], ln);
		return;
	}
	ln->modname = xstrdup(tok[0]);
	bad |= parse_args(ps, ln, tok + 1, n - 1) < 0;
	if (!bad && !problems_stop(ps->p))
		load_module(ps, ln);
}

/* "store BACKEND …": where the service's records live (jauth.conf(5)).
 * It belongs to the top stack: a substack's records are its caller's. */
static void store_line(struct parser *ps, struct stack *st, const char *src,
		       int mode, struct tokens *t)
{
	for (size_t i = 2; i < t->n; i++) {
		if (strncmp(t->v[i], "password=", 9) != 0)
			continue;
		char *why = secret_ref_problem(ps->h, t->v[i] + 9, mode);
		if (why) {
			problem(ps->p, "%s: store password= %s", src, why);
			free(why);
			return;
		}
	}
	if (st != ps->top)
		problem(ps->p,
			"%s: a store directive in a substack's file: the "
			"store is the top stack's (%s): move it there",
			src, ps->top->service);
	else if (ps->stores++)
		problem(ps->p,
			"%s: a second store directive: a service has one "
			"store: remove one",
			src);
	else
		store_directive(ps->h, src, t->v, t->n, &st->store, ps->p);
}

/* One logical line of FILE with tokens T: "include NAME", "store …",
 * "substack NAME" (required), or "CONTROL MODULE|substack …". */
static void parse_line(struct parser *ps, struct stack *st, const char *file,
		       int mode, struct tokens *t)
{
	char *src = xasprintf("%s:%d", file, t->lineno);
	if (strcmp(t->v[0], "include") == 0) {
		if (t->n != 2)
			problem(ps->p,
				"%s: include takes one NAME: write "
				"\"include NAME\"",
				src);
		else
			nest(ps, st, src, "include", t->v[1], NULL);
		free(src);
	} else if (strcmp(t->v[0], "store") == 0) {
		store_line(ps, st, src, mode, t);
		free(src);
	} else if (strcmp(t->v[0], "substack") == 0) {
		add_line(ps, st, src, mode, NULL, t->v, t->n);
	} else if (t->n < 2) {
		problem(ps->p,
			"%s: a line needs a control and a module: "
			"\"required apitoken.so key=value …\"",
			src);
		free(src);
	} else {
		add_line(ps, st, src, mode, t->v[0], t->v + 1, t->n - 1);
	}
}

/*
 * Refuses a jump that would leave ST, the level it is on: PAM counts the
 * lines after includes are spliced, a substack as one, and fails at run
 * time when a jump runs out of lines; jauth fails at load, taken or not.
 */
static void check_jumps(struct parser *ps, const struct stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		const char *key = NULL;
		const struct line *ln = st->lines[i];
		unsigned jump = control_max_jump(&ln->ctl, &key);
		size_t after = st->n - 1 - i;
		if (jump <= after)
			continue;
		struct buf fix = { 0 };
		if (after)
			buf_printf(&fix, "jump at most %zu", after);
		else
			buf_puts(&fix, "use done or ignore instead");
		problem(ps->p,
			"%s: the jump %s=%u goes past the end of the %s: "
			"%zu line%s follow%s it (included lines count, a "
			"substack counts as one): %s",
			ln->source, key, jump,
			st == ps->top ? "stack" : "substack", after,
			after == 1 ? "" : "s", after == 1 ? "s" : "", fix.s);
		buf_wipe(&fix);
	}
}

/* Parses SERVICE's file into ST (appending). */
static int parse_service(struct parser *ps, struct stack *st,
			 const char *service, const char *from)
{
	size_t len;
	char *file = NULL;
	int mode = 0;
	size_t before = ps->p->n;
	char *text = load_file(ps, service, from, &len, &file, &mode);
	if (!text)
		return -1;
	if (!st->file)
		st->file = xstrdup(file);
	struct lexer lx;
	struct tokens t = { 0 };
	lexer_init(&lx, file, text, len);
	int r;
	while (!problems_stop(ps->p) && (r = lexer_next(&lx, &t, ps->p))) {
		if (r > 0 && t.n > 0)
			parse_line(ps, st, file, mode, &t);
	}
	tokens_free(&t);
	/* A file whose lines were refused has module lines, just bad ones:
	 * "add one" would send the admin the wrong way. */
	if (!from && st->n == 0 && ps->p->n == before)
		problem(ps->p,
			"%s:%d: the stack has no module lines, so it could "
			"never succeed: add one (see jauth.conf(5))",
			file, lx.lineno > 1 ? lx.lineno - 1 : 1);
	wipe_free(text);
	free(file);
	return 0;
}

/* Points every line of ST, substacks included, at the store S (the
 * directive may come after the module lines). */
static void store_to_lines(struct stack *st, struct store *s)
{
	for (size_t i = 0; i < st->n; i++) {
		st->lines[i]->store = s;
		if (st->lines[i]->sub)
			store_to_lines(st->lines[i]->sub, s);
	}
}

struct stack *stack_load(struct jauth *h, const char *service,
			 struct problems *p)
{
	struct parser ps = {
		.h = h,
		.p = p,
		.conf_path = h->conf_path,
		.chain = { service },
	};
	size_t before = p->n;
	struct stack *st = xcalloc(1, sizeof *st);
	st->service = xstrdup(service);
	ps.top = st;
	parse_service(&ps, st, service, NULL);
	check_jumps(&ps, st);
	store_to_lines(st, st->store);
	problems_redact(&h->red, p, before);
	if (p->n > before) {
		stack_free(st);
		return NULL;
	}
	return st;
}

void stack_free(struct stack *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		struct line *ln = st->lines[i];
		m_close(ln->m);
		module_unload(&ln->mod);
		stack_free(ln->sub);
		for (size_t j = 0; j < ln->nargs; j++) {
			free(ln->args[j].key);
			wipe_free(ln->args[j].value);
		}
		free(ln->args);
		free(ln->ctl.text);
		free(ln->modname);
		free(ln->source);
		free(ln);
	}
	store_close(st->store);
	for (size_t i = 0; i < st->nstamps; i++)
		free(st->stamps[i].path);
	free(st->stamps);
	free(st->lines);
	free(st->service);
	free(st->file);
	free(st);
}

static int stamp_changed(const struct stamp *s)
{
	struct stat st;
	if (stat(s->path, &st) < 0)
		return 1;
	return st.st_dev != s->dev || st.st_ino != s->ino ||
	       st.st_size != s->size || st.st_mtim.tv_sec != s->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != s->mtime.tv_nsec ||
	       st.st_ctim.tv_sec != s->ctime.tv_sec ||
	       st.st_ctim.tv_nsec != s->ctime.tv_nsec;
}

int stack_changed(struct jauth *h, const struct stack *st)
{
	char *f = conf_find(h->conf_path, st->service);
	int moved = !f || !st->file || strcmp(f, st->file) != 0;
	free(f);
	if (moved)
		return 1;
	for (size_t i = 0; i < st->nstamps; i++)
		if (stamp_changed(&st->stamps[i]))
			return 1;
	return 0;
}
