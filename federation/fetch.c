/* federation/fetch.c: the asynchronous outbound HTTP(S) client (see fetch.h).
 *
 * A fetch lives from fetch_start to finish(). fetch_start copies the request
 * and activates a zero-delay event, so done is never called from inside it.
 * Each hop (hop_start) parses its URL and builds and signs the request, then
 * takes an idle connection to the same origin or finds the addresses (numeric
 * host, resolve override or evdns), applies the SSRF guard and connects to
 * the first allowed address, trying the next ones while connecting fails.
 * The response is parsed as it arrives, a redirect starts the next hop, and
 * finish() hands the result to done and frees the fetch. Every path ends in
 * finish() exactly once: the whole-exchange timer and fetcher_free() end a
 * fetch in whatever state it is.
 *
 * The HTTP/1.1 client is kith's own rather than evhttp's: evhttp 2.1 resolves
 * and connects by itself (no place for the SSRF guard after resolution),
 * reconnects a closed keep-alive connection on the same SSL object, and has
 * no whole-exchange timeout.
 */
#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../src/base/err.h"
#include "../src/base/mem.h"
#include "../src/base/netaddr.h"
#include "../src/base/version.h"
#include "httpsig.h"

#define DEFAULT_MAX_BODY  ((size_t)1 << 20)
#define DEFAULT_TIMEOUT   10
#define DEFAULT_REDIRECTS 3
#define MAX_URL           8192 /* bytes of a URL, and of a request line's target */
#define MAX_LINE          8192 /* one status, header, chunk-size or trailer line */
#define MAX_FIELDS        256  /* header and trailer lines of one response */
#define MAX_ADDRS         8    /* addresses tried per hop */
#define MAX_SIGNATURE     16384
#define NEED_MORE         1 /* a parse step waits for more input */

/* ---- types ---- */

/* A parsed http(s) URL. */
struct url {
    bool tls;
    bool host_is_ip;
    struct ipaddr ip;    /* when host_is_ip */
    char host[256];      /* lowercase name or canonical IP, no brackets */
    uint16_t port;       /* always set */
    char authority[272]; /* the Host header: host, [v6], :port unless default */
    char origin[288];    /* "https://authority": which idle connections fit */
    char *target;        /* path?query as sent; malloc'd */
    char *text;          /* origin + target; malloc'd */
};

/* The resolver, shared by the fetcher and its lookups in flight. evdns calls
 * a cancelled lookup back later, from the loop, and needs its evdns_base
 * then; it may also still hold a queued callback of its own (the A/AAAA
 * skew timeout) while ours runs. So the evdns_base is freed at once only
 * when nothing is pending and no lookup callback is running; otherwise the
 * fetcher leaves this behind, orphaned, and an event on the loop frees it
 * after the last lookup has called back. */
struct resolver {
    struct event_base *base;
    struct evdns_base *dns;
    struct event *reaper; /* frees the orphan */
    unsigned pending;     /* lookups not yet called back */
    unsigned depth;       /* on_resolved calls running */
    bool orphaned;        /* the fetcher is gone */
};

struct lookup {
    struct resolver *r;
    struct fetch *x; /* NULL once abandoned (timeout, fetcher_free) */
    struct evdns_getaddrinfo_request *req;
};

/* One connection: in use by one fetch (x->c), or idle: then in f's list
 * (most recently parked first, for eviction) and in its origin's bucket. */
struct conn {
    struct fetcher *f;
    struct bufferevent *bev;    /* owns the socket and, for https, the SSL */
    struct conn *prev, *next;   /* the idle list */
    struct conn *hprev, *hnext; /* the origin's bucket */
    unsigned bucket;
    char origin[288];
};

#define IDLE_BUCKETS 256

enum rstate {
    RS_STATUS,     /* the status line */
    RS_HEADERS,    /* header lines up to the empty one */
    RS_BODY,       /* Content-Length bytes */
    RS_CHUNK_SIZE, /* chunked: a size line */
    RS_CHUNK_DATA, /* chunked: that many bytes */
    RS_CHUNK_END,  /* chunked: the CRLF after the data */
    RS_TRAILERS,   /* chunked: trailer lines up to the empty one */
    RS_UNTIL_EOF,  /* no framing: the body ends when the server closes */
    RS_DONE
};

/* One request, from fetch_start to finish. Thread: the fetcher's loop. */
struct fetch {
    struct fetcher *f;
    struct fetch *prev, *next; /* f->fetches */
    fetch_done_fn *done;
    void *arg;

    /* the request, as asked */
    bool post;
    char *url_text; /* this hop's URL: as given, then each Location resolved */
    char *accept;
    char *ctype;
    char *headers; /* extra header lines, each ending in CRLF, or NULL */
    char *date;    /* the Date to send (signed in advance), or NULL for now */
    char *body;
    size_t body_len;
    char digest[64];
    fetch_sign_fn *sign;
    void *sign_arg;
    size_t max_body;
    unsigned timeout_secs;
    int max_redirects;
    int redirects_left;

    /* this hop */
    struct url u;
    bool parsed;    /* u is valid */
    struct buf req; /* the request bytes, kept for one resend */
    struct ipaddr addrs[MAX_ADDRS];
    size_t naddrs, next_addr;
    struct lookup *lookup; /* resolution in flight */
    struct conn *c;        /* the connection in use */
    bool reused;           /* c came from the idle list */
    bool resent;           /* the request was already sent again once */
    bool connected;        /* c is connected (and TLS is up) */
    bool got_bytes;        /* response bytes arrived on c */

    /* the response */
    enum rstate st;
    int status;
    bool http11, conn_close, chunked, te, has_len;
    uint64_t clen, remaining;
    size_t head_bytes;
    unsigned nfields;
    char *location;
    char *content_type;
    struct buf resp; /* the body, capped at max_body */

    struct event *timer; /* the whole exchange */
    struct event *kick;  /* starts the first hop */
    char why[768];
};

/* Thread: the loop's only; nothing here is locked. */
struct fetcher {
    struct event_base *base;
    const struct kith_config *cfg;
    struct resolver *res;
    SSL_CTX *ssl;
    char user_agent[320];
    struct fetch *fetches;  /* pending */
    struct conn *idle;      /* most recently parked first */
    struct conn *idle_tail; /* least recently parked: evicted first */
    struct conn *buckets[IDLE_BUCKETS];
    unsigned nidle, max_idle;
    bool stopping;
    atomic_ulong opened, reused; /* connections (fetcher_counts) */
};

static void hop_start(struct fetch *x);
static void find_addresses(struct fetch *x);
static void connect_next(struct fetch *x);

/* ---- small helpers ---- */

static int fail(struct fetch *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why x fails and returns err. */
static int fail(struct fetch *x, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->why, sizeof(x->why), fmt, ap);
    va_end(ap);
    return err;
}

static bool has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), for Date. */
static void http_date(char *out, size_t size)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- URLs ---- */

static void url_clear(struct url *u)
{
    free(u->target);
    free(u->text);
    memset(u, 0, sizeof(*u));
}

/* Parses an http or https URL into u. Returns NULL, or what is wrong. */
static const char *url_parse(const char *s, struct url *u)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *p, *a, *hend, *rest;
    size_t n = strlen(s);

    memset(u, 0, sizeof(*u));
    if (n > MAX_URL)
        return "url too long";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return "url contains a space or a control character";
    if (strncasecmp(s, "https://", 8) == 0) {
        u->tls = true;
        u->port = 443;
        p = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        u->port = 80;
        p = s + 7;
    } else {
        return "only http and https urls can be fetched";
    }

    /* authority: host[:port], up to the path, query or fragment */
    a = p;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    rest = p;
    if (memchr(a, '@', (size_t)(rest - a)))
        return "urls with user information are refused";
    if (a == rest)
        return "url has no host";
    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(rest - a));
        if (!close)
            return "url has a bad IPv6 address";
        if (ipaddr_parse(str_make(a + 1, (size_t)(close - a - 1)), &u->ip) ||
            u->ip.family != AF_INET6)
            return "url has a bad IPv6 address";
        u->host_is_ip = true;
        ipaddr_format(&u->ip, u->host, sizeof(u->host));
        hend = close + 1;
        if (hend != rest && *hend != ':')
            return "url has a bad IPv6 address";
    } else {
        hend = memchr(a, ':', (size_t)(rest - a));
        if (!hend)
            hend = rest;
        size_t hl = (size_t)(hend - a);
        if (hl && a[hl - 1] == '.') /* "example.com." is example.com */
            hl--;
        if (hl == 0 || hl > 253)
            return "url has no host";
        for (size_t i = 0; i < hl; i++) {
            unsigned char c = (unsigned char)a[i];
            if (c >= 0x80)
                return "internationalised host names are not supported (use punycode)";
            if (!isalnum(c) && c != '-' && c != '.' && c != '_')
                return "url has a bad host name";
            if (c == '.' && (i == 0 || a[i - 1] == '.'))
                return "url has a bad host name";
            u->host[i] = (char)tolower(c);
        }
        u->host[hl] = '\0';
        if (ipaddr_parse(str_make(u->host, hl), &u->ip) == KITH_OK)
            u->host_is_ip = true;
    }
    if (hend != rest) { /* ":port"; an empty port means the default */
        unsigned long port = 0;
        size_t pl = (size_t)(rest - hend - 1);
        if (pl > 5)
            return "url has a bad port";
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)hend[1 + i]))
                return "url has a bad port";
            port = port * 10 + (unsigned long)(hend[1 + i] - '0');
        }
        if (pl && (port == 0 || port > 65535))
            return "url has a bad port";
        if (pl)
            u->port = (uint16_t)port;
    }

    bool v6 = u->host_is_ip && u->ip.family == AF_INET6;
    bool dflt = u->port == (u->tls ? 443 : 80);
    char portstr[8] = "";
    if (!dflt)
        snprintf(portstr, sizeof(portstr), ":%u", (unsigned)u->port);
    snprintf(u->authority, sizeof(u->authority), "%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             portstr);
    snprintf(u->origin, sizeof(u->origin), "%s://%s", u->tls ? "https" : "http", u->authority);

    /* target: path and query without the fragment; "/" when empty, bytes
     * outside ASCII percent-encoded */
    struct buf t;
    buf_init(&t, 3 * MAX_URL + 2);
    if (*rest != '/')
        buf_add_byte(&t, '/');
    for (p = rest; *p && *p != '#'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_add(&t, e, 3);
        } else {
            buf_add_byte(&t, c);
        }
    }
    u->target = buf_detach(&t, NULL);
    size_t ol = strlen(u->origin), tl = strlen(u->target);
    u->text = xmalloc(ol + tl + 1);
    memcpy(u->text, u->origin, ol);
    memcpy(u->text + ol, u->target, tl + 1);
    return NULL;
}

/* Resolves a Location value against the URL of the response that carried it
 * (RFC 3986 section 5.2, without removing dot segments: the server resolves
 * those). Returns a malloc'd URL for url_parse to check, or NULL. */
static char *url_resolve(const struct url *base, const char *loc)
{
    struct str l = str_trim(str_from(loc));
    struct buf b;
    size_t i = 0;

    if (l.len == 0 || l.len > MAX_URL)
        return NULL;
    while (i < l.len && (isalnum((unsigned char)l.ptr[i]) || l.ptr[i] == '+' || l.ptr[i] == '-' ||
                         l.ptr[i] == '.'))
        i++;
    buf_init(&b, 2 * MAX_URL + 16);
    if (i > 0 && i < l.len && l.ptr[i] == ':' && isalpha((unsigned char)l.ptr[0])) {
        buf_add_str(&b, l); /* absolute */
    } else if (l.len >= 2 && l.ptr[0] == '/' && l.ptr[1] == '/') {
        buf_add_cstr(&b, base->tls ? "https:" : "http:"); /* network-path */
        buf_add_str(&b, l);
    } else if (l.ptr[0] == '/') {
        buf_add_cstr(&b, base->origin); /* absolute-path */
        buf_add_str(&b, l);
    } else {
        size_t plen = strcspn(base->target, "?");
        buf_add_cstr(&b, base->origin);
        if (l.ptr[0] == '?') { /* query only: the same path */
            buf_add(&b, base->target, plen);
        } else { /* relative path: merged with the base's directory */
            const char *slash = base->target;
            for (size_t k = 0; k < plen; k++)
                if (base->target[k] == '/')
                    slash = base->target + k;
            buf_add(&b, base->target, (size_t)(slash - base->target) + 1);
        }
        buf_add_str(&b, l);
    }
    return buf_detach(&b, NULL);
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
    if (!c)
        return;
    bufferevent_free(c->bev);
    free(c);
}

static void idle_unlink(struct conn *c)
{
    struct fetcher *f = c->f;
    if (c->prev)
        c->prev->next = c->next;
    else
        f->idle = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        f->idle_tail = c->prev;
    if (c->hprev)
        c->hprev->hnext = c->hnext;
    else
        f->buckets[c->bucket] = c->hnext;
    if (c->hnext)
        c->hnext->hprev = c->hprev;
    c->prev = c->next = c->hprev = c->hnext = NULL;
    f->nidle--;
}

static void idle_close(struct conn *c)
{
    idle_unlink(c);
    conn_close(c);
}

/* An idle connection has nothing to say: bytes or a close end it. */
static void on_idle_read(struct bufferevent *bev, void *arg)
{
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        idle_close(arg);
}

static void on_idle_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF, error, or the idle timeout */
    idle_close(arg);
}

/* Moves x's connection, idle and in a clean state, to the idle list. */
static void conn_park(struct fetch *x)
{
    struct fetcher *f = x->f;
    struct conn *c = x->c;
    struct timeval idle = {FETCH_IDLE_SECS, 0};

    x->c = NULL;
    if (f->stopping) {
        conn_close(c);
        return;
    }
    if (f->nidle >= f->max_idle && f->idle_tail)
        idle_close(f->idle_tail);
    bufferevent_setcb(c->bev, on_idle_read, NULL, on_idle_event, c);
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
    c->prev = NULL;
    c->next = f->idle;
    if (f->idle)
        f->idle->prev = c;
    else
        f->idle_tail = c;
    f->idle = c;
    c->bucket = (unsigned)(str_hash(str_from(c->origin)) % IDLE_BUCKETS);
    c->hprev = NULL;
    c->hnext = f->buckets[c->bucket];
    if (c->hnext)
        c->hnext->hprev = c;
    f->buckets[c->bucket] = c;
    f->nidle++;
}

static struct conn *idle_take(struct fetcher *f, const char *origin)
{
    unsigned b = (unsigned)(str_hash(str_from(origin)) % IDLE_BUCKETS);
    for (struct conn *c = f->buckets[b]; c; c = c->hnext) {
        if (strcmp(c->origin, origin) == 0) {
            idle_unlink(c);
            bufferevent_set_timeouts(c->bev, NULL, NULL);
            return c;
        }
    }
    return NULL;
}

void fetcher_counts(struct fetcher *f, uint64_t *opened, uint64_t *reused)
{
    *opened = atomic_load(&f->opened);
    *reused = atomic_load(&f->reused);
}

void fetcher_set_max_idle(struct fetcher *f, unsigned n)
{
    f->max_idle = n ? n : 1;
    while (f->nidle > f->max_idle && f->idle_tail)
        idle_close(f->idle_tail);
}

/* A new unconnected connection for x's current URL, or NULL. */
static struct conn *conn_new(struct fetch *x)
{
    struct fetcher *f = x->f;
    struct bufferevent *bev;
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

    if (x->u.tls) {
        SSL *ssl = SSL_new(f->ssl);
        if (!ssl)
            return NULL;
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        /* No SNI for an address (RFC 6066); then the certificate must name
         * the address itself. */
        int ok = x->u.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), x->u.host)
                                 : SSL_set_tlsext_host_name(ssl, x->u.host) == 1 &&
                                       SSL_set1_host(ssl, x->u.host) == 1;
        if (!ok || !(bev = bufferevent_openssl_socket_new(f->base, -1, ssl,
                                                          BUFFEREVENT_SSL_CONNECTING, opts))) {
            SSL_free(ssl);
            return NULL;
        }
        /* A close without close_notify ends a body that runs to the close;
         * everything else has its own framing. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else if (!(bev = bufferevent_socket_new(f->base, -1, opts))) {
        return NULL;
    }
    struct conn *c = xcalloc(1, sizeof(*c));
    c->f = f;
    c->bev = bev;
    memcpy(c->origin, x->u.origin, sizeof(c->origin));
    atomic_fetch_add(&x->f->opened, 1);
    return c;
}

/* ---- the end of a fetch ---- */

static void lookup_abandon(struct fetch *x)
{
    struct lookup *l = x->lookup;
    if (!l)
        return;
    x->lookup = NULL;
    l->x = NULL;
    /* evdns calls on_resolved back later with EVUTIL_EAI_CANCEL; the lookup
     * is freed there. */
    evdns_getaddrinfo_cancel(l->req);
}

static void fetch_free(struct fetch *x)
{
    url_clear(&x->u);
    buf_free(&x->req);
    buf_free(&x->resp);
    free(x->url_text);
    free(x->accept);
    free(x->ctype);
    free(x->headers);
    free(x->date);
    free(x->body);
    free(x->location);
    free(x->content_type);
    free(x);
}

/* Ends x: detaches it from everything, calls done, frees it. With fmt NULL
 * the reason already in x->why stands. x is gone when this returns. */
static void finish(struct fetch *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct fetch *x, int err, const char *fmt, ...)
{
    struct fetcher *f = x->f;
    struct fetch_result r;

    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->why, sizeof(x->why), fmt, ap);
        va_end(ap);
    }
    if (err == KITH_OK)
        x->why[0] = '\0';
    /* Everything that touches the fetcher happens before done: done may
     * start fetches or free the fetcher. */
    if (x->prev)
        x->prev->next = x->next;
    else
        f->fetches = x->next;
    if (x->next)
        x->next->prev = x->prev;
    lookup_abandon(x);
    conn_close(x->c);
    x->c = NULL;
    event_free(x->timer);
    event_free(x->kick);
    ERR_clear_error();

    memset(&r, 0, sizeof(r));
    r.err = err;
    r.status = err == KITH_OK ? x->status : 0;
    r.why = x->why;
    if (err == KITH_OK)
        r.body = buf_str(&x->resp);
    else
        r.body = STR_LIT("");
    r.content_type = err == KITH_OK ? x->content_type : NULL;
    r.url = x->parsed ? x->u.text : x->url_text;
    x->done(&r, x->arg);
    fetch_free(x);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *x = arg;
    (void)fd;
    (void)what;
    finish(x, KITH_EAGAIN, "no complete response from '%s' within %u s",
           x->parsed ? x->u.authority : x->url_text, x->timeout_secs);
}

/* ---- the response ---- */

static void response_reset(struct fetch *x)
{
    x->st = RS_STATUS;
    x->status = 0;
    x->http11 = x->conn_close = x->chunked = x->te = x->has_len = false;
    x->clen = x->remaining = 0;
    x->head_bytes = 0;
    x->nfields = 0;
    free(x->location);
    free(x->content_type);
    x->location = x->content_type = NULL;
    buf_free(&x->resp);
    buf_init(&x->resp, x->max_body);
}

/* Takes one line (CRLF or bare LF) out of in, NUL-terminated, without the
 * end of line. NEED_MORE while incomplete; KITH_EIO when over MAX_LINE or
 * holding a NUL. */
static int take_line(struct evbuffer *in, char *line, size_t *len)
{
    size_t eol;
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
    if (p.pos < 0)
        return evbuffer_get_length(in) >= MAX_LINE ? KITH_EIO : NEED_MORE;
    if ((size_t)p.pos >= MAX_LINE)
        return KITH_EIO;
    evbuffer_remove(in, line, (size_t)p.pos);
    evbuffer_drain(in, eol);
    line[p.pos] = '\0';
    *len = (size_t)p.pos;
    return memchr(line, '\0', *len) ? KITH_EIO : KITH_OK;
}

/* Moves up to n bytes of in into the body, within max_body. */
static int take_body(struct fetch *x, struct evbuffer *in, size_t n)
{
    char tmp[16384];
    while (n > 0) {
        int got = evbuffer_remove(in, tmp, n < sizeof(tmp) ? n : sizeof(tmp));
        if (got <= 0)
            break;
        if (buf_add(&x->resp, tmp, (size_t)got))
            return fail(x, KITH_ETOOBIG, "response from '%s' is over %zu bytes", x->u.authority,
                        x->max_body);
        n -= (size_t)got;
    }
    return KITH_OK;
}

static bool has_token(struct str v, const char *tok)
{
    while (v.len) {
        const char *comma = memchr(v.ptr, ',', v.len);
        size_t n = comma ? (size_t)(comma - v.ptr) : v.len;
        if (str_eq_nocase(str_trim(str_make(v.ptr, n)), str_from(tok)))
            return true;
        v.ptr += comma ? n + 1 : n;
        v.len -= comma ? n + 1 : n;
    }
    return false;
}

static int parse_status(struct fetch *x, const char *line, size_t len)
{
    if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
        !isdigit((unsigned char)line[11]) || (len > 12 && line[12] != ' '))
        return fail(x, KITH_EIO, "malformed status line from '%s'", x->u.authority);
    x->http11 = line[7] == '1';
    x->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (x->status < 100 || x->status > 599)
        return fail(x, KITH_EIO, "status %d from '%s'", x->status, x->u.authority);
    return KITH_OK;
}

static int parse_field(struct fetch *x, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);

    if (line[0] == ' ' || line[0] == '\t')
        return fail(x, KITH_EIO, "folded header line from '%s'", x->u.authority);
    if (!colon || colon == line)
        return fail(x, KITH_EIO, "malformed header line from '%s'", x->u.authority);
    struct str name = str_make(line, (size_t)(colon - line));
    struct str v = str_trim(str_make(colon + 1, len - name.len - 1));
    for (size_t i = 0; i < name.len; i++)
        if (!isgraph((unsigned char)name.ptr[i]))
            return fail(x, KITH_EIO, "malformed header name from '%s'", x->u.authority);

    if (str_eq_nocase(name, STR_LIT("content-length"))) {
        uint64_t n = 0;
        if (v.len == 0 || v.len > 18)
            return fail(x, KITH_EIO, "bad content-length from '%s'", x->u.authority);
        for (size_t i = 0; i < v.len; i++) {
            if (!isdigit((unsigned char)v.ptr[i]))
                return fail(x, KITH_EIO, "bad content-length from '%s'", x->u.authority);
            n = n * 10 + (uint64_t)(v.ptr[i] - '0');
        }
        if (x->has_len && n != x->clen)
            return fail(x, KITH_EIO, "conflicting content-length from '%s'", x->u.authority);
        x->has_len = true;
        x->clen = n;
    } else if (str_eq_nocase(name, STR_LIT("transfer-encoding"))) {
        /* Only the last coding decides; anything but chunked runs to the close. */
        const char *last = v.ptr;
        for (size_t i = 0; i < v.len; i++)
            if (v.ptr[i] == ',')
                last = v.ptr + i + 1;
        x->te = true;
        x->chunked = str_eq_nocase(str_trim(str_make(last, (size_t)(v.ptr + v.len - last))),
                                   STR_LIT("chunked"));
    } else if (str_eq_nocase(name, STR_LIT("connection"))) {
        if (has_token(v, "close"))
            x->conn_close = true;
    } else if (str_eq_nocase(name, STR_LIT("content-type"))) {
        free(x->content_type);
        x->content_type = xstrndup(v.ptr, v.len);
    } else if (str_eq_nocase(name, STR_LIT("location"))) {
        free(x->location);
        x->location = xstrndup(v.ptr, v.len);
    }
    return KITH_OK;
}

/* The empty line after the headers: how the body is framed. */
static int head_done(struct fetch *x)
{
    if (x->status < 200) {
        if (x->status == 101)
            return fail(x, KITH_EIO, "unexpected protocol switch from '%s'", x->u.authority);
        response_reset(x); /* 100 Continue, 103 Early Hints: the real one follows */
        return KITH_OK;
    }
    if (x->status == 204 || x->status == 304) {
        x->st = RS_DONE;
    } else if (x->te) {
        x->conn_close |= x->has_len; /* both: the length is not to be trusted */
        if (x->chunked) {
            x->st = RS_CHUNK_SIZE;
        } else {
            x->st = RS_UNTIL_EOF;
            x->conn_close = true;
        }
    } else if (x->has_len) {
        if (x->clen > x->max_body)
            return fail(x, KITH_ETOOBIG, "response from '%s' is %llu bytes, over %zu",
                        x->u.authority, (unsigned long long)x->clen, x->max_body);
        x->remaining = x->clen;
        x->st = x->clen ? RS_BODY : RS_DONE;
    } else {
        x->st = RS_UNTIL_EOF;
        x->conn_close = true;
    }
    return KITH_OK;
}

static int parse_chunk_size(struct fetch *x, const char *line, size_t len)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; i < len && isxdigit((unsigned char)line[i]); i++) {
        if (i == 15)
            return fail(x, KITH_EIO, "bad chunk size from '%s'", x->u.authority);
        int c = tolower((unsigned char)line[i]);
        n = n * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    if (i == 0 || (i < len && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
        return fail(x, KITH_EIO, "bad chunk size from '%s'", x->u.authority);
    if (n == 0) {
        x->st = RS_TRAILERS;
        return KITH_OK;
    }
    if (n > x->max_body - x->resp.len)
        return fail(x, KITH_ETOOBIG, "response from '%s' is over %zu bytes", x->u.authority,
                    x->max_body);
    x->remaining = n;
    x->st = RS_CHUNK_DATA;
    return KITH_OK;
}

/* One step of the response parser: KITH_OK when it moved on, NEED_MORE, or
 * an error (x->why set). */
static int parse_step(struct fetch *x, struct evbuffer *in)
{
    char line[MAX_LINE];
    size_t len = 0, avail = evbuffer_get_length(in);
    int rc;

    switch (x->st) {
    case RS_STATUS:
    case RS_HEADERS:
    case RS_CHUNK_SIZE:
    case RS_CHUNK_END:
    case RS_TRAILERS:
        if ((rc = take_line(in, line, &len)) != KITH_OK)
            return rc == NEED_MORE
                       ? rc
                       : fail(x, KITH_EIO, "malformed response from '%s'", x->u.authority);
        break;
    default:
        break;
    }
    switch (x->st) {
    case RS_STATUS:
        if ((rc = parse_status(x, line, len)))
            return rc;
        x->head_bytes = len + 2;
        x->st = RS_HEADERS;
        return KITH_OK;
    case RS_HEADERS:
    case RS_TRAILERS:
        x->head_bytes += len + 2;
        if (x->head_bytes > FETCH_MAX_HEADERS || ++x->nfields > MAX_FIELDS)
            return fail(x, KITH_EIO, "response headers from '%s' are too large", x->u.authority);
        if (len == 0) {
            if (x->st == RS_TRAILERS) {
                x->st = RS_DONE;
                return KITH_OK;
            }
            return head_done(x);
        }
        return x->st == RS_HEADERS ? parse_field(x, line, len) : KITH_OK;
    case RS_CHUNK_SIZE:
        return parse_chunk_size(x, line, len);
    case RS_CHUNK_END:
        if (len != 0)
            return fail(x, KITH_EIO, "malformed chunk from '%s'", x->u.authority);
        x->st = RS_CHUNK_SIZE;
        return KITH_OK;
    case RS_BODY:
    case RS_CHUNK_DATA: {
        if (avail == 0)
            return NEED_MORE;
        size_t n = avail < x->remaining ? avail : (size_t)x->remaining;
        if ((rc = take_body(x, in, n)))
            return rc;
        x->remaining -= n;
        if (x->remaining == 0)
            x->st = x->st == RS_BODY ? RS_DONE : RS_CHUNK_END;
        return KITH_OK;
    }
    case RS_UNTIL_EOF:
        if ((rc = take_body(x, in, avail)))
            return rc;
        return NEED_MORE;
    case RS_DONE:
        break;
    }
    return KITH_OK;
}

/* The whole response is in: follow a redirect or finish. */
static void response_done(struct fetch *x)
{
    /* Reusable when the framing was sound, nobody said close, and nothing
     * is left over in either direction (a server may answer early). */
    bool keep = x->http11 && !x->conn_close && x->st == RS_DONE &&
                evbuffer_get_length(bufferevent_get_input(x->c->bev)) == 0 &&
                evbuffer_get_length(bufferevent_get_output(x->c->bev)) == 0;
    bool redirect = x->status == 301 || x->status == 302 || x->status == 303 || x->status == 307 ||
                    x->status == 308;

    if (keep)
        conn_park(x);
    else {
        conn_close(x->c);
        x->c = NULL;
    }
    if (redirect && !x->post && x->location) {
        if (x->redirects_left <= 0) {
            finish(x, KITH_ETOOBIG, "more than %d redirects, the last from '%s'", x->max_redirects,
                   x->u.text);
            return;
        }
        char *next = url_resolve(&x->u, x->location);
        if (!next) {
            finish(x, KITH_EINVAL, "bad redirect location from '%s'", x->u.text);
            return;
        }
        x->redirects_left--;
        free(x->url_text);
        x->url_text = next;
        hop_start(x);
        return;
    }
    finish(x, KITH_OK, NULL);
}

/* Parses what the input holds. Returns true when x has ended (and is freed). */
static bool parse_input(struct fetch *x)
{
    struct evbuffer *in = bufferevent_get_input(x->c->bev);
    if (evbuffer_get_length(in) > 0)
        x->got_bytes = true;
    for (;;) {
        int rc = parse_step(x, in);
        if (rc == NEED_MORE)
            return false;
        if (rc != KITH_OK) {
            finish(x, rc, NULL);
            return true;
        }
        if (x->st == RS_DONE) {
            response_done(x);
            return true;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    parse_input(arg);
}

/* ---- connecting and sending ---- */

static void send_request(struct fetch *x)
{
    struct bufferevent *bev = x->c->bev;
    response_reset(x);
    x->got_bytes = false;
    bufferevent_write(bev, x->req.data, x->req.len);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Why a connection that never came up failed; true for a TLS failure
 * (certificate or protocol), which the next address would not cure. */
static bool connect_failure(struct fetch *x, int err, char *out, size_t size)
{
    struct bufferevent *bev = x->c->bev;
    char addr[64];

    if (x->u.tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        unsigned long e, first = 0;
        while ((e = bufferevent_get_openssl_error(bev)))
            if (!first && ERR_GET_LIB(e)) /* skip libevent's SSL_ERROR_* codes */
                first = e;
        if (v != X509_V_OK) {
            snprintf(out, size, "certificate verify failed for '%s': %s", x->u.host,
                     X509_verify_cert_error_string(v));
            return true;
        }
        if (first) {
            const char *reason = ERR_reason_error_string(first);
            snprintf(out, size, "tls handshake with '%s' failed: %s", x->u.authority,
                     reason ? reason : "unknown error");
            return true;
        }
    }
    ipaddr_format(&x->addrs[x->next_addr - 1], addr, sizeof(addr));
    snprintf(out, size, "connect to %s port %u for '%s' failed: %s", addr, (unsigned)x->u.port,
             x->u.host, err ? evutil_socket_error_to_string(err) : "connection closed");
    return false;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct fetch *x = arg;
    int err = EVUTIL_SOCKET_ERROR(); /* libevent restores it for deferred callbacks */

    if (what & BEV_EVENT_CONNECTED) {
        x->connected = true;
        return;
    }
    /* Bytes that came with the close are parsed first. */
    if (x->connected && evbuffer_get_length(bufferevent_get_input(bev)) > 0 && parse_input(x))
        return;
    if (x->st == RS_UNTIL_EOF && (what & BEV_EVENT_EOF)) {
        response_done(x);
        return;
    }
    if (x->reused && !x->got_bytes && !x->resent) {
        /* The server closed the idle connection as we reused it: once more
         * on a new one. */
        conn_close(x->c);
        x->c = NULL;
        x->resent = true;
        find_addresses(x);
        return;
    }
    if (!x->connected) {
        char why[sizeof(x->why)];
        bool tls = connect_failure(x, err, why, sizeof(why));
        conn_close(x->c);
        x->c = NULL;
        if (!tls && x->next_addr < x->naddrs) {
            connect_next(x);
            return;
        }
        finish(x, KITH_EIO, "%s", why);
        return;
    }
    finish(x, KITH_EIO, "connection to '%s' %s before the response ended", x->u.authority,
           (what & BEV_EVENT_ERROR) && err ? evutil_socket_error_to_string(err) : "closed");
}

/* Connects to x->addrs[x->next_addr] and sends the request. */
static void connect_next(struct fetch *x)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    const struct ipaddr *a = &x->addrs[x->next_addr++];

    memset(&ss, 0, sizeof(ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(x->u.port);
        memcpy(&sin->sin_addr, a->bytes, 4);
        sl = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(x->u.port);
        memcpy(&sin6->sin6_addr, a->bytes, 16);
        sl = sizeof(*sin6);
    }
    if (!(x->c = conn_new(x))) {
        finish(x, KITH_EIO, "cannot set up a connection to '%s'", x->u.authority);
        return;
    }
    x->reused = false;
    x->connected = false;
    bufferevent_setcb(x->c->bev, on_read, NULL, on_event, x);
    if (bufferevent_socket_connect(x->c->bev, (struct sockaddr *)&ss, (int)sl) < 0) {
        char addr[64];
        int err = EVUTIL_SOCKET_ERROR();
        conn_close(x->c);
        x->c = NULL;
        if (x->next_addr < x->naddrs) {
            connect_next(x);
            return;
        }
        ipaddr_format(a, addr, sizeof(addr));
        finish(x, KITH_EIO, "connect to %s port %u for '%s' failed: %s", addr, (unsigned)x->u.port,
               x->u.host, evutil_socket_error_to_string(err));
        return;
    }
    send_request(x);
}

/* The SSRF guard over x->addrs, then the first connection attempt. */
static void connect_first(struct fetch *x)
{
    if (!x->f->cfg->allow_private_addresses) {
        size_t n = 0;
        const struct ipaddr *denied = NULL;
        for (size_t i = 0; i < x->naddrs; i++) {
            if (!ipaddr_is_private(&x->addrs[i]))
                x->addrs[n++] = x->addrs[i];
            else if (!denied)
                denied = &x->addrs[i];
        }
        if (n == 0) {
            char addr[64];
            ipaddr_format(denied, addr, sizeof(addr));
            finish(x, KITH_EDENIED, "refusing to connect to private address %s for '%s'", addr,
                   x->u.host);
            return;
        }
        x->naddrs = n;
    }
    x->next_addr = 0;
    connect_next(x);
}

static void resolver_reap(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;
    (void)fd;
    (void)what;
    event_free(r->reaper);
    evdns_base_free(r->dns, 0);
    free(r);
}

/* Frees r from the loop, after every evdns callback already queued: they
 * share its priority and run first. */
static void resolver_free_later(struct resolver *r)
{
    r->reaper = event_new(r->base, -1, 0, resolver_reap, r);
    KITH_ASSERT(r->reaper != NULL);
    event_active(r->reaper, 0, 0);
}

static void resolved(struct fetch *x, int result, struct evutil_addrinfo *ai);

static void on_resolved(int result, struct evutil_addrinfo *ai, void *arg)
{
    struct lookup *l = arg;
    struct resolver *r = l->r;
    struct fetch *x = l->x;

    r->pending--;
    free(l);
    if (!x) { /* abandoned: this is the EVUTIL_EAI_CANCEL call */
        if (ai)
            evutil_freeaddrinfo(ai);
        if (r->orphaned && r->pending == 0)
            resolver_free_later(r);
        return;
    }
    x->lookup = NULL;
    r->depth++; /* done may free the fetcher: r stays until we return */
    resolved(x, result, ai);
    r->depth--;
}

static void resolved(struct fetch *x, int result, struct evutil_addrinfo *ai)
{
    if (result != 0) {
        if (ai)
            evutil_freeaddrinfo(ai);
        finish(x, KITH_EIO, "cannot resolve '%s': %s", x->u.host, evutil_gai_strerror(result));
        return;
    }
    x->naddrs = 0;
    for (struct evutil_addrinfo *p = ai; p && x->naddrs < MAX_ADDRS; p = p->ai_next)
        if (ipaddr_from_sockaddr(p->ai_addr, &x->addrs[x->naddrs]) == KITH_OK)
            x->naddrs++;
    if (ai)
        evutil_freeaddrinfo(ai);
    if (x->naddrs == 0) {
        finish(x, KITH_EIO, "cannot resolve '%s': no address", x->u.host);
        return;
    }
    connect_first(x);
}

/* The addresses for x's host: the host itself, a resolve override, or DNS. */
static void find_addresses(struct fetch *x)
{
    const struct kith_config *cfg = x->f->cfg;
    struct evutil_addrinfo hints;

    x->naddrs = 0;
    if (x->u.host_is_ip) {
        x->addrs[x->naddrs++] = x->u.ip;
        connect_first(x);
        return;
    }
    for (size_t i = 0; i < cfg->nresolves; i++) {
        if (cfg->resolves[i].port == x->u.port && strcmp(cfg->resolves[i].host, x->u.host) == 0) {
            x->addrs[x->naddrs++] = cfg->resolves[i].addr;
            connect_first(x);
            return;
        }
    }
    struct lookup *l = xcalloc(1, sizeof(*l));
    l->r = x->f->res;
    l->x = x;
    l->r->pending++;
    x->lookup = l;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(l->r->dns, x->u.host, NULL, &hints, on_resolved, l);
    /* NULL: on_resolved has run already (a name from /etc/hosts, an error)
     * and l, maybe x, are gone. */
    if (req)
        l->req = req;
}

/* Builds this hop's request into x->req, signed when asked. */
static int build_request(struct fetch *x)
{
    const char *method = x->post ? "POST" : "GET";
    struct buf *b = &x->req;
    char date[64];
    int rc;

    buf_free(b);
    buf_init(b, (size_t)-1);
    if (x->date)
        snprintf(date, sizeof(date), "%s", x->date);
    else
        http_date(date, sizeof(date));
    buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\nDate: %s\r\nAccept: %s\r\nUser-Agent: %s\r\n",
               method, x->u.target, x->u.authority, date, x->accept, x->f->user_agent);
    if (x->post)
        buf_printf(b, "Content-Type: %s\r\nContent-Length: %zu\r\nDigest: %s\r\n", x->ctype,
                   x->body_len, x->digest);
    if (x->headers)
        buf_add_cstr(b, x->headers);
    if (x->sign) {
        struct buf sig;
        buf_init(&sig, MAX_SIGNATURE);
        rc = x->sign(x->sign_arg, method, x->u.authority, x->u.target, date,
                     x->post ? str_from(x->digest) : STR_LIT(""), &sig);
        if (rc == KITH_OK && (sig.len == 0 || memchr(sig.data, '\r', sig.len) ||
                              memchr(sig.data, '\n', sig.len) || strlen(sig.data) != sig.len))
            rc = KITH_EINVAL;
        if (rc == KITH_OK)
            buf_printf(b, "Signature: %s\r\n", sig.data);
        buf_free(&sig);
        if (rc != KITH_OK)
            return fail(x, rc, "signing the request to '%s' failed: %s", x->u.text,
                        kith_strerror(rc));
    }
    buf_add(b, "\r\n", 2);
    if (x->post)
        buf_add(b, x->body, x->body_len);
    return KITH_OK;
}

static void hop_start(struct fetch *x)
{
    const char *bad;
    int rc;

    url_clear(&x->u);
    x->parsed = false;
    if ((bad = url_parse(x->url_text, &x->u))) {
        url_clear(&x->u);
        finish(x, KITH_EINVAL, "%s: '%.200s'", bad, x->url_text);
        return;
    }
    x->parsed = true;
    x->resent = false;
    if ((rc = build_request(x))) {
        finish(x, rc, NULL);
        return;
    }
    if ((x->c = idle_take(x->f, x->u.origin))) {
        atomic_fetch_add(&x->f->reused, 1);
        x->reused = true;
        x->connected = true;
        bufferevent_setcb(x->c->bev, on_read, NULL, on_event, x);
        send_request(x);
        return;
    }
    find_addresses(x);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hop_start(arg);
}

/* ---- the public interface ---- */

int fetcher_new(struct event_base *base, const struct kith_config *cfg, struct fetcher **out,
                char *err, size_t errlen)
{
    struct fetcher *f = xcalloc(1, sizeof(*f));
    f->max_idle = FETCH_MAX_IDLE;

    *out = NULL;
    f->base = base;
    f->cfg = cfg;
    f->res = xcalloc(1, sizeof(*f->res));
    f->res->base = base;
    f->res->dns =
        evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!f->res->dns) {
        snprintf(err, errlen, "cannot set up the resolver from /etc/resolv.conf");
        goto fail;
    }
    if (!(f->ssl = SSL_CTX_new(TLS_client_method()))) {
        snprintf(err, errlen, "cannot create a TLS client context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(f->ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(f->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
                                    | SSL_OP_IGNORE_UNEXPECTED_EOF
#endif
    );
    SSL_CTX_set_verify(f->ssl, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_default_verify_paths(f->ssl) != 1) {
        snprintf(err, errlen, "cannot load the system's trusted certificates");
        goto fail;
    }
    if (cfg->ca_file && SSL_CTX_load_verify_locations(f->ssl, cfg->ca_file, NULL) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *reason = e ? ERR_reason_error_string(e) : NULL;
        snprintf(err, errlen, "cannot load ca_file '%s': %s", cfg->ca_file,
                 reason ? reason : "unreadable");
        goto fail;
    }
    if (cfg->public_url)
        snprintf(f->user_agent, sizeof(f->user_agent), "kith/%s (+%.256s)", KITH_VERSION,
                 cfg->public_url);
    else
        snprintf(f->user_agent, sizeof(f->user_agent), "kith/%s", KITH_VERSION);
    *out = f;
    return KITH_OK;
fail:
    ERR_clear_error();
    SSL_CTX_free(f->ssl);
    if (f->res->dns)
        evdns_base_free(f->res->dns, 0);
    free(f->res);
    free(f);
    return KITH_EIO;
}

void fetcher_free(struct fetcher *f)
{
    if (!f)
        return;
    f->stopping = true;
    while (f->fetches)
        finish(f->fetches, KITH_ESTOPPED, "the fetcher is shutting down");
    while (f->idle)
        idle_close(f->idle);
    SSL_CTX_free(f->ssl);
    if (f->res->pending == 0 && f->res->depth == 0) {
        evdns_base_free(f->res->dns, 0);
        free(f->res);
    } else {
        f->res->orphaned = true; /* the last cancelled lookup frees it */
        if (f->res->pending == 0)
            resolver_free_later(f->res);
    }
    free(f);
}

struct evdns_base *fetcher_dns(struct fetcher *f)
{
    return f->res->dns;
}

int fetch_start(struct fetcher *f, const char *url, const struct fetch_opts *o, fetch_done_fn *done,
                void *arg)
{
    static const struct fetch_opts defaults;
    struct timeval tv;
    bool post;

    if (!o)
        o = &defaults;
    if (!url || !done)
        return KITH_EINVAL;
    if (!o->method || strcmp(o->method, "GET") == 0)
        post = false;
    else if (strcmp(o->method, "POST") == 0)
        post = true;
    else
        return KITH_EINVAL;
    if (has_crlf(o->accept) || has_crlf(o->content_type) || has_crlf(o->date))
        return KITH_EINVAL;
    if (f->stopping)
        return KITH_ESTOPPED;

    struct fetch *x = xcalloc(1, sizeof(*x));
    x->f = f;
    x->done = done;
    x->arg = arg;
    x->post = post;
    x->url_text = xstrdup(url);
    x->accept = xstrdup(o->accept ? o->accept : FETCH_ACCEPT_AP);
    x->ctype = xstrdup(o->content_type ? o->content_type : "application/activity+json");
    x->date = o->date ? xstrdup(o->date) : NULL;
    x->headers = o->headers ? xstrdup(o->headers) : NULL;
    if (post) {
        x->body = xmalloc(o->body.len + 1);
        if (o->body.len)
            memcpy(x->body, o->body.ptr, o->body.len);
        x->body_len = o->body.len;
        httpsig_digest(str_make(x->body, x->body_len), x->digest);
    }
    x->sign = o->sign;
    x->sign_arg = o->sign_arg;
    x->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    x->timeout_secs = o->timeout_secs ? o->timeout_secs : DEFAULT_TIMEOUT;
    x->max_redirects = o->max_redirects < 0 ? 0
                       : o->max_redirects   ? o->max_redirects
                                            : DEFAULT_REDIRECTS;
    x->redirects_left = x->max_redirects;
    buf_init(&x->req, (size_t)-1);
    buf_init(&x->resp, x->max_body);

    x->timer = evtimer_new(f->base, on_timeout, x);
    x->kick = event_new(f->base, -1, 0, on_kick, x);
    KITH_ASSERT(x->timer && x->kick);
    tv.tv_sec = (time_t)x->timeout_secs;
    tv.tv_usec = 0;
    evtimer_add(x->timer, &tv);
    event_active(x->kick, 0, 0);

    x->next = f->fetches;
    if (f->fetches)
        f->fetches->prev = x;
    f->fetches = x;
    return KITH_OK;
}

int fetch_url_parts(const char *url, char *authority, size_t alen, char *target, size_t tlen)
{
    struct url u;
    memset(&u, 0, sizeof(u));
    const char *bad = url ? url_parse(url, &u) : "no URL";
    int rc = KITH_EINVAL;
    if (!bad && strlen(u.authority) < alen && strlen(u.target) < tlen) {
        snprintf(authority, alen, "%s", u.authority);
        snprintf(target, tlen, "%s", u.target);
        rc = KITH_OK;
    }
    url_clear(&u);
    return rc;
}
