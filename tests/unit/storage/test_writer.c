/* tests/unit/storage/test_writer.c: the single writer with group commit. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../storage/records.h"
#include "../../../storage/store.h"
#include "../../../storage/writer.h"

#include <pthread.h>

struct put {
    uint64_t key;
    int fail; /* return this after writing, to test per-request rollback */
};

static int apply_put(struct kv_txn *txn, void *arg)
{
    struct put *p = arg;
    struct key8 k = key_id(p->key);
    int rc = kv_put(txn, T_META, KEY8(k), STR_LIT("v"), 0);
    return rc ? rc : p->fail;
}

static bool present(struct store *st, uint64_t key)
{
    struct kv_txn *txn;
    struct str v;
    struct key8 k = key_id(key);
    assert_int_equal(store_read_begin(st, &txn), 0);
    bool ok = kv_get(txn, T_META, KEY8(k), &v) == KITH_OK;
    kv_txn_abort(txn);
    return ok;
}

static void test_writer_failed_request_rolls_back_alone(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256];
    struct store *st;
    struct writer *w;
    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_false(kv_durability_relaxed(store_env(st)));
    assert_int_equal(writer_start(st, &w), 0);
    struct put ok = {1, 0}, bad = {2, KITH_EINVAL};
    assert_int_equal(writer_run(w, apply_put, &ok), 0);
    assert_int_equal(writer_run(w, apply_put, &bad), KITH_EINVAL);
    assert_true(present(st, 1));
    assert_false(present(st, 2));
    writer_stop(w);
    store_close(st);
    rm_tree(dir);
}

#define SUBMITTERS 32
#define EACH       50

struct submitter {
    struct writer *w;
    int index;
    int failures;
};

static void *submit_many(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < EACH; i++) {
        /* Every seventh request of each submitter fails and must vanish. */
        struct put p = {(uint64_t)(s->index * 1000 + i + 100), i % 7 == 3 ? KITH_EINVAL : 0};
        int rc = writer_run(s->w, apply_put, &p);
        if (rc != p.fail)
            s->failures++;
    }
    return NULL;
}

static void test_writer_groups_concurrent_requests(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256];
    struct store *st;
    struct writer *w;
    pthread_t t[SUBMITTERS];
    struct submitter s[SUBMITTERS];
    struct writer_stats ws;

    assert_int_equal(store_open(dir, 1 << 26, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_int_equal(writer_start(st, &w), 0);
    for (int i = 0; i < SUBMITTERS; i++) {
        s[i] = (struct submitter){w, i, 0};
        pthread_create(&t[i], NULL, submit_many, &s[i]);
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(t[i], NULL);
    writer_get_stats(w, &ws);
    assert_int_equal(ws.requests, SUBMITTERS * EACH);
    /* 32 submitters waiting on each other's fsync must share commits. */
    assert_true(ws.batches < ws.requests);
    assert_true(ws.max_batch > 1);
    writer_stop(w);
    store_close(st);

    assert_int_equal(store_open(dir, 1 << 26, 0, clock_system(), &st, err, sizeof(err)), 0);
    for (int i = 0; i < SUBMITTERS; i++) {
        assert_int_equal(s[i].failures, 0);
        for (int j = 0; j < EACH; j++)
            assert_int_equal(present(st, (uint64_t)(i * 1000 + j + 100)), j % 7 != 3);
    }
    store_close(st);
    rm_tree(dir);
}

struct async_done {
    pthread_mutex_t lock;
    int count;
    int errors;
};

static void count_done(void *arg, int rc)
{
    struct async_done *d = arg;
    pthread_mutex_lock(&d->lock);
    d->count++;
    d->errors += rc != 0;
    pthread_mutex_unlock(&d->lock);
}

static int apply_noop(struct kv_txn *txn, void *arg)
{
    (void)txn;
    (void)arg;
    return 0;
}

static void test_writer_stop_commits_everything_queued(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256];
    struct store *st;
    struct writer *w;
    static struct writer_req reqs[500];
    struct async_done d = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_int_equal(writer_start(st, &w), 0);
    for (int i = 0; i < 500; i++) {
        reqs[i] = (struct writer_req){.apply = apply_noop, .done = count_done, .arg = &d};
        assert_int_equal(writer_submit(w, &reqs[i]), 0);
    }
    writer_stop(w); /* drains: every done callback has run */
    assert_int_equal(d.count, 500);
    assert_int_equal(d.errors, 0);
    store_close(st);
    rm_tree(dir);
}

static void test_store_refuses_newer_schema_and_missing_database(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256];
    struct store *st;
    assert_int_equal(store_open(dir, 1 << 24, 0, clock_system(), &st, err, sizeof(err)),
                     KITH_ENOTFOUND);
    assert_non_null(strstr(err, "kithctl init"));
    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_true(store_created(st));
    /* Pretend a future build wrote this database. */
    struct kv_txn *txn;
    assert_int_equal(kv_txn_begin(store_env(st), NULL, true, &txn), 0);
    assert_int_equal(kv_put(txn, T_META, STR_LIT("schema_version"), str_make("\0\0\0\x63", 4), 0),
                     0);
    assert_int_equal(kv_txn_commit(txn), 0);
    store_close(st);
    assert_int_equal(store_open(dir, 1 << 24, 0, clock_system(), &st, err, sizeof(err)),
                     KITH_EINVAL);
    assert_non_null(strstr(err, "newer"));
    rm_tree(dir);
}

/* The migration hook: a database at version 1 is upgraded step by step by
 * a migration table (here a test one: this build has no migrations yet). */
static int migrate_add_marker(struct kv_txn *txn)
{
    return kv_put(txn, T_META, STR_LIT("migrated"), STR_LIT("yes"), 0);
}

static void report(const char *what, uint32_t from, void *arg)
{
    (void)what;
    (void)from;
    (*(int *)arg)++;
}

static void test_store_migrate_applies_steps_in_order(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256];
    struct store *st;
    struct kv_txn *txn;
    struct str v;
    uint32_t version;
    int steps = 0;
    const struct migration m[] = {{1, "add a marker", migrate_add_marker}};

    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_int_equal(store_migrate(st, m, 1, 2, report, &steps), 0);
    assert_int_equal(steps, 1);
    assert_int_equal(store_schema_version(st, &version), 0);
    assert_int_equal(version, 2);
    assert_int_equal(store_read_begin(st, &txn), 0);
    assert_int_equal(kv_get(txn, T_META, STR_LIT("migrated"), &v), 0);
    kv_txn_abort(txn);
    /* Nothing to do at the target; a missing step is an error. */
    assert_int_equal(store_migrate(st, m, 1, 2, report, &steps), 0);
    assert_int_equal(steps, 1);
    assert_int_equal(store_migrate(st, m, 1, 3, report, &steps), KITH_ENOTFOUND);
    store_close(st);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_failed_request_rolls_back_alone),
        cmocka_unit_test(test_writer_groups_concurrent_requests),
        cmocka_unit_test(test_writer_stop_commits_everything_queued),
        cmocka_unit_test(test_store_refuses_newer_schema_and_missing_database),
        cmocka_unit_test(test_store_migrate_applies_steps_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
