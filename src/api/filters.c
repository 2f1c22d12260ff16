/* src/api/filters.c: keyword filters (Mastodon's filters v2): CRUD on
 * /api/v2/filters, their keywords and statuses
 * (/api/v2/filters/:id/keywords, /api/v2/filters/keywords/:id, and the
 * same for statuses), the v1 view of them (/api/v1/filters: one filter a
 * keyword, as Mastodon keeps it), and their effect on what the timelines
 * send: a status matching a filter of the timeline's context carries it
 * in `filtered` (warn, blur), or is left out (hide). Keywords match
 * case-insensitively, whole words when asked, in the status's text and
 * content warning; statuses by id (a boost's original too). */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_KEYWORDS_MAX 32
#define FILTER_KEYWORD_LEN  100
#define FILTER_STATUSES_MAX 64

static const char *const context_names[] = {"home", "notifications", "public", "thread", "account"};
static const char *const action_names[] = {"warn", "hide", "blur"};

/* The meta counter of account's filters version. */
static void version_name(uint64_t account, char name[40])
{
    snprintf(name, 40, "filters:%llu", (unsigned long long)account);
}

/* ---- keywords: lines "ID W KEYWORD" ---- */

struct keyword {
    uint64_t id;
    bool whole;
    struct str word;
};

static size_t keywords_read(struct str s, struct keyword *out, size_t max)
{
    size_t n = 0;
    const char *p = s.ptr, *end = p + s.len;
    while (p < end && n < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char *sp;
        uint64_t id = strtoull(p, &sp, 10);
        if (sp + 3 <= le && *sp == ' ') {
            out[n].id = id;
            out[n].whole = sp[1] == '1';
            out[n].word = str_make(sp + 3, (size_t)(le - sp - 3));
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

static struct str keywords_write(struct arena *a, const struct keyword *kw, size_t n)
{
    struct buf b;
    buf_init(&b, 16 << 10);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%llu %c %.*s", i ? "\n" : "", (unsigned long long)kw[i].id,
                   kw[i].whole ? '1' : '0', (int)kw[i].word.len, kw[i].word.ptr);
    struct str out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

/* ---- statuses: lines "ID STATUS" ---- */

struct fstatus {
    uint64_t id, status_id;
};

static size_t statuses_read(struct str s, struct fstatus *out, size_t max)
{
    size_t n = 0;
    const char *p = s.ptr, *end = p + s.len;
    while (p < end && n < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char *sp;
        out[n].id = strtoull(p, &sp, 10);
        if (sp < (nl ? nl : end) && *sp == ' ')
            out[n++].status_id = strtoull(sp + 1, NULL, 10);
        p = nl ? nl + 1 : end;
    }
    return n;
}

static struct str statuses_write(struct arena *a, const struct fstatus *st, size_t n)
{
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%llu %llu", i ? "\n" : "", (unsigned long long)st[i].id,
                   (unsigned long long)st[i].status_id);
    struct str out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

static cJSON *keyword_json(struct arena *a, const struct keyword *k)
{
    cJSON *kw = cJSON_CreateObject();
    cJSON_AddStringToObject(kw, "id", arena_printf(a, "%llu", (unsigned long long)k->id));
    cJSON_AddStringToObject(kw, "keyword", arena_str(a, k->word).ptr);
    cJSON_AddBoolToObject(kw, "whole_word", k->whole);
    return kw;
}

static cJSON *fstatus_json(struct arena *a, const struct fstatus *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)st->id));
    cJSON_AddStringToObject(o, "status_id",
                            arena_printf(a, "%llu", (unsigned long long)st->status_id));
    return o;
}

cJSON *api_filter_json(struct arena *a, const struct filter *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)f->id));
    cJSON_AddStringToObject(o, "title", arena_str(a, f->title).ptr);
    cJSON *ctx = cJSON_AddArrayToObject(o, "context");
    for (int i = 0; i < 5; i++)
        if (f->contexts & (1 << i))
            cJSON_AddItemToArray(ctx, cJSON_CreateString(context_names[i]));
    if (f->expires_at)
        cJSON_AddStringToObject(o, "expires_at", api_time(a, f->expires_at));
    else
        cJSON_AddNullToObject(o, "expires_at");
    cJSON_AddStringToObject(o, "filter_action", action_names[f->action < 3 ? f->action : 0]);
    cJSON *kws = cJSON_AddArrayToObject(o, "keywords");
    struct keyword k[FILTER_KEYWORDS_MAX];
    size_t n = keywords_read(f->keywords, k, FILTER_KEYWORDS_MAX);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(kws, keyword_json(a, &k[i]));
    cJSON *sts = cJSON_AddArrayToObject(o, "statuses");
    struct fstatus st[FILTER_STATUSES_MAX];
    n = statuses_read(f->statuses, st, FILTER_STATUSES_MAX);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(sts, fstatus_json(a, &st[i]));
    return o;
}

/* Mastodon's v1 Filter: one keyword of a filter. */
static cJSON *v1_json(struct arena *a, const struct filter *f, const struct keyword *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)k->id));
    cJSON_AddStringToObject(o, "phrase", arena_str(a, k->word).ptr);
    cJSON *ctx = cJSON_AddArrayToObject(o, "context");
    for (int i = 0; i < 5; i++)
        if (f->contexts & (1 << i))
            cJSON_AddItemToArray(ctx, cJSON_CreateString(context_names[i]));
    cJSON_AddBoolToObject(o, "whole_word", k->whole);
    if (f->expires_at)
        cJSON_AddStringToObject(o, "expires_at", api_time(a, f->expires_at));
    else
        cJSON_AddNullToObject(o, "expires_at");
    cJSON_AddBoolToObject(o, "irreversible", f->action == FILTER_HIDE);
    return o;
}

/* ---- matching ---- */

/* Every filter of account, expired ones too, at most max. */
static size_t api_filters_load_all(struct kv_txn *txn, uint64_t account, struct arena *a,
                                   struct filter *out, size_t max)
{
    struct kv_cursor *c;
    struct str key, val;
    struct key8 k = key_id(account);
    size_t n = 0;
    if (kv_cursor_open(txn, T_FILTERS, &c))
        return 0;
    for (int rc = kv_cursor_seek(c, KEY8(k), &key, &val);
         rc == KITH_OK && n < max && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, &val))
        if (record_decode(&filter_desc, val, a, &out[n]) == KITH_OK)
            n++;
    kv_cursor_close(c);
    return n;
}

uint64_t api_filters_version(struct kv_txn *txn, uint64_t account)
{
    char name[40];
    uint64_t n = 0;
    version_name(account, name);
    counter_get(txn, name, &n);
    return n;
}

size_t api_filters_load(struct kv_txn *txn, uint64_t account, struct arena *a, struct filter *out,
                        size_t max)
{
    int64_t now = wall_seconds();
    size_t n = api_filters_load_all(txn, account, a, out, max), live = 0;
    for (size_t i = 0; i < n; i++)
        if (!out[i].expires_at || out[i].expires_at > now)
            out[live++] = out[i];
    return live;
}

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* Does text (plain) hold word, ignoring case (whole: not inside a word)? */
static bool holds(struct str text, struct str word, bool whole)
{
    if (!word.len || word.len > text.len)
        return false;
    for (size_t i = 0; i + word.len <= text.len; i++) {
        if (strncasecmp(text.ptr + i, word.ptr, word.len) != 0)
            continue;
        if (!whole ||
            ((i == 0 || !word_char((unsigned char)text.ptr[i - 1])) &&
             (i + word.len == text.len || !word_char((unsigned char)text.ptr[i + word.len]))))
            return true;
    }
    return false;
}

/* The plain text of a status: its content warning and its content, tags out. */
static struct str plain(struct arena *a, const struct post *p)
{
    char *out = arena_alloc(a, p->summary.len + p->title.len + p->content.len + 3);
    size_t n = 0;
    memcpy(out + n, p->summary.ptr, p->summary.len);
    n += p->summary.len;
    out[n++] = '\n';
    memcpy(out + n, p->title.ptr, p->title.len);
    n += p->title.len;
    out[n++] = '\n';
    bool tag = false;
    for (size_t i = 0; i < p->content.len; i++) {
        char ch = p->content.ptr[i];
        if (ch == '<')
            tag = true;
        else if (ch == '>') {
            tag = false;
            out[n++] = ' ';
        } else if (!tag)
            out[n++] = ch;
    }
    return str_make(out, n);
}

int api_filter_apply(struct status_view *v, const struct post *p, struct buf *filtered)
{
    if (!v->nfilters || !v->context)
        return 0;
    struct str text = plain(&v->ctx->arena, p);
    int hide = 0;
    bool first = true;
    for (size_t i = 0; i < v->nfilters; i++) {
        const struct filter *f = &v->filters[i];
        if (!(f->contexts & v->context))
            continue;
        struct keyword k[FILTER_KEYWORDS_MAX];
        size_t n = keywords_read(f->keywords, k, FILTER_KEYWORDS_MAX);
        cJSON *matches = cJSON_CreateArray();
        for (size_t j = 0; j < n; j++)
            if (holds(text, k[j].word, k[j].whole))
                cJSON_AddItemToArray(matches,
                                     cJSON_CreateString(arena_str(&v->ctx->arena, k[j].word).ptr));
        struct fstatus st[FILTER_STATUSES_MAX];
        size_t ns = statuses_read(f->statuses, st, FILTER_STATUSES_MAX);
        cJSON *smatches = NULL;
        for (size_t j = 0; j < ns; j++)
            if (st[j].status_id == p->id) {
                smatches = cJSON_CreateArray();
                cJSON_AddItemToArray(smatches,
                                     cJSON_CreateString(arena_printf(&v->ctx->arena, "%llu",
                                                                     (unsigned long long)p->id)));
                break;
            }
        if (!cJSON_GetArraySize(matches) && !smatches) {
            cJSON_Delete(matches);
            continue;
        }
        if (f->action == FILTER_HIDE)
            hide = 1;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "filter", api_filter_json(&v->ctx->arena, f));
        if (cJSON_GetArraySize(matches))
            cJSON_AddItemToObject(r, "keyword_matches", matches);
        else {
            cJSON_Delete(matches);
            cJSON_AddNullToObject(r, "keyword_matches");
        }
        if (smatches)
            cJSON_AddItemToObject(r, "status_matches", smatches);
        else
            cJSON_AddNullToObject(r, "status_matches");
        char *t = cJSON_PrintUnformatted(r);
        cJSON_Delete(r);
        if (filtered && t) {
            if (!first)
                buf_add_byte(filtered, ',');
            buf_add_cstr(filtered, t);
            first = false;
        }
        free(t);
    }
    return hide;
}

/* ---- the routes ---- */

static bool own_filter(struct http_ctx *ctx, struct api_who *who, struct filter *f)
{
    uint64_t id;
    if (!api_id_param(ctx, "id", &id))
        return false;
    struct key16 k = key_pair(who->acct.id, id);
    if (rec_get(who->txn, T_FILTERS, KEY16(k), &filter_desc, &ctx->arena, f)) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static int handle_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct filter fs[64];
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    size_t n = api_filters_load(who.txn, who.acct.id, &ctx->arena, fs, 64);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, api_filter_json(&ctx->arena, &fs[i]));
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    struct filter f;
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &f))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, api_filter_json(&ctx->arena, &f));
    return HANDLER_DONE;
}

struct filter_req {
    struct filter f;
    bool remove;
};

static int apply_filter(struct kv_txn *txn, void *arg)
{
    struct filter_req *r = arg;
    struct key16 k = key_pair(r->f.account_id, r->f.id);
    int rc;
    if (r->remove)
        rc = kv_del(txn, T_FILTERS, KEY16(k));
    else if (!r->f.created_at && prefix_count(txn, T_FILTERS, r->f.account_id) >= 64)
        return KITH_ETOOBIG;
    else
        rc = rec_put(txn, T_FILTERS, KEY16(k), &filter_desc, &r->f, 0);
    /* Streams see the count move and send filters_changed. */
    char name[40];
    version_name(r->f.account_id, name);
    return rc ? rc : counter_add(txn, name, 1);
}

static void filter_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct filter_req *r = arg;
    if (rc == KITH_ETOOBIG)
        return http_reply_error(ctx, 422, "Validation failed: at most 64 filters");
    if (rc)
        return http_reply_error(ctx, 500, "the filter could not be stored: %s", kith_strerror(rc));
    http_reply_json(ctx, 200,
                    r->remove ? cJSON_CreateObject() : api_filter_json(&ctx->arena, &r->f));
}

/* title, context[], filter_action, expires_in, keywords_attributes[]; false
 * after replying 422. */
static bool read_filter(struct http_ctx *ctx, const struct api_params *p, struct filter *f,
                        bool create)
{
    struct arena *a = &ctx->arena;
    struct str title = str_trim(api_param(p, "title"));
    if (create || api_param_entry(p, "title")) {
        if (!title.len || title.len > 256)
            return http_reply_error(ctx, 422, "Validation failed: Title can't be blank"), false;
        f->title = arena_str(a, title);
    }
    if (create || api_param_entry(p, "context")) {
        uint8_t bits = 0;
        struct str c;
        for (size_t i = 0; (c = api_param_at(p, "context", i)).len; i++) {
            bool known = false;
            for (int j = 0; j < 5; j++)
                if (str_eq(c, str_from(context_names[j]))) {
                    bits |= (uint8_t)(1 << j);
                    known = true;
                }
            if (!known)
                return http_reply_error(ctx, 422,
                                        "Validation failed: context is home, "
                                        "notifications, public, thread or account"),
                       false;
        }
        if (!bits)
            return http_reply_error(ctx, 422, "Validation failed: Context can't be blank"), false;
        f->contexts = bits;
    }
    struct str act = api_param(p, "filter_action");
    if (act.len) {
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (str_eq(act, str_from(action_names[i])))
                found = i;
        if (found < 0)
            return http_reply_error(ctx, 422, "filter_action is warn, hide or blur"), false;
        f->action = (uint8_t)found;
    }
    const struct api_param *exp = api_param_entry(p, "expires_in");
    if (exp) {
        char num[24], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(exp->value.len < 23 ? exp->value.len : 23),
                 exp->value.ptr);
        long long secs = exp->value.len ? strtoll(num, &end, 10) : 0;
        if (exp->value.len && (*end || secs < 0))
            return http_reply_error(ctx, 422, "expires_in is a number of seconds"), false;
        f->expires_at = secs ? wall_seconds() + secs : 0;
    }
    /* keywords_attributes[i][keyword|whole_word|id|_destroy] */
    struct keyword kw[FILTER_KEYWORDS_MAX];
    size_t n = keywords_read(f->keywords, kw, FILTER_KEYWORDS_MAX);
    for (int i = 0; i < 64; i++) {
        char name[64];
        snprintf(name, sizeof(name), "keywords_attributes[%d][keyword]", i);
        struct str word = str_trim(api_param(p, name));
        snprintf(name, sizeof(name), "keywords_attributes[%d][id]", i);
        struct str id = api_param(p, name);
        snprintf(name, sizeof(name), "keywords_attributes[%d][_destroy]", i);
        struct str destroy = api_param(p, name);
        snprintf(name, sizeof(name), "keywords_attributes[%d][whole_word]", i);
        struct str whole = api_param(p, name);
        if (!word.len && !id.len)
            continue;
        uint64_t kid = id.len ? strtoull(arena_str(a, id).ptr, NULL, 10) : 0;
        size_t at = n;
        for (size_t j = 0; j < n && kid; j++)
            if (kw[j].id == kid)
                at = j;
        if (kid && at == n)
            return http_reply_error(ctx, 422, "no keyword %llu in this filter",
                                    (unsigned long long)kid),
                   false;
        if (str_eq(destroy, STR_LIT("true")) || str_eq(destroy, STR_LIT("1"))) {
            kw[at] = kw[--n];
            continue;
        }
        if (word.len > FILTER_KEYWORD_LEN || memchr(word.ptr, '\n', word.len))
            return http_reply_error(ctx, 422,
                                    "Validation failed: a keyword is one line of at "
                                    "most %d bytes",
                                    FILTER_KEYWORD_LEN),
                   false;
        if (at == n) {
            if (n == FILTER_KEYWORDS_MAX)
                return http_reply_error(ctx, 422, "Validation failed: at most %d keywords",
                                        FILTER_KEYWORDS_MAX),
                       false;
            if (!word.len)
                continue;
            kw[n++] = (struct keyword){idgen_next(store_ids(http_core(ctx)->st)), true, word};
        }
        if (word.len)
            kw[at].word = word;
        if (whole.len)
            kw[at].whole = str_eq(whole, STR_LIT("true")) || str_eq(whole, STR_LIT("1"));
    }
    f->keywords = keywords_write(a, kw, n);
    return true;
}

static int handle_create(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct filter_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->f =
        (struct filter){.id = idgen_next(store_ids(http_core(ctx)->st)), .account_id = who.acct.id};
    if (!read_filter(ctx, &p, &r->f, true))
        return HANDLER_DONE;
    r->f.created_at = 0; /* new: counted against the limit */
    if (http_write(ctx, apply_filter, r, filter_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_update(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct filter_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &r->f))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    if (!read_filter(ctx, &p, &r->f, false))
        return HANDLER_DONE;
    if (!r->f.created_at)
        r->f.created_at = wall_seconds();
    if (http_write(ctx, apply_filter, r, filter_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_delete(struct http_ctx *ctx)
{
    struct api_who who;
    struct filter_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &r->f))
        return HANDLER_DONE;
    r->remove = true;
    if (http_write(ctx, apply_filter, r, filter_done, r))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* ---- a filter's keywords and statuses, by their own ids ---- */

/* The filter holding keyword (keyword true) or status entry id, and the
 * entry's index; false after replying 404. */
static bool find_entry(struct http_ctx *ctx, struct api_who *who, bool keyword, struct filter *f,
                       size_t *at)
{
    uint64_t id;
    struct filter fs[64];
    if (!api_id_param(ctx, "id", &id))
        return false;
    size_t n = api_filters_load_all(who->txn, who->acct.id, &ctx->arena, fs, 64);
    for (size_t i = 0; i < n; i++) {
        struct keyword kw[FILTER_KEYWORDS_MAX];
        struct fstatus st[FILTER_STATUSES_MAX];
        size_t m = keyword ? keywords_read(fs[i].keywords, kw, FILTER_KEYWORDS_MAX)
                           : statuses_read(fs[i].statuses, st, FILTER_STATUSES_MAX);
        for (size_t j = 0; j < m; j++)
            if ((keyword ? kw[j].id : st[j].id) == id) {
                *f = fs[i];
                *at = j;
                return true;
            }
    }
    http_reply_error(ctx, 404, "Record not found");
    return false;
}

/* What a keyword or status route answers once stored. */
enum entry_reply { REPLY_KEYWORD, REPLY_STATUS, REPLY_EMPTY, REPLY_V1 };

struct entry_req {
    struct filter_req r; /* first: apply_filter takes it */
    int reply;
    size_t at;
};

/* Entry at of f as the route of reply shows it. */
static cJSON *entry_view(struct arena *a, const struct filter *f, int reply, size_t at)
{
    struct keyword kw[FILTER_KEYWORDS_MAX];
    struct fstatus st[FILTER_STATUSES_MAX];
    if (reply == REPLY_STATUS) {
        statuses_read(f->statuses, st, FILTER_STATUSES_MAX);
        return fstatus_json(a, &st[at]);
    }
    keywords_read(f->keywords, kw, FILTER_KEYWORDS_MAX);
    return reply == REPLY_V1 ? v1_json(a, f, &kw[at]) : keyword_json(a, &kw[at]);
}

static void entry_done(struct http_ctx *ctx, int rc, void *arg)
{
    struct entry_req *e = arg;
    if (rc == KITH_ETOOBIG)
        return http_reply_error(ctx, 422, "Validation failed: at most 64 filters");
    if (rc)
        return http_reply_error(ctx, 500, "the filter could not be stored: %s", kith_strerror(rc));
    http_reply_json(ctx, 200,
                    e->reply == REPLY_EMPTY ? cJSON_CreateObject()
                                            : entry_view(&ctx->arena, &e->r.f, e->reply, e->at));
}

static int submit_entry(struct http_ctx *ctx, struct entry_req *e, bool existing)
{
    if (existing && !e->r.f.created_at)
        e->r.f.created_at = wall_seconds(); /* not counted against the limit again */
    if (http_write(ctx, apply_filter, &e->r, entry_done, e))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* keyword, whole_word (update: either); false after replying 422. */
static bool read_keyword(struct http_ctx *ctx, const struct api_params *p, const char *name,
                         struct keyword *k, bool create)
{
    struct str word = str_trim(api_param(p, name));
    struct str whole = api_param(p, "whole_word");
    if (create || api_param_entry(p, name)) {
        if (!word.len || word.len > FILTER_KEYWORD_LEN || memchr(word.ptr, '\n', word.len)) {
            http_reply_error(ctx, 422, "Validation failed: %s is one line of 1 to %d bytes", name,
                             FILTER_KEYWORD_LEN);
            return false;
        }
        k->word = arena_str(&ctx->arena, word);
    }
    if (whole.len)
        k->whole = str_eq(whole, STR_LIT("true")) || str_eq(whole, STR_LIT("1"));
    return true;
}

static int handle_keyword_add(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct entry_req *e = arena_zalloc(&ctx->arena, sizeof(*e));
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &e->r.f))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct keyword kw[FILTER_KEYWORDS_MAX];
    size_t n = keywords_read(e->r.f.keywords, kw, FILTER_KEYWORDS_MAX);
    if (n == FILTER_KEYWORDS_MAX)
        return http_reply_error(ctx, 422, "Validation failed: at most %d keywords",
                                FILTER_KEYWORDS_MAX),
               HANDLER_DONE;
    kw[n] = (struct keyword){.id = idgen_next(store_ids(http_core(ctx)->st)), .whole = true};
    if (!read_keyword(ctx, &p, "keyword", &kw[n], true))
        return HANDLER_DONE;
    e->r.f.keywords = keywords_write(&ctx->arena, kw, n + 1);
    e->at = n;
    e->reply = REPLY_KEYWORD;
    return submit_entry(ctx, e, true);
}

static int handle_status_add(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct entry_req *e = arena_zalloc(&ctx->arena, sizeof(*e));
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &e->r.f))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct str sid = api_param(&p, "status_id");
    char num[24], *end;
    snprintf(num, sizeof(num), "%.*s", (int)(sid.len < 23 ? sid.len : 23), sid.ptr);
    uint64_t status_id = sid.len ? strtoull(num, &end, 10) : 0;
    struct post post;
    struct reblog r;
    if (status_id && !*end && reblog_get(who.txn, status_id, &ctx->arena, &r) == KITH_OK)
        status_id = r.post_id; /* a boost: the post it shows is what gets filtered */
    if (!status_id || *end || post_get(who.txn, status_id, &ctx->arena, &post) != KITH_OK)
        return http_reply_error(ctx, 422, "Validation failed: status_id names no status"),
               HANDLER_DONE;
    struct fstatus st[FILTER_STATUSES_MAX];
    size_t n = statuses_read(e->r.f.statuses, st, FILTER_STATUSES_MAX);
    for (size_t i = 0; i < n; i++)
        if (st[i].status_id == status_id)
            return http_reply_error(ctx, 422, "Validation failed: Status has already been taken"),
                   HANDLER_DONE;
    if (n == FILTER_STATUSES_MAX)
        return http_reply_error(ctx, 422, "Validation failed: at most %d statuses",
                                FILTER_STATUSES_MAX),
               HANDLER_DONE;
    st[n] = (struct fstatus){idgen_next(store_ids(http_core(ctx)->st)), status_id};
    e->r.f.statuses = statuses_write(&ctx->arena, st, n + 1);
    e->at = n;
    e->reply = REPLY_STATUS;
    return submit_entry(ctx, e, true);
}

/* ---- filters v1: each keyword seen as a filter of its own ---- */

/* phrase, context[], irreversible, whole_word, expires_in; false after
 * replying 422. */
static bool read_v1(struct http_ctx *ctx, const struct api_params *p, struct filter *f,
                    struct keyword *k, bool create)
{
    if (!read_keyword(ctx, p, "phrase", k, create))
        return false;
    struct str irr = api_param(p, "irreversible");
    if (irr.len)
        f->action =
            str_eq(irr, STR_LIT("true")) || str_eq(irr, STR_LIT("1")) ? FILTER_HIDE : FILTER_WARN;
    if (create)
        f->title = k->word;
    /* context[] and expires_in as filters v2 read them (title kept). */
    struct filter copy = *f;
    if (!read_filter(ctx, p, &copy, false))
        return false;
    if (create && !api_param_at(p, "context", 0).len)
        return http_reply_error(ctx, 422, "Validation failed: Context can't be blank"), false;
    f->contexts = copy.contexts;
    f->expires_at = copy.expires_at;
    return true;
}

static int handle_v1_list(struct http_ctx *ctx)
{
    struct api_who who;
    struct filter fs[64];
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    size_t n = api_filters_load(who.txn, who.acct.id, &ctx->arena, fs, 64);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        struct keyword kw[FILTER_KEYWORDS_MAX];
        size_t m = keywords_read(fs[i].keywords, kw, FILTER_KEYWORDS_MAX);
        for (size_t j = 0; j < m; j++)
            cJSON_AddItemToArray(arr, v1_json(&ctx->arena, &fs[i], &kw[j]));
    }
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

static int handle_v1_create(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct entry_req *e = arena_zalloc(&ctx->arena, sizeof(*e));
    struct keyword k = {.id = idgen_next(store_ids(http_core(ctx)->st)), .whole = true};
    e->r.f =
        (struct filter){.id = idgen_next(store_ids(http_core(ctx)->st)), .account_id = who.acct.id};
    if (!read_v1(ctx, &p, &e->r.f, &k, true))
        return HANDLER_DONE;
    e->r.f.keywords = keywords_write(&ctx->arena, &k, 1);
    e->reply = REPLY_V1;
    return submit_entry(ctx, e, false);
}

/* GET /api/v2/filters/:id/keywords or /statuses (reply says which). */
static int list_entries(struct http_ctx *ctx, int reply)
{
    struct api_who who;
    struct filter f;
    struct keyword kw[FILTER_KEYWORDS_MAX];
    struct fstatus st[FILTER_STATUSES_MAX];
    if (!api_auth(ctx, NULL, true, &who) || !own_filter(ctx, &who, &f))
        return HANDLER_DONE;
    size_t n = reply == REPLY_STATUS ? statuses_read(f.statuses, st, FILTER_STATUSES_MAX)
                                     : keywords_read(f.keywords, kw, FILTER_KEYWORDS_MAX);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, entry_view(&ctx->arena, &f, reply, i));
    http_reply_json(ctx, 200, arr);
    return HANDLER_DONE;
}

/* GET of a keyword, a status entry, or a v1 filter (a keyword), by id. */
static int get_entry(struct http_ctx *ctx, int reply)
{
    struct api_who who;
    struct filter f;
    size_t at;
    if (!api_auth(ctx, NULL, true, &who) || !find_entry(ctx, &who, reply != REPLY_STATUS, &f, &at))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, entry_view(&ctx->arena, &f, reply, at));
    return HANDLER_DONE;
}

/* DELETE of a keyword or a status entry; v1: a filter left with nothing
 * goes too (Mastodon's v1 filter is the keyword). */
static int delete_entry(struct http_ctx *ctx, bool keyword, bool v1)
{
    struct api_who who;
    struct entry_req *e = arena_zalloc(&ctx->arena, sizeof(*e));
    struct keyword kw[FILTER_KEYWORDS_MAX];
    struct fstatus st[FILTER_STATUSES_MAX];
    if (!api_auth(ctx, NULL, true, &who) || !find_entry(ctx, &who, keyword, &e->r.f, &e->at))
        return HANDLER_DONE;
    size_t n = keyword ? keywords_read(e->r.f.keywords, kw, FILTER_KEYWORDS_MAX)
                       : statuses_read(e->r.f.statuses, st, FILTER_STATUSES_MAX);
    if (keyword) {
        memmove(&kw[e->at], &kw[e->at + 1], (n - e->at - 1) * sizeof(kw[0]));
        e->r.f.keywords = keywords_write(&ctx->arena, kw, n - 1);
    } else {
        memmove(&st[e->at], &st[e->at + 1], (n - e->at - 1) * sizeof(st[0]));
        e->r.f.statuses = statuses_write(&ctx->arena, st, n - 1);
    }
    e->r.remove = v1 && !e->r.f.keywords.len && !e->r.f.statuses.len;
    e->reply = REPLY_EMPTY;
    return submit_entry(ctx, e, true);
}

/* PUT of a keyword (keyword, whole_word) or of a v1 filter (phrase,
 * whole_word, and its filter's context, irreversible, expires_in). */
static int put_keyword(struct http_ctx *ctx, bool v1)
{
    struct api_who who;
    struct api_params p;
    struct entry_req *e = arena_zalloc(&ctx->arena, sizeof(*e));
    struct keyword kw[FILTER_KEYWORDS_MAX];
    if (!api_auth(ctx, NULL, true, &who) || !find_entry(ctx, &who, true, &e->r.f, &e->at))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    size_t n = keywords_read(e->r.f.keywords, kw, FILTER_KEYWORDS_MAX);
    if (v1 ? !read_v1(ctx, &p, &e->r.f, &kw[e->at], false)
           : !read_keyword(ctx, &p, "keyword", &kw[e->at], false))
        return HANDLER_DONE;
    e->r.f.keywords = keywords_write(&ctx->arena, kw, n);
    e->reply = v1 ? REPLY_V1 : REPLY_KEYWORD;
    return submit_entry(ctx, e, true);
}

static int handle_keywords(struct http_ctx *ctx)
{
    return list_entries(ctx, REPLY_KEYWORD);
}
static int handle_keyword_get(struct http_ctx *ctx)
{
    return get_entry(ctx, REPLY_KEYWORD);
}
static int handle_keyword_put(struct http_ctx *ctx)
{
    return put_keyword(ctx, false);
}
static int handle_keyword_delete(struct http_ctx *ctx)
{
    return delete_entry(ctx, true, false);
}
static int handle_statuses(struct http_ctx *ctx)
{
    return list_entries(ctx, REPLY_STATUS);
}
static int handle_status_get(struct http_ctx *ctx)
{
    return get_entry(ctx, REPLY_STATUS);
}
static int handle_status_delete(struct http_ctx *ctx)
{
    return delete_entry(ctx, false, false);
}
static int handle_v1_get(struct http_ctx *ctx)
{
    return get_entry(ctx, REPLY_V1);
}
static int handle_v1_update(struct http_ctx *ctx)
{
    return put_keyword(ctx, true);
}
static int handle_v1_delete(struct http_ctx *ctx)
{
    return delete_entry(ctx, true, true);
}

const struct route filter_routes[] = {
    {"GET", "/api/v2/filters", handle_list, 0, "read:filters"},
    {"POST", "/api/v2/filters", handle_create, 0, "write:filters"},
    {"GET", "/api/v2/filters/{id}", handle_get, 0, "read:filters"},
    {"PUT", "/api/v2/filters/{id}", handle_update, 0, "write:filters"},
    {"DELETE", "/api/v2/filters/{id}", handle_delete, 0, "write:filters"},
    {"GET", "/api/v2/filters/{id}/keywords", handle_keywords, 0, "read:filters"},
    {"POST", "/api/v2/filters/{id}/keywords", handle_keyword_add, 0, "write:filters"},
    {"GET", "/api/v2/filters/keywords/{id}", handle_keyword_get, 0, "read:filters"},
    {"PUT", "/api/v2/filters/keywords/{id}", handle_keyword_put, 0, "write:filters"},
    {"DELETE", "/api/v2/filters/keywords/{id}", handle_keyword_delete, 0, "write:filters"},
    {"GET", "/api/v2/filters/{id}/statuses", handle_statuses, 0, "read:filters"},
    {"POST", "/api/v2/filters/{id}/statuses", handle_status_add, 0, "write:filters"},
    {"GET", "/api/v2/filters/statuses/{id}", handle_status_get, 0, "read:filters"},
    {"DELETE", "/api/v2/filters/statuses/{id}", handle_status_delete, 0, "write:filters"},
    {"GET", "/api/v1/filters", handle_v1_list, 0, "read:filters"},
    {"POST", "/api/v1/filters", handle_v1_create, 0, "write:filters"},
    {"GET", "/api/v1/filters/{id}", handle_v1_get, 0, "read:filters"},
    {"PUT", "/api/v1/filters/{id}", handle_v1_update, 0, "write:filters"},
    {"DELETE", "/api/v1/filters/{id}", handle_v1_delete, 0, "write:filters"},
};
