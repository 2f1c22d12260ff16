/* tests/unit/federation/test_hosttab.c: per-host delivery state, past a full table. */
#include "../helpers.h"

#include "../../../federation/hosttab.h"
#include "../../../src/base/mem.h"

static struct hoststate *get(struct hosttab *t, const char *name)
{
    return hosttab_get(t, str_from(name), 4);
}

static void test_hosttab_finds_what_it_made(void **state)
{
    (void)state;
    struct hosttab *t = xcalloc(1, sizeof(*t));
    struct hoststate *a = get(t, "a.example"), *b = get(t, "b.example:8443");
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_string_equal(a->name, "a.example");
    assert_int_equal(a->window, 4);
    a->window = 9;
    a->in_flight = 2;
    assert_ptr_equal(get(t, "a.example"), a);
    assert_int_equal(get(t, "a.example")->window, 9);
    assert_ptr_equal(get(t, "b.example:8443"), b);
    free(t);
}

/* More distinct hosts than entries over time: idle hosts make room; busy
 * hosts keep their entries (jobs point at them) and their state. */
static void test_hosttab_reuses_idle_entries(void **state)
{
    (void)state;
    struct hosttab *t = xcalloc(1, sizeof(*t));
    char name[64];
    struct hoststate *busy = get(t, "busy.example");
    busy->in_flight = 3;
    busy->window = 7;
    for (int i = 0; i < 3 * HOSTTAB_SLOTS; i++) {
        snprintf(name, sizeof(name), "h%d.example", i);
        struct hoststate *s = get(t, name);
        assert_non_null(s);
        assert_string_equal(s->name, name);
        assert_int_equal(s->in_flight, 0);
        assert_int_equal(s->window, 4);
        assert_ptr_equal(get(t, name), s); /* found again, not made twice */
    }
    assert_ptr_equal(get(t, "busy.example"), busy);
    assert_int_equal(busy->in_flight, 3);
    assert_int_equal(busy->window, 7);
    /* Every entry busy: no room, reported as NULL, nothing overwritten. */
    for (int i = 0; i < HOSTTAB_SLOTS; i++)
        t->slots[i].in_flight = t->slots[i].state ? 1 : 0;
    for (int i = 0; i < HOSTTAB_SLOTS * 2; i++) {
        snprintf(name, sizeof(name), "full%d.example", i);
        struct hoststate *s = get(t, name);
        if (s)
            s->in_flight = 1;
    }
    assert_null(get(t, "one-more.example"));
    assert_ptr_equal(get(t, "busy.example"), busy);
    assert_int_equal(busy->window, 7);
    free(t);
}

/* A name longer than an entry holds is cut the same way each time, so it
 * still maps to one entry. */
static void test_hosttab_long_name(void **state)
{
    (void)state;
    struct hosttab *t = xcalloc(1, sizeof(*t));
    char name[400];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct hoststate *s = get(t, name);
    assert_non_null(s);
    assert_ptr_equal(get(t, name), s);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosttab_finds_what_it_made),
        cmocka_unit_test(test_hosttab_reuses_idle_entries),
        cmocka_unit_test(test_hosttab_long_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
