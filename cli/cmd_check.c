/*
 * cmd_check.c — jauth check SERVICE: calls GET {base}/rest/api/3/myself
 * with the credential, as a connector would, and reports a refusal back
 * to the stack (which refreshes once) before giving up. The call goes
 * through the library's HTTP client (jauth_http_get): its retries, TLS
 * settings of the credential's line, caps and masking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jauth/module.h>

#include "cli.h"

static const char *const account_keys[] = { "accountId", "displayName",
					    "emailAddress" };

/* The account of answer B, for --json: {accountId, displayName,
 * emailAddress}, each a string or null. */
static cJSON *account_json(const struct jauth_http_answer *b)
{
	cJSON *j = b->body ? cJSON_Parse(b->body) : NULL;
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < 3; i++) {
		cJSON *f = cJSON_GetObjectItem(j, account_keys[i]);
		cJSON_AddItemToObject(o, account_keys[i],
				      cJSON_IsString(f)
					      ? cJSON_CreateString(
							f->valuestring)
					      : cJSON_CreateNull());
	}
	cJSON_Delete(j);
	return o;
}

static void print_account(const struct jauth_http_answer *b,
			  const jauth_cred *c)
{
	cJSON *j = b->body ? cJSON_Parse(b->body) : NULL;
	char *v[3]; /* Jira's text, escaped for the terminal */
	for (int i = 0; i < 3; i++) {
		cJSON *f = cJSON_GetObjectItem(j, account_keys[i]);
		v[i] = jauth_m_clean(NULL,
				     cJSON_IsString(f) ? f->valuestring : "-");
	}
	printf("ok: Jira accepts the credential of %s (%s)\n"
	       "  account  %s\n  name     %s\n  email    %s\n  base     %s\n",
	       jauth_cred_source(c), jauth_cred_module(c), v[0], v[1], v[2],
	       jauth_cred_base_url(c));
	for (int i = 0; i < 3; i++)
		free(v[i]);
	cJSON_Delete(j);
}

/* GET {base}/rest/api/3/myself with C. Returns the exit status, or -1
 * when Jira refused the credential (*http says how). With DOC (--json),
 * the account goes there instead of stdout. */
static int myself(jauth *h, const jauth_cred *c, long *http, cJSON *doc)
{
	char *url = NULL;
	if (asprintf(&url, "%s/rest/api/3/myself", jauth_cred_base_url(c)) < 0)
		return fail(EXIT_OTHER, "out of memory");
	struct jauth_http_answer a;
	jauth_result r = jauth_http_get(h, jauth_cred_source(c), url,
					jauth_cred_authorization(c), &a);
	int status = EXIT_OK;
	*http = a.status;
	if (r != JAUTH_SUCCESS)
		status = fail_handle(h, r);
	else if (a.status == 200 && doc)
		cJSON_ReplaceItemInObject(doc, "account", account_json(&a));
	else if (a.status == 200)
		print_account(&a, c);
	else if (a.status == 401 || a.status == 403)
		status = -1;
	else
		status =
			fail(EXIT_OTHER,
			     "Jira answered HTTP %ld to GET %s: is the site of "
			     "%s right?",
			     a.status, url, jauth_cred_source(c));
	jauth_http_answer_free(&a);
	free(url);
	return status;
}

/* The --json document: the service, the credential tried (no secret).
 * Every field of jauth(1) is there from the start, null until known, so
 * that a failure before the call still gives scripts the whole shape. */
static cJSON *check_doc(const char *service)
{
	static const char *const unknown[] = { "http", "source", "module",
					       "base_url", "account" };
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "service", service);
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
		cJSON_AddNullToObject(doc, unknown[i]);
	return doc;
}

static void doc_finish(cJSON *doc, int status)
{
	cJSON_AddNumberToObject(doc, "status", status);
	cJSON_AddBoolToObject(doc, "ok", status == EXIT_OK);
	json_out(doc);
	cJSON_Delete(doc);
}

static void doc_cred(cJSON *doc, const jauth_cred *c, long http)
{
	cJSON_DeleteItemFromObject(doc, "source");
	cJSON_DeleteItemFromObject(doc, "module");
	cJSON_DeleteItemFromObject(doc, "base_url");
	cJSON_DeleteItemFromObject(doc, "http");
	cJSON_AddStringToObject(doc, "source", jauth_cred_source(c));
	cJSON_AddStringToObject(doc, "module", jauth_cred_module(c));
	cJSON_AddStringToObject(doc, "base_url", jauth_cred_base_url(c));
	cJSON_AddNumberToObject(doc, "http", (double)http);
}

static int run(struct cli *cli, int argc, char **argv)
{
	struct flags f;
	int first, status = command_args(&cmd_check, argc, argv, FLAG_JSON, &f,
					 &first);
	if (status >= 0)
		return status;
	if ((status = args_count(&cmd_check, argc, argv, first, 1, 1)) >= 0)
		return status;
	cJSON *doc = f.json ? check_doc(argv[first]) : NULL;
	jauth *h = NULL;
	jauth_result r0 = jauth_open(argv[first], &cli->opt, &h);
	if (r0 != JAUTH_SUCCESS) { /* as refresh and revoke: result, error */
		status = fail(exit_of(r0), "%s", jauth_error(h));
		if (doc) {
			cJSON_AddStringToObject(doc, "result",
						jauth_result_name(r0));
			cJSON_AddStringToObject(doc, "error", jauth_error(h));
			doc_finish(doc, status);
		}
		jauth_close(h);
		return status;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		const jauth_cred *c;
		long http = 0;
		jauth_result r = jauth_acquire(h, &c);
		if (r != JAUTH_SUCCESS) {
			status = fail_handle(h, r);
			break;
		}
		status = myself(h, c, &http, doc);
		if (doc)
			doc_cred(doc, c, http);
		if (status >= 0)
			break;
		jauth_report(h, c, (int)http);
		status = fail(EXIT_DENIED,
			      "Jira answered HTTP %ld to the credential of %s "
			      "(%s)%s",
			      http, jauth_cred_source(c), jauth_cred_module(c),
			      attempt ? "" : "; reported, trying once more");
	}
	jauth_close(h);
	if (doc)
		doc_finish(doc, status);
	return status;
}

const struct command cmd_check = {
	.name = "check",
	.args = "SERVICE [--json]",
	.summary = "call GET {base}/rest/api/3/myself with the credential",
	.help = "Gets a credential from SERVICE's stack and calls Jira's "
		"/rest/api/3/myself with\nit, printing the account it "
		"authenticates as. A 401/403 is reported to the\nstack and "
		"tried once more (an OAuth grant refreshes once; an API token "
		"Jira\nrefused stays refused until it is replaced); exit "
		"status 4 when Jira still\nrefuses. Network failures, 5xx and "
		"429 are retried with backoff (Retry-After\nhonoured); exit "
		"status 5 when they outlast the tries, 2 for a certificate\n"
		"problem (ca_file= of the line, or the system's CAs).\n--json "
		"prints {\"service\", \"ok\", \"status\", \"http\", \"source\", "
		"\"module\",\n\"base_url\", \"account\": {\"accountId\", "
		"\"displayName\", \"emailAddress\"}}; errors\nstay on stderr.\n",
	.run = run,
};
