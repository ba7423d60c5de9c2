/*
 * sigheader.h - parsers for the signature headers of every scheme
 * (internal; each has a fuzz target in tests/fuzz/).
 *
 * All take (ptr, len) ranges, never read outside them, and reject
 * anything unexpected with HL_E_HEADER_MALFORMED and a message that says
 * which header and what is wrong.
 */
#ifndef HOOKLINE_SIGHEADER_H
#define HOOKLINE_SIGHEADER_H

#include "mac.h"

/* Most signature entries read from one header; more is malformed (no real
 * sender rotates through more, and it bounds the work an attacker buys). */
#define HLI_MAX_SIGNATURES 64
/* Longest signature or timestamp header value accepted. */
#define HLI_MAX_HEADER_VALUE 16384

enum { HLI_SIG_HMAC = 1, HLI_SIG_ED25519 = 2 };

typedef struct hli_sig {
    int kind;                                 /* HLI_SIG_HMAC or HLI_SIG_ED25519 */
    unsigned char bytes[HLI_ED25519_SIG_LEN]; /* 32 (HMAC) or 64 (Ed25519) used */
} hli_sig;

typedef struct hli_sig_list {
    size_t count;
    hli_sig sigs[HLI_MAX_SIGNATURES];
    int64_t timestamp; /* stripe: the t= value; -1 otherwise */
    const char *timestamp_text; /* stripe: the t= digits as sent */
    size_t timestamp_len;
} hli_sig_list;

/*
 * hli_header_find - the value of header `name` (lowercase) among `n`
 * headers, with surrounding spaces and tabs trimmed. HL_E_HEADER_MISSING
 * when absent, HL_E_HEADER_MALFORMED when present more than once, empty,
 * longer than HLI_MAX_HEADER_VALUE, or holding a NUL or control byte.
 */
hl_code hli_header_find(const hl_header *headers, size_t n, const char *name, const char **value,
                        size_t *value_len, hl_error *err);

/*
 * hli_headers_find - hli_header_find for up to three names (lowercase,
 * distinct; NULL entries are skipped and their value left NULL) in one walk
 * over the headers, with the same errors in the same order as three
 * hli_header_find calls for names[0], names[1], names[2].
 */
hl_code hli_headers_find(const hl_header *headers, size_t n, const char *const names[3],
                         const size_t name_lens[3], const char *values[3], size_t value_lens[3],
                         hl_error *err);

/* hli_parse_timestamp - a plain non-negative decimal integer of at most 18
 * digits (no sign, no fraction, no spaces). `what` names the header. */
hl_code hli_parse_timestamp(const char *s, size_t len, int64_t *out, const char *what,
                            hl_error *err);

/* hli_parse_signatures - the signature header of `scheme` into a list.
 * standard: space-separated "v1,<b64>" / "v1a,<b64>", unknown versions skipped;
 * hookline: comma-separated hex (either case); stripe: t=…,v1=…;
 * github: sha256=<hex>. A list that ends up empty is malformed. */
hl_code hli_parse_signatures(hl_scheme scheme, const char *value, size_t len, hli_sig_list *out,
                             hl_error *err);

#endif
