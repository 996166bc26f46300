/* Monte Carlo averages of wide finite networks against infinite-width
 * kernels derived here in closed form, independently of the activation
 * table and the emitter: one hidden layer, inputs on a circle of radius r in
 * the first two of d = 4 coordinates at known angles (input kernel x·x'/d).
 *
 * One hidden layer makes both estimators unbiased at any width (the hidden
 * pre-activations are exactly Gaussian and the readout is linear), so the
 * tolerances are pure Monte Carlo error, set at 4 standard errors:
 *  - NNGP: f_o(x)f_o(x') averaged over the `width` units of a wide readout.
 *    One unit spreads by √(K11 K22 + K12²) (Isserlis, f Gaussian); the units
 *    are independent given the hidden layer, whose own contribution
 *    (w⁴/width)·Var(φ(u)φ(v)) is of the same order, so the per-sample spread
 *    is ≤ √2·√(K11 K22 + K12²)/√width: σ = 1.5·√(K11 K22 + K12²)/√(width·samples).
 *  - NTK: a mean of width i.i.d. per-unit terms, per-sample relative spread
 *    measured ≤ 2.1/√width on these nets, so σ = 2.5·√(K11 K22)/√(width·samples).
 * With width 1024 and 400 samples that is ≈ 0.3 % of the diagonal for the
 * NNGP and 0.4 % for the NTK. */
#include <criterion/criterion.h>
#include <math.h>

#include "finite_net.h"
#include "finite_test_nets.h"
#include "util.h"

enum { N = 5, DIM = 4, WIDTH = 1024, SAMPLES = 400 };

typedef void (*DualFn)(double s11, double s12, double s22, double *t, double *td);

/* E[relu(u)relu(v)] and E[relu'(u)relu'(v)]: arc-cosine kernel of order 1. */
static void relu_dual(double s11, double s12, double s22, double *t, double *td)
{
    double norm = sqrt(s11 * s22), theta = acos(fmax(-1.0, fmin(1.0, s12 / norm)));
    *t = norm * (sin(theta) + (M_PI - theta) * cos(theta)) / (2 * M_PI);
    *td = (M_PI - theta) / (2 * M_PI);
}

/* Same for erf: (2/π)·asin(2Σ12/√((1+2Σ11)(1+2Σ22))) and its derivative kernel. */
static void erf_dual(double s11, double s12, double s22, double *t, double *td)
{
    double q = (1 + 2 * s11) * (1 + 2 * s22);
    *t = 2 / M_PI * asin(2 * s12 / sqrt(q));
    *td = 4 / M_PI / sqrt(q - 4 * s12 * s12);
}

typedef struct OneHidden {
    Parameterization param;
    double w1, b1, w2, b2;
    int bias1, bias2;
    DualFn dual;
    const char *act;
    double radius;
} OneHidden;

static void circle_inputs(double radius, double *x)
{
    const double angle[N] = {0, M_PI / 6, M_PI / 3, M_PI / 2, 2 * M_PI / 3};
    for (size_t i = 0; i < N; i++) {
        for (size_t c = 0; c < DIM; c++)
            x[i * DIM + c] = 0;
        x[i * DIM] = radius * cos(angle[i]);
        x[i * DIM + 1] = radius * sin(angle[i]);
    }
}

static double dot(const double *a, const double *b)
{
    double s = 0;
    for (size_t c = 0; c < DIM; c++)
        s += a[c] * b[c];
    return s;
}

/* The infinite-width kernels of dense(w1, b1); act; dense(w2, b2). */
static void exact_kernels(const OneHidden *h, const double *x, double *nngp, double *ntk)
{
    double s1[N * N];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            s1[i * N + j] = h->w1 * h->w1 * dot(x + i * DIM, x + j * DIM) / DIM + h->b1 * h->b1;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double t, td;
            h->dual(s1[i * N + i], s1[i * N + j], s1[j * N + j], &t, &td);
            nngp[i * N + j] = h->w2 * h->w2 * t + h->b2 * h->b2;
            if (h->param == PARAM_NTK) /* Θ1 = Σ1: the first layer's own block */
                ntk[i * N + j] = nngp[i * N + j] + h->w2 * h->w2 * s1[i * N + j] * td;
            else /* readout block: Σ_j φφ' ≈ width·T, +1 per bias; the first layer's (x·x' + 1)·w2²Ṫ */
                ntk[i * N + j] = WIDTH * t + h->bias2 +
                                 h->w2 * h->w2 * td * (dot(x + i * DIM, x + j * DIM) + h->bias1);
        }
}

static void check_against_closed_form(const OneHidden *h, unsigned long long seed)
{
    IrOp ops[] = {test_dense(h->w1, h->b1, h->bias1, WIDTH), test_act(h->act), test_dense(h->w2, h->b2, h->bias2, 0)};
    TestNet t;
    test_net(&t, h->param, ops, 3);
    double x[N * DIM], nngp[N * N], ntk[N * N], want_nngp[N * N], want_ntk[N * N];
    circle_inputs(h->radius, x);
    exact_kernels(h, x, want_nngp, want_ntk);
    FiniteNetOptions o = {.width = WIDTH, .samples = SAMPLES, .seed = seed};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, nngp, ntk, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double d1 = want_nngp[i * N + i] * want_nngp[j * N + j], k = want_nngp[i * N + j];
            double sd_nngp = 1.5 * sqrt(d1 + k * k) / sqrt((double)WIDTH * SAMPLES);
            double sd_ntk = 2.5 * sqrt(want_ntk[i * N + i] * want_ntk[j * N + j]) / sqrt((double)WIDTH * SAMPLES);
            cr_assert_float_eq(nngp[i * N + j], k, 4 * sd_nngp, "%s NNGP(%zu,%zu): MC %.6g, exact %.6g (σ %.2g)",
                               h->act, i, j, nngp[i * N + j], k, sd_nngp);
            cr_assert_float_eq(ntk[i * N + j], want_ntk[i * N + j], 4 * sd_ntk,
                               "%s NTK(%zu,%zu): MC %.6g, exact %.6g (σ %.2g)", h->act, i, j, ntk[i * N + j],
                               want_ntk[i * N + j], sd_ntk);
        }
}

Test(finite_mc, relu_ntk_param_matches_arccos_kernel, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_NTK, .w1 = 1.4, .w2 = 0.8, .dual = relu_dual, .act = "relu", .radius = 1.0};
    check_against_closed_form(&h, 2024);
}

Test(finite_mc, erf_ntk_param_with_biases_matches_closed_form, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_NTK, .w1 = 1.5, .b1 = 0.3, .bias1 = 1, .w2 = 1.2, .b2 = 0.2, .bias2 = 1,
                   .dual = erf_dual, .act = "erf", .radius = 1.5};
    check_against_closed_form(&h, 2025);
}

Test(finite_mc, relu_standard_param_matches_closed_form, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_STANDARD, .w1 = 1.4, .b1 = 0.2, .bias1 = 1, .w2 = 0.8, .b2 = 0.1, .bias2 = 1,
                   .dual = relu_dual, .act = "relu", .radius = 1.0};
    check_against_closed_form(&h, 2026);
}
