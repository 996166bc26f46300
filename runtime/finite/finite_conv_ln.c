/* The finite network's layer norm (neural-tangents' LayerNorm(axis=...)):
 * y = (x − mean)/√(var + ε) with the mean and variance over the channels and
 * the positions the op's axes name. The positions normalised together form a
 * group: one position (channels), a column (height), a row (width), a line
 * through a volume's slices (depth), a plane of a volume (two of its axes:
 * the positions sharing the third coordinate) or all of them; on a volume
 * height and width are those of each slice (the grid is D slices of H rows of W
 * columns, nd->hi = D·H). Padded positions (the input's mask) are left out
 * of every group's statistics, as neural-tangents' mean_and_var(mask=...)
 * leaves them out of the mean; their outputs and input gradients are 0. */
#include <math.h>

#include "finite_conv_internal.h"

typedef struct Groups {
    size_t count, size; /* groups, positions per group */
    size_t step;        /* between a group's consecutive positions */
    size_t d, h, w;     /* the grid: slices, rows per slice, columns */
    IrLnAxes axes;
    const double *mask; /* 0 at padded positions, or NULL */
} Groups;

static Groups groups_of(const Fc *f, const Node *nd)
{
    size_t d = nd->op->out.d ? nd->op->out.d : 1, h = nd->hi / d, w = nd->wi, P = nd->hi * nd->wi;
    Groups G = {P, 1, 1, d, h, w, nd->op->u.ln.axes, NULL};
    if (f->mask && P == f->npos)
        G.mask = f->mask;
    switch (G.axes) {
    case IR_LN_HEIGHT:
        G.count = d * w, G.size = h, G.step = w;
        break;
    case IR_LN_WIDTH:
        G.count = d * h, G.size = w;
        break;
    case IR_LN_DEPTH:
        G.count = h * w, G.size = d, G.step = h * w;
        break;
    case IR_LN_ALL:
        G.count = 1, G.size = P;
        break;
    case IR_LN_DEPTH_HEIGHT: /* column x of every slice: x + w·k */
        G.count = w, G.size = d * h, G.step = w;
        break;
    case IR_LN_DEPTH_WIDTH: /* row y of every slice: member() */
        G.count = h, G.size = d * w;
        break;
    case IR_LN_HEIGHT_WIDTH: /* slice z */
        G.count = d, G.size = h * w;
        break;
    case IR_LN_CHANNELS:
        break;
    }
    return G;
}

/* The position of member k of group g. */
static size_t member(const Groups *G, size_t g, size_t k)
{
    if (G->axes == IR_LN_DEPTH_WIDTH) /* slice k / w, row g, column k % w */
        return (k / G->w) * G->h * G->w + g * G->w + k % G->w;
    size_t first = G->axes == IR_LN_HEIGHT ? (g / G->w) * G->h * G->w + g % G->w /* slice g / w, column g % w */
                   : G->axes == IR_LN_WIDTH ? g * G->w                           /* row g of the stacked rows */
                   : G->axes == IR_LN_ALL   ? 0
                   : G->axes == IR_LN_DEPTH_HEIGHT ? g                                   /* column g of slice 0 */
                   : G->axes == IR_LN_HEIGHT_WIDTH ? g * G->h * G->w                     /* slice g */
                                            : g; /* depth: position g of the first slice; channels: g */
    return first + k * G->step;
}

static int padded(const Groups *G, size_t p) { return G->mask && G->mask[p] == 0.0; }

/* 1/√(var + ε) of group g of x over its unpadded positions, and its mean; 0
 * (and mean 0) for a group of padding alone. */
static double inv_std(const Node *nd, const Groups *G, size_t g, const double *x, double *mean_out)
{
    size_t C = nd->ci, n = 0;
    double mean = 0, var = 0;
    for (size_t k = 0; k < G->size; k++) {
        size_t p = member(G, g, k);
        if (padded(G, p))
            continue;
        n += C;
        for (size_t c = 0; c < C; c++)
            mean += x[p * C + c];
    }
    *mean_out = 0.0;
    if (n == 0)
        return 0.0;
    mean /= (double)n;
    for (size_t k = 0; k < G->size; k++) {
        size_t p = member(G, g, k);
        for (size_t c = 0; c < C && !padded(G, p); c++) {
            double d = x[p * C + c] - mean;
            var += d * d;
        }
    }
    *mean_out = mean;
    return 1.0 / sqrt(var / (double)n + nd->op->u.ln.eps);
}

void fconv_layer_norm_fwd(const Fc *f, Node *nd, const double *in)
{
    Groups G = groups_of(f, nd);
    size_t C = nd->ci;
    for (size_t g = 0; g < G.count; g++) {
        double mean, inv = inv_std(nd, &G, g, in, &mean);
        for (size_t k = 0; k < G.size; k++) {
            size_t p = member(&G, g, k);
            for (size_t c = 0; c < C; c++)
                nd->out[p * C + c] = padded(&G, p) ? 0.0 : (in[p * C + c] - mean) * inv;
        }
    }
}

/* J·g = (g − mean(g) − y·mean(g·y))/√(var + ε), means over the group's
 * unpadded entries; 0 at padded positions. */
void fconv_layer_norm_jac(const Fc *f, const Node *nd, const double *gout, double *gin)
{
    Groups G = groups_of(f, nd);
    size_t C = nd->ci;
    for (size_t g = 0; g < G.count; g++) {
        double mean, inv = inv_std(nd, &G, g, nd->in, &mean), gm = 0, gy = 0;
        size_t n = 0;
        for (size_t k = 0; k < G.size; k++) {
            size_t p = member(&G, g, k);
            n += padded(&G, p) ? 0 : C;
            for (size_t c = 0; c < C && !padded(&G, p); c++) {
                size_t e = p * C + c;
                gm += gout[e], gy += gout[e] * nd->out[e];
            }
        }
        if (n > 0)
            gm /= (double)n, gy /= (double)n;
        for (size_t k = 0; k < G.size; k++) {
            size_t p = member(&G, g, k);
            for (size_t c = 0; c < C; c++) {
                size_t e = p * C + c;
                gin[e] = padded(&G, p) ? 0.0 : inv * (gout[e] - gm - nd->out[e] * gy);
            }
        }
    }
}
