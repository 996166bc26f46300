/* runtime/api/ntkc_tiles.h, which ntkc-mpi spreads over ranks: the tiles, each
 * computed on its own (the symmetric case's mirror images placed here, as
 * ntkc-mpi places them), put together equal ntkc_kernel / ntkc_kernel_graphs
 * bit for bit — for a fully connected, an image and a graph net, symmetric
 * and cross, with edges that do not divide n. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "ntkc.h"
#include "ntkc_tiles.h"
#include "util.h"

static const char fc[] = "net fc { dense(1.5, 0.05); relu; repeat 2 { dense(1.5, 0.05); erf }; dense(1.0) }";
static const char image[] = "net cnn { input image(6, 5, 2); conv(3, 1.4, 0.1); relu; conv(3, 1.4); relu; "
                            "global_avg_pool; dense(1.0) }";
static const char graph[] = "net g { input graph(1); aggregate; dense(1.4); relu; readout(mean); dense(1.0) }";

/* Every tile into nngp/ntk (n1 × n2), mirror images too. */
static void assemble(const ntkc_tiles *t, size_t n2, int symmetric, double *nngp, double *ntk)
{
    size_t count = ntkc_tiles_count(t);
    for (size_t k = 0; k < count; k++) {
        ntkc_tile T = ntkc_tiles_at(t, k);
        double *s = malloc(T.r * T.c * sizeof *s), *th = malloc(T.r * T.c * sizeof *th);
        ntkc_error err = {0};
        cr_assert_eq(ntkc_tiles_run(t, k, s, th, &err), 0, "%s", err.message);
        for (size_t i = 0; i < T.r; i++)
            for (size_t j = 0; j < T.c; j++) {
                nngp[(T.i0 + i) * n2 + T.j0 + j] = s[i * T.c + j];
                ntk[(T.i0 + i) * n2 + T.j0 + j] = th[i * T.c + j];
                if (symmetric) {
                    nngp[(T.j0 + j) * n2 + T.i0 + i] = s[i * T.c + j];
                    ntk[(T.j0 + j) * n2 + T.i0 + i] = th[i * T.c + j];
                }
            }
        free(s);
        free(th);
    }
}

static void same(const double *a, const double *b, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "%s: entry %zu is %.17g by tiles, %.17g whole", what, i,
                  a[i], b[i]);
}

static void matrix_case(const char *source, size_t n1, size_t n2, size_t dim, size_t edge, int cross)
{
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(source, "tiles.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    double *x1 = malloc(n1 * dim * sizeof *x1), *x2 = malloc(n2 * dim * sizeof *x2);
    fill_random(x1, n1 * dim, 3);
    fill_random(x2, n2 * dim, 4);
    size_t m = cross ? n2 : n1, count = n1 * m;
    double *ref = malloc(2 * count * sizeof *ref), *got = calloc(2 * count, sizeof *got);
    cr_assert_eq(ntkc_kernel(net, n1, x1, m, cross ? x2 : NULL, dim, ref, ref + count, NULL, &err), 0, "%s",
                 err.message);
    ntkc_tiles *t = ntkc_tiles_matrix(net, n1, x1, m, cross ? x2 : NULL, dim, edge, 2, 2, &err);
    cr_assert_not_null(t, "%s", err.message);
    cr_assert(edge == 0 || ntkc_tiles_count(t) > (cross ? 4u : 2u), "the test wants several tiles");
    assemble(t, m, !cross, got, got + count);
    same(got, ref, count, "NNGP");
    same(got + count, ref + count, count, "NTK");
    ntkc_tiles_free(t);
    ntkc_net_free(net);
    free(x1), free(x2), free(ref), free(got);
}

Test(tiles, fc_symmetric_and_cross)
{
    matrix_case(fc, 45, 23, 7, 8, 0);
    matrix_case(fc, 45, 23, 7, 8, 1);
    matrix_case(fc, 45, 23, 7, 0, 1); /* default edge: one tile column */
}

Test(tiles, image_symmetric_and_cross)
{
    matrix_case(image, 13, 7, 60, 8, 0);
    matrix_case(image, 13, 7, 60, 5, 1);
}

Test(tiles, graph_symmetric_and_cross)
{
    GraphText a = {0}, b = {0};
    Rand r = {88172645463325252ull};
    int labels[17];
    gt_add_cycles_paths_stars(&a, &r, 17, labels);
    gt_add_cycles_paths_stars(&b, &r, 6, labels);
    char *ta = gt_finish(&a), *tb = gt_finish(&b);
    ntkc_graphs *g1 = graphs_or_fail(ta, 1), *g2 = graphs_or_fail(tb, 1);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(graph, "tiles.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    for (int cross = 0; cross < 2; cross++) {
        size_t n1 = 17, n2 = cross ? 6 : 17, count = n1 * n2;
        double *ref = malloc(2 * count * sizeof *ref), *got = calloc(2 * count, sizeof *got);
        cr_assert_eq(ntkc_kernel_graphs(net, g1, cross ? g2 : NULL, ref, ref + count, NULL, &err), 0, "%s",
                     err.message);
        ntkc_tiles *t = ntkc_tiles_graphs(net, g1, cross ? g2 : NULL, 4, 2, &err);
        cr_assert_not_null(t, "%s", err.message);
        cr_assert_gt(ntkc_tiles_count(t), 3, "the test wants several tiles");
        assemble(t, n2, !cross, got, got + count);
        same(got, ref, count, cross ? "graph NNGP, cross" : "graph NNGP");
        same(got + count, ref + count, count, cross ? "graph NTK, cross" : "graph NTK");
        ntkc_tiles_free(t);
        free(ref), free(got);
    }
    ntkc_net_free(net);
    ntkc_graphs_free(g1), ntkc_graphs_free(g2);
    free(ta), free(tb);
}

/* A non-finite entry is an error naming it, as ntkc_kernel's is. */
Test(tiles, overflow_is_an_error)
{
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(fc, "tiles.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x[6 * 3] = {0};
    fill_random(x, 18, 5);
    x[4 * 3] = 1e200;
    ntkc_tiles *t = ntkc_tiles_matrix(net, 6, x, 6, NULL, 3, 4, 1, 1, &err);
    cr_assert_not_null(t, "%s", err.message);
    double s[16], th[16];
    cr_expect_eq(ntkc_tiles_run(t, 0, s, th, &err), 0, "tile 0 (rows 0-3) is finite: %s", err.message);
    cr_expect_neq(ntkc_tiles_run(t, 1, s, th, &err), 0);
    cr_expect(strstr(err.message, "not finite at entry [0, 4]") != NULL, "%s", err.message);
    ntkc_tiles_free(t);
    ntkc_net_free(net);
}
