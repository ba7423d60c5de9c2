/* metrics_http.c - GET /metrics over libmicrohttpd, from published copies. */
#define _DEFAULT_SOURCE
#include "hookline/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_CAP 16384

struct hl_metrics_server {
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t lock; /* guards `latest` */
    hl_metrics latest;
};

static hl_code fail(hl_error *err, hl_code code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result rc;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "content-type", type);
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    hl_metrics_server *s = cls;
    hl_metrics snapshot;
    char *text;
    size_t len = 0;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_size != 0)
        return MHD_NO; /* GET only: no bodies */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics") != 0)
        return reply(c, 404, "text/plain", "not found: try /metrics\n", 24, MHD_RESPMEM_PERSISTENT);
    pthread_mutex_lock(&s->lock);
    snapshot = s->latest;
    pthread_mutex_unlock(&s->lock);
    if (!(text = malloc(RENDER_CAP)) || hl_metrics_render(&snapshot, text, RENDER_CAP, &len, NULL) != HL_OK) {
        free(text);
        return reply(c, 500, "text/plain", "render failed\n", 14, MHD_RESPMEM_PERSISTENT);
    }
    return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
                 MHD_RESPMEM_MUST_FREE);
}

/* "1.2.3.4:9464" or "[::1]:9464" into a socket address. */
static int parse_address(const char *address, struct sockaddr_storage *sa, socklen_t *sa_len)
{
    char host[64];
    const char *colon, *port_text;
    char *end;
    long port;
    if (!address)
        return -1;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':' || (size_t)(close - address - 1) >= sizeof host)
            return -1;
        memcpy(host, address + 1, (size_t)(close - address - 1));
        host[close - address - 1] = '\0';
        port_text = close + 2;
    } else {
        colon = strrchr(address, ':');
        if (!colon || (size_t)(colon - address) >= sizeof host)
            return -1;
        memcpy(host, address, (size_t)(colon - address));
        host[colon - address] = '\0';
        port_text = colon + 1;
    }
    errno = 0;
    port = strtol(port_text, &end, 10);
    if (!*port_text || *end || errno || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    if (address[0] != '[') {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *sa_len = sizeof *in;
        return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sa_len = sizeof *in6;
        return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -1;
    }
}

hl_code hl_metrics_server_start(hl_metrics_server **out, const char *address, hl_error *err)
{
    struct sockaddr_storage sa;
    socklen_t sa_len;
    hl_metrics_server *s;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

    if (!out || parse_address(address, &sa, &sa_len) != 0)
        return fail(err, HL_E_INVALID_ARGUMENT,
                    "metrics address must be HOST:PORT with a numeric host, e.g. 127.0.0.1:9464");
    if (!(s = calloc(1, sizeof *s)))
        return fail(err, HL_E_NOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    hl_metrics_init(&s->latest);
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &sa,
                                 MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT,
                                 10u, MHD_OPTION_END);
    if (!s->daemon || !(info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT))) {
        char msg[HL_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "cannot listen on %s (address in use, or not local?)", address);
        hl_metrics_server_stop(s);
        return fail(err, HL_E_INVALID_ARGUMENT, msg);
    }
    s->port = info->port;
    *out = s;
    return HL_OK;
}

uint16_t hl_metrics_server_port(const hl_metrics_server *server)
{
    return server ? server->port : 0;
}

void hl_metrics_server_publish(hl_metrics_server *server, const hl_metrics *snapshot)
{
    if (!server || !snapshot)
        return;
    pthread_mutex_lock(&server->lock);
    server->latest = *snapshot;
    pthread_mutex_unlock(&server->lock);
}

void hl_metrics_server_stop(hl_metrics_server *server)
{
    if (!server)
        return;
    if (server->daemon)
        MHD_stop_daemon(server->daemon);
    pthread_mutex_destroy(&server->lock);
    free(server);
}
