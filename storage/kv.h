/* storage/kv.h: storage's own small ordered key-value interface.
 *
 * Layer: storage. This is the only way the rest of storage (and nothing
 * above it) reaches the database engine; kv_lmdb.c implements it on LMDB,
 * and no LMDB type or call appears outside that file. The shape follows
 * LMDB: named tables opened once, transactions, byte-wise ordered keys,
 * cursors over key ranges.
 *
 * Ownership and lifetime:
 * - Values returned by kv_get and cursors are borrowed: valid until the
 *   next write in the same transaction or the end of the transaction.
 * - A transaction and its cursors are used by one thread at a time. Read
 *   transactions may move between threads (the environment is opened
 *   without thread-local reader slots) and can be reset and renewed.
 * - One write transaction at a time per environment; storage's writer
 *   thread (writer.h) is the only code that opens them while kithd runs.
 * Durability: a commit returns only after the data and meta pages are on
 * disk (no NOSYNC, NOMETASYNC or unsynced WRITEMAP anywhere).
 */
#ifndef KITH_STORAGE_KV_H
#define KITH_STORAGE_KV_H

#include "../src/base/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_env;
struct kv_txn;
struct kv_cursor;

enum kv_open_flags {
    KV_CREATE = 1 << 0,   /* create the directory and missing tables */
    KV_READONLY = 1 << 1, /* read-only environment (backups, inspection) */
};

enum kv_put_flags {
    KV_NOOVERWRITE = 1 << 0, /* fail with KITH_EEXIST if the key exists */
    KV_APPEND = 1 << 1,      /* key sorts after every key in the table (queues) */
};

/* Opens the environment in directory dir (file dir/data.mdb) with the
 * given table names; table i is then addressed by number i. */
int kv_open(const char *dir, uint64_t map_size, const char *const *tables, unsigned ntables,
            unsigned flags, struct kv_env **out);
void kv_close(struct kv_env *env);

/* parent: a write transaction to nest in (its own commit or abort does not
 * touch the parent's changes until the parent commits), or NULL. */
int kv_txn_begin(struct kv_env *env, struct kv_txn *parent, bool write, struct kv_txn **out);
/* Commits and frees the transaction (also on failure). */
int kv_txn_commit(struct kv_txn *txn);
void kv_txn_abort(struct kv_txn *txn);
/* Read transactions only: release the snapshot, keep the handle; renew takes a new snapshot. */
void kv_txn_reset(struct kv_txn *txn);
int kv_txn_renew(struct kv_txn *txn);
/* The snapshot's id: a read transaction sees the database as the write
 * transaction of this id left it (ids grow with every commit). */
uint64_t kv_txn_id(struct kv_txn *txn);

int kv_get(struct kv_txn *txn, unsigned table, struct str key, struct str *val);
int kv_put(struct kv_txn *txn, unsigned table, struct str key, struct str val, unsigned flags);
/* KITH_ENOTFOUND if the key is absent. */
int kv_del(struct kv_txn *txn, unsigned table, struct str key);
/* Number of keys in a table (constant time). */
int kv_count(struct kv_txn *txn, unsigned table, uint64_t *n);

int kv_cursor_open(struct kv_txn *txn, unsigned table, struct kv_cursor **out);
void kv_cursor_close(struct kv_cursor *c);
/* Positions at the first key >= key. KITH_ENOTFOUND past the end. */
int kv_cursor_seek(struct kv_cursor *c, struct str key, struct str *k, struct str *v);
int kv_cursor_first(struct kv_cursor *c, struct str *k, struct str *v);
int kv_cursor_last(struct kv_cursor *c, struct str *k, struct str *v);
int kv_cursor_next(struct kv_cursor *c, struct str *k, struct str *v);
int kv_cursor_prev(struct kv_cursor *c, struct str *k, struct str *v);

/* Writes a consistent copy of the environment to dir/data.mdb while others
 * keep reading and writing; compact drops free pages. */
int kv_copy(struct kv_env *env, const char *dir, bool compact);

struct kv_info {
    uint64_t map_size;   /* configured maximum */
    uint64_t used_bytes; /* pages in use */
    unsigned max_readers;
    unsigned readers_used;
};
int kv_info(struct kv_env *env, struct kv_info *out);

/* True when the environment is opened in a mode that can lose committed
 * transactions (NOSYNC, NOMETASYNC, MAPASYNC or WRITEMAP): never in kith. */
bool kv_durability_relaxed(struct kv_env *env);

#endif
