/* SHA-256 as FIPS 180-4 defines it: 64-byte blocks, 64 rounds each, the
 * message padded with 0x80, zeros and its bit length. Portable C (the
 * compiler turns the rotations into single instructions), and on x86-64
 * processors with the SHA extensions a block function using them, chosen at
 * the first block: about ten times faster, which matters where a digest is
 * on the path of every start (the compiled tier hashes the module and checks
 * its artifact's seal before running it). Building with
 * SHA256_PORTABLE_ONLY leaves the portable one (its unit test does). */
#include "stratus/sha256.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && !defined(SHA256_PORTABLE_ONLY)
#define SHA256_X86_SHA 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t round_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress_portable(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + round_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

#ifdef SHA256_X86_SHA
/* The same block function with SHA256RNDS2 (two rounds an instruction) and
 * SHA256MSG1/MSG2 (the message schedule, four words at a time). The
 * instructions keep the state as two registers, ABEF and CDGH (A in the
 * highest lane), so it is shuffled into that order and back. Written out
 * four groups at a time so that the schedule stays in registers. */
#define SHA256_X86_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Words i..i+3 of the schedule from a = W[i-16..], b = W[i-12..],
   c = W[i-8..], d = W[i-4..]: s1(W[i-2]) + W[i-7] + s0(W[i-15]) + W[i-16]. */
SHA256_X86_TARGET static inline __m128i next_words(__m128i a, __m128i b, __m128i c, __m128i d)
{
    __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(a, b), _mm_alignr_epi8(d, c, 4));
    return _mm_sha256msg2_epu32(t, d);
}

/* Four rounds with words w and constants k[0..3]. Each instruction makes
   the new ABEF from CDGH and ABEF, and the old ABEF is the new CDGH, so the
   registers trade roles and are back in place after the second. */
SHA256_X86_TARGET static inline void four_rounds(__m128i *abef, __m128i *cdgh, __m128i w,
                                                 const uint32_t *k)
{
    __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)k));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

SHA256_X86_TARGET static void compress_x86_sha(uint32_t h[8], const uint8_t *p)
{
    const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abcd = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&h[4]);
    __m128i badc = _mm_shuffle_epi32(abcd, 0xb1);
    __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);
    const __m128i abef_in = abef, cdgh_in = cdgh;

    __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), big_endian);
    __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), big_endian);
    __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), big_endian);
    __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), big_endian);
    for (int i = 0; i < 64; i += 16) {
        if (i) w0 = next_words(w0, w1, w2, w3);
        four_rounds(&abef, &cdgh, w0, &round_k[i]);
        if (i) w1 = next_words(w1, w2, w3, w0);
        four_rounds(&abef, &cdgh, w1, &round_k[i + 4]);
        if (i) w2 = next_words(w2, w3, w0, w1);
        four_rounds(&abef, &cdgh, w2, &round_k[i + 8]);
        if (i) w3 = next_words(w3, w0, w1, w2);
        four_rounds(&abef, &cdgh, w3, &round_k[i + 12]);
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
    __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
    __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, ghcd, 0xf0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(ghcd, feba, 8));
}

/* 1: the processor has SHA, SSE4.1 and SSSE3; 0: it lacks one; -1: not yet
   asked (asking twice, from two threads, gives the same answer) */
static int x86_sha_usable = -1;

static bool have_x86_sha(void)
{
    int known = __atomic_load_n(&x86_sha_usable, __ATOMIC_RELAXED);
    if (known >= 0) return known;
    unsigned a, b, c, d;
    bool ok = false;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) && (c & bit_SSSE3) &&
        __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA))
        ok = true;
    __atomic_store_n(&x86_sha_usable, ok, __ATOMIC_RELAXED);
    return ok;
}
#endif

/* Cost: one block; the accelerated function where the processor has it. */
static void compress(uint32_t h[8], const uint8_t *p)
{
#ifdef SHA256_X86_SHA
    if (have_x86_sha()) {
        compress_x86_sha(h, p);
        return;
    }
#endif
    compress_portable(h, p);
}

void sha256_init(sha256_state *s)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, initial, sizeof initial);
    s->length = 0;
    s->used = 0;
}

void sha256_update(sha256_state *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0) return; /* data may be NULL then */
    s->length += len;
    if (s->used) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used < 64) return;
        compress(s->h, s->block);
        s->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        compress(s->h, p);
    if (len) memcpy(s->block, p, len);
    s->used = len;
}

void sha256_final(sha256_state *s, uint8_t digest[SHA256_DIGEST_LEN])
{
    uint64_t bits = s->length * 8;
    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    for (int i = 0; i < 8; i++)
        s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(s->h, s->block);
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 4; b++)
            digest[4 * i + b] = (uint8_t)(s->h[i] >> (24 - 8 * b));
}

void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_LEN])
{
    sha256_state s;
    sha256_init(&s);
    sha256_update(&s, data, len);
    sha256_final(&s, digest);
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char out[SHA256_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
}
