/*
 * test_engine_sim.c - deterministic simulations of the engine against
 * scripted endpoints, hours of simulated time in well under a second.
 *
 * The host here plays libcurl: it asks next_action, "sends" (computes the
 * scripted answer and its latency), and reports each outcome when its
 * latency has elapsed. Time jumps to the next interesting moment.
 *
 * Invariants checked throughout:
 *   - every routed event ends delivered or dead-lettered, exactly once;
 *   - a batch's id and body never change across retries;
 *   - no attempt before its scheduled time, none after the deadline;
 *   - every retry delay is within the schedule's bounds (jitter, and
 *     Retry-After at most doubling it) unless clamped to the deadline;
 *   - the breaker bounds the attempts made to a dead endpoint;
 *   - a hanging endpoint does not change the healthy endpoints' delays.
 */
#include "engine_test_util.h"

#include <jansson.h>
#include <stdlib.h>

#include "engine_util.h"

enum behaviour { OK, DEAD, FLAKY, SLOW, GONE, THROTTLE, RECOVER, HANG };

struct sim_ep {
    const char *name;
    enum behaviour b;
    uint64_t attempts, ok, fails, batches;
};

struct flight {
    uint64_t done_at;
    char batch_id[HL_BATCH_ID_MAX];
    int ep;
    int status;
    hl_failure failure;
    const char *retry_after;
};

/* What the simulation remembers about one batch. */
struct seen {
    char id[HL_BATCH_ID_MAX];
    char *body;
    size_t len;
    uint64_t next_at; /* earliest allowed next attempt */
    unsigned attempts;
};

struct sim {
    hl_engine *e;
    struct sim_ep *eps;
    int n_eps;
    struct flight *fl;
    size_t n_fl, cap_fl;
    hli_map seen;
    struct seen **seen_list;
    size_t n_seen, cap_seen;
    /* per event */
    size_t n_events;
    int *ev_ep, *delivered, *dead;
    uint64_t *ev_at, *ev_done;
    hli_rng rng;
    uint64_t now;
    uint64_t sends, checks;
};

static const uint64_t SCHED[] = {5 * SEC, 5 * MIN, 30 * MIN, 2 * HOUR, 5 * HOUR};

static int ep_index(struct sim *s, const char *name)
{
    for (int i = 0; i < s->n_eps; i++)
        if (strcmp(s->eps[i].name, name) == 0)
            return i;
    fail_msg("unknown endpoint %s", name);
    return -1;
}

/* The scripted answer of an endpoint at `now`. */
static void answer(struct sim *s, struct sim_ep *ep, struct flight *f)
{
    /* Hanging answers draw nothing from the RNG, so the healthy endpoints'
     * latencies are the same with or without them. */
    uint64_t lat = ep->b == SLOW || ep->b == HANG ? 0 : 50 + hli_rng_below(&s->rng, 100);
    f->status = 200;
    f->failure = HL_FAILURE_NONE;
    f->retry_after = NULL;
    switch (ep->b) {
    case OK:
        break;
    case DEAD:
        if (hli_rng_below(&s->rng, 2))
            f->status = 500;
        else {
            f->status = 0;
            f->failure = HL_FAILURE_CONNECT;
        }
        break;
    case FLAKY:
        if (hli_rng_below(&s->rng, 10) < 2)
            f->status = 503;
        break;
    case SLOW:
    case HANG: /* holds the connection for the whole 10 s timeout */
        lat = 10 * SEC;
        f->status = 0;
        f->failure = HL_FAILURE_TIMEOUT;
        break;
    case GONE:
        if (ep->ok >= 20)
            f->status = 410;
        break;
    case THROTTLE:
        if (hli_rng_below(&s->rng, 5) == 0) {
            f->status = 429;
            f->retry_after = "20";
        }
        break;
    case RECOVER:
        if (s->now < T0 + 2 * HOUR)
            f->status = 503;
        break;
    }
    f->done_at = s->now + lat;
}

static struct seen *seen_get(struct sim *s, const char *id)
{
    struct seen *x = hli_map_get(&s->seen, id);
    if (x)
        return x;
    x = calloc(1, sizeof *x);
    strcpy(x->id, id);
    hli_map_put(&s->seen, x->id, x);
    if (s->n_seen == s->cap_seen) {
        s->cap_seen = s->cap_seen ? s->cap_seen * 2 : 1024;
        s->seen_list = realloc(s->seen_list, s->cap_seen * sizeof *s->seen_list);
    }
    s->seen_list[s->n_seen++] = x;
    return x;
}

/* Call f(s, event index) for each event id in a batch body. */
static void for_events(struct sim *s, const char *body, size_t len,
                       void (*f)(struct sim *, size_t))
{
    json_t *arr = json_loadb(body, len, 0, NULL);
    assert_non_null(arr);
    size_t i;
    json_t *ev;
    json_array_foreach(arr, i, ev)
    {
        const char *id = json_string_value(json_object_get(ev, "id"));
        assert_non_null(id);
        size_t k = (size_t)strtoull(id + 1, NULL, 10);
        assert_true(k < s->n_events);
        f(s, k);
    }
    json_decref(arr);
}

static void mark_delivered(struct sim *s, size_t k)
{
    s->delivered[k]++;
    s->ev_done[k] = s->now;
}

static void mark_dead(struct sim *s, size_t k)
{
    s->dead[k]++;
}

static void do_send(struct sim *s, const hl_action *a)
{
    struct seen *x = seen_get(s, a->batch_id);
    if (!x->body) {
        x->body = malloc(a->body_len);
        memcpy(x->body, a->body, a->body_len);
        x->len = a->body_len;
    } else {
        /* same id, same bytes, on every attempt */
        assert_int_equal(x->len, a->body_len);
        assert_memory_equal(x->body, a->body, a->body_len);
    }
    assert_true(s->now >= x->next_at);       /* never early */
    assert_true(s->now <= a->deadline_ms);   /* never after the deadline */
    assert_int_equal(a->attempt, x->attempts + 1);
    x->attempts = a->attempt;
    s->sends++;
    int epi = ep_index(s, a->endpoint_id);
    s->eps[epi].attempts++;
    if (s->n_fl == s->cap_fl) {
        s->cap_fl = s->cap_fl ? s->cap_fl * 2 : 64;
        s->fl = realloc(s->fl, s->cap_fl * sizeof *s->fl);
    }
    struct flight *f = &s->fl[s->n_fl++];
    strcpy(f->batch_id, a->batch_id);
    f->ep = epi;
    answer(s, &s->eps[epi], f);
}

static void do_report(struct sim *s, size_t i)
{
    struct flight f = s->fl[i];
    s->fl[i] = s->fl[--s->n_fl];
    struct seen *x = hli_map_get(&s->seen, f.batch_id);
    assert_non_null(x);
    hl_outcome o = HL_OUTCOME_INIT;
    o.status = f.status;
    o.failure = f.failure;
    o.retry_after = f.retry_after;
    o.retry_after_len = f.retry_after ? strlen(f.retry_after) : 0;
    o.latency_ms = f.done_at - (s->now > f.done_at ? f.done_at : s->now);
    assert_int_equal(hl_engine_report_outcome(s->e, f.batch_id, &o, s->now, NULL), HL_OK);
    hl_batch_info bi;
    hl_code rc = hl_engine_batch_get(s->e, f.batch_id, &bi, NULL);
    if (rc == HL_E_BATCH_UNKNOWN) { /* delivered and forgotten */
        assert_true(f.status >= 200 && f.status < 300 && !f.failure);
        s->eps[f.ep].ok++;
        for_events(s, x->body, x->len, mark_delivered);
        return;
    }
    s->eps[f.ep].fails++;
    if (bi.state == HL_BATCH_RETRY_WAIT) {
        uint64_t delay = bi.next_attempt_ms - s->now;
        uint64_t sched = SCHED[bi.attempts - 1 < 4 ? bi.attempts - 1 : 4];
        if (bi.next_attempt_ms != bi.deadline_ms)
            assert_true(delay >= sched - sched / 5);
        assert_true(delay <= 2 * (sched + sched / 5));
        x->next_at = bi.next_attempt_ms;
        s->checks++;
    } else {
        assert_int_equal(bi.state, HL_BATCH_DEAD_LETTERED);
    }
}

/* Run until `end` and then until nothing is left to do. */
static void run(struct sim *s, uint64_t end, uint64_t enqueue_until, uint64_t every,
                int (*pick_ep)(struct sim *, size_t k))
{
    uint64_t next_ev = T0;
    size_t k = 0;
    for (long guard = 0; guard < 50000000; guard++) {
        /* reports due now */
        for (size_t i = 0; i < s->n_fl;)
            if (s->fl[i].done_at <= s->now)
                do_report(s, i);
            else
                i++;
        /* events due now */
        while (next_ev <= s->now && next_ev < enqueue_until && k < s->n_events) {
            int epi = pick_ep(s, k);
            if (epi >= 0) {
                char id[32], type[64];
                snprintf(id, sizeof id, "e%zu", k);
                snprintf(type, sizeof type, "sim.%s", s->eps[epi].name);
                hl_event ev = HL_EVENT_INIT;
                ev.id = id;
                ev.type = type;
                ev.data = "{\"msg\":\"hello\"}";
                ev.data_len = strlen(ev.data);
                size_t routed = 0;
                assert_int_equal(hl_engine_enqueue(s->e, &ev, s->now, &routed, NULL, 0, NULL),
                                 HL_OK);
                s->ev_ep[k] = routed ? epi : -1; /* a disabled endpoint takes nothing */
                s->ev_at[k] = s->now;
            } else {
                s->ev_ep[k] = -1;
            }
            k++;
            next_ev += every;
        }
        hl_action a;
        assert_int_equal(hl_engine_next_action(s->e, s->now, &a, NULL), HL_OK);
        if (a.kind == HL_ACTION_SEND) {
            do_send(s, &a);
            continue;
        }
        uint64_t t = UINT64_MAX;
        if (a.kind == HL_ACTION_WAIT)
            t = a.at_ms;
        for (size_t i = 0; i < s->n_fl; i++)
            if (s->fl[i].done_at < t)
                t = s->fl[i].done_at;
        if (next_ev < enqueue_until && k < s->n_events && next_ev < t)
            t = next_ev;
        if (t == UINT64_MAX) {
            if (s->now >= end)
                return;
            t = end;
        }
        assert_true(t > s->now || a.kind == HL_ACTION_WAIT);
        s->now = t > s->now ? t : s->now;
    }
    fail_msg("simulation did not finish");
}

static void sim_init(struct sim *s, struct sim_ep *eps, int n, size_t n_events, uint64_t seed,
                     unsigned max_in_flight, const hl_endpoint_options *base)
{
    memset(s, 0, sizeof *s);
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = seed;
    eo.max_in_flight = max_in_flight;
    assert_int_equal(hl_engine_new(&s->e, &eo, NULL), HL_OK);
    s->eps = eps;
    s->n_eps = n;
    s->n_events = n_events;
    s->ev_ep = calloc(n_events, sizeof(int));
    s->delivered = calloc(n_events, sizeof(int));
    s->dead = calloc(n_events, sizeof(int));
    s->ev_at = calloc(n_events, sizeof(uint64_t));
    s->ev_done = calloc(n_events, sizeof(uint64_t));
    hli_rng_seed(&s->rng, seed);
    s->now = T0;
    for (int i = 0; i < n; i++) {
        char type[64];
        snprintf(type, sizeof type, "sim.%s", eps[i].name);
        const char *filters[] = {type};
        hl_endpoint_options o = *base;
        o.url = "https://sim.invalid/";
        o.filters = filters;
        o.n_filters = 1;
        add_ep(s->e, eps[i].name, &o, T0);
    }
}

static void sim_finish(struct sim *s)
{
    /* the dead-letter queue holds the rest */
    size_t n_dlq = hl_engine_dead_letter_count(s->e);
    for (size_t off = 0; off < n_dlq; off++) {
        const char *id;
        size_t n;
        hl_engine_dead_letter_list(s->e, off, &id, 1, &n);
        assert_int_equal(n, 1);
        hl_batch_info bi;
        assert_int_equal(hl_engine_batch_get(s->e, id, &bi, NULL), HL_OK);
        if (getenv("HL_SIM_VERBOSE"))
            fprintf(stderr, "  dead %s %s: %s after %u attempts, last %d/%s\n", bi.batch_id,
                    bi.endpoint_id, bi.dead_reason, bi.attempts, bi.last_status,
                    hl_failure_class_name(bi.last_failure));
        for_events(s, bi.body, bi.body_len, mark_dead);
    }
    for (size_t k = 0; k < s->n_events; k++) {
        if (s->ev_ep[k] < 0)
            continue;
        /* delivered or dead-lettered, never both, never lost */
        if (s->delivered[k] + s->dead[k] != 1)
            fail_msg("event e%zu: delivered %d, dead %d", k, s->delivered[k], s->dead[k]);
    }
    hl_engine_stats st;
    hl_engine_stats_get(s->e, &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.pending_body_bytes, 0);
}

static void sim_free(struct sim *s)
{
    for (size_t i = 0; i < s->n_seen; i++) {
        free(s->seen_list[i]->body);
        free(s->seen_list[i]);
    }
    free(s->seen_list);
    hli_map_free(&s->seen);
    free(s->fl);
    free(s->ev_ep);
    free(s->delivered);
    free(s->dead);
    free(s->ev_at);
    free(s->ev_done);
    hl_engine_free(s->e);
}

static int pick_mixed(struct sim *s, size_t k)
{
    (void)k;
    return (int)hli_rng_below(&s->rng, (uint64_t)s->n_eps);
}

static void test_mixed_endpoints_nine_hours(void **state)
{
    (void)state;
    struct sim_ep eps[] = {
        {"ok", OK, 0, 0, 0, 0},           {"dead", DEAD, 0, 0, 0, 0},
        {"flaky", FLAKY, 0, 0, 0, 0},     {"slow", SLOW, 0, 0, 0, 0},
        {"gone", GONE, 0, 0, 0, 0},       {"throttle", THROTTLE, 0, 0, 0, 0},
        {"recover", RECOVER, 0, 0, 0, 0},
    };
    int n = (int)(sizeof eps / sizeof eps[0]);
    hl_endpoint_options base = HL_ENDPOINT_OPTIONS_INIT;
    base.max_events = 10;
    struct sim s;
    /* one event every 200 ms for an hour: 18 000 events; then 8+ h of retries */
    sim_init(&s, eps, n, 18000, 2026, 64, &base);
    run(&s, T0 + 9 * HOUR + 10 * MIN, T0 + HOUR, 200, pick_mixed);
    sim_finish(&s);

    int counts[8] = {0}, delivered[8] = {0}, dead[8] = {0};
    for (size_t k = 0; k < s.n_events; k++)
        if (s.ev_ep[k] >= 0) {
            counts[s.ev_ep[k]]++;
            delivered[s.ev_ep[k]] += s.delivered[k];
            dead[s.ev_ep[k]] += s.dead[k];
        }
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  %-9s events %5d delivered %5d dead %5d attempts %6llu\n", eps[i].name,
                counts[i], delivered[i], dead[i], (unsigned long long)eps[i].attempts);
    /* the healthy, flaky, throttled and recovering endpoints get everything */
    for (int i = 0; i < n; i++)
        if (eps[i].b == OK || eps[i].b == THROTTLE || eps[i].b == RECOVER)
            assert_int_equal(delivered[i], counts[i]);
    /* flaky (20 % failures): a batch can fail 7 times in a row and die at
     * its deadline - rarely */
    int fl = ep_index(&s, "flaky");
    assert_true(delivered[fl] * 100 >= counts[fl] * 99);
    /* the dead and slow ones get nothing, and the breaker bounds their
     * attempts: without it, each of their batches would get ~7 */
    int d = ep_index(&s, "dead"), sl = ep_index(&s, "slow");
    assert_int_equal(dead[d], counts[d]);
    assert_int_equal(dead[sl], counts[sl]);
    uint64_t bound = 10 + 10 + (9 * HOUR + 10 * MIN) / (30 * SEC) + 10;
    assert_true(eps[d].attempts <= bound);
    assert_true(eps[sl].attempts <= bound);
    /* 410: the endpoint was disabled, its batches kept then dead-lettered */
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(s.e, "gone", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    int g = ep_index(&s, "gone");
    assert_true(delivered[g] > 0 && dead[g] > 0);
    assert_true(s.checks > 100);
    sim_free(&s);
}

/* 99 healthy endpoints and 1 that hangs for the full timeout: the healthy
 * ones' delivery delays are exactly those of a run without the hanging one. */
static int pick_round_robin(struct sim *s, size_t k)
{
    return (int)(k % (size_t)s->n_eps);
}

static int pick_round_robin_skip_hang(struct sim *s, size_t k)
{
    int i = (int)(k % (size_t)s->n_eps);
    return s->eps[i].b == HANG ? -1 : i;
}

static void hang_run(int with_hang, uint64_t *sum, uint64_t *max, size_t *count)
{
    static char names[100][16];
    struct sim_ep eps[100];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "h%02d", i);
        eps[i] = (struct sim_ep){names[i], i == 42 ? HANG : OK, 0, 0, 0, 0};
    }
    hl_endpoint_options base = HL_ENDPOINT_OPTIONS_INIT;
    base.linger_ms = 200;
    struct sim s;
    /* an event every 10 ms for 15 minutes, round-robin over the endpoints */
    sim_init(&s, eps, 100, 90000, 7, 48, &base);
    run(&s, T0 + 9 * HOUR, T0 + 15 * MIN, 10,
        with_hang ? pick_round_robin : pick_round_robin_skip_hang);
    sim_finish(&s);
    *sum = *max = 0;
    *count = 0;
    for (size_t k = 0; k < s.n_events; k++) {
        int epi = s.ev_ep[k];
        if (epi < 0 || eps[epi].b == HANG)
            continue;
        assert_int_equal(s.delivered[k], 1);
        uint64_t d = s.ev_done[k] - s.ev_at[k];
        *sum += d;
        *max = d > *max ? d : *max;
        (*count)++;
    }
    if (with_hang) {
        hl_endpoint_info info;
        hl_endpoint_info_get(s.e, "h42", &info, NULL);
        fprintf(stderr, "  hanging endpoint: %llu attempts, breaker %s\n",
                (unsigned long long)eps[42].attempts, hl_breaker_state_name(info.breaker));
        assert_true(eps[42].attempts > 0);
    }
    sim_free(&s);
}

static void test_hanging_endpoint_does_not_delay_others(void **state)
{
    (void)state;
    uint64_t sum_a, max_a, sum_b, max_b;
    size_t n_a, n_b;
    hang_run(1, &sum_a, &max_a, &n_a);
    hang_run(0, &sum_b, &max_b, &n_b);
    fprintf(stderr, "  healthy: %zu events, mean delay %.1f ms (max %llu) with the hanging "
                    "endpoint, %.1f ms (max %llu) without\n",
            n_a, (double)sum_a / (double)n_a, (unsigned long long)max_a,
            (double)sum_b / (double)n_b, (unsigned long long)max_b);
    assert_int_equal(n_a, n_b);
    assert_int_equal(max_a, max_b);
    assert_int_equal(sum_a, sum_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_endpoints_nine_hours),
        cmocka_unit_test(test_hanging_endpoint_does_not_delay_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
