/* web/signup.c: the sign-up page (GET and POST /auth/sign_up), governed
 * by the config's registrations: open, approval (a reason is asked and
 * shown to the admins by `kithctl user pending`) or closed. The account is
 * made by core_user_create on a worker thread; sign-ups are throttled per
 * client address. */
#include "html.h"
#include "web.h"

#include "../src/base/err.h"
#include "../src/http/params.h"

#include <stdio.h>
#include <string.h>

struct signup {
    struct core *core;
    struct core_signup s;
    struct core_result res;
    bool approval;
    struct str name, email, reason;
};

static void form_page(struct http_ctx *ctx, const struct signup *u, const char *error, int status)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct buf b;
    buf_init(&b, 64 << 10);
    html_open(&b, "Sign up");
    buf_printf(&b, "<h1>Sign up</h1><p>Make an account on %s.", cfg->domain);
    if (cfg->registrations == REG_APPROVAL)
        buf_add_cstr(&b, " The admins read every sign-up before it opens: say why you want to "
                         "join.");
    buf_add_cstr(&b, "</p>");
    if (error) {
        buf_add_cstr(&b, "<p class=\"error\">");
        html_escape(&b, str_from(error));
        buf_add_cstr(&b, "</p>");
    }
    buf_add_cstr(&b, "<form method=\"post\" action=\"/auth/sign_up\">"
                     "<label for=\"u\">User name (letters, digits, underscores)</label>"
                     "<input type=\"text\" id=\"u\" name=\"username\" maxlength=\"30\" "
                     "autocomplete=\"username\" autocapitalize=\"none\" required value=\"");
    if (u)
        html_escape(&b, u->name);
    buf_add_cstr(&b, "\"><label for=\"e\">Email (optional)</label>"
                     "<input type=\"email\" id=\"e\" name=\"email\" autocomplete=\"email\" "
                     "value=\"");
    if (u)
        html_escape(&b, u->email);
    buf_add_cstr(&b, "\"><label for=\"p\">Password (at least 8 characters)</label>"
                     "<input type=\"password\" id=\"p\" name=\"password\" minlength=\"8\" "
                     "autocomplete=\"new-password\" required>");
    if (cfg->registrations == REG_APPROVAL) {
        buf_add_cstr(&b, "<label for=\"r\">Why do you want to join?</label>"
                         "<textarea id=\"r\" name=\"reason\" maxlength=\"1000\" required>");
        if (u)
            html_escape(&b, u->reason);
        buf_add_cstr(&b, "</textarea>");
    }
    buf_add_cstr(&b, "<label><input type=\"checkbox\" name=\"agreement\" value=\"true\" "
                     "required> I accept this server's rules</label>"
                     "<button type=\"submit\">Sign up</button></form>");
    html_close(&b);
    html_reply(ctx, status, &b);
}

static void closed_page(struct http_ctx *ctx)
{
    struct buf b;
    buf_init(&b, 8 << 10);
    html_open(&b, "Sign-ups are closed");
    buf_add_cstr(&b, "<h1>Sign-ups are closed</h1><p>This server takes no new accounts.</p>");
    html_close(&b);
    html_reply(ctx, 403, &b);
}

static int handle_get(struct http_ctx *ctx)
{
    if (http_core(ctx)->cfg->registrations == REG_CLOSED)
        return closed_page(ctx), HANDLER_DONE;
    form_page(ctx, NULL, NULL, 200);
    return HANDLER_DONE;
}

static int create(void *arg) /* on a worker thread */
{
    struct signup *u = arg;
    return core_user_create(u->core, &u->s, NULL, 0, &u->res);
}

static void created(struct http_ctx *ctx, int rc, void *arg)
{
    struct signup *u = arg;
    if (rc) {
        form_page(ctx, u, u->res.msg[0] ? u->res.msg : "The account could not be made.",
                  rc == KITH_EEXIST || rc == KITH_EINVAL ? 422 : 500);
        return;
    }
    struct buf b;
    buf_init(&b, 8 << 10);
    html_open(&b, "Welcome");
    buf_add_cstr(&b, "<h1>Welcome, ");
    html_escape(&b, u->name);
    if (u->approval)
        buf_add_cstr(&b, "</h1><p>Your sign-up waits for the admins. Once they approve it, sign "
                         "in from your app.</p>");
    else
        buf_add_cstr(&b, "</h1><p>Your account is ready: sign in from your app (Tusky, Ivory, "
                         "Elk, Phanpy or any Mastodon app) with this server's address.</p>");
    html_close(&b);
    html_reply(ctx, 200, &b);
}

static int handle_post(struct http_ctx *ctx)
{
    const struct kith_config *cfg = http_core(ctx)->cfg;
    struct api_params p;
    if (cfg->registrations == REG_CLOSED)
        return closed_page(ctx), HANDLER_DONE;
    struct signup *u = arena_zalloc(&ctx->arena, sizeof(*u));
    if (api_params_read(ctx, &p))
        return form_page(ctx, NULL, "The form does not parse.", 400), HANDLER_DONE;
    u->core = http_core(ctx);
    u->approval = cfg->registrations == REG_APPROVAL;
    u->name = arena_str(&ctx->arena, str_trim(api_param(&p, "username")));
    u->email = arena_str(&ctx->arena, str_trim(api_param(&p, "email")));
    u->reason = arena_str(&ctx->arena, str_trim(api_param(&p, "reason")));
    if (!str_eq(api_param(&p, "agreement"), STR_LIT("true")))
        return form_page(ctx, u, "Accept the server's rules to sign up.", 422), HANDLER_DONE;
    if (u->approval && !u->reason.len)
        return form_page(ctx, u, "Say why you want to join.", 422), HANDLER_DONE;
    unsigned wait = http_signin_throttle(ctx, u->name);
    if (wait) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Too many sign-ups from here: try again in %u seconds.", wait);
        return form_page(ctx, u, msg, 429), HANDLER_DONE;
    }
    u->s = (struct core_signup){.name = u->name,
                                .password = api_param(&p, "password"),
                                .email = u->email,
                                .reason = u->reason,
                                .pending = u->approval};
    if (http_offload(ctx, create, u, created, u))
        return form_page(ctx, u, "The server is shutting down.", 503), HANDLER_DONE;
    return HANDLER_ASYNC;
}

const struct route signup_page_routes[2] = {
    {"GET", "/auth/sign_up", handle_get, 0, NULL},
    {"POST", "/auth/sign_up", handle_post, 0, NULL},
};
