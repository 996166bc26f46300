/* conv_transpose on a volume under param standard (neural-tangents'
 * ConvTranspose(parameterization='standard') with a 3-D filter): the
 * conv's standard recursion on lax.conv_transpose's maps, Θ' = C·Σ_f A_fΣA_fᵀ
 * + w²/|F|·Σ_f A_fΘA_fᵀ (+1 with a bias). Checked here against finite
 * networks (random_net_checks: entry by entry within 5 standard errors plus
 * the O(L/width) allowance at the declared width 512; kernels 20 % off must
 * fail) and an identity (a 1×1×1 stride-1 transpose is the 1×1×1 conv); the
 * kernels against scripts/volume_reference.py are
 * python/tests/test_stax_volume_transpose_std.py's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ntkc.h"
#include "random_nets.h"
#include "util.h"

Test(volume_transpose_std, finite_networks_within_their_standard_errors, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net t { param standard; input volume(2, 1, 2, 2); conv_transpose(2, 1.4, 0.1, stride=2, width=512); relu\n"
        "  conv_transpose(kd=1, kh=2, kw=2, sd=1, sh=2, sw=1, padding=circular, w_std=1.2, width=512); relu\n"
        "  global_avg_pool; dense(1.1) }",
    };
    const RandomCheckOptions o[2] = {{.width = 512, .conv_width = 128, .samples = 32, .z = 5.0},
                                     {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0, .perturb = 0.20}};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        RandomCheck both[2];
        random_net_checks(nets[i], 131 + i, o, 2, both);
        cr_assert(both[0].accepted, "%s\n%s", nets[i], both[0].message);
        cr_log_info("transpose std %zu: NNGP %.4f, NTK %.4f relative error, worst %.2f of the tolerance", i,
                    both[0].rel_nngp, both[0].rel_ntk, both[0].worst_z);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "MC transpose std %zu: NNGP %.4f, NTK %.4f, worst %.2f; 20 %% off: worst %.2f\n", i,
                    both[0].rel_nngp, both[0].rel_ntk, both[0].worst_z, both[1].worst_z);
        cr_expect(both[0].ok, "%s\n%s", nets[i], both[0].message);
        cr_expect(both[1].accepted && !both[1].ok, "kernels 20 %% off passed for\n%s", nets[i]);
    }
}

/* One tap, stride 1: lax.conv_transpose is the conv; so are the kernels, fan-in term and bias included. */
Test(volume_transpose_std, one_tap_transpose_is_the_one_tap_conv)
{
    enum { N = 3, DIM = 2 * 2 * 3 * 2 };
    double x[N * DIM], a[2 * N * N], b[2 * N * N];
    fill_random(x, N * DIM, 7);
    ntkc_net *t = compile_or_fail("net v { param standard; input volume(2, 2, 3, 2); conv(2, 1.3, 0.1, width=6); relu\n"
                                  "  conv_transpose(1, 1.2, 0.2, width=5); erf; global_avg_pool; dense(1.1) }",
                                  NTKC_BACKEND_TCC);
    ntkc_net *c = compile_or_fail("net v { param standard; input volume(2, 2, 3, 2); conv(2, 1.3, 0.1, width=6); relu\n"
                                  "  conv(1, 1.2, 0.2, width=5); erf; global_avg_pool; dense(1.1) }",
                                  NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(t, N, x, 0, NULL, DIM, a, a + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(c, N, x, 0, NULL, DIM, b, b + N * N, NULL, &err), 0, "%s", err.message);
    double worst = max_rel_diff(a, b, 2 * N * N);
    cr_expect_leq(worst, 1e-13, "one-tap transpose vs conv: %g", worst);
    ntkc_net_free(t);
    ntkc_net_free(c);
}

Test(volume_transpose_std, refusals_name_the_layer)
{
    expect_error("net v { param standard; input volume(2, 2, 2, 1); conv_local(2); relu; global_avg_pool\n"
                 "  dense }",
                 "1:51", "missing required argument 'width' for 'conv_local'");
    expect_error("net v { input volume(2, 2, 2, 1); conv_transpose(2, width=4); relu; global_avg_pool; dense }",
                 "1:53", "'width' only applies to 'param standard'");
    expect_error("net v { param standard; input volume(2, 2, 2, 1); conv_transpose(2); relu; global_avg_pool\n"
                 "  dense }",
                 "1:51", "missing required argument 'width' for 'conv_transpose'");
    expect_error("net v { param standard; input volume(2, 2, 2, 1); conv(2, width=3)\n"
                 "  residual { relu; conv_transpose(1) }; relu; global_avg_pool; dense }",
                 "2:20", "missing required argument 'width' for 'conv_transpose'");
}
