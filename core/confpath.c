/* confpath.c — where stacks and modules are looked for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63} without "..", as jauth.conf(5) says. */
int service_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && strchr(ALNUM, name[0]) &&
	       chars_ok(name, n, 64, ALNUM "._-") && !strstr(name, "..");
}

const char *conf_path_of(const char *opt)
{
	const char *env = secure_getenv("JAUTH_CONF_PATH");
	if (opt && *opt)
		return opt;
	return env && *env ? env : JAUTH_DEFAULT_CONF_PATH;
}

const char *module_path_of(const char *opt)
{
	const char *env = secure_getenv("JAUTH_MODULE_PATH");
	if (opt && *opt)
		return opt;
	return env && *env ? env : JAUTH_MODULEDIR;
}

int conf_exists(const char *f)
{
	struct stat st;
	/* A file jauth may not look at (a directory it cannot search) may
	 * be there: it counts, so that the open reports it. */
	return lstat(f, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

char *conf_pick(const char *path, const char *service)
{
	size_t n = strcspn(path, ":");
	if (n > 0 && !path[n])
		return xasprintf("%s/%s", path, service);
	return conf_find(path, service);
}

/* Walks the colon-separated PATH; the first DIR/SERVICE that exists wins,
 * whatever its kind, so that a broken admin file is reported rather than
 * silently skipped in favour of the vendor's. */
char *conf_find(const char *path, const char *service)
{
	const char *s = path;
	while (*s) {
		size_t n = strcspn(s, ":");
		if (n > 0) {
			char *f = xasprintf("%.*s/%s", (int)n, s, service);
			if (conf_exists(f))
				return f;
			free(f);
		}
		s += n;
		if (*s == ':')
			s++;
	}
	return NULL;
}
