/* What every engine benchmark program sees: one way out for its result
 * (print_u64) and its entry point (run). Built for wasm32, print_u64 is an
 * import from the host module "bench"; built natively, native_shim.c provides
 * it, so the same source runs in both places and must print the same numbers. */
#ifndef STRATUS_BENCH_IO_H
#define STRATUS_BENCH_IO_H

#ifdef __wasm__
__attribute__((import_module("bench"), import_name("print_u64"))) void
print_u64(unsigned long long value);
#else
void print_u64(unsigned long long value);
#endif

/* Runs the benchmark once and prints its checksum(s) through print_u64. */
void run(void);

/* The bits of a double, so float results are compared exactly. */
static inline unsigned long long bench_double_bits(double d)
{
    union {
        double d;
        unsigned long long u;
    } v = {.d = d};
    return v.u;
}

#endif
