/* Numeric helpers with WebAssembly semantics, used by the interpreter: bit
 * views of floats, min/max with signed zeros and NaN propagation, rounding
 * functions that return quiet NaNs, and float-to-int range checks. Kept apart
 * so the dispatch loop reads as one line per instruction. */
#ifndef STRATUS_WASM_NUMERIC_H
#define STRATUS_WASM_NUMERIC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float f32_of(uint64_t s)
{
    uint32_t b = (uint32_t)s;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline uint64_t of_f32(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static inline double f64_of(uint64_t s)
{
    double d;
    memcpy(&d, &s, 8);
    return d;
}

static inline uint64_t of_f64(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

/* NaN in, quiet NaN out (adding a NaN to itself quiets it, keeping payload). */
static inline float f32_min(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline float f32_max(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline double f64_min(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline double f64_max(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline float f32_ceil(float x)
{
    return x != x ? x + x : ceilf(x);
}
static inline float f32_floor(float x)
{
    return x != x ? x + x : floorf(x);
}
static inline float f32_trunc(float x)
{
    return x != x ? x + x : truncf(x);
}
static inline float f32_nearest(float x)
{
    return x != x ? x + x : nearbyintf(x);
}
static inline double f64_ceil(double x)
{
    return x != x ? x + x : ceil(x);
}
static inline double f64_floor(double x)
{
    return x != x ? x + x : floor(x);
}
static inline double f64_trunc(double x)
{
    return x != x ? x + x : trunc(x);
}
static inline double f64_nearest(double x)
{
    return x != x ? x + x : nearbyint(x);
}

/* Range checks for trapping truncation: true when x truncates into range. */
static inline int in_i32(double x)
{
    return x > -2147483649.0 && x < 2147483648.0;
}
static inline int in_u32(double x)
{
    return x > -1.0 && x < 4294967296.0;
}
static inline int in_i64(double x)
{
    return x >= -9223372036854775808.0 && x < 9223372036854775808.0;
}
static inline int in_u64(double x)
{
    return x > -1.0 && x < 18446744073709551616.0;
}

/* Saturating truncations. */
static inline int32_t sat_i32(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return INT32_MIN;
    if (x >= 2147483648.0) return INT32_MAX;
    return (int32_t)x;
}

static inline uint32_t sat_u32(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)x;
}

static inline int64_t sat_i64(double x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return INT64_MIN;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    return (int64_t)x;
}

static inline uint64_t sat_u64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)x;
}

#endif
