/* Unit tests of linear memory through the public API: pages are committed
 * only when touched (resident memory read from /proc, not time), the memory
 * cap and its note, exact traps at every boundary of a full 4 GiB memory
 * (guard regions) and of a small one, no partial writes, guard traps on many
 * threads at once, and faults that are not the module's still crash. Run
 * with STRATUS_NO_GUARD_PAGES=1 too (the bounds-checking loop). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stratus/wasm.h"

static sw_module *module;

/* Resident set (VmRSS) of this process in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

enum crash_kind { CRASH_NONE, CRASH_NULL, CRASH_GUARD };
static enum crash_kind crash_kind;

/* Crashes the way a buggy host function would: a NULL write, or a write
 * into the guard region of the caller's own memory. */
static sw_status host_crash(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    (void)user;
    (void)args;
    (void)results;
    uint8_t *base;
    uint64_t size;
    if (sw_call_memory(call, &base, &size) != SW_OK) return sw_call_trap(call, "no memory");
    volatile uint8_t *p = NULL;
    if (crash_kind == CRASH_GUARD) p = base + size + 64;
    if (crash_kind != CRASH_NONE) *p = 1;
    return SW_OK;
}

static sw_linker *make_linker(void)
{
    sw_linker *l;
    assert_int_equal(sw_linker_new(&l), SW_OK);
    sw_functype none = {0, 0, NULL, NULL};
    assert_int_equal(sw_linker_define_func(l, "host", "crash", &none, host_crash, NULL), SW_OK);
    return l;
}

static sw_instance *make_instance(sw_linker *l, uint32_t cap_pages)
{
    sw_limits limits;
    sw_limits_default(&limits);
    if (cap_pages) limits.max_memory_pages = cap_pages;
    sw_instance *inst;
    sw_error err;
    assert_int_equal(sw_instance_new(module, l, &limits, &inst, &err), SW_OK);
    return inst;
}

static sw_value i32v(uint32_t v)
{
    return (sw_value){.type = SW_I32, .of.i32 = (int32_t)v};
}

static int32_t call_i32(sw_instance *inst, const char *name, const sw_value *args, size_t n)
{
    sw_value r;
    sw_error err;
    assert_int_equal(sw_instance_call(inst, name, args, n, &r, 1, &err), SW_OK);
    return r.of.i32;
}

/* name(args) must trap with "out of bounds memory access". */
static void expect_oob(sw_instance *inst, const char *name, const sw_value *args, size_t n,
                       size_t nresults)
{
    sw_value r;
    sw_error err;
    sw_status st = sw_instance_call(inst, name, args, n, &r, nresults, &err);
    if (st != SW_ERR_TRAP || err.trap != SW_TRAP_MEMORY_OOB)
        fail_msg("%s(0x%x): status %d, %s", name, (unsigned)args[0].of.i32, st, err.message);
    assert_string_equal(err.message, "out of bounds memory access");
    /* and where: the exported function */
    assert_string_equal(err.func_name, name);
}

static void expect_load(sw_instance *inst, const char *name, uint32_t addr, int64_t want)
{
    sw_value a = i32v(addr), r;
    sw_error err;
    bool wide = name[1] == '6';
    assert_int_equal(sw_instance_call(inst, name, &a, 1, &r, 1, &err), SW_OK);
    if (wide)
        assert_int_equal(r.of.i64, want);
    else
        assert_int_equal(r.of.i32, (int32_t)want);
}

static void test_grow_one_page_at_a_time(void **state)
{
    (void)state;
    sw_linker *l = make_linker();
    long before = rss_kib();
    sw_instance *inst = make_instance(l, 0);
    sw_value n = i32v(65536);
    assert_int_equal(call_i32(inst, "grow_to", &n, 1), 65536);
    uint8_t *base;
    uint64_t size;
    assert_int_equal(sw_instance_memory(inst, "mem", &base, &size), SW_OK);
    assert_int_equal(size, 1ull << 32);
    /* 4 GiB declared, almost nothing touched: far less than 16 MiB more */
    long grown = rss_kib() - before;
    if (grown > 16 * 1024) fail_msg("resident memory grew by %ld KiB", grown);
    /* touching pages commits them, and only them */
    for (uint64_t p = 0; p < 64; p++)
        base[p * 65536 + 7] = 1;
    assert_true(rss_kib() - before < 16 * 1024 + 64 * 4 + 1024);
    assert_int_equal(call_i32(inst, "grow", &(sw_value){.type = SW_I32, .of.i32 = 1}, 1), -1);
    char note[128];
    sw_instance_limit_note(inst, note, sizeof note);
    assert_string_equal(note, ""); /* the spec's maximum, not a cap */
    sw_instance_free(inst);
    sw_linker_free(l);
}

static void test_guard_boundaries(void **state)
{
    (void)state;
    sw_linker *l = make_linker();
    sw_instance *inst = make_instance(l, 0);
    sw_value n = i32v(65536);
    assert_int_equal(call_i32(inst, "grow_to", &n, 1), 65536);
    const uint32_t top = 0xFFFFFFFFu; /* the last byte of a 4 GiB memory */
    sw_value st[2] = {i32v(top - 7), {.type = SW_I64, .of.i64 = 0x0102030405060708}};
    assert_int_equal(sw_instance_call(inst, "i64_store", st, 2, NULL, 0, NULL), SW_OK);
    expect_load(inst, "i64_load", top - 7, 0x0102030405060708);
    for (uint32_t k = 0; k < 7; k++) {
        sw_value a = i32v(top - k);
        expect_oob(inst, "i64_load", &a, 1, 1);
    }
    expect_load(inst, "i32_load", top - 3, 0x01020304);
    sw_value a = i32v(top - 2);
    expect_oob(inst, "i32_load", &a, 1, 1);
    /* folded offsets: with offset 0xFFFFFFFF no i64 fits in 4 GiB, up to
       the farthest access there is (0xFFFFFFFF + 0xFFFFFFFF + 8 bytes) */
    a = i32v(0);
    expect_oob(inst, "i64_load_far", &a, 1, 1);
    a = i32v(top);
    expect_oob(inst, "i64_load_far", &a, 1, 1);
    expect_load(inst, "i32_load_k", 0x0C, 0x01020304); /* 0xFFFFFFF0 + 0xC: the last word */
    a = i32v(0x0D);
    expect_oob(inst, "i32_load_k", &a, 1, 1);
    /* a store across the end writes nothing */
    sw_value st2[2] = {i32v(top - 3), {.type = SW_I64, .of.i64 = -1}};
    sw_error err;
    assert_int_equal(sw_instance_call(inst, "i64_store", st2, 2, NULL, 0, &err), SW_ERR_TRAP);
    expect_load(inst, "i32_load", top - 3, 0x01020304);
    /* bulk operations across the end trap before writing anything */
    sw_value fill[3] = {i32v(top - 1), i32v(0xAA), i32v(3)};
    assert_int_equal(sw_instance_call(inst, "fill", fill, 3, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.trap, SW_TRAP_MEMORY_OOB);
    expect_load(inst, "load8", top - 1, 0x02);
    sw_value copy[3] = {i32v(top - 9), i32v(0), i32v(11)};
    assert_int_equal(sw_instance_call(inst, "copy", copy, 3, NULL, 0, &err), SW_ERR_TRAP);
    expect_load(inst, "load8", top - 9, 0);
    sw_value copy2[3] = {i32v(0), i32v(top - 9), i32v(11)};
    assert_int_equal(sw_instance_call(inst, "copy", copy2, 3, NULL, 0, &err), SW_ERR_TRAP);
    expect_load(inst, "load8", 0, 0);
    /* zero-length at the very end is allowed */
    sw_value fill0[3] = {i32v(0), i32v(1), i32v(0)};
    fill0[0].of.i32 = (int32_t)top;
    assert_int_equal(sw_instance_call(inst, "fill", fill0, 3, NULL, 0, &err), SW_OK);
    sw_instance_free(inst);
    sw_linker_free(l);
}

static void test_small_memory_end(void **state)
{
    (void)state;
    sw_linker *l = make_linker();
    sw_instance *inst = make_instance(l, 0);
    sw_value st[2] = {i32v(65532), i32v(0x11223344)};
    assert_int_equal(sw_instance_call(inst, "i32_store", st, 2, NULL, 0, NULL), SW_OK);
    sw_value st64[2] = {i32v(65532), {.type = SW_I64, .of.i64 = -1}};
    sw_error err;
    assert_int_equal(sw_instance_call(inst, "i64_store", st64, 2, NULL, 0, &err), SW_ERR_TRAP);
    expect_load(inst, "i32_load", 65532, 0x11223344);
    sw_value a = i32v(65533);
    expect_oob(inst, "i32_load", &a, 1, 1);
    a = i32v(65536);
    expect_oob(inst, "load8", &a, 1, 1);
    /* after growing, the same address is fine */
    sw_value one = i32v(1);
    assert_int_equal(call_i32(inst, "grow", &one, 1), 1);
    expect_load(inst, "load8", 65536, 0);
    sw_instance_free(inst);
    sw_linker_free(l);
}

static void test_cap(void **state)
{
    (void)state;
    sw_linker *l = make_linker();
    sw_instance *inst = make_instance(l, 32);
    sw_value n = i32v(1000);
    assert_int_equal(call_i32(inst, "grow_to", &n, 1), 32);
    char note[128];
    sw_instance_limit_note(inst, note, sizeof note);
    assert_string_equal(note, "memory.grow to 33 pages refused: limit 32 pages (2 MiB)");
    sw_instance_free(inst);
    /* a minimum over the cap: refused up front, with the sizes */
    sw_limits limits;
    sw_limits_default(&limits);
    limits.max_memory_pages = 0;
    sw_error err;
    assert_int_equal(sw_instance_new(module, l, &limits, &inst, &err), SW_ERR_LIMIT);
    assert_non_null(strstr(err.message, "memory of 1 pages"));
    assert_non_null(strstr(err.message, "over the limit of 0 pages"));
    sw_linker_free(l);
}

static void *trap_many(void *arg)
{
    sw_instance *inst = arg;
    for (int i = 0; i < 2000; i++) {
        sw_value a = i32v(65536 + (uint32_t)i), r;
        sw_error err;
        if (sw_instance_call(inst, "i64_load", &a, 1, &r, 1, &err) != SW_ERR_TRAP ||
            err.trap != SW_TRAP_MEMORY_OOB)
            return (void *)1;
        a = i32v((uint32_t)i * 8);
        if (sw_instance_call(inst, "i64_load", &a, 1, &r, 1, &err) != SW_OK) return (void *)1;
    }
    return NULL;
}

static void test_traps_on_threads(void **state)
{
    (void)state;
    sw_linker *l = make_linker();
    enum { N = 4 };
    sw_instance *inst[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        inst[i] = make_instance(l, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, trap_many, inst[i]), 0);
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
        sw_instance_free(inst[i]);
    }
    sw_linker_free(l);
}

/* In a child process (the crash must kill it): a wasm trap first, then the
 * host function's crash, which must not come back as a trap. */
static void expect_host_crash(enum crash_kind kind)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* not the test framework's handler */
        sw_linker *l = make_linker();
        sw_instance *inst = make_instance(l, 0);
        sw_value a = i32v(70000), r;
        if (sw_instance_call(inst, "i64_load", &a, 1, &r, 1, NULL) != SW_ERR_TRAP) _exit(3);
        crash_kind = kind;
        sw_error err;
        sw_instance_call(inst, "crash", NULL, 0, NULL, 0, &err);
        _exit(4); /* the crash came back: swallowed */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
        fail_msg("child: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_host_crashes_are_not_traps(void **state)
{
    (void)state;
    expect_host_crash(CRASH_NULL);
    /* a write past the end of the memory lands in the guard region only
       when there is one; without, it may hit any neighbouring mapping */
    const char *no_guards = getenv("STRATUS_NO_GUARD_PAGES");
    if (no_guards && !strcmp(no_guards, "1"))
        printf("no guard regions: the guard-region crash case does not apply\n");
    else
        expect_host_crash(CRASH_GUARD);
}

/* Opcode names for embedders, and 0xFC-prefixed instructions counted by
 * their own sub-opcode. */
static void test_opcode_names_and_prefixed_counts(void **state)
{
    (void)state;
    assert_string_equal(sw_opcode_name(0x6A), "i32.add");
    assert_string_equal(sw_opcode_name(0x0E), "br_table");
    assert_string_equal(sw_opcode_name(SW_OPCODE_FC(0)), "i32.trunc_sat_f32_s");
    assert_string_equal(sw_opcode_name(SW_OPCODE_FC(10)), "memory.copy");
    assert_string_equal(sw_opcode_name(SW_OPCODE_FC(17)), "table.fill");
    assert_null(sw_opcode_name(SW_OPCODE_FC(18)));
    assert_null(sw_opcode_name(0xFD));
    assert_null(sw_opcode_name(0x06));
    sw_linker *l = make_linker();
    sw_instance *inst = make_instance(l, 0);
    assert_int_equal(sw_instance_set_counting(inst, true), SW_OK);
    sw_value args[3] = {i32v(0), i32v(1), i32v(8)};
    assert_int_equal(sw_instance_call(inst, "fill", args, 3, NULL, 0, NULL), SW_OK);
    assert_int_equal(sw_instance_call(inst, "copy", args, 3, NULL, 0, NULL), SW_OK);
    assert_int_equal(sw_instance_call(inst, "copy", args, 3, NULL, 0, NULL), SW_OK);
    uint64_t counts[256], fc[SW_FC_COUNT];
    sw_instance_counts(inst, counts);
    sw_instance_counts_fc(inst, fc);
    assert_int_equal(counts[0xFC], 3);
    assert_int_equal(fc[11], 1);
    assert_int_equal(fc[10], 2);
    assert_int_equal(fc[8], 0);
    sw_instance_reset_counts(inst);
    sw_instance_counts_fc(inst, fc);
    assert_int_equal(fc[10], 0);
    sw_instance_free(inst);
    sw_linker_free(l);
}

static int group_setup(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/engine_memory.wasm", WASM_DIR);
    sw_error err;
    return sw_module_load_file(path, &module, &err) == SW_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    sw_module_free(module);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_one_page_at_a_time),
        cmocka_unit_test(test_guard_boundaries),
        cmocka_unit_test(test_small_memory_end),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_traps_on_threads),
        cmocka_unit_test(test_host_crashes_are_not_traps),
        cmocka_unit_test(test_opcode_names_and_prefixed_counts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
