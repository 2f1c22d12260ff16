/* storage/kv_lmdb.c: the kv.h interface on LMDB.
 *
 * The only file in kith that includes lmdb.h. Transactions and cursors are
 * LMDB's own handles, cast to storage's opaque types; the environment keeps
 * its table handles in the environment's user context.
 */
#include "kv.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KV_MAX_READERS 1024

struct kv_env {
    MDB_env *env;
    unsigned ntables;
    MDB_dbi dbis[];
};

static int map_err(int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return KITH_OK;
    case MDB_NOTFOUND:
        return KITH_ENOTFOUND;
    case MDB_KEYEXIST:
        return KITH_EEXIST;
    case MDB_BAD_VALSIZE:
        return KITH_ETOOBIG;
    case ENOMEM:
        return KITH_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        log_error("storage: %s: %s", what, mdb_strerror(rc));
        return KITH_ECORRUPT;
    default:
        log_error("storage: %s: %s", what, mdb_strerror(rc));
        return KITH_ESTORE;
    }
}

static MDB_txn *T(struct kv_txn *t)
{
    return (MDB_txn *)(void *)t;
}

static MDB_cursor *C(struct kv_cursor *c)
{
    return (MDB_cursor *)(void *)c;
}

static struct kv_env *env_of(MDB_txn *txn)
{
    return mdb_env_get_userctx(mdb_txn_env(txn));
}

static MDB_val V(struct str s)
{
    return (MDB_val){s.len, (void *)(uintptr_t)s.ptr};
}

static struct str S(MDB_val v) {
    return (struct str){v.mv_data, v.mv_size};
}

int kv_open(const char *dir, uint64_t map_size, const char *const *tables, unsigned ntables,
            unsigned flags, struct kv_env **out)
{
    struct kv_env *e = xcalloc(1, sizeof(*e) + ntables * sizeof(MDB_dbi));
    MDB_txn *txn = NULL;
    int rc;

    e->ntables = ntables;
    if ((flags & KV_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("storage: cannot create %s: %s", dir, strerror(errno));
        free(e);
        return KITH_EIO;
    }
    if ((rc = mdb_env_create(&e->env)) != 0)
        goto fail;
    mdb_env_set_userctx(e->env, e);
    if ((rc = mdb_env_set_maxdbs(e->env, ntables)) != 0 ||
        (rc = mdb_env_set_mapsize(e->env, (size_t)map_size)) != 0 ||
        (rc = mdb_env_set_maxreaders(e->env, KV_MAX_READERS)) != 0)
        goto fail;
    /* NOTLS: read transactions are not tied to threads (they are reset and
     * renewed by event-loop threads). Durability flags are deliberately
     * absent: every commit syncs data and meta. */
    unsigned eflags = MDB_NOTLS | ((flags & KV_READONLY) ? MDB_RDONLY : 0);
    if ((rc = mdb_env_open(e->env, dir, eflags, 0600)) != 0)
        goto fail;
    /* Free reader slots left by a process that died holding a read
     * transaction (kill -9): they would pin old pages and grow the file. */
    int dead = 0;
    if (mdb_reader_check(e->env, &dead) == 0 && dead > 0)
        log_warn("storage: cleared %d stale reader slots in %s", dead, dir);
    if ((rc = mdb_txn_begin(e->env, NULL, (flags & KV_READONLY) ? MDB_RDONLY : 0, &txn)) != 0)
        goto fail;
    for (unsigned i = 0; i < ntables; i++) {
        unsigned dflags = (flags & KV_CREATE) ? MDB_CREATE : 0;
        if ((rc = mdb_dbi_open(txn, tables[i], dflags, &e->dbis[i])) != 0) {
            mdb_txn_abort(txn);
            goto fail;
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        goto fail;
    *out = e;
    return KITH_OK;
fail:;
    int err = rc == ENOENT ? KITH_ENOTFOUND : map_err(rc, "open");
    if (rc == ENOENT || rc == MDB_NOTFOUND)
        log_error("storage: %s: no database here (%s)", dir, mdb_strerror(rc));
    if (e->env)
        mdb_env_close(e->env);
    free(e);
    return err;
}

void kv_close(struct kv_env *env)
{
    if (!env)
        return;
    mdb_env_close(env->env);
    free(env);
}

int kv_txn_begin(struct kv_env *env, struct kv_txn *parent, bool write, struct kv_txn **out)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env->env, parent ? T(parent) : NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc)
        return map_err(rc, "begin transaction");
    *out = (struct kv_txn *)(void *)txn;
    return KITH_OK;
}

int kv_txn_commit(struct kv_txn *txn)
{
    return map_err(mdb_txn_commit(T(txn)), "commit");
}

void kv_txn_abort(struct kv_txn *txn)
{
    if (txn)
        mdb_txn_abort(T(txn));
}

void kv_txn_reset(struct kv_txn *txn)
{
    mdb_txn_reset(T(txn));
}

int kv_txn_renew(struct kv_txn *txn)
{
    return map_err(mdb_txn_renew(T(txn)), "renew transaction");
}

uint64_t kv_txn_id(struct kv_txn *txn)
{
    return (uint64_t)mdb_txn_id(T(txn));
}

static int dbi(struct kv_txn *txn, unsigned table, MDB_dbi *out)
{
    struct kv_env *e = env_of(T(txn));
    KITH_ASSERT(table < e->ntables);
    *out = e->dbis[table];
    return KITH_OK;
}

int kv_get(struct kv_txn *txn, unsigned table, struct str key, struct str *val)
{
    MDB_dbi d;
    MDB_val k = V(key), v;
    dbi(txn, table, &d);
    if (key.len == 0 || key.len > 511)
        return KITH_ENOTFOUND;
    int rc = mdb_get(T(txn), d, &k, &v);
    if (rc)
        return map_err(rc, "get");
    *val = S(v);
    return KITH_OK;
}

int kv_put(struct kv_txn *txn, unsigned table, struct str key, struct str val, unsigned flags)
{
    MDB_dbi d;
    MDB_val k = V(key), v = V(val);
    unsigned f = 0;
    dbi(txn, table, &d);
    if (key.len == 0 || key.len > 511)
        return KITH_EINVAL;
    if (flags & KV_NOOVERWRITE)
        f |= MDB_NOOVERWRITE;
    if (flags & KV_APPEND)
        f |= MDB_APPEND;
    int rc = mdb_put(T(txn), d, &k, &v, f);
    return map_err(rc, "put");
}

int kv_del(struct kv_txn *txn, unsigned table, struct str key)
{
    MDB_dbi d;
    MDB_val k = V(key);
    dbi(txn, table, &d);
    if (key.len == 0 || key.len > 511)
        return KITH_ENOTFOUND;
    return map_err(mdb_del(T(txn), d, &k, NULL), "delete");
}

int kv_count(struct kv_txn *txn, unsigned table, uint64_t *n)
{
    MDB_dbi d;
    MDB_stat st;
    dbi(txn, table, &d);
    int rc = mdb_stat(T(txn), d, &st);
    if (rc)
        return map_err(rc, "stat");
    *n = st.ms_entries;
    return KITH_OK;
}

int kv_cursor_open(struct kv_txn *txn, unsigned table, struct kv_cursor **out)
{
    MDB_dbi d;
    MDB_cursor *c;
    dbi(txn, table, &d);
    int rc = mdb_cursor_open(T(txn), d, &c);
    if (rc)
        return map_err(rc, "cursor");
    *out = (struct kv_cursor *)(void *)c;
    return KITH_OK;
}

void kv_cursor_close(struct kv_cursor *c)
{
    if (c)
        mdb_cursor_close(C(c));
}

static int move(struct kv_cursor *c, MDB_val *k, MDB_cursor_op op, struct str *ko, struct str *vo)
{
    MDB_val v;
    int rc = mdb_cursor_get(C(c), k, &v, op);
    if (rc)
        return map_err(rc, "cursor move");
    if (ko)
        *ko = S(*k);
    if (vo)
        *vo = S(v);
    return KITH_OK;
}

int kv_cursor_seek(struct kv_cursor *c, struct str key, struct str *k, struct str *v)
{
    MDB_val mk = V(key);
    if (key.len == 0)
        return kv_cursor_first(c, k, v);
    return move(c, &mk, MDB_SET_RANGE, k, v);
}

int kv_cursor_first(struct kv_cursor *c, struct str *k, struct str *v)
{
    MDB_val mk;
    return move(c, &mk, MDB_FIRST, k, v);
}

int kv_cursor_last(struct kv_cursor *c, struct str *k, struct str *v)
{
    MDB_val mk;
    return move(c, &mk, MDB_LAST, k, v);
}

int kv_cursor_next(struct kv_cursor *c, struct str *k, struct str *v)
{
    MDB_val mk;
    return move(c, &mk, MDB_NEXT, k, v);
}

int kv_cursor_prev(struct kv_cursor *c, struct str *k, struct str *v)
{
    MDB_val mk;
    return move(c, &mk, MDB_PREV, k, v);
}

int kv_copy(struct kv_env *env, const char *dir, bool compact)
{
    return map_err(mdb_env_copy2(env->env, dir, compact ? MDB_CP_COMPACT : 0), "copy");
}

int kv_info(struct kv_env *env, struct kv_info *out)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(env->env, &info);
    if (rc == 0)
        rc = mdb_env_stat(env->env, &st);
    if (rc)
        return map_err(rc, "info");
    out->map_size = info.me_mapsize;
    out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    out->max_readers = info.me_maxreaders;
    out->readers_used = info.me_numreaders;
    return KITH_OK;
}

bool kv_durability_relaxed(struct kv_env *env)
{
    unsigned flags = 0;
    mdb_env_get_flags(env->env, &flags);
    return (flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC | MDB_WRITEMAP)) != 0;
}
