/* libFuzzer target: what a runtime's manager side parses from outside. The
 * input is a sequence of records, each either an MQTT control message or a
 * frame from the runtime process, run against one runtime with a fake type
 * and a fake publisher: no input may crash, leak or leave the module table
 * inconsistent. Record: u8 kind (even: control, odd: frame), u8 h1, u8 h2,
 * u16 length (little-endian), payload. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "event_loop.h"
#include "slog.h"
#include "runtime.h"

static int sink_publish(void *ctx, const char *topic, const void *p, size_t n, int qos,
                        const char *source)
{
    (void)source;
    (void)ctx;
    (void)topic;
    (void)p;
    (void)n;
    (void)qos;
    return 0;
}
static int sink_sub(void *ctx, const char *f, int q)
{
    (void)ctx;
    (void)f;
    (void)q;
    return 0;
}
static int sink_unsub(void *ctx, const char *f)
{
    (void)ctx;
    (void)f;
    return 0;
}
static void sink_deliver(void *ctx, void *owner, int module, int channel, const void *p, size_t n)
{
    (void)ctx;
    runtime_deliver(owner, module, channel, p, n);
}
static int f_start(struct runtime *rt, json_t *reg)
{
    (void)rt;
    (void)reg;
    return 0;
}
static int f_send(struct runtime *rt, uint8_t h1, uint8_t h2, const void *p, size_t n)
{
    (void)rt;
    (void)h1;
    (void)h2;
    (void)p;
    (void)n;
    return 0;
}
static int f_receive(struct runtime *rt, struct frame_message *m)
{
    (void)rt;
    (void)m;
    return RUNTIME_RECV_NONE;
}
static const struct runtime_ops ops = {.start = f_start, .send = f_send, .receive = f_receive};
static const char *const apis[] = {"wasm", NULL};
static const struct runtime_type type = {
    .type = "fuzz/rt", .apis = apis, .max_nmodules = 4, .default_name = "f", .ops = &ops};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slog_set_level(100);
    struct event_loop *loop;
    struct channel_table *channels;
    struct runtime *rt;
    if (loop_new(&loop) < 0) return 0;
    struct channel_io io = {sink_publish, sink_sub, sink_unsub, sink_deliver, NULL};
    if (channels_new("realm", &io, &channels) < 0) {
        loop_free(loop);
        return 0;
    }
    struct runtime_host host = {.loop = loop,
                                .channels = channels,
                                .realm = "realm",
                                .manager_uuid = "dddddddd-dddd-4ddd-8ddd-dddddddddddd",
                                .socket_dir = "/nonexistent",
                                .publish = sink_publish};
    if (runtime_new(&type, NULL, "cccccccc-cccc-4ccc-8ccc-cccccccccccc", NULL, &host, &rt) == 0) {
        runtime_start(rt);
        size_t pos = 0;
        while (pos + 5 <= size) {
            uint8_t kind = data[pos], h1 = data[pos + 1], h2 = data[pos + 2];
            size_t len = (size_t)data[pos + 3] | ((size_t)data[pos + 4] << 8);
            pos += 5;
            if (len > size - pos) len = size - pos;
            if (kind & 1) {
                struct frame_message m = {h1, h2, data + pos, len};
                runtime_handle_frame(rt, &m);
            } else {
                runtime_handle_control(rt, data + pos, len);
            }
            pos += len;
            if (runtime_module_count(rt) < 0 || runtime_module_count(rt) > 4) abort();
        }
        runtime_free(rt);
    }
    if (channels_count(channels) != 0) abort(); /* the runtime's channels went with it */
    channels_free(channels);
    loop_free(loop);
    return 0;
}
