/* src/core/media.c: uploaded files (see media.h). Images go through
 * libvips: the header is read first (the pixel limit is checked before a
 * single pixel is decoded), JPEGs are turned upright by their EXIF
 * orientation, then every image but a GIF is written again with "strip",
 * which leaves EXIF, XMP, IPTC, GPS and comments behind. A GIF is kept as
 * sent: the format has no EXIF, and re-encoding would lose its frames. */
#include "media.h"

#include "../base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

int media_init(const char *argv0)
{
    if (VIPS_INIT(argv0 ? argv0 : "kith"))
        return KITH_EIO;
    vips_concurrency_set(1); /* the caller's worker threads are the parallelism */
    vips_cache_set_max(0);   /* every upload is new: nothing to cache */
    return KITH_OK;
}

void media_shutdown(void)
{
    vips_shutdown();
}

static bool has(struct str b, size_t at, const char *magic, size_t n)
{
    return b.len >= at + n && memcmp(b.ptr + at, magic, n) == 0;
}

const char *media_sniff(struct str b, int *kind)
{
    *kind = MEDIA_IMAGE;
    if (has(b, 0, "\xFF\xD8\xFF", 3))
        return "image/jpeg";
    if (has(b, 0, "\x89PNG\r\n\x1A\n", 8))
        return "image/png";
    if (has(b, 0, "GIF87a", 6) || has(b, 0, "GIF89a", 6))
        return "image/gif";
    if (has(b, 0, "RIFF", 4) && has(b, 8, "WEBP", 4))
        return "image/webp";
    *kind = MEDIA_VIDEO;
    if (has(b, 4, "ftyp", 4)) {
        if (has(b, 8, "M4A ", 4) || has(b, 8, "M4B ", 4)) {
            *kind = MEDIA_AUDIO;
            return "audio/mp4";
        }
        return has(b, 8, "qt  ", 4) ? "video/quicktime" : "video/mp4";
    }
    if (has(b, 0, "\x1A\x45\xDF\xA3", 4))
        return "video/webm";
    *kind = MEDIA_AUDIO;
    if (has(b, 0, "OggS", 4))
        return "audio/ogg";
    if (has(b, 0, "ID3", 3) ||
        (b.len >= 2 && (unsigned char)b.ptr[0] == 0xFF && ((unsigned char)b.ptr[1] & 0xE0) == 0xE0))
        return "audio/mpeg";
    if (has(b, 0, "RIFF", 4) && has(b, 8, "WAVE", 4))
        return "audio/wav";
    if (has(b, 0, "fLaC", 4))
        return "audio/flac";
    return NULL;
}

static const char *extension(const char *mime)
{
    static const char *const map[][2] = {
        {"image/jpeg", "jpg"},  {"image/png", "png"},   {"image/gif", "gif"},
        {"image/webp", "webp"}, {"video/mp4", "mp4"},   {"video/quicktime", "mov"},
        {"video/webm", "webm"}, {"audio/mpeg", "mp3"},  {"audio/ogg", "ogg"},
        {"audio/wav", "wav"},   {"audio/flac", "flac"}, {"audio/mp4", "m4a"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], mime) == 0)
            return map[i][1];
    return "bin";
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Writes bytes to dir/name through a temporary file, synced, renamed. A
 * file already there has the same content (its name is the hash). */
static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) == 0 && (uint64_t)st.st_size == n)
        return KITH_OK;
    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return KITH_EIO;
    const char *c = p;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, c + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return KITH_EIO;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return KITH_EIO;
    }
    return KITH_OK;
}

static int store(const char *dir, const char *ext, const char *suffix, const void *p, size_t n,
                 char *name, size_t namelen)
{
    char hex[65];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return KITH_EIO;
    sha256_hex(p, n, hex);
    snprintf(name, namelen, "%s%s.%s", hex, suffix, ext);
    return write_file(dir, name, p, n);
}

static int fail(char *why, size_t whylen, int rc, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    vips_error_clear();
    return rc;
}

/* Collects the names of the metadata fields "strip" should drop. */
static void *note_field(VipsImage *im, const char *name, GValue *value, void *a)
{
    (void)im, (void)value;
    GSList **names = a;
    if (strcmp(name, "exif-data") == 0 || strcmp(name, "xmp-data") == 0 ||
        strcmp(name, "iptc-data") == 0 || strncmp(name, "exif-", 5) == 0 ||
        strncmp(name, "png-comment", 11) == 0 || strcmp(name, "gif-comment") == 0)
        *names = g_slist_prepend(*names, g_strdup(name));
    return NULL;
}

/* A copy of im without EXIF, XMP, IPTC and comments: some savers of this
 * libvips (WebP's) still write EXIF they were told to strip. */
static VipsImage *without_metadata(VipsImage *im)
{
    VipsImage *copy = NULL;
    GSList *names = NULL;
    if (vips_copy(im, &copy, NULL))
        return NULL;
    vips_image_map(copy, note_field, &names);
    for (GSList *l = names; l; l = l->next)
        vips_image_remove(copy, l->data);
    g_slist_free_full(names, g_free);
    return copy;
}

/* Drops the EXIF and XMP chunks from a WebP file in place (this libvips's
 * WebP saver writes an EXIF block of its own even when told to strip) and
 * clears their flags in VP8X; returns the new length. */
static size_t webp_drop_metadata(unsigned char *b, size_t len)
{
    if (len < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WEBP", 4) != 0)
        return len;
    size_t in = 12, out = 12;
    while (in + 8 <= len) {
        uint32_t n = (uint32_t)b[in + 4] | (uint32_t)b[in + 5] << 8 | (uint32_t)b[in + 6] << 16 |
                     (uint32_t)b[in + 7] << 24;
        size_t whole = 8 + (size_t)n + (n & 1);
        if (whole > len - in)
            break; /* a truncated chunk: left as it is */
        bool drop = memcmp(b + in, "EXIF", 4) == 0 || memcmp(b + in, "XMP ", 4) == 0;
        if (memcmp(b + in, "VP8X", 4) == 0 && n >= 1)
            b[in + 8] &= (unsigned char)~0x0C; /* the EXIF and XMP flags */
        if (!drop) {
            memmove(b + out, b + in, whole);
            out += whole;
        }
        in += whole;
    }
    if (in != len)
        return len;
    uint32_t riff = (uint32_t)(out - 8);
    b[4] = (unsigned char)riff;
    b[5] = (unsigned char)(riff >> 8);
    b[6] = (unsigned char)(riff >> 16);
    b[7] = (unsigned char)(riff >> 24);
    return out;
}

/* An sRGB, 3-band, 8-bit version of im (alpha flattened on white). */
static VipsImage *srgb8(VipsImage *im)
{
    VipsImage *a = NULL, *b = NULL, *c = NULL;
    if (vips_colourspace(im, &a, VIPS_INTERPRETATION_sRGB, NULL))
        return NULL;
    if (vips_image_hasalpha(a)) {
        VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
        int rc = vips_flatten(a, &b, "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        g_object_unref(a);
        if (rc)
            return NULL;
    } else {
        b = a;
    }
    if (vips_cast_uchar(b, &c, NULL)) {
        g_object_unref(b);
        return NULL;
    }
    g_object_unref(b);
    if (c->Bands > 3) {
        VipsImage *d = NULL;
        int rc = vips_extract_band(c, &d, 0, "n", 3, NULL);
        g_object_unref(c);
        return rc ? NULL : d;
    }
    return c;
}

/* The preview (JPEG) and the BlurHash of an upright image. */
static int preview_and_hash(VipsImage *up, const char *dir, struct media_file *out)
{
    VipsImage *thumb = NULL, *flat = NULL, *tiny = NULL, *tflat = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc = KITH_EIO;
    if (vips_thumbnail_image(up, &thumb, MEDIA_PREVIEW_SIZE, "height", MEDIA_PREVIEW_SIZE, "size",
                             VIPS_SIZE_DOWN, NULL) ||
        !(flat = srgb8(thumb)) ||
        vips_jpegsave_buffer(flat, &buf, &len, "Q", 80, "strip", TRUE, NULL))
        goto out;
    out->small_width = vips_image_get_width(flat);
    out->small_height = vips_image_get_height(flat);
    if (store(dir, "jpg", ".small", buf, len, out->preview, sizeof(out->preview)))
        goto out;
    if (vips_thumbnail_image(flat, &tiny, 32, "height", 32, NULL) || !(tflat = srgb8(tiny)))
        goto out;
    size_t n = 0;
    unsigned char *px = vips_image_write_to_memory(tflat, &n);
    int w = vips_image_get_width(tflat), h = vips_image_get_height(tflat);
    if (!px || n < (size_t)w * h * 3)
        goto out_px;
    if (blurhash_encode(px, w, h, (size_t)w * 3, 4, 3, out->blurhash))
        rc = KITH_OK;
out_px:
    g_free(px);
out:
    g_free(buf);
    if (thumb)
        g_object_unref(thumb);
    if (flat)
        g_object_unref(flat);
    if (tiny)
        g_object_unref(tiny);
    if (tflat)
        g_object_unref(tflat);
    return rc;
}

/* Decodes an image, re-encodes it stripped (or fitted into fit_w x fit_h
 * when fit_w), stores it with its preview and hash. */
static int import_image(const struct kith_config *cfg, const char *dir, struct str bytes,
                        const char *mime, int fit_w, int fit_h, struct media_file *out, char *why,
                        size_t whylen)
{
    VipsImage *in = NULL, *up = NULL, *fitted = NULL, *flat = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc;
    bool gif = strcmp(mime, "image/gif") == 0;
    in = vips_image_new_from_buffer(bytes.ptr, bytes.len, "", "access", VIPS_ACCESS_RANDOM, "fail",
                                    TRUE, NULL);
    if (!in)
        return fail(why, whylen, KITH_EINVAL, "the file does not decode as the image it claims");
    int w = vips_image_get_width(in), h = vips_image_get_height(in);
    if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > cfg->media_max_image_pixels) {
        g_object_unref(in);
        snprintf(why, whylen, "the image is %d x %d pixels: at most %llu pixels are taken", w, h,
                 (unsigned long long)cfg->media_max_image_pixels);
        return KITH_ETOOBIG;
    }
    VipsImage *rot = NULL;
    if (vips_autorot(in, &rot, NULL)) {
        rc = fail(why, whylen, KITH_EINVAL, "the image does not decode");
        goto out;
    }
    up = without_metadata(rot);
    g_object_unref(rot);
    if (!up) {
        rc = fail(why, whylen, KITH_EINVAL, "the image does not decode");
        goto out;
    }
    if (fit_w) { /* an avatar or header: cropped to the box, as JPEG */
        if (vips_thumbnail_image(up, &fitted, fit_w, "height", fit_h, "crop",
                                 VIPS_INTERESTING_CENTRE, NULL) ||
            !(flat = srgb8(fitted)) ||
            vips_jpegsave_buffer(flat, &buf, &len, "Q", 88, "strip", TRUE, NULL)) {
            rc = fail(why, whylen, KITH_EINVAL, "the image does not decode");
            goto out;
        }
        mime = "image/jpeg";
        w = vips_image_get_width(flat);
        h = vips_image_get_height(flat);
    } else if (gif) {
        if (vips_image_get_width(up) < 1) { /* decoding the first frame checks it */
            rc = fail(why, whylen, KITH_EINVAL, "the GIF does not decode");
            goto out;
        }
    } else {
        int r = strcmp(mime, "image/jpeg") == 0
                    ? vips_jpegsave_buffer(up, &buf, &len, "Q", 90, "strip", TRUE, NULL)
                : strcmp(mime, "image/png") == 0
                    ? vips_pngsave_buffer(up, &buf, &len, "strip", TRUE, NULL)
                    : vips_webpsave_buffer(up, &buf, &len, "Q", 90, "strip", TRUE, NULL);
        if (r) {
            rc = fail(why, whylen, KITH_EINVAL, "the image does not decode");
            goto out;
        }
        if (strcmp(mime, "image/webp") == 0)
            len = webp_drop_metadata(buf, len);
        w = vips_image_get_width(up);
        h = vips_image_get_height(up);
    }
    out->kind = MEDIA_IMAGE;
    snprintf(out->mime, sizeof(out->mime), "%s", mime);
    out->width = w;
    out->height = h;
    const void *data = buf ? buf : bytes.ptr;
    out->size = buf ? len : bytes.len;
    if (store(dir, extension(mime), "", data, out->size, out->file, sizeof(out->file))) {
        rc = fail(why, whylen, KITH_EIO, "the file could not be stored");
        goto out;
    }
    if (preview_and_hash(flat ? flat : up, dir, out)) {
        rc = fail(why, whylen, KITH_EINVAL, "the image's preview could not be made");
        goto out;
    }
    rc = KITH_OK;
out:
    g_free(buf);
    if (in)
        g_object_unref(in);
    if (up)
        g_object_unref(up);
    if (fitted)
        g_object_unref(fitted);
    if (flat)
        g_object_unref(flat);
    return rc;
}

int media_import(const struct kith_config *cfg, const char *dir, struct str bytes,
                 struct media_file *out, char *why, size_t whylen)
{
    int kind;
    memset(out, 0, sizeof(*out));
    const char *mime = media_sniff(bytes, &kind);
    if (!mime) {
        snprintf(why, whylen,
                 "the file is not an image (JPEG, PNG, WebP, GIF), a video (MP4, "
                 "WebM, QuickTime) or audio (MP3, Ogg, WAV, FLAC, M4A)");
        return KITH_EINVAL;
    }
    uint64_t max = kind == MEDIA_IMAGE ? cfg->media_max_image_bytes : cfg->media_max_video_bytes;
    if (bytes.len > max) {
        snprintf(why, whylen, "the file is %zu bytes: at most %llu are taken for %s", bytes.len,
                 (unsigned long long)max, kind == MEDIA_IMAGE ? "an image" : "video and audio");
        return KITH_ETOOBIG;
    }
    if (kind == MEDIA_IMAGE)
        return import_image(cfg, dir, bytes, mime, 0, 0, out, why, whylen);
    /* Video and audio are kept as sent (no transcoding): their type is
     * what the bytes say, whatever the upload claimed. */
    out->kind = kind;
    snprintf(out->mime, sizeof(out->mime), "%s", mime);
    out->size = bytes.len;
    if (store(dir, extension(mime), "", bytes.ptr, bytes.len, out->file, sizeof(out->file))) {
        snprintf(why, whylen, "the file could not be stored");
        return KITH_EIO;
    }
    return KITH_OK;
}

int media_import_fitted(const struct kith_config *cfg, const char *dir, struct str bytes, int width,
                        int height, struct media_file *out, char *why, size_t whylen)
{
    int kind;
    memset(out, 0, sizeof(*out));
    const char *mime = media_sniff(bytes, &kind);
    if (!mime || kind != MEDIA_IMAGE) {
        snprintf(why, whylen, "the file is not an image (JPEG, PNG, WebP or GIF)");
        return KITH_EINVAL;
    }
    if (bytes.len > cfg->media_max_image_bytes) {
        snprintf(why, whylen, "the image is %zu bytes: at most %llu are taken", bytes.len,
                 (unsigned long long)cfg->media_max_image_bytes);
        return KITH_ETOOBIG;
    }
    return import_image(cfg, dir, bytes, mime, width, height, out, why, whylen);
}
