/* src/http/stream.h: long-lived responses: WebSocket (RFC 6455, framed by
 * wslay) and server-sent events, for the streaming API.
 *
 * Layer: http. A WebSocket takes over the request's connection after the
 * 101 answer (libevent 2.1 has no WebSocket: the connection's bufferevent,
 * plain or TLS, is driven from here); SSE keeps the response open with
 * chunked writes. A stream belongs to its loop thread: every call and
 * callback happens there. The request's ctx stays alive for the stream's
 * life (the edges render entities with it) and is released at close.
 * Streams are closed when the server stops.
 */
#ifndef KITH_HTTP_STREAM_H
#define KITH_HTTP_STREAM_H

#include "server.h"

struct http_stream;

/* A text message from the client (WebSocket only). */
typedef void http_stream_msg_fn(struct http_stream *s, struct str text, void *arg);
/* The stream is closing (the client left, or the server stops): free what
 * arg holds. The stream and its ctx are gone right after. */
typedef void http_stream_close_fn(struct http_stream *s, void *arg);
/* Called every tick while the stream is open. */
typedef void http_stream_tick_fn(struct http_stream *s, void *arg);

/* True when the request asks for a WebSocket (Upgrade: websocket). */
bool http_wants_websocket(struct http_ctx *ctx);
/* Answers 101 and takes the connection over; protocol (may be NULL) is
 * echoed in Sec-WebSocket-Protocol. NULL after answering an error (a bad
 * handshake: 400). */
struct http_stream *http_websocket(struct http_ctx *ctx, const char *protocol,
                                   http_stream_msg_fn *on_msg, http_stream_close_fn *on_close,
                                   void *arg);
/* Answers 200 text/event-stream and keeps the response open. */
struct http_stream *http_sse(struct http_ctx *ctx, http_stream_close_fn *on_close, void *arg);

/* The request behind the stream (for rendering: its arena is the stream's). */
struct http_ctx *http_stream_ctx(struct http_stream *s);
/* Calls fn every ms milliseconds (one ticker per stream). */
int http_stream_tick(struct http_stream *s, unsigned ms, http_stream_tick_fn *fn);
/* Sends one event: a WebSocket text message holding data, or an SSE
 * "event: NAME" with data. KITH_EIO when the client is too far behind (the
 * stream is then closed). */
int http_stream_send(struct http_stream *s, const char *event, struct str data);
/* Closes the stream (a close frame for a WebSocket, the end for SSE). */
void http_stream_close(struct http_stream *s);

#endif
