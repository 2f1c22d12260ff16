/* src/core/feeds.c: home timelines, boosts, bookmarks, pins, idempotency
 * (see feeds.h). */
#include "feeds.h"

#include "oauth.h"
#include "posts.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"
#include "../base/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int home_add(struct kv_txn *txn, uint64_t account_id, uint64_t status_id, uint64_t post_id)
{
    struct key16 k = key_pair(account_id, status_id);
    struct key8 v = key_id(post_id);
    return kv_put(txn, T_HOME, KEY16(k), KEY8(v), 0);
}

static bool is_local_account(struct kv_txn *txn, uint64_t id)
{
    struct arena a = ARENA_INIT;
    struct account acct;
    bool local =
        account_get(txn, id, &a, &acct) == KITH_OK && !acct.uri.len && acct.state == ACCOUNT_ACTIVE;
    arena_release(&a);
    return local;
}

bool follows_accepted(struct kv_txn *txn, uint64_t follower, uint64_t target)
{
    struct arena a = ARENA_INIT;
    struct key16 k = key_pair(follower, target);
    struct follow f;
    bool yes = rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, &a, &f) == KITH_OK &&
               f.state == FOLLOW_ACCEPTED;
    arena_release(&a);
    return yes;
}

bool followed_locally(struct kv_txn *txn, uint64_t remote)
{
    struct kv_cursor *cur;
    struct str key;
    struct key8 k = key_id(remote);
    bool found = false;
    if (kv_cursor_open(txn, T_FOLLOWERS, &cur))
        return false;
    for (int rc = kv_cursor_seek(cur, KEY8(k), &key, NULL);
         !found && rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(cur, &key, NULL)) {
        uint64_t fid = be64_get((const unsigned char *)key.ptr + 8);
        found = is_local_account(txn, fid) && follows_accepted(txn, fid, remote);
    }
    kv_cursor_close(cur);
    return found;
}

/* status_id into the home of every local, active member of community. */
static int fanout_members(struct kv_txn *txn, uint64_t community_id, uint64_t skip,
                          uint64_t status_id, uint64_t post_id)
{
    uint64_t *ids;
    size_t n;
    int rc = prefix_ids(txn, T_MEMBERS, community_id, &ids, &n);
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct arena a = ARENA_INIT;
        struct membership m;
        if (ids[i] != skip && membership_get(txn, community_id, ids[i], &a, &m) == KITH_OK &&
            m.role >= MEMBER_MEMBER && !m.banned && is_local_account(txn, ids[i]))
            rc = home_add(txn, ids[i], status_id, post_id);
        arena_release(&a);
    }
    free(ids);
    return rc;
}

/* status_id into the home of every local follower of author (who also
 * follows also_follows, when not 0), except skip. */
static int fanout_followers(struct kv_txn *txn, uint64_t author, uint64_t also_follows,
                            uint64_t skip, uint64_t status_id, uint64_t post_id)
{
    uint64_t *ids;
    size_t n;
    int rc = prefix_ids(txn, T_FOLLOWERS, author, &ids, &n);
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        uint64_t f = ids[i];
        if (f == skip || !follows_accepted(txn, f, author) ||
            (also_follows && f != also_follows && !follows_accepted(txn, f, also_follows)) ||
            !is_local_account(txn, f))
            continue;
        rc = home_add(txn, f, status_id, post_id);
    }
    free(ids);
    return rc;
}

int conv_touch(struct kv_txn *txn, uint64_t account_id, uint64_t root, uint64_t status_id,
               bool unread)
{
    struct key16 k = key_pair(account_id, root);
    struct str v;
    int rc;
    if (kv_get(txn, T_CONVS, KEY16(k), &v) == KITH_OK && v.len == 9) {
        struct key16 old = key_pair(account_id, be64_get((const unsigned char *)v.ptr));
        if ((rc = kv_del(txn, T_CONV_ORDER, KEY16(old))) && rc != KITH_ENOTFOUND)
            return rc;
    }
    unsigned char val[9];
    be64_put(val, status_id);
    val[8] = unread;
    struct key16 ok = key_pair(account_id, status_id);
    struct key8 r = key_id(root);
    if ((rc = kv_put(txn, T_CONVS, KEY16(k), str_make(val, 9), 0)))
        return rc;
    return kv_put(txn, T_CONV_ORDER, KEY16(ok), KEY8(r), 0);
}

int conv_forget(struct kv_txn *txn, uint64_t account_id, uint64_t root)
{
    struct key16 k = key_pair(account_id, root);
    struct str v;
    int rc = kv_get(txn, T_CONVS, KEY16(k), &v);
    if (rc)
        return rc;
    if (v.len == 9) {
        struct key16 ok = key_pair(account_id, be64_get((const unsigned char *)v.ptr));
        rc = kv_del(txn, T_CONV_ORDER, KEY16(ok));
        if (rc && rc != KITH_ENOTFOUND)
            return rc;
    }
    return kv_del(txn, T_CONVS, KEY16(k));
}

int home_fanout(struct kv_txn *txn, struct core *core, const struct post *p)
{
    int rc = KITH_OK;
    if (p->deleted_at)
        return KITH_OK;
    bool author_local = is_local_account(txn, p->author_id);
    if (author_local && (rc = home_add(txn, p->author_id, p->id, p->id)))
        return rc;
    if (p->community_id) {
        if (p->parent_id || !p->boost_id)
            return KITH_OK; /* comments live in their thread */
        return fanout_members(txn, p->community_id, p->author_id, p->boost_id, p->id);
    }
    if (p->visibility != VIS_DIRECT) {
        uint64_t other =
            p->reply_to_author && p->reply_to_author != p->author_id ? p->reply_to_author : 0;
        if ((rc = fanout_followers(txn, p->author_id, other, p->author_id, p->id, p->id)))
            return rc;
    }
    uint64_t root = p->root_id ? p->root_id : p->id;
    if (p->visibility == VIS_DIRECT && author_local && !p->community_id &&
        (rc = conv_touch(txn, p->author_id, root, p->id, false)))
        return rc;
    if (p->visibility < VIS_FOLLOWERS || !p->recipients.len)
        return KITH_OK;
    /* Limited and direct notes: the local people named. */
    const char *s = p->recipients.ptr, *end = s + p->recipients.len;
    size_t base = strlen(core->cfg->public_url);
    while (s < end && rc == KITH_OK) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str uri = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
        if (uri.len <= base + 3 || memcmp(uri.ptr, core->cfg->public_url, base) != 0 ||
            memcmp(uri.ptr + base, "/u/", 3) != 0)
            continue;
        struct arena a = ARENA_INIT;
        struct account acct;
        if (account_get_local(txn, str_make(uri.ptr + base + 3, uri.len - base - 3), &a, &acct) ==
                KITH_OK &&
            acct.id != p->author_id) {
            rc = home_add(txn, acct.id, p->id, p->id);
            if (rc == KITH_OK && p->visibility == VIS_DIRECT)
                rc = conv_touch(txn, acct.id, root, p->id, true);
        }
        arena_release(&a);
    }
    return rc;
}

int home_merge(struct kv_txn *txn, uint64_t account_id, uint64_t source, size_t max)
{
    bool group = SENDER_IS_COMMUNITY(source);
    uint64_t id = group ? source & ~(1ull << 63) : source;
    struct kv_cursor *c;
    struct str key;
    struct key16 end = key_pair(id, UINT64_MAX);
    size_t added = 0;
    int rc = kv_cursor_open(txn, group ? T_COMMUNITY_POSTS : T_AUTHOR_POSTS, &c);
    if (rc)
        return rc;
    uint64_t *ids = xcalloc(max ? max : 1, sizeof(*ids));
    size_t n = 0;
    rc = kv_cursor_seek(c, KEY16(end), &key, NULL);
    rc = rc == KITH_OK ? kv_cursor_prev(c, &key, NULL) : kv_cursor_last(c, &key, NULL);
    for (size_t seen = 0; rc == KITH_OK && n < max && seen < 20 * max;
         rc = kv_cursor_prev(c, &key, NULL), seen++) {
        if (key.len != 16 || be64_get((const unsigned char *)key.ptr) != id)
            break;
        ids[n++] = be64_get((const unsigned char *)key.ptr + 8);
    }
    kv_cursor_close(c);
    rc = KITH_OK;
    for (size_t i = 0; i < n && rc == KITH_OK && added < max; i++) {
        struct arena a = ARENA_INIT;
        struct post p;
        if (post_get(txn, ids[i], &a, &p) == KITH_OK && !p.deleted_at &&
            (group ? p.boost_id != 0
                   : !p.community_id && p.visibility <= VIS_FOLLOWERS &&
                         (!p.reply_to_author || p.reply_to_author == p.author_id))) {
            rc = home_add(txn, account_id, group ? p.boost_id : p.id, p.id);
            added++;
        }
        arena_release(&a);
    }
    free(ids);
    return rc;
}

struct unmerge {
    struct kv_txn *txn;
    uint64_t source;
    uint64_t *drop;
    size_t n, cap, seen;
};

static int unmerge_one(uint64_t status_id, uint64_t post_id, void *arg)
{
    struct unmerge *u = arg;
    struct arena a = ARENA_INIT;
    struct post p;
    struct reblog r;
    bool group = SENDER_IS_COMMUNITY(u->source);
    uint64_t id = u->source & ~(1ull << 63);
    bool drop = false;
    if (status_id != post_id) /* a boost: whose? */
        drop = reblog_get(u->txn, status_id, &a, &r) == KITH_OK &&
               (group ? r.community_id == id : !r.community_id && r.account_id == id);
    else if (post_get(u->txn, post_id, &a, &p) == KITH_OK)
        drop = group ? p.community_id == id : p.author_id == id;
    arena_release(&a);
    if (drop) {
        if (u->n == u->cap) {
            u->cap = u->cap ? u->cap * 2 : 64;
            u->drop = xrealloc(u->drop, u->cap * sizeof(*u->drop));
        }
        u->drop[u->n++] = status_id;
    }
    return ++u->seen >= HOME_UNMERGE_SCAN;
}

int home_unmerge(struct kv_txn *txn, uint64_t account_id, uint64_t source)
{
    struct unmerge u = {.txn = txn, .source = source};
    int rc = home_each(txn, account_id, 0, 0, false, unmerge_one, &u);
    for (size_t i = 0; i < u.n && rc == KITH_OK; i++) {
        struct key16 k = key_pair(account_id, u.drop[i]);
        rc = kv_del(txn, T_HOME, KEY16(k));
        if (rc == KITH_ENOTFOUND)
            rc = KITH_OK;
    }
    free(u.drop);
    return rc;
}

int index_each(struct kv_txn *txn, unsigned table, struct str prefix, uint64_t max_id,
               uint64_t min_id, bool ascending, index_fn *fn, void *arg)
{
    struct kv_cursor *c;
    struct str key, val;
    unsigned char k[256 + 8];
    if (prefix.len > 256)
        return KITH_EINVAL;
    if (prefix.len)
        memcpy(k, prefix.ptr, prefix.len);
    int rc = kv_cursor_open(txn, table, &c);
    if (rc)
        return rc;
    if (ascending) {
        be64_put(k + prefix.len, min_id == UINT64_MAX ? min_id : min_id + 1);
        rc = kv_cursor_seek(c, str_make(k, prefix.len + 8), &key, &val);
    } else {
        be64_put(k + prefix.len, max_id ? max_id : UINT64_MAX);
        rc = kv_cursor_seek(c, str_make(k, prefix.len + 8), &key, &val);
        rc = rc == KITH_OK ? kv_cursor_prev(c, &key, &val) : kv_cursor_last(c, &key, &val);
    }
    for (; rc == KITH_OK;
         rc = ascending ? kv_cursor_next(c, &key, &val) : kv_cursor_prev(c, &key, &val)) {
        if (key.len != prefix.len + 8 ||
            (prefix.len && memcmp(key.ptr, prefix.ptr, prefix.len) != 0))
            break;
        uint64_t id = be64_get((const unsigned char *)key.ptr + prefix.len);
        if ((ascending && max_id && id >= max_id) || (!ascending && id <= min_id))
            break;
        if (fn(id, val, arg))
            break;
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND || rc == KITH_OK ? KITH_OK : rc;
}

struct home_walk {
    home_fn *fn;
    void *arg;
};

static int home_step(uint64_t id, struct str val, void *arg)
{
    struct home_walk *w = arg;
    if (val.len != 8)
        return 0;
    return w->fn(id, be64_get((const unsigned char *)val.ptr), w->arg);
}

int home_each(struct kv_txn *txn, uint64_t account_id, uint64_t max_id, uint64_t min_id,
              bool ascending, home_fn *fn, void *arg)
{
    struct key8 k = key_id(account_id);
    struct home_walk w = {fn, arg};
    return index_each(txn, T_HOME, KEY8(k), max_id, min_id, ascending, home_step, &w);
}

/* The tags key prefix: the tag lowercased (ASCII letters), then a NUL. */
static size_t tag_prefix(struct str tag, unsigned char *out)
{
    size_t n = tag.len > TAG_MAX_LEN ? TAG_MAX_LEN : tag.len;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)tolower((unsigned char)tag.ptr[i]);
    out[n] = 0;
    return n + 1;
}

static int tag_fanout(struct kv_txn *txn, struct str prefix, const struct post *p);

int public_index(struct kv_txn *txn, const struct post *p)
{
    bool self_reply = !p->parent_id || p->reply_to_author == p->author_id;
    if (p->visibility != VIS_PUBLIC || p->deleted_at)
        return KITH_OK;
    struct key8 k = key_id(p->id);
    unsigned char origin = post_is_local(p) ? 0 : 1;
    int rc = KITH_OK;
    if (self_reply) {
        rc = kv_put(txn, T_PUBLIC, KEY8(k), str_make(&origin, 1), 0);
        if (rc == KITH_OK && origin == 0)
            rc = kv_put(txn, T_PUBLIC_LOCAL, KEY8(k), STR_LIT(""), 0);
    }
    struct str tags[16];
    size_t n = post_hashtags(p->content, tags, 16);
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        unsigned char key[TAG_MAX_LEN + 1 + 8];
        size_t pl = tag_prefix(tags[i], key);
        be64_put(key + pl, p->id);
        rc = kv_put(txn, T_TAGS, str_make(key, pl + 8), str_make(&origin, 1), 0);
        if (rc == KITH_OK) /* the people who follow the tag get it at home */
            rc = tag_fanout(txn, str_make(key, pl), p);
    }
    return rc;
}

int tag_names(struct kv_txn *txn, struct str prefix, size_t skip, tag_name_fn *fn, void *arg)
{
    unsigned char key[TAG_MAX_LEN + 2];
    size_t n = tag_prefix(prefix, key) - 1; /* without its 0 */
    struct kv_cursor *c;
    struct str k, v;
    int rc = kv_cursor_open(txn, T_TAGS, &c);
    if (rc)
        return rc;
    rc = kv_cursor_seek(c, str_make(key, n), &k, &v);
    while (rc == KITH_OK && k.len > n && memcmp(k.ptr, key, n) == 0) {
        const char *end = memchr(k.ptr, 0, k.len);
        if (!end || (size_t)(end - k.ptr) > TAG_MAX_LEN)
            break;
        size_t len = (size_t)(end - k.ptr);
        if (skip)
            skip--;
        else if (fn(str_make(k.ptr, len), arg))
            break;
        /* Past every post of this tag: name, then a byte above its 0. */
        memcpy(key, k.ptr, len);
        key[len] = 1;
        rc = kv_cursor_seek(c, str_make(key, len + 1), &k, &v);
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

/* p into the home of every local person following the tag (prefix as in
 * table tag_followers). */
static int tag_fanout(struct kv_txn *txn, struct str prefix, const struct post *p)
{
    struct kv_cursor *c;
    struct str key;
    uint64_t ids[512];
    size_t n = 0;
    int rc = kv_cursor_open(txn, T_TAG_FOLLOWERS, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_seek(c, prefix, &key, NULL);
         rc == KITH_OK && n < 512 && key.len == prefix.len + 8 &&
         memcmp(key.ptr, prefix.ptr, prefix.len) == 0;
         rc = kv_cursor_next(c, &key, NULL))
        ids[n++] = be64_get((const unsigned char *)key.ptr + prefix.len);
    kv_cursor_close(c);
    rc = KITH_OK;
    for (size_t i = 0; i < n && rc == KITH_OK; i++)
        if (ids[i] != p->author_id)
            rc = home_add(txn, ids[i], p->id, p->id);
    return rc;
}

bool tag_followed(struct kv_txn *txn, uint64_t account_id, struct str tag)
{
    unsigned char k[8 + TAG_MAX_LEN + 1];
    struct str v;
    be64_put(k, account_id);
    size_t pl = tag_prefix(tag, k + 8);
    return kv_get(txn, T_FOLLOWED_TAGS, str_make(k, 8 + pl - 1), &v) == KITH_OK;
}

int tag_follow(struct kv_txn *txn, uint64_t account_id, struct str tag, bool on)
{
    unsigned char k[8 + TAG_MAX_LEN + 1], r[TAG_MAX_LEN + 1 + 8];
    be64_put(k, account_id);
    size_t pl = tag_prefix(tag, k + 8);
    memcpy(r, k + 8, pl);
    be64_put(r + pl, account_id);
    struct str fk = str_make(k, 8 + pl - 1), rk = str_make(r, pl + 8);
    int rc;
    if (on) {
        unsigned char t[8];
        be64_put(t, (uint64_t)wall_seconds());
        rc = kv_put(txn, T_FOLLOWED_TAGS, fk, str_make(t, 8), 0);
        return rc ? rc : kv_put(txn, T_TAG_FOLLOWERS, rk, STR_LIT(""), 0);
    }
    rc = kv_del(txn, T_FOLLOWED_TAGS, fk);
    if (rc == KITH_OK || rc == KITH_ENOTFOUND)
        rc = kv_del(txn, T_TAG_FOLLOWERS, rk);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

int tag_each(struct kv_txn *txn, struct str tag, uint64_t max_id, uint64_t min_id, bool ascending,
             index_fn *fn, void *arg)
{
    unsigned char key[TAG_MAX_LEN + 1];
    size_t pl = tag_prefix(tag, key);
    return index_each(txn, T_TAGS, str_make(key, pl), max_id, min_id, ascending, fn, arg);
}

/* ---- boosts ---- */

int reblog_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct reblog *out)
{
    struct key8 k = key_id(id);
    return rec_get(txn, T_REBLOGS, KEY8(k), &reblog_desc, a, out);
}

int reblog_find(struct kv_txn *txn, uint64_t post_id, uint64_t booster, struct arena *a,
                struct reblog *out)
{
    struct key16 k = key_pair(post_id, booster);
    struct str v;
    int rc = kv_get(txn, T_POST_REBLOGS, KEY16(k), &v);
    if (rc)
        return rc;
    if (v.len != 8)
        return KITH_ECORRUPT;
    return reblog_get(txn, be64_get((const unsigned char *)v.ptr), a, out);
}

int reblog_add(struct kv_txn *txn, struct core *core, const struct reblog *r)
{
    (void)core;
    struct key8 k = key_id(r->id);
    struct key16 ik = key_pair(r->post_id, booster_key(r));
    struct key16 ak = key_pair(booster_key(r), r->id);
    struct key8 pv = key_id(r->post_id);
    int rc = rec_put(txn, T_REBLOGS, KEY8(k), &reblog_desc, r, KV_NOOVERWRITE);
    if (rc == KITH_OK)
        rc = kv_put(txn, T_POST_REBLOGS, KEY16(ik), KEY8(k), 0);
    if (rc == KITH_OK)
        rc = kv_put(txn, T_ACTOR_REBLOGS, KEY16(ak), KEY8(pv), 0);
    if (rc || r->community_id)
        return rc; /* a community's boost goes out with its post (home_fanout) */
    struct arena a = ARENA_INIT;
    struct post p;
    uint64_t author = post_get(txn, r->post_id, &a, &p) == KITH_OK ? p.author_id : 0;
    arena_release(&a);
    if (is_local_account(txn, r->account_id) &&
        (rc = home_add(txn, r->account_id, r->id, r->post_id)))
        return rc;
    return fanout_followers(txn, r->account_id, 0, author, r->id, r->post_id);
}

int reblog_remove(struct kv_txn *txn, const struct reblog *r)
{
    struct key8 k = key_id(r->id);
    struct key16 ik = key_pair(r->post_id, booster_key(r));
    struct key16 ak = key_pair(booster_key(r), r->id);
    int rc = kv_del(txn, T_REBLOGS, KEY8(k));
    if (rc == KITH_OK || rc == KITH_ENOTFOUND)
        rc = kv_del(txn, T_POST_REBLOGS, KEY16(ik));
    if (rc == KITH_OK || rc == KITH_ENOTFOUND)
        rc = kv_del(txn, T_ACTOR_REBLOGS, KEY16(ak));
    if (rc == KITH_OK || rc == KITH_ENOTFOUND)
        rc = status_change_log(txn, r->id, booster_key(r), VIS_PUBLIC, CHANGE_DELETE);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

uint64_t reblog_count(struct kv_txn *txn, uint64_t post_id)
{
    struct kv_cursor *c;
    struct str key;
    struct key8 k = key_id(post_id);
    uint64_t n = 0;
    if (kv_cursor_open(txn, T_POST_REBLOGS, &c))
        return 0;
    for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
         rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, NULL))
        if (!SENDER_IS_COMMUNITY(be64_get((const unsigned char *)key.ptr + 8)))
            n++;
    kv_cursor_close(c);
    return n;
}

/* ---- bookmarks and pins ---- */

bool bookmark_has(struct kv_txn *txn, uint64_t account_id, uint64_t post_id)
{
    struct key16 k = key_pair(account_id, post_id);
    struct str v;
    return kv_get(txn, T_BOOKMARKS, KEY16(k), &v) == KITH_OK;
}

int bookmark_set(struct kv_txn *txn, struct core *core, uint64_t account_id, uint64_t post_id,
                 bool on)
{
    struct key16 k = key_pair(account_id, post_id);
    struct str v;
    int rc = kv_get(txn, T_BOOKMARKS, KEY16(k), &v);
    if (rc != KITH_OK && rc != KITH_ENOTFOUND)
        return rc;
    if (on == (rc == KITH_OK))
        return KITH_OK;
    if (on) {
        uint64_t bid = idgen_next(store_ids(core->st));
        struct key8 bv = key_id(bid), pv = key_id(post_id);
        struct key16 lk = key_pair(account_id, bid);
        rc = kv_put(txn, T_BOOKMARKS, KEY16(k), KEY8(bv), 0);
        return rc ? rc : kv_put(txn, T_BOOKMARK_LIST, KEY16(lk), KEY8(pv), 0);
    }
    if (v.len != 8)
        return KITH_ECORRUPT;
    struct key16 lk = key_pair(account_id, be64_get((const unsigned char *)v.ptr));
    rc = kv_del(txn, T_BOOKMARK_LIST, KEY16(lk));
    if (rc == KITH_OK || rc == KITH_ENOTFOUND)
        rc = kv_del(txn, T_BOOKMARKS, KEY16(k));
    return rc;
}

bool pin_has(struct kv_txn *txn, uint64_t account_id, uint64_t post_id)
{
    struct key16 k = key_pair(account_id, post_id);
    struct str v;
    return kv_get(txn, T_PINS, KEY16(k), &v) == KITH_OK;
}

int pin_set(struct kv_txn *txn, uint64_t account_id, uint64_t post_id, bool on)
{
    struct key16 k = key_pair(account_id, post_id);
    if (!on) {
        int rc = kv_del(txn, T_PINS, KEY16(k));
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    }
    struct key8 t = key_id((uint64_t)wall_seconds());
    return kv_put(txn, T_PINS, KEY16(k), KEY8(t), 0);
}

uint64_t pin_count(struct kv_txn *txn, uint64_t account_id)
{
    return prefix_count(txn, T_PINS, account_id);
}

bool time_index_due(struct kv_txn *txn, unsigned table, int64_t now)
{
    struct kv_cursor *c;
    struct str key;
    bool due = false;
    if (kv_cursor_open(txn, table, &c))
        return false;
    if (kv_cursor_first(c, &key, NULL) == KITH_OK && key.len == 16)
        due = (int64_t)be64_get((const unsigned char *)key.ptr) <= now;
    kv_cursor_close(c);
    return due;
}

/* ---- muted conversations ---- */

bool thread_muted(struct kv_txn *txn, uint64_t account_id, const struct post *p)
{
    struct key16 k = key_pair(account_id, thread_root(p));
    struct str v;
    return kv_get(txn, T_THREAD_MUTES, KEY16(k), &v) == KITH_OK;
}

int thread_mute_set(struct kv_txn *txn, uint64_t account_id, uint64_t root, bool on)
{
    struct key16 k = key_pair(account_id, root);
    if (on)
        return kv_put(txn, T_THREAD_MUTES, KEY16(k), STR_LIT(""), 0);
    int rc = kv_del(txn, T_THREAD_MUTES, KEY16(k));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

/* ---- blocks and mutes ---- */

bool block_has(struct kv_txn *txn, uint64_t account_id, uint64_t target)
{
    struct key16 k = key_pair(account_id, target);
    struct str v;
    return kv_get(txn, T_BLOCKS, KEY16(k), &v) == KITH_OK;
}

int block_set(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool on)
{
    struct key16 k = key_pair(account_id, target);
    if (on) {
        struct key8 t = key_id((uint64_t)wall_seconds());
        return kv_put(txn, T_BLOCKS, KEY16(k), KEY8(t), 0);
    }
    int rc = kv_del(txn, T_BLOCKS, KEY16(k));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

bool mute_has(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool *notifications)
{
    struct key16 k = key_pair(account_id, target);
    struct str v;
    if (kv_get(txn, T_MUTES, KEY16(k), &v) != KITH_OK || v.len != 9)
        return false;
    int64_t expires = (int64_t)be64_get((const unsigned char *)v.ptr + 1);
    if (expires && expires <= wall_seconds())
        return false;
    if (notifications)
        *notifications = v.ptr[0] != 0;
    return true;
}

int mute_set(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool on, bool notifications,
             int64_t expires_at)
{
    struct key16 k = key_pair(account_id, target);
    if (!on) {
        int rc = kv_del(txn, T_MUTES, KEY16(k));
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    }
    unsigned char v[9];
    v[0] = notifications ? 1 : 0;
    be64_put(v + 1, (uint64_t)expires_at);
    return kv_put(txn, T_MUTES, KEY16(k), str_make(v, 9), 0);
}

/* ---- idempotency ---- */

static void idem_key(uint64_t account_id, struct str key, unsigned char out[40])
{
    char hex[65];
    oauth_hash_hex(key, hex);
    be64_put(out, account_id);
    for (int i = 0; i < 32; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo =
            (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        out[8 + i] = (unsigned char)(hi << 4 | lo);
    }
}

int idempotency_get(struct kv_txn *txn, uint64_t account_id, struct str key, uint64_t *post_id)
{
    unsigned char k[40];
    struct str v;
    idem_key(account_id, key, k);
    int rc = kv_get(txn, T_IDEMPOTENCY, str_make(k, 40), &v);
    if (rc)
        return rc;
    if (v.len != 16)
        return KITH_ECORRUPT;
    int64_t at = (int64_t)be64_get((const unsigned char *)v.ptr + 8);
    if (wall_seconds() - at >= IDEMPOTENCY_SECS)
        return KITH_ENOTFOUND;
    *post_id = be64_get((const unsigned char *)v.ptr);
    return KITH_OK;
}

int idempotency_put(struct kv_txn *txn, uint64_t account_id, struct str key, uint64_t post_id)
{
    unsigned char k[40], v[16];
    idem_key(account_id, key, k);
    be64_put(v, post_id);
    be64_put(v + 8, (uint64_t)wall_seconds());
    return kv_put(txn, T_IDEMPOTENCY, str_make(k, 40), str_make(v, 16), 0);
}

/* ---- status changes, for the streaming API ---- */

#define CHANGE_VAL 26

uint64_t status_change_last(struct kv_txn *txn)
{
    struct kv_cursor *c;
    struct str k, v;
    uint64_t seq = 0;
    if (kv_cursor_open(txn, T_STATUS_CHANGES, &c))
        return 0;
    if (kv_cursor_last(c, &k, &v) == KITH_OK && k.len == 8)
        seq = be64_get((const unsigned char *)k.ptr);
    kv_cursor_close(c);
    return seq;
}

int status_change_log(struct kv_txn *txn, uint64_t status_id, uint64_t author_id,
                      uint8_t visibility, uint8_t kind)
{
    int64_t now = wall_seconds();
    struct key8 k = key_id(status_change_last(txn) + 1);
    unsigned char v[CHANGE_VAL];
    be64_put(v, status_id);
    be64_put(v + 8, author_id);
    v[16] = visibility;
    be64_put(v + 17, (uint64_t)now);
    v[25] = kind;
    int rc = kv_put(txn, T_STATUS_CHANGES, KEY8(k), str_make(v, sizeof(v)), 0);
    /* The oldest go, a few at a time: streams only look back seconds. */
    struct kv_cursor *c;
    struct str key, val;
    if (rc || kv_cursor_open(txn, T_STATUS_CHANGES, &c))
        return rc;
    unsigned char old[8][8];
    size_t n = 0;
    for (int r = kv_cursor_first(c, &key, &val); r == KITH_OK && n < 8;
         r = kv_cursor_next(c, &key, &val)) {
        if (key.len != 8 || val.len != CHANGE_VAL ||
            (int64_t)be64_get((const unsigned char *)val.ptr + 17) >= now - CHANGES_KEEP_SECS)
            break;
        memcpy(old[n++], key.ptr, 8);
    }
    kv_cursor_close(c);
    for (size_t i = 0; i < n && rc == KITH_OK; i++)
        rc = kv_del(txn, T_STATUS_CHANGES, str_make(old[i], 8));
    return rc;
}

int status_change_each(struct kv_txn *txn, uint64_t after, status_change_fn *fn, void *arg)
{
    struct kv_cursor *c;
    struct str k, v;
    struct key8 from = key_id(after + 1);
    int rc = kv_cursor_open(txn, T_STATUS_CHANGES, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_seek(c, KEY8(from), &k, &v); rc == KITH_OK;
         rc = kv_cursor_next(c, &k, &v)) {
        const unsigned char *p = (const unsigned char *)v.ptr;
        if (k.len != 8 || v.len != CHANGE_VAL)
            continue;
        if (fn(be64_get((const unsigned char *)k.ptr), be64_get(p), be64_get(p + 8), p[16], p[25],
               arg))
            break;
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}
