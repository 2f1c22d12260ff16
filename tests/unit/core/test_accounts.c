/* tests/unit/core/test_accounts.c: names, passwords and the account rules
 * through the core functions kithd and kithctl share. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../src/core/core.h"

static void test_core_name_rules(void **state)
{
    (void)state;
    struct core_result res;
    const char *good[] = {"a", "alice", "Alice_2", "x123456789012345678901234567890" + 1};
    const char *bad[] = {"",
                         "al ice",
                         "al-ice",
                         "al.ice",
                         "\xc3\xa9t\xc3\xa9",
                         "actor",
                         "Instance",
                         "x1234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (core_check_name(str_from(good[i]), &res))
            fail_msg("'%s' refused: %s", good[i], res.msg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (core_check_name(str_from(bad[i]), &res) == KITH_OK)
            fail_msg("'%s' accepted", bad[i]);
}

static void test_core_password_hash_and_verify(void **state)
{
    (void)state;
    char hash[160], pw[21];
    assert_int_equal(core_random_password(pw, sizeof(pw)), 0);
    assert_int_equal(strlen(pw), 20);
    assert_int_equal(core_password_hash(str_from(pw), hash, sizeof(hash)), 0);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_int_equal(core_password_verify(str_from(pw), str_from(hash)), 0);
    assert_int_equal(core_password_verify(STR_LIT("wrong password"), str_from(hash)), KITH_EDENIED);
    assert_int_equal(core_password_verify(str_from(pw), STR_LIT("garbage")), KITH_EDENIED);
}

static void test_core_users_and_communities_share_names(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), err[256], pw[32];
    struct store *st;
    struct writer *w;
    struct core_result res;
    assert_int_equal(store_open(dir, 1 << 24, STORE_CREATE, clock_system(), &st, err, sizeof(err)),
                     0);
    assert_int_equal(writer_start(st, &w), 0);
    struct core c = {st, w, NULL};
    assert_int_equal(core_user_add(&c, STR_LIT("Bob"), STR_NULL, false, pw, sizeof(pw), &res), 0);
    assert_int_equal(core_user_add(&c, STR_LIT("bob"), STR_LIT("password1"), false, NULL, 0, &res),
                     KITH_EEXIST);
    assert_non_null(strstr(res.msg, "already taken by a user"));
    assert_int_equal(core_community_add(&c, STR_LIT("BOB"), STR_LIT("bob"), STR_NULL, &res),
                     KITH_EEXIST);
    assert_int_equal(core_community_add(&c, STR_LIT("cats"), STR_LIT("nobody"), STR_NULL, &res),
                     KITH_ENOTFOUND);
    assert_non_null(strstr(res.msg, "unknown user 'nobody'"));
    assert_int_equal(core_community_add(&c, STR_LIT("cats"), STR_LIT("bob"), STR_LIT("Cats"), &res),
                     0);
    assert_int_equal(core_user_add(&c, STR_LIT("Cats"), STR_LIT("password1"), false, NULL, 0, &res),
                     KITH_EEXIST);
    assert_non_null(strstr(res.msg, "already taken by a community"));
    assert_int_equal(core_user_add(&c, STR_LIT("eve"), STR_LIT("short"), false, NULL, 0, &res),
                     KITH_EINVAL);

    /* The owner became the community's owner member. */
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct community cm;
    struct account bob;
    struct membership m;
    assert_int_equal(store_read_begin(st, &txn), 0);
    assert_int_equal(community_get_local(txn, STR_LIT("CATS"), &a, &cm), 0);
    assert_int_equal(account_get_local(txn, STR_LIT("bob"), &a, &bob), 0);
    assert_int_equal(cm.owner_id, bob.id);
    assert_int_equal(membership_get(txn, cm.id, bob.id, &a, &m), 0);
    assert_int_equal(m.role, MEMBER_OWNER);
    assert_int_equal(core_password_verify(str_from(pw), bob.password_hash), 0);
    kv_txn_abort(txn);
    arena_release(&a);

    /* State changes and their refusals. */
    assert_int_equal(core_user_approve(&c, STR_LIT("bob"), &res), KITH_EINVAL);
    assert_int_equal(core_user_suspend(&c, STR_LIT("bob"), true, &res), 0);
    assert_int_equal(core_user_suspend(&c, STR_LIT("bob"), true, &res), KITH_EINVAL);
    assert_int_equal(core_user_suspend(&c, STR_LIT("bob"), false, &res), 0);
    assert_int_equal(core_user_role(&c, STR_LIT("ghost"), ROLE_ADMIN, &res), KITH_ENOTFOUND);
    assert_int_equal(core_user_role(&c, STR_LIT("bob"), ROLE_MODERATOR, &res), 0);
    writer_stop(w);
    store_close(st);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_name_rules),
        cmocka_unit_test(test_core_password_hash_and_verify),
        cmocka_unit_test(test_core_users_and_communities_share_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
