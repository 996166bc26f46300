/* `input volume(D, H, W, C)` (issue 21): 3-D conv and pooling on the all-pairs
 * back end. Checked here by identities against the image family, a different
 * back end (emit_image.c's planes): a volume of one slice whose windows have
 * one depth tap is the image net; a volume whose windows all have one depth
 * tap (kd = 1, sd = 1) computes every pair of slices (d of x1, d' of x2) as
 * the image net on that pair, so after global_avg_pool its kernel is the mean
 * of the image net's over all slice pairs and after flatten the mean over
 * equal slices (the readout after pooling is affine, so the means pass it).
 * Against an independent numpy recursion: python/tests/test_volume.py;
 * Monte Carlo: tests/test_monte_carlo.c (volume_*); `ntkc check` below. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_tool.h"
#include "util.h"

enum { N = 3 };

static void kernels(ntkc_net *net, size_t n, const double *x, size_t dim, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n, x, 0, NULL, dim, s, t, NULL, &err), 0, "%s", err.message);
}

static void expect_close(const double *got, const double *want, size_t count, const char *what, const char *src)
{
    double worst = 0;
    for (size_t e = 0; e < count; e++) {
        double r = fabs(got[e] - want[e]) / fabs(want[e]);
        worst = r > worst ? r : worst;
    }
    cr_expect(worst <= 1e-13, "%s: relative difference %.3g for\n%s", what, worst, src);
}

/* Volumes of one slice whose windows have one depth tap: the image net. */
static void check_one_slice(const char *vol, const char *img, size_t h, size_t w, size_t c)
{
    ntkc_net *a = compile_or_fail(vol, NTKC_BACKEND_TCC), *b = compile_or_fail(img, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "volumes: the all-pairs back end");
    cr_assert_eq(ntkc_net_ir(b)->family, IR_FAMILY_IMAGE, "the image net: the plane back end");
    size_t d = h * w * c;
    double *x = malloc(N * d * sizeof *x), s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * d, 5);
    kernels(a, N, x, d, s1, t1);
    kernels(b, N, x, d, s2, t2);
    expect_close(s1, s2, N * N, "NNGP", vol);
    expect_close(t1, t2, N * N, "NTK", vol);
    free(x);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

Test(volume, one_slice_is_the_image_net)
{
    check_one_slice("net v { input volume(1, 5, 4, 2); conv(kd=1, kh=3, kw=3, w_std=1.4, b_std=0.1); relu\n"
                    "  conv(kd=1, kh=2, kw=3, stride=2, padding=valid, w_std=1.3); erf; global_avg_pool; dense(1.2) }",
                    "net i { input image(5, 4, 2); conv(3, 1.4, 0.1); relu\n"
                    "  conv(kh=2, kw=3, stride=2, padding=valid, w_std=1.3); erf; global_avg_pool; dense(1.2) }",
                    5, 4, 2);
    check_one_slice("net v { input volume(1, 4, 5, 1); conv(kd=1, kh=2, kw=3, padding=circular, dh=2, w_std=1.5)\n"
                    "  relu; avg_pool(kd=1, kh=2, kw=2, stride=1, padding=same); flatten; dense(1.1, 0.2) }",
                    "net i { input image(4, 5, 1); conv(kh=2, kw=3, padding=circular, dh=2, w_std=1.5)\n"
                    "  relu; avg_pool(kh=2, kw=2, stride=1, padding=same); flatten; dense(1.1, 0.2) }",
                    4, 5, 1);
    check_one_slice("net v { input volume(1, 6, 3, 2); dense(1.2, 0.1); sum_pool(kd=1, kh=3, kw=1); relu\n"
                    "  conv(kd=1, kh=1, kw=2, sh=1, sw=2, padding=same, b_std=0.3); relu; global_sum_pool; dense }",
                    "net i { input image(6, 3, 2); dense(1.2, 0.1); sum_pool(kh=3, kw=1); relu\n"
                    "  conv(kh=1, kw=2, sh=1, sw=2, padding=same, b_std=0.3); relu; global_sum_pool; dense }",
                    6, 3, 2);
}

/* conv_transpose, conv_local and avg_pool(normalize_edges=true) on one slice
 * with one depth tap: the image net's (the plane back end's ntkc_cvar4 and
 * ntkc_pool4_edges against the all-pairs back end's 3-D windows). */
Test(volume, one_slice_conv_variants_are_the_image_net)
{
    check_one_slice("net v { input volume(1, 3, 4, 2); conv_transpose(kd=1, kh=3, kw=2, sd=1, sh=2, sw=2, w_std=1.4,\n"
                    "  b_std=0.1); relu; conv_transpose(kd=1, kh=2, kw=3, sd=1, sh=1, sw=2, padding=valid, w_std=1.2)\n"
                    "  relu; global_avg_pool; dense(1.2) }",
                    "net i { input image(3, 4, 2); conv_transpose(kh=3, kw=2, stride=2, w_std=1.4, b_std=0.1); relu\n"
                    "  conv_transpose(kh=2, kw=3, sh=1, sw=2, padding=valid, w_std=1.2); relu; global_avg_pool; dense(1.2) }",
                    3, 4, 2);
    check_one_slice("net v { input volume(1, 3, 2, 1); conv_transpose(kd=1, kh=3, kw=4, sd=1, sh=2, sw=3,\n"
                    "  padding=circular, w_std=1.3, b_std=0.2); erf; conv_local(kd=1, kh=2, kw=3, sd=1, sh=2, sw=2,\n"
                    "  padding=valid, w_std=1.1, b_std=0.1); relu; flatten; dense(0.9, 0.1) }",
                    "net i { input image(3, 2, 1); conv_transpose(kh=3, kw=4, sh=2, sw=3, padding=circular, w_std=1.3,\n"
                    "  b_std=0.2); erf; conv_local(kh=2, kw=3, stride=2, padding=valid, w_std=1.1, b_std=0.1); relu\n"
                    "  flatten; dense(0.9, 0.1) }",
                    3, 2, 1);
    check_one_slice("net v { input volume(1, 5, 4, 2); conv_local(kd=1, kh=3, kw=2, padding=circular, w_std=1.4,\n"
                    "  b_std=0.1, trainable=false); relu; avg_pool(kd=1, kh=2, kw=3, sd=1, sh=2, sw=2, padding=same,\n"
                    "  normalize_edges=true); global_avg_pool; dense(1.1) }",
                    "net i { input image(5, 4, 2); conv_local(kh=3, kw=2, padding=circular, w_std=1.4, b_std=0.1,\n"
                    "  trainable=false); relu; avg_pool(kh=2, kw=3, stride=2, padding=same, normalize_edges=true)\n"
                    "  global_avg_pool; dense(1.1) }",
                    5, 4, 2);
}

/* Depth-1 windows: K_vol(x1, x2) = mean over slice pairs (global_avg_pool) or
 * equal slices (flatten) of the image net's kernel on (x1[d], x2[d']). */
static void check_slices(const char *vol, const char *img, size_t D, size_t h, size_t w, size_t c, int flatten)
{
    ntkc_net *a = compile_or_fail(vol, NTKC_BACKEND_TCC), *b = compile_or_fail(img, NTKC_BACKEND_TCC);
    size_t slice = h * w * c, d = D * slice, m = N * D;
    double *x = malloc(N * d * sizeof *x), *sk = malloc(2 * m * m * sizeof *sk), *tk = sk + m * m;
    double s1[N * N], t1[N * N], s2[N * N] = {0}, t2[N * N] = {0};
    fill_random(x, N * d, 9);
    kernels(a, N, x, d, s1, t1);
    kernels(b, m, x, slice, sk, tk); /* the slices, NDHWC: input i's slice e is row i·D + e */
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double pairs = flatten ? (double)D : (double)(D * D);
            for (size_t e = 0; e < D; e++)
                for (size_t f = 0; f < D; f++)
                    if (!flatten || e == f) {
                        s2[i * N + j] += sk[(i * D + e) * m + j * D + f] / pairs;
                        t2[i * N + j] += tk[(i * D + e) * m + j * D + f] / pairs;
                    }
        }
    expect_close(s1, s2, N * N, "NNGP", vol);
    expect_close(t1, t2, N * N, "NTK", vol);
    free(x);
    free(sk);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

Test(volume, depth_one_windows_average_the_image_net_over_slices)
{
    check_slices("net v { input volume(3, 4, 4, 2); conv(kd=1, kh=3, kw=3, w_std=1.4, b_std=0.1); relu\n"
                 "  conv(kd=1, kh=2, kw=2, sh=2, sw=2, sd=1, w_std=1.3, b_std=0.2); relu; global_avg_pool; dense(1.2, 0.1) }",
                 "net i { input image(4, 4, 2); conv(3, 1.4, 0.1); relu\n"
                 "  conv(2, 1.3, 0.2, stride=2); relu; global_avg_pool; dense(1.2, 0.1) }",
                 3, 4, 4, 2, 0);
    check_slices("net v { input volume(4, 3, 4, 1); conv(kd=1, kh=3, kw=2, padding=circular, w_std=1.5); erf\n"
                 "  avg_pool(kd=1, kh=1, kw=2); flatten; dense(0.9, 0.3) }",
                 "net i { input image(3, 4, 1); conv(kh=3, kw=2, padding=circular, w_std=1.5); erf\n"
                 "  avg_pool(kh=1, kw=2); flatten; dense(0.9, 0.3) }",
                 4, 3, 4, 1, 1);
    check_slices("net v { input volume(3, 3, 3, 1); conv_local(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1); relu\n"
                 "  conv_transpose(kd=1, kh=2, kw=3, sd=1, sh=2, sw=1, w_std=1.2, b_std=0.2); erf\n"
                 "  avg_pool(kd=1, kh=2, kw=2, stride=1, padding=same, normalize_edges=true); flatten; dense(1.1) }",
                 "net i { input image(3, 3, 1); conv_local(2, 1.4, 0.1); relu\n"
                 "  conv_transpose(kh=2, kw=3, sh=2, sw=1, w_std=1.2, b_std=0.2); erf\n"
                 "  avg_pool(2, stride=1, padding=same, normalize_edges=true); flatten; dense(1.1) }",
                 3, 3, 3, 1, 1);
}

/* Windows across slices change the kernel (the identities above are not
 * vacuous): a 2-deep window on two slices differs from the slice average. */
Test(volume, depth_windows_mix_slices)
{
    ntkc_net *a = compile_or_fail("net v { input volume(2, 3, 3, 1); conv(2, 1.3); relu; global_avg_pool; dense }",
                                  NTKC_BACKEND_TCC);
    ntkc_net *b = compile_or_fail("net v { input volume(2, 3, 3, 1); conv(kd=1, kh=2, kw=2, w_std=1.3); relu\n"
                                  "  global_avg_pool; dense }", NTKC_BACKEND_TCC);
    double x[N * 18], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * 18, 3);
    kernels(a, N, x, 18, s1, t1);
    kernels(b, N, x, 18, s2, t2);
    cr_expect(fabs(s1[1] - s2[1]) > 1e-3 * fabs(s2[1]), "a depth window left the kernel unchanged");
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* The emitted file's own entry (gcc, no host primitives) equals the library's. */
Test(volume, the_standalone_entry_equals_the_library)
{
    static const char *const src =
        "net v { input volume(3, 3, 4, 2); conv(2, 1.4, 0.1, stride=2, padding=same); relu\n"
        "  avg_pool(kd=2, kh=1, kw=2, padding=circular); global_avg_pool; dense(1.1) }";
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    void *fn = NULL;
    void *h = load_emitted_c(ntkc_net_source(net), "ntkcnet_v", &fn);
    int (*entry)(size_t, const double *, size_t, const double *, size_t, double *, double *) =
        (int (*)(size_t, const double *, size_t, const double *, size_t, double *, double *))fn;
    enum { D = 3 * 3 * 4 * 2 };
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 13);
    kernels(net, N, x, D, s1, t1);
    cr_assert_eq(entry(N, x, N, x, D, s2, t2), 0);
    expect_close(s2, s1, N * N, "NNGP", src);
    expect_close(t2, t1, N * N, "NTK", src);
    cr_assert_eq(entry(N, x, N, x, D - 1, s2, t2), 1, "a wrong dimension is refused");
    dlclose(h);
    ntkc_net_free(net);
}

Test(volume, shapes_and_input_kind)
{
    ntkc_net *net = compile_or_fail("net v { input volume(3, 4, 5, 2); conv(3, stride=2, padding=valid)\n"
                                    "  relu; flatten; dense }", NTKC_BACKEND_TCC);
    size_t shape[4];
    cr_assert_eq(ntkc_net_input_shape(net, shape), 4);
    cr_expect(shape[0] == 3 && shape[1] == 4 && shape[2] == 5 && shape[3] == 2);
    cr_expect_eq(ntkc_net_input_dim(net), 120u);
    const IrNet *ir = ntkc_net_ir(net);
    cr_expect_eq(ir->ops[0].out.d, 1u, "valid 3-deep window on 3 slices: one slice");
    cr_expect(ir->ops[0].out.h == 1 && ir->ops[0].out.w == 2, "rows 1, columns 2");
    ntkc_error err = {0};
    double m[4] = {0};
    cr_expect_neq(ntkc_mask_inputs(net, 1, m, 120, m, &err), 0);
    cr_expect(strstr(err.message, "takes volumes and its input is not declared masked") != NULL, "%s", err.message);
    ntkc_net_free(net);
}

Test(volume, layers_beyond_the_subset_are_refused_by_name)
{
    expect_error("net i { input image(3, 3, 1); conv(2); fanout(axis=depth) { branch { conv(2) } branch { } } "
                 "concat; global_avg_pool; dense }",
                 "1:47", "'fanout(axis=depth)' joins volumes (input volume(D, H, W, C)); this fanout's input is an image");
    expect_error("net v { input volume(2, 3, 3, 1); conv(2); fanout(axis=depth) { branch { conv(2) } branch { "
                 "avg_pool(kd=1, kh=2, kw=2, stride=1) } } concat; global_avg_pool; dense }",
                 "1:84", "the branches of a fanout must agree in height and width (concat along depth)");
    expect_error("net i { input image(3, 3, 1); conv(2); image_resize(4, 4, d=2); global_avg_pool; dense }", "1:59",
                 "'image_resize(d=...)' resizes the depth of a volume");
    expect_error("net v { input volume(2, 3, 3, 1); conv(2); conv_transpose(kh=2, kw=2); flatten; dense }", "1:44",
                 "missing required argument 'size' (or kd, kh and kw) for 'conv_transpose' on a volume");
    expect_error("net v { input volume(2, 3, 3, 1); conv(2); conv_local(3, padding=valid); flatten; dense }", "1:44",
                 "'conv_local': window 3 with padding=valid on an image depth of 2 gives an output of size 0");
    expect_error("net v { input volume(2, 3, 3, 1); dense; sum_pool(2, normalize_edges=true); global_avg_pool; dense }",
                 "1:54", "'normalize_edges' applies to avg_pool only");
    expect_error("net v { param standard; input volume(2, 3, 3, 1); conv(2); relu; global_avg_pool; dense }", "1:51",
                 "missing required argument 'width' for 'conv'");
    expect_error("net v { input volume(2, 3, 3, 1); conv(2, width=3); global_avg_pool; dense }", "1:43",
                 "'width' only applies to 'param standard'");
    expect_error("net v { input volume(2, 3, 3, 1, masked=true); conv(2, stride=2); global_avg_pool; dense }", "1:48",
                 "'conv' in net 'v', whose input is masked (masked=true at 1:9): on masked volumes, convolutions");
}

Test(volume, window_errors_name_the_argument)
{
    expect_error("net v { input volume(2, 3, 3, 1); conv(2, kd=1); global_avg_pool; dense }", "1:43",
                 "give the window either as size or as kd/kh/kw");
    expect_error("net v { input volume(2, 3, 3, 1); conv(kh=2, kw=2); global_avg_pool; dense }", "1:35",
                 "missing required argument 'size' (or kd, kh and kw) for 'conv' on a volume");
    expect_error("net v { input volume(2, 3, 3, 1); conv(3, padding=valid); global_avg_pool; dense }", "1:40",
                 "'conv': window 3 with padding=valid on a volume depth of 2 gives an output of size 0");
    expect_error("net v { input volume(2, 3, 3, 1); dense; sum_pool(2, w_std=2); global_avg_pool; dense }", "1:54",
                 "unknown argument 'w_std' for 'sum_pool' (its arguments: size, stride, padding, kd, kh, kw");
    expect_error("net v { input volume(0, 3, 3, 1); dense }", "1:22", "depth");
    expect_error("net v { input volumes(2, 3, 3, 1); dense }", "1:15", "did you mean 'volume'?");
}

/* `ntkc check` on a volume net, with its data as an (n, D, H, W, C) .npy. */
Test(volume, ntkc_check_runs_on_a_volume_net, .timeout = TIMEOUT(120))
{
    char dir[256], net[300], data[300], cmd[1200], err[2048];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/v.ntk", dir);
    snprintf(data, sizeof data, "%s/x.npy", dir);
    FILE *f = fopen(net, "w");
    cr_assert_not_null(f);
    fputs("net v { input volume(2, 3, 3, 2); conv(2, 1.4, 0.1); relu; global_avg_pool; dense(1.2) }\n", f);
    fclose(f);
    double x[3 * 36];
    fill_random(x, 3 * 36, 17);
    size_t shape[5] = {3, 2, 3, 3, 2};
    ntkc_error e = {0};
    cr_assert_eq(npy_write_f64(data, 5, shape, x, &e), 0, "%s", e.message);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' '%s' --width 64 --samples 8 > '%s/out.txt'", ntkc_bin(), net, data, dir);
    cr_assert_eq(run_command(cmd, err, sizeof err), 0, "%s", err);
    shape[2] = 2, shape[3] = 2, shape[4] = 3; /* 3 × 36 values as (3, 2, 2, 2, 3): not the net's */
    cr_assert_eq(npy_write_f64(data, 5, shape, x, &e), 0, "%s", e.message);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' '%s' --width 64 --samples 8", ntkc_bin(), net, data);
    cr_assert_eq(run_command(cmd, err, sizeof err), 1);
    cr_expect(strstr(err, "whose input is volume(2, 3, 3, 2): expected (n, 2, 3, 3, 2) (NDHWC)") != NULL, "%s", err);
}
