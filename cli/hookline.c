/*
 * hookline - command-line front end.
 *
 *   hookline demo                         sign an email event, verify it,
 *                                         and show forgeries rejected
 *   hookline secret generate [--scheme S] print a new secret
 *   hookline sign --secret X [--scheme S] [--id ID] [--timestamp T] < body
 *   hookline verify --secret X [--scheme S] [--now T] [--tolerance N]
 *                   --header 'name: value'... < body
 *
 * Exit codes: 0 success, 1 failure (e.g. verification failed), 2 usage.
 * The CLI reads the clock; the library never does.
 */
#include "hookline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define MAX_HEADERS 64
#define MAX_BODY (64u * 1024 * 1024)

static int use_color;

static const char *paint(const char *code)
{
    return use_color ? code : "";
}

static int usage(void)
{
    fprintf(stderr,
            "usage: hookline demo\n"
            "       hookline secret generate [--scheme S]\n"
            "       hookline sign --secret X [--scheme S] [--id ID] [--timestamp T] < body\n"
            "       hookline verify --secret X [--scheme S] [--now T] [--tolerance N]\n"
            "                       --header 'name: value' ... < body\n"
            "schemes: standard (default), hookline, stripe, github\n");
    return EXIT_USAGE;
}

static int fail(const char *what, const hl_error *err)
{
    fprintf(stderr, "hookline: %s: %s (%s)\n", what, err->message, hl_code_name(err->code));
    return 1;
}

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *bigger = cap >= MAX_BODY ? NULL : realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static size_t to_headers(const hl_signed *sig, hl_header *h)
{
    for (size_t i = 0; i < sig->count; i++) {
        h[i].name = sig->headers[i].name;
        h[i].name_len = strlen(h[i].name);
        h[i].value = sig->headers[i].value;
        h[i].value_len = strlen(h[i].value);
    }
    return sig->count;
}

/* One verification shown as a line of the demo; returns 1 when the
 * outcome was the expected one. */
static int demo_check(const char *label, const hl_verify_options *opts, hl_secret *key,
                      int64_t now, const hl_header *h, size_t n, const char *body, size_t len,
                      hl_code expected)
{
    hl_error err = HL_ERROR_INIT;
    hl_verify_result res;
    hl_code rc = hl_verify(opts, (const hl_secret *const *)&key, 1, now, h, n, body, len, &res, &err);
    int ok = rc == expected;
    if (rc == HL_OK)
        printf("  %-34s %saccepted%s  event %s (%s)\n", label, paint("\033[32m"), paint("\033[0m"),
               res.event_id, res.event_type);
    else
        printf("  %-34s %srejected%s  %s: %s\n", label, paint("\033[33m"), paint("\033[0m"),
               hl_code_name(rc), err.message);
    if (!ok)
        printf("  ^ UNEXPECTED: wanted %s\n", hl_code_name(expected));
    return ok;
}

static int cmd_demo(void)
{
    static const char *EVENT =
        "{\"id\":\"evt_01J9Z6\",\"type\":\"email.outbound.delivered\","
        "\"created_at\":\"2026-05-07T12:00:00Z\",\"data\":{\"message_id\":"
        "\"<20260507120000.1@mail.example.com>\",\"recipient\":\"ana@example.org\"}}";
    int good = 1;
    int64_t now = (int64_t)time(NULL);

    printf("hookline %s: signing and verifying an email event with every scheme\n\n", hl_version());
    for (int s = 0; s < HL_SCHEME__SENTINEL; s++) {
        hl_scheme scheme = (hl_scheme)s;
        hl_secret *key = NULL;
        hl_signed sig;
        hl_header h[HL_SIGNED_MAX_HEADERS];
        hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
        hl_error err = HL_ERROR_INIT;
        char id[64], *tampered;
        size_t len = strlen(EVENT), n;

        opts.scheme = scheme;
        if (hl_secret_generate(&key, scheme, &err) != HL_OK || hl_generate_id(id, sizeof id, NULL, &err) != HL_OK ||
            hl_sign(scheme, (const hl_secret *const *)&key, 1, id, now, EVENT, len, &sig, &err) != HL_OK) {
            hl_secret_free(key);
            return fail("signing", &err);
        }
        printf("%s[%s]%s\n", paint("\033[1m"), hl_scheme_name(scheme), paint("\033[0m"));
        for (size_t i = 0; i < sig.count; i++)
            printf("  %s: %.72s%s\n", sig.headers[i].name, sig.headers[i].value,
                   strlen(sig.headers[i].value) > 72 ? "…" : "");
        n = to_headers(&sig, h);
        good &= demo_check("genuine request", &opts, key, now, h, n, EVENT, len, HL_OK);
        tampered = malloc(len + 1);
        memcpy(tampered, EVENT, len + 1);
        memcpy(strstr(tampered, "ana@"), "eve@", 4); /* a recipient swapped in transit */
        good &= demo_check("body changed in transit", &opts, key, now, h, n, tampered, len,
                           HL_E_SIGNATURE_MISMATCH);
        free(tampered);
        if (scheme != HL_SCHEME_GITHUB)
            good &= demo_check("replayed 10 minutes later", &opts, key, now + 600, h, n, EVENT, len,
                               HL_E_TIMESTAMP_TOO_OLD);
        else
            printf("  %-34s (github signs no timestamp: no replay protection)\n", "replayed later");
        good &= demo_check("signature header stripped", &opts, key, now, h, n - 1, EVENT, len,
                           HL_E_HEADER_MISSING);
        hl_secret_free(key);
        printf("\n");
    }
    printf("%s\n", good ? "demo: every genuine request accepted, every forgery rejected"
                        : "demo: UNEXPECTED RESULT");
    return good ? 0 : 1;
}

static int parse_scheme(const char *name, hl_scheme *out)
{
    if (hl_scheme_from_name(out, name, strlen(name)) != HL_OK) {
        fprintf(stderr, "hookline: unknown scheme '%s'\n", name);
        return 0;
    }
    return 1;
}

static int parse_int(const char *text, int64_t *out)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || v < 0) {
        fprintf(stderr, "hookline: '%s' is not a non-negative integer\n", text);
        return 0;
    }
    *out = v;
    return 1;
}

static int cmd_secret(int argc, char **argv)
{
    hl_scheme scheme = HL_SCHEME_STANDARD;
    hl_secret *s = NULL;
    hl_error err = HL_ERROR_INIT;
    char text[256];
    if (argc < 1 || strcmp(argv[0], "generate") != 0)
        return usage();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scheme") && i + 1 < argc) {
            if (!parse_scheme(argv[++i], &scheme))
                return EXIT_USAGE;
        } else {
            return usage();
        }
    }
    if (hl_secret_generate(&s, scheme, &err) != HL_OK ||
        hl_secret_format(s, scheme, text, sizeof text, NULL, &err) != HL_OK) {
        hl_secret_free(s);
        return fail("generating a secret", &err);
    }
    puts(text);
    hl_secret_free(s);
    return 0;
}

static int cmd_sign_or_verify(int verify, int argc, char **argv)
{
    hl_scheme scheme = HL_SCHEME_STANDARD;
    const char *secret_text = NULL, *msg_id = NULL;
    int64_t ts = (int64_t)time(NULL), now = ts, tolerance = HL_DEFAULT_TOLERANCE;
    hl_header headers[MAX_HEADERS];
    size_t n_headers = 0, len = 0;
    hl_secret *key = NULL;
    hl_error err = HL_ERROR_INIT;
    char *body, generated[64];
    int rc = 0;

    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            return usage();
        i++;
        if (!strcmp(opt, "--scheme")) {
            if (!parse_scheme(val, &scheme))
                return EXIT_USAGE;
        } else if (!strcmp(opt, "--secret")) {
            secret_text = val;
        } else if (!strcmp(opt, "--id") && !verify) {
            msg_id = val;
        } else if (!strcmp(opt, "--timestamp") && !verify) {
            if (!parse_int(val, &ts))
                return EXIT_USAGE;
        } else if (!strcmp(opt, "--now") && verify) {
            if (!parse_int(val, &now))
                return EXIT_USAGE;
        } else if (!strcmp(opt, "--tolerance") && verify) {
            if (!parse_int(val, &tolerance))
                return EXIT_USAGE;
        } else if (!strcmp(opt, "--header") && verify && n_headers < MAX_HEADERS) {
            const char *colon = strchr(val, ':');
            if (!colon) {
                fprintf(stderr, "hookline: --header wants 'name: value'\n");
                return EXIT_USAGE;
            }
            headers[n_headers].name = val;
            headers[n_headers].name_len = (size_t)(colon - val);
            headers[n_headers].value = colon + 1;
            headers[n_headers].value_len = strlen(colon + 1);
            n_headers++;
        } else {
            return usage();
        }
    }
    if (!secret_text) {
        fprintf(stderr, "hookline: --secret is required\n");
        return EXIT_USAGE;
    }
    if (hl_secret_parse(&key, scheme, HL_SECRET_DEFAULT, secret_text, strlen(secret_text), &err) != HL_OK)
        return fail("reading the secret", &err);
    if (!(body = read_all(stdin, &len))) {
        hl_secret_free(key);
        fprintf(stderr, "hookline: cannot read the body from stdin\n");
        return 1;
    }
    if (!verify) {
        hl_signed sig;
        if (!msg_id && hl_generate_id(generated, sizeof generated, NULL, &err) == HL_OK)
            msg_id = generated;
        if (hl_sign(scheme, (const hl_secret *const *)&key, 1, msg_id, ts, body, len, &sig, &err) != HL_OK)
            rc = fail("signing", &err);
        for (size_t i = 0; rc == 0 && i < sig.count; i++)
            printf("%s: %s\n", sig.headers[i].name, sig.headers[i].value);
    } else {
        hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
        hl_verify_result res;
        opts.scheme = scheme;
        opts.tolerance = tolerance;
        if (hl_verify(&opts, (const hl_secret *const *)&key, 1, now, headers, n_headers, body, len,
                      &res, &err) != HL_OK)
            rc = fail("verification failed", &err);
        else
            printf("verified: timestamp %" PRId64 " id %s event %s type %s\n", res.timestamp,
                   res.msg_id[0] ? res.msg_id : "-", res.event_id[0] ? res.event_id : "-",
                   res.event_type[0] ? res.event_type : "-");
    }
    free(body);
    hl_secret_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    use_color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return argc < 2 ? usage() : (usage(), 0);
    if (!strcmp(argv[1], "--version")) {
        printf("hookline %s\n", hl_version());
        return 0;
    }
    if (!strcmp(argv[1], "demo"))
        return cmd_demo();
    if (!strcmp(argv[1], "secret"))
        return cmd_secret(argc - 2, argv + 2);
    if (!strcmp(argv[1], "sign"))
        return cmd_sign_or_verify(0, argc - 2, argv + 2);
    if (!strcmp(argv[1], "verify"))
        return cmd_sign_or_verify(1, argc - 2, argv + 2);
    return usage();
}
