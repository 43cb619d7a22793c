/* The orchestrator's module store (docs/protocol.md "Module files"): files
 * uploaded by clients, named by the SHA-256 of their bytes, kept in one
 * directory as {dir}/{sha256} with a small {sha256}.json beside each (the
 * name it was uploaded under and when). A file enters the store only whole
 * (a temporary file renamed into place) and only when the engine's loader
 * takes it as a WebAssembly module (the loaded module is freed at once:
 * the orchestrator keeps bytes, never modules). Its modification time is
 * its last use, for the retention of unreferenced files.
 *
 * One thread (the orchestrator's). Costs: the store keeps an array of its
 * files; lookups are O(files); a put is O(size) (hash, load, write).
 * Ownership: the caller owns the store (file_store_close); file_info
 * pointers stay valid until the next call that adds or removes a file. */
#ifndef STRATUS_ORCHESTRATOR_FILE_STORE_H
#define STRATUS_ORCHESTRATOR_FILE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/file_transfer.h"

#define FILE_STORE_ERR_LEN 512

struct file_store;

struct file_info {
    char sha256[FILE_HASH_HEX + 1];
    uint64_t size;
    char *name;         /* as uploaded (display only) */
    double uploaded_at; /* Unix seconds */
    double used_at;     /* last upload, create or end of a module using it */
};

/* Open (creating) the store in dir; files larger than max_size (0: the
 * default 64 MiB) are refused. Returns 0 and *out, or -1 with err. */
int file_store_open(const char *dir, uint64_t max_size, struct file_store **out,
                    char err[FILE_STORE_ERR_LEN]);
void file_store_close(struct file_store *fs);

uint64_t file_store_max_size(const struct file_store *fs);
const char *file_store_dir(const struct file_store *fs);

/* Store len bytes under display name `name` (NULL: "module.wasm") at Unix
 * time now. A file already stored is only touched (*created 0). Returns 0
 * with its name in hex, or an HTTP status with err: 400 (not a WebAssembly
 * module: the loader's message), 413 (over the size limit), 500. */
int file_store_put(struct file_store *fs, const void *bytes, size_t len, const char *name,
                   double now, char hex[FILE_HASH_HEX + 1], int *created,
                   char err[FILE_STORE_ERR_LEN]);

/* The file of that name, or NULL. */
const struct file_info *file_store_find(const struct file_store *fs, const char *sha256);
/* Files in the order they were stored. */
size_t file_store_count(const struct file_store *fs);
const struct file_info *file_store_at(const struct file_store *fs, size_t i);

/* Record a use now (a module created with the file, or ended). */
void file_store_touch(struct file_store *fs, const char *sha256, double now);
/* Remove a file. Returns 0, or -1 when there is no such file. */
int file_store_remove(struct file_store *fs, const char *sha256);

/* Open the file for reading (caller closes). Returns the descriptor, or -1. */
int file_store_open_file(const struct file_store *fs, const char *sha256);

/* Remove files unused for retention_sec or longer that in_use(ctx, sha256)
 * says no module needs. Returns how many were removed. Cost: O(files) calls
 * of in_use. */
size_t file_store_sweep(struct file_store *fs, double now, double retention_sec,
                        int (*in_use)(void *ctx, const char *sha256), void *ctx);

#endif
