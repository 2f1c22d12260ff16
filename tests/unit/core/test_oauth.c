/* tests/unit/core/test_oauth.c: OAuth scopes (Mastodon's rules) and the
 * random secrets tokens are made of. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../src/core/oauth.h"

#include <string.h>

static void test_scopes_parse_normalises_and_refuses_unknown(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct core_result res;
    struct str out;
    assert_int_equal(scopes_parse(STR_LIT("read+write follow  push read"), &a, &out, &res), 0);
    assert_true(str_eq_cstr(out, "read write follow push"));
    assert_int_equal(scopes_parse(STR_LIT(""), &a, &out, &res), 0);
    assert_true(str_eq_cstr(out, "read")); /* Mastodon's default */
    assert_int_equal(scopes_parse(STR_LIT("read:statuses write:media"), &a, &out, &res), 0);
    assert_true(str_eq_cstr(out, "read:statuses write:media"));
    assert_int_equal(scopes_parse(STR_LIT("read everything"), &a, &out, &res), KITH_EINVAL);
    assert_non_null(strstr(res.msg, "everything"));
    arena_release(&a);
}

static void test_scope_allows_follows_mastodon(void **state)
{
    (void)state;
    assert_true(scope_allows(STR_LIT("read write"), "read:statuses"));
    assert_true(scope_allows(STR_LIT("read:statuses"), "read:statuses"));
    assert_false(scope_allows(STR_LIT("read:statuses"), "read:accounts"));
    assert_false(scope_allows(STR_LIT("read"), "write:statuses"));
    assert_true(scope_allows(STR_LIT("follow"), "write:follows"));
    assert_false(scope_allows(STR_LIT("follow"), "write:statuses"));
    assert_true(scope_allows(STR_LIT("admin:read"), "admin:read:accounts"));
    assert_false(scope_allows(STR_LIT("read"), "admin:read:accounts"));
    assert_false(scope_allows(STR_LIT("profile"), "read:accounts"));
    assert_true(scopes_subset(STR_LIT("read push"), STR_LIT("read write follow push")));
    assert_false(scopes_subset(STR_LIT("read admin:read"), STR_LIT("read write")));
}

static void test_random_secrets_are_url_safe_and_distinct(void **state)
{
    (void)state;
    char a[OAUTH_SECRET_LEN + 1], b[OAUTH_SECRET_LEN + 1];
    assert_int_equal(oauth_random(a), 0);
    assert_int_equal(oauth_random(b), 0);
    assert_int_equal(strlen(a), OAUTH_SECRET_LEN);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < OAUTH_SECRET_LEN; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    char h[65];
    oauth_hash_hex(STR_LIT("abc"), h); /* FIPS 180-2 test vector */
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes_parse_normalises_and_refuses_unknown),
        cmocka_unit_test(test_scope_allows_follows_mastodon),
        cmocka_unit_test(test_random_secrets_are_url_safe_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
