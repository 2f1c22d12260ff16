/* src/core/oauth.h: OAuth 2 applications, tokens and scopes (Mastodon's model).
 *
 * Layer: core. An application (a Mastodon client) has a client_id and a
 * secret; tokens and authorization codes are random strings of which only
 * the SHA-256 is stored (table oauth_tokens), so a database copy grants
 * nothing. Scopes follow Mastodon: "read" grants every "read:*", "write"
 * every "write:*", "follow" the follow-related ones; see scope_allows.
 * The *_insert functions take a write transaction; lookups any.
 */
#ifndef KITH_CORE_OAUTH_H
#define KITH_CORE_OAUTH_H

#include "core.h"

#define OAUTH_SECRET_LEN 43 /* base64url of 32 random bytes, without padding */

/* Scopes as a client sends them: space- or '+'-separated. KITH_EINVAL with
 * the offending scope in res when one is not Mastodon's; the normalised
 * list (space-separated, no duplicates) in out (arena). An empty request
 * means "read". */
int scopes_parse(struct str requested, struct arena *a, struct str *out, struct core_result *res);
/* True when every scope in want is in have (both normalised). */
bool scopes_subset(struct str want, struct str have);
/* True when the granted scopes allow `required` (e.g. "read:statuses"). */
bool scope_allows(struct str granted, const char *required);

/* A fresh random secret (client ids, secrets, tokens, codes): out holds
 * OAUTH_SECRET_LEN + 1 bytes. */
int oauth_random(char out[OAUTH_SECRET_LEN + 1]);
/* Lowercase hex SHA-256 of s (65 bytes with the NUL). */
void oauth_hash_hex(struct str s, char out[65]);

/* Stores a new app; fills app->id, client_id (app->client_id points at it)
 * and secret (shown once: only its hash is stored). */
int oauth_app_insert(struct kv_txn *txn, struct core *core, struct oauth_app *app,
                     char client_id[OAUTH_SECRET_LEN + 1], char secret[OAUTH_SECRET_LEN + 1]);
int oauth_app_by_client_id(struct kv_txn *txn, struct str client_id, struct arena *a,
                           struct oauth_app *out);
/* True when secret is the app's. */
bool oauth_app_secret_ok(const struct oauth_app *app, struct str secret);
/* True when uri is one of the app's redirect URIs. */
bool oauth_app_redirect_ok(const struct oauth_app *app, struct str uri);

/* Stores a token (or code) under the hash of the fresh random value put in
 * value. */
int oauth_token_insert(struct kv_txn *txn, const struct oauth_token *t,
                       char value[OAUTH_SECRET_LEN + 1]);
/* The live token for value: KITH_ENOTFOUND when unknown, revoked or expired. */
int oauth_token_get(struct kv_txn *txn, struct str value, struct arena *a, struct oauth_token *out);
/* A person's approval of an app for scopes (the consent page): recorded,
 * and asked whether it covers scopes (then the page is not shown again). */
int oauth_grant_put(struct kv_txn *txn, uint64_t account_id, uint64_t app_id, struct str scopes);
bool oauth_grant_covers(struct kv_txn *txn, uint64_t account_id, uint64_t app_id,
                        struct str scopes);

/* Revokes the token for value (a no-op when unknown). */
int oauth_token_revoke(struct kv_txn *txn, struct str value);

#endif
