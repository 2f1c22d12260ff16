/* src/api/lists.h: what the home timeline needs of lists (lists.c).
 * Layer: api. */
#ifndef KITH_API_LISTS_H
#define KITH_API_LISTS_H

#include "../core/core.h"

/* The person's exclusive lists (ids into out, at most max). */
size_t list_exclusive(struct kv_txn *txn, uint64_t account, struct arena *a, uint64_t *out,
                      size_t max);
/* True when a home timeline entry comes from a member of one of lists
 * (so it stays out of the home timeline). */
bool list_excludes(struct kv_txn *txn, const uint64_t *lists, size_t n, uint64_t status_id,
                   uint64_t post_id, struct arena *a);

/* Does list l take this home timeline entry (a member's, and a reply only
 * as its replies_policy says)? */
bool list_wants(struct kv_txn *txn, const struct list *l, uint64_t viewer, uint64_t status_id,
                uint64_t post_id, struct arena *a);

#endif
