/*
 * engine_ops.h - drive an engine with a byte string of operations and check
 * its internal invariants after every one. Shared by the libFuzzer target
 * tests/fuzz/fuzz_engine.c and the cmocka random-walk test
 * tests/test_engine_random.c.
 *
 * Invariants:
 *   - per-state counters equal the batches actually in each state;
 *   - every batch is in exactly the containers its state implies (timer
 *     armed for open/held/queued/retry_wait, ready FIFO for queued, the
 *     dead-letter list for dead_lettered);
 *   - the heap is a heap; endpoints' ready/in-flight counts are true and
 *     in-flight never exceeds concurrency;
 *   - pending events/bytes equal those of unsettled batches;
 *   - a retry is never scheduled after its batch's deadline, and nothing is
 *     handed out after it;
 *   - at the end, with every endpoint healthy and time run past every
 *     deadline, nothing is pending: each event was delivered or
 *     dead-lettered.
 */
#ifndef HOOKLINE_ENGINE_OPS_H
#define HOOKLINE_ENGINE_OPS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define OPS_CHECK(cond)                                                                          \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

#define OPS_EPS 3
#define OPS_FLIGHT 32

struct ops_reader {
    const uint8_t *p, *end;
};

static uint8_t ops_byte(struct ops_reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static size_t ops_list_len(const hli_link *head)
{
    size_t n = 0;
    for (const hli_link *l = head->next; l != head; l = l->next)
        n++;
    return n;
}

static void ops_check(hl_engine *e)
{
    size_t count[HL_BATCH__SENTINEL] = {0};
    size_t pending = 0, bytes = 0, in_flight = 0;
    for (size_t i = 0; i < e->batches.cap; i++) {
        if (e->batches.slots[i].hash <= 1)
            continue;
        hli_batch *b = e->batches.slots[i].value;
        OPS_CHECK(b->state < HL_BATCH__SENTINEL);
        count[b->state]++;
        int timed = b->state == HL_BATCH_OPEN || b->state == HL_BATCH_HELD ||
                    b->state == HL_BATCH_QUEUED || b->state == HL_BATCH_RETRY_WAIT ||
                    (b->state == HL_BATCH_IN_FLIGHT && e->opts.in_flight_lease_ms);
        OPS_CHECK(timed == (b->timer.idx != HLI_TIMER_IDLE));
        OPS_CHECK((b->state == HL_BATCH_QUEUED || b->state == HL_BATCH_DEAD_LETTERED) ==
                  hli_link_linked(&b->qlink));
        if (b->state == HL_BATCH_RETRY_WAIT)
            OPS_CHECK(b->next_attempt_ms <= b->deadline_ms);
        if (b->state == HL_BATCH_DEAD_LETTERED) {
            OPS_CHECK(b->ep == NULL && b->dead_reason != NULL);
        } else {
            pending += b->n_events;
            bytes += b->len;
            if (b->state == HL_BATCH_IN_FLIGHT)
                in_flight++;
            else
                OPS_CHECK(b->ep != NULL);
        }
        if (b->state != HL_BATCH_OPEN)
            OPS_CHECK(b->n_events > 0);
        OPS_CHECK(b->len >= 2 && (b->body[0] == '[' || b->body[0] == '{'));
    }
    for (int s = 0; s < HL_BATCH__SENTINEL; s++)
        OPS_CHECK(count[s] == e->stats.batches[s]);
    OPS_CHECK(count[HL_BATCH_DEAD_LETTERED] == e->n_dlq);
    OPS_CHECK(e->n_dlq == ops_list_len(&e->dlq));
    OPS_CHECK(pending == e->stats.pending_events);
    OPS_CHECK(bytes == e->stats.pending_body_bytes);
    OPS_CHECK(in_flight == e->in_flight);
    for (size_t i = 0; i < e->heap.len; i++) {
        OPS_CHECK(e->heap.items[i]->idx == i);
        if (i)
            OPS_CHECK(e->heap.items[(i - 1) / 2]->at <= e->heap.items[i]->at);
    }
    for (hli_link *l = e->all_endpoints.next; l != &e->all_endpoints; l = l->next) {
        hli_endpoint *ep = HLI_CONTAINER_OF(l, hli_endpoint, all_link);
        OPS_CHECK(ep->n_ready == ops_list_len(&ep->ready));
        OPS_CHECK(ep->n_pending == ops_list_len(&ep->pending));
        size_t fl = 0;
        for (hli_link *p = ep->pending.next; p != &ep->pending; p = p->next) {
            hli_batch *b = HLI_CONTAINER_OF(p, hli_batch, ep_link);
            OPS_CHECK(b->ep == ep);
            fl += b->state == HL_BATCH_IN_FLIGHT;
        }
        OPS_CHECK(fl == ep->in_flight);
        OPS_CHECK(ep->in_flight <= ep->opts.concurrency);
        if (hli_link_linked(&ep->ring_link))
            OPS_CHECK(ep->disabled == HL_DISABLED_NONE);
    }
}

struct ops_flight {
    char id[HL_BATCH_ID_MAX];
};

/* Run the operations in data; returns the number of operations executed. */
static size_t ops_run(const uint8_t *data, size_t size)
{
    struct ops_reader r = {data, data + size};
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 1 + ops_byte(&r);
    uint8_t g = ops_byte(&r);
    eo.max_in_flight = g % 8;
    eo.in_flight_lease_ms = (g & 0x80) ? 30000 : 0;
    int lease = eo.in_flight_lease_ms != 0;
    hl_engine *e = NULL;
    if (hl_engine_new(&e, &eo, NULL) != HL_OK)
        abort();
    static const char *const NAMES[OPS_EPS] = {"a", "b", "c"};
    static const char *const FILTERS[OPS_EPS] = {"t.*", "t.x", "*"};
    hl_endpoint_options opts[OPS_EPS];
    for (int i = 0; i < OPS_EPS; i++) {
        hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
        uint8_t f = ops_byte(&r);
        o.url = "https://fuzz.invalid/";
        o.filters = &FILTERS[i];
        o.n_filters = 1;
        o.max_events = 1 + (f & 3);
        o.max_bytes = (f & 4) ? 256 : 4096;
        o.linger_ms = (f & 8) ? 0 : 500;
        o.unbatched = (f & 16) != 0;
        o.ordering = (f & 32) ? HL_ORDERING_KEY : HL_ORDERING_NONE;
        o.concurrency = 1 + (f >> 6);
        o.max_attempts = ops_byte(&r) % 5;
        o.deadline_ms = 60000 + 1000 * (uint64_t)ops_byte(&r);
        o.breaker_min_attempts = 1 + ops_byte(&r) % 12;
        o.breaker_half_open_ms = 1000;
        o.rate_per_s = (double)(ops_byte(&r) % 4);
        o.schedule_ms[0] = 1000;
        o.schedule_ms[1] = 5000;
        o.n_schedule = 2;
        opts[i] = o;
        if (hl_endpoint_add(e, NAMES[i], &o, 1000, NULL) != HL_OK)
            abort();
    }
    struct ops_flight fl[OPS_FLIGHT];
    size_t n_fl = 0, ops = 0;
    uint64_t now = 1000;
    static const int STATUS[] = {200, 204, 201, 410, 429, 500, 502, 503, 504, 400, 0};
    static const char *const RA[] = {NULL, "1", "30", "Sun, 06 Nov 1994 08:49:37 GMT", "x"};
    static const char *const KEYS[] = {NULL, "k1", "k2"};
    static const char *const TYPES[] = {"t.x", "t.y", "z"};

    while (r.p < r.end && ops < 5000) {
        uint8_t op = ops_byte(&r), arg = ops_byte(&r);
        ops++;
        switch (op % 11) {
        case 0:
        case 1: { /* enqueue */
            hl_event ev = HL_EVENT_INIT;
            ev.type = TYPES[arg % 3];
            ev.ordering_key = KEYS[(arg >> 2) % 3];
            ev.data = (arg & 0x80) ? "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                     "xxxxxxxxxxxxxxxxxxxxxxxxxx\"}"
                                   : "{\"n\":1}";
            ev.data_len = strlen(ev.data);
            hl_code rc = hl_engine_enqueue(e, &ev, now, NULL, NULL, 0, NULL);
            OPS_CHECK(rc == HL_OK || rc == HL_E_EVENT_TOO_LARGE);
            break;
        }
        case 2:
        case 3: { /* next action */
            hl_action a;
            OPS_CHECK(hl_engine_next_action(e, now, &a, NULL) == HL_OK);
            if (a.kind == HL_ACTION_SEND) {
                OPS_CHECK(now <= a.deadline_ms);
                OPS_CHECK(a.attempt >= 1);
                if (n_fl < OPS_FLIGHT)
                    memcpy(fl[n_fl++].id, a.batch_id, HL_BATCH_ID_MAX);
                else /* too many: answer at once */
                    OPS_CHECK(hl_engine_report_outcome(e, a.batch_id,
                                                       &(hl_outcome)HL_OUTCOME_INIT, now,
                                                       NULL) == HL_OK);
                /* with a lease, an entry may be stale; drop duplicates of the id */
                for (size_t j = 0; lease && j + 1 < n_fl; j++)
                    if (strcmp(fl[j].id, fl[n_fl - 1].id) == 0) {
                        fl[j] = fl[--n_fl];
                        break;
                    }
            } else if (a.kind == HL_ACTION_WAIT) {
                OPS_CHECK(a.at_ms > now || eo.max_in_flight);
            }
            break;
        }
        case 4:
        case 5: { /* report */
            if (!n_fl)
                break;
            size_t i = arg % n_fl;
            hl_outcome o = HL_OUTCOME_INIT;
            uint8_t how = ops_byte(&r);
            o.status = STATUS[how % 11];
            if (o.status == 0)
                o.failure = (hl_failure)(1 + (how >> 4) % 6);
            o.retry_after = RA[(how >> 4) % 5];
            o.retry_after_len = o.retry_after ? strlen(o.retry_after) : 0;
            hl_code rc = hl_engine_report_outcome(e, fl[i].id, &o, now, NULL);
            /* with a lease the engine may have timed it out already */
            OPS_CHECK(rc == HL_OK ||
                      (lease && (rc == HL_E_BATCH_STATE || rc == HL_E_BATCH_UNKNOWN)));
            OPS_CHECK(hl_engine_report_outcome(e, fl[i].id, &o, now, NULL) != HL_OK);
            fl[i] = fl[--n_fl];
            break;
        }
        case 6: /* time passes */
            now += (uint64_t)arg * ((arg & 1) ? 1000 : 13);
            break;
        case 7: /* enable / disable */
            if (arg & 1)
                OPS_CHECK(hl_endpoint_enable(e, NAMES[arg % OPS_EPS], now, NULL) == HL_OK);
            else
                OPS_CHECK(hl_endpoint_disable(e, NAMES[arg % OPS_EPS], now, NULL) == HL_OK);
            break;
        case 8: { /* remove and add back */
            const char *name = NAMES[arg % OPS_EPS];
            OPS_CHECK(hl_endpoint_remove(e, name, now, NULL) == HL_OK);
            OPS_CHECK(hl_endpoint_add(e, name, &opts[arg % OPS_EPS], now, NULL) == HL_OK);
            break;
        }
        case 9: { /* redrive or purge a dead letter */
            const char *id;
            size_t n;
            hl_engine_dead_letter_list(e, arg % 4, &id, 1, &n);
            if (n) {
                char copy[HL_BATCH_ID_MAX];
                memcpy(copy, id, HL_BATCH_ID_MAX);
                if (arg & 0x10)
                    OPS_CHECK(hl_engine_purge(e, copy, NULL) == HL_OK);
                else
                    OPS_CHECK(hl_engine_redrive(e, copy, now, NULL) == HL_OK);
            }
            break;
        }
        case 10: /* flush */
            OPS_CHECK(hl_engine_flush(e, now, NULL) == HL_OK);
            break;
        }
        ops_check(e);
    }

    /* Drain: answer everything in flight with success, re-enable all, and
     * run past every deadline; nothing may stay pending. */
    hl_outcome ok = HL_OUTCOME_INIT;
    ok.status = 200;
    for (size_t i = 0; i < n_fl; i++) {
        hl_code rc = hl_engine_report_outcome(e, fl[i].id, &ok, now, NULL);
        OPS_CHECK(rc == HL_OK || (lease && (rc == HL_E_BATCH_STATE || rc == HL_E_BATCH_UNKNOWN)));
    }
    for (int i = 0; i < OPS_EPS; i++)
        OPS_CHECK(hl_endpoint_enable(e, NAMES[i], now, NULL) == HL_OK);
    for (int guard = 0; guard < 100000; guard++) {
        hl_action a;
        OPS_CHECK(hl_engine_next_action(e, now, &a, NULL) == HL_OK);
        if (a.kind == HL_ACTION_SEND) {
            OPS_CHECK(hl_engine_report_outcome(e, a.batch_id, &ok, now, NULL) == HL_OK);
        } else if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
        } else {
            break;
        }
        ops_check(e);
    }
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    OPS_CHECK(st.pending_events == 0);
    OPS_CHECK(e->in_flight == 0);
    if (getenv("HL_OPS_VERBOSE"))
        fprintf(stderr, "ops %zu: attempts %llu delivered %llu dead %llu events %llu\n", ops,
                (unsigned long long)st.attempts, (unsigned long long)st.batches_delivered,
                (unsigned long long)st.batches_dead_lettered,
                (unsigned long long)st.events_enqueued);
    hl_engine_free(e);
    return ops;
}

#endif /* HOOKLINE_ENGINE_OPS_H */
