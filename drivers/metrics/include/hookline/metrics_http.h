/*
 * hookline/metrics_http.h - serve hl_metrics in the Prometheus text format
 * over HTTP (library hookline_metrics, libmicrohttpd).
 *
 * The server runs on its own thread. The delivery loop never shares its
 * hl_metrics with it: it publishes copies (hl_metrics_server_publish), and
 * GET /metrics renders the latest copy. Bind it to a loopback address unless
 * the scrape must come from elsewhere: the numbers describe your customers'
 * endpoints.
 */
#ifndef HOOKLINE_METRICS_HTTP_H
#define HOOKLINE_METRICS_HTTP_H

#include "hookline/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_metrics_server hl_metrics_server;

/*
 * hl_metrics_server_start - listen on `address`: "HOST:PORT" with a numeric
 * IPv4 host ("127.0.0.1:9464") or a bracketed IPv6 one ("[::1]:9464"); port
 * 0 picks a free port (see hl_metrics_server_port). `out` is caller-owned
 * (hl_metrics_server_stop). Until the first publish the metrics are zero.
 * Errors: HL_E_INVALID_ARGUMENT (address syntax, or the address cannot be
 * listened on - the message says why), HL_E_NOMEM.
 */
HL_API hl_code hl_metrics_server_start(hl_metrics_server **out, const char *address,
                                       hl_error *err);

/* hl_metrics_server_port - the port actually listened on. */
HL_API uint16_t hl_metrics_server_port(const hl_metrics_server *server);

/* hl_metrics_server_publish - make `snapshot` (copied) what the next
 * scrape sees. Cheap: call it after every loop iteration if you like. */
HL_API void hl_metrics_server_publish(hl_metrics_server *server, const hl_metrics *snapshot);

/* hl_metrics_server_stop - stop listening, finish open requests, free.
 * NULL does nothing. */
HL_API void hl_metrics_server_stop(hl_metrics_server *server);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_METRICS_HTTP_H */
