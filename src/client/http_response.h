/* The parser of HTTP/1.x responses read by the client commands from the
 * orchestrator's REST API: status line, headers (Content-Length,
 * Transfer-Encoding: chunked, Content-Type) and the body, decoded. Pure: it
 * takes the whole response as read up to the end of the connection, so the
 * tests and the fuzz target drive it with bytes. */
#ifndef STRATUS_CLIENT_HTTP_RESPONSE_H
#define STRATUS_CLIENT_HTTP_RESPONSE_H

#include <stddef.h>

#define HTTP_RESPONSE_ERR_LEN 128
/* Longest header block taken. */
#define HTTP_RESPONSE_HEAD_MAX (64u << 10)

struct http_response {
    int status;
    char content_type[128]; /* "" when absent */
    char *body;             /* malloc'd, NUL-terminated (owned: http_response_clear) */
    size_t body_len;
};

/* Parse len bytes. A body shorter than its Content-Length, or chunked data
 * cut short, is an error (the connection ended early). Returns 0 and *out,
 * or -1 with err. Cost: O(len). */
int http_response_parse(const char *buf, size_t len, struct http_response *out,
                        char err[HTTP_RESPONSE_ERR_LEN]);
void http_response_clear(struct http_response *r);

/* 1 when buf holds a whole, well-formed response: the headers and a body of
 * its Content-Length, or a chunked body to its last chunk, which
 * http_response_parse takes; 0 when more is to come, the body runs to the
 * end of the connection, or it is malformed. Lets a reader stop at the end
 * of an answer from a server that keeps the connection open. Cost: O(head)
 * until the length is reached, then O(len). */
int http_response_complete(const char *buf, size_t len);

#endif
