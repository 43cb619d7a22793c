/* What the WASI implementation files share: the context and its descriptor
 * table, the preview1 constants, guest-memory access with bounds checks, and
 * the signature of the function implementations the link table binds. */
#ifndef STRATUS_WASI_INTERNAL_H
#define STRATUS_WASI_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "stratus/wasi.h"

/* ---- preview1 constants ---- */

enum {
    WE_SUCCESS = 0,
    WE_2BIG = 1,
    WE_ACCES = 2,
    WE_AGAIN = 6,
    WE_BADF = 8,
    WE_EXIST = 20,
    WE_FAULT = 21,
    WE_INTR = 27,
    WE_INVAL = 28,
    WE_IO = 29,
    WE_ISDIR = 31,
    WE_LOOP = 32,
    WE_NAMETOOLONG = 37,
    WE_NOENT = 44,
    WE_NOMEM = 48,
    WE_NOSYS = 52,
    WE_NOTDIR = 54,
    WE_NOTEMPTY = 55,
    WE_NOTSOCK = 57,
    WE_NOTSUP = 58,
    WE_OVERFLOW = 61,
    WE_PERM = 63,
    WE_SPIPE = 70,
    WE_NOTCAPABLE = 76,
};

enum {
    FT_UNKNOWN = 0,
    FT_BLOCK = 1,
    FT_CHAR = 2,
    FT_DIR = 3,
    FT_REG = 4,
    FT_DGRAM = 5,
    FT_STREAM = 6,
    FT_SYMLINK = 7,
};

#define FDF_APPEND 1u
#define FDF_DSYNC 2u
#define FDF_NONBLOCK 4u
#define FDF_RSYNC 8u
#define FDF_SYNC 16u

#define R(n) (UINT64_C(1) << (n))
#define R_FD_DATASYNC R(0)
#define R_FD_READ R(1)
#define R_FD_SEEK R(2)
#define R_FD_FDSTAT_SET_FLAGS R(3)
#define R_FD_SYNC R(4)
#define R_FD_TELL R(5)
#define R_FD_WRITE R(6)
#define R_FD_ADVISE R(7)
#define R_FD_ALLOCATE R(8)
#define R_PATH_CREATE_DIRECTORY R(9)
#define R_PATH_CREATE_FILE R(10)
#define R_PATH_LINK_SOURCE R(11)
#define R_PATH_LINK_TARGET R(12)
#define R_PATH_OPEN R(13)
#define R_FD_READDIR R(14)
#define R_PATH_READLINK R(15)
#define R_PATH_RENAME_SOURCE R(16)
#define R_PATH_RENAME_TARGET R(17)
#define R_PATH_FILESTAT_GET R(18)
#define R_PATH_FILESTAT_SET_SIZE R(19)
#define R_PATH_FILESTAT_SET_TIMES R(20)
#define R_FD_FILESTAT_GET R(21)
#define R_FD_FILESTAT_SET_SIZE R(22)
#define R_FD_FILESTAT_SET_TIMES R(23)
#define R_PATH_SYMLINK R(24)
#define R_PATH_REMOVE_DIRECTORY R(25)
#define R_PATH_UNLINK_FILE R(26)
#define R_POLL_FD_READWRITE R(27)
#define R_SOCK_SHUTDOWN R(28)
#define R_SOCK_ACCEPT R(29)
#define R_ALL (R(30) - 1)

/* Rights that make sense on a regular file / a directory / a socket. */
#define R_FILE                                                                                     \
    (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_TELL |       \
     R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_SIZE |       \
     R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define R_DIR                                                                                      \
    (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY |                   \
     R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN | R_FD_READDIR |   \
     R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET | R_PATH_FILESTAT_GET |         \
     R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES | R_FD_FILESTAT_GET |                    \
     R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | R_PATH_REMOVE_DIRECTORY | R_PATH_UNLINK_FILE |     \
     R_FD_DATASYNC)
#define R_TTY                                                                                      \
    (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)
#define R_SOCK                                                                                     \
    (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE |    \
     R_SOCK_SHUTDOWN | R_SOCK_ACCEPT)

/* ---- descriptor table ---- */

struct wasi_fd {
    bool used;
    bool owned; /* the context closes `host` (not for inherited ones) */
    int host;   /* host descriptor, -1 for callback stdio */
    int stdio;  /* 0-2 when backed by the config's callbacks, else -1 */
    uint8_t filetype;
    uint16_t fdflags; /* as the module set them (append/nonblock are also on host) */
    uint64_t rights, inheriting;
    char *preopen;     /* guest name of a preopened directory (owned), else NULL */
    DIR *dir;          /* readdir stream (owned), opened on first fd_readdir */
    uint64_t dir_next; /* cookie of the entry `dir` will return next */
    /* Served by the embedder (swasi_ctx_add_vfd), else NULL; host is -1. */
    const swasi_vfd_ops *vfd;
    void *vfd_user;
    int vfd_ready; /* the embedder's readiness descriptor, -1: always ready */
};

struct swasi_ctx {
    char **argv, **env; /* owned copies */
    size_t argc, envc;
    swasi_stdio stdio[3];
    bool walk_only;
    struct wasi_fd *fds;
    uint32_t nfds;
    int wake_fd; /* eventfd, readable while the instance is interrupted */
    /* The preopened directories as they were at start (device, inode), kept
       even when the module closes their descriptors: path_symlink measures
       how deep a link lies below them. */
    struct wasi_root {
        dev_t dev;
        ino_t ino;
    } * roots;
    size_t nroots;
    struct wasi_binding *bindings;
    uint64_t max_wait_ns; /* 0, or a cap on clock waits (fuzzing only) */
    size_t nbindings;
};

/* ---- one call from the module ---- */

struct wasi_call {
    swasi_ctx *ctx;
    sw_call *call;
    uint8_t *mem;
    uint64_t size;
    sw_status status; /* set by trap/exit; returned instead of an errno */
};

/* An implementation returns a WASI errno (ignored when status is set). */
typedef int (*wasi_impl)(struct wasi_call *wc, const sw_value *args);

struct wasi_binding {
    swasi_ctx *ctx;
    wasi_impl impl;
    bool has_result;
};

/* Guest range [ptr, ptr+len) as a host pointer, or NULL when out of bounds. */
static inline uint8_t *gptr(struct wasi_call *wc, uint64_t ptr, uint64_t len)
{
    if (!wc->mem || ptr > wc->size || len > wc->size - ptr) return NULL;
    return wc->mem + ptr;
}

static inline void put_u8(uint8_t *p, uint8_t v)
{
    *p = v;
}
static inline void put_u16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint16_t get_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Stores a u32/u64 result at a guest address; WE_FAULT when out of bounds. */
int store_u32(struct wasi_call *wc, uint32_t ptr, uint32_t v);
int store_u64(struct wasi_call *wc, uint32_t ptr, uint64_t v);

/* Argument accessors (the engine passes i32 as int32_t). */
#define A32(i) ((uint32_t)args[i].of.i32)
#define A64(i) ((uint64_t)args[i].of.i64)

/* Host errno (or SBX_ENOTCAPABLE) to WASI errno. */
int wasi_errno(int host_errno);

/* The descriptor `fd` if open and holding all of `rights`: 0, WE_BADF or
 * WE_NOTCAPABLE. */
int fd_lookup(swasi_ctx *ctx, uint32_t fd, uint64_t rights, struct wasi_fd **out);

/* Puts a new entry in the lowest free slot; the table takes `host`. */
int fd_insert(swasi_ctx *ctx, int host, uint8_t filetype, uint64_t rights, uint64_t inheriting,
              uint32_t *out);

/* Releases what an entry owns and marks it free. */
void fd_release(struct wasi_fd *f);

/* WASI filetype of a host st_mode. */
uint8_t filetype_of_mode(unsigned mode);

/* Traps the call as interrupted; returns WE_INTR. */
int interrupted(struct wasi_call *wc);

/* True while the instance is interrupted (the wake eventfd is signalled). */
bool wake_pending(const swasi_ctx *ctx);

/* Waits until host fd is readable (events POLLIN) or writable (POLLOUT), or
 * the instance is interrupted (then traps the call and returns WE_INTR). */
int wait_ready(struct wasi_call *wc, int host, short events);

/* Reads the guest's iovec array (ciovec and iovec share the layout) into
 * host iovecs, checking every buffer: at most WASI_IOV_MAX entries. */
#define WASI_IOV_MAX 1024
struct iovec;
int load_iovs(struct wasi_call *wc, uint32_t iovs, uint32_t n, struct iovec *out);

/* The number of bytes n iovecs hold. */
uint64_t iov_total(const struct iovec *iov, uint32_t n);

/* Those `total` bytes in one piece, for callbacks that take one buffer: the
 * only non-empty iovec itself, or all of them joined into *copy (malloc'd;
 * the caller frees it, NULL when nothing was copied). NULL when out of
 * memory. */
const uint8_t *iov_join(const struct iovec *iov, uint32_t n, uint64_t total, uint8_t **copy);

/* fd_read / fd_write of a descriptor served by the embedder (wasi_vfd.c),
 * with the iovecs loaded: the byte count goes to *count. */
int vfd_read(struct wasi_call *wc, struct wasi_fd *f, const struct iovec *iov, uint32_t n,
             uint32_t *count);
int vfd_write(struct wasi_call *wc, struct wasi_fd *f, const struct iovec *iov, uint32_t n,
              uint32_t *count);

/* Writes a 64-byte WASI filestat for a host stat. */
struct stat;
void put_filestat(uint8_t *p, const struct stat *st);

/* Host timespec pair for utimensat/futimens from WASI times and fstflags. */
struct timespec;
int times_from_wasi(uint64_t atim, uint64_t mtim, uint32_t fstflags, struct timespec ts[2]);

/* The function implementations, by file. */
#define WASI_IMPL(name) int wasi_##name(struct wasi_call *wc, const sw_value *args)
WASI_IMPL(args_get);
WASI_IMPL(args_sizes_get);
WASI_IMPL(environ_get);
WASI_IMPL(environ_sizes_get);
WASI_IMPL(clock_res_get);
WASI_IMPL(clock_time_get);
WASI_IMPL(random_get);
WASI_IMPL(proc_exit);
WASI_IMPL(proc_raise);
WASI_IMPL(sched_yield);
WASI_IMPL(sock_accept);
WASI_IMPL(sock_recv);
WASI_IMPL(sock_send);
WASI_IMPL(sock_shutdown);
WASI_IMPL(fd_advise);
WASI_IMPL(fd_allocate);
WASI_IMPL(fd_close);
WASI_IMPL(fd_datasync);
WASI_IMPL(fd_fdstat_get);
WASI_IMPL(fd_fdstat_set_flags);
WASI_IMPL(fd_fdstat_set_rights);
WASI_IMPL(fd_filestat_get);
WASI_IMPL(fd_filestat_set_size);
WASI_IMPL(fd_filestat_set_times);
WASI_IMPL(fd_pread);
WASI_IMPL(fd_prestat_get);
WASI_IMPL(fd_prestat_dir_name);
WASI_IMPL(fd_pwrite);
WASI_IMPL(fd_read);
WASI_IMPL(fd_readdir);
WASI_IMPL(fd_renumber);
WASI_IMPL(fd_seek);
WASI_IMPL(fd_sync);
WASI_IMPL(fd_tell);
WASI_IMPL(fd_write);
WASI_IMPL(path_create_directory);
WASI_IMPL(path_filestat_get);
WASI_IMPL(path_filestat_set_times);
WASI_IMPL(path_link);
WASI_IMPL(path_open);
WASI_IMPL(path_readlink);
WASI_IMPL(path_remove_directory);
WASI_IMPL(path_rename);
WASI_IMPL(path_symlink);
WASI_IMPL(path_unlink_file);
WASI_IMPL(poll_oneoff);

#endif
