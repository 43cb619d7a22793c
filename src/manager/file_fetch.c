/* The node's file transfers over MQTT (see file_fetch.h): a list of
 * transfers, each writing in order into its partial file while hashing. */
#define _GNU_SOURCE
#include "file_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_cache.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/sha256.h"
#include "stratus/topic.h"

struct transfer {
    char hex[FILE_HASH_HEX + 1];
    uint8_t raw[32];
    char partial[PATH_MAX];
    int fd;
    uint64_t received;      /* bytes written and hashed, in order */
    uint64_t requested_end; /* end of the bytes asked for so far */
    uint64_t total;         /* the file's size; 0 until known */
    uint64_t asked_from;    /* offset of the last request made after a gap */
    uint64_t last_progress; /* ms */
    int tries;              /* silent periods in a row */
    int waiters;
    sha256_state sha;
    struct transfer *next;
};

struct file_fetcher {
    char *realm, *node;
    char topic[TOPIC_LAYOUT_MAX], request_topic[TOPIC_LAYOUT_MAX];
    uint64_t max_size, bytes;
    struct file_fetch_io io;
    struct file_cache *cache;
    struct transfer *list;
    size_t n;
};

int file_fetcher_new(const struct file_fetch_options *opt, struct file_cache *cache,
                     struct file_fetcher **out)
{
    *out = NULL;
    struct file_fetcher *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->realm = strdup(opt->realm);
    f->node = strdup(opt->node);
    f->max_size = opt->max_size ? opt->max_size : FILE_SIZE_DEFAULT_MAX;
    f->io = opt->io;
    f->cache = cache;
    if (!f->realm || !f->node ||
        topic_format(f->topic, sizeof f->topic, opt->realm, TOPIC_FILE_DATA, opt->node) < 0 ||
        topic_format(f->request_topic, sizeof f->request_topic, opt->realm, TOPIC_FILE_GET, NULL) <
            0) {
        file_fetcher_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

static void transfer_free(struct transfer *t)
{
    if (t->fd >= 0) close(t->fd);
    free(t);
}

void file_fetcher_free(struct file_fetcher *f)
{
    if (!f) return;
    while (f->list) {
        struct transfer *t = f->list;
        f->list = t->next;
        transfer_free(t);
    }
    free(f->realm);
    free(f->node);
    free(f);
}

const char *file_fetcher_topic(const struct file_fetcher *f)
{
    return f->topic;
}

static struct transfer *find(const struct file_fetcher *f, const char *hex)
{
    for (struct transfer *t = f->list; t; t = t->next)
        if (!strcmp(t->hex, hex)) return t;
    return NULL;
}

static struct transfer *find_raw(const struct file_fetcher *f, const uint8_t raw[32])
{
    for (struct transfer *t = f->list; t; t = t->next)
        if (!memcmp(t->raw, raw, 32)) return t;
    return NULL;
}

static void unlink_transfer(struct file_fetcher *f, struct transfer *t)
{
    for (struct transfer **p = &f->list; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            f->n--;
            return;
        }
}

/* Ask for [from, from + length), length capped by the window and the end. */
static void request(struct file_fetcher *f, struct transfer *t, uint64_t from, uint64_t length)
{
    if (length > FILE_REQUEST_MAX) length = FILE_REQUEST_MAX;
    if (t->total && from + length > t->total) length = t->total > from ? t->total - from : 0;
    if (!length) length = 1; /* at the end: the answer is an empty chunk that says so */
    json_t *msg = file_request_build(NULL, t->hex, f->node, from, length);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (text) f->io.publish(f->io.ctx, f->request_topic, text, strlen(text));
    free(text);
    t->requested_end = from + length; /* what lies beyond was asked for before a gap */
}

/* The transfer ends without a file: nothing of it is kept. */
static void fail(struct file_fetcher *f, struct transfer *t, const char *reason)
{
    unlink_transfer(f, t);
    unlink(t->partial);
    slog(SLOG_WARNING, "files", "transfer of %s failed: %s", t->hex, reason);
    char hex[FILE_HASH_HEX + 1];
    memcpy(hex, t->hex, sizeof hex);
    transfer_free(t);
    f->io.done(f->io.ctx, hex, 0, reason);
}

static void finish(struct file_fetcher *f, struct transfer *t)
{
    uint8_t digest[32];
    sha256_final(&t->sha, digest);
    if (memcmp(digest, t->raw, 32) != 0) {
        char got[FILE_HASH_HEX + 1], reason[FILE_ERR_LEN];
        file_hash_to_hex(digest, got);
        snprintf(reason, sizeof reason,
                 "the transfer of file %.16s... was corrupt (the received bytes have SHA-256 "
                 "%.16s...); nothing was cached",
                 t->hex, got);
        fail(f, t, reason);
        return;
    }
    if (fsync(t->fd) < 0) {
        char reason[FILE_ERR_LEN];
        snprintf(reason, sizeof reason, "cannot write file %.16s... to the cache: %s", t->hex,
                 strerror(errno));
        fail(f, t, reason);
        return;
    }
    close(t->fd);
    t->fd = -1;
    char err[FILE_CACHE_ERR_LEN];
    if (file_cache_install(f->cache, t->hex, t->total, t->waiters, err) < 0) {
        fail(f, t, err);
        return;
    }
    unlink_transfer(f, t);
    slog(SLOG_INFO, "files", "file %s (%llu bytes) fetched into the cache", t->hex,
         (unsigned long long)t->total);
    char hex[FILE_HASH_HEX + 1];
    memcpy(hex, t->hex, sizeof hex);
    transfer_free(t);
    f->io.done(f->io.ctx, hex, 1, NULL);
}

/* Take the bytes a partial file already holds (a resumed transfer). */
static int resume(struct transfer *t, uint64_t size)
{
    struct stat st;
    if (fstat(t->fd, &st) < 0) return -1;
    uint64_t have = (uint64_t)st.st_size;
    if (size && have > size) {
        if (ftruncate(t->fd, 0) < 0) return -1;
        have = 0;
    }
    uint8_t buf[65536];
    uint64_t off = 0;
    while (off < have) {
        ssize_t n = pread(t->fd, buf, sizeof buf, (off_t)off);
        if (n <= 0) break;
        sha256_update(&t->sha, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (off < have && ftruncate(t->fd, (off_t)off) < 0) return -1;
    t->received = off;
    return 0;
}

static int check_size(const struct file_fetcher *f, const char *hex, uint64_t size,
                      char reason[FILE_ERR_LEN])
{
    if (size > f->max_size) {
        snprintf(reason, FILE_ERR_LEN,
                 "file %.16s... is %llu bytes, over this node's limit of %llu", hex,
                 (unsigned long long)size, (unsigned long long)f->max_size);
        return -1;
    }
    if (size > file_cache_limit(f->cache)) {
        snprintf(reason, FILE_ERR_LEN,
                 "file %.16s... is %llu bytes, larger than this node's file cache (%llu)", hex,
                 (unsigned long long)size, (unsigned long long)file_cache_limit(f->cache));
        return -1;
    }
    return 0;
}

int file_fetch_start(struct file_fetcher *f, const char *sha256, uint64_t size,
                     char reason[FILE_ERR_LEN])
{
    struct transfer *t = find(f, sha256);
    if (t) {
        t->waiters++;
        return 0;
    }
    if (check_size(f, sha256, size, reason) < 0) return -1;
    t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(reason, FILE_ERR_LEN, "out of memory");
        return -1;
    }
    t->fd = -1;
    memcpy(t->hex, sha256, FILE_HASH_HEX + 1);
    if (file_hash_to_raw(sha256, t->raw) < 0 ||
        file_cache_partial_path(f->cache, sha256, t->partial, sizeof t->partial) < 0) {
        snprintf(reason, FILE_ERR_LEN, "invalid file name");
        transfer_free(t);
        return -1;
    }
    sha256_init(&t->sha);
    t->fd = open(t->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (t->fd < 0 || resume(t, size) < 0) {
        snprintf(reason, FILE_ERR_LEN, "cannot write %s: %s", t->partial, strerror(errno));
        transfer_free(t);
        return -1;
    }
    if (t->received)
        slog(SLOG_INFO, "files", "transfer of %s resumes at %llu bytes", sha256,
             (unsigned long long)t->received);
    t->total = size;
    t->waiters = 1;
    t->asked_from = UINT64_MAX;
    t->last_progress = f->io.now_ms(f->io.ctx);
    t->next = f->list;
    f->list = t;
    f->n++;
    request(f, t, t->received, FILE_REQUEST_MAX);
    return 0;
}

void file_fetch_forget(struct file_fetcher *f, const char *sha256)
{
    struct transfer *t = find(f, sha256);
    if (t && t->waiters > 0) t->waiters--;
}

static void on_chunk(struct file_fetcher *f, const struct file_chunk *c)
{
    struct transfer *t = find_raw(f, c->sha256);
    if (!t) return; /* an answer to a transfer that ended */
    if (t->total && c->total != t->total) {
        char reason[FILE_ERR_LEN];
        snprintf(reason, sizeof reason,
                 "file %.16s... is %llu bytes at the orchestrator, not %llu as the create said",
                 t->hex, (unsigned long long)c->total, (unsigned long long)t->total);
        fail(f, t, reason);
        return;
    }
    if (!t->total) {
        char reason[FILE_ERR_LEN];
        if (check_size(f, t->hex, c->total, reason) < 0) {
            fail(f, t, reason);
            return;
        }
        t->total = c->total;
    }
    if (c->offset != t->received) {
        /* A repeat (before received) is dropped; a gap (a chunk lost on
         * the way) asks again from where the file is, once per gap. */
        if (c->offset > t->received && t->asked_from != t->received) {
            t->asked_from = t->received;
            request(f, t, t->received, FILE_REQUEST_MAX);
        }
        return;
    }
    size_t off = 0;
    while (off < c->len) {
        ssize_t n = pwrite(t->fd, c->data + off, c->len - off, (off_t)(t->received + off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            char reason[FILE_ERR_LEN];
            snprintf(reason, sizeof reason, "cannot write %s: %s", t->partial,
                     n < 0 ? strerror(errno) : "no space");
            fail(f, t, reason);
            return;
        }
        off += (size_t)n;
    }
    sha256_update(&t->sha, c->data, c->len);
    t->received += c->len;
    f->bytes += c->len;
    t->tries = 0;
    t->last_progress = f->io.now_ms(f->io.ctx);
    if (t->received == t->total) {
        finish(f, t);
        return;
    }
    /* Keep up to a window asked for: a new half when half has come in. */
    uint64_t half = FILE_REQUEST_MAX / 2;
    if (t->requested_end < t->total && t->requested_end - t->received <= half)
        request(f, t, t->requested_end, half);
}

void file_fetch_on_message(struct file_fetcher *f, const void *payload, size_t len)
{
    struct file_chunk c;
    char err[FILE_ERR_LEN];
    if (file_chunk_parse(payload, len, &c, err) == 0) {
        on_chunk(f, &c);
        return;
    }
    char hex[FILE_HASH_HEX + 1], *why = NULL;
    if (file_error_parse(payload, len, hex, &why)) {
        struct transfer *t = find(f, hex);
        if (t) {
            char reason[FILE_ERR_LEN];
            snprintf(reason, sizeof reason, "the orchestrator cannot send file %.16s...: %.180s",
                     hex, why);
            fail(f, t, reason);
        }
        free(why);
        return;
    }
    slog(SLOG_DEBUG, "files", "ignored a message on %s: %s", f->topic, err);
}

uint64_t file_fetch_tick(struct file_fetcher *f)
{
    uint64_t now = f->io.now_ms(f->io.ctx), next = UINT64_MAX;
    struct transfer *t = f->list;
    while (t) {
        struct transfer *after = t->next;
        if (now - t->last_progress >= FILE_FETCH_STALL_MS) {
            if (++t->tries >= FILE_FETCH_TRIES) {
                char reason[FILE_ERR_LEN];
                snprintf(reason, sizeof reason,
                         "no part of file %.16s... came from the orchestrator for %.0f s (%llu "
                         "of %llu bytes received)",
                         t->hex, FILE_FETCH_TRIES * FILE_FETCH_STALL_MS / 1000.0,
                         (unsigned long long)t->received, (unsigned long long)t->total);
                fail(f, t, reason);
                t = after;
                continue;
            }
            t->last_progress = now;
            t->asked_from = t->received;
            request(f, t, t->received, FILE_REQUEST_MAX);
        }
        uint64_t deadline = t->last_progress + FILE_FETCH_STALL_MS;
        if (deadline < next) next = deadline;
        t = after;
    }
    return next;
}

void file_fetch_connected(struct file_fetcher *f)
{
    uint64_t now = f->io.now_ms(f->io.ctx);
    for (struct transfer *t = f->list; t; t = t->next) {
        t->last_progress = now;
        t->asked_from = t->received;
        request(f, t, t->received, FILE_REQUEST_MAX);
    }
}

size_t file_fetch_active(const struct file_fetcher *f)
{
    return f->n;
}

uint64_t file_fetch_bytes(const struct file_fetcher *f)
{
    return f->bytes;
}
