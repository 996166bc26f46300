/* Image kernels (and branching vector nets) against the naive pixel-pair
 * reference of conv_reference.c, on both back ends, over every layer kind:
 * this is also the check that the same-pixel path of flatten nets and the
 * plane-by-plane path of pooled nets equal the full pair-by-pair recursion. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

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
