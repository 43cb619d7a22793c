/* Test module: writes 20000 numbered lines of 100 bytes (2 MB) to stdout
 * and a final line to stderr, to check that large outputs arrive complete
 * and in order. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[101];
    for (int i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "%08d", i);
        memset(line + 8, 'x', 91);
        line[99] = '\n';
        line[100] = '\0';
        fputs(line, stdout);
    }
    fflush(stdout);
    fputs("done\n", stderr);
    return 0;
}
