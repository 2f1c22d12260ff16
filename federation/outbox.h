/* federation/outbox.h: local posts as ActivityPub objects, and the
 * activities kith sends about them (federation-internal).
 *
 * object_json renders a stored post (local or remote) as the Page or Note
 * other servers expect, or a Tombstone once deleted. The outbox_* calls
 * run inside a write transaction: they store an activity once and
 * schedule one delivery per destination inbox (shared inboxes merged).
 * Returned cJSON trees are owned by the caller (cJSON_Delete); strings
 * live in the arena.
 */
#ifndef KITH_FEDERATION_OUTBOX_H
#define KITH_FEDERATION_OUTBOX_H

#include "../src/core/posts.h"

#include <cjson/cJSON.h>

#define AS_CONTEXT_URL "https://www.w3.org/ns/activitystreams"

/* The post as a Page (top-level community post), Note, or Tombstone. */
cJSON *object_json(struct kv_txn *txn, struct core *core, struct arena *a, const struct post *p);

/* A new activity {@context, id PUBLIC_URL/activities/KIND/AID, type, actor};
 * *aid receives the fresh id. */
cJSON *activity_new(struct core *core, struct arena *a, const char *type, const char *actor,
                    uint64_t *aid);

/* Copies the object's addressing (to, cc, audience) onto the activity
 * that carries it. */
void activity_address_like(cJSON *act, cJSON *obj);

/* Sends Update(Question) of a local poll p with its counts now (or its
 * end): where its post went, and to every remote voter. */
int outbox_poll_update(struct kv_txn *txn, struct core *core, const struct post *p);

/* Sends a local member's activity about p where it must go: for a post or
 * comment in a local community, the community announces it to its remote
 * members (plus a plain Announce of the object for microblogs when
 * new_post); in a remote community, to that community's inbox; for a
 * note, to the author's remote followers (unless direct) and to every
 * remote recipient, and (unless direct) to a remote parent's author. */
int outbox_send(struct kv_txn *txn, struct core *core, struct arena *a, cJSON *activity,
                uint64_t aid, uint64_t sender_id, const struct post *p, bool new_post);

/* Sends activity to the sender's accepted remote followers and to the
 * account also_to when it is remote (a boost to the booster's followers
 * and the post's author). */
int outbox_send_followers(struct kv_txn *txn, struct core *core, struct arena *a, cJSON *activity,
                          uint64_t aid, uint64_t sender_id, uint64_t also_to);

/* The community re-sends activity (as received) inside an Announce to every
 * remote member's server; plain_object also sends Announce(object). */
int community_announce(struct kv_txn *txn, struct core *core, struct arena *a,
                       const struct community *c, cJSON *activity, cJSON *plain_object);

#endif
