/*
 * resolver_getaddrinfo.c - the default resolver of the SSRF guard: the
 * system's getaddrinfo, every answer returned so every answer is checked.
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline/net.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static hl_code fail(hl_error *err, hl_code code, const char *msg, const char *detail)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s%s%s", msg, detail ? ": " : "",
                 detail ? detail : "");
    }
    return code;
}

hl_code hl_resolve_getaddrinfo(void *user, const char *host, hl_address *out, size_t cap,
                               size_t *n_out, hl_error *err)
{
    (void)user;
    if (!host || !n_out || (!out && cap))
        return fail(err, HL_E_INVALID_ARGUMENT, "resolver: NULL argument", NULL);
    *n_out = 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM; /* one entry per address, not per socket type */
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0)
        return fail(err, HL_E_RESOLVE_FAILED, "name resolution failed", gai_strerror(rc));
    size_t n = 0;
    hl_code result = HL_OK;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        hl_address a;
        if (hl_address_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen, NULL) != HL_OK)
            continue;
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = out[i].family == a.family && memcmp(out[i].bytes, a.bytes, 16) == 0;
        if (seen)
            continue;
        if (n == cap) {
            result = fail(err, HL_E_TOO_MANY, "the name has too many addresses", NULL);
            break;
        }
        out[n++] = a;
    }
    freeaddrinfo(res);
    if (result != HL_OK)
        return result;
    if (n == 0)
        return fail(err, HL_E_RESOLVE_FAILED, "the name has no IPv4 or IPv6 address", NULL);
    *n_out = n;
    return HL_OK;
}

hl_resolver hl_resolver_getaddrinfo(void)
{
    hl_resolver r = {hl_resolve_getaddrinfo, NULL};
    return r;
}
