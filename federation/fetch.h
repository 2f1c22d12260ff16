/* federation/fetch.h: the asynchronous outbound HTTP(S) client.
 *
 * Layer: federation. Fetches remote actors, keys and objects and delivers
 * activities: HTTP/1.1 of its own over libevent bufferevents (OpenSSL ones
 * for https), names through evdns, so nothing here blocks an event loop.
 *
 * What it enforces, so callers need not:
 *  - http:// and https:// URLs only; certificates checked against the system
 *    trust store plus cfg->ca_file, the URL's host name checked and sent as
 *    SNI, TLS 1.2 or later;
 *  - the SSRF guard: unless cfg->allow_private_addresses, addresses that
 *    ipaddr_is_private() names (loopback, private, link-local, multicast,
 *    unspecified) are never connected to. It runs after resolution (resolve
 *    overrides and numeric hosts included) on every hop, so a redirect cannot
 *    lead inside. Private addresses among public ones are skipped; when none
 *    is left the fetch fails with KITH_EDENIED;
 *  - a cap on the response body while it is read, one timeout over the whole
 *    exchange (resolution, connect, TLS, every redirect), and at most
 *    max_redirects redirects (GET only), each hop signed anew.
 *
 * Connections are kept alive and reused for the same scheme, host and port
 * (FETCH_MAX_IDLE idle at most, each closed after FETCH_IDLE_SECS). A request
 * whose reused connection turns out closed before any byte of the response
 * arrived is sent once more on a new connection, POSTs included: the inbox
 * side is idempotent by activity id, and a lost delivery is worse than a
 * duplicate.
 *
 * Thread: a fetcher and its fetches belong to the one loop thread that runs
 * its event_base; call everything from that thread (fetcher_free also from
 * the thread that stopped the loop, after it returned). The process ignores
 * SIGPIPE (kithd does): a peer may close while a request is being written.
 * Owned: fetcher_free() releases the fetcher; fetch_start copies what it is
 * given; a result's strings and body are valid only during the callback.
 */
#ifndef KITH_FEDERATION_FETCH_H
#define KITH_FEDERATION_FETCH_H

#include "../src/base/buf.h"
#include "../src/base/config.h"
#include "../src/base/str.h"

#include <stddef.h>

#define FETCH_MAX_IDLE    32          /* idle connections kept per fetcher, by default */
#define FETCH_IDLE_SECS   30          /* an idle connection is closed after this */
#define FETCH_MAX_HEADERS (64 * 1024) /* bytes of response status line and headers */

struct event_base;
struct evdns_base;
struct fetcher; /* one per event loop (event_base); not thread-safe */

/* Creates a fetcher on base (borrowed; it outlives the fetcher), with an
 * evdns_base (name servers and search list from /etc/resolv.conf, names from
 * /etc/hosts) and an OpenSSL client context: the system trust store plus
 * cfg->ca_file when set, peer verification, TLS >= 1.2. cfg is borrowed and
 * outlives the fetcher; its resolve entries override DNS for their host and
 * port. Fails with KITH_EIO and a message in err (e.g. an unreadable ca_file). */
int fetcher_new(struct event_base *base, const struct kith_config *cfg, struct fetcher **out,
                char *err, size_t errlen);
/* Cancels every pending fetch, calling its done with KITH_ESTOPPED before
 * returning, closes idle connections and frees the fetcher. A done callback
 * may call it, except one that fetcher_free itself is running; so may the
 * thread that stopped the loop, once the loop has returned. With a lookup in
 * flight (or from a done callback run by a lookup) the resolver is left to
 * the loop, which frees it on its next turn: a caller whose loop will not run
 * again calls event_base_loop(base, EVLOOP_NONBLOCK) once after this, before
 * event_base_free, or it leaks. NULL is fine. */
void fetcher_free(struct fetcher *f);
/* The fetcher's resolver (borrowed), for tests that point it at a name server
 * of their own. */
struct evdns_base *fetcher_dns(struct fetcher *f);

/* Signs one outgoing request (kith passes a function that signs with an
 * actor's key, e.g. httpsig_sign_cavage). host is as in the Host header,
 * target is path?query, date the Date header, digest the Digest header (empty
 * for GET). Appends the Signature header's value to out; a non-zero return
 * ends the fetch with that error. Called on the loop thread, once per hop. */
typedef int fetch_sign_fn(void *arg, const char *method, const char *host, const char *target,
                          const char *date, struct str digest, struct buf *out);

/* Options of one fetch; zero fields take the defaults. */
struct fetch_opts {
    const char *method;       /* "GET" (default) or "POST" */
    const char *accept;       /* default FETCH_ACCEPT_AP */
    const char *content_type; /* POST: default "application/activity+json" */
    struct str body;          /* POST body (copied by fetch_start) */
    fetch_sign_fn *sign;      /* NULL: unsigned */
    void *sign_arg;
    size_t max_body;       /* response body cap, default 1 MiB; larger -> KITH_ETOOBIG */
    unsigned timeout_secs; /* whole exchange incl. resolution and connect, default 10 */
    int max_redirects;     /* default 3 (negative: none followed); GET only */
    const char *date;      /* the Date header to send (a request signed in advance); NULL: now */
    const char *headers;   /* more header lines, each ending in CRLF (the caller's, not the
                              network's: not checked), or NULL */
};

#define FETCH_ACCEPT_AP                             \
 "application/activity+json, application/ld+json; " \
 "profile=\"https://www.w3.org/ns/activitystreams\""

struct fetch_result {
    /* KITH_OK when an HTTP response arrived, whatever its status. Else:
     * KITH_EIO (resolution, connect, TLS and certificates, reset, a malformed
     * response), KITH_EAGAIN (timeout), KITH_EDENIED (SSRF guard),
     * KITH_ETOOBIG (body over max_body, or more than max_redirects redirects),
     * KITH_EINVAL (bad URL, also in a redirect's Location), KITH_ESTOPPED
     * (fetcher_free), or what the sign callback returned. */
    int err;
    int status;               /* HTTP status; 0 when err != KITH_OK */
    const char *why;          /* lowercase reason on failure, "" on success */
    struct str body;          /* the response body (NUL-terminated) */
    const char *content_type; /* the Content-Type header, or NULL */
    const char *url;          /* final URL after redirects, normalised (lowercase
                                 scheme and host, no default port, no fragment) */
};
typedef void fetch_done_fn(const struct fetch_result *r, void *arg);

/* Starts a request for url (http or https; the fragment is dropped) with
 * options o (NULL: all defaults). done is called exactly once, later, on the
 * fetcher's loop, never from inside fetch_start; everything that can go wrong
 * with the URL or the exchange is reported there. fetch_start itself fails,
 * without calling done, only for a misuse (KITH_EINVAL: NULL url or done,
 * method other than GET or POST, CR or LF in accept or content_type) or while
 * fetcher_free runs (KITH_ESTOPPED). */
/* At most n idle keep-alive connections (the least recently used closes
 * first). The delivery engine keeps one per host's window. */
void fetcher_set_max_idle(struct fetcher *f, unsigned n);
/* Connections opened, and requests sent on a kept-alive one, since start
 * (safe from any thread). */
void fetcher_counts(struct fetcher *f, uint64_t *opened, uint64_t *reused);

int fetch_start(struct fetcher *f, const char *url, const struct fetch_opts *o, fetch_done_fn *done,
                void *arg);

/* The Host header value (authority) and request target (path?query) that a
 * fetch of url would send on its first hop, so a request can be signed in
 * advance (off the loop). KITH_EINVAL for a URL fetch_start would refuse. */
int fetch_url_parts(const char *url, char *authority, size_t alen, char *target, size_t tlen);

#endif
