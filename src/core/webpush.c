/* src/core/webpush.c: Web Push (see webpush.h). The encryption follows
 * RFC 8291 section 3.4 and RFC 8188 (one record), the signature RFC 8292
 * (a JWT signed with ES256, its r and s joined). */
#include "webpush.h"

#include "feeds.h"
#include "oauth.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/id.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const push_alert_names[PUSH_ALERTS] = {"mention", "status",         "reblog",
                                                   "follow",  "follow_request", "favourite",
                                                   "poll",    "update",         "admin.sign_up"};
const char *const push_policy_names[4] = {"all", "followed", "follower", "none"};

#define RECORD_SIZE 4096

/* ---- base64url ---- */

static int b64url_decode(struct str in, unsigned char *out, size_t cap, size_t *n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    *n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '=')
            break;
        if (c == '+')
            c = '-';
        if (c == '/')
            c = '_';
        const char *p = memchr(alphabet, c, 64);
        if (!p)
            return KITH_EINVAL;
        acc = acc << 6 | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (*n == cap)
                return KITH_EINVAL;
            out[(*n)++] = (unsigned char)(acc >> bits);
        }
    }
    return KITH_OK;
}

/* ---- RFC 8291 ---- */

static void hmac(const unsigned char *key, size_t klen, const unsigned char *data, size_t dlen,
                 unsigned char out[32])
{
    unsigned len = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &len);
}

/* A P-256 public key from its 65-byte uncompressed point. */
static EVP_PKEY *p256_public(const unsigned char *pt, size_t len)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (b && ctx &&
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, len) &&
        (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int webpush_encrypt(struct str p256dh, struct str auth, struct str plaintext, struct buf *out)
{
    unsigned char ua[65], secret[16], as_pub[65], ecdh[32], salt[16];
    size_t ualen, slen, aslen = sizeof(as_pub), elen = sizeof(ecdh);
    int rc = KITH_EINVAL;
    if (b64url_decode(p256dh, ua, sizeof(ua), &ualen) || ualen != 65 || ua[0] != 4 ||
        b64url_decode(auth, secret, sizeof(secret), &slen) || slen != 16 ||
        plaintext.len > RECORD_SIZE - 16 - 1 - 86)
        return KITH_EINVAL;
    EVP_PKEY *peer = p256_public(ua, ualen);
    EVP_PKEY *mine = EVP_EC_gen("prime256v1");
    EVP_PKEY_CTX *dctx = mine ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    EVP_CIPHER_CTX *gcm = EVP_CIPHER_CTX_new();
    unsigned char *ct = malloc(plaintext.len + 1 + 16);
    if (!peer || !mine || !dctx || !gcm || !ct ||
        !EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_PUB_KEY, as_pub, sizeof(as_pub),
                                         &aslen) ||
        aslen != 65 || EVP_PKEY_derive_init(dctx) <= 0 ||
        EVP_PKEY_derive_set_peer(dctx, peer) <= 0 || EVP_PKEY_derive(dctx, ecdh, &elen) <= 0 ||
        elen != 32 || RAND_bytes(salt, 16) != 1)
        goto out;
    /* IKM from the shared secret, the auth secret and both public keys. */
    unsigned char prk_key[32], ikm[32], prk[32], cek[32], nonce[32], info[160];
    hmac(secret, 16, ecdh, 32, prk_key);
    size_t il = 0;
    memcpy(info, "WebPush: info", 13);
    il = 13;
    info[il++] = 0;
    memcpy(info + il, ua, 65);
    il += 65;
    memcpy(info + il, as_pub, 65);
    il += 65;
    info[il++] = 1;
    hmac(prk_key, 32, info, il, ikm);
    hmac(salt, 16, ikm, 32, prk);
    static const unsigned char cek_info[] = "Content-Encoding: aes128gcm\0\1";
    static const unsigned char nonce_info[] = "Content-Encoding: nonce\0\1";
    hmac(prk, 32, cek_info, sizeof(cek_info) - 1, cek);
    hmac(prk, 32, nonce_info, sizeof(nonce_info) - 1, nonce);
    /* One record: the plaintext, the last-record delimiter 2, the tag. */
    int n1 = 0, n2 = 0;
    unsigned char pad = 2;
    if (EVP_EncryptInit_ex(gcm, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_EncryptInit_ex(gcm, NULL, NULL, cek, nonce) != 1 ||
        EVP_EncryptUpdate(gcm, ct, &n1, (const unsigned char *)plaintext.ptr, (int)plaintext.len) !=
            1 ||
        EVP_EncryptUpdate(gcm, ct + n1, &n2, &pad, 1) != 1)
        goto out;
    int n3 = 0;
    if (EVP_EncryptFinal_ex(gcm, ct + n1 + n2, &n3) != 1 ||
        EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, ct + n1 + n2 + n3) != 1)
        goto out;
    size_t ctlen = (size_t)(n1 + n2 + n3) + 16;
    /* RFC 8188 header: salt, record size, key id (our public key). */
    unsigned char rs[4] = {0, 0, RECORD_SIZE >> 8, RECORD_SIZE & 0xff};
    buf_add(out, salt, 16);
    buf_add(out, rs, 4);
    buf_add_byte(out, 65);
    buf_add(out, as_pub, 65);
    buf_add(out, ct, ctlen);
    rc = KITH_OK;
out:
    free(ct);
    EVP_CIPHER_CTX_free(gcm);
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
    return rc;
}

/* ---- RFC 8292 ---- */

int webpush_vapid(struct kv_txn *txn, const char *endpoint, const char *subject, int64_t now,
                  struct buf *out)
{
    struct str pem, pub;
    if (kv_get(txn, T_META, STR_LIT("vapid_private_key"), &pem) ||
        kv_get(txn, T_META, STR_LIT("vapid_public_key"), &pub))
        return KITH_ENOTFOUND;
    struct str origin = str_from(endpoint);
    const char *scheme = strstr(endpoint, "://");
    if (!scheme)
        return KITH_EINVAL;
    const char *slash = strchr(scheme + 3, '/');
    if (slash)
        origin.len = (size_t)(slash - endpoint);
    char claims[1024];
    int cl = snprintf(claims, sizeof(claims), "{\"aud\":\"%.*s\",\"exp\":%lld,\"sub\":\"%s\"}",
                      (int)origin.len, origin.ptr, (long long)(now + 12 * 3600), subject);
    if (cl <= 0 || (size_t)cl >= sizeof(claims) || strchr(subject, '"'))
        return KITH_EINVAL;
    struct buf jwt;
    buf_init(&jwt, 4096);
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
    buf_add_base64url(&jwt, (const unsigned char *)header, sizeof(header) - 1);
    buf_add_byte(&jwt, '.');
    buf_add_base64url(&jwt, (const unsigned char *)claims, (size_t)cl);
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80], raw[64];
    size_t dlen = sizeof(der);
    int rc = KITH_EIO;
    if (key && md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, der, &dlen, (const unsigned char *)jwt.data, jwt.len) == 1) {
        /* JWS wants r and s, 32 bytes each, not DER. */
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
        const BIGNUM *r, *s;
        if (sig) {
            ECDSA_SIG_get0(sig, &r, &s);
            if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32) {
                buf_add_byte(&jwt, '.');
                buf_add_base64url(&jwt, raw, 64);
                buf_printf(out, "vapid t=%.*s, k=%.*s", (int)jwt.len, jwt.data, (int)pub.len,
                           pub.ptr);
                rc = KITH_OK;
            }
            ECDSA_SIG_free(sig);
        }
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    buf_free(&jwt);
    return rc;
}

/* ---- subscriptions ---- */

int push_sub_get(struct kv_txn *txn, struct str token_hash, struct arena *a, struct push_sub *out)
{
    return rec_get(txn, T_PUSH_SUBS, token_hash, &push_sub_desc, a, out);
}

int push_sub_put(struct kv_txn *txn, const struct push_sub *s, uint64_t app_id)
{
    struct key16 k = key_pair(s->account_id, s->id);
    struct push_sub rec = *s;
    char value[OAUTH_SECRET_LEN + 1];
    int rc = KITH_OK;
    if (!rec.push_token.len) {
        struct oauth_token t = {.app_id = app_id,
                                .account_id = s->account_id,
                                .kind = TOKEN_ACCESS,
                                .scopes = STR_LIT("read:notifications"),
                                .created_at = wall_seconds()};
        if ((rc = oauth_token_insert(txn, &t, value)))
            return rc;
        rec.push_token = str_from(value);
    }
    rc = rec_put(txn, T_PUSH_SUBS, rec.token_hash, &push_sub_desc, &rec, 0);
    return rc ? rc : kv_put(txn, T_PUSH_BY_ACCOUNT, KEY16(k), rec.token_hash, 0);
}

int push_sub_delete(struct kv_txn *txn, struct str token_hash)
{
    struct arena a = ARENA_INIT;
    struct push_sub s;
    int rc = push_sub_get(txn, token_hash, &a, &s);
    if (rc == KITH_OK) {
        struct key16 k = key_pair(s.account_id, s.id);
        rc = kv_del(txn, T_PUSH_BY_ACCOUNT, KEY16(k));
        if (rc == KITH_OK || rc == KITH_ENOTFOUND)
            rc = kv_del(txn, T_PUSH_SUBS, token_hash);
        if (rc == KITH_OK)
            rc = oauth_token_revoke(txn, s.push_token);
    }
    arena_release(&a);
    return rc;
}

int push_sub_forget_token(struct kv_txn *txn, struct str value)
{
    char hex[65];
    oauth_hash_hex(value, hex);
    int rc = push_sub_delete(txn, str_from(hex));
    return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

/* ---- sending ---- */

static void json_string(struct buf *b, const char *s)
{
    buf_add_byte(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_add_byte(b, c);
    }
    buf_add_byte(b, '"');
}

/* One encrypted message for s, scheduled like an outgoing activity. */
static int push_one(struct kv_txn *txn, struct core *core, const struct push_sub *s,
                    struct str payload)
{
    struct buf body;
    buf_init(&body, 8192);
    int rc = webpush_encrypt(s->p256dh, s->auth, payload, &body);
    if (rc) {
        buf_free(&body);
        return KITH_OK; /* keys that do not work: nothing to send */
    }
    uint64_t oid = idgen_next(store_ids(core->st));
    struct key8 ok = key_id(oid);
    rc = kv_put(txn, T_OUTGOING, KEY8(ok), buf_str(&body), KV_NOOVERWRITE);
    buf_free(&body);
    if (rc)
        return rc;
    struct str ep = s->endpoint, host = STR_NULL;
    const char *sep = memmem(ep.ptr, ep.len, "://", 3);
    if (sep) {
        const char *start = sep + 3, *end = start;
        while (end < ep.ptr + ep.len && *end != '/' && *end != '?')
            end++;
        host = str_make(start, (size_t)(end - start));
    }
    struct delivery d = {.id = idgen_next(store_ids(core->st)),
                         .activity_id = oid,
                         .inbox = ep,
                         .host = host,
                         .sender_id = SENDER_PUSH | s->account_id,
                         .first_at = wall_seconds()};
    struct key16 dk = key_pair((uint64_t)wall_seconds() * 1000, d.id);
    return rec_put(txn, T_DELIVERIES, KEY16(dk), &delivery_desc, &d, KV_NOOVERWRITE);
}

int webpush_notify(struct kv_txn *txn, struct core *core, const struct notification *n,
                   const char *title, const char *body, const char *icon)
{
    int bit = -1;
    for (int i = 0; i < PUSH_ALERTS; i++)
        if (str_eq_cstr(n->type, push_alert_names[i]))
            bit = i;
    if (bit < 0)
        return KITH_OK;
    bool notes = false; /* nothing from people one blocked or muted with notifications */
    if (block_has(txn, n->account_id, n->from_account_id) ||
        (mute_has(txn, n->account_id, n->from_account_id, &notes) && notes))
        return KITH_OK;
    struct kv_cursor *c;
    struct str key, val;
    struct key8 k = key_id(n->account_id);
    struct str hashes[16];
    size_t nh = 0;
    struct arena a = ARENA_INIT;
    int rc = kv_cursor_open(txn, T_PUSH_BY_ACCOUNT, &c);
    if (rc)
        return rc;
    for (rc = kv_cursor_seek(c, KEY8(k), &key, &val);
         rc == KITH_OK && nh < 16 && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
         rc = kv_cursor_next(c, &key, &val))
        hashes[nh++] = arena_str(&a, val);
    kv_cursor_close(c);
    rc = KITH_OK;
    if (!nh)
        goto out;
    /* Mastodon's payload; access_token (each subscription's own) first. */
    struct buf rest, payload;
    buf_init(&rest, 16 << 10);
    buf_init(&payload, 16 << 10);
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)n->id);
    buf_add_cstr(&rest, ",\"notification_id\":");
    json_string(&rest, num);
    buf_add_cstr(&rest, ",\"notification_type\":");
    json_string(&rest, push_alert_names[bit]);
    buf_add_cstr(&rest, ",\"preferred_locale\":\"en\",\"icon\":");
    json_string(&rest, icon);
    buf_add_cstr(&rest, ",\"title\":");
    json_string(&rest, title);
    buf_add_cstr(&rest, ",\"body\":");
    json_string(&rest, body);
    buf_add_byte(&rest, '}');
    for (size_t i = 0; i < nh && rc == KITH_OK; i++) {
        struct push_sub s;
        if (push_sub_get(txn, hashes[i], &a, &s) || !(s.alerts & (1u << bit)))
            continue;
        if ((s.policy == PUSH_NONE) ||
            (s.policy == PUSH_FOLLOWED &&
             !follows_accepted(txn, n->account_id, n->from_account_id)) ||
            (s.policy == PUSH_FOLLOWER &&
             !follows_accepted(txn, n->from_account_id, n->account_id)))
            continue;
        payload.len = 0;
        buf_add_cstr(&payload, "{\"access_token\":");
        json_string(&payload, arena_str(&a, s.push_token).ptr);
        buf_add_str(&payload, buf_str(&rest));
        rc = push_one(txn, core, &s, buf_str(&payload));
    }
    buf_free(&rest);
    buf_free(&payload);
out:
    arena_release(&a);
    return rc;
}
