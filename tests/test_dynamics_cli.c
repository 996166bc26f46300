/* `ntkc spectrum` and `ntkc train` from the shell: good runs write what
 * --help promises (eigenvalues, figures with their data and script), bad
 * requests exit 1 with a message naming the cause. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "util.h"

enum { N = 8, M = 4, D = 3 };

static void write_array(const char *dir, const char *name, size_t rows, size_t cols, unsigned long long seed)
{
    char path[512];
    double *a = malloc(rows * cols * sizeof *a);
    fill_random(a, rows * cols, seed);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t shape[2] = {rows, cols};
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, 2, shape, a, &err), 0, "%s", err.message);
    free(a);
}

/* count path graphs of 3–5 nodes with 2 node features, labels alternating 0, 1. */
static void write_graphs(const char *dir, const char *name, size_t count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%zu\n", count);
    for (size_t g = 0; g < count; g++) {
        size_t n = 3 + g % 3;
        fprintf(f, "%zu %zu\n", n, g % 2);
        for (size_t u = 0; u < n; u++) {
            size_t deg = (u > 0) + (u + 1 < n);
            fprintf(f, "%zu %zu", (u + g) % 2, deg);
            if (u > 0)
                fprintf(f, " %zu", u - 1);
            if (u + 1 < n)
                fprintf(f, " %zu", u + 1);
            fputc('\n', f);
        }
    }
    fclose(f);
}

static void write_net(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup_dir(char *dir, size_t size)
{
    make_temp_dir(dir, size);
    write_array(dir, "x.npy", N, D, 1);
    write_array(dir, "y.npy", N, 2, 2);
    write_array(dir, "xt.npy", M, D, 3);
    write_array(dir, "yt.npy", M, 2, 4);
    char path[512];
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    FILE *f = fopen(path, "w");
    fputs("net mlp { dense(1.5, 0.1); relu; dense(1.0, 0.1) }\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/conv.ntk", dir);
    f = fopen(path, "w");
    fputs("net c { input image(3, 1, 1); conv(1); relu; flatten; dense(1) }\n", f);
    fclose(f);
    write_net(dir, "conv0.ntk", "net c0 { input image(3, 1, 1); global_avg_pool; dense(1) }\n");
    write_net(dir, "graph.ntk", "net g { input graph(2); dense(1.4, 0.1); relu; aggregate(scale=uniform)\n"
                                "  readout(sum); dense(1) }\n");
    write_net(dir, "graphjk.ntk", "net gj { input graph(2); aggregate(scale=uniform); dense(1.4); relu\n"
                                  "  readout(sum, jk=true); dense(1) }\n");
    write_graphs(dir, "g.txt", N);
    write_graphs(dir, "gt.txt", M);
}

static int ntkc(const char *dir, const char *args, char *errs, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", dir, ntkc_bin(), args);
    return run_command(cmd, errs, size);
}

static int exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return file_exists(path);
}

static int have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

Test(dynamics_cli, spectrum_writes_eigenvalues_and_figure, .timeout = TIMEOUT(30))
{
    char dir[256], errs[4096];
    setup_dir(dir, sizeof dir);
    cr_assert_eq(ntkc(dir, "spectrum net.ntk x.npy --targets y.npy --eigenvalues ev.npy --plot fig.svg", errs,
                      sizeof errs), 0, "%s", errs);
    char path[512];
    snprintf(path, sizeof path, "%s/ev.npy", dir);
    NpyArray ev;
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, &ev, &err), 0, "%s", err.message);
    cr_assert_eq(ev.ndim, 1u);
    cr_assert_eq(ev.shape[0], (size_t)N);
    for (size_t i = 1; i < N; i++)
        cr_assert(ev.data[i] <= ev.data[i - 1], "largest first");
    npy_free(&ev);
    cr_assert(exists(dir, "fig.dat") && exists(dir, "fig.gp"));
    if (have_gnuplot())
        cr_assert(exists(dir, "fig.svg") && exists(dir, "fig.png"));
}

Test(dynamics_cli, train_runs_both_parameterizations_with_a_figure, .timeout = TIMEOUT(30))
{
    char dir[256], errs[4096];
    setup_dir(dir, sizeof dir);
    cr_assert_eq(ntkc(dir, "train net.ntk --train x.npy --targets y.npy --test xt.npy --test-targets yt.npy "
                           "--width 8,32 --seeds 2 --lr 1 --steps 4 --param both --plot tr",
                      errs, sizeof errs), 0, "%s", errs);
    cr_assert(exists(dir, "tr.dat") && exists(dir, "tr.gp"));
    if (have_gnuplot())
        cr_assert(exists(dir, "tr.svg") && exists(dir, "tr.png"));
}

/* Image nets train on arrays; graph nets on graph files, with the training
 * file's labels as targets when --targets is left out; ntkc spectrum takes
 * graph files too. */
Test(dynamics_cli, train_and_spectrum_take_image_and_graph_nets, .timeout = TIMEOUT(30))
{
    char dir[256], errs[4096];
    setup_dir(dir, sizeof dir);
    cr_assert_eq(ntkc(dir, "train conv.ntk --train x.npy --targets y.npy --test xt.npy --width 4,8 --seeds 2 --lr 1 "
                           "--steps 3 --param both --quiet",
                      errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq(ntkc(dir, "train graph.ntk --train g.txt --test gt.txt --width 4,8 --seeds 2 --lr 0.5 --steps 3 "
                           "--param both --quiet",
                      errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq(ntkc(dir, "spectrum graph.ntk g.txt --labels --eigenvalues ev.npy --quiet", errs, sizeof errs), 0,
                 "%s", errs);
    char path[512];
    snprintf(path, sizeof path, "%s/ev.npy", dir);
    NpyArray ev;
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, &ev, &err), 0, "%s", err.message);
    cr_assert_eq(ev.shape[0], (size_t)N, "one eigenvalue per graph");
    npy_free(&ev);
}

typedef struct BadCase {
    char args[256];
    char fragment[96];
} BadCase;

static const BadCase bad[] = {
    {"spectrum net.ntk x.npy --top 8", "--top 8"},
    {"spectrum net.ntk x.npy --kernel gp", "--kernel"},
    {"spectrum net.ntk x.npy --eigenvalues x.npy", "also an input"},
    {"spectrum net.ntk", "expected NET.ntk and X.npy"},
    {"train net.ntk --train x.npy --targets y.npy --test xt.npy --width 8 --steps 2", "missing --lr"},
    {"train net.ntk --train x.npy --targets y.npy --test xt.npy --width 8,0 --lr 1 --steps 2", "--width"},
    {"train net.ntk --train x.npy --targets y.npy --test xt.npy --width 8 --lr 1 --steps 2 --seeds 1", "--seeds"},
    {"train net.ntk --train x.npy --targets y.npy --test xt.npy --width 8 --lr 1 --steps 2 --param sp", "--param"},
    {"train net.ntk --train x.npy --targets y.npy --test xt.npy --width 8 --lr 1e9 --steps 50", "diverged"},
    {"train conv0.ntk --train x.npy --targets y.npy --test xt.npy --width 8 --lr 1 --steps 2 --param mup",
     "muP parameterization is not defined for its dense layer"},
    {"train graphjk.ntk --train g.txt --targets y.npy --test gt.txt --width 8 --lr 1 --steps 2 --param mup",
     "muP parameterization is not defined for its dense layer: its fan-in joins"},
    {"train net.ntk --train x.npy --test xt.npy --width 8 --lr 1 --steps 2", "missing --targets"},
    {"spectrum net.ntk x.npy --labels", "carry no labels"},
    {"spectrum graph.ntk g.txt --labels --targets y.npy", "give one"},
};

ParameterizedTestParameters(dynamics_cli, bad_requests)
{
    return cr_make_param_array(BadCase, bad, sizeof bad / sizeof bad[0]);
}

ParameterizedTest(const BadCase *c, dynamics_cli, bad_requests, .timeout = TIMEOUT(30))
{
    char dir[256], errs[4096];
    setup_dir(dir, sizeof dir);
    cr_assert_eq(ntkc(dir, c->args, errs, sizeof errs), 1, "%s: %s", c->args, errs);
    cr_assert(strstr(errs, c->fragment) != NULL, "%s: expected '%s' in: %s", c->args, c->fragment, errs);
}
