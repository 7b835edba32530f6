/*
 * boo: example MIOpen application.
 *
 * Uses only the public API of native/include/miopen/miopen.h and links
 * against libMIOpen.so.1, so any library exporting the same symbols (the
 * vendor MIOpen, the boo reference library, or an LD_PRELOAD shim) can
 * serve it.  Tensor memory is allocated with malloc: this is meant for the
 * host-memory reference library and for shims that accept host pointers.
 *
 *   conv_app [--immediate] [--out DIR] [--seed N] [--iters N] \
 *            [MIOpenDriver] conv|convfp16|convbfp16 <MIOpenDriver conv flags>
 *
 * For each requested direction (-F bit mask: 1 fwd, 2 bwd data, 4 bwd
 * weights, 0 = all) it runs Find + Run (or the immediate-mode sequence),
 * prints one line per direction and, with --out, dumps every tensor as raw
 * little-endian data in its dtype and memory layout plus meta.json.
 */
#include "miopen/miopen.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAXD 5

typedef struct
{
    int n, c, h, w, d;
    int k, y, x, z;
    int stride[3], pad[3], dil[3], adj[3]; /* d, h, w order */
    int groups;
    int transposed;
    int spatial;
    int forw;
    int bias;
    char in_layout[8], fil_layout[8], out_layout[8];
    miopenDataType_t dtype;
} config_t;

typedef struct
{
    miopenTensorDescriptor_t desc;
    void* data;
    size_t bytes;
    int nd;
    int lens[MAXD];   /* logical N, C, (D,) H, W */
    char layout[8];   /* memory order, e.g. NHWC */
    const char* name; /* file stem */
} tensor_t;

static const char* g_prog = "conv_app";

static void die(const char* fmt, const char* arg)
{
    fprintf(stderr, "%s: error: ", g_prog);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

#define CHECK(call)                                                                   \
    do                                                                                \
    {                                                                                 \
        miopenStatus_t st_ = (call);                                                  \
        if(st_ != miopenStatusSuccess)                                                \
        {                                                                             \
            fprintf(stderr,                                                           \
                    "%s: error: %s failed: %s (status %d)\n",                         \
                    g_prog,                                                           \
                    #call,                                                            \
                    miopenGetErrorString(st_),                                        \
                    (int)st_);                                                        \
            exit(1);                                                                  \
        }                                                                             \
    } while(0)

/* ------------------------------------------------------------------ */
/* deterministic data                                                  */
/* ------------------------------------------------------------------ */

static uint64_t g_rng = 0;

static uint64_t rng_next(void)
{
    /* splitmix64 */
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) with 24 random bits: exact in float */
static float rng_uniform(void) { return (float)((double)(rng_next() >> 40) / 8388608.0 - 1.0); }

static uint16_t float_to_half(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t e     = (int32_t)((u >> 23) & 0xffu);
    uint32_t m    = u & 0x7fffffu;
    if(e == 0xff)
        return (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0u));
    int32_t he = e - 127 + 15;
    if(he >= 0x1f)
        return (uint16_t)(sign | 0x7c00u);
    if(he <= 0)
    {
        if(he < -10)
            return (uint16_t)sign;
        m |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - he);
        uint32_t q     = m >> shift;
        uint32_t rem   = m & ((1u << shift) - 1u);
        uint32_t half  = 1u << (shift - 1);
        if(rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t q   = ((uint32_t)he << 10) | (m >> 13);
    uint32_t rem = m & 0x1fffu;
    if(rem > 0x1000u || (rem == 0x1000u && (q & 1u)))
        q++; /* may carry into the exponent, which is still correct */
    return (uint16_t)(sign | q);
}

static uint16_t float_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    uint32_t lsb = (u >> 16) & 1u;
    u += 0x7fffu + lsb;
    return (uint16_t)(u >> 16);
}

static size_t dtype_bytes(miopenDataType_t t)
{
    return (t == miopenHalf || t == miopenBFloat16) ? 2 : (t == miopenDouble ? 8 : 4);
}

static const char* dtype_name(miopenDataType_t t)
{
    switch(t)
    {
    case miopenHalf: return "float16";
    case miopenBFloat16: return "bfloat16";
    case miopenDouble: return "float64";
    default: return "float32";
    }
}

static void fill_random(tensor_t* t, miopenDataType_t dt)
{
    size_t n = t->bytes / dtype_bytes(dt);
    for(size_t i = 0; i < n; ++i)
    {
        float v = rng_uniform();
        if(dt == miopenHalf)
            ((uint16_t*)t->data)[i] = float_to_half(v);
        else if(dt == miopenBFloat16)
            ((uint16_t*)t->data)[i] = float_to_bf16(v);
        else if(dt == miopenDouble)
            ((double*)t->data)[i] = v;
        else
            ((float*)t->data)[i] = v;
    }
}

/* ------------------------------------------------------------------ */
/* tensors                                                             */
/* ------------------------------------------------------------------ */

/* Normalise a layout string to the tensor rank: NCHW<->NCDHW, NHWC<->NDHWC. */
static void norm_layout(char* dst, const char* src, int nd)
{
    int cl = (strcmp(src, "NHWC") == 0 || strcmp(src, "NDHWC") == 0);
    int cf = (strcmp(src, "NCHW") == 0 || strcmp(src, "NCDHW") == 0);
    if(!cl && !cf)
        die("unsupported layout '%s' (use NCHW, NHWC, NCDHW or NDHWC)", src);
    if(nd == 4)
        strcpy(dst, cl ? "NHWC" : "NCHW");
    else
        strcpy(dst, cl ? "NDHWC" : "NCDHW");
}

/* Build a descriptor with explicit strides for the given layout. */
static void make_tensor(tensor_t* t, const char* name, int nd, const int* lens, const char* layout, miopenDataType_t dt)
{
    int strides[MAXD];
    t->name = name;
    t->nd   = nd;
    memcpy(t->lens, lens, sizeof(int) * (size_t)nd);
    norm_layout(t->layout, layout, nd);
    int channels_last = (t->layout[1] != 'C');
    if(!channels_last)
    {
        int s = 1;
        for(int i = nd - 1; i >= 0; --i)
        {
            strides[i] = s;
            s *= lens[i];
        }
    }
    else
    {
        int s      = 1;
        strides[1] = s;
        s *= lens[1];
        for(int i = nd - 1; i >= 2; --i)
        {
            strides[i] = s;
            s *= lens[i];
        }
        strides[0] = s;
    }
    CHECK(miopenCreateTensorDescriptor(&t->desc));
    CHECK(miopenSetTensorDescriptor(t->desc, dt, nd, lens, strides));
    CHECK(miopenGetTensorNumBytes(t->desc, &t->bytes));
    t->data = calloc(1, t->bytes ? t->bytes : 1);
    if(t->data == NULL)
        die("out of memory allocating %s", name);
}

static void free_tensor(tensor_t* t)
{
    if(t->desc)
        miopenDestroyTensorDescriptor(t->desc);
    free(t->data);
    t->desc = NULL;
    t->data = NULL;
}

static void shape_str(char* buf, size_t cap, const tensor_t* t)
{
    size_t off = 0;
    buf[0]     = 0;
    for(int i = 0; i < t->nd; ++i)
        off += (size_t)snprintf(buf + off, cap - off, i ? "x%d" : "%d", t->lens[i]);
}

/* ------------------------------------------------------------------ */
/* output files                                                        */
/* ------------------------------------------------------------------ */

static const char* g_outdir = NULL;
static tensor_t* g_written[16];
static int g_nwritten = 0;

static void write_tensor(tensor_t* t)
{
    if(g_outdir == NULL)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bin", g_outdir, t->name);
    FILE* f = fopen(path, "wb");
    if(f == NULL)
        die("cannot write %s", path);
    if(t->bytes && fwrite(t->data, 1, t->bytes, f) != t->bytes)
        die("short write to %s", path);
    fclose(f);
    for(int i = 0; i < g_nwritten; ++i)
        if(g_written[i] == t)
            return;
    g_written[g_nwritten++] = t;
}

static void write_meta(miopenDataType_t dt)
{
    if(g_outdir == NULL)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/meta.json", g_outdir);
    FILE* f = fopen(path, "w");
    if(f == NULL)
        die("cannot write %s", path);
    fprintf(f, "{\n");
    for(int i = 0; i < g_nwritten; ++i)
    {
        const tensor_t* t = g_written[i];
        /* shape in memory (layout) order */
        const char* canon = (t->nd == 4) ? "NCHW" : "NCDHW";
        fprintf(f, "  \"%s.bin\": {\"shape\": [", t->name);
        for(int j = 0; j < t->nd; ++j)
        {
            int idx = (int)(strchr(canon, t->layout[j]) - canon);
            fprintf(f, j ? ", %d" : "%d", t->lens[idx]);
        }
        fprintf(f, "], \"lens\": [");
        for(int j = 0; j < t->nd; ++j)
            fprintf(f, j ? ", %d" : "%d", t->lens[j]);
        fprintf(f, "], \"layout\": \"%s\", \"dtype\": \"%s\"}%s\n", t->layout, dtype_name(dt),
                i + 1 < g_nwritten ? "," : "");
    }
    fprintf(f, "}\n");
    fclose(f);
}

/* ------------------------------------------------------------------ */
/* command line                                                        */
/* ------------------------------------------------------------------ */

static int parse_int(const char* flag, const char* v)
{
    char* end = NULL;
    errno     = 0;
    long r    = strtol(v, &end, 10);
    if(errno || end == v || *end != 0 || r < -1000000000L || r > 1000000000L)
    {
        fprintf(stderr, "%s: error: bad integer '%s' for %s\n", g_prog, v, flag);
        exit(2);
    }
    return (int)r;
}

static int is(const char* a, const char* s, const char* l) { return strcmp(a, s) == 0 || strcmp(a, l) == 0; }

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [--immediate] [--out DIR] [--seed N] [--iters N] "
            "[MIOpenDriver] conv|convfp16|convbfp16 [MIOpenDriver conv flags]\n",
            g_prog);
    exit(2);
}

static void parse_driver(config_t* cfg, int argc, char** argv, int i)
{
    for(; i < argc; ++i)
    {
        const char* a = argv[i];
        if(a[0] != '-' || a[1] == 0)
            die("unexpected argument '%s'", a);
        if(i + 1 >= argc)
            die("flag '%s' needs a value", a);
        const char* v = argv[++i];
        if(is(a, "-n", "--batchsize"))
            cfg->n = parse_int(a, v);
        else if(is(a, "-c", "--in_channels"))
            cfg->c = parse_int(a, v);
        else if(is(a, "-H", "--in_h"))
            cfg->h = parse_int(a, v);
        else if(is(a, "-W", "--in_w"))
            cfg->w = parse_int(a, v);
        else if(is(a, "-!", "--in_d"))
            cfg->d = parse_int(a, v);
        else if(is(a, "-k", "--out_channels"))
            cfg->k = parse_int(a, v);
        else if(is(a, "-y", "--fil_h"))
            cfg->y = parse_int(a, v);
        else if(is(a, "-x", "--fil_w"))
            cfg->x = parse_int(a, v);
        else if(is(a, "-@", "--fil_d"))
            cfg->z = parse_int(a, v);
        else if(is(a, "-u", "--conv_stride_h"))
            cfg->stride[1] = parse_int(a, v);
        else if(is(a, "-v", "--conv_stride_w"))
            cfg->stride[2] = parse_int(a, v);
        else if(is(a, "-#", "--conv_stride_d"))
            cfg->stride[0] = parse_int(a, v);
        else if(is(a, "-p", "--pad_h"))
            cfg->pad[1] = parse_int(a, v);
        else if(is(a, "-q", "--pad_w"))
            cfg->pad[2] = parse_int(a, v);
        else if(is(a, "-$", "--pad_d"))
            cfg->pad[0] = parse_int(a, v);
        else if(is(a, "-l", "--dilation_h"))
            cfg->dil[1] = parse_int(a, v);
        else if(is(a, "-j", "--dilation_w"))
            cfg->dil[2] = parse_int(a, v);
        else if(is(a, "-^", "--dilation_d"))
            cfg->dil[0] = parse_int(a, v);
        else if(is(a, "-g", "--group_count"))
            cfg->groups = parse_int(a, v);
        else if(is(a, "-m", "--mode"))
        {
            if(strcmp(v, "conv") == 0)
                cfg->transposed = 0;
            else if(strcmp(v, "trans") == 0)
                cfg->transposed = 1;
            else
                die("unsupported mode '%s' (use conv or trans)", v);
        }
        else if(is(a, "-_", "--spatial_dim"))
            cfg->spatial = parse_int(a, v);
        else if(is(a, "-F", "--forw"))
            cfg->forw = parse_int(a, v);
        else if(is(a, "-b", "--bias"))
            cfg->bias = parse_int(a, v);
        else if(is(a, "-I", "--in_layout"))
            snprintf(cfg->in_layout, sizeof(cfg->in_layout), "%s", v);
        else if(is(a, "-f", "--fil_layout"))
            snprintf(cfg->fil_layout, sizeof(cfg->fil_layout), "%s", v);
        else if(is(a, "-O", "--out_layout"))
            snprintf(cfg->out_layout, sizeof(cfg->out_layout), "%s", v);
        else if(is(a, "-Y", "--trans_output_pad_h"))
            cfg->adj[1] = parse_int(a, v);
        else if(is(a, "-X", "--trans_output_pad_w"))
            cfg->adj[2] = parse_int(a, v);
        else if(is(a, "-%", "--trans_output_pad_d"))
            cfg->adj[0] = parse_int(a, v);
        /* every other MIOpenDriver flag (-t, -i, -V, -w, -s, --pad_mode, ...)
         * takes a value and is ignored */
    }
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char** argv)
{
    int immediate = 0;
    int iters     = 1;
    uint64_t seed = 0;
    int i         = 1;

    for(; i < argc; ++i)
    {
        if(strcmp(argv[i], "--immediate") == 0)
            immediate = 1;
        else if(strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            g_outdir = argv[++i];
        else if(strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (uint64_t)parse_int("--seed", argv[++i]);
        else if(strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = parse_int("--iters", argv[++i]);
        else if(strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            usage();
        else
            break;
    }
    if(i < argc)
    {
        const char* base = strrchr(argv[i], '/');
        base             = base ? base + 1 : argv[i];
        if(strcmp(base, "MIOpenDriver") == 0)
            ++i;
    }
    if(i >= argc)
        usage();
    if(iters < 1)
        die("--iters must be >= 1%s", "");
    if(g_outdir != NULL && mkdir(g_outdir, 0777) != 0 && errno != EEXIST)
        die("cannot create output directory %s", g_outdir);

    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    const char* cmd = argv[i++];
    if(strcmp(cmd, "conv") == 0)
        cfg.dtype = miopenFloat;
    else if(strcmp(cmd, "convfp16") == 0)
        cfg.dtype = miopenHalf;
    else if(strcmp(cmd, "convbfp16") == 0)
        cfg.dtype = miopenBFloat16;
    else
        die("unsupported command '%s' (use conv, convfp16 or convbfp16)", cmd);

    /* MIOpenDriver defaults */
    cfg.n = 100;
    cfg.c = 3;
    cfg.h = 32;
    cfg.w = 32;
    cfg.d = 32;
    cfg.k = 32;
    cfg.y = 3;
    cfg.x = 3;
    cfg.z = 3;
    for(int j = 0; j < 3; ++j)
    {
        cfg.stride[j] = 1;
        cfg.pad[j]    = 0;
        cfg.dil[j]    = 1;
        cfg.adj[j]    = 0;
    }
    cfg.groups  = 1;
    cfg.spatial = 2;
    cfg.forw    = 0;
    strcpy(cfg.in_layout, "NCHW");
    strcpy(cfg.fil_layout, "NCHW");
    strcpy(cfg.out_layout, "NCHW");
    parse_driver(&cfg, argc, argv, i);

    if(cfg.spatial != 2 && cfg.spatial != 3)
        die("unsupported spatial_dim %s (use 2 or 3)", cfg.spatial == 1 ? "1" : ">3 or <1");
    if(cfg.forw < 0 || cfg.forw > 7)
        die("bad -F value %s (bit mask 1 fwd, 2 bwd, 4 wrw, 0 all)", "");
    if(cfg.forw == 0)
        cfg.forw = 7;
    if(cfg.groups < 1)
        die("group count must be >= 1%s", "");

    g_rng = seed * 0x2545F4914F6CDD1Dull + 1;

    const int sd = cfg.spatial;
    const int nd = sd + 2;
    int xl[MAXD], wl[MAXD], bl[MAXD];
    /* spatial arrays for the descriptor in (d,) h, w order */
    int pad[3], str[3], dil[3], adj[3];
    const int off = 3 - sd;
    for(int j = 0; j < sd; ++j)
    {
        pad[j] = cfg.pad[off + j];
        str[j] = cfg.stride[off + j];
        dil[j] = cfg.dil[off + j];
        adj[j] = cfg.adj[off + j];
    }
    xl[0] = cfg.n;
    xl[1] = cfg.c;
    if(cfg.transposed)
    {
        /* transposed conv weights: [in_c, out_c / groups, ...] */
        wl[0] = cfg.c;
        wl[1] = cfg.k / cfg.groups;
    }
    else
    {
        wl[0] = cfg.k;
        wl[1] = cfg.c / cfg.groups;
    }
    if(sd == 3)
    {
        xl[2] = cfg.d;
        xl[3] = cfg.h;
        xl[4] = cfg.w;
        wl[2] = cfg.z;
        wl[3] = cfg.y;
        wl[4] = cfg.x;
    }
    else
    {
        xl[2] = cfg.h;
        xl[3] = cfg.w;
        wl[2] = cfg.y;
        wl[3] = cfg.x;
    }

    miopenConvolutionDescriptor_t conv;
    CHECK(miopenCreateConvolutionDescriptor(&conv));
    CHECK(miopenInitConvolutionNdDescriptor(
        conv, sd, pad, str, dil, cfg.transposed ? miopenTranspose : miopenConvolution));
    CHECK(miopenSetConvolutionGroupCount(conv, cfg.groups));
    if(cfg.transposed)
        CHECK(miopenSetTransposeConvNdOutputPadding(conv, sd, adj));

    tensor_t x = {0}, w = {0}, y = {0}, dx = {0}, dw = {0}, dy = {0}, b = {0}, db = {0};
    make_tensor(&x, "x", nd, xl, cfg.in_layout, cfg.dtype);
    make_tensor(&w, "w", nd, wl, cfg.fil_layout, cfg.dtype);

    int yl[MAXD];
    int ynd = 0;
    CHECK(miopenGetConvolutionNdForwardOutputDim(conv, x.desc, w.desc, &ynd, yl));
    if(ynd != nd)
        die("unexpected output rank from miopenGetConvolutionNdForwardOutputDim%s", "");

    make_tensor(&y, "y", nd, yl, cfg.out_layout, cfg.dtype);
    make_tensor(&dy, "dy", nd, yl, cfg.out_layout, cfg.dtype);
    make_tensor(&dx, "dx", nd, xl, cfg.in_layout, cfg.dtype);
    make_tensor(&dw, "dw", nd, wl, cfg.fil_layout, cfg.dtype);
    for(int j = 0; j < nd; ++j)
        bl[j] = (j == 1) ? yl[1] : 1;
    if(cfg.bias)
    {
        make_tensor(&b, "b", nd, bl, "NCHW", cfg.dtype);
        make_tensor(&db, "db", nd, bl, "NCHW", cfg.dtype);
    }

    fill_random(&x, cfg.dtype);
    fill_random(&w, cfg.dtype);
    fill_random(&dy, cfg.dtype);
    if(cfg.bias)
        fill_random(&b, cfg.dtype);
    write_tensor(&x);
    write_tensor(&w);
    write_tensor(&dy);
    if(cfg.bias)
        write_tensor(&b);

    miopenHandle_t handle;
    CHECK(miopenCreate(&handle));
    CHECK(miopenEnableProfiling(handle, true));

    const float alpha = 1.0f, beta = 0.0f;
    const char* names[3] = {"fwd", "bwd", "wrw"};
    int status           = 0;

    for(int dir = 0; dir < 3; ++dir)
    {
        if(!(cfg.forw & (1 << dir)))
            continue;
        tensor_t* outt = dir == 0 ? &y : dir == 1 ? &dx : &dw;
        size_t ws_size = 0;
        void* ws       = NULL;
        double total   = 0.0;
        float t        = 0.0f;

        if(immediate)
        {
            size_t count = 0, got = 0;
            miopenConvSolution_t sol;
            if(dir == 0)
                CHECK(miopenConvolutionForwardGetSolutionCount(handle, w.desc, x.desc, conv, y.desc, &count));
            else if(dir == 1)
                CHECK(miopenConvolutionBackwardDataGetSolutionCount(handle, dy.desc, w.desc, conv, dx.desc, &count));
            else
                CHECK(miopenConvolutionBackwardWeightsGetSolutionCount(handle, dy.desc, x.desc, conv, dw.desc, &count));
            if(count < 1)
                die("no solutions reported for %s", names[dir]);
            miopenConvSolution_t* sols = (miopenConvSolution_t*)calloc(count, sizeof(*sols));
            if(sols == NULL)
                die("out of memory%s", "");
            if(dir == 0)
                CHECK(miopenConvolutionForwardGetSolution(handle, w.desc, x.desc, conv, y.desc, count, &got, sols));
            else if(dir == 1)
                CHECK(miopenConvolutionBackwardDataGetSolution(handle, dy.desc, w.desc, conv, dx.desc, count, &got, sols));
            else
                CHECK(miopenConvolutionBackwardWeightsGetSolution(handle, dy.desc, x.desc, conv, dw.desc, count, &got, sols));
            if(got < 1)
                die("no solutions returned for %s", names[dir]);
            sol = sols[0];
            free(sols);
            if(dir == 0)
            {
                CHECK(miopenConvolutionForwardGetSolutionWorkspaceSize(handle, w.desc, x.desc, conv, y.desc, sol.solution_id, &ws_size));
                CHECK(miopenConvolutionForwardCompileSolution(handle, w.desc, x.desc, conv, y.desc, sol.solution_id));
            }
            else if(dir == 1)
            {
                CHECK(miopenConvolutionBackwardDataGetSolutionWorkspaceSize(handle, dy.desc, w.desc, conv, dx.desc, sol.solution_id, &ws_size));
                CHECK(miopenConvolutionBackwardDataCompileSolution(handle, dy.desc, w.desc, conv, dx.desc, sol.solution_id));
            }
            else
            {
                CHECK(miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(handle, dy.desc, x.desc, conv, dw.desc, sol.solution_id, &ws_size));
                CHECK(miopenConvolutionBackwardWeightsCompileSolution(handle, dy.desc, x.desc, conv, dw.desc, sol.solution_id));
            }
            ws = ws_size ? malloc(ws_size) : NULL;
            for(int it = 0; it < iters; ++it)
            {
                if(dir == 0)
                    CHECK(miopenConvolutionForwardImmediate(handle, w.desc, w.data, x.desc, x.data, conv, y.desc, y.data, ws, ws_size, sol.solution_id));
                else if(dir == 1)
                    CHECK(miopenConvolutionBackwardDataImmediate(handle, dy.desc, dy.data, w.desc, w.data, conv, dx.desc, dx.data, ws, ws_size, sol.solution_id));
                else
                    CHECK(miopenConvolutionBackwardWeightsImmediate(handle, dy.desc, dy.data, x.desc, x.data, conv, dw.desc, dw.data, ws, ws_size, sol.solution_id));
                CHECK(miopenGetKernelTime(handle, &t));
                total += t;
            }
        }
        else
        {
            miopenConvAlgoPerf_t perf;
            int returned = 0;
            memset(&perf, 0, sizeof(perf));
            if(dir == 0)
                CHECK(miopenConvolutionForwardGetWorkSpaceSize(handle, w.desc, x.desc, conv, y.desc, &ws_size));
            else if(dir == 1)
                CHECK(miopenConvolutionBackwardDataGetWorkSpaceSize(handle, dy.desc, w.desc, conv, dx.desc, &ws_size));
            else
                CHECK(miopenConvolutionBackwardWeightsGetWorkSpaceSize(handle, dy.desc, x.desc, conv, dw.desc, &ws_size));
            ws = ws_size ? malloc(ws_size) : NULL;
            if(dir == 0)
                CHECK(miopenFindConvolutionForwardAlgorithm(handle, x.desc, x.data, w.desc, w.data, conv, y.desc, y.data, 1, &returned, &perf, ws, ws_size, false));
            else if(dir == 1)
                CHECK(miopenFindConvolutionBackwardDataAlgorithm(handle, dy.desc, dy.data, w.desc, w.data, conv, dx.desc, dx.data, 1, &returned, &perf, ws, ws_size, false));
            else
                CHECK(miopenFindConvolutionBackwardWeightsAlgorithm(handle, dy.desc, dy.data, x.desc, x.data, conv, dw.desc, dw.data, 1, &returned, &perf, ws, ws_size, false));
            if(returned < 1)
                die("Find returned no algorithm for %s", names[dir]);
            for(int it = 0; it < iters; ++it)
            {
                if(dir == 0)
                    CHECK(miopenConvolutionForward(handle, &alpha, x.desc, x.data, w.desc, w.data, conv, perf.fwd_algo, &beta, y.desc, y.data, ws, ws_size));
                else if(dir == 1)
                    CHECK(miopenConvolutionBackwardData(handle, &alpha, dy.desc, dy.data, w.desc, w.data, conv, perf.bwd_data_algo, &beta, dx.desc, dx.data, ws, ws_size));
                else
                    CHECK(miopenConvolutionBackwardWeights(handle, &alpha, dy.desc, dy.data, x.desc, x.data, conv, perf.bwd_weights_algo, &beta, dw.desc, dw.data, ws, ws_size));
                CHECK(miopenGetKernelTime(handle, &t));
                total += t;
            }
        }
        free(ws);

        const char* extra = "";
        if(cfg.bias && dir == 0)
        {
            CHECK(miopenConvolutionForwardBias(handle, &alpha, b.desc, b.data, &beta, y.desc, y.data));
            extra = " +bias";
        }
        if(cfg.bias && dir == 2)
        {
            CHECK(miopenConvolutionBackwardBias(handle, &alpha, dy.desc, dy.data, &beta, db.desc, db.data));
            write_tensor(&db);
            extra = " +db";
        }
        write_tensor(outt);

        char shape[128];
        shape_str(shape, sizeof(shape), outt);
        printf("%s: %s[%s] ok time=%.3fms", names[dir], outt->name, shape, (double)t);
        if(iters > 1)
            printf(" iters=%d avg=%.3fms", iters, total / iters);
        printf("%s\n", extra);
    }
    write_meta(cfg.dtype);

    CHECK(miopenDestroy(handle));
    free_tensor(&x);
    free_tensor(&w);
    free_tensor(&y);
    free_tensor(&dx);
    free_tensor(&dw);
    free_tensor(&dy);
    free_tensor(&b);
    free_tensor(&db);
    CHECK(miopenDestroyConvolutionDescriptor(conv));
    return status;
}
