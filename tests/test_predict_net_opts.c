/* `ntkc predict NET.ntk` (and ntkc_predict / ntkc_predict_graphs) with the
 * options beyond the ensemble — --fx0-train/--fx0-test, --loss xent,
 * --momentum, --learning-rate, --train-mean — on a vector, an image and a
 * graph net. The reference is computed here from kernels of ntkc_kernel(_graphs)
 * by the solvers themselves (predict_gd_mse_from, predict_ode, predict_gd_mse),
 * whose numbers test_predict_ode.c checks against closed forms and
 * test_predict_xent.c against finite-width networks: what is tested is that
 * the net's front door computes the right kernels and hands the options
 * over unchanged. Same kernels, same solver: agreement to 1e-12 relative
 * (the kernels are computed by the same code; only thread scheduling could
 * change a summation order). Bad combinations exit 1, name the option, write
 * nothing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "npy.h"
#include "ntkc_tool.h"
#include "util.h"

enum { N = 5, M = 3, K = 2, MAXD = 9 };

typedef struct NetCase {
    const char *name, *src;
    size_t dim; /* features per row; 0 for graphs */
} NetCase;

static const NetCase vector_net = {"vector", "net mlp { dense(1.5, 0.05); relu; dense(1.2, 0.1); erf; dense(1) }\n",
                                   4};
static const NetCase image_net = {
    "image", "net c { input image(3, 3, 1); conv(3, 1.4, 0.1); relu; global_avg_pool; dense }\n", 9};
static const NetCase graph_net = {"graph",
                                  "net g { input graph(2)\n"
                                  "  repeat 2 { aggregate(scale=degree); dense(1.4, 0.1); relu }\n"
                                  "  readout(sum, jk=true); dense(1) }\n",
                                  0};
/* Five training graphs and three test graphs, tags 0/1 (two features). */
static const char train_graphs[] = "5\n"
                                   "2 0\n0 1 1\n1 1 0\n"
                                   "3 1\n0 2 1 2\n1 2 0 2\n1 2 0 1\n"
                                   "3 0\n0 1 1\n1 2 0 2\n0 1 1\n"
                                   "4 1\n1 1 1\n0 2 0 2\n0 2 1 3\n1 1 2\n"
                                   "2 0\n1 1 1\n1 1 0\n";
static const char test_graphs[] = "3\n"
                                  "3 0\n1 1 1\n0 2 0 2\n1 1 1\n"
                                  "2 1\n0 1 1\n0 1 0\n"
                                  "4 0\n0 3 1 2 3\n1 1 0\n1 1 0\n0 1 0\n";

typedef struct Fixture {
    char dir[256];
    ntkc_net *net;
    ntkc_graphs *g, *gt;
    double x[N * MAXD], xt[M * MAXD], y[N * K], f0[N * K], g0[M * K];
    double ntk_tt[N * N], ntk_st[M * N], nngp_tt[N * N], nngp_st[M * N];
} Fixture;

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void save(const char *dir, const char *name, size_t rows, size_t cols, const double *data)
{
    char path[512];
    size_t shape[2] = {rows, cols};
    path_in(path, sizeof path, dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, 2, shape, data, &err), 0, "%s", err.message);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    path_in(path, sizeof path, dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void kernels(Fixture *f, const NetCase *c)
{
    ntkc_error err = {0};
    if (c->dim == 0) {
        cr_assert_eq(ntkc_kernel_graphs(f->net, f->g, NULL, f->nngp_tt, f->ntk_tt, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(ntkc_kernel_graphs(f->net, f->gt, f->g, f->nngp_st, f->ntk_st, NULL, &err), 0, "%s",
                     err.message);
        return;
    }
    cr_assert_eq(ntkc_kernel(f->net, N, f->x, 0, NULL, c->dim, f->nngp_tt, f->ntk_tt, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ntkc_kernel(f->net, M, f->xt, N, f->x, c->dim, f->nngp_st, f->ntk_st, NULL, &err), 0, "%s",
                 err.message);
}

/* Data files in a new directory, the net compiled, its kernels computed. */
static void setup(Fixture *f, const NetCase *c)
{
    memset(f, 0, sizeof *f);
    make_temp_dir(f->dir, sizeof f->dir);
    write_text(f->dir, "net.ntk", c->src);
    f->net = compile_or_fail(c->src, NTKC_BACKEND_TCC);
    if (c->dim == 0) {
        write_text(f->dir, "x.txt", train_graphs), write_text(f->dir, "xt.txt", test_graphs);
        f->g = graphs_or_fail(train_graphs, 2), f->gt = graphs_or_fail(test_graphs, 2);
    } else {
        fill_random(f->x, N * c->dim, 31), fill_random(f->xt, M * c->dim, 32);
        save(f->dir, "x.npy", N, c->dim, f->x), save(f->dir, "xt.npy", M, c->dim, f->xt);
    }
    for (size_t i = 0; i < N * K; i++)
        f->y[i] = (double)(i % K == (i / K) % K), f->f0[i] = 0.4 * sin(1.3 * (double)i + 0.2);
    for (size_t i = 0; i < M * K; i++)
        f->g0[i] = 0.3 * cos(2.1 * (double)i);
    save(f->dir, "y.npy", N, K, f->y), save(f->dir, "f0.npy", N, K, f->f0), save(f->dir, "g0.npy", M, K, f->g0);
    kernels(f, c);
}

static void teardown(Fixture *f)
{
    ntkc_net_free(f->net);
    ntkc_graphs_free(f->g), ntkc_graphs_free(f->gt);
}

/* ntkc predict DIR/net.ntk --train … --test … --targets DIR/y.npy ARGS (DIR substituted). */
static int run(const Fixture *f, const NetCase *c, const char *args, char *errs, size_t size)
{
    char cmd[4096], rest[1024];
    size_t o = 0;
    for (const char *p = args; *p && o + 300 < sizeof rest; p++)
        if (strncmp(p, "DIR", 3) == 0)
            o += (size_t)snprintf(rest + o, sizeof rest - o, "%s", f->dir), p += 2;
        else
            rest[o++] = *p;
    rest[o] = '\0';
    const char *ext = c->dim ? "npy" : "txt";
    snprintf(cmd, sizeof cmd, "%s predict %s/net.ntk --train %s/x.%s --test %s/xt.%s --targets %s/y.npy %s --quiet",
             ntkc_bin(), f->dir, f->dir, ext, f->dir, ext, f->dir, rest);
    return run_command(cmd, errs, size);
}

static void expect_file(const Fixture *f, const char *name, const double *want, size_t count, const char *what)
{
    char path[512];
    path_in(path, sizeof path, f->dir, name);
    NpyArray a;
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, count, "%s: %zu values, %zu expected", what, a.count, count);
    double d = max_rel_diff(a.data, want, count);
    cr_expect_lt(d, 1e-12, "%s: %s differs from the solver on the same kernels by %.3g", what, name, d);
    npy_free(&a);
}

static PredictInput input(const Fixture *f, int nngp, double reg)
{
    return (PredictInput){.n = N, .m = M, .k = K, .ntk_tt = nngp ? f->nngp_tt : f->ntk_tt,
                          .ntk_st = nngp ? f->nngp_st : f->ntk_st, .nngp_tt = f->nngp_tt, .nngp_st = f->nngp_st,
                          .y = f->y, .reg = reg};
}

/* MSE from given initial outputs, at a finite time and at inf. */
static void check_fx0(const Fixture *f, const NetCase *c)
{
    double times[2] = {3, INFINITY}, train[2 * N * K], test[2 * M * K];
    char errs[8192];
    ntkc_error err = {0};
    PredictInput in = input(f, 0, 1e-3);
    cr_assert_eq(predict_gd_mse_from(&in, f->f0, f->g0, times, 2, train, test, &err), 0, "%s", err.message);
    cr_assert_eq(run(f, c, "--fx0-train DIR/f0.npy --fx0-test DIR/g0.npy --time 3,inf --reg 1e-3 "
                           "--mean DIR/m.npy --train-mean DIR/p.npy", errs, sizeof errs), 0, "%s: %s", c->name, errs);
    expect_file(f, "m.npy", test, 2 * M * K, c->name);
    expect_file(f, "p.npy", train, 2 * N * K, c->name);
}

/* Cross-entropy with momentum, NTK: the ODE from (0, g0). */
static void check_xent_momentum(const Fixture *f, const NetCase *c)
{
    double times[2] = {2, 0.5}, train[2 * N * K], test[2 * M * K];
    char errs[8192];
    ntkc_error err = {0};
    PredictOde p = {.n = N, .m = M, .k = K, .g_tt = f->ntk_tt, .g_st = f->ntk_st, .y = f->y, .fx0_test = f->g0,
                    .loss = PREDICT_LOSS_XENT, .momentum_on = 1, .momentum = 0.7, .learning_rate = 0.5};
    cr_assert_eq(predict_ode(&p, times, 2, train, test, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(run(f, c, "--loss xent --momentum 0.7 --learning-rate 0.5 --fx0-test DIR/g0.npy --time 2,0.5 "
                           "--mean DIR/m.npy --train-mean DIR/p.npy", errs, sizeof errs), 0, "%s: %s", c->name, errs);
    expect_file(f, "m.npy", test, 2 * M * K, c->name);
    expect_file(f, "p.npy", train, 2 * N * K, c->name);
    /* The library's front door, with the same options. */
    double mean[2 * M * K], ptrain[2 * N * K];
    ntkc_predict_options o = {.fx0_test = f->g0, .loss = NTKC_LOSS_XENT, .momentum_on = 1, .momentum = 0.7,
                              .learning_rate = 0.5, .train_mean = ptrain};
    ntkc_predict_stats st = {0};
    int rc = c->dim ? ntkc_predict(f->net, N, f->x, f->y, K, M, f->xt, c->dim, times, 2, &o, mean, NULL, &st, &err)
                    : ntkc_predict_graphs(f->net, f->g, f->y, K, f->gt, times, 2, &o, mean, NULL, &st, &err);
    cr_assert_eq(rc, 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(mean, test, 2 * M * K), 1e-12, "%s: library mean", c->name);
    cr_expect_lt(max_rel_diff(ptrain, train, 2 * N * K), 1e-12, "%s: library train outputs", c->name);
    cr_expect(st.ode_steps > 0 && st.ode_evals >= st.ode_steps, "%s: ODE work %zu steps, %zu evaluations", c->name,
              st.ode_steps, st.ode_evals);
}

/* Cross-entropy without momentum, readout-only training (the NNGP drives it). */
static void check_xent_nngp(const Fixture *f, const NetCase *c)
{
    double t = 1.5, test[M * K];
    char errs[8192];
    ntkc_error err = {0};
    PredictOde p = {.n = N, .m = M, .k = K, .g_tt = f->nngp_tt, .g_st = f->nngp_st, .y = f->y,
                    .loss = PREDICT_LOSS_XENT, .learning_rate = 1};
    cr_assert_eq(predict_ode(&p, &t, 1, NULL, test, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(run(f, c, "--kernel nngp --loss xent --time 1.5 --mean DIR/m.npy", errs, sizeof errs), 0, "%s: %s",
                 c->name, errs);
    expect_file(f, "m.npy", test, M * K, c->name);
}

/* The ensemble with --train-mean: the mean as before, the flow from 0 on the training points. */
static void check_ensemble_train_mean(const Fixture *f, const NetCase *c)
{
    double t = 2, mean[M * K], train[N * K], test[M * K];
    char errs[8192];
    ntkc_error err = {0};
    PredictInput in = input(f, 0, 0);
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, &t, 1, mean, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(predict_gd_mse_from(&in, NULL, NULL, &t, 1, train, test, &err), 0, "%s", err.message);
    cr_assert_eq(run(f, c, "--time 2 --mean DIR/m.npy --train-mean DIR/p.npy", errs, sizeof errs), 0, "%s: %s",
                 c->name, errs);
    expect_file(f, "m.npy", mean, M * K, c->name);
    expect_file(f, "p.npy", train, N * K, c->name);
}

static void check_net(const NetCase *c)
{
    Fixture f;
    setup(&f, c);
    check_fx0(&f, c);
    check_xent_momentum(&f, c);
    check_xent_nngp(&f, c);
    check_ensemble_train_mean(&f, c);
    teardown(&f);
}

Test(predict_net_opts, vector_net, .timeout = TIMEOUT(60)) { check_net(&vector_net); }
Test(predict_net_opts, image_net, .timeout = TIMEOUT(60)) { check_net(&image_net); }
Test(predict_net_opts, graph_net, .timeout = TIMEOUT(60)) { check_net(&graph_net); }

/* Combinations that mean nothing: exit 1, a message naming them, no output. */
Test(predict_net_opts, bad_combinations_refused, .timeout = TIMEOUT(60))
{
    static const char *const cases[][2] = {
        {"--loss xent --time 1 --cov DIR/c.npy --mean DIR/m.npy", "one network's"},
        {"--fx0-test DIR/g0.npy --cov DIR/c.npy --mean DIR/m.npy", "one network's"},
        {"--loss xent --mean DIR/m.npy", "finite times"},
        {"--loss xent --time 1 --reg 0.1 --mean DIR/m.npy", "no regulariser"},
        {"--learning-rate 0.5 --time 1 --mean DIR/m.npy", "only with --momentum"},
        {"--momentum 1.5 --time 1 --mean DIR/m.npy", "must be below 1"},
        {"--loss hinge --mean DIR/m.npy", "--loss must be mse or xent"},
        {"--fx0-test DIR/f0.npy --mean DIR/m.npy", "--fx0-test"},
        {"--fx0-train DIR/g0.npy --mean DIR/m.npy", "must have shape (5, 2)"},
        {"--mean DIR/m.npy --train-mean DIR/./m.npy", "name the same file"},
        {"--mean DIR/m.npy --train-mean DIR/y.npy", "is also an input"},
    };
    Fixture f;
    setup(&f, &vector_net);
    char errs[8192], path[512];
    path_in(path, sizeof path, f.dir, "m.npy");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = run(&f, &vector_net, cases[i][0], errs, sizeof errs);
        cr_expect_eq(rc, 1, "'%s': exit %d; stderr:\n%s", cases[i][0], rc, errs);
        cr_expect(strstr(errs, cases[i][1]) != NULL, "'%s': stderr lacks '%s':\n%s", cases[i][0], cases[i][1], errs);
        cr_expect(!file_exists(path), "'%s': the mean appeared", cases[i][0]);
    }
    teardown(&f);
}

/* The library refuses the same combinations by itself. */
Test(predict_net_opts, library_refuses_bad_options)
{
    Fixture f;
    setup(&f, &vector_net);
    double t = 1, inf = INFINITY, mean[M * K], cov[M * M];
    ntkc_error err = {0};
    ntkc_predict_options xent = {.loss = NTKC_LOSS_XENT}, bad_loss = {.loss = (ntkc_predict_loss)7};
    ntkc_predict_options lr_alone = {.learning_rate = 0.5}, mom = {.momentum_on = 1, .momentum = 1};
    ntkc_predict_options xent_reg = {.loss = NTKC_LOSS_XENT, .reg = 0.1};
    struct {
        const ntkc_predict_options *o;
        const double *time;
        double *cov;
        const char *fragment;
    } cases[] = {{&xent, &t, cov, "one network's"},      {&xent, &inf, NULL, "finite times"},
                 {&bad_loss, &t, NULL, "unknown loss 7"}, {&lr_alone, &t, NULL, "only with momentum"},
                 {&mom, &t, NULL, "in [0, 1)"},           {&xent_reg, &t, NULL, "no regulariser"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, vector_net.dim, cases[i].time, 1, cases[i].o, mean,
                              cases[i].cov, NULL, &err);
        cr_expect_eq(rc, NTKC_EUSER, "case %zu: %d", i, rc);
        cr_expect(strstr(err.message, cases[i].fragment) != NULL, "case %zu: '%s' lacks '%s'", i, err.message,
                  cases[i].fragment);
    }
    teardown(&f);
}
