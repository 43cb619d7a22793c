/* Integration tests of the compiled tier's cache through the real `stratus`
 * program and the system C compiler: a compile is stored once and found
 * again; a changed module or another compiler makes a new entry; a corrupt
 * entry is noticed, not loaded, and rebuilt; concurrent compiles of one
 * module in several processes make one artifact and leave nothing behind;
 * without a compiler, `exec --engine auto` interprets and says so once,
 * `--engine aot` fails clearly; fuel is refused with aot. Each test works in
 * a cache directory of its own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char CACHE[PATH_MAX]; /* this test's cache */
static char WORK[PATH_MAX];  /* this test's modules */
static char HELLO[PATH_MAX + 32];

/* Runs `stratus ARGS...` to its end; returns its exit status, *out its
 * stdout and stderr (caller frees). */
static int run_stratus(char **out, const char *first, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = harness_stratus_path();
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct proc p;
    assert_int_equal(proc_start(&p, (char *const *)argv), 0);
    if (proc_wait_exit(&p, 120000)) fail_msg("stratus %s did not finish", first);
    char *log = proc_log_read(&p);
    assert_non_null(log);
    if (out)
        *out = log;
    else
        free(log);
    return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status);
}

/* Counts the cache's files ending in `suffix` (and starting with "." when
 * `hidden`). */
static int count_files(const char *suffix, bool hidden)
{
    DIR *d = opendir(CACHE);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((e->d_name[0] == '.') != hidden) continue;
        if (len >= sl && !strcmp(e->d_name + len - sl, suffix)) n++;
    }
    closedir(d);
    return n;
}

/* The one artifact in the cache (fails when there is not exactly one). */
static void only_artifact(char *path, size_t cap)
{
    assert_int_equal(count_files(".so", false), 1);
    DIR *d = opendir(CACHE);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 3 && !strcmp(e->d_name + len - 3, ".so"))
            snprintf(path, cap, "%s/%s", CACHE, e->d_name);
    }
    closedir(d);
}

/* A copy of hello.wasm with a custom section appended: another module for
 * the cache, the same program. */
static void fresh_module(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", WORK, name);
    assert_int_equal(harness_copy_file(HELLO, path), 0);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    long long now = harness_now_us();
    fwrite("\x00\x0e\x05"
           "fresh",
           1, 8, f);
    fwrite(&now, 1, 8, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (harness_tmpdir(CACHE) || harness_tmpdir(WORK)) return -1;
    setenv("STRATUS_AOT_CACHE", CACHE, 1);
    unsetenv("STRATUS_CC");
    return 0;
}

static void expect_hello(const char *out)
{
    if (!strstr(out, "Hello from Stratus!\n")) fail_msg("output: %s", out);
}

/* compile stores it; a second compile and an exec --engine aot find it. */
static void test_cache_hit(void **state)
{
    (void)state;
    char mod[PATH_MAX + 32], *out;
    fresh_module("m.wasm", mod, sizeof mod);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 0);
    if (!strstr(out, "compiled in")) fail_msg("first compile: %s", out);
    free(out);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 0);
    if (!strstr(out, "in the cache already")) fail_msg("second compile: %s", out);
    free(out);
    char artifact[PATH_MAX + 300];
    only_artifact(artifact, sizeof artifact);
    struct stat before, after;
    assert_int_equal(stat(artifact, &before), 0);
    assert_int_equal(run_stratus(&out, "exec", "--engine", "aot", mod, NULL), 0);
    expect_hello(out);
    free(out);
    assert_int_equal(stat(artifact, &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    assert_int_equal(count_files(".so", false), 1);
}

/* Another module, or another compiler, is another entry. */
static void test_cache_invalidation(void **state)
{
    (void)state;
    char a[PATH_MAX + 32], b[PATH_MAX + 32], *out;
    fresh_module("a.wasm", a, sizeof a);
    fresh_module("b.wasm", b, sizeof b);
    assert_int_equal(run_stratus(NULL, "compile", "-q", a, NULL), 0);
    assert_int_equal(count_files(".so", false), 1);
    assert_int_equal(run_stratus(&out, "compile", b, NULL), 0);
    if (!strstr(out, "compiled in")) fail_msg("changed module: %s", out);
    free(out);
    assert_int_equal(count_files(".so", false), 2);
    /* the same compiler under another version: a wrapper that says so */
    char wrapper[PATH_MAX + 32];
    snprintf(wrapper, sizeof wrapper, "%s/cc-wrapper", WORK);
    FILE *f = fopen(wrapper, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n"
               "if [ \"$1\" = --version ]; then echo 'clang version 99.1 (test wrapper)'; exit 0; "
               "fi\n"
               "exec clang \"$@\"\n");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(wrapper, 0755), 0);
    assert_int_equal(run_stratus(&out, "compile", "--cc", wrapper, a, NULL), 0);
    if (!strstr(out, "compiled in")) fail_msg("other compiler: %s", out);
    free(out);
    assert_int_equal(count_files(".so", false), 3);
    assert_int_equal(run_stratus(&out, "compile", "--cc", wrapper, a, NULL), 0);
    if (!strstr(out, "in the cache already")) fail_msg("other compiler again: %s", out);
    free(out);
    /* and the first compiler still finds its own */
    assert_int_equal(run_stratus(&out, "compile", a, NULL), 0);
    if (!strstr(out, "in the cache already")) fail_msg("first compiler again: %s", out);
    free(out);
}

/* A corrupted entry (a flipped byte, a cut file) is not loaded: it is said,
 * compiled again, and the module runs. */
static void test_corrupt_entry_rebuilt(void **state)
{
    (void)state;
    char mod[PATH_MAX + 32], artifact[PATH_MAX + 300], *out;
    fresh_module("c.wasm", mod, sizeof mod);
    assert_int_equal(run_stratus(NULL, "compile", "-q", mod, NULL), 0);
    only_artifact(artifact, sizeof artifact);
    struct stat st;
    assert_int_equal(stat(artifact, &st), 0);
    FILE *f = fopen(artifact, "r+b");
    assert_non_null(f);
    fseek(f, (long)st.st_size / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)st.st_size / 2, SEEK_SET);
    fputc(c ^ 0x5a, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(run_stratus(&out, "exec", "--engine", "aot", mod, NULL), 0);
    expect_hello(out);
    if (!strstr(out, "is not good") || !strstr(out, "SHA-256")) fail_msg("exec: %s", out);
    free(out);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 0);
    if (!strstr(out, "in the cache already")) fail_msg("after the rebuild: %s", out);
    free(out);
    /* cut short */
    assert_int_equal(truncate(artifact, st.st_size / 3), 0);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 0);
    if (!strstr(out, "is not good") || !strstr(out, "compiled in")) fail_msg("cut: %s", out);
    free(out);
    assert_int_equal(count_files(".so", false), 1);
}

/* Several processes compiling the same new module at once: one compiles,
 * the others wait and find its artifact; no temporary file stays. */
static void test_concurrent_compiles(void **state)
{
    (void)state;
    char mod[PATH_MAX + 32];
    fresh_module("d.wasm", mod, sizeof mod);
    enum { N = 4 };
    struct proc p[N];
    for (int i = 0; i < N; i++) {
        const char *argv[] = {harness_stratus_path(), "compile", mod, NULL};
        assert_int_equal(proc_start(&p[i], (char *const *)argv), 0);
    }
    int compiled = 0, cached = 0;
    for (int i = 0; i < N; i++) {
        if (proc_wait_exit(&p[i], 120000)) fail_msg("compile %d did not finish", i);
        assert_true(WIFEXITED(p[i].status) && WEXITSTATUS(p[i].status) == 0);
        char *log = proc_log_read(&p[i]);
        assert_non_null(log);
        if (strstr(log, "compiled in")) compiled++;
        if (strstr(log, "in the cache already")) cached++;
        free(log);
    }
    assert_int_equal(compiled, 1);
    assert_int_equal(cached, N - 1);
    assert_int_equal(count_files(".so", false), 1);
    assert_int_equal(count_files(".c", true) + count_files(".so", true), 0);
}

/* No compiler: auto interprets and says so once; aot fails with a reason;
 * the runs give the module's output and status all the same. */
static void test_no_compiler(void **state)
{
    (void)state;
    char mod[PATH_MAX + 32], *out;
    fresh_module("e.wasm", mod, sizeof mod);
    setenv("STRATUS_CC", "/nonexistent/cc", 1);
    assert_int_equal(run_stratus(&out, "exec", "--engine", "auto", mod, NULL), 0);
    expect_hello(out);
    const char *first = strstr(out, "no C compiler found");
    if (!first || strstr(first + 1, "no C compiler found")) fail_msg("auto: %s", out);
    if (!strstr(out, "modules run in the interpreter")) fail_msg("auto: %s", out);
    free(out);
    assert_int_equal(run_stratus(&out, "exec", "--engine", "aot", mod, NULL), 125);
    if (!strstr(out, "cannot compile: no C compiler found")) fail_msg("aot: %s", out);
    free(out);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 1);
    if (!strstr(out, "no C compiler found")) fail_msg("compile: %s", out);
    free(out);
    unsetenv("STRATUS_CC");
    assert_int_equal(count_files(".so", false), 0);
}

/* auto compiles in a process of its own after the first run; the next run
 * finds native code (the compile writes nothing the runs would see half). */
static void test_exec_auto_compiles_later(void **state)
{
    (void)state;
    char mod[PATH_MAX + 32], *out;
    fresh_module("f.wasm", mod, sizeof mod);
    assert_int_equal(run_stratus(&out, "exec", "--engine", "auto", mod, NULL), 0);
    expect_hello(out);
    free(out);
    long long end = harness_now_ms() + 60000;
    while (count_files(".so", false) < 1 && harness_now_ms() < end)
        usleep(50000);
    assert_int_equal(count_files(".so", false), 1);
    assert_int_equal(run_stratus(&out, "compile", mod, NULL), 0);
    if (!strstr(out, "in the cache already")) fail_msg("after auto: %s", out);
    free(out);
}

/* Fuel and opcode counting are the interpreter's: asked for with aot, exec
 * refuses and says so. */
static void test_fuel_is_interpreter_only(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_stratus(&out, "exec", "--engine", "aot", "--fuel", "100", HELLO, NULL), 2);
    if (!strstr(out, "interpreter only")) fail_msg("fuel: %s", out);
    free(out);
    assert_int_equal(
        run_stratus(&out, "exec", "--engine", "auto", "--fuel", "100000000", HELLO, NULL), 0);
    expect_hello(out);
    free(out);
}

/* The C translation can be read. */
static void test_emit_c(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_stratus(&out, "compile", "--emit-c", HELLO, NULL), 0);
    if (!strstr(out, "stratus_native_module") || !strstr(out, "#define SWN_T_UNREACHABLE"))
        fail_msg("emitted: %.300s", out);
    free(out);
    assert_int_equal(count_files(".so", false), 0);
}

int main(void)
{
    harness_init();
    snprintf(HELLO, sizeof HELLO, "%s/hello.wasm", AOT_EXAMPLES);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cache_hit, setup),
        cmocka_unit_test_setup(test_cache_invalidation, setup),
        cmocka_unit_test_setup(test_corrupt_entry_rebuilt, setup),
        cmocka_unit_test_setup(test_concurrent_compiles, setup),
        cmocka_unit_test_setup(test_no_compiler, setup),
        cmocka_unit_test_setup(test_exec_auto_compiles_later, setup),
        cmocka_unit_test_setup(test_fuel_is_interpreter_only, setup),
        cmocka_unit_test_setup(test_emit_c, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
