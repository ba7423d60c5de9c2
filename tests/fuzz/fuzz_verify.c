/* fuzz_verify.c - a whole request through hl_verify. The input is split at
 * the first two 0x00 bytes: headers block ("name: value" lines), scheme
 * byte, then body. Forged input must never verify. */
#include "hookline.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hl_secret *keys[HL_SCHEME__SENTINEL];
    static const char *const TEXT[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                       "00112233445566778899aabbccddeeff", "whsec_test",
                                       "It's a Secret to Everybody"};
    const uint8_t *sep = memchr(data, 0, size), *body;
    hl_header headers[32];
    size_t n = 0, body_len;
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;

    if (!sep || (size_t)(sep - data) + 2 > size)
        return 0;
    opts.scheme = (hl_scheme)(sep[1] % HL_SCHEME__SENTINEL);
    if (!keys[opts.scheme] &&
        hl_secret_parse(&keys[opts.scheme], opts.scheme, HL_SECRET_DEFAULT, TEXT[opts.scheme],
                        strlen(TEXT[opts.scheme]), NULL) != HL_OK)
        __builtin_trap();
    body = sep + 2;
    body_len = size - (size_t)(body - data);
    for (const uint8_t *line = data; line < sep && n < 32;) {
        const uint8_t *end = memchr(line, '\n', (size_t)(sep - line));
        const uint8_t *colon;
        if (!end)
            end = sep;
        colon = memchr(line, ':', (size_t)(end - line));
        if (colon) {
            headers[n].name = (const char *)line;
            headers[n].name_len = (size_t)(colon - line);
            headers[n].value = (const char *)colon + 1;
            headers[n].value_len = (size_t)(end - colon - 1);
            n++;
        }
        line = end + 1;
    }
    if (hl_verify(&opts, (const hl_secret *const *)&keys[opts.scheme], 1, 1778155200, headers, n,
                  body, body_len, NULL, NULL) == HL_OK)
        __builtin_trap(); /* a fuzzer forging HMAC-SHA256 would be news */
    return 0;
}
