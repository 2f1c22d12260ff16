/* src/api/scheduled.c: scheduled statuses (GET /api/v1/scheduled_statuses,
 * GET, PUT and DELETE /api/v1/scheduled_statuses/:id) and the
 * ScheduledStatus entity that POST /api/v1/statuses answers when given
 * scheduled_at. What is kept and its publishing are the federation's
 * (federation/schedule.c). */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../../federation/federation.h"
#include "../base/clock.h"
#include "../base/err.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kept_str(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static uint64_t kept_id(cJSON *o, const char *key)
{
    const char *s = kept_str(o, key);
    return s ? strtoull(s, NULL, 10) : 0;
}

static void add_or_null(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *api_scheduled_status(struct http_ctx *ctx, struct kv_txn *txn, cJSON *kept)
{
    struct arena *a = &ctx->arena;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", kept_str(kept, "id") ? kept_str(kept, "id") : "0");
    cJSON_AddStringToObject(o, "scheduled_at", api_time(a, (int64_t)kept_id(kept, "scheduled_at")));
    cJSON *p = cJSON_AddObjectToObject(o, "params");
    cJSON_AddStringToObject(p, "text", kept_str(kept, "body") ? kept_str(kept, "body") : "");
    const char *titles = kept_str(kept, "poll_titles");
    if (titles) { /* the poll as asked for: options, expires_in, multiple */
        cJSON *poll = cJSON_AddObjectToObject(p, "poll");
        cJSON *opts = cJSON_AddArrayToObject(poll, "options");
        for (const char *s = titles, *nl; *s; s = nl ? nl + 1 : s + strlen(s)) {
            nl = strchr(s, '\n');
            cJSON_AddItemToArray(
                opts, cJSON_CreateString(
                          arena_str(a, str_make(s, nl ? (size_t)(nl - s) : strlen(s))).ptr));
            if (!nl)
                break;
        }
        cJSON_AddNumberToObject(poll, "expires_in", (double)kept_id(kept, "poll_secs"));
        cJSON_AddBoolToObject(poll, "multiple",
                              cJSON_IsTrue(cJSON_GetObjectItem(kept, "poll_multiple")));
        cJSON_AddBoolToObject(poll, "hide_totals",
                              cJSON_IsTrue(cJSON_GetObjectItem(kept, "poll_hide_totals")));
    } else {
        cJSON_AddNullToObject(p, "poll");
    }
    cJSON *media = cJSON_GetObjectItemCaseSensitive(kept, "media");
    cJSON *attachments = cJSON_AddArrayToObject(o, "media_attachments");
    if (cJSON_GetArraySize(media)) {
        cJSON_AddItemToObject(p, "media_ids", cJSON_Duplicate(media, true));
        cJSON *it;
        cJSON_ArrayForEach(it, media)
        {
            struct media_rec m;
            struct key8 k = key_id(strtoull(it->valuestring, NULL, 10));
            if (rec_get(txn, T_MEDIA, KEY8(k), &media_desc, a, &m) == KITH_OK)
                cJSON_AddItemToArray(attachments, api_media(ctx, &m));
        }
    } else {
        cJSON_AddNullToObject(p, "media_ids");
    }
    cJSON_AddBoolToObject(p, "sensitive", cJSON_IsTrue(cJSON_GetObjectItem(kept, "sensitive")));
    add_or_null(p, "spoiler_text", kept_str(kept, "summary"));
    cJSON *vis = cJSON_GetObjectItemCaseSensitive(kept, "visibility");
    cJSON_AddStringToObject(p, "visibility",
                            visibility_name(cJSON_IsNumber(vis) ? vis->valueint : VIS_PUBLIC));
    uint64_t parent = kept_id(kept, "parent");
    if (parent)
        cJSON_AddStringToObject(p, "in_reply_to_id",
                                arena_printf(a, "%llu", (unsigned long long)parent));
    else
        cJSON_AddNullToObject(p, "in_reply_to_id");
    add_or_null(p, "language", kept_str(kept, "language"));
    cJSON_AddStringToObject(p, "application_id",
                            kept_str(kept, "app") ? kept_str(kept, "app") : "0");
    cJSON_AddNullToObject(p, "scheduled_at");
    cJSON_AddNullToObject(p, "idempotency");
    cJSON_AddNullToObject(p, "allowed_mentions");
    cJSON_AddFalseToObject(p, "with_rate_limit");
    return o;
}

struct walk {
    struct http_ctx *ctx;
    struct kv_txn *txn;
};

static cJSON *item(uint64_t id, struct str val, void *arg)
{
    struct walk *w = arg;
    (void)id;
    cJSON *kept = cJSON_ParseWithLength(val.ptr, val.len);
    cJSON *o = kept ? api_scheduled_status(w->ctx, w->txn, kept) : NULL;
    cJSON_Delete(kept);
    return o;
}

/* GET /api/v1/scheduled_statuses: newest first, paged as Mastodon. */
static int handle_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    struct walk w = {ctx, who.txn};
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, T_SCHEDULED, who.acct.id, &pg, arr, item, &w);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* One's own, by the path's id (else 404); the caller deletes it. */
static cJSON *own(struct http_ctx *ctx, struct api_who *who, uint64_t *id)
{
    if (!api_id_param(ctx, "id", id))
        return NULL;
    cJSON *kept = federation_scheduled_get(who->txn, who->acct.id, *id);
    if (!kept)
        http_reply_error(ctx, 404, "Record not found");
    return kept;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    uint64_t id;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    cJSON *kept = own(ctx, &who, &id);
    if (kept) {
        http_reply_json(ctx, 200, api_scheduled_status(ctx, who.txn, kept));
        cJSON_Delete(kept);
    }
    return HANDLER_DONE;
}

struct change_req {
    uint64_t account, id;
    int64_t at; /* -1: delete */
};

static int apply_change(struct kv_txn *txn, void *arg)
{
    struct change_req *r = arg;
    return federation_scheduled_change(txn, r->account, r->id, r->at);
}

static void changed(struct http_ctx *ctx, int rc, void *arg)
{
    struct change_req *r = arg;
    struct kv_txn *txn;
    if (rc == KITH_ENOTFOUND)
        return http_reply_error(ctx, 404, "Record not found");
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    if (r->at < 0)
        return http_reply_json(ctx, 200, cJSON_CreateObject());
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    cJSON *kept = federation_scheduled_get(txn, r->account, r->id);
    if (!kept)
        return http_reply_error(ctx, 404, "Record not found");
    http_reply_json(ctx, 200, api_scheduled_status(ctx, txn, kept));
    cJSON_Delete(kept);
}

bool api_scheduled_at(struct http_ctx *ctx, struct str v, int64_t *at)
{
    char buf[64];
    int64_t min = (int64_t)(http_core(ctx)->cfg->scheduled_min_lead_ms / 1000);
    snprintf(buf, sizeof(buf), "%.*s", (int)(v.len < 63 ? v.len : 63), v.ptr);
    if (!clock_parse_rfc3339(buf, at)) {
        http_reply_error(ctx, 422, "Validation failed: scheduled_at is an ISO 8601 time");
        return false;
    }
    if (*at > wall_seconds() && *at < wall_seconds() + min) {
        http_reply_error(ctx, 422,
                         "Validation failed: Scheduled at must be at least %lld seconds in the "
                         "future",
                         (long long)min);
        return false;
    }
    return true;
}

/* PUT /api/v1/scheduled_statuses/:id: scheduled_at */
static int handle_update(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct change_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    cJSON *kept = own(ctx, &who, &r->id);
    if (!kept)
        return HANDLER_DONE;
    cJSON_Delete(kept);
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct str at = api_param(&p, "scheduled_at");
    if (!at.len)
        return http_reply_error(ctx, 422, "scheduled_at is required"), HANDLER_DONE;
    if (!api_scheduled_at(ctx, at, &r->at))
        return HANDLER_DONE;
    if (r->at <= wall_seconds())
        return http_reply_error(ctx, 422, "Validation failed: Scheduled at must be in the future"),
               HANDLER_DONE;
    r->account = who.acct.id;
    if (http_write(ctx, apply_change, r, changed, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_delete(struct http_ctx *ctx)
{
    struct api_who who;
    struct change_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, NULL, true, &who) || !api_id_param(ctx, "id", &r->id))
        return HANDLER_DONE;
    r->account = who.acct.id;
    r->at = -1;
    if (http_write(ctx, apply_change, r, changed, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route scheduled_routes[] = {
    {"GET", "/api/v1/scheduled_statuses", handle_list, 0, "read:statuses"},
    {"GET", "/api/v1/scheduled_statuses/{id}", handle_get, 0, "read:statuses"},
    {"PUT", "/api/v1/scheduled_statuses/{id}", handle_update, 0, "write:statuses"},
    {"DELETE", "/api/v1/scheduled_statuses/{id}", handle_delete, 0, "write:statuses"},
};
