/* --precision single (docs/precision.md): float32 kernels against float64
 * ones for every fully connected net of examples/, the emitted float32 file
 * against the engine, the CLI's float32 .npy output, and the refusals.
 *
 * The error bound, relative to the largest entry of the float64 kernel:
 *     (d + 2 + 32·L)·u,   u = 2^-24 (float32's unit roundoff),
 * d the input dimension, L the net's ops (dense layers and activations).
 * Why: the Gram x1·x2 of the inputs rounded to float has error at most
 * (d + 2)·u·Σ|x1_k·x2_k| (Higham's γ_d for the dot product, plus the rounding
 * of both inputs), and Σ|x1_k·x2_k| <= ‖x1‖‖x2‖ <= the largest diagonal entry
 * (Cauchy–Schwarz); every op then maps Σ and Θ through a dozen float
 * operations whose derivatives are bounded by 1 relative to the largest
 * entry, adding at most 32 ulps of it (the ReLU pair update: 12 roundings
 * and the asin polynomial's 0.25 ulp; a dense layer: 4). It does not cover
 * distinct inputs whose correlation lies within ~1e-6 of ±1, where acos'
 * slope turns float rounding into sqrt(u) (docs/precision.md measures that
 * case); exact duplicates are snapped, and the test includes some. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntkc.h"
#include "precision_util.h"
#include "util.h"

static const double unit_roundoff = UNIT_ROUNDOFF_F32;

static ntkc_net *compile_path(const char *path, ntkc_precision precision, ntkc_backend backend)
{
    ntkc_error err = {0};
    ntkc_compile_options o = {.backend = backend, .precision = precision};
    ntkc_net *net = ntkc_compile_file(path, &o, &err);
    cr_assert_not_null(net, "%s: %s", path, err.message);
    return net;
}

/* Dense layers and activations of a fully connected example (its ops). */
static size_t count_ops(const char *path)
{
    ntkc_error err = {0};
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char *text = calloc(1, 1 << 16);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[len] = 0;
    char *ir = ntkc_ir(text, path, NULL, &err);
    cr_assert_not_null(ir, "%s", err.message);
    size_t ops = 0; /* one line "    %k = ..." per value, the input's first */
    for (const char *p = ir; (p = strstr(p, "\n    %")) != NULL; p++)
        ops++;
    ntkc_free(ir);
    free(text);
    cr_assert_gt(ops, 1, "%s: no ops in its IR", path);
    return ops - 1;
}

static void compare_example(const char *path, ntkc_backend backend)
{
    enum { N = 48, DIM = 32 };
    ntkc_net *n64 = compile_path(path, NTKC_PRECISION_DOUBLE, backend);
    ntkc_net *n32 = compile_path(path, NTKC_PRECISION_SINGLE, backend);
    size_t dim = ntkc_net_input_dim(n64) ? ntkc_net_input_dim(n64) : DIM;
    double *x = malloc(N * dim * sizeof *x);
    fill_random(x, N * dim, 1234);
    memcpy(x + (N - 1) * dim, x, dim * sizeof *x); /* a duplicate: correlation exactly 1 */
    for (size_t k = 0; k < dim; k++)
        x[(N - 2) * dim + k] = -x[dim + k]; /* and exactly -1 */
    double *k64 = malloc(2 * N * N * sizeof *k64);
    float *k32 = malloc(2 * N * N * sizeof *k32);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(n64, N, x, 0, NULL, dim, k64, k64 + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_f32(n32, N, x, 0, NULL, dim, k32, k32 + N * N, NULL, &err), 0, "%s", err.message);
    double bound = ((double)dim + 2 + 32.0 * (double)count_ops(path)) * unit_roundoff;
    double e_nngp = rel_to_largest(k64, k32, N * N), e_ntk = rel_to_largest(k64 + N * N, k32 + N * N, N * N);
    cr_expect_leq(e_nngp, bound, "%s NNGP: float32 error %.3g above the bound %.3g", path, e_nngp, bound);
    cr_expect_leq(e_ntk, bound, "%s NTK: float32 error %.3g above the bound %.3g", path, e_ntk, bound);
    /* the duplicate's kernel with its original is its diagonal entry, exactly as in float64 */
    cr_expect_eq(k32[(N - 1) * N], k32[0], "%s: a duplicated input is not snapped to correlation 1", path);
    cr_expect_eq(k32[N * N + (N - 1) * N], k32[N * N], "%s: NTK of a duplicate", path);
    free(x);
    free(k64);
    free(k32);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

static const char *const fc_examples[] = {"examples/relu5.ntk", "examples/fc.ntk", "examples/activations.ntk",
                                          "examples/digits_fc.ntk", "examples/standard.ntk"};

Test(precision, float32_within_bound_of_float64_tcc, .timeout = TIMEOUT(120))
{
    for (size_t i = 0; i < sizeof fc_examples / sizeof *fc_examples; i++)
        compare_example(fc_examples[i], NTKC_BACKEND_TCC);
}

Test(precision, float32_within_bound_of_float64_cc, .timeout = TIMEOUT(300))
{
    compare_example("examples/relu5.ntk", NTKC_BACKEND_CC);
    compare_example("examples/activations.ntk", NTKC_BACKEND_CC);
}

/* The emitted float32 file's own entry (naive Gram, the same prep and tile,
 * compiled by the system compiler without host primitives) against the
 * engine (BLAS sgemm/ssyrk, libtcc with the library's primitives): small
 * integer inputs make both Gram matrices exact, and the rest is the same
 * float operations in the same order, so every entry is bit-identical. */
Test(precision, emitted_float32_entry_matches_engine, .timeout = TIMEOUT(60))
{
    enum { N = 40, DIM = 12 };
    ntkc_net *net = compile_path("examples/relu5.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    typedef int (*Entry)(size_t, const double *, size_t, const double *, size_t, float *, float *);
    void *fn;
    void *h = load_emitted_c(ntkc_net_source(net), "ntkcnet_relu5", &fn);
    Entry entry;
    memcpy(&entry, &fn, sizeof entry);
    double x[N * DIM];
    for (size_t i = 0; i < N * DIM; i++)
        x[i] = (double)((i * 7919 + 13) % 9) - 4.0;
    float a[2 * N * N], b[2 * N * N];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_f32(net, N, x, N, x, DIM, a, a + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(entry(N, x, N, x, DIM, b, b + N * N), 0);
    for (size_t i = 0; i < 2 * N * N; i++)
        cr_assert_eq(a[i], b[i], "entry %zu: engine %.9g, emitted file %.9g", i, (double)a[i], (double)b[i]);
    dlclose(h);
    ntkc_net_free(net);
}

Test(precision, kernel_calls_check_the_precision)
{
    ntkc_net *n64 = compile_path("examples/relu5.ntk", NTKC_PRECISION_DOUBLE, NTKC_BACKEND_TCC);
    ntkc_net *n32 = compile_path("examples/relu5.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    cr_expect_eq(ntkc_net_precision(n64), NTKC_PRECISION_DOUBLE);
    cr_expect_eq(ntkc_net_precision(n32), NTKC_PRECISION_SINGLE);
    double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, k64[4];
    float k32[4];
    ntkc_error err = {0};
    cr_expect_eq(ntkc_kernel(n32, 2, x, 0, NULL, 4, k64, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "single precision: use ntkc_kernel_f32") != NULL, "%s", err.message);
    cr_expect_eq(ntkc_kernel_f32(n64, 2, x, 0, NULL, 4, k32, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "double precision: use ntkc_kernel") != NULL, "%s", err.message);
    ntkc_compile_options bad = {.precision = (ntkc_precision)7};
    cr_expect_null(ntkc_compile_file("examples/relu5.ntk", &bad, &err));
    cr_expect(strstr(err.message, "unknown precision 7") != NULL, "%s", err.message);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

/* The CLI: float32 outputs ('<f4'), the same numbers as the library. */
Test(precision, cli_writes_float32_npy, .timeout = TIMEOUT(60))
{
    char dir[256], cmd[2048], path[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; np.save('%s/x.npy', "
             "np.random.default_rng(3).standard_normal((30, 10)))\"",
             dir);
    cr_assert_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s kernel examples/relu5.ntk %s/x.npy --ntk %s/k.npy --nngp %s/s.npy --precision single --quiet",
             ntkc_bin(), dir, dir, dir);
    char errs[2048];
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; k = np.load('%s/k.npy'); s = np.load('%s/s.npy'); "
             "assert k.dtype == np.dtype('<f4') and s.dtype == np.dtype('<f4'), k.dtype; "
             "assert k.shape == (30, 30) and np.array_equal(k, k.T) and (np.diag(k) > 0).all()\"",
             dir, dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(path, sizeof path, "%s/k.npy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/s.npy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    unlink(path);
    rmdir(dir);
}

/* Nets without float32 kernels are refused by name, with the reason: exit 1,
 * no output. So is a precision ntkc does not know. */
static void expect_refused(const char *net, const char *precision, const char *what)
{
    char dir[256], cmd[2048], out[512], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.npy", dir);
    snprintf(cmd, sizeof cmd, "%s kernel %s %s/x.npy --ntk %s --precision %s", ntkc_bin(), net, dir, out,
             precision);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, 1, "%s: exit %d", net, rc);
    cr_expect(strstr(errs, what) != NULL, "%s: message '%s' lacks '%s'", net, errs, what);
    cr_expect(!file_exists(out), "%s: an output was written", net);
    rmdir(dir);
}

Test(precision, refuses_what_it_cannot_do, .timeout = TIMEOUT(60))
{
    expect_refused("examples/relu5.ntk", "half", "--precision must be single or double, not 'half'");
}

/* Prediction from float32 kernels (solved in float64) against float64: the
 * mean moves by at most about κ₂ times the kernels' relative perturbation,
 * which the entrywise bound above gives in the 2-norm as n·ε (‖δK‖₂ <=
 * n·max|δK_ij|), for the training kernel and the test-train one: 2·κ₂·n·ε
 * relative to the largest mean, κ₂ = λmax/λmin <= trace/λmin. */
Test(precision, predict_float32_within_condition_bound, .timeout = TIMEOUT(60))
{
    enum { N = 60, M = 20, DIM = 16 };
    ntkc_net *n64 = compile_path("examples/relu5.ntk", NTKC_PRECISION_DOUBLE, NTKC_BACKEND_TCC);
    ntkc_net *n32 = compile_path("examples/relu5.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    double x[N * DIM], xt[M * DIM], y[N], m64[M], m32[M], k[N * N];
    fill_random(x, N * DIM, 7);
    fill_random(xt, M * DIM, 8);
    fill_random(y, N, 9);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict(n64, N, x, y, 1, M, xt, DIM, NULL, 0, NULL, m64, NULL, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ntkc_predict(n32, N, x, y, 1, M, xt, DIM, NULL, 0, NULL, m32, NULL, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ntkc_kernel(n64, N, x, 0, NULL, DIM, NULL, k, NULL, &err), 0, "%s", err.message);
    double trace = 0, worst = 0, big = 0;
    for (size_t i = 0; i < N; i++)
        trace += k[i * N + i];
    double kappa = trace / min_eigenvalue(k, N);
    double eps = (DIM + 2 + 32.0 * 11) * unit_roundoff; /* relu5: 11 ops */
    for (size_t i = 0; i < M; i++) {
        worst = fmax(worst, fabs(m64[i] - m32[i]));
        big = fmax(big, fabs(m64[i]));
    }
    cr_expect_leq(worst / big, 2 * kappa * N * eps, "mean error %.3g, bound %.3g (κ₂ <= %.3g)", worst / big,
                  2 * kappa * N * eps, kappa);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

/* A training kernel float32 cannot carry is refused, naming the problem and
 * the ways out; the same prediction in float64 (regularised) runs. */
Test(precision, predict_float32_refuses_ill_conditioned, .timeout = TIMEOUT(60))
{
    enum { N = 40, M = 5, DIM = 8 };
    ntkc_net *n32 = compile_path("examples/relu5.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    double x[N * DIM], xt[M * DIM], y[N], mean[M];
    fill_random(x, N * DIM, 11);
    memcpy(x + (N - 1) * DIM, x, DIM * sizeof *x); /* a repeated point: singular without reg */
    fill_random(xt, M * DIM, 12);
    fill_random(y, N, 13);
    ntkc_error err = {0};
    cr_expect_eq(ntkc_predict(n32, N, x, y, 1, M, xt, DIM, NULL, 0, NULL, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "is singular") && strstr(err.message, "--precision double") &&
                  strstr(err.message, "--reg"),
              "%s", err.message);
    ntkc_predict_options o = {.reg = 1e-9};
    cr_expect_eq(ntkc_predict(n32, N, x, y, 1, M, xt, DIM, NULL, 0, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "has condition number") && strstr(err.message, "--precision double"), "%s",
              err.message);
    o.reg = 1e-2; /* λmin >= reg·trace/n, λmax <= trace: κ₂ <= n/reg = 4000, κ₁ <= n·κ₂: κ₁·u < 1e-2 */
    cr_expect_eq(ntkc_predict(n32, N, x, y, 1, M, xt, DIM, NULL, 0, &o, mean, NULL, NULL, &err), 0, "%s",
                 err.message);
    ntkc_net_free(n32);
}

/* The snap before a float64 dual in a float32 tile (ntkc_math_f.h): within
 * 2^-20 of √(v1·v2) becomes ±√(v1·v2) exactly; farther stays as it is. */
double ntkc_host_snap_f(float s12, float v1, float v2);
Test(precision, snap_before_float64_duals)
{
    float v1 = 2.0f, v2 = 8.0f; /* √(v1·v2) = 4 */
    cr_expect_eq(ntkc_host_snap_f(4.0f * (1.0f - 0x1p-21f), v1, v2), 4.0);
    cr_expect_eq(ntkc_host_snap_f(-4.0f * (1.0f + 0x1p-21f), v1, v2), -4.0);
    cr_expect_eq(ntkc_host_snap_f(4.0f * (1.0f - 0x1p-18f), v1, v2), (double)(4.0f * (1.0f - 0x1p-18f)));
    cr_expect_eq(ntkc_host_snap_f(1.5f, v1, v2), 1.5);
    cr_expect_eq(ntkc_host_snap_f(0.0f, 0.0f, v2), 0.0); /* zero variance: nothing to snap to */
}
