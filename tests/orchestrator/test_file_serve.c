/* Unit tests of the orchestrator's module store and its file server
 * (file_store.c, file_serve.c) in a private directory with a fake
 * publisher: uploads taken only when the engine's loader takes them (its
 * message otherwise), over the size limit refused, a repeat only touched,
 * files found again after a reopen, retention removing only unused files;
 * requests answered with chunks that rebuild the file, at most
 * FILE_SERVE_INFLIGHT unacknowledged at a time, two transfers served in
 * turn, error answers for unknown files and offsets past the end, an empty
 * chunk at the end, bad requests ignored, a reconnect resuming. */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "file_serve.h"
#include "file_store.h"
#include "slog.h"

#define MAX_PUB 512

struct pub {
    char topic[128];
    uint8_t *payload;
    size_t len;
    int mid;
};

static struct pub pubs[MAX_PUB];
static int npub, next_mid;
static char dir[64];

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len, int *mid)
{
    (void)ctx;
    assert_true(npub < MAX_PUB);
    struct pub *p = &pubs[npub++];
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->payload = malloc(len ? len : 1);
    memcpy(p->payload, payload, len);
    p->len = len;
    p->mid = *mid = ++next_mid;
    return 0;
}

static void clear_pubs(void)
{
    for (int i = 0; i < npub; i++)
        free(pubs[i].payload);
    npub = 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stratus-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    npub = 0;
    next_mid = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_pubs();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* A valid module of about n bytes: the empty module plus a custom section
 * with pattern bytes (seed makes it unique). */
static uint8_t *module_bytes(size_t n, int seed, size_t *len)
{
    size_t pad = n > 32 ? n - 32 : 16;
    size_t body = 1 + 3 + pad;
    uint8_t *b = malloc(8 + 16 + pad);
    size_t o = 0;
    memcpy(b, "\0asm\1\0\0\0", 8);
    o = 8;
    b[o++] = 0;
    for (size_t v = body;; v >>= 7) {
        b[o++] = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
        if (!(v >> 7)) break;
    }
    b[o++] = 3;
    memcpy(b + o, "pad", 3);
    o += 3;
    for (size_t i = 0; i < pad; i++)
        b[o + i] = (uint8_t)(i * 13 + (size_t)seed);
    *len = o + pad;
    return b;
}

static void test_store_put_refuse_reopen_sweep(void **state)
{
    (void)state;
    struct file_store *fs;
    char err[FILE_STORE_ERR_LEN], hex[65], hex2[65];
    assert_int_equal(file_store_open(dir, 4096, &fs, err), 0);
    int created;
    /* Not WebAssembly: the loader's message. */
    assert_int_equal(file_store_put(fs, "hello", 5, "a.txt", 10, hex, &created, err), 400);
    assert_non_null(strstr(err, "magic"));
    assert_int_equal(file_store_put(fs, "\0asm\1\0\0\0\1\5", 10, NULL, 10, hex, &created, err),
                     400);
    assert_true(strlen(err) > 0);
    /* Over the limit. */
    size_t len;
    uint8_t *big = module_bytes(5000, 1, &len);
    assert_int_equal(file_store_put(fs, big, len, "big.wasm", 10, hex, &created, err), 413);
    free(big);
    assert_int_equal(file_store_count(fs), 0);
    /* A module: stored; again: only touched. */
    uint8_t *m = module_bytes(1000, 2, &len);
    assert_int_equal(file_store_put(fs, m, len, "m.wasm", 10, hex, &created, err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(file_store_put(fs, m, len, "other.wasm", 20, hex2, &created, err), 0);
    assert_int_equal(created, 0);
    assert_string_equal(hex, hex2);
    const struct file_info *f = file_store_find(fs, hex);
    assert_non_null(f);
    assert_string_equal(f->name, "m.wasm");
    assert_int_equal(f->size, len);
    free(m);
    uint8_t *m2 = module_bytes(500, 3, &len);
    assert_int_equal(file_store_put(fs, m2, len, "n.wasm", 30, hex2, &created, err), 0);
    free(m2);
    file_store_close(fs);
    /* Found again after a reopen, with their names. */
    assert_int_equal(file_store_open(dir, 4096, &fs, err), 0);
    assert_int_equal(file_store_count(fs), 2);
    assert_string_equal(file_store_find(fs, hex2)->name, "n.wasm");
    /* Retention: unused for long enough and not in use: removed. */
    file_store_touch(fs, hex, 1000);
    file_store_touch(fs, hex2, 1000);
    assert_int_equal(file_store_sweep(fs, 1050, 100, NULL, NULL), 0);
    file_store_touch(fs, hex2, 1100);
    assert_int_equal(file_store_sweep(fs, 1150, 100, NULL, NULL), 1);
    assert_null(file_store_find(fs, hex));
    assert_non_null(file_store_find(fs, hex2));
    assert_int_equal(file_store_remove(fs, hex2), 0);
    assert_int_equal(file_store_remove(fs, hex2), -1);
    assert_int_equal(file_store_count(fs), 0);
    file_store_close(fs);
}

static json_t *request(const char *hex, uint64_t off, uint64_t len)
{
    return file_request_build(NULL, hex, "node-1", off, len);
}

static void send_request(struct file_server *s, const char *hex, uint64_t off, uint64_t len)
{
    json_t *r = request(hex, off, len);
    char *text = json_dumps(r, JSON_COMPACT);
    file_server_request(s, text, strlen(text));
    free(text);
    json_decref(r);
}

static void test_serve_window_turns_errors(void **state)
{
    (void)state;
    struct file_store *fs;
    char err[FILE_STORE_ERR_LEN], a[65], b[65];
    assert_int_equal(file_store_open(dir, 64 << 20, &fs, err), 0);
    size_t alen, blen;
    uint8_t *ab = module_bytes(40 * FILE_CHUNK_MAX + 77, 4, &alen);
    uint8_t *bb = module_bytes(3 * FILE_CHUNK_MAX, 5, &blen);
    int created;
    assert_int_equal(file_store_put(fs, ab, alen, "a.wasm", 1, a, &created, err), 0);
    assert_int_equal(file_store_put(fs, bb, blen, "b.wasm", 1, b, &created, err), 0);
    struct file_server_io io = {.publish = fake_publish, .ctx = NULL};
    struct file_server *s;
    assert_int_equal(file_server_new("r", fs, &io, &s), 0);
    /* Two requests: at most FILE_SERVE_INFLIGHT chunks go out before the
     * broker acknowledges (all of a's, b came later). */
    send_request(s, a, 0, FILE_REQUEST_MAX);
    send_request(s, b, 0, FILE_REQUEST_MAX);
    assert_int_equal(npub, FILE_SERVE_INFLIGHT);
    assert_string_equal(pubs[0].topic, "r/proc/file/data/node-1");
    /* Acknowledge everything as it goes out; rebuild both files. */
    uint8_t *ra = calloc(1, alen), *rb = calloc(1, blen);
    uint64_t got_a = 0, got_b = 0;
    for (int i = 0; i < npub; i++) {
        struct file_chunk c;
        assert_int_equal(file_chunk_parse(pubs[i].payload, pubs[i].len, &c, err), 0);
        char hex[65];
        file_hash_to_hex(c.sha256, hex);
        if (!strcmp(hex, a)) {
            assert_int_equal(c.total, alen);
            memcpy(ra + c.offset, c.data, c.len);
            got_a += c.len;
        } else {
            assert_string_equal(hex, b);
            memcpy(rb + c.offset, c.data, c.len);
            got_b += c.len;
        }
        file_server_published(s, pubs[i].mid);
    }
    /* Once both waited, they were served in turn. */
    struct file_chunk c0, c1;
    assert_int_equal(file_chunk_parse(pubs[FILE_SERVE_INFLIGHT].payload,
                                      pubs[FILE_SERVE_INFLIGHT].len, &c0, err),
                     0);
    assert_int_equal(file_chunk_parse(pubs[FILE_SERVE_INFLIGHT + 1].payload,
                                      pubs[FILE_SERVE_INFLIGHT + 1].len, &c1, err),
                     0);
    assert_int_not_equal(memcmp(c0.sha256, c1.sha256, 32), 0);
    /* a's window was 16 chunks, b whole (3 chunks). */
    assert_int_equal(got_a, FILE_REQUEST_MAX);
    assert_int_equal(got_b, blen);
    assert_memory_equal(rb, bb, blen);
    assert_int_equal(file_server_waiting(s), 0);
    /* The rest of a; a reconnect in the middle forgets the awaited acks. */
    int start = npub;
    send_request(s, a, FILE_REQUEST_MAX, FILE_REQUEST_MAX);
    assert_int_equal(npub - start, FILE_SERVE_INFLIGHT);
    file_server_connected(s);
    assert_int_equal(npub - start, 2 * FILE_SERVE_INFLIGHT);
    for (int i = start; i < npub; i++)
        file_server_published(s, pubs[i].mid);
    send_request(s, a, 2 * FILE_REQUEST_MAX, FILE_REQUEST_MAX);
    for (int i = start; i < npub; i++) {
        struct file_chunk c;
        assert_int_equal(file_chunk_parse(pubs[i].payload, pubs[i].len, &c, err), 0);
        memcpy(ra + c.offset, c.data, c.len);
        if (i >= start + 2 * FILE_SERVE_INFLIGHT) file_server_published(s, pubs[i].mid);
    }
    assert_memory_equal(ra, ab, alen);
    assert_int_equal(file_server_bytes(s), alen + blen);
    /* At the end: an empty chunk that says the size. */
    start = npub;
    send_request(s, a, alen, 1);
    assert_int_equal(npub, start + 1);
    struct file_chunk end;
    assert_int_equal(file_chunk_parse(pubs[start].payload, pubs[start].len, &end, err), 0);
    assert_int_equal(end.len, 0);
    assert_int_equal(end.offset, alen);
    /* Errors: an unknown file, an offset past the end. */
    char unknown[65];
    memset(unknown, 'e', 64);
    unknown[64] = '\0';
    send_request(s, unknown, 0, 10);
    char hex[65], *reason;
    assert_int_equal(file_error_parse(pubs[npub - 1].payload, pubs[npub - 1].len, hex, &reason), 1);
    assert_string_equal(hex, unknown);
    assert_non_null(strstr(reason, "no such file"));
    free(reason);
    send_request(s, a, alen + 1, 10);
    assert_int_equal(file_error_parse(pubs[npub - 1].payload, pubs[npub - 1].len, hex, &reason), 1);
    assert_non_null(strstr(reason, "beyond"));
    free(reason);
    /* Bad requests: nothing sent. */
    int before = npub;
    file_server_request(s, "{", 1);
    file_server_request(s, "junk", 4);
    json_t *bad = file_request_build(NULL, a, "bad/node", 0, 10);
    char *text = json_dumps(bad, JSON_COMPACT);
    file_server_request(s, text, strlen(text));
    free(text);
    json_decref(bad);
    assert_int_equal(npub, before);
    file_server_free(s);
    file_store_close(fs);
    free(ab);
    free(bb);
    free(ra);
    free(rb);
}

int main(void)
{
    slog_set_level(100);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_put_refuse_reopen_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_window_turns_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
