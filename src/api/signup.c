/* src/api/signup.c: POST /api/v1/accounts: signing up from an app, as
 * the config's registrations say: open (the account is active at once),
 * approval (it waits for `kithctl user approve`; the reason is kept for
 * the admins) or closed. The account is made by core_user_create on a
 * worker thread (a password hash and a key pair cost tens of
 * milliseconds), then an access token for the calling app is issued, as
 * Mastodon does. Sign-ups are throttled per client address. */
#include "../http/params.h"
#include "api.h"
#include "auth.h"
#include "entities.h"
#include "routes.h"

#include "../base/clock.h"
#include "../base/err.h"
#include "../core/oauth.h"

#include <stdio.h>
#include <string.h>

struct signup {
    struct core *core;
    struct core_signup s;
    struct core_result res;
    int rc;
    struct oauth_token t;
    char value[OAUTH_SECRET_LEN + 1];
};

static int create(void *arg)
{
    struct signup *u = arg;
    u->rc = core_user_create(u->core, &u->s, NULL, 0, &u->res);
    return u->rc;
}

static int apply_token(struct kv_txn *txn, void *arg)
{
    struct signup *u = arg;
    u->t.account_id = u->s.id;
    return oauth_token_insert(txn, &u->t, u->value);
}

static void token_issued(struct http_ctx *ctx, int rc, void *arg)
{
    struct signup *u = arg;
    if (rc)
        return http_reply_error(ctx, 500, "the account was made, but no token: %s",
                                kith_strerror(rc));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", u->value);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    cJSON_AddStringToObject(o, "scope", arena_str(&ctx->arena, u->t.scopes).ptr);
    cJSON_AddNumberToObject(o, "created_at", (double)u->t.created_at);
    http_add_header(ctx, "Cache-Control", "no-store");
    http_reply_json(ctx, 200, o);
}

/* Mastodon's AccountCreationError: the error, and details per field. */
static void creation_error(struct http_ctx *ctx, const char *field, const char *code,
                           const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", arena_printf(&ctx->arena, "Validation failed: %s", text));
    cJSON *details = cJSON_AddObjectToObject(o, "details");
    cJSON *list = cJSON_AddArrayToObject(details, field);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", code);
    cJSON_AddStringToObject(e, "description", text);
    cJSON_AddItemToArray(list, e);
    http_reply_json(ctx, 422, o);
}

static void created(struct http_ctx *ctx, int rc, void *arg)
{
    struct signup *u = arg;
    if (rc == KITH_EEXIST)
        return creation_error(ctx, "username", "ERR_TAKEN", u->res.msg);
    if (rc == KITH_EINVAL) {
        const char *m = u->res.msg;
        const char *field = strstr(m, "password") ? "password"
                            : strstr(m, "email")  ? "email"
                            : strstr(m, "reason") ? "reason"
                                                  : "username";
        return creation_error(ctx, field, "ERR_INVALID", m);
    }
    if (rc)
        return http_reply_error(ctx, 500, "%s", u->res.msg[0] ? u->res.msg : kith_strerror(rc));
    if (http_write(ctx, apply_token, u, token_issued, u))
        http_reply_error(ctx, 503, "the server is stopping");
}

static int handle_signup(struct http_ctx *ctx)
{
    struct api_who who;
    struct api_params p;
    const struct kith_config *cfg = http_core(ctx)->cfg;
    if (!api_auth(ctx, "write:accounts", false, &who))
        return HANDLER_DONE;
    if (cfg->registrations == REG_CLOSED)
        return http_reply_error(ctx, 403, "Registrations are closed on this server"), HANDLER_DONE;
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct str name = str_trim(api_param(&p, "username"));
    struct str agreement = api_param(&p, "agreement");
    struct str reason = str_trim(api_param(&p, "reason"));
    if (!str_eq(agreement, STR_LIT("true")) && !str_eq(agreement, STR_LIT("1")))
        return creation_error(ctx, "agreement", "ERR_ACCEPTED",
                              "the server's rules must be accepted (agreement=true)"),
               HANDLER_DONE;
    if (cfg->registrations == REG_APPROVAL && !reason.len)
        return creation_error(ctx, "reason", "ERR_BLANK",
                              "this server approves sign-ups: say why you want to join (reason)"),
               HANDLER_DONE;
    unsigned wait = http_signin_throttle(ctx, name);
    if (wait) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%u", wait);
        http_add_header(ctx, "Retry-After", secs);
        return http_reply_error(ctx, 429, "Too many sign-ups from here: try again in %u s", wait),
               HANDLER_DONE;
    }
    struct signup *u = arena_zalloc(&ctx->arena, sizeof(*u));
    u->core = http_core(ctx);
    u->s = (struct core_signup){.name = arena_str(&ctx->arena, name),
                                .password = api_param(&p, "password"),
                                .email = arena_str(&ctx->arena, str_trim(api_param(&p, "email"))),
                                .reason = arena_str(&ctx->arena, reason),
                                .pending = cfg->registrations == REG_APPROVAL};
    u->t = (struct oauth_token){.app_id = who.token.app_id,
                                .kind = TOKEN_ACCESS,
                                .scopes = who.token.scopes,
                                .created_at = wall_seconds()};
    if (http_offload(ctx, create, u, created, u))
        return http_reply_error(ctx, 503, "the server is stopping"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route signup_routes[] = {
    {"POST", "/api/v1/accounts", handle_signup, 0, "write:accounts"},
};
