/*
 * standin.h - start, drive and stop the local Atlassian stand-in
 * (tests/standin/standin.py) from the C test suites.
 *
 * The stand-in serves auth.atlassian.com, api.atlassian.com and a Jira site
 * over TLS on one port of 127.0.0.1, with a throwaway CA made by
 * tests/standin/mkcerts.sh. Its scripts are found through the compile-time
 * macro JAUTH_TEST_SRCDIR (the repository's tests/ directory), which the
 * environment variable of the same name overrides.
 */
#ifndef JAUTH_TESTS_STANDIN_H
#define JAUTH_TESTS_STANDIN_H

#include <sys/types.h>

struct standin {
	pid_t pid;
	int port;
	char dir[4096];	     /* temp dir holding certs, port file */
	char url[64];	     /* "https://127.0.0.1:PORT" */
	char ca[4200];	     /* DIR/ca.pem */
	char other_ca[4200]; /* DIR/other-ca.pem */
};

/* Makes a temp dir under $TMPDIR or /tmp (mkdtemp), runs mkcerts.sh, starts
 * python3 standin.py (stdout/stderr to DIR/standin.log), waits up to 15 s for
 * the port file. config_json may be NULL. Returns 0, or -1 with a message on
 * stderr. */
int standin_start(struct standin *s, const char *config_json);

/* SIGTERM, waitpid (SIGKILL after 5 s), removes the temp dir. Safe to call
 * twice. */
void standin_stop(struct standin *s);

/* One request to the stand-in with libcurl, verifying TLS with s->ca. Returns
 * the HTTP status (or -1 on transport error); *body (malloc'd, NUL-terminated)
 * if body != NULL. */
long standin_request(struct standin *s, const char *method, const char *path,
		     const char *json, char **body);

/* GET of an absolute URL (on the stand-in) with an Authorization value
 * (NULL for none), as a connector would call Jira. Returns the status or
 * -1; *body (malloc'd) if body != NULL. */
long standin_get(struct standin *s, const char *url, const char *authorization,
		 char **body);

/* The named counter from /_standin/counters, or -1. */
long standin_counter(struct standin *s, const char *name);

/* Convenience wrappers returning 0 on HTTP 200, else -1. */
int standin_config(struct standin *s, const char *json);
int standin_fault(struct standin *s, const char *json);
int standin_reset(struct standin *s);

/* GET the given absolute authorize URL (it points at the stand-in) WITHOUT
 * following redirects; returns the malloc'd Location header (the callback URL
 * with code&state), or NULL (e.g. a 400) with the status in *status if
 * status != NULL. */
char *standin_consent(struct standin *s, const char *authorize_url,
		      long *status);

#endif /* JAUTH_TESTS_STANDIN_H */
