/* attention(...): lowering (the exact-kernel combinations, errors with
 * positions, Gaussianity), the kernels against the four-index reference of
 * conv_reference.c on both back ends, the standalone entry of `ntkc emit`,
 * and identities: uniform attention is global average pooling; the kernel
 * matrix is symmetric and positive semi-definite. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "conv_reference.h"
#include "frontend.h"
#include "ir_print.h"
#include "net_internal.h"
#include "util.h"

/* ---- lowering -------------------------------------------------------------- */

Test(attention_lower, block_lowers_gaussian_with_records)
{
    Arena a;
    arena_init(&a);
    Diag err;
    diag_clear(&err);
    const char *src = "net t { input sequence(5, 3); dense\n"
                      "  residual { layer_norm; attention(heads=4, mechanism=relu, w_q=0.5, b_std=0.1) }\n"
                      "  dense; relu; global_avg_pool; dense }";
    Program *p = frontend_parse(&a, src, "t.ntk", &err);
    IrNet *ir = p ? frontend_lower(&a, p, NULL, &err) : NULL;
    cr_assert_not_null(ir, "%s", err.message);
    const IrOp *res = &ir->ops[1];
    cr_assert_eq(res->kind, IR_FANOUT);
    const IrOp *at = &res->u.fanout.branches[1].ops[1];
    cr_assert_eq(at->kind, IR_ATTENTION);
    cr_expect_eq(at->u.attn.heads, 4);
    cr_expect(at->u.attn.linear, "scaling defaults to linear, as neural-tangents' linear_scaling=True");
    cr_expect_eq(at->u.attn.mech, IR_ATTN_RELU);
    cr_expect_eq(at->u.attn.w_q, 0.5);
    cr_expect_eq(at->u.attn.w_k, 1.0);
    cr_expect_eq(at->u.attn.b_std, 0.1);
    cr_expect(at->gaussian, "attention outputs a Gaussian field");
    cr_expect(res->gaussian, "the residual stream around attention stays Gaussian");
    cr_expect_eq(at->out.w, 5);
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ir);
    cr_expect(strstr(sb.data, "attention %3, heads 4, scaling linear, mechanism relu, w_q 0.5") != NULL, "%s", sb.data);
    cr_expect(strstr(sb.data, "record 25") != NULL, "the weights A_x: 5×5 per input\n%s", sb.data);
    sb_free(&sb);
    arena_free(&a);
}

Test(attention_lower, attention_after_relu_is_accepted_and_gaussian)
{
    /* Only second moments of its input enter (neural-tangents does not ask
     * for a Gaussian input either); its output is Gaussian, so relu may follow. */
    ntkc_net *net = compile_or_fail("net t { input sequence(4, 2); dense; relu; attention; relu; flatten; dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_net_free(net);
}

Test(attention_lower, errors)
{
    expect_error("net t { input sequence(4, 2); dense; attention(scaling=sqrt) }", "1:48",
                 "'attention' with scaling=sqrt and mechanism=softmax has no closed-form infinite-width kernel");
    expect_error("net t { input sequence(4, 2); dense; attention(mechanism=relu, scaling=sqrt) }", "1:48",
                 "scaling=sqrt and mechanism=relu has no closed-form");
    expect_error("net t { input sequence(4, 2); dense; attention(pos_emb=sum, pos_channels=2) }", "1:61",
                 "'attention': pos_channels applies to pos_emb=concat only");
    expect_error("net t { input sequence(4, 2); dense; attention(mechanism=sigmoid) }", "1:58",
                 "unknown mechanism 'sigmoid' for 'attention'");
    expect_error("net t { input sequence(4, 2); dense; attention(heads=0) }", "1:54",
                 "'heads' of 'attention' must be a whole number in [1, 1e+06], got 0");
    expect_error("net t { input vector(4); dense; attention; dense }", "1:33", "'attention' is an image layer");
    expect_error("net t { input image(65, 64, 1); dense; attention; global_avg_pool; dense }", "1:40",
                 "'attention' over 4160 positions: its kernel holds every pair of positions, at most 4096");
    expect_error("net t { input sequence(4, 2); dense; global_avg_pool; attention; dense }", "1:55",
                 "'attention' after 'global_avg_pool'");
    expect_error("net t { input sequence(4, 2); conv(3, stride=2); attention; global_avg_pool; dense }", "1:31",
                 "'conv' in net 't', which has attention (at 1:50)");
    expect_error("net t { param standard; input sequence(4, 2); dense(width=3); attention; global_avg_pool; dense }",
                 "1:63", "missing required argument 'width' for 'attention'");
    expect_error("net t { input sequence(4, 2); dense; residual { dense; attention; relu }; flatten; dense }",
                 "1:67", "a residual block must end in an affine layer (dense, conv or attention), not 'relu'");
}

/* ---- kernels against the reference ------------------------------------------ */

enum { N1 = 3, N2 = 2 };

static void check_net(const char *src, ntkc_backend backend, unsigned long long seed)
{
    ntkc_net *net = compile_or_fail(src, backend);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim;
    double *x = malloc((N1 + N2) * d * sizeof *x);
    fill_random(x, (N1 + N2) * d, seed);
    double s[N1 * N2], t[N1 * N2], ss[N1 * N1], ts[N1 * N1];
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N1, x, N2, x + N1 * d, d, s, t, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N1, x, 0, NULL, d, ss, ts, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N1; i++)
        for (size_t j = 0; j < N1 + N2; j++) {
            double rs, rt;
            conv_reference(ir, d, x + i * d, x + j * d, &rs, &rt);
            double gs = j < N1 ? ss[i * N1 + j] : s[i * N2 + j - N1], gt = j < N1 ? ts[i * N1 + j] : t[i * N2 + j - N1];
            cr_expect(fabs(gs - rs) <= 1e-11 * (1 + fabs(rs)), "NNGP[%zu,%zu] %.17g vs reference %.17g\n%s", i, j, gs,
                      rs, src);
            cr_expect(fabs(gt - rt) <= 1e-11 * (1 + fabs(rt)), "NTK[%zu,%zu] %.17g vs reference %.17g\n%s", i, j, gt, rt,
                      src);
        }
    free(x);
    ntkc_net_free(net);
}

Test(attention, every_mechanism_matches_reference, .timeout = TIMEOUT(60))
{
    static const char *const mech[] = {"softmax", "identity", "abs", "relu"};
    for (int m = 0; m < 4; m++) {
        char src[512];
        snprintf(src, sizeof src,
                 "net a { input sequence(5, 3); dense(1.2, 0.1)\n"
                 "  attention(mechanism=%s, w_q=1.3, w_k=0.8, w_v=1.1, w_out=0.9, b_std=0.2); relu\n"
                 "  global_avg_pool; dense(1.1) }",
                 mech[m]);
        check_net(src, NTKC_BACKEND_TCC, 1 + (unsigned long long)m);
    }
}

Test(attention, sqrt_identity_matches_reference, .timeout = TIMEOUT(60))
{
    check_net("net q { input sequence(4, 2); dense(1.1); attention(scaling=sqrt, mechanism=identity, w_q=0.6,\n"
              "  w_k=0.7, w_out=1.2, b_std=0.3); erf; flatten; dense(1.0, 0.1) }",
              NTKC_BACKEND_TCC, 5);
}

Test(attention, transformer_block_on_images_both_back_ends, .timeout = TIMEOUT(120))
{
    const char *src = "net tb { input image(2, 3, 2); dense(1.3)\n"
                      "  repeat 2 {\n"
                      "    residual { layer_norm; attention(heads=2, w_q=1.5, w_out=1.1, b_std=0.1) }\n"
                      "    residual(0.7) { layer_norm; dense(1.4, 0.1); relu; dense(1.2) }\n"
                      "  }\n"
                      "  fanout { branch { attention(mechanism=abs) } branch { dense(0.8) } } prod\n"
                      "  global_sum_pool; dense(1.0, 0.1); layer_norm; relu; residual { dense(0.9) }; dense }";
    check_net(src, NTKC_BACKEND_TCC, 6);
    check_net(src, NTKC_BACKEND_CC, 6);
}

/* ---- the standalone entry of `ntkc emit` ------------------------------------- */

typedef int (*EntryFn)(size_t, const double *, size_t, const double *, size_t, double *, double *);

Test(attention, emitted_standalone_entry_matches_library, .timeout = TIMEOUT(60))
{
    const char *src = "net st { input sequence(4, 2); dense; residual { layer_norm; attention(w_q=2) }; relu\n"
                      "  global_avg_pool; dense }";
    ntkc_error err;
    char *c = ntkc_emit(src, "st.ntk", NULL, &err);
    cr_assert_not_null(c, "%s", err.message);
    void *fn;
    void *h = load_emitted_c(c, "ntkcnet_st", &fn);
    EntryFn entry;
    memcpy(&entry, &fn, sizeof fn);
    double x[3 * 8], s[9], t[9], ls[9], lt[9];
    fill_random(x, 24, 9);
    cr_assert_eq(entry(3, x, 3, x, 8, s, t), 0);
    cr_expect_eq(entry(3, x, 3, x, 7, s, t), 1, "a wrong dimension is refused");
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(net, 3, x, 0, NULL, 8, ls, lt, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(s, ls, 9), 1e-13);
    cr_expect_lt(max_rel_diff(t, lt, 9), 1e-13);
    ntkc_net_free(net);
    dlclose(h);
    free(c);
}

/* ---- identities ---------------------------------------------------------------- */

/* w_q = 0: softmax of equal logits, the weights 1/P everywhere: every output
 * pixel is the global average, through two affine maps (values, output):
 * the kernel of global_avg_pool; dense(w_v); dense(w_out, b_std). */
Test(attention, uniform_softmax_is_global_average_pooling, .timeout = TIMEOUT(60))
{
    enum { N = 4, D = 5 * 3 };
    const char *a = "net a { input sequence(5, 3); dense(1.2, 0.1); relu; dense(1.1)\n"
                    "  attention(w_q=0, w_v=1.3, w_out=0.8, b_std=0.4); global_avg_pool; relu; dense }";
    const char *b = "net b { input sequence(5, 3); dense(1.2, 0.1); relu; dense(1.1)\n"
                    "  global_avg_pool; dense(1.3); dense(0.8, 0.4); relu; dense }";
    double x[N * D], sa[N * N], ta[N * N], sb[N * N], tb[N * N];
    fill_random(x, N * D, 11);
    ntkc_error err;
    ntkc_net *na = compile_or_fail(a, NTKC_BACKEND_TCC), *nb = compile_or_fail(b, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_kernel(na, N, x, 0, NULL, D, sa, ta, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(nb, N, x, 0, NULL, D, sb, tb, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(sa, sb, N * N), 1e-12);
    cr_expect_lt(max_rel_diff(ta, tb, N * N), 1e-12);
    ntkc_net_free(na);
    ntkc_net_free(nb);
}

Test(attention, kernels_are_symmetric_and_psd, .timeout = TIMEOUT(60))
{
    enum { N = 12, D = 6 * 2 };
    static const char *const nets[] = {
        "net p { input sequence(6, 2); dense(1.3); residual { layer_norm; attention(w_q=3) }; relu; global_avg_pool; dense }",
        "net p { input sequence(6, 2); dense; attention(mechanism=identity); erf; attention(mechanism=abs, b_std=0.2)\n"
        "  flatten; dense }",
        "net p { input sequence(6, 2); dense; attention(scaling=sqrt, mechanism=identity); relu; global_avg_pool; dense }",
    };
    double x[N * D], s[N * N], t[N * N];
    fill_random(x, N * D, 13);
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ntkc_net *net = compile_or_fail(nets[k], NTKC_BACKEND_TCC);
        ntkc_error err;
        cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
        double *m[2] = {s, t};
        for (int w = 0; w < 2; w++) {
            double big = 0;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++) {
                    cr_expect_eq(m[w][i * N + j], m[w][j * N + i], "%s not symmetric at (%zu, %zu): %s",
                                 w ? "NTK" : "NNGP", i, j, nets[k]);
                    big = fmax(big, fabs(m[w][i * N + j]));
                }
            cr_expect_geq(min_eigenvalue(m[w], N), -1e-12 * big * N, "%s not PSD: %s", w ? "NTK" : "NNGP", nets[k]);
        }
        ntkc_net_free(net);
    }
}
