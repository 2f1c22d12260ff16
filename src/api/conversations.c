/* src/api/conversations.c: direct conversations (GET /api/v1/conversations,
 * POST .../:id/read, DELETE .../:id). A conversation is a thread of direct
 * statuses; its id is the thread's first status. The index is written as
 * the statuses arrive (core's conv_touch, from the home fan-out): newest
 * first, unread for the people who did not write the newest. */
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <string.h>

#define CONV_ACCOUNTS 33 /* the author and up to 32 people named */

cJSON *api_conversation(struct status_view *v, uint64_t root, uint64_t last, bool unread)
{
    struct arena *a = &v->ctx->arena;
    struct post p;
    if (post_get(v->txn, last, a, &p) || !api_can_see(v, &p))
        return NULL;
    cJSON *status = api_status_post(v, &p);
    if (!status)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)root));
    cJSON_AddBoolToObject(o, "unread", unread);
    cJSON *accounts = cJSON_AddArrayToObject(o, "accounts");
    uint64_t seen[CONV_ACCOUNTS];
    size_t nseen = 0;
    /* The author and everyone named, but the viewer. */
    const char *base = http_core(v->ctx)->cfg->public_url;
    size_t bl = strlen(base);
    uint64_t ids[CONV_ACCOUNTS];
    size_t n = 0;
    ids[n++] = p.author_id;
    const char *s = p.recipients.ptr, *end = s + p.recipients.len;
    while (s < end && n < CONV_ACCOUNTS) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str uri = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
        uint8_t kind;
        uint64_t id;
        struct account acct;
        if (uri.len > bl + 3 && memcmp(uri.ptr, base, bl) == 0 &&
            memcmp(uri.ptr + bl, "/u/", 3) == 0) {
            if (account_get_local(v->txn, str_make(uri.ptr + bl + 3, uri.len - bl - 3), a, &acct) ==
                KITH_OK)
                ids[n++] = acct.id;
        } else if (actor_uri_lookup(v->txn, uri, &kind, &id) == KITH_OK && kind == NAME_ACCOUNT) {
            ids[n++] = id;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = ids[i] == v->viewer;
        for (size_t j = 0; j < nseen && !dup; j++)
            dup = seen[j] == ids[i];
        if (dup)
            continue;
        seen[nseen++] = ids[i];
        cJSON *acct = api_actor(v, ids[i]);
        if (acct)
            cJSON_AddItemToArray(accounts, acct);
    }
    cJSON_AddItemToObject(o, "last_status", status);
    return o;
}

struct conv_walk {
    struct status_view *v;
    uint64_t me;
};

static cJSON *conv_item(uint64_t last, struct str val, void *arg)
{
    struct conv_walk *w = arg;
    if (val.len != 8)
        return NULL;
    uint64_t root = be64_get((const unsigned char *)val.ptr);
    struct key16 ck = key_pair(w->me, root);
    struct str cv;
    bool unread = kv_get(w->v->txn, T_CONVS, KEY16(ck), &cv) == KITH_OK && cv.len == 9 && cv.ptr[8];
    return api_conversation(w->v, root, last, unread);
}

static int handle_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    struct conv_walk w = {&v, who.acct.id};
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, T_CONV_ORDER, who.acct.id, &pg, arr, conv_item, &w);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

struct conv_req {
    uint64_t account, root, last;
    bool forget;
    struct account user;
};

static int apply_conv(struct kv_txn *txn, void *arg)
{
    struct conv_req *r = arg;
    return r->forget ? conv_forget(txn, r->account, r->root)
                     : conv_touch(txn, r->account, r->root, r->last, false);
}

static void conv_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct conv_req *r = arg;
    struct kv_txn *txn;
    if (rc == KITH_ENOTFOUND)
        return http_reply_error(ctx, 404, "Record not found");
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    if (r->forget)
        return http_reply_json(ctx, 200, cJSON_CreateObject());
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    struct status_view v;
    status_view_init(&v, ctx, txn, &r->user);
    cJSON *o = api_conversation(&v, r->root, r->last, false);
    status_view_done(&v);
    if (!o)
        return http_reply_error(ctx, 404, "Record not found");
    http_reply_json(ctx, 200, o);
}

static int change(struct http_ctx *ctx, bool forget)
{
    struct api_who who;
    uint64_t root;
    if (!api_auth(ctx, NULL, true, &who) || !api_id_param(ctx, "id", &root))
        return HANDLER_DONE;
    struct key16 k = key_pair(who.acct.id, root);
    struct str v;
    if (kv_get(who.txn, T_CONVS, KEY16(k), &v) != KITH_OK || v.len != 9)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    struct conv_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    *r = (struct conv_req){who.acct.id, root, be64_get((const unsigned char *)v.ptr), forget,
                           who.acct};
    if (http_write(ctx, apply_conv, r, conv_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_read(struct http_ctx *ctx)
{
    return change(ctx, false);
}
static int handle_delete(struct http_ctx *ctx)
{
    return change(ctx, true);
}

const struct route conversation_routes[] = {
    {"GET", "/api/v1/conversations", handle_list, 0, "read:statuses"},
    {"POST", "/api/v1/conversations/{id}/read", handle_read, 0, "write:conversations"},
    {"DELETE", "/api/v1/conversations/{id}", handle_delete, 0, "write:conversations"},
};
