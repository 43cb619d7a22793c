/* A plain HTTP/1.1 server driven by the daemon's event loop: no threads of
 * its own, keep-alive and pipelined requests, bodies with Content-Length,
 * request heads parsed by http_request.h. Requests go through REST route
 * tables (rest_router.h); answers are buffered in full, or streamed
 * (server-sent events): the connection then waits, with no timer and no
 * polling, until something is written to its stream. */
#ifndef STRATUS_ORCHESTRATOR_HTTP_SERVER_H
#define STRATUS_ORCHESTRATOR_HTTP_SERVER_H

#include <stddef.h>

#include "rest_router.h"

struct event_loop;
struct http_server;

/* Largest request body taken by a route table unless it says otherwise
 * (http_server_add_routes_max); larger ones are answered 413. */
#define HTTP_BODY_MAX (1u << 20)
#define HTTP_ERR_LEN 256

/* Listen on addr:port (port 0 picks a free one) and serve the routes, each
 * handler called with ctx. Returns 0 and *out, or -1 with err. */
int http_server_start(struct event_loop *loop, const char *addr, int port,
                      const struct rest_route *routes, size_t nroutes, void *ctx,
                      struct http_server **out, char err[HTTP_ERR_LEN]);
/* Serve another table of routes, searched after the first, its handlers
 * called with ctx (e.g. the dashboard's). At most HTTP_ROUTE_SETS tables. */
#define HTTP_ROUTE_SETS 4
int http_server_add_routes(struct http_server *s, const struct rest_route *routes, size_t nroutes,
                           void *ctx);
/* The same, with bodies up to body_max bytes (uploads), not HTTP_BODY_MAX. */
int http_server_add_routes_max(struct http_server *s, const struct rest_route *routes,
                               size_t nroutes, void *ctx, size_t body_max);
/* The port listened on. */
int http_server_port(const struct http_server *s);
/* Ends every open stream (their close callbacks run), then stops. */
void http_server_free(struct http_server *s);

/* ---- streamed answers (rest_reply.stream) ----
 * A stream is owned by the server; the writer holds it from the
 * rest_reply.stream call until its close callback, after which it is gone.
 * Data written is kept until the client has read it (at most
 * HTTP_STREAM_MAX_PENDING bytes; a client that falls further behind is
 * dropped). While nothing is pending the connection is suspended, so an
 * open stream costs no polling. */
#define HTTP_STREAM_MAX_PENDING (8u << 20)

/* Called once when the stream ends (the client left, it was dropped, or
 * the server stops). */
void http_stream_on_close(struct http_stream *st, void (*fn)(void *ctx, struct http_stream *st),
                          void *ctx);
/* Queue n bytes. Returns 0, or -1 when the stream is ending (too far
 * behind, or out of memory). */
int http_stream_write(struct http_stream *st, const char *data, size_t n);
/* End the stream once what was written has been sent. */
void http_stream_end(struct http_stream *st);

#endif
