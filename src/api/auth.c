/* src/api/auth.c: bearer tokens and scopes (see auth.h). */
#include "auth.h"

#include "../base/err.h"

#include <string.h>
#include <strings.h>

bool api_auth(struct http_ctx *ctx, const char *scope, bool need_user, struct api_who *who)
{
    struct str h = http_header(ctx, "Authorization"), tok = STR_NULL;
    if (h.len > 7 && strncasecmp(h.ptr, "Bearer ", 7) == 0)
        tok = str_trim(str_make(h.ptr + 7, h.len - 7));
    else if (!h.len)
        tok = http_query(ctx, "access_token");
    return api_auth_token(ctx, tok, scope, need_user, who);
}

bool api_auth_token(struct http_ctx *ctx, struct str tok, const char *scope, bool need_user,
                    struct api_who *who)
{
    if (ctx->route && ctx->route->scope)
        scope = ctx->route->scope; /* the route table says (tested route by route) */
    if (http_read_txn(ctx, &who->txn)) {
        http_reply_error(ctx, 503, "database unavailable");
        return false;
    }
    if (!tok.len || oauth_token_get(who->txn, tok, &ctx->arena, &who->token) ||
        who->token.kind != TOKEN_ACCESS) {
        http_add_header(ctx, "WWW-Authenticate", "Bearer realm=\"kith\", error=\"invalid_token\"");
        http_reply_error(ctx, 401, "The access token is invalid");
        return false;
    }
    if (who->token.account_id) {
        if (account_get(who->txn, who->token.account_id, &ctx->arena, &who->acct) ||
            who->acct.state != ACCOUNT_ACTIVE) {
            http_reply_error(ctx, 401, "Your login is currently disabled");
            return false;
        }
    } else if (need_user) {
        http_reply_error(ctx, 422, "This method requires an authenticated user");
        return false;
    }
    if (scope && !scope_allows(who->token.scopes, scope)) {
        http_reply_error(ctx, 403, "This action is outside the authorized scopes");
        return false;
    }
    return true;
}

bool api_auth_optional(struct http_ctx *ctx, const char *scope, struct api_who *who)
{
    if (http_header(ctx, "Authorization").len || http_query(ctx, "access_token").len)
        return api_auth(ctx, scope, false, who);
    memset(who, 0, sizeof(*who));
    if (http_read_txn(ctx, &who->txn)) {
        http_reply_error(ctx, 503, "database unavailable");
        return false;
    }
    return true;
}
