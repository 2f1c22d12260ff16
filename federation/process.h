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
/* Stores a post fetched from its origin on a local person's request
 * (search with resolve=true) as its author's Create would be, kept even
 * when nobody here follows the author; its author (and community) must be
 * stored already. *post_id receives its id (also when it was held).
 * KITH_EINVAL for an object kith does not keep. In the caller's write. */
struct cJSON;
int process_fetched_object(struct kv_txn *txn, struct core *core, struct cJSON *obj,
                           uint64_t *post_id);
/* Entries applied since start (tests and stats). */
uint64_t processor_done(struct processor *p);

#endif
