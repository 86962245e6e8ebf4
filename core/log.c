/* log.c — the handle's logger: masks, then hands the line to the connector's
 * callback or to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *level_name(int level)
{
	static const char *const names[] = { "",       "error", "warning",
					     "notice", "info",	"debug" };
	return level >= 1 && level <= 5 ? names[level] : "log";
}

int log_level_of(int opt_level)
{
	const char *dbg = secure_getenv("JAUTH_DEBUG");
	if (opt_level > 0)
		return opt_level;
	if (dbg && *dbg && strcmp(dbg, "0") != 0)
		return JAUTH_LOG_DEBUG;
	return JAUTH_LOG_WARN;
}

void vhlog(struct jauth *h, int level, const char *fmt, va_list ap)
{
	int max = h ? h->log_level : JAUTH_LOG_WARN;
	if (level > max)
		return;
	char *raw = xvasprintf(fmt, ap);
	char *line = redact(h ? &h->red : NULL, raw);
	wipe_free(raw);
	if (h && h->log) {
		h->log(h->log_ctx, level, line);
	} else {
		/* One write per line, so that lines of threads do not mix. */
		char *out = xasprintf("jauth: %s%s%s: %s\n",
				      h && h->service ? h->service : "",
				      h && h->service ? ": " : "",
				      level_name(level), line);
		(void)!fwrite(out, 1, strlen(out), stderr);
		free(out);
	}
	free(line);
}

void hlog(struct jauth *h, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vhlog(h, level, fmt, ap);
	va_end(ap);
}
