/* src/base/blurhash.h: the BlurHash of an image (blurha.sh), the short
 * string Mastodon clients paint while the image loads.
 *
 * Layer: base. Pure computation on RGB pixels; no allocation.
 */
#ifndef KITH_BASE_BLURHASH_H
#define KITH_BASE_BLURHASH_H

#include <stddef.h>

#define BLURHASH_MAX 64 /* bytes, with the NUL, for up to 9 x 9 components */

/* Encodes width x height RGB pixels (3 bytes each, rows stride bytes apart,
 * sRGB) with xc x yc components (1..9 each) into out (>= BLURHASH_MAX).
 * Returns the length, or 0 for bad arguments. Cost: O(w * h * xc * yc):
 * give it a small image (Mastodon's clients decode at 32 px anyway). */
size_t blurhash_encode(const unsigned char *rgb, int width, int height, size_t stride, int xc,
                       int yc, char *out);

#endif
