/* tests/unit/base/test_buf.c: the buffer encoders: HTML escaping and
 * base64url (RFC 4648 section 10 vectors, and the URL-safe alphabet). */
#include "../helpers.h"

#include "../../../src/base/buf.h"

#include <string.h>

static void expect_b64url(const char *in, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(buf_add_base64url(&b, (const unsigned char *)in, n), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

static void test_base64url_vectors(void **state)
{
    (void)state;
    expect_b64url("", 0, "");
    expect_b64url("f", 1, "Zg");
    expect_b64url("fo", 2, "Zm8");
    expect_b64url("foo", 3, "Zm9v");
    expect_b64url("foob", 4, "Zm9vYg");
    expect_b64url("fooba", 5, "Zm9vYmE");
    expect_b64url("foobar", 6, "Zm9vYmFy");
    expect_b64url("\xfb\xff\xbf", 3, "-_-_"); /* the URL-safe characters */
}

static void test_html_escaping(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(buf_add_html(&b, STR_LIT("<a href=\"x\">Tom & Jerry's</a>")), 0);
    const char *want = "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url_vectors),
        cmocka_unit_test(test_html_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
