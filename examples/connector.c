/* connector.c — how a connector uses libjauth: ask before every Jira
 * call, tell jauth what Jira refused. Build: cc connector.c $(pkg-config
 * --cflags --libs jauth); run: ./connector jira */
#include <stdio.h>
#include <jauth/jauth.h>

int main(int argc, char **argv)
{
	jauth *h;
	const jauth_cred *c;
	if (jauth_open(argc > 1 ? argv[1] : "jira", NULL, &h) !=
	    JAUTH_SUCCESS) {
		fprintf(stderr, "%s\n",
			jauth_error(h)); /* FILE:LINE: what to fix */
		jauth_close(h);
		return 2;
	}
	jauth_result r =
		jauth_acquire(h, &c); /* cheap: call it before each request */
	if (r == JAUTH_SUCCESS) {
		printf("GET %s/rest/api/3/myself with a %s credential from %s\n",
		       jauth_cred_base_url(c), jauth_cred_scheme(c),
		       jauth_cred_source(c));
		/* send "Authorization: " + jauth_cred_authorization(c); if Jira
		 * answers 401 or 403: jauth_report(h, c, status) and acquire
		 * again */
	} else {
		fprintf(stderr, "%s: %s\n", jauth_result_name(r),
			jauth_error(h));
	}
	jauth_close(h);
	return r == JAUTH_SUCCESS ? 0 : 3;
}
