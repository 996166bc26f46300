/* One prediction from kernels already computed, whichever the options of
 * ntkc_predict_options ask for: the ensemble on MSE (predict.h), one network
 * from its initial outputs fx0 (predict_fx0.h) or the training ODE for
 * cross-entropy and momentum (predict_ode.h). ntkc_predict, ntkc_predict_graphs
 * and `ntkc predict --k-train` all end here, so the options mean the same
 * wherever the kernels came from. */
#ifndef NTKC_PREDICT_SOLVE_H
#define NTKC_PREDICT_SOLVE_H

#include "ntkc.h"
#include "predict.h"
#include "predict_ode.h"

/* The options beyond the ensemble, checked against each other (user
 * errors): loss and momentum in range, learning_rate only with momentum, no
 * covariance (want_cov) for one network's outputs (fx0, xent, momentum), no
 * reg with the ODE (neural-tangents' gradient_descent has none). */
int predict_check_options(const ntkc_predict_options *o, int want_cov, ntkc_error *err);

/* 1 when o asks for the outputs of one network (fx0 given, cross-entropy or
 * momentum) rather than the ensemble's mean. */
int predict_options_one_net(const ntkc_predict_options *o);

/* in: kernels as predict_gd_mse takes them; kind picks the kernel G that
 * drives training (ntk_* for PREDICT_NTK, nngp_* for PREDICT_NNGP), which is
 * all that fx0 and the ODE read; reg and reg_absolute in `in` are used, o's
 * are not. mean: ntimes×m×k; cov: ntimes×m×m or NULL (the ensemble only);
 * o->train_mean, when not NULL, receives ntimes×n×k outputs on the training
 * points. ode (may be NULL) receives the integrator's counts (zero without
 * the ODE). Returns 0 or the error code. */
int predict_solve(const PredictInput *in, PredictKernel kind, const ntkc_predict_options *o,
                  const double *times, size_t ntimes, double *mean, double *cov, PredictOdeStats *ode,
                  ntkc_error *err);

#endif
