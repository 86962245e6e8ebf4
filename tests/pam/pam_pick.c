/*
 * pam_pick.c — a Linux-PAM module for the differential test only (never
 * installed): "pam_pick.so id=N rc=RESULT log=PATH" appends "N " to PATH
 * and returns the PAM code of RESULT under the mapping of DESIGN §3
 * (success, unavailable, denied, transient, error).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_modules.h>

static const struct {
	const char *name;
	int code;
} codes[] = {
	{ "success", PAM_SUCCESS },  { "unavailable", PAM_AUTHINFO_UNAVAIL },
	{ "denied", PAM_AUTH_ERR },  { "transient", PAM_TRY_AGAIN },
	{ "error", PAM_SYSTEM_ERR },
};

static const char *arg(int argc, const char **argv, const char *key)
{
	size_t n = strlen(key);
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static void record(const char *path, const char *id)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%s ", id);
	(void)!write(fd, buf, (size_t)n);
	close(fd);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	(void)pamh;
	(void)flags;
	const char *id = arg(argc, argv, "id"), *rc = arg(argc, argv, "rc");
	const char *log = arg(argc, argv, "log");
	if (id && log)
		record(log, id);
	for (size_t i = 0; rc && i < sizeof codes / sizeof *codes; i++)
		if (strcmp(rc, codes[i].name) == 0)
			return codes[i].code;
	return PAM_SERVICE_ERR; /* a broken line: the test sees it */
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
