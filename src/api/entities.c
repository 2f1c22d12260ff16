/* src/api/entities.c: Mastodon entities as JSON (see entities.h). */
#include "entities.h"

#include "../base/clock.h"
#include "../base/err.h"

#include <string.h>

const char *api_time(struct arena *a, int64_t t)
{
    char out[32];
    clock_rfc3339(t, true, out);
    return arena_strdup(a, out);
}

static void add_s(cJSON *o, struct arena *a, const char *k, struct str v)
{
    cJSON_AddStringToObject(o, k, v.len ? arena_str(a, v).ptr : "");
}

/* The fields persons and communities share. */
static cJSON *account_base(struct http_ctx *ctx, uint64_t id, struct str name, struct str domain,
                           struct str display, struct str note, const char *url, const char *uri,
                           int64_t created)
{
    struct arena *a = &ctx->arena;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)id));
    add_s(o, a, "username", name);
    cJSON_AddStringToObject(o, "acct",
                            domain.len ? arena_printf(a, "%.*s@%.*s", (int)name.len, name.ptr,
                                                      (int)domain.len, domain.ptr)
                                       : arena_str(a, name).ptr);
    add_s(o, a, "display_name", display.len ? display : name);
    add_s(o, a, "note", note);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "uri", uri);
    const char *avatar = http_url(ctx, "/static/avatar.png");
    const char *header = http_url(ctx, "/static/header.png");
    cJSON_AddStringToObject(o, "avatar", avatar);
    cJSON_AddStringToObject(o, "avatar_static", avatar);
    cJSON_AddStringToObject(o, "header", header);
    cJSON_AddStringToObject(o, "header_static", header);
    cJSON_AddStringToObject(o, "created_at", api_time(a, created));
    cJSON_AddArrayToObject(o, "fields");
    cJSON_AddArrayToObject(o, "emojis");
    cJSON_AddNullToObject(o, "last_status_at");
    cJSON_AddNullToObject(o, "mute_expires_at");
    cJSON_AddFalseToObject(o, "noindex");
    cJSON_AddTrueToObject(o, "indexable");
    cJSON_AddFalseToObject(o, "hide_collections");
    return o;
}

cJSON *api_account(struct http_ctx *ctx, struct kv_txn *txn, const struct account *acct,
                   bool credential)
{
    bool local = !acct->uri.len;
    const char *uri = local ? http_url(ctx, "/u/%.*s", (int)acct->name.len, acct->name.ptr)
                            : arena_str(&ctx->arena, acct->uri).ptr;
    const char *url = local ? http_url(ctx, "/@%.*s", (int)acct->name.len, acct->name.ptr) : uri;
    cJSON *o = account_base(ctx, acct->id, acct->name, acct->domain, acct->display_name, acct->note,
                            url, uri, acct->created_at);
    cJSON_AddBoolToObject(o, "locked", acct->locked);
    cJSON_AddBoolToObject(o, "bot", acct->bot);
    cJSON_AddFalseToObject(o, "group");
    if (local)
        cJSON_AddTrueToObject(o, "discoverable");
    else
        cJSON_AddNullToObject(o, "discoverable");
    cJSON_AddNumberToObject(o, "followers_count", (double)prefix_count(txn, T_FOLLOWERS, acct->id));
    cJSON_AddNumberToObject(o, "following_count",
                            (double)(prefix_count(txn, T_FOLLOWS, acct->id) +
                                     prefix_count(txn, T_MEMBER_OF, acct->id)));
    cJSON_AddNumberToObject(o, "statuses_count",
                            (double)prefix_count(txn, T_AUTHOR_POSTS, acct->id));
    if (credential) {
        cJSON *src = cJSON_AddObjectToObject(o, "source");
        cJSON_AddStringToObject(src, "privacy", "public");
        cJSON_AddFalseToObject(src, "sensitive");
        add_s(src, &ctx->arena, "note", STR_NULL); /* the bio's source: edited later */
        cJSON_AddNullToObject(src, "language");
        cJSON_AddArrayToObject(src, "fields");
        uint64_t requests = 0; /* follows waiting for this locked person */
        struct kv_cursor *c;
        struct key8 k = key_id(acct->id);
        struct str key;
        if (kv_cursor_open(txn, T_FOLLOWERS, &c) == KITH_OK) {
            for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
                 rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
                 rc = kv_cursor_next(c, &key, NULL)) {
                struct key16 fk = key_pair(be64_get((const unsigned char *)key.ptr + 8), acct->id);
                struct follow f;
                if (rec_get(txn, T_FOLLOWS, KEY16(fk), &follow_desc, &ctx->arena, &f) == KITH_OK &&
                    f.state == FOLLOW_PENDING)
                    requests++;
            }
            kv_cursor_close(c);
        }
        cJSON_AddNumberToObject(src, "follow_requests_count", (double)requests);
        cJSON_AddTrueToObject(src, "indexable");
        cJSON_AddFalseToObject(src, "hide_collections");
        cJSON_AddTrueToObject(src, "discoverable");
    }
    return o;
}

cJSON *api_group(struct http_ctx *ctx, struct kv_txn *txn, const struct community *c)
{
    bool local = !c->uri.len;
    const char *uri = local ? http_url(ctx, "/c/%.*s", (int)c->name.len, c->name.ptr)
                            : arena_str(&ctx->arena, c->uri).ptr;
    cJSON *o = account_base(ctx, c->id, c->name, c->domain, c->title, c->description, uri, uri,
                            c->created_at);
    cJSON_AddBoolToObject(o, "locked", c->join_mode == JOIN_APPROVAL);
    cJSON_AddFalseToObject(o, "bot");
    cJSON_AddTrueToObject(o, "group");
    cJSON_AddTrueToObject(o, "discoverable");
    cJSON_AddNumberToObject(o, "followers_count", (double)prefix_count(txn, T_MEMBERS, c->id));
    cJSON_AddNumberToObject(o, "following_count", 0);
    cJSON_AddNumberToObject(o, "statuses_count",
                            (double)prefix_count(txn, T_COMMUNITY_POSTS, c->id));
    return o;
}
