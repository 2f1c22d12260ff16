/* federation/schedule.c: statuses published later (Mastodon's
 * scheduled_at). The API prepares the write as for a status posted now
 * (mentions looked up, the community and title found) and this keeps it,
 * as JSON, in table scheduled under (account, id) and in scheduled_due by
 * time; the delivery loop's sweep publishes what is due with
 * federation_write, in the sweep's own write. */
#include "actors.h"
#include "federation.h"

#include "../src/base/clock.h"
#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../src/core/feeds.h"
#include "../src/core/posts.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void add_id(cJSON *o, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    cJSON_AddStringToObject(o, key, num);
}

static uint64_t get_id(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? strtoull(v->valuestring, NULL, 10) : 0;
}

static const char *get_str(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_opt(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

static int count_since(struct kv_txn *txn, uint64_t account, int64_t day_start, size_t *total,
                       size_t *today)
{
    struct kv_cursor *c;
    struct str key, val;
    struct key8 k = key_id(account);
    int rc = kv_cursor_open(txn, T_SCHEDULED, &c);
    *total = *today = 0;
    if (rc)
        return rc;
    for (rc = kv_cursor_seek(c, KEY8(k), &key, &val);
         rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, &val)) {
        cJSON *o = cJSON_ParseWithLength(val.ptr, val.len);
        int64_t at = (int64_t)get_id(o, "scheduled_at");
        cJSON_Delete(o);
        (*total)++;
        if (at >= day_start && at < day_start + 86400)
            (*today)++;
    }
    kv_cursor_close(c);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

static int put_due(struct kv_txn *txn, uint64_t account, uint64_t id, int64_t at)
{
    struct key16 dk = key_pair((uint64_t)at, id);
    struct key8 acc = key_id(account);
    return kv_put(txn, T_SCHEDULED_DUE, KEY16(dk), KEY8(acc), 0);
}

int federation_schedule(struct kv_txn *txn, const struct fed_write *w, const struct sched_info *s)
{
    size_t total, today;
    int rc =
        count_since(txn, w->user_id, s->scheduled_at - s->scheduled_at % 86400, &total, &today);
    if (rc)
        return rc;
    if (total >= SCHEDULED_MAX || today >= SCHEDULED_MAX_A_DAY)
        return KITH_ETOOBIG;
    cJSON *o = cJSON_CreateObject();
    add_id(o, "id", s->id);
    add_id(o, "scheduled_at", (uint64_t)s->scheduled_at);
    add_id(o, "app", s->app_id);
    add_id(o, "community", w->community_id);
    add_id(o, "parent", w->parent_id);
    add_opt(o, "title", w->title);
    add_opt(o, "body", w->body);
    add_opt(o, "summary", w->summary);
    add_opt(o, "language", w->language);
    cJSON_AddBoolToObject(o, "sensitive", w->sensitive);
    cJSON_AddNumberToObject(o, "visibility", w->visibility);
    cJSON *to = cJSON_AddArrayToObject(o, "to");
    for (size_t i = 0; i < w->nto; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)w->to[i]);
        cJSON_AddItemToArray(to, cJSON_CreateString(num));
    }
    cJSON *media = cJSON_AddArrayToObject(o, "media");
    for (size_t i = 0; i < w->nmedia; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)w->media[i]);
        cJSON_AddItemToArray(media, cJSON_CreateString(num));
    }
    if (w->poll_titles) {
        cJSON_AddStringToObject(o, "poll_titles", w->poll_titles);
        cJSON_AddBoolToObject(o, "poll_multiple", w->poll_multiple);
        cJSON_AddBoolToObject(o, "poll_hide_totals", w->poll_hide_totals);
        add_id(o, "poll_secs", (uint64_t)s->poll_secs);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return KITH_ENOMEM;
    struct key16 k = key_pair(w->user_id, s->id);
    rc = kv_put(txn, T_SCHEDULED, KEY16(k), str_from(text), KV_NOOVERWRITE);
    free(text);
    return rc ? rc : put_due(txn, w->user_id, s->id, s->scheduled_at);
}

cJSON *federation_scheduled_get(struct kv_txn *txn, uint64_t account, uint64_t id)
{
    struct key16 k = key_pair(account, id);
    struct str v;
    if (kv_get(txn, T_SCHEDULED, KEY16(k), &v) != KITH_OK)
        return NULL;
    return cJSON_ParseWithLength(v.ptr, v.len);
}

int federation_scheduled_change(struct kv_txn *txn, uint64_t account, uint64_t id, int64_t at)
{
    cJSON *o = federation_scheduled_get(txn, account, id);
    if (!o)
        return KITH_ENOTFOUND;
    int64_t old = (int64_t)get_id(o, "scheduled_at");
    struct key16 dk = key_pair((uint64_t)old, id);
    int rc = kv_del(txn, T_SCHEDULED_DUE, KEY16(dk));
    if (rc == KITH_ENOTFOUND)
        rc = KITH_OK;
    struct key16 k = key_pair(account, id);
    if (rc == KITH_OK && at < 0) { /* deleted */
        rc = kv_del(txn, T_SCHEDULED, KEY16(k));
    } else if (rc == KITH_OK) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "scheduled_at");
        add_id(o, "scheduled_at", (uint64_t)at);
        char *text = cJSON_PrintUnformatted(o);
        rc = text ? kv_put(txn, T_SCHEDULED, KEY16(k), str_from(text), 0) : KITH_ENOMEM;
        free(text);
        if (rc == KITH_OK)
            rc = put_due(txn, account, id, at);
    }
    cJSON_Delete(o);
    return rc;
}

bool federation_scheduled_due(struct kv_txn *txn, int64_t now)
{
    return time_index_due(txn, T_SCHEDULED_DUE, now);
}

/* The write kept in o, ready for federation_write (strings in a). */
static void write_of(cJSON *o, uint64_t account, struct arena *a, struct fed_write *w, int64_t now)
{
    *w = (struct fed_write){.kind = FW_CREATE, .user_id = account};
    w->community_id = get_id(o, "community");
    w->parent_id = get_id(o, "parent");
    const char *title = get_str(o, "title"), *body = get_str(o, "body");
    const char *summary = get_str(o, "summary"), *language = get_str(o, "language");
    w->title = title ? arena_strdup(a, title) : NULL;
    w->body = arena_strdup(a, body ? body : "");
    w->summary = summary ? arena_strdup(a, summary) : NULL;
    w->language = language ? arena_strdup(a, language) : NULL;
    w->sensitive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "sensitive"));
    cJSON *vis = cJSON_GetObjectItemCaseSensitive(o, "visibility");
    w->visibility = cJSON_IsNumber(vis) ? vis->valueint : VIS_PUBLIC;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "to"))
    {
        if (cJSON_IsString(it) && w->nto < FED_MAX_MENTIONS)
            w->to[w->nto++] = strtoull(it->valuestring, NULL, 10);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "media"))
    {
        if (cJSON_IsString(it) && w->nmedia < FED_MAX_MEDIA)
            w->media[w->nmedia++] = strtoull(it->valuestring, NULL, 10);
    }
    const char *titles = get_str(o, "poll_titles");
    if (titles) {
        w->poll_titles = arena_strdup(a, titles);
        w->poll_multiple = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "poll_multiple"));
        w->poll_hide_totals = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "poll_hide_totals"));
        w->poll_expires_at = now + (int64_t)get_id(o, "poll_secs"); /* counted from now */
    }
}

int federation_scheduled_publish(struct kv_txn *txn, void *fp, int64_t now)
{
    struct federation *f = fp;
    uint64_t ids[16], accounts[16], times[16];
    size_t n = 0;
    struct kv_cursor *c;
    struct str key, val;
    int rc = kv_cursor_open(txn, T_SCHEDULED_DUE, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_first(c, &key, &val); rc == KITH_OK && n < 16 && key.len == 16;
         rc = kv_cursor_next(c, &key, &val)) {
        if ((int64_t)be64_get((const unsigned char *)key.ptr) > now || val.len != 8)
            break;
        times[n] = be64_get((const unsigned char *)key.ptr);
        ids[n] = be64_get((const unsigned char *)key.ptr + 8);
        accounts[n++] = be64_get((const unsigned char *)val.ptr);
    }
    kv_cursor_close(c);
    rc = KITH_OK;
    for (size_t i = 0; i < n && rc == KITH_OK; i++) {
        struct arena a = ARENA_INIT;
        struct fed_write *w = arena_zalloc(&a, sizeof(*w));
        cJSON *o = federation_scheduled_get(txn, accounts[i], ids[i]);
        bool found = o != NULL;
        if (o) {
            write_of(o, accounts[i], &a, w, now);
            rc = federation_write(txn, f, w);
            if (rc == KITH_EINVAL) { /* refused now (the reply's post is gone, ...): dropped */
                log_warn("federation: scheduled status %llu of account %llu not published: %s",
                         (unsigned long long)ids[i], (unsigned long long)accounts[i], w->msg);
                rc = KITH_OK;
            }
        }
        cJSON_Delete(o);
        arena_release(&a);
        if (rc == KITH_OK && found)
            rc = federation_scheduled_change(txn, accounts[i], ids[i], -1);
        else if (rc == KITH_OK) { /* an index entry without its status */
            struct key16 dk = key_pair(times[i], ids[i]);
            rc = kv_del(txn, T_SCHEDULED_DUE, KEY16(dk));
        }
    }
    return rc;
}
