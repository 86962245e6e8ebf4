/* cmd_simple.c — jauth refresh [--all] and jauth revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* The one positional argument, SERVICE, and the ALLOWED flags; -1 to go
 * on, else an exit status. */
static int one_service(const struct command *c, int argc, char **argv,
		       unsigned allowed, struct flags *f, const char **service)
{
	int first, status = command_args(c, argc, argv, allowed, f, &first);
	if (status >= 0)
		return status;
	if ((status = args_count(c, argc, argv, first, 1, 1)) >= 0)
		return status;
	*service = argv[first];
	return -1;
}

/* The credential C (without its secret) as JSON. */
static cJSON *cred_json(const jauth_cred *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "source", jauth_cred_source(c));
	cJSON_AddStringToObject(o, "module", jauth_cred_module(c));
	cJSON_AddStringToObject(o, "scheme", jauth_cred_scheme(c));
	cJSON_AddStringToObject(o, "base_url", jauth_cred_base_url(c));
	if (jauth_cred_expires_at(c))
		cJSON_AddNumberToObject(o, "expires_at",
					(double)jauth_cred_expires_at(c));
	else
		cJSON_AddNullToObject(o, "expires_at");
	return o;
}

/* What connectors still get after a refresh that failed for now (the
 * token endpoint down, the disk full): the credential a fresh handle is
 * given — the stored one while it has not expired — or NULL. The command
 * still failed, its job was a new token, but the admin learns that
 * nothing stops working yet. A denied grant or a refused stack serves
 * nothing. The refreshing handle cannot tell: it backs off after the
 * failure. Returns a cJSON {source, module, scheme, base_url, expires_at}
 * (no secret), or NULL. */
static cJSON *still_serving(struct cli *cli, const char *service,
			    jauth_result r)
{
	jauth *h = NULL;
	const jauth_cred *c;
	cJSON *o = NULL;
	if (r == JAUTH_DENIED || r == JAUTH_CONFIG)
		return NULL;
	if (jauth_open(service, &cli->opt, &h) == JAUTH_SUCCESS &&
	    jauth_acquire(h, &c) == JAUTH_SUCCESS &&
	    (!jauth_cred_expires_at(c) ||
	     jauth_cred_expires_at(c) > time(NULL)))
		o = cred_json(c);
	jauth_close(h);
	return o;
}

/* Prints the outcome of SERVICE's refresh R (C: the new credential). */
static int refresh_report(struct cli *cli, jauth *h, const char *service,
			  jauth_result r, const jauth_cred *c, int json)
{
	time_t now = time(NULL);
	const char *err = r == JAUTH_SUCCESS ? "" : jauth_error(h);
	char *msg =
		strdup(*err || r == JAUTH_SUCCESS ? err : jauth_result_name(r));
	cJSON *old = r == JAUTH_SUCCESS ? NULL : still_serving(cli, service, r);
	const cJSON *exp = cJSON_GetObjectItem(old, "expires_at");
	if (json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "service", service);
		cJSON_AddStringToObject(doc, "result", jauth_result_name(r));
		cJSON_AddStringToObject(doc, "error", msg ? msg : "");
		cJSON_AddItemToObject(doc, "credential",
				      c ? cred_json(c) : cJSON_CreateNull());
		cJSON_AddItemToObject(doc, "still_serving",
				      old ? cJSON_Duplicate(old, 1)
					  : cJSON_CreateNull());
		json_out(doc);
		cJSON_Delete(doc);
	} else if (r == JAUTH_SUCCESS) {
		printf("refreshed: %s (%s), %s credential, expires %s\n",
		       jauth_cred_source(c), jauth_cred_module(c),
		       jauth_cred_scheme(c),
		       when(jauth_cred_expires_at(c), now));
	} else if (old) {
		fail(0, "%s; the current credential (%s) still serves%s%s",
		     msg ? msg : "",
		     cJSON_GetObjectItem(old, "source")->valuestring,
		     cJSON_IsNumber(exp) ? " until " : "",
		     cJSON_IsNumber(exp) ? when((time_t)exp->valuedouble, now)
					 : "");
	} else {
		fail(0, "%s", msg ? msg : "");
	}
	cJSON_Delete(old);
	free(msg);
	return exit_of(r);
}

/* Refreshes SERVICE; prints the outcome (JSON: as one document).
 * Returns the exit status. */
static int refresh_one(struct cli *cli, const char *service, int json)
{
	static const char *const fields[] = { "credential", "still_serving",
					      NULL };
	int status;
	jauth *h =
		open_service_json(cli, service, &status, json ? fields : NULL);
	if (!h)
		return status;
	const jauth_cred *c = NULL;
	jauth_result r = jauth_refresh(h, &c);
	status = refresh_report(cli, h, service, r,
				r == JAUTH_SUCCESS ? c : NULL, json);
	jauth_close(h);
	return status;
}

/* How bad an exit status is, for --all: a config error (nothing of it can
 * work) over denied, unavailable, transient (it may work later). */
static int badness(int status)
{
	static const int rank[] = {
		[EXIT_OK] = 0,	   [EXIT_TRANSIENT] = 1, [EXIT_UNAVAILABLE] = 2,
		[EXIT_DENIED] = 3, [EXIT_OTHER] = 4,	 [EXIT_USAGE] = 5
	};
	return status >= 0 && status <= EXIT_TRANSIENT ? rank[status] : 5;
}

/* Every service on the conf path, each on its own; the worst status. */
static int refresh_all(struct cli *cli, int json)
{
	char *text = NULL;
	if (jauth_services(&cli->opt, &text) != JAUTH_SUCCESS)
		return fail(EXIT_OTHER, "cannot list the services");
	cJSON *arr = cJSON_Parse(text), *it;
	jauth_free(text);
	int worst = EXIT_OK, n = 0;
	cJSON_ArrayForEach (it, arr) {
		cJSON *s = cJSON_GetObjectItem(it, "service");
		int st = refresh_one(cli, s->valuestring, json);
		worst = badness(st) > badness(worst) ? st : worst;
		n++;
	}
	cJSON_Delete(arr);
	if (!n)
		return no_stacks(cli);
	return worst;
}

/* Takes --all out of ARGV (the flag parser knows only the shared flags);
 * 1 if it was there. */
static int take_all(int *argc, char **argv)
{
	for (int i = 1; i < *argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--all") == 0) {
			memmove(&argv[i], &argv[i + 1],
				(size_t)(*argc - i) * sizeof *argv);
			--*argc;
			return 1;
		}
	return 0;
}

static int run_refresh(struct cli *cli, int argc, char **argv)
{
	struct flags f;
	int all = take_all(&argc, argv), first;
	int status =
		command_args(&cmd_refresh, argc, argv, FLAG_JSON, &f, &first);
	if (status >= 0)
		return status;
	status =
		args_count(&cmd_refresh, argc, argv, first, !all, all ? 0 : -1);
	if (status >= 0)
		return status;
	if (all)
		return refresh_all(cli, f.json);
	/* SERVICE… (DESIGN §7): each on its own, the worst status */
	int worst = EXIT_OK;
	for (int i = first; i < argc; i++) {
		int st = refresh_one(cli, argv[i], f.json);
		worst = badness(st) > badness(worst) ? st : worst;
	}
	return worst;
}

/* 1 when the revoke may go ahead: --yes, no terminal to ask on (scripts,
 * cron: as rm without -i), or the admin said yes. */
static int revoke_confirmed(const char *service, const struct flags *f)
{
	if (f->yes || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 1;
	return confirm("Forget the stored grant and tokens of %s? Connectors "
		       "using it stop working until a new consent",
		       service);
}

static int run_revoke(struct cli *cli, int argc, char **argv)
{
	const char *service = NULL;
	struct flags f;
	int status = one_service(&cmd_revoke, argc, argv, FLAG_YES | FLAG_JSON,
				 &f, &service);
	if (status >= 0)
		return status;
	static const char *const fields[] = { "steps", NULL };
	jauth *h = open_service_json(cli, service, &status,
				     f.json ? fields : NULL);
	if (!h)
		return status;
	if (!revoke_confirmed(service, &f)) {
		jauth_close(h);
		return fail(EXIT_OTHER, "not revoked: nothing was changed "
					"(--yes skips the question)");
	}
	char *steps = NULL;
	jauth_result r = jauth_revoke(h, &steps);
	if (f.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "service", service);
		cJSON_AddStringToObject(doc, "result", jauth_result_name(r));
		cJSON_AddStringToObject(doc, "error",
					r == JAUTH_SUCCESS ? ""
							   : jauth_error(h));
		cJSON_AddStringToObject(doc, "steps", steps ? steps : "");
		json_out(doc);
		cJSON_Delete(doc);
		status = exit_of(r);
	} else {
		if (steps && *steps)
			printf("%s", steps);
		status = r == JAUTH_SUCCESS ? EXIT_OK : fail_handle(h, r);
	}
	jauth_free(steps);
	jauth_close(h);
	return status;
}

const struct command cmd_refresh = {
	.name = "refresh",
	.args = "SERVICE... | --all [--json]",
	.summary = "force a refresh now",
	.help = "Runs each SERVICE's stack with every module's refresh: an OAuth "
		"grant gets new\ntokens (the rotated refresh token is saved "
		"first), an API token is read again\nfrom its file or "
		"variable. Run it from cron to keep an idle OAuth grant "
		"alive\n(Atlassian drops refresh tokens unused for 90 days).\n"
		"When the token endpoint cannot be reached the exit status is 5, "
		"and the error\nsays until when the current access token still "
		"serves connectors. --json\nprints {\"service\", \"result\", "
		"\"error\", \"credential\", \"still_serving\"}.\n"
		"Several SERVICEs, or --all (every service of the conf path), "
		"are refreshed each\non its own (with --json, one object per "
		"service), and the exit status is the\nworst (2 over 1, 4, 3, "
		"5). Run it as the user the connectors run as: their\ngrants "
		"are in that user's state directory.\n",
	.run = run_refresh,
};

const struct command cmd_revoke = {
	.name = "revoke",
	.args = "SERVICE [--yes] [--json]",
	.summary = "forget the grant/token, print the admin's remaining steps",
	.help = "Forgets what jauth stores for every line of SERVICE (the OAuth "
		"grant, cached\ntokens) and prints what the admin still has to do "
		"at Atlassian: Atlassian has\nno revoke endpoint for these "
		"credentials. On a terminal it asks first; --yes\n(-y) does not "
		"ask, and neither does a run without a terminal (scripts, "
		"cron).\n--json prints {\"service\", \"result\", \"error\", "
		"\"steps\"}.\n",
	.run = run_revoke,
};
