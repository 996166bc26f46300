/* `ntkc predict` from the shell: every bad input of the list (and the
 * others a user meets) exits 1 with a message naming the cause, and leaves
 * neither output behind; a good run writes the shapes --help promises, the
 * prior at t = 0, the library's numbers, and a summary with the metrics. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "util.h"

#define NET "net mlp { dense(1.5, 0.05); relu; dense(1.2, 0.1); erf; dense(1) }\n"
enum { N = 6, M = 3, D = 4, K = 2 };

/* Arrays, not pointers: Criterion hands parameters to a re-executed child
 * where the addresses of string literals are not the parent's. */
typedef struct PredictCase {
    char name[40];
    char args[320]; /* after "ntkc predict DIR/net.ntk"; DIR substituted */
    char fragment[48]; /* expected in stderr */
} PredictCase;

#define GOOD "--train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy"
#define OUT " --mean DIR/out.npy"
#define LABELS "--train DIR/x.npy --targets DIR/labels.npy --test DIR/xt.npy"

static const PredictCase cases[] = {
    /* The list. */
    {"singular_without_reg", "--train DIR/dup.npy --targets DIR/y.npy --test DIR/xt.npy" OUT, "--reg"},
    {"train_targets_count", "--train DIR/x.npy --targets DIR/y5.npy --test DIR/xt.npy" OUT, "5 target rows"},
    {"test_dim_mismatch", "--train DIR/x.npy --targets DIR/y.npy --test DIR/xt3.npy" OUT, "3 features per row"},
    {"negative_time", GOOD OUT " --time -1", "negative"},
    {"negative_time_in_list", GOOD OUT " --time 1,-2,inf", "negative"},
    {"nan_in_targets", "--train DIR/x.npy --targets DIR/ynan.npy --test DIR/xt.npy" OUT,
     "ynan.npy: element [4, 1] is NaN"},
    /* Times, options, paths. */
    {"nan_time", GOOD OUT " --time nan", "--time"},
    {"junk_time", GOOD OUT " --time 1,,2", "--time"},
    {"empty_time", GOOD OUT " --time=", "--time"},
    {"negative_reg", GOOD OUT " --reg -1e-3", "--reg"},
    {"junk_reg", GOOD OUT " --reg lots", "--reg"},
    {"both_regs", GOOD OUT " --reg 1e-3 --reg-abs 1e-3", "not both"},
    {"junk_reg_abs", GOOD OUT " --reg-abs -2", "--reg-abs expects"},
    {"unknown_kernel", GOOD OUT " --kernel gp", "--kernel must be ntk or nngp"},
    {"missing_mean", GOOD, "missing --mean"},
    {"missing_test", "--train DIR/x.npy --targets DIR/y.npy" OUT, "missing --test"},
    {"mean_is_input", "--train DIR/copy.npy --targets DIR/y.npy --test DIR/xt.npy --mean DIR/copy.npy",
     "also an input"},
    {"mean_is_cov", GOOD OUT " --cov DIR/out.npy", "same file"},
    {"unwritable_cov", GOOD OUT " --cov DIR/no/such/dir/cov.npy", "cov.npy"},
    {"unknown_option", GOOD OUT " --steps 3", "--steps"},
    /* Data. */
    {"missing_train", "--train DIR/nope.npy --targets DIR/y.npy --test DIR/xt.npy" OUT, "nope.npy"},
    {"nan_in_train", "--train DIR/xnan.npy --targets DIR/y.npy --test DIR/xt.npy" OUT, "xnan.npy: element"},
    {"inf_in_targets", "--train DIR/x.npy --targets DIR/yinf.npy --test DIR/xt.npy" OUT, "yinf.npy"},
    {"targets_3d", "--train DIR/x.npy --targets tests/data/npy/3d.npy --test DIR/xt.npy" OUT, "3 dimensions"},
    {"fractional_labels", "--train DIR/x.npy --targets DIR/frac.npy --test DIR/xt.npy" OUT, "shape (n, 1)"},
    {"negative_label", "--train DIR/x.npy --targets DIR/neglab.npy --test DIR/xt.npy" OUT, "integers >= 0"},
    {"test_targets_count", GOOD OUT " --test-targets DIR/y.npy", "6 target rows"},
    {"test_targets_columns", GOOD OUT " --test-targets DIR/yt3.npy", "shape (3, 2)"},
    {"test_label_unseen", LABELS OUT " --test-targets DIR/tlab_big.npy", "at most 3 classes"},
    {"test_matrix_for_labels", LABELS OUT " --test-targets DIR/yt.npy", "labels too"},
};

ParameterizedTestParameters(predict_cli, bad_input)
{
    return cr_make_param_array(PredictCase, cases, sizeof cases / sizeof cases[0]);
}

static void substitute(char *out, size_t size, const char *tmpl, const char *dir)
{
    size_t used = 0;
    for (const char *p = tmpl; *p && used + 1 < size;) {
        if (strncmp(p, "DIR", 3) == 0) {
            used += (size_t)snprintf(out + used, size - used, "%s", dir);
            p += 3;
        } else {
            out[used++] = *p++;
        }
    }
    out[used < size ? used : size - 1] = '\0';
}

static void save(const char *dir, const char *name, size_t ndim, const size_t *shape, const double *data)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, ndim, shape, data, &err), 0, "%s", err.message);
}

/* Small random data sets and the broken variants the cases name. */
static void write_fixtures(const char *dir)
{
    double x[N * D], xt[M * D], y[N * K], yt[M * (K + 1)], lab[N], tlab[M];
    fill_random(x, N * D, 1), fill_random(xt, M * D, 2), fill_random(y, N * K, 3), fill_random(yt, M * (K + 1), 4);
    for (size_t i = 0; i < N; i++)
        lab[i] = (double)(i % 3);
    for (size_t i = 0; i < M; i++)
        tlab[i] = (double)(2 * i % 3);
    size_t s_x[2] = {N, D}, s_xt[2] = {M, D}, s_y[2] = {N, K}, s_yt[2] = {M, K}, s_lab[1] = {N}, s_tlab[1] = {M};
    save(dir, "x.npy", 2, s_x, x), save(dir, "copy.npy", 2, s_x, x), save(dir, "xt.npy", 2, s_xt, xt);
    save(dir, "y.npy", 2, s_y, y), save(dir, "yt.npy", 2, s_yt, yt);
    save(dir, "labels.npy", 1, s_lab, lab), save(dir, "tlab.npy", 1, s_tlab, tlab);
    size_t s_xt3[2] = {M, 3}, s_y5[2] = {N - 1, K}, s_yt3[2] = {M, K + 1};
    save(dir, "xt3.npy", 2, s_xt3, xt), save(dir, "y5.npy", 2, s_y5, y), save(dir, "yt3.npy", 2, s_yt3, yt);
    double dup[N * D], bad[N * K], badx[N * D], frac[N], neg[N], big[M];
    memcpy(dup, x, sizeof dup);
    memcpy(dup + 3 * D, x, D * sizeof *x); /* row 3 repeats row 0: a singular kernel */
    save(dir, "dup.npy", 2, s_x, dup);
    memcpy(bad, y, sizeof bad);
    bad[4 * K + 1] = NAN;
    save(dir, "ynan.npy", 2, s_y, bad);
    bad[4 * K + 1] = INFINITY;
    save(dir, "yinf.npy", 2, s_y, bad);
    memcpy(badx, x, sizeof badx);
    badx[7] = NAN;
    save(dir, "xnan.npy", 2, s_x, badx);
    for (size_t i = 0; i < N; i++)
        frac[i] = 0.5 * (double)i, neg[i] = (double)i - 1;
    save(dir, "frac.npy", 1, s_lab, frac), save(dir, "neglab.npy", 1, s_lab, neg);
    memcpy(big, tlab, sizeof big);
    big[1] = 3; /* the training labels are 0..2 */
    save(dir, "tlab_big.npy", 1, s_tlab, big);
    char path[512];
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(NET, f);
    fclose(f);
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

ParameterizedTest(const PredictCase *c, predict_cli, bad_input)
{
    char dir[256], args[1024], cmd[2048], errs[8192], path[512];
    make_temp_dir(dir, sizeof dir);
    write_fixtures(dir);
    substitute(args, sizeof args, c->args, dir);
    snprintf(cmd, sizeof cmd, "%s predict %s/net.ntk %s", ntkc_bin(), dir, args);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, 1, "%s: exit %d, expected 1; stderr:\n%s", c->name, rc, errs);
    cr_expect(strstr(errs, c->fragment) != NULL, "%s: stderr lacks '%s':\n%s", c->name, c->fragment, errs);
    snprintf(path, sizeof path, "%s/out.npy", dir);
    cr_expect(!file_exists(path), "%s: the mean appeared", c->name);
    snprintf(path, sizeof path, "%s/cov.npy", dir);
    cr_expect(!file_exists(path), "%s: the covariance appeared", c->name);
    NpyArray a, b;
    ntkc_error err = {0};
    snprintf(path, sizeof path, "%s/copy.npy", dir);
    cr_assert_eq(npy_read(path, &a, &err), 0, "%s: %s", c->name, err.message);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_read(path, &b, &err), 0, "%s", err.message);
    cr_expect(a.count == b.count && memcmp(a.data, b.data, a.count * sizeof *a.data) == 0,
              "%s: an input was damaged", c->name);
    npy_free(&a), npy_free(&b);
    remove_dir(dir);
}

/* Runs a command; its stdout into out, its exit status returned. */
static int run_stdout(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, size - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void load(const char *dir, const char *name, NpyArray *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, a, &err), 0, "%s", err.message);
}

static size_t count_substrings(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        count++;
    return count;
}

/* Three times with labels and a covariance: shapes (T, m, k) and (T, m, m),
 * t = 0 the prior, t = inf the library's ntkc_predict, one metrics line per time. */
Test(predict_cli, writes_times_mean_cov_and_summary)
{
    char dir[256], cmd[2048], out[8192];
    make_temp_dir(dir, sizeof dir);
    write_fixtures(dir);
    snprintf(cmd, sizeof cmd,
             "%s predict %s/net.ntk --train %s/x.npy --targets %s/labels.npy --test %s/xt.npy --time 0,30,inf "
             "--mean %s/mean.npy --cov %s/cov.npy --test-targets %s/tlab.npy 2>&1",
             ntkc_bin(), dir, dir, dir, dir, dir, dir, dir);
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_eq(count_substrings(out, "accuracy"), 3u, "%s", out);
    cr_expect(strstr(out, "eigendecomposition + Cholesky") != NULL, "%s", out);
    NpyArray mean, cov, x, xt, lab;
    load(dir, "mean.npy", &mean), load(dir, "cov.npy", &cov), load(dir, "x.npy", &x), load(dir, "xt.npy", &xt);
    load(dir, "labels.npy", &lab);
    enum { C = 3 }; /* classes 0..2 */
    cr_assert_eq(mean.ndim, 3u);
    cr_expect(mean.shape[0] == 3 && mean.shape[1] == M && mean.shape[2] == C);
    cr_assert_eq(cov.ndim, 3u);
    cr_expect(cov.shape[0] == 3 && cov.shape[1] == M && cov.shape[2] == M);

    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    double kss[M * M], y[N * C] = {0}, want_mean[M * C], want_cov[M * M];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, M, xt.data, 0, NULL, D, kss, NULL, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < M * C; i++)
        cr_expect_eq(mean.data[i], 0.0, "t = 0 mean[%zu] = %g", i, mean.data[i]);
    cr_expect_lt(max_rel_diff(cov.data, kss, M * M), 1e-12, "t = 0 covariance is not the prior");
    for (size_t i = 0; i < N; i++)
        y[i * C + (size_t)lab.data[i]] = 1;
    cr_assert_eq(ntkc_predict(net, N, x.data, y, C, M, xt.data, D, NULL, 0, NULL, want_mean, want_cov, NULL, &err),
                 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(mean.data + 2 * M * C, want_mean, M * C), 1e-12);
    cr_expect_lt(max_rel_diff(cov.data + 2 * M * M, want_cov, M * M), 1e-12);
    ntkc_net_free(net);
    npy_free(&mean), npy_free(&cov), npy_free(&x), npy_free(&xt), npy_free(&lab);
    remove_dir(dir);
}

/* The singular training set of the bad-input table works once regularised,
 * and a single time gives a 2-D mean. */
Test(predict_cli, reg_fixes_a_singular_kernel)
{
    char dir[256], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    write_fixtures(dir);
    snprintf(cmd, sizeof cmd,
             "%s predict %s/net.ntk --train %s/dup.npy --targets %s/y.npy --test %s/xt.npy --reg 1e-6 "
             "--kernel nngp --mean %s/mean.npy --quiet",
             ntkc_bin(), dir, dir, dir, dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    NpyArray mean;
    load(dir, "mean.npy", &mean);
    cr_expect(mean.ndim == 2 && mean.shape[0] == M && mean.shape[1] == K);
    npy_free(&mean);
    remove_dir(dir);
}

Test(predict_cli, help)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s predict --help", ntkc_bin());
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0);
    cr_expect(strstr(out, "(T, m, k)") != NULL, "--help does not document the several-times layout");
    snprintf(cmd, sizeof cmd, "%s --help", ntkc_bin());
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0);
    cr_expect(strstr(out, "predict NET.ntk") != NULL, "ntkc --help does not list predict");
}

#define IMAGE_NET "net c { input image(3, 3, 1); conv(3, 1.4, 0.1); relu; global_avg_pool; dense }\n"

/* An image net takes (n, H, W, C) arrays or rows of H·W·C values, the same
 * prediction either way; a shape that fits neither is refused by name. */
Test(predict_cli, image_inputs_as_arrays_or_rows)
{
    char dir[256], cmd[2048], errs[4096], path[512];
    make_temp_dir(dir, sizeof dir);
    enum { HW = 9 };
    double x[N * HW], xt[M * HW], y[N * K];
    fill_random(x, N * HW, 21), fill_random(xt, M * HW, 22), fill_random(y, N * K, 23);
    size_t s_img[4] = {N, 3, 3, 1}, s_rows[2] = {N, HW}, s_trows[2] = {M, HW}, s_y[2] = {N, K}, s_bad[2] = {M, 8};
    save(dir, "x_img.npy", 4, s_img, x), save(dir, "x_rows.npy", 2, s_rows, x), save(dir, "xt.npy", 2, s_trows, xt);
    save(dir, "y.npy", 2, s_y, y), save(dir, "xt_bad.npy", 2, s_bad, xt);
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(IMAGE_NET, f);
    fclose(f);
    const char *trains[2] = {"x_img", "x_rows"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s predict %s/net.ntk --train %s/%s.npy --targets %s/y.npy --test %s/xt.npy --time 5,inf "
                 "--mean %s/mean_%s.npy --quiet",
                 ntkc_bin(), dir, dir, trains[i], dir, dir, dir, trains[i]);
        cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    }
    NpyArray a, b;
    load(dir, "mean_x_img.npy", &a), load(dir, "mean_x_rows.npy", &b);
    cr_assert_eq(a.count, (size_t)(2 * M * K));
    cr_expect_eq(memcmp(a.data, b.data, a.count * sizeof *a.data), 0, "(n, 3, 3, 1) and (n, 9) predict differently");
    npy_free(&a), npy_free(&b);
    snprintf(cmd, sizeof cmd,
             "%s predict %s/net.ntk --train %s/x_rows.npy --targets %s/y.npy --test %s/xt_bad.npy --mean %s/out.npy",
             ntkc_bin(), dir, dir, dir, dir, dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_expect(strstr(errs, "xt_bad.npy: shape") != NULL, "%s", errs);
    snprintf(path, sizeof path, "%s/out.npy", dir);
    cr_expect(!file_exists(path));
    remove_dir(dir);
}
