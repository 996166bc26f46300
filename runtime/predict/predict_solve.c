/* The prediction from kernels, dispatched on the options; declared in runtime/tool/ntkc_tool.h. */
#include "ntkc_tool.h"

#include <math.h>
#include <stdlib.h>


static int uses_ode(const ntkc_predict_options *o)
{
    return o->loss == NTKC_LOSS_XENT || o->momentum_on;
}

int predict_options_one_net(const ntkc_predict_options *o)
{
    return uses_ode(o) || o->fx0_train || o->fx0_test;
}

/* What makes the outputs one network's, for messages. */
static const char *one_net_reason(const ntkc_predict_options *o)
{
    return o->momentum_on ? "momentum" : o->loss == NTKC_LOSS_XENT ? "cross-entropy" : "initial outputs fx0";
}

int predict_check_options(const ntkc_predict_options *o, int want_cov, ntkc_error *err)
{
    if (o->loss != NTKC_LOSS_MSE && o->loss != NTKC_LOSS_XENT)
        err_user(err, "prediction: unknown loss %d (NTKC_LOSS_MSE or NTKC_LOSS_XENT)", (int)o->loss);
    else if (o->momentum_on && !(o->momentum >= 0 && o->momentum < 1))
        err_user(err, "prediction: the momentum is %g: it must be in [0, 1)", o->momentum);
    else if (!(o->learning_rate >= 0) || !isfinite(o->learning_rate))
        err_user(err, "prediction: the learning rate is %g: it must be a finite number > 0 (0 = 1)",
                  o->learning_rate);
    else if (o->learning_rate != 0 && !o->momentum_on)
        err_user(err, "prediction: a learning rate matters only with momentum (without it, time = learning "
                       "rate × steps)");
    else if (want_cov && predict_options_one_net(o))
        err_user(err, "prediction: a covariance is the ensemble's; with %s the outputs are one network's, "
                       "which has none", one_net_reason(o));
    else if (uses_ode(o) && o->reg != 0)
        err_user(err, "prediction: %s trains on the kernel as given (neural-tangents' gradient_descent has "
                       "no regulariser); set reg to 0", one_net_reason(o));
    return err->code;
}

/* The ensemble's mean on the training points: the flow from f = 0. */
static int ensemble_train_mean(const PredictInput *g, const double *times, size_t ntimes, double *train,
                               ntkc_error *err)
{
    size_t count = ntimes * g->m * g->k;
    double *scratch = malloc((count > 0 ? count : 1) * sizeof *scratch);
    if (scratch == NULL)
        return err_user(err, "prediction: out of memory for the test outputs"), err->code;
    predict_gd_mse_from(g, NULL, NULL, times, ntimes, train, scratch, err);
    free(scratch);
    return err->code;
}

int predict_solve(const PredictInput *in, PredictKernel kind, const ntkc_predict_options *o,
                  const double *times, size_t ntimes, double *mean, double *cov, PredictOdeStats *ode,
                  ntkc_error *err)
{
    if (ode)
        *ode = (PredictOdeStats){0};
    if (predict_check_options(o, cov != NULL, err))
        return err->code;
    /* g: the driving kernel G in the ntk_* fields, where predict_fx0 reads it. */
    PredictInput g = *in;
    if (kind == PREDICT_NNGP)
        g.ntk_tt = in->nngp_tt, g.ntk_st = in->nngp_st;
    if (uses_ode(o)) {
        PredictOde p = {.n = in->n, .m = in->m, .k = in->k, .g_tt = g.ntk_tt, .g_st = g.ntk_st, .y = in->y,
                        .fx0_train = o->fx0_train, .fx0_test = o->fx0_test,
                        .loss = o->loss == NTKC_LOSS_XENT ? PREDICT_LOSS_XENT : PREDICT_LOSS_MSE,
                        .momentum_on = o->momentum_on, .momentum = o->momentum,
                        .learning_rate = o->learning_rate > 0 ? o->learning_rate : 1};
        return predict_ode(&p, times, ntimes, o->train_mean, mean, ode, err);
    }
    if (o->fx0_train || o->fx0_test)
        return predict_gd_mse_from(&g, o->fx0_train, o->fx0_test, times, ntimes, o->train_mean, mean, err);
    if (predict_gd_mse(in, kind, times, ntimes, mean, cov, err) || o->train_mean == NULL)
        return err->code;
    return ensemble_train_mean(&g, times, ntimes, o->train_mean, err);
}
