/* Benchmark of the benchmarking runtime's own overhead, under a real
 * manager and a private mosquitto, with `stratus exec` of the same modules
 * timed from outside (fork to exit, CPU time from wait4) in the same run as
 * the reference:
 *   - the per-run wall and CPU time the runtime reports (its benchmarking
 *     record) for hello and for a compute module calibrated to about 100 ms,
 *     against `stratus exec` of each. The exec time holds a process start
 *     and a module load that a series' runs do not (a series loads once),
 *     so the comparison is of the increments: (reported busy - reported
 *     hello) against (exec busy - exec hello), the compute module's own
 *     execution with each side's fixed costs taken out. The two sides are
 *     measured in alternating rounds, so a change in the machine's load
 *     reaches both;
 *   - a series of 1,000 hello runs: create published -> exited received.
 * Medians are printed with the goals of the issue next to them, not
 * asserted (the machine is shared).
 *
 * usage: bench_benchmarking [--runs N] [--series N] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stack.h"
#include "stratus/profile_record.h"

#define SERIES_WAIT_MS 120000

static struct stack S;
static char MODDIR[PATH_MAX];
static char *RT;

static void die(const char *what)
{
    stack_die(&S, "bench_benchmarking", what);
}

static double median_us(long long *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, harness_cmp_ll);
    return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Wall and CPU (user + system) times of runs, in µs. */
struct samples {
    long long wall[4096], cpu[4096];
    int n;
};

static void add_sample(struct samples *s, long long wall, long long cpu)
{
    if (s->n < 4096) {
        s->wall[s->n] = wall;
        s->cpu[s->n++] = cpu;
    }
}

/* `stratus exec FILE [ARG]` from fork to exit (its CPU time from wait4),
 * output to /dev/null. */
static void exec_once(const char *file, const char *arg, struct samples *out)
{
    long long t0 = harness_now_us();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", MODDIR, file);
        execl(BENCH_STRATUS, "stratus", "exec", path, arg, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
        die("stratus exec failed");
    long long wall = harness_now_us() - t0;
    if (out)
        add_sample(out, wall,
                   (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A benchmarking series of `repeat` runs of file with argv [arg]: its
 * record decoded into rec, and the time from the create to the exited
 * message (µs) returned. */
static long long series(const char *file, const char *arg, int repeat, struct profile_record *rec)
{
    char *uuid = random_uuid();
    json_t *args = json_pack("{s:i, s:i}", "repeat", repeat, "limit", 600);
    if (arg) json_object_set_new(args, "argv", json_pack("[s]", arg));
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "module", "uuid", uuid, "name",
                             "bench", "file", file, "args", args);
    json_t *req = request_new("create", data, NULL);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, RT);
    long long t0 = harness_now_us();
    if (!req || client_publish_json(S.client, topic, req)) die("cannot publish a create");
    json_decref(req);
    struct message *done = stack_wait_exited(&S, RT, uuid, SERIES_WAIT_MS);
    if (!done) die("no exit");
    long long took = done->t_us - t0;
    message_free(done);
    snprintf(topic, sizeof topic, "%s/proc/profile/benchmarking/%s/%s", S.realm, RT, uuid);
    struct message *m = NULL;
    if (client_wait(S.client, topic, SERIES_WAIT_MS, NULL, NULL, &m)) die("no benchmarking record");
    char err[PROFILE_ERR_LEN];
    if (profile_record_decode("benchmarking", (const uint8_t *)m->payload, m->len, rec, err))
        die(err);
    message_free(m);
    free(uuid);
    client_clear(S.client);
    if ((int)rec->nruns != repeat) die("the series did not run every run");
    return took;
}

/* A series of n runs, each run's reported times added to out. */
static void series_samples(const char *file, const char *arg, int n, struct samples *out)
{
    struct profile_record rec;
    series(file, arg, n, &rec);
    for (size_t i = 0; i < rec.nruns; i++) {
        if (!rec.runs[i].wall_us) die("a run failed");
        add_sample(out, rec.runs[i].wall_us,
                   (long long)rec.runs[i].utime_us + rec.runs[i].stime_us);
    }
    profile_record_free(&rec);
}

static double wall_median(struct samples *s)
{
    return median_us(s->wall, s->n);
}

static double cpu_median(struct samples *s)
{
    return median_us(s->cpu, s->n);
}

int main(int argc, char **argv)
{
    int runs = 30, nseries = 1000;
    for (int i = 1; i < argc; i++) {
        int *target = !strcmp(argv[i], "--runs")     ? &runs
                      : !strcmp(argv[i], "--series") ? &nseries
                                                     : NULL;
        if (!target || i + 1 >= argc || (*target = atoi(argv[++i])) <= 0) {
            fprintf(stderr, "usage: bench_benchmarking [--runs N] [--series N]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    harness_init();
    if (stack_broker_up(&S) || harness_tmpdir(MODDIR)) die("cannot start the broker");
    const char *from[] = {BENCH_EXAMPLES "/hello.wasm", BENCH_BUSY};
    const char *to[] = {"hello.wasm", "busy.wasm"};
    for (int i = 0; i < 2; i++) {
        char dst[PATH_MAX + 32];
        snprintf(dst, sizeof dst, "%s/%s", MODDIR, to[i]);
        if (harness_copy_file(from[i], dst)) die("cannot copy the modules");
    }
    static const char *const quiet[] = {"--log-level", "warning", NULL};
    RT = stack_start_runtime(&S, "benchmarking", BENCH_RUNTIME, MODDIR, quiet);
    if (!RT) die("the runtime did not start and register");

    /* Calibrate the compute module to about 100 ms of its own execution. */
    static struct samples hello_exec, busy_exec, hello_rep, busy_rep, ten;
    exec_once("hello.wasm", NULL, NULL); /* warm the page cache */
    for (int i = 0; i < 5; i++) {
        exec_once("hello.wasm", NULL, &hello_exec);
        exec_once("busy.wasm", "10", &ten);
    }
    double per10 = wall_median(&ten) - wall_median(&hello_exec);
    long steps = per10 > 0 ? (long)(10 * 100000.0 / per10 + 0.5) : 10;
    if (steps < 1) steps = 1;
    char arg[32];
    snprintf(arg, sizeof arg, "%ld", steps);
    hello_exec.n = 0;

    /* Rounds that alternate the two sides, so a change in the machine's
     * load reaches both. */
    int rounds = 5, per = runs / rounds > 0 ? runs / rounds : 1;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < per; i++) {
            exec_once("hello.wasm", NULL, &hello_exec);
            exec_once("busy.wasm", arg, &busy_exec);
        }
        series_samples("hello.wasm", NULL, per, &hello_rep);
        series_samples("busy.wasm", arg, per, &busy_rep);
    }
    printf("goal: a reported run within 2%% or 200 us of the module's own execution\n");
    printf("medians of %d runs each       reported wall  cpu     | stratus exec wall  cpu\n",
           hello_rep.n);
    printf("hello                         %10.1f %10.1f | %10.1f %10.1f us\n",
           wall_median(&hello_rep), cpu_median(&hello_rep), wall_median(&hello_exec),
           cpu_median(&hello_exec));
    printf("busy %-8s (about 100 ms) %10.1f %10.1f | %10.1f %10.1f us\n", arg,
           wall_median(&busy_rep), cpu_median(&busy_rep), wall_median(&busy_exec),
           cpu_median(&busy_exec));
    double own = wall_median(&busy_exec) - wall_median(&hello_exec);
    double rep = wall_median(&busy_rep) - wall_median(&hello_rep);
    double own_cpu = cpu_median(&busy_exec) - cpu_median(&hello_exec);
    double rep_cpu = cpu_median(&busy_rep) - cpu_median(&hello_rep);
    printf("busy - hello: wall reported %.1f us vs exec %.1f us: %+.1f us (%+.2f%%); cpu %+.1f us "
           "(%+.2f%%)\n",
           rep, own, rep - own, own > 0 ? 100.0 * (rep - own) / own : 0, rep_cpu - own_cpu,
           own_cpu > 0 ? 100.0 * (rep_cpu - own_cpu) / own_cpu : 0);

    struct profile_record rec;
    long long took = series("hello.wasm", NULL, nseries, &rec);
    unsigned long long sum = 0;
    for (size_t i = 0; i < rec.nruns; i++)
        sum += rec.runs[i].wall_us;
    printf("series of %d hello runs: create -> exited %.3f s (goal < 2 s); runs themselves %.3f "
           "s; %d x stratus exec would take about %.3f s\n",
           nseries, took / 1e6, (double)sum / 1e6, nseries,
           nseries * wall_median(&hello_exec) / 1e6);
    profile_record_free(&rec);

    stack_manager_kill(&S);
    free(RT);
    stack_broker_down(&S);
    harness_cleanup();
    return 0;
}
