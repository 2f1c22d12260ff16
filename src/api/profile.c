/* src/api/profile.c: editing one's profile: PATCH
 * /api/v1/accounts/update_credentials (display name, bio, fields, locked,
 * bot, the defaults for new statuses, avatar and header images) and
 * DELETE /api/v1/profile/avatar|header. Images are fitted (400 x 400,
 * 1500 x 500) by core's media on a worker thread; the change federates as
 * an Update of the person (federation_write, FW_PROFILE). */
#include "../../federation/federation.h"
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/media.h"
#include "../core/posts.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPLAY_NAME_MAX 30
#define NOTE_MAX         500
#define FIELDS_MAX       4
#define FIELD_NAME_MAX   255
#define FIELD_VALUE_MAX  255

struct profile_req {
    void *fed;
    const struct kith_config *cfg;
    char dir[4096];
    uint64_t account_id;
    /* what changes (set: given) */
    bool display_set, note_set, locked_set, bot_set, fields_set, privacy_set, sensitive_set,
        language_set, avatar_clear, header_clear;
    struct str display_name, note, fields_json, language;
    bool locked, bot, sensitive;
    uint8_t privacy;
    struct str avatar_bytes, header_bytes;
    struct media_file avatar, header;
    char why[300];
    struct fed_write w;
};

static size_t chars(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

static bool truthy(struct str s)
{
    return str_eq(s, STR_LIT("true")) || str_eq(s, STR_LIT("1")) || str_eq(s, STR_LIT("on"));
}

static int apply_profile(struct kv_txn *txn, void *arg)
{
    struct profile_req *r = arg;
    struct arena a = ARENA_INIT;
    struct account acct;
    int rc = account_get(txn, r->account_id, &a, &acct);
    if (rc)
        goto out;
    if (r->display_set)
        acct.display_name = r->display_name;
    if (r->note_set) {
        acct.note_source = r->note;
        acct.note = text_to_html(&a, r->note);
    }
    if (r->locked_set)
        acct.locked = r->locked;
    if (r->bot_set)
        acct.bot = r->bot;
    if (r->fields_set)
        acct.fields_json = r->fields_json;
    if (r->privacy_set)
        acct.default_visibility = r->privacy;
    if (r->sensitive_set)
        acct.default_sensitive = r->sensitive;
    if (r->language_set)
        acct.default_language = r->language;
    const char *base = r->cfg->public_url;
    if (r->avatar.file[0])
        acct.avatar = str_from(arena_printf(&a, "%s/media/%s", base, r->avatar.file));
    else if (r->avatar_clear)
        acct.avatar = STR_NULL;
    if (r->header.file[0])
        acct.header = str_from(arena_printf(&a, "%s/media/%s", base, r->header.file));
    else if (r->header_clear)
        acct.header = STR_NULL;
    int64_t now = wall_seconds();
    acct.updated_at = now > acct.updated_at ? now : acct.updated_at + 1;
    if ((rc = account_update(txn, &acct)))
        goto out;
    r->w = (struct fed_write){.kind = FW_PROFILE, .user_id = r->account_id};
    rc = federation_write(txn, r->fed, &r->w);
out:
    arena_release(&a);
    return rc;
}

static void saved(struct http_ctx *ctx, int rc, void *arg)
{
    struct profile_req *r = arg;
    struct kv_txn *txn;
    struct account acct;
    if (rc)
        return http_reply_error(ctx, 500, "the profile could not be stored: %s", kith_strerror(rc));
    federation_kick(r->fed);
    if (http_read_txn_fresh(ctx, &txn) || account_get(txn, r->account_id, &ctx->arena, &acct))
        return http_reply_error(ctx, 503, "database unavailable");
    http_reply_json(ctx, 200, api_account(ctx, txn, &acct, true));
}

static int images(void *arg)
{
    struct profile_req *r = arg;
    int rc = KITH_OK;
    if (r->avatar_bytes.len)
        rc = media_import_fitted(r->cfg, r->dir, r->avatar_bytes, 400, 400, &r->avatar, r->why,
                                 sizeof(r->why));
    if (rc == KITH_OK && r->header_bytes.len)
        rc = media_import_fitted(r->cfg, r->dir, r->header_bytes, 1500, 500, &r->header, r->why,
                                 sizeof(r->why));
    return rc;
}

static void imaged(struct http_ctx *ctx, int rc, void *arg)
{
    struct profile_req *r = arg;
    if (rc == KITH_ETOOBIG)
        return http_reply_error(ctx, 413, "%s", r->why);
    if (rc)
        return http_reply_error(ctx, 422, "Validation failed: %s", r->why);
    if (http_write(ctx, apply_profile, r, saved, r))
        http_reply_error(ctx, 503, "the server is stopping");
}

static struct profile_req *req_new(struct http_ctx *ctx, struct api_who *who)
{
    struct profile_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->fed = http_app(ctx);
    r->cfg = http_core(ctx)->cfg;
    r->account_id = who->acct.id;
    snprintf(r->dir, sizeof(r->dir), "%s/media", store_data_dir(http_core(ctx)->st));
    return r;
}

/* fields_attributes[i][name], [value] (form, multipart or JSON) as JSON. */
static int read_fields(struct http_ctx *ctx, const struct api_params *p, struct profile_req *r)
{
    cJSON *arr = cJSON_CreateArray();
    bool any = false;
    for (int i = 0; i < 16; i++) {
        char kn[64], kv[64];
        snprintf(kn, sizeof(kn), "fields_attributes[%d][name]", i);
        snprintf(kv, sizeof(kv), "fields_attributes[%d][value]", i);
        const struct api_param *n = api_param_entry(p, kn), *v = api_param_entry(p, kv);
        if (!n && !v)
            continue;
        any = true;
        struct str name = n ? str_trim(n->value) : STR_NULL,
                   value = v ? str_trim(v->value) : STR_NULL;
        if (!name.len && !value.len)
            continue; /* an emptied row */
        if (cJSON_GetArraySize(arr) == FIELDS_MAX || chars(name) > FIELD_NAME_MAX ||
            chars(value) > FIELD_VALUE_MAX) {
            cJSON_Delete(arr);
            http_reply_error(ctx, 422,
                             "Validation failed: at most %d fields, names and values of "
                             "at most %d characters",
                             FIELDS_MAX, FIELD_VALUE_MAX);
            return -1;
        }
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", arena_str(&ctx->arena, name).ptr);
        cJSON_AddStringToObject(f, "value", arena_str(&ctx->arena, value).ptr);
        cJSON_AddItemToArray(arr, f);
    }
    if (any) {
        char *text = cJSON_PrintUnformatted(arr);
        r->fields_json = arena_str(&ctx->arena, str_from(text ? text : "[]"));
        free(text);
        r->fields_set = true;
    }
    cJSON_Delete(arr);
    return 0;
}

/* PATCH /api/v1/accounts/update_credentials */
static int handle_update(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "write:accounts", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct profile_req *r = req_new(ctx, &who);
    const struct api_param *e;
    if ((e = api_param_entry(&p, "display_name"))) {
        if (chars(e->value) > DISPLAY_NAME_MAX)
            return http_reply_error(ctx, 422,
                                    "Validation failed: display_name is longer than %d "
                                    "characters",
                                    DISPLAY_NAME_MAX),
                   HANDLER_DONE;
        r->display_set = true;
        r->display_name = arena_str(&ctx->arena, str_trim(e->value));
    }
    if ((e = api_param_entry(&p, "note"))) {
        if (chars(e->value) > NOTE_MAX)
            return http_reply_error(ctx, 422,
                                    "Validation failed: note is longer than %d "
                                    "characters",
                                    NOTE_MAX),
                   HANDLER_DONE;
        r->note_set = true;
        r->note = arena_str(&ctx->arena, e->value);
    }
    if ((e = api_param_entry(&p, "locked")))
        r->locked_set = true, r->locked = truthy(e->value);
    if ((e = api_param_entry(&p, "bot")))
        r->bot_set = true, r->bot = truthy(e->value);
    if ((e = api_param_entry(&p, "source[privacy]"))) {
        int v = api_visibility_parse(e->value);
        if (v < 0 || v == VIS_DIRECT)
            return http_reply_error(ctx, 422,
                                    "Validation failed: source[privacy] is public, "
                                    "unlisted or private"),
                   HANDLER_DONE;
        r->privacy_set = true;
        r->privacy = (uint8_t)v;
    }
    if ((e = api_param_entry(&p, "source[sensitive]")))
        r->sensitive_set = true, r->sensitive = truthy(e->value);
    if ((e = api_param_entry(&p, "source[language]"))) {
        struct str l = e->value;
        bool ok = l.len == 0 || l.len == 2 || l.len == 3;
        for (size_t i = 0; i < l.len && ok; i++)
            ok = l.ptr[i] >= 'a' && l.ptr[i] <= 'z';
        if (!ok)
            return http_reply_error(ctx, 422,
                                    "Validation failed: source[language] is an ISO 639 "
                                    "code"),
                   HANDLER_DONE;
        r->language_set = true;
        r->language = arena_str(&ctx->arena, l);
    }
    if (read_fields(ctx, &p, r))
        return HANDLER_DONE;
    if ((e = api_param_entry(&p, "avatar")) && e->value.len)
        r->avatar_bytes = e->value;
    if ((e = api_param_entry(&p, "header")) && e->value.len)
        r->header_bytes = e->value;
    int rc = r->avatar_bytes.len || r->header_bytes.len
                 ? http_offload(ctx, images, r, imaged, r)
                 : http_write(ctx, apply_profile, r, saved, r);
    if (rc)
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int clear(struct http_ctx *ctx, bool avatar)
{
    struct api_who who;
    if (!api_auth(ctx, "write:accounts", true, &who))
        return HANDLER_DONE;
    struct profile_req *r = req_new(ctx, &who);
    r->avatar_clear = avatar;
    r->header_clear = !avatar;
    if (http_write(ctx, apply_profile, r, saved, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_clear_avatar(struct http_ctx *ctx)
{
    return clear(ctx, true);
}
static int handle_clear_header(struct http_ctx *ctx)
{
    return clear(ctx, false);
}

const struct route profile_routes[] = {
    {"PATCH", "/api/v1/accounts/update_credentials", handle_update, ROUTE_BODY_UPLOAD,
     "write:accounts"},
    {"DELETE", "/api/v1/profile/avatar", handle_clear_avatar, 0, "write:accounts"},
    {"DELETE", "/api/v1/profile/header", handle_clear_header, 0, "write:accounts"},
};
