/* The engine benchmark driver: runs one benchmark .wasm on the Stratus engine
 * and reports where the time goes.
 *
 *   bench_engine FILE.wasm
 *       loads (decode + validate + translate), instantiates with the host
 *       function bench.print_u64 (prints its argument as a line on stdout),
 *       calls the export "run"; prints "load_us=", "instantiate_us=" and
 *       "run_us=" lines on stderr, so stdout holds only the program's output.
 *   bench_engine --startup N FILE.wasm
 *       N times: load + validate + instantiate (every import bound to a stub
 *       that traps if called), then free; prints the best and median times.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stratus/wasm.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads a whole file; the caller frees *out. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *bigger = realloc(buf, cap *= 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
        }
        buf = bigger;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "bench_engine: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static sw_status print_u64(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    (void)call;
    (void)user;
    (void)results;
    printf("%" PRIu64 "\n", (uint64_t)args[0].of.i64);
    return SW_OK;
}

static sw_status trap_stub(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    (void)user;
    (void)args;
    (void)results;
    return sw_call_trap(call, "bench_engine: stub import called");
}

static int run_program(const char *path)
{
    uint8_t *bytes;
    size_t len;
    if (read_file(path, &bytes, &len)) return 1;
    sw_error err;
    sw_module *module = NULL;
    sw_linker *linker = NULL;
    sw_instance *instance = NULL;
    int status = 1;

    int64_t t0 = now_ns();
    if (sw_module_load(bytes, len, &module, &err) != SW_OK) {
        fprintf(stderr, "bench_engine: %s: %s\n", path, err.message);
        goto out;
    }
    int64_t t1 = now_ns();
    static const sw_valtype param[] = {SW_I64};
    const sw_functype type = {1, 0, param, NULL};
    if (sw_linker_new(&linker) != SW_OK ||
        sw_linker_define_func(linker, "bench", "print_u64", &type, print_u64, NULL) != SW_OK) {
        fprintf(stderr, "bench_engine: cannot set up the linker\n");
        goto out;
    }
    if (sw_instance_new(module, linker, NULL, &instance, &err) != SW_OK) {
        fprintf(stderr, "bench_engine: %s: instantiate: %s\n", path, err.message);
        goto out;
    }
    int64_t t2 = now_ns();
    sw_status st = sw_instance_call(instance, "run", NULL, 0, NULL, 0, &err);
    int64_t t3 = now_ns();
    fflush(stdout);
    if (st != SW_OK) {
        fprintf(stderr, "bench_engine: %s: run: %s\n", path, err.message);
        goto out;
    }
    fprintf(stderr, "load_us=%" PRId64 "\ninstantiate_us=%" PRId64 "\nrun_us=%" PRId64 "\n",
            (t1 - t0) / 1000, (t2 - t1) / 1000, (t3 - t2) / 1000);
    status = 0;
out:
    sw_instance_free(instance);
    sw_linker_free(linker);
    sw_module_free(module);
    free(bytes);
    return status;
}

/* Binds every import of `module` to a stub: trapping functions, zero globals,
 * memories and tables of the requested minimum. */
static sw_status define_stubs(const sw_module *module, sw_linker *linker)
{
    uint32_t n = sw_module_import_count(module);
    for (uint32_t i = 0; i < n; i++) {
        sw_import imp;
        sw_status st = sw_module_import(module, i, &imp);
        if (st != SW_OK) return st;
        sw_value zero;
        memset(&zero, 0, sizeof zero);
        switch (imp.type.kind) {
        case SW_EXTERN_FUNC:
            st = sw_linker_define_func(linker, imp.module, imp.name, &imp.type.of.func, trap_stub,
                                       NULL);
            break;
        case SW_EXTERN_GLOBAL:
            zero.type = imp.type.of.global.type;
            st = sw_linker_define_global(linker, imp.module, imp.name, imp.type.of.global.mutable_,
                                         zero);
            break;
        case SW_EXTERN_MEMORY:
            st = sw_linker_define_memory(linker, imp.module, imp.name, imp.type.of.memory.min,
                                         imp.type.of.memory.max);
            break;
        case SW_EXTERN_TABLE:
            st = sw_linker_define_table(linker, imp.module, imp.name, imp.type.of.table.reftype,
                                        imp.type.of.table.min, imp.type.of.table.max);
            break;
        default: st = SW_ERR_ARG; break;
        }
        if (st != SW_OK) return st;
    }
    return SW_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int run_startup(const char *path, int rounds)
{
    uint8_t *bytes;
    size_t len;
    if (read_file(path, &bytes, &len)) return 1;
    int64_t *total = calloc((size_t)rounds, sizeof *total);
    int64_t *load = calloc((size_t)rounds, sizeof *load);
    int status = total && load ? 0 : 1;
    for (int i = 0; i < rounds && !status; i++) {
        sw_error err;
        sw_module *module = NULL;
        sw_linker *linker = NULL;
        sw_instance *instance = NULL;
        int64_t t0 = now_ns();
        sw_status st = sw_module_load(bytes, len, &module, &err);
        int64_t t1 = now_ns();
        if (st == SW_OK) st = sw_linker_new(&linker);
        if (st == SW_OK) st = define_stubs(module, linker);
        if (st == SW_OK) st = sw_instance_new(module, linker, NULL, &instance, &err);
        int64_t t2 = now_ns();
        if (st != SW_OK) {
            fprintf(stderr, "bench_engine: %s: %s\n", path,
                    st == SW_ERR_TRAP || st <= SW_ERR_UNLINKABLE ? err.message : "setup failed");
            status = 1;
        }
        sw_instance_free(instance);
        sw_linker_free(linker);
        sw_module_free(module);
        load[i] = t1 - t0;
        total[i] = t2 - t0;
    }
    if (!status) {
        qsort(total, (size_t)rounds, sizeof *total, cmp_i64);
        qsort(load, (size_t)rounds, sizeof *load, cmp_i64);
        printf("  %zu bytes, %d rounds: load+validate median %.3f ms; "
               "load+validate+instantiate best %.3f ms, median %.3f ms\n",
               len, rounds, load[rounds / 2] / 1e6, total[0] / 1e6, total[rounds / 2] / 1e6);
    }
    free(total);
    free(load);
    free(bytes);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
        return run_program(argv[1]);
    if (argc == 4 && !strcmp(argv[1], "--startup")) {
        int rounds = atoi(argv[2]);
        if (rounds > 0 && rounds <= 100000) return run_startup(argv[3], rounds);
    }
    fprintf(stderr, "usage: bench_engine FILE.wasm\n"
                    "       bench_engine --startup ROUNDS FILE.wasm\n");
    return 2;
}
