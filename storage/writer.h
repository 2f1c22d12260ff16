/* storage/writer.h: the single writer thread with group commit.
 *
 * Layer: storage. Every write to the database goes through one writer. Any
 * thread submits a request (an apply function); the writer takes every
 * request queued while it was busy, applies each in a nested transaction
 * (a failing request is rolled back alone), then commits the batch with one
 * durable commit and only then calls each request's done function with its
 * result. So nothing is ever acknowledged before it is on disk, and a batch
 * of N requests costs one fsync instead of N.
 *
 * Thread: writer_submit and writer_run are safe from any thread. apply runs
 * on the writer thread inside the batch's transaction: it must only touch
 * the database (no I/O, no locks held by submitters). done runs on the
 * writer thread after the commit; it must be quick (hand the result to the
 * submitter's own thread, e.g. with event_active()).
 * Owned: a submitted request belongs to the writer until done is called.
 */
#ifndef KITH_STORAGE_WRITER_H
#define KITH_STORAGE_WRITER_H

#include "kv.h"

#include <stdint.h>

struct store;
struct writer;

typedef int writer_apply_fn(struct kv_txn *txn, void *arg);
/* rc is apply's result, or KITH_ESTORE if the batch failed to commit. */
typedef void writer_done_fn(void *arg, int rc);

struct writer_req {
    writer_apply_fn *apply;
    writer_done_fn *done;
    void *arg;
    int rc;                  /* private */
    struct writer_req *next; /* private */
};

struct writer_stats {
    uint64_t batches;   /* commits made */
    uint64_t requests;  /* requests applied */
    uint64_t max_batch; /* largest batch so far */
};

/* Starts the writer thread on st (borrowed: close the writer first). */
int writer_start(struct store *st, struct writer **out);
/* Queues req; KITH_ESTOPPED once writer_stop has begun (done is not called). */
int writer_submit(struct writer *w, struct writer_req *req);
/* Submits apply and waits until it is durable; returns its result. */
int writer_run(struct writer *w, writer_apply_fn *apply, void *arg);
/* Applies and commits everything already queued, then joins the thread
 * and frees the writer. NULL is a no-op. */
void writer_stop(struct writer *w);
void writer_get_stats(struct writer *w, struct writer_stats *out);

#endif
