/* conv_transpose and conv_local under param standard on images and
 * sequences (neural-tangents' ConvTranspose/ConvLocal(parameterization=
 * 'standard'): its _Conv is one code for the three convs, fan_in = C·kh·kw,
 *   Σ' = w²/|F|·K(Σ) + b²,  Θ' = C·K(Σ) + w²/|F|·K(Θ) (+1 with a bias),
 * K the layer's tap sum on both pixels, conv_local's on same-pixel pairs only):
 *  - every entry against the pixel-pair reference (conv_reference.c, entry by
 *    entry from the definitions; it takes the fan-in from the IR, so the
 *    fan-ins are checked by python/tests/test_stax_conv_variants_std.py's
 *    numpy references, which track the channels themselves), both back ends,
 *    every padding, strides that do not divide, variances far from 1;
 *  - identities: a 1×1 stride-1 conv_transpose is the 1×1 conv; conv_local's
 *    kernel is the conv's on same-pixel pairs, which is all flatten reads; a
 *    masked input without padding (the all-pairs back end) is the image back
 *    end's net;
 *  - the errors. Monte Carlo: test_monte_carlo.c,
 *    conv_variants_standard_within_their_standard_errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_compare.h"
#include "util.h"

enum { N = 4 };

static void kernels(const char *src, size_t d, const double *x, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

/* The two nets' kernels on the same inputs agree to tol (relative to the largest entry). */
static void expect_same_kernels(const char *a, const char *b, size_t d, unsigned long long seed, double tol)
{
    double *x = malloc(N * d * sizeof *x), s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * d, seed);
    kernels(a, d, x, s1, t1);
    kernels(b, d, x, s2, t2);
    double ws = max_rel_diff(s1, s2, N * N), wt = max_rel_diff(t1, t2, N * N);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "identity: NNGP %.3g, NTK %.3g\n%s\n%s\n", ws, wt, a, b);
    cr_expect_leq(ws, tol, "NNGP %g\n%s\n%s", ws, a, b);
    cr_expect_leq(wt, tol, "NTK %g\n%s\n%s", wt, a, b);
    free(x);
}

Test(conv_variants_std, every_padding_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const pads[] = {"same", "valid", "circular"};
    char src[640];
    for (int p = 0; p < 3; p++) {
        snprintf(src, sizeof src,
                 "net t { param standard; input image(3, 4, 2); conv(2, 1.3, 0.2, width=5); relu\n"
                 "  conv_transpose(kh=3, kw=2, sh=2, sw=3, w_std=2.3, b_std=0.9, padding=%s, width=4); relu\n"
                 "  conv_local(kh=2, kw=3, sh=2, sw=2, w_std=0.45, b_std=1.6, padding=%s, width=3); erf\n"
                 "  global_avg_pool; dense(1.1) }",
                 pads[p], pads[p]);
        check_conv_reference(src, N, 31 + p, p == 1, 1e-13);
        snprintf(src, sizeof src,
                 "net s { param standard; input sequence(5, 2); conv_transpose(4, 1.9, 0.4, stride=3, padding=%s,\n"
                 "  width=6); relu; conv_local(3, 0.7, stride=2, padding=%s, width=4); relu\n"
                 "  conv_transpose(2, 1.2, 0.3, stride=2, padding=%s, width=3, trainable=false); flatten; dense }",
                 pads[p], pads[(p + 1) % 3], pads[(p + 2) % 3]);
        check_conv_reference(src, N, 41 + p, 0, 1e-13);
    }
}

/* One tap, stride 1: lax.conv_transpose is the conv, kernels, fan-in term and bias included. */
Test(conv_variants_std, one_tap_transpose_is_the_one_tap_conv)
{
    static const char *const pads[] = {"same", "valid", "circular"};
    char a[320], b[320];
    for (int p = 0; p < 3; p++) {
        const char *head = "net v { param standard; input image(3, 4, 2); conv(2, 1.3, 0.1, width=6); relu\n";
        snprintf(a, sizeof a, "%s  conv_transpose(1, 2.1, 0.7, padding=%s, width=5); erf; global_avg_pool; dense }",
                 head, pads[p]);
        snprintf(b, sizeof b, "%s  conv(1, 2.1, 0.7, padding=%s, width=5); erf; global_avg_pool; dense }", head,
                 pads[p]);
        expect_same_kernels(a, b, 3 * 4 * 2, 51 + p, 1e-13);
    }
}

/* conv_local's kernel is the conv's on same-pixel pairs, fan-in term and bias included (neural-tangents'
 * _conv_kernel_full_spatial_unshared: "the same outputs on the spatial diagonal"); an activation keeps that
 * diagonal to itself and flatten reads nothing else. */
Test(conv_variants_std, local_is_the_conv_on_the_same_pixels)
{
    const char *a = "net l { param standard; input image(4, 3, 2); conv(2, 1.3, 0.1, width=6); relu\n"
                    "  conv_local(kh=3, kw=2, sh=2, sw=1, w_std=1.9, b_std=0.6, padding=circular, width=5); relu\n"
                    "  flatten; dense(1.2, 0.3) }";
    const char *b = "net l { param standard; input image(4, 3, 2); conv(2, 1.3, 0.1, width=6); relu\n"
                    "  conv(kh=3, kw=2, sh=2, sw=1, w_std=1.9, b_std=0.6, padding=circular, width=5); relu\n"
                    "  flatten; dense(1.2, 0.3) }";
    expect_same_kernels(a, b, 4 * 3 * 2, 61, 1e-13);
}

/* A masked sequence without padding runs on the all-pairs back end (emit_attn.c's conv_local under param
 * standard) and must give the image back end's kernels. */
Test(conv_variants_std, local_on_the_all_pairs_back_end_is_the_image_back_ends)
{
    const char *body = "conv(2, 1.3, 0.1, width=6); relu; conv_local(3, 1.7, 0.5, padding=circular, width=5); relu\n"
                       "  conv_local(2, 0.8, width=4, trainable=false); erf; global_avg_pool; dense(1.1) }";
    char a[400], b[400];
    snprintf(a, sizeof a, "net m { param standard; input sequence(5, 2, masked=true); %s", body);
    snprintf(b, sizeof b, "net m { param standard; input sequence(5, 2); %s", body);
    expect_same_kernels(a, b, 5 * 2, 71, 1e-13);
}

Test(conv_variants_std, errors_name_the_layer)
{
    expect_error("net v { input image(3, 3, 2); conv_local(2, width=4); relu; global_avg_pool; dense }", "1:45",
                 "'width' only applies to 'param standard'");
    expect_error("net v { param standard; input image(3, 3, 2); conv_transpose(2); relu; global_avg_pool; dense }",
                 "1:47", "missing required argument 'width' for 'conv_transpose'");
    expect_error("net v { param standard; input sequence(4, 2); conv(2, width=3)\n"
                 "  residual { relu; conv_local(1) }; relu; global_avg_pool; dense }",
                 "2:20", "missing required argument 'width' for 'conv_local'");
    expect_error("net v { param standard; input sequence(4, 2, masked=true); conv_transpose(2, width=4); relu\n"
                 "  global_avg_pool; dense }",
                 "1:60", "not conv_transpose");
}
