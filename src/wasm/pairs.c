/* The pairing pass over the fast translation: two instructions in a row
 * that SW_PAIR_OPS (ops.h) names become one pair instruction, whose
 * handler runs the first and then the second (one dispatch instead of
 * two). It runs on finished code, after the fusions, and moves nothing: a
 * pair keeps both instructions' words, so every branch target stays valid;
 * the second's position must be no branch target, since a branch there
 * would find the second's opcode word, which the threading pass leaves as
 * it is. */
#include <stdatomic.h>

#include "internal.h"

struct pair_rule {
    uint16_t first, second, pair;
};

static const struct pair_rule rules[] = {
#define P(first, second) {IOP_##first, IOP_##second, IOP_PAIR_##first##_##second},
    SW_PAIR_OPS(P, P)
#undef P
};
#define NRULES (sizeof rules / sizeof rules[0])
_Static_assert(NRULES < 255, "first_rule holds rule numbers + 1 in a byte");

static bool is_target(const uint8_t *targets, size_t ntargets, size_t pos)
{
    return pos < ntargets && (targets[pos / 8] >> (pos % 8) & 1);
}

/* The first rule of each first instruction, + 1 (0: none), and for each
 * rule the next one of the same first instruction (NRULES: none): made once
 * for all threads, so a function's pass looks only at its candidates. */
static uint8_t first_rule[OP_COUNT];
static uint8_t next_same[NRULES];
static atomic_int first_rule_state; /* 0: not made, 1: being made, 2: ready */

static void first_rule_make(void)
{
    if (atomic_load_explicit(&first_rule_state, memory_order_acquire) == 2) return;
    int expected = 0;
    if (atomic_compare_exchange_strong(&first_rule_state, &expected, 1)) {
        for (size_t r = NRULES; r-- > 0;) {
            uint8_t later = first_rule[rules[r].first];
            next_same[r] = later ? (uint8_t)(later - 1) : (uint8_t)NRULES;
            first_rule[rules[r].first] = (uint8_t)(r + 1);
        }
        atomic_store_explicit(&first_rule_state, 2, memory_order_release);
        return;
    }
    /* another thread makes it: a few hundred instructions */
    while (atomic_load_explicit(&first_rule_state, memory_order_acquire) != 2) {
    }
}

void sw__pair_code(uint32_t *code, size_t n, const uint8_t *targets, size_t ntargets)
{
    first_rule_make();
    for (size_t i = 0; i < n;) {
        size_t len = sw__op_words(&code[i]);
        if (len == 0) return; /* not whole instructions: leave the rest */
        size_t j = i + len;
        if (first_rule[code[i]] && j < n && !is_target(targets, ntargets, j)) {
            for (size_t r = first_rule[code[i]] - 1u; r < NRULES; r = next_same[r]) {
                if (rules[r].second != code[j]) continue;
                size_t len2 = sw__op_words(&code[j]);
                if (len2 == 0 || len2 > n - j) break;
                code[i] = rules[r].pair;
                len += len2;
                break;
            }
        }
        i += len;
    }
}
