/*
 * iface.h — the private interface between libjauth (core/store/seal.c:
 * keys, the sealed record's format, messages) and seal.so
 * (core/seal/aead.c: AES-256-GCM and SHA-256 on OpenSSL's libcrypto).
 * seal.so is loaded only by a store that has a key, so that libjauth
 * never links libcrypto and a process without one never maps it. Both
 * sides are built from the same tree; the version is checked at load.
 */
#ifndef JAUTH_SEAL_IFACE_H
#define JAUTH_SEAL_IFACE_H

#include <stddef.h>

#define JAUTH_SEAL_IFACE_VERSION 1u
#define JAUTH_SEAL_IFACE_SYMBOL "jauth_seal_iface_v1"

#define SEAL_KEY 32   /* AES-256 */
#define SEAL_ID 8     /* bytes of a key's id */
#define SEAL_NONCE 12 /* GCM's 96-bit nonce */
#define SEAL_TAG 16

struct seal_iface {
	unsigned version;
	/* The key KEY and its id ID, from the N bytes of the secret S: two
	 * SHA-256 hashes over distinct labels. Returns 0, or -1. */
	int (*derive)(const void *s, size_t n, unsigned char key[SEAL_KEY],
		      unsigned char id[SEAL_ID]);
	/* Seals N bytes of IN into OUT (N bytes, then the SEAL_TAG-byte tag)
	 * with AAD bound. Returns 0, or -1. */
	int (*seal)(const unsigned char key[SEAL_KEY],
		    const unsigned char nonce[SEAL_NONCE], const void *aad,
		    size_t naad, const void *in, size_t n, unsigned char *out);
	/* Opens N bytes of IN (the tag last) into OUT (N - SEAL_TAG bytes).
	 * Returns 0, or -1 when the tag does not match: another key, other
	 * bytes, or another AAD. */
	int (*open)(const unsigned char key[SEAL_KEY],
		    const unsigned char nonce[SEAL_NONCE], const void *aad,
		    size_t naad, const void *in, size_t n, unsigned char *out);
};

#endif
