/* Client benchmark: the end-to-end latency of `stratus run --wait
 * hello.wasm` (command start to exit, and to its first output) on a local
 * stack (mosquitto, orchestrator, manager with one linux runtime), against,
 * in the same run:
 *   - `stratus exec hello.wasm` (the module run here, no stack at all);
 *   - the create sent straight to the runtime's topic by an MQTT client that
 *     is already connected, waiting for the module's exit (the path without
 *     the orchestrator and without a command starting).
 * Medians (and p90) of N runs each, interleaved so that drift of the
 * machine hits all three alike.
 *
 * usage: bench_client [--runs N] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_timing.h"
#include "harness.h"
#include "orc_stack.h"

static void die(const char *what)
{
    fprintf(stderr, "bench_client: %s\n", what);
    exit(1);
}

struct direct_ctx {
    const char *uuid;
};

static int is_exit(const struct message *m, void *ctx)
{
    struct direct_ctx *d = ctx;
    return m->json && json_at_equals(m->json, "action", "exited") &&
           json_at_equals(m->json, "data.uuid", d->uuid);
}

int main(int argc, char **argv)
{
    int runs = 50;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            die("usage: bench_client [--runs N]");
    }
    if (runs < 5) runs = 5;
    harness_init();
    char moddir[PATH_MAX], from[PATH_MAX + 32], to[PATH_MAX + 32];
    if (harness_tmpdir(moddir)) die("no temporary directory");
    snprintf(from, sizeof from, "%s/hello.wasm", BENCH_EXAMPLES);
    snprintf(to, sizeof to, "%s/hello.wasm", moddir);
    if (harness_copy_file(from, to)) die("cannot copy hello.wasm");

    struct broker b;
    struct orchestrator orc;
    struct proc mgr;
    const char *realm = "bench";
    if (broker_start(&b, 0)) die("broker");
    const char *quiet[] = {"--log-level", "warning", NULL};
    if (orchestrator_start(&orc, b.port, realm, NULL, quiet)) die("orchestrator");
    const char *extra[] = {"--runtime", "linux:linux", "--module-dir", moddir, "--log-level",
                           "warning",   NULL};
    if (manager_start(&mgr, &b, realm, "bench", extra)) die("manager");
    if (http_wait_field(orc.http_port, "/api/runtimes/linux/", "alive", "true", 15000))
        die("the runtime did not register");
    json_t *rt = http_get_json(orc.http_port, "/api/runtimes/linux/");
    char runtime[64];
    snprintf(runtime, sizeof runtime, "%s", json_str_at(rt, "uuid"));
    json_decref(rt);

    struct mqtt_client *c;
    if (client_connect(&c, b.port, "bench-client")) die("mqtt client");
    char control[256];
    snprintf(control, sizeof control, "%s/proc/control/%s", realm, runtime);
    if (client_subscribe(c, control, 1)) die("subscribe");

    char mqtt[64], http[64];
    snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", b.port);
    snprintf(http, sizeof http, "127.0.0.1:%d", orc.http_port);
    const char *stratus = harness_stratus_path();
    char *run_argv[] = {(char *)stratus, "run",   "--mqtt", mqtt,         "--http", http,
                        "--realm",       "bench", "--wait", "hello.wasm", NULL};
    char *exec_argv[] = {(char *)stratus, "exec", to, NULL};

    long long *t_run = calloc((size_t)runs, sizeof *t_run);
    long long *t_run_first = calloc((size_t)runs, sizeof *t_run_first);
    long long *t_exec = calloc((size_t)runs, sizeof *t_exec);
    long long *t_direct = calloc((size_t)runs, sizeof *t_direct);
    /* A few unmeasured rounds: page cache, the module cache of the runtime. */
    for (int i = -3; i < runs; i++) {
        long long first;
        long long tr = bench_timed_run(run_argv, NULL, &first);
        if (tr < 0) die("stratus run --wait failed");
        long long fr = first;
        long long te = bench_timed_run(exec_argv, NULL, &first);
        if (te < 0) die("stratus exec failed");
        char *uuid = random_uuid();
        json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid, "name",
                                 "hello", "file", "hello.wasm");
        json_t *req = request_new("create", data, NULL);
        struct direct_ctx d = {uuid};
        long long t0 = harness_now_us();
        client_publish_json(c, control, req);
        struct message *m;
        if (client_wait(c, control, 10000, is_exit, &d, &m)) die("direct create: no exit");
        long long td = m->t_us - t0;
        message_free(m);
        json_decref(req);
        free(uuid);
        client_clear(c);
        if (i < 0) continue;
        t_run[i] = tr;
        t_run_first[i] = fr;
        t_exec[i] = te;
        t_direct[i] = td;
    }
    double run_med = bench_pct(t_run, runs, 0.5), run_p90 = bench_pct(t_run, runs, 0.9);
    double first_med = bench_pct(t_run_first, runs, 0.5);
    double exec_med = bench_pct(t_exec, runs, 0.5), exec_p90 = bench_pct(t_exec, runs, 0.9);
    double direct_med = bench_pct(t_direct, runs, 0.5), direct_p90 = bench_pct(t_direct, runs, 0.9);
    printf("client: hello.wasm, %d runs each, interleaved\n", runs);
    printf("  stratus run --wait (command start to exit):    median %7.2f ms, p90 %7.2f ms\n",
           run_med / 1000, run_p90 / 1000);
    printf("  stratus run --wait (command start to output):  median %7.2f ms\n", first_med / 1000);
    printf("  [stratus exec hello.wasm:                      median %7.2f ms, p90 %7.2f ms]\n",
           exec_med / 1000, exec_p90 / 1000);
    printf("  [create straight to the runtime, to its exit:  median %7.2f ms, p90 %7.2f ms]\n",
           direct_med / 1000, direct_p90 / 1000);
    printf("  ratios: run --wait / exec %.2f; run --wait / straight to the runtime %.2f\n",
           run_med / exec_med, run_med / direct_med);
    client_free(c);
    free(t_run);
    free(t_run_first);
    free(t_exec);
    free(t_direct);
    harness_cleanup();
    return 0;
}
