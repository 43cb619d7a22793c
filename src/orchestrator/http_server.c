/* HTTP on the event loop (see http_server.h): a listening socket and its
 * connections, each read into a buffer until a whole request (head by
 * http_request.h, then Content-Length bytes of body) is there, routed,
 * answered, and the next request of the same connection taken (keep-alive,
 * pipelining), or streamed (server-sent events: the connection's answer
 * stays open and what its writer writes goes out as it comes). Its own few
 * hundred lines instead of a library: a general
 * HTTP library brings TLS libraries into the process (about 2.8 MiB of
 * resident pages for libmicrohttpd with GnuTLS), and this API serves plain
 * HTTP on a local address.
 *
 * Limits: a request head of at most 16 KiB, a body of at most
 * HTTP_BODY_MAX or the route table's own limit, 512 connections, 60 s without a byte read closes a
 * connection. */
#define _GNU_SOURCE
#include "http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event_loop.h"
#include "http_request.h"
#include "rest_api.h"
#include "slog.h"

#define HTTP_MAX_CONNECTIONS 512
#define HTTP_IDLE_MS 60000
#define HTTP_READ_CHUNK 16384
/* Pipelined answers waiting to be written past this stop the reading. */
#define HTTP_OUT_PAUSE (4u << 20)

struct http_conn;

struct route_set {
    const struct rest_route *routes;
    size_t n;
    void *ctx;
    size_t body_max; /* largest body its routes take */
};

struct http_server {
    struct event_loop *loop;
    int fd;
    int port;
    struct route_set sets[HTTP_ROUTE_SETS];
    size_t nsets;
    size_t body_max;         /* the largest of the tables' */
    struct http_conn *conns; /* doubly linked */
    size_t nconns;
    loop_timer_id reap; /* closes doomed connections, outside their writers' calls */
};

/* A streamed answer: its bytes go to the connection's output. */
struct http_stream {
    struct http_conn *conn;
    int ending; /* close once what was written is sent */
    void (*on_close)(void *ctx, struct http_stream *st);
    void *close_ctx;
};

struct http_conn {
    struct http_server *s;
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    struct http_head head;
    int have_head;
    int continued;              /* "100 Continue" sent for the current request */
    int closing;                /* close once out is written */
    int doomed;                 /* close at the next reap */
    struct http_stream *stream; /* a streamed answer in progress, or NULL */
    uint32_t events;
    loop_timer_id idle;
    struct http_conn *prev, *next;
};

static void conn_close(struct http_conn *c)
{
    struct http_server *s = c->s;
    if (c->stream) {
        struct http_stream *st = c->stream;
        c->stream = NULL;
        if (st->on_close) st->on_close(st->close_ctx, st);
        free(st);
    }
    if (c->idle) loop_timer_cancel(s->loop, c->idle);
    loop_del_fd(s->loop, c->fd);
    close(c->fd);
    http_head_clear(&c->head);
    free(c->in);
    free(c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    free(c);
}

static int out_append(struct http_conn *c, const void *data, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) return -1;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

static void allow_header(unsigned allowed, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{REST_GET, "GET, HEAD"},
                 {REST_POST, "POST"},
                 {REST_DELETE, "DELETE"},
                 {REST_PUT, "PUT"},
                 {REST_PATCH, "PATCH"}};
    size_t n = (size_t)snprintf(buf, cap, "Allow: ");
    int first = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && n < cap; i++)
        if (allowed & names[i].bit) {
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", first ? "" : ", ", names[i].name);
            first = 0;
        }
    if (n < cap) snprintf(buf + n, cap - n, "\r\n");
}

/* Queue the answer (reply's body is freed here). */
static int queue_reply(struct http_conn *c, struct rest_reply *reply, unsigned allowed,
                       int head_only)
{
    char allow[96] = "";
    if (allowed) allow_header(allowed, allow, sizeof allow);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n",
                     reply->status, http_status_text(reply->status),
                     reply->content_type ? reply->content_type : "application/json", reply->len,
                     allow, c->closing ? "close" : "keep-alive");
    int rc = out_append(c, head, (size_t)n);
    if (rc == 0 && !head_only && reply->len) rc = out_append(c, reply->body, reply->len);
    free(reply->body);
    reply->body = NULL;
    return rc;
}

static int queue_error(struct http_conn *c, int status, const char *message)
{
    struct rest_reply reply = {0};
    rest_reply_error(&reply, status, message);
    return queue_reply(c, &reply, 0, 0);
}

static const char *conn_arg(void *conn, const char *key)
{
    return http_head_arg(&((struct http_conn *)conn)->head, key);
}

static void start_stream(struct http_conn *c, struct rest_reply *reply);

/* Route and answer the request whose head is c->head and whose body starts
 * at body. */
static int dispatch(struct http_conn *c, const char *body)
{
    struct http_server *s = c->s;
    struct http_head *h = &c->head;
    if (!h->keep_alive) c->closing = 1;
    int head_only = !strcmp(h->method, "HEAD");
    struct rest_reply reply = {0};
    const struct rest_route *route = NULL;
    char param[REST_PARAM_MAX];
    unsigned allowed = 0;
    void *ctx = NULL;
    /* The first table that has the route serves it; a path some table has
     * with other methods is a 405. */
    enum rest_find_result found = REST_NO_ROUTE;
    for (size_t i = 0; i < s->nsets && found != REST_FOUND; i++) {
        unsigned methods = 0;
        enum rest_find_result r = rest_route_find(s->sets[i].routes, s->sets[i].n, h->method,
                                                  h->path, &route, param, &methods);
        if (r == REST_FOUND) ctx = s->sets[i].ctx;
        if (r == REST_WRONG_METHOD) allowed |= methods;
        if (r == REST_FOUND || r == REST_BAD_PATH || found == REST_NO_ROUTE) found = r;
    }
    if (found == REST_NO_ROUTE && allowed) found = REST_WRONG_METHOD;
    if (found == REST_WRONG_METHOD) {
        char msg[128];
        snprintf(msg, sizeof msg, "method %.16s is not allowed here", h->method);
        rest_reply_error(&reply, 405, msg);
        return queue_reply(c, &reply, allowed, head_only);
    }
    if (found != REST_FOUND) {
        rest_reply_error(&reply, (int)found,
                         found == REST_NO_ROUTE ? "no such resource" : "malformed path");
        return queue_reply(c, &reply, 0, head_only);
    }
    /* The body, NUL-terminated for the handlers, in its own copy. */
    char *copy = NULL;
    if (h->content_length) {
        copy = malloc(h->content_length + 1);
        if (!copy) return -1;
        memcpy(copy, body, h->content_length);
        copy[h->content_length] = '\0';
    }
    struct rest_request req = {
        .method = rest_method_parse(h->method),
        .path = h->path,
        .param = param[0] ? param : NULL,
        .body = copy,
        .body_len = h->content_length,
        .arg = conn_arg,
        .conn = c,
    };
    route->fn(ctx, &req, &reply);
    free(copy);
    if (reply.stream && !head_only) {
        start_stream(c, &reply);
        return 0;
    }
    return queue_reply(c, &reply, 0, head_only);
}

static void set_events(struct http_conn *c, uint32_t events)
{
    if (events != c->events && loop_mod_fd(c->s->loop, c->fd, events) == 0) c->events = events;
}

/* The body limit of the table that serves method and path (HTTP_BODY_MAX
 * when none does: the answer is an error anyway). Cost: O(routes). */
static size_t route_body_max(const struct http_server *s, const char *method, const char *path)
{
    for (size_t i = 0; i < s->nsets; i++) {
        const struct rest_route *route;
        char param[REST_PARAM_MAX];
        unsigned methods = 0;
        if (rest_route_find(s->sets[i].routes, s->sets[i].n, method, path, &route, param,
                            &methods) == REST_FOUND)
            return s->sets[i].body_max;
    }
    return HTTP_BODY_MAX;
}

/* Take every complete request in the input. Returns -1 when the connection
 * must close now. */
static int take_requests(struct http_conn *c)
{
    while (!c->closing && !c->stream && c->out_len - c->out_off < HTTP_OUT_PAUSE) {
        if (!c->have_head) {
            int status = 0;
            char err[128];
            enum http_parse_result r =
                http_head_parse(c->in, c->in_len, c->s->body_max, &c->head, &status, err);
            if (r == HTTP_PARSE_MORE) return 0;
            if (r == HTTP_PARSE_ERROR) {
                /* The stream cannot be trusted past a bad head. */
                c->closing = 1;
                return queue_error(c, status, err);
            }
            c->have_head = 1;
            c->continued = 0;
            size_t max = route_body_max(c->s, c->head.method, c->head.path);
            if (c->head.content_length > max) {
                /* Refused before its body is read: the connection ends. */
                snprintf(err, sizeof err, "the request body is larger than %zu bytes", max);
                c->closing = 1;
                return queue_error(c, 413, err);
            }
        }
        size_t need = c->head.head_len + c->head.content_length;
        if (c->in_len < need) {
            if (c->head.expect_continue && !c->continued) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (out_append(c, cont, sizeof cont - 1) < 0) return -1;
                c->continued = 1;
            }
            return 0;
        }
        int rc = dispatch(c, c->in + c->head.head_len);
        http_head_clear(&c->head);
        c->have_head = 0;
        memmove(c->in, c->in + need, c->in_len - need);
        c->in_len -= need;
        if (rc < 0) return -1;
    }
    return 0;
}

/* Write what is queued; -1 on a dead connection. */
static int flush_out(struct http_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n <= 0) return -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > 65536) {
        /* A large answer's buffer is not kept for the next one. */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return 0;
}

static void on_idle(void *ctx);

static void arm_idle(struct http_conn *c)
{
    if (c->idle) loop_timer_cancel(c->s->loop, c->idle);
    c->idle = 0;
    /* A stream waits for its writer, however long. */
    if (!c->stream) loop_timer_add(c->s->loop, HTTP_IDLE_MS, on_idle, c, &c->idle);
}

/* ---- streams ---- */

static void on_reap(void *ctx)
{
    struct http_server *s = ctx;
    s->reap = 0;
    struct http_conn *next;
    for (struct http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->doomed) conn_close(c);
    }
}

/* Close c soon: not now, as its stream's writer may be walking its own list
 * of streams. */
static void doom(struct http_conn *c)
{
    c->doomed = 1;
    if (!c->s->reap) loop_timer_add(c->s->loop, 0, on_reap, c->s, &c->s->reap);
}

static uint32_t wanted_events(const struct http_conn *c, int eof)
{
    int pending = c->out_off < c->out_len;
    if (c->stream) return (eof ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0);
    return pending ? EPOLLOUT : (eof ? 0 : EPOLLIN);
}

static void start_stream(struct http_conn *c, struct rest_reply *reply)
{
    c->closing = 1; /* the end of the stream is the end of the connection */
    struct http_stream *st = calloc(1, sizeof *st);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n",
                     reply->status ? reply->status : 200,
                     http_status_text(reply->status ? reply->status : 200),
                     reply->content_type ? reply->content_type : "text/event-stream");
    if (!st || out_append(c, head, (size_t)n) < 0) {
        free(st);
        queue_error(c, 500, "out of memory");
        return;
    }
    st->conn = c;
    c->stream = st;
    if (c->idle) loop_timer_cancel(c->s->loop, c->idle);
    c->idle = 0;
    reply->stream(reply->stream_ctx, st);
}

void http_stream_on_close(struct http_stream *st, void (*fn)(void *ctx, struct http_stream *st),
                          void *ctx)
{
    st->on_close = fn;
    st->close_ctx = ctx;
}

int http_stream_write(struct http_stream *st, const char *data, size_t n)
{
    struct http_conn *c = st->conn;
    if (st->ending || c->doomed) return -1;
    if (c->out_len - c->out_off + n > HTTP_STREAM_MAX_PENDING) {
        slog(SLOG_WARNING, "http", "a stream's client is %u MiB behind: dropped",
             HTTP_STREAM_MAX_PENDING >> 20);
        doom(c);
        return -1;
    }
    if (out_append(c, data, n) < 0 || flush_out(c) < 0) {
        doom(c);
        return -1;
    }
    set_events(c, wanted_events(c, 0));
    return 0;
}

void http_stream_end(struct http_stream *st)
{
    struct http_conn *c = st->conn;
    st->ending = 1;
    if (c->out_off == c->out_len) doom(c); /* else closed once drained (on_conn) */
}

static void on_idle(void *ctx)
{
    struct http_conn *c = ctx;
    c->idle = 0;
    conn_close(c);
}

/* Read what arrived; 1 at end of stream, -1 on error. */
static int read_in(struct http_conn *c)
{
    size_t limit = HTTP_HEAD_MAX + c->s->body_max;
    for (;;) {
        if (c->in_len >= limit) return 0; /* a full buffer: the parser decides */
        if (c->in_cap - c->in_len < HTTP_READ_CHUNK) {
            size_t cap = c->in_cap ? c->in_cap * 2 : HTTP_READ_CHUNK;
            if (cap > limit) cap = limit;
            if (cap <= c->in_cap) return 0;
            char *p = realloc(c->in, cap);
            if (!p) return -1;
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n < 0) return -1;
        if (n == 0) return 1;
        if (!c->stream) c->in_len += (size_t)n; /* a stream's client has nothing more to say */
    }
}

static void on_conn(void *ctx, uint32_t events)
{
    struct http_conn *c = ctx;
    int eof = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int r = read_in(c);
        if (r < 0) {
            conn_close(c);
            return;
        }
        eof = r == 1;
        arm_idle(c);
    }
    if (take_requests(c) < 0 || flush_out(c) < 0) {
        conn_close(c);
        return;
    }
    int pending = c->out_off < c->out_len;
    int done = c->stream ? c->stream->ending : c->closing;
    if (!pending && (done || eof)) {
        conn_close(c);
        return;
    }
    if (!pending && c->in_len && !c->closing) {
        /* Paused pipelined requests: go on with them now that out drained. */
        if (take_requests(c) < 0 || flush_out(c) < 0) {
            conn_close(c);
            return;
        }
        pending = c->out_off < c->out_len;
    }
    if (c->in_cap > HTTP_READ_CHUNK * 4 && !c->in_len) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    set_events(c, wanted_events(c, eof));
    if (eof && !pending) conn_close(c);
}

static void on_listen(void *ctx, uint32_t events)
{
    (void)events;
    struct http_server *s = ctx;
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                slog(SLOG_WARNING, "http", "accept: %s", strerror(errno));
            return;
        }
        if (s->nconns >= HTTP_MAX_CONNECTIONS) {
            close(fd); /* over the limit: refused outright */
            continue;
        }
        struct http_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        c->events = EPOLLIN;
        if (loop_add_fd(s->loop, fd, EPOLLIN, on_conn, c) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        arm_idle(c);
    }
}

static int listen_on(const char *addr, int port, int *fd_out, int *port_out, char *err)
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
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        snprintf(err, HTTP_ERR_LEN, "cannot listen on %s:%d (%s)", addr, port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    *fd_out = fd;
    *port_out = bound;
    return 0;
}

int http_server_start(struct event_loop *loop, const char *addr, int port,
                      const struct rest_route *routes, size_t nroutes, void *ctx,
                      struct http_server **out, char err[HTTP_ERR_LEN])
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, HTTP_ERR_LEN, "out of memory");
        return -1;
    }
    s->loop = loop;
    s->sets[0] = (struct route_set){routes, nroutes, ctx, HTTP_BODY_MAX};
    s->nsets = 1;
    s->body_max = HTTP_BODY_MAX;
    if (listen_on(addr, port, &s->fd, &s->port, err) < 0) {
        free(s);
        return -1;
    }
    if (loop_add_fd(loop, s->fd, EPOLLIN, on_listen, s) < 0) {
        snprintf(err, HTTP_ERR_LEN, "cannot watch the HTTP server");
        close(s->fd);
        free(s);
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
    if (body_max > s->body_max) s->body_max = body_max;
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
    while (s->conns)
        conn_close(s->conns); /* open streams end: their close callbacks run */
    if (s->reap) loop_timer_cancel(s->loop, s->reap);
    loop_del_fd(s->loop, s->fd);
    close(s->fd);
    free(s);
}
