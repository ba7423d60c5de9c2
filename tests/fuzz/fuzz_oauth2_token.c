/* fuzz_oauth2_token.c - the OAuth2 token response parser (the answer of a
 * customer-chosen server): never reads past the input, and a token it
 * accepts makes one header line with nothing that could split it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = NULL;
    uint64_t expires = 0;
    static const char prefix[] = "Authorization: Bearer ";
    if (hli_oauth2_parse((const char *)data, size, &line, &expires, NULL) == HL_OK) {
        size_t n = strlen(line);
        if (n <= sizeof prefix - 1 || memcmp(line, prefix, sizeof prefix - 1) != 0)
            __builtin_trap();
        for (size_t i = sizeof prefix - 1; i < n; i++)
            if ((unsigned char)line[i] <= 0x20 || (unsigned char)line[i] >= 0x7f)
                __builtin_trap();
        hli_wipe_free(line);
    } else if (line != NULL) {
        __builtin_trap();
    }
    return 0;
}
