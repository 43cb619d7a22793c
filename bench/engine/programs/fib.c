/* Recursion: the naive doubly recursive Fibonacci, which is almost nothing
 * but calls and returns. */
#include "bench_io.h"

static unsigned fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

void run(void)
{
    print_u64(fib(38));
}
