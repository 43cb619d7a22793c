/* Function-body validation and translation, in one pass.
 *
 * The validator follows the spec's algorithm (operand type stack plus control
 * stack, with stack polymorphism after unreachable/br/return). While it
 * checks, it emits register-style internal code: since the operand-stack
 * depth is static, every operand has a frame slot known now (locals first,
 * then one slot per stack depth), and each instruction names its operand and
 * result slots, e.g. [i32.add, dst, a, b]. There is no runtime stack pointer.
 *
 * Two cheap tricks remove most moves: `local.get x` emits nothing and lets
 * the stack entry point at local x's slot until something needs it in its own
 * slot (a write to x, a block boundary, a branch, a call), and `local.set x`
 * right after an instruction that produced the value retargets that
 * instruction's result slot to x. Branch targets are resolved to code
 * positions (forward ones patched at `end`); each branch carries where its
 * values are, where they go, and how many.
 *
 * For opcode counting a second translation is made with both tricks off and
 * markers for nop/block/drop, so every wasm instruction executes as one
 * counted internal instruction (except block `end`s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reader.h"

#define MAX_LOCALS 50000
#define UNKNOWN 0 /* type of a value popped from a polymorphic stack */

enum ctl_kind { CTL_BLOCK, CTL_LOOP, CTL_IF, CTL_ELSE };

struct ctl {
    enum ctl_kind kind;
    uint32_t nparams, nresults;
    const sw_valtype *params, *results;
    uint32_t height; /* operand stack height below the block's params */
    bool unreachable;
    uint32_t loop_pc;    /* loop: code position of its LOOP op */
    uint32_t patch;      /* chain of forward target words (position + 1), 0 = none */
    uint32_t else_patch; /* if: position + 1 of the BR_UNLESS target word */
};

struct tr {
    sw_module *m;
    struct reader r;
    bool counting; /* the counting translation: no deferral, markers */
    sw_valtype *locals;
    uint32_t nlocals;
    uint8_t *vals;  /* operand types */
    uint32_t *locs; /* slot where each operand currently lives */
    uint32_t nvals, capvals;
    struct ctl *ctls;
    uint32_t nctls, capctls;
    uint32_t *code;
    size_t ncode, capcode;
    uint32_t max_vals;
    size_t last_dst;     /* position + 1 of the result-slot word of the previous
                            instruction, if it produced the stack top; else 0 */
    size_t cur_start;    /* code position where the current instruction starts */
    size_t prev_start;   /* ... and where the previous one started */
    size_t op_at;        /* offset of the instruction being validated */
    const char *invalid; /* validation error; r.error holds malformed ones */
    char why[64];        /* storage for a formatted `invalid` */
    size_t invalid_at;
    bool nomem;
};

static const sw_valtype one_type[256] = {
    [0x7F] = SW_I32, [0x7E] = SW_I64,     [0x7D] = SW_F32,
    [0x7C] = SW_F64, [0x70] = SW_FUNCREF, [0x6F] = SW_EXTERNREF,
};

static bool fail(struct tr *t, const char *why)
{
    if (!t->invalid && !t->r.error) {
        t->invalid = why;
        t->invalid_at = t->op_at;
    }
    return false;
}

/* "unknown local 7": the spec's wording names the index. */
static bool fail_idx(struct tr *t, const char *what, uint32_t idx)
{
    if (t->invalid || t->r.error) return false;
    snprintf(t->why, sizeof t->why, "%s %u", what, idx);
    return fail(t, t->why);
}

static bool ok(struct tr *t)
{
    return !t->invalid && !t->r.error && !t->nomem;
}

static bool emit(struct tr *t, uint32_t w)
{
    if (t->ncode == t->capcode) {
        size_t cap = t->capcode ? t->capcode * 2 : 64;
        uint32_t *c = realloc(t->code, cap * sizeof *c);
        if (!c) {
            t->nomem = true;
            return fail(t, "out of memory");
        }
        t->code = c;
        t->capcode = cap;
    }
    t->code[t->ncode++] = w;
    return true;
}

static bool emit64(struct tr *t, uint64_t v)
{
    return emit(t, (uint32_t)v) && emit(t, (uint32_t)(v >> 32));
}

/* Emits a result-slot word and remembers it for the local.set retargeting. */
static bool emit_dst(struct tr *t, uint32_t slot)
{
    if (!emit(t, slot)) return false;
    t->last_dst = t->ncode;
    return true;
}

static uint32_t canon(const struct tr *t, uint32_t depth)
{
    return t->nlocals + depth;
}

static bool push_at(struct tr *t, uint8_t type, uint32_t loc)
{
    if (t->nvals == t->capvals) {
        uint32_t cap = t->capvals ? t->capvals * 2 : 64;
        uint8_t *v = realloc(t->vals, cap);
        if (v) t->vals = v;
        uint32_t *l = realloc(t->locs, cap * sizeof *l);
        if (l) t->locs = l;
        if (!v || !l) {
            t->nomem = true;
            return fail(t, "out of memory");
        }
        t->capvals = cap;
    }
    t->vals[t->nvals] = type;
    t->locs[t->nvals] = loc;
    t->nvals++;
    if (t->nvals > t->max_vals) t->max_vals = t->nvals;
    return true;
}

static bool push(struct tr *t, uint8_t type)
{
    return push_at(t, type, canon(t, t->nvals));
}

/* Pops one value of any type; *got receives its type, *loc its slot. */
static bool pop_loc(struct tr *t, uint8_t *got, uint32_t *loc)
{
    struct ctl *c = &t->ctls[t->nctls - 1];
    if (t->nvals == c->height) {
        if (c->unreachable) {
            *got = UNKNOWN;
            *loc = canon(t, t->nvals);
            return true;
        }
        return fail(t, "type mismatch");
    }
    t->nvals--;
    *got = t->vals[t->nvals];
    *loc = t->locs[t->nvals];
    return true;
}

static bool pop_any(struct tr *t, uint8_t *got)
{
    uint32_t loc;
    return pop_loc(t, got, &loc);
}

/* Pops a value of type `want` (0 = any) and gives its slot. */
static bool pop_at(struct tr *t, uint8_t want, uint32_t *loc)
{
    uint8_t got;
    if (!pop_loc(t, &got, loc)) return false;
    if (got != want && got != UNKNOWN && want != UNKNOWN) return fail(t, "type mismatch");
    return true;
}

static bool pop(struct tr *t, uint8_t want)
{
    uint32_t loc;
    return pop_at(t, want, &loc);
}

static bool pop_n(struct tr *t, uint32_t n, const sw_valtype *types)
{
    for (uint32_t i = n; i-- > 0;)
        if (!pop(t, (uint8_t)types[i])) return false;
    return true;
}

static bool push_n(struct tr *t, uint32_t n, const sw_valtype *types)
{
    for (uint32_t i = 0; i < n; i++)
        if (!push(t, (uint8_t)types[i])) return false;
    return true;
}

/* Moves every deferred operand into its own slot. */
static bool materialize_all(struct tr *t)
{
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (t->locs[i] != canon(t, i)) {
            if (!emit(t, OP_MOV) || !emit(t, canon(t, i)) || !emit(t, t->locs[i])) return false;
            t->locs[i] = canon(t, i);
        }
    }
    return true;
}

/* Before local x changes: operands still reading x get their own copy. */
static bool materialize_local(struct tr *t, uint32_t x, bool *had)
{
    *had = false;
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (t->locs[i] == x) {
            *had = true;
            if (!emit(t, OP_MOV) || !emit(t, canon(t, i)) || !emit(t, x)) return false;
            t->locs[i] = canon(t, i);
        }
    }
    return true;
}

static bool is_num(uint8_t ty)
{
    return ty == SW_I32 || ty == SW_I64 || ty == SW_F32 || ty == SW_F64;
}

static bool is_ref(uint8_t ty)
{
    return ty == SW_FUNCREF || ty == SW_EXTERNREF;
}

static bool push_ctl(struct tr *t, enum ctl_kind kind, uint32_t np, const sw_valtype *p,
                     uint32_t nr, const sw_valtype *r)
{
    if (t->nctls == t->capctls) {
        uint32_t cap = t->capctls ? t->capctls * 2 : 16;
        struct ctl *c = realloc(t->ctls, cap * sizeof *c);
        if (!c) {
            t->nomem = true;
            return fail(t, "out of memory");
        }
        t->ctls = c;
        t->capctls = cap;
    }
    struct ctl *c = &t->ctls[t->nctls++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->nparams = np;
    c->params = p;
    c->nresults = nr;
    c->results = r;
    c->height = t->nvals;
    return true;
}

static void set_unreachable(struct tr *t)
{
    struct ctl *c = &t->ctls[t->nctls - 1];
    t->nvals = c->height;
    c->unreachable = true;
}

static void patch_chain(struct tr *t, uint32_t chain, uint32_t target)
{
    while (chain) {
        uint32_t next = t->code[chain - 1];
        t->code[chain - 1] = target;
        chain = next;
    }
}

static void label_types(struct ctl *c, uint32_t *n, const sw_valtype **types)
{
    if (c->kind == CTL_LOOP) {
        *n = c->nparams;
        *types = c->params;
    } else {
        *n = c->nresults;
        *types = c->results;
    }
}

/* Emits target and destination-slot words for a branch to `c`. */
static bool emit_branch_target(struct tr *t, struct ctl *c)
{
    if (c->kind == CTL_LOOP) {
        if (!emit(t, c->loop_pc)) return false;
    } else {
        if (!emit(t, c->patch)) return false;
        c->patch = (uint32_t)t->ncode; /* position + 1 of the word just written */
    }
    return emit(t, canon(t, c->height));
}

static bool read_blocktype(struct tr *t, uint32_t *np, const sw_valtype **p, uint32_t *nr,
                           const sw_valtype **r)
{
    if (t->r.p >= t->r.end) return rd_fail(&t->r, "unexpected end");
    uint8_t b = *t->r.p;
    *np = 0;
    *p = NULL;
    if (b == 0x40) {
        t->r.p++;
        *nr = 0;
        *r = NULL;
        return true;
    }
    if (one_type[b]) {
        t->r.p++;
        *nr = 1;
        *r = &one_type[b];
        return true;
    }
    if (b == 0x7B) return fail(t, "SIMD not supported");
    int64_t idx;
    if (!rd_sleb(&t->r, 33, &idx)) return false;
    if (idx < 0) return rd_fail(&t->r, "malformed value type");
    if ((uint64_t)idx >= t->m->ntypes) return fail_idx(t, "unknown type", (uint32_t)idx);
    const struct ftype *ft = &t->m->types[idx];
    *np = ft->nparams;
    *p = ft->types;
    *nr = ft->nresults;
    *r = ft->types + ft->nparams;
    return true;
}

static bool read_memarg(struct tr *t, uint32_t natural_log2, uint32_t *offset)
{
    uint32_t align;
    if (!rd_u32(&t->r, &align) || !rd_u32(&t->r, offset)) return false;
    if (t->m->nmemories == 0) return fail_idx(t, "unknown memory", 0);
    if (align > natural_log2) return fail(t, "alignment must not be larger than natural");
    return true;
}

static bool zero_byte(struct tr *t)
{
    uint8_t b;
    if (!rd_u8(&t->r, &b)) return false;
    if (b != 0) return rd_fail(&t->r, "zero byte expected");
    return true;
}

/* Signature of simple numeric opcodes: operands a, b (0 = none) and result. */
static void numeric_sig(uint8_t op, uint8_t *a, uint8_t *b, uint8_t *res)
{
    const uint8_t I = SW_I32, L = SW_I64, F = SW_F32, D = SW_F64;
    *a = *b = 0;
    if (op == 0x45) {
        *a = I;
        *res = I;
    } else if (op <= 0x4F) {
        *a = *b = *res = I;
    } else if (op == 0x50) {
        *a = L;
        *res = I;
    } else if (op <= 0x5A) {
        *a = *b = L;
        *res = I;
    } else if (op <= 0x60) {
        *a = *b = F;
        *res = I;
    } else if (op <= 0x66) {
        *a = *b = D;
        *res = I;
    } else if (op <= 0x69) {
        *a = *res = I;
    } else if (op <= 0x78) {
        *a = *b = *res = I;
    } else if (op <= 0x7B) {
        *a = *res = L;
    } else if (op <= 0x8A) {
        *a = *b = *res = L;
    } else if (op <= 0x91) {
        *a = *res = F;
    } else if (op <= 0x98) {
        *a = *b = *res = F;
    } else if (op <= 0x9F) {
        *a = *res = D;
    } else if (op <= 0xA6) {
        *a = *b = *res = D;
    } else {
        static const uint8_t conv[][2] = {
            /* 0xA7 */ {L, I}, {F, I}, {F, I}, {D, I}, {D, I}, {I, L}, {I, L}, {F, L},
            /* 0xAF */ {F, L}, {D, L}, {D, L}, {I, F}, {I, F}, {L, F}, {L, F}, {D, F},
            /* 0xB7 */ {I, D}, {I, D}, {L, D}, {L, D}, {F, D}, {F, I}, {D, L}, {I, F},
            /* 0xBF */ {L, D}, {I, I}, {I, I}, {L, L}, {L, L}, {L, L}};
        *a = conv[op - 0xA7][0];
        *res = conv[op - 0xA7][1];
    }
}

static bool check_table(struct tr *t, uint32_t idx)
{
    if (idx >= t->m->ntables) return fail_idx(t, "unknown table", idx);
    return true;
}

/* Pops three i32 operands (deepest first in *a) for the bulk operations. */
static bool pop3(struct tr *t, uint8_t ta, uint8_t tb, uint8_t tc, uint32_t *a, uint32_t *b,
                 uint32_t *c)
{
    return pop_at(t, tc, c) && pop_at(t, tb, b) && pop_at(t, ta, a);
}

/* The 0xFC group. */
static bool op_fc(struct tr *t)
{
    sw_module *m = t->m;
    uint32_t sub;
    if (!rd_u32(&t->r, &sub)) return false;
    uint32_t a = 0, b = 0, sa, sb, sc;
    if (sub <= 7) {
        static const uint8_t from[] = {SW_F32, SW_F32, SW_F64, SW_F64,
                                       SW_F32, SW_F32, SW_F64, SW_F64};
        if (!pop_at(t, from[sub], &sa)) return false;
        uint32_t d = canon(t, t->nvals);
        return push(t, sub < 4 ? SW_I32 : SW_I64) && emit(t, OP_FC_BASE + sub) && emit_dst(t, d) &&
               emit(t, sa);
    }
    switch (sub) {
    case 8: /* memory.init */
        if (!rd_u32(&t->r, &a) || !zero_byte(t)) return false;
        if (m->nmemories == 0) return fail_idx(t, "unknown memory", 0);
        if (!m->has_datacount) return fail(t, "data count section required");
        if (a >= m->datacount) return fail_idx(t, "unknown data segment", a);
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && emit(t, OP_FC_BASE + 8) &&
               emit(t, sa) && emit(t, sb) && emit(t, sc) && emit(t, a);
    case 9: /* data.drop */
        if (!rd_u32(&t->r, &a)) return false;
        if (!m->has_datacount) return fail(t, "data count section required");
        if (a >= m->datacount) return fail_idx(t, "unknown data segment", a);
        return emit(t, OP_FC_BASE + 9) && emit(t, a);
    case 10: /* memory.copy */
    case 11: /* memory.fill */
        if (!zero_byte(t) || (sub == 10 && !zero_byte(t))) return false;
        if (m->nmemories == 0) return fail_idx(t, "unknown memory", 0);
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && emit(t, OP_FC_BASE + sub) &&
               emit(t, sa) && emit(t, sb) && emit(t, sc);
    case 12: /* table.init elem table */
        if (!rd_u32(&t->r, &a) || !rd_u32(&t->r, &b)) return false;
        if (!check_table(t, b)) return false;
        if (a >= m->nelems) return fail_idx(t, "unknown elem segment", a);
        if (m->elems[a].type != m->tables[b].type) return fail(t, "type mismatch");
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && emit(t, OP_FC_BASE + 12) &&
               emit(t, sa) && emit(t, sb) && emit(t, sc) && emit(t, a) && emit(t, b);
    case 13: /* elem.drop */
        if (!rd_u32(&t->r, &a)) return false;
        if (a >= m->nelems) return fail_idx(t, "unknown elem segment", a);
        return emit(t, OP_FC_BASE + 13) && emit(t, a);
    case 14: /* table.copy dst src */
        if (!rd_u32(&t->r, &a) || !rd_u32(&t->r, &b)) return false;
        if (!check_table(t, a) || !check_table(t, b)) return false;
        if (m->tables[a].type != m->tables[b].type) return fail(t, "type mismatch");
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && emit(t, OP_FC_BASE + 14) &&
               emit(t, sa) && emit(t, sb) && emit(t, sc) && emit(t, a) && emit(t, b);
    case 15: { /* table.grow */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        if (!pop_at(t, SW_I32, &sb) || !pop_at(t, (uint8_t)m->tables[a].type, &sa)) return false;
        uint32_t d = canon(t, t->nvals);
        return push(t, SW_I32) && emit(t, OP_FC_BASE + 15) && emit_dst(t, d) && emit(t, sa) &&
               emit(t, sb) && emit(t, a);
    }
    case 16: { /* table.size */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        uint32_t d = canon(t, t->nvals);
        return push(t, SW_I32) && emit(t, OP_FC_BASE + 16) && emit_dst(t, d) && emit(t, a);
    }
    case 17: /* table.fill */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        return pop3(t, SW_I32, (uint8_t)m->tables[a].type, SW_I32, &sa, &sb, &sc) &&
               emit(t, OP_FC_BASE + 17) && emit(t, sa) && emit(t, sb) && emit(t, sc) && emit(t, a);
    default: return rd_fail(&t->r, "illegal opcode");
    }
}

/* local.set / local.tee of the value just popped from slot `from`. */
static bool set_local(struct tr *t, uint32_t x, uint32_t from, size_t prev_dst)
{
    bool had;
    if (from == x) return true; /* local.get x; local.set x */
    if (!materialize_local(t, x, &had)) return false;
    if (!t->counting && !had && prev_dst && t->code[prev_dst - 1] == from) {
        t->code[prev_dst - 1] = x; /* the producer writes the local directly */
        return true;
    }
    return emit(t, OP_MOV) && emit(t, x) && emit(t, from);
}

/* Binary operators that have a constant-operand form: 1 for i32, 2 for i64. */
static const uint8_t imm_ok[256] = {
    [0x46] = 1, [0x47] = 1, [0x48] = 1, [0x49] = 1, [0x4A] = 1, [0x4B] = 1, [0x4C] = 1, [0x4D] = 1,
    [0x4E] = 1, [0x4F] = 1, [0x6A] = 1, [0x6B] = 1, [0x6C] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1,
    [0x74] = 1, [0x75] = 1, [0x76] = 1, [0x7C] = 2, [0x7D] = 2, [0x7E] = 2, [0x83] = 2, [0x84] = 2,
    [0x86] = 2, [0x87] = 2, [0x88] = 2, [0x51] = 2, [0x52] = 2, [0x53] = 2, [0x54] = 2, [0x55] = 2,
    [0x56] = 2, [0x57] = 2, [0x58] = 2, [0x59] = 2, [0x5A] = 2,
};

/* Whether the instruction just emitted (local.get may lie between) is `op`,
 * `len` words long, and wrote its result to the operand stack's `slot`: then
 * the current instruction may absorb it (fast translation only). */
static bool prev_feeds(const struct tr *t, size_t prev_dst, uint32_t op, size_t len, uint32_t slot)
{
    size_t ps = t->prev_start;
    return !t->counting && prev_dst == ps + 2 && t->ncode == ps + len && t->code[ps] == op &&
           t->code[ps + 1] == slot && slot >= t->nlocals;
}

/* f64 add/sub/mul whose operand is the result of the instruction just
 * before it (local.get may lie between) become one instruction: a product
 * feeding an add, a sub or a mul, or an f64 load feeding any of them. The
 * fused forms read their operands at the later point, which is the same
 * since nothing but local.get lies between. Returns true when it emitted. */
static bool fuse_f64(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d, size_t prev_dst,
                     bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    if (t->counting || prev_dst != ps + 2 || t->ncode != ps + 4) return false;
    uint32_t pop_ = t->code[ps], tmp = t->code[ps + 1];
    if (tmp < t->nlocals || (a != tmp && b != tmp) || a == b) return false;
    uint32_t other = a == tmp ? b : a, fused = 0, x = t->code[ps + 2], y = t->code[ps + 3];
    if (pop_ == 0xA2 && op == 0xA0)
        fused = OP_F64_MUL_ADD;
    else if (pop_ == 0xA2 && op == 0xA1)
        fused = a == tmp ? OP_F64_MUL_SUB : OP_F64_SUB_MUL;
    else if (pop_ == 0xA2 && op == 0xA2)
        fused = OP_F64_MUL_MUL;
    else if (pop_ == 0x2B) {
        fused = op == 0xA2   ? OP_F64_MUL_LOAD
                : op == 0xA0 ? OP_F64_ADD_LOAD
                : a == tmp   ? OP_F64_LOAD_SUB
                             : OP_F64_SUB_LOAD;
        y = t->code[ps + 2]; /* the address, then the offset */
        x = other;
        other = t->code[ps + 3];
    }
    if (!fused) return false;
    t->ncode = ps;
    t->cur_start = ps; /* the fused instruction is the "previous" one of the next */
    *failed = !(push(t, SW_F64) && emit(t, fused) && emit_dst(t, d) && emit(t, x) && emit(t, y) &&
                emit(t, other));
    return true;
}

/* A value-producing instruction: pops n operands (types ta, tb; tb first),
 * pushes `res`, and emits [op, dst, a(, b)] plus nothing else. */
static bool producer(struct tr *t, uint32_t op, uint8_t ta, uint8_t tb, uint8_t res,
                     size_t prev_dst)
{
    uint32_t a, b = 0;
    if (tb && !pop_at(t, tb, &b)) return false;
    if (!pop_at(t, ta, &a)) return false;
    uint32_t d = canon(t, t->nvals);
    bool failed;
    if (op >= 0xA0 && op <= 0xA2 && fuse_f64(t, op, a, b, d, prev_dst, &failed)) return !failed;
    /* `x; i32.const K; op` becomes [op+imm, dst, x, K]: the const goes away */
    size_t ps = t->prev_start;
    if (!t->counting && tb && prev_dst == ps + 2 && t->code[ps + 1] == b && op < 0x100 &&
        ((t->code[ps] == 0x41 && imm_ok[op] == 1) || (t->code[ps] == 0x42 && imm_ok[op] == 2))) {
        uint32_t k0 = t->code[ps + 2], k1 = t->code[ps] == 0x42 ? t->code[ps + 3] : 0;
        bool wide = t->code[ps] == 0x42;
        t->ncode = ps;
        if (!push(t, res) || !emit(t, OP_IMM_BASE + op) || !emit_dst(t, d) || !emit(t, a) ||
            !emit(t, k0))
            return false;
        return !wide || emit(t, k1);
    }
    if (!push(t, res) || !emit(t, op) || !emit_dst(t, d) || !emit(t, a)) return false;
    return !tb || emit(t, b);
}

/* One instruction. Returns false on error; *done when the function's final
 * `end` was read. */
static bool instr(struct tr *t, bool *done)
{
    sw_module *m = t->m;
    uint8_t op;
    size_t prev_dst = t->last_dst;
    t->last_dst = 0;
    t->prev_start = t->cur_start;
    t->cur_start = t->ncode;
    t->op_at = rd_offset(&t->r);
    if (!rd_u8(&t->r, &op)) return false;
    switch (op) {
    case 0x00: /* unreachable */ set_unreachable(t); return emit(t, 0x00);
    case 0x01: /* nop */ return !t->counting || emit(t, 0x01);
    case 0x02:   /* block */
    case 0x03: { /* loop */
        uint32_t np, nr;
        const sw_valtype *p, *r;
        if (!read_blocktype(t, &np, &p, &nr, &r) || !materialize_all(t) || !pop_n(t, np, p))
            return false;
        if (!push_ctl(t, op == 0x02 ? CTL_BLOCK : CTL_LOOP, np, p, nr, r)) return false;
        if (op == 0x03) {
            /* the fast code checks interrupt and fuel on backward jumps, so
               only the counting translation needs an instruction here */
            t->ctls[t->nctls - 1].loop_pc = (uint32_t)t->ncode;
            if (t->counting && !emit(t, 0x03)) return false;
        } else if (t->counting && !emit(t, 0x02)) {
            return false;
        }
        return push_n(t, np, p);
    }
    case 0x04: { /* if */
        uint32_t np, nr, c;
        const sw_valtype *p, *r;
        if (!read_blocktype(t, &np, &p, &nr, &r) || !pop_at(t, SW_I32, &c)) return false;
        /* an i32 comparison right before `if` becomes a branch on the
           opposite comparison to the else part */
        uint32_t fused = 0, fa = 0, fb = 0;
        size_t ps = t->prev_start;
        if (!t->counting && prev_dst == ps + 2 && t->code[ps + 1] == c) {
            static const uint8_t opposite[16] = {
                [0x5] = 0x47, [0x6] = 0x47, [0x7] = 0x46, [0x8] = 0x4E, [0x9] = 0x4F, [0xA] = 0x4C,
                [0xB] = 0x4D, [0xC] = 0x4A, [0xD] = 0x4B, [0xE] = 0x48, [0xF] = 0x49};
            uint32_t cop = t->code[ps];
            fa = t->code[ps + 2];
            if (cop == 0x45) {
                fused = OP_BRIF_IMM_BASE + 0x47; /* eqz: jump when a != 0 */
                fb = 0;
            } else if (cop >= 0x46 && cop <= 0x4F) {
                fused = OP_BRIF_BASE + opposite[cop - 0x40];
                fb = t->code[ps + 3];
            } else if (cop >= OP_IMM_BASE + 0x46 && cop <= OP_IMM_BASE + 0x4F) {
                fused = OP_BRIF_IMM_BASE + opposite[cop - OP_IMM_BASE - 0x40];
                fb = t->code[ps + 3];
            }
            if (fused) t->ncode = ps;
        }
        if (!materialize_all(t) || !pop_n(t, np, p)) return false;
        if (!push_ctl(t, CTL_IF, np, p, nr, r)) return false;
        if (fused) {
            /* [brif, a, b, target, dst, 0 values, src] */
            if (!emit(t, fused) || !emit(t, fa) || !emit(t, fb) || !emit(t, 0)) return false;
            t->ctls[t->nctls - 1].else_patch = (uint32_t)t->ncode;
            if (!emit(t, 0) || !emit(t, 0) || !emit(t, 0)) return false;
        } else {
            if (!emit(t, OP_BR_UNLESS) || !emit(t, c) || !emit(t, 0)) return false;
            t->ctls[t->nctls - 1].else_patch = (uint32_t)t->ncode;
        }
        return push_n(t, np, p);
    }
    case 0x05: { /* else */
        struct ctl *c = &t->ctls[t->nctls - 1];
        if (c->kind != CTL_IF) return rd_fail(&t->r, "else without if");
        if (!materialize_all(t) || !pop_n(t, c->nresults, c->results)) return false;
        if (t->nvals != c->height) return fail(t, "type mismatch");
        if (!emit(t, OP_JMP) || !emit(t, c->patch)) return false;
        c->patch = (uint32_t)t->ncode;
        patch_chain(t, c->else_patch, (uint32_t)t->ncode);
        c->else_patch = 0;
        c->kind = CTL_ELSE;
        c->unreachable = false;
        return push_n(t, c->nparams, c->params);
    }
    case 0x0B: { /* end */
        struct ctl *c = &t->ctls[t->nctls - 1];
        if (!materialize_all(t) || !pop_n(t, c->nresults, c->results)) return false;
        if (t->nvals != c->height) return fail(t, "type mismatch");
        if (c->kind == CTL_IF) {
            /* no else: the params pass through as results */
            if (c->nparams != c->nresults ||
                (c->nparams && memcmp(c->params, c->results, c->nparams * sizeof(sw_valtype))))
                return fail(t, "type mismatch");
            patch_chain(t, c->else_patch, (uint32_t)t->ncode);
        }
        patch_chain(t, c->patch, (uint32_t)t->ncode);
        uint32_t nr = c->nresults;
        const sw_valtype *r = c->results;
        t->nctls--;
        if (t->nctls == 0) {
            *done = true;
            return emit(t, 0x0F) && emit(t, canon(t, 0)) && emit(t, nr);
        }
        return push_n(t, nr, r);
    }
    case 0x0C:   /* br */
    case 0x0D: { /* br_if */
        uint32_t depth, cond = 0;
        if (!rd_u32(&t->r, &depth)) return false;
        if (depth >= t->nctls) return fail_idx(t, "unknown label", depth);
        if (op == 0x0D && !pop_at(t, SW_I32, &cond)) return false;
        /* an i32 comparison right before br_if is folded into the branch */
        uint32_t fused = 0, fa = 0, fb = 0, fb2 = 0;
        size_t ps = t->prev_start;
        if (op == 0x0D && !t->counting && prev_dst == ps + 2 && t->code[ps + 1] == cond) {
            uint32_t pop_ = t->code[ps];
            if (pop_ >= 0x45 && pop_ <= 0x5A)
                fused = OP_BRIF_BASE + pop_;
            else if (pop_ >= OP_IMM_BASE + 0x46 && pop_ <= OP_IMM_BASE + 0x5A &&
                     pop_ != OP_IMM_BASE + 0x50)
                fused = OP_BRIF_IMM_BASE + (pop_ - OP_IMM_BASE);
            if (fused) {
                fa = t->code[ps + 2];
                fb = (pop_ == 0x45 || pop_ == 0x50) ? 0 : t->code[ps + 3];
                fb2 = pop_ >= OP_IMM_BASE + 0x51 ? t->code[ps + 4] : 0;
                t->ncode = ps;
            }
        }
        if (!materialize_all(t)) return false;
        struct ctl *c = &t->ctls[t->nctls - 1 - depth];
        uint32_t n;
        const sw_valtype *types;
        label_types(c, &n, &types);
        uint32_t src = t->nvals >= n ? canon(t, t->nvals - n) : canon(t, 0);
        if (!pop_n(t, n, types)) return false;
        if (fused) {
            bool one = fused == OP_BRIF_BASE + 0x45 || fused == OP_BRIF_BASE + 0x50;
            bool wide = fused >= OP_BRIF_IMM_BASE + 0x51;
            if (!emit(t, fused) || !emit(t, fa) || (!one && !emit(t, fb)) ||
                (wide && !emit(t, fb2)))
                return false;
        } else if (!emit(t, op) || (op == 0x0D && !emit(t, cond))) {
            return false;
        }
        if (!emit_branch_target(t, c) || !emit(t, n) || !emit(t, src)) return false;
        if (op == 0x0C) {
            set_unreachable(t);
            return true;
        }
        return push_n(t, n, types);
    }
    case 0x0E: { /* br_table */
        uint32_t n, idx;
        if (!rd_u32(&t->r, &n)) return false;
        if (n > rd_left(&t->r)) return rd_fail(&t->r, "unexpected end");
        uint32_t *labels = malloc(((size_t)n + 1) * sizeof *labels);
        if (!labels) {
            t->nomem = true;
            return fail(t, "out of memory");
        }
        for (uint32_t i = 0; i <= n; i++) {
            if (!rd_u32(&t->r, &labels[i])) {
                free(labels);
                return false;
            }
            if (labels[i] >= t->nctls) {
                uint32_t bad = labels[i];
                free(labels);
                return fail_idx(t, "unknown label", bad);
            }
        }
        bool good = pop_at(t, SW_I32, &idx) && materialize_all(t);
        uint32_t arity;
        const sw_valtype *dtypes;
        label_types(&t->ctls[t->nctls - 1 - labels[n]], &arity, &dtypes);
        struct ctl *cur = &t->ctls[t->nctls - 1];
        for (uint32_t i = 0; good && i <= n; i++) {
            uint32_t la;
            const sw_valtype *lt;
            label_types(&t->ctls[t->nctls - 1 - labels[i]], &la, &lt);
            if (la != arity) {
                good = fail(t, "type mismatch");
                break;
            }
            /* each label's types must match the stack top (polymorphic-aware) */
            for (uint32_t k = 0; k < la; k++) {
                uint32_t depth_k = la - 1 - k;
                if (t->nvals - cur->height <= depth_k) {
                    if (!cur->unreachable) good = fail(t, "type mismatch");
                    break;
                }
                uint8_t have = t->vals[t->nvals - 1 - depth_k];
                if (have != UNKNOWN && have != (uint8_t)lt[k]) {
                    good = fail(t, "type mismatch");
                    break;
                }
            }
        }
        uint32_t src = t->nvals >= arity ? canon(t, t->nvals - arity) : canon(t, 0);
        good = good && pop_n(t, arity, dtypes) && emit(t, 0x0E) && emit(t, idx) && emit(t, src) &&
               emit(t, arity) && emit(t, n);
        for (uint32_t i = 0; good && i <= n; i++)
            good = emit_branch_target(t, &t->ctls[t->nctls - 1 - labels[i]]);
        free(labels);
        if (good) set_unreachable(t);
        return good;
    }
    case 0x0F: { /* return */
        struct ctl *f = &t->ctls[0];
        if (!materialize_all(t)) return false;
        uint32_t src = t->nvals >= f->nresults ? canon(t, t->nvals - f->nresults) : canon(t, 0);
        if (!pop_n(t, f->nresults, f->results)) return false;
        set_unreachable(t);
        return emit(t, 0x0F) && emit(t, src) && emit(t, f->nresults);
    }
    case 0x10: { /* call */
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nfuncs) return fail_idx(t, "unknown function", idx);
        const struct ftype *ft = &m->types[m->func_types[idx]];
        if (!materialize_all(t)) return false;
        uint32_t base =
            t->nvals >= ft->nparams ? canon(t, t->nvals - ft->nparams) : canon(t, t->nvals);
        return pop_n(t, ft->nparams, ft->types) &&
               push_n(t, ft->nresults, ft->types + ft->nparams) && emit(t, 0x10) && emit(t, idx) &&
               emit(t, base);
    }
    case 0x11: { /* call_indirect */
        uint32_t typeidx, table, i;
        if (!rd_u32(&t->r, &typeidx) || !rd_u32(&t->r, &table)) return false;
        if (!check_table(t, table)) return false;
        if (typeidx >= m->ntypes) return fail_idx(t, "unknown type", typeidx);
        if (m->tables[table].type != SW_FUNCREF) return fail(t, "type mismatch");
        const struct ftype *ft = &m->types[typeidx];
        if (!pop_at(t, SW_I32, &i) || !materialize_all(t)) return false;
        uint32_t base =
            t->nvals >= ft->nparams ? canon(t, t->nvals - ft->nparams) : canon(t, t->nvals);
        return pop_n(t, ft->nparams, ft->types) &&
               push_n(t, ft->nresults, ft->types + ft->nparams) && emit(t, 0x11) &&
               emit(t, typeidx) && emit(t, table) && emit(t, i) && emit(t, base);
    }
    case 0x1A: { /* drop */ uint8_t ty; return pop_any(t, &ty) && (!t->counting || emit(t, 0x1A));
    }
    case 0x1B:   /* select */
    case 0x1C: { /* select t */
        uint8_t want = UNKNOWN;
        if (op == 0x1C) {
            uint32_t n;
            if (!rd_u32(&t->r, &n)) return false;
            if (n != 1) return fail(t, "invalid result arity");
            uint8_t b;
            if (!rd_u8(&t->r, &b)) return false;
            if (!one_type[b]) {
                if (b == 0x7B) return fail(t, "SIMD not supported");
                return rd_fail(&t->r, "malformed value type");
            }
            want = b;
        }
        uint8_t a, b;
        uint32_t la, lb, lc;
        if (!pop_at(t, SW_I32, &lc) || !pop_loc(t, &b, &lb) || !pop_loc(t, &a, &la)) return false;
        uint8_t res;
        if (op == 0x1C) {
            if ((a != UNKNOWN && a != want) || (b != UNKNOWN && b != want))
                return fail(t, "type mismatch");
            res = want;
        } else {
            if ((a != UNKNOWN && !is_num(a)) || (b != UNKNOWN && !is_num(b)))
                return fail(t, "type mismatch");
            if (a != UNKNOWN && b != UNKNOWN && a != b) return fail(t, "type mismatch");
            res = a != UNKNOWN ? a : b;
        }
        uint32_t d = canon(t, t->nvals);
        return push(t, res) && emit(t, 0x1B) && emit_dst(t, d) && emit(t, la) && emit(t, lb) &&
               emit(t, lc);
    }
    case 0x20:
    case 0x21:
    case 0x22: {
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= t->nlocals) return fail_idx(t, "unknown local", idx);
        uint8_t ty = (uint8_t)t->locals[idx];
        if (op == 0x20) {
            if (!t->counting) {
                /* Emits nothing: the instruction before stays "previous"
                 * for the fusions of the next one. */
                t->last_dst = prev_dst;
                t->cur_start = t->prev_start;
                return push_at(t, ty, idx);
            }
            uint32_t d = canon(t, t->nvals);
            return push(t, ty) && emit(t, 0x20) && emit_dst(t, d) && emit(t, idx);
        }
        uint32_t from;
        if (!pop_at(t, ty, &from)) return false;
        if (t->counting) {
            if (!emit(t, op) || !emit(t, idx) || !emit(t, from)) return false;
            return op == 0x21 || push_at(t, ty, from);
        }
        if (!set_local(t, idx, from, prev_dst)) return false;
        return op == 0x21 || push_at(t, ty, idx);
    }
    case 0x23:
    case 0x24: {
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nglobals) return fail_idx(t, "unknown global", idx);
        uint8_t ty = (uint8_t)m->globals[idx].type;
        if (op == 0x23) {
            uint32_t d = canon(t, t->nvals);
            return push(t, ty) && emit(t, op) && emit_dst(t, d) && emit(t, idx);
        }
        if (!m->globals[idx].mut) return fail(t, "global is immutable");
        uint32_t v;
        return pop_at(t, ty, &v) && emit(t, op) && emit(t, v) && emit(t, idx);
    }
    case 0x25:
    case 0x26: {
        uint32_t idx, i, v;
        if (!rd_u32(&t->r, &idx) || !check_table(t, idx)) return false;
        uint8_t ty = (uint8_t)m->tables[idx].type;
        if (op == 0x25) {
            if (!pop_at(t, SW_I32, &i)) return false;
            uint32_t d = canon(t, t->nvals);
            return push(t, ty) && emit(t, op) && emit_dst(t, d) && emit(t, i) && emit(t, idx);
        }
        return pop_at(t, ty, &v) && pop_at(t, SW_I32, &i) && emit(t, op) && emit(t, i) &&
               emit(t, v) && emit(t, idx);
    }
    case 0x3F:
    case 0x40: {
        if (!zero_byte(t)) return false;
        if (m->nmemories == 0) return fail_idx(t, "unknown memory", 0);
        if (op == 0x3F) {
            uint32_t d = canon(t, t->nvals);
            return push(t, SW_I32) && emit(t, op) && emit_dst(t, d);
        }
        return producer(t, op, SW_I32, 0, SW_I32, 0);
    }
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44: {
        uint64_t v;
        uint8_t ty;
        if (op == 0x41 || op == 0x42) {
            int64_t s;
            if (!rd_sleb(&t->r, op == 0x41 ? 32 : 64, &s)) return false;
            v = op == 0x41 ? (uint32_t)(int32_t)s : (uint64_t)s;
            ty = op == 0x41 ? SW_I32 : SW_I64;
        } else {
            const uint8_t *b;
            size_t n = op == 0x43 ? 4 : 8;
            if (!rd_bytes(&t->r, n, &b)) return false;
            v = 0;
            memcpy(&v, b, n);
            ty = op == 0x43 ? SW_F32 : SW_F64;
        }
        uint32_t d = canon(t, t->nvals);
        if (!push(t, ty) || !emit(t, op) || !emit_dst(t, d)) return false;
        return (op == 0x41 || op == 0x43) ? emit(t, (uint32_t)v) : emit64(t, v);
    }
    case 0xD0: { /* ref.null */
        uint8_t b;
        if (!rd_u8(&t->r, &b)) return false;
        if (b != SW_FUNCREF && b != SW_EXTERNREF) return rd_fail(&t->r, "malformed reference type");
        uint32_t d = canon(t, t->nvals);
        return push(t, b) && emit(t, 0xD0) && emit_dst(t, d);
    }
    case 0xD1: { /* ref.is_null */
        uint8_t ty;
        uint32_t a;
        if (!pop_loc(t, &ty, &a)) return false;
        if (ty != UNKNOWN && !is_ref(ty)) return fail(t, "type mismatch");
        uint32_t d = canon(t, t->nvals);
        return push(t, SW_I32) && emit(t, 0xD1) && emit_dst(t, d) && emit(t, a);
    }
    case 0xD2: { /* ref.func */
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nfuncs) return fail_idx(t, "unknown function", idx);
        if (!(m->declared_funcs[idx / 8] & (1u << (idx % 8))))
            return fail(t, "undeclared function reference");
        uint32_t d = canon(t, t->nvals);
        return push(t, SW_FUNCREF) && emit(t, 0xD2) && emit_dst(t, d) && emit(t, idx);
    }
    case 0xFC: return op_fc(t);
    case 0xFD: return fail(t, "SIMD not supported");
    default: break;
    }
    if (op >= 0x28 && op <= 0x3E) {
        /* loads 0x28-0x35, stores 0x36-0x3E: natural alignment and types */
        static const uint8_t align[] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1,
                                        2, 2, 2, 3, 2, 3, 0, 1, 0, 1, 2};
        static const uint8_t vtype[] = {SW_I32, SW_I64, SW_F32, SW_F64, SW_I32, SW_I32,
                                        SW_I32, SW_I32, SW_I64, SW_I64, SW_I64, SW_I64,
                                        SW_I64, SW_I64, SW_I32, SW_I64, SW_F32, SW_F64,
                                        SW_I32, SW_I32, SW_I64, SW_I64, SW_I64};
        uint32_t offset, a, v;
        if (!read_memarg(t, align[op - 0x28], &offset)) return false;
        uint8_t ty = vtype[op - 0x28];
        if (op <= 0x35) {
            if (!pop_at(t, SW_I32, &a)) return false;
            uint32_t d = canon(t, t->nvals);
            size_t ps = t->prev_start;
            if (!t->counting && prev_dst == ps + 2 && t->code[ps] == 0x41 && t->code[ps + 1] == a) {
                /* `i32.const K; load`: the address is an immediate */
                uint32_t k = t->code[ps + 2];
                t->ncode = ps;
                return push(t, ty) && emit(t, OP_ABS_BASE + (op - 0x28)) && emit_dst(t, d) &&
                       emit(t, k) && emit(t, offset);
            }
            return push(t, ty) && emit(t, op) && emit_dst(t, d) && emit(t, a) && emit(t, offset);
        }
        if (!pop_at(t, ty, &v) || !pop_at(t, SW_I32, &a)) return false;
        /* `i32.const K; i32.store` (and i64, store8, store16): K is an
           immediate of the store */
        size_t ps = t->prev_start;
        bool k32 = op == 0x36 || op == 0x3A || op == 0x3B, k64 = op == 0x37;
        if ((k32 && prev_feeds(t, prev_dst, 0x41, 3, v)) ||
            (k64 && prev_feeds(t, prev_dst, 0x42, 4, v))) {
            uint32_t k0 = t->code[ps + 2], k1 = k64 ? t->code[ps + 3] : 0;
            t->ncode = ps;
            return emit(t, OP_STORE_K_BASE + (op - 0x36)) && emit(t, a) && emit(t, k0) &&
                   (!k64 || emit(t, k1)) && emit(t, offset);
        }
        /* `f64.load a off; x; f64.add; f64.store a off` (fused into
           OP_F64_ADD_LOAD just before): one read-modify-write */
        if (op == 0x39 && prev_feeds(t, prev_dst, OP_F64_ADD_LOAD, 5, v) && t->code[ps + 3] == a &&
            t->code[ps + 4] == offset) {
            uint32_t x = t->code[ps + 2];
            t->ncode = ps;
            return emit(t, OP_F64_ADD_TO_MEM) && emit(t, a) && emit(t, x) && emit(t, offset);
        }
        return emit(t, op) && emit(t, a) && emit(t, v) && emit(t, offset);
    }
    if (op >= 0x45 && op <= 0xC4) {
        uint8_t a, b, res;
        numeric_sig(op, &a, &b, &res);
        return producer(t, op, a, b, res, prev_dst);
    }
    t->r.p--;
    return rd_fail(&t->r, "illegal opcode");
}

bool sw__ftype_equal(const struct ftype *a, const struct ftype *b)
{
    return a == b ||
           (a->nparams == b->nparams && a->nresults == b->nresults &&
            !memcmp(a->types, b->types, ((size_t)a->nparams + a->nresults) * sizeof(sw_valtype)));
}

/* Validates and translates one body; on success *out owns the code. */
static sw_status translate_once(sw_module *m, uint32_t defidx, const uint8_t *body, size_t len,
                                size_t body_offset, bool counting, sw_error *err, struct fcode *out)
{
    struct tr t = {.m = m, .op_at = body_offset, .counting = counting};
    t.r.base = m->bytes;
    t.r.p = body;
    t.r.end = body + len;
    const struct ftype *ft = &m->types[m->funcs[defidx].typeidx];

    /* locals: count first (bounded), then fill */
    uint32_t ngroups;
    uint64_t total = ft->nparams;
    const uint8_t *groups_at;
    if (rd_u32(&t.r, &ngroups)) {
        groups_at = t.r.p;
        for (uint32_t i = 0; i < ngroups && !t.r.error; i++) {
            uint32_t n;
            uint8_t ty;
            if (!rd_u32(&t.r, &n) || !rd_u8(&t.r, &ty)) break;
            total += n;
            if (total > MAX_LOCALS) {
                rd_fail(&t.r, "too many locals");
                break;
            }
        }
        if (!t.r.error) {
            t.locals = malloc((size_t)(total + 1) * sizeof *t.locals);
            if (!t.locals) {
                t.nomem = true;
                fail(&t, "out of memory");
            } else {
                memcpy(t.locals, ft->types, ft->nparams * sizeof *t.locals);
                t.nlocals = ft->nparams;
                t.r.p = groups_at;
                for (uint32_t i = 0; i < ngroups && ok(&t); i++) {
                    uint32_t n;
                    uint8_t ty;
                    rd_u32(&t.r, &n);
                    rd_u8(&t.r, &ty);
                    if (!one_type[ty]) {
                        t.r.p--;
                        if (ty == 0x7B)
                            fail(&t, "SIMD not supported");
                        else
                            rd_fail(&t.r, "malformed value type");
                        break;
                    }
                    for (uint32_t k = 0; k < n; k++)
                        t.locals[t.nlocals++] = (sw_valtype)ty;
                }
            }
        }
    }
    if (ok(&t)) push_ctl(&t, CTL_BLOCK, 0, NULL, ft->nresults, ft->types + ft->nparams);
    bool done = false;
    while (ok(&t) && !done) {
        if (t.r.p >= t.r.end) {
            rd_fail(&t.r, "unexpected end of section or function");
            break;
        }
        instr(&t, &done);
    }
    if (ok(&t) && t.r.p != t.r.end) rd_fail(&t.r, "section size mismatch");
    sw_status st = SW_OK;
    if (t.nomem) {
        st = SW_ERR_NOMEM;
        sw__set_error(err, st, "code", body_offset, "out of memory");
    } else if (t.r.error) {
        st = SW_ERR_MALFORMED;
        sw__set_error(err, st, "code", t.r.error_at, t.r.error);
    } else if (t.invalid) {
        st = SW_ERR_INVALID;
        sw__set_error(err, st, "code", t.invalid_at, t.invalid);
    }
    free(t.locals);
    free(t.vals);
    free(t.locs);
    free(t.ctls);
    if (st == SW_OK && !sw__check_code(t.code, t.ncode)) {
        /* an emitter wrote an instruction of another length than ops.h says */
        st = SW_ERR_INVALID;
        sw__set_error(err, st, "code", body_offset, "internal translation error");
    }
    if (st != SW_OK) {
        free(t.code);
        return st;
    }
    out->ops = t.code;
    out->nops = t.ncode;
    out->nparams = ft->nparams;
    out->nlocals = t.nlocals;
    out->max_height = t.nlocals + t.max_vals + 1;
    return SW_OK;
}

sw_status sw__translate(sw_module *m, uint32_t defidx, const uint8_t *body, size_t len,
                        size_t body_offset, sw_error *err)
{
    struct fcode fast;
    sw_status st = translate_once(m, defidx, body, len, body_offset, false, err, &fast);
    if (st != SW_OK) return st;
    if (!sw__thread_code(fast.ops, fast.nops)) { /* checked above: cannot happen */
        free(fast.ops);
        sw__set_error(err, SW_ERR_INVALID, "code", body_offset, "internal translation error");
        return SW_ERR_INVALID;
    }
    atomic_init(&fast.ops_counted, NULL);
    m->funcs[defidx].code = fast;
    m->funcs[defidx].body_at = (size_t)(body - m->bytes);
    m->funcs[defidx].body_len = len;
    return SW_OK;
}

sw_status sw__module_ensure_counted(sw_module *m)
{
    /* Rare and short: a spin lock keeps the engine free of thread libraries. */
    while (atomic_flag_test_and_set_explicit(&m->counted_lock, memory_order_acquire)) {
    }
    sw_status st = SW_OK;
    for (uint32_t i = 0; st == SW_OK && i + m->nfunc_imports < m->nfuncs; i++) {
        struct mod_func *f = &m->funcs[i];
        if (atomic_load_explicit(&f->code.ops_counted, memory_order_relaxed)) continue;
        struct fcode counted;
        sw_error err;
        /* The body validated when the module loaded: only memory can fail. */
        st = translate_once(m, i, m->bytes + f->body_at, f->body_len, f->body_at, true, &err,
                            &counted);
        if (st == SW_OK)
            atomic_store_explicit(&f->code.ops_counted, counted.ops, memory_order_release);
    }
    atomic_flag_clear_explicit(&m->counted_lock, memory_order_release);
    return st == SW_OK ? SW_OK : SW_ERR_NOMEM;
}
