/* libFuzzer target: the node's side of file transfers (file_fetch.c) fed
 * what a broker may deliver on its data topic. One transfer of a known
 * 1500-byte file into a file cache in a private directory, driven by a
 * sequence of records from the input: raw messages, chunks of the real file
 * at any offset and length (optionally with a byte flipped, a wrong size or
 * another file's name), ticks of a fake clock, reconnects, more and fewer
 * waiters. Checks: no crash, hang or leak; the outcome comes at most once
 * per transfer; a file the fetcher reports cached is whole and has the
 * right SHA-256; a failed transfer leaves no partial file.
 *
 * Record: u8 op, u8 a, u8 b, u16 length (little-endian), payload. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_cache.h"
#include "file_fetch.h"
#include "slog.h"
#include "stratus/sha256.h"

#define FILE_LEN 1500

static char dir[PATH_MAX];
static uint8_t file[FILE_LEN];
static uint8_t file_raw[32];
static char file_hex[FILE_HASH_HEX + 1];
static uint64_t clock_ms;
static int outcomes, ok_outcomes;

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)ctx;
    (void)topic;
    (void)payload;
    (void)len;
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static void on_done(void *ctx, const char *sha256, int ok, const char *reason)
{
    (void)ctx;
    if (!ok && (!reason || !*reason)) abort();
    if (strcmp(sha256, file_hex) != 0) return;
    outcomes++;
    if (ok) {
        ok_outcomes++;
        return;
    }
    if (!reason || !*reason) abort();
}

static void empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX + 256];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* The private directory goes when the fuzzer exits. */
static void remove_dir(void)
{
    char tmpdir[PATH_MAX + 8];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
    empty_dir(tmpdir);
    rmdir(tmpdir);
    empty_dir(dir);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    slog_set_level(100);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/stratus-fuzz-fetch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
    for (size_t i = 0; i < FILE_LEN; i++)
        file[i] = (uint8_t)(i * 7 + 3);
    sha256(file, FILE_LEN, file_raw);
    sha256_hex(file_raw, file_hex);
    return 0;
}

/* The cached file, if there, is whole and right. */
static void check_cached(void)
{
    char path[PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", dir, file_hex);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (ok_outcomes) abort();
        return;
    }
    uint8_t buf[FILE_LEN + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != FILE_LEN || memcmp(buf, file, FILE_LEN) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tmpdir[PATH_MAX + 8];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
    empty_dir(tmpdir);
    empty_dir(dir);
    clock_ms = 1000;
    outcomes = ok_outcomes = 0;
    struct file_cache *cache;
    char err[FILE_CACHE_ERR_LEN];
    if (file_cache_open(dir, 1 << 20, &cache, err) < 0) abort();
    struct file_fetch_options opt = {
        .realm = "realm",
        .node = "node",
        .max_size = 4096,
        .io = {.publish = fake_publish, .now_ms = fake_now, .done = on_done, .ctx = NULL},
    };
    struct file_fetcher *f;
    if (file_fetcher_new(&opt, cache, &f) < 0) abort();
    char reason[FILE_ERR_LEN];
    int started = 0;
    size_t i = 0;
    while (i + 5 <= size) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        size_t len = (size_t)data[i + 3] | (size_t)data[i + 4] << 8;
        i += 5;
        if (len > size - i) len = size - i;
        const uint8_t *p = data + i;
        i += len;
        switch (op % 8) {
        case 0: file_fetch_on_message(f, p, len); break;
        case 1: {
            /* A chunk of the real file at an offset from a and b, of a
             * length from len (the payload itself is not used). */
            uint64_t off = ((uint64_t)a << 3 | (b & 7)) * 8;
            size_t n = len ? (len * 13) % (FILE_LEN + 1) : (size_t)b * 6;
            if (off > FILE_LEN) off = FILE_LEN;
            if (n > FILE_LEN - off) n = FILE_LEN - off;
            uint8_t msg[FILE_CHUNK_HEADER + FILE_LEN];
            uint8_t name[32];
            memcpy(name, file_raw, 32);
            if (b & 0x40) name[0] ^= 1;
            file_chunk_header(msg, name, off, (b & 0x80) ? FILE_LEN + a : FILE_LEN);
            memcpy(msg + FILE_CHUNK_HEADER, file + off, n);
            if ((b & 0x20) && n) msg[FILE_CHUNK_HEADER + (a % n)] ^= 0x55;
            file_fetch_on_message(f, msg, FILE_CHUNK_HEADER + n);
            break;
        }
        case 2:
            clock_ms += (uint64_t)a * 100;
            file_fetch_tick(f);
            break;
        case 3: file_fetch_connected(f); break;
        case 4:
        case 5:
            if (file_fetch_start(f, file_hex, (op & 1) ? FILE_LEN : (uint64_t)a * b, reason) == 0)
                started++;
            else if (!reason[0])
                abort();
            break;
        case 6: file_fetch_forget(f, file_hex); break;
        default: {
            char hex[FILE_HASH_HEX + 2];
            size_t n = len < FILE_HASH_HEX + 1 ? len : FILE_HASH_HEX + 1;
            memcpy(hex, p, n);
            hex[n] = '\0';
            if (file_hash_is_valid(hex)) file_fetch_start(f, hex, 0, reason);
            break;
        }
        }
        if (outcomes > started) abort();
        check_cached();
    }
    if (!file_fetch_active(f)) {
        /* Nothing under way: no partial file of ours is left behind. */
        char part[PATH_MAX + 100];
        struct stat st;
        if (file_cache_partial_path(cache, file_hex, part, sizeof part) < 0) abort();
        if (stat(part, &st) == 0) abort();
    }
    file_fetcher_free(f);
    file_cache_close(cache);
    return 0;
}
