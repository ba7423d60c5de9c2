/*
 * test_ssrf.c - the SSRF guard's pure layers: the URL corpus
 * (vectors/ssrf_urls.tsv), the address deny table, policies, and the
 * registration check with injected resolvers. Run from the repository root
 * (ctest does), where tests/vectors/ is.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hookline.h"
#include "ssrf_corpus.h"
#include "ssrf_internal.h"

/* ---------------------------------------------------------------- corpus */

static void test_url_corpus(void **state)
{
    (void)state;
    static corpus_row row;
    FILE *f = fopen("tests/vectors/ssrf_urls.tsv", "r");
    assert_non_null(f);
    int line = 0, rows = 0, failures = 0, got;
    while ((got = corpus_next(f, &row, &line)) != 0) {
        if (got < 0) {
            fprintf(stderr, "ssrf_urls.tsv:%d: malformed line\n", line);
            failures++;
            continue;
        }
        rows++;
        hl_url_policy *policy = NULL;
        hl_error err = HL_ERROR_INIT;
        if (hl_url_policy_new(&policy, &row.opts, &err) != HL_OK) {
            fprintf(stderr, "ssrf_urls.tsv:%d: options '%s': %s\n", line, row.options_text,
                    err.message);
            failures++;
            continue;
        }
        char normalized[HL_URL_NORMALIZED_MAX];
        hl_url_target target;
        hl_code rc = hl_url_check(policy, row.url, row.url_len, normalized, sizeof normalized,
                                  &target, &err);
        const char *name = hl_code_name(rc);
        int ok = strcmp(name, row.code) == 0 && (rc == HL_OK) == row.expect_accept;
        if (ok && rc == HL_OK && strcmp(normalized, row.normalized) != 0)
            ok = 0;
        if (ok && rc == HL_OK) {
            /* The normalised URL is a fixed point of the check. */
            char again[HL_URL_NORMALIZED_MAX];
            hl_code rc2 = hl_url_check(policy, normalized, strlen(normalized), again,
                                       sizeof again, NULL, NULL);
            if (rc2 != HL_OK || strcmp(again, normalized) != 0) {
                fprintf(stderr, "ssrf_urls.tsv:%d: normalised URL not stable: %s -> %s\n", line,
                        normalized, rc2 == HL_OK ? again : hl_code_name(rc2));
                ok = 0;
            }
        }
        if (ok && rc != HL_OK && (err.code != rc || err.message[0] == '\0')) {
            fprintf(stderr, "ssrf_urls.tsv:%d: error report not filled\n", line);
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "ssrf_urls.tsv:%d: %s [%s]: expected %s %s, got %s %s (%s)\n", line,
                    row.note, row.options_text, row.code, row.normalized, name,
                    rc == HL_OK ? normalized : "-", rc == HL_OK ? "" : err.message);
            failures++;
        }
        hl_url_policy_free(policy);
    }
    fclose(f);
    fprintf(stderr, "ssrf_urls.tsv: %d rows, %d failures\n", rows, failures);
    assert_true(rows >= 100);
    assert_int_equal(failures, 0);
}

/* --------------------------------------------------------------- address */

static hl_code check_text(const hl_url_policy *policy, const char *text)
{
    hl_address a;
    assert_int_equal(hl_address_parse(&a, text, strlen(text), NULL), HL_OK);
    return hl_address_check(policy, &a, NULL);
}

static void test_address_corpus(void **state)
{
    (void)state;
    static corpus_row row;
    FILE *f = fopen("tests/vectors/ssrf_addresses.tsv", "r");
    assert_non_null(f);
    int line = 0, rows = 0, failures = 0, got;
    while ((got = corpus_next(f, &row, &line)) != 0) {
        hl_url_policy *policy = NULL;
        hl_address a;
        if (got < 0 || hl_url_policy_new(&policy, &row.opts, NULL) != HL_OK ||
            hl_address_parse(&a, row.url, row.url_len, NULL) != HL_OK) {
            fprintf(stderr, "ssrf_addresses.tsv:%d: malformed line\n", line);
            failures++;
            hl_url_policy_free(policy);
            continue;
        }
        rows++;
        hl_error err = HL_ERROR_INIT;
        hl_code rc = hl_address_check(policy, &a, &err);
        if (strcmp(hl_code_name(rc), row.code) != 0 || (rc == HL_OK) != row.expect_accept) {
            fprintf(stderr, "ssrf_addresses.tsv:%d: %s [%s]: expected %s, got %s (%s)\n", line,
                    row.url, row.options_text, row.code, hl_code_name(rc), err.message);
            failures++;
        }
        hl_url_policy_free(policy);
    }
    fclose(f);
    fprintf(stderr, "ssrf_addresses.tsv: %d rows, %d failures\n", rows, failures);
    assert_true(rows >= 50);
    assert_int_equal(failures, 0);
}

static void test_address_messages(void **state)
{
    (void)state;
    hl_address a;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(hl_address_parse(&a, "169.254.169.254", 15, NULL), HL_OK);
    assert_int_equal(hl_address_check(NULL, &a, &err), HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(err.message, "metadata"));
    assert_int_equal(hl_address_parse(&a, "[2002:7f00:1::]", 15, NULL), HL_OK);
    assert_int_equal(hl_address_check(NULL, &a, &err), HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(err.message, "127.0.0.1"));
    assert_string_equal(hl_code_name(HL_E_ADDRESS_DENIED), "address_denied");
    for (int c = 200; c < 215; c++)
        assert_string_not_equal(hl_code_name(c), "unknown");
}

static void test_address_forms(void **state)
{
    (void)state;
    hl_address a;
    char text[HL_ADDRESS_TEXT_MAX];
    assert_int_equal(hl_address_parse(&a, "0:0::ffff:7f00:1", 16, NULL), HL_OK);
    assert_int_equal(hl_address_format(&a, text, sizeof text, NULL), HL_OK);
    assert_string_equal(text, "::ffff:127.0.0.1");
    assert_int_equal(hl_address_format(&a, text, 4, NULL), HL_E_BUFFER_TOO_SMALL);
    /* strict parse: no short or octal forms, no zone ids */
    assert_int_equal(hl_address_parse(&a, "127.1", 5, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_address_parse(&a, "fe80::1%eth0", 12, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_address_parse(&a, "", 0, NULL), HL_E_INVALID_ARGUMENT);
    /* not NUL-terminated input is read by length only */
    assert_int_equal(hl_address_parse(&a, "10.0.0.1XYZ", 8, NULL), HL_OK);
    assert_int_equal(a.bytes[3], 1);

    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr.s6_addr[15] = 1;
    assert_int_equal(hl_address_from_sockaddr(&a, &sin6, sizeof sin6, NULL), HL_OK);
    assert_int_equal(a.family, HL_FAMILY_IPV6);
    assert_int_equal(hl_address_check(NULL, &a, NULL), HL_E_ADDRESS_DENIED);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x08080808);
    assert_int_equal(hl_address_from_sockaddr(&a, &sin, sizeof sin, NULL), HL_OK);
    assert_int_equal(hl_address_check(NULL, &a, NULL), HL_OK);
    assert_int_equal(hl_address_from_sockaddr(&a, &sin, 4, NULL), HL_E_INVALID_ARGUMENT);

    uint8_t v4[4];
    assert_true(hli_ipv4_parse_loose("0x7f.1", 6, v4));
    assert_int_equal(v4[0], 127);
    assert_int_equal(v4[3], 1);
    assert_false(hli_ipv4_parse_loose("1.2.3.4.5", 9, v4));
    assert_false(hli_ipv4_parse_loose("", 0, v4));
    assert_false(hli_ipv4_parse_loose("1..2", 4, v4));
    assert_true(hli_host_ends_in_number("a.0x", 4));
    assert_false(hli_host_ends_in_number("a.b1", 4));
}

/* ---------------------------------------------------------------- policy */

static void test_policy_errors(void **state)
{
    (void)state;
    hl_url_policy *p = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_url_options o = HL_URL_OPTIONS_INIT;
    const char *bad_cidr[] = {"10.0.0.0/33"};
    o.allow_cidrs = bad_cidr;
    o.n_allow_cidrs = 1;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_INVALID_ARGUMENT);
    assert_null(p);
    const char *bad_cidr2[] = {"example.com/8"};
    o.allow_cidrs = bad_cidr2;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_INVALID_ARGUMENT);
    o.n_allow_cidrs = 0;
    const char *bad_host[] = {"bad host"};
    o.allow_hosts = bad_host;
    o.n_allow_hosts = 1;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_INVALID_ARGUMENT);
    o.n_allow_hosts = 0;
    uint16_t zero = 0;
    o.allow_ports = &zero;
    o.n_allow_ports = 1;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_INVALID_ARGUMENT);
    o.n_allow_ports = HL_URL_LIST_MAX + 1;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_TOO_MANY);
    o.n_allow_ports = 0;
    o.version = 99;
    assert_int_equal(hl_url_policy_new(&p, &o, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_url_policy_new(NULL, NULL, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_url_policy_new(&p, NULL, &err), HL_OK);
    hl_url_policy_free(p);
    hl_url_policy_free(NULL);

    /* host bits are cleared: 10.1.2.3/8 means 10/8 */
    hl_url_options o2 = HL_URL_OPTIONS_INIT;
    const char *cidr[] = {"10.1.2.3/8", "2001:db8::5"};
    o2.allow_cidrs = cidr;
    o2.n_allow_cidrs = 2;
    assert_int_equal(hl_url_policy_new(&p, &o2, &err), HL_OK);
    assert_int_equal(check_text(p, "10.200.0.1"), HL_OK);
    assert_int_equal(check_text(p, "2001:db8::5"), HL_OK);
    assert_int_equal(check_text(p, "2001:db8::6"), HL_E_ADDRESS_DENIED);
    hl_url_policy_free(p);
}

static void test_url_arguments(void **state)
{
    (void)state;
    char buf[HL_URL_NORMALIZED_MAX];
    hl_error err = HL_ERROR_INIT;
    hl_url_target t;
    assert_int_equal(hl_url_check(NULL, "", 0, buf, sizeof buf, NULL, &err), HL_E_URL_MALFORMED);
    assert_int_equal(hl_url_check(NULL, NULL, 0, buf, sizeof buf, NULL, &err), HL_E_URL_MALFORMED);
    assert_int_equal(hl_url_check(NULL, NULL, 5, buf, sizeof buf, NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_url_check(NULL, "https://a.com/", 14, NULL, 10, NULL, &err),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_url_check(NULL, "https://a.com/", 14, NULL, 0, NULL, &err), HL_OK);
    assert_int_equal(hl_url_check(NULL, "https://a.com/", 14, buf, 10, NULL, &err),
                     HL_E_BUFFER_TOO_SMALL);
    assert_int_equal(hl_url_check(NULL, "https://a.com/", 14, buf, 15, NULL, &err), HL_OK);
    assert_string_equal(buf, "https://a.com/");
    /* length, not NUL, ends the input: the tail is never read */
    assert_int_equal(hl_url_check(NULL, "https://a.com/@127.0.0.1", 14, buf, sizeof buf, &t, &err),
                     HL_OK);
    assert_string_equal(t.host, "a.com");
    assert_int_equal(t.port, 443);
    assert_string_equal(t.scheme, "https");
    assert_int_equal(t.host_is_address, 0);
    assert_int_equal(t.n_addresses, 0);
    /* an embedded NUL is refused, never truncated */
    assert_int_equal(hl_url_check(NULL, "https://a.com\0.evil/", 20, buf, sizeof buf, &t, &err),
                     HL_E_URL_CONTROL_CHAR);
    assert_int_equal(hl_url_check(NULL, "https://[2606:4700::1]:443/", 27, buf, sizeof buf, &t,
                                  &err),
                     HL_OK);
    assert_int_equal(t.host_is_address, 1);
    assert_string_equal(t.host, "2606:4700::1");
    assert_int_equal(t.n_addresses, 1);
}

/* -------------------------------------------------------------- resolver */

/* A fake DNS: name -> answers, counting lookups. */
struct fake_dns {
    const char *name;
    const char *answers[HL_RESOLVE_MAX + 2];
    int calls;
};

static struct fake_dns DNS[] = {
    {"public.example", {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}, 0},
    {"mixed.example", {"93.184.215.14", "10.0.0.7"}, 0},
    {"mixed6.example", {"2606:4700::1", "fd00::1"}, 0},
    {"localtest.me", {"127.0.0.1"}, 0},
    {"127.0.0.1.nip.io", {"127.0.0.1"}, 0},
    {"metadata.example", {"169.254.169.254"}, 0},
    {"mapped.example", {"::ffff:127.0.0.1"}, 0},
    {"hooks.corp.example", {"10.20.0.5"}, 0},
    {"empty.example", {NULL}, 0},
    {"many.example",
     {"1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.5", "1.0.0.6", "1.0.0.7", "1.0.0.8",
      "1.0.0.9", "1.0.0.10", "1.0.0.11", "1.0.0.12", "1.0.0.13", "1.0.0.14", "1.0.0.15",
      "1.0.0.16", "1.0.0.17", "1.0.0.18", "1.0.0.19", "1.0.0.20", "1.0.0.21", "1.0.0.22",
      "1.0.0.23", "1.0.0.24", "1.0.0.25", "1.0.0.26", "1.0.0.27", "1.0.0.28", "1.0.0.29",
      "1.0.0.30", "1.0.0.31", "1.0.0.32", "1.0.0.33"},
     0},
};

static hl_code fake_resolve(void *user, const char *host, hl_address *out, size_t cap,
                            size_t *n_out, hl_error *err)
{
    (void)user;
    for (size_t i = 0; i < sizeof DNS / sizeof DNS[0]; i++) {
        if (strcmp(DNS[i].name, host) != 0)
            continue;
        DNS[i].calls++;
        size_t n = 0;
        while (DNS[i].answers[n])
            n++;
        if (n > cap)
            return HL_E_TOO_MANY;
        for (size_t j = 0; j < n; j++)
            assert_int_equal(hl_address_parse(&out[j], DNS[i].answers[j],
                                              strlen(DNS[i].answers[j]), NULL),
                             HL_OK);
        *n_out = n;
        return HL_OK;
    }
    if (err) {
        err->code = HL_E_RESOLVE_FAILED;
        snprintf(err->message, sizeof err->message, "NXDOMAIN");
    }
    return HL_E_RESOLVE_FAILED;
}

static hl_code resolve_url(const hl_url_policy *p, const char *url, hl_url_target *t,
                           hl_error *err)
{
    hl_resolver r = {fake_resolve, NULL};
    char buf[HL_URL_NORMALIZED_MAX];
    return hl_url_check_resolve(p, &r, url, strlen(url), buf, sizeof buf, t, err);
}

static void test_resolve(void **state)
{
    (void)state;
    hl_url_target t;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(resolve_url(NULL, "https://public.example/hook", &t, &err), HL_OK);
    assert_int_equal(t.n_addresses, 2);
    assert_int_equal(t.addresses[1].family, HL_FAMILY_IPV6);

    /* one public and one private answer: rejected, not filtered */
    assert_int_equal(resolve_url(NULL, "https://mixed.example/", &t, &err), HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(err.message, "10.0.0.7"));
    assert_non_null(strstr(err.message, "mixed.example"));
    assert_int_equal(t.n_addresses, 0);
    assert_int_equal(resolve_url(NULL, "https://mixed6.example/", &t, &err), HL_E_ADDRESS_DENIED);

    /* names that pass the URL layer and only resolution catches */
    assert_int_equal(resolve_url(NULL, "https://localtest.me/", &t, &err), HL_E_ADDRESS_DENIED);
    assert_int_equal(resolve_url(NULL, "https://127.0.0.1.nip.io/", &t, &err),
                     HL_E_ADDRESS_DENIED);
    assert_int_equal(resolve_url(NULL, "https://metadata.example/", &t, &err),
                     HL_E_ADDRESS_DENIED);
    assert_int_equal(resolve_url(NULL, "https://mapped.example/", &t, &err), HL_E_ADDRESS_DENIED);

    /* resolver failures */
    assert_int_equal(resolve_url(NULL, "https://nxdomain.example/", &t, &err),
                     HL_E_RESOLVE_FAILED);
    assert_non_null(strstr(err.message, "NXDOMAIN"));
    assert_int_equal(resolve_url(NULL, "https://empty.example/", &t, &err), HL_E_RESOLVE_FAILED);
    assert_int_equal(resolve_url(NULL, "https://many.example/", &t, &err), HL_E_RESOLVE_FAILED);

    /* URL-layer rejections happen before any lookup */
    int before = DNS[3].calls;
    assert_int_equal(resolve_url(NULL, "https://localtest.me:8443/", &t, &err),
                     HL_E_URL_PORT_DENIED);
    assert_int_equal(DNS[3].calls, before);
    /* literal addresses are not resolved */
    assert_int_equal(resolve_url(NULL, "https://8.8.8.8/", &t, &err), HL_OK);
    assert_int_equal(t.n_addresses, 1);

    /* operator allowances */
    hl_url_policy *p = NULL;
    hl_url_options o = HL_URL_OPTIONS_INIT;
    const char *hosts[] = {"*.corp.example"};
    o.allow_hosts = hosts;
    o.n_allow_hosts = 1;
    assert_int_equal(hl_url_policy_new(&p, &o, NULL), HL_OK);
    assert_int_equal(resolve_url(p, "https://hooks.corp.example/", &t, &err), HL_OK);
    assert_int_equal(t.host_is_allowed, 1);
    assert_int_equal(t.n_addresses, 1);
    hl_url_policy_free(p);
    hl_url_options o2 = HL_URL_OPTIONS_INIT;
    const char *cidrs[] = {"10.20.0.0/16"};
    o2.allow_cidrs = cidrs;
    o2.n_allow_cidrs = 1;
    assert_int_equal(hl_url_policy_new(&p, &o2, NULL), HL_OK);
    assert_int_equal(resolve_url(p, "https://hooks.corp.example/", &t, &err), HL_OK);
    assert_int_equal(t.host_is_allowed, 0);
    assert_int_equal(resolve_url(p, "https://mixed.example/", &t, &err), HL_E_ADDRESS_DENIED);
    hl_url_policy_free(p);

    hl_resolver none = {NULL, NULL};
    assert_int_equal(hl_url_check_resolve(NULL, &none, "https://a.com/", 14, NULL, 0, NULL, &err),
                     HL_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_corpus),     cmocka_unit_test(test_address_corpus),
        cmocka_unit_test(test_address_messages), cmocka_unit_test(test_address_forms),
        cmocka_unit_test(test_policy_errors),  cmocka_unit_test(test_url_arguments),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
