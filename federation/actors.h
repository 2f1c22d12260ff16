/* federation/actors.h: federation's internal helpers for serving ActivityPub
 * documents (not for use outside federation/). */
#ifndef KITH_FEDERATION_ACTORS_H
#define KITH_FEDERATION_ACTORS_H

#include "../src/http/server.h"
#include "federation.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define AS_PUBLIC     "https://www.w3.org/ns/activitystreams#Public"
#define AP_MEDIA_TYPE "application/activity+json; charset=utf-8"

/* True when the client asked for ActivityPub JSON (application/activity+json,
 * or application/ld+json with the ActivityStreams profile). */
bool ap_wanted(struct http_ctx *ctx);
/* Sends root (consumed) as application/activity+json, adding @context first. */
void ap_reply(struct http_ctx *ctx, int status, cJSON *root);
/* The @context array kith puts on actors (ActivityStreams, security, and
 * the extension terms it uses). */
cJSON *ap_context(void);
/* RFC 3339 UTC time ("2026-11-26T18:00:00Z") in the arena. */
const char *ap_time(struct arena *a, int64_t t);

extern const struct route discovery_routes[4];

#endif
