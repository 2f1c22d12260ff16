/* tests/unit/storage/test_queue.c: durable FIFO queues. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../storage/queue.h"
#include "../../../storage/store.h"
#include "../../../storage/writer.h"

struct env {
    char *dir;
    struct store *st;
    struct writer *w;
};

static void open_env(struct env *e)
{
    char err[256];
    assert_int_equal(
        store_open(e->dir, 1 << 26, STORE_CREATE, clock_system(), &e->st, err, sizeof(err)), 0);
    assert_int_equal(writer_start(e->st, &e->w), 0);
}

static void close_env(struct env *e)
{
    writer_stop(e->w);
    store_close(e->st);
}

struct push {
    uint8_t q;
    const char *payload;
    uint64_t seq;
};

static int apply_push(struct kv_txn *txn, void *arg)
{
    struct push *p = arg;
    return queue_push(txn, p->q, str_from(p->payload), &p->seq);
}

struct pop {
    uint8_t q;
    char got[64];
    uint64_t seq;
};

/* Takes the head and removes it in one transaction, as a consumer would. */
static int apply_pop(struct kv_txn *txn, void *arg)
{
    struct pop *p = arg;
    struct str payload;
    int rc = queue_next(txn, p->q, 0, &p->seq, &payload);
    if (rc)
        return rc;
    snprintf(p->got, sizeof(p->got), "%.*s", (int)payload.len, payload.ptr);
    return queue_remove(txn, p->q, p->seq);
}

static uint64_t length(struct env *e, uint8_t q)
{
    struct kv_txn *txn;
    uint64_t n;
    assert_int_equal(store_read_begin(e->st, &txn), 0);
    assert_int_equal(queue_length(txn, q, &n), 0);
    kv_txn_abort(txn);
    return n;
}

static void test_queue_is_fifo_and_durable_across_reopen(void **state)
{
    (void)state;
    struct env e = {make_tmpdir(), NULL, NULL};
    char buf[32];
    open_env(&e);
    for (int i = 1; i <= 10; i++) {
        snprintf(buf, sizeof(buf), "item-%d", i);
        struct push p = {QUEUE_INBOX, buf, 0};
        assert_int_equal(writer_run(e.w, apply_push, &p), 0);
        assert_int_equal(p.seq, (uint64_t)i);
    }
    /* Another queue does not see these. */
    struct push other = {QUEUE_DELIVERY, "elsewhere", 0};
    assert_int_equal(writer_run(e.w, apply_push, &other), 0);
    assert_int_equal(other.seq, 1);
    assert_int_equal(length(&e, QUEUE_INBOX), 10);
    close_env(&e);

    open_env(&e); /* everything acknowledged is still there, in order */
    for (int i = 1; i <= 10; i++) {
        struct pop p = {QUEUE_INBOX, "", 0};
        assert_int_equal(writer_run(e.w, apply_pop, &p), 0);
        snprintf(buf, sizeof(buf), "item-%d", i);
        assert_string_equal(p.got, buf);
    }
    struct pop empty = {QUEUE_INBOX, "", 0};
    assert_int_equal(writer_run(e.w, apply_pop, &empty), KITH_ENOTFOUND);
    assert_int_equal(length(&e, QUEUE_INBOX), 0);
    assert_int_equal(length(&e, QUEUE_DELIVERY), 1);

    /* Sequence numbers are not reused after the queue empties. */
    struct push again = {QUEUE_INBOX, "eleven", 0};
    assert_int_equal(writer_run(e.w, apply_push, &again), 0);
    assert_int_equal(again.seq, 11);
    close_env(&e);
    rm_tree(e.dir);
}

static int apply_walk(struct kv_txn *txn, void *arg)
{
    uint64_t *count = arg, seq = 0, after = 0;
    struct str payload;
    while (queue_next(txn, QUEUE_TEST, after, &seq, &payload) == KITH_OK) {
        (*count)++;
        after = seq;
    }
    return 0;
}

static void test_queue_next_skips_past_a_cursor(void **state)
{
    (void)state;
    struct env e = {make_tmpdir(), NULL, NULL};
    open_env(&e);
    for (int i = 0; i < 5; i++) {
        struct push p = {QUEUE_TEST, "x", 0};
        assert_int_equal(writer_run(e.w, apply_push, &p), 0);
    }
    uint64_t count = 0;
    assert_int_equal(writer_run(e.w, apply_walk, &count), 0);
    assert_int_equal(count, 5);
    close_env(&e);
    rm_tree(e.dir);
}

static int apply_too_big(struct kv_txn *txn, void *arg)
{
    (void)arg;
    static char big[QUEUE_MAX_PAYLOAD + 1];
    return queue_push(txn, QUEUE_TEST, str_make(big, sizeof(big)), NULL);
}

static void test_queue_rejects_oversized_payload(void **state)
{
    (void)state;
    struct env e = {make_tmpdir(), NULL, NULL};
    open_env(&e);
    assert_int_equal(writer_run(e.w, apply_too_big, NULL), KITH_ETOOBIG);
    assert_int_equal(length(&e, QUEUE_TEST), 0);
    close_env(&e);
    rm_tree(e.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_is_fifo_and_durable_across_reopen),
        cmocka_unit_test(test_queue_next_skips_past_a_cursor),
        cmocka_unit_test(test_queue_rejects_oversized_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
