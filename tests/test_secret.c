/* test_secret.c - parsing, generating and formatting secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "guard.h"
#include "secret_internal.h"

/* Parse `text` placed against a guard page; returns the code, frees. */
static hl_code parse(hl_scheme scheme, hl_secret_encoding enc, const char *text, hl_error *err)
{
    guarded g;
    hl_secret *s = NULL;
    hl_code rc = hl_secret_parse(&s, scheme, enc, guard_copy(&g, text, strlen(text)),
                                 strlen(text), err);
    guard_free(&g);
    if (rc == HL_OK)
        assert_non_null(s);
    else
        assert_null(s);
    hl_secret_free(s);
    return rc;
}

static void expect_malformed(hl_scheme scheme, hl_secret_encoding enc, const char *text,
                             const char *message_part)
{
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(parse(scheme, enc, text, &err), HL_E_SECRET_MALFORMED);
    assert_int_equal(err.code, HL_E_SECRET_MALFORMED);
    if (!strstr(err.message, message_part))
        fail_msg("message '%s' lacks '%s'", err.message, message_part);
}

static void test_standard_forms(void **state)
{
    hl_secret *s = NULL;
    const char *text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    char buf[128];
    (void)state;
    assert_int_equal(hl_secret_parse(&s, HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, text, strlen(text), NULL), HL_OK);
    assert_int_equal(hl_secret_kind_of(s), HL_KEY_HMAC);
    assert_int_equal(s->len, 24);
    assert_int_equal(hl_secret_format(s, HL_SCHEME_STANDARD, buf, sizeof buf, NULL, NULL), HL_OK);
    assert_string_equal(buf, text);
    hl_secret_free(s);
    /* bare base64, unpadded, URL-safe */
    assert_int_equal(parse(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL), HL_OK);
    assert_int_equal(parse(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_AAECAwQ", NULL), HL_OK);
    assert_int_equal(parse(HL_SCHEME_STANDARD, HL_SECRET_BASE64, "whsec_-_-_", NULL), HL_OK);
}

static void test_malformed_messages(void **state)
{
    (void)state;
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "", "empty");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_", "nothing after the prefix");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "v1,whsec_MfKQ9r8GKYqrTwjUPD8I", "'v1,'");
    expect_malformed(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, "sha256=00ff", "'sha256='");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_abc$", "not valid base64");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_abcd\n", "newline");
    expect_malformed(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, "abc", "odd number");
    expect_malformed(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, "zz", "non-hex");
    expect_malformed(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, "whsec_MfKQ9r8GKYqrTwjU", "Standard Webhooks");
    expect_malformed(HL_SCHEME_HOOKLINE, HL_SECRET_HEX, "00\xc3\xa9", "non-ASCII");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsk_AAAA", "32 or 64 bytes");
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whpk_AAAA", "32 bytes");
}

static void test_embedded_nul_and_length(void **state)
{
    hl_secret *s = NULL;
    hl_error err = HL_ERROR_INIT;
    char big[HL_SECRET_TEXT_MAX + 2];
    (void)state;
    assert_int_equal(hl_secret_parse(&s, HL_SCHEME_STRIPE, HL_SECRET_DEFAULT, "ab\0cd", 5, &err),
                     HL_E_SECRET_MALFORMED);
    assert_non_null(strstr(err.message, "NUL"));
    memset(big, 'a', sizeof big);
    assert_int_equal(hl_secret_parse(&s, HL_SCHEME_STRIPE, HL_SECRET_DEFAULT, big, sizeof big, &err),
                     HL_E_SECRET_MALFORMED);
    assert_null(s);
    /* A raw secret may hold UTF-8. */
    assert_int_equal(parse(HL_SCHEME_GITHUB, HL_SECRET_RAW, "cl\xc3\xa9", NULL), HL_OK);
    assert_int_equal(hl_secret_parse(&s, HL_SCHEME__SENTINEL, HL_SECRET_DEFAULT, "a", 1, NULL),
                     HL_E_SCHEME_UNKNOWN);
    assert_int_equal(hl_secret_parse(NULL, HL_SCHEME_STRIPE, HL_SECRET_DEFAULT, "a", 1, NULL),
                     HL_E_INVALID_ARGUMENT);
}

static void test_ed25519_tail_must_match(void **state)
{
    hl_secret *sk = NULL, *pk = NULL, *again = NULL;
    char text[256];
    size_t len;
    (void)state;
    assert_int_equal(hl_keypair_generate(&sk, &pk, NULL), HL_OK);
    assert_int_equal(hl_secret_kind_of(sk), HL_KEY_ED25519_PRIVATE);
    assert_int_equal(hl_secret_kind_of(pk), HL_KEY_ED25519_PUBLIC);
    assert_int_equal(hl_secret_format(sk, HL_SCHEME_STANDARD, text, sizeof text, &len, NULL), HL_OK);
    assert_int_equal(len, 5 + 88);
    assert_int_equal(hl_secret_parse(&again, HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, text, len, NULL), HL_OK);
    assert_memory_equal(again->pub, pk->pub, 32);
    hl_secret_free(again);
    /* Flip one bit of the public tail: must be rejected. */
    text[len - 5] = text[len - 5] == 'A' ? 'B' : 'A';
    expect_malformed(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, text, "does not match");
    assert_int_equal(hl_secret_format(pk, HL_SCHEME_HOOKLINE, text, sizeof text, NULL, NULL), HL_E_KEY_KIND);
    hl_secret_free(sk);
    hl_secret_free(pk);
}

static void test_generate_and_format(void **state)
{
    char a[128], b[128], small[8];
    size_t need = 0;
    (void)state;
    for (int scheme = 0; scheme < HL_SCHEME__SENTINEL; scheme++) {
        hl_secret *s1 = NULL, *s2 = NULL, *back = NULL;
        assert_int_equal(hl_secret_generate(&s1, (hl_scheme)scheme, NULL), HL_OK);
        assert_int_equal(hl_secret_generate(&s2, (hl_scheme)scheme, NULL), HL_OK);
        assert_int_equal(hl_secret_format(s1, (hl_scheme)scheme, a, sizeof a, NULL, NULL), HL_OK);
        assert_int_equal(hl_secret_format(s2, (hl_scheme)scheme, b, sizeof b, NULL, NULL), HL_OK);
        assert_string_not_equal(a, b);
        /* The text form parses back to the same key. */
        assert_int_equal(hl_secret_parse(&back, (hl_scheme)scheme, HL_SECRET_DEFAULT, a, strlen(a), NULL), HL_OK);
        assert_int_equal(back->len, s1->len);
        assert_memory_equal(back->key, s1->key, s1->len);
        assert_int_equal(hl_secret_format(s1, (hl_scheme)scheme, small, sizeof small, &need, NULL),
                         HL_E_BUFFER_TOO_SMALL);
        assert_int_equal(need, strlen(a));
        hl_secret_free(s1);
        hl_secret_free(s2);
        hl_secret_free(back);
    }
    hl_secret_free(NULL);
}

static void test_scheme_names(void **state)
{
    hl_scheme s;
    (void)state;
    assert_int_equal(hl_scheme_from_name(&s, "Stripe", 6), HL_OK);
    assert_int_equal(s, HL_SCHEME_STRIPE);
    assert_int_equal(hl_scheme_from_name(&s, "strip", 5), HL_E_SCHEME_UNKNOWN);
    assert_int_equal(hl_scheme_from_name(&s, "stripes", 7), HL_E_SCHEME_UNKNOWN);
    assert_string_equal(hl_scheme_name(HL_SCHEME_GITHUB), "github");
    assert_string_equal(hl_scheme_name(42), "unknown");
    assert_string_equal(hl_code_name(HL_E_SIGNATURE_MISMATCH), "signature_mismatch");
    assert_string_equal(hl_code_name(-5), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_forms),        cmocka_unit_test(test_malformed_messages),
        cmocka_unit_test(test_embedded_nul_and_length), cmocka_unit_test(test_ed25519_tail_must_match),
        cmocka_unit_test(test_generate_and_format),   cmocka_unit_test(test_scheme_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
