/* Integration tests of the client commands against real processes: a
 * mosquitto broker, `stratus orchestrator` and `stratus manager` with a
 * linux/minimal runtime "minimal" and a linux runtime "linux", modules
 * compiled from C at build time. The commands run as `stratus CMD` child
 * processes with --mqtt, --http and --realm.
 *
 * run --wait: output and exit code (0, non-zero, trap, failed to start,
 * killed by stop, Ctrl-C); env, dirs, channels and copies; the queued
 * message when nothing fits; stop, list, status, logs and logs -f on live
 * and ended modules; unknown and ambiguous names; unreachable stacks. */
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

#include "client_cmd.h"
#include "client_stack.h"
#include "harness.h"
#include "orc_stack.h"

#define CMD_MS 30000
/* Time limit for anything the stack should do promptly (generous for a
 * loaded machine under sanitizers). */
#define WAIT_MS 10000

static struct client_stack stack;

static int setup_stack(void **state)
{
    (void)state;
    return client_stack_start(&stack, "client");
}

static int teardown_stack(void **state)
{
    (void)state;
    harness_cleanup();
    return 0;
}

/* Run `stratus ARGS...` with the stack's flags; the caller frees c. */
#define RUN(c, ...) cmd_run((c), CMD_MS, stack.flags, (const char *const[]){__VA_ARGS__, NULL})
#define START(c, ...) cmd_start((c), stack.flags, (const char *const[]){__VA_ARGS__, NULL})

/* The module record (caller decrefs), by any name the REST API takes. */
static json_t *module_record(const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/api/modules/%s/", query);
    return http_get_json(stack.orc.http_port, path);
}

static void wait_module_field(const char *query, const char *field, const char *value)
{
    char path[512];
    snprintf(path, sizeof path, "/api/modules/%s/", query);
    assert_int_equal(http_wait_field(stack.orc.http_port, path, field, value, WAIT_MS), 0);
}

static void test_run_wait_output_and_exit(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(
        RUN(&c, "run", "--wait", "--name", "hello-one", "hello.wasm", "--", "x", "y z"), 0);
    /* stdout is the module's output, and nothing else. */
    assert_string_equal(c.out, "Hello from Stratus!\narg 1: x\narg 2: y z\n");
    cmd_free(&c);

    assert_int_equal(RUN(&c, "run", "--wait", "--env", "GREETING=hi there", "exit_code.wasm", "7"),
                     7);
    assert_non_null(strstr(c.out, "argv[1]=7\n"));
    assert_non_null(strstr(c.out, "GREETING=hi there\n"));
    cmd_free(&c);

    assert_int_equal(RUN(&c, "run", "--wait", "trap.wasm"), 134);
    assert_non_null(strstr(c.out, "about to trap"));
    assert_non_null(strstr(c.err, "integer divide by zero"));
    cmd_free(&c);

    assert_int_equal(RUN(&c, "run", "--wait", "--runtime", "linux", "missing.wasm"), 125);
    assert_non_null(strstr(c.err, "missing.wasm"));
    cmd_free(&c);
}

static void test_run_without_wait(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(RUN(&c, "run", "--name", "nowait", "--runtime", "linux", "hello.wasm"), 0);
    /* "UUID NAME on runtime linux (UUID)" */
    assert_non_null(strstr(c.out, " nowait on runtime linux ("));
    char uuid[37];
    assert_int_equal(sscanf(c.out, "%36s", uuid), 1);
    cmd_free(&c);
    json_t *m = module_record(uuid);
    assert_non_null(m);
    assert_string_equal(json_str_at(m, "name"), "nowait");
    assert_string_equal(json_str_at(m, "parent_name"), "linux");
    json_decref(m);
    wait_module_field(uuid, "exit_code", "0");

    assert_int_equal(RUN(&c, "run", "--json", "--name", "asjson", "hello.wasm"), 0);
    json_t *j = json_loads(c.out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_str_at(j, "name"), "asjson");
    assert_non_null(json_str_at(j, "uuid"));
    json_decref(j);
    cmd_free(&c);

    /* Refused before anything is sent: a bad create, a bad flag. */
    assert_int_equal(RUN(&c, "run", "--dir", "../up", "hello.wasm"), 2);
    assert_non_null(strstr(c.err, ".."));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "run", "--channel", "nothing", "hello.wasm"), 2);
    assert_non_null(strstr(c.err, "PATH=TOPIC"));
    cmd_free(&c);
    /* Refused by the orchestrator: an unknown runtime. */
    assert_int_equal(RUN(&c, "run", "--runtime", "no-such-runtime", "hello.wasm"), 125);
    assert_non_null(strstr(c.err, "no-such-runtime"));
    cmd_free(&c);
}

static void test_run_killed_by_stop(void **state)
{
    (void)state;
    struct cmd run, stop;
    assert_int_equal(
        START(&run, "run", "--wait", "--name", "victim", "--runtime", "linux", "spin.wasm"), 0);
    assert_int_equal(cmd_wait_output(&run, "spinning\n", WAIT_MS), 0);
    assert_int_equal(RUN(&stop, "stop", "victim"), 0);
    assert_non_null(strstr(stop.out, "stopped victim ("));
    cmd_free(&stop);
    assert_int_equal(cmd_finish(&run, WAIT_MS), 137);
    cmd_free(&run);
    wait_module_field("victim", "status", "killed");
    /* Stopping it again: it has ended. */
    assert_int_equal(RUN(&stop, "stop", "victim"), 1);
    assert_non_null(strstr(stop.err, "already ended"));
    cmd_free(&stop);
}

static void test_run_interrupted(void **state)
{
    (void)state;
    struct cmd run;
    assert_int_equal(
        START(&run, "run", "--wait", "--name", "ctrl-c", "--runtime", "linux", "spin.wasm"), 0);
    assert_int_equal(cmd_wait_output(&run, "spinning\n", WAIT_MS), 0);
    kill(run.pid, SIGINT);
    assert_int_equal(cmd_finish(&run, WAIT_MS), 130);
    assert_non_null(strstr(run.err, "interrupted: stopping ctrl-c ("));
    cmd_free(&run);
    json_t *m = module_record("ctrl-c");
    assert_non_null(m);
    assert_string_equal(json_str_at(m, "state"), "D");
    assert_string_equal(json_str_at(m, "status"), "killed");
    json_decref(m);
}

static void test_run_dirs_channels_copies(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(RUN(&c, "run", "--wait", "--dir", "data", "read_dir.wasm"), 0);
    assert_string_equal(c.out, "the data directory\n");
    cmd_free(&c);
    assert_int_equal(RUN(&c, "run", "--wait", "read_dir.wasm"), 1);
    assert_non_null(strstr(c.out, "cannot open"));
    cmd_free(&c);

    struct mqtt_client *sub;
    assert_int_equal(client_connect(&sub, stack.broker.port, "client-test-sub"), 0);
    assert_int_equal(client_subscribe(sub, "client/demo/count", 1), 0);
    assert_int_equal(RUN(&c, "run", "--wait", "--runtime", "linux", "--channel",
                         "count=client/demo/count:w", "counter.wasm", "3"),
                     0);
    cmd_free(&c);
    const char *want[] = {"1", "2", "3"};
    for (int i = 0; i < 3; i++) {
        struct message *m;
        assert_int_equal(client_wait(sub, "client/demo/count", WAIT_MS, NULL, NULL, &m), 0);
        assert_string_equal(m->payload, want[i]);
        message_free(m);
    }
    client_free(sub);

    assert_int_equal(
        RUN(&c, "run", "--wait", "--copies", "3", "--name", "copy", "exit_code.wasm", "0"), 0);
    int n = 0;
    for (const char *p = c.out; (p = strstr(p, "argv[0]=exit_code.wasm")); p++)
        n++;
    assert_int_equal(n, 3);
    cmd_free(&c);
    const char *names[] = {"copy-1", "copy-2", "copy-3"};
    for (int i = 0; i < 3; i++) {
        json_t *m = module_record(names[i]);
        assert_non_null(m);
        assert_string_equal(json_str_at(m, "state"), "D");
        json_decref(m);
    }
    /* The exit status of copies: the first non-zero one. */
    assert_int_equal(RUN(&c, "run", "--wait", "--copies", "2", "exit_code.wasm", "5"), 5);
    cmd_free(&c);
}

static void test_queued(void **state)
{
    (void)state;
    struct cmd hold, wait, stop;
    assert_int_equal(RUN(&hold, "run", "--name", "hold", "--runtime", "minimal", "spin.wasm"), 0);
    cmd_free(&hold);
    wait_module_field("hold", "state", "A");
    assert_int_equal(
        START(&wait, "run", "--wait", "--name", "waiter", "--runtime", "minimal", "hello.wasm"), 0);
    /* The reason is told on stderr while it waits. */
    long long deadline = harness_now_ms() + WAIT_MS;
    while (!strstr(wait.err, "queued: runtime minimal is full (1 of 1)") &&
           harness_now_ms() < deadline)
        cmd_wait_output(&wait, "never printed", 100);
    assert_non_null(strstr(wait.err, "queued: runtime minimal is full (1 of 1)"));
    wait_module_field("waiter", "state", "Q");
    assert_int_equal(RUN(&stop, "stop", "hold"), 0);
    cmd_free(&stop);
    /* Room: it runs, its output comes, and it exits 0. */
    assert_int_equal(cmd_finish(&wait, WAIT_MS), 0);
    assert_string_equal(wait.out, "Hello from Stratus!\n");
    assert_non_null(strstr(wait.err, "started on runtime"));
    cmd_free(&wait);
}

static void test_list_and_status(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(RUN(&c, "run", "--name", "listed", "--runtime", "linux", "spin.wasm"), 0);
    cmd_free(&c);
    wait_module_field("listed", "state", "A");
    assert_int_equal(RUN(&c, "list"), 0);
    assert_non_null(strstr(c.out, "RUNTIME / MODULE"));
    assert_non_null(strstr(c.out, "minimal"));
    assert_non_null(strstr(c.out, "  listed "));
    assert_null(strstr(c.out, "hello-one")); /* ended: only with --all */
    cmd_free(&c);
    assert_int_equal(RUN(&c, "list", "--all"), 0);
    assert_non_null(strstr(c.out, "hello-one"));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "list", "--json"), 0);
    json_t *j = json_loads(c.out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_at(j, "runtimes")), 2);
    assert_true(json_array_size(json_at(j, "modules")) > 5);
    json_decref(j);
    cmd_free(&c);

    /* --watch redraws until Ctrl-C. */
    struct cmd watch;
    assert_int_equal(START(&watch, "list", "--watch", "0.2"), 0);
    assert_int_equal(cmd_wait_output_count(&watch, "RUNTIME / MODULE", 2, WAIT_MS), 0);
    kill(watch.pid, SIGINT);
    assert_int_equal(cmd_finish(&watch, WAIT_MS), 128 + SIGINT);
    cmd_free(&watch);

    assert_int_equal(RUN(&c, "status"), 0);
    assert_non_null(strstr(c.out, "node "));
    assert_non_null(strstr(c.out, "  linux "));
    assert_non_null(strstr(c.out, " s ago"));
    assert_non_null(strstr(c.out, "1/128")); /* the load of linux: "listed" */
    cmd_free(&c);
    assert_int_equal(RUN(&c, "status", "--json"), 0);
    j = json_loads(c.out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_at(j, "managers.0.alive")));
    assert_non_null(json_at(j, "runtimes.0.last_seen"));
    json_decref(j);
    cmd_free(&c);
    assert_int_equal(RUN(&c, "stop", "listed"), 0);
    cmd_free(&c);
}

static void test_logs(void **state)
{
    (void)state;
    struct cmd c, follow;
    /* An ended module: what the orchestrator kept. */
    assert_int_equal(RUN(&c, "run", "--wait", "--name", "said", "hello.wasm", "--", "kept"), 0);
    cmd_free(&c);
    assert_int_equal(RUN(&c, "logs", "said"), 0);
    assert_string_equal(c.out, "Hello from Stratus!\narg 1: kept\n");
    cmd_free(&c);
    assert_int_equal(RUN(&c, "logs", "-f", "said"), 0); /* ended: prints and returns */
    assert_string_equal(c.out, "Hello from Stratus!\narg 1: kept\n");
    cmd_free(&c);

    /* A live module: its output so far, then what it prints from now on. */
    assert_int_equal(RUN(&c, "run", "--name", "echoer", "--runtime", "linux", "echo.wasm"), 0);
    char uuid[37];
    assert_int_equal(sscanf(c.out, "%36s", uuid), 1);
    cmd_free(&c);
    wait_module_field("echoer", "state", "A");
    struct mqtt_client *pub;
    assert_int_equal(client_connect(&pub, stack.broker.port, "client-test-pub"), 0);
    char topic[128];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", stack.realm, uuid);
    /* State "A" can come before the manager subscribed to the module's
     * stdin topic: a line published earlier would reach nobody. */
    long long deadline = harness_now_ms() + WAIT_MS;
    while (broker_subscribe_count(&stack.broker, topic) < 1) {
        assert_true(harness_now_ms() < deadline);
        usleep(10000);
    }
    assert_int_equal(client_publish_str(pub, topic, "first line\n"), 0);
    /* Wait until the orchestrator kept the echo. */
    deadline = harness_now_ms() + WAIT_MS;
    for (;;) {
        assert_int_equal(RUN(&c, "logs", "echoer"), 0);
        int done = strstr(c.out, "first line\nfirst line\n") != NULL;
        cmd_free(&c);
        if (done) break;
        assert_true(harness_now_ms() < deadline);
        usleep(50000);
    }
    assert_int_equal(START(&follow, "logs", "-f", uuid + 28), 0); /* by UUID suffix */
    assert_int_equal(cmd_wait_output(&follow, "first line\n", WAIT_MS), 0);
    usleep(300000);
    assert_int_equal(client_publish_str(pub, topic, "second line\n"), 0);
    assert_int_equal(cmd_wait_output(&follow, "second line\nsecond line\n", WAIT_MS), 0);
    client_free(pub);
    assert_int_equal(RUN(&c, "stop", "echoer"), 0);
    cmd_free(&c);
    /* The module ended: -f ends too. */
    assert_int_equal(cmd_finish(&follow, WAIT_MS), 0);
    assert_non_null(strstr(follow.out, "first line\nfirst line\nsecond line\nsecond line\n"));
    cmd_free(&follow);
}

static void test_names(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(RUN(&c, "stop", "no-such-module"), 1);
    assert_non_null(strstr(c.err, "no module 'no-such-module'"));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "logs", "no-such-module"), 1);
    assert_non_null(strstr(c.err, "no module 'no-such-module'"));
    cmd_free(&c);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(RUN(&c, "run", "--wait", "--name", "twin", "hello.wasm"), 0);
        cmd_free(&c);
    }
    assert_int_equal(RUN(&c, "logs", "twin"), 1);
    assert_non_null(strstr(c.err, "module 'twin' is ambiguous"));
    cmd_free(&c);
    /* Two live twins: stop says which it cannot tell apart; the rest works. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(RUN(&c, "run", "--name", "spin-twin", "--runtime", "linux", "spin.wasm"),
                         0);
        cmd_free(&c);
    }
    assert_int_equal(RUN(&c, "stop", "spin-twin"), 1);
    assert_non_null(strstr(c.err, "ambiguous"));
    cmd_free(&c);
    json_t *list = http_get_json(stack.orc.http_port, "/api/modules/?limit=10000");
    size_t i;
    json_t *m;
    json_array_foreach(json_at(list, "results"), i, m)
    {
        if (strcmp(json_str_at(m, "name"), "spin-twin")) continue;
        const char *uuid = json_str_at(m, "uuid");
        assert_int_equal(RUN(&c, "stop", uuid + 24), 0); /* a 12-character suffix */
        cmd_free(&c);
    }
    json_decref(list);
}

static void test_unreachable_and_help(void **state)
{
    (void)state;
    struct cmd c;
    int dead = harness_free_port();
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", dead);
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL, (const char *const[]){"status", "--http", addr, NULL}), 1);
    assert_non_null(strstr(c.err, "cannot reach the REST API"));
    cmd_free(&c);
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL, (const char *const[]){"run", "--mqtt", addr, "hello.wasm", NULL}),
        125);
    assert_non_null(strstr(c.err, "cannot reach the broker"));
    cmd_free(&c);
    const char *commands[] = {"run", "stop", "list", "status", "logs", "up", "down"};
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        assert_int_equal(
            cmd_run(&c, CMD_MS, NULL, (const char *const[]){commands[k], "--help", NULL}), 0);
        assert_non_null(strstr(c.out, "usage: stratus "));
        cmd_free(&c);
        assert_int_equal(
            cmd_run(&c, CMD_MS, NULL, (const char *const[]){commands[k], "--no-such-flag", NULL}),
            2);
        cmd_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_wait_output_and_exit),
        cmocka_unit_test(test_run_without_wait),
        cmocka_unit_test(test_run_killed_by_stop),
        cmocka_unit_test(test_run_interrupted),
        cmocka_unit_test(test_run_dirs_channels_copies),
        cmocka_unit_test(test_queued),
        cmocka_unit_test(test_list_and_status),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unreachable_and_help),
    };
    return cmocka_run_group_tests(tests, setup_stack, teardown_stack);
}
