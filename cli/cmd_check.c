/* ntkc check: the analytic kernels against the average of finite-width
 * networks, as the relative Frobenius error of each. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "ntkc_tool.h"
#include "graph_inputs.h"
#include "masks.h"

static const char help[] =
    "usage: ntkc check NET.ntk X.npy [--width W] [--samples S] [--seed N] [--net NAME] [--tol T]\n"
    "                  [--mask M.npy | --lengths L.npy]\n"
    "\n"
    "Samples S finite networks of hidden width W (default 1024 and 32; for\n"
    "image nets W channels, and the NNGP averages W readout units) in the\n"
    "net's parameterization, averages their empirical NNGP f(x)f(x') and NTK\n"
    "J(x)J(x')ᵀ over the rows of X, and prints the relative Frobenius error\n"
    "of each against the analytic kernel. The Monte Carlo error shrinks like\n"
    "1/sqrt(W·S). With --tol, exits 1 when either error exceeds T.\n"
    "For a graph net (input graph(F)), X is a graph file and the finite\n"
    "networks are graph networks of hidden width W. --mask/--lengths: padding of\n"
    "variable-length inputs (nets with attention), as for ntkc kernel.\n";

static double relative_error(const double *approx, const double *exact, size_t count)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < count; i++) {
        num += (approx[i] - exact[i]) * (approx[i] - exact[i]);
        den += exact[i] * exact[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* k: 4 n×n blocks, the analytic NNGP and NTK then the finite ones (malloc'd). */
static int alloc_kernels(size_t n, double **k, ntkc_error *err)
{
    if ((*k = malloc(4 * n * n * sizeof **k)) == NULL)
        err_user(err, "out of memory for %zu inputs", n);
    return *k ? 0 : err->code;
}

static int matrix_kernels(ntkc_net *net, const char *path, const char *const pad[2], const ntkc_finite_options *fo,
                          size_t *n, double **k, ntkc_error *err)
{
    NpyArray x = {0};
    int rc = load_net_inputs(net, path, &x, err);
    if (rc == 0)
        rc = apply_mask_file(net, &x, path, pad[0], pad[1], err);
    size_t d = x.shape[1];
    *n = x.shape[0];
    if (rc == 0)
        rc = alloc_kernels(*n, k, err);
    if (rc == 0)
        rc = ntkc_kernel(net, *n, x.data, 0, NULL, d, *k, *k + *n * *n, NULL, err);
    if (rc == 0)
        rc = ntkc_finite_kernels(net, &(ntkc_finite_input){.n = *n, .x = x.data, .dim = d}, fo, *k + 2 * *n * *n,
                                 *k + 3 * *n * *n, err);
    npy_free(&x);
    return rc;
}

static int graph_kernels(ntkc_net *net, const char *path, const char *const pad[2], const ntkc_finite_options *fo,
                         size_t *n, double **k, ntkc_error *err)
{
    if (pad[0] || pad[1]) {
        err_user(err, "net '%s' takes graphs: masks and lengths are for sequences and images", ntkc_net_name(net));
        return err->code;
    }
    ntkc_graphs *g = load_graphs(path, net, 0, err);
    if (g == NULL)
        return err->code;
    *n = ntkc_graphs_count(g);
    int rc = alloc_kernels(*n, k, err);
    if (rc == 0)
        rc = ntkc_kernel_graphs(net, g, NULL, *k, *k + *n * *n, NULL, err);
    if (rc == 0)
        rc = ntkc_finite_kernels(net, &(ntkc_finite_input){.n = *n, .graphs = g}, fo, *k + 2 * *n * *n,
                                 *k + 3 * *n * *n, err);
    ntkc_graphs_free(g);
    return rc;
}

typedef struct CheckArgs {
    const char *width, *samples, *seed, *net_name, *tol;
    const char *pad[2]; /* --mask, --lengths */
} CheckArgs;

static int run(const Args *args, const CheckArgs *a, ntkc_error *err)
{
    long width = a->width ? args_positive("check", "--width", a->width) : 1024;
    long samples = a->samples ? args_positive("check", "--samples", a->samples) : 32;
    long seed = a->seed ? args_positive("check", "--seed", a->seed) : 1;
    double tol = a->tol ? args_positive_real("check", "--tol", a->tol) : INFINITY;
    if (width < 0 || samples < 0 || seed < 0 || tol < 0)
        return 1;
    if (a->pad[0] && a->pad[1]) {
        err_user(err, "give --mask or --lengths, not both");
        return err->code;
    }
    ntkc_compile_options copts = {.net_name = a->net_name};
    ntkc_net *net = ntkc_compile_file(args->positional[0], &copts, err);
    if (net == NULL)
        return err->code;
    ntkc_finite_options fo = {.width = (size_t)width, .samples = (size_t)samples, .seed = (unsigned long long)seed};
    size_t n = 0;
    double *k = NULL;
    int rc = (ntkc_net_takes_graphs(net) ? graph_kernels : matrix_kernels)(net, args->positional[1], a->pad, &fo, &n,
                                                                                  &k, err);
    if (rc == 0) {
        double e_nngp = relative_error(k + 2 * n * n, k, n * n);
        double e_ntk = relative_error(k + 3 * n * n, k + n * n, n * n);
        printf("net %s: %zu inputs, width %ld, %ld samples\n", ntkc_net_name(net), n, width, samples);
        printf("NNGP relative error %.4g\nNTK  relative error %.4g\n", e_nngp, e_ntk);
        if (e_nngp > tol || e_ntk > tol)
            err_user(err, "check failed: error above --tol %g", tol), rc = err->code;
    }
    free(k);
    ntkc_net_free(net);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    CheckArgs a = {0};
    const OptSpec specs[] = {{"--width", 1, &a.width}, {"--samples", 1, &a.samples}, {"--seed", 1, &a.seed},
                             {"--net", 1, &a.net_name}, {"--tol", 1, &a.tol},
                             {"--mask", 1, &a.pad[0]},  {"--lengths", 1, &a.pad[1]}, {NULL, 0, NULL}};
    Args args;
    if (args_parse("check", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional != 2) {
        fputs(help, stderr);
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(&args, &a, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
