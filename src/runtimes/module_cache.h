/* Loaded WebAssembly modules shared by the modules of one runtime process
 * that run the same file: a file is read, validated and translated once
 * while any module runs it, and its translated code is in memory once. A
 * file is the same while its device, inode, size and modification time are.
 *
 * Thread-safe (module threads load concurrently). Ownership: the cache owns
 * every sw_module it hands out; each module_cache_get that succeeds must be
 * matched by one module_cache_put, and the last put frees the module. */
#ifndef STRATUS_MODULE_CACHE_H
#define STRATUS_MODULE_CACHE_H

#include <stddef.h>

#include "stratus/wasm.h"

/* The loaded module of the file at `path`. Returns 0 with *out set, or -1
 * with a one-line reason (cannot read, or the engine's load error). */
int module_cache_get(const char *path, sw_module **out, char *reason, size_t cap);

/* Done with a module module_cache_get gave. */
void module_cache_put(sw_module *module);

/* Number of distinct files loaded now (for tests). */
size_t module_cache_size(void);

#endif
