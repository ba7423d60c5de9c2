/* test_codec.c - hex and base64 encoders/decoders, including bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec.h"
#include "guard.h"

static ssize_t b64d(unsigned char *out, size_t cap, const char *s)
{
    guarded g;
    ssize_t n = hli_b64_decode(out, cap, guard_copy(&g, s, strlen(s)), strlen(s));
    guard_free(&g);
    return n;
}

static void test_hex_roundtrip(void **state)
{
    unsigned char in[] = {0x00, 0x7f, 0x80, 0xff, 0x10}, out[8];
    char text[16];
    (void)state;
    assert_int_equal(hli_hex_encode(text, sizeof text, in, sizeof in), 10);
    assert_string_equal(text, "007f80ff10");
    assert_int_equal(hli_hex_decode(out, sizeof out, "007F80fF10", 10), 5);
    assert_memory_equal(out, in, 5);
}

static void test_hex_rejects(void **state)
{
    unsigned char out[8];
    char small[4];
    (void)state;
    assert_int_equal(hli_hex_decode(out, sizeof out, "abc", 3), -1);      /* odd */
    assert_int_equal(hli_hex_decode(out, sizeof out, "zz", 2), -1);       /* not hex */
    assert_int_equal(hli_hex_decode(out, 1, "0011", 4), -1);              /* too long */
    assert_int_equal(hli_hex_encode(small, sizeof small, out, 2), -1);    /* no room for NUL */
}

static void test_b64_known(void **state)
{
    /* RFC 4648 section 10 test vectors */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    (void)state;
    for (int i = 0; i < 7; i++) {
        char text[16];
        unsigned char back[16];
        size_t n = strlen(plain[i]);
        assert_int_equal(hli_b64_encode(text, sizeof text, (const unsigned char *)plain[i], n),
                         (ssize_t)strlen(enc[i]));
        assert_string_equal(text, enc[i]);
        assert_int_equal(b64d(back, sizeof back, enc[i]), (ssize_t)n);
        assert_memory_equal(back, plain[i], n);
    }
}

static void test_b64_variants(void **state)
{
    unsigned char out[16];
    (void)state;
    assert_int_equal(b64d(out, sizeof out, "Zm9vYg"), 4);   /* unpadded */
    assert_int_equal(b64d(out, sizeof out, "-_8"), 2);      /* URL-safe */
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(b64d(out, sizeof out, "+/8="), 2);     /* standard */
    assert_int_equal(out[0], 0xfb);
}

static void test_b64_rejects(void **state)
{
    unsigned char out[4];
    (void)state;
    assert_int_equal(b64d(out, sizeof out, "Z"), -1);          /* 1 char left over */
    assert_int_equal(b64d(out, sizeof out, "Zm9=v"), -1);      /* padding inside */
    assert_int_equal(b64d(out, sizeof out, "Zm="), -1);        /* bad padded length */
    assert_int_equal(b64d(out, sizeof out, "Zm 9v"), -1);      /* whitespace */
    assert_int_equal(b64d(out, sizeof out, "+-AA"), -1);       /* mixed alphabets */
    assert_int_equal(b64d(out, sizeof out, "Zm9vYmFy"), -1);   /* 6 bytes > cap 4 */
    assert_int_equal(b64d(out, sizeof out, "===="), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_roundtrip), cmocka_unit_test(test_hex_rejects),
        cmocka_unit_test(test_b64_known),     cmocka_unit_test(test_b64_variants),
        cmocka_unit_test(test_b64_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
