/* test_metrics.c - counters, histogram, engine gauges, Prometheus text. */
#include "engine_test_util.h"

static void test_record_and_render(void **state)
{
    hl_metrics m;
    char text[8192], small[16];
    size_t len = 0, need = 0;
    (void)state;
    hl_metrics_init(&m);
    hl_metrics_record_attempt(&m, 1, HL_FAILURE_NONE, 3);      /* success, <= 5 ms */
    hl_metrics_record_attempt(&m, 0, HL_FAILURE_NONE, 120);    /* a 500: http */
    hl_metrics_record_attempt(&m, 0, HL_FAILURE_TIMEOUT, 10000); /* exactly the 10 s bound */
    hl_metrics_record_attempt(&m, 0, HL_FAILURE_BLOCKED, 0);
    hl_metrics_record_attempt(&m, 0, HL_FAILURE_CONNECT, 20000); /* +Inf bucket */
    assert_int_equal(m.attempts[HL_RESULT_SUCCESS], 1);
    assert_int_equal(m.attempts[HL_RESULT_HTTP], 1);
    assert_int_equal(m.attempts[HL_RESULT_TIMEOUT], 1);
    assert_int_equal(m.attempts[HL_RESULT_BLOCKED], 1);
    assert_int_equal(m.latency_count, 5);
    assert_int_equal(m.latency_buckets[HL_LATENCY_BUCKETS - 1], 1);

    assert_int_equal(hl_metrics_render(&m, text, sizeof text, &len, NULL), HL_OK);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "# TYPE hookline_attempts_total counter\n"));
    assert_non_null(strstr(text, "hookline_attempts_total{result=\"timeout\"} 1\n"));
    assert_non_null(strstr(text, "hookline_attempts_total{result=\"dns\"} 0\n"));
    /* one HELP/TYPE pair for the whole histogram family */
    assert_non_null(strstr(text, "# TYPE hookline_attempt_duration_seconds histogram\n"));
    assert_null(strstr(text, "# TYPE hookline_attempt_duration_seconds_sum"));
    /* cumulative buckets: 0 and 3 ms in le=0.005, the 120 ms in le=0.25, 10 s in le=10 */
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_bucket{le=\"0.25\"} 3\n"));
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_bucket{le=\"10\"} 4\n"));
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_sum 30.123\n"));
    assert_non_null(strstr(text, "hookline_attempt_duration_seconds_count 5\n"));
    assert_null(strstr(text, "state=\"delivered\""));

    assert_int_equal(hl_metrics_render(&m, small, sizeof small, &need, NULL), HL_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, len);
    assert_string_equal(hl_attempt_result_name(HL_RESULT_RESET), "reset");
    assert_string_equal(hl_attempt_result_name(99), "unknown");
}

static void test_engine_gauges(void **state)
{
    hl_engine *e = new_engine(7);
    hl_endpoint_options o = ep_opts("https://a.example/hook");
    hl_event ev = HL_EVENT_INIT;
    hl_action act;
    hl_outcome out = HL_OUTCOME_INIT;
    hl_metrics m;
    char text[8192];
    (void)state;
    add_ep(e, "a", &o, T0);
    add_ep(e, "b", &o, T0);
    assert_int_equal(hl_endpoint_disable(e, "b", T0, NULL), HL_OK);
    ev.type = "email.outbound.delivered";
    for (int i = 0; i < 3; i++)
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    assert_int_equal(hl_engine_flush(e, T0, NULL), HL_OK);
    assert_int_equal(hl_engine_next_action(e, T0, &act, NULL), HL_OK);
    assert_int_equal(act.kind, HL_ACTION_SEND);

    hl_metrics_init(&m);
    hl_metrics_update_from_engine(&m, e);
    assert_int_equal(m.events_enqueued, 3);
    assert_int_equal(m.batches[HL_BATCH_IN_FLIGHT], 1);
    assert_int_equal(m.pending_events, 3);
    assert_int_equal(m.endpoints_by_breaker[HL_BREAKER_CLOSED], 2);
    assert_int_equal(m.endpoints_disabled, 1);

    out.status = 200;
    assert_int_equal(hl_engine_report_outcome(e, act.batch_id, &out, T0 + 5, NULL), HL_OK);
    hl_metrics_update_from_engine(&m, e);
    assert_int_equal(m.batches_delivered, 1);
    assert_int_equal(m.pending_events, 0);
    assert_int_equal(hl_metrics_render(&m, text, sizeof text, NULL, NULL), HL_OK);
    assert_non_null(strstr(text, "hookline_batches_delivered_total 1\n"));
    assert_non_null(strstr(text, "hookline_endpoints{breaker=\"closed\"} 2\n"));
    assert_non_null(strstr(text, "hookline_endpoints_disabled 1\n"));
    hl_engine_free(e);
}

/* hl_metrics_each stops when the callback asks. */
static int stop_at_third(void *user, const hl_metric_sample *s)
{
    int *n = user;
    (void)s;
    return ++*n == 3 ? 42 : 0;
}

static void test_each_stops(void **state)
{
    hl_metrics m;
    int n = 0;
    (void)state;
    hl_metrics_init(&m);
    assert_int_equal(hl_metrics_each(&m, stop_at_third, &n), 42);
    assert_int_equal(n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_and_render),
        cmocka_unit_test(test_engine_gauges),
        cmocka_unit_test(test_each_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
