/* Lengths of the internal instructions and pairs, made from the lists in
 * ops.h. */
#include <stdbool.h>

#include "internal.h"

static const uint8_t words_of[OP_COUNT] = {
#define X(name, code, words) [code] = (words) ? (words) : 0xFF,
    SW_INTERNAL_OPS(X)
#undef X
#define P(first, second) [IOP_PAIR_##first##_##second] = IOPW_##first + IOPW_##second,
        SW_PAIR_OPS(P, P)
#undef P
};

size_t sw__op_words(const uint32_t *c)
{
    if (c[0] >= OP_COUNT) return 0;
    uint8_t w = words_of[c[0]];
    if (w == 0xFF) return 5 + 2 * ((size_t)c[4] + 1); /* br_table */
    return w;
}

bool sw__check_code(const uint32_t *code, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = sw__op_words(&code[i]);
        if (len == 0 || len > n - i) return false;
        i += len;
    }
    return true;
}
