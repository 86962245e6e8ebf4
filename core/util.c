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

size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	unsigned cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
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

/* One byte of text that a terminal would act on, made visible. */
static void clean_byte(struct buf *b, unsigned char c)
{
	if (c == '\n')
		buf_puts(b, "\\n");
	else if (c == '\r')
		buf_puts(b, "\\r");
	else if (c == '\t')
		buf_puts(b, "\\t");
	else
		buf_printf(b, "\\x%02x", c);
}

char *text_clean(const char *s)
{
	struct buf b = { 0 };
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t len = utf8_len(u, n - i);
		if (len == 2 && u[0] == 0xc2 && u[1] < 0xa0)
			buf_printf(&b, "\\u%04x", u[1]); /* C1 control */
		else if (len == 0 || (len == 1 && (*u < 0x20 || *u == 0x7f)))
			clean_byte(&b, *u);
		else
			buf_add(&b, s + i, len);
		i += len ? len : 1;
	}
	return buf_take(&b);
}

void json_clean(cJSON *item)
{
	for (cJSON *c = item; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring) {
			char *s = text_clean(c->valuestring);
			if (strcmp(s, c->valuestring) != 0)
				cJSON_SetValuestring(c, s);
			free(s);
		}
		json_clean(c->child);
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
