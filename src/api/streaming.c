/* src/api/streaming.c: Mastodon's streaming API, over WebSocket
 * (GET /api/v1/streaming, streams chosen with ?stream= or subscribe
 * messages) and server-sent events (GET /api/v1/streaming/user, ...).
 *
 * Streams read the same indexes as the timelines: each subscription keeps
 * a cursor (the newest id it has sent) and, every tick, when the writer
 * has committed anything since the last look, sends what came after it:
 * "update" for statuses (home, public, local, remote, a hashtag, a list)
 * and "notification"; "delete" (the id) for the statuses deleted since
 * and "status.update" for those edited (table status_changes), on the
 * streams that may have shown them; "conversation" on the direct stream.
 * Entities are rendered for the stream's person, on its loop, with a
 * fresh read snapshot.
 */
#include "../http/params.h"
#include "../http/stream.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "lists.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/feeds.h"
#include "../core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_TICK_MS 200
#define SUBS_MAX       16
#define SEND_MAX       40 /* events a subscription sends a tick, at most */

enum sub_kind {
    SUB_USER,          /* home timeline and notifications */
    SUB_NOTIFICATIONS, /* user:notification */
    SUB_PUBLIC,
    SUB_PUBLIC_LOCAL,
    SUB_PUBLIC_REMOTE,
    SUB_HASHTAG,
    SUB_HASHTAG_LOCAL,
    SUB_LIST,
    SUB_DIRECT, /* direct conversations */
};

static const char *const sub_names[] = {
    "user",    "user:notification", "public", "public:local", "public:remote",
    "hashtag", "hashtag:local",     "list",   "direct"};

struct sub {
    int kind;
    bool media;       /* public:media and friends: statuses with attachments only */
    char tag[104];    /* hashtag streams */
    uint64_t list_id; /* list streams */
    uint64_t cursor;  /* newest status id sent */
    uint64_t ncursor; /* newest notification id sent (user streams) */
};

struct streamer {
    struct http_stream *s;
    struct account user;
    bool has_user;
    bool ws;
    size_t nsubs;
    struct sub subs[SUBS_MAX];
    uint64_t batches; /* the writer's count at the last look */
    uint64_t dcursor; /* the newest status change sent (table status_changes) */
    bool more;        /* the last tick stopped at its caps: the next one goes on */
    uint64_t filters; /* the person's filters version at the last look */
};

/* ---- cursors: the newest id of each index now ---- */

static int newest_step(uint64_t id, struct str val, void *arg)
{
    (void)val;
    *(uint64_t *)arg = id;
    return 1;
}

static uint64_t newest_notification(struct kv_txn *txn, uint64_t account)
{
    uint64_t id = 0;
    struct key8 k = key_id(account);
    index_each(txn, T_NOTIFICATIONS, KEY8(k), 0, 0, false, newest_step, &id);
    return id;
}

static void start_cursors(struct kv_txn *txn, struct streamer *st, struct sub *sub)
{
    uint64_t id = 0;
    struct key8 k = key_id(st->user.id);
    switch (sub->kind) {
    case SUB_USER:
    case SUB_LIST:
        index_each(txn, T_HOME, KEY8(k), 0, 0, false, newest_step, &id);
        break;
    case SUB_PUBLIC:
    case SUB_PUBLIC_REMOTE:
        index_each(txn, T_PUBLIC, STR_NULL, 0, 0, false, newest_step, &id);
        break;
    case SUB_PUBLIC_LOCAL:
        index_each(txn, T_PUBLIC_LOCAL, STR_NULL, 0, 0, false, newest_step, &id);
        break;
    case SUB_HASHTAG:
    case SUB_HASHTAG_LOCAL:
        tag_each(txn, str_from(sub->tag), 0, 0, false, newest_step, &id);
        break;
    case SUB_DIRECT:
        index_each(txn, T_CONV_ORDER, KEY8(k), 0, 0, false, newest_step, &id);
        break;
    }
    sub->cursor = id;
    if (sub->kind == SUB_USER || sub->kind == SUB_NOTIFICATIONS)
        sub->ncursor = newest_notification(txn, st->user.id);
}

/* ---- sending ---- */

/* Sends one event whose payload is text (an entity's JSON, or a deleted
 * status's id as it is). */
static void send_text(struct streamer *st, const struct sub *sub, const char *event,
                      const char *text)
{
    struct http_ctx *ctx = http_stream_ctx(st->s);
    if (!st->ws) {
        http_stream_send(st->s, event, str_from(text));
        return;
    }
    /* Mastodon's WebSocket message: the stream, the event, the payload as a string. */
    cJSON *m = cJSON_CreateObject();
    cJSON *names = cJSON_AddArrayToObject(m, "stream");
    cJSON_AddItemToArray(
        names,
        cJSON_CreateString(sub->media ? arena_printf(&ctx->arena, "%s:media", sub_names[sub->kind])
                                      : sub_names[sub->kind]));
    if (sub->kind == SUB_HASHTAG || sub->kind == SUB_HASHTAG_LOCAL)
        cJSON_AddItemToArray(names, cJSON_CreateString(sub->tag));
    if (sub->kind == SUB_LIST)
        cJSON_AddItemToArray(names, cJSON_CreateString(arena_printf(
                                        &ctx->arena, "%llu", (unsigned long long)sub->list_id)));
    cJSON_AddStringToObject(m, "event", event);
    cJSON_AddStringToObject(m, "payload", text);
    char *msg = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    if (msg)
        http_stream_send(st->s, event, str_from(msg));
    free(msg);
}

static void send_event(struct streamer *st, const struct sub *sub, const char *event,
                       cJSON *payload)
{
    char *text = cJSON_PrintUnformatted(payload);
    cJSON_Delete(payload);
    if (text)
        send_text(st, sub, event, text);
    free(text);
}

/* ---- deleted and edited statuses ---- */

struct changes {
    struct streamer *st;
    struct kv_txn *txn;
    struct status_view *v;
    size_t n;
};

/* Whether sub may have shown the status: public ones on every stream but
 * notifications; unlisted and followers-only ones on the home and list
 * streams of their author and of the author's followers; direct ones on
 * their author's (a recipient's client drops it when it reloads). */
static bool sub_saw(struct changes *d, const struct sub *sub, uint64_t author, uint8_t vis)
{
    const struct streamer *st = d->st;
    if (sub->kind == SUB_NOTIFICATIONS || sub->kind == SUB_DIRECT)
        return false;
    if (vis == VIS_PUBLIC)
        return true;
    if (sub->kind != SUB_USER && sub->kind != SUB_LIST)
        return false;
    if (vis == VIS_DIRECT)
        return sub->kind == SUB_USER && author == st->user.id;
    if (author == st->user.id)
        return true;
    return vis != VIS_DIRECT &&
           (vis == VIS_UNLISTED || follows_accepted(d->txn, st->user.id, author));
}

/* "delete" (the id) or "status.update" (the status as the viewer may see
 * it now) on the streams that may have shown it. */
static int send_change(uint64_t seq, uint64_t status_id, uint64_t author, uint8_t vis, uint8_t kind,
                       void *arg)
{
    struct changes *d = arg;
    char id[24];
    char *text = NULL;
    d->st->dcursor = seq;
    snprintf(id, sizeof(id), "%llu", (unsigned long long)status_id);
    if (kind == CHANGE_EDIT) {
        d->v->context = 0; /* as the status is: a filter's warning shows on the timeline */
        cJSON *s = api_hidden(d->v, status_id) ? NULL : api_status(d->v, status_id);
        text = s ? cJSON_PrintUnformatted(s) : NULL;
        cJSON_Delete(s);
        if (!text)
            return ++d->n == SEND_MAX * 4;
    }
    for (size_t i = 0; i < d->st->nsubs; i++)
        if (sub_saw(d, &d->st->subs[i], author, vis))
            send_text(d->st, &d->st->subs[i], kind == CHANGE_EDIT ? "status.update" : "delete",
                      text ? text : id);
    free(text);
    return ++d->n == SEND_MAX * 4;
}

struct collect {
    uint64_t ids[SEND_MAX];
    uint64_t posts[SEND_MAX];
    struct str vals[SEND_MAX];
    size_t n;
};

static int collect_home(uint64_t sid, uint64_t pid, void *arg)
{
    struct collect *c = arg;
    c->ids[c->n] = sid;
    c->posts[c->n++] = pid;
    return c->n == SEND_MAX;
}

static int collect_index(uint64_t id, struct str val, void *arg)
{
    struct collect *c = arg;
    c->ids[c->n] = id;
    c->posts[c->n] = id;
    c->vals[c->n++] = val;
    return c->n == SEND_MAX;
}

/* The direct stream: a "conversation" (Mastodon's entity) for each
 * conversation with a new status since the cursor; true when more wait. */
static bool send_conversations(struct streamer *st, struct kv_txn *txn, struct status_view *v,
                               struct sub *sub, const struct collect *c)
{
    v->context = 0;
    for (size_t i = 0; i < c->n; i++) {
        sub->cursor = c->ids[i];
        if (c->vals[i].len != 8)
            continue;
        uint64_t root = be64_get((const unsigned char *)c->vals[i].ptr);
        struct key16 ck = key_pair(st->user.id, root);
        struct str cv;
        bool unread = kv_get(txn, T_CONVS, KEY16(ck), &cv) == KITH_OK && cv.len == 9 && cv.ptr[8];
        cJSON *o = api_conversation(v, root, c->ids[i], unread);
        if (o)
            send_event(st, sub, "conversation", o);
    }
    return c->n == SEND_MAX;
}

/* Sends what came for sub since its cursors; true when it stopped at
 * SEND_MAX with more to send (the next tick goes on). */
static bool run_sub(struct streamer *st, struct kv_txn *txn, struct status_view *v, struct sub *sub)
{
    struct collect c = {.n = 0};
    struct key8 k = key_id(st->user.id);
    switch (sub->kind) {
    case SUB_USER:
    case SUB_LIST:
        home_each(txn, st->user.id, 0, sub->cursor, true, collect_home, &c);
        break;
    case SUB_PUBLIC:
    case SUB_PUBLIC_REMOTE:
        index_each(txn, T_PUBLIC, STR_NULL, 0, sub->cursor, true, collect_index, &c);
        break;
    case SUB_PUBLIC_LOCAL:
        index_each(txn, T_PUBLIC_LOCAL, STR_NULL, 0, sub->cursor, true, collect_index, &c);
        break;
    case SUB_HASHTAG:
    case SUB_HASHTAG_LOCAL:
        tag_each(txn, str_from(sub->tag), 0, sub->cursor, true, collect_index, &c);
        break;
    case SUB_DIRECT:
        index_each(txn, T_CONV_ORDER, KEY8(k), 0, sub->cursor, true, collect_index, &c);
        return send_conversations(st, txn, v, sub, &c);
    }
    struct list l = {0};
    struct key8 lk = key_id(sub->list_id);
    if (sub->kind == SUB_LIST && rec_get(txn, T_LISTS, KEY8(lk), &list_desc, &v->ctx->arena, &l))
        return false; /* the list is gone */
    uint64_t exclusive[16];
    size_t nexcl =
        sub->kind == SUB_USER ? list_exclusive(txn, st->user.id, &v->ctx->arena, exclusive, 16) : 0;
    v->context = sub->kind == SUB_USER || sub->kind == SUB_LIST ? FILTER_HOME : FILTER_PUBLIC;
    for (size_t i = 0; i < c.n; i++) {
        sub->cursor = c.ids[i];
        bool remote = c.vals[i].len == 1 && c.vals[i].ptr[0] == 1;
        struct post mp;
        if ((sub->kind == SUB_PUBLIC_REMOTE && !remote) ||
            (sub->kind == SUB_HASHTAG_LOCAL && remote))
            continue;
        if (sub->media &&
            (post_get(txn, c.posts[i], &v->ctx->arena, &mp) != KITH_OK || !mp.nattachments))
            continue; /* a :media stream: statuses with attachments only */
        if (sub->kind == SUB_LIST &&
            !list_wants(txn, &l, st->user.id, c.ids[i], c.posts[i], &v->ctx->arena))
            continue; /* as the list's timeline has it */
        if (nexcl && list_excludes(txn, exclusive, nexcl, c.ids[i], c.posts[i], &v->ctx->arena))
            continue; /* as the home timeline has it */
        if (api_hidden(v, c.ids[i]) || api_filtered_out(v, c.ids[i]))
            continue;
        cJSON *s = api_status(v, c.ids[i]);
        if (s)
            send_event(st, sub, "update", s);
    }
    bool more = c.n == SEND_MAX;
    if (sub->kind != SUB_USER && sub->kind != SUB_NOTIFICATIONS)
        return more;
    struct collect n = {.n = 0};
    index_each(txn, T_NOTIFICATIONS, KEY8(k), 0, sub->ncursor, true, collect_index, &n);
    v->context = FILTER_NOTIFICATIONS;
    for (size_t i = 0; i < n.n; i++) {
        struct notification note;
        bool quiet = false;
        sub->ncursor = n.ids[i];
        if (record_decode(&notification_desc, n.vals[i], &v->ctx->arena, &note))
            continue;
        /* As GET /notifications: nothing from the blocked or the muted. */
        if (block_has(txn, st->user.id, note.from_account_id) ||
            (mute_has(txn, st->user.id, note.from_account_id, &quiet) && quiet) ||
            (note.post_id && api_filtered_out(v, note.post_id)))
            continue;
        cJSON *o = api_notification(v, &note);
        if (o)
            send_event(st, sub, "notification", o);
    }
    return more || n.n == SEND_MAX;
}

static void on_tick(struct http_stream *s, void *arg)
{
    struct streamer *st = arg;
    struct http_ctx *ctx = http_stream_ctx(s);
    struct writer_stats ws;
    writer_get_stats(http_core(ctx)->w, &ws);
    if ((ws.batches == st->batches && !st->more) || !st->nsubs)
        return; /* nothing committed since the last look, nothing left to send */
    st->batches = ws.batches;
    struct kv_txn *txn;
    if (http_read_txn_fresh(ctx, &txn))
        return;
    /* Each tick renders in an arena of its own, released after. */
    struct arena keep = ctx->arena;
    ctx->arena = (struct arena)ARENA_INIT;
    struct status_view v;
    status_view_init(&v, ctx, txn, &st->user);
    bool more = false;
    for (size_t i = 0; i < st->nsubs; i++)
        more |= run_sub(st, txn, &v, &st->subs[i]);
    /* A change of the person's filters: clients fetch them again. */
    uint64_t fv = st->has_user ? api_filters_version(txn, st->user.id) : 0;
    if (fv != st->filters) {
        st->filters = fv;
        for (size_t i = 0; i < st->nsubs; i++)
            if (st->subs[i].kind == SUB_USER) {
                send_text(st, &st->subs[i], "filters_changed", "");
                break;
            }
    }
    struct changes d = {st, txn, &v, 0};
    status_change_each(txn, st->dcursor, send_change, &d);
    st->more = more || d.n == SEND_MAX * 4;
    status_view_done(&v);
    arena_release(&ctx->arena);
    ctx->arena = keep;
}

/* ---- choosing streams ---- */

/* Adds a subscription; NULL when fine, else why not. */
static const char *subscribe(struct streamer *st, struct kv_txn *txn, struct str name,
                             struct str tag, struct str list)
{
    int kind = -1;
    /* public:media, public:local:media, public:remote:media */
    bool media = name.len > 6 && memcmp(name.ptr + name.len - 6, ":media", 6) == 0;
    if (media)
        name.len -= 6;
    for (size_t i = 0; i < sizeof(sub_names) / sizeof(sub_names[0]); i++)
        if (str_eq(name, str_from(sub_names[i])))
            kind = (int)i;
    if (kind < 0 ||
        (media && kind != SUB_PUBLIC && kind != SUB_PUBLIC_LOCAL && kind != SUB_PUBLIC_REMOTE))
        return "unknown stream";
    if ((kind == SUB_USER || kind == SUB_NOTIFICATIONS || kind == SUB_LIST || kind == SUB_DIRECT) &&
        !st->has_user)
        return "this stream needs a person's token";
    struct sub sub = {.kind = kind, .media = media};
    if (kind == SUB_HASHTAG || kind == SUB_HASHTAG_LOCAL) {
        if (tag.len && tag.ptr[0] == '#')
            tag = str_make(tag.ptr + 1, tag.len - 1);
        if (!tag.len || tag.len > TAG_MAX_LEN)
            return "a hashtag stream needs a tag";
        snprintf(sub.tag, sizeof(sub.tag), "%.*s", (int)tag.len, tag.ptr);
    }
    if (kind == SUB_LIST) {
        char num[24];
        snprintf(num, sizeof(num), "%.*s", (int)(list.len < 23 ? list.len : 23), list.ptr);
        sub.list_id = strtoull(num, NULL, 10);
        struct key8 k = key_id(sub.list_id);
        struct list l;
        struct arena a = ARENA_INIT;
        bool mine = sub.list_id && rec_get(txn, T_LISTS, KEY8(k), &list_desc, &a, &l) == KITH_OK &&
                    l.account_id == st->user.id;
        arena_release(&a);
        if (!mine)
            return "no such list";
    }
    for (size_t i = 0; i < st->nsubs; i++)
        if (st->subs[i].kind == kind && st->subs[i].media == media &&
            strcmp(st->subs[i].tag, sub.tag) == 0 && st->subs[i].list_id == sub.list_id)
            return NULL; /* already */
    if (st->nsubs == SUBS_MAX)
        return "too many streams on one connection";
    start_cursors(txn, st, &sub);
    st->subs[st->nsubs++] = sub;
    return NULL;
}

static void unsubscribe(struct streamer *st, struct str name, struct str tag)
{
    bool media = name.len > 6 && memcmp(name.ptr + name.len - 6, ":media", 6) == 0;
    if (media)
        name.len -= 6;
    for (size_t i = 0; i < st->nsubs; i++) {
        struct sub *s = &st->subs[i];
        if (str_eq(name, str_from(sub_names[s->kind])) && s->media == media &&
            (!tag.len || str_eq(tag, str_from(s->tag)))) {
            st->subs[i] = st->subs[--st->nsubs];
            i--;
        }
    }
}

static void ws_error(struct streamer *st, const char *why)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", why);
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (text)
        http_stream_send(st->s, "error", str_from(text));
    free(text);
}

/* {"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ..., "list": ...} */
static void on_message(struct http_stream *s, struct str text, void *arg)
{
    struct streamer *st = arg;
    struct http_ctx *ctx = http_stream_ctx(s);
    cJSON *m = cJSON_ParseWithLength(text.ptr, text.len);
    cJSON *type = cJSON_GetObjectItem(m, "type"), *stream = cJSON_GetObjectItem(m, "stream");
    cJSON *tag = cJSON_GetObjectItem(m, "tag"), *list = cJSON_GetObjectItem(m, "list");
    if (!cJSON_IsString(type) || !cJSON_IsString(stream)) {
        cJSON_Delete(m);
        ws_error(st, "messages are {\"type\": \"subscribe\", \"stream\": NAME}");
        return;
    }
    struct str t = cJSON_IsString(tag) ? str_from(tag->valuestring) : STR_NULL;
    char num[24] = "";
    if (cJSON_IsString(list))
        snprintf(num, sizeof(num), "%s", list->valuestring);
    else if (cJSON_IsNumber(list))
        snprintf(num, sizeof(num), "%.0f", list->valuedouble);
    if (strcmp(type->valuestring, "subscribe") == 0) {
        struct kv_txn *txn;
        const char *why = http_read_txn_fresh(ctx, &txn)
                              ? "database unavailable"
                              : subscribe(st, txn, str_from(stream->valuestring), t, str_from(num));
        if (why)
            ws_error(st, why);
    } else if (strcmp(type->valuestring, "unsubscribe") == 0) {
        unsubscribe(st, str_from(stream->valuestring), t);
    } else {
        ws_error(st, "type is subscribe or unsubscribe");
    }
    cJSON_Delete(m);
}

static void on_close(struct http_stream *s, void *arg)
{
    (void)s;
    free(arg);
}

/* The stream's person: the token from Authorization, Sec-WebSocket-Protocol
 * or access_token. */
static bool who_streams(struct http_ctx *ctx, struct api_who *who, bool *protocol_token)
{
    struct str proto = http_header(ctx, "Sec-WebSocket-Protocol");
    *protocol_token = false;
    if (!http_header(ctx, "Authorization").len && !http_query(ctx, "access_token").len &&
        proto.len) {
        *protocol_token = true;
        return api_auth_token(ctx, str_trim(proto), "read:statuses", false, who);
    }
    return api_auth(ctx, "read:statuses", false, who);
}

static int open_stream(struct http_ctx *ctx, const char *fixed)
{
    struct api_who who;
    bool proto;
    bool ws = http_wants_websocket(ctx);
    if (!who_streams(ctx, &who, &proto))
        return HANDLER_DONE;
    struct streamer *st = calloc(1, sizeof(*st));
    if (!st)
        return http_reply_error(ctx, 503, "out of memory"), HANDLER_DONE;
    st->ws = ws;
    st->has_user = who.token.account_id != 0;
    if (st->has_user) {
        st->user = who.acct;
        st->user.name = arena_str(&ctx->arena, who.acct.name); /* kept for the stream's life */
    }
    struct str name = fixed ? str_from(fixed) : http_query(ctx, "stream");
    struct str only = http_query(ctx, "only_media");
    if (fixed && strncmp(fixed, "public", 6) == 0 &&
        (str_eq(only, STR_LIT("true")) || str_eq(only, STR_LIT("1"))))
        name = str_from(arena_printf(&ctx->arena, "%s:media", fixed)); /* Mastodon's SSE way */
    if (name.len) {
        const char *why =
            subscribe(st, who.txn, name, http_query(ctx, "tag"), http_query(ctx, "list"));
        if (why) {
            free(st);
            return http_reply_error(ctx, 400, "%s", why), HANDLER_DONE;
        }
    } else if (!ws) {
        free(st);
        return http_reply_error(ctx, 400, "which stream? (stream=...)"), HANDLER_DONE;
    }
    struct writer_stats wstat;
    writer_get_stats(http_core(ctx)->w, &wstat);
    st->batches = wstat.batches;
    st->dcursor = status_change_last(who.txn);
    st->filters = st->has_user ? api_filters_version(who.txn, who.acct.id) : 0;
    st->s = ws ? http_websocket(ctx,
                                proto ? arena_str(&ctx->arena, http_header(ctx, "Sec-WebSocket-"
                                                                                "Protocol"))
                                            .ptr
                                      : NULL,
                                on_message, on_close, st)
               : http_sse(ctx, on_close, st);
    if (!st->s) {
        free(st);
        return HANDLER_DONE; /* answered */
    }
    http_stream_tick(st->s, STREAM_TICK_MS, on_tick);
    return HANDLER_ASYNC;
}

/* GET /api/v1/streaming: a WebSocket, or SSE with ?stream=. */
static int handle_ws(struct http_ctx *ctx)
{
    return open_stream(ctx, NULL);
}

static int handle_health(struct http_ctx *ctx)
{
    http_reply_raw(ctx, 200, "text/plain", STR_LIT("OK"));
    return HANDLER_DONE;
}

#define SSE(path, name)                         \
 static int handle_##name(struct http_ctx *ctx) \
 {                                              \
  return open_stream(ctx, path);                \
 }
SSE("user", user)
SSE("user:notification", user_notification)
SSE("public", public)
SSE("public:local", public_local)
SSE("public:remote", public_remote)
SSE("hashtag", hashtag)
SSE("hashtag:local", hashtag_local)
SSE("list", list)
SSE("direct", direct)

const struct route streaming_routes[] = {
    {"GET", "/api/v1/streaming", handle_ws, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/health", handle_health, 0, NULL},
    {"GET", "/api/v1/streaming/user", handle_user, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/user/notification", handle_user_notification, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/public", handle_public, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/public/local", handle_public_local, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/public/remote", handle_public_remote, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/hashtag", handle_hashtag, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/hashtag/local", handle_hashtag_local, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/list", handle_list, 0, "read:statuses"},
    {"GET", "/api/v1/streaming/direct", handle_direct, 0, "read:statuses"},
};
