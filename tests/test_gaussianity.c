/* Gaussianity (docs/gaussianity.md): the flag lowering sets on every IR
 * value, the nets refused because an op that needs a Gaussian input does not
 * get one (both positions in the message), the nets accepted because their
 * stream stays Gaussian — two of them against finite-width networks — and
 * the `ntkc ir` dump that shows the flag. Refusals at every front door are
 * catalogue cases (test_catalogue.c, gauss_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "finite_conv.h"
#include "finite_net.h"
#include "frontend.h"
#include "ir.h"
#include "net_internal.h"
#include "npy.h"
#include "util.h"
#include "ntkc_tool.h"

typedef struct Lowered {
    Arena a;
    Diag err;
    IrNet *ir;
} Lowered;

static IrNet *lower(Lowered *r, const char *src)
{
    arena_init(&r->a);
    diag_clear(&r->err);
    Program *p = frontend_parse(&r->a, src, "t.ntk", &r->err);
    r->ir = p ? frontend_lower(&r->a, p, NULL, &r->err) : NULL;
    return r->ir;
}

/* The Gaussian flags of a net's top-level ops, as a string of 'G' and '-'. */
static void expect_flags(const char *src, const char *flags)
{
    Lowered r;
    cr_assert_not_null(lower(&r, src), "%s", r.err.message);
    char got[64] = {0};
    for (size_t i = 0; i < r.ir->nops && i < sizeof got - 1; i++)
        got[i] = r.ir->ops[i].gaussian ? 'G' : '-';
    cr_expect_str_eq(got, flags, "%s", src);
    arena_free(&r.a);
}

#define NEEDS " needs a Gaussian input (the output of a dense or conv layer); "

/* ---- the four nets of issue 14 ------------------------------------------- */

Test(gaussianity, issue_nets_refused)
{
    expect_error("net n { dense(1.2); relu; relu; dense(1) }", "1:27",
                 "relu at 1:27" NEEDS "its input comes from relu at 1:21" "\n");
    expect_error("net n { input image(6, 6, 2); conv(3); relu; avg_pool(2); relu; flatten; dense(1) }", "1:59",
                 "relu at 1:59" NEEDS "its input comes from avg_pool at 1:46, which is not Gaussian because of relu at 1:40" "\n");
    expect_error("net n { input image(6, 6, 2); conv(3); relu; global_avg_pool; relu; dense(1) }", "1:63",
                 "relu at 1:63" NEEDS
                 "its input comes from global_avg_pool at 1:46, which is not Gaussian because of relu at 1:40" "\n");
    expect_error("net n { dense(1.2); relu; residual { dense(1.4, 0.1); relu; dense(1) }; relu; dense(1) }", "1:73",
                 "relu at 1:73" NEEDS "its input comes from residual at 1:27, which is not Gaussian because of relu at 1:21" "\n");
}

/* ---- one rule at a time --------------------------------------------------- */

Test(gaussianity, needs_gaussian)
{
    expect_error("net n {\n  relu\n  dense\n}", "2:3",
                 "relu at 2:3" NEEDS "its input is the net's input itself, which is not Gaussian: the first layer "
                                     "of a net must be 'dense' (or 'conv' on images)" "\n");
    expect_error("act sq(x) = x * x\nnet n { dense; relu; sq; dense }", "2:22",
                 "sq at 2:22" NEEDS "its input comes from relu at 2:16" "\n");
    expect_error("net n { dense; relu; layer_norm; dense }", "1:22",
                 "layer_norm at 1:22" NEEDS "its input comes from relu at 1:16" "\n");
    expect_error("net n { dense; relu; fanout { branch { } branch { dense } } prod; dense }", "1:22",
                 "fanout … prod at 1:22" NEEDS "the input of its identity branch 1 comes from relu at 1:16" "\n");
    /* inside a branch: the branch reads the fanout's input */
    expect_error("net n { dense; relu; fanout { branch { erf; dense } branch { dense } } sum; dense }", "1:40",
                 "erf at 1:40" NEEDS "its input comes from relu at 1:16" "\n");
}

Test(gaussianity, breaks_gaussian)
{
    expect_error("net n { dense; fanout { branch { dense } branch { dense } } prod; erf; dense }", "1:67",
                 "erf at 1:67" NEEDS "its input comes from fanout … prod at 1:16 (a product of Gaussians is not Gaussian)" "\n");
    expect_error("net n { dense; fanout { branch { dense } branch { dense(2) } } concat; erf; dense }", "1:72",
                 "erf at 1:72" NEEDS "its input comes from fanout … concat at 1:16 (concat stacks branches whose "
                                     "kernels differ; a dense or conv layer after it makes a Gaussian again)" "\n");
    expect_error("net n { input image(2, 2, 1); conv(1); flatten; relu; dense }", "1:49",
                 "relu at 1:49" NEEDS "its input comes from flatten at 1:40 (flatten stacks pixels whose variances "
                                      "differ; a dense layer after it makes a Gaussian again)" "\n");
    /* a sum with a non-Gaussian identity branch has a kernel, but is not Gaussian */
    expect_error("net n { dense; relu; fanout { branch { } branch { dense } } sum; erf; dense }", "1:66",
                 "erf at 1:66" NEEDS "its input comes from fanout … sum at 1:22, which is not Gaussian because of "
                                     "relu at 1:16" "\n");
}

Test(gaussianity, graphs)
{
    expect_error("net n { input graph(3); aggregate; relu; readout; dense }", "1:36",
                 "relu at 1:36" NEEDS "its input comes from aggregate at 1:25, a linear map of the net's input, "
                                      "which is not Gaussian" "\n");
    /* jk sums the state entering the first aggregate: the input */
    expect_error("net n { input graph(3); aggregate; dense; readout(sum, jk=true); relu; dense }", "1:66",
                 "relu at 1:66" NEEDS "its input comes from readout at 1:43, a linear map of the net's input, "
                                      "which is not Gaussian" "\n");
    expect_flags("net n { input graph(3); dense; aggregate; readout; relu; dense }", "GGG-G");
    expect_flags("net n { input graph(3); dense; aggregate; dense; readout(sum, jk=true); relu; dense }", "GGGG-G");
    /* jk also sums the relu output entering the aggregate */
    expect_flags("net n { input graph(3); dense; relu; aggregate; dense; readout(sum, jk=true); dense }", "G--G-G");
}

/* ---- accepted nets and their flags ---------------------------------------- */

Test(gaussianity, flags)
{
    /* dense and conv make Gaussians from anything; pools keep; flatten breaks */
    expect_flags("net n { input image(4, 4, 1); conv(3); avg_pool(2); relu; conv(1); global_avg_pool; erf; dense }",
                 "GG-GG-G");
    expect_flags("net n { input image(4, 4, 1); conv(3); sum_pool(2); flatten; dense; relu; dense }", "GG-G-G");
    /* layer_norm keeps */
    expect_flags("net n { dense; layer_norm; relu; dense; layer_norm; dense }", "GG-GGG");
    /* pre-activation residual blocks keep the stream Gaussian */
    expect_flags("net n { dense; residual { relu; dense }; residual { relu; dense; relu; dense }; relu; dense }",
                 "GGG-G");
    /* post-activation: the sum of a relu output and a fresh branch has a kernel but is not Gaussian */
    expect_flags("net n { dense; relu; residual { dense; relu; dense }; dense }", "G--G");
    expect_flags("net n { dense; fanout { branch { } branch { dense } } prod; dense }", "G-G");
    expect_flags("net n { dense; fanout { branch { dense } branch { dense } } sum; relu; dense }", "GG-G");
    expect_flags("net n { dense; fanout { branch { dense } branch { relu; dense } } concat; dense }", "G-G");
}

Test(gaussianity, branch_ops_flagged)
{
    Lowered r;
    cr_assert_not_null(lower(&r, "net n { dense; residual { relu; dense; relu; dense }; dense }"), "%s", r.err.message);
    const IrBranch *body = &r.ir->ops[1].u.fanout.branches[1];
    cr_assert_eq(body->nops, 4);
    for (size_t i = 0; i < 4; i++)
        cr_expect_eq(body->ops[i].gaussian, (int)(i % 2), "branch op %zu", i);
    arena_free(&r.a);
}

/* ---- accepted nets against finite-width networks -------------------------- */

static double relative_frobenius(const double *approx, const double *exact, size_t count)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < count; i++) {
        num += (approx[i] - exact[i]) * (approx[i] - exact[i]);
        den += exact[i] * exact[i];
    }
    return sqrt(num / den);
}

/* Width 1024, as neural-tangents' tests; its FC rtol 0.04 on the relative
 * Frobenius error (the Monte Carlo error at these samples is ~1 %). */
static void check_mc(const char *source, size_t samples)
{
    enum { N = 6 };
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(source, "t.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    NpyArray digits;
    cr_assert_eq(npy_read("data/digits_test_x.npy", &digits, &err), 0, "%s", err.message);
    size_t d = digits.shape[1];
    double s[N * N], t[N * N], s_mc[N * N], t_mc[N * N];
    cr_assert_eq(ntkc_kernel(net, N, digits.data, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    FiniteNetOptions fo = {.width = 1024, .samples = samples, .seed = 11};
    const IrNet *ir = ntkc_net_ir(net);
    cr_assert_eq(ir->family, IR_FAMILY_IMAGE, "branched nets are image-family nets (finite_conv)");
    cr_assert_eq(finite_conv_kernels(ir, N, digits.data, d, &fo, s_mc, t_mc, &err), 0, "%s", err.message);
    double e_nngp = relative_frobenius(s_mc, s, N * N), e_ntk = relative_frobenius(t_mc, t, N * N);
    cr_expect_lt(e_nngp, 0.04, "NNGP relative error %.4f", e_nngp);
    cr_expect_lt(e_ntk, 0.04, "NTK relative error %.4f", e_ntk);
    cr_log_info("%s: NNGP %.4f, NTK %.4f relative error", source, e_nngp, e_ntk);
    npy_free(&digits);
    ntkc_net_free(net);
}

/* Issue 14's fourth net made exact: the relu moved to the start of the block. */
Test(gaussianity, pre_activation_residual_mc, .timeout = TIMEOUT(120))
{
    check_mc("net n { dense(1.2); residual { relu; dense(1.4, 0.1); relu; dense(1) }; relu; dense(1) }", 16);
}

/* A sum whose identity branch is not Gaussian: accepted, its kernel exact. */
Test(gaussianity, non_gaussian_sum_mc, .timeout = TIMEOUT(120))
{
    check_mc("net n { dense(1.2); relu; residual { dense(1.4, 0.1); relu; dense(1) }; dense(1) }", 16);
}

/* ---- ntkc ir ---------------------------------------------------------------- */

static char *run_ir(const char *src, const char *extra, int *status)
{
    char dir[64], path[128], cmd[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(src, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s ir %s %s 2>&1", ntkc_bin(), path, extra);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[16384];
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    remove(path);
    remove(dir);
    return out;
}

/* The line of op `value` (e.g. "%3 = "), or fail. */
static const char *ir_line(const char *out, const char *value, char *buf, size_t n)
{
    const char *at = strstr(out, value);
    cr_assert_not_null(at, "no '%s' in:\n%s", value, out);
    const char *end = strchr(at, '\n');
    size_t len = end ? (size_t)(end - at) : strlen(at);
    len = len < n - 1 ? len : n - 1;
    memcpy(buf, at, len);
    buf[len] = '\0';
    return buf;
}

Test(gaussianity, ir_dump)
{
    int status;
    const char *out = run_ir("net a { dense }\n"
                           "net n {\n"
                           "    input image(4, 4, 2)\n"
                           "    conv(3, 1.5)\n"
                           "    residual { relu; conv(3) }\n"
                           "    avg_pool(2)\n"
                           "    relu\n"
                           "    flatten\n"
                           "    dense\n"
                           "}\n",
                           "--net n", &status);
    cr_assert_eq(status, 0, "%s", out);
    char l[256];
    cr_expect(strstr(out, "# net n (2:5), param ntk\n") != NULL, "%s", out);
    cr_expect(strstr(out, "%0 = input image(4, 4, 2)  # not gaussian\n") != NULL, "%s", out);
    cr_expect(strstr(ir_line(out, "%1 = ", l, sizeof l),
                   "%1 = conv %0, window 3x3, stride 1x1, padding same, w_std 1.5 # 4:5     4x4     gaussian") !=
                  NULL,
              "%s", l);
    cr_expect(strstr(ir_line(out, "%2 = ", l, sizeof l), "%2 = residual %1 {") != NULL, "%s", l);
    cr_expect(strstr(l, "# 5:5     4x4     gaussian") != NULL, "%s", l);
    cr_expect(strstr(out, "        branch 1, scale 1: identity\n        branch 2, scale 1:\n") != NULL, "%s", out);
    /* branch ops indented under their fanout, reading its input */
    cr_expect(strstr(ir_line(out, "%3 = ", l, sizeof l), "%3 = relu %1") != NULL, "%s", l);
    cr_expect(strncmp(strstr(out, "%3 = ") - 12, "            ", 12) == 0, "%s", out);
    cr_expect(strstr(l, "# 5:16    4x4     not gaussian  record 16") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%5 = ", l, sizeof l), "%5 = avg_pool %2, window 2x2, stride 2x2, padding valid") != NULL,
              "%s", l);
    cr_expect(strstr(l, "2x2     gaussian") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%6 = ", l, sizeof l), "# 7:5     2x2     not gaussian  record 4") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%7 = ", l, sizeof l), "%7 = flatten %6") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%8 = ", l, sizeof l), "%8 = dense %7, w_std 1, b_std 0") != NULL, "%s", l);
    cr_expect(strstr(l, "vector  gaussian") != NULL, "%s", l);
}

Test(gaussianity, ir_refused)
{
    int status;
    const char *out = run_ir("net n { dense; relu; relu; dense }\n", "", &status);
    cr_expect_eq(status, 1);
    cr_expect(strstr(out, "net.ntk:1:22: error: relu at 1:22" NEEDS "its input comes from relu at 1:16") != NULL, "%s",
              out);
    out = run_ir("net n { dense }\n", "--net m", &status);
    cr_expect_eq(status, 1, "%s", out);
    out = run_ir("net n { dense }\n", "extra.ntk", &status);
    cr_expect_eq(status, 1, "%s", out);
    cr_expect(strstr(out, "usage: ntkc ir") != NULL, "%s", out);
}

/* The library front doors refuse like the command line. */
Test(gaussianity, library_refuses)
{
    ntkc_error err = {0};
    const char *src = "net n { input image(6, 6, 2); conv(3); relu; global_avg_pool; relu; dense(1) }";
    cr_expect_null(ntkc_compile_string(src, "lib.ntk", NULL, &err));
    cr_expect_eq(err.code, NTKC_EUSER);
    cr_expect(strstr(err.message, "lib.ntk:1:63: error: relu at 1:63" NEEDS "its input comes from global_avg_pool") ==
                  err.message,
              "%s", err.message);
    ntkc_compile_options opts = {.backend = NTKC_BACKEND_CC};
    cr_expect_null(ntkc_compile_string(src, "lib.ntk", &opts, &err));
    cr_expect_eq(err.code, NTKC_EUSER, "%s", err.message);
    char *c = ntkc_emit("net n { dense; relu; relu; dense }", "lib.ntk", NULL, &err);
    cr_expect_null(c);
    cr_expect(strstr(err.message, "lib.ntk:1:22: error: relu at 1:22" NEEDS "its input comes from relu at 1:16") ==
                  err.message,
              "%s", err.message);
}

Test(gaussianity, ir_dump_graph_and_standard)
{
    int status;
    char l[256];
    const char *out = run_ir("net g { input graph(3); aggregate; dense(1.5); relu; readout(mean); dense }\n", "", &status);
    cr_assert_eq(status, 0, "%s", out);
    cr_expect(strstr(out, "%0 = input graph(3)  # not gaussian\n") != NULL, "%s", out);
    cr_expect(strstr(ir_line(out, "%1 = ", l, sizeof l), "%1 = aggregate %0, scale uniform, self_loops true") != NULL,
              "%s", l);
    cr_expect(strstr(l, "nodes   not gaussian") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%3 = ", l, sizeof l), "nodes   not gaussian  record 1 per node") != NULL, "%s", l);
    cr_expect(strstr(ir_line(out, "%4 = ", l, sizeof l), "%4 = readout %3, pool mean") != NULL, "%s", l);
    cr_expect(strstr(l, "graph   not gaussian") != NULL, "%s", l);
    out = run_ir("net s { param standard; dense(1.5, 0.05, width=64); relu; dense }\n", "", &status);
    cr_assert_eq(status, 0, "%s", out);
    cr_expect(strstr(out, "# net s (1:5), param standard\n") != NULL, "%s", out);
    cr_expect(strstr(out, "%1 = dense %0, w_std 1.5, b_std 0.05, width 64, fan_in data") != NULL, "%s", out);
    cr_expect(strstr(out, "%3 = dense %2, w_std 1, b_std 0, fan_in 64") != NULL, "%s", out);
}
