/* src/api/prefs.c: what a person keeps for their apps: preferences (the
 * defaults for new statuses, set with update_credentials' source[...])
 * and markers (where each timeline was last read, synced across apps). */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /api/v1/preferences */
static int handle_preferences(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, "read:accounts", true, &who))
        return HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "posting:default:visibility",
                            api_visibility(who.acct.default_visibility));
    cJSON_AddBoolToObject(o, "posting:default:sensitive", who.acct.default_sensitive);
    if (who.acct.default_language.len)
        cJSON_AddStringToObject(o, "posting:default:language",
                                arena_str(&ctx->arena, who.acct.default_language).ptr);
    else
        cJSON_AddNullToObject(o, "posting:default:language");
    /* Reading preferences are the app's own in kith (no web settings for them yet). */
    cJSON_AddStringToObject(o, "reading:expand:media", "default");
    cJSON_AddFalseToObject(o, "reading:expand:spoilers");
    cJSON_AddFalseToObject(o, "reading:autoplay:gifs");
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

/* ---- markers ---- */

static const char *const timelines[] = {"home", "notifications"};

static bool marker_key(uint64_t account, struct str name, unsigned char *k, size_t *n)
{
    if (name.len == 0 || name.len > 16)
        return false;
    be64_put(k, account);
    memcpy(k + 8, name.ptr, name.len);
    *n = 8 + name.len;
    return true;
}

static cJSON *marker_json(struct http_ctx *ctx, struct str v)
{
    const unsigned char *p = (const unsigned char *)v.ptr;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "last_read_id",
                            arena_printf(&ctx->arena, "%llu", (unsigned long long)be64_get(p)));
    cJSON_AddNumberToObject(m, "version", (double)be64_get(p + 8));
    cJSON_AddStringToObject(m, "updated_at", api_time(&ctx->arena, (int64_t)be64_get(p + 16)));
    return m;
}

/* GET /api/v1/markers?timeline[]=home&timeline[]=notifications */
static int handle_markers(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "read:statuses", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request does not parse"), HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    struct str t;
    for (size_t i = 0; i < 4 && (t = api_param_at(&p, "timeline", i)).len; i++) {
        unsigned char k[32];
        size_t n;
        struct str v;
        if (!marker_key(who.acct.id, t, k, &n) || kv_get(who.txn, T_MARKERS, str_make(k, n), &v) ||
            v.len != 24 || cJSON_GetObjectItem(o, arena_str(&ctx->arena, t).ptr))
            continue;
        cJSON_AddItemToObject(o, arena_str(&ctx->arena, t).ptr, marker_json(ctx, v));
    }
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

struct marker_req {
    uint64_t account;
    uint64_t last[2]; /* 0: not given */
};

static int apply_markers(struct kv_txn *txn, void *arg)
{
    struct marker_req *m = arg;
    for (int i = 0; i < 2; i++) {
        unsigned char k[32], v[24];
        size_t n = 0;
        struct str old;
        if (!m->last[i])
            continue;
        marker_key(m->account, str_from(timelines[i]), k, &n);
        uint64_t version = 0;
        if (kv_get(txn, T_MARKERS, str_make(k, n), &old) == KITH_OK && old.len == 24)
            version = be64_get((const unsigned char *)old.ptr + 8);
        be64_put(v, m->last[i]);
        be64_put(v + 8, version + 1);
        be64_put(v + 16, (uint64_t)wall_seconds());
        int rc = kv_put(txn, T_MARKERS, str_make(k, n), str_make(v, 24), 0);
        if (rc)
            return rc;
    }
    return KITH_OK;
}

static void markers_stored(struct http_ctx *ctx, int rc, void *arg)
{
    struct marker_req *m = arg;
    struct kv_txn *txn;
    if (rc)
        return http_reply_error(ctx, 500, "the markers could not be stored: %s", kith_strerror(rc));
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 2; i++) {
        unsigned char k[32];
        size_t n = 0;
        struct str v;
        marker_key(m->account, str_from(timelines[i]), k, &n);
        if (m->last[i] && kv_get(txn, T_MARKERS, str_make(k, n), &v) == KITH_OK && v.len == 24)
            cJSON_AddItemToObject(o, timelines[i], marker_json(ctx, v));
    }
    http_reply_json(ctx, 200, o);
}

/* POST /api/v1/markers: home[last_read_id], notifications[last_read_id] */
static int handle_set_markers(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "write:statuses", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct marker_req *m = arena_zalloc(&ctx->arena, sizeof(*m));
    m->account = who.acct.id;
    for (int i = 0; i < 2; i++) {
        char name[48], num[24];
        snprintf(name, sizeof(name), "%s[last_read_id]", timelines[i]);
        struct str v = api_param(&p, name);
        if (!v.len)
            continue;
        snprintf(num, sizeof(num), "%.*s", (int)(v.len < 23 ? v.len : 23), v.ptr);
        char *end;
        m->last[i] = strtoull(num, &end, 10);
        if (*end || !m->last[i])
            return http_reply_error(ctx, 422, "%s is not an id", name), HANDLER_DONE;
    }
    if (!m->last[0] && !m->last[1])
        return http_reply_error(ctx, 400,
                                "home[last_read_id] or notifications[last_read_id] "
                                "is required"),
               HANDLER_DONE;
    if (http_write(ctx, apply_markers, m, markers_stored, m))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route pref_routes[] = {
    {"GET", "/api/v1/preferences", handle_preferences, 0, "read:accounts"},
    {"GET", "/api/v1/markers", handle_markers, 0, "read:statuses"},
    {"POST", "/api/v1/markers", handle_set_markers, 0, "write:statuses"},
};
