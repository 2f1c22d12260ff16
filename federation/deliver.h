/* federation/deliver.h: the delivery engine (federation-internal).
 *
 * Outgoing activities are stored once (table outgoing) with one job per
 * destination inbox in table deliveries, keyed by due time, so the schedule
 * survives restarts: a kill -9 loses no job (a job in flight is simply due
 * again, and may be delivered twice; never lost). The engine runs on its
 * own event loop with its own fetcher: per destination host it keeps an
 * adaptive window of requests in flight (grows on success, halves on
 * failure), retries temporary failures with exponential back-off and
 * jitter from delivery_retry_base, drops a job older than
 * delivery_give_up_after, and marks a host that has failed for
 * delivery_dead_after as dead: its jobs are then tried only rarely, and
 * one success revives it. Each outcome is written through the writer
 * before the job leaves the in-flight set.
 * Thread: its own; deliverer_kick and deliverer_stats are safe anywhere.
 */
#ifndef KITH_FEDERATION_DELIVER_H
#define KITH_FEDERATION_DELIVER_H

#include "../src/core/core.h"

#include <stdint.h>

struct deliverer;

struct deliver_stats {
    uint64_t delivered, retried, dropped, in_flight;
    uint64_t connections, reused; /* opened, and requests on kept-alive ones */
};

/* fed (struct federation) publishes scheduled statuses from the sweep. */
int deliverer_start(struct core *core, void *fed, struct deliverer **out, char *err, size_t errlen);
/* New jobs are scheduled: look now rather than at the next tick. */
void deliverer_kick(struct deliverer *d);
/* Stops sending (jobs in flight stay scheduled) and joins the thread. */
void deliverer_stop(struct deliverer *d);
void deliverer_stats(struct deliverer *d, struct deliver_stats *out);
/* Appends one line per host with requests in flight (its window too), as
 * the loop sees them; blocks until the loop answers (admin threads only). */
struct buf;
void deliverer_hosts(struct deliverer *d, struct buf *out);

/* Inside a write transaction: stores activity (its JSON) under activity_id in
 * table outgoing and schedules one delivery of it to inbox, signed by sender
 * (a local account id, SENDER_COMMUNITY(id), or 0 for the instance actor).
 * Kick the deliverer after the commit. */
struct cJSON;
int delivery_schedule(struct kv_txn *txn, struct core *core, struct cJSON *activity,
                      uint64_t activity_id, uint64_t sender_id, struct str inbox);

/* Another destination for an activity already stored by delivery_schedule. */
int delivery_schedule_more(struct kv_txn *txn, struct core *core, uint64_t activity_id,
                           uint64_t sender_id, struct str inbox);

#endif
