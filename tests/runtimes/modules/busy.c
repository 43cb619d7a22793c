/* Test and benchmark module: computes for a while (argv[1] million steps of
 * a xorshift generator, default 10) and prints the result, so its run time
 * is all the engine's work. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    unsigned long steps = (argc > 1 ? strtoul(argv[1], NULL, 10) : 10) * 1000000ul;
    unsigned x = 2463534242u;
    for (unsigned long i = 0; i < steps; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    printf("busy %u\n", x);
    return 0;
}
