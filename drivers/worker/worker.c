/*
 * worker.c - outbox + engine + dispatcher in one handle (hookline/worker.h).
 *
 * The one recovery rule: when the store fails (disk full, read-only), the
 * file holds the state before the failed call and the engine's memory is
 * ahead of it, so the engine and dispatcher are thrown away and rebuilt from
 * the file (hl_outbox_restore). Attempts in flight at that moment are sent
 * again later - at-least-once, never lost.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, gmtime_r, nanosleep */

#include "worker_internal.h"

#include "hookline/net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static hl_code fail(hl_error *err, hl_code code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * One engine per file: a second worker on the same outbox would send the
 * same batches and overwrite the first one's rows. The lock is released by
 * the kernel when the process dies, so a SIGKILLed worker never blocks its
 * successor.
 */
static hl_code take_lock(hl_worker *w, hl_error *err)
{
    char path[4096];
    if (strcmp(w->db_path, ":memory:") == 0)
        return HL_OK;
    snprintf(path, sizeof path, "%s.worker-lock", w->db_path);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->lock_fd < 0)
        return fail(err, errno == EROFS || errno == EACCES ? HL_E_STORE_READONLY : HL_E_STORE_IO,
                    "worker: cannot create the lock file %s.worker-lock: %s", w->db_path,
                    strerror(errno));
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return fail(err, errno == EWOULDBLOCK ? HL_E_STORE_BUSY : HL_E_STORE_IO,
                    "worker: another worker owns this outbox (%s); hand events to it with "
                    "hl_outbox_submit",
                    errno == EWOULDBLOCK ? "locked" : strerror(errno));
    return HL_OK;
}

static uint64_t system_clock(void *user)
{
    struct timespec ts;
    (void)user;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hl_worker_now(const hl_worker *w)
{
    return w->opts.clock_ms(w->opts.clock_user);
}

static char *dup_str(const char *s)
{
    char *d;
    if (s == NULL)
        return NULL;
    if ((d = malloc(strlen(s) + 1)) != NULL)
        strcpy(d, s);
    return d;
}

/* --------------------------------------------------------- build, rebuild */

int hlw_on_endpoint(void *user, const char *id, const hl_endpoint_config *cfg)
{
    hl_worker *w = user;
    const hl_delivery_options *d = hl_endpoint_config_delivery(cfg);
    /* the lease gate needs the longest attempt any endpoint may take */
    if (d->timeout_ms > w->max_timeout_ms)
        w->max_timeout_ms = d->timeout_ms;
    /* Without secrets (not possible through this API) deliveries fail as
     * "unconfigured" and are retried: better than refusing to start. */
    if (d->n_secrets == 0)
        return 0;
    return hl_dispatcher_endpoint_set(w->disp, id, d, NULL) == HL_OK ? 0 : -1;
}

static void teardown(hl_worker *w)
{
    hl_dispatcher_free(w->disp);
    hl_engine_free(w->engine);
    w->disp = NULL;
    w->engine = NULL;
}

static hl_code build(hl_worker *w, size_t *restored, hl_error *err)
{
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_dispatcher_options dopts = HL_DISPATCHER_OPTIONS_INIT;
    hl_code rc;

    eo.seed = w->opts.seed;
    eo.store = w->pg ? hlw_pg_store(w) : hl_outbox_store(w->ob);
    eo.attempt_retention_ms = w->opts.outbox.attempt_retention_ms;
    eo.in_flight_lease_ms = w->opts.in_flight_lease_ms;
    if ((rc = hl_engine_new(&w->engine, &eo, err)) != HL_OK)
        return rc;
    dopts.policy = w->policy;
    dopts.resolver = &w->resolver;
    dopts.clock_ms = w->opts.clock_ms;
    dopts.clock_user = w->opts.clock_user;
    dopts.max_connections = w->opts.max_connections;
    dopts.ca_file = w->ca_file;
    dopts.on_attempt = w->opts.on_attempt;
    dopts.attempt_user = w->opts.attempt_user;
    if ((rc = hl_dispatcher_new(&w->disp, w->engine, &dopts, err)) != HL_OK) {
        teardown(w);
        return rc;
    }
    w->drained = 0;
    if (w->pg) { /* endpoints come with claims (hl_worker_run_once) */
        if (restored)
            *restored = 0;
        return HL_OK;
    }
    rc = hl_outbox_restore(w->ob, w->engine, hl_worker_now(w), hlw_on_endpoint, w, restored,
                           err);
    if (rc != HL_OK)
        teardown(w);
    return rc;
}

static hl_code rebuild(hl_worker *w, hl_error *err)
{
    hl_code rc;
    teardown(w);
    if (w->pg)
        hlw_pg_rollback(w);
    else
        hl_outbox_rollback(w->ob);
    rc = build(w, NULL, err);
    w->broken = rc != HL_OK;
    return rc;
}

/* Every call starts here: a worker whose last rebuild failed tries again. */
static hl_code ready(hl_worker *w, hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->broken ? rebuild(w, err) : HL_OK;
}

/*
 * An engine call answered `rc`. A store failure becomes the storage code
 * the outbox saw (store_no_space, ...) and the state is rebuilt from the
 * file; anything else passes through.
 */
static hl_code settle_store(hl_worker *w, hl_code rc, hl_error *err)
{
    hl_error why;
    if (rc != HL_E_STORE && rc != HL_E_ENGINE_FAILED)
        return rc;
    why = w->pg ? hlw_pg_last_error(w) : *hl_outbox_last_error(w->ob);
    if (why.code == HL_OK)
        why.code = HL_E_STORE, snprintf(why.message, sizeof why.message, "outbox: store failed");
    (void)rebuild(w, NULL);
    return fail(err, why.code, "%s", why.message);
}

hl_code hl_worker_open(hl_worker **out, const hl_worker_options *opts, size_t *restored,
                       hl_error *err)
{
    hl_worker *w;
    hl_code rc;

    if (out == NULL || opts == NULL || opts->db_path == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: options and db_path are required");
    if (opts->version != HL_WORKER_OPTIONS_VERSION)
        return fail(err, HL_E_INVALID_ARGUMENT, "hl_worker_options version %u (expected %d)",
                    opts->version, HL_WORKER_OPTIONS_VERSION);
    if ((w = calloc(1, sizeof *w)) == NULL)
        return fail(err, HL_E_NOMEM, "out of memory for a worker");
    w->lock_fd = -1;
    w->opts = *opts;
    if (w->opts.clock_ms == NULL)
        w->opts.clock_ms = system_clock;
    if (w->opts.max_connections == 0)
        w->opts.max_connections = 64;
    if (w->opts.prune_every_ms == 0)
        w->opts.prune_every_ms = 60000;
    w->resolver = opts->resolver ? *opts->resolver : hl_resolver_getaddrinfo();
    w->db_path = dup_str(opts->db_path);
    w->ca_file = dup_str(opts->ca_file);
    w->opts.db_path = w->db_path;
    w->opts.ca_file = w->ca_file;
    w->opts.resolver = NULL;
    if (w->db_path == NULL || (opts->ca_file && w->ca_file == NULL)) {
        hl_worker_close(w);
        return fail(err, HL_E_NOMEM, "out of memory for a worker");
    }
    if (hlw_is_pg_url(w->db_path)) {
        /* PostgreSQL: many workers share the database; no file lock */
        if ((rc = hl_url_policy_new(&w->policy, &opts->url, err)) != HL_OK ||
            (rc = hlw_pg_open(w, err)) != HL_OK || (rc = build(w, restored, err)) != HL_OK) {
            hl_worker_close(w);
            return rc;
        }
    } else if ((rc = take_lock(w, err)) != HL_OK ||
        (rc = hl_url_policy_new(&w->policy, &opts->url, err)) != HL_OK ||
        (rc = hl_outbox_open(&w->ob, w->db_path, &opts->outbox, err)) != HL_OK ||
        (rc = build(w, restored, err)) != HL_OK) {
        hl_worker_close(w);
        return rc;
    }
    w->last_prune = hl_worker_now(w);
    *out = w;
    return HL_OK;
}

void hl_worker_close(hl_worker *w)
{
    if (w == NULL)
        return;
    if (w->pg)
        hlw_pg_close(w); /* hands endpoints back after a clean drain */
    teardown(w);
    hl_outbox_close(w->ob);
    hl_engine_free(w->checker);
    hl_url_policy_free(w->policy);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the lock */
    free(w->db_path);
    free(w->ca_file);
    free(w);
}

hl_engine *hl_worker_engine(hl_worker *w)
{
    return w ? w->engine : NULL;
}

hl_outbox *hl_worker_outbox(hl_worker *w)
{
    return w ? w->ob : NULL;
}

hl_dispatcher *hl_worker_dispatcher(hl_worker *w)
{
    return w ? w->disp : NULL;
}

/* -------------------------------------------------------------- endpoints */

/* A fresh secret's text for `scheme` into buf (wiped by the caller). */
static hl_code generate_secret(hl_scheme scheme, char *buf, size_t cap, hl_error *err)
{
    hl_secret *s = NULL;
    hl_code rc = hl_secret_generate(&s, scheme, err);
    if (rc == HL_OK)
        rc = hl_secret_format(s, scheme, buf, cap, NULL, err);
    hl_secret_free(s);
    return rc;
}

/*
 * Parse `json`, check its URL (stored normalised), fill in secrets (the
 * current ones for an update, a generated one for a new endpoint).
 */
static hl_code prepare(hl_worker *w, const char *json, size_t len,
                       const hl_endpoint_config *current, hl_endpoint_config **out, hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_endpoint_options eo;
    hl_delivery_options d;
    char normalized[HL_URL_NORMALIZED_MAX];
    char secret_text[HL_SECRET_TEXT_MAX + 1];
    hl_delivery_secret fresh = HL_DELIVERY_SECRET_INIT;
    int changed = 0;
    hl_code rc;

    if ((rc = hl_endpoint_config_parse(&cfg, json, len, err)) != HL_OK)
        return rc;
    eo = *hl_endpoint_config_engine(cfg);
    d = *hl_endpoint_config_delivery(cfg);
    rc = hl_url_check_resolve(w->policy, &w->resolver, eo.url, strlen(eo.url), normalized,
                              sizeof normalized, NULL, err);
    if (rc != HL_OK) {
        hl_endpoint_config_free(cfg);
        return rc;
    }
    if (strcmp(normalized, eo.url) != 0) {
        eo.url = normalized;
        changed = 1;
    }
    if (d.n_secrets == 0 && current != NULL) {
        const hl_delivery_options *cd = hl_endpoint_config_delivery(current);
        d.secrets = cd->secrets;
        d.n_secrets = cd->n_secrets;
        changed = 1;
    } else if (d.n_secrets == 0) {
        if ((rc = generate_secret(d.scheme, secret_text, sizeof secret_text, err)) != HL_OK) {
            hl_endpoint_config_free(cfg);
            return rc;
        }
        fresh.text = secret_text;
        d.secrets = &fresh;
        d.n_secrets = 1;
        changed = 1;
    }
    if (changed) {
        hl_endpoint_config *next = NULL;
        rc = hl_endpoint_config_from_options(&next, &eo, &d, err);
        OPENSSL_cleanse(secret_text, sizeof secret_text);
        hl_endpoint_config_free(cfg);
        if (rc != HL_OK)
            return rc;
        cfg = next;
    }
    *out = cfg;
    return HL_OK;
}

static void format_rfc3339(uint64_t ms, char out[64])
{
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
}

/* The webhook.test request body: one event, batched like the endpoint's deliveries. */
static char *test_body(const char *endpoint_id, int unbatched, uint64_t now, size_t *len)
{
    unsigned char rnd[10];
    char id[32], ts[64];
    json_t *ev, *doc;
    char *s;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return NULL;
    snprintf(id, sizeof id, "evt_test_");
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(id + 9 + 2 * i, 3, "%02x", rnd[i]);
    format_rfc3339(now, ts);
    ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "webhook.test",
                   "created_at", ts, "data", "endpoint_id", endpoint_id, "message",
                   "hookline endpoint test");
    if (ev == NULL)
        return NULL;
    doc = unbatched ? ev : json_pack("[o]", ev);
    if (doc == NULL)
        return NULL;
    s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (s)
        *len = strlen(s);
    return s;
}

static hl_code send_test(hl_worker *w, const char *endpoint_id, const hl_endpoint_config *cfg,
                         unsigned int flags, hl_test_response *out, hl_error *err)
{
    const hl_endpoint_options *eo = hl_endpoint_config_engine(cfg);
    size_t len = 0;
    char *body = test_body(endpoint_id, eo->unbatched, hl_worker_now(w), &len);
    hl_code rc;
    if (body == NULL)
        return fail(err, HL_E_NOMEM, "out of memory building the test event");
    rc = hl_dispatcher_send_test(w->disp, eo->url, hl_endpoint_config_delivery(cfg), body, len,
                                 NULL, flags, out, err);
    free(body);
    return rc;
}

/* The registration test: a 2xx (200 for SparkPost compatibility) or a refusal. */
static hl_code registration_test(hl_worker *w, const char *endpoint_id,
                                 const hl_endpoint_config *cfg, hl_test_response *test,
                                 hl_error *err)
{
    hl_test_response local;
    hl_test_response *r = test ? test : &local;
    int compat = hl_endpoint_config_engine(cfg)->sparkpost_compat;
    hl_code rc = send_test(w, endpoint_id, cfg, 0, r, err);
    if (rc != HL_OK)
        return rc;
    if (r->failure == HL_FAILURE_NONE && (compat ? r->status == 200 : r->status / 100 == 2))
        return HL_OK;
    if (r->failure != HL_FAILURE_NONE)
        return fail(err, HL_E_ENDPOINT_TEST_FAILED,
                    "the webhook.test request failed (%s): %s; the endpoint was not saved",
                    hl_failure_class_name(r->failure), r->message);
    return fail(err, HL_E_ENDPOINT_TEST_FAILED,
                "the webhook.test request got HTTP %d, not 2xx; the endpoint was not saved",
                r->status);
}

/* The store's outer transaction, whichever store it is. */
static hl_code tx_begin(hl_worker *w, hl_error *err)
{
    return w->pg ? hlw_pg_begin(w, err) : hl_outbox_begin(w->ob, err);
}

static hl_code tx_commit(hl_worker *w, hl_error *err)
{
    return w->pg ? hlw_pg_commit(w, err) : hl_outbox_commit(w->ob, err);
}

static hl_code ep_get(hl_worker *w, const char *id, hl_endpoint_config **out,
                      hl_disabled_reason *why, hl_error *err)
{
    if (w->pg)
        return hlw_pg_endpoint_get(w, id, out, err);
    return hl_outbox_endpoint_get(w->ob, id, out, why, err);
}

/* Save the row and change the engine in one transaction. */
static hl_code save_endpoint(hl_worker *w, const char *endpoint_id, const hl_endpoint_config *cfg,
                             int update, hl_error *err)
{
    uint64_t now = hl_worker_now(w);
    hl_code rc;
    (void)update;
    if (w->pg) /* the row is all: its owner (maybe this worker) picks it up */
        return hlw_pg_endpoint_put(w, endpoint_id, cfg, err);
    if ((rc = hl_outbox_begin(w->ob, err)) != HL_OK)
        return rc;
    if ((rc = hl_outbox_endpoint_put(w->ob, endpoint_id, cfg, now, err)) != HL_OK) {
        hl_outbox_rollback(w->ob); /* the engine was not touched */
        return rc;
    }
    rc = update ? hl_endpoint_update(w->engine, endpoint_id, hl_endpoint_config_engine(cfg), now,
                                     err)
                : hl_endpoint_add(w->engine, endpoint_id, hl_endpoint_config_engine(cfg), now,
                                  err);
    if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
        return settle_store(w, rc, err);
    if (rc != HL_OK) {
        hl_outbox_rollback(w->ob);
        return rc;
    }
    if (hl_outbox_commit(w->ob, NULL) != HL_OK)
        return settle_store(w, HL_E_STORE, err);
    return hl_dispatcher_endpoint_set(w->disp, endpoint_id, hl_endpoint_config_delivery(cfg), err);
}

static hl_code check_id(const char *endpoint_id, hl_error *err)
{
    if (endpoint_id == NULL || endpoint_id[0] == '\0' || strlen(endpoint_id) >= HL_ENGINE_ID_MAX)
        return fail(err, HL_E_INVALID_ARGUMENT, "endpoint id must be 1..%d bytes",
                    HL_ENGINE_ID_MAX - 1);
    return HL_OK;
}

hl_code hl_worker_endpoint_add(hl_worker *w, const char *endpoint_id, const char *json,
                               size_t len, unsigned int flags, hl_test_response *test,
                               hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_endpoint_info info;
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK || (rc = check_id(endpoint_id, err)) != HL_OK)
        return rc;
    if (hl_endpoint_info_get(w->engine, endpoint_id, &info, NULL) == HL_OK)
        return fail(err, HL_E_ENDPOINT_EXISTS, "endpoint \"%s\" already exists", endpoint_id);
    if (w->pg) {
        hl_endpoint_config *there = NULL;
        if (hlw_pg_endpoint_get(w, endpoint_id, &there, NULL) == HL_OK) {
            hl_endpoint_config_free(there);
            return fail(err, HL_E_ENDPOINT_EXISTS, "endpoint \"%s\" already exists", endpoint_id);
        }
    }
    if ((rc = prepare(w, json, len, NULL, &cfg, err)) != HL_OK)
        return rc;
    if (!(flags & HL_WORKER_SKIP_TEST))
        rc = registration_test(w, endpoint_id, cfg, test, err);
    if (rc == HL_OK)
        rc = save_endpoint(w, endpoint_id, cfg, 0, err);
    hl_endpoint_config_free(cfg);
    return rc;
}

hl_code hl_worker_endpoint_update(hl_worker *w, const char *endpoint_id, const char *json,
                                  size_t len, unsigned int flags, hl_test_response *test,
                                  hl_error *err)
{
    hl_endpoint_config *cur = NULL, *cfg = NULL;
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK || (rc = check_id(endpoint_id, err)) != HL_OK)
        return rc;
    if ((rc = ep_get(w, endpoint_id, &cur, NULL, err)) != HL_OK)
        return rc;
    rc = prepare(w, json, len, cur, &cfg, err);
    if (rc == HL_OK && !(flags & HL_WORKER_SKIP_TEST))
        rc = registration_test(w, endpoint_id, cfg, test, err);
    if (rc == HL_OK)
        rc = save_endpoint(w, endpoint_id, cfg, 1, err);
    hl_endpoint_config_free(cfg);
    hl_endpoint_config_free(cur);
    return rc;
}

hl_code hl_worker_endpoint_remove(hl_worker *w, const char *endpoint_id, hl_error *err)
{
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK || (rc = check_id(endpoint_id, err)) != HL_OK)
        return rc;
    if (w->pg) /* marked removed; its owner dead-letters its batches and deletes it */
        return hlw_pg_endpoint_remove(w, endpoint_id, err);
    if ((rc = hl_outbox_begin(w->ob, err)) != HL_OK)
        return rc;
    rc = hl_endpoint_remove(w->engine, endpoint_id, hl_worker_now(w), err);
    if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
        return settle_store(w, rc, err);
    if (rc == HL_OK)
        rc = hl_outbox_endpoint_delete(w->ob, endpoint_id, err);
    if (rc == HL_E_ENDPOINT_UNKNOWN) { /* in neither: nothing changed */
        hl_outbox_rollback(w->ob);
        return rc;
    }
    if (rc != HL_OK || hl_outbox_commit(w->ob, NULL) != HL_OK) {
        /* the engine forgot it but the file may not have: trust the file */
        hl_code why = rc != HL_OK ? rc : hl_outbox_last_error(w->ob)->code;
        hl_error keep = err ? *err : (hl_error)HL_ERROR_INIT;
        (void)rebuild(w, NULL);
        if (err)
            *err = keep;
        return why ? why : HL_E_STORE;
    }
    (void)hl_dispatcher_endpoint_remove(w->disp, endpoint_id, NULL);
    return HL_OK;
}

static hl_code switch_endpoint(hl_worker *w, const char *endpoint_id, int on, hl_error *err)
{
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK || (rc = check_id(endpoint_id, err)) != HL_OK)
        return rc;
    if (w->pg)
        return fail(err, HL_E_INVALID_ARGUMENT,
                    "worker: with PostgreSQL, switch an endpoint off or on by updating its "
                    "configuration's \"active\"");
    rc = on ? hl_endpoint_enable(w->engine, endpoint_id, hl_worker_now(w), err)
            : hl_endpoint_disable(w->engine, endpoint_id, hl_worker_now(w), err);
    return settle_store(w, rc, err);
}

hl_code hl_worker_endpoint_enable(hl_worker *w, const char *endpoint_id, hl_error *err)
{
    return switch_endpoint(w, endpoint_id, 1, err);
}

hl_code hl_worker_endpoint_disable(hl_worker *w, const char *endpoint_id, hl_error *err)
{
    return switch_endpoint(w, endpoint_id, 0, err);
}

hl_code hl_worker_endpoint_get(hl_worker *w, const char *endpoint_id, unsigned int flags,
                               char **json, hl_endpoint_info *info, hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (json == NULL || endpoint_id == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: endpoint_get: NULL argument");
    if ((rc = ep_get(w, endpoint_id, &cfg, NULL, err)) != HL_OK)
        return rc;
    rc = hl_endpoint_config_to_json(cfg, flags, json, NULL, err);
    hl_endpoint_config_free(cfg);
    if (rc == HL_OK && info && w->pg &&
        hl_endpoint_info_get(w->engine, endpoint_id, info, NULL) != HL_OK) {
        /* owned by another worker: only the row is known here */
        memset(info, 0, sizeof *info);
    } else if (rc == HL_OK && info &&
               (rc = hl_endpoint_info_get(w->engine, endpoint_id, info, err)) != HL_OK) {
        hl_endpoint_config_json_free(*json);
        *json = NULL;
    }
    return rc;
}

struct list_ctx {
    hl_worker_endpoint_fn fn;
    void *user;
};

static int list_one(void *user, const hl_outbox_endpoint *ep)
{
    struct list_ctx *c = user;
    hl_endpoint_config *cfg = NULL;
    char *json = NULL;
    int stop;
    if (hl_endpoint_config_parse(&cfg, ep->config_json, ep->config_len, NULL) != HL_OK ||
        hl_endpoint_config_to_json(cfg, HL_CONFIG_REDACT, &json, NULL, NULL) != HL_OK) {
        hl_endpoint_config_free(cfg);
        return -1;
    }
    stop = c->fn(c->user, ep->endpoint_id, json, ep->disabled);
    hl_endpoint_config_json_free(json);
    hl_endpoint_config_free(cfg);
    return stop;
}

hl_code hl_worker_endpoint_list(hl_worker *w, hl_worker_endpoint_fn fn, void *user, hl_error *err)
{
    struct list_ctx c = {fn, user};
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (fn == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: endpoint_list: NULL callback");
    if (w->pg)
        return hlw_pg_endpoint_each(w, list_one, &c, err);
    return hl_outbox_endpoint_each(w->ob, list_one, &c, err);
}

hl_code hl_worker_endpoint_test(hl_worker *w, const char *endpoint_id, unsigned int flags,
                                hl_test_response *out, hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (out == NULL || endpoint_id == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: endpoint_test: NULL argument");
    if ((rc = ep_get(w, endpoint_id, &cfg, NULL, err)) != HL_OK)
        return rc;
    rc = send_test(w, endpoint_id, cfg, flags, out, err);
    hl_endpoint_config_free(cfg);
    return rc;
}

hl_code hl_worker_rotate_secret(hl_worker *w, const char *endpoint_id, const char *new_secret,
                                uint64_t grace_ms, char **new_secret_out, hl_error *err)
{
    hl_endpoint_config *cur = NULL, *next = NULL;
    char generated[HL_SECRET_TEXT_MAX + 1];
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (endpoint_id == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: rotate_secret: NULL endpoint id");
    if ((rc = ep_get(w, endpoint_id, &cur, NULL, err)) != HL_OK)
        return rc;
    if (new_secret == NULL) {
        rc = generate_secret(hl_endpoint_config_delivery(cur)->scheme, generated,
                             sizeof generated, err);
        new_secret = generated;
    }
    if (rc == HL_OK)
        rc = hl_endpoint_config_rotate_secret(&next, cur, new_secret, HL_SECRET_DEFAULT,
                                              hl_worker_now(w), grace_ms, err);
    if (rc == HL_OK)
        rc = w->pg ? hlw_pg_endpoint_put(w, endpoint_id, next, err)
                   : hl_outbox_endpoint_put(w->ob, endpoint_id, next, hl_worker_now(w), err);
    if (rc == HL_OK)
        rc = hl_dispatcher_endpoint_set(w->disp, endpoint_id, hl_endpoint_config_delivery(next),
                                        err);
    if (rc == HL_OK && new_secret_out != NULL &&
        (*new_secret_out = dup_str(new_secret)) == NULL)
        rc = fail(err, HL_E_NOMEM, "out of memory");
    OPENSSL_cleanse(generated, sizeof generated);
    hl_endpoint_config_free(next);
    hl_endpoint_config_free(cur);
    return rc;
}

/* ----------------------------------------------------------------- events */

hl_code hl_worker_enqueue(hl_worker *w, const hl_event *event, size_t *routed, char *id_out,
                          size_t id_cap, hl_error *err)
{
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (w->pg) {
        /* into hookline.events: routed (to every worker's endpoints) later */
        char ids[1][HL_ENGINE_ID_MAX];
        if (event == NULL)
            return fail(err, HL_E_INVALID_ARGUMENT, "worker: enqueue: NULL event");
        if (routed)
            *routed = 0;
        if ((rc = hlw_pg_submit(w, event, NULL, 1, ids, NULL, err)) != HL_OK)
            return rc;
        if (id_out && id_cap) {
            if (strlen(ids[0]) >= id_cap)
                return fail(err, HL_E_BUFFER_TOO_SMALL, "worker: the event id needs %zu bytes",
                            strlen(ids[0]) + 1);
            memcpy(id_out, ids[0], strlen(ids[0]) + 1);
        }
        return HL_OK;
    }
    rc = hl_engine_enqueue(w->engine, event, hl_worker_now(w), routed, id_out, id_cap, err);
    return settle_store(w, rc, err);
}

/* enqueue_many and enqueue_to: event i to endpoint_ids[i] when both are
 * given, else through the filters; one transaction. */
static hl_code enqueue_events(hl_worker *w, const hl_event *events,
                              const char *const *endpoint_ids, size_t n, size_t *n_done,
                              hl_error *err)
{
    uint64_t now;
    size_t i;
    hl_code rc;
    if (n_done)
        *n_done = 0;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (events == NULL && n > 0)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: enqueue: NULL events");
    if (w->pg) { /* into hookline.events (with their targets); all or nothing */
        rc = hlw_pg_submit(w, events, endpoint_ids, n, NULL, NULL, err);
        if (n_done)
            *n_done = rc == HL_OK ? n : 0;
        return rc;
    }
    if ((rc = hl_outbox_begin(w->ob, err)) != HL_OK)
        return rc;
    now = hl_worker_now(w);
    for (i = 0, rc = HL_OK; i < n && rc == HL_OK; i++)
        rc = endpoint_ids && endpoint_ids[i]
                 ? hl_engine_enqueue_to(w->engine, endpoint_ids[i], &events[i], now, NULL, 0, err)
                 : hl_engine_enqueue(w->engine, &events[i], now, NULL, NULL, 0, err);
    if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
        return settle_store(w, rc, err);
    /* the events before a refused one stay: commit them */
    if (hl_outbox_commit(w->ob, NULL) != HL_OK)
        return settle_store(w, HL_E_STORE, err);
    if (n_done)
        *n_done = rc == HL_OK ? n : i - 1;
    return rc;
}

hl_code hl_worker_enqueue_many(hl_worker *w, const hl_event *events, size_t n, size_t *n_done,
                               hl_error *err)
{
    return enqueue_events(w, events, NULL, n, n_done, err);
}

/* As enqueue_many, with the host's routing. */
hl_code hl_worker_enqueue_to(hl_worker *w, const hl_event *events, const char *const *endpoint_ids,
                             size_t n, size_t *n_done, hl_error *err)
{
    if (endpoint_ids == NULL && n > 0) {
        if (n_done)
            *n_done = 0;
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: enqueue_to: NULL endpoint ids");
    }
    return enqueue_events(w, events, endpoint_ids, n, n_done, err);
}

/* --------------------------------------------------------------- delivery */

static void maybe_prune(hl_worker *w)
{
    uint64_t now = hl_worker_now(w);
    if (now - w->last_prune < w->opts.prune_every_ms && now >= w->last_prune)
        return;
    w->last_prune = now;
    /* housekeeping: a failure (say, the disk is full) must not stop delivery */
    if (w->pg)
        hlw_pg_prune(w, now);
    else
        (void)hl_outbox_prune(w->ob, now, NULL, NULL);
}

/* A command queued by another process (hl_outbox_command_submit). */
static hl_code apply_command(void *user, hl_outbox_command_kind kind, const char *target,
                             hl_error *err)
{
    hl_worker *w = user;
    hl_endpoint_config *cfg = NULL;
    hl_disabled_reason why = HL_DISABLED_NONE;
    hl_endpoint_info info;
    uint64_t now = hl_worker_now(w);
    int known;
    hl_code rc;

    if (kind == HL_COMMAND_REDRIVE)
        return hl_worker_redrive(w, target, NULL, err);
    if (kind == HL_COMMAND_PURGE)
        return hl_worker_purge(w, target, err);
    if (w->pg) /* endpoint rows are watched, not commanded */
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: not a PostgreSQL command");
    known = hl_endpoint_info_get(w->engine, target, &info, NULL) == HL_OK;
    rc = hl_outbox_endpoint_get(w->ob, target, &cfg, &why, err);
    if (rc == HL_E_ENDPOINT_UNKNOWN) { /* the row is gone: so is the endpoint */
        if (!known)
            return HL_OK;
        rc = settle_store(w, hl_endpoint_remove(w->engine, target, now, err), err);
        if (rc == HL_OK)
            (void)hl_dispatcher_endpoint_remove(w->disp, target, NULL);
        return rc;
    }
    if (rc != HL_OK)
        return rc;
    rc = known ? hl_endpoint_update(w->engine, target, hl_endpoint_config_engine(cfg), now, err)
               : hl_endpoint_add(w->engine, target, hl_endpoint_config_engine(cfg), now, err);
    if (rc == HL_OK)
        rc = hl_endpoint_set_disabled(w->engine, target, why, now, err);
    rc = settle_store(w, rc, err);
    if (rc == HL_OK && hl_endpoint_config_delivery(cfg)->n_secrets > 0)
        rc = hl_dispatcher_endpoint_set(w->disp, target, hl_endpoint_config_delivery(cfg), err);
    hl_endpoint_config_free(cfg);
    return rc;
}

/*
 * One delivery step without waiting, its engine calls (batches taken in
 * flight, outcomes, attempt records) in ONE outbox transaction: one commit
 * per step instead of two per attempt, and a lazy one (no fsync: the
 * fsync per attempt was what bounded delivery to a few hundred attempts a
 * second). The step never blocks, so the write lock is held briefly. A
 * crash before the commit, or a power cut before the next synced commit,
 * forgets that step's in-flight marks and outcomes: those batches are sent
 * again after the restart (at-least-once, the same batch ids), as for any
 * attempt in flight at a crash. Enqueued events are never committed lazily.
 */
static hl_code grouped_step(hl_worker *w, hl_dispatch_progress *p, hl_error *err)
{
    hl_code rc;
    /* PostgreSQL: one server transaction per step too (its durability is
     * the server's setting); SQLite: the lazy commit described above */
    if ((rc = w->pg ? tx_begin(w, err) : hl_outbox_begin_lazy(w->ob, err)) != HL_OK)
        return rc;
    rc = hl_dispatcher_step(w->disp, 0, p, err);
    if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
        return settle_store(w, rc, err);
    if (tx_commit(w, NULL) != HL_OK)
        return settle_store(w, HL_E_STORE, err);
    return rc;
}

static void merge_progress(hl_dispatch_progress *into, const hl_dispatch_progress *more)
{
    into->started += more->started;
    into->finished += more->finished;
    into->succeeded += more->succeeded;
    into->failed += more->failed;
    into->blocked += more->blocked;
    into->in_flight = more->in_flight;
    into->engine_action = more->engine_action;
    into->wake_ms = more->wake_ms;
}

hl_code hl_worker_run_once(hl_worker *w, uint64_t max_wait_ms, hl_dispatch_progress *progress,
                           hl_error *err)
{
    hl_dispatch_progress own;
    hl_code rc;
    if (progress == NULL)
        progress = &own;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (w->pg && !w->drained) {
        /* lease, claims, commands, routing, ingestion, the lease gate */
        if ((rc = hlw_pg_cycle(w, err)) != HL_OK)
            return rc;
    } else if (!w->drained) {
        /* events other processes submitted: into batches first, so this very
         * step can send them */
        /* endpoint changes and dead-letter operations other processes queued */
        rc = hl_outbox_commands_apply(w->ob, apply_command, w, 100, NULL, NULL, err);
        if (rc != HL_OK)
            return rc; /* a storage failure: the state was rebuilt; the command stays */
        rc = hl_outbox_ingest(w->ob, w->engine, hl_worker_now(w), 1000, NULL, NULL, err);
        if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
            return settle_store(w, rc, err);
        if (rc != HL_OK) { /* rolled back in the file: the engine is ahead of it */
            hl_error keep = err ? *err : (hl_error)HL_ERROR_INIT;
            (void)rebuild(w, NULL);
            if (err)
                *err = keep;
            return rc;
        }
    }
    rc = grouped_step(w, progress, err);
    if (rc == HL_OK && progress->started == 0 && progress->finished == 0) {
        /* nothing to do now: wait outside any transaction (other processes
         * may write meanwhile), then collect what the wait brought */
        uint64_t wait = max_wait_ms, now = hl_worker_now(w);
        hl_dispatch_progress more;
        if (progress->engine_action == HL_ACTION_WAIT)
            wait = progress->wake_ms <= now ? 0 : progress->wake_ms - now < wait
                                                     ? progress->wake_ms - now
                                                     : wait;
        rc = hl_dispatcher_wait(w->disp, wait, err);
        if (rc == HL_OK && (wait > 0 || progress->in_flight > 0)) {
            rc = grouped_step(w, &more, err);
            if (rc == HL_OK)
                merge_progress(progress, &more);
        }
    }
    maybe_prune(w);
    return rc;
}

hl_code hl_worker_drain(hl_worker *w, uint64_t timeout_ms, hl_error *err)
{
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    rc = hl_dispatcher_drain(w->disp, hl_worker_now(w) + timeout_ms, NULL, err);
    w->drained = 1;
    return settle_store(w, rc, err);
}

static int is_storage(hl_code rc)
{
    /* the database server being away is a storage failure too: wait, go on */
    return (rc >= HL_E_STORE_FULL && rc <= HL_E_STORE_SCHEMA) || rc == HL_E_STORE_UNAVAILABLE;
}

hl_code hl_worker_run(hl_worker *w, const volatile int *stop, hl_error *err)
{
    hl_code rc = HL_OK;
    if (w == NULL || stop == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker: run: NULL argument");
    while (!*stop) {
        rc = hl_worker_run_once(w, 250, NULL, err);
        if (rc == HL_OK)
            continue;
        if (!is_storage(rc))
            break;
        {
            /* The file cannot be written (disk full...): the state was
             * rebuilt; wait a little instead of spinning, then go on. */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            rc = HL_OK;
        }
    }
    {
        hl_error derr = HL_ERROR_INIT;
        hl_code drc = hl_worker_drain(w, w->opts.drain_timeout_ms, &derr);
        if (rc == HL_OK && drc != HL_OK) {
            rc = drc;
            if (err)
                *err = derr;
        }
    }
    return rc;
}

/* ----------------------------------------------------------- dead letters */

static hl_code redrive_local(hl_worker *w, const char *batch_id, size_t *n, hl_error *err)
{
    size_t done = 0;
    hl_code rc;
    if (n)
        *n = 0;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    if (batch_id != NULL) {
        rc = settle_store(w, hl_engine_redrive(w->engine, batch_id, hl_worker_now(w), err), err);
        if (rc == HL_OK && n)
            *n = 1;
        return rc;
    }
    /* every dead letter whose endpoint exists, in one transaction */
    {
        size_t total = hl_engine_dead_letter_count(w->engine), got = 0;
        const char **ids;
        char (*copy)[HL_BATCH_ID_MAX];
        if (total == 0)
            return HL_OK;
        ids = calloc(total, sizeof *ids);
        copy = calloc(total, sizeof *copy);
        if (ids == NULL || copy == NULL) {
            free(ids);
            free(copy);
            return fail(err, HL_E_NOMEM, "out of memory");
        }
        hl_engine_dead_letter_list(w->engine, 0, ids, total, &got);
        for (size_t i = 0; i < got; i++)
            snprintf(copy[i], HL_BATCH_ID_MAX, "%s", ids[i]);
        free(ids);
        if ((rc = tx_begin(w, err)) != HL_OK) {
            free(copy);
            return rc;
        }
        for (size_t i = 0; i < got && (rc == HL_OK || rc == HL_E_ENDPOINT_UNKNOWN); i++) {
            rc = hl_engine_redrive(w->engine, copy[i], hl_worker_now(w), NULL);
            done += rc == HL_OK;
        }
        free(copy);
        if (rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED)
            return settle_store(w, rc, err);
        if (tx_commit(w, NULL) != HL_OK)
            return settle_store(w, HL_E_STORE, err);
        if (n)
            *n = done;
        return HL_OK;
    }
}

static hl_code purge_local(hl_worker *w, const char *batch_id, hl_error *err)
{
    hl_code rc;
    if ((rc = ready(w, err)) != HL_OK)
        return rc;
    return settle_store(w, hl_engine_purge(w->engine, batch_id, err), err);
}

hl_code hl_worker_redrive(hl_worker *w, const char *batch_id, size_t *n, hl_error *err)
{
    if (w && w->pg) { /* the endpoint's owner does it (hl_pg_command_submit) */
        if (n)
            *n = 0;
        return hlw_pg_command(w, HL_COMMAND_REDRIVE, batch_id, err);
    }
    return redrive_local(w, batch_id, n, err);
}

hl_code hl_worker_purge(hl_worker *w, const char *batch_id, hl_error *err)
{
    if (w && w->pg)
        return hlw_pg_command(w, HL_COMMAND_PURGE, batch_id, err);
    return purge_local(w, batch_id, err);
}

/* Commands for the endpoints this worker owns (PostgreSQL). */
hl_code hlw_apply_command(void *user, hl_outbox_command_kind kind, const char *target,
                          hl_error *err)
{
    hl_worker *w = user;
    if (kind == HL_COMMAND_REDRIVE)
        return redrive_local(w, target, NULL, err);
    if (kind == HL_COMMAND_PURGE)
        return purge_local(w, target, err);
    return fail(err, HL_E_INVALID_ARGUMENT, "worker: not a PostgreSQL command");
}

/* ------------------------------------------------------- reads, submit */

hl_code hl_worker_submit(hl_worker *w, const hl_event *events, size_t n,
                         char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index, hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    if (w->pg)
        return hlw_pg_submit(w, events, NULL, n, ids, failed_index, err);
    return hl_outbox_submit(w->ob, events, n, hl_worker_now(w), ids, failed_index, err);
}

hl_code hl_worker_batch_get(hl_worker *w, const char *batch_id, hl_outbox_batch *out,
                            hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->pg ? hlw_pg_batch_get(w, batch_id, out, err)
                 : hl_outbox_batch_get(w->ob, batch_id, out, err);
}

hl_code hl_worker_batch_body(hl_worker *w, const char *batch_id, char **out, size_t *len,
                             hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->pg ? hlw_pg_batch_body(w, batch_id, out, len, err)
                 : hl_outbox_batch_body(w->ob, batch_id, out, len, err);
}

hl_code hl_worker_attempts(hl_worker *w, const hl_outbox_attempt_query *q,
                           hl_outbox_attempt_fn fn, void *user, hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->pg ? hlw_pg_attempts(w, q, fn, user, err)
                 : hl_outbox_attempts(w->ob, q, fn, user, err);
}

hl_code hl_worker_dead_letters(hl_worker *w, const char *endpoint_id, size_t offset, size_t limit,
                               hl_outbox_batch_fn fn, void *user, size_t *total, hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->pg ? hlw_pg_dead_letters(w, endpoint_id, offset, limit, fn, user, total, err)
                 : hl_outbox_dead_letters(w->ob, endpoint_id, offset, limit, fn, user, total,
                                          err);
}

hl_code hl_worker_counts_get(hl_worker *w, hl_outbox_counts *out, hl_error *err)
{
    if (w == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "worker is NULL");
    return w->pg ? hlw_pg_counts(w, out, err) : hl_outbox_counts_get(w->ob, out, err);
}

int hl_worker_is_shared(const hl_worker *w)
{
    return w && w->pg != NULL;
}
