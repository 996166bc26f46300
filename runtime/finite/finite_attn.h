/* The finite-width attention layer of finite_conv.c's networks: multi-head
 * self-attention over the P pixels of one input, NTK parameterization, as
 * neural-tangents' GlobalSelfAttention applies it. Per head h (of H), with
 * X the P×C input and standard normal weights:
 *   K = X·W_k,  Q = K (scaling linear: keys and queries tied) or X·W_q,
 *   A = mech(w_q·w_k · Q·Kᵀ / (C·d^e)),  e = 1 (linear) or 1/2 (sqrt),
 *   head_h = A·(X·W_v)
 *   out = [head_1 … head_H]·W_out · w_v·w_out/√(d·H·C) + b_std·b
 * with d key and value channels per head (softmax along the keys).
 * Positional embeddings (pos_emb=sum|concat): a trainable E (P×C_p, N(0, 1),
 * zero at padded positions), X̂ = X + w_pos·E (sum, C_p = C) or
 * [X, w_pos·E] (concat, C_p = pos_channels·C); keys and queries read X̂
 * (C becomes X̂'s channels in the logit scale), the values X̂ too with
 * val_pos_emb. With a padding mask (mask[p] = 0: padded), padded keys get
 * weight 0 (softmax over the others); the caller zeroes padded rows of the
 * layer's input and output. */
#ifndef NTKC_FINITE_ATTN_H
#define NTKC_FINITE_ATTN_H

#include <stddef.h>

#include "ir.h"

typedef struct FiniteAttn {
    const IrAttention *ir;
    size_t P, ci, co, d, heads;
    size_t cp, ch, cv;                   /* channels of E, of X̂ (keys, queries), of the values' input */
    const double *mask;                  /* the input's padding (P: 1 value, 0 padded), or NULL */
    size_t p_off, p_count;               /* its parameters in the net's vector, all N(0, 1) */
    size_t wq_off, wk_off, wv_off, wo_off, b_off, e_off;
    double *X, *gX, *gXv;                /* X̂ and the gradients of the keys' and the values' inputs */
    double *K, *Q, *V, *G, *A, *Hc;      /* per head (Hc: all heads, P×(H·d)) of the last forward pass */
    double *gHc, *gA, *gV, *gK, *gQ;     /* backward scratch */
} FiniteAttn;

/* Lays the layer out: d = max(1, width / heads) channels per head, co
 * output channels, parameters from *nparams on (advanced). 0 on success,
 * -1 out of memory, -2 when pos_channels·ci is not a whole number of
 * channels (concat). */
/* The scales of the logits Q·Kᵀ (w_q·w_k/(C·d^e), C the channels keys and
 * queries read) and of the output (w_v·w_out/√(d·H·C_v)): the forward pass's,
 * shared with the tangent (finite_attn_train.c). */
double finite_attn_logit_scale(const FiniteAttn *a);
double finite_attn_out_scale(const FiniteAttn *a);

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
