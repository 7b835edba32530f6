/*
 * boo: a PyTorch-like MIOpen convolution client.
 *
 * It drives MIOpen the way PyTorch's ROCm backend does (ATen's MIOpen
 * convolution path), so that the shim sees the same call pattern as under a
 * real training loop:
 *   - one handle for the process; tensor and convolution descriptors are
 *     created before and destroyed after every single convolution call;
 *   - tensors are described with miopenSetTensorDescriptor(lens, strides),
 *     channels_last being expressed only through the strides (weights
 *     follow the input's memory format);
 *   - the convolution descriptor: miopenInitConvolutionNdDescriptor, the
 *     group count, the DETERMINISTIC and MATH_TYPE attributes and, in
 *     benchmark mode, miopenSetConvolutionFindMode;
 *   - depthwise convolutions either as miopenConvolution with a group count
 *     or with the legacy miopenDepthwise / miopenGroupConv modes;
 *   - the Find path (GetWorkSpaceSize, Find...Algorithm, then the call with
 *     alpha/beta and the found algorithm) or the immediate path
 *     (GetSolutionCount, GetSolution, GetSolutionWorkspaceSize,
 *     CompileSolution, ...Immediate);
 *   - a transposed convolution's forward is MIOpen's backward data (and its
 *     input gradient MIOpen's forward), with miopenConvolution mode;
 *   - bias added with miopenConvolutionForwardBias or miopenOpTensor (Add,
 *     broadcasting a 1xCx1x1 tensor), its gradient with
 *     miopenConvolutionBackwardBias;
 *   - gradient accumulation with beta = 1.
 *
 * Every case runs twice ("two training iterations", fresh random data each
 * time) and every result is checked against the client's own float64
 * direct-loop convolution with MIOpen's metric rms(diff) / max|ref|
 * (tolerance fp32 1e-5, fp16 5e-3, bf16 2e-2).
 *
 *   torch_like_client [--iters N] [--only SUBSTR]... [--no-attrs] [--list]
 *
 * --only runs the cases whose name contains SUBSTR (repeatable);
 * --no-attrs skips the attribute and find-mode calls (older PyTorch).
 * Prints one line per check and a summary; exits 1 if any check fails or
 * any MIOpen call returns an error, 2 on a bad command line.
 */
#include "test_util.h"

#include <dlfcn.h>

#include <stdbool.h>

enum
{
    MODE_GROUPCOUNT = 0, /* miopenConvolution + miopenSetConvolutionGroupCount */
    MODE_DEPTHWISE  = 1, /* miopenDepthwise + group count */
    MODE_GROUPCONV  = 2  /* miopenGroupConv + group count */
};

enum
{
    BIAS_NONE = 0,
    BIAS_FWDBIAS,  /* miopenConvolutionForwardBias */
    BIAS_OPTENSOR, /* miopenOpTensor Add with a broadcast bias */
    BIAS_OPTENSOR_DB /* OpTensor, plus miopenConvolutionBackwardBias for db */
};

/* One PyTorch convolution layer.  c/k are the layer's input/output channels
 * (for a transposed layer too); in[] is the layer input's spatial size;
 * weights are [k, c/g, ...] (transposed: [c, k/g, ...]) as in PyTorch.
 * ops: 'f' forward, 'b' input gradient, 'w' weight gradient. */
typedef struct
{
    const char* name;
    miopenDataType_t dt;
    int nsp;
    int n, c, k, g;
    int in[3], ker[3], pad[3], str[3], dil[3], opad[3];
    int cl;
    int transposed;
    int mode;
    int immediate;
    const char* ops;
    int beta1;
    int bias;
    int v2;
} conv_case;

#define F32 miopenFloat
#define F16 miopenHalf
#define BF16 miopenBFloat16

/* clang-format off */
static const conv_case CASES[] = {
    /* fp32, NCHW, 2-D */
    {.name = "fwd_basic", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .ops = "f"},
    {.name = "dgrad_basic", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .ops = "b"},
    {.name = "wgrad_basic", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .ops = "w"},
    {.name = "fwd_stride2", .dt = F32, .nsp = 2, .n = 2, .c = 3, .k = 4, .g = 1, .in = {9, 9}, .ker = {3, 3}, .pad = {1, 1}, .str = {2, 2}, .ops = "fb"},
    {.name = "fwd_dil2", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 1, .in = {10, 10}, .ker = {3, 3}, .pad = {2, 2}, .dil = {2, 2}, .ops = "f"},
    /* two layers with the same shapes that differ only in dilation */
    {.name = "dilpair_d1", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {9, 9}, .ker = {3, 3}, .pad = {1, 1}, .str = {3, 3}, .dil = {1, 1}, .ops = "fw"},
    {.name = "dilpair_d2", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {9, 9}, .ker = {3, 3}, .pad = {1, 1}, .str = {3, 3}, .dil = {2, 2}, .ops = "fw"},
    {.name = "fwd_rect_pad0", .dt = F32, .nsp = 2, .n = 1, .c = 3, .k = 5, .g = 1, .in = {7, 9}, .ker = {3, 2}, .str = {1, 2}, .ops = "f"},
    {.name = "groups4", .dt = F32, .nsp = 2, .n = 2, .c = 8, .k = 8, .g = 4, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .ops = "fbw"},
    {.name = "groups4_groupconv_mode", .dt = F32, .nsp = 2, .n = 2, .c = 8, .k = 8, .g = 4, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .mode = MODE_GROUPCONV, .ops = "b"},
    {.name = "depthwise_groupcount", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 8, .g = 4, .in = {7, 7}, .ker = {3, 3}, .pad = {1, 1}, .ops = "f"},
    {.name = "depthwise_mode", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 8, .g = 4, .in = {7, 7}, .ker = {3, 3}, .pad = {1, 1}, .mode = MODE_DEPTHWISE, .ops = "fw"},
    /* fp32, channels_last (given by strides) */
    {.name = "cl_basic", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .ops = "fbw"},
    {.name = "cl_depthwise_mode", .dt = F32, .nsp = 2, .n = 1, .c = 6, .k = 6, .g = 6, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .mode = MODE_DEPTHWISE, .ops = "f"},
    {.name = "cl_stride_dil", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 1, .in = {9, 9}, .ker = {3, 3}, .pad = {2, 2}, .str = {2, 2}, .dil = {2, 2}, .cl = 1, .ops = "f"},
    /* transposed convolutions, run as PyTorch does (forward = backward data) */
    {.name = "tconv_s2_opad", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 6, .g = 1, .in = {5, 5}, .ker = {3, 3}, .pad = {1, 1}, .str = {2, 2}, .opad = {1, 1}, .transposed = 1, .ops = "fbw"},
    {.name = "tconv_groups", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 2, .in = {4, 4}, .ker = {3, 3}, .pad = {0, 0}, .str = {2, 2}, .transposed = 1, .ops = "f"},
    {.name = "tconv_cl", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 3, .g = 1, .in = {5, 5}, .ker = {2, 2}, .str = {2, 2}, .cl = 1, .transposed = 1, .ops = "f"},
    /* immediate mode */
    {.name = "imm_basic", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .immediate = 1, .ops = "fbw"},
    {.name = "imm_cl_groups", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 2, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .immediate = 1, .ops = "f"},
    {.name = "imm_tconv", .dt = F32, .nsp = 2, .n = 1, .c = 4, .k = 6, .g = 1, .in = {5, 5}, .ker = {3, 3}, .pad = {1, 1}, .str = {2, 2}, .opad = {1, 1}, .transposed = 1, .immediate = 1, .ops = "f"},
    /* gradient accumulation, beta = 1 */
    {.name = "acc_wgrad", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .beta1 = 1, .ops = "w"},
    {.name = "acc_dgrad", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .beta1 = 1, .ops = "b"},
    {.name = "acc_cl", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .beta1 = 1, .ops = "fw"},
    /* bias */
    {.name = "bias_fwdbias", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .bias = BIAS_FWDBIAS, .ops = "f"},
    {.name = "bias_optensor_cl", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .bias = BIAS_OPTENSOR, .ops = "f"},
    {.name = "bias_optensor_db", .dt = F32, .nsp = 2, .n = 2, .c = 3, .k = 4, .g = 1, .in = {9, 9}, .ker = {3, 3}, .pad = {1, 1}, .str = {2, 2}, .bias = BIAS_OPTENSOR_DB, .ops = "f"},
    {.name = "v2_descriptors", .dt = F32, .nsp = 2, .n = 2, .c = 4, .k = 6, .g = 1, .in = {8, 8}, .ker = {3, 3}, .pad = {1, 1}, .v2 = 1, .ops = "fb"},
    /* fp16 */
    {.name = "fp16_basic", .dt = F16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .ops = "fbw"},
    {.name = "fp16_cl", .dt = F16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .ops = "f"},
    {.name = "fp16_depthwise_groupcount", .dt = F16, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 4, .in = {7, 7}, .ker = {3, 3}, .pad = {1, 1}, .ops = "f"},
    {.name = "fp16_tconv", .dt = F16, .nsp = 2, .n = 1, .c = 4, .k = 6, .g = 1, .in = {5, 5}, .ker = {3, 3}, .pad = {1, 1}, .str = {2, 2}, .opad = {1, 1}, .transposed = 1, .ops = "f"},
    {.name = "fp16_acc_bias", .dt = F16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .beta1 = 1, .bias = BIAS_FWDBIAS, .ops = "fw"},
    /* bf16 */
    {.name = "bf16_basic", .dt = BF16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .ops = "fbw"},
    {.name = "bf16_cl_groups", .dt = BF16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 2, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .cl = 1, .ops = "f"},
    {.name = "bf16_imm", .dt = BF16, .nsp = 2, .n = 2, .c = 4, .k = 4, .g = 1, .in = {6, 6}, .ker = {3, 3}, .pad = {1, 1}, .immediate = 1, .ops = "f"},
    {.name = "bf16_depthwise_mode", .dt = BF16, .nsp = 2, .n = 1, .c = 4, .k = 4, .g = 4, .in = {7, 7}, .ker = {3, 3}, .pad = {1, 1}, .mode = MODE_DEPTHWISE, .ops = "f"},
    /* 3-D */
    {.name = "c3d_basic", .dt = F32, .nsp = 3, .n = 1, .c = 3, .k = 4, .g = 1, .in = {4, 5, 5}, .ker = {3, 3, 3}, .pad = {1, 1, 1}, .ops = "fbw"},
    {.name = "c3d_cl", .dt = F32, .nsp = 3, .n = 1, .c = 3, .k = 4, .g = 1, .in = {4, 5, 5}, .ker = {3, 3, 3}, .pad = {1, 1, 1}, .cl = 1, .ops = "f"},
    {.name = "c3d_stride_dil", .dt = F32, .nsp = 3, .n = 1, .c = 2, .k = 4, .g = 1, .in = {5, 6, 6}, .ker = {2, 3, 3}, .pad = {0, 2, 1}, .str = {1, 2, 2}, .dil = {2, 2, 1}, .ops = "f"},
    {.name = "c3d_groups_imm", .dt = F32, .nsp = 3, .n = 1, .c = 4, .k = 4, .g = 2, .in = {3, 4, 4}, .ker = {1, 3, 3}, .pad = {0, 1, 1}, .immediate = 1, .ops = "f"},
    {.name = "c3d_fp16", .dt = F16, .nsp = 3, .n = 1, .c = 3, .k = 4, .g = 1, .in = {4, 5, 5}, .ker = {3, 3, 3}, .pad = {1, 1, 1}, .ops = "f"},
    {.name = "c3d_tconv", .dt = F32, .nsp = 3, .n = 1, .c = 3, .k = 2, .g = 1, .in = {3, 3, 3}, .ker = {2, 2, 2}, .str = {2, 2, 2}, .transposed = 1, .ops = "f"},
};
/* clang-format on */
#define N_CASES ((int)(sizeof(CASES) / sizeof(CASES[0])))

/* ---- geometry of the equivalent normal convolution ------------------- */

typedef enum
{
    DIR_FWD = 0, /* y from x, w  */
    DIR_BWD = 1, /* dx from dy, w */
    DIR_WRW = 2  /* dw from dy, x */
} dir_t;

static const char* DIR_NAME[3] = {"miopenConvolutionForward", "miopenConvolutionBackwardData",
                                  "miopenConvolutionBackwardWeights"};

/* x[N][C][in] * w[K][C/G][ker] -> y[N][K][out]; 2-D is D = 1. */
typedef struct
{
    int nsp;
    int N, C, K, G;
    int in[3], out[3], ker[3], pad[3], str[3], dil[3];
} geom_t;

static int one_if_zero(int v) { return v == 0 ? 1 : v; }

static void case_geom(const conv_case* cs, geom_t* g)
{
    memset(g, 0, sizeof(*g));
    g->nsp = cs->nsp;
    g->N   = cs->n;
    g->G   = cs->g;
    for(int i = 0; i < 3; ++i)
    {
        g->in[i] = g->out[i] = g->ker[i] = g->str[i] = g->dil[i] = 1;
        g->pad[i]                                                 = 0;
    }
    const int off = 3 - cs->nsp;
    for(int i = 0; i < cs->nsp; ++i)
    {
        const int s = one_if_zero(cs->str[i]), d = one_if_zero(cs->dil[i]);
        g->ker[off + i] = cs->ker[i];
        g->pad[off + i] = cs->pad[i];
        g->str[off + i] = s;
        g->dil[off + i] = d;
        if(!cs->transposed)
        {
            g->in[off + i]  = cs->in[i];
            g->out[off + i] = (cs->in[i] + 2 * cs->pad[i] - d * (cs->ker[i] - 1) - 1) / s + 1;
        }
        else
        {
            g->out[off + i] = cs->in[i];
            g->in[off + i]  = (cs->in[i] - 1) * s - 2 * cs->pad[i] + d * (cs->ker[i] - 1) + cs->opad[i] + 1;
        }
    }
    g->C = cs->transposed ? cs->k : cs->c;
    g->K = cs->transposed ? cs->c : cs->k;
}

static int geom_lens(const geom_t* g, int which /* 0 x, 1 w, 2 y */, int* lens)
{
    const int* sp = which == 0 ? g->in : which == 1 ? g->ker : g->out;
    lens[0]       = which == 1 ? g->K : g->N;
    lens[1]       = which == 0 ? g->C : which == 1 ? g->C / g->G : g->K;
    for(int i = 0; i < g->nsp; ++i)
        lens[2 + i] = sp[3 - g->nsp + i];
    return g->nsp + 2;
}

/* Float64 direct convolution on logical-order arrays.  dir picks what is
 * computed (into the zeroed output array): y, x (as dx) or w (as dw). */
static void ref_conv(const geom_t* g, dir_t dir, double* x, double* w, double* y)
{
    const int Cg = g->C / g->G, Kg = g->K / g->G;
    const int64_t isz = (int64_t)g->in[0] * g->in[1] * g->in[2];
    const int64_t osz = (int64_t)g->out[0] * g->out[1] * g->out[2];
    const int64_t ksz = (int64_t)g->ker[0] * g->ker[1] * g->ker[2];
    double* dst       = dir == DIR_FWD ? y : dir == DIR_BWD ? x : w;
    const int64_t dn  = dir == DIR_FWD ? g->N * g->K * osz : dir == DIR_BWD ? g->N * g->C * isz : g->K * Cg * ksz;
    memset(dst, 0, (size_t)dn * sizeof(double));
    for(int n = 0; n < g->N; ++n)
        for(int k = 0; k < g->K; ++k)
            for(int c = 0; c < Cg; ++c)
            {
                const int ci = (k / Kg) * Cg + c;
                for(int od = 0; od < g->out[0]; ++od)
                    for(int oh = 0; oh < g->out[1]; ++oh)
                        for(int ow = 0; ow < g->out[2]; ++ow)
                        {
                            const int64_t yi = ((int64_t)(n * g->K + k) * g->out[0] + od) * g->out[1] * g->out[2] +
                                               (int64_t)oh * g->out[2] + ow;
                            for(int kd = 0; kd < g->ker[0]; ++kd)
                                for(int kh = 0; kh < g->ker[1]; ++kh)
                                    for(int kw = 0; kw < g->ker[2]; ++kw)
                                    {
                                        const int id = od * g->str[0] - g->pad[0] + kd * g->dil[0];
                                        const int ih = oh * g->str[1] - g->pad[1] + kh * g->dil[1];
                                        const int iw = ow * g->str[2] - g->pad[2] + kw * g->dil[2];
                                        if(id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1] || iw < 0 ||
                                           iw >= g->in[2])
                                            continue;
                                        const int64_t xi = (int64_t)(n * g->C + ci) * isz +
                                                           ((int64_t)id * g->in[1] + ih) * g->in[2] + iw;
                                        const int64_t wi =
                                            (int64_t)(k * Cg + c) * ksz + ((int64_t)kd * g->ker[1] + kh) * g->ker[2] + kw;
                                        if(dir == DIR_FWD)
                                            y[yi] += x[xi] * w[wi];
                                        else if(dir == DIR_BWD)
                                            x[xi] += y[yi] * w[wi];
                                        else
                                            w[wi] += y[yi] * x[xi];
                                    }
                        }
            }
}

/* ---- MIOpen calls ---------------------------------------------------- */

static miopenHandle_t g_handle;
static int g_attrs = 1;
static int g_failed_calls;

#define CK(call)                                                                                   \
    do                                                                                             \
    {                                                                                              \
        miopenStatus_t st_ = (call);                                                               \
        if(st_ != miopenStatusSuccess)                                                             \
        {                                                                                          \
            fprintf(stderr, "torch_like_client: %s: %s failed: %s\n", cs->name, #call,            \
                    miopenGetErrorString(st_));                                                    \
            ++g_failed_calls;                                                                      \
            ok = 0;                                                                                \
            goto done;                                                                             \
        }                                                                                          \
    } while(0)

/* Tensor descriptor as PyTorch's TensorDescriptor::set does it: lengths and
 * the tensor's strides (V2: the size_t variant). */
static miopenStatus_t set_tdesc(miopenTensorDescriptor_t d, const tu_tensor* t, int v2)
{
    if(!v2)
        return miopenSetTensorDescriptor(d, t->dtype, t->nd, t->lens, t->strides);
    size_t lens[TU_MAX_DIMS], strides[TU_MAX_DIMS];
    for(int i = 0; i < t->nd; ++i)
    {
        lens[i]    = (size_t)t->lens[i];
        strides[i] = (size_t)t->strides[i];
    }
    return miopenSetTensorDescriptorV2(d, t->dtype, t->nd, lens, strides);
}

/* Convolution descriptor as PyTorch's ConvolutionDescriptor::set does it. */
static int set_cdesc(const conv_case* cs, miopenConvolutionDescriptor_t cd)
{
    int ok = 1;
    int pad[3], str[3], dil[3];
    for(int i = 0; i < cs->nsp; ++i)
    {
        pad[i] = cs->pad[i];
        str[i] = one_if_zero(cs->str[i]);
        dil[i] = one_if_zero(cs->dil[i]);
    }
    const miopenConvolutionMode_t mode = cs->mode == MODE_DEPTHWISE  ? miopenDepthwise
                                         : cs->mode == MODE_GROUPCONV ? miopenGroupConv
                                                                      : miopenConvolution;
    CK(miopenInitConvolutionNdDescriptor(cd, cs->nsp, pad, str, dil, mode));
    CK(miopenSetConvolutionGroupCount(cd, cs->g));
    if(g_attrs)
    {
        /* deterministic for the Find cases, TF32 not allowed for fp32 */
        const int det  = cs->immediate ? 0 : 1;
        const int math = cs->dt == miopenFloat ? miopenMathPedantic : miopenMathDefault;
        int back       = -1;
        CK(miopenSetConvolutionAttribute(cd, MIOPEN_CONVOLUTION_ATTRIB_DETERMINISTIC, det));
        CK(miopenSetConvolutionAttribute(cd, MIOPEN_CONVOLUTION_ATTRIB_MATH_TYPE, math));
        CK(miopenGetConvolutionAttribute(cd, MIOPEN_CONVOLUTION_ATTRIB_DETERMINISTIC, &back));
        if(back != det)
        {
            fprintf(stderr, "torch_like_client: %s: DETERMINISTIC reads back %d, set %d\n", cs->name, back, det);
            ++g_failed_calls;
            return 0;
        }
        if(!cs->immediate) /* benchmark = true */
        {
            miopenConvolutionFindMode_t fm = miopenConvolutionFindModeDefault;
            CK(miopenSetConvolutionFindMode(cd, miopenConvolutionFindModeNormal));
            CK(miopenGetConvolutionFindMode(cd, &fm));
            if(fm != miopenConvolutionFindModeNormal)
            {
                fprintf(stderr, "torch_like_client: %s: find mode reads back %d\n", cs->name, (int)fm);
                ++g_failed_calls;
                return 0;
            }
        }
    }
done:
    return ok;
}

/* One MIOpen convolution call with fresh descriptors.  X, W, Y are the
 * normal convolution's tensors; the one written is Y (fwd), X (bwd) or W
 * (wrw), blended with beta. */
static int conv_call(const conv_case* cs, dir_t dir, tu_tensor* X, tu_tensor* W, tu_tensor* Y, float beta)
{
    int ok = 1;
    miopenTensorDescriptor_t xd = NULL, wd = NULL, yd = NULL;
    miopenConvolutionDescriptor_t cd = NULL;
    void* ws                        = NULL;
    void* scratch                   = NULL;
    tu_tensor* dst                  = dir == DIR_FWD ? Y : dir == DIR_BWD ? X : W;
    const float alpha               = 1.0f;

    CK(miopenCreateTensorDescriptor(&xd));
    CK(miopenCreateTensorDescriptor(&wd));
    CK(miopenCreateTensorDescriptor(&yd));
    CK(miopenCreateConvolutionDescriptor(&cd));
    CK(set_tdesc(xd, X, cs->v2));
    CK(set_tdesc(wd, W, cs->v2));
    CK(set_tdesc(yd, Y, cs->v2));
    if(!set_cdesc(cs, cd))
    {
        ok = 0;
        goto done;
    }

    if(cs->immediate)
    {
        size_t count = 0, got = 0, wsz = 0;
        miopenConvSolution_t sols[8];
        if(dir == DIR_FWD)
        {
            CK(miopenConvolutionForwardGetSolutionCount(g_handle, wd, xd, cd, yd, &count));
            CK(miopenConvolutionForwardGetSolution(g_handle, wd, xd, cd, yd, count < 8 ? count : 8, &got, sols));
        }
        else if(dir == DIR_BWD)
        {
            CK(miopenConvolutionBackwardDataGetSolutionCount(g_handle, yd, wd, cd, xd, &count));
            CK(miopenConvolutionBackwardDataGetSolution(g_handle, yd, wd, cd, xd, count < 8 ? count : 8, &got, sols));
        }
        else
        {
            CK(miopenConvolutionBackwardWeightsGetSolutionCount(g_handle, yd, xd, cd, wd, &count));
            CK(miopenConvolutionBackwardWeightsGetSolution(g_handle, yd, xd, cd, wd, count < 8 ? count : 8, &got,
                                                           sols));
        }
        if(got < 1)
        {
            fprintf(stderr, "torch_like_client: %s: no solution\n", cs->name);
            ++g_failed_calls;
            ok = 0;
            goto done;
        }
        const uint64_t id = sols[0].solution_id;
        if(dir == DIR_FWD)
        {
            CK(miopenConvolutionForwardGetSolutionWorkspaceSize(g_handle, wd, xd, cd, yd, id, &wsz));
            CK(miopenConvolutionForwardCompileSolution(g_handle, wd, xd, cd, yd, id));
        }
        else if(dir == DIR_BWD)
        {
            CK(miopenConvolutionBackwardDataGetSolutionWorkspaceSize(g_handle, yd, wd, cd, xd, id, &wsz));
            CK(miopenConvolutionBackwardDataCompileSolution(g_handle, yd, wd, cd, xd, id));
        }
        else
        {
            CK(miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(g_handle, yd, xd, cd, wd, id, &wsz));
            CK(miopenConvolutionBackwardWeightsCompileSolution(g_handle, yd, xd, cd, wd, id));
        }
        if(wsz > 0 && (ws = malloc(wsz)) == NULL)
            wsz = 0;
        if(dir == DIR_FWD)
            CK(miopenConvolutionForwardImmediate(g_handle, wd, W->data, xd, X->data, cd, yd, Y->data, ws, wsz, id));
        else if(dir == DIR_BWD)
            CK(miopenConvolutionBackwardDataImmediate(g_handle, yd, Y->data, wd, W->data, cd, xd, X->data, ws, wsz,
                                                      id));
        else
            CK(miopenConvolutionBackwardWeightsImmediate(g_handle, yd, Y->data, xd, X->data, cd, wd, W->data, ws,
                                                         wsz, id));
    }
    else
    {
        size_t wsz = 0;
        int returned = 0;
        miopenConvAlgoPerf_t perf;
        /* Find writes its output; with beta != 0 the destination holds the
         * values to accumulate into, so Find gets a scratch buffer. */
        void* find_dst = dst->data;
        if(beta != 0.0f)
        {
            scratch = calloc((size_t)dst->numel, tu_dtype_size(dst->dtype));
            if(scratch == NULL)
            {
                ok = 0;
                goto done;
            }
            find_dst = scratch;
        }
        if(dir == DIR_FWD)
        {
            CK(miopenConvolutionForwardGetWorkSpaceSize(g_handle, wd, xd, cd, yd, &wsz));
            if(wsz > 0 && (ws = malloc(wsz)) == NULL)
                wsz = 0;
            CK(miopenFindConvolutionForwardAlgorithm(g_handle, xd, X->data, wd, W->data, cd, yd, find_dst, 1,
                                                     &returned, &perf, ws, wsz, true));
            CK(miopenConvolutionForward(g_handle, &alpha, xd, X->data, wd, W->data, cd, perf.fwd_algo, &beta, yd,
                                        Y->data, ws, wsz));
        }
        else if(dir == DIR_BWD)
        {
            CK(miopenConvolutionBackwardDataGetWorkSpaceSize(g_handle, yd, wd, cd, xd, &wsz));
            if(wsz > 0 && (ws = malloc(wsz)) == NULL)
                wsz = 0;
            CK(miopenFindConvolutionBackwardDataAlgorithm(g_handle, yd, Y->data, wd, W->data, cd, xd, find_dst, 1,
                                                          &returned, &perf, ws, wsz, true));
            CK(miopenConvolutionBackwardData(g_handle, &alpha, yd, Y->data, wd, W->data, cd, perf.bwd_data_algo,
                                             &beta, xd, X->data, ws, wsz));
        }
        else
        {
            CK(miopenConvolutionBackwardWeightsGetWorkSpaceSize(g_handle, yd, xd, cd, wd, &wsz));
            if(wsz > 0 && (ws = malloc(wsz)) == NULL)
                wsz = 0;
            CK(miopenFindConvolutionBackwardWeightsAlgorithm(g_handle, yd, Y->data, xd, X->data, cd, wd, find_dst,
                                                             1, &returned, &perf, ws, wsz, true));
            CK(miopenConvolutionBackwardWeights(g_handle, &alpha, yd, Y->data, xd, X->data, cd,
                                                perf.bwd_weights_algo, &beta, wd, W->data, ws, wsz));
        }
        if(returned < 1)
        {
            fprintf(stderr, "torch_like_client: %s: Find returned no algorithm\n", cs->name);
            ++g_failed_calls;
            ok = 0;
        }
    }
done:
    free(ws);
    free(scratch);
    if(cd != NULL && miopenDestroyConvolutionDescriptor(cd) != miopenStatusSuccess)
        ++g_failed_calls, ok = 0;
    if(yd != NULL && miopenDestroyTensorDescriptor(yd) != miopenStatusSuccess)
        ++g_failed_calls, ok = 0;
    if(wd != NULL && miopenDestroyTensorDescriptor(wd) != miopenStatusSuccess)
        ++g_failed_calls, ok = 0;
    if(xd != NULL && miopenDestroyTensorDescriptor(xd) != miopenStatusSuccess)
        ++g_failed_calls, ok = 0;
    return ok;
}

/* Bias on the forward output `out` (channels = lens[1]); updates ref.
 * With BIAS_OPTENSOR_DB also checks db = sum(dy) for a random dy. */
static int bias_call(const conv_case* cs, tu_tensor* out, double* ref, double* err)
{
    int ok = 1;
    miopenTensorDescriptor_t od = NULL, bd = NULL, dyd = NULL;
    tu_tensor b, db, dy;
    double* bv  = NULL;
    double* dyv = NULL;
    memset(&b, 0, sizeof(b));
    memset(&db, 0, sizeof(db));
    memset(&dy, 0, sizeof(dy));
    int blens[TU_MAX_DIMS];
    for(int i = 0; i < out->nd; ++i)
        blens[i] = i == 1 ? out->lens[1] : 1;
    const float one = 1.0f, zero = 0.0f;
    *err            = 0.0;

    if(!tu_alloc(&b, out->dtype, out->nd, blens, 0))
    {
        ok = 0;
        goto done;
    }
    tu_fill(&b, 1.0);
    bv = tu_to_f64(&b);
    CK(miopenCreateTensorDescriptor(&od));
    CK(miopenCreateTensorDescriptor(&bd));
    CK(set_tdesc(od, out, cs->v2));
    CK(set_tdesc(bd, &b, cs->v2));
    if(cs->bias == BIAS_FWDBIAS)
        CK(miopenConvolutionForwardBias(g_handle, &one, bd, b.data, &zero, od, out->data));
    else
        CK(miopenOpTensor(g_handle, miopenTensorOpAdd, &one, od, out->data, &one, bd, b.data, &zero, od,
                          out->data));
    const int64_t C = out->lens[1], inner = out->numel / ((int64_t)out->lens[0] * C);
    for(int64_t i = 0; i < out->numel; ++i)
        ref[i] += bv[(i / inner) % C];

    if(cs->bias == BIAS_OPTENSOR_DB)
    {
        if(!tu_alloc(&dy, out->dtype, out->nd, out->lens, cs->cl) || !tu_alloc(&db, out->dtype, out->nd, blens, 0))
        {
            ok = 0;
            goto done;
        }
        tu_fill(&dy, 1.0);
        dyv = tu_to_f64(&dy);
        CK(miopenCreateTensorDescriptor(&dyd));
        CK(set_tdesc(dyd, &dy, cs->v2));
        CK(miopenConvolutionBackwardBias(g_handle, &one, dyd, dy.data, &zero, bd, db.data));
        double* dref = (double*)calloc((size_t)C, sizeof(double));
        if(dref == NULL)
        {
            ok = 0;
            goto done;
        }
        for(int64_t i = 0; i < dy.numel; ++i)
            dref[(i / inner) % C] += dyv[i];
        *err = tu_error(&db, dref);
        free(dref);
    }
done:
    if(dyd != NULL)
        miopenDestroyTensorDescriptor(dyd);
    if(bd != NULL)
        miopenDestroyTensorDescriptor(bd);
    if(od != NULL)
        miopenDestroyTensorDescriptor(od);
    free(bv);
    free(dyv);
    tu_free(&b);
    tu_free(&db);
    tu_free(&dy);
    return ok;
}

/* ---- driver ---------------------------------------------------------- */

static int g_checks, g_passed;

static void report(int iter, const conv_case* cs, const char* what, int ok, double err)
{
    const double tol = tu_tolerance(cs->dt);
    const int pass   = ok && err <= tol;
    ++g_checks;
    g_passed += pass;
    printf("iter=%d %-26s %-4s %-40s %s err=%.3g tol=%.0e\n", iter, cs->name, tu_dtype_name(cs->dt), what,
           pass ? "ok" : (ok ? "FAIL" : "ERROR"), ok ? err : INFINITY, tol);
}

/* One PyTorch op ('f', 'b' or 'w') of a case, with its own fresh data. */
static void run_op(int iter, const conv_case* cs, char op)
{
    geom_t g;
    case_geom(cs, &g);
    /* a transposed layer's forward is the normal conv's backward data and
     * its input gradient the normal forward */
    dir_t dir = op == 'w' ? DIR_WRW : op == 'f' ? DIR_FWD : DIR_BWD;
    if(cs->transposed && op != 'w')
        dir = dir == DIR_FWD ? DIR_BWD : DIR_FWD;

    tu_tensor X, W, Y;
    int lx[TU_MAX_DIMS], lw[TU_MAX_DIMS], ly[TU_MAX_DIMS];
    const int nd = geom_lens(&g, 0, lx);
    geom_lens(&g, 1, lw);
    geom_lens(&g, 2, ly);
    int ok = tu_alloc(&X, cs->dt, nd, lx, cs->cl) & tu_alloc(&W, cs->dt, nd, lw, cs->cl) &
             tu_alloc(&Y, cs->dt, nd, ly, cs->cl);
    double *xv = NULL, *wv = NULL, *yv = NULL, *prev = NULL;
    double err = INFINITY, bias_err = 0.0;
    const float beta = cs->beta1 ? 1.0f : 0.0f;
    tu_tensor* dst   = dir == DIR_FWD ? &Y : dir == DIR_BWD ? &X : &W;
    char what[64];
    snprintf(what, sizeof(what), "%c:%s%s", op, DIR_NAME[dir], cs->beta1 ? "(beta=1)" : "");
    if(!ok)
        goto out;
    tu_fill(&X, 1.0);
    tu_fill(&W, 1.0);
    tu_fill(&Y, 1.0); /* the destination's old values matter only for beta = 1 */
    prev = tu_to_f64(dst);
    xv   = tu_to_f64(&X);
    wv   = tu_to_f64(&W);
    yv   = tu_to_f64(&Y);
    if(prev == NULL || xv == NULL || wv == NULL || yv == NULL)
    {
        ok = 0;
        goto out;
    }
    ok = conv_call(cs, dir, &X, &W, &Y, beta);
    if(!ok)
        goto out;
    ref_conv(&g, dir, xv, wv, yv);
    double* ref = dir == DIR_FWD ? yv : dir == DIR_BWD ? xv : wv;
    if(cs->beta1)
        for(int64_t i = 0; i < dst->numel; ++i)
            ref[i] += prev[i];
    /* bias on the layer's forward output */
    if(op == 'f' && cs->bias != BIAS_NONE)
    {
        ok = bias_call(cs, dst, ref, &bias_err);
        if(!ok)
            goto out;
    }
    err = tu_error(dst, ref);
out:
    report(iter, cs, what, ok, err);
    if(ok && cs->bias == BIAS_OPTENSOR_DB && op == 'f')
        report(iter, cs, "db:miopenConvolutionBackwardBias", 1, bias_err);
    free(prev);
    free(xv);
    free(wv);
    free(yv);
    tu_free(&X);
    tu_free(&W);
    tu_free(&Y);
}

static int selected(const conv_case* cs, char** only, int n_only)
{
    if(n_only == 0)
        return 1;
    for(int i = 0; i < n_only; ++i)
        if(strstr(cs->name, only[i]) != NULL)
            return 1;
    return 0;
}

int main(int argc, char** argv)
{
    int iters = 2, list = 0, n_only = 0;
    char** only = (char**)calloc((size_t)argc, sizeof(char*));
    if(only == NULL)
        return 2;
    for(int i = 1; i < argc; ++i)
    {
        if(strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if(strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only[n_only++] = argv[++i];
        else if(strcmp(argv[i], "--no-attrs") == 0)
            g_attrs = 0;
        else if(strcmp(argv[i], "--list") == 0)
            list = 1;
        else
        {
            fprintf(stderr, "usage: %s [--iters N] [--only SUBSTR]... [--no-attrs] [--list]\n", argv[0]);
            free(only);
            return 2;
        }
    }
    if(list)
    {
        for(int c = 0; c < N_CASES; ++c)
            printf("%s %s ops=%s\n", CASES[c].name, tu_dtype_name(CASES[c].dt), CASES[c].ops);
        free(only);
        return 0;
    }
    if(miopenCreate(&g_handle) != miopenStatusSuccess)
    {
        fprintf(stderr, "torch_like_client: miopenCreate failed\n");
        free(only);
        return 1;
    }
    int n_cases = 0;
    for(int it = 1; it <= iters; ++it)
    {
        tu_seed((uint64_t)it * 1000003u);
        for(int c = 0; c < N_CASES; ++c)
        {
            if(!selected(&CASES[c], only, n_only))
                continue;
            n_cases += it == 1;
            for(const char* op = CASES[c].ops; *op; ++op)
                run_op(it, &CASES[c], *op);
        }
    }
    if(miopenDestroy(g_handle) != miopenStatusSuccess)
        ++g_failed_calls;
    printf("summary: %d cases, %d iterations, %d checks, %d passed, %d failed, %d failed MIOpen calls\n", n_cases,
           iters, g_checks, g_passed, g_checks - g_passed, g_failed_calls);
    /* under the boo shim: how many calls its C hot path served (native/shim/fast_call.c) */
    unsigned long long (*fast_count)(void) = (unsigned long long (*)(void))dlsym(RTLD_DEFAULT, "boo_fast_count");
    if(fast_count != NULL)
        printf("boo fast path: %llu calls\n", fast_count());
    free(only);
    return (g_checks > 0 && g_passed == g_checks && g_failed_calls == 0) ? 0 : 1;
}
