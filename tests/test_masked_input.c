/* `input sequence(L, C, masked=true)` / `image(H, W, C, masked=true)`:
 * variable-length inputs for nets without attention (issue 20). Such a net
 * is computed by the all-pairs back end of attention nets (families.h),
 * which masks every layer. The check here is independent of that back end:
 * a sequence padded from 4 to 6 tokens (an image padded by a row) has the
 * kernel of the unpadded input under the same net declared 4 tokens long
 * (2 rows), which the image back end computes — 'same' convolutions and
 * pools read zeros past the end in both, global_avg_pool averages over the
 * real positions. Monte Carlo: tests/test_monte_carlo.c (masked_input_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 4 };

static double max_rel(const double *a, const double *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return d / m;
}

/* long_net on x padded by mask (n × positions, 1 = padded) against
 * short_net on the unpadded part short_x. */
static void check_padded(const char *long_net, const char *short_net, const double *x, size_t dim,
                         const double *mask, const double *short_x, size_t short_dim)
{
    ntkc_net *a = compile_or_fail(long_net, NTKC_BACKEND_TCC), *b = compile_or_fail(short_net, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "masked=true: the all-pairs back end");
    cr_assert_eq(ntkc_net_ir(b)->family, IR_FAMILY_IMAGE);
    double xp[N * 64], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    memcpy(xp, x, N * dim * sizeof *x);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_mask_inputs(a, N, xp, dim, mask, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(a, N, xp, 0, NULL, dim, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, short_x, 0, NULL, short_dim, s2, t2, NULL, &err), 0, "%s", err.message);
    double es = max_rel(s1, s2, N * N), et = max_rel(t1, t2, N * N);
    cr_log_info("padded vs shorter: NNGP %.2g, NTK %.2g", es, et);
    cr_expect_leq(es, 1e-12, "NNGP: %g", es);
    cr_expect_leq(et, 1e-12, "NTK: %g", et);
    ntkc_net_free(a);
    ntkc_net_free(b);
}



Test(masked_input, a_padded_sequence_has_the_kernel_of_the_shorter_one)
{
    enum { L = 6, S = 4, C = 3 };
    double x[N * L * C], xs[N * S * C], mask[N * L];
    fill_random(x, N * L * C, 7);
    for (size_t i = 0; i < N; i++) {
        memcpy(xs + i * S * C, x + i * L * C, S * C * sizeof *x);
        for (size_t p = 0; p < L; p++)
            mask[i * L + p] = p >= S;
    }
    /* circular wraps at the declared length, so this net keeps to 'same' */
    check_padded("net a { input sequence(6, 3, masked=true); conv(3, 1.2, 0.1); relu\n"
                 "  avg_pool(2, stride=1, padding=same); conv(3, 1.1); erf; global_avg_pool; dense(1.1) }",
                 "net b { input sequence(4, 3); conv(3, 1.2, 0.1); relu\n"
                 "  avg_pool(2, stride=1, padding=same); conv(3, 1.1); erf; global_avg_pool; dense(1.1) }",
                 x, L * C, mask, xs, S * C);
}

Test(masked_input, an_image_padded_by_a_row_has_the_kernel_of_the_smaller_one)
{
    enum { H = 3, W = 3, C = 2 };
    double x[N * H * W * C], xs[N * (H - 1) * W * C], mask[N * H * W];
    fill_random(x, N * H * W * C, 8);
    for (size_t i = 0; i < N; i++) {
        memcpy(xs + i * (H - 1) * W * C, x + i * H * W * C, (H - 1) * W * C * sizeof *x);
        for (size_t p = 0; p < H * W; p++)
            mask[i * H * W + p] = p >= (H - 1) * W;
    }
    check_padded("net a { input image(3, 3, 2, masked=true); conv(3, 1.2, 0.1); relu; conv(3, 1.1, 0.1)\n"
                 "  residual { layer_norm; dense(1.3, 0.1); relu; dense(0.9) }; relu; global_avg_pool; dense(1.1) }",
                 "net b { input image(2, 3, 2); conv(3, 1.2, 0.1); relu; conv(3, 1.1, 0.1)\n"
                 "  residual { layer_norm; dense(1.3, 0.1); relu; dense(0.9) }; relu; global_avg_pool; dense(1.1) }",
                 x, H * W * C, mask, xs, (H - 1) * W * C);
}

Test(masked_input, layers_that_move_the_grid_are_refused_by_name)
{
    expect_error("net m { input sequence(6, 3, masked=true); conv(3, stride=2); relu; global_avg_pool; dense }", "1:44",
                 "whose input is masked (masked=true at 1:9)");
    expect_error("net m { input sequence(6, 3, masked=true); conv_transpose(3); relu; global_avg_pool; dense }",
                 "1:44", "not conv_transpose");
    expect_error("net m { input sequence(6, 3, masked=true); conv_local(3, stride=2); relu; global_avg_pool; dense }",
                 "1:44", "must keep the grid");
    expect_error("net m { input sequence(6, 3, masked=true); conv(3); image_resize(1, 4); relu; global_avg_pool; dense }",
                 "1:53", "'image_resize' in net 'm', whose input is masked (masked=true at 1:9): a resized position mixes");
}

Test(masked_input, masks_for_an_unmasked_net_name_the_option)
{
    ntkc_net *net = compile_or_fail("net m { input sequence(3, 2); conv(2); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    double x[6] = {1, 2, 3, 4, 5, 6}, len[1] = {2};
    ntkc_error err = {0};
    cr_assert_neq(ntkc_mask_lengths(net, 1, x, 6, len, &err), 0);
    cr_expect(strstr(err.message, "masked=true") != NULL, "%s", err.message);
    ntkc_net_free(net);
}
