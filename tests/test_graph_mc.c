/* Monte Carlo: wide finite graph networks (finite_graph.c) against the
 * analytic graph kernels, on five small graphs with one-hot tags, width 1024,
 * 64 samples. Errors (max |MC − exact| over the largest diagonal) measured
 * here: 0.5 % / 0.3 % (NTK / NNGP) and 0.7 % / 1.1 %; over seeds 1–3 with 32
 * samples the relative Frobenius errors spread up to 2.1 %, so 64 samples
 * keep a 3 % tolerance about twice the spread. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "finite_graph.h"
#include "graph_testutil.h"
#include "net_internal.h"
#include "util.h"

enum { G = 5, F = 3 };

static char *five_graphs(void)
{
    GraphText t = {0};
    static const unsigned tri[][2] = {{0, 1}, {1, 2}, {2, 0}};
    static const unsigned path[][2] = {{0, 1}, {1, 2}, {2, 3}};
    static const unsigned star[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    static const unsigned chord[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 2}};
    static const unsigned pair[][2] = {{0, 1}};
    const int tags_tri[] = {0, 1, 2}, tags_path[] = {0, 0, 1, 1}, tags_star[] = {2, 0, 0, 1, 1};
    const int tags_chord[] = {1, 2, 1, 0}, tags_pair[] = {2, 2, 0};
    gt_add(&t, 3, tri, 3, tags_tri, 0);
    gt_add(&t, 4, path, 3, tags_path, 1);
    gt_add(&t, 5, star, 4, tags_star, 0);
    gt_add(&t, 4, chord, 5, tags_chord, 1);
    gt_add(&t, 3, pair, 1, tags_pair, 0); /* node 2 isolated */
    return gt_finish(&t);
}

typedef struct McResult {
    double ntk_err, nngp_err; /* max |MC − exact| / max exact diagonal */
} McResult;

static double rel_err(const double *mc, const double *exact)
{
    double scale = 0, diff = 0;
    for (size_t i = 0; i < G; i++)
        scale = fmax(scale, exact[i * G + i]);
    for (size_t e = 0; e < G * G; e++)
        diff = fmax(diff, fabs(mc[e] - exact[e]));
    return diff / scale;
}

static McResult run_mc(const char *src, size_t samples)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    char *text = five_graphs();
    ntkc_graphs *g = graphs_or_fail(text, F);
    double exact_s[G * G], exact_t[G * G], mc_s[G * G], mc_t[G * G];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(net, g, NULL, exact_s, exact_t, NULL, &err), 0, "%s", err.message);
    FiniteNetOptions opts = {.width = 1024, .samples = samples, .seed = 7};
    cr_assert_eq(finite_graph_kernels(ntkc_net_ir(net), g, &opts, mc_s, mc_t, &err), 0, "%s", err.message);
    McResult r = {rel_err(mc_t, exact_t), rel_err(mc_s, exact_s)};
    fprintf(stderr, "graph MC: NTK error %.4f, NNGP error %.4f (of the largest diagonal)\n", r.ntk_err,
            r.nngp_err);
    ntkc_graphs_free(g);
    free(text);
    ntkc_net_free(net);
    return r;
}

Test(graph_mc, sum_aggregation_mlp_blocks)
{
    McResult r = run_mc("net g { input graph(3)\n"
                        "  aggregate; dense(1.5, 0.1); relu\n"
                        "  aggregate; dense(1.5); relu; dense(1.2, 0.2); relu\n"
                        "  readout(sum); dense(1) }",
                        64);
    cr_expect_lt(r.ntk_err, 0.03);
    cr_expect_lt(r.nngp_err, 0.03);
}

Test(graph_mc, degree_scaling_mean_readout_jumping_knowledge)
{
    McResult r = run_mc("net g { input graph(3, normalize=false)\n"
                        "  repeat 2 { aggregate(scale=degree); dense(1.4, 0.1); relu; dense(1.4); relu }\n"
                        "  readout(mean, jk=true); dense(1.2, 0.3) }",
                        64);
    cr_expect_lt(r.ntk_err, 0.03);
    cr_expect_lt(r.nngp_err, 0.03);
}
