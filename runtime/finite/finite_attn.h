/* The finite-width attention layer of finite_conv.c's networks: multi-head
 * self-attention over the P pixels of one input, NTK parameterization, as
 * neural-tangents' GlobalSelfAttention applies it. Per head h (of H), with
 * X the P×C input and standard normal weights:
 *   K = X·W_k,  Q = K (scaling linear: keys and queries tied) or X·W_q,
 *   A = mech(w_q·w_k · Q·Kᵀ / (C·d^e)),  e = 1 (linear) or 1/2 (sqrt),
 *   head_h = A·(X·W_v)
 *   out = [head_1 … head_H]·W_out · w_v·w_out/√(d·H·C) + b_std·b
 * with d key and value channels per head (softmax along the keys). */
#ifndef NTKC_FINITE_ATTN_H
#define NTKC_FINITE_ATTN_H

#include <stddef.h>

#include "ir.h"

typedef struct FiniteAttn {
    const IrAttention *ir;
    size_t P, ci, co, d, heads;
    size_t p_off, p_count;               /* its parameters in the net's vector, all N(0, 1) */
    size_t wq_off, wk_off, wv_off, wo_off, b_off;
    double *K, *Q, *V, *G, *A, *Hc;      /* per head (Hc: all heads, P×(H·d)) of the last forward pass */
    double *gHc, *gA, *gV, *gK, *gQ;     /* backward scratch */
} FiniteAttn;

/* Lays the layer out: d = max(1, width / heads) channels per head, co
 * output channels, parameters from *nparams on (advanced). 0 on success. */
int finite_attn_init(FiniteAttn *a, const IrAttention *ir, size_t P, size_t ci, size_t co, size_t width,
                     size_t *nparams);
void finite_attn_free(FiniteAttn *a);
/* out (P×co) from in (P×ci). */
void finite_attn_forward(FiniteAttn *a, const double *params, const double *in, double *out);
/* From gout = ∂f/∂out of the last forward pass on in: the parameter gradients
 * into grad (its own range), and ∂f/∂in into gin unless NULL. */
void finite_attn_backward(FiniteAttn *a, const double *params, const double *in, const double *gout, double *grad,
                          double *gin);

#endif
