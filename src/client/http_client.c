/* Blocking HTTP requests (see http_client.h). */
#define _GNU_SOURCE
#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR) continue;
        return rc < 0 ? -1 : rc > 0;
    }
}

static int connect_to(const struct net_address *addr, long long deadline, char *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", addr->port);
    int gai = getaddrinfo(addr->host, port, &hints, &ai);
    if (gai) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "%s: %s", addr->host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, last_errno = ECONNREFUSED;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            int ready = wait_fd(fd, POLLOUT, deadline);
            int so = ETIMEDOUT;
            socklen_t sl = sizeof so;
            if (ready > 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
            rc = so ? -1 : 0;
            errno = so;
        }
        if (rc < 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) snprintf(err, HTTP_CLIENT_ERR_LEN, "%s", strerror(last_errno));
    return fd;
}

static int send_all(int fd, const char *p, size_t n, long long deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) <= 0) return -1;
            continue;
        }
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int http_client_request(const struct net_address *addr, const char *method, const char *path,
                        const char *body, size_t body_len, int timeout_ms,
                        struct http_response *out, char err[HTTP_CLIENT_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    long long deadline = now_ms() + timeout_ms;
    char why[HTTP_CLIENT_ERR_LEN];
    int fd = connect_to(addr, deadline, why);
    if (fd < 0) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "cannot reach the REST API at %s:%d: %s", addr->host,
                 addr->port, why);
        return -1;
    }
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n"
                     "Accept: application/json\r\n%s",
                     method, path, addr->host, addr->port,
                     body ? "Content-Type: application/json\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head - 64) {
        close(fd);
        snprintf(err, HTTP_CLIENT_ERR_LEN, "the request path is too long");
        return -1;
    }
    n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n",
                  body ? body_len : 0);
    /* The server may answer (an error) before it reads a body: read anyway. */
    if (send_all(fd, head, (size_t)n, deadline) == 0 && body)
        send_all(fd, body, body_len, deadline);
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "out of memory");
        goto out;
    }
    for (;;) {
        if (len + 4096 > cap) {
            if (cap >= HTTP_CLIENT_MAX_ANSWER) {
                snprintf(err, HTTP_CLIENT_ERR_LEN, "the answer is larger than %u MiB",
                         HTTP_CLIENT_MAX_ANSWER >> 20);
                goto out;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                snprintf(err, HTTP_CLIENT_ERR_LEN, "out of memory");
                goto out;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r > 0) {
            len += (size_t)r;
            /* A server that keeps the connection open: stop at the end. */
            if (http_response_complete(buf, len)) break;
            continue;
        }
        if (r == 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            int ready = wait_fd(fd, POLLIN, deadline);
            if (ready > 0) continue;
            snprintf(err, HTTP_CLIENT_ERR_LEN, "no answer from the REST API at %s:%d within %d ms",
                     addr->host, addr->port, timeout_ms);
            goto out;
        }
        if (len) break; /* a reset after the answer */
        snprintf(err, HTTP_CLIENT_ERR_LEN, "reading from %s:%d: %s", addr->host, addr->port,
                 strerror(errno));
        goto out;
    }
    char perr[HTTP_RESPONSE_ERR_LEN];
    if (http_response_parse(buf, len, out, perr) < 0) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "a malformed answer from %s:%d: %s", addr->host,
                 addr->port, perr);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int http_path_segment_encode(const char *segment, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)segment; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= cap) return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}
