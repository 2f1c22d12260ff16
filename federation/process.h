/* federation/process.h: the inbox processor (federation-internal).
 *
 * One thread takes the entries of the durable inbox queue in order and
 * applies each in one write transaction together with its removal from the
 * queue and a record in table activities: an activity id seen twice is
 * applied once, and a crash between taking and applying an entry only
 * means it is taken again. It never touches the network: everything it
 * needs about the sender was stored when the signature was verified.
 * Thread: its own; processor_kick is safe from any thread.
 */
#ifndef KITH_FEDERATION_PROCESS_H
#define KITH_FEDERATION_PROCESS_H

#include "../src/core/core.h"

#include <stdint.h>

struct processor;

/* notify(arg) runs on the processor's thread after each applied entry (the
 * delivery engine's kick). */
int processor_start(struct core *core, void (*notify)(void *arg), void *arg,
                    struct processor **out);
/* Wakes the processor: new entries are queued. */
void processor_kick(struct processor *p);
/* Finishes the entry in hand and joins the thread. */
void processor_stop(struct processor *p);
/* Entries applied since start (tests and stats). */
uint64_t processor_done(struct processor *p);

#endif
