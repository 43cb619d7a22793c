/* libFuzzer target: the orchestrator's request handler with any bytes on any
 * of its topics. The input is a sequence of messages separated by 0xff
 * bytes; the first byte of each picks the topic (registration, keepalive,
 * control, a runtime's control, stdio; of a known or another UUID). A known
 * runtime and module exist before the first message, time moves between
 * messages, and the tick runs at the end, so sequences reach queues,
 * exits, losses and returns. Nothing may crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_io.h"
#include "slog.h"
#include "orc.h"
#include "stratus/topic.h"

#define RT "00000000-0000-4000-8000-000000000001"
#define OTHER "00000000-0000-4000-8000-000000000002"
#define MOD "00000000-0000-4000-8000-00000000f001"

static struct fake_io IO;

static void feed(struct orc *o, const char *topic, const char *text)
{
    orc_handle_message(o, topic, text, strlen(text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slog_set_level(SLOG_CRITICAL + 1); /* quiet: the log would cost most of the time */
    memset(&IO, 0, sizeof IO);
    IO.now_ms = 1;
    IO.wall = 1.7e9;
    struct orc_options opt = {.realm = "r", .ka_interval_sec = 1, .io = fake_io_bind(&IO)};
    struct orc *o;
    char err[ORC_ERR_LEN];
    if (orc_new(&opt, fake_store_new(), &o, err) < 0) return 0;
    orc_connected(o);
    feed(o, "r/proc/reg/" RT,
         "{\"object_id\":\"1\",\"action\":\"create\",\"type\":\"req\",\"data\":{\"type\":"
         "\"runtime\",\"uuid\":\"" RT "\",\"name\":\"rt\",\"max_nmodules\":2}}");
    feed(o, "r/proc/control",
         "{\"object_id\":\"2\",\"action\":\"create\",\"type\":\"req\",\"data\":{\"type\":"
         "\"module\",\"uuid\":\"" MOD "\",\"name\":\"m\",\"file\":\"m.wasm\"}}");
    static const struct {
        enum topic_kind kind;
        const char *id;
    } topics[] = {
        {TOPIC_REG, RT},       {TOPIC_REG, OTHER},          {TOPIC_KEEPALIVE, RT},
        {TOPIC_CONTROL, NULL}, {TOPIC_CONTROL_RUNTIME, RT}, {TOPIC_CONTROL_RUNTIME, OTHER},
        {TOPIC_STDIO, MOD},    {TOPIC_KEEPALIVE, OTHER},
    };
    size_t pos = 0;
    while (pos < size) {
        size_t end = pos;
        while (end < size && data[end] != 0xff)
            end++;
        if (end > pos) {
            size_t k = data[pos] % (sizeof topics / sizeof topics[0]);
            char topic[TOPIC_LAYOUT_MAX];
            if (topic_format(topic, sizeof topic, "r", topics[k].kind, topics[k].id) == 0)
                orc_handle_message(o, topic, data + pos + 1, end - pos - 1);
            IO.now_ms += data[pos] * 37u;
            orc_tick(o);
        }
        pos = end + 1;
    }
    IO.now_ms += 10000;
    orc_tick(o);
    orc_free(o);
    fake_io_clear(&IO);
    return 0;
}
