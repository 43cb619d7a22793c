/* The head of an HTTP/1.x request (RFC 9112) as the orchestrator's REST
 * server reads it: the request line, the headers it needs (Content-Length,
 * Connection, Expect, Transfer-Encoding) and the query arguments. A pure
 * parser of outside input, no I/O, so the server, the unit tests and the fuzz
 * target share it. Anything it does not understand is an error with the HTTP
 * status to answer, never a guess. */
#ifndef STRATUS_ORCHESTRATOR_HTTP_REQUEST_H
#define STRATUS_ORCHESTRATOR_HTTP_REQUEST_H

#include <stddef.h>

#include "rest_router.h"

/* A request head (request line and headers) larger than this is refused
 * with 431. */
#define HTTP_HEAD_MAX (16u * 1024u)
#define HTTP_METHOD_MAX 15
/* At most this many query arguments are kept (more: 400). */
#define HTTP_QUERY_MAX 32

struct http_head {
    char method[HTTP_METHOD_MAX + 1];
    char *path;            /* percent-decoded, without the query; malloc'd */
    size_t content_length; /* 0 when absent */
    int keep_alive;        /* the connection stays open after the answer */
    int expect_continue;   /* "Expect: 100-continue" */
    size_t head_len;       /* bytes of the head, blank line included */
    /* Query arguments, decoded ('+' is a space); malloc'd. */
    size_t nargs;
    char *keys[HTTP_QUERY_MAX], *values[HTTP_QUERY_MAX];
};

enum http_parse_result {
    HTTP_PARSE_ERROR = -1, /* *status and err say why */
    HTTP_PARSE_MORE = 0,   /* the head is not complete yet */
    HTTP_PARSE_DONE = 1,   /* *out holds the head (http_head_clear it) */
};

/* Parse the head at the start of buf (len bytes, not NUL-terminated). On
 * HTTP_PARSE_ERROR, *status is the answer (400, 411, 413 for a declared
 * body over max_body, 431, 501, 505) and err (128 bytes) the reason; *out
 * holds nothing to clear then, nor on HTTP_PARSE_MORE. Cost: O(len). */
enum http_parse_result http_head_parse(const char *buf, size_t len, size_t max_body,
                                       struct http_head *out, int *status, char err[128]);
void http_head_clear(struct http_head *h);

/* The decoded value of query argument key, or NULL (the first one when it
 * repeats). */
const char *http_head_arg(const struct http_head *h, const char *key);

/* The reason phrase of a status ("OK", "Not Found", ...). */
const char *http_status_text(int status);

#endif
