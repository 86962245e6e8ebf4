/*
 * secrets.c — what the tool does for the secrets it handles in its own
 * process: a command that may read a secret or print a token makes the
 * process non-dumpable (no core file, no ptrace by other processes of
 * the same user), on top of libjauth keeping its secrets on pages left
 * out of core dumps.
 */
#include <string.h>
#include <sys/prctl.h>

#include "cli.h"

void cli_guard_secrets(const char *command)
{
	static const char *const harmless[] = { "scopes", "modules", "help",
						NULL };
	for (const char *const *h = harmless; *h; h++)
		if (strcmp(command, *h) == 0)
			return;
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
