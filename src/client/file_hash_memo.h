/* The client's memory of the SHA-256 of local module files, so that running
 * the same unchanged file again costs a stat and not a read and a hash of
 * all of it (a 20 MiB module takes a good part of a second to hash).
 *
 * Kept in {state dir}/file-hashes (state_dir_default), one line per file:
 *   sha256 dev inode size mtime.s mtime.ns ctime.s ctime.ns path
 * An entry answers only for the same path with the same device, inode,
 * size, modification and change times; anything else is a miss. At most
 * FILE_HASH_MEMO_MAX entries, the most recently put first; the file is
 * replaced whole (written beside it, then renamed), so a crash leaves the
 * old or the new list, never a mix. A memory that cannot be read or written
 * is no memory: the caller hashes. Costs: O(entries) per call. */
#ifndef STRATUS_CLIENT_FILE_HASH_MEMO_H
#define STRATUS_CLIENT_FILE_HASH_MEMO_H

#include <sys/stat.h>

#define FILE_HASH_MEMO_MAX 256

/* 1 with the remembered hash of the file at path (as it is in st) in hex,
 * 0 when there is none. */
int file_hash_memo_get(const char *path, const struct stat *st, char hex[65]);
/* Remember hex for the file at path as it is in st. */
void file_hash_memo_put(const char *path, const struct stat *st, const char hex[65]);

#endif
