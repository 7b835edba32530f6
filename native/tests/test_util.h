/*
 * boo: small helpers shared by the C test clients (torch_like_client.c,
 * mixed_app.c): 16-bit float conversions, a deterministic RNG, strided
 * tensors in host memory and MIOpen's error metric.  Header only (static
 * functions), C99.
 */
#ifndef BOO_NATIVE_TESTS_TEST_UTIL_H_
#define BOO_NATIVE_TESTS_TEST_UTIL_H_

#include "miopen/miopen.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TU_MAX_DIMS 5

/* ---- 16-bit floats ---------------------------------------------------- */

static inline uint16_t tu_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);         /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static inline float tu_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t tu_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t absu = u & 0x7fffffffu;
    if(absu > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if(absu >= 0x477ff000u) /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7c00u);
    if(absu < 0x38800000u) /* below the smallest normal half: subnormal */
    {
        float a;
        memcpy(&a, &absu, 4);
        /* multiples of 2^-24; rint rounds to nearest even */
        return (uint16_t)(sign | (uint32_t)rintf(a * 16777216.0f));
    }
    uint32_t e    = ((absu >> 23) - 127 + 15) << 10;
    uint32_t m    = absu & 0x7fffffu;
    uint32_t half = e | (m >> 13);
    uint32_t rest = m & 0x1fffu;
    if(rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        half += 1; /* may carry into the exponent: still correct */
    return (uint16_t)(sign | half);
}

static inline float tu_f16_to_f32(uint16_t h)
{
    const uint32_t s = (h >> 15) & 1u, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float v;
    if(e == 0)
        v = ldexpf((float)m, -24);
    else if(e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400u), (int)e - 25);
    return s ? -v : v;
}

static inline size_t tu_dtype_size(miopenDataType_t t) { return t == miopenFloat ? 4 : 2; }

static inline const char* tu_dtype_name(miopenDataType_t t)
{
    return t == miopenFloat ? "fp32" : t == miopenHalf ? "fp16" : t == miopenBFloat16 ? "bf16" : "?";
}

static inline double tu_get(miopenDataType_t t, const void* base, int64_t i)
{
    if(t == miopenFloat)
        return ((const float*)base)[i];
    if(t == miopenHalf)
        return tu_f16_to_f32(((const uint16_t*)base)[i]);
    return tu_bf16_to_f32(((const uint16_t*)base)[i]);
}

static inline void tu_put(miopenDataType_t t, void* base, int64_t i, double v)
{
    if(t == miopenFloat)
        ((float*)base)[i] = (float)v;
    else if(t == miopenHalf)
        ((uint16_t*)base)[i] = tu_f32_to_f16((float)v);
    else
        ((uint16_t*)base)[i] = tu_f32_to_bf16((float)v);
}

/* ---- deterministic random numbers ------------------------------------- */

static uint64_t tu_rng_state = 0x9e3779b97f4a7c15ull;

static inline void tu_seed(uint64_t s) { tu_rng_state = s * 0x9e3779b97f4a7c15ull + 1; }

/* uniform in [-1, 1) */
static inline double tu_uniform(void)
{
    tu_rng_state = tu_rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(tu_rng_state >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

/* ---- strided host tensors --------------------------------------------- */

/* Lengths in logical N, C, (D,) H, W order; strides packed NCHW-style or
 * channels last (C innermost), as a framework lays them out. */
typedef struct
{
    miopenDataType_t dtype;
    int nd;
    int lens[TU_MAX_DIMS];
    int strides[TU_MAX_DIMS];
    int64_t numel;
    void* data;
} tu_tensor;

static inline int tu_alloc(tu_tensor* t, miopenDataType_t dt, int nd, const int* lens, int channels_last)
{
    memset(t, 0, sizeof(*t));
    t->dtype = dt;
    t->nd    = nd;
    t->numel = 1;
    for(int i = 0; i < nd; ++i)
    {
        t->lens[i] = lens[i];
        t->numel *= lens[i];
    }
    if(channels_last && nd >= 3)
    {
        int s         = 1;
        t->strides[1] = s;
        s *= lens[1];
        for(int i = nd - 1; i >= 2; --i)
        {
            t->strides[i] = s;
            s *= lens[i];
        }
        t->strides[0] = s;
    }
    else
    {
        int s = 1;
        for(int i = nd - 1; i >= 0; --i)
        {
            t->strides[i] = s;
            s *= lens[i];
        }
    }
    t->data = calloc((size_t)t->numel, tu_dtype_size(dt));
    return t->data != NULL;
}

static inline void tu_free(tu_tensor* t)
{
    free(t->data);
    t->data = NULL;
}

/* memory offset of the i-th element in logical (row-major over lens) order */
static inline int64_t tu_offset(const tu_tensor* t, int64_t i)
{
    int64_t off = 0;
    for(int d = t->nd - 1; d >= 0; --d)
    {
        off += (i % t->lens[d]) * t->strides[d];
        i /= t->lens[d];
    }
    return off;
}

/* Fill with uniform values in [-scale, scale), rounded to the dtype. */
static inline void tu_fill(tu_tensor* t, double scale)
{
    for(int64_t i = 0; i < t->numel; ++i)
        tu_put(t->dtype, t->data, tu_offset(t, i), scale * tu_uniform());
}

/* Logical-order float64 copy of the stored values (caller frees). */
static inline double* tu_to_f64(const tu_tensor* t)
{
    double* v = (double*)malloc((size_t)t->numel * sizeof(double));
    if(v == NULL)
        return NULL;
    for(int64_t i = 0; i < t->numel; ++i)
        v[i] = tu_get(t->dtype, t->data, tu_offset(t, i));
    return v;
}

/* MIOpen's metric: rms(out - ref) / max(max|out|, max|ref|). */
static inline double tu_error(const tu_tensor* out, const double* ref)
{
    double se = 0.0, mx = 0.0;
    for(int64_t i = 0; i < out->numel; ++i)
    {
        double o = tu_get(out->dtype, out->data, tu_offset(out, i));
        if(isnan(o))
            return INFINITY;
        double d = o - ref[i];
        se += d * d;
        if(fabs(o) > mx)
            mx = fabs(o);
        if(fabs(ref[i]) > mx)
            mx = fabs(ref[i]);
    }
    double rms = sqrt(se / (double)(out->numel > 0 ? out->numel : 1));
    return mx > 0.0 ? rms / mx : rms;
}

static inline double tu_tolerance(miopenDataType_t t)
{
    return t == miopenFloat ? 1e-5 : t == miopenHalf ? 5e-3 : 2e-2;
}

#endif /* BOO_NATIVE_TESTS_TEST_UTIL_H_ */
