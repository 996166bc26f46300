/* Prediction on graph data sets: `ntkc predict` on graph files equals the
 * closed forms of README "Prediction" written out densely here on the kernels
 * `ntkc kernel` computes from the same files; ntkc_predict_graphs equals
 * predict_gd_mse on ntkc_kernel_graphs; the labels in the files train and
 * score a classification of cycles, paths and stars far above chance. */
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "npy.h"
#include "ntkc_tool.h"
#include "util.h"

#define NET_SRC                                                                                                    \
    "net g { input graph(3)\n"                                                                                     \
    "  repeat 2 { aggregate(scale=degree); dense(1.4, 0.1); relu }\n"                                              \
    "  readout(sum, jk=true); dense(1) }\n"

enum { NTR = 12, NTE = 5, C = 3, T = 2 }; /* training and test graphs, classes, times */

/* ---- files ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void load(const char *dir, const char *name, NpyArray *a)
{
    char path[512];
    path_in(path, sizeof path, dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, a, &err), 0, "%s", err.message);
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

/* count connected random graphs of 3–8 nodes (a random tree plus a chord),
 * tags below 3, graph i labelled i % 3. */
static char *random_graphs(size_t count, unsigned long long seed, int *labels)
{
    GraphText t = {0};
    Rand r = {seed};
    for (size_t i = 0; i < count; i++) {
        size_t n = 3 + gt_next(&r, 6), m = 0;
        unsigned e[8][2];
        int tags[8];
        for (size_t v = 1; v < n; v++)
            e[m][0] = gt_next(&r, (unsigned)v), e[m++][1] = (unsigned)v;
        unsigned a = gt_next(&r, (unsigned)n), b = gt_next(&r, (unsigned)n), lo = a < b ? a : b, hi = a < b ? b : a;
        int fresh = a != b;
        for (size_t j = 0; j < m; j++)
            fresh &= !(e[j][0] == lo && e[j][1] == hi);
        if (fresh)
            e[m][0] = lo, e[m++][1] = hi;
        for (size_t u = 0; u < n; u++)
            tags[u] = (int)gt_next(&r, 3);
        labels[i] = (int)(i % 3);
        gt_add(&t, n, (const unsigned(*)[2])e, m, tags, labels[i]);
    }
    return gt_finish(&t);
}

/* ---- the closed forms, densely ---------------------------------------------- */

/* c (r×q) = a (r×p) · b (p×q), or a · bᵀ when b_t (b then q×p). */
static void matmul(const double *a, const double *b, double *c, size_t r, size_t p, size_t q, int b_t)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < q; j++) {
            double s = 0;
            for (size_t l = 0; l < p; l++)
                s += a[i * p + l] * (b_t ? b[j * p + l] : b[l * q + j]);
            c[i * q + j] = s;
        }
}

/* A(τ) = V diag(a(λ)) Vᵀ for G_r = G + reg·(tr G / n)·I = V diag(λ) Vᵀ, with
 * a(λ) = (1 − e^{−λτ})/λ, 1/λ at τ = ∞, 0 for λ <= 0. */
static void flow_matrix(const double *g, size_t n, double reg, double tau, double *a)
{
    double *v = malloc(n * n * sizeof *v), *w = malloc(n * sizeof *w), tr = 0;
    memcpy(v, g, n * n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        tr += g[i * n + i];
    for (size_t i = 0; i < n; i++)
        v[i * n + i] += reg * tr / (double)n;
    cr_assert_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, v, (lapack_int)n, w), 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t l = 0; l < n; l++) {
                double f = w[l] <= 0 ? 0 : isinf(tau) ? 1 / w[l] : -expm1(-w[l] * tau) / w[l];
                s += v[i * n + l] * f * v[j * n + l];
            }
            a[i * n + j] = s;
        }
    free(v), free(w);
}

/* The kernels of `ntkc kernel`: Θ and K train × train, test × train; K test × test. */
typedef struct Kernels {
    NpyArray ntt, ktt, nst, kst, kss;
} Kernels;

/* mean (NTE×C) and cov (NTE×NTE) at time t, for the NTK (ntk = 1) or the NNGP. */
static void dense_prediction(const Kernels *ks, int ntk, const double *y, double t, double reg, double *mean,
                             double *cov)
{
    const double *g_tt = ntk ? ks->ntt.data : ks->ktt.data, *g_st = ntk ? ks->nst.data : ks->kst.data;
    const double *k_tt = ks->ktt.data, *k_st = ks->kst.data, *k_ss = ks->kss.data;
    double a[NTR * NTR], b[NTE * NTR], bk[NTE * NTR], x[NTE * NTE], z[NTE * NTE], zt[NTE * NTE];
    const double N = NTR * C; /* time is divided by the number of target entries */
    flow_matrix(g_tt, NTR, reg, t / N, a);
    matmul(g_st, a, b, NTE, NTR, NTR, 0); /* B = G_st·A(t/N) */
    matmul(b, y, mean, NTE, NTR, C, 0);
    if (ntk) { /* K_ss + B·K_tt·Bᵀ − B·K_ts − K_st·Bᵀ */
        matmul(b, k_tt, bk, NTE, NTR, NTR, 0);
        matmul(bk, b, x, NTE, NTR, NTE, 1);
        matmul(b, k_st, z, NTE, NTR, NTE, 1);
        for (size_t i = 0; i < NTE; i++)
            for (size_t j = 0; j < NTE; j++)
                zt[i * NTE + j] = z[j * NTE + i];
        for (size_t i = 0; i < NTE * NTE; i++)
            cov[i] = k_ss[i] + x[i] - z[i] - zt[i];
    } else { /* K_ss − K_st·A(2t/N)·K_ts */
        flow_matrix(g_tt, NTR, reg, 2 * t / N, a);
        matmul(k_st, a, bk, NTE, NTR, NTR, 0);
        matmul(bk, k_st, x, NTE, NTR, NTE, 1);
        for (size_t i = 0; i < NTE * NTE; i++)
            cov[i] = k_ss[i] - x[i];
    }
}

static double accuracy(const double *mean, const int *labels, size_t m, size_t k)
{
    size_t hits = 0;
    for (size_t i = 0; i < m; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            best = mean[i * k + j] > mean[i * k + best] ? j : best;
        hits += (int)best == labels[i];
    }
    return (double)hits / (double)m;
}

/* ---- the CLI against the closed forms --------------------------------------- */

static void compute_kernels(const char *dir, Kernels *ks)
{
    char cmd[4096], errs[4096];
    snprintf(cmd, sizeof cmd,
             "%s kernel %s/g.ntk %s/train.txt --ntk %s/ntt.npy --nngp %s/ktt.npy --quiet && "
             "%s kernel %s/g.ntk %s/test.txt %s/train.txt --ntk %s/nst.npy --nngp %s/kst.npy --quiet && "
             "%s kernel %s/g.ntk %s/test.txt --nngp %s/kss.npy --quiet",
             ntkc_bin(), dir, dir, dir, dir, ntkc_bin(), dir, dir, dir, dir, dir, ntkc_bin(), dir, dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    load(dir, "ntt.npy", &ks->ntt), load(dir, "ktt.npy", &ks->ktt), load(dir, "nst.npy", &ks->nst);
    load(dir, "kst.npy", &ks->kst), load(dir, "kss.npy", &ks->kss);
    cr_assert_eq(ks->nst.count, (size_t)(NTE * NTR));
    cr_assert_eq(ks->kss.count, (size_t)(NTE * NTE));
}

/* Labels from the training file (one-hot, 3 classes), scored on the test
 * file's labels; two times; mean and covariance as the dense closed forms. */
static void check_cli_kind(const char *kind, int ntk)
{
    char dir[256], path[512], cmd[4096], out[8192];
    int train_labels[NTR], test_labels[NTE];
    make_temp_dir(dir, sizeof dir);
    char *train = random_graphs(NTR, 7, train_labels), *test = random_graphs(NTE, 8, test_labels);
    path_in(path, sizeof path, dir, "train.txt"), write_file(path, train);
    path_in(path, sizeof path, dir, "test.txt"), write_file(path, test);
    path_in(path, sizeof path, dir, "g.ntk"), write_file(path, NET_SRC);
    const double times[T] = {5, INFINITY}, reg = 1e-3;
    snprintf(cmd, sizeof cmd,
             "%s predict %s/g.ntk --train %s/train.txt --test %s/test.txt --time 5,inf --reg 1e-3 --kernel %s "
             "--mean %s/mean.npy --cov %s/cov.npy",
             ntkc_bin(), dir, dir, dir, kind, dir, dir);
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0, "%s", out);
    Kernels ks;
    compute_kernels(dir, &ks);
    NpyArray mean, cov;
    load(dir, "mean.npy", &mean), load(dir, "cov.npy", &cov);
    cr_assert(mean.ndim == 3 && mean.shape[0] == T && mean.shape[1] == NTE && mean.shape[2] == C);
    cr_assert(cov.ndim == 3 && cov.shape[0] == T && cov.shape[1] == NTE && cov.shape[2] == NTE);
    double y[NTR * C] = {0}, want_mean[NTE * C], want_cov[NTE * NTE];
    for (size_t i = 0; i < NTR; i++)
        y[i * C + (size_t)train_labels[i]] = 1;
    for (size_t t = 0; t < T; t++) {
        dense_prediction(&ks, ntk, y, times[t], reg, want_mean, want_cov);
        double dm = max_rel_diff(mean.data + t * NTE * C, want_mean, NTE * C);
        double dc = max_rel_diff(cov.data + t * NTE * NTE, want_cov, NTE * NTE);
        fprintf(stderr, "graph predict %s t = %g: mean agrees to %.1e, covariance to %.1e\n", kind, times[t], dm,
                dc);
        cr_expect_lt(dm, 1e-10, "%s t = %g: mean differs by %g", kind, times[t], dm);
        cr_expect_lt(dc, 1e-10, "%s t = %g: covariance differs by %g", kind, times[t], dc);
        char line[128];
        double acc = accuracy(want_mean, test_labels, NTE, C);
        snprintf(line, sizeof line, "accuracy %.2f%% (%.0f/%d)", 100 * acc, acc * NTE, NTE);
        cr_expect(strstr(out, line) != NULL, "summary lacks '%s':\n%s", line, out);
    }
    cr_expect(strstr(out, "(one-hot classes of the graph labels)") != NULL, "%s", out);
    npy_free(&mean), npy_free(&cov);
    npy_free(&ks.ntt), npy_free(&ks.ktt), npy_free(&ks.nst), npy_free(&ks.kst), npy_free(&ks.kss);
    free(train), free(test);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(graph_predict, cli_ntk_equals_dense_closed_form) { check_cli_kind("ntk", 1); }
Test(graph_predict, cli_nngp_equals_dense_closed_form) { check_cli_kind("nngp", 0); }

/* Test labels that are not training classes (placeholders of an unlabelled
 * set): the prediction is written, with a note instead of metrics. */
Test(graph_predict, placeholder_test_labels_give_a_note_not_metrics)
{
    char dir[256], path[512], cmd[4096], out[8192];
    int train_labels[NTR];
    make_temp_dir(dir, sizeof dir);
    char *train = random_graphs(NTR, 7, train_labels);
    path_in(path, sizeof path, dir, "train.txt"), write_file(path, train);
    path_in(path, sizeof path, dir, "test.txt"), write_file(path, "2\n1 0\n2 0\n2 -1\n0 1 1\n1 1 0\n");
    path_in(path, sizeof path, dir, "g.ntk"), write_file(path, NET_SRC);
    snprintf(cmd, sizeof cmd, "%s predict %s/g.ntk --train %s/train.txt --test %s/test.txt --mean %s/mean.npy 2>&1",
             ntkc_bin(), dir, dir, dir, dir);
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "test.txt: note: graph 2 has label -1, not one of the training classes 0..2: no test "
                          "metrics") != NULL, "%s", out);
    cr_expect(strstr(out, "accuracy") == NULL && strstr(out, "test MSE") == NULL, "%s", out); /* no metrics */
    NpyArray mean;
    load(dir, "mean.npy", &mean);
    cr_expect(mean.ndim == 2 && mean.shape[0] == 2 && mean.shape[1] == C);
    npy_free(&mean);
    snprintf(cmd, sizeof cmd, "%s predict --help", ntkc_bin());
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0);
    cr_expect(strstr(out, "GRAPHNET.ntk --train train.txt [--targets Y.npy]") != NULL, "%s", out);
    free(train);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- the library ---------------------------------------------------------------- */

typedef struct Count {
    size_t calls, total;
} Count;

static int count_progress(void *ctx, size_t done, size_t total)
{
    Count *c = ctx;
    (void)done;
    c->calls++, c->total = total;
    return 0;
}

/* ntkc_predict_graphs is predict_gd_mse on the kernels of ntkc_kernel_graphs,
 * computing only those it needs (counted through the progress callback). */
Test(graph_predict, library_equals_predict_gd_mse_on_graph_kernels)
{
    int train_labels[NTR], test_labels[NTE];
    char *train = random_graphs(NTR, 17, train_labels), *test = random_graphs(NTE, 18, test_labels);
    ntkc_net *net = compile_or_fail(NET_SRC, NTKC_BACKEND_TCC);
    ntkc_graphs *g = graphs_or_fail(train, 3), *gt = graphs_or_fail(test, 3);
    double ntt[NTR * NTR], ktt[NTR * NTR], nst[NTE * NTR], kst[NTE * NTR], kss[NTE * NTE], y[NTR * C] = {0};
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(net, g, NULL, ktt, ntt, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs(net, gt, g, kst, nst, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs(net, gt, NULL, kss, NULL, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < NTR; i++)
        y[i * C + (size_t)ntkc_graphs_labels(g)[i]] = 1;
    const double times[T] = {2, INFINITY};
    for (int kind = 0; kind < 2; kind++) {
        double mean[T * NTE * C], cov[T * NTE * NTE], want_mean[T * NTE * C], want_cov[T * NTE * NTE];
        PredictInput in = {.n = NTR, .m = NTE, .k = C, .ntk_tt = ntt, .nngp_tt = ktt, .ntk_st = nst,
                           .nngp_st = kst, .nngp_ss = kss, .y = y, .reg = 1e-4};
        cr_assert_eq(predict_gd_mse(&in, kind ? PREDICT_NNGP : PREDICT_NTK, times, T, want_mean, want_cov, &err),
                     0, "%s", err.message);
        Count c = {0};
        ntkc_predict_options o = {.kernel = kind ? NTKC_PREDICT_NNGP : NTKC_PREDICT_NTK, .reg = 1e-4,
                                  .eval = {.progress = count_progress, .progress_ctx = &c}};
        cr_assert_eq(ntkc_predict_graphs(net, g, y, C, gt, times, T, &o, mean, cov, NULL, &err), 0, "%s",
                     err.message);
        cr_expect_lt(max_rel_diff(mean, want_mean, T * NTE * C), 1e-13);
        cr_expect_lt(max_rel_diff(cov, want_cov, T * NTE * NTE), 1e-13);
        cr_expect_eq(c.total, (size_t)(NTR * (NTR + 1) / 2 + NTE * NTR + NTE * (NTE + 1) / 2));
        c = (Count){0};
        cr_assert_eq(ntkc_predict_graphs(net, g, y, C, gt, times, T, &o, mean, NULL, NULL, &err), 0, "%s",
                     err.message);
        cr_expect_eq(c.total, (size_t)(NTR * (NTR + 1) / 2 + NTE * NTR), "no test × test kernel for the mean");
        cr_expect_lt(max_rel_diff(mean, want_mean, T * NTE * C), 1e-13);
    }
    ntkc_graphs_free(g), ntkc_graphs_free(gt);
    ntkc_net_free(net);
    free(train), free(test);
}

/* Graphs to a net of vectors, rows to a graph net, graphs with the wrong F:
 * user errors before any kernel entry is computed. */
Test(graph_predict, library_refuses_the_wrong_kind_of_input)
{
    ntkc_net *gn = compile_or_fail(NET_SRC, NTKC_BACKEND_TCC);
    ntkc_net *fc = compile_or_fail("net f { dense; relu; dense }", NTKC_BACKEND_TCC);
    ntkc_graphs *g = graphs_or_fail("2\n2 0\n0 1 1\n1 1 0\n1 1\n2 0\n", 3);
    ntkc_graphs *g4 = graphs_or_fail("1\n2 0\n0 1 1 1 2 3 4\n1 1 0 5 6 7 8\n", 0);
    double y[2] = {1, -1}, x[6] = {1, 2, 3, 4, 5, 6}, mean[2];
    Count c = {0};
    ntkc_predict_options o = {.eval = {.progress = count_progress, .progress_ctx = &c}};
    ntkc_error err = {0};
    cr_expect_eq(ntkc_predict_graphs(fc, g, y, 1, g, NULL, 0, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "net 'f' does not take graphs") != NULL, "%s", err.message);
    cr_expect_eq(ntkc_predict(gn, 2, x, y, 1, 2, x, 3, NULL, 0, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "use ntkc_predict_graphs") != NULL, "%s", err.message);
    cr_expect_eq(ntkc_predict_graphs(gn, g, y, 1, g4, NULL, 0, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "the test graphs have 4 node features, the net 'g' takes graph(3)") != NULL, "%s",
              err.message);
    y[1] = NAN;
    cr_expect_eq(ntkc_predict_graphs(gn, g, y, 1, g, NULL, 0, &o, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "y_train[1][0]") != NULL, "%s", err.message);
    cr_expect_eq(c.calls, 0u, "kernels were computed before an error");
    ntkc_graphs_free(g), ntkc_graphs_free(g4);
    ntkc_net_free(gn), ntkc_net_free(fc);
}

/* ---- classification from the labels in the files ----------------------------- */

/* 60 training and 30 test graphs, cycles, paths and stars, told apart by
 * structure alone: `ntkc predict` trained on the training file's labels,
 * scored on the test file's, classifies far above chance (1/3). */
Test(graph_predict, cycles_paths_stars_from_file_labels)
{
    enum { NTRAIN = 60, NTEST = 30 };
    char dir[256], path[512], cmd[4096], out[8192];
    int train_labels[NTRAIN], test_labels[NTEST];
    make_temp_dir(dir, sizeof dir);
    GraphText t = {0}, u = {0};
    Rand r = {2024};
    gt_add_cycles_paths_stars(&t, &r, NTRAIN, train_labels);
    gt_add_cycles_paths_stars(&u, &r, NTEST, test_labels);
    char *train = gt_finish(&t), *test = gt_finish(&u);
    path_in(path, sizeof path, dir, "train.txt"), write_file(path, train);
    path_in(path, sizeof path, dir, "test.txt"), write_file(path, test);
    path_in(path, sizeof path, dir, "g.ntk");
    write_file(path, "let c = 1.4142135623730951\n"
                     "net g { input graph(1)\n"
                     "  repeat 3 { aggregate; dense(c); relu; dense(c); relu }\n"
                     "  readout(mean, jk=true); dense(1) }\n");
    snprintf(cmd, sizeof cmd,
             "%s predict %s/g.ntk --train %s/train.txt --test %s/test.txt --reg 1e-6 --mean %s/mean.npy",
             ntkc_bin(), dir, dir, dir, dir);
    cr_assert_eq(run_stdout(cmd, out, sizeof out), 0, "%s", out);
    NpyArray mean;
    load(dir, "mean.npy", &mean);
    cr_assert(mean.ndim == 2 && mean.shape[0] == NTEST && mean.shape[1] == 3);
    double acc = accuracy(mean.data, test_labels, NTEST, 3);
    char line[128];
    snprintf(line, sizeof line, "accuracy %.2f%% (%.0f/%d)", 100 * acc, acc * NTEST, NTEST);
    cr_expect(strstr(out, line) != NULL, "summary lacks '%s':\n%s", line, out);
    fprintf(stderr, "graph predict: cycles/paths/stars %s (chance 33%%)\n", line);
    cr_expect_geq(acc, 0.8, "accuracy %.2f", acc);
    npy_free(&mean);
    free(train), free(test);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
