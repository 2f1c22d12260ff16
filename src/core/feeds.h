/* src/core/feeds.h: what a person sees and keeps: home timelines, boosts,
 * bookmarks, pins, and idempotent posting.
 *
 * Layer: core. The home timeline is an index written when a status arrives
 * or is made (table home), never a scan at read time: post_insert fans a
 * new post out to its readers' homes, reblog_add a boost to its booster's
 * followers (a community's boost to its members). Writes take the
 * caller's write transaction; reads any transaction. Strings come back in
 * the arena.
 */
#ifndef KITH_CORE_FEEDS_H
#define KITH_CORE_FEEDS_H

#include "core.h"

/* Does follower follow target (an accepted follow)? */
bool follows_accepted(struct kv_txn *txn, uint64_t follower, uint64_t target);
/* Whether some local person follows remote (accepted). */
bool followed_locally(struct kv_txn *txn, uint64_t remote);
/* Puts status_id (post_id itself, or a boost of it) into account's home. */
int home_add(struct kv_txn *txn, uint64_t account_id, uint64_t status_id, uint64_t post_id);
/* Fans a new post out to the local homes it belongs in: its local author;
 * for a community's post, the community's boost (p->boost_id) to every
 * local member; for a note that is not direct, the author's local
 * followers (for a reply to someone else, only those who follow them
 * too); for a direct or followers-only note, the local people it names. */
int home_fanout(struct kv_txn *txn, struct core *core, const struct post *p);

/* Following someone or joining a community: their newest max posts join
 * the home (as Mastodon merges a followed account's statuses). source is
 * an author's account id, or SENDER_COMMUNITY(community id). */
int home_merge(struct kv_txn *txn, uint64_t account_id, uint64_t source, size_t max);
/* Unfollowing or leaving: their posts and boosts leave the home (the
 * newest HOME_UNMERGE_SCAN entries are looked at). */
#define HOME_UNMERGE_SCAN 4000
int home_unmerge(struct kv_txn *txn, uint64_t account_id, uint64_t source);

/* Direct conversations (a thread of direct statuses), per person: the
 * newest status and whether it is unread. */
int conv_touch(struct kv_txn *txn, uint64_t account_id, uint64_t root, uint64_t status_id,
               bool unread);
int conv_forget(struct kv_txn *txn, uint64_t account_id, uint64_t root);

/* Walks account's home from newest to oldest, strictly below max_id (0: from
 * the newest) and strictly above min_id; calls fn(status id, post id) until
 * it returns non-zero. */
typedef int home_fn(uint64_t status_id, uint64_t post_id, void *arg);
int home_each(struct kv_txn *txn, uint64_t account_id, uint64_t max_id, uint64_t min_id,
              bool ascending, home_fn *fn, void *arg);

/* Walks the keys prefix + id (8) of table from newest to oldest id,
 * strictly below max_id (0: from the newest) and above min_id (ascending:
 * the other way); fn gets each id and value until it returns non-zero. */
typedef int index_fn(uint64_t id, struct str val, void *arg);
int index_each(struct kv_txn *txn, unsigned table, struct str prefix, uint64_t max_id,
               uint64_t min_id, bool ascending, index_fn *fn, void *arg);

/* Whether the first key of a table ordered by time (Unix seconds, 8 bytes
 * big-endian, then an id) is at or before now: something is due. */
bool time_index_due(struct kv_txn *txn, unsigned table, int64_t now);

/* Public timelines: a new public post that is not a reply to someone else
 * goes into table public (and public_local when written here); a public
 * post's #hashtags into table tags. Called by post_insert. */
int public_index(struct kv_txn *txn, const struct post *p);
/* Walks the public posts carrying tag (any case), as index_each. */
int tag_each(struct kv_txn *txn, struct str tag, uint64_t max_id, uint64_t min_id, bool ascending,
             index_fn *fn, void *arg);

/* The tags (lower case, as indexed) of public posts that start with
 * prefix (any case), in order, skipping the first skip: fn gets each name
 * until it returns non-zero. */
typedef int tag_name_fn(struct str name, void *arg);
int tag_names(struct kv_txn *txn, struct str prefix, size_t skip, tag_name_fn *fn, void *arg);

/* Following a tag: its public posts come into the home timeline. */
bool tag_followed(struct kv_txn *txn, uint64_t account_id, struct str tag);
int tag_follow(struct kv_txn *txn, uint64_t account_id, struct str tag, bool on);

/* ---- status changes, for the streaming API ---- */

/* Records that a status (a post, or a boost: its reblog id) is gone
 * (CHANGE_DELETE) or was edited (CHANGE_EDIT), for streams to send
 * "delete" or "status.update"; entries older than CHANGES_KEEP_SECS go. */
enum status_change { CHANGE_DELETE = 0, CHANGE_EDIT = 1 };
#define CHANGES_KEEP_SECS 600
int status_change_log(struct kv_txn *txn, uint64_t status_id, uint64_t author_id,
                      uint8_t visibility, uint8_t kind);
/* The newest entry's sequence (0: none). */
uint64_t status_change_last(struct kv_txn *txn);
/* The entries after seq, oldest first: fn gets each until it returns
 * non-zero. */
typedef int status_change_fn(uint64_t seq, uint64_t status_id, uint64_t author_id,
                             uint8_t visibility, uint8_t kind, void *arg);
int status_change_each(struct kv_txn *txn, uint64_t after, status_change_fn *fn, void *arg);

/* ---- muted conversations (a person's own) ---- */

/* The thread a post belongs to: its root, or itself. */
static inline uint64_t thread_root(const struct post *p)
{
    return p->root_id ? p->root_id : p->id;
}
/* Whether account muted p's conversation: no notifications from it. */
bool thread_muted(struct kv_txn *txn, uint64_t account_id, const struct post *p);
int thread_mute_set(struct kv_txn *txn, uint64_t account_id, uint64_t root, bool on);

/* ---- blocks and mutes (a person's own) ---- */

bool block_has(struct kv_txn *txn, uint64_t account_id, uint64_t target);
int block_set(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool on);
/* A mute in force (expired ones are not); *notifications: muted there too. */
bool mute_has(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool *notifications);
/* on: mutes (expires_at 0: for good); off: unmutes. */
int mute_set(struct kv_txn *txn, uint64_t account_id, uint64_t target, bool on, bool notifications,
             int64_t expires_at);

/* ---- boosts ---- */

/* The booster key of table post_reblogs: a person's id, or a community's
 * id marked with SENDER_COMMUNITY. */
static inline uint64_t booster_key(const struct reblog *r)
{
    return r->community_id ? SENDER_COMMUNITY(r->community_id) : r->account_id;
}
int reblog_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct reblog *out);
/* The boost of post_id by booster (see booster_key); KITH_ENOTFOUND if none. */
int reblog_find(struct kv_txn *txn, uint64_t post_id, uint64_t booster, struct arena *a,
                struct reblog *out);
/* Stores a new boost (r->id set) and fans it out: the booster's own home
 * and their local followers', or a community's local members'. */
int reblog_add(struct kv_txn *txn, struct core *core, const struct reblog *r);
/* Removes a boost; home entries pointing at it are skipped when read. */
int reblog_remove(struct kv_txn *txn, const struct reblog *r);
/* How many people boosted post_id (community boosts not counted). */
uint64_t reblog_count(struct kv_txn *txn, uint64_t post_id);

/* ---- bookmarks and pins (a person's own, never federated) ---- */

bool bookmark_has(struct kv_txn *txn, uint64_t account_id, uint64_t post_id);
/* on: adds (no-op when there); off: removes (no-op when absent). */
int bookmark_set(struct kv_txn *txn, struct core *core, uint64_t account_id, uint64_t post_id,
                 bool on);
bool pin_has(struct kv_txn *txn, uint64_t account_id, uint64_t post_id);
int pin_set(struct kv_txn *txn, uint64_t account_id, uint64_t post_id, bool on);
uint64_t pin_count(struct kv_txn *txn, uint64_t account_id);

/* ---- Idempotency-Key (an hour, per person) ---- */

#define IDEMPOTENCY_SECS 3600
/* The post an earlier request with the same key made, if within the hour. */
int idempotency_get(struct kv_txn *txn, uint64_t account_id, struct str key, uint64_t *post_id);
int idempotency_put(struct kv_txn *txn, uint64_t account_id, struct str key, uint64_t post_id);

#endif
