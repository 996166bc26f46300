/* The finite network's layer norm (neural-tangents' LayerNorm(axis=...)):
 * y = (x − mean)/√(var + ε) with the mean and variance over the channels and
 * the pixels the op's axes name. The pixels normalised together form a group:
 * one pixel (channels), a column (height), a row (width) or the image (all). */
#include <math.h>

#include "finite_conv_internal.h"

typedef struct Groups {
    size_t count, size; /* groups, pixels per group */
    size_t w;           /* the grid's width */
    IrLnAxes axes;
} Groups;

static Groups groups_of(const Node *nd)
{
    size_t h = nd->hi, w = nd->wi;
    switch (nd->op->u.ln.axes) {
    case IR_LN_HEIGHT:
        return (Groups){w, h, w, IR_LN_HEIGHT};
    case IR_LN_WIDTH:
        return (Groups){h, w, w, IR_LN_WIDTH};
    case IR_LN_ALL:
        return (Groups){1, h * w, w, IR_LN_ALL};
    case IR_LN_CHANNELS:
        break;
    }
    return (Groups){h * w, 1, w, IR_LN_CHANNELS};
}

/* The pixel of member k of group g. */
static size_t member(const Groups *G, size_t g, size_t k)
{
    switch (G->axes) {
    case IR_LN_HEIGHT:
        return k * G->w + g;
    case IR_LN_WIDTH:
        return g * G->w + k;
    case IR_LN_ALL:
        return k;
    case IR_LN_CHANNELS:
        break;
    }
    return g;
}

/* 1/√(var + ε) of group g of x, and its mean. */
static double inv_std(const Node *nd, const Groups *G, size_t g, const double *x, double *mean_out)
{
    size_t C = nd->ci, n = G->size * C;
    double mean = 0, var = 0;
    for (size_t k = 0; k < G->size; k++)
        for (size_t c = 0; c < C; c++)
            mean += x[member(G, g, k) * C + c];
    mean /= (double)n;
    for (size_t k = 0; k < G->size; k++)
        for (size_t c = 0; c < C; c++) {
            double d = x[member(G, g, k) * C + c] - mean;
            var += d * d;
        }
    *mean_out = mean;
    return 1.0 / sqrt(var / (double)n + nd->op->u.ln.eps);
}

void fconv_layer_norm_fwd(Node *nd, const double *in)
{
    Groups G = groups_of(nd);
    size_t C = nd->ci;
    for (size_t g = 0; g < G.count; g++) {
        double mean, inv = inv_std(nd, &G, g, in, &mean);
        for (size_t k = 0; k < G.size; k++) {
            size_t p = member(&G, g, k);
            for (size_t c = 0; c < C; c++)
                nd->out[p * C + c] = (in[p * C + c] - mean) * inv;
        }
    }
}

/* J·g = (g − mean(g) − y·mean(g·y))/√(var + ε), means over the group. */
void fconv_layer_norm_jac(const Node *nd, const double *gout, double *gin)
{
    Groups G = groups_of(nd);
    size_t C = nd->ci, n = G.size * C;
    for (size_t g = 0; g < G.count; g++) {
        double mean, inv = inv_std(nd, &G, g, nd->in, &mean), gm = 0, gy = 0;
        for (size_t k = 0; k < G.size; k++)
            for (size_t c = 0; c < C; c++) {
                size_t e = member(&G, g, k) * C + c;
                gm += gout[e], gy += gout[e] * nd->out[e];
            }
        gm /= (double)n, gy /= (double)n;
        for (size_t k = 0; k < G.size; k++)
            for (size_t c = 0; c < C; c++) {
                size_t e = member(&G, g, k) * C + c;
                gin[e] = inv * (gout[e] - gm - nd->out[e] * gy);
            }
    }
}
