/* federation/hosttab.h: per-host delivery state, looked up by host name.
 *
 * Layer: federation. The delivery engine keeps, for each host it sends to,
 * how many requests are in flight and how many it may have (its adaptive
 * window). The table is fixed-size and open-addressed; entries never move,
 * so a job may hold a pointer to its host's entry while it is in flight.
 * When the table is full, hosts with nothing in flight give up their
 * entries (tombstones) and their windows start again.
 * Owned: the table lives inside its owner (no allocation); loop thread only.
 */
#ifndef KITH_FEDERATION_HOSTTAB_H
#define KITH_FEDERATION_HOSTTAB_H

#include "../src/base/str.h"

#define HOSTTAB_SLOTS 1024

struct hoststate {
    char name[272]; /* host[:port]; a longer name is cut to fit */
    unsigned in_flight, window;
    int state; /* internal: empty, used or tombstone */
};

struct hosttab {
    struct hoststate slots[HOSTTAB_SLOTS];
};

/* Zero-initialised memory is an empty table. */

/* The state of host `name`, made with window `window_start` if new. NULL
 * only when every entry holds a host with requests in flight: the caller
 * tries again later. */
struct hoststate *hosttab_get(struct hosttab *t, struct str name, unsigned window_start);

#endif
