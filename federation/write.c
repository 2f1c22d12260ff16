/* federation/write.c: what a local person writes, stored and sent
 * (federation_write in federation.h): posts, comments, notes, votes and
 * favourites, edits, deletes and boosts. Runs on the writer thread inside
 * its caller's transaction; kithctl act and the Mastodon API both come
 * here, so both federate the same way. */
#include "actors.h"
#include "deliver.h"
#include "outbox.h"

#include "../src/base/err.h"
#include "../src/base/mem.h"
#include "../src/core/feeds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(struct fed_write *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct fed_write *w, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
    va_end(ap);
    w->status = status;
    return KITH_EINVAL;
}

struct ctx {
    struct federation *f;
    struct core *core;
    struct fed_write *w;
    struct account user;
    const char *actor; /* the user's actor URL */
    struct arena *a;
};

/* A local member may write in a community unless banned, or unless it is
 * private and they are not a member, or only moderators post there. */
static int may_write(struct kv_txn *txn, struct ctx *x, const struct community *c, bool comment)
{
    struct membership m;
    bool member = membership_get(txn, c->id, x->user.id, x->a, &m) == KITH_OK;
    const char *name = arena_str(x->a, c->name).ptr;
    if (member && m.banned)
        return refuse(x->w, 403, "you are banned from '%s'", name);
    if (!c->uri.len && !comment && c->posting_restricted && !(member && m.role >= MEMBER_MODERATOR))
        return refuse(x->w, 403, "only moderators may post in '%s'", name);
    if (c->join_mode == JOIN_APPROVAL && !(member && m.role >= MEMBER_MEMBER))
        return refuse(x->w, 403, "'%s' is private: members only", name);
    return KITH_OK;
}

/* Stores p (new) and sends its Create. */
static int create_and_send(struct kv_txn *txn, struct ctx *x, struct post *p)
{
    int rc = post_insert(txn, x->core, p);
    if (rc)
        return rc;
    uint64_t aid;
    cJSON *obj = object_json(txn, x->core, x->a, p);
    cJSON *act = activity_new(x->core, x->a, "Create", x->actor, &aid);
    activity_address_like(act, obj);
    cJSON_AddItemToObject(act, "object", obj);
    rc = outbox_send(txn, x->core, x->a, act, aid, x->user.id, p, true);
    cJSON_Delete(act);
    x->w->post_id = p->id;
    return rc;
}

/* The people w names: their URLs (recipients, newline-separated) and the
 * links of their mentions in the text. */
static int named_people(struct kv_txn *txn, struct ctx *x, struct buf *rcpt,
                        struct mention_link *links, size_t *nlinks)
{
    *nlinks = 0;
    for (size_t i = 0; i < x->w->nto; i++) {
        struct account acct;
        if (account_get(txn, x->w->to[i], x->a, &acct))
            return refuse(x->w, 422, "no account %llu to mention", (unsigned long long)x->w->to[i]);
        const char *u = account_url(txn, x->core, x->a, acct.id);
        if (recipients_has(buf_str(rcpt), str_from(u)))
            continue;
        buf_printf(rcpt, "%s%s", rcpt->len ? "\n" : "", u);
        const char *page = acct.uri.len ? u
                                        : arena_printf(x->a, "%s/@%.*s", x->core->cfg->public_url,
                                                       (int)acct.name.len, acct.name.ptr);
        links[(*nlinks)++] =
            (struct mention_link){arena_str(x->a, acct.name), arena_str(x->a, acct.domain), page};
    }
    return KITH_OK;
}

/* The body as HTML: mentions linked where the text names them, and the
 * first nlead (the people) put first when it does not (as Mastodon shows a
 * reply's); a community is linked only where the text names it. */
static struct str body_html(struct ctx *x, const struct mention_link *links, size_t n, size_t nlead)
{
    const struct kith_config *cfg = x->core->cfg;
    struct str text = str_from(x->w->body);
    struct str body = status_html(x->a, text, links, n, cfg->domain, cfg->public_url);
    struct buf lead;
    buf_init(&lead, 1 << 20);
    for (size_t i = 0; i < nlead; i++) {
        const char *needle = arena_printf(x->a, "@%.*s", (int)links[i].name.len, links[i].name.ptr);
        if (strstr(x->w->body, needle))
            continue;
        buf_add_cstr(&lead, "<span class=\"h-card\" translate=\"no\"><a href=\"");
        buf_add_html(&lead, str_from(links[i].url));
        buf_add_cstr(&lead, "\" class=\"u-url mention\">@<span>");
        buf_add_html(&lead, links[i].name);
        buf_add_cstr(&lead, "</span></a></span> ");
    }
    if (lead.len && body.len > 3 && memcmp(body.ptr, "<p>", 3) == 0) {
        struct buf joined;
        buf_init(&joined, 2 << 20);
        buf_add_cstr(&joined, "<p>");
        buf_add_str(&joined, buf_str(&lead));
        buf_add(&joined, body.ptr + 3, body.len - 3);
        body = arena_str(x->a, buf_str(&joined));
        buf_free(&joined);
    }
    buf_free(&lead);
    return body;
}

/* The uploads w names become p's attachments (ActivityPub Documents, and
 * their ids for the API); each is marked as attached to p. */
static int attach_media(struct kv_txn *txn, struct ctx *x, struct post *p)
{
    struct fed_write *w = x->w;
    if (!w->nmedia) {
        p->attachments = p->media_ids = STR_NULL;
        p->nattachments = 0;
        return KITH_OK;
    }
    cJSON *arr = cJSON_CreateArray();
    struct buf ids;
    buf_init(&ids, 256);
    int rc = KITH_OK;
    for (size_t i = 0; i < w->nmedia && rc == KITH_OK; i++) {
        struct key8 k = key_id(w->media[i]);
        struct media_rec m;
        struct post was;
        bool found = rec_get(txn, T_MEDIA, KEY8(k), &media_desc, x->a, &m) == KITH_OK;
        /* An upload of a deleted status may be attached again ("delete and
         * redraft", within the day core/mediagc keeps it). */
        bool taken = found && m.post_id && m.post_id != p->id &&
                     !(post_get(txn, m.post_id, x->a, &was) == KITH_OK && was.deleted_at);
        if (!found || m.account_id != x->user.id || taken) {
            rc = refuse(w, 422, "Validation failed: media %llu is not yours to attach",
                        (unsigned long long)w->media[i]);
            break;
        }
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "type", "Document");
        cJSON_AddStringToObject(d, "mediaType", arena_str(x->a, m.mime).ptr);
        cJSON_AddStringToObject(d, "url",
                                arena_printf(x->a, "%s/media/%.*s", x->core->cfg->public_url,
                                             (int)m.file.len, m.file.ptr));
        if (m.description.len)
            cJSON_AddStringToObject(d, "name", arena_str(x->a, m.description).ptr);
        else
            cJSON_AddNullToObject(d, "name");
        if (m.blurhash.len)
            cJSON_AddStringToObject(d, "blurhash", arena_str(x->a, m.blurhash).ptr);
        if (m.width && m.height) {
            cJSON_AddNumberToObject(d, "width", m.width);
            cJSON_AddNumberToObject(d, "height", m.height);
            cJSON *fp = cJSON_AddArrayToObject(d, "focalPoint");
            cJSON_AddItemToArray(fp, cJSON_CreateNumber(m.focus_x / 1e6));
            cJSON_AddItemToArray(fp, cJSON_CreateNumber(m.focus_y / 1e6));
        }
        cJSON_AddItemToArray(arr, d);
        buf_printf(&ids, "%s%llu", ids.len ? "," : "", (unsigned long long)m.id);
        m.post_id = p->id;
        rc = rec_put(txn, T_MEDIA, KEY8(k), &media_desc, &m, 0);
    }
    if (rc == KITH_OK) {
        char *text = cJSON_PrintUnformatted(arr);
        p->attachments = arena_str(x->a, str_from(text ? text : "[]"));
        free(text);
        p->media_ids = arena_str(x->a, buf_str(&ids));
        p->nattachments = (uint32_t)w->nmedia;
    }
    cJSON_Delete(arr);
    buf_free(&ids);
    return rc;
}

static int w_create(struct kv_txn *txn, struct ctx *x)
{
    struct fed_write *w = x->w;
    int64_t now = wall_seconds();
    struct post p = {.id = idgen_next(store_ids(x->core->st)),
                     .author_id = x->user.id,
                     .created_at = now,
                     .updated_at = now,
                     .source = str_from(w->body),
                     .source_type = str_from(w->source_type ? w->source_type : "text/plain"),
                     .summary = w->summary ? str_from(w->summary) : STR_NULL,
                     .language = w->language ? str_from(w->language) : STR_NULL,
                     .url = w->link ? str_from(w->link) : STR_NULL,
                     .sensitive = w->sensitive || (w->summary && *w->summary)};
    struct buf rcpt;
    struct mention_link links[FED_MAX_MENTIONS];
    size_t nlinks;
    struct post parent;
    struct community c = {0};
    int rc;
    buf_init(&rcpt, 64 << 10);
    if (w->parent_id) {
        if (post_get(txn, w->parent_id, x->a, &parent) || parent.deleted_at) {
            rc = refuse(w, 404, "the post replied to is gone");
            goto out;
        }
        if (parent.community_id && (rc = community_get(txn, parent.community_id, x->a, &c)))
            goto out;
        if (c.id && (rc = may_write(txn, x, &c, true)))
            goto out;
        if (parent.locked) {
            rc = refuse(w, 422, "the thread is locked");
            goto out;
        }
        p.community_id = parent.community_id;
        p.parent_id = parent.id;
        p.root_id = parent.root_id ? parent.root_id : parent.id;
        p.reply_to_author = parent.author_id;
        if (!c.id) { /* a reply to a note: to its author, and as visible as asked */
            p.visibility = (uint8_t)(w->visibility >= 0 ? w->visibility : parent.visibility);
            const char *au = account_url(txn, x->core, x->a, parent.author_id);
            if (au && parent.author_id != x->user.id)
                buf_add_cstr(&rcpt, au);
            if (parent.visibility == VIS_DIRECT && p.visibility == VIS_DIRECT &&
                parent.recipients.len) {
                const char *me = x->actor, *s = parent.recipients.ptr,
                           *end = s + parent.recipients.len;
                while (s < end) { /* everyone in the conversation but oneself */
                    const char *nl = memchr(s, '\n', (size_t)(end - s));
                    struct str u = str_make(s, (size_t)((nl ? nl : end) - s));
                    s = nl ? nl + 1 : end;
                    if (u.len && !str_eq(u, str_from(me)) && !recipients_has(buf_str(&rcpt), u))
                        buf_printf(&rcpt, "%s%.*s", rcpt.len ? "\n" : "", (int)u.len, u.ptr);
                }
            }
        }
    } else if (w->community_id) {
        if (community_get(txn, w->community_id, x->a, &c)) {
            rc = refuse(w, 404, "no such community");
            goto out;
        }
        if ((rc = may_write(txn, x, &c, false)))
            goto out;
        if (!w->title || !*w->title) {
            rc = refuse(w, 422, "a post in a community needs a title");
            goto out;
        }
        p.community_id = c.id;
        p.title = str_from(w->title);
        p.visibility = c.join_mode == JOIN_APPROVAL ? VIS_FOLLOWERS : VIS_PUBLIC;
    } else {
        p.visibility = (uint8_t)(w->visibility >= 0 ? w->visibility : VIS_PUBLIC);
    }
    if ((rc = named_people(txn, x, &rcpt, links, &nlinks)))
        goto out;
    size_t npeople = nlinks;
    if (c.id && !w->parent_id && nlinks < FED_MAX_MENTIONS) {
        /* The community is named too: its mention is a link, as Mastodon writes one. */
        const char *curl = community_url(x->a, x->core, &c);
        if (!recipients_has(buf_str(&rcpt), str_from(curl)))
            buf_printf(&rcpt, "%s%s", rcpt.len ? "\n" : "", curl);
        links[nlinks++] =
            (struct mention_link){arena_str(x->a, c.name), arena_str(x->a, c.domain), curl};
    }
    if (!c.id && p.visibility == VIS_DIRECT && !rcpt.len) {
        rc = refuse(w, 422, "a direct message needs someone to mention");
        goto out;
    }
    p.content = body_html(x, links, nlinks, npeople);
    p.recipients = arena_str(x->a, buf_str(&rcpt));
    if ((rc = attach_media(txn, x, &p)))
        goto out;
    if (w->poll_titles && *w->poll_titles) {
        struct buf zeros;
        buf_init(&zeros, 256);
        for (const char *t = w->poll_titles; t; t = strchr(t + 1, '\n'))
            buf_add_cstr(&zeros, zeros.len ? ",0" : "0");
        p.poll_titles = str_from(w->poll_titles);
        p.poll_counts = arena_str(x->a, buf_str(&zeros));
        buf_free(&zeros);
        p.poll_multiple = w->poll_multiple;
        p.poll_hide_totals = w->poll_hide_totals;
        p.poll_expires_at = w->poll_expires_at;
    }
    if ((rc = create_and_send(txn, x, &p)))
        goto out;
    /* Local people named, and a local parent's author, hear of it. */
    bool parent_told = false;
    for (size_t i = 0; i < w->nto && rc == KITH_OK; i++) {
        parent_told |= w->parent_id && w->to[i] == parent.author_id;
        rc = notify_add(txn, x->core, w->to[i], "mention", x->user.id, p.id);
    }
    if (rc == KITH_OK && w->parent_id && !parent_told && post_is_local(&parent))
        rc = notify_add(txn, x->core, parent.author_id, "mention", x->user.id, p.id);
out:
    buf_free(&rcpt);
    return rc;
}

/* The local target of a vote, edit, delete or boost, with its community. */
static int target(struct kv_txn *txn, struct ctx *x, struct post *t, struct community *c)
{
    if (post_get(txn, x->w->target_id, x->a, t) || t->deleted_at)
        return refuse(x->w, 404, "Record not found");
    memset(c, 0, sizeof(*c));
    if (t->community_id && community_get(txn, t->community_id, x->a, c))
        return refuse(x->w, 404, "Record not found");
    x->w->post_id = t->id;
    return KITH_OK;
}

/* Schedules act to the remote author of t (a favourite, a boost). */
static int send_to_author(struct kv_txn *txn, struct ctx *x, cJSON *act, uint64_t aid,
                          const struct post *t)
{
    struct account au;
    if (account_get(txn, t->author_id, x->a, &au) == KITH_OK && au.uri.len &&
        (au.inbox.len || au.shared_inbox.len))
        return delivery_schedule(txn, x->core, act, aid, x->user.id,
                                 au.inbox.len ? au.inbox : au.shared_inbox);
    return KITH_OK;
}

static int w_vote(struct kv_txn *txn, struct ctx *x)
{
    struct fed_write *w = x->w;
    const struct kith_config *cfg = x->core->cfg;
    struct post t;
    struct community c;
    int rc = target(txn, x, &t, &c);
    if (rc)
        return rc;
    if (c.id && (rc = may_write(txn, x, &c, true)))
        return rc;
    if (!c.id && w->vote < 0)
        return refuse(w, 422, "a note takes only an up vote (a favourite)");
    struct key16 k = key_pair(t.id, x->user.id);
    struct vote old;
    bool had = rec_get(txn, T_VOTES, KEY16(k), &vote_desc, x->a, &old) == KITH_OK;
    if ((had && old.value == w->vote) || (!had && w->vote == 0))
        return KITH_OK; /* nothing changes */
    if (had) {
        if (old.value > 0 && t.upvotes)
            t.upvotes--;
        else if (old.value < 0 && t.downvotes)
            t.downvotes--;
    }
    const char *ourl = post_url(x->a, cfg, &t);
    const char *curl = c.id ? community_url(x->a, x->core, &c) : NULL;
    uint64_t aid;
    if (had) { /* the previous vote is taken back first */
        cJSON *undo = activity_new(x->core, x->a, "Undo", x->actor, &aid);
        cJSON *v = cJSON_AddObjectToObject(undo, "object");
        cJSON_AddStringToObject(v, "id", arena_str(x->a, old.uri).ptr);
        cJSON_AddStringToObject(v, "type", old.value > 0 ? "Like" : "Dislike");
        cJSON_AddStringToObject(v, "actor", x->actor);
        cJSON_AddStringToObject(v, "object", ourl);
        if (curl) {
            cJSON_AddStringToObject(v, "audience", curl);
            cJSON_AddStringToObject(undo, "audience", curl);
        }
        rc = kv_del(txn, T_VOTES, KEY16(k));
        if (rc == KITH_OK && old.fav_id) {
            struct key16 fk = key_pair(x->user.id, old.fav_id);
            rc = kv_del(txn, T_FAVOURITES, KEY16(fk));
            rc = rc == KITH_ENOTFOUND ? KITH_OK : rc;
        }
        if (rc == KITH_OK)
            rc = c.id ? outbox_send(txn, x->core, x->a, undo, aid, x->user.id, &t, false)
                      : send_to_author(txn, x, undo, aid, &t);
        cJSON_Delete(undo);
        if (rc)
            return rc;
    }
    cJSON *act = NULL;
    if (w->vote) {
        act = activity_new(x->core, x->a, w->vote > 0 ? "Like" : "Dislike", x->actor, &aid);
        cJSON_AddStringToObject(act, "object", ourl);
        if (curl)
            cJSON_AddStringToObject(act, "audience", curl);
        struct vote v = {.post_id = t.id,
                         .account_id = x->user.id,
                         .value = w->vote,
                         .created_at = wall_seconds(),
                         .uri = str_from(cJSON_GetObjectItem(act, "id")->valuestring)};
        if (w->vote > 0) { /* a favourite: listed in the person's favourites */
            v.fav_id = idgen_next(store_ids(x->core->st));
            struct key16 fk = key_pair(x->user.id, v.fav_id);
            struct key8 pv = key_id(t.id);
            if ((rc = kv_put(txn, T_FAVOURITES, KEY16(fk), KEY8(pv), 0))) {
                cJSON_Delete(act);
                return rc;
            }
            t.upvotes++;
        } else {
            t.downvotes++;
        }
        rc = rec_put(txn, T_VOTES, KEY16(k), &vote_desc, &v, 0);
        if (rc == KITH_OK && w->vote > 0 && post_is_local(&t))
            rc = notify_add(txn, x->core, t.author_id, "favourite", x->user.id, t.id);
    }
    t.score = (int64_t)t.upvotes - (int64_t)t.downvotes;
    if (rc == KITH_OK)
        rc = post_put(txn, &t);
    if (rc == KITH_OK && act)
        rc = c.id ? outbox_send(txn, x->core, x->a, act, aid, x->user.id, &t, false)
                  : send_to_author(txn, x, act, aid, &t);
    cJSON_Delete(act);
    return rc;
}

static int w_edit_delete(struct kv_txn *txn, struct ctx *x, bool del)
{
    struct fed_write *w = x->w;
    const struct kith_config *cfg = x->core->cfg;
    struct post t;
    struct community c;
    int rc = target(txn, x, &t, &c);
    if (rc)
        return rc;
    if (t.author_id != x->user.id)
        return refuse(w, 403, "This action is not allowed");
    int64_t now = wall_seconds();
    if (del) {
        post_tombstone(&t, now, false);
        if ((rc = post_deleted(txn, &t)))
            return rc;
    } else {
        /* The version replaced is kept for the edit history. */
        struct key16 ek = key_pair(t.id, idgen_next(store_ids(x->core->st)));
        if ((rc = rec_put(txn, T_POST_EDITS, KEY16(ek), &post_desc, &t, 0)))
            return rc;
        if (w->title && *w->title && t.community_id && !t.parent_id)
            t.title = str_from(w->title);
        struct buf rcpt;
        struct mention_link links[FED_MAX_MENTIONS];
        size_t nlinks;
        buf_init(&rcpt, 64 << 10);
        rc = named_people(txn, x, &rcpt, links, &nlinks);
        buf_free(&rcpt);
        if (rc)
            return rc;
        t.content = body_html(x, links, nlinks, nlinks);
        t.source = str_from(w->body);
        if ((rc = attach_media(txn, x, &t)))
            return rc;
        if (w->summary)
            t.summary = str_from(w->summary);
        t.sensitive = w->sensitive || t.summary.len;
        if (w->language)
            t.language = str_from(w->language);
        /* Edited: later than published, even within its second. */
        t.updated_at = now > t.updated_at ? now : t.updated_at + 1;
        if ((rc = status_change_log(txn, t.id, t.author_id, t.visibility, CHANGE_EDIT)))
            return rc;
    }
    if ((rc = post_put(txn, &t)))
        return rc;
    uint64_t aid;
    cJSON *act = activity_new(x->core, x->a, del ? "Delete" : "Update", x->actor, &aid);
    struct post shown = t;
    shown.deleted_at = 0; /* the addressing of the live object */
    cJSON *obj = object_json(txn, x->core, x->a, &shown);
    activity_address_like(act, obj);
    if (del) {
        cJSON_Delete(obj);
        if (c.id) { /* Lemmy: the object's id */
            cJSON_AddStringToObject(act, "object", post_url(x->a, cfg, &t));
        } else { /* Mastodon: a Tombstone */
            cJSON *tomb = cJSON_AddObjectToObject(act, "object");
            cJSON_AddStringToObject(tomb, "id", post_url(x->a, cfg, &t));
            cJSON_AddStringToObject(tomb, "type", "Tombstone");
        }
    } else {
        cJSON_AddItemToObject(act, "object", obj);
    }
    rc = outbox_send(txn, x->core, x->a, act, aid, x->user.id, &t, false);
    cJSON_Delete(act);
    return rc;
}

/* Announce of t by the user: to the public, the author and the user's
 * followers (as Mastodon addresses a boost). */
static cJSON *announce(struct kv_txn *txn, struct ctx *x, const struct post *t, uint64_t *aid)
{
    cJSON *act = activity_new(x->core, x->a, "Announce", x->actor, aid);
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(AS_PUBLIC));
    cJSON *cc = cJSON_AddArrayToObject(act, "cc");
    const char *au = account_url(txn, x->core, x->a, t->author_id);
    if (au)
        cJSON_AddItemToArray(cc, cJSON_CreateString(au));
    cJSON_AddItemToArray(cc, cJSON_CreateString(arena_printf(x->a, "%s/followers", x->actor)));
    cJSON_AddStringToObject(act, "object", post_url(x->a, x->core->cfg, t));
    return act;
}

static int w_reblog(struct kv_txn *txn, struct ctx *x, bool undo)
{
    struct fed_write *w = x->w;
    struct post t;
    struct community c;
    struct reblog r;
    int rc = target(txn, x, &t, &c);
    if (rc)
        return rc;
    bool had = reblog_find(txn, t.id, x->user.id, x->a, &r) == KITH_OK;
    if (!undo && had) {
        w->status_id = r.id; /* boosting again: the same boost */
        return KITH_OK;
    }
    if (undo && !had)
        return KITH_OK;
    if (!undo && t.visibility >= VIS_FOLLOWERS)
        return refuse(w, 422, "a followers-only or direct post cannot be boosted");
    uint64_t aid;
    cJSON *ann = announce(txn, x, &t, &aid);
    cJSON *act = ann;
    if (undo) {
        cJSON_ReplaceItemInObject(ann, "id", cJSON_CreateString(arena_str(x->a, r.uri).ptr));
        cJSON_DeleteItemFromObject(ann, "@context");
        act = activity_new(x->core, x->a, "Undo", x->actor, &aid);
        cJSON_AddItemToObject(act, "to", cJSON_Duplicate(cJSON_GetObjectItem(ann, "to"), true));
        cJSON_AddItemToObject(act, "cc", cJSON_Duplicate(cJSON_GetObjectItem(ann, "cc"), true));
        cJSON_AddItemToObject(act, "object", ann);
        rc = reblog_remove(txn, &r);
        w->status_id = r.id;
    } else {
        r = (struct reblog){.id = idgen_next(store_ids(x->core->st)),
                            .post_id = t.id,
                            .account_id = x->user.id,
                            .created_at = wall_seconds(),
                            .uri = str_from(cJSON_GetObjectItem(ann, "id")->valuestring)};
        rc = reblog_add(txn, x->core, &r);
        if (rc == KITH_OK && post_is_local(&t))
            rc = notify_add(txn, x->core, t.author_id, "reblog", x->user.id, t.id);
        w->status_id = r.id;
    }
    if (rc == KITH_OK)
        rc = outbox_send_followers(txn, x->core, x->a, act, aid, x->user.id, t.author_id);
    cJSON_Delete(act);
    return rc;
}

/* ---- following people, joining communities ---- */

/* A local person or community: no activity, the change is made here. */
static int follow_local(struct kv_txn *txn, struct ctx *x, bool undo, bool group, uint64_t tid)
{
    struct fed_write *w = x->w;
    int64_t now = wall_seconds();
    int rc;
    if (group) {
        struct community c;
        struct membership m;
        bool had = membership_get(txn, tid, x->user.id, x->a, &m) == KITH_OK;
        if ((rc = community_get(txn, tid, x->a, &c)))
            return rc;
        if (undo) {
            if (!had) {
                w->noop = true;
                return KITH_OK;
            }
            if (m.role == MEMBER_OWNER)
                return refuse(w, 422, "the owner of '%s' cannot leave it",
                              arena_str(x->a, c.name).ptr);
            struct key16 k = key_pair(tid, x->user.id), r = key_pair(x->user.id, tid);
            rc = kv_del(txn, T_MEMBERS, KEY16(k));
            if (rc == KITH_OK)
                rc = kv_del(txn, T_MEMBER_OF, KEY16(r));
            return rc ? rc : home_unmerge(txn, x->user.id, SENDER_COMMUNITY(tid));
        }
        if (had && (m.role >= MEMBER_MEMBER || m.banned)) {
            w->noop = true; /* a member already (or banned: stays out) */
            return m.banned
                       ? refuse(w, 403, "you are banned from '%s'", arena_str(x->a, c.name).ptr)
                       : KITH_OK;
        }
        m = (struct membership){.community_id = tid,
                                .account_id = x->user.id,
                                .role =
                                    c.join_mode == JOIN_APPROVAL ? MEMBER_PENDING : MEMBER_MEMBER,
                                .created_at = now,
                                .updated_at = now};
        rc = membership_put(txn, &m);
        if (rc == KITH_OK && m.role == MEMBER_MEMBER)
            rc = home_merge(txn, x->user.id, SENDER_COMMUNITY(tid), 40);
        if (rc == KITH_OK && m.role == MEMBER_PENDING)
            rc = notify_add(txn, x->core, c.owner_id, "follow_request", x->user.id, 0);
        return rc;
    }
    struct account t;
    if ((rc = account_get(txn, tid, x->a, &t)))
        return rc;
    if (tid == x->user.id)
        return refuse(w, 422, "you cannot follow yourself");
    struct key16 k = key_pair(x->user.id, tid), r = key_pair(tid, x->user.id);
    struct follow fl;
    bool had = rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, x->a, &fl) == KITH_OK;
    if (undo) {
        if (!had) {
            w->noop = true;
            return KITH_OK;
        }
        rc = kv_del(txn, T_FOLLOWS, KEY16(k));
        if (rc == KITH_OK)
            rc = kv_del(txn, T_FOLLOWERS, KEY16(r));
        return rc ? rc : home_unmerge(txn, x->user.id, tid);
    }
    if (had) {
        w->noop = true;
        return KITH_OK;
    }
    fl = (struct follow){.follower_id = x->user.id,
                         .target_id = tid,
                         .state = t.locked ? FOLLOW_PENDING : FOLLOW_ACCEPTED,
                         .created_at = now};
    rc = rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &fl, 0);
    if (rc == KITH_OK)
        rc = kv_put(txn, T_FOLLOWERS, KEY16(r), STR_LIT(""), 0);
    if (rc == KITH_OK)
        rc = notify_add(txn, x->core, tid, t.locked ? "follow_request" : "follow", x->user.id, 0);
    if (rc == KITH_OK && !t.locked)
        rc = home_merge(txn, x->user.id, tid, 40);
    return rc;
}

/* A remote person or community: the Follow (or its Undo) goes out; the
 * follow waits for their Accept. */
static int follow_remote(struct kv_txn *txn, struct ctx *x, bool undo, bool group, uint64_t tid,
                         struct str target, struct str inbox)
{
    struct fed_write *w = x->w;
    struct key16 k = group ? key_pair(tid, x->user.id) : key_pair(x->user.id, tid);
    struct str follow_uri = STR_NULL;
    bool had = false;
    int rc;
    if (group) {
        struct membership m;
        if ((had = membership_get(txn, tid, x->user.id, x->a, &m) == KITH_OK))
            follow_uri = m.follow_uri;
    } else {
        struct follow fl;
        if ((had = rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, x->a, &fl) == KITH_OK))
            follow_uri = fl.uri;
    }
    if (undo && !had) {
        w->noop = true;
        return KITH_OK;
    }
    if (!inbox.len)
        return refuse(w, 422, "'%.*s' has no inbox", (int)target.len, target.ptr);
    const char *turl = arena_str(x->a, target).ptr;
    uint64_t aid;
    cJSON *follow = activity_new(x->core, x->a, "Follow", x->actor, &aid);
    if (follow_uri.len) /* the same follow again: its first id */
        cJSON_ReplaceItemInObjectCaseSensitive(follow, "id",
                                               cJSON_CreateString(arena_str(x->a, follow_uri).ptr));
    const char *fid = cJSON_GetObjectItem(follow, "id")->valuestring;
    cJSON_AddStringToObject(follow, "object", turl);
    cJSON *to = cJSON_AddArrayToObject(follow, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(turl));
    cJSON *act = follow;
    if (undo) {
        cJSON_DeleteItemFromObjectCaseSensitive(follow, "@context");
        act = activity_new(x->core, x->a, "Undo", x->actor, &aid);
        cJSON *to2 = cJSON_AddArrayToObject(act, "to");
        cJSON_AddItemToArray(to2, cJSON_CreateString(turl));
        cJSON_AddItemToObject(act, "object", follow);
    }
    int64_t now = wall_seconds();
    if (undo) {
        struct key16 r = group ? key_pair(x->user.id, tid) : key_pair(tid, x->user.id);
        rc = kv_del(txn, group ? T_MEMBERS : T_FOLLOWS, KEY16(k));
        if (!rc)
            rc = kv_del(txn, group ? T_MEMBER_OF : T_FOLLOWERS, KEY16(r));
        if (rc == KITH_ENOTFOUND)
            rc = KITH_OK;
        if (!rc) /* their posts leave the home timeline */
            rc = home_unmerge(txn, x->user.id, group ? SENDER_COMMUNITY(tid) : tid);
    } else if (group) {
        struct membership m = {.community_id = tid,
                               .account_id = x->user.id,
                               .role = MEMBER_PENDING,
                               .created_at = now,
                               .updated_at = now,
                               .follow_uri = str_from(fid)};
        struct membership old;
        if (membership_get(txn, tid, x->user.id, x->a, &old) == KITH_OK) {
            m.role = old.role; /* asking again keeps what was granted */
            m.created_at = old.created_at;
        }
        rc = membership_put(txn, &m);
    } else {
        struct follow fl = {.follower_id = x->user.id,
                            .target_id = tid,
                            .state = FOLLOW_PENDING,
                            .created_at = now,
                            .uri = str_from(fid)};
        struct follow old;
        if (rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, x->a, &old) == KITH_OK)
            fl.state = old.state;
        struct key16 r = key_pair(tid, x->user.id);
        rc = rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &fl, 0);
        if (!rc)
            rc = kv_put(txn, T_FOLLOWERS, KEY16(r), STR_LIT(""), 0);
    }
    if (!rc)
        rc = delivery_schedule(txn, x->core, act, aid, x->user.id, inbox);
    cJSON_Delete(act);
    return rc;
}

/* Tells a remote follower its Follow was accepted or rejected. */
static int send_answer(struct kv_txn *txn, struct ctx *x, const char *type, const char *from,
                       uint64_t sender, const struct account *follower, struct str follow_uri,
                       const char *object)
{
    struct str inbox = follower->inbox.len ? follower->inbox : follower->shared_inbox;
    if (!follower->uri.len || !inbox.len)
        return KITH_OK;
    const char *furl = arena_str(x->a, follower->uri).ptr;
    uint64_t aid;
    cJSON *act = activity_new(x->core, x->a, type, from, &aid);
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(furl));
    cJSON *f = cJSON_AddObjectToObject(act, "object");
    if (follow_uri.len)
        cJSON_AddStringToObject(f, "id", arena_str(x->a, follow_uri).ptr);
    cJSON_AddStringToObject(f, "type", "Follow");
    cJSON_AddStringToObject(f, "actor", furl);
    cJSON_AddStringToObject(f, "object", object);
    int rc = delivery_schedule(txn, x->core, act, aid, sender, inbox);
    cJSON_Delete(act);
    return rc;
}

static int w_answer(struct kv_txn *txn, struct ctx *x)
{
    struct fed_write *w = x->w;
    bool accept = w->vote > 0;
    struct account follower;
    int rc;
    if (account_get(txn, w->target_id, x->a, &follower))
        return refuse(w, 404, "Record not found");
    if (w->community_id) {
        struct community c;
        struct membership m, mine;
        if (community_get(txn, w->community_id, x->a, &c) || c.uri.len)
            return refuse(w, 404, "Record not found");
        if (membership_get(txn, c.id, x->user.id, x->a, &mine) || mine.role < MEMBER_MODERATOR)
            return refuse(w, 403, "only moderators answer requests to join '%s'",
                          arena_str(x->a, c.name).ptr);
        if (membership_get(txn, c.id, follower.id, x->a, &m) || m.role != MEMBER_PENDING) {
            w->noop = true;
            return KITH_OK;
        }
        if (accept) {
            m.role = MEMBER_MEMBER;
            m.updated_at = wall_seconds();
            rc = membership_put(txn, &m);
            if (rc == KITH_OK && !follower.uri.len)
                rc = home_merge(txn, follower.id, SENDER_COMMUNITY(c.id), 40);
        } else {
            struct key16 k = key_pair(c.id, follower.id), r = key_pair(follower.id, c.id);
            rc = kv_del(txn, T_MEMBERS, KEY16(k));
            if (rc == KITH_OK)
                rc = kv_del(txn, T_MEMBER_OF, KEY16(r));
        }
        const char *curl = community_url(x->a, x->core, &c);
        return rc ? rc
                  : send_answer(txn, x, accept ? "Accept" : "Reject", curl, SENDER_COMMUNITY(c.id),
                                &follower, m.follow_uri, curl);
    }
    struct key16 k = key_pair(follower.id, x->user.id), r = key_pair(x->user.id, follower.id);
    struct follow f;
    if (rec_get(txn, T_FOLLOWS, KEY16(k), &follow_desc, x->a, &f) || f.state != FOLLOW_PENDING) {
        w->noop = true;
        return KITH_OK;
    }
    if (accept) {
        f.state = FOLLOW_ACCEPTED;
        rc = rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &f, 0);
        if (rc == KITH_OK && !follower.uri.len)
            rc = home_merge(txn, follower.id, x->user.id, 40);
    } else {
        rc = kv_del(txn, T_FOLLOWS, KEY16(k));
        if (rc == KITH_OK)
            rc = kv_del(txn, T_FOLLOWERS, KEY16(r));
    }
    return rc ? rc
              : send_answer(txn, x, accept ? "Accept" : "Reject", x->actor, x->user.id, &follower,
                            f.uri, x->actor);
}

static int w_follow(struct kv_txn *txn, struct ctx *x, bool undo)
{
    uint64_t tid = x->w->target_id;
    struct community c;
    struct account t;
    if (community_get(txn, tid, x->a, &c) == KITH_OK) {
        if (!c.uri.len)
            return follow_local(txn, x, undo, true, tid);
        return follow_remote(txn, x, undo, true, tid, c.uri,
                             c.inbox.len ? c.inbox : c.shared_inbox);
    }
    if (account_get(txn, tid, x->a, &t) || t.state == ACCOUNT_PENDING)
        return refuse(x->w, 404, "Record not found");
    if (!t.uri.len)
        return follow_local(txn, x, undo, false, tid);
    return follow_remote(txn, x, undo, false, tid, t.uri, t.inbox.len ? t.inbox : t.shared_inbox);
}

/* ---- pins: the person's featured collection ---- */

#define PINS_MAX 5

static int w_pin(struct kv_txn *txn, struct ctx *x, bool undo)
{
    struct fed_write *w = x->w;
    struct post t;
    struct community c;
    int rc = target(txn, x, &t, &c);
    if (rc)
        return rc;
    if (!undo && t.author_id != x->user.id)
        return refuse(w, 422, "Validation failed: you can pin only your own posts");
    if (!undo && t.visibility >= VIS_FOLLOWERS)
        return refuse(w, 422,
                      "Validation failed: followers-only and direct posts cannot be pinned");
    bool had = pin_has(txn, x->user.id, t.id);
    if (had != undo) { /* pinned twice, or unpinning what is not pinned */
        w->noop = true;
        return KITH_OK;
    }
    if (!undo && pin_count(txn, x->user.id) >= PINS_MAX)
        return refuse(w, 422, "Validation failed: you may pin at most %d statuses", PINS_MAX);
    if ((rc = pin_set(txn, x->user.id, t.id, !undo)))
        return rc;
    /* Mastodon's way: Add (Remove) the note to (from) the featured collection. */
    uint64_t aid;
    cJSON *act = activity_new(x->core, x->a, undo ? "Remove" : "Add", x->actor, &aid);
    cJSON_AddStringToObject(act, "object", post_url(x->a, x->core->cfg, &t));
    cJSON_AddStringToObject(act, "target", arena_printf(x->a, "%s/featured", x->actor));
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(AS_PUBLIC));
    rc = outbox_send_followers(txn, x->core, x->a, act, aid, x->user.id, 0);
    cJSON_Delete(act);
    return rc;
}

/* ---- blocks ---- */

static int w_block(struct kv_txn *txn, struct ctx *x, bool undo)
{
    struct fed_write *w = x->w;
    uint64_t tid = w->target_id;
    struct account t;
    struct community c;
    bool group = community_get(txn, tid, x->a, &c) == KITH_OK;
    if (!group && (account_get(txn, tid, x->a, &t) || t.state == ACCOUNT_PENDING))
        return refuse(w, 404, "Record not found");
    if (tid == x->user.id)
        return refuse(w, 422, "you cannot block yourself");
    bool had = block_has(txn, x->user.id, tid);
    if (had != undo) { /* blocking twice, or unblocking what is not blocked */
        w->noop = true;
        return KITH_OK;
    }
    int rc = block_set(txn, x->user.id, tid, !undo);
    if (rc)
        return rc;
    if (!undo) { /* follows end both ways */
        struct fed_write saved = *w;
        w->kind = FW_UNFOLLOW;
        rc = w_follow(txn, x, true);
        *w = saved;
        if (rc)
            return rc;
        if (!group) {
            struct key16 k = key_pair(tid, x->user.id), r = key_pair(x->user.id, tid);
            rc = kv_del(txn, T_FOLLOWS, KEY16(k));
            if (rc == KITH_OK)
                rc = kv_del(txn, T_FOLLOWERS, KEY16(r));
            if (rc != KITH_OK && rc != KITH_ENOTFOUND)
                return rc;
            rc = KITH_OK;
        }
    }
    if (group || !t.uri.len)
        return KITH_OK; /* local, or a community: kept here */
    struct str inbox = t.inbox.len ? t.inbox : t.shared_inbox;
    if (!inbox.len)
        return KITH_OK;
    const char *turl = arena_str(x->a, t.uri).ptr;
    uint64_t aid;
    cJSON *block = activity_new(x->core, x->a, "Block", x->actor, &aid);
    cJSON_AddStringToObject(block, "object", turl);
    cJSON *act = block;
    if (undo) {
        cJSON_DeleteItemFromObjectCaseSensitive(block, "@context");
        act = activity_new(x->core, x->a, "Undo", x->actor, &aid);
        cJSON_AddItemToObject(act, "object", block);
    }
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(turl));
    rc = delivery_schedule(txn, x->core, act, aid, x->user.id, inbox);
    cJSON_Delete(act);
    return rc;
}

/* A vote: counted here; for a remote poll, one Note per choice goes to the
 * poll's author (as Mastodon votes). */
static int w_poll_vote(struct kv_txn *txn, struct ctx *x)
{
    struct fed_write *w = x->w;
    struct post t;
    struct community c;
    struct poll_view v;
    int rc = target(txn, x, &t, &c);
    if (rc)
        return rc;
    poll_read(&t, &v);
    if (!v.n)
        return refuse(w, 404, "Record not found");
    if (poll_expired(&t, wall_seconds()))
        return refuse(w, 422, "Validation failed: the poll has already ended");
    if (t.author_id == x->user.id)
        return refuse(w, 422, "Validation failed: you cannot vote in your own poll");
    if (!w->nchoices || (!t.poll_multiple && w->nchoices > 1))
        return refuse(w, 422, "Validation failed: %s",
                      t.poll_multiple ? "choose at least one option" : "choose one option");
    for (size_t i = 0; i < w->nchoices; i++) {
        if (w->choices[i] >= v.n)
            return refuse(w, 422, "Validation failed: there is no option %u", w->choices[i]);
        for (size_t j = 0; j < i; j++)
            if (w->choices[j] == w->choices[i])
                return refuse(w, 422, "Validation failed: option %u chosen twice", w->choices[i]);
    }
    rc = poll_vote(txn, x->a, &t, x->user.id, w->choices, w->nchoices, false);
    if (rc == KITH_EEXIST)
        return refuse(w, 422, "Validation failed: you have already voted on this poll");
    if (rc || post_is_local(&t))
        return rc;
    struct account au;
    if (account_get(txn, t.author_id, x->a, &au) || (!au.inbox.len && !au.shared_inbox.len))
        return KITH_OK;
    const char *author = arena_str(x->a, au.uri).ptr, *poll = post_url(x->a, x->core->cfg, &t);
    for (size_t i = 0; i < w->nchoices && rc == KITH_OK; i++) {
        uint64_t aid;
        cJSON *act = activity_new(x->core, x->a, "Create", x->actor, &aid);
        cJSON *to = cJSON_AddArrayToObject(act, "to");
        cJSON_AddItemToArray(to, cJSON_CreateString(author));
        cJSON *note = cJSON_AddObjectToObject(act, "object");
        cJSON_AddStringToObject(note, "id",
                                arena_printf(x->a, "%s/activities/vote/%llu",
                                             x->core->cfg->public_url, (unsigned long long)aid));
        cJSON_AddStringToObject(note, "type", "Note");
        cJSON_AddStringToObject(note, "name", arena_str(x->a, v.titles[w->choices[i]]).ptr);
        cJSON_AddStringToObject(note, "attributedTo", x->actor);
        cJSON_AddStringToObject(note, "inReplyTo", poll);
        cJSON *nto = cJSON_AddArrayToObject(note, "to");
        cJSON_AddItemToArray(nto, cJSON_CreateString(author));
        rc = delivery_schedule(txn, x->core, act, aid, x->user.id,
                               au.inbox.len ? au.inbox : au.shared_inbox);
        cJSON_Delete(act);
    }
    return rc;
}

static int w_profile(struct kv_txn *txn, struct ctx *x)
{
    uint64_t aid;
    cJSON *act = activity_new(x->core, x->a, "Update", x->actor, &aid);
    cJSON *to = cJSON_AddArrayToObject(act, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(AS_PUBLIC));
    cJSON *cc = cJSON_AddArrayToObject(act, "cc");
    cJSON_AddItemToArray(cc, cJSON_CreateString(arena_printf(x->a, "%s/followers", x->actor)));
    cJSON_AddItemToObject(act, "object", person_json(x->core, x->a, &x->user));
    int rc = outbox_send_followers(txn, x->core, x->a, act, aid, x->user.id, 0);
    cJSON_Delete(act);
    return rc;
}

int federation_write(struct kv_txn *txn, void *fp, struct fed_write *w)
{
    struct federation *f = fp;
    struct arena a = ARENA_INIT;
    struct ctx x = {.f = f, .core = f->core, .w = w, .a = &a};
    int rc;
    w->status = 0;
    w->noop = false;
    w->msg[0] = 0;
    if (account_get(txn, w->user_id, &a, &x.user) || x.user.uri.len ||
        x.user.state != ACCOUNT_ACTIVE) {
        rc = refuse(w, 403, "only active local people write here");
        goto out;
    }
    x.actor =
        arena_printf(&a, "%s/u/%.*s", f->cfg->public_url, (int)x.user.name.len, x.user.name.ptr);
    switch (w->kind) {
    case FW_CREATE:
        rc = w_create(txn, &x);
        break;
    case FW_VOTE:
        rc = w_vote(txn, &x);
        break;
    case FW_EDIT:
    case FW_DELETE:
        rc = w_edit_delete(txn, &x, w->kind == FW_DELETE);
        break;
    case FW_REBLOG:
    case FW_UNREBLOG:
        rc = w_reblog(txn, &x, w->kind == FW_UNREBLOG);
        break;
    case FW_FOLLOW:
    case FW_UNFOLLOW:
        rc = w_follow(txn, &x, w->kind == FW_UNFOLLOW);
        break;
    case FW_ANSWER:
        rc = w_answer(txn, &x);
        break;
    case FW_BLOCK:
    case FW_UNBLOCK:
        rc = w_block(txn, &x, w->kind == FW_UNBLOCK);
        break;
    case FW_PROFILE:
        rc = w_profile(txn, &x);
        break;
    case FW_POLL_VOTE:
        rc = w_poll_vote(txn, &x);
        break;
    case FW_PIN:
    case FW_UNPIN:
        rc = w_pin(txn, &x, w->kind == FW_UNPIN);
        break;
    default:
        rc = refuse(w, 422, "unknown kind of write");
    }
out:
    arena_release(&a);
    return rc;
}

void federation_kick(void *fp)
{
    struct federation *f = fp;
    deliverer_kick(f->deliverer);
}
