/*
 * hookline/ssrf_curl.h - enforce the SSRF policy at dispatch time on a
 * libcurl easy handle (library hookline_curl; CMake target
 * hookline::hookline_curl; needs <curl/curl.h>).
 *
 * Registration-time checks are not enough: DNS answers change between
 * registration and delivery (rebinding), servers redirect, and a reused
 * connection may lead somewhere else. For each delivery attempt the guard:
 *
 *   1. checks the URL again and resolves its host once through the
 *      resolver, checking EVERY answer (one denied answer blocks);
 *   2. pins the checked answers with CURLOPT_RESOLVE, so curl connects to
 *      exactly those (the Host header and the TLS name stay the URL's);
 *   3. checks the address curl is about to connect to in
 *      CURLOPT_OPENSOCKETFUNCTION (it must be a pinned, allowed address)
 *      and again in CURLOPT_PREREQFUNCTION (which also runs for reused
 *      connections);
 *   4. enables only https (and http when the policy allows it) with
 *      CURLOPT_PROTOCOLS_STR / CURLOPT_REDIR_PROTOCOLS_STR;
 *   5. sets CURLOPT_PROXY to "" so an http_proxy/https_proxy environment
 *      variable cannot route the request (and the check) through a proxy;
 *   6. follows no redirects unless asked; when asked, every hop's URL is
 *      checked with the same policy and its connect address likewise.
 *
 * A blocked attempt is an outcome of its own: hl_curl_guard_blocked()
 * returns the reason code (200-299) after the transfer. The engine must not
 * retry it as if the server were down (see docs/security.md).
 */
#ifndef HOOKLINE_SSRF_CURL_H
#define HOOKLINE_SSRF_CURL_H

#include <curl/curl.h>

#include "hookline/ssrf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HL_CURL_GUARD_OPTIONS_VERSION 1
#define HL_CURL_DEFAULT_MAX_REDIRECTS 3

typedef struct hl_curl_guard_options {
    unsigned int version;  /* HL_CURL_GUARD_OPTIONS_VERSION */
    int follow_redirects;  /* 0: 3xx responses are returned, not followed */
    long max_redirects;    /* hops when following (0-20) */
} hl_curl_guard_options;

#define HL_CURL_GUARD_OPTIONS_INIT                                                               \
    {HL_CURL_GUARD_OPTIONS_VERSION, 0, HL_CURL_DEFAULT_MAX_REDIRECTS}

typedef struct hl_curl_guard hl_curl_guard;

/*
 * hl_curl_guard_new - check `url`, resolve and check its host, and configure
 * `easy` for one guarded delivery attempt to it.
 *
 * out       receives the guard (caller-owned) on success; NULL on failure.
 * easy      the handle the attempt will use; the guard sets CURLOPT_URL (to
 *           the normalised URL), CURLOPT_RESOLVE, CURLOPT_OPENSOCKETFUNCTION
 *           (+DATA), CURLOPT_PREREQFUNCTION (+DATA), CURLOPT_PROTOCOLS_STR,
 *           CURLOPT_REDIR_PROTOCOLS_STR, CURLOPT_FOLLOWLOCATION,
 *           CURLOPT_MAXREDIRS, CURLOPT_PROXY and CURLOPT_NOPROXY. Do not
 *           change those afterwards. Set everything else (body, headers,
 *           timeouts, TLS) as usual.
 * policy    borrowed; must outlive the guard. NULL: the defaults.
 * resolver  NULL: getaddrinfo (hookline/net.h). Tests inject their own.
 * opts      NULL: HL_CURL_GUARD_OPTIONS_INIT.
 *
 * Returns HL_OK, or the reason the attempt is blocked before any
 * connection (any error of hl_url_check_resolve: HL_E_ADDRESS_DENIED,
 * HL_E_RESOLVE_FAILED, HL_E_URL_*), or HL_E_INVALID_ARGUMENT (bad options,
 * or curl refused an option) / HL_E_NOMEM.
 *
 * Lifetime: keep the guard until the transfer is over (curl_easy_perform
 * returned, or the handle left the multi handle), then hl_curl_guard_free.
 * Before reusing `easy` for another URL, create a new guard for it (or
 * curl_easy_reset it): the callbacks still point at the old guard.
 */
HL_API HL_WARN_UNUSED hl_code hl_curl_guard_new(hl_curl_guard **out, CURL *easy,
                                                const hl_url_policy *policy,
                                                const hl_resolver *resolver, const char *url,
                                                size_t url_len, const hl_curl_guard_options *opts,
                                                hl_error *err);

/*
 * hl_curl_guard_blocked - after the transfer: HL_OK when the guard let every
 * connection through, else the reason code of the first block
 * (HL_E_ADDRESS_DENIED, HL_E_ADDRESS_UNPINNED, or an HL_E_URL_* code for a
 * redirect hop), with the message in `err`. curl itself then reported
 * CURLE_COULDNT_CONNECT or CURLE_ABORTED_BY_CALLBACK; the guard's code is
 * the one to record.
 */
HL_API HL_WARN_UNUSED hl_code hl_curl_guard_blocked(const hl_curl_guard *guard, hl_error *err);

/*
 * hl_curl_guard_target - the checked target (normalised host, port, the
 * pinned addresses). Borrowed from the guard.
 */
HL_API const hl_url_target *hl_curl_guard_target(const hl_curl_guard *guard);

/* hl_curl_guard_free - free (does not touch the easy handle). NULL is allowed. */
HL_API void hl_curl_guard_free(hl_curl_guard *guard);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_SSRF_CURL_H */
