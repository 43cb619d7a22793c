/* Traps on its first run and exits 0 on the next, remembering the run in
 * state/marker (a preopened directory): for the fault_crash "restart" test. */
#include <stdio.h>

int main(void)
{
    FILE *f = fopen("state/marker", "r");
    if (f) {
        fclose(f);
        printf("second run\n");
        return 0;
    }
    f = fopen("state/marker", "w");
    if (!f) return 2;
    fclose(f);
    printf("first run\n");
    fflush(stdout);
    __builtin_trap();
}
