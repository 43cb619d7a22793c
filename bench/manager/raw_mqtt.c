/* Minimal MQTT 3.1.1 client for the benchmark (see raw_mqtt.h). */
#define _GNU_SOURCE
#include "raw_mqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct raw_mqtt {
    int fd;
    pthread_t reader;
    int reader_started;
    uint16_t next_id;
    pthread_mutex_t write_lock;
    raw_mqtt_on_publish on_pub;
    raw_mqtt_on_ack on_ack;
    void *ctx;
};

static size_t put_varint(uint8_t *out, size_t n)
{
    size_t i = 0;
    do {
        uint8_t b = (uint8_t)(n % 128);
        n /= 128;
        out[i++] = (uint8_t)(b | (n ? 0x80 : 0));
    } while (n);
    return i;
}

static size_t put_str(uint8_t *out, const char *s, size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, s, len);
    return len + 2;
}

int raw_mqtt_write(struct raw_mqtt *c, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&c->write_lock);
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            pthread_mutex_unlock(&c->write_lock);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    pthread_mutex_unlock(&c->write_lock);
    return 0;
}

size_t raw_mqtt_encode_publish(uint8_t *out, size_t cap, const char *topic, const uint8_t *payload,
                               size_t len)
{
    size_t tl = strlen(topic), rem = 2 + tl + len;
    if (tl > 65535 || cap < 1 + 4 + rem) return 0;
    size_t o = 0;
    out[o++] = 0x30; /* PUBLISH, QoS 0 */
    o += put_varint(out + o, rem);
    o += put_str(out + o, topic, tl);
    if (len) memcpy(out + o, payload, len);
    return o + len;
}

static int sub_or_unsub(struct raw_mqtt *c, const char *filter, int subscribe)
{
    uint8_t buf[1024];
    size_t fl = strlen(filter);
    if (fl > 900) return -1;
    size_t rem = 2 + 2 + fl + (subscribe ? 1 : 0), o = 0;
    buf[o++] = subscribe ? 0x82 : 0xA2;
    o += put_varint(buf + o, rem);
    uint16_t id = ++c->next_id ? c->next_id : ++c->next_id;
    buf[o++] = (uint8_t)(id >> 8);
    buf[o++] = (uint8_t)id;
    o += put_str(buf + o, filter, fl);
    if (subscribe) buf[o++] = 0; /* QoS 0 */
    return raw_mqtt_write(c, buf, o);
}

int raw_mqtt_subscribe(struct raw_mqtt *c, const char *filter)
{
    return sub_or_unsub(c, filter, 1);
}

int raw_mqtt_unsubscribe(struct raw_mqtt *c, const char *filter)
{
    return sub_or_unsub(c, filter, 0);
}

/* Reads packets until the socket closes. */
static void *reader_main(void *arg)
{
    struct raw_mqtt *c = arg;
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        ssize_t r = recv(c->fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        size_t off = 0;
        for (;;) {
            /* fixed header: type byte, 1-4 byte remaining length */
            if (len - off < 2) break;
            size_t rem = 0, mult = 1, i = 1;
            int complete = 0;
            while (off + i < len && i <= 4) {
                uint8_t b = buf[off + i++];
                rem += (size_t)(b & 0x7F) * mult;
                mult *= 128;
                if (!(b & 0x80)) {
                    complete = 1;
                    break;
                }
            }
            if (!complete || len - off < i + rem) break;
            const uint8_t *p = buf + off + i;
            uint8_t type = buf[off] >> 4;
            if (type == 3 && rem >= 2) {
                size_t tl = (size_t)p[0] << 8 | p[1];
                size_t skip = 2 + tl + (((buf[off] >> 1) & 3) ? 2 : 0);
                if (skip <= rem && c->on_pub)
                    c->on_pub(c->ctx, (const char *)p + 2, tl, p + skip, rem - skip);
            } else if ((type == 9 || type == 11) && c->on_ack) {
                c->on_ack(c->ctx);
            }
            off += i + rem;
        }
        memmove(buf, buf + off, len - off);
        len -= off;
        if (len == cap) { /* a packet larger than the buffer: grow */
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) break;
            buf = grown;
            cap *= 2;
        }
    }
    free(buf);
    return NULL;
}

struct raw_mqtt *raw_mqtt_connect(int port, const char *client_id, raw_mqtt_on_publish on_pub,
                                  raw_mqtt_on_ack on_ack, void *ctx)
{
    struct raw_mqtt *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->write_lock, NULL);
    c->on_pub = on_pub;
    c->on_ack = on_ack;
    c->ctx = ctx;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) goto fail;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t pkt[512];
    size_t idl = strlen(client_id);
    if (idl > 200) goto fail;
    size_t rem = 10 + 2 + idl, o = 0;
    pkt[o++] = 0x10; /* CONNECT */
    o += put_varint(pkt + o, rem);
    o += put_str(pkt + o, "MQTT", 4);
    pkt[o++] = 4;    /* protocol level 3.1.1 */
    pkt[o++] = 0x02; /* clean session */
    pkt[o++] = 0;    /* keepalive 0: off */
    pkt[o++] = 0;
    o += put_str(pkt + o, client_id, idl);
    if (raw_mqtt_write(c, pkt, o)) goto fail;
    uint8_t ack[4];
    size_t got = 0;
    while (got < 4) {
        ssize_t r = recv(c->fd, ack + got, 4 - got, 0);
        if (r <= 0) goto fail;
        got += (size_t)r;
    }
    if (ack[0] != 0x20 || ack[3] != 0) goto fail;
    if (pthread_create(&c->reader, NULL, reader_main, c)) goto fail;
    c->reader_started = 1;
    return c;
fail:
    if (c->fd >= 0) close(c->fd);
    pthread_mutex_destroy(&c->write_lock);
    free(c);
    return NULL;
}

void raw_mqtt_close(struct raw_mqtt *c)
{
    if (!c) return;
    uint8_t disc[2] = {0xE0, 0};
    raw_mqtt_write(c, disc, 2);
    shutdown(c->fd, SHUT_RDWR);
    if (c->reader_started) pthread_join(c->reader, NULL);
    close(c->fd);
    pthread_mutex_destroy(&c->write_lock);
    free(c);
}
