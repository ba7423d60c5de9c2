/* fuzz_endpoint_config.c - the endpoint configuration parser: never reads
 * past the input or crashes, and whatever it accepts writes out as a
 * canonical document that parses back to the very same document (so a
 * stored endpoint always restores as it was saved). */
#include "hookline.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl_endpoint_config *c = NULL, *c2 = NULL;
    hl_error err = HL_ERROR_INIT;
    char *j1 = NULL, *j2 = NULL, *red = NULL;
    size_t n1 = 0, n2 = 0;

    if (hl_endpoint_config_parse(&c, (const char *)data, size, &err) != HL_OK) {
        if (err.code == HL_OK || err.message[0] == '\0')
            __builtin_trap(); /* every failure explains itself */
        return 0;
    }
    if (hl_endpoint_config_to_json(c, 0, &j1, &n1, NULL) != HL_OK)
        __builtin_trap();
    if (hl_endpoint_config_parse(&c2, j1, n1, &err) != HL_OK)
        __builtin_trap();
    if (hl_endpoint_config_to_json(c2, 0, &j2, &n2, NULL) != HL_OK || n1 != n2 ||
        memcmp(j1, j2, n1) != 0)
        __builtin_trap();
    if (hl_endpoint_config_to_json(c, HL_CONFIG_REDACT | HL_CONFIG_PRETTY, &red, NULL, NULL) !=
        HL_OK)
        __builtin_trap();
    hl_endpoint_config_json_free(j1);
    hl_endpoint_config_json_free(j2);
    hl_endpoint_config_json_free(red);
    hl_endpoint_config_free(c);
    hl_endpoint_config_free(c2);
    return 0;
}
