/* WASI functions outside the file system: arguments and environment, clocks,
 * randomness, process control and sockets handed to the module. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

/* Lays out `n` strings as a pointer array at ptrs and the bytes at buf. */
static int put_strings(struct wasi_call *wc, char **s, size_t n, uint32_t ptrs, uint32_t buf)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(s[i]) + 1;
    uint8_t *p = gptr(wc, ptrs, (uint64_t)n * 4);
    uint8_t *b = gptr(wc, buf, total);
    if (!p || !b) return WE_FAULT;
    uint32_t at = buf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s[i]) + 1;
        put_u32(p + 4 * i, at);
        memcpy(b, s[i], len);
        b += len;
        at += (uint32_t)len;
    }
    return 0;
}

static int put_sizes(struct wasi_call *wc, char **s, size_t n, uint32_t count_ptr,
                     uint32_t size_ptr)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(s[i]) + 1;
    if (total > UINT32_MAX) return WE_OVERFLOW;
    int e = store_u32(wc, count_ptr, (uint32_t)n);
    return e ? e : store_u32(wc, size_ptr, (uint32_t)total);
}

WASI_IMPL(args_get)
{
    return put_strings(wc, wc->ctx->argv, wc->ctx->argc, A32(0), A32(1));
}

WASI_IMPL(args_sizes_get)
{
    return put_sizes(wc, wc->ctx->argv, wc->ctx->argc, A32(0), A32(1));
}

WASI_IMPL(environ_get)
{
    return put_strings(wc, wc->ctx->env, wc->ctx->envc, A32(0), A32(1));
}

WASI_IMPL(environ_sizes_get)
{
    return put_sizes(wc, wc->ctx->env, wc->ctx->envc, A32(0), A32(1));
}

static int host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case 0: *out = CLOCK_REALTIME; return 0;
    case 1: *out = CLOCK_MONOTONIC; return 0;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return WE_INVAL;
    }
}

WASI_IMPL(clock_res_get)
{
    clockid_t id;
    struct timespec ts;
    int e = host_clock(A32(0), &id);
    if (e) return e;
    if (clock_getres(id, &ts) != 0) return wasi_errno(errno);
    return store_u64(wc, A32(1), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

WASI_IMPL(clock_time_get)
{
    clockid_t id;
    struct timespec ts;
    int e = host_clock(A32(0), &id);
    if (e) return e;
    if (clock_gettime(id, &ts) != 0) return wasi_errno(errno);
    return store_u64(wc, A32(2), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

WASI_IMPL(random_get)
{
    uint8_t *p = gptr(wc, A32(0), A32(1));
    if (!p) return WE_FAULT;
    size_t done = 0, len = A32(1);
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return wasi_errno(errno);
        }
        done += (size_t)n;
    }
    return 0;
}

WASI_IMPL(proc_exit)
{
    wc->status = sw_call_exit(wc->call, (int)A32(0));
    return 0;
}

/* Signals whose default action is to do nothing (WASI numbering):
 * CHLD 16, CONT 17, URG 22, WINCH 27. Stop signals are treated alike, since
 * there is nobody to continue the module. Everything else terminates it. */
WASI_IMPL(proc_raise)
{
    uint32_t sig = A32(0);
    if (sig > 30) return WE_INVAL;
    if (sig == 0 || sig == 16 || sig == 17 || sig == 22 || sig == 27 || (sig >= 18 && sig <= 21))
        return 0;
    char msg[64];
    snprintf(msg, sizeof msg, "module raised signal %u", sig);
    wc->status = sw_call_trap(wc->call, msg);
    return 0;
}

WASI_IMPL(sched_yield)
{
    sched_yield();
    return 0;
}

static int socket_fd(struct wasi_call *wc, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, fd, 0, &f);
    if (e) return e;
    if ((f->filetype != FT_STREAM && f->filetype != FT_DGRAM) || f->host < 0) return WE_NOTSOCK;
    if ((f->rights & rights) != rights) return WE_NOTCAPABLE;
    *out = f;
    return 0;
}

WASI_IMPL(sock_accept)
{
    struct wasi_fd *f;
    int e = socket_fd(wc, A32(0), R_SOCK_ACCEPT, &f);
    if (e) return e;
    uint32_t flags = A32(1);
    if (flags & ~FDF_NONBLOCK) return WE_INVAL;
    if (!(f->fdflags & FDF_NONBLOCK) && (e = wait_ready(wc, f->host, POLLIN))) return e;
    int host =
        accept4(f->host, NULL, NULL, SOCK_CLOEXEC | ((flags & FDF_NONBLOCK) ? SOCK_NONBLOCK : 0));
    if (host < 0) return wasi_errno(errno);
    uint32_t fd;
    e = fd_insert(wc->ctx, host, FT_STREAM, R_SOCK & ~R_SOCK_ACCEPT, 0, &fd);
    if (e) {
        close(host);
        return e;
    }
    wc->ctx->fds[fd].fdflags = (uint16_t)flags;
    if ((e = store_u32(wc, A32(2), fd))) {
        fd_release(&wc->ctx->fds[fd]);
        return e;
    }
    return 0;
}

WASI_IMPL(sock_recv)
{
    struct wasi_fd *f;
    int e = socket_fd(wc, A32(0), R_FD_READ, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    if ((e = load_iovs(wc, A32(1), A32(2), iov))) return e;
    uint32_t riflags = A32(3);
    if (riflags & ~3u) return WE_INVAL;
    if (!gptr(wc, A32(4), 4) || !gptr(wc, A32(5), 2)) return WE_FAULT;
    if (!(f->fdflags & FDF_NONBLOCK) && (e = wait_ready(wc, f->host, POLLIN))) return e;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = A32(2)};
    int flags = ((riflags & 1) ? MSG_PEEK : 0) | ((riflags & 2) ? MSG_WAITALL : 0);
    ssize_t n = recvmsg(f->host, &msg, flags);
    if (n < 0) return wasi_errno(errno);
    store_u32(wc, A32(4), (uint32_t)n);
    put_u16(gptr(wc, A32(5), 2), (msg.msg_flags & MSG_TRUNC) ? 1 : 0);
    return 0;
}

WASI_IMPL(sock_send)
{
    struct wasi_fd *f;
    int e = socket_fd(wc, A32(0), R_FD_WRITE, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    if ((e = load_iovs(wc, A32(1), A32(2), iov))) return e;
    if (A32(3) != 0) return WE_INVAL;
    if (!gptr(wc, A32(4), 4)) return WE_FAULT;
    if (!(f->fdflags & FDF_NONBLOCK) && (e = wait_ready(wc, f->host, POLLOUT))) return e;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = A32(2)};
    ssize_t n = sendmsg(f->host, &msg, MSG_NOSIGNAL);
    if (n < 0) return wasi_errno(errno);
    return store_u32(wc, A32(4), (uint32_t)n);
}

WASI_IMPL(sock_shutdown)
{
    struct wasi_fd *f;
    int e = socket_fd(wc, A32(0), R_SOCK_SHUTDOWN, &f);
    if (e) return e;
    int how;
    switch (A32(1)) {
    case 1: how = SHUT_RD; break;
    case 2: how = SHUT_WR; break;
    case 3: how = SHUT_RDWR; break;
    default: return WE_INVAL;
    }
    if (shutdown(f->host, how) != 0) return wasi_errno(errno);
    return 0;
}
