/*
 * callback.c — fuzzes the OAuth callback parser, jauth_m_url_param
 * (core/m_url.c): the input, as a NUL-terminated string, is the URL (or bare
 * query) the browser was sent back to; the keys are those oauth3lo reads.
 *
 * Properties checked besides the sanitizers: the result is one of
 * success/unavailable/error with a value exactly on success; and each
 * decoded value, put back into a URL with jauth_m_url_query, decodes to
 * itself.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const char *const keys[] = { "state", "code", "error",
				    "error_description" };

/* jauth_m_url_query → jauth_m_url_param must give VALUE back. */
static void round_trip(const char *base, const char *key, const char *value)
{
	const char *pairs[] = { "x", "1", key, value, NULL };
	char *url = jauth_m_url_query(base, pairs), *back = NULL;
	if (!url)
		fuzz_fail("jauth_m_url_query failed");
	jauth_result rc = jauth_m_url_param(url, key, &back);
	if (rc != JAUTH_SUCCESS || !back || strcmp(back, value) != 0)
		fuzz_fail("%s=[%s] through %s came back as %s [%s]", key, value,
			  url, jauth_result_name(rc), back ? back : "(null)");
	free(back);
	free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = xmalloc(size + 1);
	memcpy(url, data, size);
	url[size] = '\0';
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		char *v = (char *)0x1; /* must be overwritten */
		jauth_result rc = jauth_m_url_param(url, keys[i], &v);
		if (rc == JAUTH_SUCCESS ? !v
					: (v || (rc != JAUTH_UNAVAILABLE &&
						 rc != JAUTH_ERROR)))
			fuzz_fail("%s: result %d with value %p", keys[i],
				  (int)rc, (void *)v);
		if (v) {
			round_trip("https://127.0.0.1:8123/cb", keys[i], v);
			round_trip("https://127.0.0.1:8123/cb?a=b", keys[i], v);
		}
		free(v);
	}
	free(url);
	return 0;
}
