/* The outbox of an MQTT link: what a daemon must publish while the broker is
 * unreachable, kept in order and sent after the reconnect (PROTOCOL.md,
 * docs/protocol.md "Outbox").
 *
 * Two classes of message share one FIFO:
 *  - control messages (source NULL: exits, acknowledgements, unregisters,
 *    errors) are always kept;
 *  - output (a non-NULL source, e.g. a module's UUID: its stdout, channel
 *    messages, profiles) is bounded per source and in total; past a bound
 *    the oldest output (of that source, or overall) is dropped, counted and
 *    reported through the drop callback.
 *
 * Control messages can be written to a spill file and read back, so that a
 * daemon restarted during an outage still sends them.
 *
 * Plain data structure: no I/O except the spill functions, no clock. Costs:
 * push, pop and each drop are O(1) plus the source lookup (a hash of the
 * source string); the spill functions are O(queued bytes). */
#ifndef STRATUS_BASE_OUTBOX_H
#define STRATUS_BASE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define OUTBOX_DEFAULT_TOTAL ((size_t)4 << 20)      /* output kept in all */
#define OUTBOX_DEFAULT_PER_SOURCE ((size_t)1 << 20) /* output kept per source */

/* One queued message; every pointer is owned by the outbox. */
struct outbox_msg {
    char *topic;
    uint8_t *payload;
    size_t len;
    int qos;
    const char *source; /* NULL for control messages */
};

/* Output of `source` was dropped; `dropped` counts this source's drops since
 * its output last left the outbox. */
typedef void (*outbox_drop_fn)(void *ctx, const char *source, uint64_t dropped);

struct outbox_options {
    size_t output_total;      /* bytes of output kept in all; 0 = none kept */
    size_t output_per_source; /* bytes of output kept per source; 0 = total */
    outbox_drop_fn dropped;   /* may be NULL */
    void *ctx;
};

struct outbox;

/* Returns 0 and *out (owned by the caller, outbox_free), or -1 on OOM. */
int outbox_new(const struct outbox_options *opt, struct outbox **out);
void outbox_free(struct outbox *ob);

/* Queue a copy of a message at the end. Output larger than its bound is
 * dropped at once (and reported). Returns 0 (queued or dropped by the
 * bounds), -1 on OOM (nothing queued). */
int outbox_push(struct outbox *ob, const char *topic, const void *payload, size_t len, int qos,
                const char *source);

/* The oldest message, or NULL when empty. Valid until the next call that
 * changes the outbox. */
const struct outbox_msg *outbox_peek(const struct outbox *ob);
/* Remove the oldest message (after it was handed to the broker). */
void outbox_pop(struct outbox *ob);

size_t outbox_count(const struct outbox *ob);
/* Payload bytes of queued output (what the bounds apply to). */
size_t outbox_output_bytes(const struct outbox *ob);
/* Output messages dropped by the bounds since the outbox was made. */
uint64_t outbox_dropped_total(const struct outbox *ob);

/* Write every queued control message to `path` (atomically: a temporary
 * file renamed over it); with none, the file is removed. Returns 0 or -1
 * with errno. */
int outbox_spill_write(const struct outbox *ob, const char *path);

/* Append the control messages of a spill file to the outbox, and return
 * how many in *loaded. A missing file loads nothing. Returns 0, or -1 when
 * the file is unreadable or malformed (then nothing is loaded, and err
 * says why). */
#define OUTBOX_ERR_LEN 160
int outbox_spill_load(struct outbox *ob, const char *path, size_t *loaded,
                      char err[OUTBOX_ERR_LEN]);

/* The parser of outbox_spill_load on bytes in memory (for the fuzz test). */
int outbox_spill_parse(struct outbox *ob, const uint8_t *data, size_t len, size_t *loaded,
                       char err[OUTBOX_ERR_LEN]);

#endif
