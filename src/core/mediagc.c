/* src/core/mediagc.c: see mediagc.h. */
#include "mediagc.h"

#include "feeds.h"
#include "posts.h"

#include "../base/err.h"
#include "../base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* An upload nothing needs: never attached and a day old, attached to a
 * status gone, or to one deleted a day ago. */
static bool unneeded(struct kv_txn *txn, const struct media_rec *m, int64_t now, int64_t keep,
                     struct arena *a)
{
    if (!m->post_id)
        return m->created_at + keep <= now;
    struct post p;
    if (post_get(txn, m->post_id, a, &p) != KITH_OK)
        return true;
    return p.deleted_at && p.deleted_at + keep <= now;
}

int media_due_add(struct kv_txn *txn, uint64_t id, int64_t since)
{
    struct key16 k = key_pair((uint64_t)since, id);
    return kv_put(txn, T_MEDIA_DUE, KEY16(k), STR_LIT(""), 0);
}

bool media_sweep_due(struct kv_txn *txn, int64_t now, int64_t keep)
{
    return time_index_due(txn, T_MEDIA_DUE, now - keep);
}

static bool named(const struct media_gone *g, size_t from, struct str name)
{
    for (size_t i = from; i < g->n; i++)
        if (str_eq_cstr(name, g->names[i]))
            return true;
    return false;
}

static void add_name(struct media_gone *g, struct str name)
{
    if (name.len && name.len < sizeof(g->names[0]) && !named(g, 0, name) &&
        g->n < sizeof(g->names) / sizeof(g->names[0])) {
        memcpy(g->names[g->n], name.ptr, name.len);
        g->names[g->n++][name.len] = 0;
    }
}

/* Drops from g the names in use: by an upload left, or a local profile. */
static void keep_used(struct kv_txn *txn, struct media_gone *g, struct arena *a)
{
    struct kv_cursor *c;
    struct str key, val;
    if (kv_cursor_open(txn, T_MEDIA, &c) == KITH_OK) {
        for (int rc = kv_cursor_first(c, &key, &val); rc == KITH_OK && g->n;
             rc = kv_cursor_next(c, &key, &val)) {
            struct media_rec m;
            if (record_decode(&media_desc, val, a, &m) != KITH_OK)
                continue;
            for (size_t i = 0; i < g->n; i++)
                if (str_eq_cstr(m.file, g->names[i]) || str_eq_cstr(m.preview, g->names[i])) {
                    memmove(g->names[i], g->names[i + 1], (g->n - i - 1) * sizeof(g->names[0]));
                    g->n--;
                    i--;
                }
        }
        kv_cursor_close(c);
    }
    if (kv_cursor_open(txn, T_NAMES, &c) != KITH_OK)
        return;
    for (int rc = kv_cursor_first(c, &key, &val); rc == KITH_OK && g->n;
         rc = kv_cursor_next(c, &key, &val)) {
        struct account acct;
        if (val.len != 9 || (uint8_t)val.ptr[0] != NAME_ACCOUNT ||
            account_get(txn, be64_get((const unsigned char *)val.ptr + 1), a, &acct) != KITH_OK)
            continue;
        for (size_t i = 0; i < g->n; i++) {
            size_t l = strlen(g->names[i]);
            struct str urls[2] = {acct.avatar, acct.header};
            for (int u = 0; u < 2; u++)
                if (urls[u].len > l && urls[u].ptr[urls[u].len - l - 1] == '/' &&
                    memcmp(urls[u].ptr + urls[u].len - l, g->names[i], l) == 0) {
                    memmove(g->names[i], g->names[i + 1], (g->n - i - 1) * sizeof(g->names[0]));
                    g->n--;
                    i--;
                    break;
                }
        }
    }
    kv_cursor_close(c);
}

int media_sweep(struct kv_txn *txn, int64_t now, int64_t keep, struct media_gone *gone)
{
    struct kv_cursor *c;
    struct str key;
    unsigned char due[MEDIA_SWEEP_MAX][16];
    size_t n = 0;
    struct arena a = ARENA_INIT;
    gone->n = 0;
    int rc = kv_cursor_open(txn, T_MEDIA_DUE, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_first(c, &key, NULL); rc == KITH_OK && n < MEDIA_SWEEP_MAX;
         rc = kv_cursor_next(c, &key, NULL)) {
        if (key.len != 16 || (int64_t)be64_get((const unsigned char *)key.ptr) + keep > now)
            break;
        memcpy(due[n++], key.ptr, 16);
    }
    kv_cursor_close(c);
    rc = KITH_OK;
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct media_rec m;
        struct key8 k = key_id(be64_get(due[i] + 8));
        rc = kv_del(txn, T_MEDIA_DUE, str_make(due[i], 16));
        if (rc == KITH_OK && rec_get(txn, T_MEDIA, KEY8(k), &media_desc, &a, &m) == KITH_OK &&
            unneeded(txn, &m, now, keep, &a)) {
            rc = kv_del(txn, T_MEDIA, KEY8(k));
            add_name(gone, m.file);
            add_name(gone, m.preview);
        }
    }
    if (rc == KITH_OK)
        keep_used(txn, gone, &a);
    else
        gone->n = 0;
    arena_release(&a);
    return rc;
}

void media_unlink(const char *media_dir, const struct media_gone *gone)
{
    for (size_t i = 0; i < gone->n; i++) {
        char path[4096];
        if (strchr(gone->names[i], '/') || gone->names[i][0] == '.')
            continue; /* only plain names under the directory */
        snprintf(path, sizeof(path), "%s/%s", media_dir, gone->names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("media: cannot remove %s: %s", path, strerror(errno));
    }
}
