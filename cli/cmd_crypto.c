/* cmd_crypto.c - hookline secret generate / sign / verify. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY (64u * 1024 * 1024)
#define MAX_HEADERS 64

static int scheme_named(const char *name, hl_scheme *out)
{
    if (!name) {
        *out = HL_SCHEME_STANDARD;
        return 0;
    }
    if (hl_scheme_from_name(out, name, strlen(name)) != HL_OK)
        return cli_usage("unknown scheme '%s' (standard, hookline, stripe, github)", name);
    return 0;
}

/* The whole of `f` (at most MAX_BODY bytes); NULL on error. */
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

static char *read_path(const char *path, size_t *len)
{
    FILE *f;
    char *data;
    if (!path || !strcmp(path, "-"))
        return read_all(stdin, len);
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr, "hookline: cannot open %s\n", path);
        return NULL;
    }
    data = read_all(f, len);
    fclose(f);
    return data;
}

int cmd_secret(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{"scheme", 1}, {NULL, 0}};
    hl_scheme scheme;
    hl_secret *s = NULL;
    hl_error err = HL_ERROR_INIT;
    char text[256];
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc || (rc = scheme_named(cli_opt(c, "scheme"), &scheme)))
        return rc;
    if (c->n_pos != 1 || strcmp(c->pos[0], "generate") != 0)
        return cli_usage("usage: hookline secret generate [--scheme S]");
    if (hl_secret_generate(&s, scheme, &err) != HL_OK ||
        hl_secret_format(s, scheme, text, sizeof text, NULL, &err) != HL_OK) {
        hl_secret_free(s);
        return cli_fail("generating a secret", &err);
    }
    if (c->json) {
        json_t *o = json_pack("{s:s, s:s}", "scheme", hl_scheme_name(scheme), "secret", text);
        cli_print_json(o);
    } else {
        puts(text);
    }
    hl_secret_free(s);
    return 0;
}

int cmd_sign(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {
        {"scheme", 1}, {"secret", 1}, {"id", 1}, {"timestamp", 1}, {"body", 1}, {NULL, 0}};
    hl_scheme scheme;
    hl_secret *key = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_signed sig;
    const char *secret, *msg_id;
    char generated[64], *body;
    size_t len;
    long long ts;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc || (rc = scheme_named(cli_opt(c, "scheme"), &scheme)))
        return rc;
    if (!(secret = cli_opt(c, "secret")))
        return cli_usage("--secret is required");
    if ((ts = cli_opt_int(c, "timestamp", (long long)time(NULL))) < 0)
        return EXIT_USAGE;
    if (hl_secret_parse(&key, scheme, HL_SECRET_DEFAULT, secret, strlen(secret), &err) != HL_OK)
        return cli_fail("reading the secret", &err);
    if (!(body = read_path(cli_opt(c, "body"), &len))) {
        hl_secret_free(key);
        return 1;
    }
    msg_id = cli_opt(c, "id");
    if (!msg_id && hl_generate_id(generated, sizeof generated, NULL, &err) == HL_OK)
        msg_id = generated;
    rc = hl_sign(scheme, (const hl_secret *const *)&key, 1, msg_id, ts, body, len, &sig, &err);
    if (rc != HL_OK) {
        rc = cli_fail("signing", &err);
    } else if (c->json) {
        json_t *o = json_object();
        for (size_t i = 0; i < sig.count; i++)
            json_object_set_new(o, sig.headers[i].name, json_string(sig.headers[i].value));
        cli_print_json(o);
    } else {
        for (size_t i = 0; i < sig.count; i++)
            printf("%s: %s\n", sig.headers[i].name, sig.headers[i].value);
    }
    free(body);
    hl_secret_free(key);
    return rc;
}

/* "name: value" into an hl_header pointing into `line` (modified). */
static int split_header(char *line, hl_header *h)
{
    char *colon = strchr(line, ':');
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (!colon)
        return -1;
    *h = (hl_header){line, (size_t)(colon - line), colon + 1, strlen(colon + 1)};
    return 0;
}

int cmd_verify(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{"scheme", 1}, {"secret", 1}, {"now", 1},
                                        {"tolerance", 1}, {"header", 1}, {"headers", 1},
                                        {"body", 1},   {NULL, 0}};
    hl_scheme scheme;
    hl_secret *keys[HL_MAX_SECRETS] = {NULL};
    const char *secrets[HL_MAX_SECRETS], *hv[MAX_HEADERS];
    size_t n_keys, n_hv, n_headers = 0, len = 0;
    hl_header headers[MAX_HEADERS];
    char *hcopy[MAX_HEADERS] = {NULL}, *hfile = NULL, *body = NULL;
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_verify_result res;
    hl_error err = HL_ERROR_INIT;
    long long now, tolerance;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc || (rc = scheme_named(cli_opt(c, "scheme"), &scheme)))
        return rc;
    if ((now = cli_opt_int(c, "now", (long long)time(NULL))) < 0 ||
        (tolerance = cli_opt_int(c, "tolerance", HL_DEFAULT_TOLERANCE)) < 0)
        return EXIT_USAGE;
    if (!(n_keys = cli_opts(c, "secret", secrets, HL_MAX_SECRETS)))
        return cli_usage("--secret is required (repeat it for rotation)");
    n_hv = cli_opts(c, "header", hv, MAX_HEADERS);
    for (size_t i = 0; i < n_hv; i++) {
        if (!(hcopy[i] = strdup(hv[i])) || split_header(hcopy[i], &headers[n_headers]) != 0) {
            rc = cli_usage("--header wants 'name: value', not '%s'", hv[i]);
            goto done;
        }
        n_headers++;
    }
    if (cli_opt(c, "headers")) { /* a saved request's headers, one per line */
        size_t hlen;
        char *line;
        if (!(hfile = read_path(cli_opt(c, "headers"), &hlen))) {
            rc = 1;
            goto done;
        }
        hfile[hlen ? hlen - (hfile[hlen - 1] == '\n') : 0] = '\0';
        for (line = strtok(hfile, "\n"); line && n_headers < MAX_HEADERS; line = strtok(NULL, "\n"))
            if (*line && split_header(line, &headers[n_headers]) == 0)
                n_headers++;
    }
    for (size_t i = 0; i < n_keys; i++)
        if (hl_secret_parse(&keys[i], scheme, HL_SECRET_DEFAULT, secrets[i], strlen(secrets[i]),
                            &err) != HL_OK) {
            rc = cli_fail("reading a secret", &err);
            goto done;
        }
    if (!(body = read_path(cli_opt(c, "body"), &len))) {
        rc = 1;
        goto done;
    }
    opts.scheme = scheme;
    opts.tolerance = tolerance;
    if (hl_verify(&opts, (const hl_secret *const *)keys, n_keys, now, headers, n_headers, body,
                  len, &res, &err) != HL_OK) {
        if (c->json)
            cli_print_json(json_pack("{s:b, s:s, s:s}", "verified", 0, "code",
                                     hl_code_name(err.code), "message", err.message));
        rc = cli_fail("verification failed", &err);
    } else if (c->json) {
        cli_print_json(json_pack("{s:b, s:I, s:s, s:s, s:s, s:i}", "verified", 1, "timestamp",
                                 (json_int_t)res.timestamp, "msg_id", res.msg_id, "event_id",
                                 res.event_id, "event_type", res.event_type, "secret_index",
                                 res.secret_index));
    } else {
        printf("verified: timestamp %" PRId64 " id %s event %s type %s\n", res.timestamp,
               res.msg_id[0] ? res.msg_id : "-", res.event_id[0] ? res.event_id : "-",
               res.event_type[0] ? res.event_type : "-");
    }
done:
    for (size_t i = 0; i < n_keys; i++)
        hl_secret_free(keys[i]);
    for (size_t i = 0; i < n_hv; i++)
        free(hcopy[i]);
    free(hfile);
    free(body);
    return rc;
}
