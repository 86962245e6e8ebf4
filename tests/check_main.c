/* check_main.c — runs every suite in one runner, so that `make check` ends
 * with one Check summary for the whole project. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	/* The stand-in is on loopback: never through a proxy of the
	 * environment (libcurl honours no_proxy). */
	setenv("no_proxy", "127.0.0.1,localhost,::1", 1);
	SRunner *sr = srunner_create(suite_lex());
	srunner_add_suite(sr, suite_dispatch());
	srunner_add_suite(sr, suite_load());
	srunner_add_suite(sr, suite_threads());
	srunner_add_suite(sr, suite_services());
	srunner_add_suite(sr, suite_store_procs());
	srunner_add_suite(sr, suite_store());
	srunner_add_suite(sr, suite_apitoken());
	srunner_add_suite(sr, suite_oauth());
	srunner_add_suite(sr, suite_procs());
	srunner_add_suite(sr, suite_cli());
	srunner_add_suite(sr, suite_hostile());
	srunner_add_suite(sr, suite_pam());
	srunner_add_suite(sr, suite_verbs());
	srunner_add_suite(sr, suite_pgsql());
	srunner_add_suite(sr, suite_http());
	srunner_add_suite(sr, suite_trust());
	srunner_add_suite(sr, suite_secrets());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
