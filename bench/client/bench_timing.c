/* Timing helpers of the client benchmarks (see bench_timing.h). */
#define _GNU_SOURCE
#include "bench_timing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

double bench_pct(long long *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_ll);
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i];
}

long long bench_timed_run(char *const argv[], const char *cwd, long long *first_us)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    long long t0 = harness_now_us();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (cwd && chdir(cwd) < 0) _exit(126);
        dup2(p[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *first_us = -1;
    char buf[4096];
    ssize_t r;
    while ((r = read(p[0], buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (*first_us < 0) *first_us = harness_now_us() - t0;
    }
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    long long total = harness_now_us() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return total;
}
