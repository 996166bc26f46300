/* ntkc predict --k-train …: prediction from kernel files. The outputs agree
 * with the library functions on the same arrays (the ensemble as the NNGP
 * GP, fx0, the ODE), and bad kernels are refused with messages naming the
 * option and the file, writing nothing. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "ntkc_tool.h"
#include "util.h"

enum { N = 5, M = 3, K = 2 };

typedef struct Arrays {
    double tt[N * N], st[M * N], ss[M * M], y[N * K], f0[N * K], g0[M * K], asym[N * N], lab[N];
} Arrays;

static void arrays(Arrays *a)
{
    double x[(N + M) * 3];
    for (size_t i = 0; i < (N + M) * 3; i++)
        x[i] = sin(1.7 * (double)i + 0.3);
    for (size_t i = 0; i < N + M; i++)
        for (size_t j = 0; j < N + M; j++) {
            double s = 0.4;
            for (size_t c = 0; c < 3; c++)
                s += x[i * 3 + c] * x[j * 3 + c] / 3;
            if (i < N && j < N)
                a->tt[i * N + j] = s;
            else if (i >= N && j < N)
                a->st[(i - N) * N + j] = s;
            else if (i >= N && j >= N)
                a->ss[(i - N) * M + j - N] = s;
        }
    for (size_t i = 0; i < N * K; i++)
        a->y[i] = cos((double)i), a->f0[i] = 0.3 * sin(2.0 * (double)i);
    for (size_t i = 0; i < M * K; i++)
        a->g0[i] = 0.2 * cos(3.0 * (double)i);
    memcpy(a->asym, a->tt, sizeof a->tt);
    a->asym[1 * N + 3] += 0.01;
    for (size_t i = 0; i < N; i++)
        a->lab[i] = (double)(i % K);
}

static void save(const char *dir, const char *name, size_t ndim, const size_t *shape, const double *data)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, ndim, shape, data, &err), 0, "%s", err.message);
}

static void fixtures(const char *dir, Arrays *a)
{
    arrays(a);
    size_t s_tt[] = {N, N}, s_st[] = {M, N}, s_ss[] = {M, M}, s_y[] = {N, K}, s_g[] = {M, K}, s_lab[] = {N};
    save(dir, "tt.npy", 2, s_tt, a->tt), save(dir, "st.npy", 2, s_st, a->st), save(dir, "ss.npy", 2, s_ss, a->ss);
    save(dir, "y.npy", 2, s_y, a->y), save(dir, "f0.npy", 2, s_y, a->f0), save(dir, "g0.npy", 2, s_g, a->g0);
    save(dir, "asym.npy", 2, s_tt, a->asym), save(dir, "lab.npy", 1, s_lab, a->lab);
    save(dir, "st_wrong.npy", 2, s_ss, a->ss);
}

static void load(const char *dir, const char *name, NpyArray *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, out, &err), 0, "%s", err.message);
}

/* The binary's absolute path: the commands run in the fixtures' directory. */
static const char *bin(char *path)
{
    cr_assert_not_null(realpath(ntkc_bin(), path));
    return path;
}

static int run(const char *dir, const char *args, char *errs, size_t size)
{
    char cmd[8192], exe[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s predict --k-train tt.npy --k-test st.npy %s", dir, bin(exe), args);
    return run_command(cmd, errs, size);
}

static double max_diff(const double *a, const double *b, size_t count)
{
    double d = 0;
    for (size_t i = 0; i < count; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

Test(predict_kernels_cli, matches_the_library)
{
    char dir[256], errs[8192];
    make_temp_dir(dir, sizeof dir);
    Arrays a;
    fixtures(dir, &a);
    double times[] = {2, INFINITY}, mean[2 * M * K], cov[2 * M * M], f_train[N * K], f_test[M * K], t3 = 3;
    ntkc_error err = {0};
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = a.tt, .ntk_st = a.st, .nngp_tt = a.tt, .nngp_st = a.st,
                       .nngp_ss = a.ss, .y = a.y, .reg = 0.01, .reg_absolute = 1};
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NNGP, times, 2, mean, cov, &err), 0, "%s", err.message);
    cr_assert_eq(run(dir, "--k-test-test ss.npy --targets y.npy --time 2,inf --reg-abs 0.01 --mean m.npy "
                          "--cov c.npy --train-mean p.npy --quiet", errs, sizeof errs), 0, "%s", errs);
    NpyArray m, c, tr;
    load(dir, "m.npy", &m), load(dir, "c.npy", &c), load(dir, "p.npy", &tr);
    cr_expect(m.ndim == 3 && m.shape[0] == 2 && m.shape[1] == M && m.shape[2] == K);
    cr_expect_lt(max_diff(m.data, mean, 2 * M * K), 1e-15);
    cr_expect_lt(max_diff(c.data, cov, 2 * M * M), 1e-15);
    double train2[2 * N * K], test2[2 * M * K];
    cr_assert_eq(predict_gd_mse_from(&in, NULL, NULL, times, 2, train2, test2, &err), 0, "%s", err.message);
    cr_expect(tr.ndim == 3 && tr.shape[1] == N);
    cr_expect_lt(max_diff(tr.data, train2, 2 * N * K), 1e-15);
    npy_free(&m), npy_free(&c), npy_free(&tr);

    cr_assert_eq(predict_gd_mse_from(&in, a.f0, a.g0, &t3, 1, f_train, f_test, &err), 0, "%s", err.message);
    cr_assert_eq(run(dir, "--targets y.npy --time 3 --reg-abs 0.01 --fx0-train f0.npy --fx0-test g0.npy "
                          "--mean m.npy --train-mean p.npy --quiet", errs, sizeof errs), 0, "%s", errs);
    load(dir, "m.npy", &m), load(dir, "p.npy", &c);
    cr_expect_lt(max_diff(m.data, f_test, M * K), 1e-15);
    cr_expect_lt(max_diff(c.data, f_train, N * K), 1e-15);
    npy_free(&m), npy_free(&c);

    double onehot[N * K];
    for (size_t i = 0; i < N * K; i++)
        onehot[i] = (double)(i % K == (size_t)a.lab[i / K]);
    PredictOde o = {.n = N, .m = M, .k = K, .g_tt = a.tt, .g_st = a.st, .y = onehot, .fx0_test = a.g0,
                    .loss = PREDICT_LOSS_XENT, .momentum_on = 1, .momentum = 0.8, .learning_rate = 0.5};
    cr_assert_eq(predict_ode(&o, &t3, 1, NULL, f_test, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(run(dir, "--targets lab.npy --time 3 --loss xent --momentum 0.8 --learning-rate 0.5 "
                          "--fx0-test g0.npy --mean m.npy --quiet", errs, sizeof errs), 0, "%s", errs);
    load(dir, "m.npy", &m);
    cr_expect_lt(max_diff(m.data, f_test, M * K), 1e-15);
    npy_free(&m);
}

typedef struct BadCase {
    char name[24];
    char args[160];
    char fragment[64];
} BadCase;

static const BadCase bad_cases[] = {
    {"asymmetric", "--k-test-test asym.npy --cov c.npy --targets y.npy --mean m.npy",
     "--k-test-test asym.npy has shape (5, 5) but (3, 3)"},
    {"kst_shape", "--targets y.npy --mean m.npy --k-test st_wrong.npy", "--k-test st_wrong.npy has shape (3, 3)"},
    {"cov_needs_kss", "--targets y.npy --mean m.npy --cov c.npy", "--cov needs the test-test kernel"},
    {"both_regs", "--targets y.npy --mean m.npy --reg 0.1 --reg-abs 0.1", "not both"},
    {"xent_inf", "--targets lab.npy --mean m.npy --loss xent", "finite times"},
    {"xent_cov", "--targets lab.npy --mean m.npy --loss xent --time 1 --cov c.npy --k-test-test ss.npy",
     "one network's"},
    {"fx0_shape", "--targets y.npy --mean m.npy --fx0-train g0.npy", "--fx0-train g0.npy must have shape (5, 2)"},
    {"bad_loss", "--targets y.npy --mean m.npy --loss hinge", "--loss must be mse or xent"},
    {"momentum_1", "--targets y.npy --mean m.npy --momentum 1 --time 1", "must be below 1"},
    {"targets_rows", "--targets g0.npy --mean m.npy", "g0.npy has 3 target rows but tt.npy has 5"},
};

ParameterizedTestParameters(predict_kernels_cli, bad_input)
{
    return cr_make_param_array(BadCase, bad_cases, sizeof bad_cases / sizeof *bad_cases);
}

ParameterizedTest(const BadCase *c, predict_kernels_cli, bad_input)
{
    char dir[256], errs[8192], path[600];
    make_temp_dir(dir, sizeof dir);
    Arrays a;
    fixtures(dir, &a);
    int rc = run(dir, c->args, errs, sizeof errs);
    cr_expect_eq(rc, 1, "%s: exit %d; stderr:\n%s", c->name, rc, errs);
    cr_expect(strstr(errs, c->fragment) != NULL, "%s: stderr lacks '%s':\n%s", c->name, c->fragment, errs);
    snprintf(path, sizeof path, "%s/m.npy", dir);
    cr_expect(!file_exists(path), "%s: the mean appeared", c->name);
}

Test(predict_kernels_cli, asymmetric_train_kernel_named)
{
    char dir[256], errs[8192], cmd[8192], exe[4096];
    make_temp_dir(dir, sizeof dir);
    Arrays a;
    fixtures(dir, &a);
    snprintf(cmd, sizeof cmd, "cd %s && %s predict --k-train asym.npy --k-test st.npy --targets y.npy --mean m.npy",
             dir, bin(exe));
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 1);
    cr_expect(strstr(errs, "--k-train asym.npy is not symmetric: element [3, 1]") != NULL, "%s", errs);
}
