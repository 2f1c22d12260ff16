/* tests/unit/base/test_ratelimit.c: token buckets per key. */
#include "../helpers.h"

#include "../../../src/base/ratelimit.h"

static void test_ratelimit_allows_burst_then_limits(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(5, 60, 1000);
    unsigned retry = 0;
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_take(rl, STR_LIT("1.2.3.4"), 1000, &retry));
    assert_false(ratelimit_take(rl, STR_LIT("1.2.3.4"), 1000, &retry));
    /* One token every 12 s. */
    assert_int_equal(retry, 12);
    ratelimit_free(rl);
}

static void test_ratelimit_refills_over_time(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(5, 60, 1000);
    unsigned retry;
    for (int i = 0; i < 5; i++)
        ratelimit_take(rl, STR_LIT("k"), 0, &retry);
    assert_false(ratelimit_take(rl, STR_LIT("k"), 11000, &retry));
    assert_int_equal(retry, 1);
    assert_true(ratelimit_take(rl, STR_LIT("k"), 12000, &retry));
    assert_false(ratelimit_take(rl, STR_LIT("k"), 12000, &retry));
    /* A long idle period refills only up to the burst. */
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_take(rl, STR_LIT("k"), 10000000, &retry));
    assert_false(ratelimit_take(rl, STR_LIT("k"), 10000000, &retry));
    ratelimit_free(rl);
}

static void test_ratelimit_keys_are_independent(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1, 60, 1000);
    unsigned retry;
    assert_true(ratelimit_take(rl, STR_LIT("a"), 0, &retry));
    assert_false(ratelimit_take(rl, STR_LIT("a"), 0, &retry));
    assert_true(ratelimit_take(rl, STR_LIT("b"), 0, &retry));
    ratelimit_free(rl);
}

static void test_ratelimit_memory_is_bounded(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(2, 60, 160);
    unsigned retry;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
        ratelimit_take(rl, str_from(key), (uint64_t)i, &retry);
        ratelimit_take(rl, str_from(key), (uint64_t)i, &retry);
    }
    assert_true(ratelimit_size(rl) <= 160);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_allows_burst_then_limits),
        cmocka_unit_test(test_ratelimit_refills_over_time),
        cmocka_unit_test(test_ratelimit_keys_are_independent),
        cmocka_unit_test(test_ratelimit_memory_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
