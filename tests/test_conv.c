/* Image kernels (and branching vector nets) against the naive pixel-pair
 * reference of conv_reference.c, on both back ends, over every layer kind:
 * this is also the check that the same-pixel path of flatten nets and the
 * plane-by-plane path of pooled nets equal the full pair-by-pair recursion. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_reference.h"
#include "net_internal.h"
#include "util.h"

enum { N1 = 3, N2 = 2 };

/* Every entry of the library's kernels (symmetric and not) against the reference. */
static void check_net(const char *src, ntkc_backend backend, unsigned long long seed)
{
    ntkc_net *net = compile_or_fail(src, backend);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim ? ir->input.dim : 5;
    double *x = malloc((N1 + N2) * d * sizeof *x);
    fill_random(x, (N1 + N2) * d, seed);
    double s[N1 * N2], t[N1 * N2], ss[N1 * N1], ts[N1 * N1];
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N1, x, N2, x + N1 * d, d, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N1, x, 0, NULL, d, ss, ts, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N1; i++)
        for (size_t j = 0; j < N1 + N2; j++) {
            const double *x2 = x + j * d;
            double rs, rt;
            conv_reference(ir, d, x + i * d, x2, &rs, &rt);
            double gs = j < N1 ? ss[i * N1 + j] : s[i * N2 + j - N1], gt = j < N1 ? ts[i * N1 + j] : t[i * N2 + j - N1];
            cr_expect(fabs(gs - rs) <= 1e-11 * (1 + fabs(rs)), "NNGP[%zu,%zu] %.17g vs reference %.17g\n%s", i, j, gs,
                      rs, src);
            cr_expect(fabs(gt - rt) <= 1e-11 * (1 + fabs(rt)), "NTK[%zu,%zu] %.17g vs reference %.17g\n%s", i, j, gt, rt,
                      src);
        }
    free(x);
    ntkc_net_free(net);
}

static void check_both(const char *src, unsigned long long seed)
{
    check_net(src, NTKC_BACKEND_TCC, seed);
    check_net(src, NTKC_BACKEND_CC, seed);
}

/* The issue's net, on 8×8 grey images: residual blocks, pooling, a strided circular conv, GAP. */
Test(conv, issue_net_matches_reference, .timeout = TIMEOUT(120))
{
    check_both("net cntk {\n"
               "    input image(8, 8, 1)\n"
               "    conv(3, w_std=1.414, b_std=0.0)\n"
               "    repeat 2 {\n"
               "        residual { relu; conv(3, 1.414, 0.1); relu; conv(3, 1.414, 0.1) }\n"
               "    }\n"
               "    avg_pool(2)\n"
               "    relu\n"
               "    conv(3, 1.414, 0.1, stride=2, padding=circular)\n"
               "    global_avg_pool\n"
               "    dense(1.0)\n"
               "}\n",
               11);
}

Test(conv, flatten_head_strides_valid_padding, .timeout = TIMEOUT(60))
{
    check_both("net f { input image(7, 6, 2); conv(3, 1.3, 0.2, stride=2, padding=valid); relu\n"
               "  conv(kh=2, kw=1, w_std=1.2, b_std=0.1); erf; conv(2, 1.5, padding=valid); relu\n"
               "  flatten; dense(1.1, 0.1); relu; dense(0.9) }",
               12);
}

Test(conv, pools_and_circular_padding, .timeout = TIMEOUT(60))
{
    check_both("net p { input image(6, 5, 2); conv(3, 1.4, 0.1, padding=circular); relu\n"
               "  avg_pool(2, stride=1, padding=same); conv(kh=3, kw=2, w_std=1.2, sh=2, sw=1); relu\n"
               "  sum_pool(kh=2, kw=3, padding=circular); conv(2, 1.3, 0.05); relu; global_sum_pool; dense }",
               13);
}

Test(conv, fanout_prod_concat_layer_norm, .timeout = TIMEOUT(60))
{
    check_both("net b { input image(5, 5, 3); conv(3, 1.2, 0.3); layer_norm; relu\n"
               "  fanout { branch { conv(3, 1.1, 0.2) } branch { conv(1, 0.9); erf; conv(3, 1.3) } } prod\n"
               "  fanout { branch { conv(3, 1.4); relu } branch { } branch { dense(1.2, 0.1); erf } } concat\n"
               "  residual(alpha=0.5) { conv(3, 1.2, 0.1); relu; conv(3, 1.1) }\n"
               "  global_avg_pool; dense(1.3, 0.2); layer_norm; erf; dense }",
               14);
}

Test(conv, mixed_padding_switches_segments, .timeout = TIMEOUT(60))
{
    check_both("net m { input image(6, 6, 1); conv(3, 1.4); relu; conv(3, 1.4, padding=circular); relu\n"
               "  conv(3, 1.3, 0.1); relu; flatten; dense }",
               15);
}

Test(conv, vector_nets_with_branches, .timeout = TIMEOUT(60))
{
    check_both("net v { dense(1.3, 0.1); layer_norm\n"
               "  residual { relu; dense(1.2, 0.1); erf; dense(1.1) }\n"
               "  fanout { branch { relu; dense(1.2); relu; dense(1.0) } branch { } } prod; dense }",
               16);
}

Test(conv, sequences, .timeout = TIMEOUT(60))
{
    check_both("net s { input sequence(9, 2); conv(3, 1.4, 0.1); relu; avg_pool(2); conv(2, 1.3, stride=2);\n"
               "  relu; global_avg_pool; dense }",
               17);
}

/* The issue's minimal case, by hand: x = (1, 2, 4) on one channel; a 1-wide
 * conv of stride 2 with circular padding (3 = 2·2 - 1: nothing to pad) reads
 * pixels 0 and 2, so GAP averages Σ over the pairs of {0, 2}:
 * (1 + 4 + 4 + 16)/4 = 6.25, and the NTK is that twice (conv, then dense). */
Test(conv, circular_stride_not_dividing_by_hand, .timeout = TIMEOUT(60))
{
    const char *pads[] = {"circular", "same", "valid"};
    for (int p = 0; p < 3; p++)
        for (int be = 0; be < 2; be++) {
            char src[200];
            snprintf(src, sizeof src,
                     "net n { input sequence(3, 1); conv(1, stride=2, padding=%s); global_avg_pool; dense }", pads[p]);
            ntkc_net *net = compile_or_fail(src, be ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC);
            double x[3] = {1, 2, 4}, s, t;
            ntkc_error err;
            cr_assert_eq(ntkc_kernel(net, 1, x, 0, NULL, 3, &s, &t, NULL, &err), 0, "%s", err.message);
            cr_expect(s == 6.25 && t == 12.5, "%s: NNGP %.17g NTK %.17g, want 6.25 and 12.5", src, s, t);
            ntkc_net_free(net);
        }
}

/* xorshift draws for the sweep below. */
static unsigned draw(unsigned long long *r, unsigned n)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return (unsigned)((*r >> 11) % n);
}

/* One random layer of the sweep: a conv or a pool with a window and stride
 * that often do not divide the size and may exceed it, any padding. */
static void sweep_layer(char *buf, size_t size, unsigned long long *r, int seq, int pool)
{
    static const char *pads[] = {"same", "valid", "circular"};
    const char *pad = pads[draw(r, 3)];
    int k = 1 + (int)draw(r, 5), s = 1 + (int)draw(r, 3);
    if (strcmp(pad, "valid") == 0)
        k = 1 + (int)draw(r, 2); /* the sizes below keep a valid window of 2 possible */
    char win[64];
    if (seq || draw(r, 2))
        snprintf(win, sizeof win, "%d, stride=%d", k, s);
    else
        snprintf(win, sizeof win, "kh=%d, kw=%d, sh=%d, sw=%d", k, 1 + (int)draw(r, 5), s, 1 + (int)draw(r, 3));
    if (pool)
        snprintf(buf, size, "%s(%s, padding=%s)", draw(r, 2) ? "avg_pool" : "sum_pool", win, pad);
    else
        snprintf(buf, size, "conv(%s, w_std=1.3, b_std=0.2, padding=%s); relu", win, pad);
}

/* Random chains of strided convs and pools (sizes 2-9, windows 1-5, strides
 * 1-3, every padding; strides that do not divide the size and windows
 * larger than the image are common) against the pixel-pair reference: GAP
 * and pooling read every pixel pair, where a circular stride that does not
 * divide the size went wrong. Nets whose valid windows run out of pixels
 * are refused by name and skipped. Every net on libtcc, every eighth on cc. */
Test(conv, strided_windows_sweep, .timeout = TIMEOUT(240))
{
    unsigned long long r = 0x5eed1234ULL;
    int checked = 0;
    for (int n = 0; n < 48; n++) {
        int seq = n % 3 == 0;
        char src[1024], layer[160];
        int len = seq ? snprintf(src, sizeof src, "net s { input sequence(%u, 2)", 2 + draw(&r, 8))
                      : snprintf(src, sizeof src, "net s { input image(%u, %u, 2)", 2 + draw(&r, 6), 2 + draw(&r, 6));
        int layers = 2 + (int)draw(&r, 2);
        for (int l = 0; l < layers; l++) {
            sweep_layer(layer, sizeof layer, &r, seq, l > 0 && draw(&r, 3) == 0);
            len += snprintf(src + len, sizeof src - (size_t)len, "; %s", layer);
        }
        snprintf(src + len, sizeof src - (size_t)len, "; %s; dense }", draw(&r, 4) ? "global_avg_pool" : "flatten");
        ntkc_error err;
        ntkc_net *net = ntkc_compile_string(src, "sweep.ntk", NULL, &err);
        if (net == NULL) {
            cr_expect(strstr(err.message, "with padding=valid on an image") != NULL, "%s\nrefused: %s", src,
                      err.message);
            continue;
        }
        ntkc_net_free(net);
        check_net(src, NTKC_BACKEND_TCC, 100 + (unsigned long long)n);
        if (checked++ % 8 == 0)
            check_net(src, NTKC_BACKEND_CC, 100 + (unsigned long long)n);
    }
    cr_expect_geq(checked, 36, "only %d of 48 nets compiled", checked);
}

/* Strided circular convs inside branches: each branch leaves the circular
 * grid at its strided conv, and they meet on the ordinary one. */
Test(conv, circular_strides_in_branches, .timeout = TIMEOUT(60))
{
    check_both("net b { input image(5, 7, 2); conv(3, 1.3, 0.1, padding=circular); relu\n"
               "  fanout { branch { conv(3, 1.2, 0.1, stride=2, padding=circular) }\n"
               "           branch { conv(1, 1.1, stride=2, padding=circular); relu; conv(2, 1.4) } } sum\n"
               "  relu; residual { conv(3, 1.2, 0.1); relu; conv(3, 1.1) }; avg_pool(2, padding=circular)\n"
               "  global_avg_pool; dense }",
               21);
    check_both("net c { input sequence(9, 2); conv(3, 1.3, padding=circular); relu\n"
               "  conv(4, 1.2, 0.1, stride=2, padding=circular); relu; conv(3, 1.2, stride=2, padding=circular)\n"
               "  relu; conv(2, 1.1); relu; global_sum_pool; dense }",
               22);
}

/* What the plane emitter cannot hold yet is refused by name, not computed wrong. */
Test(conv, circular_after_strided_circular_in_a_branch_is_refused)
{
    ntkc_error err;
    ntkc_net *net = ntkc_compile_string(
        "net b { input image(5, 5, 1); conv(3)\n"
        "  fanout { branch { conv(3, stride=2, padding=circular); relu; conv(3, padding=circular) }\n"
        "           branch { conv(3, stride=2, padding=circular) } } sum; global_avg_pool; dense }",
        "b.ntk", NULL, &err);
    cr_assert_null(net);
    cr_expect(strstr(err.message, "b.ntk:2:3: error:") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "strided circular conv whose stride does not divide the image size") != NULL, "%s",
              err.message);
}

/* Windows several times the image (circular padding wraps around more than
 * once), strides past it, pools larger than the image, on both back ends. */
Test(conv, windows_and_strides_larger_than_the_image, .timeout = TIMEOUT(60))
{
    check_both("net w { input image(3, 2, 2); conv(kh=8, kw=5, w_std=1.3, b_std=0.1, padding=circular); relu\n"
               "  conv(4, 1.2, 0.1); relu; avg_pool(5, stride=1, padding=same); conv(7, 1.1, stride=4, padding=circular)\n"
               "  relu; sum_pool(3, padding=circular); global_avg_pool; dense }",
               23);
    check_both("net v { input sequence(4, 3); conv(9, 1.4, 0.2, stride=3, padding=circular); erf\n"
               "  conv(6, 1.2, 0.1, stride=5); relu; flatten; dense }",
               24);
}

/* ---- dilated convolution (neural-tangents' rhs_dilation) ----------------- */

/* Dilated windows on every padding, with strides, on both axes apart, in a
 * residual branch and before pooling, against the pair-by-pair reference. */
Test(conv, dilated_windows_match_reference, .timeout = TIMEOUT(120))
{
    check_both("net d1 { input image(7, 7, 2); conv(3, 1.4, 0.1, dilation=2); relu\n"
               "  conv(3, 1.3, 0.2, dilation=2, stride=2, padding=valid); relu; flatten; dense(1.2) }",
               31);
    check_both("net d2 { input image(6, 5, 1); conv(2, 1.4, 0.1, dh=3, dw=2, padding=circular)\n"
               "  residual { erf; conv(3, 1.3, 0.1, dilation=2, padding=circular) }\n"
               "  avg_pool(2, padding=same); relu; global_avg_pool; dense(1.1) }",
               32);
    check_both("net d3 { input image(8, 8, 1); conv(kh=3, kw=2, w_std=1.4, b_std=0.1, dilation=3, stride=2)\n"
               "  relu; conv(3, 1.2, dilation=2, padding=circular); relu; global_avg_pool; dense }",
               33);
    check_both("net d4 { input sequence(11, 2); conv(3, 1.4, 0.1, dilation=4); relu\n"
               "  conv(2, 1.3, dilation=3, stride=2, padding=valid); relu; global_avg_pool; dense(1.2) }",
               34);
    check_both("net d5 { input image(5, 5, 1); conv(3, 1.4, 0.1, dilation=7); relu; conv(3, 1.3, dilation=3, "
               "padding=circular); relu; global_avg_pool; dense }",
               35);
}

/* dilation=1 (or dh=dw=1) is the plain conv: the same kernels, bit for bit. */
Test(conv, dilation_one_is_the_plain_conv, .timeout = TIMEOUT(60))
{
    const char *plain = "net p { input image(6, 6, 2); conv(3, 1.4, 0.1, stride=2); relu; conv(3, 1.3, "
                        "padding=circular); relu; global_avg_pool; dense(1.1) }";
    const char *ones[] = {"net p { input image(6, 6, 2); conv(3, 1.4, 0.1, stride=2, dilation=1); relu; conv(3, "
                          "1.3, padding=circular, dh=1, dw=1); relu; global_avg_pool; dense(1.1) }"};
    enum { N = 4 };
    double x[N * 72];
    fill_random(x, N * 72, 41);
    double a[2][N * N], b[2][N * N];
    ntkc_error err;
    ntkc_net *p = compile_or_fail(plain, NTKC_BACKEND_TCC), *q = compile_or_fail(ones[0], NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(p, N, x, 0, NULL, 72, a[0], a[1], NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(q, N, x, 0, NULL, 72, b[0], b[1], NULL, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(a, b, sizeof a), 0, "dilation=1 changed a kernel bit");
    ntkc_net_free(p);
    ntkc_net_free(q);
}

/* A dilated conv is a conv whose kernel has d−1 zeros inserted between its
 * taps, so with stride 1 it never mixes pixels of different phases (i mod
 * dh, j mod dw): on each phase it is the plain conv of the sub-image of that
 * phase (circular padding wraps by whole phases when d divides the size;
 * 'same' pads (k−1)·d/2 = d·(k−1)/2 for odd k, a whole number of phases).
 * Activations act pair by pair, and the global average of all pixel pairs is
 * the mean over phase pairs (a, b) of the average over the pairs of those
 * phases. So K_dilated(x, x') = mean_{a,b} K_plain(x_a, x'_b) with x_a the
 * sub-image of phase a: an identity between two kernels computed by
 * different code paths (dilated taps vs. a smaller image). */
static void check_phases(const char *dilated, const char *plain, int H, int W, int C, int dh, int dw)
{
    enum { N = 3 };
    int h = H / dh, w = W / dw, nph = dh * dw;
    size_t d = (size_t)H * W * C, ds = (size_t)h * w * C, m = (size_t)N * nph;
    double *x = malloc(N * d * sizeof *x), *xs = malloc(m * ds * sizeof *xs);
    double *ks = malloc(m * m * sizeof *ks), *kt = malloc(m * m * sizeof *kt), s[N * N], t[N * N];
    fill_random(x, N * d, 51);
    for (int n = 0; n < N; n++) /* xs row n·nph + a1·dw + a2: x's pixels (dh·i + a1, dw·j + a2) */
        for (int a1 = 0; a1 < dh; a1++)
            for (int a2 = 0; a2 < dw; a2++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                        for (int c = 0; c < C; c++)
                            xs[((size_t)(n * nph + a1 * dw + a2) * h * w + (size_t)(i * w + j)) * C + c] =
                                x[(size_t)n * d + ((size_t)(dh * i + a1) * W + (size_t)(dw * j + a2)) * C + c];
    ntkc_error err;
    ntkc_net *D = compile_or_fail(dilated, NTKC_BACKEND_TCC), *P = compile_or_fail(plain, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(D, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(P, m, xs, 0, NULL, ds, ks, kt, NULL, &err), 0, "%s", err.message);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double ms = 0, mt = 0;
            for (int a = 0; a < nph; a++)
                for (int b = 0; b < nph; b++) {
                    size_t e = (size_t)(i * nph + a) * m + (size_t)(j * nph + b);
                    ms += ks[e] / (nph * nph), mt += kt[e] / (nph * nph);
                }
            cr_expect(fabs(s[i * N + j] - ms) <= 1e-12 * (1 + fabs(ms)), "NNGP[%d,%d] %.17g vs phases %.17g\n%s", i,
                      j, s[i * N + j], ms, dilated);
            cr_expect(fabs(t[i * N + j] - mt) <= 1e-12 * (1 + fabs(mt)), "NTK[%d,%d] %.17g vs phases %.17g\n%s", i, j,
                      t[i * N + j], mt, dilated);
        }
    ntkc_net_free(D);
    ntkc_net_free(P);
    free(x), free(xs), free(ks), free(kt);
}

Test(conv, dilated_conv_is_the_plain_conv_on_each_phase, .timeout = TIMEOUT(60))
{
    check_phases("net d { input image(6, 4, 2); conv(3, 1.4, 0.1, dh=3, dw=2, padding=circular); relu\n"
                 "  conv(3, 1.3, 0.2, dh=3, dw=2, padding=circular); erf; global_avg_pool; dense(1.2, 0.1) }",
                 "net p { input image(2, 2, 2); conv(3, 1.4, 0.1, padding=circular); relu\n"
                 "  conv(3, 1.3, 0.2, padding=circular); erf; global_avg_pool; dense(1.2, 0.1) }",
                 6, 4, 2, 3, 2);
    check_phases("net d { input sequence(12, 3); conv(3, 1.4, 0.1, dilation=2); relu; conv(5, 1.3, dilation=2)\n"
                 "  relu; global_avg_pool; dense(1.1) }",
                 "net p { input sequence(6, 3); conv(3, 1.4, 0.1); relu; conv(5, 1.3)\n"
                 "  relu; global_avg_pool; dense(1.1) }",
                 1, 12, 3, 1, 2);
}
