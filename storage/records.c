/* storage/records.c: field tables of every record kind, and the typed
 * operations on accounts, communities and memberships. */
#include "records.h"

#include "../src/base/err.h"
#include "../src/base/mem.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const store_table_names[T_COUNT] = {
    [T_META] = "meta",
    [T_ACCOUNTS] = "accounts",
    [T_NAMES] = "names",
    [T_ACTOR_URIS] = "actor_uris",
    [T_COMMUNITIES] = "communities",
    [T_MEMBERS] = "members",
    [T_MEMBER_OF] = "member_of",
    [T_POSTS] = "posts",
    [T_COMMUNITY_POSTS] = "community_posts",
    [T_POST_CHILDREN] = "post_children",
    [T_OBJECT_URIS] = "object_uris",
    [T_VOTES] = "votes",
    [T_FOLLOWS] = "follows",
    [T_FOLLOWERS] = "followers",
    [T_NOTIFICATIONS] = "notifications",
    [T_OAUTH_APPS] = "oauth_apps",
    [T_OAUTH_CLIENT_IDS] = "oauth_client_ids",
    [T_OAUTH_TOKENS] = "oauth_tokens",
    [T_QUEUES] = "queues",
    [T_ACTIVITIES] = "activities",
    [T_OUTGOING] = "outgoing",
    [T_DELIVERIES] = "deliveries",
    [T_HOSTS] = "hosts",
    [T_AUTHOR_POSTS] = "author_posts",
    [T_OAUTH_GRANTS] = "oauth_grants",
    [T_REMOTE_ACCTS] = "remote_accts",
    [T_REBLOGS] = "reblogs",
    [T_POST_REBLOGS] = "post_reblogs",
    [T_HOME] = "home",
    [T_BOOKMARKS] = "bookmarks",
    [T_BOOKMARK_LIST] = "bookmark_list",
    [T_PINS] = "pins",
    [T_IDEMPOTENCY] = "idempotency",
    [T_POST_EDITS] = "post_edits",
    [T_ACTOR_REBLOGS] = "actor_reblogs",
    [T_PUBLIC] = "public",
    [T_PUBLIC_LOCAL] = "public_local",
    [T_TAGS] = "tags",
    [T_MARKERS] = "markers",
    [T_FAVOURITES] = "favourites",
    [T_LISTS] = "lists",
    [T_ACCOUNT_LISTS] = "account_lists",
    [T_LIST_MEMBERS] = "list_members",
    [T_FOLLOWED_TAGS] = "followed_tags",
    [T_TAG_FOLLOWERS] = "tag_followers",
    [T_BLOCKS] = "blocks",
    [T_MUTES] = "mutes",
    [T_MEDIA] = "media",
    [T_POLL_VOTES] = "poll_votes",
    [T_POLLS_OPEN] = "polls_open",
    [T_CONVS] = "convs",
    [T_CONV_ORDER] = "conv_order",
    [T_FILTERS] = "filters",
    [T_PUSH_SUBS] = "push_subs",
    [T_PUSH_BY_ACCOUNT] = "push_by_account",
    [T_STATUS_CHANGES] = "status_changes",
    [T_SCHEDULED] = "scheduled",
    [T_SCHEDULED_DUE] = "scheduled_due",
    [T_THREAD_MUTES] = "thread_mutes",
    [T_MEDIA_DUE] = "media_due",
};

#define F(tag, type, st, m)         \
 {                                  \
  tag, type, offsetof(struct st, m) \
 }
#define DESC(st, k, v, tbl)                                             \
 {                                                                      \
#  st, k, v, sizeof(struct st), tbl, sizeof(tbl) / sizeof(tbl[0]), NULL \
 }

/* Tags are permanent: append new fields with new tags, never renumber. */
static const struct field_desc account_fields[] = {
    F(1, FT_U64, account, id),
    F(2, FT_STR, account, name),
    F(3, FT_STR, account, domain),
    F(4, FT_STR, account, display_name),
    F(5, FT_STR, account, note),
    F(6, FT_STR, account, uri),
    F(7, FT_STR, account, inbox),
    F(8, FT_STR, account, shared_inbox),
    F(9, FT_STR, account, public_key),
    F(10, FT_STR, account, private_key),
    F(11, FT_STR, account, password_hash),
    F(12, FT_STR, account, email),
    F(13, FT_STR, account, reason),
    F(14, FT_U8, account, role),
    F(15, FT_U8, account, state),
    F(16, FT_BOOL, account, bot),
    F(17, FT_BOOL, account, locked),
    F(18, FT_I64, account, created_at),
    F(19, FT_I64, account, updated_at),
    F(20, FT_I64, account, fetched_at),
    F(21, FT_STR, account, actor_json),
    F(22, FT_STR, account, key_id),
    F(23, FT_U8, account, default_visibility),
    F(24, FT_BOOL, account, default_sensitive),
    F(25, FT_STR, account, default_language),
    F(26, FT_STR, account, note_source),
    F(27, FT_STR, account, fields_json),
    F(28, FT_STR, account, avatar),
    F(29, FT_STR, account, header),
};

static const struct field_desc community_fields[] = {
    F(1, FT_U64, community, id),
    F(2, FT_STR, community, name),
    F(3, FT_STR, community, domain),
    F(4, FT_STR, community, title),
    F(5, FT_STR, community, description),
    F(6, FT_STR, community, rules),
    F(7, FT_STR, community, uri),
    F(8, FT_STR, community, inbox),
    F(9, FT_STR, community, shared_inbox),
    F(10, FT_STR, community, followers_url),
    F(11, FT_STR, community, public_key),
    F(12, FT_STR, community, private_key),
    F(13, FT_U64, community, owner_id),
    F(14, FT_U8, community, join_mode),
    F(15, FT_BOOL, community, posting_restricted),
    F(16, FT_BOOL, community, nsfw),
    F(17, FT_I64, community, created_at),
    F(18, FT_I64, community, updated_at),
    F(19, FT_I64, community, fetched_at),
    F(20, FT_STR, community, actor_json),
};

static const struct field_desc membership_fields[] = {
    F(1, FT_U64, membership, community_id),
    F(2, FT_U64, membership, account_id),
    F(3, FT_U8, membership, role),
    F(4, FT_BOOL, membership, banned),
    F(5, FT_I64, membership, created_at),
    F(6, FT_I64, membership, updated_at),
    F(7, FT_I64, membership, ban_expires_at),
    F(8, FT_STR, membership, follow_uri),
};

static const struct field_desc post_fields[] = {
    F(1, FT_U64, post, id),
    F(2, FT_U64, post, community_id),
    F(3, FT_U64, post, author_id),
    F(4, FT_U64, post, parent_id),
    F(5, FT_U64, post, root_id),
    F(6, FT_STR, post, title),
    F(7, FT_STR, post, content),
    F(8, FT_STR, post, source),
    F(9, FT_STR, post, source_type),
    F(10, FT_STR, post, url),
    F(11, FT_STR, post, uri),
    F(12, FT_STR, post, language),
    F(13, FT_U8, post, visibility),
    F(14, FT_BOOL, post, sensitive),
    F(15, FT_BOOL, post, locked),
    F(16, FT_BOOL, post, pinned),
    F(17, FT_I64, post, score),
    F(18, FT_U32, post, upvotes),
    F(19, FT_U32, post, downvotes),
    F(20, FT_U32, post, replies),
    F(21, FT_I64, post, created_at),
    F(22, FT_I64, post, updated_at),
    F(23, FT_I64, post, deleted_at),
    F(24, FT_U64, post, reply_to_author),
    F(25, FT_STR, post, attachments),
    F(26, FT_STR, post, recipients),
    F(27, FT_STR, post, reply_uri),
    F(28, FT_U32, post, nattachments),
    F(29, FT_STR, post, summary),
    F(30, FT_U64, post, boost_id),
    F(31, FT_STR, post, media_ids),
    F(32, FT_STR, post, poll_titles),
    F(33, FT_STR, post, poll_counts),
    F(34, FT_BOOL, post, poll_multiple),
    F(35, FT_I64, post, poll_expires_at),
    F(36, FT_U32, post, poll_voters),
    F(37, FT_BOOL, post, poll_hide_totals),
};

static const struct field_desc reblog_fields[] = {
    F(1, FT_U64, reblog, id),         F(2, FT_U64, reblog, post_id),
    F(3, FT_U64, reblog, account_id), F(4, FT_U64, reblog, community_id),
    F(5, FT_I64, reblog, created_at), F(6, FT_STR, reblog, uri),
};

static const struct field_desc vote_fields[] = {
    F(1, FT_U64, vote, post_id),    F(2, FT_U64, vote, account_id), F(3, FT_I64, vote, value),
    F(4, FT_I64, vote, created_at), F(5, FT_STR, vote, uri),        F(6, FT_U64, vote, fav_id),
};

static const struct field_desc list_fields[] = {
    F(1, FT_U64, list, id),     F(2, FT_U64, list, account_id), F(3, FT_STR, list, title),
    F(4, FT_U8, list, replies), F(5, FT_BOOL, list, exclusive), F(6, FT_I64, list, created_at),
};

static const struct field_desc follow_fields[] = {
    F(1, FT_U64, follow, follower_id), F(2, FT_U64, follow, target_id), F(3, FT_U8, follow, state),
    F(4, FT_I64, follow, created_at),  F(5, FT_STR, follow, uri),
};

static const struct field_desc notification_fields[] = {
    F(1, FT_U64, notification, id),         F(2, FT_U64, notification, account_id),
    F(3, FT_STR, notification, type),       F(4, FT_U64, notification, from_account_id),
    F(5, FT_U64, notification, post_id),    F(6, FT_BOOL, notification, read),
    F(7, FT_I64, notification, created_at),
};

static const struct field_desc oauth_app_fields[] = {
    F(1, FT_U64, oauth_app, id),
    F(2, FT_STR, oauth_app, name),
    F(3, FT_STR, oauth_app, website),
    F(4, FT_STR, oauth_app, redirect_uris),
    F(5, FT_STR, oauth_app, scopes),
    F(6, FT_STR, oauth_app, client_id),
    F(7, FT_STR, oauth_app, client_secret_hash),
    F(8, FT_I64, oauth_app, created_at),
};

static const struct field_desc oauth_token_fields[] = {
    F(1, FT_U64, oauth_token, app_id),       F(2, FT_U64, oauth_token, account_id),
    F(3, FT_U8, oauth_token, kind),          F(4, FT_STR, oauth_token, scopes),
    F(5, FT_STR, oauth_token, redirect_uri), F(6, FT_STR, oauth_token, code_challenge),
    F(7, FT_I64, oauth_token, created_at),   F(8, FT_I64, oauth_token, expires_at),
    F(9, FT_I64, oauth_token, revoked_at),
};

static const struct field_desc activity_fields[] = {
    F(1, FT_STR, activity, type), F(2, FT_STR, activity, actor),
    F(3, FT_U8, activity, state), F(4, FT_I64, activity, received_at),
    F(5, FT_STR, activity, raw),  F(6, FT_STR, activity, note),
};

static const struct field_desc delivery_fields[] = {
    F(1, FT_U64, delivery, id),        F(2, FT_U64, delivery, activity_id),
    F(3, FT_STR, delivery, inbox),     F(4, FT_STR, delivery, host),
    F(5, FT_U64, delivery, sender_id), F(6, FT_U32, delivery, attempts),
    F(7, FT_I64, delivery, first_at),  F(8, FT_STR, delivery, last_error),
};

static const struct field_desc host_fields[] = {
    F(1, FT_U32, host, failures),        F(2, FT_I64, host, first_failure_at),
    F(3, FT_I64, host, last_failure_at), F(4, FT_I64, host, last_success_at),
    F(5, FT_I64, host, dead_since),      F(6, FT_STR, host, last_error),
    F(7, FT_U64, host, delivered),
};

const struct record_desc account_desc = DESC(account, REC_ACCOUNT, 1, account_fields);
const struct record_desc community_desc = DESC(community, REC_COMMUNITY, 1, community_fields);
const struct record_desc membership_desc = DESC(membership, REC_MEMBERSHIP, 1, membership_fields);
const struct record_desc post_desc = DESC(post, REC_POST, 1, post_fields);
const struct record_desc vote_desc = DESC(vote, REC_VOTE, 1, vote_fields);
const struct record_desc follow_desc = DESC(follow, REC_FOLLOW, 1, follow_fields);
const struct record_desc notification_desc =
    DESC(notification, REC_NOTIFICATION, 1, notification_fields);
const struct record_desc oauth_app_desc = DESC(oauth_app, REC_OAUTH_APP, 1, oauth_app_fields);
const struct record_desc oauth_token_desc =
    DESC(oauth_token, REC_OAUTH_TOKEN, 1, oauth_token_fields);
const struct record_desc activity_desc = DESC(activity, REC_ACTIVITY, 1, activity_fields);
const struct record_desc delivery_desc = DESC(delivery, REC_DELIVERY, 1, delivery_fields);
const struct record_desc host_desc = DESC(host, REC_HOST, 1, host_fields);
const struct record_desc reblog_desc = DESC(reblog, REC_REBLOG, 1, reblog_fields);
const struct record_desc list_desc = DESC(list, REC_LIST, 1, list_fields);

static const struct field_desc media_fields[] = {
    F(1, FT_U64, media_rec, id),          F(2, FT_U64, media_rec, account_id),
    F(3, FT_U8, media_rec, kind),         F(4, FT_STR, media_rec, mime),
    F(5, FT_STR, media_rec, file),        F(6, FT_STR, media_rec, preview),
    F(7, FT_U32, media_rec, width),       F(8, FT_U32, media_rec, height),
    F(9, FT_U32, media_rec, small_width), F(10, FT_U32, media_rec, small_height),
    F(11, FT_STR, media_rec, blurhash),   F(12, FT_STR, media_rec, description),
    F(13, FT_I64, media_rec, focus_x),    F(14, FT_I64, media_rec, focus_y),
    F(15, FT_U64, media_rec, size),       F(16, FT_U64, media_rec, post_id),
    F(17, FT_I64, media_rec, created_at),
};
const struct record_desc media_desc = DESC(media_rec, REC_MEDIA, 1, media_fields);

static const struct field_desc filter_fields[] = {
    F(1, FT_U64, filter, id),       F(2, FT_U64, filter, account_id),
    F(3, FT_STR, filter, title),    F(4, FT_U8, filter, contexts),
    F(5, FT_U8, filter, action),    F(6, FT_I64, filter, expires_at),
    F(7, FT_STR, filter, keywords), F(8, FT_I64, filter, created_at),
    F(9, FT_STR, filter, statuses),
};
const struct record_desc filter_desc = DESC(filter, REC_FILTER, 1, filter_fields);

static const struct field_desc push_sub_fields[] = {
    F(1, FT_U64, push_sub, id),         F(2, FT_U64, push_sub, account_id),
    F(3, FT_STR, push_sub, token_hash), F(4, FT_STR, push_sub, endpoint),
    F(5, FT_STR, push_sub, p256dh),     F(6, FT_STR, push_sub, auth),
    F(7, FT_U32, push_sub, alerts),     F(8, FT_U8, push_sub, policy),
    F(9, FT_I64, push_sub, created_at), F(10, FT_STR, push_sub, push_token),
};
const struct record_desc push_sub_desc = DESC(push_sub, REC_PUSH_SUB, 1, push_sub_fields);

/* ---- generic helpers ---- */

struct key8 key_id(uint64_t id)
{
    struct key8 k;
    be64_put(k.b, id);
    return k;
}

struct key16 key_pair(uint64_t a, uint64_t b)
{
    struct key16 k;
    be64_put(k.b, a);
    be64_put(k.b + 8, b);
    return k;
}

int rec_put(struct kv_txn *txn, unsigned table, struct str key, const struct record_desc *d,
            const void *rec, unsigned flags)
{
    struct buf b;
    buf_init(&b, RECORD_MAX_BYTES + 64);
    int rc = record_encode(d, rec, &b);
    if (rc == KITH_OK)
        rc = kv_put(txn, table, key, buf_str(&b), flags);
    buf_free(&b);
    return rc;
}

int rec_get(struct kv_txn *txn, unsigned table, struct str key, const struct record_desc *d,
            struct arena *a, void *rec)
{
    struct str v;
    int rc = kv_get(txn, table, key, &v);
    if (rc)
        return rc;
    return record_decode(d, v, a, rec);
}

/* ---- meta ---- */

int meta_get_u64(struct kv_txn *txn, const char *name, uint64_t *out)
{
    struct str v;
    int rc = kv_get(txn, T_META, str_from(name), &v);
    *out = 0;
    if (rc == KITH_ENOTFOUND)
        return KITH_OK;
    if (rc)
        return rc;
    if (v.len != 8)
        return KITH_ECORRUPT;
    *out = be64_get((const unsigned char *)v.ptr);
    return KITH_OK;
}

int meta_put_u64(struct kv_txn *txn, const char *name, uint64_t v)
{
    struct key8 k = key_id(v);
    return kv_put(txn, T_META, str_from(name), KEY8(k), 0);
}

int counter_get(struct kv_txn *txn, const char *name, uint64_t *out)
{
    char key[64];
    snprintf(key, sizeof(key), "count:%s", name);
    return meta_get_u64(txn, key, out);
}

int counter_add(struct kv_txn *txn, const char *name, int64_t delta)
{
    char key[64];
    uint64_t v;
    snprintf(key, sizeof(key), "count:%s", name);
    int rc = meta_get_u64(txn, key, &v);
    if (rc)
        return rc;
    if (delta < 0 && (uint64_t)-delta > v)
        v = 0;
    else
        v += (uint64_t)delta;
    return meta_put_u64(txn, key, v);
}

/* ---- names ---- */

#define NAME_MAX_BYTES 64

static int lower_key(struct str name, char *out, size_t *len)
{
    if (name.len == 0 || name.len > NAME_MAX_BYTES)
        return KITH_EINVAL;
    for (size_t i = 0; i < name.len; i++)
        out[i] = (char)tolower((unsigned char)name.ptr[i]);
    *len = name.len;
    return KITH_OK;
}

int name_lookup(struct kv_txn *txn, struct str name, uint8_t *kind, uint64_t *id)
{
    char k[NAME_MAX_BYTES];
    size_t n;
    struct str v;
    if (lower_key(name, k, &n))
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_NAMES, str_make(k, n), &v);
    if (rc)
        return rc;
    if (v.len != 9)
        return KITH_ECORRUPT;
    *kind = (uint8_t)v.ptr[0];
    *id = be64_get((const unsigned char *)v.ptr + 1);
    return KITH_OK;
}

static int name_claim(struct kv_txn *txn, struct str name, uint8_t kind, uint64_t id)
{
    char k[NAME_MAX_BYTES];
    unsigned char v[9];
    size_t n;
    if (lower_key(name, k, &n))
        return KITH_EINVAL;
    v[0] = kind;
    be64_put(v + 1, id);
    return kv_put(txn, T_NAMES, str_make(k, n), str_make(v, 9), KV_NOOVERWRITE);
}

/* ---- local named records: accounts and communities ---- */

/* Claims the name and stores the record under its id, counting it. */
static int named_insert(struct kv_txn *txn, uint8_t kind, struct str name, uint64_t id,
                        unsigned table, const struct record_desc *d, const void *rec,
                        const char *counter)
{
    struct key8 k = key_id(id);
    int rc = name_claim(txn, name, kind, id);
    if (!rc)
        rc = rec_put(txn, table, KEY8(k), d, rec, KV_NOOVERWRITE);
    if (!rc)
        rc = counter_add(txn, counter, 1);
    return rc;
}

static int named_get(struct kv_txn *txn, uint8_t kind, struct str name, unsigned table,
                     const struct record_desc *d, struct arena *a, void *out)
{
    uint8_t found;
    uint64_t id;
    int rc = name_lookup(txn, name, &found, &id);
    if (rc)
        return rc;
    if (found != kind)
        return KITH_ENOTFOUND;
    struct key8 k = key_id(id);
    return rec_get(txn, table, KEY8(k), d, a, out);
}

struct each_ctx {
    struct kv_txn *txn;
    struct arena *a;
    account_iter_fn *account_fn; /* exactly one of these is set */
    community_iter_fn *community_fn;
    void *arg;
};

static int visit_named(uint64_t id, void *arg)
{
    struct each_ctx *e = arg;
    int rc;
    if (e->account_fn) {
        struct account acct;
        if ((rc = account_get(e->txn, id, e->a, &acct)) != KITH_OK)
            return rc;
        return e->account_fn(&acct, e->arg);
    }
    struct community c;
    if ((rc = community_get(e->txn, id, e->a, &c)) != KITH_OK)
        return rc;
    return e->community_fn(&c, e->arg);
}

/* ---- accounts ---- */

int account_insert_local(struct kv_txn *txn, const struct account *acct)
{
    return named_insert(txn, NAME_ACCOUNT, acct->name, acct->id, T_ACCOUNTS, &account_desc, acct,
                        "local_users");
}

int account_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct account *out)
{
    struct key8 k = key_id(id);
    return rec_get(txn, T_ACCOUNTS, KEY8(k), &account_desc, a, out);
}

int account_get_local(struct kv_txn *txn, struct str name, struct arena *a, struct account *out)
{
    return named_get(txn, NAME_ACCOUNT, name, T_ACCOUNTS, &account_desc, a, out);
}

int account_update(struct kv_txn *txn, const struct account *acct)
{
    struct key8 k = key_id(acct->id);
    struct str old;
    int rc = kv_get(txn, T_ACCOUNTS, KEY8(k), &old);
    if (rc)
        return rc;
    return rec_put(txn, T_ACCOUNTS, KEY8(k), &account_desc, acct, 0);
}

int account_delete_local(struct kv_txn *txn, const struct account *acct)
{
    char nk[NAME_MAX_BYTES];
    size_t n;
    struct key8 k = key_id(acct->id);
    int rc = lower_key(acct->name, nk, &n);
    if (!rc)
        rc = kv_del(txn, T_NAMES, str_make(nk, n));
    if (!rc)
        rc = kv_del(txn, T_ACCOUNTS, KEY8(k));
    if (!rc)
        rc = counter_add(txn, "local_users", -1);
    return rc;
}

/* Walks the names index, calling visit(id) for each entry of kind want. */
static int names_each(struct kv_txn *txn, uint8_t want, int (*visit)(uint64_t id, void *arg),
                      void *arg)
{
    struct kv_cursor *c;
    struct str k, v;
    int rc = kv_cursor_open(txn, T_NAMES, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_first(c, &k, &v); rc == KITH_OK; rc = kv_cursor_next(c, &k, &v)) {
        if (v.len != 9) {
            rc = KITH_ECORRUPT;
            break;
        }
        if ((uint8_t)v.ptr[0] != want)
            continue;
        if ((rc = visit(be64_get((const unsigned char *)v.ptr + 1), arg)) != 0)
            break;
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

int account_each_local(struct kv_txn *txn, struct arena *a, account_iter_fn *fn, void *arg)
{
    struct each_ctx e = {txn, a, fn, NULL, arg};
    return names_each(txn, NAME_ACCOUNT, visit_named, &e);
}

/* ---- communities ---- */

int community_insert_local(struct kv_txn *txn, const struct community *c)
{
    return named_insert(txn, NAME_COMMUNITY, c->name, c->id, T_COMMUNITIES, &community_desc, c,
                        "local_communities");
}

int community_put(struct kv_txn *txn, const struct community *c)
{
    struct key8 k = key_id(c->id);
    return rec_put(txn, T_COMMUNITIES, KEY8(k), &community_desc, c, 0);
}

int community_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct community *out)
{
    struct key8 k = key_id(id);
    return rec_get(txn, T_COMMUNITIES, KEY8(k), &community_desc, a, out);
}

int community_get_local(struct kv_txn *txn, struct str name, struct arena *a, struct community *out)
{
    return named_get(txn, NAME_COMMUNITY, name, T_COMMUNITIES, &community_desc, a, out);
}

int community_each_local(struct kv_txn *txn, struct arena *a, community_iter_fn *fn, void *arg)
{
    struct each_ctx e = {txn, a, NULL, fn, arg};
    return names_each(txn, NAME_COMMUNITY, visit_named, &e);
}

/* ---- remote actors ---- */

#define URI_MAX_BYTES 511 /* LMDB's key limit */

int actor_uri_lookup(struct kv_txn *txn, struct str uri, uint8_t *kind, uint64_t *id)
{
    struct str v;
    if (uri.len == 0 || uri.len > URI_MAX_BYTES)
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_ACTOR_URIS, uri, &v);
    if (rc)
        return rc;
    if (v.len != 9)
        return KITH_ECORRUPT;
    *kind = (uint8_t)v.ptr[0];
    *id = be64_get((const unsigned char *)v.ptr + 1);
    return KITH_OK;
}

/* Stores rec under its uri: a new id (claimed in actor_uris) or the existing one. */
/* Points an index entry (actor uri or key id) at kind + id; refuses to
 * take one that belongs to another actor. */
static int claim_uri(struct kv_txn *txn, struct str uri, uint8_t kind, uint64_t id)
{
    uint8_t found;
    uint64_t existing;
    unsigned char v[9];
    if (uri.len == 0 || uri.len > URI_MAX_BYTES)
        return KITH_EINVAL;
    int rc = actor_uri_lookup(txn, uri, &found, &existing);
    if (rc == KITH_OK)
        return found == kind && existing == id ? KITH_OK : KITH_EEXIST;
    if (rc != KITH_ENOTFOUND)
        return rc;
    v[0] = kind;
    be64_put(v + 1, id);
    return kv_put(txn, T_ACTOR_URIS, uri, str_make(v, 9), KV_NOOVERWRITE);
}

/* The remote_accts key: "name@domain", lowercased; 0 when it does not fit. */
static size_t acct_key(struct str name, struct str domain, char *out, size_t cap)
{
    if (!name.len || !domain.len || name.len + domain.len + 1 > cap)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < name.len; i++)
        out[n++] = (char)tolower((unsigned char)name.ptr[i]);
    out[n++] = '@';
    for (size_t i = 0; i < domain.len; i++)
        out[n++] = (char)tolower((unsigned char)domain.ptr[i]);
    return n;
}

int remote_acct_lookup(struct kv_txn *txn, struct str name, struct str domain, uint8_t *kind,
                       uint64_t *id)
{
    char k[URI_MAX_BYTES];
    struct str v;
    size_t n = acct_key(name, domain, k, sizeof(k));
    if (!n)
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_REMOTE_ACCTS, str_make(k, n), &v);
    if (rc)
        return rc;
    if (v.len != 9)
        return KITH_ECORRUPT;
    *kind = (uint8_t)v.ptr[0];
    *id = be64_get((const unsigned char *)v.ptr + 1);
    return KITH_OK;
}

static int remote_upsert(struct kv_txn *txn, uint8_t kind, struct str uri, struct str keyid,
                         struct str name, struct str domain, uint64_t *idp, unsigned table,
                         const struct record_desc *d, void *rec)
{
    uint8_t found;
    uint64_t existing;
    if (uri.len == 0 || uri.len > URI_MAX_BYTES)
        return KITH_EINVAL;
    int rc = actor_uri_lookup(txn, uri, &found, &existing);
    if (rc == KITH_OK) {
        if (found != kind)
            return KITH_EEXIST; /* a Person and a Group cannot share an id */
        *idp = existing;
    } else if (rc == KITH_ENOTFOUND) {
        if ((rc = claim_uri(txn, uri, kind, *idp)))
            return rc;
    } else {
        return rc;
    }
    if (keyid.len && (rc = claim_uri(txn, keyid, kind, *idp)))
        return rc;
    char ak[URI_MAX_BYTES];
    size_t an = acct_key(name, domain, ak, sizeof(ak));
    if (an) { /* the latest actor to claim an address has it */
        unsigned char v[9];
        v[0] = kind;
        be64_put(v + 1, *idp);
        if ((rc = kv_put(txn, T_REMOTE_ACCTS, str_make(ak, an), str_make(v, 9), 0)))
            return rc;
    }
    struct key8 k = key_id(*idp);
    return rec_put(txn, table, KEY8(k), d, rec, 0);
}

int account_upsert_remote(struct kv_txn *txn, struct account *acct, uint64_t *id)
{
    uint8_t kind;
    uint64_t old_id;
    if (actor_uri_lookup(txn, acct->uri, &kind, &old_id) == KITH_OK && kind == NAME_ACCOUNT) {
        struct arena a = ARENA_INIT;
        struct account old;
        if (account_get(txn, old_id, &a, &old) == KITH_OK) {
            acct->created_at = old.created_at; /* first seen then */
            acct->state = old.state;           /* a suspension stays */
        }
        arena_release(&a);
    }
    int rc = remote_upsert(txn, NAME_ACCOUNT, acct->uri, acct->key_id, acct->name, acct->domain,
                           &acct->id, T_ACCOUNTS, &account_desc, acct);
    if (rc == KITH_OK)
        *id = acct->id;
    return rc;
}

int community_upsert_remote(struct kv_txn *txn, struct community *c, uint64_t *id)
{
    uint8_t kind;
    uint64_t old_id;
    if (actor_uri_lookup(txn, c->uri, &kind, &old_id) == KITH_OK && kind == NAME_COMMUNITY) {
        struct arena a = ARENA_INIT;
        struct community old;
        if (community_get(txn, old_id, &a, &old) == KITH_OK)
            c->created_at = old.created_at;
        arena_release(&a);
    }
    int rc = remote_upsert(txn, NAME_COMMUNITY, c->uri, c->key_id, c->name, c->domain, &c->id,
                           T_COMMUNITIES, &community_desc, c);
    if (rc == KITH_OK)
        *id = c->id;
    return rc;
}

/* ---- memberships ---- */

int membership_put(struct kv_txn *txn, const struct membership *m)
{
    struct key16 k = key_pair(m->community_id, m->account_id);
    struct key16 r = key_pair(m->account_id, m->community_id);
    int rc = rec_put(txn, T_MEMBERS, KEY16(k), &membership_desc, m, 0);
    if (!rc)
        rc = kv_put(txn, T_MEMBER_OF, KEY16(r), STR_LIT(""), 0);
    return rc;
}

int membership_get(struct kv_txn *txn, uint64_t community_id, uint64_t account_id, struct arena *a,
                   struct membership *out)
{
    struct key16 k = key_pair(community_id, account_id);
    return rec_get(txn, T_MEMBERS, KEY16(k), &membership_desc, a, out);
}

/* ---- forgetting an actor's relations ---- */

/* The second ids of every 16-byte key in table that starts with id. Owned
 * by the caller (free). */
int prefix_ids(struct kv_txn *txn, unsigned table, uint64_t id, uint64_t **out, size_t *n)
{
    struct kv_cursor *c;
    struct str key;
    struct key8 k = key_id(id);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc = kv_cursor_open(txn, table, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
         rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, NULL)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = be64_get((const unsigned char *)key.ptr + 8);
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND || rc == KITH_OK ? KITH_OK : rc;
}

/* Deletes (id, x) from table and (x, id) from its index, for every x. */
static int forget_pairs(struct kv_txn *txn, unsigned table, unsigned index, uint64_t id)
{
    uint64_t *ids;
    size_t n;
    int rc = prefix_ids(txn, table, id, &ids, &n);
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct key16 k = key_pair(id, ids[i]), r = key_pair(ids[i], id);
        rc = kv_del(txn, table, KEY16(k));
        if (rc == KITH_OK || rc == KITH_ENOTFOUND)
            rc = kv_del(txn, index, KEY16(r));
        if (rc == KITH_ENOTFOUND)
            rc = KITH_OK;
    }
    free(ids);
    return rc;
}

int follows_forget(struct kv_txn *txn, uint64_t id)
{
    int rc = forget_pairs(txn, T_FOLLOWS, T_FOLLOWERS, id);
    if (rc == KITH_OK)
        rc = forget_pairs(txn, T_FOLLOWERS, T_FOLLOWS, id);
    if (rc == KITH_OK)
        rc = forget_pairs(txn, T_MEMBER_OF, T_MEMBERS, id);
    return rc;
}

uint64_t prefix_count(struct kv_txn *txn, unsigned table, uint64_t id)
{
    struct kv_cursor *c;
    struct key8 k = key_id(id);
    struct str key;
    uint64_t n = 0;
    if (kv_cursor_open(txn, table, &c))
        return 0;
    for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
         rc == KITH_OK && key.len >= 8 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, NULL))
        n++;
    kv_cursor_close(c);
    return n;
}
