/* src/api/routes.c: the Mastodon API's and OAuth's routes, as main.c
 * mounts them (api.h). */
#include "routes.h"
#include "api.h"

#define TABLE(r)                \
 {                              \
  r, sizeof(r) / sizeof((r)[0]) \
 }

const struct route_table api_tables[] = {
    TABLE(oauth_routes),        TABLE(account_routes),  TABLE(instance_routes),
    TABLE(status_routes),       TABLE(timeline_routes), TABLE(pref_routes),
    TABLE(list_routes),         TABLE(search_routes),   TABLE(notification_routes),
    TABLE(tag_routes),          TABLE(media_routes),    TABLE(profile_routes),
    TABLE(signup_routes),       TABLE(poll_routes),     TABLE(streaming_routes),
    TABLE(conversation_routes), TABLE(filter_routes),   TABLE(push_routes),
    TABLE(scheduled_routes),
};
const size_t api_ntables = sizeof(api_tables) / sizeof(api_tables[0]);
