/* src/core/core.h: the community model's entry points used by kithd and kithctl.
 *
 * Layer: core. Calls storage, knows nothing of HTTP or JSON. Every write is
 * an apply function run by storage's writer (one durable group commit);
 * the functions here submit it and wait, so they are called from threads
 * that may block (admin-socket workers, kithctl) and never from an event
 * loop. Each failing call returns a negative kith_err and writes a
 * one-line, lowercase message naming the subject into res->msg.
 * Thread: any; the struct core is shared read-only after core_init.
 */
#ifndef KITH_CORE_CORE_H
#define KITH_CORE_CORE_H

#include "../../storage/records.h"
#include "../../storage/store.h"
#include "../../storage/writer.h"
#include "../base/arena.h"
#include "../base/buf.h"
#include "../base/config.h"

#include <stdbool.h>

#define NAME_MAX_LEN     30
#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 256
#define TITLE_MAX_LEN    100

struct core {
    struct store *st;              /* borrowed */
    struct writer *w;              /* borrowed */
    const struct kith_config *cfg; /* borrowed */
};

struct core_result {
    char msg[256]; /* why the call failed, for the user */
};

/* Checks a local user or community name: 1-30 ASCII letters, digits or
 * underscores (Mastodon's local limit; the characters both Mastodon and
 * Lemmy accept), case-insensitively unique, not reserved. */
int core_check_name(struct str name, struct core_result *res);

/* ---- accounts ---- */

/* Creates a local user. password may be empty: then one is generated and
 * returned in generated (>= 32 bytes). */
int core_user_add(struct core *c, struct str name, struct str password, bool admin, char *generated,
                  size_t genlen, struct core_result *res);
int core_user_password(struct core *c, struct str name, struct str password,
                       struct core_result *res);
/* A sign-up (the API's POST /api/v1/accounts, the web page): a local user,
 * pending approval when pending; email and reason are kept for the admins.
 * Blocks (hashing, a key pair, the writer): call it off the loops. */
struct core_signup {
    struct str name, password, email, reason;
    bool admin, pending;
    uint64_t id; /* out: the new account's id */
};
int core_user_create(struct core *c, struct core_signup *s, char *generated, size_t genlen,
                     struct core_result *res);
/* pending -> active */
int core_user_approve(struct core *c, struct str name, struct core_result *res);
/* pending -> removed (the name becomes free again) */
int core_user_reject(struct core *c, struct str name, struct core_result *res);
int core_user_suspend(struct core *c, struct str name, bool suspend, struct core_result *res);
int core_user_role(struct core *c, struct str name, enum account_role role,
                   struct core_result *res);

/* ---- communities ---- */

int core_community_add(struct core *c, struct str name, struct str owner, struct str title,
                       struct core_result *res);
/* Private (on): follows wait for a moderator's approval, content goes to
 * followers only. Public (off): follows are accepted at once. */
int core_community_private(struct core *c, struct str name, bool on, struct core_result *res);

/* ---- instance ---- */

/* First start: creates the admin account "admin" with a generated password
 * (written to password, >= 32 bytes). */
int core_instance_init(struct core *c, char *password, size_t pwlen, struct core_result *res);

/* Generates an RSA-2048 key pair as PEM (PKCS#8 private, SubjectPublicKeyInfo
 * public). Owned: the caller frees both with free(). Costs ~50-200 ms. */
int core_keygen(char **priv_pem, char **pub_pem);
/* Gives the instance actor, and every local user and community created
 * without one, a key pair; *generated counts them. Blocks on the writer. */
int core_ensure_keys(struct core *c, unsigned *generated);

/* Generates a random password of len-1 characters from [A-Za-z0-9]. */
int core_random_password(char *out, size_t len);
/* argon2id hash in PHC string format. */
int core_password_hash(struct str password, char *out, size_t outlen);
/* KITH_OK when password matches the encoded hash, KITH_EDENIED otherwise. */
int core_password_verify(struct str password, struct str encoded);
/* A sign-in's check: KITH_OK when password matches encoded. An empty
 * encoded (no such account) is checked against a dummy hash with the same
 * cost, then refused, so the answer takes as long either way. Slow
 * (argon2id): never on an event loop. */
int core_password_check(struct str password, struct str encoded);

#endif
