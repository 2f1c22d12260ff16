/* src/http/server.c: evhttp on N loop threads, routing, limits, replies,
 * access log, graceful stop. */
#include "server.h"
#include "params.h"
#include "stream.h"

#include "../base/err.h"
#include "../base/log.h"
#include "../base/mem.h"
#include "../base/netaddr.h"
#include "../base/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define ACCESS_LOG_FLUSH_BYTES (32 << 10)
#define ACCESS_LOG_FLUSH_MS    250
#define DRAIN_MS               1000
#define LISTEN_BACKLOG         1024

/* One evhttp of one thread, for one configured listener. */
struct http_port {
    struct http_thread *thread;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL once we stopped accepting */
    struct evconnlistener *listener;   /* owned by bound */
    struct event *resume_ev;           /* re-enables the listener after an accept error */
    bool paused;
    bool tls;
};

struct http_thread {
    struct http_server *srv;
    unsigned index;
    pthread_t tid;
    struct event_base *base;
    struct http_port *ports; /* one per listener */
    struct event *stop_ev;   /* activated by http_server_stop */
    struct event *flush_ev;  /* access log timer */
    struct event *drain_ev;  /* end of the drain window after stop */
    struct kv_txn *txns[8];  /* reset read transactions to renew */
    unsigned ntxns;
    struct buf log;    /* buffered access log lines */
    unsigned inflight; /* requests dispatched and not yet answered */
    bool stopping;
    bool drained;              /* the drain window is over */
    struct event *mail_ev;     /* durable writes to finish on this loop */
    pthread_mutex_t mail_lock; /* guards mail and mail_closed */
    struct pending_write *mail;
    bool mail_closed; /* the loop has stopped: finish nothing more */
    void *data;       /* the edges' per-loop data (http_thread_data) */
    void *cache;      /* the API's per-loop cache (http_thread_cache) */
    void (*cache_free)(void *);
    struct http_ctx *spare;      /* contexts to reuse, linked through req */
    struct http_stream *streams; /* open WebSockets and event streams */
    unsigned nspare;
    time_t ts_sec;    /* second of ts_text */
    char ts_text[32]; /* "YYYY-MM-DDTHH:MM:SS." for the access log */
};

struct pending_write;

/* Blocking work (argon2 hashing) run off the loops (http_offload). */
#define OFFLOAD_THREADS 2
struct offload {
    pthread_t threads[OFFLOAD_THREADS];
    unsigned nthreads;
    pthread_mutex_t lock; /* guards head, tail, stop */
    pthread_cond_t wake;
    struct pending_write *head, *tail;
    bool stop;
};

struct http_server {
    struct http_server_opts opts;
    struct offload off;
    struct ratelimit *signin_rl; /* password attempts, per address and per account */
    const struct kith_config *cfg;
    int *fds; /* listening sockets, one per listener */
    size_t nfds;
    SSL_CTX *ssl;
    struct ratelimit *rl;
    struct http_thread *threads;
    unsigned nthreads;
    atomic_bool stopping;
};

/* ---- TLS connections ---- */

/* libevent 2.1.12 gives no sound way to count a connection that never
 * completes a request (see docs/decisions.md), so kithd caps nothing here:
 * timeouts close idle and slow connections, and the reverse proxy caps the
 * number (nginx limit_conn). */
static struct bufferevent *make_tls_bev(struct event_base *base, void *arg)
{
    struct http_port *p = arg;
    SSL *ssl = SSL_new(p->thread->srv->ssl);
    /* Returning NULL would make evhttp serve plain HTTP on a TLS port. */
    KITH_ASSERT(ssl != NULL);
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* ---- access log ---- */

static void flush_log(struct http_thread *t)
{
    size_t off = 0;
    while (off < t->log.len) {
        ssize_t w = write(STDERR_FILENO, t->log.data + off, t->log.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    buf_reset(&t->log);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_log(arg);
}

/* Writes v in decimal at p, at least width digits (zero-padded); returns the end. */
static char *put_uint(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, struct str s)
{
    memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* One line per request, built without printf: this runs for every request.
 * TIMESTAMP access CLIENT "METHOD URI" STATUS BYTES DURATIONms */
static void log_request(struct http_ctx *ctx)
{
    enum { URI_MAX = 512 };
    struct http_thread *t = ctx->thread;
    struct timespec now;
    char line[URI_MAX + 256], *p = line;
    uint64_t us = (mono_ns() - ctx->start_ns) / 1000;
    const char *uri = evhttp_request_get_uri(ctx->req);

    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != t->ts_sec) { /* the date part changes once a second */
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        strftime(t->ts_text, sizeof(t->ts_text), "%Y-%m-%dT%H:%M:%S.", &tm);
        t->ts_sec = now.tv_sec;
    }
    p = put_str(p, str_from(t->ts_text));
    p = put_uint(p, (uint64_t)now.tv_nsec / 1000000, 3);
    p = put_str(p, STR_LIT("Z access "));
    p = put_str(p, str_from(ctx->client));
    p = put_str(p, STR_LIT(" \""));
    p = put_str(p, ctx->method.len < 16 ? ctx->method : STR_LIT("?"));
    *p++ = ' ';
    /* Capped, with quotes and control bytes replaced: the URI is attacker-chosen.
     * A token given as access_token (streaming clients do) is not written. */
    bool secret = false;
    for (size_t i = 0; uri && uri[i] && i < URI_MAX; i++) {
        char c = uri[i];
        if (secret && (c == '&' || c == '#'))
            secret = false;
        if (secret)
            continue;
        *p++ = c == '"' || (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
        if ((c == '?' || c == '&') && strncmp(uri + i + 1, "access_token=", 13) == 0) {
            memcpy(p, "access_token=...", 16);
            p += 16;
            i += 13;
            secret = true;
        }
    }
    p = put_str(p, STR_LIT("\" "));
    p = put_uint(p, (uint64_t)ctx->status, 1);
    *p++ = ' ';
    p = put_uint(p, ctx->sent_bytes, 1);
    *p++ = ' ';
    p = put_uint(p, us / 1000, 1);
    *p++ = '.';
    p = put_uint(p, us % 1000, 3);
    p = put_str(p, STR_LIT("ms\n"));
    buf_add(&t->log, line, (size_t)(p - line));
    if (t->log.len >= ACCESS_LOG_FLUSH_BYTES)
        flush_log(t);
}

/* ---- replies ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static void finish(struct http_ctx *ctx)
{
    struct http_thread *t = ctx->thread;
    if (t->srv->opts.access_log)
        log_request(ctx);
    if (ctx->rtxn) {
        if (t->ntxns < sizeof(t->txns) / sizeof(t->txns[0])) {
            kv_txn_reset(ctx->rtxn);
            t->txns[t->ntxns++] = ctx->rtxn;
        } else {
            kv_txn_abort(ctx->rtxn);
        }
    }
    arena_release(&ctx->arena);
    if (t->nspare < 64) { /* keep a few for the next requests */
        ctx->req = (struct evhttp_request *)(void *)t->spare;
        t->spare = ctx;
        t->nspare++;
    } else {
        free(ctx);
    }
    t->inflight--;
    if (t->stopping && t->drained && t->inflight == 0)
        event_base_loopexit(t->base, NULL);
}

void http_add_header(struct http_ctx *ctx, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(ctx->req), name, value);
}

void http_reply_raw(struct http_ctx *ctx, int status, const char *content_type, struct str body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (ctx->thread->stopping)
        evhttp_add_header(h, "Connection", "close");
    evbuffer_add(evhttp_request_get_output_buffer(ctx->req), body.ptr, body.len);
    ctx->status = status;
    ctx->sent_bytes = body.len;
    evhttp_send_reply(ctx->req, status, reason(status), NULL);
    finish(ctx);
}

void http_reply_file(struct http_ctx *ctx, const char *content_type, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        http_reply_error(ctx, 404, "not found");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (ctx->thread->stopping)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *out = evhttp_request_get_output_buffer(ctx->req);
    bool head = str_eq(ctx->method, STR_LIT("HEAD"));
    if (head || st.st_size == 0) {
        close(fd);
    } else if (evbuffer_add_file(out, fd, 0, st.st_size) != 0) { /* takes fd */
        http_reply_error(ctx, 500, "cannot send the file");
        return;
    }
    ctx->status = 200;
    ctx->sent_bytes = head ? 0 : (size_t)st.st_size;
    evhttp_send_reply(ctx->req, 200, "OK", NULL);
    finish(ctx);
}

void http_reply_json(struct http_ctx *ctx, int status, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        http_reply_raw(ctx, 500, "application/json; charset=utf-8",
                       STR_LIT("{\"error\":\"out of memory\"}"));
        return;
    }
    http_reply_raw(ctx, status, "application/json; charset=utf-8", str_from(text));
    free(text);
}

void http_reply_error(struct http_ctx *ctx, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "error", msg);
    http_reply_json(ctx, status, root);
}

void http_redirect(struct http_ctx *ctx, int status, const char *location)
{
    http_add_header(ctx, "Location", location);
    http_reply_raw(ctx, status, "text/plain; charset=utf-8", STR_LIT(""));
}

struct str http_cookie(struct http_ctx *ctx, const char *name)
{
    struct str h = http_header_joined(ctx, "Cookie");
    size_t nl = strlen(name);
    const char *p = h.ptr, *end = h.ptr + h.len;
    while (p && p < end) {
        while (p < end && (*p == ' ' || *p == ';' || *p == ','))
            p++;
        const char *e = memchr(p, ';', (size_t)(end - p));
        const char *ce = e ? e : end;
        if ((size_t)(ce - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
            return str_make(p + nl + 1, (size_t)(ce - p - nl - 1));
        p = e ? e + 1 : end;
    }
    return STR_NULL;
}

void http_set_cookie(struct http_ctx *ctx, const char *name, const char *value, long max_age)
{
    bool https = strncmp(ctx->server->cfg->public_url, "https:", 6) == 0;
    char *v = arena_printf(&ctx->arena, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s",
                           name, value, max_age, https ? "; Secure" : "");
    http_add_header(ctx, "Set-Cookie", v);
}

struct str http_header(struct http_ctx *ctx, const char *name)
{
    return str_from(evhttp_find_header(evhttp_request_get_input_headers(ctx->req), name));
}

struct str http_header_joined(struct http_ctx *ctx, const char *name)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(ctx->req);
    struct evkeyval *kv;
    struct buf b;
    int count = 0;
    buf_init(&b, 64 << 10);
    TAILQ_FOREACH(kv, h, next)
    {
        if (strcasecmp(kv->key, name) != 0)
            continue;
        if (count++)
            buf_add(&b, ", ", 2);
        buf_add_cstr(&b, kv->value);
    }
    struct str out = count ? arena_str(&ctx->arena, buf_str(&b)) : STR_NULL;
    buf_free(&b);
    return out;
}

struct str http_query(struct http_ctx *ctx, const char *name)
{
    struct str v, out;
    if (!str_query_param(ctx->query, str_from(name), &v) || http_pct_decode(&ctx->arena, v, &out))
        return STR_NULL;
    return out;
}

const char *http_url(struct http_ctx *ctx, const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return arena_printf(&ctx->arena, "%s%s", ctx->server->cfg->public_url, path);
}

void *http_app(struct http_ctx *ctx)
{
    return ctx->server->opts.app;
}

void **http_thread_data(struct http_ctx *ctx)
{
    return &ctx->thread->data;
}

void *http_thread_cache(struct http_ctx *ctx)
{
    return ctx->thread->cache;
}

void http_thread_set_cache(struct http_ctx *ctx, void *cache, void (*free_fn)(void *))
{
    ctx->thread->cache = cache;
    ctx->thread->cache_free = free_fn;
}

struct event_base *http_event_base(struct http_ctx *ctx)
{
    return ctx->thread->base;
}

struct core *http_core(struct http_ctx *ctx)
{
    return ctx->server->opts.core;
}

int http_read_txn(struct http_ctx *ctx, struct kv_txn **out)
{
    struct http_thread *t = ctx->thread;
    int rc = KITH_OK;
    if (!ctx->rtxn) {
        if (t->ntxns) {
            struct kv_txn *txn = t->txns[--t->ntxns];
            if ((rc = kv_txn_renew(txn)) != KITH_OK) {
                kv_txn_abort(txn);
                return rc;
            }
            ctx->rtxn = txn;
        } else if ((rc = store_read_begin(http_core(ctx)->st, &ctx->rtxn)) != KITH_OK) {
            return rc;
        }
    }
    *out = ctx->rtxn;
    return KITH_OK;
}

int http_read_txn_fresh(struct http_ctx *ctx, struct kv_txn **out)
{
    if (ctx->rtxn) {
        kv_txn_reset(ctx->rtxn);
        int rc = kv_txn_renew(ctx->rtxn);
        if (rc != KITH_OK) {
            kv_txn_abort(ctx->rtxn);
            ctx->rtxn = NULL;
            return rc;
        }
    }
    return http_read_txn(ctx, out);
}

/* The paths other origins' pages may call (mastodon-api.md 4, CORS). */
static bool cors_path(struct str path)
{
    static const char *const prefixes[] = {"/api/", "/oauth/token", "/oauth/revoke",
                                           "/.well-known/", "/nodeinfo/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (path.len >= n && memcmp(path.ptr, prefixes[i], n) == 0)
            return true;
    }
    return false;
}

/* ---- durable writes: writer thread -> loop thread ---- */

struct pending_write {
    struct writer_req req;
    int (*work)(void *arg); /* http_offload's, instead of a write */
    writer_apply_fn *apply; /* the caller's */
    void *apply_arg;
    struct http_ctx *ctx;
    http_write_done_fn *then;
    void *then_arg;
    int rc;
    struct pending_write *next;
};

/* Writer thread: the batch is durable (or failed). Hand it to the loop. */
static void write_durable(void *arg, int rc)
{
    struct pending_write *p = arg;
    struct http_thread *t = p->ctx->thread;
    p->rc = rc;
    pthread_mutex_lock(&t->mail_lock);
    if (t->mail_closed) {
        /* The loop is gone (stopped past its grace period): nobody can reply.
         * The write itself stands. Free the request's memory here. */
        pthread_mutex_unlock(&t->mail_lock);
        struct http_ctx *ctx = p->ctx;
        if (ctx->rtxn)
            kv_txn_abort(ctx->rtxn);
        arena_release(&ctx->arena);
        free(ctx);
        return;
    }
    p->next = t->mail;
    t->mail = p;
    pthread_mutex_unlock(&t->mail_lock);
    event_active(t->mail_ev, EV_READ, 0);
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    struct http_thread *t = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&t->mail_lock);
    struct pending_write *list = t->mail;
    t->mail = NULL;
    pthread_mutex_unlock(&t->mail_lock);
    /* The list is newest first; finish in submission order. */
    struct pending_write *rev = NULL;
    while (list) {
        struct pending_write *next = list->next;
        list->next = rev;
        rev = list;
        list = next;
    }
    while (rev) {
        struct pending_write *next = rev->next; /* then() releases rev with the arena */
        rev->then(rev->ctx, rev->rc, rev->then_arg);
        rev = next;
    }
}

/* Writer thread, inside the batch: the caller's apply with the caller's argument. */
static int pending_apply(struct kv_txn *txn, void *arg)
{
    struct pending_write *p = arg;
    return p->apply(txn, p->apply_arg);
}

int http_write(struct http_ctx *ctx, writer_apply_fn *apply, void *apply_arg,
               http_write_done_fn *then, void *then_arg)
{
    struct pending_write *p = arena_zalloc(&ctx->arena, sizeof(*p));
    p->req.apply = pending_apply;
    p->req.done = write_durable;
    p->req.arg = p;
    p->apply = apply;
    p->apply_arg = apply_arg;
    p->ctx = ctx;
    p->then = then;
    p->then_arg = then_arg;
    return writer_submit(http_core(ctx)->w, &p->req);
}

/* ---- blocking work: worker thread -> loop thread ---- */

static void *offload_main(void *arg)
{
    struct offload *o = arg;
    pthread_setname_np(pthread_self(), "kith-work"); /* for top -H and perf */
    for (;;) {
        pthread_mutex_lock(&o->lock);
        while (!o->head && !o->stop)
            pthread_cond_wait(&o->wake, &o->lock);
        struct pending_write *p = o->head;
        if (!p) { /* stopping, and nothing is left */
            pthread_mutex_unlock(&o->lock);
            return NULL;
        }
        o->head = p->next;
        if (!o->head)
            o->tail = NULL;
        pthread_mutex_unlock(&o->lock);
        write_durable(p, p->work(p->apply_arg)); /* to the loop, as a write's outcome */
    }
}

unsigned http_signin_throttle(struct http_ctx *ctx, struct str account)
{
    struct http_server *s = ctx->server;
    uint64_t now = clock_now_ms(clock_system());
    unsigned wait = 0, wait2 = 0;
    char key[RATELIMIT_MAX_KEY];
    snprintf(key, sizeof(key), "addr:%s", ctx->client);
    bool ok = ratelimit_take(s->signin_rl, str_from(key), now, &wait);
    snprintf(key, sizeof(key), "acct:%.*s", (int)(account.len > 80 ? 80 : account.len),
             account.ptr);
    for (size_t i = 5; key[i]; i++)
        key[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    bool ok2 = ratelimit_take(s->signin_rl, str_from(key), now, &wait2);
    if (ok && ok2)
        return 0;
    unsigned w = wait > wait2 ? wait : wait2;
    return w ? w : 1;
}

int http_offload(struct http_ctx *ctx, int (*work)(void *arg), void *arg, http_write_done_fn *then,
                 void *then_arg)
{
    struct offload *o = &ctx->server->off;
    struct pending_write *p = arena_zalloc(&ctx->arena, sizeof(*p));
    p->work = work;
    p->apply_arg = arg;
    p->ctx = ctx;
    p->then = then;
    p->then_arg = then_arg;
    pthread_mutex_lock(&o->lock);
    bool stopping = o->stop;
    if (!stopping) {
        if (o->tail)
            o->tail->next = p;
        else
            o->head = p;
        o->tail = p;
        pthread_cond_signal(&o->wake);
    }
    pthread_mutex_unlock(&o->lock);
    return stopping ? KITH_ESTOPPED : KITH_OK;
}

static void offload_stop(struct offload *o)
{
    pthread_mutex_lock(&o->lock);
    o->stop = true;
    pthread_cond_broadcast(&o->wake);
    pthread_mutex_unlock(&o->lock);
    for (unsigned i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    o->nthreads = 0;
    pthread_cond_destroy(&o->wake);
    pthread_mutex_destroy(&o->lock);
}

/* ---- dispatch ---- */

/* The client's address: the peer, or, when the peer is a trusted proxy, the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy. */
static void client_address(struct http_ctx *ctx, bool *trusted)
{
    const struct kith_config *cfg = ctx->server->cfg;
    struct evhttp_connection *conn = evhttp_request_get_connection(ctx->req);
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct ipaddr a;

    *trusted = false;
    snprintf(ctx->client, sizeof(ctx->client), "-");
    if (!conn)
        return;
    evhttp_connection_get_peer(conn, &peer, &port);
    if (!peer)
        return;
    snprintf(ctx->client, sizeof(ctx->client), "%s", peer);
    if (cfg->ntrusted == 0 || ipaddr_parse(str_from(peer), &a) != KITH_OK)
        return;
    bool is_proxy = false;
    for (size_t i = 0; i < cfg->ntrusted && !is_proxy; i++)
        is_proxy = cidr_contains(&cfg->trusted_proxies[i], &a);
    if (!is_proxy)
        return;
    *trusted = true;
    const char *xff =
        evhttp_find_header(evhttp_request_get_input_headers(ctx->req), "X-Forwarded-For");
    if (!xff)
        return;
    /* Walk from the right: each hop appended its client. */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        struct str hop = str_trim(str_make(xff + start, end - start));
        struct ipaddr h;
        if (ipaddr_parse(hop, &h) != KITH_OK)
            return; /* garbage: keep the last good answer */
        ipaddr_format(&h, ctx->client, sizeof(ctx->client));
        bool hop_trusted = false;
        for (size_t i = 0; i < cfg->ntrusted && !hop_trusted; i++)
            hop_trusted = cidr_contains(&cfg->trusted_proxies[i], &h);
        if (!hop_trusted)
            return;
        end = start ? start - 1 : 0;
    }
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

/* The body limit of an upload route. */
static size_t upload_limit(const struct kith_config *cfg)
{
    uint64_t m = cfg->media_max_image_bytes > cfg->media_max_video_bytes
                     ? cfg->media_max_image_bytes
                     : cfg->media_max_video_bytes;
    return (size_t)m + (1u << 20);
}

/* What evhttp lets in: the largest body any route takes (each route then
 * checks its own limit). */
static size_t largest_body(const struct http_server *s)
{
    size_t max = s->cfg->max_body_bytes;
    for (size_t i = 0; i < s->opts.nroutes; i++) {
        size_t l = s->opts.routes[i].body_limit == ROUTE_BODY_UPLOAD ? upload_limit(s->cfg)
                                                                     : s->opts.routes[i].body_limit;
        max = l > max ? l : max;
    }
    return max;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct http_port *port = arg;
    struct http_thread *t = port->thread;
    struct http_server *s = t->srv;
    struct http_ctx *ctx = t->spare;
    const struct route *route;
    char allow[64];
    bool trusted;

    if (ctx) {
        t->spare = (struct http_ctx *)(void *)ctx->req;
        t->nspare--;
        memset(ctx, 0, sizeof(*ctx));
    } else {
        ctx = xcalloc(1, sizeof(*ctx));
    }
    ctx->req = req;
    ctx->thread = t;
    ctx->server = s;
    ctx->start_ns = mono_ns();
    ctx->method = str_from(method_name(evhttp_request_get_command(req)));
    t->inflight++;
    /* Replies go out at once: with Nagle's algorithm, the tail of a large
     * reply waits for the client's delayed ACK (tens of milliseconds). */
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *cbev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t cfd = cbev ? bufferevent_getfd(cbev) : -1;
    if (cfd >= 0) {
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    const char *uri = evhttp_request_get_uri(req);
    /* The absolute form (RFC 9112 3.2.2) carries the path after the authority. */
    if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
        const char *slash = strchr(strstr(uri, "://") + 3, '/');
        uri = slash ? slash : "/";
    }
    const char *q = strchr(uri, '?');
    ctx->path = q ? str_make(uri, (size_t)(q - uri)) : str_from(uri);
    ctx->query = q ? str_from(q + 1) : STR_NULL;
    client_address(ctx, &trusted);
    ctx->https = port->tls;
    if (trusted) {
        const char *proto =
            evhttp_find_header(evhttp_request_get_input_headers(req), "X-Forwarded-Proto");
        if (proto)
            ctx->https = strcmp(proto, "https") == 0;
    }

    if (t->stopping) {
        http_reply_error(ctx, 503, "server is shutting down");
        return;
    }
    if (ctx->path.len == 0 || ctx->path.ptr[0] != '/') {
        http_reply_error(ctx, 400, "request target must be an absolute path");
        return;
    }
    /* Two Host headers make the target ambiguous (RFC 9112 3.2): refuse. */
    int hosts = 0;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
    hosts += strcasecmp(kv->key, "Host") == 0;
    if (hosts > 1) {
        http_reply_error(ctx, 400, "more than one Host header");
        return;
    }
    if (s->rl && !str_eq_cstr(ctx->path, "/health")) {
        unsigned retry = 0, left = 0, full_in = 0;
        int64_t now_ms = (int64_t)clock_now_ms(clock_system());
        bool ok = ratelimit_take_left(s->rl, str_from(ctx->client), (uint64_t)now_ms, &retry, &left,
                                      &full_in);
        if (ctx->path.len >= 5 && memcmp(ctx->path.ptr, "/api/", 5) == 0) {
            /* Mastodon's headers; the reset is when the bucket is full again. */
            char v[40];
            snprintf(v, sizeof(v), "%u", s->cfg->rate_limit_burst);
            http_add_header(ctx, "X-RateLimit-Limit", v);
            snprintf(v, sizeof(v), "%u", left);
            http_add_header(ctx, "X-RateLimit-Remaining", v);
            clock_rfc3339(now_ms / 1000 + full_in, true, v);
            http_add_header(ctx, "X-RateLimit-Reset", v);
        }
        if (!ok) {
            char v[16];
            snprintf(v, sizeof(v), "%u", retry);
            http_add_header(ctx, "Retry-After", v);
            http_reply_error(ctx, 429, "too many requests; retry in %u seconds", retry);
            return;
        }
    }
    /* Browser clients (Elk, Phanpy) call the API from other origins. */
    if (cors_path(ctx->path)) {
        http_add_header(ctx, "Access-Control-Allow-Origin", "*");
        http_add_header(ctx, "Access-Control-Expose-Headers",
                        "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                        "Retry-After");
        if (str_eq_cstr(ctx->method, "OPTIONS")) { /* a preflight */
            http_add_header(ctx, "Access-Control-Allow-Methods",
                            "GET, POST, PUT, PATCH, DELETE, OPTIONS");
            http_add_header(ctx, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Idempotency-Key, Origin, "
                            "Sec-WebSocket-Protocol");
            http_add_header(ctx, "Access-Control-Max-Age", "86400");
            http_reply_raw(ctx, 204, "text/plain; charset=utf-8", STR_NULL);
            return;
        }
    }
    enum route_result found = router_match(s->opts.routes, s->opts.nroutes, ctx->method, ctx->path,
                                           &route, &ctx->params, allow, sizeof(allow));
    /* evhttp lets in the largest body any route takes: each route (and no
     * route at all) has its own limit. */
    size_t body_limit = found != ROUTE_FOUND                     ? s->cfg->max_body_bytes
                        : route->body_limit == ROUTE_BODY_UPLOAD ? upload_limit(s->cfg)
                        : route->body_limit                      ? route->body_limit
                                                                 : s->cfg->max_body_bytes;
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > body_limit) {
        http_reply_error(ctx, 413, "request body is larger than %zu bytes", body_limit);
        return;
    }
    switch (found) {
    case ROUTE_NOT_FOUND:
        http_reply_error(ctx, 404, "not found");
        return;
    case ROUTE_BAD_METHOD:
        http_add_header(ctx, "Allow", allow);
        http_reply_error(ctx, 405, "method %.*s not allowed here", (int)ctx->method.len,
                         ctx->method.ptr);
        return;
    case ROUTE_FOUND:
        break;
    }
    ctx->route = route;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    if (blen) {
        char *body = arena_alloc(&ctx->arena, blen + 1);
        evbuffer_copyout(in, body, blen);
        body[blen] = '\0';
        ctx->body = str_make(body, blen);
    } else {
        ctx->body = STR_LIT("");
    }
    route->handler(ctx);
}

/* ---- GET /health ---- */

static int handle_health(struct http_ctx *ctx)
{
    struct kv_txn *txn;
    uint64_t created;
    /* Answer from the database so a health check notices a broken store. */
    if (http_read_txn(ctx, &txn) || meta_get_u64(txn, "created_at", &created)) {
        http_reply_error(ctx, 503, "database unavailable");
        return HANDLER_DONE;
    }
    http_reply_raw(ctx, 200, "application/json; charset=utf-8", STR_LIT("{\"status\":\"ok\"}"));
    return HANDLER_DONE;
}

const struct route http_core_routes[] = {
    {"GET", "/health", handle_health, 0, NULL},
};
const size_t http_core_nroutes = sizeof(http_core_routes) / sizeof(http_core_routes[0]);

/* ---- streams: WebSocket and server-sent events ---- */

#define STREAM_MAX_BACKLOG (4u << 20) /* bytes queued for a slow client before it is dropped */
#define WS_MAX_MESSAGE     (64u << 10)
#define WS_LINGER_MS       2000 /* how long a closed WebSocket has to take its last frames */

struct http_stream {
    struct http_ctx *ctx;
    struct http_thread *t;
    struct http_stream *prev, *next;
    bool ws;
    bool closing;
    bool dead;      /* failed while sending: closed from the loop, not from inside a call */
    bool dead_conn; /* WebSocket: the connection failed, nothing more goes out */
    struct event *closer;
    struct evhttp_connection *evcon;
    struct bufferevent *bev; /* WebSocket: the connection, taken over */
    wslay_event_context_ptr wslay;
    struct event *tick, *keepalive;
    http_stream_msg_fn *on_msg;
    http_stream_close_fn *on_close;
    http_stream_tick_fn *on_tick;
    void *arg;
};

struct http_ctx *http_stream_ctx(struct http_stream *s)
{
    return s->ctx;
}

static void on_closer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_stream_close(arg);
}

/* The stream cannot go on: it is closed on the loop's next turn, never
 * under a caller that still holds it. */
static void stream_fail(struct http_stream *s)
{
    if (s->dead || s->closing)
        return;
    s->dead = true;
    event_active(s->closer, EV_READ, 0);
}

static struct http_stream *stream_new(struct http_ctx *ctx, http_stream_close_fn *on_close,
                                      void *arg)
{
    struct http_stream *s = xcalloc(1, sizeof(*s));
    s->ctx = ctx;
    s->t = ctx->thread;
    s->on_close = on_close;
    s->arg = arg;
    s->evcon = evhttp_request_get_connection(ctx->req);
    s->closer = event_new(s->t->base, -1, 0, on_closer, s);
    s->next = s->t->streams;
    if (s->next)
        s->next->prev = s;
    s->t->streams = s;
    return s;
}

/* The end of a stream, once nothing more is to be written: a taken-over
 * connection goes with its request. */
static void stream_free(struct http_stream *s)
{
    struct http_thread *t = s->t;
    if (s->ws)
        evhttp_connection_free(s->evcon);
    free(s);
    t->inflight--;
    if (t->stopping && t->drained && t->inflight == 0)
        event_base_loopexit(t->base, NULL);
}

static void ws_linger_done(struct bufferevent *bev, void *arg)
{
    (void)bev;
    stream_free(arg);
}

static void ws_linger_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    stream_free(arg);
}

/* A closed WebSocket's last frames (the close frame above all: RFC 6455
 * 5.5.1) are written before the connection goes, for at most
 * WS_LINGER_MS; what the peer sends meanwhile is ignored. */
static void ws_linger(struct http_stream *s)
{
    struct timeval tv = {WS_LINGER_MS / 1000, (WS_LINGER_MS % 1000) * 1000};
    bufferevent_setcb(s->bev, NULL, ws_linger_done, ws_linger_event, s);
    bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
    bufferevent_disable(s->bev, EV_READ);
    bufferevent_enable(s->bev, EV_WRITE);
    bufferevent_set_timeouts(s->bev, NULL, &tv);
}

void http_stream_close(struct http_stream *s)
{
    struct http_thread *t = s->t;
    struct http_ctx *ctx = s->ctx;
    if (s->closing)
        return;
    s->closing = true;
    if (s->on_close)
        s->on_close(s, s->arg);
    if (s->prev)
        s->prev->next = s->next;
    else
        t->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->tick)
        event_free(s->tick);
    if (s->keepalive)
        event_free(s->keepalive);
    if (s->closer)
        event_free(s->closer);
    ctx->status = s->ws ? 101 : 200;
    if (t->srv->opts.access_log && (s->ws || s->evcon)) /* an SSE client gone: req is too */
        log_request(ctx);
    bool linger = false;
    if (s->ws) {
        if (s->wslay) {
            /* Answers the client's close frame, or starts the closing
             * handshake (1001) when kith ends the stream. */
            wslay_event_queue_close(s->wslay, WSLAY_CODE_GOING_AWAY, NULL, 0);
            wslay_event_send(s->wslay);
            wslay_event_context_free(s->wslay);
            s->wslay = NULL;
        }
        linger = !s->dead_conn && evbuffer_get_length(bufferevent_get_output(s->bev)) > 0;
    } else if (s->evcon) {
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
        evhttp_send_reply_end(ctx->req);
    }
    if (ctx->rtxn)
        kv_txn_abort(ctx->rtxn);
    arena_release(&ctx->arena);
    free(ctx);
    s->ctx = NULL;
    if (linger)
        ws_linger(s);
    else
        stream_free(s);
}

static void on_stream_tick(evutil_socket_t fd, short what, void *arg)
{
    struct http_stream *s = arg;
    (void)fd;
    (void)what;
    if (s->on_tick && !s->closing && !s->dead)
        s->on_tick(s, s->arg);
}

int http_stream_tick(struct http_stream *s, unsigned ms, http_stream_tick_fn *fn)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    s->on_tick = fn;
    if (!s->tick)
        s->tick = event_new(s->t->base, -1, EV_PERSIST, on_stream_tick, s);
    return s->tick && event_add(s->tick, &tv) == 0 ? KITH_OK : KITH_EIO;
}

/* ---- WebSocket ---- */

bool http_wants_websocket(struct http_ctx *ctx)
{
    struct str up = http_header(ctx, "Upgrade");
    return up.len == 9 && strncasecmp(up.ptr, "websocket", 9) == 0;
}

static ssize_t ws_recv(wslay_event_context_ptr w, uint8_t *buf, size_t len, int flags, void *arg)
{
    struct http_stream *s = arg;
    (void)flags;
    int n = evbuffer_remove(bufferevent_get_input(s->bev), buf, len);
    if (n <= 0) {
        wslay_event_set_error(w, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}

static ssize_t ws_send(wslay_event_context_ptr w, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    struct http_stream *s = arg;
    (void)flags;
    if (evbuffer_add(bufferevent_get_output(s->bev), data, len) != 0) {
        wslay_event_set_error(w, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_msg(wslay_event_context_ptr w, const struct wslay_event_on_msg_recv_arg *m,
                   void *arg)
{
    struct http_stream *s = arg;
    (void)w;
    if (m->opcode == WSLAY_TEXT_FRAME && s->on_msg)
        s->on_msg(s, str_make(m->msg, m->msg_length), s->arg);
}

/* Sends what wslay queued; the stream ends when the exchange is over. */
static void ws_pump(struct http_stream *s)
{
    if (wslay_event_send(s->wslay) != 0 ||
        (!wslay_event_want_read(s->wslay) && !wslay_event_want_write(s->wslay)))
        stream_fail(s);
}

static void ws_read(struct bufferevent *bev, void *arg)
{
    struct http_stream *s = arg;
    (void)bev;
    if (s->dead || wslay_event_recv(s->wslay) != 0) {
        stream_fail(s);
        return;
    }
    ws_pump(s);
}

static void ws_event(struct bufferevent *bev, short what, void *arg)
{
    struct http_stream *s = arg;
    (void)bev;
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        s->dead_conn = true; /* nothing more can be written */
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        http_stream_close(s);
}

static void on_ws_ping(evutil_socket_t fd, short what, void *arg)
{
    struct http_stream *s = arg;
    (void)fd;
    (void)what;
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
    if (s->dead)
        return;
    wslay_event_queue_msg(s->wslay, &ping);
    ws_pump(s);
}

struct http_stream *http_websocket(struct http_ctx *ctx, const char *protocol,
                                   http_stream_msg_fn *on_msg, http_stream_close_fn *on_close,
                                   void *arg)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct str key = http_header(ctx, "Sec-WebSocket-Key");
    struct str version = http_header(ctx, "Sec-WebSocket-Version");
    struct str conn = http_header_joined(ctx, "Connection");
    bool upgrade = false;
    for (size_t i = 0; i + 7 <= conn.len && !upgrade; i++)
        upgrade = strncasecmp(conn.ptr + i, "upgrade", 7) == 0;
    if (!str_eq(ctx->method, STR_LIT("GET")) || !upgrade || !key.len || key.len > 64 ||
        !str_eq(version, STR_LIT("13"))) {
        http_add_header(ctx, "Sec-WebSocket-Version", "13");
        http_reply_error(ctx, 400, "not a WebSocket handshake (RFC 6455, version 13)");
        return NULL;
    }
    unsigned char md[SHA_DIGEST_LENGTH];
    char accept[64];
    struct buf cat;
    buf_init(&cat, 256);
    buf_add_str(&cat, key);
    buf_add_cstr(&cat, guid);
    SHA1((const unsigned char *)cat.data, cat.len, md);
    buf_free(&cat);
    EVP_EncodeBlock((unsigned char *)accept, md, SHA_DIGEST_LENGTH);

    struct http_stream *s = stream_new(ctx, on_close, arg);
    s->ws = true;
    s->on_msg = on_msg;
    s->bev = evhttp_connection_get_bufferevent(s->evcon);
    struct wslay_event_callbacks cb = {ws_recv, ws_send, NULL, NULL, NULL, NULL, ws_msg};
    if (wslay_event_context_server_init(&s->wslay, &cb, s) != 0) {
        s->wslay = NULL;
        s->on_close = NULL; /* the caller frees its own on NULL */
        http_stream_close(s);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(s->wslay, WS_MAX_MESSAGE);
    struct evbuffer *out = bufferevent_get_output(s->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                        accept);
    if (protocol && *protocol && strlen(protocol) < 512 && !strpbrk(protocol, "\r\n"))
        evbuffer_add_printf(out, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    evbuffer_add(out, "\r\n", 2);
    /* From here the connection is ours: no HTTP timeouts, pings instead. */
    bufferevent_set_timeouts(s->bev, NULL, NULL);
    bufferevent_setcb(s->bev, ws_read, NULL, ws_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    struct timeval every = {30, 0};
    s->keepalive = event_new(s->t->base, -1, EV_PERSIST, on_ws_ping, s);
    event_add(s->keepalive, &every);
    if (evbuffer_get_length(bufferevent_get_input(s->bev))) /* frames right behind the handshake */
        bufferevent_trigger(s->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
    return s;
}

/* ---- server-sent events ---- */

static void on_sse_gone(struct evhttp_connection *evcon, void *arg)
{
    struct http_stream *s = arg;
    (void)evcon;
    s->evcon = NULL; /* evhttp frees the request and the connection itself */
    http_stream_close(s);
}

static void on_sse_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct http_stream *s = arg;
    (void)fd;
    (void)what;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, ":thump\n\n", 8);
    evhttp_send_reply_chunk(s->ctx->req, b);
    evbuffer_free(b);
}

struct http_stream *http_sse(struct http_ctx *ctx, http_stream_close_fn *on_close, void *arg)
{
    struct http_stream *s = stream_new(ctx, on_close, arg);
    http_add_header(ctx, "Content-Type", "text/event-stream");
    http_add_header(ctx, "Cache-Control", "no-cache");
    http_add_header(ctx, "X-Accel-Buffering", "no");
    evhttp_send_reply_start(ctx->req, 200, "OK");
    evhttp_connection_set_closecb(s->evcon, on_sse_gone, s);
    struct timeval every = {15, 0};
    s->keepalive = event_new(s->t->base, -1, EV_PERSIST, on_sse_keepalive, s);
    event_add(s->keepalive, &every);
    return s;
}

int http_stream_send(struct http_stream *s, const char *event, struct str data)
{
    if (s->closing || s->dead)
        return KITH_EIO;
    if (s->ws) {
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)data.ptr, data.len};
        if (evbuffer_get_length(bufferevent_get_output(s->bev)) > STREAM_MAX_BACKLOG ||
            wslay_event_queue_msg(s->wslay, &m) != 0) {
            stream_fail(s); /* too far behind: dropped */
            return KITH_EIO;
        }
        ws_pump(s);
        return s->dead ? KITH_EIO : KITH_OK;
    }
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "event: %s\ndata: ", event);
    evbuffer_add(b, data.ptr, data.len); /* JSON: no newlines in it */
    evbuffer_add(b, "\n\n", 2);
    evhttp_send_reply_chunk(s->ctx->req, b);
    evbuffer_free(b);
    return KITH_OK;
}

/* ---- threads ---- */

static void on_drained(evutil_socket_t fd, short what, void *arg)
{
    struct http_thread *t = arg;
    (void)fd;
    (void)what;
    t->drained = true;
    if (t->inflight == 0)
        event_base_loopexit(t->base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct http_thread *t = arg;
    struct timeval drain = {DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000};
    (void)fd;
    (void)what;
    if (t->stopping)
        return;
    t->stopping = true;
    while (t->streams) /* streams never end by themselves: close them now */
        http_stream_close(t->streams);
    /* Stop accepting at once; keep serving open connections for the drain
     * window (requests dispatched from now on get 503 and Connection: close). */
    for (size_t i = 0; i < t->srv->nfds; i++) {
        if (t->ports[i].bound) {
            evhttp_del_accept_socket(t->ports[i].http, t->ports[i].bound);
            t->ports[i].bound = NULL;
            t->ports[i].listener = NULL;
        }
    }
    event_add(t->drain_ev, &drain);
}

/* accept(2) failed, typically EMFILE or ENFILE: out of file descriptors.
 * libevent would retry at once, spinning and logging; pause this listener
 * for a second instead. */
/* The loop thread running on this OS thread, set once in loop_main: the
 * accept error callback gets evhttp's own argument, not ours, and finds its
 * port through this. */
static _Thread_local struct http_thread *current_loop;

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct http_thread *t = current_loop;
    struct http_port *p = NULL;
    struct timeval pause = {1, 0};
    int err = EVUTIL_SOCKET_ERROR();
    (void)arg;
    for (size_t i = 0; t && i < t->srv->nfds && !p; i++)
        if (t->ports[i].listener == l)
            p = &t->ports[i];
    if (!p) {
        evconnlistener_disable(l);
        return;
    }
    if (!p->paused)
        log_warn("http: accept failed: %s; pausing the listener for 1 s",
                 evutil_socket_error_to_string(err));
    p->paused = true;
    evconnlistener_disable(p->listener);
    event_add(p->resume_ev, &pause);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http_port *p = arg;
    (void)fd;
    (void)what;
    p->paused = false;
    if (p->bound && !p->thread->stopping)
        evconnlistener_enable(p->listener);
}

static void *loop_main(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-http"); /* for top -H and perf */
    struct http_thread *t = arg;
    current_loop = t;
    event_base_dispatch(t->base);
    if (t->data && t->srv->opts.thread_data_free) {
        t->srv->opts.thread_data_free(t->data);
        t->data = NULL;
    }
    if (t->cache && t->cache_free) {
        t->cache_free(t->cache);
        t->cache = NULL;
    }
    /* Writes that become durable from now on find nobody to reply. */
    pthread_mutex_lock(&t->mail_lock);
    t->mail_closed = true;
    pthread_mutex_unlock(&t->mail_lock);
    flush_log(t);
    return NULL;
}

static int open_listener(const struct config_listen *l, int *out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;

    memset(&ss, 0, sizeof(ss));
    if (l->addr.family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(l->port);
        memcpy(&in->sin_addr, l->addr.bytes, 4);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(l->port);
        memcpy(&in6->sin6_addr, l->addr.bytes, 16);
        len = sizeof(*in6);
    }
    int fd = socket(l->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "listen %s: %s", l->text, strerror(errno));
        return KITH_EIO;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "listen %s: %s", l->text, strerror(errno));
        close(fd);
        return KITH_EIO;
    }
    *out = fd;
    return KITH_OK;
}

static SSL_CTX *make_ssl(const struct kith_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        snprintf(err, errlen, "tls_cert %s: cannot load certificate chain: %s", cfg->tls_cert,
                 ERR_reason_error_string(ERR_get_error()));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "tls_key %s: cannot load private key: %s", cfg->tls_key,
                 ERR_reason_error_string(ERR_get_error()));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls_key %s does not match tls_cert %s", cfg->tls_key, cfg->tls_cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static void free_thread(struct http_thread *t, size_t nports)
{
    if (t->ports) {
        for (size_t i = 0; i < nports; i++) {
            if (t->ports[i].http)
                evhttp_free(t->ports[i].http);
            if (t->ports[i].resume_ev)
                event_free(t->ports[i].resume_ev);
        }
        free(t->ports);
    }
    struct event *evs[] = {t->stop_ev, t->flush_ev, t->drain_ev, t->mail_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    for (unsigned i = 0; i < t->ntxns; i++)
        kv_txn_abort(t->txns[i]);
    buf_free(&t->log);
    while (t->spare) {
        struct http_ctx *next = (struct http_ctx *)(void *)t->spare->req;
        free(t->spare);
        t->spare = next;
    }
    if (t->base)
        event_base_free(t->base);
    if (t->mail_ev || t->stop_ev)
        pthread_mutex_destroy(&t->mail_lock);
}

static int setup_thread(struct http_server *s, struct http_thread *t, char *err, size_t errlen)
{
    const struct kith_config *cfg = s->cfg;
    struct timeval tmo = {cfg->timeout_secs, 0};
    struct timeval flush = {0, ACCESS_LOG_FLUSH_MS * 1000};

    buf_init(&t->log, 1 << 20);
    t->base = event_base_new();
    if (!t->base)
        goto fail;
    t->stop_ev = event_new(t->base, -1, 0, on_stop, t);
    t->drain_ev = evtimer_new(t->base, on_drained, t);
    t->flush_ev = event_new(t->base, -1, EV_PERSIST, on_flush, t);
    t->mail_ev = event_new(t->base, -1, 0, on_mail, t);
    pthread_mutex_init(&t->mail_lock, NULL);
    if (!t->stop_ev || !t->drain_ev || !t->flush_ev || !t->mail_ev)
        goto fail;
    event_add(t->flush_ev, &flush);
    t->ports = xcalloc(s->nfds, sizeof(*t->ports));
    for (size_t i = 0; i < s->nfds; i++) {
        struct http_port *p = &t->ports[i];
        p->thread = t;
        p->tls = cfg->listens[i].tls;
        p->http = evhttp_new(t->base);
        if (!p->http)
            goto fail;
        evhttp_set_gencb(p->http, dispatch, p);
        if (p->tls)
            evhttp_set_bevcb(p->http, make_tls_bev, p);
        evhttp_set_max_headers_size(p->http, (ev_ssize_t)cfg->max_header_bytes);
        evhttp_set_max_body_size(p->http, (ev_ssize_t)largest_body(s));
        evhttp_set_timeout_tv(p->http, &tmo);
        evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
        p->listener = evconnlistener_new(t->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0, s->fds[i]);
        if (!p->listener)
            goto fail;
        p->bound = evhttp_bind_listener(p->http, p->listener);
        if (!p->bound) {
            evconnlistener_free(p->listener);
            p->listener = NULL;
            goto fail;
        }
        evconnlistener_set_error_cb(p->listener, on_accept_error);
        p->resume_ev = evtimer_new(t->base, on_accept_resume, p);
        if (!p->resume_ev)
            goto fail;
    }
    return KITH_OK;
fail:
    snprintf(err, errlen, "cannot set up event loop %u", t->index);
    return KITH_ENOMEM;
}

int http_server_start(const struct http_server_opts *opts, struct http_server **out, char *err,
                      size_t errlen)
{
    const struct kith_config *cfg = opts->cfg;
    struct http_server *s = xcalloc(1, sizeof(*s));
    unsigned started = 0;
    int rc = KITH_OK;

    s->opts = *opts;
    s->cfg = cfg;
    pthread_mutex_init(&s->off.lock, NULL);
    pthread_cond_init(&s->off.wake, NULL);
    atomic_init(&s->stopping, false);
    s->fds = xcalloc(cfg->nlistens, sizeof(int));
    for (size_t i = 0; i < cfg->nlistens; i++)
        s->fds[i] = -1;
    s->nfds = cfg->nlistens;
    bool any_tls = false;
    for (size_t i = 0; i < cfg->nlistens; i++)
        any_tls |= cfg->listens[i].tls;
    if (any_tls && !(s->ssl = make_ssl(cfg, err, errlen))) {
        rc = KITH_EINVAL;
        goto fail;
    }
    for (size_t i = 0; i < cfg->nlistens; i++)
        if ((rc = open_listener(&cfg->listens[i], &s->fds[i], err, errlen)))
            goto fail;
    if (cfg->rate_limit_burst)
        s->rl = ratelimit_new(cfg->rate_limit_burst, cfg->rate_limit_secs, 100000);
    /* Password sign-ins: 10 attempts, then one every 30 s, per key. */
    s->signin_rl = ratelimit_new(10, 300, 100000);
    for (; s->off.nthreads < OFFLOAD_THREADS; s->off.nthreads++)
        if (pthread_create(&s->off.threads[s->off.nthreads], NULL, offload_main, &s->off)) {
            snprintf(err, errlen, "cannot start a worker thread");
            rc = KITH_EIO;
            goto fail;
        }
    s->nthreads = config_threads(cfg);
    s->threads = xcalloc(s->nthreads, sizeof(*s->threads));
    for (unsigned i = 0; i < s->nthreads; i++) {
        s->threads[i].srv = s;
        s->threads[i].index = i;
        if ((rc = setup_thread(s, &s->threads[i], err, errlen)))
            goto fail;
    }
    for (; started < s->nthreads; started++) {
        if (pthread_create(&s->threads[started].tid, NULL, loop_main, &s->threads[started])) {
            snprintf(err, errlen, "cannot start event-loop thread");
            rc = KITH_EIO;
            goto fail;
        }
    }
    *out = s;
    return KITH_OK;
fail:
    atomic_store(&s->stopping, true);
    for (unsigned i = 0; i < started; i++) {
        event_base_loopexit(s->threads[i].base, NULL);
        pthread_join(s->threads[i].tid, NULL);
    }
    offload_stop(&s->off);
    if (s->threads)
        for (unsigned i = 0; i < s->nthreads; i++)
            free_thread(&s->threads[i], s->nfds);
    free(s->threads);
    for (size_t i = 0; i < s->nfds; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    SSL_CTX_free(s->ssl);
    ratelimit_free(s->rl);
    ratelimit_free(s->signin_rl);
    free(s);
    return rc;
}

void http_server_stop(struct http_server *s, unsigned grace_secs)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    for (unsigned i = 0; i < s->nthreads; i++) {
        struct timeval grace = {grace_secs, 0};
        event_active(s->threads[i].stop_ev, EV_READ, 0);
        /* Past the grace period, leave whatever is still running. */
        event_base_loopexit(s->threads[i].base, &grace);
    }
    for (unsigned i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i].tid, NULL);
    /* The loops are gone (mail closed): work still queued runs, and its
     * request is freed unanswered, before the threads' memory goes. */
    offload_stop(&s->off);
    for (unsigned i = 0; i < s->nthreads; i++) {
        struct http_thread *t = &s->threads[i];
        if (t->inflight == 0) {
            free_thread(t, s->nfds);
        } else {
            /* A handler still owns a request: freeing its connection would
             * leave it a dangling pointer. The process is exiting; keep it. */
            log_warn("http: loop %u stopped with %u requests unanswered", i, t->inflight);
        }
    }
    for (size_t i = 0; i < s->nfds; i++)
        close(s->fds[i]);
    free(s->fds);
    free(s->threads);
    SSL_CTX_free(s->ssl);
    ratelimit_free(s->rl);
    ratelimit_free(s->signin_rl);
    free(s);
}
