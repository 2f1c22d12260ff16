/* federation/hosttab.c: per-host delivery state (see hosttab.h). */
#include "hosttab.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { SLOT_EMPTY, SLOT_USED, SLOT_TOMB };

/* The entry for name along its probe chain, or a new one in the chain's
 * first free entry; NULL if the chain has none. */
static struct hoststate *lookup(struct hosttab *t, uint64_t h, struct str name,
                                unsigned window_start)
{
    struct hoststate *free_slot = NULL;
    for (unsigned probe = 0; probe < HOSTTAB_SLOTS; probe++) {
        struct hoststate *s = &t->slots[(h + probe) % HOSTTAB_SLOTS];
        if (s->state == SLOT_USED) {
            if (strlen(s->name) == name.len && memcmp(s->name, name.ptr, name.len) == 0)
                return s;
            continue;
        }
        if (!free_slot)
            free_slot = s;
        if (s->state == SLOT_EMPTY)
            break; /* the name is not further along its chain */
    }
    if (free_slot) {
        free_slot->state = SLOT_USED;
        snprintf(free_slot->name, sizeof(free_slot->name), "%.*s", (int)name.len, name.ptr);
        free_slot->in_flight = 0;
        free_slot->window = window_start;
    }
    return free_slot;
}

struct hoststate *hosttab_get(struct hosttab *t, struct str name, unsigned window_start)
{
    if (name.len >= sizeof(t->slots[0].name))
        name.len = sizeof(t->slots[0].name) - 1; /* as stored, so it matches */
    uint64_t h = str_hash(name);
    struct hoststate *s = lookup(t, h, name, window_start);
    if (s)
        return s;
    /* Full: idle hosts give up their entries. */
    for (unsigned i = 0; i < HOSTTAB_SLOTS; i++)
        if (t->slots[i].state == SLOT_USED && t->slots[i].in_flight == 0)
            t->slots[i].state = SLOT_TOMB;
    return lookup(t, h, name, window_start);
}
