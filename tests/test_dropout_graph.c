/* dropout(rate) in graph nets (node level): every unit of every node of every
 * graph has its own mask, so in train mode only the entries of a graph with
 * itself at the same node are divided by the rate — the diagonal of its
 * node-pair matrix (after the readout, the graph's own entry). Checked by
 * identities that do not go through the graph emitter's dropout: one-node
 * graphs are the fully connected net with the same dropouts; a cross kernel
 * (a second set, even the same one) has no same graph; and a closed form of
 * the diagonal's shift through an aggregation. The Monte Carlo check against
 * finite graph networks with masks is test_monte_carlo.c's dropout_graph. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "ntkc.h"
#include "util.h"

enum { G = 4 };

static void graph_kernels(const char *src, const ntkc_graphs *g1, const ntkc_graphs *g2, double *s, double *t,
                          ntkc_backend backend)
{
    ntkc_net *net = compile_or_fail(src, backend);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(net, g1, g2, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

/* Four one-node graphs (no edges) whose features are the rows of x. */
static ntkc_graphs *one_node_graphs(const double *x)
{
    char text[1024];
    int len = snprintf(text, sizeof text, "%d\n", G);
    for (int i = 0; i < G; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "1 0\n0 0 %.17g %.17g %.17g\n", x[3 * i],
                        x[3 * i + 1], x[3 * i + 2]);
    return graphs_or_fail(text, 3);
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)); }

/* A one-node graph's aggregate (self-loops) and readout(sum) are the
 * identity: the graph net is the fully connected net, dropouts included,
 * node level and graph level alike (fully connected dropout: emit.c). */
Test(dropout_graph, one_node_graphs_are_the_fully_connected_net)
{
    const char *gsrc = "net g { input graph(3); dense(1.4, 0.1); relu; dense(1.3); dropout(0.6); aggregate\n"
                       "  dense(1.2, 0.1); erf; readout(sum); dense(1.1); dropout(0.7); dense(1.1, 0.2) }";
    const char *fsrc = "net f { dense(1.4, 0.1); relu; dense(1.3); dropout(0.6)\n"
                       "  dense(1.2, 0.1); erf; dense(1.1); dropout(0.7); dense(1.1, 0.2) }";
    double x[G * 3], copy[G * 3], gs[G * G], gt[G * G], fs[G * G], ft[G * G];
    fill_random(x, G * 3, 3);
    memcpy(copy, x, sizeof x);
    ntkc_graphs *g = one_node_graphs(x);
    ntkc_net *f = compile_or_fail(fsrc, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    for (int cross = 0; cross <= 1; cross++) {
        graph_kernels(gsrc, g, cross ? g : NULL, gs, gt, NTKC_BACKEND_TCC);
        cr_assert_eq(ntkc_kernel(f, G, x, cross ? G : 0, cross ? copy : NULL, 3, fs, ft, NULL, &err), 0, "%s",
                     err.message);
        for (size_t e = 0; e < G * G; e++) {
            cr_assert(close_rel(gs[e], fs[e], 1e-13), "%s NNGP %zu: graph %.17g, fully connected %.17g",
                      cross ? "cross" : "symmetric", e, gs[e], fs[e]);
            cr_assert(close_rel(gt[e], ft[e], 1e-13), "%s NTK %zu: graph %.17g, fully connected %.17g",
                      cross ? "cross" : "symmetric", e, gt[e], ft[e]);
        }
    }
    ntkc_net_free(f);
    ntkc_graphs_free(g);
}

/* Graphs of 3-5 nodes: a triangle, a path, a star and a graph with an
 * isolated node; one-hot tags (|x|² = 1 for every node). */
static ntkc_graphs *small_graphs(size_t *degrees_sq_sum)
{
    GraphText t = {0};
    static const unsigned tri[][2] = {{0, 1}, {1, 2}, {2, 0}};
    static const unsigned path[][2] = {{0, 1}, {1, 2}, {2, 3}};
    static const unsigned star[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    static const unsigned pair[][2] = {{0, 1}};
    const int tags_tri[] = {0, 1, 2}, tags_path[] = {0, 0, 1, 1}, tags_star[] = {2, 0, 0, 1, 1}, tags_pair[] = {2, 2, 0};
    gt_add(&t, 3, tri, 3, tags_tri, 0);
    gt_add(&t, 4, path, 3, tags_path, 1);
    gt_add(&t, 5, star, 4, tags_star, 0);
    gt_add(&t, 3, pair, 1, tags_pair, 1);
    /* Σ_w (deg(w) + 1)², degrees with the self-loop */
    degrees_sq_sum[0] = 3 * 9;
    degrees_sq_sum[1] = 4 + 9 + 9 + 4;
    degrees_sq_sum[2] = 25 + 4 * 4;
    degrees_sq_sum[3] = 4 + 4 + 1;
    char *text = gt_finish(&t);
    ntkc_graphs *g = graphs_or_fail(text, 3);
    free(text);
    return g;
}

/* dense(a, b); relu; dropout(p); aggregate; readout(sum); dense(w, c): the
 * relu's output at a node with itself is v/2 in Σ and in Θ (v = a²/3 + b²
 * for a one-hot node: Ṫ = 1/2 on the diagonal, Θ = Σ = v after the first
 * dense), the same for every node. Dropout adds (1/p − 1)·v/2 on the
 * diagonal of a graph's node-pair matrix with itself; aggregation (Â = A + I)
 * carries that diagonal D to Â·D·Âᵀ, whose sum over all node pairs is
 * Σ_w D_w·(deg(w) + 1)². So, against the same net in test mode, the graph's
 * own entry moves by ΔΣ = w²·δ and ΔΘ = ΔΣ + w²·δ = 2·w²·δ, δ = (1/p − 1)·(v/2)·
 * Σ_w (deg(w) + 1)², and no other entry moves. Both back ends. */
Test(dropout_graph, the_diagonal_shift_through_an_aggregation_in_closed_form)
{
    const double a = 1.4, b = 0.1, p = 0.6, w = 1.2;
    const char *train = "net g { input graph(3); dense(1.4, 0.1); relu; dropout(0.6); aggregate; readout(sum)\n"
                        "  dense(1.2, 0.3) }";
    const char *test = "net g { input graph(3); dense(1.4, 0.1); relu; dropout(0.6, mode=test); aggregate\n"
                       "  readout(sum); dense(1.2, 0.3) }";
    size_t deg2[G];
    ntkc_graphs *g = small_graphs(deg2);
    double v = a * a / 3 + b * b;
    ntkc_backend backends[2] = {NTKC_BACKEND_TCC, NTKC_BACKEND_CC};
    for (int k = 0; k < 2; k++) {
        double s[G * G], t[G * G], s0[G * G], t0[G * G];
        graph_kernels(train, g, NULL, s, t, backends[k]);
        graph_kernels(test, g, NULL, s0, t0, backends[k]);
        for (size_t i = 0; i < G; i++)
            for (size_t j = 0; j < G; j++) {
                size_t e = i * G + j;
                double delta = i == j ? (1 / p - 1) * (v / 2) * (double)deg2[i] : 0.0;
                cr_assert(fabs(s[e] - s0[e] - w * w * delta) <= 1e-13 * s[e], "NNGP (%zu,%zu): %.17g − %.17g, want %.17g",
                          i, j, s[e], s0[e], w * w * delta);
                cr_assert(fabs(t[e] - t0[e] - 2 * w * w * delta) <= 1e-13 * t[e],
                          "NTK (%zu,%zu): %.17g − %.17g, want %.17g", i, j, t[e], t0[e], 2 * w * w * delta);
            }
        cr_assert_gt(s[0] / s0[0], 1.1); /* the shift is not lost in rounding */
    }
    ntkc_graphs_free(g);
}

/* The same graph is the same graph of the same set (g2 NULL): a second set,
 * even the same object or a copy, is other graphs, so its kernel is the
 * symmetric one's off the diagonal (to rounding), and on the diagonal differs
 * from it (no pair shares a mask). */
Test(dropout_graph, a_second_set_is_other_graphs)
{
    const char *src = "net g { input graph(3); dense(1.4, 0.1); relu; dense(1.3); dropout(0.6); aggregate\n"
                      "  dense(1.2, 0.1); relu; readout(mean, jk=true); dense(1.1); dropout(0.7); dense(1.1) }";
    size_t deg2[G];
    ntkc_graphs *g = small_graphs(deg2);
    double s[G * G], t[G * G], sx[G * G], tx[G * G];
    graph_kernels(src, g, NULL, s, t, NTKC_BACKEND_TCC);
    graph_kernels(src, g, g, sx, tx, NTKC_BACKEND_TCC);
    for (size_t i = 0; i < G; i++)
        for (size_t j = 0; j < G; j++) {
            size_t e = i * G + j;
            if (i != j) { /* the symmetric kernel mirrors its upper triangle: equal to rounding */
                cr_assert(close_rel(s[e], sx[e], 1e-14), "NNGP (%zu,%zu): %.17g vs %.17g", i, j, s[e], sx[e]);
                cr_assert(close_rel(t[e], tx[e], 1e-14), "NTK (%zu,%zu): %.17g vs %.17g", i, j, t[e], tx[e]);
            } else {
                cr_assert_gt(s[e], 1.05 * sx[e], "NNGP (%zu,%zu): %g vs %g", i, j, s[e], sx[e]);
                cr_assert_gt(t[e], 1.05 * tx[e], "NTK (%zu,%zu): %g vs %g", i, j, t[e], tx[e]);
            }
        }
    ntkc_graphs_free(g);
}

Test(dropout_graph, refusals_name_the_reason)
{
    expect_error_in("net n { input graph(3); dropout(0.5); dense; readout; dense }", NULL, "1:25",
                    "cannot be applied to the net's input");
    expect_error_in("net n { input graph(3); dense; dropout(0.5); aggregate; relu; readout; dense }", NULL, "1:57",
                    "needs a Gaussian input");
    expect_error_in("net n { input graph(3); dense; relu; readout; dropout(0.5); relu; dense }", NULL, "1:61",
                    "needs a Gaussian input");
}
