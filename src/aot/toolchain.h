/* The system C compiler as the compiled tier uses it: finding it, knowing
 * which one it is (the identity that goes into every cache key: path,
 * version, target, flags), and running it on one generated C file.
 * Internal to src/aot. */
#ifndef STRATUS_AOT_TOOLCHAIN_H
#define STRATUS_AOT_TOOLCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct toolchain {
    char path[1024];     /* the compiler's real path */
    char version[256];   /* first line of `--version` */
    char target[64];     /* machine and the instruction-set extensions used */
    char flags[512];     /* everything passed besides the files */
    char identity[2048]; /* all of the above: what a cache key holds */
    bool clang;
};

/* Finds the compiler: `wanted` (a path, or a name looked up on PATH) when
 * given, else $STRATUS_CC, else clang, gcc, cc on PATH. Its version is read
 * with `--version` unless `id_cache` (a file; may be NULL) remembers it for
 * the same file (device, inode, size, modification time). 0, or -1 with a
 * reason ("no C compiler found: ..."). */
int toolchain_find(const char *wanted, const char *id_cache, struct toolchain *tc, char *why,
                   size_t cap);

/* Compiles c_path to the shared object so_path. `background` lowers the
 * compiler's priority. While it runs, *child holds its pid (for a cancel,
 * see toolchain_cancel). 0, or -1 with the compiler's first error lines. */
int toolchain_compile(const struct toolchain *tc, const char *c_path, const char *so_path,
                      bool background, volatile pid_t *child, char *why, size_t cap);

/* Ends a compile running in another thread, or about to start its compiler
 * (its toolchain_compile fails); *child stays -1, so nothing more starts. */
void toolchain_cancel(volatile pid_t *child);

#endif
