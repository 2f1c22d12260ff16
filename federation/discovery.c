/* federation/discovery.c: WebFinger, host-meta and NodeInfo. */
#include "actors.h"

#include "../src/base/err.h"
#include "../src/base/version.h"

#include <ctype.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

/* ---- WebFinger (RFC 7033) ---- */

static void add_link(cJSON *links, const char *rel, const char *type, const char *href,
                     const char *as_type)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "rel", rel);
    cJSON_AddStringToObject(l, "type", type);
    cJSON_AddStringToObject(l, "href", href);
    if (as_type) {
        cJSON *p = cJSON_AddObjectToObject(l, "properties");
        cJSON_AddStringToObject(p, "https://www.w3.org/ns/activitystreams#type", as_type);
    }
    cJSON_AddItemToArray(links, l);
}

/* Reduces resource to a local name: "acct:NAME@DOMAIN", "NAME@DOMAIN",
 * "https://DOMAIN/u/NAME" or ".../c/NAME". An empty name means the instance
 * actor (acct:DOMAIN@DOMAIN, https://DOMAIN/, https://DOMAIN/actor). */
static int resource_name(struct http_ctx *ctx, struct str r, struct str *name)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct str domain = str_from(cfg->domain), url = str_from(cfg->public_url);

    if (r.len > 5 && str_eq_nocase(str_make(r.ptr, 5), STR_LIT("acct:"))) {
        r.ptr += 5;
        r.len -= 5;
    }
    if (r.len > url.len && str_eq_nocase(str_make(r.ptr, url.len), url) && r.ptr[url.len] == '/') {
        struct str path = str_make(r.ptr + url.len, r.len - url.len);
        if (str_eq_cstr(path, "/") || str_eq_cstr(path, "/actor")) {
            *name = STR_NULL;
            return KITH_OK;
        }
        if (path.len > 3 && (path.ptr[1] == 'u' || path.ptr[1] == 'c') && path.ptr[2] == '/') {
            *name = str_make(path.ptr + 3, path.len - 3);
            return KITH_OK;
        }
        return KITH_ENOTFOUND;
    }
    if (str_eq_nocase(r, url)) {
        *name = STR_NULL;
        return KITH_OK;
    }
    const char *at = memchr(r.ptr, '@', r.len);
    if (!at)
        return KITH_EINVAL;
    struct str host = str_make(at + 1, r.len - (size_t)(at + 1 - r.ptr));
    if (!str_eq_nocase(host, domain))
        return KITH_ENOTFOUND;
    *name = str_make(r.ptr, (size_t)(at - r.ptr));
    if (str_eq_nocase(*name, domain))
        *name = STR_NULL;
    return KITH_OK;
}

static int handle_webfinger(struct http_ctx *ctx)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct str r = http_query(ctx, "resource");
    struct str name;
    struct kv_txn *txn;
    uint8_t kind;
    uint64_t id;

    if (!r.ptr || r.len == 0) {
        http_reply_error(ctx, 400, "missing resource parameter");
        return HANDLER_DONE;
    }
    int rc = resource_name(ctx, r, &name);
    if (rc == KITH_EINVAL) {
        http_reply_error(ctx, 400, "resource must be acct:NAME@%s or a URL of this server",
                         cfg->domain);
        return HANDLER_DONE;
    }
    if (rc) {
        http_reply_error(ctx, 404, "no such resource on this server");
        return HANDLER_DONE;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *aliases = cJSON_CreateArray();
    cJSON *links = cJSON_CreateArray();
    if (!name.ptr) {
        const char *actor = http_url(ctx, "/actor");
        cJSON_AddStringToObject(root, "subject",
                                arena_printf(&ctx->arena, "acct:%s@%s", cfg->domain, cfg->domain));
        cJSON_AddItemToArray(aliases, cJSON_CreateString(actor));
        add_link(links, "self", "application/activity+json", actor, "Application");
    } else {
        if (http_read_txn(ctx, &txn) || name_lookup(txn, name, &kind, &id)) {
            cJSON_Delete(root);
            cJSON_Delete(aliases);
            cJSON_Delete(links);
            http_reply_error(ctx, 404, "no such resource on this server");
            return HANDLER_DONE;
        }
        struct arena *a = &ctx->arena;
        struct account acct;
        struct community comm;
        struct str canonical;
        const char *href, *page;
        if (kind == NAME_ACCOUNT && account_get(txn, id, a, &acct) == KITH_OK &&
            acct.state == ACCOUNT_ACTIVE) {
            canonical = acct.name;
            href = http_url(ctx, "/u/%.*s", (int)acct.name.len, acct.name.ptr);
            page = http_url(ctx, "/@%.*s", (int)acct.name.len, acct.name.ptr);
        } else if (kind == NAME_COMMUNITY && community_get(txn, id, a, &comm) == KITH_OK) {
            canonical = comm.name;
            href = http_url(ctx, "/c/%.*s", (int)comm.name.len, comm.name.ptr);
            page = arena_printf(a, "%s/", href);
        } else {
            cJSON_Delete(root);
            cJSON_Delete(aliases);
            cJSON_Delete(links);
            http_reply_error(ctx, 404, "no such resource on this server");
            return HANDLER_DONE;
        }
        cJSON_AddStringToObject(
            root, "subject",
            arena_printf(a, "acct:%.*s@%s", (int)canonical.len, canonical.ptr, cfg->domain));
        cJSON_AddItemToArray(aliases, cJSON_CreateString(href));
        add_link(links, "http://webfinger.net/rel/profile-page", "text/html", page, NULL);
        add_link(links, "self", "application/activity+json", href,
                 kind == NAME_COMMUNITY ? "Group" : "Person");
    }
    cJSON_AddItemToObject(root, "aliases", aliases);
    cJSON_AddItemToObject(root, "links", links);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    http_reply_raw(ctx, 200, "application/jrd+json; charset=utf-8", str_from(text));
    free(text);
    return HANDLER_DONE;
}

/* ---- host-meta (XRD, for clients that still discover WebFinger that way) ---- */

static int handle_host_meta(struct http_ctx *ctx)
{
    xmlBufferPtr xb = xmlBufferCreate();
    xmlTextWriterPtr w = xb ? xmlNewTextWriterMemory(xb, 0) : NULL;
    const char *tmpl = http_url(ctx, "/.well-known/webfinger?resource={uri}");
    int ok =
        w && xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) >= 0 &&
        xmlTextWriterStartElementNS(w, NULL, BAD_CAST "XRD",
                                    BAD_CAST "http://docs.oasis-open.org/ns/xri/xrd-1.0") >= 0 &&
        xmlTextWriterStartElement(w, BAD_CAST "Link") >= 0 &&
        xmlTextWriterWriteAttribute(w, BAD_CAST "rel", BAD_CAST "lrdd") >= 0 &&
        xmlTextWriterWriteAttribute(w, BAD_CAST "template", BAD_CAST tmpl) >= 0 &&
        xmlTextWriterEndDocument(w) >= 0;
    if (w)
        xmlFreeTextWriter(w); /* flushes into xb */
    if (ok)
        http_reply_raw(ctx, 200, "application/xrd+xml; charset=utf-8",
                       str_make(xmlBufferContent(xb), (size_t)xmlBufferLength(xb)));
    else
        http_reply_error(ctx, 500, "cannot build host-meta");
    if (xb)
        xmlBufferFree(xb);
    return HANDLER_DONE;
}

/* ---- NodeInfo 2.0 and 2.1 ---- */

static int handle_nodeinfo_links(struct http_ctx *ctx)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *links = cJSON_AddArrayToObject(root, "links");
    static const char *const versions[] = {"2.0", "2.1"};
    for (int i = 0; i < 2; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "rel",
                                arena_printf(&ctx->arena,
                                             "http://nodeinfo.diaspora.software/ns/schema/%s",
                                             versions[i]));
        cJSON_AddStringToObject(l, "href", http_url(ctx, "/nodeinfo/%s", versions[i]));
        cJSON_AddItemToArray(links, l);
    }
    http_reply_json(ctx, 200, root);
    return HANDLER_DONE;
}

struct usage {
    uint64_t users, active;
};

static int count_user(const struct account *a, void *arg)
{
    struct usage *u = arg;
    u->users += a->state != ACCOUNT_PENDING;
    u->active += a->state == ACCOUNT_ACTIVE;
    return 0;
}

static int handle_nodeinfo(struct http_ctx *ctx)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct str version = route_param(&ctx->params, "version");
    struct kv_txn *txn;
    struct usage u = {0, 0};
    uint64_t posts = 0, comments = 0;
    bool v21 = str_eq_cstr(version, "2.1");

    if (!v21 && !str_eq_cstr(version, "2.0")) {
        http_reply_error(ctx, 404, "NodeInfo versions 2.0 and 2.1 are served");
        return HANDLER_DONE;
    }
    if (http_read_txn(ctx, &txn) || account_each_local(txn, &ctx->arena, count_user, &u) ||
        counter_get(txn, "local_posts", &posts) || counter_get(txn, "local_comments", &comments)) {
        http_reply_error(ctx, 503, "database unavailable");
        return HANDLER_DONE;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", v21 ? "2.1" : "2.0");
    cJSON *sw = cJSON_AddObjectToObject(root, "software");
    cJSON_AddStringToObject(sw, "name", "kith");
    cJSON_AddStringToObject(sw, "version", KITH_VERSION);
    if (v21)
        cJSON_AddStringToObject(sw, "homepage", cfg->public_url);
    cJSON *protocols = cJSON_AddArrayToObject(root, "protocols");
    cJSON_AddItemToArray(protocols, cJSON_CreateString("activitypub"));
    cJSON *services = cJSON_AddObjectToObject(root, "services");
    cJSON_AddArrayToObject(services, "inbound");
    cJSON_AddArrayToObject(services, "outbound");
    cJSON_AddBoolToObject(root, "openRegistrations", cfg->registrations != REG_CLOSED);
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON *users = cJSON_AddObjectToObject(usage, "users");
    cJSON_AddNumberToObject(users, "total", (double)u.users);
    /* Activity is not tracked yet: active accounts stand in for both. */
    cJSON_AddNumberToObject(users, "activeHalfyear", (double)u.active);
    cJSON_AddNumberToObject(users, "activeMonth", (double)u.active);
    cJSON_AddNumberToObject(usage, "localPosts", (double)posts);
    cJSON_AddNumberToObject(usage, "localComments", (double)comments);
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    cJSON_AddStringToObject(meta, "nodeName", cfg->title);
    cJSON_AddStringToObject(meta, "nodeDescription", cfg->description);
    if (cfg->contact_email[0])
        cJSON_AddStringToObject(meta, "contactEmail", cfg->contact_email);
    cJSON_AddBoolToObject(meta, "approvalRequired", cfg->registrations == REG_APPROVAL);
    cJSON *upstream = cJSON_AddObjectToObject(meta, "upstream");
    cJSON_AddStringToObject(upstream, "name", "mastodon");
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    http_reply_raw(
        ctx, 200,
        v21 ? "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\""
            : "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        str_from(text));
    free(text);
    return HANDLER_DONE;
}

const struct route discovery_routes[4] = {
    {"GET", "/.well-known/webfinger", handle_webfinger, 0, NULL},
    {"GET", "/.well-known/host-meta", handle_host_meta, 0, NULL},
    {"GET", "/.well-known/nodeinfo", handle_nodeinfo_links, 0, NULL},
    {"GET", "/nodeinfo/{version}", handle_nodeinfo, 0, NULL},
};
