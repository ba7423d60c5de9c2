/*
 * test_ssrf_curl.c - dispatch-time SSRF enforcement against real HTTP
 * servers on loopback: allowed delivery, DNS rebinding between registration
 * and dispatch, a connection diverted to an unchecked address, redirects to
 * 127.0.0.1 and to 169.254.169.254, protocol and proxy settings.
 *
 * Two servers run in a thread of this process: "allowed" on 127.0.0.2 (the
 * policy allows 127.0.0.2/32, standing in for a public host) and "internal"
 * on 127.0.0.1 (standing in for the sender's private network). Nothing is
 * sent anywhere but 127.0.0.0/8; the internal server counts the requests it
 * receives, which must stay zero in every blocked case.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "hookline.h"
#include "hookline/net.h"
#include "hookline/ssrf_curl.h"

/* ---------------------------------------------------------------- servers */

struct server {
    int fd;
    uint16_t port;
    int hits;             /* requests received */
    char last_host[128];  /* Host header of the last request */
    char last_path[128];
};

static struct server allowed_srv, internal_srv;
static pthread_t server_thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stopping;

static int listen_on(struct server *s, const char *ip)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sin.sin_addr);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        listen(s->fd, 16) != 0 || getsockname(s->fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    s->port = ntohs(sin.sin_port);
    return 0;
}

static void header_value(const char *req, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(req, name);
    if (!p)
        return;
    p += strlen(name);
    size_t n = strcspn(p, "\r\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* One request per connection; the response is chosen by path. */
static void serve(struct server *s, int conn)
{
    char req[4096];
    size_t len = 0;
    for (int rounds = 0; rounds < 50 && len < sizeof req - 1; rounds++) {
        struct pollfd pfd = {conn, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = recv(conn, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[len] = '\0';
    char path[128] = "", location[256] = "";
    sscanf(req, "GET %127s", path);
    pthread_mutex_lock(&lock);
    s->hits += path[0] != '\0'; /* requests, not bare connections */
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    header_value(req, "Host: ", s->last_host, sizeof s->last_host);
    pthread_mutex_unlock(&lock);

    if (strcmp(path, "/redir-local") == 0)
        snprintf(location, sizeof location, "http://127.0.0.1:%u/secret", internal_srv.port);
    else if (strcmp(path, "/redir-local-name") == 0)
        snprintf(location, sizeof location, "http://localhost:%u/secret", internal_srv.port);
    else if (strcmp(path, "/redir-metadata") == 0)
        snprintf(location, sizeof location, "http://169.254.169.254:%u/latest/meta-data/",
                 internal_srv.port);
    else if (strcmp(path, "/redir-metadata-80") == 0)
        snprintf(location, sizeof location, "http://169.254.169.254/latest/meta-data/");
    else if (strcmp(path, "/redir-gopher") == 0)
        snprintf(location, sizeof location, "gopher://127.0.0.2:%u/_x", allowed_srv.port);
    else if (strcmp(path, "/redir-ok") == 0)
        snprintf(location, sizeof location, "http://127.0.0.2:%u/ok", allowed_srv.port);
    char resp[512];
    if (location[0])
        snprintf(resp, sizeof resp,
                 "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 location);
    else
        snprintf(resp, sizeof resp,
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    (void)!send(conn, resp, strlen(resp), MSG_NOSIGNAL);
    close(conn);
}

static void *server_main(void *arg)
{
    (void)arg;
    /* Bounded: 100 ms polls, at most 5 minutes, stops when told. */
    for (int rounds = 0; rounds < 3000 && !stopping; rounds++) {
        struct pollfd pfd[2] = {{allowed_srv.fd, POLLIN, 0}, {internal_srv.fd, POLLIN, 0}};
        if (poll(pfd, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            int conn = accept(pfd[i].fd, NULL, NULL);
            if (conn >= 0)
                serve(i == 0 ? &allowed_srv : &internal_srv, conn);
        }
    }
    return NULL;
}

static int start_servers(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (listen_on(&allowed_srv, "127.0.0.2") != 0 || listen_on(&internal_srv, "127.0.0.1") != 0)
        return -1;
    return pthread_create(&server_thread, NULL, server_main, NULL);
}

static int stop_servers(void **state)
{
    (void)state;
    stopping = 1;
    pthread_join(server_thread, NULL);
    close(allowed_srv.fd);
    close(internal_srv.fd);
    curl_global_cleanup();
    return 0;
}

static int hits(struct server *s)
{
    pthread_mutex_lock(&lock);
    int n = s->hits;
    pthread_mutex_unlock(&lock);
    return n;
}

/* --------------------------------------------------------------- resolver */

/* Answers per name; `rebind` answers 127.0.0.2 once, then 127.0.0.1. */
static int rebind_calls;

static hl_code test_resolve(void *user, const char *host, hl_address *out, size_t cap,
                            size_t *n_out, hl_error *err)
{
    (void)user;
    (void)err;
    const char *answer = NULL, *second = NULL;
    if (strcmp(host, "hooks.test") == 0 || strcmp(host, "hooks.test.") == 0)
        answer = "127.0.0.2";
    else if (strcmp(host, "internal.test") == 0)
        answer = "127.0.0.1";
    else if (strcmp(host, "mixed.test") == 0) {
        answer = "127.0.0.2";
        second = "127.0.0.1";
    } else if (strcmp(host, "rebind.test") == 0)
        answer = rebind_calls++ == 0 ? "127.0.0.2" : "127.0.0.1";
    else
        return HL_E_RESOLVE_FAILED;
    if (cap < 2)
        return HL_E_TOO_MANY;
    hl_address_parse(&out[0], answer, strlen(answer), NULL);
    *n_out = 1;
    if (second) {
        hl_address_parse(&out[1], second, strlen(second), NULL);
        *n_out = 2;
    }
    return HL_OK;
}

static const hl_resolver RESOLVER = {test_resolve, NULL};

/* ------------------------------------------------------------------ tools */

static hl_url_policy *lab_policy(void)
{
    static const char *cidrs[] = {"127.0.0.2/32"};
    uint16_t ports[] = {allowed_srv.port, internal_srv.port};
    hl_url_options o = HL_URL_OPTIONS_INIT;
    o.allow_http = 1;
    o.allow_ports = ports;
    o.n_allow_ports = 2;
    o.allow_cidrs = cidrs;
    o.n_allow_cidrs = 1;
    hl_url_policy *p = NULL;
    assert_int_equal(hl_url_policy_new(&p, &o, NULL), HL_OK);
    return p;
}

static size_t discard(char *ptr, size_t size, size_t n, void *user)
{
    (void)ptr;
    (void)user;
    return size * n;
}

struct attempt {
    hl_code guard_rc; /* from hl_curl_guard_new */
    CURLcode curl_rc;
    long status;
    hl_code blocked; /* from hl_curl_guard_blocked */
    char why[HL_ERROR_MESSAGE_MAX];
};

/* One guarded delivery attempt; `tweak` may change the handle afterwards. */
static struct attempt deliver(const hl_url_policy *p, const char *url, int follow,
                              void (*tweak)(CURL *))
{
    struct attempt a = {HL_OK, CURLE_OK, 0, HL_OK, ""};
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    hl_curl_guard_options opts = HL_CURL_GUARD_OPTIONS_INIT;
    opts.follow_redirects = follow;
    hl_curl_guard *g = NULL;
    hl_error err = HL_ERROR_INIT;
    a.guard_rc = hl_curl_guard_new(&g, easy, p, &RESOLVER, url, strlen(url), &opts, &err);
    if (a.guard_rc != HL_OK) {
        snprintf(a.why, sizeof a.why, "%s", err.message);
        assert_null(g);
        curl_easy_cleanup(easy);
        return a;
    }
    if (tweak)
        tweak(easy);
    a.curl_rc = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.status);
    a.blocked = hl_curl_guard_blocked(g, &err);
    if (a.blocked != HL_OK)
        snprintf(a.why, sizeof a.why, "%s", err.message);
    curl_easy_cleanup(easy);
    hl_curl_guard_free(g);
    return a;
}

static char url_buf[256];

static const char *url_to(const char *host, uint16_t port, const char *path)
{
    snprintf(url_buf, sizeof url_buf, "http://%s:%u%s", host, port, path);
    return url_buf;
}

/* ------------------------------------------------------------------ tests */

static void test_allowed_delivery(void **state)
{
    (void)state;
    hl_url_policy *p = lab_policy();
    int before = hits(&allowed_srv);
    struct attempt a = deliver(p, url_to("hooks.test", allowed_srv.port, "/ok"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_OK);
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.blocked, HL_OK);
    assert_int_equal(hits(&allowed_srv), before + 1);
    /* pinned by address, but Host stays the URL's name */
    char expect[64];
    snprintf(expect, sizeof expect, "hooks.test:%u", allowed_srv.port);
    pthread_mutex_lock(&lock);
    assert_string_equal(allowed_srv.last_host, expect);
    pthread_mutex_unlock(&lock);

    /* a trailing dot: curl looks up "hooks.test", which is pinned too */
    a = deliver(p, url_to("hooks.test.", allowed_srv.port, "/ok"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_OK);
    assert_int_equal(a.blocked, HL_OK);
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 200);

    /* literal allowed address */
    a = deliver(p, url_to("127.0.0.2", allowed_srv.port, "/ok"), 0, NULL);
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 200);
    hl_url_policy_free(p);
}

static void test_denied_before_connect(void **state)
{
    (void)state;
    hl_url_policy *p = lab_policy();
    int before = hits(&internal_srv);
    struct attempt a = deliver(p, url_to("internal.test", internal_srv.port, "/"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_E_ADDRESS_DENIED);
    a = deliver(p, url_to("mixed.test", allowed_srv.port, "/"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_E_ADDRESS_DENIED);
    a = deliver(p, url_to("127.0.0.1", internal_srv.port, "/"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_E_ADDRESS_DENIED);
    a = deliver(NULL, url_to("hooks.test", allowed_srv.port, "/"), 0, NULL);
    assert_int_equal(a.guard_rc, HL_E_URL_SCHEME_DENIED);
    assert_int_equal(hits(&internal_srv), before);
    hl_url_policy_free(p);
}

static void test_rebinding(void **state)
{
    (void)state;
    hl_url_policy *p = lab_policy();
    const char *url = url_to("rebind.test", internal_srv.port, "/secret");
    char copy[256];
    snprintf(copy, sizeof copy, "%s", url);
    rebind_calls = 0;
    /* registration: the name answers an allowed address */
    char normalized[HL_URL_NORMALIZED_MAX];
    assert_int_equal(hl_url_check_resolve(p, &RESOLVER, copy, strlen(copy), normalized,
                                          sizeof normalized, NULL, NULL),
                     HL_OK);
    /* dispatch: it now answers 127.0.0.1 - blocked, nothing sent */
    int before = hits(&internal_srv);
    struct attempt a = deliver(p, copy, 0, NULL);
    assert_int_equal(a.guard_rc, HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(a.why, "127.0.0.1"));
    assert_int_equal(hits(&internal_srv), before);
    hl_url_policy_free(p);
}

static char connect_to_entry[128];

static void divert(CURL *easy)
{
    static struct curl_slist *list;
    curl_slist_free_all(list);
    list = curl_slist_append(NULL, connect_to_entry);
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, list);
}

static void test_connect_time_check(void **state)
{
    (void)state;
    /* Whatever makes curl connect somewhere other than the checked answers
     * (a stale cache, a CONNECT_TO, a resolver race), the open-socket
     * check refuses the address before any packet is sent. */
    hl_url_policy *p = lab_policy();
    snprintf(connect_to_entry, sizeof connect_to_entry, "hooks.test:%u:127.0.0.1:%u",
             allowed_srv.port, internal_srv.port);
    int before = hits(&internal_srv);
    struct attempt a = deliver(p, url_to("hooks.test", allowed_srv.port, "/ok"), 0, divert);
    assert_int_equal(a.guard_rc, HL_OK);
    assert_int_not_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.blocked, HL_E_ADDRESS_UNPINNED);
    assert_int_equal(hits(&internal_srv), before);
    hl_url_policy_free(p);
}

static void divert_without_socket_check(CURL *easy)
{
    divert(easy);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, NULL);
}

static void test_prerequest_check(void **state)
{
    (void)state;
    /* The pre-request callback is the second line (it also sees reused
     * connections): with the open-socket check out of the way, the TCP
     * connection is made but no request is sent on it. */
    hl_url_policy *p = lab_policy();
    snprintf(connect_to_entry, sizeof connect_to_entry, "hooks.test:%u:127.0.0.1:%u",
             allowed_srv.port, internal_srv.port);
    int before = hits(&internal_srv);
    struct attempt a =
        deliver(p, url_to("hooks.test", allowed_srv.port, "/ok"), 0, divert_without_socket_check);
    assert_int_equal(a.curl_rc, CURLE_ABORTED_BY_CALLBACK);
    assert_int_equal(a.blocked, HL_E_ADDRESS_UNPINNED);
    assert_int_equal(hits(&internal_srv), before);
    hl_url_policy_free(p);
}

static void test_redirects(void **state)
{
    (void)state;
    hl_url_policy *p = lab_policy();
    int before = hits(&internal_srv);
    /* not followed by default: the 302 is the answer */
    struct attempt a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-local"), 0, NULL);
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 302);
    assert_int_equal(a.blocked, HL_OK);

    /* followed when enabled, each hop checked */
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-local"), 1, NULL);
    assert_int_not_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.blocked, HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(a.why, "127.0.0.1"));
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-local-name"), 1, NULL);
    assert_int_not_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.blocked, HL_E_URL_NAME_DENIED);
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-metadata"), 1, NULL);
    assert_int_not_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.blocked, HL_E_ADDRESS_DENIED);
    assert_non_null(strstr(a.why, "169.254.169.254"));
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-metadata-80"), 1, NULL);
    assert_int_not_equal(a.curl_rc, CURLE_OK);
    assert_int_not_equal(a.blocked, HL_OK);
    /* a protocol the policy does not allow: curl refuses the hop */
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-gopher"), 1, NULL);
    assert_int_equal(a.curl_rc, CURLE_UNSUPPORTED_PROTOCOL);
    assert_int_equal(hits(&internal_srv), before);

    /* an allowed hop is followed */
    int ok_before = hits(&allowed_srv);
    a = deliver(p, url_to("hooks.test", allowed_srv.port, "/redir-ok"), 1, NULL);
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.blocked, HL_OK);
    assert_int_equal(hits(&allowed_srv), ok_before + 2);
    hl_url_policy_free(p);
}

static void test_proxy_environment_ignored(void **state)
{
    (void)state;
    hl_url_policy *p = lab_policy();
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%u", internal_srv.port);
    setenv("http_proxy", proxy, 1);
    setenv("HTTPS_PROXY", proxy, 1);
    setenv("ALL_PROXY", proxy, 1);
    int before = hits(&internal_srv);
    struct attempt a = deliver(p, url_to("hooks.test", allowed_srv.port, "/ok"), 0, NULL);
    unsetenv("http_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    assert_int_equal(a.curl_rc, CURLE_OK);
    assert_int_equal(a.status, 200);
    assert_int_equal(hits(&internal_srv), before);
    hl_url_policy_free(p);
}

static void test_guard_arguments(void **state)
{
    (void)state;
    hl_curl_guard *g = NULL;
    CURL *easy = curl_easy_init();
    hl_curl_guard_options bad = HL_CURL_GUARD_OPTIONS_INIT;
    bad.max_redirects = 100;
    assert_int_equal(hl_curl_guard_new(&g, NULL, NULL, &RESOLVER, "https://a.com/", 14, NULL, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_curl_guard_new(&g, easy, NULL, &RESOLVER, "https://a.com/", 14, &bad, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_null(g);
    assert_int_equal(hl_curl_guard_blocked(NULL, NULL), HL_E_INVALID_ARGUMENT);
    assert_null(hl_curl_guard_target(NULL));
    hl_curl_guard_free(NULL);
    curl_easy_cleanup(easy);

    /* the system resolver, on names that need no network */
    hl_address out[HL_RESOLVE_MAX];
    size_t n = 0;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(hl_resolve_getaddrinfo(NULL, "127.0.0.2", out, HL_RESOLVE_MAX, &n, &err),
                     HL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].bytes[3], 2);
    assert_int_equal(hl_resolve_getaddrinfo(NULL, "127.0.0.2", out, 0, &n, &err), HL_E_TOO_MANY);
    hl_resolver sys = hl_resolver_getaddrinfo();
    assert_ptr_equal(sys.resolve, hl_resolve_getaddrinfo);
    /* localhost resolves (from /etc/hosts) and is denied by name first */
    assert_int_equal(hl_url_check_resolve(NULL, &sys, "https://localhost/", 18, NULL, 0, NULL,
                                          &err),
                     HL_E_URL_NAME_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_delivery),
        cmocka_unit_test(test_denied_before_connect),
        cmocka_unit_test(test_rebinding),
        cmocka_unit_test(test_connect_time_check),
        cmocka_unit_test(test_prerequest_check),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_proxy_environment_ignored),
        cmocka_unit_test(test_guard_arguments),
    };
    return cmocka_run_group_tests(tests, start_servers, stop_servers);
}
