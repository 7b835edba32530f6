/*
 * boo: per-call latency of miopenConvolutionForward (for bench/shim_overhead.py).
 *
 *   shim_bench [ITERS] [WARMUP] [N C H W K]
 *
 * A tiny fp32 NCHW forward convolution (1x4x8x8 * 4x4x3x3, pad 1) called ITERS times after
 * WARMUP calls; prints one line "calls=N p50_us=... p99_us=... mean_us=... min_us=...".
 * With N C H W K it is a 1x1 convolution of that size instead (for bandwidth: large tensors,
 * little arithmetic).
 *
 * SHIM_BENCH_FRESH_DESCRIPTORS=1: every call creates, sets and destroys its descriptors around
 * the convolution, as PyTorch's Conv_miopen.cpp does (three tensor descriptors, a convolution
 * descriptor with its group count); the times are then of the whole sequence, and the line
 * adds desc_p50_us, the descriptor calls' share.
 *
 * SHIM_BENCH_PAUSE=I: before call I, print "paused" and wait for a line on stdin (a test
 * restarts the daemon meanwhile, then lets it go on).
 *
 * SHIM_BENCH_NHWC=1: the tensors are described channels-last (NHWC strides), as PyTorch's
 * channels_last tensors are. Tensors are 64-byte aligned, as PyTorch's CPU allocator makes them.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT, clock_gettime */
#include "miopen/miopen.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

#define CK(call)                                                                      \
    do                                                                                \
    {                                                                                 \
        miopenStatus_t s_ = (call);                                                   \
        if(s_ != miopenStatusSuccess)                                                 \
        {                                                                             \
            fprintf(stderr, "%s failed: %s\n", #call, miopenGetErrorString(s_));      \
            return 1;                                                                 \
        }                                                                             \
    } while(0)

/* An NCHW-ordered descriptor of packed NCHW memory, or of packed NHWC memory (strides). */
static miopenStatus_t set_4d(miopenTensorDescriptor_t d, int nhwc, int n, int c, int h, int w)
{
    if(!nhwc)
        return miopenSet4dTensorDescriptor(d, miopenFloat, n, c, h, w);
    int dims[4]    = {n, c, h, w};
    int strides[4] = {h * w * c, 1, w * c, c};
    return miopenSetTensorDescriptor(d, miopenFloat, 4, dims, strides);
}

int main(int argc, char** argv)
{
    int iters  = argc > 1 ? atoi(argv[1]) : 1000;
    int warmup = argc > 2 ? atoi(argv[2]) : 20;
    if(iters < 1 || warmup < 0)
        return 2;
    int n = 1, c = 4, hh = 8, ww = 8, k = 4, r = 3, pad = 1;
    if(argc > 7)
    {
        n = atoi(argv[3]), c = atoi(argv[4]), hh = atoi(argv[5]), ww = atoi(argv[6]), k = atoi(argv[7]);
        r = 1, pad = 0;
        if(n < 1 || c < 1 || hh < 1 || ww < 1 || k < 1)
            return 2;
    }
    size_t nx = (size_t)n * c * hh * ww, nw = (size_t)k * c * r * r, ny = (size_t)n * k * hh * ww;
    float* x = aligned_alloc(64, (sizeof(float) * nx + 63) / 64 * 64);
    float* w = aligned_alloc(64, (sizeof(float) * nw + 63) / 64 * 64);
    float* y = aligned_alloc(64, (sizeof(float) * ny + 63) / 64 * 64);
    if(x == NULL || w == NULL || y == NULL)
        return 1;
    for(size_t i = 0; i < nx; ++i)
        x[i] = (float)(i % 7) - 3.0f;
    for(size_t i = 0; i < nw; ++i)
        w[i] = (float)(i % 5) - 2.0f;
    const char* fresh_env = getenv("SHIM_BENCH_FRESH_DESCRIPTORS");
    int fresh = fresh_env != NULL && strcmp(fresh_env, "1") == 0;
    const char* nhwc_env = getenv("SHIM_BENCH_NHWC");
    int nhwc = nhwc_env != NULL && strcmp(nhwc_env, "1") == 0;
    miopenHandle_t h;
    miopenTensorDescriptor_t xd, wd, yd;
    miopenConvolutionDescriptor_t cd;
    CK(miopenCreate(&h));
#define SET_DESCRIPTORS()                                                                  \
    do                                                                                     \
    {                                                                                      \
        CK(miopenCreateTensorDescriptor(&xd));                                             \
        CK(miopenCreateTensorDescriptor(&wd));                                             \
        CK(miopenCreateTensorDescriptor(&yd));                                             \
        CK(miopenCreateConvolutionDescriptor(&cd));                                        \
        CK(set_4d(xd, nhwc, n, c, hh, ww));                                                \
        CK(set_4d(wd, nhwc, k, c, r, r));                                                  \
        CK(set_4d(yd, nhwc, n, k, hh, ww));                                                \
        CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, pad, pad, 1, 1, 1, 1));  \
        CK(miopenSetConvolutionGroupCount(cd, 1));                                         \
    } while(0)
#define DESTROY_DESCRIPTORS()                                                              \
    do                                                                                     \
    {                                                                                      \
        CK(miopenDestroyTensorDescriptor(xd));                                             \
        CK(miopenDestroyTensorDescriptor(wd));                                             \
        CK(miopenDestroyTensorDescriptor(yd));                                             \
        CK(miopenDestroyConvolutionDescriptor(cd));                                        \
    } while(0)
    int pause_at = -1;
    const char* pause_env = getenv("SHIM_BENCH_PAUSE");
    if(pause_env != NULL && sscanf(pause_env, "%d", &pause_at) != 1)
        return 2;
    if(!fresh)
        SET_DESCRIPTORS();
    const float alpha = 1.0f, beta = 0.0f;
    double* t = malloc(sizeof(double) * (size_t)iters);
    double* td = malloc(sizeof(double) * (size_t)iters);
    if(t == NULL || td == NULL)
        return 1;
    for(int i = 0; i < warmup + iters; ++i)
    {
        if(i == pause_at)
        {
            char line[64];
            printf("paused\n");
            fflush(stdout);
            if(fgets(line, sizeof(line), stdin) == NULL)
                return 2;
        }
        double t0 = now_us();
        if(fresh)
            SET_DESCRIPTORS();
        double t1 = now_us();
        CK(miopenConvolutionForward(h, &alpha, xd, x, wd, w, cd, miopenConvolutionFwdAlgoDirect, &beta, yd, y,
                                    NULL, 0));
        double t2 = now_us();
        if(fresh)
            DESTROY_DESCRIPTORS();
        if(i >= warmup)
        {
            t[i - warmup]  = now_us() - t0;
            td[i - warmup] = (t1 - t0) + (now_us() - t2);
        }
    }
    if(!fresh)
        DESTROY_DESCRIPTORS();
    double sum = 0;
    for(int i = 0; i < iters; ++i)
        sum += t[i];
    qsort(t, (size_t)iters, sizeof(double), cmp);
    qsort(td, (size_t)iters, sizeof(double), cmp);
    printf("calls=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f", iters, t[iters / 2],
           t[(int)(iters * 0.99) < iters ? (int)(iters * 0.99) : iters - 1], sum / iters, t[0]);
    if(fresh)
        printf(" desc_p50_us=%.1f", td[iters / 2]);
    /* under the boo shim: how many calls its C hot path served (native/shim/fast_call.c) */
    uint64_t (*fast_count)(void) = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "boo_fast_count");
    if(fast_count != NULL)
        printf(" fast_calls=%llu", (unsigned long long)fast_count());
    printf("\n");
    free(t);
    free(td);
    free(x);
    free(w);
    free(y);
    return 0;
}
