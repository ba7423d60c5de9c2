/*
 * bench_verify.c - verification cost against the OpenSSL floor.
 *
 * The floor is what a hand-written verifier cannot beat with OpenSSL: a
 * keyed EVP_MAC HMAC-SHA256 context kept between calls (re-initialised with
 * the same key), the base64 decode of the received signature, and a
 * CRYPTO_memcmp. hookline is measured doing the whole job (header lookup and
 * parsing, timestamp window, constant-time comparison) for the standard
 * scheme, reusable verifier and one-shot call. Each figure is the best of
 * several rounds; ratios are against the floor measured in the same run.
 *
 * Usage: bench_verify [--quick]
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS 1778155200

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

typedef struct fixture {
    unsigned char *body;
    size_t len;
    hl_signed sig;
    hl_header headers[4];
    hl_secret *key;
    unsigned char raw_key[32];
} fixture;

static volatile int sink;

/* The floor: keyed EVP_MAC context reused, base64 decode, CRYPTO_memcmp. */
static void floor_verify(EVP_MAC_CTX *ctx, const fixture *f)
{
    unsigned char mac[32], got[48];
    size_t mac_len;
    const char *sig = f->sig.headers[2].value + 3; /* after "v1," */
    EVP_MAC_init(ctx, NULL, 0, NULL);
    EVP_MAC_update(ctx, (const unsigned char *)f->sig.headers[0].value, strlen(f->sig.headers[0].value));
    EVP_MAC_update(ctx, (const unsigned char *)".", 1);
    EVP_MAC_update(ctx, (const unsigned char *)f->sig.headers[1].value, strlen(f->sig.headers[1].value));
    EVP_MAC_update(ctx, (const unsigned char *)".", 1);
    EVP_MAC_update(ctx, f->body, f->len);
    EVP_MAC_final(ctx, mac, &mac_len, sizeof mac);
    EVP_DecodeBlock(got, (const unsigned char *)sig, 44);
    sink += CRYPTO_memcmp(mac, got, 32) == 0;
}

typedef void (*bench_fn)(void *arg, const fixture *f);

static double measure(bench_fn fn, void *arg, const fixture *f, long iters, int rounds)
{
    double best = 1e30;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++)
            fn(arg, f);
        double per = (now_ns() - t0) / (double)iters;
        if (per < best)
            best = per;
    }
    return best;
}

static void run_floor(void *arg, const fixture *f)
{
    floor_verify(arg, f);
}

static void run_verifier(void *arg, const fixture *f)
{
    sink += hl_verifier_verify(arg, TS, f->headers, 3, f->body, f->len, NULL, NULL) == HL_OK;
}

static void run_oneshot(void *arg, const fixture *f)
{
    const hl_verify_options *opts = arg;
    hl_secret *const *keys = (hl_secret *const *)&f->key;
    sink += hl_verify(opts, (const hl_secret *const *)keys, 1, TS, f->headers, 3, f->body, f->len,
                      NULL, NULL) == HL_OK;
}

int main(int argc, char **argv)
{
    static const size_t SIZES[] = {256, 1024, 16384, 1048576};
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    int rounds = quick ? 2 : 7;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};

    printf("%-10s %-22s %12s %8s %8s %s\n", "body", "path", "ns/verify", "ratio", "target", "");
    for (size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        fixture f;
        hl_verifier *v = NULL;
        hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        long iters;
        double floor_ns, ver_ns, one_ns;

        opts.parse_event = 0;
        f.len = SIZES[s];
        f.body = malloc(f.len);
        for (size_t i = 0; i < f.len; i++)
            f.body[i] = (unsigned char)('a' + i % 26);
        for (int i = 0; i < 32; i++)
            f.raw_key[i] = (unsigned char)(i * 7 + 1);
        hl_secret_from_bytes(&f.key, f.raw_key, 32, NULL);
        hl_sign(HL_SCHEME_STANDARD, (const hl_secret *const *)&f.key, 1, "msg_bench", TS, f.body,
                f.len, &f.sig, NULL);
        for (size_t i = 0; i < 3; i++) {
            f.headers[i].name = f.sig.headers[i].name;
            f.headers[i].name_len = strlen(f.sig.headers[i].name);
            f.headers[i].value = f.sig.headers[i].value;
            f.headers[i].value_len = strlen(f.sig.headers[i].value);
        }
        EVP_MAC_init(ctx, f.raw_key, 32, params);
        hl_verifier_new(&v, &opts, (const hl_secret *const *)&f.key, 1, NULL);

        iters = (long)((quick ? 2e6 : 2e7) / (double)(f.len + 200));
        if (iters < 20)
            iters = 20;
        floor_ns = measure(run_floor, ctx, &f, iters, rounds);
        ver_ns = measure(run_verifier, v, &f, iters, rounds);
        one_ns = measure(run_oneshot, &opts, &f, iters, rounds);
        printf("%-10zu %-22s %12.0f %8s %8s\n", f.len, "openssl floor", floor_ns, "1.00", "");
        printf("%-10zu %-22s %12.0f %8.2f %8s %s\n", f.len, "hl_verifier_verify", ver_ns,
               ver_ns / floor_ns, "<=1.05", ver_ns / floor_ns <= 1.05 ? "met" : "NOT MET");
        printf("%-10zu %-22s %12.0f %8.2f %8s %s\n", f.len, "hl_verify (one-shot)", one_ns,
               one_ns / floor_ns, "<=2.00", one_ns / floor_ns <= 2.0 ? "met" : "NOT MET");
        hl_verifier_free(v);
        hl_secret_free(f.key);
        EVP_MAC_CTX_free(ctx);
        free(f.body);
    }
    EVP_MAC_free(mac);
    return sink < 0;
}
