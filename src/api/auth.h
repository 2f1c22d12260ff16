/* src/api/auth.h: who is calling: the bearer token, its scopes, its person.
 * Layer: api. */
#ifndef KITH_API_AUTH_H
#define KITH_API_AUTH_H

#include "../core/oauth.h"
#include "../http/server.h"

struct api_who {
    struct oauth_token token;
    struct account acct; /* when token.account_id */
    struct kv_txn *txn;  /* the request's read snapshot */
};

/* Checks "Authorization: Bearer" (or ?access_token=) against the scope the
 * route needs: its table's scope when it has one, else scope (NULL: any). On failure it replies as
 * Mastodon does and returns false: 401 no or a bad token, 403 a scope missing, 422 an app token
 * where a person is needed (need_user). */
bool api_auth(struct http_ctx *ctx, const char *scope, bool need_user, struct api_who *who);
/* The same with the token given (the streaming API also takes it from
 * Sec-WebSocket-Protocol). */
bool api_auth_token(struct http_ctx *ctx, struct str token, const char *scope, bool need_user,
                    struct api_who *who);
/* For public routes (profiles): no token is fine (who->token.account_id
 * is 0 then); a token sent is checked as api_auth does. */
bool api_auth_optional(struct http_ctx *ctx, const char *scope, struct api_who *who);

#endif
