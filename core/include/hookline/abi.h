/*
 * hookline/abi.h - for bindings that declare the public structs by hand and
 * cannot expand macros: the structs' sizes, and the _INIT macros as
 * functions.
 *
 * LuaJIT's FFI (resty.hookline), ctypes and cffi do not read C headers: they
 * are given copies of the struct declarations, and the array lengths in
 * those copies are numbers, not the HL_ID_MAX / HL_HEADER_VALUE_MAX macros
 * (ffi.cdef has no preprocessor). If a macro changes and a copy is not
 * updated, the library would write past a buffer the binding allocated.
 * A binding therefore compares its own sizeof() of each struct with
 * hl_abi_sizeof() when it loads the library, and refuses to run on any
 * difference.
 */
#ifndef HOOKLINE_ABI_H
#define HOOKLINE_ABI_H

#include "hookline/common.h"
#include "hookline/signature.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The structs a caller allocates or reads. Values are stable (appended only). */
typedef enum hl_abi_struct {
    HL_ABI_ERROR = 1,          /* hl_error */
    HL_ABI_HEADER = 2,         /* hl_header */
    HL_ABI_SIGNED_HEADER = 3,  /* hl_signed_header */
    HL_ABI_SIGNED = 4,         /* hl_signed */
    HL_ABI_VERIFY_OPTIONS = 5, /* hl_verify_options */
    HL_ABI_VERIFY_RESULT = 6,  /* hl_verify_result */
    HL_ABI_EVENT_SUMMARY = 7,  /* hl_event_summary */
    HL_ABI__SENTINEL
} hl_abi_struct;

/*
 * hl_abi_sizeof - sizeof() of a public struct as this library was compiled,
 * `which` being an hl_abi_struct value (a plain int so FFIs can pass a
 * number). Returns 0 for values that name no struct.
 */
HL_API size_t hl_abi_sizeof(int which);

/*
 * hl_verify_options_init - set `*opts` to HL_VERIFY_OPTIONS_INIT (version,
 * standard scheme, default tolerance and body limit, parse_event on), so
 * an FFI need not copy those values. NULL does nothing.
 */
HL_API void hl_verify_options_init(hl_verify_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_ABI_H */
