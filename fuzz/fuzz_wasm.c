/* libFuzzer target for the WebAssembly engine: arbitrary bytes go through
 * load (decode + validate); a module that loads is instantiated against stub
 * imports (functions returning zeros, zeroed globals, small memories and
 * tables) under a small memory limit, and every exported function is called
 * with zero arguments under fuel, so decoding, validation, translation,
 * instantiation and execution all see hostile input. Any crash, leak,
 * sanitizer report or hang is a bug in the engine.
 *
 * Random bytes seldom make a module that decodes, so inputs whose first byte
 * is odd are used differently: the rest becomes the body of one function in a
 * fixed, valid module (with locals, a memory, a table, a global and data), so
 * the validator, the translator and the interpreter get most of the
 * attention. An input starting with an even byte (a module starts with 0x00)
 * is loaded as it is. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/wasm.h"

enum {
    MAX_PAGES = 16,        /* 1 MiB of linear memory per instance */
    MAX_TABLE = 10000,     /* elements in a stub table */
    MAX_CALL_DEPTH = 1000, /* wasm frames */
    FUEL_PER_CALL = 20000, /* calls + loop iterations per export call */
    MAX_EXPORT_CALLS = 64,
};

static sw_value zero_of(sw_valtype type)
{
    sw_value v;
    memset(&v, 0, sizeof v);
    v.type = type;
    return v;
}

/* Every stub import: its user data is the function type (owned by the
 * module's import list, which outlives the call). */
static sw_status stub_func(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    const sw_functype *type = user;
    (void)call;
    (void)args;
    for (uint32_t i = 0; i < type->nresults; i++)
        results[i] = zero_of(type->results[i]);
    return SW_OK;
}

/* Defines a stub for every import; returns -1 when an import asks for more
 * than the fuzzer is willing to give (the input is then just not run). */
static int define_stubs(const sw_module *module, sw_linker *linker, sw_functype *types)
{
    uint32_t n = sw_module_import_count(module);
    for (uint32_t i = 0; i < n; i++) {
        sw_import imp;
        if (sw_module_import(module, i, &imp) != SW_OK) return -1;
        sw_status st = SW_OK;
        switch (imp.type.kind) {
        case SW_EXTERN_FUNC:
            types[i] = imp.type.of.func;
            st = sw_linker_define_func(linker, imp.module, imp.name, &types[i], stub_func,
                                       &types[i]);
            break;
        case SW_EXTERN_GLOBAL:
            st = sw_linker_define_global(linker, imp.module, imp.name, imp.type.of.global.mutable_,
                                         zero_of(imp.type.of.global.type));
            break;
        case SW_EXTERN_MEMORY:
            if (imp.type.of.memory.min > MAX_PAGES) return -1;
            st = sw_linker_define_memory(linker, imp.module, imp.name, imp.type.of.memory.min,
                                         imp.type.of.memory.max);
            break;
        case SW_EXTERN_TABLE:
            if (imp.type.of.table.min > MAX_TABLE) return -1;
            st = sw_linker_define_table(linker, imp.module, imp.name, imp.type.of.table.reftype,
                                        imp.type.of.table.min, imp.type.of.table.max);
            break;
        default: return -1;
        }
        if (st != SW_OK) return -1;
    }
    return 0;
}

static void call_exports(const sw_module *module, sw_instance *instance)
{
    uint32_t n = sw_module_export_count(module), calls = 0;
    for (uint32_t i = 0; i < n && calls < MAX_EXPORT_CALLS; i++) {
        sw_export exp;
        sw_func *fn;
        if (sw_module_export(module, i, &exp) != SW_OK || exp.kind != SW_EXTERN_FUNC) continue;
        if (sw_instance_find_func(instance, exp.name, &fn) != SW_OK) continue;
        sw_functype type;
        sw_func_type(fn, &type);
        sw_value *args = calloc(type.nparams + 1, sizeof *args);
        sw_value *results = calloc(type.nresults + 1, sizeof *results);
        if (args && results) {
            for (uint32_t k = 0; k < type.nparams; k++)
                args[k] = zero_of(type.params[k]);
            sw_instance_set_fuel(instance, FUEL_PER_CALL);
            sw_error err;
            sw_func_call(instance, fn, args, type.nparams, results, type.nresults, &err);
            calls++;
        }
        free(args);
        free(results);
    }
}

/* A growable byte buffer for building the wrapper module. */
struct bytes {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void put(struct bytes *b, const void *src, size_t n)
{
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        uint8_t *bigger = realloc(b->p, cap);
        if (!bigger) {
            b->failed = true;
            return;
        }
        b->p = bigger;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_byte(struct bytes *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_uleb(struct bytes *b, size_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put_byte(b, byte | (v ? 0x80 : 0));
    } while (v);
}

static void put_section(struct bytes *b, uint8_t id, const void *content, size_t n)
{
    put_byte(b, id);
    put_uleb(b, n);
    put(b, content, n);
}

/* The fixed module around a fuzzed body: function 0 (type [] -> [], locals
 * 2 x i32, i64, f32, f64) is the body, exported as "f"; function 1 is the
 * (i32) -> (i32) identity; both are in a 4-slot funcref table; one page of
 * memory holding "hello" at 0; one mutable i32 global. */
static int wrap_body(const uint8_t *body, size_t n, struct bytes *out)
{
    static const uint8_t header[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t types[] = {0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f};
    static const uint8_t funcs[] = {0x02, 0x00, 0x01};
    static const uint8_t tables[] = {0x01, 0x70, 0x00, 0x04};
    static const uint8_t memories[] = {0x01, 0x00, 0x01};
    static const uint8_t globals[] = {0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b};
    static const uint8_t exports[] = {0x01, 0x01, 'f', 0x00, 0x00};
    static const uint8_t elems[] = {0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x01};
    static const uint8_t datacount[] = {0x01};
    static const uint8_t data[] = {0x01, 0x00, 0x41, 0x00, 0x0b, 0x05, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t locals[] = {0x04, 0x02, 0x7f, 0x02, 0x7e, 0x02, 0x7d, 0x02, 0x7c};
    static const uint8_t identity[] = {0x04, 0x00, 0x20, 0x00, 0x0b};

    struct bytes code = {0};
    put_byte(&code, 0x02);
    put_uleb(&code, sizeof locals + n + 1);
    put(&code, locals, sizeof locals);
    put(&code, body, n);
    put_byte(&code, 0x0b);
    put(&code, identity, sizeof identity);

    put(out, header, sizeof header);
    put_section(out, 1, types, sizeof types);
    put_section(out, 3, funcs, sizeof funcs);
    put_section(out, 4, tables, sizeof tables);
    put_section(out, 5, memories, sizeof memories);
    put_section(out, 6, globals, sizeof globals);
    put_section(out, 7, exports, sizeof exports);
    put_section(out, 9, elems, sizeof elems);
    put_section(out, 12, datacount, sizeof datacount);
    put_section(out, 10, code.p, code.len);
    put_section(out, 11, data, sizeof data);
    bool failed = code.failed || out->failed;
    free(code.p);
    return failed ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_module *module = NULL;
    sw_error err;
    sw_status loaded;
    if (size > 0 && (data[0] & 1)) {
        struct bytes wrapped = {0};
        if (wrap_body(data + 1, size - 1, &wrapped)) {
            free(wrapped.p);
            return 0;
        }
        loaded = sw_module_load(wrapped.p, wrapped.len, &module, &err);
        free(wrapped.p);
    } else {
        loaded = sw_module_load(data, size, &module, &err);
    }
    if (loaded != SW_OK) return 0;

    sw_linker *linker = NULL;
    sw_functype *types = calloc(sw_module_import_count(module) + 1, sizeof *types);
    if (types && sw_linker_new(&linker) == SW_OK && define_stubs(module, linker, types) == 0) {
        sw_limits limits;
        sw_limits_default(&limits);
        limits.max_memory_pages = MAX_PAGES;
        limits.max_call_depth = MAX_CALL_DEPTH;
        limits.fuel = FUEL_PER_CALL; /* covers the start function */
        sw_instance *instance = NULL;
        if (sw_instance_new(module, linker, &limits, &instance, &err) == SW_OK) {
            call_exports(module, instance);
            sw_instance_free(instance);
        }
    }
    sw_linker_free(linker);
    free(types);
    sw_module_free(module);
    return 0;
}
