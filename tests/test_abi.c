/* test_abi.c - hl_abi_sizeof reports the sizes the headers give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hookline.h"

static void test_sizes_match_headers(void **state)
{
    (void)state;
    assert_int_equal(hl_abi_sizeof(HL_ABI_ERROR), sizeof(hl_error));
    assert_int_equal(hl_abi_sizeof(HL_ABI_HEADER), sizeof(hl_header));
    assert_int_equal(hl_abi_sizeof(HL_ABI_SIGNED_HEADER), sizeof(hl_signed_header));
    assert_int_equal(hl_abi_sizeof(HL_ABI_SIGNED), sizeof(hl_signed));
    assert_int_equal(hl_abi_sizeof(HL_ABI_VERIFY_OPTIONS), sizeof(hl_verify_options));
    assert_int_equal(hl_abi_sizeof(HL_ABI_VERIFY_RESULT), sizeof(hl_verify_result));
    assert_int_equal(hl_abi_sizeof(HL_ABI_EVENT_SUMMARY), sizeof(hl_event_summary));
}

static void test_every_value_names_a_struct(void **state)
{
    int i;
    (void)state;
    for (i = HL_ABI_ERROR; i < HL_ABI__SENTINEL; i++)
        assert_true(hl_abi_sizeof(i) > 0);
}

static void test_unknown_values_are_zero(void **state)
{
    (void)state;
    assert_int_equal(hl_abi_sizeof(0), 0);
    assert_int_equal(hl_abi_sizeof(-1), 0);
    assert_int_equal(hl_abi_sizeof(HL_ABI__SENTINEL), 0);
}

static void test_verify_options_init_is_the_macro(void **state)
{
    const hl_verify_options want = HL_VERIFY_OPTIONS_INIT;
    hl_verify_options got;
    (void)state;
    memset(&got, 0xA5, sizeof got);
    hl_verify_options_init(&got);
    assert_int_equal(got.version, want.version);
    assert_int_equal(got.scheme, want.scheme);
    assert_int_equal(got.tolerance, want.tolerance);
    assert_int_equal(got.max_body, want.max_body);
    assert_int_equal(got.parse_event, want.parse_event);
    hl_verify_options_init(NULL); /* does nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_match_headers),
        cmocka_unit_test(test_every_value_names_a_struct),
        cmocka_unit_test(test_unknown_values_are_zero),
        cmocka_unit_test(test_verify_options_init_is_the_macro),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
