/*
 * ssrf_internal.h - what the SSRF sources (ssrf_address.c, ssrf_policy.c,
 * ssrf_url.c) share. Not installed.
 */
#ifndef HOOKLINE_SSRF_INTERNAL_H
#define HOOKLINE_SSRF_INTERNAL_H

#include "internal.h"

/* An address prefix: the allowed CIDRs of a policy. */
typedef struct hli_cidr {
    hl_address net;
    unsigned int prefix; /* bits: 0-32 for IPv4, 0-128 for IPv6 */
} hli_cidr;

struct hl_url_policy {
    int allow_http;
    uint16_t *ports; /* never empty */
    size_t n_ports;
    hli_cidr *allow_cidrs;
    size_t n_allow_cidrs;
    char **allow_hosts; /* lowercase, no trailing dot; "*.x" patterns */
    size_t n_allow_hosts;
    char **deny_names;
    size_t n_deny_names;
};

/* The policy used when callers pass NULL. */
const hl_url_policy *hli_url_policy_default(void);

/* Does `addr` fall inside `cidr`? Families must match. */
int hli_cidr_contains(const hli_cidr *cidr, const hl_address *addr);

/* Parse "a.b.c.d/n", "v6/n" or a bare address (full-length prefix). */
hl_code hli_cidr_parse(hli_cidr *out, const char *text, size_t len, hl_error *err);

/*
 * Does the lowercase `name` (no trailing dot, `len` bytes) match the pattern
 * list? Patterns are exact names or "*.suffix" (strict subdomains).
 */
int hli_name_matches(char *const *patterns, size_t n, const char *name, size_t len);

/* The built-in denied names; returns the matching pattern or NULL. */
const char *hli_builtin_denied_name(const char *name, size_t len);

/*
 * Parse a host the way URL parsers read numeric IPv4 hosts (WHATWG and
 * inet_aton): 1 to 4 dot-separated parts, each decimal, octal (leading 0)
 * or hex (0x); the last part fills the remaining bytes. Returns 1 and fills
 * `out` on success, 0 when it is not a valid numeric address.
 */
int hli_ipv4_parse_loose(const char *s, size_t len, uint8_t out[4]);

/* Does the host end in a number (so URL parsers treat it as IPv4)? */
int hli_host_ends_in_number(const char *s, size_t len);

#endif /* HOOKLINE_SSRF_INTERNAL_H */
