/* image_resize(h, w, method, antialias), neural-tangents' ImageResize:
 *  - jax.image.resize's weights (compiler/ir/ir_resize.c) against values
 *    worked out by hand from jax's definition;
 *  - every kernel entry against the pixel-pair reference (conv_reference.c,
 *    with its own weights): Σ' = R Σ Rᵀ on both inputs' positions, up- and
 *    downsampling, with and without antialias, nearest, sequences, both back
 *    ends;
 *  - a resize to the same size is a no-op, bit for bit (jax skips the axis);
 *  - the finite layer's tangent against its backward pass (ntkc train);
 *  - refusals by name (cubic and lanczos, as neural-tangents' kernel_fn).
 * The Monte Carlo check of finite nets is in test_monte_carlo.c (resize_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_compare.h"
#include "finite_model.h"
#include "ir_resize.h"
#include "net_internal.h"
#include "util.h"

enum { N = 4 };

static void expect_weights(IrResize r, size_t n_in, size_t n_out, const double *want, const char *what)
{
    double R[64];
    ir_resize_weights(&r, n_in, n_out, R);
    for (size_t k = 0; k < n_in * n_out; k++)
        cr_expect(fabs(R[k] - want[k]) <= 1e-15, "%s: R[%zu][%zu] = %.17g, want %.17g", what, k / n_in, k % n_in, R[k],
                  want[k]);
}

/* By hand from jax: output j samples s = (j + ½)·n/m − ½; linear weighs
 * input i by max(0, 1 − |s − i|/k), k = n/m when antialiasing a
 * downsampling, else 1, then normalises; nearest reads ⌊(j + ½)·n/m⌋. */
Test(image_resize, weights_are_jax_image_resize)
{
    const IrResize lin = {.nearest = 0, .antialias = 1}, lin_noaa = {.nearest = 0, .antialias = 0},
                   near = {.nearest = 1, .antialias = 0};
    /* 2 → 4: s = −¼, ¼, ¾, 5/4 */
    expect_weights(lin, 2, 4, (const double[]){1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1}, "linear 2->4");
    /* 4 → 2 antialiased: s = ½, 5/2 with k = 2: (¾, ¾, ¼, 0)/(7/4) */
    expect_weights(lin, 4, 2, (const double[]){3. / 7, 3. / 7, 1. / 7, 0, 0, 1. / 7, 3. / 7, 3. / 7}, "linear 4->2");
    /* 4 → 2 without antialias: k = 1, the two neighbours by halves */
    expect_weights(lin_noaa, 4, 2, (const double[]){0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5}, "linear 4->2 antialias=false");
    /* nearest 4 → 3: ⌊2/3⌋, ⌊2⌋, ⌊10/3⌋ = 0, 2, 3; 2 → 5: 0, 0, 1, 1, 1 */
    expect_weights(near, 4, 3, (const double[]){1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, "nearest 4->3");
    expect_weights(near, 2, 5, (const double[]){1, 0, 1, 0, 0, 1, 0, 1, 0, 1}, "nearest 2->5");
    /* an unchanged axis is the identity, whatever the method */
    expect_weights(lin, 3, 3, (const double[]){1, 0, 0, 0, 1, 0, 0, 0, 1}, "linear 3->3");
}

static void check_reference(const char *src, unsigned long long seed, int both_backends)
{
    check_conv_reference(src, N, seed, both_backends, 1e-12);
}

Test(image_resize, kernels_match_the_pixel_pair_reference, .timeout = TIMEOUT(300))
{
    check_reference("net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; image_resize(5, 2); conv(2, 1.3, 0.2); "
                    "erf; global_avg_pool; dense(1.2) }",
                    1, 1);
    check_reference("net b { input image(4, 3, 2); conv(2, 1.4, 0.1); relu; image_resize(2, 3, antialias=false); "
                    "conv(2, 1.3); relu; global_avg_pool; dense(1.1) }",
                    2, 0);
    check_reference("net c { input image(3, 3, 1); conv(3, 1.5, 0.2); relu; image_resize(4, 2, method=nearest); "
                    "conv(3, 1.2); relu; flatten; dense(1.1) }",
                    3, 0);
    check_reference("net d { input image(4, 2, 2); dense(1.3, 0.1); erf; image_resize(2, 5, method=bilinear); "
                    "avg_pool(2); dense(1.2); relu; global_sum_pool; dense }",
                    4, 0);
    check_reference("net e { input sequence(5, 2); conv(3, 1.4, 0.1); relu; image_resize(1, 3); conv(2, 1.2); relu; "
                    "image_resize(1, 7, method=triangle); global_avg_pool; dense(1.1) }",
                    5, 0);
}

/* jax leaves an axis whose size does not change untouched: a resize to the
 * grid it is given is the identity, and the kernel is the same bit for bit. */
Test(image_resize, same_size_is_a_no_op_bit_for_bit, .timeout = TIMEOUT(120))
{
    const char *with = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; image_resize(3, 4); conv(2, 1.3); erf; "
                       "global_avg_pool; dense(1.2) }";
    const char *without = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); erf; "
                          "global_avg_pool; dense(1.2) }";
    enum { D = 24 };
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 7);
    ntkc_error err;
    ntkc_net *a = compile_or_fail(with, NTKC_BACKEND_TCC), *b = compile_or_fail(without, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, D, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, x, 0, NULL, D, s2, t2, NULL, &err), 0, "%s", err.message);
    cr_expect(memcmp(s1, s2, sizeof s1) == 0, "NNGP differs after a same-size resize");
    cr_expect(memcmp(t1, t2, sizeof t1) == 0, "NTK differs after a same-size resize");
    cr_expect(s1[1] != 0.0, "a zero kernel checks nothing");
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* <J·v, g> = <v, Jᵀ·g> for the finite net `ntkc train` builds: the resize's
 * tangent (frs_apply) against its backward pass (frs_adjoint). */
Test(image_resize, finite_tangent_is_the_adjoint_of_the_gradient, .timeout = TIMEOUT(120))
{
    const char *src = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; image_resize(5, 2); conv(2, 1.3, 0.2); "
                      "erf; image_resize(2, 3, method=nearest); global_avg_pool; dense(1.2) }";
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim;
    double x[2 * 24];
    fill_random(x, 2 * d, 8);
    ntkc_error err = {0};
    FiniteModel m;
    FiniteData data = {.rows = 2, .x = x, .dim = d};
    cr_assert_eq(finite_model_new(ir, &data, 16, 1, FINITE_AS_IR, &m, &err), 0, "%s", err.message);
    Rng r;
    rng_seed(&r, 3);
    finite_model_init(&m, &r);
    size_t np = m.np;
    double *v = malloc(np * sizeof *v), *grad = malloc(np * sizeof *grad), f[2], jv[2], g[2] = {0.7, -1.3};
    fill_random(v, np, 9);
    cr_assert_eq(finite_model_forward(&m, &data, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_jvp(&m, &data, v, jv, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_vjp(&m, &data, g, grad, &err), 0, "%s", err.message);
    double lhs = jv[0] * g[0] + jv[1] * g[1], rhs = 0;
    for (size_t k = 0; k < np; k++)
        rhs += v[k] * grad[k];
    cr_expect(fabs(lhs - rhs) <= 1e-10 * (fabs(lhs) + 1), "<Jv, g> %.17g, <v, J^T g> %.17g", lhs, rhs);
    cr_expect(fabs(lhs) > 1e-3, "a tangent of zero checks nothing (%g)", lhs);
    free(v);
    free(grad);
    finite_model_free(&m);
    ntkc_net_free(net);
}

Test(image_resize, refusals_name_the_reason)
{
    expect_error_in("net e { input image(4, 4, 1); conv(3); relu; image_resize(2, 2, method=cubic); flatten; dense }",
                    NULL, "1:65", "neural-tangents computes the kernel of nearest and linear resizing only");
    expect_error_in("net e { input image(4, 4, 1); conv(3); image_resize(2, 2, method=lanczos3); flatten; dense }",
                    NULL, "1:59", "method=lanczos3");
    expect_error_in("net e { input image(4, 4, 1); conv(3); image_resize(2, 2, method=area); flatten; dense }", NULL,
                    "1:66", "unknown method 'area'");
    expect_error_in("net e { input vector(4); dense; image_resize(2, 2); dense }", NULL, "1:33",
                    "'image_resize' is an image layer");
    expect_error_in("net e { input image(4, 4, 1); residual { conv(3); image_resize(2, 2) }; flatten; dense }", NULL,
                    "1:31", "the residual block changes the shape from 4×4 to 2×2");
    expect_error_in("net e { input sequence(4, 1); conv(3); image_resize(2, 8); flatten; dense }", NULL, "1:53",
                    "h must be 1");
    expect_error_in("net e { input sequence(4, 2); conv(3); image_resize(1, 5000); image_resize(1, 4); attention; "
                    "flatten; dense }",
                    NULL, "1:40", "'image_resize' to 5000 positions in net 'e', which has attention (at 1:83): its kernels "
                            "hold every pair of positions, at most 4096");
    expect_error_in("net e { input image(4, 4, 1); conv(3); image_resize(2); flatten; dense }", NULL, "1:40",
                    "missing required argument 'w'");
}
