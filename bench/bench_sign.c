/*
 * bench_sign.c - a sender's work for one batch: build the body of 100
 * events of about 500 bytes (a JSON array) and sign it (standard scheme,
 * reusable signer, fresh message id). Prints batches per second.
 *
 * Usage: bench_sign [--quick]
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS 100

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One event of about 500 bytes, numbered. */
static size_t event(char *out, size_t cap, long n)
{
    return (size_t)snprintf(out, cap,
                            "{\"id\":\"evt_%022ld\",\"type\":\"email.delivered\","
                            "\"created_at\":\"2026-05-07T12:00:00.000Z\",\"data\":{"
                            "\"message_id\":\"<%ld.bench@mail.example.com>\","
                            "\"from\":\"news@example.com\",\"to\":\"someone%ld@example.org\","
                            "\"subject\":\"Your weekly digest: 12 new articles you may like\","
                            "\"smtp_response\":\"250 2.0.0 OK 1778155200 a1b2c3d4e5f6 - gsmtp\","
                            "\"ip\":\"192.0.2.10\",\"pool\":\"shared-1\",\"tags\":[\"digest\","
                            "\"weekly\"],\"metadata\":{\"campaign\":\"cmp_0042\",\"user\":\"u_%ld\"},"
                            "\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
                            n, n, n, n);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    static const char secret[] = "whsec_AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=";
    hl_secret *key = NULL;
    hl_signer *signer = NULL;
    char *body = malloc(EVENTS * 1024);
    long iters = quick ? 500 : 20000, n = 0;
    double best = 1e30;

    if (hl_secret_parse(&key, HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, secret, strlen(secret),
                        NULL) != HL_OK ||
        hl_signer_new(&signer, HL_SCHEME_STANDARD, (const hl_secret *const *)&key, 1, NULL) !=
            HL_OK)
        return 1;
    for (int r = 0; r < (quick ? 2 : 5); r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            hl_signed out;
            char id[64];
            size_t len = 0;
            body[len++] = '[';
            for (int k = 0; k < EVENTS; k++) {
                if (k)
                    body[len++] = ',';
                len += event(body + len, 1024, n++);
            }
            body[len++] = ']';
            if (hl_generate_id(id, sizeof id, NULL, NULL) != HL_OK ||
                hl_signer_sign(signer, id, 1778155200, body, len, &out, NULL) != HL_OK)
                return 1;
        }
        double per = (now_ns() - t0) / (double)iters;
        if (per < best)
            best = per;
    }
    printf("M\tsign.c\t%.0f\tbatch/s\n", 1e9 / best);
    hl_signer_free(signer);
    hl_secret_free(key);
    free(body);
    return 0;
}
