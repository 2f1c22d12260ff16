/* src/api/push.c: Web Push subscriptions (POST, GET, PUT, DELETE
 * /api/v1/push/subscription): one per access token, with the alert types
 * and the policy it asks for. Messages are made by core's webpush when a
 * notification is stored, and sent by the delivery engine. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"
#include "../core/oauth.h"
#include "../core/webpush.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The hash the subscription is kept under: of the token the request used. */
static struct str token_key(struct http_ctx *ctx)
{
    struct str h = http_header(ctx, "Authorization"), tok = STR_NULL;
    if (h.len > 7 && strncasecmp(h.ptr, "Bearer ", 7) == 0)
        tok = str_trim(str_make(h.ptr + 7, h.len - 7));
    else
        tok = http_query(ctx, "access_token");
    char hex[65];
    oauth_hash_hex(tok, hex);
    return arena_str(&ctx->arena, str_from(hex));
}

static cJSON *sub_json(struct http_ctx *ctx, struct kv_txn *txn, const struct push_sub *s)
{
    struct arena *a = &ctx->arena;
    struct str key;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)s->id));
    cJSON_AddStringToObject(o, "endpoint", arena_str(a, s->endpoint).ptr);
    cJSON_AddTrueToObject(o, "standard");
    cJSON *al = cJSON_AddObjectToObject(o, "alerts");
    for (int i = 0; i < PUSH_ALERTS; i++) {
        const char *name = strcmp(push_alert_names[i], "admin.sign_up") == 0 ? "admin_sign_up"
                                                                             : push_alert_names[i];
        cJSON_AddBoolToObject(al, name, (s->alerts >> i) & 1);
    }
    cJSON_AddFalseToObject(al, "admin_report");
    cJSON_AddStringToObject(o, "server_key",
                            kv_get(txn, T_META, STR_LIT("vapid_public_key"), &key) == KITH_OK
                                ? arena_str(a, key).ptr
                                : "");
    cJSON_AddStringToObject(o, "policy", push_policy_names[s->policy < 4 ? s->policy : 0]);
    return o;
}

/* data[alerts][TYPE] and data[policy]; false after replying 422. */
static bool read_data(struct http_ctx *ctx, const struct api_params *p, struct push_sub *s)
{
    for (int i = 0; i < PUSH_ALERTS; i++) {
        char name[64];
        const char *alert = strcmp(push_alert_names[i], "admin.sign_up") == 0 ? "admin.sign_up"
                                                                              : push_alert_names[i];
        snprintf(name, sizeof(name), "data[alerts][%s]", alert);
        const struct api_param *e = api_param_entry(p, name);
        if (!e && strcmp(alert, "admin.sign_up") == 0)
            e = api_param_entry(p, "data[alerts][admin_sign_up]");
        if (!e)
            continue;
        bool on = str_eq(e->value, STR_LIT("true")) || str_eq(e->value, STR_LIT("1"));
        s->alerts = on ? s->alerts | (1u << i) : s->alerts & ~(1u << i);
    }
    struct str pol = api_param(p, "data[policy]");
    if (!pol.len)
        pol = api_param(p, "policy");
    if (pol.len) {
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (str_eq(pol, str_from(push_policy_names[i])))
                found = i;
        if (found < 0)
            return http_reply_error(ctx, 422, "policy is all, followed, follower or none"), false;
        s->policy = (uint8_t)found;
    }
    return true;
}

struct sub_req {
    struct push_sub s;
    uint64_t app_id;
    bool remove;
    bool update; /* the token's subscription, changed (alerts, policy) */
};

static int apply_sub(struct kv_txn *txn, void *arg)
{
    struct sub_req *r = arg;
    if (r->update)
        return push_sub_put(txn, &r->s, r->app_id);
    int rc = push_sub_delete(txn, r->s.token_hash); /* one a token: the new one replaces it */
    if (rc && rc != KITH_ENOTFOUND)
        return rc;
    if (r->remove)
        return KITH_OK;
    return push_sub_put(txn, &r->s, r->app_id);
}

static void sub_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct sub_req *r = arg;
    struct kv_txn *txn;
    if (rc)
        return http_reply_error(ctx, 500, "the subscription could not be stored: %s",
                                kith_strerror(rc));
    if (r->remove)
        return http_reply_json(ctx, 200, cJSON_CreateObject());
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    http_reply_json(ctx, 200, sub_json(ctx, txn, &r->s));
}

static int submit(struct http_ctx *ctx, struct sub_req *r)
{
    if (http_write(ctx, apply_sub, r, sub_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_create(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "push", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct str endpoint = api_param(&p, "subscription[endpoint]");
    struct str p256dh = api_param(&p, "subscription[keys][p256dh]");
    struct str auth = api_param(&p, "subscription[keys][auth]");
    bool https = endpoint.len > 8 && memcmp(endpoint.ptr, "https://", 8) == 0;
    bool http = endpoint.len > 7 && memcmp(endpoint.ptr, "http://", 7) == 0 &&
                http_core(ctx)->cfg->allow_private_addresses; /* tests' local endpoints */
    if ((!https && !http) || endpoint.len > 2000)
        return http_reply_error(ctx, 422,
                                "Validation failed: subscription[endpoint] is an https "
                                "URL"),
               HANDLER_DONE;
    struct buf probe;
    buf_init(&probe, 4096);
    int bad = webpush_encrypt(p256dh, auth, STR_LIT("{}"), &probe);
    buf_free(&probe);
    if (bad)
        return http_reply_error(ctx, 422,
                                "Validation failed: subscription[keys] hold a P-256 "
                                "key (p256dh) and a 16-byte secret (auth), base64url"),
               HANDLER_DONE;
    struct sub_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->s = (struct push_sub){.id = idgen_next(store_ids(http_core(ctx)->st)),
                             .account_id = who.acct.id,
                             .token_hash = token_key(ctx),
                             .endpoint = arena_str(&ctx->arena, endpoint),
                             .p256dh = arena_str(&ctx->arena, p256dh),
                             .auth = arena_str(&ctx->arena, auth),
                             .created_at = wall_seconds()};
    r->app_id = who.token.app_id;
    if (!read_data(ctx, &p, &r->s))
        return HANDLER_DONE;
    return submit(ctx, r);
}

static bool current(struct http_ctx *ctx, struct api_who *who, struct push_sub *s)
{
    if (push_sub_get(who->txn, token_key(ctx), &ctx->arena, s)) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    struct push_sub s;
    if (!api_auth(ctx, "push", true, &who) || !current(ctx, &who, &s))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, sub_json(ctx, who.txn, &s));
    return HANDLER_DONE;
}

static int handle_update(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct sub_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, "push", true, &who) || !current(ctx, &who, &r->s))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    if (!read_data(ctx, &p, &r->s))
        return HANDLER_DONE;
    r->app_id = who.token.app_id; /* a subscription from before push tokens gets one now */
    r->update = true;
    return submit(ctx, r);
}

static int handle_delete(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, "push", true, &who))
        return HANDLER_DONE;
    struct sub_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->s.token_hash = token_key(ctx);
    r->remove = true;
    return submit(ctx, r);
}

const struct route push_routes[] = {
    {"POST", "/api/v1/push/subscription", handle_create, 0, "push"},
    {"GET", "/api/v1/push/subscription", handle_get, 0, "push"},
    {"PUT", "/api/v1/push/subscription", handle_update, 0, "push"},
    {"DELETE", "/api/v1/push/subscription", handle_delete, 0, "push"},
};
