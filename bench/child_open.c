/*
 * child_open.c — jauth-bench-open, the fresh process of the Open row's
 * "first open" line: one jauth_open + jauth_acquire + jauth_close, or one
 * pam_start_confdir + pam_authenticate + pam_end, timed inside the process,
 * its µs printed. A program of its own, linked with libjauth and libpam
 * only (as the jauth tool is with libjauth and cJSON): jauth-bench itself
 * links libcurl for its baselines, which would put ~30 libraries into the
 * symbol scope every module is relocated against.
 *
 *   jauth-bench-open jauth|pam CONF MODS STATE PAMDIR SERVICE
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jauth/jauth.h>

#include "pam_noconv.h"

static int pam_once(const char *dir)
{
	static const struct pam_conv conv = { no_conv, NULL };
	pam_handle_t *ph = NULL;
	int rc = pam_start_confdir("bench", "bench", &conv, dir, &ph);
	if (rc != PAM_SUCCESS)
		return -1;
	rc = pam_authenticate(ph, 0);
	pam_end(ph, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
}

static int jauth_once(char **argv)
{
	struct jauth_options o = { .size = sizeof o,
				   .conf_path = argv[2],
				   .module_path = argv[3],
				   .state_dir = argv[4],
				   .log_level = JAUTH_LOG_ERROR };
	jauth *h = NULL;
	const jauth_cred *c;
	int ok = jauth_open(argv[6], &o, &h) == JAUTH_SUCCESS &&
		 jauth_acquire(h, &c) == JAUTH_SUCCESS;
	if (!ok)
		fprintf(stderr, "jauth-bench-open: %s\n", jauth_error(h));
	jauth_close(h);
	return ok ? 0 : -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 7)
		return 2;
	uint64_t t0 = mono_ns();
	int rc = strcmp(argv[1], "pam") == 0 ? pam_once(argv[5])
					     : jauth_once(argv);
	printf("%.1f\n", (double)(mono_ns() - t0) / 1e3);
	return rc < 0;
}
