/*
 * hookline/metrics.h - delivery metrics: counters, a latency histogram and
 * gauges read from the engine, rendered in the Prometheus text format.
 *
 * hl_metrics is plain data owned by the caller: no allocation, no locks, no
 * clock. The loop that reports outcomes records attempts into it and
 * refreshes the gauges from the engine; a copy of the struct is a
 * consistent snapshot, which is how another thread (the metrics HTTP server
 * of hookline/metrics_http.h) gets one without sharing mutable state.
 *
 * Names follow the Prometheus conventions (hookline_…_total for counters,
 * _seconds for durations):
 *   hookline_attempts_total{result="success|http|dns|connect|tls|timeout|reset|blocked"}
 *   hookline_attempt_duration_seconds (histogram)
 *   hookline_events_enqueued_total, hookline_batches_delivered_total,
 *   hookline_batches_dead_lettered_total            (from the engine)
 *   hookline_batches{state="open|held|queued|in_flight|retry_wait|dead_lettered"},
 *   hookline_pending_events, hookline_dead_letters,
 *   hookline_endpoints{breaker="closed|open|half_open"}, hookline_endpoints_disabled
 */
#ifndef HOOKLINE_METRICS_H
#define HOOKLINE_METRICS_H

#include "hookline/common.h"
#include "hookline/engine.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attempt results: what hookline_attempts_total's `result` label counts. */
typedef enum hl_attempt_result {
    HL_RESULT_SUCCESS = 0, /* the receiver accepted the batch */
    HL_RESULT_HTTP = 1,    /* an HTTP answer that did not deliver (4xx, 5xx, ...) */
    HL_RESULT_DNS = 2,
    HL_RESULT_CONNECT = 3,
    HL_RESULT_TLS = 4,
    HL_RESULT_TIMEOUT = 5,
    HL_RESULT_RESET = 6,
    HL_RESULT_BLOCKED = 7,
    HL_RESULT__SENTINEL
} hl_attempt_result;

/* Histogram upper bounds in milliseconds; the last bucket is +Inf. */
#define HL_LATENCY_BUCKETS 12
#define HL_LATENCY_BOUNDS_MS {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

typedef struct hl_metrics {
    /* recorded by hl_metrics_record_attempt */
    uint64_t attempts[HL_RESULT__SENTINEL];
    uint64_t latency_buckets[HL_LATENCY_BUCKETS]; /* per bucket, not cumulative */
    uint64_t latency_sum_ms;
    uint64_t latency_count;
    /* refreshed by hl_metrics_update_from_engine */
    uint64_t events_enqueued;
    uint64_t batches_delivered;
    uint64_t batches_dead_lettered;
    uint64_t batches[HL_BATCH__SENTINEL];
    uint64_t pending_events;
    uint64_t dead_letters;
    uint64_t endpoints_by_breaker[HL_BREAKER__SENTINEL];
    uint64_t endpoints_disabled;
} hl_metrics;

/* hl_metrics_init - all zero. */
HL_API void hl_metrics_init(hl_metrics *m);

/* hl_attempt_result_name - "success", "http", "dns", ...; "unknown" otherwise. */
HL_API const char *hl_attempt_result_name(int result);

/*
 * hl_metrics_record_attempt - count one finished attempt: `delivered` says
 * whether the engine counted it as delivered; otherwise `failure` (an
 * hl_failure) picks the transport class, HL_FAILURE_NONE meaning an HTTP
 * answer that did not deliver. `latency_ms` goes into the histogram.
 */
HL_API void hl_metrics_record_attempt(hl_metrics *m, int delivered, hl_failure failure,
                                      uint64_t latency_ms);

/*
 * hl_metrics_update_from_engine - refresh the engine-derived counters and
 * gauges (stats, dead letters, breaker and disabled counts over every
 * endpoint: O(endpoints), so call it at most a few times a second).
 */
HL_API void hl_metrics_update_from_engine(hl_metrics *m, hl_engine *engine);

/*
 * One sample: metric name, an optional label ("" when none: name and value
 * are then the whole label set), its value, and the metric's type and help.
 */
typedef struct hl_metric_sample {
    const char *name;        /* e.g. "hookline_attempts_total" */
    const char *label_name;  /* e.g. "result", or "" */
    const char *label_value; /* e.g. "timeout", or "" */
    double value;
    const char *type;        /* "counter", "gauge", "histogram" */
    const char *help;
} hl_metric_sample;

/*
 * hl_metrics_each - call `fn` for every sample, in exposition order
 * (histograms as their _bucket{le=…}, _sum and _count samples; the label is
 * "le" then). Stops early and returns the value when fn returns non-zero.
 * Bindings build their dict/table from this.
 */
typedef int (*hl_metric_fn)(void *user, const hl_metric_sample *sample);
HL_API int hl_metrics_each(const hl_metrics *m, hl_metric_fn fn, void *user);

/*
 * hl_metrics_render - the Prometheus text exposition format (version
 * 0.0.4) into `buf` (`cap` bytes, NUL-terminated). `*len_out` (may be NULL)
 * receives the length; on HL_E_BUFFER_TOO_SMALL it holds the size needed
 * (plus one for the NUL is enough). 8 KiB always suffices.
 */
HL_API hl_code hl_metrics_render(const hl_metrics *m, char *buf, size_t cap, size_t *len_out,
                                 hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_METRICS_H */
