/*
 * internal.h - helpers shared by the core's source files. Not installed;
 * nothing here is exported (internal names start with `hli_`).
 */
#ifndef HOOKLINE_INTERNAL_H
#define HOOKLINE_INTERNAL_H

#include "hookline.h"

#include <stdarg.h>

#if defined(__GNUC__) || defined(__clang__)
#define HLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HLI_PRINTF(a, b)
#endif

/*
 * hli_fail - fill `err` (if not NULL) with `code` and a formatted message
 * and return `code`, so failures read `return hli_fail(err, HL_E_…, "…")`.
 * Never pass secret material in the message.
 */
hl_code hli_fail(hl_error *err, hl_code code, const char *fmt, ...) HLI_PRINTF(3, 4);

/*
 * hli_fail_openssl - like hli_fail with HL_E_CRYPTO, appending the reasons
 * drained from OpenSSL's error queue (which is left empty).
 */
hl_code hli_fail_openssl(hl_error *err, const char *what);

/*
 * hli_event_peek_jansson - hl_event_peek through jansson alone: the
 * reference that hl_event_peek's single-pass scanner falls back to, and that
 * fuzz_event_peek compares it with.
 */
hl_code hli_event_peek_jansson(const void *body, size_t body_len, hl_event_summary *out,
                               hl_error *err);

/*
 * hli_json_is_compact_canonical - 1 when `json` (`len` bytes) is one JSON
 * value exactly as jansson's json_dumpb(JSON_COMPACT | JSON_ENCODE_ANY)
 * would print it after json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)
 * accepted it: copying it is then the same as that round trip. 0 means
 * "not sure" (not "invalid"): take the jansson path.
 */
int hli_json_is_compact_canonical(const char *json, size_t len);

/* Case-insensitive ASCII comparison of a byte range with a C string. */
int hli_ascii_ieq(const char *a, size_t a_len, const char *b);

#endif /* HOOKLINE_INTERNAL_H */
