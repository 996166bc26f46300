/* ntkc train on a net with dropout (train mode): the finite nets train with
 * fresh masks every step and are evaluated without dropout (eval mode), as
 * dropout is used. The infinite ensemble's reference, in the lazy regime
 * (README, "Training dynamics", has the derivation in full):
 *
 *   with η = lr/N and r_u the residual under step u's masks m_u, the
 *   linearised parameters move by −η·Σ_{u<s} J_{m_u}(X)ᵀr_u, so the training
 *   outputs under step s's masks move by J_{m_s}(X)·J_{m_u}(X)ᵀ and the
 *   eval-mode test outputs by J_e(x*)·J_{m_u}(X)ᵀ: always two independent
 *   mask draws, or one draw against none — the Gram under one step's own
 *   masks (1/rate on its diagonal) never enters. For fixed masks these
 *   products are averages over each layer's units of per-unit products that
 *   are i.i.d. given the layer below (masks i.i.d. per unit, independent of
 *   the weights), so they concentrate on their expectation, which sees a
 *   mask only through E[m/rate] = 1 (once) and E[m²/rate²] = 1/rate (one
 *   draw twice). Hence the training kernel K_mm: each input's own variance
 *   scaled at every dropout, the pair's covariance not (ntkc's train-mode
 *   kernel of X against a copy of X); and the test kernel K_em: the eval
 *   side's variance unscaled, the masked side's scaled, the covariance not —
 *   ntkc_kernel_dropout_mixed_twin, the net's eval-mode twin supplying the eval
 *   side's records.
 *
 *   The residual's initial part f_m(X; θ0) = μ(X) + ξ: μ the net averaged
 *   over masks (≠ f_e(X; θ0) when a nonlinearity follows a dropout), ξ the
 *   masks' noise, mean 0 and O(1) at any width. μ is odd in the readout
 *   weights, so the ensemble mean needs no correction; over initialisations
 *   μ is Gaussian with K_mm's NNGP and meets f_e through K_em's. On MSE (and
 *   heavy-ball momentum on MSE) the dynamics are linear: the mean is the
 *   regression (the ODE from f0 = 0) with K_mm and K_em, the covariance the
 *   NTK-GP formula (the covariance of the ODE's affine map of f0) with their
 *   NNGPs and the eval-mode test NNGP. The noise ξ adds a covariance of
 *   O(lr/N), left out (the gradient-flow limit). Cross-entropy is refused:
 *   its drift is E_ξ softmax(h + ξ), not a kernel ODE of the outputs. */
#include "train_dropout.h"

#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc_err.h"
#include "ntkc_tool.h"

/* NNGP and NTK (either may be NULL) of p's rows against q's, both under
 * masks that no pair shares: q copied first so that no row is the same
 * input; graphs: two sets are never the same. */
static int masked_masked(const ntkc_net *net, const FiniteData *p, const FiniteData *q,
                         const ntkc_eval_options *eval, double *nngp, double *ntk, ntkc_error *err)
{
    if (p->graphs)
        return ntkc_kernel_graphs(net, p->graphs, q->graphs, nngp, ntk, eval, err);
    return ntkc_kernel_two_draws(net, p->rows, p->x, q->rows, q->x, p->dim, nngp, ntk, eval, err);
}

/* p's rows in eval mode against q's under their masks (the mixed kernel). */
static int eval_masked(const ntkc_net *net, const ntkc_net *twin, const FiniteData *p, const FiniteData *q,
                       const ntkc_eval_options *eval, double *nngp, double *ntk, ntkc_error *err)
{
    if (p->graphs)
        return ntkc_kernel_graphs_dropout_mixed_twin(net, twin, p->graphs, q->graphs, nngp, ntk, eval, err);
    return ntkc_kernel_dropout_mixed_twin(net, twin, p->rows, p->x, q->rows, q->x, p->dim, nngp, ntk, eval, err);
}

/* p's rows against themselves, both in eval mode: the twin's kernel. */
static int eval_eval(const ntkc_net *twin, const FiniteData *p, const ntkc_eval_options *eval, double *nngp,
                     ntkc_error *err)
{
    if (p->graphs)
        return ntkc_kernel_graphs(twin, p->graphs, NULL, nngp, NULL, eval, err);
    return ntkc_kernel(twin, p->rows, p->x, 0, NULL, p->dim, nngp, NULL, eval, err);
}

int train_dropout_kernels(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                          const ntkc_eval_options *eval, TrainDropoutKernels *k, ntkc_error *err)
{
    size_t n = a->rows, m = b->rows;
    memset(k, 0, sizeof *k);
    k->buf = malloc((2 * n * n + 2 * m * n + m * m) * sizeof *k->buf);
    if (k->buf == NULL) {
        err_user(err, "train: out of memory for the reference kernels");
        return err->code;
    }
    k->nngp_tt = k->buf, k->ntk_tt = k->nngp_tt + n * n, k->nngp_st = k->ntk_tt + n * n;
    k->ntk_st = k->nngp_st + m * n, k->nngp_ss = k->ntk_st + m * n;
    int rc = masked_masked(net, a, a, eval, k->nngp_tt, k->ntk_tt, err);
    if (rc == 0)
        rc = eval_masked(net, twin, b, a, eval, k->nngp_st, k->ntk_st, err);
    if (rc == 0)
        rc = eval_eval(twin, b, eval, k->nngp_ss, err);
    if (rc) {
        free(k->buf);
        memset(k, 0, sizeof *k);
    }
    return rc;
}

int train_dropout_predict(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                          const double *y, size_t k, const double *times, size_t T, const ntkc_eval_options *eval,
                          double *mean, double *cov, ntkc_error *err)
{
    TrainDropoutKernels K;
    if (train_dropout_kernels(net, twin, a, b, eval, &K, err))
        return err->code;
    PredictInput in = {.n = a->rows, .m = b->rows, .k = k, .ntk_tt = K.ntk_tt, .nngp_tt = K.nngp_tt,
                       .ntk_st = K.ntk_st, .nngp_st = K.nngp_st, .nngp_ss = K.nngp_ss, .y = y};
    int rc = predict_gd_mse(&in, PREDICT_NTK, times, T, mean, cov, err);
    free(K.buf);
    return rc;
}

/* c = a·bᵀ (+ c when acc): a r×q, b s×q, c r×s, row-major. */
static void mul_abt(size_t r, size_t s, size_t q, const double *a, const double *b, double *c, int acc)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < s; j++) {
            double v = acc ? c[i * s + j] : 0.0;
            for (size_t l = 0; l < q; l++)
                v += a[i * q + l] * b[j * q + l];
            c[i * s + j] = v;
        }
}

/* cov = Σ_ss + B·Σ_ts + Σ_st·Bᵀ + B·Σ_tt·Bᵀ for one time: the covariance of
 * f_test0 + B·f_train0 (m×n B; tmp m×n). */
static void affine_cov(size_t n, size_t m, const TrainDropoutKernels *K, const double *B, double *tmp, double *cov)
{
    mul_abt(m, n, n, B, K->nngp_tt, tmp, 0); /* B·Σ_tt (Σ_tt symmetric) */
    for (size_t i = 0; i < m * n; i++)
        tmp[i] += 2.0 * K->nngp_st[i];
    mul_abt(m, m, n, tmp, B, cov, 0); /* B·Σ_tt·Bᵀ + 2·Σ_st·Bᵀ */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < i; j++) { /* B·Σ_ts = (Σ_st·Bᵀ)ᵀ: the symmetric part of 2·Σ_st·Bᵀ is their sum */
            double v = 0.5 * (cov[i * m + j] + cov[j * m + i]);
            cov[i * m + j] = cov[j * m + i] = v;
        }
    for (size_t i = 0; i < m * m; i++)
        cov[i] += K->nngp_ss[i];
}

int train_dropout_momentum(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                           const double *y, size_t k, const TrainDropoutMomentum *mo, const ntkc_eval_options *eval,
                           double *mean, double *cov, ntkc_error *err)
{
    size_t n = a->rows, m = b->rows, T = mo->ntimes;
    TrainDropoutKernels K;
    if (train_dropout_kernels(net, twin, a, b, eval, &K, err))
        return err->code;
    PredictOde p = {.n = n, .m = m, .k = k, .g_tt = K.ntk_tt, .g_st = K.ntk_st, .y = y, .loss = PREDICT_LOSS_MSE,
                    .momentum_on = 1, .momentum = mo->momentum, .learning_rate = mo->lr};
    int rc = predict_ode(&p, mo->times, T, NULL, mean, NULL, err); /* the mean: f0 = 0 */
    /* B(t): the test outputs' response to the training outputs at 0 — n columns at once (outputs = n, so
     * the kernels are scaled by n/k to keep N = n·k's time scale), from f_train0 = I, f_test0 = 0, y = 0 */
    double *g = malloc((n * n + m * n + n * n + n * n + m * n + T * m * n + m * n) * sizeof *g);
    if (rc == 0 && g == NULL)
        rc = (err_user(err, "train: out of memory for the momentum reference"), err->code);
    if (rc == 0) {
        double *g_tt = g, *g_st = g_tt + n * n, *eye = g_st + m * n, *zero = eye + n * n, *zt = zero + n * n,
               *B = zt + m * n, *tmp = B + T * m * n;
        for (size_t i = 0; i < n * n; i++)
            g_tt[i] = K.ntk_tt[i] * (double)n / (double)k, eye[i] = (i % (n + 1)) == 0, zero[i] = 0;
        for (size_t i = 0; i < m * n; i++)
            g_st[i] = K.ntk_st[i] * (double)n / (double)k, zt[i] = 0;
        PredictOde q = p;
        q.k = n, q.g_tt = g_tt, q.g_st = g_st, q.y = zero, q.fx0_train = eye, q.fx0_test = zt;
        rc = predict_ode(&q, mo->times, T, NULL, B, NULL, err);
        for (size_t c = 0; rc == 0 && c < T; c++)
            affine_cov(n, m, &K, B + c * m * n, tmp, cov + c * m * m);
    }
    free(g);
    free(K.buf);
    return rc;
}
