/* conv_transpose and conv_local with trainable=false: the argument added
 * through the op's table (its row in lower_conv_variants.c and the row's
 * descriptor, which hands it to ntkc_cvar4), as the proof of
 * docs/architecture.md's "adding a layer". Checked:
 *  - every entry against the pixel-pair reference (conv_reference.c), both
 *    back ends, every padding, frozen layers first and in the middle;
 *  - closed-form identities needing no reference: the NNGP does not depend
 *    on trainable (bit for bit); a frozen first layer contributes no Θ, so
 *    the NTK of `frozen; [relu]; global_avg_pool; dense(w, b)` is its NNGP,
 *    and with the layer trained it is 2·NNGP − b² (without the relu; with
 *    it, larger on the diagonal);
 *  - `ntkc ir` shows the argument with no printer line of its own;
 *  - the finite nets: frozen parameters get no gradient and no tangent, and
 *    <J·v, g> = <v, Jᵀ·g> still holds.
 * Monte Carlo: test_monte_carlo.c, frozen_conv_variants_*. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_compare.h"
#include "finite_model.h"
#include "ir_print.h"
#include "net_internal.h"
#include "rng.h"
#include "util.h"

enum { N = 4 };

static void kernels(const char *src, ntkc_backend backend, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, backend);
    size_t d = ntkc_net_ir(net)->input.dim;
    double *x = malloc(N * d * sizeof *x);
    fill_random(x, N * d, 5);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    free(x);
    ntkc_net_free(net);
}

static void check_reference(const char *src, int both_backends)
{
    check_conv_reference(src, N, 17, both_backends, 1e-11);
}

Test(frozen_variants, every_padding_matches_reference, .timeout = TIMEOUT(300))
{
    static const char *const pads[] = {"same", "valid", "circular"};
    char src[512];
    for (int p = 0; p < 3; p++) {
        snprintf(src, sizeof src,
                 "net t { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2, padding=%s, trainable=false)\n"
                 "  relu; conv_local(2, 1.3, 0.2, padding=%s); erf; global_avg_pool; dense(1.2) }",
                 pads[p], pads[(p + 1) % 3]);
        check_reference(src, p == 0);
        snprintf(src, sizeof src,
                 "net s { input sequence(6, 2); conv(3, 1.3, 0.1); relu\n"
                 "  conv_local(3, 1.4, 0.1, stride=2, padding=%s, trainable=false); relu\n"
                 "  conv_transpose(2, 1.1, 0.1, stride=2, padding=%s, trainable=false); flatten; dense }",
                 pads[p], pads[(p + 2) % 3]);
        check_reference(src, 0);
    }
}

/* Σ never depends on trainable; a frozen first layer leaves Θ = 0 until the
 * readout, whose Θ is then its Σ; trained, the first layer's Θ is its Σ, so
 * the readout's Θ = Σ_out + w²·Σ_pool = 2·Σ_out − b². */
Test(frozen_variants, closed_forms_of_a_frozen_first_layer, .timeout = TIMEOUT(120))
{
    static const char *const layers[] = {"conv_transpose(3, 1.4, 0.1, stride=2%s)",
                                         "conv_local(3, 1.4, 0.1, stride=2, padding=valid%s)"};
    for (int k = 0; k < 2; k++)
        for (int relu = 0; relu < 2; relu++) {
            char layer[2][128], src[2][256];
            double s[2][N * N], t[2][N * N];
            for (int fz = 0; fz < 2; fz++) {
                snprintf(layer[fz], sizeof layer[fz], layers[k], fz ? ", trainable=false" : "");
                snprintf(src[fz], sizeof src[fz],
                         "net f { input image(5, 4, 2); %s%s; global_avg_pool; dense(1.3, 0.2) }", layer[fz],
                         relu ? "; relu" : "");
                kernels(src[fz], NTKC_BACKEND_TCC, s[fz], t[fz]);
            }
            cr_expect(memcmp(s[0], s[1], sizeof s[0]) == 0, "NNGP changed with trainable:\n%s", src[1]);
            for (size_t e = 0; e < N * N; e++) {
                cr_expect(fabs(t[1][e] - s[1][e]) <= 1e-13 * fabs(s[1][e]), "frozen: NTK %.17g, NNGP %.17g\n%s",
                          t[1][e], s[1][e], src[1]);
                if (!relu)
                    cr_expect(fabs(t[0][e] - (2 * s[0][e] - 0.04)) <= 1e-13 * fabs(t[0][e]),
                              "trained: NTK %.17g, 2 NNGP - b^2 %.17g\n%s", t[0][e], 2 * s[0][e] - 0.04, src[0]);
                else if (e % (N + 1) == 0) /* an input with itself: the layer's Θ = Σ·Ṫ adds Σ(p, p)·Ṫ > 0 */
                    cr_expect(t[0][e] > t[1][e] * (1 + 1e-3), "trained NTK %.17g not above frozen %.17g\n%s", t[0][e],
                              t[1][e], src[0]);
            }
        }
}

Test(frozen_variants, ir_shows_the_argument)
{
    ntkc_net *net = compile_or_fail("net f { input image(4, 4, 1); conv_transpose(2, 1.4, stride=2, trainable=false)\n"
                                    "  relu; conv_local(3); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ntkc_net_ir(net));
    cr_expect(strstr(sb.data, "%1 = conv_transpose %0, window 2x2, stride 2x2, padding same, w_std 1.4, "
                              "trainable false #") != NULL, "%s", sb.data);
    cr_expect(strstr(sb.data, "%3 = conv_local %2, window 3x3, stride 1x1, padding same #") != NULL,
              "defaults are not shown:\n%s", sb.data);
    sb_free(&sb);
    ntkc_net_free(net);
}

Test(frozen_variants, errors)
{
    ntkc_error err = {0};
    ntkc_compile_options opts = {.backend = NTKC_BACKEND_TCC};
    ntkc_net *net = ntkc_compile_string("net f { input image(4, 4, 1); conv_local(3, trainable=maybe); flatten; dense }",
                                        "f.ntk", &opts, &err);
    cr_expect_null(net);
    cr_expect(strstr(err.message, "f.ntk:1:55") != NULL && strstr(err.message, "trainable 'maybe'") != NULL &&
                  strstr(err.message, "one of: false, true") != NULL,
              "%s", err.message);
}

/* The finite net `ntkc train` and `ntkc check` build: a frozen layer's
 * parameters get a zero gradient and do not move the tangent; the adjoint
 * identity holds for the rest. */
Test(frozen_variants, finite_frozen_parameters_have_no_gradient, .timeout = TIMEOUT(120))
{
    static const char *const src = "net a { input image(3, 4, 2); conv_transpose(3, 1.4, 0.1, stride=2, "
                                   "trainable=false); relu\n"
                                   "  conv_local(2, 1.3, 0.2, stride=3, padding=valid); erf; global_avg_pool; dense(1.2) }";
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim;
    double x[2 * 24];
    fill_random(x, 2 * d, 8);
    ntkc_error err = {0};
    FiniteModel m;
    FiniteData data = {.rows = 2, .x = x, .dim = d};
    cr_assert_eq(finite_model_new(ir, &data, 16, 1, FINITE_AS_IR, &m, &err), 0, "%s", err.message);
    Rng r;
    rng_seed(&r, 3);
    finite_model_init(&m, &r);
    size_t np = m.np, frozen = 3 * 3 * 2 * 16 + 16; /* the first layer's W (k·ci × width) and β */
    double *v = malloc(np * sizeof *v), *grad = malloc(np * sizeof *grad), f[2], jv[2], jv0[2], g[2] = {0.7, -1.3};
    fill_random(v, np, 9);
    cr_assert_eq(finite_model_forward(&m, &data, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_jvp(&m, &data, v, jv, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_vjp(&m, &data, g, grad, &err), 0, "%s", err.message);
    for (size_t k = 0; k < frozen; k++)
        cr_expect(grad[k] == 0.0, "frozen parameter %zu has gradient %g", k, grad[k]);
    double lhs = jv[0] * g[0] + jv[1] * g[1], rhs = 0;
    for (size_t k = 0; k < np; k++)
        rhs += v[k] * grad[k];
    cr_expect(fabs(lhs - rhs) <= 1e-10 * (fabs(lhs) + 1), "<Jv, g> %.17g, <v, J^T g> %.17g", lhs, rhs);
    cr_expect(fabs(lhs) > 1e-3, "a tangent of zero checks nothing (%g)", lhs);
    for (size_t k = 0; k < frozen; k++) /* moving only frozen parameters moves nothing */
        v[k] = 0.0;
    for (size_t k = frozen; k < np; k++)
        v[k] = 0.0;
    fill_random(v, frozen, 10);
    cr_assert_eq(finite_model_jvp(&m, &data, v, jv0, &err), 0, "%s", err.message);
    cr_expect(jv0[0] == 0.0 && jv0[1] == 0.0, "a tangent along frozen parameters: %g, %g", jv0[0], jv0[1]);
    free(v);
    free(grad);
    finite_model_free(&m);
    ntkc_net_free(net);
}
