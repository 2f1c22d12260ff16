/* src/api/filters.c: keyword filters (Mastodon's filters v2): CRUD on
 * /api/v2/filters, and their effect on what the timelines send: a status
 * matching a filter of the timeline's context carries it in `filtered`
 * (warn, blur), or is left out (hide). Keywords match case-insensitively,
 * whole words when asked, in the status's text and content warning. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"
#include "../core/posts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_KEYWORDS_MAX 32
#define FILTER_KEYWORD_LEN  100

static const char *const context_names[] = {"home", "notifications", "public", "thread", "account"};
static const char *const action_names[] = {"warn", "hide", "blur"};

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
    for (size_t i = 0; i < n; i++) {
        cJSON *kw = cJSON_CreateObject();
        cJSON_AddStringToObject(kw, "id", arena_printf(a, "%llu", (unsigned long long)k[i].id));
        cJSON_AddStringToObject(kw, "keyword", arena_str(a, k[i].word).ptr);
        cJSON_AddBoolToObject(kw, "whole_word", k[i].whole);
        cJSON_AddItemToArray(kws, kw);
    }
    cJSON_AddArrayToObject(o, "statuses");
    return o;
}

/* ---- matching ---- */

size_t api_filters_load(struct kv_txn *txn, uint64_t account, struct arena *a, struct filter *out,
                        size_t max)
{
    struct kv_cursor *c;
    struct str key, val;
    struct key8 k = key_id(account);
    size_t n = 0;
    int64_t now = wall_seconds();
    if (kv_cursor_open(txn, T_FILTERS, &c))
        return 0;
    for (int rc = kv_cursor_seek(c, KEY8(k), &key, &val);
         rc == KITH_OK && n < max && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, &val))
        if (record_decode(&filter_desc, val, a, &out[n]) == KITH_OK &&
            (!out[n].expires_at || out[n].expires_at > now))
            n++;
    kv_cursor_close(c);
    return n;
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
        if (!cJSON_GetArraySize(matches)) {
            cJSON_Delete(matches);
            continue;
        }
        if (f->action == FILTER_HIDE)
            hide = 1;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "filter", api_filter_json(&v->ctx->arena, f));
        cJSON_AddItemToObject(r, "keyword_matches", matches);
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
    if (r->remove)
        return kv_del(txn, T_FILTERS, KEY16(k));
    if (!r->f.created_at && prefix_count(txn, T_FILTERS, r->f.account_id) >= 64)
        return KITH_ETOOBIG;
    return rec_put(txn, T_FILTERS, KEY16(k), &filter_desc, &r->f, 0);
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
    struct buf b;
    buf_init(&b, 16 << 10);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%llu %c %.*s", i ? "\n" : "", (unsigned long long)kw[i].id,
                   kw[i].whole ? '1' : '0', (int)kw[i].word.len, kw[i].word.ptr);
    f->keywords = arena_str(a, buf_str(&b));
    buf_free(&b);
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

const struct route filter_routes[] = {
    {"GET", "/api/v2/filters", handle_list, 0, "read:filters"},
    {"POST", "/api/v2/filters", handle_create, 0, "write:filters"},
    {"GET", "/api/v2/filters/{id}", handle_get, 0, "read:filters"},
    {"PUT", "/api/v2/filters/{id}", handle_update, 0, "write:filters"},
    {"DELETE", "/api/v2/filters/{id}", handle_delete, 0, "write:filters"},
};
