/* The kernel between eval-mode inputs and inputs under their own dropout
 * masks (ntkc_kernel_dropout_mixed_twin, from a net and its eval-mode twin
 * ntkc_net_dropout_eval): identities and a closed form. Its Monte Carlo
 * check against finite networks is test_monte_carlo.c's dropout_mixed_*. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 5, D = 6 };

static ntkc_net *twin_or_fail(const ntkc_net *net)
{
    ntkc_error err = {0};
    ntkc_net *t = ntkc_net_dropout_eval(net, &err);
    cr_assert_not_null(t, "%s", err.message);
    return t;
}

/* max |a − b| / max |b| */
static double rel_max(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i])), s = fmax(s, fabs(b[i]));
    return d / s;
}

/* The mixed kernel of src against the kernel of plain between x and a copy
 * of x (no pair shares a mask), relative to its largest entry. */
static double mixed_vs(const char *src, const char *plain, const double *x, size_t dim)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC), *p = compile_or_fail(plain, NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    double *k = malloc((4 * N * N + N * dim) * sizeof *k), *copy = k + 4 * N * N;
    memcpy(copy, x, N * dim * sizeof *x);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_dropout_mixed_twin(net, twin, N, x, N, x, dim, k, k + N * N, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ntkc_kernel(p, N, x, N, copy, dim, k + 2 * N * N, k + 3 * N * N, NULL, &err), 0, "%s", err.message);
    double r = fmax(rel_max(k, k + 2 * N * N, N * N), rel_max(k + N * N, k + 3 * N * N, N * N));
    free(k);
    ntkc_net_free(twin);
    ntkc_net_free(net);
    ntkc_net_free(p);
    return r;
}

/* rate 1 keeps every unit: the mixed kernel is the kernel without dropout. */
Test(dropout_mixed, rate_one_is_no_dropout)
{
    double x[N * D];
    fill_random(x, N * D, 1);
    cr_expect_leq(mixed_vs("net n { dense(1.4, 0.1); relu; dense(1.3); dropout(1.0); dense(1.2); erf; dense }",
                           "net n { dense(1.4, 0.1); relu; dense(1.3); dense(1.2); erf; dense }", x, D),
                  1e-14);
}

/* With nothing after the dropout that reads an input's own variance, the
 * masks enter once on one side: their mean 1 — the kernel without dropout. */
Test(dropout_mixed, dropout_before_the_readout_is_no_dropout)
{
    double x[N * D];
    fill_random(x, N * D, 2);
    cr_expect_leq(mixed_vs("net n { dense(1.4, 0.1); relu; dense(1.3); dropout(0.5); dense(0.7) }",
                           "net n { dense(1.4, 0.1); relu; dense(1.3); dense(0.7) }", x, D),
                  1e-14);
}

/* The twin is the net with every dropout in test mode, bit for bit. */
Test(dropout_mixed, the_twin_is_the_net_in_test_mode)
{
    double x[N * 12];
    fill_random(x, N * 12, 3);
    ntkc_net *net = compile_or_fail("net a { input image(3, 2, 2); conv(2, 1.4); relu; dropout(0.5); conv(2, 1.2)\n"
                                    "  relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *test = compile_or_fail("net a { input image(3, 2, 2); conv(2, 1.4); relu; dropout(0.5, mode=test)\n"
                                     "  conv(2, 1.2); relu; global_avg_pool; dense }",
                                     NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    double a[2 * N * N], b[2 * N * N];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(twin, N, x, 0, NULL, 12, a, a + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(test, N, x, 0, NULL, 12, b, b + N * N, NULL, &err), 0, "%s", err.message);
    cr_expect(memcmp(a, b, sizeof a) == 0, "the twin differs from mode=test");
    ntkc_net_free(twin);
    ntkc_net_free(test);
    ntkc_net_free(net);
}

/* dense(w) → dropout(r) → dense(u) → relu → dense(v), written out: the eval
 * side's variance u²Σ₁(x, x), the masked side's u²Σ₁(x', x')/r, their
 * covariance u²Σ₁(x, x') — for x' = x a correlation of √r —, then the ReLU
 * arc-cosine duals T = √(s₁s₂)(sin θ + (π − θ) cos θ)/2π, Ṫ = (π − θ)/2π,
 * and Θ = v²T + v²·(2u²Σ₁)·Ṫ (dense(u)'s Θ = Σ₂ + u²Θ₁ with Θ₁ = Σ₁). */
Test(dropout_mixed, closed_form_one_hidden_relu)
{
    const double w = 1.3, r = 0.6, u = 1.2, v = 0.9;
    double x[N * D], k[2 * N * N];
    fill_random(x, N * D, 4);
    ntkc_net *net = compile_or_fail("net n { dense(1.3); dropout(0.6); dense(1.2); relu; dense(0.9) }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_dropout_mixed_twin(net, twin, N, x, N, x, D, k, k + N * N, NULL, &err), 0, "%s",
                 err.message);
    double worst = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double s[3] = {0, 0, 0}; /* Σ₁(i,i), Σ₁(i,j), Σ₁(j,j) */
            for (size_t c = 0; c < D; c++)
                s[0] += x[i * D + c] * x[i * D + c], s[1] += x[i * D + c] * x[j * D + c],
                    s[2] += x[j * D + c] * x[j * D + c];
            for (int q = 0; q < 3; q++)
                s[q] *= w * w / D;
            double a = u * u * s[0], b = u * u * s[2] / r, c12 = u * u * s[1];
            double cs = fmax(-1.0, fmin(1.0, c12 / sqrt(a * b))), th = acos(cs);
            double T = sqrt(a * b) * (sin(th) + (M_PI - th) * cs) / (2 * M_PI), Td = (M_PI - th) / (2 * M_PI);
            double nngp = v * v * T, ntk = v * v * T + v * v * 2 * u * u * s[1] * Td;
            worst = fmax(worst, fabs(k[i * N + j] - nngp) / nngp);
            worst = fmax(worst, fabs(k[N * N + i * N + j] - ntk) / fabs(ntk));
            if (i == j)
                cr_expect(fabs(cs - sqrt(r)) < 1e-12, "an input against itself: correlation %g, √rate %g", cs,
                          sqrt(r));
        }
    cr_expect_leq(worst, 1e-12, "closed form: worst relative error %g", worst);
    ntkc_net_free(twin);
    ntkc_net_free(net);
}

/* Graph nets: rate 1 is no dropout; g against itself is one-sided on every pair. */
Test(dropout_mixed, graphs_rate_one_is_no_dropout)
{
    GraphText text = {0};
    Rand rnd = {3};
    int labels[6];
    gt_add_cycles_paths_stars(&text, &rnd, 6, labels);
    char *s = gt_finish(&text);
    ntkc_graphs *g = graphs_or_fail(s, 1);
    free(s);
    ntkc_net *net = compile_or_fail("net g { input graph(1); dense(1.4, 0.1); relu; dense(1.2); dropout(1.0)\n"
                                    "  aggregate; dense(1.1); relu; readout(sum); dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net *plain = compile_or_fail("net g { input graph(1); dense(1.4, 0.1); relu; dense(1.2)\n"
                                      "  aggregate; dense(1.1); relu; readout(sum); dense }",
                                      NTKC_BACKEND_TCC);
    ntkc_net *twin = twin_or_fail(net);
    double a[2 * 36], b[2 * 36];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs_dropout_mixed_twin(net, twin, g, g, a, a + 36, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs(plain, g, NULL, b, b + 36, NULL, &err), 0, "%s", err.message);
    cr_expect_leq(rel_max(a, b, 72), 1e-14);
    ntkc_net_free(twin);
    ntkc_net_free(plain);
    ntkc_net_free(net);
    ntkc_graphs_free(g);
}

/* A net without dropout has no twin; the mixed kernel of a twin that is not
 * the net's is refused. */
Test(dropout_mixed, refusals)
{
    ntkc_net *plain = compile_or_fail("net n { dense; relu; dense }", NTKC_BACKEND_TCC);
    ntkc_net *net = compile_or_fail("net n { dense; dropout(0.5); dense; relu; dense }", NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_expect_null(ntkc_net_dropout_eval(plain, &err));
    cr_expect(err.code == 1 && strstr(err.message, "has no dropout"), "%s", err.message);
    double x[2 * D], k[4];
    fill_random(x, 2 * D, 5);
    cr_expect_neq(ntkc_kernel_dropout_mixed_twin(net, net, 2, x, 2, x, D, k, NULL, NULL, &err), 0);
    ntkc_net_free(net);
    ntkc_net_free(plain);
}
