/* Global pooling, flatten, index and image_resize inside residual and fanout
 * branches (issue 21): a fanout on an image whose branches reduce it to
 * vectors ends the image part of the net (emit_image.c, emit_reduce_fanout;
 * the all-pairs back end per branch), image_resize is a linear map like
 * pooling, and a concat along the channels weights each branch by its share
 * of the units (a flattened P-pixel image has P times more; neural-tangents
 * weights FanInConcat by channel counts, and so do finite nets):
 *  - every entry against the pixel-pair reference (tests/conv_reference.c,
 *    which counts the units itself), both back ends for the first net;
 *  - identities that need no reference: global pooling, flatten, index and
 *    image_resize are linear, so applying them in every branch equals
 *    applying them after the fan-in; two equal summed branches are one with
 *    w_std·√2; a concat of equal branches is the branch; a concat of a pooled
 *    and a flattened branch is (K_pool + P·K_flat)/(1 + P);
 *  - the errors, at their positions.
 * Monte Carlo: tests/test_monte_carlo.c, branch_reduce_*. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_compare.h"
#include "net_internal.h"
#include "util.h"

enum { N = 4 };

static void kernels(const char *src, unsigned long long seed, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    size_t d = ntkc_net_ir(net)->input.dim;
    double *x = malloc(N * d * sizeof *x);
    fill_random(x, N * d, seed);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    free(x);
    ntkc_net_free(net);
}

/* The pair-by-pair reference (conv_reference.c) on N rows, tolerance 1e-11. */
static void check_reference(const char *src, unsigned long long seed, int both_backends)
{
    check_conv_reference(src, N, seed, both_backends, 1e-11);
}

Test(branch_reduce, image_nets_match_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        /* a pooled and a flattened branch joined along the channels (shares 1/10, 9/10) */
        "net a { input image(3, 3, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; global_avg_pool } branch { conv(3, 1.1, 0.2); flatten } } concat\n"
        "  dense(1.1, 0.1); relu; dense }",
        /* local pooling then global pooling and vector layers in a branch; a residual on vectors */
        "net b { input image(4, 4, 1); conv(3, 1.3); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; avg_pool(2, padding=same); global_avg_pool; dense(1.1); relu; dense } "
        "branch { conv(3, 1.4, stride=2); global_sum_pool; residual(alpha=0.6) { dense; relu; dense(0.9, 0.1) } } } sum\n"
        "  relu; dense }",
        /* a product of pooled vectors */
        "net p { input image(3, 4, 1); conv(3, 1.3, 0.1)\n"
        "  fanout { branch { conv(3, 1.2); global_avg_pool } branch { conv(2, 0.9, 0.3); global_sum_pool } } prod\n"
        "  dense; relu; dense }",
        /* the fanout first; a concat of vectors after it; the identity of a flattened image in a concat */
        "net f { input image(3, 3, 2)\n"
        "  fanout { branch { conv(3, 1.2); relu; conv(3); flatten } branch { conv(1, 1.3); global_avg_pool } } concat\n"
        "  dense; relu; fanout { branch { dense(1.2) } branch { } } concat; dense }",
        "net g { input image(3, 3, 1); conv(3, 1.2); relu; flatten; fanout { branch { dense } branch { } } concat; "
        "dense }",
        /* param standard: widths through the reductions (global pooling keeps C, flatten makes it C·H·W) */
        "net s { param standard; input image(3, 3, 2); conv(3, 1.3, 0.1, width=6); relu\n"
        "  fanout { branch { conv(3, 1.2, width=5); relu; global_avg_pool; dense(width=4) } branch { conv(3, "
        "width=4); global_sum_pool } } sum\n"
        "  relu; dense }",
        /* a reducing fanout nested in a branch */
        "net n { input image(4, 4, 1); conv(3, 1.3); relu\n"
        "  fanout { branch { conv(3); fanout { branch { avg_pool(2); conv(1); global_avg_pool } branch { conv(3, "
        "stride=2); flatten; dense } } sum; relu; dense } branch { conv(2, 1.1); relu; conv(1); global_sum_pool } } sum\n"
        "  dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 11 + i, i == 0);
}

Test(branch_reduce, resize_in_branches_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net r { input image(3, 3, 1); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); image_resize(5, 4) } branch { conv(2); image_resize(5, 4, method=nearest) } "
        "branch { image_resize(5, 4); conv(3, 1.1) } } sum\n"
        "  relu; residual { conv(3); image_resize(3, 2); image_resize(5, 4, antialias=false) }; flatten; dense }",
        "net s { input image(3, 3, 1); conv(3, 1.3)\n"
        "  fanout(axis=width) { branch { conv(3); image_resize(3, 5) } branch { } } concat\n"
        "  relu; conv(3); global_avg_pool; dense }",
        "net q { input sequence(5, 2); conv(3, 1.3, 0.1)\n"
        "  fanout { branch { conv(3); image_resize(1, 3) } branch { conv(2, stride=2) } } concat\n"
        "  conv(3); relu; global_avg_pool; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 21 + i, i == 0);
}

/* index puts a net on the all-pairs back end (with attention): its fanouts
 * reduce branch by branch there. */
Test(branch_reduce, all_pairs_nets_match_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net i { input sequence(6, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2); relu; conv(3); index(2) } branch { attention; global_avg_pool } "
        "branch { conv(1); flatten; dense } } sum\n"
        "  relu; dense }",
        "net j { input sequence(5, 2); conv(3, 1.3); relu\n"
        "  fanout { branch { attention; index(0) } branch { conv(3); flatten } } concat; dense }",
        "net k { input image(2, 3, 1); conv(3, 1.2); relu; fanout { branch { conv(1); index(4) } branch { conv(3); "
        "global_avg_pool } } prod; dense; relu; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 31 + i, i == 0);
}

static void expect_close(const char *what, const double *a, const double *b, double tol)
{
    for (size_t e = 0; e < N * N; e++)
        cr_expect(fabs(a[e] - b[e]) <= tol * fabs(b[e]) + 1e-300, "%s [%zu]: %.17g vs %.17g", what, e, a[e], b[e]);
}

static void expect_same_kernels(const char *a, const char *b, unsigned long long seed)
{
    double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    kernels(a, seed, s1, t1);
    kernels(b, seed, s2, t2);
    expect_close("NNGP", s1, s2, 1e-12);
    expect_close("NTK", t1, t2, 1e-12);
}

#define HEAD "net a { input image(4, 4, 1); conv(3, 1.3, 0.1); relu; "

Test(branch_reduce, linear_maps_commute_with_the_fan_in)
{
    /* global pooling, flatten, index, image_resize in each branch = after the sum */
    static const char *const tails[] = {"global_avg_pool", "global_sum_pool", "flatten", "image_resize(3, 5)"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char a[512], b[512];
        const char *more = i == 3 ? "; flatten" : "";
        snprintf(a, sizeof a,
                 HEAD "fanout { branch { conv(3, 1.1); %s } branch { avg_pool(3, stride=1, padding=same); conv(3, 1.4, "
                      "0.2); %s } } sum%s; dense }",
                 tails[i], tails[i], more);
        snprintf(b, sizeof b,
                 HEAD "fanout { branch { conv(3, 1.1) } branch { avg_pool(3, stride=1, padding=same); conv(3, 1.4, "
                      "0.2) } } sum; %s%s; dense }",
                 tails[i], more);
        expect_same_kernels(a, b, 1 + i);
    }
    expect_same_kernels("net a { input sequence(5, 2); conv(3, 1.3); relu; fanout { branch { conv(3, 1.2); index(3) } "
                        "branch { conv(1, 0.8, 0.3); index(3) } } sum; dense }",
                        "net a { input sequence(5, 2); conv(3, 1.3); relu; fanout { branch { conv(3, 1.2) } "
                        "branch { conv(1, 0.8, 0.3) } } sum; index(3); dense }",
                        5);
}

Test(branch_reduce, equal_branches)
{
    /* two equal fresh summed branches without bias: one with w_std·√2 */
    expect_same_kernels(HEAD "fanout { branch { conv(3, 1.1); global_avg_pool } branch { conv(3, 1.1); "
                             "global_avg_pool } } sum; dense }",
                        HEAD "conv(3, 1.5556349186104046); global_avg_pool; dense }", 6);
    /* concat of equal branches: the branch (equal shares) */
    expect_same_kernels(HEAD "fanout { branch { conv(3); flatten } branch { conv(3); flatten } } concat; dense }",
                        HEAD "conv(3); flatten; dense }", 7);
}

/* A pooled branch (C units) beside a flattened one (P·C units) along the
 * channels: the dense after them reads (K_pool + P·K_flat)/(1 + P), and a
 * dense(1, 0) is linear in both kernels. */
Test(branch_reduce, pooled_and_flattened_concat_weights_by_units)
{
    double sc[N * N], tc[N * N], sp[N * N], tp[N * N], sf[N * N], tf[N * N], s[N * N], t[N * N];
    kernels(HEAD "fanout { branch { conv(3, 1.2); global_avg_pool } branch { conv(3, 0.9, 0.1); flatten } } concat; "
                 "dense }",
            8, sc, tc);
    kernels(HEAD "conv(3, 1.2); global_avg_pool; dense }", 8, sp, tp);
    kernels(HEAD "conv(3, 0.9, 0.1); flatten; dense }", 8, sf, tf);
    for (size_t e = 0; e < N * N; e++)
        s[e] = (sp[e] + 16 * sf[e]) / 17, t[e] = (tp[e] + 16 * tf[e]) / 17;
    expect_close("NNGP", sc, s, 1e-12);
    expect_close("NTK", tc, t, 1e-12);
    ntkc_net *net = compile_or_fail(HEAD "fanout { branch { conv(3); global_avg_pool } branch { conv(3); flatten } } "
                                         "concat; dense }",
                                    NTKC_BACKEND_TCC);
    const IrFanout *f = &ntkc_net_ir(net)->ops[2].u.fanout;
    cr_expect_float_eq(f->branches[0].scale * f->branches[0].scale, 1.0 / 17, 1e-15);
    cr_expect_float_eq(f->branches[1].scale * f->branches[1].scale, 16.0 / 17, 1e-15);
    ntkc_net_free(net);
}

Test(branch_reduce, errors)
{
    expect_error(HEAD "fanout { branch { conv(3); global_avg_pool } branch { conv(3) } } sum; dense }", "1:101",
                 "branch 2 ends with shape 4×4 but branch 1 with vector: the branches of a fanout must agree");
    expect_error(HEAD "fanout { branch { conv(3); global_avg_pool } branch { conv(3); flatten } } sum; dense }",
                 "1:101",
                 "branch 2 of this 'fanout' outputs 16 times as many units as the net is wide but branch 1 units as "
                 "wide as the net: a sum of vectors needs equal widths");
    expect_error(HEAD "fanout { branch { conv(3); global_avg_pool } branch { conv(1); global_avg_pool } branch { "
                      "conv(3); flatten } } prod; dense }",
                 "1:137", "branch 3 of this 'fanout' outputs 16 times as many units as the net is wide but branch 1 units "
                          "as wide as the net: a product of vectors needs equal widths");
    expect_error(HEAD "fanout(axis=height) { branch { conv(3); global_avg_pool } branch { conv(3); global_avg_pool } "
                      "} concat; dense }",
                 "1:114", "branch 2 of this 'fanout(axis=height)' ends as a vector (after global pooling, flatten or "
                         "index): a concat along the height joins images");
    expect_error(HEAD "fanout { branch { global_avg_pool } branch { flatten } } concat; dense; fanout { branch { "
                      "global_avg_pool } branch { } } sum }",
                 "1:146", "'global_avg_pool' after 'flatten' at 1:101: the net works on vectors from there on");
    expect_error(HEAD "fanout { branch { global_avg_pool } branch { avg_pool(2); global_avg_pool } } sum; dense }",
                 "1:74",
                 "branch 1 of this 'fanout' sum ends in 'global_avg_pool': a sum of kernels needs independent "
                 "branches, so every branch but one must end in an affine layer (dense, conv or attention; pooling, "
                 "image_resize, flatten or index may follow it)");
    expect_error(HEAD "residual { conv(3); global_avg_pool }; dense }", "1:56",
                 "the residual block changes the shape from 4×4 to a vector");
}
