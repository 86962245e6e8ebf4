/* suites.h — every suite of check_jauth. */
#ifndef JAUTH_TESTS_SUITES_H
#define JAUTH_TESTS_SUITES_H

#include <check.h>

Suite *suite_lex(void);
Suite *suite_dispatch(void);
Suite *suite_load(void);
Suite *suite_threads(void);
Suite *suite_services(void);
Suite *suite_store_procs(void);
Suite *suite_store(void);
Suite *suite_apitoken(void);
Suite *suite_oauth(void);
Suite *suite_procs(void);
Suite *suite_cli(void);
Suite *suite_hostile(void);
Suite *suite_pam(void);
Suite *suite_verbs(void);
Suite *suite_pgsql(void);
Suite *suite_http(void);
Suite *suite_trust(void);
Suite *suite_secrets(void);

#endif
