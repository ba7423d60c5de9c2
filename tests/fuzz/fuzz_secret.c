/* fuzz_secret.c - secret text parsing. Byte 0: scheme (low 2 bits) and
 * encoding (next 2 bits); the rest is the secret text. A secret that
 * formats and parses back must come back as the same key. (Not every key
 * round-trips: raw bytes that happen to read "v1,…" are refused as text.) */
#include "secret_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl_secret *s = NULL, *back = NULL;
    hl_scheme scheme;
    char text[2 * HL_SECRET_TEXT_MAX + 16];
    size_t len;
    if (size < 1)
        return 0;
    scheme = (hl_scheme)(data[0] & 3);
    if (hl_secret_parse(&s, scheme, (hl_secret_encoding)((data[0] >> 2) & 3),
                        (const char *)data + 1, size - 1, NULL) != HL_OK)
        return 0;
    if (hl_secret_format(s, scheme, text, sizeof text, &len, NULL) == HL_OK) {
        if (hl_secret_parse(&back, scheme, HL_SECRET_DEFAULT, text, len, NULL) == HL_OK &&
            (back->len != s->len || memcmp(back->key, s->key, s->len) != 0))
            __builtin_trap();
    }
    hl_secret_free(back);
    hl_secret_free(s);
    return 0;
}
