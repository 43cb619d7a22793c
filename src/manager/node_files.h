/* The manager's module files named by content: the node's file cache
 * (file_cache.h) and the transfers that fill it (file_fetch.h) tied to the
 * event loop and the MQTT link: the data topic's route, the transfers'
 * timer, and the runtimes told when a file they wait for is here.
 *
 * Runs on the manager's thread. Ownership: the manager owns it
 * (node_files_free); the loop and the link are borrowed. */
#ifndef STRATUS_MANAGER_NODE_FILES_H
#define STRATUS_MANAGER_NODE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/runtime_iface.h"

struct event_loop;
struct mq_link;
struct node_files;

struct node_files_options {
    const char *dir;      /* the cache directory */
    uint64_t cache_limit; /* bytes; 0: FILE_CACHE_DEFAULT_LIMIT */
    uint64_t max_size;    /* largest file; 0: FILE_SIZE_DEFAULT_MAX */
    const char *realm, *node;
    struct event_loop *loop;
    struct mq_link *mq;
    /* A transfer ended (see runtime_file_ready): called once per transfer;
     * the manager passes it to every runtime. */
    void (*ready)(void *ctx, const char *sha256, int ok, const char *reason);
    void *ctx;
};

/* Open the cache and subscribe to the data topic. Returns 0 and *out, or
 * -1 with a reason in err. */
int node_files_new(const struct node_files_options *opt, struct node_files **out,
                   char err[RUNTIME_REASON_LEN]);
void node_files_free(struct node_files *nf);

const char *node_files_dir(const struct node_files *nf);

/* runtime_host.file_acquire / file_release (ctx is the node_files). */
int node_files_acquire(struct node_files *nf, const char *sha256, uint64_t size,
                       char reason[RUNTIME_REASON_LEN]);
void node_files_release(struct node_files *nf, const char *sha256, int pinned);

/* The broker connection is (back) up. */
void node_files_connected(struct node_files *nf);

#endif
