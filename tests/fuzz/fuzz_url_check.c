/*
 * fuzz_url_check.c - libFuzzer target for the SSRF URL check.
 *
 * Input: one byte choosing the policy, then the URL bytes. Beyond "never
 * crash, never read past the input", it checks what the guard promises:
 * an accepted URL normalises to a fixed point (checking the normalised URL
 * gives back the same URL), its literal address passes the address check,
 * and every rejection fills the error report. A dictionary helps:
 * -dict=tests/fuzz/fuzz_url_check.dict
 */
#include "hookline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hl_url_policy *policies[4];

static void make_policies(void)
{
    static const char *cidrs[] = {"127.0.0.2/32", "10.0.0.0/8", "64:ff9b::/96", "fd12::/64"};
    static const char *hosts[] = {"*.corp.example", "intranet"};
    static const char *deny[] = {"*.evil.example"};
    static const uint16_t ports[] = {443, 80, 8080, 8443};
    hl_url_options o = HL_URL_OPTIONS_INIT;
    if (hl_url_policy_new(&policies[0], NULL, NULL) != HL_OK)
        abort();
    o.allow_http = 1;
    if (hl_url_policy_new(&policies[1], &o, NULL) != HL_OK)
        abort();
    o.allow_ports = ports;
    o.n_allow_ports = 4;
    o.allow_cidrs = cidrs;
    o.n_allow_cidrs = 4;
    o.allow_hosts = hosts;
    o.n_allow_hosts = 2;
    o.deny_names = deny;
    o.n_deny_names = 1;
    if (hl_url_policy_new(&policies[2], &o, NULL) != HL_OK)
        abort();
    o.allow_http = 0;
    if (hl_url_policy_new(&policies[3], &o, NULL) != HL_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!policies[0])
        make_policies();
    if (size == 0)
        return 0;
    const hl_url_policy *policy = policies[data[0] & 3];
    /* A private copy, so a read past the end is an ASan error. */
    size_t len = size - 1;
    char *url = malloc(len ? len : 1);
    if (!url)
        return 0;
    memcpy(url, data + 1, len);

    char normalized[HL_URL_NORMALIZED_MAX];
    hl_url_target t;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = hl_url_check(policy, url, len, normalized, sizeof normalized, &t, &err);
    if (rc == HL_OK) {
        size_t n = strlen(normalized);
        if (n == 0 || n >= HL_URL_NORMALIZED_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)normalized[i] <= 0x20 || (unsigned char)normalized[i] >= 0x7f)
                abort();
        char again[HL_URL_NORMALIZED_MAX];
        hl_url_target t2;
        if (hl_url_check(policy, normalized, n, again, sizeof again, &t2, NULL) != HL_OK)
            abort();
        if (strcmp(again, normalized) != 0 || strcmp(t.host, t2.host) != 0 || t.port != t2.port)
            abort();
        if (t.host_is_address && !t.host_is_allowed &&
            hl_address_check(policy, &t.addresses[0], NULL) != HL_OK)
            abort();
    } else if (err.code != rc || err.message[0] == '\0' ||
               strcmp(hl_code_name(rc), "unknown") == 0) {
        abort();
    }

    /* The address parser and checker on the same bytes. */
    hl_address a;
    if (hl_address_parse(&a, url, len, NULL) == HL_OK) {
        char text[HL_ADDRESS_TEXT_MAX];
        if (hl_address_format(&a, text, sizeof text, NULL) != HL_OK)
            abort();
        hl_code c = hl_address_check(policy, &a, &err);
        if (c != HL_OK && c != HL_E_ADDRESS_DENIED)
            abort();
    }
    free(url);
    return 0;
}
