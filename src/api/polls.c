/* src/api/polls.c: GET /api/v1/polls/:id and POST /api/v1/polls/:id/votes.
 * A poll's id is its status's; votes go through federation_write, so a
 * vote in a remote poll reaches its author as Mastodon's vote Notes. */
#include "../../federation/federation.h"
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The visible post with a poll named by the path; replies 404 otherwise. */
static bool poll_post(struct http_ctx *ctx, struct api_who *who, struct post *p)
{
    uint64_t id;
    struct status_view v;
    struct poll_view pv;
    if (!api_id_param(ctx, "id", &id))
        return false;
    status_view_init(&v, ctx, who->txn, &who->acct);
    bool ok = post_get(who->txn, id, &ctx->arena, p) == KITH_OK && api_can_see(&v, p);
    status_view_done(&v);
    if (ok)
        poll_read(p, &pv);
    if (!ok || !pv.n) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static int reply_poll(struct http_ctx *ctx, struct kv_txn *txn, const struct account *who,
                      const struct post *p)
{
    struct status_view v;
    status_view_init(&v, ctx, txn, who);
    cJSON *o = api_poll(&v, p);
    status_view_done(&v);
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    struct post p;
    if (!api_auth_optional(ctx, "read:statuses", &who) || !poll_post(ctx, &who, &p))
        return HANDLER_DONE;
    return reply_poll(ctx, who.txn, &who.acct, &p);
}

struct vote_req {
    void *fed;
    struct account user;
    struct fed_write w;
};

static int apply_vote(struct kv_txn *txn, void *arg)
{
    struct vote_req *r = arg;
    return federation_write(txn, r->fed, &r->w);
}

static void voted(struct http_ctx *ctx, int rc, void *arg)
{
    struct vote_req *r = arg;
    struct kv_txn *txn;
    struct post p;
    if (rc == KITH_EINVAL && r->w.msg[0])
        return http_reply_error(ctx, r->w.status ? r->w.status : 422, "%s", r->w.msg);
    if (rc)
        return http_reply_error(ctx, 500, "the vote could not be stored: %s", kith_strerror(rc));
    federation_kick(r->fed);
    if (http_read_txn_fresh(ctx, &txn) || post_get(txn, r->w.target_id, &ctx->arena, &p))
        return http_reply_error(ctx, 503, "database unavailable");
    reply_poll(ctx, txn, &r->user, &p);
}

/* POST /api/v1/polls/:id/votes with choices[] (option indexes). */
static int handle_vote(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct post post;
    if (!api_auth(ctx, "write:statuses", true, &who) || !poll_post(ctx, &who, &post))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct vote_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->fed = http_app(ctx);
    r->user = who.acct;
    r->w = (struct fed_write){.kind = FW_POLL_VOTE, .user_id = who.acct.id, .target_id = post.id};
    struct str c;
    for (size_t i = 0; (c = api_param_at(&p, "choices", i)).len; i++) {
        char num[8], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(c.len < 7 ? c.len : 7), c.ptr);
        long v = strtol(num, &end, 10);
        if (*end || v < 0 || v > 255 || c.len > 3)
            return http_reply_error(ctx, 422, "choices holds '%.*s', not an option's index",
                                    (int)c.len, c.ptr),
                   HANDLER_DONE;
        if (r->w.nchoices == sizeof(r->w.choices))
            return http_reply_error(ctx, 422, "too many choices"), HANDLER_DONE;
        r->w.choices[r->w.nchoices++] = (uint8_t)v;
    }
    if (!r->w.nchoices)
        return http_reply_error(ctx, 422, "Validation failed: choices is required"), HANDLER_DONE;
    if (http_write(ctx, apply_vote, r, voted, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route poll_routes[] = {
    {"GET", "/api/v1/polls/{id}", handle_get, 0, "read:statuses"},
    {"POST", "/api/v1/polls/{id}/votes", handle_vote, 0, "write:statuses"},
};
