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
#include <stdint.h>

struct core;
struct kv_txn;
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
/* ---- what a local person writes: kithctl act and the Mastodon API ---- */

enum fed_write_kind {
    FW_CREATE,   /* a post (community_id), a comment or reply (parent_id), or a note */
    FW_VOTE,     /* vote on target_id: +1 (a favourite), -1, 0 to take it back */
    FW_EDIT,     /* one's own target_id: body, title, summary, sensitive, language */
    FW_DELETE,   /* one's own target_id */
    FW_REBLOG,   /* boost target_id (again: the same boost) */
    FW_UNREBLOG, /* take one's boost of target_id back */
    FW_FOLLOW,   /* follow the person or join the community target_id (local or remote) */
    FW_UNFOLLOW, /* unfollow or leave it */
    FW_ANSWER,   /* accept (vote 1) or reject (vote 0) target_id's follow request: of the
                    user, or of community_id when set (the user moderates it) */
    FW_BLOCK,    /* block target_id: follows both ways end; a remote one gets a Block */
    FW_UNBLOCK,
    FW_PROFILE,   /* the user's profile changed (already stored): Update to followers */
    FW_POLL_VOTE, /* vote choices[] in target_id's poll */
    FW_PIN,       /* pin one's own public or unlisted target_id (at most 5): Add to featured */
    FW_UNPIN,     /* unpin it: Remove from featured */
};

#define FED_MAX_MENTIONS 32
#define FED_MAX_MEDIA    4

struct fed_write {
    int kind;         /* enum fed_write_kind */
    uint64_t user_id; /* the local person acting */
    /* FW_CREATE */
    uint64_t community_id; /* a post into it (title needed) */
    uint64_t parent_id;    /* a reply to it: a comment when it is in a community */
    const char *title, *body, *link, *summary, *language;
    const char *source_type; /* "text/markdown"; NULL: "text/plain" */
    bool sensitive;
    int visibility; /* enum visibility; -1: as the parent (replies) */
    size_t nto;     /* people named (local, or remote ones already stored) */
    uint64_t to[FED_MAX_MENTIONS];
    size_t nmedia; /* FW_CREATE, FW_EDIT: the user's uploads attached (table media) */
    uint64_t media[FED_MAX_MEDIA];
    /* FW_CREATE: a poll (poll_titles newline-separated; NULL: none) */
    const char *poll_titles;
    bool poll_multiple;
    bool poll_hide_totals; /* counts shown to others only once it ended */
    int64_t poll_expires_at;
    /* FW_POLL_VOTE */
    size_t nchoices;
    uint8_t choices[16];
    /* FW_VOTE, FW_EDIT, FW_DELETE, FW_REBLOG, FW_UNREBLOG */
    uint64_t target_id;
    int vote;
    /* results */
    uint64_t post_id;   /* the post made or acted on */
    uint64_t status_id; /* FW_REBLOG: the boost's own status id */
    bool noop;          /* nothing to do: already so (unfollowing what one does not follow) */
    int status;         /* when refused: the HTTP status that fits (403, 404, 422) */
    char msg[300];      /* when refused: why, for the person */
};

/* Applies w inside the caller's write transaction (call it from a writer
 * apply function): stores the change and queues its activities. Returns
 * KITH_EINVAL with w->status and w->msg when refused. */
int federation_write(struct kv_txn *txn, void *f, struct fed_write *w);
/* Scheduled statuses (Mastodon's scheduled_at): a FW_CREATE made ready
 * now (mentions found, community and title set) is kept to be written at
 * scheduled_at by the delivery loop's sweep (federation_scheduled_publish),
 * its poll then open for poll_secs. At most SCHEDULED_MAX an account and
 * SCHEDULED_MAX_A_DAY on one (UTC) day: KITH_ETOOBIG beyond. */
#define SCHEDULED_MAX       300
#define SCHEDULED_MAX_A_DAY 50
struct sched_info {
    uint64_t id, app_id;
    int64_t scheduled_at; /* Unix seconds */
    int64_t poll_secs;
};
int federation_schedule(struct kv_txn *txn, const struct fed_write *w, const struct sched_info *s);
/* The kept status as JSON (caller deletes): id, scheduled_at, app,
 * community, parent, title, body, summary, language, sensitive,
 * visibility (a number), to, media (id strings), poll_titles,
 * poll_multiple, poll_secs; NULL when account has no such id. */
struct cJSON;
struct cJSON *federation_scheduled_get(struct kv_txn *txn, uint64_t account, uint64_t id);
/* Moves it to at (Unix seconds), or deletes it (at < 0); KITH_ENOTFOUND. */
int federation_scheduled_change(struct kv_txn *txn, uint64_t account, uint64_t id, int64_t at);
/* Whether one is due by now; publishes those due (16 a call) in txn. */
bool federation_scheduled_due(struct kv_txn *txn, int64_t now);
int federation_scheduled_publish(struct kv_txn *txn, void *f, int64_t now);

/* Wakes the delivery engine once a federation_write is committed. */
void federation_kick(void *f);

/* Finds a remote person or community by address (user@host, @user@host,
 * acct:user@host) or actor URL, or a post by its URL (kind FED_FOUND_POST:
 * stored with its author and community): WebFinger and signed fetches on
 * ctx's loop (never blocking it), then stores it. done runs later on that loop with
 * rc KITH_OK, the kind (NAME_ACCOUNT or NAME_COMMUNITY) and the id, or
 * rc KITH_ENOTFOUND when nothing there answers as an actor. An address
 * that is not one, or is this server's, is KITH_EINVAL at once (done is
 * not called then). */
struct http_ctx;
#define FED_FOUND_POST 3 /* kind: a post's URL, stored as a post */
typedef void fed_resolve_fn(struct http_ctx *ctx, int rc, int kind, uint64_t id, void *arg);
int federation_resolve(struct http_ctx *ctx, const char *what, fed_resolve_fn *done, void *arg);

/* Appends live delivery figures (for kithctl federation status). */
void federation_delivery_live(void *f, struct buf *out);
/* Frees a loop thread's federation data (the server's thread_data_free). */
void federation_thread_free(void *data);

/* The ActivityPub and discovery routes (WebFinger, host-meta, NodeInfo,
 * actors, collections), as route tables for main.c to mount. */
extern const struct route_table federation_tables[];
extern const size_t federation_ntables;

#endif
