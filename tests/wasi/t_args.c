/* Test program: arguments and environment as the module sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    size_t n = 0;
    while (environ[n])
        n++;
    qsort(environ, n, sizeof *environ, cmp);
    printf("envc=%zu\n", n);
    for (size_t i = 0; i < n; i++)
        printf("env: %s\n", environ[i]);
    const char *v = getenv("GREETING");
    printf("GREETING=%s\n", v ? v : "(unset)");
    return 0;
}
