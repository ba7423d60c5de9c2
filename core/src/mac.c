/* mac.c - HMAC-SHA256 from precomputed pads; Ed25519 via EVP. */
#include "mac.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

void hli_hmac_key_init(hli_hmac_key *k, const unsigned char *key, size_t len)
{
    unsigned char block[SHA256_CBLOCK], pad[SHA256_CBLOCK];

    memset(block, 0, sizeof block);
    if (len > SHA256_CBLOCK)
        SHA256(key, len, block); /* RFC 2104: long keys are hashed first */
    else if (len > 0)
        memcpy(block, key, len);

    for (size_t i = 0; i < SHA256_CBLOCK; i++)
        pad[i] = block[i] ^ 0x36;
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, sizeof pad);
    for (size_t i = 0; i < SHA256_CBLOCK; i++)
        pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, sizeof pad);

    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void hli_hmac_start(hli_hmac *h, const hli_hmac_key *k)
{
    h->ctx = k->inner;
    h->key = k;
}

void hli_hmac_update(hli_hmac *h, const void *data, size_t len)
{
    if (len > 0)
        SHA256_Update(&h->ctx, data, len);
}

void hli_hmac_finish(hli_hmac *h, unsigned char out[HLI_MAC_LEN])
{
    unsigned char inner[HLI_MAC_LEN];
    SHA256_Final(inner, &h->ctx);
    h->ctx = h->key->outer;
    SHA256_Update(&h->ctx, inner, sizeof inner);
    SHA256_Final(out, &h->ctx);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&h->ctx, sizeof h->ctx);
}

hl_code hli_ed25519_public_from_seed(const unsigned char seed[HLI_ED25519_KEY_LEN],
                                     unsigned char pub[HLI_ED25519_KEY_LEN], hl_error *err)
{
    size_t len = HLI_ED25519_KEY_LEN;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, HLI_ED25519_KEY_LEN);
    if (!pkey)
        return hli_fail_openssl(err, "loading the Ed25519 private key");
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != HLI_ED25519_KEY_LEN) {
        EVP_PKEY_free(pkey);
        return hli_fail_openssl(err, "deriving the Ed25519 public key");
    }
    EVP_PKEY_free(pkey);
    return HL_OK;
}

hl_code hli_ed25519_sign(const unsigned char seed[HLI_ED25519_KEY_LEN], const unsigned char *msg,
                         size_t len, unsigned char sig[HLI_ED25519_SIG_LEN], hl_error *err)
{
    size_t sig_len = HLI_ED25519_SIG_LEN;
    hl_code rc = HL_OK;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, HLI_ED25519_KEY_LEN);
    if (!pkey)
        return hli_fail_openssl(err, "loading the Ed25519 private key");
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, msg, len) != 1 || sig_len != HLI_ED25519_SIG_LEN)
        rc = hli_fail_openssl(err, "Ed25519 signing");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    return rc;
}

int hli_ed25519_verify(const unsigned char pub[HLI_ED25519_KEY_LEN], const unsigned char *msg,
                       size_t len, const unsigned char sig[HLI_ED25519_SIG_LEN])
{
    int ok = 0;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, HLI_ED25519_KEY_LEN);
    if (pkey && (md = EVP_MD_CTX_new()) != NULL &&
        EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1)
        ok = EVP_DigestVerify(md, sig, HLI_ED25519_SIG_LEN, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    ERR_clear_error(); /* a bad signature leaves reasons we do not report */
    return ok;
}
