/* The graph finite net's layout and passes, shared by finite_graph.c (the
 * Monte Carlo kernels) and finite_graph_train.c (the training interface of
 * finite_model.h). Not part of any other file's interface. */
#ifndef NTKC_FINITE_GRAPH_INTERNAL_H
#define NTKC_FINITE_GRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "graph_agg.h"
#include "graph_data.h"
#include "ir.h"
#include "rng.h"
#include "ntkc.h"

typedef struct GLayer {
    const IrOp *op;
    size_t in, out; /* widths */
    int node;       /* rows are nodes (before the readout) or graphs */
    double ws, bs;  /* dense multipliers */
    double w_init, b_init; /* deviations W and β are drawn with */
    int has_b;
    size_t w_off, b_off;
    AggOp *agg;     /* aggregate: one operator per graph */
} GLayer;

typedef struct JkPoint {
    size_t layer;  /* the state is this layer's input */
    size_t width, off;
    double alpha;  /* √(M/m) */
} JkPoint;

typedef struct GNet {
    const IrNet *net;
    const ntkc_graphs *g;
    GLayer *l;
    size_t nl, N, G, F, maxw, nout;
    double *x;      /* N × F, scaled by √F with normalize=false */
    double *params;
    int owns_params; /* 0: a model's shared array */
    int mup;         /* μP scalings (finite_net.h) instead of NTK */
    size_t np;
    double **out;   /* per layer: rows × out */
    double **tan;   /* per layer: the forward tangent (jvp), allocated on first use */
    double *d, *d2; /* backprop buffers, max(N, G) × maxw */
    double *dro;    /* the readout's δ (jk), G × maxw */
    double *gd, *gh, *block; /* N × N Grams and their product */
    JkPoint *jk;
    size_t njk;
    size_t readout;
    /* dropout (finite_graph_dropout.c): the masks' seed, drawn per sample;
     * drop_eval: eval mode, every dropout layer the identity */
    uint64_t drop_seed;
    int drop_eval;
} GNet;

const char *fgraph_name_of(const GNet *n);
size_t fgraph_rows_of(const GNet *n, const GLayer *l);
/* Layer i's input: the features for i = 0. */
const double *fgraph_layer_in(const GNet *n, size_t i);
/* rows × cols zeros, or NULL with err set. */
double *fgraph_alloc_buf(size_t rows, size_t cols, ntkc_error *err);
/* Lays the net out on the graph set g: hidden dense layers `width` wide, the
 * last nout wide; mup: μP scalings (finite_net.h). Owns its parameters. */
int fgraph_init(GNet *n, const IrNet *net, const ntkc_graphs *g, size_t width, size_t nout, int mup,
                ntkc_error *err);
void fgraph_free(GNet *n);
void fgraph_init_params(GNet *n, Rng *r);
/* Every layer's output on all nodes (graphs after the readout). */
void fgraph_forward(GNet *n);
/* Backpropagates the output weights seed (G × nout) from the last forward,
 * adding every dense layer's NTK block to ntk and/or writing its parameter
 * gradient into grad (either may be NULL). */
void fgraph_backward(GNet *n, const double *seed, double *ntk, double *grad);
/* out = Â·in per graph (transpose = 0), or its adjoint (transpose = 1). */
void fgraph_aggregate(const GNet *n, const GLayer *l, const double *in, double *out, int transpose);
/* p_G (rows of out from column off) += α · pool(h) over G's nodes. */
void fgraph_pool_into(const GNet *n, const GLayer *l, const double *h, size_t w, double alpha, double *out,
                      size_t ldo, size_t off);
/* out = in ∘ mask/keep of dropout layer `layer` (the identity in eval mode);
 * in == out allowed. Forward, backward and tangent passes alike. */
void fgraph_dropout(const GNet *n, size_t layer, const double *in, double *out);
int fgraph_has_dropout(const GNet *n);

#endif
