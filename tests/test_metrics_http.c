/* test_metrics_http.c - the /metrics server, scraped over real HTTP on
 * 127.0.0.1 with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hookline/metrics_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct page {
    char data[32768];
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
    struct page *p = user;
    size_t len = size * n;
    if (p->len + len >= sizeof p->data)
        return 0;
    memcpy(p->data + p->len, ptr, len);
    p->len += len;
    p->data[p->len] = '\0';
    return len;
}

/* GET http://127.0.0.1:port/path; returns the status, fills page and type. */
static long get(uint16_t port, const char *path, const char *method, struct page *p, char *type,
                size_t type_cap)
{
    char url[128];
    long status = 0;
    char *ct = NULL;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    p->len = 0;
    p->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (type)
        snprintf(type, type_cap, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return status;
}

static void test_scrape(void **state)
{
    hl_metrics_server *s = NULL;
    hl_metrics m;
    struct page *p = malloc(sizeof *p);
    char type[128];
    (void)state;
    assert_int_equal(hl_metrics_server_start(&s, "127.0.0.1:0", NULL), HL_OK);
    assert_true(hl_metrics_server_port(s) > 0);

    assert_int_equal(get(hl_metrics_server_port(s), "/metrics", NULL, p, type, sizeof type), 200);
    assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(p->data, "hookline_attempts_total{result=\"success\"} 0\n"));

    hl_metrics_init(&m);
    hl_metrics_record_attempt(&m, 1, HL_FAILURE_NONE, 12);
    hl_metrics_record_attempt(&m, 0, HL_FAILURE_TIMEOUT, 10000);
    hl_metrics_server_publish(s, &m);
    hl_metrics_record_attempt(&m, 1, HL_FAILURE_NONE, 12); /* after publish: not seen */
    assert_int_equal(get(hl_metrics_server_port(s), "/metrics", NULL, p, NULL, 0), 200);
    assert_non_null(strstr(p->data, "hookline_attempts_total{result=\"success\"} 1\n"));
    assert_non_null(strstr(p->data, "hookline_attempts_total{result=\"timeout\"} 1\n"));

    assert_int_equal(get(hl_metrics_server_port(s), "/other", NULL, p, NULL, 0), 404);
    assert_int_equal(get(hl_metrics_server_port(s), "/metrics", "DELETE", p, NULL, 0), 405);
    hl_metrics_server_stop(s);
    hl_metrics_server_stop(NULL);
    free(p);
}

static void test_bad_addresses(void **state)
{
    static const char *const BAD[] = {"", "127.0.0.1", "localhost:9464", "127.0.0.1:99999",
                                      "127.0.0.1:x", "[::1:9464", "[::1]9464", "1.2.3.4.5:1"};
    hl_metrics_server *s = NULL, *t = NULL;
    hl_error err = HL_ERROR_INIT;
    char addr[64];
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        assert_int_equal(hl_metrics_server_start(&s, BAD[i], &err), HL_E_INVALID_ARGUMENT);
        assert_null(s);
    }
    assert_int_equal(hl_metrics_server_start(&s, NULL, &err), HL_E_INVALID_ARGUMENT);
    /* the same port twice: the second cannot listen, and says so */
    assert_int_equal(hl_metrics_server_start(&s, "127.0.0.1:0", NULL), HL_OK);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", hl_metrics_server_port(s));
    assert_int_equal(hl_metrics_server_start(&t, addr, &err), HL_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "cannot listen"));
    hl_metrics_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrape),
        cmocka_unit_test(test_bad_addresses),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
