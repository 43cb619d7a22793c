/* The pairing pass (src/wasm/pairs.c) on hand-made internal code: which
 * neighbours it joins, that it never joins across a branch target or two
 * pairs into one, that every pair of SW_PAIR_OPS has the length of its two
 * halves and a handler (the threading pass accepts it), and that nothing
 * moves. The pairs' behaviour is checked by tests/spec/pairs.wast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* Appends an instruction `op` with zero operands at code[*n]. */
static void put(uint32_t *code, size_t *n, uint32_t op)
{
    code[*n] = op;
    size_t len = sw__op_words(&code[*n]);
    assert_true(len > 0);
    memset(code + *n + 1, 0, (len - 1) * sizeof *code);
    *n += len;
}

static void test_joins_neighbours(void **state)
{
    (void)state;
    uint32_t code[64];
    size_t n = 0;
    put(code, &n, IOP_I32_ADD);   /* 0 */
    put(code, &n, IOP_I32_ADD_K); /* 4 */
    put(code, &n, IOP_I32_SUB);   /* 8: no rule with I32_SUB first */
    put(code, &n, IOP_I32_ADD);   /* 12: and the last, alone */
    uint8_t targets[8] = {0};
    sw__pair_code(code, n, targets, 64);
    assert_int_equal(code[0], IOP_PAIR_I32_ADD_I32_ADD_K);
    assert_int_equal(sw__op_words(&code[0]), IOPW_I32_ADD + IOPW_I32_ADD_K);
    assert_int_equal(code[4], IOP_I32_ADD_K); /* the second's word stays */
    assert_int_equal(code[8], IOP_I32_SUB);
    assert_int_equal(code[12], IOP_I32_ADD);
    assert_true(sw__check_code(code, n));
}

static void test_not_across_a_target(void **state)
{
    (void)state;
    uint32_t code[64];
    size_t n = 0;
    put(code, &n, IOP_I32_ADD);   /* 0 */
    put(code, &n, IOP_I32_ADD_K); /* 4: a loop starts here */
    uint8_t targets[8] = {0};
    targets[0] = 1u << 4;
    sw__pair_code(code, n, targets, 64);
    assert_int_equal(code[0], IOP_I32_ADD);
    assert_int_equal(code[4], IOP_I32_ADD_K);
    /* a target at the first half is fine: the pair starts there */
    targets[0] = 1u << 0;
    sw__pair_code(code, n, targets, 64);
    assert_int_equal(code[0], IOP_PAIR_I32_ADD_I32_ADD_K);
}

static void test_pairs_do_not_overlap(void **state)
{
    (void)state;
    /* ADD ADD ADD_K: both (ADD, ADD) and (ADD, ADD_K) are rules; the first
       two join and the third stays alone */
    uint32_t code[64];
    size_t n = 0;
    put(code, &n, IOP_I32_ADD);
    put(code, &n, IOP_I32_ADD);
    put(code, &n, IOP_I32_ADD_K);
    uint8_t targets[8] = {0};
    sw__pair_code(code, n, targets, 64);
    assert_int_equal(code[0], IOP_PAIR_I32_ADD_I32_ADD);
    assert_int_equal(code[8], IOP_I32_ADD_K);
    assert_true(sw__check_code(code, n));
}

static void test_every_rule(void **state)
{
    (void)state;
    static const uint32_t rules[][3] = {
#define P(first, second) {IOP_##first, IOP_##second, IOP_PAIR_##first##_##second},
        SW_PAIR_OPS(P, P)
#undef P
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        uint32_t code[64];
        size_t n = 0;
        put(code, &n, rules[r][0]);
        size_t second_at = n;
        put(code, &n, rules[r][1]);
        uint8_t targets[8] = {0};
        sw__pair_code(code, n, targets, 64);
        assert_int_equal(code[0], rules[r][2]);
        assert_int_equal(code[second_at], rules[r][1]);
        assert_int_equal(sw__op_words(&code[0]), n);
        /* the threading pass knows a handler for it */
        assert_true(sw__thread_code(code, n));
    }
}

static void test_incomplete_code_is_left_alone(void **state)
{
    (void)state;
    /* the second instruction cut off by the end of the code: not joined */
    uint32_t code[6] = {IOP_I32_ADD, 0, 0, 0, IOP_I32_ADD, 0};
    uint8_t targets[1] = {0};
    sw__pair_code(code, 6, targets, 8);
    assert_int_equal(code[0], IOP_I32_ADD);
    /* and an opcode that is no instruction stops the pass */
    uint32_t bad[8] = {OP_COUNT + 5, 0, 0, 0, IOP_I32_ADD, 0, 0, 0};
    sw__pair_code(bad, 8, targets, 8);
    assert_int_equal(bad[4], IOP_I32_ADD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joins_neighbours),
        cmocka_unit_test(test_not_across_a_target),
        cmocka_unit_test(test_pairs_do_not_overlap),
        cmocka_unit_test(test_every_rule),
        cmocka_unit_test(test_incomplete_code_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
