/* src/api/media.c: uploads: POST /api/v2/media (and v1), GET and PUT
 * /api/v1/media/:id. The file is checked and stored by core's
 * media_import on a worker thread (decoding images is CPU work that must
 * not hold a loop), then its record is written; the answer is 200 with the
 * finished MediaAttachment (kith processes synchronously). */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "page.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/media.h"
#include "../core/mediagc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX_CHARS 1500

struct upload {
    const struct kith_config *cfg;
    char dir[4096];
    struct str bytes;
    struct media_file f;
    struct media_rec rec;
    int rc;
    char why[300];
};

static size_t utf8_chars(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

/* "x,y" with each in -1..1 (Mastodon's focal point), in millionths. */
static bool parse_focus(struct str s, int64_t *x, int64_t *y)
{
    char buf[64], *end;
    if (s.len >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%.*s", (int)s.len, s.ptr);
    double fx = strtod(buf, &end);
    if (*end != ',')
        return false;
    double fy = strtod(end + 1, &end);
    if (*end || !isfinite(fx) || !isfinite(fy) || fx < -1 || fx > 1 || fy < -1 || fy > 1)
        return false;
    *x = (int64_t)llround(fx * 1e6);
    *y = (int64_t)llround(fy * 1e6);
    return true;
}

/* description and focus; false after replying 422. */
static bool read_fields(struct http_ctx *ctx, const struct api_params *p, struct media_rec *m)
{
    struct str d = api_param(p, "description"), focus = api_param(p, "focus");
    if (utf8_chars(d) > DESCRIPTION_MAX_CHARS)
        return http_reply_error(ctx, 422,
                                "Validation failed: the description is longer than %d "
                                "characters",
                                DESCRIPTION_MAX_CHARS),
               false;
    if (d.ptr)
        m->description = arena_str(&ctx->arena, d);
    if (focus.len && !parse_focus(focus, &m->focus_x, &m->focus_y))
        return http_reply_error(ctx, 422, "focus is two numbers from -1 to 1: \"x,y\""), false;
    return true;
}

static int work(void *arg)
{
    struct upload *u = arg;
    u->rc = media_import(u->cfg, u->dir, u->bytes, &u->f, u->why, sizeof(u->why));
    return u->rc;
}

static int apply_put(struct kv_txn *txn, void *arg)
{
    struct media_rec *m = arg;
    struct key8 k = key_id(m->id);
    int rc = rec_put(txn, T_MEDIA, KEY8(k), &media_desc, m, 0);
    /* Looked at again in a day: gone then unless attached (core/mediagc). */
    return rc ? rc : media_due_add(txn, m->id, m->created_at);
}

static void stored(struct http_ctx *ctx, int rc, void *arg)
{
    struct media_rec *m = arg;
    if (rc)
        return http_reply_error(ctx, 500, "the upload could not be stored: %s", kith_strerror(rc));
    http_reply_json(ctx, 200, api_media(ctx, m));
}

static void imported(struct http_ctx *ctx, int rc, void *arg)
{
    struct upload *u = arg;
    if (rc == KITH_ETOOBIG)
        return http_reply_error(ctx, 413, "%s", u->why);
    if (rc == KITH_EINVAL)
        return http_reply_error(ctx, 422, "Validation failed: %s", u->why);
    if (rc)
        return http_reply_error(ctx, 500, "%s", u->why[0] ? u->why : kith_strerror(rc));
    struct media_rec *m = &u->rec;
    m->kind = (uint8_t)u->f.kind;
    m->mime = arena_str(&ctx->arena, str_from(u->f.mime));
    m->file = arena_str(&ctx->arena, str_from(u->f.file));
    m->preview = arena_str(&ctx->arena, str_from(u->f.preview));
    m->width = (uint32_t)u->f.width;
    m->height = (uint32_t)u->f.height;
    m->small_width = (uint32_t)u->f.small_width;
    m->small_height = (uint32_t)u->f.small_height;
    m->blurhash = arena_str(&ctx->arena, str_from(u->f.blurhash));
    m->size = u->f.size;
    if (http_write(ctx, apply_put, m, stored, m))
        http_reply_error(ctx, 503, "the server is stopping");
}

/* POST /api/v2/media, /api/v1/media: multipart with file, description, focus. */
static int handle_upload(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    if (!api_auth(ctx, "write:media", true, &who))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400,
                                "the request body does not parse (multipart/form-data "
                                "with a file part)"),
               HANDLER_DONE;
    const struct api_param *file = api_param_entry(&p, "file");
    if (!file || !file->value.len)
        return http_reply_error(ctx, 422, "Validation failed: file is required"), HANDLER_DONE;
    struct upload *u = arena_zalloc(&ctx->arena, sizeof(*u));
    u->cfg = http_core(ctx)->cfg;
    snprintf(u->dir, sizeof(u->dir), "%s/media", store_data_dir(http_core(ctx)->st));
    u->bytes = file->value;
    u->rec = (struct media_rec){.id = idgen_next(store_ids(http_core(ctx)->st)),
                                .account_id = who.acct.id,
                                .created_at = wall_seconds()};
    if (!read_fields(ctx, &p, &u->rec))
        return HANDLER_DONE;
    if (http_offload(ctx, work, u, imported, u))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* One's own upload, by the path's id; replies 404 otherwise. */
static bool own_media(struct http_ctx *ctx, struct api_who *who, struct media_rec *m)
{
    uint64_t id;
    if (!api_id_param(ctx, "id", &id))
        return false;
    struct key8 k = key_id(id);
    if (rec_get(who->txn, T_MEDIA, KEY8(k), &media_desc, &ctx->arena, m) ||
        m->account_id != who->acct.id) {
        http_reply_error(ctx, 404, "Record not found");
        return false;
    }
    return true;
}

static int handle_get(struct http_ctx *ctx)
{
    struct api_who who;
    struct media_rec m;
    if (!api_auth(ctx, "write:media", true, &who) || !own_media(ctx, &who, &m))
        return HANDLER_DONE;
    http_reply_json(ctx, 200, api_media(ctx, &m));
    return HANDLER_DONE;
}

/* PUT /api/v1/media/:id: description and focus. */
static int handle_put(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    struct media_rec *m = arena_zalloc(&ctx->arena, sizeof(*m));
    if (!api_auth(ctx, "write:media", true, &who) || !own_media(ctx, &who, m))
        return HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    if (!read_fields(ctx, &p, m))
        return HANDLER_DONE;
    if (http_write(ctx, apply_put, m, stored, m))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route media_routes[] = {
    {"POST", "/api/v2/media", handle_upload, ROUTE_BODY_UPLOAD, "write:media"},
    {"POST", "/api/v1/media", handle_upload, ROUTE_BODY_UPLOAD, "write:media"},
    {"GET", "/api/v1/media/{id}", handle_get, 0, "write:media"},
    {"PUT", "/api/v1/media/{id}", handle_put, 0, "write:media"},
};
