/* Finite-width graph networks for graph nets (`input graph(F)`): the Monte
 * Carlo reference the graph kernels are checked against.
 *
 * The network the IR describes, on node features X (rows = all nodes of the
 * set), NTK parameterization as finite_net.h:
 *   dense       z = w/√fan_in · W·h + b·β on every node (graph after the readout)
 *   activation  elementwise
 *   aggregate   h'_u = c_u Σ_{v ∈ N(u) (∪ {u})} h_v, c_u = 1 or 1/deg(u)
 *   readout     p_G = Σ_{u∈G} h_u (mean: / n_G); with jk, the concatenation of
 *               √(M/m_ℓ)·pool(h_ℓ) over the states h_ℓ entering every aggregate
 *               and the readout (widths m_ℓ, M = Σ m_ℓ), so that the next dense
 *               layer sees the sum of their kernels — one readout weight
 *               matrix per block, outputs summed, as in Du et al.
 * With normalize=false the features enter as √F·x (kernel x·x').
 * Hidden dense layers have opts->width units; the last dense layer has
 * opts->width units too for the NNGP, which averages f_o f_o' over them (its
 * error then shrinks with the width), while the NTK is J·Jᵀ of unit 0.
 * jk needs a dense layer after the readout. */
#ifndef NTKC_FINITE_GRAPH_H
#define NTKC_FINITE_GRAPH_H

#include "finite_net.h"
#include "graph_data.h"
#include "ir.h"

/* nngp, ntk: count × count row-major (either may be NULL), averaged over
 * opts->samples initialisations from opts->seed. Returns 0 or the error code. */
int finite_graph_kernels(const IrNet *net, const ntkc_graphs *g, const FiniteNetOptions *opts, double *nngp,
                         double *ntk, ntkc_error *err);

#endif
