/* Function-body validation: the spec's algorithm (operand type stack plus
 * control stack, with stack polymorphism after unreachable/br/return), one
 * instruction at a time. Each instruction, once checked, is emitted through
 * translate.c (and, in the fast translation, offered to the fusions of
 * fuse.c first), so validation and translation are one pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate.h"

const sw_valtype tr_one_type[256] = {
    [0x7F] = SW_I32, [0x7E] = SW_I64,     [0x7D] = SW_F32,
    [0x7C] = SW_F64, [0x70] = SW_FUNCREF, [0x6F] = SW_EXTERNREF,
};

bool tr_fail(struct tr *t, const char *why)
{
    if (!t->invalid && !t->r.error) {
        t->invalid = why;
        t->invalid_at = t->op_at;
    }
    return false;
}

/* "unknown local 7": the spec's wording names the index. */
bool tr_fail_idx(struct tr *t, const char *what, uint32_t idx)
{
    if (t->invalid || t->r.error) return false;
    snprintf(t->why, sizeof t->why, "%s %u", what, idx);
    return tr_fail(t, t->why);
}

bool tr_ok(struct tr *t)
{
    return !t->invalid && !t->r.error && !t->nomem;
}

uint32_t tr_canon(const struct tr *t, uint32_t depth)
{
    return t->nlocals + depth;
}

bool tr_push_at(struct tr *t, uint8_t type, uint32_t loc)
{
    if (t->nvals == t->capvals) {
        uint32_t cap = t->capvals ? t->capvals * 2 : 64;
        uint8_t *v = realloc(t->vals, cap);
        if (v) t->vals = v;
        uint32_t *l = realloc(t->locs, cap * sizeof *l);
        if (l) t->locs = l;
        if (!v || !l) {
            t->nomem = true;
            return tr_fail(t, "out of memory");
        }
        t->capvals = cap;
    }
    t->vals[t->nvals] = type;
    t->locs[t->nvals] = loc;
    t->nvals++;
    if (t->nvals > t->max_vals) t->max_vals = t->nvals;
    return true;
}

bool tr_push(struct tr *t, uint8_t type)
{
    return tr_push_at(t, type, tr_canon(t, t->nvals));
}

/* Pops one value of any type; *got receives its type, *loc its slot. */
static bool pop_loc(struct tr *t, uint8_t *got, uint32_t *loc)
{
    struct ctl *c = &t->ctls[t->nctls - 1];
    if (t->nvals == c->height) {
        if (c->unreachable) {
            *got = UNKNOWN;
            *loc = tr_canon(t, t->nvals);
            return true;
        }
        return tr_fail(t, "type mismatch");
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
bool tr_pop_at(struct tr *t, uint8_t want, uint32_t *loc)
{
    uint8_t got;
    if (!pop_loc(t, &got, loc)) return false;
    if (got != want && got != UNKNOWN && want != UNKNOWN) return tr_fail(t, "type mismatch");
    return true;
}

static bool pop(struct tr *t, uint8_t want)
{
    uint32_t loc;
    return tr_pop_at(t, want, &loc);
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
        if (!tr_push(t, (uint8_t)types[i])) return false;
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

bool tr_push_ctl(struct tr *t, enum ctl_kind kind, uint32_t np, const sw_valtype *p, uint32_t nr,
                 const sw_valtype *r)
{
    if (t->nctls == t->capctls) {
        uint32_t cap = t->capctls ? t->capctls * 2 : 16;
        struct ctl *c = realloc(t->ctls, cap * sizeof *c);
        if (!c) {
            t->nomem = true;
            return tr_fail(t, "out of memory");
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
    if (tr_one_type[b]) {
        t->r.p++;
        *nr = 1;
        *r = &tr_one_type[b];
        return true;
    }
    if (b == 0x7B) return tr_fail(t, "SIMD not supported");
    int64_t idx;
    if (!rd_sleb(&t->r, 33, &idx)) return false;
    if (idx < 0) return rd_fail(&t->r, "malformed value type");
    if ((uint64_t)idx >= t->m->ntypes) return tr_fail_idx(t, "unknown type", (uint32_t)idx);
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
    if (t->m->nmemories == 0) return tr_fail_idx(t, "unknown memory", 0);
    if (align > natural_log2) return tr_fail(t, "alignment must not be larger than natural");
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
    if (idx >= t->m->ntables) return tr_fail_idx(t, "unknown table", idx);
    return true;
}

/* Pops three i32 operands (deepest first in *a) for the bulk operations. */
static bool pop3(struct tr *t, uint8_t ta, uint8_t tb, uint8_t tc, uint32_t *a, uint32_t *b,
                 uint32_t *c)
{
    return tr_pop_at(t, tc, c) && tr_pop_at(t, tb, b) && tr_pop_at(t, ta, a);
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
        if (!tr_pop_at(t, from[sub], &sa)) return false;
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, sub < 4 ? SW_I32 : SW_I64) && tr_emit(t, OP_FC_BASE + sub) &&
               tr_emit_dst(t, d) && tr_emit(t, sa);
    }
    switch (sub) {
    case 8: /* memory.init */
        if (!rd_u32(&t->r, &a) || !zero_byte(t)) return false;
        if (m->nmemories == 0) return tr_fail_idx(t, "unknown memory", 0);
        if (!m->has_datacount) return tr_fail(t, "data count section required");
        if (a >= m->datacount) return tr_fail_idx(t, "unknown data segment", a);
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && tr_emit(t, OP_FC_BASE + 8) &&
               tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, sc) && tr_emit(t, a);
    case 9: /* data.drop */
        if (!rd_u32(&t->r, &a)) return false;
        if (!m->has_datacount) return tr_fail(t, "data count section required");
        if (a >= m->datacount) return tr_fail_idx(t, "unknown data segment", a);
        return tr_emit(t, OP_FC_BASE + 9) && tr_emit(t, a);
    case 10: /* memory.copy */
    case 11: /* memory.fill */
        if (!zero_byte(t) || (sub == 10 && !zero_byte(t))) return false;
        if (m->nmemories == 0) return tr_fail_idx(t, "unknown memory", 0);
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && tr_emit(t, OP_FC_BASE + sub) &&
               tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, sc);
    case 12: /* table.init elem table */
        if (!rd_u32(&t->r, &a) || !rd_u32(&t->r, &b)) return false;
        if (!check_table(t, b)) return false;
        if (a >= m->nelems) return tr_fail_idx(t, "unknown elem segment", a);
        if (m->elems[a].type != m->tables[b].type) return tr_fail(t, "type mismatch");
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && tr_emit(t, OP_FC_BASE + 12) &&
               tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, sc) && tr_emit(t, a) && tr_emit(t, b);
    case 13: /* elem.drop */
        if (!rd_u32(&t->r, &a)) return false;
        if (a >= m->nelems) return tr_fail_idx(t, "unknown elem segment", a);
        return tr_emit(t, OP_FC_BASE + 13) && tr_emit(t, a);
    case 14: /* table.copy dst src */
        if (!rd_u32(&t->r, &a) || !rd_u32(&t->r, &b)) return false;
        if (!check_table(t, a) || !check_table(t, b)) return false;
        if (m->tables[a].type != m->tables[b].type) return tr_fail(t, "type mismatch");
        return pop3(t, SW_I32, SW_I32, SW_I32, &sa, &sb, &sc) && tr_emit(t, OP_FC_BASE + 14) &&
               tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, sc) && tr_emit(t, a) && tr_emit(t, b);
    case 15: { /* table.grow */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        if (!tr_pop_at(t, SW_I32, &sb) || !tr_pop_at(t, (uint8_t)m->tables[a].type, &sa))
            return false;
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, SW_I32) && tr_emit(t, OP_FC_BASE + 15) && tr_emit_dst(t, d) &&
               tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, a);
    }
    case 16: { /* table.size */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, SW_I32) && tr_emit(t, OP_FC_BASE + 16) && tr_emit_dst(t, d) &&
               tr_emit(t, a);
    }
    case 17: /* table.fill */
        if (!rd_u32(&t->r, &a) || !check_table(t, a)) return false;
        return pop3(t, SW_I32, (uint8_t)m->tables[a].type, SW_I32, &sa, &sb, &sc) &&
               tr_emit(t, OP_FC_BASE + 17) && tr_emit(t, sa) && tr_emit(t, sb) && tr_emit(t, sc) &&
               tr_emit(t, a);
    default: return rd_fail(&t->r, "illegal opcode");
    }
}

/* A value-producing instruction: pops n operands (types ta, tb; tb first),
 * pushes `res`, and emits [op, dst, a(, b)] plus nothing else. */
static bool producer(struct tr *t, uint32_t op, uint8_t ta, uint8_t tb, uint8_t res,
                     size_t prev_dst)
{
    uint32_t a, b = 0;
    if (tb && !tr_pop_at(t, tb, &b)) return false;
    if (!tr_pop_at(t, ta, &a)) return false;
    uint32_t d = tr_canon(t, t->nvals);
    bool failed;
    if (op >= 0xA0 && op <= 0xA2 && tr_fuse_f64(t, op, a, b, d, prev_dst, &failed)) return !failed;
    if ((op == 0x6A || op == 0xA0) && tr_fuse_add3(t, op, a, b, d, prev_dst, &failed))
        return !failed;
    if (tb && tr_fuse_const_operand(t, op, a, b, d, res, prev_dst, &failed)) return !failed;
    if (!tr_push(t, res) || !tr_emit(t, op) || !tr_emit_dst(t, d) || !tr_emit(t, a)) return false;
    return !tb || tr_emit(t, b);
}

/* One instruction. Returns false on error; *done when the function's final
 * `end` was read. */
bool tr_instr(struct tr *t, bool *done)
{
    sw_module *m = t->m;
    uint8_t op;
    size_t prev_dst = t->last_dst;
    t->last_dst = 0;
    t->tee_add = t->tee_add_next;
    t->tee_add_next = 0;
    t->prev_start = t->cur_start;
    t->cur_start = t->ncode;
    t->op_at = rd_offset(&t->r);
    if (!rd_u8(&t->r, &op)) return false;
    /* a label may stand here (a branch target): no fusion reaches across */
    t->barrier_before = t->barrier;
    if ((op >= 0x02 && op <= 0x05) || op == 0x0B) t->barrier = t->ncode;
    switch (op) {
    case 0x00: /* unreachable */ set_unreachable(t); return tr_emit(t, 0x00);
    case 0x01: /* nop */ return !t->counting || tr_emit(t, 0x01);
    case 0x02:   /* block */
    case 0x03: { /* loop */
        uint32_t np, nr;
        const sw_valtype *p, *r;
        if (!read_blocktype(t, &np, &p, &nr, &r) || !tr_materialize_all(t) || !pop_n(t, np, p))
            return false;
        if (!tr_push_ctl(t, op == 0x02 ? CTL_BLOCK : CTL_LOOP, np, p, nr, r)) return false;
        if (op == 0x03) {
            /* the fast code checks interrupt and fuel on backward jumps, so
               only the counting translation needs an instruction here */
            t->ctls[t->nctls - 1].loop_pc = (uint32_t)t->ncode;
            t->mov_at = 0; /* a branch target: no copy pairs across it */
            tr_note_target(t, t->ncode);
            if (t->counting && !tr_emit(t, 0x03)) return false;
        } else if (t->counting && !tr_emit(t, 0x02)) {
            return false;
        }
        return push_n(t, np, p);
    }
    case 0x04: { /* if */
        uint32_t np, nr, c;
        const sw_valtype *p, *r;
        if (!read_blocktype(t, &np, &p, &nr, &r) || !tr_pop_at(t, SW_I32, &c)) return false;
        uint32_t fused, fa, fb;
        tr_fuse_if_compare(t, prev_dst, c, &fused, &fa, &fb);
        if (!tr_materialize_all(t) || !pop_n(t, np, p)) return false;
        if (!tr_push_ctl(t, CTL_IF, np, p, nr, r)) return false;
        if (fused) {
            /* [brif, a, b, target, dst, 0 values, src] */
            if (!tr_emit(t, fused) || !tr_emit(t, fa) || !tr_emit(t, fb) || !tr_emit(t, 0))
                return false;
            t->ctls[t->nctls - 1].else_patch = (uint32_t)t->ncode;
            if (!tr_emit(t, 0) || !tr_emit(t, 0) || !tr_emit(t, 0)) return false;
        } else {
            if (!tr_emit(t, OP_BR_UNLESS) || !tr_emit(t, c) || !tr_emit(t, 0)) return false;
            t->ctls[t->nctls - 1].else_patch = (uint32_t)t->ncode;
        }
        return push_n(t, np, p);
    }
    case 0x05: { /* else */
        struct ctl *c = &t->ctls[t->nctls - 1];
        if (c->kind != CTL_IF) return rd_fail(&t->r, "else without if");
        if (!tr_materialize_all(t) || !pop_n(t, c->nresults, c->results)) return false;
        if (t->nvals != c->height) return tr_fail(t, "type mismatch");
        if (!tr_emit(t, OP_JMP) || !tr_emit(t, c->patch)) return false;
        c->patch = (uint32_t)t->ncode;
        tr_patch_chain(t, c->else_patch, (uint32_t)t->ncode);
        c->else_patch = 0;
        c->kind = CTL_ELSE;
        c->unreachable = false;
        return push_n(t, c->nparams, c->params);
    }
    case 0x0B: { /* end */
        struct ctl *c = &t->ctls[t->nctls - 1];
        if (!tr_materialize_all(t) || !pop_n(t, c->nresults, c->results)) return false;
        if (t->nvals != c->height) return tr_fail(t, "type mismatch");
        if (c->kind == CTL_IF) {
            /* no else: the params pass through as results */
            if (c->nparams != c->nresults ||
                (c->nparams && memcmp(c->params, c->results, c->nparams * sizeof(sw_valtype))))
                return tr_fail(t, "type mismatch");
            tr_patch_chain(t, c->else_patch, (uint32_t)t->ncode);
        }
        tr_patch_chain(t, c->patch, (uint32_t)t->ncode);
        t->mov_at = 0; /* a branch target: no copy pairs across it */
        uint32_t nr = c->nresults;
        const sw_valtype *r = c->results;
        t->nctls--;
        if (t->nctls == 0) {
            *done = true;
            return tr_emit(t, 0x0F) && tr_emit(t, tr_canon(t, 0)) && tr_emit(t, nr);
        }
        return push_n(t, nr, r);
    }
    case 0x0C:   /* br */
    case 0x0D: { /* br_if */
        uint32_t depth, cond = 0;
        if (!rd_u32(&t->r, &depth)) return false;
        if (depth >= t->nctls) return tr_fail_idx(t, "unknown label", depth);
        if (op == 0x0D && !tr_pop_at(t, SW_I32, &cond)) return false;
        uint32_t fused = 0, fa = 0, fb = 0, fb2 = 0;
        if (op == 0x0D) tr_fuse_brif_compare(t, prev_dst, cond, &fused, &fa, &fb, &fb2);
        uint32_t inc[4];
        bool inc_branch = fused && tr_fuse_increment_branch(t, fused, fa, fb, inc);
        if (!tr_materialize_all(t)) return false;
        struct ctl *c = &t->ctls[t->nctls - 1 - depth];
        uint32_t n;
        const sw_valtype *types;
        label_types(c, &n, &types);
        uint32_t src = t->nvals >= n ? tr_canon(t, t->nvals - n) : tr_canon(t, 0);
        if (!pop_n(t, n, types)) return false;
        if (inc_branch) {
            if (!tr_emit(t, OP_ADDK_BRNE_K) || !tr_emit(t, inc[0]) || !tr_emit(t, inc[1]) ||
                !tr_emit(t, inc[2]) || !tr_emit(t, inc[3]))
                return false;
        } else if (fused) {
            /* 1 to 3 operand words (a, b or K, the high half of a 64-bit K)
               before target, dst, n, src */
            size_t nw = sw__op_words(&fused) - 5;
            if (!tr_emit(t, fused) || !tr_emit(t, fa) || (nw > 1 && !tr_emit(t, fb)) ||
                (nw > 2 && !tr_emit(t, fb2)))
                return false;
        } else if (!tr_emit(t, op) || (op == 0x0D && !tr_emit(t, cond))) {
            return false;
        }
        if (!tr_emit_branch_target(t, c) || !tr_emit(t, n) || !tr_emit(t, src)) return false;
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
            return tr_fail(t, "out of memory");
        }
        for (uint32_t i = 0; i <= n; i++) {
            if (!rd_u32(&t->r, &labels[i])) {
                free(labels);
                return false;
            }
            if (labels[i] >= t->nctls) {
                uint32_t bad = labels[i];
                free(labels);
                return tr_fail_idx(t, "unknown label", bad);
            }
        }
        bool good = tr_pop_at(t, SW_I32, &idx) && tr_materialize_all(t);
        uint32_t arity;
        const sw_valtype *dtypes;
        label_types(&t->ctls[t->nctls - 1 - labels[n]], &arity, &dtypes);
        struct ctl *cur = &t->ctls[t->nctls - 1];
        for (uint32_t i = 0; good && i <= n; i++) {
            uint32_t la;
            const sw_valtype *lt;
            label_types(&t->ctls[t->nctls - 1 - labels[i]], &la, &lt);
            if (la != arity) {
                good = tr_fail(t, "type mismatch");
                break;
            }
            /* each label's types must match the stack top (polymorphic-aware) */
            for (uint32_t k = 0; k < la; k++) {
                uint32_t depth_k = la - 1 - k;
                if (t->nvals - cur->height <= depth_k) {
                    if (!cur->unreachable) good = tr_fail(t, "type mismatch");
                    break;
                }
                uint8_t have = t->vals[t->nvals - 1 - depth_k];
                if (have != UNKNOWN && have != (uint8_t)lt[k]) {
                    good = tr_fail(t, "type mismatch");
                    break;
                }
            }
        }
        uint32_t src = t->nvals >= arity ? tr_canon(t, t->nvals - arity) : tr_canon(t, 0);
        good = good && pop_n(t, arity, dtypes) && tr_emit(t, 0x0E) && tr_emit(t, idx) &&
               tr_emit(t, src) && tr_emit(t, arity) && tr_emit(t, n);
        for (uint32_t i = 0; good && i <= n; i++)
            good = tr_emit_branch_target(t, &t->ctls[t->nctls - 1 - labels[i]]);
        free(labels);
        if (good) set_unreachable(t);
        return good;
    }
    case 0x0F: { /* return */
        struct ctl *f = &t->ctls[0];
        if (!tr_materialize_all(t)) return false;
        uint32_t src =
            t->nvals >= f->nresults ? tr_canon(t, t->nvals - f->nresults) : tr_canon(t, 0);
        if (!pop_n(t, f->nresults, f->results)) return false;
        set_unreachable(t);
        return tr_emit(t, 0x0F) && tr_emit(t, src) && tr_emit(t, f->nresults);
    }
    case 0x10: { /* call */
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nfuncs) return tr_fail_idx(t, "unknown function", idx);
        const struct ftype *ft = &m->types[m->func_types[idx]];
        if (!tr_materialize_all(t)) return false;
        uint32_t base =
            t->nvals >= ft->nparams ? tr_canon(t, t->nvals - ft->nparams) : tr_canon(t, t->nvals);
        if (!pop_n(t, ft->nparams, ft->types) || !push_n(t, ft->nresults, ft->types + ft->nparams))
            return false;
        if (t->counting || idx < m->nfunc_imports)
            return tr_emit(t, 0x10) && tr_emit(t, idx) && tr_emit(t, base);
        uintptr_t fc = (uintptr_t)&m->funcs[idx - m->nfunc_imports].code;
        return tr_emit(t, OP_CALL_LOCAL) && tr_emit(t, base) && tr_emit(t, (uint32_t)fc) &&
               tr_emit(t, (uint32_t)((uint64_t)fc >> 32));
    }
    case 0x11: { /* call_indirect */
        uint32_t typeidx, table, i;
        if (!rd_u32(&t->r, &typeidx) || !rd_u32(&t->r, &table)) return false;
        if (!check_table(t, table)) return false;
        if (typeidx >= m->ntypes) return tr_fail_idx(t, "unknown type", typeidx);
        if (m->tables[table].type != SW_FUNCREF) return tr_fail(t, "type mismatch");
        const struct ftype *ft = &m->types[typeidx];
        if (!tr_pop_at(t, SW_I32, &i) || !tr_materialize_all(t)) return false;
        uint32_t base =
            t->nvals >= ft->nparams ? tr_canon(t, t->nvals - ft->nparams) : tr_canon(t, t->nvals);
        return pop_n(t, ft->nparams, ft->types) &&
               push_n(t, ft->nresults, ft->types + ft->nparams) && tr_emit(t, 0x11) &&
               tr_emit(t, typeidx) && tr_emit(t, table) && tr_emit(t, i) && tr_emit(t, base);
    }
    case 0x1A: { /* drop */
        uint8_t ty;
        return pop_any(t, &ty) && (!t->counting || tr_emit(t, 0x1A));
    }
    case 0x1B:   /* select */
    case 0x1C: { /* select t */
        uint8_t want = UNKNOWN;
        if (op == 0x1C) {
            uint32_t n;
            if (!rd_u32(&t->r, &n)) return false;
            if (n != 1) return tr_fail(t, "invalid result arity");
            uint8_t b;
            if (!rd_u8(&t->r, &b)) return false;
            if (!tr_one_type[b]) {
                if (b == 0x7B) return tr_fail(t, "SIMD not supported");
                return rd_fail(&t->r, "malformed value type");
            }
            want = b;
        }
        uint8_t a, b;
        uint32_t la, lb, lc;
        if (!tr_pop_at(t, SW_I32, &lc) || !pop_loc(t, &b, &lb) || !pop_loc(t, &a, &la))
            return false;
        uint8_t res;
        if (op == 0x1C) {
            if ((a != UNKNOWN && a != want) || (b != UNKNOWN && b != want))
                return tr_fail(t, "type mismatch");
            res = want;
        } else {
            if ((a != UNKNOWN && !is_num(a)) || (b != UNKNOWN && !is_num(b)))
                return tr_fail(t, "type mismatch");
            if (a != UNKNOWN && b != UNKNOWN && a != b) return tr_fail(t, "type mismatch");
            res = a != UNKNOWN ? a : b;
        }
        uint32_t d = tr_canon(t, t->nvals), sel = tr_fuse_select_eqz(t, prev_dst, &la, &lb, &lc);
        uint32_t k[2];
        sel = tr_fuse_select_andk(t, sel, &lc, k);
        bool andk = sel == OP_SELECT_ANDK || sel == OP_SELECT64_ANDK;
        return tr_push(t, res) && tr_emit(t, sel) && tr_emit_dst(t, d) && tr_emit(t, la) &&
               tr_emit(t, lb) && tr_emit(t, lc) && (!andk || tr_emit(t, k[0])) &&
               (sel != OP_SELECT64_ANDK || tr_emit(t, k[1]));
    }
    case 0x20:
    case 0x21:
    case 0x22: {
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= t->nlocals) return tr_fail_idx(t, "unknown local", idx);
        uint8_t ty = (uint8_t)t->locals[idx];
        if (op == 0x20) {
            if (!t->counting) {
                /* Emits nothing: the instruction before stays "previous"
                 * for the fusions of the next one. */
                t->last_dst = prev_dst;
                t->cur_start = t->prev_start;
                return tr_push_at(t, ty, idx);
            }
            uint32_t d = tr_canon(t, t->nvals);
            return tr_push(t, ty) && tr_emit(t, 0x20) && tr_emit_dst(t, d) && tr_emit(t, idx);
        }
        uint32_t from;
        if (!tr_pop_at(t, ty, &from)) return false;
        if (t->counting) {
            if (!tr_emit(t, op) || !tr_emit(t, idx) || !tr_emit(t, from)) return false;
            return op == 0x21 || tr_push_at(t, ty, from);
        }
        if (prev_dst && tr_drop_zero_store(t, idx, from, prev_dst))
            return op == 0x21 || tr_push_at(t, ty, idx);
        size_t ps = t->prev_start, before = t->ncode;
        if (!tr_set_local(t, idx, from, prev_dst)) return false;
        /* `i32.add; local.tee L` wrote the sum to L: a load from L next may
           absorb the add */
        if (op == 0x22 && prev_dst == ps + 2 && t->ncode == before && before == ps + 4 &&
            t->code[ps] == 0x6A && t->code[ps + 1] == idx)
            t->tee_add_next = ps + 1;
        return op == 0x21 || tr_push_at(t, ty, idx);
    }
    case 0x23:
    case 0x24: {
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nglobals) return tr_fail_idx(t, "unknown global", idx);
        uint8_t ty = (uint8_t)m->globals[idx].type;
        if (op == 0x23) {
            uint32_t d = tr_canon(t, t->nvals);
            return tr_push(t, ty) && tr_emit(t, op) && tr_emit_dst(t, d) && tr_emit(t, idx);
        }
        if (!m->globals[idx].mut) return tr_fail(t, "global is immutable");
        uint32_t v;
        return tr_pop_at(t, ty, &v) && tr_emit(t, op) && tr_emit(t, v) && tr_emit(t, idx);
    }
    case 0x25:
    case 0x26: {
        uint32_t idx, i, v;
        if (!rd_u32(&t->r, &idx) || !check_table(t, idx)) return false;
        uint8_t ty = (uint8_t)m->tables[idx].type;
        if (op == 0x25) {
            if (!tr_pop_at(t, SW_I32, &i)) return false;
            uint32_t d = tr_canon(t, t->nvals);
            return tr_push(t, ty) && tr_emit(t, op) && tr_emit_dst(t, d) && tr_emit(t, i) &&
                   tr_emit(t, idx);
        }
        return tr_pop_at(t, ty, &v) && tr_pop_at(t, SW_I32, &i) && tr_emit(t, op) &&
               tr_emit(t, i) && tr_emit(t, v) && tr_emit(t, idx);
    }
    case 0x3F:
    case 0x40: {
        if (!zero_byte(t)) return false;
        if (m->nmemories == 0) return tr_fail_idx(t, "unknown memory", 0);
        if (op == 0x3F) {
            uint32_t d = tr_canon(t, t->nvals);
            return tr_push(t, SW_I32) && tr_emit(t, op) && tr_emit_dst(t, d);
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
        uint32_t d = tr_canon(t, t->nvals);
        if (!tr_push(t, ty) || !tr_emit(t, op) || !tr_emit_dst(t, d)) return false;
        return (op == 0x41 || op == 0x43) ? tr_emit(t, (uint32_t)v) : tr_emit64(t, v);
    }
    case 0xD0: { /* ref.null */
        uint8_t b;
        if (!rd_u8(&t->r, &b)) return false;
        if (b != SW_FUNCREF && b != SW_EXTERNREF) return rd_fail(&t->r, "malformed reference type");
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, b) && tr_emit(t, 0xD0) && tr_emit_dst(t, d);
    }
    case 0xD1: { /* ref.is_null */
        uint8_t ty;
        uint32_t a;
        if (!pop_loc(t, &ty, &a)) return false;
        if (ty != UNKNOWN && !is_ref(ty)) return tr_fail(t, "type mismatch");
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, SW_I32) && tr_emit(t, 0xD1) && tr_emit_dst(t, d) && tr_emit(t, a);
    }
    case 0xD2: { /* ref.func */
        uint32_t idx;
        if (!rd_u32(&t->r, &idx)) return false;
        if (idx >= m->nfuncs) return tr_fail_idx(t, "unknown function", idx);
        if (!(m->declared_funcs[idx / 8] & (1u << (idx % 8))))
            return tr_fail(t, "undeclared function reference");
        uint32_t d = tr_canon(t, t->nvals);
        return tr_push(t, SW_FUNCREF) && tr_emit(t, 0xD2) && tr_emit_dst(t, d) && tr_emit(t, idx);
    }
    case 0xFC: return op_fc(t);
    case 0xFD: return tr_fail(t, "SIMD not supported");
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
            if (!tr_pop_at(t, SW_I32, &a)) return false;
            uint32_t d = tr_canon(t, t->nvals);
            bool failed;
            if (tr_fuse_load_const_address(t, op, ty, a, d, offset, prev_dst, &failed))
                return !failed;
            if (tr_fuse_load_address(t, op, ty, a, d, offset, prev_dst, &failed)) return !failed;
            return tr_push(t, ty) && tr_emit(t, op) && tr_emit_dst(t, d) && tr_emit(t, a) &&
                   tr_emit(t, offset);
        }
        if (!tr_pop_at(t, ty, &v) || !tr_pop_at(t, SW_I32, &a)) return false;
        bool failed;
        if (tr_fuse_store(t, op, a, v, offset, prev_dst, &failed)) return !failed;
        return tr_emit(t, op) && tr_emit(t, a) && tr_emit(t, v) && tr_emit(t, offset);
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
