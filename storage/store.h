/* storage/store.h: opening kith's database, schema version, migrations,
 * backup and restore.
 *
 * Layer: storage. A store is the LMDB environment in DATA_DIR/db plus the id
 * generator whose floor is the stored high-water mark (src/base/id.h).
 * Thread: store_env/store_ids/store_read_* are safe from any thread; the
 * store must outlive its writer and every transaction.
 * Owned: store_close() frees the store.
 */
#ifndef KITH_STORAGE_STORE_H
#define KITH_STORAGE_STORE_H

#include "../src/base/clock.h"
#include "../src/base/id.h"
#include "kv.h"
#include "schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_open_flags {
    STORE_CREATE = 1 << 0,   /* create DATA_DIR and an empty database if missing */
    STORE_MIGRATING = 1 << 1 /* open an older schema (kithctl migrate only) */
};

/* Opens DATA_DIR/db. Errors, each with a one-line explanation in err:
 * KITH_ENOTFOUND (no database: run kithctl init), KITH_EINVAL (schema too
 * new for this binary, or too old without STORE_MIGRATING), KITH_ESTORE. */
int store_open(const char *data_dir, uint64_t map_size, unsigned flags,
               const struct kith_clock *clock, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);

struct kv_env *store_env(struct store *st);
struct idgen *store_ids(struct store *st);
const char *store_data_dir(struct store *st);
/* True when this open created the database (first start). */
bool store_created(struct store *st);

/* Read transactions: begin; abort when done. */
int store_read_begin(struct store *st, struct kv_txn **out);

/* The schema version stored in the database. */
int store_schema_version(struct store *st, uint32_t *out);

struct migration {
    uint32_t from; /* upgrades from this version to from + 1 */
    const char *what;
    int (*apply)(struct kv_txn *txn);
};

/* The migrations of this build, from version 1 up to STORE_SCHEMA_VERSION. */
extern const struct migration store_migrations[];
extern const size_t store_nmigrations;

/* Applies steps in order, one durable transaction each, until the schema
 * is at target. Calls report(what) before each step. Must run with no
 * writer (kithctl migrate, kithd stopped). */
int store_migrate(struct store *st, const struct migration *steps, size_t nsteps, uint32_t target,
                  void (*report)(const char *what, uint32_t from, void *arg), void *arg);

/* Writes a consistent, compacted copy of the database (and media, when
 * there is any) into the new directory dest while the store stays in use. */
int store_backup(struct store *st, const char *dest, char *err, size_t errlen);
/* Puts the backup in src in place of data_dir's database (the store must
 * not be open). The database it replaces is kept, renamed; its new path is
 * written to moved_to (empty if there was none). */
int store_restore(const char *data_dir, const char *src, char *moved_to, size_t movedlen, char *err,
                  size_t errlen);

#endif
