/* engine_endpoint.c - one endpoint's health and flow control: option checks,
 * the token bucket with throttling and recovery, and the circuit breaker.
 * Pure bookkeeping on `now`; engine.c decides what to do with the answers. */
#include "engine_internal.h"

#include <math.h> /* isinf: a macro, no libm */
#include <string.h>

hl_code hli_endpoint_options_check(const hl_endpoint_options *o, hl_error *err)
{
    if (!o || o->version != HL_ENDPOINT_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: bad or missing version");
    if (!o->url || !*o->url)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: url is required");
    if (o->n_filters > HL_FILTERS_MAX || (o->n_filters && !o->filters))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: at most %d filters",
                        HL_FILTERS_MAX);
    for (size_t i = 0; i < o->n_filters; i++) {
        const char *f = o->filters[i];
        size_t n = f ? strlen(f) : 0;
        const char *star = f ? strchr(f, '*') : NULL;
        /* A star is allowed only as the whole pattern or as a final ".*". */
        int ok = hli_name_valid(f, 1) &&
                 (!star || (n == 1) || (star == f + n - 1 && n >= 3 && f[n - 2] == '.'));
        if (!ok)
            return hli_fail(err, HL_E_INVALID_ARGUMENT,
                            "endpoint options: filter %zu is not a type, \"prefix.*\" or \"*\"",
                            i);
    }
    if (o->max_events < 1)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: max_events must be >= 1");
    if (o->max_bytes < 64)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: max_bytes must be >= 64");
    if (o->n_schedule > HL_SCHEDULE_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: at most %d schedule entries",
                        HL_SCHEDULE_MAX);
    if (o->jitter_pct > 100)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: jitter_pct must be <= 100");
    if (o->deadline_ms == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: deadline_ms must be > 0");
    if (o->concurrency < 1)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: concurrency must be >= 1");
    if (!(o->rate_per_s >= 0) || !(o->burst >= 0) || !(o->throttle_start_rate > 0) ||
        !(o->throttle_min_rate > 0) || isinf(o->rate_per_s))
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        "endpoint options: rates must be finite, throttle rates > 0");
    if (o->breaker_window_ms < HLI_BREAKER_BUCKETS || o->breaker_failure_pct > 100 ||
        o->breaker_min_attempts < 1)
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        "endpoint options: breaker window >= 10 ms, failure pct <= 100, "
                        "min attempts >= 1");
    if (o->ordering != HL_ORDERING_NONE && o->ordering != HL_ORDERING_KEY)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "endpoint options: unknown ordering");
    return HL_OK;
}

static double burst_of(const hli_endpoint *ep)
{
    double b = ep->opts.burst > 0 ? ep->opts.burst : ep->eff_rate;
    return b < 1 ? 1 : b;
}

/* Bring the throttled rate back up (doubling per quiet recover interval)
 * and refill the bucket up to `now`. */
static void refill(hli_endpoint *ep, uint64_t now)
{
    const hl_endpoint_options *o = &ep->opts;
    if (ep->throttled && o->throttle_recover_ms) {
        /* Bounded: the rate doubles each step, so few steps reach the cap. */
        for (int steps = 0; steps < 64 && now >= ep->throttle_step_at + o->throttle_recover_ms;
             steps++) {
            ep->throttle_step_at += o->throttle_recover_ms;
            ep->eff_rate *= 2;
            double cap = o->rate_per_s > 0 ? o->rate_per_s : 2 * o->throttle_start_rate;
            if (ep->eff_rate >= cap) {
                ep->eff_rate = o->rate_per_s;
                ep->throttled = 0;
                break;
            }
        }
    }
    if (ep->eff_rate > 0 && now > ep->tokens_at) {
        ep->tokens += (double)(now - ep->tokens_at) * ep->eff_rate / 1000.0;
        double b = burst_of(ep);
        if (ep->tokens > b)
            ep->tokens = b;
    }
    ep->tokens_at = now;
}

double hli_ep_rate_now(hli_endpoint *ep, uint64_t now)
{
    refill(ep, now);
    return ep->eff_rate;
}

int hli_ep_can_send(hl_engine *e, hli_endpoint *ep, uint64_t now, uint64_t *wake_at)
{
    (void)e;
    *wake_at = 0;
    if (ep->disabled != HL_DISABLED_NONE || ep->in_flight >= ep->opts.concurrency)
        return 0;
    if (ep->breaker == HL_BREAKER_OPEN) {
        uint64_t probe_at = ep->opened_at + ep->opts.breaker_half_open_ms;
        if (now < probe_at) {
            *wake_at = probe_at;
            return 0;
        }
        ep->breaker = HL_BREAKER_HALF_OPEN;
        ep->probe_in_flight = 0;
    }
    if (ep->breaker == HL_BREAKER_HALF_OPEN && ep->probe_in_flight)
        return 0;
    refill(ep, now);
    if (ep->eff_rate > 0 && ep->tokens < 1.0) {
        /* ceil by hand: the core needs no libm */
        double ms = (1.0 - ep->tokens) * 1000.0 / ep->eff_rate;
        uint64_t wait = (uint64_t)ms;
        if ((double)wait < ms)
            wait++;
        *wake_at = now + (wait < 1 ? 1 : wait);
        return 0;
    }
    return 1;
}

void hli_ep_took(hli_endpoint *ep, hli_batch *b)
{
    if (ep->eff_rate > 0)
        ep->tokens -= 1.0;
    b->is_probe = ep->breaker == HL_BREAKER_HALF_OPEN;
    if (b->is_probe)
        ep->probe_in_flight = 1;
}

void hli_ep_throttle(hli_endpoint *ep, uint64_t now)
{
    refill(ep, now);
    if (ep->eff_rate <= 0) {
        ep->eff_rate = ep->opts.throttle_start_rate;
        ep->tokens = 0;
    } else {
        ep->eff_rate /= 2;
        if (ep->eff_rate < ep->opts.throttle_min_rate)
            ep->eff_rate = ep->opts.throttle_min_rate;
        if (ep->tokens > burst_of(ep))
            ep->tokens = burst_of(ep);
    }
    ep->throttled = 1;
    ep->throttle_step_at = now;
}

static void window_add(hli_endpoint *ep, int ok, uint64_t now)
{
    uint64_t width = ep->opts.breaker_window_ms / HLI_BREAKER_BUCKETS;
    uint64_t start = now / width * width;
    hli_bucket *bk = &ep->buckets[(now / width) % HLI_BREAKER_BUCKETS];
    if (bk->start != start || (bk->ok == 0 && bk->fail == 0)) {
        bk->start = start;
        bk->ok = bk->fail = 0;
    }
    if (ok)
        bk->ok++;
    else
        bk->fail++;
}

static void window_sum(const hli_endpoint *ep, uint64_t now, uint64_t *ok, uint64_t *fail)
{
    *ok = *fail = 0;
    for (int i = 0; i < HLI_BREAKER_BUCKETS; i++) {
        const hli_bucket *bk = &ep->buckets[i];
        if (bk->start + ep->opts.breaker_window_ms > now) {
            *ok += bk->ok;
            *fail += bk->fail;
        }
    }
}

void hli_ep_reset_health(hli_endpoint *ep, uint64_t now)
{
    ep->breaker = HL_BREAKER_CLOSED;
    ep->probe_in_flight = 0;
    ep->trips = 0;
    ep->failing_since = 0;
    ep->blocked_run = 0;
    memset(ep->buckets, 0, sizeof ep->buckets);
    ep->eff_rate = ep->opts.rate_per_s;
    ep->tokens = burst_of(ep);
    ep->tokens_at = now;
    ep->throttled = 0;
}

static hl_disabled_reason trip(hli_endpoint *ep, uint64_t now)
{
    ep->breaker = HL_BREAKER_OPEN;
    ep->opened_at = now;
    ep->probe_in_flight = 0;
    ep->trips++;
    if (ep->opts.breaker_max_trips && ep->trips >= ep->opts.breaker_max_trips)
        return HL_DISABLED_FAILING;
    return HL_DISABLED_NONE;
}

hl_disabled_reason hli_ep_record(hli_endpoint *ep, const hli_batch *b, int ok, int neutral,
                                 hl_failure failure, uint64_t now)
{
    const hl_endpoint_options *o = &ep->opts;
    hl_disabled_reason verdict = HL_DISABLED_NONE;
    if (b->is_probe)
        ep->probe_in_flight = 0;

    ep->blocked_run = failure == HL_FAILURE_BLOCKED ? ep->blocked_run + 1 : 0;
    if (o->blocked_disable_after && ep->blocked_run >= o->blocked_disable_after)
        verdict = HL_DISABLED_BLOCKED;

    if (ok) {
        /* Any success closes the breaker and starts a fresh window. */
        ep->failing_since = 0;
        if (ep->breaker != HL_BREAKER_CLOSED) {
            ep->breaker = HL_BREAKER_CLOSED;
            ep->trips = 0;
            memset(ep->buckets, 0, sizeof ep->buckets);
        }
        window_add(ep, 1, now);
        return verdict;
    }
    if (neutral) /* throttling says "slow down", not "dead" */
        return verdict;

    if (!ep->failing_since)
        ep->failing_since = now;
    window_add(ep, 0, now);
    if (b->is_probe && ep->breaker == HL_BREAKER_HALF_OPEN) {
        hl_disabled_reason r = trip(ep, now);
        if (r != HL_DISABLED_NONE)
            verdict = r;
    } else if (ep->breaker == HL_BREAKER_CLOSED) {
        uint64_t nok, nfail;
        window_sum(ep, now, &nok, &nfail);
        if (nok + nfail >= o->breaker_min_attempts &&
            nfail * 100 >= (uint64_t)o->breaker_failure_pct * (nok + nfail)) {
            hl_disabled_reason r = trip(ep, now);
            if (r != HL_DISABLED_NONE)
                verdict = r;
        }
    }
    if (o->breaker_disable_after_ms && now - ep->failing_since >= o->breaker_disable_after_ms)
        verdict = HL_DISABLED_FAILING;
    return verdict;
}
