/* federation/process.c: applying queued activities. */
#include "process.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../storage/queue.h"
#include "actors.h"
#include "deliver.h"
#include "inbox.h"
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

/* ---- one transaction per entry ---- */

struct apply {
    struct core *core;
    struct entry *e;
    cJSON *doc;
    const char *type, *id, *actor;
    struct arena *a;
    uint8_t state; /* outcome recorded in table activities */
    const char *note;
};

/* The Accept (or Reject) of a Follow, from the followed local actor. */
static int answer_follow(struct kv_txn *txn, struct apply *ap, const char *type,
                         const char *local_url, uint64_t sender_id, const struct account *follower)
{
    const struct kith_config *cfg = ap->core->cfg;
    uint64_t aid = idgen_next(store_ids(ap->core->st));
    char id[640];
    snprintf(id, sizeof(id), "%s/activities/%s/%llu", cfg->public_url,
             strcmp(type, "Accept") == 0 ? "accept" : "reject", (unsigned long long)aid);
    cJSON *act = cJSON_CreateObject();
    cJSON *ctx = cJSON_AddArrayToObject(act, "@context");
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://www.w3.org/ns/activitystreams"));
    cJSON_AddStringToObject(act, "id", id);
    cJSON_AddStringToObject(act, "type", type);
    cJSON_AddStringToObject(act, "actor", local_url);
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
        (rc = kv_put(txn, T_FOLLOWERS, KEY16(rk), STR_LIT(""), 0)))
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

/* ---- Create of a post or comment in a local community (FEP-1b12) ---- */

/* A post or comment by its ActivityPub id: a remote object kith stored,
 * or a local one (PUBLIC_URL/post/ID, /comment/ID). */
static int post_by_ref(struct kv_txn *txn, struct apply *ap, const char *ref, struct post *out)
{
    const struct kith_config *cfg = ap->core->cfg;
    struct str v;
    if (!ref || strlen(ref) > 511)
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_OBJECT_URIS, str_from(ref), &v);
    struct key8 k;
    if (rc == KITH_OK) {
        if (v.len != 8)
            return KITH_ECORRUPT;
        memcpy(k.b, v.ptr, 8);
    } else {
        size_t n = strlen(cfg->public_url);
        const char *path = strncmp(ref, cfg->public_url, n) == 0 ? ref + n : "";
        unsigned long long id = 0;
        if (sscanf(path, "/post/%llu", &id) != 1 && sscanf(path, "/comment/%llu", &id) != 1)
            return KITH_ENOTFOUND;
        k = key_id(id);
    }
    return rec_get(txn, T_POSTS, KEY8(k), &post_desc, ap->a, out);
}

/* The local community an object is for: named in audience, to or cc
 * (of the object or the activity), or the community of the post it replies to. */
static int target_community(struct kv_txn *txn, struct apply *ap, cJSON *obj, struct community *c,
                            struct post *parent, bool *has_parent)
{
    const struct kith_config *cfg = ap->core->cfg;
    static const char *const keys[] = {"audience", "to", "cc"};
    *has_parent = false;
    const char *reply = field_id(obj, "inReplyTo");
    if (reply) {
        int rc = post_by_ref(txn, ap, reply, parent);
        if (rc == KITH_OK && parent->community_id) {
            *has_parent = true;
            return community_get(txn, parent->community_id, ap->a, c);
        }
        return KITH_ENOTFOUND;
    }
    for (size_t k = 0; k < 3; k++)
        for (int pass = 0; pass < 2; pass++) {
            cJSON *o = pass ? ap->doc : obj;
            cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            cJSON *single = cJSON_IsArray(v) ? NULL : v;
            cJSON *it = single ? single : (cJSON_IsArray(v) ? v->child : NULL);
            for (; it; it = single ? NULL : it->next) {
                uint8_t kind;
                struct str name;
                if (local_actor(cfg, id_of(it), &kind, &name) && kind == NAME_COMMUNITY &&
                    community_get_local(txn, name, ap->a, c) == KITH_OK)
                    return KITH_OK;
            }
        }
    return KITH_ENOTFOUND;
}

/* Announces the activity as received, from the community, to every remote
 * member's server (one delivery per shared inbox). */
static int announce(struct kv_txn *txn, struct apply *ap, const struct community *c)
{
    const struct kith_config *cfg = ap->core->cfg;
    const char *curl =
        arena_printf(ap->a, "%s/c/%.*s", cfg->public_url, (int)c->name.len, c->name.ptr);
    uint64_t aid = idgen_next(store_ids(ap->core->st));
    cJSON *act = cJSON_CreateObject();
    cJSON *ctx = cJSON_AddArrayToObject(act, "@context");
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://www.w3.org/ns/activitystreams"));
    cJSON_AddStringToObject(act, "id",
                            arena_printf(ap->a, "%s/activities/announce/%llu", cfg->public_url,
                                         (unsigned long long)aid));
    cJSON_AddStringToObject(act, "type", "Announce");
    cJSON_AddStringToObject(act, "actor", curl);
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(AS_PUBLIC));
    cJSON *cc = cJSON_AddArrayToObject(act, "cc");
    cJSON_AddItemToArray(cc, cJSON_CreateString(arena_printf(ap->a, "%s/followers", curl)));
    cJSON_AddStringToObject(act, "audience", curl);
    cJSON *inner = cJSON_Duplicate(ap->doc, true);
    cJSON_DeleteItemFromObjectCaseSensitive(inner, "@context");
    cJSON_AddItemToObject(act, "object", inner);

    /* Distinct destination inboxes of the remote members. */
    struct str *sent = NULL;
    size_t nsent = 0, cap = 0;
    struct kv_cursor *cur;
    struct str key, val;
    struct key8 ck = key_id(c->id);
    int rc = kv_cursor_open(txn, T_MEMBERS, &cur);
    for (int r = rc ? rc : kv_cursor_seek(cur, KEY8(ck), &key, &val);
         rc == KITH_OK && r == KITH_OK && key.len == 16 && memcmp(key.ptr, ck.b, 8) == 0;
         r = kv_cursor_next(cur, &key, &val)) {
        struct membership m;
        struct account acct;
        if (record_decode(&membership_desc, val, ap->a, &m) || m.role < MEMBER_MEMBER || m.banned ||
            account_get(txn, m.account_id, ap->a, &acct) || !acct.uri.len)
            continue;
        struct str inbox = acct.shared_inbox.len ? acct.shared_inbox : acct.inbox;
        bool dup = !inbox.len;
        for (size_t i = 0; i < nsent && !dup; i++)
            dup = str_eq(sent[i], inbox);
        if (dup)
            continue;
        if (nsent == cap) {
            cap = cap ? cap * 2 : 16;
            sent = xrealloc(sent, cap * sizeof(*sent));
        }
        sent[nsent++] = arena_str(ap->a, inbox);
    }
    if (rc == KITH_OK)
        kv_cursor_close(cur);
    /* Stored once; one job per inbox (the first stores the JSON, the rest
     * reuse it under the same activity id). */
    for (size_t i = 0; i < nsent && rc == KITH_OK; i++)
        rc = i == 0 ? delivery_schedule(txn, ap->core, act, aid, SENDER_COMMUNITY(c->id), sent[i])
                    : delivery_schedule_more(txn, ap->core, aid, SENDER_COMMUNITY(c->id), sent[i]);
    free(sent);
    cJSON_Delete(act);
    return rc;
}

/* The object's content, sanitised once, here, before it is stored. */
static struct str clean_content(struct arena *a, cJSON *obj)
{
    const char *content = field_id(obj, "content");
    struct buf clean;
    buf_init(&clean, 1 << 20);
    if (content)
        sanitize_html(str_from(content), &clean);
    struct str out = arena_str(a, buf_str(&clean));
    buf_free(&clean);
    return out;
}

static int apply_create(struct kv_txn *txn, struct apply *ap)
{
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    const char *otype = cJSON_IsObject(obj) ? field_id(obj, "type") : NULL;
    const char *oid = cJSON_IsObject(obj) ? field_id(obj, "id") : NULL;
    const char *author = cJSON_IsObject(obj) ? field_id(obj, "attributedTo") : NULL;
    static const char *const types[] = {"Page", "Article", "Note", "Question", "Video", "Event"};
    bool known = false;
    for (size_t i = 0; otype && i < sizeof(types) / sizeof(types[0]); i++)
        known |= strcmp(otype, types[i]) == 0;
    struct community c;
    struct post parent;
    bool has_parent;
    if (!known || !oid || target_community(txn, ap, obj, &c, &parent, &has_parent) != KITH_OK ||
        c.uri.len) {
        ap->state = ACTIVITY_STORED; /* not for a local community: people's notes come later */
        ap->note = "Create not addressed to a local community";
        return KITH_OK;
    }
    if (!author || strcmp(author, ap->actor) != 0) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "the object's attributedTo is not the activity's actor";
        return KITH_OK;
    }
    struct account acct;
    uint8_t kind;
    uint64_t author_id;
    if (actor_uri_lookup(txn, str_from(ap->actor), &kind, &author_id) || kind != NAME_ACCOUNT ||
        account_get(txn, author_id, ap->a, &acct)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "unknown author";
        return KITH_OK;
    }
    struct membership m;
    bool member = membership_get(txn, c.id, author_id, ap->a, &m) == KITH_OK;
    if (member && m.banned) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "the author is banned from the community";
        return KITH_OK;
    }
    if (!has_parent && c.posting_restricted && !(member && m.role >= MEMBER_MODERATOR)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "only moderators may post in this community";
        return KITH_OK;
    }
    if (c.join_mode == JOIN_APPROVAL && !(member && m.role >= MEMBER_MEMBER)) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "a private community: members only";
        return KITH_OK;
    }
    struct str existing;
    if (strlen(oid) <= 511 && kv_get(txn, T_OBJECT_URIS, str_from(oid), &existing) == KITH_OK)
        return KITH_OK; /* the same object again: stored once */
    /* The post, its content sanitised once, here. */
    struct post p = {.id = idgen_next(store_ids(ap->core->st)),
                     .community_id = c.id,
                     .author_id = author_id,
                     .uri = str_from(oid),
                     .created_at = wall_seconds(),
                     .updated_at = wall_seconds()};
    if (has_parent) {
        p.parent_id = parent.id;
        p.root_id = parent.root_id ? parent.root_id : parent.id;
    }
    p.content = clean_content(ap->a, obj);
    const char *title = field_id(obj, "name");
    if (!has_parent)
        p.title = title ? str_from(title) : html_first_line(ap->a, p.content);
    cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "source");
    if (cJSON_IsObject(src)) {
        const char *sc = field_id(src, "content"), *st = field_id(src, "mediaType");
        p.source = sc ? str_from(sc) : STR_NULL;
        p.source_type = st ? str_from(st) : STR_NULL;
    }
    cJSON *sens = cJSON_GetObjectItemCaseSensitive(obj, "sensitive");
    p.sensitive = cJSON_IsTrue(sens);
    struct key8 pk = key_id(p.id);
    struct key16 ck = key_pair(c.id, p.id);
    int rc = rec_put(txn, T_POSTS, KEY8(pk), &post_desc, &p, KV_NOOVERWRITE);
    if (!rc && strlen(oid) <= 511)
        rc = kv_put(txn, T_OBJECT_URIS, str_from(oid), KEY8(pk), KV_NOOVERWRITE);
    if (!rc && !has_parent)
        rc = kv_put(txn, T_COMMUNITY_POSTS, KEY16(ck), STR_LIT(""), 0);
    if (!rc && has_parent) {
        struct key16 ch = key_pair(p.parent_id, p.id);
        rc = kv_put(txn, T_POST_CHILDREN, KEY16(ch), STR_LIT(""), 0);
    }
    if (!rc)
        rc = announce(txn, ap, &c);
    return rc;
}

/* ---- votes, and authors' own updates and deletions ---- */

/* The post an activity's object names, with its local community; the
 * author of an activity about a remote actor's own post must be that actor. */
static int post_in_local_community(struct kv_txn *txn, struct apply *ap, const char *ref,
                                   struct post *p, struct community *c)
{
    if (post_by_ref(txn, ap, ref, p) || !p->community_id ||
        community_get(txn, p->community_id, ap->a, c) || c->uri.len)
        return KITH_ENOTFOUND;
    return KITH_OK;
}

static int put_post(struct kv_txn *txn, const struct post *p)
{
    struct key8 k = key_id(p->id);
    return rec_put(txn, T_POSTS, KEY8(k), &post_desc, p, 0);
}

/* Like (+1) or Dislike (-1) of a post in a local community; undo removes the vote. */
static int apply_vote(struct kv_txn *txn, struct apply *ap, cJSON *vote, bool undo)
{
    const char *vtype = field_id(vote, "type");
    const char *ref = field_id(vote, "object");
    struct post p;
    struct community c;
    uint8_t kind;
    uint64_t voter;
    if (post_in_local_community(txn, ap, ref, &p, &c)) {
        ap->state = ACTIVITY_STORED;
        ap->note = "a vote on a post kith does not hold";
        return KITH_OK;
    }
    if (actor_uri_lookup(txn, str_from(ap->actor), &kind, &voter) || kind != NAME_ACCOUNT) {
        ap->state = ACTIVITY_REJECTED;
        ap->note = "unknown voter";
        return KITH_OK;
    }
    struct membership m;
    if (membership_get(txn, c.id, voter, ap->a, &m) == KITH_OK && m.banned) {
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
    if (undo) {
        if (!had)
            return KITH_OK; /* nothing to undo: nothing to announce */
        if ((rc = kv_del(txn, T_VOTES, KEY16(k))))
            return rc;
    } else {
        struct vote v = {.post_id = p.id,
                         .account_id = voter,
                         .value = strcmp(vtype, "Dislike") == 0 ? -1 : 1,
                         .created_at = wall_seconds(),
                         .uri = str_from(field_id(vote, "id") ? field_id(vote, "id") : "")};
        if (v.value > 0)
            p.upvotes++;
        else
            p.downvotes++;
        if ((rc = rec_put(txn, T_VOTES, KEY16(k), &vote_desc, &v, 0)))
            return rc;
    }
    p.score = (int64_t)p.upvotes - (int64_t)p.downvotes;
    if ((rc = put_post(txn, &p)))
        return rc;
    return announce(txn, ap, &c);
}

/* Update or Delete of a post by its own author. */
static int apply_edit(struct kv_txn *txn, struct apply *ap, bool delete)
{
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
    const char *ref = id_of(obj);
    struct post p;
    struct community c;
    struct account author;
    if (post_in_local_community(txn, ap, ref, &p, &c)) {
        ap->state = ACTIVITY_STORED;
        ap->note = delete ? "Delete of something kith does not hold"
                          : "Update of something kith does not hold";
        return KITH_OK;
    }
    if (account_get(txn, p.author_id, ap->a, &author) || !str_eq_cstr(author.uri, ap->actor)) {
        /* Moderators' removals come with the moderation issue. */
        ap->state = ACTIVITY_STORED;
        ap->note = "not the author's own post";
        return KITH_OK;
    }
    int64_t now = wall_seconds();
    if (delete) {
        if (p.deleted_at)
            return KITH_OK;
        p.deleted_at = now;
        p.content = STR_NULL;
        p.source = STR_NULL;
        p.title = p.parent_id ? STR_NULL : p.title;
    } else {
        if (!cJSON_IsObject(obj) || p.deleted_at) {
            ap->state = ACTIVITY_STORED;
            ap->note = "Update without the object, or of a deleted post";
            return KITH_OK;
        }
        p.content = clean_content(ap->a, obj);
        const char *title = field_id(obj, "name");
        if (title && !p.parent_id)
            p.title = str_from(title);
        cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "source");
        const char *sc = cJSON_IsObject(src) ? field_id(src, "content") : NULL;
        if (sc)
            p.source = str_from(sc);
    }
    p.updated_at = now;
    int rc = put_post(txn, &p);
    return rc ? rc : announce(txn, ap, &c);
}

/* Accept or Reject of a Follow a local person sent: the follow (of a person)
 * or the membership (of a community) becomes accepted, or goes. */
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
            if (m.role < MEMBER_MEMBER)
                m.role = MEMBER_MEMBER;
            m.updated_at = wall_seconds();
            return membership_put(txn, &m);
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
        f.state = FOLLOW_ACCEPTED;
        return rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &f, 0);
    }
    rc = kv_del(txn, T_FOLLOWS, KEY16(k));
    if (!rc)
        rc = kv_del(txn, T_FOLLOWERS, KEY16(r));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

static int apply_entry(struct kv_txn *txn, void *arg)
{
    struct apply *ap = arg;
    struct str seen;
    int rc = KITH_OK;

    if (kv_get(txn, T_ACTIVITIES, str_from(ap->id), &seen) == KITH_OK)
        return queue_remove(txn, QUEUE_INBOX, ap->e->seq); /* seen before: applied once */
    ap->state = ACTIVITY_APPLIED;
    ap->note = NULL;
    if (strcmp(ap->type, "Follow") == 0) {
        rc = apply_follow(txn, ap);
    } else if (strcmp(ap->type, "Create") == 0) {
        rc = apply_create(txn, ap);
    } else if (strcmp(ap->type, "Like") == 0 || strcmp(ap->type, "Dislike") == 0) {
        rc = apply_vote(txn, ap, ap->doc, false);
    } else if (strcmp(ap->type, "Update") == 0 || strcmp(ap->type, "Delete") == 0) {
        rc = apply_edit(txn, ap, strcmp(ap->type, "Delete") == 0);
    } else if (strcmp(ap->type, "Accept") == 0 || strcmp(ap->type, "Reject") == 0) {
        rc = apply_answer(txn, ap, strcmp(ap->type, "Accept") == 0);
    } else if (strcmp(ap->type, "Undo") == 0) {
        cJSON *obj = cJSON_GetObjectItemCaseSensitive(ap->doc, "object");
        cJSON *otype = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "type") : NULL;
        if (cJSON_IsString(otype) && strcmp(otype->valuestring, "Follow") == 0) {
            rc = apply_undo_follow(txn, ap, obj);
        } else if (cJSON_IsString(otype) && (strcmp(otype->valuestring, "Like") == 0 ||
                                             strcmp(otype->valuestring, "Dislike") == 0)) {
            const char *voter = field_id(obj, "actor");
            if (!voter || strcmp(voter, ap->actor) != 0) {
                ap->state = ACTIVITY_REJECTED;
                ap->note = "Undo of someone else's vote";
            } else {
                rc = apply_vote(txn, ap, obj, true);
            }
        } else {
            ap->state = ACTIVITY_STORED;
            ap->note = "Undo of this kind is not applied yet";
        }
    } else {
        /* Not applied yet (posts, votes, moderation: later issues) or unknown:
         * kept for inspection and acknowledged. */
        ap->state = ACTIVITY_STORED;
        ap->note = "stored for inspection";
    }
    if (rc)
        return rc;
    struct activity rec = {.type = str_from(ap->type),
                           .actor = str_from(ap->actor),
                           .state = ap->state,
                           .received_at = ap->e->received,
                           .raw = ap->state == ACTIVITY_APPLIED ? STR_NULL : ap->e->body,
                           .note = ap->note ? str_from(ap->note) : STR_NULL};
    if (strlen(ap->id) > 511)
        rc = KITH_OK; /* an id too long to index is applied but not remembered */
    else
        rc = rec_put(txn, T_ACTIVITIES, str_from(ap->id), &activity_desc, &rec, 0);
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
