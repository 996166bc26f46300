/* What gradient-descent training (train_dynamics.c) needs of a finite-width
 * network, whatever its family: the three finite-width references —
 * fully connected (finite_net.h), image and branching (finite_conv.h), graph
 * (finite_graph.h) — each implement this small interface, so the training
 * loop, the linearisation and the statistics exist once.
 *
 * A model has `nout` output units, hidden width `width`, its parameters in one
 * contiguous array (initialised by `init`), and works on data sets: rows of
 * `dim` values (vector and image nets) or a set of graphs (graph nets; one row
 * per graph). Outputs and output weights are rows × nout, row-major. */
#ifndef NTKC_FINITE_MODEL_H
#define NTKC_FINITE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "finite_net.h"
#include "graph_data.h"
#include "ir.h"
#include "rng.h"

typedef struct FiniteData {
    size_t rows;
    const double *x;           /* rows × dim (vector and image nets), else NULL */
    size_t dim;
    const ntkc_graphs *graphs; /* graph nets: `rows` graphs, else NULL */
} FiniteData;

/* How a layer's number of inputs depends on the width, which μP's scalings
 * need (a fan-in mixing the two has none). */
typedef enum FiniteScaling { FINITE_SC_FIXED = 0, FINITE_SC_WIDTH = 1, FINITE_SC_MIXED = 2 } FiniteScaling;

/* The refusal of μP for layer op, with the reason (err's code returned). */
int finite_mup_refuse(const IrNet *net, const IrOp *op, const char *why, ntkc_error *err);
/* μP's rule for an affine layer with fan-in scaling `in`: *out is the
 * scaling of its outputs; refuses a mixed fan-in and a readout whose fan-in
 * is fixed. */
int finite_mup_affine(const IrNet *net, const IrOp *op, int readout, FiniteScaling in, FiniteScaling *out,
                      ntkc_error *err);

typedef struct FiniteModelOps {
    const char *family;
    void (*free)(void *impl);
    void (*init)(void *impl, Rng *r);
    double *(*params)(void *impl, size_t *count);
    /* f = the outputs on d. */
    int (*forward)(void *impl, const FiniteData *d, double *f, ntkc_error *err);
    /* grad = ∇θ Σ_{i,o} g_io·f_o(d_i), after a forward on the same d (a jvp
     * in between leaves that forward usable). */
    int (*vjp)(void *impl, const FiniteData *d, const double *g, double *grad, ntkc_error *err);
    /* Optional (NULL: finite_model.c derives them from forward and vjp one
     * row at a time, for rows of x): out = J·v after a forward on the same d,
     * and the adding of J_u·J_uᵀ of output unit u to ntk (rows × rows, at
     * least its upper triangle). */
    int (*jvp)(void *impl, const FiniteData *d, const double *v, double *out, ntkc_error *err);
    int (*unit_ntk)(void *impl, const FiniteData *d, size_t unit, double *ntk, ntkc_error *err);
    /* Dropout layers (neural-tangents' Dropout): train = 1 draws their masks
     * from seed (one mask per row of the data and unit, the same in every
     * pass until the next call), train = 0 makes them the identity (eval
     * mode). Models start in train mode with the masks of their init. */
    void (*dropout)(void *impl, int train, uint64_t seed);
} FiniteModelOps;

typedef struct FiniteModel {
    const FiniteModelOps *ops;
    void *impl;
    size_t np, nout;
} FiniteModel;

/* The finite-width network of net's family for data shaped like `like`,
 * under `param` (FINITE_MUP: finite_net.h's maximal-update scalings; a family
 * or layer where they are not defined is refused by name). Parameters start at
 * zero. Returns 0 or the error code (m is then empty). */
int finite_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                     FiniteModel *m, ntkc_error *err);
void finite_model_free(FiniteModel *m);

void finite_model_init(FiniteModel *m, Rng *r);
double *finite_model_params(FiniteModel *m);
int finite_model_forward(FiniteModel *m, const FiniteData *d, double *f, ntkc_error *err);
int finite_model_vjp(FiniteModel *m, const FiniteData *d, const double *g, double *grad, ntkc_error *err);
int finite_model_jvp(FiniteModel *m, const FiniteData *d, const double *v, double *out, ntkc_error *err);
int finite_model_unit_ntk(FiniteModel *m, const FiniteData *d, size_t unit, double *ntk, ntkc_error *err);
/* The dropout layers' mode (FiniteModelOps.dropout); nothing for a net without them. */
void finite_model_dropout(FiniteModel *m, int train, uint64_t seed);

/* The family constructors finite_model_new dispatches to (same contract). */
int finite_net_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                         FiniteModel *m, ntkc_error *err);
int finite_conv_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                          FiniteModel *m, ntkc_error *err);
int finite_graph_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                           FiniteModel *m, ntkc_error *err);

#endif
