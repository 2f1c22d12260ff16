/* tests/unit/base/test_netaddr.c: addresses and CIDR ranges. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../src/base/netaddr.h"

static bool in(const char *cidr, const char *addr)
{
    struct cidr c;
    struct ipaddr a;
    assert_int_equal(cidr_parse(str_from(cidr), &c), 0);
    assert_int_equal(ipaddr_parse(str_from(addr), &a), 0);
    return cidr_contains(&c, &a);
}

static void test_netaddr_cidr_matching(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("192.168.1.0/25", "192.168.1.127"));
    assert_false(in("192.168.1.0/25", "192.168.1.128"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_true(in("fd00::/8", "fd12:3456::1"));
    assert_true(in("::1", "[::1]"));
    /* IPv4-mapped IPv6 matches IPv4 ranges. */
    assert_true(in("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_false(in("::1/128", "127.0.0.1"));
}

static void test_netaddr_rejects_garbage(void **state)
{
    (void)state;
    struct cidr c;
    struct ipaddr a;
    const char *bad[] = {"",        "1.2.3", "1.2.3.4/",   "1.2.3.4/33",
                         "::1/129", "x",     "1.2.3.4/8x", "localhost"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cidr_parse(str_from(bad[i]), &c) == KITH_OK)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_not_equal(ipaddr_parse(STR_LIT("256.1.1.1"), &a), 0);
}

static void test_netaddr_private_ranges(void **state)
{
    (void)state;
    const char *priv[] = {"127.0.0.1",   "10.1.2.3",   "172.16.0.1",     "192.168.0.1",
                          "169.254.1.1", "::1",        "fd00::1",        "fe80::1",
                          "0.0.0.0",     "100.64.0.1", "::ffff:10.0.0.1"};
    const char *pub[] = {"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "172.32.0.1"};
    struct ipaddr a;
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        assert_int_equal(ipaddr_parse(str_from(priv[i]), &a), 0);
        if (!ipaddr_is_private(&a))
            fail_msg("%s not private", priv[i]);
    }
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        assert_int_equal(ipaddr_parse(str_from(pub[i]), &a), 0);
        if (ipaddr_is_private(&a))
            fail_msg("%s private", pub[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_cidr_matching),
        cmocka_unit_test(test_netaddr_rejects_garbage),
        cmocka_unit_test(test_netaddr_private_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
