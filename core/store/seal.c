/*
 * seal.c — records sealed at rest (jauth.conf(5), "Encryption at rest"),
 * in the store's module-facing layer so that every backend gets it: with
 * a key on the stack's store line, every record is sealed with AES-256-GCM
 * before it reaches the backend and opened after it comes back, so that
 * neither a file nor a database row holds a token in clear.
 *
 * A sealed record is itself a small JSON document,
 *   {"jauth_sealed":"aes-256-gcm","kid":HEX,"nonce":HEX,"data":HEX}
 * with a fresh random nonce per write, the key's id (so a record names the
 * key it needs: key= or, while rotating, key_old=), and the record's name
 * (SERVICE.MODULE.KEY) as associated data: a record copied under another
 * service's name fails its tag like a changed byte does. A wrong or
 * missing key is a configuration error (JAUTH_CONFIG), never "no grant":
 * nobody consents again over an intact grant. The cipher is seal.so's
 * (libcrypto), loaded only by a store that has a key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../seal/iface.h"
#include "store.h"

#define SEAL_ALG "aes-256-gcm"
#define SEAL_MIN_SECRET 16 /* bytes a key's secret must have */

struct seal {
	char *ref[2]; /* key=, key_old= (NULL: none) */
	pthread_mutex_t mu;
	int ready; /* keys derived */
	unsigned char key[2][SEAL_KEY], id[2][SEAL_ID];
};

/* ---- seal.so ---- */

static const struct seal_iface *_Atomic iface;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static const struct seal_iface *cipher(char **why)
{
	const struct seal_iface *i = atomic_load(&iface);
	if (i)
		return i;
	pthread_mutex_lock(&load_mu);
	if (!(i = atomic_load(&iface))) {
		void *dl = private_open("seal.so", why), *sym = NULL;
		if (dl)
			sym = private_sym(dl, "seal.so",
					  JAUTH_SEAL_IFACE_SYMBOL, why);
		i = sym ? ((const struct seal_iface *(*)(void))sym)() : NULL;
		if (i && i->version != JAUTH_SEAL_IFACE_VERSION) {
			*why = xstrdup("seal.so belongs to another jauth "
				       "version: reinstall jauth");
			i = NULL;
		}
		if (i)
			atomic_store(&iface, i);
	}
	pthread_mutex_unlock(&load_mu);
	return i;
}

/* ---- keys ---- */

int seal_ref_ok(const char *ref)
{
	return (strncmp(ref, "@file:/", 7) == 0 && ref[7]) ||
	       (strncmp(ref, "@env:", 5) == 0 && ref[5]) ||
	       (strncmp(ref, "@cred:", 6) == 0 && ref[6]);
}

struct seal *seal_new(const char *key, const char *key_old)
{
	struct seal *sl = secmem_alloc(sizeof *sl);
	sl->ref[0] = xstrdup(key);
	sl->ref[1] = key_old ? xstrdup(key_old) : NULL;
	pthread_mutex_init(&sl->mu, NULL);
	return sl;
}

void seal_free(struct seal *sl)
{
	if (!sl)
		return;
	free(sl->ref[0]);
	free(sl->ref[1]);
	pthread_mutex_destroy(&sl->mu);
	secmem_free(sl);
}

/* Derives key I from its reference. Returns 0, or -1 with *why. */
static int derive_one(struct seal *sl, int i, const struct seal_iface *c,
		      char **why)
{
	char *val, *inner;
	size_t len;
	int rc = secret_ref_read(sl->ref[i], &val, &len, &inner);
	if (rc < 0) {
		*why = xasprintf("the store's %s=%s: %s", i ? "key_old" : "key",
				 sl->ref[i], inner);
		free(inner);
		return -1;
	}
	if (len < SEAL_MIN_SECRET)
		*why = xasprintf(
			"the store's %s=%s holds %zu bytes: a store key needs "
			"at least %d random bytes (head -c 32 /dev/urandom | "
			"base64)",
			i ? "key_old" : "key", sl->ref[i], len,
			SEAL_MIN_SECRET);
	else if (c->derive(val, len, sl->key[i], sl->id[i]) < 0)
		*why = xstrdup("seal.so cannot hash the store key");
	secmem_free(val);
	return *why ? -1 : 0;
}

/* The store's keys, derived on first use. JAUTH_CONFIG (message on M)
 * when a key cannot be had: its records cannot be read nor written. */
static jauth_result keys(jauth_m *m, struct seal *sl,
			 const struct seal_iface **c)
{
	char *why = NULL;
	pthread_mutex_lock(&sl->mu);
	if ((*c = cipher(&why)) && !sl->ready &&
	    derive_one(sl, 0, *c, &why) == 0 &&
	    (!sl->ref[1] || derive_one(sl, 1, *c, &why) == 0))
		sl->ready = 1;
	pthread_mutex_unlock(&sl->mu);
	if (!why)
		return JAUTH_SUCCESS;
	jauth_m_fail(m, JAUTH_CONFIG,
		     "%s: the service's records are sealed with it and stay "
		     "untouched; fix the key (the grant is intact: do not "
		     "consent again)",
		     why);
	free(why);
	return JAUTH_CONFIG;
}

/* ---- the sealed record ---- */

static char *hex(const unsigned char *p, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

/* Decodes HEX into a new buffer of *n bytes; NULL if it is not hex. */
static unsigned char *unhex(const char *h, size_t *n)
{
	size_t len = h ? strlen(h) : 1;
	if (len % 2)
		return NULL;
	unsigned char *p = xmalloc(len / 2 + 1);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (!strchr("0123456789abcdef", h[2 * i]) || !h[2 * i] ||
		    !strchr("0123456789abcdef", h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &v) != 1) {
			free(p);
			return NULL;
		}
		p[i] = (unsigned char)v;
	}
	*n = len / 2;
	return p;
}

/* The associated data: what the record is. */
static char *aad_of(const char *name)
{
	return xasprintf("jauth record v1\n%s", name);
}

cJSON *sealed_parse(const char *text)
{
	/* Every record passes here on its way in: a record in clear, which
	 * cannot hold the key without the name in its text, is not parsed
	 * twice (the module parses it next). */
	if (!strstr(text, "\"jauth_sealed\""))
		return NULL;
	cJSON *j = cJSON_Parse(text);
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "jauth_sealed")))
		return j;
	cJSON_Delete(j);
	return NULL;
}

int record_sealed(const char *text)
{
	cJSON *j = text ? sealed_parse(text) : NULL;
	cJSON_Delete(j);
	return j != NULL;
}

jauth_result seal_record(jauth_m *m, struct seal *sl, const char *name,
			 const char *text, size_t len, char **out,
			 size_t *outlen)
{
	const struct seal_iface *c;
	unsigned char nonce[SEAL_NONCE];
	jauth_result rc = keys(m, sl, &c);
	*out = NULL;
	if (rc != JAUTH_SUCCESS)
		return rc;
	if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "no random bytes for a nonce: %s",
				    strerror(errno));
	unsigned char *ct = xmalloc(len + SEAL_TAG);
	char *aad = aad_of(name);
	if (c->seal(sl->key[0], nonce, aad, strlen(aad), text, len, ct) < 0)
		rc = jauth_m_fail(m, JAUTH_ERROR, "seal.so cannot seal %s",
				  name);
	free(aad);
	if (rc == JAUTH_SUCCESS) {
		char *k = hex(sl->id[0], SEAL_ID), *n = hex(nonce, SEAL_NONCE),
		     *d = hex(ct, len + SEAL_TAG);
		*out = xasprintf("{\"jauth_sealed\":\"" SEAL_ALG "\","
				 "\"kid\":\"%s\",\"nonce\":\"%s\","
				 "\"data\":\"%s\"}",
				 k, n, d);
		*outlen = strlen(*out);
		free(k);
		free(n);
		free(d);
	}
	free(ct);
	return rc;
}

/* Which of the store's keys has id KID (0, 1), or -1. */
static int key_for(const struct seal *sl, const char *kid)
{
	for (int i = 0; i < 2; i++) {
		char *h = sl->ref[i] ? hex(sl->id[i], SEAL_ID) : NULL;
		int same = h && kid && strcmp(h, kid) == 0;
		free(h);
		if (same)
			return i;
	}
	return -1;
}

/* Opens the sealed record J (named NAME) into *text. */
static jauth_result open_sealed(jauth_m *m, struct seal *sl, const char *name,
				cJSON *j, char **text, size_t *len)
{
	const struct seal_iface *c;
	jauth_result rc = keys(m, sl, &c);
	if (rc != JAUTH_SUCCESS)
		return rc;
	const char *kid = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(j, "kid"));
	int k = key_for(sl, kid);
	if (k < 0) {
		char *mine = hex(sl->id[0], SEAL_ID);
		jauth_m_fail(m, JAUTH_CONFIG,
			     "record %s was sealed with another key (id %.16s; "
			     "key= has id %s): give that key as key= (or as "
			     "key_old= while rotating); the record is "
			     "untouched (the grant is intact: do not consent "
			     "again)",
			     name, kid ? kid : "?", mine);
		free(mine);
		return JAUTH_CONFIG;
	}
	size_t nn = 0, nd = 0;
	unsigned char *
		nonce =
		       unhex(cJSON_GetStringValue(
				     cJSON_GetObjectItemCaseSensitive(j,
								      "nonce")),
			     &nn),
	       *data = unhex(cJSON_GetStringValue(
				     cJSON_GetObjectItemCaseSensitive(j,
								      "data")),
			     &nd);
	char *aad = aad_of(name), *clear = xmalloc(nd + 1);
	if (!nonce || !data || nn != SEAL_NONCE || nd < SEAL_TAG ||
	    c->open(sl->key[k], nonce, aad, strlen(aad), data, nd,
		    (unsigned char *)clear) < 0) {
		rc = jauth_m_fail(
			m, JAUTH_ERROR,
			"record %s fails its integrity check: its bytes were "
			"changed, or it was copied from another record's "
			"name; it was not used and nothing was sent: restore "
			"it from a backup, or forget it (jauth revoke %s) and "
			"consent again",
			name, jauth_m_service(m));
		free(clear);
	} else {
		clear[nd - SEAL_TAG] = '\0';
		*text = clear;
		*len = nd - SEAL_TAG;
	}
	free(aad);
	free(nonce);
	free(data);
	return rc;
}

jauth_result unseal_record(jauth_m *m, struct seal *sl, const char *name,
			   int allow_clear, char **text, size_t *len)
{
	cJSON *j = sealed_parse(*text);
	jauth_result rc = JAUTH_SUCCESS;
	char *clear = NULL;
	size_t n = 0;
	if (!j && sl && !allow_clear)
		rc = jauth_m_fail(m, JAUTH_CONFIG,
				  "record %s is in clear but the store has a "
				  "key: seal it with `jauth store rekey %s`",
				  name, jauth_m_service(m));
	else if (j && !sl)
		rc = jauth_m_fail(
			m, JAUTH_CONFIG,
			"record %s is sealed (encrypted at rest) but "
			"the stack's store line gives no key=: add it "
			"(e.g. store files key=@cred:jauth-store-key); "
			"the record is untouched (the grant is "
			"intact: do not consent again)",
			name);
	else if (j)
		rc = open_sealed(m, sl, name, j, &clear, &n);
	cJSON_Delete(j);
	if (clear) {
		explicit_bzero(*text, *len);
		free(*text);
		*text = clear;
		*len = n;
	}
	return rc;
}
