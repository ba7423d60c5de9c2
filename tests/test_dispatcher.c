/*
 * test_dispatcher.c - the libcurl dispatcher against real HTTP servers on
 * 127.0.0.2: tests/servers/receiver.py, started three times (plain HTTP,
 * TLS with a test CA, TLS requiring a client certificate) and stopped by
 * pid. The receiver logs every request; the tests read the log and verify
 * signatures with hl_verify, as a customer would.
 *
 * The engine and the signatures run on a clock the tests advance (no
 * sleeping); only the transfers take real time (a 300 ms timeout at most).
 * The SSRF policy allows 127.0.0.2/32 and the ports in use, nothing else:
 * 127.0.0.1 stands for the sender's private network and must be blocked.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "hookline.h"
#include "hookline/dispatcher.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OLD_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhM"
#define T0 1800000000000ull

/* ----------------------------------------------------------------- servers */

struct server {
    pid_t pid;
    uint16_t port;
    char log[512];
};

static char tmpdir[256];
static struct server plain, tls, mtls;
static uint16_t h2_port; /* nginx with TLS and HTTP/2; 0 when nginx is absent */
static char nginx_pidfile[300];
static uint16_t refused_port;
static hl_url_policy *policy;
static uint64_t fake_now = T0;

static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static int start_server(struct server *s, const char *name, const char *cert, const char *key,
                        const char *client_ca)
{
    int fds[2];
    char line[64] = "";
    size_t len = 0;
    snprintf(s->log, sizeof s->log, "%s/%s.jsonl", tmpdir, name);
    if (pipe(fds) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        const char *argv[16];
        int n = 0;
        argv[n++] = python();
        argv[n++] = "tests/servers/receiver.py";
        argv[n++] = "--host";
        argv[n++] = "127.0.0.2";
        argv[n++] = "--log";
        argv[n++] = s->log;
        if (cert) {
            argv[n++] = "--cert";
            argv[n++] = cert;
            argv[n++] = "--key";
            argv[n++] = key;
        }
        if (client_ca) {
            argv[n++] = "--client-ca";
            argv[n++] = client_ca;
        }
        argv[n] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    /* bounded: 10 s for the server to say its port */
    for (int rounds = 0; rounds < 100 && !strchr(line, '\n'); rounds++) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
    }
    close(fds[0]);
    unsigned p = 0;
    if (sscanf(line, "PORT %u", &p) != 1)
        return -1;
    s->port = (uint16_t)p;
    return 0;
}

static void stop_server(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* nginx speaking HTTP/2 over TLS on 127.0.0.2 (daemonised; stopped by the
 * pid in its pid file). Returns 0, or -1 when nginx is not installed. */
static int start_nginx(void)
{
    const char *bin = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : NULL;
    char conf[300], cmd[900];
    FILE *f;
    if (!bin)
        return -1;
    snprintf(conf, sizeof conf, "%s/nginx.conf", tmpdir);
    snprintf(nginx_pidfile, sizeof nginx_pidfile, "%s/nginx.pid", tmpdir);
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(f,
            "%s\nworker_processes 1;\npid %s;\nerror_log %s/nginx-error.log;\n"
            "events {}\nhttp {\n access_log off;\n client_body_temp_path %s;\n"
            " proxy_temp_path %s;\n fastcgi_temp_path %s;\n uwsgi_temp_path %s;\n"
            " scgi_temp_path %s;\n"
            " server {\n  listen 127.0.0.2:%u ssl http2;\n"
            "  ssl_certificate %s/server.pem;\n  ssl_certificate_key %s/server.key;\n"
            "  location / { default_type application/json; return 200 '{\"h2\":true}'; }\n"
            " }\n}\n",
            geteuid() == 0 ? "user root;" : "", nginx_pidfile, tmpdir, tmpdir, tmpdir, tmpdir,
            tmpdir, tmpdir, h2_port, tmpdir, tmpdir);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -p %s -c %s -e %s/nginx-error.log", bin, tmpdir, conf, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void stop_nginx(void)
{
    FILE *f = fopen(nginx_pidfile, "r");
    long pid = 0;
    if (!f)
        return;
    if (fscanf(f, "%ld", &pid) == 1 && pid > 0) {
        kill((pid_t)pid, SIGQUIT);
        /* bounded: 5 s for the master to exit */
        for (int i = 0; i < 50 && kill((pid_t)pid, 0) == 0; i++)
            usleep(100000);
    }
    fclose(f);
}

/* A port nothing listens on: bound, then closed. */
static uint16_t free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return 0;
    close(fd);
    return ntohs(sin.sin_port);
}

static int setup(void **state)
{
    char cmd[512], cert[300], key[300], ca[300];
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hl_dispatch_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cmd, sizeof cmd, "bash tests/servers/make_certs.sh %s", tmpdir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cert, sizeof cert, "%s/server.pem", tmpdir);
    snprintf(key, sizeof key, "%s/server.key", tmpdir);
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    if (start_server(&plain, "plain", NULL, NULL, NULL) != 0 ||
        start_server(&tls, "tls", cert, key, NULL) != 0 ||
        start_server(&mtls, "mtls", cert, key, ca) != 0)
        return -1;
    refused_port = free_port();
    h2_port = free_port();
    if (start_nginx() != 0)
        h2_port = 0;

    uint16_t ports[] = {plain.port, tls.port, mtls.port, refused_port, h2_port};
    const char *cidrs[] = {"127.0.0.2/32"};
    hl_url_options uo = HL_URL_OPTIONS_INIT;
    uo.allow_http = 1;
    uo.allow_ports = ports;
    uo.n_allow_ports = h2_port ? 5 : 4;
    uo.allow_cidrs = cidrs;
    uo.n_allow_cidrs = 1;
    return hl_url_policy_new(&policy, &uo, NULL) == HL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    stop_server(&plain);
    stop_server(&tls);
    stop_server(&mtls);
    stop_nginx();
    hl_url_policy_free(policy);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- helpers */

static uint64_t test_clock(void *user)
{
    (void)user;
    return fake_now;
}

#define MAX_REPORTS 64
static hl_attempt_report reports[MAX_REPORTS];
static char report_class[MAX_REPORTS][32];
static char report_msg[MAX_REPORTS][HL_ERROR_MESSAGE_MAX];
static size_t n_reports;

static void on_attempt(void *user, const hl_attempt_report *r)
{
    (void)user;
    if (n_reports >= MAX_REPORTS)
        return;
    reports[n_reports] = *r;
    snprintf(report_class[n_reports], sizeof report_class[0], "%s", r->failure_class);
    snprintf(report_msg[n_reports], sizeof report_msg[0], "%s", r->error_message);
    /* borrowed strings are gone after the callback */
    reports[n_reports].failure_class = report_class[n_reports];
    reports[n_reports].error_message = report_msg[n_reports];
    reports[n_reports].batch_id = reports[n_reports].endpoint_id = reports[n_reports].host = "";
    n_reports++;
}

/* rebind.test answers this (a test changes it); NULL: it does not resolve */
static const char *rebind_answer;

/* Names for the tests: hooks.test is 127.0.0.2, rebind.test is
 * rebind_answer, nothing else resolves (no real DNS query is ever made). */
static hl_code test_resolve(void *user, const char *host, hl_address *out, size_t cap,
                            size_t *n_out, hl_error *err)
{
    (void)user;
    if (rebind_answer && strcmp(host, "rebind.test") == 0 && cap >= 1) {
        assert_int_equal(hl_address_parse(out, rebind_answer, strlen(rebind_answer), NULL), HL_OK);
        *n_out = 1;
        return HL_OK;
    }
    if (strcmp(host, "hooks.test") != 0 || cap < 1) {
        if (err) {
            err->code = HL_E_RESOLVE_FAILED;
            snprintf(err->message, sizeof err->message, "%s does not resolve", host);
        }
        return HL_E_RESOLVE_FAILED;
    }
    assert_int_equal(hl_address_parse(out, "127.0.0.2", 9, NULL), HL_OK);
    *n_out = 1;
    return HL_OK;
}

static const hl_resolver test_resolver = {test_resolve, NULL};

static hl_dispatcher *new_dispatcher(hl_engine *e, const char *ca_file)
{
    hl_dispatcher_options o = HL_DISPATCHER_OPTIONS_INIT;
    hl_dispatcher *d = NULL;
    hl_error err = HL_ERROR_INIT;
    o.policy = policy;
    o.resolver = &test_resolver;
    o.clock_ms = test_clock;
    o.ca_file = ca_file;
    o.user_agent_extra = "test";
    o.on_attempt = on_attempt;
    n_reports = 0;
    hl_code rc = hl_dispatcher_new(&d, e, &o, &err);
    if (rc != HL_OK)
        fail_msg("dispatcher_new: %s", err.message);
    return d;
}

static hl_engine *new_engine(void)
{
    hl_engine_options o = HL_ENGINE_OPTIONS_INIT;
    hl_engine *e = NULL;
    o.seed = 42;
    assert_int_equal(hl_engine_new(&e, &o, NULL), HL_OK);
    return e;
}

static char url_buf[8][256];
static const char *url_of(int slot, const struct server *s, const char *scheme, const char *path)
{
    snprintf(url_buf[slot], sizeof url_buf[slot], "%s://127.0.0.2:%u%s", scheme, s->port, path);
    return url_buf[slot];
}

/* An endpoint with one attempt every second (no jitter), one event per batch. */
static void add_endpoint(hl_engine *e, hl_dispatcher *d, const char *id, const char *url,
                         const hl_delivery_options *dopts)
{
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    o.url = url;
    o.schedule_ms[0] = 1000;
    o.n_schedule = 1;
    o.jitter_pct = 0;
    o.max_events = 1;
    assert_int_equal(hl_endpoint_add(e, id, &o, fake_now, &err), HL_OK);
    if (dopts && hl_dispatcher_endpoint_set(d, id, dopts, &err) != HL_OK)
        fail_msg("endpoint_set: %s", err.message);
}

static const hl_delivery_secret the_secret[1] = {{SECRET, HL_SECRET_DEFAULT, 0}};

static hl_delivery_options delivery(void)
{
    hl_delivery_options o = HL_DELIVERY_OPTIONS_INIT;
    o.secrets = the_secret;
    o.n_secrets = 1;
    o.timeout_ms = 3000;
    return o;
}

/* Enqueue one event to `endpoint`; returns nothing, the batch closes at once. */
static void enqueue_to(hl_engine *e, const char *endpoint)
{
    hl_event ev = HL_EVENT_INIT;
    hl_error err = HL_ERROR_INIT;
    ev.type = "email.outbound.delivered";
    ev.data = "{\"to\":\"a@example.com\"}";
    ev.data_len = strlen(ev.data);
    assert_int_equal(hl_engine_enqueue_to(e, endpoint, &ev, fake_now, NULL, 0, &err), HL_OK);
    assert_int_equal(hl_engine_flush(e, fake_now, NULL), HL_OK);
}

/* Step until `want` outcomes were reported (bounded: about 10 s of real time). */
static hl_dispatch_progress run_until_finished(hl_dispatcher *d, size_t want)
{
    hl_dispatch_progress total, p;
    hl_error err = HL_ERROR_INIT;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < 400 && total.finished < want; i++) {
        hl_code rc = hl_dispatcher_step(d, 25, &p, &err);
        if (rc != HL_OK)
            fail_msg("step: %s", err.message);
        total.started += p.started;
        total.finished += p.finished;
        total.succeeded += p.succeeded;
        total.failed += p.failed;
        total.blocked += p.blocked;
        total.in_flight = p.in_flight;
        total.engine_action = p.engine_action;
        total.wake_ms = p.wake_ms;
    }
    assert_int_equal(total.finished, want);
    return total;
}

/* The logged requests whose path starts with `prefix`; returns how many,
 * and a new reference to the last one in *last (may be NULL). */
static size_t requests(const struct server *s, const char *prefix, json_t **last)
{
    FILE *f = fopen(s->log, "r");
    char line[300000];
    size_t n = 0;
    if (last)
        *last = NULL;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        json_t *r = json_loads(line, 0, NULL);
        const char *path = r ? json_string_value(json_object_get(r, "path")) : NULL;
        if (path && strncmp(path, prefix, strlen(prefix)) == 0) {
            n++;
            if (last) {
                json_decref(*last);
                *last = json_incref(r);
            }
        }
        json_decref(r);
    }
    fclose(f);
    return n;
}

/* A request header's value from a logged request ("" when absent). */
static const char *req_header(json_t *r, const char *name)
{
    json_t *h = json_object_get(r, "headers");
    for (size_t i = 0; i < json_array_size(h); i++) {
        json_t *kv = json_array_get(h, i);
        if (strcasecmp(json_string_value(json_array_get(kv, 0)), name) == 0)
            return json_string_value(json_array_get(kv, 1));
    }
    return "";
}

static size_t req_body(json_t *r, unsigned char *out, size_t cap)
{
    const char *b64 = json_string_value(json_object_get(r, "body"));
    size_t len = strlen(b64);
    assert_true(len / 4 * 3 <= cap);
    int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
    assert_true(n >= 0);
    while (len > 0 && b64[len - 1] == '=') {
        len--;
        n--;
    }
    return (size_t)n;
}

/* Verify a logged request as the customer would, with `secret_text` only. */
static hl_code verify_logged(json_t *r, const char *secret_text, int64_t now_s)
{
    static unsigned char body[200000];
    hl_secret *secret = NULL;
    hl_header hs[32];
    size_t n = 0;
    json_t *h = json_object_get(r, "headers");
    size_t len = req_body(r, body, sizeof body);
    for (size_t i = 0; i < json_array_size(h) && n < 32; i++, n++) {
        json_t *kv = json_array_get(h, i);
        hs[n].name = json_string_value(json_array_get(kv, 0));
        hs[n].name_len = strlen(hs[n].name);
        hs[n].value = json_string_value(json_array_get(kv, 1));
        hs[n].value_len = strlen(hs[n].value);
    }
    assert_int_equal(hl_secret_parse(&secret, HL_SCHEME_STANDARD, HL_SECRET_DEFAULT, secret_text,
                                     strlen(secret_text), NULL),
                     HL_OK);
    const hl_secret *list[1] = {secret};
    hl_code rc = hl_verify(NULL, list, 1, now_s, hs, n, body, len, NULL, NULL);
    hl_secret_free(secret);
    return rc;
}

static hl_batch_info batch_of(hl_engine *e, const char *endpoint)
{
    hl_batch_info info;
    memset(&info, 0, sizeof info);
    /* the test endpoints hold one batch each: find it through the attempt log */
    size_t n = hl_engine_attempt_count(e);
    for (size_t i = n; i-- > 0;) {
        hl_attempt_record rec;
        assert_int_equal(hl_engine_attempt_at(e, i, &rec, NULL), HL_OK);
        if (strcmp(rec.endpoint_id, endpoint) == 0) {
            hl_error err = HL_ERROR_INIT;
            if (hl_engine_batch_get(e, rec.batch_id, &info, &err) == HL_OK)
                return info;
            memset(&info, 0, sizeof info);
            info.state = HL_BATCH_DELIVERED; /* forgotten once delivered */
            return info;
        }
    }
    fail_msg("no attempt for %s", endpoint);
    return info;
}

/* ----------------------------------------------------------------- tests */

static void test_success_signed_with_headers(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    const char *names[] = {"X-Tenant", "X-Api-Key"};
    const char *values[] = {"acme", "k3y-123"};
    json_t *r = NULL;
    (void)state;
    o.header_names = names;
    o.header_values = values;
    o.n_headers = 2;
    add_endpoint(e, d, "ok", url_of(0, &plain, "http", "/ok"), &o);
    size_t before = requests(&plain, "/ok", NULL);
    enqueue_to(e, "ok");
    hl_dispatch_progress p = run_until_finished(d, 1);
    assert_int_equal(p.succeeded, 1);
    assert_int_equal(hl_dispatcher_in_flight(d), 0);

    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 1);
    assert_int_equal(requests(&plain, "/ok", &r), before + 1);
    assert_string_equal(req_header(r, "Content-Type"), "application/json");
    assert_string_equal(req_header(r, "User-Agent"), "hookline/" HL_VERSION_STRING " test");
    assert_string_equal(req_header(r, "X-Tenant"), "acme");
    assert_string_equal(req_header(r, "X-Api-Key"), "k3y-123");
    assert_string_equal(req_header(r, "x-webhook-batch-id"), req_header(r, "webhook-id"));
    assert_int_equal(strncmp(req_header(r, "webhook-id"), "bat_", 4), 0);
    assert_string_equal(req_header(r, "X-MessageSystems-Batch-ID"), "");
    assert_string_equal(req_header(r, "Expect"), "");
    assert_int_equal(atoll(req_header(r, "webhook-timestamp")), (long long)(T0 / 1000));
    /* the receiver's check, with the secret only */
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    assert_int_equal(verify_logged(r, OLD_SECRET, (int64_t)(fake_now / 1000)),
                     HL_E_SIGNATURE_MISMATCH);
    json_decref(r);

    assert_int_equal(n_reports, 1);
    assert_int_equal(reports[0].status, 200);
    assert_string_equal(reports[0].failure_class, "http");
    assert_int_equal(reports[0].attempt, 1);
    assert_int_equal(reports[0].n_events, 1);
    assert_true(reports[0].bytes_sent > 0);
    assert_int_equal(reports[0].http_version, 11);
    assert_int_equal(reports[0].test, 0);
    assert_string_equal(report_msg[0], "");

    /* the next batch reuses the kept-alive connection */
    enqueue_to(e, "ok");
    run_until_finished(d, 1);
    assert_int_equal(n_reports, 2);
    assert_int_equal(reports[1].status, 200);
    assert_int_equal(reports[1].connection_reused, 1);
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_500s_then_success(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    json_t *r = NULL;
    char first_id[64];
    (void)state;
    add_endpoint(e, d, "flaky", url_of(0, &plain, "http", "/flaky/a/2"), &o);
    enqueue_to(e, "flaky");
    hl_dispatch_progress p = run_until_finished(d, 1);
    assert_int_equal(p.failed, 1);
    hl_batch_info b = batch_of(e, "flaky");
    assert_int_equal(b.state, HL_BATCH_RETRY_WAIT);
    assert_int_equal(b.last_status, 500);
    assert_int_equal(b.next_attempt_ms, fake_now + 1000);
    requests(&plain, "/flaky/a/", &r);
    snprintf(first_id, sizeof first_id, "%s", req_header(r, "webhook-id"));
    json_decref(r);

    /* not due yet: the step waits and sends nothing */
    assert_int_equal(hl_dispatcher_step(d, 10, &p, NULL), HL_OK);
    assert_int_equal(p.started, 0);
    assert_int_equal(p.engine_action, HL_ACTION_WAIT);
    assert_int_equal(p.wake_ms, fake_now + 1000);

    fake_now += 1000;
    p = run_until_finished(d, 1);
    assert_int_equal(p.failed, 1);
    fake_now += 1000;
    p = run_until_finished(d, 1);
    assert_int_equal(p.succeeded, 1);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 1);
    /* three attempts, one batch id; each signed at its own time */
    assert_int_equal(requests(&plain, "/flaky/a/", &r), 3);
    assert_string_equal(req_header(r, "webhook-id"), first_id);
    assert_int_equal(atoll(req_header(r, "webhook-timestamp")), (long long)(fake_now / 1000));
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    json_decref(r);
    assert_int_equal(n_reports, 3);
    assert_int_equal(reports[0].attempt, 1);
    assert_int_equal(reports[2].attempt, 3);
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_timeout_refused_gone_throttled(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery(), quick = delivery();
    char refused_url[128];
    (void)state;
    quick.timeout_ms = 300;
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.2:%u/ok", refused_port);
    add_endpoint(e, d, "hang", url_of(0, &plain, "http", "/hang"), &quick);
    add_endpoint(e, d, "refused", refused_url, &o);
    add_endpoint(e, d, "gone", url_of(1, &plain, "http", "/status/410"), &o);
    add_endpoint(e, d, "throttled", url_of(2, &plain, "http", "/status/429"), &o);
    add_endpoint(e, d, "broken", url_of(3, &plain, "http", "/status/500"), &o);
    enqueue_to(e, "hang");
    enqueue_to(e, "refused");
    enqueue_to(e, "gone");
    enqueue_to(e, "throttled");
    enqueue_to(e, "broken");
    hl_dispatch_progress p = run_until_finished(d, 5); /* all five in flight together */
    assert_int_equal(p.failed, 5);

    hl_batch_info b = batch_of(e, "hang");
    assert_int_equal(b.last_failure, HL_FAILURE_TIMEOUT);
    b = batch_of(e, "refused");
    assert_int_equal(b.last_failure, HL_FAILURE_CONNECT);
    b = batch_of(e, "gone");
    assert_int_equal(b.last_status, 410);
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(e, "gone", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    /* 429 with Retry-After: 120 s, bounded by the engine to twice the 1 s
     * delay; a plain 500 waits the scheduled second */
    b = batch_of(e, "throttled");
    assert_int_equal(b.last_status, 429);
    assert_int_equal(b.next_attempt_ms, fake_now + 2000);
    assert_int_equal(hl_endpoint_info_get(e, "throttled", &info, NULL), HL_OK);
    assert_true(info.effective_rate > 0);
    b = batch_of(e, "broken");
    assert_int_equal(b.next_attempt_ms, fake_now + 1000);

    for (size_t i = 0; i < n_reports; i++) {
        if (reports[i].failure == HL_FAILURE_TIMEOUT) {
            assert_true(reports[i].latency_ms >= 250);
            assert_true(reports[i].latency_ms < 3000);
            assert_string_equal(reports[i].failure_class, "timeout");
        }
        if (reports[i].failure == HL_FAILURE_CONNECT)
            assert_string_equal(reports[i].failure_class, "connect");
    }
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_blocked_and_unconfigured(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    char internal[128];
    (void)state;
    /* 127.0.0.1 is loopback and not allowed: blocked before any connection */
    snprintf(internal, sizeof internal, "http://127.0.0.1:%u/ok", plain.port);
    add_endpoint(e, d, "internal", internal, &o);
    add_endpoint(e, d, "nosettings", url_of(0, &plain, "http", "/ok"), NULL);
    char nx[128], named[128];
    snprintf(nx, sizeof nx, "http://nx.test:%u/ok", plain.port);
    snprintf(named, sizeof named, "http://hooks.test:%u/ok?named", plain.port);
    add_endpoint(e, d, "nx", nx, &o);
    add_endpoint(e, d, "named", named, &o);
    enqueue_to(e, "internal");
    enqueue_to(e, "nosettings");
    enqueue_to(e, "nx");
    enqueue_to(e, "named");
    hl_dispatch_progress p = run_until_finished(d, 4);
    assert_int_equal(p.blocked, 1);
    assert_int_equal(p.failed, 3);
    assert_int_equal(p.succeeded, 1); /* the name, resolved and pinned by the guard */
    json_t *r = NULL;
    assert_int_equal(requests(&plain, "/ok?named", &r), 1);
    assert_int_equal(strncmp(req_header(r, "Host"), "hooks.test:", 11), 0);
    json_decref(r);
    assert_int_equal(batch_of(e, "nx").last_failure, HL_FAILURE_DNS);
    hl_batch_info b = batch_of(e, "internal");
    assert_int_equal(b.last_failure, HL_FAILURE_BLOCKED);
    b = batch_of(e, "nosettings");
    assert_int_equal(b.last_failure, HL_FAILURE_CONNECT);
    int seen_blocked = 0, seen_unconf = 0;
    for (size_t i = 0; i < n_reports; i++) {
        if (strcmp(reports[i].failure_class, "blocked") == 0) {
            seen_blocked = 1;
            assert_int_equal(reports[i].error_code, HL_E_ADDRESS_DENIED);
            assert_non_null(strstr(reports[i].error_message, "127.0.0.1"));
        }
        seen_unconf |= strcmp(reports[i].failure_class, "unconfigured") == 0;
    }
    assert_true(seen_blocked && seen_unconf);
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_secret_rotation(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    hl_delivery_secret two[2] = {{SECRET, HL_SECRET_DEFAULT, 0},
                                 {OLD_SECRET, HL_SECRET_DEFAULT, T0 + 60000}};
    json_t *r = NULL;
    (void)state;
    fake_now = T0;
    o.secrets = two;
    o.n_secrets = 2;
    add_endpoint(e, d, "rot", url_of(0, &plain, "http", "/ok?rot"), &o);
    enqueue_to(e, "rot");
    run_until_finished(d, 1);
    requests(&plain, "/ok?rot", &r);
    /* during the grace period both secrets sign: either one verifies */
    assert_non_null(strchr(req_header(r, "webhook-signature"), ' '));
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    assert_int_equal(verify_logged(r, OLD_SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    json_decref(r);
    fake_now = T0 + 60001; /* the old one expired */
    enqueue_to(e, "rot");
    run_until_finished(d, 1);
    requests(&plain, "/ok?rot", &r);
    assert_null(strchr(req_header(r, "webhook-signature"), ' '));
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    assert_int_equal(verify_logged(r, OLD_SECRET, (int64_t)(fake_now / 1000)),
                     HL_E_SIGNATURE_MISMATCH);
    json_decref(r);
    fake_now = T0;
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_oauth2_client_credentials(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    json_t *r = NULL;
    char token_url[128];
    (void)state;
    fake_now = T0;
    snprintf(token_url, sizeof token_url, "http://127.0.0.2:%u/token?expires=100", plain.port);
    o.auth = HL_AUTH_OAUTH2;
    o.oauth2_token_url = token_url;
    o.oauth2_client_id = "cid";
    o.oauth2_client_secret = "csecret";
    o.oauth2_scope = "webhooks write";
    add_endpoint(e, d, "oauth", url_of(0, &plain, "http", "/oauth"), &o);
    size_t tokens0 = requests(&plain, "/token", NULL);

    enqueue_to(e, "oauth");
    enqueue_to(e, "oauth");
    hl_dispatch_progress p = run_until_finished(d, 2);
    assert_int_equal(p.succeeded, 2);
    /* one token for both (they waited for the same request) */
    assert_int_equal(requests(&plain, "/token", &r), tokens0 + 1);
    assert_string_equal(req_header(r, "Content-Type"), "application/x-www-form-urlencoded");
    json_decref(r);
    enqueue_to(e, "oauth");
    run_until_finished(d, 1);
    assert_int_equal(requests(&plain, "/token", NULL), tokens0 + 1); /* cached */

    /* refreshed before it expires: 100 s lifetime, refreshed 20 s early */
    fake_now += 81000;
    enqueue_to(e, "oauth");
    p = run_until_finished(d, 1);
    assert_int_equal(p.succeeded, 1);
    assert_int_equal(requests(&plain, "/token", NULL), tokens0 + 2);

    /* someone else got a newer token: ours now gets 401, is refreshed once,
     * and the same attempt succeeds */
    {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, token_url);
        curl_easy_setopt(c, CURLOPT_USERPWD, "cid:csecret");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "grant_type=client_credentials");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
        FILE *devnull = fopen("/dev/null", "w");
        curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        fclose(devnull);
        curl_easy_cleanup(c);
    }
    size_t oauth_before = requests(&plain, "/oauth", NULL);
    n_reports = 0;
    enqueue_to(e, "oauth");
    p = run_until_finished(d, 1);
    assert_int_equal(p.succeeded, 1);
    assert_int_equal(requests(&plain, "/token", NULL), tokens0 + 4);
    assert_int_equal(requests(&plain, "/oauth", &r), oauth_before + 2);
    assert_int_equal(n_reports, 1); /* one attempt for the engine */
    assert_int_equal(reports[0].status, 200);
    /* no token in the reports */
    assert_null(strstr(report_msg[0], "tok-"));
    json_decref(r);

    /* a wrong client secret: the token request fails, the attempt too
     * ("auth", no HTTP status from the receiver) */
    o.oauth2_client_secret = "wrong";
    assert_int_equal(hl_dispatcher_endpoint_set(d, "oauth", &o, NULL), HL_OK);
    n_reports = 0;
    enqueue_to(e, "oauth");
    p = run_until_finished(d, 1);
    assert_int_equal(p.failed, 1);
    assert_int_equal(n_reports, 1);
    assert_string_equal(reports[0].failure_class, "auth");
    assert_int_equal(reports[0].error_code, HL_E_OAUTH2);
    assert_int_equal(reports[0].status, 0);
    assert_null(strstr(report_msg[0], "wrong"));

    /* the token URL goes through the same SSRF guard: 127.0.0.1 is blocked */
    char internal_token[128];
    snprintf(internal_token, sizeof internal_token, "http://127.0.0.1:%u/token", plain.port);
    o.oauth2_token_url = internal_token;
    o.oauth2_client_secret = "csecret";
    assert_int_equal(hl_dispatcher_endpoint_set(d, "oauth", &o, NULL), HL_OK);
    size_t tokens_now = requests(&plain, "/token", NULL);
    n_reports = 0;
    enqueue_to(e, "oauth");
    p = run_until_finished(d, 1);
    assert_int_equal(p.blocked, 1);
    assert_string_equal(reports[0].failure_class, "blocked");
    assert_int_equal(reports[0].error_code, HL_E_ADDRESS_DENIED);
    assert_int_equal(requests(&plain, "/token", NULL), tokens_now);

    /* a token answer larger than HL_DISPATCH_TOKEN_RESPONSE_MAX is refused */
    snprintf(internal_token, sizeof internal_token, "http://127.0.0.2:%u/bigtoken", plain.port);
    assert_int_equal(hl_dispatcher_endpoint_set(d, "oauth", &o, NULL), HL_OK);
    n_reports = 0;
    enqueue_to(e, "oauth");
    p = run_until_finished(d, 1);
    assert_int_equal(p.failed, 1);
    assert_string_equal(reports[0].failure_class, "auth");
    assert_non_null(strstr(report_msg[0], "too large"));
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_send_test_paths(void **state)
{
    hl_dispatcher *d = new_dispatcher(NULL, NULL);
    hl_delivery_options o = delivery();
    hl_test_response out;
    hl_error err = HL_ERROR_INIT;
    const char *body = "{\"type\":\"webhook.test\"}";
    size_t len = strlen(body);
    json_t *r = NULL;
    (void)state;
    /* basic auth arrives */
    o.auth = HL_AUTH_BASIC;
    o.basic_user = "hooker";
    o.basic_password = "s3cret";
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/basic"), &o, body,
                                             len, "msg_test1", 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.msg_id, "msg_test1");
    assert_string_equal(out.content_type, "application/json");
    o.basic_password = "nope";
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/basic"), &o, body,
                                             len, NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 401);
    assert_int_equal(strncmp(out.msg_id, "msg_", 4), 0);
    requests(&plain, "/basic", &r);
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)), HL_OK);
    json_decref(r);
    o = delivery();

    /* a redirect is an answer, not followed */
    size_t oks = requests(&plain, "/ok", NULL);
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/redirect"), &o, body,
                                             len, NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 302);
    assert_string_equal(out.location, "/ok");
    /* every header line of the answer, "name: value\n" */
    assert_non_null(strstr(out.headers, "Location: /ok\n"));
    assert_non_null(strstr(out.headers, "Content-Type: application/json\n"));
    assert_int_equal(out.headers_len, strlen(out.headers));
    assert_int_equal(out.headers_truncated, 0);
    assert_int_equal(requests(&plain, "/ok", NULL), oks);

    /* slow reads: within the timeout, and beyond it */
    o.timeout_ms = 3000;
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/slow/200"), &o, body,
                                             len, NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.body_bytes, 10);
    o.timeout_ms = 300;
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/slow/2000"), &o, body,
                                             len, NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.failure, HL_FAILURE_TIMEOUT);
    assert_int_equal(out.status, 0);
    o = delivery();

    /* a big answer: 1 KiB kept, all counted */
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/big"), &o, body, len,
                                             NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.body_excerpt_len, HL_EXCERPT_MAX);
    assert_int_equal(out.body_bytes, 65536);

    /* blocked, with the reason */
    char internal[128];
    snprintf(internal, sizeof internal, "http://127.0.0.1:%u/ok", plain.port);
    assert_int_equal(
        hl_dispatcher_send_test(d, internal, &o, body, len, NULL, 0, &out, &err), HL_OK);
    assert_int_equal(out.failure, HL_FAILURE_BLOCKED);
    assert_int_equal(out.blocked, HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(out.message, "loopback"));

    /* the replay check: a 10-minute-old timestamp, which a careful receiver
     * refuses and this one accepts */
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/replay"), &o, body,
                                             len, NULL, HL_TEST_STALE, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.timestamp, (int64_t)(fake_now / 1000) - HL_DISPATCH_STALE_SECONDS);
    requests(&plain, "/replay", &r);
    assert_int_equal(verify_logged(r, SECRET, (int64_t)(fake_now / 1000)),
                     HL_E_TIMESTAMP_TOO_OLD);
    json_decref(r);

    /* bad options are refused before any request */
    o.timeout_ms = 0;
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/ok"), &o, body, len,
                                             NULL, 0, &out, &err),
                     HL_E_DELIVERY_INVALID);
    assert_int_equal(hl_dispatcher_step(d, 0, NULL, &err), HL_E_INVALID_ARGUMENT); /* no engine */
    hl_dispatcher_free(d);
}

static void test_tls_and_mutual_tls(void **state)
{
    char ca[300], other[300], cert[300], key[300];
    hl_delivery_options o = delivery();
    hl_test_response out;
    hl_error err = HL_ERROR_INIT;
    const char *body = "[]";
    (void)state;
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    snprintf(other, sizeof other, "%s/other.pem", tmpdir);
    snprintf(cert, sizeof cert, "%s/client.pem", tmpdir);
    snprintf(key, sizeof key, "%s/client.key", tmpdir);

    hl_dispatcher *d = new_dispatcher(NULL, ca);
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &tls, "https", "/ok"), &o, body, 2,
                                             NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    /* the server demands a client certificate */
    assert_int_equal(hl_dispatcher_send_test(d, url_of(1, &mtls, "https", "/ok"), &o, body, 2,
                                             NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 0);
    assert_true(out.failure == HL_FAILURE_TLS || out.failure == HL_FAILURE_RESET);
    o.tls_client_cert = cert;
    o.tls_client_key = key;
    assert_int_equal(hl_dispatcher_send_test(d, url_of(1, &mtls, "https", "/ok"), &o, body, 2,
                                             NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.status, 200);
    json_t *r = NULL;
    assert_true(requests(&mtls, "/ok", &r) >= 1);
    assert_true(json_is_true(json_object_get(r, "client_cert")));
    json_decref(r);
    hl_dispatcher_free(d);

    /* a CA that did not sign the server's certificate */
    d = new_dispatcher(NULL, other);
    o = delivery();
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &tls, "https", "/ok"), &o, body, 2,
                                             NULL, 0, &out, &err),
                     HL_OK);
    assert_int_equal(out.failure, HL_FAILURE_TLS);
    hl_dispatcher_free(d);
}

static void test_http2(void **state)
{
    char ca[300], url[128];
    hl_delivery_options o = delivery();
    hl_test_response out;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    if (!h2_port)
        skip();
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    snprintf(url, sizeof url, "https://127.0.0.2:%u/hook", h2_port);
    hl_dispatcher *d = new_dispatcher(NULL, ca);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hl_dispatcher_send_test(d, url, &o, "[]", 2, NULL, 0, &out, &err),
                         HL_OK);
        if (out.status != 200)
            fail_msg("h2: status %d failure %d: %s", out.status, out.failure, out.message);
        assert_int_equal(out.http_version, 20);
    }
    assert_int_equal(n_reports, 2);
    assert_int_equal(reports[1].connection_reused, 1);
    hl_dispatcher_free(d);
}

static void test_drain(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    hl_dispatch_progress p;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    o.timeout_ms = 2000;
    add_endpoint(e, d, "hang", url_of(0, &plain, "http", "/hang"), &o);
    add_endpoint(e, d, "ok", url_of(1, &plain, "http", "/ok?drain"), &o);
    enqueue_to(e, "hang");
    enqueue_to(e, "ok");
    p = run_until_finished(d, 1); /* the ok one; the other hangs */
    assert_int_equal(p.started, 2);
    assert_int_equal(hl_dispatcher_in_flight(d), 1);
    /* work the engine has when the drain begins is not taken */
    enqueue_to(e, "ok");
    /* the deadline is on the (test) clock: past it, the hanging one is cut off */
    fake_now += 5000;
    assert_int_equal(hl_dispatcher_drain(d, fake_now - 1, &p, &err), HL_OK);
    assert_int_equal(hl_dispatcher_in_flight(d), 0);
    hl_batch_info b = batch_of(e, "hang");
    assert_int_equal(b.state, HL_BATCH_RETRY_WAIT);
    assert_int_equal(b.last_failure, HL_FAILURE_TIMEOUT);
    assert_int_equal(hl_dispatcher_step(d, 0, &p, &err), HL_E_DRAINING);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 1);
    assert_int_equal(st.batches[HL_BATCH_QUEUED], 1); /* the late one waits */
    fake_now = T0;
    hl_dispatcher_free(d);

    /* freed with a transfer in flight (no drain): nothing reported, nothing
     * leaked; the batch stays in flight in the engine */
    d = new_dispatcher(e, NULL);
    assert_int_equal(hl_dispatcher_endpoint_set(d, "ok", &o, NULL), HL_OK);
    assert_int_equal(hl_dispatcher_step(d, 0, &p, &err), HL_OK);
    assert_int_equal(p.started, 1);
    assert_int_equal(p.finished, 0);
    hl_dispatcher_free(d);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_IN_FLIGHT], 1);
    hl_engine_free(e);
}

static void test_connection_limit(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher_options o = HL_DISPATCHER_OPTIONS_INIT;
    hl_dispatcher *d = NULL;
    hl_delivery_options dopts = delivery();
    hl_dispatch_progress p;
    (void)state;
    o.policy = policy;
    o.clock_ms = test_clock;
    o.max_connections = 2;
    assert_int_equal(hl_dispatcher_new(&d, e, &o, NULL), HL_OK);
    add_endpoint(e, d, "s1", url_of(0, &plain, "http", "/slow/300"), &dopts);
    add_endpoint(e, d, "s2", url_of(1, &plain, "http", "/slow/300"), &dopts);
    add_endpoint(e, d, "s3", url_of(2, &plain, "http", "/slow/300"), &dopts);
    enqueue_to(e, "s1");
    enqueue_to(e, "s2");
    enqueue_to(e, "s3");
    assert_int_equal(hl_dispatcher_step(d, 0, &p, NULL), HL_OK);
    assert_int_equal(p.started, 2);
    assert_int_equal(p.engine_action, HL_ACTION_SEND); /* more work, no room */
    assert_int_equal(hl_dispatcher_in_flight(d), 2);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_QUEUED], 1);
    p = run_until_finished(d, 3);
    assert_int_equal(p.succeeded, 3);
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_sparkpost_scheme_and_redirects(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    hl_delivery_options o = delivery();
    hl_delivery_secret hex[1] = {{"00112233445566778899aabbccddeeff", HL_SECRET_DEFAULT, 0}};
    hl_endpoint_options eo = HL_ENDPOINT_OPTIONS_INIT;
    json_t *r = NULL;
    (void)state;
    /* SparkPost compatibility: the msys batch header too; hookline scheme */
    eo.url = url_of(0, &plain, "http", "/ok?msys");
    eo.sparkpost_compat = 1;
    eo.max_events = 1;
    assert_int_equal(hl_endpoint_add(e, "msys", &eo, fake_now, NULL), HL_OK);
    o.scheme = HL_SCHEME_HOOKLINE;
    o.secrets = hex;
    assert_int_equal(hl_dispatcher_endpoint_set(d, "msys", &o, NULL), HL_OK);
    enqueue_to(e, "msys");
    hl_dispatch_progress p = run_until_finished(d, 1);
    assert_int_equal(p.succeeded, 1);
    requests(&plain, "/ok?msys", &r);
    assert_string_equal(req_header(r, "X-MessageSystems-Batch-ID"),
                        req_header(r, "x-webhook-batch-id"));
    assert_int_equal(strlen(req_header(r, "x-webhook-signature")), 64);
    assert_int_equal(atoll(req_header(r, "x-webhook-timestamp")), (long long)(fake_now / 1000));
    assert_string_equal(req_header(r, "webhook-signature"), "");
    json_decref(r);
    hl_dispatcher_free(d);
    hl_engine_free(e);

    /* follow_redirects: the hop is followed (and checked by the guard) */
    hl_dispatcher_options dopt = HL_DISPATCHER_OPTIONS_INIT;
    hl_test_response out;
    dopt.policy = policy;
    dopt.clock_ms = test_clock;
    dopt.follow_redirects = 1;
    assert_int_equal(hl_dispatcher_new(&d, NULL, &dopt, NULL), HL_OK);
    o = delivery();
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/redirect"), &o, "[]",
                                             2, NULL, 0, &out, NULL),
                     HL_OK);
    assert_int_equal(out.status, 200);
    hl_dispatcher_free(d);
}

static void *wake_later(void *arg)
{
    usleep(100000);
    hl_dispatcher_wakeup(arg);
    return NULL;
}

static void test_wakeup(void **state)
{
    hl_engine *e = new_engine();
    hl_dispatcher *d = new_dispatcher(e, NULL);
    pthread_t t;
    struct timespec a, b;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(pthread_create(&t, NULL, wake_later, d), 0);
    assert_int_equal(hl_dispatcher_step(d, 10000, NULL, NULL), HL_OK); /* IDLE: would wait 10 s */
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    assert_true(b.tv_sec - a.tv_sec < 5);
    assert_int_equal(hl_dispatcher_wakeup(NULL), HL_E_INVALID_ARGUMENT);
    hl_dispatcher_free(d);
    hl_engine_free(e);
}

static void test_endpoint_management(void **state)
{
    hl_dispatcher *d = new_dispatcher(NULL, NULL);
    hl_delivery_options o = delivery();
    hl_error err = HL_ERROR_INIT;
    (void)state;
    assert_int_equal(hl_dispatcher_endpoint_set(d, "a", &o, &err), HL_OK);
    assert_int_equal(hl_dispatcher_endpoint_set(d, "a", &o, &err), HL_OK); /* replace */
    o.n_secrets = 0;
    assert_int_equal(hl_dispatcher_endpoint_set(d, "a", &o, &err), HL_E_DELIVERY_INVALID);
    assert_int_equal(hl_dispatcher_endpoint_remove(d, "a", &err), HL_OK);
    assert_int_equal(hl_dispatcher_endpoint_remove(d, "a", &err), HL_E_ENDPOINT_UNKNOWN);
    assert_int_equal(hl_dispatcher_endpoint_set(d, "", &o, &err), HL_E_INVALID_ARGUMENT);
    hl_dispatcher_free(d);
    hl_dispatcher_free(NULL);

    hl_dispatcher_options bad = HL_DISPATCHER_OPTIONS_INIT;
    bad.max_connections = 0;
    assert_int_equal(hl_dispatcher_new(&d, NULL, &bad, &err), HL_E_INVALID_ARGUMENT);
    bad = (hl_dispatcher_options)HL_DISPATCHER_OPTIONS_INIT;
    bad.user_agent_extra = "x\r\ny: z";
    assert_int_equal(hl_dispatcher_new(&d, NULL, &bad, &err), HL_E_INVALID_ARGUMENT);
}

/* Easy handles are reused from one transfer to the next (reset in
 * between): a reused handle still carries the whole SSRF guard. With one
 * connection at most, every transfer below gets the same handle. */
static void test_reused_handle_keeps_the_guard(void **state)
{
    hl_dispatcher_options dopt = HL_DISPATCHER_OPTIONS_INIT;
    hl_dispatcher *d = NULL;
    hl_delivery_options o = delivery();
    hl_test_response out;
    char url[128];
    (void)state;
    dopt.policy = policy;
    dopt.resolver = &test_resolver;
    dopt.clock_ms = test_clock;
    dopt.follow_redirects = 1;
    dopt.max_connections = 1;
    assert_int_equal(hl_dispatcher_new(&d, NULL, &dopt, NULL), HL_OK);
    snprintf(url, sizeof url, "http://rebind.test:%u/ok?rebind", plain.port);

    /* a name on an allowed address: sent, and the handle kept */
    rebind_answer = "127.0.0.2";
    assert_int_equal(hl_dispatcher_send_test(d, url, &o, "[]", 2, NULL, 0, &out, NULL), HL_OK);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.blocked, HL_OK);
    /* the name now answers a denied address: refused, no request */
    size_t before = requests(&plain, "/ok?rebind", NULL);
    rebind_answer = "127.0.0.1";
    assert_int_equal(hl_dispatcher_send_test(d, url, &o, "[]", 2, NULL, 0, &out, NULL), HL_OK);
    assert_int_equal(out.failure, HL_FAILURE_BLOCKED);
    assert_int_equal(out.blocked, HL_E_ADDRESS_DENIED);
    assert_int_equal(requests(&plain, "/ok?rebind", NULL), before);
    rebind_answer = NULL;

    /* a redirect to a denied address, after a transfer that followed one */
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/redirect"), &o, "[]",
                                             2, NULL, 0, &out, NULL),
                     HL_OK);
    assert_int_equal(out.status, 200);
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/redirect_loopback"),
                                             &o, "[]", 2, NULL, 0, &out, NULL),
                     HL_OK);
    assert_int_equal(out.failure, HL_FAILURE_BLOCKED);
    assert_int_not_equal(out.blocked, HL_OK);
    /* and the handle still sends where it may */
    assert_int_equal(hl_dispatcher_send_test(d, url_of(0, &plain, "http", "/ok"), &o, "[]", 2,
                                             NULL, 0, &out, NULL),
                     HL_OK);
    assert_int_equal(out.status, 200);
    hl_dispatcher_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_signed_with_headers),
        cmocka_unit_test(test_500s_then_success),
        cmocka_unit_test(test_timeout_refused_gone_throttled),
        cmocka_unit_test(test_blocked_and_unconfigured),
        cmocka_unit_test(test_secret_rotation),
        cmocka_unit_test(test_oauth2_client_credentials),
        cmocka_unit_test(test_send_test_paths),
        cmocka_unit_test(test_tls_and_mutual_tls),
        cmocka_unit_test(test_http2),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_sparkpost_scheme_and_redirects),
        cmocka_unit_test(test_wakeup),
        cmocka_unit_test(test_endpoint_management),
        cmocka_unit_test(test_reused_handle_keeps_the_guard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
