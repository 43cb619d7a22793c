/* Path resolution confined to a directory (a WASI preopen).
 *
 * Every path a module names is resolved relative to a directory file
 * descriptor, and no outcome may lead outside it: not through "..", not
 * through an absolute path, not through a symlink (whoever planted it). Two
 * implementations give the same answers: the kernel's openat2() with
 * RESOLVE_BENEATH, probed once, and a walker that opens one component at a
 * time with O_NOFOLLOW and expands symlinks itself. The walker is used when
 * the kernel lacks openat2, when the caller forces it, and for the few cases
 * openat2 cannot express (following a final symlink to a name).
 *
 * Errors are positive host errno values, plus SBX_ENOTCAPABLE for "this path
 * would leave the sandbox". */
#ifndef STRATUS_WASI_SANDBOX_H
#define STRATUS_WASI_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Not a host errno: the path escapes the sandbox (WASI's ENOTCAPABLE). */
#define SBX_ENOTCAPABLE 10000

/* Longest path accepted from a module (the kernel's own limit is lower; this
 * only spares copying absurd lengths). */
#define SBX_MAX_PATH 65536

/* Symlinks expanded while resolving one path before ELOOP. */
#define SBX_MAX_SYMLINKS 40

/* True when openat2 with RESOLVE_BENEATH works on this kernel (probed once,
 * thread-safe). */
bool sbx_have_openat2(void);

/* Opens `path` (len bytes, no NUL needed) beneath `root` with open(2) flags
 * and mode. `follow` says whether a final symlink is followed (else ELOOP).
 * `walk_only` forces the component walker. On success *out_fd is a new
 * descriptor owned by the caller (O_CLOEXEC). Returns 0 or an error. */
int sbx_open(int root, const char *path, size_t len, int flags, mode_t mode, bool follow,
             bool walk_only, int *out_fd);

/* Resolves everything but the last component of `path` beneath `root`. On
 * success *out_dir is a new descriptor of the containing directory (owned by
 * the caller) and *out_name a malloc'd single component (owned by the
 * caller, free() it) that holds no '/': either an entry name or "." when the
 * path names the directory itself (e.g. "a/.."). With `follow_final`, a final
 * symlink is expanded too, so the name never refers to a symlink. Operations
 * then use the *at() calls on (dir, name) without following symlinks. */
int sbx_parent(int root, const char *path, size_t len, bool follow_final, bool walk_only,
               int *out_dir, char **out_name);

#endif
