/*
 * hookline/ssrf.h - decide whether a customer-supplied webhook URL, and the
 * addresses its host resolves to, may be the target of a delivery.
 *
 * A webhook sender makes HTTP requests to URLs its customers choose; without
 * a guard that is a way into the sender's own network (cloud metadata
 * services, admin ports, databases). The guard has two pure layers, both
 * usable on their own:
 *
 *   1. hl_url_check - the URL alone: syntax (parsed by libcurl's URL API, so
 *      the URL is read the way the delivery will read it), scheme, port,
 *      userinfo, control characters, host shape, denied names, and literal
 *      IP addresses in every spelling curl accepts (decimal, octal, hex,
 *      short forms, IPv6, IPv4-mapped and other embeddings). No DNS.
 *   2. hl_address_check - one resolved address against the deny table (the
 *      IANA IPv4 and IPv6 special-purpose registries) and the operator's
 *      allowed CIDRs.
 *
 * hl_url_check_resolve joins them for registration: URL check, resolution
 * through a caller-supplied resolver, and the address check on EVERY answer
 * (a name whose answers mix public and private addresses is rejected, never
 * filtered). Dispatch repeats the resolution and checks the address actually
 * connected to (see hookline/ssrf_curl.h), because DNS answers change.
 *
 * Every rejection carries a specific code in the 200-299 range (see
 * hookline/error.h; the stable names are listed there) and a message written
 * for the customer who typed the URL. Nothing here does I/O: the resolver is
 * a function the caller provides (hookline/net.h has one over getaddrinfo).
 */
#ifndef HOOKLINE_SSRF_H
#define HOOKLINE_SSRF_H

#include "hookline/common.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest URL accepted, in bytes (longer: HL_E_URL_TOO_LONG). */
#define HL_URL_MAX 2048
/* Buffer size that always holds a normalised URL with its NUL. */
#define HL_URL_NORMALIZED_MAX (HL_URL_MAX + 64)
/* Longest host name (RFC 1035: 253 characters), buffer size with the NUL. */
#define HL_HOST_MAX 256
/* Most addresses one name may resolve to; more is HL_E_RESOLVE_FAILED. */
#define HL_RESOLVE_MAX 32
/* Most entries in each list of hl_url_options. */
#define HL_URL_LIST_MAX 256
/* Longest text form of an address ("ffff:…" or dotted quad) with its NUL. */
#define HL_ADDRESS_TEXT_MAX 48

/* ------------------------------------------------------------- addresses */

/* Address families, as numbers independent of the platform's AF_ values. */
#define HL_FAMILY_IPV4 4
#define HL_FAMILY_IPV6 6

/*
 * One IP address in network byte order. IPv4 uses bytes[0..3]; the rest is
 * zero. Plain data, so it crosses FFIs and threads freely.
 */
typedef struct hl_address {
    int family; /* HL_FAMILY_IPV4 or HL_FAMILY_IPV6 */
    uint8_t bytes[16];
} hl_address;

/*
 * hl_address_parse - read a numeric address: a dotted-quad IPv4 address
 * (strict: four decimal parts) or an IPv6 address (with or without
 * brackets, no zone id). `text` is `len` bytes, not NUL-terminated.
 * Errors: HL_E_INVALID_ARGUMENT when it is not such an address.
 */
HL_API hl_code hl_address_parse(hl_address *out, const char *text, size_t len, hl_error *err);

/*
 * hl_address_from_sockaddr - copy the address out of a `struct sockaddr_in`
 * or `struct sockaddr_in6` (`sa`, `sa_len` bytes; the port is ignored).
 * Errors: HL_E_INVALID_ARGUMENT for other families or short lengths.
 */
HL_API hl_code hl_address_from_sockaddr(hl_address *out, const void *sa, size_t sa_len,
                                        hl_error *err);

/*
 * hl_address_format - canonical text ("127.0.0.1", "::ffff:127.0.0.1",
 * "fd00:ec2::254") into `buf` (`cap` bytes, HL_ADDRESS_TEXT_MAX always
 * suffices). Returns HL_E_BUFFER_TOO_SMALL or HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_address_format(const hl_address *addr, char *buf, size_t cap, hl_error *err);

/* ---------------------------------------------------------------- policy */

#define HL_URL_OPTIONS_VERSION 1

/*
 * What the operator allows beyond the default. Every pointer is borrowed for
 * the duration of hl_url_policy_new only (the policy copies what it keeps).
 *
 * allow_http    non-zero: "http" is accepted besides "https" (and port 80
 *               joins the default port list).
 * allow_ports   the complete list of allowed ports (1-65535), replacing the
 *               default (443, plus 80 with allow_http). NULL/0: the default.
 *               A URL without a port uses its scheme's (443 / 80).
 * allow_cidrs   CIDRs ("10.20.0.0/16", "127.0.0.2/32", "fd12::/64") or bare
 *               addresses (a /32 or /128) whose addresses are allowed even
 *               though the deny table lists them. An IPv6 address embedding
 *               an IPv4 one (::ffff:a.b.c.d, 6to4, Teredo, NAT64) is allowed
 *               only when its embedded IPv4 address is.
 * allow_hosts   host names ("hooks.corp.example", or "*.corp.example" for
 *               every name below it) the operator trusts: the name denial
 *               and the address check are skipped for them (their answers
 *               may be private). Scheme, port and syntax rules still apply.
 * deny_names    extra names to refuse, same pattern syntax, added to the
 *               built-in ones: localhost, *.localhost,
 *               localhost.localdomain, *.local, *.internal (which covers
 *               metadata.google.internal), *.home.arpa, metadata.goog,
 *               and every single-label name ("intranet", "metadata").
 */
typedef struct hl_url_options {
    unsigned int version; /* HL_URL_OPTIONS_VERSION */
    int allow_http;
    const uint16_t *allow_ports;
    size_t n_allow_ports;
    const char *const *allow_cidrs;
    size_t n_allow_cidrs;
    const char *const *allow_hosts;
    size_t n_allow_hosts;
    const char *const *deny_names;
    size_t n_deny_names;
} hl_url_options;

#define HL_URL_OPTIONS_INIT {HL_URL_OPTIONS_VERSION, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0}

/*
 * A checked, immutable policy built from hl_url_options. One policy may be
 * shared by any number of threads.
 */
typedef struct hl_url_policy hl_url_policy;

/*
 * hl_url_policy_new - validate and copy `opts` (NULL: the defaults) into a
 * new policy, caller-owned (hl_url_policy_free).
 * Errors: HL_E_INVALID_ARGUMENT (bad version, a CIDR or name that does not
 * parse, port 0; the message names the entry), HL_E_TOO_MANY (a list longer
 * than HL_URL_LIST_MAX), HL_E_NOMEM.
 */
HL_API hl_code hl_url_policy_new(hl_url_policy **out, const hl_url_options *opts, hl_error *err);

/* hl_url_policy_allows_http - 1 when the policy accepts http:// (NULL: 0). */
HL_API int hl_url_policy_allows_http(const hl_url_policy *policy);

/* hl_url_policy_free - free. NULL does nothing. */
HL_API void hl_url_policy_free(hl_url_policy *policy);

/* ---------------------------------------------------------------- checks */

/*
 * hl_address_check - may a delivery connect to `addr`?
 *
 * policy  NULL means the defaults.
 * Returns HL_OK, or HL_E_ADDRESS_DENIED with a message naming the address
 * and the registry entry it falls in ("127.0.0.1 is a loopback address").
 * Order: an IPv6 address embedding an IPv4 address (IPv4-mapped ::ffff:0:0/96,
 * IPv4-compatible ::/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96,
 * 6to4 2002::/16, both addresses of Teredo 2001::/32) is denied when the
 * embedded address is denied; then an allowed CIDR admits the address; then
 * the deny table denies; IPv6 outside global unicast (2000::/3) is denied,
 * except IPv4-mapped/-translated addresses of allowed IPv4 addresses.
 */
HL_API HL_WARN_UNUSED hl_code hl_address_check(const hl_url_policy *policy, const hl_address *addr,
                                               hl_error *err);

/*
 * Where a checked URL points. Filled by the URL checks on success.
 *
 * host              the host as it appears in the normalised URL (lowercase
 *                   name, dotted-quad IPv4, or IPv6 without brackets).
 * host_is_address   1 when the URL names an IP address (then addresses[0]).
 * host_is_allowed   1 when the host matched allow_hosts (address checks are
 *                   skipped for it).
 * addresses         the literal address, or every resolver answer (after
 *                   hl_url_check_resolve); n_addresses is 0 for a name that
 *                   hl_url_check did not resolve.
 */
typedef struct hl_url_target {
    char scheme[8];
    char host[HL_HOST_MAX];
    uint16_t port;
    int host_is_address;
    int host_is_allowed;
    size_t n_addresses;
    hl_address addresses[HL_RESOLVE_MAX];
} hl_url_target;

/*
 * hl_url_check - the URL layer (no DNS).
 *
 * policy      NULL means the defaults.
 * url         `url_len` bytes, not NUL-terminated; a NUL inside is rejected
 *             (HL_E_URL_CONTROL_CHAR). Bindings must pass the full length.
 * normalized  may be NULL when cap is 0; else receives the NUL-terminated
 *             normalised URL: lowercase scheme and host, numeric hosts in
 *             canonical form (https://2130706433/ -> https://127.0.0.1/,
 *             IPv6 compressed), default port removed, dot segments
 *             resolved, fragment dropped, "/" for an empty path. Always at
 *             most HL_URL_NORMALIZED_MAX bytes. Store and deliver to this
 *             URL, not the input.
 * target      may be NULL; filled on success.
 *
 * Errors (each message says what to change):
 *   HL_E_URL_MALFORMED     empty, unparseable, no "scheme://", a backslash,
 *                          bad port syntax
 *   HL_E_URL_TOO_LONG      more than HL_URL_MAX bytes
 *   HL_E_URL_CONTROL_CHAR  NUL, control characters, spaces or DEL
 *   HL_E_URL_NOT_ASCII     bytes >= 0x80 (percent-encode; hosts in punycode)
 *   HL_E_URL_SCHEME_DENIED scheme other than https (and http when allowed)
 *   HL_E_URL_USERINFO      "user@" or "user:password@" before the host
 *   HL_E_URL_HOST_EMPTY    no host
 *   HL_E_URL_HOST_TOO_LONG host over 253 characters or a label over 63
 *   HL_E_URL_HOST_INVALID  characters outside letters, digits, '-', '_',
 *                          '.', empty labels, a numeric host that is not a
 *                          valid address (256.1.1.1, 1.2.3.4.5)
 *   HL_E_URL_ZONE_ID       IPv6 zone id ("%25eth0")
 *   HL_E_URL_PORT_DENIED   port not in the allowed list
 *   HL_E_URL_NAME_DENIED   a denied or single-label name
 *   HL_E_ADDRESS_DENIED    a literal address the address check refuses
 *   HL_E_BUFFER_TOO_SMALL, HL_E_INVALID_ARGUMENT, HL_E_NOMEM
 */
HL_API HL_WARN_UNUSED hl_code hl_url_check(const hl_url_policy *policy, const char *url,
                                           size_t url_len, char *normalized, size_t cap,
                                           hl_url_target *target, hl_error *err);

/* ------------------------------------------------------------- resolving */

/*
 * A resolver: turn `host` (NUL-terminated lowercase ASCII name as in the
 * normalised URL, possibly ending with a dot; never a literal address) into
 * addresses. Write at most `cap` answers to `out` and their
 * number to `*n_out`; when the name has more than `cap` answers return
 * HL_E_TOO_MANY (never a silent subset: every answer must be checked). A name
 * that does not exist or has no address is HL_E_RESOLVE_FAILED. It may
 * block; it may be called from several threads at once if the caller uses
 * one policy from several threads.
 */
typedef hl_code (*hl_resolve_fn)(void *user, const char *host, hl_address *out, size_t cap,
                                 size_t *n_out, hl_error *err);

typedef struct hl_resolver {
    hl_resolve_fn resolve;
    void *user; /* passed back as the first argument */
} hl_resolver;

/*
 * hl_url_check_resolve - the registration check: hl_url_check, then (for a
 * name) resolution through `resolver` and hl_address_check on every answer.
 * One denied answer rejects the URL, whatever the others are. Names in
 * allow_hosts are resolved but their answers are not checked.
 *
 * resolver  required (hookline/net.h: hl_resolver_getaddrinfo()).
 * Errors: those of hl_url_check, HL_E_RESOLVE_FAILED (the resolver failed,
 * returned nothing or too many answers), HL_E_ADDRESS_DENIED (an answer is
 * denied; the message names it).
 */
HL_API HL_WARN_UNUSED hl_code hl_url_check_resolve(const hl_url_policy *policy,
                                                   const hl_resolver *resolver, const char *url,
                                                   size_t url_len, char *normalized, size_t cap,
                                                   hl_url_target *target, hl_error *err);

/*
 * hl_url_target_check_addresses - hl_address_check on each of
 * target->addresses (skipped when host_is_allowed); the first denial is
 * returned. For callers that resolve on their own (the dispatch guard).
 */
HL_API HL_WARN_UNUSED hl_code hl_url_target_check_addresses(const hl_url_policy *policy,
                                                            const hl_url_target *target,
                                                            hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_SSRF_H */
