/* The whole pipeline against finite-width networks: the analytic Σ and Θ that
 * the generated, JIT-compiled code computes for the example nets, against
 * the average of networks of width 1024 in the same parameterization (NTK
 * from J·Jᵀ of the parameter Jacobian). The Monte Carlo error is ~1% at 32
 * samples (measured: 0.6–1.7% at 64); deep nets add an O(1/width) bias of
 * the same order. neural-tangents' own tests allow rtol 0.04 for FC nets at
 * width 1024; so do these, on the relative Frobenius error. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "finite_net.h"
#include "net_internal.h"
#include "npy.h"
#include "util.h"

static double relative_frobenius(const double *approx, const double *exact, size_t count)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < count; i++) {
        num += (approx[i] - exact[i]) * (approx[i] - exact[i]);
        den += exact[i] * exact[i];
    }
    return sqrt(num / den);
}

static void check_net(const char *path, const char *source, size_t samples)
{
    enum { N = 6 };
    ntkc_error err = {0};
    ntkc_net *net = source ? ntkc_compile_string(source, path, NULL, &err) : ntkc_compile_file(path, NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    NpyArray digits;
    cr_assert_eq(npy_read("data/digits_test_x.npy", &digits, &err), 0, "%s", err.message);
    size_t d = digits.shape[1];
    double s[N * N], t[N * N], s_mc[N * N], t_mc[N * N];
    cr_assert_eq(ntkc_kernel(net, N, digits.data, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    FiniteNetOptions fo = {.width = 1024, .samples = samples, .seed = 7};
    cr_assert_eq(finite_net_kernels(ntkc_net_ir(net), N, digits.data, d, &fo, s_mc, t_mc, &err), 0, "%s",
                 err.message);
    double e_nngp = relative_frobenius(s_mc, s, N * N), e_ntk = relative_frobenius(t_mc, t, N * N);
    cr_expect_lt(e_nngp, 0.04, "%s: NNGP relative error %.4f", path, e_nngp);
    cr_expect_lt(e_ntk, 0.04, "%s: NTK relative error %.4f", path, e_ntk);
    cr_log_info("%s: NNGP %.4f, NTK %.4f relative error", path, e_nngp, e_ntk);
    npy_free(&digits);
    ntkc_net_free(net);
}

Test(mc_pipeline, fc_relu_erf_ntk_param, .timeout = TIMEOUT(120)) { check_net("examples/fc.ntk", NULL, 32); }

Test(mc_pipeline, relu5_ntk_param, .timeout = TIMEOUT(120)) { check_net("examples/relu5.ntk", NULL, 24); }

/* Widths 1024 here (examples/standard.ntk uses 512). */
Test(mc_pipeline, standard_param, .timeout = TIMEOUT(120))
{
    check_net("std.ntk",
              "net std {\n"
              "    param standard\n"
              "    dense(width=1024, w_std=1.5, b_std=0.05); relu\n"
              "    dense(width=1024, w_std=1.5, b_std=0.05); relu\n"
              "    dense(w_std=1.0)\n"
              "}\n",
              64);
}
