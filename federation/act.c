/* federation/act.c: `kithctl act USER ...`: a local member acting toward
 * other servers, before the Mastodon API exists (an admin and testing tool).
 * Runs on an admin-socket worker, which may block: remote lookups use a
 * short-lived event loop of its own, never one of kithd's loops. */
#include "actors.h"
#include "deliver.h"
#include "fetch.h"
#include "httpsig.h"
#include "outbox.h"
#include "sanitize.h"

#include "../src/base/err.h"
#include "../src/base/mem.h"
#include "../src/core/feeds.h"

#include <ctype.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- naming actors: URL, acct:user@host, @user@host ---- */

/* The actor id for what a member typed: a URL as it is; user@host (with or
 * without acct: or a leading @) through the host's WebFinger; a local name
 * (or name@our-domain) as our own /u/ or /c/ URL. In the arena, or NULL
 * with the reason in err. */
static const char *resolve_actor(struct federation *f, struct arena *a, const char *what,
                                 struct buf *err)
{
    const struct kith_config *cfg = f->cfg;
    if (strncmp(what, "https://", 8) == 0 || strncmp(what, "http://", 7) == 0)
        return arena_strdup(a, what);
    const char *s = what;
    if (strncmp(s, "acct:", 5) == 0)
        s += 5;
    if (*s == '@' || *s == '!')
        s++;
    const char *at = strchr(s, '@');
    if (!at || !at[1] || strcasecmp(at + 1, cfg->domain) == 0) {
        struct str name = str_make(s, at ? (size_t)(at - s) : strlen(s));
        struct kv_txn *txn;
        uint8_t kind;
        uint64_t id;
        if (store_read_begin(f->core->st, &txn) == KITH_OK) {
            int rc = name_lookup(txn, name, &kind, &id);
            kv_txn_abort(txn);
            if (rc == KITH_OK)
                return arena_printf(a, "%s/%c/%.*s", cfg->public_url,
                                    kind == NAME_COMMUNITY ? 'c' : 'u', (int)name.len, name.ptr);
        }
        buf_printf(err, "kithctl: no user or community '%.*s' here\n", (int)name.len, name.ptr);
        return NULL;
    }
    const char *host = at + 1;
    for (const char *c = host; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == ':')) {
            buf_printf(err, "kithctl: '%s' is not user@host\n", what);
            return NULL;
        }
    /* https first; plain http only where private addresses are allowed (tests). */
    for (int plain = 0; plain < (cfg->allow_private_addresses ? 2 : 1); plain++) {
        const char *url = arena_printf(a, "%s://%s/.well-known/webfinger?resource=acct:%.*s@%s",
                                       plain ? "http" : "https", host, (int)(at - s), s, host);
        struct sync_fetch sf;
        int rc = fetch_blocking(f, url, &sf);
        cJSON *doc = rc == KITH_OK && sf.status == 200 ? cJSON_Parse(sf.body) : NULL;
        const char *href = webfinger_self(doc, a);
        cJSON_Delete(doc);
        free(sf.body);
        free(sf.url);
        if (href)
            return href;
        if (rc == KITH_OK && sf.status != 200 && plain == 0 && sf.status != 0) {
            buf_printf(err, "kithctl: WebFinger for '%s' answered HTTP %d\n", what, sf.status);
            return NULL;
        }
    }
    buf_printf(err, "kithctl: cannot find '%s' through WebFinger\n", what);
    return NULL;
}

/* Fetches a remote actor's document into acct or comm. */
static int fetch_actor(struct federation *f, struct arena *a, const char *url, bool *is_group,
                       struct account *acct, struct community *comm, struct buf *err)
{
    struct sync_fetch sf;
    char why[256];
    int rc = fetch_blocking(f, url, &sf);
    if (rc || sf.status != 200) {
        if (!rc)
            snprintf(sf.why, sizeof(sf.why), "HTTP %d", sf.status);
        buf_printf(err, "kithctl: cannot fetch '%s': %s\n", url, sf.why);
        free(sf.body);
        free(sf.url);
        return rc ? rc : KITH_EIO;
    }
    cJSON *doc = cJSON_Parse(sf.body);
    rc = !doc || remote_actor_read(doc, sf.url, f->core, a, is_group, acct, comm, why, sizeof(why))
             ? KITH_EINVAL
             : KITH_OK;
    if (rc)
        buf_printf(err, "kithctl: '%s' is not an actor: %s\n", url, doc ? why : "not JSON");
    cJSON_Delete(doc);
    free(sf.body);
    free(sf.url);
    return rc;
}

/* ---- follow / unfollow ---- */

struct follow_op {
    struct federation *f;
    struct account user;
    bool is_group, undo;
    struct account acct;
    struct community comm;
    const char *target; /* remote actor id */
    char msg[320];
};

static int apply_follow_out(struct kv_txn *txn, void *arg)
{
    struct follow_op *op = arg;
    uint64_t remote_id;
    int rc;
    if (op->undo) {
        uint8_t kind;
        if ((rc = actor_uri_lookup(txn, str_from(op->target), &kind, &remote_id)))
            goto nothing;
    } else {
        rc = op->is_group ? community_upsert_remote(txn, &op->comm, &remote_id)
                          : account_upsert_remote(txn, &op->acct, &remote_id);
        if (rc)
            return rc;
    }
    struct fed_write w = {
        .kind = op->undo ? FW_UNFOLLOW : FW_FOLLOW, .user_id = op->user.id, .target_id = remote_id};
    rc = federation_write(txn, op->f, &w);
    if (rc)
        snprintf(op->msg, sizeof(op->msg), "%s", w.msg);
    if (rc || !w.noop || !op->undo)
        return rc;
nothing:
    snprintf(op->msg, sizeof(op->msg), "'%s' does not follow '%s'", op->user.name.ptr, op->target);
    return KITH_ENOTFOUND;
}

static int act_follow(struct federation *f, struct account *user, const char *what, bool undo,
                      struct buf *out, struct buf *err)
{
    struct arena a = ARENA_INIT;
    struct follow_op op = {.f = f, .user = *user, .undo = undo};
    int status = 1;
    const char *url = resolve_actor(f, &a, what, err);
    if (!url)
        goto done;
    op.target = url;
    if (strncmp(url, f->cfg->public_url, strlen(f->cfg->public_url)) == 0) {
        buf_printf(err, "kithctl: '%s' is on this server: nothing to federate\n", what);
        goto done;
    }
    if (!undo) {
        if (fetch_actor(f, &a, url, &op.is_group, &op.acct, &op.comm, err))
            goto done;
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

/* ---- writing: post, note, comment, vote, edit, delete ---- */

struct write_op {
    struct federation *f;
    struct account user;
    const char *cmd;
    /* post: the community (a local name, or a remote community's id) */
    const char *community;
    const char *title, *body, *link;
    int visibility;
    /* note: the recipients' ids, and their fetched documents */
    size_t nto;
    const char *to[FED_MAX_MENTIONS];
    struct account to_acct[FED_MAX_MENTIONS];
    bool to_remote[FED_MAX_MENTIONS];
    /* comment, vote, edit, delete: the object's id */
    const char *target;
    int vote; /* 1, -1, or 0 for none */
    struct fed_write w;
    char result[640];
    char msg[300];
};

static int refuse(struct write_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct write_op *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
    va_end(ap);
    return KITH_EINVAL;
}

/* Turns what was typed into ids (storing the remote people named), then
 * writes through federation_write, as the Mastodon API does. */
static int apply_write(struct kv_txn *txn, void *arg)
{
    struct write_op *op = arg;
    const struct kith_config *cfg = op->f->cfg;
    struct fed_write *w = &op->w;
    struct arena a = ARENA_INIT;
    int rc = KITH_OK;
    *w = (struct fed_write){.user_id = op->user.id,
                            .title = op->title,
                            .body = op->body,
                            .link = op->link,
                            .visibility = op->visibility,
                            .source_type = "text/markdown",
                            .vote = op->vote};
    for (size_t i = 0; i < op->nto && rc == KITH_OK; i++) {
        uint64_t id = 0;
        if (op->to_remote[i]) {
            rc = account_upsert_remote(txn, &op->to_acct[i], &id);
        } else {
            struct account acct;
            size_t n = strlen(cfg->public_url);
            rc = account_get_local(txn, str_from(op->to[i] + n + 3), &a, &acct);
            id = acct.id;
        }
        w->to[w->nto++] = id;
    }
    if (rc)
        goto out;
    if (strcmp(op->cmd, "post") == 0) {
        struct community c;
        uint8_t kind;
        uint64_t cid;
        if (strncmp(op->community, "http", 4) == 0) {
            if (actor_uri_lookup(txn, str_from(op->community), &kind, &cid) ||
                kind != NAME_COMMUNITY) {
                rc = refuse(op, "kith does not know the community '%s': follow it first",
                            op->community);
                goto out;
            }
        } else if (community_get_local(txn, str_from(op->community), &a, &c)) {
            rc = refuse(op, "no community '%s' here", op->community);
            goto out;
        } else {
            cid = c.id;
        }
        w->kind = FW_CREATE;
        w->community_id = cid;
    } else if (strcmp(op->cmd, "note") == 0) {
        w->kind = FW_CREATE;
        w->source_type = "text/plain";
    } else {
        struct post t;
        if (post_by_ref(txn, cfg, op->target, &a, &t)) {
            rc = refuse(op, "kith holds no post, comment or note '%s'", op->target);
            goto out;
        }
        if (t.deleted_at) {
            rc = refuse(op, "'%s' is deleted", op->target);
            goto out;
        }
        bool mine = strcmp(op->cmd, "edit") == 0 || strcmp(op->cmd, "delete") == 0;
        if (mine && t.author_id != op->user.id) {
            rc = refuse(op, "'%s' was written by someone else", op->target);
            goto out;
        }
        if (strcmp(op->cmd, "comment") == 0) {
            w->kind = FW_CREATE;
            w->parent_id = t.id;
            w->visibility = -1; /* as the note answered */
        } else {
            w->kind = strcmp(op->cmd, "vote") == 0   ? FW_VOTE
                      : strcmp(op->cmd, "edit") == 0 ? FW_EDIT
                                                     : FW_DELETE;
            w->target_id = t.id;
        }
    }
    if ((rc = federation_write(txn, op->f, w))) {
        snprintf(op->msg, sizeof(op->msg), "%s", w->msg);
        goto out;
    }
    struct post done;
    if (post_get(txn, w->post_id, &a, &done) == KITH_OK)
        snprintf(op->result, sizeof(op->result), "%s", post_url(&a, cfg, &done));
out:
    arena_release(&a);
    return rc;
}

/* Parses "--flag value" options of act's writing commands. */
static const char *opt(int argc, char **argv, int from, const char *flag)
{
    for (int i = from; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return argv[i + 1];
    return NULL;
}

static int act_write(struct federation *f, struct account *user, int argc, char **argv,
                     struct buf *out, struct buf *err)
{
    struct arena a = ARENA_INIT;
    struct write_op *op = xcalloc(1, sizeof(*op));
    int status = 1;
    op->f = f;
    op->user = *user;
    op->cmd = argv[2];
    int first_opt = 3;
    /* Known options, each taking a value; anything else is an error. */
    static const char *const flags[] = {"--title", "--body", "--url", "--visibility", "--to"};
    bool takes_target = strcmp(op->cmd, "note") != 0;
    if (takes_target) {
        if (argc < 4 || strncmp(argv[3], "--", 2) == 0) {
            buf_printf(err, "kithctl: act %s needs a %s\n", op->cmd,
                       strcmp(op->cmd, "post") == 0 ? "COMMUNITY" : "URL");
            goto done;
        }
        first_opt = 4;
    }
    if (strcmp(op->cmd, "vote") == 0) {
        if (argc != 5 ||
            (strcmp(argv[4], "up") && strcmp(argv[4], "down") && strcmp(argv[4], "none"))) {
            buf_printf(err, "kithctl: act vote takes URL and up, down or none\n");
            goto done;
        }
        op->vote = strcmp(argv[4], "up") == 0 ? 1 : strcmp(argv[4], "down") == 0 ? -1 : 0;
        first_opt = argc;
    }
    for (int i = first_opt; i < argc; i += 2) {
        bool known = false;
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
            known |= strcmp(argv[i], flags[k]) == 0;
        if (!known || i + 1 >= argc) {
            buf_printf(err, "kithctl: act %s: unknown option or missing value '%s'\n", op->cmd,
                       argv[i]);
            goto done;
        }
    }
    op->title = opt(argc, argv, first_opt, "--title");
    op->body = opt(argc, argv, first_opt, "--body");
    op->link = opt(argc, argv, first_opt, "--url");
    const char *vis = opt(argc, argv, first_opt, "--visibility");
    bool needs_body = strcmp(op->cmd, "post") == 0 || strcmp(op->cmd, "note") == 0 ||
                      strcmp(op->cmd, "comment") == 0 || strcmp(op->cmd, "edit") == 0;
    if (needs_body && (!op->body || !*op->body)) {
        buf_printf(err, "kithctl: act %s needs --body TEXT\n", op->cmd);
        goto done;
    }
    if (op->body && strlen(op->body) > 100000) {
        buf_printf(err, "kithctl: the body is longer than 100000 bytes\n");
        goto done;
    }
    if (strcmp(op->cmd, "post") == 0) {
        if (!op->title || !*op->title || strlen(op->title) > 200) {
            buf_printf(err, "kithctl: act post needs --title TEXT (at most 200 bytes)\n");
            goto done;
        }
        if (op->link && strncmp(op->link, "https://", 8) && strncmp(op->link, "http://", 7)) {
            buf_printf(err, "kithctl: --url must be an http(s) URL\n");
            goto done;
        }
        const char *c = argv[3];
        op->community =
            strchr(c, '@') || strncmp(c, "http", 4) == 0 ? resolve_actor(f, &a, c, err) : c;
        if (!op->community)
            goto done;
        size_t n = strlen(f->cfg->public_url);
        if (strncmp(op->community, f->cfg->public_url, n) == 0 &&
            strncmp(op->community + n, "/c/", 3) == 0)
            op->community += n + 3; /* our own community, by URL */
    } else if (strcmp(op->cmd, "note") == 0) {
        op->visibility = vis ? visibility_parse(vis) : VIS_PUBLIC;
        if (op->visibility < 0) {
            buf_printf(err, "kithctl: --visibility is public, unlisted, followers or direct\n");
            goto done;
        }
        for (int i = first_opt; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--to") != 0)
                continue;
            if (op->nto == FED_MAX_MENTIONS) {
                buf_printf(err, "kithctl: at most %d --to\n", FED_MAX_MENTIONS);
                goto done;
            }
            const char *url = resolve_actor(f, &a, argv[i + 1], err);
            if (!url)
                goto done;
            size_t k = op->nto++;
            op->to[k] = url;
            if (strncmp(url, f->cfg->public_url, strlen(f->cfg->public_url)) != 0) {
                bool is_group;
                struct community comm;
                if (fetch_actor(f, &a, url, &is_group, &op->to_acct[k], &comm, err))
                    goto done;
                if (is_group) {
                    buf_printf(err, "kithctl: '%s' is a community: use act post\n", argv[i + 1]);
                    goto done;
                }
                op->to_remote[k] = true;
                op->to[k] = arena_str(&a, op->to_acct[k].uri).ptr;
            } else if (strstr(url + strlen(f->cfg->public_url), "/c/") ==
                       url + strlen(f->cfg->public_url)) {
                buf_printf(err, "kithctl: '%s' is a community: use act post\n", argv[i + 1]);
                goto done;
            }
        }
        if (op->visibility == VIS_DIRECT && op->nto == 0) {
            buf_printf(err, "kithctl: a direct note needs at least one --to\n");
            goto done;
        }
    } else {
        op->target = argv[3];
    }
    int rc = writer_run(f->core->w, apply_write, op);
    if (rc) {
        buf_printf(err, "kithctl: %s\n", op->msg[0] ? op->msg : kith_strerror(rc));
        goto done;
    }
    deliverer_kick(f->deliverer);
    buf_printf(out, "%s\n", op->result);
    status = 0;
done:
    free(op);
    arena_release(&a);
    return status;
}

/* ---- reading: timeline, notifications ---- */

struct timeline_walk {
    struct federation *f;
    struct kv_txn *txn;
    struct arena *a;
    struct buf *out;
    int shown;
};

static int timeline_line(uint64_t status_id, uint64_t post_id, void *arg)
{
    struct timeline_walk *t = arg;
    struct post p;
    (void)status_id;
    if (post_get(t->txn, post_id, t->a, &p) || p.deleted_at)
        return 0;
    const char *author = account_url(t->txn, t->f->core, t->a, p.author_id);
    struct str text = p.title.len ? p.title : html_first_line(t->a, p.content);
    buf_printf(t->out, "%s\t%s\t%s\t%.*s\n", post_url(t->a, t->f->cfg, &p), author ? author : "",
               visibility_name(p.visibility), (int)text.len, text.ptr);
    return ++t->shown >= 40;
}

/* The newest 40 entries of the person's home timeline (table home). */
static int act_timeline(struct federation *f, struct account *user, struct buf *out)
{
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    if (store_read_begin(f->core->st, &txn))
        return 1;
    struct timeline_walk t = {f, txn, &a, out, 0};
    home_each(txn, user->id, 0, 0, false, timeline_line, &t);
    kv_txn_abort(txn);
    arena_release(&a);
    return 0;
}

static int act_notifications(struct federation *f, struct account *user, struct buf *out)
{
    struct kv_txn *txn;
    struct kv_cursor *c;
    struct str key, val;
    struct arena a = ARENA_INIT;
    if (store_read_begin(f->core->st, &txn))
        return 1;
    struct key16 end = key_pair(user->id, UINT64_MAX);
    int shown = 0;
    if (kv_cursor_open(txn, T_NOTIFICATIONS, &c) == KITH_OK) {
        int rc = kv_cursor_seek(c, KEY16(end), &key, &val);
        rc = rc == KITH_OK ? kv_cursor_prev(c, &key, &val) : kv_cursor_last(c, &key, &val);
        for (; rc == KITH_OK && shown < 80 && key.len == 16 &&
               be64_get((const unsigned char *)key.ptr) == user->id;
             rc = kv_cursor_prev(c, &key, &val)) {
            struct notification n;
            struct post p;
            if (record_decode(&notification_desc, val, &a, &n))
                continue;
            const char *from = account_url(txn, f->core, &a, n.from_account_id);
            const char *obj = n.post_id && post_get(txn, n.post_id, &a, &p) == KITH_OK
                                  ? post_url(&a, f->cfg, &p)
                                  : "";
            buf_printf(out, "%.*s\t%s\t%s\n", (int)n.type.len, n.type.ptr, from ? from : "", obj);
            shown++;
        }
        kv_cursor_close(c);
    }
    kv_txn_abort(txn);
    arena_release(&a);
    return 0;
}

static const char act_usage[] =
    "kithctl: act USER takes one of:\n"
    "  follow ACCT|URL, unfollow ACCT|URL, following\n"
    "  post COMMUNITY --title T --body B [--url LINK]\n"
    "  note --body B [--visibility public|unlisted|followers|direct] [--to ACCT]...\n"
    "  comment URL --body B, vote URL up|down|none, edit URL --body B [--title T],\n"
    "  delete URL, timeline, notifications\n";

int federation_act(void *arg, int argc, char **argv, struct buf *out, struct buf *err)
{
    struct federation *f = arg;
    struct kv_txn *txn;
    struct arena a = ARENA_INIT;
    struct account user;
    int status = 1;

    if (argc < 3) {
        buf_add_cstr(err, act_usage);
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
    const char *cmd = argv[2];
    if (strcmp(cmd, "following") == 0 && argc == 3)
        status = act_following(f, &user, out);
    else if (strcmp(cmd, "timeline") == 0 && argc == 3)
        status = act_timeline(f, &user, out);
    else if (strcmp(cmd, "notifications") == 0 && argc == 3)
        status = act_notifications(f, &user, out);
    else if ((strcmp(cmd, "follow") == 0 || strcmp(cmd, "unfollow") == 0) && argc == 4)
        status = act_follow(f, &user, argv[3], strcmp(cmd, "unfollow") == 0, out, err);
    else if (strcmp(cmd, "post") == 0 || strcmp(cmd, "note") == 0 || strcmp(cmd, "comment") == 0 ||
             strcmp(cmd, "vote") == 0 || strcmp(cmd, "edit") == 0 || strcmp(cmd, "delete") == 0)
        status = act_write(f, &user, argc, argv, out, err);
    else
        buf_add_cstr(err, act_usage);
out:
    arena_release(&a);
    return status;
}

/* ---- a private community's held follows ---- */

struct answer_op {
    struct federation *f;
    const char *community, *actor;
    bool accept;
    char msg[300];
};

static int apply_answer_held(struct kv_txn *txn, void *arg)
{
    struct answer_op *op = arg;
    struct core *core = op->f->core;
    struct arena a = ARENA_INIT;
    struct community c;
    struct membership m;
    struct account acct;
    uint8_t kind;
    uint64_t id;
    int rc;
    if (community_get_local(txn, str_from(op->community), &a, &c)) {
        snprintf(op->msg, sizeof(op->msg), "no community '%s'", op->community);
        rc = KITH_ENOTFOUND;
        goto out;
    }
    if (actor_uri_lookup(txn, str_from(op->actor), &kind, &id) || kind != NAME_ACCOUNT ||
        account_get(txn, id, &a, &acct) || membership_get(txn, c.id, id, &a, &m) ||
        m.role != MEMBER_PENDING) {
        snprintf(op->msg, sizeof(op->msg), "'%s' has no follow waiting in '%s'", op->actor,
                 op->community);
        rc = KITH_ENOTFOUND;
        goto out;
    }
    if (op->accept) {
        m.role = MEMBER_MEMBER;
        m.updated_at = wall_seconds();
        rc = membership_put(txn, &m);
    } else {
        struct key16 k = key_pair(c.id, id), r = key_pair(id, c.id);
        rc = kv_del(txn, T_MEMBERS, KEY16(k));
        if (rc == KITH_OK)
            rc = kv_del(txn, T_MEMBER_OF, KEY16(r));
    }
    struct str inbox = acct.inbox.len ? acct.inbox : acct.shared_inbox;
    if (rc == KITH_OK && inbox.len) {
        const char *curl = community_url(&a, core, &c);
        uint64_t aid;
        cJSON *act = activity_new(core, &a, op->accept ? "Accept" : "Reject", curl, &aid);
        cJSON *to = cJSON_AddArrayToObject(act, "to");
        cJSON_AddItemToArray(to, cJSON_CreateString(op->actor));
        cJSON *follow = cJSON_AddObjectToObject(act, "object");
        if (m.follow_uri.len)
            cJSON_AddStringToObject(follow, "id", arena_str(&a, m.follow_uri).ptr);
        cJSON_AddStringToObject(follow, "type", "Follow");
        cJSON_AddStringToObject(follow, "actor", op->actor);
        cJSON_AddStringToObject(follow, "object", curl);
        rc = delivery_schedule(txn, core, act, aid, SENDER_COMMUNITY(c.id), inbox);
        cJSON_Delete(act);
    }
out:
    arena_release(&a);
    return rc;
}

int federation_community_answer(void *arg, const char *community, const char *actor, bool accept,
                                struct buf *out, struct buf *err)
{
    struct federation *f = arg;
    struct answer_op op = {.f = f, .community = community, .actor = actor, .accept = accept};
    int rc = writer_run(f->core->w, apply_answer_held, &op);
    if (rc) {
        buf_printf(err, "kithctl: %s\n", op.msg[0] ? op.msg : kith_strerror(rc));
        return 1;
    }
    deliverer_kick(f->deliverer);
    buf_printf(out, "%s %s to '%s'\n", accept ? "admitted" : "refused", actor, community);
    return 0;
}
