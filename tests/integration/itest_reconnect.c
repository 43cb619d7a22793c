/* Integration test of the manager surviving a broker restart: the broker is
 * killed and started again on the same port; the manager reconnects,
 * registers its runtimes again, restores its channel subscriptions (a
 * running module still receives), and its modules keep their slots. */
#include <setjmp.h>
#include <signal.h>
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

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static int payload_is(const struct message *m, void *ctx)
{
    return m->len == strlen(ctx) && !memcmp(m->payload, ctx, m->len);
}

static void test_broker_restart(void **state)
{
    (void)state;
    assert_int_equal(stack_new_realm(&S), 0);
    const char *extra[] = {"--runtime", "test/fake:f", "--reg-timeout", "1", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);

    char in[256], out[256];
    snprintf(in, sizeof in, "%s/in", S.realm);
    snprintf(out, sizeof out, "%s/out", S.realm);
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
             " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
             " {\"echo\": [1, 2]}, {\"publish\": 2, \"data\": \"ready\"}]",
             CH_READ, in, CH_WRITE, out);
    char *mod = random_uuid();
    struct message *r = stack_create(&S, f, module_data(mod, "m", steps(script)));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    assert_int_equal(client_wait(S.client, out, WAIT_MS, payload_is, "ready", NULL), 0);

    /* Restart the broker on the same port; reconnect our client too. */
    int port = S.broker.port;
    client_free(S.client);
    S.client = NULL;
    broker_stop(&S.broker);
    assert_int_equal(broker_start(&S.broker, port), 0);
    assert_int_equal(client_connect(&S.client, port, "itest-reconnect"), 0);
    char filter[128];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    assert_int_equal(client_subscribe(S.client, filter, 1), 0);

    /* Registered again (at once or at the next retry: nobody answers). */
    char *again = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(again);
    assert_string_equal(again, f);
    free(again);

    /* The module's read channel is subscribed again and still delivers. */
    long long end = harness_now_ms() + WAIT_MS;
    while (broker_subscribe_count(&S.broker, in) < 1 && harness_now_ms() < end)
        usleep(10000);
    assert_true(broker_subscribe_count(&S.broker, in) >= 1);
    assert_int_equal(client_publish_str(S.client, in, "after restart"), 0);
    assert_int_equal(client_wait(S.client, out, WAIT_MS, payload_is, "after restart", NULL), 0);

    /* The module still holds its slot: a repeated create is the same module. */
    r = stack_create(&S, f, module_data(mod, "m", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    assert_true(json_at_equals(r->json, "data.details.index", "0"));
    message_free(r);
    assert_true(proc_alive(&S.manager));
    free(mod);
    free(f);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
