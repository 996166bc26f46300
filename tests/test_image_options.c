/* Options of image nets from issue 21, each against a small case computed
 * here pixel pair by pixel pair from neural-tangents' definitions (not from
 * ntkc's kernel-time code): conv and dense under param standard,
 * avg_pool(normalize_edges=true), layer_norm over chosen axes; and their
 * errors. The Monte Carlo checks are in test_monte_carlo.c (image_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { H = 3, W = 3, C = 2, P = H * W, N = 3 };

/* The input kernel of two images, neural-tangents' x_p·x'_q / C per pixel pair. */
static void input_kernel(const double *x1, const double *x2, double k[P][P])
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            double s = 0;
            for (int c = 0; c < C; c++)
                s += x1[p * C + c] * x2[q * C + c];
            k[p][q] = s / C;
        }
}

/* Σ_δ K(p+δ, q+δ) over a 2×2 window at the pixel (padding same on 3×3:
 * lax pads 0 before and 1 after, so the window starts at the pixel). */
static double window_sum(double k[P][P], int p, int q)
{
    double s = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int py = p / W + dy, px = p % W + dx, qy = q / W + dy, qx = q % W + dx;
            if (py < H && px < W && qy < H && qx < W)
                s += k[py * W + px][qy * W + qx];
        }
    return s;
}

static void kernels_of(const char *src, const double *x, double *nngp, double *ntk)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, P * C, nngp, ntk, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

/* neural-tangents' Conv(parameterization='standard'): nngp = w²·mean_δ K + b²,
 * ntk = fan_in·mean_δ K + w²·mean_δ Θ + 1 (b_std given), fan_in = C·|F|;
 * GlobalAvgPool averages all pairs; Dense standard: ntk = width·Σ + 1 + w²Θ. */
Test(image_options, standard_conv_gap_dense_matches_the_definition)
{
    const double w1 = 1.3, b1 = 0.2, w2 = 1.1, b2 = 0.3, width = 5;
    double x[N * P * C], nngp[N * N], ntk[N * N];
    fill_random(x, N * P * C, 11);
    kernels_of("net s { param standard; input image(3, 3, 2)\n"
               "  conv(2, 1.3, 0.2, width=5); global_avg_pool; dense(1.1, 0.3) }",
               x, nngp, ntk);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double k0[P][P], s1 = 0, t1 = 0;
            input_kernel(x + i * P * C, x + j * P * C, k0);
            for (int p = 0; p < P; p++)
                for (int q = 0; q < P; q++) {
                    double m = window_sum(k0, p, q) / 4.0; /* conv_unscaled: the mean over |F| = 4 taps */
                    s1 += w1 * w1 * m + b1 * b1;
                    t1 += (C * 4.0) * m + 1.0; /* the input has no Θ */
                }
            s1 /= P * P, t1 /= P * P;
            double s = w2 * w2 * s1 + b2 * b2, t = width * s1 + 1.0 + w2 * w2 * t1;
            cr_expect_float_eq(nngp[i * N + j], s, 1e-12 * fabs(s), "NNGP (%d, %d): %.17g vs %.17g", i, j,
                               nngp[i * N + j], s);
            cr_expect_float_eq(ntk[i * N + j], t, 1e-12 * fabs(t), "NTK (%d, %d): %.17g vs %.17g", i, j,
                               ntk[i * N + j], t);
        }
}

/* Under param ntk the same net's kernels do not depend on widths, and the
 * standard one's NNGP equals the ntk one's (the forward pass is the same
 * distribution); only the NTK differs. */
Test(image_options, standard_and_ntk_share_the_nngp)
{
    double x[N * P * C], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * P * C, 12);
    kernels_of("net s { param standard; input image(3, 3, 2); conv(2, 1.3, 0.2, width=7); relu\n"
               "  conv(3, 0.9, width=3); relu; flatten; dense(1.1, 0.3) }",
               x, s1, t1);
    kernels_of("net s { input image(3, 3, 2); conv(2, 1.3, 0.2); relu; conv(3, 0.9); relu; flatten\n"
               "  dense(1.1, 0.3) }",
               x, s2, t2);
    cr_expect_lt(max_rel_diff(s1, s2, N * N), 1e-13);
    cr_expect_gt(max_rel_diff(t1, t2, N * N), 0.1);
}

/* AvgPool(normalize_edges=True), padding same, window 2, stride 1 on 3×3:
 * output p averages the in-bounds pixels of its window (4, 2 or 1 of them),
 * so the kernel of outputs p, q is the sum over both windows / (n(p)·n(q)).
 * Flatten then averages the same-pixel diagonal; dense(1) copies it. */
Test(image_options, avg_pool_normalize_edges_matches_the_definition)
{
    double x[N * P * C], nngp[N * N], ntk[N * N], plain[N * N];
    fill_random(x, N * P * C, 13);
    kernels_of("net e { input image(3, 3, 2); avg_pool(2, stride=1, padding=same, normalize_edges=true)\n"
               "  flatten; dense }",
               x, nngp, ntk);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double k0[P][P], s = 0;
            input_kernel(x + i * P * C, x + j * P * C, k0);
            for (int p = 0; p < P; p++) {
                int n = (p / W + 2 <= H ? 2 : 1) * (p % W + 2 <= W ? 2 : 1);
                double sum = 0;
                for (int u = 0; u < P; u++)
                    for (int v = 0; v < P; v++) {
                        int inu = u / W - p / W >= 0 && u / W - p / W < 2 && u % W - p % W >= 0 && u % W - p % W < 2;
                        int inv = v / W - p / W >= 0 && v / W - p / W < 2 && v % W - p % W >= 0 && v % W - p % W < 2;
                        sum += inu && inv ? k0[u][v] : 0.0;
                    }
                s += sum / ((double)n * n);
            }
            s /= P;
            cr_expect_float_eq(nngp[i * N + j], s, 1e-12 * fabs(s), "(%d, %d): %.17g vs %.17g", i, j,
                               nngp[i * N + j], s);
            cr_expect_float_eq(ntk[i * N + j], s, 1e-12 * fabs(s));
        }
    /* without the option the edges divide by 4: a kernel 12 % off here */
    kernels_of("net e { input image(3, 3, 2); avg_pool(2, stride=1, padding=same); flatten; dense }", x, plain, ntk);
    cr_log_info("normalize_edges moves the NNGP by %.3f", max_rel_diff(plain, nngp, N * N));
    cr_expect_gt(max_rel_diff(plain, nngp, N * N), 0.1);
}

/* With padding valid every window is whole: the option changes nothing. */
Test(image_options, normalize_edges_is_the_plain_pool_without_edges)
{
    double x[N * P * C], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * P * C, 14);
    kernels_of("net e { input image(3, 3, 2); conv(2, 1.2); relu; avg_pool(2, stride=1, normalize_edges=true)\n"
               "  flatten; dense }",
               x, s1, t1);
    kernels_of("net e { input image(3, 3, 2); conv(2, 1.2); relu; avg_pool(2, stride=1); flatten; dense }", x, s2,
               t2);
    cr_expect_lt(max_rel_diff(s1, s2, N * N), 1e-14);
    cr_expect_lt(max_rel_diff(t1, t2, N * N), 1e-14);
}

/* LayerNorm(axis=(channels, some spatial axes)) after a 1×1 conv (w = 1, so
 * Σ = Θ = the input kernel): entry (p, q) divided by √(m₁(p)·m₂(q)), m the
 * mean of Σ(p', p') over p's group (its column for height, its row for
 * width, the image for all) plus ε; flatten then averages the diagonal and
 * dense(1) gives NNGP s and NTK 2s. */
Test(image_options, layer_norm_axes_match_the_definition)
{
    static const char *const axes[] = {"height", "width", "all"};
    double x[N * P * C], nngp[N * N], ntk[N * N];
    fill_random(x, N * P * C, 15);
    for (int i = 0; i < N * P; i++) /* pixels of different scales, so the groups' means differ */
        for (int c = 0; c < C; c++)
            x[i * C + c] *= 0.3 + (double)(i % P);
    for (int a = 0; a < 3; a++) {
        char src[256];
        snprintf(src, sizeof src, "net l { input image(3, 3, 2); conv(1); layer_norm(axes=%s); flatten; dense }",
                 axes[a]);
        kernels_of(src, x, nngp, ntk);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double k12[P][P], k11[P][P], k22[P][P], m1[P], m2[P], s = 0;
                input_kernel(x + i * P * C, x + j * P * C, k12);
                input_kernel(x + i * P * C, x + i * P * C, k11);
                input_kernel(x + j * P * C, x + j * P * C, k22);
                for (int p = 0; p < P; p++) {
                    int n = 0;
                    m1[p] = m2[p] = 0;
                    for (int u = 0; u < P; u++) {
                        int same = a == 0 ? u % W == p % W : a == 1 ? u / W == p / W : 1;
                        if (same)
                            m1[p] += k11[u][u], m2[p] += k22[u][u], n++;
                    }
                    m1[p] = m1[p] / n + 1e-12, m2[p] = m2[p] / n + 1e-12;
                }
                for (int p = 0; p < P; p++)
                    s += k12[p][p] / sqrt(m1[p] * m2[p]);
                s /= P;
                cr_expect_float_eq(nngp[i * N + j], s, 1e-12 * fabs(s), "axes=%s (%d, %d): %.17g vs %.17g", axes[a],
                                   i, j, nngp[i * N + j], s);
                cr_expect_float_eq(ntk[i * N + j], 2 * s, 2e-12 * fabs(s));
            }
    }
}

Test(image_options, errors)
{
    expect_error("net n { input image(3, 3, 1); conv(2, width=4); flatten; dense }", "1:39",
                 "'width' only applies to 'param standard'");
    expect_error("net n { param standard; input image(3, 3, 1); conv(2); relu; flatten; dense }", "1:47",
                 "missing required argument 'width' for 'conv'");
    expect_error("net n { input image(3, 3, 1); sum_pool(2, normalize_edges=true); flatten; dense }", "1:43",
                 "'normalize_edges' applies to avg_pool only");
    expect_error("net n { param standard; input image(3, 3, 1); conv(2, width=3)\n"
                 "  residual { conv(2, width=4) }; flatten; dense }",
                 "2:3", "under param standard the branches of this 'residual' must end with equal widths (the "
                        "input's for an identity branch): branch 1 has 3, branch 2 has 4");
    expect_error("net n { input image(3, 3, 1); conv(2); layer_norm(axes=spatial); flatten; dense }", "1:51",
                 "has no infinite-width kernel");
    expect_error("net n { dense; layer_norm(axes=height); dense }", "1:27", "on a vector");
    expect_error("net n { input sequence(4, 2); dense; layer_norm(axes=depth); attention; global_avg_pool; dense }",
                 "1:49", "only volumes (input volume(D, H, W, C)) have a depth axis");
}
