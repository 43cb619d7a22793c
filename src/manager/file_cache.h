/* The node's cache of module files named by content (docs/protocol.md
 * "Module files"): a directory of files named by their SHA-256, bounded in
 * bytes, least recently used files evicted first and never a file in use.
 *
 * Layout: {dir}/{sha256} are whole, verified files; {dir}/tmp/{sha256}.part
 * are transfers under way (a fetch resumes from one). A file enters the
 * cache only by rename(2) of a verified partial file, so the cache never
 * holds a half-written file. The order of use survives a restart through
 * the files' modification times.
 *
 * Runs on the manager's thread; the runtime processes only read the files.
 * Costs: the cache keeps a small array of entries (one per file); lookups
 * and evictions are O(entries). Ownership: the caller owns the cache
 * (file_cache_close). */
#ifndef STRATUS_MANAGER_FILE_CACHE_H
#define STRATUS_MANAGER_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define FILE_CACHE_ERR_LEN 256
#define FILE_CACHE_DEFAULT_LIMIT ((uint64_t)1 << 30) /* 1 GiB */

struct file_cache;

/* Open (creating) the cache in dir with a limit in bytes. Files found there
 * are taken in the order of their modification times; names that are not
 * a SHA-256 are left alone. Returns 0 and *out, or -1 with err. */
int file_cache_open(const char *dir, uint64_t limit, struct file_cache **out,
                    char err[FILE_CACHE_ERR_LEN]);
void file_cache_close(struct file_cache *c);

const char *file_cache_dir(const struct file_cache *c);
uint64_t file_cache_limit(const struct file_cache *c);
/* Bytes of whole files in the cache, and their number. */
uint64_t file_cache_used(const struct file_cache *c);
size_t file_cache_count(const struct file_cache *c);

/* If the file is cached (and still on disk): make it the most recently
 * used, pin it once (it is not evicted until released) and return 1.
 * Otherwise 0. */
int file_cache_acquire(struct file_cache *c, const char *sha256);
/* Undo one acquire (or one pin of file_cache_install); past the limit,
 * unpinned files are evicted now. */
void file_cache_release(struct file_cache *c, const char *sha256);
/* Pins the file holds now (0 when not cached). */
int file_cache_pins(const struct file_cache *c, const char *sha256);

/* Path of the partial file of a transfer (in {dir}/tmp). Returns 0, or -1
 * when it does not fit. */
int file_cache_partial_path(const struct file_cache *c, const char *sha256, char *buf, size_t cap);

/* Move the verified partial file of sha256 (size bytes) into the cache as
 * the most recently used file, pinned `pins` times, then evict unpinned
 * files, least recently used first, while the cache is over its limit
 * (pinned ones may keep it over until they are released). Returns 0, or -1
 * with err (the partial file is then removed). */
int file_cache_install(struct file_cache *c, const char *sha256, uint64_t size, int pins,
                       char err[FILE_CACHE_ERR_LEN]);

#endif
