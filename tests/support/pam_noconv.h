/*
 * pam_noconv.h — the PAM conversation for stacks that never converse
 * (pam_permit and the test modules: the user is given), shared by the PAM
 * tests and the benchmarks' PAM baseline: any question is a failure.
 * Header-only, so that a program linked with libpam alone can use it.
 */
#ifndef JAUTH_TESTS_PAM_NOCONV_H
#define JAUTH_TESTS_PAM_NOCONV_H

#include <security/pam_appl.h>

static inline int no_conv(int n, const struct pam_message **msg,
			  struct pam_response **resp, void *ctx)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)ctx;
	return PAM_CONV_ERR;
}

#endif
