/* The interpreter: runtime helpers the dispatch loop calls for the rarer,
 * bigger operations (host calls, memory and table growth, segment copies),
 * and the two compiled copies of the loop (plain and opcode-counting). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "numeric.h"

const char *sw_trap_message(sw_trap trap)
{
    switch (trap) {
    case SW_TRAP_NONE: return "no trap";
    case SW_TRAP_UNREACHABLE: return "unreachable";
    case SW_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case SW_TRAP_TABLE_OOB: return "out of bounds table access";
    case SW_TRAP_DIV_ZERO: return "integer divide by zero";
    case SW_TRAP_INT_OVERFLOW: return "integer overflow";
    case SW_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case SW_TRAP_INDIRECT_TYPE_MISMATCH: return "indirect call type mismatch";
    case SW_TRAP_UNDEFINED_ELEMENT: return "undefined element";
    case SW_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
    case SW_TRAP_NULL_REFERENCE: return "null reference";
    case SW_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case SW_TRAP_INTERRUPTED: return "interrupted";
    case SW_TRAP_OUT_OF_FUEL: return "out of fuel";
    case SW_TRAP_HOST: return "host trap";
    }
    return "trap";
}

uint64_t sw__value_bits(const sw_value *v)
{
    switch (v->type) {
    case SW_I32:
    case SW_F32: return (uint32_t)v->of.i32;
    case SW_I64:
    case SW_F64: return (uint64_t)v->of.i64;
    default: return (uint64_t)(uintptr_t)v->of.ref;
    }
}

sw_value sw__value_of(sw_valtype type, uint64_t bits)
{
    sw_value v;
    memset(&v, 0, sizeof v);
    v.type = type;
    switch (type) {
    case SW_I32:
    case SW_F32: v.of.i32 = (int32_t)(uint32_t)bits; break;
    case SW_I64:
    case SW_F64: v.of.i64 = (int64_t)bits; break;
    default: v.of.ref = (void *)(uintptr_t)bits; break;
    }
    return v;
}

sw_status sw__call_host(sw_instance *caller, struct exec *ex, sw_func *f, uint64_t *slots)
{
    const struct ftype *t = f->type;
    sw_value small_args[8], small_res[8];
    sw_value *args = small_args, *res = small_res;
    if (t->nparams > 8) args = calloc(t->nparams, sizeof *args);
    if (t->nresults > 8) res = calloc(t->nresults, sizeof *res);
    if (!args || !res) {
        if (args != small_args) free(args);
        if (res != small_res) free(res);
        snprintf(ex->message, sizeof ex->message, "out of memory");
        return SW_ERR_TRAP;
    }
    for (uint32_t i = 0; i < t->nparams; i++)
        args[i] = sw__value_of(t->types[i], slots[i]);
    for (uint32_t i = 0; i < t->nresults; i++)
        res[i] = sw__value_of(t->types[t->nparams + i], 0);
    struct sw_call call = {.inst = caller, .ex = ex};
    ex->message[0] = 0;
    sw_status st = f->host(&call, f->user, args, res);
    if (st == SW_OK) {
        for (uint32_t i = 0; i < t->nresults; i++) {
            if (res[i].type != t->types[t->nparams + i]) {
                snprintf(ex->message, sizeof ex->message, "host function returned a wrong type");
                st = SW_ERR_TRAP;
                break;
            }
            slots[i] = sw__value_bits(&res[i]);
        }
    } else if (st != SW_ERR_EXIT) {
        if (!ex->message[0]) snprintf(ex->message, sizeof ex->message, "host function failed");
        st = SW_ERR_TRAP;
    }
    if (args != small_args) free(args);
    if (res != small_res) free(res);
    return st;
}

#define TABLE_HARD_MAX (1u << 23)

int64_t sw__table_grow(struct sw_table_obj *t, uint32_t delta, uint64_t init)
{
    uint32_t old = t->size;
    uint64_t want = (uint64_t)old + delta;
    if (want > t->max || want > TABLE_HARD_MAX) return -1;
    if (delta == 0) return old;
    uint64_t *p = realloc(t->elems, (size_t)want * sizeof *p);
    if (!p) return -1;
    for (uint64_t i = old; i < want; i++)
        p[i] = init;
    t->elems = p;
    t->size = (uint32_t)want;
    return old;
}

sw_trap sw__memory_init(sw_instance *inst, uint32_t seg, uint32_t d, uint32_t s, uint32_t n)
{
    const struct mod_data *ds = &inst->module->datas[seg];
    uint64_t len = inst->data_dropped[seg] ? 0 : ds->len;
    struct sw_memory_obj *mem = inst->memory;
    if ((uint64_t)s + n > len || (uint64_t)d + n > mem->size) return SW_TRAP_MEMORY_OOB;
    if (n) memcpy(mem->data + d, ds->bytes + s, n);
    return SW_TRAP_NONE;
}

sw_trap sw__table_init(sw_instance *inst, uint32_t seg, uint32_t table, uint32_t d, uint32_t s,
                       uint32_t n)
{
    const struct mod_elem *es = &inst->module->elems[seg];
    uint64_t len = inst->elem_dropped[seg] ? 0 : es->count;
    struct sw_table_obj *t = inst->tables[table];
    if ((uint64_t)s + n > len || (uint64_t)d + n > t->size) return SW_TRAP_TABLE_OOB;
    for (uint32_t k = 0; k < n; k++)
        t->elems[d + k] = sw__eval_cexpr(inst, &es->items[s + k]);
    return SW_TRAP_NONE;
}

/* Loads and stores of guest memory as single instructions: an access that
 * crosses the end of a guarded memory then faults before it writes anything
 * (a byte-wise copy could write part of a store first). */
#define MEM_READ(T, p) (((const struct { T v; } __attribute__((packed, may_alias)) *)(p))->v)
#define MEM_WRITE(T, p, x) (((struct { T v; } __attribute__((packed, may_alias)) *)(p))->v = (x))

/* A branch's or a return's values, n slots from fp[src] down to fp[dst]
 * (dst <= src: a label's height is never above the values), copied in
 * place of a memmove call: a call inside the dispatch loop makes the
 * compiler shuffle registers around it on the hot path. A plain loop, not
 * unrolled or vectorised: that would take registers the loop around it
 * keeps in use. */
__attribute__((always_inline, no_builtin("memset", "memmove", "memcpy"))) static inline void
move_slots(uint64_t *fp, uint32_t dst, uint32_t src, uint32_t n)
{
    if (dst == src) return;
#pragma clang loop unroll(disable) vectorize(disable)
    for (uint32_t k = 0; k < n; k++)
        fp[dst + k] = fp[src + k];
}

#define RUN_NAME run_plain
#define THREADED 1
#define COUNTING 0
#define CHECKED 0
#include "interp_loop.inc"
#undef RUN_NAME
#undef THREADED
#undef COUNTING
#undef CHECKED

#define RUN_NAME run_counting
#define THREADED 0
#define COUNTING 1
#define CHECKED 1
#include "interp_loop.inc"
#undef RUN_NAME
#undef THREADED
#undef COUNTING
#undef CHECKED

#define RUN_NAME run_checked
#define THREADED 0
#define COUNTING 0
#define CHECKED 1
#include "interp_loop.inc"
#undef RUN_NAME
#undef THREADED
#undef COUNTING
#undef CHECKED

sw_status sw__invoke(sw_instance *ctx, sw_func *func, uint64_t *args_results)
{
    if (ctx->counting) return run_counting(ctx, func, args_results, NULL);
    /* Compiled code when there is some (never with fuel, interpreter-only). */
    if (func->native_ctx && !ctx->fuel_on) {
        bool unavailable;
        sw_status st = sw__native_invoke(ctx, func, args_results, &unavailable);
        if (!unavailable) return st;
    }
    const struct sw_memory_obj *m = ctx->memory;
    if (!atomic_load_explicit(&sw__guards_failed, memory_order_relaxed) && (!m || m->guarded)) {
        bool unavailable;
        sw_status st = sw__guarded_invoke(ctx, func, args_results, run_plain, &unavailable);
        if (!unavailable) return st;
    }
    /* Without guard regions: the counting translation, bounds checked. */
    if (sw__module_ensure_counted(ctx->module) != SW_OK) {
        snprintf(ctx->ex.message, sizeof ctx->ex.message, "out of memory");
        ctx->ex.trap = SW_TRAP_HOST;
        ctx->ex.status = SW_ERR_TRAP;
        return SW_ERR_TRAP;
    }
    return run_checked(ctx, func, args_results, NULL);
}

bool sw__thread_code(uint32_t *code, size_t n)
{
    const void *const *labels;
    run_plain(NULL, NULL, NULL, &labels);
    const char *base = labels[0];
    for (size_t i = 0; i < n;) {
        size_t len = sw__op_words(&code[i]);
        if (len == 0 || len > n - i || code[i] >= OP_COUNT || !labels[code[i]]) return false;
        ptrdiff_t d = (const char *)labels[code[i]] - base;
        if (d < INT32_MIN || d > INT32_MAX) return false;
        code[i] = (uint32_t)(int32_t)d;
        i += len;
    }
    return true;
}
