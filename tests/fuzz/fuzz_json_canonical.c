/*
 * fuzz_json_canonical.c - when hli_json_is_compact_canonical says an input
 * is already jansson's compact form, jansson must agree: it loads the input
 * (with the engine's flags) and dumps exactly the same bytes. Enqueue copies
 * such event data instead of doing that round trip.
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    json_t *j;
    char *out;
    size_t n;
    if (!hli_json_is_compact_canonical((const char *)data, size))
        return 0;
    j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        abort(); /* accepted something jansson refuses */
    n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    out = malloc(n ? n : 1);
    if (!out || json_dumpb(j, out, n, JSON_COMPACT | JSON_ENCODE_ANY) != n || n != size ||
        memcmp(out, data, size) != 0)
        abort(); /* the round trip would have changed the bytes */
    free(out);
    json_decref(j);
    return 0;
}
