/* Test module: prints a line, then reads far past its linear memory (an
 * address the compiler cannot know is out of range), which must trap with
 * "out of bounds memory access" and never reach the host. */
#include <stdio.h>
#include <stdint.h>

int main(int argc, char **argv)
{
    (void)argv;
    printf("about to read out of bounds\n");
    fflush(stdout);
    volatile uintptr_t where = 0x7ffffff0u + (uintptr_t)argc;
    return *(volatile int *)where;
}
