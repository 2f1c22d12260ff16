/* src/api/statuses.c: /api/v1/statuses: posting, reading a thread, and
 * acting on a status (favourite, boost, bookmark, pin, edit, delete).
 *
 * Everything a person writes goes through federation_write (federation.h)
 * inside a durable write, so it federates as kithctl act's writes do; the
 * reply comes after the commit. A status that mentions a community is a
 * post in it (its first line the title, for Lemmy-style servers); a reply
 * to a community's post or comment is a comment in it; a favourite of a
 * community's post is an up vote. */
#include "../../federation/federation.h"
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX_CHARS 5000
#define TITLE_MAX_BYTES  200

/* Counts UTF-8 characters (Mastodon's limit is in characters). */
static size_t utf8_chars(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

#define URL_CHARS 23 /* a link counts this much, whatever its length (the instance says so) */

/* A status's length as Mastodon counts it: characters, a link as URL_CHARS. */
static size_t status_chars(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len;) {
        bool start = i == 0 || s.ptr[i - 1] == ' ' || s.ptr[i - 1] == '\n' || s.ptr[i - 1] == '(';
        size_t left = s.len - i;
        if (start && ((left > 8 && memcmp(s.ptr + i, "https://", 8) == 0) ||
                      (left > 7 && memcmp(s.ptr + i, "http://", 7) == 0))) {
            while (i < s.len && s.ptr[i] != ' ' && s.ptr[i] != '\n')
                i++;
            n += URL_CHARS;
            continue;
        }
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
        i++;
    }
    return n;
}

static int reply_status(struct http_ctx *ctx, struct kv_txn *txn, const struct account *viewer,
                        uint64_t id, int code)
{
    struct status_view v;
    status_view_init(&v, ctx, txn, viewer);
    cJSON *o = api_status(&v, id);
    status_view_done(&v);
    if (!o)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    http_reply_json(ctx, code, o);
    return HANDLER_DONE;
}

/* The post a status id names (a boost names the post it boosts), if the
 * viewer may see it; replies 404 otherwise. */
static bool find_post(struct http_ctx *ctx, struct api_who *who, uint64_t id, struct post *p)
{
    struct reblog r;
    struct status_view v;
    status_view_init(&v, ctx, who->txn, &who->acct);
    bool ok = (post_get(who->txn, id, &ctx->arena, p) == KITH_OK ||
               (reblog_get(who->txn, id, &ctx->arena, &r) == KITH_OK &&
                post_get(who->txn, r.post_id, &ctx->arena, p) == KITH_OK)) &&
              api_can_see(&v, p);
    status_view_done(&v);
    if (!ok)
        http_reply_error(ctx, 404, "Record not found");
    return ok;
}

/* ---- writing through the federation ---- */

struct write_req {
    void *fed;
    struct fed_write w;
    struct account user;
    struct str idem_key;     /* Idempotency-Key, or empty */
    bool reused;             /* the key's earlier post was found at apply */
    cJSON *prepared;         /* DELETE: the status as it was */
    bool media_given;        /* media_ids was sent (an edit without it keeps them) */
    uint64_t reply_id;       /* the status to answer with; 0: by kind */
    struct sched_info sched; /* scheduled_at given: kept to be published then */
};

static int apply_write(struct kv_txn *txn, void *arg)
{
    struct write_req *r = arg;
    if (r->idem_key.len &&
        idempotency_get(txn, r->user.id, r->idem_key, &r->w.post_id) == KITH_OK) {
        r->reused = true;
        return KITH_OK;
    }
    int rc = federation_write(txn, r->fed, &r->w);
    if (rc == KITH_OK && r->idem_key.len)
        rc = idempotency_put(txn, r->user.id, r->idem_key, r->w.post_id);
    return rc;
}

static void write_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct write_req *r = arg;
    struct kv_txn *txn;
    if (rc) {
        cJSON_Delete(r->prepared);
        if (rc == KITH_EINVAL && r->w.msg[0])
            http_reply_error(ctx, r->w.status ? r->w.status : 422, "%s", r->w.msg);
        else
            http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
        return;
    }
    if (!r->reused)
        federation_kick(r->fed);
    if (r->prepared) {
        http_reply_json(ctx, 200, r->prepared);
        return;
    }
    if (http_read_txn_fresh(ctx, &txn)) {
        http_reply_error(ctx, 503, "database unavailable");
        return;
    }
    uint64_t id = r->reply_id              ? r->reply_id
                  : r->w.kind == FW_REBLOG ? r->w.status_id
                                           : r->w.post_id;
    reply_status(ctx, txn, &r->user, id, 200);
}

static int submit(struct http_ctx *ctx, struct write_req *r)
{
    if (http_write(ctx, apply_write, r, write_done, r)) {
        cJSON_Delete(r->prepared);
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    }
    return HANDLER_ASYNC;
}

/* ---- scheduled: kept to be published later ---- */

static int apply_schedule(struct kv_txn *txn, void *arg)
{
    struct write_req *r = arg;
    /* The uploads must be one's own now already. */
    for (size_t i = 0; i < r->w.nmedia; i++) {
        struct media_rec m;
        struct arena a = ARENA_INIT;
        struct key8 k = key_id(r->w.media[i]);
        bool mine = rec_get(txn, T_MEDIA, KEY8(k), &media_desc, &a, &m) == KITH_OK &&
                    m.account_id == r->w.user_id;
        arena_release(&a);
        if (!mine) {
            r->w.status = 422;
            snprintf(r->w.msg, sizeof(r->w.msg), "Validation failed: media %llu is not yours",
                     (unsigned long long)r->w.media[i]);
            return KITH_EINVAL;
        }
    }
    return federation_schedule(txn, &r->w, &r->sched);
}

static void scheduled(struct http_ctx *ctx, int rc, void *arg)
{
    struct write_req *r = arg;
    struct kv_txn *txn;
    if (rc == KITH_EINVAL)
        return http_reply_error(ctx, r->w.status ? r->w.status : 422, "%s", r->w.msg);
    if (rc == KITH_ETOOBIG)
        return http_reply_error(ctx, 422,
                                "Validation failed: at most %d scheduled statuses, %d on one day",
                                SCHEDULED_MAX, SCHEDULED_MAX_A_DAY);
    if (rc)
        return http_reply_error(ctx, 500, "the status could not be stored: %s", kith_strerror(rc));
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    cJSON *kept = federation_scheduled_get(txn, r->w.user_id, r->sched.id);
    if (!kept)
        return http_reply_error(ctx, 500, "the scheduled status is gone");
    http_reply_json(ctx, 200, api_scheduled_status(ctx, txn, kept));
    cJSON_Delete(kept);
}

static int submit_scheduled(struct http_ctx *ctx, struct write_req *r)
{
    if (http_write(ctx, apply_schedule, r, scheduled, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static struct write_req *write_req_new(struct http_ctx *ctx, struct api_who *who, int kind)
{
    struct write_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->fed = http_app(ctx);
    r->user = who->acct;
    r->w.kind = kind;
    r->w.user_id = who->acct.id;
    r->w.visibility = -1;
    return r;
}

/* ---- mentions: @name, @name@host ---- */

static bool mention_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

#define RESOLVE_MAX 8 /* remote addresses looked up through WebFinger per status */

struct unknowns {
    size_t n;
    const char *v[RESOLVE_MAX];
};

/* Finds the people and communities the text mentions that kith knows:
 * people into w->to, the first community into *community (its mention's
 * place in *cm_at, *cm_len). Remote addresses kith does not hold go to
 * unknown (when not NULL), to be looked up; unknown ones stay plain text. */
static void find_mentions(struct http_ctx *ctx, struct kv_txn *txn, struct str text,
                          struct fed_write *w, uint64_t *community, size_t *cm_at, size_t *cm_len,
                          struct unknowns *unknown)
{
    const char *domain = http_core(ctx)->cfg->domain;
    *community = 0;
    for (size_t i = 0; i < text.len && w->nto < FED_MAX_MENTIONS; i++) {
        if (text.ptr[i] != '@' || (i > 0 && mention_char(text.ptr[i - 1])) ||
            (i > 0 && text.ptr[i - 1] == '@'))
            continue;
        size_t j = i + 1;
        while (j < text.len && mention_char(text.ptr[j]))
            j++;
        while (j > i + 1 && (text.ptr[j - 1] == '.' || text.ptr[j - 1] == '-'))
            j--;
        struct str name = str_make(text.ptr + i + 1, j - i - 1), host = STR_NULL;
        if (j < text.len && text.ptr[j] == '@') {
            size_t k = j + 1;
            while (k < text.len && (mention_char(text.ptr[k]) || text.ptr[k] == ':'))
                k++;
            while (k > j + 1 && (text.ptr[k - 1] == '.' || text.ptr[k - 1] == '-'))
                k--;
            host = str_make(text.ptr + j + 1, k - j - 1);
            j = k;
        }
        if (!name.len)
            continue;
        uint8_t kind;
        uint64_t id;
        int rc = !host.len || str_eq_nocase(host, str_from(domain))
                     ? name_lookup(txn, name, &kind, &id)
                     : remote_acct_lookup(txn, name, host, &kind, &id);
        struct account stub;
        if (rc == KITH_OK && kind == NAME_ACCOUNT && host.len && unknown &&
            account_get(txn, id, &ctx->arena, &stub) == KITH_OK && account_is_stub(&stub))
            rc = KITH_ENOTFOUND; /* named by an Announce only: looked up like a new one */
        if (rc == KITH_ENOTFOUND && host.len && unknown && unknown->n < RESOLVE_MAX)
            unknown->v[unknown->n++] = arena_printf(&ctx->arena, "%.*s@%.*s", (int)name.len,
                                                    name.ptr, (int)host.len, host.ptr);
        if (rc == KITH_OK && kind == NAME_COMMUNITY) {
            if (!*community) {
                *community = id;
                *cm_at = i;
                *cm_len = j - i;
            }
        } else if (rc == KITH_OK) {
            bool dup = false;
            for (size_t k = 0; k < w->nto; k++)
                dup |= w->to[k] == id;
            if (!dup)
                w->to[w->nto++] = id;
        }
        i = j - 1;
    }
}

/* A community post from a status: the mention taken out, the first line
 * the title (at most TITLE_MAX_BYTES, cut at a character). */
static const char *title_of(struct arena *a, struct str text, size_t at, size_t len)
{
    struct buf b;
    buf_init(&b, text.len + 1);
    buf_add(&b, text.ptr, at);
    buf_add(&b, text.ptr + at + len, text.len - at - len);
    struct str rest = str_trim(buf_str(&b));
    const char *nl = memchr(rest.ptr, '\n', rest.len);
    struct str line = str_trim(str_make(rest.ptr, nl ? (size_t)(nl - rest.ptr) : rest.len));
    size_t n = line.len;
    if (n > TITLE_MAX_BYTES) {
        n = TITLE_MAX_BYTES;
        while (n > 0 && ((unsigned char)line.ptr[n] & 0xC0) == 0x80)
            n--;
    }
    const char *t = arena_printf(a, "%.*s", (int)n, line.ptr);
    buf_free(&b);
    return t;
}

static bool language_ok(struct str s)
{
    if (s.len < 2 || s.len > 3)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < 'a' || s.ptr[i] > 'z')
            return false;
    return true;
}

static bool truthy(struct str s)
{
    return str_eq(s, STR_LIT("true")) || str_eq(s, STR_LIT("1")) || str_eq(s, STR_LIT("on"));
}

#define POLL_MIN_SECS 300
#define POLL_MAX_SECS 2629746

/* poll[options][], poll[expires_in], poll[multiple]; false after replying 422. */
static bool read_poll(struct http_ctx *ctx, const struct api_params *p, struct write_req *r,
                      bool edit)
{
    if (edit)
        return http_reply_error(ctx, 422,
                                "Validation failed: a poll cannot be added or changed "
                                "by an edit"),
               false;
    if (r->w.nmedia)
        return http_reply_error(ctx, 422,
                                "Validation failed: a status takes media or a poll, "
                                "not both"),
               false;
    struct buf titles;
    buf_init(&titles, 4096);
    size_t n = 0;
    struct str o;
    bool ok = true;
    const char *why = NULL;
    for (size_t i = 0; (o = api_param_at(p, "poll[options]", i)).ptr; i++, n++) {
        struct str t = str_trim(o);
        if (n == POLL_MAX_OPTIONS || !t.len || utf8_chars(t) > POLL_TITLE_MAX ||
            memchr(t.ptr, '\n', t.len)) {
            why = "a poll has 2 to 4 options of 1 to 50 characters, one line each";
            ok = false;
            break;
        }
        const char *s = titles.data ? titles.data : "", *end = s + titles.len;
        while (s < end) { /* no option twice */
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            if (str_eq(str_make(s, (size_t)((nl ? nl : end) - s)), t)) {
                why = "a poll's options differ from each other";
                ok = false;
            }
            s = nl ? nl + 1 : end;
        }
        if (!ok)
            break;
        if (titles.len)
            buf_add_byte(&titles, '\n');
        buf_add_str(&titles, t);
    }
    if (ok && n < 2) {
        why = "a poll has 2 to 4 options of 1 to 50 characters, one line each";
        ok = false;
    }
    struct str exp = api_param(p, "poll[expires_in]");
    char num[24], *end = NULL;
    snprintf(num, sizeof(num), "%.*s", (int)(exp.len < 23 ? exp.len : 23), exp.ptr);
    long long secs = exp.len ? strtoll(num, &end, 10) : 0;
    if (ok && (!exp.len || *end || secs < POLL_MIN_SECS || secs > POLL_MAX_SECS)) {
        why = "poll[expires_in] is between 300 seconds and a month";
        ok = false;
    }
    if (!ok) {
        buf_free(&titles);
        http_reply_error(ctx, 422, "Validation failed: %s", why);
        return false;
    }
    r->w.poll_titles = arena_str(&ctx->arena, buf_str(&titles)).ptr;
    buf_free(&titles);
    struct str multi = api_param(p, "poll[multiple]");
    r->w.poll_multiple = str_eq(multi, STR_LIT("true")) || str_eq(multi, STR_LIT("1"));
    struct str hide = api_param(p, "poll[hide_totals]");
    r->w.poll_hide_totals = str_eq(hide, STR_LIT("true")) || str_eq(hide, STR_LIT("1"));
    r->w.poll_expires_at = wall_seconds() + secs;
    r->sched.poll_secs = secs;
    return true;
}

/* The fields a new status and an edit share; false after replying 422. */
static bool read_text(struct http_ctx *ctx, const struct api_params *p, struct write_req *r,
                      bool edit)
{
    struct arena *a = &ctx->arena;
    struct str text = api_param(p, "status");
    struct str spoiler = api_param(p, "spoiler_text");
    struct str lang = api_param(p, "language");
    struct str mid;
    for (size_t i = 0; (mid = api_param_at(p, "media_ids", i)).len; i++) {
        char num[24], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(mid.len < 23 ? mid.len : 23), mid.ptr);
        uint64_t id = strtoull(num, &end, 10);
        if (!id || *end)
            return http_reply_error(ctx, 422,
                                    "Validation failed: media_ids holds '%.*s', not an "
                                    "id",
                                    (int)mid.len, mid.ptr),
                   false;
        if (r->w.nmedia == FED_MAX_MEDIA)
            return http_reply_error(ctx, 422, "Validation failed: at most %d attachments",
                                    FED_MAX_MEDIA),
                   false;
        r->w.media[r->w.nmedia++] = id;
    }
    r->media_given = api_param_entry(p, "media_ids") != NULL;
    if (api_param_entry(p, "poll[options]") && !read_poll(ctx, p, r, edit))
        return false;
    if (!str_trim(text).len && !r->w.nmedia && !r->w.poll_titles)
        return http_reply_error(ctx, 422, "Validation failed: Text can't be blank"), false;
    if (status_chars(text) + utf8_chars(spoiler) > STATUS_MAX_CHARS)
        return http_reply_error(ctx, 422, "Validation failed: Text character limit of %d exceeded",
                                STATUS_MAX_CHARS),
               false;
    if (lang.len && !language_ok(lang))
        return http_reply_error(ctx, 422, "Validation failed: language is not an ISO 639 code"),
               false;
    r->w.body = arena_str(a, text).ptr;
    r->w.summary = spoiler.len ? arena_str(a, spoiler).ptr : (edit ? "" : NULL);
    r->w.language = lang.len ? arena_str(a, lang).ptr : NULL;
    r->w.sensitive = truthy(api_param(p, "sensitive"));
    return true;
}

struct create_req {
    struct write_req *r;
    uint64_t community;
    size_t at, len;
    struct unknowns unknown;
    size_t next;
    bool resolved;
};

static int create_finish(struct http_ctx *ctx, struct create_req *c, struct kv_txn *txn);
static bool start_resolving(struct http_ctx *ctx, struct create_req *c);

/* POST /api/v1/statuses */
static int handle_create(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "write:statuses", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct write_req *r = write_req_new(ctx, &who, FW_CREATE);
    struct str key = http_header(ctx, "Idempotency-Key");
    if (key.len > 512)
        return http_reply_error(ctx, 422, "Idempotency-Key is longer than 512 bytes"), HANDLER_DONE;
    uint64_t earlier;
    if (key.len && idempotency_get(who.txn, who.acct.id, key, &earlier) == KITH_OK)
        return reply_status(ctx, who.txn, &who.acct, earlier, 200);
    r->idem_key = arena_str(&ctx->arena, key);
    if (!read_text(ctx, &p, r, false))
        return HANDLER_DONE;
    struct str when = api_param(&p, "scheduled_at");
    if (when.len && !api_scheduled_at(ctx, when, &r->sched.scheduled_at))
        return HANDLER_DONE;
    if (r->sched.scheduled_at > wall_seconds()) { /* else: a time past posts now (Mastodon) */
        r->sched.id = idgen_next(store_ids(http_core(ctx)->st));
        r->sched.app_id = who.token.app_id;
    } else {
        r->sched.scheduled_at = 0;
    }
    struct str vis = api_param(&p, "visibility");
    if (vis.len && (r->w.visibility = api_visibility_parse(vis)) < 0)
        return http_reply_error(ctx, 422,
                                "Validation failed: visibility is public, unlisted, "
                                "private or direct"),
               HANDLER_DONE;
    struct str reply_to = api_param(&p, "in_reply_to_id");
    if (reply_to.len) {
        char num[24];
        struct post parent;
        snprintf(num, sizeof(num), "%.*s", (int)(reply_to.len < 23 ? reply_to.len : 23),
                 reply_to.ptr);
        uint64_t pid = strtoull(num, NULL, 10);
        if (!pid || !find_post(ctx, &who, pid, &parent))
            return pid ? HANDLER_DONE
                       : (http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE);
        r->w.parent_id = parent.id;
    }
    if (r->w.visibility < 0) /* the person's default (source.privacy), as Mastodon */
        r->w.visibility = who.acct.default_visibility;
    if (!api_param(&p, "sensitive").len)
        r->w.sensitive = who.acct.default_sensitive;
    if (!r->w.language && who.acct.default_language.len)
        r->w.language = arena_str(&ctx->arena, who.acct.default_language).ptr;
    struct create_req *c = arena_zalloc(&ctx->arena, sizeof(*c));
    c->r = r;
    find_mentions(ctx, who.txn, str_from(r->w.body), &r->w, &c->community, &c->at, &c->len,
                  &c->unknown);
    if (!c->unknown.n)
        return create_finish(ctx, c, who.txn);
    /* Remote people and communities kith has not met: WebFinger first. */
    if (start_resolving(ctx, c))
        return HANDLER_ASYNC;
    return create_finish(ctx, c, who.txn);
}

/* The second half of a new status, once every mention is known. */
static int create_finish(struct http_ctx *ctx, struct create_req *c, struct kv_txn *txn)
{
    struct write_req *r = c->r;
    uint64_t community = c->community;
    size_t at = c->at, len = c->len;
    struct str text = str_from(r->w.body);
    if (c->resolved) { /* look again: the new ones are stored now */
        r->w.nto = 0;
        find_mentions(ctx, txn, text, &r->w, &community, &at, &len, NULL);
    }
    if (community && !r->w.parent_id) {
        if (r->w.visibility == VIS_DIRECT)
            return http_reply_error(ctx, 422,
                                    "Validation failed: a community takes no direct "
                                    "messages: post with another visibility"),
                   HANDLER_DONE;
        r->w.community_id = community;
        r->w.title = title_of(&ctx->arena, text, at, len);
        if (!*r->w.title)
            return http_reply_error(ctx, 422,
                                    "Validation failed: a post in a community needs "
                                    "text besides the mention (its first line is the "
                                    "title)"),
                   HANDLER_DONE;
    }
    if (r->sched.scheduled_at)
        return submit_scheduled(ctx, r);
    return submit(ctx, r);
}

static void mention_resolved(struct http_ctx *ctx, int rc, int kind, uint64_t id, void *arg)
{
    struct create_req *c = arg;
    struct kv_txn *txn;
    (void)rc, (void)kind, (void)id; /* an address nobody answers for stays text */
    c->resolved = true;
    c->next++;
    if (rc == KITH_ESTOPPED)
        return http_reply_error(ctx, 503, "the server is stopping");
    if (start_resolving(ctx, c))
        return;
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    create_finish(ctx, c, txn);
}

/* Looks the next unknown address up; false when none is left to look up. */
static bool start_resolving(struct http_ctx *ctx, struct create_req *c)
{
    while (c->next < c->unknown.n) {
        if (federation_resolve(ctx, c->unknown.v[c->next], mention_resolved, c) == KITH_OK)
            return true;
        c->next++;
    }
    return false;
}

/* GET /api/v1/statuses/:id */
static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    uint64_t id;
    if (!api_auth_optional(ctx, "read:statuses", &who) || !api_id_param(ctx, "id", &id))
        return HANDLER_DONE;
    return reply_status(ctx, who.txn, &who.acct, id, 200);
}

/* The post a write route acts on, which must be one's own (mine). */
static bool own_post(struct http_ctx *ctx, struct api_who *who, struct post *p)
{
    uint64_t id;
    if (!api_id_param(ctx, "id", &id) || !find_post(ctx, who, id, p))
        return false;
    if (p->author_id != who->acct.id) {
        http_reply_error(ctx, 403, "This action is not allowed");
        return false;
    }
    return true;
}

/* DELETE /api/v1/statuses/:id: answers the status as it was, with its
 * source text (for "delete and redraft"). */
static int handle_delete(struct http_ctx *ctx)
{
    struct api_who who;
    struct post p;
    if (!api_auth(ctx, "write:statuses", true, &who) || !own_post(ctx, &who, &p))
        return HANDLER_DONE;
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *o = api_status_post(&v, &p);
    status_view_done(&v);
    if (!o)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    cJSON_AddStringToObject(o, "text", p.source.len ? arena_str(&ctx->arena, p.source).ptr : "");
    struct write_req *r = write_req_new(ctx, &who, FW_DELETE);
    r->w.target_id = p.id;
    r->prepared = o;
    return submit(ctx, r);
}

/* PUT /api/v1/statuses/:id */
static int handle_edit(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct post post;
    if (!api_auth(ctx, "write:statuses", true, &who) || !own_post(ctx, &who, &post))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct write_req *r = write_req_new(ctx, &who, FW_EDIT);
    r->w.target_id = post.id;
    if (!read_text(ctx, &p, r, true))
        return HANDLER_DONE;
    if (!r->media_given) { /* the attachments stay */
        const char *s = post.media_ids.ptr, *end = s + post.media_ids.len;
        while (s < end && r->w.nmedia < FED_MAX_MEDIA) {
            r->w.media[r->w.nmedia++] = strtoull(s, NULL, 10);
            const char *comma = memchr(s, ',', (size_t)(end - s));
            s = comma ? comma + 1 : end;
        }
    }
    uint64_t community;
    size_t at = 0, len = 0;
    find_mentions(ctx, who.txn, str_from(r->w.body), &r->w, &community, &at, &len, NULL);
    if (post.title.len && community == post.community_id)
        r->w.title = title_of(&ctx->arena, str_from(r->w.body), at, len);
    return submit(ctx, r);
}

/* POST .../favourite, unfavourite, reblog, unreblog */
static int act(struct http_ctx *ctx, const char *scope, int kind, int vote)
{
    struct api_who who;
    struct post p;
    uint64_t id;
    if (!api_auth(ctx, scope, true, &who) || !api_id_param(ctx, "id", &id) ||
        !find_post(ctx, &who, id, &p))
        return HANDLER_DONE;
    struct write_req *r = write_req_new(ctx, &who, kind);
    r->w.target_id = p.id;
    r->w.vote = vote;
    if (kind == FW_VOTE && vote == 0) {
        /* Unfavouriting takes back an up vote only, never a down vote. */
        struct key16 k = key_pair(p.id, who.acct.id);
        struct vote old;
        if (rec_get(who.txn, T_VOTES, KEY16(k), &vote_desc, &ctx->arena, &old) != KITH_OK ||
            old.value < 0)
            return reply_status(ctx, who.txn, &who.acct, p.id, 200);
    }
    if (kind == FW_UNREBLOG)
        r->reply_id = p.id;
    return submit(ctx, r);
}

static int handle_favourite(struct http_ctx *ctx)
{
    return act(ctx, "write:favourites", FW_VOTE, 1);
}
static int handle_unfavourite(struct http_ctx *ctx)
{
    return act(ctx, "write:favourites", FW_VOTE, 0);
}
static int handle_reblog(struct http_ctx *ctx)
{
    return act(ctx, "write:statuses", FW_REBLOG, 0);
}
static int handle_unreblog(struct http_ctx *ctx)
{
    return act(ctx, "write:statuses", FW_UNREBLOG, 0);
}

/* ---- bookmarks and muted conversations: one's own, never federated; pins ---- */

enum mark_kind { MARK_BOOKMARK, MARK_MUTE };

struct mark_req {
    struct core *core;
    uint64_t account_id, post_id;
    bool on;
    int kind;
    struct account user;
    uint64_t root; /* MARK_MUTE: the thread */
};

static int apply_mark(struct kv_txn *txn, void *arg)
{
    struct mark_req *m = arg;
    if (m->kind == MARK_MUTE)
        return thread_mute_set(txn, m->account_id, m->root, m->on);
    return bookmark_set(txn, m->core, m->account_id, m->post_id, m->on);
}

static void mark_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct mark_req *m = arg;
    struct kv_txn *txn;
    if (rc)
        return http_reply_error(ctx, 500, "the change could not be stored: %s", kith_strerror(rc));
    if (http_read_txn_fresh(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable");
    reply_status(ctx, txn, &m->user, m->post_id, 200);
}

static int mark(struct http_ctx *ctx, int kind, bool on)
{
    static const char *const scopes[] = {"write:bookmarks", "write:mutes"};
    struct api_who who;
    struct post p;
    uint64_t id;
    if (!api_auth(ctx, scopes[kind], true, &who) || !api_id_param(ctx, "id", &id) ||
        !find_post(ctx, &who, id, &p))
        return HANDLER_DONE;
    struct mark_req *m = arena_zalloc(&ctx->arena, sizeof(*m));
    *m = (struct mark_req){http_core(ctx), who.acct.id, p.id, on, kind, who.acct, thread_root(&p)};
    if (http_write(ctx, apply_mark, m, mark_done, m))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_bookmark(struct http_ctx *ctx)
{
    return mark(ctx, MARK_BOOKMARK, true);
}
static int handle_unbookmark(struct http_ctx *ctx)
{
    return mark(ctx, MARK_BOOKMARK, false);
}
/* Pins federate: Add (Remove) to the person's featured collection. */
static int handle_pin(struct http_ctx *ctx)
{
    return act(ctx, "write:accounts", FW_PIN, 0);
}
static int handle_unpin(struct http_ctx *ctx)
{
    return act(ctx, "write:accounts", FW_UNPIN, 0);
}
/* POST /api/v1/statuses/:id/mute, /unmute: the status's conversation. */
static int handle_mute(struct http_ctx *ctx)
{
    return mark(ctx, MARK_MUTE, true);
}
static int handle_unmute(struct http_ctx *ctx)
{
    return mark(ctx, MARK_MUTE, false);
}

/* ---- threads ---- */

#define CONTEXT_MAX 4096

struct walk {
    uint64_t *ids;
    size_t n, cap;
};

static void walk_add(struct walk *w, uint64_t id)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->ids = realloc(w->ids, w->cap * sizeof(*w->ids));
        if (!w->ids)
            abort();
    }
    w->ids[w->n++] = id;
}

/* Depth first, oldest reply first, as Mastodon orders descendants. */
static void descendants(struct kv_txn *txn, uint64_t id, struct walk *w, int depth)
{
    struct kv_cursor *c;
    struct str key;
    struct key8 k = key_id(id);
    struct walk kids = {0};
    if (depth > 256 || kv_cursor_open(txn, T_POST_CHILDREN, &c))
        return;
    for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
         rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, NULL))
        walk_add(&kids, be64_get((const unsigned char *)key.ptr + 8));
    kv_cursor_close(c);
    for (size_t i = 0; i < kids.n && w->n < CONTEXT_MAX; i++) {
        walk_add(w, kids.ids[i]);
        descendants(txn, kids.ids[i], w, depth + 1);
    }
    free(kids.ids);
}

/* GET /api/v1/statuses/:id/context */
static int handle_context(struct http_ctx *ctx)
{
    struct api_who who;
    struct post p;
    uint64_t id;
    if (!api_auth_optional(ctx, "read:statuses", &who) || !api_id_param(ctx, "id", &id) ||
        !find_post(ctx, &who, id, &p))
        return HANDLER_DONE;
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_THREAD;
    cJSON *o = cJSON_CreateObject();
    cJSON *anc = cJSON_AddArrayToObject(o, "ancestors");
    struct walk up = {0}, down = {0};
    for (uint64_t pid = p.parent_id; pid && up.n < 256;) {
        struct post q;
        if (post_get(who.txn, pid, &ctx->arena, &q))
            break;
        walk_add(&up, q.id);
        pid = q.parent_id;
    }
    for (size_t i = up.n; i-- > 0;) {
        cJSON *s = api_filtered_out(&v, up.ids[i]) ? NULL : api_status(&v, up.ids[i]);
        if (s)
            cJSON_AddItemToArray(anc, s);
    }
    cJSON *desc = cJSON_AddArrayToObject(o, "descendants");
    descendants(who.txn, p.id, &down, 0);
    for (size_t i = 0; i < down.n; i++) {
        cJSON *s = api_filtered_out(&v, down.ids[i]) ? NULL : api_status(&v, down.ids[i]);
        if (s)
            cJSON_AddItemToArray(desc, s);
    }
    free(up.ids);
    free(down.ids);
    status_view_done(&v);
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

/* GET /api/v1/statuses/:id/source */
static int handle_source(struct http_ctx *ctx)
{
    struct api_who who;
    struct post p;
    if (!api_auth(ctx, "read:statuses", true, &who) || !own_post(ctx, &who, &p))
        return HANDLER_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(&ctx->arena, "%llu", (unsigned long long)p.id));
    cJSON_AddStringToObject(o, "text", p.source.len ? arena_str(&ctx->arena, p.source).ptr : "");
    cJSON_AddStringToObject(o, "spoiler_text",
                            p.summary.len ? arena_str(&ctx->arena, p.summary).ptr : "");
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

static cJSON *edit_json(struct status_view *v, const struct post *p)
{
    cJSON *s = api_status_post(v, p);
    if (!s)
        return NULL;
    cJSON *e = cJSON_CreateObject();
    static const char *const keep[] = {"content",           "spoiler_text", "sensitive", "account",
                                       "media_attachments", "emojis",       "poll"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        cJSON *f = cJSON_DetachItemFromObjectCaseSensitive(s, keep[i]);
        if (f && !cJSON_IsNull(f))
            cJSON_AddItemToObject(e, keep[i], f);
        else
            cJSON_Delete(f);
    }
    cJSON_AddStringToObject(e, "created_at", api_time(&v->ctx->arena, p->updated_at));
    cJSON_Delete(s);
    return e;
}

/* GET /api/v1/statuses/:id/history: every version, oldest first. */
static int handle_history(struct http_ctx *ctx)
{
    struct api_who who;
    struct post p;
    uint64_t id;
    if (!api_auth_optional(ctx, "read:statuses", &who) || !api_id_param(ctx, "id", &id) ||
        !find_post(ctx, &who, id, &p))
        return HANDLER_DONE;
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    struct kv_cursor *c;
    struct str key, val;
    struct key8 k = key_id(p.id);
    if (kv_cursor_open(who.txn, T_POST_EDITS, &c) == KITH_OK) {
        for (int rc = kv_cursor_seek(c, KEY8(k), &key, &val);
             rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(c, &key, &val)) {
            struct post old;
            cJSON *e;
            if (record_decode(&post_desc, val, &ctx->arena, &old) == KITH_OK &&
                (e = edit_json(&v, &old)))
                cJSON_AddItemToArray(arr, e);
        }
        kv_cursor_close(c);
    }
    cJSON *now = edit_json(&v, &p);
    if (now)
        cJSON_AddItemToArray(arr, now);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* GET .../favourited_by and .../reblogged_by: accounts, paged by id. */
struct acted {
    struct status_view *v;
    bool reblogs;
};

/* A person who favourited (an up vote) or boosted (not a community's boost). */
static cJSON *acted_item(uint64_t id, struct str val, void *arg)
{
    struct acted *x = arg;
    struct vote vote;
    if (SENDER_IS_COMMUNITY(id))
        return NULL;
    if (!x->reblogs &&
        (record_decode(&vote_desc, val, &x->v->ctx->arena, &vote) || vote.value <= 0))
        return NULL;
    return api_actor(x->v, id);
}

static int who_acted(struct http_ctx *ctx, bool reblogs)
{
    struct api_who who;
    struct post p;
    uint64_t id;
    struct api_page pg;
    if (!api_auth_optional(ctx, "read:accounts", &who) || !api_id_param(ctx, "id", &id) ||
        !find_post(ctx, &who, id, &p))
        return HANDLER_DONE;
    api_page_read(ctx, 40, 80, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    struct acted x = {&v, reblogs};
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, reblogs ? T_POST_REBLOGS : T_VOTES, p.id, &pg, arr, acted_item,
                   &x);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_favourited_by(struct http_ctx *ctx)
{
    return who_acted(ctx, false);
}
static int handle_reblogged_by(struct http_ctx *ctx)
{
    return who_acted(ctx, true);
}

/* ---- bookmarks ---- */

/* GET /api/v1/bookmarks and /favourites: newest first, paged by the
 * bookmark's or favourite's own id. */
static cJSON *kept_item(uint64_t id, struct str val, void *arg)
{
    (void)id;
    return val.len == 8 ? api_status(arg, be64_get((const unsigned char *)val.ptr)) : NULL;
}

static int kept_list(struct http_ctx *ctx, const char *scope, unsigned table)
{
    struct api_who who;
    struct api_page pg;
    if (!api_auth(ctx, scope, true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, table, who.acct.id, &pg, arr, kept_item, &v);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_bookmarks(struct http_ctx *ctx)
{
    return kept_list(ctx, "read:bookmarks", T_BOOKMARK_LIST);
}

/* GET /api/v1/favourites: newest favourite first, paged by favourite id. */
static int handle_favourites(struct http_ctx *ctx)
{
    return kept_list(ctx, "read:favourites", T_FAVOURITES);
}

const struct route status_routes[] = {
    {"POST", "/api/v1/statuses", handle_create, 0, "write:statuses"},
    {"GET", "/api/v1/statuses/{id}", handle_get, 0, "read:statuses"},
    {"DELETE", "/api/v1/statuses/{id}", handle_delete, 0, "write:statuses"},
    {"PUT", "/api/v1/statuses/{id}", handle_edit, 0, "write:statuses"},
    {"GET", "/api/v1/statuses/{id}/context", handle_context, 0, "read:statuses"},
    {"GET", "/api/v1/statuses/{id}/source", handle_source, 0, "read:statuses"},
    {"GET", "/api/v1/statuses/{id}/history", handle_history, 0, "read:statuses"},
    {"GET", "/api/v1/statuses/{id}/favourited_by", handle_favourited_by, 0, "read:accounts"},
    {"GET", "/api/v1/statuses/{id}/reblogged_by", handle_reblogged_by, 0, "read:accounts"},
    {"POST", "/api/v1/statuses/{id}/favourite", handle_favourite, 0, "write:favourites"},
    {"POST", "/api/v1/statuses/{id}/unfavourite", handle_unfavourite, 0, "write:favourites"},
    {"POST", "/api/v1/statuses/{id}/reblog", handle_reblog, 0, "write:statuses"},
    {"POST", "/api/v1/statuses/{id}/unreblog", handle_unreblog, 0, "write:statuses"},
    {"POST", "/api/v1/statuses/{id}/bookmark", handle_bookmark, 0, "write:bookmarks"},
    {"POST", "/api/v1/statuses/{id}/mute", handle_mute, 0, "write:mutes"},
    {"POST", "/api/v1/statuses/{id}/unmute", handle_unmute, 0, "write:mutes"},
    {"POST", "/api/v1/statuses/{id}/unbookmark", handle_unbookmark, 0, "write:bookmarks"},
    {"POST", "/api/v1/statuses/{id}/pin", handle_pin, 0, "write:accounts"},
    {"POST", "/api/v1/statuses/{id}/unpin", handle_unpin, 0, "write:accounts"},
    {"GET", "/api/v1/bookmarks", handle_bookmarks, 0, "read:bookmarks"},
    {"GET", "/api/v1/favourites", handle_favourites, 0, "read:favourites"},
};
