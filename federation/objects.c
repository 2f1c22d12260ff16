/* federation/objects.c: posts, comments and notes at their stable URLs
 * (/post/ID, /comment/ID, /note/ID), as ActivityPub JSON or, for browsers,
 * a redirect to their page. Deleted ones answer 410 with a Tombstone.
 * What is not public (a private community's posts, followers-only and
 * direct notes) is served only to signed fetches from a server that holds
 * a member, follower or recipient. */
#include "actors.h"
#include "inbox.h"
#include "outbox.h"

#include "../src/base/err.h"

#include <string.h>
#include <strings.h>

struct object_req {
    struct post p;
    struct community c; /* c.id 0 for a note */
};

/* True when an account on host is a member of community id (table
 * T_MEMBERS) or an accepted follower of person id (T_FOLLOWERS). */
static bool host_related(struct kv_txn *txn, struct arena *a, unsigned table, uint64_t id,
                         struct str host)
{
    struct kv_cursor *cur;
    struct str key, val;
    struct key8 k = key_id(id);
    bool found = false;
    if (kv_cursor_open(txn, table, &cur))
        return false;
    for (int rc = kv_cursor_seek(cur, KEY8(k), &key, &val);
         !found && rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(cur, &key, &val)) {
        uint64_t other = be64_get((const unsigned char *)key.ptr + 8);
        struct account acct;
        if (account_get(txn, other, a, &acct) || !str_eq_nocase(str_url_authority(acct.uri), host))
            continue;
        if (table == T_MEMBERS) {
            struct membership m;
            found = record_decode(&membership_desc, val, a, &m) == KITH_OK &&
                    m.role >= MEMBER_MEMBER && !m.banned;
        } else {
            struct key16 fk = key_pair(other, id);
            struct follow f;
            found = rec_get(txn, T_FOLLOWS, KEY16(fk), &follow_desc, a, &f) == KITH_OK &&
                    f.state == FOLLOW_ACCEPTED;
        }
    }
    kv_cursor_close(cur);
    return found;
}

/* May a fetch signed by signer's server see r? */
static bool may_see(struct http_ctx *ctx, struct kv_txn *txn, struct object_req *r,
                    const char *signer)
{
    struct str host = str_url_authority(str_from(signer));
    struct arena *a = &ctx->arena;
    if (r->c.id)
        return host_related(txn, a, T_MEMBERS, r->c.id, host);
    /* A recipient on that server, or (followers-only) a follower there. */
    const char *s = r->p.recipients.ptr, *end = s + r->p.recipients.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str uri = str_make(s, (size_t)((nl ? nl : end) - s));
        if (str_eq_nocase(str_url_authority(uri), host))
            return true;
        s = nl ? nl + 1 : end;
    }
    return r->p.visibility == VIS_FOLLOWERS &&
           host_related(txn, a, T_FOLLOWERS, r->p.author_id, host);
}

static void send_object(struct http_ctx *ctx, struct kv_txn *txn, struct object_req *r)
{
    cJSON *o = object_json(txn, http_core(ctx), &ctx->arena, &r->p);
    ap_reply(ctx, r->p.deleted_at ? 410 : 200, o);
}

static void signed_then(struct http_ctx *ctx, const char *signer, void *arg)
{
    struct object_req *r = arg;
    struct kv_txn *txn;
    if (http_read_txn(ctx, &txn)) {
        http_reply_error(ctx, 503, "database unavailable");
        return;
    }
    if (!may_see(ctx, txn, r, signer)) {
        http_reply_error(ctx, 403, "'%s' may not see this object", signer);
        return;
    }
    send_object(ctx, txn, r);
}

static int handle_object(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    struct object_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    struct core *core = http_core(ctx);
    /* The path is the object's own id. */
    const char *url = arena_printf(&ctx->arena, "%s%.*s", core->cfg->public_url, (int)ctx->path.len,
                                   ctx->path.ptr);
    int rc = http_read_txn(ctx, &txn);
    if (rc == KITH_OK)
        rc = post_by_ref(txn, core->cfg, url, &ctx->arena, &r->p);
    if (rc == KITH_OK && r->p.community_id)
        rc = community_get(txn, r->p.community_id, &ctx->arena, &r->c);
    if (rc) {
        if (rc == KITH_ENOTFOUND)
            http_reply_error(ctx, 404, "no such object");
        else
            http_reply_error(ctx, 503, "database unavailable");
        return HANDLER_DONE;
    }
    if (!ap_wanted(ctx)) {
        /* The web pages arrive with the web issue; until then, the author. */
        const char *page = http_url(ctx, "/");
        struct account author;
        if (account_get(txn, r->p.author_id, &ctx->arena, &author) == KITH_OK && !author.uri.len)
            page = http_url(ctx, "/@%.*s", (int)author.name.len, author.name.ptr);
        http_redirect(ctx, 302, page);
        return HANDLER_DONE;
    }
    bool open = r->c.id ? r->c.join_mode != JOIN_APPROVAL
                        : r->p.visibility == VIS_PUBLIC || r->p.visibility == VIS_UNLISTED;
    if (open || r->p.deleted_at) {
        send_object(ctx, txn, r);
        return HANDLER_DONE;
    }
    return signed_request(ctx, signed_then, r);
}

const struct route object_routes[3] = {
    {"GET", "/post/{id}", handle_object, 0, NULL},
    {"GET", "/comment/{id}", handle_object, 0, NULL},
    {"GET", "/note/{id}", handle_object, 0, NULL},
};
