/* src/api/accounts.c: /api/v1/accounts: who am I, and who is that. */
#include "api.h"
#include "auth.h"
#include "entities.h"

#include "../base/err.h"

#include <stdio.h>
#include <stdlib.h>

static int handle_verify_credentials(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth(ctx, NULL, true, &who))
        return HANDLER_DONE;
    /* read:accounts, or the profile scope (Mastodon 4.3), which allows this only. */
    if (!scope_allows(who.token.scopes, "read:accounts") &&
        !scope_allows(who.token.scopes, "profile"))
        return http_reply_error(ctx, 403, "This action is outside the authorized scopes"),
               HANDLER_DONE;
    http_reply_json(ctx, 200, api_account(ctx, who.txn, &who.acct, true));
    return HANDLER_DONE;
}

static int handle_account(struct http_ctx *ctx)
{
    struct api_who who;
    struct str id = route_param(&ctx->params, "id");
    char buf[24];
    if (!api_auth(ctx, "read:accounts", false, &who))
        return HANDLER_DONE;
    if (!id.len || id.len >= sizeof(buf))
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    for (size_t i = 0; i < id.len; i++)
        if (id.ptr[i] < '0' || id.ptr[i] > '9')
            return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    snprintf(buf, sizeof(buf), "%.*s", (int)id.len, id.ptr);
    uint64_t n = strtoull(buf, NULL, 10);
    struct account acct;
    struct community c;
    if (account_get(who.txn, n, &ctx->arena, &acct) == KITH_OK && acct.state != ACCOUNT_PENDING)
        return http_reply_json(ctx, 200, api_account(ctx, who.txn, &acct, false)), HANDLER_DONE;
    if (community_get(who.txn, n, &ctx->arena, &c) == KITH_OK)
        return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
    return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
}

const struct route account_routes[2] = {
    {"GET", "/api/v1/accounts/verify_credentials", handle_verify_credentials, 0},
    {"GET", "/api/v1/accounts/{id}", handle_account, 0},
};
