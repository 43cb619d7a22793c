/* Benchmark of the runtimes under a real manager and a private mosquitto,
 * with `stratus exec` of the same module measured in the same run as the
 * reference:
 *   - start latency: create request published → first output message
 *     received by a subscriber of {realm}/proc/stdio/{uuid}, and → exited
 *     message received; for `stratus exec`: process start → first output
 *     byte on its stdout pipe, and → process exit;
 *   - creates per second sustained on a `linux` runtime (hello modules, a
 *     bounded number in flight), against `stratus exec` processes run with
 *     the same bound;
 *   - memory: RSS of an idle `linux/minimal` runtime process, and of a
 *     `linux` runtime holding idle modules (echo, blocked reading stdin);
 *   - memory after churn: RSS of a `linux` runtime after a warm-up and
 *     after --churn short modules, with the runtime's default malloc
 *     settings (2 arenas, trimmed as modules end) and, as the reference in
 *     the same run, with MALLOC_ARENA_MAX=64 (about glibc's own default).

 *
 * Times are CLOCK_MONOTONIC; message arrival is stamped by the test
 * client's callback. The machine is shared: medians and p90 are printed,
 * and the goals of the issue are printed next to them, not asserted.
 *
 * usage: bench_runtimes [--starts N] [--creates N] [--inflight N] [--idle N] [--churn N] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stack.h"

static struct stack S;
static char MODDIR[PATH_MAX];
static char *RT;

static void die(const char *what)
{
    stack_die(&S, "bench_runtimes", what);
}

/* Median and p90 of n values (sorted in place), in ms. */
static void spread(long long *v, int n, double *median, double *p90)
{
    qsort(v, (size_t)n, sizeof *v, harness_cmp_ll);
    *median = v[n / 2] / 1000.0;
    *p90 = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] / 1000.0;
}

/* Prints the median and p90 of n start-to-first-output and start-to-exit
 * times (µs), and frees both arrays. */
static void report_starts(const char *who, const char *from, long long *first, long long *exit,
                          int n)
{
    double fm, f90, em, e90;
    spread(first, n, &fm, &f90);
    spread(exit, n, &em, &e90);
    printf("%-14s %s -> first output %6.2f ms (p90 %6.2f), -> exited %6.2f ms (p90 %6.2f)\n", who,
           from, fm, f90, em, e90);
    free(first);
    free(exit);
}

/* A fresh realm and a manager with one runtime of `type`. */
static void start_runtime(const char *type)
{
    static const char *const quiet[] = {"--log-level", "warning", NULL};
    free(RT);
    RT = stack_start_runtime(&S, type, BENCH_RUNTIME, MODDIR, quiet);
    if (!RT) die("the runtime did not start and register");
}

/* Publishes a create of `file` without waiting for anything. */
static char *publish_create(const char *file)
{
    char *uuid = random_uuid();
    json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid, "name",
                             "bench", "file", file);
    json_t *req = request_new("create", data, NULL);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, RT);
    if (!req || client_publish_json(S.client, topic, req)) die("cannot publish a create");
    json_decref(req);
    return uuid;
}

/* Create → first output and → exit of hello, `n` times, one at a time. */
static void measure_starts(const char *type, int n)
{
    long long *first = calloc((size_t)n, sizeof *first), *exit = calloc((size_t)n, sizeof *exit);
    if (!first || !exit) die("out of memory");
    for (int i = 0; i < n; i++) {
        long long t0 = harness_now_us();
        char *uuid = publish_create("hello.wasm");
        char topic[256];
        snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, uuid);
        struct message *out = NULL, *done = NULL;
        if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &out)) die("no output");
        if (!(done = stack_wait_exited(&S, RT, uuid, WAIT_MS))) die("no exit");
        first[i] = out->t_us - t0;
        exit[i] = done->t_us - t0;
        message_free(out);
        message_free(done);
        free(uuid);
        client_clear(S.client);
    }
    report_starts(type, "create", first, exit, n);
}

/* Starts `stratus exec hello.wasm` with stdout on a pipe whose reading end
 * goes to *out_fd, or on /dev/null when out_fd is NULL; returns the pid. */
static pid_t spawn_exec(int *out_fd)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe2(p, O_CLOEXEC)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(out_fd ? p[1] : null, 1);
        if (null >= 0) dup2(null, 2);
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/hello.wasm", MODDIR);
        execl(BENCH_STRATUS, "stratus", "exec", path, (char *)NULL);
        _exit(127);
    }
    if (out_fd) {
        close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

static void measure_exec_starts(int n)
{
    long long *first = calloc((size_t)n, sizeof *first), *exit = calloc((size_t)n, sizeof *exit);
    if (!first || !exit) die("out of memory");
    for (int i = 0; i < n; i++) {
        int fd;
        long long t0 = harness_now_us();
        pid_t pid = spawn_exec(&fd);
        char c;
        if (read(fd, &c, 1) != 1) die("stratus exec printed nothing");
        first[i] = harness_now_us() - t0;
        int status;
        while (read(fd, &c, 1) > 0) {
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
            die("stratus exec failed");
        exit[i] = harness_now_us() - t0;
        close(fd);
    }
    report_starts("stratus exec", "start ", first, exit, n);
}

static int is_exited(const struct message *m, void *ctx)
{
    (void)ctx;
    return json_at_equals(m->json, "action", "exited");
}

static int is_not_exited(const struct message *m, void *ctx)
{
    return !is_exited(m, ctx);
}

/* Sustained creates of hello on the current runtime, `inflight` at most
 * running at once. Returns creates per second. */
static double measure_creates(int n, int inflight)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, RT);
    int sent = 0, done = 0, running = 0;
    long long t0 = harness_now_us();
    while (done < n) {
        while (running < inflight && sent < n) {
            free(publish_create("hello.wasm"));
            sent++;
            running++;
        }
        if (client_wait(S.client, topic, WAIT_MS, is_exited, NULL, NULL)) die("an exit is missing");
        done++;
        running--;
        /* Output and acknowledgements are not looked at. */
        if (done % 256 == 0) client_discard(S.client, "#", is_not_exited, NULL);
    }
    double rate = n / ((harness_now_us() - t0) / 1e6);
    client_clear(S.client);
    return rate;
}

static double measure_exec_rate(int n, int inflight)
{
    int started = 0, done = 0, running = 0;
    long long t0 = harness_now_us();
    while (done < n) {
        while (running < inflight && started < n) {
            spawn_exec(NULL);
            started++;
            running++;
        }
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            die("stratus exec failed");
        done++;
        running--;
    }
    return n / ((harness_now_us() - t0) / 1e6);
}

/* RSS of the runtime process of the current manager. */
static long runtime_rss(void)
{
    pid_t pid = proc_find_child(S.manager.pid, "stratus-runtime");
    if (pid <= 0) die("cannot find the runtime process");
    return proc_rss_kib(pid);
}

/* mem_usage of one module from the runtime's keepalive (linear memory). */
static long long linear_memory_of_children(int want)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/keepalive/%s", S.realm, RT);
    long long end = harness_now_ms() + 3 * WAIT_MS;
    while (harness_now_ms() < end) {
        struct message *k = NULL;
        if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &k)) continue;
        json_t *children = json_at(k->json, "data.children");
        long long mem = -1;
        if ((int)json_array_size(children) == want)
            mem = json_integer_value(json_object_get(json_array_get(children, 0), "mem_usage"));
        message_free(k);
        if (mem >= 0) return mem;
    }
    return -1;
}

static void measure_idle_modules(int n)
{
    long idle = runtime_rss();
    char **u = calloc((size_t)n, sizeof *u);
    if (!u) die("out of memory");
    for (int i = 0; i < n; i++)
        u[i] = publish_create("echo.wasm");
    for (int i = 0; i < n; i++) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s/proc/stdio/%s", S.realm, u[i]);
        long long end = harness_now_ms() + WAIT_MS;
        while (broker_subscribe_count(&S.broker, topic) < 1) {
            if (harness_now_ms() > end) die("a module did not start");
            usleep(5000);
        }
    }
    usleep(200 * 1000); /* let every module reach its blocking read */
    long full = runtime_rss();
    long long linear = linear_memory_of_children(n);
    /* The delta holds the resident part of each linear memory too, so it is
     * an upper bound of what a module costs beyond its linear memory. */
    double per = (double)(full - idle) / n;
    printf("linux runtime: %ld KiB idle, %ld KiB with %d idle echo modules: %.0f KiB per module "
           "including its resident linear memory (%lld KiB reserved each; goal < 256 beyond it)\n",
           idle, full, n, per, linear / 1024);
    for (int i = 0; i < n; i++) {
        struct message *r = stack_delete(&S, RT, u[i]);
        message_free(r);
        free(u[i]);
    }
    free(u);
}

/* RSS of the current runtime after 200 hello modules and after n more. */
static void measure_churn(const char *label, int n, int inflight)
{
    measure_creates(200, inflight);
    usleep(300 * 1000);
    long start = runtime_rss();
    measure_creates(n, inflight);
    usleep(300 * 1000);
    long end = runtime_rss();
    printf("linux runtime RSS, %-24s %ld KiB after 200 modules, %ld KiB after %d more (%.2fx)\n",
           label, start, end, n, (double)end / (double)start);
}

int main(int argc, char **argv)
{
    int starts = 200, creates = 1000, inflight = 100, idle = 100, churn = 10000;
    for (int i = 1; i < argc; i++) {
        int *target = !strcmp(argv[i], "--starts")     ? &starts
                      : !strcmp(argv[i], "--creates")  ? &creates
                      : !strcmp(argv[i], "--inflight") ? &inflight
                      : !strcmp(argv[i], "--idle")     ? &idle
                      : !strcmp(argv[i], "--churn")    ? &churn
                                                       : NULL;
        if (!target || i + 1 >= argc || (*target = atoi(argv[++i])) <= 0) {
            fprintf(stderr,
                    "usage: bench_runtimes [--starts N] [--creates N] [--inflight N] [--idle N] "
                    "[--churn N]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    harness_init();
    if (stack_broker_up(&S) || harness_tmpdir(MODDIR)) die("cannot start the broker");
    const char *files[] = {"hello.wasm", "echo.wasm"};
    for (int i = 0; i < 2; i++) {
        char from[PATH_MAX + 32], to[PATH_MAX + 32];
        snprintf(from, sizeof from, "%s/%s", BENCH_EXAMPLES, files[i]);
        snprintf(to, sizeof to, "%s/%s", MODDIR, files[i]);
        if (harness_copy_file(from, to))
            die("cannot copy the example modules (build target examples)");
    }
    printf("goals: first output < 2 ms and exit < 3 ms (median), idle linux/minimal < 4 MiB\n");
    measure_exec_starts(starts);

    start_runtime("linux/minimal");
    usleep(300 * 1000);
    printf("linux/minimal runtime process idle: %ld KiB RSS (goal < 4096)\n", runtime_rss());
    measure_starts("linux/minimal", starts);
    stack_manager_kill(&S);

    start_runtime("linux");
    usleep(300 * 1000);
    measure_idle_modules(idle);
    measure_starts("linux", starts);
    double rate = measure_creates(creates, inflight);
    double ref = measure_exec_rate(creates, inflight);
    printf("linux          %d hello creates, %d in flight: %.0f/s; stratus exec processes: %.0f/s "
           "(%.2fx)\n",
           creates, inflight, rate, ref, rate / ref);
    stack_manager_kill(&S);

    start_runtime("linux");
    measure_churn("default malloc settings:", churn, inflight);
    stack_manager_kill(&S);
    setenv("MALLOC_ARENA_MAX", "64", 1);
    start_runtime("linux");
    unsetenv("MALLOC_ARENA_MAX");
    measure_churn("MALLOC_ARENA_MAX=64 (ref):", churn, inflight);
    stack_manager_kill(&S);

    free(RT);
    stack_broker_down(&S);
    harness_cleanup();
    return 0;
}
