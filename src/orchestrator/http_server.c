/* HTTP on the event loop (see http_server.h). */
#define _GNU_SOURCE
#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "event_loop.h"
#include "rest_api.h"
#include "slog.h"

struct route_set {
    const struct rest_route *routes;
    size_t n;
    void *ctx;
    size_t body_max; /* largest body its routes take */
};

struct http_stream {
    struct http_server *server;
    struct MHD_Connection *conn;
    char *buf; /* pending bytes are buf[off, len) */
    size_t off, len, cap;
    int suspended;
    int ending;  /* end once drained */
    int dropped; /* end now, as an error */
    void (*on_close)(void *ctx, struct http_stream *st);
    void *close_ctx;
    struct http_stream *prev, *next;
};

struct http_server {
    struct event_loop *loop;
    struct MHD_Daemon *mhd;
    int epoll_fd;
    int port;
    loop_timer_id timer;
    struct route_set sets[HTTP_ROUTE_SETS];
    size_t nsets;
    struct http_stream *streams;
    int kick; /* a connection was resumed: run libmicrohttpd before waiting */
};

/* One request's body as it arrives. */
struct request_body {
    char *buf;
    size_t len, cap;
    size_t max; /* the route's body_max */
    int too_large;
};

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n')
        text[--n] = '\0';
    slog(SLOG_WARNING, "http", "%s", text);
}

static int append_body(struct request_body *b, const char *data, size_t n)
{
    if (b->too_large || b->len + n > b->max) {
        b->too_large = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) return -1;
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

static const char *get_arg(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct rest_reply *reply,
                                  unsigned allowed)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        reply->len, reply->body ? reply->body : (void *)"",
        reply->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(reply->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            reply->content_type ? reply->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allowed) {
        char methods[64] = "";
        static const struct {
            unsigned bit;
            const char *name;
        } names[] = {{REST_GET, "GET, HEAD"},
                     {REST_POST, "POST"},
                     {REST_DELETE, "DELETE"},
                     {REST_PUT, "PUT"},
                     {REST_PATCH, "PATCH"}};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (allowed & names[i].bit) {
                if (methods[0]) strcat(methods, ", ");
                strcat(methods, names[i].name);
            }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, methods);
    }
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)reply->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- streams ---- */

static void stream_resume(struct http_stream *st)
{
    if (!st->suspended) return;
    st->suspended = 0;
    MHD_resume_connection(st->conn);
    st->server->kick = 1;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct http_stream *st = cls;
    if (st->dropped) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (st->off < st->len) {
        size_t n = st->len - st->off < max ? st->len - st->off : max;
        memcpy(buf, st->buf + st->off, n);
        st->off += n;
        if (st->off == st->len) st->off = st->len = 0;
        return (ssize_t)n;
    }
    if (st->ending) return MHD_CONTENT_READER_END_OF_STREAM;
    /* Nothing to send: sleep until http_stream_write wakes the connection. */
    st->suspended = 1;
    MHD_suspend_connection(st->conn);
    return 0;
}

/* The response is destroyed: the connection has ended. */
static void stream_gone(void *cls)
{
    struct http_stream *st = cls;
    if (st->on_close) st->on_close(st->close_ctx, st);
    struct http_server *s = st->server;
    if (st->prev)
        st->prev->next = st->next;
    else if (s->streams == st)
        s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    free(st->buf);
    free(st);
}

void http_stream_on_close(struct http_stream *st, void (*fn)(void *ctx, struct http_stream *st),
                          void *ctx)
{
    st->on_close = fn;
    st->close_ctx = ctx;
}

int http_stream_write(struct http_stream *st, const char *data, size_t n)
{
    if (st->ending || st->dropped) return -1;
    if (st->len - st->off + n > HTTP_STREAM_MAX_PENDING) {
        slog(SLOG_WARNING, "http", "a stream's client is %u MiB behind: dropped",
             HTTP_STREAM_MAX_PENDING >> 20);
        st->dropped = 1;
        stream_resume(st);
        return -1;
    }
    if (st->off && st->len + n > st->cap) {
        memmove(st->buf, st->buf + st->off, st->len - st->off);
        st->len -= st->off;
        st->off = 0;
    }
    if (st->len + n > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + n)
            cap *= 2;
        char *p = realloc(st->buf, cap);
        if (!p) {
            st->dropped = 1;
            stream_resume(st);
            return -1;
        }
        st->buf = p;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, data, n);
    st->len += n;
    stream_resume(st);
    return 0;
}

void http_stream_end(struct http_stream *st)
{
    st->ending = 1;
    stream_resume(st);
}

/* Queue a streamed answer and hand the stream to the route's writer. */
static enum MHD_Result send_stream(struct http_server *s, struct MHD_Connection *c,
                                   struct rest_reply *reply)
{
    struct http_stream *st = calloc(1, sizeof *st);
    if (!st) return MHD_NO;
    st->server = s;
    st->conn = c;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_gone);
    if (!resp) {
        free(st);
        return MHD_NO;
    }
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            reply->content_type ? reply->content_type : "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)reply->status, resp);
    /* On failure this frees the stream (stream_gone) before any writer saw it. */
    MHD_destroy_response(resp);
    if (rc == MHD_YES) reply->stream(reply->stream_ctx, st);
    return rc;
}

/* The body limit of the route that serves method and url (HTTP_BODY_MAX
 * when none does: the answer is an error anyway). */
static size_t route_body_max(const struct http_server *s, const char *method, const char *url)
{
    for (size_t i = 0; i < s->nsets; i++) {
        const struct rest_route *route;
        char param[REST_PARAM_MAX];
        unsigned methods;
        if (rest_route_find(s->sets[i].routes, s->sets[i].n, method, url, &route, param,
                            &methods) == REST_FOUND)
            return s->sets[i].body_max;
    }
    return HTTP_BODY_MAX;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct request_body *body = *con_cls;
    if (!body) {
        body = calloc(1, sizeof *body);
        if (!body) return MHD_NO;
        body->max = route_body_max(s, method, url);
        *con_cls = body;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (append_body(body, upload_data, *upload_data_size) < 0) return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct rest_reply reply = {0};
    if (body->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", body->max);
        rest_reply_error(&reply, 413, msg);
        return send_reply(c, &reply, 0);
    }
    const struct rest_route *route = NULL;
    char param[REST_PARAM_MAX];
    unsigned allowed = 0;
    void *ctx = NULL;
    /* The first table that has the route serves it; a path some table has
     * with other methods is a 405. */
    enum rest_find_result found = REST_NO_ROUTE;
    for (size_t i = 0; i < s->nsets && found != REST_FOUND; i++) {
        unsigned methods;
        enum rest_find_result r =
            rest_route_find(s->sets[i].routes, s->sets[i].n, method, url, &route, param, &methods);
        if (r == REST_FOUND) ctx = s->sets[i].ctx;
        if (r == REST_WRONG_METHOD) allowed |= methods;
        if (r == REST_FOUND || r == REST_BAD_PATH || found == REST_NO_ROUTE) found = r;
    }
    if (found == REST_NO_ROUTE && allowed) found = REST_WRONG_METHOD;
    if (found == REST_WRONG_METHOD) {
        char msg[128];
        snprintf(msg, sizeof msg, "method %.16s is not allowed here", method);
        rest_reply_error(&reply, 405, msg);
        return send_reply(c, &reply, allowed);
    }
    if (found != REST_FOUND) {
        rest_reply_error(&reply, (int)found,
                         found == REST_NO_ROUTE ? "no such resource" : "malformed path");
        return send_reply(c, &reply, 0);
    }
    struct rest_request req = {
        .method = rest_method_parse(method),
        .path = url,
        .param = param[0] ? param : NULL,
        .body = body->buf,
        .body_len = body->len,
        .arg = get_arg,
        .conn = c,
    };
    route->fn(ctx, &req, &reply);
    if (reply.stream) return send_stream(s, c, &reply);
    return send_reply(c, &reply, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    struct request_body *body = *con_cls;
    if (body) {
        free(body->buf);
        free(body);
    }
    *con_cls = NULL;
}

static void run_mhd(struct http_server *s)
{
    MHD_run(s->mhd);
}

static void on_ready(void *ctx, uint32_t events)
{
    (void)events;
    run_mhd(ctx);
}

static void on_timer(void *ctx)
{
    struct http_server *s = ctx;
    s->timer = 0;
    run_mhd(s);
}

/* Before every wait: libmicrohttpd's next deadline becomes a timer. */
static void on_prepare(void *ctx)
{
    struct http_server *s = ctx;
    MHD_UNSIGNED_LONG_LONG ms;
    /* Resumed connections are served at once, not at the next event. */
    for (int i = 0; s->kick && i < 4; i++) {
        s->kick = 0;
        run_mhd(s);
    }
    if (s->timer) loop_timer_cancel(s->loop, s->timer);
    s->timer = 0;
    if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
        loop_timer_add(s->loop, ms, on_timer, s, &s->timer);
}

int http_server_start(struct event_loop *loop, const char *addr, int port,
                      const struct rest_route *routes, size_t nroutes, void *ctx,
                      struct http_server **out, char err[HTTP_ERR_LEN])
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int gai = getaddrinfo(addr, service, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, HTTP_ERR_LEN, "--http %s: %s", addr, gai ? gai_strerror(gai) : "no address");
        return -1;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        snprintf(err, HTTP_ERR_LEN, "out of memory");
        return -1;
    }
    s->loop = loop;
    s->sets[0] = (struct route_set){routes, nroutes, ctx, HTTP_BODY_MAX};
    s->nsets = 1;
    s->epoll_fd = -1;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, on_log, s, MHD_OPTION_SOCK_ADDR,
                              ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->mhd) {
        snprintf(err, HTTP_ERR_LEN, "cannot listen on %s:%d (in use, or not an address here)", addr,
                 port);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pinfo = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->epoll_fd = info ? info->epoll_fd : -1;
    s->port = pinfo ? pinfo->port : port;
    if (s->epoll_fd < 0 || loop_add_fd(loop, s->epoll_fd, EPOLLIN, on_ready, s) < 0 ||
        loop_add_prepare(loop, on_prepare, s) < 0) {
        snprintf(err, HTTP_ERR_LEN, "cannot watch the HTTP server");
        http_server_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int http_server_add_routes_max(struct http_server *s, const struct rest_route *routes,
                               size_t nroutes, void *ctx, size_t body_max)
{
    if (s->nsets == HTTP_ROUTE_SETS) return -1;
    s->sets[s->nsets++] = (struct route_set){routes, nroutes, ctx, body_max};
    return 0;
}

int http_server_add_routes(struct http_server *s, const struct rest_route *routes, size_t nroutes,
                           void *ctx)
{
    return http_server_add_routes_max(s, routes, nroutes, ctx, HTTP_BODY_MAX);
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_free(struct http_server *s)
{
    if (!s) return;
    loop_del_prepare(s->loop, on_prepare, s);
    if (s->timer) loop_timer_cancel(s->loop, s->timer);
    if (s->epoll_fd >= 0) loop_del_fd(s->loop, s->epoll_fd);
    /* No connection may be suspended when the daemon stops. */
    for (struct http_stream *st = s->streams; st; st = st->next) {
        st->dropped = 1;
        stream_resume(st);
    }
    if (s->mhd && s->kick) MHD_run(s->mhd);
    if (s->mhd) MHD_stop_daemon(s->mhd);
    free(s);
}
