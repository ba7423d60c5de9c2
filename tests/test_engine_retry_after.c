/* test_engine_retry_after.c - Retry-After parsing (RFC 9110 10.2.3). */
#include "engine_test_util.h"

/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
#define RFC_EPOCH 784111777ull

static uint64_t ra(const char *v, uint64_t now, hl_code want)
{
    uint64_t d = 12345;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(hl_retry_after_parse(v, strlen(v), now, &d, &err), want);
    if (want)
        assert_int_equal(err.code, want);
    return d;
}

static void test_seconds(void **state)
{
    (void)state;
    assert_int_equal(ra("120", T0, HL_OK), 120000);
    assert_int_equal(ra("0", T0, HL_OK), 0);
    assert_int_equal(ra("  7 ", T0, HL_OK), 7000);
    /* saturates instead of overflowing */
    assert_true(ra("99999999999999999999999999", T0, HL_OK) > 1000000000000ull);
    ra("12a", T0, HL_E_RETRY_AFTER);
    ra("-5", T0, HL_E_RETRY_AFTER);
    ra("1.5", T0, HL_E_RETRY_AFTER);
    ra("", T0, HL_E_RETRY_AFTER);
    ra("   ", T0, HL_E_RETRY_AFTER);
}

static void test_dates(void **state)
{
    (void)state;
    uint64_t now = (RFC_EPOCH - 10) * 1000;
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", now, HL_OK), 10000);
    assert_int_equal(ra("Sunday, 06-Nov-94 08:49:37 GMT", now, HL_OK), 10000);
    assert_int_equal(ra("Sun Nov  6 08:49:37 1994", now, HL_OK), 10000);
    /* fractional now: the date is a whole second */
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", now + 250, HL_OK), 9750);
    /* in the past: zero */
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", (RFC_EPOCH + 99) * 1000, HL_OK), 0);
    /* leap day */
    assert_int_equal(ra("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800000ull - 1000, HL_OK), 1000);
}

static void test_malformed_dates(void **state)
{
    (void)state;
    const char *bad[] = {
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
        "S", "Sun,", "Sunday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ra(bad[i], T0, HL_E_RETRY_AFTER);
    /* never reads past len: a truncated copy of a valid date */
    const char *full = "Sun, 06 Nov 1994 08:49:37 GMT";
    for (size_t n = 0; n < strlen(full); n++) {
        char *buf = malloc(n ? n : 1);
        memcpy(buf, full, n);
        uint64_t d;
        assert_int_equal(hl_retry_after_parse(buf, n, T0, &d, NULL), HL_E_RETRY_AFTER);
        free(buf);
    }
    uint64_t d;
    assert_int_equal(hl_retry_after_parse(NULL, 0, T0, &d, NULL), HL_E_RETRY_AFTER);
    assert_int_equal(hl_retry_after_parse("1", 1, T0, NULL, NULL), HL_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_malformed_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
