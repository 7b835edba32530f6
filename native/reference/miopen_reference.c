/*
 * boo: host-memory reference implementation of the MIOpen convolution API
 * declared in native/include/miopen/miopen.h.
 *
 * This library stands in for the vendor libMIOpen.so.1 on machines without
 * ROCm.  All tensor pointers are ordinary host pointers.  Convolutions are
 * computed with direct loops and double accumulation; it is meant to be
 * obviously correct, not fast.
 *
 * Semantics followed (MIOpen 3.x):
 *   - tensor lengths are in logical N, C, (D,) H, W order; arbitrary strides;
 *   - weights are [K, C/groups, (kD,) kH, kW] for normal convolution and
 *     [C_in, C_out/groups, ...] for transposed convolution;
 *   - forward of a transposed convolution is backward-data of the normal
 *     convolution with the roles of x and y swapped, backward-data of a
 *     transposed convolution is the normal forward, and backward-weights
 *     swaps x and dy;
 *   - output sizes:
 *       normal:     max(1, (in + 2p - d(k-1) - 1) / s + 1)
 *       transposed: max(1, s(in-1) + 1 + d(k-1) - 2p + adj), adj < s
 *   - y = alpha * conv(...) + beta * y with host float scalars (double for
 *     double tensors); beta == 0 never reads the destination.
 */
#define _POSIX_C_SOURCE 199309L

#include "miopen/miopen.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REF_MAX_DIMS 8
#define REF_MAX_SPATIAL 3
/* Largest element count we are willing to materialise as doubles. */
#define REF_MAX_ELEMS ((int64_t)1 << 31)

#define MAGIC_HANDLE 0x424f4f48u /* "BOOH" */
#define MAGIC_TENSOR 0x424f4f54u /* "BOOT" */
#define MAGIC_CONV 0x424f4f43u   /* "BOOC" */
#define MAGIC_ACTIV 0x424f4f41u  /* "BOOA" */
#define MAGIC_POOL 0x424f4f50u   /* "BOOP" */
#define MAGIC_PLAN 0x424f4f46u   /* "BOOF" */
#define MAGIC_FOP 0x424f4f4fu    /* "BOOO" */
#define MAGIC_ARGS 0x424f4f52u   /* "BOOR" */
#define MAGIC_DEAD 0xdeadbeefu

/* Solution ids reported by the immediate-mode API (reference specific). */
#define REF_SOLUTION_FWD ((uint64_t)1)
#define REF_SOLUTION_BWD ((uint64_t)2)
#define REF_SOLUTION_WRW ((uint64_t)3)

#define REF_VERSION_MAJOR 3
#define REF_VERSION_MINOR 4
#define REF_VERSION_PATCH 0

struct miopenHandle
{
    uint32_t magic;
    miopenAcceleratorQueue_t stream;
    bool profiling;
    float last_ms;
};

struct miopenTensorDescriptor
{
    uint32_t magic;
    int nd; /* 0 = not set yet */
    miopenDataType_t dtype;
    int64_t lens[REF_MAX_DIMS];
    int64_t strides[REF_MAX_DIMS];
};

struct miopenConvolutionDescriptor
{
    uint32_t magic;
    miopenConvolutionMode_t mode;
    int sdim;
    int pad[REF_MAX_SPATIAL];
    int stride[REF_MAX_SPATIAL];
    int dil[REF_MAX_SPATIAL];
    int adj[REF_MAX_SPATIAL];
    int groups;
    /* miopenSetConvolutionAttribute values (MIOpen's defaults: FP16_ALT_IMPL
     * -1 = library's choice, DETERMINISTIC 0, FP8 rounding stochastic, math
     * type default) and the find mode (default DynamicHybrid).  They change
     * nothing in the computation here (it is always deterministic and
     * double accumulated); they are stored and read back. */
    int attr_fp16_alt;
    int attr_deterministic;
    int attr_fp8_rounding;
    int attr_math_type;
    miopenConvolutionFindMode_t find_mode;
};

typedef struct miopenTensorDescriptor tdesc_t;
typedef struct miopenConvolutionDescriptor cdesc_t;

/* ======================================================================
 * small helpers
 * ====================================================================== */

static int handle_ok(const struct miopenHandle* h) { return h != NULL && h->magic == MAGIC_HANDLE; }

static int tensor_ok(const tdesc_t* t) { return t != NULL && t->magic == MAGIC_TENSOR && t->nd > 0; }

static int conv_ok(const cdesc_t* c) { return c != NULL && c->magic == MAGIC_CONV; }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int dtype_known(miopenDataType_t t)
{
    switch(t)
    {
    case miopenHalf:
    case miopenFloat:
    case miopenInt32:
    case miopenInt8:
    case miopenBFloat16:
    case miopenDouble:
    case miopenFloat8_fnuz:
    case miopenBFloat8_fnuz:
    case miopenInt64: return 1;
    default: return 0;
    }
}

/* Data types the convolution kernels can read and write. */
static int dtype_computable(miopenDataType_t t)
{
    return t == miopenHalf || t == miopenFloat || t == miopenBFloat16 || t == miopenDouble;
}

static size_t dtype_size(miopenDataType_t t)
{
    switch(t)
    {
    case miopenHalf:
    case miopenBFloat16: return 2;
    case miopenFloat:
    case miopenInt32: return 4;
    case miopenDouble:
    case miopenInt64: return 8;
    default: return 1;
    }
}

static int64_t tensor_numel(const tdesc_t* t)
{
    int64_t n = 1;
    for(int i = 0; i < t->nd; ++i)
        n *= t->lens[i];
    return n;
}

/* ======================================================================
 * 16-bit float formats (IEEE half and bfloat16) <-> double
 * ====================================================================== */

/* Round a non-negative double that is an exact multiple of 1/2 or finer to
 * the nearest integer, ties to even.  Independent of the FP environment. */
static double round_half_even(double q)
{
    double f = floor(q);
    double d = q - f;
    if(d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        f += 1.0;
    return f;
}

/* Encode v into a binary floating point format with `ebits` exponent bits
 * and `mbits` stored mantissa bits (1 sign bit), round to nearest even. */
static uint16_t encode_small_float(double v, int ebits, int mbits)
{
    const uint32_t sign     = signbit(v) ? (1u << (ebits + mbits)) : 0u;
    const uint32_t exp_mask = ((1u << ebits) - 1u) << mbits;
    const int bias          = (1 << (ebits - 1)) - 1;
    const int emin          = 1 - bias;
    const int emax          = bias;
    double a                = fabs(v);

    if(isnan(v))
        return (uint16_t)(sign | exp_mask | (1u << (mbits - 1)));
    if(isinf(v))
        return (uint16_t)(sign | exp_mask);
    if(a == 0.0)
        return (uint16_t)sign;

    int e2 = 0;
    (void)frexp(a, &e2); /* a = m * 2^e2, m in [0.5, 1) */
    int e = e2 - 1;      /* a = 1.xxx * 2^e */

    if(e < emin)
    {
        /* subnormal range: integer multiple of 2^(emin - mbits) */
        double q = round_half_even(ldexp(a, mbits - emin));
        /* q == 2^mbits rolls over into the smallest normal: same encoding */
        return (uint16_t)(sign | (uint32_t)q);
    }

    double q = round_half_even(ldexp(a, mbits - e)); /* in [2^mbits, 2^(mbits+1)] */
    if(q >= ldexp(1.0, mbits + 1))
    {
        q = ldexp(1.0, mbits);
        e += 1;
    }
    if(e > emax)
        return (uint16_t)(sign | exp_mask);
    uint32_t mant = (uint32_t)q - (1u << mbits);
    return (uint16_t)(sign | ((uint32_t)(e + bias) << mbits) | mant);
}

static double decode_small_float(uint16_t bits, int ebits, int mbits)
{
    const int bias     = (1 << (ebits - 1)) - 1;
    const uint32_t emx = (1u << ebits) - 1u;
    uint32_t s         = (bits >> (ebits + mbits)) & 1u;
    uint32_t e         = (bits >> mbits) & emx;
    uint32_t m         = bits & ((1u << mbits) - 1u);
    double v;
    if(e == 0)
        v = ldexp((double)m, 1 - bias - mbits);
    else if(e == emx)
        v = (m == 0) ? INFINITY : NAN;
    else
        v = ldexp((double)(m + (1u << mbits)), (int)e - bias - mbits);
    return s ? -v : v;
}

static double read_elem(miopenDataType_t t, const void* base, int64_t idx)
{
    switch(t)
    {
    case miopenFloat: return (double)((const float*)base)[idx];
    case miopenDouble: return ((const double*)base)[idx];
    case miopenHalf: return decode_small_float(((const uint16_t*)base)[idx], 5, 10);
    case miopenBFloat16: return decode_small_float(((const uint16_t*)base)[idx], 8, 7);
    default: return 0.0;
    }
}

static void write_elem(miopenDataType_t t, void* base, int64_t idx, double v)
{
    switch(t)
    {
    case miopenFloat: ((float*)base)[idx] = (float)v; break;
    case miopenDouble: ((double*)base)[idx] = v; break;
    case miopenHalf: ((uint16_t*)base)[idx] = encode_small_float(v, 5, 10); break;
    case miopenBFloat16: ((uint16_t*)base)[idx] = encode_small_float(v, 8, 7); break;
    default: break;
    }
}

/* Read a host scalar (alpha/beta): double for double tensors, else float. */
static double read_scalar(const void* p, miopenDataType_t t)
{
    if(t == miopenDouble)
        return *(const double*)p;
    return (double)*(const float*)p;
}

/* Gather a strided tensor into a dense double array in logical order. */
static double* load_tensor(const tdesc_t* t, const void* data)
{
    int64_t n   = tensor_numel(t);
    double* out = (double*)malloc((size_t)n * sizeof(double));
    if(out == NULL)
        return NULL;
    int64_t coord[REF_MAX_DIMS] = {0};
    int64_t off                 = 0;
    for(int64_t i = 0; i < n; ++i)
    {
        out[i] = read_elem(t->dtype, data, off);
        for(int d = t->nd - 1; d >= 0; --d)
        {
            coord[d] += 1;
            off += t->strides[d];
            if(coord[d] < t->lens[d])
                break;
            off -= coord[d] * t->strides[d];
            coord[d] = 0;
        }
    }
    return out;
}

/* Scatter dense logical-order values into a strided tensor:
 * dst = alpha * vals + beta * dst (dst not read when beta == 0). */
static void store_tensor(const tdesc_t* t, void* data, const double* vals, double alpha, double beta)
{
    int64_t n                   = tensor_numel(t);
    int64_t coord[REF_MAX_DIMS] = {0};
    int64_t off                 = 0;
    for(int64_t i = 0; i < n; ++i)
    {
        double v = alpha * vals[i];
        if(beta != 0.0)
            v += beta * read_elem(t->dtype, data, off);
        write_elem(t->dtype, data, off, v);
        for(int d = t->nd - 1; d >= 0; --d)
        {
            coord[d] += 1;
            off += t->strides[d];
            if(coord[d] < t->lens[d])
                break;
            off -= coord[d] * t->strides[d];
            coord[d] = 0;
        }
    }
}

/* ======================================================================
 * handle
 * ====================================================================== */

MIOPEN_EXPORT const char* miopenGetErrorString(miopenStatus_t error)
{
    switch(error)
    {
    case miopenStatusSuccess: return "miopenStatusSuccess";
    case miopenStatusNotInitialized: return "miopenStatusNotInitialized";
    case miopenStatusInvalidValue: return "miopenStatusInvalidValue";
    case miopenStatusBadParm: return "miopenStatusBadParm";
    case miopenStatusAllocFailed: return "miopenStatusAllocFailed";
    case miopenStatusInternalError: return "miopenStatusInternalError";
    case miopenStatusNotImplemented: return "miopenStatusNotImplemented";
    case miopenStatusUnknownError: return "miopenStatusUnknownError";
    case miopenStatusUnsupportedOp: return "miopenStatusUnsupportedOp";
    case miopenStatusGpuOperationsSkipped: return "miopenStatusGpuOperationsSkipped";
    case miopenStatusVersionMismatch: return "miopenStatusVersionMismatch";
    default: return "Unknown miopenStatus_t value";
    }
}

MIOPEN_EXPORT miopenStatus_t miopenGetVersion(size_t* major, size_t* minor, size_t* patch)
{
    if(major != NULL)
        *major = REF_VERSION_MAJOR;
    if(minor != NULL)
        *minor = REF_VERSION_MINOR;
    if(patch != NULL)
        *patch = REF_VERSION_PATCH;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateWithStream(miopenHandle_t* handle,
                                                    miopenAcceleratorQueue_t stream)
{
    if(handle == NULL)
        return miopenStatusBadParm;
    struct miopenHandle* h = (struct miopenHandle*)calloc(1, sizeof(*h));
    if(h == NULL)
        return miopenStatusAllocFailed;
    h->magic  = MAGIC_HANDLE;
    h->stream = stream;
    *handle   = h;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreate(miopenHandle_t* handle)
{
    return miopenCreateWithStream(handle, NULL);
}

MIOPEN_EXPORT miopenStatus_t miopenDestroy(miopenHandle_t handle)
{
    if(!handle_ok(handle))
        return miopenStatusBadParm;
    handle->magic = MAGIC_DEAD;
    free(handle);
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetStream(miopenHandle_t handle, miopenAcceleratorQueue_t streamID)
{
    if(!handle_ok(handle))
        return miopenStatusBadParm;
    handle->stream = streamID;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetStream(miopenHandle_t handle, miopenAcceleratorQueue_t* streamID)
{
    if(!handle_ok(handle) || streamID == NULL)
        return miopenStatusBadParm;
    *streamID = handle->stream;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetKernelTime(miopenHandle_t handle, float* time)
{
    if(!handle_ok(handle) || time == NULL)
        return miopenStatusBadParm;
    *time = handle->profiling ? handle->last_ms : 0.0f;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenEnableProfiling(miopenHandle_t handle, bool enable)
{
    if(!handle_ok(handle))
        return miopenStatusBadParm;
    handle->profiling = enable;
    if(!enable)
        handle->last_ms = 0.0f;
    return miopenStatusSuccess;
}

/* ======================================================================
 * tensor descriptors
 * ====================================================================== */

MIOPEN_EXPORT miopenStatus_t miopenCreateTensorDescriptor(miopenTensorDescriptor_t* tensorDesc)
{
    if(tensorDesc == NULL)
        return miopenStatusBadParm;
    tdesc_t* t = (tdesc_t*)calloc(1, sizeof(*t));
    if(t == NULL)
        return miopenStatusAllocFailed;
    t->magic    = MAGIC_TENSOR;
    t->nd       = 0;
    t->dtype    = miopenFloat;
    *tensorDesc = t;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyTensorDescriptor(miopenTensorDescriptor_t tensorDesc)
{
    if(tensorDesc == NULL || tensorDesc->magic != MAGIC_TENSOR)
        return miopenStatusBadParm;
    tensorDesc->magic = MAGIC_DEAD;
    free(tensorDesc);
    return miopenStatusSuccess;
}

/* Common setter: validates and stores lengths and (optional) strides. */
static miopenStatus_t set_tensor(tdesc_t* t,
                                 miopenDataType_t dtype,
                                 int nd,
                                 const int64_t* lens,
                                 const int64_t* strides /* NULL: packed */)
{
    if(t == NULL || t->magic != MAGIC_TENSOR || lens == NULL)
        return miopenStatusBadParm;
    if(nd < 1 || nd > REF_MAX_DIMS)
        return miopenStatusBadParm;
    if(!dtype_known(dtype))
        return miopenStatusBadParm;
    int64_t total = 1;
    for(int i = 0; i < nd; ++i)
    {
        if(lens[i] <= 0)
            return miopenStatusBadParm;
        total *= lens[i];
        if(total > REF_MAX_ELEMS)
            return miopenStatusBadParm;
        if(strides != NULL && strides[i] <= 0)
            return miopenStatusBadParm;
    }
    t->nd    = nd;
    t->dtype = dtype;
    for(int i = 0; i < nd; ++i)
        t->lens[i] = lens[i];
    if(strides != NULL)
    {
        for(int i = 0; i < nd; ++i)
            t->strides[i] = strides[i];
    }
    else
    {
        int64_t s = 1;
        for(int i = nd - 1; i >= 0; --i)
        {
            t->strides[i] = s;
            s *= lens[i];
        }
    }
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSet4dTensorDescriptor(
    miopenTensorDescriptor_t tensorDesc, miopenDataType_t dataType, int n, int c, int h, int w)
{
    int64_t lens[4] = {n, c, h, w};
    return set_tensor(tensorDesc, dataType, 4, lens, NULL);
}

MIOPEN_EXPORT miopenStatus_t miopenSet4dTensorDescriptorEx(miopenTensorDescriptor_t tensorDesc,
                                                           miopenDataType_t dataType,
                                                           int n,
                                                           int c,
                                                           int h,
                                                           int w,
                                                           int nStride,
                                                           int cStride,
                                                           int hStride,
                                                           int wStride)
{
    int64_t lens[4]    = {n, c, h, w};
    int64_t strides[4] = {nStride, cStride, hStride, wStride};
    return set_tensor(tensorDesc, dataType, 4, lens, strides);
}

MIOPEN_EXPORT miopenStatus_t miopenSetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                                       miopenDataType_t dataType,
                                                       int nbDims,
                                                       const int* dimsA,
                                                       const int* stridesA)
{
    if(nbDims < 1 || nbDims > REF_MAX_DIMS || dimsA == NULL)
        return miopenStatusBadParm;
    int64_t lens[REF_MAX_DIMS];
    for(int i = 0; i < nbDims; ++i)
        lens[i] = dimsA[i];
    if(stridesA == NULL)
        return set_tensor(tensorDesc, dataType, nbDims, lens, NULL);
    int64_t strides[REF_MAX_DIMS];
    for(int i = 0; i < nbDims; ++i)
        strides[i] = stridesA[i];
    return set_tensor(tensorDesc, dataType, nbDims, lens, strides);
}

/* Same as miopenSetTensorDescriptor with size_t lengths and strides. */
MIOPEN_EXPORT miopenStatus_t miopenSetTensorDescriptorV2(miopenTensorDescriptor_t tensorDesc,
                                                         miopenDataType_t dataType,
                                                         int nbDims,
                                                         const size_t* dimsA,
                                                         const size_t* stridesA)
{
    if(nbDims < 1 || nbDims > REF_MAX_DIMS || dimsA == NULL)
        return miopenStatusBadParm;
    int64_t lens[REF_MAX_DIMS], strides[REF_MAX_DIMS];
    for(int i = 0; i < nbDims; ++i)
    {
        /* anything above INT64_MAX would wrap negative; set_tensor rejects
         * it (and any total above REF_MAX_ELEMS) */
        if(dimsA[i] > (size_t)INT64_MAX || (stridesA != NULL && stridesA[i] > (size_t)INT64_MAX))
            return miopenStatusBadParm;
        lens[i]    = (int64_t)dimsA[i];
        strides[i] = stridesA != NULL ? (int64_t)stridesA[i] : 0;
    }
    return set_tensor(tensorDesc, dataType, nbDims, lens, stridesA != NULL ? strides : NULL);
}

/* Lengths are in logical N, C, spatial... order (as in MIOpen); the layout
 * only decides the strides of the packed tensor. */
MIOPEN_EXPORT miopenStatus_t miopenSetNdTensorDescriptorWithLayout(miopenTensorDescriptor_t tensorDesc,
                                                                   miopenDataType_t dataType,
                                                                   miopenTensorLayout_t tensorLayout,
                                                                   const int* lens,
                                                                   int num_lens)
{
    if(lens == NULL || num_lens < 1 || num_lens > REF_MAX_DIMS)
        return miopenStatusBadParm;
    int64_t ln[REF_MAX_DIMS];
    for(int i = 0; i < num_lens; ++i)
    {
        if(lens[i] <= 0)
            return miopenStatusBadParm;
        ln[i] = lens[i];
    }

    int64_t st[REF_MAX_DIMS];
    switch(tensorLayout)
    {
    case miopenTensorNCHW:
    case miopenTensorNCDHW:
        if((tensorLayout == miopenTensorNCHW && num_lens != 4) ||
           (tensorLayout == miopenTensorNCDHW && num_lens != 5))
            return miopenStatusBadParm;
        return set_tensor(tensorDesc, dataType, num_lens, ln, NULL);
    case miopenTensorNHWC:
    case miopenTensorNDHWC:
    {
        if((tensorLayout == miopenTensorNHWC && num_lens != 4) ||
           (tensorLayout == miopenTensorNDHWC && num_lens != 5))
            return miopenStatusBadParm;
        /* channels innermost, then spatial dims (last fastest), then N */
        int64_t s = 1;
        st[1]     = s;
        s *= lens[1];
        for(int i = num_lens - 1; i >= 2; --i)
        {
            st[i] = s;
            s *= lens[i];
        }
        st[0] = s;
        return set_tensor(tensorDesc, dataType, num_lens, ln, st);
    }
    case miopenTensorCHWN:
    {
        if(num_lens != 4)
            return miopenStatusBadParm;
        st[0] = 1;
        st[3] = lens[0];
        st[2] = st[3] * lens[3];
        st[1] = st[2] * lens[2];
        return set_tensor(tensorDesc, dataType, num_lens, ln, st);
    }
    case miopenTensorNCHWc4:
    case miopenTensorNCHWc8:
    case miopenTensorCHWNc4:
    case miopenTensorCHWNc8: return miopenStatusNotImplemented;
    default: return miopenStatusBadParm;
    }
}

MIOPEN_EXPORT miopenStatus_t miopenGet4dTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                                         miopenDataType_t* dataType,
                                                         int* n,
                                                         int* c,
                                                         int* h,
                                                         int* w,
                                                         int* nStride,
                                                         int* cStride,
                                                         int* hStride,
                                                         int* wStride)
{
    if(!tensor_ok(tensorDesc) || tensorDesc->nd != 4)
        return miopenStatusBadParm;
    if(dataType == NULL || n == NULL || c == NULL || h == NULL || w == NULL || nStride == NULL ||
       cStride == NULL || hStride == NULL || wStride == NULL)
        return miopenStatusBadParm;
    *dataType = tensorDesc->dtype;
    *n        = (int)tensorDesc->lens[0];
    *c        = (int)tensorDesc->lens[1];
    *h        = (int)tensorDesc->lens[2];
    *w        = (int)tensorDesc->lens[3];
    *nStride  = (int)tensorDesc->strides[0];
    *cStride  = (int)tensorDesc->strides[1];
    *hStride  = (int)tensorDesc->strides[2];
    *wStride  = (int)tensorDesc->strides[3];
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetTensorDescriptorSize(miopenTensorDescriptor_t tensorDesc, int* size)
{
    if(!tensor_ok(tensorDesc) || size == NULL)
        return miopenStatusBadParm;
    *size = tensorDesc->nd;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                                       miopenDataType_t* dataType,
                                                       int* dimsA,
                                                       int* stridesA)
{
    if(!tensor_ok(tensorDesc))
        return miopenStatusBadParm;
    if(dataType != NULL)
        *dataType = tensorDesc->dtype;
    for(int i = 0; i < tensorDesc->nd; ++i)
    {
        if(dimsA != NULL)
            dimsA[i] = (int)tensorDesc->lens[i];
        if(stridesA != NULL)
            stridesA[i] = (int)tensorDesc->strides[i];
    }
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetTensorNumBytes(miopenTensorDescriptor_t tensorDesc, size_t* numBytes)
{
    if(!tensor_ok(tensorDesc) || numBytes == NULL)
        return miopenStatusBadParm;
    int64_t space = 1;
    for(int i = 0; i < tensorDesc->nd; ++i)
        space += (tensorDesc->lens[i] - 1) * tensorDesc->strides[i];
    *numBytes = (size_t)space * dtype_size(tensorDesc->dtype);
    return miopenStatusSuccess;
}

/* ======================================================================
 * convolution descriptors
 * ====================================================================== */

static void conv_reset(cdesc_t* c, int sdim)
{
    c->mode = miopenConvolution;
    c->sdim = sdim;
    for(int i = 0; i < REF_MAX_SPATIAL; ++i)
    {
        c->pad[i]    = 0;
        c->stride[i] = 1;
        c->dil[i]    = 1;
        c->adj[i]    = 0;
    }
    c->groups = 1;
}

/* Attributes and find mode survive miopenInitConvolution*Descriptor: MIOpen
 * keeps them in the descriptor object, the init functions set the geometry. */
static void conv_defaults(cdesc_t* c)
{
    c->attr_fp16_alt      = -1;
    c->attr_deterministic = 0;
    c->attr_fp8_rounding  = miopenF8RoundingModeStochastic;
    c->attr_math_type     = miopenMathDefault;
    c->find_mode          = miopenConvolutionFindModeDefault;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateConvolutionDescriptor(miopenConvolutionDescriptor_t* convDesc)
{
    if(convDesc == NULL)
        return miopenStatusBadParm;
    cdesc_t* c = (cdesc_t*)calloc(1, sizeof(*c));
    if(c == NULL)
        return miopenStatusAllocFailed;
    c->magic = MAGIC_CONV;
    conv_reset(c, 2);
    conv_defaults(c);
    *convDesc = c;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc)
{
    if(!conv_ok(convDesc))
        return miopenStatusBadParm;
    convDesc->magic = MAGIC_DEAD;
    free(convDesc);
    return miopenStatusSuccess;
}

/* MIOpen's ConvolutionDescriptor constructor turns the deprecated
 * miopenGroupConv / miopenDepthwise modes into miopenConvolution (the group
 * count comes from miopenSetConvolutionGroupCount); other values are BadParm. */
static miopenStatus_t check_mode(miopenConvolutionMode_t* m)
{
    if(*m == miopenConvolution || *m == miopenTranspose)
        return miopenStatusSuccess;
    if(*m == miopenGroupConv || *m == miopenDepthwise)
    {
        *m = miopenConvolution;
        return miopenStatusSuccess;
    }
    return miopenStatusBadParm;
}

MIOPEN_EXPORT miopenStatus_t miopenInitConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                               int spatialDim,
                                                               const int* padA,
                                                               const int* strideA,
                                                               const int* dilationA,
                                                               miopenConvolutionMode_t c_mode)
{
    if(!conv_ok(convDesc) || padA == NULL || strideA == NULL || dilationA == NULL)
        return miopenStatusBadParm;
    if(spatialDim < 1)
        return miopenStatusBadParm;
    if(spatialDim != 2 && spatialDim != 3)
        return miopenStatusNotImplemented;
    miopenStatus_t st = check_mode(&c_mode);
    if(st != miopenStatusSuccess)
        return st;
    for(int i = 0; i < spatialDim; ++i)
        if(padA[i] < 0 || strideA[i] < 1 || dilationA[i] < 1)
            return miopenStatusBadParm;
    conv_reset(convDesc, spatialDim);
    convDesc->mode = c_mode;
    for(int i = 0; i < spatialDim; ++i)
    {
        convDesc->pad[i]    = padA[i];
        convDesc->stride[i] = strideA[i];
        convDesc->dil[i]    = dilationA[i];
    }
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenInitConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                             miopenConvolutionMode_t c_mode,
                                                             int pad_h,
                                                             int pad_w,
                                                             int stride_h,
                                                             int stride_w,
                                                             int dilation_h,
                                                             int dilation_w)
{
    int pad[2] = {pad_h, pad_w};
    int str[2] = {stride_h, stride_w};
    int dil[2] = {dilation_h, dilation_w};
    return miopenInitConvolutionNdDescriptor(convDesc, 2, pad, str, dil, c_mode);
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionSpatialDim(miopenConvolutionDescriptor_t convDesc,
                                                            int* spatialDim)
{
    if(!conv_ok(convDesc) || spatialDim == NULL)
        return miopenStatusBadParm;
    *spatialDim = convDesc->sdim;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                            miopenConvolutionMode_t* c_mode,
                                                            int* pad_h,
                                                            int* pad_w,
                                                            int* stride_h,
                                                            int* stride_w,
                                                            int* dilation_h,
                                                            int* dilation_w)
{
    if(!conv_ok(convDesc) || convDesc->sdim != 2)
        return miopenStatusBadParm;
    if(c_mode == NULL || pad_h == NULL || pad_w == NULL || stride_h == NULL || stride_w == NULL ||
       dilation_h == NULL || dilation_w == NULL)
        return miopenStatusBadParm;
    *c_mode     = convDesc->mode;
    *pad_h      = convDesc->pad[0];
    *pad_w      = convDesc->pad[1];
    *stride_h   = convDesc->stride[0];
    *stride_w   = convDesc->stride[1];
    *dilation_h = convDesc->dil[0];
    *dilation_w = convDesc->dil[1];
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                              int requestedSpatialDim,
                                                              int* spatialDim,
                                                              int* padA,
                                                              int* strideA,
                                                              int* dilationA,
                                                              miopenConvolutionMode_t* c_mode)
{
    if(!conv_ok(convDesc) || requestedSpatialDim < convDesc->sdim)
        return miopenStatusBadParm;
    if(spatialDim == NULL || padA == NULL || strideA == NULL || dilationA == NULL || c_mode == NULL)
        return miopenStatusBadParm;
    *spatialDim = convDesc->sdim;
    for(int i = 0; i < convDesc->sdim; ++i)
    {
        padA[i]      = convDesc->pad[i];
        strideA[i]   = convDesc->stride[i];
        dilationA[i] = convDesc->dil[i];
    }
    *c_mode = convDesc->mode;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                                            int* groupCount)
{
    if(!conv_ok(convDesc) || groupCount == NULL)
        return miopenStatusBadParm;
    *groupCount = convDesc->groups;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                                            int groupCount)
{
    if(!conv_ok(convDesc) || groupCount < 1)
        return miopenStatusBadParm;
    convDesc->groups = groupCount;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetTransposeConvNdOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                                   int spatialDim,
                                                                   const int* adjA)
{
    if(!conv_ok(convDesc) || adjA == NULL || spatialDim != convDesc->sdim)
        return miopenStatusBadParm;
    for(int i = 0; i < spatialDim; ++i)
        if(adjA[i] < 0)
            return miopenStatusBadParm;
    for(int i = 0; i < spatialDim; ++i)
        convDesc->adj[i] = adjA[i];
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetTransposeConvOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                                 int adj_h,
                                                                 int adj_w)
{
    int adj[2] = {adj_h, adj_w};
    return miopenSetTransposeConvNdOutputPadding(convDesc, 2, adj);
}

/* Value checks as in MIOpen's ConvolutionAttribute::Set: FP16_ALT_IMPL in
 * [-1, 1], DETERMINISTIC in [0, 1], FP8 rounding one of the two modes, math
 * type one of miopenMathType_t; an unknown attribute is BadParm. */
MIOPEN_EXPORT miopenStatus_t miopenSetConvolutionAttribute(miopenConvolutionDescriptor_t convDesc,
                                                           const miopenConvolutionAttrib_t attr,
                                                           int value)
{
    if(!conv_ok(convDesc))
        return miopenStatusBadParm;
    switch(attr)
    {
    case MIOPEN_CONVOLUTION_ATTRIB_FP16_ALT_IMPL:
        if(value < -1 || value > 1)
            return miopenStatusBadParm;
        convDesc->attr_fp16_alt = value;
        return miopenStatusSuccess;
    case MIOPEN_CONVOLUTION_ATTRIB_DETERMINISTIC:
        if(value < 0 || value > 1)
            return miopenStatusBadParm;
        convDesc->attr_deterministic = value;
        return miopenStatusSuccess;
    case MIOPEN_CONVOLUTION_ATTRIB_FP8_ROUNDING_MODE:
        if(value != miopenF8RoundingModeStandard && value != miopenF8RoundingModeStochastic)
            return miopenStatusBadParm;
        convDesc->attr_fp8_rounding = value;
        return miopenStatusSuccess;
    case MIOPEN_CONVOLUTION_ATTRIB_MATH_TYPE:
        if(value != miopenMathDefault && value != miopenMathPedantic)
            return miopenStatusBadParm;
        convDesc->attr_math_type = value;
        return miopenStatusSuccess;
    default: return miopenStatusBadParm;
    }
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionAttribute(miopenConvolutionDescriptor_t convDesc,
                                                           const miopenConvolutionAttrib_t attr,
                                                           int* value)
{
    if(!conv_ok(convDesc) || value == NULL)
        return miopenStatusBadParm;
    switch(attr)
    {
    case MIOPEN_CONVOLUTION_ATTRIB_FP16_ALT_IMPL: *value = convDesc->attr_fp16_alt; break;
    case MIOPEN_CONVOLUTION_ATTRIB_DETERMINISTIC: *value = convDesc->attr_deterministic; break;
    case MIOPEN_CONVOLUTION_ATTRIB_FP8_ROUNDING_MODE: *value = convDesc->attr_fp8_rounding; break;
    case MIOPEN_CONVOLUTION_ATTRIB_MATH_TYPE: *value = convDesc->attr_math_type; break;
    default: return miopenStatusBadParm;
    }
    return miopenStatusSuccess;
}

/* MIOpen stores the find mode as given (no range check) and returns it. */
MIOPEN_EXPORT miopenStatus_t miopenSetConvolutionFindMode(miopenConvolutionDescriptor_t convDesc,
                                                          miopenConvolutionFindMode_t findMode)
{
    if(!conv_ok(convDesc))
        return miopenStatusBadParm;
    convDesc->find_mode = findMode;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionFindMode(const miopenConvolutionDescriptor_t convDesc,
                                                          miopenConvolutionFindMode_t* findMode)
{
    if(!conv_ok(convDesc) || findMode == NULL)
        return miopenStatusBadParm;
    *findMode = convDesc->find_mode;
    return miopenStatusSuccess;
}

/* Output lengths (logical order) of the forward problem (x, w) -> y. */
static miopenStatus_t forward_output_lens(const cdesc_t* c,
                                          const tdesc_t* x,
                                          const tdesc_t* w,
                                          int64_t out[REF_MAX_DIMS])
{
    if(!conv_ok(c) || !tensor_ok(x) || !tensor_ok(w))
        return miopenStatusBadParm;
    const int sd = c->sdim;
    if(x->nd != sd + 2 || w->nd != sd + 2)
        return miopenStatusBadParm;
    if(x->dtype != w->dtype)
        return miopenStatusBadParm;
    const int64_t G    = c->groups;
    const int64_t in_c = x->lens[1];
    const int64_t wk   = w->lens[0];
    const int64_t wc   = w->lens[1];
    out[0]             = x->lens[0];
    if(c->mode == miopenConvolution)
    {
        if(in_c != wc * G || wk % G != 0)
            return miopenStatusBadParm;
        out[1] = wk;
        for(int i = 0; i < sd; ++i)
        {
            int64_t num = x->lens[2 + i] + 2 * (int64_t)c->pad[i] -
                          (int64_t)c->dil[i] * (w->lens[2 + i] - 1) - 1;
            int64_t v = num / c->stride[i] + 1; /* truncating, as MIOpen */
            out[2 + i] = v < 1 ? 1 : v;
        }
    }
    else if(c->mode == miopenTranspose)
    {
        if(in_c != wk || wk % G != 0)
            return miopenStatusBadParm;
        for(int i = 0; i < sd; ++i)
            if(c->adj[i] >= c->stride[i])
                return miopenStatusBadParm;
        out[1] = wc * G;
        for(int i = 0; i < sd; ++i)
        {
            int64_t v = (int64_t)c->stride[i] * (x->lens[2 + i] - 1) + 1 +
                        (int64_t)c->dil[i] * (w->lens[2 + i] - 1) - 2 * (int64_t)c->pad[i] +
                        c->adj[i];
            out[2 + i] = v < 1 ? 1 : v;
        }
    }
    else
    {
        return miopenStatusNotImplemented;
    }
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionNdForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                                    const miopenTensorDescriptor_t inputTensorDesc,
                                                                    const miopenTensorDescriptor_t filterDesc,
                                                                    int* nDim,
                                                                    int* outputTensorDimA)
{
    if(nDim == NULL || outputTensorDimA == NULL)
        return miopenStatusBadParm;
    int64_t out[REF_MAX_DIMS];
    miopenStatus_t st = forward_output_lens(convDesc, inputTensorDesc, filterDesc, out);
    if(st != miopenStatusSuccess)
        return st;
    *nDim = convDesc->sdim + 2;
    for(int i = 0; i < convDesc->sdim + 2; ++i)
        outputTensorDimA[i] = (int)out[i];
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetConvolutionForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                                  const miopenTensorDescriptor_t inputTensorDesc,
                                                                  const miopenTensorDescriptor_t filterDesc,
                                                                  int* n,
                                                                  int* c,
                                                                  int* h,
                                                                  int* w)
{
    if(n == NULL || c == NULL || h == NULL || w == NULL)
        return miopenStatusBadParm;
    if(!conv_ok(convDesc) || convDesc->sdim != 2)
        return miopenStatusBadParm;
    int64_t out[REF_MAX_DIMS];
    miopenStatus_t st = forward_output_lens(convDesc, inputTensorDesc, filterDesc, out);
    if(st != miopenStatusSuccess)
        return st;
    *n = (int)out[0];
    *c = (int)out[1];
    *h = (int)out[2];
    *w = (int)out[3];
    return miopenStatusSuccess;
}

/* ======================================================================
 * convolution problems and kernels
 * ====================================================================== */

typedef enum
{
    DIR_FWD = 0,
    DIR_BWD = 1,
    DIR_WRW = 2
} direction_t;

/* Geometry of the *normal* convolution in[N][C][D][H][W] * w[K][C/G][kD][kH][kW]
 * -> out[N][K][oD][oH][oW].  2-D problems use D = kD = oD = 1. */
typedef struct
{
    int64_t N, C, K, G;
    int64_t in[3], out[3], ker[3];
    int64_t pad[3], str[3], dil[3];
} geom_t;

/* Validate the triple (x, w, y) against the convolution descriptor (y is
 * the forward output: y for fwd, dy for bwd/wrw) and fill the geometry of
 * the equivalent normal convolution. */
static miopenStatus_t check_problem(const cdesc_t* c,
                                    const tdesc_t* x,
                                    const tdesc_t* w,
                                    const tdesc_t* y,
                                    geom_t* g)
{
    if(!conv_ok(c) || !tensor_ok(x) || !tensor_ok(w) || !tensor_ok(y))
        return miopenStatusBadParm;
    int64_t expect[REF_MAX_DIMS];
    miopenStatus_t st = forward_output_lens(c, x, w, expect);
    if(st != miopenStatusSuccess)
        return st;
    if(y->nd != x->nd || y->dtype != x->dtype)
        return miopenStatusBadParm;
    for(int i = 0; i < y->nd; ++i)
        if(y->lens[i] != expect[i])
            return miopenStatusBadParm;
    if(!dtype_computable(x->dtype))
        return miopenStatusNotImplemented;

    /* normal-convolution view: transposed swaps the roles of x and y */
    const tdesc_t* in  = (c->mode == miopenTranspose) ? y : x;
    const tdesc_t* out = (c->mode == miopenTranspose) ? x : y;
    const int sd       = c->sdim;
    g->N               = x->lens[0];
    g->C               = in->lens[1];
    g->K               = out->lens[1];
    g->G               = c->groups;
    for(int i = 0; i < 3; ++i)
    {
        g->in[i]  = 1;
        g->out[i] = 1;
        g->ker[i] = 1;
        g->pad[i] = 0;
        g->str[i] = 1;
        g->dil[i] = 1;
    }
    const int off = 3 - sd; /* right-align spatial dims (2-D: D = 1) */
    for(int i = 0; i < sd; ++i)
    {
        g->in[off + i]  = in->lens[2 + i];
        g->out[off + i] = out->lens[2 + i];
        g->ker[off + i] = w->lens[2 + i];
        g->pad[off + i] = c->pad[i];
        g->str[off + i] = c->stride[i];
        g->dil[off + i] = c->dil[i];
    }
    return miopenStatusSuccess;
}

/* The three loops below share one iteration space: (n, k, output position,
 * input channel of k's group, kernel position) with in-bounds input
 * position.  Only the accumulation target differs. */

static void kernel_fwd(const geom_t* g, const double* in, const double* w, double* out)
{
    const int64_t Cg = g->C / g->G, Kg = g->K / g->G;
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t KD = g->ker[0], KH = g->ker[1], KW = g->ker[2];
    const int64_t isz = ID * IH * IW, osz = OD * OH * OW, ksz = KD * KH * KW;
    for(int64_t n = 0; n < g->N; ++n)
        for(int64_t k = 0; k < g->K; ++k)
        {
            const int64_t grp = k / Kg;
            double* ob        = out + (n * g->K + k) * osz;
            for(int64_t od = 0; od < OD; ++od)
                for(int64_t oh = 0; oh < OH; ++oh)
                    for(int64_t ow = 0; ow < OW; ++ow)
                    {
                        double acc = 0.0;
                        for(int64_t c = 0; c < Cg; ++c)
                        {
                            const double* ib = in + (n * g->C + grp * Cg + c) * isz;
                            const double* wb = w + (k * Cg + c) * ksz;
                            for(int64_t kd = 0; kd < KD; ++kd)
                            {
                                int64_t id = od * g->str[0] - g->pad[0] + kd * g->dil[0];
                                if(id < 0 || id >= ID)
                                    continue;
                                for(int64_t kh = 0; kh < KH; ++kh)
                                {
                                    int64_t ih = oh * g->str[1] - g->pad[1] + kh * g->dil[1];
                                    if(ih < 0 || ih >= IH)
                                        continue;
                                    for(int64_t kw = 0; kw < KW; ++kw)
                                    {
                                        int64_t iw = ow * g->str[2] - g->pad[2] + kw * g->dil[2];
                                        if(iw < 0 || iw >= IW)
                                            continue;
                                        acc += ib[(id * IH + ih) * IW + iw] *
                                               wb[(kd * KH + kh) * KW + kw];
                                    }
                                }
                            }
                        }
                        ob[(od * OH + oh) * OW + ow] = acc;
                    }
        }
}

static void kernel_bwd(const geom_t* g, const double* dout, const double* w, double* din)
{
    const int64_t Cg = g->C / g->G, Kg = g->K / g->G;
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t KD = g->ker[0], KH = g->ker[1], KW = g->ker[2];
    const int64_t isz = ID * IH * IW, osz = OD * OH * OW, ksz = KD * KH * KW;
    memset(din, 0, (size_t)(g->N * g->C * isz) * sizeof(double));
    for(int64_t n = 0; n < g->N; ++n)
        for(int64_t k = 0; k < g->K; ++k)
        {
            const int64_t grp = k / Kg;
            const double* ob  = dout + (n * g->K + k) * osz;
            for(int64_t od = 0; od < OD; ++od)
                for(int64_t oh = 0; oh < OH; ++oh)
                    for(int64_t ow = 0; ow < OW; ++ow)
                    {
                        const double gv = ob[(od * OH + oh) * OW + ow];
                        for(int64_t c = 0; c < Cg; ++c)
                        {
                            double* ib       = din + (n * g->C + grp * Cg + c) * isz;
                            const double* wb = w + (k * Cg + c) * ksz;
                            for(int64_t kd = 0; kd < KD; ++kd)
                            {
                                int64_t id = od * g->str[0] - g->pad[0] + kd * g->dil[0];
                                if(id < 0 || id >= ID)
                                    continue;
                                for(int64_t kh = 0; kh < KH; ++kh)
                                {
                                    int64_t ih = oh * g->str[1] - g->pad[1] + kh * g->dil[1];
                                    if(ih < 0 || ih >= IH)
                                        continue;
                                    for(int64_t kw = 0; kw < KW; ++kw)
                                    {
                                        int64_t iw = ow * g->str[2] - g->pad[2] + kw * g->dil[2];
                                        if(iw < 0 || iw >= IW)
                                            continue;
                                        ib[(id * IH + ih) * IW + iw] +=
                                            gv * wb[(kd * KH + kh) * KW + kw];
                                    }
                                }
                            }
                        }
                    }
        }
}

static void kernel_wrw(const geom_t* g, const double* in, const double* dout, double* dw)
{
    const int64_t Cg = g->C / g->G, Kg = g->K / g->G;
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t KD = g->ker[0], KH = g->ker[1], KW = g->ker[2];
    const int64_t isz = ID * IH * IW, osz = OD * OH * OW, ksz = KD * KH * KW;
    memset(dw, 0, (size_t)(g->K * Cg * ksz) * sizeof(double));
    for(int64_t n = 0; n < g->N; ++n)
        for(int64_t k = 0; k < g->K; ++k)
        {
            const int64_t grp = k / Kg;
            const double* ob  = dout + (n * g->K + k) * osz;
            for(int64_t od = 0; od < OD; ++od)
                for(int64_t oh = 0; oh < OH; ++oh)
                    for(int64_t ow = 0; ow < OW; ++ow)
                    {
                        const double gv = ob[(od * OH + oh) * OW + ow];
                        if(gv == 0.0)
                            continue;
                        for(int64_t c = 0; c < Cg; ++c)
                        {
                            const double* ib = in + (n * g->C + grp * Cg + c) * isz;
                            double* wb       = dw + (k * Cg + c) * ksz;
                            for(int64_t kd = 0; kd < KD; ++kd)
                            {
                                int64_t id = od * g->str[0] - g->pad[0] + kd * g->dil[0];
                                if(id < 0 || id >= ID)
                                    continue;
                                for(int64_t kh = 0; kh < KH; ++kh)
                                {
                                    int64_t ih = oh * g->str[1] - g->pad[1] + kh * g->dil[1];
                                    if(ih < 0 || ih >= IH)
                                        continue;
                                    for(int64_t kw = 0; kw < KW; ++kw)
                                    {
                                        int64_t iw = ow * g->str[2] - g->pad[2] + kw * g->dil[2];
                                        if(iw < 0 || iw >= IW)
                                            continue;
                                        wb[(kd * KH + kh) * KW + kw] +=
                                            gv * ib[(id * IH + ih) * IW + iw];
                                    }
                                }
                            }
                        }
                    }
        }
}

/* Validate a problem for direction `dir` (descriptors only).  The three
 * slots are always (x, w, y) in forward terms: for bwd y is dy and x is dx,
 * for wrw y is dy and w is dw. */
static miopenStatus_t
check_dir(miopenHandle_t h, const cdesc_t* c, const tdesc_t* x, const tdesc_t* w, const tdesc_t* y, geom_t* g)
{
    if(!handle_ok(h))
        return miopenStatusBadParm;
    return check_problem(c, x, w, y, g);
}

/* Execute direction `dir`.  Slot pointers follow check_dir; the slot being
 * written is y (fwd), x (bwd) or w (wrw). */
static miopenStatus_t run_conv(miopenHandle_t h,
                               direction_t dir,
                               const cdesc_t* c,
                               const tdesc_t* xd,
                               const void* x,
                               const tdesc_t* wd,
                               const void* w,
                               const tdesc_t* yd,
                               const void* y,
                               void* dst,
                               const void* alpha_p,
                               const void* beta_p)
{
    geom_t g;
    miopenStatus_t st = check_dir(h, c, xd, wd, yd, &g);
    if(st != miopenStatusSuccess)
        return st;
    if(dst == NULL)
        return miopenStatusBadParm;
    if((dir != DIR_FWD && y == NULL) || (dir != DIR_BWD && x == NULL) || (dir != DIR_WRW && w == NULL))
        return miopenStatusBadParm;
    const miopenDataType_t dt = xd->dtype;
    double alpha = 1.0, beta = 0.0;
    if(alpha_p != NULL)
        alpha = read_scalar(alpha_p, dt);
    if(beta_p != NULL)
        beta = read_scalar(beta_p, dt);

    double t0 = now_ms();
    double *X = NULL, *W = NULL, *Y = NULL;
    st        = miopenStatusSuccess;
    {
        /* load inputs, allocate the output, all in logical order */
        X = (dir == DIR_BWD) ? (double*)malloc((size_t)tensor_numel(xd) * sizeof(double))
                             : load_tensor(xd, x);
        W = (dir == DIR_WRW) ? (double*)malloc((size_t)tensor_numel(wd) * sizeof(double))
                             : load_tensor(wd, w);
        Y = (dir == DIR_FWD) ? (double*)malloc((size_t)tensor_numel(yd) * sizeof(double))
                             : load_tensor(yd, y);
        if(X == NULL || W == NULL || Y == NULL)
        {
            st = miopenStatusAllocFailed;
        }
        else
        {
            const int transposed = (c->mode == miopenTranspose);
            double* IN           = transposed ? Y : X; /* normal-conv input  */
            double* OUT          = transposed ? X : Y; /* normal-conv output */
            const tdesc_t* dd    = (dir == DIR_FWD) ? yd : (dir == DIR_BWD) ? xd : wd;
            double* D            = (dir == DIR_FWD) ? Y : (dir == DIR_BWD) ? X : W;
            if(dir == DIR_WRW)
                kernel_wrw(&g, IN, OUT, W);
            else if(D == OUT)
                kernel_fwd(&g, IN, W, OUT);
            else
                kernel_bwd(&g, OUT, W, IN);
            store_tensor(dd, dst, D, alpha, beta);
        }
    }
    free(X);
    free(W);
    free(Y);
    h->last_ms = (float)(now_ms() - t0);
    return st;
}

static void fill_perf(miopenConvAlgoPerf_t* p, direction_t dir, float ms)
{
    memset(p, 0, sizeof(*p));
    if(dir == DIR_FWD)
        p->fwd_algo = miopenConvolutionFwdAlgoDirect;
    else if(dir == DIR_BWD)
        p->bwd_data_algo = miopenConvolutionBwdDataAlgoDirect;
    else
        p->bwd_weights_algo = miopenConvolutionBwdWeightsAlgoDirect;
    p->time   = ms;
    p->memory = 0;
}

static miopenStatus_t find_common(miopenHandle_t h,
                                  direction_t dir,
                                  const cdesc_t* c,
                                  const tdesc_t* xd,
                                  const void* x,
                                  const tdesc_t* wd,
                                  const void* w,
                                  const tdesc_t* yd,
                                  const void* y,
                                  void* dst,
                                  int requestAlgoCount,
                                  int* returnedAlgoCount,
                                  miopenConvAlgoPerf_t* perfResults)
{
    if(requestAlgoCount < 1 || returnedAlgoCount == NULL || perfResults == NULL)
        return miopenStatusBadParm;
    miopenStatus_t st = run_conv(h, dir, c, xd, x, wd, w, yd, y, dst, NULL, NULL);
    if(st != miopenStatusSuccess)
        return st;
    fill_perf(&perfResults[0], dir, h->last_ms);
    *returnedAlgoCount = 1;
    return miopenStatusSuccess;
}

static uint64_t solution_id_for(direction_t dir)
{
    return dir == DIR_FWD ? REF_SOLUTION_FWD : dir == DIR_BWD ? REF_SOLUTION_BWD : REF_SOLUTION_WRW;
}

static miopenStatus_t get_solution_common(miopenHandle_t h,
                                          direction_t dir,
                                          const cdesc_t* c,
                                          const tdesc_t* xd,
                                          const tdesc_t* wd,
                                          const tdesc_t* yd,
                                          size_t maxSolutionCount,
                                          size_t* solutionCount,
                                          miopenConvSolution_t* solutions)
{
    geom_t g;
    miopenStatus_t st = check_dir(h, c, xd, wd, yd, &g);
    if(st != miopenStatusSuccess)
        return st;
    if(maxSolutionCount < 1 || solutionCount == NULL || solutions == NULL)
        return miopenStatusBadParm;
    memset(&solutions[0], 0, sizeof(solutions[0]));
    solutions[0].time           = 0.0f;
    solutions[0].workspace_size = 0;
    solutions[0].solution_id    = solution_id_for(dir);
    solutions[0].algorithm      = miopenConvolutionAlgoDirect;
    *solutionCount              = 1;
    return miopenStatusSuccess;
}

static miopenStatus_t solution_count_common(miopenHandle_t h,
                                            const cdesc_t* c,
                                            const tdesc_t* xd,
                                            const tdesc_t* wd,
                                            const tdesc_t* yd,
                                            size_t* count)
{
    geom_t g;
    miopenStatus_t st = check_dir(h, c, xd, wd, yd, &g);
    if(st != miopenStatusSuccess)
        return st;
    if(count == NULL)
        return miopenStatusBadParm;
    *count = 1;
    return miopenStatusSuccess;
}

static miopenStatus_t solution_ws_common(miopenHandle_t h,
                                         direction_t dir,
                                         const cdesc_t* c,
                                         const tdesc_t* xd,
                                         const tdesc_t* wd,
                                         const tdesc_t* yd,
                                         uint64_t solution_id,
                                         size_t* ws)
{
    geom_t g;
    miopenStatus_t st = check_dir(h, c, xd, wd, yd, &g);
    if(st != miopenStatusSuccess)
        return st;
    if(solution_id != solution_id_for(dir))
        return miopenStatusBadParm;
    if(ws != NULL)
        *ws = 0;
    else
        return miopenStatusBadParm;
    return miopenStatusSuccess;
}

static miopenStatus_t workspace_common(miopenHandle_t h,
                                       const cdesc_t* c,
                                       const tdesc_t* xd,
                                       const tdesc_t* wd,
                                       const tdesc_t* yd,
                                       size_t* ws)
{
    geom_t g;
    miopenStatus_t st = check_dir(h, c, xd, wd, yd, &g);
    if(st != miopenStatusSuccess)
        return st;
    if(ws == NULL)
        return miopenStatusBadParm;
    *ws = 0;
    return miopenStatusSuccess;
}

/* ======================================================================
 * immediate mode
 * ====================================================================== */

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardGetSolutionCount(miopenHandle_t handle,
                                                                      const miopenTensorDescriptor_t wDesc,
                                                                      const miopenTensorDescriptor_t xDesc,
                                                                      const miopenConvolutionDescriptor_t convDesc,
                                                                      const miopenTensorDescriptor_t yDesc,
                                                                      size_t* solutionCount)
{
    return solution_count_common(handle, convDesc, xDesc, wDesc, yDesc, solutionCount);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardGetSolution(miopenHandle_t handle,
                                                                 const miopenTensorDescriptor_t wDesc,
                                                                 const miopenTensorDescriptor_t xDesc,
                                                                 const miopenConvolutionDescriptor_t convDesc,
                                                                 const miopenTensorDescriptor_t yDesc,
                                                                 const size_t maxSolutionCount,
                                                                 size_t* solutionCount,
                                                                 miopenConvSolution_t* solutions)
{
    return get_solution_common(
        handle, DIR_FWD, convDesc, xDesc, wDesc, yDesc, maxSolutionCount, solutionCount, solutions);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionForwardGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t wDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc,
                                                 const uint64_t solution_id,
                                                 size_t* workSpaceSize)
{
    return solution_ws_common(handle, DIR_FWD, convDesc, xDesc, wDesc, yDesc, solution_id, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardCompileSolution(miopenHandle_t handle,
                                                                     const miopenTensorDescriptor_t wDesc,
                                                                     const miopenTensorDescriptor_t xDesc,
                                                                     const miopenConvolutionDescriptor_t convDesc,
                                                                     const miopenTensorDescriptor_t yDesc,
                                                                     const uint64_t solution_id)
{
    size_t ws = 0;
    return solution_ws_common(handle, DIR_FWD, convDesc, xDesc, wDesc, yDesc, solution_id, &ws);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardImmediate(miopenHandle_t handle,
                                                               const miopenTensorDescriptor_t wDesc,
                                                               const void* w,
                                                               const miopenTensorDescriptor_t xDesc,
                                                               const void* x,
                                                               const miopenConvolutionDescriptor_t convDesc,
                                                               const miopenTensorDescriptor_t yDesc,
                                                               void* y,
                                                               void* workSpace,
                                                               size_t workSpaceSize,
                                                               const uint64_t solution_id)
{
    (void)workSpace;
    (void)workSpaceSize;
    size_t ws         = 0;
    miopenStatus_t st = solution_ws_common(handle, DIR_FWD, convDesc, xDesc, wDesc, yDesc, solution_id, &ws);
    if(st != miopenStatusSuccess)
        return st;
    return run_conv(handle, DIR_FWD, convDesc, xDesc, x, wDesc, w, yDesc, y, y, NULL, NULL);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataGetSolutionCount(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* solutionCount)
{
    return solution_count_common(handle, convDesc, dxDesc, wDesc, dyDesc, solutionCount);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataGetSolution(miopenHandle_t handle,
                                         const miopenTensorDescriptor_t dyDesc,
                                         const miopenTensorDescriptor_t wDesc,
                                         const miopenConvolutionDescriptor_t convDesc,
                                         const miopenTensorDescriptor_t dxDesc,
                                         const size_t maxSolutionCount,
                                         size_t* solutionCount,
                                         miopenConvSolution_t* solutions)
{
    return get_solution_common(
        handle, DIR_BWD, convDesc, dxDesc, wDesc, dyDesc, maxSolutionCount, solutionCount, solutions);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                      const miopenTensorDescriptor_t dyDesc,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc,
                                                      const uint64_t solution_id,
                                                      size_t* workSpaceSize)
{
    return solution_ws_common(handle, DIR_BWD, convDesc, dxDesc, wDesc, dyDesc, solution_id, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataCompileSolution(miopenHandle_t handle,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const miopenTensorDescriptor_t wDesc,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             const miopenTensorDescriptor_t dxDesc,
                                             const uint64_t solution_id)
{
    size_t ws = 0;
    return solution_ws_common(handle, DIR_BWD, convDesc, dxDesc, wDesc, dyDesc, solution_id, &ws);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataImmediate(miopenHandle_t handle,
                                       const miopenTensorDescriptor_t dyDesc,
                                       const void* dy,
                                       const miopenTensorDescriptor_t wDesc,
                                       const void* w,
                                       const miopenConvolutionDescriptor_t convDesc,
                                       const miopenTensorDescriptor_t dxDesc,
                                       void* dx,
                                       void* workSpace,
                                       size_t workSpaceSize,
                                       const uint64_t solution_id)
{
    (void)workSpace;
    (void)workSpaceSize;
    size_t ws         = 0;
    miopenStatus_t st = solution_ws_common(handle, DIR_BWD, convDesc, dxDesc, wDesc, dyDesc, solution_id, &ws);
    if(st != miopenStatusSuccess)
        return st;
    return run_conv(handle, DIR_BWD, convDesc, dxDesc, dx, wDesc, w, dyDesc, dy, dx, NULL, NULL);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionCount(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* solutionCount)
{
    return solution_count_common(handle, convDesc, xDesc, dwDesc, dyDesc, solutionCount);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsGetSolution(miopenHandle_t handle,
                                            const miopenTensorDescriptor_t dyDesc,
                                            const miopenTensorDescriptor_t xDesc,
                                            const miopenConvolutionDescriptor_t convDesc,
                                            const miopenTensorDescriptor_t dwDesc,
                                            const size_t maxSolutionCount,
                                            size_t* solutionCount,
                                            miopenConvSolution_t* solutions)
{
    return get_solution_common(
        handle, DIR_WRW, convDesc, xDesc, dwDesc, dyDesc, maxSolutionCount, solutionCount, solutions);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                         const miopenTensorDescriptor_t dyDesc,
                                                         const miopenTensorDescriptor_t xDesc,
                                                         const miopenConvolutionDescriptor_t convDesc,
                                                         const miopenTensorDescriptor_t dwDesc,
                                                         const uint64_t solution_id,
                                                         size_t* workSpaceSize)
{
    return solution_ws_common(handle, DIR_WRW, convDesc, xDesc, dwDesc, dyDesc, solution_id, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsCompileSolution(miopenHandle_t handle,
                                                const miopenTensorDescriptor_t dyDesc,
                                                const miopenTensorDescriptor_t xDesc,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                const miopenTensorDescriptor_t dwDesc,
                                                const uint64_t solution_id)
{
    size_t ws = 0;
    return solution_ws_common(handle, DIR_WRW, convDesc, xDesc, dwDesc, dyDesc, solution_id, &ws);
}

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsImmediate(miopenHandle_t handle,
                                          const miopenTensorDescriptor_t dyDesc,
                                          const void* dy,
                                          const miopenTensorDescriptor_t xDesc,
                                          const void* x,
                                          const miopenConvolutionDescriptor_t convDesc,
                                          const miopenTensorDescriptor_t dwDesc,
                                          void* dw,
                                          void* workSpace,
                                          size_t workSpaceSize,
                                          const uint64_t solution_id)
{
    (void)workSpace;
    (void)workSpaceSize;
    size_t ws         = 0;
    miopenStatus_t st = solution_ws_common(handle, DIR_WRW, convDesc, xDesc, dwDesc, dyDesc, solution_id, &ws);
    if(st != miopenStatusSuccess)
        return st;
    return run_conv(handle, DIR_WRW, convDesc, xDesc, x, dwDesc, dw, dyDesc, dy, dw, NULL, NULL);
}

/* ======================================================================
 * find mode: forward
 * ====================================================================== */

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardGetWorkSpaceSize(miopenHandle_t handle,
                                                                      const miopenTensorDescriptor_t wDesc,
                                                                      const miopenTensorDescriptor_t xDesc,
                                                                      const miopenConvolutionDescriptor_t convDesc,
                                                                      const miopenTensorDescriptor_t yDesc,
                                                                      size_t* workSpaceSize)
{
    return workspace_common(handle, convDesc, xDesc, wDesc, yDesc, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t miopenFindConvolutionForwardAlgorithm(miopenHandle_t handle,
                                                                   const miopenTensorDescriptor_t xDesc,
                                                                   const void* x,
                                                                   const miopenTensorDescriptor_t wDesc,
                                                                   const void* w,
                                                                   const miopenConvolutionDescriptor_t convDesc,
                                                                   const miopenTensorDescriptor_t yDesc,
                                                                   void* y,
                                                                   const int requestAlgoCount,
                                                                   int* returnedAlgoCount,
                                                                   miopenConvAlgoPerf_t* perfResults,
                                                                   void* workSpace,
                                                                   size_t workSpaceSize,
                                                                   bool exhaustiveSearch)
{
    (void)workSpace;
    (void)workSpaceSize;
    (void)exhaustiveSearch;
    return find_common(handle, DIR_FWD, convDesc, xDesc, x, wDesc, w, yDesc, y, y,
                       requestAlgoCount, returnedAlgoCount, perfResults);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionForward(miopenHandle_t handle,
                                                      const void* alpha,
                                                      const miopenTensorDescriptor_t xDesc,
                                                      const void* x,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const void* w,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      miopenConvFwdAlgorithm_t algo,
                                                      const void* beta,
                                                      const miopenTensorDescriptor_t yDesc,
                                                      void* y,
                                                      void* workSpace,
                                                      size_t workSpaceSize)
{
    (void)algo;
    (void)workSpace;
    (void)workSpaceSize;
    if(alpha == NULL || beta == NULL)
        return miopenStatusBadParm;
    return run_conv(handle, DIR_FWD, convDesc, xDesc, x, wDesc, w, yDesc, y, y, alpha, beta);
}

/* Bias tensor must be 1 x C x 1 ... 1 with C matching the data tensor. */
static int bias_matches(const tdesc_t* b, const tdesc_t* y)
{
    if(b->nd != y->nd || b->dtype != y->dtype)
        return 0;
    for(int i = 0; i < b->nd; ++i)
    {
        int64_t want = (i == 1) ? y->lens[1] : 1;
        if(b->lens[i] != want)
            return 0;
    }
    return 1;
}

/* y = alpha * y + alpha * b + beta * y, i.e. MIOpen's OpTensor(Add) with
 * A = C = y and B = broadcast bias.  alpha = 1, beta = 0 gives y += b. */
MIOPEN_EXPORT miopenStatus_t miopenConvolutionForwardBias(miopenHandle_t handle,
                                                          const void* alpha,
                                                          const miopenTensorDescriptor_t bDesc,
                                                          const void* b,
                                                          const void* beta,
                                                          const miopenTensorDescriptor_t yDesc,
                                                          void* y)
{
    if(!handle_ok(handle) || !tensor_ok(bDesc) || !tensor_ok(yDesc))
        return miopenStatusBadParm;
    if(alpha == NULL || beta == NULL || b == NULL || y == NULL)
        return miopenStatusBadParm;
    if(yDesc->nd < 3 || !bias_matches(bDesc, yDesc))
        return miopenStatusBadParm;
    if(!dtype_computable(yDesc->dtype))
        return miopenStatusNotImplemented;
    const double a  = read_scalar(alpha, yDesc->dtype);
    const double bt = read_scalar(beta, yDesc->dtype);
    double t0       = now_ms();
    double* Y       = load_tensor(yDesc, y);
    double* B       = load_tensor(bDesc, b);
    miopenStatus_t st = miopenStatusSuccess;
    if(Y == NULL || B == NULL)
    {
        st = miopenStatusAllocFailed;
    }
    else
    {
        const int64_t N = yDesc->lens[0], C = yDesc->lens[1];
        const int64_t inner = tensor_numel(yDesc) / (N * C);
        for(int64_t n = 0; n < N; ++n)
            for(int64_t c = 0; c < C; ++c)
            {
                double* p = Y + (n * C + c) * inner;
                for(int64_t i = 0; i < inner; ++i)
                    p[i] = a * p[i] + a * B[c] + bt * p[i];
            }
        store_tensor(yDesc, y, Y, 1.0, 0.0);
    }
    free(Y);
    free(B);
    handle->last_ms = (float)(now_ms() - t0);
    return st;
}

/* ======================================================================
 * find mode: backward data
 * ====================================================================== */

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardDataGetWorkSpaceSize(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* workSpaceSize)
{
    return workspace_common(handle, convDesc, dxDesc, wDesc, dyDesc, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t
miopenFindConvolutionBackwardDataAlgorithm(miopenHandle_t handle,
                                           const miopenTensorDescriptor_t dyDesc,
                                           const void* dy,
                                           const miopenTensorDescriptor_t wDesc,
                                           const void* w,
                                           const miopenConvolutionDescriptor_t convDesc,
                                           const miopenTensorDescriptor_t dxDesc,
                                           void* dx,
                                           const int requestAlgoCount,
                                           int* returnedAlgoCount,
                                           miopenConvAlgoPerf_t* perfResults,
                                           void* workSpace,
                                           size_t workSpaceSize,
                                           bool exhaustiveSearch)
{
    (void)workSpace;
    (void)workSpaceSize;
    (void)exhaustiveSearch;
    return find_common(handle, DIR_BWD, convDesc, dxDesc, dx, wDesc, w, dyDesc, dy, dx,
                       requestAlgoCount, returnedAlgoCount, perfResults);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionBackwardData(miopenHandle_t handle,
                                                           const void* alpha,
                                                           const miopenTensorDescriptor_t dyDesc,
                                                           const void* dy,
                                                           const miopenTensorDescriptor_t wDesc,
                                                           const void* w,
                                                           const miopenConvolutionDescriptor_t convDesc,
                                                           miopenConvBwdDataAlgorithm_t algo,
                                                           const void* beta,
                                                           const miopenTensorDescriptor_t dxDesc,
                                                           void* dx,
                                                           void* workSpace,
                                                           size_t workSpaceSize)
{
    (void)algo;
    (void)workSpace;
    (void)workSpaceSize;
    if(alpha == NULL || beta == NULL)
        return miopenStatusBadParm;
    return run_conv(handle, DIR_BWD, convDesc, dxDesc, dx, wDesc, w, dyDesc, dy, dx, alpha, beta);
}

/* ======================================================================
 * find mode: backward weights
 * ====================================================================== */

MIOPEN_EXPORT miopenStatus_t
miopenConvolutionBackwardWeightsGetWorkSpaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* workSpaceSize)
{
    return workspace_common(handle, convDesc, xDesc, dwDesc, dyDesc, workSpaceSize);
}

MIOPEN_EXPORT miopenStatus_t
miopenFindConvolutionBackwardWeightsAlgorithm(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const void* dy,
                                              const miopenTensorDescriptor_t xDesc,
                                              const void* x,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dwDesc,
                                              void* dw,
                                              const int requestAlgoCount,
                                              int* returnedAlgoCount,
                                              miopenConvAlgoPerf_t* perfResults,
                                              void* workSpace,
                                              size_t workSpaceSize,
                                              bool exhaustiveSearch)
{
    (void)workSpace;
    (void)workSpaceSize;
    (void)exhaustiveSearch;
    return find_common(handle, DIR_WRW, convDesc, xDesc, x, dwDesc, dw, dyDesc, dy, dw,
                       requestAlgoCount, returnedAlgoCount, perfResults);
}

MIOPEN_EXPORT miopenStatus_t miopenConvolutionBackwardWeights(miopenHandle_t handle,
                                                              const void* alpha,
                                                              const miopenTensorDescriptor_t dyDesc,
                                                              const void* dy,
                                                              const miopenTensorDescriptor_t xDesc,
                                                              const void* x,
                                                              const miopenConvolutionDescriptor_t convDesc,
                                                              miopenConvBwdWeightsAlgorithm_t algo,
                                                              const void* beta,
                                                              const miopenTensorDescriptor_t dwDesc,
                                                              void* dw,
                                                              void* workSpace,
                                                              size_t workSpaceSize)
{
    (void)algo;
    (void)workSpace;
    (void)workSpaceSize;
    if(alpha == NULL || beta == NULL)
        return miopenStatusBadParm;
    return run_conv(handle, DIR_WRW, convDesc, xDesc, x, dwDesc, dw, dyDesc, dy, dw, alpha, beta);
}

/* db[c] = alpha * sum_{n, spatial} dy[n, c, ...] + beta * db[c] */
MIOPEN_EXPORT miopenStatus_t miopenConvolutionBackwardBias(miopenHandle_t handle,
                                                           const void* alpha,
                                                           const miopenTensorDescriptor_t dyDesc,
                                                           const void* dy,
                                                           const void* beta,
                                                           const miopenTensorDescriptor_t dbDesc,
                                                           void* db)
{
    if(!handle_ok(handle) || !tensor_ok(dyDesc) || !tensor_ok(dbDesc))
        return miopenStatusBadParm;
    if(alpha == NULL || beta == NULL || dy == NULL || db == NULL)
        return miopenStatusBadParm;
    if(dyDesc->nd < 3 || !bias_matches(dbDesc, dyDesc))
        return miopenStatusBadParm;
    if(!dtype_computable(dyDesc->dtype))
        return miopenStatusNotImplemented;
    const double a  = read_scalar(alpha, dyDesc->dtype);
    const double bt = read_scalar(beta, dyDesc->dtype);
    double t0       = now_ms();
    double* DY      = load_tensor(dyDesc, dy);
    const int64_t N = dyDesc->lens[0], C = dyDesc->lens[1];
    double* S       = (double*)calloc((size_t)C, sizeof(double));
    miopenStatus_t st = miopenStatusSuccess;
    if(DY == NULL || S == NULL)
    {
        st = miopenStatusAllocFailed;
    }
    else
    {
        const int64_t inner = tensor_numel(dyDesc) / (N * C);
        for(int64_t n = 0; n < N; ++n)
            for(int64_t c = 0; c < C; ++c)
            {
                const double* p = DY + (n * C + c) * inner;
                for(int64_t i = 0; i < inner; ++i)
                    S[c] += p[i];
            }
        store_tensor(dbDesc, db, S, a, bt);
    }
    free(DY);
    free(S);
    handle->last_ms = (float)(now_ms() - t0);
    return st;
}

/* ======================================================================
 * Beyond convolution: activation, pooling, batch-norm inference, OpTensor,
 * fusion plans.  Same conventions as above: every object is validated by
 * its magic, tensors are gathered into dense logical-order doubles, results
 * are rounded once into the destination's dtype.
 * ====================================================================== */

struct miopenActivationDescriptor
{
    uint32_t magic;
    miopenActivationMode_t mode;
    double alpha, beta, gamma;
};

struct miopenPoolingDescriptor
{
    uint32_t magic;
    miopenPoolingMode_t mode;
    int sdim; /* 0 = not set yet */
    int win[REF_MAX_SPATIAL];
    int pad[REF_MAX_SPATIAL];
    int stride[REF_MAX_SPATIAL];
    miopenIndexType_t index_type;
    miopenPoolingWorkspaceIndexMode_t index_mode;
};

typedef struct miopenActivationDescriptor adesc_t;
typedef struct miopenPoolingDescriptor pdesc_t;

static int activ_ok(const adesc_t* a) { return a != NULL && a->magic == MAGIC_ACTIV; }

static int pool_ok(const pdesc_t* p) { return p != NULL && p->magic == MAGIC_POOL; }

static int activ_mode_known(miopenActivationMode_t m)
{
    return (int)m >= (int)miopenActivationPASTHRU && (int)m <= (int)miopenActivationELU;
}

static double activ_apply(miopenActivationMode_t m, double a, double b, double g, double x)
{
    switch(m)
    {
    case miopenActivationPASTHRU: return x;
    case miopenActivationLOGISTIC: return 1.0 / (1.0 + exp(-x));
    case miopenActivationTANH: return b * tanh(a * x);
    case miopenActivationRELU: return x > 0.0 ? x : 0.0;
    case miopenActivationSOFTRELU: return log1p(exp(x));
    case miopenActivationABS: return fabs(x);
    case miopenActivationPOWER: return pow(a + b * x, g);
    case miopenActivationCLIPPEDRELU: return fmin(a, x > 0.0 ? x : 0.0);
    case miopenActivationLEAKYRELU: return x > 0.0 ? x : a * x;
    case miopenActivationELU: return x > 0.0 ? x : a * expm1(x);
    default: return x;
    }
}

static int same_lens(const tdesc_t* a, const tdesc_t* b)
{
    if(a->nd != b->nd)
        return 0;
    for(int i = 0; i < a->nd; ++i)
        if(a->lens[i] != b->lens[i])
            return 0;
    return 1;
}

/* ---- activation ------------------------------------------------------ */

MIOPEN_EXPORT miopenStatus_t miopenCreateActivationDescriptor(miopenActivationDescriptor_t* activDesc)
{
    if(activDesc == NULL)
        return miopenStatusBadParm;
    adesc_t* a = (adesc_t*)calloc(1, sizeof(*a));
    if(a == NULL)
        return miopenStatusAllocFailed;
    a->magic   = MAGIC_ACTIV;
    a->mode    = miopenActivationPASTHRU;
    *activDesc = a;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetActivationDescriptor(const miopenActivationDescriptor_t activDesc,
                                                           miopenActivationMode_t mode,
                                                           double activAlpha,
                                                           double activBeta,
                                                           double activGamma)
{
    if(!activ_ok(activDesc) || !activ_mode_known(mode))
        return miopenStatusBadParm;
    activDesc->mode  = mode;
    activDesc->alpha = activAlpha;
    activDesc->beta  = activBeta;
    activDesc->gamma = activGamma;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetActivationDescriptor(const miopenActivationDescriptor_t activDesc,
                                                           miopenActivationMode_t* mode,
                                                           double* activAlpha,
                                                           double* activBeta,
                                                           double* activGamma)
{
    if(!activ_ok(activDesc) || mode == NULL || activAlpha == NULL || activBeta == NULL ||
       activGamma == NULL)
        return miopenStatusBadParm;
    *mode       = activDesc->mode;
    *activAlpha = activDesc->alpha;
    *activBeta  = activDesc->beta;
    *activGamma = activDesc->gamma;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyActivationDescriptor(miopenActivationDescriptor_t activDesc)
{
    if(!activ_ok(activDesc))
        return miopenStatusBadParm;
    activDesc->magic = MAGIC_DEAD;
    free(activDesc);
    return miopenStatusSuccess;
}

/* y and x must have the same lengths and dtype; strides may differ. */
MIOPEN_EXPORT miopenStatus_t miopenActivationForward(miopenHandle_t handle,
                                                     const miopenActivationDescriptor_t activDesc,
                                                     const void* alpha,
                                                     const miopenTensorDescriptor_t xDesc,
                                                     const void* x,
                                                     const void* beta,
                                                     const miopenTensorDescriptor_t yDesc,
                                                     void* y)
{
    if(!handle_ok(handle) || !activ_ok(activDesc) || !tensor_ok(xDesc) || !tensor_ok(yDesc))
        return miopenStatusBadParm;
    if(alpha == NULL || beta == NULL || x == NULL || y == NULL)
        return miopenStatusBadParm;
    if(!same_lens(xDesc, yDesc) || xDesc->dtype != yDesc->dtype)
        return miopenStatusBadParm;
    if(!dtype_computable(xDesc->dtype))
        return miopenStatusNotImplemented;
    const double a  = read_scalar(alpha, yDesc->dtype);
    const double bt = read_scalar(beta, yDesc->dtype);
    double t0       = now_ms();
    double* X       = load_tensor(xDesc, x);
    if(X == NULL)
        return miopenStatusAllocFailed;
    const int64_t n = tensor_numel(xDesc);
    for(int64_t i = 0; i < n; ++i)
        X[i] = activ_apply(activDesc->mode, activDesc->alpha, activDesc->beta, activDesc->gamma, X[i]);
    store_tensor(yDesc, y, X, a, bt);
    free(X);
    handle->last_ms = (float)(now_ms() - t0);
    return miopenStatusSuccess;
}

/* ---- pooling --------------------------------------------------------- */

MIOPEN_EXPORT miopenStatus_t miopenCreatePoolingDescriptor(miopenPoolingDescriptor_t* poolDesc)
{
    if(poolDesc == NULL)
        return miopenStatusBadParm;
    pdesc_t* p = (pdesc_t*)calloc(1, sizeof(*p));
    if(p == NULL)
        return miopenStatusAllocFailed;
    p->magic      = MAGIC_POOL;
    p->mode       = miopenPoolingMax;
    p->sdim       = 0;
    p->index_type = miopenIndexUint8;
    p->index_mode = miopenPoolingWorkspaceIndexMask;
    *poolDesc     = p;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyPoolingDescriptor(miopenPoolingDescriptor_t poolDesc)
{
    if(!pool_ok(poolDesc))
        return miopenStatusBadParm;
    poolDesc->magic = MAGIC_DEAD;
    free(poolDesc);
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetPoolingIndexType(miopenPoolingDescriptor_t poolDesc,
                                                       miopenIndexType_t index_type)
{
    if(!pool_ok(poolDesc) || (int)index_type < (int)miopenIndexUint8 ||
       (int)index_type > (int)miopenIndexUint64)
        return miopenStatusBadParm;
    poolDesc->index_type = index_type;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetPoolingWorkSpaceIndexMode(miopenPoolingDescriptor_t poolDesc,
                                                                miopenPoolingWorkspaceIndexMode_t workspace_index)
{
    if(!pool_ok(poolDesc) || (workspace_index != miopenPoolingWorkspaceIndexMask &&
                              workspace_index != miopenPoolingWorkspaceIndexImage))
        return miopenStatusBadParm;
    poolDesc->index_mode = workspace_index;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetNdPoolingDescriptor(miopenPoolingDescriptor_t poolDesc,
                                                          const miopenPoolingMode_t mode,
                                                          int nbDims,
                                                          const int* windowDimA,
                                                          const int* padA,
                                                          const int* stridesA)
{
    if(!pool_ok(poolDesc) || windowDimA == NULL || padA == NULL || stridesA == NULL)
        return miopenStatusBadParm;
    if(mode != miopenPoolingMax && mode != miopenPoolingAverage && mode != miopenPoolingAverageInclusive)
        return miopenStatusBadParm;
    if(nbDims != 2 && nbDims != 3)
        return miopenStatusBadParm;
    for(int i = 0; i < nbDims; ++i)
        if(windowDimA[i] < 1 || padA[i] < 0 || stridesA[i] < 1)
            return miopenStatusBadParm;
    poolDesc->mode = mode;
    poolDesc->sdim = nbDims;
    for(int i = 0; i < nbDims; ++i)
    {
        poolDesc->win[i]    = windowDimA[i];
        poolDesc->pad[i]    = padA[i];
        poolDesc->stride[i] = stridesA[i];
    }
    /* MIOpen: 3-D pooling records image indices, 2-D window (mask) indices */
    poolDesc->index_mode = nbDims == 3 ? miopenPoolingWorkspaceIndexImage : miopenPoolingWorkspaceIndexMask;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSet2dPoolingDescriptor(miopenPoolingDescriptor_t poolDesc,
                                                          miopenPoolingMode_t mode,
                                                          int windowHeight,
                                                          int windowWidth,
                                                          int pad_h,
                                                          int pad_w,
                                                          int stride_h,
                                                          int stride_w)
{
    int win[2] = {windowHeight, windowWidth};
    int pad[2] = {pad_h, pad_w};
    int str[2] = {stride_h, stride_w};
    return miopenSetNdPoolingDescriptor(poolDesc, mode, 2, win, pad, str);
}

/* MIOpen's default-padding formula: max(1, (in + 2p - k) / s + 1). */
static miopenStatus_t pool_output_lens(const pdesc_t* p, const tdesc_t* x, int64_t out[REF_MAX_DIMS])
{
    if(!pool_ok(p) || !tensor_ok(x) || p->sdim == 0)
        return miopenStatusBadParm;
    if(x->nd != p->sdim + 2)
        return miopenStatusBadParm;
    out[0] = x->lens[0];
    out[1] = x->lens[1];
    for(int i = 0; i < p->sdim; ++i)
    {
        int64_t v  = (x->lens[2 + i] + 2 * (int64_t)p->pad[i] - p->win[i]) / p->stride[i] + 1;
        out[2 + i] = v < 1 ? 1 : v;
    }
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetPoolingNdForwardOutputDim(const miopenPoolingDescriptor_t poolDesc,
                                                                const miopenTensorDescriptor_t tensorDesc,
                                                                int dims,
                                                                int* tensorDimArr)
{
    if(tensorDimArr == NULL)
        return miopenStatusBadParm;
    int64_t out[REF_MAX_DIMS] = {0};
    miopenStatus_t st = pool_output_lens(poolDesc, tensorDesc, out);
    if(st != miopenStatusSuccess)
        return st;
    if(dims != tensorDesc->nd || dims > REF_MAX_DIMS)
        return miopenStatusBadParm;
    for(int i = 0; i < dims; ++i)
        tensorDimArr[i] = (int)out[i];
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenGetPoolingForwardOutputDim(const miopenPoolingDescriptor_t poolDesc,
                                                              const miopenTensorDescriptor_t tensorDesc,
                                                              int* n,
                                                              int* c,
                                                              int* h,
                                                              int* w)
{
    if(n == NULL || c == NULL || h == NULL || w == NULL)
        return miopenStatusBadParm;
    int out[4];
    miopenStatus_t st = miopenGetPoolingNdForwardOutputDim(poolDesc, tensorDesc, 4, out);
    if(st != miopenStatusSuccess)
        return st;
    *n = out[0];
    *c = out[1];
    *h = out[2];
    *w = out[3];
    return miopenStatusSuccess;
}

static size_t index_type_size(miopenIndexType_t t)
{
    switch(t)
    {
    case miopenIndexUint16: return 2;
    case miopenIndexUint32: return 4;
    case miopenIndexUint64: return 8;
    default: return 1;
    }
}

/* As MIOpen: one byte per element of yDesc, whatever the pooling. */
MIOPEN_EXPORT miopenStatus_t miopenPoolingGetWorkSpaceSize(const miopenTensorDescriptor_t yDesc,
                                                           size_t* workSpaceSize)
{
    if(!tensor_ok(yDesc) || workSpaceSize == NULL)
        return miopenStatusBadParm;
    *workSpaceSize = (size_t)tensor_numel(yDesc) * sizeof(uint8_t);
    return miopenStatusSuccess;
}

/* Max pooling: one index of the descriptor's index type per element of y;
 * average pooling needs none. */
MIOPEN_EXPORT miopenStatus_t miopenPoolingGetWorkSpaceSizeV2(const miopenPoolingDescriptor_t poolDesc,
                                                             const miopenTensorDescriptor_t yDesc,
                                                             size_t* workSpaceSize)
{
    if(!pool_ok(poolDesc) || !tensor_ok(yDesc) || workSpaceSize == NULL)
        return miopenStatusBadParm;
    *workSpaceSize = poolDesc->mode == miopenPoolingMax
                         ? (size_t)tensor_numel(yDesc) * index_type_size(poolDesc->index_type)
                         : 0;
    return miopenStatusSuccess;
}

static void write_index(void* ws, miopenIndexType_t t, int64_t i, uint64_t v)
{
    switch(t)
    {
    case miopenIndexUint16: ((uint16_t*)ws)[i] = (uint16_t)v; break;
    case miopenIndexUint32: ((uint32_t*)ws)[i] = (uint32_t)v; break;
    case miopenIndexUint64: ((uint64_t*)ws)[i] = v; break;
    default: ((uint8_t*)ws)[i] = (uint8_t)v; break;
    }
}

/* MIOpen's pooling kernels only do alpha = 1, beta = 0 (anything else is an
 * error there, miopenStatusUnknownError); the reference does the same. */
MIOPEN_EXPORT miopenStatus_t miopenPoolingForward(miopenHandle_t handle,
                                                  const miopenPoolingDescriptor_t poolDesc,
                                                  const void* alpha,
                                                  const miopenTensorDescriptor_t xDesc,
                                                  const void* x,
                                                  const void* beta,
                                                  const miopenTensorDescriptor_t yDesc,
                                                  void* y,
                                                  bool do_backward,
                                                  void* workSpace,
                                                  size_t workSpaceSize)
{
    if(!handle_ok(handle) || !tensor_ok(xDesc) || !tensor_ok(yDesc))
        return miopenStatusBadParm;
    if(alpha == NULL || beta == NULL || x == NULL || y == NULL)
        return miopenStatusBadParm;
    int64_t expect[REF_MAX_DIMS];
    miopenStatus_t st = pool_output_lens(poolDesc, xDesc, expect);
    if(st != miopenStatusSuccess)
        return st;
    if(yDesc->nd != xDesc->nd || yDesc->dtype != xDesc->dtype)
        return miopenStatusBadParm;
    for(int i = 0; i < yDesc->nd; ++i)
        if(yDesc->lens[i] != expect[i])
            return miopenStatusBadParm;
    if(!dtype_computable(xDesc->dtype))
        return miopenStatusNotImplemented;
    if(read_scalar(alpha, xDesc->dtype) != 1.0 || read_scalar(beta, xDesc->dtype) != 0.0)
        return miopenStatusUnknownError;
    const int want_idx = do_backward && poolDesc->mode == miopenPoolingMax;
    if(want_idx &&
       (workSpace == NULL ||
        workSpaceSize < (size_t)tensor_numel(yDesc) * index_type_size(poolDesc->index_type)))
        return miopenStatusBadParm;

    double t0 = now_ms();
    double* X = load_tensor(xDesc, x);
    double* Y = (double*)malloc((size_t)tensor_numel(yDesc) * sizeof(double));
    if(X == NULL || Y == NULL)
    {
        free(X);
        free(Y);
        return miopenStatusAllocFailed;
    }
    /* right-align the spatial dims into (D, H, W) */
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, p[3] = {0, 0, 0}, s[3] = {1, 1, 1};
    const int off = 3 - poolDesc->sdim;
    for(int i = 0; i < poolDesc->sdim; ++i)
    {
        in[off + i]  = xDesc->lens[2 + i];
        out[off + i] = yDesc->lens[2 + i];
        k[off + i]   = poolDesc->win[i];
        p[off + i]   = poolDesc->pad[i];
        s[off + i]   = poolDesc->stride[i];
    }
    const int64_t NC = xDesc->lens[0] * xDesc->lens[1];
    const int64_t isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2];
    for(int64_t nc = 0; nc < NC; ++nc)
        for(int64_t od = 0; od < out[0]; ++od)
            for(int64_t oh = 0; oh < out[1]; ++oh)
                for(int64_t ow = 0; ow < out[2]; ++ow)
                {
                    const int64_t o = nc * osz + (od * out[1] + oh) * out[2] + ow;
                    double best = -INFINITY, sum = 0.0;
                    int64_t cnt = 0, best_win = 0, best_img = 0;
                    for(int64_t kd = 0; kd < k[0]; ++kd)
                        for(int64_t kh = 0; kh < k[1]; ++kh)
                            for(int64_t kw = 0; kw < k[2]; ++kw)
                            {
                                int64_t id = od * s[0] - p[0] + kd, ih = oh * s[1] - p[1] + kh,
                                        iw = ow * s[2] - p[2] + kw;
                                if(id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2])
                                    continue;
                                const int64_t img = (id * in[1] + ih) * in[2] + iw;
                                const double v    = X[nc * isz + img];
                                sum += v;
                                ++cnt;
                                if(v > best)
                                {
                                    best     = v;
                                    best_win = (kd * k[1] + kh) * k[2] + kw;
                                    best_img = img;
                                }
                            }
                    if(poolDesc->mode == miopenPoolingMax)
                    {
                        Y[o] = cnt > 0 ? best : 0.0;
                        if(want_idx)
                            write_index(workSpace, poolDesc->index_type, o,
                                        (uint64_t)(poolDesc->index_mode == miopenPoolingWorkspaceIndexMask
                                                       ? best_win
                                                       : best_img));
                    }
                    else if(poolDesc->mode == miopenPoolingAverage)
                    {
                        Y[o] = cnt > 0 ? sum / (double)cnt : 0.0;
                    }
                    else
                    {
                        /* inclusive: the window clipped to the padded input */
                        int64_t full = 1;
                        for(int d = 0; d < 3; ++d)
                        {
                            int64_t lo = (d == 0 ? od : d == 1 ? oh : ow) * s[d] - p[d];
                            int64_t hi = lo + k[d];
                            if(hi > in[d] + p[d])
                                hi = in[d] + p[d];
                            full *= hi - lo;
                        }
                        Y[o] = sum / (double)full;
                    }
                }
    store_tensor(yDesc, y, Y, 1.0, 0.0);
    free(X);
    free(Y);
    handle->last_ms = (float)(now_ms() - t0);
    return miopenStatusSuccess;
}

/* ---- batch normalization (inference) --------------------------------- */

MIOPEN_EXPORT miopenStatus_t miopenDeriveBNTensorDescriptor(miopenTensorDescriptor_t derivedBnDesc,
                                                            const miopenTensorDescriptor_t xDesc,
                                                            miopenBatchNormMode_t bn_mode)
{
    if(derivedBnDesc == NULL || derivedBnDesc->magic != MAGIC_TENSOR || !tensor_ok(xDesc))
        return miopenStatusBadParm;
    if(bn_mode != miopenBNSpatial && bn_mode != miopenBNPerActivation)
        return miopenStatusBadParm;
    if(xDesc->nd != 4 && xDesc->nd != 5)
        return miopenStatusBadParm;
    int64_t lens[REF_MAX_DIMS];
    lens[0] = 1;
    lens[1] = xDesc->lens[1];
    for(int i = 2; i < xDesc->nd; ++i)
        lens[i] = bn_mode == miopenBNSpatial ? 1 : xDesc->lens[i];
    return set_tensor(derivedBnDesc, miopenFloat, xDesc->nd, lens, NULL);
}

/* MIOpen checks: same rank everywhere, x and y of one dtype, rank >= 3,
 * alpha = 1 and beta = 0 (else BadParm).  With estimatedMean or
 * estimatedVariance NULL, MIOpen normalises with the batch's own statistics
 * (biased variance); so does this. */
MIOPEN_EXPORT miopenStatus_t miopenBatchNormalizationForwardInference(miopenHandle_t handle,
                                                                      miopenBatchNormMode_t bn_mode,
                                                                      void* alpha,
                                                                      void* beta,
                                                                      const miopenTensorDescriptor_t xDesc,
                                                                      const void* x,
                                                                      const miopenTensorDescriptor_t yDesc,
                                                                      void* y,
                                                                      const miopenTensorDescriptor_t bnScaleBiasMeanVarDesc,
                                                                      void* bnScale,
                                                                      void* bnBias,
                                                                      void* estimatedMean,
                                                                      void* estimatedVariance,
                                                                      double epsilon)
{
    const tdesc_t* bd = bnScaleBiasMeanVarDesc;
    if(!handle_ok(handle) || !tensor_ok(xDesc) || !tensor_ok(yDesc) || !tensor_ok(bd))
        return miopenStatusBadParm;
    if(alpha == NULL || beta == NULL || x == NULL || y == NULL || bnScale == NULL || bnBias == NULL)
        return miopenStatusBadParm;
    if(bn_mode != miopenBNSpatial && bn_mode != miopenBNPerActivation)
        return miopenStatusBadParm;
    if(xDesc->nd < 3 || !same_lens(xDesc, yDesc) || xDesc->dtype != yDesc->dtype || bd->nd != xDesc->nd)
        return miopenStatusBadParm;
    if(*(const float*)alpha != 1.0f || *(const float*)beta != 0.0f)
        return miopenStatusBadParm;
    for(int i = 0; i < bd->nd; ++i)
    {
        int64_t want = (i == 1 || (i >= 2 && bn_mode == miopenBNPerActivation)) ? xDesc->lens[i] : 1;
        if(bd->lens[i] != want)
            return miopenStatusBadParm;
    }
    if(!dtype_computable(xDesc->dtype) || !dtype_computable(bd->dtype))
        return miopenStatusNotImplemented;
    const int have_stats = estimatedMean != NULL && estimatedVariance != NULL;

    double t0 = now_ms();
    double* X = load_tensor(xDesc, x);
    double* S = load_tensor(bd, bnScale);
    double* B = load_tensor(bd, bnBias);
    double* M = have_stats ? load_tensor(bd, estimatedMean) : (double*)calloc((size_t)tensor_numel(bd), sizeof(double));
    double* V = have_stats ? load_tensor(bd, estimatedVariance)
                           : (double*)calloc((size_t)tensor_numel(bd), sizeof(double));
    miopenStatus_t st = miopenStatusSuccess;
    if(X == NULL || S == NULL || B == NULL || M == NULL || V == NULL)
    {
        st = miopenStatusAllocFailed;
    }
    else
    {
        const int64_t N = xDesc->lens[0], C = xDesc->lens[1];
        const int64_t inner = tensor_numel(xDesc) / (N * C);
        /* parameter index of (c, i): c for spatial, c * inner + i per activation */
        const int per_act = bn_mode == miopenBNPerActivation;
        if(!have_stats)
        {
            const int64_t cnt = per_act ? N : N * inner;
            for(int64_t n = 0; n < N; ++n)
                for(int64_t c = 0; c < C; ++c)
                    for(int64_t i = 0; i < inner; ++i)
                        M[per_act ? c * inner + i : c] += X[(n * C + c) * inner + i] / (double)cnt;
            for(int64_t n = 0; n < N; ++n)
                for(int64_t c = 0; c < C; ++c)
                    for(int64_t i = 0; i < inner; ++i)
                    {
                        const int64_t pi = per_act ? c * inner + i : c;
                        const double d   = X[(n * C + c) * inner + i] - M[pi];
                        V[pi] += d * d / (double)cnt;
                    }
        }
        for(int64_t n = 0; n < N; ++n)
            for(int64_t c = 0; c < C; ++c)
                for(int64_t i = 0; i < inner; ++i)
                {
                    const int64_t pi = per_act ? c * inner + i : c;
                    double* v        = &X[(n * C + c) * inner + i];
                    *v               = S[pi] * (*v - M[pi]) / sqrt(V[pi] + epsilon) + B[pi];
                }
        store_tensor(yDesc, y, X, 1.0, 0.0);
    }
    free(X);
    free(S);
    free(B);
    free(M);
    free(V);
    handle->last_ms = (float)(now_ms() - t0);
    return st;
}

/* ---- element-wise tensor op ------------------------------------------ */

/* MIOpen's rules: A, B and C of one dtype and one rank (at most 5), C of A's
 * lengths, each length of B either A's or 1 (broadcast). */
MIOPEN_EXPORT miopenStatus_t miopenOpTensor(miopenHandle_t handle,
                                            miopenTensorOp_t tensorOp,
                                            const void* alpha1,
                                            const miopenTensorDescriptor_t aDesc,
                                            const void* A,
                                            const void* alpha2,
                                            const miopenTensorDescriptor_t bDesc,
                                            const void* B,
                                            const void* beta,
                                            const miopenTensorDescriptor_t cDesc,
                                            void* C)
{
    if(!handle_ok(handle) || !tensor_ok(aDesc) || !tensor_ok(bDesc) || !tensor_ok(cDesc))
        return miopenStatusBadParm;
    if(alpha1 == NULL || alpha2 == NULL || beta == NULL || A == NULL || B == NULL || C == NULL)
        return miopenStatusBadParm;
    if(tensorOp != miopenTensorOpAdd && tensorOp != miopenTensorOpMul && tensorOp != miopenTensorOpMin &&
       tensorOp != miopenTensorOpMax)
        return miopenStatusBadParm;
    if(aDesc->nd > 5 || aDesc->nd != bDesc->nd || !same_lens(aDesc, cDesc))
        return miopenStatusBadParm;
    if(aDesc->dtype != bDesc->dtype || aDesc->dtype != cDesc->dtype)
        return miopenStatusBadParm;
    for(int i = 0; i < aDesc->nd; ++i)
        if(bDesc->lens[i] != 1 && bDesc->lens[i] != aDesc->lens[i])
            return miopenStatusBadParm;
    if(!dtype_computable(aDesc->dtype))
        return miopenStatusNotImplemented;
    const miopenDataType_t dt = cDesc->dtype;
    const double a1 = read_scalar(alpha1, dt), a2 = read_scalar(alpha2, dt), bt = read_scalar(beta, dt);

    double t0  = now_ms();
    double* AV = load_tensor(aDesc, A);
    double* BV = load_tensor(bDesc, B);
    if(AV == NULL || BV == NULL)
    {
        free(AV);
        free(BV);
        return miopenStatusAllocFailed;
    }
    const int nd                = aDesc->nd;
    const int64_t n             = tensor_numel(aDesc);
    int64_t coord[REF_MAX_DIMS] = {0};
    for(int64_t i = 0; i < n; ++i)
    {
        int64_t bi = 0;
        for(int d = 0; d < nd; ++d)
            bi = bi * bDesc->lens[d] + (bDesc->lens[d] == 1 ? 0 : coord[d]);
        const double u = a1 * AV[i], v = a2 * BV[bi];
        double r;
        switch(tensorOp)
        {
        case miopenTensorOpAdd: r = u + v; break;
        case miopenTensorOpMul: r = u * v; break;
        case miopenTensorOpMin: r = u < v ? u : v; break;
        default: r = u > v ? u : v; break;
        }
        AV[i] = r;
        for(int d = nd - 1; d >= 0; --d)
        {
            if(++coord[d] < aDesc->lens[d])
                break;
            coord[d] = 0;
        }
    }
    store_tensor(cDesc, C, AV, 1.0, bt);
    free(AV);
    free(BV);
    handle->last_ms = (float)(now_ms() - t0);
    return miopenStatusSuccess;
}

/* ---- fusion plans ---------------------------------------------------- */

/* A plan keeps copies of every descriptor it is given (the caller may
 * destroy its own right after), and a list of ops in creation order.  The
 * reference runs vertical plans of the form conv? -> bias? -> activation?
 * (at least one op), which covers MIOpen's conv + bias + activation fusions;
 * other op sequences are miopenStatusUnsupportedOp at compile time. */

#define REF_MAX_FUSION_OPS 4

typedef enum
{
    FOP_CONV  = 0,
    FOP_BIAS  = 1,
    FOP_ACTIV = 2
} fop_kind_t;

struct miopenFusionOpDescriptor
{
    uint32_t magic;
    fop_kind_t kind;
    struct miopenFusionPlanDescriptor* plan;
    cdesc_t conv;        /* FOP_CONV */
    tdesc_t tensor;      /* FOP_CONV: weights, FOP_BIAS: bias */
    miopenActivationMode_t activ_mode; /* FOP_ACTIV */
};

struct miopenFusionPlanDescriptor
{
    uint32_t magic;
    tdesc_t input;
    int n_ops;
    struct miopenFusionOpDescriptor* ops[REF_MAX_FUSION_OPS];
    int compiled;
    int64_t out_lens[REF_MAX_DIMS]; /* set by compile */
};

typedef struct
{
    const struct miopenFusionOpDescriptor* op;
    double alpha, beta;
    const void* data; /* weights or bias */
    double activ[3];
} fop_arg_t;

struct miopenOperatorArgs
{
    uint32_t magic;
    int n;
    fop_arg_t args[REF_MAX_FUSION_OPS * 4];
};

typedef struct miopenFusionPlanDescriptor plan_t;
typedef struct miopenFusionOpDescriptor fop_t;

static int plan_ok(const plan_t* p) { return p != NULL && p->magic == MAGIC_PLAN; }

static int fop_ok(const fop_t* o) { return o != NULL && o->magic == MAGIC_FOP && plan_ok(o->plan); }

static int opargs_ok(const struct miopenOperatorArgs* a) { return a != NULL && a->magic == MAGIC_ARGS; }

MIOPEN_EXPORT miopenStatus_t miopenCreateFusionPlan(miopenFusionPlanDescriptor_t* fusePlanDesc,
                                                    const miopenFusionDirection_t fuseDirection,
                                                    const miopenTensorDescriptor_t inputDesc)
{
    if(fusePlanDesc == NULL || !tensor_ok(inputDesc))
        return miopenStatusBadParm;
    if(fuseDirection != miopenVerticalFusion)
        return fuseDirection == miopenHorizontalFusion ? miopenStatusNotImplemented : miopenStatusBadParm;
    plan_t* p = (plan_t*)calloc(1, sizeof(*p));
    if(p == NULL)
        return miopenStatusAllocFailed;
    p->magic      = MAGIC_PLAN;
    p->input      = *inputDesc;
    *fusePlanDesc = p;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyFusionPlan(miopenFusionPlanDescriptor_t fusePlanDesc)
{
    if(!plan_ok(fusePlanDesc))
        return miopenStatusBadParm;
    for(int i = 0; i < fusePlanDesc->n_ops; ++i)
    {
        fusePlanDesc->ops[i]->magic = MAGIC_DEAD;
        free(fusePlanDesc->ops[i]);
    }
    fusePlanDesc->magic = MAGIC_DEAD;
    free(fusePlanDesc);
    return miopenStatusSuccess;
}

static miopenStatus_t add_fop(plan_t* p, fop_kind_t kind, fop_t** out)
{
    if(!plan_ok(p) || out == NULL)
        return miopenStatusBadParm;
    if(p->n_ops >= REF_MAX_FUSION_OPS)
        return miopenStatusUnsupportedOp;
    fop_t* o = (fop_t*)calloc(1, sizeof(*o));
    if(o == NULL)
        return miopenStatusAllocFailed;
    o->magic            = MAGIC_FOP;
    o->kind             = kind;
    o->plan             = p;
    p->ops[p->n_ops++]  = o;
    p->compiled         = 0;
    *out                = o;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateOpConvForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                                       miopenFusionOpDescriptor_t* convOp,
                                                       miopenConvolutionDescriptor_t convDesc,
                                                       const miopenTensorDescriptor_t wDesc)
{
    if(!conv_ok(convDesc) || !tensor_ok(wDesc))
        return miopenStatusBadParm;
    fop_t* o          = NULL;
    miopenStatus_t st = add_fop(fusePlanDesc, FOP_CONV, &o);
    if(st != miopenStatusSuccess)
        return st;
    o->conv   = *convDesc;
    o->tensor = *wDesc;
    *convOp   = o;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateOpBiasForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                                       miopenFusionOpDescriptor_t* biasOp,
                                                       const miopenTensorDescriptor_t bDesc)
{
    if(!tensor_ok(bDesc))
        return miopenStatusBadParm;
    fop_t* o          = NULL;
    miopenStatus_t st = add_fop(fusePlanDesc, FOP_BIAS, &o);
    if(st != miopenStatusSuccess)
        return st;
    o->tensor = *bDesc;
    *biasOp   = o;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateOpActivationForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                                             miopenFusionOpDescriptor_t* activFwdOp,
                                                             miopenActivationMode_t mode)
{
    if(!activ_mode_known(mode))
        return miopenStatusBadParm;
    fop_t* o          = NULL;
    miopenStatus_t st = add_fop(fusePlanDesc, FOP_ACTIV, &o);
    if(st != miopenStatusSuccess)
        return st;
    o->activ_mode = mode;
    *activFwdOp   = o;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenFusionPlanGetOp(miopenFusionPlanDescriptor_t fusePlanDesc,
                                                   const int op_idx,
                                                   miopenFusionOpDescriptor_t* op)
{
    if(!plan_ok(fusePlanDesc) || op == NULL || op_idx < 0 || op_idx >= fusePlanDesc->n_ops)
        return miopenStatusBadParm;
    *op = fusePlanDesc->ops[op_idx];
    return miopenStatusSuccess;
}

/* Checks the op order and every op's shapes against the data flowing in. */
MIOPEN_EXPORT miopenStatus_t miopenCompileFusionPlan(miopenHandle_t handle,
                                                     miopenFusionPlanDescriptor_t fusePlanDesc)
{
    if(!handle_ok(handle) || !plan_ok(fusePlanDesc))
        return miopenStatusBadParm;
    plan_t* p = fusePlanDesc;
    if(p->n_ops < 1)
        return miopenStatusUnsupportedOp;
    int last = -1;
    for(int i = 0; i < p->n_ops; ++i)
    {
        if((int)p->ops[i]->kind <= last)
            return miopenStatusUnsupportedOp;
        last = (int)p->ops[i]->kind;
    }
    if(!dtype_computable(p->input.dtype))
        return miopenStatusNotImplemented;
    int64_t cur[REF_MAX_DIMS];
    for(int i = 0; i < p->input.nd; ++i)
        cur[i] = p->input.lens[i];
    for(int i = 0; i < p->n_ops; ++i)
    {
        const fop_t* o = p->ops[i];
        if(o->kind == FOP_CONV)
        {
            miopenStatus_t st = forward_output_lens(&o->conv, &p->input, &o->tensor, cur);
            if(st != miopenStatusSuccess)
                return st;
        }
        else if(o->kind == FOP_BIAS)
        {
            if(o->tensor.nd != p->input.nd || o->tensor.dtype != p->input.dtype)
                return miopenStatusBadParm;
            for(int d = 0; d < o->tensor.nd; ++d)
                if(o->tensor.lens[d] != (d == 1 ? cur[1] : 1))
                    return miopenStatusBadParm;
        }
    }
    for(int i = 0; i < p->input.nd; ++i)
        p->out_lens[i] = cur[i];
    p->compiled = 1;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenCreateOperatorArgs(miopenOperatorArgs_t* args)
{
    if(args == NULL)
        return miopenStatusBadParm;
    struct miopenOperatorArgs* a = (struct miopenOperatorArgs*)calloc(1, sizeof(*a));
    if(a == NULL)
        return miopenStatusAllocFailed;
    a->magic = MAGIC_ARGS;
    *args    = a;
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenDestroyOperatorArgs(miopenOperatorArgs_t args)
{
    if(!opargs_ok(args))
        return miopenStatusBadParm;
    args->magic = MAGIC_DEAD;
    free(args);
    return miopenStatusSuccess;
}

/* The entry of op in args (a new one if none yet; setting again replaces). */
static fop_arg_t* oparg_slot(struct miopenOperatorArgs* a, const fop_t* op)
{
    for(int i = 0; i < a->n; ++i)
        if(a->args[i].op == op)
            return &a->args[i];
    if(a->n >= (int)(sizeof(a->args) / sizeof(a->args[0])))
        return NULL;
    fop_arg_t* s = &a->args[a->n++];
    memset(s, 0, sizeof(*s));
    s->op = op;
    return s;
}

static miopenStatus_t set_oparg(miopenOperatorArgs_t args,
                                const fop_t* op,
                                fop_kind_t kind,
                                const void* alpha,
                                const void* beta,
                                const void* data,
                                const double activ[3])
{
    if(!opargs_ok(args) || !fop_ok(op) || op->kind != kind || alpha == NULL || beta == NULL)
        return miopenStatusBadParm;
    if(kind != FOP_ACTIV && data == NULL)
        return miopenStatusBadParm;
    fop_arg_t* s = oparg_slot(args, op);
    if(s == NULL)
        return miopenStatusAllocFailed;
    /* MIOpen reads the fusion alpha/beta as float */
    s->alpha = *(const float*)alpha;
    s->beta  = *(const float*)beta;
    s->data  = data;
    if(activ != NULL)
        memcpy(s->activ, activ, sizeof(s->activ));
    return miopenStatusSuccess;
}

MIOPEN_EXPORT miopenStatus_t miopenSetOpArgsConvForward(miopenOperatorArgs_t args,
                                                        const miopenFusionOpDescriptor_t convOp,
                                                        const void* alpha,
                                                        const void* beta,
                                                        const void* w)
{
    return set_oparg(args, convOp, FOP_CONV, alpha, beta, w, NULL);
}

MIOPEN_EXPORT miopenStatus_t miopenSetOpArgsBiasForward(miopenOperatorArgs_t args,
                                                        const miopenFusionOpDescriptor_t biasOp,
                                                        const void* alpha,
                                                        const void* beta,
                                                        const void* bias)
{
    return set_oparg(args, biasOp, FOP_BIAS, alpha, beta, bias, NULL);
}

MIOPEN_EXPORT miopenStatus_t miopenSetOpArgsActivForward(miopenOperatorArgs_t args,
                                                         const miopenFusionOpDescriptor_t activFwdOp,
                                                         const void* alpha,
                                                         const void* beta,
                                                         double activAlpha,
                                                         double activBeta,
                                                         double activGamma)
{
    const double activ[3] = {activAlpha, activBeta, activGamma};
    return set_oparg(args, activFwdOp, FOP_ACTIV, alpha, beta, NULL, activ);
}

/* Runs the compiled plan in double precision and rounds once into output.
 * The fused kernels have no alpha/beta blending: every op's alpha must be 1
 * and beta 0 (else NotImplemented), as MIOpen's fusion kernels assume. */
MIOPEN_EXPORT miopenStatus_t miopenExecuteFusionPlan(const miopenHandle_t handle,
                                                     const miopenFusionPlanDescriptor_t fusePlanDesc,
                                                     const miopenTensorDescriptor_t inputDesc,
                                                     const void* input,
                                                     const miopenTensorDescriptor_t outputDesc,
                                                     void* output,
                                                     miopenOperatorArgs_t args)
{
    if(!handle_ok(handle) || !plan_ok(fusePlanDesc) || !tensor_ok(inputDesc) || !tensor_ok(outputDesc) ||
       !opargs_ok(args) || input == NULL || output == NULL)
        return miopenStatusBadParm;
    const plan_t* p = fusePlanDesc;
    if(!p->compiled)
        return miopenStatusBadParm;
    if(!same_lens(inputDesc, &p->input) || inputDesc->dtype != p->input.dtype)
        return miopenStatusBadParm;
    if(outputDesc->nd != p->input.nd || outputDesc->dtype != p->input.dtype)
        return miopenStatusBadParm;
    for(int i = 0; i < outputDesc->nd; ++i)
        if(outputDesc->lens[i] != p->out_lens[i])
            return miopenStatusBadParm;
    const fop_arg_t* oa[REF_MAX_FUSION_OPS];
    for(int i = 0; i < p->n_ops; ++i)
    {
        oa[i] = NULL;
        for(int j = 0; j < args->n; ++j)
            if(args->args[j].op == p->ops[i])
                oa[i] = &args->args[j];
        if(oa[i] == NULL)
            return miopenStatusBadParm; /* op without arguments */
        if(oa[i]->alpha != 1.0 || oa[i]->beta != 0.0)
            return miopenStatusNotImplemented;
    }

    double t0 = now_ms();
    double* cur = load_tensor(inputDesc, input);
    if(cur == NULL)
        return miopenStatusAllocFailed;
    miopenStatus_t st = miopenStatusSuccess;
    for(int i = 0; i < p->n_ops && st == miopenStatusSuccess; ++i)
    {
        const fop_t* o = p->ops[i];
        if(o->kind == FOP_CONV)
        {
            tdesc_t out = *outputDesc; /* conv output lengths = plan output */
            geom_t g;
            st = check_problem(&o->conv, &p->input, &o->tensor, &out, &g);
            if(st != miopenStatusSuccess)
                break;
            double* W   = load_tensor(&o->tensor, oa[i]->data);
            double* OUT = (double*)malloc((size_t)tensor_numel(outputDesc) * sizeof(double));
            if(W == NULL || OUT == NULL)
                st = miopenStatusAllocFailed;
            else if(o->conv.mode == miopenTranspose)
                kernel_bwd(&g, cur, W, OUT);
            else
                kernel_fwd(&g, cur, W, OUT);
            free(W);
            free(cur);
            cur = OUT;
        }
        else if(o->kind == FOP_BIAS)
        {
            double* B = load_tensor(&o->tensor, oa[i]->data);
            if(B == NULL)
            {
                st = miopenStatusAllocFailed;
                break;
            }
            const int64_t N = p->out_lens[0], C = p->out_lens[1];
            const int64_t inner = tensor_numel(outputDesc) / (N * C);
            for(int64_t n = 0; n < N; ++n)
                for(int64_t c = 0; c < C; ++c)
                    for(int64_t k = 0; k < inner; ++k)
                        cur[(n * C + c) * inner + k] += B[c];
            free(B);
        }
        else
        {
            const int64_t n = tensor_numel(outputDesc);
            for(int64_t k = 0; k < n; ++k)
                cur[k] = activ_apply(o->activ_mode, oa[i]->activ[0], oa[i]->activ[1], oa[i]->activ[2], cur[k]);
        }
    }
    if(st == miopenStatusSuccess && cur != NULL)
        store_tensor(outputDesc, output, cur, 1.0, 0.0);
    free(cur);
    handle->last_ms = (float)(now_ms() - t0);
    return st;
}
