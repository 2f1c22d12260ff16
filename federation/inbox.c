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
#include "fetch.h"
#include "httpsig.h"
#include "keys.h"
#include "process.h"
#include "sanitize.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../src/core/feeds.h"
#include "../storage/queue.h"

#include <event2/event.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct kv_txn *txn;
    struct str pem;
    if (store_read_begin(core->st, &txn) == KITH_OK) {
        if (kv_get(txn, T_META, STR_LIT("instance_private_key"), &pem) == KITH_OK) {
            BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
            f->instance_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
        }
        kv_txn_abort(txn);
    }
    snprintf(f->instance_key_id, sizeof(f->instance_key_id), "%s/actor#main-key", cfg->public_url);
    char err[256];
    if (deliverer_start(core, f, &f->deliverer, err, sizeof(err))) {
        log_error("federation: %s", err);
        keycache_free(f->keys);
        EVP_PKEY_free(f->instance_key);
        free(f);
        return KITH_EIO;
    }
    if (processor_start(core, kick_delivery, f->deliverer, &f->processor)) {
        deliverer_stop(f->deliverer);
        keycache_free(f->keys);
        EVP_PKEY_free(f->instance_key);
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
    EVP_PKEY_free(f->instance_key);
    free(f);
}

/* A loop thread's federation data: its fetcher for key lookups. */
#define RECENT_REFRESHES 32
#define KEY_REFETCH_SECS 60 /* a key fetched again after a failure: not again before */

struct loop_data {
    struct fetcher *fetch;
    struct event_base *base;
    /* Actors whose refresh this loop started lately: one fetch per burst. */
    uint64_t recent[RECENT_REFRESHES];
    unsigned next_recent;
};

void federation_thread_free(void *data)
{
    struct loop_data *ld = data;
    fetcher_free(ld->fetch);
    event_base_loop(ld->base, EVLOOP_NONBLOCK); /* lets the resolver finish freeing */
    free(ld);
}

struct fetcher *federation_loop_fetcher(struct http_ctx *ctx, struct federation *f)
{
    void **slot = http_thread_data(ctx);
    if (!*slot) {
        struct loop_data *ld = xcalloc(1, sizeof(*ld));
        char err[256];
        ld->base = http_event_base(ctx);
        if (fetcher_new(ld->base, f->cfg, &ld->fetch, err, sizeof(err))) {
            log_error("federation: %s", err);
            free(ld);
            return NULL;
        }
        *slot = ld;
    }
    return ((struct loop_data *)*slot)->fetch;
}

int federation_sign_instance(void *arg, const char *method, const char *host, const char *target,
                             const char *date, struct str digest, struct buf *out)
{
    struct federation *f = arg;
    if (!f->instance_key)
        return KITH_EINVAL;
    return httpsig_sign_cavage(f->instance_key, str_from(f->instance_key_id), str_from(method),
                               str_from(target), str_from(host), str_from(date), digest, out);
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
                          char *owner, size_t ownerlen, int64_t *refetch_after)
{
    *refetch_after = 0;
    EVP_PKEY *key = keycache_get(f->keys, key_id, owner, ownerlen, refetch_after);
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
    keycache_put(f->keys, key_id, uri, key, 0);
    snprintf(owner, ownerlen, "%.*s", (int)uri.len, uri.ptr);
    return key;
}

/* ---- one inbox request, across its asynchronous steps ---- */

struct inbox_req {
    struct federation *f;
    struct http_ctx *ctx;
    bool fetched; /* the key was fetched for this request (no second fetch) */
    struct httpsig sig;
    const char *actor;  /* the activity's actor */
    bool actor_delete;  /* a Delete of the actor itself */
    struct buf payload; /* the queue entry */
    /* A remote actor fetched for its key, stored with the activity. */
    bool store_actor, is_group;
    struct account acct;
    struct community comm;
    int64_t refetch_after; /* the cached key's (keycache_get) */
    bool refetch;          /* the key is being fetched again after a failure */
    /* What happens once the signature verified (owner: the key's actor). */
    void (*then)(struct http_ctx *ctx, struct inbox_req *r, const char *owner);
    void (*then_user)(struct http_ctx *ctx, const char *signer, void *arg);
    void *then_arg;
    /* A community's Announce naming its object by id: fetched from its origin. */
    const char *announce_ref;
    /* An Announce embedding an object from another server than the actor's:
     * fetched from its origin too when the actor is a person (a boost). */
    const char *embedded_ref;
    cJSON *doc;
    int64_t received;
};

static int apply_enqueue(struct kv_txn *txn, void *arg)
{
    struct inbox_req *r = arg;
    uint64_t id;
    int rc = KITH_OK;
    if (r->store_actor)
        rc = r->is_group ? community_upsert_remote(txn, &r->comm, &id)
                         : account_upsert_remote(txn, &r->acct, &id);
    if (rc == KITH_OK)
        rc = queue_push(txn, QUEUE_INBOX, buf_str(&r->payload), NULL);
    return rc;
}

static void free_buf(void *p)
{
    buf_free(p);
}

static void enqueued(struct http_ctx *ctx, int rc, void *arg)
{
    struct inbox_req *r = arg;
    if (rc) {
        /* Nothing was stored: the sender retries later. */
        http_add_header(ctx, "Retry-After", "60");
        http_reply_error(ctx, 503, "cannot store the activity now: %s", kith_strerror(rc));
        return;
    }
    struct processor *p = r->f->processor; /* r lives in the arena the reply releases */
    http_reply_raw(ctx, 202, "application/json; charset=utf-8", STR_LIT("{}"));
    processor_kick(p);
}

/* Checks the signature with key (owned by owner), then goes on with r->then. */
static int fetch_key(struct http_ctx *ctx, struct inbox_req *r);

static void enqueue(struct http_ctx *ctx, struct inbox_req *r)
{
    if (http_write(ctx, apply_enqueue, r, enqueued, r))
        http_reply_error(ctx, 503, "shutting down");
}

/* The object of a community's Announce, fetched from its origin: queued
 * embedded in the Announce (with a "fetched" line), so the processor can
 * apply it. A failed fetch queues the Announce as it came, for inspection. */
static void announced_object_fetched(const struct fetch_result *fr, void *arg)
{
    struct inbox_req *r = arg;
    struct http_ctx *ctx = r->ctx;
    if (fr->err == KITH_ESTOPPED) {
        http_reply_error(ctx, 503, "shutting down");
        return;
    }
    cJSON *obj =
        !fr->err && fr->status == 200 ? cJSON_ParseWithLength(fr->body.ptr, fr->body.len) : NULL;
    cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
    if (cJSON_IsObject(obj) && cJSON_IsString(id) &&
        strcmp(id->valuestring, r->announce_ref) == 0 &&
        str_eq_nocase(str_url_authority(str_from(fr->url)),
                      str_url_authority(str_from(r->announce_ref)))) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "@context");
        cJSON_ReplaceItemInObjectCaseSensitive(r->doc, "object", obj);
        char *text = cJSON_PrintUnformatted(r->doc);
        if (text) {
            buf_reset(&r->payload);
            buf_printf(&r->payload, "%s\nsigner %s\nrecipient %.*s\nreceived %lld\nfetched %s\n\n",
                       INBOX_MAGIC, r->actor, (int)ctx->path.len, ctx->path.ptr,
                       (long long)r->received, r->announce_ref);
            if (buf_add_cstr(&r->payload, text)) {
                free(text);
                http_reply_error(ctx, 413, "the announced object is too large");
                return;
            }
            free(text);
        }
    } else {
        cJSON_Delete(obj);
    }
    enqueue(ctx, r);
}

/* ---- refreshing stored actors ---- */

static const char *jstr(cJSON *o, const char *key);

/* An actor fetched again in the background, stored when it reads well. */
struct actor_refresh {
    struct writer_req req;
    struct core *core;
    struct arena a;
    char *url;
    bool is_group;
    struct account acct;
    struct community comm;
};

static void refresh_free(struct actor_refresh *x)
{
    arena_release(&x->a);
    free(x->url);
    free(x);
}

static int apply_refresh(struct kv_txn *txn, void *arg)
{
    struct actor_refresh *x = arg;
    uint64_t id;
    uint8_t kind;
    int rc = actor_uri_lookup(txn, str_from(x->url), &kind, &id);
    if (rc == KITH_OK && kind == (x->is_group ? NAME_COMMUNITY : NAME_ACCOUNT))
        rc = x->is_group ? community_upsert_remote(txn, &x->comm, &id)
                         : account_upsert_remote(txn, &x->acct, &id);
    return rc == KITH_EEXIST ? KITH_OK : rc; /* a key id claimed by another: keep the old */
}

static void refresh_written(void *arg, int rc)
{
    struct actor_refresh *x = arg;
    if (rc)
        log_warn("federation: cannot store the refreshed actor %s: %s", x->url, kith_strerror(rc));
    refresh_free(x);
}

static void refresh_fetched(const struct fetch_result *fr, void *arg)
{
    struct actor_refresh *x = arg;
    char why[256];
    cJSON *doc =
        !fr->err && fr->status == 200 ? cJSON_ParseWithLength(fr->body.ptr, fr->body.len) : NULL;
    const char *id = doc ? jstr(doc, "id") : NULL;
    if (id && strcmp(id, x->url) == 0 &&
        remote_actor_read(doc, fr->url, x->core, &x->a, &x->is_group, &x->acct, &x->comm, why,
                          sizeof(why)) == KITH_OK) {
        cJSON_Delete(doc);
        x->req = (struct writer_req){.apply = apply_refresh, .done = refresh_written, .arg = x};
        if (writer_submit(x->core->w, &x->req) == KITH_OK)
            return;
    } else {
        cJSON_Delete(doc);
    }
    refresh_free(x); /* kept as it was; tried again after the next interval */
}

/* Starts fetching the actor again when its stored copy is older than
 * actor_refresh_after (Mastodon refreshes on interaction, daily). It never
 * delays the reply. */
static void maybe_refresh(struct http_ctx *ctx, struct federation *f, struct kv_txn *txn,
                          uint8_t kind, uint64_t id)
{
    struct account acct;
    struct community comm;
    int64_t fetched;
    struct str uri;
    if (kind == NAME_ACCOUNT) {
        if (account_get(txn, id, &ctx->arena, &acct))
            return;
        fetched = acct.fetched_at;
        uri = acct.uri;
    } else {
        if (community_get(txn, id, &ctx->arena, &comm))
            return;
        fetched = comm.fetched_at;
        uri = comm.uri;
    }
    if (!uri.len || (uint64_t)(wall_seconds() - fetched) * 1000 < f->cfg->actor_refresh_after_ms)
        return;
    struct fetcher *fetch = federation_loop_fetcher(ctx, f);
    struct loop_data *ld = *http_thread_data(ctx);
    if (!fetch)
        return;
    for (unsigned i = 0; i < RECENT_REFRESHES; i++)
        if (ld->recent[i] == id)
            return; /* started lately */
    ld->recent[ld->next_recent++ % RECENT_REFRESHES] = id;
    struct actor_refresh *x = xcalloc(1, sizeof(*x));
    x->core = f->core;
    x->url = xstrndup(uri.ptr, uri.len);
    struct fetch_opts o = {
        .sign = federation_sign_instance, .sign_arg = f, .timeout_secs = 10, .max_body = 256 << 10};
    if (fetch_start(fetch, x->url, &o, refresh_fetched, x) != KITH_OK)
        refresh_free(x);
}

static void enqueue_verified(struct http_ctx *ctx, struct inbox_req *r, const char *owner)
{
    /* The key's owner must be exactly the activity's actor. */
    if (strcmp(owner, r->actor) != 0) {
        http_reply_error(ctx, 401, "signed by '%s', not by the activity's actor '%s'", owner,
                         r->actor);
        return;
    }
    struct kv_txn *txn;
    uint8_t kind;
    uint64_t id;
    struct fetcher *fetch;
    /* A key cached from a signed fetch belongs to an actor kith may not have
     * stored yet: the activity needs it stored, so fetch it once. */
    if (!r->store_actor && http_read_txn(ctx, &txn) == KITH_OK) {
        int rc = actor_uri_lookup(txn, str_from(owner), &kind, &id);
        if (rc == KITH_ENOTFOUND) {
            if (!r->fetched)
                fetch_key(ctx, r); /* replies itself */
            else
                http_reply_error(ctx, 401, "the signer '%s' cannot be stored", owner);
            return;
        }
        if (rc == KITH_OK)
            maybe_refresh(ctx, r->f, txn, kind, id);
    }
    /* The object of an Announce by id (a community's, or a person's boost),
     * or a person's boost embedding another server's post: from its origin. */
    if ((r->announce_ref || r->embedded_ref) && http_read_txn(ctx, &txn) == KITH_OK &&
        actor_uri_lookup(txn, str_from(r->actor), &kind, &id) == KITH_OK &&
        (kind == NAME_COMMUNITY ? r->announce_ref != NULL
                                : kind == NAME_ACCOUNT && followed_locally(txn, id)) &&
        (fetch = federation_loop_fetcher(ctx, r->f))) {
        if (!r->announce_ref)
            r->announce_ref = r->embedded_ref;
        struct fetch_opts o = {.sign = federation_sign_instance,
                               .sign_arg = r->f,
                               .timeout_secs = 10,
                               .max_body = 1 << 20};
        if (fetch_start(fetch, r->announce_ref, &o, announced_object_fetched, r) == KITH_OK)
            return;
    }
    enqueue(ctx, r);
}

static void verify_then(struct http_ctx *ctx, struct inbox_req *r, EVP_PKEY *key, const char *owner)
{
    char why[256];
    int vrc = httpsig_verify(&r->sig, key, why, sizeof(why));
    if (vrc) {
        /* A key kith had kept may have been rotated: fetch it once, afresh;
         * but not when it was just fetched again for the same reason (a
         * stream of bad signatures must not become a stream of fetches). */
        if (!r->fetched && wall_seconds() >= r->refetch_after) {
            keycache_forget(r->f->keys, r->sig.key_id);
            r->refetch = true;
            fetch_key(ctx, r); /* replies itself */
        } else {
            http_reply_error(ctx, 401, "%s", why);
        }
        return;
    }
    r->then(ctx, r, owner);
}

/* ---- fetching an actor we have not seen, for its key ---- */

static const char *jstr(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* host[:port] of an http(s) URL, in the arena. */
static struct str url_host(struct arena *a, const char *url)
{
    return url ? arena_str(a, str_url_authority(str_from(url))) : STR_NULL;
}

/* The URL of an actor's icon or image: a string, an Image object, or the
 * first of an array of them; http(s) only; NULL otherwise. */
static const char *image_url(cJSON *v)
{
    if (cJSON_IsArray(v))
        v = v->child;
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "url");
    if (cJSON_IsArray(v))
        v = v->child;
    if (cJSON_IsObject(v)) /* a Link */
        v = cJSON_GetObjectItemCaseSensitive(v, "href");
    if (!cJSON_IsString(v) || strlen(v->valuestring) > 2000 ||
        (strncmp(v->valuestring, "https://", 8) != 0 && strncmp(v->valuestring, "http://", 7) != 0))
        return NULL;
    return v->valuestring;
}

/* Reads an actor document fetched from fetched_url into an account or a
 * community (strings in a): it must come from the host it names and carry a
 * publicKey owned by it. Shared with kithctl act (act.c). */
int remote_actor_read(cJSON *doc, const char *fetched_url, struct core *core, struct arena *a,
                      bool *is_group, struct account *acct, struct community *comm, char *why,
                      size_t whylen)
{
    const char *id = jstr(doc, "id"), *type = jstr(doc, "type");
    cJSON *pk = cJSON_GetObjectItemCaseSensitive(doc, "publicKey");
    const char *pem = cJSON_IsObject(pk) ? jstr(pk, "publicKeyPem") : NULL;
    const char *kid = cJSON_IsObject(pk) ? jstr(pk, "id") : NULL;
    const char *owner = cJSON_IsObject(pk) ? jstr(pk, "owner") : NULL;
    if (!id || !type || !pem || !kid) {
        snprintf(why, whylen, "the document is not an actor with a publicKey");
        return KITH_EINVAL;
    }
    if (!str_eq_nocase(url_host(a, id), url_host(a, fetched_url))) {
        snprintf(why, whylen, "actor '%s' was served by another host", id);
        return KITH_EINVAL;
    }
    if (owner && strcmp(owner, id) != 0) {
        snprintf(why, whylen, "actor '%s' publishes a key it does not own", id);
        return KITH_EINVAL;
    }
    cJSON *ep = cJSON_GetObjectItemCaseSensitive(doc, "endpoints");
    const char *shared = cJSON_IsObject(ep) ? jstr(ep, "sharedInbox") : NULL;
    const char *name = jstr(doc, "preferredUsername");
    const char *display = jstr(doc, "name");
    const char *inbox = jstr(doc, "inbox");
    int64_t now = wall_seconds();
    /* HTML from outside is sanitised once, here, before it is stored. */
    struct str summary = STR_NULL;
    const char *raw_summary = jstr(doc, "summary");
    if (raw_summary) {
        struct buf clean;
        buf_init(&clean, 64 << 10);
        if (sanitize_html(str_from(raw_summary), &clean) == KITH_OK)
            summary = arena_str(a, buf_str(&clean));
        buf_free(&clean);
    }
    char *raw = cJSON_PrintUnformatted(doc);
    struct str rawdoc = raw && strlen(raw) <= (64u << 10) ? arena_str(a, str_from(raw)) : STR_NULL;
    free(raw);
    *is_group = strcmp(type, "Group") == 0;
    uint64_t new_id = idgen_next(store_ids(core->st));
#define S(v) ((v) ? arena_str(a, str_from(v)) : STR_NULL)
    if (*is_group) {
        memset(comm, 0, sizeof(*comm));
        comm->id = new_id;
        comm->uri = S(id);
        comm->name = S(name ? name : "");
        comm->domain = url_host(a, id);
        comm->title = S(display ? display : name);
        comm->description = summary;
        comm->inbox = S(inbox);
        comm->shared_inbox = S(shared);
        comm->followers_url = S(jstr(doc, "followers"));
        comm->public_key = S(pem);
        comm->key_id = S(kid);
        comm->created_at = comm->updated_at = comm->fetched_at = now;
        comm->actor_json = rawdoc;
    } else {
        memset(acct, 0, sizeof(*acct));
        acct->id = new_id;
        acct->uri = S(id);
        acct->name = S(name ? name : "");
        acct->domain = url_host(a, id);
        acct->display_name = S(display ? display : name);
        acct->note = summary;
        acct->inbox = S(inbox);
        acct->shared_inbox = S(shared);
        acct->public_key = S(pem);
        acct->key_id = S(kid);
        acct->bot = strcmp(type, "Service") == 0 || strcmp(type, "Application") == 0;
        acct->created_at = acct->updated_at = acct->fetched_at = now;
        acct->actor_json = rawdoc;
        acct->avatar = S(image_url(cJSON_GetObjectItemCaseSensitive(doc, "icon")));
        acct->header = S(image_url(cJSON_GetObjectItemCaseSensitive(doc, "image")));
    }
#undef S
    return KITH_OK;
}

/* The inbox's use: the document must also hold the key that signed. */
static int read_actor(struct http_ctx *ctx, struct inbox_req *r, const struct fetch_result *fr,
                      cJSON *doc, char *why, size_t whylen)
{
    cJSON *pk = cJSON_GetObjectItemCaseSensitive(doc, "publicKey");
    const char *kid = cJSON_IsObject(pk) ? jstr(pk, "id") : NULL;
    if (!kid || !str_eq(str_from(kid), r->sig.key_id)) {
        snprintf(why, whylen, "the document fetched for key '%.*s' does not hold it",
                 (int)r->sig.key_id.len, r->sig.key_id.ptr);
        return KITH_EINVAL;
    }
    r->store_actor = r->then == enqueue_verified;
    return remote_actor_read(doc, fr->url, http_core(ctx), &ctx->arena, &r->is_group, &r->acct,
                             &r->comm, why, whylen);
}

static void key_fetched(const struct fetch_result *fr, void *arg)
{
    struct inbox_req *r = arg;
    struct http_ctx *ctx = r->ctx;
    char why[300];

    if (fr->err == KITH_ESTOPPED) {
        http_reply_error(ctx, 503, "shutting down");
        return;
    }
    if (fr->err || fr->status != 200) {
        /* An actor that is gone cannot be checked: its own Delete is
         * acknowledged and dropped, with no further fetches. */
        if (r->actor_delete && !fr->err && (fr->status == 404 || fr->status == 410)) {
            http_reply_raw(ctx, 202, "application/json; charset=utf-8", STR_LIT("{}"));
            return;
        }
        if (fr->err)
            http_reply_error(ctx, 401, "cannot fetch key '%.*s': %s", (int)r->sig.key_id.len,
                             r->sig.key_id.ptr, fr->why);
        else
            http_reply_error(ctx, 401, "cannot fetch key '%.*s': HTTP %d", (int)r->sig.key_id.len,
                             r->sig.key_id.ptr, fr->status);
        return;
    }
    cJSON *doc = cJSON_ParseWithLength(fr->body.ptr, fr->body.len);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        http_reply_error(ctx, 401, "the key's document is not JSON");
        return;
    }
    int rc = read_actor(ctx, r, fr, doc, why, sizeof(why));
    cJSON_Delete(doc);
    if (rc) {
        http_reply_error(ctx, 401, "%s", why);
        return;
    }
    struct str pem = r->is_group ? r->comm.public_key : r->acct.public_key;
    struct str uri = r->is_group ? r->comm.uri : r->acct.uri;
    EVP_PKEY *key = pem_public_key(pem);
    if (!key) {
        http_reply_error(ctx, 401, "the actor's publicKeyPem does not parse");
        return;
    }
    /* Fetched again because a signature failed: not again for a minute. */
    keycache_put(r->f->keys, r->sig.key_id, uri, key,
                 r->refetch ? wall_seconds() + KEY_REFETCH_SECS : 0);
    verify_then(ctx, r, key, arena_str(&ctx->arena, uri).ptr);
    EVP_PKEY_free(key);
}

/* Starts fetching the signer's key document; key_fetched continues.
 * On failure to start, replies and returns non-zero. */
static int fetch_key(struct http_ctx *ctx, struct inbox_req *r)
{
    struct federation *f = r->f;
    struct fetcher *fetch = federation_loop_fetcher(ctx, f);
    r->fetched = true;
    if (!fetch) {
        http_reply_error(ctx, 503, "cannot fetch keys now");
        return KITH_EIO;
    }
    char *url = arena_strndup(&ctx->arena, r->sig.key_id.ptr, r->sig.key_id.len);
    struct fetch_opts o = {
        .sign = federation_sign_instance, .sign_arg = f, .timeout_secs = 10, .max_body = 256 << 10};
    if (fetch_start(fetch, url, &o, key_fetched, r)) {
        http_reply_error(ctx, 401, "cannot fetch key '%s'", url);
        return KITH_EIO;
    }
    return KITH_OK;
}

/* The request as the signature checker sees it: the target as public_url
 * sees it, not as a reverse proxy forwards it. */
static void message_of(struct http_ctx *ctx, const struct kith_config *cfg, struct httpsig_msg *m)
{
    *m = (struct httpsig_msg){
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
}

static void fetch_verified(struct http_ctx *ctx, struct inbox_req *r, const char *owner)
{
    r->then_user(ctx, owner, r->then_arg);
}

int signed_request(struct http_ctx *ctx, void (*then)(struct http_ctx *, const char *, void *),
                   void *arg)
{
    struct federation *f = http_app(ctx);
    char why[256], owner[512];
    struct inbox_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->f = f;
    r->ctx = ctx;
    r->then = fetch_verified;
    r->then_user = then;
    r->then_arg = arg;
    struct httpsig_msg m;
    message_of(ctx, f->cfg, &m);
    if (!http_header(ctx, "Signature").ptr && !http_header(ctx, "Signature-Input").ptr) {
        http_reply_error(ctx, 401, "this object is served to signed requests only");
        return HANDLER_DONE;
    }
    if (httpsig_prepare(&m, &ctx->arena, &r->sig, why, sizeof(why))) {
        http_reply_error(ctx, 401, "%s", why);
        return HANDLER_DONE;
    }
    EVP_PKEY *key = find_key(ctx, f, r->sig.key_id, owner, sizeof(owner), &r->refetch_after);
    if (key) {
        verify_then(ctx, r, key, owner);
        EVP_PKEY_free(key);
        return HANDLER_ASYNC;
    }
    return fetch_key(ctx, r) ? HANDLER_DONE : HANDLER_ASYNC;
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

    struct inbox_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->f = f;
    r->ctx = ctx;
    r->actor = actor;
    r->then = enqueue_verified;
    r->doc = doc;
    cJSON *announced = cJSON_GetObjectItemCaseSensitive(doc, "object");
    if (strcmp(type, "Announce") == 0 && cJSON_IsString(announced) &&
        (strncmp(announced->valuestring, "https://", 8) == 0 ||
         strncmp(announced->valuestring, "http://", 7) == 0) &&
        strncmp(announced->valuestring, f->cfg->public_url, strlen(f->cfg->public_url)) != 0)
        r->announce_ref = arena_strdup(&ctx->arena, announced->valuestring);
    const char *embedded = cJSON_IsObject(announced) ? json_string(announced, "id") : NULL;
    if (strcmp(type, "Announce") == 0 && embedded &&
        (strncmp(embedded, "https://", 8) == 0 || strncmp(embedded, "http://", 7) == 0) &&
        strncmp(embedded, f->cfg->public_url, strlen(f->cfg->public_url)) != 0 &&
        !str_eq_nocase(str_url_authority(str_from(embedded)), str_url_authority(str_from(actor))))
        r->embedded_ref = arena_strdup(&ctx->arena, embedded);
    const char *object = json_string(doc, "object");
    r->actor_delete = strcmp(type, "Delete") == 0 && object && strcmp(object, actor) == 0;
    struct httpsig_msg m;
    message_of(ctx, f->cfg, &m);
    if (httpsig_prepare(&m, &ctx->arena, &r->sig, why, sizeof(why))) {
        http_reply_error(ctx, 401, "%s", why);
        return HANDLER_DONE;
    }
    buf_init(&r->payload, QUEUE_MAX_PAYLOAD);
    arena_defer(&ctx->arena, free_buf, &r->payload);
    r->received = m.now;
    buf_printf(&r->payload, "%s\nsigner %s\nrecipient %.*s\nreceived %lld\n\n", INBOX_MAGIC, actor,
               (int)ctx->path.len, ctx->path.ptr, (long long)m.now);
    if (buf_add_str(&r->payload, ctx->body)) {
        http_reply_error(ctx, 413, "activity too large");
        return HANDLER_DONE;
    }
    EVP_PKEY *key = find_key(ctx, f, r->sig.key_id, owner, sizeof(owner), &r->refetch_after);
    if (key) {
        verify_then(ctx, r, key, owner);
        EVP_PKEY_free(key);
        return HANDLER_ASYNC; /* replied, or replies when the write is durable */
    }
    /* An actor kith has not seen: fetch its key (signed by the instance actor). */
    if (fetch_key(ctx, r))
        return HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route inbox_routes[3] = {
    {"POST", "/inbox", handle_inbox, 0, NULL},
    {"POST", "/u/{name}/inbox", handle_inbox, 0, NULL},
    {"POST", "/c/{name}/inbox", handle_inbox, 0, NULL},
};

void federation_delivery_live(void *arg, struct buf *out)
{
    struct federation *f = arg;
    struct deliver_stats st;
    deliverer_stats(f->deliverer, &st);
    buf_printf(out, "since start: %llu delivered, %llu retried, %llu dropped, %llu in flight\n",
               (unsigned long long)st.delivered, (unsigned long long)st.retried,
               (unsigned long long)st.dropped, (unsigned long long)st.in_flight);
    buf_printf(out, "connections: %llu opened, %llu requests on kept-alive ones\n",
               (unsigned long long)st.connections, (unsigned long long)st.reused);
    if (st.in_flight) {
        buf_printf(out, "in flight now, per host:\n");
        deliverer_hosts(f->deliverer, out);
    }
}
