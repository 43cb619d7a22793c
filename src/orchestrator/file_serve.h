/* The orchestrator's side of file transfers over MQTT (docs/protocol.md
 * "Module files"): requests on {realm}/proc/file/get are answered with
 * chunks of the stored file on {realm}/proc/file/data/{node}.
 *
 * Flow control: chunks go out at QoS 1 and at most FILE_SERVE_INFLIGHT of
 * them (all transfers together) wait for the broker's acknowledgement at a
 * time; the requests waiting are served one chunk each in turn. So a large
 * file never queues more than a few MiB in front of the orchestrator's other
 * messages, and many nodes fetching at once share the link fairly. A node
 * asks again for whatever it misses, so a request dropped here (the queue
 * is bounded) costs time, not data.
 *
 * Test hook: with STRATUS_TEST_CORRUPT_CHUNK=N in the environment the N-th
 * chunk this process sends (counting from 1) has its first byte flipped.
 *
 * One thread (the orchestrator's). Ownership: the caller owns the server;
 * the store is borrowed and must outlive it. */
#ifndef STRATUS_ORCHESTRATOR_FILE_SERVE_H
#define STRATUS_ORCHESTRATOR_FILE_SERVE_H

#include <stddef.h>
#include <stdint.h>

struct file_store;
struct file_server;

#define FILE_SERVE_INFLIGHT 8
#define FILE_SERVE_QUEUE 1024

struct file_server_io {
    /* Publish at QoS 1; *mid gets the message id. 0 if it went out. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int *mid);
    void *ctx;
};

int file_server_new(const char *realm, struct file_store *store, const struct file_server_io *io,
                    struct file_server **out);
void file_server_free(struct file_server *s);

/* A message on {realm}/proc/file/get. */
void file_server_request(struct file_server *s, const void *payload, size_t len);
/* The broker acknowledged QoS 1 message mid (maybe not a chunk). */
void file_server_published(struct file_server *s, int mid);
/* A new connection: acknowledgements of the old one are not awaited. */
void file_server_connected(struct file_server *s);

/* Chunks and bytes sent so far; requests waiting. */
uint64_t file_server_chunks(const struct file_server *s);
uint64_t file_server_bytes(const struct file_server *s);
size_t file_server_waiting(const struct file_server *s);

#endif
