/* Pub/sub channels of one module, the host side (PROTOCOL.md §6): the module
 * opens a channel with the host function `stratus.channel_open` (the guest
 * header is include/stratus/channel.h) and gets a WASI descriptor on which
 * one fd_write publishes one message and fd_read takes the next message.
 *
 * Who touches what: the module's thread opens, writes, reads and closes
 * channels (through the engine and WASI); the runtime's main thread delivers
 * the messages that arrive from the manager. One mutex per module guards the
 * channel table and the message queues between the two.
 *
 * Ownership: a channel_host lives inside its module (module.h); it borrows
 * the module's spec and counters, and owns its channels, their queues and
 * their eventfds. The WASI context that holds a channel's descriptor closes
 * it (vfd close callback) before channel_host_destroy runs. */
#ifndef STRATUS_CHANNEL_HOST_H
#define STRATUS_CHANNEL_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module_spec.h"
#include "stratus/wasi.h"
#include "stratus/wasm.h"

/* Channel 0 is the module's standard I/O; the module's own channels take
 * the numbers above it. */
#define CHANNEL_STDIO 0
#define CHANNEL_LIMIT 256

/* Bounds of what waits for a module that does not read: past them the
 * oldest messages of that channel are dropped (and the drop logged). */
#define CHANNEL_QUEUE_MESSAGES 1024
#define CHANNEL_QUEUE_BYTES (16u << 20)

/* The longest topic: MQTT's limit, less the open frame's two bytes. */
#define CHANNEL_TOPIC_MAX 65533

/* The largest message a module may publish (the manager's frame cap). */
#define CHANNEL_MESSAGE_MAX ((16u << 20) - 1)

/* Usage figures of a module (keepalive `active`, profile ch_in/ch_out). */
struct channel_counters {
    atomic_uint_fast32_t ch_in, ch_out;
    atomic_llong last_active_ms; /* CLOCK_MONOTONIC ms of the last message, -1 before any */
};

struct module_channel;

struct channel_host {
    int index; /* the module's index on the manager socket */
    const struct module_spec *spec;
    bool free_topics;  /* topics outside the declared channels allowed */
    const char *realm; /* for the open rule (topic.h); borrowed */
    struct channel_counters *counters;
    swasi_ctx *ctx; /* set by the module thread while a context exists */
    pthread_mutex_t lock;
    struct module_channel *open[CHANNEL_LIMIT]; /* by number; [0] unused */
    long long last_drop_log_ms;
};

/* Prepares `host` for module `index`. `spec`, `realm` and `counters` must
 * outlive it. */
void channel_host_init(struct channel_host *host, int index, const struct module_spec *spec,
                       const char *realm, bool free_topics, struct channel_counters *counters);

/* Frees whatever channel is still open (normally none). */
void channel_host_destroy(struct channel_host *host);

/* Defines `stratus.channel_open` on `linker`. host->ctx must be set before
 * the module runs. Returns the linker's status. */
sw_status channel_host_link(struct channel_host *host, sw_linker *linker);

/* Main thread: a message for channel `number` arrived from the manager.
 * Messages for channels that are closed or not readable are dropped. */
void channel_host_deliver(struct channel_host *host, uint8_t number, const uint8_t *data,
                          size_t len);

/* Sends the manager an open-channel frame for module `index` (PROTOCOL.md
 * §6): channel `number` with CHANNEL_* `flags` on `topic` (tlen bytes, at
 * most CHANNEL_TOPIC_MAX). Returns 0, or -1 when the link is gone. */
int channel_send_open(int index, uint8_t number, uint8_t flags, const char *topic, size_t tlen);

/* Records a message in or out on the counters (any thread). */
void channel_counters_note(struct channel_counters *c, bool out);

#endif
