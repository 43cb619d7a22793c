/* The helpers every generated C file starts with (after native_abi.h and the
 * trap numbers, see c_emit.c): value bits, memory accesses, and the
 * WebAssembly operations C does not express in one operator. Not a header
 * of Stratus itself: c_emit.c copies this text into each file it writes.
 *
 * Memory accesses are single instructions (a fixed-size memcpy, which the
 * compiler makes one load or store), so an access that crosses the end of
 * the memory faults in the guard region before it writes anything. A load
 * whose value the C compiler might drop or move into a branch (the
 * translator finds which, c_emit.c) is kept by an empty asm: a wasm load
 * traps even when nothing reads what it loaded. */

#define SWN_LIKELY(x) __builtin_expect(!!(x), 1)
#define SWN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SWN_KEEP(v) __asm__ volatile("" : : "r"(v))

static inline float swn_f32(uint32_t b)
{
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}
static inline double swn_f64(uint64_t b)
{
    double d;
    __builtin_memcpy(&d, &b, 8);
    return d;
}
static inline uint32_t swn_b32(float f)
{
    uint32_t b;
    __builtin_memcpy(&b, &f, 4);
    return b;
}
static inline uint64_t swn_b64(double d)
{
    uint64_t b;
    __builtin_memcpy(&b, &d, 8);
    return b;
}

/* Float constants and promotions the C compiler cannot see through: it
 * would fold x*1.0, x+(-0.0) or demote(promote(x)) to x, which keeps a
 * signaling NaN where WebAssembly's arithmetic returns a quiet one. */
#if defined(__x86_64__)
#define SWN_OPAQUE(v) __asm__("" : "+x"(v))
#elif defined(__aarch64__)
#define SWN_OPAQUE(v) __asm__("" : "+w"(v))
#else
#define SWN_OPAQUE(v) __asm__("" : "+m"(v))
#endif
static inline float swn_f32k(uint32_t b)
{
    float f = swn_f32(b);
    SWN_OPAQUE(f);
    return f;
}
static inline double swn_f64k(uint64_t b)
{
    double d = swn_f64(b);
    SWN_OPAQUE(d);
    return d;
}
static inline double swn_promote(float f)
{
    double d = f;
    SWN_OPAQUE(d);
    return d;
}

#define SWN_LOADS(name, keep)                                                                      \
    static inline uint32_t name##8(const uint8_t *p)                                               \
    {                                                                                              \
        uint8_t v = *p;                                                                            \
        keep(v);                                                                                   \
        return v;                                                                                  \
    }                                                                                              \
    static inline uint32_t name##16(const uint8_t *p)                                              \
    {                                                                                              \
        uint16_t v;                                                                                \
        __builtin_memcpy(&v, p, 2);                                                                \
        keep(v);                                                                                   \
        return v;                                                                                  \
    }                                                                                              \
    static inline uint32_t name##32(const uint8_t *p)                                              \
    {                                                                                              \
        uint32_t v;                                                                                \
        __builtin_memcpy(&v, p, 4);                                                                \
        keep(v);                                                                                   \
        return v;                                                                                  \
    }                                                                                              \
    static inline uint64_t name##64(const uint8_t *p)                                              \
    {                                                                                              \
        uint64_t v;                                                                                \
        __builtin_memcpy(&v, p, 8);                                                                \
        keep(v);                                                                                   \
        return v;                                                                                  \
    }
/* swn_ld*: loads whose value is used (the translator proved it);
   swn_kld*: loads kept whatever the compiler finds */
#define SWN_NO_KEEP(v) ((void)(v))
SWN_LOADS(swn_ld, SWN_NO_KEEP)
SWN_LOADS(swn_kld, SWN_KEEP)
static inline void swn_st8(uint8_t *p, uint8_t v)
{
    *p = v;
}
static inline void swn_st16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, 2);
}
static inline void swn_st32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}
static inline void swn_st64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, 8);
}

/* Integer operations. */
static inline uint32_t swn_clz32(uint32_t x)
{
    return x ? (uint32_t)__builtin_clz(x) : 32;
}
static inline uint32_t swn_ctz32(uint32_t x)
{
    return x ? (uint32_t)__builtin_ctz(x) : 32;
}
static inline uint64_t swn_clz64(uint64_t x)
{
    return x ? (uint64_t)__builtin_clzll(x) : 64;
}
static inline uint64_t swn_ctz64(uint64_t x)
{
    return x ? (uint64_t)__builtin_ctzll(x) : 64;
}
/* Bit counting without the compiler's library (__builtin_popcount may call
   it on targets without the instruction). */
static inline uint32_t swn_popcnt32(uint32_t x)
{
#if defined(__POPCNT__) || defined(__aarch64__)
    return (uint32_t)__builtin_popcount(x);
#else
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
#endif
}
static inline uint64_t swn_popcnt64(uint64_t x)
{
#if defined(__POPCNT__) || defined(__aarch64__)
    return (uint64_t)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (x * 0x0101010101010101ull) >> 56;
#endif
}
static inline uint32_t swn_rotl32(uint32_t x, uint32_t n)
{
    return (x << (n & 31)) | (x >> ((32 - n) & 31));
}
static inline uint32_t swn_rotr32(uint32_t x, uint32_t n)
{
    return (x >> (n & 31)) | (x << ((32 - n) & 31));
}
static inline uint64_t swn_rotl64(uint64_t x, uint64_t n)
{
    return (x << (n & 63)) | (x >> ((64 - n) & 63));
}
static inline uint64_t swn_rotr64(uint64_t x, uint64_t n)
{
    return (x >> (n & 63)) | (x << ((64 - n) & 63));
}

static inline uint32_t swn_i32_div_s(struct sw_native_ctx *c, uint32_t a, uint32_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    if (SWN_UNLIKELY(a == 0x80000000u && b == 0xFFFFFFFFu)) c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint32_t swn_i32_div_u(struct sw_native_ctx *c, uint32_t a, uint32_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    return a / b;
}
static inline uint32_t swn_i32_rem_s(struct sw_native_ctx *c, uint32_t a, uint32_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    if (SWN_UNLIKELY(b == 0xFFFFFFFFu)) return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}
static inline uint32_t swn_i32_rem_u(struct sw_native_ctx *c, uint32_t a, uint32_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    return a % b;
}
static inline uint64_t swn_i64_div_s(struct sw_native_ctx *c, uint64_t a, uint64_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    if (SWN_UNLIKELY(a == 0x8000000000000000ull && b == ~0ull))
        c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t swn_i64_div_u(struct sw_native_ctx *c, uint64_t a, uint64_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    return a / b;
}
static inline uint64_t swn_i64_rem_s(struct sw_native_ctx *c, uint64_t a, uint64_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    if (SWN_UNLIKELY(b == ~0ull)) return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint64_t swn_i64_rem_u(struct sw_native_ctx *c, uint64_t a, uint64_t b, uint32_t f)
{
    if (SWN_UNLIKELY(b == 0)) c->rt->trap(c, SWN_T_DIV_ZERO, f);
    return a % b;
}

/* Floating point: sign operations on the bits (exact for NaNs), min and max
 * with signed zeros and NaN propagation, rounding that returns quiet NaNs. */
static inline float swn_f32_abs(float x)
{
    return swn_f32(swn_b32(x) & 0x7FFFFFFFu);
}
static inline float swn_f32_neg(float x)
{
    return swn_f32(swn_b32(x) ^ 0x80000000u);
}
static inline float swn_f32_copysign(float a, float b)
{
    return swn_f32((swn_b32(a) & 0x7FFFFFFFu) | (swn_b32(b) & 0x80000000u));
}
static inline double swn_f64_abs(double x)
{
    return swn_f64(swn_b64(x) & 0x7FFFFFFFFFFFFFFFull);
}
static inline double swn_f64_neg(double x)
{
    return swn_f64(swn_b64(x) ^ 0x8000000000000000ull);
}
static inline double swn_f64_copysign(double a, double b)
{
    return swn_f64((swn_b64(a) & 0x7FFFFFFFFFFFFFFFull) | (swn_b64(b) & 0x8000000000000000ull));
}
static inline float swn_f32_min(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return (swn_b32(a) >> 31) ? a : b;
    return a < b ? a : b;
}
static inline float swn_f32_max(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return (swn_b32(a) >> 31) ? b : a;
    return a > b ? a : b;
}
static inline double swn_f64_min(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return (swn_b64(a) >> 63) ? a : b;
    return a < b ? a : b;
}
static inline double swn_f64_max(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return (swn_b64(a) >> 63) ? b : a;
    return a > b ? a : b;
}

#if defined(__SSE4_1__) || defined(__aarch64__)
/* One instruction each on these targets, no library call. */
static inline float swn_f32_ceil(float x)
{
    return x != x ? x + x : __builtin_ceilf(x);
}
static inline float swn_f32_floor(float x)
{
    return x != x ? x + x : __builtin_floorf(x);
}
static inline float swn_f32_trunc(float x)
{
    return x != x ? x + x : __builtin_truncf(x);
}
static inline float swn_f32_nearest(float x)
{
    return x != x ? x + x : __builtin_nearbyintf(x);
}
static inline double swn_f64_ceil(double x)
{
    return x != x ? x + x : __builtin_ceil(x);
}
static inline double swn_f64_floor(double x)
{
    return x != x ? x + x : __builtin_floor(x);
}
static inline double swn_f64_trunc(double x)
{
    return x != x ? x + x : __builtin_trunc(x);
}
static inline double swn_f64_nearest(double x)
{
    return x != x ? x + x : __builtin_nearbyint(x);
}
#else
/* Without those instructions: on the bits, exactly (no libm to call). */
static inline float swn_f32_trunc(float x)
{
    uint32_t b = swn_b32(x);
    uint32_t e = (b >> 23) & 0xFF;
    if (e == 0xFF) return x + x; /* NaN quietened, infinities kept */
    if (e >= 127 + 23) return x; /* already integral */
    if (e < 127) return swn_f32(b & 0x80000000u);
    return swn_f32(b & ~(0x007FFFFFu >> (e - 127)));
}
static inline float swn_f32_floor(float x)
{
    float t = swn_f32_trunc(x);
    return (t != x && x < 0) ? t - 1.0f : t;
}
static inline float swn_f32_ceil(float x)
{
    float t = swn_f32_trunc(x);
    return (t != x && x > 0) ? t + 1.0f : t;
}
static inline float swn_f32_nearest(float x)
{
    float a = swn_f32_abs(x);
    if (a != a) return x + x;
    if (a >= 8388608.0f) return x;
    return swn_f32_copysign((a + 8388608.0f) - 8388608.0f, x);
}
static inline double swn_f64_trunc(double x)
{
    uint64_t b = swn_b64(x);
    uint64_t e = (b >> 52) & 0x7FF;
    if (e == 0x7FF) return x + x;
    if (e >= 1023 + 52) return x;
    if (e < 1023) return swn_f64(b & 0x8000000000000000ull);
    return swn_f64(b & ~(0x000FFFFFFFFFFFFFull >> (e - 1023)));
}
static inline double swn_f64_floor(double x)
{
    double t = swn_f64_trunc(x);
    return (t != x && x < 0) ? t - 1.0 : t;
}
static inline double swn_f64_ceil(double x)
{
    double t = swn_f64_trunc(x);
    return (t != x && x > 0) ? t + 1.0 : t;
}
static inline double swn_f64_nearest(double x)
{
    double a = swn_f64_abs(x);
    if (a != a) return x + x;
    if (a >= 4503599627370496.0) return x;
    return swn_f64_copysign((a + 4503599627370496.0) - 4503599627370496.0, x);
}
#endif

/* Truncation to integers: NaN and out of range trap (wasm's rule);
 * f32 operands come as doubles, which hold them exactly. */
static inline uint32_t swn_i32_trunc_s(struct sw_native_ctx *c, double x, uint32_t f)
{
    if (SWN_UNLIKELY(x != x)) c->rt->trap(c, SWN_T_INVALID_CONVERSION, f);
    if (SWN_UNLIKELY(!(x > -2147483649.0 && x < 2147483648.0)))
        c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint32_t)(int32_t)x;
}
static inline uint32_t swn_i32_trunc_u(struct sw_native_ctx *c, double x, uint32_t f)
{
    if (SWN_UNLIKELY(x != x)) c->rt->trap(c, SWN_T_INVALID_CONVERSION, f);
    if (SWN_UNLIKELY(!(x > -1.0 && x < 4294967296.0))) c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint32_t)x;
}
static inline uint64_t swn_i64_trunc_s(struct sw_native_ctx *c, double x, uint32_t f)
{
    if (SWN_UNLIKELY(x != x)) c->rt->trap(c, SWN_T_INVALID_CONVERSION, f);
    if (SWN_UNLIKELY(!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)))
        c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint64_t)(int64_t)x;
}
static inline uint64_t swn_i64_trunc_u(struct sw_native_ctx *c, double x, uint32_t f)
{
    if (SWN_UNLIKELY(x != x)) c->rt->trap(c, SWN_T_INVALID_CONVERSION, f);
    if (SWN_UNLIKELY(!(x > -1.0 && x < 18446744073709551616.0)))
        c->rt->trap(c, SWN_T_INT_OVERFLOW, f);
    return (uint64_t)x;
}
static inline uint32_t swn_sat_i32(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return 0x80000000u;
    if (x >= 2147483648.0) return 0x7FFFFFFFu;
    return (uint32_t)(int32_t)x;
}
static inline uint32_t swn_sat_u32(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return 0xFFFFFFFFu;
    return (uint32_t)x;
}
static inline uint64_t swn_sat_i64(double x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return 0x8000000000000000ull;
    if (x >= 9223372036854775808.0) return 0x7FFFFFFFFFFFFFFFull;
    return (uint64_t)(int64_t)x;
}
static inline uint64_t swn_sat_u64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return ~0ull;
    return (uint64_t)x;
}
