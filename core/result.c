/* result.c — result names, the version, freeing what the API hands out. */
#include <stdlib.h>

#include "internal.h"

const char *jauth_result_name(jauth_result r)
{
	static const char *const names[] = {
		"success",   "unavailable", "denied",
		"transient", "error",	    "config",
	};
	return (unsigned)r < sizeof names / sizeof *names ? names[r]
							  : "unknown";
}

const char *jauth_version(void)
{
	return JAUTH_VERSION;
}

void jauth_free(char *s)
{
	wipe_free(s);
}
