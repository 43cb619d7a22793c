/* Test program: exit codes, traps and raised signals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* proc_raise is not in this wasi-libc's headers any more; import it. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise"))) int
raw_proc_raise(int sig);

int main(int argc, char **argv)
{
    if (argc < 2) return 0;
    if (!strcmp(argv[1], "trap")) {
        puts("before trap");
        fflush(stdout);
        __builtin_trap();
    }
    if (!strcmp(argv[1], "return")) return atoi(argv[2]);
    if (!strcmp(argv[1], "abort")) {
        fflush(stdout);
        abort();
    }
    if (!strcmp(argv[1], "raise-ignored")) {
        printf("raise CHLD: %u\n", (unsigned)raw_proc_raise(16));
        printf("raise 99: %u\n", (unsigned)raw_proc_raise(99));
        return 0;
    }
    if (!strcmp(argv[1], "raise-term")) {
        fflush(stdout);
        raw_proc_raise(15);
        puts("not reached");
    }
    if (!strcmp(argv[1], "loop")) {
        volatile unsigned x = 0;
        for (;;)
            x++;
    }
    if (!strcmp(argv[1], "alloc")) {
        size_t mib = (size_t)atoi(argv[2]);
        /* volatile: the compiler may not elide an allocation we test. */
        char *volatile p = malloc(mib << 20);
        printf("malloc %zu MiB: %s\n", mib, p ? "ok" : "failed");
        if (p) {
            memset(p, 1, mib << 20);
            free(p);
        }
        return p ? 0 : 1;
    }
    puts("exiting");
    exit(atoi(argv[1]));
}
