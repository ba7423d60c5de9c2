/* cmd_endpoint.c - hookline endpoint add|list|show|update|remove|enable|
 * disable|test|rotate-secret. Endpoints are configuration documents
 * (hookline/endpoint_config.h); the flags here edit the common fields. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt_spec EDIT_SPEC[] = {
    {"config", 1}, {"url", 1},       {"events", 1},     {"scheme", 1},
    {"secret", 1}, {"header", 1},    {"basic", 1},      {"timeout-ms", 1},
    {"skip-test", 0}, {"reveal", 0}, {"replay-check", 0}, {"grace", 1},
    {NULL, 0},
};

/* Overlay the editing flags on `doc`. Returns 0 or an exit code. */
static int apply_flags(const cli *c, json_t *doc)
{
    const char *v, *many[64];
    size_t n;
    if ((v = cli_opt(c, "url")))
        json_object_set_new(doc, "url", json_string(v));
    if ((v = cli_opt(c, "scheme")))
        json_object_set_new(doc, "scheme", json_string(v));
    if ((v = cli_opt(c, "events"))) {
        json_t *list = json_array();
        char *copy = strdup(v), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (*tok)
                json_array_append_new(list, json_string(tok));
        free(copy);
        json_object_set_new(doc, "events", list);
    }
    if ((n = cli_opts(c, "secret", many, 64)) > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, json_pack("{s:s}", "secret", many[i]));
        json_object_set_new(doc, "secrets", list);
    }
    if ((n = cli_opts(c, "header", many, 64)) > 0) {
        json_t *h = json_object();
        for (size_t i = 0; i < n; i++) {
            const char *colon = strchr(many[i], ':');
            char name[256];
            if (!colon || (size_t)(colon - many[i]) >= sizeof name) {
                json_decref(h);
                return cli_usage("--header wants 'Name: value', not '%s'", many[i]);
            }
            memcpy(name, many[i], (size_t)(colon - many[i]));
            name[colon - many[i]] = '\0';
            colon++;
            while (*colon == ' ')
                colon++;
            json_object_set_new(h, name, json_string(colon));
        }
        json_object_set_new(doc, "custom_headers", h);
    }
    if ((v = cli_opt(c, "basic"))) {
        const char *colon = strchr(v, ':');
        char user[256];
        if (!colon || (size_t)(colon - v) >= sizeof user)
            return cli_usage("--basic wants USER:PASSWORD");
        memcpy(user, v, (size_t)(colon - v));
        user[colon - v] = '\0';
        json_object_set_new(doc, "auth", json_pack("{s:s, s:s, s:s}", "type", "basic", "user",
                                                   user, "password", colon + 1));
    }
    if ((v = cli_opt(c, "timeout-ms"))) {
        long long t = cli_opt_int(c, "timeout-ms", 0);
        if (t < 0)
            return EXIT_USAGE;
        json_object_set_new(doc, "timeout_ms", json_integer(t));
    }
    return 0;
}

/* The document to register: --config FILE (or "-"), else `base`, else {}. */
static json_t *load_base(const cli *c, const char *base_text)
{
    const char *path = cli_opt(c, "config");
    json_error_t jerr;
    json_t *doc;
    if (path)
        doc = !strcmp(path, "-") ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);
    else if (base_text)
        doc = json_loads(base_text, 0, &jerr);
    else
        return json_object();
    if (!doc || !json_is_object(doc)) {
        fprintf(stderr, "hookline: %s: not a JSON object: %s (line %d)\n", path ? path : "config",
                doc ? "another JSON value" : jerr.text, doc ? 0 : jerr.line);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static void print_test(const cli *c, const char *what, const hl_test_response *t)
{
    if (c->json) {
        cli_print_json(json_pack("{s:s, s:i, s:s, s:I, s:s%}", "test", what, "status", t->status,
                                 "failure", hl_failure_class_name(t->failure), "latency_ms",
                                 (json_int_t)t->latency_ms, "body", t->body_excerpt,
                                 t->body_excerpt_len));
        return;
    }
    if (t->status)
        fprintf(stderr, "%s: HTTP %d in %llu ms\n", what, t->status,
                (unsigned long long)t->latency_ms);
    else
        fprintf(stderr, "%s: no response (%s: %s)\n", what, hl_failure_class_name(t->failure),
                t->message);
}

/* Print the endpoint's secrets once, right after they were created. */
static void print_secrets(const cli *c, hl_worker *w, const char *id)
{
    char *json = NULL;
    json_t *doc, *secrets, *s;
    size_t i;
    if (hl_worker_endpoint_get(w, id, 0, &json, NULL, NULL) != HL_OK)
        return;
    doc = json_loads(json, 0, NULL);
    hl_endpoint_config_json_free(json);
    secrets = json_object_get(doc, "secrets");
    if (c->json) {
        json_t *out = json_pack("{s:s, s:O, s:O}", "endpoint", id, "url",
                                json_object_get(doc, "url"), "secrets", secrets);
        cli_print_json(out);
    } else {
        printf("endpoint %s -> %s\n", id, json_string_value(json_object_get(doc, "url")));
        json_array_foreach(secrets, i, s)
            printf("secret: %s   (shown once: give it to the receiver)\n",
                   json_string_value(json_object_get(s, "secret")));
    }
    json_decref(doc);
}

static int add_or_update(cli *c, hl_worker *w, const char *id, int update)
{
    hl_test_response test;
    hl_error err = HL_ERROR_INIT;
    char *current = NULL, *text;
    json_t *doc;
    unsigned flags = cli_flag(c, "skip-test") ? HL_WORKER_SKIP_TEST : 0;
    int rc;

    if (update && hl_worker_endpoint_get(w, id, 0, &current, NULL, &err) != HL_OK)
        return cli_fail("reading the endpoint", &err);
    doc = load_base(c, current);
    hl_endpoint_config_json_free(current);
    if (!doc)
        return 1;
    if ((rc = apply_flags(c, doc)) != 0) {
        json_decref(doc);
        return rc;
    }
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    memset(&test, 0, sizeof test);
    rc = update ? hl_worker_endpoint_update(w, id, text, strlen(text), flags, &test, &err)
                : hl_worker_endpoint_add(w, id, text, strlen(text), flags, &test, &err);
    hl_endpoint_config_json_free(text);
    if (!flags && (test.status || test.failure))
        print_test(c, "test request", &test);
    if (rc != HL_OK)
        return cli_fail(update ? "updating the endpoint" : "adding the endpoint", &err);
    if (!update || cli_opts(c, "secret", NULL, 0) == 0)
        print_secrets(c, w, id);
    return 0;
}

struct list_ctx {
    const cli *c;
    size_t n;
};

static int list_one(void *user, const char *id, const char *json, hl_disabled_reason disabled)
{
    struct list_ctx *l = user;
    json_t *doc = json_loads(json, 0, NULL), *events = json_object_get(doc, "events");
    l->n++;
    if (l->c->json) {
        cli_print_json(json_pack("{s:s, s:O, s:O, s:s}", "endpoint", id, "url",
                                 json_object_get(doc, "url"), "events",
                                 events ? events : json_array(), "disabled",
                                 hl_disabled_reason_name(disabled)));
    } else {
        printf("%-24s %-9s %s\n", id,
               disabled == HL_DISABLED_NONE ? "active" : hl_disabled_reason_name(disabled),
               json_string_value(json_object_get(doc, "url")));
    }
    json_decref(doc);
    return 0;
}

static int show(cli *c, hl_worker *w, const char *id)
{
    char *json = NULL;
    hl_endpoint_info info;
    hl_error err = HL_ERROR_INIT;
    unsigned flags = (cli_flag(c, "reveal") ? 0 : HL_CONFIG_REDACT) | (c->json ? 0 : HL_CONFIG_PRETTY);
    if (hl_worker_endpoint_get(w, id, flags, &json, &info, &err) != HL_OK)
        return cli_fail("reading the endpoint", &err);
    if (c->json) {
        json_t *doc = json_loads(json, 0, NULL);
        cli_print_json(json_pack("{s:s, s:o, s:s, s:s, s:i, s:I, s:f}", "endpoint", id, "config",
                                 doc, "disabled", hl_disabled_reason_name(info.disabled), "breaker",
                                 hl_breaker_state_name(info.breaker), "in_flight", info.in_flight,
                                 "pending_batches", (json_int_t)info.pending_batches,
                                 "effective_rate", info.effective_rate));
    } else {
        printf("endpoint %s: %s, breaker %s, %u in flight, %zu pending batches\n%s\n", id,
               info.disabled == HL_DISABLED_NONE ? "active" : hl_disabled_reason_name(info.disabled),
               hl_breaker_state_name(info.breaker), info.in_flight, info.pending_batches, json);
    }
    hl_endpoint_config_json_free(json);
    return 0;
}

static int test(cli *c, hl_worker *w, const char *id)
{
    hl_test_response t;
    hl_error err = HL_ERROR_INIT;
    int ok;
    if (hl_worker_endpoint_test(w, id, 0, &t, &err) != HL_OK)
        return cli_fail("testing the endpoint", &err);
    print_test(c, "webhook.test", &t);
    ok = t.status >= 200 && t.status < 300;
    if (ok && cli_flag(c, "replay-check")) {
        if (hl_worker_endpoint_test(w, id, HL_TEST_STALE, &t, &err) != HL_OK)
            return cli_fail("sending the stale request", &err);
        print_test(c, "stale replay (10 minutes old)", &t);
        if (t.status >= 200 && t.status < 300) {
            fprintf(stderr, "hookline: the receiver ACCEPTED a 10-minute-old signed request: it "
                            "does not check timestamps, so captured requests can be replayed\n");
            return 1;
        }
        fprintf(stderr, "replay check: the stale request was refused, as it should be\n");
    }
    return ok ? 0 : 1;
}

static int rotate(cli *c, hl_worker *w, const char *id)
{
    hl_error err = HL_ERROR_INIT;
    char *secret = NULL;
    long long grace = cli_opt_int(c, "grace", 24 * 3600);
    const char *given = cli_opt(c, "secret");
    if (grace < 0)
        return EXIT_USAGE;
    if (hl_worker_rotate_secret(w, id, given, (uint64_t)grace * 1000u, &secret, &err) != HL_OK)
        return cli_fail("rotating the secret", &err);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:s, s:I}", "endpoint", id, "secret", secret,
                                 "old_secrets_valid_for_s", (json_int_t)grace));
    else
        printf("new secret: %s\nthe old secret keeps signing for %lld s\n", secret, grace);
    hl_endpoint_config_json_free(secret);
    return 0;
}

int cmd_endpoint(cli *c, int argc, char **argv)
{
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    const char *verb, *id;
    int rc = cli_parse(c, argc, argv, EDIT_SPEC);
    if (rc)
        return rc;
    if (c->n_pos < 1)
        return cli_usage("usage: hookline endpoint add|list|show|update|remove|enable|disable|"
                         "test|rotate-secret [ID] [options]");
    verb = c->pos[0];
    id = c->n_pos > 1 ? c->pos[1] : NULL;
    if (strcmp(verb, "list") != 0 && !id)
        return cli_usage("hookline endpoint %s needs an endpoint id", verb);
    if ((rc = cli_open_worker(c, &w, NULL, NULL)) != 0)
        return rc;
    if (!strcmp(verb, "add"))
        rc = add_or_update(c, w, id, 0);
    else if (!strcmp(verb, "update"))
        rc = add_or_update(c, w, id, 1);
    else if (!strcmp(verb, "list")) {
        struct list_ctx l = {c, 0};
        if (hl_worker_endpoint_list(w, list_one, &l, &err) != HL_OK)
            rc = cli_fail("listing endpoints", &err);
        else if (!l.n && !c->json)
            fprintf(stderr, "no endpoints (hookline endpoint add ID --url URL)\n");
    } else if (!strcmp(verb, "show"))
        rc = show(c, w, id);
    else if (!strcmp(verb, "remove"))
        rc = hl_worker_endpoint_remove(w, id, &err) ? cli_fail("removing", &err) : 0;
    else if (!strcmp(verb, "enable"))
        rc = hl_worker_endpoint_enable(w, id, &err) ? cli_fail("enabling", &err) : 0;
    else if (!strcmp(verb, "disable"))
        rc = hl_worker_endpoint_disable(w, id, &err) ? cli_fail("disabling", &err) : 0;
    else if (!strcmp(verb, "test"))
        rc = test(c, w, id);
    else if (!strcmp(verb, "rotate-secret"))
        rc = rotate(c, w, id);
    else
        rc = cli_usage("unknown endpoint command '%s'", verb);
    hl_worker_close(w);
    return rc;
}
