/*
 * boo: per-call latency of miopenConvolutionForward (for bench/shim_overhead.py).
 *
 *   shim_bench [ITERS] [WARMUP]
 *
 * A tiny fp32 NCHW forward convolution (1x4x8x8 * 4x4x3x3, pad 1) called ITERS times after
 * WARMUP calls; prints one line "calls=N p50_us=... p99_us=... mean_us=... min_us=...".
 */
#define _POSIX_C_SOURCE 199309L
#include "miopen/miopen.h"

#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char** argv)
{
    int iters  = argc > 1 ? atoi(argv[1]) : 1000;
    int warmup = argc > 2 ? atoi(argv[2]) : 20;
    if(iters < 1 || warmup < 0)
        return 2;
    static float x[1 * 4 * 8 * 8], w[4 * 4 * 3 * 3], y[1 * 4 * 8 * 8];
    for(int i = 0; i < 256; ++i)
        x[i] = (float)(i % 7) - 3.0f;
    for(int i = 0; i < 144; ++i)
        w[i] = (float)(i % 5) - 2.0f;
    miopenHandle_t h;
    miopenTensorDescriptor_t xd, wd, yd;
    miopenConvolutionDescriptor_t cd;
    CK(miopenCreate(&h));
    CK(miopenCreateTensorDescriptor(&xd));
    CK(miopenCreateTensorDescriptor(&wd));
    CK(miopenCreateTensorDescriptor(&yd));
    CK(miopenCreateConvolutionDescriptor(&cd));
    CK(miopenSet4dTensorDescriptor(xd, miopenFloat, 1, 4, 8, 8));
    CK(miopenSet4dTensorDescriptor(wd, miopenFloat, 4, 4, 3, 3));
    CK(miopenSet4dTensorDescriptor(yd, miopenFloat, 1, 4, 8, 8));
    CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, 1, 1, 1, 1, 1, 1));
    const float alpha = 1.0f, beta = 0.0f;
    double* t = malloc(sizeof(double) * (size_t)iters);
    if(t == NULL)
        return 1;
    for(int i = 0; i < warmup + iters; ++i)
    {
        double t0 = now_us();
        CK(miopenConvolutionForward(h, &alpha, xd, x, wd, w, cd, miopenConvolutionFwdAlgoDirect, &beta, yd, y,
                                    NULL, 0));
        if(i >= warmup)
            t[i - warmup] = now_us() - t0;
    }
    double sum = 0;
    for(int i = 0; i < iters; ++i)
        sum += t[i];
    qsort(t, (size_t)iters, sizeof(double), cmp);
    printf("calls=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f\n", iters, t[iters / 2],
           t[(int)(iters * 0.99) < iters ? (int)(iters * 0.99) : iters - 1], sum / iters, t[0]);
    free(t);
    return 0;
}
