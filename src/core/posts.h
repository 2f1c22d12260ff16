/* src/core/posts.h: posts, comments and notes: finding, storing, addressing.
 *
 * Layer: core. One struct post (storage/records.h) holds all three: a post
 * is top-level in a community, a comment has a parent in a community
 * thread, a note is a person's own status (community_id 0). The functions
 * taking a kv_txn run inside the caller's transaction (a write transaction
 * for the ones that change anything); strings come back in the arena.
 */
#ifndef KITH_CORE_POSTS_H
#define KITH_CORE_POSTS_H

#include "core.h"

enum visibility { VIS_PUBLIC = 0, VIS_UNLISTED = 1, VIS_FOLLOWERS = 2, VIS_DIRECT = 3 };

/* "public", "unlisted", "followers", "direct" and back; -1 when unknown. */
const char *visibility_name(uint8_t v);
int visibility_parse(const char *name);

/* A post by its ActivityPub id: a remote object kith stored, or a local
 * one (PUBLIC_URL/post/ID, /comment/ID, /note/ID). KITH_ENOTFOUND otherwise. */
int post_by_ref(struct kv_txn *txn, const struct kith_config *cfg, const char *ref, struct arena *a,
                struct post *out);
int post_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct post *out);
/* The post's ActivityPub id: its uri when remote, else its local URL. */
const char *post_url(struct arena *a, const struct kith_config *cfg, const struct post *p);
/* "post", "comment" or "note". */
const char *post_kind(const struct post *p);
/* True when the post was written here (no remote uri). */
static inline bool post_is_local(const struct post *p)
{
    return p->uri.len == 0;
}

/* Stores a new post with its indexes (object_uris for a remote one, the
 * community's list for a post, the thread for a comment, whose parent's
 * reply count grows) and fans it out to home timelines (feeds.h). A
 * community's top-level post gets the community's boost of it
 * (p->boost_id). KITH_EEXIST when its uri is already held. */
int post_insert(struct kv_txn *txn, struct core *core, struct post *p);
/* Rewrites a post already stored (edits, counts, tombstones). */
int post_put(struct kv_txn *txn, const struct post *p);
/* Keeps the counts of a person's statuses and a community's posts (what
 * the API shows): +1 when p is stored, -1 when it is deleted, +1 again
 * when restored. */
int post_counts_add(struct kv_txn *txn, const struct post *p, int64_t delta);
/* What follows a post's deletion (after post_tombstone): its counts go
 * down and streams hear of it (status_change_log). */
int post_deleted(struct kv_txn *txn, const struct post *p);
/* The live statuses of an account, or the posts of a community. */
uint64_t statuses_count(struct kv_txn *txn, uint64_t id, bool community);
/* Turns a post into a tombstone (deleted_at set). keep: its content stays,
 * hidden, so an Undo of the Delete (Lemmy's restore) can bring it back;
 * else it goes. */
void post_tombstone(struct post *p, int64_t now, bool keep);
/* Tombstones (content gone) everything author_id wrote: the actor was deleted. */
int posts_of_author_tombstone(struct kv_txn *txn, uint64_t author_id, int64_t now);

/* Adds a notification for a local account (type as Mastodon's); nothing
 * for a remote one, or for one's own act. */
int notify_add(struct kv_txn *txn, struct core *core, uint64_t account_id, const char *type,
               uint64_t from_account_id, uint64_t post_id);

/* Plain text to HTML: escaped, paragraphs at blank lines, <br> at single
 * newlines, http(s) links made into anchors. */
struct str text_to_html(struct arena *a, struct str text);
/* The same, with "@name" and "@name@host" of the people named in m made
 * into Mastodon's h-card mention links (domain empty: local, also matched
 * by local_domain), and #hashtags into links to tag_base/tags/TAG. */
struct mention_link {
    struct str name, domain;
    const char *url;
};
struct str status_html(struct arena *a, struct str text, const struct mention_link *m, size_t n,
                       const char *local_domain, const char *tag_base);

/* The actor URL of an account or community: its id when remote, the local
 * /u/NAME or /c/NAME otherwise. NULL when the account does not exist. */
const char *account_url(struct kv_txn *txn, struct core *core, struct arena *a, uint64_t id);
const char *community_url(struct arena *a, struct core *core, const struct community *c);

/* The #hashtags an HTML text links (Mastodon's, Pleroma's and kith's
 * markup: an <a> with class hashtag or rel tag whose text is #NAME): up to
 * max names (slices of html) into out; returns how many. */
size_t post_hashtags(struct str html, struct str *out, size_t max);
#define TAG_MAX_LEN 100

/* ---- polls ---- */

#define POLL_MAX_OPTIONS 4
#define POLL_TITLE_MAX   50 /* characters */

struct poll_view {
    size_t n;
    struct str titles[POLL_MAX_OPTIONS * 4]; /* remote polls may have more */
    uint64_t counts[POLL_MAX_OPTIONS * 4];
    uint64_t total; /* votes, all options */
};
/* The options of p's poll (n 0: none). */
void poll_read(const struct post *p, struct poll_view *out);
/* True when p's poll has ended at now. */
bool poll_expired(const struct post *p, int64_t now);
/* The choices account made (indexes into out, up to max); 0 when none. */
size_t poll_own_votes(struct kv_txn *txn, uint64_t post_id, uint64_t account_id, uint8_t *out,
                      size_t max);
/* Records account's vote (choices are valid indexes) and counts it in p
 * (rewritten); KITH_EEXIST when they voted already, unless add and the poll
 * takes several choices (a remote voter's next choice: one Note each). */
int poll_vote(struct kv_txn *txn, struct arena *a, struct post *p, uint64_t account_id,
              const uint8_t *choices, size_t n, bool add);

/* Votes in a local poll are told to other servers at most once a window
 * (an Update of the poll at the window's end). */
#define POLL_UPDATE_SECS 5
/* Is a poll's end, or a local poll's new counts, waiting to be told (due
 * at or before now)? */
bool polls_due(struct kv_txn *txn, int64_t now);
/* Tells what is due by now (at most 64 a call): a poll that ended gets a
 * "poll" notification to the local author and to every local voter; a
 * local poll that ended or has new votes is passed to told (which sends
 * it to other servers; may be NULL). */
typedef int poll_told_fn(struct kv_txn *txn, const struct post *p, void *arg);
int polls_close_due(struct kv_txn *txn, struct core *core, int64_t now, poll_told_fn *told,
                    void *arg);

/* True when recipients (newline-separated URIs) holds uri. */
bool recipients_has(struct str recipients, struct str uri);

#endif
