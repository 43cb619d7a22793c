/* A small blocking HTTP/1.1 client for the orchestrator's REST API: one
 * request per connection (Connection: close), with one deadline for the
 * whole exchange. The client commands are sequential, so blocking is what
 * they want; the daemons never use this. */
#ifndef STRATUS_CLIENT_HTTP_CLIENT_H
#define STRATUS_CLIENT_HTTP_CLIENT_H

#include <stddef.h>

#include "http_response.h"
#include "net_address.h"

#define HTTP_CLIENT_ERR_LEN 384
/* Largest answer read (the kept output of a module is 64 KiB; lists of
 * 10,000 records a few MiB). */
#define HTTP_CLIENT_MAX_ANSWER (64u << 20)

/* Send method path (already URL-encoded) with body (may be NULL; sent as
 * application/json) to addr and read the answer within timeout_ms.
 * Returns 0 and *out (any status), or -1 with err (no connection, timeout,
 * malformed answer). */
int http_client_request(const struct net_address *addr, const char *method, const char *path,
                        const char *body, size_t body_len, int timeout_ms,
                        struct http_response *out, char err[HTTP_CLIENT_ERR_LEN]);

/* Percent-encode one path segment (everything but A-Z a-z 0-9 - . _ ~)
 * into out (cap bytes). Returns 0, or -1 if it does not fit. */
int http_path_segment_encode(const char *segment, char *out, size_t cap);

#endif
