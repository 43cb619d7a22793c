/* Integration tests of the runtime process stratus-runtime under a real
 * `stratus manager` and a real mosquitto: modules created over MQTT run,
 * print on their stdio topic, read what is published there, and report their
 * exit (exit code, trap, kill by delete, refused files, a crashed runtime
 * process); 128 modules at once; channels between modules and MQTT clients
 * with their permissions; fault_crash restarts; CPU reservations. The .wasm files are compiled from
 * C at build time (examples/ and tests/runtimes/modules/) and copied into a private module
 * directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;
static char MODDIR[PATH_MAX];  /* the manager's --module-dir */
static char OUTSIDE[PATH_MAX]; /* a directory beside it */
static char *RT;               /* uuid of the current test's runtime */

static int install(const char *dir, const char *name)
{
    return harness_copy_into(dir, name, MODDIR);
}

static int group_setup(void **state)
{
    (void)state;
    if (stack_broker_up(&S) || harness_tmpdir(MODDIR) || harness_tmpdir(OUTSIDE)) return -1;
    const char *mods[] = {"exit_code.wasm",  "spin.wasm",      "trap.wasm",
                          "big_output.wasm", "read_dir.wasm",  "chan_probe.wasm",
                          "trap_once.wasm",  "line_once.wasm", "alloc_until_refused.wasm",
                          "oob.wasm"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (install(RT_TEST_MODULES, mods[i])) return -1;
    const char *examples[] = {"hello.wasm", "echo.wasm", "counter.wasm", "relay.wasm"};
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if (install(RT_EXAMPLES, examples[i])) return -1;
    char path[PATH_MAX + 64], link_to[PATH_MAX + 64];
    /* A symlink inside the module directory that leads out of it. */
    snprintf(link_to, sizeof link_to, "%s/hello.wasm", OUTSIDE);
    snprintf(path, sizeof path, "%s/hello.wasm", MODDIR);
    if (harness_copy_file(path, link_to)) return -1;
    snprintf(path, sizeof path, "%s/escape.wasm", MODDIR);
    if (symlink(link_to, path)) return -1;
    /* A directory where trap_once keeps its marker. */
    snprintf(path, sizeof path, "%s/state", MODDIR);
    if (mkdir(path, 0700)) return -1;
    /* A data directory for the preopen test. */
    snprintf(path, sizeof path, "%s/data", MODDIR);
    if (mkdir(path, 0700)) return -1;
    snprintf(path, sizeof path, "%s/data/input.txt", MODDIR);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("content of the data file\n", f);
    return fclose(f);
}

/* A fresh realm and a manager with one runtime of `type`. */
static int start_runtime(const char *type)
{
    RT = stack_start_runtime(&S, type, RT_PROGRAM, MODDIR, NULL);
    return RT ? 0 : -1;
}

static int setup_minimal(void **state)
{
    (void)state;
    return start_runtime("linux/minimal");
}

static int setup_linux(void **state)
{
    (void)state;
    return start_runtime("linux");
}

static int teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(RT);
    RT = NULL;
    return 0;
}

/* Create data for `file` with optional args and channels (JSON text). */
static json_t *create_data(const char *uuid, const char *file, const char *args_json,
                           const char *channels_json)
{
    json_t *args = args_json ? json_loads(args_json, 0, NULL) : json_object();
    json_t *channels = channels_json ? json_loads(channels_json, 0, NULL) : json_array();
    assert_non_null(args);
    assert_non_null(channels);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "type", "module", "uuid", uuid, "name", "m",
                     "file", file, "args", args, "channels", channels);
}

/* Create and expect the manager's ok; returns the module uuid (caller frees). */
static char *create_with_channels(const char *file, const char *args_json,
                                  const char *channels_json)
{
    char *uuid = random_uuid();
    struct message *r = stack_create(&S, RT, create_data(uuid, file, args_json, channels_json));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return uuid;
}

static char *create_ok(const char *file, const char *args_json)
{
    return create_with_channels(file, args_json, NULL);
}

static struct message *wait_exit(const char *uuid)
{
    struct message *m = stack_wait_exited(&S, RT, uuid, WAIT_MS);
    if (!m) fail_msg("no exited message for %s", uuid);
    return m;
}

/* Concatenate what the module published on its stdio topic until `want`
 * bytes arrived or the wait ends. Returns a malloc'd NUL-terminated text. */
static char *collect_output(const char *uuid, size_t want, long long wait_ms, size_t *got)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, uuid);
    size_t len = 0, cap = want + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    long long end = harness_now_ms() + wait_ms;
    while (len < want) {
        long long left = end - harness_now_ms();
        struct message *m = NULL;
        if (left <= 0 || client_wait(S.client, topic, (int)left, NULL, NULL, &m)) break;
        if (len + m->len + 1 > cap) {
            cap = (len + m->len + 1) * 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        memcpy(text + len, m->payload, m->len);
        len += m->len;
        message_free(m);
    }
    text[len] = '\0';
    *got = len;
    return text;
}

static void expect_output_within(const char *uuid, const char *expected, long long wait_ms)
{
    size_t got;
    char *text = collect_output(uuid, strlen(expected), wait_ms, &got);
    if (strcmp(text, expected)) fail_msg("output was [%s], expected [%s]", text, expected);
    free(text);
}

static void expect_output(const char *uuid, const char *expected)
{
    expect_output_within(uuid, expected, WAIT_MS);
}

/* A module run with engine "aot" that is not in the cache yet is compiled
 * before it starts: under a loaded machine (beside a compiled busy loop)
 * that alone can take longer than WAIT_MS. */
#define AOT_FIRST_OUTPUT_MS (6 * WAIT_MS)

static void expect_status(struct message *m, const char *status)
{
    if (!json_at_equals(m->json, "data.status", status))
        fail_msg("exit was %s, expected status %s", m->payload, status);
}

/* Wait for the module's exit and check its status and, when given, its
 * exit code. */
static void expect_exit(const char *uuid, const char *status, const char *exit_code)
{
    struct message *m = wait_exit(uuid);
    expect_status(m, status);
    if (exit_code) assert_true(json_at_equals(m->json, "data.exit_code", exit_code));
    message_free(m);
}

/* ---- tests ---- */

static void test_hello(void **state)
{
    (void)state;
    long long t0 = harness_now_ms();
    char *u = create_ok("hello.wasm", "{\"argv\": [\"one\", \"two words\"]}");
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u);
    struct message *first = NULL;
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, NULL, NULL, &first), 0);
    long long t_first = first->t_ms;
    /* Put it back in front of the rest: collect it with them. */
    size_t got;
    char *rest = collect_output(
        u, strlen("Hello from Stratus!\narg 1: one\narg 2: two words\n") - first->len, WAIT_MS,
        &got);
    char all[256];
    snprintf(all, sizeof all, "%s%s", first->payload, rest);
    assert_string_equal(all, "Hello from Stratus!\narg 1: one\narg 2: two words\n");
    free(rest);
    message_free(first);
    struct message *m = wait_exit(u);
    print_message("hello: first output %lld ms, exit %lld ms after the create was sent\n",
                  t_first - t0, m->t_ms - t0);
    expect_status(m, "exited");
    assert_true(json_at_equals(m->json, "data.exit_code", "0"));
    message_free(m);
    free(u);
}

static void test_exit_code_args_env(void **state)
{
    (void)state;
    char *u = create_ok("exit_code.wasm", "{\"argv\": [\"7\"], \"env\": [\"GREETING=hi there\"]}");
    expect_output(u, "argv[0]=exit_code.wasm\nargv[1]=7\nGREETING=hi there\n");
    expect_exit(u, "exited", "7");
    free(u);
}

static int payload_is(const struct message *m, void *ctx)
{
    return !strcmp(m->payload, (const char *)ctx);
}

/* Wait until the manager subscribed to the module's stdio topic, so that a
 * line published now reaches the module. */
static void wait_stdin_ready(const char *uuid)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, uuid);
    long long end = harness_now_ms() + WAIT_MS;
    while (broker_subscribe_count(&S.broker, topic) < 1) {
        if (harness_now_ms() > end) fail_msg("nobody subscribed to %s", topic);
        usleep(10000);
    }
}

static void test_stdin_round_trip(void **state)
{
    (void)state;
    char *u = create_ok("echo.wasm", NULL);
    wait_stdin_ready(u);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u);
    const char *lines[] = {"first line\n", "second line\n", "third\n"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(client_publish_str(S.client, topic, lines[i]), 0);
        /* Our own publish comes back to us once; the echo is the second. */
        for (int k = 0; k < 2; k++)
            if (client_wait(S.client, topic, WAIT_MS, payload_is, (void *)lines[i], NULL))
                fail_msg("line %d: %s seen %d times, want 2", i, lines[i], k);
    }
    struct message *r = stack_delete(&S, RT, u);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    long long t0 = harness_now_ms();
    struct message *m = wait_exit(u);
    print_message("blocked on stdin: exited %lld ms after the delete answer\n",
                  harness_now_ms() - t0);
    expect_status(m, "killed");
    message_free(m);
    free(u);
}

static void test_delete_busy_loop(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", NULL);
    expect_output(u, "spinning\n");
    long long t0 = harness_now_ms();
    struct message *r = stack_delete(&S, RT, u);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    struct message *m = wait_exit(u);
    print_message("busy loop: exited %lld ms after the delete was sent\n", harness_now_ms() - t0);
    expect_status(m, "killed");
    assert_null(json_at(m->json, "data.exit_code"));
    message_free(m);
    free(u);
}

static void test_trap_reported(void **state)
{
    (void)state;
    char *u = create_ok("trap.wasm", NULL);
    expect_output(u, "about to trap\n");
    struct message *m = wait_exit(u);
    expect_status(m, "trapped");
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    if (!strstr(reason, "integer divide by zero")) fail_msg("reason: %s", reason);
    /* and where: the module is built with its name section */
    if (!strstr(reason, "(in function '")) fail_msg("reason without the function: %s", reason);
    message_free(m);
    free(u);
}

/* args.max_memory caps the module's memory; the exit reason says the cap
 * refused a growth, with the sizes. Over 4096 MiB is refused up front. */
static void test_memory_cap(void **state)
{
    (void)state;
    char *u = create_ok("alloc_until_refused.wasm", "{\"max_memory\": 4}");
    struct message *m = wait_exit(u);
    expect_status(m, "exited");
    assert_true(json_at_equals(m->json, "data.exit_code", "3"));
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    if (!strstr(reason, "memory.grow to ") || !strstr(reason, " pages refused: limit 64 pages"))
        fail_msg("reason: %s", reason);
    message_free(m);
    free(u);
    u = create_ok("alloc_until_refused.wasm", "{\"max_memory\": 5000}");
    m = wait_exit(u);
    expect_status(m, "failed");
    reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    if (!strstr(reason, "args.max_memory")) fail_msg("reason: %s", reason);
    message_free(m);
    free(u);
}

static void expect_failed(const char *file, const char *needle)
{
    char *u = create_ok(file, NULL);
    struct message *m = wait_exit(u);
    expect_status(m, "failed");
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    if (!strstr(reason, needle)) fail_msg("reason '%s' lacks '%s'", reason, needle);
    message_free(m);
    free(u);
}

static void test_escaping_paths_refused(void **state)
{
    (void)state;
    /* ".." is refused by the manager already. */
    char *u = random_uuid();
    struct message *r = stack_create(&S, RT, create_data(u, "../hello.wasm", NULL, NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "error"));
    message_free(r);
    free(u);
    /* A symlink out of the directory passes the manager; the runtime refuses. */
    expect_failed("escape.wasm", "leaves the module directory");
    /* So is a preopen that leads out. */
    char *v = create_ok("hello.wasm", "{\"dirs\": [\"escape.wasm\"]}");
    expect_exit(v, "failed", NULL);
    free(v);
    expect_failed("missing.wasm", "cannot open 'missing.wasm'");
    expect_failed("data/input.txt", "input.txt");
    /* The runtime still runs modules afterwards. */
    test_hello(state);
}

static void test_second_module_refused(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", NULL);
    expect_output(u, "spinning\n");
    char *v = random_uuid();
    struct message *r = stack_create(&S, RT, create_data(v, "hello.wasm", NULL, NULL));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "error")) fail_msg("2nd create: %s", r->payload);
    message_free(r);
    free(v);
    r = stack_delete(&S, RT, u);
    assert_non_null(r);
    message_free(r);
    expect_exit(u, "killed", NULL);
    free(u);
    /* The slot is free again. */
    test_hello(state);
}

/* The runtime process: the child of the manager named stratus-runtime. */
static pid_t find_runtime_pid(void)
{
    return proc_find_child(S.manager.pid, "stratus-runtime");
}

static void test_runtime_killed(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", NULL);
    expect_output(u, "spinning\n");
    pid_t pid = find_runtime_pid();
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    expect_exit(u, "crashed", NULL);
    free(u);
}

/* The manager vanishes: the runtime process sees the end of its socket, ends
 * its modules and exits instead of living on as an orphan. */
static void test_manager_gone_runtime_exits(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", NULL);
    expect_output(u, "spinning\n");
    pid_t pid = find_runtime_pid();
    assert_true(pid > 0);
    assert_int_equal(proc_signal(&S.manager, SIGKILL), 0);
    long long end = harness_now_ms() + WAIT_MS;
    int gone = 0;
    while (!gone && harness_now_ms() < end) {
        harness_reap();
        gone = kill(pid, 0) < 0;
        if (!gone) usleep(10000);
    }
    assert_true(gone);
    free(u);
}

/* A clean manager shutdown: the stop frame ends the module and the runtime
 * process exits by itself with status 0, before any signal is needed. */
static void test_stop_runtime(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", NULL);
    expect_output(u, "spinning\n");
    assert_int_equal(proc_signal(&S.manager, SIGTERM), 0);
    assert_int_equal(proc_wait_exit(&S.manager, WAIT_MS), 0);
    char *log = proc_log_read(&S.manager);
    assert_non_null(log);
    if (!strstr(log, "runtime process exited with status 0"))
        fail_msg("the runtime did not exit cleanly:\n%s", log);
    assert_null(strstr(log, "did not stop"));
    free(log);
    free(u);
}

/* Many stdin lines published in a burst all reach the module, in order. */
static void test_stdin_burst(void **state)
{
    (void)state;
    enum { N = 200 };
    char *u = create_ok("echo.wasm", NULL);
    wait_stdin_ready(u);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u);
    for (int i = 0; i < N; i++) {
        char line[64];
        snprintf(line, sizeof line, "line %d of the burst\n", i);
        assert_int_equal(client_publish(S.client, topic, line, strlen(line), 1), 0);
    }
    /* Each line arrives twice: our own publish and the module's echo. The
     * echoes (second sightings) must come in the order sent. */
    int seen[N] = {0}, echoes = 0, last_echo = -1;
    long long end = harness_now_ms() + WAIT_MS;
    while (echoes < N && harness_now_ms() < end) {
        struct message *m = NULL;
        if (client_wait(S.client, topic, (int)(end - harness_now_ms()), NULL, NULL, &m)) break;
        int i = -1;
        if (sscanf(m->payload, "line %d of the burst", &i) != 1 || i < 0 || i >= N)
            fail_msg("unexpected message [%s]", m->payload);
        message_free(m);
        if (++seen[i] == 2) {
            if (i < last_echo) fail_msg("echo of line %d after line %d", i, last_echo);
            last_echo = i;
            echoes++;
        }
    }
    assert_int_equal(echoes, N);
    struct message *r = stack_delete(&S, RT, u);
    assert_non_null(r);
    message_free(r);
    expect_exit(u, "killed", NULL);
    free(u);
}

static void test_large_output_in_order(void **state)
{
    (void)state;
    char *u = create_ok("big_output.wasm", NULL);
    size_t want = 20000 * 100 + 5, got;
    char *text = collect_output(u, want, WAIT_MS, &got);
    assert_int_equal(got, want);
    for (int i = 0; i < 20000; i++) {
        char num[16];
        snprintf(num, sizeof num, "%08d", i);
        if (memcmp(text + (size_t)i * 100, num, 8) || text[(size_t)i * 100 + 99] != '\n')
            fail_msg("line %d is wrong or out of place", i);
    }
    assert_string_equal(text + 2000000, "done\n");
    free(text);
    expect_exit(u, "exited", NULL);
    free(u);
}

static void test_preopened_dir(void **state)
{
    (void)state;
    char *u = create_ok("read_dir.wasm", "{\"dirs\": [\"data\"]}");
    expect_output(u, "content of the data file\n");
    expect_exit(u, "exited", "0");
    free(u);
}

/* linux: 128 idle modules (blocked on stdin) at once; the 129th is refused;
 * all of them end on delete. Prints the runtime's resident set. */
static void test_128_modules(void **state)
{
    (void)state;
    enum { N = 128 };
    pid_t pid = find_runtime_pid();
    assert_true(pid > 0);
    long idle_kib = proc_rss_kib(pid);
    char *u[N];
    for (int i = 0; i < N; i++)
        u[i] = create_ok("line_once.wasm", NULL);
    char *extra = random_uuid();
    struct message *r = stack_create(&S, RT, create_data(extra, "hello.wasm", NULL, NULL));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "error")) fail_msg("129th: %s", r->payload);
    message_free(r);
    free(extra);
    /* Every module is up once it subscribed its stdio topic; all wait for
     * their line together. */
    for (int i = 0; i < N; i++)
        wait_stdin_ready(u[i]);
    long full_kib = proc_rss_kib(pid);
    print_message("linux runtime RSS: %ld KiB idle, %ld KiB with %d idle modules "
                  "(%ld KiB each)\n",
                  idle_kib, full_kib, N, (full_kib - idle_kib) / N);
    for (int i = 0; i < N; i++) {
        char topic[256], line[32];
        snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u[i]);
        snprintf(line, sizeof line, "line %d\n", i);
        assert_int_equal(client_publish_str(S.client, topic, line), 0);
    }
    for (int i = 0; i < N; i++) {
        char want[32], topic[256];
        snprintf(want, sizeof want, "got line %d\n", i);
        snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u[i]);
        if (client_wait(S.client, topic, WAIT_MS, payload_is, want, NULL))
            fail_msg("module %d did not print [%s]", i, want);
        expect_exit(u[i], "exited", "0");
        free(u[i]);
    }
}

/* linux: many modules at once, each with its own output and exit. */
static void test_many_modules(void **state)
{
    (void)state;
    enum { N = 16 };
    char *u[N];
    for (int i = 0; i < N; i++) {
        char args[64];
        snprintf(args, sizeof args, "{\"argv\": [\"%d\"]}", i);
        u[i] = create_ok("exit_code.wasm", args);
    }
    for (int i = 0; i < N; i++) {
        char expected[128];
        snprintf(expected, sizeof expected,
                 "argv[0]=exit_code.wasm\nargv[1]=%d\nGREETING=(unset)\n", i);
        expect_output(u[i], expected);
        struct message *m = wait_exit(u[i]);
        expect_status(m, "exited");
        char code[16];
        snprintf(code, sizeof code, "%d", i);
        assert_true(json_at_equals(m->json, "data.exit_code", code));
        message_free(m);
        free(u[i]);
    }
}

/* linux: a looping module does not hold up others; keepalives list it; the
 * deployed profile record comes at exit. */
static void test_linux_keepalive_and_profile(void **state)
{
    (void)state;
    char *spin = create_ok("spin.wasm", NULL);
    expect_output(spin, "spinning\n");
    char *hello = create_ok("hello.wasm", NULL);
    expect_output(hello, "Hello from Stratus!\n");
    expect_exit(hello, "exited", NULL);

    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/profile/deployed/%s/%s", S.realm, RT, hello);
    struct message *p = NULL;
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, NULL, NULL, &p), 0);
    assert_int_equal(p->len, 32);
    /* ch_out: at least the one output message. */
    const uint8_t *rec = (const uint8_t *)p->payload;
    uint32_t ch_out = rec[28] | rec[29] << 8 | rec[30] << 16 | (uint32_t)rec[31] << 24;
    assert_true(ch_out >= 1);
    message_free(p);

    snprintf(topic, sizeof topic, "%s/proc/keepalive/%s", S.realm, RT);
    long long end = harness_now_ms() + 3 * WAIT_MS;
    int seen = 0;
    while (!seen && harness_now_ms() < end) {
        struct message *k = NULL;
        if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &k)) break;
        json_t *children = json_at(k->json, "data.children");
        size_t i;
        json_t *c;
        json_array_foreach(children, i, c)
        {
            if (json_at_equals(c, "uuid", spin)) {
                seen = 1;
                assert_true(json_is_number(json_object_get(c, "cpu_usage_percent")));
                assert_true(json_integer_value(json_object_get(c, "mem_usage")) > 0);
            }
        }
        message_free(k);
    }
    assert_true(seen);

    struct message *r = stack_delete(&S, RT, spin);
    assert_non_null(r);
    message_free(r);
    expect_exit(spin, "killed", NULL);
    free(spin);
    free(hello);
}

/* ---- channels ----
 * Channel topics of these tests lie under {realm}/demo/, which the stack's
 * client already receives ({realm}/#). */

/* Channels entry list text for the realm: pairs of (path, mode, topic tail). */
static char *channels_json(const char *const *entries, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i + 2 < n; i += 3) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s/demo/%s", S.realm, entries[i + 2]);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "path", entries[i], "mode",
                                             entries[i + 1], "topic", topic));
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    assert_non_null(text);
    return text;
}

static void expect_demo_message(const char *tail, const char *payload)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/demo/%s", S.realm, tail);
    struct message *m = NULL;
    if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &m))
        fail_msg("nothing on %s (expected [%s])", topic, payload);
    if (strcmp(m->payload, payload))
        fail_msg("on %s: [%s], expected [%s]", topic, m->payload, payload);
    message_free(m);
}

static void publish_demo(const char *tail, const char *payload)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/demo/%s", S.realm, tail);
    assert_int_equal(client_publish_str(S.client, topic, payload), 0);
}

/* A module's channel permissions: a read-only channel refuses publishing,
 * undeclared topics and writable wildcards are refused, non-blocking reads
 * say EAGAIN, poll sees which channel has a message, and messages from an
 * MQTT client arrive whole on the right descriptor. */
static void test_channel_permissions(void **state)
{
    (void)state;
    const char *entries[] = {"ro", "r", "ro", "wo", "w", "wo", "rw", "rw", "rw"};
    char *ch = channels_json(entries, 9);
    char *u = create_with_channels("chan_probe.wasm", NULL, ch);
    free(ch);
    expect_output(u, "ro as writer: EACCES\n"
                     "undeclared: EACCES\n"
                     "wildcard writer: EINVAL\n"
                     "$SL/proc/reg writer: EACCES\n"
                     "$SL/proc/control reader: EACCES\n"
                     "$SL/proc/keepalive writer: EACCES\n"
                     "$SL/own reader: ok\n"
                     "ro as reader: ok\n"
                     "wildcard reader: ok\n"
                     "wo as writer: ok\n"
                     "publish on ro: EBADF\n"
                     "publish on wo: ok\n"
                     "non-blocking read: EAGAIN\n"
                     "poll, nothing sent: 0\n"
                     "ready\n");
    expect_demo_message("wo", "probe");
    publish_demo("rw/a", "to the wildcard");
    expect_output(u, "poll: 1, ro -, rw/+ in\nrw/+ got: [to the wildcard]\n");
    publish_demo("ro", "to ro");
    expect_output(u, "ro got: [to ro]\n");
    expect_exit(u, "exited", "0");
    /* Nothing but our own "to ro" was published on the read-only
     * channel's topic. */
    char topic[256];
    snprintf(topic, sizeof topic, "%s/demo/ro", S.realm);
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, payload_is, "to ro", NULL), 0);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, NULL, NULL), 0);
    free(u);
}

/* MQTT client → module → MQTT client through the relay example. */
static void test_channel_relay_both_ways(void **state)
{
    (void)state;
    const char *entries[] = {"in", "r", "in", "out", "w", "out"};
    char *ch = channels_json(entries, 6);
    char *u = create_with_channels("relay.wasm", "{\"argv\": [\"2\"]}", ch);
    free(ch);
    expect_output(u, "relay: ready\n");
    publish_demo("in", "hello channels");
    expect_demo_message("out", "HELLO CHANNELS");
    publish_demo("in", "second");
    expect_demo_message("out", "SECOND");
    expect_exit(u, "exited", "0");
    free(u);
}

/* counter → relay on the same node: the messages go module to module
 * (loopback in the manager), each exactly once and in order. */
static void test_channel_module_to_module(void **state)
{
    (void)state;
    const char *relay_entries[] = {"in", "r", "count", "out", "w", "out"};
    char *ch = channels_json(relay_entries, 6);
    char *relay = create_with_channels("relay.wasm", "{\"argv\": [\"3\"]}", ch);
    free(ch);
    expect_output(relay, "relay: ready\n");
    const char *counter_entries[] = {"count", "w", "count"};
    ch = channels_json(counter_entries, 3);
    char *counter = create_with_channels("counter.wasm", "{\"argv\": [\"3\"]}", ch);
    free(ch);
    expect_demo_message("out", "1");
    expect_demo_message("out", "2");
    expect_demo_message("out", "3");
    expect_exit(counter, "exited", "0");
    expect_exit(relay, "exited", "0");
    char topic[256];
    snprintf(topic, sizeof topic, "%s/demo/out", S.realm);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, NULL, NULL), 0);
    free(counter);
    free(relay);
}

/* args.fault_crash "restart": the module traps once, is restarted (logged)
 * and its second run exits 0. */
/* Runs trap_once (a fresh marker: it traps on its first run only) with
 * args.fault_crash `policy`, expects `output`, and returns the exit message. */
static struct message *run_trap_once(const char *policy, const char *output)
{
    char marker[PATH_MAX + 32], args[128];
    snprintf(marker, sizeof marker, "%s/state/marker", MODDIR);
    unlink(marker);
    snprintf(args, sizeof args, "{\"dirs\": [\"state\"], \"fault_crash\": \"%s\"}", policy);
    char *u = create_ok("trap_once.wasm", args);
    expect_output(u, output);
    struct message *m = wait_exit(u);
    free(u);
    return m;
}

static void test_fault_crash_restart(void **state)
{
    (void)state;
    struct message *m = run_trap_once("restart", "first run\nsecond run\n");
    expect_status(m, "exited");
    assert_true(json_at_equals(m->json, "data.exit_code", "0"));
    assert_true(json_at_equals(m->json, "data.restarts", "1"));
    message_free(m);
    assert_int_equal(proc_log_wait(&S.manager, "restart 1 of 5", WAIT_MS), 0);
}

/* args.resources: the module runs under its reservation (or, where the
 * machine refuses both ways, without it), and the log says which. */
static void test_resources(void **state)
{
    (void)state;
    char *u =
        create_ok("hello.wasm", "{\"resources\": {\"period\": 10000000, \"runtime\": 5000000}}");
    expect_output(u, "Hello from Stratus!\n");
    expect_exit(u, "exited", "0");
    assert_int_equal(proc_log_wait(&S.manager, "CPU reservation 5000000/10000000 ns", WAIT_MS), 0);
    free(u);
}

/* Without "restart" a trap is reported once, as before. */
static void test_fault_crash_ignore(void **state)
{
    (void)state;
    struct message *m = run_trap_once("ignore", "first run\n");
    expect_status(m, "trapped");
    assert_null(json_at(m->json, "data.restarts"));
    message_free(m);
}

/* ---- the compiled tier (args.engine) ----
 * The manager keeps the cache in its state directory (the harness's, one per
 * test program), so a module compiled in one test is cached for the next. */

static void expect_engine(const struct message *m, const char *engine)
{
    if (!json_at_equals(m->json, "data.engine", engine))
        fail_msg("exit was %s, expected engine %s", m->payload, engine);
}

/* A busy loop in compiled code ends within milliseconds of the delete: the
 * thread running it is kicked with a signal (native.c). */
static void test_aot_delete_busy_loop(void **state)
{
    (void)state;
    char *u = create_ok("spin.wasm", "{\"engine\": \"aot\"}");
    expect_output_within(u, "spinning\n", AOT_FIRST_OUTPUT_MS);
    long long t0 = harness_now_ms();
    struct message *r = stack_delete(&S, RT, u);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    struct message *m = wait_exit(u);
    print_message("compiled busy loop: exited %lld ms after the delete was sent\n",
                  harness_now_ms() - t0);
    expect_status(m, "killed");
    expect_engine(m, "aot");
    message_free(m);
    free(u);
}

/* Traps in compiled code are reported as the interpreter reports them: the
 * kind and the function. */
static void test_aot_traps(void **state)
{
    (void)state;
    static const struct {
        const char *file, *line, *kind;
    } cases[] = {
        {"trap.wasm", "about to trap\n", "integer divide by zero"},
        {"oob.wasm", "about to read out of bounds\n", "out of bounds memory access"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = create_ok(cases[i].file, "{\"engine\": \"aot\"}");
        expect_output_within(u, cases[i].line, AOT_FIRST_OUTPUT_MS);
        struct message *m = wait_exit(u);
        expect_status(m, "trapped");
        expect_engine(m, "aot");
        const char *reason = json_str_at(m->json, "data.reason");
        assert_non_null(reason);
        if (!strstr(reason, cases[i].kind) || !strstr(reason, "(in function '"))
            fail_msg("%s: reason: %s", cases[i].file, reason);
        message_free(m);
        free(u);
    }
}

/* args.max_memory holds in compiled code too, and the exit says so. */
/* An engine name of the benchmarking types (or a list) is refused by the
 * run-once types with the tiers they take. */
static void test_engine_not_a_tier(void **state)
{
    (void)state;
    const char *args[] = {"{\"engine\": \"exec\"}", "{\"engine\": [\"interp\"]}"};
    for (size_t i = 0; i < 2; i++) {
        char *u = create_ok("hello.wasm", args[i]);
        struct message *m = wait_exit(u);
        expect_status(m, "failed");
        const char *reason = json_str_at(m->json, "data.reason");
        if (!reason || !strstr(reason, "'args.engine' must be"))
            fail_msg("reason: %s", reason ? reason : "none");
        message_free(m);
        free(u);
    }
}

static void test_aot_memory_cap(void **state)
{
    (void)state;
    char *u = create_ok("alloc_until_refused.wasm", "{\"max_memory\": 4, \"engine\": \"aot\"}");
    struct message *m = stack_wait_exited(&S, RT, u, AOT_FIRST_OUTPUT_MS);
    if (!m) fail_msg("no exited message for %s", u);
    expect_status(m, "exited");
    expect_engine(m, "aot");
    assert_true(json_at_equals(m->json, "data.exit_code", "3"));
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    if (!strstr(reason, " pages refused: limit 64 pages")) fail_msg("reason: %s", reason);
    message_free(m);
    free(u);
}

/* A copy of a module that no earlier test ran (so not in the cache): the
 * same code with a custom section of its own appended, named `to`. */
static void install_fresh_copy(const char *from, const char *to)
{
    char src[PATH_MAX + 64], dst[PATH_MAX + 64];
    snprintf(src, sizeof src, "%s/%s", RT_TEST_MODULES, from);
    snprintf(dst, sizeof dst, "%s/%s", MODDIR, to);
    assert_int_equal(harness_copy_file(src, dst), 0);
    FILE *f = fopen(dst, "ab");
    assert_non_null(f);
    /* id 0, size 13: name "fresh" (5 bytes), 8 bytes of the current time */
    long long now = harness_now_us();
    fwrite("\x00\x0e\x05"
           "fresh",
           1, 8, f);
    fwrite(&now, 1, 8, f);
    assert_int_equal(fclose(f), 0);
}

/* auto (the default): the first run interprets and compiles in the
 * background; once that is done, runs are native. interp never is. */
static void test_auto_compiles_in_background(void **state)
{
    (void)state;
    install_fresh_copy("exit_code.wasm", "exit_fresh.wasm");
    char *u = create_ok("exit_fresh.wasm", "{\"argv\": [\"5\"]}");
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.exit_code", "5"));
    expect_engine(m, "interp");
    message_free(m);
    free(u);
    if (proc_log_wait(&S.manager, "in the background", 6 * WAIT_MS))
        fail_msg("the background compile was not logged");
    u = create_ok("exit_fresh.wasm", "{\"argv\": [\"6\"]}");
    m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.exit_code", "6"));
    expect_engine(m, "aot");
    message_free(m);
    free(u);
    u = create_ok("exit_fresh.wasm", "{\"argv\": [\"7\"], \"engine\": \"interp\"}");
    m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.exit_code", "7"));
    expect_engine(m, "interp");
    message_free(m);
    free(u);
}

/* The profile record and the keepalive children of a compiled module. */
static void test_aot_keepalive_and_profile(void **state)
{
    (void)state;
    char *spin = create_ok("spin.wasm", "{\"engine\": \"aot\"}");
    expect_output_within(spin, "spinning\n", AOT_FIRST_OUTPUT_MS);
    char *hello = create_ok("hello.wasm", "{\"engine\": \"aot\"}");
    expect_output_within(hello, "Hello from Stratus!\n", AOT_FIRST_OUTPUT_MS);
    struct message *m = wait_exit(hello);
    expect_engine(m, "aot");
    message_free(m);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/profile/deployed/%s/%s", S.realm, RT, hello);
    struct message *p = NULL;
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, NULL, NULL, &p), 0);
    assert_int_equal(p->len, 32);
    const uint8_t *rec = (const uint8_t *)p->payload;
    uint32_t ch_out = rec[28] | rec[29] << 8 | rec[30] << 16 | (uint32_t)rec[31] << 24;
    assert_true(ch_out >= 1);
    message_free(p);
    snprintf(topic, sizeof topic, "%s/proc/keepalive/%s", S.realm, RT);
    long long end = harness_now_ms() + 3 * WAIT_MS;
    int seen = 0;
    while (!seen && harness_now_ms() < end) {
        struct message *k = NULL;
        if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &k)) break;
        size_t i;
        json_t *c;
        json_array_foreach(json_at(k->json, "data.children"), i, c)
        {
            if (json_at_equals(c, "uuid", spin)) {
                seen = 1;
                assert_true(json_is_number(json_object_get(c, "cpu_usage_percent")));
                assert_true(json_integer_value(json_object_get(c, "mem_usage")) > 0);
            }
        }
        message_free(k);
    }
    assert_true(seen);
    struct message *r = stack_delete(&S, RT, spin);
    assert_non_null(r);
    message_free(r);
    m = wait_exit(spin);
    expect_status(m, "killed");
    expect_engine(m, "aot");
    message_free(m);
    free(spin);
    free(hello);
}

/* A node without a C compiler interprets, says so once in its log, and the
 * module asking for aot says so in its own. */
static int setup_no_compiler(void **state)
{
    (void)state;
    setenv("STRATUS_CC", "/nonexistent/cc", 1);
    int rc = start_runtime("linux/minimal");
    unsetenv("STRATUS_CC");
    return rc;
}

static void test_no_compiler_interprets(void **state)
{
    (void)state;
    char *u = create_ok("exit_code.wasm", "{\"argv\": [\"4\"], \"engine\": \"aot\"}");
    struct message *m = wait_exit(u);
    assert_true(json_at_equals(m->json, "data.exit_code", "4"));
    expect_engine(m, "interp");
    message_free(m);
    free(u);
    if (proc_log_wait(&S.manager, "no C compiler found", WAIT_MS))
        fail_msg("no log line says there is no compiler");
    u = create_ok("exit_code.wasm", "{\"argv\": [\"2\"]}");
    m = wait_exit(u);
    expect_engine(m, "interp");
    message_free(m);
    free(u);
    char *log = proc_log_read(&S.manager);
    assert_non_null(log);
    int lines = 0;
    for (const char *p = strstr(log, "modules run in the interpreter"); p;
         p = strstr(p + 1, "modules run in the interpreter"))
        lines++;
    free(log);
    assert_int_equal(lines, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_exit_code_args_env, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_round_trip, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_delete_busy_loop, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_trap_reported, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_memory_cap, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_escaping_paths_refused, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_second_module_refused, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_killed, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_manager_gone_runtime_exits, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_stop_runtime, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_burst, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_large_output_in_order, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_preopened_dir, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_many_modules, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_128_modules, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_linux_keepalive_and_profile, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_channel_permissions, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_channel_relay_both_ways, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_channel_module_to_module, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_fault_crash_restart, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_fault_crash_ignore, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_resources, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_aot_delete_busy_loop, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_aot_traps, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_aot_memory_cap, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_engine_not_a_tier, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_auto_compiles_in_background, setup_minimal, teardown),
        cmocka_unit_test_setup_teardown(test_aot_keepalive_and_profile, setup_linux, teardown),
        cmocka_unit_test_setup_teardown(test_no_compiler_interprets, setup_no_compiler, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
