/*
 * boo: a MIOpen program that mixes convolutions with other layers.
 *
 *   mixed_app [--out FILE] [--seed N]
 *
 * Part 1 runs the non-convolution entry points on random inputs:
 * activations (RELU, LEAKYRELU, TANH, LOGISTIC, PASTHRU with alpha/beta
 * blending), max / average / inclusive-average pooling, batch-norm
 * inference, OpTensor (add with a broadcast, mul, max, min with beta = 1),
 * fp16 variants, and a fusion plan conv + bias + RELU.
 *
 * Part 2 is a small network: conv (Find path) -> batch norm -> RELU -> max
 * pooling -> 1x1 conv (immediate path) -> OpTensor bias add -> average
 * pooling.
 *
 * Under the boo shim the convolutions go to boo and everything else to the
 * native library, so part 1 (and the fusion plan, which the shim does not
 * export) must come out bit-identical with and without the shim, and part 2
 * within the convolution tolerance.
 *
 * --out writes one line per tensor:
 *   NAME KIND ND LEN... VALUE...
 * KIND is "input" (random data), "exact" (a part-1 result) or "conv" (a
 * part-2 result, downstream of a boo convolution); values are in logical
 * N, C, H, W order as C99 hex floats (%a).  Prints "mixed_app: ok" and exits
 * 0 when every MIOpen call succeeded; 1 otherwise, 2 on a bad command line.
 */
#include "test_util.h"

#include <stdbool.h>

static miopenHandle_t g_h;
static FILE* g_out;
static int g_fail;

#define CK(call)                                                                                  \
    do                                                                                            \
    {                                                                                             \
        miopenStatus_t st_ = (call);                                                              \
        if(st_ != miopenStatusSuccess)                                                            \
        {                                                                                         \
            fprintf(stderr, "mixed_app: line %d: %s failed: %s\n", __LINE__, #call,             \
                    miopenGetErrorString(st_));                                                   \
            g_fail = 1;                                                                           \
        }                                                                                         \
    } while(0)

typedef struct
{
    tu_tensor t;
    miopenTensorDescriptor_t d;
} ten;

static ten mk(miopenDataType_t dt, int n, int c, int h, int w)
{
    ten r;
    int lens[4] = {n, c, h, w};
    memset(&r, 0, sizeof(r));
    if(!tu_alloc(&r.t, dt, 4, lens, 0))
    {
        fprintf(stderr, "mixed_app: out of memory\n");
        exit(1);
    }
    CK(miopenCreateTensorDescriptor(&r.d));
    CK(miopenSetTensorDescriptor(r.d, dt, 4, r.t.lens, r.t.strides));
    return r;
}

static void drop(ten* r)
{
    CK(miopenDestroyTensorDescriptor(r->d));
    tu_free(&r->t);
}

static ten rnd(miopenDataType_t dt, int n, int c, int h, int w, double scale)
{
    ten r = mk(dt, n, c, h, w);
    tu_fill(&r.t, scale);
    return r;
}

static void dump(const char* name, const char* kind, const ten* r)
{
    if(g_out == NULL)
        return;
    fprintf(g_out, "%s %s %d", name, kind, r->t.nd);
    for(int i = 0; i < r->t.nd; ++i)
        fprintf(g_out, " %d", r->t.lens[i]);
    for(int64_t i = 0; i < r->t.numel; ++i)
        fprintf(g_out, " %a", tu_get(r->t.dtype, r->t.data, tu_offset(&r->t, i)));
    fprintf(g_out, "\n");
}

static void activ(const char* name, miopenActivationMode_t mode, double a, double b, double g, const ten* x,
                  ten* y, float alpha, float beta)
{
    miopenActivationDescriptor_t ad;
    CK(miopenCreateActivationDescriptor(&ad));
    CK(miopenSetActivationDescriptor(ad, mode, a, b, g));
    CK(miopenActivationForward(g_h, ad, &alpha, x->d, x->t.data, &beta, y->d, y->t.data));
    CK(miopenDestroyActivationDescriptor(ad));
    if(name != NULL)
        dump(name, "exact", y);
}

static ten pool(const char* name, const char* kind, miopenPoolingMode_t mode, int k, int p, int s, const ten* x)
{
    miopenPoolingDescriptor_t pd;
    int n = 0, c = 0, h = 0, w = 0;
    size_t wsz = 0;
    const float one = 1.0f, zero = 0.0f;
    CK(miopenCreatePoolingDescriptor(&pd));
    CK(miopenSet2dPoolingDescriptor(pd, mode, k, k, p, p, s, s));
    CK(miopenGetPoolingForwardOutputDim(pd, x->d, &n, &c, &h, &w));
    ten y = mk(x->t.dtype, n, c, h, w);
    CK(miopenPoolingGetWorkSpaceSize(y.d, &wsz));
    void* ws = malloc(wsz > 0 ? wsz : 1);
    CK(miopenPoolingForward(g_h, pd, &one, x->d, x->t.data, &zero, y.d, y.t.data, mode == miopenPoolingMax, ws,
                            wsz));
    free(ws);
    CK(miopenDestroyPoolingDescriptor(pd));
    dump(name, kind, &y);
    return y;
}

static ten batchnorm(const char* name, const char* kind, const ten* x, const char* prefix)
{
    miopenTensorDescriptor_t bd;
    const float one = 1.0f, zero = 0.0f;
    char nm[64];
    CK(miopenCreateTensorDescriptor(&bd));
    CK(miopenDeriveBNTensorDescriptor(bd, x->d, miopenBNSpatial));
    const int C = x->t.lens[1];
    ten scale = rnd(miopenFloat, 1, C, 1, 1, 1.0), bias = rnd(miopenFloat, 1, C, 1, 1, 1.0);
    ten mean = rnd(miopenFloat, 1, C, 1, 1, 0.5), var = rnd(miopenFloat, 1, C, 1, 1, 0.5);
    for(int c = 0; c < C; ++c) /* variances in [0.5, 1.5) */
        ((float*)var.t.data)[c] += 1.0f;
    ten y = mk(x->t.dtype, x->t.lens[0], C, x->t.lens[2], x->t.lens[3]);
    CK(miopenBatchNormalizationForwardInference(g_h, miopenBNSpatial, (void*)&one, (void*)&zero, x->d,
                                                x->t.data, y.d, y.t.data, bd, scale.t.data, bias.t.data,
                                                mean.t.data, var.t.data, 1e-5));
    snprintf(nm, sizeof(nm), "%s_scale", prefix);
    dump(nm, "input", &scale);
    snprintf(nm, sizeof(nm), "%s_bias", prefix);
    dump(nm, "input", &bias);
    snprintf(nm, sizeof(nm), "%s_mean", prefix);
    dump(nm, "input", &mean);
    snprintf(nm, sizeof(nm), "%s_var", prefix);
    dump(nm, "input", &var);
    dump(name, kind, &y);
    drop(&scale);
    drop(&bias);
    drop(&mean);
    drop(&var);
    CK(miopenDestroyTensorDescriptor(bd));
    return y;
}

static void optensor(const char* name, miopenTensorOp_t op, float a1, const ten* A, float a2, const ten* B,
                     float beta, ten* C)
{
    CK(miopenOpTensor(g_h, op, &a1, A->d, A->t.data, &a2, B->d, B->t.data, &beta, C->d, C->t.data));
    if(name != NULL)
        dump(name, "exact", C);
}

static ten conv(const ten* x, const ten* w, int pad, int immediate)
{
    miopenConvolutionDescriptor_t cd;
    int n = 0, c = 0, h = 0, wd = 0;
    CK(miopenCreateConvolutionDescriptor(&cd));
    CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, pad, pad, 1, 1, 1, 1));
    CK(miopenGetConvolutionForwardOutputDim(cd, x->d, w->d, &n, &c, &h, &wd));
    ten y = mk(x->t.dtype, n, c, h, wd);
    if(immediate)
    {
        size_t cnt = 0, got = 0;
        miopenConvSolution_t sol;
        CK(miopenConvolutionForwardGetSolutionCount(g_h, w->d, x->d, cd, y.d, &cnt));
        CK(miopenConvolutionForwardGetSolution(g_h, w->d, x->d, cd, y.d, 1, &got, &sol));
        CK(miopenConvolutionForwardCompileSolution(g_h, w->d, x->d, cd, y.d, sol.solution_id));
        CK(miopenConvolutionForwardImmediate(g_h, w->d, w->t.data, x->d, x->t.data, cd, y.d, y.t.data, NULL, 0,
                                             sol.solution_id));
    }
    else
    {
        int ret = 0;
        miopenConvAlgoPerf_t perf;
        const float one = 1.0f, zero = 0.0f;
        memset(&perf, 0, sizeof(perf));
        CK(miopenFindConvolutionForwardAlgorithm(g_h, x->d, x->t.data, w->d, w->t.data, cd, y.d, y.t.data, 1,
                                                 &ret, &perf, NULL, 0, false));
        CK(miopenConvolutionForward(g_h, &one, x->d, x->t.data, w->d, w->t.data, cd, perf.fwd_algo, &zero, y.d,
                                    y.t.data, NULL, 0));
    }
    CK(miopenDestroyConvolutionDescriptor(cd));
    return y;
}

/* conv (pad 1) + bias + RELU as one fusion plan, on the native library */
static void fusion(const ten* x, const ten* w, const ten* b, ten* y)
{
    miopenFusionPlanDescriptor_t plan;
    miopenFusionOpDescriptor_t cop, bop, aop;
    miopenConvolutionDescriptor_t cd;
    miopenOperatorArgs_t args;
    const float one = 1.0f, zero = 0.0f;
    CK(miopenCreateConvolutionDescriptor(&cd));
    CK(miopenInitConvolutionDescriptor(cd, miopenConvolution, 1, 1, 1, 1, 1, 1));
    CK(miopenCreateFusionPlan(&plan, miopenVerticalFusion, x->d));
    CK(miopenCreateOpConvForward(plan, &cop, cd, w->d));
    CK(miopenCreateOpBiasForward(plan, &bop, b->d));
    CK(miopenCreateOpActivationForward(plan, &aop, miopenActivationRELU));
    CK(miopenCompileFusionPlan(g_h, plan));
    CK(miopenCreateOperatorArgs(&args));
    CK(miopenSetOpArgsConvForward(args, cop, &one, &zero, w->t.data));
    CK(miopenSetOpArgsBiasForward(args, bop, &one, &zero, b->t.data));
    CK(miopenSetOpArgsActivForward(args, aop, &one, &zero, 0.0, 0.0, 0.0));
    CK(miopenExecuteFusionPlan(g_h, plan, x->d, x->t.data, y->d, y->t.data, args));
    CK(miopenDestroyOperatorArgs(args));
    CK(miopenDestroyFusionPlan(plan));
    CK(miopenDestroyConvolutionDescriptor(cd));
    dump("fusion_conv_bias_relu", "exact", y);
}

int main(int argc, char** argv)
{
    const char* out = NULL;
    unsigned seed   = 7;
    for(int i = 1; i < argc; ++i)
    {
        if(strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if(strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (unsigned)atoi(argv[++i]);
        else
        {
            fprintf(stderr, "usage: %s [--out FILE] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    if(out != NULL && (g_out = fopen(out, "w")) == NULL)
    {
        perror(out);
        return 2;
    }
    tu_seed(seed);
    if(miopenCreate(&g_h) != miopenStatusSuccess)
    {
        fprintf(stderr, "mixed_app: miopenCreate failed\n");
        return 1;
    }

    /* ---- part 1: non-convolution layers on random inputs ------------- */
    ten a = rnd(miopenFloat, 2, 4, 5, 5, 2.0);
    dump("a", "input", &a);
    ten y = mk(miopenFloat, 2, 4, 5, 5);
    activ("relu", miopenActivationRELU, 0, 0, 0, &a, &y, 1.0f, 0.0f);
    activ("leakyrelu", miopenActivationLEAKYRELU, 0.1, 0, 0, &a, &y, 1.0f, 0.0f);
    activ("tanh", miopenActivationTANH, 1.0, 1.0, 0, &a, &y, 1.0f, 0.0f);
    activ("logistic", miopenActivationLOGISTIC, 0, 0, 0, &a, &y, 1.0f, 0.0f);
    ten prev = rnd(miopenFloat, 2, 4, 5, 5, 1.0);
    dump("prev", "input", &prev);
    activ("passthru_blend", miopenActivationPASTHRU, 0, 0, 0, &a, &prev, 0.5f, 2.0f);

    ten mp = pool("maxpool_k2s2", "exact", miopenPoolingMax, 2, 0, 2, &a);
    ten ap = pool("avgpool_k3s2p1", "exact", miopenPoolingAverage, 3, 1, 2, &a);
    ten ip = pool("avgincl_k3s2p1", "exact", miopenPoolingAverageInclusive, 3, 1, 2, &a);
    ten bn = batchnorm("batchnorm", "exact", &a, "bn");

    ten bch = rnd(miopenFloat, 1, 4, 1, 1, 1.0), bfull = rnd(miopenFloat, 2, 4, 5, 5, 1.0);
    ten cprev = rnd(miopenFloat, 2, 4, 5, 5, 1.0);
    dump("bch", "input", &bch);
    dump("bfull", "input", &bfull);
    dump("cprev", "input", &cprev);
    optensor("op_add_bcast", miopenTensorOpAdd, 1.0f, &a, 1.0f, &bch, 0.0f, &y);
    optensor("op_mul", miopenTensorOpMul, 1.0f, &a, 1.0f, &bfull, 0.0f, &y);
    optensor("op_max_scaled", miopenTensorOpMax, 2.0f, &a, 0.5f, &bfull, 0.0f, &y);
    optensor("op_min_beta1", miopenTensorOpMin, 1.0f, &a, 1.0f, &bch, 1.0f, &cprev);

    ten h = rnd(miopenHalf, 2, 4, 5, 5, 2.0), hb = rnd(miopenHalf, 1, 4, 1, 1, 1.0);
    ten hy = mk(miopenHalf, 2, 4, 5, 5);
    dump("h", "input", &h);
    dump("hb", "input", &hb);
    activ("fp16_relu", miopenActivationRELU, 0, 0, 0, &h, &hy, 1.0f, 0.0f);
    optensor("fp16_op_add_bcast", miopenTensorOpAdd, 1.0f, &h, 1.0f, &hb, 0.0f, &hy);

    ten fw = rnd(miopenFloat, 6, 4, 3, 3, 0.5), fb = rnd(miopenFloat, 1, 6, 1, 1, 0.5);
    ten fy = mk(miopenFloat, 2, 6, 5, 5);
    dump("fusion_w", "input", &fw);
    dump("fusion_b", "input", &fb);
    fusion(&a, &fw, &fb, &fy);

    /* ---- part 2: a small network ------------------------------------ */
    ten w1 = rnd(miopenFloat, 6, 4, 3, 3, 0.5);
    dump("w1", "input", &w1);
    ten c1 = conv(&a, &w1, 1, 0);
    dump("net_conv1", "conv", &c1);
    ten n1 = batchnorm("net_bn1", "conv", &c1, "net_bn1");
    activ(NULL, miopenActivationRELU, 0, 0, 0, &n1, &n1, 1.0f, 0.0f);
    dump("net_relu1", "conv", &n1);
    ten p1 = pool("net_maxpool1", "conv", miopenPoolingMax, 2, 0, 1, &n1);
    ten w2 = rnd(miopenFloat, 4, 6, 1, 1, 0.5), b2 = rnd(miopenFloat, 1, 4, 1, 1, 0.5);
    dump("w2", "input", &w2);
    dump("b2", "input", &b2);
    ten c2 = conv(&p1, &w2, 0, 1);
    dump("net_conv2", "conv", &c2);
    optensor(NULL, miopenTensorOpAdd, 1.0f, &c2, 1.0f, &b2, 0.0f, &c2);
    dump("net_bias2", "conv", &c2);
    ten p2 = pool("net_avgpool2", "conv", miopenPoolingAverage, 2, 0, 2, &c2);

    ten* all[] = {&a, &y, &prev, &mp, &ap, &ip, &bn, &bch, &bfull, &cprev, &h, &hb, &hy, &fw, &fb, &fy,
                  &w1, &c1, &n1, &p1, &w2, &b2, &c2, &p2};
    for(size_t i = 0; i < sizeof(all) / sizeof(all[0]); ++i)
        drop(all[i]);
    CK(miopenDestroy(g_h));
    if(g_out != NULL && fclose(g_out) != 0)
    {
        perror(out);
        g_fail = 1;
    }
    if(g_fail)
        return 1;
    printf("mixed_app: ok\n");
    return 0;
}
