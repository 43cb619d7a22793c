/* The last bytes a module wrote (its stdio topic), at most OUTPUT_RING_CAP:
 * a ring that grows as output arrives, so a module that prints nothing costs
 * nothing and one that prints forever costs the cap. */
#ifndef STRATUS_ORCHESTRATOR_OUTPUT_RING_H
#define STRATUS_ORCHESTRATOR_OUTPUT_RING_H

#include <stddef.h>

#define OUTPUT_RING_CAP (64u * 1024u)

struct output_ring {
    char *buf;
    size_t cap;   /* allocated, at most OUTPUT_RING_CAP */
    size_t len;   /* bytes held */
    size_t start; /* offset of the oldest byte once the ring is full */
};

/* Append n bytes, dropping the oldest past the cap. O(n). Returns 0 or -1 on
 * OOM (nothing appended). */
int output_ring_append(struct output_ring *r, const void *data, size_t n);
/* Copy the held bytes, oldest first, into out (at least r->len bytes). */
void output_ring_copy(const struct output_ring *r, char *out);
void output_ring_clear(struct output_ring *r);

#endif
