/* Bounded output queue (see write_queue.h): one contiguous buffer, compacted
 * when the sent prefix is large, so a flush is a single write(). */
#include "write_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void wq_init(struct write_queue *q, size_t limit)
{
    memset(q, 0, sizeof *q);
    q->limit = limit ? limit : WQ_DEFAULT_LIMIT;
}

void wq_free(struct write_queue *q)
{
    free(q->buf);
    q->buf = NULL;
    q->head = q->tail = q->cap = 0;
}

void wq_reset(struct write_queue *q)
{
    q->head = q->tail = 0;
}

uint8_t *wq_reserve(struct write_queue *q, size_t n)
{
    if (n > q->limit || wq_pending(q) > q->limit - n) {
        q->dropped++;
        return NULL;
    }
    if (q->head == q->tail) q->head = q->tail = 0;
    if (q->tail + n > q->cap) {
        /* Reuse the sent prefix before growing. */
        if (q->head > 0) {
            memmove(q->buf, q->buf + q->head, q->tail - q->head);
            q->tail -= q->head;
            q->head = 0;
        }
        if (q->tail + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->tail + n)
                cap *= 2;
            uint8_t *b = realloc(q->buf, cap);
            if (!b) return NULL;
            q->buf = b;
            q->cap = cap;
        }
    }
    uint8_t *p = q->buf + q->tail;
    q->tail += n;
    return p;
}

int wq_push(struct write_queue *q, const void *data, size_t n)
{
    if (n == 0) return 0;
    uint8_t *p = wq_reserve(q, n);
    if (!p) return -1;
    if (n) memcpy(p, data, n);
    return 0;
}

int wq_flush(struct write_queue *q, int fd)
{
    while (q->head < q->tail) {
        ssize_t w = write(fd, q->buf + q->head, q->tail - q->head);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        q->head += (size_t)w;
    }
    q->head = q->tail = 0;
    /* Give back memory after a burst, so one spike does not pin it. */
    if (q->cap > (1u << 20)) {
        free(q->buf);
        q->buf = NULL;
        q->cap = 0;
    }
    return 0;
}
