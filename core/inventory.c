/* inventory.c — what is installed: lint of stacks, the list of services and
 * of modules. None of these touch the network or the state store. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

jauth_result jauth_lint(const char *service, const struct jauth_options *opt,
			char **report)
{
	*report = NULL;
	struct jauth *h = handle_new(service, opt);
	if (!h)
		return JAUTH_ERROR;
	struct problems p = {.all = 1};
	if (!service || !service_name_ok(service)) {
		problem(&p, "\"%s\" is not a service name: letters, digits, "
			    "'.', '_', '-', at most 64, no '/'",
			service ? service : "(null)");
	} else {
		stack_free(stack_load(h, service, &p));
	}
	*report = problems_join(&p);
	jauth_result rc = p.n ? JAUTH_CONFIG : JAUTH_SUCCESS;
	problems_free(&p);
	jauth_close(h);
	return rc;
}

/* Calls FN for every entry of every directory of the colon-separated PATH,
 * directories in order. */
static void each_entry(const char *path, void (*fn)(const char *dir,
						    const char *name, void *),
		       void *ctx)
{
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, ":");
		char *dir = xstrndup(s, n);
		DIR *d = n ? opendir(dir) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				fn(dir, e->d_name, ctx);
		if (d)
			closedir(d);
		free(dir);
		s += n;
		if (*s == ':')
			s++;
	}
}

/* The first entry of a name wins, as in the search. */
static int listed(cJSON *arr, const char *key, const char *name)
{
	cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);
		if (cJSON_IsString(v) && strcmp(v->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

static void add_service(const char *dir, const char *name, void *ctx)
{
	cJSON *arr = ctx;
	if (!service_name_ok(name) || listed(arr, "service", name))
		return;
	cJSON *o = cJSON_CreateObject();
	char *file = xasprintf("%s/%s", dir, name);
	cJSON_AddStringToObject(o, "service", name);
	cJSON_AddStringToObject(o, "file", file);
	cJSON_AddItemToArray(arr, o);
	free(file);
}

jauth_result jauth_services(const struct jauth_options *opt, char **json)
{
	cJSON *arr = cJSON_CreateArray();
	each_entry(conf_path_of(opt ? opt->conf_path : NULL), add_service, arr);
	*json = cJSON_Print(arr);
	cJSON_Delete(arr);
	return *json ? JAUTH_SUCCESS : JAUTH_ERROR;
}

static void add_module(const char *dir, const char *name, void *ctx)
{
	cJSON *arr = ctx;
	size_t n = strlen(name);
	if (n < 4 || strcmp(name + n - 3, ".so") != 0 ||
	    listed(arr, "file", name))
		return;
	char *path = xasprintf("%s/%s", dir, name), *why = NULL, abi[16];
	struct module mod;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "file", name);
	cJSON_AddStringToObject(o, "path", path);
	if (module_load(dir, name, &mod, &why) == 0) {
		cJSON_AddStringToObject(o, "name", mod.ops->name);
		cJSON_AddStringToObject(o, "version", mod.ops->version);
		cJSON_AddStringToObject(o, "abi",
					abi_text(mod.ops->abi, abi, sizeof abi));
		module_unload(&mod);
	} else {
		cJSON_AddStringToObject(o, "error", why);
		free(why);
	}
	cJSON_AddItemToArray(arr, o);
	free(path);
}

jauth_result jauth_modules(const struct jauth_options *opt, char **json)
{
	cJSON *arr = cJSON_CreateArray();
	each_entry(module_path_of(opt ? opt->module_path : NULL), add_module,
		   arr);
	*json = cJSON_Print(arr);
	cJSON_Delete(arr);
	return *json ? JAUTH_SUCCESS : JAUTH_ERROR;
}
