/* Gradient-descent training of finite-width networks: the gradient against
 * finite differences of the loss, the loss going down, Euler convergence as
 * lr → 0 at fixed lr·steps, several outputs, and divergence reported. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_net.h"
#include "finite_test_nets.h"
#include "ntkc_tool.h"

enum { N = 8, DIM = 3, M = 4 };

static void data(double *x, double *y, size_t k, double *xt)
{
    Rng r;
    rng_seed(&r, 77);
    rng_fill_normal(&r, x, N * DIM, 1.0);
    rng_fill_normal(&r, xt, M * DIM, 1.0);
    for (size_t i = 0; i < N; i++)
        for (size_t o = 0; o < k; o++)
            y[i * k + o] = sin(x[i * DIM] + (double)o * x[i * DIM + 1]);
}

static void mlp(TestNet *t, Parameterization param, const char *act, long width)
{
    IrOp ops[] = {test_dense(1.5, 0.1, 1, width), test_act(act), test_dense(1.2, 0.1, 1, width), test_act(act),
                  test_dense(1.0, 0.1, 1, 0)};
    test_net(t, param, ops, 5);
}

static double loss_after(const TestNet *t, size_t k, size_t width, double lr, size_t steps)
{
    double x[N * DIM], y[N * 2], xt[M * DIM], f[N * 2];
    data(x, y, k, xt);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_train_gd(&t->net, N, x, y, k, N, x, DIM, width, lr, steps, 31, f, &err), 0, "%s",
                 err.message);
    double l = 0;
    for (size_t i = 0; i < N * k; i++)
        l += 0.5 * (f[i] - y[i]) * (f[i] - y[i]);
    return l;
}

/* ∇θ ½‖f − Y‖² from backprop against central differences of the loss, two
 * outputs, both parameterizations. The loss is smooth (erf): the truncation
 * error h²·L'''/6 and rounding ε·L/h are both ≲ 1e-10 at h = 1e-5. */
static void check_gradient(Parameterization param)
{
    enum { K = 2, W = 4 };
    TestNet t;
    mlp(&t, param, "erf", W);
    double x[N * DIM], y[N * K], xt[M * DIM], f[N * K], g[N * K];
    data(x, y, K, xt);
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new(&t.net, DIM, W, K, &err);
    cr_assert_not_null(fn, "%s", err.message);
    Rng r;
    rng_seed(&r, 4);
    finite_net_init(fn, &r);
    size_t P;
    double *theta = finite_net_params(fn, &P);
    double *grad = malloc(P * sizeof *grad);
    cr_assert_eq(finite_net_forward(fn, N, x, f, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N * K; i++)
        g[i] = f[i] - y[i];
    cr_assert_eq(finite_net_vjp(fn, N, x, g, grad, &err), 0, "%s", err.message);
    const double h = 1e-5;
    for (size_t p = 0; p < P; p++) {
        double saved = theta[p], l[2];
        for (int s = 0; s < 2; s++) {
            theta[p] = saved + (s ? -h : h);
            cr_assert_eq(finite_net_forward(fn, N, x, f, &err), 0, "%s", err.message);
            l[s] = 0;
            for (size_t i = 0; i < N * K; i++)
                l[s] += 0.5 * (f[i] - y[i]) * (f[i] - y[i]);
        }
        theta[p] = saved;
        double fd = (l[0] - l[1]) / (2 * h);
        cr_assert_float_eq(grad[p], fd, 1e-7 * (1 + fabs(fd)), "param %zu: backprop %.10g, differences %.10g", p,
                           grad[p], fd);
    }
    free(grad);
    finite_net_free(fn);
}

Test(finite_train, gradient_matches_differences_ntk_param) { check_gradient(PARAM_NTK); }
Test(finite_train, gradient_matches_differences_standard) { check_gradient(PARAM_STANDARD); }

/* The vjp uses the activations of the last forward pass: asking without one
 * on that batch must fail loudly, not return a stale gradient. */
Test(finite_train, gradient_without_forward_is_an_error)
{
    TestNet t;
    mlp(&t, PARAM_NTK, "relu", 4);
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new(&t.net, DIM, 4, 1, &err);
    double x[N * DIM] = {0}, g[N] = {0}, grad[64];
    size_t P;
    finite_net_params(fn, &P);
    cr_assert_leq(P, 64u);
    cr_assert_eq(finite_net_vjp(fn, N, x, g, grad, &err), NTKC_EINTERNAL);
    finite_net_free(fn);
}

/* Full-batch GD with lr well under 2/λmax(Θ) (Θ's trace over 8 points is ≈ 20
 * here) decreases the loss at every checkpoint and fits the 8 points. */
static void check_loss_decreases(Parameterization param, const char *act, size_t k)
{
    TestNet t;
    mlp(&t, param, act, 256);
    double lr = param == PARAM_NTK ? 0.05 : 0.002; /* standard: Θ grows with the width */
    const size_t steps[] = {0, 10, 50, 200, 1000};
    double prev = INFINITY, first = 0;
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        double l = loss_after(&t, k, 256, lr, steps[s]);
        if (s == 0)
            first = l;
        cr_assert_lt(l, prev, "%s: loss %.6g after %zu steps, %.6g before", act, l, steps[s], prev);
        prev = l;
    }
    cr_assert_lt(prev, 0.05 * first, "%s: loss only went from %.6g to %.6g", act, first, prev);
}

Test(finite_train, loss_decreases_relu_ntk_param) { check_loss_decreases(PARAM_NTK, "relu", 1); }
Test(finite_train, loss_decreases_erf_two_outputs) { check_loss_decreases(PARAM_NTK, "erf", 2); }
Test(finite_train, loss_decreases_relu_standard) { check_loss_decreases(PARAM_STANDARD, "relu", 1); }

/* Fixed τ = lr·steps: GD is forward Euler on the gradient flow, so f(X_test)
 * converges with error O(lr): successive halvings of lr move it by about half
 * as much each time. */
Test(finite_train, small_lr_converges_at_fixed_lr_times_steps)
{
    TestNet t;
    mlp(&t, PARAM_NTK, "erf", 128);
    double x[N * DIM], y[N], xt[M * DIM], f[5][M], f0[M];
    data(x, y, 1, xt);
    ntkc_error err = {0};
    const double tau = 4.0;
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 128, 0.1, 0, 9, f0, &err), 0, "%s",
                 err.message);
    double lr = 0.08;
    for (int r = 0; r < 5; r++, lr /= 2)
        cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 128, lr, (size_t)llround(tau / lr), 9,
                                         f[r], &err),
                     0, "%s", err.message);
    double moved = 0, diff[4] = {0};
    for (size_t i = 0; i < M; i++) {
        moved = fmax(moved, fabs(f[4][i] - f0[i]));
        for (int r = 0; r < 4; r++)
            diff[r] = fmax(diff[r], fabs(f[r + 1][i] - f[r][i]));
    }
    cr_assert_gt(moved, 0.05, "training barely changed f(X_test): the check would be vacuous");
    for (int r = 0; r < 3; r++) {
        double ratio = diff[r + 1] / diff[r];
        cr_assert(ratio > 0.35 && ratio < 0.65, "halving lr: change %.3g then %.3g (ratio %.3f, first order → 0.5)",
                  diff[r], diff[r + 1], ratio);
    }
    cr_assert_lt(diff[3], 0.02 * moved);
}

Test(finite_train, same_seed_same_bits_different_seed_differs)
{
    TestNet t;
    mlp(&t, PARAM_NTK, "relu", 32);
    double x[N * DIM], y[N], xt[M * DIM], a[M], b[M];
    data(x, y, 1, xt);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 32, 0.05, 20, 3, a, &err), 0, "%s", err.message);
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 32, 0.05, 20, 3, b, &err), 0, "%s", err.message);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 32, 0.05, 20, 4, b, &err), 0, "%s", err.message);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(finite_train, divergence_is_an_error_not_nan)
{
    TestNet t;
    mlp(&t, PARAM_NTK, "relu", 64);
    double x[N * DIM], y[N], xt[M * DIM], f[M];
    data(x, y, 1, xt);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 64, 50.0, 2000, 3, f, &err), NTKC_EUSER);
    cr_assert_not_null(strstr(err.message, "diverged"), "%s", err.message);
}

Test(finite_train, bad_learning_rate_is_an_error)
{
    TestNet t;
    mlp(&t, PARAM_NTK, "relu", 8);
    double x[N * DIM], y[N], xt[M * DIM], f[M];
    data(x, y, 1, xt);
    ntkc_error err = {0};
    cr_assert_eq(finite_net_train_gd(&t.net, N, x, y, 1, M, xt, DIM, 8, -0.1, 10, 3, f, &err), NTKC_EUSER);
    cr_assert_not_null(strstr(err.message, "learning rate"), "%s", err.message);
}
