/* tests/unit/storage/test_record.c: the versioned record encoding. */
#include "../helpers.h"

#include "../../../src/base/err.h"
#include "../../../storage/records.h"

static void test_record_account_round_trip(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct buf b;
    struct account in = {0}, out;
    in.id = 0x0123456789abcdefull;
    in.name = STR_LIT("alice");
    in.display_name = STR_LIT("Alice \xc3\xa9");
    in.note = STR_LIT("<p>hi</p>");
    in.password_hash = STR_LIT("$argon2id$v=19$m=19456,t=2,p=1$abc$def");
    in.role = ROLE_ADMIN;
    in.state = ACCOUNT_SUSPENDED;
    in.bot = true;
    in.created_at = 1764000000;
    in.updated_at = -5; /* negative times survive zig-zag */
    buf_init(&b, RECORD_MAX_BYTES);
    assert_int_equal(record_encode(&account_desc, &in, &b), 0);
    assert_int_equal((uint8_t)b.data[0], REC_ACCOUNT);
    assert_int_equal(record_decode(&account_desc, buf_str(&b), &a, &out), 0);
    assert_int_equal(out.id, in.id);
    assert_true(str_eq(out.name, in.name));
    assert_true(str_eq(out.display_name, in.display_name));
    assert_true(str_eq(out.note, in.note));
    assert_true(str_eq(out.password_hash, in.password_hash));
    assert_int_equal(out.role, ROLE_ADMIN);
    assert_int_equal(out.state, ACCOUNT_SUSPENDED);
    assert_true(out.bot);
    assert_false(out.locked);
    assert_int_equal(out.created_at, in.created_at);
    assert_int_equal(out.updated_at, -5);
    /* Absent strings decode as empty, never NULL. */
    assert_non_null(out.email.ptr);
    assert_int_equal(out.email.len, 0);
    buf_free(&b);
    arena_release(&a);
}

static void test_record_every_kind_round_trips(void **state)
{
    (void)state;
    const struct record_desc *descs[] = {&account_desc,      &community_desc, &membership_desc,
                                         &post_desc,         &vote_desc,      &follow_desc,
                                         &notification_desc, &oauth_app_desc, &oauth_token_desc,
                                         &activity_desc,     &delivery_desc,  &host_desc};
    for (size_t k = 0; k < sizeof(descs) / sizeof(descs[0]); k++) {
        const struct record_desc *d = descs[k];
        unsigned char *in = calloc(1, d->size), *out = calloc(1, d->size);
        struct arena a = ARENA_INIT;
        struct buf b;
        /* Give every field a distinct non-zero value. */
        for (size_t i = 0; i < d->nfields; i++) {
            void *p = in + d->fields[i].offset;
            switch (d->fields[i].type) {
            case FT_U64: {
                uint64_t v = 1000003ull * (i + 1);
                memcpy(p, &v, 8);
                break;
            }
            case FT_U32: {
                uint32_t v = (uint32_t)(i + 7);
                memcpy(p, &v, 4);
                break;
            }
            case FT_U8:
                *(uint8_t *)p = (uint8_t)(i + 1);
                break;
            case FT_BOOL:
                *(bool *)p = true;
                break;
            case FT_I64: {
                int64_t v = -(int64_t)(i + 1) * 99;
                memcpy(p, &v, 8);
                break;
            }
            case FT_STR: {
                char *s = arena_printf(&a, "field-%zu", i);
                struct str v = str_from(s);
                memcpy(p, &v, sizeof(v));
                break;
            }
            }
        }
        buf_init(&b, RECORD_MAX_BYTES);
        assert_int_equal(record_encode(d, in, &b), 0);
        assert_int_equal(record_decode(d, buf_str(&b), &a, out), 0);
        for (size_t i = 0; i < d->nfields; i++) {
            size_t off = d->fields[i].offset;
            if (d->fields[i].type == FT_STR) {
                struct str x, y;
                memcpy(&x, in + off, sizeof(x));
                memcpy(&y, out + off, sizeof(y));
                if (!str_eq(x, y))
                    fail_msg("%s field %zu differs", d->name, i);
            } else {
                size_t n = d->fields[i].type == FT_U64 || d->fields[i].type == FT_I64 ? 8
                           : d->fields[i].type == FT_U32                              ? 4
                           : d->fields[i].type == FT_U8                               ? 1
                                                        : sizeof(bool);
                if (memcmp(in + off, out + off, n) != 0)
                    fail_msg("%s field %zu differs", d->name, i);
            }
        }
        buf_free(&b);
        arena_release(&a);
        free(in);
        free(out);
    }
}

/* A record written by "version 1" of a kind with two fields decodes under
 * "version 2", which added a third, with the new field defaulted and the
 * upgrade hook called. */
struct v2 {
    uint64_t id;
    struct str name;
    int64_t score;
};
static int upgraded_from;
static void upgrade_v2(void *rec, uint8_t from)
{
    upgraded_from = from;
    ((struct v2 *)rec)->score = 1;
}
static const struct field_desc v1_fields[] = {{1, FT_U64, offsetof(struct v2, id)},
                                              {2, FT_STR, offsetof(struct v2, name)}};
static const struct field_desc v2_fields[] = {{1, FT_U64, offsetof(struct v2, id)},
                                              {2, FT_STR, offsetof(struct v2, name)},
                                              {3, FT_I64, offsetof(struct v2, score)}};
static const struct record_desc v1_desc = {"t", 99, 1, sizeof(struct v2), v1_fields, 2, NULL};
static const struct record_desc v2_desc = {"t", 99, 2, sizeof(struct v2), v2_fields, 3, upgrade_v2};

static void test_record_old_version_decodes_with_defaults(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct buf b;
    struct v2 in = {42, STR_LIT("old"), 0}, out;
    buf_init(&b, 1024);
    assert_int_equal(record_encode(&v1_desc, &in, &b), 0);
    assert_int_equal((uint8_t)b.data[1], 1);
    upgraded_from = -1;
    assert_int_equal(record_decode(&v2_desc, buf_str(&b), &a, &out), 0);
    assert_int_equal(out.id, 42);
    assert_true(str_eq_cstr(out.name, "old"));
    assert_int_equal(out.score, 1);
    assert_int_equal(upgraded_from, 1);
    buf_free(&b);
    arena_release(&a);
}

static void test_record_newer_fields_are_skipped(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct buf b;
    struct v2 in = {7, STR_LIT("new"), -300}, out;
    buf_init(&b, 1024);
    assert_int_equal(record_encode(&v2_desc, &in, &b), 0);
    /* An older build reads a newer record: it keeps what it knows. */
    assert_int_equal(record_decode(&v1_desc, buf_str(&b), &a, &out), 0);
    assert_int_equal(out.id, 7);
    assert_true(str_eq_cstr(out.name, "new"));
    assert_int_equal(out.score, 0);
    buf_free(&b);
    arena_release(&a);
}

static void test_record_corrupt_input_is_rejected(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    struct v2 out;
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"empty", "", 0},
        {"header only kind", "\x63", 1},
        {"wrong kind", "\x01\x01", 2},
        {"truncated varint", "\x63\x01\x08\x80", 4},
        {"string past end",
         "\x63\x01\x12\x05"
         "ab",
         6},
        {"wire type 5", "\x63\x01\x0d\x01", 4},
        {"known tag, wrong wire",
         "\x63\x01\x0a\x01"
         "a",
         5},
        {"varint over 64 bits", "\x63\x01\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 13},
        {"key without value", "\x63\x01\x08", 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (record_decode(&v2_desc, str_make(cases[i].bytes, cases[i].len), &a, &out) !=
            KITH_ECORRUPT)
            fail_msg("case '%s' was accepted", cases[i].what);
    /* Range checks of small types. */
    struct membership m;
    assert_int_equal(record_decode(&membership_desc, str_make("\x03\x01\x18\x80\x02", 5), &a, &m),
                     KITH_ECORRUPT); /* role = 256 does not fit a u8 */
    assert_int_equal(record_decode(&membership_desc, str_make("\x03\x01\x20\x02", 4), &a, &m),
                     KITH_ECORRUPT); /* banned = 2 is not a bool */
    arena_release(&a);
}

static void test_record_random_bytes_never_crash(void **state)
{
    (void)state;
    unsigned seed = 12345;
    unsigned char bytes[64];
    struct arena a = ARENA_INIT;
    struct post p;
    for (int n = 0; n < 20000; n++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(bytes));
        for (size_t i = 0; i < len; i++)
            bytes[i] = (unsigned char)rand_r(&seed);
        if (len >= 2 && n % 2)
            bytes[0] = REC_POST;
        int rc = record_decode(&post_desc, str_make(bytes, len), &a, &p);
        assert_true(rc == KITH_OK || rc == KITH_ECORRUPT);
        if (n % 1000 == 0)
            arena_release(&a);
    }
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_account_round_trip),
        cmocka_unit_test(test_record_every_kind_round_trips),
        cmocka_unit_test(test_record_old_version_decodes_with_defaults),
        cmocka_unit_test(test_record_newer_fields_are_skipped),
        cmocka_unit_test(test_record_corrupt_input_is_rejected),
        cmocka_unit_test(test_record_random_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
