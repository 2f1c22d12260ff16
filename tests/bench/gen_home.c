/* tests/bench/gen_home.c: a database for the home timeline bench.
 *
 * usage: gen_home DATA_DIR POSTS COMMUNITIES
 * Makes a reader who is a member of COMMUNITIES communities, 20 authors
 * who post POSTS posts across them (through post_insert, as kithd stores
 * posts: indexes, the communities' boosts, the members' home timelines),
 * an app and a token for the reader (printed on standard output). kithd
 * must not be running on DATA_DIR. All accounts share one key pair: making
 * one per account would only cost time.
 */
#include "../../src/base/clock.h"
#include "../../src/base/config.h"
#include "../../src/base/err.h"
#include "../../src/base/id.h"
#include "../../src/core/core.h"
#include "../../src/core/oauth.h"
#include "../../src/core/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHORS 20

struct setup {
    struct core *core;
    int ncomm;
    const char *priv, *pub;
    uint64_t reader, authors[AUTHORS], *comms;
    char token[OAUTH_SECRET_LEN + 1];
};

static int apply_setup(struct kv_txn *txn, void *arg)
{
    struct setup *s = arg;
    int64_t now = wall_seconds();
    char name[32];
    int rc;
    for (int i = 0; i <= AUTHORS; i++) {
        snprintf(name, sizeof(name), i ? "author%d" : "reader", i);
        struct account a = {.id = idgen_next(store_ids(s->core->st)),
                            .name = str_from(name),
                            .display_name = str_from(name),
                            .state = ACCOUNT_ACTIVE,
                            .created_at = now,
                            .updated_at = now,
                            .private_key = str_from(s->priv),
                            .public_key = str_from(s->pub)};
        if ((rc = account_insert_local(txn, &a)))
            return rc;
        if (i)
            s->authors[i - 1] = a.id;
        else
            s->reader = a.id;
    }
    for (int i = 0; i < s->ncomm; i++) {
        snprintf(name, sizeof(name), "community%d", i);
        struct community c = {.id = idgen_next(store_ids(s->core->st)),
                              .name = str_from(name),
                              .title = str_from(name),
                              .owner_id = s->reader,
                              .created_at = now,
                              .updated_at = now,
                              .private_key = str_from(s->priv),
                              .public_key = str_from(s->pub)};
        if ((rc = community_insert_local(txn, &c)))
            return rc;
        s->comms[i] = c.id;
        struct membership m = {.community_id = c.id,
                               .account_id = s->reader,
                               .role = MEMBER_OWNER,
                               .created_at = now,
                               .updated_at = now};
        if ((rc = membership_put(txn, &m)))
            return rc;
        for (int j = 0; j < AUTHORS; j++) {
            m.account_id = s->authors[j];
            m.role = MEMBER_MEMBER;
            if ((rc = membership_put(txn, &m)))
                return rc;
        }
    }
    struct oauth_app app = {.name = STR_LIT("bench"),
                            .redirect_uris = STR_LIT("urn:ietf:wg:oauth:2.0:oob"),
                            .scopes = STR_LIT("read write"),
                            .created_at = now};
    char cid[OAUTH_SECRET_LEN + 1], secret[OAUTH_SECRET_LEN + 1];
    if ((rc = oauth_app_insert(txn, s->core, &app, cid, secret)))
        return rc;
    struct oauth_token t = {.app_id = app.id,
                            .account_id = s->reader,
                            .kind = TOKEN_ACCESS,
                            .scopes = STR_LIT("read write"),
                            .created_at = now};
    return oauth_token_insert(txn, &t, s->token);
}

struct batch {
    struct setup *s;
    long from, n;
};

static int apply_posts(struct kv_txn *txn, void *arg)
{
    struct batch *b = arg;
    struct setup *s = b->s;
    int64_t now = wall_seconds();
    char title[64], body[256];
    for (long i = b->from; i < b->from + b->n; i++) {
        snprintf(title, sizeof(title), "Post number %ld", i);
        snprintf(body, sizeof(body),
                 "<p>The body of post %ld: a few words, a <a href=\"https://example.org/%ld\">"
                 "link</a> and #tag%ld.</p>",
                 i, i, i % 100);
        struct post p = {.id = idgen_next(store_ids(s->core->st)),
                         .community_id = s->comms[i % s->ncomm],
                         .author_id = s->authors[i % AUTHORS],
                         .title = str_from(title),
                         .content = str_from(body),
                         .source_type = STR_LIT("text/markdown"),
                         .created_at = now,
                         .updated_at = now};
        int rc = post_insert(txn, s->core, &p);
        if (rc)
            return rc;
    }
    return KITH_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gen_home DATA_DIR POSTS COMMUNITIES\n");
        return 2;
    }
    long nposts = atol(argv[2]);
    int ncomm = atoi(argv[3]);
    struct kith_config cfg;
    struct store *st;
    struct writer *w;
    char err[512];
    char *priv, *pub;
    config_defaults(&cfg);
    if (store_open(argv[1], 8ull << 30, STORE_CREATE, clock_system(), &st, err, sizeof(err)) ||
        writer_start(st, &w) || core_keygen(&priv, &pub)) {
        fprintf(stderr, "gen_home: %s\n", err);
        return 1;
    }
    struct core core = {st, w, &cfg};
    struct setup s = {.core = &core, .ncomm = ncomm, .priv = priv, .pub = pub};
    s.comms = calloc((size_t)ncomm, sizeof(*s.comms));
    int rc = writer_run(w, apply_setup, &s);
    for (long from = 0; rc == KITH_OK && from < nposts; from += 2000) {
        struct batch b = {&s, from, nposts - from < 2000 ? nposts - from : 2000};
        rc = writer_run(w, apply_posts, &b);
    }
    writer_stop(w);
    store_close(st);
    free(priv);
    free(pub);
    free(s.comms);
    config_free(&cfg);
    if (rc) {
        fprintf(stderr, "gen_home: %s\n", kith_strerror(rc));
        return 1;
    }
    printf("%s\n", s.token);
    return 0;
}
