/* A daemon's MQTT connection: libmosquitto driven by the daemon's event loop
 * (no client thread). Connects asynchronously with MQTT v5 (falling back to
 * 3.1.1 when the broker refuses v5), turns Nagle's algorithm off, keeps the
 * set of subscriptions and restores it after every reconnect, reconnects with
 * backoff, and reports connections and messages through callbacks.
 *
 * Incoming messages are routed: each route is a subscription filter with a
 * handler, found for a topic through the protocol library's topic index
 * (cost: proportional to the topic's levels and the matching routes, not to
 * the number of routes). Every message also goes to the catch-all `message`
 * callback, after its routes.
 *
 * Messages posted with mq_link_post go through the link's outbox
 * (outbox.h): sent at once while connected and nothing older waits, else
 * kept and sent in order after the next CONNACK (after libmosquitto's own
 * resends of unacknowledged QoS>0 messages, which it keeps across
 * reconnects). A QoS>0 message counts as unsettled until the broker
 * acknowledged it. */
#ifndef STRATUS_BASE_MQ_LINK_H
#define STRATUS_BASE_MQ_LINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct mq_link;

struct mq_link_options {
    const char *host;
    int port;
    const char *client_id; /* NULL: libmosquitto picks one */
    const char *username, *password;
    int tls;
    const char *tls_ca, *tls_cert, *tls_key;
    int tls_insecure;
    int keepalive_sec;
    /* Last will, or NULL topic for none; will_qos 0..2. */
    const char *will_topic;
    const char *will_payload;
    int will_qos;
    /* Bounds of the outbox's output (outbox.h); 0 and 0 keep no output
     * while disconnected (control messages are kept regardless). */
    size_t outbox_total, outbox_per_source;
};

struct mq_link_callbacks {
    /* After each successful connect, once subscriptions are re-sent. */
    void (*connected)(void *ctx);
    /* Every message, after its routes (may be NULL). payload is not
     * NUL-terminated; valid during the call. */
    void (*message)(void *ctx, const char *topic, const void *payload, size_t len);
    /* A QoS>0 publish was acknowledged (mid from mq_link_publish). */
    void (*published)(void *ctx, int mid);
    /* Output of `source` was dropped from the outbox (may be NULL). */
    void (*dropped)(void *ctx, const char *source, uint64_t count);
    void *ctx;
};

/* Create the link (copies the options). Returns 0 and *out, or -1. */
int mq_link_new(struct event_loop *loop, const struct mq_link_options *opt,
                const struct mq_link_callbacks *cb, struct mq_link **out);
void mq_link_free(struct mq_link *link);

/* Begin connecting; never blocks on the network beyond name resolution. */
int mq_link_start(struct mq_link *link);

/* 1 while connected (CONNACK received). */
int mq_link_connected(const struct mq_link *link);
/* 1 while connected and every subscription sent since the connect is
 * acknowledged (SUBACK): from then on nothing published to them is missed. */
int mq_link_subscribed(const struct mq_link *link);
/* 1 if the session uses MQTT v5 (so no-local is in effect). */
int mq_link_is_v5(const struct mq_link *link);

/* Add a subscription (sent now if connected, and after every reconnect),
 * with no-local on MQTT 5. Subscriptions are counted: the same filter added
 * twice needs two unsubscribes before the broker is told. */
int mq_link_subscribe(struct mq_link *link, const char *filter, int qos);
int mq_link_unsubscribe(struct mq_link *link, const char *filter);

/* A route: subscribe to filter (as mq_link_subscribe) and call fn for every
 * message whose topic matches it. A handler may add or remove routes, its own
 * included; a route removed during a dispatch is not called afterwards.
 * Returns 0, or -1 (invalid filter, OOM). */
typedef void (*mq_route_fn)(void *ctx, const char *topic, const void *payload, size_t len);
int mq_link_route(struct mq_link *link, const char *filter, int qos, mq_route_fn fn, void *ctx);
/* Remove the route (filter, fn, ctx) and its subscription. -1 if unknown. */
int mq_link_unroute(struct mq_link *link, const char *filter, mq_route_fn fn, void *ctx);

/* Publish; *mid (may be NULL) receives the message id for QoS>0. Returns 0, or
 * -1 when not connected or on error (the message is dropped). */
int mq_link_publish(struct mq_link *link, const char *topic, const void *payload, size_t len,
                    int qos, int *mid);
/* Publish through the outbox (see the top of this file): source NULL for a
 * control message (always kept), else the owner of this output (e.g. a
 * module UUID) whose share of the outbox bounds it. Returns 0 when sent or
 * kept (or dropped by the bounds, which the dropped callback reports), -1
 * on OOM or a message too large for MQTT. */
int mq_link_post(struct mq_link *link, const char *topic, const void *payload, size_t len, int qos,
                 const char *source);
/* Messages in the outbox plus QoS>0 publishes not yet acknowledged: 0 once
 * everything posted has reached the broker. */
size_t mq_link_unsettled(const struct mq_link *link);
/* The outbox (borrowed), for spilling and figures. */
struct outbox *mq_link_outbox(struct mq_link *link);

/* Publish a JSON value (borrowed), serialised compactly. */
int mq_link_publish_json(struct mq_link *link, const char *topic, const json_t *msg, int qos,
                         int *mid);

/* Send DISCONNECT (the will is not published) and stop reconnecting. */
void mq_link_disconnect(struct mq_link *link);
/* QoS>0 publishes handed to libmosquitto that the broker has not
 * acknowledged yet (they stay counted across a reconnect, since
 * libmosquitto sends them again). */
int mq_link_inflight(const struct mq_link *link);
/* 1 when output is still queued for the broker. */
int mq_link_want_write(const struct mq_link *link);

#endif
