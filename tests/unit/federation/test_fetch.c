/* tests/unit/federation/test_fetch.c: the outbound HTTP(S) client against
 * servers in this process, all on loopback and on the test thread's own
 * event_base: evhttp ones (plain, and TLS with a CA and certificates made
 * here), a raw one for what evhttp will not do (never answer, close at the
 * wrong time, no framing, garbage), and a DNS server that answers for
 * dns.test and never for never.test. Nothing reaches the internet. */
#include "../helpers.h"

#include "../../../federation/fetch.h"
#include "../../../federation/httpsig.h"
#include "../../../src/base/err.h"
#include "../../../src/base/version.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct event_base *base;
static char *tmpdir;
static char ca_path[512];

/* ---- evhttp servers (plain and TLS), recording the last request ---- */

struct http_srv {
    struct evhttp *http;
    uint16_t port;
    SSL_CTX *ssl; /* NULL: plain */
    int requests;
    char sni[256]; /* server name the last TLS client sent */
    char method[8], uri[256], host[256], date[64], accept[256], ua[256];
    char ctype[128], clen[16], digest[128], signature[512];
    char body[4096];
};

static struct http_srv plain, tls;

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t size)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, size, "%s", v ? v : "");
}

static void srv_cb(struct evhttp_request *req, void *arg)
{
    struct http_srv *s = arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    int n;

    s->requests++;
    snprintf(s->method, sizeof(s->method), "%s", cmd == EVHTTP_REQ_POST ? "POST" : "GET");
    snprintf(s->uri, sizeof(s->uri), "%s", uri);
    copy_header(req, "Host", s->host, sizeof(s->host));
    copy_header(req, "Date", s->date, sizeof(s->date));
    copy_header(req, "Accept", s->accept, sizeof(s->accept));
    copy_header(req, "User-Agent", s->ua, sizeof(s->ua));
    copy_header(req, "Content-Type", s->ctype, sizeof(s->ctype));
    copy_header(req, "Content-Length", s->clen, sizeof(s->clen));
    copy_header(req, "Digest", s->digest, sizeof(s->digest));
    copy_header(req, "Signature", s->signature, sizeof(s->signature));
    size_t bl = evbuffer_get_length(in);
    if (bl >= sizeof(s->body))
        bl = sizeof(s->body) - 1;
    evbuffer_copyout(in, s->body, bl);
    s->body[bl] = '\0';

    if (strncmp(uri, "/hello", 6) == 0) {
        evhttp_add_header(oh, "Content-Type", "application/activity+json");
        evbuffer_add_printf(out, "hello world");
        evhttp_send_reply(req, 200, "OK", NULL);
    } else if (strncmp(uri, "/post", 5) == 0) {
        evbuffer_add_printf(out, "accepted");
        evhttp_send_reply(req, 202, "Accepted", NULL);
    } else if (sscanf(uri, "/r/%d", &n) == 1) {
        /* /r/N redirects to /r/N-1 in every form a Location takes */
        char loc[128];
        if (n == 0) {
            evbuffer_add_printf(out, "landed");
            evhttp_send_reply(req, 200, "OK", NULL);
            return;
        }
        if (n == 3)
            snprintf(loc, sizeof(loc), "%s://127.0.0.1:%u/r/2", s->ssl ? "https" : "http",
                     (unsigned)s->port);
        else if (n == 2)
            snprintf(loc, sizeof(loc), "1"); /* relative path */
        else
            snprintf(loc, sizeof(loc), "/r/%d", n - 1);
        evhttp_add_header(oh, "Location", loc);
        evhttp_send_reply(req, n % 2 ? 302 : 301, "Moved", NULL);
    } else if (strcmp(uri, "/big") == 0) {
        for (int i = 0; i < 5000; i++)
            evbuffer_add(out, "x", 1);
        evhttp_send_reply(req, 200, "OK", NULL);
    } else if (strcmp(uri, "/chunked") == 0 || strcmp(uri, "/bigchunked") == 0) {
        bool big = uri[1] == 'b';
        evhttp_send_reply_start(req, 200, "OK");
        for (int i = 1; i <= (big ? 50 : 3); i++) {
            struct evbuffer *chunk = evbuffer_new();
            for (int k = 0; k < (big ? 100 : i); k++)
                evbuffer_add(chunk, big ? "y" : &"abc"[i - 1], 1);
            evhttp_send_reply_chunk(req, chunk);
            evbuffer_free(chunk);
        }
        evhttp_send_reply_end(req);
    } else if (strcmp(uri, "/port") == 0) {
        char *addr;
        ev_uint16_t port;
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
        evbuffer_add_printf(out, "%u", (unsigned)port);
        evhttp_send_reply(req, 200, "OK", NULL);
    } else {
        evhttp_send_reply(req, 404, "Not Found", NULL);
    }
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct http_srv *s = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)alert;
    snprintf(s->sni, sizeof(s->sni), "%s", name ? name : "");
    return SSL_TLSEXT_ERR_OK;
}

static struct bufferevent *tls_bevcb(struct event_base *b, void *arg)
{
    struct http_srv *s = arg;
    return bufferevent_openssl_socket_new(b, -1, SSL_new(s->ssl), BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static uint16_t fd_port(evutil_socket_t fd)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    return ntohs(sin.sin_port);
}

static void srv_start(struct http_srv *s)
{
    s->http = evhttp_new(base);
    assert_non_null(s->http);
    evhttp_set_gencb(s->http, srv_cb, s);
    if (s->ssl)
        evhttp_set_bevcb(s->http, tls_bevcb, s);
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(h);
    s->port = fd_port(evhttp_bound_socket_get_fd(h));
}

/* ---- certificates: a CA, and a leaf for localhost and kith-test.local ---- */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *signer,
                       const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (!issuer) {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, iss, NID_basic_constraints, "CA:FALSE");
        add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
        add_ext(x, iss, NID_ext_key_usage, "serverAuth");
        add_ext(x, iss, NID_subject_alt_name, san);
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    }
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    return x;
}

static SSL_CTX *make_tls(void)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *leaf_key = EVP_EC_gen("P-256");
    assert_non_null(ca_key);
    assert_non_null(leaf_key);
    X509 *ca = make_cert(ca_key, "kith test CA", NULL, ca_key, NULL);
    X509 *leaf =
        make_cert(leaf_key, "kith-test.local", ca, ca_key, "DNS:localhost,DNS:kith-test.local");
    snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", tmpdir);
    FILE *fp = fopen(ca_path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, ca), 1);
    fclose(fp);

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, leaf_key), 1);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, &tls);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    return ctx;
}

/* ---- a raw server, for what evhttp will not do ---- */

enum raw_mode {
    RAW_SILENT,       /* accepts and reads, never answers */
    RAW_CLOSE_SECOND, /* answers one request per connection, closes on the second */
    RAW_CANNED        /* sends raw.canned, then closes */
};

struct raw_conn {
    struct bufferevent *bev;
    bool closing;  /* close once the output is written */
    bool answered; /* RAW_CLOSE_SECOND: the first request had its answer */
};

static struct {
    struct evconnlistener *l;
    uint16_t port;
    enum raw_mode mode;
    const char *canned;
    int conns;
    struct raw_conn c[64];
} raw;

static void raw_close(struct raw_conn *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
}

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    raw_close(arg);
}

static void raw_write(struct bufferevent *bev, void *arg)
{
    struct raw_conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        raw_close(c);
}

static void raw_reply(struct raw_conn *c, const char *text, bool close)
{
    bufferevent_write(c->bev, text, strlen(text));
    c->closing = close;
}

static void raw_read(struct bufferevent *bev, void *arg)
{
    struct raw_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (p.pos < 0)
            return;
        evbuffer_drain(in, (size_t)p.pos + 4);
        switch (raw.mode) {
        case RAW_SILENT:
            break;
        case RAW_CLOSE_SECOND:
            if (c->answered) { /* a second request: close without a word */
                raw_close(c);
                return;
            }
            raw_reply(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
            c->answered = true;
            return;
        case RAW_CANNED:
            raw_reply(c, raw.canned, true);
            return;
        }
    }
}

static void raw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                       void *arg)
{
    (void)l;
    (void)sa;
    (void)sl;
    (void)arg;
    for (size_t i = 0; i < sizeof(raw.c) / sizeof(raw.c[0]); i++) {
        struct raw_conn *c = &raw.c[i];
        if (c->bev)
            continue;
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
        c->closing = c->answered = false;
        bufferevent_setcb(c->bev, raw_read, raw_write, raw_event, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        raw.conns++;
        return;
    }
    close(fd);
}

/* ---- a DNS server: dns.test is 127.0.0.1, never.test never answers ---- */

static struct evdns_server_port *dns_port;
static evutil_socket_t dns_fd;
static uint16_t dns_portno;

static void dns_cb(struct evdns_server_request *req, void *arg)
{
    (void)arg;
    for (int i = 0; i < req->nquestions; i++) {
        const struct evdns_server_question *q = req->questions[i];
        if (strcasecmp(q->name, "never.test") == 0) {
            evdns_server_request_drop(req);
            return;
        }
        if (strcasecmp(q->name, "dns.test") == 0 && q->type == EVDNS_TYPE_A) {
            struct in_addr a;
            inet_pton(AF_INET, "127.0.0.1", &a);
            evdns_server_request_add_a_reply(req, q->name, 1, &a, 60);
        }
    }
    evdns_server_request_respond(req, 0);
}

/* ---- the client side ---- */

struct client {
    struct kith_config cfg;
    struct fetcher *f;
};

static void add_resolve(struct kith_config *cfg, const char *host, uint16_t port)
{
    cfg->resolves = realloc(cfg->resolves, (cfg->nresolves + 1) * sizeof(cfg->resolves[0]));
    struct config_resolve *r = &cfg->resolves[cfg->nresolves++];
    r->host = strdup(host);
    r->port = port;
    assert_int_equal(ipaddr_parse(STR_LIT("127.0.0.1"), &r->addr), KITH_OK);
}

static void client_open(struct client *c, bool allow_private, bool with_ca)
{
    char err[256];
    config_defaults(&c->cfg);
    c->cfg.public_url = strdup("https://kith.example");
    c->cfg.allow_private_addresses = allow_private;
    if (with_ca)
        c->cfg.ca_file = strdup(ca_path);
    add_resolve(&c->cfg, "kith-test.local", tls.port);
    add_resolve(&c->cfg, "other.test", tls.port);
    add_resolve(&c->cfg, "kith-test.local", plain.port);
    assert_int_equal(fetcher_new(base, &c->cfg, &c->f, err, sizeof(err)), KITH_OK);
    /* Names outside resolve go to this process's DNS server only. */
    struct evdns_base *dns = fetcher_dns(c->f);
    char ns[32];
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", (unsigned)dns_portno);
    evdns_base_clear_nameservers_and_suspend(dns);
    evdns_base_search_clear(dns);
    assert_int_equal(evdns_base_nameserver_ip_add(dns, ns), 0);
    evdns_base_resume(dns);
}

static void client_close(struct client *c)
{
    fetcher_free(c->f);
    config_free(&c->cfg);
}

struct got {
    int calls;
    int err, status;
    char why[800];
    char body[8192];
    size_t body_len;
    char ctype[128];
    bool has_ctype;
    char url[512];
};

static void on_done(const struct fetch_result *r, void *arg)
{
    struct got *g = arg;
    g->calls++;
    g->err = r->err;
    g->status = r->status;
    snprintf(g->why, sizeof(g->why), "%s", r->why);
    g->body_len = r->body.len < sizeof(g->body) - 1 ? r->body.len : sizeof(g->body) - 1;
    memcpy(g->body, r->body.ptr, g->body_len);
    g->body[g->body_len] = '\0';
    g->has_ctype = r->content_type != NULL;
    snprintf(g->ctype, sizeof(g->ctype), "%s", r->content_type ? r->content_type : "");
    snprintf(g->url, sizeof(g->url), "%s", r->url ? r->url : "");
}

static bool expired;

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    expired = true;
}

/* Runs the loop until every g has been called, or secs have passed. */
static void wait_all(struct got **gs, size_t n, int secs)
{
    struct timeval tv = {secs, 0};
    struct event *dog = evtimer_new(base, on_watchdog, NULL);
    expired = false;
    evtimer_add(dog, &tv);
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++)
            done += gs[i]->calls > 0;
        if (done == n || expired)
            break;
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(dog);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(gs[i]->calls, 1);
}

static void start(struct client *c, const char *url, const struct fetch_opts *o, struct got *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(fetch_start(c->f, url, o, on_done, g), KITH_OK);
    assert_int_equal(g->calls, 0); /* never from inside fetch_start */
}

static void run(struct client *c, const char *url, const struct fetch_opts *o, struct got *g)
{
    start(c, url, o, g);
    wait_all(&g, 1, 8);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sign callback records what it was asked to sign. */
struct sigrec {
    int calls;
    int fail; /* return this instead */
    char method[8], host[128], date[64], digest[80];
    char targets[8][64];
};

static int sign_cb(void *arg, const char *method, const char *host, const char *target,
                   const char *date, struct str digest, struct buf *out)
{
    struct sigrec *s = arg;
    if (s->fail)
        return s->fail;
    snprintf(s->method, sizeof(s->method), "%s", method);
    snprintf(s->host, sizeof(s->host), "%s", host);
    snprintf(s->date, sizeof(s->date), "%s", date);
    snprintf(s->digest, sizeof(s->digest), "%.*s", (int)digest.len, digest.ptr);
    if (s->calls < 8)
        snprintf(s->targets[s->calls], sizeof(s->targets[0]), "%s", target);
    s->calls++;
    return buf_printf(out, "keyId=\"https://kith.example/actor#main-key\",signature=\"c2ln\"");
}

/* ---- tests ---- */

static void test_get_returns_status_body_and_sends_the_headers(void **state)
{
    struct client c;
    struct got g;
    char url[128], want[256];
    (void)state;

    client_open(&c, true, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello#fragment", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "hello world");
    assert_string_equal(g.ctype, "application/activity+json");
    assert_string_equal(g.why, "");
    snprintf(want, sizeof(want), "http://127.0.0.1:%u/hello", (unsigned)plain.port);
    assert_string_equal(g.url, want);

    assert_string_equal(plain.method, "GET");
    assert_string_equal(plain.uri, "/hello");
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)plain.port);
    assert_string_equal(plain.host, want);
    assert_string_equal(plain.accept, FETCH_ACCEPT_AP);
    assert_string_equal(plain.ua, "kith/" KITH_VERSION " (+https://kith.example)");
    assert_string_equal(plain.signature, "");
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(plain.date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    assert_non_null(end);
    assert_int_equal(*end, '\0');
    assert_true(llabs((long long)(timegm(&tm) - time(NULL))) < 60);

    /* Any status is a response; a missing Content-Type is NULL. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/nothing?q=1", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 404);
    assert_string_equal(plain.uri, "/nothing?q=1");

    /* Chunked bodies are put together. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/chunked", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_string_equal(g.body, "abbccc");
    client_close(&c);
}

static void test_post_sends_body_digest_date_type_and_signature(void **state)
{
    struct client c;
    struct got g;
    struct sigrec sr;
    char url[128], want[128], digest[64];
    const char *body = "{\"type\":\"Follow\",\"actor\":\"https://kith.example/u/ann\"}";
    (void)state;

    client_open(&c, true, false);
    memset(&sr, 0, sizeof(sr));
    struct fetch_opts o = {
        .method = "POST", .body = str_from(body), .sign = sign_cb, .sign_arg = &sr};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/post?x=1", (unsigned)plain.port);
    run(&c, url, &o, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 202);
    assert_string_equal(g.body, "accepted");

    httpsig_digest(str_from(body), digest);
    assert_string_equal(plain.method, "POST");
    assert_string_equal(plain.uri, "/post?x=1");
    assert_string_equal(plain.body, body);
    assert_string_equal(plain.ctype, "application/activity+json");
    snprintf(want, sizeof(want), "%zu", strlen(body));
    assert_string_equal(plain.clen, want);
    assert_string_equal(plain.digest, digest);
    assert_string_equal(plain.signature,
                        "keyId=\"https://kith.example/actor#main-key\",signature=\"c2ln\"");
    /* The callback signed exactly what was sent. */
    assert_int_equal(sr.calls, 1);
    assert_string_equal(sr.method, "POST");
    assert_string_equal(sr.host, plain.host);
    assert_string_equal(sr.targets[0], "/post?x=1");
    assert_string_equal(sr.date, plain.date);
    assert_string_equal(sr.digest, digest);

    /* A signer that fails ends the fetch with its error, nothing sent. */
    int before = plain.requests;
    sr.fail = KITH_EDENIED;
    run(&c, url, &o, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    assert_non_null(strstr(g.why, "signing"));
    assert_int_equal(plain.requests, before);
    client_close(&c);
}

static void test_redirects_are_followed_and_signed_up_to_the_limit(void **state)
{
    struct client c;
    struct got g;
    struct sigrec sr;
    char url[128], want[128];
    (void)state;

    client_open(&c, true, false);
    memset(&sr, 0, sizeof(sr));
    struct fetch_opts o = {.sign = sign_cb, .sign_arg = &sr};
    /* absolute URL, relative path, absolute path: three redirects */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/r/3", (unsigned)plain.port);
    run(&c, url, &o, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "landed");
    snprintf(want, sizeof(want), "http://127.0.0.1:%u/r/0", (unsigned)plain.port);
    assert_string_equal(g.url, want);
    assert_int_equal(sr.calls, 4);
    assert_string_equal(sr.targets[0], "/r/3");
    assert_string_equal(sr.targets[1], "/r/2");
    assert_string_equal(sr.targets[2], "/r/1");
    assert_string_equal(sr.targets[3], "/r/0");
    assert_string_equal(sr.method, "GET");
    assert_string_equal(sr.digest, "");

    /* The fourth is refused. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/r/4", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_ETOOBIG);
    assert_int_equal(g.status, 0);
    assert_non_null(strstr(g.why, "redirects"));

    /* None followed when asked, and never for POST: the 3xx is the answer. */
    struct fetch_opts none = {.max_redirects = -1};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/r/1", (unsigned)plain.port);
    run(&c, url, &none, &g);
    assert_int_equal(g.err, KITH_ETOOBIG);
    struct fetch_opts post = {.method = "POST", .body = STR_LIT("{}")};
    run(&c, url, &post, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 302);
    client_close(&c);
}

static void test_bodies_over_max_body_are_too_big(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    client_open(&c, true, false);
    struct fetch_opts small = {.max_body = 1000};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/big", (unsigned)plain.port);
    run(&c, url, &small, &g);
    assert_int_equal(g.err, KITH_ETOOBIG);
    assert_int_equal(g.body_len, 0);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.body_len, 5000);

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/bigchunked", (unsigned)plain.port);
    run(&c, url, &small, &g);
    assert_int_equal(g.err, KITH_ETOOBIG);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.body_len, 5000);
    client_close(&c);
}

static void test_a_server_that_never_answers_times_out(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    client_open(&c, true, false);
    raw.mode = RAW_SILENT;
    struct fetch_opts o = {.timeout_secs = 1};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)raw.port);
    double t0 = now_s();
    run(&c, url, &o, &g);
    double took = now_s() - t0;
    assert_int_equal(g.err, KITH_EAGAIN);
    assert_int_equal(g.status, 0);
    assert_true(took >= 0.9 && took < 2.0);
    client_close(&c);
}

static void test_connection_refused_is_eio(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    /* A port nobody listens on: bound, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    uint16_t port = fd_port(fd);
    close(fd);

    client_open(&c, true, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    assert_non_null(strstr(g.why, "refused"));
    client_close(&c);
}

static void test_private_addresses_are_denied_unless_allowed(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    int before = plain.requests;
    (void)state;

    client_open(&c, false, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    assert_non_null(strstr(g.why, "127.0.0.1"));
    /* through a resolve override */
    snprintf(url, sizeof(url), "http://kith-test.local:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    assert_non_null(strstr(g.why, "127.0.0.1"));
    /* through DNS */
    snprintf(url, sizeof(url), "http://dns.test:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    /* IPv6 loopback and an IPv4-mapped address */
    snprintf(url, sizeof(url), "http://[::1]:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    snprintf(url, sizeof(url), "http://[::ffff:127.0.0.1]:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EDENIED);
    assert_int_equal(plain.requests, before);
    client_close(&c);

    /* Allowed: the same names reach the server. */
    client_open(&c, true, false);
    snprintf(url, sizeof(url), "http://kith-test.local:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 200);
    snprintf(url, sizeof(url), "http://dns.test:%u/hello", (unsigned)plain.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 200);
    client_close(&c);
}

static void test_tls_reaches_the_resolved_name_with_sni_and_verification(void **state)
{
    struct client c;
    struct got g;
    char url[128], want[128];
    (void)state;

    client_open(&c, true, true);
    tls.sni[0] = '\0';
    snprintf(url, sizeof(url), "https://kith-test.local:%u/hello", (unsigned)tls.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_OK);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "hello world");
    assert_string_equal(tls.sni, "kith-test.local");
    snprintf(want, sizeof(want), "kith-test.local:%u", (unsigned)tls.port);
    assert_string_equal(tls.host, want);

    /* a redirect to an absolute https URL on 127.0.0.1 fails verification
     * (the certificate names no address) */
    snprintf(url, sizeof(url), "https://kith-test.local:%u/r/3", (unsigned)tls.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    assert_non_null(strstr(g.why, "certificate"));
    client_close(&c);
}

static void test_tls_certificate_for_another_name_or_unknown_ca_fails(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    client_open(&c, true, true);
    snprintf(url, sizeof(url), "https://other.test:%u/hello", (unsigned)tls.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    assert_non_null(strstr(g.why, "certificate"));
    client_close(&c);

    client_open(&c, true, false); /* the test CA is not trusted */
    snprintf(url, sizeof(url), "https://kith-test.local:%u/hello", (unsigned)tls.port);
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    assert_non_null(strstr(g.why, "certificate"));
    client_close(&c);
}

static void test_bad_urls_are_einval_through_done(void **state)
{
    static const char *const bad[] = {
        "ftp://example.com/x",
        "http:///path",
        "http://user@example.com/",
        "https://a:b@example/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://[::1/",
        "http://[fe80::1%25]/",
        "notaurl",
        "http://exa mple.com/",
        "http://ex..ample.com/",
        "",
        "http://xn--d\xc3\xa9.fr/",
    };
    struct client c;
    struct got g;
    (void)state;

    client_open(&c, true, false);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(&c, bad[i], NULL, &g);
        if (g.err != KITH_EINVAL)
            fail_msg("'%s' gave %d, not KITH_EINVAL", bad[i], g.err);
        assert_int_equal(g.status, 0);
        assert_true(strlen(g.why) > 0);
    }
    client_close(&c);
}

static void test_misuse_fails_at_start_without_done(void **state)
{
    struct client c;
    struct got g;
    (void)state;

    client_open(&c, true, false);
    memset(&g, 0, sizeof(g));
    struct fetch_opts put = {.method = "PUT"};
    struct fetch_opts crlf = {.accept = "text/html\r\nX-Evil: 1"};
    assert_int_equal(fetch_start(c.f, "http://example.com/", &put, on_done, &g), KITH_EINVAL);
    assert_int_equal(fetch_start(c.f, "http://example.com/", &crlf, on_done, &g), KITH_EINVAL);
    assert_int_equal(fetch_start(c.f, NULL, NULL, on_done, &g), KITH_EINVAL);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(g.calls, 0);
    client_close(&c);

    /* An unreadable ca_file stops fetcher_new with a message. */
    struct kith_config cfg;
    struct fetcher *f = NULL;
    char err[256] = "";
    config_defaults(&cfg);
    cfg.ca_file = strdup("/nonexistent/ca.pem");
    assert_int_equal(fetcher_new(base, &cfg, &f, err, sizeof(err)), KITH_EIO);
    assert_null(f);
    assert_non_null(strstr(err, "ca_file"));
    config_free(&cfg);
}

static void test_fetcher_free_stops_pending_fetches(void **state)
{
    struct client c;
    struct got a, b, d;
    char url[128];
    (void)state;

    client_open(&c, true, false);
    raw.mode = RAW_SILENT;
    int conns = raw.conns;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)raw.port);
    start(&c, url, NULL, &a);
    start(&c, "http://never.test/", NULL, &b);
    /* run until the first is connected and the second waits for DNS */
    for (int i = 0; i < 50 && raw.conns == conns; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(raw.conns, conns + 1);
    start(&c, url, NULL, &d); /* not even started */
    assert_int_equal(a.calls + b.calls + d.calls, 0);
    client_close(&c);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(a.err, KITH_ESTOPPED);
    assert_int_equal(b.err, KITH_ESTOPPED);
    assert_int_equal(d.err, KITH_ESTOPPED);
    /* The cancelled lookup calls back from the loop, and the resolver goes,
     * in one turn (LeakSanitizer checks under make asan). */
    event_base_loop(base, EVLOOP_NONBLOCK);
}

static struct client *freed_from_done;

static void free_in_done(const struct fetch_result *r, void *arg)
{
    on_done(r, arg);
    client_close(freed_from_done);
}

static void test_fetcher_free_from_a_done_callback(void **state)
{
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    /* Denied right after resolution: done runs inside the lookup's callback. */
    client_open(&c, false, false);
    freed_from_done = &c;
    memset(&g, 0, sizeof(g));
    snprintf(url, sizeof(url), "http://dns.test:%u/hello", (unsigned)plain.port);
    assert_int_equal(fetch_start(c.f, url, NULL, free_in_done, &g), KITH_OK);
    struct got *gs = &g;
    wait_all(&gs, 1, 8);
    assert_int_equal(g.err, KITH_EDENIED);
    event_base_loop(base, EVLOOP_NONBLOCK);

    /* And from a response's callback, with a kept connection to close. */
    client_open(&c, true, false);
    memset(&g, 0, sizeof(g));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello", (unsigned)plain.port);
    assert_int_equal(fetch_start(c.f, url, NULL, free_in_done, &g), KITH_OK);
    wait_all(&gs, 1, 8);
    assert_int_equal(g.err, KITH_OK);
}

static void test_dns_that_never_answers_times_out(void **state)
{
    struct client c;
    struct got g;
    (void)state;

    client_open(&c, true, false);
    struct fetch_opts o = {.timeout_secs = 1};
    double t0 = now_s();
    run(&c, "http://never.test/", &o, &g);
    assert_int_equal(g.err, KITH_EAGAIN);
    assert_true(now_s() - t0 < 2.0);
    client_close(&c);
    for (int i = 0; i < 10; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
}

static void test_connections_are_kept_alive_and_a_stale_one_is_replaced(void **state)
{
    struct client c;
    struct got g1, g2;
    char url[128];
    (void)state;

    client_open(&c, true, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/port", (unsigned)plain.port);
    run(&c, url, NULL, &g1);
    run(&c, url, NULL, &g2);
    assert_int_equal(g1.err, KITH_OK);
    assert_int_equal(g2.err, KITH_OK);
    assert_string_equal(g1.body, g2.body); /* the same client port: one connection */

    /* A server that closes the kept connection when the next request comes:
     * the request goes again on a new connection. */
    raw.mode = RAW_CLOSE_SECOND;
    int conns = raw.conns;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)raw.port);
    run(&c, url, NULL, &g1);
    assert_int_equal(g1.err, KITH_OK);
    assert_string_equal(g1.body, "ok");
    run(&c, url, NULL, &g2);
    assert_int_equal(g2.err, KITH_OK);
    assert_string_equal(g2.body, "ok");
    assert_int_equal(raw.conns, conns + 2);
    client_close(&c);
}

static void test_response_framing_and_malformed_responses(void **state)
{
    static const struct {
        const char *text;
        int err, status;
        const char *body; /* or what why contains */
    } cases[] = {
        /* no framing: the body runs to the close */
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", KITH_OK, 200,
         "until the end"},
        {"HTTP/1.0 200 OK\r\n\r\nold", KITH_OK, 200, "old"},
        /* interim responses are skipped */
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
         KITH_OK, 200, "abc"},
        /* chunk extensions, upper-case hex and trailers */
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\nA\r\n0123456789"
         "\r\n0\r\nX-Trailer: y\r\n\r\n",
         KITH_OK, 200, "abc0123456789"},
        /* bare LF line ends, no reason phrase */
        {"HTTP/1.1 200\nContent-Length: 2\n\nok", KITH_OK, 200, "ok"},
        {"HTTP/1.1 204 No Content\r\n\r\n", KITH_OK, 204, ""},
        {"nonsense\r\n\r\n", KITH_EIO, 0, "status line"},
        {"HTTP/1.1 2000 OK\r\n\r\n", KITH_EIO, 0, "status line"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", KITH_EIO, 0,
         "content-length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", KITH_EIO, 0, "content-length"},
        {"HTTP/1.1 200 OK\r\n Folded: y\r\nContent-Length: 0\r\n\r\n", KITH_EIO, 0, "folded"},
        {"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", KITH_EIO, 0, "header"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", KITH_EIO, 0, "closed"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", KITH_EIO, 0, "chunk"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", KITH_EIO, 0,
         "chunk"},
        {"HTTP/1.1 101 Switching Protocols\r\n\r\n", KITH_EIO, 0, "switch"},
    };
    struct client c;
    struct got g;
    char url[128];
    (void)state;

    client_open(&c, true, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)raw.port);
    raw.mode = RAW_CANNED;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw.canned = cases[i].text;
        run(&c, url, NULL, &g);
        if (g.err != cases[i].err || g.status != cases[i].status)
            fail_msg("case %zu: err %d status %d (%s)", i, g.err, g.status, g.why);
        if (g.err == KITH_OK)
            assert_string_equal(g.body, cases[i].body);
        else if (!strstr(g.why, cases[i].body))
            fail_msg("case %zu: '%s' does not mention '%s'", i, g.why, cases[i].body);
    }

    /* A header section over FETCH_MAX_HEADERS, and one endless line. */
    static char big[FETCH_MAX_HEADERS + 4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    while (n + 64 < sizeof(big) - 8)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Filler-%05zu: %040d\r\n", n, 0);
    snprintf(big + n, sizeof(big) - n, "\r\n");
    raw.canned = big;
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    assert_non_null(strstr(g.why, "too large"));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    run(&c, url, NULL, &g);
    assert_int_equal(g.err, KITH_EIO);
    client_close(&c);
}

/* ---- set-up ---- */

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* as kithd does */
    base = event_base_new();
    assert_non_null(base);
    tmpdir = make_tmpdir();

    plain.ssl = NULL;
    srv_start(&plain);
    tls.ssl = make_tls();
    srv_start(&tls);

    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    raw.l =
        evconnlistener_new_bind(base, raw_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                -1, (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(raw.l);
    raw.port = fd_port(evconnlistener_get_fd(raw.l));

    dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(dns_fd >= 0);
    assert_int_equal(bind(dns_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    evutil_make_socket_nonblocking(dns_fd);
    dns_portno = fd_port(dns_fd);
    dns_port = evdns_add_server_port_with_base(base, dns_fd, 0, dns_cb, NULL);
    assert_non_null(dns_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(raw.c) / sizeof(raw.c[0]); i++)
        raw_close(&raw.c[i]);
    evconnlistener_free(raw.l);
    evdns_close_server_port(dns_port);
    close(dns_fd);
    evhttp_free(plain.http);
    evhttp_free(tls.http);
    SSL_CTX_free(tls.ssl);
    event_base_free(base);
    rm_tree(tmpdir);
    return 0;
}

static void test_url_parts_match_what_is_sent(void **state)
{
    (void)state;
    char auth[300], target[300];
    assert_int_equal(fetch_url_parts("https://Peer.Example/inbox?x=1#frag", auth, sizeof(auth),
                                     target, sizeof(target)),
                     0);
    assert_string_equal(auth, "peer.example");
    assert_string_equal(target, "/inbox?x=1");
    assert_int_equal(
        fetch_url_parts("http://127.0.0.1:8080", auth, sizeof(auth), target, sizeof(target)), 0);
    assert_string_equal(auth, "127.0.0.1:8080");
    assert_string_equal(target, "/");
    assert_int_equal(
        fetch_url_parts("https://[::1]:443/a", auth, sizeof(auth), target, sizeof(target)), 0);
    assert_string_equal(auth, "[::1]");
    assert_int_not_equal(fetch_url_parts("ftp://x/", auth, sizeof(auth), target, sizeof(target)),
                         0);
    assert_int_not_equal(
        fetch_url_parts("https://u@x/", auth, sizeof(auth), target, sizeof(target)), 0);
    assert_int_not_equal(fetch_url_parts("https://x/abc", auth, sizeof(auth), target, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parts_match_what_is_sent),
        cmocka_unit_test(test_get_returns_status_body_and_sends_the_headers),
        cmocka_unit_test(test_post_sends_body_digest_date_type_and_signature),
        cmocka_unit_test(test_redirects_are_followed_and_signed_up_to_the_limit),
        cmocka_unit_test(test_bodies_over_max_body_are_too_big),
        cmocka_unit_test(test_a_server_that_never_answers_times_out),
        cmocka_unit_test(test_connection_refused_is_eio),
        cmocka_unit_test(test_private_addresses_are_denied_unless_allowed),
        cmocka_unit_test(test_tls_reaches_the_resolved_name_with_sni_and_verification),
        cmocka_unit_test(test_tls_certificate_for_another_name_or_unknown_ca_fails),
        cmocka_unit_test(test_bad_urls_are_einval_through_done),
        cmocka_unit_test(test_misuse_fails_at_start_without_done),
        cmocka_unit_test(test_fetcher_free_stops_pending_fetches),
        cmocka_unit_test(test_fetcher_free_from_a_done_callback),
        cmocka_unit_test(test_dns_that_never_answers_times_out),
        cmocka_unit_test(test_connections_are_kept_alive_and_a_stale_one_is_replaced),
        cmocka_unit_test(test_response_framing_and_malformed_responses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
