/* Channels (PROTOCOL.md §6): a module's named pub/sub endpoints, opened and
 * closed by its runtime with frames. The table routes
 *  - a module's message on a writable channel to MQTT and to every *other*
 *    readable channel on this node whose topic matches (loopback), never back
 *    to the sending channel;
 *  - a message from MQTT to every readable channel whose topic matches.
 * Matching uses the protocol library's subscription index, and the broker
 * sees one subscription per distinct topic however many channels share it.
 *
 * The table talks to the outside only through struct channel_io, so the unit
 * tests drive it with a fake publisher and fake runtimes. */
#ifndef STRATUS_MANAGER_CHANNELS_H
#define STRATUS_MANAGER_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

struct channel_io {
    /* Publish a module's message on MQTT (through the outbox, as output of
     * `source`, the module's UUID); 0 on success. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                   const char *source);
    /* Subscribe to / unsubscribe from a topic filter on the broker. */
    int (*subscribe)(void *ctx, const char *filter, int qos);
    int (*unsubscribe)(void *ctx, const char *filter);
    /* Hand a message to channel `channel` of module `module` of runtime
     * `owner` (a data frame h1=module, h2=channel). */
    void (*deliver)(void *ctx, void *owner, int module, int channel, const void *payload,
                    size_t len);
    void *ctx;
};

struct channel_table;

/* Create a table for a realm (copied) and io (copied). 0 or -1. */
int channels_new(const char *realm, const struct channel_io *io, struct channel_table **out);
void channels_free(struct channel_table *t);

enum channel_error {
    CH_OK = 0,
    CH_ERR_NOMEM = -1,
    CH_ERR_WILDCARD = -2, /* a writable channel's topic has + or # */
    CH_ERR_TOPIC = -3,    /* empty or otherwise invalid topic */
    CH_ERR_UNKNOWN = -4,  /* no such channel */
    CH_ERR_NOT_WRITABLE = -5,
    CH_ERR_FLAGS = -6,  /* neither read nor write, or a bad QoS */
    CH_ERR_DENIED = -7, /* not the module's topic, or the control plane */
};
const char *channels_strerror(int err);

/* Open channel `channel` of module `module` (UUID module_uuid, for `$SL/`
 * expansion) of runtime `owner` with PROTOCOL.md flags and a topic of
 * topic_len bytes (not NUL-terminated). Reopening an open channel replaces
 * it. Errors are returned (and logged); nothing is opened then. */
int channels_open(struct channel_table *t, void *owner, int module, const char *module_uuid,
                  int channel, unsigned flags, const char *topic, size_t topic_len);

/* Close one channel; CH_OK or CH_ERR_UNKNOWN. */
int channels_close(struct channel_table *t, void *owner, int module, int channel);
/* Close every channel of a module, or of a whole runtime. */
void channels_close_module(struct channel_table *t, void *owner, int module);
void channels_close_owner(struct channel_table *t, void *owner);

/* A module published on one of its channels: to MQTT and loopback.
 * Returns CH_OK, CH_ERR_UNKNOWN or CH_ERR_NOT_WRITABLE. */
int channels_publish(struct channel_table *t, void *owner, int module, int channel,
                     const void *payload, size_t len);

/* A message arrived from MQTT. Returns how many channels received it. */
size_t channels_deliver_mqtt(struct channel_table *t, const char *topic, const void *payload,
                             size_t len);

/* Whether the broker sends this node's own publishes back (MQTT 3.1.1, no
 * no-local). Then a module's message is not looped back locally; the echo
 * from the broker is delivered instead, to every matching channel but the
 * sender. Changing the setting forgets expected echoes. */
void channels_set_broker_echoes(struct channel_table *t, int on);

/* Open channels in the table. */
size_t channels_count(const struct channel_table *t);
/* Expanded topic of an open channel (borrowed), or NULL. */
const char *channels_topic(const struct channel_table *t, void *owner, int module, int channel);

#endif
