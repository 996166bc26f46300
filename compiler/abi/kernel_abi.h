/* The ABI between the C that ntkc emits and the runtime that runs it — the
 * one header both sides include: the emitters (compiler/emit) write code
 * that exports these symbols, the engines (runtime/engine) call them, and
 * the library (runtime/api/family.c) binds them from the symbol lists below
 * after JIT compilation. Plain C99 without dependencies, so kernel-time C
 * (compiler/kernel_c) includes it too when compiled on its own.
 *
 * Every symbol of net NAME is NTKC_NET_PREFIX "NAME" SUFFIX (ntkcnet_NAME…,
 * compiler/support/c_text.h); the prefix is used by nothing else, so no net
 * name clashes with a helper of the generated code, libm or libntkc.
 *
 * Tile ABI (engine runtime/engine/engine.c; fully connected and image nets):
 *
 *   size_t ntkcnet_NAME_prep_size(void);
 *       doubles of per-input precomputed data (e.g. the variance before every
 *       activation), computed once per input and reused across a row.
 *   void   ntkcnet_NAME_prep(size_t n, const double *x, size_t dim, double *prep);
 *   int    ntkcnet_NAME_uses_gram(void);
 *       1 when the tile wants gram[i*ldg+j] = x1[i]·x2[j] (the runtime gets it
 *       from BLAS); 0 when the tile reads x1/x2 itself.
 *   size_t ntkcnet_NAME_tile(size_t rows, size_t cols,
 *                         const double *x1, const double *prep1,
 *                         const double *x2, const double *prep2, size_t dim,
 *                         const double *gram, size_t ldg,
 *                         double *nngp, double *ntk, size_t ldo);
 *       fills a rows×cols tile (either output may be NULL; gram may alias
 *       nngp or ntk with ldg == ldo) and returns how many entries are not
 *       finite.
 *   size_t ntkcnet_NAME_tri(size_t n, const double *x, const double *prep, size_t dim,
 *                        double *nngp, double *ntk, size_t ldo);
 *       optional (image nets, whose entries are costly and computed
 *       NTKC_LANES at a time): the upper triangle i <= j of the kernel of x
 *       with itself, every pass full; returns the non-finite count. Absent,
 *       the runtime calls the tile row by row.
 *   int    ntkcnet_NAME(size_t n1, const double *x1, size_t n2, const double *x2,
 *                    size_t dim, double *nngp, double *ntk);
 *       self-contained, for `ntkc emit` users (the runtime does not bind it):
 *       0 on success, 1 when dim does not fit the net, 2 when memory runs
 *       out, 3 when a result is not finite.
 *
 * Single precision (`--precision single`, every family; graph nets below):
 * the same symbols with float in place of double for prep, prep1/prep2,
 * gram, nngp and ntk (x stays double: a fully connected net's prep runs in
 * float64 and rounds its records, an image or all-pairs net's in float32;
 * the tile runs in float32; the engine computes the Gram by sgemm/ssyrk
 * when asked).
 * NtkcTileFns holds them under the float64 types; the engine calls them
 * through NtkcPrepF32 / NtkcTileF32 / NtkcTriF32, converting each pointer
 * back through void (*)(void) (a function is called only through its own
 * type).
 *
 * Graph ABI (engine runtime/engine/graph_kernel.c; `input graph(F)`): a graph
 * net's kernel between graphs G₁ (n₁ nodes) and G₂ (n₂ nodes) runs on n₁×n₂
 * node-pair matrices Σ, Θ until the readout pools them into one entry. The
 * generated code holds only the elementwise part — dense layers and
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
 * (see compiler/act/act.h); non-finite results are left for the runtime to
 * find.
 *
 * Single precision (graph nets): the same symbols with float in place of
 * double for var1, var2, s, t, d and var (NtkcGSegF32, NtkcGSegDiagF32);
 * the variance slots are the float32 emitter's own (nvar says how many: a
 * ReLU's √v and 1/√v beside v). The runtime keeps the input Gram's dot
 * products and the readout's sums in float64 and rounds each once. */
#ifndef NTKC_KERNEL_ABI_H
#define NTKC_KERNEL_ABI_H

#include <stddef.h>

/* Kernel entries an image kernel computes together (x1 against NTKC_LANES
 * columns x2): the emitted image runtime's lane width, the granularity of
 * its triangle function and of the engine's tile edges. */
#define NTKC_LANES 8

typedef struct NtkcTileFns {
    size_t (*prep_size)(void);
    void (*prep)(size_t n, const double *x, size_t dim, double *prep);
    int (*uses_gram)(void);
    size_t (*tile)(size_t rows, size_t cols, const double *x1, const double *prep1, const double *x2,
                   const double *prep2, size_t dim, const double *gram, size_t ldg, double *nngp, double *ntk,
                   size_t ldo);
    size_t (*tri)(size_t n, const double *x, const double *prep, size_t dim, double *nngp, double *ntk, size_t ldo);
} NtkcTileFns;

typedef void (*NtkcPrepF32)(size_t n, const double *x, size_t dim, float *prep);
typedef size_t (*NtkcTileF32)(size_t rows, size_t cols, const double *x1, const float *prep1, const double *x2,
                              const float *prep2, size_t dim, const float *gram, size_t ldg, float *nngp,
                              float *ntk, size_t ldo);
typedef size_t (*NtkcTriF32)(size_t n, const double *x, const float *prep, size_t dim, float *nngp, float *ntk,
                             size_t ldo);

typedef struct NtkcGraphFns {
    const int *(*plan)(void);
    size_t (*nvar)(void);
    void (*seg)(int k, size_t n1, size_t n2, const double *var1, const double *var2, double *s, double *t,
                size_t ld);
    void (*seg_diag)(int k, size_t n, const double *d, size_t ldd, double *var);
} NtkcGraphFns;

typedef void (*NtkcGSegF32)(int k, size_t n1, size_t n2, const float *var1, const float *var2, float *s, float *t,
                            size_t ld);
typedef void (*NtkcGSegDiagF32)(int k, size_t n, const float *d, size_t ldd, float *var);

/* The symbols the runtime binds, X(field of the struct, suffix, required):
 * the one list the binder walks (runtime/api/family.c). */
#define NTKC_TILE_SYMBOLS(X)                                                                                  \
    X(prep_size, "_prep_size", 1)                                                                            \
    X(prep, "_prep", 1)                                                                                      \
    X(uses_gram, "_uses_gram", 1)                                                                            \
    X(tile, "_tile", 1)                                                                                      \
    X(tri, "_tri", 0)
#define NTKC_GRAPH_SYMBOLS(X)                                                                                 \
    X(plan, "_graph_plan", 1)                                                                                \
    X(nvar, "_graph_nvar", 1)                                                                                \
    X(seg, "_graph_seg", 1)                                                                                  \
    X(seg_diag, "_graph_seg_diag", 1)

/* Opcodes of a graph plan. */
enum { NTKC_GOP_END = 0, NTKC_GOP_INPUT = 1, NTKC_GOP_SEG = 2, NTKC_GOP_AGG = 3, NTKC_GOP_READOUT = 4 };

#endif
