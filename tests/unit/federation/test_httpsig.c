/* tests/unit/federation/test_httpsig.c: HTTP Signatures against the
 * published test vectors of draft-cavage-12 (Appendix C) and RFC 9421
 * (Appendix B), and kith's own rules on top of them. */
#include "../helpers.h"

#include "../../../federation/httpsig.h"
#include "../../../src/base/err.h"

#include <ctype.h>
#include <openssl/pem.h>
#include <strings.h>

#define VEC "tests/unit/federation/vectors/"

static char *slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), VEC "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    static char buf[8][16384];
    static int next;
    char *b = buf[next++ % 8];
    size_t n = fread(b, 1, sizeof(buf[0]) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static EVP_PKEY *load_pub(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), VEC "%s", name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* ---- a request: headers as parsed from the vectors' request text ---- */

struct req {
    char names[16][64];
    char values[16][1024];
    int n;
};

static struct str req_header(void *ctx, const char *name)
{
    struct req *r = ctx;
    for (int i = 0; i < r->n; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return str_from(r->values[i]);
    return STR_NULL;
}

static void req_add(struct req *r, const char *name, const char *value)
{
    snprintf(r->names[r->n], sizeof(r->names[0]), "%s", name);
    snprintf(r->values[r->n], sizeof(r->values[0]), "%s", value);
    r->n++;
}

/* Parses the RFC 9421 test request into headers, method, target and body. */
static void parse_request(const char *text, struct req *r, struct httpsig_msg *m, char *target,
                          const char **body)
{
    memset(r, 0, sizeof(*r));
    const char *sp = strchr(text, ' ');
    const char *sp2 = strchr(sp + 1, ' ');
    snprintf(target, 256, "%.*s", (int)(sp2 - sp - 1), sp + 1);
    const char *line = strchr(text, '\n') + 1;
    while (*line && *line != '\n') {
        const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');
        char name[64], value[256];
        snprintf(name, sizeof(name), "%.*s", (int)(colon - line), line);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        snprintf(value, sizeof(value), "%.*s", (int)(eol - v), v);
        req_add(r, name, value);
        line = eol + 1;
    }
    *body = line + 1;
    memset(m, 0, sizeof(*m));
    m->method = STR_LIT("POST");
    m->target = str_from(target);
    m->scheme = STR_LIT("https");
    m->authority = STR_LIT("example.com");
    m->header = req_header;
    m->ctx = r;
    m->body = str_from(*body);
    m->now = 1618884473;
}

/* Splits a vector file (input:, signature:, base:) and adds the two headers. */
static const char *load_example(const char *file, struct req *r)
{
    char *text = slurp(file);
    char *input = strstr(text, "input: ") + 7;
    char *sig = strstr(text, "signature: ") + 11;
    char *base = strstr(text, "base:\n") + 6;
    *strchr(input, '\n') = '\0';
    *strchr(sig, '\n') = '\0';
    size_t bl = strlen(base);
    if (bl && base[bl - 1] == '\n')
        base[bl - 1] = '\0';
    req_add(r, "Signature-Input", input);
    req_add(r, "Signature", sig);
    return base;
}

/* ---- draft-cavage-12 Appendix C ---- */

static void test_cavage_default_and_basic_vectors_verify(void **state)
{
    (void)state;
    EVP_PKEY *key = load_pub("cavage-test-pub.pem");
    struct arena a = ARENA_INIT;
    struct httpsig s;
    char why[256];

    /* C.1 Default Test: only the date is signed. */
    char *def = slurp("cavage-default.txt");
    char *nl = strchr(def, '\n');
    *nl = '\0';
    char *sig = nl + 1;
    sig[strcspn(sig, "\n")] = '\0';
    struct req r = {0};
    req_add(&r, "Date", "Sun, 05 Jan 2014 21:31:40 GMT");
    char value[512];
    snprintf(value, sizeof(value), "keyId=\"Test\",algorithm=\"rsa-sha256\",signature=\"%s\"", sig);
    req_add(&r, "Signature", value);
    struct httpsig_msg m = {STR_LIT("POST"),
                            STR_LIT("/foo?param=value&pet=dog"),
                            STR_LIT("https"),
                            STR_LIT("example.com"),
                            req_header,
                            &r,
                            STR_NULL,
                            1388957500,
                            HTTPSIG_SKIP_COVERAGE | HTTPSIG_SKIP_DIGEST};
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), 0);
    assert_string_equal(s.base.ptr, def);
    assert_true(str_eq_cstr(s.key_id, "Test"));
    assert_int_equal(httpsig_verify(&s, key, why, sizeof(why)), 0);

    /* C.2 Basic Test: (request-target) host date. */
    char *basic = slurp("cavage-basic.txt");
    char *base = strchr(basic, '\n') + 1;
    char *sigline = strstr(base, "signature=");
    sigline[-1] = '\0';
    sig = sigline + 10;
    sig[strcspn(sig, "\n")] = '\0';
    memset(&r, 0, sizeof(r));
    req_add(&r, "Host", "example.com");
    req_add(&r, "Date", "Sun, 05 Jan 2014 21:31:40 GMT");
    snprintf(value, sizeof(value),
             "keyId=\"Test\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\","
             "signature=\"%s\"",
             sig);
    req_add(&r, "Signature", value);
    m.skip = HTTPSIG_SKIP_DIGEST; /* coverage and freshness are checked */
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), 0);
    assert_string_equal(s.base.ptr, base);
    assert_int_equal(httpsig_verify(&s, key, why, sizeof(why)), 0);

    /* Another date: same signature, different base, no match. */
    snprintf(r.values[1], sizeof(r.values[1]), "Sun, 05 Jan 2014 21:31:41 GMT");
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), 0);
    assert_int_equal(httpsig_verify(&s, key, why, sizeof(why)), KITH_EDENIED);
    /* More than twelve hours later it is stale. */
    m.now = 1388957501 + 12 * 3600 + 1;
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    assert_non_null(strstr(why, "12 hours"));
    /* kith's rule for a POST: the digest must be covered. */
    m.now = 1388957500;
    m.skip = 0;
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    assert_non_null(strstr(why, "digest"));
    EVP_PKEY_free(key);
    arena_release(&a);
}

/* ---- RFC 9421 Appendix B ---- */

static void check_example(const char *file, const char *keyfile, unsigned skip, bool expect_ok)
{
    struct req r;
    struct httpsig_msg m;
    struct arena a = ARENA_INIT;
    struct httpsig s;
    char target[256], why[256];
    const char *body;
    parse_request(slurp("rfc9421-test-request.txt"), &r, &m, target, &body);
    const char *base = load_example(file, &r);
    m.skip = skip;
    EVP_PKEY *key = load_pub(keyfile);
    int rc = httpsig_prepare(&m, &a, &s, why, sizeof(why));
    if (!expect_ok) {
        assert_int_equal(rc, KITH_EDENIED);
    } else {
        if (rc)
            fail_msg("%s: %s", file, why);
        assert_int_equal(s.scheme, HTTPSIG_RFC9421);
        assert_string_equal(s.base.ptr, base);
        /* These examples name no alg: the verifier knows the key's algorithm
         * (RFC 9421 3.2), and test-key-rsa-pss is an RSA-PSS key. */
        if (s.alg == SIGALG_FROM_KEY && strstr(keyfile, "rsa-pss"))
            s.alg = SIGALG_RSA_PSS_SHA512;
        if (httpsig_verify(&s, key, why, sizeof(why)))
            fail_msg("%s: %s", file, why);
    }
    EVP_PKEY_free(key);
    arena_release(&a);
}

static void test_rfc9421_examples_build_the_published_base_and_verify(void **state)
{
    (void)state;
    const unsigned lax = HTTPSIG_SKIP_COVERAGE | HTTPSIG_SKIP_DIGEST;
    check_example("rfc9421-b21.txt", "rfc9421-test-key-rsa-pss-pub.pem", lax, true);
    check_example("rfc9421-b22.txt", "rfc9421-test-key-rsa-pss-pub.pem", lax, true);
    check_example("rfc9421-b26.txt", "rfc9421-test-key-ed25519-pub.pem", lax, true);
    /* B.2.3 covers everything kith asks for: it passes every check. */
    check_example("rfc9421-b23.txt", "rfc9421-test-key-rsa-pss-pub.pem", 0, true);
}

static void test_rfc9421_kith_rules_refuse_weak_coverage(void **state)
{
    (void)state;
    /* B.2.1 covers nothing; B.2.2 no @method; B.2.6 no content-digest. */
    check_example("rfc9421-b21.txt", "rfc9421-test-key-rsa-pss-pub.pem", 0, false);
    check_example("rfc9421-b22.txt", "rfc9421-test-key-rsa-pss-pub.pem", 0, false);
    check_example("rfc9421-b26.txt", "rfc9421-test-key-ed25519-pub.pem", 0, false);
}

static void test_rfc9421_tampered_body_and_wrong_key_fail(void **state)
{
    (void)state;
    struct req r;
    struct httpsig_msg m;
    struct arena a = ARENA_INIT;
    struct httpsig s;
    char target[256], why[256];
    const char *body;
    parse_request(slurp("rfc9421-test-request.txt"), &r, &m, target, &body);
    load_example("rfc9421-b23.txt", &r);
    m.body = STR_LIT("{\"hello\": \"World\"}");
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    assert_non_null(strstr(why, "content-digest"));
    m.body = str_from(body);
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), 0);
    EVP_PKEY *ed = load_pub("rfc9421-test-key-ed25519-pub.pem");
    assert_int_equal(httpsig_verify(&s, ed, why, sizeof(why)), KITH_EDENIED);
    EVP_PKEY *other = load_pub("cavage-test-pub.pem");
    assert_int_equal(httpsig_verify(&s, other, why, sizeof(why)), KITH_EDENIED);
    /* Stale. */
    m.now += 13 * 3600;
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(other);
    arena_release(&a);
}

/* ---- kith's own signing, verified by its own verifier with every check ---- */

static void test_cavage_sign_then_verify_round_trip(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    struct arena a = ARENA_INIT;
    struct httpsig s;
    struct buf sig;
    char digest[64], why[256];
    const char *body = "{\"type\":\"Follow\"}";
    httpsig_digest(str_from(body), digest);
    buf_init(&sig, 4096);
    assert_int_equal(httpsig_sign_cavage(key, STR_LIT("https://a.test/u/x#main-key"),
                                         STR_LIT("POST"), STR_LIT("/inbox"), STR_LIT("b.test"),
                                         STR_LIT("Thu, 26 Nov 2026 18:00:00 GMT"), str_from(digest),
                                         &sig),
                     0);
    /* The reusable signing context (the delivery engine's) signs the same
     * bytes: PKCS#1 v1.5 is deterministic. */
    EVP_PKEY_CTX *pctx = httpsig_sign_ctx_new(key);
    assert_non_null(pctx);
    for (int i = 0; i < 2; i++) {
        struct buf again;
        buf_init(&again, 4096);
        assert_int_equal(httpsig_sign_cavage_ctx(
                             pctx, STR_LIT("https://a.test/u/x#main-key"), STR_LIT("POST"),
                             STR_LIT("/inbox"), STR_LIT("b.test"),
                             STR_LIT("Thu, 26 Nov 2026 18:00:00 GMT"), str_from(digest), &again),
                         0);
        assert_true(str_eq(buf_str(&again), buf_str(&sig)));
        buf_free(&again);
    }
    EVP_PKEY_CTX_free(pctx);
    struct req r = {0};
    req_add(&r, "Host", "b.test");
    req_add(&r, "Date", "Thu, 26 Nov 2026 18:00:00 GMT");
    req_add(&r, "Digest", digest);
    req_add(&r, "Signature", sig.data);
    struct httpsig_msg m = {STR_LIT("POST"),   STR_LIT("/inbox"), STR_LIT("https"),
                            STR_LIT("b.test"), req_header,        &r,
                            str_from(body),    1795716000,        0};
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), 0);
    assert_true(str_eq_cstr(s.key_id, "https://a.test/u/x#main-key"));
    assert_int_equal(httpsig_verify(&s, key, why, sizeof(why)), 0);
    /* The body changed in transit. */
    m.body = STR_LIT("{\"type\":\"Block\"}");
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    /* Unsigned. */
    r.n = 3;
    m.body = str_from(body);
    assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
    assert_non_null(strstr(why, "not signed"));
    buf_free(&sig);
    EVP_PKEY_free(key);
    arena_release(&a);
}

static void test_hostile_signature_headers_never_crash(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "",
        "=",
        "sig1",
        "sig1=",
        "sig1=(",
        "sig1=(\"@method\"",
        "sig1=(\"@method\" \"x",
        "sig1=();keyid",
        "sig1=();keyid=\"",
        "sig1=(\"\\\")",
        "a=(),b=(),c=()",
        "sig1=(\"@method\" \"@target-uri\");created=99999999999999999999;keyid=\"k\"",
    };
    static const char *const sigs[] = {
        "", "sig1", "sig1=:", "sig1=::", "sig1=:!!!:", "sig1=:AAAA:", "x=:AA==:, sig1=:AAAA:"};
    unsigned seed = 7;
    struct arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        for (size_t j = 0; j < sizeof(sigs) / sizeof(sigs[0]); j++) {
            struct req r = {0};
            struct httpsig s;
            char why[256];
            req_add(&r, "Signature-Input", inputs[i]);
            req_add(&r, "Signature", sigs[j]);
            struct httpsig_msg m = {STR_LIT("POST"),
                                    STR_LIT("/inbox"),
                                    STR_LIT("https"),
                                    STR_LIT("b.test"),
                                    req_header,
                                    &r,
                                    STR_LIT("x"),
                                    1,
                                    0};
            assert_int_equal(httpsig_prepare(&m, &a, &s, why, sizeof(why)), KITH_EDENIED);
        }
    for (int n = 0; n < 3000; n++) { /* random cavage parameter strings */
        struct req r = {0};
        struct httpsig s;
        char why[256], v[200];
        size_t len = (size_t)(rand_r(&seed) % 199);
        for (size_t k = 0; k < len; k++)
            v[k] = "keyIdalgorithmheaderssignature=\",(request-target) "[rand_r(&seed) % 50];
        v[len] = '\0';
        req_add(&r, "Signature", v);
        req_add(&r, "Date", "Thu, 01 Jan 1970 00:00:01 GMT");
        struct httpsig_msg m = {STR_LIT("GET"),
                                STR_LIT("/"),
                                STR_LIT("https"),
                                STR_LIT("b.test"),
                                req_header,
                                &r,
                                STR_NULL,
                                1,
                                0};
        int rc = httpsig_prepare(&m, &a, &s, why, sizeof(why));
        assert_true(rc == KITH_OK || rc == KITH_EDENIED);
        if (n % 500 == 0)
            arena_release(&a);
    }
    arena_release(&a);
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char out[16];
    struct buf b;
    assert_int_equal(b64_decode(STR_LIT("aGVsbG8="), out, sizeof(out)), 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(b64_decode(STR_LIT("aGVsbG8"), out, sizeof(out)), 5);
    assert_int_equal(b64_decode(STR_LIT("a"), out, sizeof(out)), -1);
    assert_int_equal(b64_decode(STR_LIT("a!=="), out, sizeof(out)), -1);
    assert_int_equal(b64_decode(STR_LIT("AAAAAAAAAAAAAAAAAAAAAAAA"), out, 4), -1);
    buf_init(&b, 64);
    b64_encode((const unsigned char *)"hello", 5, &b);
    assert_string_equal(b.data, "aGVsbG8=");
    buf_free(&b);
    char d[64];
    httpsig_digest(STR_LIT("{\"hello\": \"world\"}"), d);
    assert_string_equal(d, "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cavage_default_and_basic_vectors_verify),
        cmocka_unit_test(test_rfc9421_examples_build_the_published_base_and_verify),
        cmocka_unit_test(test_rfc9421_kith_rules_refuse_weak_coverage),
        cmocka_unit_test(test_rfc9421_tampered_body_and_wrong_key_fail),
        cmocka_unit_test(test_cavage_sign_then_verify_round_trip),
        cmocka_unit_test(test_hostile_signature_headers_never_crash),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
