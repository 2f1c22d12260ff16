/* web/html.c: escaping and the page shell (see html.h). */
#include "html.h"

void html_escape(struct buf *b, struct str s)
{
    buf_add_html(b, s);
}

void html_open(struct buf *b, const char *title)
{
    buf_add_cstr(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>");
    html_escape(b, str_from(title));
    buf_add_cstr(b, "</title><style>"
                    "body{font:16px/1.5 system-ui,sans-serif;max-width:28em;margin:3em auto;"
                    "padding:0 1em;color:#222}label{display:block;margin:.8em 0 .2em}"
                    "input[type=text],input[type=password]{width:100%;padding:.5em;"
                    "box-sizing:border-box}button{margin:1em .5em 0 0;padding:.5em 1.2em}"
                    ".error{color:#a00}code{font-size:1.2em;word-break:break-all}"
                    "</style></head><body>\n");
}

void html_close(struct buf *b)
{
    buf_add_cstr(b, "</body></html>\n");
}

void html_reply(struct http_ctx *ctx, int status, struct buf *b)
{
    http_add_header(ctx, "Cache-Control", "no-store");
    http_add_header(ctx, "X-Frame-Options", "DENY");
    http_add_header(ctx, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    http_add_header(ctx, "X-Content-Type-Options", "nosniff");
    http_reply_raw(ctx, status, "text/html; charset=utf-8", buf_str(b));
    buf_free(b);
}
