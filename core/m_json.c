/* m_json.c — JSON for modules: cJSON, plus the checks every module would
 * otherwise write ("field X missing or wrong type"). */
#include <math.h>
#include <string.h>

#include "internal.h"

jauth_result jauth_m_json_parse(jauth_m *m, const char *what, const char *text,
				cJSON **out)
{
	/* require_null_terminated: "{…} junk" and "{…}{…}" are not one
	 * document. */
	*out = text ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
	if (!*out)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s is not JSON (one object or array, "
				    "nothing after it)",
				    what);
	if (!cJSON_IsObject(*out) && !cJSON_IsArray(*out)) {
		jauth_m_json_free(*out);
		*out = NULL;
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s is not a JSON object or array", what);
	}
	return JAUTH_SUCCESS;
}

/* Field NAME of OBJ if it occurs exactly once, else NULL; *twice tells
 * which. A duplicated field is refused: which copy counts is not defined. */
static const cJSON *field(const cJSON *obj, const char *name, int *twice)
{
	const cJSON *it, *found = NULL;
	*twice = 0;
	if (!cJSON_IsObject(obj))
		return NULL;
	cJSON_ArrayForEach (it, obj) {
		if (!it->string || strcmp(it->string, name) != 0)
			continue;
		if (found) {
			*twice = 1;
			return NULL;
		}
		found = it;
	}
	return found;
}

jauth_result jauth_m_json_str(jauth_m *m, const char *what, const cJSON *obj,
			      const char *name, const char **out)
{
	int twice;
	const cJSON *f = field(obj, name, &twice);
	*out = NULL;
	if (twice)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s: field \"%s\" is given twice", what,
				    name);
	if (!cJSON_IsString(f) || !f->valuestring)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s: field \"%s\" is missing or not a "
				    "string",
				    what, name);
	*out = f->valuestring;
	return JAUTH_SUCCESS;
}

jauth_result jauth_m_json_num(jauth_m *m, const char *what, const cJSON *obj,
			      const char *name, double *out)
{
	int twice;
	const cJSON *f = field(obj, name, &twice);
	*out = 0;
	if (twice)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s: field \"%s\" is given twice", what,
				    name);
	if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s: field \"%s\" is missing or not a "
				    "number",
				    what, name);
	*out = f->valuedouble;
	return JAUTH_SUCCESS;
}

/* Wipes ITEM's own strings: a reference item's value belongs to the
 * caller, and a constant key (cJSON_StringIsConst) is nobody's copy. */
static void wipe_item(cJSON *it)
{
	if (it->valuestring && !(it->type & cJSON_IsReference))
		explicit_bzero(it->valuestring, strlen(it->valuestring));
	if (it->string && !(it->type & cJSON_StringIsConst))
		explicit_bzero(it->string, strlen(it->string));
}

static void wipe_tree(cJSON *item)
{
	for (cJSON *it = item; it; it = it->next) {
		wipe_item(it);
		if (!(it->type & cJSON_IsReference))
			wipe_tree(it->child);
	}
}

void jauth_m_json_free(cJSON *item)
{
	if (!item)
		return;
	wipe_item(item);
	if (!(item->type & cJSON_IsReference))
		wipe_tree(item->child);
	cJSON_Delete(item);
}
