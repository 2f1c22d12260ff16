/* src/api/oauth.c: OAuth 2 for Mastodon clients: app registration, the
 * token endpoint, revocation and the server's metadata. */
#include "../http/params.h"
#include "api.h"
#include "routes.h"

#include "../base/err.h"
#include "../core/oauth.h"
#include "../core/webpush.h"
#include "../http/server.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OOB_URI "urn:ietf:wg:oauth:2.0:oob"

/* RFC 6749 error: {"error": code, "error_description": text}. */
static int oauth_error(struct http_ctx *ctx, int status, const char *code, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "error_description", text);
    if (status == 401)
        http_add_header(ctx, "WWW-Authenticate", "Basic realm=\"kith\"");
    http_reply_json(ctx, status, o);
    return HANDLER_DONE;
}

/* A separated list (scopes by ' ', redirect URIs by '\n') as a JSON array. */
static cJSON *list_array(struct arena *a, struct str list, char sep)
{
    cJSON *arr = cJSON_CreateArray();
    const char *p = list.ptr, *end = p + list.len;
    while (p < end) {
        const char *s = memchr(p, sep, (size_t)(end - p));
        const char *e = s ? s : end;
        if (e > p)
            cJSON_AddItemToArray(arr, cJSON_CreateString(arena_strndup(a, p, (size_t)(e - p))));
        p = s ? s + 1 : end;
    }
    return arr;
}

static const char *vapid_key(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    struct str v;
    if (http_read_txn(ctx, &txn) || kv_get(txn, T_META, STR_LIT("vapid_public_key"), &v))
        return "";
    return arena_strndup(&ctx->arena, v.ptr, v.len);
}

/* The Application entity; with_secret adds the client's credentials. */
static cJSON *app_json(struct http_ctx *ctx, const struct oauth_app *app, const char *secret)
{
    struct arena *a = &ctx->arena;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", arena_printf(a, "%llu", (unsigned long long)app->id));
    cJSON_AddStringToObject(o, "name", arena_str(a, app->name).ptr);
    if (app->website.len)
        cJSON_AddStringToObject(o, "website", arena_str(a, app->website).ptr);
    else
        cJSON_AddNullToObject(o, "website");
    cJSON_AddItemToObject(o, "scopes", list_array(a, app->scopes, ' '));
    cJSON_AddStringToObject(o, "redirect_uri", arena_str(a, app->redirect_uris).ptr);
    cJSON_AddItemToObject(o, "redirect_uris", list_array(a, app->redirect_uris, '\n'));
    if (secret) {
        cJSON_AddStringToObject(o, "client_id", arena_str(a, app->client_id).ptr);
        cJSON_AddStringToObject(o, "client_secret", secret);
        cJSON_AddNumberToObject(o, "client_secret_expires_at", 0);
    }
    cJSON_AddStringToObject(o, "vapid_key", vapid_key(ctx));
    return o;
}

/* ---- POST /api/v1/apps ---- */

struct app_req {
    struct oauth_app app;
    char client_id[OAUTH_SECRET_LEN + 1], secret[OAUTH_SECRET_LEN + 1];
    struct core *core;
};

static int apply_app(struct kv_txn *txn, void *arg)
{
    struct app_req *r = arg;
    return oauth_app_insert(txn, r->core, &r->app, r->client_id, r->secret);
}

static void app_stored(struct http_ctx *ctx, int rc, void *arg)
{
    struct app_req *r = arg;
    if (rc) {
        http_reply_error(ctx, 503, "cannot register the application now: %s", kith_strerror(rc));
        return;
    }
    r->app.client_id = str_from(r->client_id);
    http_reply_json(ctx, 200, app_json(ctx, &r->app, r->secret));
}

/* An acceptable redirect URI: the out-of-band one, or an absolute URI with
 * a scheme (custom schemes and scheme:/path included), without a fragment. */
static bool redirect_uri_ok(struct str u)
{
    if (str_eq_cstr(u, OOB_URI))
        return true;
    if (u.len < 3 || u.len > 2000 || memchr(u.ptr, '#', u.len))
        return false;
    size_t i = 0;
    if (!((u.ptr[0] | 32) >= 'a' && (u.ptr[0] | 32) <= 'z'))
        return false;
    while (i < u.len && u.ptr[i] != ':') {
        char c = u.ptr[i];
        if (!((c | 32) >= 'a' && (c | 32) <= 'z') && !(c >= '0' && c <= '9') && c != '+' &&
            c != '-' && c != '.')
            return false;
        i++;
    }
    if (i == u.len || i + 1 == u.len)
        return false; /* no scheme, or nothing after it */
    for (size_t j = 0; j < u.len; j++)
        if ((unsigned char)u.ptr[j] <= 0x20 || u.ptr[j] == 0x7f)
            return false;
    return true;
}

static int handle_apps(struct http_ctx *ctx)
{
    struct api_params p;
    struct core_result res = {{0}};
    if (api_params_read(ctx, &p))
        return http_reply_error(ctx, 400, "the request body does not parse"), HANDLER_DONE;
    struct app_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->core = http_core(ctx);
    struct str name = api_param(&p, "client_name");
    if (!name.len || name.len > 255)
        return http_reply_error(ctx, 422, "client_name is required (at most 255 bytes)"),
               HANDLER_DONE;
    struct str website = api_param(&p, "website");
    if (website.len > 2000)
        return http_reply_error(ctx, 422, "website is longer than 2000 bytes"), HANDLER_DONE;
    /* redirect_uris: a string (one, or several on lines) or an array. */
    struct buf uris;
    buf_init(&uris, 16 << 10);
    struct str u;
    for (size_t i = 0; (u = api_param_at(&p, "redirect_uris", i)).ptr; i++) {
        const char *q = u.ptr, *end = u.ptr + u.len;
        while (q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            struct str one = str_trim(str_make(q, (size_t)((nl ? nl : end) - q)));
            q = nl ? nl + 1 : end;
            if (!one.len)
                continue;
            if (!redirect_uri_ok(one)) {
                buf_free(&uris);
                return http_reply_error(ctx, 422, "redirect_uris: '%.*s' is not an absolute URI",
                                        (int)(one.len > 200 ? 200 : one.len), one.ptr),
                       HANDLER_DONE;
            }
            if (uris.len)
                buf_add_byte(&uris, '\n');
            if (buf_add_str(&uris, one)) {
                buf_free(&uris);
                return http_reply_error(ctx, 422, "redirect_uris: too many or too long"),
                       HANDLER_DONE;
            }
        }
    }
    if (!uris.len) {
        buf_free(&uris);
        return http_reply_error(ctx, 422, "redirect_uris is required"), HANDLER_DONE;
    }
    r->app.redirect_uris = arena_str(&ctx->arena, buf_str(&uris));
    buf_free(&uris);
    if (scopes_parse(api_param(&p, "scopes"), &ctx->arena, &r->app.scopes, &res))
        return http_reply_error(ctx, 422, "scopes: %s", res.msg), HANDLER_DONE;
    r->app.name = name;
    r->app.website = website;
    if (http_write(ctx, apply_app, r, app_stored, r))
        return http_reply_error(ctx, 503, "shutting down"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* ---- bearer tokens ---- */

/* The token of "Authorization: Bearer X" (or access_token in the query). */
static struct str bearer(struct http_ctx *ctx)
{
    struct str h = http_header(ctx, "Authorization");
    if (h.len > 7 && strncasecmp(h.ptr, "Bearer ", 7) == 0)
        return str_trim(str_make(h.ptr + 7, h.len - 7));
    return http_query(ctx, "access_token");
}

static int handle_app_verify(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    struct oauth_token t;
    struct oauth_app app;
    struct str tok = bearer(ctx);
    if (!tok.len)
        return http_reply_error(ctx, 401, "The access token is invalid"), HANDLER_DONE;
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    struct key8 k;
    if (oauth_token_get(txn, tok, &ctx->arena, &t) || t.kind != TOKEN_ACCESS ||
        (k = key_id(t.app_id),
         rec_get(txn, T_OAUTH_APPS, KEY8(k), &oauth_app_desc, &ctx->arena, &app)))
        return http_reply_error(ctx, 401, "The access token is invalid"), HANDLER_DONE;
    cJSON *o = app_json(ctx, &app, NULL);
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

/* ---- POST /oauth/token ---- */

struct token_req {
    struct oauth_token t;
    char value[OAUTH_SECRET_LEN + 1];
    struct str code; /* authorization_code: the code to spend */
    bool code_spent;
};

static int apply_token(struct kv_txn *txn, void *arg)
{
    struct token_req *r = arg;
    if (r->code.len) { /* single use: gone once exchanged */
        struct arena a = ARENA_INIT;
        struct oauth_token code;
        int rc = oauth_token_get(txn, r->code, &a, &code);
        arena_release(&a);
        if (rc == KITH_ENOTFOUND) {
            r->code_spent = true;
            return KITH_EINVAL;
        }
        if (rc || (rc = oauth_token_revoke(txn, r->code)))
            return rc;
    }
    return oauth_token_insert(txn, &r->t, r->value);
}

static void token_stored(struct http_ctx *ctx, int rc, void *arg)
{
    struct token_req *r = arg;
    if (rc && r->code_spent) {
        oauth_error(ctx, 400, "invalid_grant", "The authorization code was already used");
        return;
    }
    if (rc) {
        http_reply_error(ctx, 503, "cannot issue a token now: %s", kith_strerror(rc));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", r->value);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    cJSON_AddStringToObject(o, "scope", arena_str(&ctx->arena, r->t.scopes).ptr);
    cJSON_AddNumberToObject(o, "created_at", (double)r->t.created_at);
    http_add_header(ctx, "Cache-Control", "no-store");
    http_reply_json(ctx, 200, o);
}

/* Standard base64 (HTTP Basic's credentials) into out; KITH_EINVAL when
 * it does not decode or does not fit. */
static int base64_decode(struct str in, char *out, size_t cap, size_t *n)
{
    if (in.len == 0 || in.len % 4 || in.len / 4 * 3 > cap)
        return KITH_EINVAL;
    int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in.ptr, (int)in.len);
    if (len < 0)
        return KITH_EINVAL;
    if (in.ptr[in.len - 1] == '=')
        len--;
    if (in.ptr[in.len - 2] == '=')
        len--;
    *n = (size_t)len;
    return KITH_OK;
}

/* RFC 7636 S256: base64url(SHA-256(verifier)), unpadded, into out (>= 44). */
static void pkce_s256(struct str verifier, char out[44])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct buf b;
    SHA256((const unsigned char *)verifier.ptr, verifier.len, md);
    buf_init(&b, 64);
    buf_add_base64url(&b, md, sizeof(md));
    snprintf(out, 44, "%.*s", (int)b.len, b.data);
    buf_free(&b);
}

/* The client, from the body or HTTP Basic; false after replying 401. */
static bool client_auth(struct http_ctx *ctx, const struct api_params *p, struct kv_txn *txn,
                        struct oauth_app *app)
{
    struct str id = api_param(p, "client_id"), secret = api_param(p, "client_secret");
    struct str h = http_header(ctx, "Authorization");
    char basic[600];
    if (h.len > 6 && strncasecmp(h.ptr, "Basic ", 6) == 0) {
        size_t n = 0;
        if (base64_decode(str_trim(str_make(h.ptr + 6, h.len - 6)), basic, sizeof(basic) - 1, &n) ==
            KITH_OK) {
            basic[n] = 0;
            char *colon = strchr(basic, ':');
            if (colon) {
                id = str_make(basic, (size_t)(colon - basic));
                secret = str_from(colon + 1);
            }
        }
    }
    if (!id.len || oauth_app_by_client_id(txn, id, &ctx->arena, app) ||
        !oauth_app_secret_ok(app, secret)) {
        oauth_error(ctx, 401, "invalid_client",
                    "Client authentication failed due to unknown client, no client "
                    "authentication included, or unsupported authentication method.");
        return false;
    }
    return true;
}

/* ---- the password grant (command-line clients) ---- */

struct password_check {
    struct str password, hash;
    bool exists, active;
    struct token_req *r;
};

static int check_password(void *arg) /* on a worker thread */
{
    struct password_check *c = arg;
    return core_password_check(c->password, c->hash);
}

static void password_checked(struct http_ctx *ctx, int rc, void *arg)
{
    struct password_check *c = arg;
    if (rc) {
        oauth_error(ctx, 400, "invalid_grant",
                    "The provided authorization grant is invalid, expired, revoked, does not "
                    "match the redirection URI used in the authorization request, or was issued "
                    "to another client.");
        return;
    }
    if (!c->active) {
        oauth_error(ctx, 403, "access_denied", "This account is pending approval or suspended.");
        return;
    }
    if (http_write(ctx, apply_token, c->r, token_stored, c->r))
        http_reply_error(ctx, 503, "shutting down");
}

static int password_grant(struct http_ctx *ctx, const struct api_params *p, struct kv_txn *txn,
                          const struct oauth_app *app, struct token_req *r)
{
    struct core_result res = {{0}};
    struct str user = api_param(p, "username"), password = api_param(p, "password");
    struct str want = api_param(p, "scope");
    if (!want.len)
        want = api_param(p, "scopes");
    if (!user.len || !password.len)
        return oauth_error(ctx, 400, "invalid_request", "username and password are required.");
    if (scopes_parse(want, &ctx->arena, &r->t.scopes, &res) ||
        !scopes_subset(r->t.scopes, app->scopes))
        return oauth_error(ctx, 400, "invalid_scope",
                           "The requested scope is invalid, unknown, or malformed.");
    unsigned wait = http_signin_throttle(ctx, user);
    if (wait) {
        char after[16];
        snprintf(after, sizeof(after), "%u", wait);
        http_add_header(ctx, "Retry-After", after);
        return http_reply_error(ctx, 429, "Too many sign-in attempts: try again in %u s", wait),
               HANDLER_DONE;
    }
    struct password_check *c = arena_zalloc(&ctx->arena, sizeof(*c));
    struct account acct;
    c->password = password;
    c->r = r;
    c->exists =
        account_get_local(txn, user, &ctx->arena, &acct) == KITH_OK && acct.password_hash.len > 0;
    c->hash = c->exists ? acct.password_hash : STR_NULL;
    c->active = c->exists && acct.state == ACCOUNT_ACTIVE;
    r->t.account_id = c->exists ? acct.id : 0;
    if (http_offload(ctx, check_password, c, password_checked, c))
        return http_reply_error(ctx, 503, "shutting down"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static int handle_token(struct http_ctx *ctx)
{
    struct api_params p;
    struct kv_txn *txn;
    struct oauth_app app;
    struct core_result res = {{0}};
    if (api_params_read(ctx, &p))
        return oauth_error(ctx, 400, "invalid_request", "The request body does not parse.");
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    if (!client_auth(ctx, &p, txn, &app))
        return HANDLER_DONE;
    struct str grant = api_param(&p, "grant_type");
    struct token_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->t.app_id = app.id;
    r->t.kind = TOKEN_ACCESS;
    r->t.created_at = wall_seconds();
    if (str_eq_cstr(grant, "client_credentials")) {
        struct str want = api_param(&p, "scope");
        if (!want.len)
            want = api_param(&p, "scopes");
        if (scopes_parse(want, &ctx->arena, &r->t.scopes, &res) ||
            !scopes_subset(r->t.scopes, app.scopes))
            return oauth_error(ctx, 400, "invalid_scope",
                               "The requested scope is invalid, unknown, or malformed.");
    } else if (str_eq_cstr(grant, "authorization_code")) {
        struct oauth_token code;
        struct str value = api_param(&p, "code");
        if (oauth_token_get(txn, value, &ctx->arena, &code) || code.kind != TOKEN_AUTH_CODE ||
            code.app_id != app.id)
            return oauth_error(ctx, 400, "invalid_grant",
                               "The provided authorization grant is invalid, expired, revoked, "
                               "or was issued to another client.");
        if (!str_eq(api_param(&p, "redirect_uri"), code.redirect_uri))
            return oauth_error(ctx, 400, "invalid_grant",
                               "The redirect URI does not match the one the code was issued for.");
        if (code.code_challenge.len) { /* PKCE, S256 (RFC 7636) */
            struct str verifier = api_param(&p, "code_verifier");
            char challenge[44];
            if (verifier.len >= 43 && verifier.len <= 128)
                pkce_s256(verifier, challenge);
            if (verifier.len < 43 || verifier.len > 128 ||
                !str_eq(str_from(challenge), code.code_challenge))
                return oauth_error(ctx, 400, "invalid_grant",
                                   "The code verifier does not match the code challenge.");
        }
        r->t.account_id = code.account_id;
        r->t.scopes = code.scopes;
        r->code = value;
    } else if (str_eq_cstr(grant, "password")) {
        return password_grant(ctx, &p, txn, &app, r);
    } else {
        return oauth_error(ctx, 400, "unsupported_grant_type",
                           "The authorization grant type is not supported by the authorization "
                           "server.");
    }
    if (http_write(ctx, apply_token, r, token_stored, r))
        return http_reply_error(ctx, 503, "shutting down"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* ---- POST /oauth/revoke ---- */

struct revoke_req {
    struct str token;
};

static int apply_revoke(struct kv_txn *txn, void *arg)
{
    struct revoke_req *r = arg;
    int rc = oauth_token_revoke(txn, r->token);
    return rc ? rc : push_sub_forget_token(txn, r->token); /* signed out: no more pushes */
}

static void revoked(struct http_ctx *ctx, int rc, void *arg)
{
    (void)arg;
    if (rc) {
        http_reply_error(ctx, 503, "cannot revoke now: %s", kith_strerror(rc));
        return;
    }
    http_reply_json(ctx, 200, cJSON_CreateObject());
}

static int handle_revoke(struct http_ctx *ctx)
{
    struct api_params p;
    struct kv_txn *txn;
    struct oauth_app app;
    struct oauth_token t;
    if (api_params_read(ctx, &p))
        return oauth_error(ctx, 400, "invalid_request", "The request body does not parse.");
    if (http_read_txn(ctx, &txn))
        return http_reply_error(ctx, 503, "database unavailable"), HANDLER_DONE;
    if (!client_auth(ctx, &p, txn, &app))
        return HANDLER_DONE;
    struct revoke_req *r = arena_zalloc(&ctx->arena, sizeof(*r));
    r->token = api_param(&p, "token");
    int rc = oauth_token_get(txn, r->token, &ctx->arena, &t);
    if (rc == KITH_OK && t.app_id != app.id)
        return oauth_error(ctx, 403, "unauthorized_client",
                           "You are not authorized to revoke this token.");
    if (rc) /* unknown or already revoked: RFC 7009 answers 200 all the same */
        return http_reply_json(ctx, 200, cJSON_CreateObject()), HANDLER_DONE;
    if (http_write(ctx, apply_revoke, r, revoked, r))
        return http_reply_error(ctx, 503, "shutting down"), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* ---- GET /.well-known/oauth-authorization-server (RFC 8414) ---- */

static int handle_metadata(struct http_ctx *ctx)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "issuer", http_url(ctx, "/"));
    cJSON_AddStringToObject(o, "authorization_endpoint", http_url(ctx, "/oauth/authorize"));
    cJSON_AddStringToObject(o, "token_endpoint", http_url(ctx, "/oauth/token"));
    cJSON_AddStringToObject(o, "revocation_endpoint", http_url(ctx, "/oauth/revoke"));
    cJSON_AddStringToObject(o, "app_registration_endpoint", http_url(ctx, "/api/v1/apps"));
    cJSON_AddStringToObject(o, "service_documentation", "https://docs.joinmastodon.org/");
    static const char *const scopes[] = {"read", "write", "follow", "push", "profile"};
    cJSON_AddItemToObject(o, "scopes_supported", cJSON_CreateStringArray(scopes, 5));
    static const char *const rtypes[] = {"code"};
    cJSON_AddItemToObject(o, "response_types_supported", cJSON_CreateStringArray(rtypes, 1));
    static const char *const modes[] = {"query", "fragment", "form_post"};
    cJSON_AddItemToObject(o, "response_modes_supported", cJSON_CreateStringArray(modes, 3));
    static const char *const methods[] = {"S256"};
    cJSON_AddItemToObject(o, "code_challenge_methods_supported",
                          cJSON_CreateStringArray(methods, 1));
    static const char *const grants[] = {"authorization_code", "password", "client_credentials"};
    cJSON_AddItemToObject(o, "grant_types_supported", cJSON_CreateStringArray(grants, 3));
    static const char *const auth[] = {"client_secret_basic", "client_secret_post"};
    cJSON_AddItemToObject(o, "token_endpoint_auth_methods_supported",
                          cJSON_CreateStringArray(auth, 2));
    http_reply_json(ctx, 200, o);
    return HANDLER_DONE;
}

const struct route oauth_routes[] = {
    {"POST", "/api/v1/apps", handle_apps, 0, NULL},
    {"GET", "/api/v1/apps/verify_credentials", handle_app_verify, 0, NULL},
    {"POST", "/oauth/token", handle_token, 0, NULL},
    {"POST", "/oauth/revoke", handle_revoke, 0, NULL},
    {"GET", "/.well-known/oauth-authorization-server", handle_metadata, 0, NULL},
};
