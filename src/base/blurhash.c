/* src/base/blurhash.c: BlurHash encoding (see blurhash.h). Each component
 * is the image's projection on a cosine basis in linear light; the DC term
 * is sent as sRGB, the others quantised against the largest one, all in
 * base 83. */
#include "blurhash.h"

#include <math.h>

static const char digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

static char *base83(char *p, unsigned value, int len)
{
    for (int i = len - 1; i >= 0; i--) {
        p[i] = digits[value % 83];
        value /= 83;
    }
    return p + len;
}

static double to_linear(unsigned char c)
{
    double v = c / 255.0;
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static unsigned to_srgb(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double s = v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055;
    return (unsigned)(s * 255 + 0.5);
}

static double sign_sqrt(double v)
{
    return v < 0 ? -sqrt(-v) : sqrt(v);
}

size_t blurhash_encode(const unsigned char *rgb, int width, int height, size_t stride, int xc,
                       int yc, char *out)
{
    if (!rgb || width < 1 || height < 1 || xc < 1 || xc > 9 || yc < 1 || yc > 9)
        return 0;
    double f[81][3];
    double lin[256];
    for (int i = 0; i < 256; i++)
        lin[i] = to_linear((unsigned char)i);
    for (int j = 0; j < yc; j++)
        for (int i = 0; i < xc; i++) {
            double r = 0, g = 0, b = 0;
            for (int y = 0; y < height; y++) {
                double by = cos(M_PI * j * y / height);
                const unsigned char *row = rgb + (size_t)y * stride;
                for (int x = 0; x < width; x++) {
                    double basis = cos(M_PI * i * x / width) * by;
                    r += basis * lin[row[3 * x]];
                    g += basis * lin[row[3 * x + 1]];
                    b += basis * lin[row[3 * x + 2]];
                }
            }
            double scale = (i == 0 && j == 0 ? 1.0 : 2.0) / ((double)width * height);
            double *c = f[j * xc + i];
            c[0] = r * scale;
            c[1] = g * scale;
            c[2] = b * scale;
        }
    char *p = out;
    p = base83(p, (unsigned)((xc - 1) + (yc - 1) * 9), 1);
    int n = xc * yc;
    double max_value = 1;
    if (n > 1) {
        double actual = 0;
        for (int k = 1; k < n; k++)
            for (int c = 0; c < 3; c++)
                actual = fabs(f[k][c]) > actual ? fabs(f[k][c]) : actual;
        int q = (int)floor(actual * 166 - 0.5);
        q = q < 0 ? 0 : q > 82 ? 82 : q;
        max_value = (q + 1) / 166.0;
        p = base83(p, (unsigned)q, 1);
    } else {
        p = base83(p, 0, 1);
    }
    p = base83(p, to_srgb(f[0][0]) << 16 | to_srgb(f[0][1]) << 8 | to_srgb(f[0][2]), 4);
    for (int k = 1; k < n; k++) {
        unsigned q[3];
        for (int c = 0; c < 3; c++) {
            double v = floor(sign_sqrt(f[k][c] / max_value) * 9 + 9.5);
            q[c] = (unsigned)(v < 0 ? 0 : v > 18 ? 18 : v);
        }
        p = base83(p, q[0] * 19 * 19 + q[1] * 19 + q[2], 2);
    }
    *p = 0;
    return (size_t)(p - out);
}
