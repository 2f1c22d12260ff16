/* tests/bench/fanout_send.c: the signed POSTs the fan-out benchmark sends
 * to kith, from the people fanout_sink stands for.
 *
 * usage: fanout_send follow|post|comment KITH SINK_PORT HOSTS PER_HOST KEY.pem COMMUNITY_URL
 *                    CONNS
 *
 * KITH is kith's host:port (its public_url's authority; the POSTs go to its
 * shared inbox /inbox). The people are http://hostNNN.test:SINK_PORT/users/J
 * for NNN < HOSTS and J < PER_HOST; all sign with KEY.pem (their keyId is
 * their own, ACTOR#main-key), with kith's own draft-cavage signer (checked
 * against independent implementations in the tests).
 *  - follow: every person sends a Follow of COMMUNITY_URL, all signed first,
 *    then sent over CONNS keep-alive connections.
 *  - post: host000's person 0 posts a Note into the community, with the id
 *    ACTOR/notes/1;
 *  - comment: host001's person 0 (host000's with one host) answers it with
 *    a Note of its own (a comment: kith announces it once to each member);
 *  post and comment print "sent_at=UNIX_SECONDS" (after signing, just before
 *  sending).
 * Every answer must be 202, or the exit status is 1.
 */
#include "../../federation/httpsig.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct post {
    char *body, *sig;
    char digest[64];
};

static struct {
    struct event_base *base;
    unsigned long pending, ok, failed;
} S;

static void on_answer(struct evhttp_request *req, void *arg)
{
    (void)arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 202) {
        S.ok++;
    } else if (S.failed++ < 5) {
        struct evbuffer *b = req ? evhttp_request_get_input_buffer(req) : NULL;
        size_t n = b ? evbuffer_get_length(b) : 0;
        fprintf(stderr, "fanout_send: answer %d: %.*s\n", code, (int)(n > 300 ? 300 : n),
                b ? (const char *)evbuffer_pullup(b, -1) : "");
    }
    if (--S.pending == 0)
        event_base_loopbreak(S.base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fprintf(stderr, "fanout_send: %lu answers still missing after 120 s\n", S.pending);
    event_base_loopbreak(S.base);
}

int main(int argc, char **argv)
{
    const char *mode = argc == 9 ? argv[1] : "";
    bool follow = strcmp(mode, "follow") == 0, comment = strcmp(mode, "comment") == 0;
    if (!follow && !comment && strcmp(mode, "post") != 0) {
        fprintf(stderr, "usage: fanout_send follow|post|comment KITH SINK_PORT HOSTS PER_HOST "
                        "KEY.pem COMMUNITY_URL CONNS\n");
        return 2;
    }
    const char *kith = argv[2], *community = argv[7];
    unsigned sink_port = (unsigned)atoi(argv[3]), hosts = (unsigned)atoi(argv[4]),
             per_host = (unsigned)atoi(argv[5]), conns = (unsigned)atoi(argv[8]);
    const char *colon = strrchr(kith, ':');
    FILE *kf = fopen(argv[6], "r");
    EVP_PKEY *key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    if (kf)
        fclose(kf);
    if (!key || !colon || !hosts || !per_host || !conns) {
        fprintf(stderr, "fanout_send: bad arguments or unreadable key %s\n", argv[6]);
        return 2;
    }
    unsigned n = follow ? hosts * per_host : 1;
    struct post *posts = calloc(n, sizeof(*posts));
    char date[64], actor[256], key_id[300], reply[300] = "";
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&now));
    if (comment)
        snprintf(reply, sizeof(reply), "\"inReplyTo\":\"http://host000.test:%u/users/0/notes/1\",",
                 sink_port);
    for (unsigned i = 0; i < n; i++) {
        struct post *p = &posts[i];
        unsigned who = comment && hosts > 1 ? per_host : i;
        snprintf(actor, sizeof(actor), "http://host%03u.test:%u/users/%u", who / per_host,
                 sink_port, who % per_host);
        snprintf(key_id, sizeof(key_id), "%s#main-key", actor);
        size_t cap = 4096;
        p->body = malloc(cap);
        if (!follow)
            snprintf(p->body, cap,
                     "{\"@context\":\"https://www.w3.org/ns/activitystreams\","
                     "\"id\":\"%s/creates/%d\",\"type\":\"Create\",\"actor\":\"%s\","
                     "\"to\":[\"https://www.w3.org/ns/activitystreams#Public\"],"
                     "\"cc\":[\"%s\"],\"object\":{\"id\":\"%s/notes/%d\",\"type\":\"Note\","
                     "\"attributedTo\":\"%s\",%s\"audience\":\"%s\","
                     "\"to\":[\"https://www.w3.org/ns/activitystreams#Public\"],"
                     "\"cc\":[\"%s\"],\"content\":\"<p>%s</p>\"}}",
                     actor, comment ? 2 : 1, actor, community, actor, comment ? 2 : 1, actor, reply,
                     community, community,
                     comment ? "A comment, announced to every member's inbox."
                             : "A post, to comment on.");
        else
            snprintf(p->body, cap,
                     "{\"@context\":\"https://www.w3.org/ns/activitystreams\","
                     "\"id\":\"%s/follows/%ld\",\"type\":\"Follow\",\"actor\":\"%s\","
                     "\"object\":\"%s\"}",
                     actor, (long)now, actor, community);
        httpsig_digest(str_from(p->body), p->digest);
        struct buf sig;
        buf_init(&sig, 4096);
        if (httpsig_sign_cavage(key, str_from(key_id), STR_LIT("POST"), STR_LIT("/inbox"),
                                str_from(kith), str_from(date), str_from(p->digest), &sig)) {
            fprintf(stderr, "fanout_send: signing failed\n");
            return 1;
        }
        p->sig = strdup(sig.data);
        buf_free(&sig);
    }

    S.base = event_base_new();
    struct evhttp_connection **c = calloc(conns, sizeof(*c));
    for (unsigned i = 0; i < conns; i++) {
        c[i] = evhttp_connection_base_new(S.base, NULL, "127.0.0.1", (ev_uint16_t)atoi(colon + 1));
        evhttp_connection_set_timeout(c[i], 60);
    }
    struct timespec sent;
    clock_gettime(CLOCK_REALTIME, &sent);
    for (unsigned i = 0; i < n; i++) {
        struct evhttp_request *req = evhttp_request_new(on_answer, NULL);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char len[32];
        snprintf(len, sizeof(len), "%zu", strlen(posts[i].body));
        evhttp_add_header(h, "Host", kith);
        evhttp_add_header(h, "Date", date);
        evhttp_add_header(h, "Digest", posts[i].digest);
        evhttp_add_header(h, "Content-Type", "application/activity+json");
        evhttp_add_header(h, "Content-Length", len);
        evhttp_add_header(h, "Signature", posts[i].sig);
        evbuffer_add(evhttp_request_get_output_buffer(req), posts[i].body, strlen(posts[i].body));
        if (evhttp_make_request(c[i % conns], req, EVHTTP_REQ_POST, "/inbox") != 0) {
            fprintf(stderr, "fanout_send: cannot send\n");
            return 1;
        }
        S.pending++;
    }
    struct timeval limit = {120, 0};
    struct event *t = evtimer_new(S.base, on_timeout, NULL);
    evtimer_add(t, &limit);
    event_base_dispatch(S.base);
    if (!follow)
        printf("sent_at=%ld.%09ld\n", (long)sent.tv_sec, sent.tv_nsec);
    fprintf(stderr, "fanout_send: %u %s POSTs, %lu answered 202\n", n, mode, S.ok);
    event_free(t);
    for (unsigned i = 0; i < conns; i++)
        evhttp_connection_free(c[i]);
    event_base_free(S.base);
    for (unsigned i = 0; i < n; i++) {
        free(posts[i].body);
        free(posts[i].sig);
    }
    free(posts);
    free(c);
    EVP_PKEY_free(key);
    return S.ok == n ? 0 : 1;
}
