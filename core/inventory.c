/* inventory.c — what is installed: lint of stacks, the list of services and
 * of modules. None of these touch the network or the state store. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* One directory entry of a search path. */
struct entry {
	char *dir, *name;
	size_t order; /* the directory's place in the path */
	int isdir;    /* a directory (or a link to one), not a file */
	int shadows;  /* it hides an entry of the same name further on */
};

/* 1 when entry E of directory D is a directory, links followed. */
static int entry_is_dir(DIR *d, const struct dirent *e)
{
	struct stat st;
	if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
		return e->d_type == DT_DIR;
	return fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

struct entries {
	struct entry *v;
	size_t n, cap;
};

/* Every entry of every directory of the colon-separated PATH that KEEP
 * accepts. */
static void collect(const char *path, int (*keep)(const char *name),
		    struct entries *out)
{
	size_t order = 0;
	for (const char *s = path; *s; order++) {
		size_t n = strcspn(s, ":");
		char *dir = xstrndup(s, n);
		DIR *d = n ? opendir(dir) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.' || !keep(e->d_name))
				continue;
			if (out->n == out->cap) {
				out->cap = out->cap ? 2 * out->cap : 64;
				out->v = realloc(out->v,
						 out->cap * sizeof *out->v);
				if (!out->v)
					abort();
			}
			out->v[out->n++] =
				(struct entry){ xstrdup(dir),
						xstrdup(e->d_name), order,
						entry_is_dir(d, e), 0 };
		}
		if (d)
			closedir(d);
		free(dir);
		s += n;
		if (*s == ':')
			s++;
	}
}

static int by_name_then_order(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Sorts by name; of several entries of one name only the first directory's
 * is kept, as in the search. */
static void sort_unique(struct entries *es)
{
	size_t kept = 0;
	if (!es->n) /* v is NULL then, which qsort must not get */
		return;
	qsort(es->v, es->n, sizeof *es->v, by_name_then_order);
	for (size_t i = 0; i < es->n; i++) {
		if (kept && strcmp(es->v[kept - 1].name, es->v[i].name) == 0) {
			es->v[kept - 1].shadows |= !es->v[i].isdir;
			free(es->v[i].dir);
			free(es->v[i].name);
			continue;
		}
		es->v[kept++] = es->v[i];
	}
	es->n = kept;
}

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->v[i].dir);
		free(es->v[i].name);
	}
	free(es->v);
}

static int is_module_file(const char *name)
{
	size_t n = strlen(name);
	return n >= 4 && strcmp(name + n - 3, ".so") == 0;
}

static cJSON *service_json(const struct entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char *file = xasprintf("%s/%s", e->dir, e->name);
	cJSON_AddStringToObject(o, "service", e->name);
	cJSON_AddStringToObject(o, "file", file);
	free(file);
	return o;
}

static cJSON *module_json(const struct entry *e)
{
	char *path = xasprintf("%s/%s", e->dir, e->name), *why = NULL, abi[16];
	struct module mod;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "file", e->name);
	cJSON_AddStringToObject(o, "path", path);
	if (module_load(e->dir, e->name, &mod, &why) == 0) {
		cJSON_AddStringToObject(o, "name", mod.ops->name);
		cJSON_AddStringToObject(o, "version", mod.ops->version);
		cJSON_AddStringToObject(o, "abi",
					abi_text(mod.ops->abi, abi,
						 sizeof abi));
		module_unload(&mod);
	} else { /* the same shape: what a refused module says is unknown */
		cJSON_AddNullToObject(o, "name");
		cJSON_AddNullToObject(o, "version");
		cJSON_AddNullToObject(o, "abi");
		cJSON_AddStringToObject(o, "error", why);
		free(why);
	}
	free(path);
	return o;
}

/* 1 when a stack on the path other than SERVICE reads FILE: includes it
 * or substacks it, directly or deeper. */
static int read_by_another(struct jauth *h, const char *service,
			   const char *file)
{
	struct entries es = { 0 };
	int found = 0;
	collect(h->conf_path, service_name_ok, &es);
	sort_unique(&es);
	for (size_t i = 0; i < es.n && !found; i++) {
		if (strcmp(es.v[i].name, service) == 0)
			continue;
		struct problems p = { .all = 1 };
		struct stack *st = stack_load(h, es.v[i].name, &p);
		for (size_t j = 0; st && j < st->nstamps && !found; j++)
			found = strcmp(st->stamps[j].path, file) == 0;
		stack_free(st);
		problems_free(&p);
	}
	entries_free(&es);
	return found;
}

/* Drops the one problem of P when it is that SERVICE has no module lines
 * and another stack on the path reads its file: an include fragment. */
static void fragment_ok(struct jauth *h, const char *service,
			struct problems *p)
{
	char *file = conf_find(h->conf_path, service);
	if (file && p->n == 1 &&
	    strstr(p->v[0], "the stack has no module lines") &&
	    read_by_another(h, service, file)) {
		free(p->v[0]);
		p->n = 0;
	}
	free(file);
}

jauth_result jauth_lint(const char *service, const struct jauth_options *opt,
			char **report)
{
	if (!report)
		return JAUTH_ERROR;
	*report = NULL;
	struct jauth *h = handle_new(service, opt);
	if (!h)
		return JAUTH_ERROR;
	struct problems p = { .all = 1 };
	if (!service) {
		problem(&p, "no service name given: pass the name of a "
			    "stack, e.g. \"jira\"");
	} else if (!service_name_ok(service)) {
		problem(&p,
			"\"%s\" is not a service name: use 1 to 64 "
			"letters, digits, '.', '_', '-', starting with a "
			"letter or digit, without '/' or '..'",
			service);
	} else {
		stack_free(stack_load(h, service, &p));
		if (opt && opt->flags & JAUTH_LINT_FRAGMENTS)
			fragment_ok(h, service, &p);
	}
	problems_redact(&h->red, &p, 0); /* as jauth_open's message is */
	*report = problems_join(&p);
	jauth_result rc = p.n ? JAUTH_CONFIG : JAUTH_SUCCESS;
	problems_free(&p);
	jauth_close(h);
	return rc;
}

/* The JSON array of the path's entries that KEEP accepts, by name. */
static jauth_result listing(const char *path, int (*keep)(const char *),
			    cJSON *(*json)(const struct entry *), char **out)
{
	if (!out)
		return JAUTH_ERROR;
	struct entries es = { 0 };
	cJSON *arr = cJSON_CreateArray();
	collect(path, keep, &es);
	sort_unique(&es);
	/* A subdirectory is no stack or module; one that hides a file of its
	 * name further on stays, so that lint reports what open would. */
	for (size_t i = 0; i < es.n; i++)
		if (!es.v[i].isdir || es.v[i].shadows)
			cJSON_AddItemToArray(arr, json(&es.v[i]));
	entries_free(&es);
	*out = cJSON_Print(arr);
	cJSON_Delete(arr);
	return *out ? JAUTH_SUCCESS : JAUTH_ERROR;
}

jauth_result jauth_services(const struct jauth_options *opt, char **json)
{
	return listing(conf_path_of(opt ? opt->conf_path : NULL),
		       service_name_ok, service_json, json);
}

jauth_result jauth_modules(const struct jauth_options *opt, char **json)
{
	return listing(module_path_of(opt ? opt->module_path : NULL),
		       is_module_file, module_json, json);
}
