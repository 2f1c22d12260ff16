/* src/api/api.h: the Mastodon client API and OAuth 2, as main.c mounts them.
 *
 * Layer: api (an edge: HTTP and JSON over core). It may include
 * federation/federation.h only, never federation's internals or web/.
 */
#ifndef KITH_API_API_H
#define KITH_API_API_H

#include "../http/router.h"

#include <stddef.h>

extern const struct route_table api_tables[];
extern const size_t api_ntables;

#endif
