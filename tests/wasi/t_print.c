/* Test program: stdout and stderr output, small and large. With "big N" it
 * writes N MiB of numbered 64-byte lines (checked by size and digest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "big")) {
        long mib = atol(argv[2]);
        long lines = mib * 1024 * 1024 / 64;
        for (long i = 0; i < lines; i++)
            printf("line %010ld abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJK\n", i);
        return 0;
    }
    printf("hello, world\n");
    fputs("to stderr\n", stderr);
    for (int i = 0; i < 3; i++)
        printf("%d squared is %d\n", i, i * i);
    printf("%s|%5.2f|%x\n", "fmt", 3.14159, 255);
    return 0;
}
