/* Identities image kernels must satisfy, the standalone emitted C, and the
 * CLI's handling of image-shaped data. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_image.h"
#include "kernel_text.h"
#include "net_internal.h"
#include "npy.h"
#include "util.h"

/* K(a) and K(b) on the same data (n1 = 3 rows against n2 = 2), compared. */
static void expect_same_kernels(const char *a, const char *b, size_t dim, const double *xa, const double *xb,
                                double tol)
{
    enum { N1 = 3, N2 = 2 };
    ntkc_net *na = compile_or_fail(a, NTKC_BACKEND_TCC), *nb = compile_or_fail(b, NTKC_BACKEND_TCC);
    double sa[N1 * N2], ta[N1 * N2], sb[N1 * N2], tb[N1 * N2];
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(na, N1, xa, N2, xa + N1 * dim, dim, sa, ta, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(nb, N1, xb, N2, xb + N1 * dim, dim, sb, tb, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(sa, sb, N1 * N2), tol, "NNGP differs:\n%s\n%s", a, b);
    cr_expect_lt(max_rel_diff(ta, tb, N1 * N2), tol, "NTK differs:\n%s\n%s", a, b);
    ntkc_net_free(na);
    ntkc_net_free(nb);
}

Test(conv_identities, conv1_equals_dense)
{
    enum { D = 4 * 3 * 2 };
    double x[5 * D];
    fill_random(x, 5 * D, 21);
    expect_same_kernels("net a { input image(4, 3, 2); conv(1, 1.3, 0.2); relu; conv(1, 1.1, 0.1); erf; flatten; dense }",
                        "net b { input image(4, 3, 2); dense(1.3, 0.2); relu; dense(1.1, 0.1); erf; flatten; dense }", D,
                        x, x, 1e-14);
}

/* flatten first: the image net is the fully connected net on the flattened
 * rows, which the other emitter computes (libm's acos against ours). */
Test(conv_identities, flatten_first_equals_fully_connected)
{
    enum { D = 3 * 3 * 2 };
    double x[5 * D];
    fill_random(x, 5 * D, 22);
    expect_same_kernels("net a { input image(3, 3, 2); flatten; dense(1.4, 0.1); relu; dense(1.2); erf; dense }",
                        "net b { dense(1.4, 0.1); relu; dense(1.2); erf; dense }", D, x, x, 1e-13);
}

Test(conv_identities, sequence_equals_one_row_image)
{
    enum { D = 9 * 2 };
    double x[5 * D];
    fill_random(x, 5 * D, 23);
    expect_same_kernels("net a { input sequence(9, 2); conv(3, 1.4, 0.1); relu; avg_pool(2, padding=same)\n"
                        "  conv(2, 1.3, stride=2, padding=circular); relu; global_avg_pool; dense }",
                        "net b { input image(1, 9, 2); conv(kh=1, kw=3, w_std=1.4, b_std=0.1); relu\n"
                        "  avg_pool(kh=1, kw=2, padding=same); conv(kh=1, kw=2, w_std=1.3, sw=2, padding=circular)\n"
                        "  relu; global_avg_pool; dense }",
                        D, x, x, 1e-14);
}

/* Circular padding, stride 1 and global pooling: shifting both images by
 * the same cyclic offset leaves every kernel entry unchanged. */
Test(conv_identities, circular_global_pool_is_shift_invariant)
{
    enum { H = 5, W = 4, C = 2, D = H * W * C, N = 5 };
    double x[N * D], y[N * D];
    fill_random(x, N * D, 24);
    const int dy = 2, dx = 3;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int c = 0; c < C; c++)
                    y[n * D + (((i + dy) % H) * W + (j + dx) % W) * C + c] = x[n * D + (i * W + j) * C + c];
    const char *net = "net c { input image(5, 4, 2); conv(3, 1.4, 0.1, padding=circular)\n"
                      "  residual { relu; conv(3, 1.2, padding=circular); erf; conv(kh=1, kw=3, w_std=1.1, padding=circular) }\n"
                      "  relu; global_avg_pool; dense(1.2, 0.1); relu; dense }";
    expect_same_kernels(net, net, D, x, y, 1e-12);
}

/* The kernel matrix of an image net: symmetric, PSD, independent of tiles
 * and threads, and the symmetric path equals the general one. */
Test(conv_identities, symmetric_psd_tiles_threads, .timeout = TIMEOUT(60))
{
    enum { N = 24, D = 5 * 5 * 1 };
    double x[N * D];
    fill_random(x, N * D, 25);
    ntkc_net *net = compile_or_fail("net g { input image(5, 5, 1); conv(3, 1.4, 0.1); relu; avg_pool(2, stride=1)\n"
                                    "  conv(3, 1.3); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_CC);
    static double s1[N * N], t1[N * N], s2[N * N], t2[N * N], s3[N * N], t3[N * N], s4[N * N], t4[N * N];
    ntkc_error err;
    /* tiles of 5 and 7: diagonal blocks alone; of 20 and the default: column
     * groups above the 8×8 blocks, and entries packed across blocks */
    ntkc_eval_options one = {.threads = 1, .tile = 5}, two = {.threads = 2, .tile = 7};
    ntkc_eval_options wide = {.threads = 1, .tile = 20}, dflt = {.threads = 2};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s1, t1, &one, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s2, t2, &two, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N, x, N, x, D, s3, t3, NULL, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(s1, s2, sizeof s1), 0);
    cr_expect_eq(memcmp(t1, t2, sizeof t1), 0);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s4, t4, &wide, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(s1, s4, sizeof s1), 0);
    cr_expect_eq(memcmp(t1, t4, sizeof t1), 0);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s4, t4, &dflt, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(s1, s4, sizeof s1), 0);
    cr_expect_eq(memcmp(t1, t4, sizeof t1), 0);
    cr_expect_lt(max_rel_diff(s1, s3, N * N), 1e-13);
    cr_expect_lt(max_rel_diff(t1, t3, N * N), 1e-13);
    cr_expect_gt(min_eigenvalue(s1, N), -1e-10 * s1[0]);
    cr_expect_gt(min_eigenvalue(t1, N), -1e-10 * t1[0]);
    ntkc_net_free(net);
}

typedef int (*entry_fn)(size_t, const double *, size_t, const double *, size_t, double *, double *);

/* The generated C of an image net compiles warning-free on its own and its
 * self-contained entry point agrees with the library. */
Test(conv_identities, emitted_c_is_standalone, .timeout = TIMEOUT(60))
{
    enum { N1 = 3, N2 = 4, D = 6 * 6 * 2 };
    double x1[N1 * D], x2[N2 * D];
    fill_random(x1, N1 * D, 26);
    fill_random(x2, N2 * D, 27);
    ntkc_net *net = compile_or_fail("net e { input image(6, 6, 2); conv(3, 1.4, 0.1); relu; avg_pool(2)\n"
                                    "  residual { conv(3, 1.2); erf; conv(3, 1.1) }; conv(3, 1.3); layer_norm; relu\n"
                                    "  fanout { branch { conv(1) } branch { } } concat; flatten; dense }",
                                    NTKC_BACKEND_TCC);
    char dir[256], src[300], so[300], cmd[1024], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(src, sizeof src, "%s/net.c", dir);
    snprintf(so, sizeof so, "%s/net.so", dir);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs(ntkc_net_source(net), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -Wall -Wextra -Werror -O2 -fPIC -shared -o %s %s -lm", so, src);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "emitted C does not compile cleanly:\n%s", errs);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    void *p = dlsym(h, "ntkcnet_e");
    cr_assert_not_null(p);
    entry_fn entry;
    memcpy(&entry, &p, sizeof p);
    double s[N1 * N2], t[N1 * N2], ls[N1 * N2], lt[N1 * N2];
    cr_assert_eq(entry(N1, x1, N2, x2, D, s, t), 0);
    cr_expect_eq(entry(N1, x1, N2, x2, D - 1, s, t), 1, "a wrong dimension is refused");
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N1, x1, N2, x2, D, ls, lt, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(s, ls, N1 * N2), 1e-12);
    cr_expect_lt(max_rel_diff(t, lt, N1 * N2), 1e-12);
    dlclose(h);
    ntkc_net_free(net);
}

static void write_net(const char *dir, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_array(const char *dir, const char *name, size_t ndim, const size_t *shape)
{
    char path[512];
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++)
        count *= shape[i];
    double *v = malloc(count * sizeof *v);
    fill_random(v, count, 28);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, ndim, shape, v, &err), 0, "%s", err.message);
    free(v);
}

/* (n, H, W, C), (n, H, W) for C = 1 and flat rows are accepted and agree;
 * any other shape is refused with the shape expected. */
Test(conv_identities, cli_image_data_shapes, .timeout = TIMEOUT(60))
{
    char dir[256], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    write_net(dir, "net g { input image(4, 3, 1); conv(3, 1.4); relu; global_avg_pool; dense }\n");
    write_array(dir, "nhwc.npy", 4, (size_t[]){3, 4, 3, 1});
    write_array(dir, "nhw.npy", 3, (size_t[]){3, 4, 3});
    write_array(dir, "flat.npy", 2, (size_t[]){3, 12});
    write_array(dir, "bad.npy", 4, (size_t[]){3, 3, 4, 1});
    const char *ok[] = {"nhwc", "nhw", "flat"};
    NpyArray k[3];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s kernel %s/net.ntk %s/%s.npy --ntk %s/k_%s.npy", ntkc_bin(), dir, dir, ok[i], dir,
                 ok[i]);
        cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", ok[i], errs);
        snprintf(cmd, sizeof cmd, "%s/k_%s.npy", dir, ok[i]);
        ntkc_error err = {0};
        cr_assert_eq(npy_read(cmd, &k[i], &err), 0, "%s", err.message);
    }
    cr_expect_eq(memcmp(k[0].data, k[1].data, 9 * sizeof(double)), 0);
    cr_expect_eq(memcmp(k[0].data, k[2].data, 9 * sizeof(double)), 0);
    for (int i = 0; i < 3; i++)
        npy_free(&k[i]);
    snprintf(cmd, sizeof cmd, "%s kernel %s/net.ntk %s/bad.npy --ntk %s/k_bad.npy", ntkc_bin(), dir, dir, dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 1);
    cr_expect(strstr(errs, "bad.npy: shape (3, 3, 4, 1) does not match net 'g', whose input is image(4, 3, 1): "
                           "expected (n, 4, 3, 1)") != NULL,
              "%s", errs);
    snprintf(cmd, sizeof cmd, "%s/k_bad.npy", dir);
    cr_expect(!file_exists(cmd), "no output after a failure");
}

/* ntkc check runs the finite conv nets from the command line. */
Test(conv_identities, cli_check_image_net, .timeout = TIMEOUT(120))
{
    char dir[256], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    write_net(dir, "net g { input image(4, 4, 1); conv(3, 1.4, 0.1); relu; flatten; dense }\n");
    write_array(dir, "x.npy", 4, (size_t[]){3, 4, 4, 1});
    snprintf(cmd, sizeof cmd, "%s check %s/net.ntk %s/x.npy --width 128 --samples 4 --tol 0.25", ntkc_bin(), dir,
             dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
}

/* The image runtime's strings are the spans of compiler/kernel_c/image_runtime.c
 * (tools/embed_text, a make rule): the build keeps them in step; this checks
 * the rule still embeds that file, whole spans, in order. */
Test(conv_identities, runtime_strings_match_their_source)
{
    ntkc_error err = {0};
    char *src = ntkc_read_text_file("compiler/kernel_c/image_runtime.c", &err);
    cr_assert_not_null(src, "%s (run the tests from the project root)", err.message);
    const char *common = strstr(src, emit_image_runtime_common);
    cr_expect(common != NULL && strstr(common + strlen(emit_image_runtime_common), emit_image_runtime_functions),
              "build/gen/kernel_text.c does not hold compiler/kernel_c/image_runtime.c: rebuild");
    cr_expect_gt(emit_image_runtime_count, 0);
    for (unsigned i = 0; i < emit_image_runtime_count; i++)
        cr_expect(strstr(emit_image_runtime_decls, emit_image_runtime_names[i]) != NULL, "%s",
                  emit_image_runtime_names[i]);
    free(src);
}
