/* ntkc train on a net with dropout (train mode): the finite nets train with
 * fresh masks every step and are evaluated without dropout (eval mode), as
 * dropout is used. What the infinite ensemble's mean then is, in the lazy
 * regime (README, "Training dynamics", has the derivation):
 *
 *   the eval-mode outputs move by J_e(x*)·Δθ, Δθ = −(lr/N)·J_m(X)ᵀ(f_m(X) − Y)
 *   under the step's masks m. At infinite width J_e(x*)·J_m(x)ᵀ tends to the
 *   kernel of x* without masks against x with masks — its masks appear once,
 *   so their mean 1 is all that is left — and E_m f_m(X) is the net's mean
 *   output over masks. When nothing after a dropout reads an input's own
 *   variance (only dense, pooling, aggregation, readout, dropout follow it),
 *   both are the kernel and outputs of the net without dropout, which is
 *   ntkc's train-mode kernel between inputs that never share a mask (any
 *   pair of distinct inputs, or an input and its copy). The mask noise has
 *   mean zero and the dynamics are linear, so the ensemble mean is that
 *   kernel's regression; the covariance gains the noise (each step's
 *   f_m − E_m f_m, O(1) at any width, times lr/N), which this reference
 *   leaves out.
 *
 * After a nonlinearity the eval side's variance is unscaled and the train
 * side's is scaled by 1/rate: a mixed kernel ntkc does not compute, so the
 * net trains without a reference. ntkc's kernel with 1/rate on an input with
 * itself (neural-tangents') is instead the NTK of a net whose masks stay
 * fixed per input through training. */
#include "train_dropout.h"

#include <stdlib.h>
#include <string.h>

#include "ntkc_err.h"
#include "ntkc_tool.h"

static int scan(const IrOp *ops, size_t n, int *seen)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_DROPOUT)
            *seen = 1;
        else if (*seen && ops[i].rec.n > 0)
            return 0;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                if (!scan(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops, seen))
                    return 0;
    }
    return 1;
}

int train_dropout_has_reference(const IrNet *net)
{
    int seen = 0;
    return scan(net->ops, net->nops, &seen);
}

/* NNGP and NTK (either may be NULL) of p's rows against q's, q copied first
 * so that no row is the same input; graphs: two sets are never the same. */
static int cross(const ntkc_net *net, const FiniteData *p, const FiniteData *q, const ntkc_eval_options *eval,
                 double *nngp, double *ntk, ntkc_error *err)
{
    if (p->graphs)
        return ntkc_kernel_graphs(net, p->graphs, q->graphs, nngp, ntk, eval, err);
    size_t count = q->rows * q->dim;
    double *copy = malloc((count ? count : 1) * sizeof *copy);
    if (copy == NULL) {
        err_user(err, "train: out of memory for a copy of %zu inputs", q->rows);
        return err->code;
    }
    memcpy(copy, q->x, q->rows * q->dim * sizeof *copy);
    int rc = ntkc_kernel(net, p->rows, p->x, q->rows, copy, p->dim, nngp, ntk, eval, err);
    free(copy);
    return rc;
}

int train_dropout_predict(const ntkc_net *net, const FiniteData *a, const FiniteData *b, const double *y, size_t k,
                          const double *times, size_t T, const ntkc_eval_options *eval, double *mean, double *cov,
                          ntkc_error *err)
{
    size_t n = a->rows, m = b->rows;
    double *buf = malloc((2 * n * n + 2 * m * n + m * m) * sizeof *buf);
    if (buf == NULL) {
        err_user(err, "train: out of memory for the reference kernels");
        return err->code;
    }
    double *stt = buf, *ttt = stt + n * n, *sst = ttt + n * n, *tst = sst + m * n, *sss = tst + m * n;
    int rc = cross(net, a, a, eval, stt, ttt, err);
    if (rc == 0)
        rc = cross(net, b, a, eval, sst, tst, err);
    if (rc == 0)
        rc = cross(net, b, b, eval, sss, NULL, err);
    PredictInput in = {.n = n, .m = m, .k = k, .ntk_tt = ttt, .nngp_tt = stt, .ntk_st = tst, .nngp_st = sst,
                       .nngp_ss = sss, .y = y};
    if (rc == 0)
        rc = predict_gd_mse(&in, PREDICT_NTK, times, T, mean, cov, err);
    free(buf);
    return rc;
}
