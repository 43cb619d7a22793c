/* Reads one line from standard input, prints "got LINE" and exits 0: for
 * tests that keep many modules alive at once and then let them all finish. */
#include <stdio.h>

int main(void)
{
    char line[256];
    if (!fgets(line, sizeof line, stdin)) return 1;
    printf("got %s", line);
    return 0;
}
