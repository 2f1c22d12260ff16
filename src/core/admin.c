/* src/core/admin.c: the admin commands shared by kithctl and kithd. */
#include "admin.h"
#include "posts.h"

#include "../../storage/queue.h"
#include "../base/err.h"
#include "../base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char admin_usage[] =
    "usage: kithctl [-c FILE] COMMAND\n"
    "\n"
    "  init                                  create the data directory and the admin account\n"
    "  user add NAME [--admin] [--password-stdin]\n"
    "  user list\n"
    "  user pending                          sign-ups waiting, with their reasons\n"
    "  user password NAME [--password-stdin]\n"
    "  user approve NAME | user reject NAME\n"
    "  user suspend NAME | user unsuspend NAME\n"
    "  user role NAME admin|moderator|user\n"
    "  community add NAME --owner USER [--title TITLE]\n"
    "  community list\n"
    "  backup DEST                           consistent copy, also while kithd runs\n"
    "  restore SRC                           put a backup in place (kithd stopped)\n"
    "  migrate                               upgrade the database schema (kithd stopped)\n"
    "  stats\n"
    "  federation status                     delivery queue, failures and dead hosts per peer\n"
    "  federation activity ID                what kith made of a remote activity\n"
    "  federation object URI                 a post, comment or note kith holds\n"
    "  community private NAME on|off         follows held for approval; followers-only content\n"
    "  community pending NAME                follows waiting for approval\n"
    "  community approve NAME ACTOR | community reject NAME ACTOR\n"
    "  act USER COMMAND ...                  act as a member (kithd running; admin and testing):\n"
    "      follow ACCT|URL, unfollow ACCT|URL, following, timeline, notifications,\n"
    "      post COMMUNITY --title T --body B [--url LINK], comment URL --body B,\n"
    "      note --body B [--visibility public|unlisted|followers|direct] [--to ACCT]...,\n"
    "      vote URL up|down|none, edit URL --body B [--title T], delete URL\n";

static int usage(struct admin_env *env, const char *what)
{
    buf_printf(env->err, "kithctl: %s\n%s", what, admin_usage);
    return 1;
}

static int error(struct admin_env *env, const char *msg)
{
    buf_printf(env->err, "kithctl: %s\n", msg);
    return 1;
}

/* The first line of the client's standard input. */
static struct str input_line(struct admin_env *env)
{
    struct str s = env->input;
    const char *nl = memchr(s.ptr, '\n', s.len);
    if (nl)
        s.len = (size_t)(nl - s.ptr);
    if (s.len && s.ptr[s.len - 1] == '\r')
        s.len--;
    return s;
}

static const char *role_name(uint8_t role)
{
    return role == ROLE_ADMIN ? "admin" : role == ROLE_MODERATOR ? "moderator" : "user";
}

static const char *state_name(uint8_t state)
{
    return state == ACCOUNT_PENDING     ? "pending"
           : state == ACCOUNT_SUSPENDED ? "suspended"
                                        : "active";
}

static void format_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

/* ---- user ---- */

static int list_user(const struct account *a, void *arg)
{
    struct admin_env *env = arg;
    char when[32];
    format_time(a->created_at, when, sizeof(when));
    buf_printf(env->out, "%-30.*s %-9s %-9s %s\n", (int)a->name.len, a->name.ptr,
               role_name(a->role), state_name(a->state), when);
    return 0;
}

/* Sign-ups waiting for approval, with the email and reason given. */
static int list_pending(const struct account *a, void *arg)
{
    struct admin_env *env = arg;
    char when[32];
    if (a->state != ACCOUNT_PENDING)
        return 0;
    format_time(a->created_at, when, sizeof(when));
    buf_printf(env->out, "%.*s\t%s\t%.*s\t%.*s\n", (int)a->name.len, a->name.ptr, when,
               (int)a->email.len, a->email.ptr, (int)a->reason.len, a->reason.ptr);
    return 0;
}

static int cmd_user(struct admin_env *env, int argc, char **argv)
{
    struct core *c = env->core;
    struct core_result res = {{0}};
    int rc;

    if (argc < 2)
        return usage(env, "user needs a subcommand");
    const char *sub = argv[1];
    if (strcmp(sub, "list") == 0) {
        struct kv_txn *txn;
        struct arena a = ARENA_INIT;
        if (argc != 2)
            return usage(env, "user list takes no arguments");
        if ((rc = store_read_begin(c->st, &txn)))
            return error(env, kith_strerror(rc));
        buf_printf(env->out, "%-30s %-9s %-9s %s\n", "NAME", "ROLE", "STATE", "CREATED (UTC)");
        rc = account_each_local(txn, &a, list_user, env);
        kv_txn_abort(txn);
        arena_release(&a);
        return rc ? error(env, kith_strerror(rc)) : 0;
    }
    if (strcmp(sub, "pending") == 0) {
        struct kv_txn *txn;
        struct arena a = ARENA_INIT;
        if (argc != 2)
            return usage(env, "user pending takes no arguments");
        if ((rc = store_read_begin(c->st, &txn)))
            return error(env, kith_strerror(rc));
        buf_printf(env->out, "NAME\tSIGNED UP (UTC)\tEMAIL\tREASON\n");
        rc = account_each_local(txn, &a, list_pending, env);
        kv_txn_abort(txn);
        arena_release(&a);
        return rc ? error(env, kith_strerror(rc)) : 0;
    }
    if (argc < 3)
        return usage(env, "user command needs a NAME");
    struct str name = str_from(argv[2]);

    if (strcmp(sub, "add") == 0 || strcmp(sub, "password") == 0) {
        bool admin = false, from_stdin = false;
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--admin") == 0 && strcmp(sub, "add") == 0)
                admin = true;
            else if (strcmp(argv[i], "--password-stdin") == 0)
                from_stdin = true;
            else
                return usage(env, "unknown option for user add/password");
        }
        struct str pw = from_stdin ? input_line(env) : STR_NULL;
        if (from_stdin && pw.len == 0)
            return error(env, "--password-stdin: no password on standard input");
        char generated[32] = "";
        if (strcmp(sub, "add") == 0) {
            rc = core_user_add(c, name, pw, admin, generated, sizeof(generated), &res);
            if (rc)
                return error(env, res.msg);
            buf_printf(env->out, "added user '%s'%s\n", argv[2], admin ? " (admin)" : "");
        } else {
            if (pw.len == 0) {
                if (core_random_password(generated, 21))
                    return error(env, "cannot generate a password");
                pw = str_from(generated);
            }
            rc = core_user_password(c, name, pw, &res);
            if (rc)
                return error(env, res.msg);
            buf_printf(env->out, "changed the password of '%s'\n", argv[2]);
        }
        if (generated[0])
            buf_printf(env->out, "password: %s\n", generated);
        return 0;
    }
    if (argc != 3 && strcmp(sub, "role") != 0)
        return usage(env, "too many arguments");
    if (strcmp(sub, "approve") == 0)
        rc = core_user_approve(c, name, &res);
    else if (strcmp(sub, "reject") == 0)
        rc = core_user_reject(c, name, &res);
    else if (strcmp(sub, "suspend") == 0)
        rc = core_user_suspend(c, name, true, &res);
    else if (strcmp(sub, "unsuspend") == 0)
        rc = core_user_suspend(c, name, false, &res);
    else if (strcmp(sub, "role") == 0) {
        if (argc != 4)
            return usage(env, "user role takes NAME and admin, moderator or user");
        enum account_role role;
        if (strcmp(argv[3], "admin") == 0)
            role = ROLE_ADMIN;
        else if (strcmp(argv[3], "moderator") == 0)
            role = ROLE_MODERATOR;
        else if (strcmp(argv[3], "user") == 0)
            role = ROLE_USER;
        else
            return usage(env, "role must be admin, moderator or user");
        rc = core_user_role(c, name, role, &res);
    } else {
        return usage(env, "unknown user subcommand");
    }
    if (rc)
        return error(env, res.msg);
    buf_printf(env->out, "%s: done for '%s'\n", sub, argv[2]);
    return 0;
}

/* ---- community ---- */

struct list_ctx {
    struct admin_env *env;
    struct kv_txn *txn;
    struct arena *a;
};

static int list_community(const struct community *cm, void *arg)
{
    struct list_ctx *l = arg;
    struct account owner;
    char when[32];
    struct str oname = STR_LIT("?");
    if (account_get(l->txn, cm->owner_id, l->a, &owner) == KITH_OK)
        oname = owner.name;
    format_time(cm->created_at, when, sizeof(when));
    buf_printf(l->env->out, "%-30.*s %-20.*s %s  %.*s\n", (int)cm->name.len, cm->name.ptr,
               (int)oname.len, oname.ptr, when, (int)cm->title.len, cm->title.ptr);
    return 0;
}

/* The follows of a private community that wait for a moderator. */
static int community_pending(struct admin_env *env, const char *name)
{
    struct kv_txn *txn;
    struct kv_cursor *cur;
    struct str key, val;
    struct arena a = ARENA_INIT;
    struct community c;
    int rc = store_read_begin(env->core->st, &txn);
    if (rc)
        return error(env, kith_strerror(rc));
    if ((rc = community_get_local(txn, str_from(name), &a, &c))) {
        kv_txn_abort(txn);
        arena_release(&a);
        buf_printf(env->err, "kithctl: no community '%s'\n", name);
        return 1;
    }
    struct key8 k = key_id(c.id);
    buf_printf(env->out, "%-60s %s\n", "ACTOR", "SINCE (UTC)");
    if (kv_cursor_open(txn, T_MEMBERS, &cur) == KITH_OK) {
        for (rc = kv_cursor_seek(cur, KEY8(k), &key, &val);
             rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(cur, &key, &val)) {
            struct membership m;
            if (record_decode(&membership_desc, val, &a, &m) || m.role != MEMBER_PENDING ||
                m.banned)
                continue;
            const char *who = account_url(txn, env->core, &a, m.account_id);
            char since[32];
            format_time(m.created_at, since, sizeof(since));
            buf_printf(env->out, "%-60s %s\n", who ? who : "?", since);
        }
        kv_cursor_close(cur);
    }
    kv_txn_abort(txn);
    arena_release(&a);
    return 0;
}

static int cmd_community(struct admin_env *env, int argc, char **argv)
{
    struct core *c = env->core;
    struct core_result res = {{0}};
    int rc;

    if (argc < 2)
        return usage(env, "community needs a subcommand");
    if (strcmp(argv[1], "list") == 0) {
        struct kv_txn *txn;
        struct arena a = ARENA_INIT;
        if (argc != 2)
            return usage(env, "community list takes no arguments");
        if ((rc = store_read_begin(c->st, &txn)))
            return error(env, kith_strerror(rc));
        struct list_ctx l = {env, txn, &a};
        buf_printf(env->out, "%-30s %-20s %-16s  %s\n", "NAME", "OWNER", "CREATED (UTC)", "TITLE");
        rc = community_each_local(txn, &a, list_community, &l);
        kv_txn_abort(txn);
        arena_release(&a);
        return rc ? error(env, kith_strerror(rc)) : 0;
    }
    if (strcmp(argv[1], "private") == 0) {
        if (argc != 4 || (strcmp(argv[3], "on") && strcmp(argv[3], "off")))
            return usage(env, "community private takes NAME and on or off");
        rc = core_community_private(c, str_from(argv[2]), strcmp(argv[3], "on") == 0, &res);
        if (rc)
            return error(env, res.msg);
        buf_printf(env->out, "community '%s' is %s\n", argv[2],
                   strcmp(argv[3], "on") == 0 ? "private: follows wait for approval"
                                              : "public: follows are accepted at once");
        return 0;
    }
    if (strcmp(argv[1], "pending") == 0) {
        if (argc != 3)
            return usage(env, "community pending takes NAME");
        return community_pending(env, argv[2]);
    }
    if (strcmp(argv[1], "approve") == 0 || strcmp(argv[1], "reject") == 0) {
        if (argc != 4)
            return usage(env, "community approve and reject take NAME and ACTOR");
        if (!env->hooks || !env->hooks->community_answer)
            return error(env, "approving a follow sends an Accept: start kithd first");
        return env->hooks->community_answer(env->hooks->arg, argv[2], argv[3],
                                            strcmp(argv[1], "approve") == 0, env->out, env->err);
    }
    if (strcmp(argv[1], "add") != 0)
        return usage(env, "unknown community subcommand");
    if (argc < 3)
        return usage(env, "community add needs a NAME");
    const char *owner = NULL, *title = "";
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc)
            owner = argv[++i];
        else if (strncmp(argv[i], "--owner=", 8) == 0)
            owner = argv[i] + 8;
        else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc)
            title = argv[++i];
        else if (strncmp(argv[i], "--title=", 8) == 0)
            title = argv[i] + 8;
        else
            return usage(env, "unknown option for community add");
    }
    if (!owner)
        return usage(env, "community add needs --owner USER");
    rc = core_community_add(c, str_from(argv[2]), str_from(owner), str_from(title), &res);
    if (rc)
        return error(env, res.msg);
    buf_printf(env->out, "added community '%s' owned by '%s'\n", argv[2], owner);
    return 0;
}

/* ---- stats ---- */

struct user_counts {
    uint64_t total, pending, suspended, admins;
};

static int count_user(const struct account *a, void *arg)
{
    struct user_counts *u = arg;
    u->total++;
    u->pending += a->state == ACCOUNT_PENDING;
    u->suspended += a->state == ACCOUNT_SUSPENDED;
    u->admins += a->role == ROLE_ADMIN;
    return 0;
}

static int cmd_stats(struct admin_env *env)
{
    struct store *st = env->core->st;
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct user_counts u = {0};
    struct kv_info info;
    uint64_t communities = 0, posts = 0, votes = 0, follows = 0, inbox = 0, delivery = 0,
             remote = 0;
    uint32_t version = 0;
    int rc = store_read_begin(st, &txn);
    if (rc)
        return error(env, kith_strerror(rc));
    rc = account_each_local(txn, &a, count_user, &u);
    if (!rc)
        rc = counter_get(txn, "local_communities", &communities);
    if (!rc)
        rc = kv_count(txn, T_POSTS, &posts);
    if (!rc)
        rc = kv_count(txn, T_VOTES, &votes);
    if (!rc)
        rc = kv_count(txn, T_FOLLOWS, &follows);
    if (!rc)
        rc = kv_count(txn, T_ACTOR_URIS, &remote);
    if (!rc)
        rc = queue_length(txn, QUEUE_INBOX, &inbox);
    if (!rc)
        rc = queue_length(txn, QUEUE_DELIVERY, &delivery);
    kv_txn_abort(txn);
    arena_release(&a);
    if (!rc)
        rc = store_schema_version(st, &version);
    if (!rc)
        rc = kv_info(store_env(st), &info);
    if (rc)
        return error(env, kith_strerror(rc));
    buf_printf(env->out, "users:           %llu (%llu pending, %llu suspended, %llu admins)\n",
               (unsigned long long)u.total, (unsigned long long)u.pending,
               (unsigned long long)u.suspended, (unsigned long long)u.admins);
    buf_printf(env->out, "communities:     %llu\n", (unsigned long long)communities);
    buf_printf(env->out, "remote actors:   %llu\n", (unsigned long long)remote);
    buf_printf(env->out, "posts+comments:  %llu\n", (unsigned long long)posts);
    buf_printf(env->out, "votes:           %llu\n", (unsigned long long)votes);
    buf_printf(env->out, "follows:         %llu\n", (unsigned long long)follows);
    buf_printf(env->out, "queues:          inbox %llu, delivery %llu\n", (unsigned long long)inbox,
               (unsigned long long)delivery);
    buf_printf(env->out, "database:        %.1f MiB used of a %.0f GiB map, schema version %u\n",
               (double)info.used_bytes / (1 << 20), (double)info.map_size / (1 << 30), version);
    if (env->server && env->core->w) {
        struct writer_stats ws;
        writer_get_stats(env->core->w, &ws);
        buf_printf(env->out,
                   "writer:          %llu commits, %llu writes, largest batch %llu (since start)\n",
                   (unsigned long long)ws.batches, (unsigned long long)ws.requests,
                   (unsigned long long)ws.max_batch);
    }
    buf_printf(env->out, "kithd:           %s\n", env->server ? "running" : "not running");
    return 0;
}

/* ---- federation status ---- */

struct peer {
    char host[256];
    uint64_t queued;
};

static const char *const activity_states[] = {"applied", "stored", "rejected"};

/* What kith made of a remote activity it received. */
static int federation_activity(struct admin_env *env, const char *id)
{
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct activity act;
    int rc = store_read_begin(env->core->st, &txn);
    if (rc)
        return error(env, kith_strerror(rc));
    rc = strlen(id) > 511 ? KITH_ENOTFOUND
                          : rec_get(txn, T_ACTIVITIES, str_from(id), &activity_desc, &a, &act);
    kv_txn_abort(txn);
    if (rc == KITH_OK) {
        buf_printf(env->out, "type: %.*s\nactor: %.*s\nstate: %s\nnote: %.*s\n", (int)act.type.len,
                   act.type.ptr, (int)act.actor.len, act.actor.ptr,
                   act.state < 3 ? activity_states[act.state] : "?", (int)act.note.len,
                   act.note.ptr);
        if (act.raw.len)
            buf_printf(env->out, "raw: %.*s\n", (int)act.raw.len, act.raw.ptr);
    }
    arena_release(&a);
    if (rc == KITH_ENOTFOUND) {
        buf_printf(env->err, "kithctl: no activity '%s' was received\n", id);
        return 1;
    }
    return rc ? error(env, kith_strerror(rc)) : 0;
}

/* A post, comment or note kith holds, by its ActivityPub id. */
static int federation_object(struct admin_env *env, const char *uri)
{
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct post p;
    struct core *core = env->core;
    int rc = store_read_begin(core->st, &txn);
    if (rc)
        return error(env, kith_strerror(rc));
    rc = post_by_ref(txn, core->cfg, uri, &a, &p);
    if (rc == KITH_OK) {
        struct community c;
        const char *curl = p.community_id && community_get(txn, p.community_id, &a, &c) == KITH_OK
                               ? community_url(&a, core, &c)
                               : "";
        const char *author = account_url(txn, core, &a, p.author_id);
        buf_printf(env->out,
                   "url: %s\nuri: %.*s\nkind: %s\ncommunity: %s\nauthor: %s\n"
                   "title: %.*s\ncontent: %.*s\nvisibility: %s\nupvotes: %u\n"
                   "downvotes: %u\nreplies: %u\ndeleted: %s\nattachments: %zu\n",
                   post_url(&a, core->cfg, &p), (int)p.uri.len, p.uri.ptr, post_kind(&p), curl,
                   author ? author : "", (int)p.title.len, p.title.ptr,
                   p.deleted_at ? 0 : (int)p.content.len, p.content.ptr,
                   visibility_name(p.visibility), p.upvotes, p.downvotes, p.replies,
                   p.deleted_at ? "yes" : "no", (size_t)p.nattachments);
        if (p.url.len)
            buf_printf(env->out, "link: %.*s\n", (int)p.url.len, p.url.ptr);
    }
    kv_txn_abort(txn);
    arena_release(&a);
    if (rc == KITH_ENOTFOUND) {
        buf_printf(env->err, "kithctl: kith holds no object '%s'\n", uri);
        return 1;
    }
    return rc ? error(env, kith_strerror(rc)) : 0;
}

static int cmd_federation(struct admin_env *env, int argc, char **argv)
{
    struct kv_txn *txn;
    struct kv_cursor *c;
    struct str key, val;
    struct arena a = ARENA_INIT;
    struct peer *peers = NULL;
    size_t npeers = 0, cap = 0;
    uint64_t total = 0;
    int rc;

    if (argc == 3 && strcmp(argv[1], "activity") == 0)
        return federation_activity(env, argv[2]);
    if (argc == 3 && strcmp(argv[1], "object") == 0)
        return federation_object(env, argv[2]);
    if (argc != 2 || strcmp(argv[1], "status") != 0)
        return usage(env, "federation takes status, activity ID or object URI");
    if ((rc = store_read_begin(env->core->st, &txn)))
        return error(env, kith_strerror(rc));
    /* Pending deliveries per destination host. */
    if (kv_cursor_open(txn, T_DELIVERIES, &c) == KITH_OK) {
        for (rc = kv_cursor_first(c, &key, &val); rc == KITH_OK;
             rc = kv_cursor_next(c, &key, &val)) {
            struct delivery d;
            if (key.len != 16 || record_decode(&delivery_desc, val, &a, &d))
                continue;
            total++;
            size_t i = 0;
            while (i < npeers && !(strlen(peers[i].host) == d.host.len &&
                                   memcmp(peers[i].host, d.host.ptr, d.host.len) == 0))
                i++;
            if (i == npeers) {
                if (npeers == cap) {
                    cap = cap ? cap * 2 : 16;
                    peers = xrealloc(peers, cap * sizeof(*peers));
                }
                memset(&peers[i], 0, sizeof(peers[i]));
                snprintf(peers[i].host, sizeof(peers[i].host), "%.*s", (int)d.host.len, d.host.ptr);
                npeers++;
            }
            peers[i].queued++;
        }
        kv_cursor_close(c);
    }
    buf_printf(env->out, "%-40s %8s %8s %-17s %s\n", "HOST", "QUEUED", "FAILURES", "DEAD SINCE",
               "LAST ERROR");
    /* Every host with delivery state, then hosts with jobs but no state yet. */
    if (kv_cursor_open(txn, T_HOSTS, &c) == KITH_OK) {
        for (rc = kv_cursor_first(c, &key, &val); rc == KITH_OK;
             rc = kv_cursor_next(c, &key, &val)) {
            struct host h;
            if (record_decode(&host_desc, val, &a, &h))
                continue;
            uint64_t queued = 0;
            for (size_t i = 0; i < npeers; i++)
                if (strlen(peers[i].host) == key.len &&
                    memcmp(peers[i].host, key.ptr, key.len) == 0) {
                    queued = peers[i].queued;
                    peers[i].queued = UINT64_MAX; /* printed here */
                }
            char dead[32] = "-";
            if (h.dead_since)
                format_time(h.dead_since, dead, sizeof(dead));
            buf_printf(env->out, "%-40.*s %8llu %8u %-17s %.*s\n", (int)key.len, key.ptr,
                       (unsigned long long)queued, h.failures, dead, (int)h.last_error.len,
                       h.last_error.ptr);
        }
        kv_cursor_close(c);
    }
    for (size_t i = 0; i < npeers; i++)
        if (peers[i].queued != UINT64_MAX)
            buf_printf(env->out, "%-40s %8llu %8u %-17s %s\n", peers[i].host,
                       (unsigned long long)peers[i].queued, 0u, "-", "");
    kv_txn_abort(txn);
    arena_release(&a);
    free(peers);
    buf_printf(env->out, "deliveries queued: %llu\n", (unsigned long long)total);
    if (env->hooks && env->hooks->delivery_live)
        env->hooks->delivery_live(env->hooks->arg, env->out);
    else
        buf_printf(env->out, "kithd is not running: nothing is in flight\n");
    return 0;
}

int admin_exec(struct admin_env *env, int argc, char **argv)
{
    if (argc < 1)
        return usage(env, "no command given");
    const char *cmd = argv[0];
    if (strcmp(cmd, "user") == 0)
        return cmd_user(env, argc, argv);
    if (strcmp(cmd, "community") == 0)
        return cmd_community(env, argc, argv);
    if (strcmp(cmd, "federation") == 0)
        return cmd_federation(env, argc, argv);
    if (strcmp(cmd, "act") == 0) {
        if (!env->hooks || !env->hooks->act) {
            buf_printf(env->err, "kithctl: act sends activities: it needs kithd running\n");
            return 1;
        }
        return env->hooks->act(env->hooks->arg, argc, argv, env->out, env->err);
    }
    if (strcmp(cmd, "stats") == 0) {
        if (argc != 1)
            return usage(env, "stats takes no arguments");
        return cmd_stats(env);
    }
    if (strcmp(cmd, "backup") == 0) {
        char err[512];
        if (argc != 2)
            return usage(env, "backup takes one DEST directory");
        if (store_backup(env->core->st, argv[1], err, sizeof(err)))
            return error(env, err);
        buf_printf(env->out, "backup written to '%s'\n", argv[1]);
        return 0;
    }
    if (strcmp(cmd, "init") == 0 || strcmp(cmd, "restore") == 0 || strcmp(cmd, "migrate") == 0) {
        if (env->server) {
            buf_printf(env->err, "kithctl: %s needs kithd to be stopped; stop it first\n", cmd);
            return 1;
        }
        return usage(env, "internal: command not handled here");
    }
    buf_printf(env->err, "kithctl: unknown command '%s'\n%s", cmd, admin_usage);
    return 1;
}
