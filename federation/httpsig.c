/* federation/httpsig.c: HTTP Signatures (draft-cavage-12 and RFC 9421). */
#include "httpsig.h"

#include "../src/base/err.h"

#include <ctype.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_COMPONENTS 32

static int deny(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int deny(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return KITH_EDENIED;
}

/* ---- base64 ---- */

long b64_decode(struct str in, unsigned char *out, size_t outlen)
{
    static const signed char tab[256] = {
        ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
        ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
        ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
        ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
        ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
        ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
        ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
        ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
        ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
        ['/'] = 64,
    };
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0, i = 0, len = in.len;

    while (len && in.ptr[len - 1] == '=')
        len--;
    if (in.len - len > 2)
        return -1;
    for (; i < len; i++) {
        int v = tab[(unsigned char)in.ptr[i]];
        if (v == 0)
            return -1;
        acc = (acc << 6) | (uint32_t)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= outlen)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6) /* a lone sextet cannot come from whole bytes */
        return -1;
    return (long)n;
}

void b64_encode(const unsigned char *in, size_t n, struct buf *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        char q[4] = {alpha[(v >> 18) & 63], alpha[(v >> 12) & 63],
                     i + 1 < n ? alpha[(v >> 6) & 63] : '=', i + 2 < n ? alpha[v & 63] : '='};
        buf_add(out, q, 4);
    }
}

/* ---- small parsers ---- */

static struct str skip_ws(struct str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    return s;
}

/* "Sun, 05 Jan 2014 21:31:40 GMT" -> Unix seconds; -1 if malformed. */
static int64_t parse_http_date(struct str v)
{
    char tmp[64];
    struct tm tm;
    if (v.len == 0 || v.len >= sizeof(tmp))
        return -1;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    return (int64_t)timegm(&tm);
}

static bool fresh(int64_t t, int64_t now)
{
    return t >= now - HTTPSIG_MAX_SKEW && t <= now + HTTPSIG_MAX_SKEW;
}

static int parse_int(struct str v, int64_t *out)
{
    int64_t n = 0;
    if (v.len == 0 || v.len > 15)
        return KITH_EINVAL;
    for (size_t i = 0; i < v.len; i++) {
        if (!isdigit((unsigned char)v.ptr[i]))
            return KITH_EINVAL;
        n = n * 10 + (v.ptr[i] - '0');
    }
    *out = n;
    return KITH_OK;
}

static void sha(const EVP_MD *md, struct str body, unsigned char *out, unsigned *outlen)
{
    EVP_Digest(body.ptr, body.len, out, outlen, md, NULL);
}

void httpsig_digest(struct str body, char out[64])
{
    unsigned char h[32];
    unsigned n = 0;
    struct buf b;
    sha(EVP_sha256(), body, h, &n);
    buf_init(&b, 64);
    buf_add_cstr(&b, "SHA-256=");
    b64_encode(h, n, &b);
    snprintf(out, 64, "%s", b.data);
    buf_free(&b);
}

/* Compares a base64 digest value with the digest of body under md. */
static bool digest_matches(const EVP_MD *md, struct str b64, struct str body)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    long wl = b64_decode(b64, want, sizeof(want));
    sha(md, body, got, &n);
    return wl == (long)n && CRYPTO_memcmp(want, got, n) == 0;
}

static const EVP_MD *digest_alg(struct str name)
{
    if (str_eq_nocase(name, STR_LIT("sha-256")))
        return EVP_sha256();
    if (str_eq_nocase(name, STR_LIT("sha-512")))
        return EVP_sha512();
    return NULL;
}

/* ---- draft-cavage ---- */

struct cavage_params {
    struct str key_id, algorithm, headers, signature, created, expires;
};

/* keyId="x",algorithm="y",headers="a b",signature="z",created=1 */
static int parse_cavage(struct str v, struct cavage_params *p)
{
    memset(p, 0, sizeof(*p));
    while (v.len) {
        v = skip_ws(v);
        while (v.len && (v.ptr[0] == ',' || v.ptr[0] == ' ')) {
            v.ptr++;
            v.len--;
        }
        if (!v.len)
            break;
        const char *eq = memchr(v.ptr, '=', v.len);
        if (!eq)
            return KITH_EINVAL;
        struct str name = str_trim(str_make(v.ptr, (size_t)(eq - v.ptr)));
        v = str_make(eq + 1, v.len - (size_t)(eq + 1 - v.ptr));
        struct str val;
        if (v.len && v.ptr[0] == '"') {
            const char *close = memchr(v.ptr + 1, '"', v.len - 1);
            if (!close)
                return KITH_EINVAL;
            val = str_make(v.ptr + 1, (size_t)(close - v.ptr - 1));
            v = str_make(close + 1, v.len - (size_t)(close + 1 - v.ptr));
        } else {
            const char *comma = memchr(v.ptr, ',', v.len);
            size_t n = comma ? (size_t)(comma - v.ptr) : v.len;
            val = str_trim(str_make(v.ptr, n));
            v = str_make(v.ptr + n, v.len - n);
        }
        if (str_eq_cstr(name, "keyId"))
            p->key_id = val;
        else if (str_eq_cstr(name, "algorithm"))
            p->algorithm = val;
        else if (str_eq_cstr(name, "headers"))
            p->headers = val;
        else if (str_eq_cstr(name, "signature"))
            p->signature = val;
        else if (str_eq_cstr(name, "created"))
            p->created = val;
        else if (str_eq_cstr(name, "expires"))
            p->expires = val;
    }
    return KITH_OK;
}

static bool has_token(struct str list, const char *tok)
{
    struct str t = str_from(tok);
    size_t i = 0;
    while (i < list.len) {
        while (i < list.len && list.ptr[i] == ' ')
            i++;
        size_t start = i;
        while (i < list.len && list.ptr[i] != ' ')
            i++;
        if (str_eq_nocase(str_make(list.ptr + start, i - start), t))
            return true;
    }
    return false;
}

/* Checks a Digest header (`SHA-256=...[, SHA-512=...]`) against the body:
 * at least one algorithm we know, and every one we know matches. */
static int check_digest(struct str v, struct str body, char *why, size_t whylen)
{
    int known = 0;
    size_t i = 0;
    while (i < v.len) {
        size_t start = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        struct str item = str_trim(skip_ws(str_make(v.ptr + start, i - start)));
        i++;
        const char *eq = memchr(item.ptr, '=', item.len);
        if (!eq)
            continue;
        const EVP_MD *md = digest_alg(str_make(item.ptr, (size_t)(eq - item.ptr)));
        if (!md)
            continue;
        known++;
        if (!digest_matches(md, str_make(eq + 1, item.len - (size_t)(eq + 1 - item.ptr)), body))
            return deny(why, whylen, "digest does not match the body");
    }
    return known ? KITH_OK : deny(why, whylen, "no SHA-256 or SHA-512 digest of the body");
}

static int prepare_cavage(const struct httpsig_msg *m, struct str value, struct arena *a,
                          struct httpsig *out, char *why, size_t whylen)
{
    struct cavage_params p;
    struct buf base;
    int rc;

    if (value.len > HTTPSIG_MAX_HEADER || parse_cavage(value, &p))
        return deny(why, whylen, "malformed Signature header");
    if (!p.key_id.len || !p.signature.len)
        return deny(why, whylen, "Signature lacks keyId or signature");
    if (!p.algorithm.len || str_eq_nocase(p.algorithm, STR_LIT("hs2019")))
        out->alg = SIGALG_FROM_KEY;
    else if (str_eq_nocase(p.algorithm, STR_LIT("rsa-sha256")))
        out->alg = SIGALG_RSA_SHA256;
    else
        return deny(why, whylen, "unsupported signature algorithm '%.*s'", (int)p.algorithm.len,
                    p.algorithm.ptr);
    struct str headers = p.headers.len ? p.headers : STR_LIT("date");
    bool body = !(m->skip & HTTPSIG_SKIP_DIGEST) &&
                (m->body.len > 0 || str_eq_nocase(m->method, STR_LIT("POST")));
    if (!(m->skip & HTTPSIG_SKIP_COVERAGE) &&
        (!has_token(headers, "(request-target)") || !has_token(headers, "host") ||
         !has_token(headers, "date") || (body && !has_token(headers, "digest"))))
        return deny(why, whylen, "signature must cover (request-target), host, date%s",
                    body ? " and digest" : "");
    if (!(m->skip & HTTPSIG_SKIP_FRESHNESS)) {
        int64_t t = parse_http_date(m->header(m->ctx, "date"));
        if (t < 0)
            return deny(why, whylen, "missing or malformed Date header");
        if (!fresh(t, m->now))
            return deny(why, whylen, "Date is more than 12 hours off");
    }
    if (p.created.len) {
        int64_t c;
        if (parse_int(p.created, &c) || (!(m->skip & HTTPSIG_SKIP_FRESHNESS) && !fresh(c, m->now)))
            return deny(why, whylen, "created is malformed or more than 12 hours off");
        out->created = c;
    }
    if (p.expires.len && !(m->skip & HTTPSIG_SKIP_FRESHNESS)) {
        int64_t e;
        if (parse_int(p.expires, &e) || e < m->now)
            return deny(why, whylen, "signature has expired");
    }
    if (body && (rc = check_digest(m->header(m->ctx, "digest"), m->body, why, whylen)))
        return rc;

    buf_init(&base, 64 << 10);
    size_t i = 0;
    rc = KITH_OK;
    while (i < headers.len && rc == KITH_OK) {
        while (i < headers.len && headers.ptr[i] == ' ')
            i++;
        size_t start = i;
        while (i < headers.len && headers.ptr[i] != ' ')
            i++;
        if (i == start)
            break;
        char name[64];
        size_t n = i - start;
        if (n >= sizeof(name)) {
            rc = deny(why, whylen, "signed header name too long");
            break;
        }
        for (size_t k = 0; k < n; k++)
            name[k] = (char)tolower((unsigned char)headers.ptr[start + k]);
        name[n] = '\0';
        if (base.len)
            buf_add_byte(&base, '\n');
        buf_add_cstr(&base, name);
        buf_add(&base, ": ", 2);
        if (strcmp(name, "(request-target)") == 0) {
            for (size_t k = 0; k < m->method.len; k++)
                buf_add_byte(&base, (uint8_t)tolower((unsigned char)m->method.ptr[k]));
            buf_add_byte(&base, ' ');
            buf_add_str(&base, m->target);
        } else if (strcmp(name, "(created)") == 0 && p.created.len) {
            buf_add_str(&base, p.created);
        } else if (strcmp(name, "(expires)") == 0 && p.expires.len) {
            buf_add_str(&base, p.expires);
        } else {
            struct str v = m->header(m->ctx, name);
            if (!v.ptr)
                rc = deny(why, whylen, "signed header '%s' is missing", name);
            else if (buf_add_str(&base, str_trim(v)))
                rc = deny(why, whylen, "signature base too long");
        }
    }
    if (rc == KITH_OK) {
        long sl = b64_decode(p.signature, out->sig, sizeof(out->sig));
        if (sl <= 0)
            rc = deny(why, whylen, "signature is not valid base64");
        else
            out->siglen = (size_t)sl;
    }
    if (rc == KITH_OK) {
        out->scheme = HTTPSIG_CAVAGE;
        out->key_id = arena_str(a, p.key_id);
        out->base = arena_str(a, buf_str(&base));
    }
    buf_free(&base);
    return rc;
}

/* ---- RFC 9421 (structured fields, the parts signatures use) ---- */

struct sf_component {
    struct str raw;    /* the component identifier as written: "\"@query-param\";name=\"Pet\"" */
    struct str name;   /* the string's content: @query-param */
    struct str params; /* everything after the closing quote: ;name="Pet" */
};

struct sf_sig_input {
    struct str label;
    struct str raw; /* the inner list with its parameters, as written */
    struct sf_component comps[MAX_COMPONENTS];
    size_t ncomps;
    struct str keyid, alg, created, expires;
};

/* Reads an sf-string at *s (which starts with '"'); no escapes are allowed
 * in what signatures use, so a backslash is refused. */
static int sf_string(struct str *s, struct str *out)
{
    if (!s->len || s->ptr[0] != '"')
        return KITH_EINVAL;
    for (size_t i = 1; i < s->len; i++) {
        if (s->ptr[i] == '\\' || (unsigned char)s->ptr[i] < 0x20)
            return KITH_EINVAL;
        if (s->ptr[i] == '"') {
            *out = str_make(s->ptr + 1, i - 1);
            s->ptr += i + 1;
            s->len -= i + 1;
            return KITH_OK;
        }
    }
    return KITH_EINVAL;
}

/* Reads parameters ";key[=value]" at *s; calls back for each. */
static int sf_params(struct str *s, struct sf_sig_input *in)
{
    while (s->len && s->ptr[0] == ';') {
        s->ptr++;
        s->len--;
        size_t i = 0;
        while (i < s->len &&
               (islower((unsigned char)s->ptr[i]) || isdigit((unsigned char)s->ptr[i]) ||
                s->ptr[i] == '_' || s->ptr[i] == '-' || s->ptr[i] == '.' || s->ptr[i] == '*'))
            i++;
        if (i == 0)
            return KITH_EINVAL;
        struct str key = str_make(s->ptr, i);
        s->ptr += i;
        s->len -= i;
        struct str val = STR_LIT("?1");
        if (s->len && s->ptr[0] == '=') {
            s->ptr++;
            s->len--;
            if (s->len && s->ptr[0] == '"') {
                if (sf_string(s, &val))
                    return KITH_EINVAL;
            } else {
                size_t j = 0;
                while (j < s->len && s->ptr[j] != ';' && s->ptr[j] != ',' && s->ptr[j] != ' ' &&
                       s->ptr[j] != ')')
                    j++;
                val = str_make(s->ptr, j);
                s->ptr += j;
                s->len -= j;
            }
        }
        if (!in)
            continue;
        if (str_eq_cstr(key, "keyid"))
            in->keyid = val;
        else if (str_eq_cstr(key, "alg"))
            in->alg = val;
        else if (str_eq_cstr(key, "created"))
            in->created = val;
        else if (str_eq_cstr(key, "expires"))
            in->expires = val;
    }
    return KITH_OK;
}

static int sf_label(struct str *s, struct str *label)
{
    size_t i = 0;
    while (i < s->len &&
           (islower((unsigned char)s->ptr[i]) || isdigit((unsigned char)s->ptr[i]) ||
            s->ptr[i] == '_' || s->ptr[i] == '-' || s->ptr[i] == '.' || s->ptr[i] == '*'))
        i++;
    if (i == 0 || i >= s->len || s->ptr[i] != '=')
        return KITH_EINVAL;
    *label = str_make(s->ptr, i);
    s->ptr += i + 1;
    s->len -= i + 1;
    return KITH_OK;
}

static void sf_next_member(struct str *s)
{
    *s = skip_ws(*s);
    if (s->len && s->ptr[0] == ',') {
        s->ptr++;
        s->len--;
    }
    *s = skip_ws(*s);
}

/* Parses the Signature-Input member labelled `want`. */
static int parse_sig_input(struct str v, struct str want, struct sf_sig_input *in)
{
    v = skip_ws(v);
    while (v.len) {
        struct str label;
        memset(in, 0, sizeof(*in));
        if (sf_label(&v, &label) || !v.len || v.ptr[0] != '(')
            return KITH_EINVAL;
        const char *start = v.ptr;
        v.ptr++;
        v.len--;
        for (;;) {
            v = skip_ws(v);
            if (v.len && v.ptr[0] == ')') {
                v.ptr++;
                v.len--;
                break;
            }
            if (in->ncomps == MAX_COMPONENTS)
                return KITH_EINVAL;
            struct sf_component *c = &in->comps[in->ncomps++];
            const char *cstart = v.ptr;
            if (sf_string(&v, &c->name))
                return KITH_EINVAL;
            const char *pstart = v.ptr;
            if (sf_params(&v, NULL))
                return KITH_EINVAL;
            c->params = str_make(pstart, (size_t)(v.ptr - pstart));
            c->raw = str_make(cstart, (size_t)(v.ptr - cstart));
            if (!v.len)
                return KITH_EINVAL;
        }
        if (sf_params(&v, in))
            return KITH_EINVAL;
        in->label = label;
        in->raw = str_make(start, (size_t)(v.ptr - start));
        if (str_eq(label, want))
            return KITH_OK;
        sf_next_member(&v);
    }
    return KITH_ENOTFOUND;
}

/* Finds `label=:base64:` in a Signature header; the first member when want is empty. */
static int parse_signature(struct str v, struct str *want, struct str *b64)
{
    v = skip_ws(v);
    while (v.len) {
        struct str label;
        if (sf_label(&v, &label) || !v.len || v.ptr[0] != ':')
            return KITH_EINVAL;
        const char *close = memchr(v.ptr + 1, ':', v.len - 1);
        if (!close)
            return KITH_EINVAL;
        struct str val = str_make(v.ptr + 1, (size_t)(close - v.ptr - 1));
        v = str_make(close + 1, v.len - (size_t)(close + 1 - v.ptr));
        if (sf_params(&v, NULL))
            return KITH_EINVAL;
        if (!want->len || str_eq(label, *want)) {
            *want = label;
            *b64 = val;
            return KITH_OK;
        }
        sf_next_member(&v);
    }
    return KITH_ENOTFOUND;
}

/* Checks Content-Digest (`sha-256=:...:, sha-512=:...:`) against the body. */
static int check_content_digest(struct str v, struct str body, char *why, size_t whylen)
{
    int known = 0;
    v = skip_ws(v);
    while (v.len) {
        struct str label;
        if (sf_label(&v, &label) || !v.len || v.ptr[0] != ':')
            return deny(why, whylen, "malformed Content-Digest");
        const char *close = memchr(v.ptr + 1, ':', v.len - 1);
        if (!close)
            return deny(why, whylen, "malformed Content-Digest");
        struct str val = str_make(v.ptr + 1, (size_t)(close - v.ptr - 1));
        v = str_make(close + 1, v.len - (size_t)(close + 1 - v.ptr));
        const EVP_MD *md = digest_alg(label);
        if (md) {
            known++;
            if (!digest_matches(md, val, body))
                return deny(why, whylen, "content-digest does not match the body");
        }
        sf_next_member(&v);
    }
    return known ? KITH_OK : deny(why, whylen, "no sha-256 or sha-512 content-digest");
}

static bool covers(const struct sf_sig_input *in, const char *name)
{
    for (size_t i = 0; i < in->ncomps; i++)
        if (str_eq_cstr(in->comps[i].name, name))
            return true;
    return false;
}

/* The value of a query parameter, as written in the query. */
static int query_param(struct str query, struct str params, struct str *out)
{
    struct str want = STR_NULL;
    const char *p = strstr(params.ptr, "name=\"");
    if (!p || p >= params.ptr + params.len)
        return KITH_EINVAL;
    p += 6;
    const char *q = memchr(p, '"', (size_t)(params.ptr + params.len - p));
    if (!q)
        return KITH_EINVAL;
    want = str_make(p, (size_t)(q - p));
    if (str_query_param(query, want, out))
        return KITH_OK;
    return KITH_ENOTFOUND;
}

static int prepare_rfc9421(const struct httpsig_msg *m, struct str input, struct str sigval,
                           struct arena *a, struct httpsig *out, char *why, size_t whylen)
{
    struct str label = STR_NULL, b64;
    struct sf_sig_input in;
    struct buf base;
    int rc = KITH_OK;

    if (input.len > HTTPSIG_MAX_HEADER || sigval.len > HTTPSIG_MAX_HEADER)
        return deny(why, whylen, "signature headers too long");
    if (parse_signature(sigval, &label, &b64))
        return deny(why, whylen, "malformed Signature header");
    if (parse_sig_input(input, label, &in))
        return deny(why, whylen, "Signature-Input has no valid entry for '%.*s'", (int)label.len,
                    label.ptr);
    if (!in.keyid.len)
        return deny(why, whylen, "Signature-Input lacks keyid");
    if (!in.alg.len)
        out->alg = SIGALG_FROM_KEY;
    else if (str_eq_cstr(in.alg, "rsa-v1_5-sha256"))
        out->alg = SIGALG_RSA_SHA256;
    else if (str_eq_cstr(in.alg, "rsa-pss-sha512"))
        out->alg = SIGALG_RSA_PSS_SHA512;
    else if (str_eq_cstr(in.alg, "ed25519"))
        out->alg = SIGALG_ED25519;
    else
        return deny(why, whylen, "unsupported signature algorithm '%.*s'", (int)in.alg.len,
                    in.alg.ptr);

    const char *qmark = memchr(m->target.ptr, '?', m->target.len);
    struct str path = qmark ? str_make(m->target.ptr, (size_t)(qmark - m->target.ptr)) : m->target;
    struct str query = qmark ? str_make(qmark + 1, m->target.len - path.len - 1) : STR_NULL;
    bool body = !(m->skip & HTTPSIG_SKIP_DIGEST) &&
                (m->body.len > 0 || str_eq_nocase(m->method, STR_LIT("POST")));
    /* The whole target: @target-uri, or the authority with the path and any query. */
    bool target = covers(&in, "@target-uri") ||
                  (covers(&in, "@authority") &&
                   (covers(&in, "@request-target") ||
                    (covers(&in, "@path") && (!qmark || covers(&in, "@query")))));
    if (!(m->skip & HTTPSIG_SKIP_COVERAGE) &&
        (!covers(&in, "@method") || !target || (body && !covers(&in, "content-digest"))))
        return deny(why, whylen,
                    "signature must cover @method, the target (@target-uri, or @authority with "
                    "@path and @query)%s",
                    body ? " and content-digest" : "");
    int64_t created = 0;
    bool check_time = !(m->skip & HTTPSIG_SKIP_FRESHNESS);
    if (in.created.len) {
        if (parse_int(in.created, &created) || (check_time && !fresh(created, m->now)))
            return deny(why, whylen, "created is malformed or more than 12 hours off");
        out->created = created;
    } else if (check_time) {
        int64_t t = covers(&in, "date") ? parse_http_date(m->header(m->ctx, "date")) : -1;
        if (t < 0 || !fresh(t, m->now))
            return deny(why, whylen, "signature has no fresh created time or covered Date");
    }
    if (in.expires.len && check_time) {
        int64_t e;
        if (parse_int(in.expires, &e) || e < m->now)
            return deny(why, whylen, "signature has expired");
    }
    if (body &&
        (rc = check_content_digest(m->header(m->ctx, "content-digest"), m->body, why, whylen)))
        return rc;

    buf_init(&base, 64 << 10);
    for (size_t i = 0; i < in.ncomps && rc == KITH_OK; i++) {
        const struct sf_component *c = &in.comps[i];
        struct str v = STR_NULL;
        char tmp[1024];
        if (c->name.len && c->name.ptr[0] == '@') {
            if (c->params.len && !str_eq_cstr(c->name, "@query-param")) {
                rc = deny(why, whylen, "unsupported parameters on %.*s", (int)c->name.len,
                          c->name.ptr);
                break;
            }
            if (str_eq_cstr(c->name, "@method")) {
                v = m->method;
            } else if (str_eq_cstr(c->name, "@target-uri")) {
                int n = snprintf(tmp, sizeof(tmp), "%.*s://%.*s%.*s", (int)m->scheme.len,
                                 m->scheme.ptr, (int)m->authority.len, m->authority.ptr,
                                 (int)m->target.len, m->target.ptr);
                v = str_make(tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
            } else if (str_eq_cstr(c->name, "@authority")) {
                v = m->authority;
            } else if (str_eq_cstr(c->name, "@scheme")) {
                v = m->scheme;
            } else if (str_eq_cstr(c->name, "@request-target")) {
                v = m->target;
            } else if (str_eq_cstr(c->name, "@path")) {
                v = path.len ? path : STR_LIT("/");
            } else if (str_eq_cstr(c->name, "@query")) {
                int n =
                    snprintf(tmp, sizeof(tmp), "?%.*s", (int)query.len, query.ptr ? query.ptr : "");
                v = str_make(tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
            } else if (str_eq_cstr(c->name, "@query-param")) {
                if (query_param(query, c->params, &v))
                    rc = deny(why, whylen, "covered query parameter is missing");
            } else {
                rc = deny(why, whylen, "unsupported component %.*s", (int)c->name.len, c->name.ptr);
            }
        } else {
            char name[64];
            if (c->params.len) {
                rc = deny(why, whylen, "unsupported parameters on \"%.*s\"", (int)c->name.len,
                          c->name.ptr);
                break;
            }
            if (c->name.len == 0 || c->name.len >= sizeof(name)) {
                rc = deny(why, whylen, "bad component name");
                break;
            }
            memcpy(name, c->name.ptr, c->name.len);
            name[c->name.len] = '\0';
            v = m->header(m->ctx, name);
            if (!v.ptr)
                rc = deny(why, whylen, "covered header '%s' is missing", name);
            v = str_trim(v);
        }
        if (rc)
            break;
        buf_add_str(&base, c->raw);
        buf_add(&base, ": ", 2);
        if (buf_add_str(&base, v) || buf_add_byte(&base, '\n'))
            rc = deny(why, whylen, "signature base too long");
    }
    if (rc == KITH_OK) {
        buf_add_cstr(&base, "\"@signature-params\": ");
        if (buf_add_str(&base, in.raw))
            rc = deny(why, whylen, "signature base too long");
    }
    if (rc == KITH_OK) {
        long sl = b64_decode(b64, out->sig, sizeof(out->sig));
        if (sl <= 0)
            rc = deny(why, whylen, "signature is not valid base64");
        else
            out->siglen = (size_t)sl;
    }
    if (rc == KITH_OK) {
        out->scheme = HTTPSIG_RFC9421;
        out->key_id = arena_str(a, in.keyid);
        out->label = arena_str(a, label);
        out->base = arena_str(a, buf_str(&base));
    }
    buf_free(&base);
    return rc;
}

int httpsig_prepare(const struct httpsig_msg *m, struct arena *a, struct httpsig *out, char *why,
                    size_t whylen)
{
    memset(out, 0, sizeof(*out));
    struct str input = m->header(m->ctx, "signature-input");
    struct str sig = m->header(m->ctx, "signature");
    if (input.ptr && sig.ptr)
        return prepare_rfc9421(m, input, sig, a, out, why, whylen);
    if (!sig.ptr) {
        struct str auth = m->header(m->ctx, "authorization");
        if (auth.len > 10 && str_eq_nocase(str_make(auth.ptr, 10), STR_LIT("Signature ")))
            sig = str_make(auth.ptr + 10, auth.len - 10);
    }
    if (!sig.ptr)
        return deny(why, whylen, "request is not signed");
    return prepare_cavage(m, sig, a, out, why, whylen);
}

int httpsig_verify(const struct httpsig *s, EVP_PKEY *key, char *why, size_t whylen)
{
    int type = EVP_PKEY_get_base_id(key);
    enum httpsig_alg alg = s->alg;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;

    if (alg == SIGALG_FROM_KEY)
        alg = type == EVP_PKEY_ED25519 ? SIGALG_ED25519 : SIGALG_RSA_SHA256;
    bool rsa = type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS;
    if ((alg == SIGALG_ED25519 && type != EVP_PKEY_ED25519) || (alg != SIGALG_ED25519 && !rsa)) {
        EVP_MD_CTX_free(ctx);
        return deny(why, whylen, "signature algorithm does not fit the key");
    }
    const EVP_MD *md = alg == SIGALG_ED25519          ? NULL
                       : alg == SIGALG_RSA_PSS_SHA512 ? EVP_sha512()
                                                      : EVP_sha256();
    if (ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) == 1) {
        if (alg == SIGALG_RSA_PSS_SHA512) {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 64);
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha512());
        }
        ok = EVP_DigestVerify(ctx, s->sig, s->siglen, (const unsigned char *)s->base.ptr,
                              s->base.len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    return ok ? KITH_OK : deny(why, whylen, "signature does not verify");
}

/* The cavage signing string for (request-target) host date [digest]. */
static void cavage_base(struct str method, struct str target, struct str host, struct str date,
                        struct str digest, struct buf *base)
{
    buf_add_cstr(base, "(request-target): ");
    for (size_t i = 0; i < method.len; i++)
        buf_add_byte(base, (uint8_t)tolower((unsigned char)method.ptr[i]));
    buf_add_byte(base, ' ');
    buf_add_str(base, target);
    buf_add_cstr(base, "\nhost: ");
    buf_add_str(base, host);
    buf_add_cstr(base, "\ndate: ");
    buf_add_str(base, date);
    if (digest.len) {
        buf_add_cstr(base, "\ndigest: ");
        buf_add_str(base, digest);
    }
}

/* The Signature header's value around sig. */
static int cavage_header(struct str key_id, bool digest, const unsigned char *sig, size_t siglen,
                         struct buf *out)
{
    buf_add_cstr(out, "keyId=\"");
    buf_add_str(out, key_id);
    buf_add_cstr(out, "\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date");
    if (digest)
        buf_add_cstr(out, " digest");
    buf_add_cstr(out, "\",signature=\"");
    b64_encode(sig, siglen, out);
    return buf_add_byte(out, '"');
}

int httpsig_sign_cavage(EVP_PKEY *key, struct str key_id, struct str method, struct str target,
                        struct str host, struct str date, struct str digest, struct buf *out)
{
    struct buf base;
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = KITH_EINVAL;

    buf_init(&base, 16 << 10);
    cavage_base(method, target, host, date, digest, &base);
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)base.data, base.len) == 1)
        rc = cavage_header(key_id, digest.len > 0, sig, siglen, out);
    EVP_MD_CTX_free(ctx);
    buf_free(&base);
    return rc;
}

EVP_PKEY_CTX *httpsig_sign_ctx_new(EVP_PKEY *key)
{
    EVP_PKEY *own = EVP_PKEY_dup(key);
    EVP_PKEY_CTX *pctx = own ? EVP_PKEY_CTX_new(own, NULL) : NULL;
    EVP_PKEY_free(own); /* the context keeps its reference */
    if (pctx && EVP_PKEY_sign_init(pctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1)
        return pctx;
    EVP_PKEY_CTX_free(pctx);
    return NULL;
}

int httpsig_sign_cavage_ctx(EVP_PKEY_CTX *pctx, struct str key_id, struct str method,
                            struct str target, struct str host, struct str date, struct str digest,
                            struct buf *out)
{
    struct buf base;
    unsigned char md[SHA256_DIGEST_LENGTH], sig[1024];
    size_t siglen = sizeof(sig);
    int rc = KITH_EINVAL;
    buf_init(&base, 16 << 10);
    cavage_base(method, target, host, date, digest, &base);
    SHA256((const unsigned char *)base.data, base.len, md);
    if (EVP_PKEY_sign(pctx, sig, &siglen, md, sizeof(md)) == 1)
        rc = cavage_header(key_id, digest.len > 0, sig, siglen, out);
    buf_free(&base);
    return rc;
}
