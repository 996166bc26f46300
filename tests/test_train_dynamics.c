/* ntkc_train_finite and what it rests on: forward-mode tangents against
 * finite differences and against the adjoint (vjp); the μP parameterization's
 * initial function; finite ensembles approaching ntkc_predict's mean and
 * covariance as width grows; the kernel that stops moving under the NTK
 * parameterization and keeps moving under μP. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_net.h"
#include "finite_test_nets.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 6, DIM = 3, K = 2 };

static void mlp(TestNet *t)
{
    IrOp ops[] = {test_dense(1.5, 0.1, 1, 0), test_act("erf"), test_dense(1.2, 0.2, 1, 0), test_act("relu"),
                  test_dense(1.0, 0.1, 1, 0)};
    test_net(t, PARAM_NTK, ops, 5);
}

static FiniteNet *fresh(const TestNet *t, size_t width, FiniteParam param, unsigned long long seed)
{
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new_param(&t->net, DIM, width, K, param, &err);
    cr_assert_not_null(fn, "%s", err.message);
    Rng r;
    rng_seed(&r, seed);
    finite_net_init(fn, &r);
    return fn;
}

/* J·v by central differences has error O(h²·f'''), ~1e-8 at h = 1e-4 for
 * these O(1) nets; ⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩ holds to rounding. */
Test(train_dynamics, jvp_matches_differences_and_vjp, .timeout = TIMEOUT(10))
{
    TestNet t;
    mlp(&t);
    FiniteNet *fn = fresh(&t, 16, FINITE_AS_IR, 1);
    size_t np;
    double *theta = finite_net_params(fn, &np), *v = malloc(np * sizeof *v), *g = malloc(np * sizeof *g);
    double x[N * DIM], u[N * K], jv[N * K], fp[N * K], fm[N * K];
    fill_random(x, N * DIM, 2);
    fill_random(u, N * K, 3);
    fill_random(v, np, 4);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_forward(fn, N, x, fp, &err), 0);
    cr_assert_eq(finite_net_jvp(fn, N, x, v, jv, &err), 0, "%s", err.message);
    cr_assert_eq(finite_net_vjp(fn, N, x, u, g, &err), 0, "%s", err.message);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < N * K; i++)
        lhs += jv[i] * u[i];
    for (size_t p = 0; p < np; p++)
        rhs += v[p] * g[p];
    cr_assert_float_eq(lhs, rhs, 1e-12 * (fabs(lhs) + 1), "<Jv,u> %.17g vs <v,J'u> %.17g", lhs, rhs);
    const double h = 1e-4;
    double *saved = malloc(np * sizeof *saved);
    memcpy(saved, theta, np * sizeof *theta);
    for (size_t p = 0; p < np; p++)
        theta[p] = saved[p] + h * v[p];
    finite_net_forward(fn, N, x, fp, &err);
    for (size_t p = 0; p < np; p++)
        theta[p] = saved[p] - h * v[p];
    finite_net_forward(fn, N, x, fm, &err);
    for (size_t i = 0; i < N * K; i++) /* relu kinks: none of the 6 inputs sits within h of one (checked by size) */
        cr_assert_float_eq(jv[i], (fp[i] - fm[i]) / (2 * h), 1e-6, "entry %zu", i);
    free(v), free(g), free(saved);
    finite_net_free(fn);
}

/* Same seed, same draws: μP's hidden pre-activations equal the NTK
 * parameterization's, so with a bias-free readout f_μP = f_NTK/√n. */
Test(train_dynamics, mup_initial_function_is_ntk_over_sqrt_width)
{
    TestNet t;
    IrOp ops[] = {test_dense(1.5, 0.1, 1, 0), test_act("erf"), test_dense(1.2, 0.2, 1, 0), test_act("relu"),
                  test_dense(1.0, 0.0, 0, 0)};
    test_net(&t, PARAM_NTK, ops, 5);
    const size_t width = 64;
    FiniteNet *a = fresh(&t, width, FINITE_AS_IR, 7), *b = fresh(&t, width, FINITE_MUP, 7);
    double x[N * DIM], fa[N * K], fb[N * K];
    fill_random(x, N * DIM, 8);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_forward(a, N, x, fa, &err), 0);
    cr_assert_eq(finite_net_forward(b, N, x, fb, &err), 0);
    for (size_t i = 0; i < N * K; i++)
        cr_assert_float_eq(fb[i], fa[i] / sqrt((double)width), 1e-13, "entry %zu: %g vs %g", i, fb[i], fa[i]);
    finite_net_free(a), finite_net_free(b);
}

Test(train_dynamics, mup_needs_the_ntk_parameterization)
{
    TestNet t;
    IrOp ops[] = {test_dense(1.5, 0.1, 1, 8), test_act("relu"), test_dense(1.0, 0.1, 1, 0)};
    test_net(&t, PARAM_STANDARD, ops, 3);
    ntkc_error err = {0};
    cr_assert_null(finite_net_new_param(&t.net, DIM, 8, 1, FINITE_MUP, &err));
    cr_assert(strstr(err.message, "NTK parameterization") != NULL, "%s", err.message);
}

/* A small regression problem for the ensembles. */
enum { TN = 8, TM = 5, TD = 2 };
static void problem(double *x, double *y, double *xt)
{
    fill_random(x, TN * TD, 51);
    fill_random(xt, TM * TD, 52);
    for (size_t i = 0; i < TN; i++)
        y[i] = sin(2 * x[i * TD]) * cos(x[i * TD + 1]);
}

#define ONE_HIDDEN "net one { dense(1.5, 0.2); relu; dense(1.0, 0.1) }\n"

static void train(ntkc_net *net, const size_t *widths, size_t nw, size_t seeds, ntkc_parameterization param,
                  double lr, size_t steps, ntkc_train_result *r)
{
    double x[TN * TD], y[TN], xt[TM * TD];
    problem(x, y, xt);
    ntkc_train_options o = {.widths = widths, .nwidths = nw, .seeds = seeds, .seed = 3, .lr = lr, .steps = steps,
                            .checkpoints = 4, .param = param, .linearized = 1};
    ntkc_error err;
    cr_assert_eq(ntkc_train_finite(net, TN, x, y, 1, TM, xt, NULL, TD, &o, r, &err), 0, "%s", err.message);
}

/* The ensemble of S wide nets against ntkc_predict at every recorded time:
 * the mean within 3 standard errors (z ≤ 3, the standard error √(C_ii/S)
 * from predict's own covariance), the covariance within 3× the distance S
 * Gaussian samples alone leave (cov_floor). At width 16 the finite-width
 * error shows (z reaches 2.25 at the last time); at 4096 it is below the
 * seeds' noise (z <= 0.91), and the net is 12x closer to its linearisation. */
Test(train_dynamics, ensembles_approach_the_kernel_prediction, .timeout = TIMEOUT(60))
{
    ntkc_net *net = compile_or_fail(ONE_HIDDEN, NTKC_BACKEND_TCC);
    const size_t widths[2] = {16, 4096}, S = 48;
    ntkc_train_result r;
    train(net, widths, 2, S, NTKC_PARAM_NTK, 2.0, 40, &r);
    size_t T = r.ntimes;
    for (size_t c = 0; c < T; c++) {
        size_t at = T + c; /* width 4096 */
        cr_assert(r.mean_z[at] <= 3.0, "t = %g: mean z %g", r.times[c], r.mean_z[at]);
        cr_assert(r.cov_dist[at] <= 3.0 * r.cov_floor[at], "t = %g: cov dist %g, sampling alone %g", r.times[c],
                  r.cov_dist[at], r.cov_floor[at]);
    }
    cr_assert(r.lin_dist[2 * T - 1] < r.lin_dist[T - 1], "|f - f_lin| %g at 4096 vs %g at 16", r.lin_dist[2 * T - 1],
              r.lin_dist[T - 1]);
    cr_assert(r.train_loss[2 * T - 1] < 0.5 * r.train_loss[T], "the wide nets learn: %g from %g",
              r.train_loss[2 * T - 1], r.train_loss[T]);
    ntkc_train_result_free(&r);
    ntkc_net_free(net);
}

/* The lazy regime and the other one: between widths 64 and 4096 the NTK
 * parameterization's kernel movement shrinks by more than the 1/8 that
 * (64/4096)^½ gives (measured: 0.107 -> 0.0041, slope −0.79; Lee et al.
 * 2019 bound it by O(1/√n), Dyer & Gur-Ari 2020 find Θ̇ = O(1/n)), while
 * μP's stays of the same order (measured 0.845 -> 0.818; asserted > 1/2). */
Test(train_dynamics, kernel_moves_lazily_under_ntk_and_keeps_moving_under_mup, .timeout = TIMEOUT(60))
{
    ntkc_net *net = compile_or_fail(ONE_HIDDEN, NTKC_BACKEND_TCC);
    const size_t widths[2] = {64, 4096};
    ntkc_train_result ntk, mup;
    train(net, widths, 2, 4, NTKC_PARAM_NTK, 2.0, 40, &ntk);
    train(net, widths, 2, 4, NTKC_PARAM_MUP, 2.0, 40, &mup);
    size_t last = ntk.ntimes - 1, T = ntk.ntimes;
    double ntk_ratio = ntk.kernel_move[T + last] / ntk.kernel_move[last];
    double mup_ratio = mup.kernel_move[T + last] / mup.kernel_move[last];
    cr_assert(ntk_ratio < 0.125, "NTK: kernel movement %g -> %g (ratio %g)", ntk.kernel_move[last],
              ntk.kernel_move[T + last], ntk_ratio);
    cr_assert(mup_ratio > 0.5, "muP: kernel movement %g -> %g (ratio %g)", mup.kernel_move[last],
              mup.kernel_move[T + last], mup_ratio);
    cr_assert(mup.kernel_move[T + last] > 0.05, "muP moves: %g", mup.kernel_move[T + last]);
    cr_assert(isnan(mup.mean_dist[last]), "no kernel prediction for muP");
    cr_assert(ntk.slope_kernel_move < -0.5, "slope %g", ntk.slope_kernel_move);
    ntkc_train_result_free(&ntk);
    ntkc_train_result_free(&mup);
    ntkc_net_free(net);
}

Test(train_dynamics, refuses_what_it_cannot_train)
{
    double x[TN * TD], y[TN], xt[TM * TD];
    problem(x, y, xt);
    size_t w = 8;
    ntkc_train_options o = {.widths = &w, .nwidths = 1, .seeds = 2, .lr = 1.0, .steps = 2};
    ntkc_train_result r;
    ntkc_error err;
    ntkc_net *graph = compile_or_fail("net g { input graph(2); dense(1); relu; readout(sum); dense(1) }\n",
                                      NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_train_finite(graph, TN, x, y, 1, TM, xt, NULL, TD, &o, &r, &err), 1);
    cr_assert(strstr(err.message, "use ntkc_train_finite_graphs") != NULL, "%s", err.message);
    ntkc_train_result_free(&r);
    ntkc_net_free(graph);
    ntkc_net *net = compile_or_fail(ONE_HIDDEN, NTKC_BACKEND_TCC);
    o.seeds = 1;
    cr_assert_eq(ntkc_train_finite(net, TN, x, y, 1, TM, xt, NULL, TD, &o, &r, &err), 1);
    o.seeds = 2, o.lr = 1e6, o.steps = 200;
    cr_assert_eq(ntkc_train_finite(net, TN, x, y, 1, TM, xt, NULL, TD, &o, &r, &err), 1);
    cr_assert(strstr(err.message, "diverged at width 8") != NULL, "%s", err.message);
    ntkc_train_result_free(&r);
    ntkc_net_free(net);
}
