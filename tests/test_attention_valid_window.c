/* A window one tap wide with padding=valid in the all-pairs back end (nets
 * with attention, masked inputs, a volume's branches): its one tap is the
 * pixel itself under every padding, so it keeps the grid and lowering takes
 * it (ir_window.h; conv, conv_transpose, conv_local and pooling alike). Checks, none by Monte Carlo: its kernels equal those of
 * padding=same to 1e-15 on both back ends; a 1×1 conv is the dense layer of
 * the same deviations at every position and avg_pool(1) the identity (other
 * kernel-time functions: equal up to rounding); wider valid windows and
 * strides stay refused at their positions. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum { N = 4, MAXD = 36 };

/* The kernels of src on N rows of dimension d from seed 11 (masked nets:
 * the lengths len, NULL otherwise). */
static void kernels(const char *src, ntkc_backend backend, size_t d, const double *len, double *nngp, double *ntk)
{
    ntkc_net *net = compile_or_fail(src, backend);
    double x[N * MAXD];
    cr_assert(d <= MAXD);
    fill_random(x, N * d, 11);
    ntkc_error err = {0};
    if (len)
        cr_assert_eq(ntkc_mask_lengths(net, N, x, d, len, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, nngp, ntk, NULL, &err), 0, "%s: %s", src, err.message);
    ntkc_net_free(net);
}

/* The net `tmpl` with every %s replaced by `pad`. */
static void with_padding(char *out, size_t size, const char *tmpl, const char *pad)
{
    snprintf(out, size, tmpl, pad, pad, pad, pad);
}

static void expect_close(const double *a, const double *b, double rel, const char *what, const char *src)
{
    double scale = 0;
    for (size_t e = 0; e < N * N; e++)
        scale = fmax(scale, fabs(b[e]));
    cr_assert(scale > 0, "%s: a zero kernel checks nothing", src);
    for (size_t e = 0; e < N * N; e++)
        cr_expect(fabs(a[e] - b[e]) <= rel * scale, "%s [%zu]: %.17g vs %.17g (%s)", what, e, a[e], b[e], src);
}

/* The kernels of nets a and b agree to rel (relative to the largest entry). */
static void same_kernels(const char *a, const char *b, ntkc_backend backend, size_t d, const double *len, double rel)
{
    double sa[N * N], ta[N * N], sb[N * N], tb[N * N];
    kernels(a, backend, d, len, sa, ta);
    kernels(b, backend, d, len, sb, tb);
    expect_close(sa, sb, rel, "NNGP", a);
    expect_close(ta, tb, rel, "NTK", a);
}

/* Every %s of tmpl (up to four) is a padding: valid's kernels against same's. */
static void valid_is_same(const char *tmpl, size_t d, const double *len)
{
    char v[600], s[600];
    with_padding(v, sizeof v, tmpl, "valid");
    with_padding(s, sizeof s, tmpl, "same");
    same_kernels(v, s, NTKC_BACKEND_TCC, d, len, 1e-15);
    same_kernels(v, s, NTKC_BACKEND_CC, d, len, 1e-15);
}

Test(attention_valid_window, one_tap_valid_equals_same, .timeout = TIMEOUT(120))
{
    valid_is_same("net a { input sequence(6, 3); dense; relu; conv(1, 1.3, 0.2, padding=%s); relu\n"
                  "  attention(heads=2, mechanism=relu); conv(1, 0.9, padding=%s, dilation=2); global_avg_pool; dense }",
                  18, NULL);
    valid_is_same("net a { input image(3, 4, 2); conv(3, 1.2); relu\n"
                  "  residual { conv(1, 1.1, 0.1, padding=%s); relu; attention }\n"
                  "  avg_pool(1, padding=%s); conv_local(1, 1.2, 0.1, padding=%s); erf; flatten; dense }",
                  24, NULL);
    double len[N] = {6, 3, 5, 2};
    valid_is_same("net m { input sequence(6, 3, masked=true); conv(1, 1.2, 0.1, padding=%s); relu\n"
                  "  sum_pool(1, padding=%s); conv(3); relu; global_avg_pool; dense }",
                  18, len);
    valid_is_same("net v { input volume(2, 3, 3, 1); conv(2); relu\n"
                  "  residual { conv(1, 1.1, 0.1, padding=%s); relu; conv(kd=1, kh=1, kw=1, padding=%s) }\n"
                  "  global_avg_pool; dense }",
                  18, NULL);
    valid_is_same("net v { input volume(2, 3, 3, 1); conv(2); residual { conv_transpose(1, 1.2, padding=%s) }\n"
                  "  fanout { branch { conv(2); avg_pool(1, padding=%s) } branch { conv_local(1, padding=%s) } } sum\n"
                  "  relu; global_avg_pool; dense }",
                  18, NULL);
}

/* Identities that need no reference: a 1×1 conv (NTK parameterization,
 * |F| = 1) is Σ' = w²Σ + b², Θ' = Σ' + w²Θ at every position pair, the dense
 * layer's update; avg_pool(1) averages one tap. Different kernel-time
 * functions compute the two sides (ntkc_m_conv, ntkc_m_dense, ntkc_m_pool):
 * equal up to a few roundings of each entry. */
Test(attention_valid_window, one_by_one_conv_is_dense_and_pool_is_identity, .timeout = TIMEOUT(60))
{
    same_kernels("net a { input sequence(6, 3); dense; relu; conv(1, 1.3, 0.2, padding=valid); relu\n"
                 "  attention(heads=2, mechanism=relu); avg_pool(1); global_avg_pool; dense }",
                 "net a { input sequence(6, 3); dense; relu; dense(1.3, 0.2); relu\n"
                 "  attention(heads=2, mechanism=relu); global_avg_pool; dense }",
                 NTKC_BACKEND_TCC, 18, NULL, 1e-13);
    double len[N] = {6, 3, 5, 2};
    same_kernels("net m { input sequence(6, 3, masked=true); conv(1, 0.8, 0.3, padding=valid); erf\n"
                 "  residual { conv(1, 1.1, padding=valid) }; conv(1, 0.9, padding=valid); relu; flatten; dense }",
                 "net m { input sequence(6, 3, masked=true); dense(0.8, 0.3); erf\n"
                 "  residual { dense(1.1) }; dense(0.9); relu; flatten; dense }",
                 NTKC_BACKEND_TCC, 18, len, 1e-13);
}

Test(attention_valid_window, windows_that_move_the_grid_stay_refused)
{
    expect_error("net a { input image(3, 4, 2); dense; conv(kh=1, kw=2, padding=valid); attention; flatten; dense }",
                 "1:38", "must keep the grid (stride 1, padding same or circular, or valid on a 1x1 window)");
    expect_error("net a { input sequence(6, 3); dense; conv(1, stride=2, padding=valid); attention; flatten; dense }",
                 "1:38", "must keep the grid");
    expect_error("net a { input sequence(6, 3, masked=true); avg_pool(2, stride=1); global_avg_pool; dense }", "1:44",
                 "whose input is masked (masked=true at 1:9)");
}
