/* federation/inbox.h: the inbox queue's entry format (federation-internal).
 *
 * Each QUEUE_INBOX entry is text lines, a blank line, then the raw body:
 *   kith-inbox 1
 *   signer <actor id whose key signed the request>
 *   recipient <path the activity was posted to>
 *   received <Unix seconds>
 *
 *   <the activity, byte for byte as received>
 */
#ifndef KITH_FEDERATION_INBOX_H
#define KITH_FEDERATION_INBOX_H

#include "../src/http/router.h"

#define INBOX_MAGIC "kith-inbox 1"

extern const struct route inbox_routes[3];

#endif
