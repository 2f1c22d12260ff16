/* src/core/media.h: uploaded files: type sniffed from the bytes, images
 * decoded and written again without their metadata (EXIF, GPS, comments)
 * by libvips, a small preview and a BlurHash made, and every file stored
 * under data_dir/media named by the SHA-256 of its bytes.
 *
 * Layer: core. media_import is CPU and disk work that blocks: call it off
 * the event loops (http_offload). libvips is started once per process
 * (media_init) and is thread-safe after that.
 */
#ifndef KITH_CORE_MEDIA_H
#define KITH_CORE_MEDIA_H

#include "../base/blurhash.h"
#include "../base/config.h"
#include "../base/str.h"

#include <stdint.h>

enum media_kind { MEDIA_IMAGE = 0, MEDIA_GIFV = 1, MEDIA_VIDEO = 2, MEDIA_AUDIO = 3 };

#define MEDIA_PREVIEW_SIZE 400 /* the preview fits in this many pixels each way */

struct media_file {
    int kind;          /* enum media_kind */
    char mime[32];     /* of the stored file */
    char file[80];     /* SHA-256 hex + extension, under data_dir/media */
    char preview[96];  /* the preview's file name, or "" (audio, video) */
    int width, height; /* images: of the stored file */
    int small_width, small_height;
    char blurhash[BLURHASH_MAX]; /* images; "" otherwise */
    uint64_t size;               /* bytes stored */
};

/* Starts libvips (argv0: for its messages); KITH_EIO when it cannot. */
int media_init(const char *argv0);
void media_shutdown(void);

/* The type of bytes by their first bytes: "image/jpeg", "image/png",
 * "image/gif", "image/webp", "video/mp4", "video/quicktime", "video/webm",
 * "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac", "audio/mp4"; NULL
 * when none of these. kind receives its enum media_kind. */
const char *media_sniff(struct str bytes, int *kind);

/* Checks bytes against cfg's limits, then stores them as described above
 * in dir (created when missing). KITH_EINVAL (an unknown or forged type, an
 * image that does not decode), KITH_ETOOBIG (over a limit) or KITH_EIO, with
 * a sentence for the person in why. */
int media_import(const struct kith_config *cfg, const char *dir, struct str bytes,
                 struct media_file *out, char *why, size_t whylen);

/* An image made to fit box x box (a square crop when crop), stored as
 * media_import stores one: for avatars and headers. */
int media_import_fitted(const struct kith_config *cfg, const char *dir, struct str bytes, int width,
                        int height, struct media_file *out, char *why, size_t whylen);

#endif
