/* hello: the smallest Stratus module. It prints a greeting (and its
 * arguments, so a create request's argv can be seen arriving) on standard
 * output, which the runtime publishes on {realm}/proc/stdio/{module uuid}. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello from Stratus!\n");
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s\n", i, argv[i]);
    return 0;
}
