/* src/api/instance.c: /api/v1/instance and /api/v2/instance: who this
 * server is and what it allows. Clients read their features from here
 * (mastodon-api.md 0.2-0.3): the version says "4.2.0 (compatible; kith X)"
 * and nothing newer is claimed. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/buf.h"
#include "../base/err.h"
#include "../base/version.h"

#include <string.h>

#define COMPAT_VERSION "4.2.0 (compatible; kith " KITH_VERSION ")"

struct find_admin {
    struct account acct;
    bool found;
};

static int first_admin(const struct account *a, void *arg)
{
    struct find_admin *f = arg;
    if (!f->found && a->role == ROLE_ADMIN && a->state == ACCOUNT_ACTIVE) {
        f->acct = *a;
        f->found = true;
    }
    return KITH_OK;
}

static cJSON *contact_account(struct http_ctx *ctx, struct kv_txn *txn)
{
    struct find_admin f = {.found = false};
    account_each_local(txn, &ctx->arena, first_admin, &f);
    if (!f.found) { /* an instance always has one; keep the shape regardless */
        memset(&f.acct, 0, sizeof(f.acct));
        f.acct.name = STR_LIT("admin");
    }
    return api_account(ctx, txn, &f.acct, false);
}

static const char *streaming_url(struct http_ctx *ctx)
{
    const char *pub = http_core(ctx)->cfg->public_url;
    bool tls = strncmp(pub, "https://", 8) == 0;
    return arena_printf(&ctx->arena, "%s%s", tls ? "wss://" : "ws://", pub + (tls ? 8 : 7));
}

static void add_limits(cJSON *conf, bool v2, struct http_ctx *ctx, struct kv_txn *txn)
{
    cJSON *acc = cJSON_AddObjectToObject(conf, "accounts");
    cJSON_AddNumberToObject(acc, "max_featured_tags", 0); /* featured tags are not served */
    cJSON_AddNumberToObject(acc, "max_pinned_statuses", 5);
    cJSON *st = cJSON_AddObjectToObject(conf, "statuses");
    cJSON_AddNumberToObject(st, "max_characters", 5000);
    cJSON_AddNumberToObject(st, "max_media_attachments", 4);
    cJSON_AddNumberToObject(st, "characters_reserved_per_url", 23);
    cJSON *m = cJSON_AddObjectToObject(conf, "media_attachments");
    /* What core/media.c takes (its sniffer's list), and the config's limits. */
    static const char *const types[] = {"image/jpeg", "image/png",       "image/gif",  "image/webp",
                                        "video/mp4",  "video/quicktime", "video/webm", "audio/mpeg",
                                        "audio/ogg",  "audio/wav",       "audio/flac", "audio/mp4"};
    const struct kith_config *cfg = http_core(ctx)->cfg;
    cJSON_AddItemToObject(m, "supported_mime_types",
                          cJSON_CreateStringArray(types, sizeof(types) / sizeof(types[0])));
    cJSON_AddNumberToObject(m, "image_size_limit", (double)cfg->media_max_image_bytes);
    cJSON_AddNumberToObject(m, "image_matrix_limit", (double)cfg->media_max_image_pixels);
    cJSON_AddNumberToObject(m, "video_size_limit", (double)cfg->media_max_video_bytes);
    cJSON_AddNumberToObject(m, "video_frame_rate_limit", 120);
    cJSON_AddNumberToObject(m, "video_matrix_limit", 8294400);
    cJSON *p = cJSON_AddObjectToObject(conf, "polls");
    cJSON_AddNumberToObject(p, "max_options", 4);
    cJSON_AddNumberToObject(p, "max_characters_per_option", 50);
    cJSON_AddNumberToObject(p, "min_expiration", 300);
    cJSON_AddNumberToObject(p, "max_expiration", 2629746);
    if (v2) {
        cJSON_AddFalseToObject(cJSON_AddObjectToObject(conf, "translation"), "enabled");
        cJSON *urls = cJSON_AddObjectToObject(conf, "urls");
        cJSON_AddStringToObject(urls, "streaming", streaming_url(ctx));
        struct str key;
        cJSON *vapid = cJSON_AddObjectToObject(conf, "vapid");
        cJSON_AddStringToObject(vapid, "public_key",
                                kv_get(txn, T_META, STR_LIT("vapid_public_key"), &key) == KITH_OK
                                    ? arena_strndup(&ctx->arena, key.ptr, key.len)
                                    : "");
    }
}

static uint64_t counter(struct kv_txn *txn, const char *name)
{
    uint64_t n = 0;
    counter_get(txn, name, &n);
    return n;
}

/* The servers of the actors kith knows (table actor_uris, in URI order: one
 * seek a server), as Mastodon counts and lists its peers; arr (may be
 * NULL) gets each host[:port]. */
static uint64_t peers(struct kv_txn *txn, struct arena *a, cJSON *arr)
{
    struct kv_cursor *c;
    struct str key;
    uint64_t n = 0;
    if (kv_cursor_open(txn, T_ACTOR_URIS, &c))
        return 0;
    int rc = kv_cursor_first(c, &key, NULL);
    while (rc == KITH_OK && n < 100000) {
        struct str host = str_url_authority(key);
        if (!host.len) {
            rc = kv_cursor_next(c, &key, NULL);
            continue;
        }
        n++;
        if (arr)
            cJSON_AddItemToArray(arr, cJSON_CreateString(arena_str(a, host).ptr));
        /* Past every URI of this server: "scheme://host" then '0', above '/'. */
        size_t plen = (size_t)(host.ptr + host.len - key.ptr);
        char *next = arena_alloc(a, plen + 1);
        memcpy(next, key.ptr, plen);
        next[plen] = '0';
        rc = kv_cursor_seek(c, str_make(next, plen + 1), &key, NULL);
    }
    kv_cursor_close(c);
    return n;
}

static int handle_v2(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    const struct kith_config *cfg = http_core(ctx)->cfg;
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "domain", cfg->domain);
    cJSON_AddStringToObject(o, "title", cfg->title ? cfg->title : cfg->domain);
    cJSON_AddStringToObject(o, "version", COMPAT_VERSION);
    cJSON_AddStringToObject(o, "source_url", http_url(ctx, "/"));
    cJSON_AddStringToObject(o, "description", cfg->description ? cfg->description : "");
    cJSON *users = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "usage"), "users");
    /* Local people (kith does not track monthly activity yet). */
    cJSON_AddNumberToObject(users, "active_month", (double)counter(txn, "local_users"));
    /* A default image until the admin sets one (masto.js expects an object). */
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "thumbnail"), "url",
                            http_url(ctx, "/static/header.png"));
    static const char *const langs[] = {"en"};
    cJSON_AddItemToObject(o, "languages", cJSON_CreateStringArray(langs, 1));
    add_limits(cJSON_AddObjectToObject(o, "configuration"), true, ctx, txn);
    cJSON *reg = cJSON_AddObjectToObject(o, "registrations");
    cJSON_AddBoolToObject(reg, "enabled", cfg->registrations != REG_CLOSED);
    cJSON_AddBoolToObject(reg, "approval_required", cfg->registrations == REG_APPROVAL);
    cJSON_AddNullToObject(reg, "message");
    cJSON_AddNullToObject(reg, "url");
    cJSON *contact = cJSON_AddObjectToObject(o, "contact");
    cJSON_AddStringToObject(contact, "email", cfg->contact_email ? cfg->contact_email : "");
    cJSON_AddItemToObject(contact, "account", contact_account(ctx, txn));
    cJSON_AddArrayToObject(o, "rules");
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

static int handle_v1(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    const struct kith_config *cfg = http_core(ctx)->cfg;
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uri", cfg->domain);
    cJSON_AddStringToObject(o, "title", cfg->title ? cfg->title : cfg->domain);
    cJSON_AddStringToObject(o, "short_description", cfg->description ? cfg->description : "");
    cJSON_AddStringToObject(o, "description", cfg->description ? cfg->description : "");
    cJSON_AddStringToObject(o, "email", cfg->contact_email ? cfg->contact_email : "");
    cJSON_AddStringToObject(o, "version", COMPAT_VERSION);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "urls"), "streaming_api",
                            streaming_url(ctx));
    cJSON *stats = cJSON_AddObjectToObject(o, "stats");
    cJSON_AddNumberToObject(stats, "user_count", (double)counter(txn, "local_users"));
    cJSON_AddNumberToObject(stats, "status_count",
                            (double)(counter(txn, "local_posts") + counter(txn, "local_comments")));
    uint64_t domains = 0;
    domains = peers(txn, &ctx->arena, NULL);
    cJSON_AddNumberToObject(stats, "domain_count", (double)domains);
    cJSON_AddStringToObject(o, "thumbnail", http_url(ctx, "/static/header.png"));
    static const char *const langs[] = {"en"};
    cJSON_AddItemToObject(o, "languages", cJSON_CreateStringArray(langs, 1));
    cJSON_AddBoolToObject(o, "registrations", cfg->registrations != REG_CLOSED);
    cJSON_AddBoolToObject(o, "approval_required", cfg->registrations == REG_APPROVAL);
    cJSON_AddFalseToObject(o, "invites_enabled");
    add_limits(cJSON_AddObjectToObject(o, "configuration"), false, ctx, txn);
    cJSON_AddItemToObject(o, "contact_account", contact_account(ctx, txn));
    cJSON_AddArrayToObject(o, "rules");
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

/* GET /api/v1/custom_emojis: kith has no custom emoji (empty by design,
 * docs/api.md); apps show their picker without them. */
static int handle_emojis(struct http_ctx *ctx)
{
    http_reply_json(ctx, 200, cJSON_CreateArray());
    return HANDLER_DONE;
}

/* GET /api/v1/announcements: instance announcements are not written in
 * kith yet (empty by design until they are, docs/api.md). */
static int handle_announcements(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, "read", true, &who))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, cJSON_CreateArray());
    return HANDLER_DONE;
}

/* GET /api/v1/instance/peers */
static int handle_peers(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    cJSON *arr = cJSON_CreateArray();
    peers(txn, &ctx->arena, arr);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* GET /api/v1/instance/extended_description: the configured description,
 * as HTML, dated by the instance's creation. */
static int handle_extended_description(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    uint64_t created = 0;
    const char *d = http_core(ctx)->cfg->description;
    if (http_read_txn(ctx, &txn) == KITH_OK)
        meta_get_u64(txn, "created_at", &created);
    struct buf b;
    buf_init(&b, 64 << 10);
    if (d && *d) {
        buf_add_cstr(&b, "<p>");
        buf_add_html(&b, str_from(d));
        buf_add_cstr(&b, "</p>");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "updated_at", api_time(&ctx->arena, (int64_t)created));
    cJSON_AddStringToObject(o, "content", arena_str(&ctx->arena, buf_str(&b)).ptr);
    buf_free(&b);
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

/* Lists kith keeps nothing in (empty by design, docs/api.md; Mastodon's
 * apps show an empty screen): instance rules (not written yet), trends
 * (not computed), suggestions, endorsements and featured tags (not
 * offered). */
static int handle_empty(struct http_ctx *ctx)
{
    http_reply_json(ctx, 200, cJSON_CreateArray());
    return HANDLER_DONE;
}

static int handle_empty_signed_in(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    return handle_empty(ctx);
}

const struct route instance_routes[] = {
    {"GET", "/api/v1/instance", handle_v1, 0, NULL},
    {"GET", "/api/v2/instance", handle_v2, 0, NULL},
    {"GET", "/api/v1/custom_emojis", handle_emojis, 0, NULL},
    {"GET", "/api/v1/announcements", handle_announcements, 0, "read"},
    {"GET", "/api/v1/instance/peers", handle_peers, 0, NULL},
    {"GET", "/api/v1/instance/rules", handle_empty, 0, NULL},
    {"GET", "/api/v1/instance/extended_description", handle_extended_description, 0, NULL},
    {"GET", "/api/v1/trends", handle_empty, 0, NULL},
    {"GET", "/api/v1/trends/tags", handle_empty, 0, NULL},
    {"GET", "/api/v1/trends/statuses", handle_empty, 0, NULL},
    {"GET", "/api/v1/trends/links", handle_empty, 0, NULL},
    {"GET", "/api/v1/suggestions", handle_empty_signed_in, 0, "read"},
    {"GET", "/api/v2/suggestions", handle_empty_signed_in, 0, "read"},
    {"GET", "/api/v1/endorsements", handle_empty_signed_in, 0, "read:accounts"},
    {"GET", "/api/v1/featured_tags", handle_empty_signed_in, 0, "read:accounts"},
    {"GET", "/api/v1/accounts/{id}/featured_tags", handle_empty, 0, NULL},
};
