/* Monte Carlo checks of every family: the analytic kernels against the
 * average of wide finite-width networks (runtime/finite/), as `ntkc check`
 * does. One suite, monte_carlo; the tests of a family share a prefix:
 *   fc_closed_form_*  one hidden layer against kernels derived here in closed
 *                     form (no compiler involved), tolerance 4 standard errors
 *   fc_example_*, fc_standard_*  example nets through the whole pipeline
 *   act_deep_net      every activation in a deep fully connected net
 *   image_*           conv, pooling, branching and sequence nets
 *   graph_*           graph nets on five small graphs
 *   attention_*       attention nets, every mechanism and scaling
 *   frozen_*          dense/conv(trainable=false) in every family
 *   dropout_*         dropout(rate) in fully connected, image, attention and graph nets
 *                     (dropout_graph_*: node level, on random_nets' graphs)
 *   resize_*          image_resize (neural-tangents' ImageResize) in image nets
 *   image_fanout_pairs_*  pooling, conv variants and spatial concat in branches
 *   volume_*          input volume(D, H, W, C): 3-D conv and pooling windows,
 *                     conv_transpose, conv_local, normalize_edges, dropout, index,
 *                     concat along depth/height/width, image_resize
 *   pairs_*           the all-pairs back end's options: param standard with
 *                     attention, masks and volumes; volume layers beyond windows;
 *                     layer_norm over positions (pairs_layer_norm_*)
 * Each section says where its tolerance comes from; none is widened to pass. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_conv.h"
#include "finite_graph.h"
#include "finite_model.h"
#include "finite_net.h"
#include "finite_test_nets.h"
#include "graph_testutil.h"
#include "net_internal.h"
#include "npy.h"
#include "ntkc.h"
#include "random_nets.h"
#include "util.h"

/* ---- shared helpers ------------------------------------------------------ */

/* ‖approx − exact‖_F / ‖exact‖_F over count entries. */
static double rel_frobenius(const double *approx, const double *exact, size_t count)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < count; i++) {
        num += (approx[i] - exact[i]) * (approx[i] - exact[i]);
        den += exact[i] * exact[i];
    }
    return sqrt(num / den);
}

/* A finite-width reference for vector and image nets (finite_net_kernels,
 * finite_conv_kernels). */
typedef int (*FiniteRef)(const IrNet *net, size_t n, const double *x, size_t dim, const FiniteNetOptions *opts,
                         double *nngp, double *ntk, ntkc_error *err);

typedef struct McErrors {
    double nngp, ntk;     /* relative Frobenius errors of the Monte Carlo kernels */
    double nngp00, ntk00; /* the analytic (0, 0) entries, for messages */
    double mc_nngp00, mc_ntk00;
} McErrors;

/* The analytic kernels of net on the n rows of x (n×dim) against ref's
 * average of finite networks with options o. */
static McErrors mc_errors(ntkc_net *net, FiniteRef ref, size_t n, const double *x, size_t dim, FiniteNetOptions o)
{
    double *k = malloc(4 * n * n * sizeof *k);
    cr_assert_not_null(k);
    double *s = k, *t = k + n * n, *ms = k + 2 * n * n, *mt = k + 3 * n * n;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n, x, 0, NULL, dim, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ref(ntkc_net_ir(net), n, x, dim, &o, ms, mt, &err), 0, "%s", err.message);
    McErrors e = {rel_frobenius(ms, s, n * n), rel_frobenius(mt, t, n * n), s[0], t[0], ms[0], mt[0]};
    free(k);
    return e;
}

/* ---- fully connected, one hidden layer, closed form ------------------------
 * Inputs on a circle of radius r in the first two of d = 4 coordinates at
 * known angles (input kernel x·x'/d); kernels derived here independently of
 * the activation table and the emitter.
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
 * With width 1024 and 100 samples that is ≈ 0.66 % of the diagonal for the
 * NNGP and 0.78 % for the NTK (4σ: 2.7 %, 3.1 %); kernels 20 % off must fail
 * the same bounds. (400 samples halved σ for four times the cost.) */

enum { CF_N = 5, CF_DIM = 4, CF_WIDTH = 1024, CF_SAMPLES = 100 };

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
    const double angle[CF_N] = {0, M_PI / 6, M_PI / 3, M_PI / 2, 2 * M_PI / 3};
    for (size_t i = 0; i < CF_N; i++) {
        for (size_t c = 0; c < CF_DIM; c++)
            x[i * CF_DIM + c] = 0;
        x[i * CF_DIM] = radius * cos(angle[i]);
        x[i * CF_DIM + 1] = radius * sin(angle[i]);
    }
}

static double dot(const double *a, const double *b)
{
    double s = 0;
    for (size_t c = 0; c < CF_DIM; c++)
        s += a[c] * b[c];
    return s;
}

/* The criterion of the dilated convs and the layers after them: each net's
 * finite networks (width 512, 128 channels, 32 samples) within z = 5
 * standard errors plus an O(L/width) allowance entry by entry, and the same
 * nets with kernels 20 % off failing it; net i draws seed seed + i. _at
 * takes the width of vector nets and of the all-pairs back end's channels:
 * both terms of the tolerance follow from it and the samples (the standard
 * errors are measured, the allowance is L/width), and the 20 %-off kernels
 * keep the check's power in view. */
static void expect_within_errors_and_20_off_fails_at(size_t width, const char *const *nets, size_t n, unsigned seed,
                                                    const char *label)
{
    const RandomCheckOptions o[2] = {{.width = width, .conv_width = 128, .samples = 32, .z = 5.0},
                                     {.width = width, .conv_width = 128, .samples = 32, .z = 5.0, .perturb = 0.20}};
    for (size_t i = 0; i < n; i++) {
        RandomCheck both[2];
        random_net_checks(nets[i], seed + i, o, 2, both); /* the check, and kernels 20 % off: one Monte Carlo run */
        RandomCheck c = both[0];
        cr_assert(c.accepted, "%s\n%s", nets[i], c.message);
        cr_log_info("%s %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance", label, i, c.rel_nngp,
                    c.rel_ntk, c.worst_z);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC %s %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance\n", label, i,
                    c.rel_nngp, c.rel_ntk, c.worst_z);
        cr_expect(c.ok, "%s\n%s", nets[i], c.message);
        c = both[1];
        cr_expect(c.accepted && !c.ok, "kernels 20 %% off passed for\n%s", nets[i]);
    }
}

/* The same at width 512 for vector nets and the all-pairs back end's channels. */
static void expect_within_errors_and_20_off_fails(const char *const *nets, size_t n, unsigned seed, const char *label)
{
    expect_within_errors_and_20_off_fails_at(512, nets, n, seed, label);
}

/* The infinite-width kernels of dense(w1, b1); act; dense(w2, b2). */
static void exact_kernels(const OneHidden *h, const double *x, double *nngp, double *ntk)
{
    enum { N = CF_N, DIM = CF_DIM };
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
                ntk[i * N + j] = CF_WIDTH * t + h->bias2 +
                                 h->w2 * h->w2 * td * (dot(x + i * DIM, x + j * DIM) + h->bias1);
        }
}

static void check_against_closed_form(const OneHidden *h, unsigned long long seed)
{
    enum { N = CF_N, DIM = CF_DIM, WIDTH = CF_WIDTH, SAMPLES = CF_SAMPLES };
    IrOp ops[] = {test_dense(h->w1, h->b1, h->bias1, WIDTH), test_act(h->act), test_dense(h->w2, h->b2, h->bias2, 0)};
    TestNet t;
    test_net(&t, h->param, ops, 3);
    double x[N * DIM], nngp[N * N], ntk[N * N], want_nngp[N * N], want_ntk[N * N];
    circle_inputs(h->radius, x);
    exact_kernels(h, x, want_nngp, want_ntk);
    FiniteNetOptions o = {.width = WIDTH, .samples = SAMPLES, .seed = seed};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, nngp, ntk, &err), 0, "%s", err.message);
    int off_nngp = 0, off_ntk = 0; /* kernels 20 % off outside the bounds somewhere */
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double d1 = want_nngp[i * N + i] * want_nngp[j * N + j], k = want_nngp[i * N + j];
            double sd_nngp = 1.5 * sqrt(d1 + k * k) / sqrt((double)WIDTH * SAMPLES);
            double sd_ntk = 2.5 * sqrt(want_ntk[i * N + i] * want_ntk[j * N + j]) / sqrt((double)WIDTH * SAMPLES);
            off_nngp |= fabs(nngp[i * N + j] - 1.2 * k) > 4 * sd_nngp;
            off_ntk |= fabs(ntk[i * N + j] - 1.2 * want_ntk[i * N + j]) > 4 * sd_ntk;
            cr_assert_float_eq(nngp[i * N + j], k, 4 * sd_nngp, "%s NNGP(%zu,%zu): MC %.6g, exact %.6g (σ %.2g)",
                               h->act, i, j, nngp[i * N + j], k, sd_nngp);
            cr_assert_float_eq(ntk[i * N + j], want_ntk[i * N + j], 4 * sd_ntk,
                               "%s NTK(%zu,%zu): MC %.6g, exact %.6g (σ %.2g)", h->act, i, j, ntk[i * N + j],
                               want_ntk[i * N + j], sd_ntk);
        }
    cr_expect(off_nngp && off_ntk, "%s: an NNGP (%d) or NTK (%d) 20 %% off passed the same bounds", h->act, !off_nngp,
              !off_ntk);
}

Test(monte_carlo, fc_closed_form_relu_ntk_param, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_NTK, .w1 = 1.4, .w2 = 0.8, .dual = relu_dual, .act = "relu", .radius = 1.0};
    check_against_closed_form(&h, 2024);
}

Test(monte_carlo, fc_closed_form_erf_ntk_param_with_biases, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_NTK, .w1 = 1.5, .b1 = 0.3, .bias1 = 1, .w2 = 1.2, .b2 = 0.2, .bias2 = 1,
                   .dual = erf_dual, .act = "erf", .radius = 1.5};
    check_against_closed_form(&h, 2025);
}

Test(monte_carlo, fc_closed_form_relu_standard_param, .timeout = TIMEOUT(120))
{
    OneHidden h = {.param = PARAM_STANDARD, .w1 = 1.4, .b1 = 0.2, .bias1 = 1, .w2 = 0.8, .b2 = 0.1, .bias2 = 1,
                   .dual = relu_dual, .act = "relu", .radius = 1.0};
    check_against_closed_form(&h, 2026);
}

/* ---- fully connected, the whole pipeline ------------------------------------
 * The analytic Σ and Θ that the generated, JIT-compiled code computes for the
 * example nets on 6 digits, against the average of networks of width 1024 in
 * the same parameterization (NTK from J·Jᵀ of the parameter Jacobian). The
 * Monte Carlo error is ~1% at 32 samples (measured: 0.6–1.7% at 64); deep nets
 * add an O(1/width) bias of the same order. neural-tangents' own tests allow
 * rtol 0.04 for FC nets at width 1024; so do these, on the relative Frobenius
 * error. */

static void check_example(const char *path, const char *source, size_t samples)
{
    enum { N = 6 };
    ntkc_error err = {0};
    ntkc_net *net = source ? ntkc_compile_string(source, path, NULL, &err) : ntkc_compile_file(path, NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    NpyArray digits;
    cr_assert_eq(npy_read("data/digits_test_x.npy", &digits, &err), 0, "%s", err.message);
    FiniteNetOptions fo = {.width = 1024, .samples = samples, .seed = 7};
    McErrors e = mc_errors(net, finite_net_kernels, N, digits.data, digits.shape[1], fo);
    cr_expect_lt(e.nngp, 0.04, "%s: NNGP relative error %.4f", path, e.nngp);
    cr_expect_lt(e.ntk, 0.04, "%s: NTK relative error %.4f", path, e.ntk);
    cr_log_info("%s: NNGP %.4f, NTK %.4f relative error", path, e.nngp, e.ntk);
    npy_free(&digits);
    ntkc_net_free(net);
}

Test(monte_carlo, fc_example_fc_relu_erf_ntk_param, .timeout = TIMEOUT(120))
{
    check_example("examples/fc.ntk", NULL, 32);
}

Test(monte_carlo, fc_example_relu5_ntk_param, .timeout = TIMEOUT(120))
{
    check_example("examples/relu5.ntk", NULL, 24);
}

/* Widths 1024 here (examples/standard.ntk uses 512). */
Test(monte_carlo, fc_standard_param, .timeout = TIMEOUT(120))
{
    check_example("std.ntk",
                  "net std {\n"
                  "    param standard\n"
                  "    dense(width=1024, w_std=1.5, b_std=0.05); relu\n"
                  "    dense(width=1024, w_std=1.5, b_std=0.05); relu\n"
                  "    dense(w_std=1.0)\n"
                  "}\n",
                  64);
}

/* ---- every activation in a deep net ------------------------------------------
 * dense; φ; dense; φ; dense, width 1024, as the relative Frobenius error of
 * each kernel over four inputs. finite_net_kernels averages the NNGP over a
 * readout as wide as the net, so both errors shrink like 1/√(width·samples).
 * Each sample's hidden layers still move the whole kernel by ~7% for
 * relu-like φ (the empirical second moment of 1024 units), ~20% for x² and
 * max(x, 0)², whose φ(u)² has the tails of u⁴: 32 samples, 96 for those.
 * Measured (NTKC_REPORT=1): 0.2–4% and 0.5–3%. Tolerance 5%, "a few percent"
 * as issue 3 asks (neural-tangents' own tests allow 4–5%); seeded, so
 * deterministic. */

enum { ACT_N = 4, ACT_DIM = 8, ACT_WIDTH = 1024, ACT_SAMPLES = 32, ACT_HEAVY_SAMPLES = 96 };

typedef struct ActCase {
    char act[48];     /* the activation statement */
    char formula[96]; /* an `act` line it needs, or "" */
    char weights[32]; /* dense arguments of the hidden layers */
    int heavy;        /* heavy-tailed φ(u)²: more samples */
} ActCase;

/* make test: one or two of each kind (piecewise linear, sigmoid-like, trigonometric, discontinuous,
 * exponential, polynomial, a formula through quadrature); make check-monte-carlo runs these and the rest
 * (act_cases_more, suite monte_carlo_long). */
static ActCase act_cases[] = {
    {"relu", "", "1.4, 0.1", 0},
    {"erf", "", "1.5, 0.1", 0},
    {"gelu", "", "1.4, 0.1", 0},
    {"cos(1, 1.5, 0.3)", "", "1.0, 0.1", 0},
    {"step", "", "1.0, 0.1", 0},
    {"exp(1, 0.3)", "", "1.0, 0.1", 0},
    {"monomial(2)", "", "0.9, 0.1", 1},
    {"swish", "act swish(x) = x / (1 + exp(-x))", "1.4, 0.1", 0},
};

static ActCase act_cases_more[] = {
    {"leaky_relu(0.2)", "", "1.3, 0.1", 0},
    {"abs", "", "1.0, 0.1", 0},
    {"abrelu(-0.4, 1.1)", "", "1.2, 0.1", 0},
    {"sigmoid_like", "", "1.5, 0.1", 0},
    {"sin", "", "1.2, 0.1", 0},
    {"sign", "", "1.0, 0.1", 0},
    {"gaussian", "", "1.5, 0.1", 0},
    {"rbf(0.5)", "", "1.0, 0.1", 0},
    {"rectified_monomial(2)", "", "1.0, 0.1", 1},
    {"polynomial(0.1, 1, 0.3)", "", "0.9, 0.1", 1},
    {"identity", "", "1.2, 0.1", 0},
    /* Variances near 1, where neural-tangents assumes Hermite inputs: at
     * dense(1.0, 0.1) the fourth input's second layer has variance ~2.5, and
     * He_3's u⁹-sized fourth moments leave width 1024 far from Gaussian there
     * (MC 5.67 against the exact 2.99; the closed form matches quadrature to
     * 1e-15 at any variance, test_act_closed.c). */
    {"hermite(3)", "", "0.8, 0.1", 1},
    {"gabor", "", "1.5, 0.1", 0},
    {"softplus2", "act softplus2(x) = log(1 + exp(x))", "1.2, 0.1", 0},
    {"th(2)", "act th(x, k = 1) = tanh(k * x)", "1.2, 0.1", 0},
    {"relu2", "act relu2(x) = max(x, 0)", "1.4, 0.1", 0},
};

static void act_inputs(double *x)
{
    for (int i = 0; i < ACT_N; i++)
        for (int c = 0; c < ACT_DIM; c++) /* unit-ish norms, pairwise correlations from -0.5 to 0.9 */
            x[i * ACT_DIM + c] = (0.8 + 0.15 * i) * cos(0.7 * i + 0.9 * c) + 0.3 * sin(1.3 * c * (i + 1));
}

static void act_deep_net_check(const ActCase *c)
{
    char src[512];
    snprintf(src, sizeof src, "%s\nnet deep { dense(%s); %s; dense(%s); %s; dense(1) }\n", c->formula, c->weights,
             c->act, c->weights, c->act);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, "mc.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x[ACT_N * ACT_DIM];
    act_inputs(x);
    FiniteNetOptions o = {.width = ACT_WIDTH, .samples = c->heavy ? ACT_HEAVY_SAMPLES : ACT_SAMPLES, .seed = 2024};
    McErrors e = mc_errors(net, finite_net_kernels, ACT_N, x, ACT_DIM, o);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "MC %-24s NNGP rel err %.4f  NTK rel err %.4f\n", c->act, e.nngp, e.ntk);
    cr_expect_leq(e.nngp, 0.05, "%s: NNGP relative error %.4f (analytic diag %g, MC %g)", c->act, e.nngp, e.nngp00,
                  e.mc_nngp00);
    cr_expect_leq(e.ntk, 0.05, "%s: NTK relative error %.4f (analytic diag %g, MC %g)", c->act, e.ntk, e.ntk00,
                  e.mc_ntk00);
    ntkc_net_free(net);
}

ParameterizedTestParameters(monte_carlo, act_deep_net)
{
    return cr_make_param_array(ActCase, act_cases, sizeof act_cases / sizeof act_cases[0]);
}

ParameterizedTest(ActCase *c, monte_carlo, act_deep_net, .timeout = TIMEOUT(120)) { act_deep_net_check(c); }

ParameterizedTestParameters(monte_carlo_long, act_deep_net)
{
    return cr_make_param_array(ActCase, act_cases_more, sizeof act_cases_more / sizeof act_cases_more[0]);
}

ParameterizedTest(ActCase *c, monte_carlo_long, act_deep_net, .timeout = TIMEOUT(120)) { act_deep_net_check(c); }

/* ---- images, sequences and branches ------------------------------------------
 * Wide finite conv/branching networks (finite_conv.c) against the compiled
 * kernels, as relative Frobenius errors over 4 inputs. Width 256 channels,
 * 48 seeded samples; the readout averages the NNGP over its 256 units.
 * Measured with `ntkc check` over seeds 1–5 on the two deepest nets here
 * (image_residual_pool_circular_gap, image_fanout_layer_norm_sum_pool): NNGP
 * errors 0.5–5.1 %, NTK errors 0.6–2.9 % (Monte Carlo error, which shrinks
 * like 1/√(width·samples), plus an O(1/width) finite-width bias). The bound
 * 8 % is 1.5× the worst of those; a wrong formula (a missing 1/|F|, a pool
 * scaled once instead of twice, a branch counted twice) moves the kernels by
 * tens of percent. */

enum { IMG_N = 4, IMG_WIDTH = 256, IMG_SAMPLES = 48 };
static const double IMG_TOL = 0.08;

static void image_check(const char *src, unsigned long long seed)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim ? ir->input.dim : 6;
    double *x = malloc(IMG_N * d * sizeof *x);
    fill_random(x, IMG_N * d, seed);
    cr_assert_eq(ir->family, IR_FAMILY_IMAGE);
    FiniteNetOptions o = {.width = IMG_WIDTH, .samples = IMG_SAMPLES, .seed = seed};
    McErrors e = mc_errors(net, finite_conv_kernels, IMG_N, x, d, o);
    cr_log_info("%s: NNGP error %.4f, NTK error %.4f", ir->name, e.nngp, e.ntk);
    cr_expect_lt(e.nngp, IMG_TOL, "%s: NNGP relative error %.4f", ir->name, e.nngp);
    cr_expect_lt(e.ntk, IMG_TOL, "%s: NTK relative error %.4f", ir->name, e.ntk);
    free(x);
    ntkc_net_free(net);
}

Test(monte_carlo, image_conv_flatten, .timeout = TIMEOUT(120))
{
    image_check("net cf { input image(5, 5, 2); conv(3, 1.4, 0.1); relu; conv(3, 1.3, 0.2, stride=2, padding=valid)\n"
                "  relu; flatten; dense(1.2) }",
                1);
}

Test(monte_carlo, image_residual_pool_circular_gap, .timeout = TIMEOUT(120))
{
    image_check("net rg { input image(6, 6, 2); conv(3, 1.4, 0.1); relu\n"
                "  residual { conv(3, 1.3, 0.1); relu; conv(3, 1.2) }\n"
                "  avg_pool(2); conv(3, 1.4, 0.1, padding=circular); relu; global_avg_pool; dense(1.0) }",
                2);
}

Test(monte_carlo, image_fanout_layer_norm_sum_pool, .timeout = TIMEOUT(120))
{
    image_check("net fl { input image(4, 4, 3); conv(3, 1.3, 0.2); layer_norm; erf\n"
                "  fanout { branch { conv(3, 1.2, 0.1) } branch { conv(1, 1.1); relu; conv(3, 1.3) } } prod\n"
                "  fanout { branch { conv(3, 1.4); relu } branch { } } concat\n"
                "  sum_pool(2, stride=1, padding=same); global_avg_pool; dense(1.1) }",
                3);
}

Test(monte_carlo, image_sequence_and_vector_tail, .timeout = TIMEOUT(120))
{
    image_check("net sq { input sequence(8, 2); conv(3, 1.4, 0.1); relu; avg_pool(2); conv(2, 1.3); relu\n"
                "  global_avg_pool; dense(1.2, 0.1); layer_norm; relu; residual { dense(1.1, 0.1) }; dense }",
                4);
}

/* Circular convs whose strides do not divide the size (7 → 3 → 2), read by
 * GAP: every pixel pair counts. `ntkc check` at this width and sample count
 * on 4 other uniform inputs (seed 6) measured NNGP 15.7 %, NTK 26 % off before
 * the fix (planes wrapped modulo the output size), 3.9 %, 3.6 % after; here
 * 2.8 %, 1.8 %. */
Test(monte_carlo, image_circular_strides_not_dividing, .timeout = TIMEOUT(120))
{
    image_check("net cs { input sequence(7, 2); conv(1, 1.4, 0.1, stride=3, padding=circular); relu\n"
                "  conv(2, 1.3, stride=2, padding=circular); relu; global_avg_pool; dense(1.1) }",
                5);
}

/* Param standard (neural-tangents' Conv/Dense parameterization='standard'):
 * the finite networks draw W with w_std/√fan-in and train it unscaled, every
 * hidden layer as wide as it declares (256 channels, the width the NTK nets
 * above use, so the same tolerance holds); the NTK then carries fan-in·Σ
 * terms that the NTK parameterization does not (a kernel off by the missing
 * +1 of a bias, or by C instead of C·|F|, is off by tens of percent).
 * Measured here: NNGP 0.6 %, NTK 1.5 %. */
Test(monte_carlo, image_standard_param, .timeout = TIMEOUT(120))
{
    image_check("net st { param standard; input image(5, 5, 2); conv(3, 1.4, 0.1, width=256); relu\n"
                "  conv(3, 1.3, 0.2, stride=2, padding=valid, width=256); relu; global_avg_pool\n"
                "  dense(1.2, 0.1, width=256); relu; dense(1.1) }",
                6);
}

/* avg_pool(normalize_edges=true): the 2×2 map's windows under padding=same
 * hold 4, 2 or 1 pixels; dividing by 4 instead moves this NTK by 67 %.
 * Measured here: NNGP 2.3 %, NTK 2.3 %. */
Test(monte_carlo, image_avg_pool_normalize_edges, .timeout = TIMEOUT(120))
{
    image_check("net ne { input image(5, 5, 2); conv(3, 1.4, 0.1); relu; conv(3, 1.3, 0.2, stride=2, padding=valid)\n"
                "  relu; avg_pool(2, stride=1, padding=same, normalize_edges=true); flatten; dense(1.2) }",
                7);
}

/* layer_norm over channels and pixels (neural-tangents' LayerNorm(axis=...)):
 * finite networks normalise over the channels of a column (height), a row
 * (width) or the whole image (all). The inputs' pixels differ in scale by up
 * to e³ so the groups' variances differ: the channels-only kernel is then
 * 9-24 % away, and the Monte Carlo average must be within the section's 8 %
 * of the exact kernel and nearer to it than to the channels-only one.
 * Measured here: errors 0.7-1.3 %. */
Test(monte_carlo, image_layer_norm_axes, .timeout = TIMEOUT(240))
{
    static const char *const axes[] = {"height", "width", "all"};
    enum { D = 4 * 5 * 2 };
    double x[IMG_N * D], ref_s[IMG_N * IMG_N], ref_t[IMG_N * IMG_N];
    fill_random(x, IMG_N * D, 8);
    for (size_t i = 0; i < IMG_N; i++)
        for (size_t r = 0; r < 4; r++)
            for (size_t c = 0; c < 5; c++)
                for (size_t k = 0; k < 2; k++)
                    x[i * D + (r * 5 + c) * 2 + k] *= exp(-1.5 + (double)r) * exp(1.0 - 0.5 * (double)c);
    char src[512];
    const char *fmt = "net l { input image(4, 5, 2); conv(1, 1.3, 0.2); layer_norm(axes=%s); erf\n"
                      "  conv(3, 1.2, 0.1, stride=2); layer_norm(axes=%s); relu; global_avg_pool; dense(1.1) }";
    snprintf(src, sizeof src, fmt, "channels", "channels");
    ntkc_net *plain = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(plain, IMG_N, x, 0, NULL, D, ref_s, ref_t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(plain);
    for (int a = 0; a < 3; a++) {
        snprintf(src, sizeof src, fmt, axes[a], axes[a]);
        ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
        double mc_s[IMG_N * IMG_N], mc_t[IMG_N * IMG_N], s[IMG_N * IMG_N], t[IMG_N * IMG_N];
        FiniteNetOptions o = {.width = IMG_WIDTH, .samples = IMG_SAMPLES, .seed = 9};
        cr_assert_eq(ntkc_kernel(net, IMG_N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(finite_conv_kernels(ntkc_net_ir(net), IMG_N, x, D, &o, mc_s, mc_t, &err), 0, "%s", err.message);
        McErrors e = {.nngp = rel_frobenius(mc_s, s, IMG_N * IMG_N), .ntk = rel_frobenius(mc_t, t, IMG_N * IMG_N)};
        double far_s = rel_frobenius(mc_s, ref_s, IMG_N * IMG_N), far_t = rel_frobenius(mc_t, ref_t, IMG_N * IMG_N);
        cr_log_info("axes=%s: NNGP error %.4f, NTK error %.4f (from the channels-only kernel %.4f, %.4f)", axes[a],
                    e.nngp, e.ntk, far_s, far_t);
        cr_expect_lt(e.nngp, IMG_TOL, "axes=%s: NNGP relative error %.4f", axes[a], e.nngp);
        cr_expect_lt(e.ntk, IMG_TOL, "axes=%s: NTK relative error %.4f", axes[a], e.ntk);
        cr_expect_gt(far_s, 2 * e.nngp, "axes=%s: the finite nets are as near the channels-only NNGP", axes[a]);
        cr_expect_gt(far_t, 2 * e.ntk, "axes=%s: the finite nets are as near the channels-only NTK", axes[a]);
        ntkc_net_free(net);
    }
}

/* Dilated convs against finite networks with dilated taps, entry by entry
 * within z standard errors (measured over the samples) plus an O(L/width)
 * finite-width allowance (random_nets.h: the property test's criterion and
 * options); the same nets with kernels 20 % off must fail it. */
Test(monte_carlo, image_dilated_convs_within_their_standard_errors, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net a { input image(9, 8, 2); conv(3, 1.4, 0.1, dilation=2); relu\n"
        "  conv(3, 1.3, 0.2, dh=3, dw=2, stride=2, padding=valid); relu; global_avg_pool; dense(1.2) }",
        "net b { input image(6, 6, 1); conv(3, 1.4, 0.1, dilation=2, padding=circular)\n"
        "  residual { erf; conv(2, 1.2, 0.1, dilation=3, padding=circular) }; relu; flatten; dense(1.1) }",
        "net c { input sequence(12, 2); conv(3, 1.4, 0.1, dilation=3, stride=2); relu\n"
        "  conv(3, 1.3, dilation=2, padding=circular); relu; global_avg_pool; dense }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 61, "dilated");
}

/* conv_transpose and conv_local (neural-tangents' ConvTranspose, ConvLocal)
 * against finite networks of those layers (finite_conv_variants.c), with the
 * dilated convs' criterion above: entry by entry within z standard errors
 * plus an O(L/width) allowance; the same nets with kernels 20 % off must
 * fail it. Every padding, strides that do not divide, sequences. */
Test(monte_carlo, image_conv_variants_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net t { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2); relu\n"
        "  conv_transpose(kh=2, kw=3, sh=1, sw=2, w_std=1.3, b_std=0.2, padding=valid); relu; global_avg_pool; dense(1.2) }",
        "net c { input sequence(5, 2); conv_transpose(3, 1.4, 0.1, stride=2, padding=circular); erf\n"
        "  conv_transpose(4, 1.2, stride=3, padding=circular); relu; global_avg_pool; dense(1.1) }",
        "net l { input image(5, 5, 2); conv(3, 1.3, 0.1); relu; conv_local(3, 1.4, 0.2, stride=2, padding=valid); relu\n"
        "  conv_local(2, 1.2, 0.1, padding=same); relu; global_avg_pool; dense(1.1) }",
        "net m { input sequence(7, 2); conv_local(3, 1.4, 0.1, stride=2, padding=circular); relu\n"
        "  conv_transpose(2, 1.3, 0.1, stride=3); relu; conv(3, 1.2, padding=circular); relu; flatten; dense }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 71, "conv variants");
}

/* The same under param standard (neural-tangents' _Conv(parameterization='standard') for ConvTranspose and
 * ConvLocal: Θ' = C·K(Σ) + w²/|F|·K(Θ) (+1 with a bias)): finite networks whose weights carry the deviations
 * (finite_conv_std.c) at their declared widths, 128 channels on the image back end and 512 on the all-pairs
 * one (the widths random_net_checks' O(L/width) allowance takes under param standard); strides that do not
 * divide, every padding, a frozen layer, variances far from 1; kernels 20 % off must fail. Measured: worst
 * entries at 0.13, 0.17, 0.31 and 0.35 of the tolerance, kernels 20 % off at 1.40, 1.90, 4.2 and 3.1 times it;
 * 5.4 s of CPU. */
Test(monte_carlo, conv_variants_standard_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const images[] = {
        "net t { param standard; input image(2, 3, 2); conv_transpose(3, 2.2, 0.4, stride=2, width=128); relu\n"
        "  conv_transpose(kh=2, kw=3, sh=1, sw=2, w_std=0.6, b_std=1.3, padding=valid, width=128); relu\n"
        "  global_avg_pool; dense(1.2) }",
        "net l { param standard; input image(4, 5, 2); conv(2, 1.3, 0.1, width=128); relu\n"
        "  conv_local(3, 2.1, 0.6, stride=2, padding=valid, width=128); relu\n"
        "  conv_local(kh=2, kw=1, w_std=0.5, b_std=1.2, padding=circular, width=128, trainable=false); relu\n"
        "  conv_transpose(2, 1.4, stride=3, padding=circular, width=128); erf; flatten; dense(1.1, 0.2) }",
    };
    static const char *const pairs[] = {
        "net p { param standard; input sequence(4, 2, masked=true); conv_local(3, 1.8, 0.4, padding=circular,\n"
        "  width=512); relu; conv_local(2, 0.7, 1.1, width=512); relu; global_avg_pool; dense(1.2) }",
        "net v { param standard; input volume(2, 1, 2, 2); conv_local(2, 1.6, 0.3, padding=circular, width=512); relu\n"
        "  conv_transpose(kd=1, kh=2, kw=1, sd=1, sh=2, sw=1, w_std=0.8, b_std=0.9, width=512); relu; flatten\n"
        "  dense(1.1) }",
    };
    expect_within_errors_and_20_off_fails_at(128, images, sizeof images / sizeof images[0], 75, "variants std");
    expect_within_errors_and_20_off_fails(pairs, sizeof pairs / sizeof pairs[0], 77, "variants std pairs");
}

/* ---- volumes ---------------------------------------------------------------
 * input volume(D, H, W, C) (issue 21) against finite networks of 3-D convs
 * (finite_conv.c's im2col over kd·kh·kw taps), with the dilated convs'
 * criterion: entry by entry within z standard errors (measured over the
 * samples) plus an O(L/width) finite-width allowance; the same nets with
 * kernels 20 % off must fail it. Every padding, strides and dilations per
 * axis, both pools, flatten and global pooling.
 * Width 256 (a quarter of the cost at 512: these nets run on the all-pairs
 * back end, whose finite nets have `width` channels). Measured: the nets'
 * worst entries at 0.23-0.37 of their tolerance, kernels 20 % off at 1.70,
 * 6.5 and 1.91 times it (3.0, 7.8 and 3.1 at width 512). */
Test(monte_carlo, volume_convs_and_pools_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net a { input volume(3, 3, 3, 2); conv(2, 1.4, 0.1); relu\n"
        "  conv(kd=2, kh=2, kw=3, stride=2, padding=valid, w_std=1.3, b_std=0.2); relu; global_avg_pool; dense(1.2) }",
        "net b { input volume(4, 2, 3, 1); conv(kd=3, kh=2, kw=2, padding=circular, dd=2, w_std=1.4, b_std=0.1)\n"
        "  erf; avg_pool(kd=2, kh=1, kw=3, padding=same); flatten; dense(1.1) }",
        "net c { input volume(2, 3, 3, 2); dense(1.3); sum_pool(kd=1, kh=2, kw=2, stride=1, padding=same); relu\n"
        "  conv(2, 1.2, 0.1, sd=1, sh=2, sw=2, padding=same, dh=2); relu; global_avg_pool; dense }",
    };
    expect_within_errors_and_20_off_fails_at(256, nets, sizeof nets / sizeof nets[0], 81, "volume");
}

/* Volumes beyond windows: conv_transpose (every padding, strides per axis,
 * the circular fold), conv_local, avg_pool(normalize_edges=true), pooling
 * inside a fanout, dropout and index, against finite networks of those layers
 * with 3-D taps (finite_conv_variants.c, finite_conv.c), with the dilated
 * convs' criterion: entry by entry within z standard errors plus an O(L/width)
 * allowance; the same nets with kernels 20 % off must fail it. Width 256,
 * as the volumes above; measured: worst entries at 0.25-0.40 of the
 * tolerance, 20 % off at 1.84, 2.6 and 5.1 times it (3.3, 3.6, 9.7 at 512). */
Test(monte_carlo, volume_variants_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net t { input volume(2, 1, 2, 2); conv_transpose(2, 1.4, 0.1, stride=2); relu\n"
        "  conv_transpose(kd=2, kh=2, kw=1, sd=1, sh=2, sw=1, padding=valid, w_std=1.3, b_std=0.2); relu\n"
        "  global_avg_pool; dense(1.2) }",
        "net c { input volume(2, 2, 1, 2); conv_transpose(kd=3, kh=2, kw=3, sd=2, sh=1, sw=3, padding=circular,\n"
        "  w_std=1.4, b_std=0.1); erf; conv_local(kd=2, kh=2, kw=2, stride=2, padding=valid, w_std=1.2, b_std=0.2)\n"
        "  relu; flatten; dense(1.1) }",
        "net l { input volume(2, 3, 3, 2); conv_local(2, 1.4, 0.1, padding=circular); relu\n"
        "  avg_pool(kd=2, kh=3, kw=2, stride=2, padding=same, normalize_edges=true); global_avg_pool; dense }",
    };
    expect_within_errors_and_20_off_fails_at(256, nets, sizeof nets / sizeof nets[0], 101, "volume variants");
}

/* The same criterion: dropout, pooling and conv_local inside a fanout's
 * branches (keeping the grid), index on a volume. Width 256, as above
 * (20 s of CPU at width 512, 4 s here); measured: worst entry at 0.35 of the
 * tolerance, 20 % off at 1.47 times it (2.3 at 512). */
Test(monte_carlo, volume_dropout_branches_index_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net f { input volume(2, 2, 2, 1); conv(2, 1.3, 0.1); relu; dropout(0.6)\n"
        "  fanout { branch { conv(2, 1.1); avg_pool(2, stride=1, padding=same, normalize_edges=true) }\n"
        "           branch { sum_pool(2, stride=1, padding=circular); conv_local(2, 1.2) } } sum; relu\n"
        "  index(5); dense(1.2, 0.1) }",
    };
    expect_within_errors_and_20_off_fails_at(256, nets, sizeof nets / sizeof nets[0], 105, "volume dropout/index");
}

/* The same criterion: concat along depth, height and width (identity
 * branches beside fresh ones: their cross blocks) and image_resize with a new
 * depth (linear, nearest), against finite networks that copy each branch's
 * block (finite_conv_concat.c) and resize by Rd ⊗ Rh ⊗ Rw (finite_resize.c). */
Test(monte_carlo, volume_concat_resize_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net d { input volume(2, 2, 2, 1); conv(2, 1.3, 0.1)\n"
        "  fanout(axis=depth) { branch { } branch { conv(2, 1.2) } branch { } } concat; relu; global_avg_pool; dense }",
        "net h { input volume(2, 2, 2, 2); dense(1.3, 0.1)\n"
        "  fanout(axis=height) { branch { conv(2, 1.2) } branch { } } concat; erf\n"
        "  fanout(axis=width) { branch { dense(1.1) } branch { conv(2, 0.9, 0.2) } } concat; relu; flatten; dense }",
        "net r { input volume(2, 2, 3, 1); conv(2, 1.3, 0.1); relu; image_resize(3, 2, d=3); conv(2, 1.2); relu\n"
        "  image_resize(2, 2, method=nearest, d=1); flatten; dense(1.1) }",
    };
    expect_within_errors_and_20_off_fails_at(256, nets, sizeof nets / sizeof nets[0], 111, "volume concat/resize");
}

/* Volumes whose branches change the grid (each from the fanout's): a width
 * concat nested in a depth concat's branch and resized, a valid window
 * beside an identity; the finite nets concatenate and resize inside branches
 * (finite_conv_concat.c, finite_resize.c). */
Test(monte_carlo, volume_branch_grids_within_their_standard_errors, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net b { input volume(2, 2, 2, 1); conv(2, 1.3, 0.1)\n"
        "  fanout(axis=depth) { branch { } branch { fanout(axis=width) { branch { conv(2, 1.2) } branch { } } concat\n"
        "    conv(2); image_resize(2, 2, d=1) } branch { conv(kd=2, kh=1, kw=1, padding=valid, w_std=1.1) } } concat\n"
        "  relu; global_avg_pool; dense }",
    };
    expect_within_errors_and_20_off_fails_at(256, nets, 1, 117, "volume branch grids");
}

/* ---- the all-pairs back end's options ----------------------------------------
 * param standard in nets with attention, masked inputs and volumes (fan-in ×
 * Σ in Θ; the finite nets have the declared widths, 512, which is the width
 * the criterion's O(L/width) allowance uses), and volumes with layer_norm,
 * residual, frozen conv and attention, and image_resize and conv_local in a
 * net with attention; the dilated convs' criterion: entry by
 * entry within z standard errors plus the allowance, and the same nets with
 * kernels 20 % off must fail it. */
Test(monte_carlo, pairs_standard_and_volume_layers_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net a { param standard; input sequence(4, 2, masked=true); conv(3, 1.3, 0.1, width=512); relu\n"
        "  attention(w_q=1.2, b_std=0.1, width=512); relu; dense(1.1, width=512); relu; global_avg_pool; dense(1.2) }",
        "net v { param standard; input volume(2, 2, 3, 2); conv(2, 1.4, 0.1, width=512); relu\n"
        "  conv(kd=2, kh=2, kw=2, stride=2, padding=valid, w_std=1.2, width=512); relu; flatten; dense(1.1) }",
        "net l { input volume(2, 2, 2, 2); conv(2, 1.3, 0.1); layer_norm; relu\n"
        "  residual(alpha=0.7) { conv(2, 1.2, padding=circular); relu; conv(kd=1, kh=2, kw=2, w_std=1.1, trainable=false) }\n"
        "  attention(w_q=1.1, w_v=1.2, b_std=0.1); relu; global_avg_pool; dense(1.1) }",
        "net r { input image(3, 3, 2); conv(2, 1.3, 0.1); relu; image_resize(4, 2); attention(w_q=1.2, b_std=0.1)\n"
        "  relu; image_resize(1, 3, method=nearest); conv_local(kh=1, kw=2, w_std=1.2, b_std=0.1); relu\n"
        "  global_avg_pool; dense(1.1) }",
    };
    /* param standard at its declared widths; the others at width 256 (measured: 20 % off at 1.53 and 1.76
     * times the tolerance, 2.4 and 1.9 at 512), a quarter of the cost */
    expect_within_errors_and_20_off_fails(nets, 2, 91, "pairs");
    expect_within_errors_and_20_off_fails_at(256, nets + 2, sizeof nets / sizeof nets[0] - 2, 93, "pairs at width 256");
}


/* ---- image_resize -------------------------------------------------------------
 * image_resize against finite networks that resize every channel's image with
 * jax.image.resize's weights (finite_resize.c), with the dilated convs'
 * criterion above: entry by entry within z standard errors plus an O(L/width)
 * allowance; the same nets with kernels 20 % off must fail it. Upsampling and
 * downsampling (with and without antialias), nearest, sequences. */
Test(monte_carlo, resize_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net u { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; image_resize(5, 7)\n"
        "  conv(2, 1.3, 0.2); relu; global_avg_pool; dense(1.2) }",
        "net d { input image(5, 4, 2); conv(3, 1.4, 0.1); erf; image_resize(2, 3)\n"
        "  conv(2, 1.3); relu; image_resize(3, 2, antialias=false); flatten; dense(1.1) }",
        "net n { input sequence(6, 2); conv(3, 1.4, 0.1); relu; image_resize(1, 4, method=nearest)\n"
        "  conv(3, 1.2, 0.1, padding=circular); relu; image_resize(1, 9, method=nearest); global_avg_pool; dense }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 81, "image_resize");
}


/* Fanouts on pixel-pair arrays (compiler/ir/ir_fanout.h): pooling and
 * conv_transpose/conv_local inside branches, residual and fanout under
 * param standard, and concat along height or width, whose cross blocks are zero between fresh branches and the input's
 * kernel between identity branches. Finite nets with the same layers and
 * spatial concat (finite_conv_concat.c), with the dilated convs' criterion:
 * entry by entry within z standard errors plus an O(L/width) allowance; the
 * same nets with kernels 20 % off must fail it. */
Test(monte_carlo, image_fanout_pairs_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net p { input image(4, 4, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2, 0.1); avg_pool(2) } branch { sum_pool(2); conv(3, 1.4) } } sum\n"
        "  relu; flatten; dense(1.1) }",
        "net h { input image(3, 3, 2); conv(3, 1.3, 0.1)\n"
        "  fanout(axis=height) { branch { relu; conv(3, 1.2, 0.1) } branch { } branch { } } concat\n"
        "  relu; conv(3, 1.1); relu; global_avg_pool; dense }",
        "net w { input sequence(4, 2); conv(3, 1.3, 0.1); relu; conv(3, 1.2)\n"
        "  residual(alpha=0.8) { relu; conv_transpose(2, 1.2, stride=2); relu; conv_local(2, 1.1, stride=2) }\n"
        "  fanout(axis=width) { branch { erf; conv(2, 1.2); avg_pool(2) } branch { } } concat; relu; global_avg_pool; "
        "dense }",
        /* param standard: the finite net has the declared widths */
        "net s { param standard; input image(4, 4, 2); conv(3, 1.3, 0.1, width=128); relu\n"
        "  residual(alpha=0.8) { conv(3, 1.2, width=128); relu; conv(3, 1.1, 0.1, width=128) }\n"
        "  fanout { branch { conv(3, 1.2, width=128); avg_pool(2) } branch { avg_pool(2); conv(1, 1.4, 0.2, "
        "width=128) } } concat; conv(3, width=128); relu; flatten; dense(1.1) }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 81, "fanout pairs");
}

/* Global pooling, flatten, index and image_resize inside branches
 * (tests/test_branch_reduce.c): fanouts whose branches reduce the image to
 * vectors, joined by a sum or by a concat along the channels that weights a
 * flattened branch by its pixels (as the finite nets' concatenated units
 * do), a residual on vectors inside a branch, resizing branches, index and
 * attention on the all-pairs back end, and the identity of a flattened image
 * in a concat. The dilated convs' criterion: entry by entry within z
 * standard errors plus an O(L/width) allowance; the same nets with kernels
 * 20 % off must fail it. */
Test(monte_carlo, branch_reduce_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net a { input image(3, 3, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; global_avg_pool } branch { conv(3, 1.1, 0.2); flatten } } concat\n"
        "  dense(1.1, 0.1) }",
        "net b { input image(4, 4, 1); conv(3, 1.3); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; avg_pool(2, padding=same); global_avg_pool; dense(1.1); relu; dense } "
        "branch { conv(3, 1.4, stride=2); global_sum_pool; residual(alpha=0.6) { dense; relu; dense(0.9, 0.1) } } } sum\n"
        "  relu; dense }",
        "net r { input image(3, 3, 1); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); image_resize(5, 4) } branch { conv(2); image_resize(5, 4, method=nearest) } } "
        "sum; relu; conv(3); relu; flatten; dense }",
        "net i { input sequence(6, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; conv(3); index(2) } branch { attention; global_avg_pool } } sum\n"
        "  relu; dense }",
        "net g { input image(3, 3, 1); conv(3, 1.2); relu; flatten; fanout { branch { dense } branch { } } concat; "
        "dense }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 91, "branch reduce");
}

/* ---- graphs ----------------------------------------------------------------
 * Wide finite graph networks (finite_graph.c) against the analytic graph
 * kernels, on five small graphs with one-hot tags, width 1024, 64 samples.
 * Errors (max |MC − exact| over the largest diagonal) measured here: 0.5 % /
 * 0.3 % (NTK / NNGP) and 0.7 % / 1.1 %; over seeds 1–3 with 32 samples the
 * relative Frobenius errors spread up to 2.1 %, so 64 samples keep a 3 %
 * tolerance about twice the spread. */

enum { GRAPH_G = 5, GRAPH_F = 3 };

static char *five_graphs(void)
{
    GraphText t = {0};
    static const unsigned tri[][2] = {{0, 1}, {1, 2}, {2, 0}};
    static const unsigned path[][2] = {{0, 1}, {1, 2}, {2, 3}};
    static const unsigned star[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    static const unsigned chord[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 2}};
    static const unsigned pair[][2] = {{0, 1}};
    const int tags_tri[] = {0, 1, 2}, tags_path[] = {0, 0, 1, 1}, tags_star[] = {2, 0, 0, 1, 1};
    const int tags_chord[] = {1, 2, 1, 0}, tags_pair[] = {2, 2, 0};
    gt_add(&t, 3, tri, 3, tags_tri, 0);
    gt_add(&t, 4, path, 3, tags_path, 1);
    gt_add(&t, 5, star, 4, tags_star, 0);
    gt_add(&t, 4, chord, 5, tags_chord, 1);
    gt_add(&t, 3, pair, 1, tags_pair, 0); /* node 2 isolated */
    return gt_finish(&t);
}

/* max |MC − exact| / max exact diagonal */
static double rel_to_largest_diagonal(const double *mc, const double *exact)
{
    enum { G = GRAPH_G };
    double scale = 0, diff = 0;
    for (size_t i = 0; i < G; i++)
        scale = fmax(scale, exact[i * G + i]);
    for (size_t e = 0; e < G * G; e++)
        diff = fmax(diff, fabs(mc[e] - exact[e]));
    return diff / scale;
}

static McErrors graph_errors(const char *src, size_t samples)
{
    enum { G = GRAPH_G };
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    char *text = five_graphs();
    ntkc_graphs *g = graphs_or_fail(text, GRAPH_F);
    double exact_s[G * G], exact_t[G * G], mc_s[G * G], mc_t[G * G];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(net, g, NULL, exact_s, exact_t, NULL, &err), 0, "%s", err.message);
    FiniteNetOptions opts = {.width = 1024, .samples = samples, .seed = 7};
    cr_assert_eq(finite_graph_kernels(ntkc_net_ir(net), g, &opts, mc_s, mc_t, &err), 0, "%s", err.message);
    McErrors r = {.nngp = rel_to_largest_diagonal(mc_s, exact_s), .ntk = rel_to_largest_diagonal(mc_t, exact_t)};
    fprintf(stderr, "graph MC: NTK error %.4f, NNGP error %.4f (of the largest diagonal)\n", r.ntk, r.nngp);
    ntkc_graphs_free(g);
    free(text);
    ntkc_net_free(net);
    return r;
}

Test(monte_carlo, graph_sum_aggregation_mlp_blocks)
{
    McErrors r = graph_errors("net g { input graph(3)\n"
                              "  aggregate; dense(1.5, 0.1); relu\n"
                              "  aggregate; dense(1.5); relu; dense(1.2, 0.2); relu\n"
                              "  readout(sum); dense(1) }",
                              64);
    cr_expect_lt(r.ntk, 0.03);
    cr_expect_lt(r.nngp, 0.03);
}

Test(monte_carlo, graph_degree_scaling_mean_readout_jumping_knowledge)
{
    McErrors r = graph_errors("net g { input graph(3, normalize=false)\n"
                              "  repeat 2 { aggregate(scale=degree); dense(1.4, 0.1); relu; dense(1.4); relu }\n"
                              "  readout(mean, jk=true); dense(1.2, 0.3) }",
                              64);
    cr_expect_lt(r.ntk, 0.03);
    cr_expect_lt(r.nngp, 0.03);
}

/* ---- attention -------------------------------------------------------------
 * Finite-width multi-head attention networks
 * (runtime/finite/finite_attn.c) against the compiled kernels,
 * for every mechanism and scaling with an exact kernel.
 *
 * The tolerance comes from the run itself: the samples are split into
 * BATCHES independent batches (other seeds), whose spread gives the
 * standard error of the Monte Carlo mean entry by entry; the analytic kernel
 * must lie within Z standard errors (in Frobenius norm over the N×N entries)
 * plus the finite-width bias, O(1/width) relative: allowed BIAS/width of the
 * kernel's norm (0.8 % at width 256). Measured here (seeds 1–5): errors of
 * 0.6–2.0 standard errors, 1.2–6.2 % of the norm; at width 128 with 4 heads
 * (32 key channels a head) the relu mechanism was 3.4 standard errors off
 * and shrank to 1/4 at width 512: the bias grows like 1/(channels per head),
 * so the heads here stay few. A wrong formula (a factor 2 lost in the NTK's
 * value/output terms, softmax over the wrong axis, the sqrt-identity's 4Σ)
 * moves the kernels by 10–100 % of their norm,
 * far outside. Square-root scaling keeps Gaussian logits at any width: their
 * fluctuation averages out over heads only, hence heads=16 there. */
enum { ATT_N = 4, ATT_WIDTH = 256, BATCHES = 8, PER_BATCH = 8 };
static const double ATT_Z = 4.0, ATT_BIAS = 2.0;

static double att_frob(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

/* Analytic vs the mean of BATCHES Monte Carlo batches, for one kernel (w = 0 NNGP, 1 NTK). */
static void attention_compare(const char *name, const char *which, const double *exact, double b[BATCHES][ATT_N * ATT_N])
{
    double se[ATT_N * ATT_N], diff[ATT_N * ATT_N];
    for (size_t e = 0; e < ATT_N * ATT_N; e++) {
        double m = 0, v = 0;
        for (int k = 0; k < BATCHES; k++)
            m += b[k][e] / BATCHES;
        for (int k = 0; k < BATCHES; k++)
            v += (b[k][e] - m) * (b[k][e] - m) / (BATCHES - 1);
        se[e] = sqrt(v / BATCHES), diff[e] = m - exact[e];
    }
    double err = att_frob(diff, ATT_N * ATT_N), sef = att_frob(se, ATT_N * ATT_N), norm = att_frob(exact, ATT_N * ATT_N);
    double tol = ATT_Z * sef + ATT_BIAS / ATT_WIDTH * norm;
    cr_log_info("%s %s: |MC - exact| = %.4g (%.2f standard errors, %.2f %% of the norm), tolerance %.4g", name, which,
                err, err / sef, 100 * err / norm, tol);
    cr_expect_leq(err, tol, "%s %s: |MC - exact| = %.4g > %.4g (%.2f standard errors of %.4g, norm %.4g)", name, which,
                  err, tol, err / sef, sef, norm);
}

/* masked: the inputs are padded to lengths 5, 3, 4, 2 (ntkc_mask_lengths:
 * NaN in every channel of a padded token), which both sides leave out. */
static void attention_check_net(const char *src, const char *attn, unsigned long long seed, int masked);

static void attention_check_padded(const char *attn, unsigned long long seed, int masked)
{
    char src[512];
    snprintf(src, sizeof src,
             "net a { input sequence(5, 3); dense(1.2, 0.1)\n"
             "  residual { layer_norm; attention(%s) }\n"
             "  relu; global_avg_pool; dense(1.1) }",
             attn);
    attention_check_net(src, attn, seed, masked);
}

static void attention_check_net(const char *src, const char *attn, unsigned long long seed, int masked)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim;
    double *x = malloc(ATT_N * d * sizeof *x);
    fill_random(x, ATT_N * d, seed);
    double s[ATT_N * ATT_N], t[ATT_N * ATT_N], bs[BATCHES][ATT_N * ATT_N], bt[BATCHES][ATT_N * ATT_N];
    ntkc_error err = {0};
    const double lengths[ATT_N] = {5, 3, 4, 2};
    if (masked)
        cr_assert_eq(ntkc_mask_lengths(net, ATT_N, x, d, lengths, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, ATT_N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ir->family, IR_FAMILY_ATTENTION);
    for (int k = 0; k < BATCHES; k++) {
        FiniteNetOptions o = {.width = ATT_WIDTH, .samples = PER_BATCH, .seed = seed * 1000 + (unsigned long long)k};
        cr_assert_eq(finite_conv_kernels(ir, ATT_N, x, d, &o, bs[k], bt[k], &err), 0, "%s", err.message);
    }
    attention_compare(attn, "NNGP", s, bs);
    attention_compare(attn, "NTK", t, bt);
    free(x);
    ntkc_net_free(net);
}

static void attention_check(const char *attn, unsigned long long seed) { attention_check_padded(attn, seed, 0); }

Test(monte_carlo, attention_softmax, .timeout = TIMEOUT(60)) { attention_check("heads=2, w_q=1.5, b_std=0.2", 1); }
Test(monte_carlo, attention_identity, .timeout = TIMEOUT(60)) { attention_check("mechanism=identity, w_q=0.8, w_out=1.2", 2); }
Test(monte_carlo, attention_abs, .timeout = TIMEOUT(60)) { attention_check("mechanism=abs, w_k=0.7, w_v=1.3", 3); }
Test(monte_carlo, attention_relu, .timeout = TIMEOUT(60)) { attention_check("mechanism=relu, heads=2, b_std=0.3", 4); }
Test(monte_carlo, attention_sqrt_identity, .timeout = TIMEOUT(60))
{
    attention_check("scaling=sqrt, mechanism=identity, heads=16, w_q=0.6, w_k=0.9", 5);
}

/* ---- layer_norm over positions on the all-pairs back end ---------------------
 * layer_norm(axes=height|width|all) in nets with attention (images, padded
 * sequences) and on volumes (depth, and the height and width of each slice),
 * against finite networks normalising over the channels and those positions
 * (finite_conv_ln.c; the real tokens only on padded inputs), with the
 * attention section's criterion: |MC − exact|_F within z standard errors
 * (over BATCHES batches) plus an O(1/width) bias. Inputs whose positions
 * differ in scale (up to e^3, a volume's 8 positions e^5), so that the groups' mean variances differ
 * from the positions' own; the exact kernels 20 % off must fail the
 * criterion, and so must the kernels of the same nets normalising over the
 * channels alone. */

/* |MC − exact·(1 + off)|_F over attention_compare's tolerance. */
static double attention_over_tolerance(const double *exact, double off, double b[BATCHES][ATT_N * ATT_N])
{
    double se[ATT_N * ATT_N], diff[ATT_N * ATT_N];
    for (size_t e = 0; e < ATT_N * ATT_N; e++) {
        double m = 0, v = 0;
        for (int k = 0; k < BATCHES; k++)
            m += b[k][e] / BATCHES;
        for (int k = 0; k < BATCHES; k++)
            v += (b[k][e] - m) * (b[k][e] - m) / (BATCHES - 1);
        se[e] = sqrt(v / BATCHES), diff[e] = m - exact[e] * (1 + off);
    }
    return att_frob(diff, ATT_N * ATT_N) /
           (ATT_Z * att_frob(se, ATT_N * ATT_N) + ATT_BIAS / ATT_WIDTH * att_frob(exact, ATT_N * ATT_N));
}

/* |a − b|_F / |b|_F */
static double att_dist(const double *a, const double *b)
{
    double d[ATT_N * ATT_N];
    for (size_t e = 0; e < ATT_N * ATT_N; e++)
        d[e] = a[e] - b[e];
    return att_frob(d, ATT_N * ATT_N) / att_frob(b, ATT_N * ATT_N);
}

/* fmt has three %s for the layer_norms' axes: `axes` against finite nets,
 * and `channels` for the control (and `wrong`, when given, for a second
 * control: another grouping, whose kernels must fail too). Position p of P
 * scaled by e^(spread·(p/(P−1) − 1/2)); masked: lengths 5, 3, 4, 2. */
static void ln_axes_check_wrong(const char *fmt, const char *const axes[3], const char *const wrong[3], double spread,
                                unsigned long long seed, int masked)
{
    char src[512], plain[512];
    snprintf(src, sizeof src, fmt, axes[0], axes[1], axes[2]);
    snprintf(plain, sizeof plain, fmt, "channels", "channels", "channels");
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC), *ctl = compile_or_fail(plain, NTKC_BACKEND_TCC);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim, C = ir->input.c, P = d / C;
    double *x = malloc(ATT_N * d * sizeof *x);
    double s[ATT_N * ATT_N], t[ATT_N * ATT_N], cs[ATT_N * ATT_N], ct[ATT_N * ATT_N];
    double bs[BATCHES][ATT_N * ATT_N], bt[BATCHES][ATT_N * ATT_N];
    fill_random(x, ATT_N * d, seed);
    for (size_t e = 0; e < ATT_N * d; e++)
        x[e] *= exp(spread * ((double)(e / C % P) / (double)(P - 1) - 0.5));
    ntkc_error err = {0};
    const double lengths[ATT_N] = {5, 3, 4, 2};
    if (masked)
        cr_assert_eq(ntkc_mask_lengths(net, ATT_N, x, d, lengths, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, ATT_N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(ctl, ATT_N, x, 0, NULL, d, cs, ct, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ir->family, IR_FAMILY_ATTENTION);
    for (int k = 0; k < BATCHES; k++) {
        FiniteNetOptions o = {.width = ATT_WIDTH, .samples = PER_BATCH, .seed = seed * 1000 + (unsigned long long)k};
        cr_assert_eq(finite_conv_kernels(ir, ATT_N, x, d, &o, bs[k], bt[k], &err), 0, "%s", err.message);
    }
    attention_compare(src, "NNGP", s, bs);
    attention_compare(src, "NTK", t, bt);
    double off_s = attention_over_tolerance(s, 0.2, bs), off_t = attention_over_tolerance(t, 0.2, bt);
    double ctl_s = attention_over_tolerance(cs, 0, bs), ctl_t = attention_over_tolerance(ct, 0, bt);
    cr_log_info("%s: kernels 20 %% off %.2f, %.2f, channels-only kernels (%.1f %%, %.1f %% away) %.2f, %.2f times "
                "the tolerance (NNGP, NTK)",
                ir->name, off_s, off_t, 100 * att_dist(cs, s), 100 * att_dist(ct, t), ctl_s, ctl_t);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "MC %s: exact %.2f, %.2f; 20 %% off %.2f, %.2f; channels-only %.2f, %.2f of the tolerance\n",
                ir->name, attention_over_tolerance(s, 0, bs), attention_over_tolerance(t, 0, bt), off_s, off_t, ctl_s,
                ctl_t);
    cr_expect(off_s > 1 && off_t > 1, "kernels 20 %% off passed (%.2f, %.2f of the tolerance):\n%s", off_s, off_t, src);
    cr_expect(ctl_s > 1 || ctl_t > 1, "the channels-only kernels passed (%.2f, %.2f):\n%s", ctl_s, ctl_t, src);
    if (wrong) { /* another grouping on the same finite nets */
        char other[512];
        snprintf(other, sizeof other, fmt, wrong[0], wrong[1], wrong[2]);
        ntkc_net *w = compile_or_fail(other, NTKC_BACKEND_TCC);
        cr_assert_eq(ntkc_kernel(w, ATT_N, x, 0, NULL, d, cs, ct, NULL, &err), 0, "%s", err.message);
        double w_s = attention_over_tolerance(cs, 0, bs), w_t = attention_over_tolerance(ct, 0, bt);
        cr_log_info("%s: the wrong grouping's kernels (%.1f %%, %.1f %% away) %.2f, %.2f times the tolerance",
                    ir->name, 100 * att_dist(cs, s), 100 * att_dist(ct, t), w_s, w_t);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC %s: wrong grouping %.2f, %.2f of the tolerance\n", ir->name, w_s, w_t);
        cr_expect(w_s > 1 || w_t > 1, "the wrong grouping's kernels passed (%.2f, %.2f):\n%s", w_s, w_t, other);
        ntkc_net_free(w);
    }
    free(x);
    ntkc_net_free(net);
    ntkc_net_free(ctl);
}

static void ln_axes_check(const char *fmt, const char *const axes[3], double spread, unsigned long long seed,
                          int masked)
{
    ln_axes_check_wrong(fmt, axes, NULL, spread, seed, masked);
}

Test(monte_carlo, pairs_layer_norm_image_attention, .timeout = TIMEOUT(60))
{
    static const char *const axes[3] = {"height", "width", "all"};
    ln_axes_check("net i { input image(3, 3, 2); dense(1.3, 0.1); layer_norm(axes=%s); relu; conv(3, 1.2)\n"
                  "  residual { layer_norm(axes=%s); attention(w_q=1.2, b_std=0.1) }; layer_norm(axes=%s); relu\n"
                  "  global_avg_pool; dense(1.1) }",
                  axes, 3.0, 31, 0);
}

Test(monte_carlo, pairs_layer_norm_volume, .timeout = TIMEOUT(60))
{
    static const char *const axes[3] = {"depth", "height", "width"};
    ln_axes_check("net v { input volume(2, 2, 2, 2); dense(1.3, 0.1); layer_norm(axes=%s); relu; conv(2, 1.2)\n"
                  "  layer_norm(axes=%s); erf; attention(w_q=1.1); layer_norm(axes=%s); relu; global_avg_pool\n"
                  "  dense(1.1) }",
                  axes, 5.0, 32, 0);
}

/* Two of a volume's three axes (each slice's plane, a column's or a row's
 * plane through the slices) on a 2×3×2 grid; the wrong grouping: the same
 * net with the three forms permuted. */
Test(monte_carlo, pairs_layer_norm_volume_planes, .timeout = TIMEOUT(60))
{
    static const char *const axes[3] = {"depth_height", "depth_width", "height_width"};
    static const char *const wrong[3] = {"depth_width", "height_width", "depth_height"};
    ln_axes_check_wrong("net p { input volume(2, 3, 2, 2); dense(1.3, 0.1); layer_norm(axes=%s); relu\n"
                        "  conv(2, 1.2, 0.1); layer_norm(axes=%s); erf; dense(1.1); layer_norm(axes=%s); relu\n"
                        "  global_avg_pool; dense(1.1) }",
                        axes, wrong, 5.0, 34, 0);
}

Test(monte_carlo, pairs_layer_norm_masked_sequence, .timeout = TIMEOUT(60))
{
    static const char *const axes[3] = {"width", "all", "width"};
    ln_axes_check("net a { input sequence(5, 3, masked=true); dense(1.2, 0.1)\n"
                  "  residual { layer_norm(axes=%s); attention(heads=2, w_q=1.5, b_std=0.2) }\n"
                  "  layer_norm(axes=%s); relu; conv(3, 1.1, 0.1); layer_norm(axes=%s); relu\n"
                  "  global_avg_pool; dense(1.1) }",
                  axes, 3.0, 33, 1);
}

/* ---- frozen layers -----------------------------------------------------------
 * dense/conv(trainable=false): the finite networks' empirical NTK leaves out
 * the frozen layers' parameter gradients (J·Jᵀ over the trainable parameters
 * only, what neural-tangents' empirical_ntk_fn computes on the trainable
 * subset), the NNGP is unchanged. The tolerances and widths are each
 * family's own above (FC 4 % at width 1024, image 8 % at width 256, graph 3 %
 * of the largest diagonal, attention z standard errors): freezing removes
 * terms from Θ, it adds no Monte Carlo noise of its own. Freezing moves the
 * analytic NTKs of the FC, standard and image nets here by 44 %, 26 % and
 * 48 % (relative Frobenius, against the same nets trainable), far outside. */

Test(monte_carlo, frozen_fc_ntk_param, .timeout = TIMEOUT(120))
{
    check_example("frozen.ntk",
                  "net frozen { dense(1.4, 0.1, trainable=false); relu; dense(1.3); erf\n"
                  "  dense(1.2, 0.2, trainable=false); relu; dense(1.1, 0.1) }\n",
                  32);
}

Test(monte_carlo, frozen_fc_standard_param, .timeout = TIMEOUT(120))
{
    check_example("frozen_std.ntk",
                  "net frozen_std {\n"
                  "    param standard\n"
                  "    dense(width=1024, w_std=1.5, b_std=0.05); relu\n"
                  "    dense(width=1024, w_std=1.5, b_std=0.05, trainable=false); relu\n"
                  "    dense(w_std=1.0)\n"
                  "}\n",
                  64);
}

Test(monte_carlo, frozen_image_conv_and_dense, .timeout = TIMEOUT(120))
{
    image_check("net fz { input image(5, 5, 2); conv(3, 1.4, 0.1, trainable=false); relu\n"
                "  residual { conv(3, 1.3, 0.1); relu; conv(3, 1.2, trainable=false) }\n"
                "  conv(3, 1.3, 0.2, stride=2, padding=valid); relu; flatten\n"
                "  dense(1.2, 0.1, trainable=false); relu; dense(1.1) }",
                6);
}

/* frozen conv_transpose / conv_local (trainable=false through their rows'
 * descriptor): the criterion of the conv variants above, and the same nets
 * with kernels 20 % off must fail it. */
Test(monte_carlo, frozen_conv_variants_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[] = {
        "net ft { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2, trainable=false); relu\n"
        "  conv_local(2, 1.3, 0.2, padding=same); relu; global_avg_pool; dense(1.2) }",
        "net fl { input sequence(7, 2); conv(3, 1.3, 0.1); relu; conv_local(3, 1.4, 0.1, stride=2, trainable=false)\n"
        "  relu; conv_transpose(2, 1.3, 0.1, stride=3, padding=circular, trainable=false); relu; flatten; dense }",
    };
    expect_within_errors_and_20_off_fails(nets, sizeof nets / sizeof nets[0], 91, "frozen conv variants");
}

Test(monte_carlo, frozen_graph_dense)
{
    McErrors r = graph_errors("net g { input graph(3)\n"
                              "  aggregate; dense(1.5, 0.1, trainable=false); relu\n"
                              "  aggregate; dense(1.5); relu; dense(1.2, 0.2, trainable=false); relu\n"
                              "  readout(sum); dense(1) }",
                              64);
    cr_expect_lt(r.ntk, 0.03);
    cr_expect_lt(r.nngp, 0.03);
}

Test(monte_carlo, frozen_attention_dense, .timeout = TIMEOUT(60))
{
    attention_check_net("net a { input sequence(5, 3); dense(1.2, 0.1, trainable=false)\n"
                        "  residual { layer_norm; attention(heads=2, w_q=1.5, b_std=0.2) }\n"
                        "  relu; dense(1.3, 0.1, trainable=false); relu; global_avg_pool; dense(1.1) }",
                        "frozen dense", 7, 0);
}

/* ---- dropout -----------------------------------------------------------------
 * dropout(rate) in train mode (neural-tangents' Dropout): the finite networks
 * draw each input's own Bernoulli(rate) masks per sample (finite_net.c), so
 * an input paired with itself sees one mask twice and every other pair two
 * independent ones — the Monte Carlo average is what the analytic kernel
 * computes, diagonal scaled by 1/rate. Width 1024 and the FC tolerance 4 %
 * (above); masks add variance like a narrower layer, hence 64 samples.
 * Measured: NNGP 1.6 %, NTK 1.1 % (two dropouts at 0.8 and 0.5). Without the
 * 1/rate on the diagonal (mode=test) the same net's kernels on these six
 * digits are 47 % (NNGP) and 50 % (NTK) away, far outside. */
Test(monte_carlo, dropout_fc, .timeout = TIMEOUT(120))
{
    check_example("dropout.ntk",
                  "net dropout { dense(1.4, 0.1); relu; dense(1.3); dropout(0.8); dense(1.2, 0.1); erf\n"
                  "  dense(1.1, 0.2); dropout(rate=0.5); dense(1.1) }\n",
                  64);
}

/* dropout(rate) in image and attention nets (convolutions, pooling,
 * branches, the vector part after pooling, attention): the finite networks draw each input's own mask per
 * (position, channel) and sample (finite_conv_dropout.c), so only an input
 * paired with itself at the same position sees one mask twice, as the
 * analytic kernel's 1/rate on those entries says. The dilated convs'
 * criterion (entry by entry within z standard errors plus an O(L/width)
 * allowance); the kernels without the scaling (mode=test) and kernels 20 %
 * off must both fail it against the same finite networks. */
Test(monte_carlo, dropout_image_within_their_standard_errors, .timeout = TIMEOUT(600))
{
    static const char *const nets[][2] = {
        {"net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.6); conv(2, 1.2, 0.1)\n"
         "  relu; avg_pool(2); dense(1.1); dropout(0.7); dense(1.2); erf; global_avg_pool; dense(1.1) }",
         "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.6, mode=test)\n"
         "  conv(2, 1.2, 0.1); relu; avg_pool(2); dense(1.1); dropout(0.7, mode=test); dense(1.2); erf\n"
         "  global_avg_pool; dense(1.1) }"},
        {"net b { input sequence(6, 2); conv(3, 1.4, 0.1, padding=circular)\n"
         "  residual { relu; conv(3, 1.2, padding=circular); dropout(0.5); conv(1, 1.1) }; relu; flatten\n"
         "  dense(1.3); dropout(0.8); dense(1.1) }",
         "net b { input sequence(6, 2); conv(3, 1.4, 0.1, padding=circular)\n"
         "  residual { relu; conv(3, 1.2, padding=circular); conv(1, 1.1) }; relu; flatten; dense(1.3); dense(1.1) }"},
        {"net t { input sequence(4, 2); dense(1.3, 0.1); relu; dense(1.2); dropout(0.6)\n"
         "  attention(w_q=1.4, b_std=0.1); relu; dense(1.1); dropout(0.7); dense(1.2); erf; global_avg_pool; dense }",
         "net t { input sequence(4, 2); dense(1.3, 0.1); relu; dense(1.2)\n"
         "  attention(w_q=1.4, b_std=0.1); relu; dense(1.1); dense(1.2); erf; global_avg_pool; dense }"},
    };
    const RandomCheckOptions o = {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        /* the check, the kernels without the scaling, kernels 20 % off: one Monte Carlo run */
        RandomCheckOptions opts[3] = {o, o, o};
        opts[1].exact_src = nets[i][1];
        opts[2].perturb = 0.20;
        RandomCheck all[3];
        random_net_checks(nets[i][0], 91 + i, opts, 3, all);
        RandomCheck c = all[0];
        cr_assert(c.accepted, "%s\n%s", nets[i][0], c.message);
        cr_log_info("dropout %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance", i, c.rel_nngp,
                    c.rel_ntk, c.worst_z);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC dropout image %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance\n",
                    i, c.rel_nngp, c.rel_ntk, c.worst_z);
        cr_expect(c.ok, "%s\n%s", nets[i][0], c.message);
        c = all[1];
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC dropout image %zu without the scaling: worst %.2f of the tolerance\n", i, c.worst_z);
        cr_expect(c.accepted && !c.ok, "the kernels without dropout's scaling passed for\n%s", nets[i][0]);
        c = all[2];
        cr_expect(c.accepted && !c.ok, "kernels 20 %% off passed for\n%s", nets[i][0]);
    }
}

/* dropout(rate) in graph nets (node level): the finite graph networks draw
 * their own mask for every unit of every node of every graph (after the
 * readout, of every graph) per sample (finite_graph_dropout.c), so only a
 * graph paired with itself at the same node sees one mask twice — the
 * diagonal of its node-pair matrix, which the analytic kernel divides by the
 * rate (emit_graph.c). The dilated convs' criterion on random_nets' three
 * random graphs (width 512, 32 samples, z = 5 plus O(L/width)); the kernels
 * without the scaling (mode=test) and kernels 20 % off must both fail it.
 * Measured: relative errors NNGP 1.5 % / NTK 3.7 % and 2.3 % / 1.3 %, worst
 * entries at 0.29 and 0.27 of their tolerance; without the scaling 3.95 and
 * 1.56 times it, 20 % off 1.29 and 1.97 times. */
Test(monte_carlo, dropout_graph_within_their_standard_errors, .timeout = TIMEOUT(300))
{
    static const char *const nets[][2] = {
        {"net ga { input graph(3); dense(1.4, 0.1); relu; dense(1.3); dropout(0.6); aggregate\n"
         "  dense(1.2, 0.1); relu; readout(sum); dense(1.1); dropout(0.7); dense(1.1) }",
         "net ga { input graph(3); dense(1.4, 0.1); relu; dense(1.3); dropout(0.6, mode=test); aggregate\n"
         "  dense(1.2, 0.1); relu; readout(sum); dense(1.1); dropout(0.7, mode=test); dense(1.1) }"},
        {"net gb { input graph(3, normalize=false); aggregate(scale=degree); dense(1.4, 0.1); relu; dense(1.2)\n"
         "  dropout(0.5); aggregate; dense(1.3); relu; readout(mean, jk=true); dense(1.2, 0.2) }",
         "net gb { input graph(3, normalize=false); aggregate(scale=degree); dense(1.4, 0.1); relu; dense(1.2)\n"
         "  aggregate; dense(1.3); relu; readout(mean, jk=true); dense(1.2, 0.2) }"},
    };
    const RandomCheckOptions o = {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        /* the check, the kernels without the scaling, kernels 20 % off: one Monte Carlo run */
        RandomCheckOptions opts[3] = {o, o, o};
        opts[1].exact_src = nets[i][1];
        opts[2].perturb = 0.20;
        RandomCheck all[3];
        random_net_checks(nets[i][0], 101 + i, opts, 3, all);
        RandomCheck c = all[0];
        cr_assert(c.accepted, "%s\n%s", nets[i][0], c.message);
        cr_log_info("dropout graph %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance", i,
                    c.rel_nngp, c.rel_ntk, c.worst_z);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC dropout graph %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance\n",
                    i, c.rel_nngp, c.rel_ntk, c.worst_z);
        cr_expect(c.ok, "%s\n%s", nets[i][0], c.message);
        c = all[1];
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC dropout graph %zu without the scaling: worst %.2f of the tolerance\n", i, c.worst_z);
        cr_expect(c.accepted && !c.ok, "the kernels without dropout's scaling passed for\n%s", nets[i][0]);
        c = all[2];
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC dropout graph %zu 20 %% off: worst %.2f of the tolerance\n", i, c.worst_z);
        cr_expect(c.accepted && !c.ok, "kernels 20 %% off passed for\n%s", nets[i][0]);
    }
}

/* Variable-length inputs (docs/attention.md, "Masking"): padded keys out of
 * the softmax, padded tokens zeroed after every layer, global_avg_pool over
 * the valid tokens; and positional embeddings (trainable, zero at padding). */
Test(monte_carlo, attention_masked_softmax, .timeout = TIMEOUT(60))
{
    attention_check_padded("heads=2, w_q=1.5, b_std=0.2", 11, 1);
}
Test(monte_carlo, attention_masked_sqrt_identity, .timeout = TIMEOUT(60))
{
    attention_check_padded("scaling=sqrt, mechanism=identity, heads=16, w_q=0.6, w_k=0.9", 12, 1);
}
Test(monte_carlo, attention_pos_sum, .timeout = TIMEOUT(60))
{
    attention_check_padded("w_q=1.5, pos_emb=sum, w_pos=0.8, b_std=0.1", 13, 1);
}
Test(monte_carlo, attention_pos_concat_values, .timeout = TIMEOUT(60))
{
    attention_check_padded("mechanism=identity, w_q=0.8, pos_emb=concat, pos_channels=0.5, w_pos=1.2, val_pos_emb=1", 14,
                           1);
}
Test(monte_carlo, attention_pos_sqrt_concat, .timeout = TIMEOUT(60))
{
    attention_check_padded("scaling=sqrt, mechanism=identity, heads=16, pos_emb=concat, w_pos=0.9", 15, 1);
}
Test(monte_carlo, attention_pos_sqrt_sum, .timeout = TIMEOUT(60))
{
    attention_check_padded("scaling=sqrt, mechanism=identity, heads=16, pos_emb=sum, w_pos=0.7", 16, 0);
}
/* Convolution and pooling that keep the grid, on padded inputs: masked
 * tokens read as zeros, and the window still divides by its full size. */
Test(monte_carlo, attention_masked_conv_pool, .timeout = TIMEOUT(60))
{
    attention_check_net("net a { input sequence(5, 3); conv(3, 1.2, 0.1)\n"
                        "  residual { layer_norm; attention(heads=2, w_q=1.5, pos_emb=sum) }\n"
                        "  avg_pool(2, stride=1, padding=same); relu; conv(2, 1.1, 0.1); global_avg_pool; dense(1.1) }",
                        "conv, attention, avg_pool, conv", 17, 1);
}

/* A frozen conv inside an attention net (the attention family's own conv,
 * ntkc_m_conv): its Σ' leaves Θ, checked like the trainable one above. */
Test(monte_carlo, frozen_attention_conv, .timeout = TIMEOUT(60))
{
    attention_check_net("net a { input sequence(5, 3); conv(3, 1.2, 0.1, trainable=false)\n"
                        "  residual { layer_norm; attention(heads=2, w_q=1.5) }\n"
                        "  relu; conv(2, 1.1, 0.1, trainable=false); global_avg_pool; dense(1.1) }",
                        "frozen convs, attention", 18, 0);
}

/* A masked input without attention (input sequence(..., masked=true)): the
 * all-pairs back end on padded inputs against finite networks that zero the
 * padding after every layer and pool over the real tokens. */
Test(monte_carlo, masked_input_conv_pool_without_attention, .timeout = TIMEOUT(60))
{
    attention_check_net("net a { input sequence(5, 3, masked=true); conv(3, 1.2, 0.1); relu\n"
                        "  avg_pool(2, stride=1, padding=same); conv(2, 1.1, 0.1); relu; global_avg_pool; dense(1.1) }",
                        "masked input, conv, avg_pool, conv", 19, 1);
}

/* A transformer block read out by its first token (index(0)) instead of
 * global pooling: the (0, 0) entry of the all-pairs kernels. */
Test(monte_carlo, attention_index_readout, .timeout = TIMEOUT(60))
{
    attention_check_net("net a { input sequence(5, 3); dense(1.2, 0.1)\n"
                        "  residual { layer_norm; attention(heads=2, w_q=1.5, b_std=0.2) }\n"
                        "  residual { layer_norm; dense(1.4, 0.1); relu; dense(1.0) }; index(0); dense(1.1) }",
                        "attention, first-token readout", 20, 0);
}

/* ---- dropout_mixed: eval-mode inputs against masked ones -----------------
 * The kernel `ntkc train` needs for nets with dropout (train_dropout.c):
 * K(x*, x) = E[J_e(x*)·J_m(x)ᵀ] (NTK) and E[f_e(x*)·f_m(x)] (NNGP), x* in
 * eval mode (no dropout), x under its own masks — computed by
 * ntkc_kernel_dropout_mixed_twin from the net and its eval-mode twin. Here every
 * sample is one finite network (finite_model.h) at its initialisation: its
 * outputs and parameter gradients on the rows of X once in eval mode and
 * once under fresh masks, multiplied row against row, so the diagonal holds
 * an input against itself under its mask (a correlation of √rate where a
 * nonlinearity follows the dropout). Entry (i, j) passes when |MC − exact|
 * ≤ z·SE + (L/W)·√(K_e(i,i)·K_m(j,j)) (random_nets.h's criterion: SE from
 * the samples' spread, L nonlinear layers' O(1/width) bias, K_e the eval
 * kernel's and K_m the train-mode kernel's diagonal). Tests of the test:
 * kernels 20 % off fail, and so does the kernel in which both sides are
 * masked (what `ntkc train` compared with before: both variances scaled). */
enum { MIX_ROWS = GRAPH_G };

typedef struct MixInputs {
    const double *x; /* MIX_ROWS × dim, or NULL for graphs */
    size_t dim;
    const ntkc_graphs *g;
} MixInputs;

typedef struct MixResult {
    double worst, worst_off, worst_both; /* worst |error|/tolerance: the kernel, 20 % off, both sides masked */
    double rel_nngp, rel_ntk;
} MixResult;

/* Outputs (MIX_ROWS) and per-row gradients (MIX_ROWS × np) of m on d in its current mode. */
static void mix_forward_grads(FiniteModel *m, const FiniteData *d, double *f, double *g)
{
    ntkc_error err = {0};
    double e[MIX_ROWS];
    cr_assert_eq(finite_model_forward(m, d, f, &err), 0, "%s", err.message);
    for (size_t i = 0; i < MIX_ROWS; i++) {
        memset(e, 0, sizeof e);
        e[i] = 1;
        cr_assert_eq(finite_model_vjp(m, d, e, g + i * m->np, &err), 0, "%s", err.message);
    }
}

static void mix_kernels(ntkc_net *net, ntkc_net *twin, const MixInputs *in, double *mixed, double *both,
                        double *diag_e, double *diag_m)
{
    enum { R = MIX_ROWS };
    ntkc_error err = {0};
    double se[R * R], sm[R * R], te[R * R], tm[R * R];
    if (in->g) {
        cr_assert_eq(ntkc_kernel_graphs_dropout_mixed_twin(net, twin, in->g, in->g, mixed, mixed + R * R, NULL,
                                                           &err),
                     0, "%s", err.message);
        cr_assert_eq(ntkc_kernel_graphs(net, in->g, in->g, both, both + R * R, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel_graphs(twin, in->g, NULL, se, te, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel_graphs(net, in->g, NULL, sm, tm, NULL, &err), 0, "%s", err.message);
    } else {
        double copy[R * 64];
        cr_assert_leq(in->dim, 64);
        memcpy(copy, in->x, R * in->dim * sizeof *copy);
        cr_assert_eq(ntkc_kernel_dropout_mixed_twin(net, twin, R, in->x, R, in->x, in->dim, mixed, mixed + R * R, NULL,
                                               &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(net, R, in->x, R, copy, in->dim, both, both + R * R, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(ntkc_kernel(twin, R, in->x, 0, NULL, in->dim, se, te, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(net, R, in->x, 0, NULL, in->dim, sm, tm, NULL, &err), 0, "%s", err.message);
    }
    for (size_t i = 0; i < R; i++)
        diag_e[i] = se[i * R + i], diag_e[R + i] = te[i * R + i], diag_m[i] = sm[i * R + i],
        diag_m[R + i] = tm[i * R + i];
}

static size_t mix_nonlinear(const IrOp *ops, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += ops[i].kind == IR_ACT || ops[i].kind == IR_LAYER_NORM || ops[i].kind == IR_ATTENTION;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                c += mix_nonlinear(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
    }
    return c;
}

/* worst |mean − k·scale|/(z·se + bias·√(d_e d_m)) over the NNGP and NTK entries. */
static double mix_worst(const double *k, double scale, const double *mean, const double *se, double bias,
                        const double *de, const double *dm)
{
    double worst = 0;
    for (size_t q = 0; q < 2; q++)
        for (size_t i = 0; i < MIX_ROWS; i++)
            for (size_t j = 0; j < MIX_ROWS; j++) {
                size_t e = q * MIX_ROWS * MIX_ROWS + i * MIX_ROWS + j;
                double s = sqrt(fabs(de[q * MIX_ROWS + i] * dm[q * MIX_ROWS + j]));
                double tol = 5.0 * se[e] + bias * s + 1e-12 * s;
                worst = fmax(worst, fabs(mean[e] - k[e] * scale) / tol);
            }
    return worst;
}

static MixResult mix_check(const char *src, const MixInputs *in, size_t width, size_t samples,
                           unsigned long long seed)
{
    enum { R = MIX_ROWS, K2 = 2 * MIX_ROWS * MIX_ROWS };
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    ntkc_net *twin = ntkc_net_dropout_eval(net, &err);
    cr_assert_not_null(twin, "%s", err.message);
    double exact[K2], both[K2], de[2 * R], dm[2 * R], sum[K2] = {0}, sq[K2] = {0};
    mix_kernels(net, twin, in, exact, both, de, dm);
    FiniteData d = {.rows = R, .x = in->x, .dim = in->dim, .graphs = in->g};
    FiniteModel m;
    cr_assert_eq(finite_model_new(ntkc_net_ir(net), &d, width, 1, FINITE_AS_IR, &m, &err), 0, "%s", err.message);
    double *ge = malloc(2 * R * m.np * sizeof *ge), *gm = ge + R * m.np, fe[R], fm[R];
    cr_assert_not_null(ge);
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t s = 0; s < samples; s++) {
        finite_model_init(&m, &rng);
        finite_model_dropout(&m, 0, 0);
        mix_forward_grads(&m, &d, fe, ge);
        finite_model_dropout(&m, 1, rng_next(&rng));
        mix_forward_grads(&m, &d, fm, gm);
        for (size_t i = 0; i < R; i++)
            for (size_t j = 0; j < R; j++) {
                double t = 0;
                for (size_t p = 0; p < m.np; p++)
                    t += ge[i * m.np + p] * gm[j * m.np + p];
                double v[2] = {fe[i] * fm[j], t};
                for (int q = 0; q < 2; q++)
                    sum[q * R * R + i * R + j] += v[q], sq[q * R * R + i * R + j] += v[q] * v[q];
            }
    }
    double mean[K2], se[K2], S = (double)samples;
    for (size_t e = 0; e < K2; e++) {
        mean[e] = sum[e] / S;
        se[e] = sqrt(fmax(sq[e] / S - mean[e] * mean[e], 0) / (S - 1));
    }
    double bias = (double)mix_nonlinear(ntkc_net_ir(net)->ops, ntkc_net_ir(net)->nops) / (double)width;
    MixResult r = {.worst = mix_worst(exact, 1.0, mean, se, bias, de, dm),
                   .worst_off = mix_worst(exact, 1.2, mean, se, bias, de, dm),
                   .worst_both = mix_worst(both, 1.0, mean, se, bias, de, dm),
                   .rel_nngp = rel_frobenius(mean, exact, R * R),
                   .rel_ntk = rel_frobenius(mean + R * R, exact + R * R, R * R)};
    free(ge);
    finite_model_free(&m);
    ntkc_net_free(twin);
    ntkc_net_free(net);
    return r;
}

static void mix_expect(const char *what, const char *src, const MixInputs *in, size_t width, size_t samples,
                       unsigned long long seed, int tells_both)
{
    MixResult r = mix_check(src, in, width, samples, seed);
    cr_log_info("dropout mixed %s: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance (20 %% off %.2f, "
                "both sides masked %.2f)", what, r.rel_nngp, r.rel_ntk, r.worst, r.worst_off, r.worst_both);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "MC dropout mixed %s: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance "
                        "(20 %% off %.2f, both sides masked %.2f)\n", what, r.rel_nngp, r.rel_ntk, r.worst,
                r.worst_off, r.worst_both);
    cr_expect_leq(r.worst, 1.0, "%s: the mixed kernel is %.2f times its tolerance from the finite nets\n%s", what,
                  r.worst, src);
    cr_expect_gt(r.worst_off, 1.0, "%s: kernels 20 %% off passed\n%s", what, src);
    if (tells_both)
        cr_expect_gt(r.worst_both, 1.0, "%s: the kernel with both sides masked passed\n%s", what, src);
}

Test(monte_carlo, dropout_mixed_fc, .timeout = TIMEOUT(120))
{
    double x[MIX_ROWS * 5];
    fill_random(x, sizeof x / sizeof x[0], 301);
    MixInputs in = {.x = x, .dim = 5};
    mix_expect("fc", "net n { dense(1.4, 0.1); relu; dense(1.3); dropout(0.5); dense(1.2, 0.1); erf\n"
                     "  dense(1.1); dropout(0.6); dense(1.3); relu; dense(1.0) }", &in, 512, 48, 11, 1);
}

Test(monte_carlo, dropout_mixed_image, .timeout = TIMEOUT(300))
{
    double x[MIX_ROWS * 12];
    fill_random(x, sizeof x / sizeof x[0], 302);
    MixInputs in = {.x = x, .dim = 12};
    mix_expect("image", "net a { input image(3, 2, 2); conv(2, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.5)\n"
                        "  conv(2, 1.2); relu; avg_pool(2, stride=1, padding=same); dense(1.2); dropout(0.6)\n"
                        "  dense(1.1); relu; global_avg_pool; dense(1.1) }", &in, 128, 48, 12, 1);
}

Test(monte_carlo, dropout_mixed_graph, .timeout = TIMEOUT(300))
{
    char *text = five_graphs();
    ntkc_graphs *g = graphs_or_fail(text, 3);
    free(text);
    MixInputs in = {.g = g};
    mix_expect("graph", "net g { input graph(3); dense(1.4, 0.1); relu; dense(1.3); dropout(0.5); aggregate\n"
                        "  dense(1.2); relu; readout(sum); dense(1.1); dropout(0.6); dense(1.2); relu; dense(1.0) }",
               &in, 512, 48, 13, 1);
    ntkc_graphs_free(g);
}

/* Attention after the dropout: the masked side's attention weights come from
 * its scaled self-kernel. At width 256 and 96 samples (6 s) the check and
 * the 20 %-off test have their power, but the kernel with both sides masked
 * lies within the tolerance (measured 0.58 of it; 1.01 at width 512 and 128
 * samples, 33 s): not asserted here. */
Test(monte_carlo, dropout_mixed_attention, .timeout = TIMEOUT(300))
{
    double x[MIX_ROWS * 8];
    fill_random(x, sizeof x / sizeof x[0], 304);
    MixInputs in = {.x = x, .dim = 8};
    mix_expect("attention", "net t { input sequence(4, 2); dense(1.3, 0.1); relu; dense(1.2); dropout(0.5)\n"
                            "  attention(w_q=1.4, b_std=0.1); relu; global_avg_pool; dense }", &in, 256, 96, 14, 0);
}
