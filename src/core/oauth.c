/* src/core/oauth.c: OAuth 2 applications, tokens and scopes (see oauth.h). */
#include "oauth.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* Mastodon's scopes (api/oauth-scopes.md). */
static const char *const known_scopes[] = {"read",
                                           "write",
                                           "follow",
                                           "push",
                                           "profile",
                                           "admin:read",
                                           "admin:write",
                                           "read:accounts",
                                           "read:blocks",
                                           "read:bookmarks",
                                           "read:favourites",
                                           "read:filters",
                                           "read:follows",
                                           "read:lists",
                                           "read:mutes",
                                           "read:notifications",
                                           "read:search",
                                           "read:statuses",
                                           "write:accounts",
                                           "write:blocks",
                                           "write:bookmarks",
                                           "write:conversations",
                                           "write:favourites",
                                           "write:filters",
                                           "write:follows",
                                           "write:lists",
                                           "write:media",
                                           "write:mutes",
                                           "write:notifications",
                                           "write:reports",
                                           "write:statuses",
                                           "admin:read:accounts",
                                           "admin:read:reports",
                                           "admin:read:domain_allows",
                                           "admin:read:domain_blocks",
                                           "admin:read:ip_blocks",
                                           "admin:read:email_domain_blocks",
                                           "admin:read:canonical_email_blocks",
                                           "admin:write:accounts",
                                           "admin:write:reports",
                                           "admin:write:domain_allows",
                                           "admin:write:domain_blocks",
                                           "admin:write:ip_blocks",
                                           "admin:write:email_domain_blocks",
                                           "admin:write:canonical_email_blocks"};

static bool known(struct str s)
{
    for (size_t i = 0; i < sizeof(known_scopes) / sizeof(known_scopes[0]); i++)
        if (str_eq_cstr(s, known_scopes[i]))
            return true;
    return false;
}

/* Calls fn for each scope in a space- or '+'-separated list. */
static bool each_scope(struct str list, bool (*fn)(struct str s, void *arg), void *arg)
{
    const char *p = list.ptr, *end = list.ptr + list.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '+'))
            p++;
        const char *q = p;
        while (q < end && *q != ' ' && *q != '+')
            q++;
        if (q > p && !fn(str_make(p, (size_t)(q - p)), arg))
            return false;
        p = q;
    }
    return true;
}

static bool has_scope(struct str list, struct str s);

struct parse_ctx {
    char buf[1024];
    size_t len;
    struct str bad;
};

static bool add_scope(struct str s, void *arg)
{
    struct parse_ctx *c = arg;
    if (!known(s)) {
        c->bad = s;
        return false;
    }
    if (has_scope(str_make(c->buf, c->len), s))
        return true;
    if (c->len + s.len + 1 >= sizeof(c->buf)) {
        c->bad = s;
        return false;
    }
    if (c->len)
        c->buf[c->len++] = ' ';
    memcpy(c->buf + c->len, s.ptr, s.len);
    c->len += s.len;
    return true;
}

int scopes_parse(struct str requested, struct arena *a, struct str *out, struct core_result *res)
{
    struct parse_ctx c = {.len = 0};
    if (!each_scope(requested, add_scope, &c)) {
        snprintf(res->msg, sizeof(res->msg), "unknown scope '%.*s'",
                 (int)(c.bad.len > 64 ? 64 : c.bad.len), c.bad.ptr);
        return KITH_EINVAL;
    }
    *out = c.len ? arena_str(a, str_make(c.buf, c.len)) : STR_LIT("read");
    return KITH_OK;
}

struct find_ctx {
    struct str want;
    bool found;
};

static bool find_one(struct str s, void *arg)
{
    struct find_ctx *f = arg;
    if (str_eq(s, f->want)) {
        f->found = true;
        return false;
    }
    return true;
}

static bool has_scope(struct str list, struct str s)
{
    struct find_ctx f = {s, false};
    each_scope(list, find_one, &f);
    return f.found;
}

/* A scope asked for is in have, or is granted by it (a granular scope under
 * its parent, as Mastodon lets an app with "read" ask for "read:statuses"). */
static bool in_have(struct str s, void *arg)
{
    char one[64];
    if (has_scope(*(struct str *)arg, s))
        return true;
    if (s.len >= sizeof(one))
        return false;
    memcpy(one, s.ptr, s.len);
    one[s.len] = 0;
    return scope_allows(*(struct str *)arg, one);
}

bool scopes_subset(struct str want, struct str have)
{
    return each_scope(want, in_have, &have);
}

bool scope_allows(struct str granted, const char *required)
{
    struct str req = str_from(required);
    if (has_scope(granted, req))
        return true;
    /* The parent of a granular scope: "read:statuses" -> "read",
     * "admin:read:accounts" -> "admin:read". */
    const char *colon = strrchr(required, ':');
    if (colon && has_scope(granted, str_make(required, (size_t)(colon - required))))
        return true;
    /* Mastodon's deprecated "follow" grants the follow-related scopes. */
    static const char *const follow_grants[] = {"read:blocks",  "read:follows",  "read:mutes",
                                                "write:blocks", "write:follows", "write:mutes"};
    for (size_t i = 0; i < sizeof(follow_grants) / sizeof(follow_grants[0]); i++)
        if (strcmp(required, follow_grants[i]) == 0 && has_scope(granted, STR_LIT("follow")))
            return true;
    return false;
}

int oauth_random(char out[OAUTH_SECRET_LEN + 1])
{
    unsigned char r[32];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n <= 0)
            return KITH_EIO;
        got += (size_t)n;
    }
    struct buf b; /* 32 random bytes are 43 base64url characters */
    buf_init(&b, OAUTH_SECRET_LEN + 1);
    int rc = buf_add_base64url(&b, r, sizeof(r));
    if (rc == KITH_OK)
        snprintf(out, OAUTH_SECRET_LEN + 1, "%.*s", (int)b.len, b.data);
    buf_free(&b);
    return rc ? KITH_EIO : KITH_OK;
}

void oauth_hash_hex(struct str s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s.ptr, s.len, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int oauth_app_insert(struct kv_txn *txn, struct core *core, struct oauth_app *app,
                     char client_id[OAUTH_SECRET_LEN + 1], char secret[OAUTH_SECRET_LEN + 1])
{
    char hash[65];
    int rc;
    if ((rc = oauth_random(client_id)) || (rc = oauth_random(secret)))
        return rc;
    oauth_hash_hex(str_from(secret), hash);
    app->id = idgen_next(store_ids(core->st));
    app->created_at = wall_seconds();
    app->client_id = str_from(client_id);
    app->client_secret_hash = str_from(hash);
    struct key8 k = key_id(app->id);
    if ((rc = rec_put(txn, T_OAUTH_APPS, KEY8(k), &oauth_app_desc, app, KV_NOOVERWRITE)) ||
        (rc = kv_put(txn, T_OAUTH_CLIENT_IDS, app->client_id, KEY8(k), KV_NOOVERWRITE)))
        return rc;
    app->client_secret_hash = STR_NULL; /* on this stack */
    return KITH_OK;
}

int oauth_app_by_client_id(struct kv_txn *txn, struct str client_id, struct arena *a,
                           struct oauth_app *out)
{
    struct str v;
    if (client_id.len == 0 || client_id.len > 128)
        return KITH_ENOTFOUND;
    int rc = kv_get(txn, T_OAUTH_CLIENT_IDS, client_id, &v);
    if (rc)
        return rc;
    if (v.len != 8)
        return KITH_ECORRUPT;
    return rec_get(txn, T_OAUTH_APPS, v, &oauth_app_desc, a, out);
}

bool oauth_app_secret_ok(const struct oauth_app *app, struct str secret)
{
    char hash[65];
    if (!secret.len || app->client_secret_hash.len != 64)
        return false;
    oauth_hash_hex(secret, hash);
    return CRYPTO_memcmp(hash, app->client_secret_hash.ptr, 64) == 0;
}

bool oauth_app_redirect_ok(const struct oauth_app *app, struct str uri)
{
    const char *p = app->redirect_uris.ptr, *end = p + app->redirect_uris.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct str one = str_make(p, (size_t)((nl ? nl : end) - p));
        if (str_eq(one, uri))
            return true;
        p = nl ? nl + 1 : end;
    }
    return false;
}

static struct str token_key(struct str value, unsigned char md[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)value.ptr, value.len, md);
    return str_make(md, SHA256_DIGEST_LENGTH);
}

int oauth_token_insert(struct kv_txn *txn, const struct oauth_token *t,
                       char value[OAUTH_SECRET_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    int rc = oauth_random(value);
    if (rc)
        return rc;
    return rec_put(txn, T_OAUTH_TOKENS, token_key(str_from(value), md), &oauth_token_desc, t,
                   KV_NOOVERWRITE);
}

int oauth_token_get(struct kv_txn *txn, struct str value, struct arena *a, struct oauth_token *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (value.len == 0 || value.len > 256)
        return KITH_ENOTFOUND;
    int rc = rec_get(txn, T_OAUTH_TOKENS, token_key(value, md), &oauth_token_desc, a, out);
    if (rc)
        return rc;
    int64_t now = wall_seconds();
    if (out->revoked_at || (out->expires_at && out->expires_at <= now))
        return KITH_ENOTFOUND;
    return KITH_OK;
}

int oauth_token_revoke(struct kv_txn *txn, struct str value)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct arena a = ARENA_INIT;
    struct oauth_token t;
    if (value.len == 0 || value.len > 256)
        return KITH_OK;
    struct str k = token_key(value, md);
    int rc = rec_get(txn, T_OAUTH_TOKENS, k, &oauth_token_desc, &a, &t);
    if (rc == KITH_OK && !t.revoked_at) {
        t.revoked_at = wall_seconds();
        rc = rec_put(txn, T_OAUTH_TOKENS, k, &oauth_token_desc, &t, 0);
    }
    arena_release(&a);
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

int oauth_grant_put(struct kv_txn *txn, uint64_t account_id, uint64_t app_id, struct str scopes)
{
    struct key16 k = key_pair(account_id, app_id);
    return kv_put(txn, T_OAUTH_GRANTS, KEY16(k), scopes, 0);
}

bool oauth_grant_covers(struct kv_txn *txn, uint64_t account_id, uint64_t app_id, struct str scopes)
{
    struct key16 k = key_pair(account_id, app_id);
    struct str have;
    return kv_get(txn, T_OAUTH_GRANTS, KEY16(k), &have) == KITH_OK && scopes_subset(scopes, have);
}
