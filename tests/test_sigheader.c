/* test_sigheader.c - the signature header parsers, inputs against a guard page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "guard.h"
#include "sigheader.h"

#include <stdio.h>

static hl_code sigs(hl_scheme scheme, const char *value, hli_sig_list *out)
{
    guarded g;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hli_parse_signatures(scheme, guard_copy(&g, value, strlen(value)), strlen(value),
                                      out, &err);
    guard_free(&g);
    if (rc != HL_OK)
        assert_int_equal(err.code, rc);
    return rc;
}

static hl_code ts(const char *text, int64_t *out)
{
    guarded g;
    hl_code rc = hli_parse_timestamp(guard_copy(&g, text, strlen(text)), strlen(text), out, "t", NULL);
    guard_free(&g);
    return rc;
}

static const char *MAC_B64 = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
static const char *MAC_HEX = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

static void test_timestamps(void **state)
{
    int64_t v = -1;
    (void)state;
    assert_int_equal(ts("0", &v), HL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ts("1614265330", &v), HL_OK);
    assert_int_equal(v, 1614265330);
    assert_int_equal(ts("999999999999999999", &v), HL_OK); /* 18 digits */
    assert_int_equal(ts("1000000000000000000", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("161426533.0", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("-161426533", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("+161426533", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("1e9", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("abc", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("", &v), HL_E_HEADER_MALFORMED);
    assert_int_equal(ts("12 3", &v), HL_E_HEADER_MALFORMED);
}

static void test_standard_header(void **state)
{
    hli_sig_list l;
    char buf[512];
    (void)state;
    snprintf(buf, sizeof buf, "v1,%s", MAC_B64);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, buf, &l), HL_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.sigs[0].kind, HLI_SIG_HMAC);
    /* unknown versions skipped, extra spaces tolerated */
    snprintf(buf, sizeof buf, "v2,abc  v1,%s v9,zzz", MAC_B64);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, buf, &l), HL_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, "v2,abc", &l), HL_E_HEADER_MALFORMED); /* none usable */
    assert_int_equal(sigs(HL_SCHEME_STANDARD, "v1", &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, ",abc", &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, "v1,AAAA", &l), HL_E_HEADER_MALFORMED); /* 3 bytes */
    assert_int_equal(sigs(HL_SCHEME_STANDARD, "v1a,AAAA", &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_STANDARD, "v1,!!!!", &l), HL_E_HEADER_MALFORMED);
}

static void test_hookline_header(void **state)
{
    hli_sig_list l;
    char buf[512], upper[80];
    (void)state;
    for (size_t i = 0; i <= strlen(MAC_HEX); i++)
        upper[i] = (char)(MAC_HEX[i] >= 'a' && MAC_HEX[i] <= 'f' ? MAC_HEX[i] - 32 : MAC_HEX[i]);
    snprintf(buf, sizeof buf, "%s, %s", MAC_HEX, upper);
    assert_int_equal(sigs(HL_SCHEME_HOOKLINE, buf, &l), HL_OK);
    assert_int_equal(l.count, 2);
    assert_memory_equal(l.sigs[0].bytes, l.sigs[1].bytes, 32);
    snprintf(buf, sizeof buf, "%s,", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_HOOKLINE, buf, &l), HL_E_HEADER_MALFORMED); /* empty entry */
    assert_int_equal(sigs(HL_SCHEME_HOOKLINE, "abcd", &l), HL_E_HEADER_MALFORMED);
    snprintf(buf, sizeof buf, "sha256=%s", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_HOOKLINE, buf, &l), HL_E_HEADER_MALFORMED);
}

static void test_stripe_header(void **state)
{
    hli_sig_list l;
    char buf[512];
    (void)state;
    snprintf(buf, sizeof buf, "t=1614265330,v1=%s,v0=deadbeef,x=y", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, buf, &l), HL_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.timestamp, 1614265330);
    snprintf(buf, sizeof buf, "v1=%s", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, buf, &l), HL_E_HEADER_MALFORMED); /* no t */
    assert_int_equal(sigs(HL_SCHEME_STRIPE, "t=5", &l), HL_E_HEADER_MALFORMED); /* no v1 */
    snprintf(buf, sizeof buf, "t=1,t=2,v1=%s", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, buf, &l), HL_E_HEADER_MALFORMED);
    snprintf(buf, sizeof buf, "t=1.5,v1=%s", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, buf, &l), HL_E_HEADER_MALFORMED);
    snprintf(buf, sizeof buf, "t=1,v1=%s,", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, buf, &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, "t", &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_STRIPE, "=", &l), HL_E_HEADER_MALFORMED);
}

static void test_github_header(void **state)
{
    hli_sig_list l;
    char buf[512];
    (void)state;
    snprintf(buf, sizeof buf, "sha256=%s", MAC_HEX);
    assert_int_equal(sigs(HL_SCHEME_GITHUB, buf, &l), HL_OK);
    assert_int_equal(sigs(HL_SCHEME_GITHUB, MAC_HEX, &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_GITHUB, "sha256=", &l), HL_E_HEADER_MALFORMED);
    assert_int_equal(sigs(HL_SCHEME_GITHUB, "sha1=abcd", &l), HL_E_HEADER_MALFORMED);
}

static void test_too_many_entries(void **state)
{
    hli_sig_list l;
    size_t n = 10000, each = strlen(MAC_HEX) + 1;
    char *buf = malloc(n * each + 1);
    (void)state;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + i * each, MAC_HEX, each - 1);
        buf[i * each + each - 1] = ',';
    }
    buf[n * each - 1] = '\0';
    assert_int_equal(sigs(HL_SCHEME_HOOKLINE, buf, &l), HL_E_HEADER_MALFORMED);
    free(buf);
}

static void test_header_find(void **state)
{
    hl_header h[3] = {
        {"Content-Type", 12, "application/json", 16},
        {"X-Webhook-Timestamp", 19, "  123\t", 6},
        {"x-webhook-signature", 19, "a\0b", 3},
    };
    const char *v;
    size_t len;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    assert_int_equal(hli_header_find(h, 3, "x-webhook-timestamp", &v, &len, NULL), HL_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "123", 3);
    assert_int_equal(hli_header_find(h, 3, "x-webhook-signature", &v, &len, &err), HL_E_HEADER_MALFORMED);
    assert_non_null(strstr(err.message, "control byte"));
    assert_int_equal(hli_header_find(h, 3, "webhook-id", &v, &len, &err), HL_E_HEADER_MISSING);
    assert_non_null(strstr(err.message, "webhook-id"));
    h[0].name = "x-webhook-TIMESTAMP";
    h[0].name_len = 19;
    assert_int_equal(hli_header_find(h, 3, "x-webhook-timestamp", &v, &len, &err), HL_E_HEADER_MALFORMED);
    assert_non_null(strstr(err.message, "more than once"));
    h[1].value = "   ";
    h[1].value_len = 3;
    h[0].name = "other";
    h[0].name_len = 5;
    assert_int_equal(hli_header_find(h, 3, "x-webhook-timestamp", &v, &len, &err), HL_E_HEADER_MALFORMED);
    /* a name that is a prefix of the wanted one is not it */
    h[0].name = "x-webhook";
    h[0].name_len = 9;
    assert_int_equal(hli_header_find(h, 1, "x-webhook-timestamp", &v, &len, &err), HL_E_HEADER_MISSING);
}

/* hli_headers_find gives what three hli_header_find calls give (result,
 * values, code and message), over every subset of a pool of headers with
 * case variants, repeats, prefixes, empty and control-byte values. */
static void test_headers_find_agrees(void **state)
{
    static const hl_header POOL[] = {
        {"webhook-id", 10, "msg_1", 5},
        {"Webhook-ID", 10, "msg_2", 5},
        {"webhook-timestamp", 17, "123", 3},
        {"WEBHOOK-TIMESTAMP", 17, " \t ", 3},
        {"webhook-signature", 17, "v1,abc", 6},
        {"webhook-Signature", 17, "v1,\x01", 4},
        {"webhook", 7, "x", 1},
        {NULL, 10, "msg_3", 5},
        {"webhook-id", 10, NULL, 0},
        {"content-type", 12, "text/plain", 10},
    };
    static const char *const SETS[][3] = {
        {"webhook-id", "webhook-timestamp", "webhook-signature"},
        {NULL, "webhook-timestamp", "webhook-signature"},
        {NULL, NULL, "webhook-signature"},
    };
    const size_t n_pool = sizeof POOL / sizeof POOL[0];
    (void)state;
    for (size_t set = 0; set < 3; set++) {
        size_t lens[3];
        for (int k = 0; k < 3; k++)
            lens[k] = SETS[set][k] ? strlen(SETS[set][k]) : 0;
        for (unsigned mask = 0; mask < 1u << n_pool; mask++) {
            hl_header h[sizeof POOL / sizeof POOL[0]];
            size_t n = 0, one_len[3] = {0, 0, 0}, many_len[3];
            const char *one[3] = {NULL, NULL, NULL}, *many[3];
            hl_error e1 = HL_ERROR_INIT, e2 = HL_ERROR_INIT;
            hl_code rc1 = HL_OK, rc2;
            for (size_t i = 0; i < n_pool; i++)
                if (mask >> i & 1)
                    h[n++] = POOL[i];
            for (int k = 0; k < 3 && rc1 == HL_OK; k++)
                if (SETS[set][k])
                    rc1 = hli_header_find(h, n, SETS[set][k], &one[k], &one_len[k], &e1);
            rc2 = hli_headers_find(h, n, SETS[set], lens, many, many_len, &e2);
            assert_int_equal(rc1, rc2);
            if (rc1 != HL_OK) {
                assert_string_equal(e1.message, e2.message);
                continue;
            }
            for (int k = 0; k < 3; k++) {
                assert_true(one[k] == many[k]);
                assert_int_equal(one_len[k], many_len[k]);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamps),     cmocka_unit_test(test_standard_header),
        cmocka_unit_test(test_hookline_header), cmocka_unit_test(test_stripe_header),
        cmocka_unit_test(test_github_header),  cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_header_find),    cmocka_unit_test(test_headers_find_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
