/* Module files benchmark (issue #15): on a local stack (mosquitto,
 * orchestrator, manager with one linux runtime), for a 1 MiB and a 20 MiB
 * module (hello.wasm plus a custom section of random bytes):
 *   - the time to first output of `stratus run --wait FILE` on its first run
 *     (a file new to the store and the node: upload, transfer, run), on a
 *     second run (cached at the node; the client still hashes the file and
 *     asks the store), and of the same module pre-placed in the module
 *     directory (`--node-file`), interleaved;
 *   - the transfer's throughput over the broker: a create sent straight to
 *     the runtime for a file already uploaded but new to the node, to the
 *     module's exit, minus the same create once the file is cached;
 * and, as references measured in the same run on the same broker:
 *   - mosquitto carrying the same bytes from one client to another in
 *     256 KiB QoS 1 messages (the transfer's chunk size);
 *   - a plain copy of the file into a new file with fsync (what the cache
 *     does with the bytes, without the network).
 * Medians of N runs. Modules run interpreted (no compiler for the compiled
 * tier), so that background compiles of each new module do not compete.
 *
 * usage: bench_files [--runs N] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_timing.h"
#include "harness.h"
#include "orc_stack.h"

#define CHUNK (256 << 10)

static void die(const char *what)
{
    fprintf(stderr, "bench_files: %s\n", what);
    exit(1);
}

static const char *realm = "benchfiles";
static struct broker broker;
static struct orchestrator orc;
static char dir[PATH_MAX], moddir[PATH_MAX];
static char hello_path[PATH_MAX];
static size_t hello_len;

/* A module of about `size` bytes, unique (random padding), at path. */
static void make_module(const char *path, size_t size)
{
    size_t pad = size > hello_len + 16 ? size - hello_len - 16 : 16;
    if (harness_copy_module_padded(hello_path, path, pad) < 0) die("cannot write a module");
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) die(path);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Upload path's bytes (not timed); its SHA-256 into hex. */
static void upload(const char *path, char hex[65], size_t *size)
{
    uint8_t *b = read_file(path, size);
    struct http_answer a;
    if (http_request(orc.http_port, "POST", "/api/files/?name=bench.wasm", (const char *)b, *size,
                     &a) < 0 ||
        (a.status != 201 && a.status != 200))
        die("upload refused");
    snprintf(hex, 65, "%s", json_str_at(a.json, "sha256"));
    http_answer_free(&a);
    free(b);
}

struct exit_wait {
    const char *uuid;
};

static int is_exit(const struct message *m, void *ctx)
{
    struct exit_wait *w = ctx;
    return m->json && json_at_equals(m->json, "action", "exited") &&
           json_at_equals(m->json, "data.uuid", w->uuid);
}

/* A create of file hex sent straight to the runtime: us to its exit. */
static long long direct_create(struct mqtt_client *c, const char *control, const char *hex,
                               size_t size)
{
    char *uuid = random_uuid();
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "module", "uuid", uuid, "name", "bench",
                  "file", "bench.wasm", "file_sha256", hex, "file_size", (json_int_t)size);
    json_t *req = request_new("create", data, NULL);
    struct exit_wait w = {uuid};
    long long t0 = harness_now_us();
    client_publish_json(c, control, req);
    struct message *m;
    if (client_wait(c, control, 60000, is_exit, &w, &m)) die("direct create: no exit");
    if (!json_at_equals(m->json, "data.status", "exited")) die("direct create: module failed");
    long long t = m->t_us - t0;
    message_free(m);
    json_decref(req);
    free(uuid);
    client_clear(c);
    return t;
}

static int is_ref(const struct message *m, void *ctx)
{
    (void)ctx;
    return !strcmp(m->topic, "benchfiles/ref/bytes");
}

/* Reference: mosquitto carrying size bytes in CHUNK-sized QoS 1 messages
 * from one client to another; us from the first publish to the last
 * arrival. */
static long long broker_reference(struct mqtt_client *pub, struct mqtt_client *sub,
                                  const uint8_t *bytes, size_t size)
{
    long long t0 = harness_now_us();
    size_t n = 0;
    for (size_t off = 0; off < size; off += CHUNK, n++)
        if (client_publish(pub, "benchfiles/ref/bytes", bytes + off,
                           size - off < CHUNK ? size - off : CHUNK, 1))
            die("reference publish");
    long long last = t0;
    for (size_t i = 0; i < n; i++) {
        struct message *m;
        if (client_wait(sub, "benchfiles/ref/bytes", 30000, is_ref, NULL, &m))
            die("reference: a message was lost");
        last = m->t_us;
        message_free(m);
    }
    return last - t0;
}

/* Reference: write size bytes to a new file, fsync, rename; us. */
static long long copy_reference(const uint8_t *bytes, size_t size)
{
    char tmp[PATH_MAX + 16], final[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/copy.part", dir);
    snprintf(final, sizeof final, "%s/copy", dir);
    long long t0 = harness_now_us();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die("copy reference");
    for (size_t off = 0; off < size;) {
        size_t want = size - off < CHUNK ? size - off : CHUNK;
        ssize_t w = write(fd, bytes + off, want);
        if (w <= 0) die("copy reference");
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, final) < 0) die("copy reference");
    long long t = harness_now_us() - t0;
    unlink(final);
    return t;
}

struct row {
    long long *first, *cached, *placed, *fresh, *again, *ref_broker, *ref_copy;
};

static long long *samples(int runs)
{
    long long *v = calloc((size_t)runs, sizeof *v);
    if (!v) die("no memory");
    return v;
}

static void measure(size_t size, int runs, struct mqtt_client *c, const char *control,
                    struct mqtt_client *pub, struct mqtt_client *sub)
{
    char mqtt[64], http[64];
    snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", broker.port);
    snprintf(http, sizeof http, "127.0.0.1:%d", orc.http_port);
    const char *stratus = harness_stratus_path();
    /* The pre-placed copy, and the local file run by the client. */
    char local[PATH_MAX + 32], placed[PATH_MAX + 32];
    snprintf(local, sizeof local, "%s/app-%zu.wasm", dir, size);
    snprintf(placed, sizeof placed, "%s/app-%zu.wasm", moddir, size);
    struct row r = {samples(runs), samples(runs), samples(runs), samples(runs),
                    samples(runs), samples(runs), samples(runs)};
    char placed_name[64];
    snprintf(placed_name, sizeof placed_name, "app-%zu.wasm", size);
    char *run_local[] = {
        (char *)stratus, "run",       "--mqtt", mqtt,     "--http", http, "--realm",
        (char *)realm,   "--runtime", "linux",  "--wait", local,    NULL};
    char *run_placed[] = {
        (char *)stratus, "run",       "--mqtt", mqtt,     "--http",      http,        "--realm",
        (char *)realm,   "--runtime", "linux",  "--wait", "--node-file", placed_name, NULL};
    size_t file_size = 0;
    for (int i = -1; i < runs; i++) {
        /* A new file: first run (upload, transfer), second run (cached). */
        make_module(local, size);
        if (harness_copy_file(local, placed)) die("cannot place the module");
        long long first, cached, pre;
        if (bench_timed_run(run_local, NULL, &first) < 0) die("first run failed");
        if (bench_timed_run(run_local, NULL, &cached) < 0) die("second run failed");
        if (bench_timed_run(run_placed, NULL, &pre) < 0) die("pre-placed run failed");
        /* The transfer alone: another new file, uploaded untimed. */
        char fresh_path[PATH_MAX + 32], hex[65];
        snprintf(fresh_path, sizeof fresh_path, "%s/fresh.wasm", dir);
        make_module(fresh_path, size);
        upload(fresh_path, hex, &file_size);
        long long fresh = direct_create(c, control, hex, file_size);
        long long again = direct_create(c, control, hex, file_size);
        size_t len;
        uint8_t *bytes = read_file(fresh_path, &len);
        long long rb = broker_reference(pub, sub, bytes, len);
        long long rc = copy_reference(bytes, len);
        free(bytes);
        if (i < 0) continue; /* warm-up */
        r.first[i] = first;
        r.cached[i] = cached;
        r.placed[i] = pre;
        r.fresh[i] = fresh;
        r.again[i] = again;
        r.ref_broker[i] = rb;
        r.ref_copy[i] = rc;
    }
    double mib = (double)file_size / (1 << 20);
    double first = bench_pct(r.first, runs, 0.5), cached = bench_pct(r.cached, runs, 0.5),
           placed_t = bench_pct(r.placed, runs, 0.5), fresh = bench_pct(r.fresh, runs, 0.5),
           again = bench_pct(r.again, runs, 0.5), rb = bench_pct(r.ref_broker, runs, 0.5),
           rc = bench_pct(r.ref_copy, runs, 0.5);
    double transfer_us = fresh - again;
    printf("module of %.2f MiB, %d runs, medians:\n", mib, runs);
    printf("  stratus run --wait, to first output: first run %8.2f ms, cached %8.2f ms, "
           "pre-placed %8.2f ms\n",
           first / 1000, cached / 1000, placed_t / 1000);
    printf("    cached - pre-placed: %+.2f ms; first - pre-placed: %+.2f ms\n",
           (cached - placed_t) / 1000, (first - placed_t) / 1000);
    printf("  create straight to the runtime, to exit: new to the node %8.2f ms, cached %8.2f "
           "ms\n",
           fresh / 1000, again / 1000);
    printf("  transfer over the broker: %.2f ms, %.1f MiB/s\n", transfer_us / 1000,
           transfer_us > 0 ? mib / (transfer_us / 1e6) : 0);
    printf("  [reference: mosquitto client to client, 256 KiB QoS 1: %.2f ms, %.1f MiB/s]\n",
           rb / 1000, mib / (rb / 1e6));
    printf("  [reference: plain copy into a new file with fsync:     %.2f ms, %.1f MiB/s]\n",
           rc / 1000, mib / (rc / 1e6));
    printf("  ratios: transfer / mosquitto reference %.2f; transfer / copy %.2f (throughput)\n",
           (mib / (transfer_us / 1e6)) / (mib / (rb / 1e6)),
           (mib / (transfer_us / 1e6)) / (mib / (rc / 1e6)));
    free(r.first);
    free(r.cached);
    free(r.placed);
    free(r.fresh);
    free(r.again);
    free(r.ref_broker);
    free(r.ref_copy);
    unlink(placed);
}

int main(int argc, char **argv)
{
    int runs = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            die("usage: bench_files [--runs N]");
    }
    if (runs < 3) runs = 3;
    harness_init();
    if (harness_tmpdir(dir) || harness_tmpdir(moddir)) die("no temporary directory");
    snprintf(hello_path, sizeof hello_path, "%s/hello.wasm", BENCH_EXAMPLES);
    free(read_file(hello_path, &hello_len));
    char state[PATH_MAX];
    if (harness_tmpdir(state)) die("no temporary directory");

    if (broker_start(&broker, 0)) die("broker");
    const char *quiet[] = {"--log-level", "warning", NULL};
    if (orchestrator_start(&orc, broker.port, realm, NULL, quiet)) die("orchestrator");
    /* Modules run interpreted: the compiled tier would compile every new
     * module with the system C compiler in the background, and on a small
     * machine that competes with what is measured. */
    setenv("STRATUS_CC", "/nonexistent/cc", 1);
    struct proc mgr;
    const char *extra[] = {"--runtime", "linux:linux", "--module-dir", moddir, "--state-dir",
                           state,       "--log-level", "warning",      NULL};
    if (manager_start(&mgr, &broker, realm, "bench", extra)) die("manager");
    if (http_wait_field(orc.http_port, "/api/runtimes/linux/", "alive", "true", 15000))
        die("the runtime did not register");
    json_t *rt = http_get_json(orc.http_port, "/api/runtimes/linux/");
    char control[256];
    snprintf(control, sizeof control, "%s/proc/control/%s", realm, json_str_at(rt, "uuid"));
    json_decref(rt);
    struct mqtt_client *c = NULL, *pub = NULL, *sub = NULL;
    if (client_connect(&c, broker.port, "bench-files") ||
        client_connect(&pub, broker.port, "bench-ref-pub") ||
        client_connect(&sub, broker.port, "bench-ref-sub"))
        die("mqtt client");
    if (client_subscribe(c, control, 1) || client_subscribe(sub, "benchfiles/ref/bytes", 1))
        die("subscribe");
    printf("files: module files fetched over the broker, against a module pre-placed in the\n"
           "module directory, mosquitto itself and a plain copy, in the same run\n");
    measure((size_t)1 << 20, runs, c, control, pub, sub);
    measure((size_t)20 << 20, runs, c, control, pub, sub);
    client_free(c);
    client_free(pub);
    client_free(sub);
    harness_cleanup();
    return 0;
}
