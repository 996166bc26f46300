/* The ABI of generated code for graph nets (`input graph(F)`), written by
 * compiler/emit/emit_graph.c and driven by runtime/engine/graph_kernel.c.
 *
 * A graph net's kernel between graphs G₁ (n₁ nodes) and G₂ (n₂ nodes) runs on
 * n₁×n₂ node-pair matrices Σ, Θ until the readout pools them into one entry.
 * The generated code holds only the elementwise part — dense layers and
 * activations on every node pair, with per-node variances computed once per
 * graph. The structural steps (input Gram, aggregation, readout, jumping
 * knowledge) belong to the runtime, which reads them from a plan:
 *
 *   const int *ntkcnet_NAME_graph_plan(void);
 *       Triples (opcode, a, b), ending with NTKC_GOP_END:
 *         NTKC_GOP_INPUT   F, raw     Σ = X₁X₂ᵀ/F (raw: X₁X₂ᵀ), Θ = 0
 *         NTKC_GOP_SEG     k, -       elementwise segment k (0, 1, ... in order)
 *         NTKC_GOP_AGG     degree, self_loops
 *                                     Σ, Θ ← C ∘ (Â₁ (·) Â₂ᵀ), Â = A (+ I);
 *                                     C = 1, or 1/(deg₁(u)·deg₂(v)) (degrees of Â)
 *         NTKC_GOP_READOUT mean, jk   Σ, Θ ← sum (mean) over all node pairs; with
 *                                     jk, plus the same pooling of the state
 *                                     entering every NTKC_GOP_AGG
 *       Segments after the readout act on 1×1 "matrices".
 *   size_t ntkcnet_NAME_graph_nvar(void);
 *       Variance slots: one per activation of the net (at least 1).
 *   void ntkcnet_NAME_graph_seg(int k, size_t n1, size_t n2,
 *                            const double *var1, const double *var2,
 *                            double *s, double *t, size_t ld);
 *       Applies segment k to rows 0..n1 and columns 0..n2 of s (Σ) and t (Θ),
 *       both with leading dimension ld. var1 holds graph 1's variances
 *       slot-major: var1[slot*n1 + u] is Σ(u, u) of G₁ with itself entering
 *       activation `slot`; var2 likewise with n2.
 *   void ntkcnet_NAME_graph_seg_diag(int k, size_t n, const double *d, size_t ldd,
 *                                 double *var);
 *       For a graph with itself: reads the diagonal d[u*ldd], u < n, runs
 *       segment k's Σ recursion on it and stores the variance entering each
 *       activation of the segment into var[slot*n + u].
 *
 * Both segment functions treat a zero variance as the activations' duals do
 * (see compiler/act/act.h); non-finite results are left for the runtime to find.
 */
#ifndef NTKC_GRAPH_ABI_H
#define NTKC_GRAPH_ABI_H

enum {
    NTKC_GOP_END = 0,
    NTKC_GOP_INPUT = 1,
    NTKC_GOP_SEG = 2,
    NTKC_GOP_AGG = 3,
    NTKC_GOP_READOUT = 4
};

#endif
