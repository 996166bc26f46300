/* The finite-width networks: their blockwise NTK against an explicit J·Jᵀ,
 * determinism, symmetry and PSD-ness, and the Monte Carlo average against
 * closed-form infinite-width kernels written here independently. */
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_net.h"
#include "finite_test_nets.h"
#include "ntkc_tool.h"

static void random_inputs(double *x, size_t n, size_t dim, unsigned long long seed)
{
    Rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, x, n * dim, 1.0);
}

static void mirror_upper(double *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            k[i * n + j] = k[j * n + i];
}

/* ---- Blockwise NTK = explicit J·Jᵀ ------------------------------------ */

/* J (n×P) by central differences over every parameter. Each parameter enters
 * f polynomially between kinks, so the error is h²·f'''/6 (zero for ReLU nets,
 * whose f is piecewise linear in any single parameter) plus rounding
 * ≈ ε·|f|/h; with h = 1e-5 both stay below ~1e-10 per entry of J. */
static void jacobian_fd(FiniteNet *fn, size_t n, const double *x, double *jac, size_t P)
{
    const double h = 1e-5;
    size_t count;
    double *theta = finite_net_params(fn, &count);
    cr_assert_eq(count, P);
    double fp[8], fm[8];
    cr_assert_leq(n, 8u);
    ntkc_error err = {0};
    for (size_t p = 0; p < P; p++) {
        double saved = theta[p];
        theta[p] = saved + h;
        cr_assert_eq(finite_net_forward(fn, n, x, fp, &err), 0, "%s", err.message);
        theta[p] = saved - h;
        cr_assert_eq(finite_net_forward(fn, n, x, fm, &err), 0, "%s", err.message);
        theta[p] = saved;
        for (size_t i = 0; i < n; i++)
            jac[i * P + p] = (fp[i] - fm[i]) / (2 * h);
    }
}

static void check_blockwise_equals_jjt(Parameterization param, const char *act, unsigned long long seed)
{
    enum { N = 4, DIM = 3, WIDTH = 5 };
    IrOp ops[] = {test_dense(1.3, 0.2, 1, WIDTH), test_act(act), test_dense(0.9, 0.4, 1, WIDTH), test_act(act),
                  test_dense(1.1, 0.3, 1, 0)};
    TestNet t;
    test_net(&t, param, ops, 5);
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new(&t.net, DIM, WIDTH, 1, &err);
    cr_assert_not_null(fn, "%s", err.message);
    Rng r;
    rng_seed(&r, seed);
    finite_net_init(fn, &r);
    double x[N * DIM];
    random_inputs(x, N, DIM, seed + 1);

    double nngp[N * N] = {0}, ntk[N * N] = {0}, f[N];
    cr_assert_eq(finite_net_accumulate_kernels(fn, N, x, nngp, ntk, &err), 0, "%s", err.message);
    mirror_upper(nngp, N);
    mirror_upper(ntk, N);
    cr_assert_eq(finite_net_forward(fn, N, x, f, &err), 0, "%s", err.message);

    size_t P;
    finite_net_params(fn, &P);
    /* 3·5+5 + 5·5+5 + 5+1 weights and biases */
    cr_assert_eq(P, (size_t)(DIM * WIDTH + WIDTH + WIDTH * WIDTH + WIDTH + WIDTH + 1));
    double *jac = malloc(N * P * sizeof *jac);
    jacobian_fd(fn, N, x, jac, P);
    double scale = 0;
    for (size_t i = 0; i < N; i++)
        scale = fmax(scale, ntk[i * N + i]);
    cr_assert_gt(scale, 1e-3, "degenerate test: the NTK diagonal is ~0");
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double jjt = 0;
            for (size_t p = 0; p < P; p++)
                jjt += jac[i * P + p] * jac[j * P + p];
            /* J entries are O(1) and accurate to ~1e-10, summed over P = 81 terms. */
            cr_assert_float_eq(ntk[i * N + j], jjt, 1e-7 * scale, "%s %s NTK(%zu,%zu): blockwise %.12g, J·Jᵀ %.12g",
                               param == PARAM_NTK ? "ntk" : "standard", act, i, j, ntk[i * N + j], jjt);
            cr_assert_eq(nngp[i * N + j], f[i] * f[j], "NNGP(%zu,%zu) is not f(x_i)f(x_j)", i, j);
        }
    free(jac);
    finite_net_free(fn);
}

Test(finite_net, blockwise_ntk_equals_jjt_relu_ntk_param) { check_blockwise_equals_jjt(PARAM_NTK, "relu", 11); }
Test(finite_net, blockwise_ntk_equals_jjt_erf_ntk_param) { check_blockwise_equals_jjt(PARAM_NTK, "erf", 12); }
Test(finite_net, blockwise_ntk_equals_jjt_relu_standard) { check_blockwise_equals_jjt(PARAM_STANDARD, "relu", 13); }
Test(finite_net, blockwise_ntk_equals_jjt_erf_standard) { check_blockwise_equals_jjt(PARAM_STANDARD, "erf", 14); }

/* An activation after the readout acts on the output unit; no bias anywhere. */
Test(finite_net, blockwise_ntk_equals_jjt_act_after_readout)
{
    enum { N = 3, DIM = 2, WIDTH = 4 };
    IrOp ops[] = {test_dense(1.0, 0.0, 0, WIDTH), test_act("erf"), test_dense(1.2, 0.0, 0, 0), test_act("erf")};
    TestNet t;
    test_net(&t, PARAM_NTK, ops, 4);
    ntkc_error err = {0};
    FiniteNet *fn = finite_net_new(&t.net, DIM, WIDTH, 1, &err);
    cr_assert_not_null(fn, "%s", err.message);
    Rng r;
    rng_seed(&r, 5);
    finite_net_init(fn, &r);
    double x[N * DIM], ntk[N * N] = {0};
    random_inputs(x, N, DIM, 6);
    cr_assert_eq(finite_net_accumulate_kernels(fn, N, x, NULL, ntk, &err), 0, "%s", err.message);
    mirror_upper(ntk, N);
    size_t P;
    finite_net_params(fn, &P);
    cr_assert_eq(P, (size_t)(DIM * WIDTH + WIDTH), "b_std = 0 must add no bias parameters");
    double jac[N * (DIM * WIDTH + WIDTH)];
    jacobian_fd(fn, N, x, jac, P);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double jjt = 0;
            for (size_t p = 0; p < P; p++)
                jjt += jac[i * P + p] * jac[j * P + p];
            cr_assert_float_eq(ntk[i * N + j], jjt, 1e-8, "NTK(%zu,%zu): %.12g vs %.12g", i, j, ntk[i * N + j], jjt);
        }
    finite_net_free(fn);
}

/* ---- Determinism, symmetry, PSD --------------------------------------- */

static void deep_relu(TestNet *t)
{
    IrOp ops[] = {test_dense(1.4, 0.1, 1, 0), test_act("relu"), test_dense(1.4, 0.1, 1, 0), test_act("relu"),
                  test_dense(1.4, 0.1, 1, 0), test_act("erf"), test_dense(1.0, 0.0, 0, 0)};
    test_net(t, PARAM_NTK, ops, 7);
}

Test(finite_net, same_seed_same_bits)
{
    enum { N = 6, DIM = 5 };
    TestNet t;
    deep_relu(&t);
    double x[N * DIM];
    random_inputs(x, N, DIM, 3);
    FiniteNetOptions o = {.width = 48, .samples = 3, .seed = 99};
    double a[2][N * N], b[2][N * N];
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, a[0], a[1], &err), 0, "%s", err.message);
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, b[0], b[1], &err), 0, "%s", err.message);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "same seed gave different kernels");
    /* NNGP alone draws the same networks: identical bits again. */
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, b[0], NULL, &err), 0, "%s", err.message);
    cr_assert_eq(memcmp(a[0], b[0], sizeof a[0]), 0);
    o.seed = 100;
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, b[0], b[1], &err), 0, "%s", err.message);
    cr_assert_neq(memcmp(a, b, sizeof a), 0, "a different seed gave the same kernels");
}

static double min_eigenvalue(const double *k, size_t n)
{
    double *a = malloc(n * n * sizeof *a), *w = malloc(n * sizeof *w);
    memcpy(a, k, n * n * sizeof *a);
    cr_assert_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (int)n, a, (int)n, w), 0);
    double m = w[0];
    free(a);
    free(w);
    return m;
}

Test(finite_net, kernels_symmetric_and_psd)
{
    enum { N = 12, DIM = 7 };
    TestNet t;
    deep_relu(&t);
    double x[N * DIM], nngp[N * N], ntk[N * N];
    random_inputs(x, N, DIM, 4);
    FiniteNetOptions o = {.width = 64, .samples = 20, .seed = 5};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, N, x, DIM, &o, nngp, ntk, &err), 0, "%s", err.message);
    double tr_nngp = 0, tr_ntk = 0;
    for (size_t i = 0; i < N; i++) {
        tr_nngp += nngp[i * N + i];
        tr_ntk += ntk[i * N + i];
        for (size_t j = 0; j < N; j++) {
            cr_assert_eq(nngp[i * N + j], nngp[j * N + i], "NNGP not symmetric at (%zu,%zu)", i, j);
            cr_assert_eq(ntk[i * N + j], ntk[j * N + i], "NTK not symmetric at (%zu,%zu)", i, j);
        }
    }
    cr_assert_gt(tr_nngp, 0);
    cr_assert_gt(tr_ntk, 0);
    /* Sums of Gram matrices: PSD up to the eigensolver's rounding, ~1e-15·trace. */
    cr_assert_geq(min_eigenvalue(nngp, N), -1e-12 * tr_nngp);
    cr_assert_geq(min_eigenvalue(ntk, N), -1e-12 * tr_ntk);
}

/* The two parameterizations draw the same function for the same seed and
 * widths: same NNGP bits. Their NTKs differ (different parameters). */
Test(finite_net, parameterizations_share_the_function)
{
    enum { N = 5, DIM = 3, WIDTH = 32 };
    IrOp ops[] = {test_dense(1.5, 0.2, 1, WIDTH), test_act("relu"), test_dense(0.8, 0.1, 1, 0)};
    TestNet a, b;
    test_net(&a, PARAM_NTK, ops, 3);
    test_net(&b, PARAM_STANDARD, ops, 3);
    double x[N * DIM], ka[N * N], kb[N * N], ta[N * N], tb[N * N];
    random_inputs(x, N, DIM, 8);
    FiniteNetOptions o = {.width = WIDTH, .samples = 2, .seed = 21};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&a.net, N, x, DIM, &o, ka, ta, &err), 0, "%s", err.message);
    cr_assert_eq(finite_net_kernels(&b.net, N, x, DIM, &o, kb, tb, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N * N; i++)
        cr_assert_float_eq(ka[i], kb[i], 1e-12 * (1 + fabs(ka[i])));
    /* standard-parameterization NTK ≈ width · NNGP_hidden: far larger here */
    cr_assert_gt(tb[0], 4 * ta[0]);
}

/* ---- Errors ------------------------------------------------------------ */

Test(finite_net, standard_hidden_layer_without_width_is_an_error)
{
    IrOp ops[] = {test_dense(1.0, 0.0, 0, 0), test_act("relu"), test_dense(1.0, 0.0, 0, 0)};
    TestNet t;
    test_net(&t, PARAM_STANDARD, ops, 3);
    double x[2] = {1, 2}, k[1], th[1];
    FiniteNetOptions o = {.width = 8, .samples = 1, .seed = 1};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, 1, x, 2, &o, k, th, &err), NTKC_EUSER);
    cr_assert_not_null(strstr(err.message, "test.ntk:1:1"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "explicit width"), "%s", err.message);
}

Test(finite_net, input_dimension_mismatch_is_an_error)
{
    IrOp ops[] = {test_dense(1.0, 0.0, 0, 0)};
    TestNet t;
    test_net(&t, PARAM_NTK, ops, 1);
    t.net.input.dim = 3;
    double x[2] = {1, 2}, k[1];
    FiniteNetOptions o = {.width = 8, .samples = 1, .seed = 1};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, 1, x, 2, &o, k, NULL, &err), NTKC_EUSER);
    cr_assert_not_null(strstr(err.message, "dimension 3, the data has 2"), "%s", err.message);
}

Test(finite_net, non_finite_input_is_an_error)
{
    IrOp ops[] = {test_dense(1.0, 0.0, 0, 0)};
    TestNet t;
    test_net(&t, PARAM_NTK, ops, 1);
    double x[4] = {1, 2, NAN, 0}, k[4], th[4];
    FiniteNetOptions o = {.width = 8, .samples = 1, .seed = 1};
    ntkc_error err = {0};
    cr_assert_eq(finite_net_kernels(&t.net, 2, x, 2, &o, k, th, &err), NTKC_EUSER);
    cr_assert_not_null(strstr(err.message, "row 1, column 0"), "%s", err.message);
}
