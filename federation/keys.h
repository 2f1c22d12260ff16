/* federation/keys.h: parsed public keys of remote actors, cached.
 *
 * Layer: federation. Parsing a PEM key costs as much as 16 signature
 * verifications with OpenSSL 3 (performance.md), so verified inbox traffic
 * keeps parsed EVP_PKEYs here, keyed by key id, with the owning actor's id.
 * Bounded: least recently used entries go first.
 * Thread: every function is safe from any thread (one mutex).
 * Owned: keycache_get returns a new reference the caller frees with
 * EVP_PKEY_free(); keycache_put takes its own reference.
 */
#ifndef KITH_FEDERATION_KEYS_H
#define KITH_FEDERATION_KEYS_H

#include "../src/base/str.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct keycache;

struct keycache *keycache_new(size_t max_entries);
void keycache_free(struct keycache *kc);
/* The key for key_id, or NULL; owner (>= 512 bytes) receives the owning
 * actor's id, refetch_after (may be NULL) the time before which a failed
 * verification must not fetch the key again (0: any time). */
EVP_PKEY *keycache_get(struct keycache *kc, struct str key_id, char *owner, size_t ownerlen,
                       int64_t *refetch_after);
/* refetch_after: see keycache_get; a key just fetched again because a
 * signature failed gets now + a minute, so bad signatures cannot make kith
 * fetch a key over and over. */
void keycache_put(struct keycache *kc, struct str key_id, struct str owner, EVP_PKEY *key,
                  int64_t refetch_after);
/* Forgets key_id (after a verification failure, before refetching: rotation). */
void keycache_forget(struct keycache *kc, struct str key_id);
size_t keycache_size(struct keycache *kc);

/* Parses a PEM public key (SubjectPublicKeyInfo, or PKCS#1 "RSA PUBLIC KEY"). */
EVP_PKEY *pem_public_key(struct str pem);

#endif
