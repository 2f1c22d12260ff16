/* storage/schema.h: kith's on-disk format, table by table.
 *
 * Layer: storage. A reviewer should be able to read a database dump with
 * this file alone (mdb_dump -a data_dir/db).
 *
 * Environment: data_dir/db/data.mdb (+ lock.mdb), one LMDB environment with
 * the named tables below. Integers in keys are big-endian so that byte
 * order is numeric order; ids are 64-bit time-ordered (src/base/id.h).
 * Names in keys are lowercased.
 *
 * Records ("rec" below) use the versioned encoding of storage/record.h:
 *
 *   offset size  field
 *   0      1     kind      record kind (enum rec_kind)
 *   1      1     version   the encoder's version of that kind
 *   2      ...   fields    repeated: varint key = tag << 3 | wire type, then
 *                          wire 0: varint (unsigned), 1: varint (zig-zag
 *                          signed), 2: varint length + bytes
 *
 * Zero numbers and empty strings are not written. Unknown tags are skipped,
 * so a field can be added without rewriting old records; a missing field
 * decodes as zero / empty. Tags are never reused. The field tables of each
 * kind are in storage/records.c next to their structs in records.h.
 *
 * Table               key                                 value
 * ------------------- ----------------------------------- -------------------------------------
 * meta                ASCII name                          see "meta keys" below
 * accounts            id (8)                              rec account (local and remote people)
 * names               lowercase local name (utf-8)        kind (1: 1 = account, 2 = community)
 *                                                         + id (8). Users and communities share
 *                                                         one namespace.
 * actor_uris          remote actor id URI, or the key id  kind (1) + id (8), as in names
 *                     of a remote actor's publicKey
 * communities         id (8)                              rec community
 * members             community id (8) + account id (8)   rec membership
 * member_of           account id (8) + community id (8)   empty; index of members
 * posts               id (8)                              rec post (posts, comments, notes)
 * community_posts     community id (8) + post id (8)      empty; top-level posts of a community
 * post_children       parent id (8) + child id (8)        empty; the comment tree
 * object_uris         remote object id URI                post id (8)
 * author_posts        author account id (8) + post id (8) empty; what someone wrote
 * oauth_grants        account id (8) + oauth app id (8)   scopes (ASCII) the person approved
 * remote_accts        lowercase "name@domain" of a remote kind (1) + id (8) of the actor stored
 *                     person or community             last under that address
 * reblogs             reblog id (8)                       rec reblog (a boost: its own status id)
 * post_reblogs        post id (8) + booster (8)           reblog id (8); booster: an account id,
 *                                                         or SENDER_COMMUNITY(community id)
 * home                account id (8) + status id (8)      post id (8); the status id is the
 *                                                         post's own, or a reblog's of it
 * bookmarks           account id (8) + post id (8)        bookmark id (8)
 * bookmark_list       account id (8) + bookmark id (8)    post id (8)
 * pins                account id (8) + post id (8)        pinned at (i64 big-endian, Unix secs)
 * idempotency         account id (8) + SHA-256 of the     post id (8) + created at (i64, Unix
 *                     client's Idempotency-Key (32)       secs): repeats within an hour
 * post_edits          post id (8) + edit id (8)           rec post: the version an edit replaced
 * actor_reblogs       booster (8) + reblog id (8)         post id (8): a profile's boosts (booster
 *                                                         as in post_reblogs)
 * public              post id (8)                         origin (1: 0 local, 1 remote); the
 *                                                         public timeline: public posts that are
 *                                                         not replies to others
 * public_local        post id (8)                         empty; the local public timeline
 * tags                lowercase tag (utf-8) + 0x00 +      origin (1); the tag timelines (public
 *                     post id (8)                         posts)
 * markers             account id (8) + timeline name      last read id (8) + version (8) +
 *                     ("home", "notifications")           updated at (i64, Unix secs)
 * favourites          account id (8) + favourite id (8)   post id (8); the vote's fav_id
 * lists               list id (8)                         rec list
 * account_lists       account id (8) + list id (8)        empty; a person's lists
 * list_members        list id (8) + account id (8)        empty
 * followed_tags       account id (8) + lowercase tag      followed at (i64)
 * tag_followers       lowercase tag + 0x00 + account (8)  empty; who follows a tag
 * blocks              account id (8) + blocked id (8)     blocked at (i64)
 * mutes               account id (8) + muted id (8)       notifications too (1) + expires at
 *                                                         (i64, 0 = never)
 * media               media id (8)                        rec media_rec (an upload; its files are
 *                                                         data_dir/media/FILE and PREVIEW)
 * poll_votes          post id (8) + account id (8)        the chosen options' indexes (1 byte each)
 * polls_open          end time (i64, 8) + post id (8)     empty: polls whose end is to be told;
 *                                                         "u": a local poll's new counts, to be
 *                                                         sent then (one Update per window)
 * convs               account id (8) + thread root (8)    last status id (8) + unread (1): a
 *                                                         person's direct conversations
 * conv_order          account id (8) + last status (8)    thread root (8): newest first
 * filters             account id (8) + filter id (8)      rec filter (a person's keyword filter)
 * push_subs           SHA-256 of the access token (32)    rec push_sub (Web Push, one a token)
 * push_by_account     account id (8) + push_sub id (8)    the token's hash (32)
 * scheduled           account id (8) + id (8)            JSON: a status to publish later (the
 *                                                         write kept ready, federation/schedule.c)
 * scheduled_due       time (i64, 8) + id (8)             account id (8): by time to publish
 * thread_mutes        account id (8) + thread root (8)   empty: conversations a person muted
 * media_due           time (i64, 8) + upload id (8)      empty: when to see whether an upload
 *                                                         is still needed (core/mediagc.c)
 * status_changes      sequence (8)                       status id (8) + author (8) +
 *                                                         visibility (1) + time (8) + kind (1):
 *                                                         statuses deleted or edited lately,
 *                                                         for streams (10 min)
 * votes               post id (8) + account id (8)        rec vote
 * follows             follower id (8) + target id (8)     rec follow
 * followers           target id (8) + follower id (8)     empty; index of follows
 * notifications       account id (8) + notification id(8) rec notification
 * oauth_apps          id (8)                              rec oauth_app
 * oauth_client_ids    client_id (ASCII)                   app id (8)
 * oauth_tokens        SHA-256 of the token (32)           rec oauth_token (token never stored)
 * queues              queue id (1) + sequence (8)         opaque payload bytes (storage/queue.h)
 * activities          remote activity id URI              rec activity (seen once: idempotency,
 *                                                         and kept when stored for inspection)
 * outgoing            activity id (8)                     the activity's JSON, as sent to every
 * inbox deliveries          due time ms (8) + job id (8)        rec delivery (one per destination
 * inbox) hosts               host name (lowercase, with :port)   rec host (delivery health of a
 * peer)
 *
 * meta keys           value
 * ------------------- ----------------------------------------------------------
 * schema_version      u32 big-endian; STORE_SCHEMA_VERSION when current
 * id_hwm              u64 big-endian; highest id handed out by a committed batch
 * created_at          i64 big-endian; Unix seconds when the instance was created
 * count:NAME          u64 big-endian; maintained counters (local_users, communities, ...)
 * queue_seq:Q         u64 big-endian; last sequence number used in queue Q (Q = one byte)
 * queue_len:Q         u64 big-endian; entries in queue Q
 */
#ifndef KITH_STORAGE_SCHEMA_H
#define KITH_STORAGE_SCHEMA_H

#define STORE_SCHEMA_VERSION 1

enum store_table {
    T_META,
    T_ACCOUNTS,
    T_NAMES,
    T_ACTOR_URIS,
    T_COMMUNITIES,
    T_MEMBERS,
    T_MEMBER_OF,
    T_POSTS,
    T_COMMUNITY_POSTS,
    T_POST_CHILDREN,
    T_OBJECT_URIS,
    T_VOTES,
    T_FOLLOWS,
    T_FOLLOWERS,
    T_NOTIFICATIONS,
    T_OAUTH_APPS,
    T_OAUTH_CLIENT_IDS,
    T_OAUTH_TOKENS,
    T_QUEUES,
    T_ACTIVITIES,
    T_OUTGOING,
    T_DELIVERIES,
    T_HOSTS,
    T_AUTHOR_POSTS,
    T_OAUTH_GRANTS,
    T_REMOTE_ACCTS,
    T_REBLOGS,
    T_POST_REBLOGS,
    T_HOME,
    T_BOOKMARKS,
    T_BOOKMARK_LIST,
    T_PINS,
    T_IDEMPOTENCY,
    T_POST_EDITS,
    T_ACTOR_REBLOGS,
    T_PUBLIC,
    T_PUBLIC_LOCAL,
    T_TAGS,
    T_MARKERS,
    T_FAVOURITES,
    T_LISTS,
    T_ACCOUNT_LISTS,
    T_LIST_MEMBERS,
    T_FOLLOWED_TAGS,
    T_TAG_FOLLOWERS,
    T_BLOCKS,
    T_MUTES,
    T_MEDIA,
    T_POLL_VOTES,
    T_POLLS_OPEN,
    T_CONVS,
    T_CONV_ORDER,
    T_FILTERS,
    T_PUSH_SUBS,
    T_PUSH_BY_ACCOUNT,
    T_STATUS_CHANGES,
    T_SCHEDULED,
    T_SCHEDULED_DUE,
    T_THREAD_MUTES,
    T_MEDIA_DUE,
    T_COUNT /* number of tables */
};

/* Table names as stored in LMDB, indexed by enum store_table. */
extern const char *const store_table_names[T_COUNT];

/* Kind byte in the names and actor_uris indexes. */
enum name_kind { NAME_ACCOUNT = 1, NAME_COMMUNITY = 2 };

#endif
