/* src/http/server.h: kith's HTTP server on libevent's evhttp.
 *
 * Layer: http. N event-loop threads, each with its own event_base and one
 * evhttp per configured listener, all accepting on the same listening
 * sockets. Requests are routed through a route table (router.h); each gets
 * a struct http_ctx with its own arena, released right after the reply.
 *
 * Limits: header and body sizes (evhttp's, plus each route's body limit),
 * one timeout for idle connections, slow headers and slow bodies (libevent
 * 2.1 has no separate read and write timeouts), and a per-client-address
 * token bucket (429 with Retry-After). The number of open connections is
 * capped by the reverse proxy, not here: libevent 2.1.12 offers no sound
 * way to count them (docs/decisions.md).
 *
 * Thread: handlers run on their loop thread and must not block. The server
 * struct is shared read-only between threads after http_server_start.
 * Owned: http_server_stop() stops and frees everything.
 */
#ifndef KITH_HTTP_SERVER_H
#define KITH_HTTP_SERVER_H

#include "../../storage/kv.h"
#include "../base/arena.h"
#include "../base/config.h"
#include "../core/core.h"
#include "router.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct evhttp_request;
struct http_server;
struct http_thread;

struct http_ctx {
    struct evhttp_request *req;
    struct http_thread *thread;
    struct http_server *server;
    struct arena arena; /* released right after the reply */
    const struct route *route;
    struct route_params params;
    struct str method;
    struct str path;     /* decoded by nobody: as sent, without the query */
    struct str query;    /* after '?', or empty */
    struct str body;     /* whole request body, in the arena */
    char client[48];     /* client address (from trusted proxies only) */
    bool https;          /* TLS listener, or X-Forwarded-Proto from a trusted proxy */
    struct kv_txn *rtxn; /* this request's read snapshot, or NULL */
    int status;          /* status sent, for the access log */
    size_t sent_bytes;
    uint64_t start_ns;
};

struct http_server_opts {
    const struct kith_config *cfg; /* borrowed; outlives the server */
    struct core *core;             /* borrowed */
    const struct route *routes;    /* borrowed table */
    size_t nroutes;
    bool access_log;                      /* one line per request on standard error */
    void *app;                            /* the edges' shared state (federation), opaque here */
    void (*thread_data_free)(void *data); /* frees a loop's data slot when the loop ends */
};

/* Binds every listener and starts the loop threads. On failure err holds
 * one line naming the listener and the reason. */
int http_server_start(const struct http_server_opts *opts, struct http_server **out, char *err,
                      size_t errlen);
/* Stops accepting, lets in-flight requests finish (up to grace_secs; new
 * requests on open connections get 503), joins the threads and frees the
 * server. Call from the thread that started it. */
void http_server_stop(struct http_server *s, unsigned grace_secs);

/* The server's core (for handlers). */
struct core *http_core(struct http_ctx *ctx);
/* The opaque application state given in http_server_opts.app. */
void *http_app(struct http_ctx *ctx);
/* This loop thread's own data slot (NULL until a handler sets it); freed
 * with opts.thread_data_free when the loop ends. */
void **http_thread_data(struct http_ctx *ctx);
/* A second per-loop slot, for the client API's cache: NULL until set;
 * free_fn releases it when the loop ends. */
void *http_thread_cache(struct http_ctx *ctx);
void http_thread_set_cache(struct http_ctx *ctx, void *cache, void (*free_fn)(void *));
/* The loop's event_base, for edges that start asynchronous work on it. */
struct event_base *http_event_base(struct http_ctx *ctx);
/* A read transaction (snapshot) for this request, taken on first use and
 * released at the reply; values read through it stay valid until then,
 * also across an asynchronous wait. */
int http_read_txn(struct http_ctx *ctx, struct kv_txn **out);

/* Renews this request's read snapshot, to see its own write once it is
 * committed; values read through the old snapshot are invalid after. */
int http_read_txn_fresh(struct http_ctx *ctx, struct kv_txn **out);

/* ---- request ---- */

/* A request header's value (first occurrence); STR_NULL when absent. */
struct str http_header(struct http_ctx *ctx, const char *name);
/* The value of cookie `name` from the Cookie header(s), or STR_NULL. */
struct str http_cookie(struct http_ctx *ctx, const char *name);
/* Sets cookie name=value (a token: no quoting) for the whole site: HttpOnly,
 * SameSite=Lax, Secure when public_url is https; max_age 0 deletes it. */
void http_set_cookie(struct http_ctx *ctx, const char *name, const char *value, long max_age);
/* Every occurrence of a header joined with ", " (as HTTP allows); in the arena. */
struct str http_header_joined(struct http_ctx *ctx, const char *name);
/* The percent-decoded value of a query parameter, in the arena; STR_NULL
 * when absent or when it decodes to bytes with a NUL. */
struct str http_query(struct http_ctx *ctx, const char *name);
/* The public URL of a path on this instance: public_url + path, in the arena. */
const char *http_url(struct http_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- durable writes ---- */

/* Called on ctx's loop thread once the write is durable (rc = KITH_OK) or
 * has failed (rc = apply's error, or KITH_ESTORE); it must reply. */
typedef void http_write_done_fn(struct http_ctx *ctx, int rc, void *arg);

/* Submits apply(txn, apply_arg) to the writer. The handler then returns
 * HANDLER_ASYNC; `then` runs later on the same loop thread, after the
 * group commit, so a reply sent from it never acknowledges a write that is
 * not on disk. apply_arg and then_arg must live until then (the arena
 * does). Returns KITH_ESTOPPED if the writer is stopping (reply at once). */
int http_write(struct http_ctx *ctx, writer_apply_fn *apply, void *apply_arg,
               http_write_done_fn *then, void *then_arg);

/* Password sign-in throttling, per client address (taken from
 * X-Forwarded-For only behind trusted_proxies) and per account name: 0 when
 * this attempt may go on, else the seconds to wait (answer 429 with
 * Retry-After). Each call counts as an attempt. */
unsigned http_signin_throttle(struct http_ctx *ctx, struct str account);

/* Runs work(arg) on a worker thread (for blocking CPU work such as
 * argon2 hashing, never on a loop); `then` runs afterwards on ctx's loop
 * thread with work's result as rc, and must reply. Returns KITH_ESTOPPED
 * if the server is stopping (reply at once). */
int http_offload(struct http_ctx *ctx, int (*work)(void *arg), void *arg, http_write_done_fn *then,
                 void *then_arg);

/* ---- replies: each sends the response and releases ctx ---- */

/* Sends a redirect (301, 302, 303, 307, 308) to location. */
void http_redirect(struct http_ctx *ctx, int status, const char *location);

/* Sends root (consumed: freed here) as application/json. */
void http_reply_json(struct http_ctx *ctx, int status, cJSON *root);
/* Sends {"error": "..."} with status. */
void http_reply_error(struct http_ctx *ctx, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends body as is with the given content type. */
void http_reply_raw(struct http_ctx *ctx, int status, const char *content_type, struct str body);
/* Sends the regular file fd (consumed: closed here) with status 200; a
 * HEAD request gets the headers only. The kernel copies the bytes. */
void http_reply_file(struct http_ctx *ctx, const char *content_type, int fd);
/* Adds a response header before the reply. */
void http_add_header(struct http_ctx *ctx, const char *name, const char *value);

/* The routes the HTTP layer itself serves (GET /health). */
extern const struct route http_core_routes[];
extern const size_t http_core_nroutes;

#endif
