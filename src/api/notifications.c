/* src/api/notifications.c: /api/v1/notifications: list (types[],
 * exclude_types[], account_id, Mastodon's paging), get, dismiss, clear.
 * Notifications are written where their cause is stored (core's
 * notify_add): replies and mentions (type mention), favourites, boosts,
 * follows and follow requests. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPES_MAX 16

struct note_filter {
    size_t ntypes, nexclude;
    struct str types[TYPES_MAX], exclude[TYPES_MAX];
    uint64_t account_id;
};

static bool wanted(struct status_view *v, const struct note_filter *f, const struct notification *n)
{
    bool notes = false;
    if (block_has(v->txn, v->viewer, n->from_account_id) ||
        (mute_has(v->txn, v->viewer, n->from_account_id, &notes) && notes))
        return false;
    if (f->account_id && n->from_account_id != f->account_id)
        return false;
    for (size_t i = 0; i < f->nexclude; i++)
        if (str_eq(f->exclude[i], n->type))
            return false;
    if (!f->ntypes)
        return true;
    for (size_t i = 0; i < f->ntypes; i++)
        if (str_eq(f->types[i], n->type))
            return true;
    return false;
}

struct note_walk {
    struct status_view *v;
    const struct note_filter *f;
};

static cJSON *note_item(uint64_t id, struct str val, void *arg)
{
    struct note_walk *w = arg;
    struct notification note;
    (void)id;
    if (record_decode(&notification_desc, val, &w->v->ctx->arena, &note) ||
        !wanted(w->v, w->f, &note) || (note.post_id && api_filtered_out(w->v, note.post_id)))
        return NULL;
    return api_notification(w->v, &note);
}

static int handle_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct api_page pg;
    struct note_filter f = {0};
    if (!api_auth(ctx, "read:notifications", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request does not parse"), HANDLER_DONE;
    for (struct str t; f.ntypes < TYPES_MAX && (t = api_param_at(&p, "types", f.ntypes)).len;)
        f.types[f.ntypes++] = t;
    for (struct str t;
         f.nexclude < TYPES_MAX && (t = api_param_at(&p, "exclude_types", f.nexclude)).len;)
        f.exclude[f.nexclude++] = t;
    struct str acc = api_param(&p, "account_id");
    if (acc.len) {
        char num[24];
        snprintf(num, sizeof(num), "%.*s", (int)(acc.len < 23 ? acc.len : 23), acc.ptr);
        f.account_id = strtoull(num, NULL, 10);
    }
    api_page_read(ctx, 40, 80, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_NOTIFICATIONS;
    struct note_walk w = {&v, &f};
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, T_NOTIFICATIONS, who.acct.id, &pg, arr, note_item, &w);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static bool get_one(struct http_ctx *ctx, struct api_who *who, struct notification *n)
{
    uint64_t id;
    if (!api_id_param(ctx, "id", &id))
        return false;
    struct key16 k = key_pair(who->acct.id, id);
    if (rec_get(who->txn, T_NOTIFICATIONS, KEY16(k), &notification_desc, &ctx->arena, n)) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    struct notification n;
    if (!api_auth(ctx, "read:notifications", true, &who) || !get_one(ctx, &who, &n))
        return HANDLER_DONE;
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *o = api_notification(&v, &n);
    status_view_done(&v);
    if (!o)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

struct dismiss_req {
    uint64_t account_id, id; /* id 0: every one */
};

static int apply_dismiss(struct kv_txn *txn, void *arg)
{
    struct dismiss_req *d = arg;
    if (d->id) {
        struct key16 k = key_pair(d->account_id, d->id);
        int rc = kv_del(txn, T_NOTIFICATIONS, KEY16(k));
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    }
    /* In rounds: a cursor's keys are not deleted under it. */
    for (;;) {
        struct kv_cursor *c;
        struct str key;
        struct key8 k = key_id(d->account_id);
        uint64_t ids[256];
        size_t n = 0;
        int rc = kv_cursor_open(txn, T_NOTIFICATIONS, &c);
        if (rc)
            return rc;
        for (rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
             rc == KITH_OK && n < 256 && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(c, &key, NULL))
            ids[n++] = be64_get((const unsigned char *)key.ptr + 8);
        kv_cursor_close(c);
        for (size_t i = 0; i < n; i++) {
            struct key16 nk = key_pair(d->account_id, ids[i]);
            if ((rc = kv_del(txn, T_NOTIFICATIONS, KEY16(nk))))
                return rc;
        }
        if (n < 256)
            return KITH_OK;
    }
}

static void dismissed(struct http_ctx *ctx, int rc, void *arg)
{
    (void)arg;
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    http_reply_json(ctx, 200, cJSON_CreateObject());
}

static int dismiss(struct http_ctx *ctx, bool all)
{
    struct api_who who;
    struct notification n;
    if (!api_auth(ctx, "write:notifications", true, &who) || (!all && !get_one(ctx, &who, &n)))
        return HANDLER_DONE;
    struct dismiss_req *d = arena_zalloc(&ctx->arena, sizeof(*d));
    d->account_id = who.acct.id;
    d->id = all ? 0 : n.id;
    if (http_write(ctx, apply_dismiss, d, dismissed, d))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_dismiss(struct http_ctx *ctx)
{
    return dismiss(ctx, false);
}
static int handle_clear(struct http_ctx *ctx)
{
    return dismiss(ctx, true);
}

const struct route notification_routes[] = {
    {"GET", "/api/v1/notifications", handle_list, 0, "read:notifications"},
    {"GET", "/api/v1/notifications/{id}", handle_get, 0, "read:notifications"},
    {"POST", "/api/v1/notifications/{id}/dismiss", handle_dismiss, 0, "write:notifications"},
    {"POST", "/api/v1/notifications/clear", handle_clear, 0, "write:notifications"},
};
