/* Random nets (see random_nets.h): a generator of source text that tracks
 * shapes (so most nets are valid), and the check of one net against the
 * finite networks of runtime/finite_*.c. */
#include "random_nets.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_conv.h"
#include "finite_graph.h"
#include "finite_net.h"
#include "net_internal.h"
#include "random_sampling.h"

/* ---- the generator ------------------------------------------------------- */

typedef struct Gen {
    unsigned long long r;
    char *s;
    size_t len;
    int anywhere;
    int image, seq, standard, graph, attn;
    size_t h, w;  /* current grid while image (0: a valid window ran out of pixels) */
    int gaussian; /* the current value is a Gaussian field (a dense/conv output, or linear maps of one) */
} Gen;

static unsigned long long next(Gen *g)
{
    g->r ^= g->r << 13;
    g->r ^= g->r >> 7;
    g->r ^= g->r << 17;
    return g->r >> 11;
}

static int pick(Gen *g, int n) { return (int)(next(g) % (unsigned long long)n); }
static int chance(Gen *g, int percent) { return pick(g, 100) < percent; }
static double uniform(Gen *g, double lo, double hi) { return lo + (hi - lo) * (double)(next(g) % 1000000) / 1e6; }

static void put(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->s + g->len, RANDOM_NET_SOURCE - g->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        g->len += (size_t)n < RANDOM_NET_SOURCE - g->len ? (size_t)n : RANDOM_NET_SOURCE - 1 - g->len;
}

/* w_std mostly near 1, sometimes far from it (variances ×0.1 to ×6 per layer). */
static double w_std(Gen *g) { return chance(g, 20) ? uniform(g, 0.3, 2.5) : uniform(g, 0.8, 1.6); }
static double b_std(Gen *g) { return chance(g, 30) ? 0.0 : uniform(g, 0.05, 0.8); }

/* Formula activations every net declares (file level). */
static const char formulas[] = "act f_tanh(x) = tanh(x)\n"
                               "act f_swish(x) = x / (1 + exp(-x))\n"
                               "act f_softplus(x, beta = 1) = log(1 + exp(beta * x)) / beta\n"
                               "act f_wave(x) = sin(x) + 0.3 * x\n";

static void activation(Gen *g)
{
    switch (pick(g, 22)) {
    case 0: case 1: case 2: put(g, "relu"); break;
    case 3: put(g, "leaky_relu(%.3g)", uniform(g, 0.01, 0.5)); break;
    case 4: put(g, "abs"); break;
    case 5: put(g, "abrelu(%.3g, %.3g)", uniform(g, -0.5, 0.5), uniform(g, 0.5, 1.5)); break;
    case 6: put(g, "erf(%.3g, %.3g, %.3g)", uniform(g, 0.5, 1.5), uniform(g, 0.5, 2), uniform(g, -0.3, 0.3)); break;
    case 7: put(g, "sigmoid_like"); break;
    case 8: put(g, "gelu"); break;
    case 9: put(g, "sin(%.3g, %.3g, %.3g)", uniform(g, 0.5, 1.5), uniform(g, 0.3, 1.2), uniform(g, -1, 1)); break;
    case 10: put(g, "cos(b=%.3g)", uniform(g, 0.3, 1.2)); break;
    case 11: put(g, chance(g, 50) ? "sign" : "step"); break;
    case 12: put(g, "exp(%.3g, %.3g)", uniform(g, 0.5, 1), uniform(g, 0.1, 0.4)); break;
    case 13: put(g, "gaussian(b=%.3g)", uniform(g, -1, -0.1)); break;
    case 14: put(g, "rbf(%.3g)", uniform(g, 0.1, 1)); break;
    case 15: put(g, "monomial(%d)", 1 + pick(g, 2)); break;
    case 16: put(g, "rectified_monomial(%d)", pick(g, 3)); break;
    case 17: put(g, "polynomial(%.3g, %.3g, %.3g)", uniform(g, -0.5, 0.5), uniform(g, 0.5, 1.5), uniform(g, -0.3, 0.3)); break;
    case 18: put(g, "identity"); break;
    default: {
        static const char *const f[] = {"f_tanh", "f_swish", "f_softplus(beta=2)", "f_wave"};
        put(g, "%s", f[pick(g, 4)]);
    }
    }
    g->gaussian = 0;
}

/* An activation where the rules allow one (all the time with `anywhere`,
 * which also stacks a second one now and then: relu; relu). */
static void maybe_activation(Gen *g, int percent)
{
    if ((g->gaussian || g->anywhere) && chance(g, percent)) {
        put(g, "; ");
        activation(g);
        if (g->anywhere && chance(g, 15)) {
            put(g, "; ");
            activation(g);
        }
    }
}

static size_t out_size(size_t n, int k, int s, int pad)
{
    if (n == 0)
        return 0;
    if (pad == 1)
        return (size_t)k > n ? 0 : (n - (size_t)k) / (size_t)s + 1;
    return (n + (size_t)s - 1) / (size_t)s;
}

static const char *const pads[] = {"same", "valid", "circular"};

/* A window (size, stride, padding); updates the grid. */
static void window(Gen *g, int kmax, int smax, int pad)
{
    int k = 1 + pick(g, kmax), s = 1 + pick(g, smax);
    if (pad < 0)
        pad = pick(g, 3);
    if (g->seq || chance(g, 60)) {
        put(g, "%d, stride=%d, padding=%s", k, s, pads[pad]);
        g->h = g->seq ? g->h : out_size(g->h, k, s, pad);
        g->w = out_size(g->w, k, s, pad);
    } else {
        int kw = 1 + pick(g, kmax), sw = 1 + pick(g, smax);
        put(g, "kh=%d, kw=%d, sh=%d, sw=%d, padding=%s", k, kw, s, sw, pads[pad]);
        g->h = out_size(g->h, k, s, pad);
        g->w = out_size(g->w, kw, sw, pad);
    }
}

/* Under param standard on images: conv_transpose (on small grids: it
 * upsamples) or conv_local, declaring the width every affine layer there
 * declares. The draw happens in standard image nets only, so the other nets'
 * sources stay as they were. */
static void conv_variant(Gen *g)
{
    int transpose = g->h * g->w <= 12 && chance(g, 50), k = 1 + pick(g, 3), s = 1 + pick(g, 2), pad = pick(g, 3);
    put(g, "%s(%d, %.3g, %.3g, stride=%d, padding=%s, width=%d)", transpose ? "conv_transpose" : "conv_local", k,
        w_std(g), b_std(g), s, pads[pad], RANDOM_STD_CONV_WIDTH);
    size_t grow = pad == 1 && k > s ? (size_t)(k - s) : 0; /* valid: n·s + max(k − s, 0) */
    if (transpose) {
        g->h = g->seq ? g->h : g->h * (size_t)s + grow;
        g->w = g->w * (size_t)s + grow;
    } else {
        g->h = g->seq ? g->h : out_size(g->h, k, s, pad);
        g->w = out_size(g->w, k, s, pad);
    }
}

static void affine(Gen *g)
{
    if (g->image && g->standard && chance(g, 35)) {
        conv_variant(g);
    } else if (g->image && chance(g, 80)) {
        put(g, "conv(");
        window(g, 4, 3, -1);
        put(g, ", w_std=%.3g, b_std=%.3g", w_std(g), b_std(g));
        if (g->standard)
            put(g, ", width=%d", RANDOM_STD_CONV_WIDTH);
        put(g, ")");
    } else if (g->standard) {
        put(g, "dense(%.3g, %.3g, width=512)", w_std(g), b_std(g));
    } else {
        put(g, "dense(%.3g, %.3g)", w_std(g), b_std(g));
    }
    g->gaussian = 1;
}

/* affine [layer_norm] [activation] */
static void layer_block(Gen *g)
{
    affine(g);
    if ((g->gaussian || g->anywhere) && chance(g, 12))
        put(g, "; layer_norm");
    maybe_activation(g, 80);
}

/* Under param standard a layer inside a block names its width (the
 * generator's: RANDOM_STD_CONV_WIDTH channels, 512 units); closes the call. */
static void std_width(Gen *g)
{
    if (g->standard)
        put(g, ", width=%d", g->image ? RANDOM_STD_CONV_WIDTH : 512);
    put(g, ")");
}

/* A shape-keeping body for residual: affine, activation, affine. */
static void keep_shape_affine(Gen *g, int circular)
{
    if (g->image)
        put(g, "conv(%d, %.3g, %.3g, padding=%s", 1 + pick(g, 3), w_std(g), b_std(g), circular ? "circular" : "same");
    else
        put(g, "dense(%.3g, %.3g", w_std(g), b_std(g));
    std_width(g);
}

static void residual(Gen *g)
{
    int in_gaussian = g->gaussian, circular = chance(g, 30);
    put(g, "residual(%.3g) { ", uniform(g, 0.3, 1.5));
    keep_shape_affine(g, circular);
    g->gaussian = 1;
    maybe_activation(g, 85);
    put(g, "; ");
    keep_shape_affine(g, circular);
    put(g, " }");
    g->gaussian = in_gaussian;
}

static void fanout(Gen *g)
{
    static const char *const fanin[] = {"sum", "prod", "concat"};
    int mode = pick(g, 3), nb = 2 + pick(g, 2), stride = chance(g, 25) ? 2 : 1, pad = chance(g, 80) ? 0 : 2;
    if (mode == 1 && !g->gaussian && !g->anywhere)
        mode = 0; /* a product needs Gaussian branches; theirs end in an affine layer */
    int in_gaussian = g->gaussian, identity = 0, all_gaussian = 1;
    size_t h = g->h, w = g->w, oh = h, ow = w;
    put(g, "fanout { ");
    for (int b = 0; b < nb; b++) {
        g->h = h, g->w = w, g->gaussian = in_gaussian;
        put(g, "branch { ");
        if (stride == 1 && !identity && mode != 1 && chance(g, 20)) {
            identity = 1;
            all_gaussian &= in_gaussian;
        } else {
            if (g->image) {
                int p = chance(g, 90) ? pad : 2 - pad;
                put(g, "conv(%d, %.3g, %.3g, stride=%d, padding=%s", 1 + pick(g, 3), w_std(g), b_std(g), stride,
                    pads[p]);
                std_width(g);
                oh = out_size(h, 1, stride, 0), ow = out_size(w, 1, stride, 0);
            } else {
                put(g, "dense(%.3g, %.3g", w_std(g), b_std(g));
                std_width(g);
            }
            g->gaussian = 1;
            if (chance(g, 50)) {
                maybe_activation(g, 100);
                put(g, "; ");
                keep_shape_affine(g, pad == 2);
            }
        }
        put(g, " } ");
    }
    put(g, "} %s", fanin[mode]);
    g->h = oh, g->w = ow;
    g->gaussian = mode == 0 && all_gaussian;
}

static void image_part(Gen *g)
{
    int blocks = 1 + pick(g, 3);
    for (int b = 0; b < blocks && g->h && g->w; b++) {
        put(g, "\n    ");
        int what = pick(g, 100);
        if (g->standard && what < 39 && !(what < 15 && b > 0)) /* branches under param standard need widths it */
            what = 39;                                         /* does not write: an affine block instead */
        if (what < 15 && b > 0) {
            put(g, "%s(", chance(g, 50) ? "avg_pool" : "sum_pool");
            window(g, 3, 3, -1);
            put(g, ")");
            maybe_activation(g, g->anywhere ? 30 : 0);
        } else if (what < 27) {
            residual(g);
            maybe_activation(g, 50);
        } else if (what < 39) {
            fanout(g);
            maybe_activation(g, 50);
        } else {
            layer_block(g);
        }
    }
    int head = pick(g, 10);
    put(g, "\n    %s", head < 3 ? "flatten" : head < 8 ? "global_avg_pool" : "global_sum_pool");
    g->gaussian = head >= 3 && g->gaussian; /* flatten's kernel is that of the dense layer after it */
    g->image = 0;
    maybe_activation(g, g->anywhere ? 30 : 0);
}

/* attention(...) with every option the kernel has: linear scaling with each
 * mechanism and 1-4 heads, or sqrt scaling (identity only) with 16 heads,
 * whose limit is reached by averaging over heads. */
static void attention(Gen *g)
{
    static const char *const mech[] = {"softmax", "identity", "abs", "relu"};
    int sqrt_scaling = chance(g, 20), heads = sqrt_scaling ? 16 : 1 + pick(g, 4);
    const char *m = sqrt_scaling ? "identity" : mech[pick(g, 4)];
    if (!sqrt_scaling && chance(g, 20))
        put(g, "attention(heads=%d, mechanism=%s)", heads, m);
    else
        put(g, "attention(heads=%d, scaling=%s, mechanism=%s, w_q=%.3g, w_k=%.3g, w_v=%.3g, w_out=%.3g, b_std=%.3g)",
            heads, sqrt_scaling ? "sqrt" : "linear", m, uniform(g, 0.3, 1.6), uniform(g, 0.3, 1.6), w_std(g),
            w_std(g), b_std(g));
    g->gaussian = 1;
}

/* A pre-LN block's layer_norm in an attention net: over the channels, or
 * (one in three) over positions too (axes=height|width|all). */
static const char *attention_ln(Gen *g)
{
    static const char *const ln[] = {"layer_norm; ", "layer_norm(axes=height); ", "layer_norm(axes=width); ",
                                     "layer_norm(axes=all); "};
    return chance(g, 33) ? ln[1 + pick(g, 3)] : ln[0];
}

/* Transformer-like blocks on sequences or images (attention nets take dense
 * layers, activations, layer_norm, residual blocks and global pooling or
 * flatten): pre-LN attention and MLP blocks in residuals, bare attention. */
static void attention_part(Gen *g)
{
    int blocks = 1 + pick(g, 3);
    for (int b = 0; b < blocks; b++) {
        put(g, "\n    ");
        int what = pick(g, 100), in_gaussian = g->gaussian;
        if (what < 45) {
            put(g, "residual(%.3g) { ", uniform(g, 0.3, 1.5));
            if ((g->gaussian || g->anywhere) && chance(g, 70))
                put(g, "%s", attention_ln(g));
            attention(g);
            put(g, " }");
            g->gaussian = in_gaussian;
        } else if (what < 65) {
            put(g, "residual { %s", (g->gaussian || g->anywhere) && chance(g, 70) ? attention_ln(g) : "");
            put(g, "dense(%.3g, %.3g)", w_std(g), b_std(g));
            g->gaussian = 1;
            maybe_activation(g, 90);
            put(g, "; dense(%.3g, %.3g) }", w_std(g), b_std(g));
            g->gaussian = in_gaussian;
        } else if (what < 85) {
            attention(g);
        } else {
            layer_block(g);
        }
        maybe_activation(g, 30);
    }
    int head = pick(g, 10);
    put(g, "\n    %s", head < 3 ? "flatten" : head < 8 ? "global_avg_pool" : "global_sum_pool");
    g->gaussian = head >= 3 && g->gaussian;
    maybe_activation(g, g->anywhere ? 30 : 0);
}

/* Graph nets: dense layers, activations and aggregations on the nodes, one
 * readout, then dense layers on the graph. */
static void graph_body(Gen *g)
{
    int blocks = 1 + pick(g, 3);
    for (int b = 0; b < blocks; b++) {
        put(g, "\n    aggregate(scale=%s, self_loops=%s)", chance(g, 50) ? "uniform" : "degree",
            chance(g, 70) ? "true" : "false");
        maybe_activation(g, g->anywhere ? 20 : 0);
        put(g, "\n    ");
        layer_block(g);
    }
    put(g, "\n    readout(pool=%s, jk=%s)", chance(g, 50) ? "sum" : "mean", chance(g, 30) ? "true" : "false");
    maybe_activation(g, g->anywhere ? 20 : 0);
    if (chance(g, 50)) {
        put(g, "\n    ");
        layer_block(g);
    }
}

void random_net_source(unsigned long long seed, const RandomNetOptions *o, char src[RANDOM_NET_SOURCE])
{
    Gen g = {.r = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL, .s = src, .anywhere = o && o->anywhere};
    src[0] = 0;
    for (int k = 0; k < 4; k++)
        next(&g);
    put(&g, "%s", formulas);
    int kind = pick(&g, 12); /* 0-4 vectors, 5-7 images, 8-9 sequences, 10-11 graphs */
    g.image = kind >= 5 && kind < 10;
    g.seq = kind >= 8 && kind < 10;
    g.graph = kind >= 10;
    /* attention nets: most sequence nets, a quarter of the image nets (attention over pixels) */
    g.attn = g.image && chance(&g, g.seq ? 75 : 25); /* g.image includes sequences */
    g.standard = !g.attn && chance(&g, g.image || g.graph ? 3 : 20);
    put(&g, "net rnd {\n    ");
    if (g.standard)
        put(&g, "param standard\n    ");
    if (g.seq) {
        g.h = 1, g.w = 3 + (size_t)pick(&g, 6);
        put(&g, "input sequence(%zu, %d)\n    ", g.w, 1 + pick(&g, 3));
    } else if (g.image) {
        g.h = 2 + (size_t)pick(&g, 4), g.w = 2 + (size_t)pick(&g, 4);
        put(&g, "input image(%zu, %zu, %d)\n    ", g.h, g.w, 1 + pick(&g, 3));
    } else if (g.graph) {
        put(&g, "input graph(%d, normalize=%s)\n    ", RANDOM_GRAPH_FEATURES, chance(&g, 70) ? "true" : "false");
    } else if (chance(&g, 70)) {
        put(&g, "input vector(%d)\n    ", 2 + pick(&g, 5));
    }
    g.image = g.image && !g.attn; /* dense layers only: attention nets take no conv */
    layer_block(&g); /* the first layer is affine */
    if (g.attn)
        attention_part(&g);
    if (g.image)
        image_part(&g);
    if (g.graph)
        graph_body(&g);
    int blocks = g.graph ? 0 : pick(&g, 3);
    for (int b = 0; b < blocks; b++) {
        put(&g, "\n    ");
        int what = g.standard ? 100 : pick(&g, 100);
        if (what < 15)
            residual(&g);
        else if (what < 27)
            fanout(&g);
        else
            layer_block(&g);
        if (what < 27)
            maybe_activation(&g, 50);
    }
    put(&g, "\n    dense(%.3g, %.3g%s)\n}\n", w_std(&g), b_std(&g), g.standard && chance(&g, 50) ? "" : "");
}

/* ---- refusals ------------------------------------------------------------- */

typedef struct Rule {
    const char *name;
    const char *patterns[4]; /* any of them in the message */
} Rule;

static const Rule rules[] = {
    {"gaussian-input", {"needs a Gaussian input", "needs Gaussian", "Gaussian pre-activations", NULL}},
    {"independent-branches", {"must end in an affine layer", "two identity branches", "needs independent branches", NULL}},
    {"valid-window-too-large", {"with padding=valid on an image", "with padding=valid on a sequence", NULL}},
    {"vector-widths-differ", {"of vectors needs equal widths", "ends as a vector", NULL}},
    {"branch-shapes-differ", {"the branches of a fanout must agree", "changes the shape from", NULL}},
    {"circular-mixed-in-block", {"inside one residual/fanout block, a conv with padding=circular", NULL}},
    {"graph-nets-take-dense-act-aggregate-readout", {"takes dense layers, activations, 'dropout', 'aggregate' and 'readout' only", NULL}},
    {"kernel-not-finite", {"is not finite", NULL}},
    {"concat-of-the-raw-input", {"of this channel concat is the net's input", NULL}},
};

size_t random_rule_count(void) { return sizeof rules / sizeof rules[0]; }
const char *random_rule_name(size_t i) { return rules[i].name; }

static const char *classify(const char *message)
{
    for (size_t i = 0; i < random_rule_count(); i++)
        for (int p = 0; p < 4 && rules[i].patterns[p]; p++)
            if (strstr(message, rules[i].patterns[p]))
                return rules[i].name;
    return NULL;
}

/* ---- the Monte Carlo comparison -------------------------------------------- */

/* Nonlinear layers (activations, layer_norm, products), for the O(L/width) bias. */
static size_t nonlinear(const IrOp *ops, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += ops[i].kind == IR_ACT || ops[i].kind == IR_LAYER_NORM;
        if (ops[i].kind == IR_FANOUT) {
            c += ops[i].u.fanout.mode == IR_FANIN_PROD;
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                c += nonlinear(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
        }
    }
    return c;
}

/* The O(1/width) bias allowance's count of attention layers, in units of
 * 1/width: linear scaling's logits are averages over d = width/heads key
 * channels (a bias O(1/d) = heads/width through the mechanism); sqrt
 * scaling's output becomes Gaussian by averaging over heads only (a bias
 * O(1/heads) in what follows it = (width/heads)/width). */
static double attention_bias(const IrOp *ops, size_t n, size_t width)
{
    double c = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ATTENTION) {
            double h = (double)ops[i].u.attn.heads;
            c += ops[i].u.attn.linear ? h : (double)width / h;
        }
        for (size_t b = 0; ops[i].kind == IR_FANOUT && b < ops[i].u.fanout.nbranches; b++)
            c += attention_bias(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops, width);
    }
    return c;
}

enum { N = 3 };

static void inputs(unsigned long long seed, double *x, size_t count)
{
    unsigned long long s = seed * 0xD1B54A32D192ED03ULL + 7;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = 0.3 + 2.0 * ((double)(s >> 11) / 9007199254740992.0 - 0.5); /* correlated: mean 0.3 */
    }
}

static double rel_frobenius(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* One finite network of a vector or image net on the inputs x (sample s). */
typedef struct MatrixSampler {
    const IrNet *ir;
    const double *x;
    size_t d, width;
    unsigned long long seed;
} MatrixSampler;

static int matrix_sample(void *ctx, size_t s, double *k, ntkc_error *err)
{
    const MatrixSampler *m = ctx;
    FiniteNetOptions fo = {.width = m->width, .samples = 1, .seed = m->seed * 7919 + s};
    return family_finite_kernels(m->ir, &(ntkc_finite_input){.n = N, .x = m->x, .dim = m->d}, &fo, k, k + N * N,
                                 err);
}

/* One finite network of a graph net on the graphs g (sample s). */
typedef struct GraphSampler {
    const IrNet *ir;
    const ntkc_graphs *g;
    size_t width;
    unsigned long long seed;
} GraphSampler;

static int graph_sample(void *ctx, size_t s, double *k, ntkc_error *err)
{
    const GraphSampler *m = ctx;
    FiniteNetOptions fo = {.width = m->width, .samples = 1, .seed = m->seed * 7919 + s};
    return finite_graph_kernels(m->ir, m->g, &fo, k, k + N * N, err);
}

/* Three small random graphs (4-7 nodes, RANDOM_GRAPH_FEATURES features per node). */
static ntkc_graphs *random_graphs(unsigned long long seed, ntkc_error *err)
{
    char text[4096];
    size_t len = 0;
    double f[RANDOM_GRAPH_FEATURES * N];
    inputs(seed, f, sizeof f / sizeof f[0]);
    unsigned long long r = seed * 0x2545F4914F6CDD1DULL + 3;
    len += (size_t)snprintf(text + len, sizeof text - len, "%d\n", N);
    for (int gi = 0; gi < N; gi++) {
        int n = 4 + gi + (int)(seed % 2);
        len += (size_t)snprintf(text + len, sizeof text - len, "%d 0\n", n);
        for (int u = 0; u < n; u++) { /* a ring plus chords drawn from r: symmetric by construction */
            int nb[8], k = 0;
            for (int v = 0; v < n; v++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                int lo = u < v ? u : v, hi = u < v ? v : u;
                unsigned long long h = (seed + 31ULL * (unsigned long long)(lo * 8 + hi)) * 0x9E3779B97F4A7C15ULL;
                if (v != u && ((hi - lo) % n == 1 || hi - lo == n - 1 || (h >> 60) < 4) && k < 8)
                    nb[k++] = v;
            }
            len += (size_t)snprintf(text + len, sizeof text - len, "0 %d", k);
            for (int j = 0; j < k; j++)
                len += (size_t)snprintf(text + len, sizeof text - len, " %d", nb[j]);
            for (int c = 0; c < RANDOM_GRAPH_FEATURES; c++)
                len += (size_t)snprintf(text + len, sizeof text - len, " %.6f",
                                        f[(gi * RANDOM_GRAPH_FEATURES + c + u) % (RANDOM_GRAPH_FEATURES * N)] + 0.1 * u);
            len += (size_t)snprintf(text + len, sizeof text - len, "\n");
        }
    }
    return ntkc_graphs_parse(text, "random graphs", RANDOM_GRAPH_FEATURES, err);
}

/* Entry by entry: |mean − exact| ≤ z·se + bias·√(K_ii K_jj). */
static void compare(const double *exact, const double *mean, const double *se, double bias,
                    const RandomCheckOptions *o, RandomCheck *out)
{
    out->ok = 1;
    for (int k = 0; k < 2; k++) {
        const double *K = exact + k * N * N;
        out->within[k] = 1;
        for (size_t i = 0; i < N; i++)
            for (size_t j = i; j < N; j++) {
                size_t e = k * N * N + i * N + j;
                double scale = sqrt(fabs(K[i * N + i] * K[j * N + j]));
                double tol = o->z * se[e] + bias * scale + 1e-12 * scale;
                double z = fabs(mean[e] - exact[e]) / tol;
                if (!(z <= out->worst_z))
                    out->worst_z = z;
                if (!(z <= 1.0))
                    out->within[k] = 0;
                if (!(z <= 1.0) && out->ok) {
                    out->ok = 0;
                    snprintf(out->message, sizeof out->message,
                             "%s(%zu,%zu): exact %.10g, Monte Carlo %.10g (standard error %.3g, bias allowance %.3g)",
                             k ? "NTK" : "NNGP", i, j, exact[e], mean[e], se[e], bias * scale);
                }
            }
    }
    out->rel_nngp = rel_frobenius(mean, exact, N * N);
    out->rel_ntk = rel_frobenius(mean + N * N, exact + N * N, N * N);
}



/* What every check of one net shares when the net never got as far as the
 * Monte Carlo comparison: refused (a named rule or none) or failed. */
static void refuse_all(RandomCheck *out, size_t nopts, const char *message)
{
    for (size_t k = 0; k < nopts; k++) {
        out[k].rule = classify(message);
        out[k].ok = out[k].rule != NULL;
        snprintf(out[k].message, sizeof out[k].message, "%s", message);
    }
}

/* Each option's exact kernels (src's, or its exact_src's, times 1 + perturb)
 * compared with one Monte Carlo mean and standard error. */
static void compare_all(const double *exact, const double *mean, const double *se, double bias,
                        const RandomCheckOptions *o, size_t nopts, RandomCheck *out)
{
    for (size_t k = 0; k < nopts; k++) {
        if (!out[k].accepted)
            continue;
        out[k].worst_z = 0, out[k].message[0] = 0; /* a new round of samples */
        double e[2 * N * N];
        for (size_t i = 0; i < 2 * N * N; i++)
            e[i] = exact[k * 2 * N * N + i] * (1 + o[k].perturb);
        compare(e, mean, se, bias, &o[k], &out[k]);
    }
}

/* 1 when the bias allowance alone covers a perturbation p of kernel kk
 * (0 NNGP, 1 NTK) at every entry: no number of samples would catch it. */
static int bias_covers(const double *exact, double p, double bias, int kk)
{
    const double *K = exact + kk * N * N;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i; j < N; j++)
            if (fabs(p * K[i * N + j]) > (bias + 1e-12) * sqrt(fabs(K[i * N + i] * K[j * N + j])))
                return 0;
    return 1;
}

/* After a round of samples: NULL to draw more, else why to stop — "judged"
 * (the check fails, or every perturbed option is caught), or the limit. */
static const char *stop_sampling(const RandomAcc *acc, double cpu, const double *exact, double bias,
                                 const RandomCheckOptions *o, size_t nopts, const RandomCheck *out)
{
    int blind = 0, bias_only = 1;
    for (size_t k = 1; k < nopts; k++)
        for (int kk = 0; kk < 2 && out[k].accepted && o[k].perturb != 0; kk++)
            if (out[k].within[kk]) {
                blind = 1;
                bias_only &= bias_covers(exact + k * 2 * N * N, o[k].perturb, bias, kk);
            }
    if (!out[0].ok || !blind)
        return "judged";
    if (random_acc_heavy_tailed(acc))
        return "heavy-tailed";
    if (bias_only)
        return "bias";
    if (acc->count >= o->max_samples)
        return "samples";
    if (o->cpu_budget > 0 && 2 * cpu > o->cpu_budget) /* the next round costs what all the earlier ones did */
        return "cpu";
    return NULL;
}

/* When adaptive sampling failed the check or stopped blind at a cap: the
 * drift test against as many networks of half the width (*width: the
 * sampler's), which marks a net whose bias is beyond its allowance. */
static void drift_test(RandomSampleFn fn, void *ctx, size_t *width, const RandomAcc *acc, const double *exact,
                       double bias, const RandomCheckOptions *o, size_t nopts, RandomCheck *out)
{
    const char *l = out[0].limit;
    if (o->max_samples == 0 || *width < 2 || !(!out[0].ok || (l && (!strcmp(l, "samples") || !strcmp(l, "cpu")))))
        return;
    size_t w = *width;
    RandomAcc half = {0};
    ntkc_error err = {0};
    *width = w / 2;
    double t0 = random_cpu_seconds();
    int rc = random_acc_draw(&half, fn, ctx, acc->count, &err);
    *width = w;
    double drift = rc ? 0 : random_drift_ratio(acc, &half, exact, bias, o->z);
    for (size_t k = 0; k < nopts; k++) {
        out[k].drift = drift, out[k].cpu_seconds += random_cpu_seconds() - t0;
        out[k].limit = drift > 1 ? "drift" : out[k].limit;
    }
}

/* The Monte Carlo run of one net, compared with every option's exact kernels
 * (exact: 2·N·N per option) after each round of samples; adaptive when o[0]
 * asks (RandomCheckOptions.max_samples). */
static void sample_and_compare(RandomSampleFn fn, void *ctx, size_t *width, const double *exact, double bias,
                               const RandomCheckOptions *o, size_t nopts, RandomCheck *out)
{
    RandomAcc acc = {0};
    ntkc_error err = {0};
    double mean[2 * N * N], se[2 * N * N], t0 = random_cpu_seconds();
    const char *stop = NULL;
    for (size_t upto = o->samples; stop == NULL; upto = 2 * upto < o->max_samples ? 2 * upto : o->max_samples) {
        if (random_acc_draw(&acc, fn, ctx, upto, &err) != 0) {
            for (size_t k = 0; k < nopts; k++) {
                out[k].ok = 0;
                snprintf(out[k].message, sizeof out[k].message, "finite networks failed: %.1900s", err.message);
            }
            return;
        }
        random_acc_mean_se(&acc, mean, se);
        compare_all(exact, mean, se, bias, o, nopts, out);
        stop = o->max_samples > acc.count ? stop_sampling(&acc, random_cpu_seconds() - t0, exact, bias, o, nopts, out)
                                          : "samples";
    }
    for (size_t k = 0; k < nopts; k++) {
        out[k].samples = acc.count, out[k].cpu_seconds = random_cpu_seconds() - t0;
        out[k].heavy_tailed = random_acc_heavy_tailed(&acc);
        out[k].limit = o->max_samples == 0 || strcmp(stop, "judged") == 0 ? NULL : stop;
    }
    drift_test(fn, ctx, width, &acc, exact, bias, o, nopts, out);
}

/* Option o's exact kernels on the graphs into ex (2·N·N): src's (exact),
 * or its exact_src's. 0, or -1 with the message in out. */
static int exact_of_graphs(const RandomCheckOptions *o, const ntkc_graphs *g, const double *exact, double *ex,
                           RandomCheck *out)
{
    if (o->exact_src == NULL) {
        if (ex != exact)
            memcpy(ex, exact, 2 * N * N * sizeof *ex);
        return 0;
    }
    ntkc_error err = {0};
    ntkc_net *other = ntkc_compile_string(o->exact_src, "exact.ntk", NULL, &err);
    int rc = other == NULL || ntkc_kernel_graphs(other, g, NULL, ex, ex + N * N, NULL, &err);
    if (rc)
        snprintf(out->message, sizeof out->message, "exact_src failed: %.1900s", err.message);
    ntkc_net_free(other);
    return rc ? -1 : 0;
}

static void check_graph_net(ntkc_net *net, unsigned long long seed, const RandomCheckOptions *o, size_t nopts,
                            RandomCheck *out)
{
    ntkc_error err = {0};
    ntkc_graphs *g = random_graphs(seed, &err);
    double *exact = malloc(nopts * 2 * N * N * sizeof *exact);
    if (exact == NULL)
        snprintf(err.message, sizeof err.message, "out of memory");
    if (g == NULL || exact == NULL || ntkc_kernel_graphs(net, g, NULL, exact, exact + N * N, NULL, &err) != 0) {
        refuse_all(out, nopts, err.message);
        ntkc_graphs_free(g);
        free(exact);
        return;
    }
    for (size_t c = nopts; c-- > 0;) /* downwards: the copies read src's kernels in option 0's place, which its exact_src overwrites last */
        out[c].accepted = exact_of_graphs(&o[c], g, exact, exact + c * 2 * N * N, &out[c]) == 0;
    const IrNet *ir = ntkc_net_ir(net);
    GraphSampler gs = {.ir = ir, .g = g, .width = o->width, .seed = seed};
    sample_and_compare(graph_sample, &gs, &gs.width, exact, (double)nonlinear(ir->ops, ir->nops) / (double)o->width, o, nopts,
                       out);
    ntkc_graphs_free(g);
    free(exact);
}

/* The exact kernels of option k into exact (2·N·N): src's (already in
 * exact), or its exact_src's on the same inputs. 0, or -1 with the message. */
static int exact_of(const RandomCheckOptions *o, size_t d, const double *x, double *exact, RandomCheck *out)
{
    if (o->exact_src == NULL)
        return 0;
    ntkc_error err = {0};
    ntkc_net *other = ntkc_compile_string(o->exact_src, "exact.ntk", NULL, &err);
    int rc = other == NULL || ntkc_kernel(other, N, x, 0, NULL, d, exact, exact + N * N, NULL, &err);
    if (rc)
        snprintf(out->message, sizeof out->message, "exact_src failed: %.1900s", err.message);
    ntkc_net_free(other);
    return rc ? -1 : 0;
}

void random_net_checks(const char *src, unsigned long long seed, const RandomCheckOptions *o, size_t nopts,
                       RandomCheck *out)
{
    memset(out, 0, nopts * sizeof *out);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, "rnd.ntk", NULL, &err);
    if (net == NULL) {
        refuse_all(out, nopts, err.message);
        return;
    }
    const IrNet *ir = ntkc_net_ir(net);
    if (ntkc_net_takes_graphs(net)) {
        check_graph_net(net, seed, o, nopts, out);
        ntkc_net_free(net);
        return;
    }
    size_t d = ir->input.dim ? ir->input.dim : 4;
    double *x = malloc(N * d * sizeof *x), *exact = malloc(nopts * 2 * N * N * sizeof *exact);
    int rc = x && exact ? 0 : 1;
    if (rc)
        snprintf(err.message, sizeof err.message, "out of memory");
    else {
        inputs(seed, x, N * d);
        rc = ntkc_kernel(net, N, x, 0, NULL, d, exact, exact + N * N, NULL, &err);
    }
    if (rc) {
        refuse_all(out, nopts, err.message);
        free(x);
        free(exact);
        ntkc_net_free(net);
        return;
    }
    size_t accepted = 0;
    for (size_t k = 0; k < nopts; k++) {
        double *ek = exact + k * 2 * N * N;
        if (k > 0)
            memcpy(ek, exact, 2 * N * N * sizeof *ek);
        out[k].accepted = exact_of(&o[k], d, x, ek, &out[k]) == 0;
        accepted += out[k].accepted;
    }
    size_t width = ir->family == IR_FAMILY_IMAGE ? o->conv_width : o->width;
    if (ir->param == PARAM_STANDARD) /* the generator's dense(width=512), conv(width=128): the narrowest */
        width = ir->family == IR_FAMILY_IMAGE && ir->input.kind == IR_INPUT_IMAGE ? RANDOM_STD_CONV_WIDTH : 512;
    double count = (double)nonlinear(ir->ops, ir->nops) + attention_bias(ir->ops, ir->nops, width);
    MatrixSampler ms = {.ir = ir, .x = x, .d = d, .width = width, .seed = seed};
    if (accepted)
        sample_and_compare(matrix_sample, &ms, &ms.width, exact, count / (double)width, o, nopts, out);
    free(x);
    free(exact);
    ntkc_net_free(net);
}

void random_net_check(const char *src, unsigned long long seed, const RandomCheckOptions *o, RandomCheck *out)
{
    random_net_checks(src, seed, o, 1, out);
}
