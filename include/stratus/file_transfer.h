/* Module files by content (docs/protocol.md "Module files"): the rules both
 * ends of a file transfer over MQTT share. A file is named by the SHA-256 of
 * its bytes, written as 64 lower-case hex digits. A node asks for a byte
 * range of a file on {realm}/proc/file/get; the orchestrator answers with
 * chunks on {realm}/proc/file/data/{node}, each a binary message:
 *
 *   offset  size  field
 *   0       4     magic "SLF1"
 *   4       32    SHA-256 of the whole file (raw)
 *   36      8     offset of this chunk in the file (big-endian)
 *   44      8     size of the whole file (big-endian)
 *   52      ...   the chunk's bytes (at most FILE_CHUNK_MAX)
 *
 * or, when it cannot serve the file, with a JSON response envelope (first
 * byte '{') {object_id, action: "file_get", type: "resp", data: {result:
 * "error", details: {sha256, reason}}} on the same topic.
 *
 * Pure functions, no I/O: the orchestrator, the manager, the tests and the
 * fuzz target share them. */
#ifndef STRATUS_FILE_TRANSFER_H
#define STRATUS_FILE_TRANSFER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FILE_HASH_HEX 64 /* hex digits of a file's name (65 with the NUL) */
#define FILE_CHUNK_MAGIC "SLF1"
#define FILE_CHUNK_HEADER 52
/* Bytes of a file in one chunk message. */
#define FILE_CHUNK_MAX ((size_t)256 << 10)
/* Bytes one request may ask for: the window of one transfer. */
#define FILE_REQUEST_MAX ((uint64_t)FILE_CHUNK_MAX * 16)
/* A file's size limit when none is configured. */
#define FILE_SIZE_DEFAULT_MAX ((uint64_t)64 << 20)
#define FILE_ERR_LEN 256

/* 1 if `hex` is exactly 64 lower-case hex digits. */
int file_hash_is_valid(const char *hex);
/* Raw digest <-> hex. file_hash_to_raw returns 0, or -1 when the text is
 * not a valid name. */
int file_hash_to_raw(const char *hex, uint8_t raw[32]);
void file_hash_to_hex(const uint8_t raw[32], char hex[FILE_HASH_HEX + 1]);

/* A chunk taken apart by file_chunk_parse; data points into the message. */
struct file_chunk {
    uint8_t sha256[32];
    uint64_t offset, total;
    const uint8_t *data;
    size_t len;
};

/* Write the header of a chunk into out. */
void file_chunk_header(uint8_t out[FILE_CHUNK_HEADER], const uint8_t sha256[32], uint64_t offset,
                       uint64_t total);
/* Parse a chunk message: the magic, a chunk of at most FILE_CHUNK_MAX bytes
 * that lies inside the file (offset + len <= total). Returns 0, or -1 (not
 * a chunk, or an inconsistent one) with a reason in err. */
int file_chunk_parse(const void *msg, size_t len, struct file_chunk *out, char err[FILE_ERR_LEN]);

/* A request for bytes [offset, offset + length) of file sha256, to be sent
 * to {realm}/proc/file/data/{node}. Strings point into the parsed JSON. */
struct file_request {
    const char *object_id;
    const char *sha256;
    const char *node; /* one topic level: no '/', '+', '#', not empty */
    uint64_t offset, length;
};

/* The request envelope (new reference; object_id NULL: a fresh one), or
 * NULL on OOM. */
json_t *file_request_build(const char *object_id, const char *sha256, const char *node,
                           uint64_t offset, uint64_t length);
/* Validate a request envelope already parsed by envelope_parse (action
 * "file_get", type "req"): data.sha256 a file name, data.node one topic
 * level, data.offset >= 0, data.length 1..FILE_REQUEST_MAX. Returns 0 with
 * *out pointing into env_root, or -1 with a reason naming the field. */
int file_request_parse(json_t *env_root, struct file_request *out, char err[FILE_ERR_LEN]);

/* The error answer to a request (new reference). */
json_t *file_error_build(const char *object_id, const char *sha256, const char *reason);
/* 1 if the message on a data topic is a JSON error answer about file
 * sha256; *reason (malloc'd, caller frees) says why. 0 otherwise. */
int file_error_parse(const void *msg, size_t len, char sha256[FILE_HASH_HEX + 1], char **reason);

#endif
