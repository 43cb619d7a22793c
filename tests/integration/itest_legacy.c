/* Integration test of a runtime type declared in the manager's
 * configuration for an original Silverline runtime: the fake runtime in
 * legacy mode, launched the original manager's way (`sh -c "COMMAND INDEX"`
 * in the module directory, socket {socket_dir}/{INDEX %02x}.s, the 6-byte
 * header), with one slot: one module at a time, its output on its own
 * topic, a delete the runtime never confirms ends in `killed` after the
 * deadline and frees the slot, and stopping the manager leaves no process
 * of the runtime's group behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

#define TYPE "linux/min/fake-original"

static struct stack S;
static char DIR_[PATH_MAX], SLDIR[PATH_MAX + 8], MODDIR[PATH_MAX];

static int group_setup(void **state)
{
    (void)state;
    if (stack_broker_up(&S) || harness_tmpdir(DIR_) || harness_tmpdir(MODDIR)) return -1;
    /* The original launch's socket directory: made private by the manager. */
    snprintf(SLDIR, sizeof SLDIR, "%s/sl", DIR_);
    return 0;
}

/* A manager hosting one runtime of the declared type; returns its uuid. */
static char *start_original_runtime(void)
{
    char path[PATH_MAX + 32], command[2 * PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.json", DIR_, S.realm);
    snprintf(command, sizeof command, "%s --sl-dir %s", harness_fake_runtime_path(), SLDIR);
    json_t *cfg = json_pack("{s:[{s:s, s:s, s:[s, s, s], s:i, s:s, s:s, s:s}], s:[s], s:f, s:s}",
                            "runtime_types", "type", TYPE, "command", command, "apis", "wasm",
                            "wasi", "stdio:out", "max_nmodules", 1, "header", "legacy", "launch",
                            "original", "socket_dir", SLDIR, "runtimes", TYPE ":orig",
                            "delete_timeout", 1.0, "module_dir", MODDIR);
    assert_non_null(cfg);
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    const char *extra[] = {"--config", path, NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    struct message *reg = NULL;
    char *rt = stack_wait_registration(&S, "runtime", "orig", &reg);
    assert_non_null(rt);
    assert_true(json_at_equals(reg->json, "data.runtime_type", TYPE));
    assert_true(json_at_equals(reg->json, "data.max_nmodules", "1"));
    message_free(reg);
    return rt;
}

static char *create_ok(const char *rt, const char *script)
{
    char *u = random_uuid();
    struct message *r = stack_create(&S, rt, module_data(u, "m", steps(script)));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return u;
}

static int payload_is(const struct message *m, void *ctx)
{
    return m->len == strlen(ctx) && !memcmp(m->payload, ctx, m->len);
}

static void expect_output(const char *uuid, const char *text)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, uuid);
    if (client_wait(S.client, topic, WAIT_MS, payload_is, (void *)text, NULL))
        fail_msg("no '%s' on %s", text, topic);
}

static void test_original_runtime_one_slot(void **state)
{
    (void)state;
    char *rt = start_original_runtime();
    /* Launched the original way: its working directory is the module
     * directory, and it runs the create it gets. */
    char *probe = create_ok(rt, "[{\"exit_echo\": true}]");
    struct message *e = stack_wait_exited(&S, rt, probe, WAIT_MS);
    assert_non_null(e);
    char real[PATH_MAX];
    assert_non_null(realpath(MODDIR, real));
    assert_true(json_at_equals(e->json, "data.seen_cwd", real));
    assert_true(json_at_equals(e->json, "data.seen_index", "0"));
    message_free(e);
    struct stat st;
    char sock[PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/00.s", SLDIR);
    assert_int_equal(stat(SLDIR, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);

    /* One module at a time; output on its own topic. */
    char *a = create_ok(rt, "[{\"open\": 1, \"flags\": 2, \"topic\": \"$SL/proc/stdio\"},"
                            " {\"publish\": 1, \"data\": \"from a\"}, {\"ignore_delete\": true}]");
    expect_output(a, "from a");
    char *b = random_uuid();
    struct message *r = stack_create(&S, rt, module_data(b, "b", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "error"));
    assert_non_null(strstr(json_str_at(r->json, "data.details.reason"), "full"));
    message_free(r);

    /* A delete the runtime never confirms: killed after the deadline. */
    long long t0 = harness_now_ms();
    assert_int_equal(stack_publish_delete(&S, rt, a), 0);
    e = stack_wait_exited(&S, rt, a, WAIT_MS);
    assert_non_null(e);
    assert_true(harness_now_ms() - t0 >= 900);
    assert_true(json_at_equals(e->json, "data.status", "killed"));
    assert_non_null(strstr(json_str_at(e->json, "data.reason"), "no exit within 1.0 s"));
    message_free(e);

    /* The slot is free again; the new module's output is on its topic. */
    char pidfile[PATH_MAX + 32], script[PATH_MAX + 256];
    snprintf(pidfile, sizeof pidfile, "%s/%s.child", DIR_, S.realm);
    snprintf(script, sizeof script,
             "[{\"spawn_child\": \"%s\"}, {\"open\": 1, \"flags\": 2, \"topic\": "
             "\"$SL/proc/stdio\"}, {\"publish\": 1, \"data\": \"from c\"}]",
             pidfile);
    char *c = create_ok(rt, script);
    expect_output(c, "from c");
    pid_t child = harness_read_pidfile(pidfile, WAIT_MS);
    assert_true(child > 0);
    assert_int_equal(kill(child, 0), 0);

    /* Stopping the manager stops the runtime's whole process group. */
    assert_int_equal(proc_signal(&S.manager, SIGTERM), 0);
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    S.manager_started = 0;
    long long end = harness_now_ms() + WAIT_MS;
    int gone = 0;
    while (!gone && harness_now_ms() < end) {
        harness_reap(); /* the test is the subreaper of orphans */
        gone = kill(child, 0) < 0 && errno == ESRCH;
        if (!gone) usleep(10000);
    }
    assert_true(gone);
    assert_int_equal(access(sock, F_OK), -1);
    free(a);
    free(b);
    free(c);
    free(probe);
    free(rt);
}

/* Declared types are checked: test/ names are reserved, commands needed. */
static void test_declaration_refused(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s-bad.json", DIR_, S.realm);
    json_t *cfg = json_pack("{s:[{s:s, s:s}], s:[s]}", "runtime_types", "type", "test/mine",
                            "command", "/bin/true", "runtimes", "test/mine");
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    const char *extra[] = {"--config", path, NULL};
    assert_int_equal(stack_manager_start(&S, "bad", extra), 0);
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    S.manager_started = 0;
    assert_true(WIFEXITED(S.manager.status) && WEXITSTATUS(S.manager.status) == 2);
    assert_int_equal(proc_log_wait(&S.manager, "reserved for Stratus's tests", WAIT_MS), 0);
}

int main(void)
{
    harness_init();
#define T(name)                                                                                    \
    cmocka_unit_test_setup_teardown(name, stack_fixture_new_realm, stack_fixture_kill_manager)
    const struct CMUnitTest tests[] = {
        T(test_original_runtime_one_slot),
        T(test_declaration_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
