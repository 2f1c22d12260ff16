/* tests/bench/bare_evhttp.c: the baseline for kith's GET throughput: a bare
 * evhttp server on one event loop answering every request with the same
 * 15-byte JSON body kith's /health sends.
 *
 * usage: bare_evhttp PORT
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>

static void reply(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json; charset=utf-8");
    evbuffer_add(evhttp_request_get_output_buffer(req), "{\"status\":\"ok\"}", 15);
    evhttp_send_reply(req, 200, "OK", NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bare_evhttp PORT\n");
        return 2;
    }
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, reply, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        perror("bare_evhttp: bind");
        return 1;
    }
    event_base_dispatch(base);
    return 0;
}
