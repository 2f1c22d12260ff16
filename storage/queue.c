/* storage/queue.c: durable FIFO queues. */
#include "queue.h"

#include "../src/base/err.h"
#include "records.h"

#include <stdio.h>

static void meta_name(char *out, size_t size, const char *what, uint8_t queue)
{
    snprintf(out, size, "queue_%s:%c", what, (char)queue);
}

static struct str qkey(unsigned char k[9], uint8_t queue, uint64_t seq)
{
    k[0] = queue;
    be64_put(k + 1, seq);
    return str_make(k, 9);
}

int queue_push(struct kv_txn *txn, uint8_t queue, struct str payload, uint64_t *seq)
{
    char sname[32], lname[32];
    unsigned char k[9];
    uint64_t last, len;
    int rc;

    if (payload.len > QUEUE_MAX_PAYLOAD)
        return KITH_ETOOBIG;
    meta_name(sname, sizeof(sname), "seq", queue);
    meta_name(lname, sizeof(lname), "len", queue);
    if ((rc = meta_get_u64(txn, sname, &last)) || (rc = meta_get_u64(txn, lname, &len)))
        return rc;
    last++;
    if (payload.len == 0)
        payload = STR_LIT("");
    /* Sequences grow, but APPEND needs the key to sort last in the whole
     * table, which a lower queue id does not; plain put is right. */
    if ((rc = kv_put(txn, T_QUEUES, qkey(k, queue, last), payload, KV_NOOVERWRITE)))
        return rc;
    if ((rc = meta_put_u64(txn, sname, last)) || (rc = meta_put_u64(txn, lname, len + 1)))
        return rc;
    if (seq)
        *seq = last;
    return KITH_OK;
}

int queue_next(struct kv_txn *txn, uint8_t queue, uint64_t after, uint64_t *seq,
               struct str *payload)
{
    struct kv_cursor *c;
    unsigned char k[9];
    struct str key, val;
    int rc;

    if (after == UINT64_MAX)
        return KITH_ENOTFOUND;
    if ((rc = kv_cursor_open(txn, T_QUEUES, &c)))
        return rc;
    rc = kv_cursor_seek(c, qkey(k, queue, after + 1), &key, &val);
    if (rc == KITH_OK) {
        if (key.len != 9 || (uint8_t)key.ptr[0] != queue) {
            rc = key.len == 9 ? KITH_ENOTFOUND : KITH_ECORRUPT;
        } else {
            *seq = be64_get((const unsigned char *)key.ptr + 1);
            *payload = val;
        }
    }
    kv_cursor_close(c);
    return rc;
}

int queue_remove(struct kv_txn *txn, uint8_t queue, uint64_t seq)
{
    char lname[32];
    unsigned char k[9];
    uint64_t len;
    int rc = kv_del(txn, T_QUEUES, qkey(k, queue, seq));
    if (rc)
        return rc;
    meta_name(lname, sizeof(lname), "len", queue);
    if ((rc = meta_get_u64(txn, lname, &len)))
        return rc;
    return meta_put_u64(txn, lname, len ? len - 1 : 0);
}

int queue_length(struct kv_txn *txn, uint8_t queue, uint64_t *n)
{
    char lname[32];
    meta_name(lname, sizeof(lname), "len", queue);
    return meta_get_u64(txn, lname, n);
}
