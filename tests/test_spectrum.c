/* ntkc_spectrum: eigenvalues against a hand-written Jacobi reference and
 * ARPACK against LAPACK; the closed-form loss curve against ntkc_predict's
 * training MSE at the same times; the measures against independent formulas
 * (Cholesky for Arora et al.'s, the eigenvalues for the effective rank); and
 * the largest stable learning rate as the edge of divergence of a finite
 * net's gradient descent. */
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_net.h"
#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_tool.h"
#include "util.h"

/* A = B·Bᵀ/d + shift·I for a random n×d B: symmetric positive (semi)definite. */
static void random_psd(double *a, size_t n, size_t d, double shift, unsigned long long seed)
{
    double *b = malloc(n * d * sizeof *b);
    fill_random(b, n * d, seed);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t t = 0; t < d; t++)
                s += b[i * d + t] * b[j * d + t];
            a[i * n + j] = s / (double)d + (i == j ? shift : 0.0);
        }
    free(b);
}

/* Cyclic Jacobi rotations until the off-diagonal mass is negligible: the
 * eigenvalues on a's diagonal (a is destroyed). Independent of LAPACK. */
static void jacobi_eigenvalues(double *a, size_t n, double *vals)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, all = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                all += a[i * n + j] * a[i * n + j], off += i != j ? a[i * n + j] * a[i * n + j] : 0;
        if (off <= 1e-30 * all)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) { /* columns p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) { /* rows p, q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (size_t i = 0; i < n; i++)
        vals[i] = a[i * n + i];
}

static int descending(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

Test(spectrum, eigenvalues_match_jacobi_and_arpack)
{
    enum { n = 40 };
    double *g = malloc(n * n * sizeof *g), *work = malloc(n * n * sizeof *work), ref[n];
    random_psd(g, n, 12, 1e-3, 5); /* rank 12 + a small shift: a wide spread of eigenvalues */
    memcpy(work, g, n * n * sizeof *g);
    jacobi_eigenvalues(work, n, ref);
    qsort(ref, n, sizeof ref[0], descending);
    ntkc_spectrum_result r, top;
    ntkc_error err;
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, NULL, 0, NULL, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r.count, (size_t)n);
    for (size_t i = 0; i < n; i++) /* both are backward stable: error ~ n·ε·λ_max */
        cr_assert(fabs(r.eigenvalues[i] - ref[i]) <= 1e-12 * ref[0], "λ_%zu: %.17g vs Jacobi %.17g", i,
                  r.eigenvalues[i], ref[i]);
    cr_assert_float_eq(r.lambda_max, ref[0], 1e-12 * ref[0]);
    cr_assert_float_eq(r.lambda_min, ref[n - 1], 1e-12 * ref[0]);
    cr_assert_float_eq(r.condition, ref[0] / ref[n - 1], 1e-6 * r.condition);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += ref[i], s2 += ref[i] * ref[i];
    cr_assert_float_eq(r.effective_rank, s * s / s2, 1e-12 * r.effective_rank);
    cr_assert_float_eq(r.max_lr, 2.0 * n / ref[0], 1e-12 * r.max_lr);

    ntkc_spectrum_options o = {.top = 5};
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, NULL, 0, &o, &top, &err), 0, "%s", err.message);
    cr_assert_eq(top.count, 5u);
    for (size_t i = 0; i < 5; i++)
        cr_assert(fabs(top.eigenvalues[i] - ref[i]) <= 1e-10 * ref[0], "ARPACK λ_%zu: %.17g vs %.17g", i,
                  top.eigenvalues[i], ref[i]);
    cr_assert(isnan(top.lambda_min) && isnan(top.condition));
    ntkc_spectrum_result_free(&r);
    ntkc_spectrum_result_free(&top);
    free(g), free(work);
}

Test(spectrum, target_energies_agree_between_arpack_and_lapack)
{
    enum { n = 30, k = 2, K = 4 };
    double *g = malloc(n * n * sizeof *g), y[n * k];
    random_psd(g, n, 30, 0.1, 8);
    fill_random(y, n * k, 9);
    ntkc_spectrum_result full, top;
    ntkc_spectrum_options o = {.top = K};
    ntkc_error err;
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, y, k, NULL, &full, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, y, k, &o, &top, &err), 0, "%s", err.message);
    for (size_t i = 0; i < K * k; i++) /* (vᵀy)² does not depend on the sign of v */
        cr_assert_float_eq(top.energy[i], full.energy[i], 1e-9 * (1 + full.energy[i]), "entry %zu", i);
    cr_assert_float_eq(top.alignment, full.alignment, 1e-14);
    cr_assert(isnan(top.arora[0]) && isnan(top.reach_time));
    double total = 0;
    for (size_t i = 0; i < n * k; i++)
        total += full.energy[i];
    cr_assert_float_eq(total, 2 * full.loss0 * n * k, 1e-10 * total, "Parseval");
    ntkc_spectrum_result_free(&full);
    ntkc_spectrum_result_free(&top);
    free(g);
}

/* Arora et al.'s √(2yᵀG⁻¹y/n) by a Cholesky solve, the alignment by its
 * definition, and the reach time by the loss it reaches. */
Test(spectrum, measures_match_direct_formulas)
{
    enum { n = 25, k = 3 };
    double *g = malloc(n * n * sizeof *g), *chol = malloc(n * n * sizeof *chol), y[n * k], sol[n * k];
    random_psd(g, n, 40, 0.05, 21);
    fill_random(y, n * k, 22);
    ntkc_spectrum_result r;
    ntkc_error err;
    ntkc_spectrum_options o = {.reach = 1e-3};
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, y, k, &o, &r, &err), 0, "%s", err.message);
    memcpy(chol, g, n * n * sizeof *g);
    memcpy(sol, y, sizeof y);
    cr_assert_eq(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', n, k, chol, n, sol, k), 0);
    for (size_t c = 0; c < k; c++) {
        double q = 0;
        for (size_t i = 0; i < n; i++)
            q += y[i * k + c] * sol[i * k + c];
        cr_assert_float_eq(r.arora[c], sqrt(2 * q / n), 1e-10 * r.arora[c], "output %zu", c);
    }
    double num = 0, gf = 0, yf = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double yy = 0;
            for (size_t c = 0; c < k; c++)
                yy += y[i * k + c] * y[j * k + c];
            num += g[i * n + j] * yy, gf += g[i * n + j] * g[i * n + j], yf += yy * yy;
        }
    cr_assert_float_eq(r.alignment, num / sqrt(gf * yf), 1e-12);
    cr_assert(r.reach_time > 0 && isfinite(r.reach_time));
    cr_assert_float_eq(ntkc_spectrum_loss(&r, r.reach_time), 1e-3, 1e-9);
    cr_assert(ntkc_spectrum_loss(&r, 0.999 * r.reach_time) > 1e-3);
    cr_assert_float_eq(ntkc_spectrum_loss(&r, 0), r.loss0, 1e-15);
    ntkc_spectrum_result_free(&r);
    free(g), free(chol);
}

Test(spectrum, singular_kernel_has_no_arora_measure)
{
    enum { n = 10 };
    double g[n * n], y[n];
    random_psd(g, n, 3, 0.0, 4); /* rank 3 */
    fill_random(y, n, 5);
    ntkc_spectrum_result r;
    ntkc_error err;
    cr_assert_eq(ntkc_spectrum_of_kernel(n, g, y, 1, NULL, &r, &err), 0, "%s", err.message);
    cr_assert(isnan(r.arora[0]));
    cr_assert(r.loss_inf > 0, "the energy outside the range of G stays");
    cr_assert(isinf(r.condition) || r.condition > 1e12);
    ntkc_spectrum_result_free(&r);
}

Test(spectrum, bad_requests_are_user_errors)
{
    double g[4] = {1, 0, 0, 1}, bad[4] = {1, NAN, NAN, 1};
    ntkc_spectrum_result r;
    ntkc_error err;
    ntkc_spectrum_options top = {.top = 2};
    cr_assert_eq(ntkc_spectrum_of_kernel(2, g, NULL, 0, &top, &r, &err), 1);
    cr_assert(strstr(err.message, "--top 2") != NULL, "%s", err.message);
    cr_assert_eq(ntkc_spectrum_of_kernel(2, bad, NULL, 0, NULL, &r, &err), 1);
    cr_assert(strstr(err.message, "kernel entry [0][1]") != NULL, "%s", err.message);
    ntkc_spectrum_result_free(&r);
}

#define NET "net mlp { dense(1.5, 0.1); relu; dense(1.2, 0.05); erf; dense(1.0) }\n"

/* L(t) from the spectrum = ½·(ntkc_predict's training MSE at t): the same
 * flow, once through eigenvectors and energies, once through the mean. */
Test(spectrum, loss_curve_equals_predict_training_mse, .timeout = TIMEOUT(30))
{
    enum { n = 14, d = 3, k = 2, T = 6 };
    double x[n * d], y[n * k], times[T] = {0, 0.5, 3, 20, 200, 5000}, mean[T * n * k];
    fill_random(x, n * d, 31);
    fill_random(y, n * k, 32);
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    ntkc_error err;
    cr_assert_eq(ntkc_predict(net, n, x, y, k, n, x, d, times, T, NULL, mean, NULL, NULL, &err), 0, "%s",
                 err.message);
    ntkc_spectrum_options o = {.times = times, .ntimes = T};
    ntkc_spectrum_result r;
    cr_assert_eq(ntkc_spectrum(net, n, x, d, y, k, &o, &r, &err), 0, "%s", err.message);
    for (size_t t = 0; t < T; t++) {
        double want = 0.5 * predict_mse(mean + t * n * k, y, n, k);
        cr_assert(fabs(r.loss[t] - want) <= 1e-10 * r.loss0, "t = %g: spectrum %.15g, predict %.15g", times[t],
                  r.loss[t], want);
    }
    ntkc_spectrum_result_free(&r);
    ntkc_net_free(net);
}

/* ½‖f − y‖²/N after `steps` of gradient descent on the finite net with
 * learning rate lr (loss ‖f − y‖²/(2N)), from the initialisation of seed;
 * the largest loss on the way into *peak. */
static double gd_loss(const IrNet *ir, size_t n, const double *x, const double *y, size_t d, size_t width, double lr,
                      size_t steps, double *first, double *peak, double *lambda0)
{
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new(ir, d, width, 1, &err);
    cr_assert_not_null(fn, "%s", err.message);
    Rng r;
    rng_seed(&r, 2024);
    finite_net_init(fn, &r);
    size_t np;
    double *theta = finite_net_params(fn, &np), *grad = malloc(np * sizeof *grad), f[64], loss = 0;
    if (lambda0) { /* the empirical NTK's λ_max at initialisation */
        double ntk[64 * 64] = {0};
        cr_assert_eq(finite_net_accumulate_unit_ntk(fn, n, x, 0, ntk, &err), 0, "%s", err.message);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                ntk[i * n + j] = ntk[j * n + i];
        ntkc_spectrum_result s;
        ntkc_error e2;
        cr_assert_eq(ntkc_spectrum_of_kernel(n, ntk, NULL, 0, NULL, &s, &e2), 0, "%s", e2.message);
        *lambda0 = s.lambda_max;
        ntkc_spectrum_result_free(&s);
    }
    *peak = 0;
    for (size_t s = 0; s <= steps; s++) {
        cr_assert_eq(finite_net_forward(fn, n, x, f, &err), 0, "%s", err.message);
        loss = 0;
        for (size_t i = 0; i < n; i++)
            f[i] -= y[i], loss += f[i] * f[i] / (2.0 * n);
        *peak = loss > *peak || isnan(loss) ? loss : *peak;
        *first = s == 0 ? loss : *first;
        if (s == steps || !isfinite(loss))
            break;
        cr_assert_eq(finite_net_vjp(fn, n, x, f, grad, &err), 0, "%s", err.message);
        for (size_t p = 0; p < np; p++)
            theta[p] -= lr / n * grad[p];
    }
    free(grad);
    finite_net_free(fn);
    return loss;
}

/* 2N/λ_max is the edge of divergence: a wide net's gradient descent at 0.9×
 * of it converges without the loss ever rising; at 1.1× the top
 * eigendirection grows by |1 − 1.1·2| = 1.2 per step, so the loss explodes —
 * in a linear model for ever; in a finite net until the kernel itself shrinks
 * (the catapult of Lewkowycz et al. 2020, arXiv:2003.02218), at a loss that
 * grows with the width: at width 2048 it peaks at ~8× its start, at 16384 at
 * ~25×, at 65536 beyond 1000×. Hence width 16384 and "rises tenfold". The
 * 10 % margin exceeds the finite-width deviation of the empirical λ_max,
 * checked first. */
Test(spectrum, max_learning_rate_is_the_edge_of_divergence, .timeout = TIMEOUT(30))
{
    enum { n = 10, d = 3, width = 16384, steps = 60 };
    double x[n * d], y[n];
    fill_random(x, n * d, 41);
    for (size_t i = 0; i < n; i++)
        y[i] = sin(2 * x[i * d]) + 0.5 * x[i * d + 1];
    ntkc_net *net = compile_or_fail("net one { dense(1.5, 0.2); relu; dense(1.0, 0.1) }\n", NTKC_BACKEND_TCC);
    ntkc_spectrum_result r;
    ntkc_error err;
    cr_assert_eq(ntkc_spectrum(net, n, x, d, y, 1, NULL, &r, &err), 0, "%s", err.message);
    double peak_lo, peak_hi, l0_lo, l0_hi, lambda0;
    double lo = gd_loss(ntkc_net_ir(net), n, x, y, d, width, 0.9 * r.max_lr, steps, &l0_lo, &peak_lo, &lambda0);
    cr_assert(fabs(lambda0 / r.lambda_max - 1) < 0.05, "empirical λ_max %g vs analytic %g: the 10%% margin "
              "assumes they agree to 5%%", lambda0, r.lambda_max);
    gd_loss(ntkc_net_ir(net), n, x, y, d, width, 1.1 * r.max_lr, steps, &l0_hi, &peak_hi, NULL);
    /* below: every mode shrinks (|1 − 0.9·2·λ_i/λ_max| < 1), so the loss never rises */
    cr_assert(lo < 0.1 * l0_lo && peak_lo <= 1.001 * l0_lo, "below the edge: L %g from %g (peak %g)", lo, l0_lo,
              peak_lo);
    cr_assert(!(peak_hi < 10 * l0_hi), "above the edge: the loss peaks at %g from %g", peak_hi, l0_hi);
    ntkc_spectrum_result_free(&r);
    ntkc_net_free(net);
}
