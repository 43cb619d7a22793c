/* echo: copies standard input to standard output line by line. Publish a
 * line on {realm}/proc/stdio/{module uuid} and the module publishes it back
 * on the same topic; it runs until its input ends or it is deleted. */
#include <stdio.h>

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        fputs(line, stdout);
        /* Each line leaves at once, not when a buffer fills. */
        fflush(stdout);
    }
    return 0;
}
