/* A plain HTTP/1.1 server driven by the daemon's event loop: no threads of
 * its own, keep-alive and pipelined requests, bodies with Content-Length.
 * Requests go through a REST route table (rest_router.h); request heads are
 * parsed by http_request.h. */
#ifndef STRATUS_ORCHESTRATOR_HTTP_SERVER_H
#define STRATUS_ORCHESTRATOR_HTTP_SERVER_H

#include <stddef.h>

#include "rest_router.h"

struct event_loop;
struct http_server;

/* Largest request body taken; larger ones are answered 413. */
#define HTTP_BODY_MAX (1u << 20)
#define HTTP_ERR_LEN 256

/* Listen on addr:port (port 0 picks a free one) and serve the routes, each
 * handler called with ctx. Returns 0 and *out, or -1 with err. */
int http_server_start(struct event_loop *loop, const char *addr, int port,
                      const struct rest_route *routes, size_t nroutes, void *ctx,
                      struct http_server **out, char err[HTTP_ERR_LEN]);
/* The port listened on. */
int http_server_port(const struct http_server *s);
void http_server_free(struct http_server *s);

#endif
