/* The internal instruction set of the translated code, every instruction
 * defined once: X(NAME, CODE, WORDS). NAME's handler is h_NAME in
 * interp_loop.inc (the dispatch table is made from this list, so a missing
 * handler does not compile); CODE is its number in the code the translator
 * emits (wasm opcodes keep their byte, fused forms live above 0xFF, see the
 * bases in internal.h); WORDS is its length in 32-bit words, the opcode
 * included, 0 for br_table (5 + 2 * (targets + 1), the count at word 4).
 * Lengths (sw__op_words) come from here too: a translator that emits a different length fails the
 * check of every translated function (sw__check_code), not a test run.
 *
 * The operands after the opcode are frame slots unless said otherwise
 * (interp_loop.inc): [op, dst, a(, b)] for numeric ops, [op, dst, addr,
 * offset] for loads, [op, addr, value, offset] for stores, K for constants
 * (two words for 64-bit ones), targets as code positions. */
#ifndef STRATUS_WASM_OPS_H
#define STRATUS_WASM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Numbers of the instruction groups (the list below names every one). */
/* Internal opcodes of the translated code for the 0xFC group: 0xE0 + sub-op. */
#define OP_FC_BASE 0xE0
/* Internal opcode: jump without condition (used for `else`). */
#define OP_JMP 0x05
/* Internal opcode: jump if an i32 slot is zero (used for `if`). */
#define OP_BR_UNLESS 0x04
/* Fused forms made by the fast translation only (never counted):
 * OP_IMM_BASE + op: a binary operator whose second operand is a constant;
 * OP_BRIF_BASE + op: an i32, i64 or f64 comparison (or eqz) folded into
 * br_if;
 * OP_BRIF_IMM_BASE + op: the same with a constant second operand. */
#define OP_IMM_BASE 0x100
#define OP_BRIF_BASE 0x200
/* OP_ABS_BASE + (load - 0x28): a load from a constant address */
#define OP_ABS_BASE 0x1C0
#define OP_BRIF_IMM_BASE 0x280
/* Fused f64 arithmetic, [op, dst, x, y, c] (fast translation only):
 * x*y + c, x*y - c, c - x*y, x*y*c (each step rounded, as the unfused
 * code), and [op, dst, x, addr, offset]: x * load, x + load, load - x,
 * x - load of an f64. */
#define OP_F64_MUL_ADD 0x2E0
#define OP_F64_MUL_SUB 0x2E1
#define OP_F64_SUB_MUL 0x2E2
#define OP_F64_MUL_LOAD 0x2E3
#define OP_F64_ADD_LOAD 0x2E4
#define OP_F64_MUL_MUL 0x2E5
#define OP_F64_LOAD_SUB 0x2E6
#define OP_F64_SUB_LOAD 0x2E7
/* OP_STORE_K_BASE + (store - 0x36): a store of a constant value,
 * [op, addr, K, offset] (i64.store: K in two words), for i32.store,
 * i64.store, i32.store8 and i32.store16. */
#define OP_STORE_K_BASE 0x2E8
/* `mem[a + off] += x` of f64s, [op, addr, x, offset]: an f64 load feeding an
 * add whose sum is stored back to the same address (fast translation only). */
#define OP_F64_ADD_TO_MEM 0x2F1
/* OP_LOAD_ADD_BASE + (load - 0x28): a load whose address is the sum just
 * computed, [op, dst, x, y, offset] at (u32)(x + y) + offset;
 * OP_LOAD_ADDK_BASE + (load - 0x28): ... of a slot and a constant, [op,
 * dst, x, K, offset] at (u32)(x + K) + offset (the wrap is the program's:
 * compilers emit such adds exactly when it may happen). */
#define OP_LOAD_ADD_BASE 0x300
#define OP_LOAD_ADDK_BASE 0x310
/* OP_COPY_BASE + log2(bytes): a load whose value goes straight to a store
 * of the same width, [op, to_addr, from_addr, from_offset, to_offset]: the
 * bytes are copied as they are (float bits included), the load's bounds
 * checked first. */
#define OP_COPY_BASE 0x320
/* Two increments of locals by constants in a row, [op, d1, a1, K1, d2, a2,
 * K2]; and an increment followed by a branch while the new value differs
 * from a constant (a counted loop's back edge), [op, d, a, K, N, target,
 * dst, n, src]. */
#define OP_ADDK_ADDK 0x324
#define OP_ADDK_BRNE_K 0x325
/* `mem[a] += y * mem[b]` of f64s, [op, a, y, b, b_offset, a_offset] (the
 * product rounded, then the sum, as unfused; mem[b] read first); and sums
 * of three, [op, dst, x, y, z] = (x + y) + z, i32 and f64. */
#define OP_F64_AXPY 0x326
#define OP_I32_ADD3 0x327
#define OP_F64_ADD3 0x328
/* The f64 load fusions for a load at a sum with a constant: [op, dst, x,
 * a, K, offset], x * load, x + load, load - x, x - load at (u32)(a + K) +
 * offset. */
#define OP_F64_MUL_LOADK 0x329
#define OP_F64_ADD_LOADK 0x32A
#define OP_F64_LOADK_SUB 0x32B
#define OP_F64_SUB_LOADK 0x32C
/* select whose condition is an i64 (nonzero picks the first operand),
 * [op, dst, a, b, c]: `select` fed by i64.eqz, with a and b swapped (an
 * i32.eqz condition becomes a plain select the same way). */
#define OP_SELECT64 0x32D
/* OP_BRIF_F64_K_BASE + (cmp - 0x61): an f64 comparison with a constant
 * second operand folded into br_if, [op, a, K (two words), target, dst, n,
 * src] (with two slots the f64 comparisons are at OP_BRIF_BASE + cmp). */
#define OP_BRIF_F64_K_BASE 0x32E
/* OP_LOAD_SCALED_BASE + (load - 0x28): i32, i64, f32 or f64 load at
 * ((i << s) + K) + offset, the shift and the add wrapping at 32 bits as
 * unfused, [op, dst, i, s, K, offset] (s already masked to 0..31). */
#define OP_LOAD_SCALED_BASE 0x334
/* OP_LOAD_ADD_TEE_BASE + (load - 0x28): `x; y; i32.add; local.tee L;
 * load` for i32, i64 and f32 loads (an f64.load fuses with the arithmetic
 * after it instead), [op, dst, L, x, y, offset]: L = (u32)(x + y), then the
 * load at L + offset. */
#define OP_LOAD_ADD_TEE_BASE 0x338
/* Bit tests folded into a branch, [op, a, K, target, dst, n, src]: branch
 * when (a & K) != 0 (`i32.and` with a constant feeding br_if, or feeding
 * i32.eqz and `if`) or when (a & K) == 0 (through i32.eqz into br_if, or
 * straight into `if`). */
#define OP_BRIF_ANDK_NZ 0x340
#define OP_BRIF_ANDK_Z 0x341
/* Two slot copies in a row, [op, d1, s1, d2, s2]: d1 = s1, then d2 = s2
 * (s2 read after d1 is written, as unfused). */
#define OP_MOV2 0x342
/* OP_COPY_ADDK_BASE + log2(bytes): two increments (OP_ADDK_ADDK) whose
 * sums, both temporaries, are the addresses of a load and of a store of the
 * same width that takes the loaded value: [op, t, Kt, f, Kf, from_offset,
 * to_offset], the bytes at (u32)(f + Kf) + from_offset copied to (u32)(t +
 * Kt) + to_offset, the load's bounds first. */
#define OP_COPY_ADDK_BASE 0x344
/* An increment by a constant followed by a slot copy, [op, d, a, K, d2,
 * s2]: d = (u32)(a + K), then d2 = s2 (s2 read after d is written: `x + K;
 * local.tee A; local.set B` copies the new A). */
#define OP_ADDK_MOV 0x348
/* select on a bit test, [op, dst, a, b, c, K] (i64 K in two words): dst =
 * (c & K) != 0 ? a : b, from `x; K; and; select` (i32) or `x; K; and; eqz;
 * select` (i32 or i64, a and b swapped). */
#define OP_SELECT_ANDK 0x349
#define OP_SELECT64_ANDK 0x34A
/* A call of a function the module defines (not an import), [op, base, fc]
 * with fc the address of the callee's struct fcode in the module (two words,
 * low first): the callee is wasm code of the same instance, so the call
 * skips the host-function and instance-switch paths, and finding its code
 * is no chain of loads through the instance (fast translation only). */
#define OP_CALL_LOCAL 0x360
/* Pairs (pairs.c, SW_PAIR_OPS below) are numbered from OP_PAIR_BASE up to
 * OP_COUNT. */
#define OP_PAIR_BASE 0x361

/* Internal opcode: copy one slot to another (the local.set handler). */
#define OP_MOV 0x21

/* clang-format off */
#define SW_INTERNAL_OPS(X) \
    X(UNREACHABLE, 0x00, 1) \
    X(NOP, 0x01, 1) \
    X(BLOCK, 0x02, 1) \
    X(LOOP, 0x03, 1) \
    X(BR_UNLESS, 0x04, 3) \
    X(JMP, 0x05, 2) \
    X(BR, 0x0C, 5) \
    X(BR_IF, 0x0D, 6) \
    X(BR_TABLE, 0x0E, 0) \
    X(RETURN, 0x0F, 3) \
    X(CALL, 0x10, 3) \
    X(CALL_INDIRECT, 0x11, 5) \
    X(DROP, 0x1A, 1) \
    X(SELECT, 0x1B, 5) \
    X(LOCAL_GET, 0x20, 3) \
    X(LOCAL_SET, 0x21, 3) \
    X(LOCAL_TEE, 0x22, 3) \
    X(GLOBAL_GET, 0x23, 3) \
    X(GLOBAL_SET, 0x24, 3) \
    X(TABLE_GET, 0x25, 4) \
    X(TABLE_SET, 0x26, 4) \
    X(I32_LOAD, 0x28, 4) \
    X(I64_LOAD, 0x29, 4) \
    X(F32_LOAD, 0x2A, 4) \
    X(F64_LOAD, 0x2B, 4) \
    X(I32_LOAD8_S, 0x2C, 4) \
    X(I32_LOAD8_U, 0x2D, 4) \
    X(I32_LOAD16_S, 0x2E, 4) \
    X(I32_LOAD16_U, 0x2F, 4) \
    X(I64_LOAD8_S, 0x30, 4) \
    X(I64_LOAD8_U, 0x31, 4) \
    X(I64_LOAD16_S, 0x32, 4) \
    X(I64_LOAD16_U, 0x33, 4) \
    X(I64_LOAD32_S, 0x34, 4) \
    X(I64_LOAD32_U, 0x35, 4) \
    X(I32_STORE, 0x36, 4) \
    X(I64_STORE, 0x37, 4) \
    X(F32_STORE, 0x38, 4) \
    X(F64_STORE, 0x39, 4) \
    X(I32_STORE8, 0x3A, 4) \
    X(I32_STORE16, 0x3B, 4) \
    X(I64_STORE8, 0x3C, 4) \
    X(I64_STORE16, 0x3D, 4) \
    X(I64_STORE32, 0x3E, 4) \
    X(MEMORY_SIZE, 0x3F, 2) \
    X(MEMORY_GROW, 0x40, 3) \
    X(I32_CONST, 0x41, 3) \
    X(I64_CONST, 0x42, 4) \
    X(F32_CONST, 0x43, 3) \
    X(F64_CONST, 0x44, 4) \
    X(I32_EQZ, 0x45, 3) \
    X(I32_EQ, 0x46, 4) \
    X(I32_NE, 0x47, 4) \
    X(I32_LT_S, 0x48, 4) \
    X(I32_LT_U, 0x49, 4) \
    X(I32_GT_S, 0x4A, 4) \
    X(I32_GT_U, 0x4B, 4) \
    X(I32_LE_S, 0x4C, 4) \
    X(I32_LE_U, 0x4D, 4) \
    X(I32_GE_S, 0x4E, 4) \
    X(I32_GE_U, 0x4F, 4) \
    X(I64_EQZ, 0x50, 3) \
    X(I64_EQ, 0x51, 4) \
    X(I64_NE, 0x52, 4) \
    X(I64_LT_S, 0x53, 4) \
    X(I64_LT_U, 0x54, 4) \
    X(I64_GT_S, 0x55, 4) \
    X(I64_GT_U, 0x56, 4) \
    X(I64_LE_S, 0x57, 4) \
    X(I64_LE_U, 0x58, 4) \
    X(I64_GE_S, 0x59, 4) \
    X(I64_GE_U, 0x5A, 4) \
    X(F32_EQ, 0x5B, 4) \
    X(F32_NE, 0x5C, 4) \
    X(F32_LT, 0x5D, 4) \
    X(F32_GT, 0x5E, 4) \
    X(F32_LE, 0x5F, 4) \
    X(F32_GE, 0x60, 4) \
    X(F64_EQ, 0x61, 4) \
    X(F64_NE, 0x62, 4) \
    X(F64_LT, 0x63, 4) \
    X(F64_GT, 0x64, 4) \
    X(F64_LE, 0x65, 4) \
    X(F64_GE, 0x66, 4) \
    X(I32_CLZ, 0x67, 3) \
    X(I32_CTZ, 0x68, 3) \
    X(I32_POPCNT, 0x69, 3) \
    X(I32_ADD, 0x6A, 4) \
    X(I32_SUB, 0x6B, 4) \
    X(I32_MUL, 0x6C, 4) \
    X(I32_DIV_S, 0x6D, 4) \
    X(I32_DIV_U, 0x6E, 4) \
    X(I32_REM_S, 0x6F, 4) \
    X(I32_REM_U, 0x70, 4) \
    X(I32_AND, 0x71, 4) \
    X(I32_OR, 0x72, 4) \
    X(I32_XOR, 0x73, 4) \
    X(I32_SHL, 0x74, 4) \
    X(I32_SHR_S, 0x75, 4) \
    X(I32_SHR_U, 0x76, 4) \
    X(I32_ROTL, 0x77, 4) \
    X(I32_ROTR, 0x78, 4) \
    X(I64_CLZ, 0x79, 3) \
    X(I64_CTZ, 0x7A, 3) \
    X(I64_POPCNT, 0x7B, 3) \
    X(I64_ADD, 0x7C, 4) \
    X(I64_SUB, 0x7D, 4) \
    X(I64_MUL, 0x7E, 4) \
    X(I64_DIV_S, 0x7F, 4) \
    X(I64_DIV_U, 0x80, 4) \
    X(I64_REM_S, 0x81, 4) \
    X(I64_REM_U, 0x82, 4) \
    X(I64_AND, 0x83, 4) \
    X(I64_OR, 0x84, 4) \
    X(I64_XOR, 0x85, 4) \
    X(I64_SHL, 0x86, 4) \
    X(I64_SHR_S, 0x87, 4) \
    X(I64_SHR_U, 0x88, 4) \
    X(I64_ROTL, 0x89, 4) \
    X(I64_ROTR, 0x8A, 4) \
    X(F32_ABS, 0x8B, 3) \
    X(F32_NEG, 0x8C, 3) \
    X(F32_CEIL, 0x8D, 3) \
    X(F32_FLOOR, 0x8E, 3) \
    X(F32_TRUNC, 0x8F, 3) \
    X(F32_NEAREST, 0x90, 3) \
    X(F32_SQRT, 0x91, 3) \
    X(F32_ADD, 0x92, 4) \
    X(F32_SUB, 0x93, 4) \
    X(F32_MUL, 0x94, 4) \
    X(F32_DIV, 0x95, 4) \
    X(F32_MIN, 0x96, 4) \
    X(F32_MAX, 0x97, 4) \
    X(F32_COPYSIGN, 0x98, 4) \
    X(F64_ABS, 0x99, 3) \
    X(F64_NEG, 0x9A, 3) \
    X(F64_CEIL, 0x9B, 3) \
    X(F64_FLOOR, 0x9C, 3) \
    X(F64_TRUNC, 0x9D, 3) \
    X(F64_NEAREST, 0x9E, 3) \
    X(F64_SQRT, 0x9F, 3) \
    X(F64_ADD, 0xA0, 4) \
    X(F64_SUB, 0xA1, 4) \
    X(F64_MUL, 0xA2, 4) \
    X(F64_DIV, 0xA3, 4) \
    X(F64_MIN, 0xA4, 4) \
    X(F64_MAX, 0xA5, 4) \
    X(F64_COPYSIGN, 0xA6, 4) \
    X(I32_WRAP_I64, 0xA7, 3) \
    X(I32_TRUNC_F32_S, 0xA8, 3) \
    X(I32_TRUNC_F32_U, 0xA9, 3) \
    X(I32_TRUNC_F64_S, 0xAA, 3) \
    X(I32_TRUNC_F64_U, 0xAB, 3) \
    X(I64_EXTEND_I32_S, 0xAC, 3) \
    X(I64_EXTEND_I32_U, 0xAD, 3) \
    X(I64_TRUNC_F32_S, 0xAE, 3) \
    X(I64_TRUNC_F32_U, 0xAF, 3) \
    X(I64_TRUNC_F64_S, 0xB0, 3) \
    X(I64_TRUNC_F64_U, 0xB1, 3) \
    X(F32_CONVERT_I32_S, 0xB2, 3) \
    X(F32_CONVERT_I32_U, 0xB3, 3) \
    X(F32_CONVERT_I64_S, 0xB4, 3) \
    X(F32_CONVERT_I64_U, 0xB5, 3) \
    X(F32_DEMOTE_F64, 0xB6, 3) \
    X(F64_CONVERT_I32_S, 0xB7, 3) \
    X(F64_CONVERT_I32_U, 0xB8, 3) \
    X(F64_CONVERT_I64_S, 0xB9, 3) \
    X(F64_CONVERT_I64_U, 0xBA, 3) \
    X(F64_PROMOTE_F32, 0xBB, 3) \
    X(I32_REINTERPRET_F32, 0xBC, 3) \
    X(I64_REINTERPRET_F64, 0xBD, 3) \
    X(F32_REINTERPRET_I32, 0xBE, 3) \
    X(F64_REINTERPRET_I64, 0xBF, 3) \
    X(I32_EXTEND8_S, 0xC0, 3) \
    X(I32_EXTEND16_S, 0xC1, 3) \
    X(I64_EXTEND8_S, 0xC2, 3) \
    X(I64_EXTEND16_S, 0xC3, 3) \
    X(I64_EXTEND32_S, 0xC4, 3) \
    X(REF_NULL, 0xD0, 2) \
    X(REF_IS_NULL, 0xD1, 3) \
    X(REF_FUNC, 0xD2, 3) \
    X(I32_TRUNC_SAT_F32_S, 0xE0, 3) \
    X(I32_TRUNC_SAT_F32_U, 0xE1, 3) \
    X(I32_TRUNC_SAT_F64_S, 0xE2, 3) \
    X(I32_TRUNC_SAT_F64_U, 0xE3, 3) \
    X(I64_TRUNC_SAT_F32_S, 0xE4, 3) \
    X(I64_TRUNC_SAT_F32_U, 0xE5, 3) \
    X(I64_TRUNC_SAT_F64_S, 0xE6, 3) \
    X(I64_TRUNC_SAT_F64_U, 0xE7, 3) \
    X(MEMORY_INIT, 0xE8, 5) \
    X(DATA_DROP, 0xE9, 2) \
    X(MEMORY_COPY, 0xEA, 4) \
    X(MEMORY_FILL, 0xEB, 4) \
    X(TABLE_INIT, 0xEC, 6) \
    X(ELEM_DROP, 0xED, 2) \
    X(TABLE_COPY, 0xEE, 6) \
    X(TABLE_GROW, 0xEF, 5) \
    X(TABLE_SIZE, 0xF0, 3) \
    X(TABLE_FILL, 0xF1, 5) \
    X(I32_EQ_K, OP_IMM_BASE + 0x46, 4) \
    X(I32_NE_K, OP_IMM_BASE + 0x47, 4) \
    X(I32_LT_S_K, OP_IMM_BASE + 0x48, 4) \
    X(I32_LT_U_K, OP_IMM_BASE + 0x49, 4) \
    X(I32_GT_S_K, OP_IMM_BASE + 0x4A, 4) \
    X(I32_GT_U_K, OP_IMM_BASE + 0x4B, 4) \
    X(I32_LE_S_K, OP_IMM_BASE + 0x4C, 4) \
    X(I32_LE_U_K, OP_IMM_BASE + 0x4D, 4) \
    X(I32_GE_S_K, OP_IMM_BASE + 0x4E, 4) \
    X(I32_GE_U_K, OP_IMM_BASE + 0x4F, 4) \
    X(I64_EQ_K, OP_IMM_BASE + 0x51, 5) \
    X(I64_NE_K, OP_IMM_BASE + 0x52, 5) \
    X(I64_LT_S_K, OP_IMM_BASE + 0x53, 5) \
    X(I64_LT_U_K, OP_IMM_BASE + 0x54, 5) \
    X(I64_GT_S_K, OP_IMM_BASE + 0x55, 5) \
    X(I64_GT_U_K, OP_IMM_BASE + 0x56, 5) \
    X(I64_LE_S_K, OP_IMM_BASE + 0x57, 5) \
    X(I64_LE_U_K, OP_IMM_BASE + 0x58, 5) \
    X(I64_GE_S_K, OP_IMM_BASE + 0x59, 5) \
    X(I64_GE_U_K, OP_IMM_BASE + 0x5A, 5) \
    X(I32_ADD_K, OP_IMM_BASE + 0x6A, 4) \
    X(I32_SUB_K, OP_IMM_BASE + 0x6B, 4) \
    X(I32_MUL_K, OP_IMM_BASE + 0x6C, 4) \
    X(I32_AND_K, OP_IMM_BASE + 0x71, 4) \
    X(I32_OR_K, OP_IMM_BASE + 0x72, 4) \
    X(I32_XOR_K, OP_IMM_BASE + 0x73, 4) \
    X(I32_SHL_K, OP_IMM_BASE + 0x74, 4) \
    X(I32_SHR_S_K, OP_IMM_BASE + 0x75, 4) \
    X(I32_SHR_U_K, OP_IMM_BASE + 0x76, 4) \
    X(I64_ADD_K, OP_IMM_BASE + 0x7C, 5) \
    X(I64_SUB_K, OP_IMM_BASE + 0x7D, 5) \
    X(I64_MUL_K, OP_IMM_BASE + 0x7E, 5) \
    X(I64_AND_K, OP_IMM_BASE + 0x83, 5) \
    X(I64_OR_K, OP_IMM_BASE + 0x84, 5) \
    X(I64_SHL_K, OP_IMM_BASE + 0x86, 5) \
    X(I64_SHR_S_K, OP_IMM_BASE + 0x87, 5) \
    X(I64_SHR_U_K, OP_IMM_BASE + 0x88, 5) \
    X(F64_EQ_K, OP_IMM_BASE + 0x61, 5) \
    X(F64_NE_K, OP_IMM_BASE + 0x62, 5) \
    X(F64_LT_K, OP_IMM_BASE + 0x63, 5) \
    X(F64_GT_K, OP_IMM_BASE + 0x64, 5) \
    X(F64_LE_K, OP_IMM_BASE + 0x65, 5) \
    X(F64_GE_K, OP_IMM_BASE + 0x66, 5) \
    X(F64_ADD_K, OP_IMM_BASE + 0xA0, 5) \
    X(F64_SUB_K, OP_IMM_BASE + 0xA1, 5) \
    X(F64_MUL_K, OP_IMM_BASE + 0xA2, 5) \
    X(F64_DIV_K, OP_IMM_BASE + 0xA3, 5) \
    X(I32_LOAD_ABS, OP_ABS_BASE + 0x0, 4) \
    X(I64_LOAD_ABS, OP_ABS_BASE + 0x1, 4) \
    X(F32_LOAD_ABS, OP_ABS_BASE + 0x2, 4) \
    X(F64_LOAD_ABS, OP_ABS_BASE + 0x3, 4) \
    X(I32_LOAD8_S_ABS, OP_ABS_BASE + 0x4, 4) \
    X(I32_LOAD8_U_ABS, OP_ABS_BASE + 0x5, 4) \
    X(I32_LOAD16_S_ABS, OP_ABS_BASE + 0x6, 4) \
    X(I32_LOAD16_U_ABS, OP_ABS_BASE + 0x7, 4) \
    X(I64_LOAD8_S_ABS, OP_ABS_BASE + 0x8, 4) \
    X(I64_LOAD8_U_ABS, OP_ABS_BASE + 0x9, 4) \
    X(I64_LOAD16_S_ABS, OP_ABS_BASE + 0xA, 4) \
    X(I64_LOAD16_U_ABS, OP_ABS_BASE + 0xB, 4) \
    X(I64_LOAD32_S_ABS, OP_ABS_BASE + 0xC, 4) \
    X(I64_LOAD32_U_ABS, OP_ABS_BASE + 0xD, 4) \
    X(BRIF_EQZ, OP_BRIF_BASE + 0x45, 6) \
    X(BRIF_EQ, OP_BRIF_BASE + 0x46, 7) \
    X(BRIF_NE, OP_BRIF_BASE + 0x47, 7) \
    X(BRIF_LT_S, OP_BRIF_BASE + 0x48, 7) \
    X(BRIF_LT_U, OP_BRIF_BASE + 0x49, 7) \
    X(BRIF_GT_S, OP_BRIF_BASE + 0x4A, 7) \
    X(BRIF_GT_U, OP_BRIF_BASE + 0x4B, 7) \
    X(BRIF_LE_S, OP_BRIF_BASE + 0x4C, 7) \
    X(BRIF_LE_U, OP_BRIF_BASE + 0x4D, 7) \
    X(BRIF_GE_S, OP_BRIF_BASE + 0x4E, 7) \
    X(BRIF_GE_U, OP_BRIF_BASE + 0x4F, 7) \
    X(BRIF64_EQZ, OP_BRIF_BASE + 0x50, 6) \
    X(BRIF64_EQ, OP_BRIF_BASE + 0x51, 7) \
    X(BRIF64_NE, OP_BRIF_BASE + 0x52, 7) \
    X(BRIF64_LT_S, OP_BRIF_BASE + 0x53, 7) \
    X(BRIF64_LT_U, OP_BRIF_BASE + 0x54, 7) \
    X(BRIF64_GT_S, OP_BRIF_BASE + 0x55, 7) \
    X(BRIF64_GT_U, OP_BRIF_BASE + 0x56, 7) \
    X(BRIF64_LE_S, OP_BRIF_BASE + 0x57, 7) \
    X(BRIF64_LE_U, OP_BRIF_BASE + 0x58, 7) \
    X(BRIF64_GE_S, OP_BRIF_BASE + 0x59, 7) \
    X(BRIF64_GE_U, OP_BRIF_BASE + 0x5A, 7) \
    X(BRIF_EQ_K, OP_BRIF_IMM_BASE + 0x46, 7) \
    X(BRIF_NE_K, OP_BRIF_IMM_BASE + 0x47, 7) \
    X(BRIF_LT_S_K, OP_BRIF_IMM_BASE + 0x48, 7) \
    X(BRIF_LT_U_K, OP_BRIF_IMM_BASE + 0x49, 7) \
    X(BRIF_GT_S_K, OP_BRIF_IMM_BASE + 0x4A, 7) \
    X(BRIF_GT_U_K, OP_BRIF_IMM_BASE + 0x4B, 7) \
    X(BRIF_LE_S_K, OP_BRIF_IMM_BASE + 0x4C, 7) \
    X(BRIF_LE_U_K, OP_BRIF_IMM_BASE + 0x4D, 7) \
    X(BRIF_GE_S_K, OP_BRIF_IMM_BASE + 0x4E, 7) \
    X(BRIF_GE_U_K, OP_BRIF_IMM_BASE + 0x4F, 7) \
    X(BRIF64_EQ_K, OP_BRIF_IMM_BASE + 0x51, 8) \
    X(BRIF64_NE_K, OP_BRIF_IMM_BASE + 0x52, 8) \
    X(BRIF64_LT_S_K, OP_BRIF_IMM_BASE + 0x53, 8) \
    X(BRIF64_LT_U_K, OP_BRIF_IMM_BASE + 0x54, 8) \
    X(BRIF64_GT_S_K, OP_BRIF_IMM_BASE + 0x55, 8) \
    X(BRIF64_GT_U_K, OP_BRIF_IMM_BASE + 0x56, 8) \
    X(BRIF64_LE_S_K, OP_BRIF_IMM_BASE + 0x57, 8) \
    X(BRIF64_LE_U_K, OP_BRIF_IMM_BASE + 0x58, 8) \
    X(BRIF64_GE_S_K, OP_BRIF_IMM_BASE + 0x59, 8) \
    X(BRIF64_GE_U_K, OP_BRIF_IMM_BASE + 0x5A, 8) \
    X(F64_MUL_ADD, OP_F64_MUL_ADD, 5) \
    X(F64_MUL_SUB, OP_F64_MUL_SUB, 5) \
    X(F64_SUB_MUL, OP_F64_SUB_MUL, 5) \
    X(F64_MUL_LOAD, OP_F64_MUL_LOAD, 5) \
    X(F64_ADD_LOAD, OP_F64_ADD_LOAD, 5) \
    X(F64_MUL_MUL, OP_F64_MUL_MUL, 5) \
    X(F64_LOAD_SUB, OP_F64_LOAD_SUB, 5) \
    X(F64_SUB_LOAD, OP_F64_SUB_LOAD, 5) \
    X(I32_STORE_K, OP_STORE_K_BASE + 0, 4) \
    X(I64_STORE_K, OP_STORE_K_BASE + 1, 5) \
    X(I32_STORE8_K, OP_STORE_K_BASE + 4, 4) \
    X(I32_STORE16_K, OP_STORE_K_BASE + 5, 4) \
    X(F64_ADD_TO_MEM, OP_F64_ADD_TO_MEM, 4) \
    X(I32_LOAD_ADD, OP_LOAD_ADD_BASE + 0x0, 5) \
    X(I64_LOAD_ADD, OP_LOAD_ADD_BASE + 0x1, 5) \
    X(F32_LOAD_ADD, OP_LOAD_ADD_BASE + 0x2, 5) \
    X(F64_LOAD_ADD, OP_LOAD_ADD_BASE + 0x3, 5) \
    X(I32_LOAD8_S_ADD, OP_LOAD_ADD_BASE + 0x4, 5) \
    X(I32_LOAD8_U_ADD, OP_LOAD_ADD_BASE + 0x5, 5) \
    X(I32_LOAD16_S_ADD, OP_LOAD_ADD_BASE + 0x6, 5) \
    X(I32_LOAD16_U_ADD, OP_LOAD_ADD_BASE + 0x7, 5) \
    X(I64_LOAD8_S_ADD, OP_LOAD_ADD_BASE + 0x8, 5) \
    X(I64_LOAD8_U_ADD, OP_LOAD_ADD_BASE + 0x9, 5) \
    X(I64_LOAD16_S_ADD, OP_LOAD_ADD_BASE + 0xA, 5) \
    X(I64_LOAD16_U_ADD, OP_LOAD_ADD_BASE + 0xB, 5) \
    X(I64_LOAD32_S_ADD, OP_LOAD_ADD_BASE + 0xC, 5) \
    X(I64_LOAD32_U_ADD, OP_LOAD_ADD_BASE + 0xD, 5) \
    X(I32_LOAD_ADDK, OP_LOAD_ADDK_BASE + 0x0, 5) \
    X(I64_LOAD_ADDK, OP_LOAD_ADDK_BASE + 0x1, 5) \
    X(F32_LOAD_ADDK, OP_LOAD_ADDK_BASE + 0x2, 5) \
    X(F64_LOAD_ADDK, OP_LOAD_ADDK_BASE + 0x3, 5) \
    X(I32_LOAD8_S_ADDK, OP_LOAD_ADDK_BASE + 0x4, 5) \
    X(I32_LOAD8_U_ADDK, OP_LOAD_ADDK_BASE + 0x5, 5) \
    X(I32_LOAD16_S_ADDK, OP_LOAD_ADDK_BASE + 0x6, 5) \
    X(I32_LOAD16_U_ADDK, OP_LOAD_ADDK_BASE + 0x7, 5) \
    X(I64_LOAD8_S_ADDK, OP_LOAD_ADDK_BASE + 0x8, 5) \
    X(I64_LOAD8_U_ADDK, OP_LOAD_ADDK_BASE + 0x9, 5) \
    X(I64_LOAD16_S_ADDK, OP_LOAD_ADDK_BASE + 0xA, 5) \
    X(I64_LOAD16_U_ADDK, OP_LOAD_ADDK_BASE + 0xB, 5) \
    X(I64_LOAD32_S_ADDK, OP_LOAD_ADDK_BASE + 0xC, 5) \
    X(I64_LOAD32_U_ADDK, OP_LOAD_ADDK_BASE + 0xD, 5) \
    X(COPY8, OP_COPY_BASE + 0, 5) \
    X(COPY16, OP_COPY_BASE + 1, 5) \
    X(COPY32, OP_COPY_BASE + 2, 5) \
    X(COPY64, OP_COPY_BASE + 3, 5) \
    X(ADDK_ADDK, OP_ADDK_ADDK, 7) \
    X(ADDK_BRNE_K, OP_ADDK_BRNE_K, 9) \
    X(F64_AXPY, OP_F64_AXPY, 6) \
    X(I32_ADD3, OP_I32_ADD3, 5) \
    X(F64_ADD3, OP_F64_ADD3, 5) \
    X(F64_MUL_LOADK, OP_F64_MUL_LOADK, 6) \
    X(F64_ADD_LOADK, OP_F64_ADD_LOADK, 6) \
    X(F64_LOADK_SUB, OP_F64_LOADK_SUB, 6) \
    X(F64_SUB_LOADK, OP_F64_SUB_LOADK, 6) \
    X(SELECT64, OP_SELECT64, 5) \
    X(BRIF_F64_EQ, OP_BRIF_BASE + 0x61, 7) \
    X(BRIF_F64_NE, OP_BRIF_BASE + 0x62, 7) \
    X(BRIF_F64_LT, OP_BRIF_BASE + 0x63, 7) \
    X(BRIF_F64_GT, OP_BRIF_BASE + 0x64, 7) \
    X(BRIF_F64_LE, OP_BRIF_BASE + 0x65, 7) \
    X(BRIF_F64_GE, OP_BRIF_BASE + 0x66, 7) \
    X(BRIF_F64_EQ_K, OP_BRIF_F64_K_BASE + 0, 8) \
    X(BRIF_F64_NE_K, OP_BRIF_F64_K_BASE + 1, 8) \
    X(BRIF_F64_LT_K, OP_BRIF_F64_K_BASE + 2, 8) \
    X(BRIF_F64_GT_K, OP_BRIF_F64_K_BASE + 3, 8) \
    X(BRIF_F64_LE_K, OP_BRIF_F64_K_BASE + 4, 8) \
    X(BRIF_F64_GE_K, OP_BRIF_F64_K_BASE + 5, 8) \
    X(I32_LOAD_SCALED, OP_LOAD_SCALED_BASE + 0, 6) \
    X(I64_LOAD_SCALED, OP_LOAD_SCALED_BASE + 1, 6) \
    X(F32_LOAD_SCALED, OP_LOAD_SCALED_BASE + 2, 6) \
    X(F64_LOAD_SCALED, OP_LOAD_SCALED_BASE + 3, 6) \
    X(I32_LOAD_ADD_TEE, OP_LOAD_ADD_TEE_BASE + 0, 6) \
    X(I64_LOAD_ADD_TEE, OP_LOAD_ADD_TEE_BASE + 1, 6) \
    X(F32_LOAD_ADD_TEE, OP_LOAD_ADD_TEE_BASE + 2, 6) \
    X(BRIF_ANDK_NZ, OP_BRIF_ANDK_NZ, 7) \
    X(BRIF_ANDK_Z, OP_BRIF_ANDK_Z, 7) \
    X(MOV2, OP_MOV2, 5) \
    X(COPY8_ADDK, OP_COPY_ADDK_BASE + 0, 7) \
    X(COPY16_ADDK, OP_COPY_ADDK_BASE + 1, 7) \
    X(COPY32_ADDK, OP_COPY_ADDK_BASE + 2, 7) \
    X(COPY64_ADDK, OP_COPY_ADDK_BASE + 3, 7) \
    X(ADDK_MOV, OP_ADDK_MOV, 6) \
    X(SELECT_ANDK, OP_SELECT_ANDK, 6) \
    X(SELECT64_ANDK, OP_SELECT64_ANDK, 7) \
    X(CALL_LOCAL, OP_CALL_LOCAL, 4)
/* clang-format on */

/* Pairs: P(FIRST, SECOND), and PB(FIRST, SECOND) where SECOND may branch,
 * two instructions in a row that the pairing pass (pairs.c) joins when the
 * second is no branch target: one instruction PAIR_FIRST_SECOND whose words
 * are FIRST's then SECOND's, unchanged (the second's opcode word is not
 * read), so no code position moves. Its handler runs FIRST's body (DO_FIRST
 * in interp_loop.inc: FIRST is never a branch), then a copy of SECOND's
 * code (DO_SECOND for P, the whole handler RUN_SECOND for PB): one dispatch
 * for two. Chosen from the instruction-pair profile of the benchmark
 * programs (fast code only). */
/* clang-format off */
#define SW_PAIR_OPS(P, PB) \
    P(F64_AXPY, ADDK_ADDK) \
    PB(F64_AXPY, ADDK_BRNE_K) \
    P(I32_ADD, I32_ADD) \
    P(F64_LOAD_ADDK, F64_MUL_LOADK) \
    P(I32_ADD, I32_ADD_K) \
    PB(I32_ADD_K, BRIF_NE) \
    P(F64_MUL_LOADK, F64_LOAD_ADDK) \
    P(F64_SUB, F64_STORE) \
    P(I32_ADD, F64_LOAD_ADDK) \
    P(F64_MUL_LOADK, F64_LOAD) \
    P(I32_ADD_K, LOCAL_GET) \
    P(I32_LOAD, I32_ADD) \
    P(F64_ADD, F64_LOAD_ADDK) \
    P(F64_MUL, F64_ADD) \
    P(F64_LOAD_ADDK, F64_ADD) \
    PB(ADDK_ADDK, BRIF_NE_K) \
    P(I32_ADD_K, I32_LOAD) \
    P(F64_LOAD, F64_MUL_LOAD) \
    P(F64_MUL_LOADK, F64_ADD3) \
    P(F64_MUL, F64_ADD_TO_MEM) \
    P(F64_LOAD, F64_MUL) \
    PB(F64_ADD3, ADDK_BRNE_K) \
    P(F64_ADD3, F64_ADD3) \
    PB(I32_ADD_K, BR_IF) \
    P(F64_DIV_K, F64_STORE) \
    P(ADDK_ADDK, I32_ADD_K) \
    P(ADDK_ADDK, F64_ADD_LOAD) \
    P(I32_ADD, ADDK_ADDK) \
    PB(F64_STORE, ADDK_BRNE_K) \
    P(I32_ADD_K, I64_SHR_U_K) \
    P(I64_MUL_K, I64_ADD_K) \
    P(I64_AND_K, SELECT64) \
    P(F64_MUL_K, F64_STORE) \
    P(F64_SUB, F64_ADD) \
    P(F64_ADD, F64_MUL_ADD) \
    P(F64_ADD_LOADK, F64_MUL_K) \
    P(F64_ADD_LOADK, F64_ADD_LOADK) \
    P(I32_LOAD8_U_ADDK, I32_XOR) \
    P(I32_XOR, I32_LOAD_SCALED) \
    P(I32_SHR_U_K, I32_XOR) \
    P(I32_LOAD_SCALED, I32_SHR_U_K) \
    P(I32_AND_K, I32_LOAD8_U_ADDK) \
    P(I64_LOAD8_U_ADDK, I64_XOR) \
    P(I64_XOR, I64_MUL_K) \
    P(I64_MUL_K, I64_LOAD8_U_ADDK) \
    PB(I32_LOAD, BRIF_LT_U) \
    PB(LOCAL_GET, BRIF_GT_U) \
    P(ADDK_ADDK, I32_LOAD) \
    P(I32_SHL_K, I32_ADD_K) \
    P(I32_STORE, I32_ADD_K) \
    P(I32_ADD_K, I32_STORE) \
    P(I32_ADD_K, F64_MUL_MUL) \
    P(F64_MUL_MUL, F64_ADD_TO_MEM) \
    P(F64_SUB_LOADK, F64_MUL) \
    P(F64_LOAD, F64_MUL_MUL) \
    P(F64_ADD_TO_MEM, I32_ADD_K) \
    P(F64_MUL_K, F64_LOAD_ABS) \
    P(I32_STORE, I32_STORE) \
    P(I32_OR_K, I32_STORE) \
    P(I32_LOAD, I32_AND_K) \
    P(I32_SHR_U_K, I32_AND_K) \
    P(I32_ADD_K, I32_LOAD8_U) \
    PB(I32_LOAD8_U, BRIF_EQZ)
/* clang-format on */

/* clang-format off */
enum sw_iop {
#define X(name, code, words) IOP_##name = code,
    SW_INTERNAL_OPS(X)
#undef X
    IOP_PAIR_BEFORE_FIRST = OP_PAIR_BASE - 1,
#define P(first, second) IOP_PAIR_##first##_##second,
    SW_PAIR_OPS(P, P)
#undef P
    OP_COUNT /* one past the last instruction number */
};
/* clang-format on */

/* Each instruction's length in words (0 for br_table), as a constant. */
enum sw_iop_words {
#define X(name, code, words) IOPW_##name = words,
    SW_INTERNAL_OPS(X)
#undef X
};

/* ops.c: the length in words of the instruction at c, whose first word is
 * its number (not yet threaded); 0 for a number that is no instruction. */
size_t sw__op_words(const uint32_t *c);

/* pairs.c: joins pairs of instructions of the fast code in place (see
 * OP_PAIR_BASE); targets has a bit per code position a branch may reach,
 * ntargets bits (positions beyond are no targets). O(n). */
void sw__pair_code(uint32_t *code, size_t n, const uint8_t *targets, size_t ntargets);

/* ops.c: whether code[0, n) is a sequence of whole instructions. */
bool sw__check_code(const uint32_t *code, size_t n);

#endif
