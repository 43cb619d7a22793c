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

struct http_server {
    struct event_loop *loop;
    struct MHD_Daemon *mhd;
    int epoll_fd;
    int port;
    loop_timer_id timer;
    const struct rest_route *routes;
    size_t nroutes;
    void *ctx;
};

/* One request's body as it arrives. */
struct request_body {
    char *buf;
    size_t len, cap;
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
    if (b->too_large || b->len + n > HTTP_BODY_MAX) {
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
        rest_reply_error(&reply, 413, "the request body is larger than 1 MiB");
        return send_reply(c, &reply, 0);
    }
    const struct rest_route *route;
    char param[REST_PARAM_MAX];
    unsigned allowed;
    enum rest_find_result found =
        rest_route_find(s->routes, s->nroutes, method, url, &route, param, &allowed);
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
    route->fn(s->ctx, &req, &reply);
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
    s->routes = routes;
    s->nroutes = nroutes;
    s->ctx = ctx;
    s->epoll_fd = -1;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
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
    if (s->mhd) MHD_stop_daemon(s->mhd);
    free(s);
}
