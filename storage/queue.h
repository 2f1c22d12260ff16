/* storage/queue.h: durable FIFO queues in LMDB (inbox, delivery).
 *
 * Layer: storage. Payloads are opaque bytes: nothing here knows HTTP, JSON
 * or ActivityPub. An entry is durable once the write transaction that
 * pushed it commits (through the writer, see writer.h), and stays until a
 * later write transaction removes it, so a consumer that crashes between
 * taking and removing an entry sees it again: consumers must be idempotent.
 * Sequence numbers are per queue, start at 1 and are never reused.
 * Thread: push/remove need a write transaction (writer thread); peeking
 * works in any transaction.
 */
#ifndef KITH_STORAGE_QUEUE_H
#define KITH_STORAGE_QUEUE_H

#include "kv.h"

#include <stdint.h>

enum queue_id {
    QUEUE_INBOX = 1,    /* accepted activities awaiting processing */
    QUEUE_DELIVERY = 2, /* outgoing deliveries awaiting a send */
    QUEUE_TEST = 200,   /* reserved for tests and benchmarks */
};

#define QUEUE_MAX_PAYLOAD (1u << 20)

/* Appends payload; *seq (if not NULL) receives its sequence number. */
int queue_push(struct kv_txn *txn, uint8_t queue, struct str payload, uint64_t *seq);
/* The first entry with sequence > after (0 for the head). KITH_ENOTFOUND
 * when there is none. payload is borrowed until the transaction ends. */
int queue_next(struct kv_txn *txn, uint8_t queue, uint64_t after, uint64_t *seq,
               struct str *payload);
/* Removes one entry; KITH_ENOTFOUND if it is not there. */
int queue_remove(struct kv_txn *txn, uint8_t queue, uint64_t seq);
/* Number of entries (kept as a counter, constant time). */
int queue_length(struct kv_txn *txn, uint8_t queue, uint64_t *n);

#endif
