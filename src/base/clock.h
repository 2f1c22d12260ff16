/* src/base/clock.h: time sources.
 *
 * Layer: base. Wall-clock time is read through a struct kith_clock so tests
 * can substitute a clock that steps backwards (see tests/unit/base/test_id.c).
 * Production code uses clock_system().
 */
#ifndef KITH_BASE_CLOCK_H
#define KITH_BASE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct kith_clock {
    uint64_t (*now_ms)(void *arg); /* milliseconds since the Unix epoch */
    void *arg;
};

/* The real wall clock (CLOCK_REALTIME). Static storage: never freed. */
const struct kith_clock *clock_system(void);

static inline uint64_t clock_now_ms(const struct kith_clock *c)
{
    return c->now_ms(c->arg);
}

/* Monotonic nanoseconds, for durations only. */
uint64_t mono_ns(void);

/* Wall clock, seconds since the epoch (for records and logs). */
int64_t wall_seconds(void);
/* Unix seconds t as RFC 3339 UTC into out: "2026-11-26T20:00:00Z", or with
 * millis "2026-11-26T20:00:00.000Z" (Mastodon's API wants them). */
void clock_rfc3339(int64_t t, bool millis, char out[32]);
/* Parses an RFC 3339 / ISO 8601 time ("2026-11-26T20:00:00Z", with or
 * without fractions, "Z" or a +hh:mm offset) into Unix seconds; false
 * when s is not one. */
bool clock_parse_rfc3339(const char *s, int64_t *out);

#endif
