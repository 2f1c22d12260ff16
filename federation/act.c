/* federation/act.c: `kithctl act USER ...`: a local member acting toward
 * other servers, before the Mastodon API exists (an admin and testing tool).
 * Runs on an admin-socket worker, which may block: remote lookups use a
 * short-lived event loop of its own, never one of kithd's loops. */
#include "actors.h"
#include "deliver.h"
#include "fetch.h"
#include "httpsig.h"

#include "../src/base/err.h"
#include "../src/base/mem.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AS_CONTEXT "https://www.w3.org/ns/activitystreams"

struct sync_fetch {
    bool done;
    int err, status;
    char *body;
    char *url;
    char why[256];
};

static void sync_done(const struct fetch_result *r, void *arg)
{
    struct sync_fetch *s = arg;
    s->done = true;
    s->err = r->err;
    s->status = r->status;
    snprintf(s->why, sizeof(s->why), "%s", r->why ? r->why : "");
    if (r->err == KITH_OK) {
        s->body = xstrndup(r->body.ptr, r->body.len);
        s->url = xstrdup(r->url);
    }
}

/* Fetches url (signed by the instance actor) on a private loop; blocks. */
static int fetch_blocking(struct federation *f, const char *url, struct sync_fetch *s)
{
    char err[256];
    struct event_base *base = event_base_new();
    struct fetcher *fe = NULL;
    memset(s, 0, sizeof(*s));
    if (!base || fetcher_new(base, f->cfg, &fe, err, sizeof(err))) {
        snprintf(s->why, sizeof(s->why), "%s", base ? err : "no event loop");
        if (base)
            event_base_free(base);
        return KITH_EIO;
    }
    struct fetch_opts o = {.sign = federation_sign_instance, .sign_arg = f, .timeout_secs = 15};
    int rc = fetch_start(fe, url, &o, sync_done, s);
    while (rc == KITH_OK && !s->done)
        event_base_loop(base, EVLOOP_ONCE);
    fetcher_free(fe);
    event_base_loop(base, EVLOOP_NONBLOCK); /* lets the resolver finish freeing */
    event_base_free(base);
    if (rc)
        snprintf(s->why, sizeof(s->why), "cannot fetch '%s'", url);
    return rc ? rc : s->err;
}

/* ---- follow / unfollow ---- */

struct follow_op {
    struct federation *f;
    struct account user;
    bool is_group, undo;
    struct account acct;
    struct community comm;
    const char *target; /* remote actor id */
    char msg[256];
};

static int apply_follow_out(struct kv_txn *txn, void *arg)
{
    struct follow_op *op = arg;
    struct core *core = op->f->core;
    const struct kith_config *cfg = op->f->cfg;
    uint64_t remote_id;
    struct arena a = ARENA_INIT;
    int rc;

    if (op->undo) {
        uint8_t kind;
        if ((rc = actor_uri_lookup(txn, str_from(op->target), &kind, &remote_id))) {
            snprintf(op->msg, sizeof(op->msg), "'%s' does not follow '%s'", op->user.name.ptr,
                     op->target);
            goto out;
        }
        op->is_group = kind == NAME_COMMUNITY;
        if (op->is_group)
            rc = community_get(txn, remote_id, &a, &op->comm);
        else
            rc = account_get(txn, remote_id, &a, &op->acct);
        if (rc)
            goto out;
    } else {
        rc = op->is_group ? community_upsert_remote(txn, &op->comm, &remote_id)
                          : account_upsert_remote(txn, &op->acct, &remote_id);
        if (rc)
            goto out;
    }
    struct key16 k =
        op->is_group ? key_pair(remote_id, op->user.id) : key_pair(op->user.id, remote_id);
    struct str follow_uri = STR_NULL;
    struct str existing;
    if (op->is_group) {
        struct membership m;
        if (membership_get(txn, remote_id, op->user.id, &a, &m) == KITH_OK)
            follow_uri = m.follow_uri;
    } else if (kv_get(txn, T_FOLLOWS, KEY16(k), &existing) == KITH_OK) {
        struct follow fl;
        if (record_decode(&follow_desc, existing, &a, &fl) == KITH_OK)
            follow_uri = fl.uri;
    }
    if (op->undo && !follow_uri.len) {
        snprintf(op->msg, sizeof(op->msg), "'%s' does not follow '%s'", op->user.name.ptr,
                 op->target);
        rc = KITH_ENOTFOUND;
        goto out;
    }
    const char *actor =
        arena_printf(&a, "%s/u/%.*s", cfg->public_url, (int)op->user.name.len, op->user.name.ptr);
    uint64_t aid = idgen_next(store_ids(core->st));
    const char *fid = follow_uri.len ? arena_str(&a, follow_uri).ptr
                                     : arena_printf(&a, "%s/activities/follow/%llu",
                                                    cfg->public_url, (unsigned long long)aid);
    cJSON *follow = cJSON_CreateObject();
    if (!op->undo)
        cJSON_AddStringToObject(follow, "@context", AS_CONTEXT);
    cJSON_AddStringToObject(follow, "id", fid);
    cJSON_AddStringToObject(follow, "type", "Follow");
    cJSON_AddStringToObject(follow, "actor", actor);
    cJSON_AddStringToObject(follow, "object", op->target);
    cJSON *to = cJSON_AddArrayToObject(follow, "to");
    cJSON_AddItemToArray(to, cJSON_CreateString(op->target));
    cJSON *act = follow;
    if (op->undo) {
        act = cJSON_CreateObject();
        cJSON_AddStringToObject(act, "@context", AS_CONTEXT);
        cJSON_AddStringToObject(
            act, "id",
            arena_printf(&a, "%s/activities/undo/%llu", cfg->public_url, (unsigned long long)aid));
        cJSON_AddStringToObject(act, "type", "Undo");
        cJSON_AddStringToObject(act, "actor", actor);
        cJSON *to2 = cJSON_AddArrayToObject(act, "to");
        cJSON_AddItemToArray(to2, cJSON_CreateString(op->target));
        cJSON_AddItemToObject(act, "object", follow);
    }

    int64_t now = wall_seconds();
    if (op->undo) {
        struct key16 r =
            op->is_group ? key_pair(op->user.id, remote_id) : key_pair(remote_id, op->user.id);
        rc = kv_del(txn, op->is_group ? T_MEMBERS : T_FOLLOWS, KEY16(k));
        if (!rc)
            rc = kv_del(txn, op->is_group ? T_MEMBER_OF : T_FOLLOWERS, KEY16(r));
        if (rc == KITH_ENOTFOUND)
            rc = KITH_OK;
    } else if (op->is_group) {
        struct membership m = {.community_id = remote_id,
                               .account_id = op->user.id,
                               .role = MEMBER_PENDING,
                               .created_at = now,
                               .updated_at = now,
                               .follow_uri = str_from(fid)};
        rc = membership_put(txn, &m);
    } else {
        struct follow fl = {.follower_id = op->user.id,
                            .target_id = remote_id,
                            .state = FOLLOW_PENDING,
                            .created_at = now,
                            .uri = str_from(fid)};
        struct key16 r = key_pair(remote_id, op->user.id);
        rc = rec_put(txn, T_FOLLOWS, KEY16(k), &follow_desc, &fl, 0);
        if (!rc)
            rc = kv_put(txn, T_FOLLOWERS, KEY16(r), STR_LIT(""), 0);
    }
    struct str inbox = op->is_group ? op->comm.inbox : op->acct.inbox;
    if (!inbox.len)
        inbox = op->is_group ? op->comm.shared_inbox : op->acct.shared_inbox;
    if (!rc && !inbox.len) {
        snprintf(op->msg, sizeof(op->msg), "'%s' has no inbox", op->target);
        rc = KITH_EINVAL;
    }
    if (!rc)
        rc = delivery_schedule(txn, core, act, aid, op->user.id, inbox);
    cJSON_Delete(act);
out:
    arena_release(&a);
    return rc;
}

static int act_follow(struct federation *f, struct account *user, const char *url, bool undo,
                      struct buf *out, struct buf *err)
{
    struct arena a = ARENA_INIT;
    struct follow_op op = {.f = f, .user = *user, .undo = undo, .target = url};
    struct sync_fetch sf = {0};
    int status = 1;
    if (!undo) {
        char why[256];
        int rc = fetch_blocking(f, url, &sf);
        if (rc || sf.status != 200) {
            buf_printf(err, "kithctl: cannot fetch '%s': %s\n", url,
                       rc ? sf.why : (snprintf(why, sizeof(why), "HTTP %d", sf.status), why));
            goto done;
        }
        cJSON *doc = cJSON_Parse(sf.body);
        if (!doc || remote_actor_read(doc, sf.url, f->core, &a, &op.is_group, &op.acct, &op.comm,
                                      why, sizeof(why))) {
            buf_printf(err, "kithctl: '%s' is not an actor: %s\n", url, doc ? why : "not JSON");
            cJSON_Delete(doc);
            goto done;
        }
        cJSON_Delete(doc);
        op.target = arena_str(&a, op.is_group ? op.comm.uri : op.acct.uri).ptr;
    }
    int rc = writer_run(f->core->w, apply_follow_out, &op);
    if (rc) {
        buf_printf(err, "kithctl: %s\n", op.msg[0] ? op.msg : kith_strerror(rc));
        goto done;
    }
    deliverer_kick(f->deliverer);
    buf_printf(out,
               undo ? "%.*s no longer follows %s\n"
                    : "%.*s follows %s (pending until it is accepted)\n",
               (int)user->name.len, user->name.ptr, op.target);
    status = 0;
done:
    free(sf.body);
    free(sf.url);
    arena_release(&a);
    return status;
}

/* ---- following ---- */

static int act_following(struct federation *f, struct account *user, struct buf *out)
{
    struct kv_txn *txn;
    struct kv_cursor *c;
    struct str key, val;
    struct arena a = ARENA_INIT;
    struct key8 k = key_id(user->id);
    if (store_read_begin(f->core->st, &txn))
        return 1;
    buf_printf(out, "%-60s %s\n", "FOLLOWING", "STATE");
    if (kv_cursor_open(txn, T_FOLLOWS, &c) == KITH_OK) {
        for (int rc = kv_cursor_seek(c, KEY8(k), &key, &val);
             rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(c, &key, &val)) {
            struct follow fl;
            struct account t;
            if (record_decode(&follow_desc, val, &a, &fl) || account_get(txn, fl.target_id, &a, &t))
                continue;
            buf_printf(out, "%-60.*s %s\n", (int)t.uri.len, t.uri.ptr,
                       fl.state == FOLLOW_ACCEPTED ? "accepted" : "pending");
        }
        kv_cursor_close(c);
    }
    if (kv_cursor_open(txn, T_MEMBER_OF, &c) == KITH_OK) {
        for (int rc = kv_cursor_seek(c, KEY8(k), &key, NULL);
             rc == KITH_OK && key.len == 16 && memcmp(key.ptr, k.b, 8) == 0;
             rc = kv_cursor_next(c, &key, NULL)) {
            uint64_t cid = be64_get((const unsigned char *)key.ptr + 8);
            struct community cm;
            struct membership m;
            if (community_get(txn, cid, &a, &cm) || !cm.uri.len ||
                membership_get(txn, cid, user->id, &a, &m))
                continue;
            buf_printf(out, "%-60.*s %s\n", (int)cm.uri.len, cm.uri.ptr,
                       m.role >= MEMBER_MEMBER ? "accepted" : "pending");
        }
        kv_cursor_close(c);
    }
    kv_txn_abort(txn);
    arena_release(&a);
    return 0;
}

int federation_act(void *arg, int argc, char **argv, struct buf *out, struct buf *err)
{
    struct federation *f = arg;
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct account user;
    int status = 1;

    if (argc < 3) {
        buf_printf(err, "kithctl: act takes USER and a command: follow URL, unfollow URL, "
                        "following\n");
        return 1;
    }
    if (store_read_begin(f->core->st, &txn))
        return 1;
    int rc = account_get_local(txn, str_from(argv[1]), &a, &user);
    kv_txn_abort(txn);
    if (rc || user.state != ACCOUNT_ACTIVE) {
        buf_printf(err, "kithctl: unknown or inactive user '%s'\n", argv[1]);
        goto out;
    }
    user.name = arena_str(&a, user.name);
    if (strcmp(argv[2], "following") == 0 && argc == 3)
        status = act_following(f, &user, out);
    else if ((strcmp(argv[2], "follow") == 0 || strcmp(argv[2], "unfollow") == 0) && argc == 4)
        status = act_follow(f, &user, argv[3], strcmp(argv[2], "unfollow") == 0, out, err);
    else
        buf_printf(err, "kithctl: act takes follow URL, unfollow URL or following\n");
out:
    arena_release(&a);
    return status;
}
