/* storage/records.h: the typed records of kith's model and their tables.
 *
 * Layer: storage. Structs here are plain data; strings are slices into the
 * arena given to the *_get functions (or into the caller's memory when
 * encoding). Table layouts are in schema.h. The *_insert / *_put functions
 * take a write transaction (writer thread only, see writer.h); *_get and
 * listing functions take any transaction.
 * Errors: KITH_ENOTFOUND, KITH_EEXIST (name or key taken), KITH_ECORRUPT,
 * KITH_ESTORE.
 */
#ifndef KITH_STORAGE_RECORDS_H
#define KITH_STORAGE_RECORDS_H

#include "kv.h"
#include "record.h"
#include "schema.h"

#include <stdbool.h>
#include <stdint.h>

enum rec_kind {
    REC_ACCOUNT = 1,
    REC_COMMUNITY = 2,
    REC_MEMBERSHIP = 3,
    REC_POST = 4,
    REC_VOTE = 5,
    REC_FOLLOW = 6,
    REC_NOTIFICATION = 7,
    REC_OAUTH_APP = 8,
    REC_OAUTH_TOKEN = 9,
    REC_ACTIVITY = 10,
    REC_DELIVERY = 11,
    REC_HOST = 12,
    REC_REBLOG = 13,
    REC_LIST = 14,
    REC_MEDIA = 15,
    REC_FILTER = 16,
    REC_PUSH_SUB = 17,
};

enum account_role { ROLE_USER = 0, ROLE_MODERATOR = 1, ROLE_ADMIN = 2 };
enum account_state { ACCOUNT_ACTIVE = 0, ACCOUNT_PENDING = 1, ACCOUNT_SUSPENDED = 2 };

struct account {
    uint64_t id;
    struct str name;   /* username as chosen (case kept) */
    struct str domain; /* empty for local accounts */
    struct str display_name;
    struct str note;          /* bio, HTML */
    struct str uri;           /* ActivityPub id of a remote actor; empty for local */
    struct str inbox;         /* remote inbox URL */
    struct str shared_inbox;  /* remote shared inbox URL */
    struct str public_key;    /* PEM */
    struct str private_key;   /* PEM, local accounts only */
    struct str password_hash; /* argon2id encoded string, local only */
    struct str email;
    struct str reason; /* sign-up reason given for approval */
    uint8_t role;      /* enum account_role */
    uint8_t state;     /* enum account_state */
    bool bot;
    bool locked;        /* manually approves followers */
    int64_t created_at; /* Unix seconds */
    int64_t updated_at;
    int64_t fetched_at;          /* remote: when the actor document was fetched */
    struct str actor_json;       /* remote: the fetched actor document */
    struct str key_id;           /* remote: publicKey.id (indexed in actor_uris) */
    uint8_t default_visibility;  /* local: enum visibility of new statuses */
    bool default_sensitive;      /* local: new statuses marked sensitive */
    struct str default_language; /* local: ISO 639-1, or empty */
    struct str note_source;      /* local: the bio as written (note is its HTML) */
    struct str fields_json;      /* profile fields: JSON array of {name, value} */
    struct str avatar;           /* a URL (remote: the actor's icon), empty: default */
    struct str header;           /* a URL (remote: the actor's image), empty: default */
};

/* A remote person known by URI only (named in a community's Announce, not
 * fetched yet): nothing can be delivered to it. */
static inline bool account_is_stub(const struct account *a)
{
    return a->uri.len && !a->inbox.len && !a->shared_inbox.len;
}

enum community_join { JOIN_OPEN = 0, JOIN_APPROVAL = 1 };

struct community {
    uint64_t id;
    struct str name;
    struct str domain; /* empty for local communities */
    struct str title;
    struct str description; /* HTML */
    struct str rules;       /* Markdown source */
    struct str uri;         /* remote Group id */
    struct str inbox;
    struct str shared_inbox;
    struct str followers_url;
    struct str public_key;
    struct str private_key;
    uint64_t owner_id;       /* local account that created it */
    uint8_t join_mode;       /* enum community_join */
    bool posting_restricted; /* only moderators may post */
    bool nsfw;
    int64_t created_at;
    int64_t updated_at;
    int64_t fetched_at;
    struct str actor_json;
    struct str key_id; /* remote: publicKey.id (indexed in actor_uris) */
};

enum member_role { MEMBER_PENDING = 0, MEMBER_MEMBER = 1, MEMBER_MODERATOR = 2, MEMBER_OWNER = 3 };

struct membership {
    uint64_t community_id;
    uint64_t account_id;
    uint8_t role; /* enum member_role */
    bool banned;
    int64_t created_at;
    int64_t updated_at;
    int64_t ban_expires_at; /* 0 = permanent when banned */
    struct str follow_uri;  /* the Follow activity that made this membership */
};

struct post {
    uint64_t id;
    uint64_t community_id; /* 0 for a person's own note */
    uint64_t author_id;
    uint64_t parent_id;     /* 0 for a top-level post */
    uint64_t root_id;       /* the top-level post of a comment's thread; 0 for a post */
    struct str title;       /* Page name; empty for comments and notes */
    struct str content;     /* sanitised HTML */
    struct str source;      /* source text as written */
    struct str source_type; /* "text/markdown" or "text/plain" */
    struct str url;         /* link of a link post */
    struct str uri;         /* ActivityPub id of a remote object */
    struct str language;
    uint8_t visibility; /* 0 public, 1 unlisted, 2 followers, 3 direct */
    bool sensitive;
    bool locked;
    bool pinned;
    int64_t score;
    uint32_t upvotes;
    uint32_t downvotes;
    uint32_t replies;
    int64_t created_at;
    int64_t updated_at;
    int64_t deleted_at;       /* tombstone time; 0 if live */
    uint64_t reply_to_author; /* the author of the parent (notifications, addressing) */
    struct str attachments;   /* JSON array of {type, mediaType, url, name, blurhash, width,
                                 height}: remote files are kept as references */
    struct str recipients;    /* actor URIs addressed besides the public and followers
                                 (mentions, direct recipients), newline-separated */
    struct str reply_uri;     /* inReplyTo as received, when kith does not hold the parent */
    uint32_t nattachments;    /* entries in attachments */
    struct str summary;       /* content warning (Mastodon's spoiler_text) */
    uint64_t boost_id;        /* a community post: the status id of the community's
                                 boost of it (table reblogs), made with the post */
    struct str media_ids;     /* a local post: its uploads' ids (table media), comma-separated */
    /* A poll (Mastodon's; an ActivityPub Question): its options' titles,
     * newline-separated (none: no poll), their vote counts, comma-separated */
    struct str poll_titles;
    struct str poll_counts;
    bool poll_multiple;
    int64_t poll_expires_at; /* Unix seconds; 0 = open-ended */
    uint32_t poll_voters;
    bool poll_hide_totals; /* a local poll's counts are shown only once it ended */
};

/* A keyword filter (Mastodon's filters v2; table filters). */
enum filter_context {
    FILTER_HOME = 1,
    FILTER_NOTIFICATIONS = 2,
    FILTER_PUBLIC = 4,
    FILTER_THREAD = 8,
    FILTER_ACCOUNT = 16
};
enum filter_action { FILTER_WARN = 0, FILTER_HIDE = 1, FILTER_BLUR = 2 };
struct filter {
    uint64_t id;
    uint64_t account_id;
    struct str title;
    uint8_t contexts;    /* enum filter_context bits */
    uint8_t action;      /* enum filter_action */
    int64_t expires_at;  /* 0 = never */
    struct str keywords; /* lines "ID W KEYWORD": the keyword's id, W 1 for whole words */
    int64_t created_at;
    struct str statuses; /* lines "ID STATUS": statuses filtered by id (FilterStatus) */
};

/* A Web Push subscription (table push_subs): one per access token. */
struct push_sub {
    uint64_t id;
    uint64_t account_id;
    struct str token_hash; /* 32 bytes: its key */
    struct str endpoint;   /* the push service's URL */
    struct str p256dh;     /* the client's P-256 key, base64url */
    struct str auth;       /* the client's auth secret, base64url */
    uint32_t alerts;       /* bit i: push_alert_names[i] wanted */
    uint8_t policy;        /* enum push_policy */
    int64_t created_at;
    struct str push_token; /* a read:notifications token of its own, sent in each
                              payload as access_token (Mastodon's field) */
};

/* An uploaded file (table media); focus in millionths, -1e6..1e6. */
struct media_rec {
    uint64_t id;
    uint64_t account_id;
    uint8_t kind; /* enum media_kind (core/media.h) */
    struct str mime;
    struct str file;    /* name under data_dir/media */
    struct str preview; /* the preview's name, or empty */
    uint32_t width, height, small_width, small_height;
    struct str blurhash;
    struct str description;
    int64_t focus_x, focus_y;
    uint64_t size;
    uint64_t post_id; /* the status it is attached to, 0 until then */
    int64_t created_at;
};

/* A boost: by a person (account_id) or by a community of its own post
 * (community_id). Its id is a status id of its own (table reblogs). */
struct reblog {
    uint64_t id;
    uint64_t post_id;
    uint64_t account_id;
    uint64_t community_id;
    int64_t created_at;
    struct str uri; /* the Announce activity's id */
};

struct vote {
    uint64_t post_id;
    uint64_t account_id;
    int64_t value; /* +1 or -1 */
    int64_t created_at;
    struct str uri;  /* Like/Dislike activity id */
    uint64_t fav_id; /* an up vote: its key in table favourites */
};

enum list_replies { LIST_REPLIES_LIST = 0, LIST_REPLIES_FOLLOWED = 1, LIST_REPLIES_NONE = 2 };

/* A person's list of accounts (Mastodon's lists). */
struct list {
    uint64_t id;
    uint64_t account_id;
    struct str title;
    uint8_t replies; /* enum list_replies */
    bool exclusive;  /* its members' statuses stay out of the home timeline */
    int64_t created_at;
};

enum follow_state { FOLLOW_PENDING = 0, FOLLOW_ACCEPTED = 1 };

struct follow {
    uint64_t follower_id;
    uint64_t target_id;
    uint8_t state; /* enum follow_state */
    int64_t created_at;
    struct str uri; /* Follow activity id */
};

struct notification {
    uint64_t id;
    uint64_t account_id;
    struct str type; /* Mastodon notification type: mention, follow, favourite, ... */
    uint64_t from_account_id;
    uint64_t post_id;
    bool read;
    int64_t created_at;
};

struct oauth_app {
    uint64_t id;
    struct str name;
    struct str website;
    struct str redirect_uris; /* newline-separated */
    struct str scopes;        /* space-separated */
    struct str client_id;
    struct str client_secret_hash; /* hex SHA-256 of the secret */
    int64_t created_at;
};

enum token_kind { TOKEN_ACCESS = 0, TOKEN_AUTH_CODE = 1, TOKEN_SESSION = 2 /* web sign-in */ };

struct oauth_token {
    uint64_t app_id;
    uint64_t account_id; /* 0 for a client-credentials (app-only) token */
    uint8_t kind;        /* enum token_kind */
    struct str scopes;
    struct str redirect_uri;   /* auth codes */
    struct str code_challenge; /* auth codes with PKCE */
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int64_t revoked_at; /* 0 = live */
};

enum activity_state {
    ACTIVITY_APPLIED = 0, /* its effects are in the database */
    ACTIVITY_STORED = 1,  /* kept for inspection: effects come later, or unknown type */
    ACTIVITY_REJECTED = 2 /* refused by a rule (note says which) */
};

/* A remote activity kith has received (table activities, keyed by its id). */
struct activity {
    struct str type;
    struct str actor;
    uint8_t state; /* enum activity_state */
    int64_t received_at;
    struct str raw;  /* the JSON, kept when state is ACTIVITY_STORED */
    struct str note; /* why it was rejected or stored */
};

/* One outgoing activity to one inbox (table deliveries, keyed by due time). */
struct delivery {
    uint64_t id;          /* job id */
    uint64_t activity_id; /* key in table outgoing */
    struct str inbox;     /* destination URL */
    struct str host;      /* its host[:port], for per-host state */
    uint64_t sender_id;   /* who signs it: a local account id, a community id with
                             SENDER_COMMUNITY, or 0 for the instance actor */
    uint32_t attempts;
    int64_t first_at; /* when it was first scheduled (give-up clock) */
    struct str last_error;
};

#define SENDER_COMMUNITY(id)   ((id) | (1ull << 63))
#define SENDER_IS_COMMUNITY(s) (((s) >> 63) != 0)

/* Delivery health of one peer (table hosts). */
struct host {
    uint32_t failures;        /* consecutive */
    int64_t first_failure_at; /* start of the current failure streak */
    int64_t last_failure_at;
    int64_t last_success_at;
    int64_t dead_since; /* 0 = alive */
    struct str last_error;
    uint64_t delivered; /* successful deliveries, ever */
};

extern const struct record_desc account_desc, community_desc, membership_desc, post_desc, vote_desc,
    follow_desc, notification_desc, oauth_app_desc, oauth_token_desc, activity_desc, delivery_desc,
    host_desc, reblog_desc, list_desc, media_desc, filter_desc, push_sub_desc;

/* ---- generic helpers ---- */

/* Encodes rec with d and puts it under key. */
int rec_put(struct kv_txn *txn, unsigned table, struct str key, const struct record_desc *d,
            const void *rec, unsigned flags);
/* Reads and decodes the record under key. */
int rec_get(struct kv_txn *txn, unsigned table, struct str key, const struct record_desc *d,
            struct arena *a, void *rec);
/* An 8-byte big-endian key, and a 16-byte key of two ids. */
struct key8 {
    unsigned char b[8];
};
struct key16 {
    unsigned char b[16];
};
struct key8 key_id(uint64_t id);
struct key16 key_pair(uint64_t a, uint64_t b);
#define KEY8(k)  str_make((k).b, 8)
#define KEY16(k) str_make((k).b, 16)

/* ---- meta ---- */

int meta_get_u64(struct kv_txn *txn, const char *name, uint64_t *out); /* 0 when absent */
int meta_put_u64(struct kv_txn *txn, const char *name, uint64_t v);
/* Adds delta to counter "count:NAME". */
int counter_add(struct kv_txn *txn, const char *name, int64_t delta);
int counter_get(struct kv_txn *txn, const char *name, uint64_t *out);

/* ---- names (users and communities share one namespace) ---- */

/* Looks up a local name (any case). */
int name_lookup(struct kv_txn *txn, struct str name, uint8_t *kind, uint64_t *id);

/* ---- accounts ---- */

/* Inserts a new local account (a->id set by the caller); KITH_EEXIST if the
 * name is taken by a user or a community. Counts local_users. */
int account_insert_local(struct kv_txn *txn, const struct account *acct);
int account_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct account *out);
int account_get_local(struct kv_txn *txn, struct str name, struct arena *a, struct account *out);
/* Rewrites an existing account (the name and domain must not change). */
int account_update(struct kv_txn *txn, const struct account *acct);
/* Removes a local account and its name (rejected sign-ups). */
int account_delete_local(struct kv_txn *txn, const struct account *acct);
typedef int account_iter_fn(const struct account *acct, void *arg);
/* Calls fn for each local account in name order; a non-zero return stops. */
int account_each_local(struct kv_txn *txn, struct arena *a, account_iter_fn *fn, void *arg);

/* ---- communities ---- */

int community_insert_local(struct kv_txn *txn, const struct community *c);
int community_get(struct kv_txn *txn, uint64_t id, struct arena *a, struct community *out);
/* Rewrites a community already stored. */
int community_put(struct kv_txn *txn, const struct community *c);
int community_get_local(struct kv_txn *txn, struct str name, struct arena *a,
                        struct community *out);
typedef int community_iter_fn(const struct community *c, void *arg);
int community_each_local(struct kv_txn *txn, struct arena *a, community_iter_fn *fn, void *arg);

/* ---- remote actors (people and communities of other servers) ---- */

/* Looks up an actor id URI or a remote actor's key id: kind (NAME_ACCOUNT or
 * NAME_COMMUNITY) and id. */
int actor_uri_lookup(struct kv_txn *txn, struct str uri, uint8_t *kind, uint64_t *id);
/* Inserts a remote account (acct->uri set; acct->id used when new) or
 * rewrites the one with the same uri, keeping its id, created_at and state
 * (a suspension outlives a refetch); *id receives it. Its
 * key_id, when set, is indexed too (KITH_EEXIST if another actor has it). */
int account_upsert_remote(struct kv_txn *txn, struct account *acct, uint64_t *id);
/* The same for a remote community (keeping id and created_at). Both also index the actor's address
 * name@domain (table remote_accts). */
int community_upsert_remote(struct kv_txn *txn, struct community *c, uint64_t *id);
/* A remote person or community by its address (any case). */
int remote_acct_lookup(struct kv_txn *txn, struct str name, struct str domain, uint8_t *kind,
                       uint64_t *id);

/* ---- memberships ---- */

/* Inserts or replaces; keeps the member_of index. */
int membership_put(struct kv_txn *txn, const struct membership *m);
/* How many keys of table start with the 8-byte id (index sizes: members,
 * followers, posts of a community...). */
uint64_t prefix_count(struct kv_txn *txn, unsigned table, uint64_t id);

/* The second ids of every 16-byte key of table that starts with id (the
 * followers of an account, the members of a community...). Owned by the
 * caller (free). */
int prefix_ids(struct kv_txn *txn, unsigned table, uint64_t id, uint64_t **out, size_t *n);

/* Forgets every follow from and to account id, and its memberships (the
 * actor was deleted). */
int follows_forget(struct kv_txn *txn, uint64_t id);
int membership_get(struct kv_txn *txn, uint64_t community_id, uint64_t account_id, struct arena *a,
                   struct membership *out);

#endif
