/*
 * abi.c - struct sizes and option defaults for bindings that declare the
 * structs themselves (see hookline/abi.h).
 */
#include "hookline/abi.h"

#include "hookline/error.h"
#include "hookline/signature.h"

size_t hl_abi_sizeof(int which)
{
    switch (which) {
    case HL_ABI_ERROR:
        return sizeof(hl_error);
    case HL_ABI_HEADER:
        return sizeof(hl_header);
    case HL_ABI_SIGNED_HEADER:
        return sizeof(hl_signed_header);
    case HL_ABI_SIGNED:
        return sizeof(hl_signed);
    case HL_ABI_VERIFY_OPTIONS:
        return sizeof(hl_verify_options);
    case HL_ABI_VERIFY_RESULT:
        return sizeof(hl_verify_result);
    case HL_ABI_EVENT_SUMMARY:
        return sizeof(hl_event_summary);
    default:
        return 0;
    }
}

void hl_verify_options_init(hl_verify_options *opts)
{
    const hl_verify_options defaults = HL_VERIFY_OPTIONS_INIT;
    if (opts != NULL)
        *opts = defaults;
}
