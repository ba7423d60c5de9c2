/* cmd_demo.c - hookline demo: the README's main job.
 *
 * A real delivery, end to end, on this machine only: a receiving
 * application on 127.0.0.1 (demo_receiver.c: verifies signatures, drops
 * duplicate batches, and fails or stalls some requests on purpose), a
 * throw-away outbox file, an endpoint registered through the SSRF check and
 * a signed webhook.test, a few hundred realistic email events, and the
 * worker delivering them with retries. The summary shows every event
 * delivered exactly once to the application, duplicates dropped by batch id. */
#define _DEFAULT_SOURCE
#include "cli.h"
#include "demo_receiver.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_EVENTS 300
#define DEADLINE_S 60

static const char *const TYPES[] = {
    "email.outbound.sent",    "email.outbound.delivered", "email.outbound.opened",
    "email.outbound.clicked", "email.outbound.bounced",   "email.outbound.complained",
    "email.inbound.received", "domain.verified",
};

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int enqueue_events(hl_worker *w, hl_error *err)
{
    static hl_event events[N_EVENTS];
    static char data[N_EVENTS][256];
    size_t done = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        const char *type = TYPES[i % (sizeof TYPES / sizeof TYPES[0])];
        snprintf(data[i], sizeof data[i],
                 "{\"message_id\":\"<%d.%d@mail.example.com>\",\"recipient\":\"user%d@example.org\","
                 "\"campaign\":\"november-news\",\"ip_pool\":\"shared-1\"}",
                 1763900000 + i, i * 7919 % 10007, i);
        events[i] = (hl_event)HL_EVENT_INIT;
        events[i].type = type;
        events[i].data = data[i];
        events[i].data_len = strlen(data[i]);
    }
    return hl_worker_enqueue_many(w, events, N_EVENTS, &done, err) == HL_OK && done == N_EVENTS;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

/* POST a correctly signed request whose body was changed afterwards, as an
 * attacker in the middle would: the receiver must answer 401. */
static long post_forgery(const char *url, const char *secret)
{
    const char *body = "[{\"id\":\"evt_forged\",\"type\":\"email.outbound.delivered\"}]";
    char tampered[128], line[HL_HEADER_NAME_MAX + HL_HEADER_VALUE_MAX + 4];
    hl_secret *key = NULL;
    hl_signed sig;
    struct curl_slist *headers = NULL;
    long status = 0;
    CURL *curl;
    if (hl_secret_parse(&key, HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, secret, strlen(secret), NULL) ||
        hl_sign(HL_SCHEME_STANDARD, (const hl_secret *const *)&key, 1, "msg_forged",
                (int64_t)time(NULL), body, strlen(body), &sig, NULL)) {
        hl_secret_free(key);
        return 0;
    }
    hl_secret_free(key);
    snprintf(tampered, sizeof tampered, "%s", body);
    memcpy(strstr(tampered, "delivered"), "bounced  ", 9); /* another meaning, same length */
    for (size_t i = 0; i < sig.count; i++) {
        snprintf(line, sizeof line, "%s: %s", sig.headers[i].name, sig.headers[i].value);
        headers = curl_slist_append(headers, line);
    }
    headers = curl_slist_append(headers, "x-webhook-batch-id: bat_forged");
    headers = curl_slist_append(headers, "content-type: application/json");
    if ((curl = curl_easy_init()) != NULL) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, tampered);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(curl);
    }
    curl_slist_free_all(headers);
    return status;
}

int cmd_demo(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{NULL, 0}};
    char dir[] = "/tmp/hookline-demo-XXXXXX", db[64], url[64], secret[128], config[1024];
    char cidr[] = "127.0.0.1/32";
    const char *cidrs[1] = {cidr};
    hl_secret *s = NULL;
    demo_receiver *rx = NULL;
    demo_receiver_options ro = {secret, HL_SCHEME_STANDARD, 7, 11, 1500};
    demo_stats st;
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_test_response test;
    hl_engine_stats es;
    uint16_t port = 0, ports[1];
    uint64_t start;
    int rc = cli_parse(c, argc, argv, SPEC), ok;
    if (rc)
        return rc;

    /* 1. The receiving application, with the endpoint's secret. */
    if (hl_secret_generate(&s, HL_SCHEME_STANDARD, &err) != HL_OK ||
        hl_secret_format(s, HL_SCHEME_STANDARD, secret, sizeof secret, NULL, &err) != HL_OK) {
        hl_secret_free(s);
        return cli_fail("generating a secret", &err);
    }
    hl_secret_free(s);
    if (demo_receiver_start(&rx, &ro, &port) != 0) {
        fprintf(stderr, "hookline: cannot start the demo receiver on 127.0.0.1\n");
        return 1;
    }
    printf("receiver   http://127.0.0.1:%u/hooks  (verifies signatures; fails every %uth new "
           "batch once, answers every %uth after the sender gave up)\n",
           port, ro.fail_every, ro.slow_every);

    /* 2. The sender: an outbox file, SSRF policy allowing only this receiver. */
    if (!mkdtemp(dir)) {
        demo_receiver_stop(rx);
        fprintf(stderr, "hookline: cannot create a temporary directory\n");
        return 1;
    }
    snprintf(db, sizeof db, "%s/outbox.db", dir);
    ports[0] = port;
    o.db_path = db;
    o.url.allow_http = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    o.url.allow_ports = ports;
    o.url.n_allow_ports = 1;
    if (hl_worker_open(&w, &o, NULL, &err) != HL_OK) {
        demo_receiver_stop(rx);
        return cli_fail("opening the outbox", &err);
    }
    printf("outbox     %s\n", db);

    /* 3. Register the endpoint: SSRF check + a signed webhook.test that must get 2xx.
     * Retries are quick here so the demo ends in seconds (defaults: 5 s .. 5 h). */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hooks", port);
    snprintf(config, sizeof config,
             "{\"url\":\"%s\",\"events\":[\"email.*\",\"domain.*\"],\"secrets\":[{\"secret\":\"%s\"}],"
             "\"batch\":{\"max_events\":10,\"linger_ms\":100},"
             "\"retry\":{\"schedule_ms\":[200,500,1000],\"jitter_pct\":20,\"deadline_ms\":%d},"
             "\"timeout_ms\":1000}",
             url, secret, DEADLINE_S * 1000);
    memset(&test, 0, sizeof test);
    if (hl_worker_endpoint_add(w, "demo-receiver", config, strlen(config), 0, &test, &err) != HL_OK) {
        rc = cli_fail("registering the endpoint", &err);
        goto done;
    }
    printf("endpoint   demo-receiver registered (webhook.test answered %d in %llu ms)\n",
           test.status, (unsigned long long)test.latency_ms);

    /* 4. A few hundred email events, in one durable transaction. */
    if (!enqueue_events(w, &err)) {
        rc = cli_fail("enqueueing", &err);
        goto done;
    }
    printf("enqueued   %d events\n", N_EVENTS);

    /* 5. Deliver until everything has settled (bounded). */
    start = mono_ms();
    for (;;) {
        if (hl_worker_run_once(w, 100, NULL, &err) != HL_OK) {
            rc = cli_fail("delivering", &err);
            goto done;
        }
        hl_engine_stats_get(hl_worker_engine(w), &es);
        if (es.batches[HL_BATCH_OPEN] + es.batches[HL_BATCH_HELD] + es.batches[HL_BATCH_QUEUED] +
                es.batches[HL_BATCH_IN_FLIGHT] + es.batches[HL_BATCH_RETRY_WAIT] ==
            0)
            break;
        if (mono_ms() - start > (uint64_t)(DEADLINE_S + 10) * 1000u) {
            fprintf(stderr, "hookline: demo did not settle in time\n");
            rc = 1;
            goto done;
        }
    }
    (void)hl_worker_drain(w, 5000, &err);
    usleep(200 * 1000); /* let the receiver finish requests the sender gave up on */

    /* 6. A forgery: signed, then changed in transit. */
    printf("forgery    a signed batch altered in transit is answered %ld by the receiver\n",
           post_forgery(url, secret));

    /* 7. The summary. */
    demo_receiver_stats(rx, &st);
    hl_engine_stats_get(hl_worker_engine(w), &es);
    printf("\ndelivered in %.1f s\n", (double)(mono_ms() - start) / 1000.0);
    printf("  sender:   %llu batches delivered, %llu dead-lettered, %llu attempts in all\n",
           (unsigned long long)es.batches_delivered, (unsigned long long)es.batches_dead_lettered,
           (unsigned long long)es.attempts);
    printf("  receiver: %lu requests; %lu answered 500 on purpose, %lu answered too late on "
           "purpose,\n            %lu duplicate batches dropped by batch id, %lu rejected "
           "signatures\n",
           st.requests, st.failed_on_purpose, st.slow_on_purpose, st.duplicate_batches,
           st.rejected);
    ok = st.events == N_EVENTS + 1 /* the webhook.test */ && st.duplicate_events == 0 &&
         es.batches_dead_lettered == 0 && st.rejected == 1 /* the forgery */;
    printf("  application: %lu events handed over, %lu twice\n\n", st.events - 1,
           st.duplicate_events);
    printf("%s\n", ok ? "demo: every event delivered exactly once to the application"
                      : "demo: UNEXPECTED RESULT");
    rc = ok ? 0 : 1;
done:
    hl_worker_close(w);
    demo_receiver_stop(rx);
    unlink(db);
    {
        char side[96];
        snprintf(side, sizeof side, "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db);
        unlink(side);
    }
    rmdir(dir);
    return rc;
}
