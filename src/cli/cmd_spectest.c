/* `stratus spectest FILE.json`: runs a WebAssembly test script, as converted
 * from .wast by wabt's wast2json, against the Stratus engine and reports every
 * assertion that does not hold.
 *
 * The file has three parts: reading the script (jansson) and its values, the
 * glue to the engine's public API (include/stratus/wasm.h) including the
 * standard "spectest" host module, and the command interpreter that keeps the
 * named instances and tallies passes, failures and skips. Everything read from
 * the script is checked, so a broken file gives an error line, never a crash.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stratus/aot.h"
#include "stratus/wasm.h"

/* ---------------------------------------------------------------------------
 * Values as the script writes them
 * ------------------------------------------------------------------------- */

enum spec_type { T_I32, T_I64, T_F32, T_F64, T_FUNCREF, T_EXTERNREF };

/* How an expected value is matched: exactly, by NaN class, or "any non-null
 * reference" (wast2json writes a reference without a value for that). */
enum spec_match { M_EXACT, M_NAN_CANONICAL, M_NAN_ARITHMETIC, M_ANY_REF };

struct spec_value {
    enum spec_type type;
    enum spec_match match;
    uint64_t bits; /* numbers: the raw bits (floats bitwise) */
    bool is_null;  /* references */
    uint64_t ref;  /* externref: the script's number; funcref: unused */
    void *funcref; /* a funcref as the engine returned it */
};

#define MAX_VALUES 64

static const char *type_name(enum spec_type t)
{
    switch (t) {
    case T_I32: return "i32";
    case T_I64: return "i64";
    case T_F32: return "f32";
    case T_F64: return "f64";
    case T_FUNCREF: return "funcref";
    case T_EXTERNREF: return "externref";
    }
    return "?";
}

static int parse_type(const char *s, enum spec_type *out)
{
    static const char *names[] = {"i32", "i64", "f32", "f64", "funcref", "externref"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, names[i])) {
            *out = (enum spec_type)i;
            return 0;
        }
    }
    return -1;
}

/* wast2json writes every number as the unsigned decimal of its bits. */
static int parse_bits(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

/* Reads one {"type": ..., "value": ...} object. `expected` allows the NaN
 * patterns and a reference without a value. Returns 0 or -1 with `err` set. */
static int parse_value(json_t *obj, bool expected, struct spec_value *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "a value is not an object");
        return -1;
    }
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!type || parse_type(type, &v->type)) {
        snprintf(err, errlen, "value has unknown or missing type '%s'", type ? type : "");
        return -1;
    }
    json_t *jv = json_object_get(obj, "value");
    if (jv && !json_is_string(jv)) {
        snprintf(err, errlen, "%s value is not a string", type);
        return -1;
    }
    const char *s = json_string_value(jv);
    if (v->type == T_FUNCREF || v->type == T_EXTERNREF) {
        if (!s) {
            if (!expected) {
                snprintf(err, errlen, "%s argument without a value", type);
                return -1;
            }
            v->match = M_ANY_REF;
            return 0;
        }
        if (!strcmp(s, "null")) {
            v->is_null = true;
            return 0;
        }
        if (v->type == T_FUNCREF) {
            /* wast2json writes `(ref.func)` as a number that names no
             * particular function: all it can promise is non-null. */
            if (!expected || parse_bits(s, UINT32_MAX, &v->ref)) {
                snprintf(err, errlen, "bad funcref value '%s'", s);
                return -1;
            }
            v->match = M_ANY_REF;
            return 0;
        }
        if (parse_bits(s, UINT32_MAX, &v->ref)) {
            snprintf(err, errlen, "bad %s value '%s'", type, s);
            return -1;
        }
        return 0;
    }
    if (!s) {
        snprintf(err, errlen, "%s without a value", type);
        return -1;
    }
    if (expected && (v->type == T_F32 || v->type == T_F64)) {
        if (!strcmp(s, "nan:canonical")) {
            v->match = M_NAN_CANONICAL;
            return 0;
        }
        if (!strcmp(s, "nan:arithmetic")) {
            v->match = M_NAN_ARITHMETIC;
            return 0;
        }
    }
    uint64_t max = (v->type == T_I32 || v->type == T_F32) ? UINT32_MAX : UINT64_MAX;
    if (parse_bits(s, max, &v->bits)) {
        snprintf(err, errlen, "bad %s value '%s'", type, s);
        return -1;
    }
    return 0;
}

/* Reads an array of values (args or expected); at most MAX_VALUES. */
static int parse_values(json_t *arr, bool expected, struct spec_value *out, size_t *n, char *err,
                        size_t errlen)
{
    *n = 0;
    if (!arr) return 0;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s is not an array", expected ? "expected" : "args");
        return -1;
    }
    if (json_array_size(arr) > MAX_VALUES) {
        snprintf(err, errlen, "more than %d values", MAX_VALUES);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (parse_value(json_array_get(arr, i), expected, &out[i], err, errlen)) return -1;
    }
    *n = json_array_size(arr);
    return 0;
}

static void format_value(const struct spec_value *v, char *buf, size_t len)
{
    switch (v->type) {
    case T_I32:
        snprintf(buf, len, "i32:%" PRIu32 " (0x%08" PRIx32 ")", (uint32_t)v->bits,
                 (uint32_t)v->bits);
        break;
    case T_I64: snprintf(buf, len, "i64:%" PRIu64 " (0x%016" PRIx64 ")", v->bits, v->bits); break;
    case T_F32:
    case T_F64: {
        const char *t = type_name(v->type);
        if (v->match == M_NAN_CANONICAL) {
            snprintf(buf, len, "%s:nan:canonical", t);
        } else if (v->match == M_NAN_ARITHMETIC) {
            snprintf(buf, len, "%s:nan:arithmetic", t);
        } else if (v->type == T_F32) {
            float f;
            uint32_t b = (uint32_t)v->bits;
            memcpy(&f, &b, sizeof f);
            snprintf(buf, len, "f32:%.9g (0x%08" PRIx32 ")", (double)f, b);
        } else {
            double d;
            memcpy(&d, &v->bits, sizeof d);
            snprintf(buf, len, "f64:%.17g (0x%016" PRIx64 ")", d, v->bits);
        }
        break;
    }
    case T_FUNCREF:
    case T_EXTERNREF:
        if (v->match == M_ANY_REF)
            snprintf(buf, len, "%s:non-null", type_name(v->type));
        else if (v->is_null)
            snprintf(buf, len, "%s:null", type_name(v->type));
        else if (v->type == T_EXTERNREF)
            snprintf(buf, len, "externref:%" PRIu64, v->ref);
        else
            snprintf(buf, len, "funcref:%p", v->funcref);
        break;
    }
}

static void format_values(const struct spec_value *v, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        char one[96];
        format_value(&v[i], one, sizeof one);
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used >= len && len > 4) memcpy(buf + len - 4, "...", 4);
}

/* Does the engine's `got` satisfy the script's `want`? */
static bool value_matches(const struct spec_value *want, const struct spec_value *got)
{
    if (want->type != got->type) return false;
    switch (want->type) {
    case T_I32:
    case T_I64: return want->bits == got->bits;
    case T_F32:
        if (want->match == M_NAN_CANONICAL) return (got->bits & 0x7fffffffu) == 0x7fc00000u;
        if (want->match == M_NAN_ARITHMETIC) return (got->bits & 0x7fc00000u) == 0x7fc00000u;
        return (uint32_t)want->bits == (uint32_t)got->bits;
    case T_F64:
        if (want->match == M_NAN_CANONICAL)
            return (got->bits & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
        if (want->match == M_NAN_ARITHMETIC)
            return (got->bits & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
        return want->bits == got->bits;
    case T_FUNCREF:
    case T_EXTERNREF:
        if (want->match == M_ANY_REF) return !got->is_null;
        if (want->is_null || got->is_null) return want->is_null == got->is_null;
        return want->type == T_FUNCREF || want->ref == got->ref;
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Engine glue
 * ------------------------------------------------------------------------- */

/* The standard "spectest" host module and the linker every script shares.
 * Instances made by the script are owned by the interpreter below; the glue
 * owns the linker and the modules whose instantiation trapped (the engine's
 * partial instance, kept by the linker, still refers to them). */

enum inst_result { INST_OK, INST_LINK_ERROR, INST_TRAP, INST_OTHER };

/* What a spectest print function gets as user data. */
struct print_user {
    sw_functype type;
    bool verbose;
};
enum call_result { CALL_OK, CALL_TRAP, CALL_ERROR };

/* The spectest print functions: quiet unless -v, as the output is not checked.
 */
static sw_status spectest_print(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    const struct print_user *u = user;
    if (!u->verbose) return SW_OK;
    printf("spectest print:");
    for (uint32_t i = 0; i < u->type.nparams; i++) {
        switch (args[i].type) {
        case SW_I32: printf(" %" PRId32 ":i32", args[i].of.i32); break;
        case SW_I64: printf(" %" PRId64 ":i64", args[i].of.i64); break;
        case SW_F32: printf(" %.9g:f32", (double)args[i].of.f32); break;
        case SW_F64: printf(" %.17g:f64", args[i].of.f64); break;
        default: printf(" ref"); break;
        }
    }
    putchar('\n');
    return SW_OK;
}

/* The signature of each print function. */
struct print_def {
    const char *name;
    uint32_t nparams;
    sw_valtype params[2];
};

static const struct print_def print_defs[] = {
    {"print", 0, {SW_I32, SW_I32}},         {"print_i32", 1, {SW_I32, SW_I32}},
    {"print_i64", 1, {SW_I64, SW_I32}},     {"print_f32", 1, {SW_F32, SW_I32}},
    {"print_f64", 1, {SW_F64, SW_I32}},     {"print_i32_f32", 2, {SW_I32, SW_F32}},
    {"print_f64_f64", 2, {SW_F64, SW_F64}},
};

#define NPRINTS (sizeof print_defs / sizeof print_defs[0])

struct glue {
    sw_linker *linker;
    sw_module **retained;
    size_t nretained, cap;
    struct print_user prints[NPRINTS]; /* user data of the print functions */
    sw_limits limits;                  /* for every instance the script makes */
    bool counting;                     /* turn opcode counting on in every instance */
    uint64_t fuel;                     /* fuel of every instance; 0: unlimited */
    swaot *aot;                        /* --engine aot: every module compiled */
};

/* max_pages: cap on memory pages per instance; 0 keeps the engine's default. */
static int glue_init(struct glue *g, bool verbose, uint32_t max_pages, char *msg, size_t msglen)
{
    memset(g, 0, sizeof *g);
    sw_limits_default(&g->limits);
    if (max_pages) g->limits.max_memory_pages = max_pages;
    if (sw_linker_new(&g->linker) != SW_OK) {
        snprintf(msg, msglen, "cannot create a linker");
        return -1;
    }
    sw_status st = SW_OK;
    for (size_t i = 0; st == SW_OK && i < NPRINTS; i++) {
        struct print_user *u = &g->prints[i];
        u->type = (sw_functype){print_defs[i].nparams, 0, print_defs[i].params, NULL};
        u->verbose = verbose;
        st = sw_linker_define_func(g->linker, "spectest", print_defs[i].name, &u->type,
                                   spectest_print, u);
    }
    sw_value v = {.type = SW_I32, .of.i32 = 666};
    if (st == SW_OK) st = sw_linker_define_global(g->linker, "spectest", "global_i32", false, v);
    v = (sw_value){.type = SW_I64, .of.i64 = 666};
    if (st == SW_OK) st = sw_linker_define_global(g->linker, "spectest", "global_i64", false, v);
    v = (sw_value){.type = SW_F32, .of.f32 = 666.6f};
    if (st == SW_OK) st = sw_linker_define_global(g->linker, "spectest", "global_f32", false, v);
    v = (sw_value){.type = SW_F64, .of.f64 = 666.6};
    if (st == SW_OK) st = sw_linker_define_global(g->linker, "spectest", "global_f64", false, v);
    if (st == SW_OK)
        st = sw_linker_define_table(g->linker, "spectest", "table", SW_FUNCREF, 10, 20);
    if (st == SW_OK) st = sw_linker_define_memory(g->linker, "spectest", "memory", 1, 2);
    if (st != SW_OK) {
        snprintf(msg, msglen, "cannot define the spectest module (status %d)", (int)st);
        sw_linker_free(g->linker);
        g->linker = NULL;
        return -1;
    }
    return 0;
}

static void glue_fini(struct glue *g)
{
    sw_linker_free(g->linker);
    for (size_t i = 0; i < g->nretained; i++)
        sw_module_free(g->retained[i]);
    free(g->retained);
    memset(g, 0, sizeof *g);
}

static void glue_free_module(sw_module *mod)
{
    sw_module_free(mod);
}

static void glue_free_instance(sw_instance *inst)
{
    sw_instance_free(inst);
}

static void copy_error(const sw_error *err, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s", err->message[0] ? err->message : err->reason);
}

static int glue_load(struct glue *g, const uint8_t *bytes, size_t len, sw_module **mod, char *msg,
                     size_t msglen)
{
    (void)g;
    sw_error err;
    memset(&err, 0, sizeof err);
    *mod = NULL;
    if (sw_module_load(bytes, len, mod, &err) == SW_OK) return 0;
    copy_error(&err, msg, msglen);
    *mod = NULL;
    return -1;
}

/* Instantiates against the shared linker. A module whose instantiation
 * trapped is taken over by the glue (freed after the linker); otherwise the
 * caller keeps ownership of `mod`. */
static enum inst_result glue_instantiate(struct glue *g, sw_module *mod, sw_instance **inst,
                                         bool *module_taken, char *msg, size_t msglen)
{
    sw_error err;
    memset(&err, 0, sizeof err);
    *inst = NULL;
    *module_taken = false;
    if (g->aot && swaot_prepare(g->aot, mod, SWAOT_AOT, NULL, &err) != SW_OK) {
        snprintf(msg, msglen, "compiled tier: %s", err.message);
        return INST_OTHER;
    }
    sw_status st = sw_instance_new(mod, g->linker, &g->limits, inst, &err);
    if (st == SW_OK && g->aot && !sw_instance_native(*inst)) {
        sw_instance_free(*inst);
        *inst = NULL;
        snprintf(msg, msglen, "compiled tier: the instance does not run compiled code");
        return INST_OTHER;
    }
    if (st == SW_OK) {
        if (g->fuel) sw_instance_set_fuel(*inst, g->fuel);
        if (g->counting && sw_instance_set_counting(*inst, true) != SW_OK) {
            sw_instance_free(*inst);
            *inst = NULL;
            snprintf(msg, msglen, "out of memory for opcode counting");
            return INST_OTHER;
        }
        return INST_OK;
    }
    *inst = NULL;
    copy_error(&err, msg, msglen);
    if (st == SW_ERR_UNLINKABLE) return INST_LINK_ERROR;
    if (st != SW_ERR_TRAP) return INST_OTHER;
    if (g->nretained == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        sw_module **bigger = realloc(g->retained, cap * sizeof *bigger);
        if (!bigger)
            return INST_TRAP; /* leak the module rather than free it under the linker
                               */
        g->retained = bigger;
        g->cap = cap;
    }
    g->retained[g->nretained++] = mod;
    *module_taken = true;
    return INST_TRAP;
}

static sw_valtype to_engine_type(enum spec_type t)
{
    switch (t) {
    case T_I32: return SW_I32;
    case T_I64: return SW_I64;
    case T_F32: return SW_F32;
    case T_F64: return SW_F64;
    case T_FUNCREF: return SW_FUNCREF;
    case T_EXTERNREF: return SW_EXTERNREF;
    }
    return SW_I32;
}

/* Script externref N travels as the pointer value N+1, so that 0 is not null.
 */
static sw_value to_engine_value(const struct spec_value *v)
{
    sw_value out = {.type = to_engine_type(v->type)};
    switch (v->type) {
    case T_I32:
    case T_F32: out.of.i32 = (int32_t)(uint32_t)v->bits; break;
    case T_I64:
    case T_F64: out.of.i64 = (int64_t)v->bits; break;
    case T_FUNCREF: out.of.ref = v->is_null ? NULL : v->funcref; break;
    case T_EXTERNREF: out.of.ref = v->is_null ? NULL : (void *)(uintptr_t)(v->ref + 1); break;
    }
    return out;
}

static int from_engine_value(const sw_value *in, struct spec_value *v)
{
    memset(v, 0, sizeof *v);
    switch (in->type) {
    case SW_I32:
        v->type = T_I32;
        v->bits = (uint32_t)in->of.i32;
        return 0;
    case SW_F32:
        v->type = T_F32;
        v->bits = (uint32_t)in->of.i32;
        return 0;
    case SW_I64:
        v->type = T_I64;
        v->bits = (uint64_t)in->of.i64;
        return 0;
    case SW_F64:
        v->type = T_F64;
        v->bits = (uint64_t)in->of.i64;
        return 0;
    case SW_FUNCREF:
        v->type = T_FUNCREF;
        v->is_null = !in->of.ref;
        v->funcref = in->of.ref;
        return 0;
    case SW_EXTERNREF:
        v->type = T_EXTERNREF;
        v->is_null = !in->of.ref;
        v->ref = v->is_null ? 0 : (uint64_t)(uintptr_t)in->of.ref - 1;
        return 0;
    }
    return -1;
}

static const char *engine_type_name(sw_valtype t)
{
    switch (t) {
    case SW_I32: return "i32";
    case SW_I64: return "i64";
    case SW_F32: return "f32";
    case SW_F64: return "f64";
    case SW_FUNCREF: return "funcref";
    case SW_EXTERNREF: return "externref";
    }
    return "?";
}

static enum call_result call_status(sw_status st, const sw_error *err, char *msg, size_t msglen)
{
    if (st == SW_OK) return CALL_OK;
    copy_error(err, msg, msglen);
    return st == SW_ERR_TRAP ? CALL_TRAP : CALL_ERROR;
}

static enum call_result glue_invoke(struct glue *g, sw_instance *inst, const char *field,
                                    size_t field_len, const struct spec_value *args, size_t nargs,
                                    struct spec_value *results, size_t *nresults, char *msg,
                                    size_t msglen)
{
    (void)g;
    *nresults = 0;
    sw_func *fn;
    if (sw_instance_find_func_n(inst, field, field_len, &fn) != SW_OK) {
        snprintf(msg, msglen, "no exported function \"%s\"", field);
        return CALL_ERROR;
    }
    sw_functype type;
    sw_func_type(fn, &type);
    if (type.nparams != nargs || type.nresults > MAX_VALUES) {
        snprintf(msg, msglen, "function takes %" PRIu32 " arguments, the script gives %zu",
                 type.nparams, nargs);
        return CALL_ERROR;
    }
    sw_value in[MAX_VALUES], out[MAX_VALUES];
    for (size_t i = 0; i < nargs; i++) {
        in[i] = to_engine_value(&args[i]);
        if (in[i].type != type.params[i]) {
            snprintf(msg, msglen, "argument %zu is %s, the function wants %s", i,
                     type_name(args[i].type), engine_type_name(type.params[i]));
            return CALL_ERROR;
        }
    }
    sw_error err;
    memset(&err, 0, sizeof err);
    sw_status st = sw_func_call(inst, fn, in, nargs, out, type.nresults, &err);
    enum call_result r = call_status(st, &err, msg, msglen);
    if (r != CALL_OK) return r;
    for (uint32_t i = 0; i < type.nresults; i++) {
        if (from_engine_value(&out[i], &results[i])) {
            snprintf(msg, msglen, "result %" PRIu32 " has unknown type 0x%x", i,
                     (unsigned)out[i].type);
            return CALL_ERROR;
        }
    }
    *nresults = type.nresults;
    return CALL_OK;
}

static enum call_result glue_get(struct glue *g, sw_instance *inst, const char *field,
                                 struct spec_value *result, char *msg, size_t msglen)
{
    (void)g;
    sw_value v;
    if (sw_instance_global_get(inst, field, &v) != SW_OK) {
        snprintf(msg, msglen, "no exported global \"%s\"", field);
        return CALL_ERROR;
    }
    if (from_engine_value(&v, result)) {
        snprintf(msg, msglen, "global has unknown type 0x%x", (unsigned)v.type);
        return CALL_ERROR;
    }
    return CALL_OK;
}

static int glue_register(struct glue *g, const char *as, sw_instance *inst, char *msg,
                         size_t msglen)
{
    sw_status st = sw_linker_define_instance(g->linker, as, inst);
    if (st == SW_OK) return 0;
    snprintf(msg, msglen, "the linker refused it (status %d)", (int)st);
    return -1;
}

/* ---------------------------------------------------------------------------
 * The script interpreter
 * ------------------------------------------------------------------------- */

/* An instance the script made; `name` is its $name in the script, if any. */
struct named_instance {
    char *name;
    sw_module *module;
    sw_instance *instance;
};

struct runner {
    const char *json_path;
    char *dir;          /* directory of the JSON file: module paths are relative to it */
    const char *source; /* the .wast file name, for failure lines */
    bool verbose;
    bool strict_messages;
    struct glue glue;
    struct named_instance *instances; /* every instance made, kept until the end */
    size_t ninstances, cap;
    sw_instance *current; /* the last module defined; NULL if it failed */
    unsigned long passed, failed, skipped, modules;
};

static void failure(struct runner *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failure(struct runner *r, long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s:%ld: ", r->source, line);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    r->failed++;
}

static void pass(struct runner *r, long line, const char *what)
{
    if (r->verbose) printf("%s:%ld: ok %s\n", r->source, line, what);
    r->passed++;
}

static void skip(struct runner *r, long line, const char *what)
{
    if (r->verbose) printf("%s:%ld: skipped %s\n", r->source, line, what);
    r->skipped++;
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* Reads a whole file; the caller frees *data. */
static int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Loads the command's "filename" as a module. Returns 0 and the module, or
 * -1 with `msg` holding why (a file problem sets *file_error). */
static int load_module_file(struct runner *r, json_t *cmd, sw_module **mod, bool *file_error,
                            char *msg, size_t msglen)
{
    *file_error = true;
    const char *file = json_string_value(json_object_get(cmd, "filename"));
    if (!file || !*file || strchr(file, '/')) {
        snprintf(msg, msglen, "missing or bad \"filename\"");
        return -1;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", r->dir, file) >= sizeof path) {
        snprintf(msg, msglen, "path too long");
        return -1;
    }
    uint8_t *bytes;
    size_t len;
    if (read_file(path, &bytes, &len, msg, msglen)) return -1;
    *file_error = false;
    int rc = glue_load(&r->glue, bytes, len, mod, msg, msglen);
    free(bytes);
    return rc;
}

static int remember_instance(struct runner *r, const char *name, sw_module *mod, sw_instance *inst)
{
    if (r->ninstances == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct named_instance *bigger = realloc(r->instances, cap * sizeof *bigger);
        if (!bigger) return -1;
        r->instances = bigger;
        r->cap = cap;
    }
    char *copy = NULL;
    if (name && !(copy = strdup(name))) return -1;
    r->instances[r->ninstances++] = (struct named_instance){copy, mod, inst};
    return 0;
}

/* The instance a command refers to: by $name, or the current one. */
static sw_instance *find_instance(struct runner *r, const char *name)
{
    if (!name) return r->current;
    for (size_t i = r->ninstances; i-- > 0;) {
        if (r->instances[i].name && !strcmp(r->instances[i].name, name))
            return r->instances[i].instance;
    }
    return NULL;
}

static void cmd_module(struct runner *r, json_t *cmd, long line)
{
    const char *type = json_string_value(json_object_get(cmd, "module_type"));
    if (type && strcmp(type, "binary")) {
        skip(r, line, "text module");
        return;
    }
    r->current = NULL;
    char msg[512];
    bool file_error;
    sw_module *mod;
    if (load_module_file(r, cmd, &mod, &file_error, msg, sizeof msg)) {
        failure(r, line, "module: %s: %s", file_error ? "error" : "failed to load", msg);
        return;
    }
    sw_instance *inst;
    bool taken;
    enum inst_result ir = glue_instantiate(&r->glue, mod, &inst, &taken, msg, sizeof msg);
    if (ir != INST_OK) {
        failure(r, line, "module: failed to instantiate (%s): %s",
                ir == INST_LINK_ERROR ? "link error"
                : ir == INST_TRAP     ? "trap"
                                      : "error",
                msg);
        if (!taken) glue_free_module(mod);
        return;
    }
    const char *name = json_string_value(json_object_get(cmd, "name"));
    if (remember_instance(r, name, mod, inst)) {
        failure(r, line, "module: out of memory");
        glue_free_instance(inst);
        glue_free_module(mod);
        return;
    }
    r->current = inst;
    r->modules++;
    if (r->verbose) printf("%s:%ld: module loaded\n", r->source, line);
}

static void cmd_register(struct runner *r, json_t *cmd, long line)
{
    const char *as = json_string_value(json_object_get(cmd, "as"));
    const char *name = json_string_value(json_object_get(cmd, "name"));
    if (!as) {
        failure(r, line, "register: missing \"as\"");
        return;
    }
    sw_instance *inst = find_instance(r, name);
    if (!inst) {
        failure(r, line, "register \"%s\": no module %s", as, name ? name : "(current)");
        return;
    }
    char msg[512];
    if (glue_register(&r->glue, as, inst, msg, sizeof msg))
        failure(r, line, "register \"%s\": %s", as, msg);
}

/* The outcome of running an action. */
struct outcome {
    enum call_result result;
    struct spec_value values[MAX_VALUES];
    size_t nvalues;
    char msg[512];
};

/* Runs an "action" object (invoke or get). Returns -1 (and reports a
 * failure) only if the action itself is malformed or names nothing. */
static int run_action(struct runner *r, json_t *action, long line, const char *what,
                      struct outcome *out, char *desc, size_t desclen)
{
    if (!json_is_object(action)) {
        failure(r, line, "%s: missing \"action\"", what);
        return -1;
    }
    const char *type = json_string_value(json_object_get(action, "type"));
    const char *field = json_string_value(json_object_get(action, "field"));
    const char *modname = json_string_value(json_object_get(action, "module"));
    if (!type || !field) {
        failure(r, line, "%s: action without type or field", what);
        return -1;
    }
    /* Export names may hold NUL bytes: keep the length. */
    size_t field_len = json_string_length(json_object_get(action, "field"));
    sw_instance *inst = find_instance(r, modname);
    if (!inst) {
        failure(r, line, "%s %s \"%s\": no module %s to act on", what, type, field,
                modname ? modname : "instance (the last module failed)");
        return -1;
    }
    char err[256];
    if (!strcmp(type, "invoke")) {
        struct spec_value args[MAX_VALUES];
        size_t nargs;
        if (parse_values(json_object_get(action, "args"), false, args, &nargs, err, sizeof err)) {
            failure(r, line, "%s invoke \"%s\": bad script: %s", what, field, err);
            return -1;
        }
        char argtext[512];
        format_values(args, nargs, argtext, sizeof argtext);
        snprintf(desc, desclen, "invoke \"%s\"(%s)", field, argtext);
        out->result = glue_invoke(&r->glue, inst, field, field_len, args, nargs, out->values,
                                  &out->nvalues, out->msg, sizeof out->msg);
        return 0;
    }
    if (!strcmp(type, "get")) {
        snprintf(desc, desclen, "get \"%s\"", field);
        out->nvalues = 1;
        out->result = glue_get(&r->glue, inst, field, &out->values[0], out->msg, sizeof out->msg);
        return 0;
    }
    failure(r, line, "%s: unknown action type \"%s\"", what, type);
    return -1;
}

static void describe_outcome(const struct outcome *o, char *buf, size_t len)
{
    if (o->result == CALL_TRAP) {
        snprintf(buf, len, "trap \"%s\"", o->msg);
    } else if (o->result == CALL_ERROR) {
        snprintf(buf, len, "error: %s", o->msg);
    } else {
        char vals[1024];
        format_values(o->values, o->nvalues, vals, sizeof vals);
        snprintf(buf, len, "result (%s)", vals);
    }
}

static void cmd_assert_return(struct runner *r, json_t *cmd, long line, const char *what)
{
    struct spec_value want[MAX_VALUES];
    size_t nwant;
    char err[256];
    if (parse_values(json_object_get(cmd, "expected"), true, want, &nwant, err, sizeof err)) {
        failure(r, line, "%s: bad script: %s", what, err);
        return;
    }
    struct outcome out;
    char desc[768];
    if (run_action(r, json_object_get(cmd, "action"), line, what, &out, desc, sizeof desc)) return;
    bool ok = out.result == CALL_OK;
    /* A bare action only has to complete; assert_return checks the values. */
    if (ok && !strcmp(what, "assert_return")) {
        ok = out.nvalues == nwant;
        for (size_t i = 0; ok && i < nwant; i++)
            ok = value_matches(&want[i], &out.values[i]);
    }
    if (ok) {
        pass(r, line, what);
        return;
    }
    char wanttext[1024], got[1200];
    format_values(want, nwant, wanttext, sizeof wanttext);
    describe_outcome(&out, got, sizeof got);
    if (!strcmp(what, "assert_return"))
        failure(r, line, "%s %s: expected (%s), got %s", what, desc, wanttext, got);
    else
        failure(r, line, "%s %s: expected to complete, got %s", what, desc, got);
}

/* assert_trap and assert_exhaustion on an action. */
static void cmd_assert_trap(struct runner *r, json_t *cmd, long line, const char *what)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) {
        failure(r, line, "%s: missing \"text\"", what);
        return;
    }
    struct outcome out;
    char desc[768];
    if (run_action(r, json_object_get(cmd, "action"), line, what, &out, desc, sizeof desc)) return;
    if (out.result == CALL_TRAP && starts_with(out.msg, text)) {
        pass(r, line, what);
        return;
    }
    char got[1200];
    describe_outcome(&out, got, sizeof got);
    failure(r, line, "%s %s: expected trap \"%s\", got %s", what, desc, text, got);
}

/* assert_invalid and assert_malformed: the module must not load. */
static void cmd_assert_bad_module(struct runner *r, json_t *cmd, long line, const char *what)
{
    const char *type = json_string_value(json_object_get(cmd, "module_type"));
    if (type && strcmp(type, "binary")) {
        skip(r, line, what);
        return;
    }
    const char *text = json_string_value(json_object_get(cmd, "text"));
    char msg[512];
    bool file_error;
    sw_module *mod;
    if (!load_module_file(r, cmd, &mod, &file_error, msg, sizeof msg)) {
        glue_free_module(mod);
        failure(r, line, "%s: module loaded, expected it to fail with \"%s\"", what,
                text ? text : "");
        return;
    }
    if (file_error) {
        failure(r, line, "%s: %s", what, msg);
        return;
    }
    if (r->strict_messages && text && !starts_with(msg, text)) {
        failure(r, line, "%s: expected \"%s\", got \"%s\"", what, text, msg);
        return;
    }
    if (r->verbose)
        printf("%s:%ld: ok %s (\"%s\" / engine: \"%s\")\n", r->source, line, what, text ? text : "",
               msg);
    r->passed++;
}

/* assert_unlinkable (a link error) and assert_uninstantiable (a trap while
 * instantiating): the module loads, instantiation must fail that way. */
static void cmd_assert_instantiation(struct runner *r, json_t *cmd, long line, const char *what,
                                     enum inst_result want)
{
    const char *type = json_string_value(json_object_get(cmd, "module_type"));
    if (type && strcmp(type, "binary")) {
        skip(r, line, what);
        return;
    }
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) {
        failure(r, line, "%s: missing \"text\"", what);
        return;
    }
    char msg[512];
    bool file_error;
    sw_module *mod;
    if (load_module_file(r, cmd, &mod, &file_error, msg, sizeof msg)) {
        failure(r, line, "%s: module %s: %s", what, file_error ? "error" : "failed to load", msg);
        return;
    }
    sw_instance *inst = NULL;
    bool taken;
    enum inst_result got = glue_instantiate(&r->glue, mod, &inst, &taken, msg, sizeof msg);
    if (got == INST_OK) {
        /* Keep it: it may already be linked to others (nothing refers to it by
         * name). */
        if (remember_instance(r, NULL, mod, inst)) {
            glue_free_instance(inst);
            glue_free_module(mod);
        }
        failure(r, line, "%s: module instantiated, expected \"%s\"", what, text);
        return;
    }
    if (!taken) glue_free_module(mod);
    const char *kind = got == INST_LINK_ERROR ? "link error" : got == INST_TRAP ? "trap" : "error";
    /* Trap messages must match; link error wording is checked only if asked. */
    bool ok =
        got == want && ((want == INST_LINK_ERROR && !r->strict_messages) || starts_with(msg, text));
    if (ok) {
        pass(r, line, what);
        return;
    }
    failure(r, line, "%s: expected %s \"%s\", got %s \"%s\"", what,
            want == INST_LINK_ERROR ? "link error" : "trap", text, kind, msg);
}

static void run_command(struct runner *r, json_t *cmd, size_t index)
{
    long line = (long)json_integer_value(json_object_get(cmd, "line"));
    const char *type = json_string_value(json_object_get(cmd, "type"));
    if (!json_is_object(cmd) || !type) {
        failure(r, line, "command %zu has no \"type\"", index);
        return;
    }
    if (!strcmp(type, "module"))
        cmd_module(r, cmd, line);
    else if (!strcmp(type, "register"))
        cmd_register(r, cmd, line);
    else if (!strcmp(type, "action") || !strcmp(type, "assert_return"))
        cmd_assert_return(r, cmd, line, type);
    else if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion"))
        cmd_assert_trap(r, cmd, line, type);
    else if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed"))
        cmd_assert_bad_module(r, cmd, line, type);
    else if (!strcmp(type, "assert_unlinkable"))
        cmd_assert_instantiation(r, cmd, line, type, INST_LINK_ERROR);
    else if (!strcmp(type, "assert_uninstantiable"))
        cmd_assert_instantiation(r, cmd, line, type, INST_TRAP);
    else
        failure(r, line, "unsupported command \"%s\"", type);
}

static const char usage_text[] =
    "usage: stratus spectest [-v] [--strict-messages] [--max-pages N] [--count-opcodes]\n"
    "                        [--fuel N] [--engine interp|aot] FILE.json...\n"
    "\n"
    "Runs WebAssembly test scripts converted from .wast by wast2json (wabt) against the\n"
    "Stratus engine. Module files are read from the JSON file's directory. Prints one\n"
    "line per failed assertion (wast file:line, command, what was expected, what\n"
    "happened) and ends with 'N passed, N failed, N skipped'.\n"
    "\n"
    "  assert_return          results must match exactly: floats bitwise, nan:canonical\n"
    "                         and nan:arithmetic by NaN class, references null or\n"
    "                         non-null, externref by value\n"
    "  assert_trap,           the action must trap and the engine's trap message must\n"
    "  assert_exhaustion      START WITH the expected text\n"
    "  assert_uninstantiable  instantiation must trap; message checked the same way\n"
    "  assert_unlinkable      instantiation must fail with a link error\n"
    "  assert_invalid,        the binary module must fail to load\n"
    "  assert_malformed\n"
    "Text-format modules and assertions on them are skipped and counted as skipped.\n"
    "Imports from \"spectest\" resolve to the standard test host module.\n"
    "\n"
    "  -v, --verbose        print a line for every command, not only failures\n"
    "  --strict-messages    also require load and link error messages to start with\n"
    "                       the expected text\n"
    "  --max-pages N        cap every instance's memory at N 64 KiB pages\n"
    "                       (default: the engine's default limit)\n"
    "  --count-opcodes      run every instance in the engine's opcode-counting mode\n"
    "                       and print how many instructions were counted\n"
    "  --fuel N             give every instance N units of fuel (about one per\n"
    "                       instruction; running out traps); interpreter only\n"
    "  --engine aot         run every module in the compiled tier: each is compiled\n"
    "                       with the system C compiler (cached in $STRATUS_AOT_CACHE or\n"
    "                       the user's cache) and must run compiled code; a module that\n"
    "                       cannot be compiled fails. Default: interp (the interpreter)\n"
    "\n"
    "Exit status: 0 if nothing failed, 1 if an assertion failed, 2 on a usage error\n"
    "or an unreadable script.\n";

static void usage(FILE *out)
{
    fputs(usage_text, out);
}

/* The compiled tier's log lines (compiles, cache problems) on stderr. */
static void aot_log(void *user, swaot_log_level level, const char *message)
{
    (void)user;
    fprintf(stderr, "stratus spectest: %s%s\n",
            level == SWAOT_LOG_INFO ? "" : "warning: ", message);
}

struct options {
    bool verbose;
    bool strict_messages;
    uint32_t max_pages; /* 0: the engine's default */
    bool count_opcodes; /* run in the engine's opcode-counting mode */
    uint64_t fuel;      /* --fuel: every instance's; 0 unlimited */
    swaot *aot;         /* --engine aot */
};

static int run_script(const char *path, const struct options *opt, unsigned long totals[3])
{
    json_error_t jerr;
    /* Export names may hold NUL characters (names.wast). */
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        fprintf(stderr, "stratus spectest: %s:%d:%d: %s\n", path, jerr.line, jerr.column,
                jerr.text);
        return 2;
    }
    json_t *commands = json_object_get(root, "commands");
    if (!json_is_object(root) || !json_is_array(commands)) {
        fprintf(stderr, "stratus spectest: %s: no \"commands\" array: not a wast2json script\n",
                path);
        json_decref(root);
        return 2;
    }
    struct runner r = {
        .json_path = path, .verbose = opt->verbose, .strict_messages = opt->strict_messages};
    char *slash = strrchr(path, '/');
    r.dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    const char *src = json_string_value(json_object_get(root, "source_filename"));
    if (src && strrchr(src, '/')) src = strrchr(src, '/') + 1;
    r.source = src && *src ? src : path;
    char err[512];
    if (!r.dir || glue_init(&r.glue, opt->verbose, opt->max_pages, err, sizeof err)) {
        fprintf(stderr, "stratus spectest: cannot set up the engine: %s\n",
                r.dir ? err : "out of memory");
        free(r.dir);
        json_decref(root);
        return 2;
    }
    r.glue.counting = opt->count_opcodes;
    r.glue.fuel = opt->fuel;
    r.glue.aot = opt->aot;
    for (size_t i = 0; i < json_array_size(commands); i++)
        run_command(&r, json_array_get(commands, i), i);
    if (opt->count_opcodes) {
        uint64_t total = 0, counts[256];
        for (size_t i = 0; i < r.ninstances; i++) {
            sw_instance_counts(r.instances[i].instance, counts);
            for (int op = 0; op < 256; op++)
                total += counts[op];
        }
        printf("%s: %" PRIu64 " instructions counted\n", r.source, total);
    }
    fflush(stdout);

    /* Instances may import from earlier ones: free newest first, then the
     * linker (its host objects), then the modules. */
    for (size_t i = r.ninstances; i-- > 0;)
        glue_free_instance(r.instances[i].instance);
    glue_fini(&r.glue);
    for (size_t i = 0; i < r.ninstances; i++) {
        glue_free_module(r.instances[i].module);
        free(r.instances[i].name);
    }
    free(r.instances);
    free(r.dir);
    json_decref(root);
    totals[0] += r.passed;
    totals[1] += r.failed;
    totals[2] += r.skipped;
    return r.failed ? 1 : 0;
}

int cmd_spectest_main(int argc, char **argv)
{
    struct options opt = {false, false, 0, false, 0, NULL};
    swaot_engine engine = SWAOT_INTERP;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            opt.verbose = true;
        } else if (!strcmp(a, "--strict-messages")) {
            opt.strict_messages = true;
        } else if (!strcmp(a, "--count-opcodes")) {
            opt.count_opcodes = true;
        } else if (!strcmp(a, "--engine") && first + 1 < argc) {
            if (swaot_engine_parse(argv[++first], &engine) || engine == SWAOT_AUTO) {
                fprintf(stderr, "stratus spectest: --engine wants interp or aot\n");
                return 2;
            }
        } else if (!strcmp(a, "--max-pages") && first + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long n = strtoul(argv[++first], &end, 10);
            if (errno || *end || n == 0 || n > 65536) {
                fprintf(stderr, "stratus spectest: --max-pages wants 1..65536\n");
                return 2;
            }
            opt.max_pages = (uint32_t)n;
        } else if (!strcmp(a, "--fuel") && first + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(argv[++first], &end, 10);
            if (errno || *end || n == 0 || argv[first][0] == '-') {
                fprintf(stderr, "stratus spectest: --fuel wants a positive number\n");
                return 2;
            }
            opt.fuel = n;
        } else if (!strcmp(a, "--")) {
            first++;
            break;
        } else {
            fprintf(stderr, "stratus spectest: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    if (engine == SWAOT_AOT) {
        if (opt.count_opcodes || opt.fuel) {
            fprintf(stderr, "stratus spectest: %s is the interpreter's only\n",
                    opt.fuel ? "--fuel" : "--count-opcodes");
            return 2;
        }
        sw_error err;
        const char *why;
        swaot_config cfg;
        swaot_config_init(&cfg);
        cfg.log = aot_log;
        if (swaot_open(&cfg, &opt.aot, &err) != SW_OK) {
            fprintf(stderr, "stratus spectest: %s\n", err.message);
            return 2;
        }
        if (!swaot_has_compiler(opt.aot, &why)) {
            fprintf(stderr, "stratus spectest: --engine aot: %s\n", why);
            swaot_close(opt.aot);
            return 2;
        }
    }
    unsigned long totals[3] = {0, 0, 0};
    int status = 0;
    for (int i = first; i < argc; i++) {
        int rc = run_script(argv[i], &opt, totals);
        if (rc > status) status = rc;
    }
    printf("%lu passed, %lu failed, %lu skipped\n", totals[0], totals[1], totals[2]);
    swaot_close(opt.aot);
    return status;
}
