/* layer_norm over two of a volume's three spatial axes (axes=depth_height,
 * depth_width, height_width: neural-tangents' LayerNorm(axis=(1, 2, -1)),
 * (1, 3, -1), (2, 3, -1) on NDHWC; the positions sharing the third
 * coordinate form a group). Checked by identities against the one-axis and
 * all-axes forms, which tests/test_ln_pairs.c checks against another back
 * end:
 *  - a grid whose third axis has one position: the plane is every position,
 *    so depth_height on W = 1 is axes=all (and height_width on D = 1,
 *    depth_width on H = 1);
 *  - an axis of one position adds nothing to a group: on D = 1
 *    depth_height is height and depth_width width; on H = 1 depth_height is
 *    depth;
 *  - transposing every input's height and width maps depth_height onto
 *    depth_width (a net whose windows are cubes: conv(2) pads height and
 *    width alike).
 * The grids are scaled position by position, so that every grouping's means
 * differ and a wrong grouping shows (each case also checks that the kernel
 * moves away from the channels-only one). Against independent numpy:
 * python/tests/test_stax_volume_layers.py; Monte Carlo: tests/test_monte_carlo.c
 * (pairs_layer_norm_volume_planes). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_print.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 4, MAXD = 4 * 3 * 3 * 2 };

static const char NET[] = "net v { input volume(%d, %d, %d, 2); dense(1.3, 0.1); layer_norm(axes=%s); relu\n"
                          "  conv(2, 1.2, 0.1); layer_norm(axes=%s); erf; global_avg_pool; dense(1.1) }";

/* Position p of P scaled by e^(1.5·(p/(P−1) − 1/2)) (and its channels by
 * their own random normals). */
static void scaled_inputs(double *x, size_t P, unsigned long long seed)
{
    fill_random(x, N * P * 2, seed);
    for (size_t e = 0; e < N * P * 2; e++)
        x[e] *= exp(1.5 * ((double)(e / 2 % P) / (double)(P > 1 ? P - 1 : 1) - 0.5));
}

/* The NNGP and NTK (N × N each, in k[0..2N²)) of the net on a d×h×w grid with both layer_norms over `axes`. */
static void kernels_of(int d, int h, int w, const char *axes, const double *x, double *k)
{
    char src[512];
    snprintf(src, sizeof src, NET, d, h, w, axes, axes);
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, (size_t)(d * h * w * 2), k, k + N * N, NULL, &err), 0, "%s",
                 err.message);
    ntkc_net_free(net);
}

/* max |a − b| / max |b| over both kernels. */
static double rel_diff(const double *a, const double *b)
{
    double num = 0, den = 0;
    for (size_t e = 0; e < 2 * N * N; e++)
        num = fmax(num, fabs(a[e] - b[e])), den = fmax(den, fabs(b[e]));
    return num / den;
}

/* axes `a` and `b` on one d×h×w grid: equal to 1e-15; both 1 % or more from the channels-only kernels. */
static void expect_same(int d, int h, int w, const char *a, const char *b)
{
    double x[N * MAXD], ka[2 * N * N], kb[2 * N * N], kc[2 * N * N];
    cr_assert_leq(d * h * w * 2, MAXD);
    scaled_inputs(x, (size_t)(d * h * w), 71);
    kernels_of(d, h, w, a, x, ka);
    kernels_of(d, h, w, b, x, kb);
    kernels_of(d, h, w, "channels", x, kc);
    double diff = rel_diff(ka, kb), moved = rel_diff(ka, kc);
    cr_log_info("%dx%dx%d: axes=%s vs %s %.2g, %.1f %% from channels only", d, h, w, a, b, diff, 100 * moved);
    cr_expect(diff <= 1e-15, "%dx%dx%d: axes=%s differs from %s by %.3g", d, h, w, a, b, diff);
    cr_expect(moved > 0.01, "%dx%dx%d: axes=%s is the channels-only kernel (%.3g): the check shows nothing", d, h,
              w, a, moved);
}

Test(ln_planes, a_third_axis_of_one_position_makes_the_plane_all)
{
    expect_same(3, 3, 1, "depth_height", "all");
    expect_same(3, 1, 3, "depth_width", "all");
    expect_same(1, 3, 3, "height_width", "all");
}

Test(ln_planes, an_axis_of_one_position_adds_nothing)
{
    expect_same(1, 3, 2, "depth_height", "height");
    expect_same(1, 2, 3, "depth_width", "width");
    expect_same(3, 1, 2, "depth_height", "depth");
    expect_same(3, 2, 1, "depth_width", "depth");
}

Test(ln_planes, height_and_width_transposed)
{
    enum { D = 2, H = 3, W = 2, C = 2, P = D * H * W };
    double x[N * P * C], xt[N * P * C], ka[2 * N * N], kb[2 * N * N], kw[2 * N * N];
    scaled_inputs(x, P, 72);
    for (int i = 0; i < N; i++) /* xt: the W×H grid of each slice, xt[z][u][v] = x[z][v][u] */
        for (int z = 0; z < D; z++)
            for (int v = 0; v < H; v++)
                for (int u = 0; u < W; u++)
                    for (int c = 0; c < C; c++)
                        xt[(((i * D + z) * W + u) * H + v) * C + c] = x[(((i * D + z) * H + v) * W + u) * C + c];
    kernels_of(D, H, W, "depth_height", x, ka);
    kernels_of(D, W, H, "depth_width", xt, kb);
    kernels_of(D, H, W, "depth_width", x, kw); /* the other grouping on the same grid: far */
    double diff = rel_diff(kb, ka), wrong = rel_diff(kw, ka);
    cr_log_info("depth_height vs depth_width transposed %.2g; depth_width on the same grid %.1f %% away", diff,
                100 * wrong);
    cr_expect(diff <= 1e-14, "depth_height and depth_width on the transposed inputs differ by %.3g", diff);
    cr_expect(wrong > 0.01, "depth_width equals depth_height on a 2x3x2 grid (%.3g): the check shows nothing", wrong);
}

Test(ln_planes, ir_and_errors)
{
    ntkc_net *net = compile_or_fail("net v { input volume(2, 2, 2, 1); conv(2); layer_norm(axes=depth_height); relu\n"
                                    "  conv(2); layer_norm(axes=depth_width); relu; conv(2)\n"
                                    "  layer_norm(axes=height_width); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ntkc_net_ir(net));
    cr_expect(strstr(sb.data, ", over channels, depth and height") != NULL, "%s", sb.data);
    cr_expect(strstr(sb.data, ", over channels, depth and width") != NULL, "%s", sb.data);
    cr_expect(strstr(sb.data, ", over channels, height and width") != NULL, "%s", sb.data);
    sb_free(&sb);
    ntkc_net_free(net);
    expect_error("net n { input image(3, 3, 1); conv(2); layer_norm(axes=height_width); flatten; dense }", "1:51",
                 "'layer_norm(axes=height_width)' on an image: only volumes (input volume(D, H, W, C)) have three "
                 "spatial axes (use all: both of its axes)");
    expect_error("net n { input sequence(4, 2); dense; layer_norm(axes=depth_width); attention; global_avg_pool; "
                 "dense }",
                 "1:49", "'layer_norm(axes=depth_width)' on a sequence");
    expect_error("net n { input volume(2, 2, 2, 1); conv(2); global_avg_pool; layer_norm(axes=depth_height); dense }",
                 "1:72", "'layer_norm(axes=depth_height)' on a vector");
    expect_error("net n { input volume(2, 2, 2, 1); conv(2); layer_norm(axes=height_depth); global_avg_pool; dense }",
                 "1:60", "unknown axes 'height_depth' for 'layer_norm' (one of: channels, height, width, all, spatial, "
                 "depth, depth_height, depth_width, height_width)");
}
