/* Unit tests of one runtime's request and message handling against a fake
 * runtime type (its send records frames) and a fake MQTT publisher: create
 * with index and acknowledgement, idempotent create, the module limit, errors
 * for bad requests that never leave a slot taken, delete, exits (JSON and
 * not), keepalive merging, channel frames, and a crash reporting every
 * module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels.h"
#include "event_loop.h"
#include "runtime.h"

#define MAXREC 64

struct record {
    int nframes;
    struct {
        uint8_t h1, h2;
        char payload[1024];
    } frames[MAXREC];
    int npub;
    struct {
        char topic[256];
        json_t *json; /* NULL when not JSON */
        char raw[256];
    } pub[MAXREC];
    int send_fails;
    int gone;
};

static struct record REC;

static int fake_start(struct runtime *rt, json_t *registration)
{
    (void)rt;
    (void)registration;
    return 0;
}

static int fake_send(struct runtime *rt, uint8_t h1, uint8_t h2, const void *payload, size_t len)
{
    (void)rt;
    if (REC.send_fails) return -1;
    assert_true(REC.nframes < MAXREC);
    REC.frames[REC.nframes].h1 = h1;
    REC.frames[REC.nframes].h2 = h2;
    snprintf(REC.frames[REC.nframes].payload, 1024, "%.*s", (int)len, (const char *)payload);
    REC.nframes++;
    return 0;
}

static int fake_receive(struct runtime *rt, struct frame_message *msg)
{
    (void)rt;
    (void)msg;
    return RUNTIME_RECV_NONE;
}

static const struct runtime_ops fake_ops = {
    .start = fake_start, .send = fake_send, .receive = fake_receive};
static const char *const apis[] = {"wasm", "channels", NULL};
static const struct runtime_type fake_type = {
    .type = "test/unit",
    .apis = apis,
    .max_nmodules = 2,
    .default_name = "unit",
    .default_shortname = "u",
    .ops = &fake_ops,
};

static int host_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                        const char *source)
{
    (void)source;
    (void)ctx;
    (void)qos;
    assert_true(REC.npub < MAXREC);
    snprintf(REC.pub[REC.npub].topic, 256, "%s", topic);
    snprintf(REC.pub[REC.npub].raw, 256, "%.*s", (int)len, (const char *)payload);
    REC.pub[REC.npub].json = json_loadb(payload, len, 0, NULL);
    REC.npub++;
    return 0;
}

static void host_gone(void *ctx, struct runtime *rt)
{
    (void)ctx;
    (void)rt;
    REC.gone++;
}

static int ch_sub(void *ctx, const char *f, int q)
{
    (void)ctx;
    (void)f;
    (void)q;
    return 0;
}
static int ch_unsub(void *ctx, const char *f)
{
    (void)ctx;
    (void)f;
    return 0;
}
static void ch_deliver(void *ctx, void *owner, int module, int channel, const void *p, size_t n)
{
    (void)ctx;
    runtime_deliver(owner, module, channel, p, n);
}

struct ctx {
    struct event_loop *loop;
    struct channel_table *channels;
    struct runtime *rt;
};

#define RT_UUID "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define M1 "11111111-1111-4111-8111-111111111111"
#define M2 "22222222-2222-4222-8222-222222222222"
#define M3 "33333333-3333-4333-8333-333333333333"

static int setup(void **state)
{
    memset(&REC, 0, sizeof REC);
    struct ctx *c = calloc(1, sizeof *c);
    if (loop_new(&c->loop) < 0) return -1;
    struct channel_io io = {host_publish, ch_sub, ch_unsub, ch_deliver, NULL};
    if (channels_new("realm", &io, &c->channels) < 0) return -1;
    struct runtime_host host = {
        .loop = c->loop,
        .channels = c->channels,
        .realm = "realm",
        .manager_uuid = "dddddddd-dddd-4ddd-8ddd-dddddddddddd",
        .socket_dir = "/nonexistent",
        .publish = host_publish,
        .runtime_gone = host_gone,
    };
    if (runtime_new(&fake_type, "u1", RT_UUID, NULL, &host, &c->rt) < 0) return -1;
    if (runtime_start(c->rt) < 0) return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    runtime_free(c->rt);
    channels_free(c->channels);
    loop_free(c->loop);
    for (int i = 0; i < REC.npub; i++)
        json_decref(REC.pub[i].json);
    free(c);
    return 0;
}

static void control(struct ctx *c, const char *text)
{
    runtime_handle_control(c->rt, text, strlen(text));
}

static void create(struct ctx *c, const char *oid, const char *uuid)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"object_id\": \"%s\", \"action\": \"create\", \"type\": \"req\", \"data\": "
             "{\"type\": \"module\", \"uuid\": \"%s\", \"name\": \"m\", \"file\": \"m.wasm\"}}",
             oid, uuid);
    control(c, text);
}

static json_t *last_pub(void)
{
    assert_true(REC.npub > 0);
    return REC.pub[REC.npub - 1].json;
}

static const char *at(json_t *j, const char *a, const char *b, const char *d)
{
    json_t *v = json_object_get(j, a);
    if (b) v = json_object_get(v, b);
    if (d) v = json_object_get(v, d);
    return json_string_value(v);
}

static int int_at(json_t *j, const char *a, const char *b, const char *d)
{
    return (int)json_integer_value(json_object_get(json_object_get(json_object_get(j, a), b), d));
}

static void frame(struct ctx *c, uint8_t h1, uint8_t h2, const void *p, size_t n)
{
    struct frame_message m = {h1, h2, p, n};
    runtime_handle_frame(c->rt, &m);
}

static void test_registration_fields(void **state)
{
    struct ctx *c = *state;
    json_t *r = runtime_registration(c->rt);
    assert_string_equal(at(r, "type", NULL, NULL), "runtime");
    assert_string_equal(at(r, "uuid", NULL, NULL), RT_UUID);
    assert_string_equal(at(r, "runtime_type", NULL, NULL), "test/unit");
    assert_string_equal(at(r, "parent", NULL, NULL), "dddddddd-dddd-4ddd-8ddd-dddddddddddd");
    assert_int_equal(json_integer_value(json_object_get(r, "max_nmodules")), 2);
    assert_int_equal(json_array_size(json_object_get(r, "apis")), 2);
    assert_true(json_is_object(json_object_get(r, "platform")));
    assert_true(json_is_object(json_object_get(r, "metadata")));
}

static void test_create_forwarded_and_acknowledged(void **state)
{
    struct ctx *c = *state;
    create(c, "o1", M1);
    assert_int_equal(REC.nframes, 1);
    assert_int_equal(REC.frames[0].h1, 0x80);
    assert_int_equal(REC.frames[0].h2, 0x00);
    json_t *payload = json_loads(REC.frames[0].payload, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(payload, "index")), 0);
    assert_string_equal(at(payload, "uuid", NULL, NULL), M1);
    json_decref(payload);
    json_t *resp = last_pub();
    assert_string_equal(REC.pub[REC.npub - 1].topic, "realm/proc/control/" RT_UUID);
    assert_string_equal(at(resp, "object_id", NULL, NULL), "o1");
    assert_string_equal(at(resp, "type", NULL, NULL), "resp");
    assert_string_equal(at(resp, "data", "result", NULL), "ok");
    assert_string_equal(at(resp, "data", "details", "uuid"), M1);
    assert_int_equal(int_at(resp, "data", "details", "index"), 0);

    create(c, "o2", M2);
    assert_int_equal(REC.frames[1].h1, 0x81);
    /* Idempotent: the same module again is ok, same index, nothing sent. */
    create(c, "o3", M1);
    assert_int_equal(REC.nframes, 2);
    assert_string_equal(at(last_pub(), "data", "result", NULL), "ok");
    assert_int_equal(int_at(last_pub(), "data", "details", "index"), 0);
    /* Full. */
    create(c, "o4", M3);
    assert_int_equal(REC.nframes, 2);
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    assert_non_null(at(last_pub(), "data", "details", "reason"));
    assert_int_equal(runtime_module_count(c->rt), 2);
}

static void test_bad_requests_take_no_slot(void **state)
{
    struct ctx *c = *state;
    control(c, "{\"object_id\": \"b1\", \"action\": \"create\", \"type\": \"req\", \"data\": "
               "{\"type\": \"module\", \"uuid\": \"" M1 "\"}}");
    assert_string_equal(at(last_pub(), "object_id", NULL, NULL), "b1");
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    control(c, "{\"object_id\": \"b2\", \"action\": \"create\", \"type\": \"req\", \"data\": "
               "{\"type\": \"module\", \"name\": \"m\", \"file\": \"../../etc/passwd\"}}");
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    control(c, "{not json");
    assert_string_equal(at(last_pub(), "action", NULL, NULL), "error");
    control(c, "{\"object_id\": \"b3\", \"action\": \"explode\", \"type\": \"req\", \"data\": {}}");
    assert_string_equal(at(last_pub(), "action", NULL, NULL), "error");
    assert_string_equal(at(last_pub(), "object_id", NULL, NULL), "b3");
    REC.send_fails = 1;
    create(c, "b4", M1);
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    REC.send_fails = 0;
    assert_int_equal(runtime_module_count(c->rt), 0);
    assert_int_equal(REC.nframes, 0);
    /* Responses (e.g. our own, echoed) are ignored. */
    int before = REC.npub;
    control(c, "{\"object_id\": \"x\", \"action\": \"create\", \"type\": \"resp\", \"data\": {}}");
    assert_int_equal(REC.npub, before);
    /* Both slots are still free. */
    create(c, "g1", M1);
    create(c, "g2", M2);
    assert_int_equal(runtime_module_count(c->rt), 2);
}

static void test_delete(void **state)
{
    struct ctx *c = *state;
    create(c, "o1", M1);
    create(c, "o2", M2);
    int before = REC.npub;
    control(c, "{\"object_id\": \"d1\", \"action\": \"delete\", \"type\": \"req\", \"data\": "
               "{\"type\": \"module\", \"uuid\": \"" M2 "\"}}");
    assert_int_equal(REC.frames[2].h1, 0x81);
    assert_int_equal(REC.frames[2].h2, 0x01);
    /* Carried out: no delete response (the original orchestrator refuses
     * them); the exit will confirm it. */
    assert_int_equal(REC.npub, before);
    control(c, "{\"object_id\": \"d2\", \"action\": \"delete\", \"type\": \"req\", \"data\": "
               "{\"type\": \"module\", \"uuid\": \"" M3 "\"}}");
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    assert_int_equal(REC.nframes, 3);
}

static void test_exit_published_and_slot_freed(void **state)
{
    struct ctx *c = *state;
    create(c, "o1", M1);
    create(c, "o2", M2);
    const char *exit_json = "{\"status\": \"exited\", \"exit_code\": 3, \"uuid\": \"forged\"}";
    frame(c, 0x81, 0x02, exit_json, strlen(exit_json));
    json_t *m = last_pub();
    assert_string_equal(at(m, "action", NULL, NULL), "exited");
    assert_string_equal(at(m, "type", NULL, NULL), "req");
    assert_string_equal(at(m, "data", "type", NULL), "module");
    assert_string_equal(at(m, "data", "uuid", NULL), M2);
    assert_string_equal(at(m, "data", "status", NULL), "exited");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "data"), "exit_code")),
                     3);
    assert_int_equal(runtime_module_count(c->rt), 1);
    frame(c, 0x80, 0x02, "garbage", 7);
    m = last_pub();
    assert_string_equal(at(m, "data", "uuid", NULL), M1);
    assert_string_equal(at(m, "data", "status", NULL), "failed");
    assert_non_null(at(m, "data", "reason", NULL));
    assert_int_equal(runtime_module_count(c->rt), 0);
    /* Exit of an index nobody has: ignored. */
    int before = REC.npub;
    frame(c, 0x85, 0x02, "{}", 2);
    assert_int_equal(REC.npub, before);
}

static void test_keepalive_merged(void **state)
{
    struct ctx *c = *state;
    const char *ka = "{\"probe\": 42, \"uuid\": \"forged\"}";
    frame(c, 0x80, 0x00, ka, strlen(ka));
    json_t *m = last_pub();
    assert_string_equal(REC.pub[REC.npub - 1].topic, "realm/proc/keepalive/" RT_UUID);
    assert_string_equal(at(m, "action", NULL, NULL), "update");
    assert_string_equal(at(m, "data", "uuid", NULL), RT_UUID);
    assert_string_equal(at(m, "data", "name", NULL), "u1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "data"), "probe")), 42);
    assert_true(json_is_array(json_object_get(json_object_get(m, "data"), "apis")));
    int before = REC.npub;
    frame(c, 0x80, 0x00, "[1]", 3);
    assert_int_equal(REC.npub, before);
}

static void test_keepalive_made_when_runtime_sends_none(void **state)
{
    struct ctx *c = *state;
    int before = REC.npub;
    runtime_keepalive_tick(c->rt, loop_now_ms() + 100000);
    assert_int_equal(REC.npub, before); /* no period: none */
    runtime_set_keepalive_interval(c->rt, 60000);
    runtime_keepalive_tick(c->rt, loop_now_ms() + 120000);
    assert_int_equal(REC.npub, before + 1);
    assert_string_equal(REC.pub[before].topic, "realm/proc/keepalive/" RT_UUID);
    assert_string_equal(at(last_pub(), "data", "uuid", NULL), RT_UUID);
    /* Just sent: the next tick within the period sends nothing. */
    runtime_keepalive_tick(c->rt, loop_now_ms() + 10);
    assert_int_equal(REC.npub, before + 1);
    /* A keepalive from the runtime also counts. */
    runtime_keepalive_tick(c->rt, loop_now_ms() + 120000);
    assert_int_equal(REC.npub, before + 2);
    frame(c, 0x80, 0x00, "{}", 2);
    assert_int_equal(REC.npub, before + 3);
    runtime_keepalive_tick(c->rt, loop_now_ms() + 10);
    assert_int_equal(REC.npub, before + 3);
}

static void test_channels_and_profile(void **state)
{
    struct ctx *c = *state;
    create(c, "o1", M1);
    create(c, "o2", M2);
    REC.nframes = 0;
    uint8_t open_out[] = {1, 0x02, 'o', 'u', 't'};
    uint8_t open_in[] = {7, 0x01, 'o', 'u', 't'};
    frame(c, 0x80, 0x03, open_out, sizeof open_out);
    frame(c, 0x81, 0x03, open_in, sizeof open_in);
    int before = REC.npub;
    frame(c, 0x00, 1, "data", 4); /* module 0 publishes on channel 1 */
    assert_int_equal(REC.npub, before + 1);
    assert_string_equal(REC.pub[before].topic, "out");
    assert_string_equal(REC.pub[before].raw, "data");
    /* Loopback to module 1 channel 7. */
    assert_int_equal(REC.nframes, 1);
    assert_int_equal(REC.frames[0].h1, 0x01);
    assert_int_equal(REC.frames[0].h2, 7);
    assert_string_equal(REC.frames[0].payload, "data");
    /* Data from a module without that channel, or an unknown module: dropped. */
    frame(c, 0x00, 9, "x", 1);
    frame(c, 0x05, 1, "x", 1);
    assert_int_equal(REC.npub, before + 1);
    /* Profile record. */
    frame(c, 0x81, 0x06, "\x01\x02", 2);
    assert_string_equal(REC.pub[REC.npub - 1].topic, "realm/proc/profile/deployed/" RT_UUID "/" M2);
    /* Close: no more loopback. */
    uint8_t close_in[] = {7};
    frame(c, 0x81, 0x04, close_in, 1);
    frame(c, 0x00, 1, "again", 5);
    assert_int_equal(REC.nframes, 1);
    /* Malformed channel frames are ignored. */
    frame(c, 0x80, 0x03, open_out, 1);
    frame(c, 0x80, 0x04, NULL, 0);
    frame(c, 0x80, 0x7f, NULL, 0);
}

static void test_crash_reports_every_module(void **state)
{
    struct ctx *c = *state;
    create(c, "o1", M1);
    create(c, "o2", M2);
    int before = REC.npub;
    runtime_connection_lost(c->rt, "test crash");
    int crashed = 0;
    for (int i = before; i < REC.npub; i++)
        if (!strcmp(at(REC.pub[i].json, "action", NULL, NULL), "exited") &&
            !strcmp(at(REC.pub[i].json, "data", "status", NULL), "crashed"))
            crashed++;
    assert_int_equal(crashed, 2);
    assert_int_equal(runtime_module_count(c->rt), 0);
    /* While it restarts, creates are refused with a reason. */
    create(c, "o3", M3);
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
    /* A second report of the same death changes nothing. */
    before = REC.npub;
    runtime_connection_lost(c->rt, "again");
    assert_int_equal(REC.npub, before);
}

static void stop_loop(void *ctx)
{
    loop_stop(ctx);
}

/* Three restarts with growing delays, then the runtime is given up. */
static void test_restarts_bounded_then_gone(void **state)
{
    struct ctx *c = *state;
    for (int i = 0; i < RUNTIME_MAX_RESTARTS; i++) {
        runtime_connection_lost(c->rt, "crash");
        assert_int_equal(REC.gone, 0);
        create(c, "x", M1);
        assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
        /* Run the loop past the restart delay (100 ms doubling). */
        loop_timer_add(c->loop, (100u << i) + 50, stop_loop, c->loop, NULL);
        assert_int_equal(loop_run(c->loop), 0);
        create(c, "y", M2);
        assert_string_equal(at(last_pub(), "data", "result", NULL), "ok");
    }
    runtime_connection_lost(c->rt, "crash");
    assert_int_equal(REC.gone, 1);
    create(c, "z", M3);
    assert_string_equal(at(last_pub(), "data", "result", NULL), "error");
}

static void test_create_on_zero_capacity_type(void **state)
{
    (void)state;
    const struct runtime_type *reg = runtime_type_find("test/reg");
    assert_non_null(reg);
    assert_int_equal(reg->max_nmodules, 0);
    assert_null(runtime_type_find("no/such"));
    assert_non_null(runtime_type_find("test/fake-legacy"));
    assert_int_equal(runtime_type_find("test/fake-legacy")->header, FRAME_HEADER_LEGACY);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_registration_fields),
        T(test_create_forwarded_and_acknowledged),
        T(test_bad_requests_take_no_slot),
        T(test_delete),
        T(test_exit_published_and_slot_freed),
        T(test_keepalive_merged),
        T(test_keepalive_made_when_runtime_sends_none),
        T(test_channels_and_profile),
        T(test_crash_reports_every_module),
        T(test_restarts_bounded_then_gone),
        T(test_create_on_zero_capacity_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
