/* src/api/routes.h: each module's route table, gathered into api_tables
 * by routes.c (private to src/api). A module defines its table with [] and
 * includes this header: more entries than declared here is a compile
 * error, fewer leaves empty entries that kithd refuses at start. */
#ifndef KITH_API_ROUTES_H
#define KITH_API_ROUTES_H

#include "../http/router.h"

extern const struct route oauth_routes[5];        /* oauth.c */
extern const struct route account_routes[19];     /* accounts.c */
extern const struct route instance_routes[16];    /* instance.c */
extern const struct route list_routes[10];        /* lists.c */
extern const struct route notification_routes[4]; /* notifications.c */
extern const struct route pref_routes[3];         /* prefs.c */
extern const struct route search_routes[1];       /* search.c */
extern const struct route status_routes[21];      /* statuses.c */
extern const struct route timeline_routes[3];     /* timelines.c */
extern const struct route tag_routes[4];          /* tags.c */
extern const struct route media_routes[4];        /* media.c */
extern const struct route profile_routes[3];      /* profile.c */
extern const struct route signup_routes[1];       /* signup.c */
extern const struct route poll_routes[2];         /* polls.c */
extern const struct route streaming_routes[11];   /* streaming.c */
extern const struct route conversation_routes[3]; /* conversations.c */
extern const struct route filter_routes[19];      /* filters.c */
extern const struct route push_routes[4];         /* push.c */
extern const struct route scheduled_routes[4];    /* scheduled.c */

#endif
