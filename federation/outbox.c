/* federation/outbox.c: local posts as objects, and where activities go. */
#include "outbox.h"

#include "actors.h"
#include "deliver.h"

#include "../src/base/err.h"
#include "../src/base/mem.h"

#include <stdlib.h>
#include <string.h>

static void add_string(cJSON *arr, const char *s)
{
    if (s)
        cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* Mention tags for the post's recipients, and their URIs in arr. */
static void add_mentions(struct kv_txn *txn, struct core *core, struct arena *a,
                         const struct post *p, cJSON *o, cJSON *arr)
{
    cJSON *tags = NULL;
    const char *s = p->recipients.ptr, *end = s + p->recipients.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct str uri = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
        if (!uri.len)
            continue;
        const char *u = arena_str(a, uri).ptr;
        bool addressed = false; /* in to or cc already (a comment's parent author) */
        static const char *const keys[] = {"to", "cc"};
        for (size_t k = 0; k < 2 && !addressed; k++) {
            cJSON *list = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            for (cJSON *e = list ? list->child : NULL; e && !addressed; e = e->next)
                addressed = cJSON_IsString(e) && strcmp(e->valuestring, u) == 0;
        }
        if (!addressed)
            add_string(arr, u);
        if (!tags)
            tags = cJSON_AddArrayToObject(o, "tag");
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "type", "Mention");
        cJSON_AddStringToObject(t, "href", u);
        uint8_t kind = 0;
        uint64_t id;
        struct account acct;
        struct community cm;
        size_t base = strlen(core->cfg->public_url);
        if (actor_uri_lookup(txn, uri, &kind, &id) == KITH_OK && kind == NAME_ACCOUNT &&
            account_get(txn, id, a, &acct) == KITH_OK)
            cJSON_AddStringToObject(t, "name",
                                    arena_printf(a, "@%.*s@%.*s", (int)acct.name.len, acct.name.ptr,
                                                 (int)acct.domain.len, acct.domain.ptr));
        else if (kind == NAME_COMMUNITY && community_get(txn, id, a, &cm) == KITH_OK)
            cJSON_AddStringToObject(t, "name",
                                    arena_printf(a, "@%.*s@%.*s", (int)cm.name.len, cm.name.ptr,
                                                 (int)cm.domain.len, cm.domain.ptr));
        else if (uri.len > base + 3 && memcmp(uri.ptr, core->cfg->public_url, base) == 0 &&
                 (memcmp(uri.ptr + base, "/u/", 3) == 0 || memcmp(uri.ptr + base, "/c/", 3) == 0))
            cJSON_AddStringToObject(t, "name",
                                    arena_printf(a, "@%.*s@%s", (int)(uri.len - base - 3),
                                                 uri.ptr + base + 3, core->cfg->domain));
        cJSON_AddItemToArray(tags, t);
    }
}

cJSON *object_json(struct kv_txn *txn, struct core *core, struct arena *a, const struct post *p)
{
    const char *id = post_url(a, core->cfg, p);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    bool page = p->community_id && !p->parent_id;
    if (p->deleted_at) {
        cJSON_AddStringToObject(o, "type", "Tombstone");
        cJSON_AddStringToObject(o, "formerType", page ? "Page" : "Note");
        cJSON_AddStringToObject(o, "deleted", ap_time(a, p->deleted_at));
        return o;
    }
    struct poll_view poll;
    poll_read(p, &poll);
    cJSON_AddStringToObject(o, "type", page ? "Page" : poll.n ? "Question" : "Note");
    const char *author = account_url(txn, core, a, p->author_id);
    if (author)
        cJSON_AddStringToObject(o, "attributedTo", author);
    cJSON *to = cJSON_AddArrayToObject(o, "to");
    cJSON *cc = cJSON_AddArrayToObject(o, "cc");
    struct community c;
    if (p->community_id && community_get(txn, p->community_id, a, &c) == KITH_OK) {
        const char *curl = community_url(a, core, &c);
        const char *followers =
            c.uri.len ? arena_str(a, c.followers_url).ptr : arena_printf(a, "%s/followers", curl);
        if (c.join_mode == JOIN_APPROVAL) { /* private: its followers only */
            add_string(to, curl);
            if (followers && *followers)
                add_string(to, followers);
        } else if (page) {
            add_string(to, curl);
            add_string(to, AS_PUBLIC);
        } else {
            add_string(to, AS_PUBLIC);
            add_string(cc, curl);
        }
        cJSON_AddStringToObject(o, "audience", curl);
        if (p->parent_id) {
            const char *pa =
                p->reply_to_author ? account_url(txn, core, a, p->reply_to_author) : NULL;
            if (pa && (!author || strcmp(pa, author) != 0))
                add_string(cc, pa);
        }
        add_mentions(txn, core, a, p, o, cc);
    } else {
        const char *followers = author ? arena_printf(a, "%s/followers", author) : NULL;
        switch (p->visibility) {
        case VIS_PUBLIC:
            add_string(to, AS_PUBLIC);
            add_string(cc, followers);
            add_mentions(txn, core, a, p, o, cc);
            break;
        case VIS_UNLISTED:
            add_string(to, followers);
            add_string(cc, AS_PUBLIC);
            add_mentions(txn, core, a, p, o, cc);
            break;
        case VIS_FOLLOWERS:
            add_string(to, followers);
            add_mentions(txn, core, a, p, o, cc);
            break;
        default:
            add_mentions(txn, core, a, p, o, to);
        }
    }
    struct str tags[16]; /* the #hashtags, as Mastodon tags them */
    size_t ntags = post_hashtags(p->content, tags, 16);
    for (size_t i = 0; i < ntags; i++) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "tag");
        if (!list)
            list = cJSON_AddArrayToObject(o, "tag");
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "type", "Hashtag");
        cJSON_AddStringToObject(
            t, "href",
            arena_printf(a, "%s/tags/%.*s", core->cfg->public_url, (int)tags[i].len, tags[i].ptr));
        cJSON_AddStringToObject(t, "name", arena_printf(a, "#%.*s", (int)tags[i].len, tags[i].ptr));
        cJSON_AddItemToArray(list, t);
    }
    if (page && p->title.len)
        cJSON_AddStringToObject(o, "name", arena_str(a, p->title).ptr);
    cJSON_AddStringToObject(o, "content", p->content.len ? arena_str(a, p->content).ptr : "");
    cJSON_AddStringToObject(o, "mediaType", "text/html");
    if (p->source.len) {
        cJSON *src = cJSON_AddObjectToObject(o, "source");
        cJSON_AddStringToObject(src, "content", arena_str(a, p->source).ptr);
        cJSON_AddStringToObject(src, "mediaType",
                                p->source_type.len ? arena_str(a, p->source_type).ptr
                                                   : "text/markdown");
    }
    if (p->parent_id) {
        struct post parent;
        if (post_get(txn, p->parent_id, a, &parent) == KITH_OK)
            cJSON_AddStringToObject(o, "inReplyTo", post_url(a, core->cfg, &parent));
    } else if (p->reply_uri.len) {
        cJSON_AddStringToObject(o, "inReplyTo", arena_str(a, p->reply_uri).ptr);
    }
    if (p->url.len)
        cJSON_AddStringToObject(o, "url", arena_str(a, p->url).ptr);
    if (p->attachments.len) {
        cJSON *att = cJSON_ParseWithLength(p->attachments.ptr, p->attachments.len);
        if (cJSON_IsArray(att))
            cJSON_AddItemToObject(o, "attachment", att);
        else
            cJSON_Delete(att);
    }
    if (p->summary.len) /* Mastodon's content warning */
        cJSON_AddStringToObject(o, "summary", arena_str(a, p->summary).ptr);
    cJSON_AddBoolToObject(o, "sensitive", p->sensitive);
    if (page) { /* Lemmy's legacy fields: harmless, and older servers read them */
        cJSON_AddBoolToObject(o, "commentsEnabled", !p->locked);
        cJSON_AddBoolToObject(o, "stickied", p->pinned);
    }
    if (p->language.len) {
        cJSON *map = cJSON_AddObjectToObject(o, "contentMap");
        cJSON_AddStringToObject(map, arena_str(a, p->language).ptr,
                                p->content.len ? arena_str(a, p->content).ptr : "");
    }
    if (poll.n) { /* Mastodon's Question: the options, their counts, the end */
        cJSON *opts = cJSON_AddArrayToObject(o, p->poll_multiple ? "anyOf" : "oneOf");
        for (size_t i = 0; i < poll.n; i++) {
            cJSON *n = cJSON_CreateObject();
            cJSON_AddStringToObject(n, "type", "Note");
            cJSON_AddStringToObject(n, "name", arena_str(a, poll.titles[i]).ptr);
            cJSON *r = cJSON_AddObjectToObject(n, "replies");
            cJSON_AddStringToObject(r, "type", "Collection");
            cJSON_AddNumberToObject(r, "totalItems", (double)poll.counts[i]);
            cJSON_AddItemToArray(opts, n);
        }
        if (p->poll_expires_at) {
            cJSON_AddStringToObject(o, "endTime", ap_time(a, p->poll_expires_at));
            if (p->poll_expires_at <= wall_seconds())
                cJSON_AddStringToObject(o, "closed", ap_time(a, p->poll_expires_at));
        }
        cJSON_AddNumberToObject(o, "votersCount", p->poll_voters);
    }
    cJSON_AddStringToObject(o, "published", ap_time(a, p->created_at));
    if (p->updated_at > p->created_at)
        cJSON_AddStringToObject(o, "updated", ap_time(a, p->updated_at));
    return o;
}

cJSON *activity_new(struct core *core, struct arena *a, const char *type, const char *actor,
                    uint64_t *aid)
{
    *aid = idgen_next(store_ids(core->st));
    char kind[24];
    size_t i = 0;
    for (; type[i] && i + 1 < sizeof(kind); i++)
        kind[i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] + 32 : type[i]);
    kind[i] = 0;
    cJSON *act = cJSON_CreateObject();
    cJSON *ctx = cJSON_AddArrayToObject(act, "@context");
    add_string(ctx, AS_CONTEXT_URL);
    cJSON_AddStringToObject(act, "id",
                            arena_printf(a, "%s/activities/%s/%llu", core->cfg->public_url, kind,
                                         (unsigned long long)*aid));
    cJSON_AddStringToObject(act, "type", type);
    cJSON_AddStringToObject(act, "actor", actor);
    return act;
}

/* ---- destinations ---- */

struct inboxes {
    struct str *v;
    size_t n, cap;
};

static void inboxes_add(struct inboxes *s, struct arena *a, const struct account *acct)
{
    if (!acct->uri.len)
        return; /* local: nothing to deliver */
    struct str inbox = acct->shared_inbox.len ? acct->shared_inbox : acct->inbox;
    if (!inbox.len)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (str_eq(s->v[i], inbox))
            return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = arena_str(a, inbox);
}

static int send_all(struct kv_txn *txn, struct core *core, cJSON *act, uint64_t aid,
                    uint64_t sender, const struct inboxes *s)
{
    int rc = KITH_OK;
    for (size_t i = 0; i < s->n && rc == KITH_OK; i++)
        rc = i == 0 ? delivery_schedule(txn, core, act, aid, sender, s->v[i])
                    : delivery_schedule_more(txn, core, aid, sender, s->v[i]);
    return rc;
}

/* The remote members of community c, by server. */
static int member_inboxes(struct kv_txn *txn, struct arena *a, uint64_t cid, struct inboxes *s)
{
    struct kv_cursor *cur;
    struct str key, val;
    struct key8 ck = key_id(cid);
    int rc = kv_cursor_open(txn, T_MEMBERS, &cur);
    if (rc)
        return rc;
    for (int r = kv_cursor_seek(cur, KEY8(ck), &key, &val);
         r == KITH_OK && key.len == 16 && memcmp(key.ptr, ck.b, 8) == 0;
         r = kv_cursor_next(cur, &key, &val)) {
        struct membership m;
        struct account acct;
        if (record_decode(&membership_desc, val, a, &m) || m.role < MEMBER_MEMBER || m.banned ||
            account_get(txn, m.account_id, a, &acct))
            continue;
        inboxes_add(s, a, &acct);
    }
    kv_cursor_close(cur);
    return KITH_OK;
}

/* The accepted remote followers of a local person, by server. */
static int follower_inboxes(struct kv_txn *txn, struct arena *a, uint64_t target, struct inboxes *s)
{
    struct kv_cursor *cur;
    struct str key;
    struct key8 tk = key_id(target);
    int rc = kv_cursor_open(txn, T_FOLLOWERS, &cur);
    if (rc)
        return rc;
    for (int r = kv_cursor_seek(cur, KEY8(tk), &key, NULL);
         r == KITH_OK && key.len == 16 && memcmp(key.ptr, tk.b, 8) == 0;
         r = kv_cursor_next(cur, &key, NULL)) {
        uint64_t fid = be64_get((const unsigned char *)key.ptr + 8);
        struct key16 fk = key_pair(fid, target);
        struct follow f;
        struct account acct;
        if (rec_get(txn, T_FOLLOWS, KEY16(fk), &follow_desc, a, &f) || f.state != FOLLOW_ACCEPTED ||
            account_get(txn, fid, a, &acct))
            continue;
        inboxes_add(s, a, &acct);
    }
    kv_cursor_close(cur);
    return KITH_OK;
}

static void recipient_inboxes(struct kv_txn *txn, struct arena *a, struct str recipients,
                              struct inboxes *s)
{
    const char *p = recipients.ptr, *end = p + recipients.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct str uri = str_make(p, (size_t)((nl ? nl : end) - p));
        p = nl ? nl + 1 : end;
        uint8_t kind;
        uint64_t id;
        struct account acct;
        if (uri.len && actor_uri_lookup(txn, uri, &kind, &id) == KITH_OK && kind == NAME_ACCOUNT &&
            account_get(txn, id, a, &acct) == KITH_OK)
            inboxes_add(s, a, &acct);
    }
}

/* Where a local person's note goes: their remote followers (unless
 * direct), its remote recipients, and a remote parent's author (unless
 * direct). */
static int note_inboxes(struct kv_txn *txn, struct arena *a, uint64_t sender_id,
                        const struct post *p, struct inboxes *s)
{
    int rc = KITH_OK;
    struct account parent_author;
    if (p->visibility != VIS_DIRECT)
        rc = follower_inboxes(txn, a, sender_id, s);
    recipient_inboxes(txn, a, p->recipients, s);
    if (p->reply_to_author && account_get(txn, p->reply_to_author, a, &parent_author) == KITH_OK &&
        p->visibility != VIS_DIRECT)
        inboxes_add(s, a, &parent_author);
    return rc;
}

void activity_address_like(cJSON *act, cJSON *obj)
{
    static const char *const keys[] = {"to", "cc", "audience"};
    for (size_t i = 0; i < 3; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
        if (v)
            cJSON_AddItemToObject(act, keys[i], cJSON_Duplicate(v, true));
    }
}

static cJSON *announce_new(struct core *core, struct arena *a, const struct community *c,
                           const char *curl, uint64_t *aid)
{
    cJSON *ann = activity_new(core, a, "Announce", curl, aid);
    const char *followers = arena_printf(a, "%s/followers", curl);
    cJSON *to = cJSON_AddArrayToObject(ann, "to");
    cJSON *cc = cJSON_AddArrayToObject(ann, "cc");
    if (c->join_mode == JOIN_APPROVAL) {
        add_string(to, followers);
    } else {
        add_string(to, AS_PUBLIC);
        add_string(cc, followers);
    }
    cJSON_AddStringToObject(ann, "audience", curl);
    return ann;
}

int community_announce(struct kv_txn *txn, struct core *core, struct arena *a,
                       const struct community *c, cJSON *activity, cJSON *plain_object)
{
    struct inboxes s = {0};
    int rc = member_inboxes(txn, a, c->id, &s);
    const char *curl = community_url(a, core, c);
    uint64_t aid;
    if (rc == KITH_OK && s.n) {
        cJSON *ann = announce_new(core, a, c, curl, &aid);
        cJSON *inner = cJSON_Duplicate(activity, true);
        cJSON_DeleteItemFromObjectCaseSensitive(inner, "@context");
        cJSON_AddItemToObject(ann, "object", inner);
        rc = send_all(txn, core, ann, aid, SENDER_COMMUNITY(c->id), &s);
        cJSON_Delete(ann);
    }
    if (rc == KITH_OK && s.n && plain_object) {
        /* Microblogs understand only Announce(object): Lemmy sends both. */
        cJSON *ann = announce_new(core, a, c, curl, &aid);
        cJSON_AddItemToObject(ann, "object", cJSON_Duplicate(plain_object, true));
        rc = send_all(txn, core, ann, aid, SENDER_COMMUNITY(c->id), &s);
        cJSON_Delete(ann);
    }
    free(s.v);
    return rc;
}

int outbox_send_followers(struct kv_txn *txn, struct core *core, struct arena *a, cJSON *activity,
                          uint64_t aid, uint64_t sender_id, uint64_t also_to)
{
    struct inboxes s = {0};
    struct account acct;
    int rc = follower_inboxes(txn, a, sender_id, &s);
    if (rc == KITH_OK && also_to && account_get(txn, also_to, a, &acct) == KITH_OK)
        inboxes_add(&s, a, &acct);
    if (rc == KITH_OK)
        rc = send_all(txn, core, activity, aid, sender_id, &s);
    free(s.v);
    return rc;
}

int outbox_send(struct kv_txn *txn, struct core *core, struct arena *a, cJSON *activity,
                uint64_t aid, uint64_t sender_id, const struct post *p, bool new_post)
{
    struct inboxes s = {0};
    int rc = KITH_OK;
    if (p->community_id) {
        struct community c;
        if ((rc = community_get(txn, p->community_id, a, &c)))
            return rc;
        if (!c.uri.len) {
            cJSON *plain = new_post && !p->parent_id ? object_json(txn, core, a, p) : NULL;
            rc = community_announce(txn, core, a, &c, activity, plain);
            cJSON_Delete(plain);
            return rc;
        }
        struct str inbox = c.shared_inbox.len ? c.shared_inbox : c.inbox;
        if (!inbox.len)
            return KITH_EINVAL;
        return delivery_schedule(txn, core, activity, aid, sender_id, inbox);
    }
    rc = note_inboxes(txn, a, sender_id, p, &s);
    if (rc == KITH_OK)
        rc = send_all(txn, core, activity, aid, sender_id, &s);
    free(s.v);
    return rc;
}

int outbox_poll_update(struct kv_txn *txn, struct core *core, const struct post *p)
{
    struct arena a = ARENA_INIT;
    uint64_t aid;
    const char *actor = account_url(txn, core, &a, p->author_id);
    cJSON *act = activity_new(core, &a, "Update", actor, &aid);
    cJSON *obj = object_json(txn, core, &a, p);
    activity_address_like(act, obj);
    cJSON_AddItemToObject(act, "object", obj);
    int rc;
    if (p->community_id) {
        rc = outbox_send(txn, core, &a, act, aid, p->author_id, p, false);
    } else { /* a note's audience, and every remote voter (Mastodon's way) */
        struct inboxes s = {0};
        uint64_t *voters = NULL;
        size_t nv = 0;
        rc = note_inboxes(txn, &a, p->author_id, p, &s);
        if (rc == KITH_OK)
            rc = prefix_ids(txn, T_POLL_VOTES, p->id, &voters, &nv);
        for (size_t i = 0; i < nv; i++) {
            struct account voter;
            if (account_get(txn, voters[i], &a, &voter) == KITH_OK)
                inboxes_add(&s, &a, &voter);
        }
        free(voters);
        if (rc == KITH_OK)
            rc = send_all(txn, core, act, aid, p->author_id, &s);
        free(s.v);
    }
    cJSON_Delete(act);
    arena_release(&a);
    return rc;
}
