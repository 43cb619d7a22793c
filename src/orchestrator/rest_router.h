/* The REST API's router: a table of routes (path pattern, methods, handler)
 * searched in order, and the parser of paging arguments. Pure functions, no
 * I/O, so the HTTP server, the tests and the fuzz target share them; new
 * pages (the dashboard, a module store) are new rows of a table.
 *
 * A pattern is a path of literal segments and at most one "{q}" segment,
 * which matches any one non-empty segment (a UUID, a name, a suffix) and is
 * handed to the handler. A trailing slash is optional on both sides. */
#ifndef STRATUS_ORCHESTRATOR_REST_ROUTER_H
#define STRATUS_ORCHESTRATOR_REST_ROUTER_H

#include <stddef.h>

enum rest_method {
    REST_GET = 1,
    REST_POST = 2,
    REST_DELETE = 4,
    REST_PUT = 8,
    REST_PATCH = 16,
};

/* Longest path the router looks at, and longest {q} value. */
#define REST_PATH_MAX 2048
#define REST_PARAM_MAX 256

struct rest_request {
    unsigned method;   /* one enum rest_method (HEAD is GET) */
    const char *path;  /* decoded path, without the query */
    const char *param; /* the {q} segment, or NULL */
    const char *body;  /* request body (POST), NUL-terminated; may be NULL */
    size_t body_len;
    /* Query arguments (decoded), NULL when absent. */
    const char *(*arg)(void *conn, const char *key);
    void *conn;
};

struct http_stream;

struct rest_reply {
    int status;
    char *body; /* malloc'd; the server frees it */
    size_t len;
    const char *content_type; /* static string */
    /* A streamed answer (server-sent events): when set, the body is left
     * open after the headers, and the server calls stream(stream_ctx, s)
     * with the stream to write to (http_server.h). body must be NULL. */
    void (*stream)(void *stream_ctx, struct http_stream *s);
    void *stream_ctx;
};

typedef void (*rest_handler_fn)(void *ctx, const struct rest_request *req,
                                struct rest_reply *reply);

struct rest_route {
    const char *pattern;
    unsigned methods; /* mask of enum rest_method */
    rest_handler_fn fn;
};

enum rest_find_result {
    REST_FOUND = 0,
    REST_NO_ROUTE = 404,
    REST_WRONG_METHOD = 405, /* a route has the path but not the method */
    REST_BAD_PATH = 400,     /* too long, or a {q} value too long or with control bytes */
};

/* Match method ("GET", "HEAD", "POST", ...) and path against the table.
 * On REST_FOUND, *route and param (REST_PARAM_MAX bytes; "" when the
 * route has no {q}) are set; on REST_WRONG_METHOD, *allowed holds the mask of
 * methods the path takes. Cost: O(routes * path length). */
enum rest_find_result rest_route_find(const struct rest_route *table, size_t n, const char *method,
                                      const char *path, const struct rest_route **route,
                                      char param[REST_PARAM_MAX], unsigned *allowed);

/* Parse the method name; 0 when unknown. */
unsigned rest_method_parse(const char *method);

/* Paging of list answers: ?start=N&limit=M (decimal, start >= 0, 1 <= limit
 * <= REST_LIMIT_MAX). NULL means absent: start 0, limit REST_LIMIT_DEFAULT.
 * Returns 0, or -1 with a message in err (128 bytes). */
#define REST_LIMIT_DEFAULT 100
#define REST_LIMIT_MAX 10000
int rest_paging_parse(const char *start, const char *limit, size_t *start_out, size_t *limit_out,
                      char err[128]);

#endif
