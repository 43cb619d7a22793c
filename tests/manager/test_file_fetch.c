/* Unit tests of the node's file transfers and cache (file_fetch.c,
 * file_cache.c) with a fake clock and a fake publisher, in a private
 * directory: a whole transfer in order with the window never over
 * FILE_REQUEST_MAX; a gap asks again once, repeats are dropped; a stall
 * asks again and too many end the transfer; a corrupt file is not cached
 * and leaves no partial file; many waiters, one transfer; resumption from
 * a partial file; an error answer; size limits; the cache's LRU eviction
 * never of a pinned file, and its order kept across a reopen. */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "file_cache.h"
#include "file_fetch.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/sha256.h"

#define MAX_REQ 256

struct fake {
    uint64_t now;
    int nreq;
    uint64_t req_off[MAX_REQ], req_len[MAX_REQ];
    int done_calls, done_ok;
    char done_reason[256];
};

static struct fake F;
static char dir[64];

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)ctx;
    assert_string_equal(topic, "r/proc/file/get");
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    assert_int_equal(envelope_parse(payload, len, &env, err), 0);
    struct file_request req;
    char ferr[FILE_ERR_LEN];
    assert_int_equal(file_request_parse(env.root, &req, ferr), 0);
    assert_string_equal(req.node, "node-1");
    assert_true(F.nreq < MAX_REQ);
    F.req_off[F.nreq] = req.offset;
    F.req_len[F.nreq] = req.length;
    F.nreq++;
    envelope_clear(&env);
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return F.now;
}

static void fake_done(void *ctx, const char *sha256, int ok, const char *reason)
{
    (void)ctx;
    (void)sha256;
    F.done_calls++;
    F.done_ok = ok;
    snprintf(F.done_reason, sizeof F.done_reason, "%s", reason ? reason : "");
}

struct setup {
    struct file_cache *cache;
    struct file_fetcher *f;
    uint8_t *bytes;
    size_t len;
    uint8_t raw[32];
    char hex[65];
};

static void make_file(struct setup *s, size_t len)
{
    s->len = len;
    s->bytes = malloc(len);
    assert_non_null(s->bytes);
    for (size_t i = 0; i < len; i++)
        s->bytes[i] = (uint8_t)(i * 31 + (i >> 9));
    sha256(s->bytes, len, s->raw);
    sha256_hex(s->raw, s->hex);
}

static void open_all(struct setup *s, uint64_t limit, uint64_t max_size)
{
    char err[FILE_CACHE_ERR_LEN];
    assert_int_equal(file_cache_open(dir, limit, &s->cache, err), 0);
    struct file_fetch_options o = {
        .realm = "r",
        .node = "node-1",
        .max_size = max_size,
        .io = {.publish = fake_publish, .now_ms = fake_now, .done = fake_done, .ctx = NULL},
    };
    assert_int_equal(file_fetcher_new(&o, s->cache, &s->f), 0);
    assert_string_equal(file_fetcher_topic(s->f), "r/proc/file/data/node-1");
}

static void close_all(struct setup *s)
{
    file_fetcher_free(s->f);
    file_cache_close(s->cache);
    s->f = NULL;
    s->cache = NULL;
}

/* The chunk [off, off + n) of s's file (n capped at the end). */
static void send_chunk(struct setup *s, uint64_t off, size_t n, int flip)
{
    if (off + n > s->len) n = s->len - off;
    uint8_t *msg = malloc(FILE_CHUNK_HEADER + n + 1);
    file_chunk_header(msg, s->raw, off, s->len);
    memcpy(msg + FILE_CHUNK_HEADER, s->bytes + off, n);
    if (flip && n) msg[FILE_CHUNK_HEADER] ^= 1;
    file_fetch_on_message(s->f, msg, FILE_CHUNK_HEADER + n);
    free(msg);
}

static int partial_exists(struct setup *s)
{
    char p[PATH_MAX];
    assert_int_equal(file_cache_partial_path(s->cache, s->hex, p, sizeof p), 0);
    struct stat st;
    return stat(p, &st) == 0;
}

static int cached_exists(const char *hex)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, hex);
    struct stat st;
    return stat(p, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    F.now = 1000;
    snprintf(dir, sizeof dir, "/tmp/stratus-fetch-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Serve every request in order, as an orchestrator would, until done. */
static void serve_all(struct setup *s, int *served)
{
    while (*served < F.nreq && !F.done_calls) {
        uint64_t off = F.req_off[*served], end = off + F.req_len[*served];
        (*served)++;
        for (uint64_t o = off; o < end && o < s->len && !F.done_calls; o += FILE_CHUNK_MAX)
            send_chunk(s, o, (size_t)(end - o < FILE_CHUNK_MAX ? end - o : FILE_CHUNK_MAX), 0);
    }
}

static void test_whole_transfer_window(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 40 * FILE_CHUNK_MAX + 1234);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    assert_int_equal(F.nreq, 1);
    assert_int_equal(F.req_off[0], 0);
    assert_int_equal(F.req_len[0], FILE_REQUEST_MAX);
    /* Feed chunk by chunk: what is asked for and not received never
     * exceeds one window. */
    uint64_t received = 0;
    int served = 0;
    while (!F.done_calls) {
        send_chunk(&s, received, FILE_CHUNK_MAX, 0);
        received += FILE_CHUNK_MAX;
        if (received > s.len) received = s.len;
        uint64_t asked_end = F.req_off[F.nreq - 1] + F.req_len[F.nreq - 1];
        assert_true(asked_end - received <= FILE_REQUEST_MAX);
        served++;
        assert_true(served < 100);
    }
    assert_int_equal(F.done_ok, 1);
    assert_int_equal(file_fetch_active(s.f), 0);
    assert_int_equal(file_fetch_bytes(s.f), s.len);
    assert_true(cached_exists(s.hex));
    assert_false(partial_exists(&s));
    /* Pinned once for its waiter; then it is an ordinary cached file. */
    assert_int_equal(file_cache_pins(s.cache, s.hex), 1);
    file_cache_release(s.cache, s.hex);
    assert_int_equal(file_cache_pins(s.cache, s.hex), 0);
    assert_int_equal(file_cache_acquire(s.cache, s.hex), 1);
    file_cache_release(s.cache, s.hex);
    close_all(&s);
    free(s.bytes);
}

static void test_gap_repeat_stall(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 3 * FILE_CHUNK_MAX);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    assert_int_equal(file_fetch_start(s.f, s.hex, 0, reason), 0);
    send_chunk(&s, 0, FILE_CHUNK_MAX, 0);
    /* Chunk 1 is lost: chunk 2 makes it ask again from 1, once. */
    int before = F.nreq;
    send_chunk(&s, 2 * FILE_CHUNK_MAX, FILE_CHUNK_MAX, 0);
    assert_int_equal(F.nreq, before + 1);
    assert_int_equal(F.req_off[F.nreq - 1], FILE_CHUNK_MAX);
    send_chunk(&s, 2 * FILE_CHUNK_MAX, FILE_CHUNK_MAX, 0);
    assert_int_equal(F.nreq, before + 1);
    /* A repeat of chunk 0 is dropped. */
    send_chunk(&s, 0, FILE_CHUNK_MAX, 0);
    assert_int_equal(F.done_calls, 0);
    /* Silence: after the stall period it asks again from where it is. */
    F.now += FILE_FETCH_STALL_MS - 1;
    file_fetch_tick(s.f);
    assert_int_equal(F.nreq, before + 1);
    F.now += 1;
    uint64_t next = file_fetch_tick(s.f);
    assert_int_equal(F.nreq, before + 2);
    assert_int_equal(F.req_off[F.nreq - 1], FILE_CHUNK_MAX);
    assert_int_equal(next, F.now + FILE_FETCH_STALL_MS);
    /* A reconnect asks again at once. */
    file_fetch_connected(s.f);
    assert_int_equal(F.nreq, before + 3);
    send_chunk(&s, FILE_CHUNK_MAX, FILE_CHUNK_MAX, 0);
    send_chunk(&s, 2 * FILE_CHUNK_MAX, FILE_CHUNK_MAX, 0);
    assert_int_equal(F.done_calls, 1);
    assert_int_equal(F.done_ok, 1);
    close_all(&s);
    free(s.bytes);
}

static void test_silent_orchestrator_fails(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, FILE_CHUNK_MAX + 10);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    send_chunk(&s, 0, FILE_CHUNK_MAX, 0);
    for (int i = 0; i < FILE_FETCH_TRIES && !F.done_calls; i++) {
        F.now += FILE_FETCH_STALL_MS;
        file_fetch_tick(s.f);
    }
    assert_int_equal(F.done_calls, 1);
    assert_int_equal(F.done_ok, 0);
    assert_non_null(strstr(F.done_reason, "came from the orchestrator"));
    assert_false(partial_exists(&s));
    assert_false(cached_exists(s.hex));
    assert_int_equal(file_fetch_tick(s.f), UINT64_MAX);
    close_all(&s);
    free(s.bytes);
}

static void test_corrupt_not_cached(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 2 * FILE_CHUNK_MAX);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    send_chunk(&s, 0, FILE_CHUNK_MAX, 0);
    send_chunk(&s, FILE_CHUNK_MAX, FILE_CHUNK_MAX, 1);
    assert_int_equal(F.done_calls, 1);
    assert_int_equal(F.done_ok, 0);
    assert_non_null(strstr(F.done_reason, "corrupt"));
    assert_false(cached_exists(s.hex));
    assert_false(partial_exists(&s));
    assert_int_equal(file_cache_count(s.cache), 0);
    close_all(&s);
    free(s.bytes);
}

static void test_many_waiters_one_transfer(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 5 * FILE_CHUNK_MAX);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    for (int i = 0; i < 20; i++)
        assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    assert_int_equal(F.nreq, 1);
    assert_int_equal(file_fetch_active(s.f), 1);
    /* One of them goes away (its module deleted): 19 pins. */
    file_fetch_forget(s.f, s.hex);
    int served = 0;
    serve_all(&s, &served);
    assert_int_equal(F.done_calls, 1);
    assert_int_equal(F.done_ok, 1);
    assert_int_equal(file_cache_pins(s.cache, s.hex), 19);
    assert_int_equal(file_fetch_bytes(s.f), s.len);
    close_all(&s);
    free(s.bytes);
}

static void test_resume_from_partial(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 4 * FILE_CHUNK_MAX);
    open_all(&s, 1 << 30, 0);
    char reason[FILE_ERR_LEN];
    assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    send_chunk(&s, 0, FILE_CHUNK_MAX, 0);
    send_chunk(&s, FILE_CHUNK_MAX, FILE_CHUNK_MAX, 0);
    /* The manager stops; the partial file stays. */
    close_all(&s);
    memset(&F, 0, sizeof F);
    F.now = 5000;
    open_all(&s, 1 << 30, 0);
    assert_true(partial_exists(&s));
    assert_int_equal(file_fetch_start(s.f, s.hex, s.len, reason), 0);
    assert_int_equal(F.nreq, 1);
    assert_int_equal(F.req_off[0], 2 * FILE_CHUNK_MAX);
    int served = 0;
    serve_all(&s, &served);
    assert_int_equal(F.done_ok, 1);
    assert_int_equal(file_fetch_bytes(s.f), 2 * FILE_CHUNK_MAX);
    assert_true(cached_exists(s.hex));
    close_all(&s);
    free(s.bytes);
}

static void test_error_answer_and_limits(void **state)
{
    (void)state;
    struct setup s = {0};
    make_file(&s, 3000);
    open_all(&s, 2000, 1000);
    char reason[FILE_ERR_LEN];
    /* Over the node's limit, or its cache's: refused before a request. */
    assert_int_equal(file_fetch_start(s.f, s.hex, 1500, reason), -1);
    assert_non_null(strstr(reason, "over this node's limit"));
    assert_int_equal(F.nreq, 0);
    close_all(&s);
    open_all(&s, 2000, 0);
    assert_int_equal(file_fetch_start(s.f, s.hex, 3000, reason), -1);
    assert_non_null(strstr(reason, "larger than this node's file cache"));
    /* Size unknown at the start: the first chunk says it, and it is too
     * big. */
    assert_int_equal(file_fetch_start(s.f, s.hex, 0, reason), 0);
    send_chunk(&s, 0, 100, 0);
    assert_int_equal(F.done_ok, 0);
    assert_non_null(strstr(F.done_reason, "larger than this node's file cache"));
    close_all(&s);
    /* The orchestrator's error answer ends the transfer with its reason. */
    memset(&F, 0, sizeof F);
    open_all(&s, 1 << 20, 0);
    assert_int_equal(file_fetch_start(s.f, s.hex, 3000, reason), 0);
    json_t *err = file_error_build("o", s.hex, "no such file in the module store");
    char *text = json_dumps(err, JSON_COMPACT);
    file_fetch_on_message(s.f, text, strlen(text));
    free(text);
    json_decref(err);
    assert_int_equal(F.done_calls, 1);
    assert_int_equal(F.done_ok, 0);
    assert_non_null(strstr(F.done_reason, "no such file in the module store"));
    assert_false(partial_exists(&s));
    /* Garbage and chunks of files no one fetches are ignored. */
    file_fetch_on_message(s.f, "junk", 4);
    send_chunk(&s, 0, 100, 0);
    assert_int_equal(F.done_calls, 1);
    close_all(&s);
    free(s.bytes);
}

/* Install a file of n bytes named like hex_seed into the cache directly. */
static void install(struct file_cache *c, int seed, size_t n, int pins, char hex[65])
{
    uint8_t *b = calloc(1, n);
    b[0] = (uint8_t)seed;
    uint8_t raw[32];
    sha256(b, n, raw);
    sha256_hex(raw, hex);
    char part[PATH_MAX];
    assert_int_equal(file_cache_partial_path(c, hex, part, sizeof part), 0);
    FILE *f = fopen(part, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
    char err[FILE_CACHE_ERR_LEN];
    assert_int_equal(file_cache_install(c, hex, n, pins, err), 0);
}

static void test_cache_lru_pins_reopen(void **state)
{
    (void)state;
    struct file_cache *c;
    char err[FILE_CACHE_ERR_LEN];
    assert_int_equal(file_cache_open(dir, 3000, &c, err), 0);
    char a[65], b[65], d[65], e[65];
    install(c, 1, 1000, 1, a); /* a pinned: in use */
    install(c, 2, 1000, 0, b);
    install(c, 3, 1000, 0, d);
    assert_int_equal(file_cache_used(c), 3000);
    /* Over the limit: b (least recently used of the unpinned) goes, a
     * (older but pinned) stays. */
    install(c, 4, 1000, 0, e);
    assert_true(cached_exists(a));
    assert_false(cached_exists(b));
    assert_true(cached_exists(d));
    assert_true(cached_exists(e));
    assert_int_equal(file_cache_acquire(c, b), 0);
    /* Everything pinned: the cache stays over its limit until released. */
    assert_int_equal(file_cache_acquire(c, d), 1);
    assert_int_equal(file_cache_acquire(c, e), 1);
    install(c, 5, 1000, 1, b);
    assert_int_equal(file_cache_count(c), 4);
    assert_true(file_cache_used(c) > file_cache_limit(c));
    file_cache_release(c, a); /* a is the least recently used: it goes */
    assert_false(cached_exists(a));
    assert_int_equal(file_cache_used(c), 3000);
    file_cache_release(c, d);
    file_cache_release(c, e);
    file_cache_release(c, b);
    /* e used last but one: after a reopen the order holds (modification
     * times), so a new file evicts d first. */
    assert_int_equal(file_cache_acquire(c, e), 1);
    file_cache_release(c, e);
    file_cache_close(c);
    assert_int_equal(file_cache_open(dir, 3000, &c, err), 0);
    assert_int_equal(file_cache_count(c), 3);
    char g[65];
    install(c, 6, 1000, 0, g);
    assert_false(cached_exists(d));
    assert_true(cached_exists(e));
    assert_true(cached_exists(g));
    file_cache_close(c);
}

int main(void)
{
    slog_set_level(100);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_transfer_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_repeat_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_orchestrator_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_waiters_one_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_answer_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_lru_pins_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
