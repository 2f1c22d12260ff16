/* src/base/ratelimit.h: token buckets per key, in memory.
 *
 * Layer: base. A limiter allows `burst` requests per key per `period`
 * seconds, refilled continuously. Keys are short strings (a client address,
 * "login:" + account name, a peer's host). Memory is bounded: at most
 * max_keys buckets; idle full buckets are swept first, and if every bucket
 * is busy the oldest-touched of a shard is dropped.
 * Thread: every function is safe from any thread (sharded mutexes).
 * Owned: ratelimit_free() releases the limiter.
 */
#ifndef KITH_BASE_RATELIMIT_H
#define KITH_BASE_RATELIMIT_H

#include "str.h"

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MAX_KEY 96

struct ratelimit;

struct ratelimit *ratelimit_new(unsigned burst, unsigned period_secs, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);
/* Takes one token for key at time now_ms. Returns true when allowed; when
 * not, sets *retry_after to the whole seconds until a token is available. */
bool ratelimit_take(struct ratelimit *rl, struct str key, uint64_t now_ms, unsigned *retry_after);
/* The same, also telling the tokens left (whole) and the seconds until the
 * bucket is full again (either may be NULL): the X-RateLimit headers. */
bool ratelimit_take_left(struct ratelimit *rl, struct str key, uint64_t now_ms,
                         unsigned *retry_after, unsigned *left, unsigned *full_in);
/* Number of buckets held (for tests and stats). */
size_t ratelimit_size(struct ratelimit *rl);

#endif
