/* src/base/id.h: 64-bit time-ordered identifiers.
 *
 * Layer: base. An id is (milliseconds since the epoch << 16) | sequence: ids
 * sort by creation time, and big-endian ids make LMDB range scans into
 * timelines. idgen_next() never returns the same id twice and never goes
 * backwards, across threads (one atomic compare-and-swap) and across
 * restarts: storage persists the highest id handed out (meta "id_hwm") and
 * passes it back as the floor at start-up. When the wall clock steps back,
 * ids keep counting up from the last one; when more than 65,536 ids are
 * taken in one millisecond they borrow from the next.
 * Thread: idgen_next is safe from any thread.
 */
#ifndef KITH_BASE_ID_H
#define KITH_BASE_ID_H

#include "clock.h"

#include <stdatomic.h>
#include <stdint.h>

#define ID_SEQ_BITS 16

struct idgen {
    _Atomic uint64_t last;          /* highest id handed out, or the floor */
    const struct kith_clock *clock; /* borrowed */
};

void idgen_init(struct idgen *g, const struct kith_clock *clock, uint64_t floor);
uint64_t idgen_next(struct idgen *g);
/* The highest id handed out so far (or the floor). */
uint64_t idgen_last(struct idgen *g);
/* Raises the floor to at least floor (no-op if already higher). */
void idgen_raise(struct idgen *g, uint64_t floor);

/* The millisecond timestamp inside an id. */
static inline uint64_t id_ms(uint64_t id)
{
    return id >> ID_SEQ_BITS;
}

#endif
