/* src/api/search.c: GET /api/v2/search: people and communities by name or
 * address, and posts and actors by URL; with resolve=true (and a person's
 * token), addresses, actor URLs and post URLs kith has not met are looked
 * up (WebFinger, signed fetches: federation_resolve) and stored, as
 * Mastodon does. No full-text search of
 * statuses yet: like Mastodon without Elasticsearch, statuses are found by
 * URL only. */
#include "../../federation/federation.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct search {
    struct api_who who;
    struct str q;
    bool accounts, statuses, hashtags;
    size_t limit, offset;
    bool resolve;
    bool following; /* accounts: only those the viewer follows (or communities joined) */
};

static cJSON *results(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddArrayToObject(o, "accounts");
    cJSON_AddArrayToObject(o, "statuses");
    cJSON_AddArrayToObject(o, "hashtags");
    return o;
}

static void add_actor(struct status_view *v, cJSON *o, uint64_t id)
{
    cJSON *acct = api_actor(v, id);
    if (acct)
        cJSON_AddItemToArray(cJSON_GetObjectItem(o, "accounts"), acct);
}

/* Adds a stored actor found by address or URL: held, unless it is a stub
 * that resolve=true should fetch (a person only named by a community's
 * Announce so far, whom Mastodon would look up). */
static bool add_found(struct status_view *v, struct search *s, cJSON *o, uint8_t kind, uint64_t id)
{
    struct account acct;
    add_actor(v, o, id);
    return !(s->resolve && kind == NAME_ACCOUNT &&
             account_get(s->who.txn, id, &v->ctx->arena, &acct) == KITH_OK &&
             account_is_stub(&acct));
}

static bool is_url(struct str q)
{
    return (q.len > 8 && memcmp(q.ptr, "https://", 8) == 0) ||
           (q.len > 7 && memcmp(q.ptr, "http://", 7) == 0);
}

/* name@host, @name@host or @name: an address, split. */
static bool is_address(struct str q, struct str *name, struct str *host)
{
    const char *s = q.ptr, *end = q.ptr + q.len;
    bool at_first = s < end && *s == '@';
    if (at_first)
        s++;
    const char *at = memchr(s, '@', (size_t)(end - s));
    if (!at_first && !at)
        return false;
    *name = str_make(s, (size_t)((at ? at : end) - s));
    *host = at ? str_make(at + 1, (size_t)(end - at - 1)) : STR_NULL;
    if (!name->len || (at && !host->len))
        return false;
    for (size_t i = 0; i < name->len; i++)
        if (!(isalnum((unsigned char)name->ptr[i]) || name->ptr[i] == '_' || name->ptr[i] == '.' ||
              name->ptr[i] == '-'))
            return false;
    return true;
}

/* Whether the viewer follows the person, or is a member of the community. */
static bool follows(struct search *s, uint8_t kind, uint64_t id, struct arena *a)
{
    struct membership m;
    if (!s->who.token.account_id)
        return false;
    if (kind == NAME_COMMUNITY)
        return membership_get(s->who.txn, id, s->who.acct.id, a, &m) == KITH_OK && !m.banned &&
               m.role >= MEMBER_MEMBER;
    return follows_accepted(s->who.txn, s->who.acct.id, id);
}

/* Names starting with the query: local ones (table names) and remote
 * addresses (table remote_accts), in key order. */
static void by_prefix(struct status_view *v, struct search *s, cJSON *o)
{
    char low[256];
    size_t n = s->q.len < sizeof(low) ? s->q.len : sizeof(low) - 1;
    const char *q = s->q.ptr[0] == '@' ? s->q.ptr + 1 : s->q.ptr;
    if (q != s->q.ptr)
        n--;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)q[i]);
    size_t found = 0, skipped = 0;
    static const unsigned tables[] = {T_NAMES, T_REMOTE_ACCTS};
    for (size_t t = 0; t < 2 && found < s->limit; t++) {
        struct kv_cursor *c;
        struct str key, val;
        if (kv_cursor_open(s->who.txn, tables[t], &c))
            continue;
        for (int rc = kv_cursor_seek(c, str_make(low, n), &key, &val);
             rc == KITH_OK && found < s->limit && key.len >= n && memcmp(key.ptr, low, n) == 0;
             rc = kv_cursor_next(c, &key, &val)) {
            if (val.len != 9)
                continue;
            uint64_t id = be64_get((const unsigned char *)val.ptr + 1);
            struct account acct;
            if ((uint8_t)val.ptr[0] == NAME_ACCOUNT &&
                (account_get(s->who.txn, id, &v->ctx->arena, &acct) ||
                 acct.state != ACCOUNT_ACTIVE))
                continue;
            if (s->following && !follows(s, (uint8_t)val.ptr[0], id, &v->ctx->arena))
                continue;
            if (skipped++ < s->offset)
                continue;
            add_actor(v, o, id);
            found++;
        }
        kv_cursor_close(c);
    }
}

struct tag_walk {
    struct status_view *v;
    struct search *s;
    cJSON *arr;
    size_t n;
};

static int add_tag(struct str name, void *arg)
{
    struct tag_walk *w = arg;
    struct search *s = w->s;
    int following = s->who.token.account_id ? tag_followed(s->who.txn, s->who.acct.id, name) : -1;
    cJSON_AddItemToArray(w->arr, api_tag(w->v->ctx, name, following));
    return ++w->n == s->limit;
}

/* Tags of public posts starting with the query (# optional). */
static void by_tag(struct status_view *v, struct search *s, cJSON *o)
{
    struct str q = s->q;
    if (q.len && q.ptr[0] == '#')
        q = str_make(q.ptr + 1, q.len - 1);
    if (!q.len || q.len > TAG_MAX_LEN)
        return;
    for (size_t i = 0; i < q.len; i++) {
        unsigned char ch = (unsigned char)q.ptr[i];
        if (!(ch >= 0x80 || ch == '_' || isalnum(ch)))
            return;
    }
    struct tag_walk w = {v, s, cJSON_GetObjectItem(o, "hashtags"), 0};
    tag_names(s->who.txn, q, s->offset, add_tag, &w);
}

/* What kith holds already for the query. true when something was found. */
static bool from_store(struct status_view *v, struct search *s, cJSON *o)
{
    struct kv_txn *txn = s->who.txn;
    const struct kith_config *cfg = http_core(v->ctx)->cfg;
    uint8_t kind;
    uint64_t id;
    if (is_url(s->q)) {
        const char *url = arena_str(&v->ctx->arena, s->q).ptr;
        struct post p;
        if (s->statuses && post_by_ref(txn, cfg, url, &v->ctx->arena, &p) == KITH_OK) {
            cJSON *st = api_can_see(v, &p) ? api_status_post(v, &p) : NULL;
            if (st)
                cJSON_AddItemToArray(cJSON_GetObjectItem(o, "statuses"), st);
            return st != NULL;
        }
        size_t base = strlen(cfg->public_url);
        if (s->accounts && s->q.len > base + 3 && memcmp(url, cfg->public_url, base) == 0 &&
            (memcmp(url + base, "/u/", 3) == 0 || memcmp(url + base, "/c/", 3) == 0 ||
             memcmp(url + base, "/@", 2) == 0)) {
            const char *name = url + base + (url[base + 1] == '@' ? 2 : 3);
            if (name_lookup(txn, str_from(name), &kind, &id) == KITH_OK) {
                add_actor(v, o, id);
                return true;
            }
        }
        if (s->accounts && actor_uri_lookup(txn, s->q, &kind, &id) == KITH_OK)
            return add_found(v, s, o, kind, id);
        return false;
    }
    struct str name, host;
    if (s->accounts && is_address(s->q, &name, &host) && host.len) {
        int rc = str_eq_nocase(host, str_from(cfg->domain))
                     ? name_lookup(txn, name, &kind, &id)
                     : remote_acct_lookup(txn, name, host, &kind, &id);
        return rc == KITH_OK && add_found(v, s, o, kind, id);
    }
    if (s->accounts)
        by_prefix(v, s, o);
    if (s->hashtags)
        by_tag(v, s, o);
    return false;
}

static void reply_results(struct http_ctx *ctx, struct search *s)
{
    struct status_view v;
    status_view_init(&v, ctx, s->who.txn, &s->who.acct);
    cJSON *o = results();
    from_store(&v, s, o);
    status_view_done(&v);
    http_reply_json(ctx, 200, o);
}

static void resolved(struct http_ctx *ctx, int rc, int kind, uint64_t id, void *arg)
{
    struct search *s = arg;
    if (rc == KITH_ESTOPPED)
        return http_reply_error(ctx, 503, "the server is stopping");
    if (http_read_txn_fresh(ctx, &s->who.txn))
        return http_reply_error(ctx, 503, "database unavailable");
    if (rc) /* nothing found there: empty results, as Mastodon */
        return reply_results(ctx, s);
    /* What the lookup found, though q may name it otherwise (a post's page
     * URL, an actor's profile URL, an address the actor spells another way). */
    struct status_view v;
    struct post p;
    status_view_init(&v, ctx, s->who.txn, &s->who.acct);
    cJSON *o = results();
    if (kind == FED_FOUND_POST) {
        cJSON *st = s->statuses && post_get(s->who.txn, id, &ctx->arena, &p) == KITH_OK &&
                            api_can_see(&v, &p)
                        ? api_status_post(&v, &p)
                        : NULL;
        if (st)
            cJSON_AddItemToArray(cJSON_GetObjectItem(o, "statuses"), st);
    } else if (s->accounts) {
        add_actor(&v, o, id);
    }
    status_view_done(&v);
    http_reply_json(ctx, 200, o);
}

static int handle_search(struct http_ctx *ctx)
{
    struct search *s = arena_zalloc(&ctx->arena, sizeof(*s));
    if (!api_auth_optional(ctx, "read:search", &s->who))
        return HANDLER_DONE;
    s->q = str_trim(http_query(ctx, "q"));
    if (!s->q.len)
        return http_reply_error(ctx, 400, "q is required"), HANDLER_DONE;
    if (s->q.len > 2048)
        return http_reply_error(ctx, 422, "q is longer than 2048 bytes"), HANDLER_DONE;
    struct str type = http_query(ctx, "type");
    if (type.len && !str_eq(type, STR_LIT("accounts")) && !str_eq(type, STR_LIT("statuses")) &&
        !str_eq(type, STR_LIT("hashtags")))
        return http_reply_error(ctx, 400, "type is accounts, statuses or hashtags"), HANDLER_DONE;
    s->accounts = !type.len || str_eq(type, STR_LIT("accounts"));
    s->statuses = !type.len || str_eq(type, STR_LIT("statuses"));
    s->hashtags = !type.len || str_eq(type, STR_LIT("hashtags"));
    struct str lim = http_query(ctx, "limit"), off = http_query(ctx, "offset");
    long l = lim.len ? strtol(arena_str(&ctx->arena, lim).ptr, NULL, 10) : 20;
    long f = off.len ? strtol(arena_str(&ctx->arena, off).ptr, NULL, 10) : 0;
    s->limit = l < 1 ? 20 : l > 40 ? 40 : (size_t)l;
    s->offset = f < 0 ? 0 : f > 10000 ? 10000 : (size_t)f;
    s->following = str_eq(http_query(ctx, "following"), STR_LIT("true")) ||
                   str_eq(http_query(ctx, "following"), STR_LIT("1"));
    s->resolve = str_eq(http_query(ctx, "resolve"), STR_LIT("true")) ||
                 str_eq(http_query(ctx, "resolve"), STR_LIT("1"));
    /* Looking elsewhere is for signed-in people only (Mastodon's rule). */
    struct status_view v;
    status_view_init(&v, ctx, s->who.txn, &s->who.acct);
    cJSON *probe = results();
    bool held = from_store(&v, s, probe);
    cJSON_Delete(probe);
    status_view_done(&v);
    struct str name, host;
    if (!held && s->resolve && s->who.token.account_id &&
        ((is_url(s->q) && (s->accounts || s->statuses)) ||
         (s->accounts && is_address(s->q, &name, &host) && host.len))) {
        const char *what = arena_str(&ctx->arena, s->q).ptr;
        if (federation_resolve(ctx, what, resolved, s) == KITH_OK)
            return HANDLER_ASYNC;
    }
    reply_results(ctx, s);
    return HANDLER_DONE;
}

const struct route search_routes[] = {
    {"GET", "/api/v2/search", handle_search, 0, "read:search"},
};
