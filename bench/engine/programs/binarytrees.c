/* Allocation-heavy code: binary trees built node by node with malloc and
 * freed again (the classic binary-trees benchmark's shape), plus a pool of
 * variable-sized blocks allocated, resized and freed in a shuffled order. */
#include <stdlib.h>

#include "bench_io.h"

struct node {
    struct node *left, *right;
};

static struct node *make(int depth)
{
    struct node *n = malloc(sizeof *n);
    if (!n) return NULL;
    n->left = depth ? make(depth - 1) : NULL;
    n->right = depth ? make(depth - 1) : NULL;
    return n;
}

static long check(const struct node *n)
{
    return n ? 1 + check(n->left) + check(n->right) : 0;
}

static void release(struct node *n)
{
    if (!n) return;
    release(n->left);
    release(n->right);
    free(n);
}

#define SLOTS 4096

void run(void)
{
    unsigned long long total = 0;
    struct node *long_lived = make(14);
    for (int depth = 4; depth <= 14; depth += 2) {
        int iterations = 1 << (16 - depth);
        for (int i = 0; i < iterations; i++) {
            struct node *t = make(depth);
            total += (unsigned long long)check(t);
            release(t);
        }
    }
    total += (unsigned long long)check(long_lived);
    release(long_lived);
    static void *slot[SLOTS];
    unsigned seed = 7;
    for (int i = 0; i < 300000; i++) {
        seed = seed * 1664525u + 1013904223u;
        unsigned k = (seed >> 8) % SLOTS, size = 8 + (seed >> 20) % 500;
        if (!slot[k]) {
            slot[k] = malloc(size);
            if (slot[k]) ((unsigned char *)slot[k])[0] = (unsigned char)size;
        } else if (seed & 1) {
            void *p = realloc(slot[k], size * 2);
            if (p) slot[k] = p;
        } else {
            total += ((unsigned char *)slot[k])[0];
            free(slot[k]);
            slot[k] = NULL;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    print_u64(total);
}
