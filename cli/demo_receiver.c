/* demo_receiver.c - see demo_receiver.h. */
#define _DEFAULT_SOURCE
#include "demo_receiver.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (2u * 1024 * 1024)
#define MAX_HEADERS 64

struct demo_receiver {
    struct MHD_Daemon *daemon;
    demo_receiver_options opts;
    hl_verifier *verifier;
    pthread_mutex_t lock; /* guards everything below and the verifier */
    hl_seen *batches;     /* batch ids already processed */
    hl_seen *events;      /* event ids handed to the application */
    demo_stats stats;
};

/* One request's body, collected across MHD's upload callbacks. */
struct upload {
    char *data;
    size_t len;
    int too_large;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;
    MHD_add_response_header(r, "content-type", "application/json");
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

struct header_list {
    hl_header items[MAX_HEADERS];
    size_t count;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct header_list *h = cls;
    (void)kind;
    if (h->count < MAX_HEADERS)
        h->items[h->count++] = (hl_header){key, key_size, value, value_size};
    return MHD_YES;
}

/* The application: count each event of a new batch once, by event id. */
static void deliver_events(demo_receiver *r, json_t *batch, uint64_t now)
{
    size_t i;
    json_t *ev;
    json_array_foreach(batch, i, ev) {
        const char *id = json_string_value(json_object_get(ev, "id"));
        int was_new = 1;
        if (id && hl_seen_check_and_add(r->events, id, strlen(id), now, 0, &was_new, NULL) != HL_OK)
            was_new = 1; /* the set is full: count it rather than lose it */
        if (was_new)
            r->stats.events++;
        else
            r->stats.duplicate_events++;
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    demo_receiver *r = cls;
    struct upload *u = *con_cls;
    struct header_list headers = {.count = 0};
    const char *batch_id;
    hl_error err = HL_ERROR_INIT;
    unsigned long nth;
    int was_new = 0, present = 0, slow = 0;
    json_t *batch;
    uint64_t now = now_ms();
    (void)url;
    (void)version;

    if (strcmp(method, "POST") != 0)
        return answer(c, 405, "{\"error\":\"method\"}");
    if (u == NULL) { /* first call: headers only */
        *con_cls = calloc(1, sizeof(struct upload));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size != 0) {
        if (u->len + *upload_size > MAX_BODY) {
            u->too_large = 1;
        } else {
            char *grown = realloc(u->data, u->len + *upload_size);
            if (!grown)
                return MHD_NO;
            memcpy(grown + u->len, upload_data, *upload_size);
            u->data = grown;
            u->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (u->too_large)
        return answer(c, 413, "{\"error\":\"body_too_large\"}");

    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, &headers);
    batch_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-webhook-batch-id");

    pthread_mutex_lock(&r->lock);
    r->stats.requests++;
    /* Verify before parsing: nothing unsigned is even looked at. */
    if (hl_verifier_verify(r->verifier, (int64_t)(now / 1000), headers.items, headers.count,
                           u->data, u->len, NULL, &err) != HL_OK) {
        r->stats.rejected++;
        pthread_mutex_unlock(&r->lock);
        return answer(c, 401, "{\"error\":\"signature\"}");
    }
    if (!batch_id || hl_seen_contains(r->batches, batch_id, strlen(batch_id), now, &present, NULL) != HL_OK) {
        pthread_mutex_unlock(&r->lock);
        return answer(c, 400, "{\"error\":\"batch id\"}");
    }
    if (present) {
        r->stats.duplicate_batches++;
        pthread_mutex_unlock(&r->lock);
        return answer(c, 200, "{\"status\":\"duplicate\"}");
    }
    nth = r->stats.batches + r->stats.failed_on_purpose + 1;
    if (r->opts.fail_every && nth % r->opts.fail_every == 0) {
        r->stats.failed_on_purpose++;
        pthread_mutex_unlock(&r->lock);
        return answer(c, 500, "{\"error\":\"failing on purpose\"}");
    }
    batch = json_loadb(u->data, u->len, 0, NULL);
    if (json_is_object(batch)) { /* unbatched endpoints and webhook.test send one event */
        json_t *one = json_array();
        json_array_append_new(one, batch);
        batch = one;
    }
    if (!json_is_array(batch)) {
        json_decref(batch);
        pthread_mutex_unlock(&r->lock);
        return answer(c, 400, "{\"error\":\"not a batch\"}");
    }
    if (hl_seen_check_and_add(r->batches, batch_id, strlen(batch_id), now, 0, &was_new, NULL) != HL_OK) {
        json_decref(batch);
        pthread_mutex_unlock(&r->lock);
        return answer(c, 503, "{\"error\":\"dedupe store full\"}");
    }
    r->stats.batches++;
    deliver_events(r, batch, now);
    json_decref(batch);
    if (r->opts.slow_every && r->stats.batches % r->opts.slow_every == 0) {
        r->stats.slow_on_purpose++;
        slow = 1;
    }
    pthread_mutex_unlock(&r->lock);
    if (slow) /* processed, but the sender will have given up: it retries */
        usleep(r->opts.slow_ms * 1000u);
    return answer(c, 200, "{\"status\":\"ok\"}");
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (u) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

int demo_receiver_start(demo_receiver **out, const demo_receiver_options *opts, uint16_t *port)
{
    demo_receiver *r = calloc(1, sizeof *r);
    hl_secret *key = NULL;
    hl_verify_options vo = HL_VERIFY_OPTIONS_INIT;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (!r)
        return -1;
    r->opts = *opts;
    pthread_mutex_init(&r->lock, NULL);
    vo.scheme = opts->scheme;
    vo.parse_event = 0;
    if (hl_secret_parse(&key, opts->scheme, HL_SECRET_DEFAULT, opts->secret, strlen(opts->secret),
                        NULL) != HL_OK ||
        hl_verifier_new(&r->verifier, &vo, (const hl_secret *const *)&key, 1, NULL) != HL_OK ||
        hl_seen_new(&r->batches, NULL, NULL) != HL_OK || hl_seen_new(&r->events, NULL, NULL) != HL_OK) {
        hl_secret_free(key);
        demo_receiver_stop(r);
        return -1;
    }
    hl_secret_free(key);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                 NULL, NULL, handle, r, MHD_OPTION_SOCK_ADDR, &addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, request_done, r, MHD_OPTION_END);
    if (!r->daemon || !(info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT))) {
        demo_receiver_stop(r);
        return -1;
    }
    *port = info->port;
    *out = r;
    return 0;
}

void demo_receiver_stats(demo_receiver *r, demo_stats *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->lock);
}

void demo_receiver_stop(demo_receiver *r)
{
    if (!r)
        return;
    if (r->daemon)
        MHD_stop_daemon(r->daemon);
    hl_verifier_free(r->verifier);
    hl_seen_free(r->batches);
    hl_seen_free(r->events);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
