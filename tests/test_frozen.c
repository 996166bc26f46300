/* Frozen layers, dense/conv(trainable=false): their parameters do not train,
 * so their term leaves Θ and Σ is unchanged (the CNTK reference code's --fix;
 * neural-tangents issue 10). Identities of the analytic kernels in every
 * family, a closed form, the front end, and the finite nets' training
 * interface (no gradient, no tangent for frozen parameters). The Monte Carlo
 * checks are in test_monte_carlo.c (frozen_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_model.h"
#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "rng.h"
#include "util.h"

enum { N = 4, G = 4 };

/* NNGP and NTK of a vector/image net on N random inputs. */
static void kernels(const char *src, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    size_t d = ntkc_net_ir(net)->input.dim ? ntkc_net_ir(net)->input.dim : 6;
    double *x = malloc(N * d * sizeof *x);
    fill_random(x, N * d, 3);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    free(x);
    ntkc_net_free(net);
}

static char *four_graphs(void)
{
    GraphText t = {0};
    static const unsigned tri[][2] = {{0, 1}, {1, 2}, {2, 0}};
    static const unsigned path[][2] = {{0, 1}, {1, 2}, {2, 3}};
    static const unsigned star[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    const int tags_tri[] = {0, 1, 2}, tags_path[] = {0, 0, 1, 1}, tags_star[] = {2, 0, 0, 1, 1};
    gt_add(&t, 3, tri, 3, tags_tri, 0);
    gt_add(&t, 4, path, 3, tags_path, 1);
    gt_add(&t, 5, star, 4, tags_star, 0);
    gt_add(&t, 4, path, 3, tags_path, 1);
    return gt_finish(&t);
}

static void graph_kernels(const char *src, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    char *text = four_graphs();
    ntkc_graphs *g = graphs_or_fail(text, 3);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(net, g, NULL, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_graphs_free(g);
    free(text);
    ntkc_net_free(net);
}

/* ---- identities --------------------------------------------------------
 * Only the last dense layer trains: Θ = its own block, w²Σ_features + b² =
 * the net's NNGP. Nothing trains: Θ = 0. Both exactly (to rounding), in
 * both parameterizations and the families whose layers can all be frozen
 * (an attention layer's own parameters always train, so attention nets are
 * checked by Monte Carlo only: test_monte_carlo.c, frozen_attention_dense);
 * and the frozen nets' Σ is the trainable net's Σ bit for bit. */

typedef struct Pair {
    const char *frozen, *trainable;
    int graph;
    /* Θ = a·Σ + c: 1, 0 under param ntk; under param standard the readout's
     * block is fan_in·(Σ − b²)/w² (+1 with a bias) */
    double a, c;
} Pair;

static const Pair last_only[] = {
    {"net n { dense(1.4, 0.1, trainable=false); relu; dense(1.3, 0.2, trainable=false); erf; dense(1.2, 0.3) }",
     "net n { dense(1.4, 0.1); relu; dense(1.3, 0.2); erf; dense(1.2, 0.3) }", 0, 1, 0},
    {"net n { param standard; dense(width=64, w_std=1.4, b_std=0.1, trainable=false); relu\n"
     "  dense(w_std=1.2, b_std=0.3) }",
     "net n { param standard; dense(width=64, w_std=1.4, b_std=0.1); relu; dense(w_std=1.2, b_std=0.3) }", 0,
     64 / 1.44, 1 - 64 * 0.09 / 1.44},
    {"net n { input image(4, 4, 2); conv(3, 1.4, 0.1, trainable=false); relu\n"
     "  residual { conv(3, 1.2, 0.1, trainable=false); erf; conv(3, 1.1, trainable=false) }\n"
     "  avg_pool(2); dense(1.3, trainable=false); relu; flatten; dense(1.2, 0.2) }",
     "net n { input image(4, 4, 2); conv(3, 1.4, 0.1); relu\n"
     "  residual { conv(3, 1.2, 0.1); erf; conv(3, 1.1) }\n"
     "  avg_pool(2); dense(1.3); relu; flatten; dense(1.2, 0.2) }",
     0, 1, 0},
    {"net n { input graph(3); aggregate; dense(1.5, 0.1, trainable=false); relu; aggregate\n"
     "  dense(1.3, trainable=false); relu; readout(sum); dense(1.1, 0.2) }",
     "net n { input graph(3); aggregate; dense(1.5, 0.1); relu; aggregate\n"
     "  dense(1.3); relu; readout(sum); dense(1.1, 0.2) }",
     1, 1, 0},
};

static void kernels_of(const Pair *p, const char *src, double *s, double *t)
{
    if (p->graph)
        graph_kernels(src, s, t);
    else
        kernels(src, s, t);
}

Test(frozen, only_the_last_layer_trains_ntk_is_the_readouts_block)
{
    for (size_t k = 0; k < sizeof last_only / sizeof last_only[0]; k++) {
        const Pair *p = &last_only[k];
        double s[N * N], t[N * N], s0[N * N], t0[N * N];
        kernels_of(p, p->frozen, s, t);
        kernels_of(p, p->trainable, s0, t0);
        for (size_t e = 0; e < N * N; e++) {
            cr_assert_eq(s[e], s0[e], "case %zu: NNGP entry %zu changed by freezing: %.17g vs %.17g", k, e, s[e], s0[e]);
            double want = p->a * s[e] + p->c;
            cr_assert(fabs(t[e] - want) <= 1e-13 * fabs(want), "case %zu: NTK %.17g != %g·NNGP + %g = %.17g at %zu", k,
                      t[e], p->a, p->c, want, e);
        }
        /* and freezing removed something: the trainable net's Θ exceeds Σ by > 10 % on the diagonal */
        for (size_t i = 0; i < N; i++)
            cr_assert_gt(t0[i * N + i], 1.1 * s0[i * N + i], "case %zu: trainable Θ %.6g vs Σ %.6g", k, t0[i * N + i],
                         s0[i * N + i]);
    }
}

Test(frozen, nothing_trains_ntk_is_zero)
{
    static const char *const srcs[] = {
        "net n { dense(1.4, 0.1, trainable=false); relu; dense(1.2, 0.3, trainable=false) }",
        "net n { input image(4, 4, 2); conv(3, 1.4, 0.1, trainable=false); relu; global_avg_pool\n"
        "  dense(1.2, 0.3, trainable=false) }",
    };
    for (size_t k = 0; k < 2; k++) {
        double s[N * N], t[N * N];
        kernels(srcs[k], s, t);
        for (size_t e = 0; e < N * N; e++) {
            cr_assert_eq(t[e], 0.0, "%s: NTK entry %zu is %g", srcs[k], e, t[e]);
            cr_assert_gt(fabs(s[e]), 0.0);
        }
    }
    double s[N * N], t[N * N];
    graph_kernels("net n { input graph(3); aggregate; dense(1.5, 0.1, trainable=false); relu; readout(sum)\n"
                  "  dense(1.1, 0.2, trainable=false) }",
                  s, t);
    for (size_t e = 0; e < N * N; e++)
        cr_assert_eq(t[e], 0.0);
}

/* ---- a closed form in neural-tangents' conventions ----------------------
 * dense(w1, b1); relu; dense(w2, b2, trainable=false) on inputs with kernel
 * x·x'/d (NTK parameterization): Σ1 = w1²x·x'/d + b1², and Θ keeps only the
 * first layer's block backpropagated through the frozen readout:
 * Θ = w2²·Ṫ(Σ1)·Σ1 with Ṫ = (π − θ)/(2π), the arc-cosine kernel of order 0. */
Test(frozen, frozen_readout_closed_form)
{
    const double w1 = 1.4, b1 = 0.3, w2 = 0.9, b2 = 0.2;
    enum { D = 6 };
    ntkc_net *net = compile_or_fail("net n { dense(1.4, 0.3); relu; dense(0.9, 0.2, trainable=false) }",
                                    NTKC_BACKEND_TCC);
    double x[N * D], s[N * N], t[N * N];
    fill_random(x, N * D, 9);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
    double k[N * N];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double g = 0;
            for (size_t c = 0; c < D; c++)
                g += x[i * D + c] * x[j * D + c];
            k[i * N + j] = w1 * w1 * g / D + b1 * b1;
        }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double s11 = k[i * N + i], s22 = k[j * N + j], s12 = k[i * N + j], norm = sqrt(s11 * s22);
            double th = acos(fmax(-1.0, fmin(1.0, s12 / norm)));
            double T = norm * (sin(th) + (M_PI - th) * cos(th)) / (2 * M_PI), Td = (M_PI - th) / (2 * M_PI);
            double want_s = w2 * w2 * T + b2 * b2, want_t = w2 * w2 * Td * s12;
            cr_assert(fabs(s[i * N + j] - want_s) <= 1e-12 * fabs(want_s), "Σ(%zu,%zu) %.17g vs %.17g", i, j,
                      s[i * N + j], want_s);
            cr_assert(fabs(t[i * N + j] - want_t) <= 1e-12 * fabs(want_t) + 1e-15, "Θ(%zu,%zu) %.17g vs %.17g", i, j,
                      t[i * N + j], want_t);
        }
    ntkc_net_free(net);
}

/* The emitted C of both back ends agrees on a frozen image net (the tcc
 * back end binds host copies of the plane helpers, cc compiles the text). */
Test(frozen, backends_agree)
{
    const char *src = "net n { input image(4, 4, 2); conv(3, 1.4, 0.1, trainable=false); relu\n"
                      "  dense(1.3, trainable=false); relu; global_avg_pool; dense(1.2, 0.2) }";
    ntkc_net *a = compile_or_fail(src, NTKC_BACKEND_TCC), *b = compile_or_fail(src, NTKC_BACKEND_CC);
    double x[N * 32], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * 32, 4);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, 32, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, x, 0, NULL, 32, s2, t2, NULL, &err), 0, "%s", err.message);
    cr_assert_lt(max_rel_diff(t1, t2, N * N), 1e-13);
    cr_assert_lt(max_rel_diff(s1, s2, N * N), 1e-13);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* ---- the front end ------------------------------------------------------ */

Test(frozen, trainable_takes_true_or_false)
{
    expect_error_in("net n { dense(1.0, trainable=maybe) }", NULL, "1:30", "unknown trainable 'maybe' for 'dense'");
    expect_error_in("net n { input image(3, 3, 1); conv(3, trainable=1); global_avg_pool; dense }", NULL, "1:49",
                    "'trainable' of 'conv' must be one of: false, true");
}

/* ---- training: frozen parameters get no gradient and no tangent ---------
 * The same net with and without trainable=false has the same parameter
 * layout; drawn from the same seed, the frozen net's vjp must equal the
 * trainable net's on every trainable parameter and be exactly 0 on the
 * frozen ones (so gradient descent, `ntkc train`, never moves them), and its
 * jvp along v must equal the trainable net's along v with the frozen
 * entries zeroed. */

static void train_case(const char *frozen_src, const char *train_src, const FiniteData *d, size_t want_frozen)
{
    enum { WIDTH = 5, NOUT = 2 };
    ntkc_net *nf = compile_or_fail(frozen_src, NTKC_BACKEND_TCC), *nt = compile_or_fail(train_src, NTKC_BACKEND_TCC);
    FiniteModel mf, mt;
    ntkc_error err = {0};
    cr_assert_eq(finite_model_new(ntkc_net_ir(nf), d, WIDTH, NOUT, FINITE_AS_IR, &mf, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_new(ntkc_net_ir(nt), d, WIDTH, NOUT, FINITE_AS_IR, &mt, &err), 0, "%s", err.message);
    cr_assert_eq(mf.np, mt.np);
    Rng r1, r2;
    rng_seed(&r1, 5);
    rng_seed(&r2, 5);
    finite_model_init(&mf, &r1);
    finite_model_init(&mt, &r2);
    size_t np = mf.np, nf_out = d->rows * NOUT;
    double *gf = malloc(np * sizeof *gf), *gt = malloc(np * sizeof *gt), *v = malloc(np * sizeof *v);
    double *u = malloc(nf_out * sizeof *u), *f = malloc(nf_out * sizeof *f), *jf = malloc(nf_out * sizeof *jf),
           *jt = malloc(nf_out * sizeof *jt);
    fill_random(u, nf_out, 6);
    fill_random(v, np, 7);
    cr_assert_eq(finite_model_forward(&mf, d, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_vjp(&mf, d, u, gf, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_forward(&mt, d, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_vjp(&mt, d, u, gt, &err), 0, "%s", err.message);
    size_t zero = 0;
    for (size_t p = 0; p < np; p++) {
        if (gf[p] == 0.0 && gt[p] != 0.0) {
            zero++;
            v[p] = 0.0; /* the direction the frozen net can move */
        } else {
            cr_assert_eq(gf[p], gt[p], "parameter %zu: frozen net's gradient %.17g, trainable net's %.17g", p, gf[p],
                         gt[p]);
        }
    }
    cr_assert_eq(zero, want_frozen, "%zu parameters have no gradient, the frozen layers have %zu", zero, want_frozen);
    double *vf = malloc(np * sizeof *vf);
    fill_random(vf, np, 7); /* the same v, frozen entries not zeroed: they must not matter */
    cr_assert_eq(finite_model_forward(&mf, d, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_jvp(&mf, d, vf, jf, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_forward(&mt, d, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_jvp(&mt, d, v, jt, &err), 0, "%s", err.message);
    cr_assert_lt(max_rel_diff(jf, jt, nf_out), 1e-12);
    free(gf), free(gt), free(v), free(vf), free(u), free(f), free(jf), free(jt);
    finite_model_free(&mf);
    finite_model_free(&mt);
    ntkc_net_free(nf);
    ntkc_net_free(nt);
}

Test(frozen, fc_training_leaves_frozen_parameters)
{
    enum { ROWS = 3, D = 4 };
    double x[ROWS * D];
    fill_random(x, ROWS * D, 2);
    FiniteData d = {.rows = ROWS, .x = x, .dim = D};
    /* dense(4 → 5) with bias frozen: 25 parameters */
    train_case("net n { dense(1.4, 0.1, trainable=false); erf; dense(1.2, 0.1); erf; dense(1.1, 0.1) }",
               "net n { dense(1.4, 0.1); erf; dense(1.2, 0.1); erf; dense(1.1, 0.1) }", &d, 25);
}

Test(frozen, image_training_leaves_frozen_parameters)
{
    enum { ROWS = 3, D = 18 };
    double x[ROWS * D];
    fill_random(x, ROWS * D, 2);
    FiniteData d = {.rows = ROWS, .x = x, .dim = D};
    /* conv(3) 2 → 5 channels with bias: 3·3·2·5 + 5 = 95; dense 5 → 5 without bias: 25 */
    train_case("net n { input image(3, 3, 2); conv(3, 1.4, 0.1, trainable=false); erf\n"
               "  dense(1.2, trainable=false); erf; global_avg_pool; dense(1.1, 0.1) }",
               "net n { input image(3, 3, 2); conv(3, 1.4, 0.1); erf\n"
               "  dense(1.2); erf; global_avg_pool; dense(1.1, 0.1) }",
               &d, 120);
}

Test(frozen, graph_training_leaves_frozen_parameters)
{
    char *text = four_graphs();
    ntkc_graphs *g = graphs_or_fail(text, 3);
    FiniteData d = {.rows = ntkc_graphs_count(g), .graphs = g};
    /* dense 3 → 5 with bias: 20 */
    train_case("net n { input graph(3); aggregate; dense(1.5, 0.1, trainable=false); erf; readout(sum)\n"
               "  dense(1.2); erf; dense(1.1, 0.2) }",
               "net n { input graph(3); aggregate; dense(1.5, 0.1); erf; readout(sum)\n"
               "  dense(1.2); erf; dense(1.1, 0.2) }",
               &d, 20);
    ntkc_graphs_free(g);
    free(text);
}
