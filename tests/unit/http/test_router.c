/* tests/unit/http/test_router.c: routes as data. */
#include "../helpers.h"

#include "../../../src/http/router.h"

static int h1(struct http_ctx *c)
{
    (void)c;
    return 1;
}

static int h2(struct http_ctx *c)
{
    (void)c;
    return 2;
}

static const struct route routes[] = {
    {"GET", "/health", h1, 0, NULL},
    {"GET", "/api/v1/accounts/{id}", h1, 0, NULL},
    {"POST", "/api/v1/accounts/{id}/follow", h2, 0, NULL},
    {"GET", "/api/v1/accounts/{id}/statuses", h2, 0, NULL},
    {"DELETE", "/api/v1/statuses/{id}", h2, 0, NULL},
    {"PUT", "/api/v1/statuses/{id}", h1, 0, NULL},
    {"GET", "/c/{name}/p/{post}", h2, 0, NULL},
};
#define N (sizeof(routes) / sizeof(routes[0]))

static enum route_result m(const char *method, const char *path, const struct route **r,
                           struct route_params *p, char *allow)
{
    return router_match(routes, N, str_from(method), str_from(path), r, p, allow, 64);
}

static void test_router_matches_literals_and_params(void **state)
{
    (void)state;
    const struct route *r;
    struct route_params p;
    char allow[64];
    assert_int_equal(m("GET", "/health", &r, &p, allow), ROUTE_FOUND);
    assert_ptr_equal(r, &routes[0]);
    assert_int_equal(m("GET", "/api/v1/accounts/123", &r, &p, allow), ROUTE_FOUND);
    assert_ptr_equal(r, &routes[1]);
    assert_true(str_eq_cstr(route_param(&p, "id"), "123"));
    assert_int_equal(m("POST", "/api/v1/accounts/9/follow", &r, &p, allow), ROUTE_FOUND);
    assert_ptr_equal(r, &routes[2]);
    assert_int_equal(m("GET", "/c/cats/p/77", &r, &p, allow), ROUTE_FOUND);
    assert_true(str_eq_cstr(route_param(&p, "name"), "cats"));
    assert_true(str_eq_cstr(route_param(&p, "post"), "77"));
    assert_null(route_param(&p, "missing").ptr);
}

static void test_router_ignores_one_trailing_slash_and_maps_head_to_get(void **state)
{
    (void)state;
    const struct route *r;
    struct route_params p;
    char allow[64];
    assert_int_equal(m("GET", "/health/", &r, &p, allow), ROUTE_FOUND);
    assert_int_equal(m("HEAD", "/health", &r, &p, allow), ROUTE_FOUND);
}

static void test_router_not_found(void **state)
{
    (void)state;
    const struct route *r;
    struct route_params p;
    char allow[64];
    static const char *const misses[] = {
        "/",
        "/healthz",
        "/health/x",
        "/api/v1/accounts",
        "/api/v1/accounts/",
        "/api/v1/accounts//statuses",
        "/c/cats/p",
        "/HEALTH",
        "",
    };
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
        if (m("GET", misses[i], &r, &p, allow) != ROUTE_NOT_FOUND)
            fail_msg("'%s' matched", misses[i]);
}

static void test_router_bad_method_lists_allowed(void **state)
{
    (void)state;
    const struct route *r;
    struct route_params p;
    char allow[64];
    assert_int_equal(m("POST", "/api/v1/statuses/5", &r, &p, allow), ROUTE_BAD_METHOD);
    assert_string_equal(allow, "DELETE, PUT");
    assert_int_equal(m("DELETE", "/health", &r, &p, allow), ROUTE_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_matches_literals_and_params),
        cmocka_unit_test(test_router_ignores_one_trailing_slash_and_maps_head_to_get),
        cmocka_unit_test(test_router_not_found),
        cmocka_unit_test(test_router_bad_method_lists_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
