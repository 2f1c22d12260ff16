/* tests/bench/fanout_sink.c: the remote side of the fan-out benchmark.
 *
 * usage: fanout_sink PORT HOSTS PER_HOST ACTORS_PUB.pem COMMUNITY_URL SAMPLE_EVERY
 *
 * One plaintext evhttp server on 127.0.0.1:PORT that stands for HOSTS remote
 * servers named host000.test .. (kithd's `resolve` lines point them all
 * here; requests are told apart by their Host header), each with PER_HOST
 * people /users/0 .. /users/PER_HOST-1. It:
 *  - serves each person's actor document: its own inbox, no
 *    endpoints.sharedInbox (so kith must deliver to every inbox on its own),
 *    and the public key of ACTORS_PUB.pem, which all of them share;
 *  - takes POSTs to those inboxes, answers 202 and counts them by activity
 *    type (Accept, Announce, anything else) and, for Announces, by activity
 *    id: how many, at how many distinct inboxes, the times of the first and
 *    the last, and over how many connections (distinct sender ports);
 *  - checks the draft-cavage HTTP signature of every SAMPLE_EVERY-th POST of
 *    each type (rsa-sha256 over the headers it lists, which must include
 *    (request-target), host, date and digest; the Digest against the body;
 *    the Date within 5 minutes; the keyId the community's) against the
 *    community's public key, fetched once at start from COMMUNITY_URL. The
 *    check is written here with OpenSSL alone, not with kith's verifier, so
 *    a fault shared by kith's signer and verifier cannot hide. Every POST
 *    must also be an Accept or Announce whose actor is the community; any
 *    other counts as bad;
 *  - answers, on 127.0.0.1:PORT (the driver's Host):
 *      GET /_bench/wait?type=T&n=N&timeout=S  once N distinct inboxes got
 *          an activity of type T, or after S seconds: the counters;
 *      GET /_bench/stats  the counters now;
 *      GET /_bench/reset?type=T  forgets the POSTs of type T so far;
 *    the counters being one line per type, "type=T received= distinct=
 *    sampled= bad= first= last= connections= unexpected= too_many_ids=", then
 *    one line per Announce, "id=ID received= distinct= first= last=
 *    connections=" (times in Unix seconds; unexpected counts requests for
 *    anything else).
 * With FANOUT_SINK_TRACE=FILE set, it also writes a line per POST to FILE:
 * time, type, inbox number, activity id, the sender's port.
 */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WAITERS 16
#define DATE_SKEW   300 /* seconds a signed Date may be off */
#define REPORT_BAD  5   /* bad signatures described on stderr */
#define MAX_IDS     8   /* Announces told apart */

enum { TY_ACCEPT, TY_ANNOUNCE, TY_OTHER, NTYPES };
static const char *const type_names[NTYPES] = {"Accept", "Announce", "Other"};

/* POSTs of one activity type, or of one Announce (by its id). */
struct tally {
    unsigned long received, distinct, sampled, bad;
    unsigned char *seen; /* per inbox */
    double first, last;  /* Unix seconds */
    unsigned long conns; /* distinct sender ports: connections used */
    unsigned char ports[65536 / 8];
    char id[400];
};

struct waiter {
    struct evhttp_request *req;
    int type;
    unsigned long n;
    double deadline;
};

static struct {
    unsigned port, hosts, per_host, sample_every;
    char **actor_docs; /* per person */
    EVP_PKEY *community_key;
    char *community_id, *community_key_id;
    unsigned people;
    struct tally st[NTYPES];
    struct tally ids[MAX_IDS]; /* the Announces, by activity id */
    unsigned nids;
    unsigned long unexpected, reported_bad, too_many_ids;
    struct waiter waiters[MAX_WAITERS];
    FILE *trace; /* $FANOUT_SINK_TRACE: one line per POST */
} S;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            s = realloc(s, cap *= 2);
    }
    fclose(f);
    if (s)
        s[len] = '\0';
    return s;
}

/* ---- the community's key, fetched once with a blocking HTTP/1.0 GET ---- */

static int fetch_community(const char *url)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    if (!u || !evhttp_uri_get_host(u) || evhttp_uri_get_port(u) <= 0) {
        fprintf(stderr, "fanout_sink: cannot parse %s\n", url);
        return -1;
    }
    const char *path = evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "/";
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)evhttp_uri_get_port(u)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "fanout_sink: cannot connect to %s\n", url);
        return -1;
    }
    char req[1024];
    int len =
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.0\r\nHost: %s:%d\r\nAccept: application/activity+json\r\n\r\n",
                 path, evhttp_uri_get_host(u), evhttp_uri_get_port(u));
    if (write(fd, req, (size_t)len) != len) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, got = 0;
    char *resp = malloc(cap);
    ssize_t n;
    while ((n = read(fd, resp + got, cap - got - 1)) > 0)
        if ((got += (size_t)n) + 1 == cap)
            resp = realloc(resp, cap *= 2);
    resp[got] = '\0';
    close(fd);
    evhttp_uri_free(u);
    const char *body = strstr(resp, "\r\n\r\n");
    cJSON *doc = body && strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200 ", 5) == 0
                     ? cJSON_Parse(body + 4)
                     : NULL;
    cJSON *pk = cJSON_GetObjectItemCaseSensitive(doc, "publicKey");
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "id"));
    const char *kid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pk, "id"));
    const char *pem = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pk, "publicKeyPem"));
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    S.community_key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!id || !kid || !S.community_key) {
        fprintf(stderr, "fanout_sink: no actor with a public key at %s:\n%.300s\n", url, resp);
        return -1;
    }
    S.community_id = strdup(id);
    S.community_key_id = strdup(kid);
    cJSON_Delete(doc);
    free(resp);
    return 0;
}

/* ---- the check of one draft-cavage signature ---- */

struct sig_params {
    char key_id[512], algorithm[64], headers[512], signature[1024];
};

/* Splits `name="value",name="value"` (cavage has no escapes in values). */
static const char *parse_signature(const char *v, struct sig_params *p)
{
    memset(p, 0, sizeof(*p));
    while (*v) {
        while (*v == ' ' || *v == ',')
            v++;
        const char *eq = strchr(v, '=');
        if (!eq || eq[1] != '"')
            return "the Signature header does not parse";
        const char *end = strchr(eq + 2, '"');
        if (!end)
            return "the Signature header does not parse";
        size_t nlen = (size_t)(eq - v), vlen = (size_t)(end - eq - 2);
        char *dst = NULL;
        size_t cap = 0;
        if (nlen == 5 && strncmp(v, "keyId", 5) == 0)
            dst = p->key_id, cap = sizeof(p->key_id);
        else if (nlen == 9 && strncmp(v, "algorithm", 9) == 0)
            dst = p->algorithm, cap = sizeof(p->algorithm);
        else if (nlen == 7 && strncmp(v, "headers", 7) == 0)
            dst = p->headers, cap = sizeof(p->headers);
        else if (nlen == 9 && strncmp(v, "signature", 9) == 0)
            dst = p->signature, cap = sizeof(p->signature);
        if (dst) {
            if (vlen >= cap)
                return "a Signature parameter is too long";
            memcpy(dst, eq + 2, vlen);
            dst[vlen] = '\0';
        }
        v = end + 1;
    }
    return NULL;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* NULL if the request's signature is good, else what is wrong. */
static const char *check_signature(struct evhttp_request *req, const unsigned char *body,
                                   size_t blen)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *sig = evhttp_find_header(in, "Signature");
    const char *digest = evhttp_find_header(in, "Digest");
    const char *date = evhttp_find_header(in, "Date");
    struct sig_params p;
    const char *why;
    if (!sig)
        return "no Signature header";
    if ((why = parse_signature(sig, &p)))
        return why;
    if (strcmp(p.key_id, S.community_key_id) != 0)
        return "the keyId is not the community's key";
    if (strcmp(p.algorithm, "rsa-sha256") != 0)
        return "the algorithm is not rsa-sha256";
    if (!has_word(p.headers, "(request-target)") || !has_word(p.headers, "host") ||
        !has_word(p.headers, "date") || !has_word(p.headers, "digest"))
        return "the signature does not cover (request-target), host, date and digest";

    /* Digest: SHA-256 of the body as received. */
    unsigned char md[32];
    unsigned int mdlen = 0;
    char want[64] = "SHA-256=";
    EVP_Digest(body, blen, md, &mdlen, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)want + 8, md, (int)mdlen);
    if (!digest || strcmp(digest, want) != 0)
        return "the Digest does not match the body";

    struct tm tm = {0};
    const char *end = date ? strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    if (!end || *end)
        return "the Date does not parse";
    double skew = now_s() - (double)timegm(&tm);
    if (skew > DATE_SKEW || skew < -DATE_SKEW)
        return "the Date is more than 5 minutes off";

    /* The signing string, from the headers as received. */
    char text[4096], names[512];
    size_t tlen = 0;
    snprintf(names, sizeof(names), "%s", p.headers);
    char *save = NULL;
    for (char *name = strtok_r(names, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
        const char *value;
        char line[2048];
        if (strcmp(name, "(request-target)") == 0) {
            snprintf(line, sizeof(line), "(request-target): post %s", evhttp_request_get_uri(req));
        } else {
            if (!(value = evhttp_find_header(in, name)))
                return "a signed header is missing";
            snprintf(line, sizeof(line), "%s: %s", name, value);
        }
        size_t n = strlen(line);
        if (tlen + n + 1 >= sizeof(text))
            return "the signing string is too long";
        if (tlen)
            text[tlen++] = '\n';
        memcpy(text + tlen, line, n);
        tlen += n;
    }

    unsigned char raw[1024];
    size_t slen = strlen(p.signature);
    if (slen == 0 || slen % 4 || slen / 4 * 3 > sizeof(raw))
        return "the signature is not base64";
    int rlen = EVP_DecodeBlock(raw, (const unsigned char *)p.signature, (int)slen);
    if (rlen < 0)
        return "the signature is not base64";
    rlen -= (p.signature[slen - 1] == '=') + (p.signature[slen - 2] == '=');
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, S.community_key) == 1 &&
             EVP_DigestVerify(ctx, raw, (size_t)rlen, (const unsigned char *)text, tlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? NULL : "the RSA signature does not verify";
}

/* ---- requests ---- */

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
    evhttp_send_reply(req, code, code == 200 ? "OK" : code == 202 ? "Accepted" : "Not Found", NULL);
}

static void count(struct tally *t, unsigned who, double now, unsigned port)
{
    if (!(t->ports[port / 8] & (1u << (port % 8)))) {
        t->ports[port / 8] |= (unsigned char)(1u << (port % 8));
        t->conns++;
    }
    if (t->received++ == 0)
        t->first = now;
    t->last = now;
    if (!t->seen[who]) {
        t->seen[who] = 1;
        t->distinct++;
    }
}

static void reset(struct tally *t)
{
    unsigned char *seen = t->seen;
    memset(seen, 0, S.people);
    memset(t, 0, sizeof(*t));
    t->seen = seen;
}

/* Every counter, one line per type, then one per Announce. */
static void send_stats(struct evhttp_request *req)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    for (int i = 0; i < NTYPES; i++) {
        const struct tally *t = &S.st[i];
        evbuffer_add_printf(out,
                            "type=%s received=%lu distinct=%lu sampled=%lu bad=%lu first=%.6f "
                            "last=%.6f connections=%lu unexpected=%lu too_many_ids=%lu\n",
                            type_names[i], t->received, t->distinct, t->sampled, t->bad, t->first,
                            t->last, t->conns, S.unexpected, S.too_many_ids);
    }
    for (unsigned i = 0; i < S.nids; i++) {
        const struct tally *t = &S.ids[i];
        evbuffer_add_printf(
            out, "id=%s received=%lu distinct=%lu first=%.6f last=%.6f connections=%lu\n", t->id,
            t->received, t->distinct, t->first, t->last, t->conns);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void answer_waiter(struct waiter *w)
{
    send_stats(w->req);
    w->req = NULL;
}

static void check_waiters(bool timed)
{
    double now = timed ? now_s() : 0;
    for (int i = 0; i < MAX_WAITERS; i++) {
        struct waiter *w = &S.waiters[i];
        if (w->req && (S.st[w->type].distinct >= w->n || (timed && now >= w->deadline)))
            answer_waiter(w);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    check_waiters(true);
}

static void control(struct evhttp_request *req, const char *uri)
{
    struct evkeyvalq q;
    const char *qs = strchr(uri, '?');
    if (evhttp_parse_query_str(qs ? qs + 1 : "", &q) != 0) {
        reply_text(req, 404, "bad query\n");
        return;
    }
    const char *type = evhttp_find_header(&q, "type"), *n = evhttp_find_header(&q, "n"),
               *timeout = evhttp_find_header(&q, "timeout");
    int ty = TY_OTHER;
    for (int i = 0; type && i < NTYPES; i++)
        if (strcmp(type, type_names[i]) == 0)
            ty = i;
    size_t plen = qs ? (size_t)(qs - uri) : strlen(uri);
    if (plen == 12 && strncmp(uri, "/_bench/wait", plen) == 0) {
        int i = 0;
        while (i < MAX_WAITERS && S.waiters[i].req)
            i++;
        if (i == MAX_WAITERS) {
            reply_text(req, 404, "too many waiters\n");
        } else {
            S.waiters[i] = (struct waiter){.req = req,
                                           .type = ty,
                                           .n = n ? strtoul(n, NULL, 10) : 0,
                                           .deadline = now_s() + (timeout ? atof(timeout) : 60)};
            check_waiters(false);
        }
    } else if (plen == 13 && strncmp(uri, "/_bench/stats", plen) == 0) {
        send_stats(req);
    } else if (plen == 13 && strncmp(uri, "/_bench/reset", plen) == 0) {
        /* Forget the POSTs of this type so far (for Announce, the ids too). */
        reset(&S.st[ty]);
        for (unsigned i = 0; ty == TY_ANNOUNCE && i < S.nids; i++)
            reset(&S.ids[i]);
        if (ty == TY_ANNOUNCE)
            S.nids = 0;
        reply_text(req, 200, "reset\n");
    } else {
        reply_text(req, 404, "unknown\n");
    }
    evhttp_clear_headers(&q);
}

/* "host007.test:PORT" -> 7, or -1. */
static int host_index(const char *host)
{
    char *end;
    if (!host || strncmp(host, "host", 4) != 0)
        return -1;
    unsigned long i = strtoul(host + 4, &end, 10);
    if (end != host + 7 || strncmp(end, ".test:", 6) != 0 || strtoul(end + 6, &end, 10) != S.port ||
        *end || i >= S.hosts)
        return -1;
    return (int)i;
}

/* "/users/J" (inbox false) or "/users/J/inbox" (inbox true) -> J, or -1. */
static int user_index(const char *uri, bool inbox)
{
    char *end;
    if (strncmp(uri, "/users/", 7) != 0 || uri[7] < '0' || uri[7] > '9')
        return -1;
    unsigned long j = strtoul(uri + 7, &end, 10);
    if (j >= S.per_host || strcmp(end, inbox ? "/inbox" : "") != 0)
        return -1;
    return (int)j;
}

static void take_post(struct evhttp_request *req, unsigned who)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    const unsigned char *body = evbuffer_pullup(in, -1);
    cJSON *doc = cJSON_ParseWithLength((const char *)body, blen);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "type"));
    const char *actor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "actor"));
    int ty = TY_OTHER;
    for (int i = 0; type && i < TY_OTHER; i++)
        if (strcmp(type, type_names[i]) == 0)
            ty = i;
    struct tally *t = &S.st[ty];
    double now = now_s();
    char *peer = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    count(t, who, now, port);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "id"));
    if (ty == TY_ANNOUNCE && id) {
        unsigned i = 0;
        while (i < S.nids && strcmp(S.ids[i].id, id) != 0)
            i++;
        if (i == S.nids && i < MAX_IDS && strlen(id) < sizeof(S.ids[i].id))
            snprintf(S.ids[S.nids++].id, sizeof(S.ids[i].id), "%s", id);
        if (i < S.nids)
            count(&S.ids[i], who, now, port);
        else
            S.too_many_ids++;
    }
    if (ty == TY_OTHER || !actor || strcmp(actor, S.community_id) != 0) {
        t->bad++;
        if (S.reported_bad++ < REPORT_BAD)
            fprintf(stderr, "fanout_sink: %s to %s: not an activity of the community\n",
                    type ? type : "(no type)", evhttp_request_get_uri(req));
    } else if ((t->received - 1) % S.sample_every == 0) {
        t->sampled++;
        const char *why = check_signature(req, body, blen);
        if (why) {
            t->bad++;
            if (S.reported_bad++ < REPORT_BAD)
                fprintf(stderr, "fanout_sink: bad signature on a %s to %s: %s\n", type,
                        evhttp_request_get_uri(req), why);
        }
    }
    if (S.trace)
        fprintf(S.trace, "%.6f %s %u %s %u\n", now, type ? type : "-", who, id ? id : "-",
                (unsigned)port);
    cJSON_Delete(doc);
    reply_text(req, 202, "");
    check_waiters(false);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    int h = host_index(host), u;
    if (h < 0 && cmd == EVHTTP_REQ_GET && strncmp(uri, "/_bench/", 8) == 0) {
        control(req, uri);
    } else if (h >= 0 && cmd == EVHTTP_REQ_GET && (u = user_index(uri, false)) >= 0) {
        const char *doc = S.actor_docs[(unsigned)h * S.per_host + (unsigned)u];
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/activity+json");
        evbuffer_add_reference(evhttp_request_get_output_buffer(req), doc, strlen(doc), NULL, NULL);
        evhttp_send_reply(req, 200, "OK", NULL);
    } else if (h >= 0 && cmd == EVHTTP_REQ_POST && (u = user_index(uri, true)) >= 0) {
        take_post(req, (unsigned)h * S.per_host + (unsigned)u);
    } else {
        S.unexpected++;
        fprintf(stderr, "fanout_sink: unexpected request for %s (Host %s)\n", uri,
                host ? host : "-");
        reply_text(req, 404, "not here\n");
    }
}

static char *actor_doc(unsigned h, unsigned u, const char *pub)
{
    char id[256], v[300];
    snprintf(id, sizeof(id), "http://host%03u.test:%u/users/%u", h, S.port, u);
    cJSON *o = cJSON_CreateObject();
    cJSON *ctx = cJSON_AddArrayToObject(o, "@context");
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://www.w3.org/ns/activitystreams"));
    cJSON_AddItemToArray(ctx, cJSON_CreateString("https://w3id.org/security/v1"));
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "Person");
    snprintf(v, sizeof(v), "u%u", u);
    cJSON_AddStringToObject(o, "preferredUsername", v);
    snprintf(v, sizeof(v), "%s/inbox", id);
    cJSON_AddStringToObject(o, "inbox", v);
    snprintf(v, sizeof(v), "%s/outbox", id);
    cJSON_AddStringToObject(o, "outbox", v);
    cJSON *pk = cJSON_AddObjectToObject(o, "publicKey");
    snprintf(v, sizeof(v), "%s#main-key", id);
    cJSON_AddStringToObject(pk, "id", v);
    cJSON_AddStringToObject(pk, "owner", id);
    cJSON_AddStringToObject(pk, "publicKeyPem", pub);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: fanout_sink PORT HOSTS PER_HOST ACTORS_PUB.pem COMMUNITY_URL "
                        "SAMPLE_EVERY\n");
        return 2;
    }
    S.port = (unsigned)atoi(argv[1]);
    S.hosts = (unsigned)atoi(argv[2]);
    S.per_host = (unsigned)atoi(argv[3]);
    S.sample_every = (unsigned)atoi(argv[6]);
    char *pub = read_file(argv[4]);
    if (!S.port || !S.hosts || S.hosts > 1000 || !S.per_host || !S.sample_every || !pub) {
        fprintf(stderr, "fanout_sink: bad arguments or unreadable %s\n", argv[4]);
        return 2;
    }
    if (getenv("FANOUT_SINK_TRACE") && !(S.trace = fopen(getenv("FANOUT_SINK_TRACE"), "w"))) {
        perror("fanout_sink: FANOUT_SINK_TRACE");
        return 2;
    }
    if (S.trace)
        setvbuf(S.trace, NULL, _IOLBF, 0);
    if (fetch_community(argv[5]))
        return 1;
    S.people = S.hosts * S.per_host;
    S.actor_docs = calloc(S.people, sizeof(char *));
    for (unsigned i = 0; i < S.people; i++)
        S.actor_docs[i] = actor_doc(i / S.per_host, i % S.per_host, pub);
    for (int t = 0; t < NTYPES; t++)
        S.st[t].seen = calloc(S.people, 1);
    for (int i = 0; i < MAX_IDS; i++)
        S.ids[i].seen = calloc(S.people, 1);

    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    /* A deep backlog: kith opens hundreds of connections at once. */
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)S.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct evconnlistener *l =
        evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 4096,
                                (struct sockaddr *)&sa, sizeof(sa));
    if (!l || !evhttp_bind_listener(http, l)) {
        perror("fanout_sink: bind");
        return 1;
    }
    struct timeval tick = {0, 100 * 1000};
    struct event *timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
    event_add(timer, &tick);
    event_base_dispatch(base);
    return 0;
}
