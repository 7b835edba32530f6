/*
 * boo: descriptors changed in place between convolution calls, checked against direct loops.
 *
 *   descriptor_mutation [SEED] [CALLS] [immediate]
 *
 * One handle and one set of descriptors for the whole run. Before each call a seeded random
 * choice re-Sets some of them in place (same pointers, new content): the tensor shapes, the
 * padding/stride/dilation, the group count, or nothing at all (so some calls repeat the previous
 * one exactly). Every call's result is compared with an fp32 direct loop computed here. A shim
 * that keyed anything on descriptor pointers, or that missed a Set, returns the previous
 * configuration's result (or writes past the output); this program then reports a mismatch.
 *
 * With "immediate", every call is miopenConvolutionForwardImmediate with the solution id
 * GetSolution gave (PyTorch's default path), and at the end one call names a solution id of
 * another direction, which must be refused with BadParm.
 *
 * DESCRIPTOR_MUTATION_FORK=1: halfway through, the program forks; parent and child go on at
 * once with different seeds (a forked child must not share its parent's connection to the
 * daemon: replies would cross), the child printing its own line first, and the parent counts a
 * failed child as a mismatch.
 *
 * Prints one line: "calls=N mismatches=M" (and fast_calls=K under the boo shim); exit 0 when
 * every result matched.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "miopen/miopen.h"

#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct
{
    int n, c, h, w, k, r, s, pad, stride, dil, groups;
} config_t;

/* A few layers of one small network: each differs from the others in one or two fields. */
static const config_t CONFIGS[] = {
    {1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1},
    {1, 4, 8, 8, 4, 3, 3, 2, 1, 2, 1}, /* dilation 2 (pad 2): same output size as the first */
    {1, 4, 8, 8, 4, 3, 3, 1, 2, 1, 1}, /* stride 2 */
    {1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 2}, /* 2 groups */
    {2, 4, 6, 10, 6, 1, 1, 0, 1, 1, 1}, /* another shape altogether */
    {1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 4}, /* 4 groups, 8 filters */
};
#define N_CONFIGS (int)(sizeof(CONFIGS) / sizeof(CONFIGS[0]))

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static int out_dim(int in, int k, int pad, int stride, int dil)
{
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

static void direct_conv(const config_t* g, const float* x, const float* w, float* y)
{
    int ho = out_dim(g->h, g->r, g->pad, g->stride, g->dil), wo = out_dim(g->w, g->s, g->pad, g->stride, g->dil);
    int cg = g->c / g->groups, kg = g->k / g->groups;
    for(int n = 0; n < g->n; ++n)
        for(int k = 0; k < g->k; ++k)
            for(int oh = 0; oh < ho; ++oh)
                for(int ow = 0; ow < wo; ++ow)
                {
                    double acc = 0;
                    int grp = k / kg;
                    for(int c = 0; c < cg; ++c)
                        for(int i = 0; i < g->r; ++i)
                            for(int j = 0; j < g->s; ++j)
                            {
                                int ih = oh * g->stride - g->pad + i * g->dil;
                                int iw = ow * g->stride - g->pad + j * g->dil;
                                if(ih < 0 || iw < 0 || ih >= g->h || iw >= g->w)
                                    continue;
                                acc += (double)x[((n * g->c + grp * cg + c) * g->h + ih) * g->w + iw] *
                                       w[((k * cg + c) * g->r + i) * g->s + j];
                            }
                    y[((n * g->k + k) * ho + oh) * wo + ow] = (float)acc;
                }
}

#define CK(call)                                                                             \
    do                                                                                       \
    {                                                                                        \
        miopenStatus_t s_ = (call);                                                          \
        if(s_ != miopenStatusSuccess)                                                        \
        {                                                                                    \
            fprintf(stderr, "call %d: %s failed: %s\n", call_no, #call, miopenGetErrorString(s_)); \
            return 1;                                                                        \
        }                                                                                    \
    } while(0)

int main(int argc, char** argv)
{
    rng_state = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    int calls = argc > 2 ? atoi(argv[2]) : 200;
    int immediate = argc > 3 && strcmp(argv[3], "immediate") == 0;
    int call_no = -1;
    enum { CAP = 1 << 16 };
    float* x = malloc(sizeof(float) * CAP);
    float* w = malloc(sizeof(float) * CAP);
    float* y = malloc(sizeof(float) * (CAP + 64)); /* + a guard zone after the largest output */
    float* ref = malloc(sizeof(float) * CAP);
    if(x == NULL || w == NULL || y == NULL || ref == NULL)
        return 1;
    for(int i = 0; i < CAP; ++i)
    {
        x[i] = (float)((int)(rnd() % 17) - 8) / 8.0f;
        w[i] = (float)((int)(rnd() % 13) - 6) / 6.0f;
    }
    miopenHandle_t h;
    miopenTensorDescriptor_t xd, wd, yd;
    miopenConvolutionDescriptor_t cd;
    CK(miopenCreate(&h));
    CK(miopenCreateTensorDescriptor(&xd));
    CK(miopenCreateTensorDescriptor(&wd));
    CK(miopenCreateTensorDescriptor(&yd));
    CK(miopenCreateConvolutionDescriptor(&cd));
    const float alpha = 1.0f, beta = 0.0f;
    int mismatches = 0, cur = -1;
    const char* fork_env = getenv("DESCRIPTOR_MUTATION_FORK");
    pid_t child = -1;
    int is_child = 0;
    for(call_no = 0; call_no < calls; ++call_no)
    {
        if(fork_env != NULL && strcmp(fork_env, "1") == 0 && call_no == calls / 2 && child < 0)
        {
            fflush(stdout);
            child = fork();
            if(child < 0)
                return 1;
            is_child = child == 0;
            if(is_child)
                rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull; /* its own calls */
        }
        /* a third of the calls repeat the last configuration untouched */
        int next = (cur < 0 || rnd() % 3 != 0) ? (int)(rnd() % N_CONFIGS) : cur;
        const config_t* g = &CONFIGS[next];
        if(next != cur)
        {
            /* re-Set in place, in a random order, only what some layer needs */
            int ho = out_dim(g->h, g->r, g->pad, g->stride, g->dil), wo = out_dim(g->w, g->s, g->pad, g->stride, g->dil);
            int order = (int)(rnd() % 2);
            if(order == 0)
                CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, g->pad, g->pad, g->stride, g->stride,
                                                   g->dil, g->dil));
            CK(miopenSet4dTensorDescriptor(xd, miopenFloat, g->n, g->c, g->h, g->w));
            CK(miopenSet4dTensorDescriptor(wd, miopenFloat, g->k, g->c / g->groups, g->r, g->s));
            CK(miopenSet4dTensorDescriptor(yd, miopenFloat, g->n, g->k, ho, wo));
            if(order == 1)
                CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, g->pad, g->pad, g->stride, g->stride,
                                                   g->dil, g->dil));
            CK(miopenSetConvolutionGroupCount(cd, g->groups));
            cur = next;
        }
        int ho = out_dim(g->h, g->r, g->pad, g->stride, g->dil), wo = out_dim(g->w, g->s, g->pad, g->stride, g->dil);
        size_t ny = (size_t)g->n * g->k * ho * wo;
        for(size_t i = 0; i < ny + 64; ++i)
            y[i] = NAN;
        if(immediate)
        {
            miopenConvSolution_t sol;
            size_t count = 0;
            CK(miopenConvolutionForwardGetSolution(h, wd, xd, cd, yd, 1, &count, &sol));
            if(count < 1)
                return 1;
            CK(miopenConvolutionForwardImmediate(h, wd, w, xd, x, cd, yd, y, NULL, 0, sol.solution_id));
        }
        else
            CK(miopenConvolutionForward(h, &alpha, xd, x, wd, w, cd, miopenConvolutionFwdAlgoDirect, &beta, yd, y,
                                        NULL, 0));
        direct_conv(g, x, w, ref);
        int bad = 0;
        for(size_t i = 0; i < ny && !bad; ++i)
            bad = !(fabsf(y[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])));
        for(size_t i = ny; i < ny + 64 && !bad; ++i)
            bad = !isnan(y[i]); /* written past the output */
        if(bad)
        {
            ++mismatches;
            if(mismatches <= 5)
                fprintf(stderr, "call %d (config %d): result differs from the direct loop\n", call_no, next);
        }
    }
    if(immediate)
    {
        miopenConvSolution_t sol;
        size_t count = 0;
        CK(miopenConvolutionForwardGetSolution(h, wd, xd, cd, yd, 1, &count, &sol));
        miopenStatus_t st = miopenConvolutionForwardImmediate(h, wd, w, xd, x, cd, yd, y, NULL, 0, sol.solution_id + 1);
        if(st != miopenStatusBadParm)
        {
            fprintf(stderr, "a wrong solution id gave status %d, not BadParm\n", (int)st);
            ++mismatches;
        }
    }
    /* with profiling on, the time of the last call is reported (under the boo shim that call
     * is served from C: the time must come from there) */
    CK(miopenEnableProfiling(h, true));
    CK(miopenConvolutionForward(h, &alpha, xd, x, wd, w, cd, miopenConvolutionFwdAlgoDirect, &beta, yd, y, NULL, 0));
    float kernel_ms = -1.0f;
    miopenConvSolution_t unused;
    size_t n_unused = 0;
    CK(miopenConvolutionForwardGetSolution(h, wd, xd, cd, yd, 1, &n_unused, &unused)); /* runs nothing */
    CK(miopenGetKernelTime(h, &kernel_ms));
    if(!(kernel_ms > 0.0f))
    {
        fprintf(stderr, "miopenGetKernelTime gave %g ms for the last call\n", (double)kernel_ms);
        ++mismatches;
    }
    CK(miopenDestroyTensorDescriptor(xd));
    CK(miopenDestroyTensorDescriptor(wd));
    CK(miopenDestroyTensorDescriptor(yd));
    CK(miopenDestroyConvolutionDescriptor(cd));
    CK(miopenDestroy(h));
    if(child > 0)
    {
        int status = 0;
        if(waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        {
            fprintf(stderr, "the forked child failed (status %d)\n", status);
            ++mismatches;
        }
    }
    printf("%scalls=%d mismatches=%d", is_child ? "child " : "", calls, mismatches);
    unsigned long long (*fast_count)(void) = (unsigned long long (*)(void))dlsym(RTLD_DEFAULT, "boo_fast_count");
    if(fast_count != NULL)
        printf(" fast_calls=%llu", fast_count());
    printf("\n");
    free(x);
    free(w);
    free(y);
    free(ref);
    return mismatches == 0 ? 0 : 1;
}
