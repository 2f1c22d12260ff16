/* web/web.h: kith's server-rendered pages, as main.c mounts them.
 *
 * Layer: web (an edge: HTML over core). It may include
 * federation/federation.h only, never federation's internals or src/api.
 * So far: the OAuth sign-in and consent page (/oauth/authorize), where
 * Mastodon apps send their users to sign in.
 */
#ifndef KITH_WEB_WEB_H
#define KITH_WEB_WEB_H

#include "../src/http/router.h"

#include <stddef.h>

extern const struct route_table web_tables[];
extern const size_t web_ntables;

#endif
