/* libFuzzer target for the wire rules of module file transfers
 * (include/stratus/file_transfer.h): a message off a data topic as a chunk
 * (file_chunk_parse) and as an error answer (file_error_parse), and a
 * message off the request topic (envelope_parse, file_request_parse); file
 * names (file_hash_is_valid, file_hash_to_raw). Checks: a chunk that parses
 * lies inside its file and its header written again gives the same bytes;
 * a request that parses has valid fields and survives build and parse; every
 * refusal says why. Inputs starting with 'R' fill the fields of a request
 * envelope with fragments of the input, so the field checks are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_template.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"

static void check_chunk(const uint8_t *data, size_t size)
{
    struct file_chunk c;
    char err[FILE_ERR_LEN];
    if (file_chunk_parse(data, size, &c, err) < 0) {
        if (!memchr(err, '\0', sizeof err) || !err[0]) abort();
        return;
    }
    if (c.len > FILE_CHUNK_MAX || c.offset > c.total || c.len > c.total - c.offset) abort();
    if (c.data != data + FILE_CHUNK_HEADER || c.len != size - FILE_CHUNK_HEADER) abort();
    uint8_t head[FILE_CHUNK_HEADER];
    file_chunk_header(head, c.sha256, c.offset, c.total);
    if (memcmp(head, data, FILE_CHUNK_HEADER) != 0) abort();
}

static void check_error(const uint8_t *data, size_t size)
{
    char hex[FILE_HASH_HEX + 1], *reason = NULL;
    if (file_error_parse(data, size, hex, &reason)) {
        if (!reason || !file_hash_is_valid(hex)) abort();
    } else if (reason) {
        abort();
    }
    free(reason);
}

static void check_request(const char *text, size_t size)
{
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(text, size, &env, err) < 0) return;
    struct file_request r;
    char ferr[FILE_ERR_LEN];
    if (file_request_parse(env.root, &r, ferr) < 0) {
        if (!memchr(ferr, '\0', sizeof ferr) || !ferr[0]) abort();
        envelope_clear(&env);
        return;
    }
    uint8_t raw[32];
    char hex[FILE_HASH_HEX + 1];
    if (file_hash_to_raw(r.sha256, raw) < 0) abort();
    file_hash_to_hex(raw, hex);
    if (strcmp(hex, r.sha256) != 0) abort();
    if (!r.length || r.length > FILE_REQUEST_MAX || !*r.node || strpbrk(r.node, "/+#")) abort();
    /* Built again from its fields, it parses to the same request. */
    json_t *again = file_request_build(r.object_id, r.sha256, r.node, r.offset, r.length);
    struct file_request r2;
    if (!again || file_request_parse(again, &r2, ferr) < 0 || r2.offset != r.offset ||
        r2.length != r.length || strcmp(r2.node, r.node) != 0)
        abort();
    json_decref(again);
    envelope_clear(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'R') {
        static const char *tpl =
            "{\"object_id\":\"o\",\"action\":\"file_get\",\"type\":\"req\",\"data\":"
            "{\"sha256\":@,\"node\":@,\"offset\":@,\"length\":@}}";
        size_t len;
        char *text = fuzz_fill_template(tpl, data + 1, size - 1, &len);
        check_request(text, len);
        free(text);
        return 0;
    }
    check_chunk(data, size);
    check_error(data, size);
    check_request((const char *)data, size);
    char name[FILE_HASH_HEX + 2];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    uint8_t raw[32];
    if (file_hash_is_valid(name) != (file_hash_to_raw(name, raw) == 0)) abort();
    return 0;
}
