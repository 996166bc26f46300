/* The dropout tiles of runtime/tool/ntkc_tool.h (ntkc_tiles_*_dropout), which
 * ntkc-mpi spreads over ranks for `predict --dropout fresh` and `kernel
 * --dropout-mixed`: put together, each mode equals the single-process call
 * bit for bit — TWO_DRAWS ntkc_kernel_two_draws (x against a copy of x),
 * MIXED ntkc_kernel_dropout_mixed, EVAL the eval-mode twin's symmetric
 * kernel — for a fully connected and a graph net with dropout, with edges
 * that do not divide n; a net without dropout gives its ordinary kernels;
 * a float32 net is refused by name. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_tool.h"
#include "util.h"

static const char fc[] = "net d { dense(1.4, 0.1); dropout(0.6); dense(1.3); relu; dense(1.2); erf; dense }";
static const char plain[] = "net p { dense(1.4, 0.1); dense(1.3); relu; dense(1.2); erf; dense }";
static const char graph[] = "net g { input graph(1); aggregate; dense(1.4); relu; dropout(0.7); dense(1.3); relu\n"
                            "  readout(mean); dense }";

/* Every tile into nngp/ntk (n1 × n2), mirror images too when symmetric. */
static void assemble(const ntkc_tiles *t, size_t n2, int symmetric, double *nngp, double *ntk)
{
    for (size_t k = 0; k < ntkc_tiles_count(t); k++) {
        ntkc_tile T = ntkc_tiles_at(t, k);
        double *s = malloc(T.r * T.c * sizeof *s), *th = malloc(T.r * T.c * sizeof *th);
        ntkc_error err = {0};
        cr_assert_eq(ntkc_tiles_run(t, k, s, th, &err), 0, "%s", err.message);
        for (size_t i = 0; i < T.r; i++)
            for (size_t j = 0; j < T.c; j++) {
                nngp[(T.i0 + i) * n2 + T.j0 + j] = s[i * T.c + j], ntk[(T.i0 + i) * n2 + T.j0 + j] = th[i * T.c + j];
                if (symmetric)
                    nngp[(T.j0 + j) * n2 + T.i0 + i] = s[i * T.c + j], ntk[(T.j0 + j) * n2 + T.i0 + i] = th[i * T.c + j];
            }
        free(s), free(th);
    }
}

static void expect_same(const double *got, const double *want, size_t count, const char *what)
{
    cr_expect(memcmp(got, want, count * sizeof *got) == 0, "%s: the tiles differ from the whole kernel", what);
}

/* ntkc_tiles_matrix_dropout(how) on n1 rows x1 against x2 (n2 rows; NULL: x1) equals want. */
static void matrix_mode(const ntkc_net *net, ntkc_tiles_dropout how, size_t n1, const double *x1, size_t n2,
                        const double *x2, int symmetric, const double *want, const char *what)
{
    ntkc_error err = {0};
    size_t count = n1 * n2;
    double *got = calloc(2 * count, sizeof *got);
    ntkc_tiles *t = ntkc_tiles_matrix_dropout(net, how, n1, x1, n2, x2, 5, 4, 2, 2, &err);
    cr_assert_not_null(t, "%s: %s", what, err.message);
    cr_assert_geq(ntkc_tiles_count(t), 3, "the test wants several tiles");
    assemble(t, n2, symmetric, got, got + count);
    expect_same(got, want, 2 * count, what);
    ntkc_tiles_free(t);
    free(got);
}

static void matrix_modes(const char *source)
{
    enum { N1 = 11, N2 = 7, DIM = 5 };
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(source, "d.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x1[N1 * DIM], x2[N2 * DIM], copy[N1 * DIM], two[2 * N1 * N1], mixed[2 * N2 * N1], eval[2 * N2 * N2];
    fill_random(x1, N1 * DIM, 11);
    fill_random(x2, N2 * DIM, 12);
    memcpy(copy, x1, sizeof copy);
    cr_assert_eq(ntkc_kernel(net, N1, x1, N1, copy, DIM, two, two + N1 * N1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_dropout_mixed(net, N2, x2, N1, x1, DIM, mixed, mixed + N2 * N1, NULL, &err), 0, "%s",
                 err.message);
    ntkc_net *twin = ntkc_net_has_dropout(net) ? ntkc_net_dropout_eval(net, &err) : NULL;
    cr_assert(twin || !ntkc_net_has_dropout(net), "%s", err.message);
    cr_assert_eq(ntkc_kernel(twin ? twin : net, N2, x2, 0, NULL, DIM, eval, eval + N2 * N2, NULL, &err), 0, "%s",
                 err.message);
    matrix_mode(net, NTKC_TILES_TWO_DRAWS, N1, x1, N1, x1, 0, two, "two draws");
    matrix_mode(net, NTKC_TILES_TWO_DRAWS, N1, x1, N1, NULL, 0, two, "two draws, x2 NULL");
    matrix_mode(net, NTKC_TILES_MIXED, N2, x2, N1, x1, 0, mixed, "mixed");
    matrix_mode(net, NTKC_TILES_EVAL, N2, x2, N2, NULL, 1, eval, "eval mode");
    ntkc_net_free(twin);
    ntkc_net_free(net);
}

Test(tiles_dropout, rows_every_mode)
{
    matrix_modes(fc);
    matrix_modes(plain); /* no masks: the ordinary kernels */
}

Test(tiles_dropout, graphs_every_mode)
{
    GraphText a = {0}, b = {0};
    Rand r = {88172645463325252ull};
    int labels[13];
    gt_add_cycles_paths_stars(&a, &r, 13, labels);
    gt_add_cycles_paths_stars(&b, &r, 6, labels);
    char *ta = gt_finish(&a), *tb = gt_finish(&b);
    ntkc_graphs *g1 = graphs_or_fail(ta, 1), *g2 = graphs_or_fail(tb, 1);
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(graph, "g.ntk", NULL, &err);
    cr_assert_not_null(net, "%s", err.message);
    ntkc_net *twin = ntkc_net_dropout_eval(net, &err);
    cr_assert_not_null(twin, "%s", err.message);
    struct {
        ntkc_tiles_dropout how;
        const ntkc_graphs *a, *b;
        size_t n1, n2;
        int symmetric;
        const char *what;
    } cases[] = {{NTKC_TILES_TWO_DRAWS, g1, g1, 13, 13, 0, "graphs, two draws"},
                 {NTKC_TILES_MIXED, g2, g1, 6, 13, 0, "graphs, mixed"},
                 {NTKC_TILES_EVAL, g2, NULL, 6, 6, 1, "graphs, eval mode"}};
    for (size_t c = 0; c < 3; c++) {
        size_t count = cases[c].n1 * cases[c].n2;
        double *want = malloc(2 * count * sizeof *want), *got = calloc(2 * count, sizeof *got);
        int rc = cases[c].how == NTKC_TILES_TWO_DRAWS
                     ? ntkc_kernel_graphs(net, g1, g1, want, want + count, NULL, &err)
                 : cases[c].how == NTKC_TILES_MIXED
                     ? ntkc_kernel_graphs_dropout_mixed(net, g2, g1, want, want + count, NULL, &err)
                     : ntkc_kernel_graphs(twin, g2, NULL, want, want + count, NULL, &err);
        cr_assert_eq(rc, 0, "%s", err.message);
        ntkc_tiles *t = ntkc_tiles_graphs_dropout(net, cases[c].how, cases[c].a, cases[c].b, 4, 2, &err);
        cr_assert_not_null(t, "%s: %s", cases[c].what, err.message);
        assemble(t, cases[c].n2, cases[c].symmetric, got, got + count);
        expect_same(got, want, 2 * count, cases[c].what);
        ntkc_tiles_free(t);
        free(want), free(got);
    }
    ntkc_net_free(twin);
    ntkc_net_free(net);
    ntkc_graphs_free(g1), ntkc_graphs_free(g2);
    free(ta), free(tb);
}

Test(tiles_dropout, float32_is_refused_by_name)
{
    ntkc_error err = {0};
    ntkc_compile_options o = {.precision = NTKC_PRECISION_SINGLE};
    ntkc_net *net = ntkc_compile_string(fc, "d.ntk", &o, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x[4 * 3];
    fill_random(x, 12, 5);
    cr_expect_null(ntkc_tiles_matrix_dropout(net, NTKC_TILES_MIXED, 4, x, 4, x, 3, 2, 1, 1, &err));
    cr_expect_eq(err.code, 1);
    cr_expect(strstr(err.message, "single precision: the dropout-mixed kernel is computed in double precision only"),
              "%s", err.message);
    ntkc_net_free(net);
}
