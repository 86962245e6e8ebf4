/*
 * aead.c — seal.so: AES-256-GCM and SHA-256 from OpenSSL's libcrypto for
 * the store's sealed records (core/store/seal.c holds the rest). Nothing
 * here is written by hand: EVP does the cipher and the tag.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "iface.h"

#define EXPORT __attribute__((visibility("default")))

static int derive(const void *s, size_t n, unsigned char key[SEAL_KEY],
		  unsigned char id[SEAL_ID])
{
	static const char key_label[] = "jauth store key v1";
	static const char id_label[] = "jauth store key id v1";
	unsigned char d[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(c, key_label, sizeof key_label) &&
		 EVP_DigestUpdate(c, s, n) &&
		 EVP_DigestFinal_ex(c, key, NULL) &&
		 EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(c, id_label, sizeof id_label) &&
		 EVP_DigestUpdate(c, key, SEAL_KEY) &&
		 EVP_DigestFinal_ex(c, d, NULL);
	EVP_MD_CTX_free(c);
	memcpy(id, d, SEAL_ID);
	OPENSSL_cleanse(d, sizeof d);
	return ok ? 0 : -1;
}

/* One GCM pass: ENC 1 seals IN into OUT and appends the tag, ENC 0 checks
 * the tag at IN + N and opens IN into OUT. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce,
	       const void *aad, size_t naad, const unsigned char *in, size_t n,
	       unsigned char *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok = c && n <= 0x7fffffff && naad <= 0x7fffffff &&
		      EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
					enc) &&
		      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE,
					  NULL) &&
		      EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) &&
		      EVP_CipherUpdate(c, NULL, &len, aad, (int)naad) &&
		      EVP_CipherUpdate(c, out, &len, in, (int)n);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
					 (void *)(in + n));
	ok = ok && EVP_CipherFinal_ex(c, out + len, &len);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
					 out + n);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int seal(const unsigned char key[SEAL_KEY],
		const unsigned char nonce[SEAL_NONCE], const void *aad,
		size_t naad, const void *in, size_t n, unsigned char *out)
{
	return gcm(1, key, nonce, aad, naad, in, n, out);
}

static int open_sealed(const unsigned char key[SEAL_KEY],
		       const unsigned char nonce[SEAL_NONCE], const void *aad,
		       size_t naad, const void *in, size_t n,
		       unsigned char *out)
{
	if (n < SEAL_TAG)
		return -1;
	int rc = gcm(0, key, nonce, aad, naad, in, n - SEAL_TAG, out);
	if (rc < 0)
		OPENSSL_cleanse(out, n - SEAL_TAG);
	return rc;
}

static const struct seal_iface iface = {
	.version = JAUTH_SEAL_IFACE_VERSION,
	.derive = derive,
	.seal = seal,
	.open = open_sealed,
};

EXPORT const struct seal_iface *jauth_seal_iface_v1(void)
{
	return &iface;
}
