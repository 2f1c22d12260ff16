/* federation/actors.h: federation's internal helpers for serving ActivityPub
 * documents (not for use outside federation/). */
#ifndef KITH_FEDERATION_ACTORS_H
#define KITH_FEDERATION_ACTORS_H

#include "../src/http/server.h"
#include "federation.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdbool.h>

#define AS_PUBLIC     "https://www.w3.org/ns/activitystreams#Public"
#define AP_MEDIA_TYPE "application/activity+json; charset=utf-8"

/* True when the client asked for ActivityPub JSON (application/activity+json,
 * or application/ld+json with the ActivityStreams profile). */
bool ap_wanted(struct http_ctx *ctx);
/* Sends root (consumed) as application/activity+json, adding @context first. */
void ap_reply(struct http_ctx *ctx, int status, cJSON *root);
/* A local person's actor document (without @context; ap_reply adds it). */
struct core;
struct account;
cJSON *person_json(struct core *core, struct arena *a, const struct account *acct);
/* The @context array kith puts on actors (ActivityStreams, security, and
 * the extension terms it uses). */
cJSON *ap_context(void);
/* RFC 3339 UTC time ("2026-11-26T18:00:00Z") in the arena. */
const char *ap_time(struct arena *a, int64_t t);

extern const struct route discovery_routes[4];
extern const struct route object_routes[3]; /* objects.c */

struct account;
struct community;
/* Reads a fetched actor document into an account or a community (inbox.c). */
int remote_actor_read(cJSON *doc, const char *fetched_url, struct core *core, struct arena *a,
                      bool *is_group, struct account *acct, struct community *comm, char *why,
                      size_t whylen);

/* Federation's shared state (federation.h keeps it opaque). */
struct keycache;
struct processor;
struct deliverer;
struct federation {
    struct core *core;
    const struct kith_config *cfg;
    struct keycache *keys;
    EVP_PKEY *instance_key; /* signs key fetches (authorized-fetch servers answer them) */
    char instance_key_id[600];
    struct processor *processor;
    struct deliverer *deliverer;
};

/* The actor URL of a WebFinger answer: its rel=self link of an ActivityPub
 * type, in a; NULL when it has none. */
const char *webfinger_self(cJSON *doc, struct arena *a);

/* The fetcher of ctx's loop thread (made on first use); NULL if it cannot
 * be made (logged). */
struct http_ctx;
struct fetcher;
struct fetcher *federation_loop_fetcher(struct http_ctx *ctx, struct federation *f);

/* A fetch_sign_fn that signs as the instance actor (arg: struct federation). */
int federation_sign_instance(void *arg, const char *method, const char *host, const char *target,
                             const char *date, struct str digest, struct buf *out);

#endif
