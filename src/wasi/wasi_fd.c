/* WASI functions on open descriptors (fd_*): reading and writing (host
 * descriptors or the embedder's stdio callbacks), seeking, metadata, flags
 * and rights, directory listing with cookies, preopen names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

int load_iovs(struct wasi_call *wc, uint32_t iovs, uint32_t n, struct iovec *out)
{
    if (n > WASI_IOV_MAX) return WE_INVAL;
    const uint8_t *a = gptr(wc, iovs, (uint64_t)n * 8);
    if (!a) return WE_FAULT;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = get_u32(a + 8 * i), len = get_u32(a + 8 * i + 4);
        uint8_t *p = gptr(wc, buf, len);
        if (!p) return WE_FAULT;
        out[i].iov_base = p;
        out[i].iov_len = len;
    }
    return 0;
}

uint64_t iov_total(const struct iovec *iov, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

const uint8_t *iov_join(const struct iovec *iov, uint32_t n, uint64_t total, uint8_t **copy)
{
    *copy = NULL;
    if (!total) return (const uint8_t *)"";
    for (uint32_t i = 0; i < n; i++)
        if (iov[i].iov_len) {
            if (iov[i].iov_len == total) return iov[i].iov_base;
            break;
        }
    if (!(*copy = malloc(total))) return NULL;
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(*copy + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    return *copy;
}

void put_filestat(uint8_t *p, const struct stat *st)
{
    memset(p, 0, 64);
    put_u64(p, (uint64_t)st->st_dev);
    put_u64(p + 8, (uint64_t)st->st_ino);
    put_u8(p + 16, filetype_of_mode(st->st_mode));
    put_u64(p + 24, (uint64_t)st->st_nlink);
    put_u64(p + 32, (uint64_t)st->st_size);
    put_u64(p + 40, (uint64_t)st->st_atim.tv_sec * 1000000000u + (uint64_t)st->st_atim.tv_nsec);
    put_u64(p + 48, (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec);
    put_u64(p + 56, (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec);
}

int times_from_wasi(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (((fst & 1) && (fst & 2)) || ((fst & 4) && (fst & 8)) || (fst & ~15u)) return WE_INVAL;
    uint64_t v[2] = {atim, mtim};
    for (int i = 0; i < 2; i++) {
        uint32_t set = fst >> (2 * i);
        if (set & 2) {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_NOW;
        } else if (set & 1) {
            ts[i].tv_sec = (time_t)(v[i] / 1000000000u);
            ts[i].tv_nsec = (long)(v[i] % 1000000000u);
        } else {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_OMIT;
        }
    }
    return 0;
}

/* writev that turns a closed reader into EPIPE for the module instead of a
 * SIGPIPE that would end the whole host process: the signal is blocked for
 * this thread during the call and a pending one consumed. */
static ssize_t writev_nosigpipe(int fd, const struct iovec *iov, int n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t r = writev(fd, iov, n);
    int e = errno;
    if (r < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return r;
}

static bool may_block(const struct wasi_fd *f)
{
    return f->filetype != FT_REG && f->filetype != FT_DIR && !(f->fdflags & FDF_NONBLOCK);
}

WASI_IMPL(fd_read)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_READ, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    uint32_t n = A32(2);
    if ((e = load_iovs(wc, A32(1), n, iov))) return e;
    if (!gptr(wc, A32(3), 4)) return WE_FAULT;
    if (f->vfd) {
        uint32_t got;
        if ((e = vfd_read(wc, f, iov, n, &got))) return e;
        return store_u32(wc, A32(3), got);
    }
    uint64_t total = 0;
    if (f->stdio >= 0) {
        const swasi_stdio *s = &wc->ctx->stdio[f->stdio];
        for (uint32_t i = 0; s->read && i < n; i++) {
            if (!iov[i].iov_len) continue;
            size_t got = 0;
            if ((e = s->read(s->user, iov[i].iov_base, iov[i].iov_len, &got))) {
                /* A callback that gave up because of an interrupt: trap. */
                if (e == WE_INTR && wake_pending(wc->ctx)) return interrupted(wc);
                return total ? store_u32(wc, A32(3), (uint32_t)total) : e;
            }
            if (got > iov[i].iov_len) got = iov[i].iov_len;
            total += got;
            if (got < iov[i].iov_len) break;
        }
        return store_u32(wc, A32(3), (uint32_t)total);
    }
    if (may_block(f) && (e = wait_ready(wc, f->host, POLLIN))) return e;
    ssize_t r = readv(f->host, iov, (int)n);
    if (r < 0) return wasi_errno(errno);
    return store_u32(wc, A32(3), (uint32_t)r);
}

/* Writes one fd_write to callback stdio: a single call with the iovecs joined,
 * so that a printf of "x\n" (two iovecs in wasi-libc) reaches a channel as one
 * message; one call per iovec when the write is larger than STDIO_JOIN_MAX or
 * no buffer can be had. Like writev, a failure after some bytes went out
 * counts as a short write. */
#define STDIO_JOIN_MAX (1u << 20)
static int stdio_write(const swasi_stdio *s, const struct iovec *iov, uint32_t n, uint64_t *written)
{
    uint64_t total = iov_total(iov, n);
    *written = 0;
    if (!total) return 0;
    uint8_t *copy = NULL;
    const uint8_t *joined = total <= STDIO_JOIN_MAX ? iov_join(iov, n, total, &copy) : NULL;
    if (joined) {
        int e = s->write(s->user, joined, total);
        free(copy);
        if (!e) *written = total;
        return e;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!iov[i].iov_len) continue;
        int e = s->write(s->user, iov[i].iov_base, iov[i].iov_len);
        if (e) return *written ? 0 : e;
        *written += iov[i].iov_len;
    }
    return 0;
}

WASI_IMPL(fd_write)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_WRITE, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    uint32_t n = A32(2);
    if ((e = load_iovs(wc, A32(1), n, iov))) return e;
    if (!gptr(wc, A32(3), 4)) return WE_FAULT;
    if (f->vfd) {
        uint32_t put;
        if ((e = vfd_write(wc, f, iov, n, &put))) return e;
        return store_u32(wc, A32(3), put);
    }
    if (f->stdio >= 0) {
        const swasi_stdio *s = &wc->ctx->stdio[f->stdio];
        if (!s->write) return WE_BADF;
        uint64_t total;
        if ((e = stdio_write(s, iov, n, &total))) return e;
        return store_u32(wc, A32(3), (uint32_t)total);
    }
    /* Pipes and sockets may be full: wait interruptibly rather than block in
     * writev (terminals and files are written straight away). */
    bool may_fill =
        f->filetype == FT_UNKNOWN || f->filetype == FT_STREAM || f->filetype == FT_DGRAM;
    if (may_fill && may_block(f) && (e = wait_ready(wc, f->host, POLLOUT))) return e;
    ssize_t r = may_fill ? writev_nosigpipe(f->host, iov, (int)n) : writev(f->host, iov, (int)n);
    if (r < 0) return wasi_errno(errno);
    return store_u32(wc, A32(3), (uint32_t)r);
}

WASI_IMPL(fd_pread)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_READ | R_FD_SEEK, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    if ((e = load_iovs(wc, A32(1), A32(2), iov))) return e;
    if (!gptr(wc, A32(4), 4)) return WE_FAULT;
    if (A64(3) > INT64_MAX) return WE_INVAL;
    if (f->host < 0) return WE_SPIPE;
    ssize_t r = preadv(f->host, iov, (int)A32(2), (off_t)A64(3));
    if (r < 0) return wasi_errno(errno);
    return store_u32(wc, A32(4), (uint32_t)r);
}

WASI_IMPL(fd_pwrite)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_WRITE | R_FD_SEEK, &f);
    if (e) return e;
    struct iovec iov[WASI_IOV_MAX];
    if ((e = load_iovs(wc, A32(1), A32(2), iov))) return e;
    if (!gptr(wc, A32(4), 4)) return WE_FAULT;
    if (A64(3) > INT64_MAX) return WE_INVAL;
    if (f->host < 0) return WE_SPIPE;
    ssize_t r = pwritev(f->host, iov, (int)A32(2), (off_t)A64(3));
    if (r < 0) return wasi_errno(errno);
    return store_u32(wc, A32(4), (uint32_t)r);
}

WASI_IMPL(fd_seek)
{
    int64_t off = (int64_t)A64(1);
    uint32_t whence = A32(2);
    /* Asking for the position only needs the tell right. */
    uint64_t need = (whence == 1 && off == 0) ? R_FD_TELL : R_FD_SEEK;
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), need, &f);
    if (e) return e;
    int w;
    switch (whence) {
    case 0: w = SEEK_SET; break;
    case 1: w = SEEK_CUR; break;
    case 2: w = SEEK_END; break;
    default: return WE_INVAL;
    }
    if (!gptr(wc, A32(3), 8)) return WE_FAULT;
    if (f->host < 0 || f->filetype == FT_DIR) return f->host < 0 ? WE_SPIPE : WE_BADF;
    off_t r = lseek(f->host, (off_t)off, w);
    if (r < 0) return wasi_errno(errno);
    return store_u64(wc, A32(3), (uint64_t)r);
}

WASI_IMPL(fd_tell)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_TELL, &f);
    if (e) return e;
    if (!gptr(wc, A32(1), 8)) return WE_FAULT;
    if (f->host < 0) return WE_SPIPE;
    off_t r = lseek(f->host, 0, SEEK_CUR);
    if (r < 0) return wasi_errno(errno);
    return store_u64(wc, A32(1), (uint64_t)r);
}

WASI_IMPL(fd_close)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), 0, &f);
    if (e) return e;
    fd_release(f);
    return 0;
}

WASI_IMPL(fd_sync)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_SYNC, &f);
    if (e) return e;
    if (f->host < 0) return WE_INVAL;
    return fsync(f->host) ? wasi_errno(errno) : 0;
}

WASI_IMPL(fd_datasync)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_DATASYNC, &f);
    if (e) return e;
    if (f->host < 0) return WE_INVAL;
    return fdatasync(f->host) ? wasi_errno(errno) : 0;
}

WASI_IMPL(fd_advise)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_ADVISE, &f);
    if (e) return e;
    static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
    uint32_t a = A32(3);
    if (a > 5 || A64(1) > INT64_MAX || A64(2) > INT64_MAX) return WE_INVAL;
    if (f->host < 0) return WE_SPIPE;
    int r = posix_fadvise(f->host, (off_t)A64(1), (off_t)A64(2), advice[a]);
    return r ? wasi_errno(r) : 0;
}

WASI_IMPL(fd_allocate)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_ALLOCATE, &f);
    if (e) return e;
    if (A64(1) > INT64_MAX || A64(2) > INT64_MAX || A64(1) + A64(2) > INT64_MAX) return WE_INVAL;
    if (f->host < 0) return WE_BADF;
    int r = posix_fallocate(f->host, (off_t)A64(1), (off_t)A64(2));
    return r ? wasi_errno(r) : 0;
}

static uint16_t current_fdflags(const struct wasi_fd *f)
{
    uint16_t flags = f->fdflags;
    if (f->host >= 0) {
        int fl = fcntl(f->host, F_GETFL);
        if (fl >= 0) {
            flags &= (uint16_t) ~(FDF_APPEND | FDF_NONBLOCK | FDF_DSYNC | FDF_SYNC);
            if (fl & O_APPEND) flags |= FDF_APPEND;
            if (fl & O_NONBLOCK) flags |= FDF_NONBLOCK;
            if ((fl & O_SYNC) == O_SYNC)
                flags |= FDF_SYNC;
            else if (fl & O_DSYNC)
                flags |= FDF_DSYNC;
        }
    }
    return flags;
}

WASI_IMPL(fd_fdstat_get)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), 0, &f);
    if (e) return e;
    uint8_t *p = gptr(wc, A32(1), 24);
    if (!p) return WE_FAULT;
    memset(p, 0, 24);
    put_u8(p, f->filetype);
    put_u16(p + 2, current_fdflags(f));
    put_u64(p + 8, f->rights);
    put_u64(p + 16, f->inheriting);
    return 0;
}

WASI_IMPL(fd_fdstat_set_flags)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_FDSTAT_SET_FLAGS, &f);
    if (e) return e;
    uint32_t flags = A32(1);
    if (flags & ~31u) return WE_INVAL;
    if (flags & (FDF_DSYNC | FDF_RSYNC | FDF_SYNC))
        return WE_NOTSUP; /* Linux cannot change these on an open file */
    if (f->host >= 0) {
        int fl = fcntl(f->host, F_GETFL);
        if (fl < 0) return wasi_errno(errno);
        fl &= ~(O_APPEND | O_NONBLOCK);
        if (flags & FDF_APPEND) fl |= O_APPEND;
        if (flags & FDF_NONBLOCK) fl |= O_NONBLOCK;
        if (fcntl(f->host, F_SETFL, fl) != 0) return wasi_errno(errno);
    }
    f->fdflags = (uint16_t)flags;
    return 0;
}

WASI_IMPL(fd_fdstat_set_rights)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), 0, &f);
    if (e) return e;
    /* Rights can only be dropped, never gained. */
    if ((A64(1) & ~f->rights) || (A64(2) & ~f->inheriting)) return WE_NOTCAPABLE;
    f->rights = A64(1);
    f->inheriting = A64(2);
    return 0;
}

WASI_IMPL(fd_filestat_get)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_FILESTAT_GET, &f);
    if (e) return e;
    uint8_t *p = gptr(wc, A32(1), 64);
    if (!p) return WE_FAULT;
    if (f->host < 0) {
        memset(p, 0, 64);
        put_u8(p + 16, f->filetype);
        return 0;
    }
    struct stat st;
    if (fstat(f->host, &st) != 0) return wasi_errno(errno);
    put_filestat(p, &st);
    return 0;
}

WASI_IMPL(fd_filestat_set_size)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_FILESTAT_SET_SIZE, &f);
    if (e) return e;
    if (A64(1) > INT64_MAX) return WE_INVAL;
    if (f->host < 0) return WE_INVAL;
    return ftruncate(f->host, (off_t)A64(1)) ? wasi_errno(errno) : 0;
}

WASI_IMPL(fd_filestat_set_times)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_FILESTAT_SET_TIMES, &f);
    if (e) return e;
    struct timespec ts[2];
    if ((e = times_from_wasi(A64(1), A64(2), A32(3), ts))) return e;
    if (f->host < 0) return WE_INVAL;
    return futimens(f->host, ts) ? wasi_errno(errno) : 0;
}

WASI_IMPL(fd_prestat_get)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), 0, &f);
    if (e) return e;
    if (!f->preopen) return WE_BADF;
    uint8_t *p = gptr(wc, A32(1), 8);
    if (!p) return WE_FAULT;
    memset(p, 0, 8);
    put_u32(p + 4, (uint32_t)strlen(f->preopen));
    return 0;
}

WASI_IMPL(fd_prestat_dir_name)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), 0, &f);
    if (e) return e;
    if (!f->preopen) return WE_BADF;
    size_t len = strlen(f->preopen);
    if (A32(2) < len) return WE_NAMETOOLONG;
    uint8_t *p = gptr(wc, A32(1), len);
    if (!p) return WE_FAULT;
    memcpy(p, f->preopen, len);
    return 0;
}

static uint8_t filetype_of_dirent(int dirfd, const struct dirent *d)
{
    switch (d->d_type) {
    case DT_REG: return FT_REG;
    case DT_DIR: return FT_DIR;
    case DT_LNK: return FT_SYMLINK;
    case DT_CHR: return FT_CHAR;
    case DT_BLK: return FT_BLOCK;
    case DT_SOCK: return FT_STREAM;
    case DT_FIFO: return FT_UNKNOWN;
    default: {
        struct stat st;
        if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return FT_UNKNOWN;
        return filetype_of_mode(st.st_mode);
    }
    }
}

/* Cookies are entry indexes: entry i has cookie i and d_next i + 1. The
 * stream is kept between calls, and rewound when the module asks for an
 * index other than the one it will return next. */
WASI_IMPL(fd_readdir)
{
    struct wasi_fd *f;
    int e = fd_lookup(wc->ctx, A32(0), R_FD_READDIR, &f);
    if (e) return e;
    uint32_t buf = A32(1), buflen = A32(2);
    uint64_t cookie = A64(3);
    uint8_t *out = gptr(wc, buf, buflen);
    if (!out || !gptr(wc, A32(4), 4)) return WE_FAULT;
    if (f->host < 0 || f->filetype != FT_DIR) return WE_NOTDIR;
    if (!f->dir) {
        int d = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) return wasi_errno(errno);
        f->dir = fdopendir(d);
        if (!f->dir) {
            e = errno;
            close(d);
            return wasi_errno(e);
        }
        f->dir_next = 0;
    }
    if (cookie != f->dir_next) {
        rewinddir(f->dir);
        f->dir_next = 0;
        while (f->dir_next < cookie && readdir(f->dir))
            f->dir_next++;
    }
    uint32_t used = 0;
    while (used < buflen) {
        errno = 0;
        struct dirent *d = readdir(f->dir);
        if (!d) {
            if (errno) return wasi_errno(errno);
            break;
        }
        f->dir_next++;
        size_t namlen = strlen(d->d_name);
        uint8_t head[24] = {0};
        put_u64(head, f->dir_next);
        put_u64(head + 8, (uint64_t)d->d_ino);
        put_u32(head + 16, (uint32_t)namlen);
        put_u8(head + 20, filetype_of_dirent(dirfd(f->dir), d));
        uint32_t room = buflen - used;
        uint32_t n = room < 24 ? room : 24;
        memcpy(out + used, head, n);
        used += n;
        room = buflen - used;
        n = room < namlen ? room : (uint32_t)namlen;
        memcpy(out + used, d->d_name, n);
        used += n;
    }
    return store_u32(wc, A32(4), used);
}

WASI_IMPL(fd_renumber)
{
    struct wasi_fd *from, *to;
    int e = fd_lookup(wc->ctx, A32(0), 0, &from);
    if (e) return e;
    if ((e = fd_lookup(wc->ctx, A32(1), 0, &to))) return e;
    if (from == to) return 0;
    fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);
    return 0;
}
