/* The public doors to the mixed kernel of a net with dropout
 * (ntkc_kernel_dropout_mixed, ntkc_kernel_graphs_dropout_mixed) and to the
 * prediction of nets trained with fresh masks (ntkc_predict_options'
 * dropout_fresh): each equals the internal computation `ntkc train` uses bit
 * for bit, rate 1 and nets without dropout give the ordinary kernel, and the
 * options that make no sense are refused by name. The numbers themselves are
 * checked against a closed form (test_dropout_mixed.c) and finite networks
 * (test_monte_carlo.c, dropout_mixed_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "train_dropout.h"
#include "util.h"

enum { N = 5, M = 4, D = 6 };

static const char fc_src[] = "net n { dense(1.4, 0.1); dropout(0.6); dense(1.3); relu; dense(1.2); erf; dense }";

static ntkc_net *twin_or_fail(const ntkc_net *net)
{
    ntkc_error err = {0};
    ntkc_net *t = ntkc_net_dropout_eval(net, &err);
    cr_assert_not_null(t, "%s", err.message);
    return t;
}

/* x1 (M rows) in eval mode against x2 (N rows) masked, and x against itself: the public function equals the
 * net-and-twin one `ntkc train` calls, bit for bit. */
Test(dropout_mixed_api, equals_the_internal_kernel_bit_for_bit)
{
    double x1[M * D], x2[N * D], a[2 * M * N], b[2 * M * N], c[2 * N * N], d[2 * N * N];
    fill_random(x1, M * D, 11), fill_random(x2, N * D, 12);
    ntkc_net *net = compile_or_fail(fc_src, NTKC_BACKEND_TCC), *twin = twin_or_fail(net);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_dropout_mixed(net, M, x1, N, x2, D, a, a + M * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_dropout_mixed_twin(net, twin, M, x1, N, x2, D, b, b + M * N, NULL, &err), 0, "%s",
                 err.message);
    cr_expect(memcmp(a, b, sizeof a) == 0, "public and internal mixed kernels differ");
    cr_assert_eq(ntkc_kernel_dropout_mixed(net, N, x2, 0, NULL, D, c, c + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_dropout_mixed_twin(net, twin, N, x2, N, x2, D, d, d + N * N, NULL, &err), 0, "%s",
                 err.message);
    cr_expect(memcmp(c, d, sizeof c) == 0, "x2 = NULL is not x1 against itself under its masks");
    /* the mixed kernel is not the train-mode one: an input against itself has correlation √rate after the
     * dropout, so the diagonal differs from both the net's and the eval twin's */
    double plain[N * N];
    cr_assert_eq(ntkc_kernel(net, N, x2, 0, NULL, D, plain, NULL, NULL, &err), 0, "%s", err.message);
    cr_expect_gt(fabs(c[0] - plain[0]), 1e-3 * fabs(plain[0]), "mixed %g, train-mode %g", c[0], plain[0]);
    ntkc_net_free(twin);
    ntkc_net_free(net);
}

/* dropout(1.0) keeps every unit; a net without dropout has no masks: both give the ordinary kernel. */
Test(dropout_mixed_api, rate_one_and_no_dropout_are_the_ordinary_kernel)
{
    double x1[M * D], x2[N * D], a[2 * M * N], b[2 * M * N];
    fill_random(x1, M * D, 13), fill_random(x2, N * D, 14);
    ntkc_net *one = compile_or_fail("net n { dense(1.4, 0.1); dropout(1.0); dense(1.3); relu; dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *plain = compile_or_fail("net n { dense(1.4, 0.1); dense(1.3); relu; dense }", NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_dropout_mixed(one, M, x1, N, x2, D, a, a + M * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(plain, M, x1, N, x2, D, b, b + M * N, NULL, &err), 0, "%s", err.message);
    double worst = 0;
    for (size_t i = 0; i < 2 * M * N; i++)
        worst = fmax(worst, fabs(a[i] - b[i]) / fabs(b[i]));
    cr_expect_leq(worst, 1e-14, "rate 1: worst relative difference %g", worst);
    cr_assert_eq(ntkc_kernel_dropout_mixed(plain, M, x1, N, x2, D, a, a + M * N, NULL, &err), 0, "%s", err.message);
    cr_expect(memcmp(a, b, sizeof a) == 0, "no dropout: not the ordinary kernel");
    ntkc_net_free(plain);
    ntkc_net_free(one);
}

/* Graph nets: the public door equals the internal one, g2 = NULL meaning each graph against itself. */
Test(dropout_mixed_api, graphs_equal_the_internal_kernel)
{
    GraphText text = {0};
    Rand rnd = {5};
    int labels[6];
    gt_add_cycles_paths_stars(&text, &rnd, 6, labels);
    char *s = gt_finish(&text);
    ntkc_graphs *g = graphs_or_fail(s, 1);
    free(s);
    ntkc_net *net = compile_or_fail("net g { input graph(1); dense(1.4, 0.1); relu; dropout(0.7); dense(1.2)\n"
                                    "  aggregate; dense(1.1); relu; readout(sum); dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    double a[2 * 36], b[2 * 36];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs_dropout_mixed(net, g, NULL, a, a + 36, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs_dropout_mixed_twin(net, twin, g, g, b, b + 36, NULL, &err), 0, "%s",
                 err.message);
    cr_expect(memcmp(a, b, sizeof a) == 0, "public and internal graph mixed kernels differ");
    ntkc_net_free(twin);
    ntkc_net_free(net);
    ntkc_graphs_free(g);
}

Test(dropout_mixed_api, refusals_name_what_is_wrong)
{
    double x[N * D], k[N * N];
    fill_random(x, N * D, 15);
    ntkc_compile_options single = {.precision = NTKC_PRECISION_SINGLE};
    ntkc_error err = {0};
    ntkc_net *s = ntkc_compile_string(fc_src, "s.ntk", &single, &err);
    cr_assert_not_null(s, "%s", err.message);
    cr_expect_eq(ntkc_kernel_dropout_mixed(s, N, x, 0, NULL, D, k, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "single precision") != NULL, "%s", err.message);
    ntkc_net_free(s);
    ntkc_net *g = compile_or_fail("net g { input graph(1); dense; dropout(0.5); aggregate; readout(sum); dense }",
                                  NTKC_BACKEND_TCC);
    cr_expect_eq(ntkc_kernel_dropout_mixed(g, N, x, 0, NULL, D, k, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "ntkc_kernel_graphs_dropout_mixed") != NULL, "%s", err.message);
    ntkc_net_free(g);
    ntkc_net *v = compile_or_fail(fc_src, NTKC_BACKEND_TCC);
    cr_expect_eq(ntkc_kernel_graphs_dropout_mixed(v, NULL, NULL, k, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "does not take graphs") != NULL, "%s", err.message);
    ntkc_net_free(v);
}

/* dropout_fresh: ntkc_predict's mean and covariance equal those `ntkc train` compares its nets with
 * (train_dropout_predict) bit for bit, at finite times and at t = ∞. */
Test(dropout_mixed_api, predict_fresh_equals_the_training_reference)
{
    double xt[N * D], xs[M * D], y[N * 2], times[3] = {0.5, 4.0, INFINITY};
    fill_random(xt, N * D, 16), fill_random(xs, M * D, 17), fill_random(y, N * 2, 18);
    ntkc_net *net = compile_or_fail(fc_src, NTKC_BACKEND_TCC), *twin = twin_or_fail(net);
    ntkc_predict_options o = {.kernel = NTKC_PREDICT_NTK, .dropout_fresh = 1};
    double mean[3 * M * 2], cov[3 * M * M], rmean[3 * M * 2], rcov[3 * M * M];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict(net, N, xt, y, 2, M, xs, D, times, 3, &o, mean, cov, NULL, &err), 0, "%s",
                 err.message);
    FiniteData a = {.rows = N, .x = xt, .dim = D}, b = {.rows = M, .x = xs, .dim = D};
    cr_assert_eq(train_dropout_predict(net, twin, &a, &b, y, 2, times, 3, NULL, rmean, rcov, &err), 0, "%s",
                 err.message);
    cr_expect(memcmp(mean, rmean, sizeof mean) == 0, "the mean differs from train's reference");
    cr_expect(memcmp(cov, rcov, sizeof cov) == 0, "the covariance differs from train's reference");
    /* and it is not the default (fixed masks: the net's own kernels) */
    o.dropout_fresh = 0;
    cr_assert_eq(ntkc_predict(net, N, xt, y, 2, M, xs, D, times, 3, &o, rmean, NULL, NULL, &err), 0, "%s",
                 err.message);
    double d = 0, s = 0;
    for (size_t i = 0; i < 3 * M * 2; i++)
        d += (mean[i] - rmean[i]) * (mean[i] - rmean[i]), s += mean[i] * mean[i];
    cr_expect_gt(sqrt(d / s), 1e-3, "fresh and fixed coincide (%g)", sqrt(d / s));
    ntkc_net_free(twin);
    ntkc_net_free(net);
}

/* Graph nets: the same through ntkc_predict_graphs (train and test sets are two sets: no graph shared). */
Test(dropout_mixed_api, predict_graphs_fresh_equals_the_training_reference)
{
    GraphText text = {0}, text2 = {0};
    Rand rnd = {7}, rnd2 = {8};
    int labels[6], labels2[4];
    gt_add_cycles_paths_stars(&text, &rnd, 6, labels);
    gt_add_cycles_paths_stars(&text2, &rnd2, 4, labels2);
    char *s = gt_finish(&text), *s2 = gt_finish(&text2);
    ntkc_graphs *train = graphs_or_fail(s, 1), *test = graphs_or_fail(s2, 1);
    free(s), free(s2);
    ntkc_net *net = compile_or_fail("net g { input graph(1); dense(1.4, 0.1); relu; dropout(0.7); dense(1.2)\n"
                                    "  aggregate; dense(1.1); relu; readout(sum); dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    double y[6], times[2] = {1.5, INFINITY}, mean[2 * 4], cov[2 * 16], rmean[2 * 4], rcov[2 * 16];
    fill_random(y, 6, 25);
    ntkc_predict_options o = {.dropout_fresh = 1, .reg = 1e-3};
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict_graphs(net, train, y, 1, test, times, 2, &o, mean, cov, NULL, &err), 0, "%s",
                 err.message);
    /* the reference with the same regulariser: the kernels as train_dropout_kernels gives them */
    FiniteData a = {.rows = 6, .graphs = train}, b = {.rows = 4, .graphs = test};
    TrainDropoutKernels K;
    cr_assert_eq(train_dropout_kernels(net, twin, &a, &b, NULL, &K, &err), 0, "%s", err.message);
    PredictInput in = {.n = 6, .m = 4, .k = 1, .ntk_tt = K.ntk_tt, .nngp_tt = K.nngp_tt, .ntk_st = K.ntk_st,
                       .nngp_st = K.nngp_st, .nngp_ss = K.nngp_ss, .y = y, .reg = 1e-3};
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, rmean, rcov, &err), 0, "%s", err.message);
    cr_expect(memcmp(mean, rmean, sizeof mean) == 0, "graphs: the mean differs from train's reference");
    cr_expect(memcmp(cov, rcov, sizeof cov) == 0, "graphs: the covariance differs from train's reference");
    free(K.buf);
    ntkc_net_free(twin);
    ntkc_net_free(net);
    ntkc_graphs_free(train);
    ntkc_graphs_free(test);
}

/* No dropout: dropout_fresh changes nothing. */
Test(dropout_mixed_api, predict_fresh_without_dropout_is_the_ordinary_prediction)
{
    double xt[N * D], xs[M * D], y[N], times[2] = {1.0, INFINITY};
    fill_random(xt, N * D, 19), fill_random(xs, M * D, 20), fill_random(y, N, 21);
    ntkc_net *net = compile_or_fail("net n { dense(1.4, 0.1); relu; dense }", NTKC_BACKEND_TCC);
    ntkc_predict_options o = {.kernel = NTKC_PREDICT_NNGP, .dropout_fresh = 1};
    double a[2 * M], b[2 * M];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict(net, N, xt, y, 1, M, xs, D, times, 2, &o, a, NULL, NULL, &err), 0, "%s", err.message);
    o.dropout_fresh = 0;
    cr_assert_eq(ntkc_predict(net, N, xt, y, 1, M, xs, D, times, 2, &o, b, NULL, NULL, &err), 0, "%s", err.message);
    cr_expect(memcmp(a, b, sizeof a) == 0, "dropout_fresh changed a net without dropout");
    ntkc_net_free(net);
}

Test(dropout_mixed_api, predict_fresh_refusals)
{
    double xt[N * D], xs[M * D], y[N], f0[N], mean[M], train[N], t = 1.0;
    fill_random(xt, N * D, 22), fill_random(xs, M * D, 23), fill_random(y, N, 24);
    memset(f0, 0, sizeof f0);
    ntkc_net *net = compile_or_fail(fc_src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    ntkc_predict_options o = {.dropout_fresh = 1, .loss = NTKC_LOSS_XENT};
    cr_expect_eq(ntkc_predict(net, N, xt, y, 1, M, xs, D, &t, 1, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "dropout_fresh") && strstr(err.message, "cross-entropy"), "%s", err.message);
    o = (ntkc_predict_options){.dropout_fresh = 1, .fx0_train = f0};
    cr_expect_eq(ntkc_predict(net, N, xt, y, 1, M, xs, D, &t, 1, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "dropout_fresh") && strstr(err.message, "fx0"), "%s", err.message);
    o = (ntkc_predict_options){.dropout_fresh = 1, .train_mean = train};
    cr_expect_eq(ntkc_predict(net, N, xt, y, 1, M, xs, D, &t, 1, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "dropout_fresh") && strstr(err.message, "train_mean"), "%s", err.message);
    ntkc_net_free(net);
    ntkc_compile_options single = {.precision = NTKC_PRECISION_SINGLE};
    ntkc_net *s = ntkc_compile_string(fc_src, "s.ntk", &single, &err);
    cr_assert_not_null(s, "%s", err.message);
    o = (ntkc_predict_options){.dropout_fresh = 1};
    cr_expect_eq(ntkc_predict(s, N, xt, y, 1, M, xs, D, &t, 1, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "dropout_fresh") && strstr(err.message, "double precision"), "%s", err.message);
    ntkc_net_free(s);
}
