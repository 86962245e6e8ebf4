/*
 * m_secmem.c — memory for secrets, for modules: the core's own allocator
 * (secmem.c: pages left out of core dumps, locked in RAM while allowed,
 * wiped on free), and JSON printed straight into it.
 */
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

/* The largest document jauth_m_json_print_secure renders: four times
 * the store's record cap, so that every record it can write fits. */
#define PRINT_MAX (4 * 1024 * 1024)

void *jauth_m_secure_alloc(size_t n)
{
	return secmem_alloc(n);
}

char *jauth_m_secure_strdup(const char *s)
{
	return s ? secmem_strdup(s) : NULL;
}

char *jauth_m_secure_strndup(const char *s, size_t n)
{
	return s ? secmem_strndup(s, n) : NULL;
}

void jauth_m_secure_free(void *p)
{
	secmem_free(p);
}

/*
 * cJSON_PrintPreallocated writes into the caller's buffer and allocates
 * nothing of its own, so the text never passes through the heap; a
 * buffer too small fails the print (leaving a partial text, wiped with
 * the block) and the next try doubles it. The first try is as large as
 * the last print that worked needed: a module prints the same few
 * records and bodies over and over, and a refresh printed its 2 KiB
 * record three times (512, 1024, 2048) before.
 */
static _Atomic size_t print_hint = 512;

char *jauth_m_json_print_secure(const cJSON *item)
{
	if (!item)
		return NULL;
	for (size_t cap = atomic_load(&print_hint); cap <= PRINT_MAX;
	     cap *= 2) {
		char *buf = secmem_alloc(cap);
		/* cJSON's prototype lacks the const; printing changes
		 * nothing. cJSON asks for 5 bytes of slack. */
		if (cJSON_PrintPreallocated((cJSON *)item, buf, (int)cap - 5,
					    0)) {
			if (cap > atomic_load(&print_hint))
				atomic_store(&print_hint, cap);
			return buf;
		}
		secmem_free(buf);
	}
	return NULL;
}
