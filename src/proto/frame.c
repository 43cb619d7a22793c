/* Frames of the runtime socket (PROTOCOL.md §6): the encoder and the
 * incremental reader behind include/stratus/frame.h.
 *
 * The reader keeps one compacting input buffer. A message that arrives as a
 * single frame is handed out as a pointer into that buffer, so the common case
 * copies each byte exactly once (from the caller into the buffer); only
 * fragmented long messages are gathered into a second, assembly buffer. */
#include "stratus/frame.h"

#include <stdlib.h>
#include <string.h>

#define SEED_HEADER 4u
#define LEGACY_HEADER 6u
#define MIN_BUFFER 4096u
/* Buffers grown past this by one long message are released once empty, so
 * a connection does not keep its largest message's memory for life. */
#define KEEP_BUFFER (1u << 20)

struct frame_reader {
    enum frame_header_kind kind;
    size_t max_message;

    uint8_t *buf; /* unread input lives in buf[start, end) */
    size_t cap, start, end;

    /* A long message being gathered from 0xFFFF-length fragments. */
    uint8_t *gather;
    size_t gather_len, gather_cap;
    int gathering;
    uint8_t gather_h1, gather_h2;

    int error; /* sticky: once the stream is broken it stays broken */
};

const char *frame_strerror(int err)
{
    switch (err) {
    case FRAME_OK: return "ok";
    case FRAME_ERR_TOO_LARGE: return "frame message exceeds the size limit";
    case FRAME_ERR_NOMEM: return "out of memory while reading frames";
    case FRAME_ERR_TRUNCATED: return "stream ended inside a frame";
    case FRAME_ERR_MISMATCH: return "fragment continued with a different h1/h2";
    default: return "unknown frame error";
    }
}

size_t frame_encoded_size(enum frame_header_kind kind, size_t len)
{
    if (kind == FRAME_HEADER_LEGACY)
        return len > SIZE_MAX - LEGACY_HEADER ? SIZE_MAX : len + LEGACY_HEADER;
    size_t frames = len / FRAME_FRAGMENT_LEN + 1;
    if (len > SIZE_MAX - frames * SEED_HEADER) return SIZE_MAX;
    return len + frames * SEED_HEADER;
}

static void put_seed_header(uint8_t *out, size_t len, uint8_t h1, uint8_t h2)
{
    out[0] = (uint8_t)(len & 0xFF);
    out[1] = (uint8_t)(len >> 8);
    out[2] = h1;
    out[3] = h2;
}

int frame_encode(enum frame_header_kind kind, uint8_t h1, uint8_t h2, const uint8_t *payload,
                 size_t len, uint8_t *out, size_t cap, size_t *written)
{
    if (kind == FRAME_HEADER_LEGACY && (uint64_t)len > UINT32_MAX) return FRAME_ERR_TOO_LARGE;
    size_t need = frame_encoded_size(kind, len);
    if (need == SIZE_MAX || !out || cap < need) return FRAME_ERR_TOO_LARGE;

    if (kind == FRAME_HEADER_LEGACY) {
        uint32_t n = (uint32_t)len;
        out[0] = (uint8_t)n;
        out[1] = (uint8_t)(n >> 8);
        out[2] = (uint8_t)(n >> 16);
        out[3] = (uint8_t)(n >> 24);
        out[4] = h1;
        out[5] = h2;
        if (len) memcpy(out + LEGACY_HEADER, payload, len);
    } else {
        /* Full 0xFFFF fragments, then a final frame shorter than that (maybe
         * empty) that ends the message. */
        size_t pos = 0, left = len;
        while (left >= FRAME_FRAGMENT_LEN) {
            put_seed_header(out + pos, FRAME_FRAGMENT_LEN, h1, h2);
            memcpy(out + pos + SEED_HEADER, payload + (len - left), FRAME_FRAGMENT_LEN);
            pos += SEED_HEADER + FRAME_FRAGMENT_LEN;
            left -= FRAME_FRAGMENT_LEN;
        }
        put_seed_header(out + pos, left, h1, h2);
        if (left) memcpy(out + pos + SEED_HEADER, payload + (len - left), left);
    }
    if (written) *written = need;
    return FRAME_OK;
}

struct frame_reader *frame_reader_new(enum frame_header_kind kind, size_t max_message)
{
    struct frame_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->kind = kind == FRAME_HEADER_LEGACY ? FRAME_HEADER_LEGACY : FRAME_HEADER_SEED;
    r->max_message = max_message ? max_message : FRAME_DEFAULT_MAX;
    return r;
}

void frame_reader_free(struct frame_reader *r)
{
    if (!r) return;
    free(r->buf);
    free(r->gather);
    free(r);
}

/* Grow a buffer so that it holds at least `need` bytes, doubling to keep
 * the number of reallocations logarithmic. */
static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return FRAME_OK;
    size_t n = *cap ? *cap : MIN_BUFFER;
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            n = need;
            break;
        }
        n *= 2;
    }
    uint8_t *p = realloc(*buf, n);
    if (!p) return FRAME_ERR_NOMEM;
    *buf = p;
    *cap = n;
    return FRAME_OK;
}

int frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len)
{
    if (len == 0) return FRAME_OK;
    if (r->start == r->end) {
        r->start = r->end = 0;
        if (r->cap > KEEP_BUFFER) {
            free(r->buf);
            r->buf = NULL;
            r->cap = 0;
        }
    }
    if (r->cap - r->end < len && r->start > 0) {
        /* Compact: only the unread tail moves, and only when space runs out. */
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (len > SIZE_MAX - r->end) return FRAME_ERR_NOMEM;
    int rc = reserve(&r->buf, &r->cap, r->end + len);
    if (rc != FRAME_OK) return rc;
    memcpy(r->buf + r->end, data, len);
    r->end += len;
    return FRAME_OK;
}

static int fail(struct frame_reader *r, int err)
{
    r->error = err;
    return err;
}

static int next_legacy(struct frame_reader *r, struct frame_message *msg)
{
    size_t avail = r->end - r->start;
    if (avail < LEGACY_HEADER) return 0;
    const uint8_t *h = r->buf + r->start;
    uint32_t len =
        (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    /* Checked before the payload arrives, so a hostile length never makes
     * the reader buffer up to it. */
    if (len > r->max_message) return fail(r, FRAME_ERR_TOO_LARGE);
    if (avail - LEGACY_HEADER < len) return 0;
    msg->h1 = h[4];
    msg->h2 = h[5];
    msg->payload = h + LEGACY_HEADER;
    msg->len = len;
    r->start += LEGACY_HEADER + (size_t)len;
    return 1;
}

static int next_seed(struct frame_reader *r, struct frame_message *msg)
{
    for (;;) {
        size_t avail = r->end - r->start;
        if (avail < SEED_HEADER) return 0;
        const uint8_t *h = r->buf + r->start;
        size_t len = (size_t)h[0] | (size_t)h[1] << 8;
        uint8_t h1 = h[2], h2 = h[3];
        if (r->gathering && (h1 != r->gather_h1 || h2 != r->gather_h2))
            return fail(r, FRAME_ERR_MISMATCH);
        size_t so_far = r->gathering ? r->gather_len : 0;
        if (len > r->max_message || so_far > r->max_message - len)
            return fail(r, FRAME_ERR_TOO_LARGE);
        if (avail - SEED_HEADER < len) return 0;
        const uint8_t *payload = h + SEED_HEADER;
        r->start += SEED_HEADER + len;

        if (len < FRAME_FRAGMENT_LEN && !r->gathering) {
            msg->h1 = h1;
            msg->h2 = h2;
            msg->payload = payload;
            msg->len = len;
            return 1;
        }
        if (!r->gathering) {
            r->gathering = 1;
            r->gather_len = 0;
            r->gather_h1 = h1;
            r->gather_h2 = h2;
        }
        if (reserve(&r->gather, &r->gather_cap, r->gather_len + len) != FRAME_OK)
            return fail(r, FRAME_ERR_NOMEM);
        if (len) memcpy(r->gather + r->gather_len, payload, len);
        r->gather_len += len;
        if (len == FRAME_FRAGMENT_LEN) continue;

        /* The final, shorter frame: the gathered bytes stay in place until
         * the next call, which is as long as the payload is promised. */
        r->gathering = 0;
        msg->h1 = h1;
        msg->h2 = h2;
        msg->payload = r->gather;
        msg->len = r->gather_len;
        r->gather_len = 0;
        return 1;
    }
}

int frame_reader_next(struct frame_reader *r, struct frame_message *msg)
{
    if (r->error) return r->error;
    if (!r->gathering && r->gather_cap > KEEP_BUFFER) {
        free(r->gather); /* the last long message is no longer promised */
        r->gather = NULL;
        r->gather_cap = 0;
    }
    return r->kind == FRAME_HEADER_LEGACY ? next_legacy(r, msg) : next_seed(r, msg);
}

int frame_reader_pending(const struct frame_reader *r)
{
    return r->end > r->start || r->gathering;
}
