/* src/api/accounts.c: /api/v1/accounts: who am I, and who is that. */
#include "../../federation/federation.h"
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int handle_verify_credentials(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    /* read:accounts, or the profile scope (Mastodon 4.3), which allows this only. */
    if (!scope_allows(who.token.scopes, "read:accounts") &&
        !scope_allows(who.token.scopes, "profile"))
        return http_reply_error(ctx, 403, "This action is outside the authorized scopes"),
               HANDLER_DONE;
    http_reply_json(ctx, 200, api_account(ctx, who.txn, &who.acct, true));
    return HANDLER_DONE;
}

static int handle_account(struct http_ctx *ctx)
{
    struct api_who who;
    struct str id = route_param(&ctx->params, "id");
    char buf[24];
    if (!api_auth_optional(ctx, "read:accounts", &who)) /* profiles are public */
        return HANDLER_DONE;
    if (!id.len || id.len >= sizeof(buf))
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    for (size_t i = 0; i < id.len; i++)
        if (id.ptr[i] < '0' || id.ptr[i] > '9')
            return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    snprintf(buf, sizeof(buf), "%.*s", (int)id.len, id.ptr);
    uint64_t n = strtoull(buf, NULL, 10);
    struct account acct;
    struct community c;
    if (account_get(who.txn, n, &ctx->arena, &acct) == KITH_OK && acct.state != ACCOUNT_PENDING)
        return http_reply_json(ctx, 200, api_account(ctx, who.txn, &acct, false)), HANDLER_DONE;
    if (community_get(who.txn, n, &ctx->arena, &c) == KITH_OK)
        return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
    return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
}

/* GET /api/v1/accounts/lookup?acct=NAME (or NAME@our-domain): a local
 * person or community. */
static int handle_lookup(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth_optional(ctx, NULL, &who)) /* profiles are public */
        return HANDLER_DONE;
    struct str acct = http_query(ctx, "acct");
    const struct kith_config *cfg = http_core(ctx)->cfg;
    if (acct.len && acct.ptr[0] == '@')
        acct = str_make(acct.ptr + 1, acct.len - 1);
    if (!acct.len || acct.len > 300)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    const char *at = memchr(acct.ptr, '@', acct.len);
    struct str name = at ? str_make(acct.ptr, (size_t)(at - acct.ptr)) : acct;
    struct str domain = at ? str_make(at + 1, acct.len - name.len - 1) : STR_NULL;
    struct account a;
    struct community c;
    uint8_t kind;
    uint64_t id;
    if (!domain.len || str_eq_nocase(domain, str_from(cfg->domain))) {
        if (name_lookup(who.txn, name, &kind, &id) == KITH_OK) {
            if (kind == NAME_ACCOUNT && account_get(who.txn, id, &ctx->arena, &a) == KITH_OK &&
                a.state == ACCOUNT_ACTIVE)
                return http_reply_json(ctx, 200, api_account(ctx, who.txn, &a, false)),
                       HANDLER_DONE;
            if (kind == NAME_COMMUNITY && community_get(who.txn, id, &ctx->arena, &c) == KITH_OK)
                return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
        }
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    }
    /* Remote people and communities kith holds (search with resolve=true
     * finds new ones; lookup never leaves the server, as Mastodon's). */
    if (remote_acct_lookup(who.txn, name, domain, &kind, &id) == KITH_OK) {
        if (kind == NAME_ACCOUNT && account_get(who.txn, id, &ctx->arena, &a) == KITH_OK)
            return http_reply_json(ctx, 200, api_account(ctx, who.txn, &a, false)), HANDLER_DONE;
        if (kind == NAME_COMMUNITY && community_get(who.txn, id, &ctx->arena, &c) == KITH_OK)
            return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
    }
    return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
}

/* ---- index walks: (owner id, item id) keys, newest item first ---- */

struct idx {
    struct kv_cursor *c;
    uint64_t prefix;
    uint64_t item; /* 0: past the end */
    struct str val;
};

static void idx_check(struct idx *x, int rc, struct str key)
{
    x->item =
        rc == KITH_OK && key.len == 16 && be64_get((const unsigned char *)key.ptr) == x->prefix
            ? be64_get((const unsigned char *)key.ptr + 8)
            : 0;
}

static void idx_open(struct idx *x, struct kv_txn *txn, unsigned table, uint64_t prefix,
                     uint64_t below)
{
    struct str key;
    memset(x, 0, sizeof(*x));
    x->prefix = prefix;
    if (kv_cursor_open(txn, table, &x->c))
        return;
    struct key16 end = key_pair(prefix, below ? below : UINT64_MAX);
    int rc = kv_cursor_seek(x->c, KEY16(end), &key, &x->val);
    rc = rc == KITH_OK ? kv_cursor_prev(x->c, &key, &x->val) : kv_cursor_last(x->c, &key, &x->val);
    idx_check(x, rc, key);
}

static void idx_next(struct idx *x)
{
    struct str key;
    idx_check(x, kv_cursor_prev(x->c, &key, &x->val), key);
}

static void idx_close(struct idx *x)
{
    if (x->c)
        kv_cursor_close(x->c);
}

/* Of two walks, the one with the newer item (NULL when both are done). */
static struct idx *idx_pick(struct idx *a, struct idx *b)
{
    if (!a->item && !b->item)
        return NULL;
    return a->item >= b->item ? a : b;
}

static bool flag(struct http_ctx *ctx, const char *name)
{
    struct str v = http_query(ctx, name);
    return str_eq(v, STR_LIT("true")) || str_eq(v, STR_LIT("1"));
}

/* A person or community by the path's id; replies 404 when neither. */
static bool actor_param(struct http_ctx *ctx, struct api_who *who, uint64_t *id, bool *group)
{
    struct account a;
    struct community c;
    if (!api_id_param(ctx, "id", id))
        return false;
    if (community_get(who->txn, *id, &ctx->arena, &c) == KITH_OK) {
        *group = true;
        return true;
    }
    if (account_get(who->txn, *id, &ctx->arena, &a) == KITH_OK && a.state != ACCOUNT_PENDING) {
        *group = false;
        return true;
    }
    http_reply_error(ctx, 404, "Record not found");
    return false;
}

/* GET /api/v1/accounts/:id/statuses: a person's posts and boosts, or a
 * community's boosts of its posts (what its members' apps show). */
static int handle_statuses(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    uint64_t id;
    bool group;
    if (!api_auth_optional(ctx, "read:statuses", &who) || !actor_param(ctx, &who, &id, &group))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    bool no_replies = flag(ctx, "exclude_replies"), media = flag(ctx, "only_media");
    bool no_reblogs = flag(ctx, "exclude_reblogs") && !group, pinned = flag(ctx, "pinned");
    uint64_t floor = api_page_floor(&pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_ACCOUNT;
    cJSON *arr = cJSON_CreateArray();
    struct idx own, boosts;
    if (pinned) {
        idx_open(&own, who.txn, T_PINS, id, pg.max_id);
        memset(&boosts, 0, sizeof(boosts));
    } else {
        if (group)
            memset(&own, 0, sizeof(own));
        else
            idx_open(&own, who.txn, T_AUTHOR_POSTS, id, pg.max_id);
        if (no_reblogs)
            memset(&boosts, 0, sizeof(boosts));
        else
            idx_open(&boosts, who.txn, T_ACTOR_REBLOGS, group ? SENDER_COMMUNITY(id) : id,
                     pg.max_id);
    }
    uint64_t newest = 0, oldest = 0;
    size_t n = 0, looked = 0;
    for (struct idx *x; n < pg.limit && looked < 20 * pg.limit + 200 &&
                        (x = idx_pick(&own, &boosts)) && x->item > floor;
         idx_next(x), looked++) {
        uint64_t sid = x->item;
        struct post p;
        if (x == &own && post_get(who.txn, sid, &ctx->arena, &p) == KITH_OK &&
            ((no_replies && p.parent_id && p.reply_to_author != p.author_id) ||
             (media && !p.nattachments)))
            continue;
        if ((x == &boosts && media) || api_filtered_out(&v, sid))
            continue;
        cJSON *s = api_status(&v, sid);
        if (!s)
            continue;
        cJSON_AddItemToArray(arr, s);
        newest = newest > sid ? newest : sid;
        oldest = !oldest || sid < oldest ? sid : oldest;
        n++;
    }
    idx_close(&own);
    idx_close(&boosts);
    status_view_done(&v);
    if (n)
        api_page_link(ctx, newest, oldest);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* ---- relationships ---- */

static cJSON *relationship(struct http_ctx *ctx, struct kv_txn *txn, uint64_t me, uint64_t id)
{
    struct arena *a = &ctx->arena;
    bool following = false, requested = false, followed_by = false, requested_by = false;
    struct community c;
    struct membership m;
    struct follow f;
    if (community_get(txn, id, a, &c) == KITH_OK) {
        if (membership_get(txn, id, me, a, &m) == KITH_OK && !m.banned) {
            following = m.role >= MEMBER_MEMBER;
            requested = m.role == MEMBER_PENDING;
        }
    } else {
        struct key16 k = key_pair(me, id), r = key_pair(id, me);
        if (rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, a, &f) == KITH_OK) {
            following = f.state == FOLLOW_ACCEPTED;
            requested = f.state == FOLLOW_PENDING;
        }
        if (rec_get(txn, T_FOLLOWS, KEY16(r), &follow_desc, a, &f) == KITH_OK) {
            followed_by = f.state == FOLLOW_ACCEPTED;
            requested_by = f.state == FOLLOW_PENDING;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)id));
    cJSON_AddBoolToObject(o, "following", following);
    cJSON_AddBoolToObject(o, "showing_reblogs", following || requested);
    cJSON_AddFalseToObject(o, "notifying");
    cJSON_AddNullToObject(o, "languages");
    cJSON_AddBoolToObject(o, "followed_by", followed_by);
    bool mute_notes = false;
    bool muting = mute_has(txn, me, id, &mute_notes);
    cJSON_AddBoolToObject(o, "blocking", block_has(txn, me, id));
    cJSON_AddBoolToObject(o, "blocked_by", block_has(txn, id, me));
    cJSON_AddBoolToObject(o, "muting", muting);
    cJSON_AddBoolToObject(o, "muting_notifications", muting && mute_notes);
    cJSON_AddBoolToObject(o, "requested", requested);
    cJSON_AddBoolToObject(o, "requested_by", requested_by);
    cJSON_AddFalseToObject(o, "domain_blocking");
    cJSON_AddFalseToObject(o, "endorsed");
    cJSON_AddStringToObject(o, "note", "");
    return o;
}

/* GET /api/v1/accounts/relationships?id[]=... */
static int handle_relationships(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "read:follows", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request does not parse"), HANDLER_DONE;
    cJSON *arr = cJSON_CreateArray();
    struct str s;
    for (size_t i = 0; i < 80 && (s = api_param_at(&p, "id", i)).len; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%.*s", (int)(s.len < 23 ? s.len : 23), s.ptr);
        uint64_t id = strtoull(num, NULL, 10);
        struct account a;
        struct community c;
        if (id && (account_get(who.txn, id, &ctx->arena, &a) == KITH_OK ||
                   community_get(who.txn, id, &ctx->arena, &c) == KITH_OK))
            cJSON_AddItemToArray(arr, relationship(ctx, who.txn, who.acct.id, id));
    }
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* ---- follow, unfollow: through the federation ---- */

struct follow_req {
    void *fed;
    struct fed_write w;
};

static int apply_follow(struct kv_txn *txn, void *arg)
{
    struct follow_req *r = arg;
    return federation_write(txn, r->fed, &r->w);
}

static void follow_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct follow_req *r = arg;
    struct kv_txn *txn;
    if (rc == KITH_EINVAL && r->w.msg[0])
        return http_reply_error(ctx, r->w.status ? r->w.status : 422, "%s", r->w.msg);
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    if (!r->w.noop)
        federation_kick(r->fed);
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    http_reply_json(ctx, 200, relationship(ctx, txn, r->w.user_id, r->w.target_id));
}

/* A stub (a person only named by a community's Announce so far) has been
 * fetched: now it can be followed. */
static void stub_resolved(struct http_ctx *ctx, int rc, int kind, uint64_t id, void *arg)
{
    struct follow_req *r = arg;
    if (rc == KITH_ESTOPPED)
        return http_reply_error(ctx, 503, "the server is stopping");
    if (rc || kind != NAME_ACCOUNT || id != r->w.target_id)
        return http_reply_error(ctx, 422, "the account could not be fetched from its server");
    if (http_write(ctx, apply_follow, r, follow_done, r))
        http_reply_error(ctx, 503, "the server is stopping");
}

static int relate(struct http_ctx *ctx, const char *scope, int kind)
{
    struct api_who who;
    uint64_t id;
    bool group;
    struct account target;
    if (!api_auth(ctx, scope, true, &who) || !actor_param(ctx, &who, &id, &group))
        return HANDLER_DONE;
    if (kind == FW_FOLLOW && block_has(who.txn, id, who.acct.id))
        return http_reply_error(ctx, 403, "This action is not allowed"), HANDLER_DONE;
    struct follow_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->fed = http_app(ctx);
    r->w.kind = kind;
    r->w.user_id = who.acct.id;
    r->w.target_id = id;
    if (kind == FW_FOLLOW && !group && account_get(who.txn, id, &ctx->arena, &target) == KITH_OK &&
        account_is_stub(&target)) { /* fetched first, as Mastodon does */
        const char *uri = arena_str(&ctx->arena, target.uri).ptr;
        if (federation_resolve(ctx, uri, stub_resolved, r) == KITH_OK)
            return HANDLER_ASYNC;
        return http_reply_error(ctx, 503, "the account cannot be fetched now"), HANDLER_DONE;
    }
    if (http_write(ctx, apply_follow, r, follow_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_follow(struct http_ctx *ctx)
{
    return relate(ctx, "write:follows", FW_FOLLOW);
}
static int handle_unfollow(struct http_ctx *ctx)
{
    return relate(ctx, "write:follows", FW_UNFOLLOW);
}
static int handle_block(struct http_ctx *ctx)
{
    return relate(ctx, "write:blocks", FW_BLOCK);
}
static int handle_unblock(struct http_ctx *ctx)
{
    return relate(ctx, "write:blocks", FW_UNBLOCK);
}

/* ---- mutes: one's own, never federated ---- */

struct mute_req {
    uint64_t me, id;
    bool on, notifications;
    int64_t expires;
};

static int apply_mute(struct kv_txn *txn, void *arg)
{
    struct mute_req *m = arg;
    return mute_set(txn, m->me, m->id, m->on, m->notifications, m->expires);
}

static void muted(struct http_ctx *ctx, int rc, void *arg)
{
    struct mute_req *m = arg;
    struct kv_txn *txn;
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    http_reply_json(ctx, 200, relationship(ctx, txn, m->me, m->id));
}

static int mute(struct http_ctx *ctx, bool on)
{
    struct api_who who;
    struct api_params p;
    uint64_t id;
    bool group;
    if (!api_auth(ctx, "write:mutes", true, &who) || !actor_param(ctx, &who, &id, &group))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct mute_req *m = arena_zalloc(&ctx->arena, sizeof(*m));
    *m = (struct mute_req){.me = who.acct.id, .id = id, .on = on, .notifications = true};
    struct str notes = api_param(&p, "notifications"), dur = api_param(&p, "duration");
    if (notes.len)
        m->notifications = !(str_eq(notes, STR_LIT("false")) || str_eq(notes, STR_LIT("0")));
    if (dur.len) {
        char num[24], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(dur.len < 23 ? dur.len : 23), dur.ptr);
        long long secs = strtoll(num, &end, 10);
        if (*end || secs < 0 || secs > 100LL * 365 * 86400)
            return http_reply_error(ctx, 422, "duration is a number of seconds"), HANDLER_DONE;
        m->expires = secs ? wall_seconds() + secs : 0;
    }
    if (id == who.acct.id)
        return http_reply_error(ctx, 422, "you cannot mute yourself"), HANDLER_DONE;
    if (http_write(ctx, apply_mute, m, muted, m))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_mute(struct http_ctx *ctx)
{
    return mute(ctx, true);
}
static int handle_unmute(struct http_ctx *ctx)
{
    return mute(ctx, false);
}

/* GET /api/v1/blocks and /api/v1/mutes: accounts, paged by account id. */
static int blocked_list(struct http_ctx *ctx, bool mutes)
{
    struct api_who who;
    struct api_page pg;
    if (!api_auth(ctx, mutes ? "read:mutes" : "read:blocks", true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 40, 80, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    struct idx x;
    uint64_t newest = 0, oldest = 0, floor = api_page_floor(&pg);
    size_t n = 0;
    for (idx_open(&x, who.txn, mutes ? T_MUTES : T_BLOCKS, who.acct.id, pg.max_id);
         n < pg.limit && x.item && x.item > floor; idx_next(&x)) {
        if (mutes && !mute_has(who.txn, who.acct.id, x.item, NULL))
            continue; /* expired */
        cJSON *acct = api_actor(&v, x.item);
        if (!acct)
            continue;
        cJSON_AddItemToArray(arr, acct);
        newest = newest > x.item ? newest : x.item;
        oldest = !oldest || x.item < oldest ? x.item : oldest;
        n++;
    }
    idx_close(&x);
    status_view_done(&v);
    if (n)
        api_page_link(ctx, newest, oldest);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_blocks(struct http_ctx *ctx)
{
    return blocked_list(ctx, false);
}
static int handle_mutes(struct http_ctx *ctx)
{
    return blocked_list(ctx, true);
}

/* ---- followers, following ---- */

/* The accepted follows (or memberships) behind one index entry. */
static bool accepted(struct http_ctx *ctx, struct kv_txn *txn, unsigned table, uint64_t owner,
                     uint64_t item)
{
    struct follow f;
    struct membership m;
    switch (table) {
    case T_FOLLOWERS: { /* owner is followed by item */
        struct key16 k = key_pair(item, owner);
        return rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, &ctx->arena, &f) == KITH_OK &&
               f.state == FOLLOW_ACCEPTED;
    }
    case T_FOLLOWS: {
        struct key16 k = key_pair(owner, item);
        return rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, &ctx->arena, &f) == KITH_OK &&
               f.state == FOLLOW_ACCEPTED;
    }
    case T_MEMBERS:
        return membership_get(txn, owner, item, &ctx->arena, &m) == KITH_OK &&
               m.role >= MEMBER_MEMBER && !m.banned;
    case T_MEMBER_OF:
        return membership_get(txn, item, owner, &ctx->arena, &m) == KITH_OK &&
               m.role >= MEMBER_MEMBER && !m.banned;
    }
    return false;
}

static int follow_list(struct http_ctx *ctx, bool followers)
{
    struct api_who who;
    struct api_page pg;
    uint64_t id;
    bool group;
    if (!api_auth_optional(ctx, "read:accounts", &who) || !actor_param(ctx, &who, &id, &group))
        return HANDLER_DONE;
    api_page_read(ctx, 40, 80, &pg);
    unsigned t1 = group ? (followers ? T_MEMBERS : T_COUNT) : (followers ? T_FOLLOWERS : T_FOLLOWS);
    unsigned t2 = !group && !followers ? T_MEMBER_OF : T_COUNT;
    struct idx a = {0}, b = {0};
    if (t1 != T_COUNT)
        idx_open(&a, who.txn, t1, id, pg.max_id);
    if (t2 != T_COUNT)
        idx_open(&b, who.txn, t2, id, pg.max_id);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    uint64_t newest = 0, oldest = 0, floor = api_page_floor(&pg);
    size_t n = 0;
    for (struct idx *x; n < pg.limit && (x = idx_pick(&a, &b)) && x->item > floor; idx_next(x)) {
        if (!accepted(ctx, who.txn, x == &a ? t1 : t2, id, x->item))
            continue;
        cJSON *acct = api_actor(&v, x->item);
        if (!acct)
            continue;
        cJSON_AddItemToArray(arr, acct);
        newest = newest > x->item ? newest : x->item;
        oldest = !oldest || x->item < oldest ? x->item : oldest;
        n++;
    }
    idx_close(&a);
    idx_close(&b);
    status_view_done(&v);
    if (n)
        api_page_link(ctx, newest, oldest);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_followers(struct http_ctx *ctx)
{
    return follow_list(ctx, true);
}
static int handle_following(struct http_ctx *ctx)
{
    return follow_list(ctx, false);
}

/* ---- follow requests: to the person, and to join communities they moderate ---- */

/* The local communities the person moderates (owner included). */
static size_t moderated(struct http_ctx *ctx, struct kv_txn *txn, uint64_t me, uint64_t *out,
                        size_t max)
{
    struct idx x;
    size_t n = 0;
    for (idx_open(&x, txn, T_MEMBER_OF, me, 0); x.item && n < max; idx_next(&x)) {
        struct membership m;
        struct community c;
        if (membership_get(txn, x.item, me, &ctx->arena, &m) == KITH_OK &&
            m.role >= MEMBER_MODERATOR && community_get(txn, x.item, &ctx->arena, &c) == KITH_OK &&
            !c.uri.len)
            out[n++] = x.item;
    }
    idx_close(&x);
    return n;
}

static bool pending_to(struct http_ctx *ctx, struct kv_txn *txn, uint64_t me, uint64_t who)
{
    struct key16 k = key_pair(who, me);
    struct follow f;
    return rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, &ctx->arena, &f) == KITH_OK &&
           f.state == FOLLOW_PENDING;
}

/* GET /api/v1/follow_requests */
static int handle_follow_requests(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    if (!api_auth(ctx, "read:follows", true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 40, 80, &pg);
    uint64_t comms[64];
    size_t nc = moderated(ctx, who.txn, who.acct.id, comms, 64);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    uint64_t seen[200];
    size_t ns = 0, n = 0;
    uint64_t newest = 0, oldest = 0, floor = api_page_floor(&pg);
    /* Requesters in id order, newest first, from every source, once each. */
    struct idx src[65];
    size_t nsrc = 0;
    idx_open(&src[nsrc++], who.txn, T_FOLLOWERS, who.acct.id, pg.max_id);
    for (size_t i = 0; i < nc; i++)
        idx_open(&src[nsrc++], who.txn, T_MEMBERS, comms[i], pg.max_id);
    while (n < pg.limit && ns < 200) {
        struct idx *best = NULL;
        for (size_t i = 0; i < nsrc; i++)
            if (src[i].item && (!best || src[i].item > best->item))
                best = &src[i];
        if (!best || best->item <= floor)
            break;
        uint64_t id = best->item;
        bool ok;
        if (best == &src[0]) {
            ok = pending_to(ctx, who.txn, who.acct.id, id);
        } else {
            struct membership m;
            ok = membership_get(who.txn, best->prefix, id, &ctx->arena, &m) == KITH_OK &&
                 m.role == MEMBER_PENDING;
        }
        idx_next(best);
        for (size_t i = 0; i < ns && ok; i++)
            ok = seen[i] != id;
        if (!ok)
            continue;
        seen[ns++] = id;
        cJSON *acct = api_actor(&v, id);
        if (!acct)
            continue;
        cJSON_AddItemToArray(arr, acct);
        newest = newest > id ? newest : id;
        oldest = !oldest || id < oldest ? id : oldest;
        n++;
    }
    for (size_t i = 0; i < nsrc; i++)
        idx_close(&src[i]);
    status_view_done(&v);
    if (n)
        api_page_link(ctx, newest, oldest);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

struct answer_req {
    void *fed;
    uint64_t me, requester;
    bool accept;
    size_t nc;
    uint64_t comms[64];
    bool sent;
    struct fed_write w;
};

static int apply_answer(struct kv_txn *txn, void *arg)
{
    struct answer_req *r = arg;
    for (size_t i = 0; i <= r->nc; i++) {
        r->w = (struct fed_write){.kind = FW_ANSWER,
                                  .user_id = r->me,
                                  .target_id = r->requester,
                                  .community_id = i < r->nc ? r->comms[i] : 0,
                                  .vote = r->accept};
        int rc = federation_write(txn, r->fed, &r->w);
        if (rc)
            return rc;
        r->sent |= !r->w.noop;
    }
    return KITH_OK;
}

static void answered(struct http_ctx *ctx, int rc, void *arg)
{
    struct answer_req *r = arg;
    struct kv_txn *txn;
    if (rc == KITH_EINVAL && r->w.msg[0])
        return http_reply_error(ctx, r->w.status ? r->w.status : 422, "%s", r->w.msg);
    if (rc)
        return http_reply_error(ctx, 500, "the answer could not be stored: %s", kith_strerror(rc));
    if (r->sent)
        federation_kick(r->fed);
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    http_reply_json(ctx, 200, relationship(ctx, txn, r->me, r->requester));
}

static int answer(struct http_ctx *ctx, bool accept)
{
    struct api_who who;
    uint64_t id;
    if (!api_auth(ctx, "write:follows", true, &who) || !api_id_param(ctx, "id", &id))
        return HANDLER_DONE;
    struct answer_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->fed = http_app(ctx);
    r->me = who.acct.id;
    r->requester = id;
    r->accept = accept;
    uint64_t comms[64];
    size_t nc = moderated(ctx, who.txn, who.acct.id, comms, 64);
    for (size_t i = 0; i < nc; i++) {
        struct membership m;
        if (membership_get(who.txn, comms[i], id, &ctx->arena, &m) == KITH_OK &&
            m.role == MEMBER_PENDING)
            r->comms[r->nc++] = comms[i];
    }
    if (!r->nc && !pending_to(ctx, who.txn, who.acct.id, id))
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    if (http_write(ctx, apply_answer, r, answered, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_authorize(struct http_ctx *ctx)
{
    return answer(ctx, true);
}
static int handle_reject(struct http_ctx *ctx)
{
    return answer(ctx, false);
}

/* GET /api/v1/accounts/familiar_followers?id[]=: kith does not compute
 * them; each account asked for gets an empty list. */
static int handle_familiar(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request does not parse"), HANDLER_DONE;
    cJSON *arr = cJSON_CreateArray();
    struct str id;
    for (size_t i = 0; i < 80 && (id = api_param_at(&p, "id", i)).len; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", arena_str(&ctx->arena, id).ptr);
        cJSON_AddArrayToObject(o, "accounts");
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

const struct route account_routes[] = {
    {"GET", "/api/v1/follow_requests", handle_follow_requests, 0, "read:follows"},
    {"POST", "/api/v1/follow_requests/{id}/authorize", handle_authorize, 0, "write:follows"},
    {"POST", "/api/v1/follow_requests/{id}/reject", handle_reject, 0, "write:follows"},
    {"GET", "/api/v1/accounts/lookup", handle_lookup, 0, NULL},
    {"GET", "/api/v1/accounts/familiar_followers", handle_familiar, 0, "read:follows"},
    {"GET", "/api/v1/accounts/verify_credentials", handle_verify_credentials, 0, NULL},
    {"GET", "/api/v1/accounts/relationships", handle_relationships, 0, "read:follows"},
    {"GET", "/api/v1/accounts/{id}", handle_account, 0, "read:accounts"},
    {"GET", "/api/v1/accounts/{id}/statuses", handle_statuses, 0, "read:statuses"},
    {"GET", "/api/v1/accounts/{id}/followers", handle_followers, 0, "read:accounts"},
    {"GET", "/api/v1/accounts/{id}/following", handle_following, 0, "read:accounts"},
    {"POST", "/api/v1/accounts/{id}/follow", handle_follow, 0, "write:follows"},
    {"POST", "/api/v1/accounts/{id}/unfollow", handle_unfollow, 0, "write:follows"},
    {"POST", "/api/v1/accounts/{id}/block", handle_block, 0, "write:blocks"},
    {"POST", "/api/v1/accounts/{id}/unblock", handle_unblock, 0, "write:blocks"},
    {"POST", "/api/v1/accounts/{id}/mute", handle_mute, 0, "write:mutes"},
    {"POST", "/api/v1/accounts/{id}/unmute", handle_unmute, 0, "write:mutes"},
    {"GET", "/api/v1/blocks", handle_blocks, 0, "read:blocks"},
    {"GET", "/api/v1/mutes", handle_mutes, 0, "read:mutes"},
};
