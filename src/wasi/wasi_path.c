/* WASI functions on paths (path_*): every path is resolved beneath the
 * directory descriptor it is relative to, through the sandbox layer, and the
 * operation then acts on (containing directory, single name) without
 * following symlinks, so nothing outside a preopen can be reached. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox.h"
#include "wasi_internal.h"

/* A directory descriptor holding `rights`. */
static int dir_lookup(struct wasi_call *wc, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
    int e = fd_lookup(wc->ctx, fd, 0, out);
    if (e) return e;
    if ((*out)->filetype != FT_DIR || (*out)->host < 0) return WE_NOTDIR;
    return fd_lookup(wc->ctx, fd, rights, out);
}

/* The containing directory and last name of a guest path; both owned by the
 * caller (close, free) on success. */
static int resolve_parent(struct wasi_call *wc, struct wasi_fd *dir, uint32_t ptr, uint32_t len,
                          bool follow, int *out_dir, char **out_name)
{
    const char *path = (const char *)gptr(wc, ptr, len);
    if (!path) return WE_FAULT;
    int e = sbx_parent(dir->host, path, len, follow, wc->ctx->walk_only, out_dir, out_name);
    return wasi_errno(e);
}

WASI_IMPL(path_open)
{
    uint32_t dirflags = A32(1), oflags = A32(4), fdflags = A32(7);
    uint64_t base = A64(5), inheriting = A64(6);
    uint64_t need = R_PATH_OPEN;
    if (oflags & 1) need |= R_PATH_CREATE_FILE;
    if (oflags & 8) need |= R_PATH_FILESTAT_SET_SIZE;
    struct wasi_fd *dir;
    int e = dir_lookup(wc, A32(0), need, &dir);
    if (e) return e;
    if ((oflags & ~15u) || (fdflags & ~31u)) return WE_INVAL;
    const char *path = (const char *)gptr(wc, A32(2), A32(3));
    if (!path || !gptr(wc, A32(8), 4)) return WE_FAULT;
    /* A directory is never opened for writing, and saying O_DIRECTORY with
       write rights asks for exactly that (POSIX: EISDIR). */
    if ((oflags & 2) && (base & R_FD_WRITE)) return WE_ISDIR;
    base &= dir->inheriting;
    inheriting &= dir->inheriting;

    int flags = O_CLOEXEC | O_NOCTTY;
    if (oflags & 1) flags |= O_CREAT;
    if (oflags & 2) flags |= O_DIRECTORY;
    if (oflags & 4) flags |= O_EXCL;
    if (oflags & 8) flags |= O_TRUNC;
    if (fdflags & FDF_APPEND) flags |= O_APPEND;
    if (fdflags & FDF_DSYNC) flags |= O_DSYNC;
    if (fdflags & (FDF_SYNC | FDF_RSYNC)) flags |= O_SYNC;
    if (fdflags & FDF_NONBLOCK) flags |= O_NONBLOCK;
    bool reads = base & (R_FD_READ | R_FD_READDIR);
    bool writes = base & (R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE);
    if ((oflags & 2) || !writes)
        flags |= O_RDONLY;
    else
        flags |= reads ? O_RDWR : O_WRONLY;

    int host;
    e = sbx_open(dir->host, path, A32(3), flags, 0666, dirflags & 1, wc->ctx->walk_only, &host);
    if (e) return wasi_errno(e);
    struct stat st;
    if (fstat(host, &st) != 0) {
        e = errno;
        close(host);
        return wasi_errno(e);
    }
    uint8_t ft = filetype_of_mode(st.st_mode);
    if (ft == FT_DIR) {
        base &= R_DIR;
    } else {
        base &= R_FILE;
        inheriting = 0;
        if (!S_ISREG(st.st_mode)) base &= ~(R_FD_SEEK | R_FD_TELL);
    }
    uint32_t fd;
    if ((e = fd_insert(wc->ctx, host, ft, base, inheriting, &fd))) {
        close(host);
        return e;
    }
    wc->ctx->fds[fd].fdflags = (uint16_t)fdflags;
    return store_u32(wc, A32(8), fd);
}

/* The shape shared by the one-path operations below. */
#define WITH_PARENT(fdarg, rights, ptrarg, lenarg, follow, body)                                   \
    do {                                                                                           \
        struct wasi_fd *dir;                                                                       \
        int e = dir_lookup(wc, fdarg, rights, &dir);                                               \
        if (e) return e;                                                                           \
        int pd;                                                                                    \
        char *name;                                                                                \
        if ((e = resolve_parent(wc, dir, ptrarg, lenarg, follow, &pd, &name))) return e;           \
        body;                                                                                      \
        free(name);                                                                                \
        close(pd);                                                                                 \
        return e;                                                                                  \
    } while (0)

WASI_IMPL(path_create_directory)
{
    WITH_PARENT(A32(0), R_PATH_CREATE_DIRECTORY, A32(1), A32(2), false,
                e = mkdirat(pd, name, 0777) ? wasi_errno(errno) : 0);
}

WASI_IMPL(path_remove_directory)
{
    WITH_PARENT(A32(0), R_PATH_REMOVE_DIRECTORY, A32(1), A32(2), false,
                e = unlinkat(pd, name, AT_REMOVEDIR) ? wasi_errno(errno) : 0);
}

WASI_IMPL(path_unlink_file)
{
    /* "name/" names a directory, so it is never a file to unlink. */
    const uint8_t *path = gptr(wc, A32(1), A32(2));
    bool trailing_slash = path && A32(2) && path[A32(2) - 1] == '/';
    WITH_PARENT(A32(0), R_PATH_UNLINK_FILE, A32(1), A32(2), false, {
        struct stat st;
        if (trailing_slash && fstatat(pd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(st.st_mode))
            e = WE_NOTDIR;
        else
            e = unlinkat(pd, name, 0) ? wasi_errno(errno) : 0;
    });
}

WASI_IMPL(path_filestat_get)
{
    uint8_t *out = gptr(wc, A32(4), 64);
    if (!out) return WE_FAULT;
    struct stat st;
    WITH_PARENT(A32(0), R_PATH_FILESTAT_GET, A32(2), A32(3), A32(1) & 1, {
        if (fstatat(pd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            e = wasi_errno(errno);
        else
            put_filestat(out, &st);
    });
}

WASI_IMPL(path_filestat_set_times)
{
    struct timespec ts[2];
    int te = times_from_wasi(A64(4), A64(5), A32(6), ts);
    if (te) return te;
    WITH_PARENT(A32(0), R_PATH_FILESTAT_SET_TIMES, A32(2), A32(3), A32(1) & 1,
                e = utimensat(pd, name, ts, AT_SYMLINK_NOFOLLOW) ? wasi_errno(errno) : 0);
}

WASI_IMPL(path_readlink)
{
    uint32_t buflen = A32(4);
    uint8_t *buf = gptr(wc, A32(3), buflen);
    if (!buf || !gptr(wc, A32(5), 4)) return WE_FAULT;
    WITH_PARENT(A32(0), R_PATH_READLINK, A32(1), A32(2), false, {
        /* Read into our own buffer first: an absolute target is a host path
           (the module cannot make one, see path_symlink), which the module
           must not see, not even in part. */
        char target[PATH_MAX];
        ssize_t n = readlinkat(pd, name, target, sizeof target);
        if (n < 0) {
            e = wasi_errno(errno);
        } else if (n > 0 && target[0] == '/') {
            e = WE_NOTCAPABLE;
        } else {
            if ((size_t)n > buflen) n = buflen;
            memcpy(buf, target, (size_t)n);
            e = store_u32(wc, A32(5), (uint32_t)n);
        }
    });
}

/* A name that ends in '/' must be an existing directory: creating a link
 * there fails with EEXIST when something is there, else ENOENT. 0 when the
 * path has no trailing slash. */
static int new_name_slash(struct wasi_call *wc, uint32_t ptr, uint32_t len, int pd,
                          const char *name)
{
    const char *path = (const char *)gptr(wc, ptr, len);
    if (!path || !len || path[len - 1] != '/') return 0;
    struct stat st;
    return fstatat(pd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? WE_EXIST : WE_NOENT;
}

/* How many directories `dir` lies below the nearest preopened directory:
 * walks up through ".." comparing with the preopens as they were at start.
 * -1 when it lies below none of them. Cost: one openat and fstat per level. */
static int depth_below_preopen(const struct swasi_ctx *ctx, int dir)
{
    int cur = openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
        struct stat st, up_st;
        if (fstat(cur, &st) != 0) break;
        for (size_t i = 0; i < ctx->nroots; i++)
            if (ctx->roots[i].dev == st.st_dev && ctx->roots[i].ino == st.st_ino) {
                close(cur);
                return depth;
            }
        int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        bool top = up < 0 || fstat(up, &up_st) != 0 ||
                   (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino);
        close(cur);
        cur = up;
        if (top) break;
    }
    if (cur >= 0) close(cur);
    return -1;
}

/* Whether a relative symlink target, read from a link `depth` directories
 * below a preopen, climbs out of it ("../outside/secret" at depth 0). Judged
 * on the words of the target: the links it may pass through were checked
 * the same way when they were made. */
static bool target_leaves(const char *t, int depth)
{
    while (*t) {
        const char *end = strchr(t, '/');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        if (n == 2 && t[0] == '.' && t[1] == '.') {
            if (--depth < 0) return true;
        } else if (n && !(n == 1 && t[0] == '.')) {
            depth++;
        }
        t += n;
        if (*t == '/') t++;
    }
    return false;
}

WASI_IMPL(path_symlink)
{
    uint32_t tlen = A32(1);
    const char *target = (const char *)gptr(wc, A32(0), tlen);
    if (!target) return WE_FAULT;
    if (memchr(target, '\0', tlen)) return WE_INVAL;
    /* An absolute target could never be followed inside the sandbox, and
     * a relative one that climbs out of the preopen would lead any other
     * program that follows it out of the sandbox: refuse both (ENOTCAPABLE)
     * rather than leave such a link behind. */
    if (tlen && target[0] == '/') return WE_NOTCAPABLE;
    char *t = malloc((size_t)tlen + 1);
    if (!t) return WE_NOMEM;
    memcpy(t, target, tlen);
    t[tlen] = '\0';
    struct wasi_fd *dir;
    int e = dir_lookup(wc, A32(2), R_PATH_SYMLINK, &dir);
    int pd;
    char *name;
    if (!e) e = resolve_parent(wc, dir, A32(3), A32(4), false, &pd, &name);
    if (!e) {
        e = new_name_slash(wc, A32(3), A32(4), pd, name);
        if (!e && target_leaves(t, depth_below_preopen(wc->ctx, pd))) e = WE_NOTCAPABLE;
        if (!e) e = symlinkat(t, pd, name) ? wasi_errno(errno) : 0;
        free(name);
        close(pd);
    }
    free(t);
    return e;
}

/* Two-path operations: both ends resolved beneath their own directory. */
static int two_parents(struct wasi_call *wc, uint32_t ofd, uint64_t orights, uint32_t optr,
                       uint32_t olen, bool ofollow, uint32_t nfd, uint64_t nrights, uint32_t nptr,
                       uint32_t nlen, int pd[2], char *name[2])
{
    struct wasi_fd *od, *nd;
    int e = dir_lookup(wc, ofd, orights, &od);
    if (e || (e = dir_lookup(wc, nfd, nrights, &nd))) return e;
    if ((e = resolve_parent(wc, od, optr, olen, ofollow, &pd[0], &name[0]))) return e;
    if ((e = resolve_parent(wc, nd, nptr, nlen, false, &pd[1], &name[1]))) {
        free(name[0]);
        close(pd[0]);
    }
    return e;
}

static void free_parents(int pd[2], char *name[2])
{
    for (int i = 0; i < 2; i++) {
        free(name[i]);
        close(pd[i]);
    }
}

WASI_IMPL(path_link)
{
    int pd[2];
    char *name[2];
    int e = two_parents(wc, A32(0), R_PATH_LINK_SOURCE, A32(2), A32(3), A32(1) & 1, A32(4),
                        R_PATH_LINK_TARGET, A32(5), A32(6), pd, name);
    if (e) return e;
    e = new_name_slash(wc, A32(5), A32(6), pd[1], name[1]);
    if (!e) e = linkat(pd[0], name[0], pd[1], name[1], 0) ? wasi_errno(errno) : 0;
    free_parents(pd, name);
    return e;
}

WASI_IMPL(path_rename)
{
    int pd[2];
    char *name[2];
    int e = two_parents(wc, A32(0), R_PATH_RENAME_SOURCE, A32(1), A32(2), false, A32(3),
                        R_PATH_RENAME_TARGET, A32(4), A32(5), pd, name);
    if (e) return e;
    e = renameat(pd[0], name[0], pd[1], name[1]) ? wasi_errno(errno) : 0;
    free_parents(pd, name);
    return e;
}
