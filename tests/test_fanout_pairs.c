/* Fanouts on pixel-pair arrays (compiler/ir/ir_fanout.h): pooling,
 * conv_transpose and conv_local inside residual and fanout branches, and
 * fanout(axis=height|width) … concat (neural-tangents' FanInConcat on a
 * spatial axis):
 *  - every entry against the pixel-pair reference (tests/conv_reference.c,
 *    which walks the branches over full pixel-pair arrays and writes the
 *    spatial concat from its definition), both back ends;
 *  - identities that need no reference: a channel concat of two equal pooled
 *    branches is the pooled net; a sum of two equal conv+pool branches is one
 *    branch with w_std·√2; a width concat of two equal branches flattens to
 *    the branch and globally pools to half of it; a height concat of two
 *    identity branches (the exact cross blocks) globally pools to the input;
 *  - the errors. Monte Carlo: tests/test_monte_carlo.c, image_fanout_pairs_*. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_compare.h"
#include "net_internal.h"
#include "util.h"

enum { N = 4 };

/* NNGP and NTK of N random inputs of net src (dim from its IR). */
static size_t kernels(const char *src, ntkc_backend backend, unsigned long long seed, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, backend);
    size_t d = ntkc_net_ir(net)->input.dim;
    double *x = malloc(N * d * sizeof *x);
    fill_random(x, N * d, seed);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    free(x);
    ntkc_net_free(net);
    return d;
}

static void check_reference(const char *src, unsigned long long seed, int both_backends)
{
    check_conv_reference(src, N, seed, both_backends, 1e-11);
}

Test(fanout_pairs, pooling_in_branches_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        /* every fan-in; a pool before and after the branch's affine layer */
        "net a { input image(4, 4, 2); conv(3, 1.3, 0.1); relu\n"
        "  fanout { branch { conv(3, 1.2, 0.1); avg_pool(2) } branch { avg_pool(2); conv(3, 1.4) } } sum\n"
        "  relu; flatten; dense(1.1) }",
        "net p { input image(4, 5, 1); conv(3, 1.3, 0.1)\n"
        "  fanout { branch { sum_pool(2, stride=1, padding=same); conv(2, 1.2) } branch { } } prod\n"
        "  conv(3); relu; global_avg_pool; dense }",
        "net c { input image(5, 4, 2); conv(3, 1.3); erf\n"
        "  fanout { branch { avg_pool(3, stride=2, padding=circular) } branch { conv(3, 1.1, stride=2) } "
        "branch { sum_pool(kh=1, kw=2, sh=2, sw=2, padding=same); conv(1) } } concat\n"
        "  conv(3, 1.2, 0.1); relu; global_avg_pool; dense }",
        /* a residual keeping the grid, a plane fanout nested in a branch */
        "net r { input image(4, 4, 1); conv(3, 1.4, 0.1)\n"
        "  residual(alpha=0.7) { relu; conv(3, 1.2); avg_pool(3, stride=1, padding=same) }\n"
        "  fanout { branch { relu; fanout { branch { conv(3) } branch { } } sum; avg_pool(2); conv(1) } "
        "branch { erf; avg_pool(2); conv(1) } } sum\n"
        "  relu; flatten; dense }",
        /* nested fanouts on pixel pairs; a sequence */
        "net n { input sequence(8, 2); conv(3, 1.3, 0.1)\n"
        "  fanout { branch { fanout { branch { avg_pool(2); conv(3) } branch { conv(2, stride=2) } } concat; conv(1); relu; "
        "conv(3) } branch { sum_pool(2); conv(1, 0.9) } } sum\n"
        "  relu; global_avg_pool; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 31 + i, i == 0);
}

Test(fanout_pairs, conv_variants_in_branches_match_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net t { input image(3, 4, 2); conv(3, 1.3, 0.1)\n"
        "  residual { relu; conv_transpose(3, 1.2, 0.1); relu; conv_local(3, 1.4, 0.2) }; relu; flatten; dense }",
        "net u { input image(3, 3, 1); conv(3, 1.3)\n"
        "  fanout { branch { conv_transpose(2, 1.2, stride=2) } branch { relu; conv_transpose(3, stride=2, "
        "padding=valid); avg_pool(kh=2, kw=2, stride=1, padding=valid) } } sum\n"
        "  relu; global_avg_pool; dense }",
        "net l { input sequence(6, 2); conv(3, 1.3, 0.1, padding=circular)\n"
        "  fanout { branch { conv_local(3, 1.1, 0.1, padding=circular) } branch { erf; conv(3, dilation=2) } } prod\n"
        "  conv(1); relu; flatten; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 41 + i, i == 0);
}

Test(fanout_pairs, spatial_concat_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net h { input image(3, 4, 2); conv(3, 1.3, 0.1)\n"
        "  fanout(axis=height) { branch { conv(3, 1.2, 0.1) } branch { } branch { relu; conv(2, 1.4, stride=2, "
        "padding=valid); conv_transpose(kh=1, kw=2, sh=1, sw=2) } branch { } } concat\n"
        "  relu; conv(3, 1.1); relu; global_avg_pool; dense }",
        "net w { input image(3, 2, 1); conv(3, 1.3)\n"
        "  fanout(axis=width) { branch { } branch { erf; conv(3); avg_pool(kh=1, kw=2) } } concat\n"
        "  relu; conv(3, padding=circular); relu; flatten; dense }",
        "net s { input sequence(4, 2); conv(3, 1.3, 0.1)\n"
        "  fanout(axis=width) { branch { conv_transpose(2, stride=2) } branch { } } concat\n"
        "  erf; conv(3, stride=2); relu; global_avg_pool; dense }",
        /* a spatial concat inside a residual's branch, then summed back to the input's shape */
        "net r { input image(4, 2, 1); conv(3, 1.2)\n"
        "  fanout { branch { fanout(axis=height) { branch { avg_pool(kh=2, kw=1) } branch { relu; conv(kh=2, kw=1, "
        "sh=2, sw=1, padding=valid) } } concat; conv(1) } branch { } } sum\n"
        "  relu; flatten; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 51 + i, i == 0);
}

/* param standard (neural-tangents' parameterization='standard') through
 * branches: the fan-ins each branch's layers read and the fan-in's width. */
Test(fanout_pairs, standard_param_branches_match_reference, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net s { param standard; input image(4, 4, 2); conv(3, 1.3, 0.1, width=6); relu\n"
        "  residual(alpha=0.8) { conv(3, 1.2, width=6); relu; conv(3, 1.1, 0.1, width=6) }\n"
        "  fanout { branch { conv(3, 1.2, width=4); avg_pool(2) } branch { avg_pool(2); conv(1, 1.4, 0.2, width=4) } }"
        " concat\n"
        "  conv(3, width=5); relu; flatten; dense(1.1) }",
        "net h { param standard; input image(3, 4, 2); conv(3, 1.3, 0.1, width=3)\n"
        "  fanout(axis=height) { branch { relu; conv(3, 1.2, 0.1, width=3) } branch { } } concat\n"
        "  relu; conv(2, 1.1, width=4); relu; global_avg_pool; dense(1.2, 0.1) }",
        "net p { param standard; input sequence(6, 2); conv(3, 1.3, 0.1, width=5)\n"
        "  fanout { branch { conv(3, 1.1, 0.1, width=5) } branch { } } prod\n"
        "  conv(1, width=3); relu; fanout { branch { dense(1.2, width=3) } branch { dense(0.9, 0.3, width=3) } } sum\n"
        "  erf; flatten; dense }",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        check_reference(nets[i], 61 + i, i == 0);
}

static void expect_close(const char *what, const double *a, const double *b, double factor, double tol)
{
    for (size_t e = 0; e < N * N; e++)
        cr_expect(fabs(a[e] - factor * b[e]) <= tol * fabs(factor * b[e]) + 1e-300, "%s [%zu]: %.17g vs %.17g", what,
                  e, a[e], factor * b[e]);
}

static void expect_same_kernels(const char *a, const char *b, double factor, unsigned long long seed)
{
    double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    kernels(a, NTKC_BACKEND_TCC, seed, s1, t1);
    kernels(b, NTKC_BACKEND_TCC, seed, s2, t2);
    expect_close("NNGP", s1, s2, factor, 1e-12);
    expect_close("NTK", t1, t2, factor, 1e-12);
}

Test(fanout_pairs, identities)
{
    /* concat along channels of two equal branches: the mean of equal kernels */
    expect_same_kernels(
        "net a { input image(4, 4, 1); conv(3, 1.3); relu; fanout { branch { avg_pool(2) } branch { avg_pool(2) } } "
        "concat; conv(3); relu; flatten; dense }",
        "net b { input image(4, 4, 1); conv(3, 1.3); relu; avg_pool(2); conv(3); relu; flatten; dense }", 1.0, 1);
    /* a sum of two equal fresh branches (no bias): twice one, i.e. w_std·√2 */
    expect_same_kernels("net a { input image(4, 4, 1); conv(3, 1.3); relu; fanout { branch { conv(3, 1.1); "
                        "avg_pool(2) } branch { conv(3, 1.1); avg_pool(2) } } sum; relu; flatten; dense }",
                        "net b { input image(4, 4, 1); conv(3, 1.3); relu; conv(3, 1.5556349186104046); avg_pool(2); "
                        "relu; flatten; dense }",
                        1.0, 2);
    /* width concat of two equal fresh branches: flatten averages the
     * same-pixel pairs (all inside a branch), so it is the branch; global
     * pooling averages all pairs, half of which (across branches) are zero */
    expect_same_kernels("net a { input image(3, 4, 1); conv(3, 1.3); relu; fanout(axis=width) { branch { conv(3) } "
                        "branch { conv(3) } } concat; flatten; dense }",
                        "net b { input image(3, 4, 1); conv(3, 1.3); relu; conv(3); flatten; dense }", 1.0, 3);
    expect_same_kernels("net a { input image(3, 4, 1); conv(3, 1.3); relu; fanout(axis=width) { branch { conv(3) } "
                        "branch { conv(3) } } concat; global_avg_pool; dense }",
                        "net b { input image(3, 4, 1); conv(3, 1.3); relu; conv(3); global_avg_pool; dense }", 0.5, 4);
    /* height concat of two identity branches: [x; x] pooled is x pooled, which
     * needs the cross blocks between the branches (neural-tangents' zero
     * blocks would give half) */
    expect_same_kernels("net a { input image(3, 4, 2); conv(3, 1.3); fanout(axis=height) { branch { } branch { } } "
                        "concat; global_avg_pool; dense }",
                        "net b { input image(3, 4, 2); conv(3, 1.3); global_avg_pool; dense }", 1.0, 5);
}

/* The NNGP does not depend on the parameterization; the NTK does. */
Test(fanout_pairs, standard_param_nngp_is_the_ntk_params)
{
    double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    kernels("net s { param standard; input image(4, 4, 2); conv(3, 1.3, 0.1, width=6); relu\n"
            "  fanout { branch { conv(3, 1.2, width=4); avg_pool(2) } branch { avg_pool(2); conv(1, 1.4, 0.2, "
            "width=4) } } sum; relu; flatten; dense(1.1) }",
            NTKC_BACKEND_TCC, 7, s1, t1);
    kernels("net s { input image(4, 4, 2); conv(3, 1.3, 0.1); relu\n"
            "  fanout { branch { conv(3, 1.2); avg_pool(2) } branch { avg_pool(2); conv(1, 1.4, 0.2) } } sum; relu; "
            "flatten; dense(1.1) }",
            NTKC_BACKEND_TCC, 7, s2, t2);
    expect_close("NNGP", s1, s2, 1.0, 1e-13);
    for (size_t e = 0; e < N * N; e++)
        cr_expect(fabs(t1[e] - t2[e]) > 0.1 * fabs(t2[e]), "NTK [%zu] %.17g vs %.17g", e, t1[e], t2[e]);
}

Test(fanout_pairs, ir_prints_the_axis)
{
    ntkc_net *net = compile_or_fail("net a { input image(3, 4, 1); conv(3); fanout(axis=width) { branch { conv(1) } "
                                    "branch { } } concat; flatten; dense }",
                                    NTKC_BACKEND_TCC);
    const IrOp *op = &ntkc_net_ir(net)->ops[1];
    cr_expect_eq(op->kind, IR_FANOUT);
    cr_expect_eq(op->u.fanout.axis, IR_CONCAT_WIDTH);
    cr_expect(op->out.h == 3 && op->out.w == 8, "3×8, got %zu×%zu", op->out.h, op->out.w);
    ntkc_net_free(net);
}

Test(fanout_pairs, errors)
{
    /* the net's own input beside infinitely wide branches in a channel
     * concat: finitely many channels, no exact weight (lower_branch.c);
     * the same after a pool, and for vectors; a spatial concat
     * of it keeps its own kernel (checked against finite nets above) */
    expect_error("net e { input image(3, 3, 2); fanout { branch { conv(3) } branch { } } concat; global_avg_pool; "
                 "dense }",
                 "1:59", "branch 2 of this channel concat is the net's input (no dense or conv layer on its way)");
    expect_error("net e { input image(4, 4, 2); avg_pool(2); fanout { branch { } branch { conv(1) } } concat; "
                 "flatten; dense }",
                 "1:53", "branch 1 of this channel concat is the net's input");
    expect_error("net e { fanout { branch { dense } branch { } } concat; dense }", "1:35",
                 "branch 2 of this channel concat is the net's input");
    expect_error("net e { input image(3, 4, 1); conv(3); fanout(axis=height) { branch { conv(1) } branch { "
                 "avg_pool(2); conv(1) } } concat; flatten; dense }",
                 "1:81", "branch 2 ends with shape 1×2 but branch 1 with 3×4: the branches of a fanout must agree in "
                         "width (concat along height)");
    expect_error("net e { input image(3, 4, 1); conv(3); fanout(axis=width) { branch { conv(1) } branch { } } sum; "
                 "flatten; dense }",
                 "1:47", "'axis' applies to 'fanout { ... } concat' only");
    expect_error("net e { dense; fanout(axis=height) { branch { dense } branch { } } concat; dense }", "1:23",
                 "'fanout(axis=height)' needs an image input");
    expect_error("net e { input image(3, 4, 1); conv(3); fanout(axis=depth) { branch { conv(1) } branch { } } concat; "
                 "flatten; dense }",
                 "1:47", "'fanout(axis=depth)' joins volumes (input volume(D, H, W, C)); this fanout's input is an "
                         "image without slices");
    expect_error("net e { input image(3, 4, 1); conv(3); fanout(axis=time) { branch { conv(1) } branch { } } concat; "
                 "flatten; dense }",
                 "1:52", "unknown axis 'time' for 'fanout' (one of: channels, height, width, depth)");
    expect_error("net e { input image(3, 4, 1); conv(3); fanout(axis=width) { branch { conv(1); relu } branch { } } "
                 "concat; flatten; dense }",
                 "1:79", "branch 1 of this 'fanout' spatial concat ends in 'relu'");
    expect_error("net e { input image(4, 4, 1); conv(3); fanout { branch { avg_pool(2) } branch { erf; avg_pool(2) "
                 "} } sum; flatten; dense }",
                 "1:58", "branch 1 of this 'fanout' sum ends in 'avg_pool': a sum of kernels needs independent branches, "
                         "so every branch but one must end in an affine layer");
    expect_error("net e { param standard; input image(4, 4, 1); conv(3, width=4); fanout { branch { conv(1) } "
                 "branch { } } sum; flatten; dense }",
                 "1:83", "missing required argument 'width' for 'conv': under param standard every dense or conv "
                         "layer inside a residual or fanout block needs width=N");
    expect_error("net e { param standard; residual { dense(width=3) }; dense }", "1:25",
                 "'residual' on the net's vector input under param standard");
    expect_error("net e { input image(4, 4, 1); conv(3); residual { conv(3); global_avg_pool }; dense }", "1:40",
                 "the residual block changes the shape from 4×4 to a vector: x + f(x) needs equal shapes");
    expect_error("net e { input image(4, 4, 1); conv(3); fanout { branch { conv(1); avg_pool(3, stride=1, padding=same) } branch { "
                 "conv(1) } } sum; attention; global_avg_pool; dense }",
                 "1:40", "nets with attention or masked inputs take fanouts that keep the grid");
}
