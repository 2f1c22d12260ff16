/* tests/unit/base/test_config.c: the kith.conf parser. */
#include "../helpers.h"

#include "../../../src/base/config.h"
#include "../../../src/base/err.h"

static int parse(struct kith_config *cfg, const char *text, char *err, size_t n)
{
    return config_parse(cfg, "t.conf", text, strlen(text), err, n);
}

static void test_config_defaults_are_a_local_instance(void **state)
{
    (void)state;
    struct kith_config cfg;
    char err[256];
    assert_int_equal(parse(&cfg, "", err, sizeof(err)), 0);
    assert_string_equal(cfg.domain, "localhost:8080");
    assert_string_equal(cfg.public_url, "http://localhost:8080");
    assert_int_equal(cfg.nlistens, 1);
    assert_int_equal(cfg.listens[0].port, 8080);
    assert_false(cfg.listens[0].tls);
    assert_int_equal(cfg.map_size, (uint64_t)64 << 30);
    assert_int_equal(cfg.registrations, REG_APPROVAL);
    assert_false(cfg.allow_private_addresses);
    assert_true(config_threads(&cfg) >= 1);
    config_free(&cfg);
}

static void test_config_parses_every_key(void **state)
{
    (void)state;
    struct kith_config cfg;
    char err[256];
    const char *text = "# comment\n"
                       "domain = Example.COM\n"
                       "listen = 0.0.0.0:443 tls   # trailing comment\n"
                       "listen = [::1]:8080\n"
                       "tls_cert = /etc/kith/cert.pem\n"
                       "tls_key = /etc/kith/key.pem\n"
                       "\n"
                       "data_dir = /var/lib/kith\n"
                       "map_size = 2G\n"
                       "threads = 3\n"
                       "timeout = 15\n"
                       "max_body_bytes = 2M\n"
                       "max_header_bytes = 32K\n"
                       "rate_limit = 10/60\n"
                       "ca_file = /etc/ssl/extra.pem\n"
                       "resolve = peer.test:8443:127.0.0.2\n"
                       "resolve = v6.test:443:[::1]\n"
                       "allow_private_addresses = yes\n"
                       "trusted_proxies = 127.0.0.1/32, 10.0.0.0/8 ::1\n"
                       "registrations = open\n"
                       "title = C# and F# # a comment after a space\n"
                       "description = A place for cats\n"
                       "contact_email = admin@example.com\n";
    assert_int_equal(parse(&cfg, text, err, sizeof(err)), 0);
    assert_string_equal(cfg.domain, "example.com");
    assert_string_equal(cfg.public_url, "https://example.com");
    assert_int_equal(cfg.nlistens, 2);
    assert_true(cfg.listens[0].tls);
    assert_int_equal(cfg.listens[0].port, 443);
    assert_int_equal(cfg.listens[1].addr.family, 10 /* AF_INET6 */);
    assert_string_equal(cfg.data_dir, "/var/lib/kith");
    assert_int_equal(cfg.map_size, (uint64_t)2 << 30);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(config_threads(&cfg), 3);
    assert_int_equal(cfg.timeout_secs, 15);
    assert_int_equal(cfg.max_body_bytes, 2 << 20);
    assert_int_equal(cfg.max_header_bytes, 32 << 10);
    assert_int_equal(cfg.rate_limit_burst, 10);
    assert_int_equal(cfg.rate_limit_secs, 60);
    assert_int_equal(cfg.nresolves, 2);
    assert_string_equal(cfg.resolves[0].host, "peer.test");
    assert_int_equal(cfg.resolves[0].port, 8443);
    assert_true(cfg.allow_private_addresses);
    assert_int_equal(cfg.ntrusted, 3);
    assert_int_equal(cfg.trusted_proxies[1].bits, 8);
    assert_int_equal(cfg.registrations, REG_OPEN);
    assert_string_equal(cfg.title, "C# and F#");
    assert_string_equal(cfg.contact_email, "admin@example.com");
    config_free(&cfg);
}

static void test_config_public_url_override_and_trailing_slash(void **state)
{
    (void)state;
    struct kith_config cfg;
    char err[256];
    assert_int_equal(parse(&cfg, "domain = kith.test:8443\npublic_url = https://kith.test:8443/\n",
                           err, sizeof(err)),
                     0);
    assert_string_equal(cfg.public_url, "https://kith.test:8443");
    config_free(&cfg);
}

struct bad_case {
    const char *text;
    const char *expect; /* substring of the message */
};

static void test_config_rejects_bad_input_with_file_and_line(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"domain = a\nbogus = 1\n", "t.conf:2: unknown key 'bogus'"},
        {"no equals sign\n", "t.conf:1: expected 'key = value'"},
        {"map_size = lots\n", "t.conf:1: map_size"},
        {"threads = -1\n", "t.conf:1: threads"},
        {"listen = 127.0.0.1\n", "t.conf:1: listen"},
        {"listen = 127.0.0.1:99999\n", "t.conf:1: listen: port must be 1-65535"},
        {"listen = example.com:80\n", "t.conf:1: listen"},
        {"listen = 127.0.0.1:80 ssl\n", "t.conf:1: listen"},
        {"public_url = ftp://x\n", "t.conf:1: public_url"},
        {"public_url = https://x/path\n", "t.conf:1: public_url"},
        {"domain = bad_host!\n", "t.conf:1: domain"},
        {"registrations = maybe\n", "t.conf:1: registrations"},
        {"allow_private_addresses = perhaps\n", "t.conf:1: allow_private_addresses"},
        {"trusted_proxies = 10.0.0.0/33\n", "t.conf:1: trusted_proxies"},
        {"resolve = host:80\n", "t.conf:1: resolve"},
        {"rate_limit = 10\n", "t.conf:1: rate_limit"},
        {"contact_email = nobody\n", "t.conf:1: contact_email"},
        {"timeout = 0\n", "t.conf:1: timeout"},
        {"listen = 127.0.0.1:443 tls\n", "marked tls but tls_cert or tls_key is not set"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kith_config cfg;
        char err[256] = "";
        int rc = parse(&cfg, cases[i].text, err, sizeof(err));
        if (rc == 0 || !strstr(err, cases[i].expect))
            fail_msg("case %zu (%s): rc=%d err='%s'", i, cases[i].text, rc, err);
        assert_null(strchr(err, '\n'));
        config_free(&cfg);
    }
}

static void test_config_unreadable_file_names_it(void **state)
{
    (void)state;
    struct kith_config cfg;
    char err[256];
    assert_int_not_equal(config_load(&cfg, "/nonexistent/kith.conf", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "/nonexistent/kith.conf"));
    assert_non_null(strstr(err, "cannot read"));
    config_free(&cfg);
}

static void test_config_relative_data_dir_follows_the_file(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/kith.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("data_dir = mydata\n", f);
    fclose(f);
    struct kith_config cfg;
    assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
    char want[600];
    snprintf(want, sizeof(want), "%s/mydata", dir);
    assert_string_equal(cfg.data_dir, want);
    config_free(&cfg);
    rm_tree(dir);
}

static void test_config_durations(void **state)
{
    (void)state;
    uint64_t v;
    struct kith_config cfg;
    char err[256];
    assert_int_equal(config_parse_duration(STR_LIT("250ms"), &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(config_parse_duration(STR_LIT("3d"), &v), 0);
    assert_int_equal(v, 3ull * 24 * 3600 * 1000);
    assert_int_not_equal(config_parse_duration(STR_LIT("3"), &v), 0);
    assert_int_not_equal(config_parse_duration(STR_LIT("3w"), &v), 0);
    assert_int_equal(config_parse(&cfg, "t.conf",
                                  "delivery_retry_base = 200ms\ndelivery_give_up_after = 5s\n"
                                  "delivery_dead_after = 2s\n",
                                  strlen("delivery_retry_base = 200ms\ndelivery_give_up_after = "
                                         "5s\ndelivery_dead_after = 2s\n"),
                                  err, sizeof(err)),
                     0);
    assert_int_equal(cfg.delivery_retry_base_ms, 200);
    assert_int_equal(cfg.delivery_give_up_after_ms, 5000);
    assert_int_equal(cfg.delivery_dead_after_ms, 2000);
    config_free(&cfg);
    assert_int_not_equal(parse(&cfg, "delivery_retry_base = soon\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "t.conf:1: delivery_retry_base"));
    config_free(&cfg);
}

static void test_config_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(config_parse_size(STR_LIT("64G"), &v), 0);
    assert_int_equal(v, (uint64_t)64 << 30);
    assert_int_equal(config_parse_size(STR_LIT("512MiB"), &v), 0);
    assert_int_equal(v, (uint64_t)512 << 20);
    assert_int_equal(config_parse_size(STR_LIT("100"), &v), 0);
    assert_int_equal(v, 100);
    assert_int_not_equal(config_parse_size(STR_LIT("12X"), &v), 0);
    assert_int_not_equal(config_parse_size(STR_LIT("99999999999999999999"), &v), 0);
    assert_int_not_equal(config_parse_size(STR_LIT("20000000T"), &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_are_a_local_instance),
        cmocka_unit_test(test_config_parses_every_key),
        cmocka_unit_test(test_config_public_url_override_and_trailing_slash),
        cmocka_unit_test(test_config_rejects_bad_input_with_file_and_line),
        cmocka_unit_test(test_config_unreadable_file_names_it),
        cmocka_unit_test(test_config_relative_data_dir_follows_the_file),
        cmocka_unit_test(test_config_sizes),
        cmocka_unit_test(test_config_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
