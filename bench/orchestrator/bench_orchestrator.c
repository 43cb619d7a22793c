/* Benchmark of `stratus orchestrator`, in one run against a private
 * mosquitto, each figure beside a reference measured in the same run:
 *   - create latency: a create published on {realm}/proc/control until the
 *     orchestrator's create arrives on {realm}/proc/control/{runtime}
 *     (median, p99), against the same message published straight to a
 *     runtime topic (one broker hop); the difference is what the orchestrator
 *     adds (its own work plus the second hop);
 *   - placements per second, sustained: creates sent as fast as the socket
 *     takes them, until the last one is forwarded, against the same number of
 *     messages straight through the broker;
 *   - RSS of the orchestrator idle, with 10,000 modules stored, and once the
 *     8,000 of the flood have ended (and the broker's, for scale);
 *   - REST GET latency of a module lookup with 10,000 modules stored (a new
 *     connection per request), against GET /healthz;
 *   - creates -> exited per second for hello.wasm on a real `linux` runtime
 *     through the orchestrator, against the same creates sent straight to
 *     the runtime.
 * The runtime of the first measures is this program itself (a raw MQTT
 * client registered as a runtime with room for everything), which answers
 * each create like a manager, so the orchestrator works as in production.
 *
 * usage: bench_orchestrator [--latency N] [--modules N] [--hello N] */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "orc_stack.h"
#include "raw_mqtt.h"
#include "stack.h"

#define REALM "bench"
#define RT "00000000-0000-4000-8000-00000000be01"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct proc *ORC_PROC; /* its log is shown when the run fails */

static void die(const char *what)
{
    fprintf(stderr, "bench_orchestrator: %s\n", what);
    char *log = ORC_PROC ? proc_log_read(ORC_PROC) : NULL;
    if (log) {
        size_t n = strlen(log);
        fprintf(stderr, "--- orchestrator log (end) ---\n%s\n", log + (n > 4000 ? n - 4000 : 0));
    }
    free(log);
    exit(1);
}

/* ---- the fake runtime: counts arrivals by sequence number, answers ---- */

struct runtime_end {
    struct raw_mqtt *conn;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t *rx;     /* arrival time by sequence number */
    char (*uuid)[37]; /* module uuid by sequence number */
    size_t cap;
    size_t got, want;
    uint64_t last_rx;
    int registered;
    size_t exited; /* exits seen (hello measure) */
    char exit_topic[256];
    int answer; /* answer creates like a manager */
};

static struct runtime_end RTE;
static uint64_t *TX;

/* The sequence number in a name "bNNN" of the payload, or -1. */
static long seq_of(const uint8_t *p, size_t len)
{
    const char *s = memmem(p, len, "\"name\":\"b", 9);
    if (!s) return -1;
    return strtol(s + 9, NULL, 10);
}

static void answer_create(const uint8_t *p, size_t len)
{
    const char *o = memmem(p, len, "\"object_id\":\"", 13);
    if (!o || (size_t)(o - (const char *)p) + 13 + 36 > len) return;
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "{\"object_id\":\"%.36s\",\"action\":\"create\",\"type\":\"resp\",\"data\":{"
                     "\"result\":\"ok\",\"details\":{}}}",
                     o + 13);
    uint8_t out[512];
    size_t k = raw_mqtt_encode_publish(out, sizeof out, REALM "/proc/control/" RT,
                                       (const uint8_t *)msg, (size_t)n);
    if (k) raw_mqtt_write(RTE.conn, out, k);
}

static void on_publish(void *ctx, const char *topic, size_t tl, const uint8_t *p, size_t len)
{
    (void)ctx;
    uint64_t t = now_ns();
    pthread_mutex_lock(&RTE.lock);
    if (memmem(topic, tl, "/proc/reg/", 10)) {
        if (memmem(p, len, "\"resp\"", 6)) RTE.registered = 1;
    } else if (RTE.exit_topic[0] && tl == strlen(RTE.exit_topic) &&
               !memcmp(topic, RTE.exit_topic, tl)) {
        if (memmem(p, len, "\"exited\"", 8)) {
            RTE.exited++;
            RTE.last_rx = t;
        }
    } else if (memmem(p, len, "\"create\"", 8) && memmem(p, len, "\"req\"", 5)) {
        long s = seq_of(p, len);
        if (s >= 0 && (size_t)s < RTE.cap && !RTE.rx[s]) {
            RTE.rx[s] = t;
            const char *u = memmem(p, len, "\"uuid\":\"", 8);
            if (u && (size_t)(u - (const char *)p) + 8 + 36 <= len) memcpy(RTE.uuid[s], u + 8, 36);
            RTE.got++;
            RTE.last_rx = t;
        }
        if (RTE.answer && memmem(topic, tl, REALM "/proc/control/" RT, strlen(REALM) + 14 + 36))
            answer_create(p, len);
    }
    if (RTE.got >= RTE.want || RTE.registered) pthread_cond_broadcast(&RTE.cond);
    pthread_mutex_unlock(&RTE.lock);
}

static int wait_for(size_t *counter, size_t want, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000 + 1;
    pthread_mutex_lock(&RTE.lock);
    long long deadline = harness_now_ms() + timeout_ms;
    while (*counter < want && harness_now_ms() < deadline) {
        pthread_mutex_unlock(&RTE.lock);
        usleep(200);
        pthread_mutex_lock(&RTE.lock);
    }
    int ok = *counter >= want;
    pthread_mutex_unlock(&RTE.lock);
    return ok;
}

/* ---- statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)v[i] / 1000.0; /* µs */
}

static long rss_kib(pid_t pid)
{
    return proc_rss_kib(pid);
}

/* The anonymous part of the resident set (heap, stacks): what the process
 * itself allocated, without the shared libraries' pages. */
static long anon_kib(pid_t pid)
{
    return proc_status_kib(pid, "RssAnon");
}

/* ---- publishing ---- */

static struct raw_mqtt *PUB;

static void publish(const char *topic, const char *text)
{
    uint8_t out[2048];
    size_t n = raw_mqtt_encode_publish(out, sizeof out, topic, (const uint8_t *)text, strlen(text));
    if (!n || raw_mqtt_write(PUB, out, n)) die("publish failed");
}

static int create_text(char *buf, size_t cap, long seq, const char *parent, const char *file)
{
    return snprintf(buf, cap,
                    "{\"object_id\":\"00000000-0000-4000-9000-%012ld\",\"action\":\"create\","
                    "\"type\":\"req\",\"data\":{\"type\":\"module\",\"name\":\"b%ld\",\"file\":"
                    "\"%s\"%s%s%s}}",
                    seq, seq, file, parent ? ",\"parent\":\"" : "", parent ? parent : "",
                    parent ? "\"" : "");
}

/* Send creates seq0..seq0+n-1 to topic as fast as possible (many packets per
 * write); returns the time of the first send. */
static uint64_t flood(const char *topic, long seq0, size_t n, const char *parent, const char *file)
{
    static uint8_t out[1 << 16];
    size_t used = 0;
    uint64_t first = now_ns();
    for (size_t i = 0; i < n; i++) {
        char text[512];
        create_text(text, sizeof text, seq0 + (long)i, parent, file);
        TX[seq0 + (long)i] = now_ns();
        size_t k = raw_mqtt_encode_publish(out + used, sizeof out - used, topic,
                                           (const uint8_t *)text, strlen(text));
        if (!k) {
            if (raw_mqtt_write(PUB, out, used)) die("publish failed");
            used = 0;
            k = raw_mqtt_encode_publish(out, sizeof out, topic, (const uint8_t *)text,
                                        strlen(text));
        }
        used += k;
    }
    if (used && raw_mqtt_write(PUB, out, used)) die("publish failed");
    return first;
}

/* Paced creates, one at a time; latencies (ns) into lat. */
static void paced(const char *topic, long seq0, size_t n, uint64_t *lat)
{
    for (size_t i = 0; i < n; i++) {
        char text[512];
        long s = seq0 + (long)i;
        create_text(text, sizeof text, s, NULL, "x.wasm");
        size_t before = RTE.got;
        TX[s] = now_ns();
        publish(topic, text);
        if (!wait_for(&RTE.got, before + 1, 5000)) {
            fprintf(stderr, "on %s, message %ld\n", topic, s);
            die("a create never arrived");
        }
        lat[i] = RTE.rx[s] - TX[s];
    }
}

/* Wait until the metrics count n dead modules. 0 when they do. */
static int wait_dead(int port, size_t n, int timeout_ms)
{
    char want[64];
    snprintf(want, sizeof want, "stratus_modules{state=\"D\"} %zu\n", n);
    long long deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        struct http_answer a;
        int hit = 0;
        if (http_request(port, "GET", "/metrics", NULL, 0, &a) == 0) {
            hit = a.body && strstr(a.body, want);
            http_answer_free(&a);
        }
        if (hit) return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static void rest_latency(int port, const char *const *paths, size_t npaths, size_t n, double *med,
                         double *p99)
{
    uint64_t *lat = calloc(n, sizeof *lat);
    for (size_t i = 0; i < n; i++) {
        struct http_answer a;
        uint64_t t0 = now_ns();
        if (http_request(port, "GET", paths[i % npaths], NULL, 0, &a) < 0 || a.status != 200)
            die("a REST request failed");
        lat[i] = now_ns() - t0;
        http_answer_free(&a);
    }
    *med = pct(lat, n, 0.5);
    *p99 = pct(lat, n, 0.99);
    free(lat);
}

int main(int argc, char **argv)
{
    size_t n_latency = 2000, n_modules = 10000, n_hello = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--latency")) n_latency = strtoul(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--modules")) n_modules = strtoul(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--hello")) n_hello = strtoul(argv[i + 1], NULL, 10);
    }
    if (n_modules < n_latency + 10) n_modules = n_latency + 10;
    size_t total = n_latency * 2 + n_modules * 2 + n_hello * 2 + 16;
    TX = calloc(total, sizeof *TX);
    RTE.rx = calloc(total, sizeof *RTE.rx);
    RTE.uuid = calloc(total, sizeof *RTE.uuid);
    RTE.cap = total;
    pthread_mutex_init(&RTE.lock, NULL);
    pthread_cond_init(&RTE.cond, NULL);

    struct stack S;
    if (stack_broker_up(&S)) die("no broker");
    struct orchestrator orc;
    const char *extra[] = {"--log-level", "warning", NULL};
    if (orchestrator_start(&orc, S.broker.port, REALM, NULL, extra)) die("no orchestrator");
    ORC_PROC = &orc.proc;
    RTE.conn = raw_mqtt_connect(S.broker.port, "bench-runtime", on_publish, NULL, NULL);
    PUB = raw_mqtt_connect(S.broker.port, "bench-pub", NULL, NULL, NULL);
    if (!RTE.conn || !PUB) die("cannot connect");
    raw_mqtt_subscribe(RTE.conn, REALM "/proc/control/" RT);
    raw_mqtt_subscribe(RTE.conn, REALM "/proc/reg/" RT);
    raw_mqtt_subscribe(RTE.conn, "ref/proc/control/" RT);
    usleep(200000);
    RTE.answer = 1;
    publish(
        REALM "/proc/reg/" RT,
        "{\"object_id\":\"00000000-0000-4000-9000-ffffffffffff\",\"action\":\"create\",\"type\":"
        "\"req\",\"data\":{\"type\":\"runtime\",\"uuid\":\"" RT "\",\"name\":\"bench-rt\","
        "\"runtime_type\":\"bench\",\"max_nmodules\":1000000}}");
    long long deadline = harness_now_ms() + 5000;
    while (!RTE.registered && harness_now_ms() < deadline)
        usleep(1000);
    if (!RTE.registered) die("the runtime was not registered");
    usleep(300000);
    long rss_idle = rss_kib(orc.proc.pid), rss_broker = rss_kib(S.broker.pid);
    long anon_idle = anon_kib(orc.proc.pid);

    /* Create latency, and the same message straight to a runtime topic. */
    uint64_t *lat = calloc(n_latency, sizeof *lat), *ref = calloc(n_latency, sizeof *ref);
    long seq = 0;
    paced("ref/proc/control/" RT, seq, n_latency, ref);
    seq += (long)n_latency;
    paced(REALM "/proc/control", seq, n_latency, lat);
    seq += (long)n_latency;
    double lat_med = pct(lat, n_latency, 0.5), lat_p99 = pct(lat, n_latency, 0.99);
    double ref_med = pct(ref, n_latency, 0.5), ref_p99 = pct(ref, n_latency, 0.99);

    /* Placements per second: the rest of the modules in one flood. */
    size_t n_flood = n_modules - n_latency;
    size_t base = RTE.got;
    uint64_t t_ref = flood("ref/proc/control/" RT, seq, n_flood, NULL, "x.wasm");
    if (!wait_for(&RTE.got, base + n_flood, 60000)) die("reference flood lost messages");
    double ref_rate = (double)n_flood / ((double)(RTE.last_rx - t_ref) / 1e9);
    seq += (long)n_flood;
    base = RTE.got;
    uint64_t t_orc = flood(REALM "/proc/control", seq, n_flood, NULL, "x.wasm");
    if (!wait_for(&RTE.got, base + n_flood, 120000)) die("placements lost");
    double orc_rate = (double)n_flood / ((double)(RTE.last_rx - t_orc) / 1e9);
    seq += (long)n_flood;
    usleep(6000 * 1000); /* answers in, output written, freed memory given back */

    json_t *list = http_get_json(orc.http_port, "/api/modules/?limit=1");
    size_t stored = (size_t)json_integer_value(json_object_get(list, "count"));
    json_decref(list);
    long rss_full = rss_kib(orc.proc.pid), anon_full = anon_kib(orc.proc.pid);

    /* REST lookups with everything stored. */
    list = http_get_json(orc.http_port, "/api/modules/?start=0&limit=1000");
    const char *paths[1000];
    char(*bufs)[96] = calloc(1000, sizeof *bufs);
    size_t np = 0;
    json_t *results = json_object_get(list, "results");
    for (size_t i = 0; i < json_array_size(results) && np < 1000; i++) {
        snprintf(bufs[np], 96, "/api/modules/%s/",
                 json_string_value(json_object_get(json_array_get(results, i), "uuid")));
        paths[np] = bufs[np];
        np++;
    }
    json_decref(list);
    const char *health[] = {"/healthz"};
    double get_med, get_p99, h_med, h_p99, page_med, page_p99;
    rest_latency(orc.http_port, health, 1, 1000, &h_med, &h_p99);
    rest_latency(orc.http_port, paths, np, 1000, &get_med, &get_p99);
    const char *page[] = {"/api/modules/?start=9000&limit=100"};
    rest_latency(orc.http_port, page, 1, 200, &page_med, &page_p99);

    /* The flood's modules end (the runtime reports each exit): ended modules
     * are kept in the store. */
    long flood0 = seq - (long)n_flood;
    static uint8_t out[1 << 16];
    size_t used = 0;
    for (long i = flood0; i < seq; i++) {
        char text[256];
        int n = snprintf(text, sizeof text,
                         "{\"object_id\":\"00000000-0000-4000-a000-%012ld\",\"action\":\"exited\","
                         "\"type\":\"req\",\"data\":{\"type\":\"module\",\"uuid\":\"%.36s\","
                         "\"status\":\"exited\",\"exit_code\":0}}",
                         i, RTE.uuid[i]);
        size_t k = raw_mqtt_encode_publish(out + used, sizeof out - used, REALM "/proc/control/" RT,
                                           (const uint8_t *)text, (size_t)n);
        if (!k) {
            if (raw_mqtt_write(PUB, out, used)) die("publish failed");
            used = 0;
            k = raw_mqtt_encode_publish(out, sizeof out, REALM "/proc/control/" RT,
                                        (const uint8_t *)text, (size_t)n);
        }
        used += k;
    }
    if (used && raw_mqtt_write(PUB, out, used)) die("publish failed");
    if (wait_dead(orc.http_port, n_flood, 60000)) die("the flood's modules did not all end");
    usleep(6000 * 1000); /* freed memory given back */
    long rss_ended = rss_kib(orc.proc.pid), anon_ended = anon_kib(orc.proc.pid);

    /* Real hello modules on a linux runtime. */
    char moddir[PATH_MAX], from[PATH_MAX + 32], to[PATH_MAX + 32];
    if (harness_tmpdir(moddir)) die("tmpdir");
    snprintf(from, sizeof from, "%s/hello.wasm", BENCH_EXAMPLES);
    snprintf(to, sizeof to, "%s/hello.wasm", moddir);
    if (harness_copy_file(from, to)) die("no hello.wasm (build the examples)");
    char lx[PATH_MAX + 32];
    snprintf(lx, sizeof lx, "linux=%s", BENCH_RUNTIME);
    const char *margs[] = {"--runtime", "linux:lx",    "--runtime-command", lx,  "--module-dir",
                           moddir,      "--log-level", "warning",           NULL};
    struct proc mgr;
    struct broker b = S.broker;
    if (manager_start(&mgr, &b, REALM, "bench-node", margs)) die("no manager");
    if (http_wait_field(orc.http_port, "/api/runtimes/lx/", "alive", "true", 10000))
        die("the linux runtime did not register");
    json_t *lxr = http_get_json(orc.http_port, "/api/runtimes/lx/");
    char lx_uuid[64];
    snprintf(lx_uuid, sizeof lx_uuid, "%s", json_string_value(json_object_get(lxr, "uuid")));
    json_decref(lxr);
    snprintf(RTE.exit_topic, sizeof RTE.exit_topic, REALM "/proc/control/%s", lx_uuid);
    raw_mqtt_subscribe(RTE.conn, RTE.exit_topic);
    usleep(200000);
    /* Straight to the runtime first (the reference: a sender that keeps at
     * most the runtime's 128 slots busy, as the orchestrator's queue does),
     * then through the orchestrator, all at once. */
    size_t e0 = RTE.exited, sent = 0;
    uint64_t h0 = now_ns();
    long long hdeadline = harness_now_ms() + 120000;
    while (RTE.exited - e0 < n_hello) {
        while (sent < n_hello && sent - (RTE.exited - e0) < 128) {
            flood(RTE.exit_topic, seq++, 1, NULL, "hello.wasm");
            sent++;
        }
        if (harness_now_ms() > hdeadline) die("direct hello modules did not all exit");
        usleep(100);
    }
    double hello_ref = (double)n_hello / ((double)(RTE.last_rx - h0) / 1e9);
    usleep(500000);
    e0 = RTE.exited;
    uint64_t h1 = flood(REALM "/proc/control", seq, n_hello, "lx", "hello.wasm");
    seq += (long)n_hello;
    if (!wait_for(&RTE.exited, e0 + n_hello, 120000)) die("hello modules did not all exit");
    double hello_orc = (double)n_hello / ((double)(RTE.last_rx - h1) / 1e9);

    /* The same records loaded by a restarted orchestrator: memory without
     * what the bursts above left behind. */
    kill(orc.proc.pid, SIGTERM);
    proc_wait_exit(&orc.proc, 10000);
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s", orc.db);
    if (orchestrator_start(&orc, S.broker.port, REALM, db, extra)) die("no restarted orchestrator");
    usleep(500000);
    long rss_restart = rss_kib(orc.proc.pid), anon_restart = anon_kib(orc.proc.pid);

    printf("orchestrator benchmark (one run; reference in brackets)\n");
    printf("  create latency, control -> control/{runtime}: median %.1f us, p99 %.1f us\n", lat_med,
           lat_p99);
    printf("    [one broker hop, straight to the runtime topic: median %.1f us, p99 %.1f us]\n",
           ref_med, ref_p99);
    printf("    added by the orchestrator: median %.1f us (its own work and the second hop)\n",
           lat_med - ref_med);
    printf("  placements/s sustained (%zu creates): %.0f/s  [broker alone: %.0f msg/s; ratio "
           "%.2f]\n",
           n_flood, orc_rate, ref_rate, orc_rate / ref_rate);
    printf("  RSS idle %.1f MiB; with %zu modules stored %.1f MiB  [broker %.1f MiB]\n",
           rss_idle / 1024.0, stored, rss_full / 1024.0, rss_broker / 1024.0);
    printf("    of which anonymous (heap; the rest is shared library pages): idle %.1f MiB, "
           "with %zu modules %.1f MiB\n",
           anon_idle / 1024.0, stored, anon_full / 1024.0);
    printf("    after the %zu modules of the flood ended (kept in the store): RSS %.1f MiB, "
           "anonymous %.1f MiB\n",
           n_flood, rss_ended / 1024.0, anon_ended / 1024.0);
    printf("    restarted on the same database (%zu modules stored, those not ended loaded): RSS "
           "%.1f MiB, anonymous %.1f MiB\n",
           stored + 2 * n_hello, rss_restart / 1024.0, anon_restart / 1024.0);
    printf("  REST GET /api/modules/{uuid}/ with %zu stored: median %.1f us, p99 %.1f us\n", stored,
           get_med, get_p99);
    printf("    [GET /healthz: median %.1f us, p99 %.1f us]\n", h_med, h_p99);
    printf("    GET /api/modules/?start=9000&limit=100: median %.1f us, p99 %.1f us\n", page_med,
           page_p99);
    printf("  hello.wasm creates -> exited on linux (%zu): %.0f/s through the orchestrator  "
           "[straight to the runtime: %.0f/s; ratio %.2f]\n",
           n_hello, hello_orc, hello_ref, hello_orc / hello_ref);
    proc_kill(&mgr);
    proc_kill(&orc.proc);
    raw_mqtt_close(RTE.conn);
    raw_mqtt_close(PUB);
    stack_broker_down(&S);
    harness_cleanup();
    free(lat);
    free(ref);
    free(bufs);
    free(TX);
    free(RTE.rx);
    free(RTE.uuid);
    return 0;
}
