/*
 * bench_verify.c - verification cost against the OpenSSL floor, per scheme
 * and body size, and the vectors every other verifier in bench/ checks.
 *
 * The floor is what a hand-written verifier cannot beat with OpenSSL: a
 * keyed EVP_MAC HMAC-SHA256 context kept between calls (re-initialised with
 * the same key), the decode of the received signature (base64 or hex), and
 * a CRYPTO_memcmp. The floor is handed the signed prefix and the signature
 * text already located; hookline does the whole job (header lookup and
 * parsing, timestamp window, constant-time comparison), reusable verifier
 * and one-shot call. Each figure is the best of several rounds; ratios are
 * against the floor measured in the same run.
 *
 * Usage:
 *   bench_verify [--quick]            print measurements (M lines, see bench/run.sh)
 *   bench_verify --vectors DIR        write DIR/<scheme>.secret and, per size,
 *                                     DIR/<scheme>_<size>.{body,headers}
 *   bench_verify --count PATH SCHEME SIZE N
 *                                     run one path N times (for callgrind);
 *                                     PATH is floor, verifier or oneshot
 *
 * Every vector is signed at TS and verified with now = TS.
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
#define MSG_ID "msg_2Hq8bench0000000000000000"

static const size_t SIZES[] = {256, 1024, 16384, 1048576};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])

/* The secret text of each scheme, read with HL_SECRET_DEFAULT: the same
 * 32 key bytes for standard (base64) and hookline (hex); stripe and github
 * key the HMAC with the text itself, as those platforms do. */
static const char *const SECRETS[] = {
    [HL_SCHEME_STANDARD] = "whsec_AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=",
    [HL_SCHEME_HOOKLINE] = "01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da",
    [HL_SCHEME_STRIPE] = "whsec_0108f161d242b323940474e555c636a71787f868d949ba2a9b0b7b",
    [HL_SCHEME_GITHUB] = "ghsecret_0108f161d242b323940474e555c636a71787f868d949ba2",
};

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

typedef struct fixture {
    hl_scheme scheme;
    unsigned char *body;
    size_t len;
    hl_signed sig;
    hl_header headers[HL_SIGNED_MAX_HEADERS];
    size_t n_headers;
    hl_secret *key;
    /* the floor's inputs: signed prefix ("id.ts." / "ts." / ""), the
     * signature text and its encoding */
    char prefix[128];
    size_t prefix_len;
    const char *sig_text;
    size_t sig_len;
    int sig_base64;
} fixture;

static volatile int sink;

/* A JSON event of exactly `len` bytes (len >= 128): what a receiver gets. */
static unsigned char *make_body(size_t len)
{
    static const char head[] = "{\"id\":\"evt_2Hq8bench\",\"type\":\"email.delivered\","
                               "\"created_at\":\"2026-05-07T12:00:00.000Z\",\"data\":{\"pad\":\"";
    static const char tail[] = "\"}}";
    unsigned char *b = malloc(len);
    size_t h = sizeof head - 1, t = sizeof tail - 1;
    memcpy(b, head, h);
    for (size_t i = h; i < len - t; i++)
        b[i] = (unsigned char)('a' + i % 26);
    memcpy(b + len - t, tail, t);
    return b;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The floor: keyed EVP_MAC context reused, decode, CRYPTO_memcmp. */
static void floor_verify(EVP_MAC_CTX *ctx, const fixture *f)
{
    unsigned char mac[32], got[48];
    size_t mac_len;
    EVP_MAC_init(ctx, NULL, 0, NULL);
    if (f->prefix_len)
        EVP_MAC_update(ctx, (const unsigned char *)f->prefix, f->prefix_len);
    EVP_MAC_update(ctx, f->body, f->len);
    EVP_MAC_final(ctx, mac, &mac_len, sizeof mac);
    if (f->sig_base64) {
        EVP_DecodeBlock(got, (const unsigned char *)f->sig_text, (int)f->sig_len);
    } else {
        for (size_t i = 0; i < 32; i++)
            got[i] = (unsigned char)(hexval(f->sig_text[2 * i]) << 4 | hexval(f->sig_text[2 * i + 1]));
    }
    sink += CRYPTO_memcmp(mac, got, 32) == 0;
}

static void setup(fixture *f, hl_scheme scheme, size_t len)
{
    const char *ts = NULL, *id = MSG_ID;
    memset(f, 0, sizeof *f);
    f->scheme = scheme;
    f->len = len;
    f->body = make_body(len);
    if (hl_secret_parse(&f->key, scheme, HL_SECRET_DEFAULT, SECRETS[scheme],
                        strlen(SECRETS[scheme]), NULL) != HL_OK ||
        hl_sign(scheme, (const hl_secret *const *)&f->key, 1, MSG_ID, TS, f->body, f->len,
                &f->sig, NULL) != HL_OK) {
        fprintf(stderr, "bench_verify: signing the %s vector failed\n", hl_scheme_name(scheme));
        exit(1);
    }
    f->n_headers = f->sig.count;
    for (size_t i = 0; i < f->sig.count; i++) {
        const char *name = f->sig.headers[i].name, *value = f->sig.headers[i].value;
        f->headers[i].name = name;
        f->headers[i].name_len = strlen(name);
        f->headers[i].value = value;
        f->headers[i].value_len = strlen(value);
        if (strstr(name, "timestamp"))
            ts = value;
        if (strstr(name, "signature")) {
            const char *p = scheme == HL_SCHEME_STANDARD   ? strchr(value, ',')
                            : scheme == HL_SCHEME_HOOKLINE ? value - 1
                                                           : strrchr(value, '=');
            f->sig_text = p + 1;
            f->sig_len = strlen(p + 1);
        }
    }
    f->sig_base64 = scheme == HL_SCHEME_STANDARD;
    if (scheme == HL_SCHEME_STANDARD)
        f->prefix_len = (size_t)snprintf(f->prefix, sizeof f->prefix, "%s.%s.", id, ts);
    else if (scheme == HL_SCHEME_HOOKLINE)
        f->prefix_len = (size_t)snprintf(f->prefix, sizeof f->prefix, "%s.", ts);
    else if (scheme == HL_SCHEME_STRIPE)
        f->prefix_len = (size_t)snprintf(f->prefix, sizeof f->prefix, "%d.", TS);
}

static void teardown(fixture *f)
{
    hl_secret_free(f->key);
    free(f->body);
}

/* The floor's key: the bytes hl_secret_parse read from the secret text. */
static EVP_MAC_CTX *floor_ctx(EVP_MAC *mac, hl_scheme scheme)
{
    static OSSL_PARAM params[2];
    unsigned char raw[64];
    size_t raw_len;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    const char *text = SECRETS[scheme];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (scheme == HL_SCHEME_STANDARD) {
        raw_len = (size_t)EVP_DecodeBlock(raw, (const unsigned char *)text + 6,
                                          (int)strlen(text + 6)) - 1; /* one '=' of padding */
    } else if (scheme == HL_SCHEME_HOOKLINE) {
        raw_len = strlen(text) / 2;
        for (size_t i = 0; i < raw_len; i++)
            raw[i] = (unsigned char)(hexval(text[2 * i]) << 4 | hexval(text[2 * i + 1]));
    } else {
        raw_len = strlen(text);
        memcpy(raw, text, raw_len);
    }
    EVP_MAC_init(ctx, raw, raw_len, params);
    return ctx;
}

typedef struct paths {
    EVP_MAC_CTX *ctx;
    hl_verifier *verifier;
    hl_verify_options opts;
} paths;

static void run_floor(paths *p, const fixture *f)
{
    floor_verify(p->ctx, f);
}

static void run_verifier(paths *p, const fixture *f)
{
    sink += hl_verifier_verify(p->verifier, TS, f->headers, f->n_headers, f->body, f->len, NULL,
                               NULL) == HL_OK;
}

static void run_oneshot(paths *p, const fixture *f)
{
    sink += hl_verify(&p->opts, (const hl_secret *const *)&f->key, 1, TS, f->headers,
                      f->n_headers, f->body, f->len, NULL, NULL) == HL_OK;
}

typedef void (*path_fn)(paths *p, const fixture *f);

/* One timed round of `iters` calls, ns per call. */
static double round_ns(path_fn fn, paths *p, const fixture *f, long iters)
{
    double t0 = now_ns();
    for (long i = 0; i < iters; i++)
        fn(p, f);
    return (now_ns() - t0) / (double)iters;
}

/* The best round of each path, the paths' rounds interleaved (floor,
 * verifier, one-shot, floor, ...) so that a slow spell of this shared
 * machine falls on all of them alike. */
static void measure(paths *p, const fixture *f, long iters, int rounds, double best[3])
{
    static const path_fn FNS[3] = {run_floor, run_verifier, run_oneshot};
    best[0] = best[1] = best[2] = 1e30;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 3; k++) {
            double ns = round_ns(FNS[k], p, f, iters);
            if (ns < best[k])
                best[k] = ns;
        }
}

static void paths_init(paths *p, EVP_MAC *mac, const fixture *f)
{
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    opts.scheme = f->scheme;
    opts.parse_event = 0; /* the floor reads no event either */
    opts.max_body = SIZE_MAX;
    p->opts = opts;
    p->ctx = floor_ctx(mac, f->scheme);
    if (hl_verifier_new(&p->verifier, &p->opts, (const hl_secret *const *)&f->key, 1, NULL) !=
        HL_OK) {
        fprintf(stderr, "bench_verify: hl_verifier_new failed\n");
        exit(1);
    }
    /* Every path must accept the vector, or the figures mean nothing. */
    sink = 0;
    run_floor(p, f);
    run_verifier(p, f);
    run_oneshot(p, f);
    if (sink != 3) {
        fprintf(stderr, "bench_verify: %s %zu: a path rejects the vector (%d of 3 accept)\n",
                hl_scheme_name(f->scheme), f->len, sink);
        exit(1);
    }
}

static void paths_free(paths *p)
{
    hl_verifier_free(p->verifier);
    EVP_MAC_CTX_free(p->ctx);
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len) {
        perror(path);
        if (fp)
            fclose(fp);
        return -1;
    }
    return fclose(fp);
}

/* DIR/<scheme>.secret, DIR/<scheme>_<size>.body and .headers ("name: value"
 * lines), for the Python, Node and Lua benchmarks. */
static int write_vectors(const char *dir)
{
    char path[4096];
    for (int s = 0; s < HL_SCHEME__SENTINEL; s++) {
        snprintf(path, sizeof path, "%s/%s.secret", dir, hl_scheme_name(s));
        if (write_file(path, SECRETS[s], strlen(SECRETS[s])) < 0)
            return 1;
        for (size_t z = 0; z < N_SIZES; z++) {
            fixture f;
            char text[HL_SIGNED_MAX_HEADERS * (HL_HEADER_NAME_MAX + HL_HEADER_VALUE_MAX + 4)];
            size_t tl = 0;
            setup(&f, (hl_scheme)s, SIZES[z]);
            snprintf(path, sizeof path, "%s/%s_%zu.body", dir, hl_scheme_name(s), SIZES[z]);
            if (write_file(path, f.body, f.len) < 0)
                return 1;
            for (size_t i = 0; i < f.sig.count; i++)
                tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s: %s\n",
                                       f.sig.headers[i].name, f.sig.headers[i].value);
            snprintf(path, sizeof path, "%s/%s_%zu.headers", dir, hl_scheme_name(s), SIZES[z]);
            if (write_file(path, text, tl) < 0)
                return 1;
            teardown(&f);
        }
    }
    return 0;
}

/* One path N times, nothing else timed: run twice under callgrind with two
 * N and take the difference for a per-call instruction count. */
static int count(const char *path, const char *scheme_name, size_t size, long n)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    hl_scheme scheme;
    fixture f;
    paths p;
    path_fn fn = !strcmp(path, "floor")      ? run_floor
                 : !strcmp(path, "verifier") ? run_verifier
                 : !strcmp(path, "oneshot")  ? run_oneshot
                                             : NULL;
    if (!fn || hl_scheme_from_name(&scheme, scheme_name, strlen(scheme_name)) != HL_OK) {
        fprintf(stderr, "usage: bench_verify --count floor|verifier|oneshot SCHEME SIZE N\n");
        return 2;
    }
    setup(&f, scheme, size);
    paths_init(&p, mac, &f);
    for (long i = 0; i < n; i++)
        fn(&p, &f);
    paths_free(&p);
    teardown(&f);
    EVP_MAC_free(mac);
    return 0;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    int rounds = quick ? 2 : 15;
    EVP_MAC *mac;

    if (argc == 3 && !strcmp(argv[1], "--vectors"))
        return write_vectors(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "--count"))
        return count(argv[2], argv[3], strtoul(argv[4], NULL, 10), strtol(argv[5], NULL, 10));

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    /* M <key> <value> <unit>: bench/table.py turns these into the table */
    for (int s = 0; s < HL_SCHEME__SENTINEL; s++) {
        for (size_t z = 0; z < N_SIZES; z++) {
            fixture f;
            paths p;
            long iters;
            double floor_ns, ver_ns, one_ns;
            const char *scheme = hl_scheme_name(s);

            /* quick mode: 1 KiB only */
            if (quick && SIZES[z] != 1024)
                continue;
            setup(&f, (hl_scheme)s, SIZES[z]);
            paths_init(&p, mac, &f);
            iters = (long)((quick ? 2e6 : 1.5e7) / (double)(f.len + 300));
            if (iters < 10)
                iters = 10;
            {
                double best[3];
                measure(&p, &f, iters, rounds, best);
                floor_ns = best[0], ver_ns = best[1], one_ns = best[2];
            }
            printf("M\tc.floor.%s.%zu\t%.1f\tns\n", scheme, f.len, floor_ns);
            printf("M\tc.verifier.%s.%zu\t%.1f\tns\n", scheme, f.len, ver_ns);
            printf("M\tc.oneshot.%s.%zu\t%.1f\tns\n", scheme, f.len, one_ns);
            fflush(stdout);
            paths_free(&p);
            teardown(&f);
        }
    }
    EVP_MAC_free(mac);
    return sink < 0;
}
