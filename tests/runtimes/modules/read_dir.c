/* Test module: prints the content of data/input.txt, reachable only through
 * the "data" directory the create request lists in args.dirs. */
#include <stdio.h>

int main(void)
{
    FILE *f = fopen("data/input.txt", "r");
    if (!f) {
        printf("cannot open data/input.txt\n");
        return 1;
    }
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fwrite(buf, 1, n, stdout);
    return 0;
}
