/* Test module: announces itself, then loops forever without calling
 * anything, so only an interrupt of the engine can end it. */
#include <stdio.h>

int main(void)
{
    printf("spinning\n");
    fflush(stdout);
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
