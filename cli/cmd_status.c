/*
 * cmd_status.c — jauth status SERVICE [--json]: runs the stack once (as a
 * connector would), then shows every line with its module's status, the
 * line in force, warnings and the last reload error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* How many blank-separated words S has. */
static int words(const char *s)
{
	int n = 0;
	for (const char *p = s; *p; p++)
		n += *p != ' ' && (p == s || p[-1] == ' ');
	return n;
}

/* "22 scopes + offline_access": counted as the docs and the console
 * count them, offline_access apart. */
static void print_scope_count(const char *scopes)
{
	const char *o = strstr(scopes, "offline_access");
	int offline = o && (o == scopes || o[-1] == ' ') &&
		      (o[14] == ' ' || o[14] == '\0');
	printf("%d scopes%s (status --json lists them)\n",
	       words(scopes) - offline, offline ? " + offline_access" : "");
}

/* One "key  value" row of a module's status, times made readable and long
 * scope lists counted (--json has them in full). */
static void field(const cJSON *f, time_t now)
{
	size_t n = strlen(f->string);
	printf("    %-22s ", f->string);
	if (cJSON_IsNumber(f) && n > 3 && strcmp(f->string + n - 3, "_at") == 0)
		printf("%s\n", when((time_t)f->valuedouble, now));
	else if (cJSON_IsString(f) && strncmp(f->string, "scopes", 6) == 0 &&
		 words(f->valuestring) > 3)
		print_scope_count(f->valuestring);
	else if (cJSON_IsNumber(f))
		printf("%.0f\n", f->valuedouble);
	else if (cJSON_IsString(f))
		printf("%s\n", *f->valuestring ? f->valuestring : "-");
	else if (cJSON_IsBool(f))
		printf("%s\n", cJSON_IsTrue(f) ? "yes" : "no");
	else
		printf("-\n");
}

static int print_lines(const cJSON *lines, time_t now, int depth);

/* A line and its module's status; returns how many warnings it has. */
static int print_line(const cJSON *ln, time_t now, int depth)
{
	const cJSON *st = cJSON_GetObjectItem(ln, "status"), *f;
	int warnings = 0;
	printf("%*s%s  %s  %s", depth * 2, "", str(ln, "source"),
	       str(ln, "control"),
	       str(ln, "module") ? str(ln, "module") : "substack");
	if (str(ln, "substack")) {
		printf(" %s\n", str(ln, "substack"));
		return print_lines(cJSON_GetObjectItem(ln, "lines"), now,
				   depth + 1);
	}
	printf(" %s (ABI %s)\n", str(ln, "version"), str(ln, "abi"));
	cJSON_ArrayForEach (f, st) {
		if (strcmp(f->string, "warnings") != 0)
			field(f, now);
	}
	cJSON_ArrayForEach (f, cJSON_GetObjectItem(st, "warnings")) {
		printf("    warning: %s\n", f->valuestring);
		warnings++;
	}
	return warnings;
}

static int print_lines(const cJSON *lines, time_t now, int depth)
{
	const cJSON *ln;
	int warnings = 0;
	cJSON_ArrayForEach (ln, lines)
		warnings += print_line(ln, now, depth);
	return warnings;
}

/* The note of a connector that runs on and refused the file as it is now
 * (reload.c keeps it honest: an exited connector or a changed file makes
 * no note). */
static void print_refusal(const cJSON *other, time_t now)
{
	if (!cJSON_IsObject(other) || !str(other, "error"))
		return;
	const cJSON *in = cJSON_GetObjectItem(other, "in_force"), *ln;
	printf("          a running connector (pid %.0f) refused this file "
	       "%s and keeps its previous stack in force:\n          %s\n",
	       cJSON_GetObjectItem(other, "pid")->valuedouble,
	       when((time_t)cJSON_GetObjectItem(other, "at")->valuedouble, now),
	       str(other, "error"));
	if (str(in, "file"))
		printf("in force  %s, as it was before the edit:\n",
		       str(in, "file"));
	cJSON_ArrayForEach (ln, cJSON_GetObjectItem(in, "lines"))
		printf("  %s  %s  %s\n", str(ln, "source"), str(ln, "control"),
		       str(ln, "module") ? str(ln, "module")
					 : str(ln, "substack"));
}

/* A stack that cannot be loaded: its error (stderr, as for every
 * command), and what a running connector still does with the previous
 * version, if one refused this very file. */
static int status_unloadable(jauth *h, jauth_result r, int json)
{
	char *text = NULL;
	if (h)
		jauth_status(h, &text);
	cJSON *doc = text ? cJSON_Parse(text) : NULL;
	jauth_free(text);
	int status = fail(exit_of(r), "%s", jauth_error(h));
	if (doc && json) {
		char *out = cJSON_Print(doc);
		printf("%s\n", out);
		cJSON_free(out);
	} else if (cJSON_IsObject(
			   cJSON_GetObjectItem(doc, "reload_error_reported"))) {
		time_t now =
			(time_t)cJSON_GetObjectItem(doc, "now")->valuedouble;
		printf("service   %s: the stack cannot be loaded\n",
		       str(doc, "service"));
		printf("reload    %s\n", str(doc, "error"));
		print_refusal(cJSON_GetObjectItem(doc, "reload_error_reported"),
			      now);
	}
	cJSON_Delete(doc);
	jauth_close(h);
	return status;
}

/* The store: where, and for a shared one each record's generation, lock
 * holder and last writer. */
/* Which records are sealed at rest and which are in clear. */
static void print_sealing(const cJSON *enc)
{
	const cJSON *rec;
	int key = cJSON_IsTrue(cJSON_GetObjectItem(enc, "key"));
	cJSON_ArrayForEach(rec, cJSON_GetObjectItem(enc, "records"))
	{
		int sealed = cJSON_IsTrue(cJSON_GetObjectItem(rec, "sealed"));
		printf("          %s: %s\n", str(rec, "name"),
		       sealed ? "sealed (encrypted at rest)"
		       : key  ? "in clear: seal it with jauth store rekey"
			      : "in clear (no key= on the store line)");
	}
}

static void print_store(const cJSON *st, time_t now)
{
	const cJSON *rec;
	if (!cJSON_IsObject(st) || !str(st, "where")) {
		printf("store     files in %s\n", st ? str(st, "dir") : "?");
		print_sealing(cJSON_GetObjectItem(st, "encryption"));
		return;
	}
	printf("store     %s\n", str(st, "where"));
	print_sealing(cJSON_GetObjectItem(st, "encryption"));
	if (str(st, "error"))
		printf("          %s\n", str(st, "error"));
	cJSON_ArrayForEach(rec, cJSON_GetObjectItem(st, "records"))
	{
		const cJSON *at = cJSON_GetObjectItem(rec, "updated_at");
		printf("          %s.%s: generation %.0f, written by %s %s, "
		       "lock %s\n",
		       str(rec, "module"), str(rec, "key"),
		       cJSON_GetObjectItem(rec, "generation")->valuedouble,
		       str(rec, "updated_by") ? str(rec, "updated_by") : "?",
		       at ? when((time_t)at->valuedouble, now) : "",
		       str(rec, "locked_by") ? str(rec, "locked_by") : "free");
	}
}

static void print_human(cJSON *doc, jauth_result r, const char *err)
{
	time_t now = (time_t)cJSON_GetObjectItem(doc, "now")->valuedouble;
	const cJSON *act = cJSON_GetObjectItem(doc, "active");
	printf("service   %s (%s)\n", str(doc, "service"), str(doc, "file"));
	if (cJSON_IsObject(act))
		printf("in force  %s (%s): %s credential, expires %s\n",
		       str(act, "source"), str(act, "module"),
		       str(act, "scheme"),
		       when((time_t)cJSON_GetObjectItem(act, "expires_at")
				    ->valuedouble,
			    now));
	else
		printf("in force  nothing: %s: %s\n", jauth_result_name(r),
		       err);
	printf("state     %s\n", str(doc, "state_dir"));
	print_store(cJSON_GetObjectItem(doc, "store"), now);
	const cJSON *failures = cJSON_GetObjectItem(doc, "failures");
	if (cJSON_IsNumber(failures) && failures->valuedouble > 0)
		printf("backoff   %.0f failed round%s in a row, next try %s: "
		       "%s\n",
		       failures->valuedouble,
		       failures->valuedouble == 1 ? "" : "s",
		       when((time_t)cJSON_GetObjectItem(doc, "retry_at")
				    ->valuedouble,
			    now),
		       str(doc, "last_failure") ? str(doc, "last_failure")
						: "-");
	printf("\n");
	int warnings = print_lines(cJSON_GetObjectItem(doc, "lines"), now, 0);
	const char *reload = str(doc, "reload_error");
	printf("\nreload    %s\n", reload ? reload : "ok");
	print_refusal(cJSON_GetObjectItem(doc, "reload_error_reported"), now);
	if (warnings)
		printf("%d warning%s above\n", warnings,
		       warnings == 1 ? "" : "s");
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o, json = 0, status;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (o == 'h')
			return command_help(&cmd_status), EXIT_OK;
		if (o != 'j')
			return usage(&cmd_status);
		json = 1;
	}
	if ((status = args_count(&cmd_status, argc, argv, optind, 1, 1)) >= 0)
		return status;
	jauth *h = NULL;
	jauth_result r = jauth_open(argv[optind], &cli->opt, &h);
	if (r != JAUTH_SUCCESS)
		return status_unloadable(h, r, json);
	const jauth_cred *c;
	r = jauth_acquire(h, &c);
	char *text = NULL;
	if (jauth_status(h, &text) != JAUTH_SUCCESS) {
		status = fail_handle(h, JAUTH_ERROR);
		jauth_close(h);
		return status;
	}
	cJSON *doc = cJSON_Parse(text);
	jauth_free(text);
	cJSON *acq = cJSON_AddObjectToObject(doc, "acquire");
	cJSON_AddStringToObject(acq, "result", jauth_result_name(r));
	cJSON_AddStringToObject(acq, "error", jauth_error(h));
	if (json) {
		char *out = cJSON_Print(doc);
		printf("%s\n", out);
		cJSON_free(out);
	} else {
		print_human(doc, r, jauth_error(h));
	}
	cJSON_Delete(doc);
	jauth_close(h);
	return exit_of(r);
}

const struct command cmd_status = {
	.name = "status",
	.args = "SERVICE [--json]",
	.summary = "which line is in force, expiries, warnings, reload errors",
	.help = "Runs SERVICE's stack once, as a connector would (an OAuth token "
		"due for refresh\nis refreshed), then prints every line with "
		"what its module knows: the site,\nscopes, expiries, the age of "
		"the grant and how long its refresh token has been\nidle, and "
		"warnings. --json prints the same as a JSON document for "
		"scripts. The\nexit status is the stack's result (0 when a "
		"credential is in force).\nWhen the stack file cannot be "
		"loaded, the error goes to stderr (exit 2) and,\nif a running "
		"connector refused this very file and keeps its previous "
		"stack,\nthat stack and the refusal are printed (--json: "
		"\"reload_error_reported\").\n",
	.run = run,
};
