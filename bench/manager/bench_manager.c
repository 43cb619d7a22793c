/* Benchmark of `stratus manager` as a message forwarder, in one run against
 * a private mosquitto: messages per second and latency of 64-byte messages
 * for module -> MQTT, MQTT -> module and module -> module (loopback) through
 * the manager, with the broker alone (client to client) as the reference,
 * and the time from starting a manager to its registrations arriving.
 *
 * The outbox (what the manager keeps while the broker is unreachable) is in
 * the module -> MQTT path; that path is measured again with a manager run
 * with --no-outbox (publish at once or drop) as its reference. Then the
 * broker is killed while a module publishes DRAIN_COUNT messages, started
 * again on the same port, and the time from the manager's reconnect (its
 * registrations arriving) to the last of those messages arriving is
 * measured, with the broker alone carrying as many from a client as the
 * reference.
 *
 * Modules are fake runtime scripts ("flood" sends time-stamped messages,
 * "sink" measures what arrives and reports); every stamp is CLOCK_MONOTONIC,
 * which all processes on the machine share. Rates are counted from the first
 * message sent to the last received. Latency runs pace messages (one every
 * PACE_US) so that they measure the path, not queueing.
 *
 * The machine is usually shared, so every measurement runs --runs times and
 * the best run is kept (highest rate; lowest median latency): noise from
 * other processes only ever makes a run worse.
 *
 * usage: bench_manager [--messages N] [--latency-messages N] [--starts N] [--runs N] */
#define _GNU_SOURCE
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "raw_mqtt.h"
#include "stack.h"

#define MSG_SIZE 64
#define PACE_US 500

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_manager: %s\n", what);
    exit(1);
}

/* ---- the receiving end: counts and time-stamps, no per-message allocation ---- */

struct meter {
    struct raw_mqtt *conn;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char topic[256];      /* the measured topic */
    char reg_filter[256]; /* registrations to count, "" for none */
    size_t got, cap;
    size_t want; /* wake the waiter when got reaches this */
    uint64_t first_rx, last_rx, first_stamp;
    uint64_t *lat; /* cap entries */
    int regs;
    uint64_t reg_time[8];
    char report[2048]; /* last JSON report seen on report_topic */
    char report_topic[256];
    int acks;
};

static uint64_t stamp_of(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    if (len < 8) return 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int topic_is(const char *topic, size_t tl, const char *want)
{
    return want[0] && strlen(want) == tl && !memcmp(topic, want, tl);
}

static void meter_on_publish(void *ctx, const char *topic, size_t tl, const uint8_t *payload,
                             size_t len)
{
    struct meter *me = ctx;
    uint64_t t = now_ns();
    pthread_mutex_lock(&me->lock);
    if (topic_is(topic, tl, me->topic)) {
        uint64_t s = stamp_of(payload, len);
        if (!me->got) {
            me->first_rx = t;
            me->first_stamp = s;
        }
        me->last_rx = t;
        if (me->got < me->cap) me->lat[me->got] = s && t > s ? t - s : 0;
        me->got++;
        /* Waking the waiting thread per message would cost a context switch
         * each and measure the scheduler: wake it only at the goal. */
        if (me->got == me->want) pthread_cond_broadcast(&me->cond);
        pthread_mutex_unlock(&me->lock);
        return;
    } else if (topic_is(topic, tl, me->report_topic)) {
        size_t n = len < sizeof me->report - 1 ? len : sizeof me->report - 1;
        memcpy(me->report, payload, n);
        me->report[n] = 0;
    } else if (me->reg_filter[0] && tl < 256) {
        char name[256];
        bool match = false;
        memcpy(name, topic, tl);
        name[tl] = 0;
        mosquitto_topic_matches_sub(me->reg_filter, name, &match);
        if (match && me->regs < 8) me->reg_time[me->regs++] = t;
    }
    pthread_cond_broadcast(&me->cond);
    pthread_mutex_unlock(&me->lock);
}

static void meter_on_ack(void *ctx)
{
    struct meter *me = ctx;
    pthread_mutex_lock(&me->lock);
    me->acks++;
    pthread_cond_broadcast(&me->cond);
    pthread_mutex_unlock(&me->lock);
}

/* Wait until cond_fn holds or timeout; returns 1 if it holds. */
static int meter_wait(struct meter *me, int (*cond_fn)(struct meter *, void *), void *arg,
                      int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&me->lock);
    int ok;
    while (!(ok = cond_fn(me, arg)))
        if (pthread_cond_timedwait(&me->cond, &me->lock, &ts)) break;
    ok = cond_fn(me, arg);
    pthread_mutex_unlock(&me->lock);
    return ok;
}

static int has_acks(struct meter *me, void *arg)
{
    return me->acks >= *(int *)arg;
}

static struct meter *meter_new(int port, const char *id, size_t cap)
{
    struct meter *me = calloc(1, sizeof *me);
    if (!me) die("out of memory");
    pthread_mutex_init(&me->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&me->cond, &ca);
    me->cap = cap;
    me->lat = calloc(cap ? cap : 1, sizeof *me->lat);
    if (!me->lat) die("out of memory");
    me->conn = raw_mqtt_connect(port, id, meter_on_publish, meter_on_ack, me);
    if (!me->conn) die("meter cannot connect");
    return me;
}

static void meter_sub(struct meter *me, const char *filter, int subscribe)
{
    int want;
    pthread_mutex_lock(&me->lock);
    want = me->acks + 1;
    pthread_mutex_unlock(&me->lock);
    int rc =
        subscribe ? raw_mqtt_subscribe(me->conn, filter) : raw_mqtt_unsubscribe(me->conn, filter);
    if (rc || !meter_wait(me, has_acks, &want, 5000)) die("meter cannot (un)subscribe");
}

static void meter_subscribe(struct meter *me, const char *filter)
{
    meter_sub(me, filter, 1);
}

static void meter_reset(struct meter *me, const char *topic, const char *report_topic)
{
    pthread_mutex_lock(&me->lock);
    snprintf(me->topic, sizeof me->topic, "%s", topic ? topic : "");
    snprintf(me->report_topic, sizeof me->report_topic, "%s", report_topic ? report_topic : "");
    me->got = 0;
    me->want = (size_t)-1;
    me->first_rx = me->last_rx = me->first_stamp = 0;
    me->report[0] = 0;
    me->regs = 0;
    pthread_mutex_unlock(&me->lock);
}

static void meter_free(struct meter *me)
{
    raw_mqtt_close(me->conn);
    free(me->lat);
    free(me);
}

static int got_at_least(struct meter *me, void *arg)
{
    return me->got >= *(size_t *)arg;
}

static int has_report(struct meter *me, void *arg)
{
    (void)arg;
    return me->report[0] != 0;
}

static int regs_at_least(struct meter *me, void *arg)
{
    return me->regs >= *(int *)arg;
}

/* Wait for `want` messages, giving up after `idle_ms` without progress. */
static void meter_collect(struct meter *me, size_t want, int idle_ms)
{
    size_t last = (size_t)-1;
    pthread_mutex_lock(&me->lock);
    me->want = want;
    pthread_mutex_unlock(&me->lock);
    for (;;) {
        if (meter_wait(me, got_at_least, &want, idle_ms)) return;
        pthread_mutex_lock(&me->lock);
        size_t got = me->got;
        pthread_mutex_unlock(&me->lock);
        if (got == last) return;
        last = got;
    }
}

/* ---- results ---- */

struct result {
    const char *name;
    double rate; /* messages per second, 0 if not measured */
    size_t sent, received;
    double median_us, p99_us; /* < 0 if not measured */
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void latency_from(uint64_t *lat, size_t n, double *median_us, double *p99_us)
{
    if (!n) {
        *median_us = *p99_us = -1;
        return;
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    size_t p99 = n * 99 / 100;
    if (p99 >= n) p99 = n - 1;
    *median_us = (double)lat[n / 2] / 1000.0;
    *p99_us = (double)lat[p99] / 1000.0;
}

/* ---- publishing from the bench ---- */

/* Publish `count` stamped messages: unpaced ones packed many per write (as
 * fast as the broker takes them), paced ones one write each. */
static void publish_stamped(struct raw_mqtt *pub, const char *topic, size_t count, int pace_us)
{
    static uint8_t out[4096]; /* a few dozen messages per write, like a busy client */
    uint8_t msg[MSG_SIZE];
    size_t used = 0;
    for (size_t i = 8; i < sizeof msg; i++)
        msg[i] = (uint8_t)('a' + i % 26);
    uint64_t next = now_ns();
    for (size_t k = 0; k < count; k++) {
        if (pace_us) {
            while (now_ns() < next)
                ;
            next += (uint64_t)pace_us * 1000u;
        }
        uint64_t t = now_ns();
        for (int b = 0; b < 8; b++)
            msg[b] = (uint8_t)(t >> (8 * b));
        size_t n = raw_mqtt_encode_publish(out + used, sizeof out - used, topic, msg, MSG_SIZE);
        if (!n) {
            if (raw_mqtt_write(pub, out, used)) die("publish failed");
            used = 0;
            n = raw_mqtt_encode_publish(out, sizeof out, topic, msg, MSG_SIZE);
        }
        used += n;
        if (pace_us) {
            if (raw_mqtt_write(pub, out, used)) die("publish failed");
            used = 0;
        }
    }
    if (used && raw_mqtt_write(pub, out, used)) die("publish failed");
}

/* ---- the measurements ---- */

static struct stack S;
static struct meter *M;      /* receives measured traffic */
static struct raw_mqtt *PUB; /* publishes for the reference and MQTT -> module */
static char *RT;             /* fake runtime uuid */
static size_t N_RATE = 200000, N_LAT = 4000;
static int N_STARTS = 15, N_RUNS = 3;

/* Keep the better of two results of one measurement. */
static void keep_best(struct result *best, const struct result *r, int first)
{
    if (first) {
        *best = *r;
        return;
    }
    if (r->rate > best->rate) {
        best->rate = r->rate;
        best->received = r->received;
    }
    if (r->median_us >= 0 && (best->median_us < 0 || r->median_us < best->median_us)) {
        best->median_us = r->median_us;
        best->p99_us = r->p99_us;
    }
}

static void reference_broker_alone(struct result *rate, struct result *lat)
{
    const char *topic = "bench/ref";
    meter_subscribe(M, topic);
    meter_reset(M, topic, NULL);
    uint64_t t0 = now_ns();
    publish_stamped(PUB, topic, N_RATE, 0);
    meter_collect(M, N_RATE, 2000);
    rate->name = "broker alone: client -> client";
    rate->sent = N_RATE;
    rate->received = M->got;
    rate->rate = M->got > 1 ? (double)M->got / ((double)(M->last_rx - t0) / 1e9) : 0;
    rate->median_us = rate->p99_us = -1;

    meter_reset(M, topic, NULL);
    publish_stamped(PUB, topic, N_LAT, PACE_US);
    meter_collect(M, N_LAT, 2000);
    *lat = *rate;
    lat->rate = 0;
    lat->sent = N_LAT;
    lat->received = M->got;
    latency_from(M->lat, M->got < M->cap ? M->got : M->cap, &lat->median_us, &lat->p99_us);
}

static char *create_module(const char *script)
{
    char *uuid = random_uuid();
    json_t *st = steps(script);
    if (!st) die("bad script");
    struct message *r = stack_create(&S, RT, module_data(uuid, "bench", st));
    if (!r || !json_at_equals(r->json, "data.result", "ok")) die("module create failed");
    message_free(r);
    return uuid;
}

static void delete_module(char *uuid)
{
    struct message *r = stack_delete(&S, RT, uuid);
    message_free(r);
    r = stack_wait_exited(&S, RT, uuid, WAIT_MS);
    message_free(r);
    free(uuid);
}

/* Module floods `count` messages to topic; the meter receives them. */
static void module_to_mqtt(struct result *res, size_t count, int pace_us)
{
    char script[1024];
    const char *topic = "bench/m2q";
    meter_subscribe(M, topic);
    meter_reset(M, topic, NULL);
    snprintf(script, sizeof script,
             "[{\"write_mode\": \"packed\"}, {\"open\": 1, \"flags\": 2, \"topic\": \"%s\"},"
             " {\"flood\": {\"ch\": 1, \"count\": %zu, \"size\": %d, \"interval_us\": %d}}]",
             topic, count, MSG_SIZE, pace_us);
    char *mod = create_module(script);
    meter_collect(M, count, 3000);
    res->name = "module -> MQTT";
    res->sent = count;
    res->received = M->got;
    res->rate = 0;
    res->median_us = res->p99_us = -1;
    if (pace_us)
        latency_from(M->lat, M->got < M->cap ? M->got : M->cap, &res->median_us, &res->p99_us);
    else if (M->got > 1 && M->last_rx > M->first_stamp)
        res->rate = (double)M->got / ((double)(M->last_rx - M->first_stamp) / 1e9);
    delete_module(mod);
}

/* Parse a sink report into res. */
static void read_report(struct result *res, const char *report)
{
    json_t *r = json_loads(report, 0, NULL);
    if (!r) die("bad sink report");
    uint64_t count = (uint64_t)json_integer_value(json_object_get(r, "count"));
    uint64_t last = (uint64_t)json_integer_value(json_object_get(r, "last_ns"));
    uint64_t first_stamp = (uint64_t)json_integer_value(json_object_get(r, "first_stamp_ns"));
    res->received = count;
    res->median_us = (double)json_integer_value(json_object_get(r, "median_ns")) / 1000.0;
    res->p99_us = (double)json_integer_value(json_object_get(r, "p99_ns")) / 1000.0;
    res->rate =
        count > 1 && last > first_stamp ? (double)count / ((double)(last - first_stamp) / 1e9) : 0;
    json_decref(r);
}

static char *sink_module(const char *in_topic, const char *report_topic, size_t count)
{
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"open\": 1, \"flags\": 1, \"topic\": \"%s\"},"
             " {\"open\": 2, \"flags\": 2, \"topic\": \"%s\"},"
             " {\"sink\": {\"ch\": 1, \"count\": %zu, \"report\": 2, \"idle_ms\": 3000}},"
             " {\"publish\": 2, \"data\": \"{\\\"ready\\\": 1}\"}]",
             in_topic, report_topic, count);
    char *mod = create_module(script);
    if (!meter_wait(M, has_report, NULL, WAIT_MS)) die("sink module never became ready");
    pthread_mutex_lock(&M->lock);
    M->report[0] = 0;
    pthread_mutex_unlock(&M->lock);
    return mod;
}

static void mqtt_to_module(struct result *res, size_t count, int pace_us)
{
    const char *in = "bench/q2m", *rep = "bench/q2m-report";
    meter_subscribe(M, rep);
    meter_reset(M, NULL, rep);
    char *mod = sink_module(in, rep, count);
    publish_stamped(PUB, in, count, pace_us);
    if (!meter_wait(M, has_report, NULL, 60000)) die("no report from the sink module");
    res->name = "MQTT -> module";
    res->sent = count;
    read_report(res, M->report);
    if (pace_us)
        res->rate = 0;
    else
        res->median_us = res->p99_us = -1;
    delete_module(mod);
}

static void module_to_module(struct result *res, size_t count, int pace_us)
{
    const char *loop = "bench/loop", *rep = "bench/loop-report";
    meter_subscribe(M, rep);
    meter_reset(M, NULL, rep);
    char *sink = sink_module(loop, rep, count);
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"write_mode\": \"packed\"}, {\"open\": 1, \"flags\": 2, \"topic\": \"%s\"},"
             " {\"flood\": {\"ch\": 1, \"count\": %zu, \"size\": %d, \"interval_us\": %d}}]",
             loop, count, MSG_SIZE, pace_us);
    char *src = create_module(script);
    if (!meter_wait(M, has_report, NULL, 60000)) die("no report from the loopback sink");
    res->name = "module -> module (loopback)";
    res->sent = count;
    read_report(res, M->report);
    if (pace_us)
        res->rate = 0;
    else
        res->median_us = res->p99_us = -1;
    delete_module(src);
    delete_module(sink);
}

/* Start the manager under test (killing the previous one), with `more`
 * flags; sets RT. */
static void start_bench_manager(const char *name, const char *more)
{
    stack_manager_kill(&S);
    free(RT);
    /* The previous manager's registrations name a runtime "bench" too. */
    client_clear(S.client);
    char fake[PATH_MAX + 16];
    snprintf(fake, sizeof fake, "test/fake=%s", harness_fake_runtime_path());
    const char *extra[] = {
        "--runtime", "test/fake:bench", "--runtime-command", fake, "--log-level", "warning", more,
        NULL};
    if (manager_start(&S.manager, &S.broker, S.realm, name, extra)) die("cannot start the manager");
    S.manager_started = 1;
    RT = stack_wait_registration(&S, "runtime", "bench", NULL);
    if (!RT) die("the manager did not register its runtime");
}

#define DRAIN_COUNT 10000

/* Time for the broker alone to carry DRAIN_COUNT unpaced messages from a
 * client to the meter, first publish to last arrival (ms). */
static double reference_drain_ms(void)
{
    const char *topic = "bench/drain-ref";
    meter_subscribe(M, topic);
    meter_reset(M, topic, NULL);
    uint64_t t0 = now_ns();
    publish_stamped(PUB, topic, DRAIN_COUNT, 0);
    meter_collect(M, DRAIN_COUNT, 2000);
    if (M->got < DRAIN_COUNT) die("the broker lost messages of the drain reference");
    return (double)(M->last_rx - t0) / 1e6;
}

static int got_registration(struct meter *me, void *arg)
{
    (void)arg;
    return me->regs > 0;
}

/* The broker goes away while a module publishes DRAIN_COUNT messages; after
 * it is back, the time from the manager's registrations to the last queued
 * message arriving (ms). *received gets how many arrived. */
static double outage_drain_ms(size_t *received)
{
    const char *topic = "bench/drain";
    char script[1024];
    snprintf(script, sizeof script,
             "[{\"open\": 1, \"flags\": 2, \"topic\": \"%s\"}, {\"sleep_ms\": 1000},"
             " {\"flood\": {\"ch\": 1, \"count\": %d, \"size\": %d, \"interval_us\": 0}}]",
             topic, DRAIN_COUNT, MSG_SIZE);
    char *mod = create_module(script);
    int port = S.broker.port;
    meter_free(M);
    raw_mqtt_close(PUB);
    client_free(S.client);
    S.client = NULL;
    broker_stop(&S.broker);
    /* The module publishes meanwhile; the manager keeps what it gets. */
    usleep(2500 * 1000);
    if (broker_start(&S.broker, port)) die("cannot restart the broker");
    M = meter_new(port, "bench-meter", DRAIN_COUNT);
    PUB = raw_mqtt_connect(port, "bench-pub", NULL, NULL, NULL);
    if (!PUB || client_connect(&S.client, port, "bench-client")) die("cannot reconnect");
    char filter[128], reg[128];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    if (client_subscribe(S.client, filter, 1)) die("cannot subscribe");
    snprintf(reg, sizeof reg, "%s/proc/reg/+", S.realm);
    meter_subscribe(M, topic);
    meter_subscribe(M, reg);
    meter_reset(M, topic, NULL);
    pthread_mutex_lock(&M->lock);
    snprintf(M->reg_filter, sizeof M->reg_filter, "%s", reg);
    pthread_mutex_unlock(&M->lock);
    /* The manager retries with backoff: it comes back within ~4 s. */
    if (!meter_wait(M, got_registration, NULL, 3 * WAIT_MS)) die("the manager did not reconnect");
    meter_collect(M, DRAIN_COUNT, 3000);
    *received = M->got;
    double ms = M->got ? (double)(M->last_rx - M->reg_time[0]) / 1e6 : -1;
    M->reg_filter[0] = 0;
    delete_module(mod);
    return ms;
}

/* Median time from starting a manager to both registrations arriving. */
static double start_to_registered_ms(double *min_ms, double *max_ms)
{
    double *t = calloc((size_t)N_STARTS, sizeof *t);
    if (!t) die("out of memory");
    int n = 0;
    for (int i = 0; i < N_STARTS; i++) {
        char realm[64], filter[128];
        snprintf(realm, sizeof realm, "startbench%d", i);
        snprintf(filter, sizeof filter, "%s/proc/reg/+", realm);
        meter_subscribe(M, filter);
        meter_reset(M, NULL, NULL);
        pthread_mutex_lock(&M->lock);
        snprintf(M->reg_filter, sizeof M->reg_filter, "%s", filter);
        pthread_mutex_unlock(&M->lock);
        struct proc p;
        const char *extra[] = {"--runtime", "test/reg:r", "--log-level", "warning", NULL};
        uint64_t t0 = now_ns();
        if (manager_start(&p, &S.broker, realm, "startbench", extra))
            die("cannot start the manager");
        int want = 2;
        if (meter_wait(M, regs_at_least, &want, WAIT_MS))
            t[n++] = (double)(M->reg_time[1] - t0) / 1e6;
        proc_kill(&p);
        meter_sub(M, filter, 0);
    }
    M->reg_filter[0] = 0;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double med = n ? t[n / 2] : -1;
    *min_ms = n ? t[0] : -1;
    *max_ms = n ? t[n - 1] : -1;
    free(t);
    return med;
}

/* ---- report ---- */

static void print_row(const struct result *r, const struct result *ref_rate,
                      const struct result *ref_lat)
{
    char rate[32] = "-", ratio[32] = "-", med[32] = "-", p99[32] = "-", added[32] = "-";
    if (r->rate > 0) {
        snprintf(rate, sizeof rate, "%.0f", r->rate);
        if (ref_rate && ref_rate->rate > 0)
            snprintf(ratio, sizeof ratio, "%.2f", r->rate / ref_rate->rate);
    }
    if (r->median_us >= 0) {
        snprintf(med, sizeof med, "%.1f", r->median_us);
        snprintf(p99, sizeof p99, "%.1f", r->p99_us);
        if (ref_lat && ref_lat->median_us >= 0)
            snprintf(added, sizeof added, "%+.1f", r->median_us - ref_lat->median_us);
    }
    printf("%-32s %12s %7s %11s %9s %11s %9zu/%zu\n", r->name, rate, ratio, med, p99, added,
           r->received, r->sent);
}

/* One path through the manager: the best unpaced rate and the best paced
 * latency of N_RUNS runs. */
typedef void (*path_fn)(struct result *res, size_t count, int pace_us);
static void measure_path(const char *name, path_fn measure, struct result *rate, struct result *lat)
{
    fprintf(stderr, "bench_manager: %s...\n", name);
    for (int run = 0; run < N_RUNS; run++) {
        struct result r;
        measure(&r, N_RATE, 0);
        keep_best(rate, &r, run == 0);
        measure(&r, N_LAT, PACE_US);
        keep_best(lat, &r, run == 0);
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--messages"))
            N_RATE = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--latency-messages"))
            N_LAT = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            N_RUNS = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--starts"))
            N_STARTS = atoi(argv[i + 1]);
        else
            die("usage: bench_manager [--messages N] [--latency-messages N] [--starts N] "
                "[--runs N]");
    }
    if (N_RATE < 2 || N_LAT < 2 || N_STARTS < 1) die("counts too small");
    if (stack_broker_up(&S) || stack_new_realm(&S)) die("cannot start the broker");
    size_t cap = N_RATE > N_LAT ? N_RATE : N_LAT;
    M = meter_new(S.broker.port, "bench-meter", cap);
    PUB = raw_mqtt_connect(S.broker.port, "bench-pub", NULL, NULL, NULL);
    if (!PUB) die("publisher cannot connect");

    struct result ref_rate, ref_lat, m2q_rate, m2q_lat, q2m_rate, q2m_lat, m2m_rate, m2m_lat;
    fprintf(stderr, "bench_manager: broker alone...\n");
    for (int run = 0; run < N_RUNS; run++) {
        struct result r1, r2;
        reference_broker_alone(&r1, &r2);
        keep_best(&ref_rate, &r1, run == 0);
        keep_best(&ref_lat, &r2, run == 0);
    }

    double reg_min, reg_max;
    fprintf(stderr, "bench_manager: manager start to registered...\n");
    double reg_med = start_to_registered_ms(&reg_min, &reg_max);

    start_bench_manager("bench-plain", "--no-outbox");
    struct result plain_rate, plain_lat;
    measure_path("module -> MQTT, no outbox", module_to_mqtt, &plain_rate, &plain_lat);
    plain_rate.name = "module -> MQTT, --no-outbox (ref)";
    start_bench_manager("bench", NULL);

    measure_path("module -> MQTT", module_to_mqtt, &m2q_rate, &m2q_lat);
    measure_path("MQTT -> module", mqtt_to_module, &q2m_rate, &q2m_lat);
    measure_path("module -> module", module_to_module, &m2m_rate, &m2m_lat);

    fprintf(stderr, "bench_manager: drain after an outage...\n");
    double drain_ref = reference_drain_ms();
    size_t drained = 0;
    double drain = outage_drain_ms(&drained);

    printf("\nstratus manager forwarding, %d-byte messages, QoS 0, loopback broker\n", MSG_SIZE);
    printf("rates: %zu messages unpaced; latency: %zu messages, one per %d us; best of %d runs\n\n",
           N_RATE, N_LAT, PACE_US, N_RUNS);
    printf("%-32s %12s %7s %11s %9s %11s %13s\n", "path", "msgs/s", "ratio", "median us", "p99 us",
           "added us", "recv/sent");
    struct result ref_row = ref_rate;
    ref_row.median_us = ref_lat.median_us;
    ref_row.p99_us = ref_lat.p99_us;
    print_row(&ref_row, &ref_rate, NULL);
    struct result *rates[] = {&plain_rate, &m2q_rate, &q2m_rate, &m2m_rate};
    struct result *lats[] = {&plain_lat, &m2q_lat, &q2m_lat, &m2m_lat};
    for (int i = 0; i < 4; i++) {
        struct result row = *rates[i];
        row.median_us = lats[i]->median_us;
        row.p99_us = lats[i]->p99_us;
        /* Loopback skips the broker: its latency is all manager. */
        print_row(&row, &ref_rate, i == 3 ? NULL : &ref_lat);
    }
    printf("\nratio = rate / broker-alone rate; added = median - broker-alone median\n");
    printf("outbox in the path: module -> MQTT %.2fx the --no-outbox rate, median %+.1f us\n",
           plain_rate.rate > 0 ? m2q_rate.rate / plain_rate.rate : 0,
           m2q_lat.median_us - plain_lat.median_us);
    printf("drain of %d messages kept during a broker outage: %.1f ms from the reconnect "
           "(%zu/%d arrived); broker alone carrying %d: %.1f ms (%.2fx)\n",
           DRAIN_COUNT, drain, drained, DRAIN_COUNT, DRAIN_COUNT, drain_ref,
           drain_ref > 0 ? drain / drain_ref : 0);
    printf("start to registered (manager + 1 runtime), %d starts: median %.2f ms, min %.2f, max "
           "%.2f\n",
           N_STARTS, reg_med, reg_min, reg_max);
    printf("\ngoals: ratio >= 0.5, added median < 100 us, > 280000 msgs/s, registered < 20 ms\n");

    free(RT);
    raw_mqtt_close(PUB);
    meter_free(M);
    stack_broker_down(&S);
    return 0;
}
