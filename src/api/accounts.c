/* src/api/accounts.c: /api/v1/accounts: who am I, and who is that. */
#include "api.h"
#include "auth.h"
#include "entities.h"

#include "../base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!api_auth_optional(ctx, "read:accounts", &who)) /* profiles are public */
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

/* GET /api/v1/accounts/lookup?acct=NAME (or NAME@our-domain): a local
 * person or community. */
static int handle_lookup(struct http_ctx *ctx)
{
    struct api_who who;
    if (!api_auth_optional(ctx, NULL, &who)) /* profiles are public */
        return HANDLER_DONE;
    struct str acct = http_query(ctx, "acct");
    const struct kith_config *cfg = http_core(ctx)->cfg;
    if (acct.len && acct.ptr[0] == '@')
        acct = str_make(acct.ptr + 1, acct.len - 1);
    if (!acct.len || acct.len > 300)
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    const char *at = memchr(acct.ptr, '@', acct.len);
    struct str name = at ? str_make(acct.ptr, (size_t)(at - acct.ptr)) : acct;
    struct str domain = at ? str_make(at + 1, acct.len - name.len - 1) : STR_NULL;
    struct account a;
    struct community c;
    uint8_t kind;
    uint64_t id;
    if (!domain.len || str_eq_nocase(domain, str_from(cfg->domain))) {
        if (name_lookup(who.txn, name, &kind, &id) == KITH_OK) {
            if (kind == NAME_ACCOUNT && account_get(who.txn, id, &ctx->arena, &a) == KITH_OK &&
                a.state == ACCOUNT_ACTIVE)
                return http_reply_json(ctx, 200, api_account(ctx, who.txn, &a, false)),
                       HANDLER_DONE;
            if (kind == NAME_COMMUNITY && community_get(who.txn, id, &ctx->arena, &c) == KITH_OK)
                return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
        }
        return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
    }
    /* Remote people and communities kith holds (search with resolve=true
     * finds new ones; lookup never leaves the server, as Mastodon's). */
    if (remote_acct_lookup(who.txn, name, domain, &kind, &id) == KITH_OK) {
        if (kind == NAME_ACCOUNT && account_get(who.txn, id, &ctx->arena, &a) == KITH_OK)
            return http_reply_json(ctx, 200, api_account(ctx, who.txn, &a, false)), HANDLER_DONE;
        if (kind == NAME_COMMUNITY && community_get(who.txn, id, &ctx->arena, &c) == KITH_OK)
            return http_reply_json(ctx, 200, api_group(ctx, who.txn, &c)), HANDLER_DONE;
    }
    return http_reply_error(ctx, 404, "Record not found"), HANDLER_DONE;
}

const struct route account_routes[3] = {
    {"GET", "/api/v1/accounts/lookup", handle_lookup, 0},
    {"GET", "/api/v1/accounts/verify_credentials", handle_verify_credentials, 0},
    {"GET", "/api/v1/accounts/{id}", handle_account, 0},
};
