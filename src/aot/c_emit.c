/* The compiled tier's translator (c_emit.h): every defined function of a
 * validated module becomes a C function, called directly by the others.
 *
 * The operand stack is static, so each stack depth of each value type is a
 * C variable (s3i: depth 3, i32), each local another (l0.., parameters
 * first); an instruction is one assignment between them, and the C compiler's
 * register allocation and copy propagation do the rest. Blocks are labels and
 * gotos: a branch copies its values to the target's stack height and jumps.
 * Code after br, br_table, return and unreachable is not emitted. Traps call
 * the engine's helpers (native_abi.h), which never return.
 *
 * The code tests nothing for interrupts or the stack: an interrupt reaches
 * compiled code as a signal, and a stack overflow faults on the thread's
 * guard page (native.c, guard_fault.c), so loops and calls run as the C
 * compiler makes them.
 *
 * The module passed validation, so types and stack heights are known
 * without checking again; only the decoding of immediates is repeated. */
#include "c_emit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reader.h"
#include "text_buffer.h"

/* native_abi.h and native_prelude.h as text (made at build time). */
extern const char aot_abi_text[];
extern const char aot_prelude_text[];

/* Value classes: the suffix of a variable's name and its C type. */
static char class_of(sw_valtype t)
{
    switch (t) {
    case SW_I32: return 'i';
    case SW_I64: return 'j';
    case SW_F32: return 'f';
    case SW_F64: return 'd';
    default: return 'r';
    }
}

static int class_bit(char cls)
{
    switch (cls) {
    case 'i': return 1;
    case 'j': return 2;
    case 'f': return 4;
    case 'd': return 8;
    default: return 16;
    }
}

static const char *ctype(char cls)
{
    switch (cls) {
    case 'i': return "uint32_t";
    case 'f': return "float";
    case 'd': return "double";
    default: return "uint64_t";
    }
}

/* A value of class cls held in a uint64_t slot (the interpreter's format). */
static void from_slot(struct text_buffer *o, char cls, const char *slot)
{
    switch (cls) {
    case 'i': tb_printf(o, "(uint32_t)%s", slot); break;
    case 'f': tb_printf(o, "swn_f32((uint32_t)%s)", slot); break;
    case 'd': tb_printf(o, "swn_f64(%s)", slot); break;
    default: tb_puts(o, slot); break;
    }
}

static void to_slot(struct text_buffer *o, char cls, const char *value)
{
    switch (cls) {
    case 'i': tb_printf(o, "(uint64_t)%s", value); break;
    case 'f': tb_printf(o, "(uint64_t)swn_b32(%s)", value); break;
    case 'd': tb_printf(o, "swn_b64(%s)", value); break;
    default: tb_puts(o, value); break;
    }
}

enum ctl_kind { K_FUNC, K_BLOCK, K_LOOP, K_IF };

struct ectl {
    enum ctl_kind kind;
    uint32_t label;
    uint32_t height; /* stack height below the block's parameters */
    uint32_t np, nr;
    const sw_valtype *p, *r;
    bool has_else;
    bool dead;        /* the rest of this block is unreachable */
    bool reached_end; /* something branches to (or falls into) the end */
};

struct fn_emitter {
    const sw_module *m;
    uint32_t index; /* the function's index, imports included */
    struct text_buffer *o;
    struct reader r;
    sw_valtype *locals;
    uint32_t nlocals, nparams;
    char *stk; /* class of each stack depth */
    uint32_t sp, capstk;
    uint8_t *used; /* per depth: the classes of variables used there */
    uint32_t capused, max_depth;
    struct ectl *ctls;
    uint32_t nctls, capctls;
    uint32_t next_label;
    uint8_t *globals_used; /* one byte per global */
    bool uses_mem;
    uint32_t skip; /* nesting of blocks opened inside dead code */
    uint32_t *labels;
    uint32_t caplabels;
    bool nomem;
    const char *bad;
    /* Which loads must be kept (see "Dead loads" below): found by a first
       pass over the body (analysing), used by the second. */
    bool analysing;
    uint32_t nloads; /* loads met so far in this pass */
    uint32_t *uf;    /* union-find of load groups: parent of each load */
    uint8_t *uf_keep, *uf_resolved;
    uint8_t *keep; /* second pass: keep[load] */
    uint32_t capuf, capkeep;
    uint32_t *grp; /* per stack depth: the value's group (load + 1), or 0 */
    uint8_t *cst;  /* per stack depth: the value is a constant, kv[d] */
    uint64_t *kv;
    uint32_t capgrp;
    uint32_t *lgrp; /* per local */
    uint32_t caplgrp;
    uint32_t *holders; /* depths, or locals | HOLDER_LOCAL, that got a group */
    uint32_t nholders, capholders;
};

#define HOLDER_LOCAL 0x80000000u

static bool fail(struct fn_emitter *e, const char *why)
{
    if (!e->bad) e->bad = why;
    return false;
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return true;
    uint32_t c = *cap ? *cap : 32;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return false;
    memset((char *)q + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
    *p = q;
    *cap = c;
    return true;
}

/* The name of the variable of class cls at `depth`, noted as used. */
static const char *var_of(struct fn_emitter *e, uint32_t depth, char cls, char buf[16])
{
    snprintf(buf, 16, "s%u%c", depth, cls);
    if (!grow((void **)&e->used, &e->capused, depth + 1, 1)) {
        e->nomem = true; /* checked once the function is done */
        return buf;
    }
    e->used[depth] |= (uint8_t)class_bit(cls);
    if (depth + 1 > e->max_depth) e->max_depth = depth + 1;
    return buf;
}

/* The name of the variable holding the value at `depth`. */
static const char *var(struct fn_emitter *e, uint32_t depth, char buf[16])
{
    return var_of(e, depth, e->stk[depth], buf);
}

static bool push(struct fn_emitter *e, char cls)
{
    uint32_t need = e->sp + 1;
    uint32_t capgrp = e->capgrp, capkv = e->capgrp;
    if (!grow((void **)&e->stk, &e->capstk, need, 1) ||
        !grow((void **)&e->used, &e->capused, need, 1) ||
        !grow((void **)&e->grp, &e->capgrp, need, sizeof *e->grp) ||
        !grow((void **)&e->cst, &capgrp, need, 1) ||
        !grow((void **)&e->kv, &capkv, need, sizeof *e->kv)) {
        e->nomem = true;
        return false;
    }
    e->grp[e->sp] = 0;
    e->cst[e->sp] = 0;
    e->stk[e->sp++] = cls;
    if (e->sp > e->max_depth) e->max_depth = e->sp;
    return true;
}

static bool push_type(struct fn_emitter *e, sw_valtype t)
{
    return push(e, class_of(t));
}

/* --- Dead loads ----------------------------------------------------------
 * A wasm load traps even when nothing uses its value, but the C compiler
 * drops a load whose value is unused, and may move a load into the branch
 * that uses it. Where that could happen, the load is "kept" (its value goes
 * through an empty asm, native_prelude.h), which costs the optimiser its
 * freedom (no vectorisation of that loop). The first pass over a body finds
 * the loads that need it: every value carries the group of loads it was
 * computed from (union-find over load numbers); a group is safe once its
 * value is consumed, in the same straight-line code, by an operation the C
 * compiler must perform (a store, a call's argument, a branch condition, a
 * global.set, a bulk operation); it is kept when its value is dropped,
 * overwritten in a local, returned, mixed with a constant or with itself
 * (x*0, x-x fold away), chosen by select, or still unconsumed at any
 * control flow (a branch, a label, a call). */

static uint32_t find(struct fn_emitter *e, uint32_t g)
{
    uint32_t r = g - 1;
    while (e->uf[r] != r)
        r = e->uf[r] = e->uf[e->uf[r]];
    return r;
}

static uint32_t unite(struct fn_emitter *e, uint32_t a, uint32_t b)
{
    if (!a || !b) return a ? a : b;
    uint32_t ra = find(e, a), rb = find(e, b);
    if (ra == rb) return a;
    e->uf[rb] = ra;
    e->uf_keep[ra] |= e->uf_keep[rb];
    e->uf_resolved[ra] = e->uf_resolved[ra] && e->uf_resolved[rb];
    return ra + 1;
}

static void sink(struct fn_emitter *e, uint32_t g)
{
    if (e->analysing && g) e->uf_resolved[find(e, g)] = 1;
}

static void keep(struct fn_emitter *e, uint32_t g)
{
    if (e->analysing && g) e->uf_keep[find(e, g)] = 1;
}

static bool pending(struct fn_emitter *e, uint32_t g)
{
    return e->analysing && g && !e->uf_resolved[find(e, g)];
}

/* Notes that a stack depth or a local holds a group now. */
static void hold(struct fn_emitter *e, uint32_t holder)
{
    if (!e->analysing) return;
    if (!grow((void **)&e->holders, &e->capholders, e->nholders + 1, sizeof *e->holders)) {
        e->nomem = true;
        return;
    }
    e->holders[e->nholders++] = holder;
}

/* Sets the group of the value at depth d. */
static void set_group(struct fn_emitter *e, uint32_t d, uint32_t g)
{
    if (!e->analysing) return;
    e->grp[d] = g;
    if (g) hold(e, d);
}

/* Control flow: every group not yet consumed is kept. */
static void boundary(struct fn_emitter *e)
{
    if (!e->analysing) return;
    for (uint32_t i = 0; i < e->nholders; i++) {
        uint32_t h = e->holders[i];
        uint32_t *g =
            (h & HOLDER_LOCAL) ? &e->lgrp[h & ~HOLDER_LOCAL] : (h < e->sp ? &e->grp[h] : NULL);
        if (!g) continue;
        if (pending(e, *g)) keep(e, *g);
        *g = 0;
    }
    e->nholders = 0;
}

/* A new load: its number, in the group of its address. */
static uint32_t new_load(struct fn_emitter *e, uint32_t addr_group, bool *kept)
{
    uint32_t id = e->nloads++;
    *kept = true;
    if (!e->analysing) {
        *kept = id < e->capkeep ? e->keep[id] != 0 : true;
        return 0;
    }
    uint32_t cap = e->capuf, cap2 = e->capuf, cap3 = e->capuf;
    if (!grow((void **)&e->uf, &e->capuf, id + 1, sizeof *e->uf) ||
        !grow((void **)&e->uf_keep, &cap2, id + 1, 1) ||
        !grow((void **)&e->uf_resolved, &cap3, id + 1, 1)) {
        e->nomem = true;
        return 0;
    }
    (void)cap;
    e->uf[id] = id;
    e->uf_keep[id] = 0;
    e->uf_resolved[id] = 0;
    return unite(e, id + 1, addr_group);
}

/* The depth of the value `n` below the top (0 = the top). */
static uint32_t top(const struct fn_emitter *e, uint32_t n)
{
    return e->sp - 1 - n;
}

static bool push_ctl(struct fn_emitter *e, enum ctl_kind kind, uint32_t np, const sw_valtype *p,
                     uint32_t nr, const sw_valtype *r)
{
    if (!grow((void **)&e->ctls, &e->capctls, e->nctls + 1, sizeof *e->ctls)) {
        e->nomem = true;
        return false;
    }
    struct ectl *c = &e->ctls[e->nctls++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->label = e->next_label++;
    c->height = e->sp - np;
    c->np = np;
    c->p = p;
    c->nr = nr;
    c->r = r;
    return true;
}

static struct ectl *cur(struct fn_emitter *e)
{
    return &e->ctls[e->nctls - 1];
}

/* Copies the top n values to depths height.. (a branch's values). The
 * classes of the stack stay as they are: the copies are only on the path
 * that branches. */
static void copy_down(struct fn_emitter *e, uint32_t n, uint32_t height)
{
    uint32_t from = e->sp - n;
    if (from == height) return;
    for (uint32_t i = 0; i < n; i++) {
        char a[16], b[16];
        tb_printf(e->o, "%s = %s; ", var_of(e, height + i, e->stk[from + i], a),
                  var(e, from + i, b));
    }
}

/* A branch to the block `depth` levels out: copies and the jump. */
static void branch(struct fn_emitter *e, uint32_t depth)
{
    struct ectl *t = &e->ctls[e->nctls - 1 - depth];
    if (t->kind == K_LOOP) {
        copy_down(e, t->np, t->height);
        tb_printf(e->o, "goto L%ut;", t->label);
    } else {
        copy_down(e, t->nr, t->height);
        tb_printf(e->o, "goto L%u;", t->label);
        t->reached_end = true;
    }
}

static void set_dead(struct fn_emitter *e)
{
    cur(e)->dead = true;
}

static void line(struct fn_emitter *e)
{
    tb_puts(e->o, "\n    ");
}

/* Expands an expression template: @1 and @2 are the operands, @F the
 * function index. */
static void expand(struct text_buffer *o, const char *t, const char *a, const char *b,
                   uint32_t func)
{
    for (const char *p = t; *p; p++) {
        if (p[0] == '@' && p[1] == '1') {
            tb_puts(o, a);
            p++;
        } else if (p[0] == '@' && p[1] == '2') {
            tb_puts(o, b);
            p++;
        } else if (p[0] == '@' && p[1] == 'F') {
            tb_printf(o, "%u", func);
            p++;
        } else {
            tb_append(o, p, 1);
        }
    }
}

/* Numeric instructions 0x45..0xC4: result class, operand class, operand
 * count, expression. */
struct numeric_op {
    char res, arg;
    uint8_t n;
    const char *expr;
};

#define CMP32S(op)                                                                                 \
    {                                                                                              \
        'i', 'i', 2, "(uint32_t)((int32_t)@1 " op " (int32_t)@2)"                                  \
    }
#define CMP32U(op)                                                                                 \
    {                                                                                              \
        'i', 'i', 2, "(uint32_t)(@1 " op " @2)"                                                    \
    }
#define CMP64S(op)                                                                                 \
    {                                                                                              \
        'i', 'j', 2, "(uint32_t)((int64_t)@1 " op " (int64_t)@2)"                                  \
    }
#define CMP64U(op)                                                                                 \
    {                                                                                              \
        'i', 'j', 2, "(uint32_t)(@1 " op " @2)"                                                    \
    }
#define CMPF(cls, op)                                                                              \
    {                                                                                              \
        'i', cls, 2, "(uint32_t)(@1 " op " @2)"                                                    \
    }
#define BIN(cls, op)                                                                               \
    {                                                                                              \
        cls, cls, 2, "@1 " op " @2"                                                                \
    }
#define CALL2(cls, fn)                                                                             \
    {                                                                                              \
        cls, cls, 2, fn "(@1, @2)"                                                                 \
    }
#define TRAP2(cls, fn)                                                                             \
    {                                                                                              \
        cls, cls, 2, fn "(c, @1, @2, @F)"                                                          \
    }
#define UN(res, arg, expr)                                                                         \
    {                                                                                              \
        res, arg, 1, expr                                                                          \
    }

static const struct numeric_op numeric_ops[0xC5 - 0x45] = {
    /* 0x45 */ UN('i', 'i', "(uint32_t)(@1 == 0)"),
    CMP32U("=="),
    CMP32U("!="),
    CMP32S("<"),
    CMP32U("<"),
    CMP32S(">"),
    CMP32U(">"),
    CMP32S("<="),
    CMP32U("<="),
    CMP32S(">="),
    CMP32U(">="),
    /* 0x50 */ UN('i', 'j', "(uint32_t)(@1 == 0)"),
    CMP64U("=="),
    CMP64U("!="),
    CMP64S("<"),
    CMP64U("<"),
    CMP64S(">"),
    CMP64U(">"),
    CMP64S("<="),
    CMP64U("<="),
    CMP64S(">="),
    CMP64U(">="),
    /* 0x5B */ CMPF('f', "=="),
    CMPF('f', "!="),
    CMPF('f', "<"),
    CMPF('f', ">"),
    CMPF('f', "<="),
    CMPF('f', ">="),
    /* 0x61 */ CMPF('d', "=="),
    CMPF('d', "!="),
    CMPF('d', "<"),
    CMPF('d', ">"),
    CMPF('d', "<="),
    CMPF('d', ">="),
    /* 0x67 */ UN('i', 'i', "swn_clz32(@1)"),
    UN('i', 'i', "swn_ctz32(@1)"),
    UN('i', 'i', "swn_popcnt32(@1)"),
    BIN('i', "+"),
    BIN('i', "-"),
    BIN('i', "*"),
    TRAP2('i', "swn_i32_div_s"),
    TRAP2('i', "swn_i32_div_u"),
    TRAP2('i', "swn_i32_rem_s"),
    TRAP2('i', "swn_i32_rem_u"),
    BIN('i', "&"),
    BIN('i', "|"),
    BIN('i', "^"),
    {'i', 'i', 2, "@1 << (@2 & 31)"},
    {'i', 'i', 2, "(uint32_t)((int32_t)@1 >> (@2 & 31))"},
    {'i', 'i', 2, "@1 >> (@2 & 31)"},
    CALL2('i', "swn_rotl32"),
    CALL2('i', "swn_rotr32"),
    /* 0x79 */ UN('j', 'j', "swn_clz64(@1)"),
    UN('j', 'j', "swn_ctz64(@1)"),
    UN('j', 'j', "swn_popcnt64(@1)"),
    BIN('j', "+"),
    BIN('j', "-"),
    BIN('j', "*"),
    TRAP2('j', "swn_i64_div_s"),
    TRAP2('j', "swn_i64_div_u"),
    TRAP2('j', "swn_i64_rem_s"),
    TRAP2('j', "swn_i64_rem_u"),
    BIN('j', "&"),
    BIN('j', "|"),
    BIN('j', "^"),
    {'j', 'j', 2, "@1 << (@2 & 63)"},
    {'j', 'j', 2, "(uint64_t)((int64_t)@1 >> (@2 & 63))"},
    {'j', 'j', 2, "@1 >> (@2 & 63)"},
    CALL2('j', "swn_rotl64"),
    CALL2('j', "swn_rotr64"),
    /* 0x8B */ UN('f', 'f', "swn_f32_abs(@1)"),
    UN('f', 'f', "swn_f32_neg(@1)"),
    UN('f', 'f', "swn_f32_ceil(@1)"),
    UN('f', 'f', "swn_f32_floor(@1)"),
    UN('f', 'f', "swn_f32_trunc(@1)"),
    UN('f', 'f', "swn_f32_nearest(@1)"),
    UN('f', 'f', "__builtin_sqrtf(@1)"),
    BIN('f', "+"),
    BIN('f', "-"),
    BIN('f', "*"),
    BIN('f', "/"),
    CALL2('f', "swn_f32_min"),
    CALL2('f', "swn_f32_max"),
    CALL2('f', "swn_f32_copysign"),
    /* 0x99 */ UN('d', 'd', "swn_f64_abs(@1)"),
    UN('d', 'd', "swn_f64_neg(@1)"),
    UN('d', 'd', "swn_f64_ceil(@1)"),
    UN('d', 'd', "swn_f64_floor(@1)"),
    UN('d', 'd', "swn_f64_trunc(@1)"),
    UN('d', 'd', "swn_f64_nearest(@1)"),
    UN('d', 'd', "__builtin_sqrt(@1)"),
    BIN('d', "+"),
    BIN('d', "-"),
    BIN('d', "*"),
    BIN('d', "/"),
    CALL2('d', "swn_f64_min"),
    CALL2('d', "swn_f64_max"),
    CALL2('d', "swn_f64_copysign"),
    /* 0xA7 */ UN('i', 'j', "(uint32_t)@1"),
    UN('i', 'f', "swn_i32_trunc_s(c, (double)@1, @F)"),
    UN('i', 'f', "swn_i32_trunc_u(c, (double)@1, @F)"),
    UN('i', 'd', "swn_i32_trunc_s(c, @1, @F)"),
    UN('i', 'd', "swn_i32_trunc_u(c, @1, @F)"),
    /* 0xAC */ UN('j', 'i', "(uint64_t)(int64_t)(int32_t)@1"),
    UN('j', 'i', "(uint64_t)@1"),
    UN('j', 'f', "swn_i64_trunc_s(c, (double)@1, @F)"),
    UN('j', 'f', "swn_i64_trunc_u(c, (double)@1, @F)"),
    UN('j', 'd', "swn_i64_trunc_s(c, @1, @F)"),
    UN('j', 'd', "swn_i64_trunc_u(c, @1, @F)"),
    /* 0xB2 */ UN('f', 'i', "(float)(int32_t)@1"),
    UN('f', 'i', "(float)@1"),
    UN('f', 'j', "(float)(int64_t)@1"),
    UN('f', 'j', "(float)@1"),
    UN('f', 'd', "(float)@1"),
    /* 0xB7 */ UN('d', 'i', "(double)(int32_t)@1"),
    UN('d', 'i', "(double)@1"),
    UN('d', 'j', "(double)(int64_t)@1"),
    UN('d', 'j', "(double)@1"),
    UN('d', 'f', "swn_promote(@1)"),
    /* 0xBC */ UN('i', 'f', "swn_b32(@1)"),
    UN('j', 'd', "swn_b64(@1)"),
    UN('f', 'i', "swn_f32(@1)"),
    UN('d', 'j', "swn_f64(@1)"),
    /* 0xC0 */ UN('i', 'i', "(uint32_t)(int32_t)(int8_t)@1"),
    UN('i', 'i', "(uint32_t)(int32_t)(int16_t)@1"),
    UN('j', 'j', "(uint64_t)(int64_t)(int8_t)@1"),
    UN('j', 'j', "(uint64_t)(int64_t)(int16_t)@1"),
    UN('j', 'j', "(uint64_t)(int64_t)(int32_t)@1"),
};

/* 0xFC 0..7: saturating truncations. */
static const struct numeric_op saturating_ops[8] = {
    UN('i', 'f', "swn_sat_i32((double)@1)"), UN('i', 'f', "swn_sat_u32((double)@1)"),
    UN('i', 'd', "swn_sat_i32(@1)"),         UN('i', 'd', "swn_sat_u32(@1)"),
    UN('j', 'f', "swn_sat_i64((double)@1)"), UN('j', 'f', "swn_sat_u64((double)@1)"),
    UN('j', 'd', "swn_sat_i64(@1)"),         UN('j', 'd', "swn_sat_u64(@1)"),
};

/* Loads 0x28..0x35 (result class, expression of @1 = the address) and
 * stores 0x36..0x3E (@1 the address, @2 the value). */
static const struct numeric_op memory_ops[0x3F - 0x28] = {
    {'i', 'i', 1, "swn_ld32(@1)"},
    {'j', 'i', 1, "swn_ld64(@1)"},
    {'f', 'i', 1, "swn_f32(swn_ld32(@1))"},
    {'d', 'i', 1, "swn_f64(swn_ld64(@1))"},
    {'i', 'i', 1, "(uint32_t)(int32_t)(int8_t)swn_ld8(@1)"},
    {'i', 'i', 1, "swn_ld8(@1)"},
    {'i', 'i', 1, "(uint32_t)(int32_t)(int16_t)swn_ld16(@1)"},
    {'i', 'i', 1, "swn_ld16(@1)"},
    {'j', 'i', 1, "(uint64_t)(int64_t)(int8_t)swn_ld8(@1)"},
    {'j', 'i', 1, "(uint64_t)swn_ld8(@1)"},
    {'j', 'i', 1, "(uint64_t)(int64_t)(int16_t)swn_ld16(@1)"},
    {'j', 'i', 1, "(uint64_t)swn_ld16(@1)"},
    {'j', 'i', 1, "(uint64_t)(int64_t)(int32_t)swn_ld32(@1)"},
    {'j', 'i', 1, "(uint64_t)swn_ld32(@1)"},
    /* 0x36 */ {'i', 'i', 2, "swn_st32(@1, @2)"},
    {'j', 'i', 2, "swn_st64(@1, @2)"},
    {'f', 'i', 2, "swn_st32(@1, swn_b32(@2))"},
    {'d', 'i', 2, "swn_st64(@1, swn_b64(@2))"},
    {'i', 'i', 2, "swn_st8(@1, (uint8_t)@2)"},
    {'i', 'i', 2, "swn_st16(@1, (uint16_t)@2)"},
    {'j', 'i', 2, "swn_st8(@1, (uint8_t)@2)"},
    {'j', 'i', 2, "swn_st16(@1, (uint16_t)@2)"},
    {'j', 'i', 2, "swn_st32(@1, (uint32_t)@2)"},
};

/* Emits `dst = expr(operands);` for a numeric-like instruction. */
/* Whether `x op K` (K the constant operand, either side) can fold to a
 * constant, so that the C compiler drops the computation of x. */
static bool folds_with(uint8_t opcode, uint64_t k)
{
    bool w = opcode >= 0x50 && opcode <= 0x5A;  /* i64 comparisons */
    bool w2 = opcode >= 0x7C && opcode <= 0x8A; /* i64 arithmetic */
    uint64_t ones = (w || w2) ? ~0ull : 0xFFFFFFFFull;
    uint64_t smin = (w || w2) ? 1ull << 63 : 1ull << 31, smax = smin - 1;
    switch (opcode) {
    case 0x6C:
    case 0x7E: /* mul */
    case 0x71:
    case 0x83: /* and */ return k == 0;
    case 0x72:
    case 0x84: /* or */ return k == ones;
    case 0x6F:
    case 0x70:
    case 0x81:
    case 0x82: /* rem: by 1 or -1 */ return k == 1 || k == ones;
    case 0x48:
    case 0x4A:
    case 0x4C:
    case 0x4E: /* signed comparisons */
    case 0x53:
    case 0x55:
    case 0x57:
    case 0x59: return k == smin || k == smax;
    case 0x49:
    case 0x4B:
    case 0x4D:
    case 0x4F: /* unsigned comparisons */
    case 0x54:
    case 0x56:
    case 0x58:
    case 0x5A: return k == 0 || k == ones;
    default: return false;
    }
}

/* Emits `dst = expr(operands);` for a numeric-like instruction (wasm
 * opcode `opcode`, or 0 for the 0xFC ones). */
static bool emit_numeric(struct fn_emitter *e, const struct numeric_op *op, uint8_t opcode)
{
    char a[16], b[16], d[16];
    const char *x = "", *y = "";
    uint32_t ga = 0, gb = 0, g;
    bool folds = false;
    if (op->n == 2) {
        uint32_t ta = top(e, 1), tb = top(e, 0);
        y = var(e, tb, b);
        x = var(e, ta, a);
        ga = e->grp[ta];
        gb = e->grp[tb];
        folds = (e->cst[ta] && folds_with(opcode, e->kv[ta])) ||
                (e->cst[tb] && folds_with(opcode, e->kv[tb])) ||
                (e->analysing && ga && gb && find(e, ga) == find(e, gb));
        e->sp -= 2;
    } else {
        ga = e->grp[top(e, 0)];
        x = var(e, top(e, 0), a);
        e->sp -= 1;
    }
    if (folds) {
        keep(e, ga);
        keep(e, gb);
        g = 0;
    } else {
        g = e->analysing ? unite(e, ga, gb) : 0;
    }
    if (!push(e, op->res)) return false;
    set_group(e, top(e, 0), g);
    tb_printf(e->o, "%s = ", var(e, top(e, 0), d));
    expand(e->o, op->expr, x, y, e->index);
    tb_puts(e->o, ";");
    return true;
}

static bool emit_memory(struct fn_emitter *e, uint8_t opcode, uint32_t offset)
{
    const struct numeric_op *op = &memory_ops[opcode - 0x28];
    char a[16], v[16], d[16], addr[64];
    e->uses_mem = true;
    if (opcode <= 0x35) {
        bool kept;
        uint32_t g = new_load(e, e->grp[top(e, 0)], &kept);
        snprintf(addr, sizeof addr, "mem + ((uint64_t)%s + %" PRIu32 "u)", var(e, top(e, 0), a),
                 offset);
        e->sp--;
        if (!push(e, op->res)) return false;
        set_group(e, top(e, 0), g);
        tb_printf(e->o, "%s = ", var(e, top(e, 0), d));
        /* kept loads: swn_kld* instead of swn_ld* */
        const char *at = strstr(op->expr, "swn_ld");
        if (kept && at) {
            tb_append(e->o, op->expr, (size_t)(at - op->expr));
            tb_puts(e->o, "swn_k");
            expand(e->o, at + 4, addr, "", e->index);
        } else {
            expand(e->o, op->expr, addr, "", e->index);
        }
        tb_puts(e->o, ";");
        return true;
    }
    sink(e, e->grp[top(e, 0)]);
    sink(e, e->grp[top(e, 1)]);
    var(e, top(e, 0), v);
    snprintf(addr, sizeof addr, "mem + ((uint64_t)%s + %" PRIu32 "u)", var(e, top(e, 1), a),
             offset);
    e->sp -= 2;
    expand(e->o, op->expr, addr, v, e->index);
    tb_puts(e->o, ";");
    return true;
}

static bool block_type(struct fn_emitter *e, uint32_t *np, const sw_valtype **p, uint32_t *nr,
                       const sw_valtype **r)
{
    static const sw_valtype one[256] = {
        [0x7F] = SW_I32, [0x7E] = SW_I64,     [0x7D] = SW_F32,
        [0x7C] = SW_F64, [0x70] = SW_FUNCREF, [0x6F] = SW_EXTERNREF,
    };
    *np = *nr = 0;
    *p = *r = NULL;
    if (e->r.p >= e->r.end) return fail(e, "unexpected end");
    uint8_t b = *e->r.p;
    if (b == 0x40) {
        e->r.p++;
        return true;
    }
    if (one[b]) {
        e->r.p++;
        *nr = 1;
        *r = &one[b];
        return true;
    }
    int64_t idx;
    if (!rd_sleb(&e->r, 33, &idx) || idx < 0 || (uint64_t)idx >= e->m->ntypes)
        return fail(e, "bad block type");
    const struct ftype *ft = &e->m->types[idx];
    *np = ft->nparams;
    *p = ft->types;
    *nr = ft->nresults;
    *r = ft->types + ft->nparams;
    return true;
}

/* The call's arguments, as a C argument list (", a, b"). */
static void call_args(struct fn_emitter *e, uint32_t base, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char a[16];
        tb_printf(e->o, ", %s", var(e, base + i, a));
    }
}

/* Packs arguments into slots a[], or unpacks results from them. */
static void pack_args(struct fn_emitter *e, uint32_t base, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char a[16];
        tb_printf(e->o, "a[%u] = ", i);
        to_slot(e->o, e->stk[base + i], var(e, base + i, a));
        tb_puts(e->o, "; ");
    }
}

static void unpack_results(struct fn_emitter *e, uint32_t base, uint32_t n, const char *from)
{
    for (uint32_t i = 0; i < n; i++) {
        char a[16], slot[32];
        snprintf(slot, sizeof slot, "%s[%u]", from, i);
        tb_printf(e->o, "%s = ", var(e, base + i, a));
        from_slot(e->o, e->stk[base + i], slot);
        tb_puts(e->o, "; ");
    }
}

/* The C type of a function of type ft, as a pointer type for a cast. */
static void fn_pointer_type(struct text_buffer *o, const struct ftype *ft)
{
    const sw_valtype *res = ft->types + ft->nparams;
    tb_printf(o, "%s (*)(struct sw_native_ctx *%s",
              ft->nresults == 1 ? ctype(class_of(res[0])) : "void",
              ft->nresults > 1 ? ", uint64_t *" : "");
    for (uint32_t i = 0; i < ft->nparams; i++)
        tb_printf(o, ", %s", ctype(class_of(ft->types[i])));
    tb_puts(o, ")");
}

/* call / call_indirect: pops the arguments, pushes the results. `target`
 * is "f12" for a direct call of compiled code, or NULL for a call through
 * slots (`via` is the helper call, with `a` the slots). */
static bool emit_call_direct(struct fn_emitter *e, const struct ftype *ft, const char *target)
{
    uint32_t base = e->sp - ft->nparams;
    const sw_valtype *res = ft->types + ft->nparams;
    if (ft->nresults > 1) tb_printf(e->o, "{ uint64_t r[%u]; ", ft->nresults);
    if (ft->nresults == 1) {
        /* one statement: the arguments are read before the result is set */
        char dst[16];
        tb_printf(e->o, "%s = %s(c", var_of(e, base, class_of(res[0]), dst), target);
    } else {
        tb_printf(e->o, "%s(c%s", target, ft->nresults > 1 ? ", r" : "");
    }
    call_args(e, base, ft->nparams);
    tb_puts(e->o, ");");
    e->sp = base;
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (!push_type(e, res[i])) return false;
    if (ft->nresults > 1) {
        tb_puts(e->o, " ");
        unpack_results(e, base, ft->nresults, "r");
        tb_puts(e->o, "}");
    }
    return true;
}

static bool emit_call_slots(struct fn_emitter *e, const struct ftype *ft, const char *helper)
{
    uint32_t base = e->sp - ft->nparams;
    uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    tb_printf(e->o, "{ uint64_t a[%u]; ", n ? n : 1);
    pack_args(e, base, ft->nparams);
    tb_printf(e->o, "%s; ", helper);
    e->sp = base;
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (!push_type(e, ft->types[ft->nparams + i])) return false;
    unpack_results(e, base, ft->nresults, "a");
    tb_puts(e->o, "}");
    return true;
}

static bool emit_call(struct fn_emitter *e, uint32_t idx)
{
    const sw_module *m = e->m;
    if (idx >= m->nfuncs) return fail(e, "unknown function");
    const struct ftype *ft = &m->types[m->func_types[idx]];
    if (e->sp < ft->nparams) return fail(e, "stack underflow");
    for (uint32_t k = 0; k < ft->nparams; k++)
        sink(e, e->grp[e->sp - 1 - k]);
    boundary(e);
    if (idx < m->nfunc_imports) {
        char helper[96];
        snprintf(helper, sizeof helper, "c->rt->call_index(c, %u, a, %u)", idx, e->index);
        return emit_call_slots(e, ft, helper);
    }
    char name[24];
    snprintf(name, sizeof name, "f%u", idx);
    return emit_call_direct(e, ft, name);
}

static bool emit_call_indirect(struct fn_emitter *e, uint32_t typeidx, uint32_t table)
{
    const sw_module *m = e->m;
    if (typeidx >= m->ntypes || table >= m->ntables) return fail(e, "bad call_indirect");
    const struct ftype *ft = &m->types[typeidx];
    char i[16];
    if (e->sp < ft->nparams + 1) return fail(e, "stack underflow");
    for (uint32_t k = 0; k <= ft->nparams; k++)
        sink(e, e->grp[e->sp - 1 - k]);
    boundary(e);
    var(e, top(e, 0), i);
    e->sp--;
    uint32_t F = e->index;
    tb_printf(e->o,
              "{ struct sw_native_table *T = c->tables[%u]; uint32_t k = %s;"
              "\n    if (SWN_UNLIKELY(k >= T->size)) c->rt->trap(c, SWN_T_UNDEFINED_ELEMENT, %u);"
              "\n    struct sw_native_func *fn = (struct sw_native_func *)(uintptr_t)T->elems[k];"
              "\n    if (SWN_UNLIKELY(!fn)) c->rt->trap_uninitialized(c, k, %u);"
              "\n    if (SWN_UNLIKELY(fn->type != c->types[%u] && !c->rt->type_equal(c, fn->type, "
              "c->types[%u], %u)))"
              "\n        c->rt->trap(c, SWN_T_INDIRECT_TYPE_MISMATCH, %u);"
              "\n    if (SWN_LIKELY(fn->native_ctx == c)) ",
              table, i, F, F, typeidx, typeidx, F, F);
    /* both branches see the same stack: emit one, then put it back */
    uint32_t sp = e->sp;
    struct text_buffer target = {0};
    tb_puts(&target, "((");
    fn_pointer_type(&target, ft);
    tb_puts(&target, ")fn->native)");
    if (target.failed) {
        tb_free(&target);
        e->nomem = true;
        return false;
    }
    tb_puts(e->o, "{ ");
    bool ok = emit_call_direct(e, ft, target.text);
    tb_free(&target);
    if (!ok) return false;
    tb_puts(e->o, " }\n    else ");
    /* the direct call pushed its results: back to the arguments */
    e->sp = sp;
    uint32_t base = sp - ft->nparams;
    for (uint32_t k = 0; k < ft->nparams; k++)
        e->stk[base + k] = class_of(ft->types[k]);
    char helper[96];
    snprintf(helper, sizeof helper, "c->rt->call_ref(c, fn, a, %u)", F);
    if (!emit_call_slots(e, ft, helper)) return false;
    tb_puts(e->o, " }");
    return true;
}

/* The function's results from the top of the stack: `return ...;`. */
static void emit_return(struct fn_emitter *e, const struct ftype *ft)
{
    uint32_t nr = ft->nresults;
    if (nr == 0) {
        tb_puts(e->o, "return;");
    } else if (nr == 1) {
        char a[16];
        tb_printf(e->o, "return %s;", var(e, top(e, 0), a));
    } else {
        for (uint32_t i = 0; i < nr; i++) {
            char a[16], slot[16];
            snprintf(slot, sizeof slot, "res[%u]", i);
            tb_printf(e->o, "%s = ", slot);
            to_slot(e->o, e->stk[e->sp - nr + i], var(e, e->sp - nr + i, a));
            tb_puts(e->o, "; ");
        }
        tb_puts(e->o, "return;");
    }
}

static const struct ftype *func_type(const struct fn_emitter *e)
{
    return &e->m->types[e->m->func_types[e->index]];
}

/* Reads one instruction's immediates; when the code is live, emits it. */
static bool instruction(struct fn_emitter *e, bool *done)
{
    uint8_t op;
    if (!rd_u8(&e->r, &op)) return fail(e, "unexpected end");
    bool dead = cur(e)->dead;
    char a[16], b[16], d[16];
    const sw_module *m = e->m;
    uint32_t F = e->index;
    if (!dead) line(e);
    switch (op) {
    case 0x00: /* unreachable */
        if (dead) return true;
        boundary(e);
        tb_printf(e->o, "c->rt->trap(c, SWN_T_UNREACHABLE, %u);", F);
        set_dead(e);
        return true;
    case 0x01: return true;
    case 0x02:
    case 0x03:
    case 0x04: {
        uint32_t np, nr;
        const sw_valtype *p, *r;
        if (!block_type(e, &np, &p, &nr, &r)) return false;
        if (dead) {
            e->skip++;
            return true;
        }
        if (op == 0x04) {
            sink(e, e->grp[top(e, 0)]);
            var(e, top(e, 0), a);
            e->sp--;
        }
        boundary(e);
        if (!push_ctl(e, op == 0x02 ? K_BLOCK : op == 0x03 ? K_LOOP : K_IF, np, p, nr, r))
            return false;
        struct ectl *c = cur(e);
        if (op == 0x03)
            tb_printf(e->o, "L%ut:;", c->label);
        else if (op == 0x04)
            tb_printf(e->o, "if (!%s) goto L%ue;", a, c->label);
        return true;
    }
    case 0x05: { /* else */
        if (e->skip) return true;
        struct ectl *c = cur(e);
        if (c->kind != K_IF) return fail(e, "else outside if");
        boundary(e);
        if (!c->dead) {
            line(e);
            tb_printf(e->o, "goto L%u;", c->label);
            c->reached_end = true;
        }
        line(e);
        tb_printf(e->o, "L%ue:;", c->label);
        c->has_else = true;
        c->dead = false;
        e->sp = c->height;
        for (uint32_t i = 0; i < c->np; i++)
            if (!push_type(e, c->p[i])) return false;
        return true;
    }
    case 0x0B: { /* end */
        if (e->skip) {
            e->skip--;
            return true;
        }
        boundary(e);
        struct ectl *c = cur(e);
        if (c->kind == K_IF && !c->has_else) {
            line(e);
            tb_printf(e->o, "L%ue:;", c->label);
            c->reached_end = true;
        }
        bool reachable = !c->dead || c->reached_end;
        line(e);
        tb_printf(e->o, "L%u:;", c->label);
        e->sp = c->height;
        for (uint32_t i = 0; i < c->nr; i++)
            if (!push_type(e, c->r[i])) return false;
        if (c->kind == K_FUNC) {
            e->nctls--;
            *done = true;
            if (reachable) {
                line(e);
                emit_return(e, func_type(e));
            }
            return true;
        }
        e->nctls--;
        cur(e)->dead = !reachable;
        return true;
    }
    case 0x0C:
    case 0x0D: {
        uint32_t depth;
        if (!rd_u32(&e->r, &depth)) return fail(e, "bad label");
        if (dead) return true;
        if (depth >= e->nctls) return fail(e, "unknown label");
        if (op == 0x0D) {
            sink(e, e->grp[top(e, 0)]);
            tb_printf(e->o, "if (%s) { ", var(e, top(e, 0), a));
            e->sp--;
            boundary(e);
            branch(e, depth);
            tb_puts(e->o, " }");
            return true;
        }
        boundary(e);
        branch(e, depth);
        set_dead(e);
        return true;
    }
    case 0x0E: {
        uint32_t n;
        if (!rd_u32(&e->r, &n)) return fail(e, "bad br_table");
        if (n > rd_left(&e->r)) return fail(e, "bad br_table");
        if (!grow((void **)&e->labels, &e->caplabels, n + 1, sizeof *e->labels)) {
            e->nomem = true;
            return false;
        }
        for (uint32_t i = 0; i <= n; i++)
            if (!rd_u32(&e->r, &e->labels[i]) || e->labels[i] >= e->nctls)
                return fail(e, "bad br_table");
        if (dead) return true;
        sink(e, e->grp[top(e, 0)]);
        tb_printf(e->o, "switch (%s) {", var(e, top(e, 0), a));
        e->sp--;
        boundary(e);
        for (uint32_t i = 0; i <= n; i++) {
            if (i < n)
                tb_printf(e->o, "\n    case %u: ", i);
            else
                tb_puts(e->o, "\n    default: ");
            branch(e, e->labels[i]);
        }
        tb_puts(e->o, "\n    }");
        set_dead(e);
        return true;
    }
    case 0x0F:
        if (dead) return true;
        boundary(e);
        emit_return(e, func_type(e));
        set_dead(e);
        return true;
    case 0x10: {
        uint32_t idx;
        if (!rd_u32(&e->r, &idx)) return fail(e, "bad call");
        if (dead) return true;
        return emit_call(e, idx);
    }
    case 0x11: {
        uint32_t typeidx, table;
        if (!rd_u32(&e->r, &typeidx) || !rd_u32(&e->r, &table)) return fail(e, "bad call");
        if (dead) return true;
        return emit_call_indirect(e, typeidx, table);
    }
    case 0x1A:
        if (dead) return true;
        keep(e, e->grp[top(e, 0)]);
        e->sp--;
        return true;
    case 0x1B:
    case 0x1C: {
        if (op == 0x1C) {
            uint32_t n;
            uint8_t t;
            if (!rd_u32(&e->r, &n) || n != 1 || !rd_u8(&e->r, &t)) return fail(e, "bad select");
        }
        if (dead) return true;
        char cc[16];
        sink(e, e->grp[top(e, 0)]);
        keep(e, e->grp[top(e, 1)]);
        keep(e, e->grp[top(e, 2)]);
        var(e, top(e, 0), cc);
        var(e, top(e, 1), b);
        var(e, top(e, 2), a);
        tb_printf(e->o, "%s = %s ? %s : %s;", a, cc, a, b);
        e->sp -= 2;
        set_group(e, top(e, 0), 0);
        return true;
    }
    case 0x20:
    case 0x21:
    case 0x22: {
        uint32_t x;
        if (!rd_u32(&e->r, &x) || x >= e->nlocals) return fail(e, "bad local");
        if (dead) return true;
        if (op == 0x20) {
            if (!push_type(e, e->locals[x])) return false;
            set_group(e, top(e, 0), e->analysing ? e->lgrp[x] : 0);
            tb_printf(e->o, "%s = l%u;", var(e, top(e, 0), d), x);
            return true;
        }
        if (e->analysing) {
            if (pending(e, e->lgrp[x])) keep(e, e->lgrp[x]); /* overwritten unused */
            e->lgrp[x] = e->grp[top(e, 0)];
            if (e->lgrp[x]) hold(e, x | HOLDER_LOCAL);
        }
        tb_printf(e->o, "l%u = %s;", x, var(e, top(e, 0), a));
        if (op == 0x21) e->sp--;
        return true;
    }
    case 0x23:
    case 0x24: {
        uint32_t x;
        if (!rd_u32(&e->r, &x) || x >= m->nglobals) return fail(e, "bad global");
        if (dead) return true;
        e->globals_used[x] = 1;
        char slot[24];
        snprintf(slot, sizeof slot, "*g%u", x);
        char cls = class_of(m->globals[x].type);
        if (op == 0x23) {
            if (!push(e, cls)) return false;
            tb_printf(e->o, "%s = ", var(e, top(e, 0), d));
            from_slot(e->o, cls, slot);
            tb_puts(e->o, ";");
            return true;
        }
        sink(e, e->grp[top(e, 0)]);
        tb_printf(e->o, "*g%u = ", x);
        to_slot(e->o, cls, var(e, top(e, 0), a));
        tb_puts(e->o, ";");
        e->sp--;
        return true;
    }
    case 0x25:
    case 0x26: {
        uint32_t t;
        if (!rd_u32(&e->r, &t) || t >= m->ntables) return fail(e, "bad table");
        if (dead) return true;
        sink(e, e->grp[top(e, 0)]);
        if (op == 0x26) sink(e, e->grp[top(e, 1)]);
        if (op == 0x25) {
            var(e, top(e, 0), a);
            e->sp--;
            if (!push(e, 'r')) return false;
            tb_printf(e->o,
                      "{ struct sw_native_table *T = c->tables[%u]; if (SWN_UNLIKELY(%s >= "
                      "T->size)) c->rt->trap(c, SWN_T_TABLE_OOB, %u); %s = T->elems[%s]; }",
                      t, a, F, var(e, top(e, 0), d), a);
            return true;
        }
        var(e, top(e, 0), b);
        var(e, top(e, 1), a);
        e->sp -= 2;
        tb_printf(e->o,
                  "{ struct sw_native_table *T = c->tables[%u]; if (SWN_UNLIKELY(%s >= T->size)) "
                  "c->rt->trap(c, SWN_T_TABLE_OOB, %u); T->elems[%s] = %s; }",
                  t, a, F, a, b);
        return true;
    }
    case 0x3F:
    case 0x40: {
        uint8_t zero;
        if (!rd_u8(&e->r, &zero)) return fail(e, "bad memory instruction");
        if (dead) return true;
        if (op == 0x3F) {
            if (!push(e, 'i')) return false;
            tb_printf(e->o, "%s = c->memory->pages;", var(e, top(e, 0), d));
            return true;
        }
        sink(e, e->grp[top(e, 0)]);
        set_group(e, top(e, 0), 0);
        var(e, top(e, 0), a);
        tb_printf(e->o, "%s = c->rt->memory_grow(c, %s, %u);", a, a, F);
        return true;
    }
    case 0x41:
    case 0x42: {
        int64_t v;
        if (!rd_sleb(&e->r, op == 0x41 ? 32 : 64, &v)) return fail(e, "bad constant");
        if (dead) return true;
        if (!push(e, op == 0x41 ? 'i' : 'j')) return false;
        e->cst[top(e, 0)] = 1;
        e->kv[top(e, 0)] = op == 0x41 ? (uint32_t)v : (uint64_t)v;
        if (op == 0x41)
            tb_printf(e->o, "%s = %" PRIu32 "u;", var(e, top(e, 0), d), (uint32_t)v);
        else
            tb_printf(e->o, "%s = %" PRIu64 "ull;", var(e, top(e, 0), d), (uint64_t)v);
        return true;
    }
    case 0x43:
    case 0x44: {
        const uint8_t *p;
        size_t n = op == 0x43 ? 4 : 8;
        if (!rd_bytes(&e->r, n, &p)) return fail(e, "bad constant");
        if (dead) return true;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v |= (uint64_t)p[i] << (8 * i);
        if (!push(e, op == 0x43 ? 'f' : 'd')) return false;
        if (op == 0x43)
            tb_printf(e->o, "%s = swn_f32k(0x%08" PRIx32 "u);", var(e, top(e, 0), d), (uint32_t)v);
        else
            tb_printf(e->o, "%s = swn_f64k(0x%016" PRIx64 "ull);", var(e, top(e, 0), d), v);
        return true;
    }
    case 0xD0: {
        uint8_t t;
        if (!rd_u8(&e->r, &t)) return fail(e, "bad ref.null");
        if (dead) return true;
        if (!push(e, 'r')) return false;
        tb_printf(e->o, "%s = 0;", var(e, top(e, 0), d));
        return true;
    }
    case 0xD1:
        if (dead) return true;
        var(e, top(e, 0), a);
        uint32_t g = e->grp[top(e, 0)];
        e->sp--;
        if (!push(e, 'i')) return false;
        set_group(e, top(e, 0), g);
        tb_printf(e->o, "%s = (uint32_t)(%s == 0);", var(e, top(e, 0), d), a);
        return true;
    case 0xD2: {
        uint32_t x;
        if (!rd_u32(&e->r, &x) || x >= m->nfuncs) return fail(e, "bad ref.func");
        if (dead) return true;
        if (!push(e, 'r')) return false;
        tb_printf(e->o, "%s = (uint64_t)(uintptr_t)c->funcs[%u];", var(e, top(e, 0), d), x);
        return true;
    }
    case 0xFC: {
        uint32_t sub, x = 0, y = 0;
        if (!rd_u32(&e->r, &sub)) return fail(e, "bad 0xFC instruction");
        uint8_t zero;
        bool ok = true;
        switch (sub) {
        case 8: ok = rd_u32(&e->r, &x) && rd_u8(&e->r, &zero); break;
        case 9:
        case 13:
        case 15:
        case 16:
        case 17: ok = rd_u32(&e->r, &x); break;
        case 10: ok = rd_u8(&e->r, &zero) && rd_u8(&e->r, &zero); break;
        case 11: ok = rd_u8(&e->r, &zero); break;
        case 12:
        case 14: ok = rd_u32(&e->r, &x) && rd_u32(&e->r, &y); break;
        default: ok = sub <= 7; break;
        }
        if (!ok) return fail(e, "bad 0xFC instruction");
        if (dead) return true;
        if (sub <= 7) return emit_numeric(e, &saturating_ops[sub], 0);
        char n[16];
        if (sub == 9) {
            tb_printf(e->o, "c->rt->data_drop(c, %u, %u);", x, F);
            return true;
        }
        if (sub == 13) {
            tb_printf(e->o, "c->rt->elem_drop(c, %u, %u);", x, F);
            return true;
        }
        if (sub == 16) {
            if (!push(e, 'i')) return false;
            tb_printf(e->o, "%s = c->tables[%u]->size;", var(e, top(e, 0), d), x);
            return true;
        }
        if (sub == 15) { /* table.grow: init, n -> old size */
            sink(e, e->grp[top(e, 0)]);
            sink(e, e->grp[top(e, 1)]);
            var(e, top(e, 0), n);
            var(e, top(e, 1), a);
            e->sp -= 2;
            if (!push(e, 'i')) return false;
            tb_printf(e->o, "%s = c->rt->table_grow(c, %u, %s, %s, %u);", var(e, top(e, 0), d), x,
                      a, n, F);
            return true;
        }
        /* three operands: destination/index, source/value, count */
        for (uint32_t k = 0; k < 3; k++)
            sink(e, e->grp[top(e, k)]);
        var(e, top(e, 0), n);
        var(e, top(e, 1), b);
        var(e, top(e, 2), a);
        e->sp -= 3;
        switch (sub) {
        case 8: tb_printf(e->o, "c->rt->memory_init(c, %u, %s, %s, %s, %u);", x, a, b, n, F); break;
        case 10: tb_printf(e->o, "c->rt->memory_copy(c, %s, %s, %s, %u);", a, b, n, F); break;
        case 11: tb_printf(e->o, "c->rt->memory_fill(c, %s, %s, %s, %u);", a, b, n, F); break;
        case 12:
            tb_printf(e->o, "c->rt->table_init(c, %u, %u, %s, %s, %s, %u);", y, x, a, b, n, F);
            break;
        case 14:
            tb_printf(e->o, "c->rt->table_copy(c, %u, %u, %s, %s, %s, %u);", x, y, a, b, n, F);
            break;
        case 17: tb_printf(e->o, "c->rt->table_fill(c, %u, %s, %s, %s, %u);", x, a, b, n, F); break;
        }
        return true;
    }
    default: break;
    }
    if (op >= 0x28 && op <= 0x3E) {
        uint32_t align, offset;
        if (!rd_u32(&e->r, &align) || !rd_u32(&e->r, &offset)) return fail(e, "bad memarg");
        if (dead) return true;
        return emit_memory(e, op, offset);
    }
    if (op >= 0x45 && op <= 0xC4) {
        if (dead) return true;
        return emit_numeric(e, &numeric_ops[op - 0x45], op);
    }
    return fail(e, "unknown instruction");
}

/* The parameter list of function `idx`'s C definition. */
static void fn_params(struct text_buffer *o, const struct ftype *ft)
{
    tb_puts(o, "(struct sw_native_ctx *c");
    if (ft->nresults > 1) tb_puts(o, ", uint64_t *res");
    for (uint32_t i = 0; i < ft->nparams; i++)
        tb_printf(o, ", %s l%u", ctype(class_of(ft->types[i])), i);
    tb_puts(o, ")");
}

static const char *fn_return_type(const struct ftype *ft)
{
    return ft->nresults == 1 ? ctype(class_of(ft->types[ft->nparams])) : "void";
}

/* One pass over function defidx's body, its C into `body`. */
static bool emit_body(const sw_module *m, uint32_t defidx, struct fn_emitter *e,
                      struct text_buffer *body)
{
    const struct mod_func *mf = &m->funcs[defidx];
    const struct ftype *ft = &m->types[mf->typeidx];
    e->m = m;
    e->index = m->nfunc_imports + defidx;
    e->o = body;
    e->r = (struct reader){.base = m->bytes,
                           .p = m->bytes + mf->body_at,
                           .end = m->bytes + mf->body_at + mf->body_len};
    e->sp = 0;
    e->max_depth = 0;
    e->nctls = 0;
    e->next_label = 0;
    e->skip = 0;
    e->uses_mem = false;
    e->bad = NULL;
    e->nloads = 0;
    e->nholders = 0;
    memset(e->globals_used, 0, m->nglobals + 1);
    if (e->capused) memset(e->used, 0, e->capused);

    /* locals: parameters, then the declared groups */
    uint32_t ngroups;
    uint64_t total = ft->nparams;
    bool ok = rd_u32(&e->r, &ngroups);
    const uint8_t *groups = e->r.p;
    for (uint32_t i = 0; ok && i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        ok = rd_u32(&e->r, &n) && rd_u8(&e->r, &t);
        total += n;
        if (total > 1000000) ok = false;
    }
    if (ok) {
        sw_valtype *l = realloc(e->locals, (size_t)(total + 1) * sizeof *e->locals);
        uint32_t *g = realloc(e->lgrp, (size_t)(total + 1) * sizeof *e->lgrp);
        if (l) e->locals = l;
        if (g) e->lgrp = g;
        if (!l || !g) {
            e->nomem = true;
            ok = false;
        } else {
            memset(e->lgrp, 0, (size_t)(total + 1) * sizeof *e->lgrp);
        }
    }
    if (ok) {
        memcpy(e->locals, ft->types, ft->nparams * sizeof *e->locals);
        e->nlocals = ft->nparams;
        e->nparams = ft->nparams;
        e->r.p = groups;
        for (uint32_t i = 0; i < ngroups; i++) {
            uint32_t n;
            uint8_t t;
            rd_u32(&e->r, &n);
            rd_u8(&e->r, &t);
            for (uint32_t k = 0; k < n; k++)
                e->locals[e->nlocals++] = (sw_valtype)t;
        }
        ok = push_ctl(e, K_FUNC, 0, NULL, ft->nresults, ft->types + ft->nparams);
    }
    bool done = false;
    while (ok && !done)
        ok = instruction(e, &done);
    boundary(e); /* what the locals hold at the end was never used */
    return ok && !body->failed && !e->nomem;
}

/* One function: the dead-load pass, then its definition into o. */
static bool emit_function(const sw_module *m, uint32_t defidx, struct text_buffer *o,
                          struct fn_emitter *e, char *why, size_t cap)
{
    const struct ftype *ft = &m->types[m->funcs[defidx].typeidx];
    struct text_buffer scratch = {0}, body = {0};
    e->analysing = true;
    bool ok = emit_body(m, defidx, e, &scratch);
    tb_free(&scratch);
    if (ok) {
        uint32_t capkeep = e->capkeep;
        if (!grow((void **)&e->keep, &capkeep, e->nloads + 1, 1)) {
            e->nomem = true;
            ok = false;
        }
        e->capkeep = capkeep;
        for (uint32_t i = 0; ok && i < e->nloads; i++)
            e->keep[i] = e->uf_keep[find(e, i + 1)];
    }
    e->analysing = false;
    if (ok) ok = emit_body(m, defidx, e, &body);
    if (!ok) {
        tb_free(&body);
        if (e->nomem || body.failed) return false;
        snprintf(why, cap, "func[%u]: %s", e->index, e->bad ? e->bad : "cannot translate");
        return false;
    }

    /* the definition: signature, context, locals, stack variables, body */
    tb_printf(o, "\nstatic %s f%u", fn_return_type(ft), e->index);
    fn_params(o, ft);
    tb_puts(o, "\n{\n");
    if (e->uses_mem) tb_puts(o, "    uint8_t *const mem = c->mem;\n");
    for (uint32_t g = 0; g < m->nglobals; g++)
        if (e->globals_used[g]) tb_printf(o, "    uint64_t *const g%u = c->globals[%u];\n", g, g);
    for (uint32_t i = ft->nparams; i < e->nlocals; i++) {
        char cls = class_of(e->locals[i]);
        tb_printf(o, "    %s l%u = 0;\n", ctype(cls), i);
    }
    static const char classes[] = "ijfdr";
    for (uint32_t dep = 0; dep < e->max_depth; dep++)
        for (int k = 0; k < 5; k++)
            if (e->used[dep] & class_bit(classes[k]))
                tb_printf(o, "    %s s%u%c = 0;\n", ctype(classes[k]), dep, classes[k]);
    tb_append(o, body.text ? body.text : "", body.len);
    tb_puts(o, "\n}\n");
    tb_free(&body);
    return !o->failed;
}

/* The uniform entry of function idx: arguments from slots, results back. */
static void emit_trampoline(struct text_buffer *o, uint32_t idx, const struct ftype *ft)
{
    tb_printf(o, "static void t%u(struct sw_native_ctx *c, uint64_t *s)\n{\n    ", idx);
    if (ft->nresults > 1) tb_printf(o, "uint64_t r[%u];\n    ", ft->nresults);
    if (ft->nresults == 1) {
        tb_printf(o, "%s v = ", ctype(class_of(ft->types[ft->nparams])));
    }
    tb_printf(o, "f%u(c%s", idx, ft->nresults > 1 ? ", r" : "");
    for (uint32_t i = 0; i < ft->nparams; i++) {
        char slot[24];
        snprintf(slot, sizeof slot, "s[%u]", i);
        tb_puts(o, ", ");
        from_slot(o, class_of(ft->types[i]), slot);
    }
    tb_puts(o, ");\n");
    if (ft->nresults == 1) {
        tb_puts(o, "    s[0] = ");
        to_slot(o, class_of(ft->types[ft->nparams]), "v");
        tb_puts(o, ";\n");
    }
    for (uint32_t i = 0; ft->nresults > 1 && i < ft->nresults; i++)
        tb_printf(o, "    s[%u] = r[%u];\n", i, i);
    tb_puts(o, "}\n");
}

sw_status aot_emit_c(const sw_module *m, const uint8_t sha256[32], char **text, size_t *len,
                     char *why, size_t cap)
{
    *text = NULL;
    *len = 0;
    snprintf(why, cap, "out of memory");
    struct text_buffer o = {0};
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    tb_puts(&o, "/* Generated by Stratus (the compiled tier) from a WebAssembly module. */\n");
    tb_puts(&o, aot_abi_text);
    static const struct {
        const char *name;
        sw_trap value;
    } traps[] = {
        {"UNREACHABLE", SW_TRAP_UNREACHABLE},
        {"MEMORY_OOB", SW_TRAP_MEMORY_OOB},
        {"TABLE_OOB", SW_TRAP_TABLE_OOB},
        {"DIV_ZERO", SW_TRAP_DIV_ZERO},
        {"INT_OVERFLOW", SW_TRAP_INT_OVERFLOW},
        {"INVALID_CONVERSION", SW_TRAP_INVALID_CONVERSION},
        {"INDIRECT_TYPE_MISMATCH", SW_TRAP_INDIRECT_TYPE_MISMATCH},
        {"UNDEFINED_ELEMENT", SW_TRAP_UNDEFINED_ELEMENT},
        {"STACK_EXHAUSTED", SW_TRAP_STACK_EXHAUSTED},
    };
    for (size_t i = 0; i < sizeof traps / sizeof traps[0]; i++)
        tb_printf(&o, "#define SWN_T_%s %d\n", traps[i].name, (int)traps[i].value);
    tb_puts(&o, aot_prelude_text);

    /* prototypes first: functions call each other in any order */
    tb_puts(&o, "\n");
    for (uint32_t i = 0; i < ndef; i++) {
        const struct ftype *ft = &m->types[m->funcs[i].typeidx];
        tb_printf(&o, "static %s f%u", fn_return_type(ft), m->nfunc_imports + i);
        fn_params(&o, ft);
        tb_puts(&o, ";\n");
    }
    struct fn_emitter e;
    memset(&e, 0, sizeof e);
    e.globals_used = calloc(m->nglobals + 1, 1);
    sw_status st = e.globals_used ? SW_OK : SW_ERR_NOMEM;
    for (uint32_t i = 0; st == SW_OK && i < ndef; i++) {
        if (!emit_function(m, i, &o, &e, why, cap))
            st = (e.nomem || o.failed) ? SW_ERR_NOMEM : SW_ERR_INVALID;
    }
    for (uint32_t i = 0; st == SW_OK && i < ndef; i++)
        emit_trampoline(&o, m->nfunc_imports + i, &m->types[m->funcs[i].typeidx]);
    if (st == SW_OK) {
        tb_printf(&o, "\nstatic const void *const swn_entries[%u] = {", ndef + 1);
        for (uint32_t i = 0; i < ndef; i++)
            tb_printf(&o, "%s(const void *)f%u,", i % 8 ? " " : "\n    ", m->nfunc_imports + i);
        tb_printf(&o, "\n};\nstatic const sw_native_trampoline swn_trampolines[%u] = {", ndef + 1);
        for (uint32_t i = 0; i < ndef; i++)
            tb_printf(&o, "%st%u,", i % 8 ? " " : "\n    ", m->nfunc_imports + i);
        tb_puts(&o, "\n};\n__attribute__((visibility(\"default\"))) const struct sw_native_module "
                    "stratus_native_module = {\n    SW_NATIVE_ABI_VERSION, ");
        tb_printf(&o, "%u,\n    {", ndef);
        for (int i = 0; i < 32; i++)
            tb_printf(&o, "%s0x%02x", i ? ", " : "", sha256[i]);
        tb_puts(&o, "},\n    swn_entries,\n    swn_trampolines,\n};\n");
    }
    free(e.globals_used);
    free(e.locals);
    free(e.lgrp);
    free(e.uf);
    free(e.uf_keep);
    free(e.uf_resolved);
    free(e.keep);
    free(e.grp);
    free(e.cst);
    free(e.kv);
    free(e.holders);
    free(e.stk);
    free(e.used);
    free(e.ctls);
    free(e.labels);
    if (st == SW_OK && o.failed) st = SW_ERR_NOMEM;
    if (st != SW_OK) {
        tb_free(&o);
        return st;
    }
    *text = tb_take(&o, len);
    why[0] = '\0';
    return SW_OK;
}
