/* Integration tests of the node against hostile or careless requests and
 * modules (issue: node reliability and security): module UUIDs that collide
 * with the node's own are refused; creates that can never run are answered
 * `error` up front with the first problem; runtime processes get a minimal
 * environment without the manager's secrets; log text from runtimes is
 * sanitised; a socket directory left by a killed manager is removed at the
 * next start. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static void expect_refused(const char *runtime, json_t *data, const char *reason_part)
{
    struct message *r = stack_create(&S, runtime, data);
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "error"))
        fail_msg("expected an error answer, got %s", r->payload);
    const char *reason = json_str_at(r->json, "data.details.reason");
    if (!reason || !strstr(reason, reason_part))
        fail_msg("reason '%s' lacks '%s'", reason ? reason : "(none)", reason_part);
    message_free(r);
}

/* A module may not take the UUID of the manager, of a runtime, or of a
 * module of another runtime of the node; a repeat to the same runtime is
 * the same module (ok, not run twice). */
static void test_uuid_collisions(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", "--runtime", "test/fake:g", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *mgr = stack_wait_registration(&S, "manager", "node", NULL);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    char *g = stack_wait_registration(&S, "runtime", "g", NULL);
    assert_non_null(mgr);
    assert_non_null(f);
    assert_non_null(g);
    const char *taken[] = {mgr, f, g};
    for (int i = 0; i < 3; i++)
        expect_refused(f, module_data(taken[i], "thief", NULL), "is taken on this node");
    char *mod = random_uuid();
    struct message *r = stack_create(&S, g, module_data(mod, "first", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    expect_refused(f, module_data(mod, "thief", NULL), "is taken on this node");
    r = stack_create(&S, g, module_data(mod, "first", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    free(mod);
    free(mgr);
    free(f);
    free(g);
}

static json_t *with_args(const char *args_json)
{
    char *uuid = random_uuid();
    json_t *d = module_data(uuid, "late", NULL);
    free(uuid);
    json_object_set_new(d, "args", json_loads(args_json, 0, NULL));
    return d;
}

/* What used to be answered ok and then end in `failed`: refused at once,
 * with the first problem, and nothing reaches the runtime. */
static void test_late_problems_answered_up_front(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);

    json_t *argv = json_array();
    for (int i = 0; i < 1025; i++)
        json_array_append_new(argv, json_string("a"));
    json_t *d = with_args("{}");
    json_object_set_new(json_object_get(d, "args"), "argv", argv);
    expect_refused(f, d, "field 'args.argv' has more than 1024 entries");
    expect_refused(f, with_args("{\"env\": [\"NOEQUALS\"]}"),
                   "field 'args.env[0]' must be NAME=value");
    expect_refused(f, with_args("{\"dirs\": [\"../..\"]}"), "field 'args.dirs[0]' may not leave");
    expect_refused(f, with_args("{\"dirs\": [\"/etc\"]}"), "must be a path relative");
    expect_refused(f, with_args("{\"resources\": {\"period\": 5}}"), "field 'args.resources'");
    expect_refused(f, with_args("{\"resources\": {\"period\": 1000000, \"runtime\": 9000000}}"),
                   "runtime within 1024 ns..period");
    expect_refused(f, with_args("{\"fault_crash\": \"sometimes\"}"), "field 'args.fault_crash'");
    d = with_args("{}");
    json_object_set_new(
        d, "channels",
        json_loads("[{\"path\": \"o\", \"mode\": \"w\", \"topic\": \"a/#\"}]", 0, NULL));
    expect_refused(f, d, "a writable channel may not hold + or #");
    d = with_args("{}");
    json_object_set_new(d, "file", json_string("/etc/passwd"));
    expect_refused(f, d, "field 'file' must be a path relative to the module directory");
    d = with_args("{}");
    json_object_set_new(
        d, "channels",
        json_loads("[{\"path\": \"o\", \"mode\": \"wr\", \"topic\": \"a/b\"}]", 0, NULL));
    struct message *r = stack_create(&S, f, d);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok")); /* "wr" is "rw" */
    message_free(r);
    free(f);
}

static int has_name(json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (!strcmp(json_string_value(v), name)) return 1;
    return 0;
}

/* The runtime process sees PATH and its own STRATUS_ variables, never the
 * manager's other variables (the broker password among them). */
static void test_runtime_environment_is_minimal(void **state)
{
    (void)state;
    setenv("ITEST_SECRET_TOKEN", "hunter2", 1);
    setenv("STRATUS_MQTT_PASSWORD", "not-for-runtimes", 1);
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    int rc = stack_manager_start(&S, "node", extra);
    unsetenv("ITEST_SECRET_TOKEN");
    unsetenv("STRATUS_MQTT_PASSWORD");
    assert_int_equal(rc, 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    char *u = random_uuid();
    struct message *r =
        stack_create(&S, f, module_data(u, "env", steps("[{\"exit_echo\": true}]")));
    assert_non_null(r);
    message_free(r);
    struct message *e = stack_wait_exited(&S, f, u, WAIT_MS);
    assert_non_null(e);
    json_t *names = json_at(e->json, "data.seen_vars");
    assert_true(json_is_array(names));
    assert_true(has_name(names, "PATH"));
    assert_true(has_name(names, "STRATUS_RUNTIME_UUID"));
    assert_false(has_name(names, "ITEST_SECRET_TOKEN"));
    assert_false(has_name(names, "STRATUS_MQTT_PASSWORD"));
    assert_false(has_name(names, "STRATUS_STATE_DIR"));
    message_free(e);
    free(u);
    free(f);
}

/* A terminal escape (CSI, U+009B) in a runtime's log reaches the manager's
 * log as text, not as the control character. */
static void test_runtime_log_sanitised(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    char *u = random_uuid();
    struct message *r = stack_create(
        &S, f,
        module_data(u, "log",
                    steps("[{\"log\": [30, \"bell\\u0007 csi\\u009b[31m red caf\\u00e9\"]}]")));
    assert_non_null(r);
    message_free(r);
    assert_int_equal(proc_log_wait(&S.manager, "bell  csi\\xc2\\x9b[31m red caf\xc3\xa9", WAIT_MS),
                     0);
    char *log = proc_log_read(&S.manager);
    assert_non_null(log);
    assert_null(strstr(log, "\xc2\x9b"));
    free(log);
    free(u);
    free(f);
}

static int count_socket_dirs(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += !strncmp(e->d_name, "stratus-mgr-", 12);
    closedir(d);
    return n;
}

/* kill -9 leaves the socket directory behind; the next start of the same
 * manager removes it, and a clean stop leaves nothing. */
static void test_stale_socket_dir_removed(void **state)
{
    (void)state;
    char tmp[PATH_MAX];
    assert_int_equal(harness_tmpdir(tmp), 0);
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", tmp, 1);
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    int rc = stack_manager_start(&S, "node", extra);
    assert_int_equal(rc, 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    free(f);
    assert_int_equal(count_socket_dirs(tmp), 1);
    stack_manager_kill(&S); /* SIGKILL: no cleanup of its own */
    assert_int_equal(count_socket_dirs(tmp), 1);

    rc = stack_manager_start(&S, "node", extra);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    assert_int_equal(rc, 0);
    f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    free(f);
    assert_int_equal(proc_log_wait(&S.manager, "left behind by this manager's last run", WAIT_MS),
                     0);
    assert_int_equal(count_socket_dirs(tmp), 1);
    assert_int_equal(proc_signal(&S.manager, SIGTERM), 0);
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    S.manager_started = 0;
    assert_int_equal(count_socket_dirs(tmp), 0);
}

int main(void)
{
    harness_init();
#define T(name)                                                                                    \
    cmocka_unit_test_setup_teardown(name, stack_fixture_new_realm, stack_fixture_kill_manager)
    const struct CMUnitTest tests[] = {
        T(test_uuid_collisions),
        T(test_late_problems_answered_up_front),
        T(test_runtime_environment_is_minimal),
        T(test_runtime_log_sanitised),
        T(test_stale_socket_dir_removed),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
