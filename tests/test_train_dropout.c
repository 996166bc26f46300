/* ntkc train on nets with dropout (README, "Training dynamics"): the finite
 * nets train with fresh masks every step and are evaluated without dropout.
 * Checked: eval mode is the net without dropout (bit for bit, the same
 * parameters); the ensemble's mean at large width is the kernel regression
 * of the kernel in which no two inputs share a mask — here, dropout before
 * the readout, the net without dropout — and not that of neural-tangents'
 * train-mode kernel (1/rate on an input with itself); graph nets train with
 * their reference; a net whose dropout feeds an activation has its reference
 * (the mixed kernel of eval-mode and masked inputs), with momentum too;
 * cross-entropy is refused. The
 * gradients under masks against central differences: test_train_families.c
 * (cgd, gd). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_model.h"
#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_tool.h"
#include "train_dropout.h"
#include "util.h"

enum { N = 12, M = 6, D = 6 };

static void data(double *x, double *y, double *xt, double *yt)
{
    fill_random(x, N * D, 81);
    fill_random(xt, M * D, 82);
    for (size_t i = 0; i < N + M; i++) { /* a smooth target of one feature direction */
        const double *r = i < N ? x + i * D : xt + (i - N) * D;
        double s = r[0] - 0.5 * r[1] + 0.3 * r[2];
        *(i < N ? &y[i] : &yt[i - N]) = sin(s);
    }
}

/* Eval mode runs the net as if every dropout were mode=test; train mode does not. */
Test(train_dropout, eval_mode_is_the_net_without_dropout)
{
    ntkc_net *a = compile_or_fail("net n { dense(1.4, 0.1); relu; dense(1.3); dropout(0.5); dense(1.2); erf\n"
                                  "  dense(1.1); dropout(0.7); dense(1.0, 0.1) }",
                                  NTKC_BACKEND_TCC);
    ntkc_net *b = compile_or_fail("net n { dense(1.4, 0.1); relu; dense(1.3); dropout(0.5, mode=test); dense(1.2)\n"
                                  "  erf; dense(1.1); dropout(0.7, mode=test); dense(1.0, 0.1) }",
                                  NTKC_BACKEND_TCC);
    double x[N * D], y[N], xt[M * D], yt[M], fa[N], fb[N], ft[N];
    data(x, y, xt, yt);
    FiniteData d = {.rows = N, .x = x, .dim = D};
    FiniteModel ma, mb;
    ntkc_error err = {0};
    cr_assert_eq(finite_model_new(ntkc_net_ir(a), &d, 64, 1, FINITE_AS_IR, &ma, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_new(ntkc_net_ir(b), &d, 64, 1, FINITE_AS_IR, &mb, &err), 0, "%s", err.message);
    cr_assert_eq(ma.np, mb.np);
    Rng r;
    rng_seed(&r, 3);
    finite_model_init(&ma, &r);
    memcpy(finite_model_params(&mb), finite_model_params(&ma), ma.np * sizeof(double));
    cr_assert_eq(finite_model_forward(&ma, &d, ft, &err), 0, "%s", err.message); /* init's masks */
    finite_model_dropout(&ma, 0, 0);
    cr_assert_eq(finite_model_forward(&ma, &d, fa, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_forward(&mb, &d, fb, &err), 0, "%s", err.message);
    double moved = 0;
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(fa[i], fb[i], "row %zu: eval mode %.17g, mode=test %.17g", i, fa[i], fb[i]);
        moved = fmax(moved, fabs(ft[i] - fb[i]));
    }
    cr_assert_gt(moved, 0.1, "train mode's masks change the outputs");
    finite_model_free(&ma);
    finite_model_free(&mb);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* ‖a − b‖_F / ‖b‖_F */
static double rel(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        d += (a[i] - b[i]) * (a[i] - b[i]), s += b[i] * b[i];
    return sqrt(d / s);
}

/* dropout(0.5) before the readout: nothing after it reads a variance, so the
 * reference is the net without dropout. A readout of w_std 0.1 keeps the
 * outputs' spread at initialisation (and the masks' noise, both ∝ w_std)
 * small beside the trained mean (which does not depend on w_std once t is
 * scaled by 1/w_std², hence lr 20). 8 nets per width trained to t = 800:
 * their mean must approach the reference as the width grows (a negative
 * log-log slope from 128 to 1024, where the finite-width kernel's O(1/√width)
 * spread dominates) and at width 1024 sit at most a third of the way from it
 * to the regression of the train-mode kernel (1/rate on the diagonal, what
 * ntkc predict computes for this net), so that it is at least twice as far
 * from the latter. */
Test(train_dropout, ensemble_mean_is_the_kernel_without_shared_masks, .timeout = TIMEOUT(300))
{
    const char *src = "net n { dense(1.4, 0.1); relu; dense(1.3); dropout(0.5); dense(0.1) }";
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    double x[N * D], y[N], xt[M * D], yt[M];
    data(x, y, xt, yt);
    static const size_t widths[] = {128, 1024};
    ntkc_train_options o = {.widths = widths, .nwidths = 2, .seeds = 8, .seed = 5, .lr = 20, .steps = 40,
                            .checkpoints = 1, .param = NTKC_PARAM_NTK};
    ntkc_train_result r;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_train_finite(net, N, x, y, 1, M, xt, yt, D, &o, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.dropout_note);
    cr_assert(strstr(r.dropout_note, "under independent masks") != NULL, "%s", r.dropout_note);
    size_t T = r.ntimes, last = T - 1;
    /* the alternative: ntkc predict's mean with neural-tangents' train-mode kernel */
    double t = r.times[last], alt[M], ref[M];
    ntkc_predict_options po = {.kernel = NTKC_PREDICT_NTK};
    cr_assert_eq(ntkc_predict(net, N, x, y, 1, M, xt, D, &t, 1, &po, alt, NULL, NULL, &err), 0, "%s", err.message);
    ntkc_net *plain = compile_or_fail("net n { dense(1.4, 0.1); relu; dense(1.3); dense(0.1) }", NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_predict(plain, N, x, y, 1, M, xt, D, &t, 1, &po, ref, NULL, NULL, &err), 0, "%s", err.message);
    double gap = rel(alt, ref, M);
    for (size_t w = 0; w < 2; w++) {
        size_t at = w * T + last;
        fprintf(stderr,
                "train dropout: width %zu, 8 seeds, t = %g: mean dist %.4f, mean z %.3f, cov dist %.3f (sampling "
                "%.3f); train L %.4g (infinite %.4g), test L %.4g (infinite %.4g)\n",
                widths[w], t, r.mean_dist[at], r.mean_z[at], r.cov_dist[at], r.cov_floor[at], r.train_loss[at],
                r.inf_train_loss[last], r.test_loss[at], r.inf_test_loss[last]);
    }
    fprintf(stderr, "train dropout: slope of mean dist %.3f; the train-mode kernel's mean is %.4f from the reference\n",
            r.slope_mean_dist, gap);
    cr_expect(r.slope_mean_dist < 0, "mean dist does not shrink with the width: slope %g", r.slope_mean_dist);
    cr_expect(r.mean_dist[T + last] < gap / 3, "width 1024: mean dist %g against a gap of %g to the train-mode kernel",
              r.mean_dist[T + last], gap);
    ntkc_train_result_free(&r);
    ntkc_net_free(plain);
    ntkc_net_free(net);
}

/* A graph net with node-level dropout before an aggregation and a relu, and
 * graph-level dropout before the readout: it trains, and its reference (the
 * mixed kernel of eval-mode and masked graphs) is computed. */
Test(train_dropout, graph_nets_train_with_their_reference, .timeout = TIMEOUT(120))
{
    GraphText text = {0};
    Rand rnd = {7};
    int labels[12];
    gt_add_cycles_paths_stars(&text, &rnd, 12, labels);
    char *s = gt_finish(&text);
    ntkc_graphs *g = graphs_or_fail(s, 1);
    free(s);
    ntkc_net *net = compile_or_fail("net g { input graph(1); dense(1.4, 0.1); relu; dense(1.2); dropout(0.6)\n"
                                    "  aggregate(scale=degree); dense(1.3); relu; readout(mean); dense(1.1); dropout(0.8); dense(1.0) }",
                                    NTKC_BACKEND_TCC);
    double y[12];
    for (int i = 0; i < 12; i++)
        y[i] = labels[i] - 1.0;
    static const size_t widths[] = {64, 256};
    ntkc_train_options o = {.widths = widths, .nwidths = 2, .seeds = 4, .seed = 2, .lr = 0.5, .steps = 10,
                            .checkpoints = 1, .param = NTKC_PARAM_NTK};
    ntkc_train_result r;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_train_finite_graphs(net, g, y, 1, g, NULL, &o, &r, &err), 0, "%s", err.message);
    size_t last = r.ntimes - 1;
    cr_assert_not_null(r.dropout_note);
    for (size_t w = 0; w < 2; w++)
        cr_expect(isfinite(r.mean_dist[w * r.ntimes + last]) && isfinite(r.mean_z[w * r.ntimes + last]),
                  "width %zu: mean dist %g, z %g", widths[w], r.mean_dist[w * r.ntimes + last],
                  r.mean_z[w * r.ntimes + last]);
    cr_expect(r.train_loss[r.ntimes + last] < r.train_loss[r.ntimes], "the nets learn: %g from %g",
              r.train_loss[r.ntimes + last], r.train_loss[r.ntimes]);
    ntkc_train_result_free(&r);
    ntkc_net_free(net);
    ntkc_graphs_free(g);
}

/* √(mean over entries of (a − b)²·S/C_ii): how many of the S-seed
 * ensemble's standard errors (from the reference's covariance C) a and b
 * are apart — a reference that far from the right one fails mean z ≤ 3
 * whenever the right one passes it by at least that margin. */
static double z_apart(const double *a, const double *b, const double *cov, size_t m, size_t S)
{
    double z = 0;
    for (size_t i = 0; i < m; i++)
        z += (a[i] - b[i]) * (a[i] - b[i]) * (double)S / cov[i * m + i];
    return sqrt(z / (double)m);
}

/* dropout → dense → relu → readout: the relu reads each input's own
 * variance, scaled by 1/rate on the masked (training) side only. The
 * reference (train_dropout.c): the kernel between training inputs under
 * independent masks and the mixed kernel between eval-mode test inputs and
 * masked training inputs. 24 nets at width 512 against it at every recorded
 * time with the criterion of the other training tests (test_train_families_mc.c):
 * mean z ≤ 3 (the standard error √(C_ii/S) from the reference's covariance)
 * and cov dist ≤ 3× the sampling floor; with momentum (heavy ball on MSE: the
 * ODE's mean from f0 = 0 and the covariance of its affine map of f0) the
 * same. Test inputs lie near training inputs (large test–train kernels) and
 * the readout is small (0.15, lr 10: the spread at initialisation shrinks
 * beside the trained mean), so that the reference with both sides masked
 * (each input's own variance scaled by 1/rate on both sides, what this case
 * lacked) lies more than 3 standard errors from it: this criterion can tell
 * the two apart. One nonlinearity keeps the finite-width bias of the mean
 * below the seeds' noise at width 512 (with a relu before the dropout too,
 * mean z reached 3.9 there: a 6 % bias at 16 seeds). */
static void nonlinear_after_dropout(int momentum)
{
    const char *src = "net n { dense(1.4, 0.1); dropout(0.4); dense(1.2); relu; dense(0.15) }";
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    double x[N * D], y[N], xt[M * D], yt[M], dx[M * D];
    data(x, y, xt, yt);
    fill_random(dx, M * D, 83);
    for (size_t i = 0; i < M * D; i++) /* test inputs near training inputs: large test-train kernels */
        xt[i] = x[i] + 0.3 * dx[i];
    static const size_t widths[] = {32, 512};
    const size_t S = 24;
    ntkc_train_options o = {.widths = widths, .nwidths = 2, .seeds = S, .seed = 9, .lr = momentum ? 5 : 10,
                            .steps = 80, .checkpoints = 2, .param = NTKC_PARAM_NTK, .momentum_on = momentum,
                            .momentum = 0.5};
    ntkc_train_result r;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_train_finite(net, N, x, y, 1, M, xt, yt, D, &o, &r, &err), 0, "%s", err.message);
    size_t T = r.ntimes, last = T - 1;
    for (size_t c = 1; c < T; c++) {
        size_t at = T + c;
        fprintf(stderr, "train dropout%s: relu after dropout, width 512, t = %g: mean dist %.4f, mean z %.3f, cov dist "
                        "%.3f (sampling %.3f)\n", momentum ? " with momentum" : "", r.times[c], r.mean_dist[at],
                r.mean_z[at], r.cov_dist[at], r.cov_floor[at]);
        cr_expect(r.mean_z[at] <= 3.0, "t = %g: mean z %g", r.times[c], r.mean_z[at]);
        cr_expect(r.cov_dist[at] <= 3.0 * r.cov_floor[at], "t = %g: cov dist %g, sampling %g", r.times[c],
                  r.cov_dist[at], r.cov_floor[at]);
    }
    if (!momentum) { /* the reference with both sides masked, at the last time */
        double t = r.times[last], ref[M], cov[M * M], alt[M], copy[N * D], *k = malloc(5 * N * N * sizeof *k);
        memcpy(copy, x, sizeof x);
        ntkc_net *twin = ntkc_net_dropout_eval(net, &err);
        cr_assert_not_null(twin, "%s", err.message);
        FiniteData a = {.rows = N, .x = x, .dim = D}, b = {.rows = M, .x = xt, .dim = D};
        cr_assert_eq(train_dropout_predict(net, twin, &a, &b, y, 1, &t, 1, NULL, ref, cov, &err), 0, "%s",
                     err.message);
        double *stt = k, *ttt = k + N * N, *sst = k + 2 * N * N, *tst = k + 3 * N * N, *sss = k + 4 * N * N;
        cr_assert_eq(ntkc_kernel(net, N, x, N, copy, D, stt, ttt, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(net, M, xt, N, copy, D, sst, tst, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(twin, M, xt, 0, NULL, D, sss, NULL, NULL, &err), 0, "%s", err.message);
        PredictInput in = {.n = N, .m = M, .k = 1, .ntk_tt = ttt, .nngp_tt = stt, .ntk_st = tst, .nngp_st = sst,
                           .nngp_ss = sss, .y = y};
        cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, &t, 1, alt, NULL, &err), 0, "%s", err.message);
        double apart = z_apart(alt, ref, cov, M, S);
        fprintf(stderr, "train dropout: both sides masked, t = %g: %.2f standard errors from the reference, mean z "
                        "at width 512 %.3f\n", t, apart, r.mean_z[T + last]);
        cr_expect(apart > 3.0, "the both-sides-masked reference is only %.2f standard errors away", apart);
        free(k);
        ntkc_net_free(twin);
    }
    ntkc_train_result_free(&r);
    ntkc_net_free(net);
}

Test(train_dropout, a_nonlinearity_after_dropout_has_its_reference, .timeout = TIMEOUT(300))
{
    nonlinear_after_dropout(0);
}

Test(train_dropout, momentum_with_dropout_has_its_reference, .timeout = TIMEOUT(300))
{
    nonlinear_after_dropout(1);
}

/* Cross-entropy with dropout is refused: the masks' noise enters the
 * softmax (README, "Training dynamics"). */
Test(train_dropout, cross_entropy_is_refused)
{
    ntkc_net *net = compile_or_fail("net n { dense(1.4); relu; dense(1.3); dropout(0.5); dense }", NTKC_BACKEND_TCC);
    double x[N * D], y[N * 2] = {0}, xt[M * D], yt[M], y1[N];
    data(x, y1, xt, yt);
    for (size_t i = 0; i < N; i++)
        y[2 * i + (y1[i] > 0)] = 1;
    static const size_t widths[] = {8};
    for (int k = 0; k < 2; k++) {
        ntkc_train_options o = {.widths = widths, .nwidths = 1, .seeds = 2, .lr = 0.25, .steps = 2,
                                .loss = NTKC_LOSS_XENT, .momentum_on = k, .momentum = 0.5};
        ntkc_train_result r;
        ntkc_error err = {0};
        cr_assert_eq(ntkc_train_finite(net, N, x, y, 2, M, xt, NULL, D, &o, &r, &err), 1);
        cr_expect(strstr(err.message, "has dropout: training it on cross-entropy is refused") != NULL, "%s",
                  err.message);
        ntkc_train_result_free(&r);
    }
    ntkc_net_free(net);
}
