/* The all-pairs back end (emit_attn.c) under param standard: dense and conv
 * whose NTK grows with their fan-in (neural-tangents' parameterization=
 * 'standard'; ir.h, IrDense and IrConv):
 *   dense  Σ' = w²Σ + b²,            Θ' = C·Σ + w²Θ (+1 with a bias)
 *   conv   Σ' = w²/|F| Σ_f Σ_f + b²,  Θ' = C·Σ_f Σ_f + w²/|F| Σ_f Θ_f (+1)
 * with C the input channels and Σ_f the kernel read at tap f on both copies.
 * The conv reuses the back end's window functions (ntkc_m_conv, _convv) as
 * they are: the frozen conv gives w²/|F|-weighted Σ' and Θ, a second call on a
 * copy of Σ with weight C·|F| the fan-in term. */
#ifndef NTKC_EMIT_ATTN_STD_H
#define NTKC_EMIT_ATTN_STD_H

#include "code.h"
#include "ir.h"

/* dense on the n entries (a C expression) of slots S, T. */
void emit_attn_dense_std(Code *c, const IrOp *op, int S, int T, const char *n);

/* conv through fn ("ntkc_m_conv" or "ntkc_m_convv"; the call-suffix mark of
 * code.h goes after it) with geometry g: slots S, T; U a scratch slot; n_in,
 * n_out the entries before and after (C expressions); F the window's taps. */
void emit_attn_conv_std(Code *c, const IrOp *op, const char *fn, const char *g, double F, int S, int T, int U,
                        const char *n_in, const char *n_out);

#endif
