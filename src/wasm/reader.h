/* A bounds-checked cursor over untrusted bytes with LEB128 readers, shared by
 * the module decoder and the function-body validator. Every read checks the
 * remaining length; the first failure records the spec's wording of the
 * problem and the offset, and later reads fail too, so callers check once. */
#ifndef STRATUS_WASM_READER_H
#define STRATUS_WASM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct reader {
    const uint8_t *base; /* start of the whole module: offsets are relative to it */
    const uint8_t *p, *end;
    const char *error; /* NULL while all is well */
    size_t error_at;
};

static inline bool rd_fail(struct reader *r, const char *why)
{
    if (!r->error) {
        r->error = why;
        r->error_at = (size_t)(r->p - r->base);
    }
    return false;
}

static inline size_t rd_left(const struct reader *r)
{
    return (size_t)(r->end - r->p);
}
static inline size_t rd_offset(const struct reader *r)
{
    return (size_t)(r->p - r->base);
}

static inline bool rd_u8(struct reader *r, uint8_t *out)
{
    if (r->error) return false;
    if (r->p >= r->end) return rd_fail(r, "unexpected end");
    *out = *r->p++;
    return true;
}

static inline bool rd_bytes(struct reader *r, size_t n, const uint8_t **out)
{
    if (r->error) return false;
    if (rd_left(r) < n) return rd_fail(r, "unexpected end");
    *out = r->p;
    r->p += n;
    return true;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64). */
static inline bool rd_uleb(struct reader *r, unsigned bits, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b;
        if (!rd_u8(r, &b)) return false;
        if (shift + 7 >= bits && shift < bits) {
            /* last possible byte: no continuation, unused bits zero */
            unsigned used = bits - shift;
            if (b & 0x80) return rd_fail(r, "integer representation too long");
            if (used < 7 && (b >> used) != 0) return rd_fail(r, "integer too large");
            v |= (uint64_t)b << shift;
            *out = v;
            return true;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
}

static inline bool rd_u32(struct reader *r, uint32_t *out)
{
    uint64_t v;
    if (!rd_uleb(r, 32, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

/* Signed LEB128 of at most `bits` bits (32, 33 or 64). */
static inline bool rd_sleb(struct reader *r, unsigned bits, int64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b;
        if (!rd_u8(r, &b)) return false;
        if (shift + 7 >= bits) {
            unsigned used = bits - shift; /* value bits in this byte, 1..7 */
            if (b & 0x80) return rd_fail(r, "integer representation too long");
            /* the bits above `used` must copy the sign bit */
            uint8_t sign = (b >> (used - 1)) & 1;
            uint8_t rest = (uint8_t)((b & 0x7f) >> used);
            uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
            if (rest != want) return rd_fail(r, "integer too large");
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
            *out = (int64_t)v;
            return true;
        }
    }
    if (shift < 64 && ((v >> (shift - 1)) & 1)) v |= ~(uint64_t)0 << shift;
    *out = (int64_t)v;
    return true;
}

#endif
