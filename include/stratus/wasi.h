/* Stratus WASI: the `wasi_snapshot_preview1` interface for modules run by the
 * engine (stratus/wasm.h), with a file system confined to preopened
 * directories.
 *
 * Use: fill an swasi_config (start from swasi_config_init), create a context
 * with swasi_ctx_new, add its imports to a linker with swasi_ctx_link,
 * instantiate the module against that linker, then swasi_ctx_run. One context
 * serves one instance at a time.
 *
 * Ownership: swasi_ctx_new copies every string and array of the config; the
 * caller keeps (and frees) its own. Preopened directories are opened by the
 * context and closed by swasi_ctx_free. Inherited stdio descriptors and
 * handed-over sockets stay owned by the caller, who must keep them open while
 * the context lives; the context never closes them (a module's fd_close only
 * forgets them). Callback `user` pointers stay owned by the caller.
 *
 * Errors inside the module's calls are WASI errno values returned to the
 * module; paths that would leave a preopen fail with ENOTCAPABLE (76),
 * symlink loops with ELOOP (32), path_symlink with an absolute target with
 * ENOTCAPABLE too, guest pointers out of bounds with EFAULT
 * (21). proc_exit never exits the host: swasi_ctx_run returns the code. */
#ifndef STRATUS_WASI_H
#define STRATUS_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stratus/wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WASI errno values the callbacks below may return (others are allowed). */
#define SWASI_ESUCCESS 0
#define SWASI_EACCES 2
#define SWASI_EAGAIN 6
#define SWASI_EBADF 8
#define SWASI_EFAULT 21
#define SWASI_EINTR 27
#define SWASI_EINVAL 28
#define SWASI_EIO 29
#define SWASI_EMFILE 33
#define SWASI_EMSGSIZE 35
#define SWASI_ENOENT 44
#define SWASI_ENOMEM 48
#define SWASI_EPIPE 64
#define SWASI_ENOTCAPABLE 76

/* The module wrote `len` bytes to stdout/stderr. Return 0 when all of them
 * were taken, else a WASI errno (the module sees the write fail). One fd_write
 * is one call, its iovecs joined, up to 1 MiB; a larger fd_write arrives as
 * one call per iovec. */
typedef int (*swasi_write_fn)(void *user, const uint8_t *buf, size_t len);

/* The module reads stdin: store up to `cap` bytes and their count in *nread
 * (0 = end of input). Return 0 or a WASI errno. It may block, but must then
 * also watch swasi_ctx_wake_fd and return SWASI_EINTR when that becomes
 * readable: the call then ends the module with an "interrupted" trap. */
typedef int (*swasi_read_fn)(void *user, uint8_t *buf, size_t cap, size_t *nread);

/* One of stdin/stdout/stderr: a host descriptor (inherited, not owned), or
 * callbacks when `read` (stdin) / `write` (stdout, stderr) is set. host_fd -1
 * with no callback means "closed": reads see end of input, writes EBADF.
 * Blocking reads of a host descriptor wake up when the instance is
 * interrupted, so a pipe is the best way to feed stdin from elsewhere. */
typedef struct swasi_stdio {
    int host_fd;
    swasi_read_fn read;
    swasi_write_fn write;
    void *user;
    /* With `read`: a host descriptor readable while a read would not block,
     * which poll_oneoff waits on (owned by the caller). 0 or less: stdin is
     * always reported ready. */
    int ready_fd;
} swasi_stdio;

/* A host directory the module sees under `guest_path` (e.g. "." or "/data"). */
typedef struct swasi_preopen {
    const char *host_path;
    const char *guest_path;
} swasi_preopen;

typedef struct swasi_config {
    size_t argc;
    const char *const *argv; /* argv[0] is the program name the module sees */
    size_t envc;
    const char *const *env; /* "NAME=value" strings */
    size_t npreopens;
    const swasi_preopen *preopens; /* become fds 3, 4, ... in this order */
    swasi_stdio stdio[3];
    size_t nsockets;
    const int *sockets; /* connected or listening host sockets, after the preopens */
    bool walk_only;     /* resolve paths by the component walker even when the
                           kernel has openat2 (for tests) */
} swasi_config;

typedef struct swasi_ctx swasi_ctx;

/* No arguments, no environment, no preopens, stdio inherited from fds 0-2. */
void swasi_config_init(swasi_config *config);

/* Creates a context from `config` (copied). Returns SW_OK, SW_ERR_NOMEM, or
 * SW_ERR_ARG when a preopen cannot be opened or the config is inconsistent;
 * err->message then says which and why. The caller frees *out with
 * swasi_ctx_free. */
sw_status swasi_ctx_new(const swasi_config *config, swasi_ctx **out, sw_error *err);

/* Frees the context, closing what it opened. NULL is fine. */
void swasi_ctx_free(swasi_ctx *ctx);

/* Defines every wasi_snapshot_preview1 function on `linker`, bound to ctx.
 * The context must outlive the instances linked with them. */
sw_status swasi_ctx_link(swasi_ctx *ctx, sw_linker *linker);

/* Runs the instance's `_start` export. The context installs the instance's
 * interrupt hook so blocking calls wake up when sw_instance_interrupt is
 * called. Returns SW_OK with *exit_code set (0 when _start returned, the
 * proc_exit code otherwise), or the engine's failure (SW_ERR_TRAP,
 * SW_ERR_NOT_FOUND when there is no _start, ...) with details in *err. */
sw_status swasi_ctx_run(swasi_ctx *ctx, sw_instance *instance, int *exit_code, sw_error *err);

/* A descriptor that becomes readable while the instance is interrupted (from
 * sw_instance_interrupt until the next swasi_ctx_run), for blocking stdin
 * callbacks to poll alongside their own source. Owned by the context. */
int swasi_ctx_wake_fd(const swasi_ctx *ctx);

/* A descriptor served by the embedder instead of the host (runtimes use it
 * for channels): message-oriented, not seekable, filetype socket_dgram.
 * Every callback runs on the thread that runs the instance. */
typedef struct swasi_vfd_ops {
    /* One fd_write: its iovecs joined into `len` bytes (any size, 0 too).
     * Return 0 when taken, else a WASI errno the module sees. NULL: the
     * descriptor is read-only (fd_write gives ENOTCAPABLE). */
    int (*write)(void *user, const uint8_t *buf, size_t len);
    /* One fd_read: copy up to `cap` bytes of what is pending into buf and set
     * *nread. Never block: return SWASI_EAGAIN when nothing is pending; the
     * context then waits for `ready_fd` and the wake fd (unless the module
     * set the descriptor non-blocking, then the module gets EAGAIN) and
     * calls again. NULL: the descriptor is write-only (ENOTCAPABLE). */
    int (*read)(void *user, uint8_t *buf, size_t cap, size_t *nread);
    /* The module closed the descriptor, or the context is being freed: the
     * last call for `user`. May be NULL. */
    void (*close)(void *user);
} swasi_vfd_ops;

/* Adds a descriptor served by `ops` in the lowest free slot and stores its
 * number in *fd. `ready_fd` is a host descriptor the embedder keeps readable
 * (level-triggered) while `read` would not return EAGAIN: blocking fd_read
 * and poll_oneoff wait on it; -1 means always ready. It stays owned by the
 * embedder, as do `ops` (which must outlive the descriptor) and `user`.
 * May be called before swasi_ctx_run or from a host function during it.
 * Returns SW_OK, SW_ERR_NOMEM, or SW_ERR_ARG (no read and no write). */
sw_status swasi_ctx_add_vfd(swasi_ctx *ctx, const swasi_vfd_ops *ops, void *user, int ready_fd,
                            uint32_t *fd);

/* Makes the instance's blocking WASI calls return now (what the interrupt
 * hook does); for embedders that interrupt by other means. Any thread. */
void swasi_ctx_wake(swasi_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif
