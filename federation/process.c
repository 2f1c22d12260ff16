/* federation/process.c: applying queued activities. */
#include "process.h"

#include "../src/base/clock.h"
#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../src/core/feeds.h"
#include "../storage/queue.h"
#include "actors.h"
#include "deliver.h"
#include "inbox.h"
#include "outbox.h"
#include "sanitize.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct processor {
    struct core *core;
    void (*notify)(void *arg);
    void *notify_arg;
    pthread_t thread;
    pthread_mutex_t lock; /* guards kicked and stopping */
    pthread_cond_t wake;
    bool kicked, stopping;
    atomic_ulong done;
};

/* ---- reading an entry ---- */

struct entry {
    uint64_t seq;
    struct str signer, recipient, body;
    struct str fetched; /* the object the inbox fetched from its origin into body, if any */
    int64_t received;
};

static int parse_entry(struct str payload, struct entry *e)
{
    const char *p = payload.ptr, *end = payload.ptr + payload.len;
    const char *sep = NULL;
    for (const char *q = p; q + 1 < end; q++)
        if (q[0] == '\n' && q[1] == '\n') {
            sep = q;
            break;
        }
    if (!sep || (size_t)(sep - p) < strlen(INBOX_MAGIC) ||
        memcmp(p, INBOX_MAGIC, strlen(INBOX_MAGIC)) != 0)
        return KITH_ECORRUPT;
    e->body = str_make(sep + 2, (size_t)(end - sep - 2));
    const char *line = p;
    while (line < sep) {
        const char *nl = memchr(line, '\n', (size_t)(sep + 1 - line));
        if (!nl)
            break;
        struct str l = str_make(line, (size_t)(nl - line));
        if (l.len > 7 && memcmp(l.ptr, "signer ", 7) == 0)
            e->signer = str_make(l.ptr + 7, l.len - 7);
        else if (l.len > 10 && memcmp(l.ptr, "recipient ", 10) == 0)
            e->recipient = str_make(l.ptr + 10, l.len - 10);
        else if (l.len > 9 && memcmp(l.ptr, "received ", 9) == 0)
            e->received = strtoll(l.ptr + 9, NULL, 10);
        else if (l.len > 8 && memcmp(l.ptr, "fetched ", 8) == 0)
            e->fetched = str_make(l.ptr + 8, l.len - 8);
        line = nl + 1;
    }
    return KITH_OK;
}

/* ---- JSON helpers ---- */

static const char *id_of(cJSON *v)
{
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsObject(v)) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
        return cJSON_IsString(id) ? id->valuestring : NULL;
    }
    return NULL;
}

static const char *field_id(cJSON *o, const char *key)
{
    return id_of(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A field that is one value or an array of them, walked alike:
 *   for (cJSON *it = each_first(v); it; it = each_next(v, it)) */
static cJSON *each_first(cJSON *v)
{
    return cJSON_IsArray(v) ? v->child : v;
}

static cJSON *each_next(cJSON *v, cJSON *it)
{
    return cJSON_IsArray(v) ? it->next : NULL;
}

/* A local actor's URL -> kind and name ("/u/NAME" or "/c/NAME"). */
static bool local_actor(const struct kith_config *cfg, const char *url, uint8_t *kind,
                        struct str *name)
{
    size_t n = strlen(cfg->public_url);
    if (!url || strncmp(url, cfg->public_url, n) != 0)
        return false;
    const char *path = url + n;
    if ((strncmp(path, "/u/", 3) != 0 && strncmp(path, "/c/", 3) != 0) || !path[3] ||
        strchr(path + 3, '/'))
        return false;
    *kind = path[1] == 'u' ? NAME_ACCOUNT : NAME_COMMUNITY;
    *name = str_from(path + 3);
    return true;
}

/* True for a URL under our own public_url (what kith itself made). */
static bool is_local_url(const struct kith_config *cfg, const char *url)
{
    size_t n = strlen(cfg->public_url);
    return url && strncmp(url, cfg->public_url, n) == 0 && (url[n] == '/' || url[n] == 0);
}

/* ---- one transaction per entry ---- */

struct apply {
    struct core *core;
    struct entry *e;
    cJSON *doc;
    const char *type, *id, *actor;
    struct arena *a;
    uint8_t state; /* outcome recorded in table activities */
    const char *note;
    cJSON *top;            /* the activity as queued (ap->doc may be one inside it) */
    uint64_t group_id;     /* the remote community whose Announce carried it; 0 if direct */
    const char *group_uri; /* and its id */
    bool fetched;          /* an object a local person asked for (search): fetched from its origin,
                              kept whoever follows it */
    bool boosted;          /* with fetched: an object a followed person boosted (its author
                              may be kept as a stub) */
};

/* The Accept (or Reject) of a Follow, from the followed local actor. */
static int answer_follow(struct kv_txn *txn, struct apply *ap, const char *type,
                         const char *local_url, uint64_t sender_id, const struct account *follower)
{
    uint64_t aid;
    cJSON *act = activity_new(ap->core, ap->a, type, local_url, &aid);
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(ap->actor));
    /* The Follow as received, so the follower can match it. */
    cJSON *follow = cJSON_Duplicate(ap->doc, true);
    cJSON_DeleteItemFromObjectCaseSensitive(follow, "@context");
    cJSON_AddItemToObject(act, "object", follow);
    struct str inbox = follower->inbox.len ? follower->inbox : follower->shared_inbox;
    int rc = inbox.len ? delivery_schedule(txn, ap->core, act, aid, sender_id, inbox) : KITH_EINVAL;
    cJSON_Delete(act);
    return rc;
}

static int remote_follower(struct kv_txn *txn, struct apply *ap, struct account *out)
{
    uint8_t kind;
    uint64_t id;
    int rc = actor_uri_lookup(txn, str_from(ap->actor), &kind, &id);
    if (rc == KITH_OK && kind != NAME_ACCOUNT)
        rc = KITH_EINVAL; /* a group following: not supported */
    if (rc == KITH_OK)
        rc = account_get(txn, id, ap->a, out);
    return rc;
}

static int apply_follow(struct kv_txn *txn, struct apply *ap)
{
    const struct kith_config *cfg = ap->core->cfg;
    const char *object = field_id(ap->doc, "object");
    uint8_t kind;
    struct str name;
    struct account follower;
    int rc;

    if (!local_actor(cfg, object, &kind, &name)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Follow of an actor that is not on this server";
        return KITH_OK;
    }
    if ((rc = remote_follower(txn, ap, &follower))) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Follow from an unknown actor";
        return KITH_OK;
    }
    int64_t now = wall_seconds();
    if (kind == NAME_COMMUNITY) {
        struct community c;
        if (community_get_local(txn, name, ap->a, &c)) {
            ap->state = ACTIVITY_REJECTED;
            ap->note = "Follow of an unknown community";
            return KITH_OK;
        }
        struct membership m;
        rc = membership_get(txn, c.id, follower.id, ap->a, &m);
        if (rc == KITH_OK && m.banned) {
            ap->state = ACTIVITY_REJECTED;
            ap->note = "banned from the community";
            return answer_follow(txn, ap, "Reject", object, SENDER_COMMUNITY(c.id), &follower);
        }
        bool approve = c.join_mode == JOIN_APPROVAL;
        if (rc == KITH_ENOTFOUND) {
            memset(&m, 0, sizeof(m));
            m.community_id = c.id;
            m.account_id = follower.id;
            m.created_at = now;
        } else if (rc) {
            return rc;
        }
        if (m.role < MEMBER_MEMBER)
            m.role = approve ? MEMBER_PENDING : MEMBER_MEMBER;
        approve = m.role < MEMBER_MEMBER; /* a member following again is answered */
        m.updated_at = now;
        m.follow_uri = str_from(ap->id);
        if ((rc = membership_put(txn, &m)))
            return rc;
        /* A public community accepts at once; a private one waits for a moderator. */
        return approve
                   ? KITH_OK
                   : answer_follow(txn, ap, "Accept", object, SENDER_COMMUNITY(c.id), &follower);
    }
    struct account target;
    if (account_get_local(txn, name, ap->a, &target) || target.state != ACCOUNT_ACTIVE) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Follow of an unknown person";
        return KITH_OK;
    }
    struct follow f = {.follower_id = follower.id,
                       .target_id = target.id,
                       .state = target.locked ? FOLLOW_PENDING : FOLLOW_ACCEPTED,
                       .created_at = now,
                       .uri = str_from(ap->id)};
    struct key16 fk = key_pair(follower.id, target.id), rk = key_pair(target.id, follower.id);
    if ((rc = rec_put(txn, T_FOLLOWS, KEY16(fk), &follow_desc, &f, 0)) ||
        (rc = kv_put(txn, T_FOLLOWERS, KEY16(rk), STR_LIT(""), 0)) ||
        (rc = notify_add(txn, ap->core, target.id, target.locked ? "follow_request" : "follow",
                         follower.id, 0)))
        return rc;
    return target.locked ? KITH_OK : answer_follow(txn, ap, "Accept", object, target.id, &follower);
}

static int apply_undo_follow(struct kv_txn *txn, struct apply *ap, cJSON *follow)
{
    const struct kith_config *cfg = ap->core->cfg;
    const char *object = field_id(follow, "object");
    const char *follower_id = field_id(follow, "actor");
    uint8_t kind;
    struct str name;
    struct account follower;
    int rc;
    if (!follower_id || strcmp(follower_id, ap->actor) != 0) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Undo of someone else's Follow";
        return KITH_OK;
    }
    if (!local_actor(cfg, object, &kind, &name) || remote_follower(txn, ap, &follower)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Undo of a Follow kith does not know";
        return KITH_OK;
    }
    if (kind == NAME_COMMUNITY) {
        struct community c;
        if (community_get_local(txn, name, ap->a, &c))
            return KITH_OK;
        struct key16 k = key_pair(c.id, follower.id), r = key_pair(follower.id, c.id);
        struct membership m;
        if (membership_get(txn, c.id, follower.id, ap->a, &m) == KITH_OK && m.banned)
            return KITH_OK; /* a ban outlives leaving */
        rc = kv_del(txn, T_MEMBERS, KEY16(k));
        if (rc == KITH_OK)
            rc = kv_del(txn, T_MEMBER_OF, KEY16(r));
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    }
    struct account target;
    if (account_get_local(txn, name, ap->a, &target))
        return KITH_OK;
    struct key16 fk = key_pair(follower.id, target.id), rk = key_pair(target.id, follower.id);
    rc = kv_del(txn, T_FOLLOWS, KEY16(fk));
    if (rc == KITH_OK)
        rc = kv_del(txn, T_FOLLOWERS, KEY16(rk));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

/* ---- reading objects ---- */

/* True when key ("to", "cc", "audience", ...) of o names uri: a string,
 * an object with an id, or an array of either. */
static bool addresses_have(cJSON *o, const char *key, const char *uri)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    for (cJSON *it = each_first(v); it; it = each_next(v, it)) {
        const char *id = id_of(it);
        if (id && strcmp(id, uri) == 0)
            return true;
    }
    return false;
}

/* attributedTo: a string, an object, or an array whose first actor counts. */
static const char *author_of(cJSON *obj)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "attributedTo");
    if (cJSON_IsArray(v)) {
        for (cJSON *it = v->child; it; it = it->next) {
            const char *t = cJSON_IsObject(it) ? field_id(it, "type") : NULL;
            if (!t || strcmp(t, "Person") == 0 || strcmp(t, "Service") == 0)
                return id_of(it);
        }
        return NULL;
    }
    return id_of(v);
}

/* The sanitised content of an object, once, before it is stored. Objects
 * without HTML content (Lemmy's link posts) fall back to their source. */
static struct str clean_content(struct arena *a, cJSON *obj)
{
    const char *content = field_id(obj, "content");
    cJSON *map = cJSON_GetObjectItemCaseSensitive(obj, "contentMap");
    if (!content && cJSON_IsObject(map) && cJSON_IsString(map->child))
        content = map->child->valuestring;
    struct buf clean;
    buf_init(&clean, 1 << 20);
    if (content)
        sanitize_html(str_from(content), &clean);
    struct str out = arena_str(a, buf_str(&clean));
    buf_free(&clean);
    return out;
}

static bool web_url(const char *u)
{
    return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
           strlen(u) < 2048;
}

/* The first http(s) URL of a url field: a string, a Link, or an array. */
static const char *url_of(cJSON *v)
{
    if (cJSON_IsArray(v)) {
        for (cJSON *it = v->child; it; it = it->next) {
            const char *u = url_of(it);
            if (u)
                return u;
        }
        return NULL;
    }
    if (cJSON_IsObject(v)) {
        const char *h = field_id(v, "href");
        return web_url(h) ? h : NULL;
    }
    return cJSON_IsString(v) && web_url(v->valuestring) ? v->valuestring : NULL;
}

/* Attachments kept as references to the remote files: Document, Image,
 * Video and Audio with their url, mediaType, name (alt text), blurhash,
 * width and height; a Link attachment (Lemmy's link post) becomes the
 * post's url. At most 16. */
static void read_attachments(struct arena *a, cJSON *obj, struct post *p)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "attachment");
    cJSON *out = cJSON_CreateArray();
    int n = 0;
    for (cJSON *it = each_first(v); it && n < 16; it = each_next(v, it)) {
        const char *type = cJSON_IsObject(it) ? field_id(it, "type") : NULL;
        if (!type)
            continue;
        if (strcmp(type, "Link") == 0) {
            const char *h = field_id(it, "href");
            if (web_url(h) && !p->url.len)
                p->url = arena_str(a, str_from(h));
            continue;
        }
        if (strcmp(type, "Document") && strcmp(type, "Image") && strcmp(type, "Video") &&
            strcmp(type, "Audio"))
            continue;
        const char *url = url_of(cJSON_GetObjectItemCaseSensitive(it, "url"));
        if (!url)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", type);
        cJSON_AddStringToObject(o, "url", url);
        static const char *const text[] = {"mediaType", "name", "blurhash"};
        for (size_t i = 0; i < 3; i++) {
            const char *t = field_id(it, text[i]);
            if (t && strlen(t) <= 1500)
                cJSON_AddStringToObject(o, text[i], t);
        }
        static const char *const dims[] = {"width", "height"};
        for (size_t i = 0; i < 2; i++) {
            cJSON *d = cJSON_GetObjectItemCaseSensitive(it, dims[i]);
            if (cJSON_IsNumber(d) && d->valuedouble >= 0 && d->valuedouble < 1e6)
                cJSON_AddNumberToObject(o, dims[i], (double)(int)d->valuedouble);
        }
        cJSON_AddItemToArray(out, o);
        n++;
    }
    if (n) {
        char *text = cJSON_PrintUnformatted(out);
        p->attachments = arena_str(a, str_from(text ? text : "[]"));
        p->nattachments = (uint32_t)n;
        free(text);
    }
    cJSON_Delete(out);
    /* Lemmy 0.19 puts a link post's link in url; an image post's in image. */
    if (!p->url.len && !cJSON_IsArray(v)) {
        const char *u = url_of(cJSON_GetObjectItemCaseSensitive(obj, "url"));
        const char *t = field_id(obj, "type");
        if (u && t && strcmp(t, "Page") == 0)
            p->url = arena_str(a, str_from(u));
    }
}

/* Fills the parts of p that come from the object: content, title, source,
 * attachments, sensitive, language. */
/* A Question's options (oneOf, or anyOf when several may be chosen), their
 * counts, its end and its voters. */
static void read_poll(struct arena *a, cJSON *obj, struct post *p)
{
    const char *type = field_id(obj, "type");
    if (!type || strcmp(type, "Question") != 0)
        return;
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(obj, "oneOf");
    bool multiple = false;
    if (!cJSON_IsArray(opts)) {
        opts = cJSON_GetObjectItemCaseSensitive(obj, "anyOf");
        multiple = true;
    }
    if (!cJSON_IsArray(opts))
        return;
    struct buf titles, counts;
    buf_init(&titles, 16 << 10);
    buf_init(&counts, 1024);
    size_t n = 0;
    for (cJSON *o = opts->child; o && n < 16; o = o->next) {
        const char *name = field_id(o, "name");
        if (!name || !*name || strlen(name) > 1000)
            continue;
        if (titles.len)
            buf_add_byte(&titles, '\n');
        for (const char *c = name; *c; c++) /* a title is one line */
            buf_add_byte(&titles, *c == '\n' || *c == '\r' ? ' ' : (uint8_t)*c);
        cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "replies");
        cJSON *total = cJSON_IsObject(r) ? cJSON_GetObjectItemCaseSensitive(r, "totalItems") : NULL;
        double v = cJSON_IsNumber(total) && total->valuedouble > 0 ? total->valuedouble : 0;
        buf_printf(&counts, "%s%.0f", n ? "," : "", v < 1e12 ? v : 0);
        n++;
    }
    if (n) {
        p->poll_titles = arena_str(a, buf_str(&titles));
        p->poll_counts = arena_str(a, buf_str(&counts));
        p->poll_multiple = multiple;
        const char *end = field_id(obj, "endTime");
        if (!end)
            end = field_id(obj, "closed");
        int64_t t = 0;
        p->poll_expires_at = end && clock_parse_rfc3339(end, &t) ? t : 0;
        cJSON *voters = cJSON_GetObjectItemCaseSensitive(obj, "votersCount");
        p->poll_voters =
            cJSON_IsNumber(voters) && voters->valuedouble > 0 && voters->valuedouble < 4e9
                ? (uint32_t)voters->valuedouble
                : 0;
    }
    buf_free(&titles);
    buf_free(&counts);
}

static void read_object(struct arena *a, cJSON *obj, struct post *p, bool titled)
{
    p->content = clean_content(a, obj);
    const char *title = field_id(obj, "name");
    if (titled)
        p->title = title && *title ? arena_str(a, str_from(title)) : html_first_line(a, p->content);
    if (p->title.len > 400)
        p->title.len = html_first_line(a, p->title).len;
    cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "source");
    if (cJSON_IsObject(src)) {
        const char *sc = field_id(src, "content"), *st = field_id(src, "mediaType");
        p->source = sc ? arena_str(a, str_from(sc)) : STR_NULL;
        p->source_type = st && strlen(st) < 64 ? arena_str(a, str_from(st)) : STR_NULL;
    }
    p->sensitive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "sensitive"));
    const char *cw = field_id(obj, "summary"); /* a content warning: plain text */
    if (cw && *cw && strlen(cw) <= 2000) {
        struct buf t;
        buf_init(&t, 4096);
        bool tag = false;
        for (const char *c = cw; *c; c++) { /* some servers send it as HTML */
            if (*c == '<')
                tag = true;
            else if (*c == '>')
                tag = false;
            else if (!tag)
                buf_add_byte(&t, (uint8_t)*c);
        }
        p->summary = arena_str(a, buf_str(&t));
        buf_free(&t);
        p->sensitive = true;
    }
    read_poll(a, obj, p);
    cJSON *map = cJSON_GetObjectItemCaseSensitive(obj, "contentMap");
    if (cJSON_IsObject(map) && map->child && map->child->string && strlen(map->child->string) < 16)
        p->language = arena_str(a, str_from(map->child->string));
    read_attachments(a, obj, p);
}

/* ---- remote authors ---- */

/* The account of a remote actor named inside a community's Announce, or
 * the author of a post a followed person boosted: kith has not verified
 * its key (the community, or the fetch from the post's origin, vouches for
 * it), so an unknown one is kept as a stub (uri, name, host) until
 * fetched. */
static int author_account(struct kv_txn *txn, struct apply *ap, const char *uri, uint64_t *id)
{
    uint8_t kind;
    struct str name;
    if (local_actor(ap->core->cfg, uri, &kind, &name)) { /* one of ours */
        struct account acct;
        int rc = kind == NAME_ACCOUNT ? account_get_local(txn, name, ap->a, &acct) : KITH_EINVAL;
        if (rc == KITH_OK)
            *id = acct.id;
        return rc;
    }
    int rc = actor_uri_lookup(txn, str_from(uri), &kind, id);
    if (rc == KITH_OK)
        return kind == NAME_ACCOUNT ? KITH_OK : KITH_EINVAL;
    if (rc != KITH_ENOTFOUND || !(ap->group_id || ap->boosted) || !web_url(uri) ||
        strlen(uri) > 511)
        return rc;
    struct str host = str_url_authority(str_from(uri));
    const char *last = strrchr(uri, '/');
    struct account acct = {.id = idgen_next(store_ids(ap->core->st)),
                           .uri = str_from(uri),
                           .domain = host,
                           .name = last && last[1] ? str_from(last + 1) : host,
                           .created_at = wall_seconds()};
    return account_upsert_remote(txn, &acct, id);
}

/* ---- Create of posts, comments and notes ---- */

/* The community an object is for: the one of the post it replies to, or a
 * local community named in audience, to or cc (of the object or the
 * activity), or the remote community that announced it. *parent is set
 * when inReplyTo names a post kith holds; KITH_EAGAIN for a comment in a
 * community whose parent kith does not hold. */
static int target_community(struct kv_txn *txn, struct apply *ap, cJSON *obj, struct community *c,
                            struct post *parent, bool *has_parent)
{
    const struct kith_config *cfg = ap->core->cfg;
    static const char *const keys[] = {"audience", "to", "cc"};
    *has_parent = false;
    const char *reply = field_id(obj, "inReplyTo");
    if (reply && post_by_ref(txn, cfg, reply, ap->a, parent) == KITH_OK) {
        *has_parent = true;
        if (!parent->community_id)
            return KITH_ENOTFOUND; /* a reply to a note: a note */
        return community_get(txn, parent->community_id, ap->a, c);
    }
    bool orphan = reply != NULL; /* a reply to something kith does not hold */
    for (size_t k = 0; k < 3; k++)
        for (int pass = 0; pass < 2; pass++) {
            cJSON *o = pass ? ap->doc : obj;
            cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            for (cJSON *it = each_first(v); it; it = each_next(v, it)) {
                uint8_t kind;
                struct str name;
                const char *id = id_of(it);
                if (local_actor(cfg, id, &kind, &name) && kind == NAME_COMMUNITY &&
                    community_get_local(txn, name, ap->a, c) == KITH_OK)
                    return orphan ? KITH_EAGAIN : KITH_OK;
                if (ap->group_uri && id && strcmp(id, ap->group_uri) == 0) {
                    int rc = community_get(txn, ap->group_id, ap->a, c);
                    return rc == KITH_OK && orphan ? KITH_EAGAIN : rc;
                }
                uint64_t gid;
                if (ap->fetched && id && /* fetched from its origin: its community as named */
                    actor_uri_lookup(txn, str_from(id), &kind, &gid) == KITH_OK &&
                    kind == NAME_COMMUNITY && community_get(txn, gid, ap->a, c) == KITH_OK)
                    return orphan ? KITH_EAGAIN : KITH_OK;
            }
        }
    /* Lemmy's comments name no community: the thread does, when kith holds it. */
    return KITH_ENOTFOUND;
}

/* True when a local person is a member of community cid. */
static bool local_member(struct kv_txn *txn, struct apply *ap, uint64_t cid)
{
    struct kv_cursor *cur;
    struct str key, val;
    struct key8 k = key_id(cid);
    bool found = false;
    if (kv_cursor_open(txn, T_MEMBERS, &cur))
        return false;
    for (int rc = kv_cursor_seek(cur, KEY8(k), &key, &val);
         !found && rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(cur, &key, &val)) {
        struct membership m;
        struct account acct;
        found = record_decode(&membership_desc, val, ap->a, &m) == KITH_OK &&
                m.role >= MEMBER_MEMBER && !m.banned &&
                account_get(txn, m.account_id, ap->a, &acct) == KITH_OK && !acct.uri.len;
    }
    kv_cursor_close(cur);
    return found;
}

/* The rules of a local community for a new post or comment by author_id;
 * NULL when allowed, else why not. */
static const char *community_refuses(struct kv_txn *txn, struct apply *ap,
                                     const struct community *c, uint64_t author_id, bool comment)
{
    struct membership m;
    bool member = membership_get(txn, c->id, author_id, ap->a, &m) == KITH_OK;
    if (member && m.banned)
        return "the author is banned from the community";
    if (!comment && c->posting_restricted && !(member && m.role >= MEMBER_MODERATOR))
        return "only moderators may post in this community";
    if (c->join_mode == JOIN_APPROVAL && !(member && m.role >= MEMBER_MEMBER))
        return "a private community: members only";
    return NULL;
}

/* A local person's URL named in an address field or a Mention tag. */
static void local_people(struct kv_txn *txn, struct apply *ap, cJSON *obj, uint64_t *ids, size_t *n,
                         size_t max)
{
    static const char *const keys[] = {"to", "cc", "tag"};
    for (size_t k = 0; k < 3; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
        for (cJSON *it = each_first(v); it; it = each_next(v, it)) {
            const char *id =
                k == 2 ? (cJSON_IsObject(it) ? field_id(it, "href") : NULL) : id_of(it);
            uint8_t kind;
            struct str name;
            struct account acct;
            if (!local_actor(ap->core->cfg, id, &kind, &name) || kind != NAME_ACCOUNT ||
                account_get_local(txn, name, ap->a, &acct))
                continue;
            bool dup = false;
            for (size_t i = 0; i < *n && !dup; i++)
                dup = ids[i] == acct.id;
            if (!dup && *n < max)
                ids[(*n)++] = acct.id;
        }
    }
}

/* A followers collection (Mastodon's, Lemmy's, ours end so). */
static bool followers_collection(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 10 && strcmp(id + n - 10, "/followers") == 0;
}

static bool public_in(cJSON *o, const char *key)
{
    return addresses_have(o, key, AS_PUBLIC) || addresses_have(o, key, "as:Public") ||
           addresses_have(o, key, "Public");
}

static bool followers_in(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    for (cJSON *it = each_first(v); it; it = each_next(v, it))
        if (followers_collection(id_of(it)))
            return true;
    return false;
}

/* Mastodon's addressing read back: public, unlisted, followers or direct. */
static uint8_t visibility_of(cJSON *obj, cJSON *act)
{
    if (public_in(obj, "to") || public_in(act, "to"))
        return VIS_PUBLIC;
    if (public_in(obj, "cc") || public_in(act, "cc"))
        return VIS_UNLISTED;
    if (followers_in(obj, "to") || followers_in(obj, "cc") || followers_in(act, "to") ||
        followers_in(act, "cc"))
        return VIS_FOLLOWERS;
    return VIS_DIRECT;
}

/* The actors addressed besides the public and followers collections. */
static struct str recipients_of(struct arena *a, cJSON *obj)
{
    struct buf b;
    buf_init(&b, 8192);
    static const char *const keys[] = {"to", "cc"};
    for (size_t k = 0; k < 2; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
        for (cJSON *it = each_first(v); it; it = each_next(v, it)) {
            const char *id = id_of(it);
            if (!web_url(id) || strcmp(id, AS_PUBLIC) == 0 || followers_collection(id) ||
                recipients_has(buf_str(&b), str_from(id)))
                continue;
            if (b.len)
                buf_add_byte(&b, '\n');
            buf_add_cstr(&b, id);
        }
    }
    struct str out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

/* recipients (newline-separated) without uri. */
static struct str recipients_without(struct arena *a, struct str recipients, struct str uri)
{
    struct buf b;
    buf_init(&b, recipients.len + 1);
    const char *s = recipients.ptr, *end = s + recipients.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str u = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
        if (!u.len || str_eq(u, uri))
            continue;
        if (b.len)
            buf_add_byte(&b, '\n');
        buf_add_str(&b, u);
    }
    struct str out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

/* A note from outside: kept when a local person follows its author, is
 * addressed or mentioned by it, or wrote the post it replies to. */
static int apply_note(struct kv_txn *txn, struct apply *ap, cJSON *obj, const char *oid,
                      uint64_t author_id, struct post *parent, bool has_parent)
{
    uint64_t locals[64];
    size_t nlocals = 0;
    local_people(txn, ap, obj, locals, &nlocals, 64);
    bool parent_here = has_parent && post_is_local(parent);
    if (!nlocals && !parent_here && !ap->fetched && !followed_locally(txn, author_id)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a note nobody here follows, is addressed by, or was answered";
        return KITH_OK;
    }
    struct post p = {.id = idgen_next(store_ids(ap->core->st)),
                     .author_id = author_id,
                     .uri = str_from(oid),
                     .visibility = visibility_of(obj, ap->doc),
                     .recipients = recipients_of(ap->a, obj),
                     .created_at = wall_seconds(),
                     .updated_at = wall_seconds()};
    read_object(ap->a, obj, &p, false);
    if (has_parent) {
        p.parent_id = parent->id;
        p.root_id = parent->root_id ? parent->root_id : parent->id;
        p.reply_to_author = parent->author_id;
    } else if (field_id(obj, "inReplyTo") && strlen(field_id(obj, "inReplyTo")) < 2048) {
        p.reply_uri = str_from(field_id(obj, "inReplyTo"));
    }
    int rc = post_insert(txn, ap->core, &p);
    if (ap->fetched)
        return rc; /* looked up by someone, never delivered: nobody is told */
    for (size_t i = 0; i < nlocals && rc == KITH_OK; i++)
        rc = notify_add(txn, ap->core, locals[i], "mention", author_id, p.id);
    if (rc == KITH_OK && parent_here) {
        bool told = false;
        for (size_t i = 0; i < nlocals; i++)
            told |= locals[i] == parent->author_id;
        if (!told)
            rc = notify_add(txn, ap->core, parent->author_id, "mention", author_id, p.id);
    }
    return rc;
}

/* What kith keeps as a post, comment or note (ChatMessage: Lemmy 0.19's and
 * Pleroma's private messages). */
static const char *const post_types[] = {"Page",  "Article", "Note",  "Question",    "Video",
                                         "Event", "Audio",   "Image", "ChatMessage", "Link"};

/* A vote in a local poll: a Note with a name (the option) and no content,
 * in reply to the poll (Mastodon's and Pleroma's way). KITH_ENOTFOUND when
 * obj is no such vote. */
static int apply_poll_vote(struct kv_txn *txn, struct apply *ap, cJSON *obj, uint64_t voter)
{
    const char *type = field_id(obj, "type"), *name = field_id(obj, "name");
    const char *irt = field_id(obj, "inReplyTo"), *content = field_id(obj, "content");
    struct post poll;
    struct poll_view v;
    if (!type || strcmp(type, "Note") != 0 || !name || !irt || (content && *content) ||
        !is_local_url(ap->core->cfg, irt) ||
        post_by_ref(txn, ap->core->cfg, irt, ap->a, &poll) != KITH_OK || poll.deleted_at)
        return KITH_ENOTFOUND;
    poll_read(&poll, &v);
    if (!v.n)
        return KITH_ENOTFOUND;
    uint8_t choice = 0;
    bool found = false;
    for (size_t i = 0; i < v.n && !found; i++)
        if (str_eq(v.titles[i], str_from(name))) {
            choice = (uint8_t)i;
            found = true;
        }
    ap->state = ACTIVITY_REJECTED;
    if (!found)
        ap->note = "a vote for an option the poll does not have";
    else if (poll_expired(&poll, wall_seconds()))
        ap->note = "a vote after the poll ended";
    else if (voter == poll.author_id)
        ap->note = "a vote in one's own poll";
    else {
        int rc = poll_vote(txn, ap->a, &poll, voter, &choice, 1, true);
        if (rc == KITH_EEXIST) {
            ap->note = "a second vote in a single-choice poll";
            return KITH_OK;
        }
        if (rc)
            return rc;
        ap->state = ACTIVITY_APPLIED;
    }
    return KITH_OK;
}

static int apply_create_object(struct kv_txn *txn, struct apply *ap, cJSON *obj)
{
    const char *otype = cJSON_IsObject(obj) ? field_id(obj, "type") : NULL;
    const char *oid = cJSON_IsObject(obj) ? field_id(obj, "id") : NULL;
    const char *author = cJSON_IsObject(obj) ? author_of(obj) : NULL;
    bool known = false;
    for (size_t i = 0; otype && i < sizeof(post_types) / sizeof(post_types[0]); i++)
        known |= strcmp(otype, post_types[i]) == 0;
    if (!known || !oid || !web_url(oid) || strlen(oid) > 511) {
        ap->state = ACTIVITY_STORED;
        ap->note = "Create of an object kith does not keep";
        return KITH_OK;
    }
    if (is_local_url(ap->core->cfg, oid)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "an object under this server's own URL, from outside";
        return KITH_OK;
    }
    if (!author || strcmp(author, ap->actor) != 0) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "the object's attributedTo is not the activity's actor";
        return KITH_OK;
    }
    struct str existing;
    if (kv_get(txn, T_OBJECT_URIS, str_from(oid), &existing) == KITH_OK)
        return KITH_OK; /* the same object again: stored once */
    uint64_t author_id;
    if (author_account(txn, ap, ap->actor, &author_id)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "unknown author";
        return KITH_OK;
    }
    int vote = apply_poll_vote(txn, ap, obj, author_id);
    if (vote != KITH_ENOTFOUND)
        return vote;
    struct community c;
    struct post parent;
    bool has_parent;
    int rc = target_community(txn, ap, obj, &c, &parent, &has_parent);
    if (rc == KITH_EAGAIN) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a comment on something kith does not hold";
        return KITH_OK;
    }
    if (rc == KITH_ENOTFOUND) {
        if (ap->group_id) {
            ap->state = ACTIVITY_REJECTED;
            ap->note = "announced by a community it is not for";
            return KITH_OK;
        }
        return apply_note(txn, ap, obj, oid, author_id, &parent, has_parent);
    }
    if (rc)
        return rc;
    bool local = !c.uri.len;
    if (!ap->fetched && (local ? ap->group_id != 0 : ap->group_id != c.id)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = local ? "a remote community announced a post of a local one"
                         : "a post in a remote community must come from that community";
        return KITH_OK;
    }
    if (local) {
        const char *why = community_refuses(txn, ap, &c, author_id, has_parent);
        if (why) {
            ap->state = ACTIVITY_REJECTED;
            ap->note = why;
            return KITH_OK;
        }
    } else if (!ap->fetched && !local_member(txn, ap, c.id)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a post in a remote community nobody here is a member of";
        return KITH_OK;
    }
    struct post p = {.id = idgen_next(store_ids(ap->core->st)),
                     .community_id = c.id,
                     .author_id = author_id,
                     .uri = str_from(oid),
                     .created_at = wall_seconds(),
                     .updated_at = wall_seconds()};
    if (has_parent) {
        p.parent_id = parent.id;
        p.root_id = parent.root_id ? parent.root_id : parent.id;
        p.reply_to_author = parent.author_id;
    }
    read_object(ap->a, obj, &p, !has_parent);
    p.visibility = local ? (c.join_mode == JOIN_APPROVAL ? VIS_FOLLOWERS : VIS_PUBLIC)
                         : visibility_of(obj, ap->doc);
    /* The people it names (the community itself is where it is, not named). */
    p.recipients = recipients_without(ap->a, recipients_of(ap->a, obj),
                                      str_from(community_url(ap->a, ap->core, &c)));
    if ((rc = post_insert(txn, ap->core, &p)))
        return rc;
    if (has_parent && !ap->fetched &&
        (rc = notify_add(txn, ap->core, parent.author_id, "mention", author_id, p.id)))
        return rc;
    uint64_t locals[64];
    size_t nlocals = 0;
    if (!ap->fetched) /* looked up by someone, never delivered: nobody is told */
        local_people(txn, ap, obj, locals, &nlocals, 64);
    for (size_t i = 0; i < nlocals; i++)
        if ((!has_parent || locals[i] != parent.author_id) &&
            (rc = notify_add(txn, ap->core, locals[i], "mention", author_id, p.id)))
            return rc;
    if (!local)
        return KITH_OK;
    /* A new post also goes to microblogs as a plain Announce of the object. */
    return community_announce(txn, ap->core, ap->a, &c, ap->doc, has_parent ? NULL : obj);
}

static int apply_create(struct kv_txn *txn, struct apply *ap)
{
    return apply_create_object(txn, ap, cJSON_GetObjectItemCaseSensitive(ap->doc, "object"));
}

int process_fetched_object(struct kv_txn *txn, struct core *core, cJSON *obj, uint64_t *post_id)
{
    const char *oid = field_id(obj, "id"), *author = author_of(obj);
    struct str v;
    if (!oid || !author)
        return KITH_EINVAL;
    if (kv_get(txn, T_OBJECT_URIS, str_from(oid), &v) != KITH_OK) {
        struct arena a = ARENA_INIT;
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "type", "Create");
        cJSON_AddStringToObject(doc, "actor", author);
        cJSON_AddItemToObject(doc, "object", cJSON_Duplicate(obj, true));
        struct apply ap = {.core = core,
                           .doc = doc,
                           .type = "Create",
                           .id = oid,
                           .actor = author,
                           .a = &a,
                           .state = ACTIVITY_APPLIED,
                           .top = doc,
                           .fetched = true};
        int rc = apply_create(txn, &ap);
        cJSON_Delete(doc);
        arena_release(&a);
        if (rc)
            return rc;
        if (kv_get(txn, T_OBJECT_URIS, str_from(oid), &v) != KITH_OK)
            return KITH_EINVAL; /* not something kith keeps */
    }
    if (v.len != 8)
        return KITH_ECORRUPT;
    *post_id = be64_get((const unsigned char *)v.ptr);
    return KITH_OK;
}

/* ---- votes, and authors' own updates and deletions ---- */

/* The post an activity names and its community (c->id 0 for a note).
 * Activities about posts in a local community must come directly; about
 * posts in a remote one, announced by that community. */
static int post_in_scope(struct kv_txn *txn, struct apply *ap, const char *ref, struct post *p,
                         struct community *c)
{
    memset(c, 0, sizeof(*c));
    if (post_by_ref(txn, ap->core->cfg, ref, ap->a, p))
        return KITH_ENOTFOUND;
    if (!p->community_id)
        return ap->group_id ? KITH_EDENIED : KITH_OK;
    if (community_get(txn, p->community_id, ap->a, c))
        return KITH_ENOTFOUND;
    bool local = !c->uri.len;
    return (local ? ap->group_id == 0 : ap->group_id == c->id) ? KITH_OK : KITH_EDENIED;
}

static bool scope_refused(struct apply *ap, int rc, const char *what)
{
    if (rc == KITH_OK)
        return false;
    ap->state = rc == KITH_EDENIED ? ACTIVITY_REJECTED : ACTIVITY_STORED;
    ap->note = rc == KITH_EDENIED ? "not announced by the post's own community" : what;
    return true;
}

/* Like (+1) or Dislike (-1) of a post, comment or note; undo removes the vote. */
static int apply_vote(struct kv_txn *txn, struct apply *ap, cJSON *vote, bool undo)
{
    const char *vtype = field_id(vote, "type");
    const char *ref = field_id(vote, "object");
    struct post p;
    struct community c;
    uint64_t voter;
    if (scope_refused(ap, post_in_scope(txn, ap, ref, &p, &c),
                      "a vote on a post kith does not hold"))
        return KITH_OK;
    if (author_account(txn, ap, ap->actor, &voter)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "unknown voter";
        return KITH_OK;
    }
    struct membership m;
    if (c.id && !c.uri.len && membership_get(txn, c.id, voter, ap->a, &m) == KITH_OK && m.banned) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "the voter is banned from the community";
        return KITH_OK;
    }
    struct key16 k = key_pair(p.id, voter);
    struct vote old;
    bool had = rec_get(txn, T_VOTES, KEY16(k), &vote_desc, ap->a, &old) == KITH_OK;
    if (had) { /* take the previous vote back out of the counts */
        if (old.value > 0 && p.upvotes)
            p.upvotes--;
        else if (old.value < 0 && p.downvotes)
            p.downvotes--;
    }
    int rc;
    bool like = strcmp(vtype, "Dislike") != 0;
    if (undo) {
        if (!had)
            return KITH_OK; /* nothing to undo: nothing to announce */
        if ((rc = kv_del(txn, T_VOTES, KEY16(k))))
            return rc;
    } else {
        struct vote v = {.post_id = p.id,
                         .account_id = voter,
                         .value = like ? 1 : -1,
                         .created_at = wall_seconds(),
                         .uri = str_from(field_id(vote, "id") ? field_id(vote, "id") : "")};
        if (v.value > 0)
            p.upvotes++;
        else
            p.downvotes++;
        if ((rc = rec_put(txn, T_VOTES, KEY16(k), &vote_desc, &v, 0)))
            return rc;
        if (like && !had && post_is_local(&p) &&
            (rc = notify_add(txn, ap->core, p.author_id, "favourite", voter, p.id)))
            return rc;
    }
    p.score = (int64_t)p.upvotes - (int64_t)p.downvotes;
    if ((rc = post_put(txn, &p)))
        return rc;
    return c.id && !c.uri.len ? community_announce(txn, ap->core, ap->a, &c, ap->doc, NULL)
                              : KITH_OK;
}

/* Update or Delete of an actor by itself. */
static int apply_actor_change(struct kv_txn *txn, struct apply *ap, cJSON *obj, bool delete)
{
    uint8_t kind;
    uint64_t id;
    if (actor_uri_lookup(txn, str_from(ap->actor), &kind, &id)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "an actor kith does not know";
        return KITH_OK;
    }
    if (delete) {
        if (kind != NAME_ACCOUNT) {
            ap->state = ACTIVITY_STORED;
            ap->note = "Delete of a community: kept for the moderation issue";
            return KITH_OK;
        }
        struct account acct;
        int rc = account_get(txn, id, ap->a, &acct);
        if (rc)
            return rc;
        acct.state = ACCOUNT_SUSPENDED;
        acct.updated_at = wall_seconds();
        if ((rc = account_update(txn, &acct)))
            return rc;
        if ((rc = posts_of_author_tombstone(txn, id, wall_seconds())))
            return rc;
        return follows_forget(txn, id);
    }
    bool is_group;
    struct account acct;
    struct community comm;
    char why[256];
    if (!cJSON_IsObject(obj) || remote_actor_read(obj, ap->actor, ap->core, ap->a, &is_group, &acct,
                                                  &comm, why, sizeof(why))) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "an Update with an unreadable actor";
        return KITH_OK;
    }
    if (is_group != (kind == NAME_COMMUNITY)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "an actor cannot change between Person and Group";
        return KITH_OK;
    }
    uint64_t same; /* created_at and a suspension are kept by the upsert */
    return is_group ? community_upsert_remote(txn, &comm, &same)
                    : account_upsert_remote(txn, &acct, &same);
}

static bool is_actor_type(const char *t)
{
    static const char *const types[] = {"Person", "Group", "Service", "Application",
                                        "Organization"};
    for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

/* Update or Delete of a post by its own author (or of the actor itself). */
static int apply_edit(struct kv_txn *txn, struct apply *ap, bool delete)
{
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    const char *ref = id_of(obj);
    if (ref && strcmp(ref, ap->actor) == 0 && (delete || is_actor_type(field_id(obj, "type"))))
        return apply_actor_change(txn, ap, obj, delete);
    if (ref && ap->group_uri && strcmp(ref, ap->group_uri) == 0 &&
        !delete &&is_actor_type(field_id(obj, "type"))) {
        /* Lemmy: a moderator's Update of the community, in its own Announce. */
        const char *mod = ap->actor;
        ap->actor = ap->group_uri;
        int rc = apply_actor_change(txn, ap, obj, false);
        ap->actor = mod;
        return rc;
    }
    struct post p;
    struct community c;
    struct account author;
    if (scope_refused(ap, post_in_scope(txn, ap, ref, &p, &c),
                      delete ? "Delete of something kith does not hold"
                             : "Update of something kith does not hold"))
        return KITH_OK;
    if (account_get(txn, p.author_id, ap->a, &author) || !str_eq_cstr(author.uri, ap->actor)) {
        /* Moderators' removals come with the moderation issue. */
        ap->state = ACTIVITY_STORED;
        ap->note = "not the author's own post";
        return KITH_OK;
    }
    int64_t now = wall_seconds();
    bool edited = true;
    if (delete) {
        if (p.deleted_at)
            return KITH_OK;
        post_tombstone(&p, now, true);
        int crc = post_deleted(txn, &p);
        if (crc)
            return crc;
    } else {
        if (!cJSON_IsObject(obj) || p.deleted_at) {
            ap->state = ACTIVITY_STORED;
            ap->note = "Update without the object, or of a deleted post";
            return KITH_OK;
        }
        struct post q = p;
        /* The object replaces what it describes: what it leaves out goes. */
        q.attachments = q.url = q.source = q.source_type = q.language = q.summary = STR_NULL;
        q.sensitive = false;
        q.nattachments = 0;
        read_object(ap->a, obj, &q, p.community_id && !p.parent_id);
        if (!field_id(obj, "name"))
            q.title = p.title; /* an edit without a title keeps it */
        /* A poll's new counts (Mastodon's Update of a Question) are no edit. */
        edited = !str_eq(q.content, p.content) || !str_eq(q.summary, p.summary) ||
                 !str_eq(q.title, p.title) || q.nattachments != p.nattachments ||
                 !str_eq(q.attachments, p.attachments) || !str_eq(q.poll_titles, p.poll_titles);
        p = q;
        if (!p.community_id) {
            p.visibility = visibility_of(obj, ap->doc);
            p.recipients = recipients_of(ap->a, obj);
        }
    }
    if (edited)
        p.updated_at = now;
    int rc = post_put(txn, &p);
    if (rc == KITH_OK && edited && !delete) /* streams send it as status.update */
        rc = status_change_log(txn, p.id, p.author_id, p.visibility, CHANGE_EDIT);
    return rc || !c.id || c.uri.len ? rc
                                    : community_announce(txn, ap->core, ap->a, &c, ap->doc, NULL);
}

/* Undo of a Delete by the author: the post comes back (Lemmy's restore). */
static int apply_undo_delete(struct kv_txn *txn, struct apply *ap, cJSON *del)
{
    const char *ref = field_id(del, "object");
    struct post p;
    struct community c;
    struct account author;
    if (scope_refused(ap, post_in_scope(txn, ap, ref, &p, &c),
                      "Undo of a Delete of something kith does not hold"))
        return KITH_OK;
    if (account_get(txn, p.author_id, ap->a, &author) || !str_eq_cstr(author.uri, ap->actor)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "not the author's own post";
        return KITH_OK;
    }
    if (!p.deleted_at || !p.content.len) {
        ap->state = ACTIVITY_STORED;
        ap->note = p.deleted_at ? "the deleted content is gone" : "the post is not deleted";
        return KITH_OK;
    }
    p.deleted_at = 0;
    if (post_counts_add(txn, &p, 1))
        return KITH_ESTORE;
    p.updated_at = wall_seconds();
    int rc = post_put(txn, &p);
    return rc || !c.id || c.uri.len ? rc
                                    : community_announce(txn, ap->core, ap->a, &c, ap->doc, NULL);
}

static int apply_answer(struct kv_txn *txn, struct apply *ap, bool accepted)
{
    const struct kith_config *cfg = ap->core->cfg;
    cJSON *follow = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    const char *ftype = cJSON_IsObject(follow) ? field_id(follow, "type") : NULL;
    const char *follower = cJSON_IsObject(follow) ? field_id(follow, "actor") : NULL;
    const char *target = cJSON_IsObject(follow) ? field_id(follow, "object") : NULL;
    uint8_t kind, lkind;
    uint64_t remote;
    struct str name;
    struct account user;
    int rc;

    /* Only the followed actor may answer, about a Follow of a local person. */
    if (!ftype || strcmp(ftype, "Follow") != 0 || !target || strcmp(target, ap->actor) != 0 ||
        !local_actor(cfg, follower, &lkind, &name) || lkind != NAME_ACCOUNT ||
        account_get_local(txn, name, ap->a, &user) ||
        actor_uri_lookup(txn, str_from(ap->actor), &kind, &remote)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "an answer to a Follow kith did not send";
        return KITH_OK;
    }
    if (kind == NAME_COMMUNITY) {
        struct membership m;
        if ((rc = membership_get(txn, remote, user.id, ap->a, &m)))
            return rc == KITH_ENOTFOUND ? KITH_OK : rc;
        if (accepted) {
            bool joined = m.role < MEMBER_MEMBER;
            if (joined)
                m.role = MEMBER_MEMBER;
            m.updated_at = wall_seconds();
            rc = membership_put(txn, &m);
            if (rc == KITH_OK && joined) /* its newest posts join the home */
                rc = home_merge(txn, user.id, SENDER_COMMUNITY(remote), 40);
            return rc;
        }
        struct key16 k = key_pair(remote, user.id), r = key_pair(user.id, remote);
        rc = kv_del(txn, T_MEMBERS, KEY16(k));
        if (!rc)
            rc = kv_del(txn, T_MEMBER_OF, KEY16(r));
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    }
    struct key16 k = key_pair(user.id, remote), r = key_pair(remote, user.id);
    struct follow f;
    if ((rc = rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, ap->a, &f)))
        return rc == KITH_ENOTFOUND ? KITH_OK : rc;
    if (accepted) {
        bool fresh = f.state != FOLLOW_ACCEPTED;
        f.state = FOLLOW_ACCEPTED;
        rc = rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &f, 0);
        if (rc == KITH_OK && fresh)
            rc = home_merge(txn, user.id, remote, 40);
        return rc;
    }
    rc = kv_del(txn, T_FOLLOWS, KEY16(k));
    if (!rc)
        rc = kv_del(txn, T_FOLLOWERS, KEY16(r));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

static int dispatch(struct kv_txn *txn, struct apply *ap);

/* Records the outcome of an activity under its id (idempotency). */
static int remember(struct kv_txn *txn, struct apply *ap)
{
    struct activity rec = {.type = str_from(ap->type),
                           .actor = str_from(ap->actor),
                           .state = ap->state,
                           .received_at = ap->e->received,
                           .note = ap->note ? str_from(ap->note) : STR_NULL};
    char *raw = NULL;
    if (ap->state != ACTIVITY_APPLIED) { /* kept for inspection */
        if (ap->doc == ap->top)
            rec.raw = ap->e->body;
        else if ((raw = cJSON_PrintUnformatted(ap->doc)))
            rec.raw = str_from(raw);
    }
    int rc = strlen(ap->id) > 511 /* too long to index: applied, not remembered */
                 ? KITH_OK
                 : rec_put(txn, T_ACTIVITIES, str_from(ap->id), &activity_desc, &rec, 0);
    free(raw);
    return rc;
}

/* One activity inside a community's Announce, applied as if the community
 * had forwarded it: it counts only for that community's own posts. */
static int apply_announced(struct kv_txn *txn, struct apply *ap, cJSON *inner)
{
    struct apply sub = *ap;
    sub.doc = inner;
    sub.type = field_id(inner, "type");
    sub.id = field_id(inner, "id");
    sub.actor = field_id(inner, "actor");
    /* Our own activity, re-sent by the community: applied here already. */
    if (is_local_url(ap->core->cfg, sub.id) || is_local_url(ap->core->cfg, sub.actor) ||
        is_local_url(ap->core->cfg, author_of(inner)))
        return KITH_OK;
    struct str seen;
    if (sub.id && kv_get(txn, T_ACTIVITIES, str_from(sub.id), &seen) == KITH_OK)
        return KITH_OK; /* it came before, directly or in another Announce */
    bool object = false;
    for (size_t i = 0; sub.type && i < sizeof(post_types) / sizeof(post_types[0]); i++)
        object |= strcmp(sub.type, post_types[i]) == 0;
    if (object || !sub.type || !sub.id || !sub.actor) {
        /* Pleroma's objects carry an actor too: the type decides. */
        if (!object || !sub.id)
            return KITH_OK; /* unreadable: the outer Announce stays on record */
        /* A bare object (Announce(Page), for microblogs): its Create. */
        sub.actor = author_of(inner);
        if (!sub.actor)
            return KITH_OK;
        sub.state = ACTIVITY_APPLIED;
        sub.note = NULL;
        return apply_create_object(txn, &sub, inner);
    }
    sub.state = ACTIVITY_APPLIED;
    sub.note = NULL;
    int rc = dispatch(txn, &sub);
    return rc ? rc : remember(txn, &sub);
}

/* A person's boost (Announce of a post): kept as a boost of theirs when a
 * local person follows them (into the followers' homes) or when the post
 * is local (its author hears of it). The post itself, when kith does not
 * hold it, comes embedded from the booster's own server or fetched from
 * its origin by the inbox. */
static int apply_boost(struct kv_txn *txn, struct apply *ap, uint64_t booster, cJSON *obj)
{
    const struct kith_config *cfg = ap->core->cfg;
    const char *ref = id_of(obj);
    struct post p;
    bool followed = followed_locally(txn, booster);
    bool held = ref && post_by_ref(txn, cfg, ref, ap->a, &p) == KITH_OK;
    /* An embedded post is believed from its own server only: the booster's
     * (same origin), or the origin the inbox fetched it from. */
    bool vouched = ref && ((ap->e && str_eq_cstr(ap->e->fetched, ref)) ||
                           str_eq_nocase(str_url_authority(str_from(ref)),
                                         str_url_authority(str_from(ap->actor))));
    if (!held && followed && vouched && cJSON_IsObject(obj) && !is_local_url(cfg, ref) &&
        author_of(obj)) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "type", "Create");
        cJSON_AddStringToObject(doc, "actor", author_of(obj));
        cJSON_AddItemToObject(doc, "object", cJSON_Duplicate(obj, true));
        struct apply sub = *ap;
        sub.doc = doc;
        sub.type = "Create";
        sub.actor = author_of(obj);
        sub.fetched = sub.boosted = true;
        int rc = apply_create(txn, &sub);
        cJSON_Delete(doc);
        if (rc)
            return rc;
        held = post_by_ref(txn, cfg, ref, ap->a, &p) == KITH_OK;
    }
    if (!held || p.deleted_at) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a boost of an object kith does not hold";
        return KITH_OK;
    }
    if (p.visibility != VIS_PUBLIC && p.visibility != VIS_UNLISTED) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "a boost of a followers-only or direct post";
        return KITH_OK;
    }
    struct reblog r;
    if (reblog_find(txn, p.id, booster, ap->a, &r) == KITH_OK)
        return KITH_OK; /* the same boost again */
    if (!followed && !post_is_local(&p)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a boost by someone nobody here follows";
        return KITH_OK;
    }
    r = (struct reblog){.id = idgen_next(store_ids(ap->core->st)),
                        .post_id = p.id,
                        .account_id = booster,
                        .created_at = wall_seconds(),
                        .uri = ap->id ? str_from(ap->id) : STR_NULL};
    int rc = reblog_add(txn, ap->core, &r);
    if (rc == KITH_OK && post_is_local(&p))
        rc = notify_add(txn, ap->core, p.author_id, "reblog", booster, p.id);
    return rc;
}

/* Undo of a person's boost: it leaves the homes it went to. */
static int apply_undo_boost(struct kv_txn *txn, struct apply *ap, cJSON *announce)
{
    const char *ref = id_of(cJSON_GetObjectItemCaseSensitive(announce, "object"));
    uint8_t kind;
    uint64_t booster;
    struct post p;
    struct reblog r;
    if (!ref || actor_uri_lookup(txn, str_from(ap->actor), &kind, &booster) ||
        kind != NAME_ACCOUNT || post_by_ref(txn, ap->core->cfg, ref, ap->a, &p) ||
        reblog_find(txn, p.id, booster, ap->a, &r)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "Undo of a boost kith does not hold";
        return KITH_OK;
    }
    return reblog_remove(txn, &r);
}

/* Announce: a community forwarding activities (embedded, one or an array),
 * or a boost. An Announce naming its object only by id is kept until
 * kith fetches objects on its own. */
static int apply_announce(struct kv_txn *txn, struct apply *ap)
{
    uint8_t kind;
    uint64_t id;
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    if (actor_uri_lookup(txn, str_from(ap->actor), &kind, &id)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Announce from an unknown actor";
        return KITH_OK;
    }
    if (kind == NAME_COMMUNITY && !ap->group_id) {
        ap->group_id = id;
        ap->group_uri = ap->actor;
        int rc = KITH_OK;
        bool any = false;
        for (cJSON *it = each_first(obj); it && rc == KITH_OK; it = each_next(obj, it)) {
            if (!cJSON_IsObject(it))
                continue;
            any = true;
            rc = apply_announced(txn, ap, it);
        }
        ap->group_id = 0;
        ap->group_uri = NULL;
        if (!any) {
            ap->state = ACTIVITY_STORED;
            ap->note = "Announce of an object by id: kept until kith fetches objects";
        }
        return rc;
    }
    if (kind == NAME_ACCOUNT)
        return apply_boost(txn, ap, id, obj);
    ap->state = ACTIVITY_STORED;
    ap->note = "a boost of an object kith does not hold";
    return KITH_OK;
}

static int apply_undo(struct kv_txn *txn, struct apply *ap)
{
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    const char *otype = cJSON_IsObject(obj) ? field_id(obj, "type") : NULL;
    const char *inner_actor = cJSON_IsObject(obj) ? field_id(obj, "actor") : NULL;
    if (otype && inner_actor && strcmp(inner_actor, ap->actor) != 0) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "Undo of someone else's activity";
        return KITH_OK;
    }
    if (otype && strcmp(otype, "Follow") == 0 && !ap->group_id)
        return apply_undo_follow(txn, ap, obj);
    if (otype && (strcmp(otype, "Like") == 0 || strcmp(otype, "Dislike") == 0))
        return apply_vote(txn, ap, obj, true);
    if (otype && strcmp(otype, "Delete") == 0)
        return apply_undo_delete(txn, ap, obj);
    if (otype && strcmp(otype, "Announce") == 0 && !ap->group_id)
        return apply_undo_boost(txn, ap, obj);
    if (!otype) {
        /* Undo naming its activity by id only: kith keeps votes by post and
         * voter, not by activity id, so it cannot tell what to take back. */
        ap->state = ACTIVITY_STORED;
        ap->note = "Undo naming its activity by id only";
        return KITH_OK;
    }
    ap->state = ACTIVITY_STORED;
    ap->note = "Undo of this kind is not applied yet";
    return KITH_OK;
}

static int dispatch(struct kv_txn *txn, struct apply *ap)
{
    const char *t = ap->type;
    if (strcmp(t, "Follow") == 0 && !ap->group_id)
        return apply_follow(txn, ap);
    if (strcmp(t, "Create") == 0)
        return apply_create(txn, ap);
    if (strcmp(t, "Like") == 0 || strcmp(t, "Dislike") == 0)
        return apply_vote(txn, ap, ap->doc, false);
    if (strcmp(t, "Update") == 0 || strcmp(t, "Delete") == 0)
        return apply_edit(txn, ap, strcmp(t, "Delete") == 0);
    if ((strcmp(t, "Accept") == 0 || strcmp(t, "Reject") == 0) && !ap->group_id)
        return apply_answer(txn, ap, strcmp(t, "Accept") == 0);
    if (strcmp(t, "Undo") == 0)
        return apply_undo(txn, ap);
    if (strcmp(t, "Announce") == 0)
        return apply_announce(txn, ap);
    static const char *const moderation[] = {"Block", "Add",  "Remove",  "Lock",
                                             "Flag",  "Warn", "Resolve", "Move"};
    for (size_t i = 0; i < sizeof(moderation) / sizeof(moderation[0]); i++)
        if (strcmp(t, moderation[i]) == 0) {
            ap->state = ACTIVITY_STORED;
            ap->note = "moderation: stored, its effects come with the moderation issue";
            return KITH_OK;
        }
    ap->state = ACTIVITY_STORED;
    ap->note = "stored for inspection: a type kith does not apply";
    return KITH_OK;
}

static int apply_entry(struct kv_txn *txn, void *arg)
{
    struct apply *ap = arg;
    struct str seen;
    if (kv_get(txn, T_ACTIVITIES, str_from(ap->id), &seen) == KITH_OK)
        return queue_remove(txn, QUEUE_INBOX, ap->e->seq); /* seen before: applied once */
    ap->state = ACTIVITY_APPLIED;
    ap->note = NULL;
    ap->top = ap->doc;
    int rc = dispatch(txn, ap);
    if (!rc)
        rc = remember(txn, ap);
    if (!rc)
        rc = queue_remove(txn, QUEUE_INBOX, ap->e->seq);
    return rc;
}

#define BATCH 64 /* entries applied per write: one fsync for all of them */

struct item {
    struct entry e;
    struct apply ap;
    cJSON *doc;
    bool drop;  /* unreadable: removed without effects */
    int failed; /* the error that made the entry's own transaction fail */
};

struct batch {
    struct core *core;
    struct item items[BATCH];
    size_t n;
};

/* Applies every entry in its own nested transaction: one that fails is
 * rolled back alone and removed from the queue (logged afterwards), so it
 * can neither undo the others nor block the queue. */
static int apply_batch(struct kv_txn *txn, void *arg)
{
    struct batch *b = arg;
    struct kv_env *env = store_env(b->core->st);
    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        struct kv_txn *child;
        int rc = kv_txn_begin(env, txn, true, &child);
        if (rc)
            return rc;
        rc = it->drop ? queue_remove(child, QUEUE_INBOX, it->e.seq) : apply_entry(child, &it->ap);
        if (rc == KITH_OK) {
            if ((rc = kv_txn_commit(child)))
                return rc;
            continue;
        }
        kv_txn_abort(child);
        if (rc == KITH_ESTORE || rc == KITH_ENOMEM)
            return rc; /* the database, not the entry: retry the batch later */
        it->failed = rc;
        if ((rc = queue_remove(txn, QUEUE_INBOX, it->e.seq)) && rc != KITH_ENOTFOUND)
            return rc;
    }
    return KITH_OK;
}

/* Applies up to BATCH entries in one write; KITH_ENOTFOUND when the queue is empty. */
static int process_batch(struct processor *p)
{
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct batch *b = xcalloc(1, sizeof(*b));
    uint64_t after = 0;
    struct str payload;
    int rc = store_read_begin(p->core->st, &txn);
    if (rc) {
        free(b);
        return rc;
    }
    b->core = p->core;
    while (b->n < BATCH) {
        struct item *it = &b->items[b->n];
        if (queue_next(txn, QUEUE_INBOX, after, &it->e.seq, &payload) != KITH_OK)
            break;
        after = it->e.seq;
        payload = arena_str(&a, payload); /* outlives the read snapshot */
        if (parse_entry(payload, &it->e) != KITH_OK ||
            !(it->doc = cJSON_ParseWithLength(it->e.body.ptr, it->e.body.len))) {
            it->drop = true;
        } else {
            it->ap = (struct apply){.core = p->core, .e = &it->e, .doc = it->doc, .a = &a};
            it->ap.type = field_id(it->doc, "type");
            it->ap.id = field_id(it->doc, "id");
            it->ap.actor = field_id(it->doc, "actor");
            it->drop = !it->ap.type || !it->ap.id || !it->ap.actor;
        }
        b->n++;
    }
    kv_txn_abort(txn);
    if (b->n == 0) {
        rc = KITH_ENOTFOUND;
    } else {
        rc = writer_run(p->core->w, apply_batch, b);
        if (rc) {
            log_error("inbox: cannot apply %zu entries: %s", b->n, kith_strerror(rc));
        } else {
            for (size_t i = 0; i < b->n; i++) {
                if (b->items[i].drop)
                    log_warn("inbox: dropped unreadable entry %llu",
                             (unsigned long long)b->items[i].e.seq);
                else if (b->items[i].failed)
                    log_warn("inbox: dropped %s %s: %s", b->items[i].ap.type, b->items[i].ap.id,
                             kith_strerror(b->items[i].failed));
            }
            atomic_fetch_add(&p->done, b->n);
            if (p->notify)
                p->notify(p->notify_arg);
        }
    }
    for (size_t i = 0; i < b->n; i++)
        cJSON_Delete(b->items[i].doc);
    free(b);
    arena_release(&a);
    return rc;
}

static void *processor_main(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-inbox"); /* for top -H and perf */
    struct processor *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        if (!p->kicked && !p->stopping) {
            /* Wake at least every second: entries queued before a restart. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&p->wake, &p->lock, &until);
        }
        bool stop = p->stopping;
        p->kicked = false;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            break;
        int rc;
        while ((rc = process_batch(p)) == KITH_OK) {
            pthread_mutex_lock(&p->lock);
            stop = p->stopping;
            pthread_mutex_unlock(&p->lock);
            if (stop)
                break;
        }
        if (rc != KITH_ENOTFOUND && !stop) {
            /* A storage failure: wait before trying the same entry again. */
            struct timespec pause = {1, 0};
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

int processor_start(struct core *core, void (*notify)(void *arg), void *arg, struct processor **out)
{
    struct processor *p = xcalloc(1, sizeof(*p));
    p->core = core;
    p->notify = notify;
    p->notify_arg = arg;
    atomic_init(&p->done, 0);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, processor_main, p) != 0) {
        free(p);
        return KITH_EIO;
    }
    *out = p;
    return KITH_OK;
}

void processor_kick(struct processor *p)
{
    pthread_mutex_lock(&p->lock);
    p->kicked = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void processor_stop(struct processor *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}

uint64_t processor_done(struct processor *p)
{
    return atomic_load(&p->done);
}
