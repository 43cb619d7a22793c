/* Channel routing (see channels.h). Channels are kept in a hash table keyed
 * by (runtime, module index, channel number); readable ones are also values
 * in the topic index under their expanded topic, which gives both the MQTT
 * subscription count (first value under a filter = subscribe, last removed =
 * unsubscribe) and the matching for deliveries. */
#include "channels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slog.h"
#include "stratus/frame.h"
#include "stratus/topic.h"

#define NBUCKETS 1024

struct channel {
    void *owner;
    int module, number;
    unsigned flags;
    int qos;
    char *topic;          /* expanded; owned */
    char source[40];      /* the module's UUID: its share of the outbox */
    struct channel *next; /* hash bucket chain */
};

/* A message this node published that the broker will send back (MQTT
 * 3.1.1 has no no-local): recognised by topic, length and hash, and then
 * delivered to every matching channel but its sender. */
struct echo {
    void *owner;
    int module, number;
    char *topic;
    size_t len;
    uint64_t hash;
};
#define ECHO_MAX 256

struct channel_table {
    char *realm;
    struct channel_io io;
    struct topic_index *index;
    struct channel *buckets[NBUCKETS];
    size_t count;
    int broker_echoes;
    struct echo echoes[ECHO_MAX]; /* oldest first */
    size_t nechoes;
};

const char *channels_strerror(int err)
{
    switch (err) {
    case CH_OK: return "ok";
    case CH_ERR_NOMEM: return "out of memory";
    case CH_ERR_WILDCARD: return "a writable channel's topic may not contain + or #";
    case CH_ERR_TOPIC: return "invalid topic";
    case CH_ERR_UNKNOWN: return "no such channel";
    case CH_ERR_NOT_WRITABLE: return "channel is not writable";
    case CH_ERR_FLAGS: return "invalid channel flags";
    case CH_ERR_DENIED: return channel_open_strerror(CHANNEL_OPEN_DENIED);
    }
    return "unknown error";
}

static size_t bucket_of(void *owner, int module, int number)
{
    uint64_t h = (uint64_t)(uintptr_t)owner;
    h ^= (uint64_t)module * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)number * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return (size_t)(h % NBUCKETS);
}

int channels_new(const char *realm, const struct channel_io *io, struct channel_table **out)
{
    struct channel_table *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->realm = strdup(realm);
    t->index = topic_index_new();
    if (!t->realm || !t->index) {
        free(t->realm);
        if (t->index) topic_index_free(t->index);
        free(t);
        return -1;
    }
    t->io = *io;
    *out = t;
    return 0;
}

static struct channel **find_slot(struct channel_table *t, void *owner, int module, int number)
{
    struct channel **pp = &t->buckets[bucket_of(owner, module, number)];
    while (*pp && !((*pp)->owner == owner && (*pp)->module == module && (*pp)->number == number))
        pp = &(*pp)->next;
    return pp;
}

/* Unlink *pp, drop its subscription share, free it. */
static void remove_at(struct channel_table *t, struct channel **pp)
{
    struct channel *c = *pp;
    *pp = c->next;
    if (c->flags & CHANNEL_READ) {
        if (topic_index_remove(t->index, c->topic, c) == 1 && t->io.unsubscribe)
            t->io.unsubscribe(t->io.ctx, c->topic);
    }
    slog(SLOG_DEBUG, "ch", "closed channel %d of module %d (%s)", c->number, c->module, c->topic);
    free(c->topic);
    free(c);
    t->count--;
}

void channels_free(struct channel_table *t)
{
    if (!t) return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        while (t->buckets[b]) {
            struct channel *c = t->buckets[b];
            t->buckets[b] = c->next;
            free(c->topic);
            free(c);
        }
    }
    channels_set_broker_echoes(t, 0);
    topic_index_free(t->index);
    free(t->realm);
    free(t);
}

int channels_open(struct channel_table *t, void *owner, int module, const char *module_uuid,
                  int channel, unsigned flags, const char *topic, size_t topic_len)
{
    char *expanded = NULL;
    /* The same rule the runtime process applied before the module got its
     * descriptor (topic.h): a refusal here means a runtime that does not
     * check, and the channel simply does not exist. */
    int rc = channel_open_check(t->realm, module_uuid ? module_uuid : "", flags, topic, topic_len,
                                &expanded);
    if (rc != CHANNEL_OPEN_OK) {
        int err = rc == CHANNEL_OPEN_NOMEM      ? CH_ERR_NOMEM
                  : rc == CHANNEL_OPEN_FLAGS    ? CH_ERR_FLAGS
                  : rc == CHANNEL_OPEN_WILDCARD ? CH_ERR_WILDCARD
                  : rc == CHANNEL_OPEN_DENIED   ? CH_ERR_DENIED
                                                : CH_ERR_TOPIC;
        slog(SLOG_ERROR, "ch", "module %d channel %d refused: %s: %.*s", module, channel,
             channels_strerror(err), (int)(topic_len > 256 ? 256 : topic_len), topic);
        return err;
    }

    struct channel **pp = find_slot(t, owner, module, channel);
    if (*pp) remove_at(t, pp);
    struct channel *c = calloc(1, sizeof *c);
    if (!c) {
        free(expanded);
        return CH_ERR_NOMEM;
    }
    c->owner = owner;
    c->module = module;
    c->number = channel;
    c->flags = flags;
    c->qos = (int)((flags & CHANNEL_QOS_MASK) >> CHANNEL_QOS_SHIFT);
    c->topic = expanded;
    snprintf(c->source, sizeof c->source, "%s", module_uuid ? module_uuid : "");
    if (flags & CHANNEL_READ) {
        int added = topic_index_add(t->index, c->topic, c);
        if (added < 0) {
            free(c->topic);
            free(c);
            return CH_ERR_NOMEM;
        }
        if (added == 1 && t->io.subscribe && t->io.subscribe(t->io.ctx, c->topic, c->qos) != 0)
            slog(SLOG_WARNING, "ch", "subscribe %s failed; it is retried on reconnect", c->topic);
    }
    size_t b = bucket_of(owner, module, channel);
    c->next = t->buckets[b];
    t->buckets[b] = c;
    t->count++;
    slog(SLOG_DEBUG, "ch", "opened channel %d of module %d: %s%s %s", channel, module,
         flags & CHANNEL_READ ? "r" : "", flags & CHANNEL_WRITE ? "w" : "", c->topic);
    return CH_OK;
}

int channels_close(struct channel_table *t, void *owner, int module, int channel)
{
    struct channel **pp = find_slot(t, owner, module, channel);
    if (!*pp) return CH_ERR_UNKNOWN;
    remove_at(t, pp);
    return CH_OK;
}

static void close_matching(struct channel_table *t, void *owner, int module)
{
    for (size_t b = 0; b < NBUCKETS && t->count; b++) {
        struct channel **pp = &t->buckets[b];
        while (*pp) {
            if ((*pp)->owner == owner && (module < 0 || (*pp)->module == module))
                remove_at(t, pp);
            else
                pp = &(*pp)->next;
        }
    }
}

void channels_close_module(struct channel_table *t, void *owner, int module)
{
    close_matching(t, owner, module);
}

void channels_close_owner(struct channel_table *t, void *owner)
{
    close_matching(t, owner, -1);
}

/* The sending channel is named by identity, not pointer: by the time an
 * echo returns, the sender may have been closed and its memory reused. */
struct delivery {
    struct channel_table *t;
    void *skip_owner;
    int skip_module, skip_number;
    const void *payload;
    size_t len;
    size_t delivered;
};

static void deliver_one(void *value, void *ctx)
{
    struct channel *c = value;
    struct delivery *d = ctx;
    if (c->owner == d->skip_owner && c->module == d->skip_module && c->number == d->skip_number)
        return;
    d->t->io.deliver(d->t->io.ctx, c->owner, c->module, c->number, d->payload, d->len);
    d->delivered++;
}

static void count_one(void *value, void *ctx)
{
    (void)value;
    (*(size_t *)ctx)++;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void echo_drop(struct channel_table *t, size_t i)
{
    free(t->echoes[i].topic);
    memmove(&t->echoes[i], &t->echoes[i + 1], (t->nechoes - i - 1) * sizeof t->echoes[0]);
    t->nechoes--;
}

void channels_set_broker_echoes(struct channel_table *t, int on)
{
    while (t->nechoes)
        echo_drop(t, t->nechoes - 1);
    t->broker_echoes = on;
}

static void expect_echo(struct channel_table *t, const struct channel *c, const void *payload,
                        size_t len)
{
    /* An echo that never came (lost at QoS 0) must not pin an entry. */
    if (t->nechoes == ECHO_MAX) echo_drop(t, 0);
    struct echo *e = &t->echoes[t->nechoes];
    e->topic = strdup(c->topic);
    if (!e->topic) return;
    e->owner = c->owner;
    e->module = c->module;
    e->number = c->number;
    e->len = len;
    e->hash = hash_bytes(payload, len);
    t->nechoes++;
}

int channels_publish(struct channel_table *t, void *owner, int module, int channel,
                     const void *payload, size_t len)
{
    struct channel *c = *find_slot(t, owner, module, channel);
    if (!c) return CH_ERR_UNKNOWN;
    if (!(c->flags & CHANNEL_WRITE)) return CH_ERR_NOT_WRITABLE;
    int sent = t->io.publish(t->io.ctx, c->topic, payload, len, c->qos, c->source) == 0;
    if (!sent) slog(SLOG_DEBUG, "ch", "publish on %s dropped (not connected)", c->topic);
    if (sent && t->broker_echoes) {
        /* The broker sends it back to this node: deliver it then, once. */
        size_t matches = 0;
        topic_index_match(t->index, c->topic, count_one, &matches);
        if (matches) expect_echo(t, c, payload, len);
        return CH_OK;
    }
    struct delivery d = {t, c->owner, c->module, c->number, payload, len, 0};
    topic_index_match(t->index, c->topic, deliver_one, &d);
    return CH_OK;
}

size_t channels_deliver_mqtt(struct channel_table *t, const char *topic, const void *payload,
                             size_t len)
{
    struct delivery d = {t, NULL, -1, -1, payload, len, 0};
    if (t->nechoes) {
        uint64_t h = hash_bytes(payload, len);
        for (size_t i = 0; i < t->nechoes; i++) {
            struct echo *e = &t->echoes[i];
            if (e->len == len && e->hash == h && !strcmp(e->topic, topic)) {
                d.skip_owner = e->owner;
                d.skip_module = e->module;
                d.skip_number = e->number;
                echo_drop(t, i);
                break;
            }
        }
    }
    topic_index_match(t->index, topic, deliver_one, &d);
    return d.delivered;
}

size_t channels_count(const struct channel_table *t)
{
    return t->count;
}

const char *channels_topic(const struct channel_table *t, void *owner, int module, int channel)
{
    struct channel *c = *find_slot((struct channel_table *)t, owner, module, channel);
    return c ? c->topic : NULL;
}
