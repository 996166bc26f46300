/* Finite-width networks for the nets the IR describes: the Monte Carlo
 * reference every analytic kernel is checked against, and gradient-descent
 * training for checking infinite-width predictions of trained networks.
 *
 * Parameterizations (w = IrDense.w_std, b = IrDense.b_std, fan_in = width of
 * the layer's input, the data dimension for the first layer):
 *   NTK:      z = w/√fan_in · W·h + b·β,  W, β ~ N(0, 1); every hidden dense
 *             layer has the width given in the options.
 *   standard: z = W·h + β,  W ~ N(0, w²/fan_in), β ~ N(0, b²), β present iff
 *             IrDense.has_bias; hidden widths are IrDense.width.
 * The trainable parameters are W and β as written, so the two give the same
 * function for the same seed and widths but different gradients, hence
 * different NTKs. The last dense layer has width 1 for the kernels (k for
 * training) whatever the IR says; activations after it act on those units.
 *
 * The empirical NTK J·Jᵀ is summed blockwise without materialising J: for a
 * dense layer with input rows h and backpropagated δ = ∂f/∂z, the weights give
 * s_w²·(δ·δ')(h·h') and the bias s_b²·(δ·δ'), where s_w, s_b are the layer's
 * forward multipliers (w/√fan_in and b under NTK, 1 and 1 under standard). */
#ifndef NTKC_FINITE_NET_H
#define NTKC_FINITE_NET_H

#include <stddef.h>

#include "ir.h"
#include "rng.h"
#include "ntkc.h"
#include "ntkc_tool.h"

/* width: the hidden width (NTK parameterization; image nets: channels),
 * samples: independent initialisations averaged, seed. The CLI's struct
 * (ntkc_tool.h), under the name the references use. */
typedef ntkc_finite_options FiniteNetOptions;

/* Empirical NNGP f(x_i)f(x_j) and NTK J(x_i)·J(x_j)ᵀ (parameter Jacobian)
 * averaged over opts->samples initialisations drawn in turn from one stream
 * seeded with opts->seed, for the n inputs x (n×dim row-major). nngp, ntk:
 * n×n row-major outputs, either may be NULL; both come out exactly symmetric.
 * The NNGP is averaged over the units of a readout `width` wide (each unit's
 * f_o(x)f_o(x') is an unbiased estimate; one unit alone would leave an error
 * ~1/√samples whatever the width); the NTK is that of one output unit. Both
 * errors shrink like 1/√(width·samples). Returns 0 or the ntkc_error code. */
int finite_net_kernels(const IrNet *net, size_t n, const double *x, size_t dim,
                       const FiniteNetOptions *opts, double *nngp, double *ntk, ntkc_error *err);

/* Full-batch gradient descent on loss = ½‖f(X_train) − Y‖² (a sum over the n×k
 * entries): `steps` updates θ ← θ − lr·∇θ loss from the initialisation drawn
 * from `seed`, then f(X_test) into f_test (m×k). The last dense layer has
 * width k; width is the hidden width under NTK parameterization.
 *
 * Correspondence with neural-tangents: as lr → 0 this follows the gradient
 * flow df/dτ = −Θ(f − Y) at τ = lr·steps. nt.predict.gradient_descent_mse
 * (learning_rate = 1) integrates df/dt = −Θ(f − Y)/N with N = y_train.size =
 * n·k, so compare with its prediction at t = n·k·lr·steps (and with the
 * empirical Θ ⊗ I_k in the infinite-width limit).
 * A non-finite output or loss (diverging training) is an error. */
int finite_net_train_gd(const IrNet *net, size_t n, const double *x_train, const double *y_train, size_t k,
                        size_t m, const double *x_test, size_t dim, size_t width, double lr, size_t steps,
                        unsigned long long seed, double *f_test, ntkc_error *err);

/* --- The network object beneath both (for tests and other checkers). --- */

typedef struct FiniteNet FiniteNet;

/* Lays out the net for inputs of dimension dim with nout output units and
 * hidden width `width` (NTK parameterization); parameters start at zero. */
FiniteNet *finite_net_new(const IrNet *net, size_t dim, size_t width, size_t nout, ntkc_error *err);

/* The parameterizations finite_net_new_param offers. FINITE_AS_IR: what the
 * IR says (NTK or standard, as above). FINITE_MUP: the maximal-update
 * parameterization of Yang & Hu 2021 (arXiv:2011.14522, abc-form with
 * c = 0: one learning rate for every layer, independent of the width n),
 * for an IR under NTK parameterization. With W = n^(−a)·w, w ~ N(0, n^(−2b)):
 *   first dense layer  a = −1/2, b = 1/2   z = √n·(w_std/√d)·w·x + √n·b_std·β
 *   hidden dense       a = 0,    b = 1/2   z = w_std·w·h + √n·b_std·β
 *   readout            a = 1/2,  b = 1/2   z = (w_std/√n)·w·h + b_std·β (β ~ N(0, 1))
 * (biases of width n are input weights of fan-in 1; w, β ~ N(0, 1/n) unless
 * noted). The forward pass at initialisation has the NTK parameterization's
 * pre-activations except the readout, whose output shrinks like 1/√n; the
 * empirical NTK has the same expectation, but it moves by O(1) in training
 * at every width instead of O(1/√n). */
typedef enum FiniteParam { FINITE_AS_IR = 0, FINITE_MUP = 1 } FiniteParam;
FiniteNet *finite_net_new_param(const IrNet *net, size_t dim, size_t width, size_t nout, FiniteParam param,
                                ntkc_error *err);
/* Index of the last dense op (the readout), or nops when there is none. */
size_t finite_last_dense(const IrNet *net);

void finite_net_free(FiniteNet *fn);
/* Draws every parameter from r, layer by layer (W row-major, then β). */
void finite_net_init(FiniteNet *fn, Rng *r);
/* Dropout layers: train = 1 draws every mask from seed (a function of seed,
 * layer, row and unit), train = 0 makes them the identity (eval mode).
 * finite_net_init draws a seed and sets train mode. */
void finite_net_set_dropout(FiniteNet *fn, int train, uint64_t seed);
/* The trainable parameters, contiguous; writes their count to *count. */
double *finite_net_params(FiniteNet *fn, size_t *count);
/* f (n×nout row-major) at the current parameters. */
int finite_net_forward(FiniteNet *fn, size_t n, const double *x, double *f, ntkc_error *err);
/* For nout = 1: adds f fᵀ to nngp and J·Jᵀ to ntk (either may be NULL) at the
 * current parameters, upper triangles only (i ≤ j); the rest is untouched. */
int finite_net_accumulate_kernels(FiniteNet *fn, size_t n, const double *x, double *nngp, double *ntk,
                                  ntkc_error *err);
/* grad = ∇θ Σ_{i,o} g_io·f_o(x_i) for the n×nout weights g, laid out like
 * finite_net_params, using the activations of the last finite_net_forward on
 * the same x (which the caller must have just run). */
int finite_net_vjp(FiniteNet *fn, size_t n, const double *x, const double *g, double *grad, ntkc_error *err);
/* out (n×nout) = J·v, the derivative of f(x_i) along the parameter direction
 * v (laid out like finite_net_params), by forward-mode differentiation at the
 * activations of the last finite_net_forward on the same x. */
int finite_net_jvp(FiniteNet *fn, size_t n, const double *x, const double *v, double *out, ntkc_error *err);
/* Adds J_u·J_uᵀ of output unit u (any nout) on the n inputs x to ntk, upper
 * triangle only (i ≤ j), at the current parameters; runs its own forward. */
int finite_net_accumulate_unit_ntk(FiniteNet *fn, size_t n, const double *x, size_t unit, double *ntk,
                                   ntkc_error *err);

#endif
