/* engine_test_util.h - small helpers shared by the engine's cmocka tests. */
#ifndef HOOKLINE_ENGINE_TEST_UTIL_H
#define HOOKLINE_ENGINE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hookline.h"

#define T0 1700000000000ull /* 2023-11-14T22:13:20Z, a plausible "now" */
#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static inline hl_engine *new_engine(uint64_t seed)
{
    hl_engine_options o = HL_ENGINE_OPTIONS_INIT;
    o.seed = seed;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &o, NULL), HL_OK);
    return e;
}

static inline void add_ep(hl_engine *e, const char *id, const hl_endpoint_options *o, uint64_t now)
{
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hl_endpoint_add(e, id, o, now, &err);
    if (rc)
        fprintf(stderr, "endpoint_add: %s\n", err.message);
    assert_int_equal(rc, HL_OK);
}

static inline hl_endpoint_options ep_opts(const char *url)
{
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    o.url = url;
    return o;
}

/* Enqueue an event of `type` with small data; returns the number routed. */
static inline size_t enqueue(hl_engine *e, const char *type, const char *data, uint64_t now)
{
    hl_event ev = HL_EVENT_INIT;
    hl_error err = HL_ERROR_INIT;
    size_t routed = 0;
    ev.type = type;
    ev.data = data;
    ev.data_len = data ? strlen(data) : 0;
    hl_code rc = hl_engine_enqueue(e, &ev, now, &routed, NULL, 0, &err);
    if (rc)
        fprintf(stderr, "enqueue: %s\n", err.message);
    assert_int_equal(rc, HL_OK);
    return routed;
}

static inline hl_action next(hl_engine *e, uint64_t now)
{
    hl_action a;
    assert_int_equal(hl_engine_next_action(e, now, &a, NULL), HL_OK);
    return a;
}

static inline hl_code report(hl_engine *e, const char *batch_id, int status, hl_failure f,
                             const char *retry_after, uint64_t now)
{
    hl_outcome o = HL_OUTCOME_INIT;
    o.status = status;
    o.failure = f;
    o.retry_after = retry_after;
    o.retry_after_len = retry_after ? strlen(retry_after) : 0;
    return hl_engine_report_outcome(e, batch_id, &o, now, NULL);
}

static inline hl_batch_state state_of(hl_engine *e, const char *batch_id)
{
    hl_batch_info bi;
    if (hl_engine_batch_get(e, batch_id, &bi, NULL) != HL_OK)
        return HL_BATCH__SENTINEL;
    return bi.state;
}

#endif
