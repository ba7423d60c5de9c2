/* fuzz_timestamp.c - the timestamp parser: accepted means digits only. */
#include "sigheader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t v = -1;
    if (hli_parse_timestamp((const char *)data, size, &v, "fuzz", NULL) == HL_OK) {
        if (size == 0 || size > 18 || v < 0)
            __builtin_trap();
        for (size_t i = 0; i < size; i++)
            if (data[i] < '0' || data[i] > '9')
                __builtin_trap();
    }
    return 0;
}
