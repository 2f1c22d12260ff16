/* src/core/posts.c: posts, comments and notes (see posts.h). */
#include "posts.h"

#include "feeds.h"
#include "mediagc.h"
#include "webpush.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"
#include "../base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vis_names[] = {"public", "unlisted", "followers", "direct"};

const char *visibility_name(uint8_t v)
{
    return v < 4 ? vis_names[v] : "public";
}

int visibility_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, vis_names[i]) == 0)
            return i;
    return -1;
}

int post_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct post *out)
{
    struct key8 k = key_id(id);
    return rec_get(txn, T_POSTS, KEY8(k), &post_desc, a, out);
}

int post_by_ref(struct kv_txn *txn, const struct kith_config *cfg, const char *ref, struct arena *a,
                struct post *out)
{
    struct str v;
    if (!ref || !*ref || strlen(ref) > 511)
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_OBJECT_URIS, str_from(ref), &v);
    if (rc == KITH_OK) {
        if (v.len != 8)
            return KITH_ECORRUPT;
        return post_get(txn, be64_get((const unsigned char *)v.ptr), a, out);
    }
    size_t n = strlen(cfg->public_url);
    if (strncmp(ref, cfg->public_url, n) != 0)
        return KITH_ENOTFOUND;
    const char *path = ref + n;
    static const char *const kinds[] = {"post", "comment", "note"};
    for (size_t i = 0; i < 3; i++) {
        size_t kl = strlen(kinds[i]);
        if (path[0] != '/' || strncmp(path + 1, kinds[i], kl) != 0 || path[1 + kl] != '/')
            continue;
        const char *d = path + 2 + kl;
        uint64_t id = 0;
        if (!*d || strlen(d) > 19)
            return KITH_ENOTFOUND;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return KITH_ENOTFOUND;
            id = id * 10 + (uint64_t)(*d - '0');
        }
        if ((rc = post_get(txn, id, a, out)))
            return rc;
        /* Only the post's own URL names it: /comment/ID of a post does not. */
        if (!post_is_local(out) || strcmp(post_kind(out), kinds[i]) != 0)
            return KITH_ENOTFOUND;
        return KITH_OK;
    }
    return KITH_ENOTFOUND;
}

const char *post_kind(const struct post *p)
{
    if (!p->community_id)
        return "note";
    return p->parent_id ? "comment" : "post";
}

const char *post_url(struct arena *a, const struct kith_config *cfg, const struct post *p)
{
    if (p->uri.len)
        return arena_str(a, p->uri).ptr;
    return arena_printf(a, "%s/%s/%llu", cfg->public_url, post_kind(p), (unsigned long long)p->id);
}

int post_put(struct kv_txn *txn, const struct post *p)
{
    struct key8 k = key_id(p->id);
    return rec_put(txn, T_POSTS, KEY8(k), &post_desc, p, 0);
}

int post_insert(struct kv_txn *txn, struct core *core, struct post *p)
{
    struct key8 pk = key_id(p->id);
    int rc;
    if (p->uri.len) {
        if (p->uri.len > 511)
            return KITH_EINVAL;
        if ((rc = kv_put(txn, T_OBJECT_URIS, p->uri, KEY8(pk), KV_NOOVERWRITE)))
            return rc;
    }
    if ((rc = rec_put(txn, T_POSTS, KEY8(pk), &post_desc, p, KV_NOOVERWRITE)))
        return rc;
    struct key16 ak = key_pair(p->author_id, p->id);
    if ((rc = kv_put(txn, T_AUTHOR_POSTS, KEY16(ak), STR_LIT(""), 0)) ||
        (rc = post_counts_add(txn, p, 1)))
        return rc;
    if (p->community_id && !p->parent_id) {
        struct key16 ck = key_pair(p->community_id, p->id);
        if ((rc = kv_put(txn, T_COMMUNITY_POSTS, KEY16(ck), STR_LIT(""), 0)))
            return rc;
        /* The community boosts it: that boost is what members' apps show. */
        struct reblog r = {.id = idgen_next(store_ids(core->st)),
                           .post_id = p->id,
                           .community_id = p->community_id,
                           .created_at = p->created_at};
        p->boost_id = r.id;
        if ((rc = reblog_add(txn, core, &r)) || (rc = post_put(txn, p)))
            return rc;
    }
    if (p->parent_id) {
        struct key16 ch = key_pair(p->parent_id, p->id);
        if ((rc = kv_put(txn, T_POST_CHILDREN, KEY16(ch), STR_LIT(""), 0)))
            return rc;
        struct arena a = ARENA_INIT;
        struct post parent;
        rc = post_get(txn, p->parent_id, &a, &parent);
        if (rc == KITH_OK) {
            parent.replies++;
            rc = post_put(txn, &parent);
        } else if (rc == KITH_ENOTFOUND) {
            rc = KITH_OK;
        }
        arena_release(&a);
        if (rc)
            return rc;
    }
    if ((rc = home_fanout(txn, core, p)) || (rc = public_index(txn, p)))
        return rc;
    if (p->poll_titles.len && p->poll_expires_at > 0) { /* its end is told (polls_close_due) */
        struct key16 ok = key_pair((uint64_t)p->poll_expires_at, p->id);
        if ((rc = kv_put(txn, T_POLLS_OPEN, KEY16(ok), STR_LIT(""), 0)))
            return rc;
    }
    /* NodeInfo's localPosts and localComments count what was written here
     * (notes count as posts, as Mastodon's statuses do). */
    if (!post_is_local(p))
        return KITH_OK;
    return counter_add(txn, p->parent_id && p->community_id ? "local_comments" : "local_posts", 1);
}

int post_counts_add(struct kv_txn *txn, const struct post *p, int64_t delta)
{
    char name[48];
    snprintf(name, sizeof(name), "statuses:%llu", (unsigned long long)p->author_id);
    int rc = counter_add(txn, name, delta);
    if (rc == KITH_OK && p->community_id && !p->parent_id) {
        snprintf(name, sizeof(name), "posts:%llu", (unsigned long long)p->community_id);
        rc = counter_add(txn, name, delta);
    }
    return rc;
}

int post_deleted(struct kv_txn *txn, const struct post *p)
{
    int rc = post_counts_add(txn, p, -1);
    if (rc == KITH_OK)
        rc = status_change_log(txn, p->id, p->author_id, p->visibility, CHANGE_DELETE);
    /* Its uploads go a day later (core/mediagc), unless attached again. */
    for (const char *s = p->media_ids.ptr, *end = s + p->media_ids.len; rc == KITH_OK && s < end;) {
        char *next;
        uint64_t id = strtoull(s, &next, 10);
        if (next == s)
            break;
        if (id)
            rc = media_due_add(txn, id, p->deleted_at);
        s = next < end && *next == ',' ? next + 1 : next;
    }
    return rc;
}

uint64_t statuses_count(struct kv_txn *txn, uint64_t id, bool community)
{
    char name[48];
    uint64_t n = 0;
    snprintf(name, sizeof(name), "%s:%llu", community ? "posts" : "statuses",
             (unsigned long long)id);
    counter_get(txn, name, &n);
    return n;
}

void post_tombstone(struct post *p, int64_t now, bool keep)
{
    p->deleted_at = now;
    p->updated_at = now;
    if (keep)
        return; /* kept hidden: Lemmy's authors may restore (Undo Delete) */
    p->content = STR_NULL;
    p->source = STR_NULL;
    p->attachments = STR_NULL;
    p->nattachments = 0;
    p->url = STR_NULL;
    p->title = STR_NULL;
}

int notify_add(struct kv_txn *txn, struct core *core, uint64_t account_id, const char *type,
               uint64_t from_account_id, uint64_t post_id)
{
    struct arena a = ARENA_INIT;
    struct account to;
    /* One's own act tells nothing, except that one's poll ended. */
    bool local = account_id && (account_id != from_account_id || strcmp(type, "poll") == 0) &&
                 account_get(txn, account_id, &a, &to) == KITH_OK && !to.uri.len;
    struct post about;
    bool muted = local && post_id && post_get(txn, post_id, &a, &about) == KITH_OK &&
                 thread_muted(txn, account_id, &about);
    arena_release(&a);
    if (!local || muted)
        return KITH_OK; /* only local people are notified, and not from a muted conversation */
    struct notification n = {.id = idgen_next(store_ids(core->st)),
                             .account_id = account_id,
                             .type = str_from(type),
                             .from_account_id = from_account_id,
                             .post_id = post_id,
                             .created_at = wall_seconds()};
    struct key16 k = key_pair(account_id, n.id);
    int rc = rec_put(txn, T_NOTIFICATIONS, KEY16(k), &notification_desc, &n, 0);
    if (rc)
        return rc;
    /* On the phone too: Web Push to the subscriptions that want this type. */
    static const char *const says[][2] = {{"mention", " mentioned you"},
                                          {"reblog", " boosted your post"},
                                          {"favourite", " favourited your post"},
                                          {"follow", " followed you"},
                                          {"follow_request", " asked to follow you"},
                                          {"poll", ""},
                                          {"status", " posted"},
                                          {"update", " edited a post"}};
    const char *what = "";
    for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i++)
        if (strcmp(type, says[i][0]) == 0)
            what = says[i][1];
    struct account from;
    struct post p;
    char title[160], body[200] = "";
    const char *who = "Someone";
    const char *icon = arena_printf(&a, "%s/static/avatar.png", core->cfg->public_url);
    if (account_get(txn, from_account_id, &a, &from) == KITH_OK) {
        who = arena_str(&a, from.display_name.len ? from.display_name : from.name).ptr;
        if (from.avatar.len)
            icon = arena_str(&a, from.avatar).ptr;
    }
    if (strcmp(type, "poll") == 0)
        snprintf(title, sizeof(title), "A poll has ended");
    else
        snprintf(title, sizeof(title), "%s%s", who, what);
    if (post_id && post_get(txn, post_id, &a, &p) == KITH_OK) {
        size_t o = 0; /* the text, tags left out, cut short */
        bool tag = false;
        for (size_t i = 0; i < p.content.len && o < sizeof(body) - 4; i++) {
            char ch = p.content.ptr[i];
            if (ch == '<')
                tag = true;
            else if (ch == '>')
                tag = false;
            else if (!tag)
                body[o++] = ch;
        }
        while (o > 0 && ((unsigned char)body[o] & 0xC0) == 0x80 && o < sizeof(body) - 4)
            o--; /* not in the middle of a character */
        if (o > 0 && ((unsigned char)body[o - 1] & 0x80)) {
            size_t start = o - 1; /* a sequence cut at its end: drop it whole */
            while (start > 0 && ((unsigned char)body[start] & 0xC0) == 0x80)
                start--;
            unsigned char lead = (unsigned char)body[start];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (o - start < need)
                o = start;
        }
        body[o] = 0;
    }
    rc = webpush_notify(txn, core, &n, title, body, icon);
    arena_release(&a);
    return rc;
}

struct html_opts {
    const struct mention_link *m;
    size_t nm;
    const char *local_domain;
    const char *tag_base; /* NULL: hashtags stay text */
};

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* At '@': the mention "@name" or "@name@host" that links, and its length. */
static const struct mention_link *mention_at(const struct html_opts *o, const char *s, size_t left,
                                             size_t *len)
{
    size_t i = 1;
    while (i < left && (name_char(s[i]) || s[i] == '.' || s[i] == '-'))
        i++;
    while (i > 1 && (s[i - 1] == '.' || s[i - 1] == '-'))
        i--;
    struct str name = str_make(s + 1, i - 1), host = STR_NULL;
    if (i < left && s[i] == '@') {
        size_t j = i + 1;
        while (j < left && (name_char(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == ':'))
            j++;
        while (j > i + 1 && (s[j - 1] == '.' || s[j - 1] == ':' || s[j - 1] == '-'))
            j--;
        if (j > i + 1) {
            host = str_make(s + i + 1, j - i - 1);
            i = j;
        }
    }
    if (!name.len)
        return NULL;
    bool local_host = host.len && o->local_domain && str_eq_nocase(host, str_from(o->local_domain));
    for (size_t k = 0; k < o->nm; k++) {
        const struct mention_link *m = &o->m[k];
        if (!str_eq_nocase(m->name, name))
            continue;
        if (host.len ? (local_host ? m->domain.len == 0 : str_eq_nocase(m->domain, host)) : true) {
            *len = i;
            return m;
        }
    }
    return NULL;
}

/* One line of text, with http(s) URLs made into links, and mentions and
 * hashtags as Mastodon writes them. */
static void add_line(struct buf *b, const char *p, size_t n, const struct html_opts *o)
{
    size_t i = 0;
    while (i < n) {
        const char *rest = p + i;
        size_t left = n - i;
        bool word_start = i == 0 || p[i - 1] == ' ' || p[i - 1] == '(' || p[i - 1] == '\t';
        size_t ml;
        const struct mention_link *m;
        if (*rest == '@' && word_start && o->nm && (m = mention_at(o, rest, left, &ml))) {
            buf_add_cstr(b, "<span class=\"h-card\" translate=\"no\"><a href=\"");
            buf_add_html(b, str_from(m->url));
            buf_add_cstr(b, "\" class=\"u-url mention\">@<span>");
            buf_add_html(b, m->name);
            buf_add_cstr(b, "</span></a></span>");
            i += ml;
            continue;
        }
        if (*rest == '#' && word_start && o->tag_base) {
            size_t j = 1;
            bool letter = false;
            while (j < left && j < 101 && name_char(rest[j])) {
                letter |= !(rest[j] >= '0' && rest[j] <= '9');
                j++;
            }
            if (letter) {
                struct str tag = str_make(rest + 1, j - 1);
                buf_printf(b, "<a href=\"%s/tags/", o->tag_base);
                buf_add_html(b, tag);
                buf_add_cstr(b, "\" class=\"mention hashtag\" rel=\"tag\">#<span>");
                buf_add_html(b, tag);
                buf_add_cstr(b, "</span></a>");
                i += j;
                continue;
            }
        }
        bool link = (left > 8 && strncmp(rest, "https://", 8) == 0) ||
                    (left > 7 && strncmp(rest, "http://", 7) == 0);
        if (link && (i == 0 || p[i - 1] == ' ' || p[i - 1] == '(')) {
            size_t j = 0;
            while (j < left && rest[j] != ' ' && rest[j] != '<' && rest[j] != '>' && rest[j] != '"')
                j++;
            while (j > 0 && strchr(".,;:!?)", rest[j - 1]))
                j--;
            buf_add_cstr(b, "<a href=\"");
            buf_add_html(b, str_make(rest, j));
            buf_add_cstr(b, "\" rel=\"nofollow noopener noreferrer\">");
            buf_add_html(b, str_make(rest, j));
            buf_add_cstr(b, "</a>");
            i += j;
            continue;
        }
        buf_add_html(b, str_make(rest, 1));
        i++;
    }
}

static struct str to_html(struct arena *a, struct str text, const struct html_opts *o)
{
    struct buf b;
    buf_init(&b, 4u << 20);
    const char *p = text.ptr, *end = text.ptr + text.len;
    bool in_para = false, line_open = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0) {
            if (in_para)
                buf_add_cstr(&b, "</p>");
            in_para = line_open = false;
        } else {
            if (!in_para)
                buf_add_cstr(&b, "<p>");
            else if (line_open)
                buf_add_cstr(&b, "<br>");
            add_line(&b, p, n, o);
            in_para = line_open = true;
        }
        p = nl ? nl + 1 : end;
    }
    if (in_para)
        buf_add_cstr(&b, "</p>");
    struct str out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

struct str text_to_html(struct arena *a, struct str text)
{
    struct html_opts o = {0};
    return to_html(a, text, &o);
}

struct str status_html(struct arena *a, struct str text, const struct mention_link *m, size_t n,
                       const char *local_domain, const char *tag_base)
{
    struct html_opts o = {m, n, local_domain, tag_base};
    return to_html(a, text, &o);
}

static bool tag_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch >= 0x80;
}

size_t post_hashtags(struct str html, struct str *out, size_t max)
{
    size_t n = 0;
    const char *s = html.ptr, *end = html.ptr + html.len;
    while (n < max && s < end) {
        const char *a = memmem(s, (size_t)(end - s), "<a ", 3);
        if (!a)
            break;
        const char *gt = memchr(a, '>', (size_t)(end - a));
        if (!gt)
            break;
        s = gt + 1;
        struct str attrs = str_make(a, (size_t)(gt - a));
        if (!memmem(attrs.ptr, attrs.len, "hashtag", 7) &&
            !memmem(attrs.ptr, attrs.len, "rel=\"tag", 9))
            continue;
        /* The link's text without its inner tags: "#" then the name. */
        char text[TAG_MAX_LEN + 2];
        size_t tl = 0;
        const char *p = s;
        while (p < end && tl < sizeof(text) - 1) {
            if (*p == '<') {
                if (end - p >= 3 && memcmp(p, "</a", 3) == 0)
                    break;
                const char *g = memchr(p, '>', (size_t)(end - p));
                if (!g)
                    break;
                p = g + 1;
                continue;
            }
            text[tl++] = *p++;
        }
        if (tl < 2 || text[0] != '#')
            continue;
        /* The name is a slice of html: find it where the text's name starts. */
        size_t nl = 1;
        while (nl < tl && tag_char((unsigned char)text[nl]))
            nl++;
        if (nl == 1)
            continue;
        const char *at = memmem(s, (size_t)(p - s), text + 1, nl - 1);
        if (!at)
            continue;
        struct str name = str_make(at, nl - 1);
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup |= str_eq_nocase(out[i], name);
        if (!dup)
            out[n++] = name;
        s = p;
    }
    return n;
}

void poll_read(const struct post *p, struct poll_view *out)
{
    memset(out, 0, sizeof(*out));
    const char *s = p->poll_titles.ptr, *end = s + p->poll_titles.len;
    size_t max = sizeof(out->titles) / sizeof(out->titles[0]);
    while (s < end && out->n < max) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        out->titles[out->n++] = str_make(s, (size_t)((nl ? nl : end) - s));
        s = nl ? nl + 1 : end;
    }
    const char *c = p->poll_counts.ptr, *cend = c + p->poll_counts.len;
    for (size_t i = 0; i < out->n && c < cend; i++) {
        uint64_t v = 0;
        while (c < cend && *c >= '0' && *c <= '9')
            v = v * 10 + (uint64_t)(*c++ - '0');
        if (c < cend && *c == ',')
            c++;
        out->counts[i] = v;
        out->total += v;
    }
}

bool poll_expired(const struct post *p, int64_t now)
{
    return p->poll_expires_at && p->poll_expires_at <= now;
}

size_t poll_own_votes(struct kv_txn *txn, uint64_t post_id, uint64_t account_id, uint8_t *out,
                      size_t max)
{
    struct key16 k = key_pair(post_id, account_id);
    struct str v;
    if (kv_get(txn, T_POLL_VOTES, KEY16(k), &v) != KITH_OK)
        return 0;
    size_t n = v.len < max ? v.len : max;
    memcpy(out, v.ptr, n);
    return n;
}

int poll_vote(struct kv_txn *txn, struct arena *a, struct post *p, uint64_t account_id,
              const uint8_t *choices, size_t n, bool add)
{
    struct key16 k = key_pair(p->id, account_id);
    struct str old = STR_NULL;
    struct poll_view v;
    uint8_t all[64];
    size_t nall = 0;
    bool again = kv_get(txn, T_POLL_VOTES, KEY16(k), &old) == KITH_OK;
    if (again && (!p->poll_multiple || !add))
        return KITH_EEXIST;
    if (again) { /* another choice of a multiple-choice voter (one Note each) */
        nall = old.len < sizeof(all) ? old.len : sizeof(all);
        memcpy(all, old.ptr, nall);
    }
    poll_read(p, &v);
    for (size_t i = 0; i < n; i++) {
        if (choices[i] >= v.n)
            return KITH_EINVAL;
        bool had = false;
        for (size_t j = 0; j < nall; j++)
            had |= all[j] == choices[i];
        if (had || nall == sizeof(all))
            continue;
        all[nall++] = choices[i];
        v.counts[choices[i]]++;
    }
    int rc = kv_put(txn, T_POLL_VOTES, KEY16(k), str_make(all, nall), 0);
    if (rc)
        return rc;
    struct buf b;
    buf_init(&b, 512);
    for (size_t i = 0; i < v.n; i++)
        buf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)v.counts[i]);
    p->poll_counts = arena_str(a, buf_str(&b));
    buf_free(&b);
    if (!again)
        p->poll_voters++;
    rc = post_put(txn, p);
    /* A local poll's new counts go out at the end of this window, once,
     * unless its end (which tells them) comes first. */
    int64_t at = (wall_seconds() / POLL_UPDATE_SECS + 1) * POLL_UPDATE_SECS;
    if (rc == KITH_OK && post_is_local(p) && (p->poll_expires_at <= 0 || at < p->poll_expires_at)) {
        struct key16 uk = key_pair((uint64_t)at, p->id);
        rc = kv_put(txn, T_POLLS_OPEN, KEY16(uk), STR_LIT("u"), 0);
    }
    return rc;
}

bool polls_due(struct kv_txn *txn, int64_t now)
{
    return time_index_due(txn, T_POLLS_OPEN, now);
}

int polls_close_due(struct kv_txn *txn, struct core *core, int64_t now, poll_told_fn *told,
                    void *arg)
{
    uint64_t ends[64], ids[64];
    bool counts_only[64];
    size_t n = 0;
    struct kv_cursor *c;
    struct str key, val;
    int rc = kv_cursor_open(txn, T_POLLS_OPEN, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_first(c, &key, &val); rc == KITH_OK && n < 64 && key.len == 16;
         rc = kv_cursor_next(c, &key, &val)) {
        if ((int64_t)be64_get((const unsigned char *)key.ptr) > now)
            break;
        ends[n] = be64_get((const unsigned char *)key.ptr);
        counts_only[n] = val.len == 1 && val.ptr[0] == 'u';
        ids[n++] = be64_get((const unsigned char *)key.ptr + 8);
    }
    kv_cursor_close(c);
    rc = KITH_OK;
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct arena a = ARENA_INIT;
        struct post p;
        bool live = post_get(txn, ids[i], &a, &p) == KITH_OK && !p.deleted_at;
        if (live && told && post_is_local(&p))
            rc = told(txn, &p, arg);
        if (live && rc == KITH_OK && !counts_only[i]) {
            /* Its author and every voter hear that it ended (Mastodon's "poll"). */
            rc = notify_add(txn, core, p.author_id, "poll", p.author_id, p.id);
            uint64_t *voters = NULL;
            size_t nv = 0;
            if (rc == KITH_OK)
                rc = prefix_ids(txn, T_POLL_VOTES, p.id, &voters, &nv);
            for (size_t j = 0; j < nv && rc == KITH_OK; j++)
                rc = notify_add(txn, core, voters[j], "poll", p.author_id, p.id);
            free(voters);
        }
        arena_release(&a);
        struct key16 k = key_pair(ends[i], ids[i]);
        if (rc == KITH_OK)
            rc = kv_del(txn, T_POLLS_OPEN, KEY16(k));
    }
    return rc;
}

bool recipients_has(struct str recipients, struct str uri)
{
    const char *p = recipients.ptr, *end = recipients.ptr + recipients.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (str_eq(str_make(p, (size_t)(le - p)), uri))
            return true;
        p = nl ? nl + 1 : end;
    }
    return false;
}

const char *account_url(struct kv_txn *txn, struct core *core, struct arena *a, uint64_t id)
{
    struct account acct;
    if (account_get(txn, id, a, &acct))
        return NULL;
    if (acct.uri.len)
        return arena_str(a, acct.uri).ptr;
    return arena_printf(a, "%s/u/%.*s", core->cfg->public_url, (int)acct.name.len, acct.name.ptr);
}

const char *community_url(struct arena *a, struct core *core, const struct community *c)
{
    if (c->uri.len)
        return arena_str(a, c->uri).ptr;
    return arena_printf(a, "%s/c/%.*s", core->cfg->public_url, (int)c->name.len, c->name.ptr);
}

int posts_of_author_tombstone(struct kv_txn *txn, uint64_t author_id, int64_t now)
{
    uint64_t *ids;
    size_t n;
    int rc = prefix_ids(txn, T_AUTHOR_POSTS, author_id, &ids, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct arena a = ARENA_INIT;
        struct post p;
        rc = post_get(txn, ids[i], &a, &p);
        if (rc == KITH_OK && !p.deleted_at) {
            post_tombstone(&p, now, false);
            rc = post_put(txn, &p);
            if (rc == KITH_OK)
                rc = post_deleted(txn, &p);
        } else if (rc == KITH_ENOTFOUND) {
            rc = KITH_OK;
        }
        arena_release(&a);
    }
    free(ids);
    return rc;
}
