/* storage/writer.c: the single writer thread with group commit. */
#include "writer.h"

#include "../src/base/err.h"
#include "../src/base/id.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "records.h"
#include "store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define WRITER_MAX_BATCH 4096

struct writer {
    struct store *st;
    pthread_t thread;
    pthread_mutex_t lock; /* guards head, tail, stopping and stats */
    pthread_cond_t wake;
    struct writer_req *head, *tail;
    bool stopping;
    struct writer_stats stats;
    uint64_t hwm_written; /* writer thread only */
};

/* Applies one batch and commits it; every request's rc is final afterwards. */
static void run_batch(struct writer *w, struct writer_req *batch)
{
    struct kv_env *env = store_env(w->st);
    struct kv_txn *txn = NULL;
    int rc = kv_txn_begin(env, NULL, true, &txn);

    for (struct writer_req *r = batch; r; r = r->next) {
        struct kv_txn *child = NULL;
        if (rc) {
            r->rc = KITH_ESTORE;
            continue;
        }
        r->rc = kv_txn_begin(env, txn, true, &child);
        if (r->rc)
            continue;
        r->rc = r->apply(child, r->arg);
        if (r->rc == KITH_OK)
            r->rc = kv_txn_commit(child);
        else
            kv_txn_abort(child);
    }
    if (rc == KITH_OK) {
        /* Persist the id high-water mark with the batch that used the ids. */
        uint64_t hwm = idgen_last(store_ids(w->st));
        if (hwm > w->hwm_written)
            rc = meta_put_u64(txn, "id_hwm", hwm);
        if (rc == KITH_OK)
            rc = kv_txn_commit(txn);
        else
            kv_txn_abort(txn);
        if (rc == KITH_OK && hwm > w->hwm_written)
            w->hwm_written = hwm;
        if (rc) {
            log_error("writer: batch commit failed: %s", kith_strerror(rc));
            for (struct writer_req *r = batch; r; r = r->next)
                if (r->rc == KITH_OK)
                    r->rc = KITH_ESTORE;
        }
    }
}

static void *writer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-writer"); /* for top -H and perf */
    struct writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->head) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        /* Take up to WRITER_MAX_BATCH requests: those queued while we were busy. */
        struct writer_req *batch = w->head, *last = w->head;
        uint64_t n = 1;
        while (last->next && n < WRITER_MAX_BATCH) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->lock);

        run_batch(w, batch);

        pthread_mutex_lock(&w->lock);
        w->stats.batches++;
        w->stats.requests += n;
        if (n > w->stats.max_batch)
            w->stats.max_batch = n;
        pthread_mutex_unlock(&w->lock);

        for (struct writer_req *r = batch; r;) {
            struct writer_req *next = r->next; /* done may free r */
            r->done(r->arg, r->rc);
            r = next;
        }
    }
    return NULL;
}

int writer_start(struct store *st, struct writer **out)
{
    struct writer *w = xcalloc(1, sizeof(*w));
    w->st = st;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return KITH_EIO;
    }
    *out = w;
    return KITH_OK;
}

int writer_submit(struct writer *w, struct writer_req *req)
{
    req->next = NULL;
    req->rc = KITH_OK;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return KITH_ESTOPPED;
    }
    if (w->tail)
        w->tail->next = req;
    else
        w->head = req;
    w->tail = req;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return KITH_OK;
}

struct sync_wait {
    writer_apply_fn *apply; /* the caller's */
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int rc;
};

static int sync_apply(struct kv_txn *txn, void *arg)
{
    struct sync_wait *s = arg;
    return s->apply(txn, s->arg);
}

static void sync_done(void *arg, int rc)
{
    struct sync_wait *s = arg;
    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->done = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int writer_run(struct writer *w, writer_apply_fn *apply, void *arg)
{
    struct sync_wait s = {.apply = apply, .arg = arg, .done = false, .rc = KITH_OK};
    struct writer_req req = {.apply = sync_apply, .done = sync_done, .arg = &s};
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    int rc = writer_submit(w, &req);
    if (rc == KITH_OK) {
        pthread_mutex_lock(&s.lock);
        while (!s.done)
            pthread_cond_wait(&s.cond, &s.lock);
        rc = s.rc;
        pthread_mutex_unlock(&s.lock);
    }
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.cond);
    return rc;
}

void writer_stop(struct writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void writer_get_stats(struct writer *w, struct writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}
