/* web/static.c: the images kith serves itself: the default avatar and
 * header (Mastodon clients need an absolute image URL, never ""), and the
 * uploaded files under data_dir/media (GET /media/FILE). */
#include "web.h"

#include "../src/http/server.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static const unsigned char avatar_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
    0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0x98, 0xbd, 0x64, 0x03, 0x00, 0x03, 0xcd, 0x01, 0xf0, 0x55, 0x6d, 0x4e,
    0xe1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const unsigned char header_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
    0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0xb8, 0xf9, 0xf0, 0x05, 0x00, 0x05, 0x39, 0x02, 0xa3, 0xf9, 0x7c, 0x66,
    0x3a, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static int send_png(struct http_ctx *ctx, const unsigned char *png, size_t n)
{
    http_add_header(ctx, "Cache-Control", "public, max-age=86400");
    http_add_header(ctx, "X-Content-Type-Options", "nosniff");
    http_reply_raw(ctx, 200, "image/png", str_make(png, n));
    return HANDLER_DONE;
}

static int handle_avatar(struct http_ctx *ctx)
{
    return send_png(ctx, avatar_png, sizeof(avatar_png));
}

static int handle_header(struct http_ctx *ctx)
{
    return send_png(ctx, header_png, sizeof(header_png));
}

/* The type of a stored file by its extension (set when it was stored, from
 * its bytes); NULL for a name that is not one kith writes. */
static const char *media_type(struct str name)
{
    static const char *const map[][2] = {
        {".jpg", "image/jpeg"},  {".png", "image/png"},   {".gif", "image/gif"},
        {".webp", "image/webp"}, {".mp4", "video/mp4"},   {".mov", "video/quicktime"},
        {".webm", "video/webm"}, {".mp3", "audio/mpeg"},  {".ogg", "audio/ogg"},
        {".wav", "audio/wav"},   {".flac", "audio/flac"}, {".m4a", "audio/mp4"},
    };
    /* SHA-256 hex, optionally ".small", then the extension. */
    if (name.len < 64 + 4)
        return NULL;
    for (size_t i = 0; i < 64; i++)
        if (!((name.ptr[i] >= '0' && name.ptr[i] <= '9') ||
              (name.ptr[i] >= 'a' && name.ptr[i] <= 'f')))
            return NULL;
    struct str rest = str_make(name.ptr + 64, name.len - 64);
    if (rest.len > 6 && memcmp(rest.ptr, ".small", 6) == 0)
        rest = str_make(rest.ptr + 6, rest.len - 6);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (str_eq_cstr(rest, map[i][0]))
            return map[i][1];
    return NULL;
}

/* GET /media/FILE: an upload, as stored; never run as a page. */
static int handle_media(struct http_ctx *ctx)
{
    struct str name = route_param(&ctx->params, "file");
    const char *type = media_type(name);
    if (!type)
        return http_reply_error(ctx, 404, "not found"), HANDLER_DONE;
    char path[4096];
    snprintf(path, sizeof(path), "%s/media/%.*s", store_data_dir(http_core(ctx)->st), (int)name.len,
             name.ptr);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return http_reply_error(ctx, 404, "not found"), HANDLER_DONE;
    http_add_header(ctx, "X-Content-Type-Options", "nosniff");
    http_add_header(ctx, "Content-Security-Policy", "default-src 'none'; sandbox");
    http_add_header(ctx, "Cache-Control", "public, max-age=31536000, immutable");
    http_add_header(ctx, "Access-Control-Allow-Origin", "*");
    http_reply_file(ctx, type, fd);
    return HANDLER_DONE;
}

const struct route static_routes[3] = {
    {"GET", "/static/avatar.png", handle_avatar, 0, NULL},
    {"GET", "/static/header.png", handle_header, 0, NULL},
    {"GET", "/media/{file}", handle_media, 0, NULL},
};
