#include "mpi_kfiles.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_util.h"
#include "predict_kernels.h"

/* One file's header, as rank 0 read it, for every rank. */
typedef struct Layout {
    unsigned long long rows, cols, offset, esz; /* esz 0: not plain (rank 0 reads it whole) */
} Layout;

/* Rank 0: the header of one file, checked against the shape ntkc predict
 * wants (rows, cols: 0 = any), with predict_load_kernel's messages. */
static int check_layout(const char *opt, const char *path, size_t rows, size_t cols, int square, Layout *l,
                        ntkc_error *err)
{
    NpyLayout y;
    if (npy_read_layout(path, &y, err) != 0)
        return err->code;
    if (!y.regular) { /* a pipe: read once, whole, by rank 0 (shape checked then) */
        *l = (Layout){.rows = rows, .cols = cols};
        return 0;
    }
    if (y.ndim != 2)
        err_user(err, "%s %s: a kernel must be a matrix, got %zu dimensions", opt, path, y.ndim);
    else if ((rows && y.shape[0] != rows) || (cols && y.shape[1] != cols))
        err_user(err, "%s %s has shape (%zu, %zu) but (%zu, %zu) is needed%s", opt, path, y.shape[0], y.shape[1],
                 rows ? rows : y.shape[0], cols ? cols : y.shape[1],
                 square ? " (a square kernel)" : " (test points × training points of --k-train)");
    else if (y.shape[0] == 0)
        err_user(err, "%s %s has no rows", opt, path);
    else if (square && y.shape[0] != y.shape[1])
        err_user(err, "%s %s has shape (%zu, %zu): the train-train kernel must be square", opt, path, y.shape[0],
                 y.shape[1]);
    *l = (Layout){.rows = y.shape[0], .cols = y.ndim == 2 ? y.shape[1] : 0, .offset = y.data_offset,
                  .esz = y.plain ? y.esz : 0};
    return err->code;
}

static int layouts(MPI_Comm comm, const KPaths *kp, Layout l[3], ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(l, 0, 3 * sizeof *l);
    if (rank == 0 && check_layout("--k-train", kp->k_train, 0, 0, 1, &l[0], err) == 0 &&
        check_layout("--k-test", kp->k_test, 0, (size_t)l[0].rows, 0, &l[1], err) == 0 && kp->k_test_test)
        check_layout("--k-test-test", kp->k_test_test, (size_t)l[1].rows, (size_t)l[1].rows, 1, &l[2], err);
    if (mpi_agree(comm, rank == 0 ? err->code : 0, err) != 0)
        return err->code;
    MPI_Bcast(l, 3 * 4, MPI_UNSIGNED_LONG_LONG, 0, comm);
    return 0;
}

int mpi_kfiles_sizes(MPI_Comm comm, const KPaths *kp, size_t *n, size_t *m, ntkc_error *err)
{
    Layout l[3];
    if (layouts(comm, kp, l, err) != 0)
        return err->code;
    *n = (size_t)l[0].rows, *m = (size_t)l[1].rows;
    for (int f = 0; f < 3; f++)
        if (l[f].rows == 0 && (f < 2 || kp->k_test_test)) { /* a pipe: every rank must read the file itself */
            err_user(err, "ntkc-mpi reads kernel files from a file system: %s is not a regular file (a pipe or "
                          "device; ntkc predict --k-train reads those)",
                     f == 0 ? kp->k_train : f == 1 ? kp->k_test : kp->k_test_test);
            return err->code; /* every rank has the same layouts */
        }
    return 0;
}

/* This rank's blocks of a plain file into d, in one collective read: the
 * darray view of the rows × cols C-order data gives the local part row by
 * row, which is turned column-major (and widened from float32). */
static int read_blocks(const Grid *g, const char *path, const Layout *l, Dist *d, ntkc_error *err)
{
    int gsizes[2] = {d->rows, d->cols}, distribs[2] = {MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_CYCLIC};
    int dargs[2] = {g->nb, g->nb}, psizes[2] = {g->pr, g->pc};
    MPI_Datatype elem = l->esz == 4 ? MPI_FLOAT : MPI_DOUBLE, file_type;
    size_t count = (size_t)d->lr * (size_t)d->lc;
    unsigned char *buf = malloc(count * l->esz + 1);
    if (buf == NULL)
        err_user(err, "prediction: out of memory for this rank's blocks of %s", path);
    MPI_Type_create_darray(g->pr * g->pc, g->row * g->pc + g->col, 2, gsizes, distribs, dargs, psizes, MPI_ORDER_C,
                           elem, &file_type);
    MPI_Type_commit(&file_type);
    MPI_File fh;
    int code = MPI_File_open(g->comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh), got = 0;
    if (code == MPI_SUCCESS) {
        MPI_Status st;
        int rc = MPI_File_set_view(fh, (MPI_Offset)l->offset, elem, file_type, "native", MPI_INFO_NULL);
        rc = rc != MPI_SUCCESS ? rc : MPI_File_read_all(fh, buf ? buf : (unsigned char *)d->a, buf ? (int)count : 0,
                                                        elem, &st);
        if (rc == MPI_SUCCESS)
            MPI_Get_elements(&st, elem, &got);
        MPI_File_close(&fh);
        code = rc;
    }
    MPI_Type_free(&file_type);
    if (!err->code && (code != MPI_SUCCESS || (size_t)got != count)) {
        char msg[MPI_MAX_ERROR_STRING] = "short read";
        int len = (int)strlen(msg);
        if (code != MPI_SUCCESS)
            MPI_Error_string(code, msg, &len);
        err_file(err, path, "cannot read: %.*s", len, msg);
    }
    size_t lld = dist_lld(d);
    for (size_t li = 0; !err->code && li < (size_t)d->lr; li++)
        for (size_t lj = 0; lj < (size_t)d->lc; lj++) {
            size_t at = li * (size_t)d->lc + lj;
            d->a[li + lj * lld] = l->esz == 4 ? (double)((const float *)(const void *)buf)[at]
                                              : ((const double *)(const void *)buf)[at];
        }
    free(buf);
    return mpi_agree(g->comm, err->code, err);
}

/* npy_check_finite's message for the first (lowest index) non-finite entry
 * over all ranks. */
static int check_finite(const Grid *g, const char *path, const Dist *d, ntkc_error *err)
{
    unsigned long long first = ~0ull, all;
    size_t lld = dist_lld(d);
    for (size_t lj = 0; lj < (size_t)d->lc; lj++)
        for (size_t li = 0; li < (size_t)d->lr; li++)
            if (!isfinite(d->a[li + lj * lld])) {
                unsigned long long at = dist_row(g, li) * (unsigned long long)d->cols + dist_col(g, lj);
                first = at < first ? at : first;
            }
    MPI_Allreduce(&first, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, g->comm);
    if (all == ~0ull)
        return 0;
    size_t i = (size_t)(all / (unsigned long long)d->cols), j = (size_t)(all % (unsigned long long)d->cols);
    double v = dist_owns(g, i, j) ? *dist_at(g, d, i, j) : 0, got;
    MPI_Allreduce(&v, &got, 1, MPI_DOUBLE, MPI_SUM, g->comm);
    err_file(err, path, "element [%zu, %zu] is %s", i, j, isnan(got) ? "NaN" : got > 0 ? "inf" : "-inf");
    return err->code;
}

/* predict_load_kernel's symmetry test on the grid: dᵀ by pdtran, the
 * diagonal by a reduction, the first violation (lowest index) reported. */
static int check_symmetric(const Grid *g, const char *opt, const char *path, const Dist *d, ntkc_error *err)
{
    size_t n = (size_t)d->rows, lld = dist_lld(d);
    Dist t = {0};
    double *diag = calloc(n, sizeof *diag);
    int rc = dist_init(g, n, n, &t, err) || diag == NULL;
    if (diag == NULL && !err->code)
        err_user(err, "prediction: out of memory checking %s", path);
    if (mpi_agree(g->comm, rc ? err->code : 0, err) == 0) {
        dist_tran(1.0, d, 0.0, &t);
        for (size_t i = 0; i < n; i++)
            if (dist_owns(g, i, i))
                diag[i] = *dist_at(g, d, i, i);
        MPI_Allreduce(MPI_IN_PLACE, diag, (int)n, MPI_DOUBLE, MPI_SUM, g->comm);
        unsigned long long first = ~0ull, all;
        for (size_t lj = 0; lj < (size_t)d->lc; lj++)
            for (size_t li = 0; li < (size_t)d->lr; li++) {
                size_t i = dist_row(g, li), j = dist_col(g, lj);
                double kij = d->a[li + lj * lld], kji = t.a[li + lj * lld];
                if (j < i && fabs(kij - kji) > 1e-6 * sqrt(fabs(diag[i]) * fabs(diag[j])) &&
                    i * n + j < first)
                    first = i * n + j;
            }
        MPI_Allreduce(&first, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, g->comm);
        if (all != ~0ull) {
            size_t i = (size_t)(all / n), j = (size_t)(all % n);
            double v[2] = {dist_owns(g, i, j) ? *dist_at(g, d, i, j) : 0, dist_owns(g, j, i) ? *dist_at(g, d, j, i) : 0};
            MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, g->comm);
            err_user(err, "%s %s is not symmetric: element [%zu, %zu] is %.17g but [%zu, %zu] is %.17g", opt, path, i,
                     j, v[0], j, i, v[1]);
        }
    }
    dist_free(&t);
    free(diag);
    return mpi_agree(g->comm, err->code, err);
}

/* A file that is not plain: read whole by rank 0 (ntkc predict's reader and
 * checks) and sent to the owners, when it fits. */
static int read_on_root(const Grid *g, const char *opt, const char *path, int square, Dist *d, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(g->comm, &rank);
    NpyArray a = {0};
    if (rank == 0) {
        double need = 8.0 * d->rows * d->cols, have = mpi_memory_available();
        if ((have >= 0 && need > have) || mpi_test_fail(g->comm, "kfile"))
            err_user(err, "%s %s is not float32/float64 in C order, so rank 0 reads it whole (%.3g GB as float64) "
                          "to convert it, but has %.3g GB available (MemAvailable); save it with numpy.save as "
                          "float64 or float32 (every rank then reads its own blocks)",
                     opt, path, need / 1e9, (have >= 0 ? have : 0) / 1e9);
        else
            predict_load_kernel(opt, path, (size_t)d->rows, (size_t)d->cols, square, &a, err);
    }
    int rc = mpi_agree(g->comm, rank == 0 ? err->code : 0, err);
    if (rc == 0)
        rc = mpi_agree(g->comm, dist_scatter_root(g, a.data, d, err), err);
    npy_free(&a);
    return rc;
}

int mpi_kfiles_read(const Grid *g, const KPaths *kp, size_t n, size_t m, Dist *gtt, Dist *gst, Dist *kss,
                    ntkc_error *err)
{
    Layout l[3];
    if (layouts(g->comm, kp, l, err) != 0)
        return err->code;
    const char *opts[3] = {"--k-train", "--k-test", "--k-test-test"}, *paths[3] = {kp->k_train, kp->k_test,
                                                                                      kp->k_test_test};
    Dist *ds[3] = {gtt, gst, kss};
    size_t rows[3] = {n, m, m}, cols[3] = {n, n, m};
    for (int f = 0; f < 3 && paths[f]; f++) {
        int rc = mpi_agree(g->comm, dist_init(g, rows[f], cols[f], ds[f], err), err);
        if (rc == 0 && l[f].esz == 0)
            rc = read_on_root(g, opts[f], paths[f], f != 1, ds[f], err);
        else if (rc == 0)
            rc = read_blocks(g, paths[f], &l[f], ds[f], err) || check_finite(g, paths[f], ds[f], err) ||
                         (f != 1 && check_symmetric(g, opts[f], paths[f], ds[f], err))
                     ? err->code
                     : 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}
