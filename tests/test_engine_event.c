/* test_engine_event.c - event model: catalogue, filters, serialisation,
 * routing, transform, size limits, batching limits. */
#include "engine_test_util.h"

#include <jansson.h>

static void test_catalogue(void **state)
{
    (void)state;
    assert_int_equal(hl_event_type_count(), 28);
    assert_true(hl_event_type_known("email.outbound.bounced"));
    assert_true(hl_event_type_known("amp_open"));
    assert_true(hl_event_type_known("webhook.test"));
    assert_false(hl_event_type_known("my.custom"));
    assert_false(hl_event_type_known(NULL));
    assert_null(hl_event_type_at(hl_event_type_count()));
    for (size_t i = 0; i < hl_event_type_count(); i++)
        assert_true(hl_event_type_known(hl_event_type_at(i)));
}

static void test_filter_match(void **state)
{
    (void)state;
    assert_true(hl_event_filter_match("*", "anything"));
    assert_true(hl_event_filter_match("email.outbound.*", "email.outbound.sent"));
    assert_true(hl_event_filter_match("email.*", "email.outbound.sent"));
    assert_false(hl_event_filter_match("email.outbound.*", "email.inbound.received"));
    assert_false(hl_event_filter_match("email.outbound.*", "email.outbound"));
    assert_true(hl_event_filter_match("delivery", "delivery"));
    assert_false(hl_event_filter_match("delivery", "delivery2"));
}

static void test_serialise_and_routing(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    const char *f_out[] = {"email.outbound.*"};
    const char *f_exact[] = {"bounce", "delivery"};
    hl_endpoint_options a = ep_opts("https://a.example/hook");
    a.filters = f_out;
    a.n_filters = 1;
    a.linger_ms = 0;
    hl_endpoint_options b = ep_opts("https://b.example/hook");
    b.filters = f_exact;
    b.n_filters = 2;
    b.linger_ms = 0;
    hl_endpoint_options c = ep_opts("https://c.example/hook"); /* all events */
    c.linger_ms = 0;
    add_ep(e, "a", &a, T0);
    add_ep(e, "b", &b, T0);
    add_ep(e, "c", &c, T0);

    assert_int_equal(enqueue(e, "email.outbound.sent", "{\"to\":\"x@y.z\"}", T0), 2);
    assert_int_equal(enqueue(e, "bounce", NULL, T0), 2);
    assert_int_equal(enqueue(e, "custom.thing", "[1, 2]", T0), 1);

    /* explicit id and created_at are kept; data re-serialised compactly */
    hl_event ev = HL_EVENT_INIT;
    ev.id = "evt_given";
    ev.type = "delivery";
    ev.created_at_ms = 1709164800123ull;
    ev.data = "{ \"a\" : 1 }";
    ev.data_len = strlen(ev.data);
    char id[64];
    size_t routed;
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, &routed, id, sizeof id, NULL), HL_OK);
    assert_string_equal(id, "evt_given");
    assert_int_equal(routed, 2);

    int seen_b = 0;
    for (int i = 0; i < 10; i++) {
        hl_action act = next(e, T0);
        if (act.kind != HL_ACTION_SEND)
            break;
        json_t *arr = json_loadb(act.body, act.body_len, 0, NULL);
        assert_non_null(arr);
        assert_true(json_is_array(arr));
        json_t *ev0 = json_array_get(arr, 0);
        assert_true(json_is_string(json_object_get(ev0, "id")));
        const char *created = json_string_value(json_object_get(ev0, "created_at"));
        assert_int_equal(strlen(created), 24);
        if (strcmp(act.endpoint_id, "b") == 0 &&
            strcmp(json_string_value(json_object_get(ev0, "type")), "delivery") == 0) {
            assert_string_equal(created, "2024-02-29T00:00:00.123Z");
            assert_memory_equal(act.body,
                                "[{\"id\":\"evt_given\",\"type\":\"delivery\",\"created_at\":"
                                "\"2024-02-29T00:00:00.123Z\",\"data\":{\"a\":1}}]",
                                act.body_len);
            seen_b = 1;
        }
        json_decref(arr);
        assert_int_equal(report(e, act.batch_id, 200, HL_FAILURE_NONE, NULL, T0), HL_OK);
    }
    assert_true(seen_b);
    hl_engine_free(e);
}

static void test_id_escaping_and_scalar_data(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = ep_opts("https://a/");
    o.linger_ms = 0;
    add_ep(e, "a", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    ev.id = "we\"ird\\id";
    ev.type = "t";
    ev.data = " \"just a string\" ";
    ev.data_len = strlen(ev.data);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    hl_action a = next(e, T0);
    json_t *arr = json_loadb(a.body, a.body_len, 0, NULL);
    assert_non_null(arr);
    json_t *e0 = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "id")), "we\"ird\\id");
    assert_string_equal(json_string_value(json_object_get(e0, "data")), "just a string");
    json_decref(arr);
    /* duplicate keys are refused rather than silently collapsed */
    ev.data = "{\"a\":1,\"a\":2}";
    ev.data_len = strlen(ev.data);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_EVENT_INVALID);
    hl_engine_free(e);
}

/* Data already in compact form is copied as it is (no parse-and-print round
 * trip); everything else goes through jansson. Either way the event carries
 * exactly jansson's compact form of the data, or is refused. */
static void test_data_fast_path_matches_jansson(void **state)
{
    (void)state;
    static const char *const DATA[] = {
        "{\"to\":\"x@y.z\",\"n\":[1,-2,0,{}],\"ok\":true,\"no\":false,\"nil\":null,\"e\":\"\"}",
        "[]", "{}", "0", "-7", "123456789012345678", "1234567890123456789", "\"caf\xc3\xa9 \xf0\x9d\x84\x9e\"",
        "\"a/b\x7f\"", "{ \"a\" : 1 }", "-0", "1.5", "1e3", "\"\\u0041\\n\"", " [1] ",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", /* deeper than the fast path goes */
    };
    static const char *const BAD[] = {
        "{\"a\":1,\"a\":2}", "01", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "[1,]", "{\"a\"}", "tru",
        "9223372036854775808", "\"a\tb\"", "[1]x",
    };
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = ep_opts("https://a/");
    o.unbatched = 1;
    add_ep(e, "a", &o, T0);
    for (size_t i = 0; i < sizeof DATA / sizeof DATA[0]; i++) {
        hl_event ev = HL_EVENT_INIT;
        char want[512];
        json_t *j = json_loads(DATA[i], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        char *compact;
        assert_non_null(j);
        compact = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        snprintf(want, sizeof want,
                 "{\"id\":\"evt_%zu\",\"type\":\"t\",\"created_at\":\"2023-11-14T22:13:20.000Z\","
                 "\"data\":%s}",
                 i, compact);
        free(compact);
        char id[32];
        snprintf(id, sizeof id, "evt_%zu", i);
        ev.id = id;
        ev.type = "t";
        ev.data = DATA[i];
        ev.data_len = strlen(DATA[i]);
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
        hl_action a = next(e, T0);
        assert_int_equal(a.kind, HL_ACTION_SEND);
        assert_int_equal(a.body_len, strlen(want));
        assert_memory_equal(a.body, want, a.body_len);
        assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0), HL_OK);
    }
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        hl_event ev = HL_EVENT_INIT;
        ev.type = "t";
        ev.data = BAD[i];
        ev.data_len = strlen(BAD[i]);
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_EVENT_INVALID);
    }
    hl_engine_free(e);
}

static void test_invalid_events(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = ep_opts("https://a.example/");
    add_ep(e, "a", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err), HL_E_EVENT_INVALID);
    ev.type = "bad type";
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err), HL_E_EVENT_INVALID);
    ev.type = "ok.type";
    ev.data = "{not json";
    ev.data_len = strlen(ev.data);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err), HL_E_EVENT_INVALID);
    assert_non_null(strstr(err.message, "not JSON"));
    ev.data = "{}";
    ev.data_len = 2;
    ev.id = "has space";
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err), HL_E_EVENT_INVALID);
    ev.id = NULL;
    char small[4];
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, small, sizeof small, &err),
                     HL_E_BUFFER_TOO_SMALL);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    /* bad endpoint options name the option */
    hl_endpoint_options bad = ep_opts("https://x/");
    const char *f[] = {"email.*.sent"};
    bad.filters = f;
    bad.n_filters = 1;
    assert_int_equal(hl_endpoint_add(e, "x", &bad, T0, &err), HL_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "filter"));
    bad = ep_opts(NULL);
    assert_int_equal(hl_endpoint_add(e, "x", &bad, T0, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_endpoint_add(e, "a", &o, T0, &err), HL_E_ENDPOINT_EXISTS);
    hl_engine_free(e);
}

static void test_too_large_is_all_or_nothing(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options big = ep_opts("https://big/");
    hl_endpoint_options small = ep_opts("https://small/");
    small.max_bytes = 200;
    add_ep(e, "big", &big, T0);
    add_ep(e, "small", &small, T0);
    char data[400];
    memset(data, 'x', sizeof data);
    data[0] = '"';
    data[sizeof data - 2] = '"';
    data[sizeof data - 1] = '\0';
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    ev.data = data;
    ev.data_len = strlen(data);
    hl_error err = HL_ERROR_INIT;
    size_t routed = 99;
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, &routed, NULL, 0, &err), HL_E_EVENT_TOO_LARGE);
    assert_int_equal(routed, 0);
    assert_non_null(strstr(err.message, "\"small\""));
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0); /* not in "big" either */
    assert_int_equal(st.events_enqueued, 0);
    hl_engine_free(e);
}

static void test_batch_limits(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_events = 3;
    add_ep(e, "a", &o, T0);
    for (int i = 0; i < 7; i++)
        enqueue(e, "t", "1", T0);
    /* two full batches are due now; the third waits for linger */
    hl_action a1 = next(e, T0), a2 = next(e, T0), a3 = next(e, T0);
    assert_int_equal(a1.kind, HL_ACTION_SEND);
    assert_int_equal(a1.n_events, 3);
    assert_int_equal(a2.kind, HL_ACTION_SEND);
    assert_int_equal(a3.kind, HL_ACTION_WAIT);
    assert_int_equal(a3.at_ms, T0 + 1000);
    assert_int_equal(next(e, T0 + 999).kind, HL_ACTION_WAIT);
    hl_action a4 = next(e, T0 + 1000);
    assert_int_equal(a4.kind, HL_ACTION_SEND);
    assert_int_equal(a4.n_events, 1);

    /* byte limit: events of ~60 bytes in a 200-byte batch */
    hl_endpoint_options ob = ep_opts("https://b/");
    ob.max_bytes = 200;
    const char *fb[] = {"b.*"};
    ob.filters = fb;
    ob.n_filters = 1;
    add_ep(e, "b", &ob, T0);
    hl_endpoint_options oa = o;
    const char *fa[] = {"t"};
    oa.filters = fa;
    oa.n_filters = 1;
    assert_int_equal(hl_endpoint_update(e, "a", &oa, T0, NULL), HL_OK);
    for (int i = 0; i < 6; i++)
        enqueue(e, "b.x", NULL, T0 + 2000);
    hl_engine_flush(e, T0 + 2000, NULL);
    size_t total = 0;
    for (;;) {
        hl_action a = next(e, T0 + 2000);
        if (a.kind != HL_ACTION_SEND)
            break;
        if (strcmp(a.endpoint_id, "b") == 0) {
            assert_true(a.body_len <= 200);
            total += a.n_events;
        }
    }
    assert_int_equal(total, 6);

    /* unbatched: the body is the bare object */
    hl_endpoint_options ou = ep_opts("https://u/");
    ou.unbatched = 1;
    const char *fu[] = {"u"};
    ou.filters = fu;
    ou.n_filters = 1;
    add_ep(e, "u", &ou, T0);
    enqueue(e, "u", NULL, T0 + 3000);
    hl_action au = next(e, T0 + 3000);
    assert_int_equal(au.kind, HL_ACTION_SEND);
    assert_string_equal(au.endpoint_id, "u");
    assert_true(au.body[0] == '{' && au.body[au.body_len - 1] == '}');
    hl_engine_free(e);
}

static int route_even(void *user, const hl_event *ev, const char *endpoint_id, int filter_match)
{
    (void)filter_match;
    assert_non_null(ev->id); /* generated before routing */
    assert_memory_equal(ev->id, "evt_", 4);
    int *calls = user;
    (*calls)++;
    if (strcmp(endpoint_id, "boom") == 0)
        return -1;
    return strcmp(endpoint_id, "yes") == 0;
}

static int transform_wrap(void *user, const char *endpoint_id, const char *json, size_t len,
                          const char **out, size_t *out_len)
{
    static char buf[4096];
    (void)user;
    if (strcmp(endpoint_id, "fail") == 0)
        return 1;
    if (strcmp(endpoint_id, "badjson") == 0) {
        *out = "{nope";
        *out_len = 5;
        return 0;
    }
    int n = snprintf(buf, sizeof buf, "{\"msys\":%.*s}", (int)len, json);
    *out = buf;
    *out_len = (size_t)n;
    return 0;
}

static void test_callbacks(void **state)
{
    (void)state;
    int calls = 0;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 3;
    eo.route = route_even;
    eo.callback_user = &calls;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    hl_endpoint_options o = ep_opts("https://x/");
    add_ep(e, "yes", &o, T0);
    add_ep(e, "no", &o, T0);
    assert_int_equal(enqueue(e, "t", NULL, T0), 1);
    assert_int_equal(calls, 2);
    add_ep(e, "boom", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_CALLBACK);
    hl_engine_free(e);

    eo.route = NULL;
    eo.transform = transform_wrap;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    o.linger_ms = 0;
    add_ep(e, "t", &o, T0);
    assert_int_equal(enqueue(e, "t", NULL, T0), 1);
    hl_action a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_memory_equal(a.body, "[{\"msys\":{", 10);
    add_ep(e, "fail", &o, T0);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_CALLBACK);
    assert_int_equal(hl_endpoint_remove(e, "fail", T0, NULL), HL_OK);
    add_ep(e, "badjson", &o, T0);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_CALLBACK);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.events_enqueued, 1); /* the failures left nothing behind */
    hl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_filter_match),
        cmocka_unit_test(test_serialise_and_routing),
        cmocka_unit_test(test_id_escaping_and_scalar_data),
        cmocka_unit_test(test_data_fast_path_matches_jansson),
        cmocka_unit_test(test_invalid_events),
        cmocka_unit_test(test_too_large_is_all_or_nothing),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_callbacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
