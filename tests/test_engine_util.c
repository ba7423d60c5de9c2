/* test_engine_util.c - the engine's heap, map and RNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_util.h"

static void test_heap_order_and_remove(void **state)
{
    (void)state;
    enum { N = 2000 };
    hli_heap h = {0};
    hli_timer *t = calloc(N, sizeof *t);
    hli_rng r;
    hli_rng_seed(&r, 42);
    for (int i = 0; i < N; i++) {
        hli_timer_init(&t[i], 0);
        assert_int_equal(hli_heap_arm(&h, &t[i], hli_rng_below(&r, 1000)), 0);
    }
    /* re-arm some, disarm some */
    for (int i = 0; i < N; i += 7)
        hli_heap_arm(&h, &t[i], hli_rng_below(&r, 1000));
    for (int i = 3; i < N; i += 11)
        hli_heap_disarm(&h, &t[i]);
    uint64_t last = 0, last_seq = 0;
    size_t popped = 0;
    hli_timer *top;
    while ((top = hli_heap_top(&h)) != NULL) {
        assert_true(top->at > last || (top->at == last && top->seq > last_seq) || popped == 0);
        last = top->at;
        last_seq = top->seq;
        hli_heap_disarm(&h, top);
        assert_true(top->idx == HLI_TIMER_IDLE);
        popped++;
    }
    size_t removed = 0;
    for (int i = 3; i < N; i += 11)
        removed++;
    assert_int_equal(popped, N - removed);
    hli_heap_free(&h);
    free(t);
}

struct item {
    char key[16];
};

static void test_map(void **state)
{
    (void)state;
    enum { N = 5000 };
    hli_map m = {0};
    struct item *items = calloc(N, sizeof *items);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof items[i].key, "k%d", i);
        assert_int_equal(hli_map_put(&m, items[i].key, &items[i]), 0);
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hli_map_get(&m, items[i].key), &items[i]);
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(hli_map_del(&m, items[i].key), &items[i]);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hli_map_get(&m, items[i].key), i % 2 ? &items[i] : NULL);
    /* churn: tombstones must not fill the table */
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < N; i += 2) {
            assert_int_equal(hli_map_put(&m, items[i].key, &items[i]), 0);
            assert_ptr_equal(hli_map_del(&m, items[i].key), &items[i]);
        }
    assert_int_equal(m.len, N / 2);
    assert_null(hli_map_get(&m, "absent"));
    hli_map_free(&m);
    free(items);
}

static void test_rng(void **state)
{
    (void)state;
    hli_rng a, b;
    hli_rng_seed(&a, 7);
    hli_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++)
        assert_true(hli_rng_next(&a) == hli_rng_next(&b));
    int hist[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t x = hli_rng_below(&a, 10);
        assert_true(x < 10);
        hist[x]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9000 && hist[i] < 11000);
    char id[40];
    hli_rng_id(&a, "bat_", id);
    assert_int_equal(strlen(id), 30);
    assert_memory_equal(id, "bat_", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order_and_remove),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
