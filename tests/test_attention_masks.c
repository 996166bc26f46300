/* Variable-length inputs of attention nets through the C API (issue 20):
 * padding marked by ntkc_mask_inputs / ntkc_mask_lengths (NaN in every
 * channel of a padded position) changes nothing but the padded positions'
 * influence — bit-identical kernels whatever the padded values —, masks and
 * lengths agree, and inputs that do not fit are refused by name. The kernels'
 * values are checked against the numpy reference in
 * python/tests/test_attention_masks.py and against finite-width networks in
 * tests/test_monte_carlo.c (attention_masked_*, attention_pos_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntkc.h"
#include "util.h"

enum { N = 4, L = 5, C = 3, D = L * C };

static const char *const NET = "net m { input sequence(5, 3); dense(1.0, 0.1)\n"
                               "  residual { layer_norm; attention(w_q=1.5, b_std=0.2, pos_emb=sum, w_pos=0.7) }\n"
                               "  residual { layer_norm; dense(1.4, 0.1); relu; dense(1.0) }\n"
                               "  global_avg_pool; dense(1.0) }";
static const double LENGTHS[N] = {5, 3, 4, 2};

static void kernels(ntkc_net *net, const double *x, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
}

Test(attention_masks, padded_values_change_nothing_bit_for_bit)
{
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    double x[N * D], y[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 1);
    fill_random(y, N * D, 2);
    for (size_t i = 0; i < N; i++) /* y: x's values, other values at the padding */
        memcpy(y + i * D, x + i * D, (size_t)LENGTHS[i] * C * sizeof *y);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_mask_lengths(net, N, x, D, LENGTHS, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_mask_lengths(net, N, y, D, LENGTHS, &err), 0, "%s", err.message);
    kernels(net, x, s1, t1);
    kernels(net, y, s2, t2);
    cr_expect(memcmp(s1, s2, sizeof s1) == 0 && memcmp(t1, t2, sizeof t1) == 0);
    /* and the padding matters: unpadded inputs give other kernels */
    fill_random(y, N * D, 1);
    kernels(net, y, s2, t2);
    cr_expect_gt(fabs(s2[N + 1] - s1[N + 1]), 1e-3 * fabs(s1[N + 1]));
    ntkc_net_free(net);
}

Test(attention_masks, mask_equals_lengths)
{
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    double x[N * D], y[N * D], m[N * L], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 3);
    memcpy(y, x, sizeof x);
    for (size_t i = 0; i < N; i++)
        for (size_t p = 0; p < L; p++)
            m[i * L + p] = p >= LENGTHS[i];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_mask_lengths(net, N, x, D, LENGTHS, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_mask_inputs(net, N, y, D, m, &err), 0, "%s", err.message);
    kernels(net, x, s1, t1);
    kernels(net, y, s2, t2);
    cr_expect(memcmp(s1, s2, sizeof s1) == 0 && memcmp(t1, t2, sizeof t1) == 0);
    ntkc_net_free(net);
}

static void refused(const char *src, double *x, size_t dim, const char *words)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    double s[N * N];
    ntkc_error err = {0};
    cr_expect_eq(ntkc_kernel(net, N, x, 0, NULL, dim, s, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, words) != NULL, "'%s' lacks '%s'", err.message, words);
    ntkc_net_free(net);
}

Test(attention_masks, inputs_that_do_not_fit_are_refused_by_name)
{
    double x[N * D];
    fill_random(x, N * D, 4);
    x[2 * D + 3 * C + 1] = NAN; /* one channel of position 3 of input 2 */
    refused(NET, x, D, "x1[2]: position 3 is NaN in 1 of its 3 channels");
    fill_random(x, N * D, 4);
    for (size_t e = 0; e < D; e++)
        x[D + e] = NAN;
    refused(NET, x, D, "x1[1]: every position is masked");
    fill_random(x, N * D, 4);
    x[5] = INFINITY;
    refused(NET, x, D, "x1[0, 5] is infinite");
    fill_random(x, N * D, 4);
    x[C] = x[C + 1] = x[C + 2] = NAN; /* padding in a net without attention */
    refused("net s { input sequence(5, 3); dense(1.0); relu; global_avg_pool; dense(1.0) }", x, D,
            "only nets with attention");
    fill_random(x, N * 3, 4);
    x[4] = NAN;
    refused("net v { input vector(3); dense(1.0); relu; dense(1.0) }", x, 3, "x1[1, 1] is NaN");
}

Test(attention_masks, bad_masks_are_refused_by_name)
{
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    double x[N * D], m[N * L] = {0}, len[N] = {5, 3, 4, 2};
    fill_random(x, N * D, 5);
    ntkc_error err = {0};
    m[7] = 0.5;
    cr_expect_eq(ntkc_mask_inputs(net, N, x, D, m, &err), 1);
    cr_expect(strstr(err.message, "mask[1, 2] = 0.5") != NULL, "%s", err.message);
    for (size_t p = 0; p < L; p++)
        m[L + p] = 1.0;
    m[7] = 1.0;
    err = (ntkc_error){0};
    cr_expect_eq(ntkc_mask_inputs(net, N, x, D, m, &err), 1);
    cr_expect(strstr(err.message, "mask[1]: every position is masked") != NULL, "%s", err.message);
    len[2] = 2.5;
    err = (ntkc_error){0};
    cr_expect_eq(ntkc_mask_lengths(net, N, x, D, len, &err), 1);
    cr_expect(strstr(err.message, "lengths[2] = 2.5") != NULL, "%s", err.message);
    for (size_t e = 0; e < N * D; e++) /* nothing marked by the refusals */
        cr_assert(!isnan(x[e]));
    ntkc_net_free(net);
}

/* Convolutions and local pooling in nets with attention (full position-pair
 * matrices, attn_runtime.c) against the image family's plane kernels: a
 * residual attention with w_v = 0 adds nothing, so the two nets' kernels are
 * equal up to rounding. */
static void same_as_image_net(const char *layers)
{
    char img[512], att[600];
    snprintf(img, sizeof img, "net i { input image(4, 3, 2); %s; flatten; dense(1.0) }", layers);
    snprintf(att, sizeof att, "net a { input image(4, 3, 2); %s; residual { attention(w_v=0) }; flatten; dense(1.0) }",
             layers);
    ntkc_net *ni = compile_or_fail(img, NTKC_BACKEND_TCC), *na = compile_or_fail(att, NTKC_BACKEND_TCC);
    double x[N * 24], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * 24, 6);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(ni, N, x, 0, NULL, 24, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(na, N, x, 0, NULL, 24, s2, t2, NULL, &err), 0, "%s", err.message);
    for (size_t e = 0; e < N * N; e++) {
        cr_expect_float_eq(s2[e], s1[e], 1e-13 * fabs(s1[e]) + 1e-300, "%s NNGP[%zu]", layers, e);
        cr_expect_float_eq(t2[e], t1[e], 1e-13 * fabs(t1[e]) + 1e-300, "%s NTK[%zu]", layers, e);
    }
    ntkc_net_free(ni);
    ntkc_net_free(na);
}

Test(attention_masks, conv_and_pooling_equal_the_image_family)
{
    same_as_image_net("conv(3, 1.2, 0.1); relu; conv(2, 1.1, 0.2, dilation=2)");
    same_as_image_net("conv(3, 1.2, 0.1, padding=circular); erf; avg_pool(3, stride=1, padding=same)");
    same_as_image_net("conv(3, 1.2); sum_pool(2, stride=1, padding=same); layer_norm; relu");
    same_as_image_net("conv(1, 1.3, 0.2, padding=valid); relu; avg_pool(1); conv(3, 0.9)"); /* one tap: valid keeps the grid */
}

static void not_compiled(const char *attn, const char *words)
{
    char src[300];
    snprintf(src, sizeof src, "net t { input sequence(6, 3); %s; global_avg_pool; dense(1.0) }", attn);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, "t.ntk", NULL, &err);
    cr_expect_null(net, "%s compiled", src);
    cr_expect(strstr(err.message, words) != NULL, "'%s' lacks '%s'", err.message, words);
    ntkc_net_free(net);
}

Test(attention_masks, options_that_do_not_fit_are_refused_by_name)
{
    not_compiled("dense(1.0); attention(pos_channels=2)", "pos_channels applies to pos_emb=concat only");
    not_compiled("dense(1.0); attention(pos_emb=sum, pos_channels=2)", "pos_channels applies to pos_emb=concat");
    not_compiled("dense(1.0); attention(w_pos=2)", "w_pos needs positional embeddings");
    not_compiled("dense(1.0); attention(val_pos_emb=1)", "val_pos_emb needs positional embeddings");
    not_compiled("conv(2, stride=2); attention()", "must keep the grid (stride 1, padding same or circular, or valid on a 1x1 window)");
    not_compiled("conv(3, padding=valid); attention()", "must keep the grid");
    not_compiled("dense(1.0); attention(); avg_pool(2)", "must keep the grid");
}
