/* Test module: allocates 1 MiB blocks (touching each, and chaining them so
 * the compiler cannot drop the allocations) until malloc fails, prints how
 * many it got and exits with code 3: the runtime's memory cap must stop it
 * and its exit reason must say so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    void **last = NULL;
    int blocks = 0;
    for (;;) {
        void **p = malloc(1 << 20);
        if (!p) break;
        memset(p, 1, 1 << 20);
        p[0] = last;
        last = p;
        blocks++;
    }
    int chained = 0;
    for (void **p = last; p; p = *p)
        chained++;
    printf("blocks=%d chained=%d\n", blocks, chained);
    return 3;
}
