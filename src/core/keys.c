/* src/core/keys.c: RSA-2048 key pairs for actors. */
#include "core.h"

#include "../base/err.h"
#include "../base/mem.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static char *bio_text(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    return n > 0 ? xstrndup(data, (size_t)n) : NULL;
}

int core_keygen(char **priv_pem, char **pub_pem)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    int rc = KITH_ENOMEM;

    *priv_pem = *pub_pem = NULL;
    if (key && priv && pub && PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) == 1 &&
        PEM_write_bio_PUBKEY(pub, key) == 1) {
        *priv_pem = bio_text(priv);
        *pub_pem = bio_text(pub);
        rc = *priv_pem && *pub_pem ? KITH_OK : KITH_ENOMEM;
    }
    if (rc) {
        free(*priv_pem);
        free(*pub_pem);
        *priv_pem = *pub_pem = NULL;
    }
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- the instance actor's key, and keys for actors created without one ---- */

struct backfill {
    uint64_t *ids; /* accounts and communities lacking a key */
    size_t n, cap;
};

static void note_missing(struct backfill *b, uint64_t id)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->ids = xrealloc(b->ids, b->cap * sizeof(uint64_t));
    }
    b->ids[b->n++] = id;
}

static int note_account(const struct account *acct, void *arg)
{
    if (!acct->public_key.len)
        note_missing(arg, acct->id);
    return 0;
}

static int note_community(const struct community *c, void *arg)
{
    /* Communities are marked with the top bit; ids never use it. */
    if (!c->public_key.len)
        note_missing(arg, c->id | (1ull << 63));
    return 0;
}

struct set_key {
    uint64_t id;
    struct str priv, pub;
};

static int apply_set_key(struct kv_txn *txn, void *arg)
{
    struct set_key *k = arg;
    struct arena a = ARENA_INIT;
    int rc;
    if (k->id == 0) { /* the instance actor */
        rc = kv_put(txn, T_META, STR_LIT("instance_private_key"), k->priv, 0);
        if (!rc)
            rc = kv_put(txn, T_META, STR_LIT("instance_public_key"), k->pub, 0);
    } else if (k->id >> 63) {
        struct community c;
        rc = community_get(txn, k->id & ~(1ull << 63), &a, &c);
        if (!rc && !c.public_key.len) {
            c.private_key = k->priv;
            c.public_key = k->pub;
            struct key8 key = key_id(c.id);
            rc = rec_put(txn, T_COMMUNITIES, KEY8(key), &community_desc, &c, 0);
        }
    } else {
        struct account acct;
        rc = account_get(txn, k->id, &a, &acct);
        if (!rc && !acct.public_key.len) {
            acct.private_key = k->priv;
            acct.public_key = k->pub;
            rc = account_update(txn, &acct);
        }
    }
    arena_release(&a);
    return rc;
}

static int set_new_key(struct core *c, uint64_t id)
{
    char *priv, *pub;
    int rc = core_keygen(&priv, &pub);
    if (rc)
        return rc;
    struct set_key k = {id, str_from(priv), str_from(pub)};
    rc = writer_run(c->w, apply_set_key, &k);
    free(priv);
    free(pub);
    return rc;
}

/* The instance's VAPID key pair (Web Push, RFC 8292): ES256 on P-256. The
 * public key is kept as clients want it: the uncompressed point, base64url
 * without padding (Mastodon's vapid_key). */
struct vapid {
    struct str priv, pub;
};

static int apply_vapid(struct kv_txn *txn, void *arg)
{
    struct vapid *v = arg;
    struct str have;
    if (kv_get(txn, T_META, STR_LIT("vapid_public_key"), &have) == KITH_OK)
        return KITH_OK; /* another start made it meanwhile */
    int rc = kv_put(txn, T_META, STR_LIT("vapid_private_key"), v->priv, 0);
    return rc ? rc : kv_put(txn, T_META, STR_LIT("vapid_public_key"), v->pub, 0);
}

/* 1 when made now, KITH_OK when it existed, or an error. */
static int ensure_vapid(struct core *c)
{
    struct kv_txn *txn;
    struct str have;
    int rc = store_read_begin(c->st, &txn);
    if (rc)
        return rc;
    bool missing = kv_get(txn, T_META, STR_LIT("vapid_public_key"), &have) != KITH_OK;
    kv_txn_abort(txn);
    if (!missing)
        return KITH_OK;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    unsigned char point[65];
    size_t plen = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pemlen = 0;
    rc = KITH_EIO;
    if (key && bio &&
        EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point, sizeof(point), &plen) == 1 &&
        plen == 65 && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
        (pemlen = BIO_get_mem_data(bio, &pem)) > 0) {
        struct buf pub;
        buf_init(&pub, 128);
        buf_add_base64url(&pub, point, plen);
        struct vapid v = {str_make(pem, (size_t)pemlen), buf_str(&pub)};
        rc = writer_run(c->w, apply_vapid, &v);
        buf_free(&pub);
        if (rc == KITH_OK)
            rc = 1;
    }
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}

int core_ensure_keys(struct core *c, unsigned *generated)
{
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct backfill b = {0};
    struct str v;
    bool instance_missing;
    int rc = store_read_begin(c->st, &txn);

    *generated = 0;
    if (rc)
        return rc;
    instance_missing = kv_get(txn, T_META, STR_LIT("instance_private_key"), &v) != KITH_OK;
    rc = account_each_local(txn, &a, note_account, &b);
    if (!rc)
        rc = community_each_local(txn, &a, note_community, &b);
    kv_txn_abort(txn);
    arena_release(&a);
    if (!rc && instance_missing && (rc = set_new_key(c, 0)) == KITH_OK)
        (*generated)++;
    for (size_t i = 0; !rc && i < b.n; i++)
        if ((rc = set_new_key(c, b.ids[i])) == KITH_OK)
            (*generated)++;
    if (!rc && (rc = ensure_vapid(c)) == 1) {
        (*generated)++;
        rc = KITH_OK;
    }
    free(b.ids);
    return rc;
}
