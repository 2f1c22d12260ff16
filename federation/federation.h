/* federation/federation.h: kith's ActivityPub edge, as the rest of kith sees it.
 *
 * Layer: federation (an edge: it speaks HTTP and ActivityPub, and calls
 * core and storage). main.c mounts federation_routes; src/api and web/ may
 * include this header only, never federation's internals.
 *
 * Local URLs (permanent once federated, DESIGN.md):
 *   /u/NAME        Person          /c/NAME         Group
 *   /actor         the instance's Application actor (FEP-d556 discovery)
 *   /inbox         the shared inbox   ACTOR/inbox, ACTOR/outbox, ACTOR/followers,
 *   ACTOR/following, ACTOR/featured, /c/NAME/moderators
 */
#ifndef KITH_FEDERATION_FEDERATION_H
#define KITH_FEDERATION_FEDERATION_H

#include "../src/http/router.h"

#include <stdbool.h>
#include <stddef.h>

struct core;
struct kith_config;
struct federation;

/* Shared federation state: the key cache and the inbox processor's thread
 * (and soon the delivery engine). main.c creates it after the writer and
 * hands it to the HTTP server as the app pointer; it frees it after the
 * HTTP server stopped and before the writer stops. */
int federation_new(struct core *core, const struct kith_config *cfg, struct federation **out);
void federation_free(struct federation *f);
/* `kithctl act USER ...` inside kithd (an admin hook; blocks its thread). */
struct buf;
int federation_act(void *f, int argc, char **argv, struct buf *out, struct buf *err);
/* `kithctl community approve|reject NAME ACTOR` inside kithd: the held
 * follow becomes a membership (Accept) or goes (Reject). */
int federation_community_answer(void *f, const char *community, const char *actor, bool accept,
                                struct buf *out, struct buf *err);
/* Appends live delivery figures (for kithctl federation status). */
void federation_delivery_live(void *f, struct buf *out);
/* Frees a loop thread's federation data (the server's thread_data_free). */
void federation_thread_free(void *data);

/* The ActivityPub and discovery routes (WebFinger, host-meta, NodeInfo,
 * actors, collections), as route tables for main.c to mount. */
extern const struct route_table federation_tables[];
extern const size_t federation_ntables;

#endif
