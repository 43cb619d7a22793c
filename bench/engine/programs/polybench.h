/* Shared by the PolyBench-like loop nests: deterministic initial values and
 * a checksum of a double array (its bits summed, so any change shows). */
#ifndef STRATUS_BENCH_POLYBENCH_H
#define STRATUS_BENCH_POLYBENCH_H

#include "bench_io.h"

static inline double pb_init(int i, int j, int n)
{
    return (double)((i * (j + 1) + 3) % n) / n;
}

static inline unsigned long long pb_sum(const double *a, long n)
{
    unsigned long long s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31 + bench_double_bits(a[i]);
    return s;
}

#endif
