/* Descriptors served by the embedder (swasi_ctx_add_vfd in stratus/wasi.h):
 * runtimes use them for pub/sub channels, so a write is one message and a
 * read takes (part of) the next one. The context keeps the rights, flags and
 * blocking; the embedder's callbacks only move bytes and never block. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "wasi_internal.h"

/* A read larger than this goes through a bounce buffer of this size. */
#define VFD_BOUNCE_MAX (1u << 20)

sw_status swasi_ctx_add_vfd(swasi_ctx *ctx, const swasi_vfd_ops *ops, void *user, int ready_fd,
                            uint32_t *fd)
{
    if (!ctx || !ops || !fd || (!ops->read && !ops->write)) return SW_ERR_ARG;
    uint64_t rights = R_POLL_FD_READWRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET;
    if (ops->read) rights |= R_FD_READ;
    if (ops->write) rights |= R_FD_WRITE;
    uint32_t n;
    int e = fd_insert(ctx, -1, FT_DGRAM, rights, 0, &n);
    if (e) return e == WE_NOMEM ? SW_ERR_NOMEM : SW_ERR_ARG;
    struct wasi_fd *f = &ctx->fds[n];
    f->owned = false;
    f->vfd = ops;
    f->vfd_user = user;
    f->vfd_ready = ready_fd;
    *fd = n;
    return SW_OK;
}

int vfd_write(struct wasi_call *wc, struct wasi_fd *f, const struct iovec *iov, uint32_t n,
              uint32_t *count)
{
    (void)wc;
    uint64_t total = iov_total(iov, n);
    if (total > UINT32_MAX) return WE_INVAL; /* the count must fit the result */
    uint8_t *copy;
    const uint8_t *joined = iov_join(iov, n, total, &copy);
    if (!joined) return WE_NOMEM;
    int e = f->vfd->write(f->vfd_user, joined, total);
    free(copy);
    if (e) return e;
    *count = (uint32_t)total;
    return 0;
}

/* Calls the read callback until it has something, waiting on the
 * embedder's readiness descriptor in between (interruptibly). */
static int read_blocking(struct wasi_call *wc, struct wasi_fd *f, uint8_t *buf, size_t cap,
                         size_t *got)
{
    for (;;) {
        *got = 0;
        int e = f->vfd->read(f->vfd_user, buf, cap, got);
        if (e != WE_AGAIN) {
            if (*got > cap) *got = cap; /* never trust a callback past its buffer */
            return e;
        }
        /* "Always ready" yet nothing there: say so rather than spin. */
        if ((f->fdflags & FDF_NONBLOCK) || f->vfd_ready < 0) return WE_AGAIN;
        if (wake_pending(wc->ctx)) return interrupted(wc);
        if ((e = wait_ready(wc, f->vfd_ready, POLLIN))) return e;
    }
}

int vfd_read(struct wasi_call *wc, struct wasi_fd *f, const struct iovec *iov, uint32_t n,
             uint32_t *count)
{
    uint64_t total = iov_total(iov, n);
    /* The iovec a read can go straight into: the only non-empty one. */
    const struct iovec *only = NULL;
    for (uint32_t i = 0; i < n; i++)
        if (iov[i].iov_len) {
            if (iov[i].iov_len == total) only = &iov[i];
            break;
        }
    size_t got;
    int e;
    if (!total || only) {
        uint8_t none; /* an empty read still takes a message */
        e = read_blocking(wc, f, only ? only->iov_base : &none, only ? only->iov_len : 0, &got);
    } else {
        size_t cap = total < VFD_BOUNCE_MAX ? (size_t)total : VFD_BOUNCE_MAX;
        uint8_t *bounce = malloc(cap);
        if (!bounce) return WE_NOMEM;
        e = read_blocking(wc, f, bounce, cap, &got);
        size_t at = 0;
        for (uint32_t i = 0; !e && i < n && at < got; i++) {
            size_t take = got - at < iov[i].iov_len ? got - at : iov[i].iov_len;
            memcpy(iov[i].iov_base, bounce + at, take);
            at += take;
        }
        free(bounce);
    }
    if (e) return e;
    *count = (uint32_t)got; /* at most one guest buffer or the bounce buffer */
    return 0;
}
