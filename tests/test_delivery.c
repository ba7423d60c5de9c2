/* test_delivery.c - hl_delivery_options_check and the reserved header names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hookline.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OLD_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhM"

static hl_delivery_secret one_secret[1] = {{SECRET, HL_SECRET_DEFAULT, 0}};

static hl_delivery_options base(void)
{
    hl_delivery_options o = HL_DELIVERY_OPTIONS_INIT;
    o.secrets = one_secret;
    o.n_secrets = 1;
    return o;
}

static void expect(const hl_delivery_options *o, hl_code code, const char *message_part)
{
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hl_delivery_options_check(o, &err);
    if (rc != code)
        fail_msg("got %s (%s), expected %s", hl_code_name(rc), err.message, hl_code_name(code));
    if (message_part && !strstr(err.message, message_part))
        fail_msg("message '%s' lacks '%s'", err.message, message_part);
}

static void test_defaults_and_minimal(void **state)
{
    hl_delivery_options o = HL_DELIVERY_OPTIONS_INIT;
    (void)state;
    assert_int_equal(o.version, HL_DELIVERY_OPTIONS_VERSION);
    assert_int_equal(o.timeout_ms, 10000);
    assert_int_equal(o.auth, HL_AUTH_NONE);
    expect(&o, HL_E_DELIVERY_INVALID, "no signing secret");
    o = base();
    expect(&o, HL_OK, NULL);
    expect(NULL, HL_E_INVALID_ARGUMENT, NULL);
    o.version = 99;
    expect(&o, HL_E_INVALID_ARGUMENT, "version");
    o = base();
    o.scheme = (hl_scheme)42;
    expect(&o, HL_E_INVALID_ARGUMENT, "scheme");
    assert_string_equal(hl_auth_kind_name(HL_AUTH_OAUTH2), "oauth2");
    assert_string_equal(hl_auth_kind_name(7), "unknown");
    assert_string_equal(hl_code_name(HL_E_DELIVERY_INVALID), "delivery_invalid");
    assert_string_equal(hl_code_name(HL_E_DRAINING), "draining");
}

static void test_secrets(void **state)
{
    hl_delivery_options o = base();
    hl_delivery_secret s[3] = {{SECRET, HL_SECRET_DEFAULT, 0},
                               {OLD_SECRET, HL_SECRET_DEFAULT, 1700000000000ull},
                               {"deadbeef", HL_SECRET_HEX, 0}};
    hl_error err = HL_ERROR_INIT;
    (void)state;
    o.secrets = s;
    o.n_secrets = 2;
    expect(&o, HL_OK, NULL); /* rotation: the old one expires */
    s[0].not_after_ms = 1800000000000ull;
    expect(&o, HL_E_DELIVERY_INVALID, "keep one without");
    s[0].not_after_ms = 0;
    /* a malformed secret: its index is named, its text never */
    s[1].text = "v1,whsec_MfKQ9r8GKYqrTwjUPD8I";
    assert_int_equal(hl_delivery_options_check(&o, &err), HL_E_SECRET_MALFORMED);
    assert_non_null(strstr(err.message, "secret 1"));
    assert_null(strstr(err.message, "MfKQ9r8"));
    s[1].text = "with\nnewline";
    expect(&o, HL_E_SECRET_MALFORMED, "secret 1");
    s[1].text = NULL;
    expect(&o, HL_E_INVALID_ARGUMENT, "secret 1");
    s[1].text = OLD_SECRET;
    /* hookline scheme: hex */
    o.scheme = HL_SCHEME_HOOKLINE;
    expect(&o, HL_E_SECRET_MALFORMED, "secret 0");
    s[0].text = "00112233445566778899aabbccddeeff";
    s[1].text = "ffeeddccbbaa99887766554433221100";
    expect(&o, HL_OK, NULL);
    /* github: one signing secret only */
    o.scheme = HL_SCHEME_GITHUB;
    expect(&o, HL_OK, NULL);
    o.n_secrets = 3;
    expect(&o, HL_E_DELIVERY_INVALID, "exactly one");
    /* Ed25519: a public key cannot sign; a private key signs only for standard */
    {
        hl_secret *priv = NULL, *pub = NULL;
        char priv_text[256], pub_text[256];
        assert_int_equal(hl_keypair_generate(&priv, &pub, NULL), HL_OK);
        assert_int_equal(hl_secret_format(priv, HL_SCHEME_STANDARD, priv_text, sizeof priv_text,
                                          NULL, NULL),
                         HL_OK);
        assert_int_equal(
            hl_secret_format(pub, HL_SCHEME_STANDARD, pub_text, sizeof pub_text, NULL, NULL),
            HL_OK);
        hl_delivery_secret ed[2] = {{priv_text, HL_SECRET_DEFAULT, 0},
                                    {pub_text, HL_SECRET_DEFAULT, 1}};
        o = base();
        o.secrets = ed;
        o.n_secrets = 1;
        expect(&o, HL_OK, NULL);
        o.n_secrets = 2;
        expect(&o, HL_E_KEY_KIND, "cannot sign");
        hl_secret_free(priv);
        hl_secret_free(pub);
    }
    {
        hl_delivery_secret many[HL_MAX_SECRETS + 1];
        for (size_t i = 0; i < HL_MAX_SECRETS + 1; i++)
            many[i] = one_secret[0];
        o = base();
        o.secrets = many;
        o.n_secrets = HL_MAX_SECRETS + 1;
        expect(&o, HL_E_TOO_MANY, NULL);
    }
}

static void test_headers(void **state)
{
    hl_delivery_options o = base();
    const char *names[3] = {"X-Api-Key", "x-tenant", "Authorization"};
    const char *values[3] = {"k3y", "acme\tcorp", "Bearer static"};
    char long_value[HL_DELIVERY_HEADER_VALUE_MAX + 2];
    (void)state;
    o.header_names = names;
    o.header_values = values;
    o.n_headers = 3;
    expect(&o, HL_OK, NULL); /* authorization is free when auth is none */
    o.auth = HL_AUTH_BASIC;
    o.basic_user = "u";
    expect(&o, HL_E_DELIVERY_INVALID, "header 2 (Authorization): hookline sets");
    o = base();
    o.header_names = names;
    o.header_values = values;
    o.n_headers = 2;

    const char *reserved[] = {"Content-Type", "user-agent", "webhook-signature", "Host",
                              "content-length", "X-Webhook-Batch-ID",
                              "x-messagesystems-batch-id", "Stripe-Signature",
                              "transfer-encoding", "Proxy-Authorization", "x-hub-signature-256"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        names[1] = reserved[i];
        expect(&o, HL_E_DELIVERY_INVALID, "hookline sets this header itself");
    }
    names[1] = "x tenant";
    expect(&o, HL_E_DELIVERY_INVALID, "offset 1");
    names[1] = "x-tenant:";
    expect(&o, HL_E_DELIVERY_INVALID, "not allowed");
    names[1] = "";
    expect(&o, HL_E_DELIVERY_INVALID, "empty name");
    names[1] = "x-api-KEY";
    expect(&o, HL_E_DELIVERY_INVALID, "repeated");
    names[1] = "x-tenant";
    values[1] = "a\r\nx-injected: 1";
    expect(&o, HL_E_DELIVERY_INVALID, "line break");
    values[1] = "caf\xc3\xa9";
    expect(&o, HL_E_DELIVERY_INVALID, "non-ASCII");
    values[1] = "bell\a";
    expect(&o, HL_E_DELIVERY_INVALID, "control");
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    values[1] = long_value;
    expect(&o, HL_E_DELIVERY_INVALID, "longer than");
    values[1] = "ok";
    o.header_values = NULL;
    expect(&o, HL_E_INVALID_ARGUMENT, NULL);
    o.header_values = values;
    o.n_headers = HL_DELIVERY_HEADERS_MAX + 1;
    expect(&o, HL_E_TOO_MANY, NULL);

    assert_true(hl_delivery_header_reserved("TE", 2, HL_AUTH_NONE));
    assert_true(hl_delivery_header_reserved("webhook-id", 10, HL_AUTH_NONE));
    assert_false(hl_delivery_header_reserved("webhook-idx", 11, HL_AUTH_NONE));
    assert_false(hl_delivery_header_reserved("authorization", 13, HL_AUTH_NONE));
    assert_true(hl_delivery_header_reserved("authorization", 13, HL_AUTH_OAUTH2));
    assert_false(hl_delivery_header_reserved(NULL, 0, HL_AUTH_NONE));
}

static void test_basic_auth(void **state)
{
    hl_delivery_options o = base();
    (void)state;
    o.auth = HL_AUTH_BASIC;
    expect(&o, HL_E_DELIVERY_INVALID, "basic_user is empty");
    o.basic_user = "hook:er";
    expect(&o, HL_E_DELIVERY_INVALID, "':'");
    o.basic_user = "hooker";
    expect(&o, HL_OK, NULL); /* no password is an empty password */
    o.basic_password = "pa\nss";
    expect(&o, HL_E_DELIVERY_INVALID, "basic_password contains a control");
    o.basic_password = "s3cret";
    expect(&o, HL_OK, NULL);
    o.oauth2_client_id = "leftover";
    expect(&o, HL_E_DELIVERY_INVALID, "oauth2_client_id is set but auth is basic");
    o = base();
    o.basic_password = "leftover";
    expect(&o, HL_E_DELIVERY_INVALID, "basic_password is set but auth is none");
    o.basic_password = NULL;
    o.auth = (hl_auth_kind)9;
    expect(&o, HL_E_INVALID_ARGUMENT, "auth 9");
}

static void test_oauth2(void **state)
{
    hl_delivery_options o = base();
    (void)state;
    o.auth = HL_AUTH_OAUTH2;
    expect(&o, HL_E_DELIVERY_INVALID, "oauth2_token_url is empty");
    o.oauth2_token_url = "ftp://auth.example.com/token";
    expect(&o, HL_E_DELIVERY_INVALID, "https://");
    o.oauth2_token_url = "https://auth.example.com/token";
    expect(&o, HL_E_DELIVERY_INVALID, "oauth2_client_id is empty");
    o.oauth2_client_id = "client";
    expect(&o, HL_E_DELIVERY_INVALID, "oauth2_client_secret is empty");
    o.oauth2_client_secret = "shh";
    expect(&o, HL_OK, NULL);
    o.oauth2_scope = "webhooks:write";
    expect(&o, HL_OK, NULL);
    o.oauth2_client_id = "a:b";
    expect(&o, HL_E_DELIVERY_INVALID, "':'");
    o.oauth2_client_id = "client";
    o.basic_user = "x";
    expect(&o, HL_E_DELIVERY_INVALID, "basic_user is set but auth is oauth2");
}

static void test_tls_and_timeout(void **state)
{
    hl_delivery_options o = base();
    (void)state;
    o.tls_client_key = "/etc/hookline/client.key";
    expect(&o, HL_E_DELIVERY_INVALID, "needs tls_client_cert");
    o.tls_client_cert = "/etc/hookline/client.pem";
    expect(&o, HL_OK, NULL);
    o.tls_client_key = NULL;
    expect(&o, HL_OK, NULL); /* key inside the certificate file */
    o.tls_client_cert = "";
    expect(&o, HL_E_DELIVERY_INVALID, "empty");
    o = base();
    o.timeout_ms = 0;
    expect(&o, HL_E_DELIVERY_INVALID, "timeout_ms");
    o.timeout_ms = HL_DELIVERY_TIMEOUT_MAX_MS + 1;
    expect(&o, HL_E_DELIVERY_INVALID, "timeout_ms");
    o.timeout_ms = 300;
    expect(&o, HL_OK, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_minimal), cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_headers),              cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_oauth2),               cmocka_unit_test(test_tls_and_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
