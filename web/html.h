/* web/html.h: small helpers for the pages: escaping, the page shell.
 * Layer: web. Output goes into a struct buf the caller owns. */
#ifndef KITH_WEB_HTML_H
#define KITH_WEB_HTML_H

#include "../src/base/buf.h"
#include "../src/http/server.h"

/* Appends s with & < > " ' escaped (text and attribute values alike). */
void html_escape(struct buf *b, struct str s);
/* Starts a page: doctype, head with title (escaped), body. */
void html_open(struct buf *b, const char *title);
void html_close(struct buf *b);
/* Sends the page with the headers every page carries (no caching, no
 * framing, no scripts). */
void html_reply(struct http_ctx *ctx, int status, struct buf *b);

#endif
