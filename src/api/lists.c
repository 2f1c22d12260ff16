/* src/api/lists.c: /api/v1/lists: a person's lists of people and
 * communities they follow, and each list's timeline (their statuses from
 * the home timeline, replies as the list's replies_policy says). An
 * exclusive list keeps its members out of the home timeline
 * (timelines.c asks list_excludes). */
#include "lists.h"
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

#define LISTS_MAX        100 /* per person */
#define LIST_MEMBERS_MAX 1000
#define LIST_TITLE_MAX   200

static const char *const replies_names[] = {"list", "followed", "none"};

static cJSON *list_json(struct arena *a, const struct list *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)l->id));
    cJSON_AddStringToObject(o, "title", arena_str(a, l->title).ptr);
    cJSON_AddStringToObject(o, "replies_policy", replies_names[l->replies < 3 ? l->replies : 0]);
    cJSON_AddBoolToObject(o, "exclusive", l->exclusive);
    return o;
}

static int list_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct list *out)
{
    struct key8 k = key_id(id);
    return rec_get(txn, T_LISTS, KEY8(k), &list_desc, a, out);
}

/* The caller's own list named by the path; replies 404 otherwise. */
static bool own_list(struct http_ctx *ctx, struct api_who *who, struct list *l)
{
    uint64_t id;
    if (!api_id_param(ctx, "id", &id))
        return false;
    if (list_get(who->txn, id, &ctx->arena, l) || l->account_id != who->acct.id) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static bool is_member(struct kv_txn *txn, uint64_t list, uint64_t account)
{
    struct key16 k = key_pair(list, account);
    struct str v;
    return kv_get(txn, T_LIST_MEMBERS, KEY16(k), &v) == KITH_OK;
}

/* ---- for the home timeline ---- */

size_t list_exclusive(struct kv_txn *txn, uint64_t account, struct arena *a, uint64_t *out,
                      size_t max)
{
    uint64_t *ids = NULL;
    size_t nids = 0, n = 0;
    prefix_ids(txn, T_ACCOUNT_LISTS, account, &ids, &nids);
    for (size_t i = 0; i < nids && n < max; i++) {
        struct list l;
        if (list_get(txn, ids[i], a, &l) == KITH_OK && l.exclusive)
            out[n++] = ids[i];
    }
    free(ids);
    return n;
}

/* Who a status in the home timeline is from: the booster of a boost (a
 * community for its own boosts), else the author. */
static uint64_t status_source(struct kv_txn *txn, struct arena *a, uint64_t status_id,
                              uint64_t post_id, struct post *p)
{
    struct reblog r;
    if (post_get(txn, post_id, a, p))
        return 0;
    if (status_id != post_id && reblog_get(txn, status_id, a, &r) == KITH_OK)
        return r.community_id ? r.community_id : r.account_id;
    return p->author_id;
}

bool list_excludes(struct kv_txn *txn, const uint64_t *lists, size_t n, uint64_t status_id,
                   uint64_t post_id, struct arena *a)
{
    struct post p;
    uint64_t who = n ? status_source(txn, a, status_id, post_id, &p) : 0;
    for (size_t i = 0; i < n && who; i++)
        if (is_member(txn, lists[i], who))
            return true;
    return false;
}

/* ---- reading ---- */

/* The caller's lists, or only those holding member (non-zero). */
static void reply_lists(struct http_ctx *ctx, struct api_who *who, uint64_t member)
{
    uint64_t *ids = NULL;
    size_t n = 0;
    cJSON *arr = cJSON_CreateArray();
    prefix_ids(who->txn, T_ACCOUNT_LISTS, who->acct.id, &ids, &n);
    for (size_t i = 0; i < n; i++) {
        struct list l;
        if ((!member || is_member(who->txn, ids[i], member)) &&
            list_get(who->txn, ids[i], &ctx->arena, &l) == KITH_OK)
            cJSON_AddItemToArray(arr, list_json(&ctx->arena, &l));
    }
    free(ids);
    http_reply_json(ctx, 200, arr);
}

static int handle_lists(struct http_ctx *ctx)
{
    struct api_who who;
    if (api_auth(ctx, "read:lists", true, &who))
        reply_lists(ctx, &who, 0);
    return HANDLER_DONE;
}

static int handle_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct list l;
    if (!api_auth(ctx, "read:lists", true, &who) || !own_list(ctx, &who, &l))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, list_json(&ctx->arena, &l));
    return HANDLER_DONE;
}

static cJSON *member_item(uint64_t id, struct str val, void *arg)
{
    (void)val;
    return api_actor(arg, id);
}

/* GET /api/v1/lists/:id/accounts */
static int handle_list_accounts(struct http_ctx *ctx)
{
    struct api_who who;
    struct list l;
    struct api_page pg;
    if (!api_auth(ctx, "read:lists", true, &who) || !own_list(ctx, &who, &l))
        return HANDLER_DONE;
    api_page_read(ctx, 40, 80, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    cJSON *arr = cJSON_CreateArray();
    api_page_index(ctx, who.txn, T_LIST_MEMBERS, l.id, &pg, arr, member_item, &v);
    status_view_done(&v);
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* GET /api/v1/accounts/:id/lists: the caller's lists holding that account. */
static int handle_account_lists(struct http_ctx *ctx)
{
    struct api_who who;
    uint64_t id;
    if (api_auth(ctx, "read:lists", true, &who) && api_id_param(ctx, "id", &id))
        reply_lists(ctx, &who, id);
    return HANDLER_DONE;
}

/* ---- the list timeline ---- */

struct list_walk {
    struct status_view *v;
    const struct api_page *pg;
    const struct list *l;
    cJSON *arr;
    size_t n, looked;
    uint64_t newest, oldest;
};

bool list_wants(struct kv_txn *txn, const struct list *l, uint64_t viewer, uint64_t status_id,
                uint64_t post_id, struct arena *a)
{
    struct post p;
    uint64_t who = status_source(txn, a, status_id, post_id, &p);
    if (!who || !is_member(txn, l->id, who))
        return false;
    if (status_id == post_id && p.parent_id && p.reply_to_author != p.author_id) {
        if (l->replies == LIST_REPLIES_NONE)
            return false;
        if (l->replies == LIST_REPLIES_LIST && !is_member(txn, l->id, p.reply_to_author))
            return false;
        if (l->replies == LIST_REPLIES_FOLLOWED &&
            !follows_accepted(txn, viewer, p.reply_to_author))
            return false;
    }
    return true;
}

static int list_step(uint64_t status_id, uint64_t post_id, void *arg)
{
    struct list_walk *w = arg;
    if (++w->looked > 50 * w->pg->limit + 500)
        return 1;
    if (!list_wants(w->v->txn, w->l, w->v->viewer, status_id, post_id, &w->v->ctx->arena))
        return 0;
    cJSON *s = api_hidden(w->v, status_id) || api_filtered_out(w->v, status_id)
                   ? NULL
                   : api_status(w->v, status_id);
    if (!s)
        return 0;
    cJSON_AddItemToArray(w->arr, s);
    w->newest = w->newest > status_id ? w->newest : status_id;
    w->oldest = !w->oldest || status_id < w->oldest ? status_id : w->oldest;
    return ++w->n >= w->pg->limit;
}

/* GET /api/v1/timelines/list/:id */
static int handle_list_timeline(struct http_ctx *ctx)
{
    struct api_who who;
    struct list l;
    struct api_page pg;
    if (!api_auth(ctx, "read:lists", true, &who) || !own_list(ctx, &who, &l))
        return HANDLER_DONE;
    api_page_read(ctx, 20, 40, &pg);
    struct status_view v;
    status_view_init(&v, ctx, who.txn, &who.acct);
    v.context = FILTER_HOME;
    struct list_walk w = {&v, &pg, &l, cJSON_CreateArray(), 0, 0, 0, 0};
    bool forward = pg.min_id && !pg.since_id;
    home_each(who.txn, who.acct.id, pg.max_id, api_page_floor(&pg), forward, list_step, &w);
    if (forward) { /* read oldest first: answered newest first */
        cJSON *rev = cJSON_CreateArray();
        while (cJSON_GetArraySize(w.arr) > 0)
            cJSON_AddItemToArray(rev,
                                 cJSON_DetachItemFromArray(w.arr, cJSON_GetArraySize(w.arr) - 1));
        cJSON_Delete(w.arr);
        w.arr = rev;
    }
    status_view_done(&v);
    if (w.n)
        api_page_link(ctx, w.newest, w.oldest);
    http_reply_json(ctx, 200, w.arr);
    return HANDLER_DONE;
}

/* ---- writing ---- */

enum list_op { LIST_CREATE, LIST_UPDATE, LIST_DELETE, LIST_ADD, LIST_REMOVE };

struct list_req {
    struct core *core;
    int op;
    struct list l;
    size_t n;
    uint64_t ids[LIST_MEMBERS_MAX];
    int status;
    char msg[200];
};

static int apply_list(struct kv_txn *txn, void *arg)
{
    struct list_req *r = arg;
    struct key8 k = key_id(r->l.id);
    struct key16 ak = key_pair(r->l.account_id, r->l.id);
    int rc = KITH_OK;
    switch (r->op) {
    case LIST_CREATE:
        if (prefix_count(txn, T_ACCOUNT_LISTS, r->l.account_id) >= LISTS_MAX) {
            r->status = 422;
            snprintf(r->msg, sizeof(r->msg), "Validation failed: at most %d lists", LISTS_MAX);
            return KITH_EINVAL;
        }
        rc = rec_put(txn, T_LISTS, KEY8(k), &list_desc, &r->l, KV_NOOVERWRITE);
        return rc ? rc : kv_put(txn, T_ACCOUNT_LISTS, KEY16(ak), STR_LIT(""), 0);
    case LIST_UPDATE:
        return rec_put(txn, T_LISTS, KEY8(k), &list_desc, &r->l, 0);
    case LIST_DELETE: {
        for (;;) { /* its members, in rounds */
            struct kv_cursor *c;
            struct str key;
            uint64_t ids[256];
            size_t n = 0;
            if ((rc = kv_cursor_open(txn, T_LIST_MEMBERS, &c)))
                return rc;
            for (int r2 = kv_cursor_seek(c, KEY8(k), &key, NULL);
                 r2 == KITH_OK && n < 256 && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
                 r2 = kv_cursor_next(c, &key, NULL))
                ids[n++] = be64_get((const unsigned char *)key.ptr + 8);
            kv_cursor_close(c);
            for (size_t i = 0; i < n; i++) {
                struct key16 mk = key_pair(r->l.id, ids[i]);
                if ((rc = kv_del(txn, T_LIST_MEMBERS, KEY16(mk))))
                    return rc;
            }
            if (n < 256)
                break;
        }
        rc = kv_del(txn, T_LISTS, KEY8(k));
        return rc ? rc : kv_del(txn, T_ACCOUNT_LISTS, KEY16(ak));
    }
    case LIST_ADD:
        for (size_t i = 0; i < r->n && rc == KITH_OK; i++) {
            struct arena a = ARENA_INIT;
            struct membership m;
            bool ok = follows_accepted(txn, r->l.account_id, r->ids[i]) ||
                      (membership_get(txn, r->ids[i], r->l.account_id, &a, &m) == KITH_OK &&
                       m.role >= MEMBER_MEMBER);
            arena_release(&a);
            if (!ok) {
                r->status = 422;
                snprintf(r->msg, sizeof(r->msg),
                         "Validation failed: you do not follow account %llu",
                         (unsigned long long)r->ids[i]);
                return KITH_EINVAL;
            }
            if (prefix_count(txn, T_LIST_MEMBERS, r->l.id) >= LIST_MEMBERS_MAX) {
                r->status = 422;
                snprintf(r->msg, sizeof(r->msg), "Validation failed: at most %d accounts in a list",
                         LIST_MEMBERS_MAX);
                return KITH_EINVAL;
            }
            struct key16 mk = key_pair(r->l.id, r->ids[i]);
            rc = kv_put(txn, T_LIST_MEMBERS, KEY16(mk), STR_LIT(""), 0);
        }
        return rc;
    case LIST_REMOVE:
        for (size_t i = 0; i < r->n && rc == KITH_OK; i++) {
            struct key16 mk = key_pair(r->l.id, r->ids[i]);
            rc = kv_del(txn, T_LIST_MEMBERS, KEY16(mk));
            rc = rc == KITH_ENOTFOUND ? KITH_OK : rc;
        }
        return rc;
    }
    return KITH_EINVAL;
}

static void list_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct list_req *r = arg;
    if (rc == KITH_EINVAL && r->msg[0])
        return http_reply_error(ctx, r->status, "%s", r->msg);
    if (rc)
        return http_reply_error(ctx, 500, "the list could not be stored: %s", kith_strerror(rc));
    if (r->op == LIST_CREATE || r->op == LIST_UPDATE)
        return http_reply_json(ctx, 200, list_json(&ctx->arena, &r->l));
    http_reply_json(ctx, 200, cJSON_CreateObject());
}

static int submit(struct http_ctx *ctx, struct list_req *r)
{
    if (http_write(ctx, apply_list, r, list_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* title, replies_policy, exclusive; false after replying 422. */
static bool read_fields(struct http_ctx *ctx, const struct api_params *p, struct list *l,
                        bool create)
{
    struct str title = str_trim(api_param(p, "title"));
    struct str pol = api_param(p, "replies_policy");
    struct str ex = api_param(p, "exclusive");
    if (create || title.len || api_param(p, "title").ptr) {
        if (!title.len || title.len > LIST_TITLE_MAX)
            return http_reply_error(ctx, 422,
                                    "Validation failed: Title can't be blank (at most "
                                    "%d bytes)",
                                    LIST_TITLE_MAX),
                   false;
        l->title = arena_str(&ctx->arena, title);
    }
    if (pol.len) {
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (str_eq(pol, str_from(replies_names[i])))
                found = i;
        if (found < 0)
            return http_reply_error(ctx, 422, "replies_policy is list, followed or none"), false;
        l->replies = (uint8_t)found;
    }
    if (ex.len)
        l->exclusive = str_eq(ex, STR_LIT("true")) || str_eq(ex, STR_LIT("1"));
    return true;
}

static int handle_create(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "write:lists", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct list_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->op = LIST_CREATE;
    r->l = (struct list){.id = idgen_next(store_ids(http_core(ctx)->st)),
                         .account_id = who.acct.id,
                         .created_at = wall_seconds()};
    if (!read_fields(ctx, &p, &r->l, true))
        return HANDLER_DONE;
    return submit(ctx, r);
}

static int handle_update(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct list_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, "write:lists", true, &who) || !own_list(ctx, &who, &r->l))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    r->op = LIST_UPDATE;
    if (!read_fields(ctx, &p, &r->l, false))
        return HANDLER_DONE;
    return submit(ctx, r);
}

static int handle_delete(struct http_ctx *ctx)
{
    struct api_who who;
    struct list_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, "write:lists", true, &who) || !own_list(ctx, &who, &r->l))
        return HANDLER_DONE;
    r->op = LIST_DELETE;
    return submit(ctx, r);
}

static int members(struct http_ctx *ctx, bool add)
{
    struct api_who who;
    struct api_params p;
    struct list_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, "write:lists", true, &who) || !own_list(ctx, &who, &r->l))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    r->op = add ? LIST_ADD : LIST_REMOVE;
    struct str s;
    for (size_t i = 0; r->n < LIST_MEMBERS_MAX && (s = api_param_at(&p, "account_ids", i)).len;
         i++) {
        char num[24], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(s.len < 23 ? s.len : 23), s.ptr);
        uint64_t id = strtoull(num, &end, 10);
        if (!id || *end)
            return http_reply_error(ctx, 422, "account_ids holds '%.*s', not an id", (int)s.len,
                                    s.ptr),
                   HANDLER_DONE;
        r->ids[r->n++] = id;
    }
    if (!r->n)
        return http_reply_error(ctx, 422, "account_ids is required"), HANDLER_DONE;
    return submit(ctx, r);
}

static int handle_add(struct http_ctx *ctx)
{
    return members(ctx, true);
}
static int handle_remove(struct http_ctx *ctx)
{
    return members(ctx, false);
}

const struct route list_routes[] = {
    {"GET", "/api/v1/lists", handle_lists, 0, "read:lists"},
    {"POST", "/api/v1/lists", handle_create, 0, "write:lists"},
    {"GET", "/api/v1/lists/{id}", handle_list, 0, "read:lists"},
    {"PUT", "/api/v1/lists/{id}", handle_update, 0, "write:lists"},
    {"DELETE", "/api/v1/lists/{id}", handle_delete, 0, "write:lists"},
    {"GET", "/api/v1/lists/{id}/accounts", handle_list_accounts, 0, "read:lists"},
    {"POST", "/api/v1/lists/{id}/accounts", handle_add, 0, "write:lists"},
    {"DELETE", "/api/v1/lists/{id}/accounts", handle_remove, 0, "write:lists"},
    {"GET", "/api/v1/timelines/list/{id}", handle_list_timeline, 0, "read:lists"},
    {"GET", "/api/v1/accounts/{id}/lists", handle_account_lists, 0, "read:lists"},
};
