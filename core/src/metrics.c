/* metrics.c - counters, histogram and engine gauges; Prometheus text. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *const RESULT_NAMES[HL_RESULT__SENTINEL] = {
    "success", "http", "dns", "connect", "tls", "timeout", "reset", "blocked"};
static const uint64_t BOUNDS_MS[HL_LATENCY_BUCKETS - 1] = HL_LATENCY_BOUNDS_MS;

void hl_metrics_init(hl_metrics *m)
{
    memset(m, 0, sizeof *m);
}

const char *hl_attempt_result_name(int result)
{
    return result >= 0 && result < HL_RESULT__SENTINEL ? RESULT_NAMES[result] : "unknown";
}

void hl_metrics_record_attempt(hl_metrics *m, int delivered, hl_failure failure,
                               uint64_t latency_ms)
{
    static const hl_attempt_result BY_FAILURE[HL_FAILURE__SENTINEL] = {
        [HL_FAILURE_NONE] = HL_RESULT_HTTP,       [HL_FAILURE_DNS] = HL_RESULT_DNS,
        [HL_FAILURE_CONNECT] = HL_RESULT_CONNECT, [HL_FAILURE_TLS] = HL_RESULT_TLS,
        [HL_FAILURE_TIMEOUT] = HL_RESULT_TIMEOUT, [HL_FAILURE_RESET] = HL_RESULT_RESET,
        [HL_FAILURE_BLOCKED] = HL_RESULT_BLOCKED,
    };
    size_t b = 0;
    hl_attempt_result r = HL_RESULT_HTTP;
    if (delivered)
        r = HL_RESULT_SUCCESS;
    else if ((unsigned)failure < HL_FAILURE__SENTINEL)
        r = BY_FAILURE[failure];
    m->attempts[r]++;
    while (b < HL_LATENCY_BUCKETS - 1 && latency_ms > BOUNDS_MS[b])
        b++;
    m->latency_buckets[b]++;
    m->latency_sum_ms += latency_ms;
    m->latency_count++;
}

void hl_metrics_update_from_engine(hl_metrics *m, hl_engine *engine)
{
    hl_engine_stats st;
    const char *ids[64];
    size_t offset = 0, n;

    hl_engine_stats_get(engine, &st);
    m->events_enqueued = st.events_enqueued;
    m->batches_delivered = st.batches_delivered;
    m->batches_dead_lettered = st.batches_dead_lettered;
    for (int s = 0; s < HL_BATCH__SENTINEL; s++)
        m->batches[s] = st.batches[s];
    m->pending_events = st.pending_events;
    m->dead_letters = hl_engine_dead_letter_count(engine);
    memset(m->endpoints_by_breaker, 0, sizeof m->endpoints_by_breaker);
    m->endpoints_disabled = 0;
    do {
        hl_endpoint_list(engine, offset, ids, sizeof ids / sizeof ids[0], &n);
        for (size_t i = 0; i < n; i++) {
            hl_endpoint_info info;
            if (hl_endpoint_info_get(engine, ids[i], &info, NULL) != HL_OK)
                continue;
            if ((unsigned)info.breaker < HL_BREAKER__SENTINEL)
                m->endpoints_by_breaker[info.breaker]++;
            m->endpoints_disabled += info.disabled != HL_DISABLED_NONE;
        }
        offset += n;
    } while (n == sizeof ids / sizeof ids[0]);
}

/* Emit one sample; returns fn's verdict. */
static int emit(hl_metric_fn fn, void *user, const char *name, const char *label,
                const char *value_label, double value, const char *type, const char *help)
{
    hl_metric_sample s = {name, label, value_label, value, type, help};
    return fn(user, &s);
}

int hl_metrics_each(const hl_metrics *m, hl_metric_fn fn, void *user)
{
    static const char *const LE[HL_LATENCY_BUCKETS] = {
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"};
    uint64_t cumulative = 0;
    int rc;

#define EMIT(...)                                                                                \
    do {                                                                                         \
        if ((rc = emit(fn, user, __VA_ARGS__)) != 0)                                             \
            return rc;                                                                           \
    } while (0)

    for (int r = 0; r < HL_RESULT__SENTINEL; r++)
        EMIT("hookline_attempts_total", "result", RESULT_NAMES[r], (double)m->attempts[r],
             "counter", "Delivery attempts by result.");
    for (int b = 0; b < HL_LATENCY_BUCKETS; b++) {
        cumulative += m->latency_buckets[b];
        EMIT("hookline_attempt_duration_seconds_bucket", "le", LE[b], (double)cumulative,
             "histogram", "Duration of delivery attempts.");
    }
    EMIT("hookline_attempt_duration_seconds_sum", "", "", (double)m->latency_sum_ms / 1000.0,
         "histogram", "Duration of delivery attempts.");
    EMIT("hookline_attempt_duration_seconds_count", "", "", (double)m->latency_count, "histogram",
         "Duration of delivery attempts.");
    EMIT("hookline_events_enqueued_total", "", "", (double)m->events_enqueued, "counter",
         "Events enqueued (one per endpoint they were routed to).");
    EMIT("hookline_batches_delivered_total", "", "", (double)m->batches_delivered, "counter",
         "Batches the receivers accepted.");
    EMIT("hookline_batches_dead_lettered_total", "", "", (double)m->batches_dead_lettered,
         "counter", "Batches given up on.");
    for (int s = 0; s < HL_BATCH__SENTINEL; s++) {
        if (s == HL_BATCH_DELIVERED)
            continue; /* delivered batches are forgotten: the counter above counts them */
        EMIT("hookline_batches", "state", hl_batch_state_name(s), (double)m->batches[s], "gauge",
             "Batches now in each state.");
    }
    EMIT("hookline_pending_events", "", "", (double)m->pending_events, "gauge",
         "Events in batches not yet delivered or dead-lettered.");
    EMIT("hookline_dead_letters", "", "", (double)m->dead_letters, "gauge",
         "Batches in the dead-letter queue.");
    for (int b = 0; b < HL_BREAKER__SENTINEL; b++)
        EMIT("hookline_endpoints", "breaker", hl_breaker_state_name(b),
             (double)m->endpoints_by_breaker[b], "gauge", "Endpoints by circuit-breaker state.");
    EMIT("hookline_endpoints_disabled", "", "", (double)m->endpoints_disabled, "gauge",
         "Endpoints disabled (by hand, 410 Gone, failing or blocked).");
#undef EMIT
    return 0;
}

struct render_state {
    char *buf;
    size_t cap, len;
    const char *last_family; /* the family just written: name and length */
    size_t last_family_len;
};

/* The family of a sample: histogram samples share their base name. */
static size_t family_len(const char *name, const char *type)
{
    size_t n = strlen(name);
    static const char *const SUFFIXES[] = {"_bucket", "_sum", "_count"};
    if (strcmp(type, "histogram") == 0)
        for (size_t i = 0; i < 3; i++) {
            size_t s = strlen(SUFFIXES[i]);
            if (n > s && strcmp(name + n - s, SUFFIXES[i]) == 0)
                return n - s;
        }
    return n;
}

static void append(struct render_state *st, const char *fmt, ...) HLI_PRINTF(2, 3);
static void append(struct render_state *st, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(st->len < st->cap ? st->buf + st->len : NULL,
                  st->len < st->cap ? st->cap - st->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        st->len += (size_t)n;
}

static int render_one(void *user, const hl_metric_sample *s)
{
    struct render_state *st = user;
    size_t fam = family_len(s->name, s->type);
    if (!st->last_family || st->last_family_len != fam ||
        strncmp(st->last_family, s->name, fam) != 0) {
        append(st, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)fam, s->name, s->help, (int)fam,
               s->name, s->type);
        st->last_family = s->name;
        st->last_family_len = fam;
    }
    if (s->label_name[0])
        append(st, "%s{%s=\"%s\"} %.15g\n", s->name, s->label_name, s->label_value, s->value);
    else
        append(st, "%s %.15g\n", s->name, s->value);
    return 0;
}

hl_code hl_metrics_render(const hl_metrics *m, char *buf, size_t cap, size_t *len_out,
                          hl_error *err)
{
    struct render_state st = {buf, buf ? cap : 0, 0, NULL, 0};
    if (!m)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "metrics is NULL");
    hl_metrics_each(m, render_one, &st);
    if (len_out)
        *len_out = st.len;
    if (st.len >= st.cap)
        return hli_fail(err, HL_E_BUFFER_TOO_SMALL, "the metrics text needs %zu bytes",
                        st.len + 1);
    return HL_OK;
}
