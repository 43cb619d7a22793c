/* Artifact files of the compiled tier's cache: the compiler's shared object
 * followed by a trailer that seals it (a magic string, the SHA-256 of the
 * bytes before it, their length), so a truncated, torn or altered file is
 * told apart from a good one before any of it is loaded. Internal to
 * src/aot. */
#ifndef STRATUS_AOT_ARTIFACT_H
#define STRATUS_AOT_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

/* Appends the trailer to the file at path (the compiler's output). 0, or -1
 * with a reason. */
int artifact_seal(const char *path, char *why, size_t cap);

/* Reads a sealed file: *code (malloc'd, the caller frees it) and *len hold
 * the bytes before the trailer. 0; 1 when there is no such file; -1 when it
 * is there but not a good artifact (why says how). */
int artifact_read(const char *path, uint8_t **code, size_t *len, char *why, size_t cap);

#endif
