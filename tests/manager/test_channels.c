/* Unit tests of channel routing with a fake publisher and fake runtimes:
 * MQTT publishing with the channel's QoS, loopback to other matching channels
 * but never the sender, delivery of MQTT messages, one broker subscription
 * per topic, `$SL/` expansion, wildcard refusal on writable channels, and
 * closing by module and by runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels.h"
#include "stratus/frame.h"

#define MAXREC 64

struct fake {
    int npub;
    struct {
        char topic[256];
        char payload[64];
        int qos;
    } pub[MAXREC];
    int nsub, nunsub;
    char sub[MAXREC][256];
    int sub_qos[MAXREC];
    char unsub[MAXREC][256];
    int ndel;
    struct {
        void *owner;
        int module, channel;
        char payload[64];
    } del[MAXREC];
};

static int f_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                     const char *source)
{
    (void)source;
    struct fake *f = ctx;
    /* Counted always, recorded while there is room. */
    if (f->npub < MAXREC) {
        snprintf(f->pub[f->npub].topic, 256, "%s", topic);
        snprintf(f->pub[f->npub].payload, 64, "%.*s", (int)len, (const char *)payload);
        f->pub[f->npub].qos = qos;
    }
    f->npub++;
    return 0;
}

static int f_subscribe(void *ctx, const char *filter, int qos)
{
    struct fake *f = ctx;
    assert_true(f->nsub < MAXREC);
    f->sub_qos[f->nsub] = qos;
    snprintf(f->sub[f->nsub++], 256, "%s", filter);
    return 0;
}

static int f_unsubscribe(void *ctx, const char *filter)
{
    struct fake *f = ctx;
    assert_true(f->nunsub < MAXREC);
    snprintf(f->unsub[f->nunsub++], 256, "%s", filter);
    return 0;
}

static void f_deliver(void *ctx, void *owner, int module, int channel, const void *payload,
                      size_t len)
{
    struct fake *f = ctx;
    assert_true(f->ndel < MAXREC);
    f->del[f->ndel].owner = owner;
    f->del[f->ndel].module = module;
    f->del[f->ndel].channel = channel;
    snprintf(f->del[f->ndel].payload, 64, "%.*s", (int)len, (const char *)payload);
    f->ndel++;
}

struct ctx {
    struct fake f;
    struct channel_table *t;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    struct channel_io io = {f_publish, f_subscribe, f_unsubscribe, f_deliver, &c->f};
    if (channels_new("realm", &io, &c->t) < 0) return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    channels_free(c->t);
    free(c);
    return 0;
}

static int rt_a, rt_b; /* two fake runtimes: only their addresses matter */
#define A ((void *)&rt_a)
#define B ((void *)&rt_b)
#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"

static int open_ch(struct ctx *c, void *owner, int module, const char *uuid, int ch, unsigned flags,
                   const char *topic)
{
    return channels_open(c->t, owner, module, uuid, ch, flags, topic, strlen(topic));
}

static void test_publish_goes_to_mqtt_with_qos(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_WRITE | (1u << CHANNEL_QOS_SHIFT), "x/out"),
                     CH_OK);
    assert_int_equal(c->f.nsub, 0); /* write-only: no subscription */
    assert_int_equal(channels_publish(c->t, A, 0, 1, "hi", 2), CH_OK);
    assert_int_equal(c->f.npub, 1);
    assert_string_equal(c->f.pub[0].topic, "x/out");
    assert_string_equal(c->f.pub[0].payload, "hi");
    assert_int_equal(c->f.pub[0].qos, 1);
    assert_int_equal(c->f.ndel, 0);
}

static void test_loopback_never_back_to_sender(void **state)
{
    struct ctx *c = *state;
    /* A.0 ch1 reads and writes t; A.1 ch2 reads t; B.0 ch3 reads t/#; B.0 ch4 reads other. */
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ | CHANNEL_WRITE, "t"), CH_OK);
    assert_int_equal(open_ch(c, A, 1, U2, 2, CHANNEL_READ, "t"), CH_OK);
    assert_int_equal(open_ch(c, B, 0, U1, 3, CHANNEL_READ, "t/#"), CH_OK);
    assert_int_equal(open_ch(c, B, 0, U1, 4, CHANNEL_READ, "other"), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 1, "m", 1), CH_OK);
    assert_int_equal(c->f.npub, 1);
    assert_int_equal(c->f.ndel, 2);
    int seen_a1 = 0, seen_b3 = 0;
    for (int i = 0; i < c->f.ndel; i++) {
        assert_false(c->f.del[i].owner == A && c->f.del[i].module == 0 && c->f.del[i].channel == 1);
        if (c->f.del[i].owner == A && c->f.del[i].module == 1 && c->f.del[i].channel == 2)
            seen_a1++;
        if (c->f.del[i].owner == B && c->f.del[i].channel == 3) seen_b3++;
        assert_string_equal(c->f.del[i].payload, "m");
    }
    assert_int_equal(seen_a1, 1);
    assert_int_equal(seen_b3, 1);
}

static void test_sender_other_channel_gets_loopback(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_WRITE, "loop"), CH_OK);
    assert_int_equal(open_ch(c, A, 0, U1, 2, CHANNEL_READ, "loop"), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 1, "x", 1), CH_OK);
    assert_int_equal(c->f.ndel, 1);
    assert_int_equal(c->f.del[0].channel, 2);
}

static void test_mqtt_delivery_to_every_match(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ, "s/+/v"), CH_OK);
    assert_int_equal(open_ch(c, B, 2, U2, 5, CHANNEL_READ, "s/a/v"), CH_OK);
    assert_int_equal(open_ch(c, B, 2, U2, 6, CHANNEL_WRITE, "s/a/v"), CH_OK);
    assert_int_equal(channels_deliver_mqtt(c->t, "s/a/v", "p", 1), 2);
    assert_int_equal(c->f.ndel, 2);
    assert_int_equal(channels_deliver_mqtt(c->t, "s/b/v", "p", 1), 1);
    assert_int_equal(channels_deliver_mqtt(c->t, "s/b/w", "p", 1), 0);
    assert_int_equal(c->f.ndel, 3);
}

static void test_one_subscription_per_topic(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ, "shared"), CH_OK);
    assert_int_equal(open_ch(c, A, 1, U2, 1, CHANNEL_READ, "shared"), CH_OK);
    assert_int_equal(open_ch(c, B, 0, U1, 1, CHANNEL_READ, "shared"), CH_OK);
    assert_int_equal(c->f.nsub, 1);
    assert_string_equal(c->f.sub[0], "shared");
    assert_int_equal(channels_close(c->t, A, 0, 1), CH_OK);
    channels_close_module(c->t, A, 1);
    assert_int_equal(c->f.nunsub, 0);
    channels_close_owner(c->t, B);
    assert_int_equal(c->f.nunsub, 1);
    assert_string_equal(c->f.unsub[0], "shared");
    assert_int_equal(channels_count(c->t), 0);
    assert_int_equal(channels_close(c->t, A, 0, 1), CH_ERR_UNKNOWN);
}

static void test_sl_expansion(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 3, U1, 1, CHANNEL_READ, "$SL/proc/stdio"), CH_OK);
    assert_string_equal(channels_topic(c->t, A, 3, 1), "realm/proc/stdio/" U1);
    assert_int_equal(c->f.nsub, 1);
    assert_string_equal(c->f.sub[0], "realm/proc/stdio/" U1);
}

static void test_wildcards_refused_on_write(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_WRITE, "a/+/b"), CH_ERR_WILDCARD);
    assert_int_equal(open_ch(c, A, 0, U1, 2, CHANNEL_READ | CHANNEL_WRITE, "a/#"), CH_ERR_WILDCARD);
    assert_int_equal(channels_count(c->t), 0);
    assert_int_equal(c->f.nsub, 0);
    /* Read-only channels may use wildcards. */
    assert_int_equal(open_ch(c, A, 0, U1, 3, CHANNEL_READ, "a/#"), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 3, "x", 1), CH_ERR_NOT_WRITABLE);
    assert_int_equal(channels_publish(c->t, A, 0, 9, "x", 1), CH_ERR_UNKNOWN);
    assert_int_equal(c->f.npub, 0);
}

static void test_bad_flags_and_topics(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, 0, "t"), CH_ERR_FLAGS);
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ | (3u << CHANNEL_QOS_SHIFT), "t"),
                     CH_ERR_FLAGS);
    assert_int_equal(channels_open(c->t, A, 0, U1, 1, CHANNEL_READ, "", 0), CH_ERR_TOPIC);
    assert_int_equal(channels_open(c->t, A, 0, U1, 1, CHANNEL_READ, "a\0b", 3), CH_ERR_TOPIC);
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ, "a/#/b"), CH_ERR_TOPIC);
    assert_int_equal(channels_count(c->t), 0);
}

static void test_reopen_replaces(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ, "one"), CH_OK);
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ, "two"), CH_OK);
    assert_int_equal(channels_count(c->t), 1);
    assert_int_equal(c->f.nunsub, 1);
    assert_string_equal(c->f.unsub[0], "one");
    assert_int_equal(channels_deliver_mqtt(c->t, "one", "x", 1), 0);
    assert_int_equal(channels_deliver_mqtt(c->t, "two", "x", 1), 1);
}

/* MQTT 3.1.1: the broker echoes our publishes, so loopback waits for the
 * echo and then skips the sender; other clients' messages are untouched. */
static void test_broker_echo_mode(void **state)
{
    struct ctx *c = *state;
    channels_set_broker_echoes(c->t, 1);
    assert_int_equal(open_ch(c, A, 0, U1, 1, CHANNEL_READ | CHANNEL_WRITE, "e"), CH_OK);
    assert_int_equal(open_ch(c, B, 0, U1, 2, CHANNEL_READ, "e"), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 1, "mine", 4), CH_OK);
    assert_int_equal(c->f.npub, 1);
    assert_int_equal(c->f.ndel, 0); /* nothing until the echo */
    /* Another client's message on the same topic reaches both. */
    assert_int_equal(channels_deliver_mqtt(c->t, "e", "other", 5), 2);
    /* The echo reaches B only, once. */
    assert_int_equal(channels_deliver_mqtt(c->t, "e", "mine", 4), 1);
    assert_true(c->f.del[c->f.ndel - 1].owner == B);
    /* A second copy is no echo any more: everyone gets it. */
    assert_int_equal(channels_deliver_mqtt(c->t, "e", "mine", 4), 2);
    /* A publish nobody here reads expects no echo. */
    assert_int_equal(open_ch(c, A, 0, U1, 3, CHANNEL_WRITE, "lonely"), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 3, "x", 1), CH_OK);
    assert_int_equal(channels_deliver_mqtt(c->t, "e", "x", 1), 2);
    /* Many echoes that never come do not grow without bound or break later ones. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(channels_publish(c->t, A, 0, 1, "lost", 4), CH_OK);
    assert_int_equal(channels_publish(c->t, A, 0, 1, "last", 4), CH_OK);
    assert_int_equal(channels_deliver_mqtt(c->t, "e", "last", 4), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_publish_goes_to_mqtt_with_qos),
        T(test_loopback_never_back_to_sender),
        T(test_sender_other_channel_gets_loopback),
        T(test_mqtt_delivery_to_every_match),
        T(test_one_subscription_per_topic),
        T(test_sl_expansion),
        T(test_wildcards_refused_on_write),
        T(test_bad_flags_and_topics),
        T(test_reopen_replaces),
        T(test_broker_echo_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
