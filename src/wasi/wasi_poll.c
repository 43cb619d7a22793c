/* Waiting: poll_oneoff over clocks and descriptors, and the blocking-wait
 * helper of fd_read and friends. Every wait also watches the context's
 * eventfd, so interrupting the instance ends it at once (the call traps). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

int interrupted(struct wasi_call *wc)
{
    wc->status = sw_call_trap(wc->call, "interrupted");
    return WE_INTR;
}

bool wake_pending(const swasi_ctx *ctx)
{
    struct pollfd p = {.fd = ctx->wake_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

int wait_ready(struct wasi_call *wc, int host, short events)
{
    struct pollfd p[2] = {{.fd = host, .events = events},
                          {.fd = wc->ctx->wake_fd, .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return wasi_errno(errno);
        }
        if (p[1].revents) return interrupted(wc);
        return 0;
    }
}

static uint64_t now_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum { SUB_SIZE = 48, EVENT_SIZE = 32 };

struct sub {
    uint64_t userdata;
    uint8_t tag;
    uint16_t error;    /* nonzero: report at once with this error */
    bool ready;        /* report at once (regular files, callback stdio) */
    uint64_t deadline; /* clocks: CLOCK_MONOTONIC ns */
    int pollidx;       /* descriptors: index in the pollfd array, else -1 */
};

static void put_event(uint8_t *ev, const struct sub *s, uint16_t error, uint64_t nbytes,
                      uint16_t flags)
{
    memset(ev, 0, EVENT_SIZE);
    put_u64(ev, s->userdata);
    put_u16(ev + 8, error);
    put_u8(ev + 10, s->tag);
    put_u64(ev + 16, nbytes);
    put_u16(ev + 24, flags);
}

/* Turns a clock subscription into a monotonic deadline. */
static int clock_deadline(const uint8_t *in, uint64_t mono_now, uint64_t *deadline)
{
    uint32_t id = get_u32(in + 16);
    uint64_t timeout = get_u64(in + 24);
    uint16_t flags = get_u16(in + 40);
    clockid_t cid;
    switch (id) {
    case 0: cid = CLOCK_REALTIME; break;
    case 1: cid = CLOCK_MONOTONIC; break;
    case 2: cid = CLOCK_PROCESS_CPUTIME_ID; break;
    case 3: cid = CLOCK_THREAD_CPUTIME_ID; break;
    default: return WE_INVAL;
    }
    uint64_t rel = timeout;
    if (flags & 1) {
        uint64_t now = cid == CLOCK_MONOTONIC ? mono_now : now_ns(cid);
        rel = timeout > now ? timeout - now : 0;
    }
    *deadline = rel > UINT64_MAX - mono_now ? UINT64_MAX : mono_now + rel;
    return 0;
}

WASI_IMPL(poll_oneoff)
{
    uint32_t nsubs = A32(2);
    if (nsubs == 0) return WE_INVAL;
    const uint8_t *in = gptr(wc, A32(0), (uint64_t)nsubs * SUB_SIZE);
    uint8_t *out = gptr(wc, A32(1), (uint64_t)nsubs * EVENT_SIZE);
    if (!in || !out || !gptr(wc, A32(3), 4)) return WE_FAULT;
    if (nsubs > 4096) return WE_INVAL;
    struct sub *subs = calloc(nsubs, sizeof *subs);
    struct pollfd *pfds = calloc(nsubs + 1, sizeof *pfds);
    if (!subs || !pfds) {
        free(subs);
        free(pfds);
        return WE_NOMEM;
    }
    uint64_t mono = now_ns(CLOCK_MONOTONIC);
    uint64_t earliest = UINT64_MAX;
    bool have_clock = false, immediate = false;
    nfds_t np = 0;
    int result = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *s = in + (size_t)i * SUB_SIZE;
        struct sub *sb = &subs[i];
        sb->userdata = get_u64(s);
        sb->tag = s[8];
        sb->pollidx = -1;
        if (sb->tag == 0) {
            int e = clock_deadline(s, mono, &sb->deadline);
            uint64_t cap = wc->ctx->max_wait_ns;
            if (!e && cap && sb->deadline - mono > cap) sb->deadline = mono + cap;
            if (e) {
                sb->error = (uint16_t)e;
                immediate = true;
            } else {
                have_clock = true;
                if (sb->deadline < earliest) earliest = sb->deadline;
            }
        } else if (sb->tag == 1 || sb->tag == 2) {
            struct wasi_fd *f;
            int e = fd_lookup(wc->ctx, get_u32(s + 16), R_POLL_FD_READWRITE, &f);
            if (e) {
                sb->error = (uint16_t)e;
                immediate = true;
            } else if (sb->tag == 1 && ((f->vfd && f->vfd_ready >= 0) ||
                                        (f->stdio >= 0 && wc->ctx->stdio[f->stdio].read &&
                                         wc->ctx->stdio[f->stdio].ready_fd > 0))) {
                pfds[np].fd = f->vfd ? f->vfd_ready : wc->ctx->stdio[f->stdio].ready_fd;
                pfds[np].events = POLLIN;
                sb->pollidx = (int)np++;
            } else if (f->host < 0 || f->filetype == FT_REG || f->filetype == FT_DIR) {
                sb->ready = true;
                immediate = true;
            } else {
                pfds[np].fd = f->host;
                pfds[np].events = sb->tag == 1 ? POLLIN : POLLOUT;
                sb->pollidx = (int)np++;
            }
        } else {
            result = WE_INVAL;
            goto done;
        }
    }
    pfds[np].fd = wc->ctx->wake_fd;
    pfds[np].events = POLLIN;

    uint32_t nevents = 0;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (immediate) {
            ts = (struct timespec){0, 0};
            tsp = &ts;
        } else if (have_clock) {
            uint64_t wait = earliest > now ? earliest - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tsp = &ts;
        }
        int n = ppoll(pfds, np + 1, tsp, NULL);
        if (n < 0 && errno != EINTR) {
            result = wasi_errno(errno);
            goto done;
        }
        if (n > 0 && pfds[np].revents) {
            result = interrupted(wc);
            goto done;
        }
        now = now_ns(CLOCK_MONOTONIC);
        for (uint32_t i = 0; i < nsubs; i++) {
            struct sub *sb = &subs[i];
            uint8_t *ev = out + (size_t)nevents * EVENT_SIZE;
            if (sb->error) {
                put_event(ev, sb, sb->error, 0, 0);
            } else if (sb->tag == 0) {
                if (sb->deadline > now) continue;
                put_event(ev, sb, 0, 0, 0);
            } else if (sb->ready) {
                put_event(ev, sb, 0, 0, 0);
            } else {
                short re = pfds[sb->pollidx].revents;
                if (!re) continue;
                int avail = 0;
                if (sb->tag == 1 && ioctl(pfds[sb->pollidx].fd, FIONREAD, &avail) != 0) avail = 0;
                put_event(ev, sb, 0, avail > 0 ? (uint64_t)avail : 0, (re & POLLHUP) ? 1 : 0);
            }
            nevents++;
        }
        if (nevents) break;
    }
    store_u32(wc, A32(3), nevents);
done:
    free(subs);
    free(pfds);
    return result;
}
