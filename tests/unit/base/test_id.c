/* tests/unit/base/test_id.c: time-ordered ids, including a wall clock that
 * steps back and a restart over the stored high-water mark. */
#include "../helpers.h"

#include "../../../src/base/id.h"
#include "../../../storage/store.h"
#include "../../../storage/writer.h"

#include <pthread.h>

struct fake_clock {
    uint64_t ms;
};

static uint64_t fake_now(void *arg)
{
    return ((struct fake_clock *)arg)->ms;
}

static void test_id_layout_is_ms_shifted_16_plus_sequence(void **state)
{
    (void)state;
    struct fake_clock fc = {1700000000000ull};
    struct kith_clock c = {fake_now, &fc};
    struct idgen g;
    idgen_init(&g, &c, 0);
    uint64_t a = idgen_next(&g), b = idgen_next(&g);
    assert_int_equal(a, fc.ms << 16);
    assert_int_equal(b, (fc.ms << 16) + 1);
    assert_int_equal(id_ms(b), fc.ms);
    fc.ms += 5;
    assert_int_equal(idgen_next(&g), fc.ms << 16);
}

static void test_id_stays_monotonic_when_clock_steps_back(void **state)
{
    (void)state;
    struct fake_clock fc = {1700000000000ull};
    struct kith_clock c = {fake_now, &fc};
    struct idgen g;
    idgen_init(&g, &c, 0);
    uint64_t last = idgen_next(&g);
    fc.ms -= 3600 * 1000; /* an hour back */
    for (int i = 0; i < 1000; i++) {
        uint64_t id = idgen_next(&g);
        assert_true(id > last);
        last = id;
    }
    fc.ms += 7200 * 1000;
    assert_true(idgen_next(&g) > last);
}

static void test_id_sequence_overflow_borrows_next_millisecond(void **state)
{
    (void)state;
    struct fake_clock fc = {1000};
    struct kith_clock c = {fake_now, &fc};
    struct idgen g;
    idgen_init(&g, &c, 0);
    uint64_t last = 0;
    for (int i = 0; i < 70000; i++) {
        uint64_t id = idgen_next(&g);
        assert_true(id > last);
        last = id;
    }
    assert_int_equal(id_ms(last), 1001);
}

static void test_id_floor_is_respected(void **state)
{
    (void)state;
    struct fake_clock fc = {1000};
    struct kith_clock c = {fake_now, &fc};
    struct idgen g;
    idgen_init(&g, &c, (uint64_t)5000 << 16);
    assert_true(idgen_next(&g) > (uint64_t)5000 << 16);
    idgen_raise(&g, (uint64_t)9000 << 16);
    assert_true(idgen_next(&g) > (uint64_t)9000 << 16);
    idgen_raise(&g, 1); /* lower: no effect */
    assert_true(idgen_last(&g) > (uint64_t)9000 << 16);
}

#define THREADS 4
#define PER     20000

struct worker {
    struct idgen *g;
    uint64_t *out;
};

static void *take_ids(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER; i++)
        w->out[i] = idgen_next(w->g);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_id_unique_under_concurrency(void **state)
{
    (void)state;
    struct idgen g;
    pthread_t t[THREADS];
    struct worker w[THREADS];
    uint64_t *all = malloc(sizeof(uint64_t) * THREADS * PER);
    idgen_init(&g, clock_system(), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i].g = &g;
        w[i].out = all + i * PER;
        pthread_create(&t[i], NULL, take_ids, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) /* each thread saw its own ids rise */
        for (int j = 1; j < PER; j++)
            assert_true(w[i].out[j] > w[i].out[j - 1]);
    qsort(all, THREADS * PER, sizeof(uint64_t), cmp_u64);
    for (int i = 1; i < THREADS * PER; i++)
        assert_true(all[i] != all[i - 1]);
    free(all);
}

static int noop_apply(struct kv_txn *txn, void *arg)
{
    (void)txn;
    (void)arg;
    return 0;
}

static void test_id_monotonic_across_restart_with_clock_back(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char err[256];
    struct fake_clock fc = {1800000000000ull};
    struct kith_clock c = {fake_now, &fc};
    struct store *st;
    struct writer *w;
    uint64_t last = 0;

    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, &c, &st, err, sizeof(err)), 0);
    assert_int_equal(writer_start(st, &w), 0);
    for (int i = 0; i < 100; i++)
        last = idgen_next(store_ids(st));
    /* The high-water mark is stored by the next committed batch. */
    assert_int_equal(writer_run(w, noop_apply, NULL), 0);
    writer_stop(w);
    store_close(st);

    fc.ms -= 86400 * 1000; /* restart a day earlier by the wall clock */
    assert_int_equal(store_open(dir, 1 << 24, 0, &c, &st, err, sizeof(err)), 0);
    uint64_t next = idgen_next(store_ids(st));
    assert_true(next > last);
    store_close(st);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_layout_is_ms_shifted_16_plus_sequence),
        cmocka_unit_test(test_id_stays_monotonic_when_clock_steps_back),
        cmocka_unit_test(test_id_sequence_overflow_borrows_next_millisecond),
        cmocka_unit_test(test_id_floor_is_respected),
        cmocka_unit_test(test_id_unique_under_concurrency),
        cmocka_unit_test(test_id_monotonic_across_restart_with_clock_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
