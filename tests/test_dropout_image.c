/* dropout(rate) in image nets (neural-tangents' Dropout in train mode):
 *  - every kernel entry against the pixel-pair reference (conv_reference.c,
 *    which applies nt's _diag_mul: 1/rate on the entries of the same input at
 *    the same position — always in each input's own covariances, in the pair's
 *    only when x1 is x2), both back ends, convs, pooling, strides, circular
 *    padding, residual branches, the vector part after pooling;
 *  - the kernel of the inputs against a copy of them: the pair is never the
 *    same input (as neural-tangents' x1_is_x2 for two arrays), while each
 *    input's own variances are still scaled;
 *  - mode=test is the identity, bit for bit;
 *  - training a finite image net with dropout is refused by name.
 * The Monte Carlo check (finite nets with masks) is in test_monte_carlo.c
 * (dropout_image_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_compare.h"
#include "finite_model.h"
#include "net_internal.h"
#include "util.h"

enum { N = 4 };

/* K(x, x) and K(x, copy of x) against the reference. */
static void check_reference(const char *src, unsigned long long seed, ntkc_backend backend)
{
    ntkc_net *net = compile_or_fail(src, backend);
    size_t d = ntkc_net_ir(net)->input.dim;
    double *x = malloc(2 * N * d * sizeof *x), *copy = x + N * d, s[N * N], t[N * N], cs[N * N], ct[N * N];
    fill_random(x, N * d, seed);
    memcpy(copy, x, N * d * sizeof *x);
    expect_conv_reference(net, src, N, x, N, NULL, 1e-12, s, t);
    expect_conv_reference(net, src, N, x, N, copy, 1e-12, cs, ct);
    cr_expect(fabs(s[0] - cs[0]) > 1e-3 * fabs(s[0]), "dropout changed nothing on the diagonal\n%s", src);
    free(x);
    ntkc_net_free(net);
}

Test(dropout_image, kernels_match_the_pixel_pair_reference, .timeout = TIMEOUT(300))
{
    check_reference("net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.6)\n"
                    "  conv(2, 1.2, 0.1); relu; avg_pool(2); dense(1.1); dropout(0.7); dense(1.2); erf\n"
                    "  global_avg_pool; dense(1.1) }",
                    1, NTKC_BACKEND_TCC);
    check_reference("net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.6)\n"
                    "  conv(2, 1.2, 0.1); relu; avg_pool(2); dense(1.1); dropout(0.7); dense(1.2); erf\n"
                    "  global_avg_pool; dense(1.1) }",
                    1, NTKC_BACKEND_CC);
    check_reference("net b { input sequence(6, 2); conv(3, 1.4, 0.1, padding=circular)\n"
                    "  residual { relu; conv(3, 1.2, padding=circular); dropout(0.5); conv(1, 1.1) }; relu\n"
                    "  flatten; dense(1.3); dropout(0.8); dense(1.1) }",
                    2, NTKC_BACKEND_TCC);
    check_reference("net c { input image(5, 4, 1); conv(3, 1.5, 0.2, stride=2); dropout(0.4); conv(2, 1.2)\n"
                    "  relu; conv(2, 1.3, 0.1, padding=valid); dropout(0.9); dense(1.1); relu; global_sum_pool\n"
                    "  dense(0.9) }",
                    3, NTKC_BACKEND_TCC);
}

/* Attention nets (the all-pairs back end, emit_attn.c): the diagonal of the
 * position-pair matrices when x1 is x2; the reference's attention is its
 * four-index sum (linear scaling). */
Test(dropout_image, attention_nets_match_the_reference, .timeout = TIMEOUT(300))
{
    check_reference("net t { input sequence(4, 2); dense(1.3, 0.1); relu; dense(1.2); dropout(0.6)\n"
                    "  attention(w_q=1.4, b_std=0.1); relu; dense(1.1); dropout(0.8); dense(1.2); erf\n"
                    "  global_avg_pool; dense(1.1) }",
                    6, NTKC_BACKEND_TCC);
    check_reference("net u { input image(2, 3, 1); conv(3, 1.3, 0.1); dropout(0.7); conv(2, 1.2)\n"
                    "  residual { layer_norm; attention(mechanism=identity, w_q=0.8); dropout(0.5); dense(1.1) }\n"
                    "  relu; flatten; dense(1.1) }",
                    7, NTKC_BACKEND_TCC);
}

/* mode=test lowers to nothing: the same kernel, bit for bit. */
Test(dropout_image, test_mode_is_the_identity, .timeout = TIMEOUT(120))
{
    const char *with = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3); dropout(0.6, mode=test)\n"
                       "  conv(2, 1.2); relu; global_avg_pool; dense(1.1) }";
    const char *without = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; conv(2, 1.3)\n"
                          "  conv(2, 1.2); relu; global_avg_pool; dense(1.1) }";
    enum { D = 24 };
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 5);
    ntkc_error err;
    ntkc_net *a = compile_or_fail(with, NTKC_BACKEND_TCC), *b = compile_or_fail(without, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, D, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, x, 0, NULL, D, s2, t2, NULL, &err), 0, "%s", err.message);
    cr_expect(memcmp(s1, s2, sizeof s1) == 0 && memcmp(t1, t2, sizeof t1) == 0, "mode=test changed the kernel");
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* Image nets with dropout train (fresh masks every step, evaluated without
 * dropout; test_train_dropout.c has the comparison): here a conv and a relu
 * follow the dropout, so the reference needs the mixed kernel of eval-mode
 * and masked images, and has it. */
Test(dropout_image, training_has_its_reference)
{
    ntkc_net *net = compile_or_fail("net n { input image(3, 3, 1); conv(3, 1.4); relu; conv(2, 1.2); dropout(0.5)\n"
                                    "  conv(2, 1.1); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    double x[4 * 9], y[4] = {1, -1, 0.5, 0}, xt[2 * 9];
    fill_random(x, 4 * 9, 4);
    fill_random(xt, 2 * 9, 5);
    static const size_t widths[] = {8};
    ntkc_train_options o = {.widths = widths, .nwidths = 1, .seeds = 2, .lr = 0.2, .steps = 3, .checkpoints = 1};
    ntkc_train_result r;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_train_finite(net, 4, x, y, 1, 2, xt, NULL, 9, &o, &r, &err), 0, "%s", err.message);
    cr_expect(r.dropout_note != NULL && isfinite(r.mean_dist[r.ntimes - 1]) && isfinite(r.train_loss[r.ntimes - 1]));
    ntkc_train_result_free(&r);
    ntkc_net_free(net);
}
