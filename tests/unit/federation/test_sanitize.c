/* tests/unit/federation/test_sanitize.c: the HTML allow-list against hostile input. */
#include "../helpers.h"

#include "../../../federation/sanitize.h"
#include "../../../src/base/arena.h"
#include "../../../src/base/err.h"

static const struct {
    const char *in, *out;
} cases[] = {
    {"<p>Hello <strong>world</strong></p>", "<p>Hello <strong>world</strong></p>"},
    {"<p>a<br>b<br/>c</p>", "<p>a<br>b<br>c</p>"},
    {"<script>alert(1)</script><p>ok</p>", "<p>ok</p>"},
    {"<p onclick=\"x()\" style=\"color:red\" class=\"c\">t</p>", "<p>t</p>"},
    {"<a href=\"https://e.x/\" onmouseover=\"x\">l</a>",
     "<a href=\"https://e.x/\" rel=\"nofollow noopener noreferrer\">l</a>"},
    {"<a href=\"javascript:alert(1)\">l</a>", "<a rel=\"nofollow noopener noreferrer\">l</a>"},
    {"<a href=\" JavaScript:alert(1)\">l</a>", "<a rel=\"nofollow noopener noreferrer\">l</a>"},
    {"<a href=\"data:text/html,x\">l</a>", "<a rel=\"nofollow noopener noreferrer\">l</a>"},
    {"<a href=\"mailto:a@b.c\" rel=\"me\" target=\"_blank\">m</a>",
     "<a href=\"mailto:a@b.c\" rel=\"nofollow noopener noreferrer\">m</a>"},
    {"<img src=x onerror=alert(1)>text", "text"},
    {"<iframe src=\"https://evil\"></iframe><style>p{}</style>x", "x"},
    {"<div><section><p>kept</p></section></div>", "<p>kept</p>"},
    {"<!-- secret --><p>c</p>", "<p>c</p>"},
    {"<p>1 &lt; 2 &amp; 3 &gt; 0 &quot;q&quot;</p>", "<p>1 &lt; 2 &amp; 3 &gt; 0 \"q\"</p>"},
    {"<span class=\"h-card\"><a href=\"https://m.x/@a\" class=\"u-url "
     "mention\">@<span>a</span></a></span>",
     "<span class=\"h-card\"><a href=\"https://m.x/@a\" class=\"u-url mention\" "
     "rel=\"nofollow noopener noreferrer\">@<span>a</span></a></span>"},
    {"<ol start=\"3\" reversed type=\"a\"><li value=\"5\" id=\"i\">x</li></ol>",
     "<ol start=\"3\" reversed=\"\"><li value=\"5\">x</li></ol>"},
    {"<pre><code>int main() { return a&lt;b; }</code></pre>",
     "<pre><code>int main() { return a&lt;b; }</code></pre>"},
    {"<a href=\"https://e.x/?a=1&amp;q=&quot;x&quot;\">q</a>",
     "<a href=\"https://e.x/?a=1&amp;q=&quot;x&quot;\" rel=\"nofollow noopener noreferrer\">q</a>"},
    {"plain text", "plain text"},
    {"", ""},
    {"<p>unclosed <b>bold", "<p>unclosed <b>bold</b></p>"},
    {"<svg><script>alert(1)</script></svg><math><mi>x</mi></math>ok", "ok"},
    {"<form action=\"x\"><input name=p></form>after", "after"},
    {"<p>caf\xc3\xa9 \xe2\x9c\x93</p>", "<p>caf\xc3\xa9 \xe2\x9c\x93</p>"},
};

static void test_sanitize_allow_list(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1 << 16);
        int rc = sanitize_html(str_from(cases[i].in), &b);
        if (rc != KITH_OK || strcmp(b.data ? b.data : "", cases[i].out) != 0)
            fail_msg("case %zu: %s\n  got  '%s'\n  want '%s'", i, cases[i].in, b.data ? b.data : "",
                     cases[i].out);
        buf_free(&b);
    }
}

static void test_sanitize_deep_nesting_and_ceiling(void **state)
{
    (void)state;
    struct buf in, out;
    buf_init(&in, 1 << 20);
    for (int i = 0; i < 200; i++)
        buf_add_cstr(&in, "<b>");
    buf_add_cstr(&in, "deep");
    buf_init(&out, 1 << 20);
    assert_int_equal(sanitize_html(buf_str(&in), &out), 0);
    assert_non_null(strstr(out.data, "deep")); /* flattened past MAX_DEPTH, text kept */
    buf_free(&out);
    /* Absurd nesting: libxml2 stops parsing at its own depth limit; no crash. */
    for (int i = 0; i < 5000; i++)
        buf_add_cstr(&in, "<i>");
    buf_init(&out, 1 << 20);
    int rc = sanitize_html(buf_str(&in), &out);
    assert_true(rc == KITH_OK || rc == KITH_EINVAL);
    buf_free(&out);
    /* The output ceiling is respected and the buffer keeps what it had. */
    buf_init(&out, 64);
    buf_add_cstr(&out, "keep");
    assert_int_equal(sanitize_html(buf_str(&in), &out), KITH_ETOOBIG);
    assert_string_equal(out.data, "keep");
    buf_free(&out);
    buf_free(&in);
}

static void test_sanitize_random_bytes_never_crash(void **state)
{
    (void)state;
    unsigned seed = 99;
    static const char alphabet[] = "<>/=\"' abpscriptahref:javascript&;#x";
    for (int n = 0; n < 3000; n++) {
        char html[300];
        size_t len = (size_t)(rand_r(&seed) % (int)(sizeof(html) - 1));
        for (size_t i = 0; i < len; i++)
            html[i] = alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
        html[len] = '\0';
        struct buf out;
        buf_init(&out, 1 << 16);
        int rc = sanitize_html(str_make(html, len), &out);
        assert_true(rc == KITH_OK || rc == KITH_EINVAL);
        assert_null(out.data ? strstr(out.data, "<script") : NULL);
        assert_null(out.data ? strstr(out.data, "javascript:") : NULL);
        buf_free(&out);
    }
}

static void test_first_line_title(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    static const struct {
        const char *html, *title;
    } t[] = {
        {"<p><span class=\"h-card\"><a href=\"https://k.x/c/cats\" class=\"u-url mention\">@<span>"
         "cats</span></a></span> Hello world</p><p>second</p>",
         "Hello world"},
        {"<p>@cats@k.x @bob Fish &amp; chips<br>more</p>", "Fish & chips"},
        {"<p>one line only</p>", "one line only"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct str got = html_first_line(&a, str_from(t[i].html));
        if (!str_eq_cstr(got, t[i].title))
            fail_msg("case %zu: got '%.*s'", i, (int)got.len, got.ptr);
    }
    /* 200 bytes at most, and a character at the limit is not cut in half. */
    char long_html[600] = "<p>";
    for (int i = 0; i < 150; i++)
        strcat(long_html, "\xc3\xa9"); /* 2 bytes each */
    strcat(long_html, "x</p>");
    struct str got = html_first_line(&a, str_from(long_html));
    assert_true(got.len <= 200);
    assert_int_equal(got.len % 2, 0);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_line_title),
        cmocka_unit_test(test_sanitize_allow_list),
        cmocka_unit_test(test_sanitize_deep_nesting_and_ceiling),
        cmocka_unit_test(test_sanitize_random_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
