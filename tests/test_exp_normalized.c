/* exp_normalized(gamma, shift), neural-tangents' stax.ExpNormalized: a
 * kernel map without an elementwise φ (neural-tangents' apply_fn raises), so
 * there is no finite-width network to sample and no quadrature of φ: it is
 * checked against neural-tangents' kernel_fn written out here on its own
 * terms (its tolerance guard 1e-30 under the square roots included), by the
 * identities it must satisfy, and by the refusal of the finite-width tools. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_model.h"
#include "finite_net.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 5, D = 6 };

/* neural-tangents' ExpNormalized.kernel_fn on one pair, after Dense(w1, b1)
 * on the input kernel x·x'/d (Θ1 = Σ1), then Dense(w2, b2). */
static void nt_reference(const double *x, double w1, double b1, double gamma, double shift, double w2, double b2,
                         double *nngp, double *ntk)
{
    double cov[N * N];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double g = 0;
            for (size_t c = 0; c < D; c++)
                g += x[i * D + c] * x[j * D + c];
            cov[i * N + j] = w1 * w1 * g / D + b1 * b1;
        }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double prod = sqrt(fmax(cov[i * N + i] * cov[j * N + j], 1e-30)); /* nt's _sqrt(x, tol) */
            double e = exp(gamma * (cov[i * N + j] / prod + shift));
            double s = prod * e, t = gamma * cov[i * N + j] * e;
            nngp[i * N + j] = w2 * w2 * s + b2 * b2;
            ntk[i * N + j] = nngp[i * N + j] + w2 * w2 * t;
        }
}

static void kernels(const char *src, const double *x, double *s, double *t, ntkc_backend be)
{
    ntkc_net *net = compile_or_fail(src, be);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

Test(exp_normalized, matches_neural_tangents_kernel_fn)
{
    static const double params[][2] = {{1, -1}, {2.5, -1}, {0.7, 0.3}, {0, -1}};
    double x[N * D];
    fill_random(x, N * D, 5);
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        char src[160];
        snprintf(src, sizeof src, "net n { dense(1.3, 0.2); exp_normalized(%g, %g); dense(0.9, 0.4) }", params[k][0],
                 params[k][1]);
        double s[N * N], t[N * N], ws[N * N], wt[N * N], s2[N * N], t2[N * N];
        kernels(src, x, s, t, NTKC_BACKEND_TCC);
        kernels(src, x, s2, t2, NTKC_BACKEND_CC);
        nt_reference(x, 1.3, 0.2, params[k][0], params[k][1], 0.9, 0.4, ws, wt);
        cr_assert_lt(max_rel_diff(s, ws, N * N), 1e-13, "%s: NNGP", src);
        cr_assert_lt(max_rel_diff(t, wt, N * N), 1e-13, "%s: NTK", src);
        cr_assert_lt(max_rel_diff(s2, s, N * N), 1e-14, "%s: the back ends differ", src);
        cr_assert_lt(max_rel_diff(t2, t, N * N), 1e-14, "%s: the back ends differ", src);
    }
}

/* shift = −1 keeps every variance (e^0 on the diagonal), and the map is
 * homogeneous of degree 1: scaling the layer before by c² scales Σ by c². */
Test(exp_normalized, keeps_variances_and_is_homogeneous)
{
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N], s0[N * N], t0[N * N];
    fill_random(x, N * D, 6);
    kernels("net n { dense(1.3); exp_normalized(2) }", x, s1, t1, NTKC_BACKEND_TCC);
    kernels("net n { dense(1.3) }", x, s0, t0, NTKC_BACKEND_TCC);
    for (size_t i = 0; i < N; i++)
        cr_assert(fabs(s1[i * N + i] - s0[i * N + i]) <= 1e-14 * s0[i * N + i], "Σ(%zu,%zu) %.17g vs %.17g", i, i,
                  s1[i * N + i], s0[i * N + i]);
    kernels("net n { dense(2.6); exp_normalized(2) }", x, s2, t2, NTKC_BACKEND_TCC);
    for (size_t e = 0; e < N * N; e++) {
        cr_assert(fabs(s2[e] - 4 * s1[e]) <= 1e-13 * fabs(s2[e]) + 1e-300, "entry %zu: %.17g vs 4·%.17g", e, s2[e], s1[e]);
        cr_assert(fabs(t2[e] - 4 * t1[e]) <= 1e-13 * fabs(t2[e]) + 1e-300);
    }
}

/* ntkc check and ntkc train have no finite network for it: refused by name. */
Test(exp_normalized, finite_networks_refuse_it)
{
    static const char *const srcs[] = {
        "net n { dense(1.3); exp_normalized; dense }",
        "net n { input image(3, 3, 2); conv(3); exp_normalized(2); global_avg_pool; dense }",
        "net n { input graph(3); aggregate; dense; exp_normalized; readout(sum); dense }",
    };
    for (size_t k = 0; k < 3; k++) {
        ntkc_net *net = compile_or_fail(srcs[k], NTKC_BACKEND_TCC);
        ntkc_error err = {0};
        double x[3 * 18];
        fill_random(x, 3 * 18, 7);
        FiniteModel m;
        int rc;
        if (k == 2) {
            ntkc_graphs *g = ntkc_graphs_parse("1\n2 0\n0 1 1\n1 1 0\n", "g.txt", 3, &err);
            cr_assert_not_null(g, "%s", err.message);
            FiniteData d = {.rows = 1, .graphs = g};
            rc = finite_model_new(ntkc_net_ir(net), &d, 4, 1, FINITE_AS_IR, &m, &err);
            ntkc_graphs_free(g);
        } else {
            FiniteData d = {.rows = 3, .x = x, .dim = k ? 18 : D};
            rc = finite_model_new(ntkc_net_ir(net), &d, 4, 1, FINITE_AS_IR, &m, &err);
        }
        cr_assert_neq(rc, 0, "%s", srcs[k]);
        cr_assert(strstr(err.message, "'exp_normalized' is a kernel map without an elementwise function") != NULL,
                  "%s: %s", srcs[k], err.message);
        ntkc_net_free(net);
    }
    ntkc_net *net = compile_or_fail(srcs[0], NTKC_BACKEND_TCC);
    double x[3 * D], s[9], t[9];
    fill_random(x, 3 * D, 8);
    FiniteNetOptions o = {.width = 8, .samples = 1, .seed = 1};
    ntkc_error err = {0};
    cr_assert_neq(finite_net_kernels(ntkc_net_ir(net), 3, x, D, &o, s, t, &err), 0);
    cr_assert(strstr(err.message, "exp_normalized") != NULL, "%s", err.message);
    ntkc_net_free(net);
}
