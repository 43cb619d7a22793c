/* Integration tests of channels through `stratus manager` (PROTOCOL.md §6):
 * module to MQTT, MQTT to module, loopback between modules on one node (never
 * back to the sending channel), one broker subscription shared by every
 * channel on a topic (counted in the broker's own subscribe log), `$SL/`
 * expansion, wildcards refused on write channels, and the subscription QoS
 * taken from the channel flags. Modules are fake
 * runtime scripts; "echo" steps make what a module received visible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

#define CH_READ 1
#define CH_WRITE 2

static struct stack S;
static char *F; /* the fake runtime's uuid */

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static int test_setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    if (stack_manager_start(&S, "node", extra)) return -1;
    F = stack_wait_registration(&S, "runtime", "f", NULL);
    return F ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(F);
    F = NULL;
    return 0;
}

/* Start a module whose script is printf-formatted (realm substituted by the
 * caller); returns its uuid (caller frees). */
static char *start_module(const char *fmt, ...)
{
    char script[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(script, sizeof script, fmt, ap);
    va_end(ap);
    char *uuid = random_uuid();
    struct message *r = stack_create(&S, F, module_data(uuid, "m", steps(script)));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return uuid;
}

/* Wait until the broker has seen `n` subscriptions to exactly `topic`. */
static void wait_subscribed(const char *topic, int n)
{
    long long end = harness_now_ms() + WAIT_MS;
    while (broker_subscribe_count(&S.broker, topic) < n) {
        if (harness_now_ms() > end)
            fail_msg("the broker never saw %d subscription(s) to %s", n, topic);
        usleep(10000);
    }
}

static int payload_is(const struct message *m, void *ctx)
{
    return m->len == strlen(ctx) && !memcmp(m->payload, ctx, m->len);
}

/* Expect exactly one message with this payload on this topic. */
static void expect_once(const char *topic, const char *payload)
{
    if (client_wait(S.client, topic, WAIT_MS, payload_is, (void *)payload, NULL))
        fail_msg("nothing with payload '%s' on %s", payload, topic);
    usleep(QUIET_MS * 1000);
    int more = client_count(S.client, topic, payload_is, (void *)payload);
    if (more) fail_msg("%d extra copies of '%s' on %s", more, payload, topic);
}

static void expect_nothing(const char *topic)
{
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, NULL, NULL), 0);
}

static void test_module_to_mqtt(void **state)
{
    (void)state;
    char topic[256];
    snprintf(topic, sizeof topic, "%s/out", S.realm);
    char *m = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"publish\": 1, \"data\": \"hello from module\"}]",
                           CH_WRITE, topic);
    expect_once(topic, "hello from module");
    free(m);
}

static void test_mqtt_to_module(void **state)
{
    (void)state;
    char in[256], back[256];
    snprintf(in, sizeof in, "%s/in", S.realm);
    snprintf(back, sizeof back, "%s/back", S.realm);
    char *m = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 2]}]",
                           CH_READ, in, CH_WRITE, back);
    wait_subscribed(in, 1);
    assert_int_equal(client_publish_str(S.client, in, "ping"), 0);
    expect_once(back, "ping");
    free(m);
}

static void test_loopback_between_modules(void **state)
{
    (void)state;
    char loop[256], seen[256], self[256];
    snprintf(loop, sizeof loop, "%s/loop", S.realm);
    snprintf(seen, sizeof seen, "%s/seen", S.realm);
    snprintf(self, sizeof self, "%s/self", S.realm);
    /* B listens on the topic and echoes what it gets. */
    char *b = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 2]}]",
                           CH_READ, loop, CH_WRITE, seen);
    wait_subscribed(loop, 1);
    /* A writes on a read-write channel of the same topic and would echo
     * anything that came back to that channel. */
    char *a = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 2]},"
                           " {\"publish\": 1, \"data\": \"over the loop\"}]",
                           CH_READ | CH_WRITE, loop, CH_WRITE, self);
    expect_once(seen, "over the loop"); /* loopback, exactly once */
    expect_once(loop, "over the loop"); /* and MQTT, once */
    expect_nothing(self);               /* never back to the sender */
    free(a);
    free(b);
}

static void test_shared_subscription(void **state)
{
    (void)state;
    char shared[256], got1[256], got2[256], got3[256];
    snprintf(shared, sizeof shared, "%s/shared", S.realm);
    snprintf(got1, sizeof got1, "%s/got1", S.realm);
    snprintf(got2, sizeof got2, "%s/got2", S.realm);
    snprintf(got3, sizeof got3, "%s/got3", S.realm);
    /* Two channels of one module and one of another, all on one topic. */
    char *a = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 3, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 4, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 3]}, {\"echo\": [2, 4]},"
                           " {\"publish\": 3, \"data\": \"ready\"}]",
                           CH_READ, shared, CH_READ, shared, CH_WRITE, got1, CH_WRITE, got2);
    char *b = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 2]},"
                           " {\"publish\": 2, \"data\": \"ready\"}]",
                           CH_READ, shared, CH_WRITE, got3);
    /* The manager handles a module's frames in order and the broker a
     * client's packets in order, so once "ready" arrives the channels are open
     * and subscribed. */
    expect_once(got1, "ready");
    expect_once(got3, "ready");
    assert_int_equal(client_publish_str(S.client, shared, "one"), 0);
    expect_once(got1, "one");
    expect_once(got2, "one");
    expect_once(got3, "one");
    assert_int_equal(broker_subscribe_count(&S.broker, shared), 1);

    /* Deleting B closes its channel; A's still get messages. */
    struct message *r = stack_delete(&S, F, b);
    assert_non_null(r);
    message_free(r);
    r = stack_wait_exited(&S, F, b, WAIT_MS);
    assert_non_null(r);
    message_free(r);
    assert_int_equal(client_publish_str(S.client, shared, "two"), 0);
    expect_once(got1, "two");
    expect_once(got2, "two");
    expect_nothing(got3);
    assert_int_equal(broker_subscribe_count(&S.broker, shared), 1);
    free(a);
    free(b);
}

static void test_sl_prefix_expansion(void **state)
{
    (void)state;
    char *uuid = random_uuid();
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"open\": 1, \"flags\": %d, \"topic\": \"$SL/proc/stdio\"},"
             " {\"open\": 2, \"flags\": %d, \"topic\": \"$SL/input\"},"
             " {\"echo\": [2, 1]},"
             " {\"publish\": 1, \"data\": \"to stdio\"}]",
             CH_WRITE, CH_READ);
    struct message *r = stack_create(&S, F, module_data(uuid, "sl", steps(script)));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    char out[256], in[256];
    snprintf(out, sizeof out, "%s/proc/stdio/%s", S.realm, uuid);
    snprintf(in, sizeof in, "%s/mod/%s/input", S.realm, uuid);
    expect_once(out, "to stdio");
    wait_subscribed(in, 1);
    assert_int_equal(client_publish_str(S.client, in, "typed"), 0);
    expect_once(out, "typed");
    free(uuid);
}

static int holds_forged(const struct message *m, void *ctx)
{
    (void)ctx;
    static const char forged[] = "{\"action\":\"exited\",\"forged\"";
    return !strncmp(m->payload, forged, sizeof forged - 1);
}

/* A module cannot reach the control plane: `$SL/` topics of the control
 * plane and the realm's control topics themselves are refused for writing,
 * and what it publishes on them goes nowhere. */
static void test_control_plane_refused(void **state)
{
    (void)state;
    char reg[256], ctl[256], ka[256], ctlrt[256], log[256];
    snprintf(reg, sizeof reg, "%s/proc/reg/%s", S.realm, F);
    snprintf(ctl, sizeof ctl, "%s/proc/control", S.realm);
    snprintf(ctlrt, sizeof ctlrt, "%s/proc/control/%s", S.realm, F);
    snprintf(ka, sizeof ka, "%s/proc/keepalive/%s", S.realm, F);
    snprintf(log, sizeof log, "%s/proc/log/orchestrator", S.realm);
    const char *targets[] = {"$SL/proc/reg",
                             "$SL/proc/control",
                             "$SL/proc/keepalive",
                             "$SL/proc/profile",
                             "$SL/proc/log",
                             reg,
                             ctl,
                             ctlrt,
                             ka,
                             log};
    char script[4096];
    size_t n = (size_t)snprintf(script, sizeof script, "[");
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(script + n, sizeof script - n,
                              "{\"open\": %d, \"flags\": %d, \"topic\": \"%s\"},"
                              "{\"publish\": %d, \"data\": \"{\\\"action\\\":\\\"exited\\\","
                              "\\\"forged\\\":%d}\"},",
                              i + 1, CH_WRITE | CH_READ, targets[i], i + 1, i);
    snprintf(script + n, sizeof script - n,
             "{\"open\": 20, \"flags\": %d, \"topic\": "
             "\"$SL/proc/stdio\"}, {\"publish\": 20, \"data\": \"done\"}]",
             CH_WRITE);
    char *uuid = random_uuid();
    struct message *r = stack_create(&S, F, module_data(uuid, "forger", steps(script)));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    char out[256];
    snprintf(out, sizeof out, "%s/proc/stdio/%s", S.realm, uuid);
    expect_once(out, "done");
    usleep(QUIET_MS * 1000);
    char all[128];
    snprintf(all, sizeof all, "%s/#", S.realm);
    struct message *leak = NULL;
    if (client_wait(S.client, all, 0, holds_forged, NULL, &leak) == 0)
        fail_msg("forged message got through on %s: %s", leak->topic, leak->payload);
    for (int i = 0; i < 10; i++) {
        char needle[300];
        snprintf(needle, sizeof needle, "control plane is off limits): %s\n", targets[i]);
        if (proc_log_wait(&S.manager, needle, WAIT_MS)) fail_msg("no refusal of %s", targets[i]);
    }
    free(uuid);
}

static void test_wildcard_refused_on_write_channel(void **state)
{
    (void)state;
    char wild[256], probe[256], rd[256], rdout[256];
    snprintf(wild, sizeof wild, "%s/w/+", S.realm);
    snprintf(probe, sizeof probe, "%s/w/#", S.realm);
    snprintf(rd, sizeof rd, "%s/r/+", S.realm);
    snprintf(rdout, sizeof rdout, "%s/rout", S.realm);
    /* A write channel with a wildcard is refused; a read channel with one is
     * fine and matches by MQTT rules. */
    char *m = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"publish\": 1, \"data\": \"must not appear\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 3, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [2, 3]}]",
                           CH_WRITE, wild, CH_READ, rd, CH_WRITE, rdout);
    wait_subscribed(rd, 1);
    char pub[256];
    snprintf(pub, sizeof pub, "%s/r/x", S.realm);
    assert_int_equal(client_publish_str(S.client, pub, "via wildcard"), 0);
    expect_once(rdout, "via wildcard");
    assert_int_equal(client_count(S.client, probe, NULL, NULL), 0);
    assert_true(proc_alive(&S.manager));
    free(m);
}

static void test_qos_from_flags(void **state)
{
    (void)state;
    char t0[256], t1[256], t2[256];
    snprintf(t0, sizeof t0, "%s/qos0", S.realm);
    snprintf(t1, sizeof t1, "%s/qos1", S.realm);
    snprintf(t2, sizeof t2, "%s/qos2", S.realm);
    /* flags: bit 0 read, bits 2-3 QoS */
    char *m = start_module("[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 3, \"flags\": %d, \"topic\": \"%s\"}]",
                           CH_READ, t0, CH_READ | (1 << 2), t1, CH_READ | (2 << 2), t2);
    wait_subscribed(t0, 1);
    wait_subscribed(t1, 1);
    wait_subscribed(t2, 1);
    assert_int_equal(broker_subscribe_qos(&S.broker, t0), 0);
    assert_int_equal(broker_subscribe_qos(&S.broker, t1), 1);
    assert_int_equal(broker_subscribe_qos(&S.broker, t2), 2);
    free(m);
}

int main(void)
{
    harness_init();
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_module_to_mqtt),           T(test_mqtt_to_module),
        T(test_loopback_between_modules), T(test_shared_subscription),
        T(test_sl_prefix_expansion),      T(test_wildcard_refused_on_write_channel),
        T(test_control_plane_refused),    T(test_qos_from_flags),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
