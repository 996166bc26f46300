/* Every activation in a deep net — dense; φ; dense; φ; dense, width 1024 —
 * against finite-width networks sampled by runtime/finite_net (the machinery
 * of `ntkc check`), as the relative Frobenius error of each kernel over four
 * inputs. finite_net_kernels averages the NNGP over a readout as wide as the
 * net, so both errors shrink like 1/√(width·samples). Each sample's hidden
 * layers still move the whole kernel by ~7% for relu-like φ (the empirical
 * second moment of 1024 units), ~20% for x² and max(x, 0)², whose φ(u)² has
 * the tails of u⁴: 32 samples, 96 for those. Measured (NTKC_REPORT=1):
 * 0.2–4% and 0.5–3%. Tolerance 5%, "a few percent" as issue 3 asks
 * (neural-tangents' own tests allow 4–5%); seeded, so deterministic. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_net.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 4, DIM = 8, WIDTH = 1024, SAMPLES = 32, HEAVY_SAMPLES = 96 };

typedef struct Case {
    char act[48];      /* the activation statement */
    char formula[96];  /* an `act` line it needs, or "" */
    char weights[32];  /* dense arguments of the hidden layers */
    int heavy;         /* heavy-tailed φ(u)²: more samples */
} Case;

static Case cases[] = {
    {"relu", "", "1.4, 0.1", 0},
    {"leaky_relu(0.2)", "", "1.3, 0.1", 0},
    {"abs", "", "1.0, 0.1", 0},
    {"abrelu(-0.4, 1.1)", "", "1.2, 0.1", 0},
    {"erf", "", "1.5, 0.1", 0},
    {"sigmoid_like", "", "1.5, 0.1", 0},
    {"gelu", "", "1.4, 0.1", 0},
    {"sin", "", "1.2, 0.1", 0},
    {"cos(1, 1.5, 0.3)", "", "1.0, 0.1", 0},
    {"sign", "", "1.0, 0.1", 0},
    {"step", "", "1.0, 0.1", 0},
    {"exp(1, 0.3)", "", "1.0, 0.1", 0},
    {"gaussian", "", "1.5, 0.1", 0},
    {"rbf(0.5)", "", "1.0, 0.1", 0},
    {"monomial(2)", "", "0.9, 0.1", 1},
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
    {"swish", "act swish(x) = x / (1 + exp(-x))", "1.4, 0.1", 0},
    {"softplus2", "act softplus2(x) = log(1 + exp(x))", "1.2, 0.1", 0},
    {"th(2)", "act th(x, k = 1) = tanh(k * x)", "1.2, 0.1", 0},
    {"relu2", "act relu2(x) = max(x, 0)", "1.4, 0.1", 0},
};

static void inputs(double *x)
{
    for (int i = 0; i < N; i++)
        for (int c = 0; c < DIM; c++) /* unit-ish norms, pairwise correlations from -0.5 to 0.9 */
            x[i * DIM + c] = (0.8 + 0.15 * i) * cos(0.7 * i + 0.9 * c) + 0.3 * sin(1.3 * c * (i + 1));
}

static double rel_frobenius(const double *approx, const double *exact)
{
    double num = 0, den = 0;
    for (int i = 0; i < N * N; i++) {
        num += (approx[i] - exact[i]) * (approx[i] - exact[i]);
        den += exact[i] * exact[i];
    }
    return sqrt(num / den);
}

ParameterizedTestParameters(act_mc, deep_net_matches_finite_width)
{
    return cr_make_param_array(Case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(Case *c, act_mc, deep_net_matches_finite_width, .timeout = TIMEOUT(120))
{
    char src[512];
    snprintf(src, sizeof src, "%s\nnet deep { dense(%s); %s; dense(%s); %s; dense(1) }\n", c->formula, c->weights,
             c->act, c->weights, c->act);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, "mc.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x[N * DIM], nngp[N * N], ntk[N * N], mc_s[N * N], mc_t[N * N];
    inputs(x);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, DIM, nngp, ntk, NULL, &err), 0, "%s", err.message);
    FiniteNetOptions o = {.width = WIDTH, .samples = c->heavy ? HEAVY_SAMPLES : SAMPLES, .seed = 2024};
    cr_assert_eq(finite_net_kernels(ntkc_net_ir(net), N, x, DIM, &o, mc_s, mc_t, &err), 0, "%s", err.message);
    double es = rel_frobenius(mc_s, nngp), et = rel_frobenius(mc_t, ntk);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "MC %-24s NNGP rel err %.4f  NTK rel err %.4f\n", c->act, es, et);
    cr_expect_leq(es, 0.05, "%s: NNGP relative error %.4f (analytic diag %g, MC %g)", c->act, es, nngp[0], mc_s[0]);
    cr_expect_leq(et, 0.05, "%s: NTK relative error %.4f (analytic diag %g, MC %g)", c->act, et, ntk[0], mc_t[0]);
    ntkc_net_free(net);
}
