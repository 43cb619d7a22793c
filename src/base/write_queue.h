/* A bounded byte queue for output to a non-blocking socket. Data is appended
 * whole or not at all: past the bound, the append fails and the caller
 * decides (the socket runtime drops that one message and logs it), so a peer
 * that stops reading cannot make the manager's memory grow without bound. */
#ifndef STRATUS_BASE_WRITE_QUEUE_H
#define STRATUS_BASE_WRITE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define WQ_DEFAULT_LIMIT ((size_t)32 << 20)

struct write_queue {
    uint8_t *buf; /* owned */
    size_t head;  /* first unsent byte */
    size_t tail;  /* end of queued bytes */
    size_t cap;
    size_t limit;   /* most bytes ever queued at once */
    size_t dropped; /* messages refused so far */
};

void wq_init(struct write_queue *q, size_t limit);
void wq_free(struct write_queue *q);

/* Bytes waiting to be written. */
static inline size_t wq_pending(const struct write_queue *q)
{
    return q->tail - q->head;
}

/* Reserve n contiguous bytes at the end and return them to be filled in,
 * or NULL if that would pass the limit (q->dropped counts it) or on OOM. */
uint8_t *wq_reserve(struct write_queue *q, size_t n);

/* Append bytes; 0 or -1 as wq_reserve. */
int wq_push(struct write_queue *q, const void *data, size_t n);

/* Write as much as the fd takes. Returns 0 (queue may still hold data when
 * the fd would block) or -1 with errno on a write error. */
int wq_flush(struct write_queue *q, int fd);

/* Forget everything queued. */
void wq_reset(struct write_queue *q);

#endif
