/* src/base/id.c: time-ordered identifiers. */
#include "id.h"

void idgen_init(struct idgen *g, const struct kith_clock *clock, uint64_t floor)
{
    atomic_init(&g->last, floor);
    g->clock = clock;
}

uint64_t idgen_next(struct idgen *g)
{
    uint64_t last = atomic_load(&g->last);
    for (;;) {
        uint64_t now = clock_now_ms(g->clock) << ID_SEQ_BITS;
        uint64_t next = now > last ? now : last + 1;
        if (atomic_compare_exchange_weak(&g->last, &last, next))
            return next;
    }
}

uint64_t idgen_last(struct idgen *g)
{
    return atomic_load(&g->last);
}

void idgen_raise(struct idgen *g, uint64_t floor)
{
    uint64_t last = atomic_load(&g->last);
    while (last < floor && !atomic_compare_exchange_weak(&g->last, &last, floor))
        ;
}
