/* Fusions of the fast translation: an instruction absorbs the one emitted
 * just before it (local.get, which emits nothing, may lie between) when the
 * pair has a single internal form. Every function here runs for the fast
 * translation only (the counting one keeps one internal instruction per wasm
 * instruction) and gives the same results as the pair, traps included:
 * - a constant second operand: `x; i32.const K; op` -> [op+imm, dst, x, K];
 * - an i32/i64 comparison (or eqz) feeding br_if, or feeding `if` (then a
 *   branch on the opposite comparison to the else part); an f64 comparison
 *   feeding br_if (not `if`: with NaNs the opposite is no comparison); a
 *   bit test `x & K` feeding br_if or `if`, directly or through i32.eqz;
 * - a load from a constant address, a store of a constant value;
 * - a load whose value goes straight to a store of the same width, also
 *   with both addresses sums of a value and a constant just computed;
 * - a load whose address is the sum just computed (of two values, or of a
 *   value and a constant: the add wraps first, exactly as unfused), and
 *   for 32/64-bit loads a shifted value plus a constant (array elements),
 *   or (not f64) a sum local.tee keeps in a local;
 * - f64 products and loads feeding add/sub/mul, `mem[a] += x` and
 *   `mem[a] += y * mem[b]`; sums of three (i32, f64);
 * - i32.eqz or i64.eqz feeding select: the select with its operands swapped,
 *   and a bit test `x & K` feeding select (directly or through the eqz);
 * - a zero stored to a local that still holds its initial zero: nothing.
 * The "previous instruction" is the one starting at t->prev_start whose
 * result-slot word is at prev_dst - 1 (prev_dst = 0: none). */
#include "translate.h"

/* Binary operators that have a constant-operand form: 1 for i32, 2 for i64,
 * 3 for f64. */
static const uint8_t imm_ok[256] = {
    [0x46] = 1,
    [0x47] = 1,
    [0x48] = 1,
    [0x49] = 1,
    [0x4A] = 1,
    [0x4B] = 1,
    [0x4C] = 1,
    [0x4D] = 1,
    [0x4E] = 1,
    [0x4F] = 1,
    [0x6A] = 1,
    [0x6B] = 1,
    [0x6C] = 1,
    [0x71] = 1,
    [0x72] = 1,
    [0x73] = 1,
    [0x74] = 1,
    [0x75] = 1,
    [0x76] = 1,
    [0x7C] = 2,
    [0x7D] = 2,
    [0x7E] = 2,
    [0x83] = 2,
    [0x84] = 2,
    [0x86] = 2,
    [0x87] = 2,
    [0x88] = 2,
    [0x51] = 2,
    [0x52] = 2,
    [0x53] = 2,
    [0x54] = 2,
    [0x55] = 2,
    [0x56] = 2,
    [0x57] = 2,
    [0x58] = 2,
    [0x59] = 2,
    [0x5A] = 2,
    /* f64 (3): a constant from f64.const */
    [0x61] = 3,
    [0x62] = 3,
    [0x63] = 3,
    [0x64] = 3,
    [0x65] = 3,
    [0x66] = 3,
    [0xA0] = 3,
    [0xA1] = 3,
    [0xA2] = 3,
    [0xA3] = 3,
};

/* Whether the instruction just emitted (local.get may lie between) is `op`,
 * `len` words long, and wrote its result to the operand stack's `slot`: then
 * the current instruction may absorb it (fast translation only). */
bool tr_prev_feeds(const struct tr *t, size_t prev_dst, uint32_t op, size_t len, uint32_t slot)
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
/* An f64 load at a sum with a constant (OP_LOAD_ADDK_BASE + 3) feeding
 * add/sub/mul: [op, dst, x, a, K, offset]. */
static bool fuse_f64_loadk(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d,
                           size_t prev_dst, bool *failed)
{
    size_t ps = t->prev_start;
    if (t->counting || prev_dst != ps + 2 || t->ncode != ps + 5 ||
        t->code[ps] != OP_LOAD_ADDK_BASE + 3)
        return false;
    uint32_t tmp = t->code[ps + 1];
    if (tmp < t->nlocals || (a != tmp && b != tmp) || a == b) return false;
    uint32_t x = a == tmp ? b : a, at = t->code[ps + 2], k = t->code[ps + 3], off = t->code[ps + 4];
    uint32_t fused = op == 0xA2   ? OP_F64_MUL_LOADK
                     : op == 0xA0 ? OP_F64_ADD_LOADK
                     : a == tmp   ? OP_F64_LOADK_SUB
                                  : OP_F64_SUB_LOADK;
    t->ncode = ps;
    t->cur_start = ps;
    *failed = !(tr_push(t, SW_F64) && tr_emit(t, fused) && tr_emit_dst(t, d) && tr_emit(t, x) &&
                tr_emit(t, at) && tr_emit(t, k) && tr_emit(t, off));
    return true;
}

bool tr_fuse_f64(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d, size_t prev_dst,
                 bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    if (fuse_f64_loadk(t, op, a, b, d, prev_dst, failed)) return true;
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
    if (fused == OP_F64_MUL_LOAD) t->mulload_at = ps + 1;
    *failed = !(tr_push(t, SW_F64) && tr_emit(t, fused) && tr_emit_dst(t, d) && tr_emit(t, x) &&
                tr_emit(t, y) && tr_emit(t, other));
    return true;
}

/* `local += K1; local += K2` one after the other: one instruction. */
static bool fuse_two_increments(struct tr *t, uint32_t a, uint32_t d, uint32_t k, size_t ps,
                                bool *failed)
{
    size_t at = t->addk_at - 1;
    if (!t->addk_at || at < t->barrier || at + 4 != ps || t->code[at] != OP_IMM_BASE + 0x6A)
        return false;
    uint32_t d1 = t->code[at + 1], a1 = t->code[at + 2], k1 = t->code[at + 3];
    t->ncode = at;
    t->cur_start = at;
    t->addk_at = 0;
    t->addk2_at = at + 1;
    *failed =
        !(tr_push(t, SW_I32) && tr_emit(t, OP_ADDK_ADDK) && tr_emit(t, d1) && tr_emit(t, a1) &&
          tr_emit(t, k1) && tr_emit_dst(t, d) && tr_emit(t, a) && tr_emit(t, k));
    return true;
}

bool tr_fuse_increment_branch(struct tr *t, uint32_t fused, uint32_t fa, uint32_t fb, uint32_t w[4])
{
    size_t at = t->addk_at - 1;
    if (fused != OP_BRIF_IMM_BASE + 0x47 || !t->addk_at || at < t->barrier || at + 4 != t->ncode ||
        t->code[at] != OP_IMM_BASE + 0x6A || t->code[at + 1] != fa)
        return false;
    /* values waiting to be moved would move after the increment: only when
       there are none */
    for (uint32_t i = 0; i < t->nvals; i++)
        if (t->locs[i] != tr_canon(t, i)) return false;
    w[0] = t->code[at + 1];
    w[1] = t->code[at + 2];
    w[2] = t->code[at + 3];
    w[3] = fb;
    t->ncode = at;
    t->addk_at = 0;
    return true;
}

bool tr_fuse_add3(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d, size_t prev_dst,
                  bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    if (!tr_prev_feeds(t, prev_dst, op, 4, a) && !tr_prev_feeds(t, prev_dst, op, 4, b))
        return false;
    uint32_t tmp = t->code[ps + 1], x = t->code[ps + 2], y = t->code[ps + 3];
    if (a == b) return false;
    uint32_t z = a == tmp ? b : a;
    t->ncode = ps;
    t->cur_start = ps;
    *failed = !(tr_push(t, op == 0x6A ? SW_I32 : SW_F64) &&
                tr_emit(t, op == 0x6A ? OP_I32_ADD3 : OP_F64_ADD3) && tr_emit_dst(t, d) &&
                tr_emit(t, x) && tr_emit(t, y) && tr_emit(t, z));
    return true;
}

bool tr_fuse_const_operand(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d,
                           uint8_t res, size_t prev_dst, bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    if (t->counting || prev_dst != ps + 2 || t->code[ps + 1] != b || op >= 0x100) return false;
    bool k32 = t->code[ps] == 0x41 && imm_ok[op] == 1;
    bool k64 = (t->code[ps] == 0x42 && imm_ok[op] == 2) || (t->code[ps] == 0x44 && imm_ok[op] == 3);
    if (!k32 && !k64) return false;
    uint32_t k0 = t->code[ps + 2], k1 = k64 ? t->code[ps + 3] : 0;
    t->ncode = ps;
    if (op == 0x6A && fuse_two_increments(t, a, d, k0, ps, failed)) return true;
    if (op == 0x6A) t->addk_at = ps + 1;
    if (op == 0x74) t->shlk_at = ps + 1;
    if (op == 0x71 || op == 0x83) t->andk_at = ps + 1;
    t->cur_start = ps; /* the fused instruction is the previous one of the next */
    *failed = !(tr_push(t, res) && tr_emit(t, OP_IMM_BASE + op) && tr_emit_dst(t, d) &&
                tr_emit(t, a) && tr_emit(t, k0) && (!k64 || tr_emit(t, k1)));
    return true;
}

/* `x; i32.const K; i32.and; i32.eqz` with the eqz at ps: when the and
 * (a temporary) comes just before it, both are taken back out of the code
 * and *a, *k are x and K. */
static bool fuse_andk_eqz(struct tr *t, size_t ps, uint32_t *a, uint32_t *k)
{
    size_t at = t->andk_at - 1;
    if (!t->andk_at || at < t->barrier_before || at + 4 != ps ||
        t->code[at] != OP_IMM_BASE + 0x71 || t->code[at + 1] != t->code[ps + 2] ||
        t->code[at + 1] < t->nlocals)
        return false;
    *a = t->code[at + 2];
    *k = t->code[at + 3];
    t->ncode = at;
    t->andk_at = 0;
    return true;
}

void tr_fuse_if_compare(struct tr *t, size_t prev_dst, uint32_t cond, uint32_t *fused, uint32_t *fa,
                        uint32_t *fb)
{
    *fused = *fa = *fb = 0;
    size_t ps = t->prev_start;
    if (t->counting || prev_dst != ps + 2 || t->code[ps + 1] != cond) return;
    static const uint8_t opposite[16] = {
        [0x5] = 0x47, [0x6] = 0x47, [0x7] = 0x46, [0x8] = 0x4E, [0x9] = 0x4F, [0xA] = 0x4C,
        [0xB] = 0x4D, [0xC] = 0x4A, [0xD] = 0x4B, [0xE] = 0x48, [0xF] = 0x49};
    uint32_t cop = t->code[ps];
    /* operands are read only once the previous instruction is known to be a
       compare: a shorter one may end the code buffer at ps + 2 */
    if (cop == 0x45 && fuse_andk_eqz(t, ps, fa, fb)) {
        *fused = OP_BRIF_ANDK_NZ; /* `(x & K) == 0` false: jump when x & K */
        return;
    } else if (cop == 0x45) {
        *fused = OP_BRIF_IMM_BASE + 0x47; /* eqz: jump when a != 0 */
    } else if (cop == OP_IMM_BASE + 0x71) {
        *fused = OP_BRIF_ANDK_Z; /* `if (x & K)`: to the else part when 0 */
        *fb = t->code[ps + 3];
        t->andk_at = 0;
    } else if (cop >= 0x46 && cop <= 0x4F) {
        *fused = OP_BRIF_BASE + opposite[cop - 0x40];
        *fb = t->code[ps + 3];
    } else if (cop >= OP_IMM_BASE + 0x46 && cop <= OP_IMM_BASE + 0x4F) {
        *fused = OP_BRIF_IMM_BASE + opposite[cop - OP_IMM_BASE - 0x40];
        *fb = t->code[ps + 3];
    }
    if (*fused) {
        *fa = t->code[ps + 2];
        t->ncode = ps;
    }
}

void tr_fuse_brif_compare(struct tr *t, size_t prev_dst, uint32_t cond, uint32_t *fused,
                          uint32_t *fa, uint32_t *fb, uint32_t *fb2)
{
    *fused = *fa = *fb = *fb2 = 0;
    size_t ps = t->prev_start;
    if (t->counting || prev_dst != ps + 2 || t->code[ps + 1] != cond) return;
    uint32_t pop_ = t->code[ps];
    if (pop_ == 0x45 && fuse_andk_eqz(t, ps, fa, fb)) {
        *fused = OP_BRIF_ANDK_Z; /* br_if ((x & K) == 0) */
        return;
    }
    if (pop_ == OP_IMM_BASE + 0x71) {
        *fused = OP_BRIF_ANDK_NZ; /* br_if (x & K) */
        *fa = t->code[ps + 2];
        *fb = t->code[ps + 3];
        t->ncode = ps;
        t->andk_at = 0;
        return;
    }
    if ((pop_ >= 0x45 && pop_ <= 0x5A) || (pop_ >= 0x61 && pop_ <= 0x66))
        *fused = OP_BRIF_BASE + pop_;
    else if (pop_ >= OP_IMM_BASE + 0x46 && pop_ <= OP_IMM_BASE + 0x5A && pop_ != OP_IMM_BASE + 0x50)
        *fused = OP_BRIF_IMM_BASE + (pop_ - OP_IMM_BASE);
    else if (pop_ >= OP_IMM_BASE + 0x61 && pop_ <= OP_IMM_BASE + 0x66)
        *fused = OP_BRIF_F64_K_BASE + (pop_ - OP_IMM_BASE - 0x61);
    if (!*fused) return;
    *fa = t->code[ps + 2];
    *fb = (pop_ == 0x45 || pop_ == 0x50) ? 0 : t->code[ps + 3];
    *fb2 = pop_ >= OP_IMM_BASE + 0x51 ? t->code[ps + 4] : 0; /* 64-bit K: two words */
    t->ncode = ps;
}

bool tr_fuse_load_const_address(struct tr *t, uint32_t op, uint8_t ty, uint32_t a, uint32_t d,
                                uint32_t offset, size_t prev_dst, bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    if (t->counting || prev_dst != ps + 2 || t->code[ps] != 0x41 || t->code[ps + 1] != a)
        return false;
    /* `i32.const K; load`: the address is an immediate */
    uint32_t k = t->code[ps + 2];
    t->ncode = ps;
    t->cur_start = ps;
    *failed = !(tr_push(t, ty) && tr_emit(t, OP_ABS_BASE + (op - 0x28)) && tr_emit_dst(t, d) &&
                tr_emit(t, k) && tr_emit(t, offset));
    return true;
}

bool tr_fuse_load_address(struct tr *t, uint32_t op, uint8_t ty, uint32_t a, uint32_t d,
                          uint32_t offset, size_t prev_dst, bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    uint32_t base;
    size_t at = t->tee_add - 1;
    /* (not for f64: a plain f64.load fuses into the arithmetic after it) */
    if (t->tee_add && op <= 0x2A && at >= t->barrier && at + 4 == t->ncode && t->code[at] == 0x6A &&
        t->code[at + 1] == a) {
        /* `x; y; i32.add; local.tee L; load`: one instruction writing L
           and loading from it */
        uint32_t x = t->code[at + 2], y = t->code[at + 3];
        t->ncode = at;
        t->cur_start = at;
        *failed = !(tr_push(t, ty) && tr_emit(t, OP_LOAD_ADD_TEE_BASE + (op - 0x28)) &&
                    tr_emit_dst(t, d) && tr_emit(t, a) && tr_emit(t, x) && tr_emit(t, y) &&
                    tr_emit(t, offset));
        return true;
    }
    if (tr_prev_feeds(t, prev_dst, 0x6A, 4, a))
        base = OP_LOAD_ADD_BASE; /* `x; y; i32.add; load` */
    else if (tr_prev_feeds(t, prev_dst, OP_IMM_BASE + 0x6A, 4, a))
        base = OP_LOAD_ADDK_BASE; /* `x; i32.const K; i32.add; load` */
    else
        return false;
    uint32_t x = t->code[ps + 2], y = t->code[ps + 3];
    /* `i32.shl K1; i32.const K2; i32.add; load` (an array's element at
       (i << K1) + K2), of 32 or 64 bits: the shift folds in too */
    size_t sh = t->shlk_at - 1;
    if (base == OP_LOAD_ADDK_BASE && op <= 0x2B && t->shlk_at && sh >= t->barrier && sh + 4 == ps &&
        t->code[sh] == OP_IMM_BASE + 0x74 && t->code[sh + 1] == x && x >= t->nlocals) {
        uint32_t i = t->code[sh + 2], s = t->code[sh + 3] & 31;
        t->ncode = sh;
        t->cur_start = sh;
        t->shlk_at = 0;
        *failed = !(tr_push(t, ty) && tr_emit(t, OP_LOAD_SCALED_BASE + (op - 0x28)) &&
                    tr_emit_dst(t, d) && tr_emit(t, i) && tr_emit(t, s) && tr_emit(t, y) &&
                    tr_emit(t, offset));
        return true;
    }
    t->ncode = ps;
    t->cur_start = ps;
    *failed = !(tr_push(t, ty) && tr_emit(t, base + (op - 0x28)) && tr_emit_dst(t, d) &&
                tr_emit(t, x) && tr_emit(t, y) && tr_emit(t, offset));
    return true;
}

/* The load of a copy at ps (its width checked) whose address, and the
 * store's address `to`, are the two sums of the OP_ADDK_ADDK just before,
 * both temporaries (nothing reads them after the store): one copy at the
 * two sums. */
static bool fuse_copy_at_sums(struct tr *t, uint32_t log2w, uint32_t to, uint32_t to_off,
                              bool *failed)
{
    size_t ps = t->prev_start, at = t->addk2_at - 1;
    if (!t->addk2_at || at < t->barrier || at + 7 != ps || t->code[at] != OP_ADDK_ADDK)
        return false;
    uint32_t d1 = t->code[at + 1], a1 = t->code[at + 2], k1 = t->code[at + 3];
    uint32_t d2 = t->code[at + 4], a2 = t->code[at + 5], k2 = t->code[at + 6];
    /* (a2 == d1: the second sum would read the first, which is not kept) */
    if (d1 != to || d2 != t->code[ps + 2] || d1 == d2 || d1 < t->nlocals || d2 < t->nlocals ||
        a2 == d1)
        return false;
    uint32_t from_off = t->code[ps + 3];
    t->ncode = at;
    t->addk2_at = 0;
    *failed = !(tr_emit(t, OP_COPY_ADDK_BASE + log2w) && tr_emit(t, a1) && tr_emit(t, k1) &&
                tr_emit(t, a2) && tr_emit(t, k2) && tr_emit(t, from_off) && tr_emit(t, to_off));
    return true;
}

bool tr_fuse_store(struct tr *t, uint32_t op, uint32_t a, uint32_t v, uint32_t offset,
                   size_t prev_dst, bool *failed)
{
    size_t ps = t->prev_start;
    *failed = false;
    /* `i32.const K; i32.store` (and i64, store8, store16): K is an
       immediate of the store */
    bool k32 = op == 0x36 || op == 0x3A || op == 0x3B, k64 = op == 0x37;
    if ((k32 && tr_prev_feeds(t, prev_dst, 0x41, 3, v)) ||
        (k64 && tr_prev_feeds(t, prev_dst, 0x42, 4, v))) {
        uint32_t k0 = t->code[ps + 2], k1 = k64 ? t->code[ps + 3] : 0;
        t->ncode = ps;
        *failed = !(tr_emit(t, OP_STORE_K_BASE + (op - 0x36)) && tr_emit(t, a) && tr_emit(t, k0) &&
                    (!k64 || tr_emit(t, k1)) && tr_emit(t, offset));
        return true;
    }
    /* `to; from; load; store` of the same width: the value goes from
       memory to memory (a narrow load's extension is cut off again) */
    if (prev_dst == ps + 2 && t->ncode == ps + 4 && t->code[ps + 1] == v && v >= t->nlocals &&
        !t->counting && a != v) {
        static const int8_t load_width[14] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
        static const int8_t store_width[9] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
        uint32_t lop = t->code[ps];
        bool same_width =
            lop >= 0x28 && lop <= 0x35 && load_width[lop - 0x28] == store_width[op - 0x36];
        if (same_width && fuse_copy_at_sums(t, (uint32_t)store_width[op - 0x36], a, offset, failed))
            return true;
        if (same_width && t->code[ps + 2] != v) {
            uint32_t from = t->code[ps + 2], from_off = t->code[ps + 3];
            t->ncode = ps;
            *failed =
                !(tr_emit(t, OP_COPY_BASE + (uint32_t)store_width[op - 0x36]) && tr_emit(t, a) &&
                  tr_emit(t, from) && tr_emit(t, from_off) && tr_emit(t, offset));
            return true;
        }
    }
    /* `f64.load a off; x; f64.add; f64.store a off` (fused into
       OP_F64_ADD_LOAD just before): one read-modify-write */
    if (op == 0x39 && tr_prev_feeds(t, prev_dst, OP_F64_ADD_LOAD, 5, v) && t->code[ps + 3] == a &&
        t->code[ps + 4] == offset) {
        uint32_t x = t->code[ps + 2];
        /* and the addend the product of an f64 load just before: axpy */
        size_t at = t->mulload_at - 1;
        if (t->mulload_at && at >= t->barrier && at + 5 == ps && t->code[at] == OP_F64_MUL_LOAD &&
            t->code[at + 1] == x && x >= t->nlocals && t->code[at + 2] != x &&
            t->code[at + 3] != x) {
            uint32_t y = t->code[at + 2], b = t->code[at + 3], boff = t->code[at + 4];
            t->ncode = at;
            t->mulload_at = 0;
            *failed = !(tr_emit(t, OP_F64_AXPY) && tr_emit(t, a) && tr_emit(t, y) &&
                        tr_emit(t, b) && tr_emit(t, boff) && tr_emit(t, offset));
            return true;
        }
        t->ncode = ps;
        *failed = !(tr_emit(t, OP_F64_ADD_TO_MEM) && tr_emit(t, a) && tr_emit(t, x) &&
                    tr_emit(t, offset));
        return true;
    }
    return false;
}

uint32_t tr_fuse_select_eqz(struct tr *t, size_t prev_dst, uint32_t *a, uint32_t *b, uint32_t *c)
{
    size_t ps = t->prev_start;
    bool eqz32 = tr_prev_feeds(t, prev_dst, 0x45, 3, *c);
    if (!eqz32 && !tr_prev_feeds(t, prev_dst, 0x50, 3, *c)) return 0x1B;
    /* select(a, b, x == 0) is select(b, a, x) */
    uint32_t x = t->code[ps + 2], swap = *a;
    *a = *b;
    *b = swap;
    *c = x;
    t->ncode = ps;
    t->cur_start = ps;
    return eqz32 ? 0x1B : OP_SELECT64;
}

bool tr_drop_zero_store(struct tr *t, uint32_t x, uint32_t from, size_t prev_dst)
{
    size_t ps = t->prev_start;
    /* the constant first (cheapest to rule out): i32/f32 in 3 words, i64/f64
       in 4, every word 0 (so not -0.0) */
    if (t->counting || prev_dst != ps + 2 || t->code[ps] < 0x41 || t->code[ps] > 0x44) return false;
    uint32_t op = t->code[ps], len = op == 0x41 || op == 0x43 ? 3 : 4;
    if (!tr_prev_feeds(t, prev_dst, op, len, from) || t->code[ps + 2] ||
        (len == 4 && t->code[ps + 3]))
        return false;
    if (x < t->nparams || (t->written[x / 8] & (1u << (x % 8)))) return false;
    /* Inside a loop a branch back may bring an earlier write around; outside
       every loop only forward branches reach here, from code before it,
       none of which wrote x. */
    for (uint32_t i = 0; i < t->nctls; i++)
        if (t->ctls[i].kind == CTL_LOOP) return false;
    t->ncode = ps;
    t->cur_start = ps;
    return true;
}

uint32_t tr_fuse_select_andk(struct tr *t, uint32_t sel, uint32_t *c, uint32_t k[2])
{
    size_t at = t->andk_at - 1, len = sel == OP_SELECT64 ? 5 : 4;
    uint32_t andk = sel == OP_SELECT64 ? OP_IMM_BASE + 0x83 : OP_IMM_BASE + 0x71;
    if (t->counting || !t->andk_at || at < t->barrier || at + len != t->ncode ||
        t->code[at] != andk || t->code[at + 1] != *c || *c < t->nlocals)
        return sel;
    *c = t->code[at + 2];
    k[0] = t->code[at + 3];
    k[1] = len == 5 ? t->code[at + 4] : 0;
    t->ncode = at;
    t->cur_start = at;
    t->andk_at = 0;
    return sel == OP_SELECT64 ? OP_SELECT64_ANDK : OP_SELECT_ANDK;
}
