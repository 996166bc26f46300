/* dropout in the finite-width graph net, neural-tangents' Dropout in train
 * mode at node level: unit c of node u of graph G (after the readout: of
 * graph G) is kept with probability keep and scaled by 1/keep. The decision
 * hashes (the net's mask seed, the layer, the row — the node's index in the
 * set, or the graph's after the readout —, the unit) with splitmix64 into 53
 * uniform bits, so the forward, backward and tangent passes of one graph see
 * one mask, and different nodes, graphs and seeds independent ones: what the
 * kernel's 1/keep on the diagonal of a graph's node-pair matrix with itself
 * averages (emit_graph.c). In eval mode (n->drop_eval, ntkc train's
 * predictions) the layer is the identity. */
#include "finite_graph_internal.h"

static double factor(const GNet *n, size_t layer, size_t row, size_t unit)
{
    uint64_t state = n->drop_seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(layer + 1)) ^
                     (0xC2B2AE3D27D4EB4FULL * (uint64_t)(row + 1)) ^ (0x165667B19E3779F9ULL * (uint64_t)(unit + 1));
    double u = (double)(rng_splitmix64(&state) >> 11) * 0x1.0p-53;
    double keep = n->l[layer].op->u.dropout.keep;
    return u < keep ? 1.0 / keep : 0.0;
}

void fgraph_dropout(const GNet *n, size_t layer, const double *in, double *out)
{
    size_t rows = fgraph_rows_of(n, &n->l[layer]), w = n->l[layer].out;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < w; c++)
            out[r * w + c] = n->drop_eval ? in[r * w + c] : in[r * w + c] * factor(n, layer, r, c);
}

int fgraph_has_dropout(const GNet *n)
{
    for (size_t i = 0; i < n->nl; i++)
        if (n->l[i].op->kind == IR_DROPOUT)
            return 1;
    return 0;
}
