/* federation/keys.c: the parsed-key cache. */
#include "keys.h"

#include "../src/base/mem.h"

#include <openssl/decoder.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX_ID 512

struct kentry {
    struct kentry *hnext;       /* hash chain */
    struct kentry *prev, *next; /* LRU list, most recent first */
    EVP_PKEY *key;
    char id[KEY_MAX_ID];
    char owner[KEY_MAX_ID];
    uint64_t hash;
    int64_t refetch_after; /* no refetch after a failure before this time */
};

struct keycache {
    pthread_mutex_t lock; /* guards everything below */
    struct kentry **table;
    size_t nbuckets, count, max;
    struct kentry *head, *tail;
};

struct keycache *keycache_new(size_t max_entries)
{
    struct keycache *kc = xcalloc(1, sizeof(*kc));
    pthread_mutex_init(&kc->lock, NULL);
    kc->max = max_entries ? max_entries : 1;
    kc->nbuckets = 1;
    while (kc->nbuckets < kc->max)
        kc->nbuckets <<= 1;
    kc->table = xcalloc(kc->nbuckets, sizeof(*kc->table));
    return kc;
}

static void unlink_lru(struct keycache *kc, struct kentry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        kc->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        kc->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct keycache *kc, struct kentry *e)
{
    e->next = kc->head;
    e->prev = NULL;
    if (kc->head)
        kc->head->prev = e;
    kc->head = e;
    if (!kc->tail)
        kc->tail = e;
}

static struct kentry **find(struct keycache *kc, struct str id, uint64_t h)
{
    struct kentry **pp = &kc->table[h & (kc->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->hash == h && strlen((*pp)->id) == id.len &&
            memcmp((*pp)->id, id.ptr, id.len) == 0)
            return pp;
    return pp;
}

static void remove_entry(struct keycache *kc, struct kentry **pp)
{
    struct kentry *e = *pp;
    *pp = e->hnext;
    unlink_lru(kc, e);
    EVP_PKEY_free(e->key);
    free(e);
    kc->count--;
}

void keycache_free(struct keycache *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->nbuckets; i++)
        while (kc->table[i])
            remove_entry(kc, &kc->table[i]);
    free(kc->table);
    pthread_mutex_destroy(&kc->lock);
    free(kc);
}

EVP_PKEY *keycache_get(struct keycache *kc, struct str key_id, char *owner, size_t ownerlen,
                       int64_t *refetch_after)
{
    EVP_PKEY *key = NULL;
    uint64_t h = str_hash(key_id);
    pthread_mutex_lock(&kc->lock);
    struct kentry **pp = find(kc, key_id, h);
    if (*pp) {
        struct kentry *e = *pp;
        unlink_lru(kc, e);
        push_front(kc, e);
        if (EVP_PKEY_up_ref(e->key) == 1)
            key = e->key;
        snprintf(owner, ownerlen, "%s", e->owner);
        if (refetch_after)
            *refetch_after = e->refetch_after;
    }
    pthread_mutex_unlock(&kc->lock);
    return key;
}

void keycache_put(struct keycache *kc, struct str key_id, struct str owner, EVP_PKEY *key,
                  int64_t refetch_after)
{
    if (key_id.len >= KEY_MAX_ID || owner.len >= KEY_MAX_ID || EVP_PKEY_up_ref(key) != 1)
        return;
    uint64_t h = str_hash(key_id);
    pthread_mutex_lock(&kc->lock);
    struct kentry **pp = find(kc, key_id, h);
    if (*pp)
        remove_entry(kc, pp);
    while (kc->count >= kc->max && kc->tail) {
        struct kentry *old = kc->tail;
        remove_entry(kc, find(kc, str_from(old->id), old->hash));
    }
    struct kentry *e = xcalloc(1, sizeof(*e));
    memcpy(e->id, key_id.ptr, key_id.len);
    memcpy(e->owner, owner.ptr, owner.len);
    e->key = key;
    e->hash = h;
    e->refetch_after = refetch_after;
    pp = &kc->table[h & (kc->nbuckets - 1)];
    e->hnext = *pp;
    *pp = e;
    push_front(kc, e);
    kc->count++;
    pthread_mutex_unlock(&kc->lock);
}

void keycache_forget(struct keycache *kc, struct str key_id)
{
    uint64_t h = str_hash(key_id);
    pthread_mutex_lock(&kc->lock);
    struct kentry **pp = find(kc, key_id, h);
    if (*pp)
        remove_entry(kc, pp);
    pthread_mutex_unlock(&kc->lock);
}

size_t keycache_size(struct keycache *kc)
{
    pthread_mutex_lock(&kc->lock);
    size_t n = kc->count;
    pthread_mutex_unlock(&kc->lock);
    return n;
}

EVP_PKEY *pem_public_key(struct str pem)
{
    if (pem.len == 0 || pem.len > 16384)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    EVP_PKEY *key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (key)
        return key;
    /* Some servers publish PKCS#1 "BEGIN RSA PUBLIC KEY". */
    OSSL_DECODER_CTX *d = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", "type-specific", "RSA",
                                                        EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    const unsigned char *p = (const unsigned char *)pem.ptr;
    size_t n = pem.len;
    if (!d || OSSL_DECODER_from_data(d, &p, &n) != 1)
        key = NULL;
    OSSL_DECODER_CTX_free(d);
    return key;
}
