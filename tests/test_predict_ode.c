/* Prediction from kernels beyond the ensemble: gradient_descent_mse from
 * given initial outputs (closed form), the training ODE (GSL rk8pd) against
 * that closed form, momentum against the damped oscillator solved by hand,
 * cross-entropy against its invariants and a small-step Euler iteration, and
 * --reg-abs against --reg. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ntkc_tool.h"
#include "rng.h"

enum { N = 6, M = 4, K = 3, D = 5 };

/* A kernel of random points: XXᵀ/d + 0.3 (positive definite), train then test. */
typedef struct Kernels {
    double tt[N * N], st[M * N], y[N * K], f0[N * K], g0[M * K];
} Kernels;

static void kernels(Kernels *k, double fscale)
{
    double x[(N + M) * D];
    Rng r;
    rng_seed(&r, 11);
    rng_fill_normal(&r, x, (N + M) * D, 1.0);
    for (size_t i = 0; i < N + M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0.3;
            for (size_t c = 0; c < D; c++)
                s += x[i * D + c] * x[j * D + c] / D;
            if (i < N)
                k->tt[i * N + j] = s;
            else
                k->st[(i - N) * N + j] = s;
        }
    rng_fill_normal(&r, k->y, N * K, 1.0);
    rng_fill_normal(&r, k->f0, N * K, fscale);
    rng_fill_normal(&r, k->g0, M * K, fscale);
}

static double max_diff(const double *a, const double *b, size_t count)
{
    double d = 0;
    for (size_t i = 0; i < count; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* The closed form from fx0 = 0 is the ensemble mean, on test and train. */
Test(predict_ode, fx0_zero_is_ensemble_mean)
{
    Kernels k;
    kernels(&k, 0);
    double times[] = {0.5, 7, INFINITY}, mean[3 * M * K], f_test[3 * M * K], f_train[3 * N * K],
           train_mean[3 * N * K];
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = k.tt, .ntk_st = k.st, .y = k.y};
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 3, mean, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(predict_gd_mse_from(&in, NULL, NULL, times, 3, f_train, f_test, &err), 0, "%s", err.message);
    cr_expect_lt(max_diff(mean, f_test, 3 * M * K), 1e-12);
    PredictInput on_train = in;
    on_train.m = N, on_train.ntk_st = k.tt;
    cr_assert_eq(predict_gd_mse(&on_train, PREDICT_NTK, times, 3, train_mean, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_diff(train_mean, f_train, 3 * N * K), 1e-11);
    cr_expect_lt(max_diff(f_train + 2 * N * K, k.y, N * K), 1e-12, "t = inf interpolates the targets");
}

/* Training that starts at the targets does not move, on either set. */
Test(predict_ode, fx0_at_targets_stays)
{
    Kernels k;
    kernels(&k, 1);
    double times[] = {3, INFINITY}, f_test[2 * M * K], f_train[2 * N * K];
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = k.tt, .ntk_st = k.st, .y = k.y, .reg = 0.1};
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse_from(&in, k.y, k.g0, times, 2, f_train, f_test, &err), 0, "%s", err.message);
    for (size_t t = 0; t < 2; t++) {
        cr_expect_lt(max_diff(f_test + t * M * K, k.g0, M * K), 1e-13);
        cr_expect_lt(max_diff(f_train + t * N * K, k.y, N * K), 1e-13);
    }
}

/* The ODE with MSE and no momentum against the closed form from fx0: the
 * integrator's tolerance is 1e-10 relative, per step. */
Test(predict_ode, mse_ode_matches_closed_form)
{
    Kernels k;
    kernels(&k, 1);
    double times[] = {40, 0.3, 5, 0}; /* any order */
    double cf_test[4 * M * K], cf_train[4 * N * K], ode_test[4 * M * K], ode_train[4 * N * K];
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = k.tt, .ntk_st = k.st, .y = k.y};
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse_from(&in, k.f0, k.g0, times, 4, cf_train, cf_test, &err), 0, "%s", err.message);
    PredictOde p = {.n = N, .m = M, .k = K, .g_tt = k.tt, .g_st = k.st, .y = k.y, .fx0_train = k.f0,
                    .fx0_test = k.g0, .loss = PREDICT_LOSS_MSE, .learning_rate = 1};
    PredictOdeStats st;
    cr_assert_eq(predict_ode(&p, times, 4, ode_train, ode_test, &st, &err), 0, "%s", err.message);
    double dt = max_diff(cf_test, ode_test, 4 * M * K), dr = max_diff(cf_train, ode_train, 4 * N * K);
    /* The tolerance is the integrator's error control: each step's error
     * estimate is below atol + rtol·|f| per component (GSL's standard
     * control, a_y = 1), atol = rtol·scale with scale the largest |y| or
     * |fx0| (at least 1), rtol = 1e-10; the MSE flow's Jacobian −G/N is
     * negative semi-definite, so errors made earlier do not grow and the
     * global error is at most their sum over the steps taken (rejected ones
     * counted too, which only loosens it). */
    double scale = 1, reach = 0;
    for (size_t i = 0; i < N * K; i++)
        scale = fmax(scale, fmax(fabs(k.y[i]), fabs(k.f0[i])));
    for (size_t i = 0; i < M * K; i++)
        scale = fmax(scale, fabs(k.g0[i]));
    for (size_t i = 0; i < 4 * M * K; i++)
        reach = fmax(reach, fabs(cf_test[i]));
    for (size_t i = 0; i < 4 * N * K; i++)
        reach = fmax(reach, fabs(cf_train[i]));
    double tol = (double)st.steps * 1e-10 * (scale + reach);
    cr_log_info("ODE vs closed form: test %.3g, train %.3g (%zu steps, %zu evaluations; bound %.3g)", dt, dr,
                st.steps, st.rhs_evals, tol);
    cr_expect_lt(dt, tol);
    cr_expect_lt(dr, tol);
    /* the learning rate scales time: η = 4 at t/4 is the same flow */
    double quarter[] = {10, 0.075, 1.25, 0};
    p.learning_rate = 4;
    cr_assert_eq(predict_ode(&p, quarter, 4, ode_train, ode_test, &st, &err), 0, "%s", err.message);
    cr_expect_lt(max_diff(cf_test, ode_test, 4 * M * K), (double)st.steps * 1e-10 * (scale + reach));
}

/* Momentum, one training point and one output, test point = training point:
 * u = f − y obeys u'' = c·u' − (g/N)·u, u(0) = u0, u'(0) = 0, with
 * c = (μ − 1)/√η and time τ = √η·t; underdamped here, so
 * u(τ) = u0·e^{ατ}(cos ωτ − (α/ω) sin ωτ), α = c/2, ω = √(g − α²). */
Test(predict_ode, momentum_matches_damped_oscillator)
{
    double g = 4, y = 0.7, f0 = -1.2, mu = 0.5, eta = 0.25;
    double tt[1] = {g}, yy[1] = {y}, ff[1] = {f0}, times[] = {0.5, 2, 9};
    double f_train[3], f_test[3];
    PredictOde p = {.n = 1, .m = 1, .k = 1, .g_tt = tt, .g_st = tt, .y = yy, .fx0_train = ff, .fx0_test = ff,
                    .loss = PREDICT_LOSS_MSE, .momentum_on = 1, .momentum = mu, .learning_rate = eta};
    ntkc_error err = {0};
    cr_assert_eq(predict_ode(&p, times, 3, f_train, f_test, NULL, &err), 0, "%s", err.message);
    double c = (mu - 1) / sqrt(eta), a = c / 2, w = sqrt(g - a * a);
    for (size_t i = 0; i < 3; i++) {
        double tau = sqrt(eta) * times[i], u = (f0 - y) * exp(a * tau) * (cos(w * tau) - a / w * sin(w * tau));
        cr_expect_lt(fabs(f_train[i] - (y + u)), 1e-9, "t %g: ODE %.12g, exact %.12g", times[i], f_train[i], y + u);
        cr_expect_lt(fabs(f_test[i] - f_train[i]), 1e-12);
    }
}

/* Cross-entropy with one-hot targets: every point's logits keep their sum
 * (the gradient sums to 0 over classes), and the ODE agrees with the
 * function-space gradient descent f ← f − h·G·∇L(f) as h → 0 (Euler, error
 * O(h): halving h halves the gap). */
Test(predict_ode, xent_invariants_and_euler_limit)
{
    Kernels k;
    kernels(&k, 1);
    for (size_t i = 0; i < N; i++)
        for (size_t c = 0; c < K; c++)
            k.y[i * K + c] = c == i % K;
    double t = 30, f_train[N * K], f_test[M * K];
    PredictOde p = {.n = N, .m = M, .k = K, .g_tt = k.tt, .g_st = k.st, .y = k.y, .fx0_train = k.f0,
                    .fx0_test = k.g0, .loss = PREDICT_LOSS_XENT, .learning_rate = 1};
    ntkc_error err = {0};
    cr_assert_eq(predict_ode(&p, &t, 1, f_train, f_test, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N + M; i++) {
        const double *a = i < N ? f_train + i * K : f_test + (i - N) * K, *b = i < N ? k.f0 + i * K : k.g0 + (i - N) * K;
        cr_expect_lt(fabs(a[0] + a[1] + a[2] - b[0] - b[1] - b[2]), 1e-9);
    }
    double gap[2];
    for (size_t pass = 0; pass < 2; pass++) {
        size_t steps = pass ? 6000 : 3000;
        double h = t / (double)steps, f[N * K], g[M * K], grad[N * K];
        memcpy(f, k.f0, sizeof f), memcpy(g, k.g0, sizeof g);
        for (size_t s = 0; s < steps; s++) {
            for (size_t i = 0; i < N; i++) {
                double z = 0;
                for (size_t c = 0; c < K; c++)
                    z += exp(f[i * K + c]);
                for (size_t c = 0; c < K; c++)
                    grad[i * K + c] = (exp(f[i * K + c]) / z - k.y[i * K + c]) / (N * K);
            }
            for (size_t c = 0; c < K; c++) {
                double df[N], dg[M];
                for (size_t i = 0; i < N + M; i++) {
                    const double *row = i < N ? k.tt + i * N : k.st + (i - N) * N;
                    double s2 = 0;
                    for (size_t j = 0; j < N; j++)
                        s2 += row[j] * grad[j * K + c];
                    if (i < N)
                        df[i] = s2;
                    else
                        dg[i - N] = s2;
                }
                for (size_t i = 0; i < N; i++)
                    f[i * K + c] -= h * df[i];
                for (size_t i = 0; i < M; i++)
                    g[i * K + c] -= h * dg[i];
            }
        }
        gap[pass] = fmax(max_diff(f, f_train, N * K), max_diff(g, f_test, M * K));
    }
    cr_log_info("xent ODE vs Euler: gap %.3g (h = 1e-2), %.3g (h = 5e-3)", gap[0], gap[1]);
    cr_expect_lt(gap[0], 1e-2);
    cr_expect(fabs(gap[0] / gap[1] - 2) < 0.1, "Euler's error should halve with h: %.3g → %.3g", gap[0], gap[1]);
}

/* --reg-abs R equals --reg R·n/tr G_tt. */
Test(predict_ode, reg_abs_matches_relative)
{
    Kernels k;
    kernels(&k, 0);
    double trace = 0;
    for (size_t i = 0; i < N; i++)
        trace += k.tt[i * N + i];
    double times[] = {2, INFINITY}, rel[2 * M * K], abs_[2 * M * K];
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = k.tt, .ntk_st = k.st, .y = k.y, .reg = 0.05};
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, rel, NULL, &err), 0, "%s", err.message);
    in.reg = 0.05 * trace / N, in.reg_absolute = 1;
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, abs_, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_diff(rel, abs_, 2 * M * K), 1e-13);
    in.reg = 0.05; /* and absolute 0.05 is something else */
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, abs_, NULL, &err), 0, "%s", err.message);
    cr_expect_gt(max_diff(rel, abs_, 2 * M * K), 1e-4);
}

Test(predict_ode, refuses_infinite_time_and_bad_momentum)
{
    Kernels k;
    kernels(&k, 0);
    double inf = INFINITY, out[N * K + M * K];
    PredictOde p = {.n = N, .m = M, .k = K, .g_tt = k.tt, .g_st = k.st, .y = k.y, .loss = PREDICT_LOSS_XENT,
                    .learning_rate = 1};
    ntkc_error err = {0};
    cr_expect_eq(predict_ode(&p, &inf, 1, NULL, out, NULL, &err), 1);
    cr_expect(strstr(err.message, "finite times") != NULL, "%s", err.message);
    double one = 1;
    p.momentum_on = 1, p.momentum = 1;
    err = (ntkc_error){0};
    cr_expect_eq(predict_ode(&p, &one, 1, NULL, out, NULL, &err), 1);
    cr_expect(strstr(err.message, "momentum") != NULL, "%s", err.message);
}
