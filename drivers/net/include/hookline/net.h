/*
 * hookline/net.h - the system resolver for the SSRF guard (library
 * hookline_net; CMake target hookline::hookline_net).
 *
 * This is I/O (getaddrinfo may block on DNS), so it lives outside the core.
 */
#ifndef HOOKLINE_NET_H
#define HOOKLINE_NET_H

#include "hookline/ssrf.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * hl_resolve_getaddrinfo - an hl_resolve_fn over getaddrinfo(3): every
 * IPv4 and IPv6 answer for `host` (no AI_ADDRCONFIG, so answers of a family
 * this machine cannot reach are still checked), duplicates removed. `user`
 * is ignored. Blocks for as long as the system resolver does.
 * Errors: HL_E_RESOLVE_FAILED (the message carries gai_strerror),
 * HL_E_TOO_MANY (more than `cap` distinct answers), HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_resolve_getaddrinfo(void *user, const char *host, hl_address *out, size_t cap,
                                      size_t *n_out, hl_error *err);

/* hl_resolver_getaddrinfo - {hl_resolve_getaddrinfo, NULL}, ready to pass. */
HL_API hl_resolver hl_resolver_getaddrinfo(void);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_NET_H */
