/* test_endpoint_config.c - the endpoint configuration document: defaults,
 * a full round trip, every kind of rejection naming its field, redaction,
 * secret rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hookline.h"

#define SECRET_A "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_B "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

static const char FULL[] =
    "{\"url\":\"https://hooks.example.com/in\",\"events\":[\"email.outbound.*\",\"domain.verified\"],"
    "\"active\":false,\"ordering\":\"key\",\"sparkpost_compat\":true,"
    "\"batch\":{\"max_events\":50,\"max_bytes\":65536,\"linger_ms\":250,\"unbatched\":false},"
    "\"retry\":{\"schedule_ms\":[1000,2000],\"jitter_pct\":0,\"deadline_ms\":3600000,"
    "\"max_attempts\":4},"
    "\"flow\":{\"concurrency\":3,\"rate_per_s\":2.5,\"burst\":5,\"throttle_start_rate\":1,"
    "\"throttle_min_rate\":0.25,\"throttle_recover_ms\":1000},"
    "\"breaker\":{\"window_ms\":60000,\"min_attempts\":5,\"failure_pct\":50,\"half_open_ms\":1000,"
    "\"disable_after_ms\":0,\"max_trips\":2,\"blocked_disable_after\":0},"
    "\"scheme\":\"standard\",\"secrets\":[{\"secret\":\"" SECRET_A "\",\"encoding\":\"default\","
    "\"not_after_ms\":0},{\"secret\":\"" SECRET_B "\",\"not_after_ms\":1800000000000}],"
    "\"custom_headers\":{\"X-Api-Key\":\"k-123\",\"X-Tenant\":\"acme\"},"
    "\"auth\":{\"type\":\"basic\",\"user\":\"bob\",\"password\":\"hunter2\"},"
    "\"tls_client_cert\":\"/etc/c.pem\",\"tls_client_key\":null,\"timeout_ms\":5000}";

static hl_endpoint_config *parse_ok(const char *json)
{
    hl_endpoint_config *c = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hl_endpoint_config_parse(&c, json, strlen(json), &err);
    if (rc != HL_OK)
        fail_msg("parse failed: %s (%s)", err.message, json);
    return c;
}

static void expect_fail(const char *json, hl_code code, const char *needle)
{
    hl_endpoint_config *c = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hl_endpoint_config_parse(&c, json, strlen(json), &err);
    if (rc != code || (needle && !strstr(err.message, needle)))
        fail_msg("%s: got %s \"%s\", want %s mentioning %s", json, hl_code_name(rc), err.message,
                 hl_code_name(code), needle ? needle : "-");
    assert_null(c);
}

static void test_minimal_has_defaults(void **state)
{
    (void)state;
    static const hl_endpoint_options def = HL_ENDPOINT_OPTIONS_INIT;
    hl_endpoint_config *c = parse_ok("{\"url\":\"https://a.example/\"}");
    const hl_endpoint_options *eo = hl_endpoint_config_engine(c);
    const hl_delivery_options *d = hl_endpoint_config_delivery(c);
    assert_string_equal(eo->url, "https://a.example/");
    assert_int_equal(eo->n_filters, 0);
    assert_int_equal(eo->active, 1);
    assert_int_equal(eo->max_events, def.max_events);
    assert_int_equal(eo->max_bytes, def.max_bytes);
    assert_int_equal(eo->deadline_ms, def.deadline_ms);
    assert_int_equal(eo->n_schedule, def.n_schedule);
    assert_true(eo->throttle_min_rate == def.throttle_min_rate);
    assert_int_equal(d->scheme, HL_SCHEME_STANDARD);
    assert_int_equal(d->n_secrets, 0);
    assert_int_equal(d->auth, HL_AUTH_NONE);
    assert_int_equal(d->timeout_ms, HL_DELIVERY_TIMEOUT_DEFAULT_MS);
    hl_endpoint_config_free(c);
    hl_endpoint_config_free(NULL);
}

static void test_full_round_trip(void **state)
{
    (void)state;
    hl_endpoint_config *c = parse_ok(FULL);
    const hl_endpoint_options *eo = hl_endpoint_config_engine(c);
    const hl_delivery_options *d = hl_endpoint_config_delivery(c);
    assert_int_equal(eo->n_filters, 2);
    assert_string_equal(eo->filters[1], "domain.verified");
    assert_int_equal(eo->active, 0);
    assert_int_equal(eo->ordering, HL_ORDERING_KEY);
    assert_int_equal(eo->sparkpost_compat, 1);
    assert_int_equal(eo->max_events, 50);
    assert_int_equal(eo->linger_ms, 250);
    assert_int_equal(eo->n_schedule, 2);
    assert_int_equal(eo->schedule_ms[1], 2000);
    assert_int_equal(eo->max_attempts, 4);
    assert_true(eo->rate_per_s == 2.5);
    assert_int_equal(eo->breaker_max_trips, 2);
    assert_int_equal(eo->blocked_disable_after, 0);
    assert_int_equal(d->n_secrets, 2);
    assert_string_equal(d->secrets[0].text, SECRET_A);
    assert_int_equal(d->secrets[1].not_after_ms, 1800000000000ull);
    assert_int_equal(d->n_headers, 2);
    assert_string_equal(d->header_names[0], "X-Api-Key");
    assert_string_equal(d->header_values[1], "acme");
    assert_int_equal(d->auth, HL_AUTH_BASIC);
    assert_string_equal(d->basic_password, "hunter2");
    assert_string_equal(d->tls_client_cert, "/etc/c.pem");
    assert_null(d->tls_client_key);
    assert_int_equal(d->timeout_ms, 5000);

    /* canonical output parses back to the same options and is a fixed point */
    char *j1 = NULL, *j2 = NULL;
    size_t n1 = 0;
    assert_int_equal(hl_endpoint_config_to_json(c, 0, &j1, &n1, NULL), HL_OK);
    assert_int_equal(strlen(j1), n1);
    hl_endpoint_config *c2 = parse_ok(j1);
    assert_int_equal(hl_endpoint_config_to_json(c2, 0, &j2, NULL, NULL), HL_OK);
    assert_string_equal(j1, j2);
    assert_memory_equal(hl_endpoint_config_engine(c2)->schedule_ms, eo->schedule_ms,
                        sizeof eo->schedule_ms);
    assert_non_null(strstr(j1, "\"password\":\"hunter2\""));
    hl_endpoint_config_json_free(j1);
    hl_endpoint_config_json_free(j2);
    hl_endpoint_config_json_free(NULL);

    /* pretty output is the same document */
    assert_int_equal(hl_endpoint_config_to_json(c, HL_CONFIG_PRETTY, &j1, NULL, NULL), HL_OK);
    assert_non_null(strchr(j1, '\n'));
    hl_endpoint_config *c3 = parse_ok(j1);
    hl_endpoint_config_json_free(j1);
    hl_endpoint_config_free(c3);
    hl_endpoint_config_free(c2);
    hl_endpoint_config_free(c);
}

static void test_redaction(void **state)
{
    (void)state;
    hl_endpoint_config *c = parse_ok(FULL);
    char *j = NULL;
    assert_int_equal(hl_endpoint_config_to_json(c, HL_CONFIG_REDACT, &j, NULL, NULL), HL_OK);
    assert_null(strstr(j, "hunter2"));
    assert_null(strstr(j, "k-123"));
    assert_null(strstr(j, "MfKQ9r8"));
    assert_null(strstr(j, "C2FVsBQ"));
    assert_non_null(strstr(j, "\"user\":\"bob\""));
    assert_non_null(strstr(j, "X-Api-Key"));
    assert_non_null(strstr(j, HL_CONFIG_REDACTED));
    hl_endpoint_config_json_free(j);
    hl_endpoint_config_free(c);

    c = parse_ok("{\"url\":\"https://a.example/\",\"auth\":{\"type\":\"oauth2\","
                 "\"token_url\":\"https://t.example/token\",\"client_id\":\"id1\","
                 "\"client_secret\":\"s3cr3t\",\"scope\":null}}");
    assert_int_equal(hl_endpoint_config_delivery(c)->auth, HL_AUTH_OAUTH2);
    assert_null(hl_endpoint_config_delivery(c)->oauth2_scope);
    assert_int_equal(hl_endpoint_config_to_json(c, HL_CONFIG_REDACT, &j, NULL, NULL), HL_OK);
    assert_null(strstr(j, "s3cr3t"));
    assert_non_null(strstr(j, "\"client_id\":\"id1\""));
    hl_endpoint_config_json_free(j);
    hl_endpoint_config_free(c);
}

static void test_rejections_name_the_field(void **state)
{
    (void)state;
    expect_fail("", HL_E_JSON, "line");
    expect_fail("[1]", HL_E_JSON, "object");
    expect_fail("{\"url\":\"https://a/\",\"url\":\"https://b/\"}", HL_E_JSON, NULL);
    expect_fail("{}", HL_E_CONFIG_MISSING, "\"url\"");
    expect_fail("{\"url\":\"\"}", HL_E_CONFIG_RANGE, "\"url\"");
    expect_fail("{\"url\":1}", HL_E_CONFIG_TYPE, "\"url\"");
    expect_fail("{\"url\":\"https://a/\",\"colour\":1}", HL_E_CONFIG_UNKNOWN_FIELD, "colour");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"max_event\":1}}", HL_E_CONFIG_UNKNOWN_FIELD,
                "batch.max_event");
    expect_fail("{\"url\":\"https://a/\",\"batch\":[]}", HL_E_CONFIG_TYPE, "\"batch\"");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"max_events\":0}}", HL_E_CONFIG_RANGE,
                "batch.max_events");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"max_events\":1.5}}", HL_E_CONFIG_TYPE,
                "batch.max_events");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"max_events\":\"10\"}}", HL_E_CONFIG_TYPE,
                "batch.max_events");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"max_bytes\":-1}}", HL_E_CONFIG_RANGE,
                "batch.max_bytes");
    expect_fail("{\"url\":\"https://a/\",\"batch\":{\"unbatched\":1}}", HL_E_CONFIG_TYPE,
                "batch.unbatched");
    expect_fail("{\"url\":\"https://a/\",\"retry\":{\"jitter_pct\":101}}", HL_E_CONFIG_RANGE,
                "retry.jitter_pct");
    expect_fail("{\"url\":\"https://a/\",\"retry\":{\"deadline_ms\":99999999999999999}}",
                HL_E_CONFIG_RANGE, "retry.deadline_ms");
    expect_fail("{\"url\":\"https://a/\",\"retry\":{\"schedule_ms\":[]}}", HL_E_CONFIG_RANGE,
                "retry.schedule_ms");
    expect_fail("{\"url\":\"https://a/\",\"retry\":{\"schedule_ms\":[1,\"x\"]}}", HL_E_CONFIG_TYPE,
                "retry.schedule_ms[1]");
    expect_fail("{\"url\":\"https://a/\",\"flow\":{\"throttle_min_rate\":0}}", HL_E_CONFIG_RANGE,
                "flow.throttle_min_rate");
    expect_fail("{\"url\":\"https://a/\",\"flow\":{\"rate_per_s\":1e300}}", HL_E_CONFIG_RANGE,
                "flow.rate_per_s");
    expect_fail("{\"url\":\"https://a/\",\"breaker\":{\"window_ms\":5}}", HL_E_CONFIG_RANGE,
                "breaker.window_ms");
    expect_fail("{\"url\":\"https://a/\",\"ordering\":\"fifo\"}", HL_E_CONFIG_RANGE, "ordering");
    expect_fail("{\"url\":\"https://a/\",\"events\":\"*\"}", HL_E_CONFIG_TYPE, "events");
    expect_fail("{\"url\":\"https://a/\",\"events\":[1]}", HL_E_CONFIG_TYPE, "events[0]");
    /* the engine's own filter check */
    expect_fail("{\"url\":\"https://a/\",\"events\":[\"a*b\"]}", HL_E_INVALID_ARGUMENT, "filter 0");
    expect_fail("{\"url\":\"https://a/\",\"scheme\":\"svix\"}", HL_E_CONFIG_RANGE, "scheme");
    expect_fail("{\"url\":\"https://a/\",\"secrets\":{}}", HL_E_CONFIG_TYPE, "secrets");
    expect_fail("{\"url\":\"https://a/\",\"secrets\":[{}]}", HL_E_CONFIG_MISSING,
                "secrets[0].secret");
    expect_fail("{\"url\":\"https://a/\",\"secrets\":[{\"secret\":\"" SECRET_A "\",\"x\":1}]}",
                HL_E_CONFIG_UNKNOWN_FIELD, "secrets[0].x");
    expect_fail("{\"url\":\"https://a/\",\"secrets\":[{\"secret\":\"" SECRET_A
                "\",\"encoding\":\"b64\"}]}",
                HL_E_CONFIG_RANGE, "secrets[0].encoding");
    expect_fail("{\"url\":\"https://a/\",\"secrets\":[{\"secret\":\"" SECRET_A
                "\",\"not_after_ms\":-5}]}",
                HL_E_CONFIG_RANGE, "secrets[0].not_after_ms");
    /* the delivery check: a malformed secret never appears in the message */
    hl_endpoint_config *c = NULL;
    hl_error err = HL_ERROR_INIT;
    const char *bad = "{\"url\":\"https://a/\",\"secrets\":[{\"secret\":\"v1,notasecret\"}]}";
    assert_int_equal(hl_endpoint_config_parse(&c, bad, strlen(bad), &err), HL_E_SECRET_MALFORMED);
    assert_null(strstr(err.message, "notasecret"));
    expect_fail("{\"url\":\"https://a/\",\"custom_headers\":{\"Content-Type\":\"x\"}}",
                HL_E_DELIVERY_INVALID, NULL);
    expect_fail("{\"url\":\"https://a/\",\"custom_headers\":{\"X-A\":1}}", HL_E_CONFIG_TYPE,
                "custom_headers.X-A");
    /* NUL bytes are refused by the JSON reader itself */
    expect_fail("{\"url\":\"https://a/\",\"custom_headers\":{\"X-A\":\"a\\u0000b\"}}",
                HL_E_JSON, "u0000");
    expect_fail("{\"url\":\"https://a/\",\"auth\":{}}", HL_E_CONFIG_MISSING, "auth.type");
    expect_fail("{\"url\":\"https://a/\",\"auth\":{\"type\":\"digest\"}}", HL_E_CONFIG_RANGE,
                "auth.type");
    expect_fail("{\"url\":\"https://a/\",\"auth\":{\"type\":\"none\",\"user\":\"x\"}}",
                HL_E_CONFIG_UNKNOWN_FIELD, "auth.user");
    expect_fail("{\"url\":\"https://a/\",\"auth\":{\"type\":\"basic\"}}", HL_E_CONFIG_MISSING,
                "auth.user");
    expect_fail("{\"url\":\"https://a/\",\"auth\":{\"type\":\"oauth2\",\"client_id\":\"x\"}}",
                HL_E_CONFIG_MISSING, "token_url");
    expect_fail("{\"url\":\"https://a/\",\"tls_client_key\":\"/k.pem\"}", HL_E_DELIVERY_INVALID,
                NULL);
    expect_fail("{\"url\":\"https://a/\",\"timeout_ms\":0}", HL_E_CONFIG_RANGE, "timeout_ms");
    expect_fail("{\"url\":\"https://a/\",\"timeout_ms\":true}", HL_E_CONFIG_TYPE, "timeout_ms");
    expect_fail("{\"url\":\"https://a/\",\"url\\u0000x\":1}", HL_E_JSON, NULL);
    assert_int_equal(hl_endpoint_config_parse(NULL, "{}", 2, NULL), HL_E_INVALID_ARGUMENT);
}

static void test_from_options_and_rotation(void **state)
{
    (void)state;
    hl_endpoint_options eo = HL_ENDPOINT_OPTIONS_INIT;
    hl_delivery_options d = HL_DELIVERY_OPTIONS_INIT;
    hl_delivery_secret s = {SECRET_A, HL_SECRET_DEFAULT, 0};
    const char *f[] = {"email.*"};
    eo.url = "https://a.example/";
    eo.filters = f;
    eo.n_filters = 1;
    d.secrets = &s;
    d.n_secrets = 1;
    hl_endpoint_config *c = NULL, *r = NULL, *r2 = NULL;
    assert_int_equal(hl_endpoint_config_from_options(&c, &eo, &d, NULL), HL_OK);
    assert_string_equal(hl_endpoint_config_engine(c)->filters[0], "email.*");
    /* the copy does not point at the caller's strings */
    assert_ptr_not_equal(hl_endpoint_config_delivery(c)->secrets[0].text, s.text);

    const uint64_t now = 1800000000000ull, grace = 24ull * 3600 * 1000;
    assert_int_equal(hl_endpoint_config_rotate_secret(&r, c, SECRET_B, HL_SECRET_DEFAULT, now,
                                                      grace, NULL),
                     HL_OK);
    const hl_delivery_options *rd = hl_endpoint_config_delivery(r);
    assert_int_equal(rd->n_secrets, 2);
    assert_string_equal(rd->secrets[0].text, SECRET_B);
    assert_int_equal(rd->secrets[0].not_after_ms, 0);
    assert_string_equal(rd->secrets[1].text, SECRET_A);
    assert_int_equal(rd->secrets[1].not_after_ms, now + grace);
    /* after the grace period the old one is dropped at the next rotation */
    assert_int_equal(hl_endpoint_config_rotate_secret(&r2, r, SECRET_A, HL_SECRET_DEFAULT,
                                                      now + grace, grace, NULL),
                     HL_OK);
    assert_int_equal(hl_endpoint_config_delivery(r2)->n_secrets, 2);
    assert_string_equal(hl_endpoint_config_delivery(r2)->secrets[1].text, SECRET_B);
    hl_endpoint_config_free(r2);
    /* grace 0: only the new one */
    assert_int_equal(hl_endpoint_config_rotate_secret(&r2, r, SECRET_A, HL_SECRET_DEFAULT, now, 0,
                                                      NULL),
                     HL_OK);
    assert_int_equal(hl_endpoint_config_delivery(r2)->n_secrets, 1);
    hl_endpoint_config_free(r2);
    /* a bad new secret is refused and names nothing secret */
    hl_error err = HL_ERROR_INIT;
    r2 = NULL;
    assert_int_equal(hl_endpoint_config_rotate_secret(&r2, r, "v1,abc", HL_SECRET_DEFAULT, now,
                                                      grace, &err),
                     HL_E_SECRET_MALFORMED);
    assert_null(r2);
    /* many rotations never exceed the limit; the latest secrets survive */
    hl_endpoint_config *cur = r;
    for (int i = 0; i < HL_MAX_SECRETS + 4; i++) {
        hl_endpoint_config *nx = NULL;
        assert_int_equal(hl_endpoint_config_rotate_secret(&nx, cur, i % 2 ? SECRET_A : SECRET_B,
                                                          HL_SECRET_DEFAULT, now + (uint64_t)i,
                                                          grace, NULL),
                         HL_OK);
        hl_endpoint_config_free(cur);
        cur = nx;
    }
    assert_int_equal(hl_endpoint_config_delivery(cur)->n_secrets, HL_MAX_SECRETS);
    hl_endpoint_config_free(cur);
    hl_endpoint_config_free(c);

    /* an engine option the engine refuses */
    eo.max_events = 0;
    assert_int_equal(hl_endpoint_config_from_options(&c, &eo, &d, NULL), HL_E_CONFIG_RANGE);
}

static void test_config_drives_engine(void **state)
{
    (void)state;
    hl_endpoint_config *c = parse_ok(FULL);
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, NULL, NULL), HL_OK);
    assert_int_equal(hl_endpoint_add(e, "ep", hl_endpoint_config_engine(c), 1, NULL), HL_OK);
    hl_endpoint_config_free(c); /* the engine copied what it needs */
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(e, "ep", &info, NULL), HL_OK);
    assert_string_equal(info.url, "https://hooks.example.com/in");
    assert_int_equal(info.disabled, HL_DISABLED_USER);
    hl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_has_defaults),
        cmocka_unit_test(test_full_round_trip),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_rejections_name_the_field),
        cmocka_unit_test(test_from_options_and_rotation),
        cmocka_unit_test(test_config_drives_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
