/*
 * boo: multi-threaded MIOpen client (tests the shim's thread safety).
 *
 *   shim_threads [THREADS] [ITERS]
 *
 * Every thread creates its own handle and descriptors and runs the same forward convolution
 * (NCHW, fp32, 2x4x8x8 * 6x4x3x3, pad 1) ITERS times on the same input; all results must be
 * bit-identical.  Prints "threads ok checksum=<sum of y>" and exits 0, or 1 on any failure.
 */
#include "miopen/miopen.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 2
#define C 4
#define H 8
#define W 8
#define K 6
#define R 3
#define YN (N * K * H * W)

static float g_x[N * C * H * W], g_w[K * C * R * R];
static int g_iters = 3;

typedef struct
{
    float y[YN];
    int status;
} result_t;

#define TRY(call)                                                                            \
    do                                                                                       \
    {                                                                                        \
        miopenStatus_t st_ = (call);                                                         \
        if(st_ != miopenStatusSuccess)                                                       \
        {                                                                                    \
            fprintf(stderr, "shim_threads: %s failed: %s\n", #call, miopenGetErrorString(st_)); \
            r->status = 1;                                                                   \
            return NULL;                                                                     \
        }                                                                                    \
    } while(0)

static void* worker(void* arg)
{
    result_t* r = (result_t*)arg;
    miopenHandle_t h;
    miopenTensorDescriptor_t xd, wd, yd;
    miopenConvolutionDescriptor_t cd;
    TRY(miopenCreate(&h));
    TRY(miopenCreateTensorDescriptor(&xd));
    TRY(miopenCreateTensorDescriptor(&wd));
    TRY(miopenCreateTensorDescriptor(&yd));
    TRY(miopenCreateConvolutionDescriptor(&cd));
    TRY(miopenSet4dTensorDescriptor(xd, miopenFloat, N, C, H, W));
    TRY(miopenSet4dTensorDescriptor(wd, miopenFloat, K, C, R, R));
    TRY(miopenInitConvolutionDescriptor(cd, miopenConvolution, 1, 1, 1, 1, 1, 1));
    int n, c, hh, ww;
    TRY(miopenGetConvolutionForwardOutputDim(cd, xd, wd, &n, &c, &hh, &ww));
    TRY(miopenSet4dTensorDescriptor(yd, miopenFloat, n, c, hh, ww));
    const float alpha = 1.0f, beta = 0.0f;
    for(int i = 0; i < g_iters; ++i)
        TRY(miopenConvolutionForward(h, &alpha, xd, g_x, wd, g_w, cd, miopenConvolutionFwdAlgoDirect, &beta,
                                     yd, r->y, NULL, 0));
    TRY(miopenDestroyTensorDescriptor(xd));
    TRY(miopenDestroyTensorDescriptor(wd));
    TRY(miopenDestroyTensorDescriptor(yd));
    TRY(miopenDestroyConvolutionDescriptor(cd));
    TRY(miopenDestroy(h));
    r->status = 0;
    return NULL;
}

int main(int argc, char** argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    g_iters     = argc > 2 ? atoi(argv[2]) : 3;
    if(threads < 1 || threads > 64 || g_iters < 1)
    {
        fprintf(stderr, "usage: shim_threads [THREADS 1..64] [ITERS >= 1]\n");
        return 2;
    }
    for(int i = 0; i < N * C * H * W; ++i)
        g_x[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    for(int i = 0; i < K * C * R * R; ++i)
        g_w[i] = (float)((i * 11) % 13) / 6.0f - 1.0f;
    pthread_t* tids = calloc((size_t)threads, sizeof(pthread_t));
    result_t* res   = calloc((size_t)threads, sizeof(result_t));
    if(!tids || !res)
        return 1;
    for(int t = 0; t < threads; ++t)
        pthread_create(&tids[t], NULL, worker, &res[t]);
    for(int t = 0; t < threads; ++t)
        pthread_join(tids[t], NULL);
    int bad = 0;
    for(int t = 0; t < threads; ++t)
    {
        if(res[t].status != 0)
            bad = 1;
        else if(memcmp(res[t].y, res[0].y, sizeof(res[0].y)) != 0)
        {
            fprintf(stderr, "shim_threads: thread %d result differs from thread 0\n", t);
            bad = 1;
        }
    }
    double sum = 0;
    for(int i = 0; i < YN; ++i)
        sum += res[0].y[i];
    if(bad)
        return 1;
    printf("threads ok threads=%d iters=%d checksum=%.6f\n", threads, g_iters, sum);
    free(tids);
    free(res);
    return 0;
}
