/* Numerical robustness: zero inputs, exactly repeated inputs (correlation 1),
 * depth 200 (stable at the critical w_std, overflow reported at a large
 * one — never Inf or NaN returned), and float32 inputs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "util.h"

static void kernel_ok(const ntkc_net *net, size_t n, const double *x, size_t d, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n, x, 0, NULL, d, s, t, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < n * n; i++)
        cr_assert(isfinite(s[i]) && isfinite(t[i]), "entry %zu not finite", i);
}

/* A zero input has Σ = 0 after a bias-free dense layer; for ReLU, identity
 * and erf with c = 0 its whole row is exactly 0, and with c ≠ 0 it is c²
 * (then scaled by the readout). */
Test(numerics, zero_input_rows)
{
    enum { N = 3, D = 5 };
    double x[N * D] = {0}, s[N * N], t[N * N];
    fill_random(x + D, (N - 1) * D, 3); /* row 0 stays zero */
    static const struct {
        const char *src;
        double row0_nngp; /* the value of every entry of row 0 */
    } nets[] = {
        {"net r { dense(1.5); relu; dense(1.3); relu; dense }", 0.0},
        {"net i { dense(1.5); identity; dense(2) }", 0.0},
        {"net e { dense(1.5); erf(2, 3); dense }", 0.0},
        {"net c { dense(1.5); erf(2, 3, 0.5); dense(2) }", 4 * 0.25},
    };
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ntkc_net *net = compile_or_fail(nets[k].src, NTKC_BACKEND_TCC);
        kernel_ok(net, N, x, D, s, t);
        for (int j = 0; j < N; j++) {
            cr_expect_eq(s[j], nets[k].row0_nngp, "%s: NNGP[0][%d] = %g", nets[k].src, j, s[j]);
            cr_expect_eq(s[j * N], s[j], "%s: not symmetric", nets[k].src);
        }
        ntkc_net_free(net);
    }
}

/* With biases a zero input is an ordinary point: finite, positive semi-definite. */
Test(numerics, zero_input_with_biases_is_psd)
{
    enum { N = 6, D = 4 };
    double x[N * D] = {0}, s[N * N], t[N * N];
    fill_random(x + 2 * D, (N - 2) * D, 9); /* rows 0 and 1 zero: a zero duplicate too */
    ntkc_net *net = compile_or_fail("net b { dense(1.5, 0.3); relu; dense(1.2, 0.1); erf; dense(1, 0.2) }",
                                    NTKC_BACKEND_TCC);
    kernel_ok(net, N, x, D, s, t);
    for (int j = 0; j < N; j++)
        cr_expect_eq(s[j], s[N + j], "the two zero rows differ at column %d", j);
    cr_expect_geq(min_eigenvalue(s, N), -1e-12 * s[N * N - 1]);
    cr_expect_geq(min_eigenvalue(t, N), -1e-12 * t[N * N - 1]);
    ntkc_net_free(net);
}

/* Rows repeated exactly (correlation 1, the edge of arccos and arcsin):
 * every entry of a copy equals the original's, bit for bit, so the kernel
 * matrix stays positive semi-definite (a copy that differed by rounding from
 * the diagonal would make it indefinite). */
Test(numerics, duplicate_inputs_match_exactly)
{
    enum { M = 150, N = 2 * M, D = 64 }; /* copies 150 rows apart: other row panels */
    double *x = malloc(N * D * sizeof *x), *s = malloc(N * N * sizeof *s), *t = malloc(N * N * sizeof *t);
    fill_random(x, M * D, 4);
    memcpy(x + M * D, x, M * D * sizeof *x);
    static const char *const nets[] = {
        "net r { dense(1.5); relu; dense(1.5, 0.1); relu; dense }",
        "net e { dense(1.2, 0.1); erf(1, 3); dense(1.3); erf; dense }",
        "net m { dense(1.4, 0.1); relu; repeat 5 { dense(1.4, 0.1); erf; dense(1.4); relu }; dense }",
        "net d { repeat 200 { dense(1.4142135623730951); relu }; dense }",
    };
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ntkc_net *net = compile_or_fail(nets[k], NTKC_BACKEND_TCC);
        kernel_ok(net, N, x, D, s, t);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                cr_expect_eq(s[(i + M) * N + j], s[i * N + j], "%s: NNGP row %d of the copy differs", nets[k], i);
                cr_expect_eq(t[(i + M) * N + j], t[i * N + j], "%s: NTK row %d of the copy differs", nets[k], i);
            }
        cr_expect_geq(min_eigenvalue(s, N), -1e-12 * s[0], "%s: NNGP not PSD", nets[k]);
        cr_expect_geq(min_eigenvalue(t, N), -1e-12 * t[0], "%s: NTK not PSD", nets[k]);
        ntkc_net_free(net);
    }
    free(x);
    free(s);
    free(t);
}

/* The same with the copies given as a second input set, and with negated
 * copies (correlation exactly -1): one bias-free ReLU layer gives them 0. */
Test(numerics, duplicate_and_negated_second_inputs)
{
    enum { N = 40, D = 30 };
    double x[N * D], y[N * D], s[N * N], t[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 12);
    ntkc_net *net = compile_or_fail("net r { dense(1.5); relu; dense(1.2); relu; dense }", NTKC_BACKEND_TCC);
    kernel_ok(net, N, x, D, s, t);
    memcpy(y, x, sizeof x);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x, N, y, D, s2, t2, NULL, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(s, s2, sizeof s), 0, "NNGP against a copy differs from the symmetric kernel");
    cr_expect_eq(memcmp(t, t2, sizeof t), 0, "NTK against a copy differs from the symmetric kernel");
    ntkc_net_free(net);
    /* One hidden ReLU layer: Σ(x, -x) = -Σ(x, x) gives T = 0 and Ṫ = 0. */
    net = compile_or_fail("net one { dense(1.5); relu; dense(1.2) }", NTKC_BACKEND_TCC);
    for (int i = 0; i < N * D; i++)
        y[i] = -x[i];
    cr_assert_eq(ntkc_kernel(net, N, x, N, y, D, s2, t2, NULL, &err), 0, "%s", err.message);
    for (int i = 0; i < N; i++) {
        cr_expect_eq(s2[i * N + i], 0.0, "NNGP(x, -x) of row %d is %g", i, s2[i * N + i]);
        cr_expect_eq(t2[i * N + i], 0.0, "NTK(x, -x) of row %d is %g", i, t2[i * N + i]);
    }
    ntkc_net_free(net);
}

/* ReLU at the critical w_std = √2 keeps the NNGP diagonal at |x|²/d through
 * 200 layers (each dense doubles it, each ReLU halves it) and the NTK
 * diagonal at 201·|x|²/d (each layer adds the NNGP; Ṫ = 1/2 exactly at
 * correlation 1). */
Test(numerics, depth_200_critical_is_stable)
{
    enum { N = 8, D = 10 };
    double x[N * D], s[N * N], t[N * N];
    fill_random(x, N * D, 8);
    ntkc_net *net = compile_or_fail("net deep { repeat 200 { dense(1.4142135623730951); relu }; dense }",
                                    NTKC_BACKEND_TCC);
    kernel_ok(net, N, x, D, s, t);
    const double w2 = 1.4142135623730951 * 1.4142135623730951; /* 2 + 1 ulp: 200 layers of it */
    for (int i = 0; i < N; i++) {
        double q = 0;
        for (int k = 0; k < D; k++)
            q += x[i * D + k] * x[i * D + k];
        double expect = q / D * pow(w2 / 2, 200);
        cr_expect_float_eq(s[i * N + i], expect, 1e-12 * expect, "row %d: %.17g vs %.17g", i, s[i * N + i],
                           expect);
        cr_expect_float_eq(t[i * N + i], 201 * expect, 1e-12 * 201 * expect, "row %d: NTK %.17g vs %.17g", i,
                           t[i * N + i], 201 * expect);
    }
    ntkc_net_free(net);
}

/* Depth 200 with w_std = 10 overflows (Σ ~ 50^200): an error naming the
 * entry, the outputs not trusted — never Inf or NaN returned as a result. */
Test(numerics, depth_200_overflow_is_reported)
{
    enum { N = 3, D = 4 };
    double x[N * D], s[N * N], t[N * N];
    fill_random(x, N * D, 2);
    static const char *const nets[] = {
        "net big { repeat 200 { dense(10); relu }; dense }",
        "net lin { repeat 200 { dense(10) } }",
        "net wide { dense(1e100); repeat 3 { dense(1e100); identity } }",
    };
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ntkc_net *net = compile_or_fail(nets[k], NTKC_BACKEND_TCC);
        ntkc_error err = {0};
        cr_expect_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 1, "%s", nets[k]);
        cr_expect(strstr(err.message, "not finite at entry [") != NULL, "%s: %s", nets[k], err.message);
        cr_expect(strstr(err.message, "overflow") != NULL, "%s: %s", nets[k], err.message);
        ntkc_net_free(net);
    }
}

/* The overflow message shows the values of the kernels asked for only: with
 * --nngp alone it said "NTK 0" for the NTK it never computed. */
Test(numerics, overflow_message_names_only_the_kernels_computed)
{
    enum { N = 3, D = 4 };
    double x[N * D], k[N * N];
    fill_random(x, N * D, 2);
    ntkc_net *net = compile_or_fail("net lin { repeat 200 { dense(10) } }", NTKC_BACKEND_TCC);
    for (int which = 0; which < 2; which++) {
        ntkc_error err = {0};
        cr_expect_eq(ntkc_kernel(net, N, x, 0, NULL, D, which ? NULL : k, which ? k : NULL, NULL, &err), 1);
        const char *want = which ? "[0, 0] (NTK " : "[0, 0] (NNGP ", *absent = which ? "NNGP" : "NTK";
        cr_expect(strstr(err.message, want) != NULL, "%s", err.message);
        cr_expect(strstr(err.message, absent) == NULL, "%s", err.message);
    }
    ntkc_net_free(net);
}

/* float32 data are read exactly (every float is a double), so the kernel
 * equals the one of the same values given as float64, bit for bit. */
Test(numerics, float32_inputs_equal_float64_of_same_values)
{
    enum { N = 16, D = 7 };
    float f[N * D];
    double x[N * D];
    fill_random(x, N * D, 21);
    for (int i = 0; i < N * D; i++) {
        f[i] = (float)(x[i] * 3.7);
        x[i] = f[i];
    }
    unsigned char file[128 + sizeof f] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (16, 7), }";
    memset(file + 10, ' ', 118);
    memcpy(file + 10, dict, strlen(dict));
    file[127] = '\n';
    memcpy(file + 128, f, sizeof f);
    NpyArray a;
    ntkc_error err = {0};
    cr_assert_eq(npy_parse(file, sizeof file, "f4.npy", &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, (size_t)(N * D));
    ntkc_net *net = compile_or_fail("net f { dense(1.5, 0.1); relu; dense(1.2); erf; dense }", NTKC_BACKEND_TCC);
    double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    kernel_ok(net, N, a.data, D, s1, t1);
    kernel_ok(net, N, x, D, s2, t2);
    cr_expect_eq(memcmp(s1, s2, sizeof s1), 0);
    cr_expect_eq(memcmp(t1, t2, sizeof t1), 0);
    npy_free(&a);
    ntkc_net_free(net);
}
