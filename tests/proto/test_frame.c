/* Unit tests of the frame encoder and reader: the same bytes split anywhere
 * must give the same messages, long messages travel as fragments, and bad
 * streams (oversize, truncated, mismatched fragments) are errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/frame.h"

struct msg {
    uint8_t h1, h2;
    uint8_t *data;
    size_t len;
};

struct msg_list {
    struct msg *v;
    size_t n, cap;
};

static void list_push(struct msg_list *l, uint8_t h1, uint8_t h2, const uint8_t *data, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    struct msg *m = &l->v[l->n++];
    m->h1 = h1;
    m->h2 = h2;
    m->len = len;
    m->data = malloc(len ? len : 1);
    assert_non_null(m->data);
    if (len) memcpy(m->data, data, len);
}

static void list_free(struct msg_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].data);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* A payload whose bytes depend on its length and position, so that a shifted
 * or truncated copy is noticed. */
static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
    return p;
}

struct stream {
    uint8_t *bytes;
    size_t len;
};

static void stream_add(struct stream *s, enum frame_header_kind kind, uint8_t h1, uint8_t h2,
                       const uint8_t *payload, size_t len)
{
    size_t need = frame_encoded_size(kind, len), written = 0;
    s->bytes = realloc(s->bytes, s->len + need);
    assert_non_null(s->bytes);
    assert_int_equal(frame_encode(kind, h1, h2, payload, len, s->bytes + s->len, need, &written),
                     FRAME_OK);
    assert_int_equal(written, need);
    s->len += need;
}

/* Build a stream of messages with the given payload sizes; the expected
 * messages go to *want. */
static struct stream make_stream(enum frame_header_kind kind, const size_t *sizes, size_t n,
                                 struct msg_list *want)
{
    struct stream s = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = pattern(sizes[i], (unsigned)i);
        uint8_t h1 = (uint8_t)((i & 1 ? FRAME_CONTROL : 0) | (i % 128));
        uint8_t h2 = (uint8_t)(i * 3);
        stream_add(&s, kind, h1, h2, p, sizes[i]);
        list_push(want, h1, h2, p, sizes[i]);
        free(p);
    }
    return s;
}

/* Drain all ready messages into *got; returns the last reader status. */
static int drain(struct frame_reader *r, struct msg_list *got)
{
    struct frame_message m;
    int rc;
    while ((rc = frame_reader_next(r, &m)) == 1)
        list_push(got, m.h1, m.h2, m.payload, m.len);
    return rc;
}

static void assert_same(const struct msg_list *want, const struct msg_list *got)
{
    assert_int_equal(want->n, got->n);
    for (size_t i = 0; i < want->n; i++) {
        assert_int_equal(want->v[i].h1, got->v[i].h1);
        assert_int_equal(want->v[i].h2, got->v[i].h2);
        assert_int_equal(want->v[i].len, got->v[i].len);
        assert_memory_equal(want->v[i].data, got->v[i].data, want->v[i].len ? want->v[i].len : 1);
    }
}

/* Feed the stream in pieces cut at the given ascending offsets. */
static void feed_cut(enum frame_header_kind kind, const struct stream *s, const size_t *cuts,
                     size_t ncuts, const struct msg_list *want)
{
    struct frame_reader *r = frame_reader_new(kind, 0);
    assert_non_null(r);
    struct msg_list got = {0};
    size_t pos = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : s->len;
        assert_int_equal(frame_reader_feed(r, s->bytes + pos, to - pos), FRAME_OK);
        assert_int_equal(drain(r, &got), 0);
        pos = to;
    }
    assert_false(frame_reader_pending(r));
    assert_same(want, &got);
    list_free(&got);
    frame_reader_free(r);
}

static const size_t edge_sizes[] = {0, 1, 65534, 65535, 65536, 200000};

static void roundtrip_all_at_once(enum frame_header_kind kind)
{
    struct msg_list want = {0};
    struct stream s = make_stream(kind, edge_sizes, 6, &want);
    feed_cut(kind, &s, NULL, 0, &want);
    list_free(&want);
    free(s.bytes);
}

static void test_edge_sizes_seed(void **state)
{
    roundtrip_all_at_once(FRAME_HEADER_SEED);
}

static void test_edge_sizes_legacy(void **state)
{
    roundtrip_all_at_once(FRAME_HEADER_LEGACY);
}

static void byte_by_byte(enum frame_header_kind kind)
{
    struct msg_list want = {0}, got = {0};
    struct stream s = make_stream(kind, edge_sizes, 6, &want);
    struct frame_reader *r = frame_reader_new(kind, 0);
    assert_non_null(r);
    for (size_t i = 0; i < s.len; i++) {
        assert_int_equal(frame_reader_feed(r, s.bytes + i, 1), FRAME_OK);
        assert_int_equal(drain(r, &got), 0);
    }
    assert_false(frame_reader_pending(r));
    assert_same(&want, &got);
    frame_reader_free(r);
    list_free(&want);
    list_free(&got);
    free(s.bytes);
}

static void test_byte_by_byte_seed(void **state)
{
    byte_by_byte(FRAME_HEADER_SEED);
}

static void test_byte_by_byte_legacy(void **state)
{
    byte_by_byte(FRAME_HEADER_LEGACY);
}

/* Every single cut point, and every pair of cut points, of a stream of small
 * messages. */
static void every_split_small(enum frame_header_kind kind)
{
    static const size_t sizes[] = {0, 1, 2, 5, 0, 17, 3};
    struct msg_list want = {0};
    struct stream s = make_stream(kind, sizes, 7, &want);
    for (size_t a = 0; a <= s.len; a++) {
        feed_cut(kind, &s, &a, 1, &want);
        for (size_t b = a; b <= s.len; b++) {
            size_t cuts[2] = {a, b};
            feed_cut(kind, &s, cuts, 2, &want);
        }
    }
    list_free(&want);
    free(s.bytes);
}

static void test_every_split_small_seed(void **state)
{
    every_split_small(FRAME_HEADER_SEED);
}

static void test_every_split_small_legacy(void **state)
{
    every_split_small(FRAME_HEADER_LEGACY);
}

/* Every cut point of a stream holding fragmented messages. Cutting costs a
 * full re-read, so each cut is a fresh reader over ~200 KB; ASan makes the
 * full square too slow, so the cuts are every point within 8 bytes of a frame
 * boundary (where the reader's states change) plus every 61st point. */
static void test_every_split_fragments_seed(void **state)
{
    static const size_t sizes[] = {3, 65535, 0, 65536, 1, 70000, 65534};
    struct msg_list want = {0};
    struct stream s = make_stream(FRAME_HEADER_SEED, sizes, 7, &want);

    /* Frame boundaries, found by walking the headers. */
    unsigned char *near = calloc(s.len + 1, 1);
    assert_non_null(near);
    for (size_t pos = 0; pos < s.len;) {
        size_t len = (size_t)s.bytes[pos] | (size_t)s.bytes[pos + 1] << 8;
        size_t ends[2] = {pos, pos + 4};
        for (int e = 0; e < 2; e++)
            for (size_t d = ends[e] >= 8 ? ends[e] - 8 : 0; d <= ends[e] + 8 && d <= s.len; d++)
                near[d] = 1;
        pos += 4 + len;
    }
    size_t tried = 0;
    for (size_t a = 0; a <= s.len; a++) {
        if (!near[a] && a % 61) continue;
        feed_cut(FRAME_HEADER_SEED, &s, &a, 1, &want);
        tried++;
    }
    assert_true(tried > 3000);
    free(near);
    list_free(&want);
    free(s.bytes);
}

/* Many messages packed into one feed, then into random pieces. */
static void test_packed_and_random_pieces(void **state)
{
    enum frame_header_kind kinds[2] = {FRAME_HEADER_SEED, FRAME_HEADER_LEGACY};
    srand(12345);
    for (int k = 0; k < 2; k++) {
        size_t sizes[500];
        for (size_t i = 0; i < 500; i++)
            sizes[i] = i % 97 == 0 ? 65535 + (size_t)(rand() % 3) - 1 : (size_t)(rand() % 300);
        struct msg_list want = {0};
        struct stream s = make_stream(kinds[k], sizes, 500, &want);
        feed_cut(kinds[k], &s, NULL, 0, &want);
        for (int round = 0; round < 20; round++) {
            size_t cuts[64], n = 0, pos = 0;
            while (n < 64) {
                pos += (size_t)(rand() % 20000);
                if (pos > s.len) break;
                cuts[n++] = pos;
            }
            feed_cut(kinds[k], &s, cuts, n, &want);
        }
        list_free(&want);
        free(s.bytes);
    }
}

static void test_encode_layout(void **state)
{
    uint8_t out[16];
    size_t w = 0;
    const uint8_t p[3] = {'a', 'b', 'c'};
    assert_int_equal(frame_encode(FRAME_HEADER_SEED, 0x85, 0x03, p, 3, out, sizeof out, &w),
                     FRAME_OK);
    assert_int_equal(w, 7);
    const uint8_t seed[7] = {3, 0, 0x85, 0x03, 'a', 'b', 'c'};
    assert_memory_equal(out, seed, 7);

    assert_int_equal(frame_encode(FRAME_HEADER_LEGACY, 0x01, 0x02, p, 3, out, sizeof out, &w),
                     FRAME_OK);
    assert_int_equal(w, 9);
    const uint8_t legacy[9] = {3, 0, 0, 0, 0x01, 0x02, 'a', 'b', 'c'};
    assert_memory_equal(out, legacy, 9);

    /* Short output buffer: an error, nothing written past it. */
    assert_int_equal(frame_encode(FRAME_HEADER_SEED, 0, 0, p, 3, out, 6, &w), FRAME_ERR_TOO_LARGE);

    assert_int_equal(frame_encoded_size(FRAME_HEADER_SEED, 0), 4);
    assert_int_equal(frame_encoded_size(FRAME_HEADER_SEED, 65534), 65538);
    assert_int_equal(frame_encoded_size(FRAME_HEADER_SEED, 65535), 65535 + 8);
    assert_int_equal(frame_encoded_size(FRAME_HEADER_SEED, 131070), 131070 + 12);
    assert_int_equal(frame_encoded_size(FRAME_HEADER_LEGACY, 65535), 65541);
}

/* A message of exactly 65535 bytes is one full fragment and an empty final
 * frame with the same h1/h2. */
static void test_encode_fragment_boundary(void **state)
{
    size_t len = 65535, need = frame_encoded_size(FRAME_HEADER_SEED, len), w = 0;
    uint8_t *p = pattern(len, 1), *out = malloc(need);
    assert_non_null(out);
    assert_int_equal(frame_encode(FRAME_HEADER_SEED, 0x81, 0x07, p, len, out, need, &w), FRAME_OK);
    assert_int_equal(w, need);
    const uint8_t first[4] = {0xFF, 0xFF, 0x81, 0x07}, last[4] = {0, 0, 0x81, 0x07};
    assert_memory_equal(out, first, 4);
    assert_memory_equal(out + 4, p, len);
    assert_memory_equal(out + 4 + len, last, 4);
    free(p);
    free(out);
}

static void test_oversize(void **state)
{
    /* Exactly at the cap is fine, one byte more is an error. */
    for (size_t len = 1000; len <= 1001; len++) {
        uint8_t *p = pattern(len, 0);
        struct stream s = {0};
        stream_add(&s, FRAME_HEADER_SEED, 1, 2, p, len);
        struct frame_reader *r = frame_reader_new(FRAME_HEADER_SEED, 1000);
        assert_non_null(r);
        assert_int_equal(frame_reader_feed(r, s.bytes, s.len), FRAME_OK);
        struct frame_message m;
        assert_int_equal(frame_reader_next(r, &m), len == 1000 ? 1 : FRAME_ERR_TOO_LARGE);
        frame_reader_free(r);
        free(p);
        free(s.bytes);
    }

    /* A fragmented message is refused once its fragments pass the cap, before
     * the rest of it arrives. */
    size_t len = 200000;
    uint8_t *p = pattern(len, 0);
    struct stream s = {0};
    stream_add(&s, FRAME_HEADER_SEED, 1, 2, p, len);
    struct frame_reader *r = frame_reader_new(FRAME_HEADER_SEED, 100000);
    assert_non_null(r);
    assert_int_equal(frame_reader_feed(r, s.bytes, 4 + 65535 + 4), FRAME_OK);
    struct frame_message m;
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_TOO_LARGE);
    /* The error sticks. */
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_TOO_LARGE);
    frame_reader_free(r);
    free(p);
    free(s.bytes);

    /* A legacy header announcing 4 GiB is refused from the header alone. */
    r = frame_reader_new(FRAME_HEADER_LEGACY, 0);
    assert_non_null(r);
    const uint8_t huge[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00};
    assert_int_equal(frame_reader_feed(r, huge, 6), FRAME_OK);
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_TOO_LARGE);
    frame_reader_free(r);
}

static void test_truncated(void **state)
{
    enum frame_header_kind kinds[2] = {FRAME_HEADER_SEED, FRAME_HEADER_LEGACY};
    for (int k = 0; k < 2; k++) {
        static const size_t sizes[] = {10, 70000};
        struct msg_list want = {0};
        struct stream s = make_stream(kinds[k], sizes, 2, &want);
        /* Every proper prefix that ends inside a frame leaves bytes pending. */
        size_t first_end = frame_encoded_size(kinds[k], 10);
        size_t probes[] = {1,
                           3,
                           first_end - 1,
                           first_end + 1,
                           first_end + 5,
                           first_end + 65539,
                           first_end + 65545,
                           s.len - 1};
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
            struct frame_reader *r = frame_reader_new(kinds[k], 0);
            assert_non_null(r);
            assert_false(frame_reader_pending(r));
            assert_int_equal(frame_reader_feed(r, s.bytes, probes[i]), FRAME_OK);
            struct msg_list got = {0};
            assert_int_equal(drain(r, &got), 0);
            assert_true(frame_reader_pending(r));
            assert_int_equal(got.n, probes[i] >= first_end ? 1 : 0);
            list_free(&got);
            frame_reader_free(r);
        }
        /* At a message boundary nothing is pending. */
        struct frame_reader *r = frame_reader_new(kinds[k], 0);
        assert_int_equal(frame_reader_feed(r, s.bytes, first_end), FRAME_OK);
        struct msg_list got = {0};
        assert_int_equal(drain(r, &got), 0);
        assert_false(frame_reader_pending(r));
        list_free(&got);
        frame_reader_free(r);
        list_free(&want);
        free(s.bytes);
    }
}

static void test_fragment_mismatch(void **state)
{
    uint8_t *p = pattern(65535, 0);
    struct stream s = {0};
    /* A full fragment for module 1, then a final frame for module 2. */
    s.bytes = malloc(4 + 65535 + 4 + 2);
    assert_non_null(s.bytes);
    const uint8_t h_first[4] = {0xFF, 0xFF, 0x81, 0x05}, h_next[4] = {2, 0, 0x82, 0x05};
    memcpy(s.bytes, h_first, 4);
    memcpy(s.bytes + 4, p, 65535);
    memcpy(s.bytes + 4 + 65535, h_next, 4);
    memcpy(s.bytes + 8 + 65535, "xy", 2);
    s.len = 4 + 65535 + 4 + 2;

    struct frame_reader *r = frame_reader_new(FRAME_HEADER_SEED, 0);
    assert_non_null(r);
    assert_int_equal(frame_reader_feed(r, s.bytes, s.len), FRAME_OK);
    struct frame_message m;
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_MISMATCH);
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_MISMATCH);
    assert_string_equal(frame_strerror(FRAME_ERR_MISMATCH),
                        "fragment continued with a different h1/h2");
    frame_reader_free(r);

    /* Same stream with h2 differing instead. */
    s.bytes[4 + 65535 + 2] = 0x81;
    s.bytes[4 + 65535 + 3] = 0x06;
    r = frame_reader_new(FRAME_HEADER_SEED, 0);
    assert_non_null(r);
    assert_int_equal(frame_reader_feed(r, s.bytes, s.len), FRAME_OK);
    assert_int_equal(frame_reader_next(r, &m), FRAME_ERR_MISMATCH);
    frame_reader_free(r);
    free(p);
    free(s.bytes);
}

/* The legacy header carries a long message in one frame: 0xFFFF in its
 * length is an ordinary length, not a fragment marker. */
static void test_legacy_no_fragments(void **state)
{
    size_t len = 70000, need = frame_encoded_size(FRAME_HEADER_LEGACY, len), w;
    uint8_t *p = pattern(len, 3), *out = malloc(need);
    assert_non_null(out);
    assert_int_equal(frame_encode(FRAME_HEADER_LEGACY, 0x80, 0x02, p, len, out, need, &w),
                     FRAME_OK);
    assert_int_equal(w, len + 6);
    const uint8_t hdr[6] = {0x70, 0x11, 0x01, 0x00, 0x80, 0x02};
    assert_memory_equal(out, hdr, 6);

    struct frame_reader *r = frame_reader_new(FRAME_HEADER_LEGACY, 0);
    assert_non_null(r);
    assert_int_equal(frame_reader_feed(r, out, need), FRAME_OK);
    struct frame_message m;
    assert_int_equal(frame_reader_next(r, &m), 1);
    assert_int_equal(m.len, len);
    assert_int_equal(m.h1, 0x80);
    assert_int_equal(m.h2, 0x02);
    assert_memory_equal(m.payload, p, len);
    assert_int_equal(frame_reader_next(r, &m), 0);
    frame_reader_free(r);

    /* A legacy 65535-byte message is a single frame. */
    uint8_t one[6 + 65535];
    assert_int_equal(frame_encode(FRAME_HEADER_LEGACY, 1, 1, p, 65535, one, sizeof one, &w),
                     FRAME_OK);
    assert_int_equal(w, sizeof one);
    free(p);
    free(out);
}

/* After a message of several MiB the reader lets its big buffers go; the
 * messages around it must be unaffected. */
static void test_large_then_small(void **state)
{
    enum frame_header_kind kinds[2] = {FRAME_HEADER_SEED, FRAME_HEADER_LEGACY};
    for (int k = 0; k < 2; k++) {
        static const size_t sizes[] = {3000000, 5};
        struct msg_list want = {0}, got = {0};
        struct stream s = make_stream(kinds[k], sizes, 2, &want);
        struct frame_reader *r = frame_reader_new(kinds[k], 0);
        assert_non_null(r);
        for (int round = 0; round < 3; round++) {
            assert_int_equal(frame_reader_feed(r, s.bytes, s.len), FRAME_OK);
            assert_int_equal(drain(r, &got), 0);
            /* A small message on its own, after the buffers were released. */
            const uint8_t five[5] = {1, 2, 3, 4, 5};
            uint8_t tail[16];
            size_t tl = 0;
            assert_int_equal(frame_encode(kinds[k], 7, 8, five, 5, tail, sizeof tail, &tl),
                             FRAME_OK);
            assert_int_equal(frame_reader_feed(r, tail, tl), FRAME_OK);
            struct frame_message m;
            assert_int_equal(frame_reader_next(r, &m), 1);
            assert_int_equal(m.len, 5);
            assert_memory_equal(m.payload, five, 5);
            assert_false(frame_reader_pending(r));
        }
        assert_int_equal(got.n, 6);
        for (size_t i = 0; i < 6; i++) {
            assert_int_equal(got.v[i].len, want.v[i % 2].len);
            assert_memory_equal(got.v[i].data, want.v[i % 2].data, want.v[i % 2].len);
        }
        frame_reader_free(r);
        list_free(&want);
        list_free(&got);
        free(s.bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_layout),
        cmocka_unit_test(test_encode_fragment_boundary),
        cmocka_unit_test(test_edge_sizes_seed),
        cmocka_unit_test(test_edge_sizes_legacy),
        cmocka_unit_test(test_byte_by_byte_seed),
        cmocka_unit_test(test_byte_by_byte_legacy),
        cmocka_unit_test(test_every_split_small_seed),
        cmocka_unit_test(test_every_split_small_legacy),
        cmocka_unit_test(test_every_split_fragments_seed),
        cmocka_unit_test(test_packed_and_random_pieces),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_fragment_mismatch),
        cmocka_unit_test(test_legacy_no_fragments),
        cmocka_unit_test(test_large_then_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
