/* test_engine_random.c - random walks through the engine's API (the same
 * operation interpreter as the fuzz target), checking its invariants after
 * every step. Deterministic: the walks come from a seeded RNG.
 * HL_RANDOM_WALKS overrides the number of walks. */
#include "engine_test_util.h"

#include "engine_ops.h"

static void test_random_walks(void **state)
{
    (void)state;
    const char *env = getenv("HL_RANDOM_WALKS");
    size_t walks = env && *env ? (size_t)strtoull(env, NULL, 10) : 300;
    hli_rng rng;
    hli_rng_seed(&rng, 20261123);
    uint8_t buf[4096];
    size_t total = 0;
    for (size_t w = 0; w < walks; w++) {
        size_t len = 64 + hli_rng_below(&rng, sizeof buf - 64);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)hli_rng_next(&rng);
        total += ops_run(buf, len);
    }
    fprintf(stderr, "  %zu walks, %zu operations\n", walks, total);
    assert_true(total > walks * 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
