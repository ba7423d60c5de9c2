/*
 * engine.c - the delivery engine: batches, their state machine, the timer
 * heap and the round-robin choice of what to send next.
 *
 * Every batch state change goes through batch_set_state() (curl's mstate()
 * idea): it moves the batch between the containers its states live in
 * (timer heap, ready FIFO, dead-letter list), keeps the counters and tells
 * the store. Nothing else writes b->state.
 */
#include "engine_internal.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATE_NAMES[HL_BATCH__SENTINEL] = {
    "open", "held", "queued", "in_flight", "retry_wait", "delivered", "dead_lettered"};

const char *hl_batch_state_name(int state)
{
    return state >= 0 && state < HL_BATCH__SENTINEL ? STATE_NAMES[state] : "unknown";
}

const char *hl_disabled_reason_name(int reason)
{
    static const char *const N[] = {"none", "user", "gone", "failing", "blocked"};
    return reason >= 0 && reason < HL_DISABLED__SENTINEL ? N[reason] : "unknown";
}

const char *hl_breaker_state_name(int state)
{
    static const char *const N[] = {"closed", "open", "half_open"};
    return state >= 0 && state < HL_BREAKER__SENTINEL ? N[state] : "unknown";
}

const char *hl_failure_class_name(int failure)
{
    static const char *const N[] = {"http", "dns", "connect", "tls", "timeout", "reset", "blocked"};
    return failure >= 0 && failure < HL_FAILURE__SENTINEL ? N[failure] : "unknown";
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------- the store */

static void batch_info(const hli_batch *b, hl_batch_info *out)
{
    out->batch_id = b->id;
    out->endpoint_id = b->endpoint_id;
    out->state = b->state;
    out->ordering_key = b->key;
    out->body = b->body;
    out->body_len = b->len;
    out->n_events = b->n_events;
    out->created_ms = b->created_ms;
    out->deadline_ms = b->deadline_ms;
    out->close_at_ms = b->close_at_ms;
    out->next_attempt_ms = b->next_attempt_ms;
    out->attempts = b->attempts;
    out->total_attempts = b->total_attempts;
    out->redrives = b->redrives;
    out->last_status = b->last_status;
    out->last_failure = b->last_failure;
    out->dead_reason = b->dead_reason;
    out->settled_ms = b->settled_ms;
}

/* Store hooks: a failure is remembered and surfaces when the call returns. */
static void store_batch(hl_engine *e, const hli_batch *b)
{
    if (e->restoring || !e->opts.store.batch_changed || e->store_rc)
        return;
    hl_batch_info info;
    batch_info(b, &info);
    e->store_rc = e->opts.store.batch_changed(e->opts.store.user, &info);
}

static void store_event(hl_engine *e, const hli_batch *b, const char *json, size_t len)
{
    if (e->restoring || !e->opts.store.event_added || e->store_rc)
        return;
    e->store_rc = e->opts.store.event_added(e->opts.store.user, b->id, json, len);
}

static void store_removed(hl_engine *e, const char *id)
{
    if (e->restoring || !e->opts.store.batch_removed || e->store_rc)
        return;
    e->store_rc = e->opts.store.batch_removed(e->opts.store.user, id);
}

static void store_endpoint(hl_engine *e, const hli_endpoint *ep)
{
    if (!e->opts.store.endpoint_changed || e->store_rc)
        return;
    e->store_rc = e->opts.store.endpoint_changed(e->opts.store.user, ep->id, ep->disabled);
}

/* Every public call that changes state is bracketed by enter/leave. */
static hl_code enter(hl_engine *e, uint64_t now_ms, hl_error *err)
{
    if (e->failed)
        return hli_fail(err, HL_E_ENGINE_FAILED,
                        "an earlier store failure stopped this engine; rebuild it from the store");
    if (now_ms > e->now)
        e->now = now_ms;
    e->store_rc = 0;
    hli_log_prune(e, e->now);
    if (e->opts.store.begin && e->opts.store.begin(e->opts.store.user) != 0) {
        e->failed = 1;
        return hli_fail(err, HL_E_STORE, "store begin failed");
    }
    return HL_OK;
}

static hl_code leave(hl_engine *e, hl_code rc, hl_error *err)
{
    if (!e->store_rc && e->opts.store.commit && e->opts.store.commit(e->opts.store.user) != 0)
        e->store_rc = -1;
    if (e->store_rc) {
        e->failed = 1;
        return hli_fail(err, HL_E_STORE, "the store failed to record a change");
    }
    return rc;
}

/* ---------------------------------------------------------- batch basics */

static void batch_free(hli_batch *b)
{
    free(b->endpoint_id);
    free(b->key);
    free(b->body);
    free(b);
}

static hli_batch *chain_remove(hli_endpoint *ep, hli_batch *b);
static hl_code apply_outcome(hl_engine *e, hli_batch *b, const hl_outcome *o, hl_error *err);
static int reserve_timers(hl_engine *e, size_t extra);
static void ep_kick(hl_engine *e, hli_endpoint *ep);

/* Forget a settled batch entirely (delivered, purged). */
static void batch_forget(hl_engine *e, hli_batch *b)
{
    hli_heap_disarm(&e->heap, &b->timer);
    hli_list_remove(&b->qlink);
    hli_map_del(&e->batches, b->id);
    e->stats.batches[b->state]--;
    store_removed(e, b->id);
    batch_free(b);
}

/* The batch leaves its endpoint for good. Returns the batch of the same
 * ordering key that may now go (HELD and now at the head), or NULL. */
static hli_batch *settle(hl_engine *e, hli_batch *b)
{
    hli_endpoint *ep = b->ep;
    hli_batch *next = NULL;
    b->settled_ms = e->now;
    e->stats.pending_events -= b->n_events;
    e->stats.pending_body_bytes -= b->len;
    if (ep) {
        if (ep->open == b)
            ep->open = NULL;
        next = chain_remove(ep, b);
        hli_list_remove(&b->ep_link);
        ep->n_pending--;
    }
    b->ep = NULL;
    return next && next->state == HL_BATCH_HELD ? next : NULL;
}

/*
 * batch_set_state - the only place a batch changes state. Leaves the old
 * state's containers, enters the new one's, keeps the counters, tells the
 * store. After HL_BATCH_DELIVERED the batch is freed.
 */
static void batch_set_state(hl_engine *e, hli_batch *b, hl_batch_state to)
{
    hl_batch_state from = b->state;
    hli_endpoint *ep = b->ep;
    hli_batch *next = NULL;

    /* leave */
    hli_heap_disarm(&e->heap, &b->timer);
    switch (from) {
    case HL_BATCH_QUEUED:
        hli_list_remove(&b->qlink);
        if (ep)
            ep->n_ready--;
        break;
    case HL_BATCH_IN_FLIGHT:
        e->in_flight--;
        if (ep)
            ep->in_flight--;
        break;
    case HL_BATCH_DEAD_LETTERED:
        hli_list_remove(&b->qlink);
        e->n_dlq--;
        break;
    case HL_BATCH_OPEN:
        if (ep && ep->open == b)
            ep->open = NULL;
        break;
    default:
        break;
    }
    if (from != HL_BATCH__SENTINEL) /* a new batch's first state */
        e->stats.batches[from]--;
    b->state = to;
    e->stats.batches[to]++;

    /* enter (timer arming can only fail on allocation: the heap grows in
     * batch_new, which reserves room for every batch's timer) */
    switch (to) {
    case HL_BATCH_OPEN: /* wait for linger */
        hli_heap_arm(&e->heap, &b->timer, b->close_at_ms);
        break;
    case HL_BATCH_HELD: /* only the deadline can move it before its turn */
        hli_heap_arm(&e->heap, &b->timer, b->deadline_ms + 1);
        break;
    case HL_BATCH_QUEUED: /* due: wait for capacity, until the deadline passes */
        b->due_ms = from == HL_BATCH_RETRY_WAIT ? b->next_attempt_ms : e->now;
        hli_list_push_back(&ep->ready, &b->qlink);
        ep->n_ready++;
        hli_heap_arm(&e->heap, &b->timer, b->deadline_ms + 1);
        ep_kick(e, ep);
        break;
    case HL_BATCH_IN_FLIGHT: /* the host has it; its outcome (or lease expiry) moves it */
        e->in_flight++;
        ep->in_flight++;
        b->attempts++;
        b->total_attempts++;
        b->sent_ms = e->now;
        e->stats.attempts++;
        if (e->opts.in_flight_lease_ms)
            hli_heap_arm(&e->heap, &b->timer, e->now + e->opts.in_flight_lease_ms);
        break;
    case HL_BATCH_RETRY_WAIT:
        hli_heap_arm(&e->heap, &b->timer, b->next_attempt_ms);
        break;
    case HL_BATCH_DELIVERED:
        next = settle(e, b);
        e->stats.batches_delivered++;
        store_batch(e, b);
        batch_forget(e, b);
        if (next) /* its key's next batch may go now */
            batch_set_state(e, next, HL_BATCH_QUEUED);
        return;
    case HL_BATCH_DEAD_LETTERED:
        next = settle(e, b);
        hli_list_push_back(&e->dlq, &b->qlink);
        e->n_dlq++;
        e->stats.batches_dead_lettered++;
        break;
    case HL_BATCH__SENTINEL:
        break;
    }
    store_batch(e, b);
    if (next)
        batch_set_state(e, next, HL_BATCH_QUEUED);
}

static void dead_letter(hl_engine *e, hli_batch *b, const char *reason)
{
    b->dead_reason = reason;
    batch_set_state(e, b, HL_BATCH_DEAD_LETTERED);
}

/* ------------------------------------------------------- ordering chains */

static hli_keychain *chain_get(hli_endpoint *ep, const char *key, int create)
{
    hli_keychain *c = hli_map_get(&ep->chains, key);
    if (c || !create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c || !(c->key = dup_str(key)) || hli_map_put(&ep->chains, c->key, c) != 0) {
        if (c)
            free(c->key);
        free(c);
        return NULL;
    }
    hli_list_init(&c->batches);
    return c;
}

static hli_batch *chain_head(hli_keychain *c)
{
    hli_link *l = hli_list_first(&c->batches);
    return l ? HLI_CONTAINER_OF(l, hli_batch, key_link) : NULL;
}

/* Take `b` out of its chain (freed when empty); returns the new head. */
static hli_batch *chain_remove(hli_endpoint *ep, hli_batch *b)
{
    hli_keychain *c = b->chain;
    if (!c)
        return NULL;
    hli_list_remove(&b->key_link);
    b->chain = NULL;
    hli_batch *head = chain_head(c);
    if (!head) {
        hli_map_del(&ep->chains, c->key);
        free(c->key);
        free(c);
    }
    return head;
}

/* A batch stops collecting: due now, or held behind its key's predecessor. */
static void batch_close(hl_engine *e, hli_batch *b)
{
    hli_endpoint *ep = b->ep;
    if (ep->open == b)
        ep->open = NULL;
    /* The body is final now: give back the growth slack. */
    if (b->cap > b->len) {
        char *p = realloc(b->body, b->len);
        if (p) {
            b->body = p;
            b->cap = b->len;
        }
    }
    if (b->chain && chain_head(b->chain) != b)
        batch_set_state(e, b, HL_BATCH_HELD);
    else
        batch_set_state(e, b, HL_BATCH_QUEUED);
}

/* ------------------------------------------------------------ endpoints */

static void ep_kick(hl_engine *e, hli_endpoint *ep)
{
    if (ep && ep->disabled == HL_DISABLED_NONE && ep->n_ready &&
        !hli_link_linked(&ep->ring_link) && ep->wake.idx == HLI_TIMER_IDLE)
        hli_list_push_back(&e->ring, &ep->ring_link);
}

static void ep_disable(hl_engine *e, hli_endpoint *ep, hl_disabled_reason why)
{
    if (ep->disabled == why)
        return;
    ep->disabled = why;
    hli_list_remove(&ep->ring_link);
    hli_heap_disarm(&e->heap, &ep->wake);
    store_endpoint(e, ep);
}

static void ep_enable(hl_engine *e, hli_endpoint *ep)
{
    int changed = ep->disabled != HL_DISABLED_NONE;
    ep->disabled = HL_DISABLED_NONE;
    hli_ep_reset_health(ep, e->now);
    ep_kick(e, ep);
    if (changed)
        store_endpoint(e, ep);
}

static int route_add(hl_engine *e, const char *pattern, hli_endpoint *ep)
{
    hli_route *r = hli_map_get(&e->routes, pattern);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r || !(r->pattern = dup_str(pattern)) || hli_map_put(&e->routes, r->pattern, r)) {
            if (r)
                free(r->pattern);
            free(r);
            return -1;
        }
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->eps[i] == ep)
            return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        hli_endpoint **eps = realloc(r->eps, cap * sizeof *eps);
        if (!eps)
            return -1;
        r->eps = eps;
        r->cap = cap;
    }
    r->eps[r->n++] = ep;
    return 0;
}

static void route_del(hl_engine *e, const char *pattern, hli_endpoint *ep)
{
    hli_route *r = hli_map_get(&e->routes, pattern);
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (r->eps[i] == ep) {
            memmove(&r->eps[i], &r->eps[i + 1], (r->n - i - 1) * sizeof *r->eps);
            r->n--;
            break;
        }
    if (r->n == 0) {
        hli_map_del(&e->routes, pattern);
        free(r->pattern);
        free(r->eps);
        free(r);
    }
}

static void routes_unindex(hl_engine *e, hli_endpoint *ep)
{
    if (ep->opts.n_filters == 0)
        route_del(e, "*", ep);
    for (size_t i = 0; i < ep->opts.n_filters; i++)
        route_del(e, ep->filters[i], ep);
}

static int routes_index(hl_engine *e, hli_endpoint *ep)
{
    if (ep->opts.n_filters == 0)
        return route_add(e, "*", ep);
    for (size_t i = 0; i < ep->opts.n_filters; i++)
        if (route_add(e, ep->filters[i], ep) != 0)
            return -1;
    return 0;
}

static void ep_free_strings(char *url, char **filters, size_t n)
{
    free(url);
    if (filters)
        for (size_t i = 0; i < n; i++)
            free(filters[i]);
    free(filters);
}

/* Copy options and their strings; the endpoint is untouched on failure. */
static hl_code ep_set_options(hli_endpoint *ep, const hl_endpoint_options *o, hl_error *err)
{
    char *url = dup_str(o->url);
    char **filters = o->n_filters ? calloc(o->n_filters, sizeof *filters) : NULL;
    if (!url || (o->n_filters && !filters)) {
        ep_free_strings(url, filters, 0);
        return hli_fail(err, HL_E_NOMEM, "out of memory copying endpoint options");
    }
    for (size_t i = 0; i < o->n_filters; i++)
        if (!(filters[i] = dup_str(o->filters[i]))) {
            ep_free_strings(url, filters, o->n_filters);
            return hli_fail(err, HL_E_NOMEM, "out of memory copying endpoint options");
        }
    ep_free_strings(ep->url, ep->filters, ep->opts.n_filters);
    ep->url = url;
    ep->filters = filters;
    ep->opts = *o;
    ep->opts.url = url;
    ep->opts.filters = (const char *const *)filters;
    if (ep->opts.n_schedule == 0) {
        static const uint64_t DEF[] = {5000, 300000, 1800000, 7200000, 18000000};
        memcpy(ep->opts.schedule_ms, DEF, sizeof DEF);
        ep->opts.n_schedule = 5;
    }
    return HL_OK;
}

hl_code hl_endpoint_add(hl_engine *e, const char *endpoint_id, const hl_endpoint_options *opts,
                        uint64_t now_ms, hl_error *err)
{
    if (!e || !endpoint_id)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint_add: NULL argument");
    if (!*endpoint_id || strlen(endpoint_id) >= HL_ENGINE_ID_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint id must be 1-%d bytes",
                        HL_ENGINE_ID_MAX - 1);
    hl_code rc = hli_endpoint_options_check(opts, err);
    if (rc)
        return rc;
    if (hli_map_get(&e->endpoints, endpoint_id))
        return hli_fail(err, HL_E_ENDPOINT_EXISTS, "endpoint \"%s\" already exists", endpoint_id);
    if ((rc = enter(e, now_ms, err)))
        return rc;
    hli_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep || !(ep->id = dup_str(endpoint_id)) || reserve_timers(e, 1) != 0)
        goto nomem;
    if (ep_set_options(ep, opts, err))
        goto nomem;
    hli_list_init(&ep->ready);
    hli_list_init(&ep->pending);
    hli_timer_init(&ep->wake, HLI_TIMER_ENDPOINT);
    hli_ep_reset_health(ep, e->now);
    ep->disabled = opts->active ? HL_DISABLED_NONE : HL_DISABLED_USER;
    if (hli_map_put(&e->endpoints, ep->id, ep) != 0)
        goto nomem;
    if (routes_index(e, ep) != 0) {
        routes_unindex(e, ep);
        hli_map_del(&e->endpoints, ep->id);
        goto nomem;
    }
    hli_list_push_back(&e->all_endpoints, &ep->all_link);
    e->stats.endpoints++;
    return leave(e, HL_OK, err);
nomem:
    if (ep) {
        ep_free_strings(ep->url, ep->filters, ep->opts.n_filters);
        free(ep->id);
        free(ep);
    }
    return leave(e, hli_fail(err, HL_E_NOMEM, "out of memory adding an endpoint"), err);
}

static hli_endpoint *ep_find(hl_engine *e, const char *id, hl_error *err, hl_code *rc)
{
    hli_endpoint *ep = (e && id) ? hli_map_get(&e->endpoints, id) : NULL;
    if (!ep)
        *rc = hli_fail(err, e && id ? HL_E_ENDPOINT_UNKNOWN : HL_E_INVALID_ARGUMENT,
                       "no endpoint \"%s\"", id ? id : "(null)");
    return ep;
}

hl_code hl_endpoint_update(hl_engine *e, const char *endpoint_id, const hl_endpoint_options *opts,
                           uint64_t now_ms, hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep)
        return rc;
    if ((rc = hli_endpoint_options_check(opts, err)))
        return rc;
    if ((rc = enter(e, now_ms, err)))
        return rc;
    routes_unindex(e, ep);
    if ((rc = ep_set_options(ep, opts, err)) || routes_index(e, ep) != 0) {
        routes_index(e, ep);
        return leave(e, rc ? rc : hli_fail(err, HL_E_NOMEM, "out of memory"), err);
    }
    /* Open batches were sized for the old limits: close them. */
    if (ep->open)
        batch_close(e, ep->open);
    /* Existing ordering chains keep their order; new events follow the new
     * ordering mode. */
    if (!ep->throttled)
        ep->eff_rate = ep->opts.rate_per_s;
    if (opts->active && ep->disabled == HL_DISABLED_USER)
        ep_enable(e, ep);
    else if (!opts->active)
        ep_disable(e, ep, HL_DISABLED_USER);
    ep_kick(e, ep);
    return leave(e, HL_OK, err);
}

hl_code hl_endpoint_enable(hl_engine *e, const char *endpoint_id, uint64_t now_ms, hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep || (rc = enter(e, now_ms, err)))
        return rc;
    ep_enable(e, ep);
    return leave(e, HL_OK, err);
}

hl_code hl_endpoint_set_disabled(hl_engine *e, const char *endpoint_id,
                                 hl_disabled_reason reason, uint64_t now_ms, hl_error *err)
{
    hl_code rc = HL_OK;
    if ((int)reason < 0 || reason >= HL_DISABLED__SENTINEL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "not a disabled reason: %d", (int)reason);
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep || (rc = enter(e, now_ms, err)))
        return rc;
    if (reason == HL_DISABLED_NONE)
        ep_enable(e, ep);
    else
        ep_disable(e, ep, reason);
    return leave(e, HL_OK, err);
}

hl_code hl_endpoint_disable(hl_engine *e, const char *endpoint_id, uint64_t now_ms, hl_error *err)
{
    return hl_endpoint_set_disabled(e, endpoint_id, HL_DISABLED_USER, now_ms, err);
}

static void ep_destroy(hl_engine *e, hli_endpoint *ep)
{
    hli_list_remove(&ep->ring_link);
    hli_list_remove(&ep->all_link);
    hli_heap_disarm(&e->heap, &ep->wake);
    for (size_t i = 0; i < ep->chains.cap; i++)
        if (ep->chains.slots[i].hash > 1) {
            hli_keychain *c = ep->chains.slots[i].value;
            free(c->key);
            free(c);
        }
    hli_map_free(&ep->chains);
    ep_free_strings(ep->url, ep->filters, ep->opts.n_filters);
    free(ep->id);
    free(ep);
}

hl_code hl_endpoint_remove(hl_engine *e, const char *endpoint_id, uint64_t now_ms, hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep || (rc = enter(e, now_ms, err)))
        return rc;
    /* Bounded: every iteration takes one batch off the pending list. */
    hli_link *l;
    while ((l = hli_list_first(&ep->pending)) != NULL) {
        hli_batch *b = HLI_CONTAINER_OF(l, hli_batch, ep_link);
        if (b->state == HL_BATCH_IN_FLIGHT) {
            /* Detach: its outcome still settles it (delivered or dead). */
            chain_remove(ep, b);
            hli_list_remove(&b->ep_link);
            ep->n_pending--;
            ep->in_flight--;
            b->ep = NULL;
        } else {
            dead_letter(e, b, "endpoint_removed");
        }
    }
    routes_unindex(e, ep);
    hli_map_del(&e->endpoints, ep->id);
    e->stats.endpoints--;
    ep_destroy(e, ep);
    return leave(e, HL_OK, err);
}

/* Drop one batch from memory only: no store call, no state change. */
static void batch_drop(hl_engine *e, hli_batch *b)
{
    hli_heap_disarm(&e->heap, &b->timer);
    hli_list_remove(&b->qlink);
    if (b->state == HL_BATCH_DEAD_LETTERED)
        e->n_dlq--;
    else {
        e->stats.pending_events -= b->n_events;
        e->stats.pending_body_bytes -= b->len;
    }
    hli_map_del(&e->batches, b->id);
    e->stats.batches[b->state]--;
    batch_free(b);
}

hl_code hl_endpoint_release(hl_engine *e, const char *endpoint_id, hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep)
        return rc;
    if (e->failed)
        return hli_fail(err, HL_E_ENGINE_FAILED, "engine stopped after a store failure");
    if (ep->in_flight > 0)
        return hli_fail(err, HL_E_BATCH_STATE, "endpoint \"%.64s\" has %u batches in flight",
                        endpoint_id, ep->in_flight);
    /* Bounded: every iteration takes one batch off a list. */
    hli_link *l;
    while ((l = hli_list_first(&ep->pending)) != NULL) {
        hli_batch *b = HLI_CONTAINER_OF(l, hli_batch, ep_link);
        if (ep->open == b)
            ep->open = NULL;
        chain_remove(ep, b);
        hli_list_remove(&b->ep_link);
        ep->n_pending--;
        if (b->state == HL_BATCH_QUEUED)
            ep->n_ready--;
        batch_drop(e, b);
    }
    for (l = e->dlq.next; l != &e->dlq;) {
        hli_batch *b = HLI_CONTAINER_OF(l, hli_batch, qlink);
        l = l->next;
        if (b->endpoint_id && strcmp(b->endpoint_id, ep->id) == 0)
            batch_drop(e, b);
    }
    routes_unindex(e, ep);
    hli_map_del(&e->endpoints, ep->id);
    e->stats.endpoints--;
    ep_destroy(e, ep);
    return HL_OK;
}

hl_code hl_endpoint_info_get(hl_engine *e, const char *endpoint_id, hl_endpoint_info *out,
                             hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep)
        return rc;
    if (!out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint_info_get: NULL out");
    out->endpoint_id = ep->id;
    out->url = ep->url;
    out->disabled = ep->disabled;
    out->breaker = ep->breaker;
    out->breaker_trips = ep->trips;
    out->in_flight = ep->in_flight;
    out->queued = ep->n_ready;
    out->pending_batches = ep->n_pending;
    out->effective_rate = hli_ep_rate_now(ep, e->now);
    out->failing_since_ms = ep->failing_since;
    return HL_OK;
}

void hl_endpoint_list(hl_engine *e, size_t offset, const char **ids, size_t cap, size_t *n_out)
{
    size_t n = 0, i = 0;
    if (e && ids)
        for (hli_link *l = e->all_endpoints.next; l != &e->all_endpoints && n < cap;
             l = l->next, i++)
            if (i >= offset)
                ids[n++] = HLI_CONTAINER_OF(l, hli_endpoint, all_link)->id;
    if (n_out)
        *n_out = n;
}

/* ---------------------------------------------------------------- engine */

hl_code hl_engine_new(hl_engine **out, const hl_engine_options *opts, hl_error *err)
{
    hl_engine_options def = HL_ENGINE_OPTIONS_INIT;
    if (!out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "engine_new: NULL out");
    if (!opts)
        opts = &def;
    if (opts->version != HL_ENGINE_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "engine options: bad version %u",
                        opts->version);
    uint64_t seed = opts->seed;
    if (seed == 0 && RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        return hli_fail_openssl(err, "seeding the engine RNG");
    hl_engine *e = calloc(1, sizeof *e);
    if (!e)
        return hli_fail(err, HL_E_NOMEM, "out of memory creating the engine");
    e->opts = *opts;
    hli_rng_seed(&e->rng, seed);
    hli_rng_seed(&e->id_rng, seed ^ 0x5bd1e9955bd1e995ull);
    hli_list_init(&e->all_endpoints);
    hli_list_init(&e->ring);
    hli_list_init(&e->dlq);
    *out = e;
    return HL_OK;
}

void hl_engine_free(hl_engine *e)
{
    if (!e)
        return;
    /* Empty the heap first: its nodes live inside the batches and endpoints
     * freed below. */
    for (size_t i = 0; i < e->heap.len; i++)
        e->heap.items[i]->idx = HLI_TIMER_IDLE;
    e->heap.len = 0;
    for (size_t i = 0; i < e->batches.cap; i++)
        if (e->batches.slots[i].hash > 1)
            batch_free(e->batches.slots[i].value);
    hli_map_free(&e->batches);
    hli_link *l;
    while ((l = hli_list_first(&e->all_endpoints)) != NULL)
        ep_destroy(e, HLI_CONTAINER_OF(l, hli_endpoint, all_link));
    hli_map_free(&e->endpoints);
    for (size_t i = 0; i < e->routes.cap; i++)
        if (e->routes.slots[i].hash > 1) {
            hli_route *r = e->routes.slots[i].value;
            free(r->pattern);
            free(r->eps);
            free(r);
        }
    hli_map_free(&e->routes);
    hli_heap_free(&e->heap);
    hli_log_free(e);
    free(e);
}

/* -------------------------------------------------------------- enqueue */

/* Every batch and endpoint owns one timer: keep the heap big enough for
 * all of them, so arming a timer later cannot fail. */
static int reserve_timers(hl_engine *e, size_t extra)
{
    size_t need = e->batches.len + e->stats.endpoints + extra + 1;
    if (need <= e->heap.cap)
        return 0;
    size_t cap = e->heap.cap ? e->heap.cap : 64;
    while (cap < need)
        cap *= 2;
    hli_timer **items = realloc(e->heap.items, cap * sizeof *items);
    if (!items)
        return -1;
    e->heap.items = items;
    e->heap.cap = cap;
    return 0;
}

/* A new, empty batch registered with its endpoint (and key chain); not yet
 * in a state container. */
static hli_batch *batch_new(hl_engine *e, hli_endpoint *ep, const char *key, const char *id)
{
    hli_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    hli_timer_init(&b->timer, HLI_TIMER_BATCH);
    if (!(b->endpoint_id = dup_str(ep ? ep->id : "")) || (key && !(b->key = dup_str(key))))
        goto fail;
    if (id) {
        memcpy(b->id, id, strlen(id) + 1);
    } else {
        /* 130 random bits: a collision is astronomically unlikely, but the
         * map check makes it impossible. */
        for (int tries = 0; tries < 8; tries++) {
            hli_rng_id(&e->id_rng, "bat_", b->id);
            if (!hli_map_get(&e->batches, b->id))
                break;
        }
    }
    if (reserve_timers(e, 1) != 0)
        goto fail;
    if (hli_map_put(&e->batches, b->id, b) != 0)
        goto fail;
    b->state = HL_BATCH__SENTINEL; /* not counted until its first state */
    return b;
fail:
    batch_free(b);
    return NULL;
}

/* Attach a new batch to its endpoint's pending list and key chain. */
static int batch_attach(hli_endpoint *ep, hli_batch *b)
{
    if (b->key && ep->opts.ordering == HL_ORDERING_KEY) {
        hli_keychain *c = chain_get(ep, b->key, 1);
        if (!c)
            return -1;
        hli_list_push_back(&c->batches, &b->key_link);
        b->chain = c;
    }
    b->ep = ep;
    hli_list_push_back(&ep->pending, &b->ep_link);
    ep->n_pending++;
    return 0;
}

static int body_reserve(hli_batch *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->body, cap);
    if (!p)
        return -1;
    b->body = p;
    b->cap = cap;
    return 0;
}

/* The batch an event for (ep, key) goes into: the open one if it can take
 * `len` more bytes, else a new one (closing the full one). */
static hli_batch *open_batch_for(hl_engine *e, hli_endpoint *ep, const char *key, size_t len)
{
    const hl_endpoint_options *o = &ep->opts;
    int ordered = key && o->ordering == HL_ORDERING_KEY;
    hli_batch *b = NULL;
    if (ordered) {
        hli_keychain *c = chain_get(ep, key, 0);
        hli_link *tail = c && !hli_list_empty(&c->batches) ? c->batches.prev : NULL;
        hli_batch *t = tail ? HLI_CONTAINER_OF(tail, hli_batch, key_link) : NULL;
        if (t && t->state == HL_BATCH_OPEN)
            b = t;
    } else {
        b = ep->open;
    }
    /* Full, or past its linger time even if no next_action call has closed
     * it yet: batching must not depend on how often the host polls. */
    if (b && (b->n_events >= o->max_events || b->len + 1 + len > o->max_bytes ||
              b->close_at_ms <= e->now)) {
        batch_close(e, b);
        b = NULL;
    }
    if (b)
        return b;
    b = batch_new(e, ep, ordered ? key : NULL, NULL);
    if (!b)
        return NULL;
    if (batch_attach(ep, b) != 0 || body_reserve(b, len + 2) != 0) {
        hli_list_remove(&b->ep_link);
        chain_remove(ep, b);
        ep->n_pending--;
        hli_map_del(&e->batches, b->id);
        batch_free(b);
        return NULL;
    }
    b->body[0] = '[';
    b->body[1] = ']';
    b->len = 2;
    b->unbatched = o->unbatched;
    b->created_ms = e->now;
    b->deadline_ms = e->now + o->deadline_ms;
    b->close_at_ms = e->now + o->linger_ms;
    e->stats.pending_body_bytes += 2;
    batch_set_state(e, b, HL_BATCH_OPEN);
    if (!ordered)
        ep->open = b;
    return b;
}

static hl_code append_event(hl_engine *e, hli_endpoint *ep, const char *key, const char *json,
                            size_t len, hl_error *err)
{
    const hl_endpoint_options *o = &ep->opts;
    hli_batch *b = open_batch_for(e, ep, key, len);
    if (!b || body_reserve(b, b->len + len + 1) != 0)
        return hli_fail(err, HL_E_NOMEM, "out of memory batching an event");
    if (o->unbatched) {
        /* One event per request: the body is the bare object. */
        memcpy(b->body, json, len);
        e->stats.pending_body_bytes += len - b->len;
        b->len = len;
    } else {
        size_t at = b->len - 1; /* overwrite the closing ']' */
        if (b->n_events)
            b->body[at++] = ',';
        memcpy(b->body + at, json, len);
        at += len;
        b->body[at++] = ']';
        e->stats.pending_body_bytes += at - b->len;
        b->len = at;
    }
    b->n_events++;
    e->stats.pending_events++;
    e->stats.events_enqueued++;
    store_event(e, b, json, len);
    if (o->unbatched || b->n_events >= o->max_events || b->len + 2 > o->max_bytes ||
        o->linger_ms == 0)
        batch_close(e, b);
    return HL_OK;
}

/* Per-target payloads of one enqueue: computed before anything changes. */
struct target {
    hli_endpoint *ep;
    char *json; /* NULL: use the default serialisation */
    size_t len;
};

static hl_code add_target(struct target **ts, size_t *n, size_t *cap, hli_endpoint *ep,
                          hl_error *err)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct target *t = realloc(*ts, c * sizeof *t);
        if (!t)
            return hli_fail(err, HL_E_NOMEM, "out of memory routing an event");
        *ts = t;
        *cap = c;
    }
    (*ts)[(*n)++] = (struct target){ep, NULL, 0};
    return HL_OK;
}

static int ep_filter_match(const hli_endpoint *ep, const char *type)
{
    if (ep->opts.n_filters == 0)
        return 1;
    for (size_t i = 0; i < ep->opts.n_filters; i++)
        if (hl_event_filter_match(ep->filters[i], type))
            return 1;
    return 0;
}

static hl_code collect_route(hl_engine *e, const char *pattern, struct target **ts, size_t *n,
                             size_t *cap, hl_error *err)
{
    hli_route *r = hli_map_get(&e->routes, pattern);
    if (!r)
        return HL_OK;
    for (size_t i = 0; i < r->n; i++) {
        hli_endpoint *ep = r->eps[i];
        if (ep->disabled != HL_DISABLED_NONE || ep->route_stamp == e->route_stamp)
            continue;
        ep->route_stamp = e->route_stamp;
        hl_code rc = add_target(ts, n, cap, ep, err);
        if (rc)
            return rc;
    }
    return HL_OK;
}

/* Which endpoints get this event: the filter index (exact type, each
 * "prefix.*" of it, "*"), or every active endpoint through the callback. */
static hl_code route_event(hl_engine *e, const hl_event *ev, struct target **ts, size_t *n,
                           size_t *cap, hl_error *err)
{
    e->route_stamp++;
    if (e->opts.route) {
        hli_link *l;
        for (l = e->all_endpoints.next; l != &e->all_endpoints; l = l->next) {
            hli_endpoint *ep = HLI_CONTAINER_OF(l, hli_endpoint, all_link);
            if (ep->disabled != HL_DISABLED_NONE)
                continue;
            int r = e->opts.route(e->opts.callback_user, ev, ep->id, ep_filter_match(ep, ev->type));
            if (r < 0)
                return hli_fail(err, HL_E_CALLBACK, "the route callback failed for endpoint \"%s\"",
                                ep->id);
            if (r > 0) {
                hl_code rc = add_target(ts, n, cap, ep, err);
                if (rc)
                    return rc;
            }
        }
        return HL_OK;
    }
    hl_code rc = collect_route(e, ev->type, ts, n, cap, err);
    char pat[HL_ENGINE_ID_MAX + 2];
    size_t tlen = strlen(ev->type);
    for (size_t i = 0; !rc && i < tlen; i++)
        if (ev->type[i] == '.') {
            memcpy(pat, ev->type, i + 1);
            pat[i + 1] = '*';
            pat[i + 2] = '\0';
            rc = collect_route(e, pat, ts, n, cap, err);
        }
    if (!rc)
        rc = collect_route(e, "*", ts, n, cap, err);
    return rc;
}

static hl_code enqueue(hl_engine *e, hli_endpoint *direct, const hl_event *ev, uint64_t now_ms,
                       size_t *routed, char *id_out, size_t id_cap, hl_error *err)
{
    char id[HL_ENGINE_ID_MAX];
    char *json = NULL;
    size_t len = 0, n = 0, cap = 0;
    struct target *ts = NULL;
    hl_code rc;

    if (routed)
        *routed = 0;
    if ((rc = enter(e, now_ms, err)))
        return rc;
    if ((rc = hli_event_serialize(e, ev, e->now, id, &json, &len, err)))
        goto done;
    if (id_out && strlen(id) + 1 > id_cap) {
        rc = hli_fail(err, HL_E_BUFFER_TOO_SMALL, "event id needs %zu bytes", strlen(id) + 1);
        goto done;
    }
    hl_event resolved = *ev; /* the route callback sees the id, generated or given */
    resolved.id = id;
    rc = direct ? add_target(&ts, &n, &cap, direct, err)
                : route_event(e, &resolved, &ts, &n, &cap, err);
    if (rc)
        goto done;

    /* Check everything before changing anything: all or nothing. */
    for (size_t i = 0; i < n; i++) {
        hli_endpoint *ep = ts[i].ep;
        size_t blen = len;
        if (e->opts.transform) {
            const char *tj = NULL;
            size_t tl = 0;
            if (e->opts.transform(e->opts.callback_user, ep->id, json, len, &tj, &tl) != 0) {
                rc = hli_fail(err, HL_E_CALLBACK, "the transform callback failed for endpoint \"%s\"",
                              ep->id);
                goto done;
            }
            if (tj) {
                json_t *chk = json_loadb(tj, tl, JSON_DECODE_ANY, NULL);
                if (!chk) {
                    rc = hli_fail(err, HL_E_CALLBACK,
                                  "the transform callback returned invalid JSON for endpoint \"%s\"",
                                  ep->id);
                    goto done;
                }
                json_decref(chk);
                if (!(ts[i].json = malloc(tl ? tl : 1))) {
                    rc = hli_fail(err, HL_E_NOMEM, "out of memory");
                    goto done;
                }
                memcpy(ts[i].json, tj, tl);
                ts[i].len = tl;
                blen = tl;
            }
        }
        size_t overhead = ep->opts.unbatched ? 0 : 2;
        if (blen + overhead > ep->opts.max_bytes) {
            rc = hli_fail(err, HL_E_EVENT_TOO_LARGE,
                          "event %s is %zu bytes; endpoint \"%s\" accepts at most %zu per batch",
                          id, blen, ep->id, ep->opts.max_bytes - overhead);
            goto done;
        }
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = append_event(e, ts[i].ep, ev->ordering_key, ts[i].json ? ts[i].json : json,
                          ts[i].json ? ts[i].len : len, err);
    if (!rc) {
        if (routed)
            *routed = n;
        if (id_out)
            memcpy(id_out, id, strlen(id) + 1);
    }
done:
    for (size_t i = 0; i < n; i++)
        free(ts[i].json);
    free(ts);
    free(json);
    return leave(e, rc, err);
}

hl_code hl_engine_enqueue(hl_engine *e, const hl_event *event, uint64_t now_ms, size_t *routed,
                          char *id_out, size_t id_cap, hl_error *err)
{
    if (!e || !event)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "enqueue: NULL argument");
    return enqueue(e, NULL, event, now_ms, routed, id_out, id_cap, err);
}

hl_code hl_engine_enqueue_to(hl_engine *e, const char *endpoint_id, const hl_event *event,
                             uint64_t now_ms, char *id_out, size_t id_cap, hl_error *err)
{
    hl_code rc = HL_OK;
    hli_endpoint *ep = ep_find(e, endpoint_id, err, &rc);
    if (!ep)
        return rc;
    if (!event)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "enqueue_to: NULL event");
    return enqueue(e, ep, event, now_ms, NULL, id_out, id_cap, err);
}

hl_code hl_engine_flush(hl_engine *e, uint64_t now_ms, hl_error *err)
{
    if (!e)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "flush: NULL engine");
    hl_code rc = enter(e, now_ms, err);
    if (rc)
        return rc;
    for (hli_link *l = e->all_endpoints.next; l != &e->all_endpoints; l = l->next) {
        hli_endpoint *ep = HLI_CONTAINER_OF(l, hli_endpoint, all_link);
        /* Closing does not remove a batch from the pending list, so a plain
         * walk is safe. */
        for (hli_link *p = ep->pending.next; p != &ep->pending; p = p->next) {
            hli_batch *b = HLI_CONTAINER_OF(p, hli_batch, ep_link);
            if (b->state == HL_BATCH_OPEN)
                batch_close(e, b);
        }
    }
    return leave(e, HL_OK, err);
}

/* ---------------------------------------------------------- next action */

static void fire_timers(hl_engine *e)
{
    hli_timer *t;
    /* Bounded: each firing moves a batch forward in its life or clears an
     * endpoint's wake-up; re-armed timers are later than now or belong to a
     * batch that is then settled. */
    while ((t = hli_heap_top(&e->heap)) != NULL && t->at <= e->now) {
        hli_heap_disarm(&e->heap, t);
        if (t->kind == HLI_TIMER_ENDPOINT) {
            ep_kick(e, HLI_CONTAINER_OF(t, hli_endpoint, wake));
            continue;
        }
        hli_batch *b = HLI_CONTAINER_OF(t, hli_batch, timer);
        switch (b->state) {
        case HL_BATCH_OPEN:
            batch_close(e, b);
            break;
        case HL_BATCH_RETRY_WAIT:
            if (b->chain && chain_head(b->chain) != b)
                batch_set_state(e, b, HL_BATCH_HELD);
            else
                batch_set_state(e, b, HL_BATCH_QUEUED);
            break;
        case HL_BATCH_QUEUED:
        case HL_BATCH_HELD:
            dead_letter(e, b, "deadline");
            break;
        case HL_BATCH_IN_FLIGHT: { /* the host never answered: a timeout */
            hl_outcome o = HL_OUTCOME_INIT;
            o.failure = HL_FAILURE_TIMEOUT;
            o.latency_ms = e->opts.in_flight_lease_ms;
            o.body_excerpt = "in-flight lease expired";
            o.body_excerpt_len = strlen(o.body_excerpt);
            apply_outcome(e, b, &o, NULL);
            break;
        }
        default:
            break;
        }
    }
}

hl_code hl_engine_next_action(hl_engine *e, uint64_t now_ms, hl_action *a, hl_error *err)
{
    if (!e || !a)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "next_action: NULL argument");
    memset(a, 0, sizeof *a);
    hl_code rc = enter(e, now_ms, err);
    if (rc)
        return rc;
    fire_timers(e);

    if (!e->opts.max_in_flight || e->in_flight < e->opts.max_in_flight) {
        /* Round-robin: the head endpoint sends one batch and goes to the
         * back. An endpoint that cannot send leaves the ring until an outcome
         * or its wake-up timer brings it back, so each step is O(1)
         * amortised and a stuck endpoint costs the others nothing. */
        hli_link *l;
        while ((l = hli_list_first(&e->ring)) != NULL) {
            hli_endpoint *ep = HLI_CONTAINER_OF(l, hli_endpoint, ring_link);
            hli_list_remove(l);
            uint64_t wake_at;
            if (!ep->n_ready)
                continue;
            if (!hli_ep_can_send(e, ep, e->now, &wake_at)) {
                if (wake_at)
                    hli_heap_arm(&e->heap, &ep->wake, wake_at);
                continue;
            }
            hli_batch *b = HLI_CONTAINER_OF(hli_list_first(&ep->ready), hli_batch, qlink);
            hli_ep_took(ep, b);
            uint64_t due = b->due_ms;
            batch_set_state(e, b, HL_BATCH_IN_FLIGHT);
            ep_kick(e, ep);
            a->kind = HL_ACTION_SEND;
            a->at_ms = due;
            a->batch_id = b->id;
            a->endpoint_id = ep->id;
            a->url = ep->url;
            a->body = b->body;
            a->body_len = b->len;
            a->n_events = b->n_events;
            a->attempt = b->attempts;
            a->deadline_ms = b->deadline_ms;
            a->sparkpost_compat = ep->opts.sparkpost_compat;
            return leave(e, HL_OK, err);
        }
    }
    hli_timer *t = hli_heap_top(&e->heap);
    if (t) {
        a->kind = HL_ACTION_WAIT;
        a->at_ms = t->at;
    } else {
        a->kind = HL_ACTION_IDLE;
    }
    return leave(e, HL_OK, err);
}

/* ------------------------------------------------------------- outcomes */

static uint64_t scheduled_delay(hl_engine *e, const hl_endpoint_options *o, unsigned int attempt)
{
    size_t i = attempt ? attempt - 1 : 0;
    if (i >= o->n_schedule)
        i = o->n_schedule - 1;
    uint64_t d = o->schedule_ms[i];
    uint64_t spread = d / 100 * o->jitter_pct + d % 100 * o->jitter_pct / 100;
    if (spread) /* uniform in [d - spread, d + spread] */
        d = d - spread + hli_rng_below(&e->rng, 2 * spread + 1);
    return d;
}

static int is_delivered(const hli_endpoint *ep, const hl_outcome *o)
{
    if (o->failure != HL_FAILURE_NONE)
        return 0;
    if (ep && ep->opts.sparkpost_compat)
        return o->status == 200;
    return o->status >= 200 && o->status <= 299;
}

hl_code hl_engine_report_outcome(hl_engine *e, const char *batch_id, const hl_outcome *o,
                                 uint64_t now_ms, hl_error *err)
{
    if (!e || !batch_id || !o)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "report_outcome: NULL argument");
    if (o->version != HL_OUTCOME_VERSION || (int)o->failure < 0 ||
        o->failure >= HL_FAILURE__SENTINEL || o->status < 0 || o->status > 999)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "report_outcome: bad outcome");
    hli_batch *b = hli_map_get(&e->batches, batch_id);
    if (!b)
        return hli_fail(err, HL_E_BATCH_UNKNOWN, "no batch \"%s\"", batch_id);
    if (b->state != HL_BATCH_IN_FLIGHT)
        return hli_fail(err, HL_E_BATCH_STATE, "batch \"%s\" is %s, not in flight", batch_id,
                        hl_batch_state_name(b->state));
    hl_code rc = enter(e, now_ms, err);
    if (rc)
        return rc;
    return leave(e, apply_outcome(e, b, o, err), err);
}

/* The policy for one finished attempt of in-flight batch `b` (reported by
 * the host, or its lease expired). Returns HL_OK or HL_E_CALLBACK. */
static hl_code apply_outcome(hl_engine *e, hli_batch *b, const hl_outcome *o, hl_error *err)
{
    hl_code rc = HL_OK;
    uint64_t now = e->now;
    hli_endpoint *ep = b->ep;
    int delivered = is_delivered(ep, o);

    /* the attempt log */
    hli_attempt rec = {{0}, NULL, b->attempts, now, b->sent_ms, o->latency_ms, o->status,
                       o->failure, delivered, NULL, 0};
    memcpy(rec.batch_id, b->id, sizeof rec.batch_id);
    rec.endpoint_id = dup_str(b->endpoint_id);
    size_t xl = o->body_excerpt ? o->body_excerpt_len : 0;
    if (xl > HL_EXCERPT_MAX)
        xl = HL_EXCERPT_MAX;
    if (xl && (rec.excerpt = malloc(xl)) != NULL) {
        memcpy(rec.excerpt, o->body_excerpt, xl);
        rec.excerpt_len = xl;
    }
    if (!rec.endpoint_id || hli_log_append(e, &rec) != 0) {
        free(rec.endpoint_id);
        free(rec.excerpt);
    } else if (!e->restoring && e->opts.store.attempt_recorded && !e->store_rc) {
        hl_attempt_record pub;
        hli_attempt_public(&rec, &pub);
        e->store_rc = e->opts.store.attempt_recorded(e->opts.store.user, &pub);
    }
    b->last_status = o->status;
    b->last_failure = o->failure;

    /* the default decision */
    hl_decision d = {HL_DECIDE_DELIVERED, 0};
    const char *give_up_reason = "policy";
    if (!delivered) {
        const hl_endpoint_options *eo = ep ? &ep->opts : NULL;
        if (!eo) {
            d.kind = HL_DECIDE_GIVE_UP;
            give_up_reason = "endpoint_removed";
        } else if (eo->max_attempts && b->attempts >= eo->max_attempts) {
            d.kind = HL_DECIDE_GIVE_UP;
            give_up_reason = "max_attempts";
        } else {
            uint64_t delay = scheduled_delay(e, eo, b->attempts), ra;
            if (o->retry_after && hl_retry_after_parse(o->retry_after, o->retry_after_len, now, &ra,
                                                       NULL) == HL_OK)
                delay = ra < delay ? delay : ra > 2 * delay ? 2 * delay : ra;
            d.kind = HL_DECIDE_RETRY;
            d.retry_at_ms = now + delay;
        }
    }
    if (e->opts.decide && ep) {
        hl_retry_input in = {b->id, b->endpoint_id, b->attempts, o, now, b->created_ms,
                             b->deadline_ms, d};
        hl_decision mine = d;
        if (e->opts.decide(e->opts.callback_user, &in, &mine) != 0 ||
            (mine.kind != HL_DECIDE_DELIVERED && mine.kind != HL_DECIDE_RETRY &&
             mine.kind != HL_DECIDE_GIVE_UP))
            rc = hli_fail(err, HL_E_CALLBACK,
                          "the decide callback failed for batch %s; the default policy applied",
                          b->id);
        else if (mine.kind != d.kind || mine.retry_at_ms != d.retry_at_ms) {
            d = mine;
            give_up_reason = "policy";
        }
    }

    /* endpoint health (before the batch leaves IN_FLIGHT, which frees capacity) */
    if (ep) {
        int throttle = !delivered && o->failure == HL_FAILURE_NONE &&
                       (o->status == 429 || o->status == 502 || o->status == 504);
        hl_disabled_reason why =
            hli_ep_record(ep, b, delivered, o->status == 429 && !o->failure, o->failure, now);
        if (throttle)
            hli_ep_throttle(ep, now);
        if (!delivered && !o->failure && o->status == 410)
            why = HL_DISABLED_GONE;
        if (why != HL_DISABLED_NONE && ep->disabled == HL_DISABLED_NONE)
            ep_disable(e, ep, why);
    }

    /* apply, the hard deadline last: nothing is ever scheduled after it */
    switch (d.kind) {
    case HL_DECIDE_DELIVERED:
        batch_set_state(e, b, HL_BATCH_DELIVERED); /* frees b */
        break;
    case HL_DECIDE_GIVE_UP:
        dead_letter(e, b, give_up_reason);
        break;
    case HL_DECIDE_RETRY:
        if (now >= b->deadline_ms) {
            dead_letter(e, b, "deadline");
        } else {
            uint64_t at = d.retry_at_ms < now ? now : d.retry_at_ms;
            b->next_attempt_ms = at > b->deadline_ms ? b->deadline_ms : at;
            batch_set_state(e, b, HL_BATCH_RETRY_WAIT);
        }
        break;
    }
    if (ep) /* capacity came back */
        ep_kick(e, ep);
    return rc;
}

/* ------------------------------------------------------ inspection, DLQ */

hl_code hl_engine_batch_get(hl_engine *e, const char *batch_id, hl_batch_info *out, hl_error *err)
{
    if (!e || !batch_id || !out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "batch_get: NULL argument");
    hli_batch *b = hli_map_get(&e->batches, batch_id);
    if (!b)
        return hli_fail(err, HL_E_BATCH_UNKNOWN, "no batch \"%s\"", batch_id);
    batch_info(b, out);
    return HL_OK;
}

void hl_engine_stats_get(hl_engine *e, hl_engine_stats *out)
{
    if (!e || !out)
        return;
    *out = e->stats;
    out->attempt_records = e->log_len;
}

size_t hl_engine_dead_letter_count(hl_engine *e)
{
    return e ? e->n_dlq : 0;
}

void hl_engine_dead_letter_list(hl_engine *e, size_t offset, const char **ids, size_t cap,
                                size_t *n_out)
{
    size_t n = 0, i = 0;
    if (e && ids)
        for (hli_link *l = e->dlq.next; l != &e->dlq && n < cap; l = l->next, i++)
            if (i >= offset)
                ids[n++] = HLI_CONTAINER_OF(l, hli_batch, qlink)->id;
    if (n_out)
        *n_out = n;
}

static hli_batch *dead_batch(hl_engine *e, const char *batch_id, hl_error *err, hl_code *rc)
{
    hli_batch *b = hli_map_get(&e->batches, batch_id);
    if (!b)
        *rc = hli_fail(err, HL_E_BATCH_UNKNOWN, "no batch \"%s\"", batch_id);
    else if (b->state != HL_BATCH_DEAD_LETTERED) {
        *rc = hli_fail(err, HL_E_BATCH_STATE, "batch \"%s\" is %s, not dead-lettered", batch_id,
                       hl_batch_state_name(b->state));
        b = NULL;
    }
    return b;
}

hl_code hl_engine_redrive(hl_engine *e, const char *batch_id, uint64_t now_ms, hl_error *err)
{
    hl_code rc = HL_OK;
    if (!e || !batch_id)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "redrive: NULL argument");
    hli_batch *b = dead_batch(e, batch_id, err, &rc);
    if (!b)
        return rc;
    hli_endpoint *ep = hli_map_get(&e->endpoints, b->endpoint_id);
    if (!ep)
        return hli_fail(err, HL_E_ENDPOINT_UNKNOWN, "batch \"%s\": endpoint \"%s\" was removed",
                        batch_id, b->endpoint_id);
    if ((rc = enter(e, now_ms, err)))
        return rc;
    if (batch_attach(ep, b) != 0)
        return leave(e, hli_fail(err, HL_E_NOMEM, "out of memory"), err);
    /* Same id and bytes; a fresh budget and deadline. */
    b->attempts = 0;
    b->redrives++;
    b->dead_reason = NULL;
    b->settled_ms = 0;
    b->deadline_ms = e->now + ep->opts.deadline_ms;
    e->stats.pending_events += b->n_events;
    e->stats.pending_body_bytes += b->len;
    if (b->chain && chain_head(b->chain) != b)
        batch_set_state(e, b, HL_BATCH_HELD);
    else
        batch_set_state(e, b, HL_BATCH_QUEUED);
    return leave(e, HL_OK, err);
}

hl_code hl_engine_purge(hl_engine *e, const char *batch_id, hl_error *err)
{
    hl_code rc = HL_OK;
    if (!e)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "purge: NULL engine");
    hli_batch *b = NULL;
    if (batch_id && !(b = dead_batch(e, batch_id, err, &rc)))
        return rc;
    if ((rc = enter(e, e->now, err)))
        return rc;
    if (b) {
        e->n_dlq--;
        batch_forget(e, b);
    } else {
        hli_link *l;
        while ((l = hli_list_first(&e->dlq)) != NULL) {
            e->n_dlq--;
            batch_forget(e, HLI_CONTAINER_OF(l, hli_batch, qlink));
        }
    }
    return leave(e, HL_OK, err);
}

hl_code hl_engine_restore_batch(hl_engine *e, const hl_batch_info *in, uint64_t now_ms,
                                hl_error *err)
{
    if (!e || !in || !in->batch_id || !in->endpoint_id || !in->body)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "restore_batch: NULL argument");
    size_t idlen = strlen(in->batch_id);
    if (idlen == 0 || idlen >= HL_BATCH_ID_MAX || (int)in->state < 0 ||
        in->state >= HL_BATCH__SENTINEL || in->body_len < 2 || in->n_events == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "restore_batch: malformed batch record");
    if (in->state == HL_BATCH_DELIVERED)
        return HL_OK;
    if (hli_map_get(&e->batches, in->batch_id))
        return hli_fail(err, HL_E_BATCH_EXISTS, "batch \"%s\" already exists", in->batch_id);
    char last = in->body[in->body_len - 1];
    if (!((in->body[0] == '[' && last == ']') || (in->body[0] == '{' && last == '}')))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "restore_batch: body is not a JSON array");
    hli_endpoint *ep = hli_map_get(&e->endpoints, in->endpoint_id);
    if (!ep && in->state != HL_BATCH_DEAD_LETTERED)
        return hli_fail(err, HL_E_ENDPOINT_UNKNOWN, "batch \"%s\": no endpoint \"%s\"",
                        in->batch_id, in->endpoint_id);
    hl_code rc = enter(e, now_ms, err);
    if (rc)
        return rc;
    e->restoring = 1;
    hli_batch *b = batch_new(e, NULL, NULL, in->batch_id);
    if (!b || !(b->body = malloc(in->body_len))) {
        if (b) {
            hli_map_del(&e->batches, b->id);
            batch_free(b);
        }
        e->restoring = 0;
        return leave(e, hli_fail(err, HL_E_NOMEM, "out of memory restoring a batch"), err);
    }
    free(b->endpoint_id);
    b->endpoint_id = dup_str(in->endpoint_id);
    if (in->ordering_key)
        b->key = dup_str(in->ordering_key);
    memcpy(b->body, in->body, in->body_len);
    b->len = b->cap = in->body_len;
    b->n_events = in->n_events;
    b->unbatched = in->body[0] == '{';
    b->created_ms = in->created_ms;
    b->deadline_ms = in->deadline_ms;
    b->close_at_ms = in->close_at_ms;
    b->next_attempt_ms = in->next_attempt_ms;
    b->attempts = in->attempts;
    b->total_attempts = in->total_attempts;
    b->redrives = in->redrives;
    b->last_status = in->last_status;
    b->last_failure = in->last_failure;
    b->settled_ms = in->settled_ms;
    if (!b->endpoint_id || (in->ordering_key && !b->key) ||
        (ep && in->state != HL_BATCH_DEAD_LETTERED && batch_attach(ep, b) != 0)) {
        hli_map_del(&e->batches, b->id);
        batch_free(b);
        e->restoring = 0;
        return leave(e, hli_fail(err, HL_E_NOMEM, "out of memory restoring a batch"), err);
    }
    /* counted as pending; a dead-lettered one is uncounted again as it settles */
    e->stats.pending_events += b->n_events;
    e->stats.pending_body_bytes += b->len;
    switch (in->state) {
    case HL_BATCH_OPEN:
        if (!b->chain && !ep->open) {
            batch_set_state(e, b, HL_BATCH_OPEN);
            ep->open = b;
            break;
        }
        if (b->chain) { /* just attached: it is its key's tail, the one collecting */
            batch_set_state(e, b, HL_BATCH_OPEN);
            break;
        }
        /* another batch is already collecting: this one is due */
        batch_set_state(e, b, b->chain && chain_head(b->chain) != b ? HL_BATCH_HELD
                                                                     : HL_BATCH_QUEUED);
        break;
    case HL_BATCH_HELD:
    case HL_BATCH_QUEUED:
    case HL_BATCH_IN_FLIGHT: /* its outcome was lost: send again, same id */
        if (b->chain && chain_head(b->chain) != b)
            batch_set_state(e, b, HL_BATCH_HELD);
        else
            batch_set_state(e, b, HL_BATCH_QUEUED);
        break;
    case HL_BATCH_RETRY_WAIT:
        batch_set_state(e, b, HL_BATCH_RETRY_WAIT);
        break;
    case HL_BATCH_DEAD_LETTERED:
        b->dead_reason = "restored";
        if (in->dead_reason) {
            static const char *const R[] = {"deadline", "max_attempts", "policy",
                                            "endpoint_removed"};
            for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
                if (strcmp(R[i], in->dead_reason) == 0)
                    b->dead_reason = R[i];
        }
        e->stats.batches_dead_lettered--; /* not a new death */
        batch_set_state(e, b, HL_BATCH_DEAD_LETTERED);
        break;
    default:
        break;
    }
    e->restoring = 0;
    return leave(e, HL_OK, err);
}
