/* federation/sanitize.c: the HTML allow-list. */
#include "sanitize.h"

#include "../src/base/arena.h"
#include "../src/base/err.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64 /* deeper nesting is flattened into text */

static const char *const kept[] = {
    "p",  "br", "span", "a",  "del", "s",  "pre", "blockquote", "code", "b",  "strong", "u",  "i",
    "em", "ul", "ol",   "li", "h1",  "h2", "h3",  "h4",         "h5",   "h6", "sup",    "sub"};
static const char *const dropped[] = {
    "script",   "style",  "iframe", "object", "embed",    "svg",    "math",   "template",
    "noscript", "form",   "head",   "title",  "textarea", "select", "button", "frame",
    "frameset", "applet", "audio",  "video",  "canvas",   "link",   "meta",   "base"};
/* Link schemes Mastodon keeps. */
static const char *const schemes[] = {"http:", "https:", "mailto:", "xmpp:", "magnet:", "gemini:",
                                      "dat:",  "dweb:",  "ipfs:",   "ipns:", "ssb:",    "gopher:"};

static bool in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

#define IN(name, list) in(name, list, sizeof(list) / sizeof(list[0]))

/* Appends text with &, <, > (and " inside attributes) escaped. */
static int add_escaped(struct buf *out, const char *s, bool attr)
{
    int rc = KITH_OK;
    for (; *s && rc == KITH_OK; s++) {
        switch (*s) {
        case '&':
            rc = buf_add_cstr(out, "&amp;");
            break;
        case '<':
            rc = buf_add_cstr(out, "&lt;");
            break;
        case '>':
            rc = buf_add_cstr(out, "&gt;");
            break;
        case '"':
            rc = attr ? buf_add_cstr(out, "&quot;") : buf_add_byte(out, '"');
            break;
        default:
            rc = buf_add_byte(out, (uint8_t)*s);
        }
    }
    return rc;
}

static bool safe_href(const char *href)
{
    while (*href == ' ' || *href == '\t' || *href == '\n' || *href == '\r')
        href++;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncasecmp(href, schemes[i], strlen(schemes[i])) == 0)
            return true;
    return false;
}

static bool allowed_attr(const char *el, const char *attr)
{
    if (strcasecmp(el, "a") == 0)
        return strcasecmp(attr, "href") == 0 || strcasecmp(attr, "class") == 0;
    if (strcasecmp(el, "span") == 0)
        return strcasecmp(attr, "class") == 0;
    if (strcasecmp(el, "ol") == 0)
        return strcasecmp(attr, "start") == 0 || strcasecmp(attr, "reversed") == 0;
    if (strcasecmp(el, "li") == 0)
        return strcasecmp(attr, "value") == 0;
    return false;
}

static int walk(xmlNode *n, struct buf *out, int depth)
{
    int rc = KITH_OK;
    for (; n && rc == KITH_OK; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                rc = add_escaped(out, (const char *)n->content, false);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue; /* comments, processing instructions, DTDs */
        const char *name = (const char *)n->name;
        if (IN(name, dropped))
            continue;
        if (!IN(name, kept) || depth >= MAX_DEPTH) {
            rc = walk(n->children, out, depth + 1); /* unwrap */
            continue;
        }
        bool link = strcasecmp(name, "a") == 0;
        if ((rc = buf_add_byte(out, '<')) || (rc = buf_add_cstr(out, name)))
            break;
        for (xmlAttr *at = n->properties; at && rc == KITH_OK; at = at->next) {
            const char *an = (const char *)at->name;
            if (!allowed_attr(name, an))
                continue;
            xmlChar *v = xmlNodeGetContent((xmlNode *)at);
            if (!v)
                continue;
            if (strcasecmp(an, "href") != 0 || safe_href((const char *)v)) {
                rc = buf_printf(out, " %s=\"", an);
                if (!rc)
                    rc = add_escaped(out, (const char *)v, true);
                if (!rc)
                    rc = buf_add_byte(out, '"');
            }
            xmlFree(v);
        }
        if (rc)
            break;
        if (link && (rc = buf_add_cstr(out, " rel=\"nofollow noopener noreferrer\"")))
            break;
        if ((rc = buf_add_byte(out, '>')))
            break;
        if (strcasecmp(name, "br") == 0)
            continue; /* void element: no children, no end tag */
        if ((rc = walk(n->children, out, depth + 1)))
            break;
        rc = buf_printf(out, "</%s>", name);
    }
    return rc;
}

int sanitize_html(struct str html, struct buf *out)
{
    size_t start = out->len;
    if (html.len > (1u << 24))
        return KITH_ETOOBIG;
    /* A fragment goes inside one container element, so that nothing at its
     * start (a <script>, bare text) is moved into an implied <head> or <p>. */
    struct buf wrapped;
    buf_init(&wrapped, html.len + 64);
    buf_add_cstr(&wrapped, "<div>");
    buf_add_str(&wrapped, html);
    buf_add_cstr(&wrapped, "</div>");
    htmlDocPtr doc = htmlReadMemory(wrapped.data, (int)wrapped.len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                        HTML_PARSE_NOIMPLIED | HTML_PARSE_COMPACT);
    buf_free(&wrapped);
    if (!doc)
        return KITH_EINVAL;
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = root ? walk(root->children, out, 0) : KITH_OK;
    xmlFreeDoc(doc);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* A title for a post that has none (a Mastodon Note that mentions the
 * community): the first line of its text, with leading @mentions removed,
 * at most 200 bytes (cut at a UTF-8 boundary). From sanitised HTML. */
struct str html_first_line(struct arena *a, struct str html)
{
    char *out = arena_alloc(a, 201);
    size_t n = 0, i = 0;
    bool in_tag = false, line_done = false;
    while (i < html.len && !line_done) {
        char ch = html.ptr[i];
        if (in_tag) {
            if (ch == '>')
                in_tag = false;
            i++;
            continue;
        }
        if (ch == '<') {
            /* The end of a paragraph or a line break ends the first line. */
            if (n &&
                (strncmp(html.ptr + i, "</p>", 4) == 0 || strncmp(html.ptr + i, "<br", 3) == 0))
                line_done = true;
            in_tag = true;
            i++;
            continue;
        }
        if (ch == '&') { /* the escapes the sanitiser writes */
            static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;"};
            static const char rep[] = "&<>\"";
            size_t k = 0;
            while (k < 4 && strncmp(html.ptr + i, ent[k], strlen(ent[k])) != 0)
                k++;
            if (k < 4) {
                if (n < 200)
                    out[n++] = rep[k];
                i += strlen(ent[k]);
                continue;
            }
        }
        if (ch == '\n') {
            if (n)
                line_done = true;
            i++;
            continue;
        }
        if (n < 200)
            out[n++] = ch;
        i++;
    }
    out[n] = '\0';
    /* Leading mentions ("@cats", "@cats@host") and spaces go. */
    char *p = out;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p != '@')
            break;
        while (*p && *p != ' ')
            p++;
    }
    size_t len = strlen(p);
    while (len && p[len - 1] == ' ')
        len--;
    /* Never end inside a character cut at the limit. */
    size_t lead = len;
    while (lead && ((unsigned char)p[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead) {
        unsigned char c = (unsigned char)p[lead - 1];
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len - (lead - 1) < need)
            len = lead - 1;
    }
    return str_make(p, len);
}
