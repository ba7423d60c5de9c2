/* fuzz_sigheader.c - the signature header parsers of every scheme.
 * Byte 0 picks the scheme; the rest is the header value. */
#include "sigheader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hli_sig_list list;
    hl_error err;
    hl_code rc;
    if (size < 1)
        return 0;
    rc = hli_parse_signatures((hl_scheme)(data[0] % HL_SCHEME__SENTINEL), (const char *)data + 1,
                              size - 1, &list, &err);
    if (rc == HL_OK && (list.count == 0 || list.count > HLI_MAX_SIGNATURES))
        __builtin_trap(); /* success means at least one usable signature */
    if (rc != HL_OK && err.code != rc)
        __builtin_trap();
    return 0;
}
