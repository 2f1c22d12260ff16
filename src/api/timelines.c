/* src/api/timelines.c: /api/v1/timelines: home (the person's index,
 * written when statuses arrive), public (local, remote, only_media) and
 * tag (any[], all[], none[] too), all with Mastodon's paging. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "lists.h"
#include "page.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#define TAGS_MAX 8

struct walk {
    struct status_view *v;
    const struct api_page *pg;
    struct buf out;  /* the statuses as JSON text, comma-separated */
    size_t ends[40]; /* where each status ends in out (a forward page is reversed) */
    size_t n, looked;
    uint64_t newest, oldest;
    /* public and tag timelines */
    bool remote_only, local_only, media_only; /* by the index's origin byte */
    /* home: the exclusive lists, whose members stay out */
    size_t nexclusive;
    uint64_t exclusive[16];
    size_t nall, nnone;
    struct str all[TAGS_MAX], none[TAGS_MAX];
};

/* Adds status_id to the page; non-zero when the page is full. */
static int add(struct walk *w, uint64_t status_id)
{
    if (++w->looked > 20 * w->pg->limit + 200)
        return 1; /* mostly deleted or hidden: stop looking */
    if (api_hidden(w->v, status_id) || api_filtered_out(w->v, status_id))
        return 0;
    size_t mark = w->out.len;
    if (w->n)
        buf_add_byte(&w->out, ',');
    if (!api_status_text(w->v, status_id, &w->out)) {
        w->out.len = mark;
        return 0;
    }
    w->ends[w->n] = w->out.len;
    w->newest = w->newest > status_id ? w->newest : status_id;
    w->oldest = !w->oldest || status_id < w->oldest ? status_id : w->oldest;
    return ++w->n >= w->pg->limit;
}

/* Sends the page: "[" statuses "]", newest first (a min_id page was read
 * oldest first: its items are put back in order). */
static void reply_page(struct http_ctx *ctx, struct walk *w, bool forward)
{
    struct buf page;
    buf_init(&page, w->out.len + 64);
    buf_add_byte(&page, '[');
    if (forward) {
        for (size_t i = w->n; i-- > 0;) {
            size_t start = i ? w->ends[i - 1] + 1 : 0; /* after the comma */
            if (page.len > 1)
                buf_add_byte(&page, ',');
            buf_add(&page, w->out.data + start, w->ends[i] - start);
        }
    } else {
        buf_add_str(&page, buf_str(&w->out));
    }
    buf_add_byte(&page, ']');
    status_view_done(w->v);
    if (w->n)
        api_page_link(ctx, w->newest, w->oldest);
    http_reply_raw(ctx, 200, "application/json; charset=utf-8", buf_str(&page));
    buf_free(&page);
    buf_free(&w->out);
}

static int home_step(uint64_t status_id, uint64_t post_id, void *arg)
{
    struct walk *w = arg;
    if (w->nexclusive && list_excludes(w->v->txn, w->exclusive, w->nexclusive, status_id, post_id,
                                       &w->v->ctx->arena))
        return 0;
    return add(w, status_id);
}

/* GET /api/v1/timelines/home */
static int handle_home(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    struct status_view v;
    if (!api_auth(ctx, "read:statuses", true, &who))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_HOME;
    struct walk w = {.v = &v, .pg = &pg};
    buf_init(&w.out, 8u << 20);
    w.nexclusive = list_exclusive(who.txn, who.acct.id, &ctx->arena, w.exclusive, 16);
    bool forward = pg.min_id && !pg.since_id;
    home_each(who.txn, who.acct.id, pg.max_id, api_page_floor(&pg), forward, home_step, &w);
    reply_page(ctx, &w, forward);
    return HANDLER_DONE;
}

/* A post of a public or tag timeline, if the filters keep it. */
static int public_step(uint64_t id, struct str val, void *arg)
{
    struct walk *w = arg;
    bool remote = val.len == 1 && val.ptr[0] == 1;
    if ((w->remote_only && !remote) || (w->local_only && remote))
        return 0;
    if (w->media_only || w->nall || w->nnone) {
        struct post p;
        if (post_get(w->v->txn, id, &w->v->ctx->arena, &p))
            return 0;
        if (w->media_only && !p.nattachments)
            return 0;
        struct str tags[16];
        size_t n = post_hashtags(p.content, tags, 16);
        for (size_t i = 0; i < w->nall; i++) {
            bool has = false;
            for (size_t j = 0; j < n; j++)
                has |= str_eq_nocase(tags[j], w->all[i]);
            if (!has)
                return 0;
        }
        for (size_t i = 0; i < w->nnone; i++)
            for (size_t j = 0; j < n; j++)
                if (str_eq_nocase(tags[j], w->none[i]))
                    return 0;
    }
    return add(w, id);
}

static bool flag(struct http_ctx *ctx, const char *name)
{
    struct str v = http_query(ctx, name);
    return str_eq(v, STR_LIT("true")) || str_eq(v, STR_LIT("1"));
}

/* GET /api/v1/timelines/public */
static int handle_public(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    struct status_view v;
    if (!api_auth_optional(ctx, "read:statuses", &who))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_PUBLIC;
    struct walk w = {.v = &v, .pg = &pg};
    buf_init(&w.out, 8u << 20);
    bool local = flag(ctx, "local");
    w.remote_only = !local && flag(ctx, "remote");
    w.media_only = flag(ctx, "only_media");
    bool forward = pg.min_id && !pg.since_id;
    index_each(who.txn, local ? T_PUBLIC_LOCAL : T_PUBLIC, STR_NULL, pg.max_id, api_page_floor(&pg),
               forward, public_step, &w);
    reply_page(ctx, &w, forward);
    return HANDLER_DONE;
}

/* GET /api/v1/timelines/tag/:hashtag, with all[] and none[] as filters
 * (any[] is not read yet). */
static int handle_tag(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_page pg;
    struct api_params p;
    struct status_view v;
    if (!api_auth_optional(ctx, "read:statuses", &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request does not parse"), HANDLER_DONE;
    struct str tag = route_param(&ctx->params, "hashtag"), decoded;
    if (http_pct_decode(&ctx->arena, tag, &decoded) || !decoded.len || decoded.len > TAG_MAX_LEN)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_PUBLIC;
    struct walk w = {.v = &v, .pg = &pg};
    buf_init(&w.out, 8u << 20);
    bool local = flag(ctx, "local");
    w.remote_only = !local && flag(ctx, "remote");
    w.media_only = flag(ctx, "only_media");
    for (struct str t; w.nall < TAGS_MAX && (t = api_param_at(&p, "all", w.nall)).len;)
        w.all[w.nall++] = t;
    for (struct str t; w.nnone < TAGS_MAX && (t = api_param_at(&p, "none", w.nnone)).len;)
        w.none[w.nnone++] = t;
    w.local_only = local;
    bool forward = pg.min_id && !pg.since_id;
    tag_each(who.txn, decoded, pg.max_id, api_page_floor(&pg), forward, public_step, &w);
    reply_page(ctx, &w, forward);
    return HANDLER_DONE;
}

const struct route timeline_routes[] = {
    {"GET", "/api/v1/timelines/home", handle_home, 0, "read:statuses"},
    {"GET", "/api/v1/timelines/public", handle_public, 0, "read:statuses"},
    {"GET", "/api/v1/timelines/tag/{hashtag}", handle_tag, 0, "read:statuses"},
};
