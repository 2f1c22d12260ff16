/* federation/resolve.c: finding a remote person or community by address
 * or URL for the Mastodon API (federation_resolve in federation.h):
 * WebFinger, then the actor document, fetched on the request's own loop
 * (never blocking it), checked as the inbox checks actors, and stored. */
#include "actors.h"
#include "fetch.h"
#include "process.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../src/http/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct resolve {
    struct http_ctx *ctx;
    struct federation *f;
    fed_resolve_fn *done;
    void *arg;
    char user[256], host[256];
    int plain; /* 1: the WebFinger query is over http (private addresses allowed) */
    bool is_group;
    struct account acct;
    struct community comm;
    uint64_t id;
    char why[256];
    /* A post's URL: the object (owned), and the actors to store first. */
    cJSON *obj;
    const char *need[2];
    size_t nneed, next;
    uint64_t post_id;
};

static int fetch_actor(struct resolve *r, const char *url);

const char *webfinger_self(cJSON *doc, struct arena *a)
{
    cJSON *links = cJSON_GetObjectItemCaseSensitive(doc, "links");
    for (cJSON *l = cJSON_IsArray(links) ? links->child : NULL; l; l = l->next) {
        cJSON *rel = cJSON_GetObjectItemCaseSensitive(l, "rel");
        cJSON *type = cJSON_GetObjectItemCaseSensitive(l, "type");
        cJSON *h = cJSON_GetObjectItemCaseSensitive(l, "href");
        if (cJSON_IsString(rel) && strcmp(rel->valuestring, "self") == 0 && cJSON_IsString(h) &&
            cJSON_IsString(type) &&
            (strstr(type->valuestring, "activity+json") || strstr(type->valuestring, "ld+json")))
            return arena_strdup(a, h->valuestring);
    }
    return NULL;
}

static void finish(struct resolve *r, int rc)
{
    cJSON *obj = r->obj;
    r->obj = NULL;
    if (obj) {
        cJSON_Delete(obj);
        r->done(r->ctx, rc, rc ? 0 : FED_FOUND_POST, r->post_id, r->arg);
        return;
    }
    r->done(r->ctx, rc, rc ? 0 : r->is_group ? NAME_COMMUNITY : NAME_ACCOUNT, r->id, r->arg);
}

static int apply_object(struct kv_txn *txn, void *arg)
{
    struct resolve *r = arg;
    return process_fetched_object(txn, r->f->core, r->obj, &r->post_id);
}

static void object_stored(struct http_ctx *ctx, int rc, void *arg)
{
    (void)ctx;
    finish(arg, rc == KITH_EINVAL ? KITH_ENOTFOUND : rc);
}

/* The next actor a fetched post needs, or the post itself once they are
 * all stored. */
static void object_next(struct resolve *r)
{
    while (r->next < r->nneed) {
        struct kv_txn *txn;
        uint8_t kind;
        uint64_t id;
        const char *url = r->need[r->next++];
        struct account stub;
        bool known =
            http_read_txn_fresh(r->ctx, &txn) == KITH_OK &&
            actor_uri_lookup(txn, str_from(url), &kind, &id) == KITH_OK &&
            !(kind == NAME_ACCOUNT && account_get(txn, id, &r->ctx->arena, &stub) == KITH_OK &&
              account_is_stub(&stub)); /* named by an Announce only: fetched now */
        if (!known && fetch_actor(r, url) == KITH_OK)
            return; /* stored() comes back here */
    }
    if (http_write(r->ctx, apply_object, r, object_stored, r))
        finish(r, KITH_ESTOPPED);
}

static bool is_post_type(const char *t)
{
    static const char *const types[] = {"Note",  "Page",  "Article", "Question",
                                        "Video", "Audio", "Image",   "Event"};
    for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

static const char *string_or_id(cJSON *v)
{
    if (cJSON_IsArray(v))
        v = v->child;
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "id");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A post fetched by its URL: from the host it names, with an author. */
static int take_object(struct resolve *r, cJSON *doc, const char *fetched_url)
{
    cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    const char *id = string_or_id(cJSON_GetObjectItemCaseSensitive(doc, "id"));
    const char *author = string_or_id(cJSON_GetObjectItemCaseSensitive(doc, "attributedTo"));
    if (!cJSON_IsString(type) || !is_post_type(type->valuestring) || !id || !author ||
        !str_eq_nocase(str_url_authority(str_from(id)), str_url_authority(str_from(fetched_url))))
        return KITH_ENOTFOUND;
    r->obj = cJSON_Duplicate(doc, true);
    r->need[r->nneed++] = arena_strdup(&r->ctx->arena, author);
    const char *audience = string_or_id(cJSON_GetObjectItemCaseSensitive(doc, "audience"));
    if (audience && strncmp(audience, r->f->cfg->public_url, strlen(r->f->cfg->public_url)) != 0)
        r->need[r->nneed++] = arena_strdup(&r->ctx->arena, audience);
    object_next(r);
    return KITH_OK;
}

static int apply_store(struct kv_txn *txn, void *arg)
{
    struct resolve *r = arg;
    return r->is_group ? community_upsert_remote(txn, &r->comm, &r->id)
                       : account_upsert_remote(txn, &r->acct, &r->id);
}

static void stored(struct http_ctx *ctx, int rc, void *arg)
{
    struct resolve *r = arg;
    (void)ctx;
    if (r->obj && rc != KITH_ESTOPPED)
        return object_next(r); /* an actor a fetched post needs: on to the next */
    finish(r, rc);
}

static void actor_fetched(const struct fetch_result *fr, void *arg)
{
    struct resolve *r = arg;
    if (fr->err == KITH_ESTOPPED)
        return finish(r, KITH_ESTOPPED);
    cJSON *doc =
        !fr->err && fr->status == 200 ? cJSON_ParseWithLength(fr->body.ptr, fr->body.len) : NULL;
    if (doc && !r->obj && take_object(r, doc, fr->url) == KITH_OK) { /* a post's URL */
        cJSON_Delete(doc);
        return;
    }
    int rc = doc && remote_actor_read(doc, fr->url, r->f->core, &r->ctx->arena, &r->is_group,
                                      &r->acct, &r->comm, r->why, sizeof(r->why)) == KITH_OK
                 ? KITH_OK
                 : KITH_ENOTFOUND;
    cJSON_Delete(doc);
    if (rc && r->obj)
        return object_next(r); /* an actor that will not come: the post may still do */
    if (rc)
        return finish(r, rc);
    if (http_write(r->ctx, apply_store, r, stored, r))
        finish(r, KITH_ESTOPPED);
}

static int fetch_actor(struct resolve *r, const char *url)
{
    struct fetcher *fe = federation_loop_fetcher(r->ctx, r->f);
    struct fetch_opts o = {.sign = federation_sign_instance, .sign_arg = r->f, .timeout_secs = 10};
    if (!fe)
        return KITH_EIO;
    return fetch_start(fe, url, &o, actor_fetched, r);
}

static int start_webfinger(struct resolve *r);

static void webfinger_done(const struct fetch_result *fr, void *arg)
{
    struct resolve *r = arg;
    if (fr->err == KITH_ESTOPPED)
        return finish(r, KITH_ESTOPPED);
    cJSON *doc =
        !fr->err && fr->status == 200 ? cJSON_ParseWithLength(fr->body.ptr, fr->body.len) : NULL;
    const char *href = webfinger_self(doc, &r->ctx->arena);
    cJSON_Delete(doc);
    int rc = KITH_ENOTFOUND;
    if (href)
        rc = fetch_actor(r, href);
    else if (!r->plain && fr->err && r->f->cfg->allow_private_addresses) {
        r->plain = 1; /* a test peer without TLS */
        rc = start_webfinger(r);
    }
    if (rc)
        finish(r, rc);
}

static int start_webfinger(struct resolve *r)
{
    struct fetcher *fe = federation_loop_fetcher(r->ctx, r->f);
    if (!fe)
        return KITH_EIO;
    const char *url =
        arena_printf(&r->ctx->arena, "%s://%s/.well-known/webfinger?resource=acct:%s@%s",
                     r->plain ? "http" : "https", r->host, r->user, r->host);
    struct fetch_opts o = {.accept = "application/jrd+json, application/json", .timeout_secs = 10};
    return fetch_start(fe, url, &o, webfinger_done, r);
}

int federation_resolve(struct http_ctx *ctx, const char *what, fed_resolve_fn *done, void *arg)
{
    struct federation *f = http_app(ctx);
    struct resolve *r = arena_zalloc(&ctx->arena, sizeof(*r));
    *r = (struct resolve){.ctx = ctx, .f = f, .done = done, .arg = arg};
    if (strncmp(what, "https://", 8) == 0 || strncmp(what, "http://", 7) == 0)
        return fetch_actor(r, what);
    const char *s = what;
    if (strncasecmp(s, "acct:", 5) == 0)
        s += 5;
    if (*s == '@' || *s == '!')
        s++;
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || (size_t)(at - s) >= sizeof(r->user) ||
        strlen(at + 1) >= sizeof(r->host))
        return KITH_EINVAL;
    for (const char *c = s; c < at; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
            return KITH_EINVAL;
    for (const char *c = at + 1; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == ':'))
            return KITH_EINVAL;
    snprintf(r->user, sizeof(r->user), "%.*s", (int)(at - s), s);
    snprintf(r->host, sizeof(r->host), "%s", at + 1);
    if (strcasecmp(r->host, f->cfg->domain) == 0)
        return KITH_EINVAL; /* our own: callers look those up locally */
    return start_webfinger(r);
}
