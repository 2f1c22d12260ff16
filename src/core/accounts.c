/* src/core/accounts.c: local users and communities: creation, approval,
 * suspension, roles, passwords. */
#include "core.h"

#include "../base/err.h"
#include "../base/id.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_MAX 160

static int fail(struct core_result *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct core_result *res, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
    return rc;
}

int core_check_name(struct str name, struct core_result *res)
{
    static const char *const reserved[] = {"actor", "instance"};
    if (name.len == 0)
        return fail(res, KITH_EINVAL, "name is empty");
    if (name.len > NAME_MAX_LEN)
        return fail(res, KITH_EINVAL, "invalid name '%.*s': longer than %d characters",
                    (int)name.len, name.ptr, NAME_MAX_LEN);
    for (size_t i = 0; i < name.len; i++) {
        unsigned char ch = (unsigned char)name.ptr[i];
        if (!(isascii(ch) && (isalnum(ch) || ch == '_')))
            return fail(res, KITH_EINVAL,
                        "invalid name '%.*s': use only letters, digits and underscores",
                        (int)name.len, name.ptr);
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (str_eq_nocase(name, str_from(reserved[i])))
            return fail(res, KITH_EINVAL, "invalid name '%.*s': reserved", (int)name.len, name.ptr);
    return KITH_OK;
}

static int check_password(struct str pw, struct core_result *res)
{
    if (pw.len < PASSWORD_MIN_LEN)
        return fail(res, KITH_EINVAL, "password is shorter than %d characters", PASSWORD_MIN_LEN);
    if (pw.len > PASSWORD_MAX_LEN)
        return fail(res, KITH_EINVAL, "password is longer than %d characters", PASSWORD_MAX_LEN);
    return KITH_OK;
}

/* Explains a name conflict found inside a transaction. */
static int name_taken(struct kv_txn *txn, struct str name, struct core_result *res)
{
    uint8_t kind = 0;
    uint64_t id;
    name_lookup(txn, name, &kind, &id);
    return fail(res, KITH_EEXIST, "name '%.*s' is already taken by a %s", (int)name.len, name.ptr,
                kind == NAME_COMMUNITY ? "community" : "user");
}

/* ---- user add ---- */

struct user_add {
    struct account acct;
    struct core_result *res;
};

static int apply_user_add(struct kv_txn *txn, void *arg)
{
    struct user_add *op = arg;
    int rc = account_insert_local(txn, &op->acct);
    if (rc == KITH_EEXIST)
        return name_taken(txn, op->acct.name, op->res);
    if (rc)
        return fail(op->res, rc, "cannot add user: %s", kith_strerror(rc));
    return KITH_OK;
}

int core_user_add(struct core *c, struct str name, struct str password, bool admin, char *generated,
                  size_t genlen, struct core_result *res)
{
    struct core_signup s = {.name = name, .password = password, .admin = admin};
    return core_user_create(c, &s, generated, genlen, res);
}

int core_user_create(struct core *c, struct core_signup *s, char *generated, size_t genlen,
                     struct core_result *res)
{
    char hash[HASH_MAX];
    int rc;
    struct str name = s->name, password = s->password;

    if ((rc = core_check_name(name, res)))
        return rc;
    if (s->email.len > 254 || (s->email.len && !memchr(s->email.ptr, '@', s->email.len)))
        return fail(res, KITH_EINVAL, "email is not an address");
    if (s->reason.len > 1000)
        return fail(res, KITH_EINVAL, "the reason is longer than 1000 bytes");
    if (password.len == 0) {
        if (!generated || genlen < 21)
            return fail(res, KITH_EINVAL, "no password given");
        if ((rc = core_random_password(generated, 21)))
            return fail(res, rc, "cannot generate a password");
        password = str_from(generated);
    } else if ((rc = check_password(password, res))) {
        return rc;
    }
    /* Hash and generate keys before entering the writer: both cost tens of milliseconds. */
    if ((rc = core_password_hash(password, hash, sizeof(hash))))
        return fail(res, rc, "cannot hash password");
    char *priv, *pub;
    if ((rc = core_keygen(&priv, &pub)))
        return fail(res, rc, "cannot generate a key pair");

    struct user_add op = {.res = res};
    op.acct.id = idgen_next(store_ids(c->st));
    op.acct.name = name;
    op.acct.display_name = name;
    op.acct.password_hash = str_from(hash);
    op.acct.role = s->admin ? ROLE_ADMIN : ROLE_USER;
    op.acct.state = s->pending ? ACCOUNT_PENDING : ACCOUNT_ACTIVE;
    op.acct.email = s->email;
    op.acct.reason = s->reason;
    op.acct.created_at = op.acct.updated_at = wall_seconds();
    op.acct.private_key = str_from(priv);
    op.acct.public_key = str_from(pub);
    rc = writer_run(c->w, apply_user_add, &op);
    free(priv);
    free(pub);
    s->id = op.acct.id;
    if (rc && !res->msg[0])
        fail(res, rc, "cannot add user '%.*s': %s", (int)name.len, name.ptr, kith_strerror(rc));
    return rc;
}

/* ---- changes to one existing user ---- */

enum user_change { CH_PASSWORD, CH_APPROVE, CH_REJECT, CH_SUSPEND, CH_UNSUSPEND, CH_ROLE };

struct user_op {
    enum user_change what;
    struct str name;
    struct str hash; /* CH_PASSWORD */
    uint8_t role;    /* CH_ROLE */
    struct core_result *res;
};

static int apply_user_op(struct kv_txn *txn, void *arg)
{
    struct user_op *op = arg;
    struct arena a = ARENA_INIT;
    struct account acct;
    int rc = account_get_local(txn, op->name, &a, &acct);

    if (rc == KITH_ENOTFOUND) {
        rc = fail(op->res, rc, "unknown user '%.*s'", (int)op->name.len, op->name.ptr);
        goto out;
    }
    if (rc) {
        rc = fail(op->res, rc, "cannot read user '%.*s': %s", (int)op->name.len, op->name.ptr,
                  kith_strerror(rc));
        goto out;
    }
    switch (op->what) {
    case CH_PASSWORD:
        acct.password_hash = op->hash;
        break;
    case CH_APPROVE:
    case CH_REJECT:
        if (acct.state != ACCOUNT_PENDING) {
            rc = fail(op->res, KITH_EINVAL, "user '%.*s' is not awaiting approval",
                      (int)acct.name.len, acct.name.ptr);
            goto out;
        }
        if (op->what == CH_REJECT) {
            rc = account_delete_local(txn, &acct);
            goto out;
        }
        acct.state = ACCOUNT_ACTIVE;
        break;
    case CH_SUSPEND:
        if (acct.state == ACCOUNT_SUSPENDED) {
            rc = fail(op->res, KITH_EINVAL, "user '%.*s' is already suspended", (int)acct.name.len,
                      acct.name.ptr);
            goto out;
        }
        acct.state = ACCOUNT_SUSPENDED;
        break;
    case CH_UNSUSPEND:
        if (acct.state != ACCOUNT_SUSPENDED) {
            rc = fail(op->res, KITH_EINVAL, "user '%.*s' is not suspended", (int)acct.name.len,
                      acct.name.ptr);
            goto out;
        }
        acct.state = ACCOUNT_ACTIVE;
        break;
    case CH_ROLE:
        acct.role = op->role;
        break;
    }
    acct.updated_at = wall_seconds();
    rc = account_update(txn, &acct);
out:
    arena_release(&a);
    return rc;
}

static int run_user_op(struct core *c, struct user_op *op)
{
    struct core_result *res = op->res;
    res->msg[0] = '\0';
    if (op->name.len == 0 || op->name.len > NAME_MAX_LEN)
        return fail(res, KITH_ENOTFOUND, "unknown user '%.*s'", (int)op->name.len, op->name.ptr);
    int rc = writer_run(c->w, apply_user_op, op);
    if (rc && !res->msg[0])
        fail(res, rc, "cannot change user '%.*s': %s", (int)op->name.len, op->name.ptr,
             kith_strerror(rc));
    return rc;
}

int core_user_password(struct core *c, struct str name, struct str password,
                       struct core_result *res)
{
    char hash[HASH_MAX];
    int rc = check_password(password, res);
    if (rc)
        return rc;
    if ((rc = core_password_hash(password, hash, sizeof(hash))))
        return fail(res, rc, "cannot hash password");
    struct user_op op = {.what = CH_PASSWORD, .name = name, .hash = str_from(hash), .res = res};
    return run_user_op(c, &op);
}

int core_user_approve(struct core *c, struct str name, struct core_result *res)
{
    struct user_op op = {.what = CH_APPROVE, .name = name, .res = res};
    return run_user_op(c, &op);
}

int core_user_reject(struct core *c, struct str name, struct core_result *res)
{
    struct user_op op = {.what = CH_REJECT, .name = name, .res = res};
    return run_user_op(c, &op);
}

int core_user_suspend(struct core *c, struct str name, bool suspend, struct core_result *res)
{
    struct user_op op = {.what = suspend ? CH_SUSPEND : CH_UNSUSPEND, .name = name, .res = res};
    return run_user_op(c, &op);
}

int core_user_role(struct core *c, struct str name, enum account_role role, struct core_result *res)
{
    struct user_op op = {.what = CH_ROLE, .name = name, .role = (uint8_t)role, .res = res};
    return run_user_op(c, &op);
}

/* ---- communities ---- */

struct community_add {
    struct community comm;
    struct str owner;
    struct core_result *res;
};

static int apply_community_add(struct kv_txn *txn, void *arg)
{
    struct community_add *op = arg;
    struct arena a = ARENA_INIT;
    struct account owner;
    int rc = account_get_local(txn, op->owner, &a, &owner);

    if (rc == KITH_ENOTFOUND) {
        rc = fail(op->res, rc, "unknown user '%.*s'", (int)op->owner.len, op->owner.ptr);
        goto out;
    }
    if (rc)
        goto out;
    if (owner.state != ACCOUNT_ACTIVE) {
        rc = fail(op->res, KITH_EINVAL, "user '%.*s' is not active", (int)owner.name.len,
                  owner.name.ptr);
        goto out;
    }
    op->comm.owner_id = owner.id;
    rc = community_insert_local(txn, &op->comm);
    if (rc == KITH_EEXIST) {
        rc = name_taken(txn, op->comm.name, op->res);
        goto out;
    }
    if (rc)
        goto out;
    struct membership m = {.community_id = op->comm.id,
                           .account_id = owner.id,
                           .role = MEMBER_OWNER,
                           .created_at = op->comm.created_at,
                           .updated_at = op->comm.created_at};
    rc = membership_put(txn, &m);
out:
    arena_release(&a);
    return rc;
}

int core_community_add(struct core *c, struct str name, struct str owner, struct str title,
                       struct core_result *res)
{
    int rc;
    res->msg[0] = '\0';
    if ((rc = core_check_name(name, res)))
        return rc;
    if (title.len > TITLE_MAX_LEN)
        return fail(res, KITH_EINVAL, "title is longer than %d characters", TITLE_MAX_LEN);
    for (size_t i = 0; i < title.len; i++)
        if ((unsigned char)title.ptr[i] < 0x20)
            return fail(res, KITH_EINVAL, "title contains a control character");
    if (owner.len == 0 || owner.len > NAME_MAX_LEN)
        return fail(res, KITH_ENOTFOUND, "unknown user '%.*s'", (int)owner.len, owner.ptr);

    char *priv, *pub;
    if ((rc = core_keygen(&priv, &pub)))
        return fail(res, rc, "cannot generate a key pair");
    struct community_add op = {.owner = owner, .res = res};
    op.comm.id = idgen_next(store_ids(c->st));
    op.comm.name = name;
    op.comm.title = title.len ? title : name;
    op.comm.created_at = op.comm.updated_at = wall_seconds();
    op.comm.private_key = str_from(priv);
    op.comm.public_key = str_from(pub);
    rc = writer_run(c->w, apply_community_add, &op);
    free(priv);
    free(pub);
    if (rc && !res->msg[0])
        fail(res, rc, "cannot add community '%.*s': %s", (int)name.len, name.ptr,
             kith_strerror(rc));
    return rc;
}

struct community_private {
    struct str name;
    bool on;
    struct core_result *res;
};

static int apply_community_private(struct kv_txn *txn, void *arg)
{
    struct community_private *op = arg;
    struct arena a = ARENA_INIT;
    struct community c;
    int rc = community_get_local(txn, op->name, &a, &c);
    if (rc == KITH_ENOTFOUND)
        fail(op->res, rc, "no community '%.*s'", (int)op->name.len, op->name.ptr);
    if (rc == KITH_OK) {
        c.join_mode = op->on ? JOIN_APPROVAL : JOIN_OPEN;
        c.updated_at = wall_seconds();
        rc = community_put(txn, &c);
    }
    arena_release(&a);
    return rc;
}

int core_community_private(struct core *c, struct str name, bool on, struct core_result *res)
{
    struct community_private op = {name, on, res};
    res->msg[0] = '\0';
    int rc = writer_run(c->w, apply_community_private, &op);
    if (rc && !res->msg[0])
        fail(res, rc, "cannot change community '%.*s': %s", (int)name.len, name.ptr,
             kith_strerror(rc));
    return rc;
}

/* ---- instance ---- */

int core_instance_init(struct core *c, char *password, size_t pwlen, struct core_result *res)
{
    return core_user_add(c, STR_LIT("admin"), STR_NULL, true, password, pwlen, res);
}
