/* src/api/entities.h: Mastodon entities as JSON (docs.joinmastodon.org/entities).
 * Layer: api. Every field Mastodon 4.2 sends is present, with null where
 * Mastodon sends null; strings come from the request's arena. */
#ifndef KITH_API_ENTITIES_H
#define KITH_API_ENTITIES_H

#include "../core/core.h"
#include "../http/server.h"

#include <cjson/cJSON.h>

/* RFC 3339 with milliseconds, UTC: "2026-11-26T20:00:00.000Z". */
const char *api_time(struct arena *a, int64_t unix_secs);
/* Account, for a person; credential adds `source` (verify_credentials). */
cJSON *api_account(struct http_ctx *ctx, struct kv_txn *txn, const struct account *acct,
                   bool credential);
/* Account with group: true, for a community. */
cJSON *api_group(struct http_ctx *ctx, struct kv_txn *txn, const struct community *c);

/* ---- statuses ---- */

#define VIEW_MEMO 128

/* Statuses rendered for one request: who looks (viewer 0: nobody signed
 * in), and the accounts already rendered, reused within the request. */
struct status_view {
    struct http_ctx *ctx;
    struct kv_txn *txn;
    uint64_t viewer;
    const char *viewer_url; /* the viewer's actor URL */
    size_t nmemo;
    uint64_t memo_id[VIEW_MEMO];
    char *memo[VIEW_MEMO];     /* the accounts printed (owned: status_view_done frees them) */
    void *cache;               /* the loop's accounts printed since the last commit */
    int context;               /* enum filter_context of the timeline being read; 0: none */
    size_t nfilters;           /* the viewer's filters in force (filters.c) */
    struct filter filters[64]; /* as many as a person may have */
};
void status_view_init(struct status_view *v, struct http_ctx *ctx, struct kv_txn *txn,
                      const struct account *viewer);
void status_view_done(struct status_view *v);

/* May the viewer see p? Public and unlisted posts: anyone; followers-only:
 * the author, followers, members and the people named; direct: the author
 * and the people named. Deleted posts: nobody. */
bool api_can_see(struct status_view *v, const struct post *p);
/* Has the viewer blocked or muted account id? */
bool api_muted(struct status_view *v, uint64_t id);
/* Is status_id (or the post it boosts) by someone the viewer blocked or
 * muted? Timelines leave those out; a status asked for by id still shows. */
bool api_hidden(struct status_view *v, uint64_t status_id);
/* Does a filter of the viewer's (action hide, in v->context) leave the
 * status (or the post it boosts) out? */
bool api_filtered_out(struct status_view *v, uint64_t status_id);
/* The Status for status_id (a post, or a boost of one, rendered as
 * Mastodon's reblog wrapper); NULL when there is none the viewer may see. */
cJSON *api_status(struct status_view *v, uint64_t status_id);
cJSON *api_status_post(struct status_view *v, const struct post *p);
/* The same Status as text appended to b (the timelines' way: parts kept
 * for the snapshot, the viewer's fields added); false when none. */
bool api_status_text(struct status_view *v, uint64_t status_id, struct buf *b);
/* The Account of an account or community id (rendered once a request,
 * then inserted as its printed text: a raw node); NULL if neither. */
cJSON *api_actor(struct status_view *v, uint64_t id);
/* The Notification entity; NULL when what it is about is gone. */
cJSON *api_notification(struct status_view *v, const struct notification *n);
/* The Poll of p, or NULL when it has none. */
cJSON *api_poll(struct status_view *v, const struct post *p);
/* The MediaAttachment of an upload. */
cJSON *api_media(struct http_ctx *ctx, const struct media_rec *m);
/* ---- conversations (conversations.c) ---- */

/* The Conversation entity: the others in it, its newest status (last),
 * unread; NULL when the viewer may not see that status. */
cJSON *api_conversation(struct status_view *v, uint64_t root, uint64_t last, bool unread);

/* ---- scheduled statuses (scheduled.c) ---- */

/* The ScheduledStatus entity of a kept status (federation_scheduled_get). */
cJSON *api_scheduled_status(struct http_ctx *ctx, struct kv_txn *txn, cJSON *kept);
/* Reads scheduled_at (ISO 8601) into *at; false after replying 422 when it
 * does not parse or is in the future by less than scheduled_min_lead (a
 * time past means now). */
bool api_scheduled_at(struct http_ctx *ctx, struct str v, int64_t *at);

/* ---- tags (tags.c) ---- */

/* The Tag entity of tag; following: -1 leaves the field out (no viewer). */
cJSON *api_tag(struct http_ctx *ctx, struct str tag, int following);

/* ---- filters (filters.c) ---- */

/* A counter each change of account's filters moves (streams send
 * filters_changed when it does). */
uint64_t api_filters_version(struct kv_txn *txn, uint64_t account);
/* The FilterV2 entity. */
cJSON *api_filter_json(struct arena *a, const struct filter *f);
/* An account's filters in force (not expired), at most max. */
size_t api_filters_load(struct kv_txn *txn, uint64_t account, struct arena *a, struct filter *out,
                        size_t max);
/* The viewer's filters of v->context that p matches: FilterResult entities
 * appended to filtered (comma-separated; may be NULL); 1 when one of them
 * hides it. */
int api_filter_apply(struct status_view *v, const struct post *p, struct buf *filtered);
/* Mastodon's visibility names: public, unlisted, private, direct. */
const char *api_visibility(uint8_t v);
int api_visibility_parse(struct str s);

#endif
