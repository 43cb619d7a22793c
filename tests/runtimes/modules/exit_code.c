/* Test module: prints its arguments and one environment variable, then
 * exits with the code given as its first argument (default 0). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    return argc > 1 ? atoi(argv[1]) : 0;
}
