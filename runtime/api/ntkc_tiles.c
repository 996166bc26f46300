/* The tiles of ntkc_tool.h over the two engines: runtime/engine/engine.c for vectors and
 * images, runtime/engine/graph_kernel.c for graphs (square blocks of graph pairs). */
#include "ntkc_padding.h"
#include "ntkc_tool.h"

#include <stdlib.h>

#include "engine.h"
#include "graph_kernel.h"
#include "net_internal.h"
#include "ntkc_err.h"

enum { GRAPH_EDGE = 32 };

struct ntkc_tiles {
    EngineTiles *engine; /* vectors and images */
    GraphTiles *graphs;  /* or graphs: */
    size_t n1, n2, edge, rows_t, cols_t;
    int symmetric;
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

ntkc_tiles *ntkc_tiles_matrix(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, size_t edge, int threads, int edge_threads, ntkc_error *err)
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
    if (engine_tiles_open(ntkc_net_kernel_fns(net), ntkc_net_is_single(net), n1, x1, n2, x2, dim, edge, threads,
                          edge_threads, &t->engine, err) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

ntkc_tiles *ntkc_tiles_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, size_t edge,
                              int threads, ntkc_error *err)
{
    if (check_kind(net, 1, err) != 0)
        return NULL;
    ntkc_tiles *t = calloc(1, sizeof *t);
    if (t == NULL) {
        err_internal(err, "out of memory");
        return NULL;
    }
    if (graph_tiles_open(ntkc_net_graph_fns(net), ntkc_net_is_single(net), g1, g2, threads, &t->graphs, err) !=
        NTKC_OK) {
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
    free(t);
}
