/* test_worker.c - the worker against tests/servers/receiver.py on
 * 127.0.0.2 (the SSRF policy allows 127.0.0.2/32 and the receiver's port
 * only): registration (SSRF check, webhook.test, generated secret,
 * normalised URL), delivery, restart with disabled state, rotation, removal
 * to the dead-letter queue, and a full disk. The worker's clock is a
 * variable the test advances. */
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_test_util.h"
#include "hookline/worker.h"

static char tmpdir[64];
static char log_path[128];
static pid_t server_pid;
static uint16_t port;
static uint64_t fake_now = T0;

static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

static int start_receiver(void **state)
{
    int fds[2];
    char line[64] = "";
    size_t len = 0;
    unsigned p = 0;
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hl_worker_test_XXXXXX");
    if (mkdtemp(tmpdir) == NULL || pipe(fds) != 0)
        return -1;
    snprintf(log_path, sizeof log_path, "%s/received.jsonl", tmpdir);
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp(py, py, "tests/servers/receiver.py", "--host", "127.0.0.2", "--log", log_path,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    for (int rounds = 0; rounds < 100 && !strchr(line, '\n'); rounds++) { /* 10 s at most */
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
    if (sscanf(line, "PORT %u", &p) != 1)
        return -1;
    port = (uint16_t)p;
    return 0;
}

static int stop_receiver(void **state)
{
    char cmd[128];
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static volatile int stop_flag;
static int attempts_seen;

/* on_attempt: count, and ask hl_worker_run to stop after the first one */
static void stop_after_first(void *user, const hl_attempt_report *r)
{
    (void)user;
    assert_null(strstr(r->error_message, "whsec_"));
    attempts_seen++;
    stop_flag = 1;
}

static hl_attempt_fn next_on_attempt;

static hl_worker *open_worker(const char *name, uint64_t max_bytes)
{
    static char path[160];
    const char *cidrs[] = {"127.0.0.2/32"};
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    o.db_path = path;
    o.outbox.max_bytes = max_bytes;
    o.url.allow_http = 1;
    o.url.allow_ports = &port;
    o.url.n_allow_ports = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    o.clock_ms = fake_clock;
    o.on_attempt = next_on_attempt;
    if (hl_worker_open(&w, &o, NULL, &err) != HL_OK)
        fail_msg("worker open: %s", err.message);
    return w;
}

static const char *config(const char *path, const char *extra)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"url\":\"http://127.0.0.2:%u%s\"%s}", port, path, extra);
    return buf;
}

/* Deliver until nothing is pending (bounded); the clock moves 1 s a step. */
static void deliver_all(hl_worker *w)
{
    for (int i = 0; i < 500; i++) {
        hl_engine_stats st;
        hl_error err = HL_ERROR_INIT;
        if (hl_worker_run_once(w, 20, NULL, &err) != HL_OK)
            fail_msg("run_once: %s", err.message);
        hl_engine_stats_get(hl_worker_engine(w), &st);
        if (st.pending_events == 0 && hl_dispatcher_in_flight(hl_worker_dispatcher(w)) == 0)
            return;
        fake_now += SEC;
    }
    fail_msg("deliveries did not finish");
}

/* Requests whose raw line (headers) or decoded body contains `needle`. */
static int count_lines(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    static char line[1 << 20];
    static unsigned char body[1 << 20];
    int n = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char *b = strstr(line, "\"body\": \""), *end;
        int blen = 0;
        if (b && (end = strchr(b + 9, '"')) != NULL) {
            blen = EVP_DecodeBlock(body, (const unsigned char *)b + 9, (int)(end - b - 9));
            if (blen < 0)
                blen = 0;
            body[blen] = '\0';
        }
        n += strstr(line, needle) != NULL || (blen > 0 && strstr((char *)body, needle) != NULL);
    }
    fclose(f);
    return n;
}

static int list_count;
static int count_endpoint(void *user, const char *id, const char *json, hl_disabled_reason why)
{
    (void)user;
    (void)why;
    assert_non_null(id);
    assert_null(strstr(json, "whsec_"));
    list_count++;
    return 0;
}

static void test_registration(void **state)
{
    (void)state;
    hl_worker *w = open_worker("reg.db", 0);
    hl_error err = HL_ERROR_INIT;
    hl_test_response resp;
    char url[128];
    const char *c;

    /* loopback 127.0.0.1 stands for the private network: refused before any request */
    snprintf(url, sizeof url, "{\"url\":\"http://127.0.0.1:%u/ok\"}", port);
    assert_int_equal(hl_worker_endpoint_add(w, "a", url, strlen(url), 0, NULL, &err),
                     HL_E_ADDRESS_DENIED);
    /* the receiver answers 500: not saved */
    c = config("/status/500", "");
    int before = count_lines("\"POST\"");
    assert_int_equal(hl_worker_endpoint_add(w, "a", c, strlen(c), 0, &resp, &err),
                     HL_E_ENDPOINT_TEST_FAILED);
    assert_int_equal(resp.status, 500);
    assert_non_null(strstr(err.message, "500"));
    assert_int_equal(count_lines("\"POST\""), before + 1);
    list_count = 0;
    assert_int_equal(hl_worker_endpoint_list(w, count_endpoint, NULL, NULL), HL_OK);
    assert_int_equal(list_count, 0);
    /* a bad document names its field */
    c = config("/ok", ",\"batch\":{\"max_events\":0}");
    assert_int_equal(hl_worker_endpoint_add(w, "a", c, strlen(c), 0, NULL, &err),
                     HL_E_CONFIG_RANGE);
    assert_non_null(strstr(err.message, "batch.max_events"));

    /* a good one: tested, saved with a generated secret and the normalised URL */
    c = config("/ok/../ok", "");
    assert_int_equal(hl_worker_endpoint_add(w, "a", c, strlen(c), 0, &resp, &err), HL_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(hl_worker_endpoint_add(w, "a", c, strlen(c), 0, NULL, &err),
                     HL_E_ENDPOINT_EXISTS);
    char *json = NULL;
    assert_int_equal(hl_worker_endpoint_get(w, "a", HL_CONFIG_REDACT, &json, NULL, &err), HL_OK);
    assert_non_null(strstr(json, HL_CONFIG_REDACTED));
    assert_null(strstr(json, "whsec_"));
    assert_null(strstr(json, "/../"));
    hl_endpoint_config_json_free(json);
    hl_endpoint_info info;
    assert_int_equal(hl_worker_endpoint_get(w, "a", 0, &json, &info, &err), HL_OK);
    assert_non_null(strstr(json, "\"secret\":\"whsec_"));
    assert_int_equal(info.disabled, HL_DISABLED_NONE);
    hl_endpoint_config_json_free(json);
    /* the test request was a signed webhook.test */
    assert_true(count_lines("webhook-signature") >= 1);

    /* replay check: a receiver that accepts a stale timestamp is reported by its 2xx */
    assert_int_equal(hl_worker_endpoint_test(w, "a", HL_TEST_STALE, &resp, &err), HL_OK);
    assert_int_equal(resp.status, 200);
    hl_worker_close(w);
}

/* enqueue_to: the host routes (tenancy): an event reaches only the endpoint
 * named, whatever the filters say; NULL falls back to the filters. */
static void test_enqueue_to(void **state)
{
    (void)state;
    hl_worker *w = open_worker("route.db", 0);
    hl_error err = HL_ERROR_INIT;
    const char *c = config("/ok", ",\"batch\":{\"linger_ms\":0},\"events\":[\"email.*\"]");
    assert_int_equal(hl_worker_endpoint_add(w, "ra", c, strlen(c), HL_WORKER_SKIP_TEST, NULL,
                                            &err),
                     HL_OK);
    c = config("/ok", ",\"batch\":{\"linger_ms\":0},\"events\":[\"domain.*\"]");
    assert_int_equal(hl_worker_endpoint_add(w, "rb", c, strlen(c), HL_WORKER_SKIP_TEST, NULL,
                                            &err),
                     HL_OK);
    hl_event evs[3];
    const char *ids[] = {"evt_to_a", "evt_to_b", "evt_to_filters"};
    const char *to[] = {"ra", "rb", NULL};
    for (int i = 0; i < 3; i++) {
        hl_event e = HL_EVENT_INIT;
        e.id = ids[i];
        e.type = "email.outbound.sent"; /* rb's filter would refuse it */
        evs[i] = e;
    }
    size_t done = 9;
    assert_int_equal(hl_worker_enqueue_to(w, evs, to, 3, &done, &err), HL_OK);
    assert_int_equal(done, 3);
    deliver_all(w);
    assert_int_equal(count_lines("evt_to_a"), 1);
    assert_int_equal(count_lines("evt_to_b"), 1);
    assert_int_equal(count_lines("evt_to_filters"), 1); /* only ra's filter matches */
    /* an unknown endpoint stops the call; those before it stay */
    const char *bad[] = {"ra", "nobody", "rb"};
    evs[0].id = "evt_to_kept";
    assert_int_equal(hl_worker_enqueue_to(w, evs, bad, 3, &done, &err), HL_E_ENDPOINT_UNKNOWN);
    assert_int_equal(done, 1);
    assert_int_equal(hl_worker_enqueue_to(w, evs, NULL, 1, &done, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(done, 0);
    deliver_all(w);
    assert_int_equal(count_lines("evt_to_kept"), 1);
    hl_worker_close(w);
}

static void test_deliver_restart_rotate_remove(void **state)
{
    (void)state;
    hl_worker *w = open_worker("life.db", 0);
    hl_error err = HL_ERROR_INIT;
    const char *c = config("/ok", ",\"batch\":{\"linger_ms\":0},\"events\":[\"email.*\"]");
    assert_int_equal(hl_worker_endpoint_add(w, "life", c, strlen(c), HL_WORKER_SKIP_TEST, NULL,
                                            &err),
                     HL_OK);
    hl_event evs[10];
    char ids[10][32];
    for (int i = 0; i < 10; i++) {
        hl_event e = HL_EVENT_INIT;
        snprintf(ids[i], sizeof ids[i], "evt_life_%d", i);
        e.id = ids[i];
        e.type = "email.outbound.sent";
        evs[i] = e;
    }
    size_t done = 0;
    assert_int_equal(hl_worker_enqueue_many(w, evs, 10, &done, &err), HL_OK);
    assert_int_equal(done, 10);
    /* a bad event stops enqueue_many; those before it stay */
    evs[3].type = "bad type!";
    assert_int_equal(hl_worker_enqueue_many(w, evs, 10, &done, &err), HL_E_EVENT_INVALID);
    assert_int_equal(done, 3);
    deliver_all(w);
    assert_int_equal(count_lines("evt_life_9"), 1);
    assert_int_equal(count_lines("evt_life_0"), 2);

    /* rotation: the old secret keeps signing for the grace period */
    char *fresh = NULL;
    assert_int_equal(hl_worker_rotate_secret(w, "life", NULL, HL_WORKER_ROTATION_GRACE_MS, &fresh,
                                             &err),
                     HL_OK);
    assert_non_null(strstr(fresh, "whsec_"));
    char *json = NULL;
    assert_int_equal(hl_worker_endpoint_get(w, "life", 0, &json, NULL, &err), HL_OK);
    assert_non_null(strstr(json, fresh));
    char expiry[64];
    snprintf(expiry, sizeof expiry, "\"not_after_ms\":%llu",
             (unsigned long long)(fake_now + HL_WORKER_ROTATION_GRACE_MS));
    assert_non_null(strstr(json, expiry));
    hl_endpoint_config_json_free(json);
    hl_endpoint_config_json_free(fresh);

    /* disabled state survives a restart; the restored dispatcher delivers */
    assert_int_equal(hl_worker_endpoint_disable(w, "life", &err), HL_OK);
    hl_worker_close(w);
    w = open_worker("life.db", 0);
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(hl_worker_engine(w), "life", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_USER);
    assert_int_equal(hl_worker_endpoint_enable(w, "life", &err), HL_OK);
    hl_event e = HL_EVENT_INIT;
    e.id = "evt_after_restart";
    e.type = "email.outbound.opened";
    assert_int_equal(hl_worker_enqueue(w, &e, NULL, NULL, 0, &err), HL_OK);
    deliver_all(w);
    assert_int_equal(count_lines("evt_after_restart"), 1);
    /* both secrets signed it: two v1 signatures in one header */
    assert_true(count_lines(" v1,") >= 1);

    /* removal: pending batches go to the dead-letter queue, persisted */
    e.id = "evt_orphan";
    assert_int_equal(hl_worker_enqueue(w, &e, NULL, NULL, 0, &err), HL_OK);
    assert_int_equal(hl_worker_endpoint_remove(w, "life", &err), HL_OK);
    assert_int_equal(hl_worker_endpoint_remove(w, "life", &err), HL_E_ENDPOINT_UNKNOWN);
    hl_worker_close(w);
    w = open_worker("life.db", 0);
    size_t total = 0, n = 0;
    hl_outbox_counts counts;
    assert_int_equal(hl_outbox_counts_get(hl_worker_outbox(w), &counts, NULL), HL_OK);
    assert_int_equal(counts.batches[HL_BATCH_DEAD_LETTERED], 1);
    assert_int_equal(counts.endpoints, 0);
    assert_int_equal(hl_engine_dead_letter_count(hl_worker_engine(w)), 1);
    assert_int_equal(hl_worker_redrive(w, NULL, &n, &err), HL_OK);
    assert_int_equal(n, 0); /* its endpoint is gone */
    assert_int_equal(hl_worker_purge(w, NULL, &err), HL_OK);
    assert_int_equal(hl_outbox_counts_get(hl_worker_outbox(w), &counts, NULL), HL_OK);
    assert_int_equal(counts.batches[HL_BATCH_DEAD_LETTERED], 0);
    (void)total;
    hl_worker_close(w);
}

static void test_full_disk(void **state)
{
    (void)state;
    hl_worker *w = open_worker("full.db", 192 * 1024);
    hl_error err = HL_ERROR_INIT;
    const char *c = config("/ok", ",\"batch\":{\"max_events\":10}");
    assert_int_equal(hl_worker_endpoint_add(w, "f", c, strlen(c), HL_WORKER_SKIP_TEST, NULL, &err),
                     HL_OK);
    char data[700];
    memset(data, 'q', sizeof data);
    data[0] = data[sizeof data - 1] = '"';
    hl_event e = HL_EVENT_INIT;
    e.type = "t";
    e.data = data;
    e.data_len = sizeof data;
    hl_code rc = HL_OK;
    size_t ok = 0;
    for (int i = 0; i < 5000 && rc == HL_OK; i++) {
        rc = hl_worker_enqueue(w, &e, NULL, NULL, 0, &err);
        ok += rc == HL_OK;
    }
    assert_int_equal(rc, HL_E_STORE_NO_SPACE);
    assert_true(ok > 20);
    /* rebuilt from the file: exactly the acknowledged events, still usable */
    hl_engine_stats st;
    hl_engine_stats_get(hl_worker_engine(w), &st);
    assert_int_equal(st.pending_events, ok);
    deliver_all(w); /* delivering frees space */
    assert_int_equal(hl_worker_enqueue(w, &e, NULL, NULL, 0, &err), HL_OK);
    hl_worker_close(w);
}

static void test_run_stops_cleanly(void **state)
{
    (void)state;
    next_on_attempt = stop_after_first;
    hl_worker *w = open_worker("run.db", 0);
    next_on_attempt = NULL;
    hl_error err = HL_ERROR_INIT;
    const char *c = config("/slow/300", ",\"batch\":{\"linger_ms\":0}");
    assert_int_equal(hl_worker_endpoint_add(w, "slow", c, strlen(c), HL_WORKER_SKIP_TEST, NULL,
                                            &err),
                     HL_OK);
    for (int i = 0; i < 5; i++) {
        hl_event e = HL_EVENT_INIT;
        e.type = "t";
        assert_int_equal(hl_worker_enqueue(w, &e, NULL, NULL, 0, &err), HL_OK);
    }
    stop_flag = 0;
    /* all five start at once; the first to finish sets the flag; the drain
     * waits for the other four and records them: nothing left in flight */
    assert_int_equal(hl_worker_run(w, &stop_flag, &err), HL_OK);
    assert_int_equal(attempts_seen, 5);
    hl_outbox_counts counts;
    assert_int_equal(hl_outbox_counts_get(hl_worker_outbox(w), &counts, NULL), HL_OK);
    assert_int_equal(counts.batches[HL_BATCH_IN_FLIGHT], 0);
    assert_int_equal(counts.batches[HL_BATCH_DELIVERED], 5);
    assert_int_equal(hl_worker_run_once(w, 0, NULL, &err), HL_E_DRAINING);
    hl_worker_close(w);
}

static void test_one_worker_per_file_and_submit(void **state)
{
    (void)state;
    hl_worker *w = open_worker("lock.db", 0);
    hl_error err = HL_ERROR_INIT;
    const char *c = config("/ok", ",\"batch\":{\"linger_ms\":0}");
    assert_int_equal(hl_worker_endpoint_add(w, "l", c, strlen(c), HL_WORKER_SKIP_TEST, NULL, &err),
                     HL_OK);
    /* a second worker on the same file is refused */
    char path[160];
    snprintf(path, sizeof path, "%s/lock.db", tmpdir);
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_worker *w2 = NULL;
    o.db_path = path;
    assert_int_equal(hl_worker_open(&w2, &o, NULL, &err), HL_E_STORE_BUSY);
    assert_null(w2);
    /* another process hands it events through the inbox */
    hl_outbox *sender = NULL;
    assert_int_equal(hl_outbox_open(&sender, path, NULL, &err), HL_OK);
    hl_event e = HL_EVENT_INIT;
    e.id = "evt_submitted";
    e.type = "t";
    assert_int_equal(hl_outbox_submit(sender, &e, 1, fake_now, NULL, NULL, &err), HL_OK);
    hl_outbox_close(sender);
    hl_engine_stats st;
    hl_engine_stats_get(hl_worker_engine(w), &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(hl_worker_run_once(w, 0, NULL, &err), HL_OK);
    hl_engine_stats_get(hl_worker_engine(w), &st);
    assert_int_equal(st.events_enqueued, 1);
    deliver_all(w);
    assert_int_equal(count_lines("evt_submitted"), 1);
    /* the other process adds an endpoint: row + command, applied by the worker */
    assert_int_equal(hl_outbox_open(&sender, path, NULL, &err), HL_OK);
    hl_endpoint_config *cfg = NULL;
    char doc[256];
    snprintf(doc, sizeof doc,
             "{\"url\":\"http://127.0.0.2:%u/ok\",\"active\":false,\"batch\":{\"linger_ms\":0},"
             "\"secrets\":[{\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}]}",
             port);
    assert_int_equal(hl_endpoint_config_parse(&cfg, doc, strlen(doc), &err), HL_OK);
    assert_int_equal(hl_outbox_endpoint_put(sender, "from_cli", cfg, fake_now, &err), HL_OK);
    hl_endpoint_config_free(cfg);
    assert_int_equal(hl_outbox_command_submit(sender, HL_COMMAND_ENDPOINT, "from_cli", fake_now,
                                              &err),
                     HL_OK);
    assert_int_equal(hl_worker_run_once(w, 0, NULL, &err), HL_OK);
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(hl_worker_engine(w), "from_cli", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_USER); /* "active": false */
    /* enable it through the row's disabled reason, as a CLI would */
    assert_int_equal(hl_worker_endpoint_enable(w, "from_cli", &err), HL_OK);
    e.id = "evt_to_cli_endpoint";
    assert_int_equal(hl_outbox_submit(sender, &e, 1, fake_now, NULL, NULL, &err), HL_OK);
    deliver_all(w);
    assert_int_equal(count_lines("evt_to_cli_endpoint"), 2); /* to both endpoints */
    /* removal the same way: the row goes, then the command */
    assert_int_equal(hl_outbox_endpoint_delete(sender, "from_cli", &err), HL_OK);
    assert_int_equal(hl_outbox_command_submit(sender, HL_COMMAND_ENDPOINT, "from_cli", fake_now,
                                              &err),
                     HL_OK);
    assert_int_equal(hl_outbox_command_submit(sender, HL_COMMAND_PURGE, NULL, fake_now, &err),
                     HL_OK);
    assert_int_equal(hl_worker_run_once(w, 0, NULL, &err), HL_OK);
    assert_int_equal(hl_endpoint_info_get(hl_worker_engine(w), "from_cli", &info, NULL),
                     HL_E_ENDPOINT_UNKNOWN);
    hl_outbox_counts counts;
    assert_int_equal(hl_outbox_counts_get(sender, &counts, NULL), HL_OK);
    assert_int_equal(counts.commands, 0);
    hl_outbox_close(sender);
    hl_worker_close(w);
    /* the lock went with it */
    w = open_worker("lock.db", 0);
    hl_worker_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration),
        cmocka_unit_test(test_deliver_restart_rotate_remove),
        cmocka_unit_test(test_enqueue_to),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_run_stops_cleanly),
        cmocka_unit_test(test_one_worker_per_file_and_submit),
    };
    return cmocka_run_group_tests(tests, start_receiver, stop_receiver);
}
