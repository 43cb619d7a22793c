/* Translation: the emission of register-style internal code while a body
 * is validated, and the driver that reads a body's locals and runs the
 * validator (validate.c) over its instructions.
 *
 * Since the operand-stack depth is static, every operand has a frame slot
 * known now (locals first, then one slot per stack depth), and each
 * instruction names its operand and result slots, e.g. [i32.add, dst, a,
 * b]. There is no runtime stack pointer. Two cheap tricks remove most moves:
 * `local.get x` emits nothing and lets the stack entry point at local x's
 * slot until something needs it in its own slot (a write to x, a block
 * boundary, a branch, a call), and `local.set x` right after an instruction
 * that produced the value retargets that instruction's result slot to x.
 * Branch targets are resolved to code positions (forward ones patched at
 * `end`); each branch carries where its values are, where they go, and how
 * many. The fusions of fuse.c then merge neighbouring instructions.
 *
 * For opcode counting a second translation is made with both tricks and the
 * fusions off and markers for nop/block/drop, so every wasm instruction
 * executes as one counted internal instruction (except block `end`s). */
#include <stdlib.h>
#include <string.h>

#include "translate.h"

bool tr_emit(struct tr *t, uint32_t w)
{
    if (t->ncode == t->capcode) {
        size_t cap = t->capcode ? t->capcode * 2 : 64;
        uint32_t *c = realloc(t->code, cap * sizeof *c);
        if (!c) {
            t->nomem = true;
            return tr_fail(t, "out of memory");
        }
        t->code = c;
        t->capcode = cap;
    }
    t->code[t->ncode++] = w;
    return true;
}

bool tr_emit64(struct tr *t, uint64_t v)
{
    return tr_emit(t, (uint32_t)v) && tr_emit(t, (uint32_t)(v >> 32));
}

/* Emits a result-slot word and remembers it for the local.set retargeting. */
bool tr_emit_dst(struct tr *t, uint32_t slot)
{
    if (!tr_emit(t, slot)) return false;
    t->last_dst = t->ncode;
    return true;
}

/* Emits `dst = src`. In the fast translation a copy right after another
 * (nothing between, no label: t->mov_at is cleared where a branch target
 * is made) turns that one into OP_MOV2, and one right after an increment by
 * a constant (no label since: the barrier) that one into OP_ADDK_MOV, both
 * steps in their order. */
bool tr_emit_mov(struct tr *t, uint32_t dst, uint32_t src)
{
    size_t at = t->mov_at - 1, ak = t->addk_at - 1;
    if (!t->counting && t->addk_at && ak >= t->barrier && ak + 4 == t->ncode &&
        t->code[ak] == OP_IMM_BASE + 0x6A) {
        t->code[ak] = OP_ADDK_MOV;
        t->addk_at = 0;
        return tr_emit(t, dst) && tr_emit(t, src);
    }
    if (!t->counting && t->mov_at && at >= t->barrier && at + 3 == t->ncode &&
        t->code[at] == OP_MOV) {
        t->code[at] = OP_MOV2;
        t->mov_at = 0;
        return tr_emit(t, dst) && tr_emit(t, src);
    }
    t->mov_at = t->ncode + 1;
    return tr_emit(t, OP_MOV) && tr_emit(t, dst) && tr_emit(t, src);
}

/* Moves every deferred operand into its own slot. */
bool tr_materialize_all(struct tr *t)
{
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (t->locs[i] != tr_canon(t, i)) {
            if (!tr_emit_mov(t, tr_canon(t, i), t->locs[i])) return false;
            t->locs[i] = tr_canon(t, i);
        }
    }
    return true;
}

/* Before local x changes: operands still reading x get their own copy. */
bool tr_materialize_local(struct tr *t, uint32_t x, bool *had)
{
    *had = false;
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (t->locs[i] == x) {
            *had = true;
            if (!tr_emit_mov(t, tr_canon(t, i), x)) return false;
            t->locs[i] = tr_canon(t, i);
        }
    }
    return true;
}

void tr_note_target(struct tr *t, size_t pos)
{
    if (t->counting || t->targets_nomem) return;
    if (pos / 8 >= t->cap_targets) {
        size_t cap = t->cap_targets ? t->cap_targets * 2 : 64;
        while (pos / 8 >= cap)
            cap *= 2;
        uint8_t *n = realloc(t->targets, cap);
        if (!n) {
            t->targets_nomem = true; /* then nothing is paired */
            return;
        }
        memset(n + t->cap_targets, 0, cap - t->cap_targets);
        t->targets = n;
        t->cap_targets = cap;
    }
    t->targets[pos / 8] |= (uint8_t)(1u << (pos % 8));
}

void tr_patch_chain(struct tr *t, uint32_t chain, uint32_t target)
{
    if (chain) tr_note_target(t, target);
    while (chain) {
        uint32_t next = t->code[chain - 1];
        t->code[chain - 1] = target;
        chain = next;
    }
}

/* Emits target and destination-slot words for a branch to `c`. */
bool tr_emit_branch_target(struct tr *t, struct ctl *c)
{
    if (c->kind == CTL_LOOP) {
        if (!tr_emit(t, c->loop_pc)) return false;
    } else {
        if (!tr_emit(t, c->patch)) return false;
        c->patch = (uint32_t)t->ncode; /* position + 1 of the word just written */
    }
    return tr_emit(t, tr_canon(t, c->height));
}

/* local.set / local.tee of the value just popped from slot `from`. */
bool tr_set_local(struct tr *t, uint32_t x, uint32_t from, size_t prev_dst)
{
    bool had;
    if (t->written) t->written[x / 8] |= (uint8_t)(1u << (x % 8));
    if (from == x) return true; /* local.get x; local.set x */
    if (!tr_materialize_local(t, x, &had)) return false;
    if (!t->counting && !had && prev_dst && t->code[prev_dst - 1] == from) {
        t->code[prev_dst - 1] = x; /* the producer writes the local directly */
        return true;
    }
    return tr_emit_mov(t, x, from);
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
                tr_fail(&t, "out of memory");
            } else {
                memcpy(t.locals, ft->types, ft->nparams * sizeof *t.locals);
                t.nlocals = ft->nparams;
                t.r.p = groups_at;
                for (uint32_t i = 0; i < ngroups && tr_ok(&t); i++) {
                    uint32_t n;
                    uint8_t ty;
                    rd_u32(&t.r, &n);
                    rd_u8(&t.r, &ty);
                    if (!tr_one_type[ty]) {
                        t.r.p--;
                        if (ty == 0x7B)
                            tr_fail(&t, "SIMD not supported");
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
    t.nparams = ft->nparams;
    if (tr_ok(&t) && !counting) {
        /* most bodies have few locals: no allocation for those */
        t.written = t.nlocals < 8 * sizeof t.written_few ? t.written_few
                                                         : calloc((size_t)t.nlocals / 8 + 1, 1);
        if (!t.written) {
            t.nomem = true;
            tr_fail(&t, "out of memory");
        }
    }
    if (tr_ok(&t)) tr_push_ctl(&t, CTL_BLOCK, 0, NULL, ft->nresults, ft->types + ft->nparams);
    bool done = false;
    while (tr_ok(&t) && !done) {
        if (t.r.p >= t.r.end) {
            rd_fail(&t.r, "unexpected end of section or function");
            break;
        }
        tr_instr(&t, &done);
    }
    if (tr_ok(&t) && t.r.p != t.r.end) rd_fail(&t.r, "section size mismatch");
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
    if (t.written != t.written_few) free(t.written);
    free(t.vals);
    free(t.locs);
    free(t.ctls);
    if (st == SW_OK && !sw__check_code(t.code, t.ncode)) {
        /* an emitter wrote an instruction of another length than ops.h says */
        st = SW_ERR_INVALID;
        sw__set_error(err, st, "code", body_offset, "internal translation error");
    }
    if (st == SW_OK && !counting && !t.targets_nomem)
        sw__pair_code(t.code, t.ncode, t.targets, t.cap_targets * 8);
    free(t.targets);
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
