/* test_dedupe_memory.c - the in-memory seen-id store: the dedupe contract,
 * expiry with an advanced clock, both full policies, id limits, ids at a
 * guard page, and a long random run checked against a naive model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "hookline.h"
#include "siphash.h"

static hl_seen *open_store(size_t capacity, uint64_t ttl, hl_seen_full_policy full)
{
    hl_seen_options o = HL_SEEN_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    o.capacity = capacity;
    o.default_ttl_ms = ttl;
    o.full = full;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_OK);
    assert_non_null(s);
    return s;
}

static int add(hl_seen *s, const char *id, uint64_t now, uint64_t ttl)
{
    int was_new = -1;
    hl_error err = HL_ERROR_INIT;
    assert_int_equal(hl_seen_check_and_add(s, id, strlen(id), now, ttl, &was_new, &err), HL_OK);
    assert_true(was_new == 0 || was_new == 1);
    return was_new;
}

static int has(hl_seen *s, const char *id, uint64_t now)
{
    int present = -1;
    assert_int_equal(hl_seen_contains(s, id, strlen(id), now, &present, NULL), HL_OK);
    return present;
}

static void test_siphash_known_answer(void **state)
{
    /* The reference vectors' key 00..0f; empty input and 15 bytes 00..0e. */
    uint64_t key[2] = {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};
    unsigned char in[15];
    (void)state;
    for (int i = 0; i < 15; i++)
        in[i] = (unsigned char)i;
    assert_true(hli_siphash24(key, in, 0) == UINT64_C(0x726fdb47dd0e0e31));
    assert_true(hli_siphash24(key, in, 15) == UINT64_C(0xa129ca6149be45e5));
}

static void test_new_then_duplicate(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    hl_seen_stats st;
    (void)state;
    assert_string_equal(hl_seen_backend_name(s), "memory");
    assert_int_equal(add(s, "evt_1", 0, 0), 1);
    assert_int_equal(add(s, "evt_1", 1, 0), 0);
    assert_int_equal(add(s, "evt_2", 1, 0), 1);
    assert_int_equal(has(s, "evt_1", 2), 1);
    assert_int_equal(has(s, "evt_3", 2), 0);
    hl_seen_stats_get(s, &st);
    assert_int_equal(st.live, 2);
    assert_int_equal(st.added, 2);
    assert_int_equal(st.duplicates, 1);
    hl_seen_free(s);
    hl_seen_free(NULL);
}

static void test_expiry_with_advanced_clock(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    (void)state;
    assert_int_equal(add(s, "batch_a", 5000, 500), 1);  /* expires at 5500 */
    assert_int_equal(add(s, "batch_b", 5000, 0), 1);    /* default: 6000 */
    assert_int_equal(add(s, "batch_a", 5499, 0), 0);
    assert_int_equal(has(s, "batch_a", 5499), 1);
    assert_int_equal(has(s, "batch_a", 5500), 0);       /* the window is [t, t+ttl) */
    assert_int_equal(add(s, "batch_a", 5500, 500), 1);  /* seen again after expiry: new */
    assert_int_equal(add(s, "batch_a", 5999, 0), 0);    /* window restarted at 5500 */
    assert_int_equal(add(s, "batch_b", 5999, 0), 0);
    assert_int_equal(add(s, "batch_b", 6000, 0), 1);
    hl_seen_free(s);
}

static void test_duplicate_does_not_extend_window(void **state)
{
    hl_seen *s = open_store(10, 100, HL_SEEN_FULL_REFUSE);
    (void)state;
    assert_int_equal(add(s, "x", 0, 0), 1);
    assert_int_equal(add(s, "x", 99, 0), 0);
    assert_int_equal(add(s, "x", 100, 0), 1);
    hl_seen_free(s);
}

static void test_remove_lets_the_retry_through(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    int removed = -1;
    (void)state;
    assert_int_equal(add(s, "evt_9", 0, 0), 1);
    assert_int_equal(hl_seen_remove(s, "evt_9", 5, &removed, NULL), HL_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(has(s, "evt_9", 1), 0);
    assert_int_equal(add(s, "evt_9", 1, 0), 1);
    assert_int_equal(hl_seen_remove(s, "absent", 6, &removed, NULL), HL_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(hl_seen_remove(s, "absent", 6, NULL, NULL), HL_OK);
    hl_seen_free(s);
}

static void test_full_refuses_and_keeps_live_ids(void **state)
{
    hl_seen *s = open_store(3, 1000, HL_SEEN_FULL_REFUSE);
    hl_error err = HL_ERROR_INIT;
    int was_new = -1;
    (void)state;
    assert_int_equal(add(s, "a", 0, 100), 1);
    assert_int_equal(add(s, "b", 0, 0), 1);
    assert_int_equal(add(s, "c", 0, 0), 1);
    assert_int_equal(hl_seen_check_and_add(s, "d", 1, 50, 0, &was_new, &err), HL_E_STORE_FULL);
    assert_int_equal(err.code, HL_E_STORE_FULL);
    assert_non_null(strstr(err.message, "capacity"));
    assert_int_equal(was_new, -1);
    assert_string_equal(hl_code_name(HL_E_STORE_FULL), "store_full");
    /* Every live id is still known: nothing was dropped to make room. */
    assert_int_equal(add(s, "a", 50, 0), 0);
    assert_int_equal(add(s, "b", 50, 0), 0);
    /* A duplicate is still answered while full. */
    assert_int_equal(add(s, "c", 60, 0), 0);
    /* Once "a" expires its slot is reclaimed. */
    assert_int_equal(add(s, "d", 100, 0), 1);
    assert_int_equal(has(s, "a", 100), 0);
    hl_seen_free(s);
}

static void test_full_evicts_soonest_expiring_and_counts(void **state)
{
    hl_seen *s = open_store(3, 1000, HL_SEEN_FULL_EVICT_SOONEST);
    hl_seen_stats st;
    (void)state;
    assert_int_equal(add(s, "long", 0, 900), 1);
    assert_int_equal(add(s, "short", 0, 200), 1);
    assert_int_equal(add(s, "mid", 0, 500), 1);
    assert_int_equal(add(s, "new", 10, 0), 1);
    hl_seen_stats_get(s, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.live, 3);
    assert_int_equal(has(s, "short", 10), 0); /* the one closest to its end went */
    assert_int_equal(has(s, "long", 10), 1);
    assert_int_equal(has(s, "mid", 10), 1);
    hl_seen_free(s);
}

static void test_ids_are_byte_ranges(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    unsigned char a[4] = {'x', 0, 'y', 0xff}, b[4] = {'x', 0, 'y', 0xfe};
    char longest[HL_SEEN_ID_MAX + 1];
    hl_error err = HL_ERROR_INIT;
    int was_new;
    (void)state;
    assert_int_equal(hl_seen_check_and_add(s, a, 4, 0, 0, &was_new, NULL), HL_OK);
    assert_int_equal(was_new, 1);
    assert_int_equal(hl_seen_check_and_add(s, b, 4, 0, 0, &was_new, NULL), HL_OK);
    assert_int_equal(was_new, 1);
    assert_int_equal(hl_seen_check_and_add(s, a, 3, 0, 0, &was_new, NULL), HL_OK);
    assert_int_equal(was_new, 1); /* a prefix is another id */

    memset(longest, 'L', sizeof longest);
    assert_int_equal(hl_seen_check_and_add(s, longest, HL_SEEN_ID_MAX, 0, 0, &was_new, NULL),
                     HL_OK);
    assert_int_equal(hl_seen_check_and_add(s, longest, HL_SEEN_ID_MAX + 1, 0, 0, &was_new, &err),
                     HL_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "longer"));
    assert_int_equal(hl_seen_check_and_add(s, "", 0, 0, 0, &was_new, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_check_and_add(s, NULL, 3, 0, 0, &was_new, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_check_and_add(s, "x", 1, 0, 0, NULL, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_check_and_add(NULL, "x", 1, 0, 0, &was_new, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_contains(s, "x", 1, 0, NULL, NULL), HL_E_INVALID_ARGUMENT);
    hl_seen_free(s);
}

static void test_ids_at_guard_page(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 64, HL_SEEN_ID_MAX};
    char src[HL_SEEN_ID_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        guarded g;
        const char *id = guard_copy(&g, src, lens[i]);
        int v = -1, removed = -1;
        assert_int_equal(hl_seen_check_and_add(s, id, lens[i], 0, 0, &v, NULL), HL_OK);
        assert_int_equal(v, 1);
        assert_int_equal(hl_seen_contains(s, id, lens[i], 0, &v, NULL), HL_OK);
        assert_int_equal(v, 1);
        assert_int_equal(hl_seen_remove(s, id, lens[i], &removed, NULL), HL_OK);
        assert_int_equal(removed, 1);
        guard_free(&g);
    }
    hl_seen_free(s);
}

static void test_bad_options(void **state)
{
    hl_seen_options o = HL_SEEN_OPTIONS_INIT;
    hl_seen *s = NULL;
    hl_error err = HL_ERROR_INIT;
    (void)state;
    o.capacity = 0;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_E_INVALID_ARGUMENT);
    assert_null(s);
    o.capacity = HL_SEEN_CAPACITY_MAX + 1;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_E_INVALID_ARGUMENT);
    o.capacity = 5;
    o.default_ttl_ms = 0;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_E_INVALID_ARGUMENT);
    o.default_ttl_ms = 5;
    o.full = HL_SEEN_FULL__SENTINEL;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_E_INVALID_ARGUMENT);
    o.full = HL_SEEN_FULL_REFUSE;
    o.version = 99;
    assert_int_equal(hl_seen_new(&s, &o, &err), HL_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "version"));
    assert_int_equal(hl_seen_new(NULL, NULL, &err), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_seen_new(&s, NULL, &err), HL_OK); /* defaults */
    hl_seen_free(s);
}

static void test_ttl_saturates(void **state)
{
    hl_seen *s = open_store(10, 1000, HL_SEEN_FULL_REFUSE);
    (void)state;
    assert_int_equal(add(s, "forever", UINT64_MAX - 5, UINT64_MAX), 1);
    assert_int_equal(add(s, "forever", UINT64_MAX - 1, 0), 0);
    hl_seen_free(s);
}

static void test_prune_reclaims_everything_expired(void **state)
{
    hl_seen *s = open_store(100000, 1000, HL_SEEN_FULL_REFUSE);
    char id[32];
    size_t pruned = 0;
    hl_seen_stats st;
    (void)state;
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof id, "evt_%d", i);
        assert_int_equal(add(s, id, (uint64_t)i, 10), 1);
    }
    /* Each call reclaimed a few already: far fewer than 50000 are left. */
    hl_seen_stats_get(s, &st);
    assert_true(st.live < 100);
    assert_int_equal(hl_seen_prune(s, 1000000, 0, &pruned, NULL), HL_OK);
    hl_seen_stats_get(s, &st);
    assert_int_equal(st.live, 0);
    assert_int_equal(st.expired, 50000);
    hl_seen_free(s);
}

/* A naive model: an array of (id, expires) scanned linearly. */
#define MODEL_IDS 300
static void test_random_run_matches_model(void **state)
{
    hl_seen *s = open_store(MODEL_IDS, 1000, HL_SEEN_FULL_REFUSE);
    uint64_t expires[MODEL_IDS] = {0}; /* 0: absent */
    uint64_t now = 1;
    unsigned rng = 12345;
    char id[16];
    (void)state;
    for (int step = 0; step < 200000; step++) {
        unsigned k, op;
        int v = -1;
        rng = rng * 1103515245u + 12345u;
        k = (rng >> 8) % MODEL_IDS;
        op = (rng >> 20) % 10;
        now += (rng >> 28) % 7;
        snprintf(id, sizeof id, "id%u", k);
        if (op < 6) {
            uint64_t ttl = 1 + (rng >> 4) % 2000;
            int expect = !(expires[k] > now);
            assert_int_equal(hl_seen_check_and_add(s, id, strlen(id), now, ttl, &v, NULL), HL_OK);
            assert_int_equal(v, expect);
            if (expect)
                expires[k] = now + ttl;
        } else if (op < 9) {
            assert_int_equal(hl_seen_contains(s, id, strlen(id), now, &v, NULL), HL_OK);
            assert_int_equal(v, expires[k] > now);
        } else {
            assert_int_equal(hl_seen_remove(s, id, strlen(id), NULL, NULL), HL_OK);
            expires[k] = 0;
        }
    }
    hl_seen_free(s);
}

/* A backend of one's own plugs in behind the same calls. */
static int fake_calls;
static hl_code fake_cas(void *self, const void *id, size_t n, uint64_t now, uint64_t ttl,
                        int *was_new, hl_error *err)
{
    (void)self, (void)id, (void)n, (void)now, (void)err;
    fake_calls++;
    assert_int_equal(ttl, 777); /* the default was filled in */
    *was_new = 1;
    return HL_OK;
}
static hl_code fake_contains(void *self, const void *id, size_t n, uint64_t now, int *p,
                             hl_error *err)
{
    (void)self, (void)id, (void)n, (void)now, (void)err;
    *p = 1;
    return HL_OK;
}
static hl_code fake_remove(void *self, const void *id, size_t n, int *r, hl_error *err)
{
    (void)self, (void)id, (void)n, (void)err;
    *r = 0;
    return HL_OK;
}
static hl_code fake_prune(void *self, uint64_t now, size_t max, size_t *p, hl_error *err)
{
    (void)self, (void)now, (void)max, (void)err;
    *p = 0;
    return HL_OK;
}
static int fake_closed;
static void fake_close(void *self)
{
    (void)self;
    fake_closed++;
}

static void test_custom_backend(void **state)
{
    static const hl_seen_store_ops ops = {HL_SEEN_STORE_OPS_VERSION, "fake", fake_cas,
                                          fake_contains, fake_remove, fake_prune, NULL,
                                          fake_close};
    static const hl_seen_store_ops bad = {HL_SEEN_STORE_OPS_VERSION, "bad", NULL, NULL, NULL,
                                          NULL, NULL, fake_close};
    hl_seen *s = NULL;
    int v;
    (void)state;
    assert_int_equal(hl_seen_wrap(&s, &ops, &fake_calls, 777, NULL), HL_OK);
    assert_string_equal(hl_seen_backend_name(s), "fake");
    assert_int_equal(hl_seen_check_and_add(s, "x", 1, 0, 0, &v, NULL), HL_OK);
    assert_int_equal(fake_calls, 1);
    /* Argument checks happen before the backend is reached. */
    assert_int_equal(hl_seen_check_and_add(s, "", 0, 0, 0, &v, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(fake_calls, 1);
    hl_seen_free(s);
    assert_int_equal(fake_closed, 1);
    /* Incomplete ops: refused, and `self` is still closed (owned). */
    assert_int_equal(hl_seen_wrap(&s, &bad, &fake_calls, 777, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(fake_closed, 2);
    assert_int_equal(hl_seen_wrap(&s, &ops, &fake_calls, 0, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(fake_closed, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_known_answer),
        cmocka_unit_test(test_new_then_duplicate),
        cmocka_unit_test(test_expiry_with_advanced_clock),
        cmocka_unit_test(test_duplicate_does_not_extend_window),
        cmocka_unit_test(test_remove_lets_the_retry_through),
        cmocka_unit_test(test_full_refuses_and_keeps_live_ids),
        cmocka_unit_test(test_full_evicts_soonest_expiring_and_counts),
        cmocka_unit_test(test_ids_are_byte_ranges),
        cmocka_unit_test(test_ids_at_guard_page),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_ttl_saturates),
        cmocka_unit_test(test_prune_reclaims_everything_expired),
        cmocka_unit_test(test_random_run_matches_model),
        cmocka_unit_test(test_custom_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
