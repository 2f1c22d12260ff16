/* src/api/entities.c: Mastodon entities as JSON (see entities.h). */
#include "entities.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_time(struct arena *a, int64_t t)
{
    char out[32];
    clock_rfc3339(t, true, out);
    return arena_strdup(a, out);
}

/* An integer as JSON: written as digits (cJSON would print a double, then
 * read it back to check it). */
static void add_uint(cJSON *o, const char *k, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    cJSON_AddRawToObject(o, k, num);
}

static void add_s(cJSON *o, struct arena *a, const char *k, struct str v)
{
    cJSON_AddStringToObject(o, k, v.len ? arena_str(a, v).ptr : "");
}

/* The fields persons and communities share. */
/* Profile fields (JSON [{name, value}]) as Mastodon's Field entities. */
static cJSON *fields_of(struct arena *a, struct str fields_json, bool html)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *in = fields_json.len ? cJSON_ParseWithLength(fields_json.ptr, fields_json.len) : NULL;
    for (cJSON *f = cJSON_IsArray(in) ? in->child : NULL; f; f = f->next) {
        cJSON *n = cJSON_GetObjectItem(f, "name"), *v = cJSON_GetObjectItem(f, "value");
        if (!cJSON_IsString(n) || !cJSON_IsString(v))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", n->valuestring);
        struct buf b;
        buf_init(&b, 8192);
        if (html)
            buf_add_html(&b, str_from(v->valuestring));
        else
            buf_add_cstr(&b, v->valuestring);
        cJSON_AddStringToObject(o, "value", arena_str(a, buf_str(&b)).ptr);
        buf_free(&b);
        cJSON_AddNullToObject(o, "verified_at");
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_Delete(in);
    return arr;
}

static cJSON *account_base(struct http_ctx *ctx, uint64_t id, struct str name, struct str domain,
                           struct str display, struct str note, const char *url, const char *uri,
                           int64_t created, struct str avatar_url, struct str header_url,
                           struct str fields_json)
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
    const char *avatar =
        avatar_url.len ? arena_str(a, avatar_url).ptr : http_url(ctx, "/static/avatar.png");
    const char *header =
        header_url.len ? arena_str(a, header_url).ptr : http_url(ctx, "/static/header.png");
    cJSON_AddStringToObject(o, "avatar", avatar);
    cJSON_AddStringToObject(o, "avatar_static", avatar);
    cJSON_AddStringToObject(o, "header", header);
    cJSON_AddStringToObject(o, "header_static", header);
    cJSON_AddStringToObject(o, "created_at", api_time(a, created));
    cJSON_AddItemToObject(o, "fields", fields_of(a, fields_json, true));
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
    cJSON *o =
        account_base(ctx, acct->id, acct->name, acct->domain, acct->display_name, acct->note, url,
                     uri, acct->created_at, acct->avatar, acct->header, acct->fields_json);
    cJSON_AddBoolToObject(o, "locked", acct->locked);
    cJSON_AddBoolToObject(o, "bot", acct->bot);
    cJSON_AddFalseToObject(o, "group");
    if (local)
        cJSON_AddTrueToObject(o, "discoverable");
    else
        cJSON_AddNullToObject(o, "discoverable");
    add_uint(o, "followers_count", (uint64_t)((double)prefix_count(txn, T_FOLLOWERS, acct->id)));
    add_uint(o, "following_count",
             (uint64_t)((double)(prefix_count(txn, T_FOLLOWS, acct->id) +
                                 prefix_count(txn, T_MEMBER_OF, acct->id))));
    add_uint(o, "statuses_count", (uint64_t)((double)statuses_count(txn, acct->id, false)));
    if (credential) {
        cJSON *src = cJSON_AddObjectToObject(o, "source");
        cJSON_AddStringToObject(src, "privacy", api_visibility(acct->default_visibility));
        cJSON_AddBoolToObject(src, "sensitive", acct->default_sensitive);
        add_s(src, &ctx->arena, "note", acct->note_source);
        if (acct->default_language.len)
            add_s(src, &ctx->arena, "language", acct->default_language);
        else
            cJSON_AddNullToObject(src, "language");
        cJSON_AddItemToObject(src, "fields", fields_of(&ctx->arena, acct->fields_json, false));
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
        add_uint(src, "follow_requests_count", (uint64_t)((double)requests));
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
                            c->created_at, STR_NULL, STR_NULL, STR_NULL);
    cJSON_AddBoolToObject(o, "locked", c->join_mode == JOIN_APPROVAL);
    cJSON_AddFalseToObject(o, "bot");
    cJSON_AddTrueToObject(o, "group");
    cJSON_AddTrueToObject(o, "discoverable");
    add_uint(o, "followers_count", (uint64_t)((double)prefix_count(txn, T_MEMBERS, c->id)));
    add_uint(o, "following_count", (uint64_t)(0));
    add_uint(o, "statuses_count", (uint64_t)((double)statuses_count(txn, c->id, true)));
    return o;
}

/* ---- statuses ---- */

static const char *const api_vis[] = {"public", "unlisted", "private", "direct"};

const char *api_visibility(uint8_t v)
{
    return v < 4 ? api_vis[v] : "public";
}

int api_visibility_parse(struct str s)
{
    for (int i = 0; i < 4; i++)
        if (str_eq(s, str_from(api_vis[i])))
            return i;
    return -1;
}

/* Accounts rendered on this loop from the newest snapshot: nothing an
 * Account shows changes without a commit, so the printed text is reused
 * across requests reading the same snapshot (the same transaction id). */
#define ACTOR_CACHE 2048 /* slots, a power of two */

#define STATUS_CACHE 4096 /* slots, a power of two */

struct actor_cache {
    uint64_t txn_id; /* the snapshot the entries were rendered from */
    uint64_t ids[ACTOR_CACHE];
    char *text[ACTOR_CACHE];
    /* Statuses as nobody in particular sees them, without the closing
     * brace (a boost: its fields before "reblog"): the viewer's own
     * fields are added per request. */
    uint64_t sids[STATUS_CACHE];
    char *stext[STATUS_CACHE];
};

static void actor_cache_free(void *p)
{
    struct actor_cache *c = p;
    for (size_t i = 0; i < ACTOR_CACHE; i++)
        free(c->text[i]);
    for (size_t i = 0; i < STATUS_CACHE; i++)
        free(c->stext[i]);
    free(c);
}

/* This loop's cache for a request reading txn: emptied when txn is a newer
 * snapshot; NULL (no cache) for a request reading an older one. */
static struct actor_cache *actor_cache(struct http_ctx *ctx, struct kv_txn *txn)
{
    struct actor_cache *c = http_thread_cache(ctx);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return NULL;
        http_thread_set_cache(ctx, c, actor_cache_free);
    }
    uint64_t id = kv_txn_id(txn);
    if (id < c->txn_id)
        return NULL;
    if (id > c->txn_id) {
        for (size_t i = 0; i < ACTOR_CACHE; i++) {
            free(c->text[i]);
            c->text[i] = NULL;
            c->ids[i] = 0;
        }
        for (size_t i = 0; i < STATUS_CACHE; i++) {
            free(c->stext[i]);
            c->stext[i] = NULL;
            c->sids[i] = 0;
        }
        c->txn_id = id;
    }
    return c;
}

void status_view_init(struct status_view *v, struct http_ctx *ctx, struct kv_txn *txn,
                      const struct account *viewer)
{
    memset(v, 0, sizeof(*v));
    v->ctx = ctx;
    v->txn = txn;
    v->cache = txn ? actor_cache(ctx, txn) : NULL;
    if (viewer && viewer->id && txn)
        v->nfilters = api_filters_load(txn, viewer->id, &ctx->arena, v->filters,
                                       sizeof(v->filters) / sizeof(v->filters[0]));
    if (viewer && viewer->id) {
        v->viewer = viewer->id;
        v->viewer_url = http_url(ctx, "/u/%.*s", (int)viewer->name.len, viewer->name.ptr);
    }
}

void status_view_done(struct status_view *v)
{
    for (size_t i = 0; i < v->nmemo; i++)
        free(v->memo[i]);
    v->nmemo = 0;
}

static const char *id_str(struct arena *a, uint64_t id)
{
    return arena_printf(a, "%llu", (unsigned long long)id);
}

cJSON *api_actor(struct status_view *v, uint64_t id)
{
    /* Rendered once a request: later uses insert the printed text. */
    for (size_t i = 0; i < v->nmemo; i++)
        if (v->memo_id[i] == id)
            return cJSON_CreateRaw(v->memo[i]);
    struct actor_cache *cache = v->cache;
    size_t slot = (size_t)(id * 0x9E3779B97F4A7C15ull >> 40) & (ACTOR_CACHE - 1);
    if (cache && cache->ids[slot] == id && cache->text[slot])
        return cJSON_CreateRaw(cache->text[slot]);
    struct account acct;
    struct community c;
    cJSON *o = NULL;
    if (account_get(v->txn, id, &v->ctx->arena, &acct) == KITH_OK)
        o = api_account(v->ctx, v->txn, &acct, false);
    else if (community_get(v->txn, id, &v->ctx->arena, &c) == KITH_OK)
        o = api_group(v->ctx, v->txn, &c);
    if (o && cache) {
        char *text = cJSON_PrintUnformatted(o);
        if (text) {
            free(cache->text[slot]);
            cache->ids[slot] = id;
            cache->text[slot] = text;
            cJSON_Delete(o);
            return cJSON_CreateRaw(text);
        }
    } else if (o && v->nmemo < VIEW_MEMO) {
        char *text = cJSON_PrintUnformatted(o);
        if (text) {
            v->memo_id[v->nmemo] = id;
            v->memo[v->nmemo++] = text;
            cJSON_Delete(o);
            return cJSON_CreateRaw(text);
        }
    }
    return o;
}

bool api_muted(struct status_view *v, uint64_t id)
{
    return v->viewer && (block_has(v->txn, v->viewer, id) || mute_has(v->txn, v->viewer, id, NULL));
}

bool api_hidden(struct status_view *v, uint64_t status_id)
{
    struct post p;
    struct reblog r;
    if (!v->viewer)
        return false;
    if (reblog_get(v->txn, status_id, &v->ctx->arena, &r) == KITH_OK) {
        if (api_muted(v, r.community_id ? r.community_id : r.account_id))
            return true;
        status_id = r.post_id;
    }
    return post_get(v->txn, status_id, &v->ctx->arena, &p) == KITH_OK && api_muted(v, p.author_id);
}

bool api_filtered_out(struct status_view *v, uint64_t status_id)
{
    struct post p;
    struct reblog r;
    if (!v->nfilters || !v->context)
        return false;
    if (reblog_get(v->txn, status_id, &v->ctx->arena, &r) == KITH_OK)
        status_id = r.post_id;
    return post_get(v->txn, status_id, &v->ctx->arena, &p) == KITH_OK &&
           api_filter_apply(v, &p, NULL) == 1;
}

bool api_can_see(struct status_view *v, const struct post *p)
{
    if (p->deleted_at)
        return false;
    if (v->viewer && block_has(v->txn, p->author_id, v->viewer))
        return false; /* the author blocked the viewer */
    if (p->visibility <= VIS_UNLISTED && !p->community_id)
        return true;
    if (v->viewer && p->author_id == v->viewer)
        return true;
    if (v->viewer_url && recipients_has(p->recipients, str_from(v->viewer_url)))
        return true;
    if (p->community_id) {
        struct community c;
        struct membership m;
        if (community_get(v->txn, p->community_id, &v->ctx->arena, &c))
            return false;
        if (c.join_mode != JOIN_APPROVAL && p->visibility <= VIS_UNLISTED)
            return true;
        return v->viewer &&
               membership_get(v->txn, c.id, v->viewer, &v->ctx->arena, &m) == KITH_OK &&
               m.role >= MEMBER_MEMBER && !m.banned;
    }
    if (p->visibility == VIS_DIRECT || !v->viewer)
        return false;
    struct key16 k = key_pair(v->viewer, p->author_id);
    struct follow f;
    return rec_get(v->txn, T_FOLLOWS, KEY16(k), &follow_desc, &v->ctx->arena, &f) == KITH_OK &&
           f.state == FOLLOW_ACCEPTED;
}

/* Mention entities for the people a post names. */
static cJSON *mentions_json(struct status_view *v, const struct post *p)
{
    struct arena *a = &v->ctx->arena;
    const struct kith_config *cfg = http_core(v->ctx)->cfg;
    cJSON *arr = cJSON_CreateArray();
    const char *s = p->recipients.ptr, *end = s + p->recipients.len;
    size_t base = strlen(cfg->public_url);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str uri = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
        struct account acct;
        struct community c;
        uint8_t kind = 0;
        uint64_t id;
        int rc = KITH_ENOTFOUND;
        bool local = uri.len > base + 3 && memcmp(uri.ptr, cfg->public_url, base) == 0;
        struct str tail = local ? str_make(uri.ptr + base + 3, uri.len - base - 3) : STR_NULL;
        if (local && memcmp(uri.ptr + base, "/u/", 3) == 0)
            rc = account_get_local(v->txn, tail, a, &acct);
        else if (local && memcmp(uri.ptr + base, "/c/", 3) == 0)
            rc = community_get_local(v->txn, tail, a, &c);
        else if (actor_uri_lookup(v->txn, uri, &kind, &id) == KITH_OK)
            rc = kind == NAME_ACCOUNT ? account_get(v->txn, id, a, &acct)
                                      : community_get(v->txn, id, a, &c);
        if (rc)
            continue;
        if ((local && memcmp(uri.ptr + base, "/c/", 3) == 0) || kind == NAME_COMMUNITY) {
            /* A community named: listed as the group account it is. */
            acct = (struct account){.id = c.id, .name = c.name, .domain = c.domain, .uri = c.uri};
        }
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", id_str(a, acct.id));
        add_s(m, a, "username", acct.name);
        cJSON_AddStringToObject(m, "acct",
                                acct.domain.len ? arena_printf(a, "%.*s@%.*s", (int)acct.name.len,
                                                               acct.name.ptr, (int)acct.domain.len,
                                                               acct.domain.ptr)
                                                : arena_str(a, acct.name).ptr);
        bool group = kind == NAME_COMMUNITY || (local && memcmp(uri.ptr + base, "/c/", 3) == 0);
        cJSON_AddStringToObject(
            m, "url",
            acct.uri.len ? arena_str(a, acct.uri).ptr
            : group      ? arena_str(a, uri).ptr
                         : http_url(v->ctx, "/@%.*s", (int)acct.name.len, acct.name.ptr));
        cJSON_AddItemToArray(arr, m);
    }
    return arr;
}

/* MediaAttachment entities for the files a post refers to. */
static cJSON *media_json(struct status_view *v, const struct post *p)
{
    struct arena *a = &v->ctx->arena;
    cJSON *arr = cJSON_CreateArray();
    if (p->media_ids.len) { /* uploads made here */
        const char *s = p->media_ids.ptr, *end = s + p->media_ids.len;
        while (s < end) {
            const char *comma = memchr(s, ',', (size_t)(end - s));
            uint64_t id = 0;
            for (const char *c = s; c < (comma ? comma : end); c++)
                id = id * 10 + (uint64_t)(*c - '0');
            s = comma ? comma + 1 : end;
            struct key8 k = key_id(id);
            struct media_rec m;
            if (rec_get(v->txn, T_MEDIA, KEY8(k), &media_desc, a, &m) == KITH_OK)
                cJSON_AddItemToArray(arr, api_media(v->ctx, &m));
        }
        return arr;
    }
    cJSON *att =
        p->attachments.len ? cJSON_ParseWithLength(p->attachments.ptr, p->attachments.len) : NULL;
    int i = 0;
    for (cJSON *e = cJSON_IsArray(att) ? att->child : NULL; e; e = e->next, i++) {
        cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
        cJSON *mt = cJSON_GetObjectItemCaseSensitive(e, "mediaType");
        if (!cJSON_IsString(url))
            continue;
        const char *type = "unknown";
        if (cJSON_IsString(mt)) {
            if (strncmp(mt->valuestring, "image/gif", 9) == 0)
                type = "gifv";
            else if (strncmp(mt->valuestring, "image/", 6) == 0)
                type = "image";
            else if (strncmp(mt->valuestring, "video/", 6) == 0)
                type = "video";
            else if (strncmp(mt->valuestring, "audio/", 6) == 0)
                type = "audio";
        }
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id",
                                arena_printf(a, "%llu%02d", (unsigned long long)p->id, i % 100));
        cJSON_AddStringToObject(m, "type", type);
        cJSON_AddStringToObject(m, "url", url->valuestring);
        cJSON_AddStringToObject(m, "preview_url", url->valuestring);
        cJSON_AddStringToObject(m, "remote_url", url->valuestring);
        cJSON_AddNullToObject(m, "preview_remote_url");
        cJSON *meta = cJSON_AddObjectToObject(m, "meta");
        cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "width");
        cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "height");
        if (cJSON_IsNumber(w) && cJSON_IsNumber(h) && w->valuedouble > 0 && h->valuedouble > 0) {
            cJSON *orig = cJSON_AddObjectToObject(meta, "original");
            cJSON_AddNumberToObject(orig, "width", w->valuedouble);
            cJSON_AddNumberToObject(orig, "height", h->valuedouble);
            cJSON_AddStringToObject(orig, "size",
                                    arena_printf(a, "%.0fx%.0f", w->valuedouble, h->valuedouble));
            cJSON_AddNumberToObject(orig, "aspect", w->valuedouble / h->valuedouble);
            cJSON_AddItemToObject(meta, "small", cJSON_Duplicate(orig, true));
        }
        cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(name) && *name->valuestring)
            cJSON_AddStringToObject(m, "description", name->valuestring);
        else
            cJSON_AddNullToObject(m, "description");
        cJSON *bh = cJSON_GetObjectItemCaseSensitive(e, "blurhash");
        if (cJSON_IsString(bh))
            cJSON_AddStringToObject(m, "blurhash", bh->valuestring);
        else
            cJSON_AddNullToObject(m, "blurhash"); /* the origin sent none */
        cJSON_AddItemToArray(arr, m);
    }
    cJSON_Delete(att);
    return arr;
}

/* Tag entities for the post's #hashtags. */
static cJSON *tags_json(struct status_view *v, const struct post *p)
{
    struct arena *a = &v->ctx->arena;
    cJSON *arr = cJSON_CreateArray();
    struct str tags[16];
    size_t n = post_hashtags(p->content, tags, 16);
    for (size_t i = 0; i < n; i++) {
        const char *name = arena_str(a, tags[i]).ptr;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "url", http_url(v->ctx, "/tags/%s", name));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

cJSON *api_poll(struct status_view *v, const struct post *p)
{
    struct arena *a = &v->ctx->arena;
    struct poll_view pv;
    poll_read(p, &pv);
    if (!pv.n)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)p->id));
    if (p->poll_expires_at)
        cJSON_AddStringToObject(o, "expires_at", api_time(a, p->poll_expires_at));
    else
        cJSON_AddNullToObject(o, "expires_at");
    cJSON_AddBoolToObject(o, "expired", poll_expired(p, wall_seconds()));
    cJSON_AddBoolToObject(o, "multiple", p->poll_multiple);
    add_uint(o, "votes_count", (uint64_t)((double)pv.total));
    if (p->poll_multiple)
        add_uint(o, "voters_count", (uint64_t)(p->poll_voters));
    else
        add_uint(o, "voters_count", (uint64_t)((double)pv.total));
    cJSON *opts = cJSON_AddArrayToObject(o, "options");
    /* hide_totals: each option's count is null until the poll ends, but for
     * its author (Mastodon's way). */
    bool hidden = p->poll_hide_totals && !poll_expired(p, wall_seconds()) &&
                  (!v->viewer || v->viewer != p->author_id);
    for (size_t i = 0; i < pv.n; i++) {
        cJSON *opt = cJSON_CreateObject();
        cJSON_AddStringToObject(opt, "title", arena_str(a, pv.titles[i]).ptr);
        if (hidden)
            cJSON_AddNullToObject(opt, "votes_count");
        else
            add_uint(opt, "votes_count", (uint64_t)((double)pv.counts[i]));
        cJSON_AddItemToArray(opts, opt);
    }
    cJSON_AddArrayToObject(o, "emojis");
    if (v->viewer) {
        uint8_t own[64];
        size_t n = poll_own_votes(v->txn, p->id, v->viewer, own, sizeof(own));
        cJSON_AddBoolToObject(o, "voted", n > 0 || p->author_id == v->viewer);
        cJSON *ov = cJSON_AddArrayToObject(o, "own_votes");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(ov, cJSON_CreateNumber(own[i]));
    }
    return o;
}

/* Does the text of html (tags left out) hold title near its start? */
static bool title_in_text(struct str title, struct str html)
{
    char text[1024];
    size_t n = 0;
    bool in_tag = false;
    for (size_t i = 0; i < html.len && n < sizeof(text) - 1 && n < 2 * title.len + 200; i++) {
        char ch = html.ptr[i];
        if (ch == '<')
            in_tag = true;
        else if (ch == '>')
            in_tag = false;
        else if (!in_tag)
            text[n++] = ch;
    }
    return title.len && memmem(text, n, title.ptr, title.len) != NULL;
}

cJSON *api_status_post(struct status_view *v, const struct post *p)
{
    struct arena *a = &v->ctx->arena;
    const struct kith_config *cfg = http_core(v->ctx)->cfg;
    cJSON *account = api_actor(v, p->author_id);
    if (!account)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    const char *uri = post_url(a, cfg, p);
    cJSON_AddStringToObject(o, "id", id_str(a, p->id));
    cJSON_AddStringToObject(o, "uri", uri);
    cJSON_AddStringToObject(o, "url", uri);
    cJSON_AddItemToObject(o, "account", account);
    struct post parent;
    if (p->parent_id && post_get(v->txn, p->parent_id, a, &parent) == KITH_OK) {
        cJSON_AddStringToObject(o, "in_reply_to_id", id_str(a, parent.id));
        cJSON_AddStringToObject(o, "in_reply_to_account_id", id_str(a, parent.author_id));
    } else {
        cJSON_AddNullToObject(o, "in_reply_to_id");
        cJSON_AddNullToObject(o, "in_reply_to_account_id");
    }
    cJSON_AddNullToObject(o, "reblog");
    if (p->title.len && !title_in_text(p->title, p->content)) {
        /* A community post: its title first, then its link (unless the text
         * already begins with it, as a post made from a Mastodon app does). */
        struct buf b;
        buf_init(&b, 4u << 20);
        buf_add_cstr(&b, "<p><strong>");
        buf_add_html(&b, p->title);
        buf_add_cstr(&b, "</strong></p>");
        if (p->url.len) {
            buf_add_cstr(&b, "<p><a href=\"");
            buf_add_html(&b, p->url);
            buf_add_cstr(&b, "\" rel=\"nofollow noopener noreferrer\">");
            buf_add_html(&b, p->url);
            buf_add_cstr(&b, "</a></p>");
        }
        buf_add_str(&b, p->content);
        cJSON_AddStringToObject(o, "content", arena_str(a, buf_str(&b)).ptr);
        buf_free(&b);
    } else {
        add_s(o, a, "content", p->content);
    }
    cJSON_AddStringToObject(o, "created_at", api_time(a, p->created_at));
    if (p->updated_at > p->created_at)
        cJSON_AddStringToObject(o, "edited_at", api_time(a, p->updated_at));
    else
        cJSON_AddNullToObject(o, "edited_at");
    add_uint(o, "reblogs_count", (uint64_t)((double)reblog_count(v->txn, p->id)));
    add_uint(o, "favourites_count", (uint64_t)(p->upvotes));
    add_uint(o, "replies_count", (uint64_t)(p->replies));
    add_uint(o, "quotes_count", (uint64_t)(0));
    cJSON_AddBoolToObject(o, "sensitive", p->sensitive);
    add_s(o, a, "spoiler_text", p->summary);
    cJSON_AddStringToObject(o, "visibility", api_visibility(p->visibility));
    if (p->language.len)
        add_s(o, a, "language", p->language);
    else
        cJSON_AddNullToObject(o, "language");
    cJSON_AddItemToObject(o, "mentions", mentions_json(v, p));
    cJSON_AddItemToObject(o, "media_attachments", media_json(v, p));
    cJSON_AddArrayToObject(o, "emojis");
    cJSON_AddItemToObject(o, "tags", tags_json(v, p));
    cJSON_AddNullToObject(o, "card");
    cJSON *poll = api_poll(v, p);
    if (poll)
        cJSON_AddItemToObject(o, "poll", poll);
    else
        cJSON_AddNullToObject(o, "poll");
    cJSON_AddNullToObject(o, "quote");
    if (v->viewer) {
        struct key16 k = key_pair(p->id, v->viewer);
        struct vote vote;
        struct reblog r;
        cJSON_AddBoolToObject(o, "favourited",
                              rec_get(v->txn, T_VOTES, KEY16(k), &vote_desc, a, &vote) == KITH_OK &&
                                  vote.value > 0);
        cJSON_AddBoolToObject(o, "reblogged",
                              reblog_find(v->txn, p->id, v->viewer, a, &r) == KITH_OK);
        cJSON_AddBoolToObject(o, "bookmarked", bookmark_has(v->txn, v->viewer, p->id));
        cJSON_AddBoolToObject(o, "muted", thread_muted(v->txn, v->viewer, p));
        if (p->author_id == v->viewer)
            cJSON_AddBoolToObject(o, "pinned", pin_has(v->txn, v->viewer, p->id));
        struct buf fb;
        buf_init(&fb, 64 << 10);
        buf_add_byte(&fb, '[');
        api_filter_apply(v, p, &fb);
        buf_add_byte(&fb, ']');
        cJSON_AddItemToObject(o, "filtered", cJSON_CreateRaw(buf_str(&fb).ptr));
        buf_free(&fb);
    }
    return o;
}

static cJSON *wrapper_fields(struct status_view *v, const struct reblog *rp, const struct post *pp);

cJSON *api_status(struct status_view *v, uint64_t status_id)
{
    struct arena *a = &v->ctx->arena;
    struct post p;
    struct reblog r;
    if (post_get(v->txn, status_id, a, &p) == KITH_OK)
        return api_can_see(v, &p) ? api_status_post(v, &p) : NULL;
    if (reblog_get(v->txn, status_id, a, &r) || post_get(v->txn, r.post_id, a, &p) ||
        !api_can_see(v, &p))
        return NULL;
    cJSON *inner = api_status_post(v, &p);
    cJSON *o = inner ? wrapper_fields(v, &r, &p) : NULL;
    if (!o) {
        cJSON_Delete(inner);
        return NULL;
    }
    if (v->viewer) {
        static const char *const same[] = {"favourited", "reblogged", "bookmarked", "muted"};
        for (size_t i = 0; i < 4; i++) {
            cJSON *b = cJSON_GetObjectItemCaseSensitive(inner, same[i]);
            cJSON_AddBoolToObject(o, same[i], cJSON_IsTrue(b));
        }
        cJSON_AddArrayToObject(o, "filtered");
    }
    cJSON_AddItemToObject(o, "reblog", inner);
    return o;
}

/* Mastodon's reblog wrapper without the viewer's fields and the post
 * inside: its own id, the booster. */
static cJSON *wrapper_fields(struct status_view *v, const struct reblog *rp, const struct post *pp)
{
    struct arena *a = &v->ctx->arena;
    const struct reblog r = *rp;
    const struct post p = *pp;
    cJSON *booster = api_actor(v, r.community_id ? r.community_id : r.account_id);
    if (!booster)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    const char *uri =
        r.uri.len ? arena_str(a, r.uri).ptr
                  : arena_printf(a, "%s#boost-%llu", post_url(a, http_core(v->ctx)->cfg, &p),
                                 (unsigned long long)r.id);
    cJSON_AddStringToObject(o, "id", id_str(a, r.id));
    cJSON_AddStringToObject(o, "uri", uri);
    cJSON_AddNullToObject(o, "url");
    cJSON_AddItemToObject(o, "account", booster);
    cJSON_AddNullToObject(o, "in_reply_to_id");
    cJSON_AddNullToObject(o, "in_reply_to_account_id");
    cJSON_AddStringToObject(o, "content", "");
    cJSON_AddStringToObject(o, "created_at", api_time(a, r.created_at));
    cJSON_AddNullToObject(o, "edited_at");
    add_uint(o, "reblogs_count", (uint64_t)(0));
    add_uint(o, "favourites_count", (uint64_t)(0));
    add_uint(o, "replies_count", (uint64_t)(0));
    add_uint(o, "quotes_count", (uint64_t)(0));
    cJSON_AddFalseToObject(o, "sensitive");
    cJSON_AddStringToObject(o, "spoiler_text", "");
    cJSON_AddStringToObject(o, "visibility", api_visibility(p.visibility));
    cJSON_AddNullToObject(o, "language");
    cJSON_AddArrayToObject(o, "mentions");
    cJSON_AddArrayToObject(o, "media_attachments");
    cJSON_AddArrayToObject(o, "emojis");
    cJSON_AddArrayToObject(o, "tags");
    cJSON_AddNullToObject(o, "card");
    cJSON_AddNullToObject(o, "poll");
    cJSON_AddNullToObject(o, "quote");
    return o;
}

/* ---- statuses as text, cached for a snapshot ---- */

/* The viewer's own fields of a status, each with a leading comma. */
static void viewer_fields(struct status_view *v, const struct post *p, bool wrapper, struct buf *b)
{
    struct key16 k = key_pair(p->id, v->viewer);
    struct vote vote;
    struct reblog r;
    struct arena *a = &v->ctx->arena;
    bool fav =
        rec_get(v->txn, T_VOTES, KEY16(k), &vote_desc, a, &vote) == KITH_OK && vote.value > 0;
    bool reb = reblog_find(v->txn, p->id, v->viewer, a, &r) == KITH_OK;
    buf_printf(b, ",\"favourited\":%s,\"reblogged\":%s,\"bookmarked\":%s,\"muted\":false",
               fav ? "true" : "false", reb ? "true" : "false",
               bookmark_has(v->txn, v->viewer, p->id) ? "true" : "false");
    if (!wrapper && p->author_id == v->viewer)
        buf_printf(b, ",\"pinned\":%s", pin_has(v->txn, v->viewer, p->id) ? "true" : "false");
    buf_add_cstr(b, ",\"filtered\":[");
    api_filter_apply(v, p, b);
    buf_add_byte(b, ']');
}

/* The text of a status as nobody in particular sees it, without its last
 * brace; from the loop's cache, or rendered (and kept) now. */
static const char *base_text(struct status_view *v, uint64_t sid, const struct post *p,
                             const struct reblog *r, char **owned)
{
    struct actor_cache *c = v->cache;
    size_t slot = (size_t)(sid * 0x9E3779B97F4A7C15ull >> 40) & (STATUS_CACHE - 1);
    *owned = NULL;
    if (c && c->sids[slot] == sid && c->stext[slot])
        return c->stext[slot];
    struct status_view anon = *v;
    anon.viewer = 0;
    anon.viewer_url = NULL;
    cJSON *o;
    if (r) { /* a boost: its own fields ("reblog" comes per request) */
        o = wrapper_fields(&anon, r, p);
    } else {
        o = api_status_post(&anon, p);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return NULL;
    text[strlen(text) - 1] = 0; /* the closing brace */
    if (!c) {
        *owned = text;
        return text;
    }
    free(c->stext[slot]);
    c->sids[slot] = sid;
    c->stext[slot] = text;
    return text;
}

/* p's text for the viewer into b; false when it cannot be rendered. */
static bool post_text(struct status_view *v, const struct post *p, struct buf *b)
{
    char *owned;
    if (p->poll_titles.len) { /* a poll's viewer fields sit inside it: the whole entity */
        cJSON *o = api_status_post(v, p);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (text)
            buf_add_cstr(b, text);
        free(text);
        return text != NULL;
    }
    const char *base = base_text(v, p->id, p, NULL, &owned);
    if (!base)
        return false;
    buf_add_cstr(b, base);
    free(owned);
    if (v->viewer)
        viewer_fields(v, p, false, b);
    buf_add_byte(b, '}');
    return true;
}

bool api_status_text(struct status_view *v, uint64_t status_id, struct buf *b)
{
    struct arena *a = &v->ctx->arena;
    struct post p;
    struct reblog r;
    char *owned;
    if (post_get(v->txn, status_id, a, &p) == KITH_OK)
        return api_can_see(v, &p) && post_text(v, &p, b);
    if (reblog_get(v->txn, status_id, a, &r) || post_get(v->txn, r.post_id, a, &p) ||
        !api_can_see(v, &p))
        return false;
    size_t mark = b->len;
    const char *base = base_text(v, status_id, &p, &r, &owned);
    if (!base)
        return false;
    buf_add_cstr(b, base);
    free(owned);
    if (v->viewer)
        viewer_fields(v, &p, true, b);
    buf_add_cstr(b, ",\"reblog\":");
    if (!post_text(v, &p, b)) {
        b->len = mark;
        return false;
    }
    buf_add_byte(b, '}');
    return true;
}

/* ---- media ---- */

static cJSON *image_meta(struct arena *a, uint32_t w, uint32_t h)
{
    cJSON *o = cJSON_CreateObject();
    add_uint(o, "width", (uint64_t)(w));
    add_uint(o, "height", (uint64_t)(h));
    cJSON_AddStringToObject(o, "size", arena_printf(a, "%ux%u", w, h));
    cJSON_AddNumberToObject(o, "aspect", h ? (double)w / h : 1.0);
    return o;
}

cJSON *api_media(struct http_ctx *ctx, const struct media_rec *m)
{
    static const char *const types[] = {"image", "gifv", "video", "audio"};
    struct arena *a = &ctx->arena;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)m->id));
    cJSON_AddStringToObject(o, "type", m->kind < 4 ? types[m->kind] : "unknown");
    cJSON_AddStringToObject(o, "url", http_url(ctx, "/media/%.*s", (int)m->file.len, m->file.ptr));
    if (m->preview.len)
        cJSON_AddStringToObject(o, "preview_url",
                                http_url(ctx, "/media/%.*s", (int)m->preview.len, m->preview.ptr));
    else
        cJSON_AddNullToObject(o, "preview_url");
    cJSON_AddNullToObject(o, "remote_url");
    cJSON_AddNullToObject(o, "preview_remote_url");
    cJSON *meta = cJSON_AddObjectToObject(o, "meta");
    if (m->width && m->height) {
        cJSON_AddItemToObject(meta, "original", image_meta(a, m->width, m->height));
        if (m->small_width)
            cJSON_AddItemToObject(meta, "small", image_meta(a, m->small_width, m->small_height));
        cJSON *focus = cJSON_AddObjectToObject(meta, "focus");
        cJSON_AddNumberToObject(focus, "x", m->focus_x / 1e6);
        cJSON_AddNumberToObject(focus, "y", m->focus_y / 1e6);
    }
    if (m->description.len)
        cJSON_AddStringToObject(o, "description", arena_str(a, m->description).ptr);
    else
        cJSON_AddNullToObject(o, "description");
    if (m->blurhash.len)
        cJSON_AddStringToObject(o, "blurhash", arena_str(a, m->blurhash).ptr);
    else
        cJSON_AddNullToObject(o, "blurhash"); /* audio and video: no picture to blur */
    return o;
}

/* The Notification entity; NULL when what it is about is gone. */
cJSON *api_notification(struct status_view *v, const struct notification *n)
{
    struct arena *a = &v->ctx->arena;
    cJSON *acct = api_actor(v, n->from_account_id);
    if (!acct)
        return NULL;
    cJSON *status = NULL;
    if (n->post_id && !(status = api_status(v, n->post_id))) {
        cJSON_Delete(acct);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    const char *id = arena_printf(a, "%llu", (unsigned long long)n->id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", arena_str(a, n->type).ptr);
    cJSON_AddStringToObject(o, "created_at", api_time(a, n->created_at));
    cJSON_AddStringToObject(o, "group_key", arena_printf(a, "ungrouped-%s", id));
    cJSON_AddItemToObject(o, "account", acct);
    if (status)
        cJSON_AddItemToObject(o, "status", status);
    return o;
}
