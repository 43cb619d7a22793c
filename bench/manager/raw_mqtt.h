/* A minimal MQTT 3.1.1 client over a plain TCP socket, for the benchmark
 * only: QoS 0 publish written straight into the socket (optionally many
 * packets per write), subscribe/unsubscribe, and a reader thread that calls
 * back for every PUBLISH received. It exists so that the reference
 * measurement is limited by the broker, not by a client library's own
 * per-message costs, and the same client sits at the MQTT end of every
 * measured path. Keepalive is off; no TLS, no QoS 1/2, no reconnect. */
#ifndef STRATUS_BENCH_RAW_MQTT_H
#define STRATUS_BENCH_RAW_MQTT_H

#include <stddef.h>
#include <stdint.h>

struct raw_mqtt;

/* Called on the reader thread for each PUBLISH (topic not NUL-terminated). */
typedef void (*raw_mqtt_on_publish)(void *ctx, const char *topic, size_t topic_len,
                                    const uint8_t *payload, size_t len);
/* Called on the reader thread for each SUBACK or UNSUBACK. */
typedef void (*raw_mqtt_on_ack)(void *ctx);

/* Connect to 127.0.0.1:port (TCP_NODELAY), wait for CONNACK, start the
 * reader thread. Returns NULL on failure. */
struct raw_mqtt *raw_mqtt_connect(int port, const char *client_id, raw_mqtt_on_publish on_pub,
                                  raw_mqtt_on_ack on_ack, void *ctx);
/* Disconnect, join the reader, free. */
void raw_mqtt_close(struct raw_mqtt *c);

/* Send SUBSCRIBE (QoS 0) or UNSUBSCRIBE; the ack arrives through on_ack. */
int raw_mqtt_subscribe(struct raw_mqtt *c, const char *filter);
int raw_mqtt_unsubscribe(struct raw_mqtt *c, const char *filter);

/* Encode a QoS 0 PUBLISH into out (capacity cap); returns its size, or 0 if
 * it does not fit. */
size_t raw_mqtt_encode_publish(uint8_t *out, size_t cap, const char *topic, const uint8_t *payload,
                               size_t len);

/* Write bytes (whole encoded packets) to the socket. Returns 0 or -1. */
int raw_mqtt_write(struct raw_mqtt *c, const uint8_t *bytes, size_t len);

#endif
