/* util.c — allocation that cannot fail, growable strings, problem lists. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static void out_of_memory(void)
{
	static const char msg[] = "jauth: out of memory\n";
	(void)!fwrite(msg, 1, sizeof msg - 1, stderr);
	abort();
}

/* Never returns NULL. */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

/* Never returns NULL; overflow of n * size aborts too. */
void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		out_of_memory();
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		out_of_memory();
	return d;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		out_of_memory();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Wipes the string's bytes before freeing them. NULL is accepted. */
void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int chars_ok(const char *s, size_t n, size_t max, const char *set)
{
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

/* Grows B to hold N more bytes and a NUL. Old storage is wiped, since a
 * buffer may hold a secret. */
static void buf_grow(struct buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *s = xmalloc(cap);
	if (b->s) {
		memcpy(s, b->s, b->len);
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	b->s = s;
	b->cap = cap;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_puts(b, s);
	wipe_free(s);
}

char *buf_take(struct buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

int read_capped(int fd, size_t max, struct buf *out)
{
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			explicit_bzero(chunk, sizeof chunk);
			return n < 0 ? -1 : 0;
		}
		buf_add(out, chunk, (size_t)n);
		if (out->len > max) {
			explicit_bzero(chunk, sizeof chunk);
			errno = EFBIG;
			return -1;
		}
	}
}

void buf_wipe(struct buf *b)
{
	if (b->s) {
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	b->s = NULL;
	b->len = b->cap = 0;
}

void problem(struct problems *p, const char *fmt, ...)
{
	if (problems_stop(p))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	char **v = realloc(p->v, (p->n + 1) * sizeof *v);
	if (!v)
		abort();
	p->v = v;
	p->v[p->n++] = s;
}

int problems_stop(const struct problems *p)
{
	return p->n > 0 && !p->all;
}

char *problems_join(const struct problems *p)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < p->n; i++) {
		buf_puts(&b, p->v[i]);
		buf_puts(&b, "\n");
	}
	return buf_take(&b);
}

void problems_free(struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* CLOCK_REALTIME_COARSE is served by the vDSO: no system call, ~4 ms
 * resolution, plenty for expiries counted in seconds. */
time_t coarse_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}
