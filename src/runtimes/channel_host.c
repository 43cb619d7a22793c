/* Pub/sub channels of one module, the host side (see channel_host.h): the
 * `stratus.channel_open` host function, the WASI descriptor callbacks that
 * publish and read messages, and the delivery of incoming messages into the
 * per-channel queues.
 *
 * A channel's eventfd is readable exactly while its queue holds a message,
 * so a module blocked in fd_read or poll_oneoff sleeps in the kernel until
 * the main thread delivers something (or the module is interrupted). */
#define _GNU_SOURCE
#include "channel_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "rt_link.h"
#include "stratus/frame.h"

#define PATH_MAX_LEN 4096

struct channel_msg {
    struct channel_msg *next;
    size_t len, off; /* off: what earlier short reads took already */
    uint8_t data[];
};

struct module_channel {
    struct channel_host *host;
    uint8_t number;
    uint8_t flags; /* CHANNEL_READ | CHANNEL_WRITE | QoS bits, as sent to the manager */
    int ready_fd;
    struct channel_msg *head, *tail;
    size_t count, bytes;
    uint64_t dropped;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void channel_counters_note(struct channel_counters *c, bool out)
{
    atomic_fetch_add(out ? &c->ch_out : &c->ch_in, 1);
    atomic_store(&c->last_active_ms, now_ms());
}

void channel_host_init(struct channel_host *host, int index, const struct module_spec *spec,
                       const char *realm, bool free_topics, struct channel_counters *counters)
{
    memset(host, 0, sizeof *host);
    host->realm = realm;
    host->index = index;
    host->spec = spec;
    host->free_topics = free_topics;
    host->counters = counters;
    pthread_mutex_init(&host->lock, NULL);
}

static void set_ready(struct module_channel *c, bool ready)
{
    uint64_t v = 1;
    if (ready) {
        if (write(c->ready_fd, &v, sizeof v) < 0) { /* counter full: already readable */
        }
    } else if (read(c->ready_fd, &v, sizeof v) < 0) { /* EAGAIN: already not readable */
    }
}

/* Frees a channel taken out of the table. */
static void channel_free(struct module_channel *c)
{
    while (c->head) {
        struct channel_msg *next = c->head->next;
        free(c->head);
        c->head = next;
    }
    if (c->ready_fd >= 0) close(c->ready_fd);
    free(c);
}

void channel_host_destroy(struct channel_host *host)
{
    for (int i = 1; i < CHANNEL_LIMIT; i++)
        if (host->open[i]) {
            channel_free(host->open[i]);
            host->open[i] = NULL;
        }
    pthread_mutex_destroy(&host->lock);
}

/* ---- the descriptor callbacks (module thread) ---- */

static int channel_write(void *user, const uint8_t *buf, size_t len)
{
    struct module_channel *c = user;
    if (len > CHANNEL_MESSAGE_MAX) return SWASI_EMSGSIZE;
    if (rt_link_send((uint8_t)(c->host->index & FRAME_INDEX_MASK), c->number, buf, len) < 0)
        return SWASI_EIO;
    channel_counters_note(c->host->counters, true);
    return SWASI_ESUCCESS;
}

static int channel_read(void *user, uint8_t *buf, size_t cap, size_t *nread)
{
    struct module_channel *c = user;
    pthread_mutex_lock(&c->host->lock);
    struct channel_msg *m = c->head;
    if (!m) {
        pthread_mutex_unlock(&c->host->lock);
        return SWASI_EAGAIN;
    }
    size_t n = m->len - m->off < cap ? m->len - m->off : cap;
    memcpy(buf, m->data + m->off, n);
    m->off += n;
    *nread = n;
    /* A message larger than the module's buffers goes out in pieces; an
     * empty one is a read of 0 bytes. */
    if (m->off == m->len) {
        c->head = m->next;
        if (!c->head) {
            c->tail = NULL;
            set_ready(c, false);
        }
        c->count--;
        c->bytes -= m->len;
        free(m);
    }
    pthread_mutex_unlock(&c->host->lock);
    return SWASI_ESUCCESS;
}

static void channel_close(void *user)
{
    struct module_channel *c = user;
    struct channel_host *host = c->host;
    pthread_mutex_lock(&host->lock);
    host->open[c->number] = NULL;
    pthread_mutex_unlock(&host->lock);
    rt_link_send((uint8_t)(FRAME_CONTROL | (host->index & FRAME_INDEX_MASK)), FRAME_CLOSE_CHANNEL,
                 &c->number, 1);
    channel_free(c);
}

static const swasi_vfd_ops ops_read = {.read = channel_read, .close = channel_close};
static const swasi_vfd_ops ops_write = {.write = channel_write, .close = channel_close};
static const swasi_vfd_ops ops_read_write = {
    .read = channel_read, .write = channel_write, .close = channel_close};

/* ---- delivery (main thread) ---- */

void channel_host_deliver(struct channel_host *host, uint8_t number, const uint8_t *data,
                          size_t len)
{
    struct channel_msg *m = malloc(sizeof *m + len);
    uint64_t dropped = 0;
    pthread_mutex_lock(&host->lock);
    struct module_channel *c = number ? host->open[number] : NULL;
    if (!c || !(c->flags & CHANNEL_READ) || !m) {
        pthread_mutex_unlock(&host->lock);
        if (c && !m) rt_link_log(host->index, RT_LOG_ERROR, "out of memory: a message lost");
        free(m);
        return;
    }
    m->next = NULL;
    m->len = len;
    m->off = 0;
    if (len) memcpy(m->data, data, len);
    bool was_empty = !c->head;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->count++;
    c->bytes += len;
    while (c->count > CHANNEL_QUEUE_MESSAGES || c->bytes > CHANNEL_QUEUE_BYTES) {
        struct channel_msg *old = c->head;
        c->head = old->next;
        c->count--;
        c->bytes -= old->len;
        c->dropped++;
        free(old);
    }
    if (!c->head) c->tail = NULL;
    if (was_empty && c->head) set_ready(c, true);
    long long t = now_ms();
    if (c->dropped && t - host->last_drop_log_ms >= 1000) {
        dropped = c->dropped;
        c->dropped = 0;
        host->last_drop_log_ms = t;
    }
    pthread_mutex_unlock(&host->lock);
    channel_counters_note(host->counters, false);
    if (dropped)
        rt_link_log(host->index, RT_LOG_WARNING,
                    "channel %u: %llu message(s) dropped, the module does not read fast enough",
                    number, (unsigned long long)dropped);
}

/* ---- stratus.channel_open (module thread) ---- */

int channel_send_open(int index, uint8_t number, uint8_t flags, const char *topic, size_t tlen)
{
    uint8_t *msg = malloc(2 + tlen);
    if (!msg) return -1;
    msg[0] = number;
    msg[1] = flags;
    memcpy(msg + 2, topic, tlen);
    int rc = rt_link_send((uint8_t)(FRAME_CONTROL | (index & FRAME_INDEX_MASK)), FRAME_OPEN_CHANNEL,
                          msg, 2 + tlen);
    free(msg);
    return rc;
}

/* Takes the lowest free channel number for c; returns it, or 0 when all are
 * in use. */
static int claim_number(struct channel_host *host, struct module_channel *c)
{
    pthread_mutex_lock(&host->lock);
    int number = 1;
    while (number < CHANNEL_LIMIT && host->open[number])
        number++;
    if (number < CHANNEL_LIMIT)
        host->open[number] = c;
    else
        number = 0;
    pthread_mutex_unlock(&host->lock);
    return number;
}

/* Opens a channel for the module; returns a WASI errno. */
static int open_channel(struct channel_host *host, const char *path, size_t len, uint32_t flags,
                        uint32_t *fd_out)
{
    uint8_t mode = (uint8_t)(flags & (CHANNEL_READ | CHANNEL_WRITE));
    if ((flags & ~(uint32_t)(CHANNEL_READ | CHANNEL_WRITE | CHANNEL_QOS_MASK)) ||
        (flags & CHANNEL_QOS_MASK) == CHANNEL_QOS_MASK || !mode)
        return SWASI_EINVAL;
    char *topic = NULL;
    int e =
        channel_topic_resolve(host->spec, host->realm, host->free_topics, path, len, mode, &topic);
    if (e) return e;
    struct module_channel *c = NULL;
    if (strlen(topic) > CHANNEL_TOPIC_MAX) {
        e = SWASI_EINVAL;
        goto fail;
    }
    if ((c = calloc(1, sizeof *c))) c->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!c || c->ready_fd < 0) {
        e = SWASI_ENOMEM;
        goto fail;
    }
    c->host = host;
    c->flags = (uint8_t)flags;
    int number = claim_number(host, c);
    if (!number) {
        e = SWASI_EMFILE;
        goto fail;
    }
    c->number = (uint8_t)number;
    /* Sent before the descriptor exists, so no publish can overtake it. */
    if (channel_send_open(host->index, c->number, c->flags, topic, strlen(topic)) < 0) {
        pthread_mutex_lock(&host->lock);
        host->open[number] = NULL;
        pthread_mutex_unlock(&host->lock);
        e = SWASI_EIO;
        goto fail;
    }
    free(topic);
    const swasi_vfd_ops *ops = mode == CHANNEL_READ    ? &ops_read
                               : mode == CHANNEL_WRITE ? &ops_write
                                                       : &ops_read_write;
    if (swasi_ctx_add_vfd(host->ctx, ops, c, c->ready_fd, fd_out) != SW_OK) {
        channel_close(c); /* the manager has it open already */
        return SWASI_ENOMEM;
    }
    return SWASI_ESUCCESS;
fail:
    if (c) channel_free(c);
    free(topic);
    return e;
}

/* (path_ptr i32, path_len i32, flags i32, fd_out_ptr i32) -> errno i32 */
static sw_status host_channel_open(sw_call *call, void *user, const sw_value *args,
                                   sw_value *results)
{
    struct channel_host *host = user;
    uint8_t *mem;
    uint64_t size;
    uint32_t path = (uint32_t)args[0].of.i32, len = (uint32_t)args[1].of.i32;
    uint32_t flags = (uint32_t)args[2].of.i32, out = (uint32_t)args[3].of.i32;
    int e;
    results[0].type = SW_I32;
    if (sw_call_memory(call, &mem, &size) != SW_OK || path > size || len > size - path ||
        out > size || size - out < 4) {
        e = SWASI_EFAULT;
    } else if (len > PATH_MAX_LEN) {
        e = SWASI_EINVAL;
    } else if (!host->ctx) {
        e = SWASI_EIO;
    } else {
        uint32_t fd = 0;
        e = open_channel(host, (const char *)mem + path, len, flags, &fd);
        if (!e) memcpy(mem + out, &fd, 4);
    }
    results[0].of.i32 = e;
    return SW_OK;
}

sw_status channel_host_link(struct channel_host *host, sw_linker *linker)
{
    static const sw_valtype params[] = {SW_I32, SW_I32, SW_I32, SW_I32};
    static const sw_valtype result[] = {SW_I32};
    const sw_functype type = {.nparams = 4, .nresults = 1, .params = params, .results = result};
    return sw_linker_define_func(linker, "stratus", "channel_open", &type, host_channel_open, host);
}
