/* The wire rules of module file transfers (include/stratus/file_transfer.h):
 * file names, the binary chunk header, request and error envelopes. */
#include "stratus/file_transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/envelope.h"

int file_hash_is_valid(const char *hex)
{
    if (!hex) return 0;
    size_t i = 0;
    for (; hex[i]; i++) {
        char c = hex[i];
        if (i >= FILE_HASH_HEX || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return i == FILE_HASH_HEX;
}

static int hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

int file_hash_to_raw(const char *hex, uint8_t raw[32])
{
    if (!file_hash_is_valid(hex)) return -1;
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    return 0;
}

void file_hash_to_hex(const uint8_t raw[32], char hex[FILE_HASH_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[FILE_HASH_HEX] = '\0';
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void file_chunk_header(uint8_t out[FILE_CHUNK_HEADER], const uint8_t sha256[32], uint64_t offset,
                       uint64_t total)
{
    memcpy(out, FILE_CHUNK_MAGIC, 4);
    memcpy(out + 4, sha256, 32);
    put_be64(out + 36, offset);
    put_be64(out + 44, total);
}

int file_chunk_parse(const void *msg, size_t len, struct file_chunk *out, char err[FILE_ERR_LEN])
{
    const uint8_t *p = msg;
    memset(out, 0, sizeof *out);
    if (len < FILE_CHUNK_HEADER || memcmp(p, FILE_CHUNK_MAGIC, 4) != 0) {
        snprintf(err, FILE_ERR_LEN, "not a file chunk (%zu bytes)", len);
        return -1;
    }
    memcpy(out->sha256, p + 4, 32);
    out->offset = get_be64(p + 36);
    out->total = get_be64(p + 44);
    out->data = p + FILE_CHUNK_HEADER;
    out->len = len - FILE_CHUNK_HEADER;
    if (out->len > FILE_CHUNK_MAX) {
        snprintf(err, FILE_ERR_LEN, "a chunk of %zu bytes is over the limit of %zu", out->len,
                 FILE_CHUNK_MAX);
        return -1;
    }
    if (out->offset > out->total || out->len > out->total - out->offset) {
        snprintf(err, FILE_ERR_LEN, "a chunk at %llu of %zu bytes lies outside a file of %llu",
                 (unsigned long long)out->offset, out->len, (unsigned long long)out->total);
        return -1;
    }
    return 0;
}

json_t *file_request_build(const char *object_id, const char *sha256, const char *node,
                           uint64_t offset, uint64_t length)
{
    json_t *data = json_pack("{s:s, s:s, s:I, s:I}", "sha256", sha256, "node", node, "offset",
                             (json_int_t)offset, "length", (json_int_t)length);
    return data ? envelope_request(object_id, "file_get", data) : NULL;
}

static int topic_level_is_valid(const char *s)
{
    return s && *s && !strpbrk(s, "/+#") && strlen(s) <= 128;
}

int file_request_parse(json_t *root, struct file_request *out, char err[FILE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_t *data = json_object_get(root, "data");
    out->object_id = json_string_value(json_object_get(root, "object_id"));
    out->sha256 = json_string_value(json_object_get(data, "sha256"));
    out->node = json_string_value(json_object_get(data, "node"));
    json_t *off = json_object_get(data, "offset"), *length = json_object_get(data, "length");
    if (!file_hash_is_valid(out->sha256)) {
        snprintf(err, FILE_ERR_LEN, "field 'data.sha256' must be 64 lower-case hex digits");
        return -1;
    }
    if (!topic_level_is_valid(out->node)) {
        snprintf(err, FILE_ERR_LEN,
                 "field 'data.node' must be one topic level (at most 128 bytes, no / + #)");
        return -1;
    }
    if (!json_is_integer(off) || json_integer_value(off) < 0) {
        snprintf(err, FILE_ERR_LEN, "field 'data.offset' must be an integer >= 0");
        return -1;
    }
    if (!json_is_integer(length) || json_integer_value(length) < 1 ||
        (uint64_t)json_integer_value(length) > FILE_REQUEST_MAX) {
        snprintf(err, FILE_ERR_LEN, "field 'data.length' must be an integer within 1..%llu",
                 (unsigned long long)FILE_REQUEST_MAX);
        return -1;
    }
    out->offset = (uint64_t)json_integer_value(off);
    out->length = (uint64_t)json_integer_value(length);
    return 0;
}

json_t *file_error_build(const char *object_id, const char *sha256, const char *reason)
{
    return envelope_response(object_id, "file_get", 0,
                             json_pack("{s:s, s:s}", "sha256", sha256, "reason", reason));
}

int file_error_parse(const void *msg, size_t len, char sha256[FILE_HASH_HEX + 1], char **reason)
{
    *reason = NULL;
    if (!len || ((const char *)msg)[0] != '{') return 0;
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(msg, len, &env, err) < 0) return 0;
    json_t *details = json_object_get(env.data, "details");
    const char *hash = json_string_value(json_object_get(details, "sha256"));
    const char *why = json_string_value(json_object_get(details, "reason"));
    int found = env.type == ENVELOPE_RESP && !strcmp(env.action, "file_get") &&
                file_hash_is_valid(hash) && why;
    if (found) {
        memcpy(sha256, hash, FILE_HASH_HEX + 1);
        *reason = strdup(why);
        if (!*reason) found = 0;
    }
    envelope_clear(&env);
    return found;
}
