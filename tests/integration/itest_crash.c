/* Integration tests of a runtime process dying under `stratus manager`:
 * killed with SIGKILL or exiting by itself, its modules are reported exited
 * with status "crashed", their slots are freed, the manager keeps running and
 * the runtime serves modules again after its restart; a runtime in a crash
 * loop is given up (unregistered) after a bounded number of restarts. */
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

static struct stack S;
static char *F, *G; /* two fake runtimes: F is hurt, G must not notice */
static char DIR_[PATH_MAX];

static int group_setup(void **state)
{
    (void)state;
    if (stack_broker_up(&S)) return -1;
    return harness_tmpdir(DIR_);
}

static int test_setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    const char *extra[] = {"--runtime", "test/fake:f", "--runtime", "test/fake:g", NULL};
    if (stack_manager_start(&S, "node", extra)) return -1;
    F = stack_wait_registration(&S, "runtime", "f", NULL);
    G = stack_wait_registration(&S, "runtime", "g", NULL);
    return F && G ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(F);
    free(G);
    F = G = NULL;
    return 0;
}

static char *create_ok(const char *runtime, const char *script)
{
    char *uuid = random_uuid();
    struct message *r =
        stack_create(&S, runtime, module_data(uuid, "m", script ? steps(script) : NULL));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return uuid;
}

/* After the runtime died: both modules reported crashed with a reason that
 * names how the process ended, G untouched, and F takes four new modules
 * once it is back. */
static void expect_crash_reported_and_recovery(char *a, char *b, char *g, const char *how)
{
    const char *mods[] = {a, b};
    for (int i = 0; i < 2; i++) {
        struct message *m = stack_wait_exited(&S, F, mods[i], WAIT_MS);
        if (!m) fail_msg("no exited message for module %d", i);
        assert_true(json_at_equals(m->json, "data.type", "module"));
        assert_true(json_at_equals(m->json, "data.status", "crashed"));
        const char *reason = json_str_at(m->json, "data.reason");
        if (!reason || !strstr(reason, how))
            fail_msg("crash reason '%s' lacks '%s'", reason ? reason : "(none)", how);
        message_free(m);
    }
    assert_true(proc_alive(&S.manager));
    /* G's module is still there: deleting it works. */
    struct message *r = stack_delete(&S, G, g);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);

    /* The restarted runtime accepts modules again (retry while it restarts),
     * with every slot free. */
    long long end = harness_now_ms() + WAIT_MS;
    int created = 0;
    while (created < 4 && harness_now_ms() < end) {
        char *u = random_uuid();
        struct message *c = stack_create(&S, F, module_data(u, "again", NULL));
        assert_non_null(c);
        if (json_at_equals(c->json, "data.result", "ok"))
            created++;
        else
            usleep(100000);
        message_free(c);
        free(u);
    }
    assert_int_equal(created, 4);
}

static void test_runtime_killed(void **state)
{
    (void)state;
    char pidfile[PATH_MAX + 32], script[PATH_MAX + 64];
    snprintf(pidfile, sizeof pidfile, "%s/%s.pid", DIR_, S.realm);
    snprintf(script, sizeof script, "[{\"pidfile\": \"%s\"}]", pidfile);
    char *a = create_ok(F, script);
    char *b = create_ok(F, NULL);
    char *g = create_ok(G, NULL);
    pid_t pid = harness_read_pidfile(pidfile, WAIT_MS);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    expect_crash_reported_and_recovery(a, b, g, "killed by signal 9 (SIGKILL)");
    free(a);
    free(b);
    free(g);
}

static void test_runtime_exits_by_itself(void **state)
{
    (void)state;
    char *a = create_ok(F, NULL);
    char *b = create_ok(F, "[{\"sleep_ms\": 200}, {\"die\": 3}]");
    char *g = create_ok(G, NULL);
    expect_crash_reported_and_recovery(a, b, g, "exited with status 3");
    free(a);
    free(b);
    free(g);
}

static int is_delete(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "action", "delete");
}

/* A runtime that keeps dying is restarted a bounded number of times, then
 * unregistered; the other runtime and the manager carry on. */
static void test_crash_loop_gives_up(void **state)
{
    (void)state;
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/reg/%s", S.realm, F);
    int deaths = 0, given_up = 0;
    long long end = harness_now_ms() + 6 * WAIT_MS;
    while (!given_up && harness_now_ms() < end) {
        char *u = random_uuid();
        struct message *c = stack_create(&S, F, module_data(u, "doomed", steps("[{\"die\": 1}]")));
        given_up = client_count(S.client, topic, is_delete, NULL) > 0;
        if (!c) { /* a runtime given up may no longer answer */
            free(u);
            break;
        }
        int ok = json_at_equals(c->json, "data.result", "ok");
        message_free(c);
        if (ok) {
            struct message *e = stack_wait_exited(&S, F, u, WAIT_MS);
            assert_non_null(e);
            assert_true(json_at_equals(e->json, "data.status", "crashed"));
            message_free(e);
            deaths++;
        } else {
            usleep(50000);
        }
        free(u);
    }
    struct message *gone = NULL;
    assert_int_equal(client_wait_json(S.client, topic, WAIT_MS, &gone, "action", "delete",
                                      "data.type", "runtime", "data.uuid", F, NULL),
                     0);
    message_free(gone);
    /* Bounded: a few restarts, not endless and not none. */
    assert_in_range(deaths, 2, 6);
    /* Requests to the given-up runtime are still answered, with the reason. */
    char *late = random_uuid();
    struct message *refused = stack_create(&S, F, module_data(late, "late", NULL));
    assert_non_null(refused);
    assert_true(json_at_equals(refused->json, "data.result", "error"));
    assert_non_null(strstr(json_str_at(refused->json, "data.details.reason"), "given up"));
    message_free(refused);
    refused = stack_delete(&S, F, late);
    assert_non_null(refused);
    assert_true(json_at_equals(refused->json, "data.result", "error"));
    assert_non_null(strstr(json_str_at(refused->json, "data.details.reason"), "given up"));
    message_free(refused);
    free(late);
    assert_true(proc_alive(&S.manager));
    char *u = random_uuid();
    struct message *c = stack_create(&S, G, module_data(u, "fine", NULL));
    assert_non_null(c);
    assert_true(json_at_equals(c->json, "data.result", "ok"));
    message_free(c);
    free(u);
}

/* A runtime that stops reading while MQTT floods its module's channel costs
 * the manager a bounded queue, not its liveness: the other runtime is served
 * meanwhile, and the stalled one is served again afterwards. */
static void test_stalled_runtime_does_not_stall_the_manager(void **state)
{
    (void)state;
    char in[256], ready[256];
    snprintf(in, sizeof in, "%s/flood", S.realm);
    snprintf(ready, sizeof ready, "%s/ready", S.realm);
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"open\": 1, \"flags\": 1, \"topic\": \"%s\"},"
             " {\"open\": 2, \"flags\": 2, \"topic\": \"%s\"},"
             " {\"publish\": 2, \"data\": \"ready\"}, {\"stall_ms\": 4000}]",
             in, ready);
    char *a = create_ok(F, script);
    assert_int_equal(client_wait(S.client, ready, WAIT_MS, NULL, NULL, NULL), 0);

    /* 48 MiB at the stalled runtime: more than the manager may queue. */
    static char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 12288; i++)
        assert_int_equal(client_publish(S.client, in, chunk, sizeof chunk, 0), 0);

    /* Served while F is stalled; its create reaches the manager behind the
     * flood on the same connection, so it may wait for 48 MiB to be read
     * (seconds on a loaded machine). */
    char *g = random_uuid();
    struct message *gr = stack_create_within(&S, G, module_data(g, "m", NULL), 3 * WAIT_MS);
    assert_non_null(gr);
    assert_true(json_at_equals(gr->json, "data.result", "ok"));
    message_free(gr);
    assert_true(proc_alive(&S.manager));
    /* After the stall F answers again (its module may have been dropped with
     * the connection, or kept: either is fine, but an answer must come). */
    long long end = harness_now_ms() + 3 * WAIT_MS;
    int ok = 0;
    while (!ok && harness_now_ms() < end) {
        char *u = random_uuid();
        struct message *r = stack_create(&S, F, module_data(u, "later", NULL));
        assert_non_null(r);
        ok = json_at_equals(r->json, "data.result", "ok");
        message_free(r);
        free(u);
        if (!ok) usleep(200000);
    }
    assert_true(ok);
    assert_true(proc_alive(&S.manager));
    free(a);
    free(g);
}

int main(void)
{
    harness_init();
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_runtime_killed),
        T(test_runtime_exits_by_itself),
        T(test_crash_loop_gives_up),
        T(test_stalled_runtime_does_not_stall_the_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
