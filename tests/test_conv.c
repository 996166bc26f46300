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
