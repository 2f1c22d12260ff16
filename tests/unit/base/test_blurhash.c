/* tests/unit/base/test_blurhash.c: BlurHash against python3-blurhash (the
 * reference implementation's C core, from Debian): the expected strings
 * were made with blurhash.encode on the same pixels. */
#include "../helpers.h"

#include "../../../src/base/blurhash.h"

#include <string.h>

/* 8 x 6: r = 30x, g = 40y, b = 7xy (mod 256). */
static void gradient(unsigned char *px)
{
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 8; x++) {
            unsigned char *p = px + 3 * (y * 8 + x);
            p[0] = (unsigned char)(x * 30 % 256);
            p[1] = (unsigned char)(y * 40 % 256);
            p[2] = (unsigned char)(x * y * 7 % 256);
        }
}

static void test_matches_the_reference(void **state)
{
    (void)state;
    unsigned char px[8 * 6 * 3];
    char out[BLURHASH_MAX];
    gradient(px);
    assert_int_equal(blurhash_encode(px, 8, 6, 8 * 3, 4, 3, out), 28);
    assert_string_equal(out, "LcE.,z31a{%1zDNOfQnPenf9fQf6");
}

static void test_one_component_and_stride(void **state)
{
    (void)state;
    /* 2 x 1 grey, rows padded to 8 bytes: the DC term alone. */
    unsigned char px[8] = {128, 128, 128, 128, 128, 128, 0xEE, 0xEE};
    char out[BLURHASH_MAX];
    assert_int_equal(blurhash_encode(px, 2, 1, 8, 1, 1, out), 6);
    assert_int_equal(out[0], '0'); /* size flag: 1 x 1 */
    assert_int_equal(out[1], '0'); /* no AC terms */
}

static void test_refuses_bad_arguments(void **state)
{
    (void)state;
    unsigned char px[3] = {0, 0, 0};
    char out[BLURHASH_MAX];
    assert_int_equal(blurhash_encode(px, 1, 1, 3, 0, 3, out), 0);
    assert_int_equal(blurhash_encode(px, 1, 1, 3, 10, 3, out), 0);
    assert_int_equal(blurhash_encode(px, 0, 1, 3, 4, 3, out), 0);
    assert_int_equal(blurhash_encode(NULL, 1, 1, 3, 4, 3, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_the_reference),
        cmocka_unit_test(test_one_component_and_stride),
        cmocka_unit_test(test_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
