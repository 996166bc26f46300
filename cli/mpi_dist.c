#include "mpi_dist.h"

#include <stdlib.h>
#include <string.h>

#include "mpi_scalapack.h"

static const int ONE = 1, ZERO = 0;

int grid_open(MPI_Comm comm, int nb, Grid *g)
{
    int rank, nprocs, size;
    MPI_Comm_size(comm, &size);
    g->comm = comm;
    Cblacs_pinfo(&rank, &nprocs);
    g->pr = 1;
    for (int r = 1; r * r <= size; r++)
        if (size % r == 0)
            g->pr = r;
    g->pc = size / g->pr;
    g->nb = nb;
    Cblacs_get(-1, 0, &g->ctxt);
    Cblacs_gridinit(&g->ctxt, "Row", g->pr, g->pc);
    int pr, pc;
    Cblacs_gridinfo(g->ctxt, &pr, &pc, &g->row, &g->col);
    return pr == g->pr && pc == g->pc ? 0 : -1;
}

size_t dist_lld(const Dist *d) { return (size_t)(d->lr > 1 ? d->lr : 1); }

int dist_init(const Grid *g, size_t rows, size_t cols, Dist *d, ntkc_error *err)
{
    d->rows = (int)rows, d->cols = (int)cols;
    d->lr = numroc_(&d->rows, &g->nb, &g->row, &ZERO, &g->pr);
    d->lc = numroc_(&d->cols, &g->nb, &g->col, &ZERO, &g->pc);
    int lld = (int)dist_lld(d), info;
    descinit_(d->desc, &d->rows, &d->cols, &g->nb, &g->nb, &ZERO, &ZERO, &g->ctxt, &lld, &info);
    d->a = calloc((size_t)lld * (size_t)(d->lc > 1 ? d->lc : 1), sizeof *d->a);
    if (info != 0)
        diag_internal(err, "descinit failed (info %d)", info);
    else if (d->a == NULL)
        diag_user(err, "prediction: out of memory for this rank's part of a %zu×%zu matrix", rows, cols);
    return err->code;
}

void dist_free(Dist *d) { free(d->a), d->a = NULL; }

int dist_copy(const Grid *g, const Dist *d, Dist *copy, ntkc_error *err)
{
    if (dist_init(g, (size_t)d->rows, (size_t)d->cols, copy, err) != 0)
        return err->code;
    memcpy(copy->a, d->a, dist_lld(d) * (size_t)(d->lc > 1 ? d->lc : 1) * sizeof *d->a);
    return 0;
}

int dist_owns(const Grid *g, size_t i, size_t j)
{
    return (int)(i / (size_t)g->nb % (size_t)g->pr) == g->row && (int)(j / (size_t)g->nb % (size_t)g->pc) == g->col;
}

double *dist_at(const Grid *g, const Dist *d, size_t i, size_t j)
{
    size_t nb = (size_t)g->nb;
    size_t li = i / nb / (size_t)g->pr * nb + i % nb, lj = j / nb / (size_t)g->pc * nb + j % nb;
    return d->a + li + lj * dist_lld(d);
}

size_t dist_row(const Grid *g, size_t li)
{
    size_t nb = (size_t)g->nb;
    return (li / nb * (size_t)g->pr + (size_t)g->row) * nb + li % nb;
}

size_t dist_col(const Grid *g, size_t lj)
{
    size_t nb = (size_t)g->nb;
    return (lj / nb * (size_t)g->pc + (size_t)g->col) * nb + lj % nb;
}

void dist_gemm(const char *ta, const char *tb, double alpha, const Dist *a, const Dist *b, double beta, Dist *c)
{
    int m = c->rows, n = c->cols, k = *ta == 'T' ? a->rows : a->cols;
    pdgemm_(ta, tb, &m, &n, &k, &alpha, a->a, &ONE, &ONE, a->desc, b->a, &ONE, &ONE, b->desc, &beta, c->a, &ONE, &ONE,
            c->desc);
}

void dist_tran(double alpha, const Dist *a, double beta, Dist *c)
{
    pdtran_(&c->rows, &c->cols, &alpha, a->a, &ONE, &ONE, a->desc, &beta, c->a, &ONE, &ONE, c->desc);
}

void dist_scatter(const Grid *g, const double *a, Dist *d)
{
    for (size_t i = 0; i < (size_t)d->rows; i++)
        for (size_t j = 0; j < (size_t)d->cols; j++)
            if (dist_owns(g, i, j))
                *dist_at(g, d, i, j) = a[i * (size_t)d->cols + j];
}

int dist_gather(MPI_Comm comm, const Grid *g, const Dist *d, double *out, ntkc_error *err)
{
    size_t count = (size_t)d->rows * (size_t)d->cols;
    double *mine = calloc(count ? count : 1, sizeof *mine);
    int rc = mine == NULL;
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, comm);
    if (rc != 0) { /* every rank leaves: the reduction below is collective */
        free(mine);
        diag_internal(err, "out of memory gathering a %d×%d matrix", d->rows, d->cols);
        return err->code;
    }
    for (size_t i = 0; i < (size_t)d->rows; i++)
        for (size_t j = 0; j < (size_t)d->cols; j++)
            if (dist_owns(g, i, j))
                mine[i * (size_t)d->cols + j] = *dist_at(g, d, i, j);
    MPI_Reduce(mine, out, (int)count, MPI_DOUBLE, MPI_SUM, 0, comm);
    free(mine);
    return 0;
}

MpiCyclic dist_cyclic(const Grid *g, const Dist *d)
{
    return (MpiCyclic){.n = d->rows, .nb = g->nb, .pr = g->pr, .pc = g->pc, .row = g->row, .col = g->col,
                       .lr = d->lr, .lc = d->lc};
}
