/* libFuzzer target for `stratus spectest`'s script reader: arbitrary bytes are
 * written as a script file and run, so every way a JSON script can be broken
 * (bad JSON, wrong types, missing fields, odd values, unknown commands) must
 * end as an error line, never a crash or leak. The script's stdout (its
 * failure lines) is discarded; module files it names do not exist unless the
 * script names the file itself, which is fine too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static char dir[4096];
static char script[4200];
static int own_dir;

static void remove_files(void)
{
    unlink(script);
    if (own_dir) rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *given = getenv("STRATUS_FUZZ_SPECTEST_DIR");
    if (given && *given) {
        snprintf(dir, sizeof dir, "%s", given);
    } else {
        snprintf(dir, sizeof dir, "/tmp/stratus-fuzz-spectest-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
        own_dir = 1;
    }
    snprintf(script, sizeof script, "%s/fuzz-script-%ld.json", dir, (long)getpid());
    atexit(remove_files);
    if (!freopen("/dev/null", "w", stdout)) {
        perror("/dev/null");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(script, "wb");
    if (!f) abort();
    if (fwrite(data, 1, size, f) != size || fclose(f)) abort();
    /* Memory is capped (16 MiB per instance) so that a script growing memory
     * is not mistaken for a leak by the fuzzer's memory limit, and fuel too,
     * so that a call with a changed argument (a loop count, a recursion
     * depth) is not taken for a hang. */
    char name[] = "spectest", opt[] = "--max-pages", pages[] = "256", fuel_opt[] = "--fuel",
         fuel[] = "1000000";
    char *argv[] = {name, opt, pages, fuel_opt, fuel, script, NULL};
    int rc = cmd_spectest_main(6, argv);
    /* 0: passed, 1: assertions failed, 2: unreadable script. Nothing else. */
    if (rc < 0 || rc > 2) abort();
    return 0;
}
