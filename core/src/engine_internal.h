/*
 * engine_internal.h - the delivery engine's private structures, shared by
 * engine.c (state machine, scheduling), engine_endpoint.c (flow control,
 * breaker), engine_log.c (attempt log) and engine_event.c. Not installed.
 */
#ifndef HOOKLINE_ENGINE_INTERNAL_H
#define HOOKLINE_ENGINE_INTERNAL_H

#include "engine_util.h"
#include "internal.h"

enum { HLI_TIMER_BATCH = 1, HLI_TIMER_ENDPOINT = 2 };

#define HLI_BREAKER_BUCKETS 10

struct hli_endpoint;

/* The batches of one ordering key on one endpoint, oldest first. Only the
 * head may be sent; the others are HELD (or still OPEN at the tail). */
typedef struct hli_keychain {
    char *key;
    hli_link batches;
} hli_keychain;

typedef struct hli_batch {
    char id[HL_BATCH_ID_MAX];
    hl_batch_state state;
    struct hli_endpoint *ep; /* NULL once dead-lettered or detached by endpoint removal */
    char *endpoint_id;       /* owned copy, kept for the dead-letter queue */
    char *key;               /* ordering key, owned; NULL when none */
    hli_keychain *chain;     /* set while in an ordering chain */
    /* Always a complete JSON value: "[e1,e2]" (or the bare object when
     * unbatched), so info/store readers never see half an array. */
    char *body;
    size_t len, cap;
    uint32_t n_events;
    int unbatched;
    int is_probe; /* the half-open breaker's single probe */
    uint64_t created_ms, deadline_ms, close_at_ms, next_attempt_ms, sent_ms, settled_ms;
    uint64_t due_ms; /* when it last became QUEUED (its scheduled time for retries) */
    unsigned int attempts, total_attempts, redrives;
    int last_status;
    hl_failure last_failure;
    const char *dead_reason;
    hli_timer timer;     /* OPEN: close_at; RETRY_WAIT: next attempt; QUEUED/HELD: deadline */
    hli_link qlink;      /* endpoint ready FIFO (QUEUED) or engine DLQ (DEAD_LETTERED) */
    hli_link ep_link;    /* endpoint's list of unsettled batches */
    hli_link key_link;   /* its ordering chain */
} hli_batch;

typedef struct hli_bucket {
    uint64_t start; /* bucket start time; buckets older than the window are ignored */
    uint32_t ok, fail;
} hli_bucket;

typedef struct hli_endpoint {
    char *id;
    char *url;
    char **filters;
    hl_endpoint_options opts; /* url/filters point at the owned copies above */
    hl_disabled_reason disabled;
    hli_batch *open;  /* unordered mode: the batch collecting events */
    hli_map chains;   /* ordering key -> hli_keychain */
    hli_link ready;   /* QUEUED batches, oldest due first */
    size_t n_ready;
    hli_link pending; /* every unsettled batch */
    size_t n_pending;
    unsigned int in_flight;
    hli_link ring_link; /* membership in the engine's round-robin ring */
    hli_link all_link;  /* engine's endpoint list, in add order */
    hli_timer wake;     /* token refill or half-open probe time */
    uint64_t route_stamp;

    /* token bucket; eff_rate 0 = unlimited */
    double eff_rate, tokens;
    uint64_t tokens_at, throttle_step_at;
    int throttled;

    /* breaker */
    hl_breaker_state breaker;
    uint64_t opened_at;
    unsigned int trips, probe_in_flight;
    hli_bucket buckets[HLI_BREAKER_BUCKETS];
    uint64_t failing_since;
    unsigned int blocked_run;
} hli_endpoint;

/* One attempt log record (the public hl_attempt_record points into it). */
typedef struct hli_attempt {
    char batch_id[HL_BATCH_ID_MAX];
    char *endpoint_id;
    unsigned int attempt;
    uint64_t at_ms, sent_ms, latency_ms;
    int status;
    hl_failure failure;
    int delivered;
    char *excerpt;
    size_t excerpt_len;
} hli_attempt;

/* Endpoints subscribed to one filter pattern. */
typedef struct hli_route {
    char *pattern;
    hli_endpoint **eps;
    size_t n, cap;
} hli_route;

struct hl_engine {
    hl_engine_options opts;
    hli_rng rng;    /* jitter */
    hli_rng id_rng; /* batch and event ids: a separate stream so ids do not shift jitter */
    hli_heap heap;
    hli_map batches;   /* every batch not yet forgotten, by id */
    hli_map endpoints; /* by id */
    hli_map routes;    /* filter pattern -> hli_route */
    hli_link all_endpoints;
    hli_link ring; /* endpoints with due work that may be able to send */
    hli_link dlq;
    size_t n_dlq;
    /* attempt log: a ring buffer, oldest at `log_head` */
    hli_attempt *log;
    size_t log_head, log_len, log_cap;
    uint64_t now;
    unsigned int in_flight;
    uint64_t route_stamp;
    int failed;     /* an earlier store failure: everything refuses */
    int store_rc;   /* a store hook failed during the current call */
    int restoring;  /* restore_batch: do not echo to the store */
    hl_engine_stats stats;
};

/* engine_event.c */
int hli_name_valid(const char *s, int allow_star);
void hli_format_rfc3339(uint64_t ms, char out[32]);
hl_code hli_event_serialize(hl_engine *e, const hl_event *ev, uint64_t now_ms, char *id_buf,
                            char **out, size_t *out_len, hl_error *err);

/* engine_endpoint.c: flow control and health */
/* 1 when `ep` may send now; else 0 and *wake_at is when to look again (0: on an outcome). */
int hli_ep_can_send(hl_engine *e, hli_endpoint *ep, uint64_t now, uint64_t *wake_at);
void hli_ep_took(hli_endpoint *ep, hli_batch *b);
void hli_ep_throttle(hli_endpoint *ep, uint64_t now);
/* Breaker bookkeeping for one attempt; returns a disabled reason to apply or NONE. */
hl_disabled_reason hli_ep_record(hli_endpoint *ep, const hli_batch *b, int ok, int neutral,
                                 hl_failure failure, uint64_t now);
void hli_ep_reset_health(hli_endpoint *ep, uint64_t now);
double hli_ep_rate_now(hli_endpoint *ep, uint64_t now);
hl_code hli_endpoint_options_check(const hl_endpoint_options *o, hl_error *err);

/* engine_log.c: attempt log */
int hli_log_append(hl_engine *e, const hli_attempt *rec);
void hli_log_prune(hl_engine *e, uint64_t now);
void hli_log_free(hl_engine *e);
void hli_attempt_public(const hli_attempt *a, hl_attempt_record *out);

#endif /* HOOKLINE_ENGINE_INTERNAL_H */
