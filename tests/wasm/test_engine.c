/* Unit tests of the engine through its public API (include/stratus/wasm.h):
 * load errors, execution, traps, host functions and the call context,
 * linking, limits (call depth, fuel, interrupt) and opcode counting. The test
 * modules are built from engine_basic.wat / engine_link.wat at build time;
 * WASM_DIR names the directory they land in. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stratus/wasm.h"

static uint8_t *read_wasm(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", WASM_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* --- host functions for engine_basic ------------------------------------ */

static int add_calls;

static sw_status host_add(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    add_calls += *(int *)user;
    results[0].type = SW_I32;
    results[0].of.i32 = args[0].of.i32 + args[1].of.i32;
    return SW_OK;
}

static sw_status host_fail(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    return sw_call_trap(call, "host says no");
}

static sw_status host_quit(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    return sw_call_exit(call, args[0].of.i32);
}

/* Writes a byte at address 0 through the call context's memory view. */
static sw_status host_poke(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    uint8_t *base;
    uint64_t size;
    if (sw_call_memory(call, &base, &size) != SW_OK || size < 1 || !sw_call_instance(call))
        return sw_call_trap(call, "no memory");
    base[0] = (uint8_t)args[0].of.i32;
    return SW_OK;
}

struct fixture {
    sw_module *module;
    sw_linker *linker;
    sw_instance *inst;
};

static int one = 1;

static sw_linker *basic_linker(void)
{
    sw_linker *l;
    assert_int_equal(sw_linker_new(&l), SW_OK);
    static const sw_valtype ii[] = {SW_I32, SW_I32}, i[] = {SW_I32};
    sw_functype add = {2, 1, ii, i}, none = {0, 0, NULL, NULL}, takes_i = {1, 0, i, NULL};
    assert_int_equal(sw_linker_define_func(l, "host", "add", &add, host_add, &one), SW_OK);
    assert_int_equal(sw_linker_define_func(l, "host", "fail", &none, host_fail, NULL), SW_OK);
    assert_int_equal(sw_linker_define_func(l, "host", "quit", &takes_i, host_quit, NULL), SW_OK);
    assert_int_equal(sw_linker_define_func(l, "host", "poke", &takes_i, host_poke, NULL), SW_OK);
    return l;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    size_t len;
    uint8_t *bytes = read_wasm("engine_basic.wasm", &len);
    sw_error err;
    if (sw_module_load(bytes, len, &fx->module, &err) != SW_OK) {
        fprintf(stderr, "load: %s\n", err.message);
        free(bytes);
        return -1;
    }
    free(bytes);
    fx->linker = basic_linker();
    if (sw_instance_new(fx->module, fx->linker, NULL, &fx->inst, &err) != SW_OK) {
        fprintf(stderr, "instantiate: %s\n", err.message);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    sw_instance_free(fx->inst);
    sw_linker_free(fx->linker);
    sw_module_free(fx->module);
    free(fx);
    return 0;
}

static sw_value i32v(int32_t v)
{
    return (sw_value){.type = SW_I32, .of.i32 = v};
}
static sw_value i64v(int64_t v)
{
    return (sw_value){.type = SW_I64, .of.i64 = v};
}

/* --- tests ---------------------------------------------------------------- */

static void test_load_errors(void **state)
{
    sw_module *m = NULL;
    sw_error err;
    static const uint8_t bad_magic[] = {0, 'a', 's', 'x', 1, 0, 0, 0};
    assert_int_equal(sw_module_load(bad_magic, sizeof bad_magic, &m, &err), SW_ERR_MALFORMED);
    assert_null(m);
    assert_string_equal(err.reason, "magic header not detected");

    /* a type section cut short */
    static const uint8_t truncated[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 3, 1, 0x60, 1};
    assert_int_equal(sw_module_load(truncated, sizeof truncated, &m, &err), SW_ERR_MALFORMED);
    assert_string_equal(err.section, "type");
    assert_true(strstr(err.reason, "unexpected end") != NULL);

    /* (func (result i32) (i64.const 0)): well-formed, but a type mismatch */
    static const uint8_t mismatch[] = {0,    'a', 's', 'm', 1, 0,  0, 0, 1, 5, 1,    0x60, 0,   1,
                                       0x7F, 3,   2,   1,   0, 10, 6, 1, 4, 0, 0x42, 0,    0x0B};
    assert_int_equal(sw_module_load(mismatch, sizeof mismatch, &m, &err), SW_ERR_INVALID);
    assert_string_equal(err.reason, "type mismatch");
    assert_string_equal(err.section, "code");
    assert_int_equal(err.offset, 26); /* the `end` that finds an i64, not an i32 */

    /* a v128 parameter */
    static const uint8_t simd[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 1, 0x7B, 0};
    assert_int_equal(sw_module_load(simd, sizeof simd, &m, &err), SW_ERR_INVALID);
    assert_string_equal(err.reason, "SIMD not supported");

    /* the smallest valid module */
    static const uint8_t empty[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    assert_int_equal(sw_module_load(empty, sizeof empty, &m, &err), SW_OK);
    assert_int_equal(sw_module_import_count(m), 0);
    sw_module_free(m);
}

static void test_introspection(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(sw_module_import_count(fx->module), 4);
    sw_import im;
    assert_int_equal(sw_module_import(fx->module, 0, &im), SW_OK);
    assert_string_equal(im.module, "host");
    assert_string_equal(im.name, "add");
    assert_int_equal(im.type.kind, SW_EXTERN_FUNC);
    assert_int_equal(im.type.of.func.nparams, 2);
    assert_int_equal(im.type.of.func.results[0], SW_I32);
    bool saw_mem = false;
    for (uint32_t i = 0; i < sw_module_export_count(fx->module); i++) {
        sw_export ex;
        assert_int_equal(sw_module_export(fx->module, i, &ex), SW_OK);
        if (!strcmp(ex.name, "mem")) {
            saw_mem = true;
            assert_int_equal(ex.kind, SW_EXTERN_MEMORY);
            assert_int_equal(ex.type.of.memory.min, 1);
            assert_int_equal(ex.type.of.memory.max, 4);
        }
    }
    assert_true(saw_mem);
}

static void test_calls(void **state)
{
    struct fixture *fx = *state;
    sw_value arg = i64v(20), res[2];
    sw_error err;
    assert_int_equal(sw_instance_call(fx->inst, "fac", &arg, 1, res, 1, &err), SW_OK);
    assert_int_equal(res[0].type, SW_I64);
    assert_int_equal(res[0].of.i64, 2432902008176640000LL);
    arg = i64v(10);
    assert_int_equal(sw_instance_call(fx->inst, "fac_indirect", &arg, 1, res, 1, &err), SW_OK);
    assert_int_equal(res[0].of.i64, 3628800);
    arg = i32v(100000);
    assert_int_equal(sw_instance_call(fx->inst, "sum", &arg, 1, res, 1, &err), SW_OK);
    assert_int_equal((uint32_t)res[0].of.i32, (uint32_t)(100000ull * 100001 / 2));
    arg = i32v(-5);
    assert_int_equal(sw_instance_call(fx->inst, "multi", &arg, 1, res, 2, &err), SW_OK);
    assert_int_equal(res[0].of.i32, -5);
    assert_int_equal(res[1].of.i64, -5);
    /* f32.min of -0 and +0 is -0 */
    sw_value fz[2] = {{.type = SW_F32, .of.f32 = 0.0f}, {.type = SW_F32, .of.f32 = -0.0f}};
    assert_int_equal(sw_instance_call(fx->inst, "fmin", fz, 2, res, 1, &err), SW_OK);
    assert_int_equal((uint32_t)res[0].of.i32, 0x80000000u);
    /* wrong arity and types are refused */
    assert_int_equal(sw_instance_call(fx->inst, "fac", &arg, 1, res, 1, &err), SW_ERR_ARG);
    assert_int_equal(sw_instance_call(fx->inst, "nope", NULL, 0, NULL, 0, &err), SW_ERR_NOT_FOUND);
}

static void expect_trap(sw_instance *inst, const char *name, const sw_value *args, size_t n,
                        size_t nres, sw_trap trap, const char *text)
{
    sw_value res[2];
    sw_error err;
    assert_int_equal(sw_instance_call(inst, name, args, n, res, nres, &err), SW_ERR_TRAP);
    assert_int_equal(err.trap, trap);
    assert_true(strncmp(err.message, text, strlen(text)) == 0);
}

static void test_traps(void **state)
{
    struct fixture *fx = *state;
    sw_value two[2] = {i32v(1), i32v(0)};
    expect_trap(fx->inst, "div", two, 2, 1, SW_TRAP_DIV_ZERO, "integer divide by zero");
    two[0] = i32v(INT32_MIN);
    two[1] = i32v(-1);
    expect_trap(fx->inst, "div", two, 2, 1, SW_TRAP_INT_OVERFLOW, "integer overflow");
    sw_value addr = i32v(65536);
    expect_trap(fx->inst, "load", &addr, 1, 1, SW_TRAP_MEMORY_OOB, "out of bounds memory access");
    expect_trap(fx->inst, "trap", NULL, 0, 0, SW_TRAP_UNREACHABLE, "unreachable");
    expect_trap(fx->inst, "call_null", NULL, 0, 1, SW_TRAP_UNINITIALIZED_ELEMENT,
                "uninitialized element");
    /* the instance still works after traps */
    sw_value res;
    addr = i32v(16);
    assert_int_equal(sw_instance_call(fx->inst, "load", &addr, 1, &res, 1, NULL), SW_OK);
    assert_int_equal(res.of.i32, 'h');
}

/* A trap says which function was running: its export name when it has one
 * (this module has no name section), else only its index; a host function's
 * trap names the wasm function that called it. */
static void test_trap_location(void **state)
{
    struct fixture *fx = *state;
    sw_error err;
    char where[128];
    assert_int_equal(sw_instance_call(fx->inst, "trap", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.func_index, 9);
    assert_string_equal(err.func_name, "trap");
    sw_error_trap_location(&err, where, sizeof where);
    assert_string_equal(where, "in function 'trap', func[9]");

    assert_int_equal(sw_instance_call(fx->inst, "trap_deep", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.func_index, 21);
    assert_string_equal(err.func_name, "");
    sw_error_trap_location(&err, where, sizeof where);
    assert_string_equal(where, "in func[21]");
    char line[400];
    sw_error_describe(&err, line, sizeof line);
    assert_string_equal(line, "unreachable (in func[21])");

    assert_int_equal(sw_instance_call(fx->inst, "host_fail", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.func_index, 15);
    assert_string_equal(err.func_name, "host_fail");

    /* Not a trap: no location. */
    memset(&err, 0, sizeof err);
    err.status = SW_ERR_INVALID;
    sw_error_trap_location(&err, where, sizeof where);
    assert_string_equal(where, "");
    snprintf(err.message, sizeof err.message, "bad module");
    sw_error_describe(&err, line, sizeof line);
    assert_string_equal(line, "bad module");
}

static void test_deep_recursion(void **state)
{
    struct fixture *fx = *state;
    sw_value arg = i32v(0);
    expect_trap(fx->inst, "recurse", &arg, 1, 1, SW_TRAP_STACK_EXHAUSTED, "call stack exhausted");
    /* and again, to show the stack was unwound */
    expect_trap(fx->inst, "recurse", &arg, 1, 1, SW_TRAP_STACK_EXHAUSTED, "call stack exhausted");
}

static void test_host_functions(void **state)
{
    struct fixture *fx = *state;
    sw_value args[2] = {i32v(40), i32v(2)}, res;
    sw_error err;
    add_calls = 0;
    assert_int_equal(sw_instance_call(fx->inst, "use_host", args, 2, &res, 1, &err), SW_OK);
    assert_int_equal(res.of.i32, 42);
    assert_int_equal(add_calls, 1);
    assert_int_equal(sw_instance_call(fx->inst, "host_fail", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.trap, SW_TRAP_HOST);
    assert_string_equal(err.message, "host says no");
    args[0] = i32v(3);
    assert_int_equal(sw_instance_call(fx->inst, "host_quit", args, 1, NULL, 0, &err), SW_ERR_EXIT);
    assert_int_equal(err.exit_code, 3);
    args[0] = i32v(0xAB);
    assert_int_equal(sw_instance_call(fx->inst, "host_poke", args, 1, &res, 1, &err), SW_OK);
    assert_int_equal(res.of.i32, 0xAB);
}

static void test_globals_memory(void **state)
{
    struct fixture *fx = *state;
    sw_value v, res;
    assert_int_equal(sw_instance_global_get(fx->inst, "answer", &v), SW_OK);
    assert_int_equal(v.type, SW_I64);
    assert_int_equal(v.of.i64, 42);
    assert_int_equal(sw_instance_global_set(fx->inst, "answer", i64v(1)), SW_ERR_ARG);
    assert_int_equal(sw_instance_global_set(fx->inst, "counter", i32v(100)), SW_OK);
    assert_int_equal(sw_instance_call(fx->inst, "bump", NULL, 0, &res, 1, NULL), SW_OK);
    assert_int_equal(res.of.i32, 101);
    uint8_t *base;
    uint64_t size;
    assert_int_equal(sw_instance_memory(fx->inst, "mem", &base, &size), SW_OK);
    assert_int_equal(size, 65536);
    assert_memory_equal(base + 16, "hello", 5);
    sw_value d = i32v(2);
    assert_int_equal(sw_instance_call(fx->inst, "grow", &d, 1, &res, 1, NULL), SW_OK);
    assert_int_equal(res.of.i32, 1);
    assert_int_equal(sw_instance_memory(fx->inst, NULL, &base, &size), SW_OK);
    assert_int_equal(size, 3 * 65536);
    d = i32v(2); /* beyond the declared maximum of 4 pages */
    assert_int_equal(sw_instance_call(fx->inst, "grow", &d, 1, &res, 1, NULL), SW_OK);
    assert_int_equal(res.of.i32, -1);
}

static void test_linking(void **state)
{
    struct fixture *fx = *state;
    size_t len;
    uint8_t *bytes = read_wasm("engine_link.wasm", &len);
    sw_module *m;
    sw_error err;
    assert_int_equal(sw_module_load(bytes, len, &m, &err), SW_OK);
    free(bytes);
    sw_instance *inst = NULL;
    /* nothing registered under "base" yet */
    assert_int_equal(sw_instance_new(m, fx->linker, NULL, &inst, &err), SW_ERR_UNLINKABLE);
    assert_true(strstr(err.message, "unknown import") != NULL);
    /* a "base" whose fac has the wrong type */
    sw_linker *other;
    assert_int_equal(sw_linker_new(&other), SW_OK);
    static const sw_valtype i[] = {SW_I32};
    sw_functype wrong = {1, 1, i, i};
    assert_int_equal(sw_linker_define_func(other, "base", "fac", &wrong, host_add, &one), SW_OK);
    assert_int_equal(sw_instance_new(m, other, NULL, &inst, &err), SW_ERR_UNLINKABLE);
    assert_true(strstr(err.message, "incompatible import type") != NULL);
    sw_linker_free(other);

    assert_int_equal(sw_linker_define_instance(fx->linker, "base", fx->inst), SW_OK);
    assert_int_equal(sw_instance_new(m, fx->linker, NULL, &inst, &err), SW_OK);
    assert_int_equal(sw_instance_global_set(fx->inst, "counter", i32v(5)), SW_OK);
    sw_value arg = i64v(5), res;
    assert_int_equal(sw_instance_call(inst, "fac_plus_counter", &arg, 1, &res, 1, &err), SW_OK);
    assert_int_equal(res.of.i64, 125);
    arg = i32v(17); /* shared memory: sees "hello" */
    assert_int_equal(sw_instance_call(inst, "peek", &arg, 1, &res, 1, &err), SW_OK);
    assert_int_equal(res.of.i32, 'e');
    sw_instance_free(inst);
    sw_module_free(m);
}

static void test_fuel(void **state)
{
    struct fixture *fx = *state;
    sw_instance_set_fuel(fx->inst, 1000);
    expect_trap(fx->inst, "spin", NULL, 0, 0, SW_TRAP_OUT_OF_FUEL, "out of fuel");
    assert_int_equal(sw_instance_fuel(fx->inst), 0);
    sw_instance_set_fuel(fx->inst, 1000000);
    sw_value arg = i32v(10), res;
    assert_int_equal(sw_instance_call(fx->inst, "sum", &arg, 1, &res, 1, NULL), SW_OK);
    assert_true(sw_instance_fuel(fx->inst) < 1000000);
    sw_instance_set_fuel(fx->inst, 0);
}

static void *interrupt_later(void *arg)
{
    usleep(50 * 1000);
    sw_instance_interrupt(arg);
    return NULL;
}

static int hook_calls;
static void hook(void *user)
{
    hook_calls += *(int *)user;
}

static void test_interrupt(void **state)
{
    struct fixture *fx = *state;
    hook_calls = 0;
    sw_instance_set_interrupt_hook(fx->inst, hook, &one);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupt_later, fx->inst), 0);
    expect_trap(fx->inst, "spin", NULL, 0, 0, SW_TRAP_INTERRUPTED, "interrupted");
    pthread_join(th, NULL);
    assert_int_equal(hook_calls, 1);
    /* the flag stays until cleared */
    sw_value arg = i32v(3), res;
    expect_trap(fx->inst, "sum", &arg, 1, 1, SW_TRAP_INTERRUPTED, "interrupted");
    sw_instance_clear_interrupt(fx->inst);
    assert_int_equal(sw_instance_call(fx->inst, "sum", &arg, 1, &res, 1, NULL), SW_OK);
    assert_int_equal(res.of.i32, 6);
}

static void test_counting(void **state)
{
    struct fixture *fx = *state;
    uint64_t counts[256];
    sw_value arg = i32v(10), res;
    assert_int_equal(sw_instance_call(fx->inst, "sum", &arg, 1, &res, 1, NULL), SW_OK);
    sw_instance_counts(fx->inst, counts);
    assert_int_equal(counts[0x6A], 0); /* off by default */
    assert_int_equal(sw_instance_set_counting(fx->inst, true), SW_OK);
    assert_int_equal(sw_instance_call(fx->inst, "sum", &arg, 1, &res, 1, NULL), SW_OK);
    sw_instance_counts(fx->inst, counts);
    assert_int_equal(counts[0x6A], 10); /* one i32.add per iteration */
    assert_int_equal(counts[0x6B], 10); /* one i32.sub per iteration */
    assert_int_equal(counts[0x45], 11); /* i32.eqz, once more on exit */
    sw_instance_reset_counts(fx->inst);
    sw_instance_counts(fx->inst, counts);
    assert_int_equal(counts[0x6A], 0);
    assert_int_equal(sw_instance_set_counting(fx->inst, false), SW_OK);
}

struct summer {
    sw_module *module;
    int32_t n, got;
    sw_status st;
};

/* Its own linker and instance of a shared module, run on its own thread. */
static void *sum_on_thread(void *arg)
{
    struct summer *s = arg;
    sw_linker *l = basic_linker();
    sw_instance *inst;
    s->st = sw_instance_new(s->module, l, NULL, &inst, NULL);
    if (s->st == SW_OK) {
        sw_value a = i32v(s->n), r;
        s->st = sw_instance_call(inst, "sum", &a, 1, &r, 1, NULL);
        s->got = r.of.i32;
        sw_instance_free(inst);
    }
    sw_linker_free(l);
    return NULL;
}

/* Independent instances of one module run on different threads at once. */
static void test_threads(void **state)
{
    struct fixture *fx = *state;
    struct summer s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct summer){.module = fx->module, .n = 200000 + i};
        assert_int_equal(pthread_create(&th[i], NULL, sum_on_thread, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(s[i].st, SW_OK);
        uint64_t n = (uint64_t)s[i].n;
        assert_int_equal((uint32_t)s[i].got, (uint32_t)(n * (n + 1) / 2));
    }
}

/* A start function that traps: a trap, not a link error. */
static void test_start_trap(void **state)
{
    /* (module (func unreachable) (start 0)) */
    static const uint8_t mod[] = {0, 'a', 's', 'm', 1, 0, 0, 0,  1, 4, 1, 0x60, 0, 0,
                                  3, 2,   1,   0,   8, 1, 0, 10, 5, 1, 3, 0,    0, 0x0B};
    sw_module *m;
    sw_error err;
    assert_int_equal(sw_module_load(mod, sizeof mod, &m, &err), SW_OK);
    sw_linker *l;
    assert_int_equal(sw_linker_new(&l), SW_OK);
    sw_instance *inst = (sw_instance *)&err;
    assert_int_equal(sw_instance_new(m, l, NULL, &inst, &err), SW_ERR_TRAP);
    assert_null(inst);
    assert_int_equal(err.trap, SW_TRAP_UNREACHABLE);
    sw_module_free(m);
    sw_linker_free(l);
}

/* With a "name" section: an exported function is named by its export, an
 * internal one by the name section. */
static void test_trap_names(void **state)
{
    (void)state;
    /* funcs 0 "zero" (export "e", calls 1), 1 "one" (unreachable), 2 "two"
       (export "t", unreachable); names in a "name" section */
    static const uint8_t mod[] = {
        0,    'a', 's', 'm', 1,    0,   0, 0, 1,    4,   1,   0x60, 0,   0,   3,   4,   3, 0,    0,
        0,    7,   9,   2,   1,    'e', 0, 0, 1,    't', 0,   2,    10,  14,  3,   4,   0, 0x10, 1,
        0x0B, 3,   0,   0,   0x0B, 3,   0, 0, 0x0B, 0,   24,  4,    'n', 'a', 'm', 'e', 1, 17,   3,
        0,    4,   'z', 'e', 'r',  'o', 1, 3, 'o',  'n', 'e', 2,    3,   't', 'w', 'o'};
    sw_module *m;
    sw_error err;
    assert_int_equal(sw_module_load(mod, sizeof mod, &m, &err), SW_OK);
    sw_linker *l;
    assert_int_equal(sw_linker_new(&l), SW_OK);
    sw_instance *inst;
    assert_int_equal(sw_instance_new(m, l, NULL, &inst, &err), SW_OK);
    assert_int_equal(sw_instance_call(inst, "e", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.func_index, 1);
    assert_string_equal(err.func_name, "one");
    assert_int_equal(sw_instance_call(inst, "t", NULL, 0, NULL, 0, &err), SW_ERR_TRAP);
    assert_int_equal(err.func_index, 2);
    assert_string_equal(err.func_name, "t");
    sw_instance_free(inst);
    sw_module_free(m);
    sw_linker_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test_setup_teardown(test_introspection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trap_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_recursion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_globals_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test(test_start_trap),
        cmocka_unit_test(test_trap_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
