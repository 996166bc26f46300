/* The tiles of ntkc_tool.h over the two engines: runtime/engine/engine.c for vectors and
 * images, runtime/engine/graph_kernel.c for graphs (square blocks of graph pairs). */
#include "ntkc_padding.h"
#include "ntkc_tool.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "graph_kernel.h"
#include "ir_dropout_eval.h"
#include "net_internal.h"
#include "ntkc_err.h"

enum { GRAPH_EDGE = 32 };

struct ntkc_tiles {
    EngineTiles *engine; /* vectors and images */
    GraphTiles *graphs;  /* or graphs: */
    size_t n1, n2, edge, rows_t, cols_t;
    int symmetric;
    ntkc_net *twin; /* the dropout tiles' eval-mode twin, owned */
    double *copy;   /* NTKC_TILES_TWO_DRAWS: the copy of x2, owned */
};

static int check_kind(const ntkc_net *net, int graphs, ntkc_error *err)
{
    err_clear(err);
    if (ntkc_net_takes_graphs(net) == graphs)
        return 0;
    err_user(err, graphs ? "net '%s' does not take graphs" : "net '%s' takes graphs (input graph)",
              ntkc_net_name(net));
    return err->code;
}

/* The checks of ntkc_tiles_matrix, then the engine's tiles of k (x1's records by k1's prep: k itself, or the
 * eval-mode twin's of a mixed kernel). */
static ntkc_tiles *open_matrix(const ntkc_net *net, const ntkc_net *rows_net, size_t n1, const double *x1, size_t n2,
                               const double *x2, size_t dim, size_t edge, int threads, int edge_threads,
                               ntkc_error *err)
{
    if (check_kind(net, 0, err) != 0)
        return NULL;
    size_t want = ntkc_net_input_dim(net);
    if (dim == 0 || (want != 0 && dim != want)) {
        err_user(err, "net '%s' takes inputs of %zu values, the data have %zu", ntkc_net_name(net), want, dim);
        return NULL;
    }
    if (padding_check(net, n1, x1, dim, "x1", err) != 0 || (x2 && padding_check(net, n2, x2, dim, "x2", err) != 0))
        return NULL;
    ntkc_tiles *t = calloc(1, sizeof *t);
    if (t == NULL) {
        err_internal(err, "out of memory");
        return NULL;
    }
    int rc = rows_net == net ? engine_tiles_open(ntkc_net_kernel_fns(net), ntkc_net_is_single(net), n1, x1, n2, x2,
                                                 dim, edge, threads, edge_threads, &t->engine, err)
                             : engine_tiles_open_rows_by(ntkc_net_kernel_fns(net), ntkc_net_kernel_fns(rows_net), n1,
                                                         x1, n2, x2, dim, edge, threads, edge_threads, &t->engine, err);
    if (rc != 0) {
        free(t);
        return NULL;
    }
    return t;
}

ntkc_tiles *ntkc_tiles_matrix(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, size_t edge, int threads, int edge_threads, ntkc_error *err)
{
    return open_matrix(net, net, n1, x1, n2, x2, dim, edge, threads, edge_threads, err);
}

/* ntkc_tiles_graphs, g1's variances from rows_net (net, or the eval-mode twin of a mixed kernel). */
static ntkc_tiles *open_graphs(const ntkc_net *net, const ntkc_net *rows_net, const ntkc_graphs *g1,
                               const ntkc_graphs *g2, size_t edge, int threads, ntkc_error *err)
{
    if (check_kind(net, 1, err) != 0)
        return NULL;
    ntkc_tiles *t = calloc(1, sizeof *t);
    if (t == NULL) {
        err_internal(err, "out of memory");
        return NULL;
    }
    int rc = rows_net == net ? graph_tiles_open(ntkc_net_graph_fns(net), ntkc_net_is_single(net), g1, g2, threads,
                                                &t->graphs, err)
                             : graph_tiles_open_rows_by(ntkc_net_graph_fns(net), ntkc_net_graph_fns(rows_net), g1, g2,
                                                        threads, &t->graphs, err);
    if (rc != NTKC_OK) {
        free(t);
        return NULL;
    }
    t->symmetric = g2 == NULL;
    t->n1 = ntkc_graphs_count(g1);
    t->n2 = g2 ? ntkc_graphs_count(g2) : t->n1;
    t->edge = edge ? edge : GRAPH_EDGE;
    t->rows_t = (t->n1 + t->edge - 1) / t->edge;
    t->cols_t = (t->n2 + t->edge - 1) / t->edge;
    return t;
}

ntkc_tiles *ntkc_tiles_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, size_t edge,
                              int threads, ntkc_error *err)
{
    return open_graphs(net, net, g1, g2, edge, threads, err);
}

size_t ntkc_tiles_count(const ntkc_tiles *t)
{
    if (t->engine)
        return engine_tiles_count(t->engine);
    return t->symmetric ? t->rows_t * (t->rows_t + 1) / 2 : t->rows_t * t->cols_t;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

ntkc_tile ntkc_tiles_at(const ntkc_tiles *t, size_t index)
{
    if (t->engine) {
        EngineRect e = engine_tiles_rect(t->engine, index);
        return (ntkc_tile){.i0 = e.i0, .r = e.r, .j0 = e.j0, .c = e.c, .diagonal = e.diagonal};
    }
    size_t p = 0, c;
    if (t->symmetric) { /* row p of the upper triangle holds rows_t − p tiles */
        while (index >= t->rows_t - p)
            index -= t->rows_t - p, p++;
        c = p + index;
    } else {
        p = index / t->cols_t;
        c = index % t->cols_t;
    }
    ntkc_tile T = {.i0 = p * t->edge, .j0 = c * t->edge, .diagonal = t->symmetric && p == c};
    T.r = min_size(t->edge, t->n1 - T.i0);
    T.c = min_size(t->edge, t->n2 - T.j0);
    return T;
}

int ntkc_tiles_run_f32(const ntkc_tiles *t, size_t index, float *nngp, float *ntk, ntkc_error *err)
{
    err_clear(err);
    if (t->engine)
        return engine_tiles_run_f32(t->engine, index, nngp, ntk, err);
    ntkc_tile T = ntkc_tiles_at(t, index);
    int rc = graph_tiles_run_f32(t->graphs, T.i0, T.r, T.j0, T.c, T.diagonal, nngp, ntk, T.c, err);
    if (rc == 0 && T.diagonal) /* the lower half of a diagonal block, mirrored */
        for (size_t i = 0; i < T.r; i++)
            for (size_t j = 0; j < i; j++) {
                if (nngp)
                    nngp[i * T.c + j] = nngp[j * T.c + i];
                if (ntk)
                    ntk[i * T.c + j] = ntk[j * T.c + i];
            }
    return rc;
}

int ntkc_tiles_run(const ntkc_tiles *t, size_t index, double *nngp, double *ntk, ntkc_error *err)
{
    err_clear(err);
    if (t->engine)
        return engine_tiles_run(t->engine, index, nngp, ntk, err);
    ntkc_tile T = ntkc_tiles_at(t, index);
    int rc = graph_tiles_run(t->graphs, T.i0, T.r, T.j0, T.c, T.diagonal, nngp, ntk, T.c, err);
    if (rc == 0 && T.diagonal)
        for (size_t i = 0; i < T.r; i++)
            for (size_t j = 0; j < i; j++) {
                if (nngp)
                    nngp[i * T.c + j] = nngp[j * T.c + i];
                if (ntk)
                    ntk[i * T.c + j] = ntk[j * T.c + i];
            }
    return rc;
}

void ntkc_tiles_free(ntkc_tiles *t)
{
    if (t == NULL)
        return;
    engine_tiles_close(t->engine);
    graph_tiles_close(t->graphs);
    ntkc_net_free(t->twin);
    free(t->copy);
    free(t);
}

/* ---- the blocks of a prediction with fresh dropout masks ---------------- */

int ntkc_net_has_dropout(const ntkc_net *net) { return ir_has_dropout(ntkc_net_ir(net)); }

/* What every dropout tile set refuses: a float32 net, a mode it does not know. */
static int check_dropout(const ntkc_net *net, ntkc_tiles_dropout how, ntkc_error *err)
{
    err_clear(err);
    if (how != NTKC_TILES_TWO_DRAWS && how != NTKC_TILES_MIXED && how != NTKC_TILES_EVAL)
        err_internal(err, "ntkc_tiles_*_dropout: unknown mode %d", (int)how);
    else if (ntkc_net_is_single(net))
        err_user(err, "net '%s' was compiled for single precision: the dropout-mixed kernel is computed in double "
                      "precision only",
                 ntkc_net_name(net));
    return err->code;
}

/* The twin the mode needs (MIXED, EVAL on a net with dropout), else NULL with no error. */
static ntkc_net *twin_for(const ntkc_net *net, ntkc_tiles_dropout how, ntkc_error *err)
{
    if (how == NTKC_TILES_TWO_DRAWS || !ntkc_net_has_dropout(net))
        return NULL;
    return ntkc_net_dropout_eval(net, err);
}

ntkc_tiles *ntkc_tiles_matrix_dropout(const ntkc_net *net, ntkc_tiles_dropout how, size_t n1, const double *x1,
                                      size_t n2, const double *x2, size_t dim, size_t edge, int threads,
                                      int edge_threads, ntkc_error *err)
{
    if (check_dropout(net, how, err) != 0)
        return NULL;
    if (how != NTKC_TILES_EVAL && x2 == NULL) /* never the symmetric output: x2 is x1 as another array */
        x2 = x1, n2 = n1;
    ntkc_net *twin = twin_for(net, how, err);
    if (err->code)
        return NULL;
    /* TWO_DRAWS always, MIXED with masks: x2 copied (ntkc_kernel_two_draws, ntkc_kernel_dropout_mixed_twin) */
    double *copy = NULL;
    if (how == NTKC_TILES_TWO_DRAWS || (how == NTKC_TILES_MIXED && twin)) {
        copy = malloc((n2 * dim + 1) * sizeof *copy);
        if (copy == NULL) {
            err_user(err, "out of memory for a copy of %zu inputs", n2);
            ntkc_net_free(twin);
            return NULL;
        }
        memcpy(copy, x2, n2 * dim * sizeof *copy);
        x2 = copy;
    }
    const ntkc_net *k = how == NTKC_TILES_EVAL && twin ? twin : net, *rows = how == NTKC_TILES_MIXED && twin ? twin : k;
    ntkc_tiles *t = open_matrix(k, rows, n1, x1, n2, x2, dim, edge, threads, edge_threads, err);
    if (t == NULL) {
        ntkc_net_free(twin);
        free(copy);
        return NULL;
    }
    t->twin = twin, t->copy = copy;
    return t;
}

ntkc_tiles *ntkc_tiles_graphs_dropout(const ntkc_net *net, ntkc_tiles_dropout how, const ntkc_graphs *g1,
                                      const ntkc_graphs *g2, size_t edge, int threads, ntkc_error *err)
{
    if (check_dropout(net, how, err) != 0)
        return NULL;
    if (how != NTKC_TILES_EVAL && g2 == NULL) /* two sets are never the same graphs */
        g2 = g1;
    ntkc_net *twin = twin_for(net, how, err);
    if (err->code)
        return NULL;
    const ntkc_net *k = how == NTKC_TILES_EVAL && twin ? twin : net, *rows = how == NTKC_TILES_MIXED && twin ? twin : k;
    ntkc_tiles *t = open_graphs(k, rows, g1, g2, edge, threads, err);
    if (t == NULL) {
        ntkc_net_free(twin);
        return NULL;
    }
    t->twin = twin;
    return t;
}
