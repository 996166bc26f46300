/* The public mixed kernel of a net with dropout (ntkc.h): eval-mode inputs
 * against inputs under their own masks. The net's eval-mode twin is compiled
 * for the call and freed after it, so the net itself stays read-only (no
 * cache to guard across threads). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ir_dropout_eval.h"
#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_err.h"

/* What both entry points refuse before compiling anything. */
static int check_mixed_net(const ntkc_net *net, int graphs, ntkc_error *err)
{
    if (net == NULL) {
        err_internal(err, "ntkc_kernel%s_dropout_mixed: the net is NULL", graphs ? "_graphs" : "");
        return err->code;
    }
    if (ntkc_net_is_single(net)) {
        err_user(err, "net '%s' was compiled for single precision: the dropout-mixed kernel is computed in double "
                      "precision only",
                 ntkc_net_name(net));
        return err->code;
    }
    if (ntkc_net_takes_graphs(net) != graphs) {
        err_user(err, graphs ? "net '%s' does not take graphs: use ntkc_kernel_dropout_mixed"
                             : "net '%s' takes graphs (input graph): use ntkc_kernel_graphs_dropout_mixed",
                 ntkc_net_name(net));
        return err->code;
    }
    return NTKC_OK;
}

int ntkc_kernel_dropout_mixed(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    err_clear(err);
    if (check_mixed_net(net, 0, err) != NTKC_OK)
        return err->code;
    if (x1 == NULL && n1 > 0) {
        err_internal(err, "ntkc_kernel_dropout_mixed: x1 is NULL");
        return err->code;
    }
    if (x2 == NULL)
        x2 = x1, n2 = n1;
    /* no masks: the ordinary kernel; x2 passed even when it is x1, so every entry is computed as the masked
     * case computes it (no triangle mirrored) */
    if (!ir_has_dropout(ntkc_net_ir(net)))
        return ntkc_kernel(net, n1, x1, n2, x2, dim, nngp, ntk, opts, err);
    ntkc_net *twin = ntkc_net_dropout_eval(net, err);
    if (twin == NULL)
        return err->code;
    int rc = ntkc_kernel_dropout_mixed_twin(net, twin, n1, x1, n2, x2, dim, nngp, ntk, opts, err);
    ntkc_net_free(twin);
    return rc;
}

int ntkc_kernel_graphs_dropout_mixed(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2,
                                     double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    err_clear(err);
    if (check_mixed_net(net, 1, err) != NTKC_OK)
        return err->code;
    if (g1 == NULL) {
        err_internal(err, "ntkc_kernel_graphs_dropout_mixed: g1 is NULL");
        return err->code;
    }
    if (g2 == NULL) /* two sets are never the same graphs: each graph of g1 against itself under its masks */
        g2 = g1;
    if (!ir_has_dropout(ntkc_net_ir(net)))
        return ntkc_kernel_graphs(net, g1, g2, nngp, ntk, opts, err);
    ntkc_net *twin = ntkc_net_dropout_eval(net, err);
    if (twin == NULL)
        return err->code;
    int rc = ntkc_kernel_graphs_dropout_mixed_twin(net, twin, g1, g2, nngp, ntk, opts, err);
    ntkc_net_free(twin);
    return rc;
}

int ntkc_kernel_two_draws(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                          double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    size_t count = n2 * dim;
    double *copy = malloc((count ? count : 1) * sizeof *copy);
    if (copy == NULL) {
        err_user(err, "out of memory for a copy of %zu inputs (two mask draws)", n2);
        return err->code;
    }
    memcpy(copy, x2, count * sizeof *copy);
    int rc = ntkc_kernel(net, n1, x1, n2, copy, dim, nngp, ntk, opts, err);
    free(copy);
    return rc;
}

/* dropout_fresh predicts the ensemble trained with fresh masks: what one network does from its own start
 * under masks (μ, not observable) is not defined, nor its outputs on the training inputs as the masked
 * kernels give them (README, "Training dynamics"); the mixed kernel is float64 only. */
int predict_check_dropout_fresh(const ntkc_net *net, const ntkc_predict_options *o, int train_mean, ntkc_error *err)
{
    static const char why[] = "the masks' noise makes it no kernel ODE of the outputs (README, \"Training dynamics\")";
    if (!o->dropout_fresh)
        return NTKC_OK;
    if (o->loss == NTKC_LOSS_XENT)
        err_user(err, "prediction: dropout_fresh (--dropout fresh) does not go with cross-entropy: %s", why);
    else if (o->fx0_train || o->fx0_test)
        err_user(err, "prediction: dropout_fresh (--dropout fresh) does not go with initial outputs fx0: one "
                      "network's start under masks is not observable (README, \"Training dynamics\")");
    else if (o->train_mean || train_mean)
        err_user(err, "prediction: dropout_fresh (--dropout fresh) does not go with train_mean: pass the training "
                      "inputs as test inputs for their outputs without dropout");
    else if (net && ir_has_dropout(ntkc_net_ir(net)) && ntkc_net_is_single(net))
        err_user(err, "prediction: dropout_fresh (--dropout fresh) needs a net compiled for double precision: "
                      "its mixed kernel is float64 only (net '%s')",
                 ntkc_net_name(net));
    return err->code;
}
