/*
 * fuzz_event_peek.c - hl_event_peek (single-pass scanner, jansson when
 * unsure) must give exactly jansson's answer: the same code and the same
 * fields, for any input.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    hl_event_summary fast, ref;
    hl_code a = hl_event_peek(data, size, &fast, NULL);
    hl_code b = hli_event_peek_jansson(data, size, &ref, NULL);
    if (a != b || (a == HL_OK && memcmp(&fast, &ref, sizeof fast) != 0))
        abort();
    return 0;
}
