/* --precision single for image nets (docs/precision.md): float32 kernels of
 * every image net of examples/ and of nets with the other activations,
 * layer_norm, flatten and a vector residual net, against float64 ones,
 * symmetric (the triangle function) and cross (the tile), on both back ends;
 * prediction from them; the CLI's float32 output.
 *
 * The error bound, relative to the largest entry of the float64 kernel
 * (docs/precision.md, "Image nets"):
 *     (C + 2 + Σ_conv (kh·kw + 2) + 32·L)·u,   u = 2^-24,
 * C the input channels (each pixel pair's input kernel is a dot product over
 * C, plus the rounding of both inputs: Higham's γ_C), each convolution's
 * window sum of kh·kw terms plus its scale and bias, and L the other ops
 * (activations, dense, pooling, fan-in, layer_norm), each adding at most 32
 * ulps of the largest entry as in the fully connected bound (test_precision.c);
 * the global pool sums in float64 and adds one rounding. Every count is read
 * from the net's IR (ntkc_ir), not written here; a vector input's C is its
 * dimension. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntkc.h"
#include "precision_util.h"
#include "util.h"

static const double unit_roundoff = UNIT_ROUNDOFF_F32;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *text = calloc(1, 1 << 16);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[len] = 0;
    return text;
}

/* The bound above, counted on the IR of source: C from the input line,
 * a window kh×kw per conv line, every other value line one op. */
static double image_bound(const char *source, const char *name, size_t dim)
{
    ntkc_error err = {0};
    char *ir = ntkc_ir(source, name, NULL, &err);
    cr_assert_not_null(ir, "%s", err.message);
    double channels = 0, conv = 0, other = 0;
    for (char *line = strtok(ir, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *p = line + strspn(line, " ");
        const char *eq = strstr(p, " = ");
        if (*p != '%' || eq == NULL)
            continue;
        const char *op = eq + 3;
        unsigned h, w, c, kh, kw;
        if (sscanf(op, "input image(%u, %u, %u)", &h, &w, &c) == 3)
            channels = c;
        else if (sscanf(op, "input sequence(%u, %u)", &h, &c) == 2)
            channels = c;
        else if (strncmp(op, "input vector", 12) == 0) /* the input kernel: a dot product over dim */
            channels = (double)dim;
        else if (strncmp(op, "input", 5) != 0) {
            /* a window's sum (conv, pools, conv variants); every op but a plain conv also 32 ulps */
            const char *win = strstr(op, "window ");
            if (win != NULL && sscanf(win + 7, "%ux%u", &kh, &kw) == 2)
                conv += kh * kw + 2.0;
            if (strncmp(op, "conv ", 5) != 0 || win == NULL)
                other += 1;
        }
    }
    ntkc_free(ir);
    cr_assert_gt(channels, 0, "%s: no input line in its IR", name);
    cr_assert_gt(other, 0, "%s: no ops in its IR", name);
    return (channels + 2 + conv + 32 * other) * unit_roundoff;
}

/* n1 inputs against themselves (x2 NULL: the triangle) or against n2 others. */
static void compare(const char *source, const char *name, ntkc_backend backend, size_t dim, size_t n1, size_t n2)
{
    ntkc_net *n64 = compile_prec(source, name, NTKC_PRECISION_DOUBLE, backend);
    ntkc_net *n32 = compile_prec(source, name, NTKC_PRECISION_SINGLE, backend);
    size_t cols = n2 ? n2 : n1, count = n1 * cols;
    double *x = malloc((n1 + n2) * dim * sizeof *x), *x2 = n2 ? x + n1 * dim : NULL;
    fill_random(x, (n1 + n2) * dim, 4321);
    memcpy(x + (n1 - 1) * dim, x, dim * sizeof *x); /* a duplicate of input 0 */
    double *k64 = malloc(2 * count * sizeof *k64);
    float *k32 = malloc(2 * count * sizeof *k32);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(n64, n1, x, n2, x2, dim, k64, k64 + count, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_f32(n32, n1, x, n2, x2, dim, k32, k32 + count, NULL, &err), 0, "%s", err.message);
    double bound = image_bound(source, name, dim);
    double e_nngp = rel_to_largest(k64, k32, count), e_ntk = rel_to_largest(k64 + count, k32 + count, count);
    cr_expect_leq(e_nngp, bound, "%s NNGP (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols,
                  e_nngp, bound);
    cr_expect_leq(e_ntk, bound, "%s NTK (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols, e_ntk,
                  bound);
    if (!n2) { /* symmetric, and the duplicate's entry with input 0 is the diagonal's, computed alike */
        for (size_t i = 0; i < n1; i++)
            for (size_t j = 0; j < i; j++)
                cr_assert_eq(k32[i * n1 + j], k32[j * n1 + i], "%s: not symmetric at %zu, %zu", name, i, j);
        /* (dropout's diagonal is an input with itself, not with a copy) */
        if (strstr(source, "dropout") == NULL)
            cr_expect_eq(k32[(n1 - 1) * n1], k32[0], "%s: NNGP of a duplicate %.9g vs %.9g", name, k32[(n1 - 1) * n1],
                     k32[0]);
        if (strstr(source, "dropout") == NULL)
            cr_expect_eq(k32[count + (n1 - 1) * n1], k32[count], "%s: NTK of a duplicate", name);
    }
    free(x);
    free(k64);
    free(k32);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

static const char *const image_examples[] = {"examples/cntk.ntk", "examples/digits_cntk.ntk",
                                             "examples/frozen_cntk.ntk"};

static void compare_examples(ntkc_backend backend)
{
    for (size_t i = 0; i < sizeof image_examples / sizeof *image_examples; i++) {
        char *text = read_text(image_examples[i]);
        compare(text, image_examples[i], backend, 64, 19, 0); /* 19: a triangle of 8x8 blocks plus a ragged one */
        compare(text, image_examples[i], backend, 64, 7, 13);
        free(text);
    }
}

Test(precision_image, examples_within_bound_of_float64_tcc, .timeout = TIMEOUT(300)) { compare_examples(NTKC_BACKEND_TCC); }

Test(precision_image, examples_within_bound_of_float64_cc, .timeout = TIMEOUT(600)) { compare_examples(NTKC_BACKEND_CC); }

/* Activations without a float primitive (float planes, their float64 duals),
 * layer_norm, circular padding, flatten; and a vector net of the image
 * family (residual, layer_norm). */
static const char other_acts[] = "net acts {\n"
                                 "    input image(6, 6, 2)\n"
                                 "    conv(3, 1.5, 0.1, padding=circular); erf\n"
                                 "    conv(3, 1.4, 0.1); layer_norm; gelu\n"
                                 "    conv(2, 1.4, 0.2); leaky_relu(alpha = 0.1)\n"
                                 "    flatten\n"
                                 "    dense(1)\n"
                                 "}\n";
static const char vector_residual[] = "net vres {\n"
                                      "    dense(1.4, 0.1)\n"
                                      "    residual { relu; dense(1.4, 0.1); gelu; dense(1.4, 0.1) }\n"
                                      "    layer_norm\n"
                                      "    relu\n"
                                      "    dense(1)\n"
                                      "}\n";

/* Pooling and conv variants inside branches, every fan-in (concat along
 * the height among them), a nested fanout, a sequence, image_resize and
 * dropout: the runtime calls of those layers in float32. */
static const char *const branch_nets[] = {
    "net c { input image(5, 4, 2); conv(3, 1.3); erf\n"
    "  fanout { branch { avg_pool(3, stride=2, padding=circular) } branch { conv(3, 1.1, stride=2) } "
    "branch { sum_pool(kh=1, kw=2, sh=2, sw=2, padding=same); conv(1) } } concat\n"
    "  conv(3, 1.2, 0.1); relu; global_avg_pool; dense }",
    "net r { input image(4, 4, 1); conv(3, 1.4, 0.1)\n"
    "  residual(alpha=0.7) { relu; conv(3, 1.2); avg_pool(3, stride=1, padding=same) }\n"
    "  fanout { branch { relu; fanout { branch { conv(3) } branch { } } sum; avg_pool(2); conv(1) } "
    "branch { erf; avg_pool(2); conv(1) } } sum\n"
    "  relu; flatten; dense }",
    "net n { input sequence(8, 2); conv(3, 1.3, 0.1)\n"
    "  fanout { branch { fanout { branch { avg_pool(2); conv(3) } branch { conv(2, stride=2) } } concat; conv(1); "
    "relu; conv(3) } branch { sum_pool(2); conv(1, 0.9) } } sum\n"
    "  relu; global_avg_pool; dense }",
    "net t { input image(3, 4, 2); conv(3, 1.3, 0.1)\n"
    "  residual { relu; conv_transpose(3, 1.2, 0.1); relu; conv_local(3, 1.4, 0.2) }; relu; flatten; dense }",
    /* image_resize (its weight tables in float) and dropout */
    "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); relu; image_resize(5, 2); conv(2, 1.3, 0.2); "
    "erf; dropout(0.5); global_avg_pool; dense(1.2) }",
    "net d { input image(4, 2, 2); dense(1.3, 0.1); erf; image_resize(2, 5, method=bilinear); "
    "avg_pool(2); dense(1.2); relu; global_sum_pool; dense }",
};

Test(precision_image, branches_with_pools_and_conv_variants, .timeout = TIMEOUT(300))
{
    static const size_t dims[] = {40, 16, 16, 24, 24, 16};
    for (size_t i = 0; i < sizeof branch_nets / sizeof *branch_nets; i++) {
        compare(branch_nets[i], "branches.ntk", NTKC_BACKEND_TCC, dims[i], 11, 0);
        compare(branch_nets[i], "branches.ntk", NTKC_BACKEND_TCC, dims[i], 4, 9);
    }
}

Test(precision_image, other_activations_and_vector_nets, .timeout = TIMEOUT(300))
{
    compare(other_acts, "acts.ntk", NTKC_BACKEND_TCC, 72, 17, 0);
    compare(other_acts, "acts.ntk", NTKC_BACKEND_TCC, 72, 5, 9);
    compare(vector_residual, "vres.ntk", NTKC_BACKEND_TCC, 12, 21, 0);
    compare(vector_residual, "vres.ntk", NTKC_BACKEND_TCC, 12, 6, 10);
}

/* Prediction from float32 image kernels (solved in float64) against
 * float64, within 2·κ₂·n·ε (test_precision.c, predict_float32_within_
 * condition_bound): ε the entrywise bound above. */
Test(precision_image, predict_within_condition_bound, .timeout = TIMEOUT(300))
{
    enum { N = 24, M = 9, DIM = 64 };
    char *text = read_text("examples/digits_cntk.ntk");
    ntkc_net *n64 = compile_prec(text, "examples/digits_cntk.ntk", NTKC_PRECISION_DOUBLE, NTKC_BACKEND_TCC);
    ntkc_net *n32 = compile_prec(text, "examples/digits_cntk.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    double eps = image_bound(text, "examples/digits_cntk.ntk", DIM);
    free(text);
    double x[N * DIM], xt[M * DIM], y[N], m64[M], m32[M], k[N * N];
    fill_random(x, N * DIM, 17);
    fill_random(xt, M * DIM, 18);
    fill_random(y, N, 19);
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
    for (size_t i = 0; i < M; i++) {
        worst = fmax(worst, fabs(m64[i] - m32[i]));
        big = fmax(big, fabs(m64[i]));
    }
    cr_expect_gt(worst, 0, "float32 and float64 predictions identical: the float32 path did not run");
    cr_expect_leq(worst / big, 2 * kappa * N * eps, "mean error %.3g, bound %.3g (κ₂ <= %.3g)", worst / big,
                  2 * kappa * N * eps, kappa);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

/* The CLI: `ntkc kernel` of an image net with --precision single writes
 * float32 .npy files ('<f4'), symmetric with a positive diagonal. */
Test(precision_image, cli_writes_float32_npy, .timeout = TIMEOUT(120))
{
    char dir[256], cmd[2048], path[512], errs[2048];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; np.save('%s/x.npy', "
             "np.random.default_rng(5).standard_normal((12, 64)))\"",
             dir);
    cr_assert_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s kernel examples/cntk.ntk %s/x.npy --ntk %s/k.npy --precision single --quiet",
             ntkc_bin(), dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; k = np.load('%s/k.npy'); "
             "assert k.dtype == np.dtype('<f4'), k.dtype; "
             "assert k.shape == (12, 12) and np.array_equal(k, k.T) and (np.diag(k) > 0).all()\"",
             dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(path, sizeof path, "%s/k.npy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    unlink(path);
    rmdir(dir);
}
