/* Integer loops: the sieve of Eratosthenes over a byte array, repeated, plus
 * a Collatz chain search; both are tight loops of compares, adds and
 * branches. */
#include "bench_io.h"

#define LIMIT 4000000
static unsigned char composite[LIMIT + 1];

static unsigned long long sieve(void)
{
    for (unsigned i = 0; i <= LIMIT; i++)
        composite[i] = 0;
    unsigned long long count = 0, sum = 0;
    for (unsigned i = 2; i <= LIMIT; i++) {
        if (composite[i]) continue;
        count++;
        sum += i;
        for (unsigned long long j = (unsigned long long)i * i; j <= LIMIT; j += i)
            composite[j] = 1;
    }
    return count * 1000003ULL ^ sum;
}

/* The start below `limit` with the longest Collatz chain, and its length. */
static unsigned long long collatz(unsigned limit)
{
    unsigned best = 0, best_len = 0;
    for (unsigned start = 1; start < limit; start++) {
        unsigned long long n = start;
        unsigned len = 1;
        while (n != 1) {
            n = (n & 1) ? 3 * n + 1 : n >> 1;
            len++;
        }
        if (len > best_len) {
            best_len = len;
            best = start;
        }
    }
    return (unsigned long long)best << 32 | best_len;
}

void run(void)
{
    unsigned long long acc = 0;
    for (int round = 0; round < 5; round++)
        acc = acc * 31 + sieve();
    print_u64(acc);
    print_u64(collatz(1000000));
}
