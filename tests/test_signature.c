/* test_signature.c - sign and verify: known answers, every error, edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec.h"
#include "hookline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS 1778155200
static const char *BODY = "{\"id\":\"evt_1\",\"type\":\"email.outbound.opened\",\"created_at\":\"2026-05-07T12:00:00Z\"}";
static const char *HEX1 = "2a7b38c2dd1e6a7c1bd2c0c1f5c0b1c3e1f7f0a0aa55aa55aa55aa55aa55aa55";
static const char *HEX2 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static hl_secret *secret(hl_scheme scheme, hl_secret_encoding enc, const char *text)
{
    hl_secret *s = NULL;
    hl_error err = HL_ERROR_INIT;
    if (hl_secret_parse(&s, scheme, enc, text, strlen(text), &err) != HL_OK)
        fail_msg("secret did not parse: %s", err.message);
    return s;
}

/* Signed headers as hl_header views (what a receiver would be handed). */
static size_t as_headers(const hl_signed *sig, hl_header *h)
{
    for (size_t i = 0; i < sig->count; i++) {
        h[i].name = sig->headers[i].name;
        h[i].name_len = strlen(sig->headers[i].name);
        h[i].value = sig->headers[i].value;
        h[i].value_len = strlen(sig->headers[i].value);
    }
    return sig->count;
}

static hl_secret_encoding encoding_named(const char *name)
{
    if (!strcmp(name, "hex"))
        return HL_SECRET_HEX;
    if (!strcmp(name, "base64"))
        return HL_SECRET_BASE64;
    if (!strcmp(name, "raw"))
        return HL_SECRET_RAW;
    return HL_SECRET_DEFAULT;
}

static size_t load_secrets(json_t *arr, hl_scheme scheme, hl_secret_encoding enc, hl_secret **out)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) out[i] = secret(scheme, enc, json_string_value(v));
    return json_array_size(arr);
}

static void test_known_answer_vectors(void **state)
{
    json_error_t jerr;
    json_t *root = json_load_file("tests/vectors/signatures.json", 0, &jerr), *vectors, *vec;
    size_t idx;
    (void)state;
    if (!root)
        fail_msg("cannot load vectors: %s", jerr.text);
    vectors = json_object_get(root, "vectors");
    assert_true(json_array_size(vectors) >= 20);
    json_array_foreach(vectors, idx, vec) {
        const char *name = json_string_value(json_object_get(vec, "name"));
        hl_scheme scheme;
        hl_secret_encoding enc = encoding_named(json_string_value(json_object_get(vec, "secret_encoding")));
        hl_secret *sign_keys[HL_MAX_SECRETS], *verify_keys[HL_MAX_SECRETS];
        size_t n_sign, n_verify;
        json_t *vs = json_object_get(vec, "verify_secrets"), *jbody = json_object_get(vec, "body");
        const char *msg_id = json_string_value(json_object_get(vec, "msg_id"));
        int64_t ts = json_is_integer(json_object_get(vec, "timestamp"))
                         ? json_integer_value(json_object_get(vec, "timestamp")) : 0;
        unsigned char body[4096];
        size_t body_len;
        hl_signed sig;
        hl_header h[HL_SIGNED_MAX_HEADERS];
        hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
        hl_verify_result res;
        hl_error err = HL_ERROR_INIT;
        const char *sname = json_string_value(json_object_get(vec, "scheme"));

        assert_int_equal(hl_scheme_from_name(&scheme, sname, strlen(sname)), HL_OK);
        if (jbody) {
            body_len = json_string_length(jbody);
            memcpy(body, json_string_value(jbody), body_len);
        } else {
            const char *b64 = json_string_value(json_object_get(vec, "body_b64"));
            ssize_t n = hli_b64_decode(body, sizeof body, b64, strlen(b64));
            assert_true(n > 0);
            body_len = (size_t)n;
        }
        n_sign = load_secrets(json_object_get(vec, "secrets"), scheme, enc, sign_keys);
        n_verify = load_secrets(vs ? vs : json_object_get(vec, "secrets"), scheme, enc, verify_keys);

        if (hl_sign(scheme, (const hl_secret *const *)sign_keys, n_sign, msg_id, ts, body, body_len,
                    &sig, &err) != HL_OK)
            fail_msg("%s: sign failed: %s", name, err.message);
        assert_int_equal(sig.count, json_object_size(json_object_get(vec, "headers")));
        for (size_t i = 0; i < sig.count; i++) {
            json_t *want = json_object_get(json_object_get(vec, "headers"), sig.headers[i].name);
            if (!want || strcmp(json_string_value(want), sig.headers[i].value) != 0)
                fail_msg("%s: header %s = '%s', want '%s'", name, sig.headers[i].name,
                         sig.headers[i].value, want ? json_string_value(want) : "(absent)");
        }
        opts.scheme = scheme;
        if (hl_verify(&opts, (const hl_secret *const *)verify_keys, n_verify, ts,
                      h, as_headers(&sig, h), body, body_len, &res, &err) != HL_OK)
            fail_msg("%s: verify failed: %s", name, err.message);
        assert_int_equal(res.timestamp, scheme == HL_SCHEME_GITHUB ? -1 : ts);
        assert_string_equal(res.msg_id, msg_id ? msg_id : "");
        /* One flipped body bit must fail. */
        if (body_len) {
            body[body_len / 2] ^= 1;
            assert_int_equal(hl_verify(&opts, (const hl_secret *const *)verify_keys, n_verify, ts,
                                       h, sig.count, body, body_len, NULL, NULL),
                             HL_E_SIGNATURE_MISMATCH);
        }
        for (size_t i = 0; i < n_sign; i++)
            hl_secret_free(sign_keys[i]);
        for (size_t i = 0; i < n_verify; i++)
            hl_secret_free(verify_keys[i]);
    }
    json_decref(root);
}

/* Sign BODY with the hookline scheme at `ts`, then verify at `now`. */
static hl_code hookline_roundtrip(int64_t ts, int64_t now, hl_error *err)
{
    hl_secret *k = secret(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, HEX1);
    hl_signed sig;
    hl_header h[4];
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_code rc;
    opts.scheme = HL_SCHEME_HOOKLINE;
    assert_int_equal(hl_sign(HL_SCHEME_HOOKLINE, (const hl_secret *const *)&k, 1, NULL, ts, BODY,
                             strlen(BODY), &sig, NULL), HL_OK);
    rc = hl_verify(&opts, (const hl_secret *const *)&k, 1, now, h, as_headers(&sig, h), BODY,
                   strlen(BODY), NULL, err);
    hl_secret_free(k);
    return rc;
}

static void test_tolerance_edges(void **state)
{
    hl_error err = HL_ERROR_INIT;
    (void)state;
    assert_int_equal(hookline_roundtrip(TS, TS + 300, NULL), HL_OK);
    assert_int_equal(hookline_roundtrip(TS, TS - 300, NULL), HL_OK);
    assert_int_equal(hookline_roundtrip(TS, TS + 301, &err), HL_E_TIMESTAMP_TOO_OLD);
    assert_non_null(strstr(err.message, "301 s old"));
    assert_int_equal(hookline_roundtrip(TS, TS - 301, &err), HL_E_TIMESTAMP_IN_FUTURE);
    assert_int_equal(hookline_roundtrip(0, INT64_MIN, &err), HL_E_TIMESTAMP_IN_FUTURE);
    assert_int_equal(hookline_roundtrip(0, INT64_MAX, &err), HL_E_TIMESTAMP_TOO_OLD);
}

static void test_rotation(void **state)
{
    hl_secret *old = secret(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, HEX1);
    hl_secret *new = secret(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, HEX2);
    hl_secret *both[2] = {old, new}, *only_new[1] = {new}, *new_then_old[2] = {new, old};
    hl_signed sig;
    hl_header h[4];
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_verify_result res;
    (void)state;
    opts.scheme = HL_SCHEME_HOOKLINE;
    /* sender signs with old only; receiver holds new and old */
    assert_int_equal(hl_sign(HL_SCHEME_HOOKLINE, (const hl_secret *const *)&old, 1, NULL, TS, BODY,
                             strlen(BODY), &sig, NULL), HL_OK);
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)new_then_old, 2, TS, h,
                               as_headers(&sig, h), BODY, strlen(BODY), &res, NULL), HL_OK);
    assert_int_equal(res.secret_index, 1);
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)only_new, 1, TS, h, sig.count, BODY,
                               strlen(BODY), NULL, NULL), HL_E_SIGNATURE_MISMATCH);
    /* sender signs with both: two comma-separated signatures, either verifies */
    assert_int_equal(hl_sign(HL_SCHEME_HOOKLINE, (const hl_secret *const *)both, 2, NULL, TS, BODY,
                             strlen(BODY), &sig, NULL), HL_OK);
    assert_non_null(strchr(sig.headers[1].value, ','));
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)only_new, 1, TS, h,
                               as_headers(&sig, h), BODY, strlen(BODY), &res, NULL), HL_OK);
    assert_int_equal(res.secret_index, 0);
    hl_secret_free(old);
    hl_secret_free(new);
}

static void test_error_kinds(void **state)
{
    hl_secret *k = secret(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    hl_signed sig;
    hl_header h[6];
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    size_t n;
    (void)state;
    assert_int_equal(hl_sign(HL_SCHEME_STANDARD, (const hl_secret *const *)&k, 1, "msg_1", TS, BODY,
                             strlen(BODY), &sig, NULL), HL_OK);
    n = as_headers(&sig, h);
    /* missing: drop webhook-signature (the third) */
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, 2, BODY, strlen(BODY), NULL, &err),
                     HL_E_HEADER_MISSING);
    assert_string_equal(hl_code_name(err.code), "header_missing");
    /* repeated header */
    h[n] = h[2];
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n + 1, BODY, strlen(BODY), NULL, &err),
                     HL_E_HEADER_MALFORMED);
    /* malformed timestamp */
    h[1].value = "161426533.0";
    h[1].value_len = 11;
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_HEADER_MALFORMED);
    as_headers(&sig, h);
    /* body too large */
    opts.max_body = 10;
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_BODY_TOO_LARGE);
    opts.max_body = HL_DEFAULT_MAX_BODY;
    /* id with a space is malformed */
    h[0].value = "msg 1";
    h[0].value_len = 5;
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_HEADER_MALFORMED);
    as_headers(&sig, h);
    /* another id: mismatch (the id is signed) */
    h[0].value = "msg_2";
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_SIGNATURE_MISMATCH);
    /* bad options */
    opts.version = 99;
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    opts.version = HL_VERIFY_OPTIONS_VERSION;
    opts.tolerance = -1;
    assert_int_equal(hl_verify(&opts, (const hl_secret *const *)&k, 1, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_verify(NULL, (const hl_secret *const *)&k, 0, TS, h, n, BODY, strlen(BODY), NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    hl_secret_free(k);
}

static void test_event_fields_and_case(void **state)
{
    hl_secret *k = secret(HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    hl_signed sig;
    hl_header h[4];
    hl_verify_result res;
    (void)state;
    assert_int_equal(hl_sign(HL_SCHEME_STANDARD, (const hl_secret *const *)&k, 1, "msg_1", TS, BODY,
                             strlen(BODY), &sig, NULL), HL_OK);
    as_headers(&sig, h);
    h[0].name = "Webhook-Id";
    h[1].name = "WEBHOOK-TIMESTAMP";
    assert_int_equal(hl_verify(NULL, (const hl_secret *const *)&k, 1, TS, h, 3, BODY, strlen(BODY), &res, NULL), HL_OK);
    assert_int_equal(res.has_event, 1);
    assert_string_equal(res.event_id, "evt_1");
    assert_string_equal(res.event_type, "email.outbound.opened");
    assert_string_equal(res.created_at, "2026-05-07T12:00:00Z");
    hl_secret_free(k);
}

static void test_big_and_hostile(void **state)
{
    size_t big = 10u * 1024 * 1024;
    unsigned char *body = malloc(big);
    char *value = malloc(1024 * 1024);
    hl_secret *k = secret(HL_SCHEME_HOOKLINE, HL_SECRET_DEFAULT, HEX1);
    hl_verifier *v = NULL;
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_signed sig;
    hl_header h[4];
    (void)state;
    for (size_t i = 0; i < big; i++)
        body[i] = (unsigned char)(i * 131);
    opts.scheme = HL_SCHEME_HOOKLINE;
    assert_int_equal(hl_verifier_new(&v, &opts, (const hl_secret *const *)&k, 1, NULL), HL_OK);
    assert_int_equal(hl_sign(HL_SCHEME_HOOKLINE, (const hl_secret *const *)&k, 1, NULL, TS, body,
                             big, &sig, NULL), HL_OK);
    assert_int_equal(hl_verifier_verify(v, TS, h, as_headers(&sig, h), body, big, NULL, NULL), HL_OK);
    /* reusable: the same verifier again, and an empty body */
    assert_int_equal(hl_verifier_verify(v, TS, h, 2, body, big, NULL, NULL), HL_OK);
    assert_int_equal(hl_sign(HL_SCHEME_HOOKLINE, (const hl_secret *const *)&k, 1, NULL, TS, NULL, 0,
                             &sig, NULL), HL_OK);
    assert_int_equal(hl_verifier_verify(v, TS, h, as_headers(&sig, h), NULL, 0, NULL, NULL), HL_OK);
    /* a 1 MiB signature header */
    memset(value, 'a', 1024 * 1024);
    h[1].value = value;
    h[1].value_len = 1024 * 1024;
    assert_int_equal(hl_verifier_verify(v, TS, h, 2, NULL, 0, NULL, NULL), HL_E_HEADER_MALFORMED);
    /* a NUL inside the signature header */
    memcpy(value, sig.headers[1].value, 64);
    value[10] = '\0';
    h[1].value_len = 64;
    assert_int_equal(hl_verifier_verify(v, TS, h, 2, NULL, 0, NULL, NULL), HL_E_HEADER_MALFORMED);
    /* a NUL inside a header name: not the header we look for */
    h[1].name = "x-webhook-signature\0x";
    h[1].name_len = 21;
    assert_int_equal(hl_verifier_verify(v, TS, h, 2, NULL, 0, NULL, NULL), HL_E_HEADER_MISSING);
    hl_verifier_free(v);
    hl_verifier_free(NULL);
    hl_secret_free(k);
    free(body);
    free(value);
}

static void test_signer_rules(void **state)
{
    hl_secret *sk = NULL, *pk = NULL, *hm = NULL;
    hl_signer *s = NULL;
    hl_signed sig;
    hl_error err = HL_ERROR_INIT;
    char id[64];
    hl_secret *two[2];
    (void)state;
    assert_int_equal(hl_keypair_generate(&sk, &pk, NULL), HL_OK);
    assert_int_equal(hl_secret_generate(&hm, HL_SCHEME_GITHUB, NULL), HL_OK);
    assert_int_equal(hl_signer_new(&s, HL_SCHEME_STANDARD, (const hl_secret *const *)&pk, 1, &err), HL_E_KEY_KIND);
    assert_int_equal(hl_signer_new(&s, HL_SCHEME_HOOKLINE, (const hl_secret *const *)&sk, 1, &err), HL_E_KEY_KIND);
    two[0] = two[1] = hm;
    assert_int_equal(hl_signer_new(&s, HL_SCHEME_GITHUB, (const hl_secret *const *)two, 2, &err), HL_E_KEY_KIND);
    assert_int_equal(hl_signer_new(&s, HL_SCHEME_STANDARD, NULL, 0, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_signer_new(&s, HL_SCHEME_STANDARD, (const hl_secret *const *)&sk, 1, &err), HL_OK);
    assert_int_equal(hl_signer_sign(s, NULL, TS, "x", 1, &sig, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_signer_sign(s, "has space", TS, "x", 1, &sig, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_signer_sign(s, "msg_1", -1, "x", 1, &sig, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_generate_id(id, sizeof id, NULL, NULL), HL_OK);
    assert_int_equal(strlen(id), 30);
    assert_memory_equal(id, "msg_", 4);
    assert_int_equal(hl_generate_id(id, 10, NULL, &err), HL_E_BUFFER_TOO_SMALL);
    assert_int_equal(hl_signer_sign(s, "msg_1", TS, "x", 1, &sig, &err), HL_OK);
    assert_memory_equal(sig.headers[2].value, "v1a,", 4);
    hl_signer_free(s);
    hl_secret_free(sk);
    hl_secret_free(pk);
    hl_secret_free(hm);
}

static void test_event_peek(void **state)
{
    hl_event_summary ev;
    hl_error err = HL_ERROR_INIT;
    const char *numeric = "{\"id\": 42, \"eventType\": \"domain.verified\"}";
    (void)state;
    assert_int_equal(hl_event_peek(numeric, strlen(numeric), &ev, NULL), HL_OK);
    assert_string_equal(ev.id, "42");
    assert_string_equal(ev.type, "domain.verified");
    assert_string_equal(ev.created_at, "");
    assert_int_equal(hl_event_peek("[1,2]", 5, &ev, &err), HL_E_JSON);
    assert_int_equal(hl_event_peek("{\"id\":", 6, &ev, &err), HL_E_JSON);
    assert_int_equal(hl_event_peek("", 0, &ev, &err), HL_E_JSON);
    assert_int_equal(hl_event_peek("\xff\xfe", 2, &ev, &err), HL_E_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_vectors), cmocka_unit_test(test_tolerance_edges),
        cmocka_unit_test(test_rotation),             cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_event_fields_and_case), cmocka_unit_test(test_big_and_hostile),
        cmocka_unit_test(test_signer_rules),         cmocka_unit_test(test_event_peek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
