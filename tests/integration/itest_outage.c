/* Integration test of the outbox (nothing lost across a broker outage): the
 * broker is killed while modules print, while one ends and while one floods
 * past its share of the outbox; it is started again on the same port. After
 * the reconnect every control message arrives exactly once and in order,
 * the output kept arrives in order without duplicates, the flood's drop is
 * reported (module log line and the keepalive's counter), and the newest
 * part of the flood is what was kept. */
#define _GNU_SOURCE
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

#define CH_WRITE 2
#define LINES 100 /* the printer prints one line every LINE_MS */
#define LINE_MS 100
#define OUTAGE_MS 4500 /* the manager's reconnect backoff then retries at ~6.3 s */
#define FLOOD 200      /* messages of FLOOD_SIZE bytes, far past a 4 KiB share */
#define FLOOD_SIZE 100

static struct stack S;

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

/* A script of `lines` numbered lines on stdio, paced. */
static json_t *printer_script(void)
{
    json_t *s = json_array();
    json_array_append_new(
        s, json_pack("{s:i, s:i, s:s}", "open", 1, "flags", CH_WRITE, "topic", "$SL/proc/stdio"));
    for (int i = 0; i < LINES; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %03d", i);
        json_array_append_new(s, json_pack("{s:i, s:s}", "publish", 1, "data", line));
        json_array_append_new(s, json_pack("{s:i}", "sleep_ms", LINE_MS));
    }
    return s;
}

static char *create_ok(const char *rt, json_t *script)
{
    char *u = random_uuid();
    struct message *r = stack_create(&S, rt, module_data(u, "m", script));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return u;
}

static void test_broker_outage(void **state)
{
    (void)state;
    assert_int_equal(stack_new_realm(&S), 0);
    const char *extra[] = {"--runtime", "test/fake:f", "--outbox-per-module", "4K", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);

    char *printer = create_ok(f, printer_script());
    /* Two modules that end during the outage, in this order. */
    char *early = create_ok(f, steps("[{\"sleep_ms\": 1500}, {\"exit\": 7}]"));
    char *late = create_ok(f, steps("[{\"sleep_ms\": 2500}, {\"exit\": 8}]"));
    /* A flood during the outage, then (after the reconnect) a keepalive. */
    char flood[512];
    snprintf(flood, sizeof flood,
             "[{\"open\": 1, \"flags\": %d, \"topic\": \"$SL/flood\"}, {\"sleep_ms\": 1000},"
             " {\"publish\": 1, \"data\": \"%0*d-\", \"count\": %d, \"numbered\": true},"
             " {\"sleep_ms\": 9000}, {\"keepalive\": {\"probe\": 1}}]",
             CH_WRITE, FLOOD_SIZE - 4, 0, FLOOD);
    char *flooder = create_ok(f, steps(flood));

    char stdio[256];
    snprintf(stdio, sizeof stdio, "%s/proc/stdio/%s", S.realm, printer);
    assert_int_equal(client_wait(S.client, stdio, WAIT_MS, NULL, NULL, NULL), 0);

    /* The outage. */
    int port = S.broker.port;
    client_free(S.client);
    S.client = NULL;
    broker_stop(&S.broker);
    assert_int_equal(proc_log_wait(&S.manager, "connection to 127.0.0.1", WAIT_MS), 0);
    usleep(OUTAGE_MS * 1000);
    assert_int_equal(broker_start(&S.broker, port), 0);
    assert_int_equal(client_connect(&S.client, port, "itest-outage"), 0);
    char filter[128];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    assert_int_equal(client_subscribe(S.client, filter, 1), 0);

    /* The exits made during the outage: each once, in order. */
    char control[256];
    snprintf(control, sizeof control, "%s/proc/control/%s", S.realm, f);
    struct message *a = NULL, *b = NULL;
    assert_int_equal(client_wait(S.client, control, 3 * WAIT_MS, stack_is_exit_of, early, &a), 0);
    assert_int_equal(client_wait(S.client, control, WAIT_MS, stack_is_exit_of, late, &b), 0);
    assert_true(json_at_equals(a->json, "data.exit_code", "7"));
    assert_true(json_at_equals(b->json, "data.exit_code", "8"));
    assert_true(a->t_us <= b->t_us);
    message_free(a);
    message_free(b);

    /* The printer's lines: strictly increasing up to the last one, which it
     * prints well after the reconnect. Only a line printed in the moment
     * the broker died can be missing (QoS 0 handed to a dying socket). */
    int last = -1, missing = 0, seen = 0;
    while (last < LINES - 1) {
        struct message *m = NULL;
        if (client_wait(S.client, stdio, WAIT_MS, NULL, NULL, &m))
            fail_msg("output stopped after line %d", last);
        int n = -1;
        if (sscanf(m->payload, "line %d", &n) != 1 || n <= last)
            fail_msg("line '%s' after line %d: out of order or repeated", m->payload, last);
        missing += n - last - 1;
        last = n;
        seen++;
        message_free(m);
    }
    if (missing > 1) fail_msg("%d line(s) lost across the outage", missing);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, control, stack_is_exit_of, early), 0);
    assert_int_equal(client_count(S.client, control, stack_is_exit_of, late), 0);

    /* The flood: its share is 4 KiB, so the oldest were dropped and the
     * newest kept, in order, ending with the last one. */
    char floodt[256];
    snprintf(floodt, sizeof floodt, "%s/mod/%s/flood", S.realm, flooder);
    int kept = 0, prev = -1;
    struct message *m = NULL;
    while (client_wait(S.client, floodt, 0, NULL, NULL, &m) == 0) {
        const char *dash = strchr(m->payload, '-');
        int n = dash ? atoi(dash + 1) : -1;
        if (n <= prev) fail_msg("flood message %d after %d", n, prev);
        prev = n;
        kept++;
        message_free(m);
    }
    assert_int_equal(prev, FLOOD - 1);
    assert_in_range(kept, 4096 / FLOOD_SIZE - 2, 4096 / FLOOD_SIZE);
    assert_int_equal(proc_log_wait(&S.manager, "output message(s) of this module dropped", WAIT_MS),
                     0);
    char ka[256];
    snprintf(ka, sizeof ka, "%s/proc/keepalive/%s", S.realm, f);
    struct message *k = NULL;
    assert_int_equal(client_wait_json(S.client, ka, 3 * WAIT_MS, &k, "data.probe", "1", NULL), 0);
    json_t *dropped = json_at(k->json, "data.output_dropped");
    assert_true(json_is_integer(dropped));
    assert_int_equal(json_integer_value(dropped), FLOOD - kept);
    message_free(k);
    /* What went out of the outbox: the outage's lines, the flood's kept
     * part and the exits (the printer prints ~OUTAGE_MS / LINE_MS lines
     * while the manager is disconnected). */
    char *log = proc_log_read(&S.manager);
    assert_non_null(log);
    const char *sent = strstr(log, "] sent ");
    size_t n_sent = 0;
    assert_non_null(sent);
    assert_int_equal(sscanf(sent, "] sent %zu message(s) kept while disconnected", &n_sent), 1);
    free(log);
    assert_true(n_sent >= (size_t)(OUTAGE_MS / LINE_MS + kept + 2));
    assert_true(proc_alive(&S.manager));
    free(printer);
    free(early);
    free(late);
    free(flooder);
    free(f);
}

/* A manager ended by `sig` while the broker is unreachable keeps its unsent
 * control messages in the state directory (SIGTERM: at shutdown; SIGKILL:
 * written during the outage); the next start sends them, once. */
static void spill_across_restart(int sig)
{
    assert_int_equal(stack_new_realm(&S), 0);
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "spiller", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    char *ender = create_ok(f, steps("[{\"sleep_ms\": 800}, {\"exit\": 5}]"));

    int port = S.broker.port;
    client_free(S.client);
    S.client = NULL;
    broker_stop(&S.broker);
    assert_int_equal(proc_log_wait(&S.manager, "connection to 127.0.0.1", WAIT_MS), 0);
    assert_int_equal(proc_log_wait(&S.manager, "ended: exited", WAIT_MS), 0);
    if (sig == SIGKILL)
        assert_int_equal(proc_log_wait(&S.manager, "unsent control messages written to", WAIT_MS),
                         0);
    assert_int_equal(proc_signal(&S.manager, sig), 0);
    assert_int_equal(proc_wait_exit(&S.manager, 3 * WAIT_MS), 0);
    S.manager_started = 0;
    if (sig == SIGTERM)
        assert_int_equal(proc_log_wait(&S.manager, "control messages kept in", WAIT_MS), 0);

    assert_int_equal(broker_start(&S.broker, port), 0);
    assert_int_equal(client_connect(&S.client, port, "itest-spill"), 0);
    char filter[128];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    assert_int_equal(client_subscribe(S.client, filter, 1), 0);
    assert_int_equal(stack_manager_start(&S, "spiller", extra), 0);
    char control[256];
    snprintf(control, sizeof control, "%s/proc/control/%s", S.realm, f);
    struct message *e = NULL;
    assert_int_equal(client_wait(S.client, control, WAIT_MS, stack_is_exit_of, ender, &e), 0);
    assert_true(json_at_equals(e->json, "data.exit_code", "5"));
    message_free(e);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, control, stack_is_exit_of, ender), 0);

    /* Sent: the file is gone, so a third start sends nothing again. */
    assert_int_equal(proc_signal(&S.manager, SIGKILL), 0);
    assert_int_equal(proc_wait_exit(&S.manager, 3 * WAIT_MS), 0);
    S.manager_started = 0;
    assert_int_equal(stack_manager_start(&S, "spiller", extra), 0);
    free(stack_wait_registration(&S, "runtime", "f", NULL));
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, control, stack_is_exit_of, ender), 0);
    free(ender);
    free(f);
}

static void test_spill_across_restart(void **state)
{
    (void)state;
    spill_across_restart(SIGTERM);
}

static void test_spill_across_kill(void **state)
{
    (void)state;
    spill_across_restart(SIGKILL);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_broker_outage, stack_fixture_kill_manager),
        cmocka_unit_test_teardown(test_spill_across_restart, stack_fixture_kill_manager),
        cmocka_unit_test_teardown(test_spill_across_kill, stack_fixture_kill_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
