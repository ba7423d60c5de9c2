/* fuzz_delivery.c - hl_delivery_options_check over arbitrary fields: never
 * crashes, and options it accepts have header names and values that cannot
 * smuggle a header line. Input: two selector bytes (scheme, auth), then
 * NUL-separated fields: secret, header name, header value, basic user,
 * basic password, token URL, client id, client secret. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *fields[8] = {0};
    size_t nf = 0;
    if (size < 2 || size > 8192)
        return 0;
    copy = malloc(size - 2 + 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 2, size - 2);
    copy[size - 2] = '\0';
    for (char *p = copy; nf < 8 && p <= copy + (size - 2); p += strlen(p) + 1)
        fields[nf++] = p;

    hl_delivery_options o = HL_DELIVERY_OPTIONS_INIT;
    hl_delivery_secret secret = {fields[0] ? fields[0] : "", HL_SECRET_DEFAULT, 0};
    const char *names[1] = {fields[1]}, *values[1] = {fields[2]};
    o.scheme = (hl_scheme)(data[0] % (HL_SCHEME__SENTINEL + 1));
    o.auth = (hl_auth_kind)(data[1] % (HL_AUTH__SENTINEL + 1));
    o.secrets = &secret;
    o.n_secrets = 1;
    if (fields[1] && fields[2]) {
        o.header_names = names;
        o.header_values = values;
        o.n_headers = 1;
    }
    o.basic_user = fields[3];
    o.basic_password = fields[4];
    o.oauth2_token_url = fields[5];
    o.oauth2_client_id = fields[6];
    o.oauth2_client_secret = fields[7];
    if (hl_delivery_options_check(&o, NULL) == HL_OK && o.n_headers == 1) {
        if (names[0][0] == '\0' || strpbrk(names[0], ": \r\n") || strpbrk(values[0], "\r\n"))
            __builtin_trap();
        if (hl_delivery_header_reserved(names[0], strlen(names[0]), o.auth))
            __builtin_trap();
    }
    free(copy);
    return 0;
}
