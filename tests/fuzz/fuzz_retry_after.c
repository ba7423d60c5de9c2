/* fuzz_retry_after.c - the Retry-After parser: never reads past the input,
 * and what it accepts is digits or one of the three HTTP-date forms. */
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t delay = 0;
    /* now = 2023-11-14T22:13:20Z */
    if (hl_retry_after_parse((const char *)data, size, 1700000000000ull, &delay, NULL) == HL_OK) {
        size_t i = 0;
        while (i < size && (data[i] == ' ' || data[i] == '\t'))
            i++;
        if (i == size)
            __builtin_trap();
        if (data[i] >= '0' && data[i] <= '9') {
            for (; i < size && data[i] != ' ' && data[i] != '\t'; i++)
                if (data[i] < '0' || data[i] > '9')
                    __builtin_trap();
        } else if (size < 24) {
            __builtin_trap(); /* the shortest date form is 24 bytes */
        }
    }
    return 0;
}
