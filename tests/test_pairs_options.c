/* The all-pairs back end's options (issue 21; emit_attn.c, emit_attn_std.c,
 * lower_volume.c): param standard in nets with attention, masked inputs or
 * volumes, and volumes with layer_norm, residual/fanout, frozen conv and
 * attention. Checked here by identities against the image family (a
 * different back end, emit_image.c's planes, whose param standard has its own
 * tests): a masked image net given no padding, and a volume of one slice with
 * one-tap depth windows, are the image net; the NNGP does not depend on the
 * parameterization. Against an independent numpy recursion:
 * python/tests/test_pairs_options.py; Monte Carlo: tests/test_monte_carlo.c
 * (pairs_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 3 };

static void kernels(ntkc_net *net, const double *x, size_t dim, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, dim, s, t, NULL, &err), 0, "%s", err.message);
}

/* Nets a (the all-pairs back end) and b (the image planes) on the same
 * inputs of dim values: kernels within `tol` relative (their sums run in
 * different orders), or NNGPs only when ntk_too is 0. */
static double compare(const char *a_src, const char *b_src, size_t dim, IrFamily fb, int ntk_too)
{
    ntkc_net *a = compile_or_fail(a_src, NTKC_BACKEND_TCC), *b = compile_or_fail(b_src, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "the all-pairs back end:\n%s", a_src);
    cr_assert_eq(ntkc_net_ir(b)->family, fb, "the other net's family:\n%s", b_src);
    double *x = malloc(N * dim * sizeof *x), s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    cr_assert_not_null(x);
    fill_random(x, N * dim, 7);
    kernels(a, x, dim, s1, t1);
    kernels(b, x, dim, s2, t2);
    double d = max_rel_diff(s1, s2, N * N);
    if (ntk_too) {
        double dt = max_rel_diff(t1, t2, N * N);
        d = dt > d ? dt : d;
    }
    free(x);
    ntkc_net_free(a);
    ntkc_net_free(b);
    return d;
}


Test(pairs_options, standard_masked_image_net_without_padding_is_the_image_net)
{
    static const char *const body[][2] = {
        {"input image(3, 4, 2, masked=true)", "input image(3, 4, 2)"},
        {"input sequence(5, 3, masked=true)", "input sequence(5, 3)"},
    };
    static const char *const layers[] = {
        "conv(3, 1.3, 0.1, width=5); relu; dense(1.2, width=4); erf; conv(2, 1.1, padding=circular, width=3); relu; "
        "global_avg_pool; dense(1.0, 0.2, width=6); relu; dense(0.9)",
        "dense(1.2, 0.3, width=4); relu; residual(alpha=0.8) { conv(3, 1.1, width=4); relu; dense(1.3, 0.1, width=4) }; "
        "conv(2, 1.2, trainable=false, width=7); layer_norm; relu; flatten; dense(1.1, 0.1)",
    };
    for (size_t i = 0; i < 2; i++)
        for (size_t l = 0; l < 2; l++) {
            char a[1024], b[1024];
            snprintf(a, sizeof a, "net n { param standard; %s; %s }", body[i][0], layers[l]);
            snprintf(b, sizeof b, "net n { param standard; %s; %s }", body[i][1], layers[l]);
            double d = compare(a, b, i ? 15 : 24, IR_FAMILY_IMAGE, 1);
            cr_log_info("masked %zu/%zu: max relative difference %.3g", i, l, d);
            cr_expect(d < 1e-12, "relative difference %.3g between\n%s\nand the image net", d, a);
        }
}

Test(pairs_options, standard_volume_of_one_slice_is_the_image_net)
{
    double d = compare("net v { param standard; input volume(1, 4, 3, 2); conv(kd=1, kh=3, kw=3, w_std=1.4, b_std=0.1, width=5); "
                           "relu; conv(kd=1, kh=2, kw=2, stride=2, padding=valid, w_std=1.2, width=3); erf; flatten; "
                           "dense(1.1, 0.2, width=4); relu; dense(1.0) }",
                       "net i { param standard; input image(4, 3, 2); conv(3, 1.4, 0.1, width=5); relu; "
                           "conv(2, 1.2, stride=2, padding=valid, width=3); erf; flatten; dense(1.1, 0.2, width=4); "
                           "relu; dense(1.0) }",
                       24, IR_FAMILY_IMAGE, 1);
    cr_log_info("one slice, standard: %.3g", d);
    cr_expect(d < 1e-12, "relative difference %.3g", d);
    d = compare("net v { input volume(1, 3, 3, 2); conv(kd=1, kh=2, kw=2, w_std=1.3, b_std=0.1); layer_norm; relu; "
                "residual(alpha=0.6) { conv(kd=1, kh=3, kw=3, w_std=1.2); relu; "
                "conv(kd=1, kh=1, kw=2, w_std=1.1, trainable=false) }; "
                "fanout { branch { dense(1.2) } branch { dense(1.1, 0.2); relu; dense(0.9) } } prod; "
                "global_avg_pool; dense(1.0) }",
                "net i { input image(3, 3, 2); conv(2, 1.3, 0.1); layer_norm; relu; "
                "residual(alpha=0.6) { conv(3, 1.2); relu; conv(kh=1, kw=2, w_std=1.1, "
                "trainable=false) }; fanout { branch { dense(1.2) } branch { dense(1.1, 0.2); relu; dense(0.9) } } "
                "prod; global_avg_pool; dense(1.0) }",
                18, IR_FAMILY_IMAGE, 1);
    cr_log_info("one slice, layer_norm and branches: %.3g", d);
    cr_expect(d < 1e-12, "relative difference %.3g", d);
}

/* A volume of one slice with attention is the image net with attention (the
 * same back end, but the volume's 3-D window functions against the image's). */
Test(pairs_options, volume_attention_of_one_slice_is_the_image_net)
{
    double d = compare("net v { input volume(1, 3, 2, 2); conv(kd=1, kh=2, kw=2, w_std=1.3, b_std=0.1); relu; "
                       "attention(w_q=1.2, w_k=0.8, pos_emb=sum); conv(kd=1, kh=3, kw=1, w_std=1.1); relu; "
                       "attention(mechanism=abs); global_avg_pool; dense }",
                       "net i { input image(3, 2, 2); conv(2, 1.3, 0.1); relu; attention(w_q=1.2, w_k=0.8, pos_emb=sum); "
                       "conv(kh=3, kw=1, w_std=1.1); relu; attention(mechanism=abs); global_avg_pool; dense }",
                       12, IR_FAMILY_ATTENTION, 1);
    cr_expect(d < 1e-13, "relative difference %.3g", d);
}

/* attention keeps neural-tangents' NTK parameterization inside: under param
 * standard the NNGP is the param ntk net's, bit for bit. */
Test(pairs_options, standard_attention_keeps_the_nngp)
{
    double d = compare("net a { param standard; input sequence(4, 3); dense(1.2, 0.1, width=6); relu; "
                           "attention(w_q=1.1, b_std=0.2, width=5); relu; conv(3, 1.3, width=4); relu; "
                           "global_avg_pool; dense(1.1) }",
                       "net a { input sequence(4, 3); dense(1.2, 0.1); relu; attention(w_q=1.1, b_std=0.2); relu; "
                       "conv(3, 1.3); relu; global_avg_pool; dense(1.1) }",
                       12, IR_FAMILY_ATTENTION, 0);
    cr_expect(d == 0.0, "NNGPs differ by %.3g", d);
}

Test(pairs_options, refusals_name_the_layer_and_position)
{
    expect_error("net a { input sequence(4, 3); dense; attention(width=4); global_avg_pool; dense }", "1:48",
                 "'width' only applies to 'param standard'");
    expect_error("net a { param standard; input sequence(4, 3); dense(width=3); attention; relu; global_avg_pool; dense }",
                 "1:63", "missing required argument 'width' for 'attention': under param standard every dense or conv "
                         "layer except the last needs width=N (its output channels); so does attention");
    expect_error("net a { param standard; input sequence(4, 3); dense(width=3); residual { relu; attention }; "
                 "global_avg_pool; dense }",
                 "1:80", "missing required argument 'width' for 'attention': under param standard every dense or conv "
                         "layer inside a residual or fanout block needs width=N; so does attention");
    expect_error("net a { param standard; input sequence(4, 3); dense(width=3); attention(width=5); "
                 "residual { relu; dense(width=4) }; global_avg_pool; dense }",
                 "1:83", "under param standard the branches of this 'residual' must end with equal widths");
}

/* image_resize in a net with attention against the image family's: softmax
 * attention with w_q = 0 weighs every key alike (A = 1/P everywhere), so after
 * global_avg_pool it is global_avg_pool; dense(w_v); dense(w_out, b_std) —
 * the resize and the conv after it on the all-pairs matrices, the rest on
 * the image planes. */
Test(pairs_options, resize_then_uniform_attention_is_the_image_net)
{
    static const char *const pre[] = {
        "input image(3, 4, 2); conv(3, 1.3, 0.1); relu; image_resize(5, 3); conv(2, 1.2, padding=circular); relu",
        "input image(4, 4, 1); conv(2, 1.4); erf; image_resize(2, 3, method=nearest); conv(3, 1.1, 0.2); relu",
        "input sequence(5, 2); conv(3, 1.2); relu; image_resize(1, 3); conv(2, 1.3); relu; image_resize(1, 7, "
        "antialias=false); conv(3, 1.1)",
    };
    static const size_t dims[] = {24, 16, 10};
    for (size_t i = 0; i < 3; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "net r { %s; attention(w_q=0, w_v=1.1, w_out=0.9, b_std=0.2); global_avg_pool; dense(1.1) }",
                 pre[i]);
        snprintf(b, sizeof b, "net r { %s; global_avg_pool; dense(1.1); dense(0.9, 0.2); dense(1.1) }", pre[i]);
        double d = compare(a, b, dims[i], IR_FAMILY_IMAGE, 1);
        cr_log_info("resize %zu: max relative difference %.3g", i, d);
        cr_expect(d < 1e-12, "relative difference %.3g between\n%s\nand\n%s", d, a, b);
    }
}

/* conv_local in a masked net given no padding (the all-pairs back end) is the
 * image net's (ntkc_cvar4 on the image planes). */
Test(pairs_options, masked_conv_local_without_padding_is_the_image_net)
{
    static const char *const body[][2] = {
        {"input image(4, 3, 2, masked=true)", "input image(4, 3, 2)"},
        {"input sequence(6, 2, masked=true)", "input sequence(6, 2)"},
    };
    static const char *const layers = "conv(2, 1.3, 0.1); relu; conv_local(3, 1.2, 0.2); relu; "
                                      "conv_local(2, 1.1, padding=circular, trainable=false); erf; conv(2, 1.4); "
                                      "relu; global_avg_pool; dense(1.1)";
    for (size_t i = 0; i < 2; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "net n { %s; %s }", body[i][0], layers);
        snprintf(b, sizeof b, "net n { %s; %s }", body[i][1], layers);
        double d = compare(a, b, 24 - 12 * i, IR_FAMILY_IMAGE, 1);
        cr_log_info("conv_local %zu: max relative difference %.3g", i, d);
        cr_expect(d < 1e-12, "relative difference %.3g between\n%s\nand the image net", d, a);
    }
}
