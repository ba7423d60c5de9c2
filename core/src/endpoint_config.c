/*
 * endpoint_config.c - the endpoint configuration document (JSON) to and
 * from hl_endpoint_options + hl_delivery_options (hookline/endpoint_config.h).
 *
 * Numbers are described by tables (section, name, where in the struct, range)
 * so that parsing, unknown-field detection and serialising walk the same
 * list and cannot drift apart. A parsed config keeps the jansson tree alive:
 * the options' strings point into it.
 */
#include "engine_internal.h"
#include "internal.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000.0
#define MONTH_MS 2592000000.0       /* 30 days */
#define YEAR3000_MS 32503680000000.0 /* 3000-01-01 */

struct hl_endpoint_config {
    hl_endpoint_options eo;
    hl_delivery_options dopts;
    json_t *root; /* owns every string the options point to */
    const char *filters[HL_FILTERS_MAX];
    hl_delivery_secret secrets[HL_MAX_SECRETS];
    const char *header_names[HL_DELIVERY_HEADERS_MAX];
    const char *header_values[HL_DELIVERY_HEADERS_MAX];
};

typedef enum num_kind { K_U32, K_U64, K_SIZE, K_DOUBLE, K_BOOL } num_kind;

/* One scalar field of hl_endpoint_options. `gt_min`: the minimum itself is
 * excluded (throttle rates must be > 0). */
typedef struct field {
    const char *section; /* NULL: top level */
    const char *name;
    num_kind kind;
    size_t offset;
    double min, max;
    int gt_min;
} field;

#define EO(m) offsetof(hl_endpoint_options, m)
static const field FIELDS[] = {
    {NULL, "active", K_BOOL, EO(active), 0, 1, 0},
    {NULL, "sparkpost_compat", K_BOOL, EO(sparkpost_compat), 0, 1, 0},
    {"batch", "max_events", K_U32, EO(max_events), 1, 1000000, 0},
    {"batch", "max_bytes", K_SIZE, EO(max_bytes), 64, 268435456, 0},
    {"batch", "linger_ms", K_U64, EO(linger_ms), 0, DAY_MS, 0},
    {"batch", "unbatched", K_BOOL, EO(unbatched), 0, 1, 0},
    {"retry", "jitter_pct", K_U32, EO(jitter_pct), 0, 100, 0},
    {"retry", "deadline_ms", K_U64, EO(deadline_ms), 1, MONTH_MS, 0},
    {"retry", "max_attempts", K_U32, EO(max_attempts), 0, 1000000, 0},
    {"flow", "concurrency", K_U32, EO(concurrency), 1, 100000, 0},
    {"flow", "rate_per_s", K_DOUBLE, EO(rate_per_s), 0, 1000000, 0},
    {"flow", "burst", K_DOUBLE, EO(burst), 0, 1000000, 0},
    {"flow", "throttle_start_rate", K_DOUBLE, EO(throttle_start_rate), 0, 1000000, 1},
    {"flow", "throttle_min_rate", K_DOUBLE, EO(throttle_min_rate), 0, 1000000, 1},
    {"flow", "throttle_recover_ms", K_U64, EO(throttle_recover_ms), 0, MONTH_MS, 0},
    {"breaker", "window_ms", K_U64, EO(breaker_window_ms), 10, MONTH_MS, 0},
    {"breaker", "min_attempts", K_U32, EO(breaker_min_attempts), 1, 1000000, 0},
    {"breaker", "failure_pct", K_U32, EO(breaker_failure_pct), 0, 100, 0},
    {"breaker", "half_open_ms", K_U64, EO(breaker_half_open_ms), 0, MONTH_MS, 0},
    {"breaker", "disable_after_ms", K_U64, EO(breaker_disable_after_ms), 0, MONTH_MS, 0},
    {"breaker", "max_trips", K_U32, EO(breaker_max_trips), 0, 1000000, 0},
    {"breaker", "blocked_disable_after", K_U32, EO(blocked_disable_after), 0, 1000000, 0},
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* Top-level fields handled by hand (besides the FIELDS with no section). */
static const char *const TOP_NAMES[] = {
    "url",     "events",         "ordering", "batch", "retry",           "flow",
    "breaker", "scheme",         "secrets",  "custom_headers",           "auth",
    "tls_client_cert",           "tls_client_key",   "timeout_ms",
};
static const char *const SECTIONS[] = {"batch", "retry", "flow", "breaker"};
static const char *const ENCODINGS[] = {"default", "hex", "base64", "raw"};

/* ------------------------------------------------------------ helpers */

static hl_code bad_type(hl_error *err, const char *path, const char *want)
{
    return hli_fail(err, HL_E_CONFIG_TYPE, "endpoint config: \"%s\": must be %s", path, want);
}

/* Is `key` a known name of object `section` (NULL: top level)? */
static int known_key(const char *section, const char *key)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (((section == NULL && FIELDS[i].section == NULL) ||
             (section && FIELDS[i].section && strcmp(section, FIELDS[i].section) == 0)) &&
            strcmp(FIELDS[i].name, key) == 0)
            return 1;
    if (section == NULL) {
        for (size_t i = 0; i < sizeof TOP_NAMES / sizeof TOP_NAMES[0]; i++)
            if (strcmp(TOP_NAMES[i], key) == 0)
                return 1;
    } else if (strcmp(section, "retry") == 0 && strcmp(key, "schedule_ms") == 0) {
        return 1;
    }
    return 0;
}

static hl_code check_keys(json_t *obj, const char *section, hl_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        if (!known_key(section, key)) {
            /* The key is the user's own text: cut it, it could be long. */
            return hli_fail(err, HL_E_CONFIG_UNKNOWN_FIELD,
                            "endpoint config: unknown field \"%s%s%.64s\"", section ? section : "",
                            section ? "." : "", key);
        }
    }
    return HL_OK;
}

/* A number field: integer JSON for integer kinds, any number for doubles. */
static hl_code read_field(const field *f, json_t *v, hl_endpoint_options *eo, hl_error *err)
{
    char path[64];
    char *at = (char *)eo + f->offset;
    double d;
    snprintf(path, sizeof path, "%s%s%s", f->section ? f->section : "", f->section ? "." : "",
             f->name);
    if (f->kind == K_BOOL) {
        if (!json_is_boolean(v))
            return bad_type(err, path, "true or false");
        *(int *)at = json_is_true(v);
        return HL_OK;
    }
    if (f->kind == K_DOUBLE) {
        if (!json_is_number(v))
            return bad_type(err, path, "a number");
        d = json_number_value(v);
    } else {
        if (!json_is_integer(v))
            return bad_type(err, path, "an integer");
        d = (double)json_integer_value(v);
    }
    if (!isfinite(d) || d < f->min || d > f->max || (f->gt_min && d <= f->min)) {
        if (f->kind == K_DOUBLE)
            return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"%s\": must be a number %s %g and <= %g",
                            path, f->gt_min ? ">" : ">=", f->min, f->max);
        return hli_fail(err, HL_E_CONFIG_RANGE,
                        "endpoint config: \"%s\": must be an integer in %.0f..%.0f", path, f->min,
                        f->max);
    }
    switch (f->kind) {
    case K_U32:
        *(unsigned int *)at = (unsigned int)json_integer_value(v);
        break;
    case K_U64:
        *(uint64_t *)at = (uint64_t)json_integer_value(v);
        break;
    case K_SIZE:
        *(size_t *)at = (size_t)json_integer_value(v);
        break;
    case K_DOUBLE:
        *(double *)at = d;
        break;
    case K_BOOL:
        break;
    }
    return HL_OK;
}

/* An optional string field: absent or null leaves *out NULL. */
static hl_code opt_string(json_t *obj, const char *key, const char *path, int nullable,
                          const char **out, hl_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || (nullable && json_is_null(v)))
        return HL_OK;
    if (!json_is_string(v))
        return bad_type(err, path, nullable ? "a string or null" : "a string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"%s\": contains a NUL byte",
                        path);
    *out = json_string_value(v);
    return HL_OK;
}

static hl_code name_index(json_t *v, const char *path, const char *const *names, size_t n,
                          int *out, hl_error *err)
{
    if (!json_is_string(v))
        return bad_type(err, path, "a string");
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_string_value(v), names[i]) == 0 &&
            json_string_length(v) == strlen(names[i])) {
            *out = (int)i;
            return HL_OK;
        }
    return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"%s\": not an allowed value", path);
}

/* Wipe a secret string held by a tree before jansson frees it. */
static void wipe_string(json_t *v)
{
    if (json_is_string(v))
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

/* Wipe the secrets of a document tree, when we hold its last reference (a
 * shared tree is still in use). */
static void wipe_tree(json_t *root)
{
    json_t *v, *s, *auth, *h;
    size_t i;
    const char *key;
    if (!json_is_object(root) || root->refcount != 1)
        return;
    if (json_is_array(v = json_object_get(root, "secrets")))
        json_array_foreach(v, i, s) wipe_string(json_object_get(s, "secret"));
    if (json_is_object(h = json_object_get(root, "custom_headers")))
        json_object_foreach(h, key, v) wipe_string(v);
    if (json_is_object(auth = json_object_get(root, "auth"))) {
        wipe_string(json_object_get(auth, "password"));
        wipe_string(json_object_get(auth, "client_secret"));
    }
}

/* ------------------------------------------------------------- parse */

static hl_code parse_engine(hl_endpoint_config *c, json_t *root, hl_error *err)
{
    hl_endpoint_options *eo = &c->eo;
    json_t *v;
    hl_code rc;

    for (size_t s = 0; s < sizeof SECTIONS / sizeof SECTIONS[0]; s++) {
        v = json_object_get(root, SECTIONS[s]);
        if (v && !json_is_object(v))
            return bad_type(err, SECTIONS[s], "an object");
        if (v && (rc = check_keys(v, SECTIONS[s], err)) != HL_OK)
            return rc;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        json_t *obj = FIELDS[i].section ? json_object_get(root, FIELDS[i].section) : root;
        v = obj ? json_object_get(obj, FIELDS[i].name) : NULL;
        if (v && (rc = read_field(&FIELDS[i], v, eo, err)) != HL_OK)
            return rc;
    }

    if ((rc = opt_string(root, "url", "url", 0, &eo->url, err)) != HL_OK)
        return rc;
    if (eo->url == NULL)
        return hli_fail(err, HL_E_CONFIG_MISSING, "endpoint config: \"url\" is required");
    if (eo->url[0] == '\0')
        return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"url\": must not be empty");

    if ((v = json_object_get(root, "events")) != NULL) {
        size_t i;
        json_t *f;
        if (!json_is_array(v))
            return bad_type(err, "events", "an array of strings");
        if (json_array_size(v) > HL_FILTERS_MAX)
            return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"events\": at most %d filters",
                            HL_FILTERS_MAX);
        json_array_foreach(v, i, f)
        {
            char path[32];
            snprintf(path, sizeof path, "events[%zu]", i);
            if (!json_is_string(f))
                return bad_type(err, path, "a string");
            c->filters[i] = json_string_value(f);
        }
        eo->filters = c->filters;
        eo->n_filters = json_array_size(v);
    }

    if ((v = json_object_get(root, "ordering")) != NULL) {
        static const char *const ORD[] = {"none", "key"};
        int k;
        if ((rc = name_index(v, "ordering", ORD, 2, &k, err)) != HL_OK)
            return rc;
        eo->ordering = k == 1 ? HL_ORDERING_KEY : HL_ORDERING_NONE;
    }

    v = json_object_get(json_object_get(root, "retry"), "schedule_ms");
    if (v != NULL) {
        size_t i;
        json_t *d;
        if (!json_is_array(v))
            return bad_type(err, "retry.schedule_ms", "an array of integers");
        if (json_array_size(v) < 1 || json_array_size(v) > HL_SCHEDULE_MAX)
            return hli_fail(err, HL_E_CONFIG_RANGE,
                            "endpoint config: \"retry.schedule_ms\": 1..%d entries",
                            HL_SCHEDULE_MAX);
        json_array_foreach(v, i, d)
        {
            if (!json_is_integer(d) || json_integer_value(d) < 0 ||
                (double)json_integer_value(d) > MONTH_MS)
                return hli_fail(err, json_is_integer(d) ? HL_E_CONFIG_RANGE : HL_E_CONFIG_TYPE,
                                "endpoint config: \"retry.schedule_ms[%zu]\": must be an integer "
                                "in 0..%.0f",
                                i, MONTH_MS);
            eo->schedule_ms[i] = (uint64_t)json_integer_value(d);
        }
        eo->n_schedule = json_array_size(v);
    }
    /* The engine's own checks (filter syntax, cross-field rules). */
    return hli_endpoint_options_check(eo, err);
}

static hl_code parse_auth(hl_endpoint_config *c, json_t *auth, hl_error *err)
{
    static const char *const KINDS[] = {"none", "basic", "oauth2"};
    static const char *const BASIC[] = {"type", "user", "password"};
    static const char *const OAUTH[] = {"type", "token_url", "client_id", "client_secret", "scope"};
    hl_delivery_options *d = &c->dopts;
    const char *key;
    json_t *v, *t;
    int kind;
    hl_code rc;

    if (!json_is_object(auth))
        return bad_type(err, "auth", "an object");
    if ((t = json_object_get(auth, "type")) == NULL)
        return hli_fail(err, HL_E_CONFIG_MISSING, "endpoint config: \"auth.type\" is required");
    if ((rc = name_index(t, "auth.type", KINDS, 3, &kind, err)) != HL_OK)
        return rc;
    json_object_foreach(auth, key, v)
    {
        const char *const *names = kind == 1 ? BASIC : OAUTH;
        size_t n = kind == 0 ? 1 : kind == 1 ? 3 : 5;
        int ok = 0;
        (void)v;
        for (size_t i = 0; i < n; i++)
            ok |= strcmp(names[i], key) == 0;
        if (!ok)
            return hli_fail(err, HL_E_CONFIG_UNKNOWN_FIELD,
                            "endpoint config: unknown field \"auth.%.64s\" for auth type %s", key,
                            KINDS[kind]);
    }
    d->auth = (hl_auth_kind)kind;
    if (kind == 1) {
        if ((rc = opt_string(auth, "user", "auth.user", 0, &d->basic_user, err)) != HL_OK ||
            (rc = opt_string(auth, "password", "auth.password", 1, &d->basic_password, err)) !=
                HL_OK)
            return rc;
        if (d->basic_user == NULL)
            return hli_fail(err, HL_E_CONFIG_MISSING, "endpoint config: \"auth.user\" is required");
    } else if (kind == 2) {
        if ((rc = opt_string(auth, "token_url", "auth.token_url", 0, &d->oauth2_token_url, err)) !=
                HL_OK ||
            (rc = opt_string(auth, "client_id", "auth.client_id", 0, &d->oauth2_client_id, err)) !=
                HL_OK ||
            (rc = opt_string(auth, "client_secret", "auth.client_secret", 0,
                             &d->oauth2_client_secret, err)) != HL_OK ||
            (rc = opt_string(auth, "scope", "auth.scope", 1, &d->oauth2_scope, err)) != HL_OK)
            return rc;
        if (!d->oauth2_token_url || !d->oauth2_client_id || !d->oauth2_client_secret)
            return hli_fail(err, HL_E_CONFIG_MISSING,
                            "endpoint config: oauth2 needs \"auth.token_url\", \"auth.client_id\" "
                            "and \"auth.client_secret\"");
    }
    return HL_OK;
}

static hl_code parse_delivery(hl_endpoint_config *c, json_t *root, hl_error *err)
{
    hl_delivery_options *d = &c->dopts;
    json_t *v;
    hl_code rc;

    if ((v = json_object_get(root, "scheme")) != NULL) {
        if (!json_is_string(v))
            return bad_type(err, "scheme", "a string");
        if (hl_scheme_from_name(&d->scheme, json_string_value(v), json_string_length(v)) !=
            HL_OK)
            return hli_fail(err, HL_E_CONFIG_RANGE,
                            "endpoint config: \"scheme\": must be standard, hookline, stripe or "
                            "github");
    }
    if ((v = json_object_get(root, "secrets")) != NULL) {
        size_t i;
        json_t *s;
        if (!json_is_array(v))
            return bad_type(err, "secrets", "an array of objects");
        if (json_array_size(v) > HL_MAX_SECRETS)
            return hli_fail(err, HL_E_CONFIG_RANGE, "endpoint config: \"secrets\": at most %d",
                            HL_MAX_SECRETS);
        json_array_foreach(v, i, s)
        {
            char path[48];
            const char *key;
            json_t *m;
            hl_delivery_secret *ds = &c->secrets[i];
            snprintf(path, sizeof path, "secrets[%zu]", i);
            if (!json_is_object(s))
                return bad_type(err, path, "an object");
            json_object_foreach(s, key, m)
            {
                (void)m;
                if (strcmp(key, "secret") && strcmp(key, "encoding") && strcmp(key, "not_after_ms"))
                    return hli_fail(err, HL_E_CONFIG_UNKNOWN_FIELD,
                                    "endpoint config: unknown field \"%s.%.64s\"", path, key);
            }
            snprintf(path, sizeof path, "secrets[%zu].secret", i);
            if ((rc = opt_string(s, "secret", path, 0, &ds->text, err)) != HL_OK)
                return rc;
            if (ds->text == NULL)
                return hli_fail(err, HL_E_CONFIG_MISSING, "endpoint config: \"%s\" is required",
                                path);
            if ((m = json_object_get(s, "encoding")) != NULL) {
                int k;
                snprintf(path, sizeof path, "secrets[%zu].encoding", i);
                if ((rc = name_index(m, path, ENCODINGS, 4, &k, err)) != HL_OK)
                    return rc;
                ds->encoding = (hl_secret_encoding)k;
            }
            if ((m = json_object_get(s, "not_after_ms")) != NULL) {
                snprintf(path, sizeof path, "secrets[%zu].not_after_ms", i);
                if (!json_is_integer(m))
                    return bad_type(err, path, "an integer");
                if (json_integer_value(m) < 0 || (double)json_integer_value(m) > YEAR3000_MS)
                    return hli_fail(err, HL_E_CONFIG_RANGE,
                                    "endpoint config: \"%s\": must be an integer in 0..%.0f", path,
                                    YEAR3000_MS);
                ds->not_after_ms = (uint64_t)json_integer_value(m);
            }
        }
        d->secrets = c->secrets;
        d->n_secrets = json_array_size(v);
    }
    if ((v = json_object_get(root, "custom_headers")) != NULL) {
        const char *key;
        json_t *h;
        size_t n = 0;
        if (!json_is_object(v))
            return bad_type(err, "custom_headers", "an object of strings");
        if (json_object_size(v) > HL_DELIVERY_HEADERS_MAX)
            return hli_fail(err, HL_E_CONFIG_RANGE,
                            "endpoint config: \"custom_headers\": at most %d headers",
                            HL_DELIVERY_HEADERS_MAX);
        json_object_foreach(v, key, h)
        {
            if (!json_is_string(h))
                return hli_fail(err, HL_E_CONFIG_TYPE,
                                "endpoint config: \"custom_headers.%.64s\": must be a string", key);
            /* NUL bytes inside names or values: the delivery check sees the
             * C strings, so catch the cut here. */
            if (strlen(json_string_value(h)) != json_string_length(h))
                return hli_fail(err, HL_E_CONFIG_RANGE,
                                "endpoint config: \"custom_headers.%.64s\": contains a NUL byte",
                                key);
            c->header_names[n] = key;
            c->header_values[n] = json_string_value(h);
            n++;
        }
        d->header_names = c->header_names;
        d->header_values = c->header_values;
        d->n_headers = n;
    }
    if ((v = json_object_get(root, "auth")) != NULL && (rc = parse_auth(c, v, err)) != HL_OK)
        return rc;
    if ((rc = opt_string(root, "tls_client_cert", "tls_client_cert", 1, &d->tls_client_cert,
                         err)) != HL_OK ||
        (rc = opt_string(root, "tls_client_key", "tls_client_key", 1, &d->tls_client_key, err)) !=
            HL_OK)
        return rc;
    if ((v = json_object_get(root, "timeout_ms")) != NULL) {
        if (!json_is_integer(v))
            return bad_type(err, "timeout_ms", "an integer");
        if (json_integer_value(v) < 1 || json_integer_value(v) > HL_DELIVERY_TIMEOUT_MAX_MS)
            return hli_fail(err, HL_E_CONFIG_RANGE,
                            "endpoint config: \"timeout_ms\": must be an integer in 1..%u",
                            HL_DELIVERY_TIMEOUT_MAX_MS);
        d->timeout_ms = (uint64_t)json_integer_value(v);
    }

    if (d->n_secrets > 0)
        return hl_delivery_options_check(d, err);
    /* No secret yet (the worker generates one): check everything else with a
     * stand-in that any scheme accepts. */
    {
        hl_delivery_options probe = *d;
        hl_delivery_secret stand_in = {"stand-in-secret-for-checking", HL_SECRET_RAW, 0};
        probe.secrets = &stand_in;
        probe.n_secrets = 1;
        return hl_delivery_options_check(&probe, err);
    }
}

/* Takes a reference to `root` on success. */
static hl_code parse_tree(hl_endpoint_config **out, json_t *root, hl_error *err)
{
    static const hl_endpoint_options EO_INIT = HL_ENDPOINT_OPTIONS_INIT;
    static const hl_delivery_options DO_INIT = HL_DELIVERY_OPTIONS_INIT;
    hl_endpoint_config *c;
    hl_code rc;

    if (!json_is_object(root))
        return hli_fail(err, HL_E_JSON, "endpoint config: must be a JSON object");
    if ((rc = check_keys(root, NULL, err)) != HL_OK)
        return rc;
    if ((c = calloc(1, sizeof *c)) == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory for an endpoint config");
    c->eo = EO_INIT;
    c->dopts = DO_INIT;
    c->root = json_incref(root);
    if ((rc = parse_engine(c, root, err)) != HL_OK || (rc = parse_delivery(c, root, err)) != HL_OK) {
        hl_endpoint_config_free(c);
        return rc;
    }
    *out = c;
    return HL_OK;
}

hl_code hl_endpoint_config_parse(hl_endpoint_config **out, const char *json, size_t len,
                                 hl_error *err)
{
    json_error_t jerr;
    json_t *root;
    hl_code rc;

    if (out == NULL || (json == NULL && len > 0))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: NULL argument");
    if (len > HL_CONFIG_MAX_BYTES)
        return hli_fail(err, HL_E_JSON, "endpoint config: longer than %u bytes",
                        HL_CONFIG_MAX_BYTES);
    root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        /* jansson's text names the position and problem, not the content. */
        return hli_fail(err, HL_E_JSON, "endpoint config: line %d column %d: %.120s", jerr.line,
                        jerr.column, jerr.text);
    rc = parse_tree(out, root, err);
    wipe_tree(root);
    json_decref(root);
    return rc;
}

/* --------------------------------------------------------- serialise */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* NULL when any allocation failed (json_object_set_new frees the value). */
static json_t *build_tree(const hl_endpoint_options *eo, const hl_delivery_options *d,
                          unsigned int flags)
{
    json_t *root = json_object(), *sec[4], *a;
    int ok = root != NULL;
    const int redact = (flags & HL_CONFIG_REDACT) != 0;
    const char *hidden = HL_CONFIG_REDACTED;

    if (!ok)
        return NULL;
    /* json_string() refuses invalid UTF-8; that fails the whole build. */
    ok &= json_object_set_new(root, "url", json_string(eo->url ? eo->url : "")) == 0;
    a = json_array();
    for (size_t i = 0; a && i < eo->n_filters; i++)
        ok &= json_array_append_new(a, json_string(eo->filters[i])) == 0;
    ok &= json_object_set_new(root, "events", a) == 0;
    ok &= json_object_set_new(root, "active", json_boolean(eo->active)) == 0;
    ok &= json_object_set_new(root, "ordering",
                              json_string(eo->ordering == HL_ORDERING_KEY ? "key" : "none")) == 0;
    ok &= json_object_set_new(root, "sparkpost_compat", json_boolean(eo->sparkpost_compat)) == 0;
    for (size_t s = 0; s < 4; s++) {
        sec[s] = json_object();
        ok &= json_object_set_new(root, SECTIONS[s], sec[s]) == 0;
    }
    if (!ok)
        goto fail;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &FIELDS[i];
        const char *at = (const char *)eo + f->offset;
        json_t *obj = root, *v = NULL;
        for (size_t s = 0; f->section && s < 4; s++)
            if (strcmp(f->section, SECTIONS[s]) == 0)
                obj = sec[s];
        if (f->section == NULL)
            continue; /* written above, in document order */
        switch (f->kind) {
        case K_U32:
            v = json_integer(*(const unsigned int *)at);
            break;
        case K_U64:
            v = json_integer((json_int_t) * (const uint64_t *)at);
            break;
        case K_SIZE:
            v = json_integer((json_int_t) * (const size_t *)at);
            break;
        case K_DOUBLE:
            v = json_real(*(const double *)at);
            break;
        case K_BOOL:
            v = json_boolean(*(const int *)at);
            break;
        }
        ok &= json_object_set_new(obj, f->name, v) == 0;
    }
    {
        static const hl_endpoint_options DEF = HL_ENDPOINT_OPTIONS_INIT;
        const uint64_t *sched = eo->n_schedule ? eo->schedule_ms : DEF.schedule_ms;
        size_t n = eo->n_schedule ? eo->n_schedule : DEF.n_schedule;
        a = json_array();
        for (size_t i = 0; a && i < n; i++)
            ok &= json_array_append_new(a, json_integer((json_int_t)sched[i])) == 0;
        ok &= json_object_set_new(sec[1], "schedule_ms", a) == 0;
    }

    ok &= json_object_set_new(root, "scheme", json_string(hl_scheme_name(d->scheme))) == 0;
    a = json_array();
    for (size_t i = 0; a && i < d->n_secrets; i++) {
        const hl_delivery_secret *s = &d->secrets[i];
        int enc = (int)s->encoding >= 0 && s->encoding < HL_SECRET__SENTINEL ? (int)s->encoding : 0;
        json_t *o = json_pack("{s:s, s:s, s:I}", "secret", redact ? hidden : s->text, "encoding",
                              ENCODINGS[enc], "not_after_ms", (json_int_t)s->not_after_ms);
        ok &= json_array_append_new(a, o) == 0;
    }
    ok &= json_object_set_new(root, "secrets", a) == 0;
    a = json_object();
    for (size_t i = 0; a && i < d->n_headers; i++)
        ok &= json_object_set_new(a, d->header_names[i],
                                  json_string(redact ? hidden : d->header_values[i])) == 0;
    ok &= json_object_set_new(root, "custom_headers", a) == 0;
    if (d->auth == HL_AUTH_BASIC)
        a = json_pack("{s:s, s:s, s:o}", "type", "basic", "user", d->basic_user ? d->basic_user : "",
                      "password",
                      d->basic_password ? json_string(redact ? hidden : d->basic_password)
                                        : json_null());
    else if (d->auth == HL_AUTH_OAUTH2)
        a = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "oauth2", "token_url",
                      d->oauth2_token_url ? d->oauth2_token_url : "", "client_id",
                      d->oauth2_client_id ? d->oauth2_client_id : "", "client_secret",
                      redact ? hidden : d->oauth2_client_secret ? d->oauth2_client_secret : "",
                      "scope", str_or_null(d->oauth2_scope));
    else
        a = json_pack("{s:s}", "type", "none");
    ok &= json_object_set_new(root, "auth", a) == 0;
    ok &= json_object_set_new(root, "tls_client_cert", str_or_null(d->tls_client_cert)) == 0;
    ok &= json_object_set_new(root, "tls_client_key", str_or_null(d->tls_client_key)) == 0;
    ok &= json_object_set_new(root, "timeout_ms", json_integer((json_int_t)d->timeout_ms)) == 0;
    if (ok)
        return root;
fail:
    json_decref(root);
    return NULL;
}

hl_code hl_endpoint_config_to_json(const hl_endpoint_config *cfg, unsigned int flags, char **out,
                                   size_t *len_out, hl_error *err)
{
    json_t *tree;
    char *s;

    if (cfg == NULL || out == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: NULL argument");
    if ((tree = build_tree(&cfg->eo, &cfg->dopts, flags)) == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory writing an endpoint config");
    s = json_dumps(tree, (flags & HL_CONFIG_PRETTY ? JSON_INDENT(2) : JSON_COMPACT) |
                             JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    wipe_tree(tree);
    json_decref(tree);
    if (s == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory writing an endpoint config");
    *out = s;
    if (len_out)
        *len_out = strlen(s);
    return HL_OK;
}

void hl_endpoint_config_json_free(char *json)
{
    if (json == NULL)
        return;
    OPENSSL_cleanse(json, strlen(json));
    free(json);
}

hl_code hl_endpoint_config_from_options(hl_endpoint_config **out, const hl_endpoint_options *engine,
                                        const hl_delivery_options *delivery, hl_error *err)
{
    static const hl_delivery_options DO_INIT = HL_DELIVERY_OPTIONS_INIT;
    json_t *tree;
    hl_code rc;

    if (out == NULL || engine == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: NULL argument");
    if (engine->version != HL_ENDPOINT_OPTIONS_VERSION ||
        (delivery && delivery->version != HL_DELIVERY_OPTIONS_VERSION))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: bad options version");
    if (delivery == NULL)
        delivery = &DO_INIT;
    if (engine->n_filters > HL_FILTERS_MAX || delivery->n_secrets > HL_MAX_SECRETS ||
        delivery->n_headers > HL_DELIVERY_HEADERS_MAX || engine->n_schedule > HL_SCHEDULE_MAX)
        return hli_fail(err, HL_E_TOO_MANY, "endpoint config: too many filters, secrets, headers "
                                            "or schedule entries");
    for (size_t i = 0; i < engine->n_filters; i++)
        if (engine->filters[i] == NULL)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: filter %zu is NULL", i);
    for (size_t i = 0; i < delivery->n_secrets; i++)
        if (delivery->secrets[i].text == NULL)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: secret %zu is NULL", i);
    for (size_t i = 0; i < delivery->n_headers; i++)
        if (delivery->header_names[i] == NULL || delivery->header_values[i] == NULL)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint config: header %zu is NULL", i);
    if ((tree = build_tree(engine, delivery, 0)) == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        "endpoint config: a string is not valid UTF-8 (or out of memory)");
    rc = parse_tree(out, tree, err);
    wipe_tree(tree);
    json_decref(tree);
    return rc;
}

const hl_endpoint_options *hl_endpoint_config_engine(const hl_endpoint_config *cfg)
{
    return cfg ? &cfg->eo : NULL;
}

const hl_delivery_options *hl_endpoint_config_delivery(const hl_endpoint_config *cfg)
{
    return cfg ? &cfg->dopts : NULL;
}

hl_code hl_endpoint_config_rotate_secret(hl_endpoint_config **out, const hl_endpoint_config *cfg,
                                         const char *new_secret, hl_secret_encoding encoding,
                                         uint64_t now_ms, uint64_t grace_ms, hl_error *err)
{
    hl_delivery_options d;
    hl_delivery_secret next[HL_MAX_SECRETS];
    uint64_t until = grace_ms > UINT64_MAX - now_ms ? UINT64_MAX : now_ms + grace_ms;
    size_t n = 0;

    if (out == NULL || cfg == NULL || new_secret == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "rotate secret: NULL argument");
    if ((int)encoding < 0 || encoding >= HL_SECRET__SENTINEL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "rotate secret: unknown encoding");
    next[n++] = (hl_delivery_secret){new_secret, encoding, 0};
    if (grace_ms > 0) {
        /* Keep the still-valid old secrets, latest expiry first, so the ones
         * expiring first are the ones that do not fit. */
        hl_delivery_secret old[HL_MAX_SECRETS];
        size_t n_old = 0;
        for (size_t i = 0; i < cfg->dopts.n_secrets; i++) {
            hl_delivery_secret s = cfg->dopts.secrets[i];
            if (s.not_after_ms != 0 && s.not_after_ms <= now_ms)
                continue;
            if (s.not_after_ms == 0 || s.not_after_ms > until)
                s.not_after_ms = until;
            old[n_old++] = s;
        }
        for (size_t i = 1; i < n_old; i++)
            for (size_t j = i; j > 0 && old[j].not_after_ms > old[j - 1].not_after_ms; j--) {
                hl_delivery_secret t = old[j];
                old[j] = old[j - 1];
                old[j - 1] = t;
            }
        for (size_t i = 0; i < n_old && n < HL_MAX_SECRETS; i++)
            next[n++] = old[i];
    }
    d = cfg->dopts;
    d.secrets = next;
    d.n_secrets = n;
    return hl_endpoint_config_from_options(out, &cfg->eo, &d, err);
}

void hl_endpoint_config_free(hl_endpoint_config *cfg)
{
    if (cfg == NULL)
        return;
    wipe_tree(cfg->root);
    json_decref(cfg->root);
    OPENSSL_cleanse(cfg, sizeof *cfg);
    free(cfg);
}
