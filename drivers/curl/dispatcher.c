/*
 * dispatcher.c - the delivery loop: SEND actions from the engine become
 * guarded, signed libcurl transfers on one multi handle; finished transfers
 * become outcomes reported back (hookline/dispatcher.h, docs/dispatch.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "dispatch_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef enum xfer_kind {
    XFER_DELIVERY = 0, /* an engine batch attempt */
    XFER_TOKEN = 1,    /* an OAuth2 client-credentials token request */
    XFER_TEST = 2      /* hl_dispatcher_send_test */
} xfer_kind;

/* One transfer, from start to reported outcome. */
typedef struct hli_xfer {
    xfer_kind kind;
    hli_dconf *conf; /* reference held (NULL: endpoint without settings) */
    CURL *easy;
    hl_curl_guard *guard;
    struct curl_slist *headers;
    char *post; /* token request body (owned) */
    int in_multi, waiting;

    /* the request */
    char batch_id[HL_ID_MAX]; /* batch id, or the test's message id */
    char *endpoint_id;
    char *url;
    const char *body; /* borrowed from the engine (valid until reported) or the caller */
    size_t body_len;
    unsigned int attempt;
    uint32_t n_events;
    int sparkpost, stale, retried_401;
    unsigned int token_gen;
    int64_t timestamp;

    /* the response */
    char excerpt[HL_EXCERPT_MAX];
    size_t excerpt_len;
    uint64_t body_bytes;
    char *token_body;
    size_t token_len;
    int token_too_big;
    char retry_after[HL_TEST_HEADER_MAX];
    char content_type[HL_TEST_HEADER_MAX];
    char location[HL_TEST_HEADER_MAX];
    char host[HL_HOST_MAX];
    char errbuf[CURL_ERROR_SIZE];

    hl_test_response *test_out;
    int test_done;

    struct hli_xfer *prev, *next; /* every live transfer */
    struct hli_xfer *next_waiter; /* conf->waiters */
} hli_xfer;

/* How a transfer ended, before it is reported. */
typedef struct result {
    int status;
    hl_failure failure;
    const char *failure_class;
    hl_code code;
    char message[HL_ERROR_MESSAGE_MAX];
    uint64_t latency_ms;
    int http_version;
    int reused;
} result;

struct hl_dispatcher {
    hl_engine *engine;
    const hl_url_policy *policy;
    hl_resolver resolver;
    int has_resolver;
    uint64_t (*clock_ms)(void *user);
    void *clock_user;
    unsigned int max_connections;
    char *ca_file;
    int follow_redirects;
    char *user_agent;
    hl_attempt_fn on_attempt;
    void *attempt_user;

    CURLM *multi;
    /* Easy handles of finished transfers, reset (curl_easy_reset: every
     * option back to its default) for the next one: creating one per
     * attempt costs more than the request. Each transfer sets all of its
     * options, the SSRF guard's included, on whichever handle it gets. */
    CURL **spare;
    size_t n_spare, max_spare;
    hli_dconf *confs;
    hli_xfer *xfers;   /* every live transfer */
    size_t in_flight;  /* delivery attempts not yet reported */
    int draining;
    int held; /* hl_dispatcher_hold: take no new work */

    /* the step under way */
    hl_dispatch_progress *progress;
    hl_code first_rc;
    hl_error *first_err;
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static hl_code fail(hl_error *err, hl_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint64_t system_clock(void *user)
{
    struct timespec ts;
    (void)user;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(const hl_dispatcher *d)
{
    return d->clock_ms(d->clock_user);
}

/* Keep the first engine error of a step; report the rest regardless. */
static void note_error(hl_dispatcher *d, hl_code rc, const hl_error *e)
{
    if (d->first_rc != HL_OK)
        return;
    d->first_rc = rc;
    if (d->first_err && e)
        *d->first_err = *e;
}

/* ------------------------------------------------------------ transfers */

static hli_xfer *xfer_new(hl_dispatcher *d, xfer_kind kind, hli_dconf *conf)
{
    hli_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->kind = kind;
    x->conf = conf;
    if (conf)
        conf->refs++;
    x->next = d->xfers;
    if (d->xfers)
        d->xfers->prev = x;
    d->xfers = x;
    return x;
}

static void wipe_slist(struct curl_slist *l)
{
    for (; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data)); /* the bearer token, API keys */
}

/* An easy handle with every option at its default: a spare one, or new. */
static CURL *easy_take(hl_dispatcher *d)
{
    if (d->n_spare > 0)
        return d->spare[--d->n_spare];
    return curl_easy_init();
}

/* Keep a handle no transfer uses any more, with none of its options (no
 * pointer to the transfer, its guard, its headers or secrets survives). */
static void easy_give_back(hl_dispatcher *d, CURL *easy)
{
    if (!easy)
        return;
    if (d->spare && d->n_spare < d->max_spare) {
        curl_easy_reset(easy);
        d->spare[d->n_spare++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

/* Release the libcurl side, keeping the request (for a retry after 401). */
static void xfer_reset(hl_dispatcher *d, hli_xfer *x)
{
    if (x->in_multi)
        curl_multi_remove_handle(d->multi, x->easy);
    x->in_multi = 0;
    easy_give_back(d, x->easy); /* before the guard and headers it points to go */
    x->easy = NULL;
    hl_curl_guard_free(x->guard);
    x->guard = NULL;
    wipe_slist(x->headers);
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    if (x->token_body)
        OPENSSL_cleanse(x->token_body, x->token_len);
    free(x->token_body);
    x->token_body = NULL;
    x->token_len = 0;
    x->token_too_big = 0;
    x->excerpt_len = 0;
    x->body_bytes = 0;
    x->retry_after[0] = x->content_type[0] = x->location[0] = '\0';
    x->errbuf[0] = '\0';
}

static void unwait(hli_xfer *x)
{
    if (!x->waiting || !x->conf)
        return;
    for (hli_xfer **p = &x->conf->waiters; *p; p = &(*p)->next_waiter)
        if (*p == x) {
            *p = x->next_waiter;
            break;
        }
    x->waiting = 0;
}

static void xfer_free(hl_dispatcher *d, hli_xfer *x)
{
    if (!x)
        return;
    xfer_reset(d, x);
    unwait(x);
    if (x->kind == XFER_TOKEN && x->conf && x->conf->token_xfer == x)
        x->conf->token_xfer = NULL;
    if (x->post) {
        OPENSSL_cleanse(x->post, strlen(x->post));
        free(x->post);
    }
    free(x->url);
    free(x->endpoint_id);
    hli_dconf_release(x->conf);
    if (x->prev)
        x->prev->next = x->next;
    else
        d->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    free(x);
}

static void copy_bounded(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* A test request shows the receiver's whole answer: every header line,
 * "name: value\n", as long as it fits. */
static void keep_test_header(hl_test_response *o, const char *name, size_t name_len,
                             const char *value, size_t value_len)
{
    size_t need = name_len + 2 + value_len + 1;
    if (o->headers_len + need >= sizeof o->headers) {
        o->headers_truncated = 1;
        return;
    }
    char *p = o->headers + o->headers_len;
    memcpy(p, name, name_len);
    memcpy(p + name_len, ": ", 2);
    memcpy(p + name_len + 2, value, value_len);
    p[need - 1] = '\n';
    o->headers_len += need;
    o->headers[o->headers_len] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
    hli_xfer *x = user;
    size_t len = size * n, name_len;
    const char *colon, *v, *end;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after a 100 or a followed redirect) */
        x->retry_after[0] = x->content_type[0] = x->location[0] = '\0';
        if (x->kind == XFER_TEST && x->test_out != NULL) {
            x->test_out->headers[0] = '\0';
            x->test_out->headers_len = 0;
            x->test_out->headers_truncated = 0;
        }
        return len;
    }
    if ((colon = memchr(buf, ':', len)) == NULL)
        return len;
    name_len = (size_t)(colon - buf);
    v = colon + 1;
    end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    char *dst = NULL;
    if (name_len == 11 && strncasecmp(buf, "retry-after", 11) == 0)
        dst = x->retry_after;
    else if (name_len == 12 && strncasecmp(buf, "content-type", 12) == 0)
        dst = x->content_type;
    else if (name_len == 8 && strncasecmp(buf, "location", 8) == 0)
        dst = x->location;
    if (dst)
        copy_bounded(dst, HL_TEST_HEADER_MAX, v, (size_t)(end - v));
    if (x->kind == XFER_TEST && x->test_out != NULL)
        keep_test_header(x->test_out, buf, name_len, v, (size_t)(end - v));
    return len;
}

/* Keep the first KiB (or, for a token, the whole bounded answer); count
 * and discard the rest, so a huge response costs no memory. */
static size_t on_body(char *buf, size_t size, size_t n, void *user)
{
    hli_xfer *x = user;
    size_t len = size * n;
    x->body_bytes += len;
    if (x->kind == XFER_TOKEN) {
        if (x->token_len + len > HL_DISPATCH_TOKEN_RESPONSE_MAX) {
            x->token_too_big = 1;
            return 0; /* too large for a token answer: abort (CURLE_WRITE_ERROR) */
        }
        if (!x->token_body && (x->token_body = malloc(HL_DISPATCH_TOKEN_RESPONSE_MAX)) == NULL)
            return 0;
        memcpy(x->token_body + x->token_len, buf, len);
        x->token_len += len;
        return len;
    }
    if (x->excerpt_len < HL_EXCERPT_MAX) {
        size_t take = HL_EXCERPT_MAX - x->excerpt_len;
        if (take > len)
            take = len;
        memcpy(x->excerpt + x->excerpt_len, buf, take);
        x->excerpt_len += take;
    }
    return len;
}

/* ------------------------------------------------------------- outcomes */

static void report_attempt(hl_dispatcher *d, const hli_xfer *x, const result *r)
{
    hl_attempt_report rep;
    if (!d->on_attempt)
        return;
    memset(&rep, 0, sizeof rep);
    rep.batch_id = x->kind == XFER_TEST ? "" : x->batch_id;
    rep.endpoint_id = x->endpoint_id ? x->endpoint_id : "";
    rep.host = x->host;
    rep.attempt = x->attempt;
    rep.n_events = x->n_events;
    rep.status = r->status;
    rep.failure = r->failure;
    rep.failure_class = r->failure_class ? r->failure_class : hl_failure_class_name(r->failure);
    rep.error_code = r->code;
    rep.error_message = r->message;
    rep.latency_ms = r->latency_ms;
    rep.bytes_sent = x->body_len;
    rep.bytes_received = x->body_bytes;
    rep.http_version = r->http_version;
    rep.connection_reused = r->reused;
    rep.test = x->kind == XFER_TEST;
    d->on_attempt(d->attempt_user, &rep);
}

/* The end of a delivery or test attempt: report it and (deliveries) free it. */
static void finish(hl_dispatcher *d, hli_xfer *x, const result *r)
{
    report_attempt(d, x, r);
    if (x->kind == XFER_TEST) {
        hl_test_response *o = x->test_out;
        o->status = r->status;
        o->failure = r->failure;
        o->blocked = r->failure == HL_FAILURE_BLOCKED ? r->code : HL_OK;
        o->error_code = r->code;
        snprintf(o->message, sizeof o->message, "%s", r->message);
        o->latency_ms = r->latency_ms;
        o->http_version = r->http_version;
        o->timestamp = x->timestamp;
        snprintf(o->msg_id, sizeof o->msg_id, "%s", x->batch_id);
        snprintf(o->content_type, sizeof o->content_type, "%s", x->content_type);
        snprintf(o->retry_after, sizeof o->retry_after, "%s", x->retry_after);
        snprintf(o->location, sizeof o->location, "%s", x->location);
        memcpy(o->body_excerpt, x->excerpt, x->excerpt_len);
        o->body_excerpt_len = x->excerpt_len;
        o->body_bytes = x->body_bytes;
        x->test_done = 1;
        xfer_reset(d, x);
        unwait(x);
        return;
    }

    hl_outcome o = HL_OUTCOME_INIT;
    hl_error e = HL_ERROR_INIT;
    o.status = r->status;
    o.failure = r->failure;
    if (x->retry_after[0] && r->failure == HL_FAILURE_NONE) {
        o.retry_after = x->retry_after;
        o.retry_after_len = strlen(x->retry_after);
    }
    o.latency_ms = r->latency_ms;
    o.body_excerpt = x->excerpt_len ? x->excerpt : NULL;
    o.body_excerpt_len = x->excerpt_len;
    hl_code rc = hl_engine_report_outcome(d->engine, x->batch_id, &o, now_ms(d), &e);
    /* A lease that expired (state) or a batch purged meanwhile: the engine
     * has already settled it; nothing is lost by dropping this outcome. */
    if (rc != HL_OK && rc != HL_E_BATCH_STATE && rc != HL_E_BATCH_UNKNOWN)
        note_error(d, rc, &e);
    if (d->progress) {
        hl_dispatch_progress *p = d->progress;
        p->finished++;
        if (r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status <= 299)
            p->succeeded++;
        else
            p->failed++;
        if (r->failure == HL_FAILURE_BLOCKED)
            p->blocked++;
    }
    d->in_flight--;
    xfer_free(d, x);
}

static void result_init(result *r, hl_failure failure, hl_code code, const char *message)
{
    memset(r, 0, sizeof *r);
    r->failure = failure;
    r->code = code;
    snprintf(r->message, sizeof r->message, "%s", message ? message : "");
}

/* The guard refused before any connection: a blocked address (or URL), or
 * a name that did not resolve, which is a DNS failure, not a block. */
static void result_from_guard(result *r, hl_code rc, const hl_error *e)
{
    if (rc == HL_E_RESOLVE_FAILED)
        result_init(r, HL_FAILURE_DNS, rc, e->message);
    else if (rc >= 200 && rc <= 299)
        result_init(r, HL_FAILURE_BLOCKED, rc, e->message);
    else
        result_init(r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, e->message);
}

static hl_failure failure_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HL_FAILURE_DNS;
    case CURLE_COULDNT_CONNECT:
        return HL_FAILURE_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HL_FAILURE_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return HL_FAILURE_TLS;
    default:
        /* recv/send errors, got nothing, partial file, HTTP/2 stream
         * errors, garbage replies: the connection broke mid-exchange */
        return HL_FAILURE_RESET;
    }
}

/* Read how a finished transfer ended. */
static void judge(hli_xfer *x, CURLcode cc, result *r)
{
    long status = 0, version = 0;
    curl_off_t total_us = 0, connects = 0;
    hl_error gerr = HL_ERROR_INIT;
    hl_code blocked = x->guard ? hl_curl_guard_blocked(x->guard, &gerr) : HL_OK;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    {
        long n = 0;
        curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &n);
        connects = n;
    }
    if (blocked != HL_OK)
        result_init(r, HL_FAILURE_BLOCKED, blocked, gerr.message);
    else if (cc == CURLE_OK || (cc == CURLE_TOO_MANY_REDIRECTS && status > 0))
        result_init(r, HL_FAILURE_NONE, HL_OK, NULL);
    else
        result_init(r, failure_of(cc), HL_E_TRANSPORT,
                    x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
    if (r->failure == HL_FAILURE_NONE)
        r->status = (int)status;
    r->latency_ms = total_us > 0 ? (uint64_t)total_us / 1000u : 0;
    switch (version) {
    case CURL_HTTP_VERSION_1_0:
        r->http_version = 10;
        break;
    case CURL_HTTP_VERSION_1_1:
        r->http_version = 11;
        break;
    case CURL_HTTP_VERSION_2_0:
        r->http_version = 20;
        break;
    case CURL_HTTP_VERSION_3:
        r->http_version = 30;
        break;
    default:
        r->http_version = 0;
    }
    if (status == 0)
        r->http_version = 0;
    r->reused = status > 0 && connects == 0;
}

/* ------------------------------------------------------------- requests */

static int append_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return 0;
    *list = l;
    return 1;
}

/*
 * Create the easy handle and its guard, and set what every request shares
 * (timeouts, TLS, callbacks). On failure `r` says why (blocked, DNS,
 * transport) and HL_OK is not returned.
 */
static hl_code open_easy(hl_dispatcher *d, hli_xfer *x, uint64_t timeout_ms, result *r)
{
    hl_curl_guard_options go = HL_CURL_GUARD_OPTIONS_INIT;
    hl_error gerr = HL_ERROR_INIT;
    hl_code rc;
    CURLcode cc = CURLE_OK;

    if ((x->easy = easy_take(d)) == NULL) {
        result_init(r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, "curl_easy_init failed");
        return HL_E_TRANSPORT;
    }
    go.follow_redirects = d->follow_redirects;
    rc = hl_curl_guard_new(&x->guard, x->easy, d->policy, d->has_resolver ? &d->resolver : NULL,
                           x->url, strlen(x->url), &go, &gerr);
    if (rc != HL_OK) {
        result_from_guard(r, rc, &gerr);
        return rc;
    }
    snprintf(x->host, sizeof x->host, "%s", hl_curl_guard_target(x->guard)->host);
#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (cc == CURLE_OK)                                                                      \
            cc = curl_easy_setopt(x->easy, opt, val);                                            \
    } while (0)
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_USERAGENT, d->user_agent);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_POST, 1L);
    /* a followed redirect repeats the POST (curl would switch 301-303 to a
     * GET without the batch) */
    SET(CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    if (d->ca_file)
        SET(CURLOPT_CAINFO, d->ca_file);
#undef SET
    if (cc != CURLE_OK) {
        char msg[HL_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "curl_easy_setopt failed: %s", curl_easy_strerror(cc));
        result_init(r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, msg);
        return HL_E_TRANSPORT;
    }
    return HL_OK;
}

static hl_code add_to_multi(hl_dispatcher *d, hli_xfer *x, result *r)
{
    CURLMcode mc = curl_multi_add_handle(d->multi, x->easy);
    if (mc != CURLM_OK) {
        result_init(r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, curl_multi_strerror(mc));
        return HL_E_TRANSPORT;
    }
    x->in_multi = 1;
    return HL_OK;
}

/* Start the HTTP request of a delivery or test whose token (if any) is ready. */
static void launch(hl_dispatcher *d, hli_xfer *x)
{
    hli_dconf *c = x->conf;
    result r;
    hl_error e = HL_ERROR_INIT;
    CURLcode cc = CURLE_OK;
    char line[HL_ID_MAX + 64];
    hl_signed sig;
    uint64_t now = now_ms(d);
    int ok = 1;

    if (open_easy(d, x, c->timeout_ms, &r) != HL_OK)
        goto failed;

    x->timestamp = (int64_t)(now / 1000u) - (x->stale ? HL_DISPATCH_STALE_SECONDS : 0);
    if (hli_dconf_sign(c, now, x->batch_id, x->timestamp, x->body, x->body_len, &sig, &e) !=
        HL_OK) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, e.message);
        goto failed;
    }
    ok = append_header(&x->headers, "Content-Type: application/json") &&
         append_header(&x->headers, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof line, "x-webhook-batch-id: %s", x->batch_id);
    ok = ok && append_header(&x->headers, line);
    if (x->sparkpost) {
        snprintf(line, sizeof line, "X-MessageSystems-Batch-ID: %s", x->batch_id);
        ok = ok && append_header(&x->headers, line);
    }
    for (size_t i = 0; ok && i < sig.count; i++) {
        char sl[HL_HEADER_NAME_MAX + HL_HEADER_VALUE_MAX + 4];
        snprintf(sl, sizeof sl, "%s: %s", sig.headers[i].name, sig.headers[i].value);
        ok = append_header(&x->headers, sl);
    }
    for (size_t i = 0; ok && i < c->n_headers; i++)
        ok = append_header(&x->headers, c->headers[i]);
    if (ok && c->auth == HL_AUTH_OAUTH2 && c->auth_line) {
        ok = append_header(&x->headers, c->auth_line);
        x->token_gen = c->token_gen;
    }
    if (!ok) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
        goto failed;
    }
#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (cc == CURLE_OK)                                                                      \
            cc = curl_easy_setopt(x->easy, opt, val);                                            \
    } while (0)
    SET(CURLOPT_HTTPHEADER, x->headers);
    SET(CURLOPT_POSTFIELDS, x->body ? x->body : "");
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    if (c->auth == HL_AUTH_BASIC) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, c->basic_user);
        SET(CURLOPT_PASSWORD, c->basic_password);
    }
    if (c->tls_cert) {
        SET(CURLOPT_SSLCERT, c->tls_cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        if (c->tls_key) {
            SET(CURLOPT_SSLKEY, c->tls_key);
            SET(CURLOPT_SSLKEYTYPE, "PEM");
        }
    }
#undef SET
    if (cc != CURLE_OK) {
        char msg[HL_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "curl_easy_setopt failed: %s", curl_easy_strerror(cc));
        result_init(&r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, msg);
        goto failed;
    }
    if (add_to_multi(d, x, &r) == HL_OK)
        return;
failed:
    finish(d, x, &r);
}

static void token_failed(hl_dispatcher *d, hli_dconf *c, const result *why);

/* Start the OAuth2 token request for `c` (its waiters wait for it). */
static void start_token(hl_dispatcher *d, hli_dconf *c)
{
    hli_xfer *x = xfer_new(d, XFER_TOKEN, c);
    result r;
    CURLcode cc = CURLE_OK;
    if (!x) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
        token_failed(d, c, &r);
        return;
    }
    c->token_xfer = x;
    if ((x->url = strdup(c->token_url)) == NULL) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
        goto failed;
    }
    if (open_easy(d, x, c->timeout_ms, &r) != HL_OK)
        goto failed;
    {
        char *scope = NULL;
        size_t n;
        if (c->scope && (scope = curl_easy_escape(x->easy, c->scope, 0)) == NULL) {
            result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
            goto failed;
        }
        n = sizeof "grant_type=client_credentials&scope=" + (scope ? strlen(scope) : 0);
        if ((x->post = malloc(n)) == NULL) {
            curl_free(scope);
            result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
            goto failed;
        }
        snprintf(x->post, n, "grant_type=client_credentials%s%s", scope ? "&scope=" : "",
                 scope ? scope : "");
        curl_free(scope);
    }
    if (!append_header(&x->headers, "Content-Type: application/x-www-form-urlencoded") ||
        !append_header(&x->headers, "Accept: application/json") ||
        !append_header(&x->headers, "Expect:")) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
        goto failed;
    }
#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (cc == CURLE_OK)                                                                      \
            cc = curl_easy_setopt(x->easy, opt, val);                                            \
    } while (0)
    SET(CURLOPT_HTTPHEADER, x->headers);
    SET(CURLOPT_POSTFIELDS, x->post);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(x->post));
    /* RFC 6749 2.3.1: client id and secret as HTTP basic */
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERNAME, c->client_id);
    SET(CURLOPT_PASSWORD, c->client_secret);
#undef SET
    if (cc != CURLE_OK) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_TRANSPORT, curl_easy_strerror(cc));
        goto failed;
    }
    if (add_to_multi(d, x, &r) == HL_OK)
        return;
failed:
    xfer_free(d, x); /* clears c->token_xfer */
    token_failed(d, c, &r);
}

/* Every waiter of `c` fails the way the token request did. */
static void token_failed(hl_dispatcher *d, hli_dconf *c, const result *why)
{
    result r = *why;
    char msg[HL_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "OAuth2 token request failed: %.200s", why->message);
    snprintf(r.message, sizeof r.message, "%s", msg);
    r.failure_class = why->failure == HL_FAILURE_NONE ? "auth" : NULL;
    if (why->failure == HL_FAILURE_NONE || why->code == HL_OK)
        r.code = HL_E_OAUTH2;
    r.status = 0; /* the receiver never answered */
    r.http_version = 0;
    while (c->waiters) {
        hli_xfer *w = c->waiters;
        c->waiters = w->next_waiter;
        w->waiting = 0;
        finish(d, w, &r);
    }
}

static void token_done(hl_dispatcher *d, hli_xfer *x, const result *tr)
{
    hli_dconf *c = x->conf;
    result r = *tr;
    c->token_xfer = NULL;
    if (tr->failure == HL_FAILURE_NONE) {
        hl_error e = HL_ERROR_INIT;
        char *line = NULL;
        uint64_t expires_in = 0;
        if (tr->status < 200 || tr->status > 299) {
            char msg[HL_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "the token endpoint answered HTTP %d", tr->status);
            result_init(&r, HL_FAILURE_NONE, HL_E_OAUTH2, msg);
        } else if (hli_oauth2_parse(x->token_body ? x->token_body : "", x->token_len, &line,
                                    &expires_in, &e) != HL_OK) {
            result_init(&r, HL_FAILURE_NONE, HL_E_OAUTH2, e.message);
        } else {
            hli_wipe_free(c->auth_line);
            c->auth_line = line;
            c->token_refresh_ms = hli_oauth2_refresh_at(now_ms(d), expires_in);
            c->token_gen++;
        }
    } else if (x->token_too_big) {
        result_init(&r, HL_FAILURE_NONE, HL_E_OAUTH2, "token response too large");
    }
    xfer_free(d, x);
    if (!c->auth_line || r.code != HL_OK) {
        token_failed(d, c, &r);
        return;
    }
    while (c->waiters) {
        hli_xfer *w = c->waiters;
        c->waiters = w->next_waiter;
        w->waiting = 0;
        launch(d, w);
    }
}

/* Start an attempt: straight away, or after an OAuth2 token. */
static void begin(hl_dispatcher *d, hli_xfer *x)
{
    hli_dconf *c = x->conf;
    if (c->auth == HL_AUTH_OAUTH2 && (!c->auth_line || now_ms(d) >= c->token_refresh_ms)) {
        x->waiting = 1;
        x->next_waiter = c->waiters;
        c->waiters = x;
        if (!c->token_xfer)
            start_token(d, c);
        return;
    }
    launch(d, x);
}

static hli_dconf *find_conf(hl_dispatcher *d, const char *endpoint_id, hli_dconf ***link)
{
    for (hli_dconf **p = &d->confs; *p; p = &(*p)->next)
        if (strcmp((*p)->endpoint_id, endpoint_id) == 0) {
            if (link)
                *link = p;
            return *p;
        }
    return NULL;
}

static void start_delivery(hl_dispatcher *d, const hl_action *a)
{
    hli_dconf *c = find_conf(d, a->endpoint_id, NULL);
    hli_xfer *x = xfer_new(d, XFER_DELIVERY, c);
    result r;
    d->in_flight++;
    if (d->progress)
        d->progress->started++;
    if (!x) {
        /* cannot even track it: a connect failure, retried later */
        hl_outcome o = HL_OUTCOME_INIT;
        o.failure = HL_FAILURE_CONNECT;
        (void)hl_engine_report_outcome(d->engine, a->batch_id, &o, now_ms(d), NULL);
        d->in_flight--;
        return;
    }
    snprintf(x->batch_id, sizeof x->batch_id, "%s", a->batch_id);
    x->endpoint_id = strdup(a->endpoint_id);
    x->url = strdup(a->url);
    x->body = a->body;
    x->body_len = a->body_len;
    x->attempt = a->attempt;
    x->n_events = a->n_events;
    x->sparkpost = a->sparkpost_compat;
    if (!x->endpoint_id || !x->url) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_NOMEM, "out of memory");
        finish(d, x, &r);
        return;
    }
    if (!c) {
        result_init(&r, HL_FAILURE_CONNECT, HL_E_ENDPOINT_UNKNOWN,
                    "no delivery options for this endpoint (hl_dispatcher_endpoint_set)");
        r.failure_class = "unconfigured";
        finish(d, x, &r);
        return;
    }
    begin(d, x);
}

/* Report every transfer libcurl has finished. */
static void collect(hl_dispatcher *d)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
        hli_xfer *x = NULL;
        result r;
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode cc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        judge(x, cc, &r);
        curl_multi_remove_handle(d->multi, x->easy);
        x->in_multi = 0;
        if (x->kind == XFER_TOKEN) {
            token_done(d, x, &r);
            continue;
        }
        /* A 401 on the token we sent: that token is dead. Fetch a new one
         * and try once more within the same attempt. */
        if (r.failure == HL_FAILURE_NONE && r.status == 401 && x->conf &&
            x->conf->auth == HL_AUTH_OAUTH2 && !x->retried_401) {
            if (x->conf->token_gen == x->token_gen)
                hli_dconf_drop_token(x->conf);
            x->retried_401 = 1;
            xfer_reset(d, x);
            begin(d, x);
            continue;
        }
        finish(d, x, &r);
    }
}

static hl_code pump(hl_dispatcher *d, hl_error *err)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(d->multi, &running);
    if (mc != CURLM_OK)
        return fail(err, HL_E_TRANSPORT, "curl_multi_perform: %s", curl_multi_strerror(mc));
    collect(d);
    return HL_OK;
}

static hl_code wait_io(hl_dispatcher *d, uint64_t wait_ms, hl_error *err)
{
    CURLMcode mc;
    if (wait_ms > INT_MAX)
        wait_ms = INT_MAX;
    mc = curl_multi_poll(d->multi, NULL, 0, (int)wait_ms, NULL);
    if (mc != CURLM_OK)
        return fail(err, HL_E_TRANSPORT, "curl_multi_poll: %s", curl_multi_strerror(mc));
    return pump(d, err);
}

/* ---------------------------------------------------------------- public */

hl_code hl_dispatcher_new(hl_dispatcher **out, hl_engine *engine,
                          const hl_dispatcher_options *opts, hl_error *err)
{
    static const hl_dispatcher_options defaults = HL_DISPATCHER_OPTIONS_INIT;
    hl_dispatcher *d;
    size_t ua_len;
    if (!out)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher_new: NULL out");
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->version != HL_DISPATCHER_OPTIONS_VERSION)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher options: bad version");
    if (opts->max_connections == 0)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher options: max_connections must be >= 1");
    if (opts->user_agent_extra && strpbrk(opts->user_agent_extra, "\r\n"))
        return fail(err, HL_E_INVALID_ARGUMENT,
                    "dispatcher options: user_agent_extra contains a line break");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail(err, HL_E_TRANSPORT, "curl_global_init failed");
    if ((d = calloc(1, sizeof *d)) == NULL) {
        curl_global_cleanup();
        return fail(err, HL_E_NOMEM, "out of memory");
    }
    d->engine = engine;
    d->policy = opts->policy;
    if (opts->resolver) {
        d->resolver = *opts->resolver;
        d->has_resolver = 1;
    }
    d->clock_ms = opts->clock_ms ? opts->clock_ms : system_clock;
    d->clock_user = opts->clock_user;
    d->max_connections = opts->max_connections;
    d->follow_redirects = opts->follow_redirects;
    d->on_attempt = opts->on_attempt;
    d->attempt_user = opts->attempt_user;
    ua_len = sizeof "hookline/" + strlen(hl_version()) + 1 +
             (opts->user_agent_extra ? strlen(opts->user_agent_extra) : 0);
    d->user_agent = malloc(ua_len);
    d->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
    d->multi = curl_multi_init();
    /* as many spares as transfers can run at once (bounded) */
    d->max_spare = opts->max_connections < 256 ? opts->max_connections : 256;
    d->spare = calloc(d->max_spare, sizeof *d->spare);
    if (!d->user_agent || (opts->ca_file && !d->ca_file) || !d->multi || !d->spare) {
        hl_dispatcher_free(d);
        return fail(err, HL_E_NOMEM, "out of memory");
    }
    if (opts->user_agent_extra && opts->user_agent_extra[0])
        snprintf(d->user_agent, ua_len, "hookline/%s %s", hl_version(), opts->user_agent_extra);
    else
        snprintf(d->user_agent, ua_len, "hookline/%s", hl_version());
    curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)opts->max_connections);
    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)opts->max_per_host);
    curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    *out = d;
    return HL_OK;
}

void hl_dispatcher_free(hl_dispatcher *d)
{
    if (!d)
        return;
    while (d->xfers)
        xfer_free(d, d->xfers);
    while (d->n_spare > 0)
        curl_easy_cleanup(d->spare[--d->n_spare]);
    free(d->spare);
    while (d->confs) {
        hli_dconf *c = d->confs;
        d->confs = c->next;
        hli_dconf_release(c);
    }
    if (d->multi)
        curl_multi_cleanup(d->multi);
    free(d->user_agent);
    free(d->ca_file);
    free(d);
    curl_global_cleanup();
}

hl_code hl_dispatcher_endpoint_set(hl_dispatcher *d, const char *endpoint_id,
                                   const hl_delivery_options *opts, hl_error *err)
{
    hli_dconf *c = NULL, *old, **link = NULL;
    hl_code rc;
    if (!d || !endpoint_id || !endpoint_id[0] || strlen(endpoint_id) >= HL_ENGINE_ID_MAX)
        return fail(err, HL_E_INVALID_ARGUMENT, "endpoint_set: bad endpoint id");
    if ((rc = hl_delivery_options_check(opts, err)) != HL_OK)
        return rc;
    if ((rc = hli_dconf_new(&c, endpoint_id, opts, err)) != HL_OK)
        return rc;
    old = find_conf(d, endpoint_id, &link);
    if (old) {
        /* keep a valid token across unrelated changes (headers, secrets) */
        if (hli_dconf_same_client(c, old) && old->auth_line)
            hli_dconf_take_token(c, old);
        c->next = old->next;
        *link = c;
        hli_dconf_release(old);
    } else {
        c->next = d->confs;
        d->confs = c;
    }
    return HL_OK;
}

hl_code hl_dispatcher_endpoint_remove(hl_dispatcher *d, const char *endpoint_id, hl_error *err)
{
    hli_dconf **link = NULL, *c;
    if (!d || !endpoint_id)
        return fail(err, HL_E_INVALID_ARGUMENT, "endpoint_remove: NULL argument");
    if ((c = find_conf(d, endpoint_id, &link)) == NULL)
        return fail(err, HL_E_ENDPOINT_UNKNOWN, "no delivery options for endpoint \"%.200s\"",
                    endpoint_id);
    *link = c->next;
    hli_dconf_release(c);
    return HL_OK;
}

hl_code hl_dispatcher_wakeup(hl_dispatcher *d)
{
    if (!d)
        return HL_E_INVALID_ARGUMENT;
    return curl_multi_wakeup(d->multi) == CURLM_OK ? HL_OK : HL_E_TRANSPORT;
}

size_t hl_dispatcher_in_flight(const hl_dispatcher *d)
{
    return d ? d->in_flight : 0;
}

static void begin_step(hl_dispatcher *d, hl_dispatch_progress *p, hl_error *err)
{
    memset(p, 0, sizeof *p);
    d->progress = p;
    d->first_rc = HL_OK;
    d->first_err = err;
}

static hl_code end_step(hl_dispatcher *d, hl_dispatch_progress *p, hl_dispatch_progress *out,
                        hl_code rc)
{
    p->in_flight = d->in_flight;
    d->progress = NULL;
    if (out)
        *out = *p;
    if (rc == HL_OK)
        rc = d->first_rc;
    d->first_err = NULL;
    return rc;
}

/* Take SEND actions while there is room; note what the engine said last. */
static void take_work(hl_dispatcher *d, hl_dispatch_progress *p)
{
    if (d->held) {
        p->engine_action = HL_ACTION_IDLE;
        return;
    }
    /* Bounded even if a decide callback makes failed batches due at once. */
    for (unsigned int taken = 0;; taken++) {
        hl_action a;
        hl_error e = HL_ERROR_INIT;
        if (d->in_flight >= d->max_connections || taken >= d->max_connections) {
            p->engine_action = HL_ACTION_SEND;
            return;
        }
        hl_code rc = hl_engine_next_action(d->engine, now_ms(d), &a, &e);
        if (rc != HL_OK) {
            note_error(d, rc, &e);
            p->engine_action = HL_ACTION_IDLE;
            return;
        }
        if (a.kind != HL_ACTION_SEND) {
            p->engine_action = a.kind;
            p->wake_ms = a.kind == HL_ACTION_WAIT ? a.at_ms : 0;
            return;
        }
        start_delivery(d, &a);
    }
}

void hl_dispatcher_hold(hl_dispatcher *d, int hold)
{
    if (d)
        d->held = hold != 0;
}

hl_code hl_dispatcher_step(hl_dispatcher *d, uint64_t max_wait_ms, hl_dispatch_progress *progress,
                           hl_error *err)
{
    hl_dispatch_progress p;
    hl_code rc;
    if (!d)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher_step: NULL dispatcher");
    if (!d->engine)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher_step: the dispatcher has no engine");
    if (d->draining)
        return fail(err, HL_E_DRAINING, "dispatcher is draining");
    begin_step(d, &p, err);
    take_work(d, &p);
    rc = pump(d, err);
    if (rc == HL_OK && p.started == 0 && p.finished == 0) {
        uint64_t wait = max_wait_ms;
        if (p.engine_action == HL_ACTION_WAIT) {
            uint64_t now = now_ms(d);
            uint64_t until = p.wake_ms > now ? p.wake_ms - now : 0;
            if (until < wait)
                wait = until;
        }
        if (wait > 0 || d->in_flight > 0)
            rc = wait_io(d, wait, err);
    }
    return end_step(d, &p, progress, rc);
}

hl_code hl_dispatcher_wait(hl_dispatcher *d, uint64_t max_wait_ms, hl_error *err)
{
    CURLMcode mc;
    if (!d)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher_wait: NULL dispatcher");
    if (max_wait_ms == 0 && d->in_flight == 0)
        return HL_OK;
    if (max_wait_ms > INT_MAX)
        max_wait_ms = INT_MAX;
    mc = curl_multi_poll(d->multi, NULL, 0, (int)max_wait_ms, NULL);
    if (mc != CURLM_OK)
        return fail(err, HL_E_TRANSPORT, "curl_multi_poll: %s", curl_multi_strerror(mc));
    return HL_OK;
}

hl_code hl_dispatcher_drain(hl_dispatcher *d, uint64_t deadline_ms, hl_dispatch_progress *progress,
                            hl_error *err)
{
    hl_dispatch_progress p;
    hl_code rc = HL_OK;
    if (!d)
        return fail(err, HL_E_INVALID_ARGUMENT, "dispatcher_drain: NULL dispatcher");
    d->draining = 1;
    begin_step(d, &p, err);
    p.engine_action = HL_ACTION_IDLE;
    /* Bounded: every transfer has its own timeout, so in_flight reaches 0
     * even when the clock is a test's and never reaches the deadline.
     * Transfers already over are collected first, whatever the deadline. */
    rc = pump(d, err);
    while (rc == HL_OK && d->in_flight > 0) {
        uint64_t now = now_ms(d);
        if (now >= deadline_ms)
            break;
        uint64_t wait = deadline_ms - now < 100 ? deadline_ms - now : 100;
        rc = wait_io(d, wait, err);
    }
    if (d->in_flight > 0) {
        /* The deadline passed: abort, and let the engine retry them. */
        result r;
        hli_xfer *x = d->xfers, *next;
        for (; x; x = next) {
            next = x->next;
            if (x->kind == XFER_TOKEN)
                continue;
            if (x->kind == XFER_DELIVERY) {
                result_init(&r, HL_FAILURE_TIMEOUT, HL_E_TRANSPORT,
                            "aborted: the dispatcher's drain deadline passed");
                finish(d, x, &r); /* frees x only */
            }
        }
        for (x = d->xfers; x; x = next) {
            next = x->next;
            if (x->kind == XFER_TOKEN && !x->conf->waiters)
                xfer_free(d, x);
        }
    }
    return end_step(d, &p, progress, rc);
}

hl_code hl_dispatcher_send_test(hl_dispatcher *d, const char *url,
                                const hl_delivery_options *opts, const char *body,
                                size_t body_len, const char *msg_id, unsigned int flags,
                                hl_test_response *out, hl_error *err)
{
    hli_dconf *c = NULL;
    hli_xfer *x;
    hl_code rc;
    hl_dispatch_progress p;
    uint64_t give_up;
    if (!d || !url || !out || (!body && body_len))
        return fail(err, HL_E_INVALID_ARGUMENT, "send_test: NULL argument");
    if (flags & ~HL_TEST_STALE)
        return fail(err, HL_E_INVALID_ARGUMENT, "send_test: unknown flags");
    memset(out, 0, sizeof *out);
    if ((rc = hl_delivery_options_check(opts, err)) != HL_OK)
        return rc;
    if ((rc = hli_dconf_new(&c, "", opts, err)) != HL_OK)
        return rc;
    x = xfer_new(d, XFER_TEST, c);
    hli_dconf_release(c); /* the transfer holds it now */
    if (!x)
        return fail(err, HL_E_NOMEM, "out of memory");
    if (msg_id && msg_id[0]) {
        size_t n = strlen(msg_id);
        if (n >= HL_ID_MAX || strpbrk(msg_id, " \t\r\n")) {
            xfer_free(d, x);
            return fail(err, HL_E_INVALID_ARGUMENT, "send_test: bad message id");
        }
        memcpy(x->batch_id, msg_id, n + 1);
    } else if ((rc = hl_generate_id(x->batch_id, sizeof x->batch_id, "msg_", err)) != HL_OK) {
        xfer_free(d, x);
        return rc;
    }
    if ((x->url = strdup(url)) == NULL) {
        xfer_free(d, x);
        return fail(err, HL_E_NOMEM, "out of memory");
    }
    x->body = body;
    x->body_len = body_len;
    x->stale = (flags & HL_TEST_STALE) != 0;
    x->test_out = out;

    /* Engine transfers finishing meanwhile are reported as in a step. */
    hl_dispatch_progress *saved = d->progress;
    hl_error *saved_err = d->first_err;
    hl_code saved_rc = d->first_rc;
    begin_step(d, &p, NULL);
    /* a token request and the delivery, each within the timeout, and slack */
    give_up = monotonic_ms() + 2 * c->timeout_ms + 5000;
    begin(d, x);
    rc = HL_OK;
    while (rc == HL_OK && !x->test_done) {
        if (monotonic_ms() > give_up) {
            result r;
            result_init(&r, HL_FAILURE_TIMEOUT, HL_E_TRANSPORT, "test request did not finish");
            finish(d, x, &r);
            break;
        }
        rc = wait_io(d, 100, err);
    }
    d->progress = saved;
    d->first_err = saved_err;
    d->first_rc = saved_rc;
    xfer_free(d, x);
    return rc;
}
