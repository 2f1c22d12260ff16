/* federation/inbox.h: the inbox queue's entry format (federation-internal).
 *
 * Each QUEUE_INBOX entry is text lines, a blank line, then the raw body:
 *   kith-inbox 1
 *   signer <actor id whose key signed the request>
 *   recipient <path the activity was posted to>
 *   received <Unix seconds>
 *   fetched <url>   (only when a community's Announce named its object by id:
 *                    the body then embeds the object as fetched from its origin)
 *
 *   <the activity, byte for byte as received>
 */
#ifndef KITH_FEDERATION_INBOX_H
#define KITH_FEDERATION_INBOX_H

#include "../src/http/router.h"

#define INBOX_MAGIC "kith-inbox 1"

extern const struct route inbox_routes[3];

struct http_ctx;
/* For objects served to signed fetches only: verifies ctx's HTTP signature
 * (fetching an unknown key, signed as the instance actor), then calls
 * then(ctx, signer, arg) with the key's actor, which replies; a missing or
 * failing signature gets 401. Returns HANDLER_DONE or HANDLER_ASYNC. */
int signed_request(struct http_ctx *ctx,
                   void (*then)(struct http_ctx *, const char *signer, void *), void *arg);

#endif
