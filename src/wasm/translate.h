/* The translator's shared state and helpers: validation (validate.c),
 * code emission and the translation driver (translate.c) and the fusions
 * (fuse.c) work on one `struct tr` in a single pass over a body. Internal to
 * the engine. */
#ifndef STRATUS_WASM_TRANSLATE_H
#define STRATUS_WASM_TRANSLATE_H

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
    uint32_t nparams;
    uint8_t *written; /* fast translation: a bit per local written so far in
                         code order (local.set, local.tee); written_few or
                         owned when there are more locals */
    uint8_t written_few[32];
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
    /* For fusions across three instructions: where the last i32 add of a
       constant starts + 1 (0 = none), and where the last label (block,
       loop, if, else, end) stood: nothing fuses across it. */
    size_t addk_at;
    size_t mulload_at; /* the same for the last F64_MUL_LOAD */
    size_t shlk_at;    /* ... and for the last i32 shift left by a constant */
    size_t andk_at;    /* ... and for the last i32 or i64 and with a constant */
    size_t addk2_at;   /* ... and for the last OP_ADDK_ADDK */
    size_t mov_at;     /* ... and for the last slot copy (cleared where a
                          branch target is made) */
    /* Where an i32.add starts + 1 whose sum the instruction just before
       (local.tee) wrote to a local directly; set for the next instruction
       only (tee_add_next while the tee is translated). */
    size_t tee_add, tee_add_next;
    size_t barrier;
    size_t barrier_before; /* barrier before the current instruction (an `if`
                              moves it to its own start) */
    /* Code positions a branch may reach (loop starts, the positions forward
       branches were patched to), one bit each, for the pairing pass. */
    uint8_t *targets;
    size_t cap_targets; /* bytes */
    bool targets_nomem;
};
/* translate.c: notes that a branch may reach code position `pos`. */
void tr_note_target(struct tr *t, size_t pos);

/* validate.c: the value type of a one-byte block or value type, else 0. */
extern const sw_valtype tr_one_type[256];

/* validate.c: errors ("type mismatch", "unknown local 7"; always false), the
 * state check, and the operand and control stacks. */
bool tr_fail(struct tr *t, const char *why);
bool tr_fail_idx(struct tr *t, const char *what, uint32_t idx);
bool tr_ok(struct tr *t);
uint32_t tr_canon(const struct tr *t, uint32_t depth);
bool tr_push_at(struct tr *t, uint8_t type, uint32_t loc);
bool tr_push(struct tr *t, uint8_t type);
bool tr_pop_at(struct tr *t, uint8_t want, uint32_t *loc);
bool tr_push_ctl(struct tr *t, enum ctl_kind kind, uint32_t np, const sw_valtype *p, uint32_t nr,
                 const sw_valtype *r);

/* validate.c: one instruction; *done at the body's final `end`. */
bool tr_instr(struct tr *t, bool *done);

/* translate.c: emission. tr_emit_dst writes a result-slot word and notes it
 * for local.set retargeting; tr_emit_mov a slot copy (two in a row become
 * one instruction); materialize moves deferred local.get operands
 * into their own slots; branch targets are chained and patched at `end`. */
bool tr_emit(struct tr *t, uint32_t w);
bool tr_emit64(struct tr *t, uint64_t v);
bool tr_emit_dst(struct tr *t, uint32_t slot);
bool tr_emit_mov(struct tr *t, uint32_t dst, uint32_t src);
bool tr_materialize_all(struct tr *t);
bool tr_materialize_local(struct tr *t, uint32_t x, bool *had);
void tr_patch_chain(struct tr *t, uint32_t chain, uint32_t target);
bool tr_emit_branch_target(struct tr *t, struct ctl *c);
bool tr_set_local(struct tr *t, uint32_t x, uint32_t from, size_t prev_dst);

/* fuse.c: each returns true when it emitted the fused form (then *failed
 * tells whether emitting ran out of memory), false to emit the plain one. */
bool tr_prev_feeds(const struct tr *t, size_t prev_dst, uint32_t op, size_t len, uint32_t slot);
bool tr_fuse_f64(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d, size_t prev_dst,
                 bool *failed);
/* `select` whose condition c is the i32.eqz or i64.eqz just emitted: drops
 * the eqz, swaps *a and *b, makes *c its operand; returns the opcode to emit
 * (select, or OP_SELECT64 after i64.eqz). Never emits. */
uint32_t tr_fuse_select_eqz(struct tr *t, size_t prev_dst, uint32_t *a, uint32_t *b, uint32_t *c);
/* After tr_fuse_select_eqz: when the condition *c (of select `sel`) is an
 * and with a constant just before (i32, or i64 for OP_SELECT64), the and
 * is taken back out, *c becomes its operand and k[0..1] the constant;
 * returns OP_SELECT_ANDK or OP_SELECT64_ANDK, else `sel`. Never emits. */
uint32_t tr_fuse_select_andk(struct tr *t, uint32_t sel, uint32_t *c, uint32_t k[2]);
/* `x + y` feeding another add of the same type: one sum of three. */
bool tr_fuse_add3(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d, size_t prev_dst,
                  bool *failed);
bool tr_fuse_const_operand(struct tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t d,
                           uint8_t res, size_t prev_dst, bool *failed);
bool tr_fuse_load_const_address(struct tr *t, uint32_t op, uint8_t ty, uint32_t a, uint32_t d,
                                uint32_t offset, size_t prev_dst, bool *failed);
bool tr_fuse_load_address(struct tr *t, uint32_t op, uint8_t ty, uint32_t a, uint32_t d,
                          uint32_t offset, size_t prev_dst, bool *failed);
bool tr_fuse_store(struct tr *t, uint32_t op, uint32_t a, uint32_t v, uint32_t offset,
                   size_t prev_dst, bool *failed);
/* Compare-and-branch: *fused = 0 when the previous instruction is no
 * comparison feeding `cond`; else the fused branch opcode and its operands
 * (the comparison is taken back out of the code). */
void tr_fuse_if_compare(struct tr *t, size_t prev_dst, uint32_t cond, uint32_t *fused, uint32_t *fa,
                        uint32_t *fb);
/* After a compare with a constant fused for br_if: when an increment of
 * the compared local comes just before, both and the branch become one
 * (*fused = OP_ADDK_BRNE_K, words d, a, K, N in w[4]). */
bool tr_fuse_increment_branch(struct tr *t, uint32_t fused, uint32_t fa, uint32_t fb,
                              uint32_t w[4]);
/* `K; local.set x` (or local.tee) with K a zero of any type, x a declared
 * local (no parameter) no instruction before wrote, outside every loop: x
 * still holds the zero it started with, so the constant is taken back out
 * and nothing is emitted (returns true). */
bool tr_drop_zero_store(struct tr *t, uint32_t x, uint32_t from, size_t prev_dst);
void tr_fuse_brif_compare(struct tr *t, size_t prev_dst, uint32_t cond, uint32_t *fused,
                          uint32_t *fa, uint32_t *fb, uint32_t *fb2);

#endif
