/* Timing helpers of the client benchmarks: percentiles of samples, and one
 * timed run of a command with the time to its first byte of output. */
#ifndef STRATUS_BENCH_TIMING_H
#define STRATUS_BENCH_TIMING_H

/* The p-quantile (0..1) of n samples; sorts v in place. Cost: O(n log n). */
double bench_pct(long long *v, int n, double p);

/* Run argv (argv[0] a path; in cwd unless NULL) with stdout on a pipe and
 * stderr on /dev/null; *first_us gets the time to the first byte of output
 * (-1 when none). Returns the total time in us, or -1 unless it exited 0. */
long long bench_timed_run(char *const argv[], const char *cwd, long long *first_us);

#endif
