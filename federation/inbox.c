/* federation/inbox.c: the shared inbox and per-actor inboxes.
 *
 * A POST is checked (size, JSON shape, HTTP signature by the activity's
 * own actor), then its raw body is appended to the durable inbox queue and
 * only once that write is committed does the sender get 202. Anything that
 * fails a check gets 400, 401 or 413 and nothing is stored. The queued
 * activities are applied later, in order, by the inbox processor.
 */
#include "inbox.h"
#include "actors.h"
#include "deliver.h"
#include "httpsig.h"
#include "keys.h"
#include "process.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../storage/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct federation {
    struct core *core;
    const struct kith_config *cfg;
    struct keycache *keys;
    struct processor *processor;
    struct deliverer *deliverer;
};

static void kick_delivery(void *arg)
{
    deliverer_kick(arg);
}

int federation_new(struct core *core, const struct kith_config *cfg, struct federation **out)
{
    struct federation *f = xcalloc(1, sizeof(*f));
    f->core = core;
    f->cfg = cfg;
    f->keys = keycache_new(10000);
    char err[256];
    if (deliverer_start(core, &f->deliverer, err, sizeof(err))) {
        log_error("federation: %s", err);
        keycache_free(f->keys);
        free(f);
        return KITH_EIO;
    }
    if (processor_start(core, kick_delivery, f->deliverer, &f->processor)) {
        deliverer_stop(f->deliverer);
        keycache_free(f->keys);
        free(f);
        return KITH_EIO;
    }
    *out = f;
    return KITH_OK;
}

void federation_free(struct federation *f)
{
    if (!f)
        return;
    processor_stop(f->processor);
    deliverer_stop(f->deliverer);
    keycache_free(f->keys);
    free(f);
}

void federation_thread_free(void *data)
{
    (void)data; /* per-loop fetchers arrive with the HTTPS client */
}

/* ---- the signed request, as httpsig sees it ---- */

static struct str header_of(void *arg, const char *name)
{
    return http_header_joined(arg, name);
}

static struct str authority_of(const char *public_url)
{
    const char *p = strstr(public_url, "://");
    return str_from(p ? p + 3 : public_url);
}

/* The key for key_id: from the cache, or from a stored actor (then cached).
 * owner receives the actor the key belongs to. */
static EVP_PKEY *find_key(struct http_ctx *ctx, struct federation *f, struct str key_id,
                          char *owner, size_t ownerlen)
{
    EVP_PKEY *key = keycache_get(f->keys, key_id, owner, ownerlen);
    if (key)
        return key;
    struct kv_txn *txn;
    uint8_t kind;
    uint64_t id;
    if (http_read_txn(ctx, &txn))
        return NULL;
    int rc = actor_uri_lookup(txn, key_id, &kind, &id);
    if (rc == KITH_ENOTFOUND) { /* keyId = actor#fragment */
        const char *hash = memchr(key_id.ptr, '#', key_id.len);
        if (hash)
            rc = actor_uri_lookup(txn, str_make(key_id.ptr, (size_t)(hash - key_id.ptr)), &kind,
                                  &id);
    }
    if (rc)
        return NULL;
    struct str pem, uri;
    if (kind == NAME_ACCOUNT) {
        struct account a;
        if (account_get(txn, id, &ctx->arena, &a))
            return NULL;
        pem = a.public_key;
        uri = a.uri;
    } else {
        struct community c;
        if (community_get(txn, id, &ctx->arena, &c))
            return NULL;
        pem = c.public_key;
        uri = c.uri;
    }
    key = pem_public_key(pem);
    if (!key)
        return NULL;
    keycache_put(f->keys, key_id, uri, key);
    snprintf(owner, ownerlen, "%.*s", (int)uri.len, uri.ptr);
    return key;
}

/* ---- durable enqueue ---- */

struct enqueue {
    struct buf payload;
};

static int apply_enqueue(struct kv_txn *txn, void *arg)
{
    struct enqueue *e = arg;
    return queue_push(txn, QUEUE_INBOX, buf_str(&e->payload), NULL);
}

static void free_buf(void *p)
{
    buf_free(p);
}

static void enqueued(struct http_ctx *ctx, int rc, void *arg)
{
    struct federation *f = arg;
    if (rc) {
        /* Nothing was stored: the sender retries later. */
        http_add_header(ctx, "Retry-After", "60");
        http_reply_error(ctx, 503, "cannot store the activity now: %s", kith_strerror(rc));
        return;
    }
    http_reply_raw(ctx, 202, "application/json; charset=utf-8", STR_LIT("{}"));
    processor_kick(f->processor);
}

/* ---- the handler ---- */

static const char *json_string(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsObject(v)) { /* an embedded object: its id */
        cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
        return cJSON_IsString(id) ? id->valuestring : NULL;
    }
    return NULL;
}

static void cjson_delete(void *p)
{
    cJSON_Delete(p);
}

static int handle_inbox(struct http_ctx *ctx)
{
    struct federation *f = http_app(ctx);
    struct str name = route_param(&ctx->params, "name");
    struct kv_txn *txn;
    struct httpsig sig;
    char why[256], owner[512];

    /* A per-actor inbox must belong to someone here. */
    if (name.ptr) {
        struct account acct;
        struct community c;
        bool group = ctx->path.len > 3 && ctx->path.ptr[1] == 'c';
        int rc = http_read_txn(ctx, &txn);
        if (!rc)
            rc = group ? community_get_local(txn, name, &ctx->arena, &c)
                       : account_get_local(txn, name, &ctx->arena, &acct);
        if (rc == KITH_OK && !group && acct.state != ACCOUNT_ACTIVE)
            rc = KITH_ENOTFOUND;
        if (rc) {
            http_reply_error(ctx, rc == KITH_ENOTFOUND ? 404 : 503, "no such inbox");
            return HANDLER_DONE;
        }
    }
    cJSON *doc = cJSON_ParseWithLength(ctx->body.ptr, ctx->body.len);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        http_reply_error(ctx, 400, "the body is not a JSON object");
        return HANDLER_DONE;
    }
    arena_defer(&ctx->arena, cjson_delete, doc);
    const char *type = json_string(doc, "type");
    const char *actor = json_string(doc, "actor");
    const char *id = json_string(doc, "id");
    if (!type || !actor || !id) {
        http_reply_error(ctx, 400, "an activity needs a type, an id and an actor");
        return HANDLER_DONE;
    }

    const struct kith_config *cfg = f->cfg;
    struct httpsig_msg m = {
        .method = ctx->method,
        .target =
            str_make(ctx->path.ptr, ctx->path.len + (ctx->query.len ? ctx->query.len + 1 : 0)),
        .scheme = strncmp(cfg->public_url, "https", 5) == 0 ? STR_LIT("https") : STR_LIT("http"),
        .authority = authority_of(cfg->public_url),
        .header = header_of,
        .ctx = ctx,
        .body = ctx->body,
        .now = wall_seconds(),
    };
    if (httpsig_prepare(&m, &ctx->arena, &sig, why, sizeof(why))) {
        http_reply_error(ctx, 401, "%s", why);
        return HANDLER_DONE;
    }
    EVP_PKEY *key = find_key(ctx, f, sig.key_id, owner, sizeof(owner));
    if (!key) {
        http_reply_error(ctx, 401, "unknown key '%.*s'", (int)sig.key_id.len, sig.key_id.ptr);
        return HANDLER_DONE;
    }
    int vrc = httpsig_verify(&sig, key, why, sizeof(why));
    EVP_PKEY_free(key);
    if (vrc) {
        keycache_forget(f->keys, sig.key_id); /* the key may have rotated */
        http_reply_error(ctx, 401, "%s", why);
        return HANDLER_DONE;
    }
    /* The key's owner must be exactly the activity's actor. */
    if (strcmp(owner, actor) != 0) {
        http_reply_error(ctx, 401, "signed by '%s', not by the activity's actor '%s'", owner,
                         actor);
        return HANDLER_DONE;
    }

    struct enqueue *e = arena_alloc(&ctx->arena, sizeof(*e));
    buf_init(&e->payload, QUEUE_MAX_PAYLOAD);
    arena_defer(&ctx->arena, free_buf, &e->payload);
    buf_printf(&e->payload, "%s\nsigner %s\nrecipient %.*s\nreceived %lld\n\n", INBOX_MAGIC, owner,
               (int)ctx->path.len, ctx->path.ptr, (long long)m.now);
    if (buf_add_str(&e->payload, ctx->body)) {
        http_reply_error(ctx, 413, "activity too large");
        return HANDLER_DONE;
    }
    if (http_write(ctx, apply_enqueue, e, enqueued, f)) {
        http_reply_error(ctx, 503, "shutting down");
        return HANDLER_DONE;
    }
    return HANDLER_ASYNC;
}

const struct route inbox_routes[3] = {
    {"POST", "/inbox", handle_inbox, 0},
    {"POST", "/u/{name}/inbox", handle_inbox, 0},
    {"POST", "/c/{name}/inbox", handle_inbox, 0},
};

void federation_delivery_live(void *arg, struct buf *out)
{
    struct federation *f = arg;
    struct deliver_stats st;
    deliverer_stats(f->deliverer, &st);
    buf_printf(out, "since start: %llu delivered, %llu retried, %llu dropped, %llu in flight\n",
               (unsigned long long)st.delivered, (unsigned long long)st.retried,
               (unsigned long long)st.dropped, (unsigned long long)st.in_flight);
}
