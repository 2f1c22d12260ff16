/* federation/actors.c: Person, Group and Application actors, and their
 * collections, at stable URLs with content negotiation. */
#include "actors.h"
#include "inbox.h"
#include "outbox.h"

#include "../src/base/clock.h"
#include "../src/base/err.h"
#include "../src/base/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool ap_wanted(struct http_ctx *ctx)
{
    struct str accept = http_header(ctx, "Accept");
    if (!accept.ptr)
        return false;
    return strstr(accept.ptr, "application/activity+json") ||
           (strstr(accept.ptr, "application/ld+json") &&
            strstr(accept.ptr, "https://www.w3.org/ns/activitystreams"));
}

cJSON *ap_context(void)
{
    /* Plain terms (name, IRI), then terms with a definition of their own. */
    static const char *const terms[][2] = {
        {"manuallyApprovesFollowers", "as:manuallyApprovesFollowers"},
        {"sensitive", "as:sensitive"},
        {"Hashtag", "as:Hashtag"},
        {"toot", "http://joinmastodon.org/ns#"},
        {"discoverable", "toot:discoverable"},
        {"blurhash", "toot:blurhash"},
        {"votersCount", "toot:votersCount"},
        {"schema", "http://schema.org#"},
        {"PropertyValue", "schema:PropertyValue"},
        {"value", "schema:value"},
        {"lemmy", "https://join-lemmy.org/ns#"},
        {"postingRestrictedToMods", "lemmy:postingRestrictedToMods"},
    };
    static const char *const defined[][3] = {
        /* name, @id, and @type or @container */
        {"featured", "toot:featured", "@type"},
        {"moderators", "lemmy:moderators", "@type"},
        {"focalPoint", "toot:focalPoint", "@container"},
    };
    cJSON *ctx = cJSON_CreateArray();
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://www.w3.org/ns/activitystreams"));
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://w3id.org/security/v1"));
    cJSON *ext = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++)
        cJSON_AddStringToObject(ext, terms[i][0], terms[i][1]);
    for (size_t i = 0; i < sizeof(defined) / sizeof(defined[0]); i++) {
        cJSON *d = cJSON_AddObjectToObject(ext, defined[i][0]);
        cJSON_AddStringToObject(d, "@id", defined[i][1]);
        bool type = defined[i][2][1] == 't';
        cJSON_AddStringToObject(d, defined[i][2], type ? "@id" : "@list");
    }
    cJSON_AddItemToArray(ctx, ext);
    return ctx;
}

void ap_reply(struct http_ctx *ctx, int status, cJSON *root)
{
    /* @context goes first: some parsers read it before anything else. */
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "@context", ap_context());
    cJSON *item = root->child;
    root->child = NULL;
    while (item) {
        cJSON *next = item->next;
        item->prev = item->next = NULL;
        cJSON_AddItemToObject(doc, item->string, item);
        /* AddItemToObject copies the key; free the detached one. */
        item = next;
    }
    cJSON_Delete(root);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    http_add_header(ctx, "Vary", "Accept");
    http_add_header(ctx, "Access-Control-Allow-Origin", "*");
    http_reply_raw(ctx, status, AP_MEDIA_TYPE, str_from(text ? text : "{}"));
    free(text);
}

const char *ap_time(struct arena *a, int64_t t)
{
    char out[32];
    clock_rfc3339(t, false, out);
    return arena_strdup(a, out);
}

static void add_str(cJSON *o, const char *key, struct str v, struct arena *a)
{
    cJSON_AddStringToObject(o, key, arena_str(a, v).ptr);
}

static void add_public_key(cJSON *o, const char *actor, struct str pem, struct arena *a)
{
    cJSON *pk = cJSON_AddObjectToObject(o, "publicKey");
    cJSON_AddStringToObject(pk, "id", arena_printf(a, "%s#main-key", actor));
    cJSON_AddStringToObject(pk, "owner", actor);
    add_str(pk, "publicKeyPem", pem, a);
}

/* 404 for unknown names, and for suspended or unapproved people. */
static int find_actor(struct http_ctx *ctx, uint8_t want, struct account *acct,
                      struct community *comm, struct kv_txn **txn)
{
    struct str name = route_param(&ctx->params, "name");
    int rc = http_read_txn(ctx, txn);
    if (rc)
        return rc;
    if (want == NAME_ACCOUNT) {
        rc = account_get_local(*txn, name, &ctx->arena, acct);
        if (rc == KITH_OK && acct->state != ACCOUNT_ACTIVE)
            rc = acct->state == ACCOUNT_SUSPENDED ? KITH_EDENIED : KITH_ENOTFOUND;
    } else {
        rc = community_get_local(*txn, name, &ctx->arena, comm);
    }
    return rc;
}

static int actor_error(struct http_ctx *ctx, int rc)
{
    if (rc == KITH_ENOTFOUND)
        http_reply_error(ctx, 404, "no such actor");
    else if (rc == KITH_EDENIED)
        http_reply_error(ctx, 410, "this account is suspended");
    else
        http_reply_error(ctx, 503, "database unavailable");
    return HANDLER_DONE;
}

/* Browsers get the profile page; ActivityPub clients the document. */
static bool redirect_browser(struct http_ctx *ctx, const char *page)
{
    if (ap_wanted(ctx))
        return false;
    http_redirect(ctx, 302, page);
    return true;
}

static void add_image(cJSON *o, const char *key, struct str url, struct arena *a)
{
    if (!url.len)
        return;
    cJSON *img = cJSON_AddObjectToObject(o, key);
    cJSON_AddStringToObject(img, "type", "Image");
    add_str(img, "url", url, a);
}

cJSON *person_json(struct core *core, struct arena *a, const struct account *acct_p)
{
    const struct account acct = *acct_p;
    const char *base = core->cfg->public_url;
    const char *id = arena_printf(a, "%s/u/%.*s", base, (int)acct.name.len, acct.name.ptr);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", acct.bot ? "Service" : "Person");
    add_str(o, "preferredUsername", acct.name, a);
    add_str(o, "name", acct.display_name.len ? acct.display_name : acct.name, a);
    add_str(o, "summary", acct.note, a);
    if (acct.note_source.len) { /* the bio as written */
        cJSON *src = cJSON_AddObjectToObject(o, "source");
        add_str(src, "content", acct.note_source, a);
        cJSON_AddStringToObject(src, "mediaType", "text/plain");
    }
    cJSON_AddStringToObject(o, "url",
                            arena_printf(a, "%s/@%.*s", base, (int)acct.name.len, acct.name.ptr));
    cJSON_AddStringToObject(o, "inbox", arena_printf(a, "%s/inbox", id));
    cJSON_AddStringToObject(o, "outbox", arena_printf(a, "%s/outbox", id));
    cJSON_AddStringToObject(o, "followers", arena_printf(a, "%s/followers", id));
    cJSON_AddStringToObject(o, "following", arena_printf(a, "%s/following", id));
    cJSON_AddStringToObject(o, "featured", arena_printf(a, "%s/featured", id));
    cJSON *ep = cJSON_AddObjectToObject(o, "endpoints");
    cJSON_AddStringToObject(ep, "sharedInbox", arena_printf(a, "%s/inbox", base));
    cJSON_AddBoolToObject(o, "manuallyApprovesFollowers", acct.locked);
    cJSON_AddBoolToObject(o, "discoverable", true);
    cJSON_AddStringToObject(o, "published", ap_time(a, acct.created_at));
    if (acct.updated_at > acct.created_at)
        cJSON_AddStringToObject(o, "updated", ap_time(a, acct.updated_at));
    add_image(o, "icon", acct.avatar, a);
    add_image(o, "image", acct.header, a);
    cJSON *fields = acct.fields_json.len
                        ? cJSON_ParseWithLength(acct.fields_json.ptr, acct.fields_json.len)
                        : NULL;
    if (cJSON_IsArray(fields) && cJSON_GetArraySize(fields) > 0) { /* Mastodon's PropertyValue */
        cJSON *att = cJSON_AddArrayToObject(o, "attachment");
        for (cJSON *f = fields->child; f; f = f->next) {
            cJSON *n = cJSON_GetObjectItem(f, "name"), *v = cJSON_GetObjectItem(f, "value");
            if (!cJSON_IsString(n) || !cJSON_IsString(v))
                continue;
            cJSON *pv = cJSON_CreateObject();
            cJSON_AddStringToObject(pv, "type", "PropertyValue");
            cJSON_AddStringToObject(pv, "name", n->valuestring);
            cJSON_AddStringToObject(pv, "value", v->valuestring);
            cJSON_AddItemToArray(att, pv);
        }
    }
    cJSON_Delete(fields);
    add_public_key(o, id, acct.public_key, a);
    return o;
}

static int handle_person(struct http_ctx *ctx)
{
    struct account acct;
    struct kv_txn *txn;
    int rc = find_actor(ctx, NAME_ACCOUNT, &acct, NULL, &txn);
    if (rc)
        return actor_error(ctx, rc);
    if (redirect_browser(ctx, http_url(ctx, "/@%.*s", (int)acct.name.len, acct.name.ptr)))
        return HANDLER_DONE;
    ap_reply(ctx, 200, person_json(http_core(ctx), &ctx->arena, &acct));
    return HANDLER_DONE;
}

static int handle_group(struct http_ctx *ctx)
{
    struct community c;
    struct kv_txn *txn;
    int rc = find_actor(ctx, NAME_COMMUNITY, NULL, &c, &txn);
    if (rc)
        return actor_error(ctx, rc);
    struct arena *a = &ctx->arena;
    const char *id = http_url(ctx, "/c/%.*s", (int)c.name.len, c.name.ptr);
    if (redirect_browser(ctx, arena_printf(a, "%s/", id)))
        return HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "Group");
    add_str(o, "preferredUsername", c.name, a);
    add_str(o, "name", c.title.len ? c.title : c.name, a);
    add_str(o, "summary", c.description, a);
    cJSON_AddStringToObject(o, "mediaType", "text/html");
    cJSON *src = cJSON_AddObjectToObject(o, "source");
    add_str(src, "content", c.description, a);
    cJSON_AddStringToObject(src, "mediaType", "text/markdown");
    cJSON_AddBoolToObject(o, "sensitive", c.nsfw);
    cJSON_AddStringToObject(o, "url", arena_printf(a, "%s/", id));
    cJSON_AddStringToObject(o, "inbox", arena_printf(a, "%s/inbox", id));
    cJSON_AddStringToObject(o, "outbox", arena_printf(a, "%s/outbox", id));
    cJSON_AddStringToObject(o, "followers", arena_printf(a, "%s/followers", id));
    cJSON_AddStringToObject(o, "featured", arena_printf(a, "%s/featured", id));
    const char *mods = arena_printf(a, "%s/moderators", id);
    cJSON_AddStringToObject(o, "attributedTo", mods);
    cJSON_AddStringToObject(o, "moderators", mods);
    cJSON_AddBoolToObject(o, "postingRestrictedToMods", c.posting_restricted);
    /* Only a private community sets this: Lemmy 1.0 reads it as "private". */
    if (c.join_mode == JOIN_APPROVAL)
        cJSON_AddBoolToObject(o, "manuallyApprovesFollowers", true);
    cJSON_AddBoolToObject(o, "discoverable", true);
    cJSON *ep = cJSON_AddObjectToObject(o, "endpoints");
    cJSON_AddStringToObject(ep, "sharedInbox", http_url(ctx, "/inbox"));
    cJSON_AddStringToObject(o, "published", ap_time(a, c.created_at));
    cJSON_AddStringToObject(o, "updated", ap_time(a, c.updated_at));
    add_public_key(o, id, c.public_key, a);
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}

static int handle_instance_actor(struct http_ctx *ctx)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct kv_txn *txn;
    struct str pem;
    if (http_read_txn(ctx, &txn) ||
        kv_get(txn, T_META, STR_LIT("instance_public_key"), &pem) != KITH_OK) {
        http_reply_error(ctx, 503, "the instance key is not ready");
        return HANDLER_DONE;
    }
    struct arena *a = &ctx->arena;
    const char *id = http_url(ctx, "/actor");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "Application");
    cJSON_AddStringToObject(o, "preferredUsername", cfg->domain);
    cJSON_AddStringToObject(o, "name", cfg->title);
    cJSON_AddStringToObject(o, "summary", cfg->description);
    cJSON_AddStringToObject(o, "url", http_url(ctx, "/"));
    cJSON_AddStringToObject(o, "inbox", http_url(ctx, "/inbox"));
    cJSON_AddStringToObject(o, "outbox", arena_printf(a, "%s/outbox", id));
    cJSON *ep = cJSON_AddObjectToObject(o, "endpoints");
    cJSON_AddStringToObject(ep, "sharedInbox", http_url(ctx, "/inbox"));
    cJSON_AddBoolToObject(o, "manuallyApprovesFollowers", true);
    add_public_key(o, id, pem, a);
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}

/* ---- collections ---- */

static cJSON *collection(const char *id, bool ordered, uint64_t total)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", ordered ? "OrderedCollection" : "Collection");
    cJSON_AddNumberToObject(o, "totalItems", (double)total);
    return o;
}

/* followers / following / outbox / featured of a person or a community. */
static int handle_collection(struct http_ctx *ctx, uint8_t kind, const char *which)
{
    struct account acct;
    struct community c;
    struct kv_txn *txn;
    int rc = find_actor(ctx, kind, &acct, &c, &txn);
    if (rc)
        return actor_error(ctx, rc);
    uint64_t id = kind == NAME_ACCOUNT ? acct.id : c.id;
    struct str name = kind == NAME_ACCOUNT ? acct.name : c.name;
    const char *url = http_url(ctx, "/%c/%.*s/%s", kind == NAME_ACCOUNT ? 'u' : 'c', (int)name.len,
                               name.ptr, which);
    cJSON *o;
    if (strcmp(which, "followers") == 0) {
        /* Counts only, to protect members' privacy (as Lemmy and Mastodon do). */
        uint64_t n = kind == NAME_ACCOUNT ? prefix_count(txn, T_FOLLOWERS, id)
                                          : prefix_count(txn, T_MEMBERS, id);
        o = collection(url, false, n);
    } else if (strcmp(which, "following") == 0) {
        o = collection(url, false, prefix_count(txn, T_FOLLOWS, id));
    } else if (kind == NAME_ACCOUNT) {
        /* featured: a person's pinned public and unlisted notes, newest first
         * (Mastodon shows them pinned on the profile). */
        uint64_t *ids = NULL;
        size_t n = 0;
        cJSON *items = cJSON_CreateArray();
        prefix_ids(txn, T_PINS, id, &ids, &n);
        for (size_t i = n; i-- > 0;) {
            struct post p;
            if (post_get(txn, ids[i], &ctx->arena, &p) == KITH_OK && !p.deleted_at &&
                (p.visibility == VIS_PUBLIC || p.visibility == VIS_UNLISTED))
                cJSON_AddItemToArray(items, object_json(txn, http_core(ctx), &ctx->arena, &p));
        }
        free(ids);
        o = collection(url, true, (uint64_t)cJSON_GetArraySize(items));
        cJSON_AddItemToObject(o, "orderedItems", items);
    } else {
        /* A community's featured posts come with the moderation issue. */
        o = collection(url, true, 0);
        cJSON_AddArrayToObject(o, "orderedItems");
    }
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}

static int person_followers(struct http_ctx *ctx)
{
    return handle_collection(ctx, NAME_ACCOUNT, "followers");
}
static int person_following(struct http_ctx *ctx)
{
    return handle_collection(ctx, NAME_ACCOUNT, "following");
}
/* A person's outbox: the Create of their 20 latest public and unlisted
 * notes (what Mastodon lists), newest first; what they wrote in
 * communities is in the communities' outboxes. */
static int person_outbox(struct http_ctx *ctx)
{
    struct account acct;
    struct kv_txn *txn;
    struct kv_cursor *cur;
    struct str key;
    int rc = find_actor(ctx, NAME_ACCOUNT, &acct, NULL, &txn);
    if (rc)
        return actor_error(ctx, rc);
    struct arena *a = &ctx->arena;
    struct core *core = http_core(ctx);
    const char *actor = http_url(ctx, "/u/%.*s", (int)acct.name.len, acct.name.ptr);
    cJSON *items = cJSON_CreateArray();
    uint64_t total = 0;
    if (kv_cursor_open(txn, T_AUTHOR_POSTS, &cur) == KITH_OK) {
        struct key16 end = key_pair(acct.id, UINT64_MAX);
        rc = kv_cursor_seek(cur, KEY16(end), &key, NULL);
        rc = rc == KITH_OK ? kv_cursor_prev(cur, &key, NULL) : kv_cursor_last(cur, &key, NULL);
        for (int scanned = 0; rc == KITH_OK && key.len == 16 && scanned < 1000 &&
                              be64_get((const unsigned char *)key.ptr) == acct.id;
             rc = kv_cursor_prev(cur, &key, NULL), scanned++) {
            struct post p;
            if (post_get(txn, be64_get((const unsigned char *)key.ptr + 8), a, &p) ||
                p.deleted_at || p.community_id ||
                (p.visibility != VIS_PUBLIC && p.visibility != VIS_UNLISTED))
                continue;
            total++;
            if (cJSON_GetArraySize(items) >= 20)
                continue;
            cJSON *note = object_json(txn, core, a, &p);
            cJSON *create = cJSON_CreateObject();
            cJSON_AddStringToObject(create, "id",
                                    arena_printf(a, "%s/activity", post_url(a, core->cfg, &p)));
            cJSON_AddStringToObject(create, "type", "Create");
            cJSON_AddStringToObject(create, "actor", actor);
            cJSON_AddItemToObject(create, "to",
                                  cJSON_Duplicate(cJSON_GetObjectItem(note, "to"), 1));
            cJSON_AddItemToObject(create, "cc",
                                  cJSON_Duplicate(cJSON_GetObjectItem(note, "cc"), 1));
            cJSON_AddStringToObject(create, "published", ap_time(a, p.created_at));
            cJSON_AddItemToObject(create, "object", note);
            cJSON_AddItemToArray(items, create);
        }
        kv_cursor_close(cur);
    }
    cJSON *o =
        collection(http_url(ctx, "/u/%.*s/outbox", (int)acct.name.len, acct.name.ptr), true, total);
    cJSON_AddItemToObject(o, "orderedItems", items);
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}
static int person_featured(struct http_ctx *ctx)
{
    return handle_collection(ctx, NAME_ACCOUNT, "featured");
}
static int group_followers(struct http_ctx *ctx)
{
    return handle_collection(ctx, NAME_COMMUNITY, "followers");
}
/* A community's outbox: its 20 most recent posts, each as the Announce of
 * its Create, so a server that has just followed can backfill (as Lemmy's
 * outbox does). Built from the stored posts. A private community lists
 * none: its posts are for its members' servers, fetched signed. */
static int group_outbox(struct http_ctx *ctx)
{
    struct community c;
    struct kv_txn *txn;
    struct kv_cursor *cur;
    struct str key;
    int rc = find_actor(ctx, NAME_COMMUNITY, NULL, &c, &txn);
    if (rc)
        return actor_error(ctx, rc);
    struct arena *a = &ctx->arena;
    struct core *core = http_core(ctx);
    const char *curl = community_url(a, core, &c);
    cJSON *items = cJSON_CreateArray();
    /* The community's posts sort by id (time): walk back from its last one. */
    struct key16 end = key_pair(c.id, UINT64_MAX);
    int n = 0;
    if (c.join_mode != JOIN_APPROVAL && kv_cursor_open(txn, T_COMMUNITY_POSTS, &cur) == KITH_OK) {
        rc = kv_cursor_seek(cur, KEY16(end), &key, NULL);
        rc = rc == KITH_OK ? kv_cursor_prev(cur, &key, NULL) : kv_cursor_last(cur, &key, NULL);
        for (; rc == KITH_OK && n < 20 && key.len == 16 &&
               be64_get((const unsigned char *)key.ptr) == c.id;
             rc = kv_cursor_prev(cur, &key, NULL)) {
            struct post p;
            if (post_get(txn, be64_get((const unsigned char *)key.ptr + 8), a, &p) || p.deleted_at)
                continue;
            cJSON *page = object_json(txn, core, a, &p);
            const char *author = account_url(txn, core, a, p.author_id);
            cJSON *create = cJSON_CreateObject();
            cJSON_AddStringToObject(
                create, "id",
                arena_printf(a, "%s/activities/create/%llu", curl, (unsigned long long)p.id));
            cJSON_AddStringToObject(create, "type", "Create");
            cJSON_AddStringToObject(create, "actor", author ? author : "");
            cJSON_AddItemToObject(create, "to",
                                  cJSON_Duplicate(cJSON_GetObjectItem(page, "to"), 1));
            cJSON_AddItemToObject(create, "object", page);
            cJSON *ann = cJSON_CreateObject();
            cJSON_AddStringToObject(
                ann, "id",
                arena_printf(a, "%s/activities/announce/%llu", curl, (unsigned long long)p.id));
            cJSON_AddStringToObject(ann, "type", "Announce");
            cJSON_AddStringToObject(ann, "actor", curl);
            cJSON *ato = cJSON_AddArrayToObject(ann, "to");
            cJSON_AddItemToArray(ato, cJSON_CreateString(AS_PUBLIC));
            cJSON_AddItemToObject(ann, "object", create);
            cJSON_AddItemToArray(items, ann);
            n++;
        }
        kv_cursor_close(cur);
    }
    cJSON *o =
        collection(http_url(ctx, "/c/%.*s/outbox", (int)c.name.len, c.name.ptr), true,
                   c.join_mode == JOIN_APPROVAL ? 0 : prefix_count(txn, T_COMMUNITY_POSTS, c.id));
    cJSON_AddItemToObject(o, "orderedItems", items);
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}

static int group_featured(struct http_ctx *ctx)
{
    return handle_collection(ctx, NAME_COMMUNITY, "featured");
}

static int group_moderators(struct http_ctx *ctx)
{
    struct community c;
    struct kv_txn *txn;
    struct kv_cursor *cur;
    struct str key, val;
    int rc = find_actor(ctx, NAME_COMMUNITY, NULL, &c, &txn);
    if (rc)
        return actor_error(ctx, rc);
    const char *url = http_url(ctx, "/c/%.*s/moderators", (int)c.name.len, c.name.ptr);
    cJSON *items = cJSON_CreateArray();
    struct key8 k = key_id(c.id);
    if (kv_cursor_open(txn, T_MEMBERS, &cur) == KITH_OK) {
        for (rc = kv_cursor_seek(cur, KEY8(k), &key, &val);
             rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(cur, &key, &val)) {
            struct membership m;
            struct account acct;
            if (record_decode(&membership_desc, val, &ctx->arena, &m) != KITH_OK ||
                m.role < MEMBER_MODERATOR || m.banned ||
                account_get(txn, m.account_id, &ctx->arena, &acct) != KITH_OK)
                continue;
            const char *actor = acct.uri.len
                                    ? arena_str(&ctx->arena, acct.uri).ptr
                                    : http_url(ctx, "/u/%.*s", (int)acct.name.len, acct.name.ptr);
            cJSON_AddItemToArray(items, cJSON_CreateString(actor));
        }
        kv_cursor_close(cur);
    }
    cJSON *o = collection(url, true, (uint64_t)cJSON_GetArraySize(items));
    cJSON_AddItemToObject(o, "orderedItems", items);
    ap_reply(ctx, 200, o);
    return HANDLER_DONE;
}

static const struct route actor_routes[] = {
    {"GET", "/actor", handle_instance_actor, 0, NULL},
    {"GET", "/u/{name}", handle_person, 0, NULL},
    {"GET", "/u/{name}/followers", person_followers, 0, NULL},
    {"GET", "/u/{name}/following", person_following, 0, NULL},
    {"GET", "/u/{name}/outbox", person_outbox, 0, NULL},
    {"GET", "/u/{name}/featured", person_featured, 0, NULL},
    {"GET", "/c/{name}", handle_group, 0, NULL},
    {"GET", "/c/{name}/followers", group_followers, 0, NULL},
    {"GET", "/c/{name}/outbox", group_outbox, 0, NULL},
    {"GET", "/c/{name}/featured", group_featured, 0, NULL},
    {"GET", "/c/{name}/moderators", group_moderators, 0, NULL},
};

const struct route_table federation_tables[] = {
    {discovery_routes, sizeof(discovery_routes) / sizeof(discovery_routes[0])},
    {actor_routes, sizeof(actor_routes) / sizeof(actor_routes[0])},
    {inbox_routes, sizeof(inbox_routes) / sizeof(inbox_routes[0])},
    {object_routes, sizeof(object_routes) / sizeof(object_routes[0])},
};
const size_t federation_ntables = sizeof(federation_tables) / sizeof(federation_tables[0]);
