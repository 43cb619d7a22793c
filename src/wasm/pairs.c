/* The pairing pass over the fast translation: two instructions in a row
 * that SW_PAIR_OPS (ops.h) names become one pair instruction, which runs the
 * first and goes straight on to the second's handler (one dispatch instead
 * of two). It runs on finished code, after the fusions, and moves nothing:
 * a pair keeps both instructions' words, so every branch target stays
 * valid; the second's position must be no branch target, since a branch
 * there would find the second's opcode word, which the threading pass
 * leaves as it is. */
#include <string.h>

#include "internal.h"

struct pair_rule {
    uint16_t first, second, pair;
};

static const struct pair_rule rules[] = {
#define P(first, second) {IOP_##first, IOP_##second, IOP_PAIR_##first##_##second},
    SW_PAIR_OPS(P)
#undef P
};
#define NRULES (sizeof rules / sizeof rules[0])
_Static_assert(NRULES < 255, "first_rule holds rule numbers + 1 in a byte");

static bool is_target(const uint8_t *targets, size_t ntargets, size_t pos)
{
    return pos < ntargets && (targets[pos / 8] >> (pos % 8) & 1);
}

void sw__pair_code(uint32_t *code, size_t n, const uint8_t *targets, size_t ntargets)
{
    /* the first rule of each first instruction, + 1 (0: none); the rules of
       one first instruction stand together in SW_PAIR_OPS or not: scanned
       from there to the end */
    uint8_t first_rule[OP_COUNT];
    memset(first_rule, 0, sizeof first_rule);
    for (size_t r = NRULES; r-- > 0;)
        first_rule[rules[r].first] = (uint8_t)(r + 1);
    for (size_t i = 0; i < n;) {
        size_t len = sw__op_words(&code[i]);
        if (len == 0) return; /* not whole instructions: leave the rest */
        size_t j = i + len;
        if (first_rule[code[i]] && j < n && !is_target(targets, ntargets, j)) {
            for (size_t r = first_rule[code[i]] - 1u; r < NRULES; r++) {
                if (rules[r].first != code[i] || rules[r].second != code[j]) continue;
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
