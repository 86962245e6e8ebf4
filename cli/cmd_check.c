/*
 * cmd_check.c — jauth check SERVICE: calls GET {base}/rest/api/3/myself
 * with the credential, as a connector would, and reports a refusal back
 * to the stack (which refreshes once) before giving up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <jauth/module.h>

#include "cli.h"

struct body {
	char *s;
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * n;
	if (b->len + len > 1024 * 1024)
		return 0;
	char *s = realloc(b->s, b->len + len + 1);
	if (!s)
		return 0;
	memcpy(s + b->len, data, len);
	b->s = s;
	b->len += len;
	s[b->len] = '\0';
	return len;
}

/* The ca_file= of the line that made C, from the status document, so that
 * the check trusts what the module trusts. malloc'd or NULL. */
static char *ca_file_of(jauth *h, const jauth_cred *c)
{
	char *text = NULL, *ca = NULL;
	if (jauth_status(h, &text) != JAUTH_SUCCESS)
		return NULL;
	cJSON *doc = cJSON_Parse(text), *ln;
	jauth_free(text);
	cJSON_ArrayForEach (ln, cJSON_GetObjectItem(doc, "lines")) {
		cJSON *src = cJSON_GetObjectItem(ln, "source");
		cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(ln, "args"),
					       "ca_file");
		if (cJSON_IsString(src) && cJSON_IsString(v) &&
		    strcmp(src->valuestring, jauth_cred_source(c)) == 0)
			ca = strdup(v->valuestring);
	}
	cJSON_Delete(doc);
	return ca;
}

/* GET {base}/rest/api/3/myself; the status, or -1 with *err. */
static long myself(jauth *h, const jauth_cred *c, struct body *b, char *err)
{
	char *url = NULL, *hdr = NULL, *ca = ca_file_of(h, c);
	long status = -1;
	CURL *curl = curl_easy_init();
	struct curl_slist *hl = NULL;
	if (asprintf(&url, "%s/rest/api/3/myself", jauth_cred_base_url(c)) <
		    0 ||
	    asprintf(&hdr, "Authorization: %s", jauth_cred_authorization(c)) <
		    0 ||
	    !curl)
		goto out;
	hl = curl_slist_append(curl_slist_append(NULL, hdr),
			       "Accept: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	if (ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
	err[0] = '\0';
	CURLcode cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else if (!err[0])
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
out:
	if (hdr)
		explicit_bzero(hdr, strlen(hdr));
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	free(url);
	free(hdr);
	free(ca);
	return status;
}

static void print_account(const struct body *b, const jauth_cred *c)
{
	cJSON *j = b->s ? cJSON_Parse(b->s) : NULL;
	const char *keys[] = { "accountId", "displayName", "emailAddress" };
	char *v[3]; /* Jira's text, escaped for the terminal */
	for (int i = 0; i < 3; i++) {
		cJSON *f = cJSON_GetObjectItem(j, keys[i]);
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

static int run(struct cli *cli, int argc, char **argv)
{
	int first, status = simple_args(&cmd_check, argc, argv, &first);
	if (status >= 0)
		return status;
	if (first != argc - 1)
		return usage(&cmd_check);
	jauth *h = open_service(cli, argv[first], &status);
	if (!h)
		return status;
	char err[CURL_ERROR_SIZE];
	long http = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		const jauth_cred *c;
		struct body b = { 0 };
		jauth_result r = jauth_acquire(h, &c);
		if (r != JAUTH_SUCCESS) {
			status = fail_handle(h, r);
			break;
		}
		http = myself(h, c, &b, err);
		if (http == 200)
			print_account(&b, c);
		free(b.s);
		if (http == 200 || http < 0 || (http != 401 && http != 403)) {
			status = http == 200 ? EXIT_OK
				 : http < 0
					 ? fail(EXIT_TRANSIENT, "%s: %s",
						jauth_cred_base_url(c), err)
					 : fail(http >= 500 ? EXIT_TRANSIENT
							    : EXIT_OTHER,
						"Jira answered HTTP %ld to GET "
						"%s/rest/api/3/myself",
						http, jauth_cred_base_url(c));
			break;
		}
		jauth_report(h, c, (int)http);
		status = fail(EXIT_DENIED,
			      "Jira answered HTTP %ld to the credential of %s "
			      "(%s)%s",
			      http, jauth_cred_source(c), jauth_cred_module(c),
			      attempt ? "" : "; reported, trying once more");
	}
	jauth_close(h);
	return status;
}

const struct command cmd_check = {
	.name = "check",
	.args = "SERVICE",
	.summary = "call GET {base}/rest/api/3/myself with the credential",
	.help = "Gets a credential from SERVICE's stack and calls Jira's "
		"/rest/api/3/myself with\nit, printing the account it "
		"authenticates as. A 401/403 is reported to the\nstack and "
		"tried once more (an OAuth grant refreshes once; an API token "
		"Jira\nrefused stays refused until it is replaced); exit "
		"status 4 when Jira still\nrefuses.\n",
	.run = run,
};
