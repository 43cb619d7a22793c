/* Integration tests of the benchmarking runtime types under a real `stratus
 * manager` and a real mosquitto: a series of args.repeat runs and its
 * benchmarking record, a series cut by args.limit (the runs done are
 * reported), per-run argv lists, failing runs (zeros and a reason in the
 * module log), args.ilimit, the opcode records of a hand-written module
 * (prefixed instructions included), interference of two modules, an
 * external engine configured as a command (`stratus exec` itself) and a
 * missing engine. The records are decoded with the protocol library's
 * decoder, the one the collector uses. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack.h"
#include "stratus/profile_record.h"

static struct stack S;
static char MODDIR[PATH_MAX];
static char *RT;

static int install(const char *dir, const char *name)
{
    return harness_copy_into(dir, name, MODDIR);
}

static int group_setup(void **state)
{
    (void)state;
    if (stack_broker_up(&S) || harness_tmpdir(MODDIR)) return -1;
    const char *mods[] = {"exit_code.wasm", "spin.wasm", "trap.wasm", "busy.wasm",
                          "opcode_mix.wasm"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (install(RT_TEST_MODULES, mods[i])) return -1;
    return install(RT_EXAMPLES, "hello.wasm");
}

/* A manager with one runtime of `type` and the engine `exec` (`stratus
 * exec` itself as an external engine). */
static int start_runtime(const char *type)
{
    static char engine[PATH_MAX + 64];
    snprintf(engine, sizeof engine, "exec=%s exec {file} {args}", harness_stratus_path());
    const char *more[] = {"--engine", engine, NULL};
    RT = stack_start_runtime(&S, type, RT_PROGRAM, MODDIR, more);
    return RT ? 0 : -1;
}

static int setup_bench(void **state)
{
    (void)state;
    return start_runtime("benchmarking");
}

static int setup_opcodes(void **state)
{
    (void)state;
    return start_runtime("benchmarking/opcodes");
}

static int setup_interference(void **state)
{
    (void)state;
    return start_runtime("benchmarking/interference");
}

static int teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(RT);
    RT = NULL;
    return 0;
}

/* Create `file` with args (JSON text); returns the module's uuid. */
static char *create_ok(const char *file, const char *args_json)
{
    char *uuid = random_uuid();
    json_t *args = json_loads(args_json, 0, NULL);
    assert_non_null(args);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "module", "uuid", uuid, "name",
                             "bench", "file", file, "args", args);
    struct message *r = stack_create(&S, RT, data);
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return uuid;
}

static struct message *wait_exit(const char *uuid)
{
    struct message *m = stack_wait_exited(&S, RT, uuid, 60000);
    if (!m) fail_msg("no exited message for %s", uuid);
    return m;
}

/* The record of `type` for the module, decoded. */
static void wait_record(const char *type, const char *uuid, struct profile_record *rec)
{
    char topic[512];
    snprintf(topic, sizeof topic, "%s/proc/profile/%s/%s/%s", S.realm, type, RT, uuid);
    struct message *m = NULL;
    if (client_wait(S.client, topic, 60000, NULL, NULL, &m)) fail_msg("no %s record", type);
    char err[PROFILE_ERR_LEN];
    if (profile_record_decode(type, (const uint8_t *)m->payload, m->len, rec, err))
        fail_msg("the %s record does not decode: %s", type, err);
    message_free(m);
}

static long long exit_int(struct message *m, const char *path)
{
    json_t *v = json_at(m->json, path);
    if (!json_is_integer(v)) fail_msg("exit %s has no integer %s", m->payload, path);
    return (long long)json_integer_value(v);
}

static void test_repeat(void **state)
{
    (void)state;
    char *u = create_ok("hello.wasm", "{\"repeat\": 5}");
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 5);
    for (size_t i = 0; i < rec.nruns; i++) {
        assert_true(rec.runs[i].wall_us > 0);
        /* CPU time of a run cannot exceed its wall time by more than the
         * clocks' granularity. */
        assert_true(rec.runs[i].utime_us + rec.runs[i].stime_us <= rec.runs[i].wall_us + 4000);
    }
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.status", "exited"));
    assert_int_equal(exit_int(m, "data.runs"), 5);
    assert_int_equal(exit_int(m, "data.failed"), 0);
    assert_int_equal(exit_int(m, "data.exit_code"), 0);
    message_free(m);
    profile_record_free(&rec);
    free(u);
}

static void test_limit_cuts_series(void **state)
{
    (void)state;
    long long t0 = harness_now_ms();
    char *u = create_ok("busy.wasm", "{\"repeat\": 100000, \"limit\": 1, \"argv\": [\"0\"]}");
    struct message *m = wait_exit(u);
    long long took = harness_now_ms() - t0;
    long long runs = exit_int(m, "data.runs");
    if (runs <= 0 || runs >= 100000) fail_msg("exit %s", m->payload);
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "args.limit"));
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, (size_t)runs);
    for (size_t i = 0; i < rec.nruns; i++)
        assert_true(rec.runs[i].wall_us > 0); /* only whole runs are reported */
    /* The series ended at its limit, not after 100,000 runs. */
    assert_true(took < 20000);
    message_free(m);
    profile_record_free(&rec);
    free(u);
}

static void test_argv_lists_and_failed_run(void **state)
{
    (void)state;
    char *u = create_ok("exit_code.wasm",
                        "{\"repeat\": 3, \"argv\": [[\"0\"], [\"3\"], [\"0\", \"x\"]]}");
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 3);
    assert_true(rec.runs[0].wall_us > 0);
    /* The run that exited with 3 failed: zeros. */
    assert_int_equal(rec.runs[1].wall_us, 0);
    assert_int_equal(rec.runs[1].utime_us, 0);
    assert_int_equal(rec.runs[1].stime_us, 0);
    assert_true(rec.runs[2].wall_us > 0);
    struct message *m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.runs"), 3);
    assert_int_equal(exit_int(m, "data.failed"), 1);
    message_free(m);
    assert_int_equal(
        proc_log_wait(&S.manager, "run 2 of exit_code.wasm failed: exit code 3", WAIT_MS), 0);
    /* Each run had its own argv: the output shows all three. */
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u);
    int seen3 = 0, seenx = 0;
    struct message *o;
    while (!client_wait(S.client, topic, 2000, NULL, NULL, &o)) {
        seen3 |= strstr(o->payload, "argv[1]=3") != NULL;
        seenx |= strstr(o->payload, "argv[2]=x") != NULL;
        message_free(o);
        if (seen3 && seenx) break;
    }
    assert_true(seen3 && seenx);
    profile_record_free(&rec);
    free(u);
}

static void test_trap_and_ilimit(void **state)
{
    (void)state;
    char *u = create_ok("trap.wasm", "{\"repeat\": 2}");
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 2);
    assert_int_equal(rec.runs[0].wall_us, 0);
    assert_int_equal(rec.runs[1].wall_us, 0);
    profile_record_free(&rec);
    struct message *m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.failed"), 2);
    assert_int_equal(exit_int(m, "data.exit_code"), 1);
    message_free(m);
    assert_int_equal(proc_log_wait(&S.manager, "run 1 of trap.wasm failed: trapped", WAIT_MS), 0);
    free(u);

    /* A run that never ends is stopped at args.ilimit and counts as failed. */
    long long t0 = harness_now_ms();
    u = create_ok("spin.wasm", "{\"repeat\": 2, \"ilimit\": 0.3}");
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 2);
    assert_int_equal(rec.runs[0].wall_us, 0);
    assert_int_equal(rec.runs[1].wall_us, 0);
    m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.failed"), 2);
    assert_true(harness_now_ms() - t0 < 20000);
    message_free(m);
    assert_int_equal(proc_log_wait(&S.manager, "failed: stopped at args.ilimit (0.3 s)", WAIT_MS),
                     0);
    profile_record_free(&rec);
    free(u);
}

static void test_delete_ends_series(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", "{\"repeat\": 10}");
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u);
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, NULL, NULL, NULL), 0);
    assert_int_equal(stack_publish_delete(&S, RT, u), 0);
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.status", "killed"));
    assert_int_equal(exit_int(m, "data.runs"), 0);
    message_free(m);
    free(u);
}

static void test_opcode_counts(void **state)
{
    (void)state;
    char *u = create_ok("opcode_mix.wasm", "{}");
    struct profile_record ops, fc;
    wait_record("opcodes", u, &ops);
    wait_record("opcodes_prefixed", u, &fc);
    assert_int_equal(ops.opcodes[0x41], 20); /* i32.const */
    assert_int_equal(ops.opcodes[0x6A], 5);  /* i32.add */
    assert_int_equal(ops.opcodes[0x49], 5);  /* i32.lt_u */
    assert_int_equal(ops.opcodes[0x0D], 5);  /* br_if */
    assert_int_equal(ops.opcodes[0x43], 1);  /* f32.const */
    assert_int_equal(ops.opcodes[0x1A], 1);  /* drop */
    assert_int_equal(ops.opcodes[0xFC], 4);  /* every prefixed instruction */
    uint64_t by_sub[32] = {0};
    for (size_t i = 0; i < fc.nprefixed; i++) {
        assert_int_equal(fc.prefixed[i].prefix, 0xFC);
        assert_true(fc.prefixed[i].sub < 32);
        by_sub[fc.prefixed[i].sub] += fc.prefixed[i].count;
    }
    assert_int_equal(by_sub[0], 1);  /* i32.trunc_sat_f32_s */
    assert_int_equal(by_sub[10], 2); /* memory.copy */
    assert_int_equal(by_sub[11], 1); /* memory.fill */
    uint64_t sum = 0;
    for (int i = 0; i < 32; i++)
        sum += by_sub[i];
    assert_int_equal(sum, ops.opcodes[0xFC]);
    struct message *m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.exit_code"), 0);
    message_free(m);
    profile_record_free(&ops);
    profile_record_free(&fc);
    free(u);
}

static void test_interference(void **state)
{
    (void)state;
    char *u = create_ok("hello.wasm:busy.wasm", "{\"limit\": 1.5, \"argv\": [\"0\"]}");
    struct profile_record rec;
    wait_record("interference", u, &rec);
    assert_int_equal(rec.nseries, 2);
    int seen[2] = {0, 0};
    for (size_t i = 0; i < rec.nseries; i++) {
        if (!strcmp(rec.series[i].key, "0:hello.wasm")) seen[0] = 1;
        if (!strcmp(rec.series[i].key, "1:busy.wasm")) seen[1] = 1;
        if (!rec.series[i].nruns)
            fail_msg("no runs of %s (the other: %zu runs, first %u us)", rec.series[i].key,
                     rec.series[1 - i].nruns, rec.series[1 - i].wall_us[0]);
        for (size_t k = 0; k < rec.series[i].nruns; k++)
            assert_true(rec.series[i].wall_us[k] > 0);
    }
    assert_true(seen[0] && seen[1]);
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.status", "exited"));
    assert_int_equal(exit_int(m, "data.runs"),
                     (long long)(rec.series[0].nruns + rec.series[1].nruns));
    message_free(m);
    profile_record_free(&rec);
    free(u);
}

static void test_external_engine(void **state)
{
    (void)state;
    char *u = create_ok("exit_code.wasm", "{\"repeat\": 4, \"engine\": [\"exec\", \"stratus\"], "
                                          "\"argv\": [[\"0\"], [\"0\"], [\"5\"], [\"0\"]]}");
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 4);
    assert_true(rec.runs[0].wall_us > 0);     /* exec */
    assert_true(rec.runs[1].wall_us > 0);     /* built in */
    assert_int_equal(rec.runs[2].wall_us, 0); /* exec, exit status 5 */
    assert_true(rec.runs[3].wall_us > 0);
    /* The child's CPU time comes from wait4: a process start costs some. */
    assert_true(rec.runs[0].utime_us + rec.runs[0].stime_us > 0);
    struct message *m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.failed"), 1);
    message_free(m);
    assert_int_equal(proc_log_wait(&S.manager, "failed: exec exited with status 5", WAIT_MS), 0);
    profile_record_free(&rec);
    free(u);

    /* An external run over args.ilimit is killed: spin under exec. */
    u = create_ok("spin.wasm", "{\"engine\": \"exec\", \"ilimit\": 0.3}");
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 1);
    assert_int_equal(rec.runs[0].wall_us, 0);
    m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.failed"), 1);
    message_free(m);
    profile_record_free(&rec);
    free(u);
}

/* The built-in engine's tiers by name: each run succeeds (the compiled
 * tier falls back to the interpreter where no C compiler is found). */
static void test_builtin_tiers(void **state)
{
    (void)state;
    char *u = create_ok("exit_code.wasm", "{\"repeat\": 3, \"engine\": [\"interp\", \"aot\", "
                                          "\"auto\"], \"argv\": [\"0\"]}");
    struct profile_record rec;
    wait_record("benchmarking", u, &rec);
    assert_int_equal(rec.nruns, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(rec.runs[i].wall_us > 0);
    struct message *m = wait_exit(u);
    assert_int_equal(exit_int(m, "data.failed"), 0);
    message_free(m);
    profile_record_free(&rec);
    free(u);
}

static void test_missing_engine(void **state)
{
    (void)state;
    char *u = create_ok("hello.wasm", "{\"engine\": \"nope\"}");
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.status", "failed"));
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "no engine 'nope'"));
    assert_non_null(strstr(reason, "exec"));
    message_free(m);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeat, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_limit_cuts_series, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_argv_lists_and_failed_run, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_trap_and_ilimit, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_delete_ends_series, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_external_engine, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_builtin_tiers, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_missing_engine, setup_bench, teardown),
        cmocka_unit_test_setup_teardown(test_opcode_counts, setup_opcodes, teardown),
        cmocka_unit_test_setup_teardown(test_interference, setup_interference, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
