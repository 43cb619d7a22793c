/* Fetching module files over MQTT into the node's file cache (the node's
 * side of docs/protocol.md "Module files"): one transfer per file however
 * many modules wait for it, a sliding window of requested bytes (at most
 * FILE_REQUEST_MAX outstanding, asked for again in halves as chunks come
 * in), so that a transfer never holds more of the link than its window;
 * resumption from the bytes already received (after a lost chunk, a silent
 * orchestrator, a reconnect, or a restart of the manager: the partial file
 * stays in the cache's tmp directory); the SHA-256 of the whole file checked
 * before it enters the cache.
 *
 * Protocol logic only: publishing, the clock and the outcome go through
 * struct file_fetch_io, so tests drive it with fakes (as registration.h).
 * Runs on the manager's thread. Cost: O(transfers) per message and tick. */
#ifndef STRATUS_MANAGER_FILE_FETCH_H
#define STRATUS_MANAGER_FILE_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/file_transfer.h"

struct file_cache;
struct file_fetcher;

/* A transfer that made no progress for this long asks again from where it
 * is; after FILE_FETCH_TRIES silent periods in a row it fails. */
#define FILE_FETCH_STALL_MS 2000
#define FILE_FETCH_TRIES 8

struct file_fetch_io {
    /* Publish a request (bytes of JSON) on topic; 0 if it went out. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len);
    uint64_t (*now_ms)(void *ctx);
    /* The transfer of sha256 ended: ok 1 means the file is in the cache,
     * pinned once for every waiter file_fetch_start counted (the callee
     * hands the pins on); ok 0 comes with a reason and nothing cached. */
    void (*done)(void *ctx, const char *sha256, int ok, const char *reason);
    void *ctx;
};

struct file_fetch_options {
    const char *realm;
    const char *node;  /* the manager's UUID: chunks come on proc/file/data/{node} */
    uint64_t max_size; /* largest file taken; 0: FILE_SIZE_DEFAULT_MAX */
    struct file_fetch_io io;
};

/* The cache is borrowed and must outlive the fetcher. */
int file_fetcher_new(const struct file_fetch_options *opt, struct file_cache *cache,
                     struct file_fetcher **out);
/* Abandons transfers under way (their partial files stay for a resume). */
void file_fetcher_free(struct file_fetcher *f);

/* The data topic to subscribe to (borrowed). */
const char *file_fetcher_topic(const struct file_fetcher *f);

/* One more waiter for sha256 (size: its size when the create says, else
 * 0): starts the transfer unless one is under way. Returns 0, or -1 with a
 * reason (a size over the limits, no memory, the partial file cannot be
 * made). */
int file_fetch_start(struct file_fetcher *f, const char *sha256, uint64_t size,
                     char reason[FILE_ERR_LEN]);
/* One waiter fewer (a module deleted while it waited); the transfer goes
 * on, for the cache. */
void file_fetch_forget(struct file_fetcher *f, const char *sha256);

/* A message on the data topic: a chunk or an error answer. */
void file_fetch_on_message(struct file_fetcher *f, const void *payload, size_t len);
/* Ask again for stalled transfers, fail those silent too long. Returns the
 * time of the next deadline (UINT64_MAX: no transfer). */
uint64_t file_fetch_tick(struct file_fetcher *f);
/* The broker connection is (back) up: every transfer asks again now. */
void file_fetch_connected(struct file_fetcher *f);

/* Transfers under way, and bytes received by all transfers so far. */
size_t file_fetch_active(const struct file_fetcher *f);
uint64_t file_fetch_bytes(const struct file_fetcher *f);

#endif
