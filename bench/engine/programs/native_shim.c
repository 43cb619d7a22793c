/* Native host for an engine benchmark program: prints what the program
 * reports through print_u64 and times its run() on the monotonic clock, the
 * same measurement bench_engine makes around the wasm export. The time goes to
 * stderr as "run_us=N" so stdout holds only the checksums. */
#include <stdio.h>
#include <time.h>

#include "bench_io.h"

void print_u64(unsigned long long value)
{
    printf("%llu\n", value);
}

int main(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long us = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
    fflush(stdout);
    fprintf(stderr, "run_us=%lld\n", us);
    return 0;
}
