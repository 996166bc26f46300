/* conv_transpose and conv_local (neural-tangents' ConvTranspose, ConvLocal):
 *  - every entry against the pixel-pair reference (conv_reference.c, written
 *    from the definitions entry by entry), both back ends, every padding,
 *    strides that do not divide, sequences;
 *  - identities that need no reference: conv_local's kernel equals the conv's
 *    on same-pixel pairs (flatten reads only those) and is zero elsewhere
 *    (global pooling then divides by P); conv_transpose at stride 1 with an
 *    odd window is the conv (padding same and circular);
 *  - shapes as lax.conv_transpose pads, and the errors;
 *  - the finite layers' forward tangent against their backward pass
 *    (<J·v, g> = <v, Jᵀ·g>), which `ntkc train` uses. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_compare.h"
#include "finite_model.h"
#include "net_internal.h"
#include "util.h"

enum { N = 4 };

static void kernels(const char *src, ntkc_backend backend, size_t d, const double *x, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, backend);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

/* Both back ends when both_backends, else libtcc (the cc back end compiles
 * the same text: test_conv.c checks they agree bit for bit). */
static void check_reference(const char *src, unsigned long long seed, int both_backends)
{
    check_conv_reference(src, N, seed, both_backends, 1e-11);
}

Test(conv_variants, transpose_every_padding_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const pads[] = {"same", "valid", "circular"};
    char src[512];
    for (int p = 0; p < 3; p++) {
        snprintf(src, sizeof src,
                 "net t { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2, padding=%s); relu\n"
                 "  conv_transpose(kh=2, kw=3, sh=3, sw=2, w_std=1.3, b_std=0.2, padding=%s); erf; global_avg_pool; "
                 "dense(1.2) }",
                 pads[p], pads[(p + 1) % 3]);
        check_reference(src, 11 + p, p == 0);
        snprintf(src, sizeof src,
                 "net s { input sequence(5, 2); conv_transpose(4, 1.4, 0.1, stride=3, padding=%s); relu\n"
                 "  avg_pool(2); conv(3, 1.2); relu; conv_transpose(2, 1.1, stride=2, padding=%s); flatten; dense }",
                 pads[p], pads[(p + 2) % 3]);
        check_reference(src, 21 + p, 0);
    }
}

Test(conv_variants, local_every_padding_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const pads[] = {"same", "valid", "circular"};
    char src[512];
    for (int p = 0; p < 3; p++) {
        snprintf(src, sizeof src,
                 "net l { input image(5, 4, 2); conv(3, 1.3, 0.1); relu; conv_local(3, 1.4, 0.2, stride=2, padding=%s)\n"
                 "  relu; conv_local(kh=2, kw=1, w_std=1.2, b_std=0.1, padding=%s); erf; global_avg_pool; dense(1.1) }",
                 pads[p], pads[(p + 1) % 3]);
        check_reference(src, 31 + p, p == 0);
        snprintf(src, sizeof src,
                 "net q { input sequence(7, 3); conv_local(3, 1.4, 0.1, stride=3, padding=%s); relu\n"
                 "  conv_transpose(3, 1.2, stride=2); relu; global_sum_pool; dense }",
                 pads[p]);
        check_reference(src, 41 + p, 0);
    }
}

/* conv_local then flatten (same-pixel pairs only) is conv then flatten, at
 * every padding, stride and window (size 1 included), on both back ends. */
Test(conv_variants, local_equals_conv_on_same_pixel_pairs, .timeout = TIMEOUT(300))
{
    static const char *const args[] = {"1, 1.4, 0.1", "3, 1.4, 0.2, stride=2, padding=valid",
                                       "3, 1.3, 0.1, stride=2, padding=circular", "kh=2, kw=3, sh=3, sw=2, w_std=1.2"};
    enum { D = 5 * 6 * 2 };
    double x[N * D];
    fill_random(x, N * D, 5);
    for (size_t a = 0; a < sizeof args / sizeof args[0]; a++)
        for (int be = 0; be < (a == 0 ? 2 : 1); be++) {
            char local[512], conv[512];
            const char *fmt = "net n { input image(5, 6, 2); conv(3, 1.3, 0.1); relu; %s(%s); relu; flatten; dense(1.1) }";
            snprintf(local, sizeof local, fmt, "conv_local", args[a]);
            snprintf(conv, sizeof conv, fmt, "conv", args[a]);
            double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
            kernels(local, be ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC, D, x, s1, t1);
            kernels(conv, be ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC, D, x, s2, t2);
            cr_expect_leq(max_rel_diff(s1, s2, N * N), 1e-13, "NNGP: %s", local);
            cr_expect_leq(max_rel_diff(t1, t2, N * N), 1e-13, "NTK: %s", local);
        }
}

/* conv_local's pairs of different pixels are zero: global average pooling
 * (all P² pairs) gives 1/P of flatten (the P same-pixel pairs). */
Test(conv_variants, local_different_pixels_are_independent)
{
    enum { D = 4 * 4 * 3, P = 4 };
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 6);
    kernels("net a { input image(4, 4, 3); conv(3, 1.3, 0.1); relu; conv_local(3, 1.4, 0.3, stride=2)\n"
            "  global_avg_pool; dense(1.0) }",
            NTKC_BACKEND_TCC, D, x, s1, t1);
    kernels("net b { input image(4, 4, 3); conv(3, 1.3, 0.1); relu; conv(3, 1.4, 0.3, stride=2); flatten; dense(1.0) }",
            NTKC_BACKEND_TCC, D, x, s2, t2);
    for (size_t e = 0; e < N * N; e++) {
        cr_expect(fabs(s1[e] * P - s2[e]) <= 1e-13 * fabs(s2[e]), "NNGP %zu: %.17g·P vs %.17g", e, s1[e], s2[e]);
        cr_expect(fabs(t1[e] * P - t2[e]) <= 1e-13 * fabs(t2[e]), "NTK %zu: %.17g·P vs %.17g", e, t1[e], t2[e]);
    }
}

/* At stride 1 with an odd window lax pads the transposed conv by (k − 1)/2 on
 * each side, as the conv: the kernels are the conv's (same and circular). */
Test(conv_variants, transpose_stride_one_is_the_conv, .timeout = TIMEOUT(120))
{
    static const char *const pads[] = {"same", "circular"};
    enum { D = 5 * 4 * 2 };
    double x[N * D];
    fill_random(x, N * D, 7);
    for (int p = 0; p < 2; p++) {
        char a[512], b[512];
        const char *fmt = "net n { input image(5, 4, 2); %s(3, 1.4, 0.1, padding=%s); relu; %s(kh=5, kw=1, w_std=1.2, "
                          "padding=%s); erf; global_avg_pool; dense(1.1) }";
        snprintf(a, sizeof a, fmt, "conv_transpose", pads[p], "conv_transpose", pads[p]);
        snprintf(b, sizeof b, fmt, "conv", pads[p], "conv", pads[p]);
        double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
        kernels(a, NTKC_BACKEND_TCC, D, x, s1, t1);
        kernels(b, NTKC_BACKEND_TCC, D, x, s2, t2);
        cr_expect_leq(max_rel_diff(s1, s2, N * N), 1e-13, "NNGP: %s", a);
        cr_expect_leq(max_rel_diff(t1, t2, N * N), 1e-13, "NTK: %s", a);
    }
}

/* Output sizes and padding as lax.conv_transpose: same n·s, valid
 * n·s + max(k − s, 0), circular n·s folded from the valid length; padding
 * before k − 1 when s > k − 1, else ⌈(k + s − 2)/2⌉ (same), k − 1 (valid). */
Test(conv_variants, transpose_shapes)
{
    static const struct {
        const char *args;
        size_t oh, ow, fh, fw;
        int pt, pl;
    } cases[] = {
        {"3, stride=2", 6, 8, 0, 0, 2, 2},
        {"3, stride=2, padding=valid", 7, 9, 0, 0, 2, 2},
        {"3, stride=2, padding=circular", 6, 8, 7, 9, 2, 2},
        {"kh=2, kw=5, sh=3, sw=2, padding=same", 9, 8, 0, 0, 1, 3},
        {"kh=2, kw=5, sh=3, sw=2, padding=valid", 9, 11, 0, 0, 1, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[256];
        snprintf(src, sizeof src, "net t { input image(3, 4, 1); conv_transpose(%s); flatten; dense }", cases[i].args);
        ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
        const IrOp *op = &ntkc_net_ir(net)->ops[0];
        cr_expect_eq(op->kind, IR_CONV_TRANSPOSE);
        cr_expect_eq(op->out.h, cases[i].oh, "%s: height %zu", cases[i].args, op->out.h);
        cr_expect_eq(op->out.w, cases[i].ow, "%s: width %zu", cases[i].args, op->out.w);
        cr_expect_eq(op->u.conv.fold_h, cases[i].fh, "%s", cases[i].args);
        cr_expect_eq(op->u.conv.fold_w, cases[i].fw, "%s", cases[i].args);
        cr_expect_eq(op->u.conv.win.pt, cases[i].pt, "%s: pad before %d", cases[i].args, op->u.conv.win.pt);
        cr_expect_eq(op->u.conv.win.pl, cases[i].pl, "%s: pad before %d", cases[i].args, op->u.conv.win.pl);
        ntkc_net_free(net);
    }
}

Test(conv_variants, errors)
{
    expect_error_in("net e { input image(2, 2, 1); conv_local(3, padding=valid); flatten; dense }", NULL, "1:31",
                    "window 3 with padding=valid on an image height of 2 gives an output of size 0");
    expect_error_in("net e { input sequence(4, 1); conv_transpose(3, kh=2); flatten; dense }", NULL, "1:49",
                    "give the window either as size or as kh/kw");
    expect_error_in("net e { input sequence(4, 1); conv_transpose(kw=3, kh=2); flatten; dense }", NULL, "1:52",
                    "windows are 1-D");
    expect_error_in("net e { input image(4, 4, 1); conv_transpose(3, stride=100000); flatten; dense }", NULL, "1:31",
                    "upsampled by stride 100000");
    expect_error_in("net e { input vector(4); conv_local(3); dense }", NULL, "1:26", "'conv_local' is an image layer");
    expect_error_in("net e { input image(4, 4, 1); conv_local(3, dilation=2); flatten; dense }", NULL, "1:45",
                    "dilation");
}

/* <J·v, g> = <v, Jᵀ·g> for the finite net `ntkc train` builds: the layers'
 * tangents (fcv_tangent) against their backward passes (fcv_backward). */
Test(conv_variants, finite_tangent_is_the_adjoint_of_the_gradient, .timeout = TIMEOUT(120))
{
    static const char *const nets[] = {
        "net a { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2, padding=circular); relu\n"
        "  conv_local(2, 1.3, 0.2, stride=3, padding=valid); erf; global_avg_pool; dense(1.2) }",
        "net b { input sequence(5, 2); conv_local(3, 1.4, 0.1, padding=circular); relu\n"
        "  conv_transpose(2, 1.3, 0.2, stride=3, padding=valid); relu; flatten; dense(1.1) }",
    };
    for (size_t i = 0; i < 2; i++) {
        ntkc_net *net = compile_or_fail(nets[i], NTKC_BACKEND_TCC);
        const IrNet *ir = ntkc_net_ir(net);
        size_t d = ir->input.dim;
        double x[2 * 64];
        fill_random(x, 2 * d, 8 + i);
        ntkc_error err = {0};
        FiniteModel m;
        FiniteData data = {.rows = 2, .x = x, .dim = d};
        cr_assert_eq(finite_model_new(ir, &data, 16, 1, FINITE_AS_IR, &m, &err), 0, "%s", err.message);
        Rng r;
        rng_seed(&r, 3 + i);
        finite_model_init(&m, &r);
        size_t np = m.np;
        double *v = malloc(np * sizeof *v), *grad = malloc(np * sizeof *grad), f[2], jv[2], g[2] = {0.7, -1.3};
        fill_random(v, np, 9 + i);
        cr_assert_eq(finite_model_forward(&m, &data, f, &err), 0, "%s", err.message);
        cr_assert_eq(finite_model_jvp(&m, &data, v, jv, &err), 0, "%s", err.message);
        cr_assert_eq(finite_model_vjp(&m, &data, g, grad, &err), 0, "%s", err.message);
        double lhs = jv[0] * g[0] + jv[1] * g[1], rhs = 0;
        for (size_t k = 0; k < np; k++)
            rhs += v[k] * grad[k];
        cr_expect(fabs(lhs - rhs) <= 1e-10 * (fabs(lhs) + 1), "%s: <Jv, g> %.17g, <v, J^T g> %.17g", ir->name, lhs,
                  rhs);
        cr_expect(fabs(lhs) > 1e-3, "%s: a tangent of zero checks nothing (%g)", ir->name, lhs);
        free(v);
        free(grad);
        finite_model_free(&m);
        ntkc_net_free(net);
    }
}
