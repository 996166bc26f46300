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
        err_internal(err, "descinit failed (info %d)", info);
    else if (d->a == NULL)
        err_user(err, "prediction: out of memory for this rank's part of a %zu×%zu matrix", rows, cols);
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
        err_internal(err, "out of memory gathering a %d×%d matrix", d->rows, d->cols);
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

enum { TAG_SHAPE = 71, TAG_PART = 72 };

/* The local dimensions of the process at grid (row, col) for d. */
static void part_dims(const Grid *g, const Dist *d, int row, int col, int *lr, int *lc)
{
    *lr = numroc_(&d->rows, &g->nb, &row, &ZERO, &g->pr);
    *lc = numroc_(&d->cols, &g->nb, &col, &ZERO, &g->pc);
}

/* Rank 0: a buffer for the largest part of d (collective: every rank learns
 * whether rank 0 got it). NULL on every rank after a failure, err set. */
static double *root_buffer(const Grid *g, const Dist *d, const char *what, ntkc_error *err)
{
    int rank, ok = 1;
    MPI_Comm_rank(g->comm, &rank);
    double *part = NULL;
    if (rank == 0) {
        int lr, lc;
        part_dims(g, d, 0, 0, &lr, &lc); /* process (0, 0) holds the most */
        part = malloc(((size_t)lr * (size_t)lc + 1) * sizeof *part);
        ok = part != NULL;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, g->comm);
    if (!ok)
        err_user(err, "prediction: out of memory on rank 0 %s a %d×%d matrix", what, d->rows, d->cols);
    return ok ? (rank == 0 ? part : d->a) : NULL;
}

/* Between part (column-major lr × lc of the process at grid (who[0], who[1]))
 * and the row-major whole a: to_whole copies part into a, else a into part. */
static void move_part(const Grid *g, const Dist *d, const int who[2], double *part, double *a, int to_whole)
{
    Grid o = *g;
    o.row = who[0], o.col = who[1];
    int lr, lc;
    part_dims(g, d, who[0], who[1], &lr, &lc);
    for (size_t lj = 0; lj < (size_t)lc; lj++)
        for (size_t li = 0; li < (size_t)lr; li++) {
            double *w = a + dist_row(&o, li) * (size_t)d->cols + dist_col(&o, lj), *p = part + li + lj * (size_t)lr;
            if (to_whole)
                *w = *p;
            else
                *p = *w;
        }
}

int dist_gather_root(const Grid *g, const Dist *d, double *out, ntkc_error *err)
{
    int rank, size, me[2] = {g->row, g->col};
    MPI_Comm_rank(g->comm, &rank);
    MPI_Comm_size(g->comm, &size);
    double *part = root_buffer(g, d, "gathering", err);
    if (part == NULL)
        return err->code;
    if (rank != 0) {
        MPI_Send(me, 2, MPI_INT, 0, TAG_SHAPE, g->comm);
        MPI_Send(d->a, d->lr * d->lc, MPI_DOUBLE, 0, TAG_PART, g->comm);
        return 0;
    }
    for (int r = 0; r < size; r++) {
        int who[2] = {g->row, g->col}, count = d->lr * d->lc;
        if (r == 0)
            memcpy(part, d->a, (size_t)count * sizeof *part);
        else {
            MPI_Status st;
            MPI_Recv(who, 2, MPI_INT, r, TAG_SHAPE, g->comm, MPI_STATUS_IGNORE);
            int lr, lc;
            part_dims(g, d, who[0], who[1], &lr, &lc);
            MPI_Recv(part, lr * lc, MPI_DOUBLE, r, TAG_PART, g->comm, &st);
        }
        move_part(g, d, who, part, out, 1);
    }
    free(part);
    return 0;
}

int dist_scatter_root(const Grid *g, const double *a, Dist *d, ntkc_error *err)
{
    int rank, size, me[2] = {g->row, g->col};
    MPI_Comm_rank(g->comm, &rank);
    MPI_Comm_size(g->comm, &size);
    double *part = root_buffer(g, d, "sending", err);
    if (part == NULL)
        return err->code;
    if (rank != 0) {
        MPI_Send(me, 2, MPI_INT, 0, TAG_SHAPE, g->comm);
        MPI_Recv(d->a, d->lr * d->lc, MPI_DOUBLE, 0, TAG_PART, g->comm, MPI_STATUS_IGNORE);
        return 0;
    }
    dist_scatter(g, a, d);
    for (int r = 1; r < size; r++) {
        int who[2], lr, lc;
        MPI_Recv(who, 2, MPI_INT, r, TAG_SHAPE, g->comm, MPI_STATUS_IGNORE);
        part_dims(g, d, who[0], who[1], &lr, &lc);
        move_part(g, d, who, part, (double *)a, 0);
        MPI_Send(part, lr * lc, MPI_DOUBLE, r, TAG_PART, g->comm);
    }
    free(part);
    return 0;
}
