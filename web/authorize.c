/* web/authorize.c: /oauth/authorize, where a Mastodon app sends its user:
 * a sign-in form, then a consent page (once per app and scopes), then back
 * to the app with a single-use code (RFC 6749 4.1, PKCE S256), or the code
 * shown on the page for the out-of-band redirect. */
#include "html.h"
#include "web.h"

#include "../src/base/err.h"
#include "../src/core/oauth.h"
#include "../src/http/params.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define SESSION_COOKIE "kith_session"
#define SESSION_SECS   (30L * 24 * 3600)
#define CODE_SECS      600 /* an authorization code lives ten minutes */
#define OOB_URI        "urn:ietf:wg:oauth:2.0:oob"

/* The authorization request, as the app sent it (and as the forms carry it on). */
struct authz {
    struct str client_id, redirect_uri, scope, state, challenge, method;
    struct oauth_app app;
    struct str scopes; /* normalised */
};

static void error_page(struct http_ctx *ctx, int status, const char *what)
{
    struct buf b;
    buf_init(&b, 64 << 10);
    html_open(&b, "Sign-in error");
    buf_add_cstr(&b, "<h1>This sign-in cannot go on</h1><p class=\"error\">");
    html_escape(&b, str_from(what));
    buf_add_cstr(&b, "</p>");
    html_close(&b);
    html_reply(ctx, status, &b);
}

static void add_query(struct buf *b, const char *name, struct str value)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_add_cstr(b, name);
    buf_add_byte(b, '=');
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~", c))
            buf_add_byte(b, c);
        else {
            buf_add_byte(b, '%');
            buf_add_byte(b, (uint8_t)hex[c >> 4]);
            buf_add_byte(b, (uint8_t)hex[c & 15]);
        }
    }
}

/* Back to the app: redirect_uri with code=... or error=..., and state. */
static void back_to_app(struct http_ctx *ctx, const struct authz *z, const char *key,
                        struct str value)
{
    struct buf b;
    buf_init(&b, 16 << 10);
    buf_add_str(&b, z->redirect_uri);
    buf_add_byte(&b, memchr(z->redirect_uri.ptr, '?', z->redirect_uri.len) ? '&' : '?');
    add_query(&b, key, value);
    if (z->state.len) {
        buf_add_byte(&b, '&');
        add_query(&b, "state", z->state);
    }
    char *loc = arena_strndup(&ctx->arena, b.data, b.len);
    buf_free(&b);
    http_add_header(ctx, "Cache-Control", "no-store");
    http_redirect(ctx, 302, loc);
}

/* Reads and checks the request; false after replying. Until the client and
 * its redirect URI are known good, errors are pages, never redirects. */
static bool read_authz(struct http_ctx *ctx, const struct api_params *p, struct kv_txn *txn,
                       struct authz *z)
{
    struct core_result res = {{0}};
    z->client_id = api_param(p, "client_id");
    z->redirect_uri = api_param(p, "redirect_uri");
    z->scope = api_param(p, "scope");
    if (!z->scope.len)
        z->scope = api_param(p, "scopes");
    z->state = api_param(p, "state");
    z->challenge = api_param(p, "code_challenge");
    z->method = api_param(p, "code_challenge_method");
    if (!z->client_id.len || oauth_app_by_client_id(txn, z->client_id, &ctx->arena, &z->app)) {
        error_page(ctx, 400, "The app that sent you here is not registered on this server.");
        return false;
    }
    if (!z->redirect_uri.len) /* the app's only one, when it has only one */
        z->redirect_uri = memchr(z->app.redirect_uris.ptr, '\n', z->app.redirect_uris.len)
                              ? STR_NULL
                              : z->app.redirect_uris;
    if (!z->redirect_uri.len || !oauth_app_redirect_ok(&z->app, z->redirect_uri)) {
        error_page(ctx, 400, "The redirect URI is not one the app registered.");
        return false;
    }
    struct str rt = api_param(p, "response_type");
    if (!str_eq_cstr(rt, "code")) {
        back_to_app(ctx, z, "error", STR_LIT("unsupported_response_type"));
        return false;
    }
    if (scopes_parse(z->scope, &ctx->arena, &z->scopes, &res) ||
        !scopes_subset(z->scopes, z->app.scopes)) {
        back_to_app(ctx, z, "error", STR_LIT("invalid_scope"));
        return false;
    }
    if (z->challenge.len && !str_eq_cstr(z->method, "S256")) {
        back_to_app(ctx, z, "error", STR_LIT("invalid_request")); /* only S256 (no "plain") */
        return false;
    }
    if (z->challenge.len > 128 || z->state.len > 1024) {
        back_to_app(ctx, z, "error", STR_LIT("invalid_request"));
        return false;
    }
    return true;
}

/* The request's fields, carried by the forms. */
static void hidden_fields(struct buf *b, const struct authz *z)
{
    const struct {
        const char *name;
        struct str v;
    } f[] = {{"client_id", z->client_id},
             {"redirect_uri", z->redirect_uri},
             {"scope", z->scopes},
             {"state", z->state},
             {"code_challenge", z->challenge},
             {"code_challenge_method", z->method}};
    buf_add_cstr(b, "<input type=\"hidden\" name=\"response_type\" value=\"code\">");
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!f[i].v.len)
            continue;
        buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", f[i].name);
        html_escape(b, f[i].v);
        buf_add_cstr(b, "\">");
    }
}

static void signin_page(struct http_ctx *ctx, const struct authz *z, const char *error, int status)
{
    struct buf b;
    buf_init(&b, 64 << 10);
    html_open(&b, "Sign in");
    buf_add_cstr(&b, "<h1>Sign in</h1><p>");
    html_escape(&b, z->app.name);
    buf_printf(&b, " wants you to sign in to %s.</p>", http_core(ctx)->cfg->domain);
    if (error) {
        buf_add_cstr(&b, "<p class=\"error\">");
        html_escape(&b, str_from(error));
        buf_add_cstr(&b, "</p>");
    }
    buf_add_cstr(&b, "<form method=\"post\" action=\"/oauth/authorize\">");
    hidden_fields(&b, z);
    buf_add_cstr(&b, "<input type=\"hidden\" name=\"action\" value=\"signin\">"
                     "<label for=\"u\">User name</label>"
                     "<input type=\"text\" id=\"u\" name=\"username\" autocomplete=\"username\" "
                     "autocapitalize=\"none\" required>"
                     "<label for=\"p\">Password</label>"
                     "<input type=\"password\" id=\"p\" name=\"password\" "
                     "autocomplete=\"current-password\" required>"
                     "<button type=\"submit\">Sign in</button></form>");
    if (http_core(ctx)->cfg->registrations != REG_CLOSED)
        buf_add_cstr(&b, "<p>No account yet? <a href=\"/auth/sign_up\">Sign up</a>.</p>");
    html_close(&b);
    html_reply(ctx, status, &b);
}

/* The consent form's token: tied to the session, which only this browser holds. */
static void csrf_of(struct str session, char out[65])
{
    char in[128];
    snprintf(in, sizeof(in), "csrf:%.*s", (int)session.len, session.ptr);
    oauth_hash_hex(str_from(in), out);
}

static void consent_page(struct http_ctx *ctx, const struct authz *z, const struct account *who,
                         struct str session)
{
    struct buf b;
    char csrf[65];
    csrf_of(session, csrf);
    buf_init(&b, 64 << 10);
    html_open(&b, "Authorize");
    buf_add_cstr(&b, "<h1>Authorize ");
    html_escape(&b, z->app.name);
    buf_add_cstr(&b, "?</h1><p>Signed in as <strong>");
    html_escape(&b, who->name);
    buf_add_cstr(&b, "</strong>. The app asks for: <code>");
    html_escape(&b, z->scopes);
    buf_add_cstr(&b, "</code></p><form method=\"post\" action=\"/oauth/authorize\">");
    hidden_fields(&b, z);
    buf_printf(&b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", csrf);
    buf_add_cstr(&b, "<button type=\"submit\" name=\"action\" value=\"approve\">Authorize</button>"
                     "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>"
                     "</form>");
    html_close(&b);
    html_reply(ctx, 200, &b);
}

static void oob_page(struct http_ctx *ctx, const char *code)
{
    struct buf b;
    buf_init(&b, 16 << 10);
    html_open(&b, "Authorization code");
    buf_add_cstr(&b, "<h1>Authorization code</h1><p>Copy this code into the app:</p><p><code>");
    html_escape(&b, str_from(code));
    buf_add_cstr(&b, "</code></p>");
    html_close(&b);
    html_reply(ctx, 200, &b);
}

/* The signed-in person, from the session cookie; false when none. */
static bool session_account(struct http_ctx *ctx, struct kv_txn *txn, struct account *who,
                            struct str *session)
{
    struct oauth_token t;
    *session = http_cookie(ctx, SESSION_COOKIE);
    return session->len && oauth_token_get(txn, *session, &ctx->arena, &t) == KITH_OK &&
           t.kind == TOKEN_SESSION && account_get(txn, t.account_id, &ctx->arena, who) == KITH_OK &&
           !who->uri.len && who->state == ACCOUNT_ACTIVE;
}

/* ---- issuing the code (and the session, after a sign-in) ---- */

struct issue {
    struct authz z;
    uint64_t account_id;
    bool new_session, approve, covered;
    char session[OAUTH_SECRET_LEN + 1], code[OAUTH_SECRET_LEN + 1];
    struct str password, hash; /* sign-in */
    bool exists, active;
    struct account who;
};

static int apply_issue(struct kv_txn *txn, void *arg)
{
    struct issue *x = arg;
    int rc;
    int64_t now = wall_seconds();
    if (x->new_session) {
        struct oauth_token s = {.account_id = x->account_id,
                                .kind = TOKEN_SESSION,
                                .created_at = now,
                                .expires_at = now + SESSION_SECS};
        if ((rc = oauth_token_insert(txn, &s, x->session)))
            return rc;
    }
    if (x->approve && (rc = oauth_grant_put(txn, x->account_id, x->z.app.id, x->z.scopes)))
        return rc;
    x->covered = x->approve || oauth_grant_covers(txn, x->account_id, x->z.app.id, x->z.scopes);
    if (!x->covered)
        return KITH_OK; /* the consent page first */
    struct oauth_token c = {.app_id = x->z.app.id,
                            .account_id = x->account_id,
                            .kind = TOKEN_AUTH_CODE,
                            .scopes = x->z.scopes,
                            .redirect_uri = x->z.redirect_uri,
                            .code_challenge = x->z.challenge,
                            .created_at = now,
                            .expires_at = now + CODE_SECS};
    return oauth_token_insert(txn, &c, x->code);
}

static void issued(struct http_ctx *ctx, int rc, void *arg)
{
    struct issue *x = arg;
    if (rc) {
        error_page(ctx, 503, "The server cannot sign you in right now; try again shortly.");
        return;
    }
    if (x->new_session)
        http_set_cookie(ctx, SESSION_COOKIE, x->session, SESSION_SECS);
    if (!x->covered) {
        consent_page(ctx, &x->z, &x->who,
                     x->new_session ? str_from(x->session) : http_cookie(ctx, SESSION_COOKIE));
        return;
    }
    if (str_eq_cstr(x->z.redirect_uri, OOB_URI))
        oob_page(ctx, x->code);
    else
        back_to_app(ctx, &x->z, "code", str_from(x->code));
}

/* ---- GET: the form, the consent page, or straight back ---- */

static int handle_get(struct http_ctx *ctx)
{
    struct api_params p;
    struct kv_txn *txn;
    struct issue *x = arena_zalloc(&ctx->arena, sizeof(*x));
    struct str session;
    if (api_params_read(ctx, &p))
        return error_page(ctx, 400, "The request does not parse."), HANDLER_DONE;
    if (http_read_txn(ctx, &txn))
        return error_page(ctx, 503, "The server cannot read its database."), HANDLER_DONE;
    if (!read_authz(ctx, &p, txn, &x->z))
        return HANDLER_DONE;
    bool force = str_eq_cstr(api_param(&p, "force_login"), "true");
    if (force || !session_account(ctx, txn, &x->who, &session))
        return signin_page(ctx, &x->z, NULL, 200), HANDLER_DONE;
    /* Signed in: back at once when this app was approved for these scopes. */
    if (!oauth_grant_covers(txn, x->who.id, x->z.app.id, x->z.scopes))
        return consent_page(ctx, &x->z, &x->who, session), HANDLER_DONE;
    x->account_id = x->who.id;
    if (http_write(ctx, apply_issue, x, issued, x))
        return error_page(ctx, 503, "The server is shutting down."), HANDLER_DONE;
    return HANDLER_ASYNC;
}

/* ---- POST: sign in, approve or deny ---- */

static int check_password(void *arg) /* on a worker thread */
{
    struct issue *x = arg;
    return core_password_check(x->password, x->hash);
}

static void password_checked(struct http_ctx *ctx, int rc, void *arg)
{
    struct issue *x = arg;
    if (rc) {
        signin_page(ctx, &x->z, "The user name or the password is wrong.", 401);
        return;
    }
    if (!x->active) {
        signin_page(ctx, &x->z, "This account is waiting for approval or is suspended.", 403);
        return;
    }
    x->new_session = true;
    if (http_write(ctx, apply_issue, x, issued, x))
        error_page(ctx, 503, "The server is shutting down.");
}

static int handle_post(struct http_ctx *ctx)
{
    struct api_params p;
    struct kv_txn *txn;
    struct issue *x = arena_zalloc(&ctx->arena, sizeof(*x));
    if (api_params_read(ctx, &p))
        return error_page(ctx, 400, "The form does not parse."), HANDLER_DONE;
    if (http_read_txn(ctx, &txn))
        return error_page(ctx, 503, "The server cannot read its database."), HANDLER_DONE;
    if (!read_authz(ctx, &p, txn, &x->z))
        return HANDLER_DONE;
    struct str action = api_param(&p, "action");
    if (str_eq_cstr(action, "signin")) {
        struct str user = api_param(&p, "username");
        x->password = api_param(&p, "password");
        if (!user.len || !x->password.len)
            return signin_page(ctx, &x->z, "Both the user name and the password are needed.", 400),
                   HANDLER_DONE;
        unsigned wait = http_signin_throttle(ctx, user);
        if (wait) {
            char after[16], msg[96];
            snprintf(after, sizeof(after), "%u", wait);
            snprintf(msg, sizeof(msg), "Too many attempts: try again in %u seconds.", wait);
            http_add_header(ctx, "Retry-After", after);
            return signin_page(ctx, &x->z, msg, 429), HANDLER_DONE;
        }
        x->exists = account_get_local(txn, user, &ctx->arena, &x->who) == KITH_OK &&
                    x->who.password_hash.len > 0;
        x->hash = x->exists ? x->who.password_hash : STR_NULL;
        x->active = x->exists && x->who.state == ACCOUNT_ACTIVE;
        x->account_id = x->exists ? x->who.id : 0;
        if (http_offload(ctx, check_password, x, password_checked, x))
            return error_page(ctx, 503, "The server is shutting down."), HANDLER_DONE;
        return HANDLER_ASYNC;
    }
    struct str session;
    if (!session_account(ctx, txn, &x->who, &session))
        return signin_page(ctx, &x->z, "Please sign in first.", 401), HANDLER_DONE;
    char csrf[65];
    csrf_of(session, csrf);
    struct str sent = api_param(&p, "csrf");
    if (sent.len != 64 || CRYPTO_memcmp(sent.ptr, csrf, 64) != 0)
        return error_page(ctx, 403, "This form has expired: go back to the app and try again."),
               HANDLER_DONE;
    if (str_eq_cstr(action, "deny"))
        return back_to_app(ctx, &x->z, "error", STR_LIT("access_denied")), HANDLER_DONE;
    if (!str_eq_cstr(action, "approve"))
        return error_page(ctx, 400, "Unknown action."), HANDLER_DONE;
    x->approve = true;
    x->account_id = x->who.id;
    if (http_write(ctx, apply_issue, x, issued, x))
        return error_page(ctx, 503, "The server is shutting down."), HANDLER_DONE;
    return HANDLER_ASYNC;
}

static const struct route authorize_routes[] = {
    {"GET", "/oauth/authorize", handle_get, 0, NULL},
    {"GET", "/oauth/authorize/", handle_get, 0, NULL},
    {"POST", "/oauth/authorize", handle_post, 0, NULL},
    {"POST", "/oauth/authorize/", handle_post, 0, NULL},
};

extern const struct route static_routes[3];      /* static.c */
extern const struct route signup_page_routes[2]; /* signup.c */

const struct route_table web_tables[] = {
    {authorize_routes, sizeof(authorize_routes) / sizeof(authorize_routes[0])},
    {static_routes, sizeof(static_routes) / sizeof(static_routes[0])},
    {signup_page_routes, sizeof(signup_page_routes) / sizeof(signup_page_routes[0])},
};
const size_t web_ntables = sizeof(web_tables) / sizeof(web_tables[0]);
