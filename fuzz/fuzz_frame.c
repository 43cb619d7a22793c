/* libFuzzer target for the frame reader: the input is a byte stream (raw, or
 * built from a small script so that long fragmented messages occur too), fed
 * once whole and once in pseudo-random pieces. Both readings must give the
 * same messages and the same final status, and every message read must
 * survive an encode/read round trip. Any crash, leak or difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/frame.h"

struct seen {
    uint8_t h1, h2;
    size_t len;
    uint64_t hash;
};

struct reading {
    struct seen v[4096];
    size_t n;
    int status; /* last frame_reader_next result */
    int pending;
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void roundtrip(enum frame_header_kind kind, const struct frame_message *m)
{
    size_t need = frame_encoded_size(kind, m->len), w = 0;
    uint8_t *buf = malloc(need);
    if (!buf) abort();
    if (frame_encode(kind, m->h1, m->h2, m->payload, m->len, buf, need, &w) != FRAME_OK ||
        w != need)
        abort();
    struct frame_reader *r = frame_reader_new(kind, 0);
    struct frame_message back;
    if (!r || frame_reader_feed(r, buf, w) != FRAME_OK || frame_reader_next(r, &back) != 1 ||
        back.len != m->len || back.h1 != m->h1 || back.h2 != m->h2 ||
        (m->len && memcmp(back.payload, m->payload, m->len) != 0) || frame_reader_pending(r))
        abort();
    frame_reader_free(r);
    free(buf);
}

static void read_stream(enum frame_header_kind kind, size_t cap, const uint8_t *s, size_t len,
                        uint32_t seed, struct reading *out)
{
    struct frame_reader *r = frame_reader_new(kind, cap);
    if (!r) abort();
    out->n = 0;
    out->status = 0;
    size_t pos = 0;
    while (pos < len && out->status >= 0) {
        size_t piece = len - pos;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 8) % 70000;
            if (seed & 1) piece = 1 + (seed >> 8) % 7;
            if (piece > len - pos) piece = len - pos;
        }
        if (frame_reader_feed(r, s + pos, piece) != FRAME_OK) abort();
        pos += piece;
        struct frame_message m;
        while ((out->status = frame_reader_next(r, &m)) == 1) {
            if (out->n < sizeof out->v / sizeof out->v[0])
                out->v[out->n] = (struct seen){m.h1, m.h2, m.len, hash_bytes(m.payload, m.len)};
            out->n++;
            if (!seed) roundtrip(kind, &m);
        }
    }
    out->pending = frame_reader_pending(r);
    frame_reader_free(r);
}

/* Script mode: each 4-byte op appends to the stream either a whole encoded
 * message of up to ~200 KB (so fragments occur) or raw input bytes. */
static uint8_t *build_stream(enum frame_header_kind kind, const uint8_t *d, size_t n, size_t *len)
{
    uint8_t *s = NULL;
    *len = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        size_t add_len;
        uint8_t *add;
        if (d[i] & 1) {
            /* Sizes cluster around multiples of 0xFFFF, where fragments
             * begin and end; bit 3 picks a short message instead. */
            long base = (long)((d[i] >> 1) & 3) * 65535 + (int8_t)d[i + 2];
            size_t plen = d[i] & 8 ? d[i + 1] : (size_t)(base < 0 ? 0 : base);
            uint8_t *p = malloc(plen ? plen : 1);
            if (!p) abort();
            for (size_t k = 0; k < plen; k++)
                p[k] = (uint8_t)(k * d[i + 3]);
            add_len = frame_encoded_size(kind, plen);
            add = malloc(add_len);
            if (!add || frame_encode(kind, d[i + 3], d[i], p, plen, add, add_len, NULL) != FRAME_OK)
                abort();
            free(p);
        } else {
            add_len = d[i + 1] % 4;
            if (add_len > n - i - 2) add_len = n - i - 2;
            add = malloc(add_len + 1);
            if (!add) abort();
            memcpy(add, d + i + 2, add_len);
        }
        uint8_t *g = realloc(s, *len + add_len + 1);
        if (!g) abort();
        s = g;
        memcpy(s + *len, add, add_len);
        *len += add_len;
        free(add);
    }
    return s;
}

static void same(const struct reading *a, const struct reading *b)
{
    if (a->n != b->n || a->status != b->status || a->pending != b->pending) abort();
    size_t k = a->n < sizeof a->v / sizeof a->v[0] ? a->n : sizeof a->v / sizeof a->v[0];
    for (size_t i = 0; i < k; i++)
        if (a->v[i].h1 != b->v[i].h1 || a->v[i].h2 != b->v[i].h2 || a->v[i].len != b->v[i].len ||
            a->v[i].hash != b->v[i].hash)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    enum frame_header_kind kind = data[0] & 1 ? FRAME_HEADER_LEGACY : FRAME_HEADER_SEED;
    static const size_t caps[4] = {0, 16, 70000, 150000};
    size_t cap = caps[(data[0] >> 1) & 3];
    int script = data[0] & 8;
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | 1u;
    const uint8_t *body = data + 4;
    size_t blen = size - 4;

    uint8_t *built = NULL;
    const uint8_t *stream = body;
    size_t slen = blen;
    if (script) {
        built = build_stream(kind, body, blen, &slen);
        stream = built;
    }
    static struct reading whole, pieces;
    read_stream(kind, cap, stream, slen, 0, &whole);
    read_stream(kind, cap, stream, slen, seed, &pieces);
    same(&whole, &pieces);
    free(built);
    return 0;
}
