/* Integration tests of the manager's life cycle on a real broker:
 * registration of the manager and its runtimes (PROTOCOL.md §4 fields), with
 * and without an orchestrator answering, the last will on kill -9, the
 * configuration file, --help, and refusing an unknown runtime type at start.
 * Clean shutdown has its own program (itest_shutdown.c). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static int is_uuid_text(const char *s)
{
    if (!s || strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i])) return 0;
    }
    return 1;
}

static void assert_topic_is(struct message *m, const char *realm, const char *kind,
                            const char *uuid)
{
    char want[256];
    snprintf(want, sizeof want, "%s/proc/%s/%s", realm, kind, uuid);
    assert_string_equal(m->topic, want);
}

static int array_has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return 1;
    return 0;
}

static void test_registers_manager_and_runtimes(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:reg1", "--runtime", "test/fake:fake1", NULL};
    assert_int_equal(stack_manager_start(&S, "node-a", extra), 0);

    struct message *m = NULL;
    char *mgr = stack_wait_registration(&S, "manager", "node-a", &m);
    assert_non_null(mgr);
    assert_true(is_uuid_text(mgr));
    assert_topic_is(m, S.realm, "reg", mgr);
    assert_true(is_uuid_text(json_str_at(m->json, "object_id")));
    message_free(m);

    char *reg = stack_wait_registration(&S, "runtime", "reg1", &m);
    assert_non_null(reg);
    assert_true(is_uuid_text(reg));
    assert_string_not_equal(reg, mgr);
    assert_topic_is(m, S.realm, "reg", reg);
    assert_true(json_at_equals(m->json, "data.runtime_type", "test/reg"));
    assert_true(json_at_equals(m->json, "data.max_nmodules", "0"));
    assert_true(json_at_equals(m->json, "data.parent", mgr));
    assert_true(json_is_array(json_at(m->json, "data.apis")));
    assert_true(json_is_object(json_at(m->json, "data.platform")));
    assert_true(json_is_object(json_at(m->json, "data.metadata")));
    message_free(m);

    char *fake = stack_wait_registration(&S, "runtime", "fake1", &m);
    assert_non_null(fake);
    assert_true(is_uuid_text(fake));
    assert_topic_is(m, S.realm, "reg", fake);
    assert_true(json_at_equals(m->json, "data.runtime_type", "test/fake"));
    assert_true(json_at_equals(m->json, "data.max_nmodules", "4"));
    assert_true(json_at_equals(m->json, "data.parent", mgr));
    json_t *apis = json_at(m->json, "data.apis");
    assert_int_equal(json_array_size(apis), 5);
    const char *want[] = {"wasm", "wasi", "channels", "stdio:in", "stdio:out"};
    for (size_t i = 0; i < 5; i++)
        assert_true(array_has_string(apis, want[i]));
    assert_true(json_is_object(json_at(m->json, "data.platform")));
    assert_true(json_is_object(json_at(m->json, "data.metadata")));
    message_free(m);
    assert_true(proc_alive(&S.manager));
    free(mgr);
    free(reg);
    free(fake);
}

static void test_given_uuid_is_used(void **state)
{
    (void)state;
    char *uuid = random_uuid();
    const char *extra[] = {"--uuid", uuid, "--runtime", "test/reg:r", NULL};
    assert_int_equal(stack_manager_start(&S, "node-u", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node-u", NULL);
    assert_non_null(mgr);
    assert_string_equal(mgr, uuid);
    free(mgr);
    free(uuid);
}

/* A manager started again with the same name (kill -9 or a clean stop) has
 * the same UUID and its runtimes theirs; a second one of that name beside
 * it is refused with a reason. */
static void test_identity_survives_restart(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:r1", "--runtime", "test/reg:r2", NULL};
    char *mgr[2], *r1[2], *r2[2];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(stack_manager_start(&S, "node-same", extra), 0);
        mgr[round] = stack_wait_registration(&S, "manager", "node-same", NULL);
        r1[round] = stack_wait_registration(&S, "runtime", "r1", NULL);
        r2[round] = stack_wait_registration(&S, "runtime", "r2", NULL);
        assert_non_null(mgr[round]);
        assert_non_null(r1[round]);
        assert_non_null(r2[round]);
        if (round == 0) {
            struct proc twin;
            assert_int_equal(manager_start(&twin, &S.broker, S.realm, "node-same", extra), 0);
            assert_int_equal(proc_wait_exit(&twin, WAIT_MS), 0);
            assert_true(WIFEXITED(twin.status) && WEXITSTATUS(twin.status) != 0);
            assert_int_equal(proc_log_wait(&twin, "another manager named 'node-same'", 1000), 0);
        }
        stack_manager_kill(&S);
    }
    assert_string_equal(mgr[0], mgr[1]);
    assert_string_equal(r1[0], r1[1]);
    assert_string_equal(r2[0], r2[1]);
    assert_string_not_equal(r1[0], r2[0]);
    for (int i = 0; i < 2; i++) {
        free(mgr[i]);
        free(r1[i]);
        free(r2[i]);
    }
}

/* Counts registrations (action create, type req) of one uuid. */
struct reg_of {
    const char *uuid;
};
static int is_registration_of(const struct message *m, void *ctx)
{
    struct reg_of *r = ctx;
    return m->json && json_at_equals(m->json, "action", "create") &&
           json_at_equals(m->json, "type", "req") && json_at_equals(m->json, "data.uuid", r->uuid);
}

static void test_unanswered_registration_is_retried(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:lonely", "--reg-timeout", "1", NULL};
    assert_int_equal(stack_manager_start(&S, "node-r", extra), 0);
    char *rt = stack_wait_registration(&S, "runtime", "lonely", NULL);
    assert_non_null(rt);
    /* No orchestrator answers: the same runtime must register again. */
    char filter[128];
    snprintf(filter, sizeof filter, "%s/proc/reg/%s", S.realm, rt);
    struct reg_of r = {rt};
    assert_int_equal(client_wait(S.client, filter, WAIT_MS, is_registration_of, &r, NULL), 0);
    assert_true(proc_alive(&S.manager));
    free(rt);
}

/* Answers every registration request like an orchestrator does, for `ms`. */
static void answer_registrations(int ms, int *answered)
{
    char filter[128];
    snprintf(filter, sizeof filter, "%s/proc/reg/+", S.realm);
    long long end = harness_now_ms() + ms;
    while (harness_now_ms() < end) {
        struct message *m = NULL;
        if (client_wait_json(S.client, filter, 50, &m, "type", "req", "action", "create", NULL))
            continue;
        json_t *details = json_deep_copy(json_at(m->json, "data"));
        json_object_set_new(details, "ka_interval_sec", json_integer(0));
        json_t *resp = json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "object_id",
                                 json_str_at(m->json, "object_id"), "action", "create", "type",
                                 "resp", "data", "result", "ok", "details", details);
        assert_int_equal(client_publish_json(S.client, m->topic, resp), 0);
        json_decref(resp);
        message_free(m);
        (*answered)++;
    }
}

static void test_answered_registration_is_not_retried(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:happy", "--reg-timeout", "1", NULL};
    assert_int_equal(stack_manager_start(&S, "node-h", extra), 0);
    /* Manager and runtime register once each; answered, neither repeats
     * within three registration timeouts. */
    int answered = 0;
    answer_registrations(4000, &answered);
    assert_int_equal(answered, 2);
    assert_true(proc_alive(&S.manager));
}

static void test_last_will_on_kill9(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/reg:r", NULL};
    assert_int_equal(stack_manager_start(&S, "node-k", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node-k", NULL);
    assert_non_null(mgr);
    char *rt = stack_wait_registration(&S, "runtime", "r", NULL);
    assert_non_null(rt);
    free(rt);
    assert_int_equal(proc_signal(&S.manager, SIGKILL), 0);
    char filter[128];
    struct message *m = NULL;
    snprintf(filter, sizeof filter, "%s/proc/reg/%s", S.realm, mgr);
    assert_int_equal(client_wait_json(S.client, filter, WAIT_MS, &m, "action", "delete",
                                      "data.type", "manager", "data.uuid", mgr, NULL),
                     0);
    assert_true(json_at_equals(m->json, "data.name", "node-k"));
    message_free(m);
    free(mgr);
}

static void test_unknown_runtime_type_refused(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "no/such-type", NULL};
    assert_int_equal(stack_manager_start(&S, "node-x", extra), 0);
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    assert_true(WIFEXITED(S.manager.status));
    assert_int_not_equal(WEXITSTATUS(S.manager.status), 0);
    char *log = proc_log_read(&S.manager);
    assert_non_null(log);
    assert_non_null(strstr(log, "no/such-type"));
    free(log);
}

static void test_help(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {harness_stratus_path(), "manager", "--help", NULL};
    assert_int_equal(proc_start(&p, (char *const *)argv), 0);
    assert_int_equal(proc_wait_exit(&p, WAIT_MS), 0);
    assert_true(WIFEXITED(p.status));
    assert_int_equal(WEXITSTATUS(p.status), 0);
    char *out = proc_log_read(&p);
    assert_non_null(out);
    const char *flags[] = {"--mqtt",   "--realm",    "--name", "--runtime", "--runtime-command",
                           "--config", "--log-level"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_non_null(strstr(out, flags[i]));
    free(out);
    proc_kill(&p);
}

static void test_config_file(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    assert_int_equal(harness_tmpdir(dir), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:b, s:s, s:i, s:[{s:s, s:s}, s]}", "mqtt",
                            "127.0.0.1", "mqtt_port", S.broker.port, "realm", S.realm, "name",
                            "node-cfg", "use_ssl", 0, "http", "localhost", "http_port", 8000,
                            "runtimes", "type", "test/reg", "name", "fromfile", "test/reg");
    assert_non_null(cfg);
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    const char *argv[] = {harness_stratus_path(), "manager", "--config", path, NULL};
    assert_int_equal(proc_start(&S.manager, (char *const *)argv), 0);
    S.manager_started = 1;
    char *mgr = stack_wait_registration(&S, "manager", "node-cfg", NULL);
    assert_non_null(mgr);
    struct message *m = NULL;
    char *rt = stack_wait_registration(&S, "runtime", "fromfile", &m);
    assert_non_null(rt);
    assert_true(json_at_equals(m->json, "data.runtime_type", "test/reg"));
    assert_true(json_at_equals(m->json, "data.parent", mgr));
    message_free(m);
    free(rt);
    free(mgr);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers_manager_and_runtimes,
                                        stack_fixture_new_realm, stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_identity_survives_restart, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_given_uuid_is_used, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_unanswered_registration_is_retried,
                                        stack_fixture_new_realm, stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_answered_registration_is_not_retried,
                                        stack_fixture_new_realm, stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_last_will_on_kill9, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_unknown_runtime_type_refused, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_help, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
        cmocka_unit_test_setup_teardown(test_config_file, stack_fixture_new_realm,
                                        stack_fixture_kill_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
