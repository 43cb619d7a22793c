/* Output ring of a module (see output_ring.h). */
#include "output_ring.h"

#include <stdlib.h>
#include <string.h>

int output_ring_append(struct output_ring *r, const void *data, size_t n)
{
    const char *p = data;
    if (n >= OUTPUT_RING_CAP) {
        /* Only the tail survives. */
        p += n - OUTPUT_RING_CAP;
        n = OUTPUT_RING_CAP;
        r->len = 0;
        r->start = 0;
    }
    if (r->len + n > r->cap && r->cap < OUTPUT_RING_CAP) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n && cap < OUTPUT_RING_CAP)
            cap *= 2;
        if (cap > OUTPUT_RING_CAP) cap = OUTPUT_RING_CAP;
        char *b = malloc(cap);
        if (!b) return -1;
        /* Growing happens only before the ring wrapped, but linearise anyway. */
        output_ring_copy(r, b);
        free(r->buf);
        r->buf = b;
        r->cap = cap;
        r->start = 0;
    }
    for (size_t done = 0; done < n;) {
        if (r->len < r->cap) {
            /* Room at the end of the held bytes. */
            size_t end = (r->start + r->len) % r->cap;
            size_t k = r->cap - end;
            if (k > r->cap - r->len) k = r->cap - r->len;
            if (k > n - done) k = n - done;
            memcpy(r->buf + end, p + done, k);
            r->len += k;
            done += k;
        } else {
            /* Full: overwrite the oldest bytes. */
            size_t k = r->cap - r->start;
            if (k > n - done) k = n - done;
            memcpy(r->buf + r->start, p + done, k);
            r->start = (r->start + k) % r->cap;
            done += k;
        }
    }
    return 0;
}

void output_ring_copy(const struct output_ring *r, char *out)
{
    if (!r->len) return;
    size_t first = r->cap - r->start;
    if (first > r->len) first = r->len;
    memcpy(out, r->buf + r->start, first);
    memcpy(out + first, r->buf, r->len - first);
}

void output_ring_clear(struct output_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}
