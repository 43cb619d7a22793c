/* Test module: prints a line, then divides by zero at run time (the divisor
 * comes from argc, so the compiler cannot see it coming). */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    printf("about to trap\n");
    fflush(stdout);
    volatile int zero = argc - 1;
    return 100 / zero;
}
