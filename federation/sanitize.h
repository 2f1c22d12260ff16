/* federation/sanitize.h: HTML from other servers, made safe to store and show.
 *
 * Layer: federation. Every HTML body that arrives from outside (a post's
 * content, an actor's summary) passes through sanitize_html once, on
 * ingest, and the result is what kith stores: rendering never sanitises
 * again (it costs more than verifying a signature, performance.md).
 * Parsing is libxml2's HTML parser (no network, no entities fetched).
 * Kept: the elements Mastodon keeps (p br span a del s pre blockquote code
 * b strong u i em ul ol li h1-h6 sup sub), with only these attributes:
 * a href (http, https, mailto and the schemes Mastodon allows), a rel and
 * class, span class, ol start and reversed, li value. Links get
 * rel="nofollow noopener noreferrer". Dropped with their content: script,
 * style, iframe, object, embed, svg, math, template, noscript, form, head,
 * title, comments. Any other element is unwrapped (its children stay).
 * Owned: the result is appended to out (a capped buffer).
 */
#ifndef KITH_FEDERATION_SANITIZE_H
#define KITH_FEDERATION_SANITIZE_H

#include "../src/base/buf.h"
#include "../src/base/str.h"

/* Appends the sanitised form of html to out. KITH_ETOOBIG if out's ceiling
 * is reached (out keeps what it had), KITH_EINVAL if libxml2 cannot parse
 * it at all. */
int sanitize_html(struct str html, struct buf *out);

struct arena;
/* A title for a post that has none (a Mastodon Note that mentions a
 * community): the first line of sanitised HTML's text, leading @mentions
 * removed, at most 200 bytes, never cut inside a UTF-8 character. In a. */
struct str html_first_line(struct arena *a, struct str html);

#endif
