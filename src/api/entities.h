/* src/api/entities.h: Mastodon entities as JSON (docs.joinmastodon.org/entities).
 * Layer: api. Every field Mastodon 4.2 sends is present, with null where
 * Mastodon sends null; strings come from the request's arena. */
#ifndef KITH_API_ENTITIES_H
#define KITH_API_ENTITIES_H

#include "../core/core.h"
#include "../http/server.h"

#include <cjson/cJSON.h>

/* RFC 3339 with milliseconds, UTC: "2026-11-26T20:00:00.000Z". */
const char *api_time(struct arena *a, int64_t unix_secs);
/* Account, for a person; credential adds `source` (verify_credentials). */
cJSON *api_account(struct http_ctx *ctx, struct kv_txn *txn, const struct account *acct,
                   bool credential);
/* Account with group: true, for a community. */
cJSON *api_group(struct http_ctx *ctx, struct kv_txn *txn, const struct community *c);

#endif
