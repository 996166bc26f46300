#include "mpi_fill.h"

#include <stdlib.h>

#include "mpi_util.h"

/* Tile `t` into the caller's buffers: double ones, or (single) float ones
 * in their first half, then widened in place (from the end: float i lies at
 * or below double i). */
static int run_tile(const ntkc_tiles *tiles, size_t t, size_t count, int single, double *bufs[2], ntkc_error *err)
{
    if (!single)
        return ntkc_tiles_run(tiles, t, bufs[0], bufs[1], err);
    int rc = ntkc_tiles_run_f32(tiles, t, (float *)(void *)bufs[0], (float *)(void *)bufs[1], err);
    for (int k = 0; rc == 0 && k < 2; k++)
        for (size_t i = count; bufs[k] && i-- > 0;)
            bufs[k][i] = (double)((const float *)(const void *)bufs[k])[i];
    return rc;
}

/* Computes the tiles (one block each) this process owns, their NNGP into
 * nngp and NTK into ntk (either may be NULL), in parallel. */
static int fill_kernel(const Grid *g, const ntkc_tiles *tiles, int single, int threads, Dist *nngp, Dist *ntk,
                       ntkc_error *err)
{
    size_t count = ntkc_tiles_count(tiles), mine = 0;
    size_t *list = malloc((count ? count : 1) * sizeof *list);
    if (list == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    for (size_t t = 0; t < count; t++) {
        ntkc_tile T = ntkc_tiles_at(tiles, t);
        if (dist_owns(g, T.i0, T.j0))
            list[mine++] = t;
    }
    int rc = 0;
    size_t cap = (size_t)g->nb * (size_t)g->nb;
#pragma omp parallel num_threads(threads)
    {
        double *buf = malloc(2 * cap * sizeof *buf);
        double *bufs[2] = {nngp && buf ? buf : NULL, ntk && buf ? buf + cap : NULL};
        Dist *outs[2] = {nngp, ntk};
        ntkc_error e = {0};
        if (buf == NULL) {
            err_internal(&e, "out of memory for a block of %zu entries", cap);
#pragma omp critical(ntkc_mpi_predict)
            if (rc == 0)
                rc = e.code, *err = e;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < mine; q++) {
            if (buf == NULL)
                continue;
            ntkc_tile T = ntkc_tiles_at(tiles, list[q]);
            if (run_tile(tiles, list[q], T.r * T.c, single, bufs, &e) != 0) {
#pragma omp critical(ntkc_mpi_predict)
                if (rc == 0)
                    rc = e.code, *err = e;
                continue;
            }
            for (int k = 0; k < 2; k++)
                for (size_t i = 0; outs[k] && i < T.r; i++)
                    for (size_t j = 0; j < T.c; j++)
                        *dist_at(g, outs[k], T.i0 + i, T.j0 + j) = bufs[k][i * T.c + j];
        }
        free(buf);
    }
    free(list);
    return rc;
}

/* The tiles of one block: the net's own kernel, or (fresh) the block of nets trained with fresh dropout
 * masks (ntkc_tiles_*_dropout: as ntkc_predict's fresh_block computes it). */
static ntkc_tiles *block_tiles(const ntkc_net *net, const PredictData *d, int fresh, ntkc_tiles_dropout how,
                               int test_rows, int cross, int threads, size_t nb, ntkc_error *err)
{
    const ntkc_graphs *g1 = test_rows ? d->gt : d->g, *g2 = cross ? d->g : NULL;
    size_t n1 = test_rows ? d->m : d->n, n2 = cross ? d->n : n1;
    const double *x1 = test_rows ? d->xt.data : d->x.data, *x2 = cross ? d->x.data : NULL;
    if (fresh && how == NTKC_TILES_TWO_DRAWS) /* the training inputs against another draw of their masks */
        g2 = d->g, x2 = d->x.data;
    if (fresh)
        return d->g ? ntkc_tiles_graphs_dropout(net, how, g1, g2, nb, threads, err)
                    : ntkc_tiles_matrix_dropout(net, how, n1, x1, n2, x2, d->dim, nb, threads, threads, err);
    return d->g ? ntkc_tiles_graphs(net, g1, g2, nb, threads, err)
                : ntkc_tiles_matrix(net, n1, x1, n2, x2, d->dim, nb, threads, threads, err);
}

int mpi_fill_from_net(const ntkc_net *net, const PredictData *d, int cov, int dropout_fresh, int threads, Problem *p,
                      ntkc_error *err)
{
    size_t nb = (size_t)p->g.nb;
    int both = cov && p->ntk; /* the NTK covariance needs the NNGP of the same tiles */
    int single = ntkc_net_precision(net) == NTKC_PRECISION_SINGLE;
    int fresh = dropout_fresh && ntkc_net_has_dropout(net); /* without masks: the ordinary prediction */
    ntkc_tiles *tt = block_tiles(net, d, fresh, NTKC_TILES_TWO_DRAWS, 0, 0, threads, nb, err);
    ntkc_tiles *st = NULL, *ss = NULL;
    if (tt != NULL)
        st = block_tiles(net, d, fresh, NTKC_TILES_MIXED, 1, 1, threads, nb, err);
    if (st != NULL && cov)
        ss = block_tiles(net, d, fresh, NTKC_TILES_EVAL, 1, 0, threads, nb, err);
    int rc = st && (ss || !cov) ? 0 : err->code;
    if (rc == 0)
        rc = dist_init(&p->g, p->n, p->n, &p->gtt, err) || dist_init(&p->g, p->m, p->n, &p->gst, err) ||
                     (both && dist_init(&p->g, p->n, p->n, &p->ktt, err)) ||
                     (both && dist_init(&p->g, p->m, p->n, &p->kst, err)) ||
                     (cov && dist_init(&p->g, p->m, p->m, &p->kss, err))
                 ? err->code
                 : 0;
    if (rc == 0)
        rc = fill_kernel(&p->g, tt, single, threads, p->ntk ? (both ? &p->ktt : NULL) : &p->gtt,
                         p->ntk ? &p->gtt : NULL, err);
    if (rc == 0)
        rc = fill_kernel(&p->g, st, single, threads, p->ntk ? (both ? &p->kst : NULL) : &p->gst,
                         p->ntk ? &p->gst : NULL, err);
    if (rc == 0 && cov)
        rc = fill_kernel(&p->g, ss, single, threads, &p->kss, NULL, err);
    ntkc_tiles_free(tt);
    ntkc_tiles_free(st);
    ntkc_tiles_free(ss);
    p->norm = (double)p->n * (double)p->k;
    return mpi_agree(p->comm, rc, err);
}
