/* Integration tests of `stratus up` and `stratus down`: the stack comes up
 * (broker, orchestrator, manager, two runtime processes), client commands
 * find it with no flags, and it stops leaving no process behind after
 * SIGTERM, after Ctrl-C (SIGINT to its process group) and after SIGKILL of
 * `up` itself; --detach and `down`; a second `up` is refused while one runs. */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "client_cmd.h"
#include "harness.h"

#define CMD_MS 30000
#define UP_MS 30000
#define GONE_MS 20000
#define MAX_PIDS 64

static char moddir[PATH_MAX];
static char up_file[PATH_MAX + 16];

static int setup(void **state)
{
    (void)state;
    harness_init(); /* STRATUS_STATE_DIR: a private directory, where `up` keeps its files */
    if (harness_tmpdir(moddir)) return -1;
    const char *names[] = {"hello.wasm", "spin.wasm"};
    const char *dirs[] = {CLIENT_EXAMPLES, CLIENT_TEST_MODULES};
    for (int i = 0; i < 2; i++) {
        char from[PATH_MAX + 32], to[PATH_MAX + 32];
        snprintf(from, sizeof from, "%s/%s", dirs[i], names[i]);
        snprintf(to, sizeof to, "%s/%s", moddir, names[i]);
        if (harness_copy_file(from, to)) return -1;
    }
    snprintf(up_file, sizeof up_file, "%s/up.json", getenv("STRATUS_STATE_DIR"));
    return 0;
}

/* A detached `up` is no child of ours: a failed test must not leave it. */
static int kill_detached(void **state)
{
    (void)state;
    json_t *j = json_load_file(up_file, 0, NULL);
    pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    if (pid > 0 && kill(pid, SIGTERM) == 0) {
        for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
            harness_reap();
            usleep(50000);
        }
        kill(pid, SIGKILL);
    }
    unlink(up_file);
    return 0;
}

static int teardown(void **state)
{
    kill_detached(state);
    harness_cleanup();
    return 0;
}

/* The parent and state of a process from /proc; -1 when it is gone. */
static int proc_stat(pid_t pid, pid_t *ppid, char *st)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')'); /* the command name may hold spaces */
    int parent;
    if (!close || sscanf(close + 1, " %c %d", st, &parent) != 2) return -1;
    *ppid = parent;
    return 0;
}

/* Every live descendant of root (children, their children, ...). */
static int descendants(pid_t root, pid_t *out, int max)
{
    int n = 0;
    out[n++] = root;
    for (int pass = 0; pass < 8; pass++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) && n < max) {
            pid_t pid = (pid_t)atoi(e->d_name), ppid;
            char st;
            if (pid <= 0 || proc_stat(pid, &ppid, &st) < 0 || st == 'Z') continue;
            int known = 0, child = 0;
            for (int i = 0; i < n; i++) {
                known |= out[i] == pid;
                child |= out[i] == ppid;
            }
            if (child && !known) out[n++] = pid;
        }
        if (d) closedir(d);
    }
    return n - 1; /* root not counted */
}

/* Wait until none of pids is alive (zombies reaped or counted as gone). */
static int all_gone(const pid_t *pids, int n, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        harness_reap();
        int alive = 0;
        for (int i = 0; i < n; i++) {
            pid_t ppid;
            char st;
            if (proc_stat(pids[i], &ppid, &st) == 0 && st != 'Z') {
                alive++;
                if (harness_now_ms() >= deadline) fprintf(stderr, "still alive: pid %d\n", pids[i]);
            }
        }
        if (!alive) return 0;
        if (harness_now_ms() >= deadline) return -1;
        usleep(20000);
    }
}

static pid_t up_file_pid(void)
{
    json_t *j = json_load_file(up_file, 0, NULL);
    pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    return pid;
}

/* `up` in the foreground (a child of the test), up and serving. */
static void start_up(struct cmd *up)
{
    assert_int_equal(cmd_start(up, NULL,
                               (const char *const[]){"up", "--module-dir", moddir, "--http",
                                                     "127.0.0.1:0", NULL}),
                     0);
    assert_int_equal(cmd_wait_output(up, "Ctrl-C stops everything.", UP_MS), 0);
    assert_non_null(strstr(up->out, "dashboard   http://127.0.0.1:"));
    assert_int_equal(up_file_pid(), up->pid);
}

/* The client commands find the stack with no flags; a module is left
 * running so that the stop has a module thread to end too. */
static void use_stack(void)
{
    struct cmd c;
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL,
                (const char *const[]){"run", "--wait", "hello.wasm", "--", "up", NULL}),
        0);
    assert_string_equal(c.out, "Hello from Stratus!\narg 1: up\n");
    cmd_free(&c);
    assert_int_equal(cmd_run(&c, CMD_MS, NULL,
                             (const char *const[]){"run", "--runtime", "linux", "spin.wasm", NULL}),
                     0);
    cmd_free(&c);
    assert_int_equal(cmd_run(&c, CMD_MS, NULL, (const char *const[]){"list", NULL}), 0);
    assert_non_null(strstr(c.out, "minimal"));
    assert_non_null(strstr(c.out, "  spin "));
    cmd_free(&c);
}

static void stop_up_with(int sig, int to_group, int want_status)
{
    struct cmd up;
    start_up(&up);
    use_stack();
    pid_t pids[MAX_PIDS];
    int n = descendants(up.pid, pids, MAX_PIDS);
    /* mosquitto, the orchestrator, the manager and its two runtimes. */
    assert_true(n >= 5);
    kill(to_group ? -up.pid : up.pid, sig);
    assert_int_equal(cmd_finish(&up, UP_MS), want_status);
    assert_int_equal(all_gone(pids + 1, n, GONE_MS), 0);
    if (sig != SIGKILL) {
        assert_int_equal(access(up_file, F_OK), -1); /* removed on the way out */
        assert_non_null(strstr(up.err, "stratus up: stopped"));
    }
    cmd_free(&up);
    /* Nothing is up for the client commands now. */
    struct cmd c;
    assert_int_equal(cmd_run(&c, CMD_MS, NULL, (const char *const[]){"down", NULL}), 1);
    assert_non_null(strstr(c.err, "no stack is up"));
    cmd_free(&c);
}

static void test_up_sigterm(void **state)
{
    (void)state;
    stop_up_with(SIGTERM, 0, 0);
}

static void test_up_ctrl_c(void **state)
{
    (void)state;
    stop_up_with(SIGINT, 1, 0);
}

static void test_up_sigkill(void **state)
{
    (void)state;
    stop_up_with(SIGKILL, 0, 128 + SIGKILL);
}

static void test_detach_and_down(void **state)
{
    (void)state;
    struct cmd c;
    assert_int_equal(cmd_run(&c, UP_MS, NULL,
                             (const char *const[]){"up", "--detach", "--module-dir", moddir,
                                                   "--http", "127.0.0.1:0", NULL}),
                     0);
    assert_non_null(strstr(c.out, "running in the background (pid "));
    cmd_free(&c);
    pid_t up = up_file_pid();
    assert_true(up > 0);
    /* A second stack in the same state directory is refused. */
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL, (const char *const[]){"up", "--module-dir", moddir, NULL}), 1);
    assert_non_null(strstr(c.err, "already up"));
    cmd_free(&c);
    use_stack();
    pid_t pids[MAX_PIDS];
    int n = descendants(up, pids, MAX_PIDS);
    assert_true(n >= 5);
    assert_int_equal(cmd_run(&c, UP_MS, NULL, (const char *const[]){"down", NULL}), 0);
    assert_non_null(strstr(c.out, "stopped the stack"));
    cmd_free(&c);
    assert_int_equal(all_gone(pids, n + 1, GONE_MS), 0);
    assert_int_equal(access(up_file, F_OK), -1);
}

/* --mqtt: the stack uses a broker that is already there, and leaves it. */
static void test_existing_broker(void **state)
{
    (void)state;
    struct broker b;
    assert_int_equal(broker_start(&b, 0), 0);
    char mqtt[64];
    snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", b.port);
    struct cmd c;
    assert_int_equal(
        cmd_run(&c, UP_MS, NULL,
                (const char *const[]){"up", "--detach", "--mqtt", mqtt, "--module-dir", moddir,
                                      "--http", "127.0.0.1:0", "--realm", "other", NULL}),
        0);
    cmd_free(&c);
    json_t *j = json_load_file(up_file, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "mqtt")), mqtt);
    assert_string_equal(json_string_value(json_object_get(j, "realm")), "other");
    json_decref(j);
    use_stack();
    assert_int_equal(cmd_run(&c, UP_MS, NULL, (const char *const[]){"down", NULL}), 0);
    cmd_free(&c);
    assert_true(harness_port_accepts(b.port)); /* not ours to stop */
    broker_stop(&b);
}

/* --profile DIR: the collector runs with the stack and stores the deployed
 * records of the linux runtime's modules, and stops with it. */
static void test_up_profile(void **state)
{
    (void)state;
    char dir[PATH_MAX], csv[PATH_MAX + 32];
    assert_int_equal(harness_tmpdir(dir), 0);
    snprintf(csv, sizeof csv, "%s/deployed.csv", dir);
    struct cmd up;
    assert_int_equal(cmd_start(&up, NULL,
                               (const char *const[]){"up", "--module-dir", moddir, "--http",
                                                     "127.0.0.1:0", "--profile", dir, NULL}),
                     0);
    assert_int_equal(cmd_wait_output(&up, "Ctrl-C stops everything.", UP_MS), 0);
    assert_non_null(strstr(up.out, "profiles    collected into"));
    /* The collector may subscribe a moment after `up` is ready: run until
     * a record of hello is stored. */
    int stored = 0;
    for (int i = 0; i < 20 && !stored; i++) {
        struct cmd c;
        assert_int_equal(cmd_run(&c, CMD_MS, NULL,
                                 (const char *const[]){"run", "--wait", "--runtime", "linux",
                                                       "hello.wasm", NULL}),
                         0);
        cmd_free(&c);
        for (int k = 0; k < 20 && !stored; k++) {
            FILE *f = fopen(csv, "r");
            char line[2048];
            while (f && fgets(line, sizeof line, f))
                stored |= strstr(line, ",linux,linux,") && strstr(line, ",hello.wasm,");
            if (f) fclose(f);
            if (!stored) usleep(100000);
        }
    }
    assert_true(stored);
    pid_t pids[MAX_PIDS];
    int n = descendants(up.pid, pids, MAX_PIDS);
    assert_true(n >= 6); /* the collector as well */
    kill(up.pid, SIGTERM);
    assert_int_equal(cmd_finish(&up, UP_MS), 0);
    assert_int_equal(all_gone(pids + 1, n, GONE_MS), 0);
    cmd_free(&up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_sigterm),
        cmocka_unit_test(test_up_profile),
        cmocka_unit_test(test_up_ctrl_c),
        cmocka_unit_test(test_up_sigkill),
        cmocka_unit_test_teardown(test_detach_and_down, kill_detached),
        cmocka_unit_test_teardown(test_existing_broker, kill_detached),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
